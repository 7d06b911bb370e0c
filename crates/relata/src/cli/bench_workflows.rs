//! `relata bench --workflows N`: what workflows cost, over HTTP on a fresh
//! database.
//!
//! N accounts are created by a few concurrent clients three times: with no
//! workflow (the baseline), with only the real-time workflows activated
//! (each updates a column of the new account in the create's transaction),
//! and with all 100 activated (the real-time ones and 97 background ones,
//! each started as a system job by every create: a condition met by some
//! accounts and not others, then one to three steps — create a task,
//! update a column, notify the owner). The server's job runner (as
//! `relata serve` runs it) works through the runs while the third phase
//! creates and afterwards; the bench waits until every run is finished.
//!
//! Every account's values are known to the bench, so it works out what the
//! workflows must have done — runs, runs whose condition held, steps,
//! tasks, notifications, and which accounts got which column — and counts
//! it in the database afterwards: a run that did not do its work fails the
//! bench instead of making the runner look fast.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relata_store::{DbOptions, Param, Storage};
use reqwest::Method;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::super::demo::generate::{company, lang};
use super::{id_in_url, longest_gap, percentile, wait_healthy, Server, ServerEnd, API};
use crate::config::Settings;

const COUNT_TEMPLATE: &str =
    "{spinner:.green} {msg:<10} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {human_pos}/{human_len} ({rate})";
/// The job type of a background workflow's run.
const RUN_JOB: &str = "processes.workflow";
const REAL_TIME: usize = 3;
const BACKGROUND: usize = 97;
/// Accounts created before the baseline, not measured: the server's
/// caches and the database's first pages are warm for every phase alike.
const WARM_UP: u64 = 100;
/// How long the runs may make no progress before the bench gives up.
const NO_PROGRESS: Duration = Duration::from_secs(180);

const CITIES: [&str; 10] =
    ["London", "Manchester", "Leeds", "Bristol", "Glasgow", "Edinburgh", "Cardiff", "Belfast", "York", "Oxford"];
/// Columns the real-time workflows set, in order.
const RT_COLUMNS: [&str; REAL_TIME] = ["telephone2", "address2_line3", "address2_city"];
/// Columns the background workflows' update steps set.
const BG_COLUMNS: [&str; 5] = ["fax", "telephone3", "address2_line1", "address2_line2", "websiteurl"];

// ---------------------------------------------------------------------------
// HTTP, shared with the email bench.

/// The Web API as the bench's administrator.
#[derive(Clone)]
pub(super) struct Api {
    client: reqwest::Client,
    /// `http://host:port/api/data/v9.2`.
    url: String,
    token: String,
}

