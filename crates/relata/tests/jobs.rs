//! Background jobs: retries with back-off, failures that say why, steps
//! that continue, recurrence and catch-up on a moved clock, cancel and
//! retry through the Web API and the CLI, asynchronous steps, the runaway
//! depth limit, and exactly-once runs with two organizations (as two
//! server processes) sharing one database, one of them losing its lease —
//! and with two real `relata serve` processes, one killed with SIGKILL in
//! the middle of a bulk delete.

mod common;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use common::{backends, open_org, start_org, uid, Srv};
use relata_engine::jobs::{operation, JobContext, JobKind, JobStep, NewJob, Runner, RunnerConfig};
use relata_engine::modules::{self, Message, Module, Registry, Stage, Step, StepContext};
use relata_engine::{Condition, EngineError, ManualClock, Org, OrgConfig, RecordInput, Result, Session};
use relata_metadata::Value;
use serde_json::json;
use uuid::Uuid;

struct JobProbe;

impl Module for JobProbe {
    fn name(&self) -> &'static str {
        "jobprobe"
    }

    fn register(&self, r: &mut Registry) {
        r.job(JobKind::new("count", operation::SYSTEM_EVENT, count))
            .job(JobKind::new("flaky", operation::SYSTEM_EVENT, flaky).attempts(4))
            .job(JobKind::new("broken", operation::SYSTEM_EVENT, broken))
            .job(JobKind::new("chunks", operation::SYSTEM_EVENT, chunks))
            .job(JobKind::new("panics", operation::SYSTEM_EVENT, panics).attempts(2))
            .step(
                Step::new("phone_task", Message::Update, Stage::PostOperation, phone_task)
                    .entity("account")
                    .filtering(&["telephone1"])
                    .asynchronous(),
            )
            .step(
                Step::new("echo", Message::Update, Stage::PostOperation, echo)
                    .entity("account")
                    .filtering(&["fax"])
                    .asynchronous(),
            );
    }
}

fn account(s: &mut Session<'_, '_, '_>, name: String) -> Result<()> {
    s.create("account", RecordInput::new(vec![("name".into(), Value::String(name))]))?;
    Ok(())
}

/// One account per run, named by the job: a second run would show.
fn count(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let tag = job.data["tag"].as_str().unwrap_or_default().to_string();
    if let Some(ms) = job.data["sleep_ms"].as_u64() {
        std::thread::sleep(StdDuration::from_millis(ms));
    }
    account(s, format!("{tag}:{}", job.id))?;
    Ok(JobStep::Done(Some(format!("counted {tag}"))))
}

fn flaky(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    // Its write is rolled back with the failure: only the last run's stays.
    account(s, format!("flaky:{}", job.id))?;
    if job.retry_count < job.data["fail"].as_i64().unwrap_or(0) {
        return Err(EngineError::Store(relata_store::StoreError::Other("the mail server did not answer".into())));
    }
    Ok(JobStep::Done(None))
}

fn broken(_: &mut Session<'_, '_, '_>, _: &mut JobContext) -> Result<JobStep> {
    Err(EngineError::Invalid("the contract has no INN".into()))
}

fn chunks(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let done = job.data["done"].as_i64().unwrap_or(0) + 1;
    account(s, format!("chunk{done}:{}", job.id))?;
    job.data["done"] = json!(done);
    Ok(if done < 3 { JobStep::Continue } else { JobStep::Done(Some("three chunks".into())) })
}

fn panics(_: &mut Session<'_, '_, '_>, _: &mut JobContext) -> Result<JobStep> {
    panic!("index out of bounds in the probe");
}

fn phone_task(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let phone = c.target.get("telephone1").and_then(Value::as_str).unwrap_or_default().to_string();
    if phone == "refuse" {
        return Err(EngineError::Invalid("the probe refuses the phone 'refuse'".into()));
    }
    let name = format!("call {phone} on {}", c.id);
    s.create("account", RecordInput::new(vec![("name".into(), Value::String(name))]))?;
    Ok(())
}

