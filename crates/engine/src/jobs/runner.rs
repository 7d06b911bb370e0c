//! Runs due jobs, exactly once across every process sharing the database.
//!
//! A job is taken by a **lease**: one statement moves it to Locked / In
//! Progress, writes this process's host id, a fresh lease id and when the
//! lease expires, and commits. Each step then runs in one transaction that
//! first re-locks the job row *with that lease id* and ends by writing the
//! job's new state, so the step's writes and its record of having run
//! commit together or not at all:
//! - a process killed mid-step loses its transaction; when the lease
//!   expires another process takes the job over and runs the step again,
//!   which is safe because the first run left nothing behind;
//! - a process that stalls past its lease finds the lease id changed when it
//!   tries to finish, and rolls back;
//! - on PostgreSQL the row lock held for the step makes other processes skip
//!   the job (`FOR UPDATE SKIP LOCKED`) while it runs; on SQLite the single
//!   writer serializes the same statements.
//!
//! Jobs that were due while no process ran are simply due: the first
//! process to start takes them (catch-up); a recurring job then runs once
//! and is scheduled for its next occurrence after now.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use relata_metadata::{EntityRef, Value};
use relata_store::{Backend, Param, Storage, StoreError, Tx};
use uuid::Uuid;

use super::recurrence::Rule;
use super::{state, status, JobContext, JobState, JobStateFn, JobStep};
use crate::error::{EngineError, Result};
use crate::org::Org;
use crate::platform::notifications::Notification;
use crate::session::Session;

/// How a process runs jobs.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Shown in `hostid`: which process holds a job.
    pub host: String,
    /// Threads taking jobs (SQLite has one writer: one is enough there).
    pub workers: usize,
    /// How often to look for due jobs when nothing wakes the runner.
    pub poll: std::time::Duration,
    /// How long a taken job stays with this process without finishing a
    /// step before another process may take it over.
    pub lease: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "relata".into());
        RunnerConfig {
            host: format!("{host}:{}:{}", std::process::id(), &Uuid::new_v4().simple().to_string()[..8]),
            workers: 1,
            poll: std::time::Duration::from_secs(1),
            lease: Duration::seconds(60),
        }
    }
}

/// What [`Runner::run_due`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub succeeded: usize,
    /// Steps that asked to continue.
    pub continued: usize,
    /// Errors that will be retried after a back-off.
    pub retried: usize,
    pub failed: usize,
    pub canceled: usize,
    /// Jobs whose lease another process took before this one finished.
    pub lost: usize,
}

impl RunReport {
    pub fn steps(&self) -> usize {
        self.succeeded + self.continued + self.retried + self.failed + self.canceled + self.lost
    }
}

/// A job this process holds the lease of.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub owner: Uuid,
    pub lease: Uuid,
    data: String,
    retry_count: i64,
    depth: i64,
    pattern: Option<String>,
    recurrence_start: Option<DateTime<Utc>>,
    regarding: Option<EntityRef>,
    message_name: Option<String>,
}

enum StepError {
    /// Another process holds the job now.
    Lost,
    Failed {
        message: String,
        retry: bool,
    },
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        StepError::from(EngineError::from(e))
    }
}

impl From<EngineError> for StepError {
    fn from(e: EngineError) -> Self {
        // The database's own trouble may pass; a refusal of the job's
        // input or rights will not, and is reported at once.
        let retry = matches!(e, EngineError::Store(_) | EngineError::Unavailable(_));
        StepError::Failed { message: e.to_string(), retry }
    }
}

/// What a step asked for, as far as counting it goes.
enum StepKind {
    Wait,
    Other,
}

enum Finished {
    Succeeded,
    Continued,
    Canceled,
    Retried,
    Failed,
}

pub struct Runner {
    org: Arc<Org>,
    config: RunnerConfig,
}

