//! The user's in-app notifications (`appnotification`, a platform entity):
//! the bell in the header with the count of unread ones, and the page that
//! lists them with "Mark as read" and "Mark all as read". Everything goes
//! through the session as the user, so the engine's privilege checks keep
//! anyone from reading or touching someone else's notifications.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use minijinja::context;
use relata_engine::{Condition, EngineError, RecordInput, Session};
use relata_metadata::{EntityRef, Value};
use relata_query::options::parse_query_options;
use relata_security::Scope;
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang, Text};
use super::pages::{display, shell, shell_context, signed_in, PageError};
use super::{redirect, render};
use crate::AppState;

/// The entity the bell counts and the page lists.
const ENTITY: &str = "appnotification";
/// `appnotification.priority` High.
const HIGH: i64 = 200_000_001;
/// The most notifications the page shows (unread first, newest first).
const SHOWN: usize = 200;
/// The most notifications "Mark all as read" marks in one request.
const MARK_ALL_LIMIT: usize = 5_000;

pub(super) const TEMPLATES: &[(&str, &str)] = &[("notifications.html", include_str!("templates/notifications.html"))];

pub(super) const TEXT: &[Text] = &[
    ("ntf_title", "Notifications", "Уведомления"),
    ("ntf_bell", "Notifications: {n} unread", "Уведомления: непрочитанных — {n}"),
    ("ntf_none", "You have no notifications.", "Уведомлений нет."),
    ("ntf_mark_read", "Mark as read", "Отметить как прочитанное"),
    ("ntf_mark_all", "Mark all as read", "Отметить все как прочитанные"),
    ("ntf_unread", "Unread", "Не прочитано"),
    ("ntf_read", "Read", "Прочитано"),
    ("ntf_high", "High priority", "Высокий приоритет"),
    ("ntf_open", "Open {name}", "Открыть: {name}"),
    ("ntf_marked", "Marked as read: {n}.", "Отмечено как прочитанные: {n}."),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/notifications", get(page))
        .route("/ui/notifications/read-all", post(mark_all))
        .route("/ui/notifications/{id}/read", post(mark_one))
}

fn lit(d: DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The user's own notifications that have not expired.
fn current_filter(now: DateTime<Utc>) -> String {
    format!(
        "Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid') and (relata_expireson eq null or relata_expireson gt {})",
        lit(now)
    )
}

/// May the user read notifications at all (a custom role may not)?
fn readable(s: &Session<'_, '_, '_>) -> bool {
    s.schema.entity(ENTITY).is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing)
}

/// The bell's count: the user's unread notifications that have not
/// expired, in one count query; `None` when the user may not read any.
pub(super) fn unread(s: &mut Session<'_, '_, '_>) -> Result<Option<i64>, PageError> {
    if !readable(s) {
        return Ok(None);
    }
    let q = format!("$filter={} and isread eq false", current_filter(s.now));
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok(Some(s.count(ENTITY, &opts, None)?))
}

#[derive(Serialize)]
struct Shown {
    id: Uuid,
    title: String,
    body: String,
    /// A marker class per icon type: `info`, `success`, `failure`…
    icon: &'static str,
    /// The icon type's label, for readers of the marker.
    icon_label: String,
    high: bool,
    read: bool,
    created: String,
    /// The record it is about: its entity set (when the user may open
    /// its page), id and name.
    set: Option<String>,
    regarding_id: Option<Uuid>,
    regarding: String,
}

fn icon_class(v: i64) -> &'static str {
    match v {
        100_000_001 => "success",
        100_000_002 => "failure",
        100_000_003 => "warning",
        100_000_004 => "mention",
        100_000_005 => "custom",
        _ => "info",
    }
}

