//! Workflows on a schedule (`relata_schedule`, an RRULE such as
//! `FREQ=DAILY` or `FREQ=WEEKLY;BYDAY=MO`, from `relata_schedulestart`,
//! which gives the time of day): while the workflow is activated, a
//! recurring system job goes through the records of its entity, a page per
//! step, and starts a run for each record that meets its condition.

use relata_metadata::{EntityRef, Value};
use serde_json::{json, Value as Json};

use super::eval::{self, Subject};
use super::run;
use crate::error::{EngineError, Result};
use crate::jobs::{state, status, JobContext, JobStep, NewJob};
use crate::modules::StepContext;
use crate::session::{Fields, Session};

pub(super) const SCHEDULE_JOB: &str = "processes.schedule";
/// Records looked at per step.
const PAGE: usize = 200;

/// After a workflow is saved: its schedule job follows its state and
/// pattern (replaced when either changes).
pub(super) fn keep(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    if ctx.value("category").and_then(Value::as_i64) != Some(0) {
        return Ok(());
    }
    let id = ctx.id;
    let waiting = s.query_system(
        "asyncoperation",
        &format!("$select=asyncoperationid&$filter=relata_jobtype eq '{SCHEDULE_JOB}' and relata_regardingid eq {id} and statecode ne 3"),
    )?;
    for job in waiting {
        let Some(job) = job.get("asyncoperationid").and_then(Value::as_uuid) else { continue };
        let mut changes = Fields::new();
        changes.insert("statecode".into(), Value::Int(state::COMPLETED));
        changes.insert("statuscode".into(), Value::Int(status::CANCELED));
        changes
            .insert("message".into(), Value::String("The workflow's schedule changed or it was deactivated.".into()));
        s.system_update("asyncoperation", job, changes)?;
    }
    let active = ctx.value("statecode").and_then(Value::as_i64) == Some(1);
    let pattern = ctx.value("relata_schedule").and_then(Value::as_str).map(str::trim).filter(|p| !p.is_empty());
    let (true, Some(pattern)) = (active, pattern) else { return Ok(()) };
    let name = ctx.value("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut job = NewJob::new(SCHEDULE_JOB, format!("Schedule of {name}"), json!({ "workflow": id }));
    job.recurrence = Some(pattern.to_string());
    job.due = Some(ctx.value("relata_schedulestart").and_then(Value::as_datetime).unwrap_or(s.now));
    job.regarding = Some(EntityRef { entity: "workflow".into(), id });
    s.enqueue(job)?;
    Ok(())
}

/// A pattern the schedule can keep.
pub(super) fn check(pattern: &str) -> Result<()> {
    crate::jobs::recurrence::Rule::parse(pattern)
        .map(|_| ())
        .map_err(|e| EngineError::refused(Some("relata_schedule"), "processes.schedule", vec![], e.to_string()))
}

/// One page of the schedule's records: a run for each that meets the
/// condition.
pub(super) fn tick(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let workflow = job.data.get("workflow").and_then(Json::as_str).and_then(|w| w.parse().ok());
    let all = run::active(s)?;
    let Some(w) = all.iter().find(|w| Some(w.id) == workflow).cloned() else {
        return Ok(JobStep::Canceled("The workflow is no longer activated.".into()));
    };
    let entity = s.entity(&w.entity)?;
    let active = if entity.has_state() { "&$filter=statecode eq 0" } else { "" };
    let mut opts = relata_query::options::parse_query_options(&format!("$select={}{active}", entity.primary_id()))
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    opts.skiptoken = job.data.get("skiptoken").and_then(Json::as_str).map(str::to_string);
    let name = w.entity.clone();
    let page = s.as_system(|s| s.query(&name, &opts, Some(PAGE), None))?;
    let condition = w.definition.get("condition").cloned().unwrap_or(Json::Null);
    let (mut seen, mut started) = (
        job.data.get("seen").and_then(Json::as_u64).unwrap_or(0),
        job.data.get("started").and_then(Json::as_u64).unwrap_or(0),
    );
    for r in &page.records {
        seen += 1;
        let Some(fields) = s.read_system(&w.entity, r.id)? else { continue };
        let record = EntityRef { entity: w.entity.clone(), id: r.id };
        let subject = Subject { record: record.clone(), fields, changed: Vec::new() };
        if eval::holds(s, &subject, &condition)? {
            run::enqueue(s, &w, record, "Schedule", Vec::new(), None, Some(w.owner))?;
            started += 1;
        }
    }
    match page.skiptoken {
        Some(next) => {
            job.data = json!({ "workflow": w.id, "skiptoken": next, "seen": seen, "started": started });
            Ok(JobStep::Continue)
        }
        None => {
            job.data = json!({ "workflow": w.id });
            Ok(JobStep::Done(Some(format!("{seen} records looked at, {started} runs started."))))
        }
    }
}
