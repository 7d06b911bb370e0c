//! Business rules (`workflow` of category Business Rule): per entity, a
//! condition and the actions taken when it holds (`then`) or not
//! (`else`):
//!
//! ```json
//! { "condition": { "field": "customertypecode", "op": "eq", "value": 3 },
//!   "then": [ { "type": "required", "field": "relata_inn" },
//!             { "type": "setvalue", "field": "industrycode", "value": 1 } ],
//!   "else": [ { "type": "hide", "field": "relata_inn" } ] }
//! ```
//!
//! The actions that constrain data — `setvalue`, `setdefault`,
//! `required`, `error` — run on the server before every create and
//! update, so the Web API, imports and workflows obey them as the form
//! does; `recommended`, `show`, `hide`, `lock` and `unlock` shape the
//! form only. The form evaluates the same rules as the user types.

use std::sync::Arc;

use relata_metadata::{Schema, Value};
use serde_json::Value as Json;
use uuid::Uuid;

use super::definition::check_path;
use super::eval::{self, Subject};
use crate::error::{EngineError, Result};
use crate::modules::StepContext;
use crate::session::{Fields, Session};

/// `workflow.category` of a business rule.
pub(super) const BUSINESS_RULE: i64 = 2;

pub(super) const ACTIONS: &[&str] =
    &["setvalue", "setdefault", "required", "recommended", "error", "show", "hide", "lock", "unlock"];

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// An activated business rule.
#[derive(Debug, Clone)]
pub struct BusinessRule {
    pub id: Uuid,
    pub name: String,
    pub entity: String,
    pub definition: Json,
}

/// The activated business rules, read again only after a process changed.
pub(super) fn active(s: &mut Session<'_, '_, '_>) -> Result<Arc<Vec<BusinessRule>>> {
    super::cached(s, "processes.rules", |s| {
        let rows = s.query_system("workflow", &format!("$filter=category eq {BUSINESS_RULE} and statecode eq 1"))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(BusinessRule {
                    id: r.get("workflowid")?.as_uuid()?,
                    name: r.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                    entity: r.get("primaryentity").and_then(Value::as_str)?.to_string(),
                    definition: serde_json::from_str(r.get("clientdata").and_then(Value::as_str)?).ok()?,
                })
            })
            .collect())
    })
}

/// What is wrong with a rule's definition, named where it is.
pub(super) fn check(schema: &Schema, entity: &str, def: &Json) -> Result<()> {
    let obj = def
        .as_object()
        .ok_or_else(|| invalid("A business rule is a JSON object with 'then' (and 'condition', 'else')."))?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "condition" | "then" | "else")) {
        return Err(invalid(format!(
            "The business rule has an unknown key '{k}'; it takes 'condition', 'then' and 'else'."
        )));
    }
    let e = schema.entity(entity).ok_or_else(|| invalid(format!("There is no entity '{entity}' for the rule.")))?;
    if let Some(c) = obj.get("condition") {
        super::definition::check(schema, entity, &serde_json::json!({ "condition": c }), true)?;
    }
    for branch in ["then", "else"] {
        let Some(list) = obj.get(branch) else { continue };
        let list = list.as_array().ok_or_else(|| invalid(format!("'{branch}' is a list of actions")))?;
        for (i, a) in list.iter().enumerate() {
            let here = format!("{branch}[{i}]");
            let kind = a.get("type").and_then(Json::as_str).unwrap_or("");
            if !ACTIONS.contains(&kind) {
                return Err(invalid(format!(
                    "{here}: unknown action '{kind}'; the actions are {}",
                    ACTIONS.join(", ")
                )));
            }
            let field =
                a.get("field").and_then(Json::as_str).ok_or_else(|| invalid(format!("{here}: 'field' is required")))?;
            if e.attribute(field).is_none() {
                return Err(invalid(format!("{here}: {entity} has no column '{field}'")));
            }
            match kind {
                "setvalue" | "setdefault" => {
                    let v = a.get("value").ok_or_else(|| invalid(format!("{here}: 'value' is required")))?;
                    if let Some(path) = v.get("field").and_then(Json::as_str) {
                        check_path(schema, entity, path, &here)?;
                    } else if !v.is_object() {
                        eval::literal(v, e.attribute(field)).map_err(|m| invalid(format!("{here}: {m}")))?;
                    }
                }
                "error" if a.get("message").and_then(Json::as_str).is_none_or(str::is_empty) => {
                    return Err(invalid(format!("{here}: an error needs its 'message'")));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The server's part: before a create or update, the rules of the entity
/// set values and defaults, and refuse what is required and missing or
/// what an error action names.
pub(super) fn apply(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let entity = ctx.entity.name().to_string();
    if entity == "workflow" {
        return Ok(());
    }
    let all = active(s)?;
    let mine: Vec<BusinessRule> = all.iter().filter(|r| r.entity == entity).cloned().collect();
    if mine.is_empty() {
        return Ok(());
    }
    for rule in mine {
        // The record as it will be: what is stored, with the change on top.
        let mut merged: Fields = ctx.pre_image.cloned().unwrap_or_default();
        merged.extend(ctx.target.iter().map(|(k, v)| (k.clone(), v.clone())));
        let subject = Subject {
            record: relata_metadata::EntityRef { entity: entity.clone(), id: ctx.id },
            fields: merged.clone(),
            changed: ctx.target.keys().cloned().collect(),
        };
        let condition = rule.definition.get("condition").cloned().unwrap_or(Json::Null);
        let branch = if eval::holds(s, &subject, &condition)? { "then" } else { "else" };
        for a in rule.definition.get(branch).and_then(Json::as_array).cloned().unwrap_or_default() {
            let field = a.get("field").and_then(Json::as_str).unwrap_or_default().to_string();
            let attr = ctx.entity.attribute(&field).cloned();
            let label = attr.as_ref().map(|a| a.label.en.clone()).unwrap_or_else(|| field.clone());
            match a.get("type").and_then(Json::as_str).unwrap_or("") {
                "setvalue" => {
                    let v = eval::value_of(s, &subject, a.get("value").unwrap_or(&Json::Null), attr.as_ref())?;
                    if merged.get(&field) != Some(&v) {
                        ctx.target.insert(field, v);
                    }
                }
                "setdefault" if ctx.is_create() && merged.get(&field).is_none_or(Value::is_null) => {
                    let v = eval::value_of(s, &subject, a.get("value").unwrap_or(&Json::Null), attr.as_ref())?;
                    ctx.target.insert(field, v);
                }
                "required" => {
                    let empty = match merged.get(&field) {
                        None | Some(Value::Null) => true,
                        Some(Value::String(t)) => t.trim().is_empty(),
                        _ => false,
                    };
                    if empty {
                        return Err(EngineError::refused(
                            Some(&field),
                            "processes.rule_required",
                            vec![("field", label.clone()), ("rule", rule.name.clone())],
                            format!("{label} is required (business rule '{}').", rule.name),
                        ));
                    }
                }
                "error" => {
                    let message = a.get("message").and_then(Json::as_str).unwrap_or_default();
                    let message = eval::render(s, &subject, message)?;
                    return Err(EngineError::refused(Some(&field), "processes.rule_error", vec![], message));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

impl Session<'_, '_, '_> {
    /// The activated business rules of an entity, for a form to apply as
    /// the user types.
    pub fn business_rules(&mut self, entity: &str) -> Result<Vec<BusinessRule>> {
        Ok(active(self)?.iter().filter(|r| r.entity == entity).cloned().collect())
    }
}
