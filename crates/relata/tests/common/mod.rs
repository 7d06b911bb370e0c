//! Shared harness for the HTTP-level integration tests.
//!
//! Each test binary starts one `relata serve` per backend, lazily, in a
//! temporary data directory on a free loopback port. SQLite always runs;
//! PostgreSQL runs when `RELATA_TEST_POSTGRES_URL` is set (a fresh schema per
//! test binary). The server is started through a small shell wrapper whose
//! standard input is a pipe held open by the test process: when the test
//! process exits the pipe closes, the wrapper's `read` returns and it kills
//! the server, so no server outlives its test binary.
//!
//! Tests share the servers, so they never assume an empty table: they use
//! unique names (see [`uid`]) and filter on them.

#![allow(dead_code)]

pub mod mail;
pub mod onec;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

pub const API_PATH: &str = "/api/data/v9.2";
pub const ADMIN_EMAIL: &str = "admin@relata.test";
pub const ADMIN_PASSWORD: &str = "Admin-Passw0rd!";

/// Path of the binary under test.
pub fn relata_bin() -> &'static str {
    env!("CARGO_BIN_EXE_relata")
}

/// A running server for one backend.
pub struct Srv {
    /// "sqlite" or "postgres".
    pub backend: &'static str,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// `http://127.0.0.1:PORT/api/data/v9.2`
    pub api: String,
    pub client: Client,
    /// Bearer token of the System Administrator.
    pub token: String,
    pub data_dir: PathBuf,
    /// The `--database-url` given to the CLI (PostgreSQL only).
    pub database_url: Option<String>,
    /// Holds the wrapper's stdin pipe open for the life of the test binary
    /// (or, for an in-process server, removes its database when dropped).
    _guard: Mutex<Box<dyn Send>>,
}

/// A response read in full.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// "METHOD url", for assertion messages.
    pub what: String,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{}: body is not JSON ({e}): {}", self.what, self.text()))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap_or_default().to_string())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "{} answered {}: {}", self.what, self.status, self.text());
        self
    }

    /// Asserts the status and the Dataverse error shape
    /// `{"error":{"code":"0x…","message":"…"}}`; returns the message.
    #[track_caller]
    pub fn expect_error(&self, status: u16) -> String {
        self.expect(status);
        let v = self.json();
        let err = &v["error"];
        let code = err["code"].as_str().unwrap_or_else(|| panic!("{}: error without a code: {v}", self.what));
        assert!(code.starts_with("0x"), "{}: error code {code:?} is not of the form 0x…: {v}", self.what);
        let message = err["message"].as_str().unwrap_or_else(|| panic!("{}: error without a message: {v}", self.what));
        assert!(!message.is_empty(), "{}: empty error message", self.what);
        message.to_string()
    }

    /// The rows of a collection response.
    #[track_caller]
    pub fn rows(&self) -> Vec<Value> {
        self.expect(200);
        let v = self.json();
        v["value"].as_array().unwrap_or_else(|| panic!("{}: no value array: {v}", self.what)).clone()
    }

    /// The GUID inside the `OData-EntityId` header (`…/accounts(<guid>)`).
    #[track_caller]
    pub fn entity_id(&self) -> Uuid {
        let h = self.header("OData-EntityId").unwrap_or_else(|| panic!("{}: no OData-EntityId header", self.what));
        id_from_url(&h)
    }
}

/// The last `(<guid>)` in a URL.
#[track_caller]
pub fn id_from_url(url: &str) -> Uuid {
    let open = url.rfind('(').unwrap_or_else(|| panic!("no '(' in {url:?}"));
    let close = url[open..].find(')').map(|i| open + i).unwrap_or_else(|| panic!("no ')' in {url:?}"));
    Uuid::parse_str(&url[open + 1..close]).unwrap_or_else(|e| panic!("bad GUID in {url:?}: {e}"))
}

