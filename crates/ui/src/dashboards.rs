//! The home page: the user's dashboard, charts of their data drawn on the
//! server as SVG. Which charts a user gets follows their roles: each chart
//! needs read access to its entity, and its figures come from the
//! engine's aggregates, so they count only what the user may see.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Router;
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use minijinja::context;
use relata_engine::modules::{in_language, Chart, ChartGroup, Dashboard, Measure};
use relata_engine::{EngineError, Session};
use relata_metadata::Value;
use relata_query::options::parse_query_options;
use relata_security::Scope;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang, Text};
use super::pages::{path_and_query, shell, shell_context, signed_in, PageError};
use super::render;
use crate::AppState;

pub(super) mod charts;

pub(super) const TEMPLATES: &[(&str, &str)] = &[("home.html", include_str!("templates/home.html"))];

pub(super) const TEXT: &[Text] = &[
    ("dash_service", "Service dashboard", "Панель обслуживания"),
    ("dash_due", "My activities due", "Мои действия по срокам"),
    ("dash_due_desc", "Open activities the user owns, by due date", "Открытые действия пользователя по срокам"),
    ("dash_overdue", "Overdue", "Просрочено"),
    ("dash_today", "Today", "Сегодня"),
    ("dash_week", "Next 7 days", "Ближайшие 7 дней"),
    ("dash_later", "Later or no date", "Позже или без срока"),
    ("dash_next", "Next due", "Ближайшие"),
    ("dash_not_set", "Not set", "Не указано"),
    ("dash_nothing", "There is nothing to chart for your role yet.", "Для вашей роли пока нечего показать."),
    ("dash_figures", "Figures", "Цифры"),
    ("dash_calendar_link", "Open the calendar", "Открыть календарь"),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}

fn readable(s: &Session<'_, '_, '_>, entity: &str) -> bool {
    s.schema.entity(entity).is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing)
}

/// `$apply` rows of an entity.
fn apply(s: &mut Session<'_, '_, '_>, entity: &str, apply: &str) -> Result<Vec<Vec<(String, Value)>>, PageError> {
    let opts = parse_query_options(&format!("$apply={apply}")).map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok(s.apply(entity, &opts)?)
}

fn get<'a>(row: &'a [(String, Value)], k: &str) -> Option<&'a Value> {
    row.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

fn number(v: Option<&Value>) -> Decimal {
    match v {
        Some(Value::Decimal(d)) => *d,
        Some(Value::Int(i)) => Decimal::from(*i),
        _ => Decimal::ZERO,
    }
}

