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
    ("dash_sales", "Sales dashboard", "Панель продаж"),
    ("dash_service", "Service dashboard", "Панель обслуживания"),
    ("dash_pipeline", "Pipeline by stage", "Воронка по этапам"),
    (
        "dash_pipeline_desc",
        "Estimated revenue of open opportunities per sales stage",
        "Предполагаемый доход открытых сделок по этапам",
    ),
    ("dash_leads", "Open leads by source", "Открытые интересы по источникам"),
    ("dash_leads_desc", "Number of open leads per lead source", "Число открытых интересов по источникам"),
    ("dash_won", "Won revenue by month", "Выигранный доход по месяцам"),
    (
        "dash_won_desc",
        "Actual revenue of opportunities won in each of the last twelve months",
        "Фактический доход выигранных сделок за последние двенадцать месяцев",
    ),
    ("dash_due", "My activities due", "Мои действия по срокам"),
    ("dash_due_desc", "Open activities the user owns, by due date", "Открытые действия пользователя по срокам"),
    ("dash_overdue", "Overdue", "Просрочено"),
    ("dash_today", "Today", "Сегодня"),
    ("dash_week", "Next 7 days", "Ближайшие 7 дней"),
    ("dash_later", "Later or no date", "Позже или без срока"),
    ("dash_next", "Next due", "Ближайшие"),
    ("dash_unknown_source", "No source", "Без источника"),
    ("dash_nothing", "There is nothing to chart for your role yet.", "Для вашей роли пока нечего показать."),
    ("dash_figures", "Figures", "Цифры"),
    ("dash_pipeline_link", "Open the pipeline board", "Открыть воронку продаж"),
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

fn pipeline(s: &mut Session<'_, '_, '_>, lang: Lang) -> Result<charts::Chart, PageError> {
    let base = super::board::base_currency(s)?;
    let rows = apply(
        s,
        "opportunity",
        "filter(statecode eq 0)/groupby((stepname),aggregate(estimatedvalue_base with sum as total,$count as n))",
    )?;
    let mut stages: Vec<String> = super::board::stages(s, lang)?.into_iter().map(|st| st.name).collect();
    for r in &rows {
        let name = get(r, "stepname").and_then(Value::as_str).unwrap_or("").to_string();
        if !stages.contains(&name) {
            stages.push(name);
        }
    }
    let bars = stages
        .iter()
        .map(|stage| {
            let row = rows.iter().find(|r| get(r, "stepname").and_then(Value::as_str).unwrap_or("") == stage);
            let total = row.map(|r| number(get(r, "total"))).unwrap_or_default();
            let n = row.map(|r| number(get(r, "n"))).unwrap_or_default();
            charts::Bar {
                label: if stage.is_empty() {
                    text(lang, "board_no_stage").to_string()
                } else {
                    super::i18n::stage_label(stage, lang)
                },
                value: as_f64(total),
                shown: format!("{} · {n}", super::board::money(total, &base, lang)),
            }
        })
        .collect();
    Ok(charts::bars("dash-pipeline", text(lang, "dash_pipeline"), text(lang, "dash_pipeline_desc"), bars))
}

fn leads(s: &mut Session<'_, '_, '_>, lang: Lang) -> Result<charts::Chart, PageError> {
    let rows = apply(s, "lead", "filter(statecode eq 0)/groupby((leadsourcecode),aggregate($count as n))")?;
    let attr = s.schema.entity("lead").and_then(|e| e.attribute("leadsourcecode").cloned());
    let mut bars: Vec<charts::Bar> = rows
        .iter()
        .map(|r| {
            let code = get(r, "leadsourcecode").and_then(Value::as_i64);
            let label = match (code, &attr) {
                (Some(c), Some(a)) => s
                    .schema
                    .option_label(a, c as i32)
                    .map(|l| l.text(lang.lcid()).to_string())
                    .unwrap_or_else(|| c.to_string()),
                _ => text(lang, "dash_unknown_source").to_string(),
            };
            let n = number(get(r, "n"));
            charts::Bar { label, value: as_f64(n), shown: n.to_string() }
        })
        .collect();
    bars.sort_by(|a, b| b.value.total_cmp(&a.value));
    Ok(charts::bars("dash-leads", text(lang, "dash_leads"), text(lang, "dash_leads_desc"), bars))
}

fn won(s: &mut Session<'_, '_, '_>, lang: Lang) -> Result<charts::Chart, PageError> {
    let base = super::board::base_currency(s)?;
    let today = Utc::now().date_naive();
    let mut bars = Vec::new();
    let plang = relata_print::format::Lang::from_lcid(lang.lcid());
    for back in (0..12).rev() {
        let month_start = |offset: i32| {
            let total = today.year() * 12 + today.month0() as i32 - offset;
            NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).expect("a month")
        };
        let (from, to) = (month_start(back), month_start(back - 1));
        let rows = apply(
            s,
            "opportunity",
            &format!(
                "filter(statecode eq 1 and actualclosedate ge {} and actualclosedate lt {})/aggregate(actualvalue_base with sum as total)",
                date_literal(from),
                date_literal(to)
            ),
        )?;
        let total = rows.first().map(|r| number(get(r, "total"))).unwrap_or_default();
        // "Dec 2026", "дек 2026".
        let month: String = relata_print::format::month_name(from.month(), plang).chars().take(3).collect();
        let label = format!("{month} {}", from.year());
        bars.push(charts::Bar { label, value: as_f64(total), shown: super::board::money(total, &base, lang) });
    }
    Ok(charts::bars("dash-won", text(lang, "dash_won"), text(lang, "dash_won_desc"), bars))
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
        let sales = readable(s, "opportunity");
        let mut chart_list = Vec::new();
        if sales {
            chart_list.push(pipeline(s, lang)?);
        }
        if readable(s, "lead") {
            chart_list.push(leads(s, lang)?);
        }
        if sales {
            chart_list.push(won(s, lang)?);
        }
        let mut due = Vec::new();
        if readable(s, "activitypointer") {
            let (chart, next) = activities_due(s, lang)?;
            chart_list.push(chart);
            due = next;
        }
        let heading = if sales { text(lang, "dash_sales") } else { text(lang, "dash_service") };
        Ok(render(
            "home.html",
            context! { ..shell_context(&sh), ..context! {
                welcome => welcome, q_global => "", heading => heading, sales => sales,
                charts => minijinja::Value::from(minijinja::value::Serde(&chart_list)),
                due => minijinja::Value::from(minijinja::value::Serde(&due)),
                calendar => readable(s, "activitypointer"),
            }},
        ))
    })
    .await
}
