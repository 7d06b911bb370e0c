//! Building SQL text and parameters for either dialect.

use relata_metadata::{decimal_scale, AttrKind, AttributeDef, Value};

use crate::Backend;

/// How a value is stored in a column; decides encoding and decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Text,
    /// 32-bit in PostgreSQL (integer, option values).
    Int,
    /// 64-bit.
    BigInt,
    /// Exact decimal with this many digits after the point.
    Decimal(u32),
    Double,
    Bool,
    Uuid,
    Timestamp,
    /// Multi-select option values.
    Options,
    Blob,
}

impl Storage {
    /// The main column's storage for an attribute.
    pub fn of(attr: &AttributeDef) -> Storage {
        match attr.kind {
            AttrKind::String | AttrKind::Memo | AttrKind::EntityName => Storage::Text,
            AttrKind::Integer | AttrKind::Picklist | AttrKind::State | AttrKind::Status => Storage::Int,
            AttrKind::BigInt => Storage::BigInt,
            AttrKind::Decimal | AttrKind::Money => Storage::Decimal(decimal_scale(attr)),
            AttrKind::Double => Storage::Double,
            AttrKind::Boolean => Storage::Bool,
            AttrKind::DateTime => Storage::Timestamp,
            AttrKind::MultiSelectPicklist => Storage::Options,
            AttrKind::Lookup | AttrKind::Customer | AttrKind::Owner | AttrKind::Uniqueidentifier => Storage::Uuid,
            AttrKind::File => Storage::Blob,
        }
    }

    pub fn sql_type(self, backend: Backend) -> String {
        match (backend, self) {
            (Backend::Sqlite, Storage::Text | Storage::Options) => "TEXT COLLATE NOCASE".into(),
            (
                Backend::Sqlite,
                Storage::Int | Storage::BigInt | Storage::Bool | Storage::Timestamp | Storage::Decimal(_),
            ) => "INTEGER".into(),
            (Backend::Sqlite, Storage::Double) => "REAL".into(),
            (Backend::Sqlite, Storage::Uuid | Storage::Blob) => "BLOB".into(),
            (Backend::Postgres, Storage::Text | Storage::Options) => "TEXT".into(),
            (Backend::Postgres, Storage::Int) => "INTEGER".into(),
            (Backend::Postgres, Storage::BigInt) => "BIGINT".into(),
            (Backend::Postgres, Storage::Decimal(s)) => format!("NUMERIC(28,{s})"),
            (Backend::Postgres, Storage::Double) => "DOUBLE PRECISION".into(),
            (Backend::Postgres, Storage::Bool) => "BOOLEAN".into(),
            (Backend::Postgres, Storage::Uuid) => "UUID".into(),
            (Backend::Postgres, Storage::Timestamp) => "TIMESTAMPTZ".into(),
            (Backend::Postgres, Storage::Blob) => "BYTEA".into(),
        }
    }
}

/// A bound parameter: the value and how its column stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub value: Value,
    pub storage: Storage,
}

impl Param {
    pub fn new(value: Value, storage: Storage) -> Self {
        Param { value, storage }
    }
    pub fn text(s: impl Into<String>) -> Self {
        Param { value: Value::String(s.into()), storage: Storage::Text }
    }
    pub fn uuid(u: uuid::Uuid) -> Self {
        Param { value: Value::Uuid(u), storage: Storage::Uuid }
    }
    pub fn int(i: i64) -> Self {
        Param { value: Value::Int(i), storage: Storage::Int }
    }
    pub fn bigint(i: i64) -> Self {
        Param { value: Value::Int(i), storage: Storage::BigInt }
    }
}

/// Double-quotes an identifier. Identifiers come from metadata, which only
/// admits `[a-z0-9_]` names, but quoting keeps reserved words safe.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// SQL text plus its parameters, with the dialect's placeholders.
#[derive(Debug, Clone)]
pub struct SqlBuilder {
    pub backend: Backend,
    pub sql: String,
    pub params: Vec<Param>,
}

impl SqlBuilder {
    pub fn new(backend: Backend) -> Self {
        SqlBuilder { backend, sql: String::with_capacity(256), params: Vec::new() }
    }
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }
    pub fn ident(&mut self, name: &str) -> &mut Self {
        self.sql.push('"');
        self.sql.push_str(name);
        self.sql.push('"');
        self
    }
    /// `"alias"."column"`
    pub fn column(&mut self, alias: &str, name: &str) -> &mut Self {
        self.ident(alias).push(".").ident(name)
    }
    pub fn param(&mut self, p: Param) -> &mut Self {
        self.params.push(p);
        match self.backend {
            Backend::Sqlite => self.sql.push('?'),
            Backend::Postgres => {
                use std::fmt::Write;
                let _ = write!(self.sql, "${}", self.params.len());
            }
        }
        self
    }
    pub fn is_pg(&self) -> bool {
        self.backend == Backend::Postgres
    }
}
