//! The platform's pipeline steps, chosen by metadata (what attributes an
//! entity has, whether it is an activity) where possible, and for the
//! security records (users, teams, roles, business units) by entity.

use std::collections::HashMap;

use relata_metadata::{AttrKind, Entity, EntityRef, Value, MONEY_SCALE};
use relata_store::{Param, Storage};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::modules::{Message, Registry, Stage, Step, StepContext};
use crate::session::{current, Fields, Session};

/// Registers the platform's steps: rules every organization has, whatever
/// modules it runs.
pub(super) fn register(r: &mut Registry) {
    use Message::{Create, Delete, Update};
    use Stage::{PostOperation, PreOperation};
    const EARLY: i32 = 10;
    // Base-currency twins and durations follow every module's amounts
    // and dates, so they run last.
    const LATE: i32 = 900;
    r.step(
        Step::new("closed_activity", Update, PreOperation, closed_activity_step)
            .rank(0)
            .describe("Completed or canceled activities are read-only until reopened."),
    );
    for message in [Create, Update] {
        let step = Step::new("full_name", message, PreOperation, full_name_step)
            .rank(EARLY)
            .describe("fullname = first name + last name, for every entity that has the three.");
        r.step(if message == Update { step.filtering(&["firstname", "lastname"]) } else { step });
        r.step(
            Step::new("money_bases", message, PreOperation, money_bases_step)
                .batch(money_bases_batch)
                .rank(LATE)
                .describe("Transaction currency, exchange rate and the base-currency twin of every money column."),
        );
        let step = Step::new("durations", message, PreOperation, durations_step)
            .rank(LATE + 10)
            .describe("An activity's scheduled duration follows its scheduled start and end.");
        r.step(if message == Update { step.filtering(&["scheduledstart", "scheduledend"]) } else { step });
        let step = Step::new("attachment", message, PreOperation, attachment_step)
            .entity("annotation")
            .rank(LATE + 20)
            .describe("A note's file size and document flag follow its file.");
        r.step(if message == Update { step.filtering(&["documentbody"]) } else { step });
    }
    r.step(
        Step::new("defaults", Create, PreOperation, user_defaults)
            .entity("systemuser")
            .describe("A new user's business unit (the root), domain name (the email), access mode and licence type."),
    );
    r.step(
        Step::new("defaults", Create, PreOperation, team_defaults)
            .entity("team")
            .describe("A new team's business unit and administrator (the caller's)."),
    );
    r.step(
        Step::new("defaults", Create, PreOperation, role_defaults)
            .entity("role")
            .describe("A new role belongs to the root business unit unless told otherwise."),
    );
    r.step(
        Step::new("defaults", Create, PreOperation, unit_defaults)
            .entity("businessunit")
            .describe("A new business unit sits under the root unless told otherwise."),
    );
    r.step(
        Step::new("user_rules", Update, PreOperation, user_rules)
            .entity("systemuser")
            .describe("Emails stay unique; the last enabled administrator cannot be disabled."),
    );
    r.step(
        Step::new("system_administrator_role", Update, PreOperation, administrator_role_fixed)
            .entity("role")
            .describe("The System Administrator role cannot be changed."),
    );
    r.step(
        Step::new("default_team_follows_unit", Update, PreOperation, default_team_fixed)
            .entity("team")
            .filtering(&["name", "businessunitid"])
            .describe("A business unit's default team cannot be renamed or moved on its own."),
    );
    r.step(
        Step::new("unit_tree", Update, PreOperation, unit_tree)
            .entity("businessunit")
            .describe("The root unit has no parent and stays enabled; the unit tree has no cycles."),
    );
    r.step(
        Step::new("default_team", Create, PostOperation, unit_created)
            .entity("businessunit")
            .describe("Every business unit gets its default team."),
    );
    r.step(
        Step::new("default_team", Create, PostOperation, user_created)
            .entity("systemuser")
            .describe("A new user joins the default team of their business unit."),
    );
    r.step(
        Step::new("user_changed", Update, PostOperation, user_changed)
            .entity("systemuser")
            .filtering(&["businessunitid", "isdisabled"])
            .describe("A user moved to another unit changes default team; enabling a user ends a lock-out."),
    );
    r.step(
        Step::new("team_moved", Update, PostOperation, team_moved)
            .entity("team")
            .filtering(&["businessunitid"])
            .describe("A team moved to another business unit takes its records' business unit with it."),
    );
    r.step(
        Step::new("default_team", Update, PostOperation, unit_renamed)
            .entity("businessunit")
            .filtering(&["name"])
            .describe("A business unit's default team takes its new name."),
    );
    r.step(Step::new("protected_records", Delete, PreOperation, protected_records).describe(
        "Users, the root business unit, default teams, the System Administrator role, the organization and \
         the base currency cannot be deleted.",
    ));
    r.step(
        Step::new("default_team", Delete, PreOperation, unit_deleted)
            .entity("businessunit")
            .describe("A business unit's default team is deleted with it."),
    );
}

