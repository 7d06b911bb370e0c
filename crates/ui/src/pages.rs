//! Page handlers: sign-in and out, the shell with its areas, entity lists,
//! record pages and the global search.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use relata_engine::{EngineError, Session};
use relata_metadata::{AttrKind, AttributeDef, Entity, EntityRef, Value};
use relata_query::options::{parse_query_options, string_literal};
use relata_security::Scope;
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang};
use super::{
    cookie, csrf_for, html_response, language, random_token, redirect, render, same, set_cookie, strings, LANG_COOKIE,
    SESSION_COOKIE, SIGNIN_CSRF_COOKIE,
};
use crate::AppState;

/// The largest sign-in form read.
const MAX_FORM_BYTES: usize = 16 * 1024;
/// How long a session without "remember me" lasts.
const SESSION_HOURS: u64 = 12;
/// How long a remembered session lasts.
const REMEMBER_DAYS: u64 = 30;

/// The platform's navigation areas, in their order; an entity names the
/// areas that list it in its metadata (`areas`), and a module may name an
/// area of its own, shown after these.
const AREAS: &[&str] = &["sales", "service", "marketing", "settings"];

/// Errors of a page's engine work.
pub(super) enum PageError {
    Engine(EngineError),
    Store(relata_store::StoreError),
    /// A page to show once the transaction has rolled back (a form the
    /// engine refused).
    Shown(Box<Response>),
}

impl From<EngineError> for PageError {
    fn from(e: EngineError) -> Self {
        PageError::Engine(e)
    }
}
impl From<relata_store::StoreError> for PageError {
    fn from(e: relata_store::StoreError) -> Self {
        PageError::Store(e)
    }
}

#[derive(Serialize)]
struct NavEntity {
    name: String,
    set: String,
    label: String,
    current: bool,
}

#[derive(Serialize)]
struct Area {
    key: String,
    label: String,
    entities: Vec<NavEntity>,
}

