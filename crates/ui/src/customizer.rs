//! Customization for administrators: new tables and columns (through the
//! same engine calls as the Web API's metadata endpoints), and an entity's
//! main form layout, edited as an outline and stored as a `systemform`.
//!
//! The outline, one line each:
//! `# Tab label | Russian label`, `## Section label | Russian label`, then
//! the logical names of the section's columns in order.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use relata_engine::{EngineError, RecordInput, Session};
use relata_metadata::{
    AttrKind, AttributeDef, CascadeDelete, Entity, EntityDef, Label, LookupTarget, OptionDef, Ownership, RequiredLevel,
    Value,
};
use serde::Serialize;

use super::i18n::{text, Lang, Text};
use super::layout::{generated_stored, never_shown, stored, StoredForm, StoredPart, MAIN_FORM};
use super::pages::{shell, shell_context, signed_in, PageError};
use super::{redirect, render};
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("customize.html", include_str!("templates/customize.html")),
    ("customize_entity.html", include_str!("templates/customize_entity.html")),
    ("customize_form.html", include_str!("templates/customize_form.html")),
];

pub(super) const TEXT: &[Text] = &[
    ("cz_title", "Customization", "Настройка"),
    ("cz_tables", "Tables", "Таблицы"),
    ("cz_custom", "custom", "настраиваемая"),
    ("cz_new_table", "New table", "Новая таблица"),
    ("cz_new_column", "New column", "Новый столбец"),
    ("cz_name", "Logical name (with prefix, e.g. new_project)", "Логическое имя (с префиксом, например new_project)"),
    ("cz_label_en", "Display name (English)", "Отображаемое имя (англ.)"),
    ("cz_label_ru", "Display name (Russian)", "Отображаемое имя (рус.)"),
    ("cz_plural_en", "Plural name (English)", "Имя во множественном числе (англ.)"),
    ("cz_plural_ru", "Plural name (Russian)", "Имя во множественном числе (рус.)"),
    ("cz_ownership", "Ownership", "Владение"),
    ("cz_user_owned", "User or team", "Пользователь или рабочая группа"),
    ("cz_org_owned", "Organization", "Организация"),
    ("cz_type", "Type", "Тип"),
    ("cz_required", "Required", "Обязательный"),
    ("cz_max_length", "Maximum length", "Максимальная длина"),
    ("cz_options", "Choices, one per line", "Варианты, по одному в строке"),
    ("cz_target", "Lookup to", "Ссылка на"),
    ("cz_columns", "Columns", "Столбцы"),
    ("cz_form", "Main form layout", "Макет основной формы"),
    (
        "cz_form_help",
        "One line each: “# Tab | Вкладка”, “## Section | Раздел”, then the columns of the section by logical name.",
        "По одной строке: «# Tab | Вкладка», «## Section | Раздел», затем столбцы раздела по логическим именам.",
    ),
    ("cz_available", "Columns not on the form", "Столбцы вне формы"),
    ("cz_reset", "Reset to the default layout", "Вернуть макет по умолчанию"),
    ("cz_saved", "Saved.", "Сохранено."),
    (
        "cz_forbidden",
        "You may not customize the system (the Create Attribute privilege).",
        "Вам не разрешена настройка системы (привилегия «Создание атрибута»).",
    ),
    (
        "cz_bad_name",
        "A logical name is lower-case letters, digits and _ with a prefix, like new_project.",
        "Логическое имя — строчные буквы, цифры и _ с префиксом, например new_project.",
    ),
    ("cz_no_options", "A choice column needs at least one choice.", "Для столбца выбора нужен хотя бы один вариант."),
    ("cz_no_target", "Choose the table the lookup points to.", "Выберите таблицу, на которую ссылается столбец."),
    (
        "cz_line_column",
        "Line {n}: there is no column “{name}” on this table.",
        "Строка {n}: в таблице нет столбца «{name}».",
    ),
    (
        "cz_line_outside",
        "Line {n}: a column must come after a “##” section line.",
        "Строка {n}: столбец должен идти после строки раздела «##».",
    ),
    ("cz_line_twice", "Line {n}: “{name}” is on the form twice.", "Строка {n}: «{name}» встречается на форме дважды."),
    (
        "cz_line_section",
        "Line {n}: a “##” section must come after a “#” tab line.",
        "Строка {n}: раздел «##» должен идти после строки вкладки «#».",
    ),
    (
        "cz_empty_form",
        "The layout needs at least one tab with a section.",
        "В макете нужна хотя бы одна вкладка с разделом.",
    ),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/customize", get(home).post(create_table))
        .route("/ui/customize/{entity}", get(entity_page).post(create_column))
        .route("/ui/customize/{entity}/form", get(form_page).post(save_form))
        .route("/ui/customize/{entity}/form/reset", post(reset_form))
}

