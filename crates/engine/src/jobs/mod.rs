//! Background jobs: Dataverse's system jobs (`asyncoperation`).
//!
//! A module registers job kinds ([`JobKind`]) and recurring jobs
//! ([`RecurringJob`]); a write enqueues a job in its own transaction
//! ([`Session::enqueue`]), so a job exists exactly when the write that
//! asked for it committed. The [`Runner`] takes due jobs by lease and runs
//! them; see `runner.rs` for how a job runs exactly once across processes.
//!
//! States follow Dataverse: Ready / Waiting For Resources (due now),
//! Suspended / Waiting (due later: scheduled, retrying after a back-off, or
//! recurring), Locked / In Progress or Canceling (a process holds it),
//! Completed / Succeeded, Failed or Canceled.

mod asyncstep;
mod control;
mod maintenance;
pub mod recurrence;
mod runner;
pub mod values;

use chrono::{DateTime, Utc};
use relata_metadata::{EntityRef, Value};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::session::Session;

pub(crate) use asyncstep::enqueue as enqueue_step;
pub(crate) use control::check_job_change;
pub use runner::{backoff, Claimed, RunReport, Runner, RunnerConfig, RunnerHandle};

/// The job kinds and recurring jobs of the platform module.
pub(crate) fn platform_kinds() -> Vec<JobKind> {
    let mut kinds = maintenance::kinds();
    kinds.push(asyncstep::kind());
    kinds
}

pub(crate) fn platform_recurring() -> Vec<RecurringJob> {
    maintenance::recurring()
}

/// `statecode` of a job.
pub mod state {
    pub const READY: i64 = 0;
    pub const SUSPENDED: i64 = 1;
    pub const LOCKED: i64 = 2;
    pub const COMPLETED: i64 = 3;
}

/// `statuscode` of a job.
pub mod status {
    pub const WAITING_FOR_RESOURCES: i64 = 0;
    pub const WAITING: i64 = 10;
    pub const IN_PROGRESS: i64 = 20;
    pub const CANCELING: i64 = 22;
    pub const SUCCEEDED: i64 = 30;
    pub const FAILED: i64 = 31;
    pub const CANCELED: i64 = 32;
}

/// Dataverse's `operationtype` values the registered kinds use.
pub mod operation {
    pub const SYSTEM_EVENT: i32 = 1;
    pub const WORKFLOW: i32 = 10;
    pub const BULK_DELETE: i32 = 13;
    pub const DELETION_SERVICE: i32 = 14;
    pub const DATABASE_STATISTICS: i32 = 19;
    pub const DATABASE_LOG: i32 = 26;
}

/// Deepest chain of jobs started by jobs' writes: a step that triggers
/// itself stops here instead of running forever.
pub const MAX_DEPTH: i64 = 8;

/// What a job's step reports.
#[derive(Debug, Clone, PartialEq)]
pub enum JobStep {
    /// Finished, with an optional message for the job's record.
    Done(Option<String>),
    /// More to do: the progress in [`JobContext::data`] is saved with this
    /// step's writes, and the job runs again right away (possibly in
    /// another process). Long work is cut into such steps so that no
    /// transaction holds the database for long.
    Continue,
    /// Not done, for a reason that may pass (a server that did not
    /// answer): the step's writes are kept and the job runs again after a
    /// back-off while attempts remain, and fails with this reason after
    /// the last ([`JobContext::last_attempt`] tells the step which it is).
    Retry(String),
    /// Failed for good, for this reason, keeping the step's writes (a
    /// record that says why it failed).
    Failed(String),
    /// Stopped on purpose before its end (a workflow's "stop as
    /// canceled"), keeping the step's writes.
    Canceled(String),
    /// Not done: waits, durably, until this time (a workflow's wait step),
    /// with the progress in [`JobContext::data`] saved; any process may
    /// take it up then.
    WaitUntil(DateTime<Utc>),
}

