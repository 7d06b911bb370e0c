//! The record page: a record's fields by its form layout.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Router;
use minijinja::context;
use relata_engine::EngineError;
use relata_metadata::Value;
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Text};
use super::pages::{display, names_of, path_and_query, readable_entity, shell, shell_context, signed_in};
use super::render;
use crate::AppState;

pub(super) const TEMPLATES: &[(&str, &str)] = &[("record.html", include_str!("templates/record.html"))];

pub(super) const TEXT: &[Text] = &[];

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}

#[derive(Serialize)]
struct ShownTab {
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

pub(super) async fn record(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((set, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query(&format!("/ui/{set}/{id}"), &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let entity = readable_entity(s, &set, lang)?;
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::NotFound(text(lang, "not_found").to_string()))?;
        let sh = shell(s, lang, token, Some(entity.name()))?;
        let rec = s.retrieve(entity.name(), id, &Default::default()).map_err(|e| match e {
            EngineError::NotFound(_) => EngineError::NotFound(text(lang, "not_found").to_string()),
            other => other,
        })?;
        let names = names_of(s, std::slice::from_ref(&rec))?;
        let can_edit = s.may(&entity, relata_security::Right::Write, id)?;
        let lcid = lang.lcid();
        let form = super::layout::main_form(s, &entity, lang)?;
        // Sections show the values the record has; an empty section is left out.
        let tabs: Vec<ShownTab> = form
            .tabs
            .iter()
            .map(|tab| ShownTab {
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
                            .filter_map(|a| {
                                let v = rec.get(&a.name).filter(|v| !v.is_null())?;
                                let href = v.as_ref_value().and_then(|r| {
                                    let target = s.schema.entity(&r.entity)?;
                                    Some(format!("/ui/{}/{}", target.def.entity_set, r.id))
                                });
                                Some(Field {
                                    label: a.label.text(lcid).to_string(),
                                    value: display(s, a, v, lang, &names),
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
        Ok(render(
            "record.html",
            context! { ..shell_context(&sh), ..context! {
                title => title, set => &set, plural => entity.def.plural_label.text(lcid), tabs => minijinja::Value::from(minijinja::value::Serde(&tabs)), q_global => "",
                id => id.to_string(), can_edit => can_edit,
            }},
        ))
    })
    .await
}
