//! Running workflows: which ones a change starts, running their program
//! in the change's transaction (real-time) or as a system job (background),
//! and the job that carries a background run through its steps and waits.

use std::cell::Cell;
use std::sync::Arc;

use relata_metadata::{EntityRef, Value};
use relata_security::Right;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::definition::{self, Instr};
use super::eval::{self, Subject};
use crate::error::{EngineError, Result};
use crate::jobs::values::{fields_from_json, fields_to_json};
use crate::jobs::{JobContext, JobStep, NewJob};
use crate::modules::{ActionRequest, ActionResponse, Message, RecordReader, StepContext};
use crate::platform::notifications::{icon, priority, Notification};
use crate::session::{Condition, Fields, RecordInput, Session};

pub(super) const RUN_JOB: &str = "processes.workflow";
pub(super) const COUNTER: &str = "workflows";
/// Real-time workflows started by real-time workflows' writes, nested.
const MAX_DEPTH: u32 = 8;
/// How often a wait for a condition looks again.
const RECHECK_MINUTES: i64 = 5;

/// `workflow.mode`.
const REAL_TIME: i64 = 1;
/// `workflow.scope`.
mod scope {
    pub const USER: i64 = 1;
    pub const BUSINESS_UNIT: i64 = 2;
    pub const PARENT_CHILD: i64 = 3;
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// An activated workflow, as the triggers read it.
#[derive(Debug, Clone)]
pub(super) struct Active {
    pub id: Uuid,
    pub name: String,
    pub entity: String,
    pub real_time: bool,
    pub run_as_caller: bool,
    pub scope: i64,
    pub owner: Uuid,
    pub owner_unit: Option<Uuid>,
    pub on_create: bool,
    pub on_delete: bool,
    pub on_update: Vec<String>,
    pub version: i64,
    pub definition: Json,
}

/// The counter every change of a workflow moves, so that every process
/// reloads its list of active workflows.
pub(super) fn seed_counter(tx: &mut relata_store::Tx<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO relata_counter (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        &[relata_store::Param::text(COUNTER)],
    )?;
    Ok(())
}

pub(super) fn changed_workflows(s: &mut Session<'_, '_, '_>) -> Result<()> {
    s.tx.next_counter(COUNTER)?;
    Ok(())
}

fn parse_active(row: &Fields) -> Option<Active> {
    let text = |n: &str| row.get(n).and_then(Value::as_str).map(str::to_string);
    let definition: Json = serde_json::from_str(&text("clientdata")?).ok()?;
    Some(Active {
        id: row.get("workflowid")?.as_uuid()?,
        name: text("name").unwrap_or_default(),
        entity: text("primaryentity")?,
        real_time: row.get("mode").and_then(Value::as_i64) == Some(REAL_TIME),
        run_as_caller: row.get("runas").and_then(Value::as_i64) != Some(0),
        scope: row.get("scope").and_then(Value::as_i64).unwrap_or(scope::USER),
        // Processes belong to the organization: their author stands for
        // the owner whose records a User-scope workflow watches.
        owner: row.get("ownerid").or_else(|| row.get("createdby")).and_then(Value::as_uuid)?,
        owner_unit: row.get("owningbusinessunit").and_then(Value::as_uuid),
        on_create: row.get("triggeroncreate").and_then(Value::as_bool) == Some(true),
        on_delete: row.get("triggerondelete").and_then(Value::as_bool) == Some(true),
        on_update: text("triggeronupdateattributelist")
            .unwrap_or_default()
            .split(',')
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty())
            .collect(),
        version: row.get("relata_version").and_then(Value::as_i64).unwrap_or(0),
        definition,
    })
}