impl Api {
    pub(super) fn new(base: &str, token: &str, clients: usize) -> Result<Api> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(clients.max(2))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(300))
            .build()
            .context("cannot create the HTTP client")?;
        Ok(Api { client, url: format!("{base}{API}"), token: token.to_string() })
    }

    pub(super) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a request; a failure describes the request and the answer.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<(Option<Uuid>, Vec<u8>), String> {
        let path = path.trim_start_matches('/');
        let mut builder = self
            .client
            .request(method.clone(), format!("{}/{path}", self.url))
            .bearer_auth(&self.token)
            .header("Accept", "application/json")
            .header("OData-Version", "4.0")
            .header("OData-MaxVersion", "4.0");
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let what = || {
            let mut w = format!("{method} {path}");
            if let Some(b) = body {
                let text = b.to_string();
                w.push(' ');
                w.push_str(&text.chars().take(300).collect::<String>());
            }
            w
        };
        let resp = builder.send().await.map_err(|e| format!("{} failed: {e}", what()))?;
        let status = resp.status();
        let id = resp.headers().get("OData-EntityId").and_then(|v| v.to_str().ok()).and_then(id_in_url);
        // Reading the body lets the connection go back to the pool.
        let body =
            resp.bytes().await.map_err(|e| format!("{} → HTTP {status}: reading the body failed: {e}", what()))?;
        if !status.is_success() {
            let text: String = String::from_utf8_lossy(&body).chars().take(1000).collect();
            return Err(format!("{} → HTTP {status}: {text}", what()));
        }
        Ok((id, body.to_vec()))
    }

    pub(super) async fn create(&self, set: &str, body: &Json) -> Result<Uuid> {
        let (id, _) = self.send(Method::POST, set, Some(body)).await.map_err(|e| anyhow!(e))?;
        id.ok_or_else(|| anyhow!("POST {set} answered without OData-EntityId"))
    }

    /// A POST whose answer is JSON (an action's).
    pub(super) async fn post(&self, path: &str, body: &Json) -> Result<Json> {
        let (_, bytes) = self.send(Method::POST, path, Some(body)).await.map_err(|e| anyhow!(e))?;
        if bytes.is_empty() {
            return Ok(Json::Null);
        }
        serde_json::from_slice(&bytes).with_context(|| format!("POST {path} did not answer JSON"))
    }

    pub(super) async fn patch(&self, path: &str, body: &Json) -> Result<()> {
        self.send(Method::PATCH, path, Some(body)).await.map_err(|e| anyhow!(e))?;
        Ok(())
    }

    /// `GET set/$count?$filter=…`.
    pub(super) async fn count(&self, set: &str, filter: &str) -> Result<u64> {
        let path = format!("{set}/$count?$filter={filter}");
        let (_, body) = self.send(Method::GET, &path, None).await.map_err(|e| anyhow!(e))?;
        let text = String::from_utf8_lossy(&body);
        text.trim().parse().with_context(|| format!("GET {path} answered '{text}', not a count"))
    }
}

/// A phase of requests sent by concurrent clients, as measured.
pub(super) struct Load {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    pub secs: f64,
    /// Sorted, in microseconds.
    pub latencies: Vec<u64>,
    /// The longest time in which no request finished, in microseconds.
    pub stall_us: u64,
    pub first_error: Option<String>,
    /// The numbers of the requests that succeeded, with the id a create
    /// answered.
    pub done: Vec<(u64, Option<Uuid>)>,
}

impl Load {
    pub(super) fn per_s(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }

    /// Nearest-rank percentile in milliseconds.
    pub(super) fn pct(&self, p: f64) -> f64 {
        percentile(&self.latencies, p) as f64 / 1000.0
    }

    pub(super) fn json(&self) -> Json {
        json!({
            "name": self.name,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": r2(self.secs),
            "per_s": r2(self.per_s()),
            "p50_ms": r2(self.pct(50.0)),
            "p95_ms": r2(self.pct(95.0)),
            "p99_ms": r2(self.pct(99.0)),
            "max_ms": r2(self.pct(100.0)),
            "longest_stall_ms": r2(self.stall_us as f64 / 1000.0),
        })
    }

    pub(super) fn print_header(first: &str) {
        println!(
            "{first:<34} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "requests", "errors", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms", "stall ms"
        );
    }

    pub(super) fn print_row(&self) {
        println!(
            "{:<34} {:>8} {:>6} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.1}",
            self.name,
            self.requests,
            self.errors,
            self.per_s(),
            self.pct(50.0),
            self.pct(95.0),
            self.pct(99.0),
            self.pct(100.0),
            self.stall_us as f64 / 1000.0
        );
        if let Some(e) = &self.first_error {
            println!("  first error: {e}");
        }
    }
}

pub(super) fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub(super) fn progress(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(super::super::progress_style(COUNT_TEMPLATE));
    pb.set_message(msg.to_string());
    pb
}

/// One request of a phase: method, path under the API, body.
pub(super) type MakeReq = Arc<dyn Fn(u64) -> (Method, String, Json) + Send + Sync>;

