//! What a workflow reads: columns of its record and of records its
//! lookups lead to, conditions on them, and the values its steps write.
//!
//! Conditions are read as the server (what a workflow decides on does not
//! depend on who made the change); writes go through the session as the
//! user the workflow runs as, so their privileges and every rule apply.

use chrono::{DateTime, Utc};
use relata_metadata::{AttrKind, AttributeDef, EntityRef, Value};
use rust_decimal::Decimal;
use serde_json::Value as Json;

use super::definition::duration;
use crate::error::{EngineError, Result};
use crate::session::{Fields, Session};

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// The record a run is about: its values now (or as it was, when deleted),
/// and what the triggering change changed.
#[derive(Debug, Clone)]
pub(super) struct Subject {
    pub record: EntityRef,
    pub fields: Fields,
    pub changed: Vec<String>,
}

/// The value at a column path, following lookups as the server.
pub(super) fn read_path(
    s: &mut Session<'_, '_, '_>,
    subject: &Subject,
    path: &str,
) -> Result<(Value, Option<AttributeDef>)> {
    let mut entity = subject.record.entity.clone();
    let mut fields = subject.fields.clone();
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let attr = s.schema.entity(&entity).and_then(|e| e.attribute(part).cloned());
        let value = fields.get(*part).cloned().unwrap_or(Value::Null);
        if i + 1 == parts.len() {
            return Ok((value, attr));
        }
        let Value::Ref(next) = value else { return Ok((Value::Null, None)) };
        match s.read_system(&next.entity, next.id)? {
            Some(f) => {
                entity = next.entity.clone();
                fields = f;
            }
            None => return Ok((Value::Null, None)),
        }
    }
    Ok((Value::Null, None))
}

/// A literal of a definition as a value of a column.
pub(super) fn literal(j: &Json, attr: Option<&AttributeDef>) -> Result<Value> {
    if j.is_null() {
        return Ok(Value::Null);
    }
    let kind = attr.map(|a| &a.kind);
    let bad = || invalid(format!("{j} is not a value of {}", attr.map(|a| a.name.as_str()).unwrap_or("the column")));
    Ok(match kind {
        Some(k) if k.is_lookup() => {
            let text = j.as_str().ok_or_else(bad)?;
            match text.split_once(':') {
                Some((entity, id)) => {
                    Value::Ref(EntityRef { entity: entity.into(), id: id.parse().map_err(|_| bad())? })
                }
                None => {
                    let id = text.parse().map_err(|_| bad())?;
                    let targets = attr.map(|a| a.targets.clone()).unwrap_or_default();
                    match targets.as_slice() {
                        [t] => Value::Ref(EntityRef { entity: t.entity.clone(), id }),
                        _ => Value::Uuid(id),
                    }
                }
            }
        }
        Some(AttrKind::Boolean) => Value::Bool(j.as_bool().ok_or_else(bad)?),
        Some(AttrKind::Money | AttrKind::Decimal) => Value::Decimal(match j {
            Json::String(t) => t.parse::<Decimal>().map_err(|_| bad())?,
            Json::Number(n) => n.to_string().parse::<Decimal>().map_err(|_| bad())?,
            _ => return Err(bad()),
        }),
        Some(AttrKind::Double) => Value::Double(j.as_f64().ok_or_else(bad)?),
        Some(AttrKind::DateTime) => {
            let t = j.as_str().ok_or_else(bad)?;
            let parsed = DateTime::parse_from_rfc3339(t).map(|d| d.with_timezone(&Utc)).or_else(|_| {
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
            });
            Value::DateTime(parsed.map_err(|_| bad())?)
        }
        Some(AttrKind::Uniqueidentifier) => Value::Uuid(j.as_str().and_then(|t| t.parse().ok()).ok_or_else(bad)?),
        Some(k) if k.is_option() || matches!(k, AttrKind::Integer | AttrKind::BigInt) => {
            Value::Int(j.as_i64().ok_or_else(bad)?)
        }
        _ => match j {
            Json::String(t) => Value::String(t.clone()),
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Decimal(n.to_string().parse().map_err(|_| bad())?),
            },
            _ => return Err(bad()),
        },
    })
}

/// Text a condition compares with a string operator.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        Value::Ref(r) => r.id.to_string(),
        Value::Uuid(u) => u.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.normalize().to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Orders two values of one column (ids compare as ids).
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Decimal(y)) => Some(Decimal::from(*x).cmp(y)),
        (Value::Decimal(x), Value::Int(y)) => Some(x.cmp(&Decimal::from(*y))),
        (Value::Decimal(x), Value::Decimal(y)) => Some(x.cmp(y)),
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (x, y) if x.as_uuid().is_some() && y.as_uuid().is_some() => Some(x.as_uuid().cmp(&y.as_uuid())),
        _ => None,
    }
}

