//! Record forms generated from metadata: create and edit, with values
//! checked field by field, the engine's refusals shown at the field they
//! name, and a concurrent change explained instead of overwritten.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use minijinja::context;
use relata_engine::{Condition, EngineError, RecordInput, Session, UpsertOutcome};
use relata_metadata::{AttrKind, AttributeDef, Entity, Value};
use relata_security::Right;
use rust_decimal::Decimal;
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
}

/// The columns a form offers: those a user may set, of the kinds it can
/// edit (lookups come with type-ahead in a later form).
fn editable(entity: &Entity, creating: bool) -> Vec<&AttributeDef> {
    entity
        .attributes()
        .iter()
        .filter(|a| {
            !a.read_only
                && (if creating { a.valid_for_create } else { a.valid_for_update })
                && a.name != entity.primary_id()
                && !a.kind.is_lookup()
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
        .collect()
}

fn input_kind(a: &AttributeDef) -> &'static str {
    match a.kind {
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
fn input_value(a: &AttributeDef, v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => if *b { "1" } else { "" }.to_string(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Decimal(d)) => d.normalize().to_string(),
        Some(Value::Double(f)) => f.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::DateTime(d)) if a.is_date_only() => d.format("%Y-%m-%d").to_string(),
        Some(Value::DateTime(d)) => d.format("%Y-%m-%dT%H:%M").to_string(),
        Some(_) => String::new(),
    }
}

/// An input's text as a value, or the message to show beside it.
fn parse_input(a: &AttributeDef, raw: &str, lang: Lang) -> Result<Value, String> {
    let raw = raw.trim();
    if raw.is_empty() && a.kind != AttrKind::Boolean {
        return Ok(Value::Null);
    }
    let number = || raw.replace([' ', '\u{a0}'], "").replace(',', ".");
    match a.kind {
        AttrKind::Boolean => Ok(Value::Bool(!raw.is_empty())),
        AttrKind::Integer | AttrKind::BigInt | AttrKind::Picklist => {
            number().parse::<i64>().map(Value::Int).map_err(|_| text(lang, "bad_whole").to_string())
        }
        AttrKind::Decimal | AttrKind::Money => {
            number().parse::<Decimal>().map(Value::Decimal).map_err(|_| text(lang, "bad_number").to_string())
        }
        AttrKind::Double => {
            number().parse::<f64>().map(Value::Double).map_err(|_| text(lang, "bad_number").to_string())
        }
        AttrKind::DateTime => {
            let parsed = if a.is_date_only() {
                NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
            } else {
                NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M").ok()
            };
            parsed.map(|d| Value::DateTime(Utc.from_utc_datetime(&d))).ok_or_else(|| text(lang, "bad_date").to_string())
        }
        _ => Ok(Value::String(raw.to_string())),
    }
}

fn fields_of(
    s: &Session<'_, '_, '_>,
    entity: &Entity,
    creating: bool,
    values: &dyn Fn(&AttributeDef) -> String,
    errors: &HashMap<String, String>,
    lang: Lang,
) -> Vec<FormField> {
    let lcid = lang.lcid();
    editable(entity, creating)
        .into_iter()
        .map(|a| FormField {
            name: a.name.clone(),
            label: a.label.text(lcid).to_string(),
            kind: input_kind(a),
            value: values(a),
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
        })
        .collect()
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
    fields: Vec<FormField>,
    alert: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let sh = shell(s, lang, token, Some(entity.name()))?;
    let mut r = render(
        "edit.html",
        context! { ..shell_context(&sh), ..context! {
            title => title, set => &entity.def.entity_set, plural => entity.def.plural_label.text(lang.lcid()),
            action => action, cancel => cancel, version => version, alert => alert, q_global => "",
            fields => minijinja::Value::from(minijinja::value::Serde(&fields)),
            t => super::strings(lang),
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
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::NotFound(text(lang, "not_found").to_string()))?;
        let rec = s
            .retrieve(entity.name(), id, &Default::default())
            .map_err(|_| EngineError::NotFound(text(lang, "not_found").to_string()))?;
        if !s.may(&entity, Right::Write, id)? {
            return Err(EngineError::Forbidden(text(lang, "forbidden").to_string()).into());
        }
        let fields = fields_of(s, &entity, false, &|a| input_value(a, rec.get(&a.name)), &HashMap::new(), lang);
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
            return Err(EngineError::Forbidden(text(lang, "forbidden").to_string()).into());
        }
        let fields = fields_of(s, &entity, true, &|_| String::new(), &HashMap::new(), lang);
        let title = text(lang, "new_record").replace("{entity}", entity.def.label.text(lang.lcid()));
        let list = format!("/ui/{}", entity.def.entity_set);
        form_page(s, lang, token, &entity, title, format!("{list}/new"), list, None, fields, None, StatusCode::OK)
    })
    .await
}

