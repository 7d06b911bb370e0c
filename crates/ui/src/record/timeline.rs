//! A record's timeline: the activities regarding it and the notes on it,
//! newest first; adding a note (with a file) or a task; downloading a
//! note's file. Reads and writes go through the engine, so a user sees
//! only the activities and notes their roles let them read.

use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{TimeZone, Utc};
use relata_engine::{EngineError, RecordInput, Session};
use relata_metadata::{Entity, EntityRef, Value};
use relata_query::options::parse_query_options;
use relata_security::{Right, Scope};
use serde::Serialize;
use uuid::Uuid;

use super::super::i18n::{text, Lang};
use super::super::pages::{names_of, readable_entity, signed_in, PageError};
use super::super::{cookie, csrf_for, redirect, same, SESSION_COOKIE};
use crate::AppState;

/// The largest file a note takes here (Dataverse's default limit).
pub(crate) const MAX_ATTACHMENT: usize = 5 * 1024 * 1024;
/// Entries shown per kind.
const SHOWN: usize = 25;

#[derive(Serialize)]
pub(super) struct Entry {
    kind: String,
    title: String,
    text: String,
    when: String,
    who: String,
    status: String,
    href: Option<String>,
    file: Option<String>,
    /// For ordering only.
    #[serde(skip)]
    at: chrono::DateTime<Utc>,
}

/// May the user create records of this entity, as their own?
pub(super) fn may_add(s: &Session<'_, '_, '_>, entity: &str) -> bool {
    s.schema.entity(entity).is_some_and(|e| {
        e.has_privileges()
            && s.principal.can(
                e,
                Right::Create,
                Some(s.principal.user_id),
                Some(s.principal.business_unit_id),
                Default::default(),
            )
    })
}

/// Links that open a new activity of each type the user may create,
/// `(entity set, href, label)`: regarding this record, with the record as
/// the first party (the call's or letter's recipient, an attendee) where
/// it can be one, and coming back here when saved.
pub(super) fn log_links(
    s: &Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    lang: Lang,
) -> Vec<(String, String, String)> {
    if !regarding_allowed(entity) {
        return Vec::new();
    }
    let me = format!("/ui/{}/{id}", entity.def.entity_set);
    let party_ok = s
        .schema
        .entity("activityparty")
        .and_then(|p| p.attribute("partyid"))
        .is_some_and(|a| a.targets.iter().any(|t| t.entity == entity.name()));
    let mut out: Vec<(String, String, String)> = s
        .schema
        .entities()
        .filter(|e| e.def.is_activity && e.def.activity_type_mask == 1 && may_add(s, e.name()))
        .map(|e| {
            let mut href = format!(
                "/ui/{}/new?regardingobjectid={}:{id}&back={}",
                e.def.entity_set,
                entity.name(),
                me.replace('/', "%2F")
            );
            if let Some(p) = e.def.parties.iter().find(|p| matches!(p.mask, 2 | 5)).filter(|_| party_ok) {
                href.push_str(&format!("&{}={}:{id}", p.name, entity.name()));
            }
            (e.def.entity_set.clone(), href, e.def.label.text(lang.lcid()).to_string())
        })
        .collect();
    out.sort_by(|a, b| a.2.cmp(&b.2));
    out
}

/// The names in an activity's party lists, `(label, names)` per list.
pub(super) fn parties(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    lang: Lang,
) -> Result<Vec<(String, String)>, PageError> {
    if entity.def.parties.is_empty() {
        return Ok(Vec::new());
    }
    let q = format!("$select=partyid,participationtypemask&$filter=_activityid_value eq {id}");
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let rows = s.query("activityparty", &opts, Some(200), None)?.records;
    let names = names_of(s, &rows)?;
    Ok(entity
        .def
        .parties
        .iter()
        .filter_map(|p| {
            let who: Vec<String> = rows
                .iter()
                .filter(|r| r.get("participationtypemask").and_then(Value::as_i64) == Some(p.mask as i64))
                .filter_map(|r| r.get("partyid").and_then(Value::as_ref_value).and_then(|x| names.get(&x.id)).cloned())
                .collect();
            (!who.is_empty()).then(|| (p.label.text(lang.lcid()).to_string(), who.join(", ")))
        })
        .collect())
}

/// Can activities be regarding records of this entity?
pub(super) fn regarding_allowed(entity: &Entity) -> bool {
    !entity.def.is_activity && entity.has_privileges()
}

fn when(d: &chrono::DateTime<Utc>, lang: Lang) -> String {
    let plang = relata_print::format::Lang::from_lcid(lang.lcid());
    format!(
        "{} {}",
        relata_print::format::date(d.date_naive(), relata_print::format::DateStyle::Short, plang),
        d.format("%H:%M")
    )
}