/// The activated workflows (category Workflow), read again only when a
/// workflow changed since.
pub(super) fn active(s: &mut Session<'_, '_, '_>) -> Result<Arc<Vec<Active>>> {
    super::cached(s, "processes.workflows", |s| {
        let rows = s.query_system("workflow", "$filter=category eq 0 and statecode eq 1 and type eq 1")?;
        let mut list: Vec<Active> = rows.iter().filter_map(parse_active).collect();
        for w in list.iter_mut().filter(|w| w.owner_unit.is_none()) {
            w.owner_unit =
                s.read_system("systemuser", w.owner)?.and_then(|u| u.get("businessunitid").and_then(Value::as_uuid));
        }
        Ok(list)
    })
}

/// Is the record in the workflow's scope (whose records start it)?
fn in_scope(s: &mut Session<'_, '_, '_>, w: &Active, ctx: &StepContext<'_>) -> Result<bool> {
    if !ctx.entity.is_owned() || w.scope >= 4 {
        return Ok(true);
    }
    let owner = ctx.value("ownerid").and_then(Value::as_uuid);
    let unit = ctx.value("owningbusinessunit").and_then(Value::as_uuid);
    Ok(match w.scope {
        scope::USER => owner == Some(w.owner),
        scope::BUSINESS_UNIT => unit.is_some() && unit == w.owner_unit,
        scope::PARENT_CHILD => {
            let mut at = unit;
            let mut hops = 0;
            loop {
                match at {
                    None => break false,
                    Some(u) if Some(u) == w.owner_unit => break true,
                    Some(u) => {
                        hops += 1;
                        if hops > 100 {
                            break false;
                        }
                        at = s
                            .read_system("businessunit", u)?
                            .and_then(|b| b.get("parentbusinessunitid").and_then(Value::as_uuid));
                    }
                }
            }
        }
        _ => true,
    })
}

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// The trigger step: every create, update and delete of every entity asks
/// which activated workflows it starts.
pub(super) fn trigger(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let entity = ctx.entity.name().to_string();
    if matches!(entity.as_str(), "workflow" | "workflowlog" | "asyncoperation") {
        return Ok(());
    }
    let all = active(s)?;
    let mine: Vec<&Active> = all.iter().filter(|w| w.entity == entity).collect();
    if mine.is_empty() {
        return Ok(());
    }
    let changed: Vec<String> = match ctx.message {
        Message::Update => ctx
            .target
            .iter()
            .filter(|(k, v)| ctx.pre_image.and_then(|p| p.get(*k)) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect(),
        _ => ctx.target.keys().cloned().collect(),
    };
    for w in mine {
        let fires = match ctx.message {
            Message::Create => w.on_create,
            Message::Delete => w.on_delete,
            Message::Update => w.on_update.iter().any(|a| changed.contains(a)),
            _ => false,
        };
        if !fires || !in_scope(s, w, ctx)? {
            continue;
        }
        let record = EntityRef { entity: entity.clone(), id: ctx.id };
        if w.real_time {
            let subject = Subject { record, fields: record_now(s, ctx)?, changed: changed.clone() };
            run_inline(s, w, subject)?;
        } else {
            let snapshot = (ctx.message == Message::Delete).then(|| ctx.pre_image.map(fields_to_json)).flatten();
            enqueue(s, w, record, ctx.message.name(), changed.clone(), snapshot, Some(w.owner))?;
        }
    }
    Ok(())
}

/// The record's values after the change (before it, for a delete).
fn record_now(s: &mut Session<'_, '_, '_>, ctx: &StepContext<'_>) -> Result<Fields> {
    if ctx.message == Message::Delete {
        return Ok(ctx.pre_image.cloned().unwrap_or_default());
    }
    Ok(s.read_system(ctx.entity.name(), ctx.id)?.unwrap_or_else(|| ctx.target.clone()))
}

/// Queues a background run of `w` for `record`.
pub(super) fn enqueue(
    s: &mut Session<'_, '_, '_>,
    w: &Active,
    record: EntityRef,
    message: &str,
    changed: Vec<String>,
    snapshot: Option<Json>,
    owner: Option<Uuid>,
) -> Result<Uuid> {
    let data = json!({
        "workflow": w.id,
        "name": w.name,
        "version": w.version,
        "definition": w.definition,
        "changed": changed,
        "snapshot": snapshot,
        "pc": 0,
    });
    let mut job = NewJob::new(RUN_JOB, w.name.clone(), data);
    job.regarding = Some(record);
    job.message_name = Some(message.to_string());
    job.owner = owner;
    s.enqueue(job)
}

/// Runs a real-time workflow in the change's transaction: an error, or a
/// stop as canceled, refuses the change with its message.
fn run_inline(s: &mut Session<'_, '_, '_>, w: &Active, subject: Subject) -> Result<()> {
    let depth = DEPTH.with(|d| d.get());
    if depth >= MAX_DEPTH {
        return Err(invalid(format!(
            "The workflow '{}' was stopped: workflows started by workflows are {} deep, above the limit of {MAX_DEPTH} \
             (does it change what starts it?).",
            w.name,
            depth + 1
        )));
    }
    let program = definition::compile(&w.definition)?;
    let condition = w.definition.get("condition").cloned().unwrap_or(Json::Null);
    DEPTH.with(|d| d.set(depth + 1));
    let as_owner = !w.run_as_caller && w.owner != s.principal.user_id;
    let result = (|| -> Result<()> {
        if !eval::holds(s, &subject, &condition)? {
            return Ok(());
        }
        let mut run = Run { workflow: w.name.clone(), subject, log: None, real_time: true };
        let outcome =
            if as_owner { s.as_user(w.owner, |s| run.execute(s, &program, 0))? } else { run.execute(s, &program, 0)? };
        match outcome {
            Outcome::Canceled(m) => Err(EngineError::refused(None, "processes.canceled", vec![], m)),
            _ => Ok(()),
        }
    })();
    DEPTH.with(|d| d.set(depth));
    result
}

/// Where a run stopped.
enum Outcome {
    Finished(Option<String>),
    Canceled(String),
    Waiting(chrono::DateTime<chrono::Utc>, usize),
}

/// One run of a program.
struct Run {
    workflow: String,
    subject: Subject,
    /// The system job of a background run, whose log it writes.
    log: Option<Uuid>,
    real_time: bool,
}

fn step_name(step: &Json, index: usize) -> String {
    match step.get("name").and_then(Json::as_str) {
        Some(n) => n.to_string(),
        None => format!("{} {}", step.get("type").and_then(Json::as_str).unwrap_or("step"), index + 1),
    }
}

/// `workflowlog.status`.
mod log_status {
    pub const SUCCEEDED: i64 = 2;
    pub const FAILED: i64 = 3;
    pub const CANCELED: i64 = 4;
    pub const WAITING: i64 = 5;
}

impl Run {
    fn log(
        &self,
        s: &mut Session<'_, '_, '_>,
        index: usize,
        step: &Json,
        status: i64,
        message: &str,
        outputs: Json,
    ) -> Result<()> {
        let Some(job) = self.log else { return Ok(()) };
        let owner = s.principal.user_id;
        let fields = vec![
            ("stepname".to_string(), Value::String(step_name(step, index).chars().take(200).collect())),
            ("asyncoperationid".to_string(), Value::Ref(EntityRef { entity: "asyncoperation".into(), id: job })),
            ("status".to_string(), Value::Int(status)),
            ("relata_stepindex".to_string(), Value::Int(index as i64)),
            ("message".to_string(), Value::String(message.chars().take(4000).collect())),
            ("relata_inputs".to_string(), Value::String(step.to_string().chars().take(100_000).collect())),
            ("relata_outputs".to_string(), Value::String(outputs.to_string().chars().take(100_000).collect())),
            ("ownerid".to_string(), Value::Ref(EntityRef { entity: "systemuser".into(), id: owner })),
        ];
        s.as_system(|s| s.create("workflowlog", RecordInput::new(fields)))?;
        Ok(())
    }

    /// Runs the program from `pc` until it ends, stops or waits.
    fn execute(&mut self, s: &mut Session<'_, '_, '_>, program: &[Instr], mut pc: usize) -> Result<Outcome> {
        let mut budget = 10_000;
        while pc < program.len() {
            budget -= 1;
            if budget == 0 {
                return Err(invalid("the workflow ran 10,000 instructions without ending"));
            }
            match &program[pc] {
                Instr::Jump(to) => pc = *to,
                Instr::JumpUnless(c, to) => pc = if eval::holds(s, &self.subject, c)? { pc + 1 } else { *to },
                Instr::Step(step) => {
                    let kind = step.get("type").and_then(Json::as_str).unwrap_or("");
                    match kind {
                        "stop" => {
                            let message = step.get("message").and_then(Json::as_str).unwrap_or("").to_string();
                            let message = eval::render(s, &self.subject, &message)?;
                            if step.get("status").and_then(Json::as_str) == Some("canceled") {
                                let m = if message.is_empty() {
                                    format!("The workflow '{}' canceled the change.", self.workflow)
                                } else {
                                    message
                                };
                                self.log(s, pc, step, log_status::CANCELED, &m, Json::Null)?;
                                return Ok(Outcome::Canceled(m));
                            }
                            self.log(s, pc, step, log_status::SUCCEEDED, &message, Json::Null)?;
                            return Ok(Outcome::Finished(Some(message).filter(|m| !m.is_empty())));
                        }
                        "wait" => {
                            if let Some(until) = self.wait(s, step)? {
                                self.log(
                                    s,
                                    pc,
                                    step,
                                    log_status::WAITING,
                                    &format!("Waiting until {}", until.to_rfc3339()),
                                    Json::Null,
                                )?;
                                return Ok(Outcome::Waiting(until, pc));
                            }
                            self.log(s, pc, step, log_status::SUCCEEDED, "The wait is over.", Json::Null)?;
                            pc += 1;
                        }
                        _ => {
                            let result = s.savepoint(|s| self.step(s, kind, step));
                            match result {
                                Ok(out) => {
                                    self.log(s, pc, step, log_status::SUCCEEDED, "", out)?;
                                    pc += 1;
                                }
                                Err(e) => {
                                    let name = step_name(step, pc);
                                    let message = if self.real_time {
                                        format!("The workflow '{}', step '{name}': {e}", self.workflow)
                                    } else {
                                        format!("Step '{name}' failed: {e}")
                                    };
                                    self.log(s, pc, step, log_status::FAILED, &message, Json::Null)?;
                                    return Err(match e {
                                        EngineError::Invalid(_) | EngineError::Refused { .. } => invalid(message),
                                        other => other,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(Outcome::Finished(None))
    }

    /// A wait step: `None` when it is over, else when to look again.
    fn wait(&mut self, s: &mut Session<'_, '_, '_>, step: &Json) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let now = s.now;
        // The first time a wait is met, its end is fixed in the job's data.
        let started =
            step.get("__started").and_then(Json::as_str).and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
        if let Some(d) = step.get("for") {
            let until = started.unwrap_or(now) + definition::duration(d)?;
            return Ok((until > now).then_some(until));
        }
        let condition = step.get("until").cloned().unwrap_or(Json::Null);
        if eval::holds(s, &self.subject, &condition)? {
            return Ok(None);
        }
        let deadline = match step.get("timeout") {
            Some(t) => Some(started.unwrap_or(now) + definition::duration(t)?),
            None => None,
        };
        if deadline.is_some_and(|d| d <= now) {
            return Ok(None);
        }
        let next = now + chrono::Duration::minutes(RECHECK_MINUTES);
        Ok(Some(deadline.map_or(next, |d| d.min(next))))
    }

    /// One step's work; returns what the log shows as its result.
    fn step(&mut self, s: &mut Session<'_, '_, '_>, kind: &str, step: &Json) -> Result<Json> {
        match kind {
            "create" => {
                let entity = step.get("entity").and_then(Json::as_str).unwrap_or_default().to_string();
                let fields = self.values(s, &entity, step.get("values"))?;
                let id = s.create(&entity, RecordInput::new(fields))?;
                Ok(json!({ "created": { "entity": entity, "id": id } }))
            }
            "update" => {
                let target = self.target(s, step)?;
                let fields = self.values(s, &target.entity, step.get("values"))?;
                s.update(&target.entity, target.id, RecordInput::new(fields), Condition::default(), false)?;
                self.refresh(s, &target)?;
                Ok(json!({ "updated": { "entity": target.entity, "id": target.id } }))
            }
            "assign" => {
                let target = self.target(s, step)?;
                let owner = s.schema.entity(&target.entity).and_then(|e| e.attribute("ownerid").cloned());
                let value = eval::value_of(s, &self.subject, step.get("owner").unwrap_or(&Json::Null), owner.as_ref())?;
                let Value::Ref(owner) = value else { return Err(invalid("the new owner is empty")) };
                let input = RecordInput::new(vec![("ownerid".into(), Value::Ref(owner.clone()))]);
                s.update(&target.entity, target.id, input, Condition::default(), false)?;
                self.refresh(s, &target)?;
                Ok(json!({ "owner": { "entity": owner.entity, "id": owner.id } }))
            }
            "setstate" => {
                let target = self.target(s, step)?;
                let mut fields = vec![("statecode".to_string(), Value::Int(step["statecode"].as_i64().unwrap_or(0)))];
                if let Some(status) = step.get("statuscode").and_then(Json::as_i64) {
                    fields.push(("statuscode".into(), Value::Int(status)));
                }
                s.update(&target.entity, target.id, RecordInput::new(fields), Condition::default(), false)?;
                self.refresh(s, &target)?;
                Ok(json!({ "statecode": step["statecode"] }))
            }
            "sendemail" => self.send_email(s, step),
            "notify" => {
                let to = eval::value_of(s, &self.subject, step.get("to").unwrap_or(&Json::Null), None)?;
                let user = match to {
                    Value::Ref(r) if r.entity == "systemuser" => r.id,
                    Value::Ref(r) => return Err(invalid(format!("a notification goes to a user, not a {}", r.entity))),
                    _ => return Err(invalid("the notification's recipient is empty")),
                };
                let text = |s: &mut Session<'_, '_, '_>, key: &str| -> Result<Option<String>> {
                    match step.get(key) {
                        Some(Json::String(t)) => Ok(Some(eval::render(s, &self.subject, t)?)),
                        Some(spec) if spec.is_object() => match eval::value_of(s, &self.subject, spec, None)? {
                            Value::String(t) => Ok(Some(t)),
                            _ => Ok(None),
                        },
                        _ => Ok(None),
                    }
                };
                let title = text(s, "title")?.unwrap_or_else(|| self.workflow.clone());
                let mut n = Notification::new(user, title);
                n.body = text(s, "body")?;
                n.priority = if step.get("priority").and_then(Json::as_str) == Some("high") {
                    priority::HIGH
                } else {
                    priority::NORMAL
                };
                n.icon = match step.get("icon").and_then(Json::as_str) {
                    Some("success") => icon::SUCCESS,
                    Some("failure") => icon::FAILURE,
                    Some("warning") => icon::WARNING,
                    _ => icon::INFO,
                };
                n.regarding = Some(self.subject.record.clone());
                let id = s.notify(n)?;
                Ok(json!({ "notification": id }))
            }
            "childworkflow" => {
                let id: Uuid = step["workflow"]
                    .as_str()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| invalid("no child workflow"))?;
                let all = active(s)?;
                let child = all
                    .iter()
                    .find(|w| w.id == id)
                    .ok_or_else(|| invalid(format!("the workflow {id} is not activated")))?;
                if child.entity != self.subject.record.entity {
                    return Err(invalid(format!(
                        "the child workflow '{}' runs on {}, not {}",
                        child.name, child.entity, self.subject.record.entity
                    )));
                }
                let job = enqueue(s, child, self.subject.record.clone(), "ExecuteWorkflow", vec![], None, None)?;
                Ok(json!({ "job": job }))
            }
            "action" => {
                let name = step["name"].as_str().unwrap_or_default().to_string();
                let mut params = serde_json::Map::new();
                for (k, spec) in step.get("params").and_then(Json::as_object).cloned().unwrap_or_default() {
                    let v = match &spec {
                        Json::Object(_) => match eval::value_of(s, &self.subject, &spec, None)? {
                            Value::Ref(r) => json!(r.id),
                            Value::String(t) => json!(t),
                            Value::Int(i) => json!(i),
                            Value::Bool(b) => json!(b),
                            Value::DateTime(t) => json!(t.to_rfc3339()),
                            Value::Decimal(d) => json!(d.to_string()),
                            _ => Json::Null,
                        },
                        other => other.clone(),
                    };
                    params.insert(k, v);
                }
                let bound = s.org.modules().action(&name, Some(&self.subject.record.entity)).is_some();
                let target = bound.then(|| self.subject.record.clone());
                let response = s.execute_action(&name, target, params, &NoRecords)?;
                let record = self.subject.record.clone();
                self.refresh(s, &record)?;
                Ok(match response {
                    ActionResponse::Properties(p) => Json::Object(p),
                    ActionResponse::Record(r) => json!({ "entity": r.entity, "id": r.id }),
                    ActionResponse::References(r) => {
                        json!(r.iter().map(|r| json!({"entity": r.entity, "id": r.id})).collect::<Vec<_>>())
                    }
                    ActionResponse::Drafts(d) => {
                        json!(d
                            .into_iter()
                            .map(|(entity, values)| json!({"entity": entity, "values": values}))
                            .collect::<Vec<_>>())
                    }
                    ActionResponse::Empty => Json::Null,
                })
            }
            "webhook" => {
                let url = step["url"].as_str().unwrap_or_default();
                let headers = step.get("headers").and_then(Json::as_object).cloned().unwrap_or_default();
                let body = json!({
                    "workflow": self.workflow,
                    "entity": self.subject.record.entity,
                    "id": self.subject.record.id,
                    "record": super::outbound::record_json(&self.subject.fields),
                });
                let name = format!("Webhook of {}", self.workflow);
                let job = super::outbound::enqueue(s, name, url, headers, body, Some(self.subject.record.clone()))?;
                Ok(json!({ "job": job }))
            }
            "sendmessage" => {
                let channel: Uuid =
                    step["channel"].as_str().and_then(|t| t.parse().ok()).ok_or_else(|| invalid("no channel"))?;
                let to = match eval::value_of(s, &self.subject, step.get("to").unwrap_or(&Json::Null), None)? {
                    Value::String(t) if !t.trim().is_empty() => t,
                    Value::Int(i) => i.to_string(),
                    _ => return Err(invalid("the message's recipient is empty")),
                };
                let text = match step.get("text") {
                    Some(Json::String(t)) => eval::render(s, &self.subject, t)?,
                    Some(spec) => match eval::value_of(s, &self.subject, spec, None)? {
                        Value::String(t) => t,
                        _ => String::new(),
                    },
                    None => String::new(),
                };
                let job = super::outbound::message(s, channel, &to, &text, self.subject.record.clone())?;
                Ok(json!({ "job": job }))
            }
            other => Err(invalid(format!("unknown step type '{other}'"))),
        }
    }

    /// The record a step acts on: the run's record or one its lookup names.
    fn target(&self, s: &mut Session<'_, '_, '_>, step: &Json) -> Result<EntityRef> {
        match step.get("target").and_then(Json::as_str).unwrap_or("record") {
            "record" => Ok(self.subject.record.clone()),
            path => match eval::read_path(s, &self.subject, path)?.0 {
                Value::Ref(r) => Ok(r),
                _ => Err(invalid(format!("'{path}' of the record is empty"))),
            },
        }
    }

    /// Reads the run's record again after a step changed it.
    fn refresh(&mut self, s: &mut Session<'_, '_, '_>, changed: &EntityRef) -> Result<()> {
        if *changed == self.subject.record {
            if let Some(f) = s.read_system(&changed.entity, changed.id)? {
                self.subject.fields = f;
            }
        }
        Ok(())
    }

    fn values(&self, s: &mut Session<'_, '_, '_>, entity: &str, values: Option<&Json>) -> Result<Vec<(String, Value)>> {
        let mut out = Vec::new();
        for (column, spec) in values.and_then(Json::as_object).cloned().unwrap_or_default() {
            let attr = s.schema.entity(entity).and_then(|e| e.attribute(&column).cloned());
            let v = eval::value_of(s, &self.subject, &spec, attr.as_ref())?;
            out.push((column, v));
        }
        Ok(out)
    }

    /// An email from a template to the recipients the step names, sent.
    fn send_email(&mut self, s: &mut Session<'_, '_, '_>, step: &Json) -> Result<Json> {
        let template: Uuid =
            step["template"].as_str().and_then(|t| t.parse().ok()).ok_or_else(|| invalid("no template"))?;
        let filled = crate::email::fill(s, template, Some(&self.subject.record))?;
        let email = s.create(
            "email",
            RecordInput::new(vec![
                ("subject".into(), Value::String(filled.subject.chars().take(800).collect())),
                ("description".into(), Value::String(filled.body)),
                ("regardingobjectid".into(), Value::Ref(self.subject.record.clone())),
                ("templateid".into(), Value::Ref(EntityRef { entity: "template".into(), id: template })),
            ]),
        )?;
        let email_ref = Value::Ref(EntityRef { entity: "email".into(), id: email });
        for (key, mask) in [("to", crate::email::send::party::TO), ("cc", crate::email::send::party::CC)] {
            for spec in step.get(key).and_then(Json::as_array).cloned().unwrap_or_default() {
                let mut fields = vec![
                    ("activityid".to_string(), email_ref.clone()),
                    ("participationtypemask".to_string(), Value::Int(mask)),
                ];
                match &spec {
                    Json::String(address) if address.contains('@') && !address.contains("{{") => {
                        fields.push(("addressused".into(), Value::String(address.clone())));
                    }
                    _ => match eval::value_of(s, &self.subject, &spec, None)? {
                        Value::Ref(r) => fields.push(("partyid".into(), Value::Ref(r))),
                        Value::String(a) if a.contains('@') => fields.push(("addressused".into(), Value::String(a))),
                        _ => return Err(invalid(format!("the recipient {spec} is empty"))),
                    },
                }
                s.create("activityparty", RecordInput::new(fields))?;
            }
        }
        crate::email::queue(s, email, true, None)?;
        Ok(json!({ "email": email }))
    }
}

/// Record parameters are not offered to actions called from workflows.
struct NoRecords;

impl RecordReader for NoRecords {
    fn record(&self, _: &relata_metadata::Schema, entity: &relata_metadata::Entity, _: &Json) -> Result<RecordInput> {
        Err(invalid(format!("a workflow cannot pass a {} record to an action", entity.name())))
    }
}

/// The background run's job: runs the program from its place, as the job's
/// owner, logging each step; waits durably; fails with the step's reason.
pub(super) fn job(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let record = job.regarding.clone().ok_or_else(|| invalid("the workflow job names no record"))?;
    let definition = job.data.get("definition").cloned().unwrap_or(Json::Null);
    let program = definition::compile(&definition)?;
    let fields = match job.data.get("snapshot") {
        Some(j) if !j.is_null() => fields_from_json(j)?,
        _ => match s.read_system(&record.entity, record.id)? {
            Some(f) => f,
            None => return Ok(JobStep::Canceled("the record no longer exists".into())),
        },
    };
    let changed: Vec<String> = job
        .data
        .get("changed")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let subject = Subject { record, fields, changed };
    let pc = job.data.get("pc").and_then(Json::as_u64).unwrap_or(0) as usize;
    if pc == 0 {
        let condition = definition.get("condition").cloned().unwrap_or(Json::Null);
        if !eval::holds(s, &subject, &condition)? {
            return Ok(JobStep::Done(Some("The record does not meet the workflow's conditions.".into())));
        }
    }
    let name = job.data.get("name").and_then(Json::as_str).unwrap_or_default().to_string();
    let mut run = Run { workflow: name, subject, log: Some(job.id), real_time: false };
    // The program's steps, with the waits met so far fixed in the data.
    let mut program = program;
    if let Some(started) = job.data.get("waits").and_then(Json::as_object) {
        for (at, t) in started {
            let at = at.parse::<usize>().unwrap_or(usize::MAX);
            if let Some(Instr::Step(step)) = program.get_mut(at) {
                step["__started"] = t.clone();
            }
        }
    }
    match s.savepoint(|s| run.execute(s, &program, pc)) {
        Ok(Outcome::Finished(m)) => Ok(JobStep::Done(m)),
        Ok(Outcome::Canceled(m)) => Ok(JobStep::Canceled(m)),
        Ok(Outcome::Waiting(until, at)) => {
            job.data["pc"] = json!(at);
            let waits = job.data.get("waits").cloned().filter(Json::is_object).unwrap_or(json!({}));
            let mut waits = waits;
            if waits.get(at.to_string()).is_none() {
                waits[at.to_string()] = json!(s.now.to_rfc3339());
            }
            job.data["waits"] = waits;
            Ok(JobStep::WaitUntil(until))
        }
        // What failed is in the log; the job fails with its reason.
        Err(e @ (EngineError::Store(_) | EngineError::Unavailable(_))) => Err(e),
        Err(e) => {
            run.log(s, pc, &json!({"type": "failure"}), log_status::FAILED, &e.to_string(), Json::Null)?;
            Ok(JobStep::Failed(e.to_string()))
        }
    }
}

/// `ExecuteWorkflow`: runs an activated on-demand workflow on a record the
/// caller may read, as a system job of theirs.
pub(super) fn execute_workflow(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let workflow = req.bound()?;
    let record = req.guid("EntityId")?;
    let all = active(s)?;
    let w = match all.iter().find(|w| w.id == workflow) {
        Some(w) => w.clone(),
        None => {
            return Err(match s.read_system("workflow", workflow)? {
                Some(_) => invalid("The workflow is not activated."),
                None => EngineError::not_found(format!("workflow With Id = {workflow} Does Not Exist")),
            })
        }
    };
    let on_demand =
        s.read_system("workflow", workflow)?.and_then(|f| f.get("ondemand").and_then(Value::as_bool)) == Some(true);
    if !on_demand {
        return Err(invalid(format!("The workflow '{}' is not available to run on demand.", w.name)));
    }
    let entity = s.entity(&w.entity)?;
    let fields = s
        .load(&entity, record)?
        .ok_or_else(|| EngineError::not_found(format!("{} With Id = {record} Does Not Exist", w.entity)))?;
    s.require(&entity, Right::Read, &fields, record)?;
    let job =
        enqueue(s, &w, EntityRef { entity: w.entity.clone(), id: record }, "ExecuteWorkflow", vec![], None, None)?;
    Ok(ActionResponse::property("Id", json!(job)))
}