/// Requests `0..n`, made by `make`, sent by `clients` concurrent clients,
/// each sending its next as soon as the last is answered.
pub(super) async fn concurrently(api: &Api, name: &str, n: u64, clients: usize, make: MakeReq) -> Load {
    let pb = progress(n, name.split([',', ' ']).next().unwrap_or(name));
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let epoch = Instant::now();
    let ticker = {
        let (pb, done) = (pb.clone(), done.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                pb.set_position(done.load(Ordering::Relaxed));
            }
        })
    };
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (api, make, next, done, first_error) =
            (api.clone(), make.clone(), next.clone(), done.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut finished, mut ok, mut errors) = (Vec::new(), Vec::new(), Vec::new(), 0u64);
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let (method, path, body) = make(k);
                let t0 = Instant::now();
                let result = api.send(method, &path, Some(&body)).await;
                latencies.push(t0.elapsed().as_micros() as u64);
                finished.push(epoch.elapsed().as_micros() as u64);
                done.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok((id, _)) => ok.push((k, id)),
                    Err(e) => {
                        errors += 1;
                        first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                    }
                }
            }
            (latencies, finished, ok, errors)
        }));
    }
    let (mut latencies, mut finished, mut ok, mut errors) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for t in tasks {
        // A client only ends by returning; a panic would be a bug in it.
        if let Ok((l, f, o, e)) = t.await {
            latencies.extend(l);
            finished.extend(f);
            ok.extend(o);
            errors += e;
        }
    }
    let secs = epoch.elapsed().as_secs_f64();
    ticker.abort();
    pb.finish_and_clear();
    latencies.sort_unstable();
    finished.sort_unstable();
    ok.sort_unstable();
    let first_error = first_error.lock().unwrap_or_else(|e| e.into_inner()).take();
    Load {
        name: name.to_string(),
        requests: latencies.len() as u64,
        errors,
        secs,
        stall_us: longest_gap(&finished),
        latencies,
        first_error,
        done: ok,
    }
}

pub(super) fn alive(server: &mut Server, phase: &str) -> Result<()> {
    match server.exited() {
        Some(status) => bail!("the server exited during {phase} ({status})"),
        None => Ok(()),
    }
}

/// What was expected and what was found.
pub(super) struct Check {
    pub what: String,
    pub expected: u64,
    pub found: u64,
}

impl Check {
    pub(super) fn ok(&self) -> bool {
        self.expected == self.found
    }

    pub(super) fn json(&self) -> Json {
        json!({ "what": self.what, "expected": self.expected, "found": self.found })
    }
}

/// Prints the checks; returns the failed ones as sentences.
pub(super) fn print_checks(checks: &[Check]) -> Vec<String> {
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok())
        .map(|c| format!("{}: expected {}, found {}", c.what, c.expected, c.found))
        .collect();
    if failed.is_empty() {
        println!("checked: {} counts, each as expected", checks.len());
    } else {
        println!("checked: {} of {} counts are wrong:", failed.len(), checks.len());
        for f in &failed {
            println!("  {f}");
        }
    }
    failed
}

// ---------------------------------------------------------------------------
// The accounts and the workflows.

/// The values of account `k` a workflow's condition reads; the same in
/// every phase.
struct Acct {
    employees: i64,
    /// Whole currency units.
    revenue: i64,
    city: &'static str,
}

fn acct(k: u64) -> Acct {
    let mut rng = StdRng::seed_from_u64(0x00ac_c0de_0000 + k);
    Acct {
        employees: rng.gen_range(1..=20_000),
        revenue: rng.gen_range(10_000..=50_000_000),
        city: CITIES[rng.gen_range(0..CITIES.len())],
    }
}

/// Account `k` of the phase whose numbers start with `prefix`.
fn account_body(prefix: &str, k: u64) -> Json {
    let a = acct(k);
    let mut rng = StdRng::seed_from_u64(0x0000_4a3e_0000 + k);
    let lang = lang(&mut rng);
    json!({
        "name": company(&mut rng, lang).name,
        "accountnumber": format!("{prefix}-{:08}", k + 1),
        "telephone1": format!("+44 20 {:04} {:04}", k / 10_000 % 10_000, k % 10_000),
        "numberofemployees": a.employees,
        "revenue": a.revenue,
        "address1_city": a.city,
    })
}

