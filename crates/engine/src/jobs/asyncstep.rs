//! Asynchronous plug-in steps: a step registered with
//! [`Mode::Asynchronous`](crate::modules::Mode) does not run in the request;
//! the request enqueues a job (in its transaction, so only a committed write
//! runs it) that carries the message, the record and the changed columns,
//! and the step runs later as the user who made the change.

use relata_metadata::EntityRef;
use serde_json::json;
use uuid::Uuid;

use super::values::{fields_from_json, fields_to_json};
use super::{operation, JobContext, JobKind, JobStep, NewJob};
use crate::error::{EngineError, Result};
use crate::modules::{Message, Stage, Step, StepContext};
use crate::session::{Fields, Session};

pub(crate) const ASYNC_STEP_KIND: &str = "platform.asyncstep";

pub(crate) fn kind() -> JobKind {
    JobKind::new("asyncstep", operation::SYSTEM_EVENT, run)
}

/// Enqueues `step` for the record the pipeline is at.
pub(crate) fn enqueue(s: &mut Session<'_, '_, '_>, step: &Step, ctx: &StepContext<'_>) -> Result<()> {
    let data = json!({
        "step": step.id(),
        "message": ctx.message.name(),
        "target": fields_to_json(ctx.target),
        "preimage": ctx.pre_image.map(fields_to_json),
    });
    let mut job = NewJob::new(ASYNC_STEP_KIND, step.display_name(), data);
    job.regarding = Some(EntityRef { entity: ctx.entity.name().to_string(), id: ctx.id });
    job.message_name = Some(ctx.message.name().to_string());
    s.enqueue(job)?;
    Ok(())
}

fn run(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let bad = |what: &str| EngineError::Invalid(format!("the asynchronous step's job data has no valid {what}"));
    let step_id: Uuid =
        job.data.get("step").and_then(|v| v.as_str()).and_then(|v| v.parse().ok()).ok_or_else(|| bad("step"))?;
    let org = s.org;
    let step = org
        .modules()
        .pipeline()
        .steps()
        .iter()
        .find(|st| st.id() == step_id)
        .ok_or_else(|| EngineError::Invalid(format!("the step {step_id} is no longer registered")))?;
    let message = Message::ALL
        .into_iter()
        .find(|m| Some(m.name()) == job.data.get("message").and_then(|v| v.as_str()))
        .ok_or_else(|| bad("message"))?;
    let regarding = job.regarding.clone().ok_or_else(|| bad("record"))?;
    let entity = s.entity(&regarding.entity)?;
    let mut target: Fields = fields_from_json(job.data.get("target").ok_or_else(|| bad("target"))?)?;
    let pre_image = match job.data.get("preimage") {
        Some(p) if !p.is_null() => Some(fields_from_json(p)?),
        _ => None,
    };
    let mut ctx = StepContext {
        message,
        stage: Stage::PostOperation,
        entity: &entity,
        id: regarding.id,
        pre_image: pre_image.as_ref(),
        target: &mut target,
        related: None,
    };
    (step.handler)(s, &mut ctx)?;
    Ok(JobStep::Done(None))
}
