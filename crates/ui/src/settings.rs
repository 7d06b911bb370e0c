//! Settings for administrators: the screens that are more than a list and
//! a form — a role's privilege grid, a user's security roles, a team's
//! members, the business unit tree, license types and the audit viewer.
//! Users, teams, units and roles themselves are listed and edited by the
//! generic list and form pages. Every screen is gated by the privilege
//! Dataverse uses for it, and every change goes through the engine (its
//! no-escalation rule, its last-administrator rule…).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;
use relata_engine::{EngineError, PrivilegeGrant, Session};
use relata_metadata::Value;
use relata_query::options::{parse_query_options, string_literal};
use relata_security::{catalog, Depth, License, Right, Scope, LICENSES, RIGHTS};
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang, Text};
use super::pages::{names_of, path_and_query, shell, shell_context, signed_in, PageError};
use super::{redirect, render};
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("settings.html", include_str!("templates/settings.html")),
    ("settings_role.html", include_str!("templates/settings_role.html")),
    ("settings_members.html", include_str!("templates/settings_members.html")),
    ("settings_units.html", include_str!("templates/settings_units.html")),
    ("settings_licenses.html", include_str!("templates/settings_licenses.html")),
    ("settings_audit.html", include_str!("templates/settings_audit.html")),
    ("settings_logo.html", include_str!("templates/settings_logo.html")),
];

pub(super) const TEXT: &[Text] = &[
    ("set_title", "Settings", "Параметры"),
    ("set_organization", "Organization", "Организация"),
    ("set_logo", "Logo", "Логотип"),
    (
        "set_logo_about",
        "Printed at the top of quotes, orders and invoices. A PNG or JPEG image up to 1 MB.",
        "Печатается в начале предложений, заказов и счетов. Изображение PNG или JPEG до 1 МБ.",
    ),
    ("set_logo_file", "Image (PNG or JPEG, up to 1 MB)", "Изображение (PNG или JPEG, до 1 МБ)"),
    ("set_logo_remove", "Remove the logo", "Убрать логотип"),
    ("set_users", "Users", "Пользователи"),
    ("set_teams", "Teams", "Рабочие группы"),
    ("set_units", "Business units", "Подразделения"),
    ("set_roles", "Security roles", "Роли безопасности"),
    ("set_licenses", "License types", "Типы лицензий"),
    ("set_audit", "Audit history", "Журнал аудита"),
    ("set_jobs", "System jobs", "Системные задания"),
    ("set_customize", "Customization", "Настройка"),
    ("set_preferences", "Personal settings", "Личные параметры"),
    ("set_privileges", "Privileges", "Привилегии"),
    ("set_entity", "Table", "Таблица"),
    ("set_global", "Other privileges", "Прочие привилегии"),
    ("set_depth_0", "None", "Нет"),
    ("set_depth_1", "User", "Пользователь"),
    ("set_depth_2", "Business Unit", "Подразделение"),
    ("set_depth_4", "Parent: Child Business Units", "Родительское и дочерние подразделения"),
    ("set_depth_8", "Organization", "Организация"),
    ("set_saved", "Saved.", "Сохранено."),
    (
        "set_read_only_role",
        "This role always holds every privilege and cannot be changed.",
        "Эта роль всегда имеет все привилегии и не изменяется.",
    ),
    ("set_roles_of", "Security roles of {name}", "Роли безопасности: {name}"),
    ("set_members_of", "Members of {name}", "Участники: {name}"),
    ("set_add_member", "Add a member", "Добавить участника"),
    ("set_members", "Members", "Участники"),
    ("set_remove", "Remove", "Удалить"),
    ("set_add", "Add", "Добавить"),
    ("set_new_child", "New unit below", "Новое дочернее подразделение"),
    ("set_disabled", "disabled", "отключено"),
    ("set_license", "License", "Лицензия"),
    ("set_license_users", "Users", "Пользователи"),
    ("set_license_allows", "Allows", "Разрешает"),
    ("set_when", "Changed", "Когда"),
    ("set_who", "By", "Кто"),
    ("set_what", "Event", "Событие"),
    ("set_record", "Record", "Запись"),
    ("set_changes", "Changes", "Изменения"),
    ("set_from", "From", "С"),
    ("set_to", "To", "По"),
    ("set_filter", "Filter", "Фильтр"),
    ("set_any", "Any", "Любое"),
    ("set_older", "Older entries", "Более ранние записи"),
    ("lic_professional", "Professional", "Профессиональная"),
    ("lic_basic", "Basic", "Базовая"),
    ("lic_essential", "Essential", "Основная"),
    ("lic_team-member", "Team Member", "Участник группы"),
    ("lic_read-only", "Read-Only", "Только чтение"),
    ("lic_administrative", "Administrative", "Администрирование"),
    (
        "set_bad_depth",
        "“{value}” is not a depth this privilege can take.",
        "«{value}» — недопустимый уровень для этой привилегии.",
    ),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/settings", get(home))
        .route("/ui/settings/organization", get(organization))
        .route(
            "/ui/settings/organization/logo",
            get(logo_page).post(save_logo).layer(axum::extract::DefaultBodyLimit::max(MAX_LOGO_UPLOAD)),
        )
        .route("/ui/settings/organization/logo/image", get(logo_image))
        .route("/ui/settings/roles/{id}", get(role).post(save_role))
        .route("/ui/settings/users/{id}/roles", get(user_roles).post(save_user_roles))
        .route("/ui/settings/teams/{id}/members", get(members).post(save_members))
        .route("/ui/settings/units", get(units))
        .route("/ui/settings/licenses", get(licenses))
        .route("/ui/settings/audit", get(audit))
}

