//! The calendar of the user's own activities — appointments from their
//! start, tasks and phone calls at their due time — by day, week or
//! month, in the user's time zone; creating an appointment, and moving one
//! to another day by drag and drop or by its own small form.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use minijinja::context;
use relata_engine::{Condition, EngineError, RecordInput, Session};
use relata_metadata::Value;
use relata_query::options::parse_query_options;
use relata_security::{Right, Scope};
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang, Text};
use super::pages::{path_and_query, shell, shell_context, signed_in, PageError};
use super::zone::{from_local, to_local};
use super::{redirect, render};
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("calendar.html", include_str!("templates/calendar.html")),
    ("calendar_new.html", include_str!("templates/calendar_new.html")),
];

pub(super) const TEXT: &[Text] = &[
    ("cal_title", "Calendar", "Календарь"),
    ("cal_day", "Day", "День"),
    ("cal_week", "Week", "Неделя"),
    ("cal_month", "Month", "Месяц"),
    ("cal_today", "Today", "Сегодня"),
    ("cal_prev", "Previous", "Назад"),
    ("cal_next", "Next", "Вперёд"),
    ("cal_new", "New appointment", "Новая встреча"),
    ("cal_subject", "Subject", "Тема"),
    ("cal_start", "Start", "Начало"),
    ("cal_end", "End", "Окончание"),
    ("cal_location", "Location", "Место"),
    ("cal_description", "Description", "Описание"),
    ("cal_move_to", "Move to", "Перенести на"),
    ("cal_move", "Move", "Перенести"),
    ("cal_moved", "The appointment is moved.", "Встреча перенесена."),
    ("cal_created", "The appointment is created.", "Встреча создана."),
    ("cal_need_subject", "Give the appointment a subject.", "Укажите тему встречи."),
    ("cal_bad_time", "Enter the start and end as a date and time.", "Укажите начало и окончание датой и временем."),
    ("cal_end_before_start", "The end must be after the start.", "Окончание должно быть позже начала."),
    ("cal_add_here", "Add on {day}", "Добавить на {day}"),
    ("cal_more", "+{n} more", "ещё {n}"),
    (
        "cal_conflict",
        "Someone changed this appointment meanwhile; look at it again.",
        "Встречу тем временем изменили; откройте её заново.",
    ),
];

/// The most activities one calendar page shows.
const MAX_ITEMS: usize = 1000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/calendar", get(calendar))
        .route("/ui/calendar/new", get(new_form).post(create))
        .route("/ui/calendar/move", post(move_item))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Day,
    Week,
    Month,
}

impl View {
    fn parse(s: Option<&str>) -> View {
        match s {
            Some("day") => View::Day,
            Some("month") => View::Month,
            _ => View::Week,
        }
    }
    fn key(self) -> &'static str {
        match self {
            View::Day => "day",
            View::Week => "week",
            View::Month => "month",
        }
    }
    /// The days shown for `date`, and the dates of the previous and next pages.
    fn range(self, date: NaiveDate) -> (NaiveDate, usize, NaiveDate, NaiveDate) {
        let monday = |d: NaiveDate| d - Duration::days(d.weekday().num_days_from_monday() as i64);
        match self {
            View::Day => (date, 1, date - Duration::days(1), date + Duration::days(1)),
            View::Week => (monday(date), 7, date - Duration::days(7), date + Duration::days(7)),
            View::Month => {
                let first = date.with_day(1).expect("day 1");
                let prev = (first - Duration::days(1)).with_day(1).expect("day 1");
                let next = (first + Duration::days(32)).with_day(1).expect("day 1");
                (monday(first), 42, prev, next)
            }
        }
    }
}

#[derive(Serialize, Clone)]
struct Item {
    id: Uuid,
    set: String,
    kind: String,
    subject: String,
    time: String,
    /// `YYYY-MM-DDTHH:MM` of the start, for the move form.
    start: String,
    movable: bool,
    closed: bool,
    version: i64,
}

