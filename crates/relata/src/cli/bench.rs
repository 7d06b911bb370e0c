//! `relata bench`: a real server on a fresh database, measured over HTTP
//! with keep-alive connections and concurrent clients.
//!
//! `--security` measures the cost of record-level security instead: the
//! accounts are spread over Salespersons (User depth) in a tree of business
//! units, and retrieve and list run once as System Administrator (no
//! security predicate) and once as the Salespersons.
//!
//! `--sales` measures the sales engine instead (`bench_sales.rs`),
//! `--workflows` the cost of workflows and their background runs
//! (`bench_workflows.rs`), `--emails` email sent end to end to a local SMTP
//! server (`bench_email.rs`).

#[path = "bench_email.rs"]
mod bench_email;
#[path = "bench_workflows.rs"]
mod bench_workflows;

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
use relata_engine::{EngineError, Org, RecordInput};
use relata_metadata::{EntityRef, Value};
use relata_store::{Backend, DbOptions, Param, Storage};
use serde_json::json;
use uuid::Uuid;

use super::backup::human_bytes;
use super::demo::generate::{company, lang, phone, pick, Lang};
use super::demo::words::{EN_CITIES, RU_CITIES};
use crate::config::{mask_url, Database, Flags, Settings};

pub(super) const API: &str = "/api/data/v9.2";
const BENCH_EMAIL: &str = "bench@relata.local";
const COUNT_TEMPLATE: &str =
    "{spinner:.green} create   [{elapsed_precise}] [{wide_bar:.cyan/blue}] {human_pos}/{human_len} ({rate})";
const TIMED_TEMPLATE: &str = "{spinner:.green} {msg:<8} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {pos}/{len} s";

#[derive(Args)]
pub struct BenchArgs {
    /// Accounts to create in the first phase
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub accounts: u64,
    /// Concurrent clients [with --workflows or --emails: 4]
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: u64,
    /// Duration of each timed phase (retrieve, update, list), in seconds
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
    /// Measure the cost of security: retrieve and list as System
    /// Administrator and as Salespersons who own the accounts
    #[arg(long)]
    pub security: bool,
    /// With --security: business units below the root
    #[arg(long, default_value_t = 10, requires = "security", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub business_units: u64,
    /// With --security: Salespersons, spread over the business units, who own the accounts
    #[arg(long, default_value_t = 200, requires = "security", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub users: u64,
    /// Measure the sales engine: recalculating a 200-line order, and
    /// creating and qualifying leads
    #[arg(long, conflicts_with = "security")]
    pub sales: bool,
    /// With --sales: leads to create and qualify
    #[arg(long, default_value_t = 10_000, requires = "sales", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub leads: u64,
    /// With --sales: times the order is repriced from another price list
    /// (and its discount changed)
    #[arg(long, default_value_t = 30, requires = "sales", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub recalculations: u64,
    /// Measure the exchange with 1C instead: a generated catalog of this
    /// many products and its offers (four price types, five warehouses)
    /// sent as 1C sends them, twice (the second time changes nothing)
    #[arg(long, value_name = "PRODUCTS", conflicts_with_all = ["security", "sales", "jobs", "url", "raw_limit", "soak"])]
    pub exchange_1c: Option<u64>,
    /// Also measure the web interface's pages over the accounts made:
    /// size, bytes sent, server time and latency
    #[arg(long, conflicts_with = "sales")]
    pub ui: bool,
    /// Measure the background job runner instead: queue this many jobs at
    /// once and report jobs per second and the delay from due to start
    #[arg(long, value_name = "N", conflicts_with_all = ["sales", "security", "ui"], value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub jobs: Option<u64>,
    /// With --jobs: job worker threads [default: 1 on SQLite, 2 on
    /// PostgreSQL]; with --workflows or --emails: the server's job workers
    /// [default: RELATA_JOB_WORKERS, or 1]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub job_workers: Option<u64>,
    /// Measure workflows instead: N accounts [default: 1000] created with no
    /// workflow, with 3 real-time workflows, and with 100 (97 background,
    /// started by every create: 97 × N runs), then the server's job runner
    /// working through the runs; what the runs did is checked
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000",
          conflicts_with_all = ["security", "sales", "jobs", "exchange_1c", "ui", "url", "raw_limit", "soak", "emails"],
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub workflows: Option<u64>,
    /// Measure email instead: N emails [default: 10000] to contacts queued
    /// with SendEmail and sent by the server's job runner to a local SMTP
    /// server (tests/mail/smtp_sink.py: python3 with aiosmtpd) until all
    /// are Sent
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10000",
          conflicts_with_all = ["security", "sales", "jobs", "exchange_1c", "ui", "url", "raw_limit", "soak"],
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub emails: Option<u64>,
    /// Also run the same load, first, against the raw limit: a minimal
    /// server writing and reading a 30-column account table in SQLite with
    /// no validation, security or audit; then print Relata's share of it
    #[arg(long, conflicts_with_all = ["security", "sales", "jobs", "url"])]
    pub raw_limit: bool,
    /// The raw limit's SQLite `synchronous` level: NORMAL (no fsync per
    /// commit: survives a crash of the process, not a power cut) is the
    /// ceiling; FULL (an fsync per insert) is a server as durable as Relata
    /// written the plain way, one commit per request
    #[arg(long, default_value = "NORMAL", value_parser = ["NORMAL", "FULL"], requires = "raw_limit")]
    pub raw_synchronous: String,
    /// Send the load to a server already running at this base URL (Relata
    /// or another speaking the same Web API paths) instead of starting one
    #[arg(long, value_name = "URL", conflicts_with_all = ["security", "sales", "jobs", "ui"])]
    pub url: Option<String>,
    /// With --url: the bearer token to send
    #[arg(long, requires = "url")]
    pub token: Option<String>,
    /// After the phases, a mixed load (creates, retrieves, updates, lists)
    /// for this many seconds, printing throughput and the server's memory
    /// every tenth of it, to show whether memory levels off
    #[arg(long, value_name = "SECONDS", conflicts_with_all = ["sales", "jobs"], value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub soak: Option<u64>,
}

