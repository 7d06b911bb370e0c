//! A workflow's definition (`workflow.clientdata`), as JSON an
//! administrator's designer writes:
//!
//! ```json
//! { "condition": { "all": [ { "field": "salesstage", "op": "eq", "value": 2 } ] },
//!   "steps": [
//!     { "type": "create", "entity": "task",
//!       "values": { "subject": { "template": "Check the contract of {{ record.name }}" },
//!                   "regardingobjectid": { "record": true },
//!                   "ownerid": { "field": "ownerid" },
//!                   "scheduledend": { "now": { "days": 2 } } } },
//!     { "type": "sendemail", "template": "<template id>", "to": [ { "field": "parentcontactid" } ] } ] }
//! ```
//!
//! Conditions: `all`/`any` groups of `{field, op, value}`, where a field
//! may follow lookups (`parentaccountid.industrycode`) and `op` is one of
//! [`OPS`]; `olderthan`/`newerthan` compare a date with now (`{"days": 2}`).
//! Steps: [`STEP_TYPES`]; `if` has `condition`, `then` and `else`.
//! Values: a JSON literal, `{"field": path}` (copied from the record),
//! `{"template": text}` (placeholders as in email templates),
//! `{"now": {"days"|"hours"|"minutes": n}}`, `{"record": true}` (the
//! record itself, for a lookup).
//!
//! The steps are compiled into a flat program (`if` becomes jumps) so that
//! a run's place is one number that survives a wait and a restart.

use relata_metadata::Schema;
use serde_json::Value as Json;

use crate::error::{EngineError, Result};

/// The operators of a condition, in the order a designer offers them.
pub const OPS: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "null",
    "notnull",
    "contains",
    "notcontains",
    "beginswith",
    "endswith",
    "in",
    "notin",
    "olderthan",
    "newerthan",
    "changed",
];

pub(super) const STEP_TYPES: &[&str] = &[
    "create",
    "update",
    "assign",
    "setstate",
    "sendemail",
    "notify",
    "if",
    "wait",
    "childworkflow",
    "action",
    "webhook",
    "sendmessage",
    "stop",
];

/// One instruction of a compiled workflow.
#[derive(Debug, Clone)]
pub(super) enum Instr {
    /// A step (never `if`), with its position in the definition for logs.
    Step(Json),
    /// Goes to the target unless the condition holds.
    JumpUnless(Json, usize),
    Jump(usize),
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// The program of a definition.
pub(super) fn compile(definition: &Json) -> Result<Vec<Instr>> {
    let mut out = Vec::new();
    emit(steps_of(definition, "steps")?, &mut out)?;
    Ok(out)
}

fn steps_of<'a>(node: &'a Json, key: &str) -> Result<&'a [Json]> {
    match node.get(key) {
        None | Some(Json::Null) => Ok(&[]),
        Some(Json::Array(a)) => Ok(a),
        Some(_) => Err(invalid(format!("'{key}' must be a list of steps"))),
    }
}

fn emit(steps: &[Json], out: &mut Vec<Instr>) -> Result<()> {
    for step in steps {
        if step.get("type").and_then(Json::as_str) == Some("if") {
            let condition = step.get("condition").cloned().unwrap_or(Json::Null);
            let at = out.len();
            out.push(Instr::JumpUnless(condition, 0));
            emit(steps_of(step, "then")?, out)?;
            let otherwise = steps_of(step, "else")?;
            if otherwise.is_empty() {
                let end = out.len();
                out[at] = Instr::JumpUnless(step["condition"].clone(), end);
            } else {
                let jump = out.len();
                out.push(Instr::Jump(0));
                let start = out.len();
                out[at] = Instr::JumpUnless(step["condition"].clone(), start);
                emit(otherwise, out)?;
                out[jump] = Instr::Jump(out.len());
            }
        } else {
            out.push(Instr::Step(step.clone()));
        }
    }
    Ok(())
}

