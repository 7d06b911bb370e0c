//! A module's board (`Registry::board`): the open records of an entity by
//! stage of its active business process flow, with each column's count,
//! total and weighted total, and as a chart. A card moves to another stage
//! by drag and drop or, without a mouse, by its own small form; either way
//! the engine's stage rules run, as for any update. The sales pipeline is
//! one (`/ui/board/pipeline`).

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use relata_engine::modules::{in_language, Board};
use relata_engine::{Condition, EngineError, RecordInput, Session};
use relata_metadata::Value;
use relata_query::options::parse_query_options;
use relata_security::{Right, Scope};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::dashboards::charts;
use super::i18n::{text, Lang, Text};
use super::pages::{names_of, path_and_query, shell, shell_context, signed_in, PageError};
use super::{redirect, render};
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[("board.html", include_str!("templates/board.html"))];

pub(super) const TEXT: &[Text] = &[
    ("board_all", "All I can see", "Все доступные"),
    ("board_count", "{n} open", "Открыто: {n}"),
    ("board_total", "Total", "Сумма"),
    ("board_weighted", "Weighted", "Взвешенная сумма"),
    ("board_move_to", "Move to stage", "Перевести на этап"),
    ("board_move", "Move", "Перевести"),
    ("board_moved", "Moved to {stage}.", "Переведено на этап «{stage}»."),
    ("board_no_stage", "No stage", "Без этапа"),
    ("board_truncated", "Showing the first {n} records.", "Показаны первые {n} записей."),
    ("board_bad_stage", "That is not a stage of the process.", "Такого этапа нет в процессе."),
];

/// The most cards a board shows.
const MAX_CARDS: usize = 500;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/ui/board/{path}", get(board)).route("/ui/board/{path}/move", post(move_card))
}

/// The board declared at `path`, if its entity exists and the user may
/// read it.
pub(super) fn declared(s: &Session<'_, '_, '_>, path: &str) -> Option<Board> {
    let board = s.org.modules().boards().iter().find(|b| b.path == path)?.clone();
    let entity = s.schema.entity(board.entity)?;
    (s.principal.read_scope(entity) != Scope::Nothing).then_some(board)
}

/// The boards the user may open: (page, title).
pub(super) fn readable_boards(s: &Session<'_, '_, '_>, lang: Lang) -> Vec<(String, &'static str)> {
    let paths: Vec<&'static str> = s.org.modules().boards().iter().map(|b| b.path).collect();
    paths
        .into_iter()
        .filter_map(|p| declared(s, p))
        .map(|b| (format!("/ui/board/{}", b.path), in_language(b.title, lang.lcid())))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Stage {
    pub id: Option<Uuid>,
    /// As stored (`stepname` of opportunities).
    pub name: String,
    /// As the user reads it.
    pub label: String,
}

#[derive(Serialize)]
struct Card {
    id: Uuid,
    name: String,
    subtitle: String,
    value: String,
    owner: String,
    movable: bool,
}

#[derive(Serialize)]
struct Column {
    stage: Stage,
    cards: Vec<Card>,
    count: usize,
    total: String,
    weighted: String,
    #[serde(skip)]
    total_value: f64,
}

/// The stages of the entity's active business process flow, in order.
pub(super) fn stages(s: &mut Session<'_, '_, '_>, entity: &str, lang: Lang) -> Result<Vec<Stage>, PageError> {
    let readable = |s: &Session<'_, '_, '_>, n: &str| {
        s.schema.entity(n).is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing)
    };
    if !readable(s, "workflow") || !readable(s, "processstage") {
        return Ok(Vec::new());
    }
    let q = format!(
        "$select=workflowid&$filter=category eq 4 and primaryentity eq '{entity}' and statecode eq 1&$orderby=createdon&$top=1"
    );
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let Some(process) = s.query("workflow", &opts, Some(1), None)?.records.first().map(|r| r.id) else {
        return Ok(Vec::new());
    };
    let q = format!("$select=stagename&$filter=_processid_value eq {process}&$orderby=relata_stageorder,stagename");
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok(s.query("processstage", &opts, Some(50), None)?
        .records
        .iter()
        .map(|r| {
            let name = r.get("stagename").and_then(Value::as_str).unwrap_or("").to_string();
            Stage { id: Some(r.id), label: super::i18n::stage_label(&name, lang), name }
        })
        .collect())
}

