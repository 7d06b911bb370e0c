//! The raw limit: a minimal HTTP server that inserts, reads, updates and
//! lists a 30-column account table in SQLite with no validation, security,
//! audit or metadata. It answers the paths and headers the bench sends, so
//! `relata bench --raw-limit` runs the same load against it and Relata in
//! one run and prints Relata's share of what this machine can do at all.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::Args;
use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use uuid::Uuid;

#[derive(Args)]
pub struct RawLimitArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// The SQLite file (created)
    #[arg(long, value_name = "FILE")]
    pub database: PathBuf,
    /// SQLite's `synchronous` level, as Relata's writes use
    #[arg(long, default_value = "FULL", value_parser = ["OFF", "NORMAL", "FULL"])]
    pub synchronous: String,
}

/// The account table: the columns a CRM account carries, none of them
/// computed or checked.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS account (
    accountid BLOB PRIMARY KEY, name TEXT, accountnumber TEXT, telephone1 TEXT, fax TEXT,
    emailaddress1 TEXT, websiteurl TEXT, description TEXT, revenue INTEGER, revenue_base INTEGER,
    numberofemployees INTEGER, address1_line1 TEXT, address1_city TEXT, address1_postalcode TEXT,
    address1_country TEXT, industrycode INTEGER, customertypecode INTEGER, statecode INTEGER,
    statuscode INTEGER, ownerid BLOB, owningbusinessunit BLOB, createdby BLOB, modifiedby BLOB,
    createdon INTEGER, modifiedon INTEGER, versionnumber INTEGER, transactioncurrencyid BLOB,
    exchangerate INTEGER, parentaccountid BLOB, primarycontactid BLOB
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS account_name ON account(name);";

/// Text columns the client may set, and the integer ones.
const TEXT: [&str; 7] = ["name", "accountnumber", "telephone1", "fax", "emailaddress1", "websiteurl", "address1_city"];
const INTEGER: [&str; 2] = ["revenue", "numberofemployees"];
const COLUMNS: &str = "accountid, name, accountnumber, telephone1, fax, emailaddress1, websiteurl, description, \
    revenue, revenue_base, numberofemployees, address1_line1, address1_city, address1_postalcode, address1_country, \
    industrycode, customertypecode, statecode, statuscode, ownerid, owningbusinessunit, createdby, modifiedby, \
    createdon, modifiedon, versionnumber, transactioncurrencyid, exchangerate, parentaccountid, primarycontactid";

struct Raw {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    owner: Uuid,
}

impl Raw {
    fn reader(&self) -> parking_lot::MutexGuard<'_, Connection> {
        let k = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[k].lock()
    }
}

fn open(path: &std::path::Path, synchronous: &str) -> Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(&format!("PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};"))?;
    Ok(conn)
}

pub fn run(args: RawLimitArgs) -> Result<()> {
    let writer = open(&args.database, &args.synchronous)?;
    writer.execute_batch(SCHEMA).context("cannot create the account table")?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let readers =
        (0..threads * 2).map(|_| open(&args.database, &args.synchronous).map(Mutex::new)).collect::<Result<_>>()?;
    let raw = Arc::new(Raw { writer: Mutex::new(writer), readers, next_reader: 0.into(), owner: Uuid::new_v4() });
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/api/data/v9.2/accounts", get(list).post(create))
        .route("/api/data/v9.2/{key}", get(retrieve).patch(update))
        .with_state(raw);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        axum::serve(listener, app).await.context("the server failed")
    })
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn fail(status: StatusCode, why: impl std::fmt::Display) -> Response {
    (status, why.to_string()).into_response()
}

fn key_of(key: &str) -> Option<Uuid> {
    Uuid::parse_str(key.strip_prefix("accounts(")?.strip_suffix(')')?).ok()
}