/// A short unique suffix (lowercase letters and digits) for names.
pub fn uid() -> String {
    Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Letters only, for schema names.
pub fn uid_alpha() -> String {
    Uuid::new_v4().simple().to_string()[..10]
        .chars()
        .map(|c| if c.is_ascii_digit() { (b'a' + (c as u8 - b'0')) as char } else { c })
        .collect()
}

/// Percent-encodes a query option value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'(' | b')' | b',' | b'/' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Exact decimal from a JSON number (the workspace's serde_json keeps the
/// number's text).
#[track_caller]
pub fn dec(v: &Value) -> rust_decimal::Decimal {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => panic!("not a number: {other}"),
    };
    s.parse().unwrap_or_else(|e| panic!("not a decimal: {s} ({e})"))
}

#[track_caller]
pub fn d(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

impl Srv {
    /// Absolute URL for `path`: a path starting with `/` is taken under the
    /// Web API root; `http…` is used as is.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else if path.starts_with('/') {
            format!("{}{}", self.api, path)
        } else {
            format!("{}/{}", self.api, path)
        }
    }

    /// A request with the default Web API headers and the admin token.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.req_as(&self.token, method, path)
    }

    /// A request with the default Web API headers and `token`.
    pub fn req_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.raw(method, &self.url(path)).bearer_auth(token)
    }

    /// A request with the OData headers but no Authorization.
    pub fn raw(&self, method: Method, url: &str) -> RequestBuilder {
        self.client
            .request(method, url)
            .header("OData-Version", "4.0")
            .header("OData-MaxVersion", "4.0")
            .header("Accept", "application/json")
    }

    /// Sends and reads the whole response.
    pub fn send(&self, rb: RequestBuilder) -> Resp {
        let req = rb.build().expect("request builds");
        let what = format!("[{}] {} {}", self.backend, req.method(), req.url());
        let r = self.client.execute(req).unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().unwrap_or_else(|e| panic!("{what}: reading body: {e}")).to_vec();
        Resp { status, headers, body, what }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path))
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut rb = self.req(Method::GET, path);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb)
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(self.req(Method::POST, path).json(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(self.req(Method::PATCH, path).json(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(self.req(Method::PUT, path).json(body))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.send(self.req(Method::DELETE, path))
    }

    /// `method path` with a JSON body and extra headers.
    pub fn send_json(&self, method: Method, path: &str, body: &Value, headers: &[(&str, &str)]) -> Resp {
        let mut rb = self.req(method, path).json(body);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb)
    }

    /// Creates a record in entity set `set`; asserts 204 + `OData-EntityId`.
    #[track_caller]
    pub fn create(&self, set: &str, body: &Value) -> Uuid {
        let r = self.post(&format!("/{set}"), body);
        r.expect(204);
        r.entity_id()
    }

    /// Retrieves one record; asserts 200.
    #[track_caller]
    pub fn retrieve(&self, set: &str, id: Uuid, query: &str) -> Value {
        let q = if query.is_empty() { String::new() } else { format!("?{query}") };
        let r = self.get(&format!("/{set}({id}){q}"));
        r.expect(200);
        r.json()
    }

    /// The caller's ids from `WhoAmI()`.
    #[track_caller]
    pub fn whoami_as(&self, token: &str) -> Value {
        let r = self.send(self.req_as(token, Method::GET, "/WhoAmI()"));
        r.expect(200);
        r.json()
    }

    /// The admin's systemuserid.
    #[track_caller]
    pub fn admin_id(&self) -> Uuid {
        let v = self.whoami_as(&self.token);
        Uuid::parse_str(v["UserId"].as_str().expect("UserId")).expect("UserId is a GUID")
    }

    /// `--data-dir DIR [--database-url URL]` for CLI calls against this
    /// server's store.
    pub fn store_args(&self) -> Vec<String> {
        let mut a = vec!["--data-dir".to_string(), self.data_dir.display().to_string()];
        if let Some(u) = &self.database_url {
            a.push("--database-url".into());
            a.push(u.clone());
        }
        a
    }

    /// Runs the CLI against this server's store; asserts success.
    #[track_caller]
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(self.store_args());
        run_cli(&all)
    }

    /// Creates a user with `roles` through the CLI and returns a token for it.
    #[track_caller]
    /// A web page as the user of `token` (the session cookie holds a
    /// sign-in token).
    pub fn page_as(&self, token: &str, path: &str) -> Resp {
        self.send(
            self.raw(Method::GET, &format!("{}{path}", self.base_url))
                .header("Cookie", format!("relata_session={token}")),
        )
    }

    /// The CSRF value the pages of that user's session carry.
    pub fn csrf_of(&self, token: &str) -> String {
        let html = self.page_as(token, "/").text();
        let at = html.find("name=\"csrf\" value=\"").expect("the page has a csrf field") + 19;
        html[at..].split('"').next().unwrap().to_string()
    }

    /// A form posted as that user.
    pub fn form_as(&self, token: &str, path: &str, form: &[(&str, String)]) -> Resp {
        self.send(
            self.raw(Method::POST, &format!("{}{path}", self.base_url))
                .header("Cookie", format!("relata_session={token}"))
                .form(form),
        )
    }

    /// A form posted as that user by a script that asks for JSON (drag and drop).
    pub fn form_json_as(&self, token: &str, path: &str, form: &[(&str, String)]) -> Resp {
        self.send(
            self.raw(Method::POST, &format!("{}{path}", self.base_url))
                .header("Cookie", format!("relata_session={token}"))
                .header("Accept", "application/json")
                .form(form),
        )
    }

    pub fn new_user(&self, roles: &[&str]) -> TestUser {
        let email = format!("user-{}@relata.test", uid());
        let mut args = vec!["user", "create", "--email", &email, "--password", "User-Passw0rd!", "--name", "Test User"];
        for r in roles {
            args.push("--role");
            args.push(r);
        }
        self.cli(&args);
        let out = self.cli(&["token", "create", "--email", &email]);
        let token = last_line(&out.stdout);
        let who = self.whoami_as(&token);
        let id = Uuid::parse_str(who["UserId"].as_str().expect("UserId")).expect("UserId is a GUID");
        TestUser { email, token, id }
    }
}