pub(super) fn entries(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    lang: Lang,
) -> Result<Vec<Entry>, PageError> {
    let mut out = Vec::new();
    let readable = |s: &Session<'_, '_, '_>, n: &str| {
        s.schema.entity(n).is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing)
    };
    if readable(s, "activitypointer") && regarding_allowed(entity) {
        let q = format!(
            "$select=subject,activitytypecode,scheduledend,statecode,ownerid,createdon&$filter=_regardingobjectid_value eq {id}&$orderby=createdon desc&$top={SHOWN}"
        );
        let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let page = s.query("activitypointer", &opts, Some(SHOWN), None)?;
        let names = names_of(s, &page.records)?;
        let pointer = s.entity_by_set("activitypointers")?;
        for r in &page.records {
            let kind = r.get("activitytypecode").and_then(Value::as_str).unwrap_or("activitypointer").to_string();
            let target = s.schema.entity(&kind).cloned();
            let at = r.get("createdon").and_then(Value::as_datetime).unwrap_or_default();
            let status = pointer
                .attribute("statecode")
                .and_then(|a| r.get("statecode").map(|v| super::super::pages::display(s, a, v, lang, &names)))
                .unwrap_or_default();
            let due = r.get("scheduledend").and_then(Value::as_datetime).map(|d| when(&d, lang)).unwrap_or_default();
            out.push(Entry {
                kind: target.as_ref().map(|e| e.def.label.text(lang.lcid()).to_string()).unwrap_or(kind.clone()),
                title: r.get("subject").and_then(Value::as_str).unwrap_or("").to_string(),
                text: due,
                when: when(&at, lang),
                who: r
                    .get("ownerid")
                    .and_then(Value::as_ref_value)
                    .and_then(|o| names.get(&o.id))
                    .cloned()
                    .unwrap_or_default(),
                status,
                href: target.map(|e| format!("/ui/{}/{}", e.def.entity_set, r.id)),
                file: None,
                at,
            });
        }
    }
    if readable(s, "annotation") {
        let q = format!(
            "$select=subject,notetext,filename,filesize,createdon,createdby&$filter=_objectid_value eq {id}&$orderby=createdon desc&$top={SHOWN}"
        );
        let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let page = s.query("annotation", &opts, Some(SHOWN), None)?;
        let names = names_of(s, &page.records)?;
        for r in &page.records {
            let at = r.get("createdon").and_then(Value::as_datetime).unwrap_or_default();
            let file = r.get("filename").and_then(Value::as_str).filter(|f| !f.is_empty()).map(|f| {
                let size = r.get("filesize").and_then(Value::as_i64).unwrap_or(0);
                format!("{f} ({} KB)", (size + 1023) / 1024)
            });
            out.push(Entry {
                kind: text(lang, "record_note").to_string(),
                title: r.get("subject").and_then(Value::as_str).unwrap_or("").to_string(),
                text: r.get("notetext").and_then(Value::as_str).unwrap_or("").to_string(),
                when: when(&at, lang),
                who: r
                    .get("createdby")
                    .and_then(Value::as_ref_value)
                    .and_then(|o| names.get(&o.id))
                    .cloned()
                    .unwrap_or_default(),
                status: String::new(),
                href: file.as_ref().map(|_| format!("/ui/annotations/{}/file", r.id)),
                file,
                at,
            });
        }
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.at));
    Ok(out)
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// What a note form posted.
#[derive(Default)]
struct NoteForm {
    csrf: String,
    subject: String,
    notetext: String,
    file: Option<(String, String, Vec<u8>)>,
}

/// The most an upload is read to its end (and thrown away) to answer a
/// file over the limit with the form instead of a reset connection.
pub(crate) const MAX_UPLOAD_DRAIN: usize = 1024 * 1024 * 1024;

/// Reads the note form. A file over the limit is read to its end and
/// dropped, so the user gets the form back with their text and a message
/// (the browser shows a reset connection to an upload answered early).
async fn read_note(mut multipart: Multipart, lang: Lang) -> (NoteForm, Option<String>) {
    let mut form = NoteForm::default();
    let too_large =
        || text(lang, "record_file_too_large").replace("{mb}", &(MAX_ATTACHMENT / (1024 * 1024)).to_string());
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            text(lang, "record_bad_upload").replace("{reason}", &e.body_text())
        }
    };
    let mut problem = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return (form, Some(bad(e))),
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let mime = field.content_type().unwrap_or("application/octet-stream").to_string();
        let mut bytes: Vec<u8> = Vec::new();
        let mut over = false;
        loop {
            match field.chunk().await {
                Ok(Some(c)) if !over && bytes.len() + c.len() <= MAX_ATTACHMENT => bytes.extend_from_slice(&c),
                Ok(Some(_)) => {
                    over = true;
                    bytes = Vec::new();
                }
                Ok(None) => break,
                Err(e) => return (form, Some(bad(e))),
            }
        }
        if over {
            problem = Some(too_large());
            continue;
        }
        match name.as_str() {
            "csrf" => form.csrf = String::from_utf8_lossy(&bytes).to_string(),
            "subject" => form.subject = String::from_utf8_lossy(&bytes).trim().to_string(),
            "notetext" => form.notetext = String::from_utf8_lossy(&bytes).trim().to_string(),
            "file" => {
                if let Some(f) = file_name.filter(|f| !f.is_empty()) {
                    if !bytes.is_empty() {
                        form.file = Some((f, mime, bytes));
                    }
                }
            }
            _ => {}
        }
    }
    (form, problem)
}

