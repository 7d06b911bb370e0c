//! `relata bench`: a real server on a fresh database, measured over HTTP
//! with keep-alive connections and concurrent clients.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use rand::distributions::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relata_store::{DbOptions, Param, Storage};
use serde_json::json;
use uuid::Uuid;

use super::backup::human_bytes;
use super::demo::generate::{company, lang, phone, pick, Lang};
use super::demo::words::{EN_CITIES, RU_CITIES};
use crate::config::{mask_url, Database, Flags, Settings};

const API: &str = "/api/data/v9.2";
const BENCH_EMAIL: &str = "bench@relata.local";
const COUNT_TEMPLATE: &str =
    "{spinner:.green} create   [{elapsed_precise}] [{wide_bar:.cyan/blue}] {human_pos}/{human_len} ({rate})";
const TIMED_TEMPLATE: &str = "{spinner:.green} {msg:<8} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {pos}/{len} s";

#[derive(Args)]
pub struct BenchArgs {
    /// Accounts to create in the first phase
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub accounts: u64,
    /// Concurrent clients
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: u64,
    /// Duration of each timed phase (retrieve, update, list), in seconds
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
}

pub fn run(flags: &Flags, args: BenchArgs) -> Result<()> {
    super::init_logging("warn");
    let settings = Settings::load(flags)?;
    let exe = std::env::current_exe().context("cannot find the relata executable")?;

    // Declared before the server so that it is dropped (deleted) after it.
    let tmp =
        tempfile::Builder::new().prefix("relata-bench-").tempdir().context("cannot create a temporary directory")?;
    let data_dir = tmp.path().to_path_buf();
    let pg = match &settings.database {
        Database::Postgres(url) => Some(PgSchema::create(url)?),
        Database::Sqlite(_) => None,
    };
    let backend = if pg.is_some() { "postgres" } else { "sqlite" };
    let database_url = pg.as_ref().map(|p| p.url.clone());
    eprintln!(
        "bench: {backend} database {}; {} accounts, {} clients, {} s per timed phase",
        match &pg {
            Some(p) => format!("{} (schema {})", mask_url(&p.base_url), p.name),
            None => data_dir.display().to_string(),
        },
        args.accounts,
        args.concurrency,
        args.seconds
    );

    let child = ChildCli { exe: exe.clone(), data_dir: data_dir.clone(), database_url: database_url.clone() };
    let password: String = rand::thread_rng().sample_iter(&Alphanumeric).take(24).map(char::from).collect();
    child.run(&[
        "user",
        "create",
        "--email",
        BENCH_EMAIL,
        "--password",
        &password,
        "--name",
        "Bench Runner",
        "--role",
        "System Administrator",
    ])?;
    let token_out = child.run(&["token", "create", "--email", BENCH_EMAIL, "--name", "bench"])?;
    let token = token_out
        .lines()
        .last()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow!("relata token create printed no token"))?
        .to_string();

    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server { child: child.spawn_server(&listen)? };
    let base = format!("http://{listen}");

    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let results = runtime.block_on(measure(&mut server, base, token, &args))?;

    let peak_rss_kb = server.peak_rss_kb();
    let (anon_kb, pss_kb) = server.memory_kb();
    server.stop();
    let data_bytes = match &pg {
        Some(p) => p.size().unwrap_or(0),
        None => sqlite_size(&data_dir),
    };
    println!();
    match peak_rss_kb {
        Some(kb) => println!("server peak RSS: {}", human_bytes(kb * 1024)),
        None => println!("server peak RSS: unknown"),
    }
    // RSS counts the memory-mapped database once per connection; the
    // process's own heap and its proportional share say what it really uses.
    if let (Some(a), Some(p)) = (anon_kb, pss_kb) {
        println!(
            "server memory at end: {} heap (anonymous), {} proportional (PSS)",
            human_bytes(a * 1024),
            human_bytes(p * 1024)
        );
    }
    println!("data size: {}", human_bytes(data_bytes));

    let summary = json!({
        "backend": backend,
        "accounts": args.accounts,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "phases": results.iter().map(Phase::json).collect::<Vec<_>>(),
        "peak_rss_kb": peak_rss_kb,
        "anon_kb": anon_kb,
        "pss_kb": pss_kb,
        "data_bytes": data_bytes,
    });
    println!("{summary}");
    drop(pg);

    let failed: u64 = results.iter().map(|p| p.errors).sum();
    if failed > 0 {
        let total: u64 = results.iter().map(|p| p.requests).sum();
        bail!("{failed} of {total} requests failed");
    }
    Ok(())
}