/// A user made through the CLI.
pub struct TestUser {
    pub email: String,
    pub token: String,
    pub id: Uuid,
}

/// The last non-empty line of a command's output.
#[track_caller]
pub fn last_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_else(|| panic!("command printed nothing"))
        .to_string()
}

/// Runs `relata ARGS`; asserts exit 0.
#[track_caller]
pub fn run_cli(args: &[String]) -> Output {
    let out = Command::new(relata_bin())
        .args(args)
        .env("RELATA_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run relata: {e}"));
    assert!(
        out.status.success(),
        "relata {} failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A free loopback port.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

fn http_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// Kills the server when the wrapper's stdin reaches end of file (the test
/// process exited), waits for it to go (SIGKILL after 10 s of graceful
/// shutdown), and removes its data directory and its PostgreSQL schema. The wrapper itself exits when the server does, so
/// an early exit is visible to the harness.
const WRAPPER: &str = r#"
exec 3<&0
"$@" >>"$RELATA_TEST_LOG" 2>&1 &
pid=$!
(
  read _ <&3
  kill "$pid" 2>/dev/null
  n=0
  while kill -0 "$pid" 2>/dev/null; do
    n=$((n + 1))
    if [ "$n" -ge 100 ]; then kill -9 "$pid" 2>/dev/null; fi
    sleep 0.1
  done
  if [ -n "$RELATA_TEST_PG_DROP" ] && command -v psql >/dev/null 2>&1; then
    psql -q "$RELATA_TEST_PG_BASE" -c "DROP SCHEMA IF EXISTS $RELATA_TEST_PG_DROP CASCADE" >/dev/null 2>&1
  fi
  rm -rf "$RELATA_TEST_DIR"
) &
wait "$pid"
"#;

/// Data directory, database URL and cleanup settings of one backend.
pub struct StoreSetup {
    pub backend: &'static str,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub pg_base: Option<String>,
    pub pg_schema: Option<String>,
}

/// Makes a fresh store location for `backend`.
pub fn new_store(backend: &'static str) -> StoreSetup {
    let dir = || tempfile::Builder::new().prefix("relata-test-").tempdir().expect("temp dir").keep();
    match backend {
        "sqlite" => StoreSetup { backend, data_dir: dir(), database_url: None, pg_base: None, pg_schema: None },
        "postgres" => {
            let base = std::env::var("RELATA_TEST_POSTGRES_URL").expect("RELATA_TEST_POSTGRES_URL");
            let schema = format!("relata_t_{}", uid());
            let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap_or_else(|e| {
                panic!("RELATA_TEST_POSTGRES_URL={base} is set but PostgreSQL is unreachable: {e}")
            });
            c.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .unwrap_or_else(|e| panic!("cannot create schema {schema}: {e}"));
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            StoreSetup {
                backend,
                data_dir: dir(),
                database_url: Some(url),
                pg_base: Some(base),
                pg_schema: Some(schema),
            }
        }
        other => panic!("unknown backend {other}"),
    }
}

impl StoreSetup {
    pub fn args(&self) -> Vec<String> {
        let mut a = vec!["--data-dir".to_string(), self.data_dir.display().to_string()];
        if let Some(u) = &self.database_url {
            a.push("--database-url".into());
            a.push(u.clone());
        }
        a
    }
}

/// The one-time setup token `relata serve` printed for a fresh `store`.
pub fn setup_token(store: &StoreSetup) -> String {
    let log = store.data_dir.join("server.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(at) = text.find("/setup?token=") {
            let rest = &text[at + "/setup?token=".len()..];
            return rest.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')).collect();
        }
        assert!(Instant::now() < deadline, "no setup link in the server's output:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `relata serve` on `store` through the wrapper; waits for
/// `/health`. Returns the base URL and the guard.
pub fn start_server(store: &StoreSetup) -> (String, Child, ChildStdin) {
    start_server_env(store, &[])
}

/// The file a server started by [`start_server`] writes its output to
/// (removed with the data directory when the test binary ends).
pub fn server_log(store: &StoreSetup) -> PathBuf {
    store.data_dir.join("server.log")
}

/// [`start_server`] with extra environment settings for the server
/// (`RELATA_LOG` included: they come after the harness's own).
pub fn start_server_env(store: &StoreSetup, env: &[(&str, &str)]) -> (String, Child, ChildStdin) {
    let port = free_port();
    let log = server_log(store);
    let mut args: Vec<String> = vec!["serve".into(), "--listen".into(), format!("127.0.0.1:{port}")];
    args.extend(store.args());
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(WRAPPER)
        .arg("sh")
        .arg(relata_bin())
        .args(&args)
        .env("RELATA_LOG", "warn")
        .env("RELATA_TEST_LOG", &log)
        .env("RELATA_TEST_DIR", &store.data_dir)
        .env("RELATA_TEST_PG_DROP", store.pg_schema.clone().unwrap_or_default())
        .env("RELATA_TEST_PG_BASE", store.pg_base.clone().unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn sh");
    let stdin = child.stdin.take().expect("stdin pipe");
    let base_url = format!("http://127.0.0.1:{port}");
    wait_healthy(&base_url, &mut child, &log);
    (base_url, child, stdin)
}

fn wait_healthy(base_url: &str, child: &mut Child, log: &Path) {
    let client = Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base_url}/health")).send() {
            if r.status().as_u16() == 200 {
                return;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "relata serve exited ({status}) before it was healthy; its output:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "relata serve at {base_url} not healthy within 60 s; its output:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(backend: &'static str) -> Srv {
    let store = new_store(backend);
    let token = admin_token(&store);
    let (base_url, child, stdin) = start_server(&store);
    Srv {
        backend,
        api: format!("{base_url}{API_PATH}"),
        base_url,
        client: http_client(),
        token,
        data_dir: store.data_dir.clone(),
        database_url: store.database_url.clone(),
        _guard: Mutex::new(Box::new((child, stdin))),
    }
}

/// `n` `relata serve` processes on one fresh `backend` store, as nodes
/// behind a load balancer, each started with `env`.
pub fn start_nodes(backend: &'static str, n: usize, env: &[(&str, &str)]) -> Vec<Srv> {
    let store = new_store(backend);
    let token = admin_token(&store);
    (0..n)
        .map(|_| {
            let (base_url, child, stdin) = start_server_env(&store, env);
            Srv {
                backend,
                api: format!("{base_url}{API_PATH}"),
                base_url,
                client: http_client(),
                token: token.clone(),
                data_dir: store.data_dir.clone(),
                database_url: store.database_url.clone(),
                _guard: Mutex::new(Box::new((child, stdin))),
            }
        })
        .collect()
}

/// The admin account and its bearer token, made with the CLI on `store`.
fn admin_token(store: &StoreSetup) -> String {
    let mut user_args: Vec<String> = ["user", "create", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD]
        .iter()
        .map(|s| s.to_string())
        .collect();
    user_args.extend(["--name".to_string(), "Test Admin".to_string()]);
    user_args.extend(store.args());
    run_cli(&user_args);
    let mut tok_args: Vec<String> = ["token", "create", "--email", ADMIN_EMAIL].iter().map(|s| s.to_string()).collect();
    tok_args.extend(store.args());
    last_line(&run_cli(&tok_args).stdout)
}

/// Removes an in-process server's data directory and PostgreSQL schema.
struct StoreCleanup(StoreSetup);

impl Drop for StoreCleanup {
    fn drop(&mut self) {
        if let (Some(base), Some(schema)) = (&self.0.pg_base, &self.0.pg_schema) {
            if let Ok(mut c) = postgres::Client::connect(base, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
        let _ = std::fs::remove_dir_all(&self.0.data_dir);
    }
}

/// A server running inside the test process on a fresh `backend` store,
/// with `modules` registered — so a test can add a module of its own.
/// The admin account is made by the CLI first (standard modules).
pub fn start_with_modules(backend: &'static str, modules: Vec<Arc<dyn relata_engine::modules::Module>>) -> Srv {
    start_org(backend, relata_engine::OrgConfig { modules, ..relata_engine::OrgConfig::default() }).0
}

/// Opens another organization (as another server process would) on the
/// database of `srv`.
pub fn open_org(srv: &Srv, config: &relata_engine::OrgConfig) -> Arc<relata_engine::Org> {
    let opts = relata_store::DbOptions::default();
    let db = match &srv.database_url {
        Some(url) => relata_store::Db::open_postgres(url, &opts),
        None => relata_store::Db::open_sqlite(&srv.data_dir.join("relata.db"), &opts),
    }
    .expect("open the test database");
    Arc::new(relata_engine::Org::open(db, config).expect("open the organization"))
}

/// An in-process server with the given organization settings (modules,
/// clock), and its organization for driving the engine directly.
pub fn start_org(backend: &'static str, config: relata_engine::OrgConfig) -> (Srv, Arc<relata_engine::Org>) {
    let store = new_store(backend);
    let token = admin_token(&store);
    let opts = relata_store::DbOptions::default();
    let db = match &store.database_url {
        Some(url) => relata_store::Db::open_postgres(url, &opts),
        None => relata_store::Db::open_sqlite(&store.data_dir.join("relata.db"), &opts),
    }
    .expect("open the test database");
    let org = Arc::new(relata_engine::Org::open(db, &config).expect("open the organization"));
    let served = org.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.set_nonblocking(true).expect("non-blocking listener");
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let config = relata_server::ServerConfig::default();
            relata_server::serve(served, config, listener, std::future::pending()).await.expect("serve");
        });
    });
    let client = Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client.get(format!("{base_url}/health")).send().is_ok_and(|r| r.status().as_u16() == 200) {
        assert!(Instant::now() < deadline, "the in-process server at {base_url} is not healthy");
        std::thread::sleep(Duration::from_millis(50));
    }
    let srv = Srv {
        backend,
        api: format!("{base_url}{API_PATH}"),
        base_url,
        client: http_client(),
        token,
        data_dir: store.data_dir.clone(),
        database_url: store.database_url.clone(),
        _guard: Mutex::new(Box::new(StoreCleanup(store))),
    };
    (srv, org)
}

/// The backends this run covers.
pub fn backends() -> Vec<&'static str> {
    static NOTE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("RELATA_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        vec!["sqlite", "postgres"]
    } else {
        NOTE.call_once(|| {
            let _ = std::io::stderr()
                .write_all(b"note: PostgreSQL suite not run: set RELATA_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)\n");
        });
        vec!["sqlite"]
    }
}

static SERVERS: LazyLock<Vec<Srv>> = LazyLock::new(|| backends().into_iter().map(start).collect());

/// One shared server per backend, started on first use.
pub fn servers() -> &'static [Srv] {
    &SERVERS
}

/// Builds a `$batch` body from parts. Each entry is either a single request
/// (outside change sets) or a change set of requests.
pub enum Part {
    Req(BatchReq),
    ChangeSet(Vec<BatchReq>),
}

pub struct BatchReq {
    pub method: &'static str,
    /// Absolute URL, or relative to the service root, or `$n`.
    pub url: String,
    pub content_id: Option<String>,
    pub body: Option<Value>,
}

impl BatchReq {
    pub fn new(method: &'static str, url: impl Into<String>, body: Option<Value>) -> Self {
        BatchReq { method, url: url.into(), content_id: None, body }
    }
    pub fn id(mut self, id: &str) -> Self {
        self.content_id = Some(id.to_string());
        self
    }
}

fn write_req(out: &mut String, r: &BatchReq) {
    out.push_str("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if let Some(id) = &r.content_id {
        out.push_str(&format!("Content-ID: {id}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&format!("{} {} HTTP/1.1\r\n", r.method, r.url));
    out.push_str("Accept: application/json\r\n");
    if let Some(b) = &r.body {
        out.push_str("Content-Type: application/json; type=entry\r\n\r\n");
        out.push_str(&b.to_string());
        out.push_str("\r\n");
    } else {
        out.push_str("\r\n");
    }
}

/// Returns (content type, body) of a `$batch` request.
pub fn batch_body(parts: &[Part]) -> (String, String) {
    let boundary = format!("batch_{}", uid());
    let mut out = String::new();
    for p in parts {
        out.push_str(&format!("--{boundary}\r\n"));
        match p {
            Part::Req(r) => write_req(&mut out, r),
            Part::ChangeSet(reqs) => {
                let cs = format!("changeset_{}", uid());
                out.push_str(&format!("Content-Type: multipart/mixed; boundary={cs}\r\n\r\n"));
                for r in reqs {
                    out.push_str(&format!("--{cs}\r\n"));
                    write_req(&mut out, r);
                }
                out.push_str(&format!("--{cs}--\r\n"));
            }
        }
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/mixed; boundary={boundary}"), out)
}

/// One response inside a `$batch` response.
#[derive(Debug)]
pub struct BatchPart {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Content-ID of the part, if any.
    pub content_id: Option<String>,
}

impl BatchPart {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(self.body.trim())
            .unwrap_or_else(|e| panic!("batch part body is not JSON ({e}): {}", self.body))
    }
}

fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_string())
    })
}