pub fn run(flags: &Flags, args: BenchArgs) -> Result<()> {
    super::init_cli_logging();
    if let Some(url) = &args.url {
        return run_against(url, &args);
    }
    if args.job_workers.is_some() && args.jobs.is_none() && args.workflows.is_none() && args.emails.is_none() {
        bail!("--job-workers goes with --jobs, --workflows or --emails");
    }
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
    let what = if let Some(products) = args.exchange_1c {
        format!("exchange with 1C: {products} products")
    } else if let Some(jobs) = args.jobs {
        format!("{jobs} background jobs queued at once")
    } else if let Some(n) = args.workflows {
        format!("workflows: {n} account creates per phase, {} clients", background_clients(&args))
    } else if let Some(n) = args.emails {
        format!("emails: {n} sent to a local SMTP server, {} clients", background_clients(&args))
    } else if args.sales {
        format!("sales: {} leads, {} recalculations, {} clients", args.leads, args.recalculations, args.concurrency)
    } else {
        format!("{} accounts, {} clients, {} s per timed phase", args.accounts, args.concurrency, args.seconds)
    };
    eprintln!(
        "bench: {backend} database {}; {what}{}",
        match &pg {
            Some(p) => format!("{} (schema {})", mask_url(&p.base_url), p.name),
            None => data_dir.display().to_string(),
        },
        if args.security {
            format!("; security: {} business units, {} Salespersons", args.business_units, args.users)
        } else {
            String::new()
        }
    );

    if let Some(jobs) = args.jobs {
        let settings = crate::config::resolve(
            &Flags { data_dir: Some(data_dir.clone()), database_url: database_url.clone(), ..Default::default() },
            &|_| None,
        )?;
        let workers = args.job_workers.unwrap_or(if pg.is_some() { 2 } else { 1 }) as usize;
        return super::bench_jobs::measure(&settings, backend, jobs, workers);
    }

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

    // The same database as the children, whatever the environment says.
    let bench_settings = crate::config::resolve(
        &Flags { data_dir: Some(data_dir.clone()), database_url: database_url.clone(), ..Default::default() },
        &|_| None,
    )?;
    let salespeople = if args.security {
        let started = Instant::now();
        let people = sales_organization(&bench_settings, args.business_units, args.users)?;
        eprintln!(
            "bench: {} business units and {} Salespersons with tokens in {:.1} s",
            args.business_units,
            people.len(),
            started.elapsed().as_secs_f64()
        );
        people
    } else {
        Vec::new()
    };

    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    if args.workflows.is_some() || args.emails.is_some() {
        // The server runs jobs as `relata serve` does, with this many workers.
        let workers = args.job_workers.unwrap_or(settings.job_workers.max(1));
        let clients = background_clients(&args);
        let mut env = vec![("RELATA_JOB_WORKERS", workers.to_string())];
        let mut sink = match args.emails {
            Some(_) => Some(bench_email::Sink::start(&data_dir)?),
            None => None,
        };
        if let Some(sink) = &sink {
            env.push(("RELATA_SMTP_URL", sink.url()));
        }
        let listen = format!("127.0.0.1:{}", free_port()?);
        let mut server = Server { child: Some(child.spawn_server_with(&listen, &env)?) };
        let base = format!("http://{listen}");
        if let (Some(n), Some(sink)) = (args.emails, sink.as_mut()) {
            let results = runtime.block_on(bench_email::measure(&mut server, sink, &base, &token, n, clients))?;
            let end = finish(&mut server, pg.as_ref(), &data_dir.join("relata.db"));
            return bench_email::summarize(backend, workers, &results, &end);
        }
        let n = args.workflows.unwrap_or(1);
        let results = runtime.block_on(bench_workflows::measure(&mut server, &base, &token, n, clients))?;
        let end = finish(&mut server, pg.as_ref(), &data_dir.join("relata.db"));
        return bench_workflows::summarize(backend, workers, &bench_settings, &results, &end);
    }
    let raw = if args.raw_limit {
        if pg.is_some() {
            eprintln!("bench: the raw limit runs on SQLite whatever the database measured");
        }
        Some(run_raw_limit(&runtime, &exe, &data_dir, &args)?)
    } else {
        None
    };

    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server { child: Some(child.spawn_server(&listen)?) };
    let base = format!("http://{listen}");

    if args.exchange_1c.is_some() {
        let products = super::bench_exchange::products(&args);
        let runs =
            runtime.block_on(super::bench_exchange::measure(&mut server, &base, BENCH_EMAIL, &password, products))?;
        let end = finish(&mut server, pg.as_ref(), &data_dir.join("relata.db"));
        return super::bench_exchange::summarize(backend, products, &runs, &end);
    }
    if args.sales {
        let results = runtime.block_on(super::bench_sales::measure(&mut server, &base, &token, &args))?;
        let end = finish(&mut server, pg.as_ref(), &data_dir.join("relata.db"));
        return super::bench_sales::summarize(backend, &args, &results, &end);
    }
    let bench = Bench { base, admin_token: token, salespeople, settings: Some(bench_settings) };
    println!("Relata ({backend}):");
    let results = runtime.block_on(measure(&mut server, &bench, &args))?;
    let ui =
        if args.ui { Some(runtime.block_on(super::bench_ui::measure(&bench.base, &bench.admin_token))?) } else { None };
    let ServerEnd { peak_rss_kb, anon_kb, pss_kb, data_bytes } =
        finish(&mut server, pg.as_ref(), &data_dir.join("relata.db"));

    let mut summary = json!({
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
    if let Some(pages) = &ui {
        summary["ui"] = serde_json::Value::Array(pages.iter().map(|p| p.json()).collect());
    }
    if let Some((raw_phases, raw_end)) = &raw {
        summary["raw_limit"] = compare_with_raw(&results, raw_phases, raw_end, anon_kb, &args.raw_synchronous);
    }
    if args.security {
        let costs = security_costs(&results);
        println!();
        println!("cost of security, Salesperson / System Administrator (goal: under {SECURITY_GOAL}x):");
        println!("{:<10} {:>10} {:>10} {:>10}", "phase", "p50", "p99", "req/s");
        for c in &costs {
            println!("{:<10} {:>9.2}x {:>9.2}x {:>9.2}x", c.op.name(), c.p50, c.p99, c.rps);
        }
        summary["security"] = json!({
            "business_units": args.business_units,
            "users": args.users,
            "goal": SECURITY_GOAL,
            "ratios": costs.iter().map(SecurityCost::json).collect::<Vec<_>>(),
        });
    }
    println!("{summary}");
    drop(pg);
    failures(&results)
}

/// The load against a server already running at `url`.
fn run_against(url: &str, args: &BenchArgs) -> Result<()> {
    let base = url.trim_end_matches('/').trim_end_matches(API).to_string();
    eprintln!(
        "bench: load against {base}; {} accounts, {} clients, {} s per timed phase",
        args.accounts, args.concurrency, args.seconds
    );
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let bench =
        Bench { base, admin_token: args.token.clone().unwrap_or_default(), salespeople: Vec::new(), settings: None };
    let mut server = Server { child: None };
    let results = runtime.block_on(measure(&mut server, &bench, args))?;
    println!("{}", json!({ "url": url, "phases": results.iter().map(Phase::json).collect::<Vec<_>>() }));
    failures(&results)
}

/// Clients of the workflow and email benches: `--concurrency` when given,
/// else a few.
fn background_clients(args: &BenchArgs) -> usize {
    let given = std::env::args().any(|a| a == "--concurrency" || a.starts_with("--concurrency="));
    if given {
        args.concurrency as usize
    } else {
        4
    }
}

fn failures(results: &[Phase]) -> Result<()> {
    let failed: u64 = results.iter().map(|p| p.errors).sum();
    if failed > 0 {
        let total: u64 = results.iter().map(|p| p.requests).sum();
        bail!("{failed} of {total} requests failed");
    }
    Ok(())
}

/// The same load against the raw limit server, on its own database file.
fn run_raw_limit(
    runtime: &tokio::runtime::Runtime,
    exe: &Path,
    data_dir: &Path,
    args: &BenchArgs,
) -> Result<(Vec<Phase>, ServerEnd)> {
    let listen = format!("127.0.0.1:{}", free_port()?);
    let database = data_dir.join("raw-limit.db");
    let child = Command::new(exe)
        .args(["bench-raw-limit", "--listen", &listen, "--synchronous", &args.raw_synchronous, "--database"])
        .arg(&database)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the raw limit server")?;
    let mut server = Server { child: Some(child) };
    let bench =
        Bench { base: format!("http://{listen}"), admin_token: String::new(), salespeople: Vec::new(), settings: None };
    println!("raw limit (SQLite, synchronous = {}, no validation, security or audit):", args.raw_synchronous);
    let phases = runtime.block_on(measure(&mut server, &bench, args))?;
    let end = finish(&mut server, None, &database);
    println!();
    failures(&phases)?;
    Ok((phases, end))
}

/// Prints Relata's figures over the raw limit's, phase by phase.
fn compare_with_raw(
    relata: &[Phase],
    raw: &[Phase],
    raw_end: &ServerEnd,
    anon_kb: Option<u64>,
    synchronous: &str,
) -> serde_json::Value {
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    println!();
    println!("Relata / raw limit:");
    println!(
        "{:<10} {:>11} {:>11} {:>7} {:>12} {:>12}",
        "phase", "raw req/s", "Relata", "ratio", "raw p99 ms", "Relata p99"
    );
    let mut rows = Vec::new();
    for ours in relata {
        let Some(theirs) = raw.iter().find(|p| p.op == ours.op) else { continue };
        let ratio = ours.rps() / theirs.rps().max(1e-9);
        println!(
            "{:<10} {:>11.1} {:>11.1} {:>6.2}x {:>12.2} {:>12.2}",
            ours.op.name(),
            theirs.rps(),
            ours.rps(),
            ratio,
            theirs.pct(99.0),
            ours.pct(99.0)
        );
        rows.push(json!({
            "name": ours.op.name(),
            "raw_rps": r2(theirs.rps()),
            "rps": r2(ours.rps()),
            "ratio": r2(ratio),
            "raw_p99_ms": r2(theirs.pct(99.0)),
            "p99_ms": r2(ours.pct(99.0)),
        }));
    }
    if let (Some(theirs), Some(ours)) = (raw_end.anon_kb, anon_kb) {
        println!("anonymous memory at end: raw {} MiB, Relata {} MiB", mib(theirs), mib(ours));
    }
    json!({ "synchronous": synchronous, "phases": rows, "anon_kb": raw_end.anon_kb })
}

/// What the server used, read just before it stops, and what it left on disk.
pub(super) struct ServerEnd {
    pub peak_rss_kb: Option<u64>,
    pub anon_kb: Option<u64>,
    pub pss_kb: Option<u64>,
    pub data_bytes: u64,
}

/// Stops the server and prints its memory and the database size.
fn finish(server: &mut Server, pg: Option<&PgSchema>, sqlite_file: &Path) -> ServerEnd {
    let peak_rss_kb = server.peak_rss_kb();
    let (anon_kb, pss_kb) = server.memory_kb();
    server.stop();
    let data_bytes = match pg {
        Some(p) => p.size().unwrap_or(0),
        None => sqlite_size(sqlite_file),
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
    ServerEnd { peak_rss_kb, anon_kb, pss_kb, data_bytes }
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
        self.spawn_server_with(listen, &[])
    }

    /// The server with these environment variables set.
    fn spawn_server_with(&self, listen: &str, env: &[(&str, String)]) -> Result<Child> {
        let mut cmd = self.command(&["serve", "--listen", listen]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start relata serve")
    }
}

/// The server child process, killed whatever happens; none when the load
/// goes to a server somebody else runs (`--url`).
pub(super) struct Server {
    child: Option<Child>,
}

impl Server {
    pub(super) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// A field of `/proc/<pid>/status`, in kB (Linux).
    fn status_kb(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.as_ref()?.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// High-water mark of resident memory.
    fn peak_rss_kb(&self) -> Option<u64> {
        self.status_kb("VmHWM:")
    }

    /// Resident memory now: anonymous (heap, SQLite's page caches) and
    /// file-backed (the mapped database file, the executable).
    fn rss_kb(&self) -> Option<Rss> {
        Some(Rss { anon_kb: self.status_kb("RssAnon:")?, file_kb: self.status_kb("RssFile:")? })
    }

    /// Anonymous (heap) and proportional set size now (Linux).
    fn memory_kb(&self) -> (Option<u64>, Option<u64>) {
        let Some(child) = &self.child else { return (None, None) };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", child.id())) else {
            return (None, None);
        };
        let field = |name: &str| -> Option<u64> {
            text.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
        };
        (field("Anonymous:"), field("Pss:"))
    }

    /// SIGTERM first so SQLite checkpoints its WAL, then SIGKILL.
    fn stop(&mut self) {
        let Some(pid) = self.child.as_ref().map(Child::id) else { return };
        if self.exited().is_some() {
            return;
        }
        let _ =
            Command::new("kill").arg("-TERM").arg(pid.to_string()).stdout(Stdio::null()).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    fn kill(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.kill();
        }
    }
}

/// Resident memory of the server at one moment.
#[derive(Clone, Copy)]
struct Rss {
    anon_kb: u64,
    file_kb: u64,
}

impl Rss {
    fn json(self) -> serde_json::Value {
        json!({ "rss_anon_kb": self.anon_kb, "rss_file_kb": self.file_kb })
    }
}

fn mib(kb: u64) -> String {
    format!("{:.0}", kb as f64 / 1024.0)
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

/// The database file and its write-ahead log.
fn sqlite_size(file: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", file.display()));
    [file, wal.as_path()].iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Retrieve,
    Update,
    List,
    /// The soak's mix: creates, retrieves, updates and lists at random.
    Mixed,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Retrieve => "retrieve",
            Op::Update => "update",
            Op::List => "list",
            Op::Mixed => "mixed",
        }
    }
}

/// Who the requests of a security bench phase run as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    Admin,
    Salesperson,
}

impl Caller {
    fn name(self) -> &'static str {
        match self {
            Caller::Admin => "System Administrator",
            Caller::Salesperson => "Salesperson",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Caller::Admin => "sysadmin",
            Caller::Salesperson => "salesperson",
        }
    }
}