/// Runs `relata` subcommands against the bench database.
struct ChildCli {
    exe: PathBuf,
    data_dir: PathBuf,
    database_url: Option<String>,
}

impl ChildCli {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args(args).arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        // Only the flags above decide where the bench database is.
        for var in ["RELATA_DATA_DIR", "RELATA_DATABASE_URL", "RELATA_LISTEN", "RELATA_REQUESTS_PER_MINUTE"] {
            cmd.env_remove(var);
        }
        cmd.env("RELATA_LOG", "warn");
        cmd
    }

    fn run(&self, args: &[&str]) -> Result<String> {
        let what = format!("relata {}", args.iter().take(2).copied().collect::<Vec<_>>().join(" "));
        let out = self.command(args).stdin(Stdio::null()).output().with_context(|| format!("cannot run {what}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim();
            bail!("{what} failed ({}): {}", out.status, reason.trim_start_matches("error: "));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn spawn_server(&self, listen: &str) -> Result<Child> {
        self.command(&["serve", "--listen", listen])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start relata serve")
    }
}

/// The server child process; killed whatever happens.
struct Server {
    child: Child,
}

impl Server {
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// High-water mark of resident memory (Linux).
    fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Anonymous (heap) and proportional set size now (Linux).
    fn memory_kb(&self) -> (Option<u64>, Option<u64>) {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", self.child.id())) else {
            return (None, None);
        };
        let field = |name: &str| -> Option<u64> {
            text.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
        };
        (field("Anonymous:"), field("Pss:"))
    }

    /// SIGTERM first so SQLite checkpoints its WAL, then SIGKILL.
    fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A throwaway PostgreSQL schema, dropped at the end.
struct PgSchema {
    base_url: String,
    name: String,
    /// `base_url` with `search_path` set to the schema.
    url: String,
}

impl PgSchema {
    fn create(base_url: &str) -> Result<PgSchema> {
        let name = format!("relata_bench_{:08x}", rand::random::<u32>());
        let db = relata_store::Db::open_postgres(base_url, &DbOptions { max_connections: 1, ..Default::default() })
            .with_context(|| format!("cannot connect to the database at {}", mask_url(base_url)))?;
        db.write(|tx| tx.batch(&format!("CREATE SCHEMA {name}")))
            .with_context(|| format!("cannot create the schema {name}"))?;
        let sep = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{sep}options=-c%20search_path%3D{name}");
        Ok(PgSchema { base_url: base_url.to_string(), name, url })
    }

    fn size(&self) -> Result<u64> {
        let db =
            relata_store::Db::open_postgres(&self.base_url, &DbOptions { max_connections: 1, ..Default::default() })?;
        let row = db.read(|tx| {
            tx.query_one(
                "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')",
                &[Param::text(self.name.clone())],
                &[Storage::BigInt],
            )
        })?;
        Ok(row.and_then(|r| r[0].as_i64()).unwrap_or(0).max(0) as u64)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let dropped =
            relata_store::Db::open_postgres(&self.base_url, &DbOptions { max_connections: 1, ..Default::default() })
                .and_then(|db| db.write(|tx| tx.batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))));
        if let Err(e) = dropped {
            eprintln!("warning: cannot drop the bench schema {}: {e}", self.name);
        }
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(l.local_addr()?.port())
}

fn sqlite_size(dir: &Path) -> u64 {
    ["relata.db", "relata.db-wal"].iter().filter_map(|f| std::fs::metadata(dir.join(f)).ok()).map(|m| m.len()).sum()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Retrieve,
    Update,
    List,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Retrieve => "retrieve",
            Op::Update => "update",
            Op::List => "list",
        }
    }
}

struct Phase {
    op: Op,
    requests: u64,
    errors: u64,
    secs: f64,
    /// Sorted, in microseconds.
    latencies: Vec<u64>,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }

    /// Nearest-rank percentile in milliseconds.
    fn pct(&self, p: f64) -> f64 {
        percentile(&self.latencies, p) as f64 / 1000.0
    }

    fn json(&self) -> serde_json::Value {
        let r2 = |v: f64| (v * 100.0).round() / 100.0;
        json!({
            "name": self.op.name(),
            "requests": self.requests,
            "errors": self.errors,
            "seconds": r2(self.secs),
            "rps": r2(self.rps()),
            "p50_ms": r2(self.pct(50.0)),
            "p90_ms": r2(self.pct(90.0)),
            "p99_ms": r2(self.pct(99.0)),
            "max_ms": r2(self.pct(100.0)),
        })
    }
}

pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What the clients of one phase share.
struct Shared {
    client: reqwest::Client,
    api: String,
    token: String,
    /// Ids of the accounts made by the create phase.
    ids: Arc<Vec<Uuid>>,
    /// Create phase: how many accounts to make, and the next to claim.
    total: u64,
    next: AtomicU64,
    /// Timed phases: when to stop.
    deadline: Option<Instant>,
    first_error: Mutex<Option<String>>,
    done: AtomicUsize,
}

async fn measure(server: &mut Server, base: String, token: String, args: &BenchArgs) -> Result<Vec<Phase>> {
    let concurrency = args.concurrency as usize;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("cannot create the HTTP client")?;
    wait_healthy(server, &client, &base).await?;

    println!(
        "{:<10} {:>10} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "phase", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let mut ids = Arc::new(Vec::new());
    let mut phases = Vec::new();
    for op in [Op::Create, Op::Retrieve, Op::Update, Op::List] {
        if op != Op::Create && ids.is_empty() {
            bail!("no account was created, so the other phases cannot run");
        }
        let shared = Arc::new(Shared {
            client: client.clone(),
            api: format!("{base}{API}"),
            token: token.clone(),
            ids: ids.clone(),
            total: args.accounts,
            next: AtomicU64::new(0),
            deadline: (op != Op::Create).then(|| Instant::now() + Duration::from_secs(args.seconds)),
            first_error: Mutex::new(None),
            done: AtomicUsize::new(0),
        });
        let (phase, created) = run_phase(op, shared.clone(), concurrency, args.seconds).await;
        if op == Op::Create {
            ids = Arc::new(created);
        }
        println!(
            "{:<10} {:>10} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            op.name(),
            phase.requests,
            phase.errors,
            phase.rps(),
            phase.pct(50.0),
            phase.pct(90.0),
            phase.pct(99.0),
            phase.pct(100.0)
        );
        if let Some(body) = shared.first_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            println!("  first error: {body}");
        }
        if let Some(status) = server.exited() {
            bail!("the server exited during the {} phase ({status})", op.name());
        }
        phases.push(phase);
    }
    Ok(phases)
}

