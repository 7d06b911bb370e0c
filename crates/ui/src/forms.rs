//! Record forms generated from metadata: create and edit, with values
//! checked field by field, the engine's refusals shown at the field they
//! name, and a concurrent change explained instead of overwritten.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, TimeZone, Utc};
use minijinja::context;
use relata_engine::{Condition, EngineError, RecordInput, Session, UpsertOutcome};
use relata_metadata::{AttrKind, AttributeDef, Entity, Value};
use relata_security::Right;
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang};
use super::pages::{readable_entity, shell, shell_context, signed_in, PageError};
use super::{csrf_for, redirect, render, same};
use crate::AppState;

const MAX_FORM_BYTES: usize = 256 * 1024;

#[derive(Serialize, Clone)]
struct FormField {
    name: String,
    label: String,
    /// The input: text, email, url, tel, date, datetime-local,
    /// textarea, checkbox or select.
    kind: &'static str,
    value: String,
    options: Vec<(String, String)>,
    required: bool,
    maxlength: Option<u32>,
    numeric: bool,
    error: Option<String>,
    /// A lookup's shown name (its value is `entity:id`).
    display: String,
    /// A lookup's target entities, comma-separated.
    targets: String,
    /// An activity's party list, shown even where a layout leaves it out.
    party: bool,
}

#[derive(Serialize)]
struct FormSection {
    label: String,
    fields: Vec<FormField>,
}

/// Lookups set by the system or by their own action (assign), not on forms.
const SYSTEM_LOOKUPS: &[&str] = &[
    "ownerid",
    "owningbusinessunit",
    "owninguser",
    "owningteam",
    "createdby",
    "modifiedby",
    "createdonbehalfby",
    "modifiedonbehalfby",
];

fn lookup_on_form(a: &AttributeDef) -> bool {
    !a.any_target && !a.targets.is_empty() && !SYSTEM_LOOKUPS.contains(&a.name.as_str())
}

/// The columns a form offers: those a user may set, of the kinds it can
/// edit; lookups with type-ahead. A new activity also offers its party
/// lists (`to`, `requiredattendees`…) as lookups.
fn editable(schema: &relata_metadata::Schema, entity: &Entity, creating: bool) -> Vec<AttributeDef> {
    let mut out: Vec<AttributeDef> = entity
        .attributes()
        .iter()
        .filter(|a| {
            !a.read_only
                && (if creating { a.valid_for_create } else { a.valid_for_update })
                && a.name != entity.primary_id()
                && (!a.kind.is_lookup() || lookup_on_form(a))
                && !matches!(
                    a.kind,
                    AttrKind::File
                        | AttrKind::Uniqueidentifier
                        | AttrKind::EntityName
                        | AttrKind::State
                        | AttrKind::Status
                        | AttrKind::MultiSelectPicklist
                )
        })
        .cloned()
        .collect();
    if creating {
        out.extend(party_lists(schema, entity));
    }
    out
}

/// An activity's party lists as lookups to whom `activityparty.partyid`
/// may name.
fn party_lists(schema: &relata_metadata::Schema, entity: &Entity) -> Vec<AttributeDef> {
    let targets = schema
        .entity("activityparty")
        .and_then(|p| p.attribute("partyid"))
        .map(|a| a.targets.clone())
        .unwrap_or_default();
    entity
        .def
        .parties
        .iter()
        .map(|p| {
            let mut a = AttributeDef::new(&p.name, AttrKind::Lookup, p.label.text(1033));
            a.label = p.label.clone();
            a.targets = targets.clone();
            a.valid_for_update = false;
            a
        })
        .collect()
}

/// The column's default as a form control holds it, for choices and flags.
fn default_raw(a: &AttributeDef) -> Option<String> {
    let default = a.default.as_ref()?;
    match a.kind {
        AttrKind::Picklist => default.as_i64().map(|v| v.to_string()),
        AttrKind::Boolean => default.as_bool().map(|b| if b { "1".to_string() } else { String::new() }),
        _ => None,
    }
}

