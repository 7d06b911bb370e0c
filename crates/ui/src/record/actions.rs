//! A record's business actions: which the record's state and the user's
//! rights allow, shown as buttons (with a small form where the action
//! takes parameters), and run through the engine's actions — the same
//! ones the Web API's `QualifyLead`, `WinOpportunity`,
//! `ConvertQuoteToSalesOrder`… call.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use relata_engine::modules::{Action, ActionResponse, Command, CommandRecord, ParamType, Parameter, RecordReader};
use relata_engine::{Condition, EngineError, RecordInput, Session};
use relata_metadata::{AttrKind, Entity, EntityRef, Value};
use relata_security::{AccessRights, Right};
use serde::Serialize;
use uuid::Uuid;

use super::super::i18n::{text, Lang};
use super::super::pages::{readable_entity, signed_in, PageError};
use super::super::redirect;
use crate::AppState;

#[derive(Debug, Serialize)]
pub(super) struct Button {
    pub key: String,
    pub label: String,
    /// The action's parameters; none = a plain button.
    pub fields: Vec<Input>,
    /// A link instead of a form (printing).
    pub href: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Input {
    pub name: String,
    pub label: String,
    /// text, date, select or checkbox.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    /// The keyboard a phone shows: `decimal` for numbers.
    pub inputmode: &'static str,
}

fn state_of(rec: &relata_query::Record) -> i64 {
    rec.get("statecode").and_then(Value::as_i64).unwrap_or(0)
}

/// Forms edit a record in its first state only (open, draft, active):
/// closed, won, submitted or inactive records are read-only.
pub(in super::super) fn read_only(entity: &Entity, rec: &relata_query::Record) -> bool {
    let state = state_of(rec);
    // An entity that declares its lifecycle says which states are read-only.
    if !entity.def.transitions.is_empty() {
        return entity.state(state as i32).is_some_and(|st| st.read_only);
    }
    entity.attribute("statecode").is_some() && state != 0
}

fn button(key: &'static str, lang: Lang) -> Button {
    Button { key: key.into(), label: text(lang, &format!("act_{key}")).into(), fields: Vec::new(), href: None }
}

/// The statuses of a state, as select options.
fn statuses(entity: &Entity, state: i32, lang: Lang) -> Vec<(String, String)> {
    entity
        .state(state)
        .map(|s| s.statuses.iter().map(|x| (x.value.to_string(), x.label.text(lang.lcid()).to_string())).collect())
        .unwrap_or_default()
}

fn input(name: &str, label: &str, kind: &'static str, value: String, lang: Lang) -> Input {
    Input {
        name: name.into(),
        label: text(lang, label).to_string(),
        kind,
        value,
        options: Vec::new(),
        inputmode: "text",
    }
}

/// Users and teams, as `systemuser:<id>` options.
fn principals(s: &mut Session<'_, '_, '_>) -> Result<Vec<(String, String)>, PageError> {
    super::super::bulk::assignees(s)
}

/// The actions the record's state and the user's rights allow now.
pub(super) fn available(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    rec: &relata_query::Record,
    lang: Lang,
) -> Result<Vec<Button>, PageError> {
    let id = rec.id;
    let write = s.may(entity, Right::Write, id)?;
    let state = state_of(rec);
    let mut out = Vec::new();
    let active_inactive =
        entity.state(0).is_some_and(|x| x.name == "Active") && entity.state(1).is_some_and(|x| x.name == "Inactive");
    if write {
        match (entity.name(), state) {
            // Users: a new password (administrators), sign-in unlocked,
            // enabled or disabled.
            ("systemuser", _) => {
                if s.principal.is_system_administrator || s.principal.all_privileges {
                    let mut p = button("set_password", lang);
                    p.fields.push(input("password", "act_new_password", "password", String::new(), lang));
                    p.fields.push(input("password2", "act_password_again", "password", String::new(), lang));
                    out.push(p);
                }
                out.push(button("unlock", lang));
                let disabled = rec.get("isdisabled").and_then(Value::as_bool).unwrap_or(false);
                if id != s.principal.user_id {
                    out.push(button(if disabled { "enable" } else { "disable" }, lang));
                }
            }
            // The base currency may change until money is recorded.
            ("organization", _) if !s.money_recorded()? => {
                let mut b = button("base_currency", lang);
                let mut code = input("currency", "act_currency", "select", String::new(), lang);
                code.options =
                    relata_engine::currency_codes().into_iter().map(|c| (c.to_string(), c.to_string())).collect();
                b.fields.push(code);
                out.push(b);
            }
            // An open activity is closed in one step, with its outcome.
            (_, 0) if entity.def.is_activity => {
                for (key, closed) in [("complete", 1), ("cancel_activity", 2)] {
                    let mut b = button(key, lang);
                    let mut reason = input("status", "act_reason", "select", String::new(), lang);
                    reason.options = statuses(entity, closed, lang);
                    b.fields.push(reason);
                    b.fields.push(input("outcome", "act_outcome", "text", String::new(), lang));
                    out.push(b);
                }
            }
            (_, 0) if active_inactive => out.push(button("deactivate", lang)),
            (_, 1) if active_inactive => out.push(button("activate", lang)),
            _ => {}
        }
        out.extend(declared(s, entity, rec, lang)?);
    }
    if s.org.modules().prints(entity.name()) {
        let mut p = button("print", lang);
        p.href = Some(format!("/ui/{}/{id}/pdf", entity.def.entity_set));
        out.push(p);
    }
    if entity.is_owned() {
        if s.may(entity, Right::Assign, id)? {
            let mut a = button("assign", lang);
            let mut owner = input("owner", "act_owner", "select", String::new(), lang);
            owner.options = principals(s)?;
            a.fields.push(owner);
            out.push(a);
        }
        if s.may(entity, Right::Share, id)? {
            let mut sh = button("share", lang);
            let mut who = input("principal", "act_share_with", "select", String::new(), lang);
            who.options = principals(s)?;
            sh.fields.push(who);
            for (name, right) in [("read", "Read"), ("write", "Write"), ("append", "Append"), ("appendto", "Append To")]
            {
                sh.fields.push(Input {
                    name: format!("right_{name}"),
                    label: right.to_string(),
                    kind: "checkbox",
                    value: if name == "read" { "1".into() } else { String::new() },
                    options: Vec::new(),
                    inputmode: "text",
                });
            }
            out.push(sh);
        }
    }
    Ok(out)
}

/// The buttons an entity's metadata and its modules declare: a plain
/// state change with a label (`[[entity.transitions]]`), and the commands
/// of the catalog's actions — offered in the states the action's
/// transitions start from, with a form for what the user decides.
fn declared(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    rec: &relata_query::Record,
    lang: Lang,
) -> Result<Vec<Button>, PageError> {
    let state = state_of(rec) as i32;
    let status = rec.get("statuscode").and_then(Value::as_i64);
    let mut out = Vec::new();
    let transitions = &entity.def.transitions;
    for t in transitions.iter().filter(|t| t.via.is_empty() && t.from.contains(&state)) {
        let Some(label) = &t.label else { continue };
        // A change to the status the record has already is no change.
        if t.status.is_some_and(|st| t.to == state && Some(i64::from(st)) == status) {
            continue;
        }
        let mut b = Button { key: t.key(), label: label.text(lang.lcid()).to_string(), fields: Vec::new(), href: None };
        if t.status.is_none() && entity.state(t.to).is_some_and(|st| st.statuses.len() > 1) {
            let mut reason = input("status", "act_reason", "select", String::new(), lang);
            reason.options = statuses(entity, t.to, lang);
            b.fields.push(reason);
        }
        out.push(b);
    }
    for (a, c) in commands(s, entity) {
        let allowed = if c.states.is_empty() {
            let makes: Vec<_> = transitions.iter().filter(|t| t.via.iter().any(|v| v == a.name)).collect();
            makes.is_empty() || makes.iter().any(|t| t.from.contains(&state))
        } else {
            c.states.contains(&state)
        };
        if !allowed {
            continue;
        }
        if let Some(fields) = command_inputs(s, entity, rec, a, c, lang) {
            let label = if lang.lcid() == 1049 { c.label.1 } else { c.label.0 };
            out.push(Button { key: c.key.clone(), label: label.into(), fields, href: None });
        }
    }
    Ok(out)
}

/// The commands of the catalog on `entity` the user's privileges allow.
fn commands<'o>(s: &Session<'o, '_, '_>, entity: &Entity) -> Vec<(&'o Action, &'o Command)> {
    let org: &'o relata_engine::Org = s.org;
    let modules = org.modules();
    modules
        .actions()
        .iter()
        .filter(|a| !a.is_function && a.privilege.is_none_or(|p| s.principal.has(p)))
        .flat_map(|a| a.commands.iter().map(move |c| (a, c)))
        .filter(|(_, c)| c.entity == entity.name())
        .collect()
}