/// May the caller create records of this entity (as their own)?
pub(super) fn may_create(s: &Session<'_, '_, '_>, entity: &Entity) -> bool {
    entity.has_privileges()
        && !entity.def.is_activity
        && s.principal.can(
            entity,
            Right::Create,
            Some(s.principal.user_id),
            Some(s.principal.business_unit_id),
            Default::default(),
        )
}

/// The posted form, after its CSRF value was checked.
async fn posted(req: Request) -> Result<(axum::http::HeaderMap, HashMap<String, String>), Response> {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response());
    };
    // Checkboxes post a hidden empty value first and "1" when checked: the last value wins.
    let mut form = HashMap::new();
    for (k, v) in form_urlencoded::parse(&bytes).into_owned() {
        form.insert(k, v);
    }
    let token = super::cookie(&parts.headers, super::SESSION_COOKIE);
    let ok = token.as_deref().is_some_and(|t| form.get("csrf").is_some_and(|c| same(c, &csrf_for(t))));
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
    Ok((parts.headers, form))
}

/// Field values of a posted form, and the messages of those that are not valid.
fn read_form(
    entity: &Entity,
    creating: bool,
    form: &HashMap<String, String>,
    lang: Lang,
) -> (Vec<(String, Value)>, HashMap<String, String>) {
    let mut values = Vec::new();
    let mut errors = HashMap::new();
    for a in editable(entity, creating) {
        let Some(raw) = form.get(&a.name) else { continue };
        match parse_input(a, raw, lang) {
            Ok(v) => values.push((a.name.clone(), v)),
            Err(m) => {
                errors.insert(a.name.clone(), m);
            }
        }
    }
    (values, errors)
}

/// The field an engine message is about (`'name' …`), if it names one.
fn field_of_message(entity: &Entity, message: &str) -> Option<String> {
    entity.attributes().iter().find(|a| message.contains(&format!("'{}'", a.name))).map(|a| a.name.clone())
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
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::NotFound(text(lang, "not_found").to_string()))?;
        let rec = s
            .retrieve(entity.name(), id, &Default::default())
            .map_err(|_| EngineError::NotFound(text(lang, "not_found").to_string()))?;
        let (values, mut errors) = read_form(&entity, false, &form, lang);
        let version = form.get("_version").and_then(|v| v.parse::<i64>().ok());
        let record_url = format!("/ui/{}/{id}", entity.def.entity_set);
        let title = rec.get(&entity.def.primary_name).and_then(Value::as_str).unwrap_or("").to_string();
        let again =
            |s: &mut Session<'_, '_, '_>, errors: &HashMap<String, String>, alert: String, status: StatusCode| {
                let fields =
                    fields_of(s, &entity, false, &|a| form.get(&a.name).cloned().unwrap_or_default(), errors, lang);
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
                Err(EngineError::Invalid(m)) => {
                    let status = StatusCode::BAD_REQUEST;
                    let page = match field_of_message(&entity, &m) {
                        Some(f) => {
                            errors.insert(f, m);
                            again(s, &errors, text(lang, "fix_errors").to_string(), status)
                        }
                        None => again(s, &errors, m, status),
                    }?;
                    return Err(PageError::Shown(Box::new(page)));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(redirect(&record_url))
    })
    .await
}

pub(super) async fn create(State(st): State<AppState>, Path(set): Path<String>, req: Request) -> Response {
    let (headers, form) = match posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/{set}/new");
    signed_in(&st, &headers, &here, None, true, move |s, lang, token| {
        let entity = readable_entity(s, &set, lang)?;
        let (values, mut errors) = read_form(&entity, true, &form, lang);
        let list = format!("/ui/{}", entity.def.entity_set);
        let title = text(lang, "new_record").replace("{entity}", entity.def.label.text(lang.lcid()));
        let again =
            |s: &mut Session<'_, '_, '_>, errors: &HashMap<String, String>, alert: String, status: StatusCode| {
                let fields =
                    fields_of(s, &entity, true, &|a| form.get(&a.name).cloned().unwrap_or_default(), errors, lang);
                form_page(
                    s,
                    lang,
                    token,
                    &entity,
                    title.clone(),
                    format!("{list}/new"),
                    list.clone(),
                    None,
                    fields,
                    Some(alert),
                    status,
                )
            };
        if !errors.is_empty() {
            return again(s, &errors, text(lang, "fix_errors").to_string(), StatusCode::BAD_REQUEST);
        }
        let values: Vec<(String, Value)> = values.into_iter().filter(|(_, v)| !v.is_null()).collect();
        match s.create(entity.name(), RecordInput::new(values)) {
            Ok(id) => Ok(redirect(&format!("{list}/{id}"))),
            Err(EngineError::Invalid(m)) => {
                let page = match field_of_message(&entity, &m) {
                    Some(f) => {
                        errors.insert(f, m);
                        again(s, &errors, text(lang, "fix_errors").to_string(), StatusCode::BAD_REQUEST)
                    }
                    None => again(s, &errors, m, StatusCode::BAD_REQUEST),
                }?;
                Err(PageError::Shown(Box::new(page)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}