pub(super) fn input_kind(a: &AttributeDef) -> &'static str {
    match a.kind {
        AttrKind::Lookup | AttrKind::Customer | AttrKind::Owner => "lookup",
        AttrKind::Memo => "textarea",
        AttrKind::Boolean => "checkbox",
        AttrKind::Picklist => "select",
        // Text with a numeric keyboard: "1 250,50" is how many users write
        // amounts, and the server reads it.
        AttrKind::Integer | AttrKind::BigInt | AttrKind::Decimal | AttrKind::Money | AttrKind::Double => "text",
        AttrKind::DateTime if a.is_date_only() => "date",
        AttrKind::DateTime => "datetime-local",
        _ => match a.format.as_deref() {
            Some("Email") => "email",
            Some("Url") => "url",
            Some("Phone") => "tel",
            _ => "text",
        },
    }
}

/// A stored value as an input's text.
pub(super) fn input_value(a: &AttributeDef, v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => if *b { "1" } else { "" }.to_string(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Decimal(d)) => d.normalize().to_string(),
        Some(Value::Double(f)) => f.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::DateTime(d)) if a.is_date_only() => d.format("%Y-%m-%d").to_string(),
        Some(Value::DateTime(d)) => super::zone::to_local(*d).format("%Y-%m-%dT%H:%M").to_string(),
        Some(Value::Ref(r)) => format!("{}:{}", r.entity, r.id),
        Some(_) => String::new(),
    }
}

/// An input's text as a value, or the message to show beside it.
pub(super) fn parse_input(a: &AttributeDef, raw: &str, lang: Lang) -> Result<Value, String> {
    let raw = raw.trim();
    if raw.is_empty() && a.kind != AttrKind::Boolean {
        return Ok(Value::Null);
    }
    // Numbers as the user's language writes them (`1,250,000.50`, `1 250 000,50`).
    let number = || relata_print::format::parse_number(raw, relata_print::format::Lang::from_lcid(lang.lcid()));
    match a.kind {
        AttrKind::Boolean => Ok(Value::Bool(!raw.is_empty())),
        AttrKind::Picklist => raw.parse::<i64>().map(Value::Int).map_err(|_| text(lang, "bad_whole").to_string()),
        AttrKind::Integer | AttrKind::BigInt => number()
            .filter(|d| d.fract().is_zero())
            .and_then(|d| i64::try_from(d).ok())
            .map(Value::Int)
            .ok_or_else(|| text(lang, "bad_whole").to_string()),
        AttrKind::Decimal | AttrKind::Money => {
            number().map(Value::Decimal).ok_or_else(|| text(lang, "bad_number").to_string())
        }
        AttrKind::Double => number()
            .and_then(|d| d.to_string().parse::<f64>().ok())
            .map(Value::Double)
            .ok_or_else(|| text(lang, "bad_number").to_string()),
        AttrKind::DateTime => {
            let parsed = if a.is_date_only() {
                super::zone::parse_day(raw).and_then(|d| d.and_hms_opt(0, 0, 0))
            } else {
                super::zone::parse_minute(raw)
            };
            // Dates are calendar dates; times are the user's wall-clock time.
            let at = |d: NaiveDateTime| {
                if a.is_date_only() {
                    Utc.from_utc_datetime(&d)
                } else {
                    super::zone::from_local(d)
                }
            };
            parsed.map(|d| Value::DateTime(at(d))).ok_or_else(|| text(lang, "bad_date").to_string())
        }
        _ => Ok(Value::String(raw.to_string())),
    }
}

/// A field's input value and, for lookups, the name shown.
type FieldValues<'a> = &'a dyn Fn(&AttributeDef) -> (String, String);

