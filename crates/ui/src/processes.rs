//! The processes designer (`/ui/processes`): workflows, business rules
//! and business process flows built by an administrator with forms, not
//! JSON — and what processes add to the record pages: the stage bar of a
//! record's business process flow, running an on-demand workflow, the log
//! of a workflow's run on its system job's page, and the business rules
//! a create or edit form applies as the user types.
//!
//! Like `email.rs`, this is a module's own screen (the processes
//! module's), so it names that module's entities (`workflow`,
//! `processstage`, `businessprocessflowinstance`, `workflowlog`).
//!
//! The editor is one form. Every button is a submit: Save and Activate
//! write the process through the session (the engine checks the
//! definition and names the place of a mistake, shown on the page); the
//! others (add, remove, move, a changed type or column) show the editor
//! again with the change, so it works without scripts. A little script
//! only submits when a select that shapes the form changes, and keeps the
//! scroll position.

mod design;
pub(crate) mod on_record;
mod view;

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use relata_engine::{Condition, EngineError, RecordInput, Session};
use relata_metadata::{AttrKind, AttributeDef, EntityRef, Schema, Value};
use relata_query::options::{parse_query_options, string_literal};
use relata_security::Scope;
use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;

use super::i18n::{text, Lang, Text};
use super::pages::{shell, shell_context, signed_in, PageError};
use super::{redirect, render};
use crate::AppState;
use design::{Flow, Mistake, Posted, Rule, Types, Workflow};

pub(super) use on_record::{form_rules, panel};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("processes.html", include_str!("templates/processes.html")),
    ("process.html", include_str!("templates/process.html")),
    ("process_bar.html", include_str!("templates/process_bar.html")),
    ("process_log.html", include_str!("templates/process_log.html")),
];

/// `workflow.category`.
const WORKFLOW: i64 = 0;
const BUSINESS_RULE: i64 = 2;
const FLOW: i64 = 4;

