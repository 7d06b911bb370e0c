//! PostgreSQL: connections with a per-connection statement cache, and value
//! encoding that adapts to the parameter type the server inferred.

use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::BytesMut;
use chrono::{DateTime, Datelike, Utc};
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, GenericClient, NoTls, Statement};
use relata_metadata::Value;
use rust_decimal::Decimal;

use crate::sql::{Param, Storage};
use crate::sqlite::{decode_options, encode_options};
use crate::{date_out_of_range, Result, StoreError, NUL_TEXT};

pub(crate) struct Conn {
    pub client: Client,
    pub statements: HashMap<String, Statement>,
    /// When a statement last went through this connection.
    pub last_used: std::time::Instant,
}

/// A connection used this recently is taken to be alive: the pool's check
/// on checkout would otherwise cost every request one more round trip. One
/// that died meanwhile (a server restart) fails its first statement, and is
/// then found broken and replaced.
const TRUSTED_FOR: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) struct Manager {
    pub config: postgres::Config,
}

impl Manager {
    pub fn connect(config: &postgres::Config) -> Result<Client> {
        Ok(config.connect(NoTls)?)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
            last_used: std::time::Instant::now(),
        })
    }
    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        if conn.last_used.elapsed() < TRUSTED_FOR {
            return Ok(());
        }
        conn.client.simple_query("").map(|_| ())
    }
    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

#[derive(Debug)]
struct Enc<'a>(&'a Param);

fn conv_err(msg: String) -> Box<dyn StdError + Sync + Send> {
    Box::new(StoreError::Encode(msg))
}

impl ToSql for Enc<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        let v = &self.0.value;
        match v {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                Type::INT2 | Type::INT4 => (*b as i32).to_sql(ty, out),
                Type::INT8 => (*b as i64).to_sql(ty, out),
                _ => Err(conv_err(format!("cannot use true/false as {ty}"))),
            },
            Value::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i).map_err(|_| conv_err(format!("{i} out of range")))?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i).map_err(|_| conv_err(format!("{i} out of range")))?.to_sql(ty, out),
                Type::INT8 => i.to_sql(ty, out),
                Type::NUMERIC => Decimal::from(*i).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => Err(conv_err(format!("cannot use a whole number as {ty}"))),
            },
            Value::Decimal(d) => match *ty {
                Type::NUMERIC => d.to_sql(ty, out),
                Type::FLOAT8 => d.to_string().parse::<f64>().unwrap_or(0.0).to_sql(ty, out),
                Type::INT4 | Type::INT8 | Type::INT2 => {
                    let i = i64::try_from(*d).ok().filter(|i| Decimal::from(*i) == *d);
                    match i {
                        Some(i) if *ty == Type::INT8 => i.to_sql(ty, out),
                        Some(i) => i32::try_from(i).map_err(|_| conv_err(format!("{d} out of range")))?.to_sql(ty, out),
                        None => Err(conv_err(format!("{d} is not a whole number"))),
                    }
                }
                Type::TEXT | Type::VARCHAR => d.to_string().to_sql(ty, out),
                _ => Err(conv_err(format!("cannot use a decimal as {ty}"))),
            },
            Value::Double(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::NUMERIC => Decimal::try_from(*f).map_err(|e| conv_err(e.to_string()))?.to_sql(ty, out),
                _ => Err(conv_err(format!("cannot use a floating-point number as {ty}"))),
            },
            Value::String(s) if s.contains('\0') => Err(conv_err(NUL_TEXT.to_string())),
            Value::DateTime(dt) if !(1..=9999).contains(&dt.year()) => Err(conv_err(date_out_of_range(dt))),
            Value::String(s) => match *ty {
                Type::UUID => uuid::Uuid::parse_str(s).map_err(|e| conv_err(e.to_string()))?.to_sql(ty, out),
                _ => s.as_str().to_sql(&Type::TEXT, out),
            },
            Value::Uuid(u) => u.to_sql(ty, out),
            Value::Ref(r) => r.id.to_sql(ty, out),
            Value::DateTime(dt) => dt.to_sql(ty, out),
            Value::Options(v) => encode_options(v).to_sql(&Type::TEXT, out),
            Value::Bytes(b) => b.as_slice().to_sql(ty, out),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn statement(tx: &mut impl GenericClient, cache: &mut HashMap<String, Statement>, sql: &str) -> Result<Statement> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = tx.prepare(sql)?;
    if cache.len() > 1024 {
        cache.clear();
    }
    cache.insert(sql.to_string(), s.clone());
    Ok(s)
}