fn fields_of(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    creating: bool,
    values: FieldValues<'_>,
    errors: &HashMap<String, String>,
    lang: Lang,
) -> Result<Vec<FormSection>, PageError> {
    let lcid = lang.lcid();
    let fields: Vec<FormField> = editable(&s.schema, entity, creating)
        .iter()
        .filter(|a| s.principal.can_set_field(entity, a, creating))
        .filter(|a| !a.kind.is_lookup() || lookup_targets(s, a).next().is_some())
        .map(|a| {
            let (value, display) = values(a);
            FormField {
                name: a.name.clone(),
                label: a.label.text(lcid).to_string(),
                kind: input_kind(a),
                value,
                display,
                targets: lookup_targets(s, a).collect::<Vec<_>>().join(","),
                options: if a.kind == AttrKind::Picklist {
                    a.option_set
                        .as_deref()
                        .and_then(|n| s.schema.option_set(n))
                        .map(|set| {
                            set.options.iter().map(|o| (o.value.to_string(), o.label.text(lcid).to_string())).collect()
                        })
                        .unwrap_or_default()
                } else {
                    Vec::new()
                },
                required: a.name == entity.def.primary_name
                    || matches!(
                        a.required,
                        relata_metadata::RequiredLevel::Application | relata_metadata::RequiredLevel::System
                    ),
                maxlength: a.max_length.filter(|_| matches!(a.kind, AttrKind::String | AttrKind::Memo)),
                numeric: matches!(
                    a.kind,
                    AttrKind::Integer | AttrKind::BigInt | AttrKind::Decimal | AttrKind::Money | AttrKind::Double
                ),
                error: errors.get(&a.name).cloned(),
                party: entity.def.parties.iter().any(|p| p.name == a.name),
            }
        })
        .collect();
    let layout = super::layout::main_form(s, entity, lang)?;
    Ok(sectioned(&layout, fields))
}

/// Places the fields by the form layout. A required field the layout
/// leaves out still shows, last, so a record can always be saved.
fn sectioned(layout: &super::layout::FormLayout, fields: Vec<FormField>) -> Vec<FormSection> {
    let mut rest: Vec<Option<FormField>> = fields.into_iter().map(Some).collect();
    let mut take =
        |name: &str| rest.iter_mut().find(|f| f.as_ref().is_some_and(|f| f.name == name)).and_then(Option::take);
    let mut out: Vec<FormSection> = Vec::new();
    for tab in &layout.tabs {
        for sec in &tab.sections {
            let fields: Vec<FormField> = sec.fields.iter().filter_map(|n| take(n)).collect();
            if !fields.is_empty() {
                let label =
                    if layout.tabs.len() > 1 { format!("{} · {}", tab.label, sec.label) } else { sec.label.clone() };
                out.push(FormSection { label, fields });
            }
        }
    }
    let required: Vec<FormField> = rest.into_iter().flatten().filter(|f| f.required || f.party).collect();
    if !required.is_empty() {
        match out.last_mut() {
            Some(last) => last.fields.extend(required),
            None => out.push(FormSection { label: String::new(), fields: required }),
        }
    }
    out
}

/// The entities a lookup may point at that the user may read.
fn lookup_targets(s: &Session<'_, '_, '_>, a: &AttributeDef) -> std::vec::IntoIter<String> {
    a.targets
        .iter()
        .filter(|t| {
            s.schema.entity(&t.entity).is_some_and(|e| s.principal.read_scope(e) != relata_security::Scope::Nothing)
        })
        .map(|t| t.entity.clone())
        .collect::<Vec<_>>()
        .into_iter()
}

/// Renders the form page.
#[allow(clippy::too_many_arguments)]
fn form_page(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    entity: &Entity,
    title: String,
    action: String,
    cancel: String,
    version: Option<i64>,
    sections: Vec<FormSection>,
    alert: Option<String>,
    panel: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let sh = shell(s, lang, token, Some(entity.name()))?;
    // The entity's business rules, which the form applies as the user types.
    let rules = super::processes::form_rules(s, entity, version.is_none())?;
    let mut r = render(
        "edit.html",
        context! { ..shell_context(&sh), ..context! {
            title => title, set => &entity.def.entity_set, plural => entity.def.plural_label.text(lang.lcid()),
            action => action, cancel => cancel, version => version, alert => alert, q_global => "",
            panel => panel.map(minijinja::Value::from_safe_string),
            sections => minijinja::Value::from(minijinja::value::Serde(&sections)),
            t => super::strings(lang),
            rules => rules.map(minijinja::Value::from_safe_string),
        }},
    );
    *r.status_mut() = status;
    Ok(r)
}

