//! What processes add to a record's page and forms: the stage bar of its
//! business process flow (moved through the session, so the engine's
//! checks apply), the on-demand workflows to run on it, the log of a
//! workflow run on its system job's page, and the business rules a form
//! applies as the user types.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Request, State};
use axum::response::Response;
use relata_engine::modules::{ActionResponse, RecordReader};
use relata_engine::{Condition, EngineError, RecordInput, Session};
use relata_metadata::{AttrKind, Entity, EntityRef, Value};
use relata_security::Right;
use serde::Serialize;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::{encode, query, readable};
use crate::i18n::{text, Lang};
use crate::pages::{readable_entity, signed_in, PageError};
use crate::{redirect, AppState};

/// The job kind of a workflow's run.
const RUN_JOB: &str = "processes.workflow";

#[derive(Serialize)]
struct Required {
    label: String,
    /// `None`: the stage's record could not be found to look.
    filled: Option<bool>,
}

#[derive(Serialize)]
struct BarStage {
    name: String,
    /// passed, current or next.
    state: &'static str,
    required: Vec<Required>,
}

#[derive(Serialize)]
struct StageBar {
    instance: String,
    name: String,
    stages: Vec<BarStage>,
    since: Option<String>,
    can_prev: bool,
    can_next: bool,
    can_finish: bool,
}

#[derive(Serialize)]
struct LogRow {
    number: i64,
    step: String,
    status: String,
    failed: bool,
    message: String,
    inputs: String,
    outputs: String,
    /// The record the step made or changed: (page, label).
    record: Option<(String, String)>,
}

/// What the record page shows of processes.
#[derive(Serialize, Default)]
pub(crate) struct RecordPanel {
    bars: Vec<StageBar>,
    /// On-demand workflows: (id, name).
    runs: Vec<(String, String)>,
    /// The system job a run just started.
    job: Option<String>,
    /// A workflow run's log, on its system job's page.
    log: Option<Vec<LogRow>>,
    /// A process's own record page leads to its designer.
    designer: Option<String>,
}

impl RecordPanel {
    pub fn is_empty(&self) -> bool {
        self.bars.is_empty()
            && self.runs.is_empty()
            && self.job.is_none()
            && self.log.is_none()
            && self.designer.is_none()
    }
}

/// "2 days", "3 hours", "5 minutes" in the user's language.
fn duration_text(seconds: i64, lang: Lang) -> String {
    if seconds < 60 {
        return text(lang, "pr_less_minute").to_string();
    }
    let (n, unit) = match seconds {
        s if s < 3600 => (s / 60, 0),
        s if s < 86_400 => (s / 3600, 1),
        s => (s / 86_400, 2),
    };
    match lang {
        Lang::En => {
            let word = ["minute", "hour", "day"][unit];
            format!("{n} {word}{}", if n == 1 { "" } else { "s" })
        }
        Lang::Ru => {
            let forms = [["минута", "минуты", "минут"], ["час", "часа", "часов"], ["день", "дня", "дней"]][unit];
            let form = match (n % 10, n % 100) {
                (1, r) if r != 11 => 0,
                (2..=4, r) if !(12..=14).contains(&r) => 1,
                _ => 2,
            };
            format!("{n} {}", forms[form])
        }
    }
}

fn filled(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(t)) => !t.trim().is_empty(),
        _ => true,
    }
}