/// A module's own area is labelled by its name (`field_service` → "Field service").
fn area_label(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// What every signed-in page shows: the areas, the user, the CSRF value.
pub(super) struct Shell {
    pub lang: Lang,
    areas: Vec<Area>,
    /// Screens beyond entity lists: (href, label).
    tools: Vec<(String, &'static str)>,
    pub user_name: String,
    pub csrf: String,
    /// The bell's count of unread notifications; `None` hides the bell.
    unread: Option<i64>,
}

pub(super) fn shell(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    current: Option<&str>,
) -> Result<Shell, PageError> {
    let lcid = lang.lcid();
    // Each area's entities, by their place in it; an entity the user may
    // not read is left out, and so is an area left empty.
    let mut placed: Vec<(String, i32, Arc<Entity>)> = Vec::new();
    for e in s.schema.entities() {
        if e.def.areas.is_empty() || s.principal.read_scope(e) == Scope::Nothing {
            continue;
        }
        for p in &e.def.areas {
            placed.push((p.area.clone(), p.order, e.clone()));
        }
    }
    placed.sort_by(|a, b| (&a.0, a.1, a.2.name()).cmp(&(&b.0, b.1, b.2.name())));
    let mut keys: Vec<String> = AREAS.iter().map(|k| k.to_string()).collect();
    let mut own: Vec<String> = placed.iter().map(|p| p.0.clone()).filter(|k| !keys.contains(k)).collect();
    own.dedup();
    keys.extend(own);
    let mut areas: Vec<Area> = keys
        .into_iter()
        .filter_map(|key| {
            let entities: Vec<NavEntity> = placed
                .iter()
                .filter(|p| p.0 == key)
                .map(|(_, _, e)| NavEntity {
                    name: e.name().to_string(),
                    set: e.def.entity_set.clone(),
                    label: e.def.plural_label.text(lcid).to_string(),
                    current: current == Some(e.name()),
                })
                .collect();
            let label = match AREAS.contains(&key.as_str()) {
                true => text(lang, &key).to_string(),
                false => area_label(&key),
            };
            (!entities.is_empty()).then_some(Area { key, label, entities })
        })
        .collect();
    // Custom tables get an area of their own.
    let mut custom: Vec<NavEntity> = s
        .schema
        .entities()
        .filter(|e| e.def.is_custom && !e.def.is_intersect && s.principal.read_scope(e) != Scope::Nothing)
        .map(|e| NavEntity {
            name: e.name().to_string(),
            set: e.def.entity_set.clone(),
            label: e.def.plural_label.text(lcid).to_string(),
            current: current == Some(e.name()),
        })
        .collect();
    custom.sort_by(|a, b| a.label.cmp(&b.label));
    if !custom.is_empty() {
        areas.push(Area { key: "custom".into(), label: text(lang, "custom_area").into(), entities: custom });
    }
    let me = s.principal.user_id;
    let names = s.lookup_names(&[&EntityRef { entity: "systemuser".into(), id: me }])?;
    let user_name = names.get(&me).cloned().unwrap_or_default();
    let readable = |n: &str| s.schema.entity(n).is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing);
    let mut tools: Vec<(String, &'static str)> = vec![("/".into(), text(lang, "dashboard"))];
    tools.extend(super::board::readable_boards(s, lang));
    if readable("activitypointer") {
        tools.push(("/ui/calendar".into(), text(lang, "cal_title")));
    }
    let admin = ["systemuser", "team", "businessunit", "role"].iter().any(|n| readable(n))
        || s.principal.has("prvReadAuditSummary");
    if admin {
        tools.push(("/ui/settings".into(), text(lang, "set_title")));
    }
    let unread = super::notifications::unread(s)?;
    Ok(Shell { lang, areas, tools, user_name, csrf: csrf_for(token), unread })
}

pub(super) fn shell_context(sh: &Shell) -> minijinja::Value {
    context! {
        lang => sh.lang.code(),
        t => strings(sh.lang),
        areas => minijinja::Value::from(minijinja::value::Serde(&sh.areas)),
        tools => &sh.tools,
        user_name => &sh.user_name,
        csrf => &sh.csrf,
        unread => sh.unread,
        bell_label => sh.unread.map(|n| text(sh.lang, "ntf_bell").replace("{n}", &n.to_string())),
    }
}

/// Runs a signed-in page: no session → the sign-in page, then back here.
pub(super) async fn signed_in(
    st: &AppState,
    headers: &HeaderMap,
    path_and_query: &str,
    chosen_lang: Option<String>,
    write: bool,
    page: impl FnOnce(&mut Session<'_, '_, '_>, Lang, &str) -> Result<Response, PageError> + Send + 'static,
) -> Response {
    let started = Instant::now();
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return to_signin(path_and_query);
    };
    let org = st.org.clone();
    let headers = headers.clone();
    let chosen = chosen_lang.clone();
    let user = relata_http::metrics::UserSlot::default();
    let found = user.clone();
    let result = relata_http::panics::blocking(move || {
        org.with_token(&token, write, |s| {
            let _ = found.set(s.principal.user_id);
            let own_language = super::zone::enter(s)?;
            let lang = language(&headers, chosen.as_deref(), own_language);
            // The engine's refusals in the user's language.
            page(s, lang, &token).map_err(|e| match e {
                PageError::Engine(e) => PageError::Engine(super::localized(e, lang)),
                other => other,
            })
        })
    })
    .await;
    let mut response = match result {
        Ok(Ok(r)) => r,
        Ok(Err(PageError::Engine(EngineError::Unauthorized(_)))) => {
            let mut r = to_signin(path_and_query);
            set_cookie(&mut r, format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"));
            r
        }
        Ok(Err(PageError::Shown(page))) => *page,
        Ok(Err(e)) => error_page(e),
        Err(id) => message_page(StatusCode::INTERNAL_SERVER_ERROR, &id.message()),
    };
    if let Some(l) = chosen_lang.as_deref().and_then(Lang::from_code) {
        set_cookie(&mut response, format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", l.code()));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
        response.headers_mut().insert("server-timing", v);
    }
    relata_http::metrics::mark_user(&mut response, &user);
    response
}

fn error_page(e: PageError) -> Response {
    let (status, message) = match e {
        PageError::Engine(EngineError::NotFound(m)) => (StatusCode::NOT_FOUND, m.text),
        PageError::Engine(EngineError::Forbidden(m)) => (StatusCode::FORBIDDEN, m.text),
        PageError::Engine(EngineError::Invalid(m) | EngineError::Refused { message: m, .. }) => {
            (StatusCode::BAD_REQUEST, m)
        }
        PageError::Engine(other) => {
            tracing::error!(error = %other, "page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be completed.".to_string())
        }
        PageError::Store(other) => {
            tracing::error!(error = %other, "page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be completed.".to_string())
        }
        PageError::Shown(page) => return *page,
    };
    message_page(status, &message)
}

/// A plain page that states an error.
fn message_page(status: StatusCode, message: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>Relata</title><link rel=\"stylesheet\" \
         href=\"/ui/static/app.css\"></head><body><main id=\"main\"><h1>{}</h1><p role=\"alert\">{}</p><p><a \
         href=\"/\">Relata</a></p></main></body></html>",
        status.canonical_reason().unwrap_or("Error"),
        escape(message)
    );
    html_response(status, html)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn to_signin(path_and_query: &str) -> Response {
    redirect(&format!(
        "/signin?next={}",
        percent_encoding::utf8_percent_encode(path_and_query, percent_encoding::NON_ALPHANUMERIC)
    ))
}

/// A local path to return to after signing in (never another site).
fn safe_next(next: Option<&str>) -> String {
    next.and_then(local_path).unwrap_or("/").to_string()
}

/// A path on this site to go back to: absolute, with no host part and no
/// control characters (which browsers drop, turning `/\t/x` into `//x`).
pub(super) fn local_path(p: &str) -> Option<&str> {
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(p)
}

pub(super) fn path_and_query(path: &str, query: &HashMap<String, String>) -> String {
    let q: Vec<String> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "lang")
        .map(|(k, v)| format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)))
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

// ----- sign-in and out ------------------------------------------------------

pub(super) async fn signin_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Nobody can sign in yet: the first run's setup comes first.
    let org = st.org.clone();
    if relata_http::panics::blocking(move || org.needs_setup()).await.ok().and_then(Result::ok) == Some(true) {
        return redirect("/setup");
    }
    let lang = language(&headers, q.get("lang").map(String::as_str), None);
    let csrf = cookie(&headers, SIGNIN_CSRF_COOKIE).unwrap_or_else(random_token);
    signin_form(lang, &csrf, q.get("next").map(String::as_str), "", None, StatusCode::OK, q.contains_key("lang"))
}

fn signin_form(
    lang: Lang,
    csrf: &str,
    next: Option<&str>,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
    remember_lang: bool,
) -> Response {
    let next = next.map(|n| percent_encoding::utf8_percent_encode(n, percent_encoding::NON_ALPHANUMERIC).to_string());
    let mut r = render(
        "signin.html",
        context! { lang => lang.code(), t => strings(lang), csrf => csrf, next => next, email => email, error => error },
    );
    *r.status_mut() = status;
    set_cookie(&mut r, format!("{SIGNIN_CSRF_COOKIE}={csrf}; Path=/signin; HttpOnly; SameSite=Strict"));
    if remember_lang {
        set_cookie(&mut r, format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code()));
    }
    r
}

