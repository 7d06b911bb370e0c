//! Processes: no-code workflows (Dataverse's `workflow` of category
//! Workflow) that run when records are created, changed, assigned or
//! deleted, or on demand.
//!
//! - `definition.rs`: the definition an administrator's designer writes
//!   (`workflow.clientdata`), checked when it is saved and activated, and
//!   compiled into a flat program whose place is one number.
//! - `eval.rs`: reading the record and the records its lookups lead to,
//!   conditions, and the values steps write.
//! - `run.rs`: which workflows a change starts (one pipeline step for every
//!   entity), running them in the change's transaction (real-time: they
//!   may refuse it) or as system jobs (background: each step logged in
//!   `workflowlog`, waits kept in the job so they survive restarts), and
//!   `ExecuteWorkflow`.
//!
//! An activated workflow cannot be edited; deactivate, edit, activate.
//! Each run carries the definition it started with, so runs in flight are
//! never broken by a new version.

mod definition;

pub use definition::OPS as CONDITION_OPERATORS;
mod eval;
mod flows;
mod outbound;
mod rules;
mod run;
mod schedule;

pub use flows::{stage_entity, stage_required_columns};
pub use rules::BusinessRule;

use std::sync::Arc;

use relata_metadata::{Schema, Value};
use relata_security::{Depth, Right};
use relata_store::Tx;

use crate::error::{EngineError, Result};
use crate::jobs::{operation, JobKind};
use crate::modules::{Action, Binding, Message, Module, ParamType as T, Registry, Stage, Step, StepContext};
use crate::org::OrgIds;
use crate::roles::Grant;
use crate::session::Session;

/// The processes module.
pub struct Processes;

/// `workflow.category` of a workflow.
const WORKFLOW: i64 = 0;

/// After every module's own rules: a workflow sees the record as saved.
const RANK: i32 = 800;

impl Module for Processes {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["platform", "email"]
    }

    fn register(&self, r: &mut Registry) {
        r.schema("processes.toml", include_str!("schema.toml"))
            .seed(seed)
            .job(JobKind::new("workflow", operation::WORKFLOW, run::job).attempts(3))
            .job(JobKind::new("schedule", operation::WORKFLOW, schedule::tick).attempts(3))
            .job(
                JobKind::new("http", operation::SYSTEM_EVENT, outbound::step)
                    .attempts(outbound::ATTEMPTS)
                    .effect(outbound::effect),
            )
            .action(
                Action::new("ExecuteWorkflow", run::execute_workflow)
                    .describe("Runs an activated on-demand workflow on a record, as a system job.")
                    .bound(Binding::Entity("workflow"))
                    .param("EntityId", T::Guid)
                    .returns("Id", T::Guid),
            );
        for (message, stage) in [
            (Message::Create, Stage::PostOperation),
            (Message::Update, Stage::PostOperation),
            (Message::Delete, Stage::PreOperation),
        ] {
            r.step(Step::new("workflows", message, stage, run::trigger).rank(RANK).describe(
                "Starts the activated workflows the change triggers: in the change's transaction, or as system jobs.",
            ));
        }
        for message in [Message::Create, Message::Update] {
            r.step(
                Step::new("business_rules", message, Stage::PreOperation, rules::apply)
                    .rank(30)
                    .describe("The entity's business rules set values and defaults and refuse what they require."),
            );
        }
        for message in [Message::Create, Message::Update] {
            r.step(
                Step::new("workflow_definition", message, Stage::PreOperation, check_workflow)
                    .entity("workflow")
                    .describe("A workflow's definition is checked when saved; an activated one is deactivated before it is edited."),
            );
        }
        for message in [Message::Create, Message::Update] {
            let step = Step::new("workflow_schedule", message, Stage::PostOperation, schedule::keep)
                .entity("workflow")
                .describe("A scheduled workflow keeps a recurring system job while it is activated.");
            r.step(if message == Message::Update {
                step.filtering(&["statecode", "relata_schedule", "relata_schedulestart"])
            } else {
                step
            });
        }
        r.step(
            Step::new("process_flow_start", Message::Create, Stage::PostOperation, flows::start)
                .rank(RANK - 10)
                .describe("A new record of a business process flow's first entity starts at its first stage."),
        )
        .step(
            Step::new("process_flow_move", Message::Update, Stage::PreOperation, flows::check_move)
                .entity("businessprocessflowinstance")
                .describe(
                    "A flow moves one stage forward once the stage it leaves has its required columns, or back freely.",
                ),
        )
        .step(
            Step::new("process_flow_moved", Message::Update, Stage::PostOperation, flows::moved)
                .entity("businessprocessflowinstance")
                .filtering(&["activestageid"])
                .describe("Time in each stage is kept; a record that keeps its own stage moves with its flow."),
        )
        .step(
            Step::new("process_flow_follow", Message::Update, Stage::PostOperation, flows::follow)
                .filtering(&["stageid"])
                .describe("A record that moves its own stage moves its flow, through the same checks."),
        );
        for message in [Message::Create, Message::Update, Message::Delete] {
            for entity in ["workflow", "processstage"] {
                r.step(
                    Step::new("process_changed", message, Stage::PostOperation, changed)
                        .entity(entity)
                        .describe("Every server process reloads the activated processes after one changes."),
                );
            }
        }
        const OWN: &[Right] = &[Right::Read, Right::Delete];
        const WALK: &[Right] = &[Right::Read, Right::Write, Right::Append, Right::AppendTo];
        for role in ["Salesperson", "Sales Manager", "Customer Service Representative", "Customer Service Manager"] {
            let depth = if role.ends_with("Manager") { Depth::ParentChild } else { Depth::User };
            r.grant(role, Grant { entities: &["workflowlog"], rights: OWN, depth: Depth::User }).grant(
                role,
                Grant { entities: &["businessprocessflowinstance", "relata_stagetime"], rights: WALK, depth },
            );
        }
    }
}