/// Stops the runner's threads when dropped (after their current step).
pub struct RunnerHandle {
    stop: Arc<AtomicBool>,
    org: Arc<Org>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for RunnerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.org.jobs_enqueued();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Wait before retry `n` (1-based): 30 s doubling, at most an hour.
pub fn backoff(n: i64) -> Duration {
    let shift = (n - 1).clamp(0, 7) as u32;
    Duration::seconds((30i64 << shift).min(3600))
}

impl Runner {
    pub fn new(org: Arc<Org>, config: RunnerConfig) -> Runner {
        Runner { org, config }
    }

    /// Starts the worker threads.
    pub fn start(self) -> RunnerHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let org = self.org.clone();
        let workers = self.config.workers.max(1);
        let runner = Arc::new(self);
        let threads = (0..workers)
            .map(|i| {
                let (runner, stop) = (runner.clone(), stop.clone());
                std::thread::Builder::new()
                    .name(format!("relata-jobs-{i}"))
                    .spawn(move || runner.work(&stop))
                    .expect("spawn a job worker thread")
            })
            .collect();
        RunnerHandle { stop, org, threads }
    }

    fn work(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            match self.run_due(50) {
                Ok(r) if r.steps() > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot take due jobs; trying again"),
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
            self.org.wait_for_jobs(self.config.poll);
        }
    }

    /// Runs due jobs until none is due or `limit` steps ran.
    pub fn run_due(&self, limit: usize) -> Result<RunReport> {
        let mut report = RunReport::default();
        while report.steps() < limit {
            let Some(job) = self.claim()? else { break };
            self.run_into(&job, &mut report)?;
        }
        Ok(report)
    }

    /// Runs one step of a job [`Runner::claim`] took.
    pub fn run_claimed(&self, job: &Claimed) -> Result<RunReport> {
        let mut report = RunReport::default();
        self.run_into(job, &mut report)?;
        Ok(report)
    }

    fn run_into(&self, job: &Claimed, report: &mut RunReport) -> Result<()> {
        {
            match self.step(job) {
                Ok(Finished::Succeeded) => report.succeeded += 1,
                Ok(Finished::Continued) => report.continued += 1,
                Ok(Finished::Canceled) => report.canceled += 1,
                Ok(Finished::Retried) => report.retried += 1,
                Ok(Finished::Failed) => report.failed += 1,
                Err(StepError::Lost) => {
                    tracing::warn!(job = %job.id, "another process took the job over before this one finished");
                    report.lost += 1;
                }
                Err(StepError::Failed { message, retry }) => match self.record_failure(job, &message, retry)? {
                    Some(true) => report.retried += 1,
                    Some(false) => report.failed += 1,
                    None => report.lost += 1,
                },
            }
        }
        Ok(())
    }

