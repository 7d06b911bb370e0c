//! The record page: a record's fields by its form layout, its business
//! actions as buttons (the same engine calls as the Web API's actions),
//! subgrids of related records, and a timeline of its activities and
//! notes, with attachments.

mod actions;
mod timeline;

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use relata_engine::{EngineError, Session};
use relata_metadata::{AttrKind, Entity, Value};
use relata_query::options::parse_query_options;
use relata_security::Scope;
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang, Text};
use super::pages::{display_in, names_of, path_and_query, readable_entity, shell, shell_context, signed_in, PageError};
use super::render;
use crate::AppState;

pub(super) use timeline::MAX_ATTACHMENT;

pub(super) const TEMPLATES: &[(&str, &str)] = &[("record.html", include_str!("templates/record.html"))];

pub(super) const TEXT: &[Text] = &[
    ("record_related", "Related", "Связанные записи"),
    ("record_total", "Total", "Итого"),
    ("record_tabs", "Parts of the record", "Разделы записи"),
    ("record_show_all", "Show all", "Показать все"),
    ("record_timeline", "Timeline", "Хронология"),
    ("record_no_activity", "No activities or notes yet.", "Пока нет действий и примечаний."),
    ("record_add_note", "Add a note", "Добавить примечание"),
    ("record_note_title", "Title", "Заголовок"),
    ("record_note_text", "Note", "Текст примечания"),
    ("record_note_file", "Attachment (up to {mb} MB)", "Вложение (до {mb} МБ)"),
    ("record_add_task", "Add a task", "Добавить задачу"),
    ("record_task_due", "Due", "Срок"),
    ("record_subject", "Subject", "Тема"),
    ("record_note_empty", "Write a title, a note or attach a file.", "Укажите заголовок, текст или приложите файл."),
    (
        "record_file_too_large",
        "The file is larger than {mb} MB; nothing was saved.",
        "Файл больше {mb} МБ; ничего не сохранено.",
    ),
    ("record_bad_upload", "The upload could not be read: {reason}", "Не удалось прочитать загрузку: {reason}"),
    ("record_state", "Status", "Состояние"),
    ("record_actions", "Actions", "Действия"),
    ("record_note", "Note", "Примечание"),
    ("record_download", "Download", "Скачать"),
    ("record_by", "by {who}", "автор: {who}"),
    ("act_complete", "Mark complete", "Завершить"),
    ("act_cancel_activity", "Cancel activity", "Отменить действие"),
    ("act_outcome", "Outcome", "Результат"),
    ("act_base_currency", "Change base currency", "Сменить базовую валюту"),
    ("act_currency", "Currency", "Валюта"),
    ("act_set_password", "Set password", "Задать пароль"),
    ("act_new_password", "New password (at least 8 characters)", "Новый пароль (не менее 8 символов)"),
    ("act_password_again", "New password again", "Новый пароль ещё раз"),
    ("act_passwords_differ", "The two passwords differ.", "Пароли не совпадают."),
    (
        "act_password_short",
        "The password must be at least 8 characters long.",
        "Пароль должен быть не короче 8 символов.",
    ),
    ("act_unlock", "Unlock sign-in", "Разблокировать вход"),
    ("act_enable", "Enable", "Включить"),
    ("act_disable", "Disable", "Отключить"),
    ("record_log", "Log an activity", "Записать действие"),
    ("act_reason", "Reason", "Причина"),
    ("act_activate", "Activate", "Активировать"),
    ("act_deactivate", "Deactivate", "Деактивировать"),
    ("act_assign", "Assign", "Назначить"),
    ("act_owner", "New owner", "Новый ответственный"),
    ("act_share", "Share", "Предоставить доступ"),
    ("act_share_with", "Share with", "Кому"),
    ("act_print", "Print PDF", "Печать PDF"),
    ("act_done", "Done.", "Готово."),
    ("act_unknown", "This action is not available for this record now.", "Это действие сейчас недоступно для записи."),
    ("act_pick_principal", "Choose a user or team.", "Выберите пользователя или рабочую группу."),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/{set}/{id}/act/{action}", post(actions::run))
        .route("/ui/{set}/{id}/pdf", get(actions::pdf))
        .route(
            "/ui/{set}/{id}/notes",
            post(timeline::add_note).layer(DefaultBodyLimit::max(timeline::MAX_UPLOAD_DRAIN)),
        )
        .route("/ui/{set}/{id}/tasks", post(timeline::add_task))
        .route("/ui/{set}/{id}/file", get(timeline::download))
}