pub(super) async fn edit_form(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    Path((set, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/ui/{set}/{id}/edit");
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let entity = readable_entity(s, &set, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let rec = s
            .retrieve(entity.name(), id, &Default::default())
            .map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        if !s.may(&entity, Right::Write, id)? {
            return Err(EngineError::forbidden(text(lang, "forbidden").to_string()).into());
        }
        let names = super::pages::names_of(s, std::slice::from_ref(&rec))?;
        let fields = fields_of(
            s,
            &entity,
            false,
            &|a| {
                let v = rec.get(&a.name);
                let shown = v.and_then(Value::as_ref_value).and_then(|r| names.get(&r.id)).cloned().unwrap_or_default();
                (input_value(a, v), shown)
            },
            &HashMap::new(),
            lang,
        )?;
        let title = rec.get(&entity.def.primary_name).and_then(Value::as_str).unwrap_or("").to_string();
        let record_url = format!("/ui/{}/{id}", entity.def.entity_set);
        form_page(
            s,
            lang,
            token,
            &entity,
            title,
            format!("{record_url}/edit"),
            record_url,
            Some(rec.version),
            fields,
            None,
            None,
            StatusCode::OK,
        )
    })
    .await
}

pub(super) async fn new_form(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(set): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/ui/{set}/new");
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let entity = readable_entity(s, &set, lang)?;
        if !may_create(s, &entity) {
            return Err(EngineError::forbidden(text(lang, "forbidden").to_string()).into());
        }
        // A screen's own additions to its entity's form (an email's
        // template and signature): values to start with, shown as if given.
        let extra = super::email::compose(s, &entity, &q, lang, true)?;
        let mut q = q;
        q.extend(extra.prefill);
        // `?parentcustomerid=account:<id>` (a subgrid's New) or `?name=…` prefill the form.
        let refs: Vec<relata_metadata::EntityRef> = entity
            .attributes()
            .iter()
            .filter(|a| a.kind.is_lookup())
            .filter_map(|a| parse_ref(a, q.get(&a.name)?))
            .collect();
        let names = s.lookup_names(&refs.iter().collect::<Vec<_>>())?;
        // The sender or organizer of a new activity is the user, unless given.
        let me = format!("systemuser:{}", s.principal.user_id);
        let my_name = s
            .lookup_names(&[&relata_metadata::EntityRef { entity: "systemuser".into(), id: s.principal.user_id }])?
            .remove(&s.principal.user_id)
            .unwrap_or_default();
        let mine: Vec<&str> =
            entity.def.parties.iter().filter(|p| matches!(p.mask, 1 | 7)).map(|p| p.name.as_str()).collect();
        // A currency starts as the base currency, as the engine would set it.
        let base = s.org.ids.base_currency;
        let base_name = s
            .lookup_names(&[&relata_metadata::EntityRef { entity: "transactioncurrency".into(), id: base }])?
            .remove(&base)
            .unwrap_or_default();
        let fields = fields_of(
            s,
            &entity,
            true,
            &|a| {
                if mine.contains(&a.name.as_str()) && !q.contains_key(&a.name) {
                    return (me.clone(), my_name.clone());
                }
                if a.name == "transactioncurrencyid" && !q.contains_key(&a.name) {
                    return (format!("transactioncurrency:{base}"), base_name.clone());
                }
                // A choice or a flag starts at the column's default, as
                // the engine would set it: a blank choice looks unset, and
                // an unticked box would save `false` over a `true` default.
                let raw = q.get(&a.name).cloned().or_else(|| default_raw(a)).unwrap_or_default();
                match a.kind.is_lookup() {
                    true => match parse_ref(a, &raw) {
                        Some(r) => (raw, names.get(&r.id).cloned().unwrap_or_default()),
                        None => (String::new(), String::new()),
                    },
                    false => (raw, String::new()),
                }
            },
            &HashMap::new(),
            lang,
        )?;
        let title = text(lang, "new_record").replace("{entity}", entity.def.label.text(lang.lcid()));
        let list = format!("/ui/{}", entity.def.entity_set);
        let (action, cancel) = new_action(&list, q.get("back").map(String::as_str));
        let status = if extra.problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        form_page(s, lang, token, &entity, title, action, cancel, None, fields, extra.problem, extra.panel, status)
    })
    .await
}

