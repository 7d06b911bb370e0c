//! Business rules that run inside the write pipeline, chosen by metadata
//! (what attributes an entity has, whether it is an activity) rather than
//! by entity-specific code paths where possible. Later modules (sales,
//! service, marketing) add their steps here.

use relata_metadata::{AttrKind, Entity, EntityRef, Value, MONEY_SCALE};
use relata_store::{Param, Storage};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::session::{Fields, Session};

/// A merged view: the change if present, else the stored value.
pub(crate) fn current<'a>(existing: Option<&'a Fields>, changes: &'a Fields, name: &str) -> Option<&'a Value> {
    changes.get(name).or_else(|| existing.and_then(|e| e.get(name)))
}

pub(crate) fn pre_create(s: &mut Session<'_, '_, '_>, entity: &Entity, fields: &mut Fields) -> Result<()> {
    full_name(entity, None, fields);
    // Sales rules compute amounts, so they run before the base-currency twins.
    crate::sales::pre_create(s, entity, fields)?;
    money_bases(s, entity, None, fields)?;
    durations(entity, None, fields);
    attachment(entity, fields);
    match entity.name() {
        "systemuser" => {
            if fields.get("businessunitid").is_none_or(Value::is_null) {
                fields.insert("businessunitid".into(), bu_ref(s.org.ids.root_business_unit));
            }
            unique_email(s, None, fields)?;
            if fields.get("domainname").is_none_or(Value::is_null) {
                if let Some(email) = fields.get("internalemailaddress").cloned() {
                    fields.insert("domainname".into(), email);
                }
            }
            fields.entry("accessmode".into()).or_insert(Value::Int(0));
            fields.entry("caltype".into()).or_insert(Value::Int(0));
        }
        "team" => {
            if fields.get("businessunitid").is_none_or(Value::is_null) {
                fields.insert("businessunitid".into(), bu_ref(s.principal.business_unit_id));
            }
            fields.entry("teamtype".into()).or_insert(Value::Int(0));
            if fields.get("administratorid").is_none_or(Value::is_null) {
                fields.insert(
                    "administratorid".into(),
                    Value::Ref(EntityRef { entity: "systemuser".into(), id: s.principal.user_id }),
                );
            }
        }
        "role" if fields.get("businessunitid").is_none_or(Value::is_null) => {
            fields.insert("businessunitid".into(), bu_ref(s.org.ids.root_business_unit));
        }
        "businessunit" if fields.get("parentbusinessunitid").is_none_or(Value::is_null) => {
            fields.insert("parentbusinessunitid".into(), bu_ref(s.org.ids.root_business_unit));
        }
        _ => {}
    }
    Ok(())
}

pub(crate) fn pre_update(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    existing: &Fields,
    changes: &mut Fields,
) -> Result<()> {
    closed_activity(entity, existing, changes)?;
    full_name(entity, Some(existing), changes);
    crate::sales::pre_update(s, entity, id, existing, changes)?;
    money_bases(s, entity, Some(existing), changes)?;
    durations(entity, Some(existing), changes);
    attachment(entity, changes);
    match entity.name() {
        "systemuser" => {
            unique_email(s, Some(id), changes)?;
            let disabling = changes.get("isdisabled").and_then(Value::as_bool) == Some(true)
                && existing.get("isdisabled").and_then(Value::as_bool) != Some(true);
            if disabling && s.holds_administrator_role(id)? {
                s.keep_one_administrator(id)?;
            }
        }
        "role" if id == s.org.ids.system_administrator_role => {
            return Err(EngineError::Invalid("The System Administrator role cannot be changed.".into()));
        }
        "team"
            if existing.get("isdefault").and_then(Value::as_bool) == Some(true)
                && (changes.contains_key("businessunitid") || changes.contains_key("name")) =>
        {
            return Err(EngineError::Invalid(
                "A business unit's default team follows its business unit: it cannot be renamed or moved.".into(),
            ));
        }
        "businessunit" => {
            if id == s.org.ids.root_business_unit {
                if changes.get("parentbusinessunitid").is_some_and(|v| !v.is_null()) {
                    return Err(EngineError::Invalid("the root business unit cannot have a parent".into()));
                }
                if changes.get("isdisabled").and_then(Value::as_bool) == Some(true) {
                    return Err(EngineError::Invalid("The root business unit cannot be disabled.".into()));
                }
            } else if let Some(v) = changes.get("parentbusinessunitid") {
                let Some(parent) = v.as_uuid() else {
                    return Err(EngineError::Invalid("a business unit other than the root needs a parent".into()));
                };
                no_cycle(s, id, parent)?;
            }
        }
        _ => {}
    }
    Ok(())
}

// Post-operation steps run after the write, in its transaction; the sales,
// service and marketing modules add theirs here.
pub(crate) fn post_create(s: &mut Session<'_, '_, '_>, entity: &Entity, id: Uuid, fields: &Fields) -> Result<()> {
    crate::sales::post_create(s, entity, id, fields)?;
    match entity.name() {
        "businessunit" => {
            let name = fields.get("name").and_then(Value::as_str).unwrap_or("Business Unit").to_string();
            s.create_default_team(id, &name)?;
        }
        "systemuser" => {
            if let Some(bu) = fields.get("businessunitid").and_then(Value::as_uuid) {
                s.join_default_team(id, bu)?;
            }
        }
        _ => {}
    }
    Ok(())
}

