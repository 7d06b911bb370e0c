//! SQLite: connection setup, value encoding and decoding.
//!
//! Storage: decimals as integers scaled by 10^scale (exact, sortable,
//! summable), timestamps as microseconds since the epoch, GUIDs as 16-byte
//! blobs, booleans as 0/1, multi-select values as `,1,3,` text.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Utc};
use relata_metadata::Value;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use rust_decimal::Decimal;

use crate::sql::{Param, Storage};
use crate::{Result, StoreError};

/// What a connection is for; each role gets the settings its work needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The one connection every write of the process goes through.
    Writer,
    /// A pooled connection for reads.
    Reader,
    /// The background checkpointer.
    Checkpointer,
}

/// Page-cache sizes, in KiB. The writer's cache holds the index pages that
/// inserts touch (every account index at 100,000 accounts is ~50 MB; the
/// hot part far less), so commits rarely re-read a page. Readers are many
/// and their caches are private, so theirs are small: the operating
/// system's page cache, shared by all of them, holds the database anyway.
pub(crate) const WRITER_CACHE_KIB: i64 = 32 * 1024;
pub(crate) const READER_CACHE_KIB: i64 = 2 * 1024;

pub(crate) fn open(path: &Path, role: Role) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // synchronous = FULL on the writer: a commit is on disk (the WAL is
    // fsynced) before anyone is answered, so an answered write survives a
    // power cut. Group commit (`group.rs`) makes one fsync serve every write
    // queued behind it. Readers never commit anything, so the level only
    // matters for the writer and for checkpoints.
    // mmap is off: each connection maps the file separately, so with it on
    // every reader's mapping counts again in the process's RSS; reads go
    // through the operating system's page cache instead.
    // Statement journals stay in memory. SQLite walks an in-memory journal
    // from its head at the end of each statement inside a savepoint, so a
    // long unit of work slows as it changes pages: writers keep units
    // short (the 1C import uses one savepoint per 40 ms step, not one per
    // item). A temporary file instead costs every request's writes a
    // system call per page (creates measured 35% slower).
    // The writer's automatic checkpoint is only a backstop (256 MB of WAL)
    // should the background checkpointer fall behind; see `db.rs`.
    let autocheckpoint = if role == Role::Writer { 65536 } else { 0 };
    let cache_kib = match role {
        Role::Writer => WRITER_CACHE_KIB,
        Role::Reader | Role::Checkpointer => READER_CACHE_KIB,
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = OFF;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA mmap_size = 0;
         PRAGMA analysis_limit = 1000;
         PRAGMA wal_autocheckpoint = {autocheckpoint};"
    ))?;
    conn.set_prepared_statement_cache_capacity(512);
    register_functions(&conn)?;
    Ok(conn)
}

/// Unicode case folding for text comparisons that SQLite's ASCII-only
/// `NOCASE` cannot do (Cyrillic, Greek, accented Latin…). The query planner
/// uses these only when a literal is not plain ASCII, so ASCII searches
/// keep their index-friendly built-ins.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("relata_fold", 1, flags, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|s| s.to_lowercase()))
    })?;
    conn.create_scalar_function("relata_like", 2, flags, |ctx| {
        let value: Option<String> = ctx.get(0)?;
        let pattern: Option<String> = ctx.get(1)?;
        Ok(match (value, pattern) {
            (Some(v), Some(p)) => Some(like_match(&v.to_lowercase(), &p.to_lowercase())),
            _ => None,
        })
    })?;
    Ok(())
}

/// LIKE with `%`, `_` and `\` as the escape character.
pub(crate) fn like_match(value: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        toks.push(match c {
            '\\' => Tok::Char(it.next().unwrap_or('\\')),
            '%' => Tok::Any,
            '_' => Tok::One,
            c => Tok::Char(c),
        });
    }
    let v: Vec<char> = value.chars().collect();
    let (mut vi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        match toks.get(ti) {
            Some(Tok::Char(c)) if *c == v[vi] => {
                vi += 1;
                ti += 1;
            }
            Some(Tok::One) => {
                vi += 1;
                ti += 1;
            }
            Some(Tok::Any) => {
                star = Some((ti, vi));
                ti += 1;
            }
            _ => match star {
                Some((st, sv)) => {
                    ti = st + 1;
                    vi = sv + 1;
                    star = Some((st, sv + 1));
                }
                None => return false,
            },
        }
    }
    toks[ti..].iter().all(|t| *t == Tok::Any)
}