/// The states a command's action leads the entity to.
fn targets(entity: &Entity, action: &str) -> Vec<i32> {
    entity.def.transitions.iter().filter(|t| t.via.iter().any(|v| v == action)).map(|t| t.to).collect()
}

/// The form of a command: the status to close with, the columns of its
/// record parameter, then its plain parameters. `None` when the action
/// needs something a form cannot give.
fn command_inputs(
    s: &Session<'_, '_, '_>,
    entity: &Entity,
    rec: &relata_query::Record,
    a: &Action,
    c: &Command,
    lang: Lang,
) -> Option<Vec<Input>> {
    let lcid = lang.lcid();
    let mut fields = Vec::new();
    if let Some(param) = c.status {
        let mut options: Vec<(String, String)> = targets(entity, a.name)
            .into_iter()
            .flat_map(|to| statuses(entity, to, lang))
            .filter(|(v, _)| !c.hidden_statuses.iter().any(|h| h.to_string() == *v))
            .collect();
        options.dedup();
        // One status is no choice: the action's own default applies.
        if options.len() > 1 {
            let label = a.parameters.iter().find(|p| p.name == param).map_or(param, |p| param_label(p, lang));
            let (name, kind, value) = (param.into(), "select", String::new());
            fields.push(Input { name, label: label.into(), kind, value, options, inputmode: "text" });
        }
    }
    if let CommandRecord::Within(param, _) = c.record {
        let Some(ParamType::Entity(of)) = a.parameters.iter().find(|p| p.name == param).map(|p| p.kind) else {
            return None;
        };
        let of = s.schema.entity(of)?;
        for (column, from) in &c.columns {
            let attr = of.attribute(column)?;
            let start = from.and_then(|f| rec.get(f));
            let mut value = super::super::forms::input_value(attr, start);
            let kind = super::super::forms::input_kind(attr);
            if value.is_empty() && kind == "date" {
                value = Utc::now().date_naive().to_string();
            }
            fields.push(Input {
                name: column.to_string(),
                label: attr.label.text(lcid).to_string(),
                kind: if kind == "textarea" { "text" } else { kind },
                value,
                options: Vec::new(),
                inputmode: if matches!(
                    attr.kind,
                    AttrKind::Integer | AttrKind::BigInt | AttrKind::Decimal | AttrKind::Money | AttrKind::Double
                ) {
                    "decimal"
                } else {
                    "text"
                },
            });
        }
    }
    for p in &a.parameters {
        let is_record = matches!(c.record, CommandRecord::Id(r) | CommandRecord::Within(r, _) if r == p.name);
        if !asks(c, p) {
            // What the form cannot give, the action must do without.
            if !p.optional && !is_record {
                return None;
            }
            continue;
        }
        let mut input = param_input(p, lang)?;
        if let Some((_, v)) = c.defaults.iter().find(|(n, _)| *n == p.name) {
            input.value = match v {
                serde_json::Value::Bool(b) => if *b { "1" } else { "" }.to_string(),
                serde_json::Value::String(t) => t.clone(),
                other => other.to_string(),
            };
        }
        fields.push(input);
    }
    Some(fields)
}