pub(super) async fn signin(State(st): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let query: HashMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    let lang = language(&parts.headers, None, None);
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response();
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&bytes).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let next = query.get("next").map(String::as_str);
    let expected = cookie(&parts.headers, SIGNIN_CSRF_COOKIE);
    if !expected.as_deref().is_some_and(|e| same(e, field("csrf"))) {
        let csrf = random_token();
        return signin_form(lang, &csrf, next, field("email"), Some(text(lang, "csrf")), StatusCode::FORBIDDEN, false);
    }
    let csrf = expected.unwrap_or_default();
    let remember = !field("remember").is_empty();
    let mut policy = st.sign_in.clone();
    policy.token_lifetime =
        std::time::Duration::from_secs(if remember { REMEMBER_DAYS * 24 * 3600 } else { SESSION_HOURS * 3600 });
    let address = relata_http::client_address(&parts, st.trust_forwarded_for);
    let (email, password) = (field("email").trim().to_string(), field("password").to_string());
    let org = st.org.clone();
    let who = email.clone();
    let result = relata_http::panics::blocking(move || org.sign_in(&who, &password, &address, &policy)).await;
    match result {
        Ok(Ok(signed)) => {
            let mut r = redirect(&safe_next(next));
            let age = if remember { format!("; Max-Age={}", REMEMBER_DAYS * 24 * 3600) } else { String::new() };
            set_cookie(&mut r, format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{age}", signed.token));
            set_cookie(&mut r, format!("{SIGNIN_CSRF_COOKIE}=; Path=/signin; Max-Age=0"));
            r
        }
        Ok(Err(EngineError::Throttled(..))) => {
            signin_form(lang, &csrf, next, &email, Some(text(lang, "throttled")), StatusCode::TOO_MANY_REQUESTS, false)
        }
        Ok(Err(_)) => {
            signin_form(lang, &csrf, next, &email, Some(text(lang, "bad_credentials")), StatusCode::UNAUTHORIZED, false)
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "The sign-in could not be completed.").into_response(),
    }
}