/// The record a stage is filled on: this one, or the newest record of the
/// stage's table whose lookup names it (a flow across tables).
fn stage_record(
    s: &mut Session<'_, '_, '_>,
    rec: &relata_query::Record,
    entity: &Entity,
    stage_entity: &str,
    columns: &[String],
) -> Option<HashMap<String, Value>> {
    if stage_entity == entity.name() {
        return Some(columns.iter().map(|c| (c.clone(), rec.get(c).cloned().unwrap_or(Value::Null))).collect());
    }
    let e = s.schema.entity(stage_entity).cloned()?;
    let lookup = e
        .attributes()
        .iter()
        .find(|a| a.kind.is_lookup() && a.targets.len() == 1 && a.targets[0].entity == entity.name())?
        .clone();
    let cols: Vec<&String> = columns.iter().filter(|c| e.attribute(c).is_some()).collect();
    let select = if cols.is_empty() {
        e.def.primary_name.clone()
    } else {
        cols.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
    };
    let q =
        format!("$select={select}&$filter={} eq {}&$orderby=createdon desc&$top=1", lookup.lookup_value_name(), rec.id);
    let found = query(s, stage_entity, &q, 1).ok()?.into_iter().next()?;
    Some(columns.iter().map(|c| (c.clone(), found.get(c).cloned().unwrap_or(Value::Null))).collect())
}