fn param_label(p: &Parameter, lang: Lang) -> &'static str {
    match p.label {
        Some((_, ru)) if lang.lcid() == 1049 => ru,
        Some((en, _)) => en,
        None => p.name,
    }
}

/// A form input for a plain parameter; `None` for one a form cannot give
/// (a record, a query).
fn param_input(p: &Parameter, lang: Lang) -> Option<Input> {
    let kind = form_kind(p)?;
    let inputmode = if matches!(p.kind, ParamType::Integer | ParamType::Decimal) { "decimal" } else { "text" };
    let (name, label) = (p.name.into(), param_label(p, lang).into());
    Some(Input { name, label, kind, value: String::new(), options: Vec::new(), inputmode })
}

/// The input a plain parameter takes; `None` for a record or a query.
fn form_kind(p: &Parameter) -> Option<&'static str> {
    match p.kind {
        ParamType::Boolean => Some("checkbox"),
        ParamType::DateTime => Some("date"),
        ParamType::Integer | ParamType::Decimal | ParamType::String | ParamType::Guid => Some("text"),
        _ => None,
    }
}

/// Does the command's form ask for this parameter? The ones it names, or
/// else every plain one but the record and the status.
fn asks(c: &Command, p: &Parameter) -> bool {
    if !c.asks.is_empty() {
        return c.asks.contains(&p.name);
    }
    let is_record = matches!(c.record, CommandRecord::Id(r) | CommandRecord::Within(r, _) if r == p.name);
    !is_record && c.status != Some(p.name) && form_kind(p).is_some()
}