/// A value read from the processes, kept for the organization until a
/// workflow or a stage changes (the `workflows` counter moves).
struct Kept<T> {
    version: i64,
    value: Arc<T>,
}

pub(super) fn cached<T: Send + Sync + 'static>(
    s: &mut Session<'_, '_, '_>,
    key: &'static str,
    load: impl FnOnce(&mut Session<'_, '_, '_>) -> Result<T>,
) -> Result<Arc<T>> {
    let version = s.tx.counter(run::COUNTER)?;
    if let Some(k) = s.org.kept::<Kept<T>>(key) {
        if k.version == version {
            return Ok(k.value.clone());
        }
    }
    let value = Arc::new(load(s)?);
    s.org.keep(key, Arc::new(Kept { version, value: value.clone() }));
    Ok(value)
}

fn seed(tx: &mut Tx<'_>, _: &Schema, _: &OrgIds) -> Result<()> {
    run::seed_counter(tx)
}

fn changed(s: &mut Session<'_, '_, '_>, _: &mut StepContext<'_>) -> Result<()> {
    run::changed_workflows(s)
}

/// A workflow is checked as it is saved: its definition for its entity;
/// activation raises its version; an activated one is not edited.
fn check_workflow(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let category = ctx.value("category").and_then(Value::as_i64);
    if category != Some(WORKFLOW) && category != Some(rules::BUSINESS_RULE) {
        return Ok(());
    }
    let state = ctx.value("statecode").and_then(Value::as_i64).unwrap_or(0);
    let was_active = ctx.pre_image.and_then(|p| p.get("statecode")).and_then(Value::as_i64) == Some(1);
    let edits = ctx.target.keys().any(|k| !matches!(k.as_str(), "statecode" | "statuscode"));
    if was_active && state == 1 && edits && !ctx.is_create() {
        return Err(EngineError::refused(
            None,
            "processes.activated",
            vec![],
            "An activated workflow cannot be changed; deactivate it, change it, and activate it again.",
        ));
    }
    let entity = ctx.value("primaryentity").and_then(Value::as_str).unwrap_or_default().to_string();
    let real_time = ctx.value("mode").and_then(Value::as_i64) == Some(1);
    let text = ctx.value("clientdata").and_then(Value::as_str).map(str::to_string);
    let parsed = match &text {
        Some(t) if !t.trim().is_empty() => Some(serde_json::from_str::<serde_json::Value>(t).map_err(|e| {
            EngineError::refused(
                Some("clientdata"),
                "processes.json",
                vec![],
                format!("The definition is not JSON: {e}"),
            )
        })?),
        _ => None,
    };
    if let Some(pattern) = ctx.value("relata_schedule").and_then(Value::as_str).filter(|p| !p.trim().is_empty()) {
        schedule::check(pattern)?;
    }
    let activating = state == 1 && !was_active;
    let checked = |def: &serde_json::Value| {
        if category == Some(rules::BUSINESS_RULE) {
            rules::check(&s.schema, &entity, def)
        } else {
            definition::check(&s.schema, &entity, def, real_time)
        }
    };
    match (&parsed, activating) {
        (Some(def), _) => checked(def)
            .map_err(|e| EngineError::refused(Some("clientdata"), "processes.definition", vec![], e.to_string()))?,
        (None, true) => {
            return Err(EngineError::refused(
                Some("clientdata"),
                "processes.empty",
                vec![],
                "A process without a definition cannot be activated.",
            ))
        }
        (None, false) => {}
    }
    if activating {
        let on_update = ctx.value("triggeronupdateattributelist").and_then(Value::as_str).unwrap_or("").to_string();
        if let Some(e) = s.schema.entity(&entity).cloned() {
            for column in on_update.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if e.attribute(&column.to_lowercase()).is_none() {
                    return Err(EngineError::refused(
                        Some("triggeronupdateattributelist"),
                        "processes.trigger_column",
                        vec![],
                        format!("{entity} has no column '{column}' to start the workflow when it changes."),
                    ));
                }
            }
        }
        let version = ctx.pre_image.and_then(|p| p.get("relata_version")).and_then(Value::as_i64).unwrap_or(0);
        ctx.target.insert("relata_version".into(), Value::Int(version + 1));
        ctx.target.insert("type".into(), Value::Int(1));
    }
    Ok(())
}