pub(crate) fn post_update(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    existing: &Fields,
    changes: &Fields,
) -> Result<()> {
    let moved = |k: &str| {
        changes
            .get(k)
            .and_then(Value::as_uuid)
            .zip(existing.get(k).and_then(Value::as_uuid))
            .filter(|(new, old)| new != old)
    };
    crate::sales::post_update(s, entity, id, existing, changes)?;
    match entity.name() {
        "systemuser" => {
            if let Some((new, old)) = moved("businessunitid") {
                s.user_moved(id, old, new)?;
            }
            // Enabling a user lets them sign in again: a lock-out from
            // failed attempts ends with it.
            let enabled = changes.get("isdisabled").and_then(Value::as_bool) == Some(false)
                && existing.get("isdisabled").and_then(Value::as_bool) == Some(true);
            if enabled {
                crate::signin::clear_lockout(s.tx, id)?;
            }
        }
        "team" => {
            if let Some((new, _)) = moved("businessunitid") {
                s.team_moved(id, new)?;
            }
        }
        "businessunit" => {
            if let (Some(Value::String(name)), Some(team)) = (changes.get("name"), s.default_team(id)?) {
                s.tx.execute(
                    "UPDATE team SET name = $1 WHERE teamid = $2",
                    &[Param::text(name.chars().take(160).collect::<String>()), Param::uuid(team)],
                )?;
            }
        }
        _ => {}
    }
    Ok(())
}

pub(crate) fn pre_delete(s: &mut Session<'_, '_, '_>, entity: &Entity, id: Uuid, existing: &Fields) -> Result<()> {
    crate::sales::pre_delete(s, entity, id, existing)?;
    match entity.name() {
        "systemuser" => {
            Err(EngineError::Invalid("Users cannot be deleted; disable them instead (isdisabled = true).".into()))
        }
        "businessunit" if id == s.org.ids.root_business_unit => {
            Err(EngineError::Invalid("The root business unit cannot be deleted.".into()))
        }
        "businessunit" => {
            // Its default team goes with it (and cannot while it owns records).
            if let Some(team) = s.default_team(id)? {
                let entity = s.entity("team")?;
                s.delete_cascade(&entity, team, &mut std::collections::HashSet::new())?;
            }
            Ok(())
        }
        "team" if existing.get("isdefault").and_then(Value::as_bool) == Some(true) => Err(EngineError::Invalid(
            "A business unit's default team is removed with its business unit, not on its own.".into(),
        )),
        "role" if id == s.org.ids.system_administrator_role => {
            Err(EngineError::Invalid("The System Administrator role cannot be deleted.".into()))
        }
        "organization" => Err(EngineError::Invalid("The organization cannot be deleted.".into())),
        "transactioncurrency" if id == s.org.ids.base_currency => {
            Err(EngineError::Invalid("The base currency cannot be deleted.".into()))
        }
        _ => Ok(()),
    }
}

/// After a record (and its cascade) was deleted.
pub(crate) fn post_delete(s: &mut Session<'_, '_, '_>, entity: &Entity, id: Uuid, existing: &Fields) -> Result<()> {
    crate::sales::post_delete(s, entity, id, existing)
}

fn bu_ref(id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: "businessunit".into(), id })
}

/// `fullname` = first name + last name, for every entity that has the three.
fn full_name(entity: &Entity, existing: Option<&Fields>, changes: &mut Fields) {
    let (Some(_), Some(_), Some(_)) =
        (entity.attribute("firstname"), entity.attribute("lastname"), entity.attribute("fullname"))
    else {
        return;
    };
    if existing.is_some() && !changes.contains_key("firstname") && !changes.contains_key("lastname") {
        return;
    }
    let part = |n: &str| current(existing, changes, n).and_then(Value::as_str).map(str::trim).unwrap_or("").to_string();
    let full =
        [part("firstname"), part("lastname")].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    changes.insert("fullname".into(), if full.is_empty() { Value::Null } else { Value::String(full) });
}