/// A list's "New" buttons, `(entity set, label)`: the entity's own, or for
/// the activity base table one per activity type the user may create.
pub(super) fn new_links(s: &Session<'_, '_, '_>, entity: &Entity, lang: Lang) -> Vec<(String, String)> {
    if may_create(s, entity) {
        return vec![(entity.def.entity_set.clone(), text(lang, "new").to_string())];
    }
    if entity.name() != "activitypointer" {
        return Vec::new();
    }
    s.schema
        .entities()
        .filter(|e| e.def.is_activity && e.def.activity_type_mask == 1 && may_create(s, e))
        .map(|e| {
            (e.def.entity_set.clone(), text(lang, "new_record").replace("{entity}", e.def.label.text(lang.lcid())))
        })
        .collect()
}

/// May the caller create records of this entity (as their own)?
pub(super) fn may_create(s: &Session<'_, '_, '_>, entity: &Entity) -> bool {
    // Lines and other records without an owner are added to a parent the
    // user may write; the engine checks the parent itself.
    if let Some((_, parent)) = relata_query::plan::parent_lookup(&s.schema, entity) {
        return s.principal.depth(parent, Right::Write) > relata_security::Depth::None;
    }
    entity.has_privileges()
        // The activity base table is written through the activity types.
        && entity.name() != "activitypointer"
        && s.principal.can(
            entity,
            Right::Create,
            Some(s.principal.user_id),
            Some(s.principal.business_unit_id),
            Default::default(),
        )
}

/// The posted form, after its CSRF value was checked.
pub(super) async fn posted(req: Request) -> Result<(axum::http::HeaderMap, HashMap<String, String>), Response> {
    posted_multi(req).await.map(|(h, f, _)| (h, f))
}

/// The posted form and every value of its repeated `ids` field, after its
/// CSRF value was checked.
pub(super) async fn posted_multi(
    req: Request,
) -> Result<(axum::http::HeaderMap, HashMap<String, String>, Vec<String>), Response> {
    let (headers, pairs) = posted_pairs(req).await?;
    // Checkboxes post a hidden empty value first and "1" when checked: the last value wins.
    let mut form = HashMap::new();
    let mut ids = Vec::new();
    for (k, v) in pairs {
        if k == "ids" {
            ids.push(v);
        } else {
            form.insert(k, v);
        }
    }
    Ok((headers, form, ids))
}

/// Every name and value of the posted form in order (repeated names
/// too), after its CSRF value was checked.
pub(super) async fn posted_pairs(req: Request) -> Result<(axum::http::HeaderMap, Vec<(String, String)>), Response> {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response());
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let csrf = pairs.iter().rev().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    let token = super::cookie(&parts.headers, super::SESSION_COOKIE);
    let ok = token.as_deref().is_some_and(|t| csrf.is_some_and(|c| same(c, &csrf_for(t))));
    if !ok {
        let lang = super::language(&parts.headers, None, None);
        let mut r = redirect("/signin");
        if token.is_some() {
            r = super::html_response(
                StatusCode::FORBIDDEN,
                format!("<!doctype html><p role=\"alert\">{}</p>", text(lang, "csrf")),
            );
        }
        return Err(r);
    }
    Ok((parts.headers, pairs))
}

/// Field values of a posted form, and the messages of those that are not valid.
/// A posted form's values, and the messages of the fields that are not valid.
type ReadForm = (Vec<(String, Value)>, HashMap<String, String>);