/// Changes the fax again: a step that triggers itself.
fn echo(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let fax = c.target.get("fax").and_then(Value::as_str).unwrap_or_default().to_string();
    let input = RecordInput::new(vec![("fax".into(), Value::String(format!("{fax}+")))]);
    s.update("account", c.id, input, Condition::default(), false)?;
    Ok(())
}

/// The standard modules but email, whose mailbox poll runs every minute
/// and would be counted with the jobs below.
fn modules() -> Vec<Arc<dyn Module>> {
    let mut m: Vec<Arc<dyn Module>> =
        modules::standard().into_iter().filter(|m| !matches!(m.name(), "email" | "processes")).collect();
    m.push(Arc::new(JobProbe));
    m
}

struct Env {
    srv: Srv,
    org: Arc<Org>,
    clock: Arc<ManualClock>,
    runner: Runner,
}

fn env(backend: &'static str) -> Env {
    let clock = ManualClock::new();
    let config = OrgConfig { modules: modules(), clock: clock.clone(), ..OrgConfig::default() };
    let (srv, org) = start_org(backend, config);
    let runner = Runner::new(org.clone(), RunnerConfig { host: "test-a".into(), ..RunnerConfig::default() });
    // The platform's maintenance (daily) and statistics check (every ten
    // minutes) are due when an organization opens: out of the way.
    assert_eq!(runner.run_due(10).unwrap().succeeded, 2);
    Env { srv, org, clock, runner }
}

impl Env {
    fn enqueue(&self, job: NewJob) -> Uuid {
        self.org.write(&self.org.system_principal(), |s| s.enqueue(job)).expect("enqueue")
    }

    fn job(&self, id: Uuid) -> serde_json::Value {
        self.srv.retrieve("asyncoperations", id, "")
    }

    fn accounts(&self, prefix: &str) -> usize {
        let q = format!("accounts?$select=name&$filter=startswith(name,'{prefix}')");
        self.srv.get(&q).expect(200).rows().len()
    }
}

fn state(job: &serde_json::Value) -> (i64, i64) {
    (job["statecode"].as_i64().unwrap(), job["statuscode"].as_i64().unwrap())
}

#[test]
fn jobs_retry_fail_continue_and_say_why() {
    for backend in backends() {
        let e = env(backend);
        let tag = uid();
        let ok = e.enqueue(NewJob::new("jobprobe.count", "count", json!({"tag": tag})));
        let flaky = e.enqueue(NewJob::new("jobprobe.flaky", "send the invoice", json!({"fail": 2})));
        let broken = e.enqueue(NewJob::new("jobprobe.broken", "check the contract", json!({})));
        let chunks = e.enqueue(NewJob::new("jobprobe.chunks", "three chunks", json!({})));
        let panics = e.enqueue(NewJob::new("jobprobe.panics", "panics", json!({})));

        let r = e.runner.run_due(100).unwrap();
        assert_eq!((r.succeeded, r.continued, r.failed, r.retried), (2, 2, 1, 2), "{backend}: {r:?}");
        assert_eq!(state(&e.job(ok)), (3, 30));
        assert_eq!(e.job(ok)["message"], "counted ".to_string() + &tag);
        assert_eq!(e.accounts(&format!("{tag}:")), 1);
        let j = e.job(chunks);
        assert_eq!(state(&j), (3, 30), "{backend}: {j}");
        assert_eq!(j["data"].as_str().map(|d| d.contains("\"done\":3")), Some(true), "{j}");
        assert_eq!(e.accounts("chunk"), 3);

        // A refusal fails at once and says why.
        let j = e.job(broken);
        assert_eq!(state(&j), (3, 31));
        assert_eq!(j["message"], "check the contract: the contract has no INN");
        assert!(j["completedon"].is_string());

        // A transient error waits 30 s, then 60 s; its writes were undone.
        let j = e.job(flaky);
        assert_eq!(state(&j), (1, 10), "{j}");
        assert_eq!(j["retrycount"], 1);
        assert!(j["message"].as_str().unwrap().contains("the mail server did not answer (attempt 1 of 4; retrying)"));
        assert_eq!(e.accounts("flaky:"), 0);
        assert_eq!(e.runner.run_due(100).unwrap().steps(), 0, "nothing is due before the back-off ends");
        e.clock.advance(Duration::seconds(31));
        let r = e.runner.run_due(100).unwrap();
        assert_eq!((r.retried, r.failed), (1, 1), "{backend}: flaky retried, panics out of attempts: {r:?}");
        assert_eq!(e.job(flaky)["retrycount"], 2);
        e.clock.advance(Duration::seconds(61));
        e.runner.run_due(100).unwrap();
        let j = e.job(flaky);
        assert_eq!(state(&j), (3, 30), "{j}");
        assert_eq!(j["retrycount"], 2);
        assert_eq!(e.accounts("flaky:"), 1, "only the successful run's write stays");

        // A panic is a failure like any other, with no internals shown.
        let j = e.job(panics);
        assert_eq!(state(&j), (3, 31), "{j}");
        let m = j["message"].as_str().unwrap();
        assert!(m.contains("stopped unexpectedly") && !m.contains("index out of bounds"), "{m}");
    }
}