fn readable(s: &Session<'_, '_, '_>, entity: &str) -> bool {
    s.schema.entity(entity).is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing)
}

fn forbidden(lang: Lang) -> PageError {
    EngineError::forbidden(text(lang, "forbidden").to_string()).into()
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Serialize)]
struct Link {
    href: String,
    label: &'static str,
}

/// The screens the user may use, for the Settings home.
fn screens(s: &Session<'_, '_, '_>, lang: Lang) -> Vec<Link> {
    let mut out = Vec::new();
    let mut add = |ok: bool, href: &str, key: &str| {
        if ok {
            out.push(Link { href: href.into(), label: text(lang, key) });
        }
    };
    add(readable(s, "organization"), "/ui/settings/organization", "set_organization");
    add(readable(s, "systemuser"), "/ui/systemusers", "set_users");
    add(readable(s, "team"), "/ui/teams", "set_teams");
    add(readable(s, "businessunit"), "/ui/settings/units", "set_units");
    add(readable(s, "role"), "/ui/roles", "set_roles");
    add(readable(s, "systemuser"), "/ui/settings/licenses", "set_licenses");
    add(s.principal.has("prvReadAuditSummary"), "/ui/settings/audit", "set_audit");
    add(readable(s, "asyncoperation"), "/ui/asyncoperations", "set_jobs");
    add(s.principal.has("prvCreateEntity") || s.principal.has("prvCreateAttribute"), "/ui/customize", "set_customize");
    add(super::processes::may_design(s), "/ui/processes", "pr_title");
    add(true, "/ui/preferences", "set_preferences");
    out
}

async fn home(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    signed_in(&st, &headers, "/ui/settings", q.get("lang").cloned(), false, move |s, lang, token| {
        let sh = shell(s, lang, token, None)?;
        let links = screens(s, lang);
        Ok(render("settings.html", context! { ..shell_context(&sh), ..context! { q_global => "", links => minijinja::Value::from(minijinja::value::Serde(&links)) } }))
    })
    .await
}

/// The organization's record: name, requisites, default price list (its
/// form), and the base currency (an action on its page).
async fn organization(State(st): State<AppState>) -> Response {
    super::redirect(&format!("/ui/organizations/{}", st.org.ids.organization))
}

/// The largest upload the logo form reads (the column takes 1 MB; the
/// rest is room for the form, so a larger file gets the engine's message).
const MAX_LOGO_UPLOAD: usize = 4 * 1024 * 1024;

