//! Business process flows (`workflow` of category Business Process
//! Flow): stages (`processstage`, ordered, each of an entity, with the
//! columns it requires) that a record walks through. Each record of a
//! flow's first entity gets an instance (`businessprocessflowinstance`)
//! at the first stage when it is created; moving the instance's active
//! stage forward checks the stage being left has its required columns
//! filled on its record — the record of the stage's own entity, so a flow
//! may span entities (a lead's stages, then the opportunity made from it,
//! found by its lookup to the lead). Backward moves are free. Each stay in
//! a stage is kept (`relata_stagetime`) for analytics.
//!
//! A record whose entity keeps its own stage (`stageid`, as opportunities
//! do for the sales process) and its instance move together: either way
//! round, through the same checks.

use std::sync::Arc;

use relata_metadata::{EntityRef, Value};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::modules::StepContext;
use crate::session::{Condition, Fields, RecordInput, Session};

/// `workflow.category` of a business process flow.
pub(super) const FLOW: i64 = 4;

/// The entity a `processstage` is on: the one it names
/// (`primaryentitytypecode`), or its flow's.
pub fn stage_entity(named: Option<&Value>, flow_entity: &str) -> String {
    named.and_then(Value::as_str).filter(|e| !e.is_empty()).unwrap_or(flow_entity).to_string()
}

/// The columns a `processstage` needs filled before its flow moves on
/// (`relata_requiredfields`, comma-separated logical names).
pub fn stage_required_columns(listed: Option<&Value>) -> Vec<String> {
    let listed = listed.and_then(Value::as_str).unwrap_or("");
    listed.split(',').map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()).collect()
}

