//! Versioned migrations of the system tables (everything that is not an
//! entity table). Entity tables follow metadata through [`crate::sync_schema`].

use crate::{Backend, Param, Result, Storage, Tx};

struct Migration {
    version: i64,
    name: &'static str,
    sql: fn(Backend) -> String,
}

fn uuid_type(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "UUID",
    }
}
fn ts_type(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "INTEGER",
        Backend::Postgres => "TIMESTAMPTZ",
    }
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "system tables",
        sql: |b| {
            let (u, t) = (uuid_type(b), ts_type(b));
            format!(
            "CREATE TABLE relata_counter (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
             INSERT INTO relata_counter (name, value) VALUES ('rowversion', 0), ('schema', 1), ('security', 1);
             CREATE TABLE relata_metadata (kind TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL, PRIMARY KEY (kind, name));
             CREATE TABLE relata_credential (systemuserid {u} PRIMARY KEY, password_hash TEXT NOT NULL, changed_on {t} NOT NULL);
             CREATE TABLE relata_token (
                 tokenid {u} PRIMARY KEY,
                 systemuserid {u} NOT NULL,
                 name TEXT NOT NULL,
                 token_hash TEXT NOT NULL UNIQUE,
                 created_on {t} NOT NULL,
                 expires_on {t},
                 revoked_on {t}
             );
             CREATE INDEX ix_relata_token_user ON relata_token (systemuserid);
             CREATE TABLE relata_roleprivilege (
                 roleid {u} NOT NULL,
                 privilege TEXT NOT NULL,
                 depth INTEGER NOT NULL,
                 PRIMARY KEY (roleid, privilege)
             );"
        )
        },
    },
    Migration {
        version: 2,
        name: "row version sequence",
        sql: |b| {
            match b {
            Backend::Postgres => "CREATE SEQUENCE IF NOT EXISTS relata_rowversion;
                 SELECT setval('relata_rowversion', GREATEST((SELECT value FROM relata_counter WHERE name = 'rowversion'), 1));"
                .to_string(),
            Backend::Sqlite => String::new(),
        }
        },
    },
    Migration {
        version: 3,
        name: "sharing, sign-in throttling and request limits",
        sql: |b| {
            let (u, t) = (uuid_type(b), ts_type(b));
            format!(
                "CREATE TABLE principalobjectaccess (
                     principalobjectaccessid {u} PRIMARY KEY,
                     objectid {u} NOT NULL,
                     objecttypecode TEXT NOT NULL,
                     principalid {u} NOT NULL,
                     principaltypecode TEXT NOT NULL,
                     accessrightsmask INTEGER NOT NULL,
                     inheritedaccessrightsmask INTEGER NOT NULL,
                     sourceobjectid {u} NOT NULL,
                     changedon {t} NOT NULL
                 );
                 CREATE UNIQUE INDEX ux_poa_object_principal_source ON principalobjectaccess (objectid, principalid, sourceobjectid);
                 CREATE INDEX ix_poa_principal_object ON principalobjectaccess (principalid, objectid);
                 CREATE INDEX ix_poa_source ON principalobjectaccess (sourceobjectid);
                 CREATE TABLE relata_signin_throttle (
                     key TEXT PRIMARY KEY,
                     failures INTEGER NOT NULL,
                     window_start {t} NOT NULL
                 );
                 CREATE TABLE relata_request_window (
                     systemuserid {u} NOT NULL,
                     window_start BIGINT NOT NULL,
                     used INTEGER NOT NULL,
                     PRIMARY KEY (systemuserid, window_start)
                 );"
            )
        },
    },
    Migration {
        version: 4,
        name: "privileges given to the standard roles",
        sql: |b| {
            let u = uuid_type(b);
            format!(
                "CREATE TABLE relata_roleseed (
                     roleid {u} NOT NULL,
                     privilegeid {u} NOT NULL,
                     PRIMARY KEY (roleid, privilegeid)
                 );"
            )
        },
    },
];

/// Applies the migrations this database has not seen yet; returns how many ran.
pub fn migrate(tx: &mut Tx<'_>) -> Result<usize> {
    let backend = tx.backend();
    tx.batch(&format!(
        "CREATE TABLE IF NOT EXISTS relata_migration (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_on {} NOT NULL)",
        ts_type(backend)
    ))?;
    let applied: Vec<i64> = tx
        .query("SELECT version FROM relata_migration", &[], &[Storage::BigInt])?
        .into_iter()
        .filter_map(|r| r[0].as_i64())
        .collect();
    let mut ran = 0;
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tx.batch(&(m.sql)(backend))?;
        tx.execute(
            "INSERT INTO relata_migration (version, name, applied_on) VALUES ($1, $2, $3)",
            &[
                Param::bigint(m.version),
                Param::text(m.name),
                Param::new(relata_metadata::Value::DateTime(chrono::Utc::now()), Storage::Timestamp),
            ],
        )?;
        ran += 1;
    }
    Ok(ran)
}