pub(crate) struct Manager {
    pub path: PathBuf,
}

/// Refreshes planner statistics. ANALYZE alone reloads them only on the
/// connection that ran it; a schema change makes every connection reload.
/// Several processes may run this at once (a CLI command next to a server),
/// so each step tolerates the others'.
pub(crate) const ANALYZE: &str = "ANALYZE; CREATE TABLE IF NOT EXISTS relata_stats_reload (x INTEGER); \
     DROP TABLE IF EXISTS relata_stats_reload;";

/// A pooled reader connection.
pub(crate) struct Reader {
    pub conn: Connection,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Reader;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Reader, rusqlite::Error> {
        open(&self.path, Role::Reader).map(|conn| Reader { conn }).map_err(|e| match e {
            StoreError::Sqlite(e) => e,
            other => rusqlite::Error::InvalidParameterName(other.to_string()),
        })
    }
    fn is_valid(&self, conn: &mut Reader) -> Result<(), rusqlite::Error> {
        conn.conn.execute_batch("")
    }
    fn has_broken(&self, _: &mut Reader) -> bool {
        false
    }
}

/// Hand-written SQL uses `$1`-style placeholders on both backends.
fn placeholders(sql: &str) -> Cow<'_, str> {
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

struct Enc<'a>(&'a Param);

pub(crate) fn scale_decimal(d: Decimal, scale: u32) -> Result<i64> {
    let mut r = d.round_dp(scale);
    r.rescale(scale);
    i64::try_from(r.mantissa()).map_err(|_| StoreError::Encode(format!("{d} is too large")))
}

impl ToSql for Enc<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as V;
        let p = self.0;
        let refuse = |m: String| rusqlite::Error::ToSqlConversionFailure(Box::new(StoreError::Encode(m)));
        Ok(match (&p.value, p.storage) {
            (Value::String(s), _) if s.contains('\0') => return Err(refuse(crate::NUL_TEXT.to_string())),
            (Value::DateTime(dt), _) if !(1..=9999).contains(&dt.year()) => {
                return Err(refuse(crate::date_out_of_range(dt)))
            }
            (Value::Null, _) => ToSqlOutput::Owned(V::Null),
            (Value::Bool(b), _) => ToSqlOutput::Owned(V::Integer(*b as i64)),
            (Value::Int(i), Storage::Decimal(s)) => ToSqlOutput::Owned(V::Integer(
                scale_decimal(Decimal::from(*i), s)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            )),
            (Value::Int(i), Storage::Double) => ToSqlOutput::Owned(V::Real(*i as f64)),
            (Value::Int(i), _) => ToSqlOutput::Owned(V::Integer(*i)),
            (Value::Decimal(d), Storage::Decimal(s)) => ToSqlOutput::Owned(V::Integer(
                scale_decimal(*d, s).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            )),
            (Value::Decimal(d), Storage::Double) => ToSqlOutput::Owned(V::Real(d.to_string().parse().unwrap_or(0.0))),
            (Value::Decimal(d), Storage::Int | Storage::BigInt) => ToSqlOutput::Owned(match i64::try_from(*d) {
                Ok(i) if Decimal::from(i) == *d => V::Integer(i),
                _ => V::Real(d.to_string().parse().unwrap_or(0.0)),
            }),
            (Value::Decimal(d), _) => ToSqlOutput::Owned(V::Text(d.to_string())),
            (Value::Double(f), _) => ToSqlOutput::Owned(V::Real(*f)),
            (Value::String(s), _) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            (Value::Uuid(u), _) => ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes())),
            (Value::Ref(r), _) => ToSqlOutput::Borrowed(ValueRef::Blob(r.id.as_bytes())),
            (Value::DateTime(dt), _) => ToSqlOutput::Owned(V::Integer(dt.timestamp_micros())),
            (Value::Options(v), _) => ToSqlOutput::Owned(V::Text(encode_options(v))),
            (Value::Bytes(b), _) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

pub(crate) fn encode_options(v: &[i32]) -> String {
    let mut s = String::from(",");
    for i in v {
        s.push_str(&i.to_string());
        s.push(',');
    }
    s
}