#[derive(Debug, Clone)]
pub(super) struct Stage {
    pub id: Uuid,
    pub name: String,
    pub entity: String,
    pub required: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Flow {
    pub id: Uuid,
    pub name: String,
    pub stages: Vec<Stage>,
}

/// The activated flows with their stages in order.
pub(super) fn active(s: &mut Session<'_, '_, '_>) -> Result<Arc<Vec<Flow>>> {
    super::cached(s, "processes.flows", load)
}

fn load(s: &mut Session<'_, '_, '_>) -> Result<Vec<Flow>> {
    let rows = s.query_system("workflow", &format!("$filter=category eq {FLOW} and statecode eq 1"))?;
    let mut flows = Vec::new();
    for r in rows {
        let Some(id) = r.get("workflowid").and_then(Value::as_uuid) else { continue };
        let entity = r.get("primaryentity").and_then(Value::as_str).unwrap_or_default().to_string();
        let stages = s
            .query_system(
                "processstage",
                &format!("$filter=_processid_value eq {id}&$orderby=relata_stageorder,stagename"),
            )?
            .into_iter()
            .filter_map(|st| {
                Some(Stage {
                    id: st.get("processstageid")?.as_uuid()?,
                    name: st.get("stagename").and_then(Value::as_str).unwrap_or_default().to_string(),
                    entity: stage_entity(st.get("primaryentitytypecode"), &entity),
                    required: stage_required_columns(st.get("relata_requiredfields")),
                })
            })
            .collect::<Vec<_>>();
        if stages.is_empty() {
            continue;
        }
        let name = r.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        flows.push(Flow { id, name, stages });
    }
    Ok(flows)
}

const OWN: &[&str] =
    &["businessprocessflowinstance", "relata_stagetime", "workflow", "processstage", "workflowlog", "asyncoperation"];

/// A new record of a flow's first entity starts its walk.
pub(super) fn start(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let entity = ctx.entity.name().to_string();
    if OWN.contains(&entity.as_str()) {
        return Ok(());
    }
    let flows = active(s)?;
    // A record that names its own process (an opportunity's `processid`)
    // walks that one only.
    let own = ctx.value("processid").and_then(Value::as_uuid);
    for flow in flows.iter().filter(|f| f.stages[0].entity == entity && own.is_none_or(|p| p == f.id)) {
        let record = EntityRef { entity: entity.clone(), id: ctx.id };
        let first = &flow.stages[0];
        let owner = ctx.value("ownerid").cloned().filter(|o| matches!(o, Value::Ref(_)));
        let mut fields = vec![
            ("name".to_string(), Value::String(flow.name.chars().take(200).collect())),
            ("processid".to_string(), Value::Ref(EntityRef { entity: "workflow".into(), id: flow.id })),
            ("activestageid".to_string(), Value::Ref(EntityRef { entity: "processstage".into(), id: first.id })),
        ];
        if let Some(o) = owner {
            fields.push(("ownerid".into(), o));
        }
        let id = s.as_system(|s| s.create("businessprocessflowinstance", RecordInput::new(fields)))?;
        let mut changes = Fields::new();
        changes.insert("relata_regardingid".into(), Value::Ref(record));
        changes.insert("activestagestartedon".into(), Value::DateTime(s.now));
        changes.insert("traversedpath".into(), Value::String(first.id.to_string()));
        s.system_update("businessprocessflowinstance", id, changes)?;
        enter(s, id, first)?;
    }
    Ok(())
}

/// The record a stage is filled on: the instance's own record, or the
/// newest record of the stage's entity whose lookup names it.
fn record_of(s: &mut Session<'_, '_, '_>, regarding: &EntityRef, stage: &Stage) -> Result<Option<EntityRef>> {
    if stage.entity == regarding.entity {
        return Ok(Some(regarding.clone()));
    }
    let Some(e) = s.schema.entity(&stage.entity).cloned() else { return Ok(None) };
    let lookup = e
        .attributes()
        .iter()
        .find(|a| a.kind.is_lookup() && a.targets.len() == 1 && a.targets[0].entity == regarding.entity);
    let Some(lookup) = lookup else { return Ok(None) };
    let rows = s.query_system(
        &stage.entity,
        &format!(
            "$select={}&$filter={} eq {}&$orderby=createdon desc&$top=1",
            e.primary_id(),
            lookup.lookup_value_name(),
            regarding.id
        ),
    )?;
    Ok(rows
        .first()
        .and_then(|r| r.get(e.primary_id()))
        .and_then(Value::as_uuid)
        .map(|id| EntityRef { entity: stage.entity.clone(), id }))
}

/// The required columns of `stage` left empty on its record, by label.
fn missing(s: &mut Session<'_, '_, '_>, regarding: &EntityRef, stage: &Stage) -> Result<Vec<String>> {
    if stage.required.is_empty() {
        return Ok(Vec::new());
    }
    let Some(record) = record_of(s, regarding, stage)? else {
        return Ok(vec![format!("the {} of this stage", stage.entity)]);
    };
    let fields = s.read_system(&record.entity, record.id)?.unwrap_or_default();
    let e = s.schema.entity(&record.entity).cloned();
    Ok(stage
        .required
        .iter()
        .filter(|c| match fields.get(c.as_str()) {
            None | Some(Value::Null) => true,
            Some(Value::String(t)) => t.trim().is_empty(),
            _ => false,
        })
        .map(|c| e.as_ref().and_then(|e| e.attribute(c)).map(|a| a.label.en.clone()).unwrap_or_else(|| c.clone()))
        .collect())
}

fn enter(s: &mut Session<'_, '_, '_>, instance: Uuid, stage: &Stage) -> Result<()> {
    let owner = s.read_system("businessprocessflowinstance", instance)?.and_then(|f| f.get("ownerid").cloned());
    let mut fields = vec![
        ("relata_name".to_string(), Value::String(stage.name.clone())),
        (
            "relata_instanceid".to_string(),
            Value::Ref(EntityRef { entity: "businessprocessflowinstance".into(), id: instance }),
        ),
        ("relata_stageid".to_string(), Value::Ref(EntityRef { entity: "processstage".into(), id: stage.id })),
        ("relata_enteredon".to_string(), Value::DateTime(s.now)),
    ];
    if let Some(o) = owner {
        fields.push(("ownerid".into(), o));
    }
    s.as_system(|s| s.create("relata_stagetime", RecordInput::new(fields)))?;
    Ok(())
}

fn leave(s: &mut Session<'_, '_, '_>, instance: Uuid, stage: Uuid) -> Result<()> {
    let open = s.query_system(
        "relata_stagetime",
        &format!("$filter=_relata_instanceid_value eq {instance} and _relata_stageid_value eq {stage} and relata_lefton eq null"),
    )?;
    for row in open {
        let Some(id) = row.get("relata_stagetimeid").and_then(Value::as_uuid) else { continue };
        let entered = row.get("relata_enteredon").and_then(Value::as_datetime).unwrap_or(s.now);
        let mut changes = Fields::new();
        changes.insert("relata_lefton".into(), Value::DateTime(s.now));
        changes.insert("relata_seconds".into(), Value::Int((s.now - entered).num_seconds().max(0)));
        s.system_update("relata_stagetime", id, changes)?;
    }
    Ok(())
}

fn refuse(message: String) -> EngineError {
    EngineError::refused(Some("activestageid"), "processes.stage", vec![], message)
}

/// Moving an instance: checked before it is written.
pub(super) fn check_move(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let Some(pre) = ctx.pre_image else { return Ok(()) };
    let regarding = match pre.get("relata_regardingid") {
        Some(Value::Ref(r)) => r.clone(),
        _ => return Ok(()),
    };
    let process = pre.get("processid").and_then(Value::as_uuid);
    let flows = active(s)?;
    let Some(flow) = flows.iter().find(|f| Some(f.id) == process).cloned() else {
        if ctx.target.contains_key("activestageid") {
            return Err(refuse("The business process flow is not activated.".into()));
        }
        return Ok(());
    };
    let from = pre.get("activestageid").and_then(Value::as_uuid);
    let at = flow.stages.iter().position(|st| Some(st.id) == from).unwrap_or(0);
    let finishing = ctx.target.get("statecode").and_then(Value::as_i64) == Some(1)
        && ctx.target.get("statuscode").and_then(Value::as_i64).unwrap_or(2) == 2;
    if finishing {
        if at + 1 != flow.stages.len() {
            return Err(refuse("A business process flow finishes at its last stage.".into()));
        }
        let gaps = missing(s, &regarding, &flow.stages[at])?;
        if !gaps.is_empty() {
            return Err(refuse(format!("Fill in {} to finish the stage '{}'.", gaps.join(", "), flow.stages[at].name)));
        }
        ctx.target.insert("completedon".into(), Value::DateTime(s.now));
    }
    let Some(to) = ctx.target.get("activestageid").map(|v| v.as_uuid()) else { return Ok(()) };
    if to == from {
        ctx.target.remove("activestageid");
        return Ok(());
    }
    let Some(to) = to else { return Err(refuse("The active stage cannot be emptied.".into())) };
    let next = flow
        .stages
        .iter()
        .position(|st| st.id == to)
        .ok_or_else(|| refuse(format!("That stage is not a stage of '{}'.", flow.name)))?;
    if next > at {
        // A record that keeps its own stage (an opportunity whose sales
        // stage was set) may jump: the flow follows it, and every stage it
        // passes must be complete. Moving the flow itself goes one by one.
        let followed = record_of(s, &regarding, &flow.stages[next])?
            .map(|r| s.read_system(&r.entity, r.id))
            .transpose()?
            .flatten()
            .and_then(|f| f.get("stageid").and_then(Value::as_uuid))
            == Some(to);
        if next != at + 1 && !followed {
            return Err(refuse(format!(
                "'{}' moves one stage at a time: the next stage is '{}'.",
                flow.name,
                flow.stages[at + 1].name
            )));
        }
        for passed in &flow.stages[at..next] {
            let gaps = missing(s, &regarding, passed)?;
            if !gaps.is_empty() {
                return Err(refuse(format!(
                    "Fill in {} before moving on from the stage '{}'.",
                    gaps.join(", "),
                    passed.name
                )));
            }
        }
        if record_of(s, &regarding, &flow.stages[next])?.is_none() {
            return Err(refuse(format!(
                "Create the {} of the stage '{}' first.",
                flow.stages[next].entity, flow.stages[next].name
            )));
        }
    }
    let path: Vec<String> = flow.stages[..=next].iter().map(|st| st.id.to_string()).collect();
    ctx.target.insert("traversedpath".into(), Value::String(path.join(",")));
    ctx.target.insert("activestagestartedon".into(), Value::DateTime(s.now));
    Ok(())
}

/// After a move: the stays in stages, and the record's own stage.
pub(super) fn moved(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let Some(pre) = ctx.pre_image else { return Ok(()) };
    let Some(to) = ctx.target.get("activestageid").and_then(Value::as_uuid) else { return Ok(()) };
    if let Some(from) = pre.get("activestageid").and_then(Value::as_uuid) {
        leave(s, ctx.id, from)?;
    }
    let flows = active(s)?;
    let process = pre.get("processid").and_then(Value::as_uuid);
    let Some(flow) = flows.iter().find(|f| Some(f.id) == process).cloned() else { return Ok(()) };
    let Some(stage) = flow.stages.iter().find(|st| st.id == to).cloned() else { return Ok(()) };
    enter(s, ctx.id, &stage)?;
    let regarding = match pre.get("relata_regardingid") {
        Some(Value::Ref(r)) => r.clone(),
        _ => return Ok(()),
    };
    if let Some(record) = record_of(s, &regarding, &stage)? {
        let keeps_stage = s.schema.entity(&record.entity).is_some_and(|e| e.attribute("stageid").is_some());
        if keeps_stage {
            let fields = s.read_system(&record.entity, record.id)?.unwrap_or_default();
            let current = fields.get("stageid").and_then(Value::as_uuid);
            // Only the record's own process moves its own stage.
            let own = fields.get("processid").and_then(Value::as_uuid);
            if current != Some(to) && own.is_none_or(|p| p == flow.id) {
                let input = RecordInput::new(vec![("stageid".into(), Value::Uuid(to))]);
                s.update(&record.entity, record.id, input, Condition::default(), false)?;
            }
        }
    }
    Ok(())
}

/// A record that keeps its own stage moved it: its instance follows,
/// through the same checks.
pub(super) fn follow(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let Some(to) = ctx.target.get("stageid").and_then(Value::as_uuid) else { return Ok(()) };
    if ctx.pre_image.and_then(|p| p.get("stageid")).and_then(Value::as_uuid) == Some(to) {
        return Ok(());
    }
    let own = match ctx.value("processid").and_then(Value::as_uuid) {
        Some(p) => format!(" and _processid_value eq {p}"),
        None => String::new(),
    };
    let instances = s.query_system(
        "businessprocessflowinstance",
        &format!(
            "$select=businessprocessflowinstanceid,activestageid&$filter=_relata_regardingid_value eq {} and statecode eq 0{own}",
            ctx.id
        ),
    )?;
    for i in instances {
        let Some(id) = i.get("businessprocessflowinstanceid").and_then(Value::as_uuid) else { continue };
        if i.get("activestageid").and_then(Value::as_uuid) == Some(to) {
            continue;
        }
        let input = RecordInput::new(vec![(
            "activestageid".into(),
            Value::Ref(EntityRef { entity: "processstage".into(), id: to }),
        )]);
        s.as_system(|s| s.update("businessprocessflowinstance", id, input, Condition::default(), false))?;
    }
    Ok(())
}