/// The ratio the security bench compares Salesperson to System
/// Administrator figures against.
const SECURITY_GOAL: f64 = 1.5;
const SALESPERSON: &str = "Salesperson";

struct Phase {
    op: Op,
    /// Security bench only.
    caller: Option<Caller>,
    requests: u64,
    errors: u64,
    secs: f64,
    /// Sorted, in microseconds.
    latencies: Vec<u64>,
    /// Records in the successful list responses.
    rows: u64,
    /// The longest time in which no request finished, in microseconds: a
    /// pause of the server (a checkpoint, a lock, a collector) shows here
    /// even when it is too rare to move the p99.
    stall_us: u64,
    /// The server's resident memory when the phase ended.
    rss: Option<Rss>,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }

    /// Nearest-rank percentile in milliseconds.
    fn pct(&self, p: f64) -> f64 {
        percentile(&self.latencies, p) as f64 / 1000.0
    }

    fn label(&self) -> String {
        match self.caller {
            Some(c) => format!("{}/{}", self.op.name(), c.short()),
            None => self.op.name().to_string(),
        }
    }

    /// Average records per successful list response.
    fn rows_per_response(&self) -> f64 {
        self.rows as f64 / (self.requests.saturating_sub(self.errors)).max(1) as f64
    }

    fn json(&self) -> serde_json::Value {
        let r2 = |v: f64| (v * 100.0).round() / 100.0;
        let mut v = json!({
            "name": self.op.name(),
            "requests": self.requests,
            "errors": self.errors,
            "seconds": r2(self.secs),
            "rps": r2(self.rps()),
            "p50_ms": r2(self.pct(50.0)),
            "p90_ms": r2(self.pct(90.0)),
            "p99_ms": r2(self.pct(99.0)),
            "max_ms": r2(self.pct(100.0)),
            "longest_stall_ms": r2(self.stall_us as f64 / 1000.0),
        });
        if let Some(rss) = self.rss {
            v["rss"] = rss.json();
        }
        if let Some(c) = self.caller {
            v["as"] = json!(c.name());
            if self.op == Op::List {
                v["rows_per_response"] = json!(r2(self.rows_per_response()));
            }
        }
        v
    }
}

pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The longest gap, from the start or between two, in sorted finishing
/// times.
fn longest_gap(sorted: &[u64]) -> u64 {
    let mut last = 0;
    let mut gap = 0;
    for &t in sorted {
        gap = gap.max(t.saturating_sub(last));
        last = t;
    }
    gap
}

/// Salesperson figures over System Administrator figures for one operation:
/// above 1 the latencies are longer, below 1 the throughput is lower.
struct SecurityCost {
    op: Op,
    p50: f64,
    p99: f64,
    rps: f64,
}

impl SecurityCost {
    /// Within the goal: latency at most, and throughput at least, the
    /// goal's factor away from the administrator's.
    fn met(&self) -> bool {
        self.p50 <= SECURITY_GOAL && self.rps >= 1.0 / SECURITY_GOAL
    }

    fn json(&self) -> serde_json::Value {
        let r2 = |v: f64| (v * 100.0).round() / 100.0;
        json!({
            "name": self.op.name(),
            "p50": r2(self.p50),
            "p99": r2(self.p99),
            "rps": r2(self.rps),
            "met": self.met(),
        })
    }
}

fn security_costs(phases: &[Phase]) -> Vec<SecurityCost> {
    let find = |op: Op, caller: Caller| phases.iter().find(|p| p.op == op && p.caller == Some(caller));
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    [Op::Retrieve, Op::List]
        .into_iter()
        .filter_map(|op| {
            let (admin, sales) = (find(op, Caller::Admin)?, find(op, Caller::Salesperson)?);
            Some(SecurityCost {
                op,
                p50: ratio(sales.pct(50.0), admin.pct(50.0)),
                p99: ratio(sales.pct(99.0), admin.pct(99.0)),
                rps: ratio(sales.rps(), admin.rps()),
            })
        })
        .collect()
}