fn split_head(s: &str) -> (&str, &str) {
    if let Some(i) = s.find("\r\n\r\n") {
        (&s[..i], &s[i + 4..])
    } else if let Some(i) = s.find("\n\n") {
        (&s[..i], &s[i + 2..])
    } else {
        (s, "")
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    head.lines().filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect()
}

fn multipart_parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    for chunk in body.split(delim.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        parts.push(chunk.trim_start_matches("\r\n").trim_start_matches('\n'));
    }
    parts
}

/// Parses a `multipart/mixed` `$batch` response into its responses, change
/// sets flattened in order.
pub fn parse_batch(content_type: &str, body: &str) -> Vec<BatchPart> {
    let boundary = boundary_of(content_type).unwrap_or_else(|| panic!("no boundary in {content_type:?}"));
    let mut out = Vec::new();
    for part in multipart_parts(body, &boundary) {
        let (head, rest) = split_head(part);
        let headers = parse_headers(head);
        let ct = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.clone());
        if let Some(ct) = ct.filter(|c| c.to_ascii_lowercase().starts_with("multipart/mixed")) {
            out.extend(parse_batch(&ct, rest));
            continue;
        }
        let content_id = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-id")).map(|(_, v)| v.clone());
        let (http_head, http_body) = split_head(rest);
        let mut lines = http_head.lines();
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line in batch part: {status_line:?}\n{part}"));
        let hdrs = parse_headers(&lines.collect::<Vec<_>>().join("\n"));
        out.push(BatchPart { status, headers: hdrs, body: http_body.trim_end().to_string(), content_id });
    }
    out
}