#[derive(Serialize)]
struct Day {
    date: String,
    label: String,
    today: bool,
    other_month: bool,
    items: Vec<Item>,
}

/// A day from the address or a form: four-digit years only, so that paging a
/// month either way stays within what dates can hold.
fn local_date(s: &str) -> Option<NaiveDate> {
    super::zone::parse_day(s)
}

/// The user's activities whose start (or due time) falls in the range.
fn items(
    s: &mut Session<'_, '_, '_>,
    first: NaiveDate,
    days: usize,
    lang: Lang,
) -> Result<HashMap<NaiveDate, Vec<Item>>, PageError> {
    // Pages at the ends of the calendar reach past the years records hold.
    let earliest = NaiveDate::from_ymd_opt(1, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(23, 59, 59)).map(|d| d.and_utc());
    let from = from_local(first.and_time(NaiveTime::MIN)).max(earliest.unwrap_or_default());
    let to = first
        .checked_add_signed(Duration::days(days as i64))
        .map(|d| from_local(d.and_time(NaiveTime::MIN)))
        .into_iter()
        .chain(latest)
        .min()
        .unwrap_or_default();
    let lit = |d: chrono::DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (a, b) = (lit(from), lit(to));
    let q = format!(
        "$select=subject,activitytypecode,scheduledstart,scheduledend,statecode,versionnumber&$filter=Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid') and ((scheduledstart ge {a} and scheduledstart lt {b}) or (scheduledstart eq null and scheduledend ge {a} and scheduledend lt {b}))&$orderby=scheduledstart,scheduledend"
    );
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let records = s.query("activitypointer", &opts, Some(MAX_ITEMS), None)?.records;
    let appointment = s.entity_by_set("appointments")?;
    let mut out: HashMap<NaiveDate, Vec<Item>> = HashMap::new();
    for r in records {
        let kind = r.get("activitytypecode").and_then(Value::as_str).unwrap_or("activitypointer").to_string();
        let Some(at) = r.get("scheduledstart").or_else(|| r.get("scheduledend")).and_then(Value::as_datetime) else {
            continue;
        };
        let local = to_local(at);
        let closed = r.get("statecode").and_then(Value::as_i64).unwrap_or(0) != 0;
        let entity = s.schema.entity(&kind).cloned();
        let movable = kind == "appointment" && !closed && s.may(&appointment, Right::Write, r.id)?;
        out.entry(local.date()).or_default().push(Item {
            id: r.id,
            set: entity.as_ref().map(|e| e.def.entity_set.clone()).unwrap_or_else(|| "activitypointers".into()),
            kind: entity.map(|e| e.def.label.text(lang.lcid()).to_string()).unwrap_or(kind),
            subject: r.get("subject").and_then(Value::as_str).unwrap_or("").to_string(),
            time: local.format("%H:%M").to_string(),
            start: local.format("%Y-%m-%dT%H:%M").to_string(),
            movable,
            closed,
            version: r.version,
        });
    }
    Ok(out)
}