fn may_customize(s: &Session<'_, '_, '_>) -> bool {
    s.principal.has("prvCreateAttribute") || s.principal.has("prvCreateEntity")
}

fn gate(s: &Session<'_, '_, '_>, lang: Lang) -> Result<(), PageError> {
    if may_customize(s) {
        Ok(())
    } else {
        Err(EngineError::forbidden(text(lang, "cz_forbidden").to_string()).into())
    }
}

fn shown(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

#[derive(Serialize)]
struct TableRow {
    name: String,
    label: String,
    custom: bool,
}

async fn home(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    signed_in(&st, &headers, "/ui/customize", q.get("lang").cloned(), false, move |s, lang, token| {
        gate(s, lang)?;
        tables_page(s, lang, token, None, &HashMap::new())
    })
    .await
}

fn tables_page(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    problem: Option<String>,
    form: &HashMap<String, String>,
) -> Result<Response, PageError> {
    let mut tables: Vec<TableRow> = s
        .schema
        .entities()
        .filter(|e| !e.def.is_intersect && e.has_privileges())
        .map(|e| TableRow {
            name: e.name().to_string(),
            label: e.def.label.text(lang.lcid()).to_string(),
            custom: e.def.is_custom,
        })
        .collect();
    tables.sort_by(|a, b| (!a.custom, &a.label).cmp(&(!b.custom, &b.label)));
    let sh = shell(s, lang, token, None)?;
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(shown(
        render(
            "customize.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", tables => minijinja::Value::from(minijinja::value::Serde(&tables)),
                problem => problem, form => form,
            }},
        ),
        status,
    ))
}