#[derive(Serialize)]
struct ShownTab {
    name: String,
    label: String,
    sections: Vec<ShownSection>,
}

#[derive(Serialize)]
struct ShownSection {
    label: String,
    fields: Vec<Field>,
}

#[derive(Serialize)]
struct Field {
    label: String,
    value: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct Subgrid {
    label: String,
    set: String,
    columns: Vec<String>,
    rows: Vec<(Uuid, Vec<String>)>,
    more: bool,
    all: String,
    new: Option<String>,
    /// Sums of the money columns, when all rows are shown.
    totals: Option<Vec<String>>,
}

/// Relationships a subgrid leaves out: ownership, audit and system plumbing.
fn subgrid_worthy(s: &Session<'_, '_, '_>, r: &relata_metadata::OneToMany) -> bool {
    let Some(e) = s.schema.entity(&r.referencing_entity) else { return false };
    !e.def.is_intersect
        && !matches!(
            r.referencing_attribute.as_str(),
            "ownerid"
                | "owninguser"
                | "owningteam"
                | "owningbusinessunit"
                | "createdby"
                | "modifiedby"
                | "createdonbehalfby"
                | "modifiedonbehalfby"
                | "regardingobjectid"
                | "objectid"
                | "transactioncurrencyid"
        )
        && !matches!(
            e.name(),
            "audit"
                | "activitypointer"
                | "activityparty"
                | "annotation"
                | "principalobjectaccess"
                | "userquery"
                | "savedquery"
        )
        && (e.has_privileges() || relata_query::plan::parent_lookup(&s.schema, e).is_some())
        && s.principal.read_scope(e) != Scope::Nothing
}

/// Up to ten related records per one-to-many relationship: document
/// lines first, then the rest by label.
fn subgrids(s: &mut Session<'_, '_, '_>, entity: &Entity, id: Uuid, lang: Lang) -> Result<Vec<Subgrid>, PageError> {
    let lcid = lang.lcid();
    let mut rels: Vec<relata_metadata::OneToMany> =
        s.schema.referencing(entity.name()).filter(|r| subgrid_worthy(s, r)).cloned().collect();
    // A record's own parts first (a document's lines): unowned children
    // read through this record.
    let is_line = |r: &relata_metadata::OneToMany| {
        s.schema.entity(&r.referencing_entity).is_some_and(|child| {
            relata_query::plan::parent_lookup(&s.schema, child)
                .is_some_and(|(attr, _)| attr.name == r.referencing_attribute)
        })
    };
    rels.sort_by_key(|r| (!is_line(r), r.referencing_entity.clone(), r.referencing_attribute.clone()));
    let mut out = Vec::new();
    for r in rels.into_iter().take(8) {
        let Some(target) = s.schema.entity(&r.referencing_entity).cloned() else { continue };
        // The columns and order of the related entity's default view (a
        // document's lines: product, quantity, price, discount, amount).
        let view = super::list::views(s, &target, None, lang)?.1;
        let cols: Vec<String> = view
            .columns
            .iter()
            .filter(|c| *c != &r.referencing_attribute && *c != "modifiedon")
            .take(7)
            .cloned()
            .collect();
        let order = relata_query::fetchxml::parse_in(&view.fetchxml, &s.schema)
            .ok()
            .and_then(|q| q.orders.into_iter().next())
            .map(|(c, desc)| format!("{c} {}", if desc { "desc" } else { "asc" }))
            .unwrap_or_else(|| format!("{} asc", target.property_name(&target.def.primary_name)));
        let q = format!(
            "$select={}&$filter=_{}_value eq {id}&$orderby={order},{} asc",
            cols.join(","),
            r.referencing_attribute,
            target.primary_id()
        );
        let Ok(opts) = parse_query_options(&q) else { continue };
        let page = s.query(target.name(), &opts, Some(10), None)?;
        let names = names_of(s, &page.records)?;
        let currencies = super::list::currencies_of(s, &page.records)?;
        let attrs: Vec<_> = cols.iter().filter_map(|c| target.attribute(c)).collect();
        let rows = page
            .records
            .iter()
            .map(|rec| {
                let cur =
                    rec.get("transactioncurrencyid").and_then(Value::as_ref_value).and_then(|c| currencies.get(&c.id));
                (
                    rec.id,
                    attrs
                        .iter()
                        .map(|a| rec.get(&a.name).map(|v| display_in(s, a, v, lang, &names, cur)).unwrap_or_default())
                        .collect(),
                )
            })
            .collect();
        // Money columns are added up when every row is shown.
        let totals = (page.skiptoken.is_none()
            && !page.records.is_empty()
            && attrs.iter().any(|a| a.kind == AttrKind::Money))
        .then(|| {
            let cur = page
                .records
                .first()
                .and_then(|rec| rec.get("transactioncurrencyid"))
                .and_then(Value::as_ref_value)
                .and_then(|c| currencies.get(&c.id));
            attrs
                .iter()
                .map(|a| {
                    if a.kind != AttrKind::Money {
                        return String::new();
                    }
                    let sum: rust_decimal::Decimal =
                        page.records.iter().filter_map(|rec| rec.get(&a.name).and_then(Value::as_decimal)).sum();
                    display_in(s, a, &Value::Decimal(sum), lang, &names, cur)
                })
                .collect::<Vec<String>>()
        });
        let lookup_label =
            target.attribute(&r.referencing_attribute).map(|a| a.label.text(lcid).to_string()).unwrap_or_default();
        let label = format!("{} ({lookup_label})", target.def.plural_label.text(lcid));
        let set = target.def.entity_set.clone();
        out.push(Subgrid {
            new: super::forms::may_create(s, &target).then(|| {
                format!(
                    "/ui/{set}/new?{}={}:{id}&back=%2Fui%2F{}%2F{id}",
                    r.referencing_attribute,
                    entity.name(),
                    entity.def.entity_set
                )
            }),
            all: format!("/ui/{set}?filter={}%3A{id}", r.referencing_attribute),
            more: page.skiptoken.is_some(),
            totals,
            columns: attrs.iter().map(|a| a.label.text(lcid).to_string()).collect(),
            label,
            set,
            rows,
        });
    }
    // Only subgrids with rows, or those the user may add to.
    out.retain(|g| !g.rows.is_empty() || g.new.is_some());
    Ok(out)
}

pub(super) async fn record(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((set, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query(&format!("/ui/{set}/{id}"), &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let entity = readable_entity(s, &set, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let sh = shell(s, lang, token, Some(entity.name()))?;
        let rec = s.retrieve(entity.name(), id, &Default::default()).map_err(|e| match e {
            EngineError::NotFound(_) => EngineError::not_found(text(lang, "not_found").to_string()),
            other => other,
        })?;
        let names = names_of(s, std::slice::from_ref(&rec))?;
        let currencies = super::list::currencies_of(s, std::slice::from_ref(&rec))?;
        let currency =
            rec.get("transactioncurrencyid").and_then(Value::as_ref_value).and_then(|c| currencies.get(&c.id));
        let can_edit = s.may(&entity, relata_security::Right::Write, id)? && !actions::read_only(&entity, &rec);
        let lcid = lang.lcid();
        let form = super::layout::main_form(s, &entity, lang)?;
        // Sections show the values the record has; an empty section is left out.
        let tabs: Vec<ShownTab> = form
            .tabs
            .iter()
            .map(|tab| ShownTab {
                name: tab.name.clone(),
                label: tab.label.clone(),
                sections: tab
                    .sections
                    .iter()
                    .map(|sec| ShownSection {
                        label: sec.label.clone(),
                        fields: sec
                            .fields
                            .iter()
                            .filter_map(|n| entity.attribute(n))
                            .filter(|a| s.principal.can_read_field(&entity, a))
                            .filter_map(|a| {
                                let v = rec.get(&a.name).filter(|v| !v.is_null())?;
                                let href = v.as_ref_value().and_then(|r| {
                                    let target = s.schema.entity(&r.entity)?;
                                    Some(format!("/ui/{}/{}", target.def.entity_set, r.id))
                                });
                                Some(Field {
                                    label: a.label.text(lcid).to_string(),
                                    value: display_in(s, a, v, lang, &names, currency),
                                    href,
                                })
                            })
                            .collect(),
                    })
                    .filter(|sec| !sec.fields.is_empty())
                    .collect(),
            })
            .filter(|t| !t.sections.is_empty())
            .collect();
        let title = rec
            .get(&entity.def.primary_name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| entity.def.label.text(lcid).to_string());
        let state = entity
            .attribute("statecode")
            .filter(|a| a.kind == AttrKind::State)
            .and_then(|a| rec.get("statecode").map(|v| super::pages::display(s, a, v, lang, &names)));
        let buttons = actions::available(s, &entity, &rec, lang)?;
        // Screens of Settings that belong to this record.
        let more: Option<(String, &str)> = match entity.name() {
            "role" => Some((format!("/ui/settings/roles/{id}"), text(lang, "set_privileges"))),
            "systemuser" => Some((format!("/ui/settings/users/{id}/roles"), text(lang, "set_roles"))),
            "team" => Some((format!("/ui/settings/teams/{id}/members"), text(lang, "set_members"))),
            "organization" => Some(("/ui/settings/organization/logo".to_string(), text(lang, "set_logo"))),
            _ => None,
        };
        let process = super::processes::panel(s, &entity, &rec, lang, &q)?;
        let grids = subgrids(s, &entity, id, lang)?;
        let timeline = timeline::entries(s, &entity, id, lang)?;
        let may_note = timeline::may_add(s, "annotation");
        let log_links = timeline::log_links(s, &entity, id, lang);
        let parties = timeline::parties(s, &entity, id, lang)?;
        let may_task = timeline::may_add(s, "task") && entity.def.is_activity.then_some(()).is_none();
        Ok(render(
            "record.html",
            context! { ..shell_context(&sh), ..context! {
                title => title, set => &set, plural => entity.def.plural_label.text(lcid),
                tabs => minijinja::Value::from(minijinja::value::Serde(&tabs)), q_global => "",
                id => id.to_string(), can_edit => can_edit, state => state,
                actions => minijinja::Value::from(minijinja::value::Serde(&buttons)),
                subgrids => minijinja::Value::from(minijinja::value::Serde(&grids)),
                timeline => minijinja::Value::from(minijinja::value::Serde(&timeline)),
                may_note => may_note, may_task => may_task && timeline::regarding_allowed(&entity),
                log_links => log_links, parties => parties,
                done => q.get("done"), problem => q.get("problem"), more => more,
                note_subject => q.get("note_subject"), note_text => q.get("note_text"),
                max_mb => MAX_ATTACHMENT / (1024 * 1024),
                process => (!process.is_empty()).then(|| minijinja::Value::from(minijinja::value::Serde(&process))),
            }},
        ))
    })
    .await
}