    /// Takes the next due job (or one whose holder's lease ran out).
    pub fn claim(&self) -> Result<Option<Claimed>> {
        let now = self.org.now();
        let lease = Uuid::new_v4();
        // An idle runner polls every second: it looks on a reader first, so
        // that polling takes no write transaction while nothing is due.
        // Each way a job is due is its own indexed lookup (by state, then
        // time): an OR of the two would read the whole table, which is
        // mostly completed jobs.
        const DUE: &str = "statecode IN (0, 1) AND postponeuntil <= $1";
        const LEASE_LOST: &str = "statecode = 2 AND relata_leaseexpireson < $1";
        let due = self.org.db().read(|tx| -> Result<bool> {
            for pick in [DUE, LEASE_LOST] {
                let sql = format!("SELECT 1 FROM asyncoperation WHERE {pick} LIMIT 1");
                if tx.query_one(&sql, &[ts(now)], &[Storage::Int])?.is_some() {
                    return Ok(true);
                }
            }
            Ok(false)
        })?;
        if !due {
            return Ok(None);
        }
        self.org.db().write(|tx| -> Result<Option<Claimed>> {
            let skip_locked = if tx.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
            let version = tx.next_counter("rowversion")?;
            let mut taken = None;
            for pick in [DUE, LEASE_LOST] {
                let pick = pick.replace("$1", "$4");
                let sql = format!(
                    "UPDATE asyncoperation SET statecode = 2,
                        statuscode = CASE WHEN statuscode = 22 THEN 22 ELSE 20 END,
                        retrycount = COALESCE(retrycount, 0) + CASE WHEN statecode = 2 THEN 1 ELSE 0 END,
                        hostid = $1, relata_leaseid = $2, relata_leaseexpireson = $3,
                        startedon = COALESCE(startedon, $4), modifiedon = $4, versionnumber = $5
                     WHERE asyncoperationid = (
                        SELECT asyncoperationid FROM asyncoperation WHERE {pick}
                        ORDER BY postponeuntil LIMIT 1{skip_locked})
                     RETURNING asyncoperationid, relata_jobtype, name, ownerid, data, retrycount, depth,
                        recurrencepattern, recurrencestarttime, primaryentitytype, relata_regardingid, messagename"
                );
                let rows = tx.query(
                    &sql,
                    &[
                        Param::text(&self.config.host),
                        Param::uuid(lease),
                        ts(now + self.config.lease),
                        ts(now),
                        Param::bigint(version),
                    ],
                    &[
                        Storage::Uuid,
                        Storage::Text,
                        Storage::Text,
                        Storage::Uuid,
                        Storage::Text,
                        Storage::Int,
                        Storage::Int,
                        Storage::Text,
                        Storage::Timestamp,
                        Storage::Text,
                        Storage::Uuid,
                        Storage::Text,
                    ],
                )?;
                if let Some(r) = rows.into_iter().next() {
                    taken = Some(r);
                    break;
                }
            }
            let Some(r) = taken else { return Ok(None) };
            let text = |v: &Value| v.as_str().map(str::to_string);
            let regarding = match (text(&r[9]), r[10].as_uuid()) {
                (Some(entity), Some(id)) => Some(EntityRef { entity, id }),
                _ => None,
            };
            Ok(Some(Claimed {
                id: r[0].as_uuid().unwrap_or_default(),
                kind: text(&r[1]).unwrap_or_default(),
                name: text(&r[2]).unwrap_or_default(),
                owner: r[3].as_uuid().unwrap_or(self.org.ids.system_user),
                lease,
                data: text(&r[4]).unwrap_or_else(|| "null".into()),
                retry_count: r[5].as_i64().unwrap_or(0),
                depth: r[6].as_i64().unwrap_or(0),
                pattern: text(&r[7]),
                recurrence_start: r[8].as_datetime(),
                regarding,
                message_name: text(&r[11]),
            }))
        })
    }