/// `POST /ui/{set}/{id}/notes` (multipart): a note on the record.
pub(in super::super) async fn add_note(
    State(st): State<AppState>,
    Path((set, id)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let lang = super::super::language(&headers, None, None);
    let page = format!("/ui/{set}/{id}");
    let (form, problem) = read_note(multipart, lang).await;
    let token = cookie(&headers, SESSION_COOKIE);
    if !token.as_deref().is_some_and(|t| same(&form.csrf, &csrf_for(t))) {
        return super::super::html_response(
            StatusCode::FORBIDDEN,
            format!("<!doctype html><p role=\"alert\">{}</p>", text(lang, "csrf")),
        );
    }
    // Nothing is saved; the record page comes back with the note's text
    // in its form and the message.
    if let Some(problem) = problem {
        let q: HashMap<String, String> = [
            ("problem".to_string(), problem),
            ("note_subject".to_string(), form.subject),
            ("note_text".to_string(), form.notetext),
        ]
        .into_iter()
        .collect();
        let mut r = super::record(State(st), headers, Path((set, id)), Query(q)).await;
        if r.status() == StatusCode::OK {
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        }
        return r;
    }
    let here = page.clone();
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        s.retrieve(entity.name(), id, &Default::default())?;
        if form.subject.is_empty() && form.notetext.is_empty() && form.file.is_none() {
            return Ok(redirect(&format!("{page}?problem={}", encode(text(lang, "record_note_empty")))));
        }
        let mut values = vec![("objectid".to_string(), Value::Ref(EntityRef { entity: entity.name().into(), id }))];
        if !form.subject.is_empty() {
            values.push(("subject".into(), Value::String(form.subject)));
        }
        if !form.notetext.is_empty() {
            values.push(("notetext".into(), Value::String(form.notetext)));
        }
        if let Some((name, mime, bytes)) = form.file {
            values.push(("filename".into(), Value::String(name)));
            values.push(("mimetype".into(), Value::String(mime)));
            values.push(("documentbody".into(), Value::Bytes(bytes)));
        }
        match s.create("annotation", RecordInput::new(values)).map_err(|e| crate::localized(e, lang)) {
            Ok(_) => Ok(redirect(&format!("{page}?done={}", encode(text(lang, "act_done"))))),
            Err(EngineError::Invalid(m)) => {
                Err(PageError::Shown(Box::new(redirect(&format!("{page}?problem={}", encode(&m))))))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// `POST /ui/{set}/{id}/tasks`: a task regarding the record.
pub(in super::super) async fn add_task(
    State(st): State<AppState>,
    Path((set, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (headers, form) = match super::super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let page = format!("/ui/{set}/{id}");
    let here = page.clone();
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let subject = form.get("subject").map(|v| v.trim().to_string()).unwrap_or_default();
        if subject.is_empty() {
            return Ok(redirect(&format!("{page}?problem={}", encode(text(lang, "fix_errors")))));
        }
        let mut values = vec![
            ("subject".to_string(), Value::String(subject)),
            ("regardingobjectid".to_string(), Value::Ref(EntityRef { entity: entity.name().into(), id })),
        ];
        if let Some(d) = form.get("scheduledend").and_then(|d| crate::zone::parse_day(d)) {
            let at = Utc.from_utc_datetime(&d.and_hms_opt(12, 0, 0).expect("noon"));
            values.push(("scheduledend".into(), Value::DateTime(at)));
        }
        match s.create("task", RecordInput::new(values)).map_err(|e| crate::localized(e, lang)) {
            Ok(_) => Ok(redirect(&format!("{page}?done={}", encode(text(lang, "act_done"))))),
            Err(EngineError::Invalid(m)) => {
                Err(PageError::Shown(Box::new(redirect(&format!("{page}?problem={}", encode(&m))))))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// `GET /ui/annotations/{id}/file`: a note's file, as the user may read it.
pub(in super::super) async fn download(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((set, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/ui/{set}/{id}/file");
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, _token| {
        if set != "annotations" {
            return Err(EngineError::not_found(text(lang, "not_found").to_string()).into());
        }
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let opts = parse_query_options("$select=filename,mimetype,documentbody")
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let rec = s.retrieve("annotation", id, &opts)?;
        let Some(Value::Bytes(bytes)) = rec.get("documentbody").cloned() else {
            return Err(EngineError::not_found(text(lang, "not_found").to_string()).into());
        };
        let name = rec.get("filename").and_then(Value::as_str).unwrap_or("file").replace(['"', '\\', '\r', '\n'], "_");
        let mime = rec.get("mimetype").and_then(Value::as_str).unwrap_or("application/octet-stream").to_string();
        let mut r = (StatusCode::OK, bytes).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        let disposition = format!(
            "attachment; filename=\"{}\"; filename*=UTF-8''{}",
            name.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect::<String>(),
            encode(&name)
        );
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        Ok(r)
    })
    .await
}
