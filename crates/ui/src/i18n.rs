//! Interface text in English and Russian. Entity, column and option
//! labels come from metadata; this is the text of the interface itself.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The interface language: a Windows LCID as metadata labels use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    pub fn lcid(self) -> u32 {
        match self {
            Lang::En => 1033,
            Lang::Ru => 1049,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }
    pub fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().get(..2)? {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }
    pub fn from_lcid(lcid: u32) -> Option<Lang> {
        match lcid {
            1033 => Some(Lang::En),
            1049 => Some(Lang::Ru),
            _ => None,
        }
    }
    /// The first supported language of an `Accept-Language` header.
    pub fn from_accept(header: &str) -> Option<Lang> {
        header.split(',').filter_map(|part| Lang::from_code(part.split(';').next().unwrap_or(""))).next()
    }
}

/// The text of a key in a language, from every module's table; a key
/// no table has is a defect that shows as the key itself.
pub fn text(lang: Lang, key: &str) -> &'static str {
    let (en, ru) = &*BY_LANG;
    let map = match lang {
        Lang::En => en,
        Lang::Ru => ru,
    };
    map.get(key).copied().unwrap_or_else(|| {
        tracing::warn!(key, "interface text missing");
        ""
    })
}

/// A sales stage's name in the user's language: the default process's
/// stages are translated, an administrator's own stages shown as named.
pub fn stage_label(name: &str, lang: Lang) -> String {
    let (en, ru) = &*BY_LANG;
    let map = match lang {
        Lang::En => en,
        Lang::Ru => ru,
    };
    map.get(format!("stage_{}", name.to_lowercase()).as_str())
        .map(|t| t.to_string())
        .unwrap_or_else(|| name.to_string())
}

/// Every key's text in a language, as template context (`t.key`).
pub fn strings(lang: Lang) -> minijinja::Value {
    static EN: LazyLock<minijinja::Value> = LazyLock::new(|| minijinja::Value::from(BY_LANG.0.clone()));
    static RU: LazyLock<minijinja::Value> = LazyLock::new(|| minijinja::Value::from(BY_LANG.1.clone()));
    match lang {
        Lang::En => EN.clone(),
        Lang::Ru => RU.clone(),
    }
}

type Texts = BTreeMap<&'static str, &'static str>;

static BY_LANG: LazyLock<(Texts, Texts)> = LazyLock::new(|| {
    let (mut en, mut ru) = (Texts::new(), Texts::new());
    for (key, e, r) in super::TEXT_TABLES.iter().flat_map(|t| t.iter()) {
        debug_assert!(!en.contains_key(key), "interface text {key} is defined twice");
        en.insert(*key, *e);
        ru.insert(*key, *r);
    }
    (en, ru)
});