pub(super) const TEXT: &[Text] = &[
    ("pr_title", "Processes", "Процессы"),
    ("pr_new_0", "New workflow", "Новый бизнес-процесс"),
    ("pr_new_2", "New business rule", "Новое бизнес-правило"),
    ("pr_new_4", "New business process flow", "Новая последовательность операций"),
    ("pr_name", "Name", "Название"),
    ("pr_category", "Type", "Тип"),
    ("pr_entity", "Table", "Таблица"),
    ("pr_state", "Status", "Состояние"),
    ("pr_none", "No processes yet.", "Процессов пока нет."),
    ("pr_description", "Description", "Описание"),
    ("pr_activate", "Activate", "Активировать"),
    ("pr_deactivate", "Deactivate", "Деактивировать"),
    ("pr_saved", "Saved.", "Сохранено."),
    ("pr_activated", "Activated.", "Активировано."),
    ("pr_deactivated", "Deactivated: it can be changed now.", "Деактивировано: теперь его можно изменить."),
    (
        "pr_locked",
        "This process is activated. Deactivate it to change it.",
        "Процесс активирован. Деактивируйте его, чтобы изменить.",
    ),
    (
        "pr_flow_active",
        "This flow is activated: changes apply to the records walking through it at once.",
        "Последовательность активирована: изменения сразу действуют для записей, которые по ней идут.",
    ),
    (
        "pr_forbidden",
        "You may not design processes (the Create privilege on processes).",
        "Вам не разрешено создавать процессы (привилегия «Создание» для процессов).",
    ),
    ("pr_triggers", "Start when", "Запускать, когда"),
    ("pr_options", "How it runs", "Как выполняется"),
    ("pr_sched_none", "No schedule", "Без расписания"),
    ("pr_sched_daily", "Every day", "Каждый день"),
    ("pr_sched_weekly", "Every week on a day", "Каждую неделю в выбранный день"),
    ("pr_sched_hourly", "Every few hours", "Каждые несколько часов"),
    ("pr_sched_custom", "Other (a recurrence rule)", "Другое (правило повторения)"),
    ("pr_day", "Day", "День"),
    ("pr_hours", "Hours between runs", "Часов между запусками"),
    ("pr_start", "First run", "Первый запуск"),
    ("pr_pattern", "Recurrence rule", "Правило повторения"),
    ("pr_day_MO", "Monday", "понедельник"),
    ("pr_day_TU", "Tuesday", "вторник"),
    ("pr_day_WE", "Wednesday", "среда"),
    ("pr_day_TH", "Thursday", "четверг"),
    ("pr_day_FR", "Friday", "пятница"),
    ("pr_day_SA", "Saturday", "суббота"),
    ("pr_day_SU", "Sunday", "воскресенье"),
    ("pr_condition", "Run only when", "Выполнять, только если"),
    ("pr_rule_condition", "When", "Когда"),
    ("pr_join", "Join", "Объединение"),
    ("pr_join_all", "all of these are true", "выполнены все условия"),
    ("pr_join_any", "any of these is true", "выполнено любое условие"),
    ("pr_no_condition", "No condition: always.", "Без условия: всегда."),
    ("pr_add_condition", "Add condition", "Добавить условие"),
    ("pr_raw_condition", "This condition is kept as JSON.", "Это условие хранится как JSON."),
    ("pr_new_condition", "Replace with a new condition", "Заменить новым условием"),
    ("pr_remove", "Remove", "Удалить"),
    ("pr_up", "Move up", "Выше"),
    ("pr_down", "Move down", "Ниже"),
    ("pr_column", "Column", "Столбец"),
    ("pr_operator", "Operator", "Оператор"),
    ("pr_value", "Value", "Значение"),
    ("pr_op_eq", "equals", "равно"),
    ("pr_op_ne", "does not equal", "не равно"),
    ("pr_op_gt", "is greater than", "больше"),
    ("pr_op_ge", "is at least", "не меньше"),
    ("pr_op_lt", "is less than", "меньше"),
    ("pr_op_le", "is at most", "не больше"),
    ("pr_op_null", "is empty", "пусто"),
    ("pr_op_notnull", "has a value", "заполнено"),
    ("pr_op_contains", "contains", "содержит"),
    ("pr_op_notcontains", "does not contain", "не содержит"),
    ("pr_op_beginswith", "begins with", "начинается с"),
    ("pr_op_endswith", "ends with", "заканчивается на"),
    ("pr_op_in", "is one of", "одно из"),
    ("pr_op_notin", "is none of", "ни одно из"),
    ("pr_op_olderthan", "is older than (days)", "старше (дней)"),
    ("pr_op_newerthan", "is within the last (days)", "в пределах последних (дней)"),
    ("pr_op_changed", "was changed", "изменено"),
    ("pr_in_hint", "Values separated by commas", "Значения через запятую"),
    ("pr_multi_hint", "Hold Ctrl (⌘ on a Mac) to choose several.", "Удерживайте Ctrl (⌘ на Mac), чтобы выбрать несколько."),
    ("pr_days", "Days", "Дней"),
    ("pr_steps", "Steps", "Шаги"),
    ("pr_no_steps", "No steps yet.", "Шагов пока нет."),
    ("pr_add_step", "Add step", "Добавить шаг"),
    ("pr_new_step", "New step", "Новый шаг"),
    ("pr_step_type", "Step", "Шаг"),
    ("pr_step_name", "Step name (shown in the log)", "Название шага (для журнала)"),
    ("pr_t_create", "Create a record", "Создать запись"),
    ("pr_t_update", "Update a record", "Обновить запись"),
    ("pr_t_assign", "Assign", "Назначить"),
    ("pr_t_setstate", "Change status", "Изменить состояние"),
    ("pr_t_sendemail", "Send an email", "Отправить письмо"),
    ("pr_t_notify", "Notify a user", "Уведомить пользователя"),
    ("pr_t_wait", "Wait", "Ожидать"),
    ("pr_t_if", "If… then… otherwise", "Если… то… иначе"),
    ("pr_t_childworkflow", "Start a child workflow", "Запустить дочерний процесс"),
    ("pr_t_webhook", "Call a webhook", "Вызвать веб-перехватчик"),
    ("pr_t_sendmessage", "Send a message", "Отправить сообщение"),
    ("pr_t_stop", "Stop", "Остановить"),
    ("pr_t_raw", "Step kept as JSON", "Шаг, хранимый как JSON"),
    ("pr_target", "Record", "Запись"),
    ("pr_the_record", "The record itself", "Сама запись"),
    ("pr_related", "Related: {label}", "Связанная: {label}"),
    ("pr_new_entity", "Table of the new record", "Таблица новой записи"),
    ("pr_values", "Values", "Значения"),
    ("pr_add_value", "Add value", "Добавить значение"),
    ("pr_vk", "Value from", "Откуда значение"),
    ("pr_vk_text", "typed here", "ввести здесь"),
    ("pr_vk_field", "a column of the record", "столбец записи"),
    ("pr_vk_record", "the record itself", "сама запись"),
    ("pr_vk_now", "now plus days", "сейчас плюс дни"),
    ("pr_vk_hint", "Text may use {{ record.name }}", "В тексте можно использовать {{ record.name }}"),
    ("pr_owner_kind", "New owner", "Новый ответственный"),
    ("pr_owner_field", "from a column of the record", "из столбца записи"),
    ("pr_owner_user", "a chosen user or team", "выбранный пользователь или группа"),
    ("pr_owner", "Owner", "Ответственный"),
    ("pr_state_to", "Status", "Состояние"),
    ("pr_status_reason", "Status reason", "Причина состояния"),
    ("pr_default", "(default)", "(по умолчанию)"),
    ("pr_template", "Email template", "Шаблон письма"),
    ("pr_recipient", "Recipient (a column of the record)", "Получатель (столбец записи)"),
    ("pr_title_field", "Title", "Заголовок"),
    ("pr_body", "Text", "Текст"),
    ("pr_priority", "Priority", "Приоритет"),
    ("pr_normal", "Normal", "Обычный"),
    ("pr_high", "High", "Высокий"),
    ("pr_wait_kind", "Wait", "Ожидать"),
    ("pr_wait_for", "for a time", "в течение времени"),
    ("pr_wait_until", "until a condition holds", "пока не выполнится условие"),
    ("pr_amount", "How long", "Сколько"),
    ("pr_unit", "Unit", "Единица"),
    ("pr_unit_minutes", "minutes", "минут"),
    ("pr_unit_hours", "hours", "часов"),
    ("pr_unit_days", "days", "дней"),
    ("pr_until", "Until", "Пока не"),
    ("pr_timeout", "Give up after (days, optional)", "Прекратить через (дней, необязательно)"),
    ("pr_then", "Then", "То"),
    ("pr_else", "Otherwise", "Иначе"),
    ("pr_child", "Child workflow", "Дочерний процесс"),
    ("pr_url", "URL", "Адрес (URL)"),
    ("pr_headers", "Headers, one per line: Name: value", "Заголовки, по одному в строке: Имя: значение"),
    ("pr_channel", "Message channel", "Канал сообщений"),
    ("pr_outcome", "End as", "Завершить как"),
    ("pr_succeeded", "succeeded", "успешно"),
    ("pr_canceled", "canceled (a real-time workflow refuses the change)", "отменено (процесс в реальном времени отклоняет изменение)"),
    ("pr_message", "Message", "Сообщение"),
    ("pr_raw", "Kept as JSON: the designer has no form for it.", "Хранится как JSON: у конструктора нет для этого формы."),
    ("pr_json", "Definition as JSON", "Определение в JSON"),
    ("pr_json_hint", "Read-only: what the designer saves.", "Только для чтения: то, что сохраняет конструктор."),
    ("pr_update", "Update the form", "Обновить форму"),
    ("pr_choose", "— choose —", "— выберите —"),
    ("pr_yes", "Yes", "Да"),
    ("pr_no", "No", "Нет"),
    ("pr_bad_days", "enter a whole number of days", "введите целое число дней"),
    ("pr_bad_amount", "enter a whole number", "введите целое число"),
    ("pr_bad_header", "a header is written as Name: value", "заголовок записывается как Имя: значение"),
    ("pr_bad_json", "the JSON is not valid", "JSON некорректен"),
    ("pr_pick_column", "choose a column", "выберите столбец"),
    ("pr_bad_whole", "“{value}” is not a whole number", "«{value}» — не целое число"),
    ("pr_bad_number", "“{value}” is not a number", "«{value}» — не число"),
    ("pr_bad_bool", "“{value}” is not yes or no", "«{value}» — не «да» или «нет»"),
    ("pr_bad_date", "“{value}” is not a date", "«{value}» — не дата"),
    ("pr_actions_then", "When the condition holds", "Если условие выполнено"),
    ("pr_actions_else", "Otherwise", "Иначе"),
    ("pr_no_actions", "No actions.", "Действий нет."),
    ("pr_add_action", "Add action", "Добавить действие"),
    ("pr_action", "Action", "Действие"),
    ("pr_a_show", "Show the field", "Показать поле"),
    ("pr_a_hide", "Hide the field", "Скрыть поле"),
    ("pr_a_lock", "Lock the field", "Заблокировать поле"),
    ("pr_a_unlock", "Unlock the field", "Разблокировать поле"),
    ("pr_a_required", "Make it required", "Сделать обязательным"),
    ("pr_a_recommended", "Make it recommended", "Сделать рекомендуемым"),
    ("pr_a_setvalue", "Set its value", "Задать значение"),
    ("pr_a_setdefault", "Set its default value", "Задать значение по умолчанию"),
    ("pr_a_error", "Show an error message", "Показать сообщение об ошибке"),
    ("pr_a_raw", "Action kept as JSON", "Действие, хранимое как JSON"),
    (
        "pr_rule_note",
        "Required, set value, default and error are also enforced on every save, by the Web API and imports too; show, hide, lock and recommended shape the form.",
        "Обязательность, значения, значения по умолчанию и ошибки проверяются при каждом сохранении, в том числе через Web API и импорт; показ, скрытие, блокировка и рекомендации влияют на форму.",
    ),
    ("pr_stages", "Stages", "Стадии"),
    ("pr_add_stage", "Add stage", "Добавить стадию"),
    ("pr_stage", "Stage {n}", "Стадия {n}"),
    ("pr_stage_name", "Stage name", "Название стадии"),
    ("pr_stage_entity", "Table of the stage", "Таблица стадии"),
    ("pr_same_table", "The process's table", "Таблица процесса"),
    ("pr_required_cols", "Required columns", "Обязательные столбцы"),
    ("pr_required_hint", "Filled before the record moves on.", "Заполняются до перехода на следующую стадию."),
    ("pr_no_stages", "Add at least one stage before activating the flow.", "Добавьте хотя бы одну стадию перед активацией."),
    (
        "pr_flow_note",
        "New records of the first stage's table start at the first stage.",
        "Новые записи таблицы первой стадии начинают с первой стадии.",
    ),
    ("pr_bar", "Business process", "Бизнес-процесс"),
    ("pr_in_stage", "In this stage for {time}", "На этой стадии {time}"),
    ("pr_next", "Next stage", "Следующая стадия"),
    ("pr_prev", "Previous stage", "Предыдущая стадия"),
    ("pr_finish", "Finish", "Завершить"),
    ("pr_moved", "Moved to the stage “{stage}”.", "Запись перешла на стадию «{stage}»."),
    ("pr_finished", "The business process is finished.", "Бизнес-процесс завершён."),
    ("pr_filled", "filled", "заполнено"),
    ("pr_to_fill", "to fill in", "нужно заполнить"),
    ("pr_current", "current stage", "текущая стадия"),
    ("pr_passed", "passed", "пройдена"),
    ("pr_less_minute", "less than a minute", "меньше минуты"),
    ("pr_run_workflow", "Run workflow", "Запустить процесс"),
    ("pr_workflow", "Workflow", "Бизнес-процесс"),
    ("pr_started", "The workflow was started as a system job.", "Процесс запущен как системное задание."),
    ("pr_open_job", "Open the system job", "Открыть системное задание"),
    ("pr_log", "Process log", "Журнал процесса"),
    ("pr_log_step", "Step", "Шаг"),
    ("pr_log_status", "Status", "Состояние"),
    ("pr_log_message", "Message", "Сообщение"),
    ("pr_log_details", "Details", "Подробности"),
    ("pr_log_empty", "No steps ran.", "Шаги не выполнялись."),
    ("pr_inputs", "Step", "Шаг"),
    ("pr_result", "Result", "Результат"),
    ("pr_chosen", "Chosen: {list}", "Выбрано: {list}"),
    ("pr_open_designer", "Open in the designer", "Открыть в конструкторе"),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/processes", get(list))
        .route("/ui/processes/new", get(new_page).post(post_new))
        .route("/ui/processes/{id}", get(edit_page).post(post_existing))
        .route("/ui/{set}/{id}/stage", post(on_record::move_stage))
        .route("/ui/{set}/{id}/run-workflow", post(on_record::run_workflow))
}