/// What a job's step is given.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub id: Uuid,
    pub name: String,
    /// The job's input and progress; changes are saved when the step
    /// succeeds.
    pub data: serde_json::Value,
    pub regarding: Option<EntityRef>,
    /// The message that raised an asynchronous step.
    pub message_name: Option<String>,
    /// How many times the job has been retried.
    pub retry_count: i64,
    pub depth: i64,
    /// The time the step runs at (the session's clock).
    pub now: DateTime<Utc>,
    /// For a recurring job, when it runs next if this step is its last.
    pub next_run: Option<DateTime<Utc>>,
    /// What the kind's [`JobKind::effect`] answered before this step.
    pub effect: Option<serde_json::Value>,
    /// Whether a [`JobStep::Retry`] of this step would fail the job.
    pub last_attempt: bool,
}

/// A job's code: one step of work in one transaction, as the job's owner.
pub type JobHandler = fn(&mut Session<'_, '_, '_>, &mut JobContext) -> Result<JobStep>;

/// A kind of job a module can enqueue.
#[derive(Clone)]
pub struct JobKind {
    /// Unique within the module; stored as `module.name`.
    pub name: &'static str,
    pub operation_type: i32,
    pub handler: JobHandler,
    /// Runs (the first and the retries) before the job is marked Failed.
    pub max_attempts: i64,
    /// Whether users may cancel and retry it (Dataverse does not let them
    /// touch platform maintenance jobs).
    pub user_controllable: bool,
    /// Told of every state the job is moved to outside its handler
    /// (finished, failed, retried, canceled), in the same transaction, so
    /// that a record mirroring the job stays true.
    pub on_state: Option<JobStateFn>,
    /// Runs before each step, outside its transaction, for slow work that
    /// writes nothing (parsing a file the step then reads from a cache),
    /// so that the step holds the database only for its writes. Best
    /// effort: the step must cope with it not having run.
    pub prepare: Option<JobPrepareFn>,
    /// Work with an effect outside the database (sending a message), done
    /// before each step outside its transaction, so that a slow server
    /// never holds the database; its answer reaches the step in
    /// [`JobContext::effect`], which records it. A process that stops
    /// between the two runs the job again, effect included: such a job is
    /// at least once, and says so.
    pub effect: Option<JobEffectFn>,
    /// Filled in by the registry.
    pub module: &'static str,
}

/// A job's new state, as [`JobKind::on_state`] is told it.
#[derive(Debug, Clone)]
pub struct JobState {
    pub job: Uuid,
    pub statecode: i64,
    pub statuscode: i64,
    /// When it runs next, if it waits.
    pub due: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    /// The job's message (why it failed, when it did).
    pub message: Option<String>,
}

pub type JobStateFn = fn(&mut relata_store::Tx<'_>, &JobState) -> Result<()>;

/// See [`JobKind::prepare`]: the organization, the job's id and its data.
pub type JobPrepareFn = fn(&crate::org::Org, Uuid, &serde_json::Value);

/// See [`JobKind::effect`]: the organization, the job's owner and its data.
pub type JobEffectFn = fn(&crate::org::Org, Uuid, &serde_json::Value) -> serde_json::Value;

impl JobKind {
    pub fn new(name: &'static str, operation_type: i32, handler: JobHandler) -> JobKind {
        JobKind {
            name,
            operation_type,
            handler,
            max_attempts: 5,
            user_controllable: true,
            on_state: None,
            prepare: None,
            effect: None,
            module: "",
        }
    }

    pub fn prepare(mut self, f: JobPrepareFn) -> JobKind {
        self.prepare = Some(f);
        self
    }

    pub fn effect(mut self, f: JobEffectFn) -> JobKind {
        self.effect = Some(f);
        self
    }

    pub fn on_state(mut self, f: JobStateFn) -> JobKind {
        self.on_state = Some(f);
        self
    }

    pub fn attempts(mut self, n: i64) -> JobKind {
        self.max_attempts = n.max(1);
        self
    }

    /// A platform job: users see it but cannot cancel or retry it.
    pub fn platform_only(mut self) -> JobKind {
        self.user_controllable = false;
        self
    }

    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// A job every organization keeps scheduled (maintenance, by default).
#[derive(Debug, Clone)]
pub struct RecurringJob {
    /// The kind, `module.name`.
    pub kind: &'static str,
    pub name: &'static str,
    /// An RRULE as [`recurrence`] reads it.
    pub pattern: &'static str,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The kind, `module.name`.
    pub kind: String,
    pub name: String,
    pub data: serde_json::Value,
    /// Not before this time (now when `None`).
    pub due: Option<DateTime<Utc>>,
    /// Runs again after each run, as this RRULE says.
    pub recurrence: Option<String>,
    pub regarding: Option<EntityRef>,
    pub message_name: Option<String>,
    /// The owner the job runs as; the session's user when `None`.
    pub owner: Option<Uuid>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, name: impl Into<String>, data: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.into(),
            name: name.into(),
            data,
            due: None,
            recurrence: None,
            regarding: None,
            message_name: None,
            owner: None,
        }
    }
}

impl Session<'_, '_, '_> {
    /// Adds a job in this transaction: it runs only if the transaction
    /// commits. Returns the job's id.
    pub fn enqueue(&mut self, job: NewJob) -> Result<Uuid> {
        let kind = self
            .org
            .modules()
            .job_kind(&job.kind)
            .ok_or_else(|| EngineError::Invalid(format!("no module registers a job kind '{}'", job.kind)))?;
        // A job enqueued by a request is 1 deep; one enqueued by a job's
        // step is one deeper than that job.
        let depth = self.job_depth + 1;
        if depth > MAX_DEPTH {
            return Err(EngineError::Invalid(format!(
                "'{}' was not started: jobs started by jobs are {depth} deep, above the limit of {MAX_DEPTH} \
                 (a step or workflow that triggers itself?)",
                job.name
            )));
        }
        let now = self.now;
        let recurrence = match &job.recurrence {
            Some(p) => Some(recurrence::Rule::parse(p)?),
            None => None,
        };
        let due = job.due.unwrap_or(now);
        let (statecode, statuscode) =
            if due > now { (state::SUSPENDED, status::WAITING) } else { (state::READY, status::WAITING_FOR_RESOURCES) };
        let id = Uuid::now_v7();
        let owner = job.owner.unwrap_or(self.principal.user_id);
        let text = |s: &str| Value::String(s.to_string());
        let mut fields: Vec<(&str, Value)> = vec![
            ("name", text(&truncate(&job.name, 256))),
            ("operationtype", Value::Int(kind.operation_type.into())),
            ("relata_jobtype", text(&job.kind)),
            ("data", text(&job.data.to_string())),
            ("postponeuntil", Value::DateTime(due)),
            ("retrycount", Value::Int(0)),
            ("depth", Value::Int(depth)),
            ("statecode", Value::Int(statecode)),
            ("statuscode", Value::Int(statuscode)),
        ];
        if let (Some(_), Some(p)) = (&recurrence, &job.recurrence) {
            fields.push(("recurrencepattern", text(p)));
            fields.push(("recurrencestarttime", Value::DateTime(due)));
        }
        if let Some(r) = &job.regarding {
            fields.push(("primaryentitytype", text(&r.entity)));
            fields.push(("relata_regardingid", Value::Uuid(r.id)));
        }
        if let Some(m) = &job.message_name {
            fields.push(("messagename", text(m)));
        }
        let bu = self.business_unit_of(&EntityRef { entity: "systemuser".into(), id: owner })?;
        fields.push(("ownerid", Value::Ref(EntityRef { entity: "systemuser".into(), id: owner })));
        fields.push(("owningbusinessunit", Value::Ref(EntityRef { entity: "businessunit".into(), id: bu })));
        let schema = self.schema.clone();
        crate::seed::insert_at(self.tx, &schema, "asyncoperation", id, self.principal.user_id, now, fields)?;
        self.org.jobs_enqueued();
        Ok(id)
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