fn read_form(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    creating: bool,
    form: &HashMap<String, String>,
    lang: Lang,
) -> Result<ReadForm, PageError> {
    let mut values = Vec::new();
    let mut errors = HashMap::new();
    for a in &editable(&s.schema, entity, creating) {
        let parsed = if a.kind.is_lookup() {
            let Some(typed) = form.get(&format!("{}{LOOKUP_TEXT}", a.name)) else { continue };
            read_lookup(s, a, form.get(&a.name).map(String::as_str).unwrap_or(""), typed.trim(), lang)?
        } else {
            let Some(raw) = form.get(&a.name) else { continue };
            parse_input(a, raw, lang)
        };
        match parsed {
            Ok(v) => values.push((a.name.clone(), v)),
            Err(m) => {
                errors.insert(a.name.clone(), m);
            }
        }
    }
    Ok((values, errors))
}

/// The suffix of a lookup's typed-name field (`parentcustomerid__text`).
const LOOKUP_TEXT: &str = "__text";

/// `entity:id` as a reference, if the entity is one of the lookup's targets.
pub(super) fn parse_ref(a: &AttributeDef, raw: &str) -> Option<relata_metadata::EntityRef> {
    let (entity, id) = raw.split_once(':')?;
    let id = Uuid::parse_str(id).ok()?;
    a.targets.iter().any(|t| t.entity == entity).then(|| relata_metadata::EntityRef { entity: entity.into(), id })
}

/// A posted field's value and the name typed in a lookup.
fn posted_value(form: &HashMap<String, String>, a: &AttributeDef) -> (String, String) {
    let value = form.get(&a.name).cloned().unwrap_or_default();
    let typed = form.get(&format!("{}{LOOKUP_TEXT}", a.name)).cloned().unwrap_or_default();
    (value, typed)
}

/// A lookup from the form: the record picked from the suggestions, else
/// the one record whose name is exactly what was typed (so the form works
/// without scripts too).
fn read_lookup(
    s: &mut Session<'_, '_, '_>,
    a: &AttributeDef,
    picked: &str,
    typed: &str,
    lang: Lang,
) -> Result<Result<Value, String>, PageError> {
    if typed.is_empty() {
        return Ok(Ok(Value::Null));
    }
    if let Some(r) = parse_ref(a, picked) {
        return Ok(Ok(Value::Ref(r)));
    }
    let mut found = Vec::new();
    for target in lookup_targets(s, a).collect::<Vec<_>>() {
        let Some(e) = s.schema.entity(&target).cloned() else { continue };
        let q = format!(
            "$select={}&$filter={} eq {}&$top=2",
            e.def.primary_name,
            e.def.primary_name,
            relata_query::options::string_literal(typed)
        );
        let opts = relata_query::options::parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
        for r in s.query(&target, &opts, Some(2), None)?.records {
            found.push(relata_metadata::EntityRef { entity: target.clone(), id: r.id });
        }
    }
    Ok(match found.len() {
        1 => Ok(Value::Ref(found.remove(0))),
        0 => Err(text(lang, "lookup_none").replace("{name}", typed)),
        _ => Err(text(lang, "lookup_many").replace("{name}", typed)),
    })
}

#[derive(Serialize)]
struct Suggestion {
    value: String,
    name: String,
    kind: String,
}

/// Type-ahead for lookups: records of the given entities whose primary
/// name contains the text, ten of each, as the user may read them.
pub(super) async fn lookup(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = "/".to_string();
    signed_in(&st, &headers, &here, None, false, move |s, lang, _token| {
        let find = q.get("q").map(|v| v.trim().to_string()).unwrap_or_default();
        let mut out = Vec::new();
        for target in q.get("targets").map(String::as_str).unwrap_or("").split(',').take(8) {
            let Some(e) = s.schema.entity(target.trim()).cloned() else { continue };
            if s.principal.read_scope(&e) == relata_security::Scope::Nothing || e.def.is_intersect {
                continue;
            }
            let primary = &e.def.primary_name;
            let filter = if find.is_empty() {
                String::new()
            } else {
                format!("&$filter=contains({primary},{})", relata_query::options::string_literal(&find))
            };
            let query = format!("$select={primary}{filter}&$orderby={primary}&$top=10");
            let opts =
                relata_query::options::parse_query_options(&query).map_err(|e| EngineError::Invalid(e.to_string()))?;
            for r in s.query(e.name(), &opts, Some(10), None)?.records {
                out.push(Suggestion {
                    value: format!("{}:{}", e.name(), r.id),
                    name: r.get(primary).and_then(Value::as_str).unwrap_or("").to_string(),
                    kind: e.def.label.text(lang.lcid()).to_string(),
                });
            }
        }
        let body = serde_json::to_string(&out).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let mut r = body.into_response();
        r.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json; charset=utf-8"),
        );
        Ok(r)
    })
    .await
}