/// May the user design processes: create `workflow` records.
pub(super) fn may_design(s: &Session<'_, '_, '_>) -> bool {
    // The designer is the processes module's screen: without the module,
    // `workflow` has none of the columns it edits.
    s.schema.entity("workflow").is_some_and(|e| e.attribute("clientdata").is_some() && super::forms::may_create(s, e))
}

fn gate(s: &Session<'_, '_, '_>, lang: Lang) -> Result<(), PageError> {
    if may_design(s) {
        Ok(())
    } else {
        Err(EngineError::forbidden(text(lang, "pr_forbidden").to_string()).into())
    }
}

fn query(
    s: &mut Session<'_, '_, '_>,
    entity: &str,
    q: &str,
    top: usize,
) -> Result<Vec<relata_query::Record>, PageError> {
    let opts = parse_query_options(q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok(s.query(entity, &opts, Some(top), None)?.records)
}

fn readable(s: &Session<'_, '_, '_>, entity: &str) -> bool {
    s.schema.entity(entity).is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing)
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

/// The label of an option of a column of `workflow`.
fn option_label(s: &Session<'_, '_, '_>, column: &str, value: i64, lang: Lang) -> String {
    s.schema
        .entity("workflow")
        .and_then(|e| e.attribute(column))
        .and_then(|a| s.schema.option_label(a, value as i32))
        .map(|l| l.text(lang.lcid()).to_string())
        .unwrap_or_else(|| value.to_string())
}

fn entity_label(schema: &Schema, name: &str, lang: Lang) -> String {
    schema.entity(name).map(|e| e.def.label.text(lang.lcid()).to_string()).unwrap_or_else(|| name.to_string())
}

// ----- the list -------------------------------------------------------------------

#[derive(Serialize)]
struct Listed {
    id: Uuid,
    name: String,
    category: String,
    entity: String,
    state: String,
    active: bool,
}

async fn list(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    signed_in(&st, &headers, "/ui/processes", q.get("lang").cloned(), false, move |s, lang, token| {
        gate(s, lang)?;
        let rows = query(
            s,
            "workflow",
            "$select=name,category,primaryentity,statecode&$filter=category eq 0 or category eq 2 or category eq 4&$orderby=category,name",
            1000,
        )?;
        let listed: Vec<Listed> = rows
            .iter()
            .map(|r| {
                let cat = r.get("category").and_then(Value::as_i64).unwrap_or(0);
                let state = r.get("statecode").and_then(Value::as_i64).unwrap_or(0);
                Listed {
                    id: r.id,
                    name: r.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                    category: option_label(s, "category", cat, lang),
                    entity: entity_label(&s.schema, r.get("primaryentity").and_then(Value::as_str).unwrap_or(""), lang),
                    state: option_label(s, "statecode", state, lang),
                    active: state == 1,
                }
            })
            .collect();
        let sh = shell(s, lang, token, None)?;
        Ok(render(
            "processes.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", rows => minijinja::Value::from(minijinja::value::Serde(&listed)),
            }},
        ))
    })
    .await
}