async fn calendar(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query("/ui/calendar", &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let pointer = s.entity_by_set("activitypointers")?;
        if s.principal.read_scope(&pointer) == Scope::Nothing {
            return Err(EngineError::forbidden(text(lang, "forbidden").to_string()).into());
        }
        let sh = shell(s, lang, token, None)?;
        let view = View::parse(q.get("view").map(String::as_str));
        let today = to_local(Utc::now()).date();
        let date = q.get("date").and_then(|d| local_date(d)).unwrap_or(today);
        let (first, count, prev, next) = view.range(date);
        let mut found = items(s, first, count, lang)?;
        let plang = super::zone::formats(lang);
        let days: Vec<Day> = (0..count)
            .map(|i| {
                let d = first + Duration::days(i as i64);
                let weekday = weekday_name(d.weekday(), lang);
                Day {
                    date: d.to_string(),
                    label: format!(
                        "{weekday} {}",
                        relata_print::format::date(d, relata_print::format::DateStyle::Short, plang)
                    ),
                    today: d == today,
                    other_month: view == View::Month && d.month() != date.month(),
                    items: found.remove(&d).unwrap_or_default(),
                }
            })
            .collect();
        let may_create = s.schema.entity("appointment").is_some_and(|e| {
            s.principal.can(
                e,
                Right::Create,
                Some(s.principal.user_id),
                Some(s.principal.business_unit_id),
                Default::default(),
            )
        });
        let title = match view {
            View::Month => format!("{} {}", relata_print::format::month_name(date.month(), plang), date.year()),
            _ => {
                days.first().map(|d| d.label.clone()).unwrap_or_default()
                    + &days.last().filter(|_| count > 1).map(|d| format!(" – {}", d.label)).unwrap_or_default()
            }
        };
        Ok(render(
            "calendar.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", view => view.key(), date => date.to_string(), today => today.to_string(),
                prev => prev.to_string(), next => next.to_string(), heading => title,
                days => minijinja::Value::from(minijinja::value::Serde(&days)),
                may_create => may_create, month => view == View::Month,
                done => q.get("done"), problem => q.get("problem"),
            }},
        ))
    })
    .await
}

fn weekday_name(d: Weekday, lang: Lang) -> &'static str {
    let i = d.num_days_from_monday() as usize;
    match lang {
        Lang::Ru => ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"][i],
        Lang::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i],
    }
}

fn parse_local(v: Option<&String>) -> Option<NaiveDateTime> {
    super::zone::parse_minute(v?)
}

fn new_page(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    form: &HashMap<String, String>,
    problem: Option<String>,
) -> Result<Response, PageError> {
    let sh = shell(s, lang, token, None)?;
    let start = parse_local(form.get("start")).unwrap_or_else(|| {
        let now = to_local(Utc::now());
        now.date().and_hms_opt(now.time().format("%H").to_string().parse::<u32>().unwrap_or(9) + 1, 0, 0).unwrap_or(now)
    });
    let end = parse_local(form.get("end")).unwrap_or(start + Duration::minutes(30));
    let mut r = render(
        "calendar_new.html",
        context! { ..shell_context(&sh), ..context! {
            q_global => "", problem => &problem,
            subject => form.get("subject").cloned().unwrap_or_default(),
            location => form.get("location").cloned().unwrap_or_default(),
            description => form.get("description").cloned().unwrap_or_default(),
            start => start.format("%Y-%m-%dT%H:%M").to_string(), end => end.format("%Y-%m-%dT%H:%M").to_string(),
        }},
    );
    if problem.is_some() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

async fn new_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query("/ui/calendar/new", &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        new_page(s, lang, token, &q, None)
    })
    .await
}