    /// Runs one step of a job this process holds, and records its outcome
    /// in the same transaction.
    fn step(&self, job: &Claimed) -> std::result::Result<Finished, StepError> {
        let org = &self.org;
        let started = Instant::now();
        let hook = org.modules().job_kind(&job.kind).and_then(|k| k.on_state);
        if let Some(prepare) = org.modules().job_kind(&job.kind).and_then(|k| k.prepare) {
            let data = serde_json::from_str(&job.data).unwrap_or(serde_json::Value::Null);
            // A panic here is the step's to meet again, inside its guard.
            let _ = catch_unwind(AssertUnwindSafe(|| prepare(org, job.id, &data)));
        }
        // An outside effect runs before the transaction that records it, so
        // that a slow server never holds the database.
        let effect = org.modules().job_kind(&job.kind).and_then(|k| k.effect).map(|effect| {
            let data = serde_json::from_str(&job.data).unwrap_or(serde_json::Value::Null);
            catch_unwind(AssertUnwindSafe(|| effect(org, job.owner, &data))).unwrap_or_else(|_| {
                tracing::error!(job = %job.id, kind = %job.kind, "a job's effect panicked");
                serde_json::json!({"error": "the job's effect stopped unexpectedly", "transient": true})
            })
        });
        org.write_as(job.owner, |s| -> std::result::Result<Finished, StepError> {
            s.job_depth = job.depth;
            let now = s.now;
            let held = s.tx.query(
                "UPDATE asyncoperation SET relata_leaseexpireson = $1
                 WHERE asyncoperationid = $2 AND relata_leaseid = $3 AND statecode = 2
                 RETURNING statuscode, retrycount",
                &[ts(now + self.config.lease), Param::uuid(job.id), Param::uuid(job.lease)],
                &[Storage::Int, Storage::Int],
            )?;
            let Some(held) = held.into_iter().next() else { return Err(StepError::Lost) };
            if held[0].as_i64() == Some(status::CANCELING) {
                finish(s.tx, job, now, Outcome::canceled(started), hook)?;
                return Ok(Finished::Canceled);
            }
            let kind = org.modules().job_kind(&job.kind).ok_or_else(|| StepError::Failed {
                message: format!("no module registers the job kind '{}' (was its module removed?)", job.kind),
                retry: false,
            })?;
            let retry_count = held[1].as_i64().unwrap_or(job.retry_count);
            if retry_count >= kind.max_attempts {
                return Err(StepError::Failed {
                    message: format!("the job was started {retry_count} times without finishing"),
                    retry: false,
                });
            }
            let mut ctx = JobContext {
                id: job.id,
                name: job.name.clone(),
                data: serde_json::from_str(&job.data).unwrap_or(serde_json::Value::Null),
                regarding: job.regarding.clone(),
                message_name: job.message_name.clone(),
                retry_count,
                depth: job.depth,
                now,
                next_run: next_occurrence(job, now),
                effect: effect.clone(),
                last_attempt: retry_count + 1 >= kind.max_attempts,
            };
            let step = match catch_unwind(AssertUnwindSafe(|| (kind.handler)(s, &mut ctx))) {
                Ok(Ok(step)) => step,
                Ok(Err(e)) => return Err(e.into()),
                Err(payload) => {
                    let what = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no detail".into());
                    tracing::error!(job = %job.id, kind = %job.kind, panic = %what, "a job's step panicked");
                    return Err(StepError::Failed {
                        message: "the job's step stopped unexpectedly".into(),
                        retry: true,
                    });
                }
            };
            let data = ctx.data.to_string();
            let max = kind.max_attempts;
            let step_kind = if matches!(step, JobStep::WaitUntil(_)) { StepKind::Wait } else { StepKind::Other };
            let outcome = match step {
                JobStep::Retry(why) if retry_count + 1 < max => Outcome {
                    state: (state::SUSPENDED, status::WAITING),
                    message: Some(format!("{}: {why} (attempt {} of {max}; retrying)", job.name, retry_count + 1)),
                    data: Some(data),
                    due: Some(now + backoff(retry_count + 1)),
                    completed: false,
                    seconds: started.elapsed().as_secs_f64(),
                },
                JobStep::Retry(why) | JobStep::Failed(why) => match next_occurrence(job, now) {
                    // A recurring job fails this run, not its schedule.
                    Some(next) => Outcome {
                        state: (state::SUSPENDED, status::WAITING),
                        message: Some(format!(
                            "{}: {why} (the last run failed; it runs again at its next occurrence)",
                            job.name
                        )),
                        data: Some(data),
                        due: Some(next),
                        completed: true,
                        seconds: started.elapsed().as_secs_f64(),
                    },
                    None => Outcome {
                        state: (state::COMPLETED, status::FAILED),
                        message: Some(format!("{}: {why}", job.name)),
                        data: Some(data),
                        due: None,
                        completed: true,
                        seconds: started.elapsed().as_secs_f64(),
                    },
                },
                JobStep::Canceled(why) => Outcome {
                    state: (state::COMPLETED, status::CANCELED),
                    message: Some(format!("{}: {why}", job.name)),
                    data: Some(data),
                    due: None,
                    completed: true,
                    seconds: started.elapsed().as_secs_f64(),
                },
                JobStep::WaitUntil(at) => Outcome {
                    state: (state::SUSPENDED, status::WAITING),
                    message: None,
                    data: Some(data),
                    due: Some(at.max(now)),
                    completed: false,
                    seconds: started.elapsed().as_secs_f64(),
                },
                JobStep::Continue => Outcome {
                    state: (state::READY, status::WAITING_FOR_RESOURCES),
                    message: None,
                    data: Some(data),
                    due: Some(now),
                    completed: false,
                    seconds: started.elapsed().as_secs_f64(),
                },
                JobStep::Done(message) => match next_occurrence(job, now) {
                    Some(next) => Outcome {
                        state: (state::SUSPENDED, status::WAITING),
                        message,
                        data: Some(data),
                        due: Some(next),
                        completed: true,
                        seconds: started.elapsed().as_secs_f64(),
                    },
                    None => Outcome {
                        state: (state::COMPLETED, status::SUCCEEDED),
                        message,
                        data: Some(data),
                        due: None,
                        completed: true,
                        seconds: started.elapsed().as_secs_f64(),
                    },
                },
            };
            let continued = outcome.state.0 == state::READY;
            let waits = matches!(step_kind, StepKind::Wait);
            let retried = outcome.state.0 == state::SUSPENDED && !outcome.completed && !waits;
            let failed = outcome.state.1 == status::FAILED;
            let told = failed.then(|| outcome.message.clone()).flatten();
            finish(s.tx, job, now, outcome, hook)?;
            if let Some(message) = told {
                tell_owner(s, job, &message)?;
            }
            if retried {
                s.tx.execute(
                    "UPDATE asyncoperation SET retrycount = retrycount + 1 WHERE asyncoperationid = $1",
                    &[Param::uuid(job.id)],
                )?;
                return Ok(Finished::Retried);
            }
            Ok(if continued || waits {
                Finished::Continued
            } else if failed {
                Finished::Failed
            } else {
                Finished::Succeeded
            })
        })
    }