// ----- the editor -------------------------------------------------------------------

/// The process being edited, as its category's model.
enum Model {
    Workflow(Workflow),
    Rule(Rule),
    Flow(Flow),
}

impl Model {
    fn category(&self) -> i64 {
        match self {
            Model::Workflow(_) => WORKFLOW,
            Model::Rule(_) => BUSINESS_RULE,
            Model::Flow(_) => FLOW,
        }
    }
    fn entity(&self) -> &str {
        match self {
            Model::Workflow(w) => &w.entity,
            Model::Rule(r) => &r.entity,
            Model::Flow(f) => &f.entity,
        }
    }
    fn name(&self) -> &str {
        match self {
            Model::Workflow(w) => &w.name,
            Model::Rule(r) => &r.name,
            Model::Flow(f) => &f.name,
        }
    }
    fn description(&self) -> &str {
        match self {
            Model::Workflow(w) => &w.description,
            Model::Rule(r) => &r.description,
            Model::Flow(f) => &f.description,
        }
    }
    fn from_form(category: i64, p: &Posted) -> Model {
        match category {
            BUSINESS_RULE => Model::Rule(Rule::from_form(p)),
            FLOW => Model::Flow(Flow::from_form(p)),
            _ => Model::Workflow(Workflow::from_form(p)),
        }
    }
    fn blank(category: i64, entity: &str) -> Model {
        match category {
            BUSINESS_RULE => Model::Rule(Rule::new(entity)),
            FLOW => {
                let stage = design::Stage { entity: entity.into(), ..Default::default() };
                Model::Flow(Flow { entity: entity.into(), stages: vec![stage], ..Default::default() })
            }
            _ => Model::Workflow(Workflow::new(entity)),
        }
    }
}