async fn wait_healthy(server: &mut Server, client: &reqwest::Client, base: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last;
    loop {
        if let Some(status) = server.exited() {
            bail!("the server exited before it was ready ({status})");
        }
        match client.get(format!("{base}/health")).timeout(Duration::from_secs(2)).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        if Instant::now() > deadline {
            bail!("the server did not become healthy at {base}/health within 60 s (last: {last})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run_phase(op: Op, shared: Arc<Shared>, concurrency: usize, seconds: u64) -> (Phase, Vec<Uuid>) {
    let pb = match op {
        Op::Create => ProgressBar::new(shared.total),
        _ => ProgressBar::new(seconds),
    };
    let template = if op == Op::Create { COUNT_TEMPLATE } else { TIMED_TEMPLATE };
    pb.set_style(super::progress_style(template));
    pb.set_message(op.name());

    let started = Instant::now();
    let ticker = {
        let pb = pb.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                match op {
                    Op::Create => pb.set_position(shared.done.load(Ordering::Relaxed) as u64),
                    _ => pb.set_position(started.elapsed().as_secs().min(seconds)),
                }
            }
        })
    };
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        tasks.push(tokio::spawn(worker(op, task as u64, shared.clone())));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut created = Vec::new();
    for t in tasks {
        // A worker only ends by returning; a panic would be a bug in it.
        if let Ok(out) = t.await {
            latencies.extend(out.latencies);
            errors += out.errors;
            created.extend(out.created);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    ticker.abort();
    pb.finish_and_clear();
    latencies.sort_unstable();
    (Phase { op, requests: latencies.len() as u64, errors, secs, latencies }, created)
}

#[derive(Default)]
struct WorkerOut {
    latencies: Vec<u64>,
    errors: u64,
    created: Vec<Uuid>,
}

async fn worker(op: Op, task: u64, shared: Arc<Shared>) -> WorkerOut {
    let mut rng = StdRng::seed_from_u64(0x5eed_0000 + task);
    let deadline = shared.deadline;
    let mut out = WorkerOut::default();
    let api = &shared.api;
    loop {
        let request = match op {
            Op::Create => {
                let k = shared.next.fetch_add(1, Ordering::Relaxed);
                if k >= shared.total {
                    break;
                }
                shared.client.post(format!("{api}/accounts")).json(&new_account(&mut rng, k))
            }
            _ if deadline.is_some_and(|d| Instant::now() >= d) => break,
            Op::Retrieve => {
                let id = pick(&mut rng, &shared.ids);
                shared.client.get(format!("{api}/accounts({id})"))
            }
            Op::Update => {
                let id = pick(&mut rng, &shared.ids);
                let city = pick(&mut rng, EN_CITIES);
                shared
                    .client
                    .patch(format!("{api}/accounts({id})"))
                    .header("If-Match", "*")
                    .json(&json!({ "telephone1": phone(&mut rng, city) }))
            }
            Op::List => {
                let letter = char::from(b'A' + rng.gen_range(0..26u8));
                shared.client.get(format!("{api}/accounts")).query(&[
                    ("$select", "name,revenue".to_string()),
                    ("$filter", format!("statecode eq 0 and startswith(name,'{letter}')")),
                    ("$orderby", "name".to_string()),
                    ("$top", "50".to_string()),
                ])
            }
        };
        let request = request
            .bearer_auth(&shared.token)
            .header("Accept", "application/json")
            .header("OData-Version", "4.0")
            .header("OData-MaxVersion", "4.0");

        let t0 = Instant::now();
        let result = request.send().await;
        let (ok, created, error) = match result {
            Ok(resp) => {
                let status = resp.status();
                let entity_id = resp.headers().get("OData-EntityId").and_then(|v| v.to_str().ok()).and_then(id_in_url);
                // Reading the body lets the connection go back to the pool.
                let body = resp.bytes().await;
                match body {
                    Ok(body) if status.is_success() => {
                        // Only creates need the new id; parsing every body would
                        // measure the client's JSON parser, not the server.
                        let id = entity_id.filter(|_| op == Op::Create).or_else(|| {
                            if op != Op::Create {
                                return None;
                            }
                            serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| {
                                v.get("accountid").and_then(|i| i.as_str()).and_then(|s| Uuid::parse_str(s).ok())
                            })
                        });
                        (true, id, None)
                    }
                    Ok(body) => (false, None, Some(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))),
                    Err(e) => (false, None, Some(format!("HTTP {status}: reading the body failed: {e}"))),
                }
            }
            Err(e) => (false, None, Some(format!("request failed: {e}"))),
        };
        out.latencies.push(t0.elapsed().as_micros() as u64);
        shared.done.fetch_add(1, Ordering::Relaxed);
        if ok {
            if let Some(id) = created.filter(|_| op == Op::Create) {
                out.created.push(id);
            }
        } else {
            out.errors += 1;
            let mut first = shared.first_error.lock().unwrap_or_else(|e| e.into_inner());
            if first.is_none() {
                *first = error;
            }
        }
    }
    out
}

fn new_account(rng: &mut StdRng, k: u64) -> serde_json::Value {
    let lang = lang(rng);
    let city = match lang {
        Lang::En => pick(rng, EN_CITIES),
        Lang::Ru => pick(rng, RU_CITIES),
    };
    json!({
        "name": company(rng, lang).name,
        "accountnumber": format!("BN-{:08}", k + 1),
        "telephone1": phone(rng, city),
        "revenue": rng.gen_range(10_000u64..500_000_000) * 10,
        "numberofemployees": rng.gen_range(1..20_000),
        "address1_city": city.name,
    })
}

/// The GUID in `…/accounts(00000000-…)`.
fn id_in_url(url: &str) -> Option<Uuid> {
    let start = url.rfind('(')? + 1;
    let end = url[start..].find(')')? + start;
    Uuid::parse_str(&url[start..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 50.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[1, 2, 3], 0.0), 1);
    }

    #[test]
    fn progress_templates_are_valid() {
        // An unknown key would make the template fall back to the default bar.
        assert!(indicatif::ProgressStyle::with_template(COUNT_TEMPLATE).is_ok());
        assert!(indicatif::ProgressStyle::with_template(TIMED_TEMPLATE).is_ok());
    }

    #[test]
    fn entity_ids_are_read_from_the_header() {
        let id = Uuid::now_v7();
        assert_eq!(id_in_url(&format!("http://h/api/data/v9.2/accounts({id})")), Some(id));
        assert_eq!(id_in_url("http://h/api/data/v9.2/accounts"), None);
    }
}