/// A bearer token and the accounts its user retrieves.
struct Identity {
    token: String,
    ids: Vec<Uuid>,
}

/// What the bench runs against.
struct Bench {
    base: String,
    admin_token: String,
    /// Security bench: the Salespersons (user, token); empty otherwise.
    salespeople: Vec<(Uuid, String)>,
    /// Where the bench database is; none when the server is not ours.
    settings: Option<Settings>,
}

/// What the clients of one phase share.
struct Shared {
    client: reqwest::Client,
    api: String,
    /// Who the requests run as; each client takes its own share of them.
    identities: Arc<Vec<Identity>>,
    /// Create phase: owners of the new accounts in turn (none: the caller).
    owners: Arc<Vec<Uuid>>,
    /// Create phase: how many accounts to make, and the next to claim.
    total: u64,
    next: AtomicU64,
    /// Timed phases: when to stop.
    deadline: Option<Instant>,
    first_error: Mutex<Option<String>>,
    done: AtomicUsize,
    /// When the phase started: requests' finishing times count from here.
    epoch: Instant,
}

/// The identities (of `n`) client `task` of `concurrency` sends requests
/// as: every client has its own when there are enough to go round.
fn identities_of(task: usize, concurrency: usize, n: usize) -> Vec<usize> {
    if n <= concurrency {
        vec![task % n.max(1)]
    } else {
        (task % concurrency..n).step_by(concurrency).collect()
    }
}