/// A stored process: its id, state and the model of its editor.
struct Stored {
    state: i64,
    model: Model,
}

fn load(s: &mut Session<'_, '_, '_>, id: Uuid, lang: Lang) -> Result<Stored, PageError> {
    let not_found = || EngineError::not_found(text(lang, "not_found").to_string());
    let rec = s.retrieve("workflow", id, &Default::default()).map_err(|e| match e {
        EngineError::NotFound(_) => not_found(),
        other => other,
    })?;
    let str_of = |k: &str| rec.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let int_of = |k: &str, d: i64| rec.get(k).and_then(Value::as_i64).unwrap_or(d);
    let flag = |k: &str| rec.get(k).and_then(Value::as_bool).unwrap_or(false);
    let category = int_of("category", 0);
    let entity = str_of("primaryentity");
    let definition: Option<Json> = serde_json::from_str(&str_of("clientdata")).ok();
    let model = match category {
        WORKFLOW => {
            let mut w = Workflow::new(&entity);
            w.name = str_of("name");
            w.description = str_of("description");
            w.mode = int_of("mode", 0).to_string();
            w.scope = int_of("scope", 1).to_string();
            w.runas = int_of("runas", 1).to_string();
            w.on_create = flag("triggeroncreate");
            w.on_delete = flag("triggerondelete");
            w.on_demand = flag("ondemand");
            w.subprocess = flag("subprocess");
            w.on_update = str_of("triggeronupdateattributelist")
                .split(',')
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty())
                .collect();
            let pattern = str_of("relata_schedule");
            let (kind, day, hours) = design::schedule_parts(&pattern);
            w.schedule = kind;
            if !day.is_empty() {
                w.day = day;
            }
            if !hours.is_empty() {
                w.hours = hours;
            }
            w.pattern = pattern;
            w.start = rec
                .get("relata_schedulestart")
                .and_then(Value::as_datetime)
                .map(|d| super::zone::to_local(d).format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default();
            w.read_definition(definition.as_ref());
            Model::Workflow(w)
        }
        BUSINESS_RULE => {
            let mut r = Rule::new(&entity);
            r.name = str_of("name");
            r.description = str_of("description");
            r.read_definition(definition.as_ref());
            Model::Rule(r)
        }
        FLOW => {
            let stages = query(
                s,
                "processstage",
                &format!(
                    "$select=stagename,primaryentitytypecode,relata_requiredfields,relata_stageorder&$filter=_processid_value eq {id}&$orderby=relata_stageorder,stagename"
                ),
                200,
            )?;
            let stages = stages
                .iter()
                .map(|st| design::Stage {
                    id: st.id.to_string(),
                    name: st.get("stagename").and_then(Value::as_str).unwrap_or("").to_string(),
                    entity: relata_engine::stage_entity(st.get("primaryentitytypecode"), &entity),
                    required: relata_engine::stage_required_columns(st.get("relata_requiredfields")),
                })
                .collect();
            Model::Flow(Flow { name: str_of("name"), entity, description: str_of("description"), stages })
        }
        _ => return Err(not_found().into()),
    };
    Ok(Stored { state: int_of("statecode", 0), model })
}

/// What the editor page shows besides the model.
#[derive(Default)]
struct Shown {
    id: Option<Uuid>,
    state: i64,
    done: Option<String>,
    problem: Option<String>,
}

