//! Form layouts: the tabs, sections and field order of an entity's main
//! form, stored as Dataverse stores them — a `systemform` (type 2, Main)
//! with its FormXML. Without one, or when its XML cannot be read, a layout
//! is generated from metadata, so every entity, custom ones included, has
//! a form.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use relata_engine::{EngineError, Session};
use relata_metadata::{AttrKind, AttributeDef, Entity, Value};
use relata_query::options::{parse_query_options, string_literal};
use relata_security::Scope;
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

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
}

/// `systemform.type` of a main form.
pub(super) const MAIN_FORM: i64 = 2;

/// A main form in one language: tabs of sections of columns, in order.
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

/// A form as stored: labels in every language.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct StoredForm {
    pub tabs: Vec<StoredPart>,
}

/// A tab (whose `children` are sections) or a section (whose `fields` are columns).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct StoredPart {
    pub name: String,
    /// `(languagecode, label)`.
    pub labels: Vec<(u32, String)>,
    pub children: Vec<StoredPart>,
    pub fields: Vec<String>,
}

impl StoredPart {
    fn label(&self, lcid: u32) -> String {
        self.labels
            .iter()
            .find(|(l, _)| *l == lcid)
            .or_else(|| self.labels.iter().find(|(l, _)| *l == 1033))
            .or(self.labels.first())
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| self.name.clone())
    }
}

impl StoredForm {
    /// The form in a language, without columns the entity no longer has;
    /// the primary name column is always on it.
    pub fn for_entity(&self, entity: &Entity, lang: Lang) -> FormLayout {
        let lcid = lang.lcid();
        let mut tabs: Vec<Tab> = self
            .tabs
            .iter()
            .map(|t| Tab {
                name: t.name.clone(),
                label: t.label(lcid),
                sections: t
                    .children
                    .iter()
                    .map(|s| Section {
                        name: s.name.clone(),
                        label: s.label(lcid),
                        fields: s.fields.iter().filter(|f| on_form(entity, f)).cloned().collect(),
                    })
                    .collect(),
            })
            .collect();
        let primary = &entity.def.primary_name;
        let placed = tabs.iter().flat_map(|t| &t.sections).any(|s| s.fields.contains(primary));
        if !placed {
            if let Some(first) = tabs.first_mut().and_then(|t| t.sections.first_mut()) {
                first.fields.insert(0, primary.clone());
            }
        }
        FormLayout { tabs }
    }

