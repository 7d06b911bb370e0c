//! Lifecycles as the metadata declares them (`[[entity.transitions]]` and
//! `read_only` states next to each entity): which state changes an update
//! may make, which only a named action of the catalog may, and which
//! states freeze a record. One rule for every entity, the sales documents
//! and a module's own alike.

use relata_metadata::{Entity, Value};

use crate::error::{EngineError, Result};
use crate::modules::StepContext;
use crate::session::{Fields, Session};

/// Columns that may change on a read-only record: its state and owner.
fn always_changeable(column: &str) -> bool {
    matches!(column, "statecode" | "statuscode" | "ownerid" | "owningbusinessunit")
}

fn state_name(entity: &Entity, state: i64) -> String {
    entity.state(state as i32).map(|s| s.name.clone()).unwrap_or_else(|| state.to_string())
}

/// The Russian names of the entity and its states, for the translated text.
fn label(entity: &Entity) -> String {
    entity.def.label.text(1049).to_string()
}

fn state_label(entity: &Entity, state: i64) -> String {
    entity.state(state as i32).map(|s| s.label.text(1049).to_string()).unwrap_or_else(|| state.to_string())
}

/// How a record of the entity is named in messages ("an order").
fn noun(entity: &Entity) -> String {
    entity.def.label.en.to_lowercase()
}

/// The PreOperation step of Update on every entity.
pub(crate) fn check_step(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let empty = Fields::new();
    check(s, c.entity, c.pre_image.unwrap_or(&empty), c.target)
}

fn check(s: &Session<'_, '_, '_>, entity: &Entity, existing: &Fields, changes: &Fields) -> Result<()> {
    let transitions = &entity.def.transitions;
    let from = existing.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    let to = changes.get("statecode").and_then(Value::as_i64).unwrap_or(from);
    if to != from && !transitions.is_empty() {
        let Some(rule) = transitions.iter().find(|t| t.to as i64 == to && t.from.contains(&(from as i32))) else {
            return Err(EngineError::refused(
                Some("statecode"),
                "bad_transition",
                vec![("entity", label(entity)), ("from", state_label(entity, from)), ("to", state_label(entity, to))],
                format!(
                    "A {} cannot go from {} to {}.",
                    noun(entity),
                    state_name(entity, from),
                    state_name(entity, to)
                ),
            ));
        };
        if !rule.via.is_empty() && !s.action.is_some_and(|a| rule.via.iter().any(|v| v == a)) {
            return Err(EngineError::refused(
                Some("statecode"),
                "via_action",
                vec![("entity", label(entity)), ("to", state_label(entity, to)), ("actions", rule.via.join(", "))],
                format!(
                    "A {} becomes {} through {}, not by setting statecode.",
                    noun(entity),
                    state_name(entity, to),
                    rule.via.join(" or ")
                ),
            ));
        }
        return Ok(());
    }
    let Some(state) = entity.state(from as i32).filter(|st| st.read_only) else { return Ok(()) };
    if to != from || s.action.is_some() {
        return Ok(());
    }
    let edited = changes.iter().any(|(k, v)| {
        existing.get(k) != Some(v)
            && (!always_changeable(k)
                || k == "statuscode" && !state.changeable_statuses.contains(&(v.as_i64().unwrap_or(-1) as i32)))
    });
    if edited {
        return Err(EngineError::refused(
            None,
            "read_only_state",
            vec![("entity", label(entity)), ("state", state_label(entity, from))],
            format!("This {} is {} and cannot be edited.", noun(entity), state_name(entity, from).to_lowercase()),
        ));
    }
    Ok(())
}
