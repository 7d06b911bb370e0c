//! Bulk actions on the records ticked in a list (assign, activate,
//! deactivate, delete), all or nothing in one transaction; and export of a
//! list as the user sees it to CSV or XLSX, for holders of
//! `prvExportToExcel`.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use relata_engine::{Condition, EngineError, RecordInput, Session};
use relata_metadata::{AttributeDef, Entity, EntityRef, Value};
use relata_query::options::parse_query_options;
use relata_security::{Depth, Right, Scope};
use uuid::Uuid;

use super::i18n::{text, Lang};
use super::list::{currencies_of, effective_fetch, run, views, ListState};
use super::pages::{display_in, names_of, readable_entity, signed_in, PageError};
use super::redirect;
use crate::AppState;

/// The most records one bulk action changes.
const MAX_BULK: usize = 500;
/// The most rows one export writes.
const MAX_EXPORT: usize = 100_000;

/// The bulk actions the user may run on this entity: (key, label); an
/// activated on-demand workflow of the entity is `workflow:<id>`.
pub(super) fn bulk_actions(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    lang: Lang,
) -> Result<Vec<(String, String)>, PageError> {
    let may = |r: Right| entity.has_privileges() && s.principal.depth(entity, r) > Depth::None;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |key: &str, label: &str| out.push((key.to_string(), label.to_string()));
    if entity.is_owned() && may(Right::Assign) {
        add("assign", text(lang, "bulk_assign"));
    }
    if has_active_inactive(entity) && may(Right::Write) {
        add("activate", text(lang, "bulk_activate"));
        add("deactivate", text(lang, "bulk_deactivate"));
    }
    if may(Right::Delete) {
        add("delete", text(lang, "bulk_delete"));
    }
    for (id, name) in super::processes::on_record::on_demand(s, entity)? {
        out.push((format!("workflow:{id}"), text(lang, "bulk_run_workflow").replace("{name}", &name)));
    }
    Ok(out)
}

/// Entities whose states are simply Active (0) and Inactive (1); the
/// others change state through their own actions (qualify, win, …).
fn has_active_inactive(entity: &Entity) -> bool {
    let names: Vec<(i32, &str)> = entity.def.states.iter().map(|s| (s.value, s.name.as_str())).collect();
    names.contains(&(0, "Active")) && names.contains(&(1, "Inactive"))
}

/// Users and teams records may be assigned to: (`systemuser:<id>`, name).
pub(super) fn assignees(s: &mut Session<'_, '_, '_>) -> Result<Vec<(String, String)>, PageError> {
    let mut out = Vec::new();
    for (entity, name, filter) in [("systemuser", "fullname", "isdisabled eq false"), ("team", "name", "teamtype eq 0")]
    {
        let Some(e) = s.schema.entity(entity).cloned() else { continue };
        if s.principal.read_scope(&e) == Scope::Nothing {
            continue;
        }
        let q = format!("$select={name}&$filter={filter}&$orderby={name}");
        let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
        for r in s.query(entity, &opts, Some(500), None)?.records {
            let n = r.get(name).and_then(Value::as_str).unwrap_or("").to_string();
            if !n.is_empty() {
                out.push((format!("{entity}:{}", r.id), n));
            }
        }
    }
    Ok(out)
}

/// Runs a bulk action on the ticked records.
pub(super) async fn bulk(State(st): State<AppState>, Path(set): Path<String>, req: Request) -> Response {
    let (headers, form, ids) = match super::forms::posted_multi(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let back = form.get("back").filter(|b| b.starts_with(&format!("/ui/{set}"))).cloned();
    let here = format!("/ui/{set}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        let action = form.get("action").map(String::as_str).unwrap_or("");
        let allowed = bulk_actions(s, &entity, lang)?;
        if !allowed.iter().any(|(k, _)| *k == action) {
            return Err(EngineError::forbidden(text(lang, "bulk_not_allowed").to_string()).into());
        }
        let ids: Vec<Uuid> = ids.iter().filter_map(|i| Uuid::parse_str(i).ok()).collect();
        if ids.is_empty() {
            return Err(EngineError::Invalid(text(lang, "bulk_none_selected").to_string()).into());
        }
        if ids.len() > MAX_BULK {
            return Err(EngineError::Invalid(text(lang, "bulk_too_many").replace("{n}", &MAX_BULK.to_string())).into());
        }
        let owner = if action == "assign" {
            let raw = form.get("owner").map(String::as_str).unwrap_or("");
            let (e, id) = raw.split_once(':').unwrap_or(("", ""));
            let id = Uuid::parse_str(id).ok().filter(|_| matches!(e, "systemuser" | "team"));
            Some(
                id.map(|id| EntityRef { entity: e.to_string(), id })
                    .ok_or_else(|| EngineError::Invalid(text(lang, "bulk_pick_owner").to_string()))?,
            )
        } else {
            None
        };
        for id in &ids {
            let result = match action {
                run if run.starts_with("workflow:") => {
                    let workflow = Uuid::parse_str(&run["workflow:".len()..]).unwrap_or_default();
                    super::processes::on_record::execute(s, workflow, *id).map(|_| ())
                }
                "assign" => s
                    .update(
                        entity.name(),
                        *id,
                        RecordInput::new(vec![("ownerid".into(), Value::Ref(owner.clone().expect("owner checked")))]),
                        Condition { if_match: Some(None), ..Default::default() },
                        false,
                    )
                    .map(|_| ()),
                "activate" | "deactivate" => {
                    let state = if action == "activate" { 0 } else { 1 };
                    let status = entity.def.states.iter().find(|x| x.value == state).map(|x| x.default_status);
                    let mut values = vec![("statecode".to_string(), Value::Int(state as i64))];
                    if let Some(st) = status {
                        values.push(("statuscode".into(), Value::Int(st as i64)));
                    }
                    s.update(
                        entity.name(),
                        *id,
                        RecordInput::new(values),
                        Condition { if_match: Some(None), ..Default::default() },
                        false,
                    )
                    .map(|_| ())
                }
                _ => s.delete(entity.name(), *id, None),
            };
            // One refusal undoes the whole batch; the message names the record.
            if let Err(e) = result {
                let name = s
                    .lookup_names(&[&EntityRef { entity: entity.name().to_string(), id: *id }])
                    .ok()
                    .and_then(|m| m.get(id).cloned())
                    .unwrap_or_else(|| id.to_string());
                let reason = match super::localized(e, lang) {
                    e @ (EngineError::Forbidden(_) | EngineError::NotFound(_)) => e.to_string(),
                    EngineError::Invalid(m) => m,
                    EngineError::PreconditionFailed(m) => m,
                    other => return Err(other.into()),
                };
                let message = text(lang, "bulk_failed").replace("{record}", &name).replace("{reason}", &reason);
                return Err(PageError::Engine(EngineError::Invalid(message)));
            }
        }
        let done = text(lang, "bulk_done").replace("{n}", &ids.len().to_string());
        let to = back.unwrap_or_else(|| format!("/ui/{set}"));
        let sep = if to.contains('?') { '&' } else { '?' };
        Ok(redirect(&format!(
            "{to}{sep}done={}",
            percent_encoding::utf8_percent_encode(&done, percent_encoding::NON_ALPHANUMERIC)
        )))
    })
    .await
}