/// One interface text: its key, English and Russian.
pub type Text = (&'static str, &'static str, &'static str);

/// The shell's and the shared pages' text; each screen module keeps its
/// own table beside its code (see `TABLES` in `ui/mod.rs`).
pub const TEXT: &[Text] = &[
    ("app", "Relata", "Relata"),
    ("signin", "Sign in", "Войти"),
    ("signin_title", "Sign in to Relata", "Вход в Relata"),
    ("email", "Email", "Электронная почта"),
    ("password", "Password", "Пароль"),
    ("remember", "Remember me", "Запомнить меня"),
    ("signout", "Sign out", "Выйти"),
    ("bad_credentials", "The email or password is not right.", "Неверная электронная почта или пароль."),
    ("throttled", "Too many failed sign-ins; try again in a few minutes.",
            "Слишком много неудачных попыток входа; повторите через несколько минут."),
    ("search", "Search", "Поиск"),
    ("search_placeholder", "Search accounts, contacts, leads…", "Поиск организаций, контактов, интересов…"),
    ("quick_find", "Quick find", "Быстрый поиск"),
    ("find", "Find", "Найти"),
    ("sales", "Sales", "Продажи"),
    ("service", "Service", "Обслуживание"),
    ("marketing", "Marketing", "Маркетинг"),
    ("settings", "Settings", "Параметры"),
    ("areas", "Areas", "Разделы"),
    ("home", "Home", "Главная"),
    ("welcome", "Welcome, {name}.", "Здравствуйте, {name}."),
    ("welcome_hint", "Choose a list on the left, or search across your records.",
            "Выберите список слева или воспользуйтесь поиском по записям."),
    ("empty", "No records to show.", "Нет записей для отображения."),
    ("next", "Next", "Далее"),
    ("prev", "Previous", "Назад"),
    ("page", "Page {n}", "Стр. {n}"),
    ("not_found", "The record does not exist or you may not see it.", "Запись не существует или недоступна вам."),
    ("forbidden", "You have no access to this list.", "У вас нет доступа к этому списку."),
    ("csrf", "The form expired or did not come from this site; reload the page and try again.",
            "Форма устарела или отправлена не с этого сайта; обновите страницу и повторите."),
    ("results", "Search results for “{q}”", "Результаты поиска «{q}»"),
    ("no_results", "Nothing found.", "Ничего не найдено."),
    ("language", "Language", "Язык"),
    ("skip", "Skip to content", "Перейти к содержимому"),
    ("edit", "Edit", "Изменить"),
    ("new", "New", "Создать"),
    ("stage_qualify", "Qualify", "Квалификация"),
    ("stage_develop", "Develop", "Развитие"),
    ("stage_propose", "Propose", "Предложение"),
    ("stage_close", "Close", "Закрытие"),
    ("save", "Save", "Сохранить"),
    ("cancel", "Cancel", "Отмена"),
    ("new_record", "New {entity}", "Новая запись: {entity}"),
    ("bad_number", "Enter a number.", "Введите число."),
    ("bad_whole", "Enter a whole number.", "Введите целое число."),
    ("bad_date", "Enter a date.", "Введите дату."),
    ("conflict", "Someone else changed this record after you opened it. Your changes are below and were not saved; open the record again to see theirs.",
            "Запись изменил кто-то другой после того, как вы её открыли. Ваши изменения ниже и не сохранены; откройте запись заново, чтобы увидеть чужие."),
    ("fix_errors", "Correct the marked fields.", "Исправьте отмеченные поля."),
    ("list_active", "Active {plural}", "Активные: {plural}"),
    ("list_all", "All {plural}", "Все: {plural}"),
    ("list_view", "View", "Представление"),
    ("list_mine", "mine", "моё"),
    ("list_show", "Show", "Показать"),
    ("list_related", "Related to", "Связанные с"),
    ("list_clear", "Clear filters", "Сбросить фильтры"),
    ("list_export_csv", "Export CSV", "Экспорт CSV"),
    ("list_export_xlsx", "Export Excel", "Экспорт Excel"),
    ("list_bulk", "With selected", "С выбранными"),
    ("list_owner", "New owner", "Новый ответственный"),
    ("list_apply", "Apply", "Применить"),
    ("list_pick_all", "Select all rows", "Выбрать все строки"),
    ("list_pick", "Select", "Выбрать"),
    ("list_filter", "Filter", "Фильтр"),
    ("list_apply_filters", "Apply filters", "Применить фильтры"),
    ("list_filter_hint", "Numbers and dates: >100, <=5, 10..20, 2026-01-01..2026-03-31", "Числа и даты: >100, <=5, 10..20, 2026-01-01..2026-03-31"),
    ("list_bad_filter", "The filter on “{column}” is not valid: write a value, >value, <value or from..to.", "Фильтр по полю «{column}» задан неверно: укажите значение, >значение, <значение или от..до."),
    ("list_save_view", "Save as my view", "Сохранить как моё представление"),
    ("list_view_name", "View name", "Название представления"),
    ("list_view_name_needed", "Give the view a name.", "Укажите название представления."),
    ("list_delete_view", "Delete this view", "Удалить это представление"),
    ("yes", "Yes", "Да"),
    ("dashboard", "Dashboard", "Панель"),
    ("custom_area", "Custom", "Настраиваемые"),
    ("workspace", "Workspace", "Рабочая область"),
    ("lookup_none", "Nothing is named “{name}”: pick a record from the suggestions.", "Нет записи с именем «{name}»: выберите запись из подсказок."),
    ("lookup_many", "Several records are named “{name}”: pick one from the suggestions.", "Несколько записей с именем «{name}»: выберите одну из подсказок."),
    ("unsaved", "You have unsaved changes.", "Есть несохранённые изменения."),
    ("no", "No", "Нет"),
    ("bulk_assign", "Assign", "Назначить"),
    ("bulk_run_workflow", "Run workflow: {name}", "Запустить процесс: {name}"),
    ("bulk_activate", "Activate", "Активировать"),
    ("bulk_deactivate", "Deactivate", "Деактивировать"),
    ("bulk_delete", "Delete", "Удалить"),
    ("bulk_not_allowed", "You may not do this with these records.", "Вам не разрешено это действие с этими записями."),
    ("bulk_none_selected", "Select at least one record.", "Выберите хотя бы одну запись."),
    ("bulk_too_many", "Select at most {n} records at a time.", "Выберите не более {n} записей за раз."),
    ("bulk_pick_owner", "Choose the new owner.", "Выберите нового ответственного."),
    ("bulk_failed", "Nothing was changed: “{record}” was refused: {reason}", "Ничего не изменено: отказ для «{record}»: {reason}"),
    ("bulk_done", "Done: {n} records.", "Готово: записей — {n}."),
    ("export_forbidden", "You may not export records (the Export to Excel privilege).", "Вам не разрешён экспорт записей (привилегия «Экспорт в Excel»)."),
    ("export_bad_format", "Unknown export format “{format}”: use csv or xlsx.", "Неизвестный формат экспорта «{format}»: используйте csv или xlsx."),
];