/// What is wrong with a definition for records of `entity`, if anything,
/// named so that the designer can show it: `steps[2]: …`.
pub(super) fn check(schema: &Schema, entity: &str, definition: &Json, real_time: bool) -> Result<()> {
    let Some(obj) = definition.as_object() else {
        return Err(invalid("The definition must be a JSON object with 'steps' (and optionally 'condition')."));
    };
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "condition" | "steps")) {
        return Err(invalid(format!("The definition has an unknown key '{k}'; it takes 'condition' and 'steps'.")));
    }
    if schema.entity(entity).is_none() {
        return Err(invalid(format!("There is no entity '{entity}' for the workflow to run on.")));
    }
    if let Some(c) = obj.get("condition") {
        check_condition(schema, entity, c, "condition")?;
    }
    check_steps(schema, entity, steps_of(definition, "steps")?, "steps", real_time)
}

fn check_steps(schema: &Schema, entity: &str, steps: &[Json], at: &str, real_time: bool) -> Result<()> {
    for (i, step) in steps.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let bad = |m: String| invalid(format!("{here}: {m}"));
        let kind = step.get("type").and_then(Json::as_str).ok_or_else(|| bad("a step needs a 'type'".into()))?;
        if !STEP_TYPES.contains(&kind) {
            return Err(bad(format!("unknown step type '{kind}'; the types are {}", STEP_TYPES.join(", "))));
        }
        match kind {
            "create" => {
                let target =
                    step.get("entity").and_then(Json::as_str).ok_or_else(|| bad("'entity' is required".into()))?;
                if schema.entity(target).is_none() {
                    return Err(bad(format!("there is no entity '{target}'")));
                }
                check_values(schema, target, entity, step.get("values"), &here)?;
            }
            "update" => {
                let target = target_entity(schema, entity, step, &here)?;
                check_values(schema, &target, entity, step.get("values"), &here)?;
            }
            "assign" => {
                target_entity(schema, entity, step, &here)?;
                check_value_spec(schema, entity, step.get("owner"), &format!("{here}.owner"))?;
            }
            "setstate" => {
                let target = target_entity(schema, entity, step, &here)?;
                let state = step
                    .get("statecode")
                    .and_then(Json::as_i64)
                    .ok_or_else(|| bad("'statecode' is required".into()))?;
                let e = schema.entity(&target).expect("checked");
                if !e.has_state() || e.state(state as i32).is_none() {
                    return Err(bad(format!("{target} has no state {state}")));
                }
            }
            "sendemail" => {
                if step.get("template").and_then(Json::as_str).and_then(|t| t.parse::<uuid::Uuid>().ok()).is_none() {
                    return Err(bad("'template' must be the id of an email template".into()));
                }
                let to = step.get("to").and_then(Json::as_array).filter(|a| !a.is_empty());
                let to = to.ok_or_else(|| bad("'to' must list at least one recipient".into()))?;
                for (j, r) in to.iter().enumerate() {
                    check_value_spec(schema, entity, Some(r), &format!("{here}.to[{j}]"))?;
                }
            }
            "notify" => {
                check_value_spec(schema, entity, step.get("to"), &format!("{here}.to"))?;
                if step.get("title").is_none() {
                    return Err(bad("'title' is required".into()));
                }
            }
            "if" => {
                check_condition(
                    schema,
                    entity,
                    step.get("condition").unwrap_or(&Json::Null),
                    &format!("{here}.condition"),
                )?;
                check_steps(schema, entity, steps_of(step, "then")?, &format!("{here}.then"), real_time)?;
                check_steps(schema, entity, steps_of(step, "else")?, &format!("{here}.else"), real_time)?;
            }
            "wait" => {
                if real_time {
                    return Err(bad("a real-time workflow cannot wait; make it a background workflow".into()));
                }
                match (step.get("for"), step.get("until")) {
                    (Some(d), None) => {
                        duration(d).map_err(|m| bad(m.to_string()))?;
                    }
                    (None, Some(c)) => {
                        check_condition(schema, entity, c, &format!("{here}.until"))?;
                        if let Some(t) = step.get("timeout") {
                            duration(t).map_err(|m| bad(m.to_string()))?;
                        }
                    }
                    _ => return Err(bad("a wait has either 'for' (a duration) or 'until' (a condition)".into())),
                }
            }
            "childworkflow" => {
                if step.get("workflow").and_then(Json::as_str).and_then(|t| t.parse::<uuid::Uuid>().ok()).is_none() {
                    return Err(bad("'workflow' must be the id of a workflow".into()));
                }
                if real_time {
                    return Err(bad("a real-time workflow cannot start a child workflow".into()));
                }
            }
            "webhook" => {
                let url = step.get("url").and_then(Json::as_str).ok_or_else(|| bad("'url' is required".into()))?;
                super::outbound::check_url(url).map_err(|e| bad(e.to_string()))?;
                if real_time {
                    return Err(
                        bad("a real-time workflow cannot call a webhook; make it a background workflow".into()),
                    );
                }
                if let Some(h) = step.get("headers") {
                    if !h.as_object().is_some_and(|h| h.values().all(Json::is_string)) {
                        return Err(bad("'headers' is an object of texts".into()));
                    }
                }
            }
            "sendmessage" => {
                if step.get("channel").and_then(Json::as_str).and_then(|t| t.parse::<uuid::Uuid>().ok()).is_none() {
                    return Err(bad("'channel' must be the id of a message channel".into()));
                }
                check_value_spec(schema, entity, step.get("to"), &format!("{here}.to"))?;
                check_value_spec(schema, entity, step.get("text"), &format!("{here}.text"))?;
            }
            "action" if step.get("name").and_then(Json::as_str).is_none_or(str::is_empty) => {
                return Err(bad("'name' must name an action of the catalog".into()));
            }
            "stop" => {
                let status = step.get("status").and_then(Json::as_str).unwrap_or("succeeded");
                if !matches!(status, "succeeded" | "canceled") {
                    return Err(bad("'status' is 'succeeded' or 'canceled'".into()));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The entity a step's `target` is: the record (default) or a lookup of it.
fn target_entity(schema: &Schema, entity: &str, step: &Json, here: &str) -> Result<String> {
    match step.get("target").and_then(Json::as_str).unwrap_or("record") {
        "record" => Ok(entity.to_string()),
        lookup => {
            let e = schema.entity(entity).expect("checked");
            let a = e
                .attribute(lookup)
                .filter(|a| a.kind.is_lookup())
                .ok_or_else(|| invalid(format!("{here}: '{lookup}' is not a lookup of {entity}")))?;
            match a.targets.as_slice() {
                [t] => Ok(t.entity.clone()),
                _ => Err(invalid(format!(
                    "{here}: '{lookup}' may point at several entities; name a single-target lookup"
                ))),
            }
        }
    }
}

fn check_values(schema: &Schema, target: &str, entity: &str, values: Option<&Json>, here: &str) -> Result<()> {
    let Some(values) = values else { return Ok(()) };
    let map = values.as_object().ok_or_else(|| invalid(format!("{here}: 'values' must be an object of columns")))?;
    let e = schema.entity(target).expect("checked");
    for (column, spec) in map {
        if e.attribute(column).is_none() {
            return Err(invalid(format!("{here}: {target} has no column '{column}'")));
        }
        check_value_spec(schema, entity, Some(spec), &format!("{here}.values.{column}"))?;
    }
    Ok(())
}

fn check_value_spec(schema: &Schema, entity: &str, spec: Option<&Json>, here: &str) -> Result<()> {
    let Some(spec) = spec else { return Err(invalid(format!("{here}: a value is required"))) };
    if let Some(obj) = spec.as_object() {
        if let Some(path) = obj.get("field") {
            let path = path.as_str().ok_or_else(|| invalid(format!("{here}: 'field' is a column name or path")))?;
            check_path(schema, entity, path, here)?;
        } else if let Some(t) = obj.get("template") {
            let t = t.as_str().ok_or_else(|| invalid(format!("{here}: 'template' is text")))?;
            crate::email::render_check(t, "").map_err(|e| invalid(format!("{here}: {e}")))?;
        } else if let Some(d) = obj.get("now") {
            duration(d).map_err(|m| invalid(format!("{here}: {m}")))?;
        } else if obj.get("record").is_none() && obj.get("entity").is_none() && obj.get("user").is_none() {
            return Err(invalid(format!(
                "{here}: a value is a literal or one of {{\"field\"}}, {{\"template\"}}, {{\"now\"}}, {{\"record\"}}, {{\"user\"}}"
            )));
        }
    }
    Ok(())
}

/// A column path (`parentcustomerid.ownerid`) exists: each part but the
/// last a lookup with one target, or a polymorphic one read as its record.
pub(super) fn check_path(schema: &Schema, entity: &str, path: &str, here: &str) -> Result<()> {
    let mut current = entity.to_string();
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let e = schema.entity(&current).ok_or_else(|| invalid(format!("{here}: no entity '{current}'")))?;
        let a = e.attribute(part).ok_or_else(|| invalid(format!("{here}: {current} has no column '{part}'")))?;
        if i + 1 < parts.len() {
            if !a.kind.is_lookup() {
                return Err(invalid(format!(
                    "{here}: '{part}' of {current} is not a lookup, so '{path}' goes nowhere"
                )));
            }
            match a.targets.as_slice() {
                [t] => current = t.entity.clone(),
                // Polymorphic (customer, owner): the rest is checked when it runs.
                _ => return Ok(()),
            }
        }
    }
    Ok(())
}

fn check_condition(schema: &Schema, entity: &str, c: &Json, here: &str) -> Result<()> {
    let bad = |m: String| invalid(format!("{here}: {m}"));
    let obj = c.as_object().ok_or_else(|| bad("a condition is an object".into()))?;
    for group in ["all", "any"] {
        if let Some(list) = obj.get(group) {
            let list = list.as_array().ok_or_else(|| bad(format!("'{group}' is a list of conditions")))?;
            for (i, inner) in list.iter().enumerate() {
                check_condition(schema, entity, inner, &format!("{here}.{group}[{i}]"))?;
            }
            return Ok(());
        }
    }
    let field = obj
        .get("field")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("a condition needs 'field' (or 'all'/'any')".into()))?;
    check_path(schema, entity, field, here)?;
    let op = obj.get("op").and_then(Json::as_str).unwrap_or("eq");
    if !OPS.contains(&op) {
        return Err(bad(format!("unknown operator '{op}'; the operators are {}", OPS.join(", "))));
    }
    match op {
        "null" | "notnull" | "changed" => {}
        "olderthan" | "newerthan" => {
            duration(obj.get("value").unwrap_or(&Json::Null)).map_err(|m| bad(m.to_string()))?;
        }
        "in" | "notin" => {
            if !obj.get("value").is_some_and(Json::is_array) {
                return Err(bad(format!("'{op}' compares with a list")));
            }
        }
        _ => {
            if obj.get("value").is_none() {
                return Err(bad(format!("'{op}' needs a 'value'")));
            }
        }
    }
    Ok(())
}

/// A duration written as `{"days": 1, "hours": 2, "minutes": 30}`.
pub(super) fn duration(d: &Json) -> Result<chrono::Duration> {
    let obj = d.as_object().ok_or_else(|| invalid("a duration is an object of days, hours and minutes"))?;
    let mut total = chrono::Duration::zero();
    for (k, v) in obj {
        let n = v.as_i64().filter(|n| (0..=36_500 * 1440).contains(n));
        let n = n.ok_or_else(|| invalid(format!("'{k}' of a duration is a whole number of at least 0")))?;
        total += match k.as_str() {
            "days" => chrono::Duration::days(n.min(36_500)),
            "hours" => chrono::Duration::hours(n.min(36_500 * 24)),
            "minutes" => chrono::Duration::minutes(n),
            other => return Err(invalid(format!("a duration has days, hours and minutes, not '{other}'"))),
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn if_compiles_to_jumps() {
        let def = json!({"steps": [
            {"type": "notify", "n": 0},
            {"type": "if", "condition": {"field": "x"}, "then": [{"type": "notify", "n": 1}], "else": [{"type": "notify", "n": 2}]},
            {"type": "if", "condition": {"field": "y"}, "then": [{"type": "notify", "n": 3}]},
            {"type": "notify", "n": 4},
        ]});
        let p = compile(&def).unwrap();
        let shape: Vec<String> = p
            .iter()
            .map(|i| match i {
                Instr::Step(s) => format!("s{}", s["n"]),
                Instr::JumpUnless(_, t) => format!("?{t}"),
                Instr::Jump(t) => format!("j{t}"),
            })
            .collect();
        assert_eq!(shape, ["s0", "?4", "s1", "j5", "s2", "?7", "s3", "s4"]);
    }

    #[test]
    fn durations_read_as_written_and_refuse_the_rest() {
        assert_eq!(duration(&json!({"days": 1, "hours": 2, "minutes": 3})).unwrap(), chrono::Duration::minutes(1563));
        assert!(duration(&json!({"weeks": 1})).unwrap_err().to_string().contains("not 'weeks'"));
        assert!(duration(&json!({"days": -1})).is_err());
        assert!(duration(&json!("PT2H")).is_err());
    }
}