/// The organization's base currency, for totals over many currencies.
pub(super) fn base_currency(s: &mut Session<'_, '_, '_>) -> Result<relata_print::format::CurrencyInfo, PageError> {
    let readable = s.schema.entity("organization").is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing);
    if readable {
        let opts =
            parse_query_options("$select=basecurrencyid&$top=1").map_err(|e| EngineError::Invalid(e.to_string()))?;
        let orgs = s.query("organization", &opts, Some(1), None)?.records;
        if let Some(c) = orgs.first().and_then(|o| o.get("basecurrencyid")).and_then(Value::as_ref_value) {
            let id = c.id;
            if let Some(info) = super::list::currencies(s, vec![id])?.remove(&id) {
                return Ok(info);
            }
        }
    }
    Ok(relata_print::format::CurrencyInfo::from_code(""))
}

pub(super) fn money(d: Decimal, c: &relata_print::format::CurrencyInfo, lang: Lang) -> String {
    relata_print::format::money(d, c, relata_print::format::Lang::from_lcid(lang.lcid()))
}

async fn board(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query(&format!("/ui/board/{path}"), &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let board = declared(s, &path).ok_or_else(|| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let entity = s.entity(board.entity)?;
        let lcid = lang.lcid();
        let sh = shell(s, lang, token, Some(board.entity))?;
        let mine = q.get("mine").is_some_and(|m| m == "1");
        let mut stages = stages(s, board.entity, lang)?;
        let mut filter = board.filter.to_string();
        if mine {
            filter.push_str(" and Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')");
        }
        let primary = entity.def.primary_name.clone();
        let amount = board.amount;
        let currency = entity.attribute("transactioncurrencyid").map(|_| "transactioncurrencyid");
        let columns: Vec<&str> = [Some(primary.as_str()), board.subtitle, Some(amount), board.weight, currency]
            .into_iter()
            .flatten()
            .chain(["ownerid", "stageid"])
            .collect();
        let query = format!(
            "$select={},{amount}_base&$filter={filter}&$orderby={amount}_base desc,{}",
            columns.join(","),
            entity.def.primary_id
        );
        let opts = parse_query_options(&query).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let page = s.query(board.entity, &opts, Some(MAX_CARDS), None)?;
        let names = names_of(s, &page.records)?;
        let currencies = super::list::currencies_of(s, &page.records)?;
        let base = base_currency(s)?;
        let known: Vec<Uuid> = stages.iter().filter_map(|st| st.id).collect();
        if page.records.iter().any(|r| r.get("stageid").and_then(Value::as_uuid).is_none_or(|id| !known.contains(&id))) {
            stages.insert(0, Stage { id: None, name: String::new(), label: text(lang, "board_no_stage").to_string() });
        }
        let plang = relata_print::format::Lang::from_lcid(lcid);
        let base_column = format!("{amount}_base");
        let mut columns = Vec::new();
        for stage in &stages {
            let mut cards = Vec::new();
            let (mut total, mut weighted) = (Decimal::ZERO, Decimal::ZERO);
            for r in &page.records {
                let at = r.get("stageid").and_then(Value::as_uuid).filter(|id| known.contains(id));
                if at != stage.id {
                    continue;
                }
                let base_value = r.get(&base_column).and_then(Value::as_decimal).unwrap_or_default();
                let weight = board.weight.and_then(|w| r.get(w)).and_then(Value::as_i64);
                total += base_value;
                weighted += base_value * Decimal::from(weight.unwrap_or(100)) / Decimal::from(100);
                let currency = r.get("transactioncurrencyid").and_then(Value::as_ref_value).and_then(|c| currencies.get(&c.id));
                let value = r.get(amount).and_then(Value::as_decimal).unwrap_or_default();
                let name_of = |k: &str| r.get(k).and_then(Value::as_ref_value).and_then(|x| names.get(&x.id)).cloned().unwrap_or_default();
                let value = match currency {
                    Some(c) => relata_print::format::money(value, c, plang),
                    None => relata_print::format::number(value, Some(2), plang),
                };
                cards.push(Card {
                    id: r.id,
                    name: r.get(&primary).and_then(Value::as_str).unwrap_or("").to_string(),
                    subtitle: board.subtitle.map(name_of).unwrap_or_default(),
                    value: match weight {
                        Some(w) => format!("{value} · {w}%"),
                        None => value,
                    },
                    owner: name_of("ownerid"),
                    movable: s.may(&entity, Right::Write, r.id)?,
                });
            }
            columns.push(Column {
                total_value: total.to_string().parse().unwrap_or(0.0),
                stage: stage.clone(),
                count: cards.len(),
                cards,
                total: money(total, &base, lang),
                weighted: money(weighted.round_dp(base.precision), &base, lang),
            });
        }
        let chart = charts::bars(
            board.path,
            in_language(board.chart, lcid),
            in_language(board.chart_description, lcid),
            columns
                .iter()
                .map(|c| charts::Bar {
                    label: c.stage.label.clone(),
                    value: c.total_value,
                    shown: format!("{} · {}", c.total, c.count),
                })
                .collect(),
        );
        let movable_stages: Vec<&Stage> = stages.iter().filter(|st| st.id.is_some()).collect();
        Ok(render(
            "board.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", mine => mine, path => board.path, set => entity.def.entity_set.clone(),
                title => in_language(board.title, lcid), mine_label => in_language(board.mine, lcid),
                weighted_shown => board.weight.is_some(),
                columns => minijinja::Value::from(minijinja::value::Serde(&columns)),
                stages => minijinja::Value::from(minijinja::value::Serde(&movable_stages)),
                chart => minijinja::Value::from(minijinja::value::Serde(&chart)),
                truncated => (page.records.len() >= MAX_CARDS).then(|| text(lang, "board_truncated").replace("{n}", &MAX_CARDS.to_string())),
                done => q.get("done"), problem => q.get("problem"),
            }},
        ))
    })
    .await
}