#[test]
fn recurring_jobs_catch_up_once_and_come_round() {
    for backend in backends() {
        let e = env(backend);
        let tag = uid();
        let mut job = NewJob::new("jobprobe.count", "nightly count", json!({"tag": tag}));
        job.recurrence = Some("FREQ=DAILY;INTERVAL=1".into());
        job.due = Some(e.org.now() + Duration::hours(1));
        let id = e.enqueue(job);
        assert_eq!(state(&e.job(id)), (1, 10));
        assert_eq!(e.runner.run_due(10).unwrap().steps(), 0);
        // Every server is down for three days and a bit.
        e.clock.advance(Duration::days(3) + Duration::hours(2));
        assert_eq!(e.runner.run_due(10).unwrap().succeeded, 3, "the count, the maintenance and the statistics check");
        assert_eq!(e.runner.run_due(10).unwrap().steps(), 0, "missed occurrences run once, not three times");
        assert_eq!(e.accounts(&format!("{tag}:")), 1);
        let j = e.job(id);
        assert_eq!(state(&j), (1, 10), "{j}");
        let next: chrono::DateTime<chrono::Utc> = j["postponeuntil"].as_str().unwrap().parse().unwrap();
        let wait = next - e.org.now();
        assert!(wait > Duration::hours(22) && wait <= Duration::hours(23), "next run in {wait}");
        e.clock.advance(Duration::days(1));
        assert_eq!(e.runner.run_due(10).unwrap().succeeded, 3);
        assert_eq!(e.accounts(&format!("{tag}:")), 2);

        // A bad pattern is refused when the job is asked for.
        let mut bad = NewJob::new("jobprobe.count", "bad", json!({}));
        bad.recurrence = Some("FREQ=YEARLY".into());
        let err = e.org.write(&e.org.system_principal(), |s| s.enqueue(bad)).unwrap_err().to_string();
        assert!(err.contains("FREQ=YEARLY is not supported"), "{err}");
        // The platform's own maintenance is scheduled in every organization.
        let rows = e.srv.get("asyncoperations?$filter=relata_jobtype eq 'platform.purgeexpired'").expect(200).rows();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["recurrencepattern"], "FREQ=DAILY;INTERVAL=1");
    }
}

