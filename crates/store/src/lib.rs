//! Relata's storage layer: one real table per entity on SQLite or
//! PostgreSQL, generated from metadata.
//!
//! Invariants: the engine above never writes dialect-specific SQL by hand —
//! it builds statements with [`SqlBuilder`], which knows placeholders,
//! quoting and how each attribute type is stored. Money and decimals are
//! exact in both databases (scaled integers in SQLite, NUMERIC in
//! PostgreSQL). Every unit of work is one transaction ([`Db::write`] /
//! [`Db::read`]); there is no autocommit path.

mod db;
mod ddl;
mod group;
mod migrations;
mod pg;
mod sql;
mod sqlite;

pub use db::{Backend, Db, DbOptions, PoolStatus, Tx};
pub use ddl::{column_storages, drop_columns, sync_schema};
pub use migrations::migrate;
pub use sql::{quote_ident, Param, SqlBuilder, Storage};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", pg_detail(.0))]
    Postgres(#[from] postgres::Error),
    #[error("database connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("{0}")]
    Other(String),
    /// A unique index rejected the write.
    #[error("a record with the same {0} already exists")]
    Duplicate(String),
    /// The value cannot be stored in the column's type.
    #[error("value does not fit its column: {0}")]
    Encode(String),
}

impl StoreError {
    /// SQLite "database is locked" / PostgreSQL serialization failures: a
    /// retry may succeed.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            }
            StoreError::Postgres(e) => e.code().is_some_and(|c| c.code() == "40001" || c.code() == "40P01"),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Values neither database takes alike are refused before either sees them:
/// PostgreSQL text cannot hold U+0000, and dates outside years 1–9999 have no
/// OData text form (and PostgreSQL's range ends elsewhere).
pub(crate) const NUL_TEXT: &str = "text cannot contain the NUL character (U+0000)";

pub(crate) fn date_out_of_range(dt: &chrono::DateTime<chrono::Utc>) -> String {
    format!("{dt} is out of range: the year must be between 1 and 9999")
}

/// PostgreSQL's own message ("deadlock detected", …), which the driver's
/// Display leaves out.
fn pg_detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