async fn page(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    signed_in(&st, &headers, "/ui/notifications", q.get("lang").cloned(), false, move |s, lang, token| {
        if !readable(s) {
            return Err(EngineError::forbidden(text(lang, "forbidden").to_string()).into());
        }
        let entity = s.entity(ENTITY)?;
        let query = format!(
            "$select=title,body,icontype,priority,isread,createdon,relata_regardingid&$filter={}&$orderby=isread asc,createdon desc&$top={SHOWN}",
            current_filter(s.now)
        );
        let opts = parse_query_options(&query).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let records = s.query(ENTITY, &opts, Some(SHOWN), None)?.records;
        let regarding: Vec<&EntityRef> = records.iter().filter_map(|r| r.get("relata_regardingid")?.as_ref_value()).collect();
        let names = if regarding.is_empty() { HashMap::new() } else { s.lookup_names(&regarding)? };
        let label_of = |attr: &str, v: Option<&Value>| -> String {
            match (entity.attribute(attr), v) {
                (Some(a), Some(v)) => display(s, a, v, lang, &names),
                _ => String::new(),
            }
        };
        let shown: Vec<Shown> = records
            .iter()
            .map(|r| {
                let icon = r.get("icontype").and_then(Value::as_i64).unwrap_or(100_000_000);
                let target = r.get("relata_regardingid").and_then(Value::as_ref_value);
                // A link only to a record page the user could open.
                let set = target.and_then(|t| {
                    let e = s.schema.entity(&t.entity)?;
                    (s.principal.read_scope(e) != Scope::Nothing && !e.def.is_intersect)
                        .then(|| e.def.entity_set.clone())
                });
                Shown {
                    id: r.id,
                    title: r.get("title").and_then(Value::as_str).unwrap_or("").to_string(),
                    body: r.get("body").and_then(Value::as_str).unwrap_or("").to_string(),
                    icon: icon_class(icon),
                    icon_label: label_of("icontype", r.get("icontype")),
                    high: r.get("priority").and_then(Value::as_i64) == Some(HIGH),
                    read: r.get("isread").and_then(Value::as_bool).unwrap_or(false),
                    created: label_of("createdon", r.get("createdon")),
                    regarding: target.and_then(|t| names.get(&t.id).cloned()).unwrap_or_default(),
                    regarding_id: target.map(|t| t.id),
                    set,
                }
            })
            .collect();
        let any_unread = shown.iter().any(|n| !n.read);
        let done = q.get("marked").and_then(|n| n.parse::<usize>().ok()).map(|n| marked(lang, n));
        let sh = shell(s, lang, token, None)?;
        Ok(render(
            "notifications.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", done => done, any_unread => any_unread,
                notifications => minijinja::Value::from(minijinja::value::Serde(&shown)),
            }},
        ))
    })
    .await
}

fn marked(lang: Lang, n: usize) -> String {
    text(lang, "ntf_marked").replace("{n}", &n.to_string())
}

/// Marks one notification read, as the user: the engine refuses someone
/// else's.
fn mark(s: &mut Session<'_, '_, '_>, id: Uuid) -> Result<(), PageError> {
    let input = RecordInput::new(vec![("isread".to_string(), Value::Bool(true))]);
    s.update(ENTITY, id, input, Condition::default(), false)?;
    Ok(())
}

/// `POST /ui/notifications/{id}/read`.
async fn mark_one(State(st): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (headers, _form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    signed_in(&st, &headers, "/ui/notifications", None, true, move |s, lang, _token| {
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        mark(s, id)?;
        Ok(redirect("/ui/notifications?marked=1"))
    })
    .await
}

/// `POST /ui/notifications/read-all`: every unread notification of the
/// user, in one transaction.
async fn mark_all(State(st): State<AppState>, req: Request) -> Response {
    let (headers, _form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    signed_in(&st, &headers, "/ui/notifications", None, true, move |s, lang, _token| {
        if !readable(s) {
            return Err(EngineError::forbidden(text(lang, "forbidden").to_string()).into());
        }
        let q = "$select=title&$filter=Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid') and isread eq false";
        let opts = parse_query_options(q).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let ids: Vec<Uuid> =
            s.query(ENTITY, &opts, Some(MARK_ALL_LIMIT), None)?.records.into_iter().map(|r| r.id).collect();
        for id in &ids {
            mark(s, *id)?;
        }
        Ok(redirect(&format!("/ui/notifications?marked={}", ids.len())))
    })
    .await
}