/// Runs a command's action with the form's values as its parameters;
/// answers the page to go to.
fn run_command(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    key: &str,
    form: &HashMap<String, String>,
    lang: Lang,
) -> Result<String, EngineError> {
    let unknown = || EngineError::forbidden(text(lang, "act_unknown").to_string());
    let (action, command) = commands(s, entity).into_iter().find(|(_, c)| c.key == key).ok_or_else(unknown)?;
    let mut params = serde_json::Map::new();
    let mut target = None;
    let mut record = RecordInput::default();
    match command.record {
        CommandRecord::Bound => target = Some(EntityRef { entity: entity.name().into(), id }),
        CommandRecord::Id(p) => {
            params.insert(p.into(), serde_json::Value::String(id.to_string()));
        }
        CommandRecord::Within(p, lookup) => {
            let Some(ParamType::Entity(of)) = action.parameters.iter().find(|x| x.name == p).map(|x| x.kind) else {
                return Err(unknown());
            };
            let of = s.schema.entity(of).cloned().ok_or_else(unknown)?;
            record.fields.push((lookup.into(), reference(entity.name(), id)));
            for (column, _) in &command.columns {
                let Some(attr) = of.attribute(column) else { continue };
                let raw = form.get(*column).map(String::as_str).unwrap_or("");
                let value = super::super::forms::parse_input(attr, raw, lang)
                    .map_err(|m| EngineError::Invalid(format!("{}: {m}", attr.label.text(lang.lcid()))))?;
                if value != Value::Null {
                    record.fields.push((column.to_string(), value));
                }
            }
            params.insert(p.into(), serde_json::Value::Object(Default::default()));
        }
    }
    if let Some(p) = command.status {
        if let Some(v) = form.get(p).and_then(|v| v.trim().parse::<i64>().ok()) {
            params.insert(p.into(), v.into());
        }
    }
    for p in &action.parameters {
        if !asks(command, p) || params.contains_key(p.name) {
            continue;
        }
        let raw = form.get(p.name).map(|v| v.trim()).unwrap_or("");
        let value = match p.kind {
            ParamType::Boolean => serde_json::Value::Bool(!raw.is_empty()),
            _ if raw.is_empty() => continue,
            ParamType::Integer => serde_json::Value::from(
                raw.parse::<i64>().map_err(|_| EngineError::Invalid(format!("{} must be a whole number", p.name)))?,
            ),
            ParamType::Decimal => serde_json::Number::from_f64(
                relata_print::format::parse_decimal(raw)
                    .and_then(|d| d.to_string().parse::<f64>().ok())
                    .ok_or_else(|| EngineError::Invalid(format!("{} must be a number", p.name)))?,
            )
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
            ParamType::DateTime => {
                let day = crate::zone::parse_day(raw)
                    .ok_or_else(|| EngineError::Invalid(format!("{} must be a date", p.name)))?;
                serde_json::Value::String(format!("{day}T00:00:00Z"))
            }
            _ => serde_json::Value::String(raw.to_string()),
        };
        params.insert(p.name.to_string(), value);
    }
    let reader = FormRecord(record);
    let opened = match s.execute_action(action.name, target, params, &reader)? {
        ActionResponse::Record(r) => Some(r),
        ActionResponse::References(refs) => {
            command.opens.iter().find_map(|e| refs.iter().find(|r| r.entity == *e)).or(refs.first()).cloned()
        }
        _ => None,
    };
    Ok(opened.map_or_else(|| page_of(s, entity.name(), id), |r| page_of(s, &r.entity, r.id)))
}