pub(super) async fn signout(State(st): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return redirect("/signin");
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response();
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&bytes).into_owned().collect();
    if !form.get("csrf").is_some_and(|c| same(c, &csrf_for(&token))) {
        let lang = language(&parts.headers, None, None);
        return html_response(
            StatusCode::FORBIDDEN,
            format!("<!doctype html><p role=\"alert\">{}</p>", text(lang, "csrf")),
        );
    }
    let org = st.org.clone();
    let _ = relata_http::panics::blocking(move || org.revoke_token_value(&token)).await;
    let mut r = redirect("/signin");
    set_cookie(&mut r, format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"));
    r
}

// ----- signed-in pages ------------------------------------------------------

/// The display text of a value in the interface language.
pub(super) fn display(
    s: &Session<'_, '_, '_>,
    attr: &AttributeDef,
    value: &Value,
    lang: Lang,
    names: &HashMap<Uuid, String>,
) -> String {
    display_in(s, attr, value, lang, names, None)
}

/// The display text of a value; money with its record's currency.
pub(super) fn display_in(
    s: &Session<'_, '_, '_>,
    attr: &AttributeDef,
    value: &Value,
    lang: Lang,
    names: &HashMap<Uuid, String>,
    currency: Option<&relata_print::format::CurrencyInfo>,
) -> String {
    use relata_print::format as fmt;
    let plang = super::zone::formats(lang);
    match (attr.kind, value) {
        (_, Value::Null) => String::new(),
        (AttrKind::Picklist | AttrKind::State | AttrKind::Status, Value::Int(i)) => s
            .schema
            .option_label(attr, *i as i32)
            .map(|l| l.text(lang.lcid()).to_string())
            .unwrap_or_else(|| i.to_string()),
        (AttrKind::MultiSelectPicklist, Value::Options(o)) => o
            .iter()
            .filter_map(|i| s.schema.option_label(attr, *i).map(|l| l.text(lang.lcid()).to_string()))
            .collect::<Vec<_>>()
            .join("; "),
        (_, Value::Ref(r)) => names.get(&r.id).cloned().unwrap_or_default(),
        // A yes/no column may name its two values (a user's Status: Enabled, Disabled).
        (AttrKind::Boolean, Value::Bool(b)) if attr.options.iter().any(|o| o.value == *b as i32) => attr
            .options
            .iter()
            .find(|o| o.value == *b as i32)
            .map(|o| o.label.text(lang.lcid()).to_string())
            .unwrap_or_default(),
        (AttrKind::Boolean, Value::Bool(b)) => (match (lang, b) {
            (Lang::Ru, true) => "Да",
            (Lang::Ru, false) => "Нет",
            (_, true) => "Yes",
            (_, false) => "No",
        })
        .to_string(),
        (AttrKind::Money | AttrKind::Decimal, Value::Decimal(d)) => {
            match currency.filter(|_| attr.kind == AttrKind::Money) {
                Some(c) => fmt::money(*d, c, plang),
                None => fmt::number(*d, Some(attr.precision.unwrap_or(2).min(4)), plang),
            }
        }
        // Date-only values are calendar dates; instants show in the user's zone.
        (AttrKind::DateTime, Value::DateTime(d)) if attr.is_date_only() => {
            fmt::date(d.date_naive(), fmt::DateStyle::Short, plang)
        }
        (AttrKind::DateTime, Value::DateTime(d)) => {
            let local = super::zone::to_local(*d);
            format!("{} {}", fmt::date(local.date(), fmt::DateStyle::Short, plang), local.format("%H:%M"))
        }
        (_, Value::Int(i)) => i.to_string(),
        (_, Value::String(t)) => t.clone(),
        (_, Value::Decimal(d)) => d.normalize().to_string(),
        (_, Value::Double(f)) => f.to_string(),
        (_, Value::Uuid(u)) => u.to_string(),
        _ => String::new(),
    }
}