fn closed_activity_step(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    closed_activity(c.entity, c.pre_image.unwrap_or(&Fields::new()), c.target)
}

fn full_name_step(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    full_name(c.entity, c.pre_image, c.target);
    Ok(())
}

fn money_bases_step(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    money_bases(s, c.entity, c.pre_image, c.target)
}

/// Each currency's rate is read once for the batch.
fn money_bases_batch(s: &mut Session<'_, '_, '_>, batch: &mut [&mut StepContext<'_>]) -> Result<()> {
    let mut rates = HashMap::new();
    for c in batch.iter_mut() {
        money_bases_with(s, c.entity, c.pre_image, c.target, &mut rates)?;
    }
    Ok(())
}

fn durations_step(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    durations(c.entity, c.pre_image, c.target);
    Ok(())
}

fn attachment_step(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    attachment(c.target);
    Ok(())
}

fn user_defaults(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let fields = &mut *c.target;
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
    Ok(())
}

fn team_defaults(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let fields = &mut *c.target;
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
    Ok(())
}

fn role_defaults(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if c.target.get("businessunitid").is_none_or(Value::is_null) {
        c.target.insert("businessunitid".into(), bu_ref(s.org.ids.root_business_unit));
    }
    Ok(())
}

fn unit_defaults(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if c.target.get("parentbusinessunitid").is_none_or(Value::is_null) {
        c.target.insert("parentbusinessunitid".into(), bu_ref(s.org.ids.root_business_unit));
    }
    Ok(())
}

fn user_rules(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    unique_email(s, Some(c.id), c.target)?;
    let disabling = c.target.get("isdisabled").and_then(Value::as_bool) == Some(true)
        && c.pre_image.and_then(|e| e.get("isdisabled")).and_then(Value::as_bool) != Some(true);
    if disabling && s.holds_administrator_role(c.id)? {
        s.keep_one_administrator(c.id)?;
    }
    Ok(())
}

fn administrator_role_fixed(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if c.id == s.org.ids.system_administrator_role {
        let english = "The System Administrator role cannot be changed.";
        return Err(EngineError::refused(None, "administrator_role_fixed", vec![], english));
    }
    Ok(())
}

fn default_team_fixed(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if c.pre_image.and_then(|e| e.get("isdefault")).and_then(Value::as_bool) == Some(true) {
        let english = "A business unit's default team follows its business unit: it cannot be renamed or moved.";
        return Err(EngineError::refused(None, "default_team_fixed", vec![], english));
    }
    Ok(())
}

fn unit_tree(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let changes = &*c.target;
    if c.id == s.org.ids.root_business_unit {
        if changes.get("parentbusinessunitid").is_some_and(|v| !v.is_null()) {
            let english = "the root business unit cannot have a parent";
            return Err(EngineError::refused(Some("parentbusinessunitid"), "root_unit_parent", vec![], english));
        }
        if changes.get("isdisabled").and_then(Value::as_bool) == Some(true) {
            let english = "The root business unit cannot be disabled.";
            return Err(EngineError::refused(Some("isdisabled"), "root_unit_disabled", vec![], english));
        }
    } else if let Some(v) = changes.get("parentbusinessunitid") {
        let Some(parent) = v.as_uuid() else {
            let english = "a business unit other than the root needs a parent";
            return Err(EngineError::refused(Some("parentbusinessunitid"), "unit_needs_parent", vec![], english));
        };
        no_cycle(s, c.id, parent)?;
    }
    Ok(())
}

fn unit_created(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let name = c.target.get("name").and_then(Value::as_str).unwrap_or("Business Unit").to_string();
    s.create_default_team(c.id, &name)?;
    Ok(())
}

fn user_created(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    match c.target.get("businessunitid").and_then(Value::as_uuid) {
        Some(bu) => s.join_default_team(c.id, bu),
        None => Ok(()),
    }
}

/// The new and old value of a lookup the update changed.
fn moved(c: &StepContext<'_>, k: &str) -> Option<(Uuid, Uuid)> {
    c.target
        .get(k)
        .and_then(Value::as_uuid)
        .zip(c.pre_image.and_then(|e| e.get(k)).and_then(Value::as_uuid))
        .filter(|(new, old)| new != old)
}