/// The record a command's form gives for its record parameter.
struct FormRecord(RecordInput);

impl RecordReader for FormRecord {
    fn record(
        &self,
        _: &relata_metadata::Schema,
        _: &Entity,
        _: &serde_json::Value,
    ) -> relata_engine::Result<RecordInput> {
        Ok(self.0.clone())
    }
}

fn bool_field(form: &HashMap<String, String>, name: &str) -> bool {
    form.get(name).is_some_and(|v| !v.is_empty())
}

fn status_field(form: &HashMap<String, String>) -> Option<i64> {
    form.get("status").and_then(|v| v.parse().ok())
}

fn text_field(form: &HashMap<String, String>, name: &str) -> Option<Value> {
    form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()).map(|v| Value::String(v.to_string()))
}

fn reference(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

fn principal_field(form: &HashMap<String, String>, name: &str) -> Option<EntityRef> {
    let (e, id) = form.get(name)?.split_once(':')?;
    let id = Uuid::parse_str(id).ok()?;
    matches!(e, "systemuser" | "team").then(|| EntityRef { entity: e.into(), id })
}

/// A record's page URL.
fn page_of(s: &Session<'_, '_, '_>, entity: &str, id: Uuid) -> String {
    let set = s.schema.entity(entity).map(|e| e.def.entity_set.clone()).unwrap_or_default();
    format!("/ui/{set}/{id}")
}

/// Runs one action; returns the page to go to.
fn perform(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    action: &str,
    form: &HashMap<String, String>,
    lang: Lang,
) -> Result<String, EngineError> {
    let here = page_of(s, entity.name(), id);
    // An update of the record, as the user, whatever its version.
    let write = |s: &mut Session<'_, '_, '_>, values: Vec<(String, Value)>| -> Result<(), EngineError> {
        s.update(
            entity.name(),
            id,
            RecordInput::new(values),
            Condition { if_match: Some(None), ..Default::default() },
            false,
        )
        .map(|_| ())
    };
    let set_state = |s: &mut Session<'_, '_, '_>, state: i64, status: Option<i64>| -> Result<(), EngineError> {
        let mut values = vec![("statecode".to_string(), Value::Int(state))];
        let status = status.or_else(|| entity.state(state as i32).map(|x| x.default_status as i64));
        if let Some(st) = status {
            values.push(("statuscode".into(), Value::Int(st)));
        }
        write(s, values)
    };
    // A state change the lifecycle declares.
    let declared = entity.def.transitions.iter().find(|t| t.label.is_some() && t.via.is_empty() && t.key() == action);
    if let Some(t) = declared {
        let status = t.status.map(i64::from).or_else(|| status_field(form));
        return set_state(s, i64::from(t.to), status).map(|_| here);
    }
    match action {
        "set_password" => {
            let p = form.get("password").map(String::as_str).unwrap_or("");
            if Some(p) != form.get("password2").map(String::as_str) {
                return Err(EngineError::Invalid(text(lang, "act_passwords_differ").to_string()));
            }
            if p.chars().count() < 8 {
                return Err(EngineError::Invalid(text(lang, "act_password_short").to_string()));
            }
            s.reset_password(id, p).map(|_| here)
        }
        "unlock" => s.unlock_user(id).map(|_| here),
        "enable" | "disable" => write(s, vec![("isdisabled".into(), Value::Bool(action == "disable"))]).map(|_| here),
        "base_currency" => {
            s.set_base_currency(form.get("currency").map(String::as_str).unwrap_or(""))?;
            Ok(here)
        }
        "complete" | "cancel_activity" => {
            let state: i64 = if action == "complete" { 1 } else { 2 };
            let status = status_field(form)
                .filter(|v| entity.state_of_status(*v as i32).is_some_and(|x| x.value as i64 == state))
                .or_else(|| entity.state(state as i32).map(|x| x.default_status as i64));
            let mut values = vec![("statecode".to_string(), Value::Int(state))];
            if let Some(st) = status {
                values.push(("statuscode".into(), Value::Int(st)));
            }
            if let Some(Value::String(outcome)) = text_field(form, "outcome") {
                let rec = s.retrieve(entity.name(), id, &Default::default())?;
                let before = rec.get("description").and_then(Value::as_str).unwrap_or("").trim().to_string();
                let text = if before.is_empty() { outcome } else { format!("{before}\n\n{outcome}") };
                values.push(("description".into(), Value::String(text)));
            }
            write(s, values).map(|_| here)
        }
        "activate" => set_state(s, 0, None).map(|_| here),
        "deactivate" => set_state(s, 1, None).map(|_| here),
        "assign" => {
            let owner = principal_field(form, "owner")
                .ok_or_else(|| EngineError::Invalid(text(lang, "act_pick_principal").to_string()))?;
            write(s, vec![("ownerid".into(), Value::Ref(owner))]).map(|_| here)
        }
        "share" => {
            let who = principal_field(form, "principal")
                .ok_or_else(|| EngineError::Invalid(text(lang, "act_pick_principal").to_string()))?;
            let mut rights = AccessRights::NONE;
            for (field, right) in [
                ("right_read", Right::Read),
                ("right_write", Right::Write),
                ("right_append", Right::Append),
                ("right_appendto", Right::AppendTo),
            ] {
                if bool_field(form, field) {
                    rights = rights.union(AccessRights::of(right));
                }
            }
            s.grant_access(&EntityRef { entity: entity.name().into(), id }, &who, rights)?;
            Ok(here)
        }
        // A module's command.
        key => run_command(s, entity, id, key, form, lang),
    }
}