fn stage_bars(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    rec: &relata_query::Record,
    lang: Lang,
) -> Result<Vec<StageBar>, PageError> {
    if !readable(s, "businessprocessflowinstance") || !readable(s, "workflow") {
        return Ok(Vec::new());
    }
    let q = format!(
        "$select=name,processid,activestageid,activestagestartedon&$filter=_relata_regardingid_value eq {} and statecode eq 0&$orderby=createdon",
        rec.id
    );
    let instances = match query(s, "businessprocessflowinstance", &q, 5) {
        Ok(i) => i,
        Err(PageError::Engine(EngineError::Forbidden(_))) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let lcid = lang.lcid();
    let mut bars = Vec::new();
    for inst in instances {
        let Some(process) = inst.get("processid").and_then(Value::as_uuid) else { continue };
        let active = inst.get("activestageid").and_then(Value::as_uuid);
        let q = format!(
            "$select=stagename,primaryentitytypecode,relata_requiredfields&$filter=_processid_value eq {process}&$orderby=relata_stageorder,stagename"
        );
        let Ok(stages) = query(s, "processstage", &q, 100) else { continue };
        if stages.is_empty() {
            continue;
        }
        let at = stages.iter().position(|st| Some(st.id) == active).unwrap_or(0);
        let mut shown = Vec::new();
        for (i, st) in stages.iter().enumerate() {
            let stage_entity = relata_engine::stage_entity(st.get("primaryentitytypecode"), entity.name());
            let columns = relata_engine::stage_required_columns(st.get("relata_requiredfields"));
            let values = if columns.is_empty() { None } else { stage_record(s, rec, entity, &stage_entity, &columns) };
            let e = s.schema.entity(&stage_entity).cloned();
            let required = columns
                .iter()
                .map(|c| Required {
                    label: e
                        .as_ref()
                        .and_then(|e| e.attribute(c))
                        .map(|a| a.label.text(lcid).to_string())
                        .unwrap_or_else(|| c.clone()),
                    filled: values.as_ref().map(|v| filled(v.get(c))),
                })
                .collect();
            let state = match i.cmp(&at) {
                std::cmp::Ordering::Less => "passed",
                std::cmp::Ordering::Equal => "current",
                std::cmp::Ordering::Greater => "next",
            };
            let name = st.get("stagename").and_then(Value::as_str).unwrap_or("").to_string();
            shown.push(BarStage { name: crate::i18n::stage_label(&name, lang), state, required });
        }
        let may_move = s
            .schema
            .entity("businessprocessflowinstance")
            .cloned()
            .map(|e| s.may(&e, Right::Write, inst.id))
            .transpose()?
            .unwrap_or(false);
        let since = inst
            .get("activestagestartedon")
            .and_then(Value::as_datetime)
            .map(|t| duration_text((s.now - t).num_seconds().max(0), lang));
        let last = stages.len() - 1;
        bars.push(StageBar {
            instance: inst.id.to_string(),
            name: inst.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            stages: shown,
            since,
            can_prev: may_move && at > 0,
            can_next: may_move && at < last,
            can_finish: may_move && at == last,
        });
    }
    Ok(bars)
}

fn run_log(s: &mut Session<'_, '_, '_>, job: Uuid, lang: Lang) -> Result<Vec<LogRow>, PageError> {
    if !readable(s, "workflowlog") {
        return Ok(Vec::new());
    }
    let q = format!(
        "$select=stepname,status,message,relata_inputs,relata_outputs,relata_stepindex,createdon&$filter=_asyncoperationid_value eq {job}&$orderby=createdon,relata_stepindex"
    );
    let rows = query(s, "workflowlog", &q, 500)?;
    let status_attr = s.schema.entity("workflowlog").and_then(|e| e.attribute("status")).cloned();
    let pretty = |t: &str| {
        serde_json::from_str::<Json>(t)
            .ok()
            .filter(|j| !j.is_null())
            .map(|j| serde_json::to_string_pretty(&j).unwrap_or_default())
            .unwrap_or_else(|| if t == "null" { String::new() } else { t.to_string() })
    };
    Ok(rows
        .iter()
        .map(|r| {
            let status = r.get("status").and_then(Value::as_i64).unwrap_or(0);
            let label = status_attr
                .as_ref()
                .and_then(|a| s.schema.option_label(a, status as i32))
                .map(|l| l.text(lang.lcid()).to_string())
                .unwrap_or_default();
            let str_of = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            // A made or changed record, linked.
            let out: Json = serde_json::from_str(&str_of("relata_outputs")).unwrap_or(Json::Null);
            let record = ["created", "updated"].iter().find_map(|k| {
                let o = out.get(*k)?;
                let e = s.schema.entity(o.get("entity")?.as_str()?)?;
                let id = Uuid::parse_str(o.get("id")?.as_str()?).ok()?;
                Some((format!("/ui/{}/{id}", e.def.entity_set), e.def.label.text(lang.lcid()).to_string()))
            });
            LogRow {
                record,
                number: r.get("relata_stepindex").and_then(Value::as_i64).unwrap_or(0) + 1,
                step: str_of("stepname"),
                status: label,
                failed: status == 3,
                message: str_of("message"),
                inputs: pretty(&str_of("relata_inputs")),
                outputs: pretty(&str_of("relata_outputs")),
            }
        })
        .collect())
}

/// The record page's part: stage bars, on-demand workflows, a started
/// job, a run's log.
pub(crate) fn panel(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    rec: &relata_query::Record,
    lang: Lang,
    q: &HashMap<String, String>,
) -> Result<RecordPanel, PageError> {
    let mut out = RecordPanel { bars: stage_bars(s, entity, rec, lang)?, ..RecordPanel::default() };
    out.runs = on_demand(s, entity)?.into_iter().map(|(id, name)| (id.to_string(), name)).collect();
    if entity.name() == "workflow" && super::may_design(s) {
        let category = rec.get("category").and_then(Value::as_i64);
        if matches!(category, Some(0 | 2 | 4)) {
            out.designer = Some(format!("/ui/processes/{}", rec.id));
        }
    }
    out.job = q.get("job").and_then(|j| Uuid::parse_str(j).ok()).map(|j| j.to_string());
    if entity.name() == "asyncoperation" && rec.get("relata_jobtype").and_then(Value::as_str) == Some(RUN_JOB) {
        out.log = Some(run_log(s, rec.id, lang)?);
    }
    Ok(out)
}

/// A refusal shown on the record page after the rollback; anything else
/// is the page's error.
fn refused(e: EngineError, page: &str, lang: Lang) -> PageError {
    let e = crate::localized(e, lang);
    let message = match &e {
        EngineError::Invalid(m) | EngineError::Conflict(m) | EngineError::PreconditionFailed(m) => Some(m.clone()),
        EngineError::Forbidden(m) => Some(m.text.clone()),
        _ => None,
    };
    match message {
        Some(m) => PageError::Shown(Box::new(redirect(&format!("{page}?problem={}", encode(&m))))),
        None => e.into(),
    }
}

/// `POST /ui/{set}/{id}/stage`: the next or previous stage, or finishing
/// the flow at its last stage, as the user — the engine's checks apply.
pub(crate) async fn move_stage(
    State(st): State<AppState>,
    Path((set, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (headers, form) = match crate::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/{set}/{id}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        let not_found = || EngineError::not_found(text(lang, "not_found").to_string());
        let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
        let page = format!("/ui/{}/{id}", entity.def.entity_set);
        let instance = form.get("instance").and_then(|i| Uuid::parse_str(i).ok()).ok_or_else(not_found)?;
        let inst = s.retrieve("businessprocessflowinstance", instance, &Default::default())?;
        if inst.get("relata_regardingid").and_then(Value::as_uuid) != Some(id) {
            return Err(not_found().into());
        }
        let process = inst.get("processid").and_then(Value::as_uuid).ok_or_else(not_found)?;
        let active = inst.get("activestageid").and_then(Value::as_uuid);
        let stages = query(
            s,
            "processstage",
            &format!("$select=stagename&$filter=_processid_value eq {process}&$orderby=relata_stageorder,stagename"),
            100,
        )?;
        let at = stages.iter().position(|st| Some(st.id) == active).unwrap_or(0);
        let (fields, done) = match form.get("move").map(String::as_str) {
            Some("finish") => (
                vec![("statecode".to_string(), Value::Int(1)), ("statuscode".to_string(), Value::Int(2))],
                text(lang, "pr_finished").to_string(),
            ),
            Some(way @ ("next" | "prev")) => {
                let to = if way == "next" { at + 1 } else { at.wrapping_sub(1) };
                let Some(stage) = stages.get(to) else { return Err(not_found().into()) };
                let name = stage.get("stagename").and_then(Value::as_str).unwrap_or("");
                (
                    vec![(
                        "activestageid".to_string(),
                        Value::Ref(EntityRef { entity: "processstage".into(), id: stage.id }),
                    )],
                    text(lang, "pr_moved").replace("{stage}", &crate::i18n::stage_label(name, lang)),
                )
            }
            _ => return Err(not_found().into()),
        };
        match s.update("businessprocessflowinstance", instance, RecordInput::new(fields), Condition::default(), false) {
            Ok(_) => Ok(redirect(&format!("{page}?done={}", encode(&done)))),
            Err(e) => Err(refused(e, &page, lang)),
        }
    })
    .await
}

/// The activated on-demand workflows of an entity the user may read:
/// (id, name), for a record page's or a list's Run workflow.
pub(crate) fn on_demand(s: &mut Session<'_, '_, '_>, entity: &Entity) -> Result<Vec<(Uuid, String)>, PageError> {
    let offered = s.schema.entity("workflow").is_some_and(|w| w.attribute("ondemand").is_some());
    if !offered || !readable(s, "workflow") || entity.name() == "workflow" {
        return Ok(Vec::new());
    }
    let q = format!(
        "$select=name&$filter=category eq 0 and statecode eq 1 and ondemand eq true and primaryentity eq {}&$orderby=name",
        relata_query::options::string_literal(entity.name())
    );
    Ok(query(s, "workflow", &q, 100)?
        .iter()
        .map(|r| (r.id, r.get("name").and_then(Value::as_str).unwrap_or("").to_string()))
        .collect())
}

/// `ExecuteWorkflow` of `workflow` on one record: the started job.
pub(crate) fn execute(
    s: &mut Session<'_, '_, '_>,
    workflow: Uuid,
    record: Uuid,
) -> relata_engine::Result<Option<Uuid>> {
    let mut params = serde_json::Map::new();
    params.insert("EntityId".into(), json!(record.to_string()));
    let target = Some(EntityRef { entity: "workflow".into(), id: workflow });
    Ok(match s.execute_action("ExecuteWorkflow", target, params, &NoRecord)? {
        ActionResponse::Properties(p) => p.get("Id").and_then(Json::as_str).and_then(|j| Uuid::parse_str(j).ok()),
        _ => None,
    })
}

/// Record parameters are not given to `ExecuteWorkflow`.
struct NoRecord;

impl RecordReader for NoRecord {
    fn record(&self, _: &relata_metadata::Schema, entity: &Entity, _: &Json) -> relata_engine::Result<RecordInput> {
        Err(EngineError::Invalid(format!("no {} record is given here", entity.name())))
    }
}

/// `POST /ui/{set}/{id}/run-workflow`: `ExecuteWorkflow` on the record;
/// the page then links to the system job.
pub(crate) async fn run_workflow(
    State(st): State<AppState>,
    Path((set, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (headers, form) = match crate::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/{set}/{id}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        let not_found = || EngineError::not_found(text(lang, "not_found").to_string());
        let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
        let page = format!("/ui/{}/{id}", entity.def.entity_set);
        let Some(workflow) = form.get("workflow").and_then(|w| Uuid::parse_str(w).ok()) else {
            return Ok(redirect(&page));
        };
        match execute(s, workflow, id) {
            Ok(Some(job)) => Ok(redirect(&format!("{page}?job={job}"))),
            Ok(None) => Ok(redirect(&page)),
            Err(e) => Err(refused(e, &page, lang)),
        }
    })
    .await
}

// ----- business rules on forms -------------------------------------------------

/// How the form's script reads a column's value.
fn kind_of(entity: &Entity, column: &str) -> &'static str {
    match entity.attribute(column).map(|a| a.kind) {
        Some(k) if k.is_option() => "option",
        Some(k) if k.is_lookup() => "lookup",
        Some(AttrKind::Boolean) => "bool",
        Some(AttrKind::Integer | AttrKind::BigInt | AttrKind::Decimal | AttrKind::Money | AttrKind::Double) => "number",
        Some(AttrKind::DateTime) => "date",
        _ => "text",
    }
}