fn user_changed(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if let Some((new, old)) = moved(c, "businessunitid") {
        s.user_moved(c.id, old, new)?;
    }
    // Enabling a user lets them sign in again: a lock-out from failed
    // attempts ends with it.
    let enabled = c.target.get("isdisabled").and_then(Value::as_bool) == Some(false)
        && c.pre_image.and_then(|e| e.get("isdisabled")).and_then(Value::as_bool) == Some(true);
    if enabled {
        crate::signin::clear_lockout(s.tx, c.id)?;
    }
    Ok(())
}

fn team_moved(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    match moved(c, "businessunitid") {
        Some((new, _)) => s.team_moved(c.id, new),
        None => Ok(()),
    }
}

fn unit_renamed(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let Some(Value::String(name)) = c.target.get("name") else { return Ok(()) };
    let name = name.chars().take(160).collect::<String>();
    if let Some(team) = s.default_team(c.id)? {
        let mut changes = Fields::new();
        changes.insert("name".into(), Value::String(name));
        // The default team refuses a rename from callers (it follows its
        // unit); the engine makes it, versioned and audited.
        s.system_update("team", team, changes)?;
    }
    Ok(())
}

/// A refusal to delete a record the organization keeps.
fn kept(key: &'static str, english: &str) -> EngineError {
    EngineError::refused(None, key, vec![], english)
}

fn protected_records(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let id = c.id;
    let existing = c.pre_image.unwrap_or(&Fields::new()).clone();
    match c.entity.name() {
        "systemuser" => Err(kept("user_kept", "Users cannot be deleted; disable them instead (isdisabled = true).")),
        "businessunit" if id == s.org.ids.root_business_unit => {
            Err(kept("root_unit_kept", "The root business unit cannot be deleted."))
        }
        "team" if existing.get("isdefault").and_then(Value::as_bool) == Some(true) => Err(kept(
            "default_team_kept",
            "A business unit's default team is removed with its business unit, not on its own.",
        )),
        "role" if id == s.org.ids.system_administrator_role => {
            Err(kept("administrator_role_kept", "The System Administrator role cannot be deleted."))
        }
        "organization" => Err(kept("organization_kept", "The organization cannot be deleted.")),
        "transactioncurrency" if id == s.org.ids.base_currency => {
            Err(kept("base_currency_kept", "The base currency cannot be deleted."))
        }
        _ => Ok(()),
    }
}

fn unit_deleted(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    // Its default team goes with it (and cannot while it owns records).
    if let Some(team) = s.default_team(c.id)? {
        let entity = s.entity("team")?;
        s.delete_cascade(&entity, team, &mut std::collections::HashSet::new())?;
    }
    Ok(())
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
    money_bases_with(s, entity, existing, changes, &mut HashMap::new())
}

/// [`money_bases`] with the exchange rates read so far.
fn money_bases_with(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    existing: Option<&Fields>,
    changes: &mut Fields,
    rates: &mut HashMap<Uuid, Decimal>,
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
        let rate = match rates.get(&currency) {
            Some(r) => *r,
            None => {
                let r = exchange_rate(s, currency)?;
                rates.insert(currency, r);
                r
            }
        };
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

/// A currency's exchange rate to the base currency (1 when unset).
fn exchange_rate(s: &mut Session<'_, '_, '_>, currency: Uuid) -> Result<Decimal> {
    let row = s.tx.query_one(
        "SELECT exchangerate FROM transactioncurrency WHERE transactioncurrencyid = $1",
        &[Param::uuid(currency)],
        &[s.schema
            .entity("transactioncurrency")
            .and_then(|c| c.attribute("exchangerate"))
            .map(Storage::of)
            .unwrap_or(Storage::Decimal(12))],
    )?;
    Ok(row.and_then(|r| r[0].as_decimal()).filter(|r| !r.is_zero()).unwrap_or(Decimal::ONE))
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
        let english =
            format!("This {} is closed (completed or canceled) and cannot be edited; reopen it first.", entity.name());
        return Err(EngineError::refused(None, "activity_closed", vec![], english));
    }
    Ok(())
}

/// Notes with a file: size and document flag follow the content.
fn attachment(changes: &mut Fields) {
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
            let english = "a business unit cannot be placed under itself or its own children";
            return Err(EngineError::refused(Some("parentbusinessunitid"), "unit_cycle", vec![], english));
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
