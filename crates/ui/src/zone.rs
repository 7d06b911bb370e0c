//! The user's own settings — interface language, formats, time zone — and
//! the time zone and formats every page renders with. A page's request
//! reads the settings once (`enter`) and the formatting functions take them
//! from there, so dates show in the user's zone wherever they appear.

use std::cell::Cell;
use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::{Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use minijinja::context;
use relata_engine::{EngineError, OwnSettings, Session};

use super::i18n::{text, Lang, Text};
use super::pages::{shell, shell_context, signed_in, PageError};
use super::{redirect, render, set_cookie, LANG_COOKIE};
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[("preferences.html", include_str!("templates/preferences.html"))];

pub(super) const TEXT: &[Text] = &[
    ("pref_password", "Change your password", "Смена пароля"),
    ("pref_current_password", "Current password", "Текущий пароль"),
    ("pref_wrong_password", "The current password is not right.", "Текущий пароль указан неверно."),
    ("pref_title", "Personal settings", "Личные параметры"),
    ("pref_language", "Interface language", "Язык интерфейса"),
    ("pref_formats", "Dates, numbers and money", "Даты, числа и денежные суммы"),
    ("pref_zone", "Time zone", "Часовой пояс"),
    ("pref_browser", "As the browser asks", "Как в браузере"),
    ("pref_same", "As the interface language", "Как язык интерфейса"),
    ("pref_saved", "Your settings are saved.", "Параметры сохранены."),
    (
        "pref_bad_zone",
        "“{zone}” is not a time zone; pick one from the list.",
        "«{zone}» — не часовой пояс; выберите из списка.",
    ),
    ("pref_now", "Your time now: {time}", "Ваше время сейчас: {time}"),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/preferences", get(preferences).post(save))
        .route("/ui/preferences/password", axum::routing::post(change_password))
}

thread_local! {
    /// The zone and formats of the request this thread is serving.
    static CURRENT: Cell<(Tz, Option<u32>)> = const { Cell::new((Tz::UTC, None)) };
}

/// Reads the user's time zone and formats for the request about to
/// render; returns the interface language they chose, if any.
pub(super) fn enter(s: &mut Session<'_, '_, '_>) -> Result<Option<u32>, PageError> {
    let own = s.own_settings()?;
    let zone = own.time_zone.as_deref().and_then(|z| Tz::from_str(z).ok()).unwrap_or(Tz::UTC);
    let formats = own.locale.and_then(|l| u32::try_from(l).ok());
    CURRENT.with(|c| c.set((zone, formats)));
    Ok(own.language.and_then(|l| u32::try_from(l).ok()))
}

/// The user's time zone (UTC until they choose one).
pub(super) fn current() -> Tz {
    CURRENT.with(|c| c.get().0)
}

/// The language dates and numbers are written in: the user's formats
/// setting, else the interface language.
pub(super) fn formats(lang: Lang) -> relata_print::format::Lang {
    let lcid = CURRENT.with(|c| c.get().1).unwrap_or(lang.lcid());
    relata_print::format::Lang::from_lcid(lcid)
}

/// A stored instant as the user's wall-clock time.
pub(super) fn to_local(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&current()).naive_local()
}

/// The user's wall-clock time as an instant. In a gap (clocks moved
/// forward) the time is taken as after the change; when ambiguous
/// (clocks moved back) as the earlier of the two.
pub(super) fn from_local(local: NaiveDateTime) -> DateTime<Utc> {
    let zone = current();
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => zone
            .from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local)),
    }
}

async fn preferences(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    signed_in(&st, &headers, "/ui/preferences", q.get("lang").cloned(), false, move |s, lang, token| {
        let own = s.own_settings()?;
        page(s, lang, token, &own, q.get("done").map(|_| text(lang, "pref_saved").to_string()), None)
    })
    .await
}