async fn create(State(st): State<AppState>, req: Request) -> Response {
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    signed_in(&st, &headers, "/ui/calendar/new", None, true, move |s, lang, token| {
        let subject = form.get("subject").map(|v| v.trim().to_string()).unwrap_or_default();
        let (start, end) = (parse_local(form.get("start")), parse_local(form.get("end")));
        let problem = if subject.is_empty() {
            Some(text(lang, "cal_need_subject"))
        } else if start.is_none() || end.is_none() {
            Some(text(lang, "cal_bad_time"))
        } else if end <= start {
            Some(text(lang, "cal_end_before_start"))
        } else {
            None
        };
        if let Some(p) = problem {
            return new_page(s, lang, token, &form, Some(p.to_string()));
        }
        let (start, end) = (from_local(start.expect("checked")), from_local(end.expect("checked")));
        let mut values = vec![
            ("subject".to_string(), Value::String(subject)),
            ("scheduledstart".to_string(), Value::DateTime(start)),
            ("scheduledend".to_string(), Value::DateTime(end)),
        ];
        for k in ["location", "description"] {
            if let Some(v) = form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                values.push((k.to_string(), Value::String(v.to_string())));
            }
        }
        match s.create("appointment", RecordInput::new(values)).map_err(|e| super::localized(e, lang)) {
            Ok(_) => {
                let day = to_local(start).date();
                Ok(redirect(&format!("/ui/calendar?date={day}&done={}", encode(text(lang, "cal_created")))))
            }
            Err(EngineError::Invalid(m)) => {
                let page = new_page(s, lang, token, &form, Some(m))?;
                Err(PageError::Shown(Box::new(page)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Moves an appointment: `id`, `version`, and either `start`
/// (`YYYY-MM-DDTHH:MM`, the form) or `date` (a day, keeping the time of
/// day: drag and drop). The duration is kept.
async fn move_item(State(st): State<AppState>, req: Request) -> Response {
    let wants_json = super::wants_json(req.headers());
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let back =
        form.get("back").filter(|b| b.starts_with("/ui/calendar")).cloned().unwrap_or_else(|| "/ui/calendar".into());
    let here = back.clone();
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let id = form
            .get("id")
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or_else(|| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let opts = parse_query_options("$select=scheduledstart,scheduledend,statecode")
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let rec = s.retrieve("appointment", id, &opts)?;
        let old_start = rec.get("scheduledstart").and_then(Value::as_datetime);
        let old_end = rec.get("scheduledend").and_then(Value::as_datetime);
        let local_start = old_start.map(to_local);
        let new_start = match (parse_local(form.get("start")), form.get("date").and_then(|d| local_date(d))) {
            (Some(t), _) => Some(t),
            (None, Some(day)) => Some(day.and_time(local_start.map(|t| t.time()).unwrap_or(NaiveTime::MIN))),
            _ => None,
        }
        .ok_or_else(|| EngineError::Invalid(text(lang, "cal_bad_time").to_string()))?;
        let start = from_local(new_start);
        let duration = match (old_start, old_end) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => Duration::minutes(30),
        };
        let version = form.get("version").and_then(|v| v.parse::<i64>().ok());
        let result = s.update(
            "appointment",
            id,
            RecordInput::new(vec![
                ("scheduledstart".into(), Value::DateTime(start)),
                ("scheduledend".into(), Value::DateTime(start + duration)),
            ]),
            Condition { if_match: Some(version), ..Default::default() },
            false,
        );
        let outcome = match result.map_err(|e| super::localized(e, lang)) {
            Ok(_) => Ok(text(lang, "cal_moved").to_string()),
            Err(EngineError::PreconditionFailed(_)) => {
                Err((StatusCode::CONFLICT, text(lang, "cal_conflict").to_string()))
            }
            Err(EngineError::Invalid(m)) => Err((StatusCode::BAD_REQUEST, m)),
            Err(EngineError::Forbidden(m)) => Err((StatusCode::FORBIDDEN, m.text)),
            Err(e) => return Err(e.into()),
        };
        let day = to_local(start).date();
        let sep = if back.contains('?') { '&' } else { '?' };
        match (outcome, wants_json) {
            (Ok(m), true) => Ok(super::json_response(StatusCode::OK, &serde_json::json!({ "ok": true, "message": m }))),
            (Ok(m), false) => Ok(redirect(&format!("{back}{sep}date={day}&done={}", encode(&m)))),
            (Err((status, m)), true) => Err(PageError::Shown(Box::new(super::json_response(
                status,
                &serde_json::json!({ "ok": false, "message": m }),
            )))),
            (Err((StatusCode::FORBIDDEN, m)), false) => Err(EngineError::forbidden(m).into()),
            (Err((_, m)), false) => {
                Err(PageError::Shown(Box::new(redirect(&format!("{back}{sep}problem={}", encode(&m))))))
            }
        }
    })
    .await
}