fn fields_in(c: &Json, out: &mut Vec<String>) {
    if let Some(f) = c.get("field").and_then(Json::as_str) {
        out.push(f.to_string());
    }
    for group in ["all", "any"] {
        for inner in c.get(group).and_then(Json::as_array).into_iter().flatten() {
            fields_in(inner, out);
        }
    }
}

/// The entity's activated business rules as the form's script reads them
/// (JSON safe inside a `<script>` element), or `None` when it has none.
pub(crate) fn form_rules(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    creating: bool,
) -> Result<Option<String>, PageError> {
    let rules = s.business_rules(entity.name())?;
    if rules.is_empty() {
        return Ok(None);
    }
    let mut named = Vec::new();
    let mut list = Vec::new();
    for r in &rules {
        let d = &r.definition;
        if let Some(c) = d.get("condition") {
            fields_in(c, &mut named);
        }
        for branch in ["then", "else"] {
            for a in d.get(branch).and_then(Json::as_array).into_iter().flatten() {
                if let Some(f) = a.get("field").and_then(Json::as_str) {
                    named.push(f.to_string());
                }
            }
        }
        list.push(json!({
            "name": r.name,
            "condition": d.get("condition").cloned().unwrap_or(Json::Null),
            "then": d.get("then").cloned().unwrap_or(json!([])),
            "else": d.get("else").cloned().unwrap_or(json!([])),
        }));
    }
    let fields: BTreeMap<String, &str> = named.into_iter().map(|f| (f.clone(), kind_of(entity, &f))).collect();
    let body = json!({ "new": creating, "fields": fields, "rules": list }).to_string();
    // Nothing in it may end the script element or start markup.
    Ok(Some(body.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_both_languages() {
        assert_eq!(duration_text(30, Lang::En), "less than a minute");
        assert_eq!(duration_text(2 * 86_400 + 5, Lang::En), "2 days");
        assert_eq!(duration_text(3600, Lang::En), "1 hour");
        assert_eq!(duration_text(2 * 86_400, Lang::Ru), "2 дня");
        assert_eq!(duration_text(5 * 60, Lang::Ru), "5 минут");
        assert_eq!(duration_text(21 * 3600, Lang::Ru), "21 час");
        assert_eq!(duration_text(11 * 86_400, Lang::Ru), "11 дней");
    }
}