async fn create(State(raw): State<Arc<Raw>>, body: axum::body::Bytes) -> Response {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return fail(StatusCode::BAD_REQUEST, "the body is not a JSON object");
    };
    let text = |c: &str| fields.get(c).and_then(Value::as_str).map(str::to_string);
    let int = |c: &str| fields.get(c).and_then(Value::as_i64);
    let id = Uuid::now_v7();
    let now = now_micros();
    let conn = raw.writer.lock();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO account (accountid, name, accountnumber, telephone1, fax, emailaddress1, websiteurl, \
             address1_city, revenue, revenue_base, numberofemployees, statecode, statuscode, ownerid, \
             owningbusinessunit, createdby, modifiedby, createdon, modifiedon, versionnumber, exchangerate) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, 0, 1, ?11, ?11, ?11, ?11, ?12, ?12, 1, 1)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                text(TEXT[0]),
                text(TEXT[1]),
                text(TEXT[2]),
                text(TEXT[3]),
                text(TEXT[4]),
                text(TEXT[5]),
                text(TEXT[6]),
                int(INTEGER[0]),
                int(INTEGER[1]),
                raw.owner,
                now
            ])
        });
    drop(conn);
    match inserted {
        Ok(_) => {
            let mut headers = HeaderMap::new();
            let url = format!("/api/data/v9.2/accounts({id})");
            headers.insert("OData-EntityId", HeaderValue::from_str(&url).expect("ASCII URL"));
            (StatusCode::NO_CONTENT, headers).into_response()
        }
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn retrieve(State(raw): State<Arc<Raw>>, Path(key): Path<String>) -> Response {
    let Some(id) = key_of(&key) else { return fail(StatusCode::NOT_FOUND, "no such resource") };
    let conn = raw.reader();
    let row = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM account WHERE accountid = ?1")).and_then(|mut s| {
        s.query_row([id], |r| {
            let names = r.as_ref().column_names().into_iter().map(str::to_string).collect::<Vec<_>>();
            let mut object = Map::new();
            for (i, name) in names.into_iter().enumerate() {
                let v = match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => json!(n),
                    rusqlite::types::ValueRef::Real(f) => json!(f),
                    rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    rusqlite::types::ValueRef::Blob(b) => {
                        json!(Uuid::from_slice(b).map(|u| u.to_string()).unwrap_or_default())
                    }
                };
                object.insert(name, v);
            }
            Ok(Value::Object(object))
        })
        .optional()
    });
    drop(conn);
    match row {
        Ok(Some(v)) => axum::Json(v).into_response(),
        Ok(None) => fail(StatusCode::NOT_FOUND, "no such account"),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn update(State(raw): State<Arc<Raw>>, Path(key): Path<String>, body: axum::body::Bytes) -> Response {
    let Some(id) = key_of(&key) else { return fail(StatusCode::NOT_FOUND, "no such resource") };
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return fail(StatusCode::BAD_REQUEST, "the body is not a JSON object");
    };
    let phone = fields.get("telephone1").and_then(Value::as_str).map(str::to_string);
    let conn = raw.writer.lock();
    let updated = conn
        .prepare_cached(
            "UPDATE account SET telephone1 = ?2, modifiedon = ?3, versionnumber = versionnumber + 1 \
             WHERE accountid = ?1",
        )
        .and_then(|mut s| s.execute(params![id, phone, now_micros()]));
    drop(conn);
    match updated {
        Ok(1) => StatusCode::NO_CONTENT.into_response(),
        Ok(_) => fail(StatusCode::NOT_FOUND, "no such account"),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `startswith(name,'X')` from the bench's filter; everything else of the
/// query is the bench's fixed shape (`$top=50`, ordered by name).
async fn list(State(raw): State<Arc<Raw>>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let filter = q.iter().find(|(k, _)| k == "$filter").map(|(_, v)| v.as_str()).unwrap_or("");
    let prefix =
        filter.split("startswith(name,'").nth(1).and_then(|rest| rest.split('\'').next()).unwrap_or("").to_string();
    let conn = raw.reader();
    let rows = conn
        .prepare_cached(
            "SELECT accountid, name, revenue FROM account WHERE statecode = 0 AND name >= ?1 AND name < ?2 \
             ORDER BY name LIMIT 50",
        )
        .and_then(|mut s| {
            let upper = format!("{prefix}\u{10ffff}");
            s.query_map(params![prefix, upper], |r| {
                let id: Uuid = r.get(0)?;
                Ok(json!({ "accountid": id.to_string(), "name": r.get::<_, Option<String>>(1)?, "revenue": r.get::<_, Option<i64>>(2)? }))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        });
    drop(conn);
    match rows {
        Ok(value) => axum::Json(json!({ "value": value })).into_response(),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
