//! A real organization on a real database, served in-process by the real
//! router (`relata_server::router`), with a System Administrator, a few
//! records of each kind the targets query, and a way to tell whether a
//! request changed anything.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use http::{HeaderMap, Method, Request};
use relata_engine::{FirstRun, Org, OrgConfig};
use relata_server::ServerConfig;
use relata_store::{Backend, Db, DbOptions, Storage};
use serde_json::{json, Value as Json};
use tower::ServiceExt as _;
use uuid::Uuid;

use crate::finding::{Finding, Kind};

/// The Web API's root below the host.
pub const API: &str = "/api/data/v9.2";

/// Responses are read up to this size.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request as the targets build it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// Path and query, e.g. `/api/data/v9.2/accounts?$top=1`.
    pub uri: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Call {
    pub fn new(method: Method, uri: impl Into<String>) -> Call {
        Call { method, uri: uri.into(), headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Call {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Call {
        self.body = body.into();
        self
    }

    /// "METHOD uri", for reports.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.method, self.uri);
        for (k, v) in &self.headers {
            if *k != "authorization" && *k != "cookie" {
                s.push_str(&format!("\n{k}: {v}"));
            }
        }
        s
    }
}

/// What an entity set is to the targets.
#[derive(Debug, Clone)]
pub struct SetInfo {
    pub entity: String,
    pub primary_id: String,
    pub primary_name: String,
}

/// Entity sets the write targets may change. The organization, its users,
/// roles and settings are left alone so that the harness keeps working.
pub const WRITABLE_SETS: &[&str] = &[
    "accounts",
    "contacts",
    "leads",
    "opportunities",
    "appointments",
    "tasks",
    "phonecalls",
    "emails",
    "letters",
    "faxes",
    "annotations",
    "competitors",
    "products",
    "quotes",
    "salesorders",
    "invoices",
    "opportunityproducts",
    "quotedetails",
];

/// The server's log of the current request: errors and warnings, where a
/// panic's message and a database error are written.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
        // A runaway log is cut; the start names the cause.
        if log.len() < 64 * 1024 {
            log.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_log_capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

fn take_log() -> String {
    let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    let text = String::from_utf8_lossy(&log).into_owned();
    log.clear();
    text
}

/// Drops the PostgreSQL schema of a harness when it goes.
struct PgSchema {
    base: String,
    schema: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// A fingerprint and when it was read.
struct Snapshot {
    horizon: Option<i64>,
    sent: u64,
    fingerprint: Vec<String>,
}

/// One organization on one database, and the admin's credentials.
pub struct Harness {
    /// "sqlite" or "postgres".
    pub backend: &'static str,
    app: axum::Router,
    runtime: Option<tokio::runtime::Runtime>,
    org: Arc<Org>,
    token: String,
    csrf: String,
    pub admin: Uuid,
    /// `{name}` placeholders of inputs and the ids they stand for.
    placeholders: Vec<(String, String)>,
    seed_ids: Vec<Uuid>,
    sets: HashMap<String, SetInfo>,
    fingerprint_sql: String,
    fingerprint_columns: Vec<Storage>,
    fingerprint_labels: Vec<String>,
    /// The last fingerprint read in full, and the transaction horizon it was read at.
    last_fingerprint: Mutex<Option<Snapshot>>,
    /// Requests sent so far.
    sent: std::sync::atomic::AtomicU64,
    /// Statuses of the requests of the current input.
    statuses: Mutex<Vec<u16>>,
    /// Print every request and response (`RELATA_FUZZ_VERBOSE=1`, and when replaying).
    pub verbose: bool,
    _pg: Option<PgSchema>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// The backends a run covers: SQLite always, PostgreSQL when
/// `RELATA_TEST_POSTGRES_URL` is set.
pub fn backends() -> Vec<&'static str> {
    match std::env::var("RELATA_TEST_POSTGRES_URL") {
        Ok(v) if !v.is_empty() => vec!["sqlite", "postgres"],
        _ => vec!["sqlite"],
    }
}

impl Harness {
    /// A fresh organization on `backend` ("sqlite" in a temporary directory,
    /// "postgres" in a new schema of `RELATA_TEST_POSTGRES_URL`).
    pub fn new(backend: &str) -> Harness {
        match backend {
            "sqlite" => Harness::sqlite(),
            "postgres" => {
                let url = std::env::var("RELATA_TEST_POSTGRES_URL")
                    .expect("the PostgreSQL harness needs RELATA_TEST_POSTGRES_URL");
                Harness::postgres(&url)
            }
            other => panic!("unknown backend {other:?} (sqlite or postgres)"),
        }
    }

    pub fn sqlite() -> Harness {
        let dir = tempfile::Builder::new().prefix("relata-fuzz-").tempdir().expect("a temporary directory");
        let db = Db::open_sqlite(&dir.path().join("relata.db"), &DbOptions::default()).expect("open SQLite");
        Harness::open("sqlite", db, None, Some(dir))
    }

    pub fn postgres(base: &str) -> Harness {
        let schema = format!("relata_fuzz_{}", &Uuid::new_v4().simple().to_string()[..12]);
        let mut c = postgres::Client::connect(base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("PostgreSQL at {base} is unreachable: {e}"));
        c.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create the schema");
        drop(c);
        let guard = PgSchema { base: base.to_string(), schema: schema.clone() };
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let db = Db::open_postgres(&url, &DbOptions::default()).expect("open PostgreSQL");
        Harness::open("postgres", db, Some(guard), None)
    }

    fn open(backend: &'static str, db: Db, pg: Option<PgSchema>, dir: Option<tempfile::TempDir>) -> Harness {
        install_log_capture();
        let org = Arc::new(Org::open(db, &OrgConfig::default()).expect("open the organization"));
        let setup = org.issue_setup_token().expect("setup token").expect("a new database needs its setup");
        let admin = org
            .complete_setup(
                &setup,
                &FirstRun {
                    organization_name: "Fuzz Org".into(),
                    base_currency: "USD".into(),
                    language: 1033,
                    time_zone: None,
                    first_name: "Fuzz".into(),
                    last_name: "Admin".into(),
                    email: "admin@relata.test".into(),
                    password: "Admin-Passw0rd!".into(),
                },
            )
            .expect("complete the setup");
        let (_, token) = org.create_token(admin, "fuzz", None).expect("a token");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("relata-fuzz")
            .build()
            .expect("a runtime");
        let app = relata_server::router(org.clone(), ServerConfig::default());
        let schema = org.schema();
        let sets = schema
            .entities()
            .filter(|e| !e.def.is_intersect)
            .map(|e| {
                (
                    e.def.entity_set.clone(),
                    SetInfo {
                        entity: e.name().to_string(),
                        primary_id: e.primary_id().to_string(),
                        primary_name: e.def.primary_name.clone(),
                    },
                )
            })
            .collect();
        let mut h = Harness {
            backend,
            app,
            runtime: Some(runtime),
            org,
            token,
            csrf: String::new(),
            admin,
            placeholders: Vec::new(),
            seed_ids: Vec::new(),
            sets,
            fingerprint_sql: String::new(),
            fingerprint_columns: Vec::new(),
            fingerprint_labels: Vec::new(),
            last_fingerprint: Mutex::new(None),
            sent: Default::default(),
            statuses: Mutex::new(Vec::new()),
            verbose: false,
            _pg: pg,
            _dir: dir,
        };
        h.seed();
        h.csrf = h.read_csrf();
        h.prepare_fingerprint();
        h.take_statuses();
        h.verbose = std::env::var_os("RELATA_FUZZ_VERBOSE").is_some_and(|v| !v.is_empty());
        h
    }

    /// The harness the free target functions use (one per process):
    /// SQLite, or PostgreSQL with `RELATA_FUZZ_BACKEND=postgres`.
    pub fn global() -> &'static Harness {
        static GLOBAL: OnceLock<Harness> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let backend = std::env::var("RELATA_FUZZ_BACKEND").unwrap_or_else(|_| "sqlite".into());
            Harness::new(&backend)
        })
    }

    /// Sends one request through the router; the log of the request is
    /// returned beside the response.
    pub fn exchange(&self, call: &Call) -> (Reply, String) {
        let _ = take_log();
        let mut b = Request::builder().method(call.method.clone()).uri(call.uri.as_str());
        b = b.header("host", "localhost");
        for (k, v) in &call.headers {
            b = b.header(*k, v.as_str());
        }
        let req = match b.body(Body::from(call.body.clone())) {
            Ok(r) => r,
            // A request the HTTP stack cannot even form never reaches a server.
            Err(e) => {
                return (
                    Reply { status: 400, headers: HeaderMap::new(), body: format!("not a request: {e}").into_bytes() },
                    String::new(),
                )
            }
        };
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rt = self.runtime.as_ref().expect("the runtime is running");
        let reply = rt.block_on(async {
            let resp = self.app.clone().oneshot(req).await.expect("the router never fails");
            let (parts, body) = resp.into_parts();
            let body = axum::body::to_bytes(body, MAX_RESPONSE).await.map(|b| b.to_vec()).unwrap_or_default();
            Reply { status: parts.status.as_u16(), headers: parts.headers, body }
        });
        self.statuses.lock().unwrap_or_else(|e| e.into_inner()).push(reply.status);
        let log = take_log();
        if self.verbose {
            note(&format!(
                "[{}] {}\n  -> {} {}\n{}",
                self.backend,
                truncate(&call.describe(), 2000),
                reply.status,
                truncate(&reply.text(), 2000),
                log
            ));
        }
        (reply, log)
    }

    /// [`exchange`](Self::exchange), with a 5xx turned into a finding.
    pub fn send(&self, ctx: &Ctx<'_>, call: &Call) -> Result<Reply, Finding> {
        let (reply, log) = self.exchange(call);
        if reply.status >= 500 {
            return Err(ctx.finding(Kind::Status(reply.status), call, &reply.text(), &log));
        }
        Ok(reply)
    }

    /// A Web API request with the admin's token.
    pub fn api(&self, method: Method, path_and_query: &str) -> Call {
        let sep = if path_and_query.starts_with('/') { "" } else { "/" };
        Call::new(method, format!("{API}{sep}{path_and_query}"))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json")
            .header("odata-version", "4.0")
            .header("odata-maxversion", "4.0")
    }

    /// A web page request of the admin's browser session.
    pub fn page(&self, method: Method, path: &str) -> Call {
        Call::new(method, path).header("cookie", format!("relata_session={}", self.token))
    }

    /// The CSRF value the admin's pages carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn org(&self) -> &Arc<Org> {
        &self.org
    }

    /// The statuses of the requests since the last call.
    pub fn take_statuses(&self) -> Vec<u16> {
        std::mem::take(&mut *self.statuses.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// An entity set by name.
    pub fn set(&self, name: &str) -> Option<&SetInfo> {
        self.sets.get(name)
    }

    /// The entity set of an entity's logical name.
    pub fn set_of_entity(&self, entity: &str) -> Option<&str> {
        self.sets.iter().find(|(_, i)| i.entity == entity).map(|(s, _)| s.as_str())
    }

    /// A seeded record of an entity, when there is one.
    pub fn seed_of(&self, entity: &str) -> Option<&str> {
        self.placeholders.iter().find(|(k, _)| k == entity).map(|(_, v)| v.as_str())
    }

    pub fn is_seed(&self, id: Uuid) -> bool {
        self.seed_ids.contains(&id)
    }

    /// `{account}`, `{contact2}`, `{user}`… replaced by the ids they name.
    pub fn substitute(&self, input: &[u8]) -> Vec<u8> {
        if !input.contains(&b'{') {
            return input.to_vec();
        }
        let mut out = input.to_vec();
        for (k, v) in &self.placeholders {
            let pat = format!("{{{k}}}");
            out = replace_all(&out, pat.as_bytes(), v.as_bytes());
        }
        out
    }

    fn seed(&mut self) {
        let mut ids: HashMap<String, Vec<Uuid>> = HashMap::new();
        let mut create = |h: &Harness, set: &str, body: Json| -> Uuid {
            let call = h
                .api(Method::POST, &format!("/{set}"))
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).expect("JSON"));
            let (r, log) = h.exchange(&call);
            assert_eq!(r.status, 204, "[{}] seeding {set} with {body}: {}\n{log}", h.backend, r.text());
            let url = r.header("odata-entityid").expect("OData-EntityId").to_string();
            let id = id_in(&url).expect("an id in OData-EntityId");
            let entity = h.sets[set].entity.clone();
            ids.entry(entity).or_default().push(id);
            id
        };
        let accounts = [
            json!({"name": "Contoso Ltd", "accountnumber": "ACC-001", "revenue": 1250000.50, "industrycode": 7,
                   "numberofemployees": 120, "address1_city": "Seattle", "telephone1": "+1 555-0100",
                   "emailaddress1": "info@contoso.example", "creditlimit": 50000, "websiteurl": "https://contoso.example"}),
            json!({"name": "ООО Ромашка", "revenue": 3000000, "industrycode": 1, "numberofemployees": 45,
                   "address1_city": "Москва", "description": "Поставщик «Ромашка» — 100%"}),
            json!({"name": "Fabrikam, Inc.", "revenue": 0.01, "numberofemployees": 0, "address1_city": "Berlin",
                   "description": "O'Neil & \"partners\" 50% <b>bold</b>"}),
            json!({"name": "A. Datum 😀", "industrycode": 33, "donotemail": true}),
        ];
        let acc: Vec<Uuid> = accounts.into_iter().map(|b| create(self, "accounts", b)).collect();
        let contacts = [
            json!({"firstname": "Nancy", "lastname": "Davolio", "jobtitle": "Sales Manager", "birthdate": "1980-02-29",
                   "emailaddress1": "nancy@contoso.example", "parentcustomerid_account@odata.bind": format!("/accounts({})", acc[0])}),
            json!({"firstname": "Иван", "lastname": "Петров", "gendercode": 1,
                   "parentcustomerid_account@odata.bind": format!("/accounts({})", acc[1])}),
            json!({"firstname": "Yvonne", "lastname": "McKay", "creditlimit": 1000}),
        ];
        let con: Vec<Uuid> = contacts.into_iter().map(|b| create(self, "contacts", b)).collect();
        for (a, c) in [(acc[0], con[0]), (acc[1], con[1])] {
            let call = self
                .api(Method::PATCH, &format!("/accounts({a})"))
                .header("content-type", "application/json")
                .body(json!({"primarycontactid@odata.bind": format!("/contacts({c})")}).to_string());
            let (r, log) = self.exchange(&call);
            assert_eq!(r.status, 204, "[{}] primary contact: {}\n{log}", self.backend, r.text());
        }
        let opportunities = [
            json!({"name": "50 chairs", "estimatedvalue": 12500, "estimatedclosedate": "2026-06-30", "closeprobability": 40,
                   "customerid_account@odata.bind": format!("/accounts({})", acc[0])}),
            json!({"name": "Поставка офисной мебели", "estimatedvalue": 990000.99,
                   "customerid_account@odata.bind": format!("/accounts({})", acc[1])}),
            json!({"name": "Consulting", "customerid_contact@odata.bind": format!("/contacts({})", con[2])}),
        ];
        for b in opportunities {
            create(self, "opportunities", b);
        }
        let appointments = [
            json!({"subject": "Kick-off", "scheduledstart": "2026-03-02T09:00:00Z", "scheduledend": "2026-03-02T10:00:00Z",
                   "location": "Office", "regardingobjectid_account_appointment@odata.bind": format!("/accounts({})", acc[0])}),
            json!({"subject": "Встреча", "scheduledstart": "2025-12-31T23:30:00Z", "scheduledend": "2026-01-01T00:30:00Z"}),
        ];
        for b in appointments {
            create(self, "appointments", b);
        }
        let tasks = [
            json!({"subject": "Call back", "scheduledend": "2026-04-01T12:00:00Z", "prioritycode": 2,
                   "regardingobjectid_contact_task@odata.bind": format!("/contacts({})", con[0])}),
            json!({"subject": "Send the price list", "description": "ООО Ромашка"}),
        ];
        for b in tasks {
            create(self, "tasks", b);
        }
        create(self, "phonecalls", json!({"subject": "Intro call", "phonenumber": "+7 495 000-00-00"}));
        let leads = [
            json!({"firstname": "Kim", "lastname": "Abercrombie", "companyname": "Coho Winery", "subject": "Wine for the office"}),
            json!({"firstname": "Ольга", "lastname": "Смирнова", "companyname": "ООО Ромашка", "subject": "Мебель"}),
        ];
        for b in leads {
            create(self, "leads", b);
        }
        create(
            self,
            "annotations",
            json!({"subject": "Note", "notetext": "Remember the 15% discount",
            "objectid_account@odata.bind": format!("/accounts({})", acc[0])}),
        );
        let mut placeholders = Vec::new();
        for (entity, list) in &ids {
            for (i, id) in list.iter().enumerate() {
                let key = if i == 0 { entity.clone() } else { format!("{entity}{}", i + 1) };
                placeholders.push((key, id.to_string()));
                self.seed_ids.push(*id);
            }
        }
        let ids_ = self.org.ids;
        placeholders.push(("user".into(), self.admin.to_string()));
        placeholders.push(("businessunit".into(), ids_.root_business_unit.to_string()));
        placeholders.push(("currency".into(), ids_.base_currency.to_string()));
        placeholders.push(("organization".into(), ids_.organization.to_string()));
        // Longest names first, so `{account2}` is not taken for `{account}` + "2".
        placeholders.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        self.placeholders = placeholders;
    }

    fn read_csrf(&self) -> String {
        let (r, log) = self.exchange(&self.page(Method::GET, "/"));
        let html = r.text();
        let at = html.find("name=\"csrf\" value=\"").unwrap_or_else(|| {
            panic!("[{}] the home page has no csrf field ({}): {html}\n{log}", self.backend, r.status)
        }) + "name=\"csrf\" value=\"".len();
        html[at..].split('"').next().unwrap_or_default().to_string()
    }

    /// One statement that reads, for every table, its row count and (where
    /// it has one) its highest row version, and the named counters: any
    /// insert, delete or update changes it.
    fn prepare_fingerprint(&mut self) {
        let tables: Vec<String> = self
            .org
            .db()
            .read(|tx| -> Result<Vec<String>, relata_store::StoreError> {
                let sql = match tx.backend() {
                    Backend::Sqlite => {
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                    }
                    Backend::Postgres => {
                        "SELECT table_name::text FROM information_schema.tables
                         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
                    }
                };
                Ok(tx
                    .query(sql, &[], &[Storage::Text])?
                    .into_iter()
                    .filter_map(|r| r[0].as_str().map(String::from))
                    .collect())
            })
            .expect("list the tables");
        let mut parts = Vec::new();
        let mut columns = Vec::new();
        let mut labels = Vec::new();
        for t in &tables {
            let cols: Vec<String> = self.org.db().read(|tx| tx.table_columns(t)).expect("columns");
            parts.push(format!("(SELECT COUNT(*) FROM {})", relata_store::quote_ident(t)));
            columns.push(Storage::BigInt);
            labels.push(format!("rows of {t}"));
            if cols.iter().any(|c| c == "versionnumber") {
                parts.push(format!("(SELECT COALESCE(MAX(versionnumber), 0) FROM {})", relata_store::quote_ident(t)));
                columns.push(Storage::BigInt);
                labels.push(format!("highest versionnumber of {t}"));
            }
        }
        // The row version counter of SQLite rolls back with its transaction;
        // PostgreSQL's is a sequence, which does not, and is covered by the
        // tables' versions.
        let counters = match self.org.db().backend() {
            Backend::Sqlite => "SELECT string_agg(name || '=' || value, ',') FROM (SELECT name, value FROM relata_counter ORDER BY name)",
            Backend::Postgres => "SELECT string_agg(name || '=' || value, ',' ORDER BY name) FROM relata_counter WHERE name <> 'rowversion'",
        };
        let counters = if self.org.db().backend() == Backend::Sqlite {
            counters.replace("string_agg(", "group_concat(")
        } else {
            counters.to_string()
        };
        parts.push(format!("({counters})"));
        columns.push(Storage::Text);
        labels.push("counters".into());
        self.fingerprint_labels = labels;
        self.fingerprint_sql = format!("SELECT {}", parts.join(", "));
        self.fingerprint_columns = columns;
    }

    /// What the database holds, in brief: equal fingerprints mean nothing was written.
    pub fn fingerprint(&self) -> Vec<String> {
        self.org
            .db()
            .read(|tx| tx.query_one(&self.fingerprint_sql, &[], &self.fingerprint_columns))
            .expect("read the fingerprint")
            .unwrap_or_default()
            .into_iter()
            .map(|v| format!("{v:?}"))
            .collect()
    }

    /// What differs between two fingerprints, in words.
    pub fn describe_change(&self, before: &[String], after: &[String]) -> String {
        let mut out = Vec::new();
        for (i, label) in self.fingerprint_labels.iter().enumerate() {
            let (b, a) = (before.get(i), after.get(i));
            if b != a {
                out.push(format!("{label}: {} -> {}", b.map_or("?", |s| s), a.map_or("?", |s| s)));
            }
        }
        out.join("; ")
    }

    /// On PostgreSQL, the next transaction id: every transaction that writes
    /// a row takes one, so while it stays the same nothing was written (the
    /// converse does not hold: other databases of the server count too).
    fn horizon(&self) -> Option<i64> {
        if self.org.db().backend() != Backend::Postgres {
            return None;
        }
        self.org
            .db()
            .read(|tx| {
                tx.query_one("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint", &[], &[Storage::BigInt])
            })
            .ok()
            .flatten()
            .and_then(|r| r[0].as_i64())
    }

    /// The fingerprint now, read in full only when the database may have
    /// changed since the last one: a request was sent since, and (on
    /// PostgreSQL) a transaction took an id.
    fn current_fingerprint(&self) -> Vec<String> {
        let sent = self.sent.load(std::sync::atomic::Ordering::Relaxed);
        let mut cache = self.last_fingerprint.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.as_ref() {
            if c.sent == sent {
                return c.fingerprint.clone();
            }
        }
        let horizon = self.horizon();
        if let (Some(h), Some(c)) = (horizon, cache.as_mut()) {
            if c.horizon == Some(h) {
                c.sent = sent;
                return c.fingerprint.clone();
            }
        }
        let fingerprint = self.fingerprint();
        *cache = Some(Snapshot { horizon, sent, fingerprint: fingerprint.clone() });
        fingerprint
    }

    /// The fingerprint before an input.
    pub fn fingerprint_before(&self) -> Vec<String> {
        self.current_fingerprint()
    }

    /// The fingerprint after an input.
    pub fn fingerprint_after(&self) -> Vec<String> {
        self.current_fingerprint()
    }

    /// Deletes the records a write created (named in `OData-EntityId` or
    /// `Location` headers, or in a batch response's parts), so the
    /// database stays the size it was seeded at.
    pub fn clean_up(&self, ctx: &Ctx<'_>, reply: &Reply) -> Result<(), Finding> {
        let mut urls: Vec<String> = Vec::new();
        for name in ["odata-entityid", "location"] {
            if let Some(v) = reply.header(name) {
                urls.push(v.to_string());
            }
        }
        let text = reply.text();
        for line in text.lines() {
            let l = line.trim();
            if l.len() > 16 && l[..16].eq_ignore_ascii_case("odata-entityid: ") {
                urls.push(l[16..].to_string());
            }
        }
        let mut done = Vec::new();
        for url in urls {
            let Some((set, id)) = set_and_id(&url) else { continue };
            if self.is_seed(id) || done.contains(&id) || !self.sets.contains_key(&set) {
                continue;
            }
            done.push(id);
            let call = self.api(Method::DELETE, &format!("/{set}({id})"));
            self.send(ctx, &call)?;
        }
        Ok(())
    }
}