    /// The FormXML of this form.
    pub fn to_xml(&self) -> String {
        let esc = |s: &str| quick_xml::escape::escape(s).to_string();
        let labels = |p: &StoredPart| {
            let mut x = String::from("<labels>");
            for (l, t) in &p.labels {
                x.push_str(&format!(r#"<label description="{}" languagecode="{l}"/>"#, esc(t)));
            }
            x.push_str("</labels>");
            x
        };
        let mut x = String::from("<form><tabs>");
        for tab in &self.tabs {
            x.push_str(&format!(r#"<tab name="{}" verticallayout="true">"#, esc(&tab.name)));
            x.push_str(&labels(tab));
            x.push_str(r#"<columns><column width="100%"><sections>"#);
            for sec in &tab.children {
                x.push_str(&format!(r#"<section name="{}" showlabel="true">"#, esc(&sec.name)));
                x.push_str(&labels(sec));
                x.push_str("<rows>");
                for f in &sec.fields {
                    x.push_str(&format!(r#"<row><cell><control id="{0}" datafieldname="{0}"/></cell></row>"#, esc(f)));
                }
                x.push_str("</rows></section>");
            }
            x.push_str("</sections></column></columns></tab>");
        }
        x.push_str("</tabs></form>");
        x
    }

    /// Reads FormXML: tabs, their sections and the `datafieldname` of each
    /// cell's control, with the labels of every language.
    pub fn parse(xml: &str) -> Result<StoredForm, String> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().trim_text(true);
        let mut form = StoredForm::default();
        // What the next <label> belongs to: 1 tab, 2 section, 0 neither (a cell).
        let mut owner = 0;
        let attr = |e: &BytesStart<'_>, k: &str| -> Option<String> {
            e.attributes()
                .flatten()
                .find(|a| a.key.local_name().as_ref() == k.as_bytes())
                .and_then(|a| a.unescape_value().ok().map(|v| v.to_string()))
        };
        let mut depth = 0i32;
        loop {
            let event = reader.read_event().map_err(|e| format!("the form's XML is not well-formed: {e}"))?;
            let (e, empty) = match &event {
                Event::Start(e) => (Some(e.clone()), false),
                Event::Empty(e) => (Some(e.clone()), true),
                Event::End(e) => {
                    depth -= 1;
                    match e.local_name().as_ref() {
                        b"section" | b"tab" => owner = 0,
                        b"cell" => owner = 0,
                        _ => {}
                    }
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let Some(e) = e else { continue };
            if !empty {
                depth += 1;
            }
            match e.local_name().as_ref() {
                b"tab" => {
                    form.tabs.push(StoredPart { name: attr(&e, "name").unwrap_or_default(), ..Default::default() });
                    owner = 1;
                }
                b"section" => {
                    let tab = form.tabs.last_mut().ok_or("a section outside a tab")?;
                    tab.children.push(StoredPart { name: attr(&e, "name").unwrap_or_default(), ..Default::default() });
                    owner = 2;
                }
                b"cell" => owner = 0,
                b"label" => {
                    let (Some(text), Some(code)) = (attr(&e, "description"), attr(&e, "languagecode")) else {
                        continue;
                    };
                    let code: u32 = code.parse().map_err(|_| format!("languagecode \"{code}\" is not a number"))?;
                    let target = match owner {
                        1 => form.tabs.last_mut(),
                        2 => form.tabs.last_mut().and_then(|t| t.children.last_mut()),
                        _ => None,
                    };
                    if let Some(t) = target {
                        t.labels.push((code, text));
                    }
                }
                b"control" => {
                    if let Some(f) = attr(&e, "datafieldname").filter(|f| !f.is_empty()) {
                        let sec = form
                            .tabs
                            .last_mut()
                            .and_then(|t| t.children.last_mut())
                            .ok_or("a control outside a section")?;
                        sec.fields.push(f);
                    }
                }
                _ => {}
            }
        }
        if depth != 0 {
            return Err("the form's XML is not well-formed: an element is not closed".into());
        }
        if form.tabs.is_empty() {
            return Err("the form has no tabs".into());
        }
        Ok(form)
    }
}

/// The columns kept for the administration section: who owns the record
/// and when it changed.
const ADMINISTRATION: &[&str] = &["ownerid", "createdby", "createdon", "modifiedby", "modifiedon"];

/// Columns no form shows: keys, `_base` twins, files, type markers.
/// Can a layout place this name: a column, or an activity's party list?
pub(super) fn on_form(entity: &Entity, name: &str) -> bool {
    entity.attribute(name).is_some() || entity.def.parties.iter().any(|p| p.name == name)
}

pub(super) fn never_shown(entity: &Entity, a: &AttributeDef) -> bool {
    a.name == entity.primary_id()
        || a.name == "versionnumber"
        || a.name == "owningbusinessunit"
        || a.name.ends_with("_base")
        || matches!(a.kind, AttrKind::File | AttrKind::Uniqueidentifier | AttrKind::EntityName)
}

/// The stored main form of an entity, if an administrator made one:
/// `(formid, form)`; a form whose XML cannot be read counts as none.
pub(super) fn stored(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
) -> Result<Option<(uuid::Uuid, StoredForm)>, PageError> {
    let readable = s.schema.entity("systemform").is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing);
    if !readable {
        return Ok(None);
    }
    let q = format!(
        "$select=formxml,isdefault&$filter=objecttypecode eq {} and type eq {MAIN_FORM}&$orderby=isdefault desc,modifiedon desc&$top=1",
        string_literal(entity.name())
    );
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let Some(rec) = s.query("systemform", &opts, Some(1), None)?.records.into_iter().next() else {
        return Ok(None);
    };
    match StoredForm::parse(rec.get("formxml").and_then(Value::as_str).unwrap_or("")) {
        Ok(f) => Ok(Some((rec.id, f))),
        Err(e) => {
            tracing::warn!(entity = entity.name(), error = %e, "stored form ignored");
            Ok(None)
        }
    }
}

/// The entity's main form in the user's language.
pub(super) fn main_form(s: &mut Session<'_, '_, '_>, entity: &Entity, lang: Lang) -> Result<FormLayout, PageError> {
    Ok(match stored(s, entity)? {
        Some((_, f)) => f.for_entity(entity, lang),
        None => generated(entity, lang),
    })
}

/// The layout metadata gives. An entity with a standard form (`form` in
/// its schema) gets its tabs first (Summary: the essentials), then a
/// Details tab with the other columns; one without gets the primary name
/// and its columns in declared order. Administration comes last; columns
/// not valid for forms (deprecated ones, map coordinates) are left out.
pub(super) fn generated(entity: &Entity, lang: Lang) -> FormLayout {
    let lcid = lang.lcid();
    let mut tabs: Vec<Tab> = entity
        .def
        .form
        .iter()
        .map(|t| Tab {
            name: t.name.clone(),
            label: t.label.text(lcid).to_string(),
            sections: t
                .sections
                .iter()
                .map(|sec| Section {
                    name: sec.name.clone(),
                    label: sec.label.text(lcid).to_string(),
                    fields: sec.fields.iter().filter(|f| on_form(entity, f)).cloned().collect(),
                })
                .collect(),
        })
        .collect();
    let placed: Vec<String> = tabs.iter().flat_map(|t| &t.sections).flat_map(|s| s.fields.clone()).collect();
    let primary = &entity.def.primary_name;
    let mut details: Vec<String> = Vec::new();
    if !placed.contains(primary) {
        details.extend(entity.attribute(primary).map(|a| a.name.clone()));
        details.extend(entity.def.parties.iter().map(|p| p.name.clone()));
    }
    details.extend(
        entity
            .attributes()
            .iter()
            .filter(|a| {
                &a.name != primary
                    && a.valid_for_form
                    // The state heads the record page already.
                    && a.kind != relata_metadata::AttrKind::State
                    && !never_shown(entity, a)
                    && !ADMINISTRATION.contains(&a.name.as_str())
                    && !placed.contains(&a.name)
            })
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
    let (name, label) = if tabs.is_empty() { ("general", "tab_general") } else { ("details", "section_details") };
    tabs.push(Tab { name: name.into(), label: text(lang, label).into(), sections });
    FormLayout { tabs }
}

/// The generated layout as a stored form, labels in both languages: what
/// an administrator starts editing from.
pub(super) fn generated_stored(entity: &Entity) -> StoredForm {
    let (en, ru) = (generated(entity, Lang::En), generated(entity, Lang::Ru));
    StoredForm {
        tabs: en
            .tabs
            .iter()
            .zip(&ru.tabs)
            .map(|(te, tr)| StoredPart {
                name: te.name.clone(),
                labels: vec![(1033, te.label.clone()), (1049, tr.label.clone())],
                children: te
                    .sections
                    .iter()
                    .zip(&tr.sections)
                    .map(|(se, sr)| StoredPart {
                        name: se.name.clone(),
                        labels: vec![(1033, se.label.clone()), (1049, sr.label.clone())],
                        fields: se.fields.clone(),
                        children: Vec::new(),
                    })
                    .collect(),
                fields: Vec::new(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> StoredForm {
        StoredForm {
            tabs: vec![StoredPart {
                name: "summary".into(),
                labels: vec![(1033, "Summary & more".into()), (1049, "Сводка".into())],
                children: vec![StoredPart {
                    name: "contact".into(),
                    labels: vec![(1033, "Contact".into())],
                    fields: vec!["telephone1".into(), "gone_column".into()],
                    children: vec![],
                }],
                fields: vec![],
            }],
        }
    }

    #[test]
    fn formxml_round_trips() {
        let f = form();
        let xml = f.to_xml();
        assert!(xml.contains(r#"<control id="telephone1" datafieldname="telephone1"/>"#), "{xml}");
        assert!(xml.contains("Summary &amp; more"));
        assert_eq!(StoredForm::parse(&xml).unwrap(), f);
    }

    #[test]
    fn malformed_or_empty_formxml_is_refused() {
        assert!(StoredForm::parse("<form><tabs><tab name=\"a\">").unwrap_err().contains("not closed"));
        assert!(StoredForm::parse("<form/>").unwrap_err().contains("no tabs"));
        assert!(StoredForm::parse("<form><tabs><tab><columns><column><sections><section><rows><row><cell><control datafieldname=\"x\"/></cell></row></rows></section></sections></column></columns></tab></tabs></form>").is_ok());
        assert!(StoredForm::parse("<<<").is_err());
    }

    #[test]
    fn labels_fall_back_to_english() {
        let f = form();
        assert_eq!(f.tabs[0].label(1049), "Сводка");
        assert_eq!(f.tabs[0].children[0].label(1049), "Contact");
    }
}