fn logo_form(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    done: bool,
    problem: Option<String>,
) -> Result<Response, PageError> {
    let sh = shell(s, lang, token, None)?;
    let org = s.retrieve("organization", s.org.ids.organization, &Default::default())?;
    let has_logo = matches!(org.get("relata_logo"), Some(Value::Bytes(b)) if !b.is_empty());
    let mut r = render(
        "settings_logo.html",
        context! { ..shell_context(&sh), ..context! { q_global => "", has_logo => has_logo, done => done, problem => problem.clone() } },
    );
    if problem.is_some() {
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

async fn logo_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    signed_in(&st, &headers, "/ui/settings/organization/logo", q.get("lang").cloned(), false, move |s, lang, token| {
        logo_form(s, lang, token, q.contains_key("done"), None)
    })
    .await
}

/// `POST …/logo` (multipart): a new logo, or none; the engine checks the
/// image and the user's right to change the organization.
async fn save_logo(
    State(st): State<AppState>,
    headers: HeaderMap,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let (mut csrf, mut file, mut remove) = (String::new(), None::<Vec<u8>>, false);
    let mut unreadable = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let has_name = field.file_name().is_some_and(|f| !f.is_empty());
                match field.bytes().await {
                    Ok(b) => match name.as_str() {
                        "csrf" => csrf = String::from_utf8_lossy(&b).to_string(),
                        "remove" => remove = !b.is_empty(),
                        "file" if has_name && !b.is_empty() => file = Some(b.to_vec()),
                        _ => {}
                    },
                    Err(e) => unreadable = Some(e.body_text()),
                }
            }
            Ok(None) => break,
            Err(e) => {
                unreadable = Some(e.body_text());
                break;
            }
        }
    }
    let token = super::cookie(&headers, super::SESSION_COOKIE);
    if !token.as_deref().is_some_and(|t| super::same(&csrf, &super::csrf_for(t))) {
        return super::html_response(
            axum::http::StatusCode::FORBIDDEN,
            "<!doctype html><p role=\"alert\">CSRF</p>".into(),
        );
    }
    signed_in(&st, &headers, "/ui/settings/organization/logo", None, true, move |s, lang, token| {
        if let Some(reason) = unreadable {
            return logo_form(s, lang, token, false, Some(reason));
        }
        let value = match (remove, file) {
            (true, _) => Value::Null,
            (false, Some(bytes)) => Value::Bytes(bytes),
            (false, None) => return Ok(redirect("/ui/settings/organization/logo")),
        };
        let id = s.org.ids.organization;
        let input = relata_engine::RecordInput::new(vec![("relata_logo".into(), value)]);
        match s
            .update("organization", id, input, relata_engine::Condition::default(), false)
            .map_err(|e| super::localized(e, lang))
        {
            Ok(_) => Ok(redirect("/ui/settings/organization/logo?done=1")),
            Err(EngineError::Invalid(m)) => {
                let page = logo_form(s, lang, token, false, Some(m))?;
                Err(PageError::Shown(Box::new(page)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// The logo as an image, for whoever may read the organization.
async fn logo_image(State(st): State<AppState>, headers: HeaderMap) -> Response {
    signed_in(&st, &headers, "/ui/settings/organization/logo", None, false, move |s, _lang, _token| {
        let org = s.retrieve("organization", s.org.ids.organization, &Default::default())?;
        let Some(Value::Bytes(b)) = org.get("relata_logo").cloned() else {
            return Err(EngineError::not_found("no logo").into());
        };
        let kind = if relata_print::image_kind(&b) == Some("jpeg") { "image/jpeg" } else { "image/png" };
        let mut r = axum::response::IntoResponse::into_response(b);
        r.headers_mut().insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static(kind));
        Ok(r)
    })
    .await
}

// ----- the role privilege grid -------------------------------------------

#[derive(Serialize)]
struct Cell {
    name: String,
    depth: u8,
    depths: Vec<(u8, &'static str)>,
}

#[derive(Serialize)]
struct GridRow {
    entity: String,
    cells: Vec<Option<Cell>>,
}

#[derive(Serialize)]
struct Global {
    name: String,
    description: String,
    held: bool,
}

fn depth_code(d: Depth) -> u8 {
    match d {
        Depth::None => 0,
        Depth::User => 1,
        Depth::BusinessUnit => 2,
        Depth::ParentChild => 4,
        Depth::Organization => 8,
    }
}

fn depth_of(code: u8) -> Option<Depth> {
    Some(match code {
        0 => Depth::None,
        1 => Depth::User,
        2 => Depth::BusinessUnit,
        4 => Depth::ParentChild,
        8 => Depth::Organization,
        _ => return None,
    })
}

fn role_id(id: &str, lang: Lang) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()).into())
}

async fn role(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query(&format!("/ui/settings/roles/{id}"), &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let id = role_id(&id, lang)?;
        role_page(
            s,
            lang,
            token,
            id,
            q.get("done").map(|_| text(lang, "set_saved").to_string()),
            q.get("problem").cloned(),
        )
    })
    .await
}

fn role_page(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    id: Uuid,
    done: Option<String>,
    problem: Option<String>,
) -> Result<Response, PageError> {
    let role_entity = s.entity_by_set("roles")?;
    let rec =
        s.retrieve("role", id, &parse_query_options("$select=name").map_err(|e| EngineError::Invalid(e.to_string()))?)?;
    let name = rec.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let held: HashMap<String, Depth> = s.role_privileges(id)?.into_iter().map(|p| (p.name, p.depth)).collect();
    let editable = s.may(&role_entity, Right::Write, id)? && name != relata_engine::SYSTEM_ADMINISTRATOR;
    let sh = shell(s, lang, token, Some("role"))?;
    let lcid = lang.lcid();
    let mut rows: BTreeMap<String, GridRow> = BTreeMap::new();
    let mut globals = Vec::new();
    for def in catalog(&s.schema) {
        let depth = held.get(&def.name).copied().unwrap_or(Depth::None);
        match &def.entity {
            Some(e) => {
                let label = s.schema.entity(e).map(|x| x.def.label.text(lcid).to_string()).unwrap_or_else(|| e.clone());
                let row = rows
                    .entry(label.clone())
                    .or_insert_with(|| GridRow { entity: label, cells: RIGHTS.iter().map(|_| None).collect() });
                let i = RIGHTS.iter().position(|r| *r == def.right).unwrap_or(0);
                let mut depths = vec![(0, text(lang, "set_depth_0"))];
                for (ok, d) in [
                    (def.can_be_basic, Depth::User),
                    (def.can_be_local, Depth::BusinessUnit),
                    (def.can_be_deep, Depth::ParentChild),
                    (def.can_be_global, Depth::Organization),
                ] {
                    if ok {
                        let c = depth_code(d);
                        depths.push((c, text(lang, &format!("set_depth_{c}"))));
                    }
                }
                row.cells[i] = Some(Cell { name: def.name.clone(), depth: depth_code(depth), depths });
            }
            None => {
                let description = relata_security::GLOBAL_PRIVILEGES
                    .iter()
                    .find(|g| g.0 == def.name)
                    .map(|g| g.2.to_string())
                    .or_else(|| {
                        let declared = s.schema.global_privileges().iter().find(|g| g.name == def.name);
                        declared.map(|g| g.description.clone())
                    })
                    .unwrap_or_default();
                globals.push(Global { name: def.name.clone(), description, held: depth > Depth::None })
            }
        }
    }
    let rights: Vec<String> = RIGHTS.iter().map(|r| format!("{r:?}")).collect();
    let rows: Vec<GridRow> = rows.into_values().collect();
    let mut r = render(
        "settings_role.html",
        context! { ..shell_context(&sh), ..context! {
            q_global => "", name => name, id => id.to_string(), editable => editable, done => done, problem => &problem,
            rights => rights,
            rows => minijinja::Value::from(minijinja::value::Serde(&rows)),
            globals => minijinja::Value::from(minijinja::value::Serde(&globals)),
        }},
    );
    if problem.is_some() {
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

async fn save_role(State(st): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/settings/roles/{id}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, token| {
        let id = role_id(&id, lang)?;
        let defs = catalog(&s.schema);
        let mut grants = Vec::new();
        for def in &defs {
            let depth = if def.entity.is_some() {
                let Some(raw) = form.get(&format!("p.{}", def.name)) else { continue };
                match raw.parse::<u8>().ok().and_then(depth_of).filter(|d| def.allows_depth(*d)) {
                    Some(d) => d,
                    None => {
                        let m = text(lang, "set_bad_depth").replace("{value}", raw);
                        return Err(EngineError::Invalid(m).into());
                    }
                }
            } else if form.get(&format!("g.{}", def.name)).is_some_and(|v| !v.is_empty()) {
                Depth::Organization
            } else {
                Depth::None
            };
            if depth > Depth::None {
                grants.push(PrivilegeGrant { privilege_id: Some(def.id), name: None, depth });
            }
        }
        match s.replace_role_privileges(id, &grants).map_err(|e| super::localized(e, lang)) {
            Ok(()) => Ok(redirect(&format!("/ui/settings/roles/{id}?done=1"))),
            Err(err @ (EngineError::Invalid(_) | EngineError::Forbidden(_))) => {
                let m = err.to_string();
                let page = role_page(s, lang, token, id, None, Some(m))?;
                Err(PageError::Shown(Box::new(page)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

// ----- memberships: a user's roles, a team's members ---------------------

#[derive(Serialize)]
struct Choice {
    id: Uuid,
    name: String,
    held: bool,
}

/// The ids on the far side of an N:N relationship from one record.
fn related_ids(
    s: &mut Session<'_, '_, '_>,
    intersect: &str,
    from_col: &str,
    to_col: &str,
    id: Uuid,
) -> Result<Vec<Uuid>, PageError> {
    let q = format!("$select={to_col}&$filter={from_col} eq {id}");
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok(s.query(intersect, &opts, Some(5000), None)?
        .records
        .iter()
        .filter_map(|r| r.get(to_col).and_then(Value::as_uuid))
        .collect())
}

async fn user_roles(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query(&format!("/ui/settings/users/{id}/roles"), &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let id = role_id(&id, lang)?;
        membership_page(s, lang, token, Membership::UserRoles, id, q.contains_key("done"), q.get("problem").cloned())
    })
    .await
}

async fn members(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query(&format!("/ui/settings/teams/{id}/members"), &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let id = role_id(&id, lang)?;
        membership_page(s, lang, token, Membership::TeamMembers, id, q.contains_key("done"), q.get("problem").cloned())
    })
    .await
}

/// The two N:N screens, as data.
#[derive(Clone, Copy)]
enum Membership {
    UserRoles,
    TeamMembers,
}

impl Membership {
    /// (record entity, its name column, relationship, intersect, record column, other column, other entity, other name column)
    fn parts(
        self,
    ) -> (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str)
    {
        match self {
            Membership::UserRoles => (
                "systemuser",
                "fullname",
                "systemuserroles_association",
                "systemuserroles",
                "systemuserid",
                "roleid",
                "role",
                "name",
            ),
            Membership::TeamMembers => (
                "team",
                "name",
                "teammembership_association",
                "teammembership",
                "teamid",
                "systemuserid",
                "systemuser",
                "fullname",
            ),
        }
    }
    fn path(self, id: Uuid) -> String {
        match self {
            Membership::UserRoles => format!("/ui/settings/users/{id}/roles"),
            Membership::TeamMembers => format!("/ui/settings/teams/{id}/members"),
        }
    }
}

fn membership_page(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    kind: Membership,
    id: Uuid,
    done: bool,
    problem: Option<String>,
) -> Result<Response, PageError> {
    let (entity, name_col, _, intersect, from_col, to_col, other, other_name) = kind.parts();
    if !readable(s, entity) || !readable(s, other) {
        return Err(forbidden(lang));
    }
    let rec = s.retrieve(
        entity,
        id,
        &parse_query_options(&format!("$select={name_col}")).map_err(|e| EngineError::Invalid(e.to_string()))?,
    )?;
    let name = rec.get(name_col).and_then(Value::as_str).unwrap_or("").to_string();
    let held = related_ids(s, intersect, from_col, to_col, id)?;
    // A user's roles: those of the unit tree the user's unit inherits; the engine refuses the rest.
    let filter = if matches!(kind, Membership::TeamMembers) { "&$filter=isdisabled eq false" } else { "" };
    let q = format!("$select={other_name}{filter}&$orderby={other_name}");
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    let choices: Vec<Choice> = s
        .query(other, &opts, Some(2000), None)?
        .records
        .iter()
        .map(|r| Choice {
            id: r.id,
            name: r.get(other_name).and_then(Value::as_str).unwrap_or("").to_string(),
            held: held.contains(&r.id),
        })
        .filter(|c| matches!(kind, Membership::TeamMembers) || seen.insert(c.name.clone()) || c.held)
        .collect();
    let entity_def = s.schema.entity(entity).cloned().ok_or_else(|| forbidden(lang))?;
    let editable = s.may(&entity_def, Right::Write, id)?;
    let sh = shell(s, lang, token, Some(entity))?;
    let heading = match kind {
        Membership::UserRoles => text(lang, "set_roles_of"),
        Membership::TeamMembers => text(lang, "set_members_of"),
    }
    .replace("{name}", &name);
    let mut r = render(
        "settings_members.html",
        context! { ..shell_context(&sh), ..context! {
            q_global => "", heading => heading, action => kind.path(id), editable => editable,
            record => format!("/ui/{}/{id}", entity_def.def.entity_set),
            choices => minijinja::Value::from(minijinja::value::Serde(&choices)),
            done => done.then(|| text(lang, "set_saved")), problem => &problem,
        }},
    );
    if problem.is_some() {
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

async fn save_user_roles(State(st): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    save_membership(st, id, req, Membership::UserRoles).await
}

async fn save_members(State(st): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    save_membership(st, id, req, Membership::TeamMembers).await
}

/// Makes the relationship hold exactly the ticked records: associates the
/// new ones and disassociates the others, in one transaction.
async fn save_membership(st: AppState, id: String, req: Request, kind: Membership) -> Response {
    let (headers, form, ticked) = match super::forms::posted_multi(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    drop(form);
    let here = format!("/ui/settings/{id}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, token| {
        let id = role_id(&id, lang)?;
        let (entity, _, relationship, intersect, from_col, to_col, other, _) = kind.parts();
        let held = related_ids(s, intersect, from_col, to_col, id)?;
        let wanted: Vec<Uuid> = ticked.iter().filter_map(|t| Uuid::parse_str(t).ok()).collect();
        let mut result = Ok(());
        for add in wanted.iter().filter(|w| !held.contains(w)) {
            result = s.associate(entity, id, relationship, other, *add);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            for gone in held.iter().filter(|h| !wanted.contains(h)) {
                result = s.disassociate(entity, id, relationship, Some(*gone));
                if result.is_err() {
                    break;
                }
            }
        }
        match result.map_err(|e| super::localized(e, lang)) {
            Ok(()) => Ok(redirect(&format!("{}?done=1", kind.path(id)))),
            Err(err @ (EngineError::Invalid(_) | EngineError::Forbidden(_) | EngineError::Conflict(_))) => {
                let m = err.to_string();
                let page = membership_page(s, lang, token, kind, id, false, Some(m))?;
                Err(PageError::Shown(Box::new(page)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

// ----- business units, licenses -------------------------------------------

#[derive(Serialize)]
struct Unit {
    id: Uuid,
    name: String,
    depth: usize,
    disabled: bool,
}

async fn units(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    signed_in(&st, &headers, "/ui/settings/units", q.get("lang").cloned(), false, move |s, lang, token| {
        if !readable(s, "businessunit") {
            return Err(forbidden(lang));
        }
        let opts = parse_query_options("$select=name,parentbusinessunitid,isdisabled&$orderby=name")
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let all = s.query("businessunit", &opts, Some(5000), None)?.records;
        let parent = |r: &relata_query::Record| r.get("parentbusinessunitid").and_then(Value::as_ref_value).map(|p| p.id);
        // Depth-first from the roots the user can see.
        let ids: Vec<Uuid> = all.iter().map(|r| r.id).collect();
        let mut stack: Vec<(Uuid, usize)> =
            all.iter().filter(|r| parent(r).is_none_or(|p| !ids.contains(&p))).map(|r| (r.id, 0)).rev().collect();
        let mut tree = Vec::new();
        while let Some((id, depth)) = stack.pop() {
            let Some(r) = all.iter().find(|r| r.id == id) else { continue };
            tree.push(Unit {
                id,
                name: r.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                depth,
                disabled: r.get("isdisabled").and_then(Value::as_bool).unwrap_or(false),
            });
            let children: Vec<(Uuid, usize)> = all.iter().filter(|c| parent(c) == Some(id)).map(|c| (c.id, depth + 1)).rev().collect();
            stack.extend(children);
        }
        let may_create = s.schema.entity("businessunit").is_some_and(|e| s.principal.depth(e, Right::Create) > Depth::None);
        let sh = shell(s, lang, token, Some("businessunit"))?;
        Ok(render(
            "settings_units.html",
            context! { ..shell_context(&sh), ..context! { q_global => "", units => minijinja::Value::from(minijinja::value::Serde(&tree)), may_create => may_create } },
        ))
    })
    .await
}

#[derive(Serialize)]
struct LicenseRow {
    name: &'static str,
    code: &'static str,
    users: i64,
    allows: Vec<String>,
}

async fn licenses(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    signed_in(&st, &headers, "/ui/settings/licenses", q.get("lang").cloned(), false, move |s, lang, token| {
        if !readable(s, "systemuser") {
            return Err(forbidden(lang));
        }
        let opts = parse_query_options("$apply=groupby((caltype,accessmode),aggregate($count as n))")
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let rows = s.apply("systemuser", &opts)?;
        let mut counts: HashMap<&'static str, i64> = HashMap::new();
        for r in rows {
            let get = |k: &str| r.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.as_i64()).unwrap_or(0);
            *counts.entry(License::from_user(get("caltype"), get("accessmode")).name()).or_default() += get("n");
        }
        let groups = [
            relata_metadata::LicenseGroup::Customers,
            relata_metadata::LicenseGroup::Leads,
            relata_metadata::LicenseGroup::Sales,
            relata_metadata::LicenseGroup::Marketing,
            relata_metadata::LicenseGroup::Service,
            relata_metadata::LicenseGroup::Activities,
            relata_metadata::LicenseGroup::Notes,
            relata_metadata::LicenseGroup::Settings,
            relata_metadata::LicenseGroup::Custom,
        ];
        let table: Vec<LicenseRow> = LICENSES
            .iter()
            .map(|l| LicenseRow {
                name: text(lang, &format!("lic_{}", l.name())),
                code: l.name(),
                users: counts.get(l.name()).copied().unwrap_or(0),
                allows: groups
                    .iter()
                    .filter_map(|g| {
                        let rights: Vec<String> =
                            RIGHTS.iter().filter(|r| l.allows(*g, **r)).map(|r| format!("{r:?}")).collect();
                        match rights.len() {
                            0 => None,
                            n if n == RIGHTS.len() => Some(format!("{g:?}: all")),
                            _ => Some(format!("{g:?}: {}", rights.join(", "))),
                        }
                    })
                    .collect(),
            })
            .collect();
        let sh = shell(s, lang, token, None)?;
        Ok(render(
            "settings_licenses.html",
            context! { ..shell_context(&sh), ..context! { q_global => "", licenses => minijinja::Value::from(minijinja::value::Serde(&table)) } },
        ))
    })
    .await
}

// ----- the audit viewer ----------------------------------------------------

#[derive(Serialize)]
struct AuditRow {
    when: String,
    who: String,
    what: String,
    record: String,
    href: Option<String>,
    changes: Vec<(String, String, String)>,
}

const AUDIT_PAGE: usize = 50;

async fn audit(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let here = path_and_query("/ui/settings/audit", &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        if !s.principal.has("prvReadAuditSummary") {
            return Err(forbidden(lang));
        }
        let mut filters = Vec::new();
        let entity = q.get("entity").filter(|e| !e.is_empty() && s.schema.entity(e).is_some()).cloned();
        if let Some(e) = &entity {
            filters.push(format!("objecttypecode eq {}", string_literal(e)));
        }
        let user = q.get("user").and_then(|u| Uuid::parse_str(u).ok());
        if let Some(u) = user {
            filters.push(format!("_userid_value eq {u}"));
        }
        let action = q.get("action").and_then(|a| a.parse::<i64>().ok());
        if let Some(a) = action {
            filters.push(format!("action eq {a}"));
        }
        let day = |k: &str| q.get(k).and_then(|d| super::zone::parse_day(d));
        if let Some(from) = day("from") {
            filters.push(format!("createdon ge {}T00:00:00Z", from));
        }
        if let Some(to) = day("to") {
            filters.push(format!("createdon lt {}T00:00:00Z", to + chrono::Duration::days(1)));
        }
        let mut query =
            "$select=createdon,action,objectid,objecttypecode,userid,changedata&$orderby=createdon desc,auditid desc"
                .to_string();
        if !filters.is_empty() {
            query.push_str(&format!("&$filter={}", filters.join(" and ")));
        }
        let mut opts = parse_query_options(&query).map_err(|e| EngineError::Invalid(e.to_string()))?;
        opts.skiptoken = q.get("after").cloned();
        let page = s.query("audit", &opts, Some(AUDIT_PAGE), None)?;
        let names = names_of(s, &page.records)?;
        let audit_entity = s.entity_by_set("audits")?;
        let action_attr = audit_entity.attribute("action").cloned();
        let rows: Vec<AuditRow> = page
            .records
            .iter()
            .map(|r| {
                let object = r.get("objectid").and_then(Value::as_ref_value);
                let target = object.and_then(|o| s.schema.entity(&o.entity));
                let changes = r
                    .get("changedata")
                    .and_then(Value::as_str)
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                    .and_then(|j| j["changedAttributes"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .map(|c| {
                        let col = c["logicalName"].as_str().unwrap_or("").to_string();
                        let label = target
                            .and_then(|t| t.attribute(&col))
                            .map(|a| a.label.text(lang.lcid()).to_string())
                            .unwrap_or(col);
                        let v = |k: &str| c[k].as_str().map(str::to_string).unwrap_or_default();
                        (label, v("oldValue"), v("newValue"))
                    })
                    .collect();
                AuditRow {
                    when: r
                        .get("createdon")
                        .and_then(Value::as_datetime)
                        .map(|d| super::zone::to_local(d).format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                    who: r
                        .get("userid")
                        .and_then(Value::as_ref_value)
                        .and_then(|u| names.get(&u.id))
                        .cloned()
                        .unwrap_or_default(),
                    what: match (&action_attr, r.get("action")) {
                        (Some(a), Some(v)) => super::pages::display(s, a, v, lang, &names),
                        _ => String::new(),
                    },
                    record: match (object, target) {
                        (Some(o), Some(t)) => {
                            let n = names.get(&o.id).cloned().unwrap_or_else(|| o.id.to_string());
                            format!("{}: {n}", t.def.label.text(lang.lcid()))
                        }
                        _ => r.get("objecttypecode").and_then(Value::as_str).unwrap_or("").to_string(),
                    },
                    href: object.and_then(|o| target.map(|t| format!("/ui/{}/{}", t.def.entity_set, o.id))),
                    changes,
                }
            })
            .collect();
        let older = page.skiptoken.as_ref().map(|t| {
            let mut p: Vec<String> =
                q.iter().filter(|(k, _)| k.as_str() != "after").map(|(k, v)| format!("{k}={}", encode(v))).collect();
            p.push(format!("after={}", encode(t)));
            format!("/ui/settings/audit?{}", p.join("&"))
        });
        let entities: Vec<(String, String)> = {
            let mut v: Vec<(String, String)> = s
                .schema
                .entities()
                .filter(|e| e.has_privileges() && !e.def.is_intersect)
                .map(|e| (e.name().to_string(), e.def.label.text(lang.lcid()).to_string()))
                .collect();
            v.sort_by(|a, b| a.1.cmp(&b.1));
            v
        };
        let actions: Vec<(String, String)> = action_attr
            .as_ref()
            .map(|a| a.options.iter().map(|o| (o.value.to_string(), o.label.text(lang.lcid()).to_string())).collect())
            .unwrap_or_default();
        let sh = shell(s, lang, token, Some("audit"))?;
        Ok(render(
            "settings_audit.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", rows => minijinja::Value::from(minijinja::value::Serde(&rows)), older => older,
                entities => entities, actions => actions,
                entity => entity, action => action.map(|a| a.to_string()),
                from => q.get("from"), to => q.get("to"), user => user.map(|u| u.to_string()),
            }},
        ))
    })
    .await
}