/// What a target reports a finding with.
pub struct Ctx<'a> {
    pub target: &'static str,
    pub backend: &'static str,
    pub input: &'a [u8],
}

impl Ctx<'_> {
    pub fn finding(&self, kind: Kind, call: &Call, response: &str, log: &str) -> Finding {
        Finding {
            target: self.target,
            backend: self.backend,
            input: self.input.into(),
            request: call.describe().into(),
            kind,
            response: truncate(response, 4000).into(),
            log: truncate(log, 8000).into(),
        }
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

pub(crate) fn replace_all(hay: &[u8], pat: &[u8], with: &[u8]) -> Vec<u8> {
    if pat.is_empty() || hay.len() < pat.len() {
        return hay.to_vec();
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(pat) {
            out.extend_from_slice(with);
            i += pat.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// The last `(<guid>)` of a URL.
pub(crate) fn id_in(url: &str) -> Option<Uuid> {
    let open = url.rfind('(')?;
    let close = url[open..].find(')')? + open;
    Uuid::parse_str(&url[open + 1..close]).ok()
}

/// `…/accounts(<guid>)` or `/ui/accounts/<guid>` → ("accounts", guid).
fn set_and_id(url: &str) -> Option<(String, Uuid)> {
    let url = url.trim();
    if let Some(id) = id_in(url) {
        let open = url.rfind('(')?;
        let set = url[..open].rsplit('/').next()?.to_string();
        return Some((set, id));
    }
    let path = url.split(['?', '#']).next()?;
    let mut segs = path.trim_end_matches('/').rsplit('/');
    let id = Uuid::parse_str(segs.next()?).ok()?;
    let set = segs.next()?.to_string();
    Some((set, id))
}

/// Writes a line to stderr at once (the test harness shows it with --nocapture).
pub fn note(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{line}");
}