#[test]
fn users_cancel_retry_and_delete_jobs_through_the_web_api_and_the_cli() {
    for backend in backends() {
        let e = env(backend);
        let tag = uid();
        let mut later = NewJob::new("jobprobe.count", "later", json!({"tag": tag}));
        later.due = Some(e.org.now() + Duration::hours(1));
        let id = e.enqueue(later);
        let path = format!("asyncoperations({id})");

        e.srv.patch(&path, &json!({"statecode": 3, "statuscode": 32})).expect(204);
        assert_eq!(state(&e.job(id)), (3, 32));
        e.clock.advance(Duration::hours(2));
        let r = e.runner.run_due(10).unwrap();
        let failed = e.srv.get("asyncoperations?$select=name,message").expect(200).rows();
        assert_eq!(r.steps(), 1, "a canceled job does not run (the statistics check does): {r:?} {failed:?}");
        e.srv.patch(&path, &json!({"statecode": 3})).expect_error(400);
        e.srv.patch(&path, &json!({"statecode": 0})).expect(204);
        assert_eq!(state(&e.job(id)), (0, 0));
        assert_eq!(e.runner.run_due(10).unwrap().succeeded, 1);
        assert_eq!(e.accounts(&format!("{tag}:")), 1);
        let m = e.srv.patch(&path, &json!({"statecode": 0})).expect_error(400);
        assert!(m.contains("nothing to retry"), "{m}");

        // What users may not do.
        let m = e.srv.post("asyncoperations", &json!({"name": "mine", "operationtype": 1})).expect_error(400);
        assert!(m.contains("created by the server"), "{m}");
        let m = e.srv.patch(&path, &json!({"name": "renamed"})).expect_error(400);
        assert!(m.contains("'name' of a system job cannot be changed"), "{m}");
        let waiting = e.enqueue(NewJob::new("jobprobe.broken", "waiting", json!({})));
        let m = e.srv.delete(&format!("asyncoperations({waiting})")).expect_error(400);
        assert!(m.contains("Only completed system jobs can be deleted"), "{m}");
        let platform =
            e.srv.get("asyncoperations?$select=name&$filter=relata_jobtype eq 'platform.purgeexpired'").rows();
        let pid = platform[0]["asyncoperationid"].as_str().unwrap();
        let m = e.srv.patch(&format!("asyncoperations({pid})"), &json!({"statecode": 3})).expect_error(403);
        assert!(m.contains("platform job"), "{m}");

        // The CLI lists, fails nothing it should not, and retries.
        e.runner.run_due(10).unwrap();
        assert_eq!(state(&e.job(waiting)), (3, 31));
        let out = e.srv.cli(&["jobs", "list", "--failed"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success() && text.contains(&waiting.to_string()) && text.contains("Failed"), "{text}");
        assert!(text.contains("the contract has no INN"), "{text}");
        let out = e.srv.cli(&["jobs", "retry", &waiting.to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(state(&e.job(waiting)), (0, 0));
        let out = e.srv.cli(&["jobs", "cancel", &waiting.to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(state(&e.job(waiting)), (3, 32));
        let mut args = vec!["jobs".to_string(), "cancel".into(), waiting.to_string()];
        args.extend(e.srv.store_args());
        let out = std::process::Command::new(common::relata_bin()).args(&args).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("already completed"));
        e.srv.delete(&format!("asyncoperations({waiting})")).expect(204);

        // Settings → System Jobs lists them in the web UI.
        let settings = e.srv.page_as(&e.srv.token, "/ui/settings").expect(200).text();
        assert!(
            settings.contains("&#x2f;ui&#x2f;asyncoperations") && settings.contains("System jobs"),
            "no System Jobs link in Settings"
        );
        let list = e.srv.page_as(&e.srv.token, "/ui/asyncoperations").expect(200).text();
        assert!(list.contains("Remove expired access tokens"), "the jobs list shows the platform job: {list}");

        // A job's page offers what its state allows (the lifecycle in its
        // metadata): a waiting job is canceled, a canceled one retried.
        let mut later = NewJob::new("jobprobe.count", "from the page", json!({"tag": uid()}));
        later.due = Some(e.org.now() + Duration::hours(1));
        let id = e.enqueue(later);
        let page = format!("/ui/asyncoperations/{id}");
        let html = e.srv.page_as(&e.srv.token, &page).expect(200).text();
        assert!(html.contains(">Cancel<") && html.contains(">Resume<") && !html.contains(">Retry<"), "{html}");
        let csrf = e.srv.csrf_of(&e.srv.token);
        let r = e.srv.form_as(&e.srv.token, &format!("{page}/act/state_3"), &[("csrf", csrf.clone())]);
        assert_eq!(r.status, 303);
        assert_eq!(state(&e.job(id)), (3, 32), "canceled from its page");
        let html = e.srv.page_as(&e.srv.token, &page).expect(200).text();
        assert!(html.contains(">Retry<") && !html.contains(">Cancel<"), "{html}");
        e.srv.form_as(&e.srv.token, &format!("{page}/act/state_0"), &[("csrf", csrf)]);
        assert_eq!(state(&e.job(id)), (0, 0), "retried from its page");
    }
}

#[test]
fn asynchronous_steps_run_after_commit_as_jobs_and_stop_at_the_depth_limit() {
    for backend in backends() {
        let e = env(backend);
        let id = e.srv.create("accounts", &json!({"name": format!("async {}", uid())}));
        e.srv.patch(&format!("accounts({id})"), &json!({"telephone1": "555-0101"})).expect(204);
        let jobs = e.srv.get(&format!("asyncoperations?$filter=relata_regardingid eq {id}")).expect(200).rows();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert_eq!(jobs[0]["messagename"], "Update");
        assert_eq!(jobs[0]["primaryentitytype"], "account");
        assert_eq!(e.accounts(&format!("call 555-0101 on {id}")), 0, "not run in the request");
        e.runner.run_due(10).unwrap();
        assert_eq!(e.accounts(&format!("call 555-0101 on {id}")), 1);

        // A failing asynchronous step fails its job, not the request.
        e.srv.patch(&format!("accounts({id})"), &json!({"telephone1": "refuse"})).expect(204);
        e.runner.run_due(10).unwrap();
        let failed =
            e.srv.get(&format!("asyncoperations?$filter=relata_regardingid eq {id} and statuscode eq 31")).rows();
        assert_eq!(failed.len(), 1);
        assert!(failed[0]["message"].as_str().unwrap().contains("the probe refuses the phone 'refuse'"));

        // A step that triggers itself stops at depth 8 and says so.
        e.srv.patch(&format!("accounts({id})"), &json!({"fax": "1"})).expect(204);
        for _ in 0..20 {
            if e.runner.run_due(100).unwrap().steps() == 0 {
                break;
            }
        }
        let rows =
            e.srv.get(&format!("asyncoperations?$filter=relata_regardingid eq {id} and contains(name,'echo')")).rows();
        assert_eq!(rows.len(), 8, "one job per level: {}", rows.len());
        let last: Vec<_> = rows.iter().filter(|r| r["statuscode"] == 31).collect();
        assert_eq!(last.len(), 1);
        assert!(last[0]["message"].as_str().unwrap().contains("above the limit of 8"), "{}", last[0]["message"]);
        let fax = e.srv.retrieve("accounts", id, "?$select=fax")["fax"].as_str().unwrap().to_string();
        assert_eq!(fax, "1+++++++", "seven jobs changed the fax; the eighth was refused");
    }
}

#[test]
fn two_processes_run_each_job_exactly_once_and_take_over_a_dead_ones_job() {
    for backend in backends() {
        let e = env(backend);
        let config = OrgConfig { modules: modules(), clock: e.clock.clone(), ..OrgConfig::default() };
        let other = open_org(&e.srv, &config);
        let tag = uid();
        const JOBS: usize = 120;
        for i in 0..JOBS {
            e.enqueue(NewJob::new("jobprobe.count", format!("job {i}"), json!({"tag": tag, "sleep_ms": 2})));
        }
        let started = Instant::now();
        let workers = |org: &Arc<Org>, host: &str| {
            Runner::new(
                org.clone(),
                RunnerConfig {
                    host: host.into(),
                    workers: 2,
                    poll: StdDuration::from_millis(20),
                    ..Default::default()
                },
            )
            .start()
        };
        let a = workers(&e.org, "a");
        let b = workers(&other, "b");
        let done = "asyncoperations?$select=hostid&$filter=startswith(name,'job ') and statuscode eq 30";
        let rows = loop {
            let rows = e.srv.get(done).rows();
            if rows.len() == JOBS || started.elapsed() > StdDuration::from_secs(120) {
                break rows;
            }
            std::thread::sleep(StdDuration::from_millis(100));
        };
        drop((a, b));
        assert_eq!(rows.len(), JOBS, "{backend}: every job succeeded");
        assert_eq!(e.accounts(&format!("{tag}:")), JOBS, "{backend}: each job ran exactly once");
        let by_b = rows.iter().filter(|r| r["hostid"] == "b").count();
        eprintln!("{backend}: {JOBS} jobs in {:?}; process b ran {by_b}", started.elapsed());

        // Process a takes a job and dies before finishing it.
        let tag = uid();
        let id = e.enqueue(NewJob::new("jobprobe.count", "orphan", json!({"tag": tag})));
        let dead = Runner::new(e.org.clone(), RunnerConfig { host: "dead".into(), ..Default::default() });
        let claimed = dead.claim().unwrap().expect("a due job");
        assert_eq!(claimed.id, id);
        let survivor = Runner::new(other.clone(), RunnerConfig { host: "survivor".into(), ..Default::default() });
        assert_eq!(survivor.run_due(10).unwrap().steps(), 0, "the lease still holds");
        e.clock.advance(Duration::seconds(61));
        assert_eq!(survivor.run_due(10).unwrap().succeeded, 1, "taken over after the lease expired");
        // The first process comes back and tries to finish: refused.
        assert_eq!(dead.run_claimed(&claimed).unwrap().lost, 1);
        assert_eq!(e.accounts(&format!("{tag}:")), 1);
        let j = e.job(id);
        assert_eq!((state(&j), j["hostid"].as_str(), j["retrycount"].as_i64()), ((3, 30), Some("survivor"), Some(1)));
    }
}

#[test]
fn the_job_benchmark_reports_throughput_and_delay() {
    for backend in backends() {
        let mut args = vec!["bench".to_string(), "--jobs".into(), "200".into()];
        if backend == "postgres" {
            args.push("--database-url".into());
            args.push(std::env::var("RELATA_TEST_POSTGRES_URL").unwrap());
        }
        let out = common::run_cli(&args);
        let line = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_string();
        let figures: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!((figures["backend"].as_str(), figures["jobs"].as_u64()), (Some(backend), Some(200)), "{figures}");
        assert!(figures["jobs_per_second"].as_f64().unwrap() > 0.0, "{figures}");
        assert!(figures["due_to_start_ms"]["max"].as_u64().is_some(), "{figures}");
    }
    let refused = std::process::Command::new(common::relata_bin()).args(["bench", "--jobs", "0"]).output().unwrap();
    assert!(!refused.status.success());
}

/// Two `relata serve` processes share the job queue of one database; the
/// one holding a bulk delete's job is killed with SIGKILL in the middle of
/// the work. The survivor takes the job over when its lease expires and
/// finishes it: every record is deleted exactly once (the counts add up
/// to the records created, with no failure from a step run twice).
#[test]
fn a_server_killed_mid_job_loses_nothing_and_runs_nothing_twice() {
    for backend in backends() {
        let env = [("RELATA_JOB_LEASE_SECONDS", "3"), ("RELATA_JOB_WORKERS", "1")];
        let nodes = common::start_nodes(backend, 2, &env);
        let tag = uid();
        const GROUPS: usize = 4;
        const PER_GROUP: usize = 300;
        for g in 0..GROUPS {
            for chunk in 0..PER_GROUP / 100 {
                // A change set of 100 creates: one transaction.
                let creates = (0..100)
                    .map(|i| {
                        let name = format!("kill {tag} g{g} {}", chunk * 100 + i);
                        common::BatchReq::new("POST", "accounts", Some(json!({ "name": name })))
                    })
                    .collect();
                let (ct, body) = common::batch_body(&[common::Part::ChangeSet(creates)]);
                let r =
                    nodes[0].send(nodes[0].req(reqwest::Method::POST, "$batch").header("content-type", ct).body(body));
                r.expect(200);
            }
        }
        let count = |srv: &Srv| {
            let q = format!("accounts?$select=name&$filter=startswith(name,'kill {tag} ')");
            srv.get(&q).expect(200).rows().len()
        };
        assert_eq!(count(&nodes[0]), GROUPS * PER_GROUP, "{backend}: the accounts were created");

        let mut jobs = Vec::new();
        for g in 0..GROUPS {
            let query = json!({"EntityName": "account", "Criteria": {"Conditions": [{"AttributeName": "name",
                "Operator": "BeginsWith", "Values": [{"Type": "System.String", "Value": format!("kill {tag} g{g} ")}]}]}});
            let r =
                nodes[g % 2].post("BulkDelete", &json!({"QuerySet": [query], "JobName": format!("kill {tag} {g}")}));
            r.expect(200);
            jobs.push(Uuid::parse_str(r.json()["JobId"].as_str().unwrap()).unwrap());
        }

        // Find a process in the middle of a job, and kill it.
        let deadline = Instant::now() + StdDuration::from_secs(60);
        let (victim_job, victim_pid) = loop {
            assert!(Instant::now() < deadline, "{backend}: no job was seen running");
            let running = nodes[0]
                .get("asyncoperations?$select=hostid,statecode&$filter=operationtype eq 13 and statecode eq 2")
                .expect(200)
                .rows();
            if let Some(j) = running.first() {
                let host = j["hostid"].as_str().unwrap_or_default();
                let pid: i32 = host.split(':').nth(1).and_then(|p| p.parse().ok()).expect("hostid names the process");
                let id = Uuid::parse_str(j["asyncoperationid"].as_str().unwrap()).unwrap();
                break (id, pid);
            }
            std::thread::sleep(StdDuration::from_millis(5));
        };
        let killed = std::process::Command::new("kill").args(["-9", &victim_pid.to_string()]).status().unwrap();
        assert!(killed.success(), "{backend}: kill -9 {victim_pid}");
        let client = reqwest::blocking::Client::builder().timeout(StdDuration::from_secs(2)).build().unwrap();
        std::thread::sleep(StdDuration::from_millis(200));
        let alive: Vec<&Srv> =
            nodes.iter().filter(|n| client.get(format!("{}/health", n.base_url)).send().is_ok()).collect();
        assert_eq!(alive.len(), 1, "{backend}: one node is down, one up");
        let survivor = alive[0];

        // The survivor finishes every job, the victim's after its lease ran out.
        let deadline = Instant::now() + StdDuration::from_secs(90);
        loop {
            let done = jobs.iter().filter(|j| survivor.retrieve("asyncoperations", **j, "")["statecode"] == 3).count();
            if done == jobs.len() {
                break;
            }
            assert!(Instant::now() < deadline, "{backend}: {done} of {} jobs finished after the kill", jobs.len());
            std::thread::sleep(StdDuration::from_millis(200));
        }
        assert_eq!(count(survivor), 0, "{backend}: every account was deleted");
        let (mut deleted, mut failed) = (0, 0);
        for j in &jobs {
            let job = survivor.retrieve("asyncoperations", *j, "");
            assert_eq!(job["statuscode"], 30, "{backend}: {job}");
            let ops = survivor.get(&format!("bulkdeleteoperations?$filter=_asyncoperationid_value eq {j}")).rows();
            deleted += ops[0]["successcount"].as_i64().unwrap();
            failed += ops[0]["failurecount"].as_i64().unwrap();
        }
        assert_eq!((deleted, failed), ((GROUPS * PER_GROUP) as i64, 0), "{backend}: each record deleted exactly once");
        let taken = survivor.retrieve("asyncoperations", victim_job, "");
        assert!(taken["retrycount"].as_i64().unwrap() >= 1, "{backend}: the victim's job was taken over: {taken}");
        assert!(!taken["hostid"].as_str().unwrap().contains(&format!(":{victim_pid}:")), "{backend}: {taken}");
    }
}