/// A workflow's condition, as the bench can also evaluate it.
#[derive(Clone)]
enum Cond {
    Always,
    EmployeesAtLeast(i64),
    RevenueAtLeast(i64),
    CityIn(Vec<&'static str>),
    /// Fewer employees than `below` and at least `revenue`.
    SmallButRich {
        below: i64,
        revenue: i64,
    },
}

impl Cond {
    fn json(&self) -> Option<Json> {
        Some(match self {
            Cond::Always => return None,
            Cond::EmployeesAtLeast(n) => json!({ "field": "numberofemployees", "op": "ge", "value": n }),
            Cond::RevenueAtLeast(r) => json!({ "field": "revenue", "op": "ge", "value": r }),
            Cond::CityIn(c) => json!({ "field": "address1_city", "op": "in", "value": c }),
            Cond::SmallButRich { below, revenue } => json!({ "all": [
                { "field": "numberofemployees", "op": "lt", "value": below },
                { "field": "revenue", "op": "ge", "value": revenue },
            ] }),
        })
    }

    fn holds(&self, a: &Acct) -> bool {
        match self {
            Cond::Always => true,
            Cond::EmployeesAtLeast(n) => a.employees >= *n,
            Cond::RevenueAtLeast(r) => a.revenue >= *r,
            Cond::CityIn(c) => c.contains(&a.city),
            Cond::SmallButRich { below, revenue } => a.employees < *below && a.revenue >= *revenue,
        }
    }
}

/// What a step does, for counting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Task,
    Update(&'static str),
    Notify,
}

struct Wf {
    name: String,
    real_time: bool,
    cond: Cond,
    acts: Vec<Act>,
    definition: Json,
}

/// The 100 workflows: three real-time ones first, then the background ones.
fn workflows() -> Vec<Wf> {
    let mut out = Vec::with_capacity(REAL_TIME + BACKGROUND);
    // Real-time: each updates a column of the new account in the create's
    // transaction (a template, a literal, a copied column).
    let rt: [(Cond, Json); REAL_TIME] = [
        (Cond::Always, json!({ "template": "RT {{ record.accountnumber }}" })),
        (Cond::EmployeesAtLeast(15_000), json!("Large employer")),
        (Cond::CityIn(vec!["London", "York"]), json!({ "field": "address1_city" })),
    ];
    for (i, (cond, value)) in rt.into_iter().enumerate() {
        let column = RT_COLUMNS[i];
        let mut definition = json!({ "steps": [
            { "type": "update", "name": format!("Set {column}"), "values": { column: value } },
        ] });
        if let Some(c) = cond.json() {
            definition["condition"] = c;
        }
        out.push(Wf {
            name: format!("Bench RT{:02} {column}", i + 1),
            real_time: true,
            cond,
            acts: vec![Act::Update(column)],
            definition,
        });
    }
    let mut rng = StdRng::seed_from_u64(0x0000_00f1_0e00);
    for i in 0..BACKGROUND {
        let n = i + 1;
        let cond = match i % 10 {
            0 => Cond::Always,
            1 | 4 | 7 => Cond::EmployeesAtLeast(rng.gen_range(2_000..19_000)),
            2 | 5 | 8 => Cond::RevenueAtLeast(rng.gen_range(5_000_000..45_000_000)),
            3 | 6 => {
                let mut cities: Vec<&'static str> = Vec::new();
                while cities.len() < rng.gen_range(2..=3) {
                    let c = CITIES[rng.gen_range(0..CITIES.len())];
                    if !cities.contains(&c) {
                        cities.push(c);
                    }
                }
                Cond::CityIn(cities)
            }
            _ => Cond::SmallButRich {
                below: rng.gen_range(2_000..10_000),
                revenue: rng.gen_range(10_000_000..40_000_000),
            },
        };
        let steps = rng.gen_range(1..=3);
        let mut acts = Vec::with_capacity(steps);
        let mut json_steps = Vec::with_capacity(steps);
        for s in 0..steps {
            let act = match rng.gen_range(0..10) {
                0..=4 => Act::Task,
                5..=7 => Act::Update(BG_COLUMNS[rng.gen_range(0..BG_COLUMNS.len())]),
                _ => Act::Notify,
            };
            json_steps.push(match act {
                Act::Task => json!({
                    "type": "create", "name": format!("Task {}", s + 1), "entity": "task",
                    "values": {
                        "subject": { "template": format!("WF{n:02} call {{{{ record.name }}}}") },
                        "regardingobjectid": { "record": true },
                        "scheduledend": { "now": { "days": 2 } },
                    },
                }),
                Act::Update(column) => {
                    let value = if rng.gen_bool(0.5) {
                        json!({ "template": format!("wf{n:02} {{{{ record.accountnumber }}}}") })
                    } else {
                        json!(format!("wf{n:02}"))
                    };
                    json!({ "type": "update", "name": format!("Set {column}"), "values": { column: value } })
                }
                Act::Notify => json!({
                    "type": "notify", "name": "Tell the owner", "to": { "field": "ownerid" },
                    "title": { "template": format!("WF{n:02}: {{{{ record.name }}}} is new") },
                }),
            });
            acts.push(act);
        }
        let mut definition = json!({ "steps": json_steps });
        if let Some(c) = cond.json() {
            definition["condition"] = c;
        }
        out.push(Wf { name: format!("Bench BG{n:02}"), real_time: false, cond, acts, definition });
    }
    out
}

/// Creates and activates the workflows (not measured).
async fn activate(api: &Api, wfs: &[&Wf]) -> Result<()> {
    for w in wfs {
        let id = api
            .create(
                "workflows",
                &json!({
                    "name": w.name,
                    "category": 0,
                    "primaryentity": "account",
                    "scope": 4,
                    "mode": if w.real_time { 1 } else { 0 },
                    "triggeroncreate": true,
                    "clientdata": w.definition.to_string(),
                }),
            )
            .await
            .with_context(|| format!("cannot create the workflow {}", w.name))?;
        api.patch(&format!("workflows({id})"), &json!({ "statecode": 1, "statuscode": 2 }))
            .await
            .with_context(|| format!("cannot activate the workflow {}", w.name))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The bench.

/// The phases' account number prefixes: no workflow, real-time only, all.
const PHASES: [(&str, &str); 3] = [
    ("WB", "create, no workflows (baseline)"),
    ("WR", "create, 3 real-time workflows"),
    ("WA", "create, all 100 workflows"),
];

pub(super) struct WorkflowResults {
    clients: usize,
    accounts: u64,
    setup_secs: f64,
    phases: Vec<Load>,
    /// When the last phase's creates began and ended.
    all_started: DateTime<Utc>,
    all_ended: DateTime<Utc>,
    runs: u64,
    met: u64,
    steps: u64,
    checks: Vec<Check>,
}

pub(super) async fn measure(
    server: &mut Server,
    base: &str,
    token: &str,
    n: u64,
    clients: usize,
) -> Result<WorkflowResults> {
    let api = Api::new(base, token, clients)?;
    wait_healthy(server, api.client(), base).await?;
    let wfs = workflows();
    let real_time: Vec<&Wf> = wfs.iter().filter(|w| w.real_time).collect();
    let background: Vec<&Wf> = wfs.iter().filter(|w| !w.real_time).collect();

    let warm: MakeReq = Arc::new(|k| (Method::POST, "accounts".to_string(), account_body("WW", k)));
    let warm = concurrently(&api, "warm-up", WARM_UP, clients, warm).await;
    if warm.errors > 0 {
        bail!("the warm-up creates failed: {}", warm.first_error.unwrap_or_default());
    }
    Load::print_header("phase");
    let mut phases = Vec::new();
    let mut setup_secs = 0.0;
    let (mut all_started, mut all_ended) = (Utc::now(), Utc::now());
    for (i, (prefix, name)) in PHASES.iter().enumerate() {
        let started = Instant::now();
        match i {
            1 => activate(&api, &real_time).await?,
            2 => activate(&api, &background).await?,
            _ => {}
        }
        setup_secs += started.elapsed().as_secs_f64();
        let prefix: &'static str = prefix;
        let make: MakeReq = Arc::new(move |k| (Method::POST, "accounts".to_string(), account_body(prefix, k)));
        if i == 2 {
            all_started = Utc::now();
        }
        let load = concurrently(&api, name, n, clients, make).await;
        if i == 2 {
            all_ended = Utc::now();
        }
        load.print_row();
        alive(server, name)?;
        phases.push(load);
    }

    // Every create of the last phase started each background workflow once.
    let runs = phases[2].done.len() as u64 * background.len() as u64;
    let filter = format!("relata_jobtype eq '{RUN_JOB}' and statecode eq 3");
    let pb = progress(runs, "runs");
    let (mut last, mut last_change) = (0, Instant::now());
    loop {
        let done = api.count("asyncoperations", &filter).await?;
        pb.set_position(done);
        if done >= runs {
            break;
        }
        if done != last {
            (last, last_change) = (done, Instant::now());
        } else if last_change.elapsed() > NO_PROGRESS {
            pb.finish_and_clear();
            bail!(
                "{done} of {runs} background runs finished, and none for {} s: the job runner is stuck",
                NO_PROGRESS.as_secs()
            );
        }
        alive(server, "the background runs")?;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    pb.finish_and_clear();

    let (checks, met, steps) = check(&api, &wfs, &phases, runs).await?;
    Ok(WorkflowResults { clients, accounts: n, setup_secs, phases, all_started, all_ended, runs, met, steps, checks })
}

/// Counts what the workflows did against what they must have done.
/// Returns the checks, the runs whose condition held and their steps.
async fn check(api: &Api, wfs: &[Wf], phases: &[Load], runs: u64) -> Result<(Vec<Check>, u64, u64)> {
    let mut checks = Vec::new();
    let mut push = |what: String, expected: u64, found: u64| checks.push(Check { what, expected, found });
    let job = format!("relata_jobtype eq '{RUN_JOB}'");
    push("background runs".into(), runs, api.count("asyncoperations", &job).await?);
    push("runs succeeded".into(), runs, api.count("asyncoperations", &format!("{job} and statuscode eq 30")).await?);
    push("runs failed".into(), 0, api.count("asyncoperations", &format!("{job} and statuscode eq 31")).await?);
    push("runs canceled".into(), 0, api.count("asyncoperations", &format!("{job} and statuscode eq 32")).await?);

    let (mut met, mut steps, mut tasks, mut notes) = (0u64, 0u64, 0u64, 0u64);
    for (p, (prefix, _)) in PHASES.iter().enumerate() {
        let active: Vec<&Wf> = wfs.iter().filter(|w| p == 2 || (p == 1 && w.real_time)).collect();
        let mut columns: HashMap<&'static str, u64> = HashMap::new();
        for (k, _) in &phases[p].done {
            let a = acct(*k);
            let mut set: Vec<&'static str> = Vec::new();
            for w in active.iter().filter(|w| w.cond.holds(&a)) {
                if !w.real_time {
                    met += 1;
                    steps += w.acts.len() as u64;
                }
                for act in &w.acts {
                    match act {
                        Act::Task => tasks += 1,
                        Act::Notify => notes += 1,
                        Act::Update(c) if !set.contains(c) => set.push(c),
                        Act::Update(_) => {}
                    }
                }
            }
            for c in set {
                *columns.entry(c).or_default() += 1;
            }
        }
        let of_phase = format!("startswith(accountnumber,'{prefix}-')");
        push(format!("{prefix} accounts"), phases[p].done.len() as u64, api.count("accounts", &of_phase).await?);
        for c in RT_COLUMNS.iter().chain(BG_COLUMNS.iter()) {
            let found = api.count("accounts", &format!("{of_phase} and {c} ne null")).await?;
            push(format!("{prefix} accounts with {c} set"), columns.get(c).copied().unwrap_or(0), found);
        }
    }
    push("steps logged as succeeded".into(), steps, api.count("workflowlogs", "status eq 2").await?);
    push("steps logged as failed".into(), 0, api.count("workflowlogs", "status ne 2").await?);
    push("tasks made by workflows".into(), tasks, api.count("tasks", "startswith(subject,'WF')").await?);
    push(
        "notifications made by workflows".into(),
        notes,
        api.count("appnotifications", "startswith(title,'WF')").await?,
    );
    Ok((checks, met, steps))
}

/// When each background run finished, and the steps it logged, read from
/// the database once the server has stopped (the Web API gives whole
/// seconds).
fn timeline(settings: &Settings) -> Result<Vec<(DateTime<Utc>, u64)>> {
    let db = super::super::open_db(settings, &DbOptions { max_connections: 1, ..Default::default() })?;
    let (runs, logs) = db
        .read(|tx| -> relata_store::Result<_> {
            let runs = tx.query(
                "SELECT asyncoperationid, completedon FROM asyncoperation WHERE relata_jobtype = $1 AND completedon IS NOT NULL",
                &[Param::text(RUN_JOB)],
                &[Storage::Uuid, Storage::Timestamp],
            )?;
            let logs = tx.query(
                "SELECT asyncoperationid, COUNT(*) FROM workflowlog WHERE status = 2 GROUP BY asyncoperationid",
                &[],
                &[Storage::Uuid, Storage::BigInt],
            )?;
            Ok((runs, logs))
        })
        .context("cannot read the runs' times")?;
    let steps: HashMap<Uuid, u64> =
        logs.iter().filter_map(|r| Some((r[0].as_uuid()?, r[1].as_i64()?.max(0) as u64))).collect();
    let mut out: Vec<(DateTime<Utc>, u64)> = runs
        .iter()
        .filter_map(|r| {
            let id = r[0].as_uuid()?;
            Some((r[1].as_datetime()?, steps.get(&id).copied().unwrap_or(0)))
        })
        .collect();
    out.sort_unstable_by_key(|(t, _)| *t);
    Ok(out)
}

/// Prints the rest of the report once the server has stopped, and the
/// whole as one JSON line; fails if anything was not as expected.
pub(super) fn summarize(
    backend: &str,
    workers: u64,
    settings: &Settings,
    results: &WorkflowResults,
    end: &ServerEnd,
) -> Result<()> {
    let [base, rt, all] = [&results.phases[0], &results.phases[1], &results.phases[2]];
    let lost = |p: &Load| 100.0 * (1.0 - p.per_s() / base.per_s().max(1e-9));
    println!();
    println!(
        "throughput lost to the {REAL_TIME} real-time workflows: {:.1}% ({:.1} → {:.1} creates/s, p50 {:.2} → {:.2} ms)",
        lost(rt),
        base.per_s(),
        rt.per_s(),
        base.pct(50.0),
        rt.pct(50.0)
    );
    println!(
        "throughput lost with all {} workflows (and the job runner at work): {:.1}% ({:.1} creates/s, p50 {:.2} ms)",
        REAL_TIME + BACKGROUND,
        lost(all),
        all.per_s(),
        all.pct(50.0)
    );

    let times = timeline(settings)?;
    let (start, created_until) = (results.all_started, results.all_ended);
    let secs = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_microseconds().unwrap_or(0) as f64 / 1e6;
    let last = times.last().map_or(start, |(t, _)| *t);
    let mut stall = 0.0f64;
    let mut at = start;
    for (t, _) in &times {
        stall = stall.max(secs(at, *t));
        at = at.max(*t);
    }
    let (after_runs, after_steps) =
        times.iter().filter(|(t, _)| *t > created_until).fold((0u64, 0u64), |(r, s), (_, n)| (r + 1, s + n));
    let backlog = after_runs;
    let total_secs = secs(start, last).max(1e-9);
    let after_secs = secs(created_until, last).max(0.0);
    let steps_per_s = results.steps as f64 / total_secs;
    let runs_per_s = results.runs as f64 / total_secs;
    let drain_steps_per_s = after_steps as f64 / after_secs.max(1e-9);
    println!(
        "background runs: {} started ({} workflows × {} accounts), {} met their condition, {} steps; job workers: {workers}",
        results.runs,
        BACKGROUND,
        all.done.len(),
        results.met,
        results.steps
    );
    println!(
        "  all finished {:.1} s after the first create of the phase, {:.1} s after its last ({} runs were still queued then)",
        total_secs, after_secs, backlog
    );
    println!(
        "  {steps_per_s:.0} steps/s, {runs_per_s:.0} runs/s over the whole time; {drain_steps_per_s:.0} steps/s, {:.0} runs/s after the creates",
        after_runs as f64 / after_secs.max(1e-9)
    );
    println!("  longest stall of the job runner (no run finished): {:.0} ms", stall * 1000.0);
    println!("workflows created and activated in {:.1} s (not measured)", results.setup_secs);
    let failed = print_checks(&results.checks);
    if !failed.is_empty() {
        println!("  (the figures above are for work that was not all done)");
    }
    let summary = json!({
        "backend": backend,
        "bench": "workflows",
        "accounts_per_phase": results.accounts,
        "clients": results.clients,
        "job_workers": workers,
        "workflows": { "real_time": REAL_TIME, "background": BACKGROUND },
        "phases": results.phases.iter().map(Load::json).collect::<Vec<_>>(),
        "throughput_lost_to_real_time_pct": r2(lost(rt)),
        "throughput_lost_to_all_pct": r2(lost(all)),
        "background": {
            "runs": results.runs,
            "met_condition": results.met,
            "steps": results.steps,
            "seconds_from_first_create": r2(total_secs),
            "seconds_after_last_create": r2(after_secs),
            "queued_at_last_create": backlog,
            "steps_per_s": r2(steps_per_s),
            "runs_per_s": r2(runs_per_s),
            "steps_per_s_after_creates": r2(drain_steps_per_s),
            "longest_stall_ms": r2(stall * 1000.0),
        },
        "checks": results.checks.iter().map(Check::json).collect::<Vec<_>>(),
        "peak_rss_kb": end.peak_rss_kb,
        "anon_kb": end.anon_kb,
        "pss_kb": end.pss_kb,
        "data_bytes": end.data_bytes,
    });
    println!("{summary}");
    let errors: u64 = results.phases.iter().map(|p| p.errors).sum();
    if errors > 0 {
        bail!("{errors} creates failed");
    }
    match failed.as_slice() {
        [] => Ok(()),
        [one] => bail!("the workflows did not do what they must have: {one}"),
        all => bail!("the workflows did not do what they must have ({} counts wrong):\n{}", all.len(), all.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_three_real_time_and_97_background_of_one_to_three_steps() {
        let wfs = workflows();
        assert_eq!(wfs.len(), 100);
        assert_eq!(wfs.iter().filter(|w| w.real_time).count(), REAL_TIME);
        assert!(wfs.iter().all(|w| (1..=3).contains(&w.acts.len())));
        for kind in [Act::Task, Act::Notify] {
            assert!(wfs.iter().any(|w| w.acts.contains(&kind)));
        }
        assert!(wfs.iter().any(|w| w.acts.iter().any(|a| matches!(a, Act::Update(_)))));
        // Each workflow has its own name (a run is named after its workflow).
        let mut names: Vec<&str> = wfs.iter().map(|w| w.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 100);
    }

    #[test]
    fn conditions_hold_for_some_accounts_and_not_others() {
        let wfs = workflows();
        let accounts: Vec<Acct> = (0..1000).map(acct).collect();
        let conditional = wfs.iter().filter(|w| !matches!(w.cond, Cond::Always)).count();
        assert!(conditional >= 80, "most workflows have a condition");
        for w in wfs.iter().filter(|w| !matches!(w.cond, Cond::Always)) {
            let met = accounts.iter().filter(|a| w.cond.holds(a)).count();
            assert!(met > 0 && met < accounts.len(), "{}: {met} of 1000", w.name);
        }
    }

    #[test]
    fn accounts_are_the_same_in_every_phase_but_their_number() {
        let (a, b) = (account_body("WB", 7), account_body("WA", 7));
        for key in ["name", "numberofemployees", "revenue", "address1_city"] {
            assert_eq!(a[key], b[key], "{key}");
        }
        assert_eq!(a["accountnumber"], "WB-00000008");
        assert_eq!(b["accountnumber"], "WA-00000008");
    }
}