/// Transaction currency, exchange rate and the `_base` twin of every money
/// column, recomputed whenever an amount or the currency changes.
pub(crate) fn money_bases(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    existing: Option<&Fields>,
    changes: &mut Fields,
) -> Result<()> {
    if entity.attribute("transactioncurrencyid").is_none() {
        return Ok(());
    }
    let has_money = entity.attributes().iter().any(|a| a.kind == AttrKind::Money && a.base_of.is_some());
    let currency_changed = changes.contains_key("transactioncurrencyid");
    if existing.is_none() && current(None, changes, "transactioncurrencyid").is_none_or(Value::is_null) {
        if !has_money {
            return Ok(());
        }
        changes.insert(
            "transactioncurrencyid".into(),
            Value::Ref(EntityRef { entity: "transactioncurrency".into(), id: s.org.ids.base_currency }),
        );
    }
    let Some(currency) = current(existing, changes, "transactioncurrencyid").and_then(Value::as_uuid) else {
        return Ok(());
    };
    let rate = if existing.is_none() || currency_changed {
        let row = s.tx.query_one(
            "SELECT exchangerate FROM transactioncurrency WHERE transactioncurrencyid = $1",
            &[Param::uuid(currency)],
            &[s.schema
                .entity("transactioncurrency")
                .and_then(|c| c.attribute("exchangerate"))
                .map(Storage::of)
                .unwrap_or(Storage::Decimal(12))],
        )?;
        let rate = row.and_then(|r| r[0].as_decimal()).filter(|r| !r.is_zero()).unwrap_or(Decimal::ONE);
        if entity.attribute("exchangerate").is_some() {
            changes.insert("exchangerate".into(), Value::Decimal(rate));
        }
        rate
    } else {
        current(existing, changes, "exchangerate")
            .and_then(Value::as_decimal)
            .filter(|r| !r.is_zero())
            .unwrap_or(Decimal::ONE)
    };
    for a in entity.attributes() {
        let (AttrKind::Money, Some(base)) = (a.kind, &a.base_of) else { continue };
        if existing.is_some() && !currency_changed && !changes.contains_key(&a.name) {
            continue;
        }
        let value = current(existing, changes, &a.name).and_then(Value::as_decimal);
        let base_value = match value {
            Some(v) => Value::Decimal((v / rate).round_dp(MONEY_SCALE).normalize()),
            None => Value::Null,
        };
        changes.insert(base.clone(), base_value);
    }
    Ok(())
}

/// Activities: scheduled duration follows the scheduled start and end.
fn durations(entity: &Entity, existing: Option<&Fields>, changes: &mut Fields) {
    if !entity.def.is_activity || entity.attribute("scheduleddurationminutes").is_none() {
        return;
    }
    if !changes.contains_key("scheduledstart") && !changes.contains_key("scheduledend") {
        return;
    }
    let start = current(existing, changes, "scheduledstart").and_then(Value::as_datetime);
    let end = current(existing, changes, "scheduledend").and_then(Value::as_datetime);
    if let (Some(s), Some(e)) = (start, end) {
        changes.insert("scheduleddurationminutes".into(), Value::Int((e - s).num_minutes().max(0)));
    }
}

/// Completed or canceled activities are read-only until reopened.
fn closed_activity(entity: &Entity, existing: &Fields, changes: &Fields) -> Result<()> {
    if !entity.def.is_activity {
        return Ok(());
    }
    let state = existing.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    let closed = matches!(state, 1 | 2);
    let reopening = changes.get("statecode").and_then(Value::as_i64).is_some_and(|s| s == 0 || s == 3);
    if closed && !reopening && changes.keys().any(|k| k != "statecode" && k != "statuscode") {
        return Err(EngineError::Invalid(format!(
            "This {} is closed (completed or canceled) and cannot be edited; reopen it first.",
            entity.name()
        )));
    }
    Ok(())
}

/// Notes with a file: size and document flag follow the content.
fn attachment(entity: &Entity, changes: &mut Fields) {
    if entity.name() != "annotation" {
        return;
    }
    match changes.get("documentbody") {
        Some(Value::Bytes(b)) => {
            let len = b.len() as i64;
            changes.insert("filesize".into(), Value::Int(len));
            changes.insert("isdocument".into(), Value::Bool(true));
        }
        Some(Value::Null) => {
            changes.insert("filesize".into(), Value::Null);
            changes.insert("isdocument".into(), Value::Bool(false));
        }
        _ => {}
    }
}

fn unique_email(s: &mut Session<'_, '_, '_>, id: Option<Uuid>, changes: &Fields) -> Result<()> {
    let Some(Value::String(email)) = changes.get("internalemailaddress") else { return Ok(()) };
    let rows = s.tx.query(
        "SELECT systemuserid FROM systemuser WHERE lower(internalemailaddress) = lower($1)",
        &[Param::text(email.clone())],
        &[Storage::Uuid],
    )?;
    if rows.iter().any(|r| r[0].as_uuid() != id) {
        return Err(EngineError::Conflict(format!("A user with the email '{email}' already exists.")));
    }
    Ok(())
}

fn no_cycle(s: &mut Session<'_, '_, '_>, id: Uuid, parent: Uuid) -> Result<()> {
    let mut cursor = Some(parent);
    let mut steps = 0;
    while let Some(c) = cursor {
        if c == id {
            return Err(EngineError::Invalid(
                "a business unit cannot be placed under itself or its own children".into(),
            ));
        }
        steps += 1;
        if steps > 1000 {
            break;
        }
        cursor =
            s.tx.query_one(
                "SELECT parentbusinessunitid FROM businessunit WHERE businessunitid = $1",
                &[Param::uuid(c)],
                &[Storage::Uuid],
            )?
            .and_then(|r| r[0].as_uuid());
    }
    Ok(())
}