fn editor(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    model: &Model,
    shown: Shown,
) -> Result<Response, PageError> {
    let locked = shown.state == 1 && model.category() != FLOW;
    // The definition as the designer would save it, for power users.
    let json = {
        let mut types = Typer { s: &mut *s, lang };
        let def = match model {
            Model::Workflow(w) => Some(w.definition(&mut types)),
            Model::Rule(r) => Some(r.definition(&mut types)),
            Model::Flow(_) => None,
        };
        def.map(|d| match d {
            Ok(j) => serde_json::to_string_pretty(&j).unwrap_or_default(),
            Err(m) => m.text(),
        })
    };
    let at = shown.problem.as_deref().and_then(view::place_of);
    let page = view::page(s, lang, model, shown.id.is_some(), at.as_deref(), shown.problem.as_deref())?;
    let sh = shell(s, lang, token, None)?;
    let status = if shown.problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let action = match shown.id {
        Some(id) => format!("/ui/processes/{id}"),
        None => "/ui/processes/new".to_string(),
    };
    let category = model.category();
    let title = match (shown.id, model.name().trim()) {
        (None, _) => text(lang, &format!("pr_new_{category}")).to_string(),
        (Some(_), "") => option_label(s, "category", category, lang),
        (Some(_), name) => name.to_string(),
    };
    Ok(with_status(
        render(
            "process.html",
            context! { ..shell_context(&sh), ..context! {
                q_global => "", title => title, action => action, id => shown.id.map(|i| i.to_string()),
                category => category, category_label => option_label(s, "category", category, lang),
                state => shown.state, state_label => option_label(s, "statecode", shown.state, lang),
                locked => locked, done => shown.done, problem => shown.problem, json => json,
                page => minijinja::Value::from(minijinja::value::Serde(&page)),
            }},
        ),
        status,
    ))
}

async fn new_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    signed_in(&st, &headers, "/ui/processes/new", q.get("lang").cloned(), false, move |s, lang, token| {
        gate(s, lang)?;
        let category = q.get("category").and_then(|c| c.parse().ok()).unwrap_or(WORKFLOW);
        let entity = q.get("entity").cloned().unwrap_or_default();
        editor(s, lang, token, &Model::blank(category, &entity), Shown::default())
    })
    .await
}

async fn edit_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/ui/processes/{id}");
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        gate(s, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let stored = load(s, id, lang)?;
        let done = q.get("done").map(|d| match d.as_str() {
            "activated" => text(lang, "pr_activated").to_string(),
            "deactivated" => text(lang, "pr_deactivated").to_string(),
            _ => text(lang, "pr_saved").to_string(),
        });
        let shown = Shown { id: Some(id), state: stored.state, done, problem: None };
        editor(s, lang, token, &stored.model, shown)
    })
    .await
}

/// The posted form with every value of repeated names (multi-selects),
/// after its CSRF value was checked.
async fn posted(req: Request) -> Result<(HeaderMap, Posted), Response> {
    super::forms::posted_pairs(req).await.map(|(h, pairs)| (h, Posted(pairs)))
}

async fn post_new(State(st): State<AppState>, req: Request) -> Response {
    let (headers, form) = match posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    signed_in(&st, &headers, "/ui/processes/new", None, true, move |s, lang, token| {
        gate(s, lang)?;
        let category = form.get("category").parse().unwrap_or(WORKFLOW);
        handle(s, lang, token, None, category, 0, form)
    })
    .await
}

async fn post_existing(State(st): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (headers, form) = match posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/processes/{id}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, token| {
        gate(s, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        let stored = load(s, id, lang)?;
        let category = stored.model.category();
        if form.get("op") == "deactivate" {
            set_state(s, id, 0)?;
            return Ok(redirect(&format!("/ui/processes/{id}?done=deactivated")));
        }
        // An activated workflow or rule is not edited: only deactivated.
        if stored.state == 1 && category != FLOW {
            return Ok(redirect(&format!("/ui/processes/{id}")));
        }
        let entity = stored.model.entity().to_string();
        let mut form = form;
        // The table of a saved process does not change.
        form.0.retain(|(k, _)| k != "entity");
        form.0.push(("entity".into(), entity));
        handle(s, lang, token, Some(id), category, stored.state, form)
    })
    .await
}

fn set_state(s: &mut Session<'_, '_, '_>, id: Uuid, state: i64) -> Result<(), EngineError> {
    let fields = vec![("statecode".to_string(), Value::Int(state)), ("statuscode".to_string(), Value::Int(state + 1))];
    s.update("workflow", id, RecordInput::new(fields), Condition::default(), false).map(|_| ())
}

/// A button of the editor: Save and Activate write the process; the
/// others show the editor again with their change.
fn handle(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    token: &str,
    id: Option<Uuid>,
    category: i64,
    state: i64,
    form: Posted,
) -> Result<Response, PageError> {
    let op = form.get("op").to_string();
    let mut model = Model::from_form(category, &form);
    let shown = |problem: Option<String>| Shown { id, state, done: None, problem };
    if !matches!(op.as_str(), "save" | "activate") {
        match &mut model {
            Model::Workflow(w) => w.apply(&op, &form),
            Model::Rule(r) => r.apply(&op, &form),
            Model::Flow(f) => f.apply(&op),
        }
        return editor(s, lang, token, &model, shown(None));
    }
    let activate = op == "activate";
    if let (Model::Flow(f), true) = (&model, activate) {
        if f.stages.is_empty() {
            return editor(s, lang, token, &model, shown(Some(text(lang, "pr_no_stages").to_string())));
        }
    }
    let written = write(s, lang, id, &model).and_then(|saved| {
        if activate && state != 1 {
            set_state(s, saved, 1).map_err(|e| Problem::Engine(super::localized(e, lang)))?;
        }
        Ok(saved)
    });
    match written {
        Ok(saved) => {
            let done = if activate { "activated" } else { "saved" };
            Ok(redirect(&format!("/ui/processes/{saved}?done={done}")))
        }
        // The designer's own reading of a typed value.
        Err(Problem::Mistake(m)) => editor(s, lang, token, &model, shown(Some(m.text()))),
        // The engine's refusal: the page is shown after the rollback.
        Err(Problem::Engine(e)) => match e.invalid_message(lang.code()) {
            Some(m) => Err(PageError::Shown(Box::new(editor(s, lang, token, &model, shown(Some(m)))?))),
            None => match e {
                EngineError::Conflict(m) | EngineError::PreconditionFailed(m) => {
                    Err(PageError::Shown(Box::new(editor(s, lang, token, &model, shown(Some(m)))?)))
                }
                EngineError::Forbidden(m) | EngineError::NotFound(m) => {
                    Err(PageError::Shown(Box::new(editor(s, lang, token, &model, shown(Some(m.text)))?)))
                }
                other => Err(other.into()),
            },
        },
        Err(Problem::Page(p)) => Err(p),
    }
}

