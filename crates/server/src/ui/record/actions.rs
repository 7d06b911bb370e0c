//! A record's business actions: which the record's state and the user's
//! rights allow, shown as buttons (with a small form where the action
//! takes parameters), and run through the engine's actions — the same
//! ones the Web API's `QualifyLead`, `WinOpportunity`,
//! `ConvertQuoteToSalesOrder`… call.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{TimeZone, Utc};
use relata_engine::modules::{ActionResponse, Binding, ParamType, Parameter, RecordReader};
use relata_engine::{CloseRequest, Condition, EngineError, QualifyLead, RecordInput, Session};
use relata_metadata::{Entity, EntityRef, Value};
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
    pub name: &'static str,
    pub label: String,
    /// text, date, select or checkbox.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
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

fn input(name: &'static str, label: &str, kind: &'static str, value: String, lang: Lang) -> Input {
    Input { name, label: text(lang, label).to_string(), kind, value, options: Vec::new() }
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
    let today = Utc::now().date_naive().to_string();
    let active_inactive =
        entity.state(0).is_some_and(|x| x.name == "Active") && entity.state(1).is_some_and(|x| x.name == "Inactive");
    if write {
        match (entity.name(), state) {
            ("lead", 0) => {
                let mut q = button("qualify", lang);
                for (name, label) in [
                    ("account", "act_qualify_account"),
                    ("contact", "act_qualify_contact"),
                    ("opportunity", "act_qualify_opportunity"),
                ] {
                    q.fields.push(input(name, label, "checkbox", "1".into(), lang));
                }
                q.fields.push(input("link_existing", "act_link_existing", "checkbox", String::new(), lang));
                out.push(q);
                let mut d = button("disqualify", lang);
                let mut reason = input("status", "act_reason", "select", String::new(), lang);
                reason.options = statuses(entity, 2, lang);
                d.fields.push(reason);
                out.push(d);
            }
            ("lead", _) => out.push(button("reactivate", lang)),
            ("opportunity", 0) => {
                let estimate = rec.get("estimatedvalue").and_then(Value::as_decimal).map(|d| d.normalize().to_string());
                let mut w = button("win", lang);
                w.fields.push(input("actualrevenue", "act_actual_revenue", "text", estimate.unwrap_or_default(), lang));
                w.fields.push(input("actualend", "act_close_date", "date", today.clone(), lang));
                w.fields.push(input("description", "act_description", "text", String::new(), lang));
                out.push(w);
                let mut l = button("lose", lang);
                let mut reason = input("status", "act_reason", "select", String::new(), lang);
                reason.options = statuses(entity, 2, lang);
                l.fields.push(reason);
                l.fields.push(input("actualend", "act_close_date", "date", today, lang));
                l.fields.push(input("description", "act_description", "text", String::new(), lang));
                out.push(l);
                out.push(button("create_quote", lang));
            }
            ("opportunity", _) => out.push(button("reopen", lang)),
            ("quote", 0) => out.push(button("activate", lang)),
            ("quote", 1) => {
                out.push(button("create_order", lang));
                out.push(button("win_quote", lang));
                let mut c = button("close_quote", lang);
                let mut reason = input("status", "act_reason", "select", String::new(), lang);
                reason.options = statuses(entity, 3, lang).into_iter().filter(|(v, _)| v != "7").collect();
                c.fields.push(reason);
                out.push(c);
                out.push(button("revise", lang));
            }
            ("quote", 3) => out.push(button("revise", lang)),
            ("salesorder", 0 | 1) => {
                out.push(button("create_invoice", lang));
                out.push(button("fulfill", lang));
                out.push(button("cancel_order", lang));
            }
            ("salesorder", 3) => out.push(button("create_invoice", lang)),
            ("invoice", 0) => out.push(button("mark_paid", lang)),
            ("invoice", 2) if rec.get("statuscode").and_then(Value::as_i64) == Some(100002) => {
                out.push(button("mark_paid", lang))
            }
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
        out.extend(declared(s, entity, state, lang));
    }
    if matches!(entity.name(), "quote" | "salesorder" | "invoice") {
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
                    name: match name {
                        "read" => "right_read",
                        "write" => "right_write",
                        "append" => "right_append",
                        _ => "right_appendto",
                    },
                    label: right.to_string(),
                    kind: "checkbox",
                    value: if name == "read" { "1".into() } else { String::new() },
                    options: Vec::new(),
                });
            }
            out.push(sh);
        }
    }
    Ok(out)
}