async fn measure(server: &mut Server, bench: &Bench, args: &BenchArgs) -> Result<Vec<Phase>> {
    let concurrency = args.concurrency as usize;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("cannot create the HTTP client")?;
    wait_healthy(server, &client, &bench.base).await?;

    let width = if args.security { 20 } else { 10 };
    print_header(width);
    // `seconds`: how long a timed phase runs; none for the create phase.
    let new_phase = |identities: Arc<Vec<Identity>>, owners: Arc<Vec<Uuid>>, seconds: Option<u64>| {
        Arc::new(Shared {
            client: client.clone(),
            api: format!("{}{API}", bench.base),
            identities,
            owners,
            total: args.accounts,
            next: AtomicU64::new(0),
            deadline: seconds.map(|s| Instant::now() + Duration::from_secs(s)),
            first_error: Mutex::new(None),
            done: AtomicUsize::new(0),
            epoch: Instant::now(),
        })
    };
    let mut phases = Vec::new();

    // The administrator creates every account; in the security bench each
    // is owned by the Salespersons in turn.
    let owners: Arc<Vec<Uuid>> = Arc::new(bench.salespeople.iter().map(|(u, _)| *u).collect());
    let creator = Arc::new(vec![Identity { token: bench.admin_token.clone(), ids: vec![] }]);
    let shared = new_phase(creator, owners.clone(), None);
    let (mut phase, mut created) = run_phase(Op::Create, None, shared.clone(), concurrency, args.seconds).await;
    report(server, &mut phase, &shared, width)?;
    phases.push(phase);
    if created.is_empty() {
        bail!("no account was created, so the other phases cannot run");
    }
    created.sort_unstable();
    let admin =
        Arc::new(vec![Identity { token: bench.admin_token.clone(), ids: created.iter().map(|(_, id)| *id).collect() }]);

    let steps: Vec<(Op, Option<Caller>)> = if args.security {
        vec![
            (Op::Retrieve, Some(Caller::Admin)),
            (Op::Retrieve, Some(Caller::Salesperson)),
            (Op::List, Some(Caller::Admin)),
            (Op::List, Some(Caller::Salesperson)),
        ]
    } else {
        vec![(Op::Retrieve, None), (Op::Update, None), (Op::List, None)]
    };
    let sales = if args.security {
        // Salespersons retrieve the accounts they own; one who owns none
        // (fewer accounts than Salespersons) takes no part.
        let mut owned: Vec<Vec<Uuid>> = vec![Vec::new(); owners.len()];
        for (k, id) in &created {
            owned[*k as usize % owners.len()].push(*id);
        }
        let people: Vec<Identity> = bench
            .salespeople
            .iter()
            .zip(owned)
            .filter(|(_, ids)| !ids.is_empty())
            .map(|((_, token), ids)| Identity { token: token.clone(), ids })
            .collect();
        // The synchronous database clients cannot run on the async runtime.
        let settings = bench.settings.clone().context("the security bench needs its own database")?;
        tokio::task::spawn_blocking(move || refresh_statistics(&settings))
            .await
            .context("refreshing the planner statistics failed")??;
        // What the load left to do in the background (checkpoints,
        // autovacuum) would otherwise fall on the first measured phase.
        let warm_up = args.seconds.min(5);
        let shared = new_phase(admin.clone(), Arc::new(Vec::new()), Some(warm_up));
        run_phase(Op::Retrieve, Some(Caller::Admin), shared, concurrency, warm_up).await;
        Arc::new(people)
    } else {
        Arc::new(Vec::new())
    };

    for (op, caller) in steps {
        let identities = if caller == Some(Caller::Salesperson) { sales.clone() } else { admin.clone() };
        let shared = new_phase(identities, Arc::new(Vec::new()), Some(args.seconds));
        let (mut phase, _) = run_phase(op, caller, shared.clone(), concurrency, args.seconds).await;
        report(server, &mut phase, &shared, width)?;
        phases.push(phase);
    }
    if let Some(seconds) = args.soak {
        let mut shared = new_phase(admin.clone(), Arc::new(Vec::new()), Some(seconds));
        // Soak creates are numbered after the first phase's.
        Arc::get_mut(&mut shared).expect("not shared yet").total = u64::MAX;
        shared.next.store(args.accounts, Ordering::Relaxed);
        let (mut phase, _) = soak(server, shared.clone(), concurrency, seconds).await;
        report(server, &mut phase, &shared, width)?;
        phases.push(phase);
    }
    Ok(phases)
}

/// The mixed load, with the server's memory and the throughput sampled
/// ten times along the way.
async fn soak(server: &Server, shared: Arc<Shared>, concurrency: usize, seconds: u64) -> (Phase, Vec<(u64, Uuid)>) {
    let every = Duration::from_secs_f64(seconds as f64 / 10.0);
    let sampler = async {
        let mut samples = Vec::new();
        let mut last = 0;
        let started = Instant::now();
        for _ in 0..10 {
            tokio::time::sleep(every).await;
            let done = shared.done.load(Ordering::Relaxed);
            samples.push((started.elapsed().as_secs(), (done - last) as f64 / every.as_secs_f64(), server.rss_kb()));
            last = done;
        }
        samples
    };
    let (out, samples) = tokio::join!(run_phase(Op::Mixed, None, shared.clone(), concurrency, seconds), sampler);
    println!("{:>8} {:>9} {:>9} {:>9}", "soak s", "req/s", "anon MiB", "file MiB");
    for (at, rps, rss) in samples {
        let (anon, file) = rss.map_or(("-".into(), "-".into()), |r| (mib(r.anon_kb), mib(r.file_kb)));
        println!("{at:>8} {rps:>9.1} {anon:>9} {file:>9}");
    }
    out
}

/// Prints a finished phase's row, its first error and, in the security
/// bench, what its lists returned; fails if the server died.
fn report(server: &mut Server, phase: &mut Phase, shared: &Shared, width: usize) -> Result<()> {
    phase.rss = server.rss_kb();
    print_row(phase, width);
    if phase.op == Op::List && phase.caller.is_some() {
        println!("  records per response: {:.1}", phase.rows_per_response());
    }
    if let Some(body) = shared.first_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
        println!("  first error: {body}");
    }
    if let Some(status) = server.exited() {
        bail!("the server exited during the {} phase ({status})", phase.label());
    }
    Ok(())
}

fn print_header(width: usize) {
    println!(
        "{:<width$} {:>9} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "phase",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "stall ms",
        "anon MiB",
        "file MiB"
    );
}