enum Problem {
    Mistake(Mistake),
    Engine(EngineError),
    Page(PageError),
}

impl From<PageError> for Problem {
    fn from(p: PageError) -> Problem {
        match p {
            PageError::Engine(e) => Problem::Engine(e),
            other => Problem::Page(other),
        }
    }
}

/// Writes the process (and a flow's stages); answers its id.
fn write(s: &mut Session<'_, '_, '_>, lang: Lang, id: Option<Uuid>, model: &Model) -> Result<Uuid, Problem> {
    let opt_text = |t: &str| {
        if t.trim().is_empty() {
            Value::Null
        } else {
            Value::String(t.trim().to_string())
        }
    };
    let mut fields: Vec<(String, Value)> =
        vec![("name".into(), opt_text(model.name())), ("description".into(), opt_text(model.description()))];
    let definition = {
        let mut types = Typer { s: &mut *s, lang };
        match model {
            Model::Workflow(w) => Some(w.definition(&mut types).map_err(Problem::Mistake)?),
            Model::Rule(r) => Some(r.definition(&mut types).map_err(Problem::Mistake)?),
            Model::Flow(_) => None,
        }
    };
    if let Some(d) = definition {
        fields.push(("clientdata".into(), Value::String(d.to_string())));
    }
    if let Model::Workflow(w) = model {
        let int = |v: &str, d: i64| Value::Int(v.trim().parse().unwrap_or(d));
        fields.extend([
            ("mode".to_string(), int(&w.mode, 0)),
            ("scope".to_string(), int(&w.scope, 1)),
            ("runas".to_string(), int(&w.runas, 1)),
            ("ondemand".to_string(), Value::Bool(w.on_demand)),
            ("subprocess".to_string(), Value::Bool(w.subprocess)),
            ("triggeroncreate".to_string(), Value::Bool(w.on_create)),
            ("triggerondelete".to_string(), Value::Bool(w.on_delete)),
            ("triggeronupdateattributelist".to_string(), opt_text(&w.on_update.join(","))),
            ("relata_schedule".to_string(), opt_text(&w.pattern())),
        ]);
        let start = match (w.schedule.as_str(), super::zone::parse_minute(w.start.trim())) {
            ("none", _) | (_, None) => Value::Null,
            (_, Some(local)) => Value::DateTime(super::zone::from_local(local)),
        };
        fields.push(("relata_schedulestart".into(), start));
    }
    let saved = match id {
        Some(id) => {
            s.update("workflow", id, RecordInput::new(fields), Condition::default(), false)
                .map_err(|e| Problem::Engine(super::localized(e, lang)))?;
            id
        }
        None => {
            fields.push(("category".into(), Value::Int(model.category())));
            fields.push(("primaryentity".into(), Value::String(model.entity().to_string())));
            s.create("workflow", RecordInput::new(fields)).map_err(|e| Problem::Engine(super::localized(e, lang)))?
        }
    };
    if let Model::Flow(f) = model {
        write_stages(s, lang, saved, f)?;
    }
    Ok(saved)
}

/// A flow's stages: rows updated in place, new ones created, the rest
/// removed; their order is their place in the editor.
fn write_stages(s: &mut Session<'_, '_, '_>, lang: Lang, process: Uuid, f: &Flow) -> Result<(), Problem> {
    let engine = |e: EngineError| Problem::Engine(super::localized(e, lang));
    let existing: Vec<Uuid> =
        query(s, "processstage", &format!("$select=stagename&$filter=_processid_value eq {process}"), 500)?
            .iter()
            .map(|r| r.id)
            .collect();
    let kept: Vec<Uuid> = f.stages.iter().filter_map(|st| st.id.parse().ok()).collect();
    for gone in existing.iter().filter(|id| !kept.contains(id)) {
        s.delete("processstage", *gone, None).map_err(engine)?;
    }
    for (i, st) in f.stages.iter().enumerate() {
        let entity = if st.entity.is_empty() { f.entity.clone() } else { st.entity.clone() };
        let mut fields = vec![
            ("stagename".to_string(), Value::String(st.name.trim().to_string())),
            ("primaryentitytypecode".to_string(), Value::String(entity)),
            ("relata_stageorder".to_string(), Value::Int(i as i64 + 1)),
            ("relata_requiredfields".to_string(), Value::String(st.required.join(","))),
        ];
        match st.id.parse::<Uuid>().ok().filter(|id| existing.contains(id)) {
            Some(id) => {
                s.update("processstage", id, RecordInput::new(fields), Condition::default(), false).map_err(engine)?;
            }
            None => {
                fields.push(("processid".into(), Value::Ref(EntityRef { entity: "workflow".into(), id: process })));
                s.create("processstage", RecordInput::new(fields)).map_err(engine)?;
            }
        }
    }
    Ok(())
}