/// Does the condition hold for the subject now?
pub(super) fn holds(s: &mut Session<'_, '_, '_>, subject: &Subject, c: &Json) -> Result<bool> {
    if c.is_null() {
        return Ok(true);
    }
    if let Some(list) = c.get("all").and_then(Json::as_array) {
        for inner in list {
            if !holds(s, subject, inner)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(list) = c.get("any").and_then(Json::as_array) {
        for inner in list {
            if holds(s, subject, inner)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let field = c.get("field").and_then(Json::as_str).ok_or_else(|| invalid("a condition needs 'field'"))?;
    let op = c.get("op").and_then(Json::as_str).unwrap_or("eq");
    if op == "changed" {
        return Ok(subject.changed.iter().any(|f| f == field));
    }
    let (value, attr) = read_path(s, subject, field)?;
    let wanted = c.get("value").cloned().unwrap_or(Json::Null);
    let lit = |j: &Json| literal(j, attr.as_ref());
    let now = s.now;
    Ok(match op {
        "null" => value.is_null(),
        "notnull" => !value.is_null(),
        "eq" | "ne" => {
            let same = match lit(&wanted)? {
                Value::Null => value.is_null(),
                w => compare(&value, &w) == Some(std::cmp::Ordering::Equal),
            };
            (op == "eq") == same
        }
        "gt" | "ge" | "lt" | "le" => {
            let Some(order) = compare(&value, &lit(&wanted)?) else { return Ok(false) };
            match op {
                "gt" => order.is_gt(),
                "ge" => order.is_ge(),
                "lt" => order.is_lt(),
                _ => order.is_le(),
            }
        }
        "contains" | "notcontains" | "beginswith" | "endswith" => {
            let hay = as_text(&value).to_lowercase();
            let needle = wanted.as_str().map(str::to_lowercase).unwrap_or_else(|| wanted.to_string());
            match op {
                "contains" => hay.contains(&needle),
                "notcontains" => !hay.contains(&needle),
                "beginswith" => hay.starts_with(&needle),
                _ => hay.ends_with(&needle),
            }
        }
        "in" | "notin" => {
            let mut found = false;
            for w in wanted.as_array().cloned().unwrap_or_default() {
                if compare(&value, &lit(&w)?) == Some(std::cmp::Ordering::Equal) {
                    found = true;
                    break;
                }
            }
            (op == "in") == found
        }
        "olderthan" | "newerthan" => {
            let Value::DateTime(t) = value else { return Ok(false) };
            let cut = now - duration(&wanted)?;
            if op == "olderthan" {
                t < cut
            } else {
                t >= cut
            }
        }
        other => return Err(invalid(format!("unknown operator '{other}'"))),
    })
}

/// The value a step writes into `attr` from a value spec.
pub(super) fn value_of(
    s: &mut Session<'_, '_, '_>,
    subject: &Subject,
    spec: &Json,
    attr: Option<&AttributeDef>,
) -> Result<Value> {
    let Some(obj) = spec.as_object() else { return literal(spec, attr) };
    if let Some(path) = obj.get("field").and_then(Json::as_str) {
        let (v, _) = read_path(s, subject, path)?;
        return Ok(match (v, attr) {
            // A lookup's record named where text is wanted.
            (Value::Ref(r), Some(a)) if !a.kind.is_lookup() => {
                Value::String(s.lookup_names(&[&r])?.remove(&r.id).unwrap_or_default())
            }
            (v, _) => v,
        });
    }
    if let Some(t) = obj.get("template").and_then(Json::as_str) {
        return Ok(Value::String(render(s, subject, t)?));
    }
    if let Some(d) = obj.get("now") {
        return Ok(Value::DateTime(s.now + duration(d)?));
    }
    if obj.get("record").is_some() {
        return Ok(Value::Ref(subject.record.clone()));
    }
    if let Some(u) = obj.get("user").and_then(Json::as_str) {
        let id = u.parse().map_err(|_| invalid(format!("'{u}' is not a user id")))?;
        return Ok(Value::Ref(EntityRef { entity: "systemuser".into(), id }));
    }
    if let (Some(e), Some(id)) = (obj.get("entity").and_then(Json::as_str), obj.get("id").and_then(Json::as_str)) {
        let id = id.parse().map_err(|_| invalid(format!("'{id}' is not an id")))?;
        return Ok(Value::Ref(EntityRef { entity: e.into(), id }));
    }
    Err(invalid(format!("{spec} is not a value a step can write")))
}

/// Text with placeholders filled from the record (as email templates are).
pub(super) fn render(s: &mut Session<'_, '_, '_>, subject: &Subject, text: &str) -> Result<String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.set_fuel(Some(1_000_000));
    let cannot = |e: minijinja::Error| invalid(format!("the text '{text}' cannot be filled in: {e}"));
    let template = env.template_from_str(text).map_err(cannot)?;
    let reads = crate::email::Reads::of(&[&template]);
    let record = s.as_system(|s| crate::email::record_context(s, &subject.record, 1, false, "record", &reads))?;
    let record = if record.is_null() {
        serde_json::to_value(fields_as_text(&subject.fields)).unwrap_or_default()
    } else {
        record
    };
    let ctx = serde_json::json!({ "record": record });
    template.render(minijinja::Value::from(minijinja::value::Serde(&ctx))).map_err(cannot)
}

/// A deleted record's values as text, for placeholders.
fn fields_as_text(fields: &Fields) -> std::collections::BTreeMap<String, String> {
    fields.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()
}