/// The buttons an entity's metadata and its module declare: a plain
/// state change with a label (`[[entity.transitions]]`), and a bound
/// action of the catalog with a label whose parameters are plain values —
/// offered in the states its transitions start from, if it makes any.
fn declared(s: &Session<'_, '_, '_>, entity: &Entity, state: i64, lang: Lang) -> Vec<Button> {
    let mut out = Vec::new();
    let transitions = &entity.def.transitions;
    for t in transitions.iter().filter(|t| t.via.is_empty() && t.from.contains(&(state as i32))) {
        let Some(label) = &t.label else { continue };
        let mut b = Button {
            key: format!("state_{}", t.to),
            label: label.text(lang.lcid()).to_string(),
            fields: Vec::new(),
            href: None,
        };
        if t.status.is_none() && entity.state(t.to).is_some_and(|st| st.statuses.len() > 1) {
            let mut reason = input("status", "act_reason", "select", String::new(), lang);
            reason.options = statuses(entity, t.to, lang);
            b.fields.push(reason);
        }
        out.push(b);
    }
    for a in s.org.modules().actions() {
        let (Some((en, ru)), Some(bound)) = (a.label, a.binding.entity()) else { continue };
        let on_record = matches!(a.binding, Binding::Entity(_));
        if bound != entity.name() || !on_record || a.is_function || a.privilege.is_some_and(|p| !s.principal.has(p)) {
            continue;
        }
        let makes: Vec<_> = transitions.iter().filter(|t| t.via.iter().any(|v| v == a.name)).collect();
        if !makes.is_empty() && !makes.iter().any(|t| t.from.contains(&(state as i32))) {
            continue;
        }
        let fields: Option<Vec<Input>> = a.parameters.iter().map(|p| param_input(p, lang)).collect();
        let Some(fields) = fields else { continue };
        let label = if lang.lcid() == 1049 { ru } else { en };
        out.push(Button { key: format!("op_{}", a.name), label: label.into(), fields, href: None });
    }
    out
}

/// A form input for a plain parameter; `None` for one a form cannot give
/// (a record, a query).
fn param_input(p: &Parameter, lang: Lang) -> Option<Input> {
    let kind = match p.kind {
        ParamType::Boolean => "checkbox",
        ParamType::DateTime => "date",
        ParamType::Integer | ParamType::Decimal | ParamType::String | ParamType::Guid => "text",
        _ => return None,
    };
    let label = match p.label {
        Some((_, ru)) if lang.lcid() == 1049 => ru,
        Some((en, _)) => en,
        None => p.name,
    };
    Some(Input { name: p.name, label: label.to_string(), kind, value: String::new(), options: Vec::new() })
}

/// Runs a declared action with the form's values as its parameters.
fn run_declared(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    name: &str,
    form: &HashMap<String, String>,
) -> Result<String, EngineError> {
    let action = s
        .org
        .modules()
        .action(name, Some(entity.name()))
        .ok_or_else(|| EngineError::Invalid(format!("'{name}' is not an action of {}", entity.name())))?;
    let mut params = serde_json::Map::new();
    for p in &action.parameters {
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
                let day = crate::ui::zone::parse_day(raw)
                    .ok_or_else(|| EngineError::Invalid(format!("{} must be a date", p.name)))?;
                serde_json::Value::String(format!("{day}T00:00:00Z"))
            }
            _ => serde_json::Value::String(raw.to_string()),
        };
        params.insert(p.name.to_string(), value);
    }
    let target = EntityRef { entity: entity.name().into(), id };
    let name = action.name;
    match s.execute_action(name, Some(target), params, &NoRecords)? {
        ActionResponse::Record(r) => Ok(page_of(s, &r.entity, r.id)),
        _ => Ok(page_of(s, entity.name(), id)),
    }
}

/// Forms give plain values only (see [`param_input`]).
struct NoRecords;

impl RecordReader for NoRecords {
    fn record(
        &self,
        _: &relata_metadata::Schema,
        entity: &Entity,
        _: &serde_json::Value,
    ) -> relata_engine::Result<RecordInput> {
        Err(EngineError::Invalid(format!("a {} record cannot be given through this form", entity.name())))
    }
}

fn bool_field(form: &HashMap<String, String>, name: &str) -> bool {
    form.get(name).is_some_and(|v| !v.is_empty())
}

fn status_field(form: &HashMap<String, String>) -> Option<i64> {
    form.get("status").and_then(|v| v.parse().ok())
}