/// `POST /ui/{set}/{id}/act/{action}`.
pub(in super::super) async fn run(
    State(st): State<AppState>,
    Path((set, id, action)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let (headers, form) = match super::super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/{set}/{id}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let rec = s.retrieve(entity.name(), id, &Default::default())?;
        // Only what the page would offer: the state and the rights decide.
        if !available(s, &entity, &rec, lang)?.iter().any(|b| b.key == action && b.href.is_none()) {
            return Err(EngineError::forbidden(text(lang, "act_unknown").to_string()).into());
        }
        let page = format!("/ui/{set}/{id}");
        match perform(s, &entity, id, &action, &form, lang).map_err(|e| crate::localized(e, lang)) {
            Ok(to) => Ok(redirect(&format!("{to}?done={}", encode(text(lang, "act_done"))))),
            // The engine's refusal, shown on the record after the rollback.
            Err(EngineError::Invalid(m) | EngineError::Conflict(m) | EngineError::PreconditionFailed(m)) => {
                Err(PageError::Shown(Box::new(redirect(&format!("{page}?problem={}", encode(&m))))))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `GET /ui/{set}/{id}/pdf`: the printed quote, order or invoice.
pub(in super::super) async fn pdf(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((set, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/ui/{set}/{id}/pdf");
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let bytes = s.print(entity.name(), id, None)?;
        let mut r = (StatusCode::OK, bytes).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
        if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{}-{id}.pdf\"", entity.name())) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        Ok(r)
    })
    .await
}