/// Moves a card: `POST id, stage`. Scripts ask for JSON; the plain form
/// goes back to the board.
async fn move_card(State(st): State<AppState>, Path(path): Path<String>, req: Request) -> Response {
    let wants_json = super::wants_json(req.headers());
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let page = format!("/ui/board/{path}");
    let back = if form.get("mine").is_some_and(|m| m == "1") { format!("{page}?mine=1") } else { page };
    let sep = if back.contains('?') { '&' } else { '?' };
    signed_in(&st, &headers, &back.clone(), None, true, move |s, lang, _token| {
        let board = declared(s, &path).ok_or_else(|| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let id = form.get("id").and_then(|v| Uuid::parse_str(v).ok());
        let stage = form.get("stage").and_then(|v| Uuid::parse_str(v).ok());
        let stages = stages(s, board.entity, lang)?;
        let (Some(id), Some(chosen)) = (id, stages.iter().find(|st| st.id.is_some() && st.id == stage)) else {
            return Err(EngineError::Invalid(text(lang, "board_bad_stage").to_string()).into());
        };
        let result = s.update(
            board.entity,
            id,
            RecordInput::new(vec![("stageid".into(), Value::Uuid(chosen.id.expect("a stage")))]),
            Condition { if_match: Some(None), ..Default::default() },
            false,
        );
        let message = match result.map_err(|e| super::localized(e, lang)) {
            Ok(_) => Ok(text(lang, "board_moved").replace("{stage}", &chosen.label)),
            Err(EngineError::Invalid(m) | EngineError::Conflict(m)) => Err((StatusCode::BAD_REQUEST, m)),
            Err(EngineError::Forbidden(m)) => Err((StatusCode::FORBIDDEN, m.text)),
            Err(EngineError::NotFound(m)) => Err((StatusCode::NOT_FOUND, m.text)),
            Err(e) => return Err(e.into()),
        };
        let encode = |m: &str| percent_encoding::utf8_percent_encode(m, percent_encoding::NON_ALPHANUMERIC).to_string();
        match (message, wants_json) {
            (Ok(m), true) => Ok(super::json_response(StatusCode::OK, &serde_json::json!({ "ok": true, "message": m }))),
            (Ok(m), false) => Ok(redirect(&format!("{back}{sep}done={}", encode(&m)))),
            (Err((status, m)), true) => Err(PageError::Shown(Box::new(super::json_response(
                status,
                &serde_json::json!({ "ok": false, "message": m }),
            )))),
            (Err((status, m)), false) => {
                let r = if status == StatusCode::FORBIDDEN {
                    super::html_response(
                        status,
                        format!("<!doctype html><p role=\"alert\">{}</p>", m.replace('<', "&lt;")),
                    )
                } else {
                    redirect(&format!("{back}{sep}problem={}", encode(&m)))
                };
                Err(PageError::Shown(Box::new(r)))
            }
        }
    })
    .await
}
