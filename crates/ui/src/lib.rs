//! The web interface, served at `/` by the same binary: server-rendered
//! pages over the same engine calls as the Web API, so a user sees exactly
//! what their roles allow. Signing in sets an HttpOnly session cookie
//! holding a sign-in token (the same tokens the Web API takes); every form
//! that changes something carries a CSRF value derived from that token.
//!
//! Lists and record pages are generated from metadata for every entity,
//! built-in and custom alike; the record buttons, boards and dashboards
//! of modules from what they declare.
//!
//! Invariant: knows the engine and HTML, not the Web API's JSON shapes;
//! names no module's entity — but for `email.rs`, the new email form's
//! template chooser and signature, and `processes.rs`, the processes
//! module's designer and its parts of record pages, which say why.

mod board;
mod bulk;
mod calendar;
mod customizer;
mod dashboards;
mod email;
mod forms;
mod i18n;
mod layout;
mod list;
mod notifications;
mod pages;
mod processes;
mod record;
mod settings;
mod setup;
mod zone;

use std::sync::LazyLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{AutoEscape, Environment};
use sha2::{Digest, Sha256};

use i18n::strings;
pub use i18n::Lang;

pub(crate) const SESSION_COOKIE: &str = "relata_session";

/// What the pages need from the server.
#[derive(Clone)]
pub struct UiState {
    pub org: std::sync::Arc<relata_engine::Org>,
    /// Failed sign-in limits and the life of sign-in tokens.
    pub sign_in: relata_engine::SignInPolicy,
    /// Take the client address from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
}

pub(crate) type AppState = UiState;

/// The pages, at `/` and under `/ui/`.
pub fn router(state: UiState) -> Router {
    routes().with_state(state)
}

/// An engine error as a page shows it: a refusal whose meaning is known,
/// in the user's language, as any other refusal of the input.
pub(crate) fn localized(e: relata_engine::EngineError, lang: Lang) -> relata_engine::EngineError {
    use relata_engine::EngineError;
    match e {
        EngineError::Refused { .. } => EngineError::Invalid(e.message_in(lang.code())),
        EngineError::Forbidden(ref m) if m.detail.is_some() => EngineError::forbidden(e.message_in(lang.code())),
        EngineError::NotFound(ref m) if m.detail.is_some() => EngineError::not_found(e.message_in(lang.code())),
        other => other,
    }
}
const LANG_COOKIE: &str = "relata_lang";
const SIGNIN_CSRF_COOKIE: &str = "relata_csrf";

/// The pages' routes.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboards::home))
        .route("/signin", get(pages::signin_page).post(pages::signin))
        .route("/signout", post(pages::signout))
        .route("/ui/static/app.css", get(stylesheet))
        .route("/ui/search", get(pages::search))
        .route("/ui/lookup", get(forms::lookup))
        .route("/ui/{set}", get(list::list))
        .route("/ui/{set}/views", post(list::save_view))
        .route("/ui/{set}/views/{id}/delete", post(list::delete_view))
        .route("/ui/{set}/bulk", post(bulk::bulk))
        .route("/ui/{set}/export", get(bulk::export))
        .route("/ui/{set}/new", get(forms::new_form).post(forms::create))
        .route("/ui/{set}/{id}", get(record::record))
        .route("/ui/{set}/{id}/edit", get(forms::edit_form).post(forms::save))
        // Screens with fixed paths; axum prefers them to `/ui/{set}`.
        .merge(board::routes())
        .merge(dashboards::routes())
        .merge(calendar::routes())
        .merge(settings::routes())
        .merge(record::routes())
        .merge(layout::routes())
        .merge(zone::routes())
        .merge(customizer::routes())
        .merge(setup::routes())
        .merge(notifications::routes())
        .merge(processes::routes())
}

/// Every screen module's interface text (see `i18n`).
const TEXT_TABLES: &[&[i18n::Text]] = &[
    i18n::TEXT,
    board::TEXT,
    dashboards::TEXT,
    calendar::TEXT,
    settings::TEXT,
    record::TEXT,
    layout::TEXT,
    zone::TEXT,
    customizer::TEXT,
    setup::TEXT,
    notifications::TEXT,
    email::TEXT,
    processes::TEXT,
];

/// The shared templates; screen modules bring their own.
const SHARED_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("shell.html", include_str!("templates/shell.html")),
    ("signin.html", include_str!("templates/signin.html")),
    ("list.html", include_str!("templates/list.html")),
    ("search.html", include_str!("templates/search.html")),
    ("message.html", include_str!("templates/message.html")),
    ("edit.html", include_str!("templates/edit.html")),
];

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build() {
        env.set_syntax(syntax);
    }
    let modules = [
        SHARED_TEMPLATES,
        board::TEMPLATES,
        dashboards::TEMPLATES,
        calendar::TEMPLATES,
        settings::TEMPLATES,
        record::TEMPLATES,
        layout::TEMPLATES,
        zone::TEMPLATES,
        customizer::TEMPLATES,
        setup::TEMPLATES,
        notifications::TEMPLATES,
        email::TEMPLATES,
        processes::TEMPLATES,
    ];
    for (name, source) in modules.iter().flat_map(|m| m.iter()) {
        env.add_template(name, source).expect("built-in templates parse");
    }
    env
});

/// Renders a page; a template error is a defect, shown as a 500.
fn render(name: &str, ctx: minijinja::Value) -> Response {
    match TEMPLATES.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => html_response(StatusCode::OK, html),
        Err(e) => {
            tracing::error!(error = %e, template = name, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.").into_response()
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    r
}

/// One stylesheet: the shell's, then each screen module's.
const STYLES: &str = concat!(
    include_str!("templates/app.css"),
    include_str!("templates/board.css"),
    include_str!("templates/calendar.css"),
    include_str!("templates/dashboards.css"),
    include_str!("templates/settings.css"),
    include_str!("templates/record.css"),
    include_str!("templates/zone.css"),
    include_str!("templates/customizer.css"),
    include_str!("templates/notifications.css"),
    include_str!("templates/email.css"),
    include_str!("templates/processes.css"),
);

async fn stylesheet() -> Response {
    let mut r = STYLES.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// Did a script ask for JSON (drag and drop) rather than a page?
fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A cookie's value from the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// The CSRF value of a session: derived from its token, which pages of
/// other sites can neither read nor guess.
fn csrf_for(token: &str) -> String {
    let digest = Sha256::digest(format!("relata-csrf:{token}").as_bytes());
    hex::encode(&digest[..16])
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The interface language: an explicit choice (`?lang=`, then the
/// cookie), then the user's setting (`usersettings.uilanguageid`), then
/// the browser's.
fn language(headers: &HeaderMap, chosen: Option<&str>, user_lcid: Option<u32>) -> Lang {
    chosen
        .and_then(Lang::from_code)
        .or_else(|| cookie(headers, LANG_COOKIE).as_deref().and_then(Lang::from_code))
        .or_else(|| user_lcid.and_then(Lang::from_lcid))
        .or_else(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept))
        .unwrap_or(Lang::En)
}

fn set_cookie(r: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A fresh random value for the sign-in form's CSRF cookie.
fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