fn print_row(phase: &Phase, width: usize) {
    let (anon, file) = phase.rss.map_or(("-".into(), "-".into()), |r| (mib(r.anon_kb), mib(r.file_kb)));
    println!(
        "{:<width$} {:>9} {:>6} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>9} {:>9}",
        phase.label(),
        phase.requests,
        phase.errors,
        phase.rps(),
        phase.pct(50.0),
        phase.pct(90.0),
        phase.pct(99.0),
        phase.pct(100.0),
        phase.stall_us as f64 / 1000.0,
        anon,
        file,
    );
}

/// Refreshes the planner statistics after the load, so both callers are
/// measured against the same settled plans (during a load the server
/// refreshes them every few thousand writes, PostgreSQL in the background).
fn refresh_statistics(settings: &Settings) -> Result<()> {
    let db = super::open_db(settings, &DbOptions { max_connections: 1, ..Default::default() })?;
    match db.backend() {
        Backend::Sqlite => db.analyze(),
        Backend::Postgres => db.write(|tx| {
            tx.batch("ANALYZE account; ANALYZE principalobjectaccess; ANALYZE systemuser; ANALYZE teammembership")
        }),
    }
    .context("cannot refresh the planner statistics")
}

/// The security bench's organization, made through the engine before the
/// server starts: business units below the root (a few regions, the others
/// offices under them), Salespersons spread over them with the standard
/// Salesperson role (User depth on accounts), and a token each.
fn sales_organization(settings: &Settings, units: u64, users: u64) -> Result<Vec<(Uuid, String)>> {
    let org: Org = super::open_org_with(settings, &DbOptions { max_connections: 2, ..Default::default() })?;
    let root = org.ids.root_business_unit;
    let role = org
        .db()
        .read(|tx| {
            tx.query_one(
                "SELECT roleid FROM role WHERE name = $1 AND businessunitid = $2",
                &[Param::text(SALESPERSON), Param::uuid(root)],
                &[Storage::Uuid],
            )
        })
        .context("cannot read the security roles")?
        .and_then(|r| r[0].as_uuid())
        .ok_or_else(|| anyhow!("there is no {SALESPERSON} role in the root business unit"))?;
    let unit = |id: Uuid| Value::Ref(EntityRef { entity: "businessunit".into(), id });
    let regions = units.div_ceil(5) as usize;
    let people = org
        .write(&org.system_principal(), |s| -> Result<Vec<Uuid>, EngineError> {
            let mut unit_ids: Vec<Uuid> = Vec::new();
            for i in 0..units as usize {
                let (name, parent) = if i < regions {
                    (format!("Region {}", i + 1), root)
                } else {
                    let r = (i - regions) % regions;
                    (format!("Region {} Office {}", r + 1, (i - regions) / regions + 1), unit_ids[r])
                };
                let fields =
                    vec![("name".to_string(), Value::String(name)), ("parentbusinessunitid".to_string(), unit(parent))];
                unit_ids.push(s.create("businessunit", RecordInput::new(fields))?);
            }
            let mut people = Vec::new();
            for k in 0..users as usize {
                let fields = vec![
                    ("firstname".to_string(), Value::String("Sales".into())),
                    ("lastname".to_string(), Value::String(format!("Person {:03}", k + 1))),
                    ("internalemailaddress".to_string(), Value::String(format!("sales{:03}@relata.local", k + 1))),
                    ("businessunitid".to_string(), unit(unit_ids[k % unit_ids.len()])),
                    ("isdisabled".to_string(), Value::Bool(false)),
                ];
                let id = s.create("systemuser", RecordInput::new(fields))?;
                s.associate("systemuser", id, "systemuserroles_association", "role", role)?;
                people.push(id);
            }
            Ok(people)
        })
        .context("cannot create the business units and Salespersons")?;
    people
        .into_iter()
        .map(|user| {
            let (_, token) = org.create_token(user, "bench", None).context("cannot create a Salesperson's token")?;
            Ok((user, token))
        })
        .collect()
}