    /// Records a failed step: retried after a back-off while attempts are
    /// left, else Failed (a recurring job waits for its next occurrence).
    /// `None` when the lease was lost meanwhile.
    fn record_failure(&self, job: &Claimed, message: &str, retry: bool) -> Result<Option<bool>> {
        let now = self.org.now();
        let kind = self.org.modules().job_kind(&job.kind);
        let max = kind.map(|k| k.max_attempts).unwrap_or(1);
        let hook = kind.and_then(|k| k.on_state);
        let system = self.org.ids.system_user;
        self.org.write_as(system, |s| -> Result<Option<bool>> {
            let tx = &mut *s.tx;
            let row = tx.query_one(
                "SELECT retrycount, statuscode FROM asyncoperation
                 WHERE asyncoperationid = $1 AND relata_leaseid = $2 AND statecode = 2",
                &[Param::uuid(job.id), Param::uuid(job.lease)],
                &[Storage::Int, Storage::Int],
            )?;
            let Some(row) = row else { return Ok(None) };
            let retries = row[0].as_i64().unwrap_or(0);
            if row[1].as_i64() == Some(status::CANCELING) {
                finish(tx, job, now, Outcome::canceled(Instant::now()), hook)?;
                return Ok(Some(false));
            }
            let text = format!("{}: {message}", job.name);
            let will_retry = retry && retries + 1 < max;
            let outcome = if will_retry {
                Outcome {
                    state: (state::SUSPENDED, status::WAITING),
                    message: Some(format!("{text} (attempt {} of {max}; retrying)", retries + 1)),
                    data: None,
                    due: Some(now + backoff(retries + 1)),
                    completed: false,
                    seconds: 0.0,
                }
            } else if let Some(next) = next_occurrence(job, now) {
                Outcome {
                    state: (state::SUSPENDED, status::WAITING),
                    message: Some(format!("{text} (the last run failed; it runs again at its next occurrence)")),
                    data: None,
                    due: Some(next),
                    completed: true,
                    seconds: 0.0,
                }
            } else {
                Outcome {
                    state: (state::COMPLETED, status::FAILED),
                    message: Some(text),
                    data: None,
                    due: None,
                    completed: true,
                    seconds: 0.0,
                }
            };
            let told = (outcome.state.1 == status::FAILED).then(|| outcome.message.clone()).flatten();
            finish(tx, job, now, outcome, hook)?;
            if let Some(message) = told {
                tell_owner(s, job, &message)?;
            }
            let tx = &mut *s.tx;
            if will_retry {
                tx.execute(
                    "UPDATE asyncoperation SET retrycount = retrycount + 1 WHERE asyncoperationid = $1",
                    &[Param::uuid(job.id)],
                )?;
            }
            tracing::warn!(job = %job.id, kind = %job.kind, error = %message, will_retry, "a job's step failed");
            Ok(Some(will_retry))
        })
    }
}