fn as_f64(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

fn date_literal(d: NaiveDate) -> String {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A declared chart's bars, counted as the user.
fn chart(s: &mut Session<'_, '_, '_>, c: &Chart, lang: Lang) -> Result<charts::Chart, PageError> {
    let base = super::board::base_currency(s)?;
    let lcid = lang.lcid();
    let aggregate = match c.measure {
        Measure::Count => "$count as n".to_string(),
        Measure::Sum(column) => format!("{column}_base with sum as total,$count as n"),
    };
    let shown = |total: Decimal, n: Decimal| match c.measure {
        Measure::Count => (as_f64(n), n.to_string()),
        Measure::Sum(_) => (as_f64(total), format!("{} · {n}", super::board::money(total, &base, lang))),
    };
    let mut bars = Vec::new();
    match c.group {
        ChartGroup::Stage | ChartGroup::Column(_) => {
            let column = match c.group {
                ChartGroup::Column(column) => column,
                _ => "stageid",
            };
            let rows = apply(s, c.entity, &format!("filter({})/groupby(({column}),aggregate({aggregate}))", c.filter))?;
            let figures = |r: &[(String, Value)]| shown(number(get(r, "total")), number(get(r, "n")));
            if c.group == ChartGroup::Stage {
                // Every stage of the process, in its order, then records without one.
                let stages = super::board::stages(s, c.entity, lang)?;
                for st in &stages {
                    let row = rows.iter().find(|r| get(r, column).and_then(Value::as_uuid) == st.id);
                    let (value, shown) = row.map_or_else(|| shown(Decimal::ZERO, Decimal::ZERO), |r| figures(r));
                    bars.push(charts::Bar { label: st.label.clone(), value, shown });
                }
                let known = |id: Option<Uuid>| stages.iter().any(|st| st.id.is_some() && st.id == id);
                for r in rows.iter().filter(|r| !known(get(r, column).and_then(Value::as_uuid))) {
                    let (value, shown) = figures(r);
                    bars.push(charts::Bar { label: text(lang, "board_no_stage").to_string(), value, shown });
                }
            } else {
                let attr = s.schema.entity(c.entity).and_then(|e| e.attribute(column).cloned());
                for r in &rows {
                    let code = get(r, column).and_then(Value::as_i64);
                    let label = match (code, &attr) {
                        (Some(v), Some(a)) => s
                            .schema
                            .option_label(a, v as i32)
                            .map(|l| l.text(lcid).to_string())
                            .unwrap_or_else(|| v.to_string()),
                        _ => text(lang, "dash_not_set").to_string(),
                    };
                    let (value, shown) = figures(r);
                    bars.push(charts::Bar { label, value, shown });
                }
                bars.sort_by(|a, b| b.value.total_cmp(&a.value));
            }
        }
        ChartGroup::Months(column, count) => {
            let today = Utc::now().date_naive();
            let plang = relata_print::format::Lang::from_lcid(lcid);
            for back in (0..count as i32).rev() {
                let month_start = |offset: i32| {
                    let total = today.year() * 12 + today.month0() as i32 - offset;
                    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).expect("a month")
                };
                let (from, to) = (month_start(back), month_start(back - 1));
                let filter =
                    format!("{} and {column} ge {} and {column} lt {}", c.filter, date_literal(from), date_literal(to));
                let rows = apply(s, c.entity, &format!("filter({filter})/aggregate({aggregate})"))?;
                let (value, shown) = rows.first().map_or_else(
                    || shown(Decimal::ZERO, Decimal::ZERO),
                    |r| shown(number(get(r, "total")), number(get(r, "n"))),
                );
                // "Dec 2026", "дек 2026".
                let month: String = relata_print::format::month_name(from.month(), plang).chars().take(3).collect();
                bars.push(charts::Bar { label: format!("{month} {}", from.year()), value, shown });
            }
        }
    }
    Ok(charts::bars(c.key, in_language(c.title, lcid), in_language(c.description, lcid), bars))
}

#[derive(Serialize)]
struct Due {
    id: Uuid,
    set: String,
    subject: String,
    when: String,
}

fn activities_due(s: &mut Session<'_, '_, '_>, lang: Lang) -> Result<(charts::Chart, Vec<Due>), PageError> {
    let now = Utc::now();
    let today = now.date_naive();
    let lit = |d: chrono::DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let day = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"));
    let mine = "statecode eq 0 and Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')";
    let buckets = [
        ("dash_overdue", format!("scheduledend lt {}", lit(now))),
        (
            "dash_today",
            format!("scheduledend ge {} and scheduledend lt {}", lit(now), lit(day(today + Duration::days(1)))),
        ),
        (
            "dash_week",
            format!(
                "scheduledend ge {} and scheduledend lt {}",
                lit(day(today + Duration::days(1))),
                lit(day(today + Duration::days(8)))
            ),
        ),
        ("dash_later", format!("(scheduledend ge {} or scheduledend eq null)", lit(day(today + Duration::days(8))))),
    ];
    let mut bars = Vec::new();
    for (key, cond) in buckets {
        let rows = apply(s, "activitypointer", &format!("filter({mine} and {cond})/aggregate($count as n)"))?;
        let n = rows.first().map(|r| number(get(r, "n"))).unwrap_or_default();
        bars.push(charts::Bar { label: text(lang, key).to_string(), value: as_f64(n), shown: n.to_string() });
    }
    let q = format!(
        "$select=subject,scheduledend,activitytypecode&$filter={mine} and scheduledend ne null&$orderby=scheduledend asc&$top=10"
    );
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let plang = relata_print::format::Lang::from_lcid(lang.lcid());
    let next = s
        .query("activitypointer", &opts, Some(10), None)?
        .records
        .iter()
        .map(|r| {
            let kind = r.get("activitytypecode").and_then(Value::as_str).unwrap_or("activitypointer");
            let set =
                s.schema.entity(kind).map(|e| e.def.entity_set.clone()).unwrap_or_else(|| "activitypointers".into());
            let when = r
                .get("scheduledend")
                .and_then(Value::as_datetime)
                .map(|d| relata_print::format::date(d.date_naive(), relata_print::format::DateStyle::Short, plang))
                .unwrap_or_default();
            Due { id: r.id, set, subject: r.get("subject").and_then(Value::as_str).unwrap_or("").to_string(), when }
        })
        .collect();
    Ok((charts::bars("dash-due", text(lang, "dash_due"), text(lang, "dash_due_desc"), bars), next))
}

pub(super) async fn home(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query("/", &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let sh = shell(s, lang, token, None)?;
        let welcome = text(lang, "welcome").replace("{name}", &sh.user_name);
        // The first module dashboard with a chart the user may read.
        let dashboards: Vec<Dashboard> = s.org.modules().dashboards().to_vec();
        let mut chart_list = Vec::new();
        let mut heading = text(lang, "dash_service");
        let mut board = None;
        for d in &dashboards {
            let shown: Vec<&Chart> = d.charts.iter().filter(|c| readable(s, c.entity)).collect();
            if shown.is_empty() {
                continue;
            }
            for c in shown {
                chart_list.push(chart(s, c, lang)?);
            }
            heading = in_language(d.title, lang.lcid());
            board = d
                .board
                .and_then(|path| super::board::declared(s, path))
                .map(|b| (format!("/ui/board/{}", b.path), in_language(b.title, lang.lcid())));
            break;
        }
        let mut due = Vec::new();
        if readable(s, "activitypointer") {
            let (chart, next) = activities_due(s, lang)?;
            chart_list.push(chart);
            due = next;
        }
        Ok(render(
            "home.html",
            context! { ..shell_context(&sh), ..context! {
                welcome => welcome, q_global => "", heading => heading, board => board,
                charts => minijinja::Value::from(minijinja::value::Serde(&chart_list)),
                due => minijinja::Value::from(minijinja::value::Serde(&due)),
                calendar => readable(s, "activitypointer"),
            }},
        ))
    })
    .await
}