pub(super) fn readable_entity(
    s: &Session<'_, '_, '_>,
    set: &str,
    lang: Lang,
) -> Result<std::sync::Arc<Entity>, PageError> {
    let entity = s.entity_by_set(set)?;
    if entity.def.is_intersect || s.principal.read_scope(&entity) == Scope::Nothing {
        let what = entity.def.plural_label.text(lang.lcid());
        return Err(EngineError::forbidden(format!("{} ({what})", text(lang, "forbidden"))).into());
    }
    Ok(entity)
}

pub(super) fn names_of(
    s: &mut Session<'_, '_, '_>,
    records: &[relata_query::Record],
) -> Result<HashMap<Uuid, String>, PageError> {
    let refs: Vec<&EntityRef> =
        records.iter().flat_map(|r| r.values.iter()).filter_map(|(_, v)| v.as_ref_value()).collect();
    if refs.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(s.lookup_names(&refs)?)
}

#[derive(Serialize)]
struct Found {
    id: Uuid,
    name: String,
}

#[derive(Serialize)]
struct FoundGroup {
    label: String,
    set: String,
    rows: Vec<Found>,
}

/// The global search: the main entities whose primary name contains the
/// text, ten of each.
pub(super) async fn search(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query("/ui/search", &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let sh = shell(s, lang, token, None)?;
        let find = q.get("q").map(|v| v.trim().to_string()).unwrap_or_default();
        let mut groups = Vec::new();
        if !find.is_empty() {
            // The entities whose metadata puts them in the search, in its order.
            let mut searched: Vec<_> =
                s.schema.entities().filter_map(|e| e.def.search.map(|rank| (rank, e.name().to_string()))).collect();
            searched.sort();
            for (_, name) in searched {
                let name = name.as_str();
                let Some(entity) = s.schema.entity(name).cloned() else { continue };
                if s.principal.read_scope(&entity) == Scope::Nothing {
                    continue;
                }
                let primary = &entity.def.primary_name;
                let query = format!(
                    "$select={primary}&$filter=contains({primary},{})&$orderby={primary}&$top=10",
                    string_literal(&find)
                );
                let opts = parse_query_options(&query).map_err(|e| EngineError::Invalid(e.to_string()))?;
                let page = s.query(name, &opts, Some(10), None)?;
                let rows: Vec<Found> = page
                    .records
                    .iter()
                    .map(|r| Found { id: r.id, name: r.get(primary).and_then(Value::as_str).unwrap_or("").to_string() })
                    .collect();
                if !rows.is_empty() {
                    groups.push(FoundGroup {
                        label: entity.def.plural_label.text(lang.lcid()).to_string(),
                        set: entity.def.entity_set.clone(),
                        rows,
                    });
                }
            }
        }
        let heading = text(lang, "results").replace("{q}", &find);
        Ok(render(
            "search.html",
            context! { ..shell_context(&sh), ..context! { heading => heading, groups => minijinja::Value::from(minijinja::value::Serde(&groups)), q_global => &find } },
        ))
    })
    .await
}
