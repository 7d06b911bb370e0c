//! Sales processes: an opportunity moves through the stages of its
//! process (Qualify → Develop → Propose → Close by default); a stage sets
//! the sales stage, the pipeline phase and the usual probability.

use relata_metadata::{EntityRef, Schema, Value};
use relata_store::{Param, Storage, Tx};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::org::OrgIds;
use crate::seed::insert;
use crate::session::current;
use crate::session::{Fields, Session};

/// The process new opportunities follow, and its stages: name (en, ru),
/// category (the `salesstage` value) and probability.
pub(crate) const DEFAULT_PROCESS: &str = "Opportunity Sales Process";
const DEFAULT_STAGES: &[(&str, i64, i64)] =
    &[("Qualify", 0, 10), ("Develop", 1, 40), ("Propose", 2, 70), ("Close", 3, 90)];

fn reference(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

/// Sets an opportunity's process, stage, sales stage and phase.
pub(super) fn stage(s: &mut Session<'_, '_, '_>, existing: Option<&Fields>, changes: &mut Fields) -> Result<()> {
    let changed =
        |changes: &Fields, k: &str| changes.get(k).is_some_and(|v| existing.and_then(|e| e.get(k)) != Some(v));
    if existing.is_none() && current(None, changes, "processid").is_none_or(Value::is_null) {
        if let Some(process) = default_process(s)? {
            changes.insert("processid".into(), Value::Uuid(process));
        }
    }
    let process = current(existing, changes, "processid").and_then(Value::as_uuid);
    let stages = match process {
        Some(p) => stages_of(s, p)?,
        None => return Ok(()),
    };
    let chosen = if changed(changes, "stageid") {
        let id = changes.get("stageid").and_then(Value::as_uuid);
        match id {
            None => None,
            Some(id) => Some(stages.iter().find(|st| st.0 == id).cloned().ok_or_else(|| {
                EngineError::Invalid(format!("The stage {id} is not a stage of the opportunity's sales process."))
            })?),
        }
    } else if changed(changes, "salesstage") {
        let category = changes.get("salesstage").and_then(Value::as_i64);
        stages.iter().find(|st| Some(st.2) == category).cloned()
    } else if existing.is_none() || changed(changes, "processid") {
        stages.first().cloned()
    } else {
        None
    };
    if let Some((id, name, category, probability)) = chosen {
        changes.insert("stageid".into(), Value::Uuid(id));
        changes.insert("stepname".into(), Value::String(name));
        if (0..=3).contains(&category) {
            changes.insert("salesstage".into(), Value::Int(category));
        }
        if let Some(p) = probability.filter(|_| !changes.contains_key("closeprobability")) {
            changes.insert("closeprobability".into(), Value::Int(p));
        }
    }
    Ok(())
}

type Stage = (Uuid, String, i64, Option<i64>);

fn stages_of(s: &mut Session<'_, '_, '_>, process: Uuid) -> Result<Vec<Stage>> {
    let rows = s.query_system(
        "processstage",
        &format!("$filter=_processid_value eq {process}&$orderby=relata_stageorder,stagename"),
    )?;
    if rows.is_empty() && s.read_system("workflow", process)?.is_none() {
        return Err(EngineError::Invalid(format!("The sales process {process} does not exist.")));
    }
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some((
                r.get("processstageid")?.as_uuid()?,
                r.get("stagename").and_then(Value::as_str).unwrap_or("").to_string(),
                r.get("stagecategory").and_then(Value::as_i64).unwrap_or(-1),
                r.get("relata_closeprobability").and_then(Value::as_i64),
            ))
        })
        .collect())
}

fn default_process(s: &mut Session<'_, '_, '_>) -> Result<Option<Uuid>> {
    let rows = s.query_system(
        "workflow",
        "$select=workflowid&$filter=category eq 4 and primaryentity eq 'opportunity' and statecode eq 1&$orderby=createdon&$top=1",
    )?;
    Ok(rows.first().and_then(|r| r.get("workflowid")).and_then(Value::as_uuid))
}

/// Seeds the default sales process, the sales team template and the
/// catalog defaults once.
pub(crate) fn seed(tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds) -> Result<()> {
    let exists = tx.query_one(
        "SELECT workflowid FROM workflow WHERE name = $1",
        &[Param::text(DEFAULT_PROCESS)],
        &[Storage::Uuid],
    )?;
    if exists.is_none() {
        let process = Uuid::now_v7();
        insert(
            tx,
            schema,
            "workflow",
            process,
            ids.system_user,
            vec![
                ("name", Value::String(DEFAULT_PROCESS.into())),
                ("category", Value::Int(4)),
                ("primaryentity", Value::String("opportunity".into())),
                ("type", Value::Int(1)),
                ("statecode", Value::Int(1)),
                ("statuscode", Value::Int(2)),
            ],
        )?;
        for (order, (name, category, probability)) in DEFAULT_STAGES.iter().enumerate() {
            insert(
                tx,
                schema,
                "processstage",
                Uuid::now_v7(),
                ids.system_user,
                vec![
                    ("stagename", Value::String((*name).into())),
                    ("stagecategory", Value::Int(*category)),
                    ("processid", reference("workflow", process)),
                    ("primaryentitytypecode", Value::String("opportunity".into())),
                    ("relata_stageorder", Value::Int(order as i64 + 1)),
                    ("relata_closeprobability", Value::Int(*probability)),
                ],
            )?;
        }
    }
    let template = tx.query_one(
        "SELECT teamtemplateid FROM teamtemplate WHERE teamtemplatename = $1",
        &[Param::text(super::team::SALES_TEAM_TEMPLATE)],
        &[Storage::Uuid],
    )?;
    if template.is_none() {
        // Members of an opportunity's sales team read, edit and append to it.
        use relata_security::{AccessRights, Right};
        let rights = [Right::Read, Right::Write, Right::Append, Right::AppendTo]
            .into_iter()
            .fold(AccessRights::NONE, |acc, r| acc.union(AccessRights::of(r)));
        insert(
            tx,
            schema,
            "teamtemplate",
            Uuid::now_v7(),
            ids.system_user,
            vec![
                ("teamtemplatename", Value::String(super::team::SALES_TEAM_TEMPLATE.into())),
                ("objecttypecode", Value::Int(3)),
                ("defaultaccessrightsmask", Value::Int(rights.0 as i64)),
            ],
        )?;
    }
    super::defaults::seed(tx, schema, ids)
}