// ----- typed values ---------------------------------------------------------------

/// The column at a path of `entity` (following single-target lookups).
pub(super) fn column_at(schema: &Schema, entity: &str, path: &str) -> Option<AttributeDef> {
    let mut current = entity.to_string();
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let a = schema.entity(&current)?.attribute(part)?.clone();
        if i + 1 == parts.len() {
            return Some(a);
        }
        match a.targets.as_slice() {
            [t] => current = t.entity.clone(),
            _ => return None,
        }
    }
    None
}

/// Reads typed values for the definition with the session (a lookup
/// typed as a name is found by it).
pub(super) struct Typer<'a, 'o, 't, 'c> {
    pub s: &'a mut Session<'o, 't, 'c>,
    pub lang: Lang,
}

impl Types for Typer<'_, '_, '_, '_> {
    fn literal(&mut self, entity: &str, column: &str, raw: &str) -> Result<Json, String> {
        let raw = raw.trim();
        let lang = self.lang;
        let Some(a) = column_at(&self.s.schema, entity, column) else {
            return Ok(if raw.is_empty() { Json::Null } else { Json::String(raw.into()) });
        };
        let say = |key: &str| text(lang, key).replace("{value}", raw);
        if raw.is_empty() {
            return Ok(match a.kind {
                AttrKind::String | AttrKind::Memo => Json::String(String::new()),
                _ => Json::Null,
            });
        }
        let number = || relata_print::format::parse_number(raw, relata_print::format::Lang::from_lcid(lang.lcid()));
        Ok(match a.kind {
            k if k.is_option() || matches!(k, AttrKind::Integer | AttrKind::BigInt) => number()
                .filter(|d| d.fract().is_zero())
                .and_then(|d| i64::try_from(d).ok())
                .map(Json::from)
                .ok_or_else(|| say("pr_bad_whole"))?,
            AttrKind::Boolean => match raw.to_lowercase().as_str() {
                "true" | "1" | "yes" | "да" => Json::Bool(true),
                "false" | "0" | "no" | "нет" => Json::Bool(false),
                _ => return Err(say("pr_bad_bool")),
            },
            AttrKind::Money | AttrKind::Decimal => {
                number().map(|d| Json::String(d.normalize().to_string())).ok_or_else(|| say("pr_bad_number"))?
            }
            AttrKind::Double => number()
                .and_then(|d| d.to_string().parse::<f64>().ok())
                .and_then(serde_json::Number::from_f64)
                .map(Json::Number)
                .ok_or_else(|| say("pr_bad_number"))?,
            AttrKind::DateTime => {
                super::zone::parse_day(raw).map(|d| Json::String(d.to_string())).ok_or_else(|| say("pr_bad_date"))?
            }
            k if k.is_lookup() => Json::String(self.lookup(&a, raw)?),
            _ => Json::String(raw.to_string()),
        })
    }

    fn is_text(&self, entity: &str, column: &str) -> bool {
        column_at(&self.s.schema, entity, column).is_some_and(|a| matches!(a.kind, AttrKind::String | AttrKind::Memo))
    }

    fn target(&self, entity: &str, target: &str) -> String {
        if target.is_empty() || target == "record" {
            return entity.to_string();
        }
        match column_at(&self.s.schema, entity, target).map(|a| a.targets) {
            Some(t) if t.len() == 1 => t[0].entity.clone(),
            _ => entity.to_string(),
        }
    }

    fn say(&self, key: &str) -> String {
        text(self.lang, key).to_string()
    }
}

impl Typer<'_, '_, '_, '_> {
    /// A lookup's value: `entity:id` as given, or the one record of its
    /// targets named exactly so.
    fn lookup(&mut self, a: &AttributeDef, raw: &str) -> Result<String, String> {
        if let Some((e, id)) = raw.split_once(':') {
            if Uuid::parse_str(id).is_ok() && self.s.schema.entity(e).is_some() {
                return Ok(raw.to_string());
            }
        }
        if Uuid::parse_str(raw).is_ok() {
            return Ok(raw.to_string());
        }
        let mut found = Vec::new();
        for t in &a.targets {
            let Some(e) = self.s.schema.entity(&t.entity).cloned() else { continue };
            if self.s.principal.read_scope(&e) == Scope::Nothing {
                continue;
            }
            let primary = &e.def.primary_name;
            let q = format!("$select={primary}&$filter={primary} eq {}&$top=2", string_literal(raw));
            let Ok(rows) = query(self.s, e.name(), &q, 2) else { continue };
            found.extend(rows.iter().map(|r| format!("{}:{}", e.name(), r.id)));
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(text(self.lang, "lookup_none").replace("{name}", raw)),
            _ => Err(text(self.lang, "lookup_many").replace("{name}", raw)),
        }
    }
}