pub(crate) fn decode_options(s: &str) -> Value {
    Value::Options(s.split(',').filter(|x| !x.is_empty()).filter_map(|x| x.parse().ok()).collect())
}

pub(crate) fn execute(tx: &Connection, sql: &str, params: &[Param]) -> Result<u64> {
    let sql = placeholders(sql);
    let mut stmt = tx.prepare_cached(&sql)?;
    let enc: Vec<Enc<'_>> = params.iter().map(Enc).collect();
    let n = stmt.execute(rusqlite::params_from_iter(enc.iter())).map_err(map_err)?;
    Ok(n as u64)
}

fn map_err(e: rusqlite::Error) -> StoreError {
    // A parameter that could not be encoded (a number too large for its
    // column) is the caller's value, not a database fault.
    if let rusqlite::Error::ToSqlConversionFailure(inner) = &e {
        if let Some(StoreError::Encode(m)) = inner.downcast_ref::<StoreError>() {
            return StoreError::Encode(m.clone());
        }
    }
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        {
            let cols = msg.split(": ").nth(1).unwrap_or(msg).to_string();
            return StoreError::Duplicate(cols);
        }
    }
    StoreError::Sqlite(e)
}

pub(crate) fn query(tx: &Connection, sql: &str, params: &[Param], columns: &[Storage]) -> Result<Vec<Vec<Value>>> {
    let sql = placeholders(sql);
    let mut stmt = tx.prepare_cached(&sql)?;
    let enc: Vec<Enc<'_>> = params.iter().map(Enc).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(enc.iter())).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        let mut values = Vec::with_capacity(columns.len());
        for (i, st) in columns.iter().enumerate() {
            values.push(decode(row.get_ref(i)?, *st)?);
        }
        out.push(values);
    }
    Ok(out)
}

fn decode(v: ValueRef<'_>, st: Storage) -> Result<Value> {
    Ok(match (v, st) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), Storage::Bool) => Value::Bool(i != 0),
        (ValueRef::Integer(i), Storage::Decimal(s)) => Value::Decimal(Decimal::new(i, s).normalize()),
        (ValueRef::Real(f), Storage::Decimal(s)) => {
            // AVG and similar produce reals; bring them back to the column's scale.
            Value::Decimal(
                Decimal::try_from(f / 10f64.powi(s as i32)).unwrap_or_default().round_dp(s.max(2) + 4).normalize(),
            )
        }
        (ValueRef::Integer(i), Storage::Timestamp) => Value::DateTime(
            DateTime::<Utc>::from_timestamp_micros(i).ok_or_else(|| StoreError::Other("bad timestamp".into()))?,
        ),
        (ValueRef::Integer(i), Storage::Double) => Value::Double(i as f64),
        (ValueRef::Integer(i), _) => Value::Int(i),
        (ValueRef::Real(f), Storage::Int | Storage::BigInt) => Value::Double(f),
        (ValueRef::Real(f), _) => Value::Double(f),
        (ValueRef::Text(t), Storage::Options) => decode_options(&String::from_utf8_lossy(t)),
        (ValueRef::Text(t), Storage::Uuid) => Value::Uuid(
            uuid::Uuid::parse_str(&String::from_utf8_lossy(t)).map_err(|e| StoreError::Other(e.to_string()))?,
        ),
        (ValueRef::Text(t), _) => Value::String(String::from_utf8_lossy(t).into_owned()),
        (ValueRef::Blob(b), Storage::Uuid) => {
            Value::Uuid(uuid::Uuid::from_slice(b).map_err(|e| StoreError::Other(format!("bad GUID in database: {e}")))?)
        }
        (ValueRef::Blob(b), _) => Value::Bytes(b.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::like_match;

    #[test]
    fn like_folds_nothing_itself_and_handles_wildcards() {
        assert!(like_match("ромашка", "%маш%"));
        assert!(like_match("ромашка", "ром%"));
        assert!(!like_match("ромашка", "маш%"));
        assert!(like_match("a%b", "a\\%b"));
        assert!(!like_match("axb", "a\\%b"));
        assert!(like_match("abc", "a_c"));
        assert!(like_match("", "%"));
        assert!(!like_match("", "_"));
    }
}