/// True when `v` has `key` and its value is null (an absent key is not a
/// null: selected columns are always present in Dataverse responses).
pub fn null_at(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(Value::is_null)
}

/// Runs `body` once per backend. A failure on one backend does not hide the
/// result on the other: every backend runs, then the test fails naming the
/// backends that failed (each failure's message is printed as it happens).
pub fn each_server(body: impl Fn(&Srv)) {
    let mut failed = Vec::new();
    for srv in servers() {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(srv)));
        if r.is_err() {
            failed.push(srv.backend);
        }
    }
    assert!(failed.is_empty(), "failed on: {}", failed.join(", "));
}

// ----- browser scripts (tests/ui) --------------------------------------------

pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The full name the harness gives the admin.
pub const ADMIN_NAME: &str = "Test Admin";
/// The password `Srv::new_user` gives every user.
pub const USER_PASSWORD: &str = "User-Passw0rd!";

fn ui_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui").canonicalize().expect("tests/ui exists")
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Chromium, node and the script's packages: without them a browser test
/// fails rather than skips, so a machine that cannot run it is noticed.
fn ui_ready() -> PathBuf {
    static READY: Mutex<bool> = Mutex::new(false);
    let dir = ui_dir();
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if *ready {
        return dir;
    }
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the web UI tests need Debian's Chromium (apt-get install -y chromium)"
    );
    assert!(have("node") && have("npm"), "node and npm are required for the web UI tests");
    if !dir.join("node_modules").join("playwright-core").is_dir() {
        let out =
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).output().expect("run npm ci");
        assert!(
            out.status.success(),
            "npm ci in tests/ui failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    *ready = true;
    dir
}