fn map_err(e: postgres::Error) -> StoreError {
    if let Some(StoreError::Encode(m)) = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<StoreError>()) {
        return StoreError::Encode(m.clone());
    }
    if let Some(db) = e.as_db_error() {
        // Class 22, data exception: a value out of range or of the wrong
        // form, which the request brought.
        if db.code().code().starts_with("22") {
            return StoreError::Encode(db.message().to_string());
        }
        if db.code().code() == "23505" {
            // Named like SQLite names it ("account.accountid"), not by the
            // constraint: the message reaches API callers.
            let cols = db
                .detail()
                .and_then(|d| d.strip_prefix("Key ("))
                .and_then(|d| d.split_once(")=").map(|(c, _)| c.replace(' ', "")));
            let what = match (db.table(), cols) {
                (Some(t), Some(c)) => c.split(',').map(|c| format!("{t}.{c}")).collect::<Vec<_>>().join(", "),
                _ => "key".to_string(),
            };
            return StoreError::Duplicate(what);
        }
    }
    StoreError::Postgres(e)
}

pub(crate) fn execute(
    tx: &mut impl GenericClient,
    cache: &mut HashMap<String, Statement>,
    sql: &str,
    params: &[Param],
) -> Result<u64> {
    let stmt = statement(tx, cache, sql)?;
    let enc: Vec<Enc<'_>> = params.iter().map(Enc).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = enc.iter().map(|e| e as &(dyn ToSql + Sync)).collect();
    tx.execute(&stmt, &refs).map_err(map_err)
}

pub(crate) fn query(
    tx: &mut impl GenericClient,
    cache: &mut HashMap<String, Statement>,
    sql: &str,
    params: &[Param],
    columns: &[Storage],
) -> Result<Vec<Vec<Value>>> {
    let stmt = statement(tx, cache, sql)?;
    let enc: Vec<Enc<'_>> = params.iter().map(Enc).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = enc.iter().map(|e| e as &(dyn ToSql + Sync)).collect();
    let rows = tx.query(&stmt, &refs).map_err(map_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut values = Vec::with_capacity(columns.len());
        for (i, st) in columns.iter().enumerate() {
            values.push(decode(&row, i, *st)?);
        }
        out.push(values);
    }
    Ok(out)
}

fn decode(row: &postgres::Row, i: usize, st: Storage) -> Result<Value> {
    let ty = row.columns()[i].type_().clone();
    macro_rules! get {
        ($t:ty) => {
            row.try_get::<_, Option<$t>>(i)?
        };
    }
    Ok(match ty {
        Type::BOOL => get!(bool).map(Value::Bool),
        Type::INT2 => get!(i16).map(|v| Value::Int(v as i64)),
        Type::INT4 => get!(i32).map(|v| Value::Int(v as i64)),
        Type::INT8 => get!(i64).map(|v| match st {
            Storage::Decimal(_) => Value::Decimal(Decimal::from(v)),
            _ => Value::Int(v),
        }),
        Type::NUMERIC => get!(Decimal).map(|d| match st {
            Storage::Int | Storage::BigInt => i64::try_from(d).map(Value::Int).unwrap_or(Value::Decimal(d)),
            _ => Value::Decimal(d.normalize()),
        }),
        Type::FLOAT4 => get!(f32).map(|v| Value::Double(v as f64)),
        Type::FLOAT8 => get!(f64).map(|v| match st {
            Storage::Decimal(s) => Value::Decimal(Decimal::try_from(v).unwrap_or_default().round_dp(s + 4).normalize()),
            _ => Value::Double(v),
        }),
        Type::UUID => get!(uuid::Uuid).map(Value::Uuid),
        Type::TIMESTAMPTZ => get!(DateTime<Utc>).map(Value::DateTime),
        Type::TIMESTAMP => get!(chrono::NaiveDateTime).map(|n| Value::DateTime(n.and_utc())),
        Type::BYTEA => get!(Vec<u8>).map(Value::Bytes),
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => get!(String).map(|s| match st {
            Storage::Options => decode_options(&s),
            _ => Value::String(s),
        }),
        other => return Err(StoreError::Other(format!("unsupported column type {other}"))),
    }
    .unwrap_or(Value::Null))
}