struct Outcome {
    state: (i64, i64),
    message: Option<String>,
    data: Option<String>,
    due: Option<DateTime<Utc>>,
    completed: bool,
    seconds: f64,
}

impl Outcome {
    fn canceled(started: Instant) -> Outcome {
        Outcome {
            state: (state::COMPLETED, status::CANCELED),
            message: Some("Canceled by a user.".into()),
            data: None,
            due: None,
            completed: true,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

fn ts(t: DateTime<Utc>) -> Param {
    Param::new(Value::DateTime(t), Storage::Timestamp)
}

fn opt_text(t: Option<String>) -> Param {
    Param::new(t.map(Value::String).unwrap_or(Value::Null), Storage::Text)
}

fn next_occurrence(job: &Claimed, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let rule = Rule::parse(job.pattern.as_deref()?).ok()?;
    Some(rule.next_after(job.recurrence_start.unwrap_or(now), now))
}

/// A job that failed for good tells its owner.
fn tell_owner(s: &mut Session<'_, '_, '_>, job: &Claimed, message: &str) -> Result<()> {
    let mut n = Notification::new(job.owner, format!("System job failed: {}", job.name));
    n.icon = crate::platform::notifications::icon::FAILURE;
    n.body = Some(message.to_string());
    n.regarding = Some(EntityRef { entity: "asyncoperation".into(), id: job.id });
    s.notify(n).map(|_| ())
}

/// Writes a job's state after a step and gives up the lease.
fn finish(tx: &mut Tx<'_>, job: &Claimed, now: DateTime<Utc>, o: Outcome, hook: Option<JobStateFn>) -> Result<()> {
    let tell = JobState {
        job: job.id,
        statecode: o.state.0,
        statuscode: o.state.1,
        due: o.due,
        now,
        message: o.message.clone(),
    };
    let version = tx.next_counter("rowversion")?;
    let n = tx.execute(
        "UPDATE asyncoperation SET statecode = $1, statuscode = $2, message = COALESCE($3, message),
            data = COALESCE($4, data), postponeuntil = COALESCE($5, postponeuntil),
            completedon = CASE WHEN $6 THEN $7 ELSE completedon END,
            executiontimespan = COALESCE(executiontimespan, 0) + $8,
            relata_leaseid = NULL, relata_leaseexpireson = NULL, modifiedon = $7, versionnumber = $9
         WHERE asyncoperationid = $10 AND relata_leaseid = $11",
        &[
            Param::int(o.state.0),
            Param::int(o.state.1),
            opt_text(o.message.map(|m| m.chars().take(10_000).collect())),
            opt_text(o.data),
            Param::new(o.due.map(Value::DateTime).unwrap_or(Value::Null), Storage::Timestamp),
            Param::new(Value::Bool(o.completed), Storage::Bool),
            ts(now),
            Param::new(Value::Double(o.seconds), Storage::Double),
            Param::bigint(version),
            Param::uuid(job.id),
            Param::uuid(job.lease),
        ],
    )?;
    if n == 0 {
        return Err(EngineError::Store(StoreError::Other(format!("job {} is no longer held by this process", job.id))));
    }
    match hook {
        Some(f) => f(tx, &tell),
        None => Ok(()),
    }
}