/// Runs `tests/ui/<script>` in headless Chromium against `srv`, with the
/// admin's credentials and `env` in its environment; screenshots go to
/// target/ui-screenshots/<backend>/<script name>/. Panics with the
/// script's report when a step failed.
pub fn run_ui_script(srv: &Srv, script: &str, env: &[(&str, String)]) {
    run_ui_script_at(srv.backend, &srv.base_url, script, env)
}

/// [`run_ui_script`] against any server (a fresh one of its own).
pub fn run_ui_script_at(backend: &str, base_url: &str, script: &str, env: &[(&str, String)]) {
    let dir = ui_ready();
    let stem = script.trim_end_matches(".mjs");
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots").join(backend).join(stem);
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("create the screenshots directory");
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .current_dir(&dir)
        .env("RELATA_URL", base_url)
        .env("RELATA_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("RELATA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RELATA_ADMIN_NAME", ADMIN_NAME)
        .env("RELATA_USER_PASSWORD", USER_PASSWORD)
        .env("RELATA_SCREENSHOTS", &shots)
        .env("RELATA_CHROMIUM", CHROMIUM);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Shown with --nocapture: figures and what was checked.
    println!("[{}] {script}:\n{stdout}", backend);
    assert!(
        out.status.success(),
        "[{}] {script} failed ({}); screenshots in {}:\n{stdout}\n{}",
        backend,
        out.status,
        shots.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
