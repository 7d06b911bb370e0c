//! What users may do to a system job, as Dataverse allows it: cancel it
//! (`statecode` 3 / `statuscode` 32), retry or resume it (`statecode` 0),
//! postpone it (`postponeuntil`), and delete it once completed. Jobs are
//! created by the server only.

use relata_metadata::Value;

use super::{state, status};
use crate::error::{EngineError, Result};
use crate::modules::{Message, StepContext};
use crate::session::Session;

/// The pre-validation step on `asyncoperation` for every message.
pub(crate) fn check_job_change(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    match ctx.message {
        Message::Create => Err(EngineError::Invalid(
            "System jobs are created by the server (bulk delete, asynchronous steps, workflows); \
             they cannot be created directly."
                .into(),
        )),
        Message::Delete => {
            if ctx.pre_image.and_then(|p| p.get("statecode")).and_then(Value::as_i64) != Some(state::COMPLETED) {
                return Err(EngineError::Invalid(
                    "Only completed system jobs can be deleted; cancel the job first.".into(),
                ));
            }
            Ok(())
        }
        Message::Update | Message::SetState => change(s, ctx),
        _ => Ok(()),
    }
}

fn change(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    if ctx.message == Message::SetState {
        return Ok(()); // Checked once, with the Update.
    }
    let pre = ctx.pre_image.cloned().unwrap_or_default();
    let int = |v: Option<&Value>| v.and_then(Value::as_i64);
    let current = (int(pre.get("statecode")).unwrap_or(0), int(pre.get("statuscode")).unwrap_or(0));
    let kind = pre.get("relata_jobtype").and_then(Value::as_str).unwrap_or_default().to_string();
    let registered = s.org.modules().job_kind(&kind);
    let controllable = registered.is_none_or(|k| k.user_controllable);
    let hook = registered.and_then(|k| k.on_state);
    if let Some(other) = ctx.target.keys().find(|k| !matches!(k.as_str(), "statecode" | "statuscode" | "postponeuntil"))
    {
        return Err(EngineError::Invalid(format!(
            "'{other}' of a system job cannot be changed; a job can be canceled (statecode 3), \
             retried (statecode 0) or postponed (postponeuntil)"
        )));
    }
    if !controllable {
        return Err(EngineError::forbidden(format!(
            "'{kind}' is a platform job: it cannot be canceled, retried or postponed"
        )));
    }
    let wanted = int(ctx.target.get("statecode"));
    let now = s.now;
    match wanted {
        Some(state::COMPLETED) => {
            let asked = int(ctx.target.get("statuscode")).unwrap_or(status::CANCELED);
            if asked != status::CANCELED {
                return Err(EngineError::Invalid(
                    "a system job can be completed by a user only as Canceled (statuscode 32)".into(),
                ));
            }
            match current.0 {
                state::READY | state::SUSPENDED => {
                    set(ctx, state::COMPLETED, status::CANCELED);
                    ctx.target.insert("completedon".into(), Value::DateTime(now));
                }
                // A step in progress finishes (or is rolled back) first.
                state::LOCKED => set(ctx, state::LOCKED, status::CANCELING),
                _ => return Err(EngineError::Invalid("the system job has already completed".into())),
            }
        }
        Some(state::READY) => match current {
            (state::COMPLETED, status::FAILED | status::CANCELED) | (state::SUSPENDED, _) => {
                set(ctx, state::READY, status::WAITING_FOR_RESOURCES);
                // A retried job gets all its attempts again.
                ctx.target.insert("postponeuntil".into(), Value::DateTime(now));
                ctx.target.insert("retrycount".into(), Value::Int(0));
            }
            (state::COMPLETED, _) => {
                return Err(EngineError::Invalid("the system job succeeded; there is nothing to retry".into()))
            }
            _ => return Err(EngineError::Invalid("the system job is already waiting or running".into())),
        },
        Some(other) => {
            return Err(EngineError::Invalid(format!(
                "a system job cannot be moved to state {other} by a user: cancel it (3) or retry it (0)"
            )))
        }
        None => {
            let Some(Value::DateTime(until)) = ctx.target.get("postponeuntil").cloned() else {
                return Err(EngineError::Invalid("postponeuntil must be a date and time".into()));
            };
            if !matches!(current.0, state::READY | state::SUSPENDED) {
                return Err(EngineError::Invalid("only a waiting system job can be postponed".into()));
            }
            if until > now {
                set(ctx, state::SUSPENDED, status::WAITING);
            } else {
                set(ctx, state::READY, status::WAITING_FOR_RESOURCES);
            }
        }
    }
    if let Some(f) = hook {
        let id = ctx.id;
        let int = |k: &str| ctx.target.get(k).and_then(Value::as_i64);
        let (statecode, statuscode) = (int("statecode").unwrap_or(current.0), int("statuscode").unwrap_or(current.1));
        let due = match ctx.target.get("postponeuntil").or_else(|| pre.get("postponeuntil")) {
            Some(Value::DateTime(t)) if statecode != state::COMPLETED => Some(*t),
            _ => None,
        };
        f(s.tx, &super::JobState { job: id, statecode, statuscode, due, now, message: None })?;
    }
    Ok(())
}

fn set(ctx: &mut StepContext<'_>, statecode: i64, statuscode: i64) {
    ctx.target.insert("statecode".into(), Value::Int(statecode));
    ctx.target.insert("statuscode".into(), Value::Int(statuscode));
}