fn date_field(form: &HashMap<String, String>, name: &str) -> Option<Value> {
    let d = crate::ui::zone::parse_day(form.get(name)?)?;
    Some(Value::DateTime(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?)))
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
    let close = |lookup: &str, extra: Vec<(String, Value)>| {
        let mut fields = vec![(lookup.to_string(), reference(entity.name(), id))];
        fields.extend(extra);
        CloseRequest { close: RecordInput::new(fields), status: status_field(form) }
    };
    match action {
        "qualify" => {
            let req = QualifyLead {
                create_account: bool_field(form, "account"),
                create_contact: bool_field(form, "contact"),
                create_opportunity: bool_field(form, "opportunity"),
                link_existing: bool_field(form, "link_existing"),
                ..Default::default()
            };
            let created = s.qualify_lead(id, &req)?;
            let to = ["opportunity", "account", "contact"]
                .iter()
                .find_map(|e| created.iter().find(|r| r.entity == *e))
                .map(|r| page_of(s, &r.entity, r.id));
            Ok(to.unwrap_or(here))
        }
        "disqualify" => set_state(s, 2, status_field(form)).map(|_| here),
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
        "reactivate" | "reopen" | "activate" if entity.name() != "quote" => set_state(s, 0, None).map(|_| here),
        "activate" => set_state(s, 1, None).map(|_| here),
        "deactivate" => set_state(s, 1, None).map(|_| here),
        "win" | "lose" => {
            let mut extra = Vec::new();
            if let Some(raw) = form.get("actualrevenue").map(|v| v.trim()).filter(|v| !v.is_empty()) {
                let d = relata_print::format::parse_decimal(raw)
                    .ok_or_else(|| EngineError::Invalid(text(lang, "act_bad_amount").to_string()))?;
                extra.push(("actualrevenue".to_string(), Value::Decimal(d)));
            }
            if let Some(d) = date_field(form, "actualend") {
                extra.push(("actualend".into(), d));
            }
            if let Some(t) = text_field(form, "description") {
                extra.push(("description".into(), t));
            }
            let req = close("opportunityid", extra);
            if action == "win" {
                s.win_opportunity(req)?;
            } else {
                s.lose_opportunity(req)?;
            }
            Ok(here)
        }
        "create_quote" => s.generate_from_opportunity(id, "quote").map(|q| page_of(s, "quote", q)),
        "create_order" => s.convert_quote_to_sales_order(id).map(|o| page_of(s, "salesorder", o)),
        "win_quote" => s.win_quote(close("quoteid", Vec::new())).map(|_| here),
        "close_quote" => s.close_quote(close("quoteid", Vec::new())).map(|_| here),
        "revise" => s.revise_quote(id).map(|q| page_of(s, "quote", q)),
        "create_invoice" => s.convert_sales_order_to_invoice(id).map(|i| page_of(s, "invoice", i)),
        "fulfill" => s.fulfill_sales_order(close("salesorderid", Vec::new())).map(|_| here),
        "cancel_order" => s.cancel_sales_order(close("salesorderid", Vec::new())).map(|_| here),
        // Paid in full: the engine records what is still due as a payment.
        "mark_paid" => set_state(s, 2, Some(100001)).map(|_| here),
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
        a if a.starts_with("state_") => {
            let to: i64 = a["state_".len()..]
                .parse()
                .map_err(|_| EngineError::Forbidden(text(lang, "act_unknown").to_string()))?;
            let declared = entity.def.transitions.iter().find(|t| t.to as i64 == to && t.label.is_some());
            let status = declared.and_then(|t| t.status).map(i64::from).or_else(|| status_field(form));
            set_state(s, to, status).map(|_| here)
        }
        a if a.starts_with("op_") => run_declared(s, entity, id, &a["op_".len()..], form),
        _ => Err(EngineError::Forbidden(text(lang, "act_unknown").to_string())),
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
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::NotFound(text(lang, "not_found").to_string()))?;
        let rec = s.retrieve(entity.name(), id, &Default::default())?;
        // Only what the page would offer: the state and the rights decide.
        if !available(s, &entity, &rec, lang)?.iter().any(|b| b.key == action && b.href.is_none()) {
            return Err(EngineError::Forbidden(text(lang, "act_unknown").to_string()).into());
        }
        let page = format!("/ui/{set}/{id}");
        match perform(s, &entity, id, &action, &form, lang).map_err(|e| crate::ui::localized(e, lang)) {
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
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::NotFound(text(lang, "not_found").to_string()))?;
        let bytes = s.print_document(entity.name(), id, None)?;
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