pub(super) async fn wait_healthy(server: &mut Server, client: &reqwest::Client, base: &str) -> Result<()> {
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

/// Runs one phase; for the create phase also returns the new accounts'
/// ids, each with its number in creation order.
async fn run_phase(
    op: Op,
    caller: Option<Caller>,
    shared: Arc<Shared>,
    concurrency: usize,
    seconds: u64,
) -> (Phase, Vec<(u64, Uuid)>) {
    let pb = match op {
        Op::Create => ProgressBar::new(shared.total),
        _ => ProgressBar::new(seconds),
    };
    let template = if op == Op::Create { COUNT_TEMPLATE } else { TIMED_TEMPLATE };
    pb.set_style(super::progress_style(template));
    pb.set_message(match caller {
        Some(c) => format!("{} as {}", op.name(), c.short()),
        None => op.name().to_string(),
    });

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
        let mine = identities_of(task, concurrency, shared.identities.len());
        tasks.push(tokio::spawn(worker(op, task as u64, mine, shared.clone())));
    }
    let mut latencies = Vec::new();
    let mut finished = Vec::new();
    let mut errors = 0;
    let mut rows = 0;
    let mut created = Vec::new();
    for t in tasks {
        // A worker only ends by returning; a panic would be a bug in it.
        if let Ok(out) = t.await {
            latencies.extend(out.latencies);
            finished.extend(out.finished);
            errors += out.errors;
            rows += out.rows;
            created.extend(out.created);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    ticker.abort();
    pb.finish_and_clear();
    latencies.sort_unstable();
    finished.sort_unstable();
    let stall_us = longest_gap(&finished);
    (
        Phase { op, caller, requests: latencies.len() as u64, errors, secs, latencies, rows, stall_us, rss: None },
        created,
    )
}

#[derive(Default)]
struct WorkerOut {
    latencies: Vec<u64>,
    /// When each request finished, in microseconds since the phase began.
    finished: Vec<u64>,
    errors: u64,
    rows: u64,
    created: Vec<(u64, Uuid)>,
}

/// One client: sends requests one after another as the identities `mine`.
async fn worker(op: Op, task: u64, mine: Vec<usize>, shared: Arc<Shared>) -> WorkerOut {
    let mut rng = StdRng::seed_from_u64(0x5eed_0000 + task);
    let deadline = shared.deadline;
    let mut out = WorkerOut::default();
    let api = &shared.api;
    loop {
        let who = &shared.identities[*pick(&mut rng, &mine)];
        let mut number = None;
        let op = match op {
            Op::Mixed => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                match rng.gen_range(0..10) {
                    0 => Op::Create,
                    1..=4 => Op::Retrieve,
                    5..=7 => Op::Update,
                    _ => Op::List,
                }
            }
            op => op,
        };
        let request = match op {
            Op::Create => {
                let k = shared.next.fetch_add(1, Ordering::Relaxed);
                if k >= shared.total {
                    break;
                }
                number = Some(k);
                let mut account = new_account(&mut rng, k);
                if !shared.owners.is_empty() {
                    let owner = shared.owners[(k % shared.owners.len() as u64) as usize];
                    account["ownerid@odata.bind"] = json!(format!("/systemusers({owner})"));
                }
                shared.client.post(format!("{api}/accounts")).json(&account)
            }
            _ if deadline.is_some_and(|d| Instant::now() >= d) => break,
            Op::Retrieve | Op::Mixed => {
                let id = pick(&mut rng, &who.ids);
                shared.client.get(format!("{api}/accounts({id})"))
            }
            Op::Update => {
                let id = pick(&mut rng, &who.ids);
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
            .bearer_auth(&who.token)
            .header("Accept", "application/json")
            .header("OData-Version", "4.0")
            .header("OData-MaxVersion", "4.0");

        let t0 = Instant::now();
        let result = request.send().await;
        let (ok, created, error, body) = match result {
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
                        (true, id, None, Some(body))
                    }
                    Ok(body) => (false, None, Some(format!("HTTP {status}: {}", String::from_utf8_lossy(&body))), None),
                    Err(e) => (false, None, Some(format!("HTTP {status}: reading the body failed: {e}")), None),
                }
            }
            Err(e) => (false, None, Some(format!("request failed: {e}")), None),
        };
        out.latencies.push(t0.elapsed().as_micros() as u64);
        out.finished.push(shared.epoch.elapsed().as_micros() as u64);
        shared.done.fetch_add(1, Ordering::Relaxed);
        if ok {
            if let (Some(k), Some(id)) = (number, created) {
                out.created.push((k, id));
            }
            if op == Op::List {
                out.rows += body.map_or(0, |b| count_records(&b));
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

/// Accounts in a list response, counted by their id key rather than by
/// parsing (the client shares the server's cores).
fn count_records(body: &[u8]) -> u64 {
    const KEY: &[u8] = b"\"accountid\":";
    body.windows(KEY.len()).filter(|w| *w == KEY).count() as u64
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
pub(super) fn id_in_url(url: &str) -> Option<Uuid> {
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
    fn clients_share_the_identities_out() {
        // One identity: every client uses it.
        assert_eq!(identities_of(5, 32, 1), vec![0]);
        // Fewer identities than clients: each client one, in turn.
        assert_eq!(identities_of(5, 4, 3), vec![2]);
        // More: each client its own, and together all of them.
        assert_eq!(identities_of(1, 4, 10), vec![1, 5, 9]);
        let mut all: Vec<usize> = (0..32).flat_map(|t| identities_of(t, 32, 200)).collect();
        all.sort_unstable();
        assert_eq!(all, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn list_records_are_counted_by_their_key() {
        let body = br#"{"value":[{"name":"A","accountid":"1"},{"name":"B","accountid":"2"}]}"#;
        assert_eq!(count_records(body), 2);
        assert_eq!(count_records(br#"{"value":[]}"#), 0);
    }

    #[test]
    fn security_costs_compare_salesperson_to_admin() {
        let phase = |op, caller, ms: u64, requests| Phase {
            op,
            caller: Some(caller),
            requests,
            errors: 0,
            secs: 10.0,
            latencies: vec![ms * 1000; 10],
            rows: 0,
            stall_us: 0,
            rss: None,
        };
        let phases = [
            phase(Op::Retrieve, Caller::Admin, 2, 1000),
            phase(Op::Retrieve, Caller::Salesperson, 2, 1000),
            phase(Op::List, Caller::Admin, 4, 1000),
            phase(Op::List, Caller::Salesperson, 12, 250),
        ];
        let costs = security_costs(&phases);
        assert_eq!(costs.len(), 2);
        assert!(costs[0].op == Op::Retrieve && costs[0].p50 == 1.0 && costs[0].met());
        assert!(costs[1].op == Op::List && costs[1].p50 == 3.0 && costs[1].rps == 0.25 && !costs[1].met());
    }

    #[test]
    fn entity_ids_are_read_from_the_header() {
        let id = Uuid::now_v7();
        assert_eq!(id_in_url(&format!("http://h/api/data/v9.2/accounts({id})")), Some(id));
        assert_eq!(id_in_url("http://h/api/data/v9.2/accounts"), None);
    }
}