fn valid_name(n: &str) -> bool {
    let mut parts = n.splitn(2, '_');
    let (prefix, rest) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    !prefix.is_empty()
        && !rest.is_empty()
        && n.len() <= 50
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

fn label(form: &HashMap<String, String>, en: &str, ru: &str, fallback: &str) -> Label {
    let en = form.get(en).map(|v| v.trim()).filter(|v| !v.is_empty()).unwrap_or(fallback).to_string();
    let ru = form.get(ru).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    Label { en, ru }
}

async fn create_table(State(st): State<AppState>, req: Request) -> Response {
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    signed_in(&st, &headers, "/ui/customize", None, true, move |s, lang, token| {
        gate(s, lang)?;
        let name = form.get("name").map(|v| v.trim().to_string()).unwrap_or_default();
        if !valid_name(&name) {
            return tables_page(s, lang, token, Some(text(lang, "cz_bad_name").to_string()), &form);
        }
        let prefix = name.split('_').next().unwrap_or("new");
        let primary = format!("{prefix}_name");
        let mut name_attr = AttributeDef::new(&primary, AttrKind::String, "Name");
        name_attr.label = Label { en: "Name".into(), ru: Some("Название".into()) };
        name_attr.max_length = Some(200);
        name_attr.required = RequiredLevel::Application;
        name_attr.indexed = true;
        let singular = label(&form, "label_en", "label_ru", &name);
        let plural = label(&form, "plural_en", "plural_ru", &format!("{}s", singular.en));
        let def = EntityDef {
            name: name.clone(),
            schema_name: name.clone(),
            label: singular,
            plural_label: plural,
            primary_name: primary,
            ownership: if form.get("ownership").is_some_and(|o| o == "organization") {
                Ownership::Organization
            } else {
                Ownership::User
            },
            is_custom: true,
            has_notes: true,
            has_activities: true,
            attributes: vec![name_attr],
            ..Default::default()
        };
        match s.create_entity(def).map_err(|e| super::localized(e, lang)) {
            Ok(()) => Ok(redirect(&format!("/ui/customize/{name}?done=1"))),
            Err(err @ (EngineError::Invalid(_) | EngineError::Conflict(_) | EngineError::Forbidden(_))) => {
                let m = err.to_string();
                Err(PageError::Shown(Box::new(tables_page(s, lang, token, Some(m), &form)?)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

#[derive(Serialize)]
struct ColumnRow {
    name: String,
    label: String,
    kind: String,
    required: bool,
    custom: bool,
}

fn entity_of(s: &Session<'_, '_, '_>, name: &str, lang: Lang) -> Result<std::sync::Arc<Entity>, PageError> {
    s.schema
        .entity(name)
        .cloned()
        .filter(|e| !e.def.is_intersect)
        .ok_or_else(|| EngineError::not_found(text(lang, "not_found").to_string()).into())
}

async fn entity_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(entity): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/ui/customize/{entity}");
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        gate(s, lang)?;
        let e = entity_of(s, &entity, lang)?;
        columns_page(s, lang, token, &e, q.contains_key("done"), None, &HashMap::new())
    })
    .await
}

fn columns_page(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    e: &Entity,
    done: bool,
    problem: Option<String>,
    form: &HashMap<String, String>,
) -> Result<Response, PageError> {
    let lcid = lang.lcid();
    let columns: Vec<ColumnRow> = e
        .attributes()
        .iter()
        .filter(|a| !never_shown(e, a))
        .map(|a| ColumnRow {
            name: a.name.clone(),
            label: a.label.text(lcid).to_string(),
            kind: a.kind.dataverse_name().to_string(),
            required: !matches!(a.required, RequiredLevel::None),
            custom: a.is_custom,
        })
        .collect();
    let mut targets: Vec<(String, String)> = s
        .schema
        .entities()
        .filter(|x| x.has_privileges() && !x.def.is_intersect)
        .map(|x| (x.name().to_string(), x.def.label.text(lcid).to_string()))
        .collect();
    targets.sort_by(|a, b| a.1.cmp(&b.1));
    let sh = shell(s, lang, token, None)?;
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(shown(
        render(
            "customize_entity.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", name => e.name(), label => e.def.label.text(lcid), set => &e.def.entity_set,
                columns => minijinja::Value::from(minijinja::value::Serde(&columns)), targets => targets,
                done => done.then(|| text(lang, "cz_saved")), problem => problem, form => form,
            }},
        ),
        status,
    ))
}

async fn create_column(State(st): State<AppState>, Path(entity): Path<String>, req: Request) -> Response {
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/customize/{entity}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, token| {
        gate(s, lang)?;
        let e = entity_of(s, &entity, lang)?;
        let again = |s: &mut Session<'_, '_, '_>, m: String| columns_page(s, lang, token, &e, false, Some(m), &form);
        let name = form.get("name").map(|v| v.trim().to_string()).unwrap_or_default();
        if !valid_name(&name) {
            return again(s, text(lang, "cz_bad_name").to_string());
        }
        let (kind, format) = match form.get("kind").map(String::as_str).unwrap_or("string") {
            "memo" => (AttrKind::Memo, None),
            "integer" => (AttrKind::Integer, None),
            "decimal" => (AttrKind::Decimal, None),
            "money" => (AttrKind::Money, None),
            "boolean" => (AttrKind::Boolean, None),
            "datetime" => (AttrKind::DateTime, Some("DateAndTime")),
            "date" => (AttrKind::DateTime, Some("DateOnly")),
            "picklist" => (AttrKind::Picklist, None),
            "lookup" => (AttrKind::Lookup, None),
            _ => (AttrKind::String, None),
        };
        let mut attr = AttributeDef::new(&name, kind, &name);
        attr.label = label(&form, "label_en", "label_ru", &name);
        attr.format = format.map(str::to_string);
        if form.get("required").is_some_and(|v| !v.is_empty()) {
            attr.required = RequiredLevel::Application;
        }
        if matches!(kind, AttrKind::String | AttrKind::Memo) {
            attr.max_length = form
                .get("max_length")
                .and_then(|v| v.trim().parse().ok())
                .or(Some(if kind == AttrKind::Memo { 2000 } else { 100 }));
        }
        if kind == AttrKind::Picklist {
            attr.options = form
                .get("options")
                .map(|o| o.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, l)| OptionDef { value: 100_000_000 + i as i32, label: Label::new(l), color: None })
                .collect();
            if attr.options.is_empty() {
                return again(s, text(lang, "cz_no_options").to_string());
            }
        }
        if kind == AttrKind::Lookup {
            let Some(target) = form.get("target").filter(|t| s.schema.entity(t).is_some()).cloned() else {
                return again(s, text(lang, "cz_no_target").to_string());
            };
            attr.targets = vec![LookupTarget {
                relationship: format!("{}_{}_{}", e.name(), target, name),
                nav: name.clone(),
                entity: target,
                delete: CascadeDelete::RemoveLink,
                ..Default::default()
            }];
        }
        match s.create_attribute(e.name(), attr).map_err(|e| super::localized(e, lang)) {
            Ok(()) => Ok(redirect(&format!("/ui/customize/{}?done=1", e.name()))),
            Err(err @ (EngineError::Invalid(_) | EngineError::Conflict(_) | EngineError::Forbidden(_))) => {
                let m = err.to_string();
                Err(PageError::Shown(Box::new(again(s, m)?)))
            }
            Err(err) => Err(err.into()),
        }
    })
    .await
}

// ----- the form layout editor ----------------------------------------------

/// A stored form as the outline the editor shows.
fn outline(form: &StoredForm) -> String {
    let labels = |p: &StoredPart| {
        let en = p.labels.iter().find(|(l, _)| *l == 1033).map(|(_, t)| t.as_str()).unwrap_or(&p.name);
        match p.labels.iter().find(|(l, _)| *l == 1049) {
            Some((_, ru)) => format!("{en} | {ru}"),
            None => en.to_string(),
        }
    };
    let mut out = String::new();
    for tab in &form.tabs {
        out.push_str(&format!("# {}\n", labels(tab)));
        for sec in &tab.children {
            out.push_str(&format!("## {}\n", labels(sec)));
            for f in &sec.fields {
                out.push_str(f);
                out.push('\n');
            }
        }
    }
    out
}

/// Reads an outline back, checking every column against the entity.
fn parse_outline(text_in: &str, entity: &Entity, lang: Lang) -> Result<StoredForm, String> {
    let mut form = StoredForm::default();
    let mut seen = std::collections::HashSet::new();
    let part = |line: &str, name: String| {
        let (en, ru) = match line.split_once('|') {
            Some((en, ru)) => (en.trim().to_string(), Some(ru.trim().to_string()).filter(|r| !r.is_empty())),
            None => (line.trim().to_string(), None),
        };
        let mut labels = vec![(1033, en)];
        if let Some(ru) = ru {
            labels.push((1049, ru));
        }
        StoredPart { name, labels, ..Default::default() }
    };
    for (i, raw) in text_in.lines().enumerate() {
        let n = (i + 1).to_string();
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("##") {
            let tab_index = form.tabs.len();
            let tab = form.tabs.last_mut().ok_or_else(|| text(lang, "cz_line_section").replace("{n}", &n))?;
            let name = format!("section_{tab_index}_{}", tab.children.len() + 1);
            tab.children.push(part(rest, name));
        } else if let Some(rest) = line.strip_prefix('#') {
            let name = format!("tab_{}", form.tabs.len() + 1);
            form.tabs.push(part(rest, name));
        } else {
            let sec = form
                .tabs
                .last_mut()
                .and_then(|t| t.children.last_mut())
                .ok_or_else(|| text(lang, "cz_line_outside").replace("{n}", &n))?;
            if entity.attribute(line).is_none_or(|a| never_shown(entity, a)) {
                return Err(text(lang, "cz_line_column").replace("{n}", &n).replace("{name}", line));
            }
            if !seen.insert(line.to_string()) {
                return Err(text(lang, "cz_line_twice").replace("{n}", &n).replace("{name}", line));
            }
            sec.fields.push(line.to_string());
        }
    }
    if form.tabs.iter().all(|t| t.children.is_empty()) {
        return Err(text(lang, "cz_empty_form").to_string());
    }
    Ok(form)
}

async fn form_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(entity): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/ui/customize/{entity}/form");
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        gate(s, lang)?;
        let e = entity_of(s, &entity, lang)?;
        let current = stored(s, &e)?.map(|(_, f)| f).unwrap_or_else(|| generated_stored(&e));
        editor(s, lang, token, &e, &outline(&current), q.contains_key("done"), None)
    })
    .await
}