/// Exports the list as the user sees it (view, quick find, filters, sort),
/// every page of it, with values as shown on screen.
pub(super) async fn export(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(set): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/ui/{set}");
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        if !s.principal.has("prvExportToExcel") {
            return Err(EngineError::forbidden(text(lang, "export_forbidden").to_string()).into());
        }
        let xlsx = match q.get("format").map(String::as_str) {
            Some("xlsx") => true,
            Some("csv") | None => false,
            Some(other) => {
                return Err(EngineError::Invalid(text(lang, "export_bad_format").replace("{format}", other)).into())
            }
        };
        let state = ListState::from_query(&q);
        let (_, view) = views(s, &entity, state.view.as_deref(), lang)?;
        let (fetch, errors) = effective_fetch(&entity, &view, &state, lang)?;
        if let Some(m) = errors.first() {
            return Err(EngineError::Invalid(m.clone()).into());
        }
        let columns: Vec<AttributeDef> = view
            .columns
            .iter()
            .filter_map(|c| entity.attribute(c))
            .filter(|a| s.principal.can_read_field(&entity, a))
            .cloned()
            .collect();
        let header: Vec<String> = columns.iter().map(|a| a.label.text(lang.lcid()).to_string()).collect();
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        let mut token = None;
        loop {
            let page = run(s, &entity, &fetch, token, 5000)?;
            let names = names_of(s, &page.records)?;
            let currencies = currencies_of(s, &page.records)?;
            for r in &page.records {
                let currency =
                    r.get("transactioncurrencyid").and_then(Value::as_ref_value).and_then(|c| currencies.get(&c.id));
                rows.push(
                    columns
                        .iter()
                        .map(|a| match r.get(&a.name) {
                            Some(Value::Decimal(d)) if xlsx => Cell::Number(d.to_string().parse().unwrap_or(0.0)),
                            Some(Value::Int(i))
                                if xlsx && !a.kind.is_lookup() && a.option_set.is_none() && a.options.is_empty() =>
                            {
                                Cell::Number(*i as f64)
                            }
                            Some(v) => Cell::Text(display_in(s, a, v, lang, &names, currency)),
                            None => Cell::Text(String::new()),
                        })
                        .collect(),
                );
            }
            if rows.len() >= MAX_EXPORT {
                rows.truncate(MAX_EXPORT);
                break;
            }
            match page.skiptoken {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let file = format!("{}.{}", entity.def.entity_set, if xlsx { "xlsx" } else { "csv" });
        let (bytes, mime) = if xlsx {
            (
                write_xlsx(&header, &rows).map_err(EngineError::Invalid)?,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        } else {
            (write_csv(&header, &rows).map_err(EngineError::Invalid)?, "text/csv; charset=utf-8")
        };
        let mut r = (StatusCode::OK, bytes).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(r)
    })
    .await
}

enum Cell {
    Text(String),
    Number(f64),
}

/// CSV with a byte order mark, so spreadsheet programs read it as UTF-8.
fn write_csv(header: &[String], rows: &[Vec<Cell>]) -> Result<Vec<u8>, String> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(header).map_err(|e| e.to_string())?;
        for row in rows {
            let fields: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => t.clone(),
                    Cell::Number(n) => n.to_string(),
                })
                .collect();
            w.write_record(&fields).map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn write_xlsx(header: &[String], rows: &[Vec<Cell>]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &bold).map_err(|e| e.to_string())?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(t) if !t.is_empty() => {
                    sheet.write_string(r, c as u16, t).map_err(|e| e.to_string())?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c as u16, *n).map_err(|e| e.to_string())?;
                }
                Cell::Text(_) => {}
            }
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}
