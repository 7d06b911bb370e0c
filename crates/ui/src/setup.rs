//! First run in the browser: while nobody can sign in, `/` leads here.
//! With the one-time link `relata serve` printed, the page names the
//! organization, its base currency, language and time zone, and creates
//! the first administrator, who is then signed in.

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono_tz::Tz;
use minijinja::context;
use relata_engine::{EngineError, FirstRun};

use super::i18n::{strings, text, Lang, Text};
use super::{language, redirect, render, set_cookie, SESSION_COOKIE};
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[("setup.html", include_str!("templates/setup.html"))];

pub(super) const TEXT: &[Text] = &[
    ("setup_title", "Set up Relata", "Настройка Relata"),
    (
        "setup_need_link",
        "Open the setup link that relata serve printed when it started, or paste its token here.",
        "Откройте ссылку настройки, которую напечатал relata serve при запуске, или вставьте её ключ сюда.",
    ),
    ("setup_token", "Setup token", "Ключ настройки"),
    ("setup_continue", "Continue", "Продолжить"),
    (
        "setup_intro",
        "Name your organization and create the administrator. Everything can be changed later in Settings.",
        "Укажите организацию и создайте администратора. Всё это можно изменить позже в настройках.",
    ),
    ("setup_organization", "Organization", "Организация"),
    ("setup_org_name", "Organization name", "Название организации"),
    ("setup_currency", "Base currency", "Базовая валюта"),
    ("setup_language", "Language", "Язык"),
    ("setup_zone", "Time zone", "Часовой пояс"),
    ("setup_admin", "Administrator", "Администратор"),
    ("setup_first", "First name", "Имя"),
    ("setup_last", "Last name", "Фамилия"),
    ("setup_password_rule", "at least 8 characters", "не менее 8 символов"),
    ("setup_password_again", "Password again", "Пароль ещё раз"),
    ("setup_passwords_differ", "The two passwords differ.", "Пароли не совпадают."),
    ("setup_bad_zone", "\"{zone}\" is not a time zone.", "«{zone}» — не часовой пояс."),
    (
        "setup_bad_link",
        "This setup link is not valid or was already used. Restart relata serve for a new one.",
        "Ссылка настройки недействительна или уже использована. Перезапустите relata serve, чтобы получить новую.",
    ),
    ("setup_submit", "Create the organization", "Создать организацию"),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/setup", get(page).post(submit))
}

/// The form's values, echoed back when something is refused.
#[derive(Default, serde::Serialize)]
struct Values {
    organization: String,
    currency: String,
    language: String,
    zone: String,
    firstname: String,
    lastname: String,
    email: String,
}

fn form_page(
    lang: Lang,
    token: &str,
    token_ok: bool,
    f: &Values,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
    let mut r = render(
        "setup.html",
        context! {
            lang => lang.code(), t => strings(lang), token => token, token_ok => token_ok, error => error,
            currencies => relata_engine::currency_codes(), zones => zones,
            f => minijinja::Value::from(minijinja::value::Serde(f)),
        },
    );
    *r.status_mut() = status;
    r
}

/// Blocking engine work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    relata_http::panics::blocking(f).await.ok()
}

async fn page(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let lang = language(&headers, q.get("lang").map(String::as_str), None);
    let token = q.get("token").cloned().unwrap_or_default();
    let org = st.org.clone();
    let t = token.clone();
    let Some(Ok((needed, valid))) =
        blocking(move || -> Result<_, EngineError> { Ok((org.needs_setup()?, org.setup_token_valid(&t)?)) }).await
    else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The setup page could not be prepared.").into_response();
    };
    if !needed {
        return redirect("/signin");
    }
    let defaults = Values {
        currency: if lang == Lang::Ru { "RUB" } else { "USD" }.into(),
        language: lang.lcid().to_string(),
        zone: if lang == Lang::Ru { "Europe/Moscow" } else { "UTC" }.into(),
        ..Default::default()
    };
    let error = (!token.is_empty() && !valid).then(|| text(lang, "setup_bad_link").to_string());
    let status = if error.is_some() { StatusCode::FORBIDDEN } else { StatusCode::OK };
    form_page(lang, if valid { &token } else { "" }, valid, &defaults, error, status)
}

async fn submit(State(st): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response();
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&bytes).into_owned().collect();
    let field = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let lang = match field("language").as_str() {
        "1049" => Lang::Ru,
        "1033" => Lang::En,
        _ => language(&parts.headers, None, None),
    };
    let token = field("token");
    let values = Values {
        organization: field("organization"),
        currency: field("currency"),
        language: field("language"),
        zone: field("zone"),
        firstname: field("firstname"),
        lastname: field("lastname"),
        email: field("email"),
    };
    let password = form.get("password").cloned().unwrap_or_default();
    let again = |error: String, status| form_page(lang, &token, true, &values, Some(error), status);
    if password != form.get("password2").map(String::as_str).unwrap_or_default() {
        return again(text(lang, "setup_passwords_differ").to_string(), StatusCode::BAD_REQUEST);
    }
    let zone = Some(values.zone.clone()).filter(|z| !z.is_empty());
    if let Some(z) = zone.as_deref().filter(|z| Tz::from_str(z).is_err()) {
        return again(text(lang, "setup_bad_zone").replace("{zone}", z), StatusCode::BAD_REQUEST);
    }
    let request = FirstRun {
        organization_name: values.organization.clone(),
        base_currency: values.currency.clone(),
        language: lang.lcid() as i64,
        time_zone: zone,
        first_name: values.firstname.clone(),
        last_name: values.lastname.clone(),
        email: values.email.clone(),
        password: password.clone(),
    };
    let org = st.org.clone();
    let t = token.clone();
    let policy = st.sign_in.clone();
    let address = relata_http::client_address(&parts, st.trust_forwarded_for);
    let email = values.email.clone();
    let done = blocking(move || -> Result<String, EngineError> {
        org.complete_setup(&t, &request)?;
        Ok(org.sign_in(&email, &password, &address, &policy)?.token)
    })
    .await;
    match done.map(|r| r.map_err(|e| super::localized(e, lang))) {
        Some(Ok(session)) => {
            let mut r = redirect("/ui/settings/organization");
            set_cookie(&mut r, format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"));
            r
        }
        Some(Err(EngineError::Forbidden(_))) => {
            form_page(lang, "", false, &values, Some(text(lang, "setup_bad_link").to_string()), StatusCode::FORBIDDEN)
        }
        Some(Err(EngineError::Invalid(m) | EngineError::Conflict(m))) => again(m, StatusCode::BAD_REQUEST),
        Some(Err(e)) => again(e.to_string(), StatusCode::INTERNAL_SERVER_ERROR),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "The setup could not be completed.").into_response(),
    }
}
