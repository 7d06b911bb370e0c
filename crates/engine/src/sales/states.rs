//! The lifecycle of sales records: which state changes a plain update may
//! make, which only a business action may make, and which states are
//! read-only.

use relata_metadata::{Entity, Value};

use crate::error::{EngineError, Result};
use crate::session::{Fields, Session};

/// A permitted change of `statecode` on `entity`. With `via` empty, an
/// update (`PATCH statecode`) may make it; otherwise only those actions.
struct Transition {
    entity: &'static str,
    from: &'static [i64],
    to: i64,
    via: &'static [&'static str],
}

const fn t(entity: &'static str, from: &'static [i64], to: i64, via: &'static [&'static str]) -> Transition {
    Transition { entity, from, to, via }
}

const TRANSITIONS: &[Transition] = &[
    // Lead: qualify by action; disqualify and reactivate by update.
    t("lead", &[0], 1, &["QualifyLead"]),
    t("lead", &[0], 2, &[]),
    t("lead", &[1, 2], 0, &[]),
    // Opportunity: won or lost through the close actions; reopened by update.
    t("opportunity", &[0], 1, &["WinOpportunity"]),
    t("opportunity", &[0], 2, &["LoseOpportunity"]),
    t("opportunity", &[1, 2], 0, &[]),
    // Quote: Draft → Active by update; won, closed or revised by action.
    t("quote", &[0], 1, &[]),
    t("quote", &[1], 2, &["WinQuote", "ConvertQuoteToSalesOrder"]),
    t("quote", &[1], 3, &["CloseQuote", "ReviseQuote"]),
    t("quote", &[3], 3, &["ReviseQuote"]),
    // Sales order: submitted by update; fulfilled, canceled, invoiced by action.
    t("salesorder", &[0], 1, &[]),
    t("salesorder", &[0, 1], 2, &["CancelSalesOrder"]),
    t("salesorder", &[0, 1], 3, &["FulfillSalesOrder"]),
    t("salesorder", &[0, 1, 3], 4, &["ConvertSalesOrderToInvoice"]),
    // Invoice: paid (by update or by recording payments), canceled by update.
    t("invoice", &[0, 2], 2, &[]),
    t("invoice", &[0], 3, &[]),
];

/// The entities with a sales lifecycle.
pub(super) const ENTITIES: [&str; 5] = ["lead", "opportunity", "quote", "salesorder", "invoice"];

/// Status changes allowed within a read-only state: a partly paid
/// invoice marked paid in full (the rest is recorded as a payment).
const STATUS_CHANGES: &[(&str, i64, i64)] = &[("invoice", 2, 100001)];

/// States whose records cannot be edited (closed, won, submitted…).
fn read_only_states(entity: &str) -> &'static [i64] {
    match entity {
        "lead" | "opportunity" => &[1, 2],
        "quote" => &[1, 2, 3],
        "salesorder" => &[1, 2, 3, 4],
        "invoice" => &[1, 2, 3],
        _ => &[],
    }
}

/// Columns that may change on a read-only record: its state and owner.
fn always_changeable(column: &str) -> bool {
    matches!(column, "statecode" | "statuscode" | "ownerid" | "owningbusinessunit")
}

fn state_name(entity: &Entity, state: i64) -> String {
    entity.state(state as i32).map(|s| s.name.clone()).unwrap_or_else(|| state.to_string())
}

pub(super) fn check(s: &Session<'_, '_, '_>, entity: &Entity, existing: &Fields, changes: &Fields) -> Result<()> {
    let name = entity.name();
    if !TRANSITIONS.iter().any(|t| t.entity == name) {
        return Ok(());
    }
    let from = existing.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    let to = changes.get("statecode").and_then(Value::as_i64).unwrap_or(from);
    let noun = super::kind_of_doc(name).map(|k| k.noun).unwrap_or(name);
    if to != from {
        let Some(rule) = TRANSITIONS.iter().find(|t| t.entity == name && t.to == to && t.from.contains(&from)) else {
            return Err(EngineError::Invalid(format!(
                "A {noun} cannot go from {} to {}.",
                state_name(entity, from),
                state_name(entity, to)
            )));
        };
        if !rule.via.is_empty() && !s.action.is_some_and(|a| rule.via.contains(&a)) {
            return Err(EngineError::Invalid(format!(
                "A {noun} becomes {} through {}, not by setting statecode.",
                state_name(entity, to),
                rule.via.join(" or ")
            )));
        }
        return Ok(());
    }
    if s.action.is_none() && read_only_states(name).contains(&from) {
        let edited = changes.iter().any(|(k, v)| {
            existing.get(k) != Some(v)
                && (!always_changeable(k)
                    || k == "statuscode" && !STATUS_CHANGES.contains(&(name, from, v.as_i64().unwrap_or(-1))))
        });
        if edited {
            return Err(EngineError::Invalid(format!(
                "This {noun} is {} and cannot be edited.",
                state_name(entity, from).to_lowercase()
            )));
        }
    }
    Ok(())
}
