//! Form layouts: the tabs, sections and field order of an entity's main
//! form. Without an administrator's layout one is generated from metadata,
//! so every entity, custom ones included, has a form.

use axum::Router;
use relata_engine::Session;
use relata_metadata::{AttrKind, AttributeDef, Entity};
use serde::Serialize;

use super::i18n::{text, Lang, Text};
use super::pages::PageError;
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[];

pub(super) const TEXT: &[Text] = &[
    ("tab_general", "General", "Общие сведения"),
    ("section_details", "Details", "Подробности"),
    ("section_administration", "Administration", "Администрирование"),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}

/// A main form: tabs of sections of columns, in the order shown.
#[derive(Debug, Clone, Serialize)]
pub(super) struct FormLayout {
    pub tabs: Vec<Tab>,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Tab {
    pub name: String,
    pub label: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Section {
    pub name: String,
    pub label: String,
    /// Column logical names.
    pub fields: Vec<String>,
}

/// The columns kept for the administration section: who owns the record
/// and when it changed.
const ADMINISTRATION: &[&str] = &["ownerid", "createdby", "createdon", "modifiedby", "modifiedon"];

/// Columns no form shows: keys, `_base` twins, files, type markers.
pub(super) fn never_shown(entity: &Entity, a: &AttributeDef) -> bool {
    a.name == entity.primary_id()
        || a.name == "versionnumber"
        || a.name == "owningbusinessunit"
        || a.name.ends_with("_base")
        || matches!(a.kind, AttrKind::File | AttrKind::Uniqueidentifier | AttrKind::EntityName)
}

/// The entity's main form in the user's language.
pub(super) fn main_form(_s: &mut Session<'_, '_, '_>, entity: &Entity, lang: Lang) -> Result<FormLayout, PageError> {
    Ok(generated(entity, lang))
}

/// The layout metadata gives: the primary name first, then the columns
/// in their declared order, then the administration section.
pub(super) fn generated(entity: &Entity, lang: Lang) -> FormLayout {
    let primary = &entity.def.primary_name;
    let mut details: Vec<String> = entity.attribute(primary).map(|a| a.name.clone()).into_iter().collect();
    details.extend(
        entity
            .attributes()
            .iter()
            .filter(|a| &a.name != primary && !never_shown(entity, a) && !ADMINISTRATION.contains(&a.name.as_str()))
            .map(|a| a.name.clone()),
    );
    let admin: Vec<String> =
        ADMINISTRATION.iter().filter(|n| entity.attribute(n).is_some()).map(|n| n.to_string()).collect();
    let mut sections =
        vec![Section { name: "details".into(), label: text(lang, "section_details").into(), fields: details }];
    if !admin.is_empty() {
        sections.push(Section {
            name: "administration".into(),
            label: text(lang, "section_administration").into(),
            fields: admin,
        });
    }
    FormLayout { tabs: vec![Tab { name: "general".into(), label: text(lang, "tab_general").into(), sections }] }
}
