//! The texts of the errors whose meaning is known ([`crate::EngineError::Refused`])
//! in the languages users work in other than English (whose text each error
//! carries): a key, then the text with `{parameter}` places. The platform's
//! are here; a module brings its own (`Registry::messages`, keys prefixed
//! with the module's name), added to the process's catalog when its
//! registry is built.

use std::sync::RwLock;

/// A table of texts by key.
type Texts = &'static [(&'static str, &'static str)];

/// The modules' tables, by language.
static MODULE_TABLES: RwLock<Vec<(&'static str, Texts)>> = RwLock::new(Vec::new());

/// Adds a module's table (once: the same table registered again is kept once).
pub(crate) fn add(language: &'static str, table: Texts) {
    let mut tables = MODULE_TABLES.write().unwrap_or_else(|e| e.into_inner());
    if !tables.iter().any(|(l, t)| *l == language && std::ptr::eq(*t, table)) {
        tables.push((language, table));
    }
}

const RUSSIAN: &[(&str, &str)] = &[
    // A value that does not fit its column (shown at the field).
    ("wrong_type", "Значение не подходит для этого поля."),
    ("nul_character", "Текст не может содержать символ NUL (U+0000)."),
    ("out_of_range", "Значение {value} вне допустимого диапазона: от {min} до {max}."),
    ("not_finite", "Число должно быть конечным."),
    ("year_range", "Год должен быть от 1 до 9999."),
    ("not_an_option", "{value} — недопустимое значение для этого списка."),
    ("too_long", "Текст длиной {length} символов; допускается не более {max}."),
    ("not_an_entity", "«{value}» — не сущность."),
    ("wrong_target", "Это поле не может ссылаться на запись «{entity}»."),
    ("file_too_big", "Файл занимает {size} байт; допускается не более {max}."),
    ("not_an_image", "Файл не является изображением PNG или JPEG."),
    ("required", "Заполните это поле."),
    ("required_kept", "Это поле обязательно и не может быть пустым."),
    // A lifecycle the entity's metadata declares.
    ("bad_transition", "Запись «{entity}» не может перейти из состояния «{from}» в «{to}»."),
    ("via_action", "Запись «{entity}» переходит в состояние «{to}» только действием: {actions}."),
    ("read_only_state", "Запись «{entity}» в состоянии «{state}» и не может быть изменена."),
    // Missing records and rights.
    ("record_not_found", "Запись «{entity}» с идентификатором {id} не существует или недоступна вам."),
    ("missing_privilege", "У вас нет привилегии {privilege} для записей «{entity}»."),
    ("privilege_depth", "Ваша привилегия {privilege} не распространяется на эту запись «{entity}»."),
    ("missing_global_privilege", "У вас нет привилегии {privilege}."),
    // What the platform keeps as it is.
    ("administrator_role_fixed", "Роль системного администратора изменить нельзя."),
    (
        "default_team_fixed",
        "Рабочая группа подразделения по умолчанию следует за подразделением: её нельзя переименовать или перенести.",
    ),
    ("root_unit_parent", "У корневого подразделения не может быть родителя."),
    ("root_unit_disabled", "Корневое подразделение нельзя отключить."),
    ("unit_needs_parent", "У подразделения, кроме корневого, должен быть родитель."),
    ("unit_cycle", "Подразделение нельзя поместить внутрь него самого или его дочерних подразделений."),
    ("user_kept", "Пользователей нельзя удалять; отключите пользователя."),
    ("root_unit_kept", "Корневое подразделение нельзя удалить."),
    (
        "default_team_kept",
        "Рабочая группа подразделения по умолчанию удаляется вместе с подразделением, а не отдельно.",
    ),
    ("administrator_role_kept", "Роль системного администратора нельзя удалить."),
    ("organization_kept", "Организацию нельзя удалить."),
    ("base_currency_kept", "Базовую валюту нельзя удалить."),
    (
        "activity_closed",
        "Действие закрыто (выполнено или отменено) и не может быть изменено; сначала откройте его снова.",
    ),
];

/// The text of `key` in `language` with its parameters, if the catalog has
/// one.
pub fn render(key: &str, params: &[(&'static str, String)], language: &str) -> Option<String> {
    let core = match language {
        "ru" => RUSSIAN,
        _ => &[],
    };
    let template = match core.iter().find(|(k, _)| *k == key) {
        Some((_, t)) => *t,
        None => {
            let tables = MODULE_TABLES.read().unwrap_or_else(|e| e.into_inner());
            tables.iter().filter(|(l, _)| *l == language).flat_map(|(_, t)| t.iter()).find(|(k, _)| *k == key)?.1
        }
    };
    let mut text = template.to_string();
    for (name, value) in params {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_take_their_parameters() {
        let params = vec![("value", "12".to_string()), ("min", "1".into()), ("max", "3".into())];
        assert_eq!(render("out_of_range", &params, "ru").unwrap(), "Значение 12 вне допустимого диапазона: от 1 до 3.");
        assert_eq!(render("out_of_range", &params, "en"), None, "English is the error's own text");
        assert_eq!(render("no_such_key", &params, "ru"), None);
        // Every placeholder of a text is a parameter some error gives.
        for (key, text) in RUSSIAN {
            assert!(!text.is_empty(), "{key}");
        }
    }
}