fn editor(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    e: &Entity,
    text_now: &str,
    done: bool,
    problem: Option<String>,
) -> Result<Response, PageError> {
    let placed: Vec<&str> = text_now.lines().map(str::trim).collect();
    let available: Vec<(String, String)> = e
        .attributes()
        .iter()
        .filter(|a| !never_shown(e, a) && !placed.contains(&a.name.as_str()))
        .map(|a| (a.name.clone(), a.label.text(lang.lcid()).to_string()))
        .collect();
    let sh = shell(s, lang, token, None)?;
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(shown(
        render(
            "customize_form.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", name => e.name(), label => e.def.label.text(lang.lcid()), outline => text_now,
                available => available, done => done.then(|| text(lang, "cz_saved")), problem => problem,
                lines => text_now.lines().count().clamp(12, 40),
            }},
        ),
        status,
    ))
}

async fn save_form(State(st): State<AppState>, Path(entity): Path<String>, req: Request) -> Response {
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/customize/{entity}/form");
    signed_in(&st, &headers, &here, None, true, move |s, lang, token| {
        gate(s, lang)?;
        let e = entity_of(s, &entity, lang)?;
        let text_in = form.get("outline").cloned().unwrap_or_default();
        let parsed = match parse_outline(&text_in, &e, lang) {
            Ok(p) => p,
            Err(m) => return editor(s, lang, token, &e, &text_in, false, Some(m)),
        };
        let xml = parsed.to_xml();
        let result = match stored(s, &e)? {
            Some((id, _)) => s
                .update(
                    "systemform",
                    id,
                    RecordInput::new(vec![("formxml".into(), Value::String(xml))]),
                    Default::default(),
                    false,
                )
                .map(|_| ()),
            None => s
                .create(
                    "systemform",
                    RecordInput::new(vec![
                        ("name".into(), Value::String(format!("Information ({})", e.def.label.en))),
                        ("objecttypecode".into(), Value::String(e.name().into())),
                        ("type".into(), Value::Int(MAIN_FORM)),
                        ("isdefault".into(), Value::Bool(true)),
                        ("formxml".into(), Value::String(xml)),
                    ]),
                )
                .map(|_| ()),
        };
        match result.map_err(|e| super::localized(e, lang)) {
            Ok(()) => Ok(redirect(&format!("/ui/customize/{}/form?done=1", e.name()))),
            Err(err @ (EngineError::Invalid(_) | EngineError::Forbidden(_))) => {
                let m = err.to_string();
                Err(PageError::Shown(Box::new(editor(s, lang, token, &e, &text_in, false, Some(m))?)))
            }
            Err(err) => Err(err.into()),
        }
    })
    .await
}

async fn reset_form(State(st): State<AppState>, Path(entity): Path<String>, req: Request) -> Response {
    let (headers, _form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/customize/{entity}/form");
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        gate(s, lang)?;
        let e = entity_of(s, &entity, lang)?;
        // Every main form of the entity, readable or not.
        let q = format!(
            "$select=formid&$filter=objecttypecode eq {} and type eq {MAIN_FORM}",
            relata_query::options::string_literal(e.name())
        );
        let opts =
            relata_query::options::parse_query_options(&q).map_err(|err| EngineError::Invalid(err.to_string()))?;
        for rec in s.query("systemform", &opts, Some(100), None)?.records {
            s.delete("systemform", rec.id, None)?;
        }
        Ok(redirect(&format!("/ui/customize/{}/form?done=1", e.name())))
    })
    .await
}