/// A refusal whose meaning the engine knows: its message, in the user's
/// language, at the field it names (or at the top of the form).
fn refused_again<T>(
    errors: &mut HashMap<String, String>,
    e: &EngineError,
    lang: Lang,
    again: impl FnOnce(&HashMap<String, String>, String) -> Result<T, PageError>,
) -> Result<T, PageError> {
    let message = e.message_in(lang.code());
    match e.attribute() {
        Some(field) => {
            errors.insert(field.to_string(), message);
            again(errors, text(lang, "fix_errors").to_string())
        }
        None => again(errors, message),
    }
}

pub(super) async fn save(
    State(st): State<AppState>,
    Path((set, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (headers, form) = match posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/{set}/{id}/edit");
    signed_in(&st, &headers, &here, None, true, move |s, lang, token| {
        let entity = readable_entity(s, &set, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let rec = s
            .retrieve(entity.name(), id, &Default::default())
            .map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let (values, mut errors) = read_form(s, &entity, false, &form, lang)?;
        let version = form.get("_version").and_then(|v| v.parse::<i64>().ok());
        let record_url = format!("/ui/{}/{id}", entity.def.entity_set);
        let title = rec.get(&entity.def.primary_name).and_then(Value::as_str).unwrap_or("").to_string();
        let again =
            |s: &mut Session<'_, '_, '_>, errors: &HashMap<String, String>, alert: String, status: StatusCode| {
                let fields = fields_of(s, &entity, false, &|a| posted_value(&form, a), errors, lang)?;
                form_page(
                    s,
                    lang,
                    token,
                    &entity,
                    title.clone(),
                    format!("{record_url}/edit"),
                    record_url.clone(),
                    version,
                    fields,
                    Some(alert),
                    None,
                    status,
                )
            };
        if !errors.is_empty() {
            return again(s, &errors, text(lang, "fix_errors").to_string(), StatusCode::BAD_REQUEST);
        }
        // Only what the user changed is written.
        let changed: Vec<(String, Value)> =
            values.into_iter().filter(|(k, v)| rec.get(k).unwrap_or(&Value::Null) != v).collect();
        if !changed.is_empty() {
            let cond = Condition { if_match: Some(version), ..Default::default() };
            match s.update(entity.name(), id, RecordInput::new(changed), cond, false) {
                Ok(UpsertOutcome::Updated(_) | UpsertOutcome::Created(_)) => {}
                // The page is shown after the transaction rolls back.
                Err(EngineError::PreconditionFailed(_)) => {
                    let page = again(s, &errors, text(lang, "conflict").to_string(), StatusCode::CONFLICT)?;
                    return Err(PageError::Shown(Box::new(page)));
                }
                Err(e @ EngineError::Refused { .. }) => {
                    let page = refused_again(&mut errors, &e, lang, |errors, alert| {
                        again(s, errors, alert, StatusCode::BAD_REQUEST)
                    })?;
                    return Err(PageError::Shown(Box::new(page)));
                }
                // A refusal that names no column is shown above the form.
                Err(EngineError::Invalid(m)) => {
                    let page = again(s, &errors, m, StatusCode::BAD_REQUEST)?;
                    return Err(PageError::Shown(Box::new(page)));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(redirect(&record_url))
    })
    .await
}

/// Where a new form posts and where its Cancel leads: a form opened from
/// another record (`?back=/ui/accounts/<id>`) returns there.
fn new_action(list: &str, back: Option<&str>) -> (String, String) {
    match back.and_then(super::pages::local_path) {
        Some(b) => (
            format!("{list}/new?back={}", percent_encoding::utf8_percent_encode(b, percent_encoding::NON_ALPHANUMERIC)),
            b.to_string(),
        ),
        None => (format!("{list}/new"), list.to_string()),
    }
}

/// A new record's fields and its party lists as `activityparty` rows.
fn with_parties(entity: &Entity, values: Vec<(String, Value)>) -> RecordInput {
    let (parties, fields): (Vec<_>, Vec<_>) =
        values.into_iter().partition(|(k, _)| entity.def.parties.iter().any(|p| &p.name == k));
    let mut input = RecordInput::new(fields);
    let rows: Vec<RecordInput> = parties
        .into_iter()
        .filter_map(|(k, v)| {
            let mask = entity.def.parties.iter().find(|p| p.name == k)?.mask;
            Some(RecordInput::new(vec![
                ("partyid".to_string(), v),
                ("participationtypemask".to_string(), Value::Int(mask as i64)),
            ]))
        })
        .collect();
    if !rows.is_empty() {
        input.nested.push((format!("{}_activity_parties", entity.name()), relata_engine::Nested::Collection(rows)));
    }
    input
}

pub(super) async fn create(State(st): State<AppState>, Path(set): Path<String>, req: Request) -> Response {
    let back: Option<String> = req
        .uri()
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "back").map(|(_, v)| v.into_owned()));
    let (headers, form) = match posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/{set}/new");
    signed_in(&st, &headers, &here, None, true, move |s, lang, token| {
        let entity = readable_entity(s, &set, lang)?;
        let (values, mut errors) = read_form(s, &entity, true, &form, lang)?;
        let list = format!("/ui/{}", entity.def.entity_set);
        let (action, cancel) = new_action(&list, back.as_deref());
        let title = text(lang, "new_record").replace("{entity}", entity.def.label.text(lang.lcid()));
        let again =
            |s: &mut Session<'_, '_, '_>, errors: &HashMap<String, String>, alert: String, status: StatusCode| {
                let fields = fields_of(s, &entity, true, &|a| posted_value(&form, a), errors, lang)?;
                // The screen's additions again, for what was posted (not prefilled).
                let opened: HashMap<String, String> = form
                    .iter()
                    .filter(|(k, _)| k.as_str() != "csrf" && !k.ends_with(LOOKUP_TEXT))
                    .filter(|(k, _)| entity.attribute(k).is_some_and(|a| a.kind.is_lookup()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .chain(back.iter().map(|b| ("back".to_string(), b.clone())))
                    .collect();
                let extra = super::email::compose(s, &entity, &opened, lang, false)?;
                form_page(
                    s,
                    lang,
                    token,
                    &entity,
                    title.clone(),
                    action.clone(),
                    cancel.clone(),
                    None,
                    fields,
                    Some(alert),
                    extra.panel,
                    status,
                )
            };
        if !errors.is_empty() {
            return again(s, &errors, text(lang, "fix_errors").to_string(), StatusCode::BAD_REQUEST);
        }
        let values: Vec<(String, Value)> = values.into_iter().filter(|(_, v)| !v.is_null()).collect();
        let back = back.as_deref().and_then(super::pages::local_path);
        match s.create(entity.name(), with_parties(&entity, values)) {
            Ok(id) => Ok(redirect(&back.map(str::to_string).unwrap_or(format!("{list}/{id}")))),
            Err(e @ EngineError::Refused { .. }) => {
                let page = refused_again(&mut errors, &e, lang, |errors, alert| {
                    again(s, errors, alert, StatusCode::BAD_REQUEST)
                })?;
                Err(PageError::Shown(Box::new(page)))
            }
            // A refusal that names no column is shown above the form.
            Err(EngineError::Invalid(m)) => {
                let page = again(s, &errors, m, StatusCode::BAD_REQUEST)?;
                Err(PageError::Shown(Box::new(page)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}