fn page(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    own: &OwnSettings,
    done: Option<String>,
    problem: Option<String>,
) -> Result<Response, PageError> {
    let sh = shell(s, lang, token, None)?;
    let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
    let now = to_local(Utc::now()).format("%Y-%m-%d %H:%M").to_string();
    Ok(render(
        "preferences.html",
        context! { ..shell_context(&sh), ..context! {
            q_global => "", zones => zones, done => done, problem => problem,
            language => own.language.map(|l| l.to_string()).unwrap_or_default(),
            locale => own.locale.map(|l| l.to_string()).unwrap_or_default(),
            zone => own.time_zone.clone().unwrap_or_default(),
            now => text(lang, "pref_now").replace("{time}", &now),
        }},
    ))
}

async fn save(State(st): State<AppState>, req: Request) -> Response {
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut response = signed_in(&st, &headers, "/ui/preferences", None, true, move |s, lang, token| {
        let number = |k: &str| form.get(k).and_then(|v| v.parse::<i64>().ok());
        let zone = form.get("zone").map(|z| z.trim().to_string()).filter(|z| !z.is_empty());
        let own = OwnSettings { language: number("language"), locale: number("locale"), time_zone: zone.clone() };
        if let Some(z) = zone.as_deref().filter(|z| Tz::from_str(z).is_err()) {
            let message = text(lang, "pref_bad_zone").replace("{zone}", z);
            let mut r = page(s, lang, token, &own, None, Some(message))?;
            *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            return Ok(r);
        }
        match s.save_own_settings(&own).map_err(|e| super::localized(e, lang)) {
            Ok(()) => Ok(redirect("/ui/preferences?done=1")),
            Err(EngineError::Invalid(m)) => {
                let mut r = page(s, lang, token, &own, None, Some(m))?;
                *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
                Err(PageError::Shown(Box::new(r)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await;
    // The saved language applies from now on, not an earlier one-off choice.
    if response.status().is_redirection() {
        set_cookie(&mut response, format!("{LANG_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"));
    }
    response
}

/// `POST /ui/preferences/password`: the user's own new password, given the
/// current one.
async fn change_password(State(st): State<AppState>, req: Request) -> Response {
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    signed_in(&st, &headers, "/ui/preferences", None, true, move |s, lang, token| {
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        let refused = |s: &mut Session<'_, '_, '_>, m: String| -> Result<Response, PageError> {
            let own = s.own_settings()?;
            let mut r = page(s, lang, token, &own, None, Some(m))?;
            *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Err(PageError::Shown(Box::new(r)))
        };
        if field("new") != field("new2") {
            return refused(s, text(lang, "act_passwords_differ").to_string());
        }
        match s.change_own_password(field("current"), field("new"), Some(token)).map_err(|e| super::localized(e, lang))
        {
            Ok(()) => Ok(redirect("/ui/preferences?done=1")),
            Err(EngineError::Invalid(m)) => {
                let m = if m.starts_with("'current'") { text(lang, "pref_wrong_password").to_string() } else { m };
                refused(s, m)
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// A day typed in a form or an address (`YYYY-MM-DD`), in the years records
/// hold (1–9999), so that the day before or after it always exists.
pub(crate) fn parse_day(s: &str) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok().filter(|d| (1..=9999).contains(&d.year()))
}

/// A wall-clock time typed in a form (`YYYY-MM-DDTHH:MM`), in the same years.
pub(crate) fn parse_minute(s: &str) -> Option<NaiveDateTime> {
    use chrono::Datelike;
    NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M").ok().filter(|d| (1..=9999).contains(&d.year()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(zone: Tz) {
        CURRENT.with(|c| c.set((zone, None)));
    }

    #[test]
    fn local_times_round_trip_and_dst_edges_are_defined() {
        at(Tz::Asia__Tokyo);
        let utc = Utc.with_ymd_and_hms(2026, 3, 1, 0, 30, 0).unwrap();
        let local = to_local(utc);
        assert_eq!(local, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(9, 30, 0).unwrap());
        assert_eq!(from_local(local), utc);

        at(Tz::Europe__Berlin);
        // 02:30 does not exist on 29 March 2026 (02:00 → 03:00): taken as after the change.
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(from_local(gap), Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap());
        // 02:30 happens twice on 25 October 2026: the earlier one.
        let twice = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(from_local(twice), Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap());
    }
}
