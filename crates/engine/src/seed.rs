//! First-run setup: the organization, its base currency, the root business
//! unit, the SYSTEM user and the standard security roles.

use chrono::Utc;
use relata_metadata::{EntityRef, Schema, Value};
use relata_store::{Param, Storage, Tx};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::modules::Modules;
use crate::org::{OrgConfig, OrgIds};
use crate::privileges::{seed_new_privileges, set_role_privileges, sync_privileges, upgrade_legacy_grants};
use crate::roles::{STANDARD_ROLES, SYSTEM_ADMINISTRATOR};

/// ISO code → (name, symbol, precision) for the currencies a new
/// organization can start with.
const CURRENCIES: &[(&str, &str, &str, i64)] = &[
    ("USD", "US Dollar", "$", 2),
    ("EUR", "Euro", "€", 2),
    ("RUB", "Российский рубль", "₽", 2),
    ("GBP", "Pound Sterling", "£", 2),
    ("KZT", "Қазақстан теңгесі", "₸", 2),
    ("BYN", "Белорусский рубль", "Br", 2),
    ("UAH", "Українська гривня", "₴", 2),
    ("CNY", "Chinese Yuan", "¥", 2),
    ("JPY", "Japanese Yen", "¥", 0),
    ("CHF", "Swiss Franc", "CHF", 2),
    ("INR", "Indian Rupee", "₹", 2),
];

/// The ISO codes a base currency may be.
pub fn currency_codes() -> Vec<&'static str> {
    CURRENCIES.iter().map(|c| c.0).collect()
}

pub(crate) fn currency_info(code: &str) -> Option<(&'static str, &'static str, &'static str, i64)> {
    CURRENCIES.iter().find(|c| c.0.eq_ignore_ascii_case(code)).copied()
}

/// Inserts a row with the system columns filled, bypassing the pipeline
/// (there is no principal yet when a database is born).
pub(crate) fn insert(
    tx: &mut Tx<'_>,
    schema: &Schema,
    entity: &str,
    id: Uuid,
    system_user: Uuid,
    fields: Vec<(&str, Value)>,
) -> Result<()> {
    insert_at(tx, schema, entity, id, system_user, Utc::now(), fields)
}

/// [`insert`] with the creation time given (the session's clock).
pub(crate) fn insert_at(
    tx: &mut Tx<'_>,
    schema: &Schema,
    entity: &str,
    id: Uuid,
    system_user: Uuid,
    now: chrono::DateTime<Utc>,
    fields: Vec<(&str, Value)>,
) -> Result<()> {
    let e = schema.entity(entity).ok_or_else(|| EngineError::Invalid(format!("unknown entity {entity}")))?;
    let mut all: Vec<(String, Value)> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    all.push((e.primary_id().to_string(), Value::Uuid(id)));
    let now = Value::DateTime(now);
    let user = Value::Ref(EntityRef { entity: "systemuser".into(), id: system_user });
    for (k, v) in [("createdon", now.clone()), ("modifiedon", now), ("createdby", user.clone()), ("modifiedby", user)] {
        if e.attribute(k).is_some() {
            all.push((k.into(), v));
        }
    }
    if e.has_state() && !all.iter().any(|(k, _)| k == "statecode") {
        all.push(("statecode".into(), Value::Int(e.def.states[0].value as i64)));
        all.push(("statuscode".into(), Value::Int(e.def.states[0].default_status as i64)));
    }
    if e.attribute("versionnumber").is_some() {
        all.push(("versionnumber".into(), Value::Int(tx.next_counter("rowversion")?)));
    }
    for (k, _) in &all {
        if e.attribute(k).is_none() {
            return Err(EngineError::Invalid(format!("unknown attribute {entity}.{k}")));
        }
    }
    crate::session::insert_row(tx, e, &all.into_iter().collect())
}

fn r(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

/// Returns the organization's ids, creating everything on first run.
pub(crate) fn ensure(tx: &mut Tx<'_>, schema: &Schema, config: &OrgConfig, modules: &Modules) -> Result<OrgIds> {
    if let Some(row) = tx.query_one(
        "SELECT definition FROM relata_metadata WHERE kind = 'org' AND name = 'ids'",
        &[],
        &[Storage::Text],
    )? {
        let v: serde_json::Value = serde_json::from_str(row[0].as_str().unwrap_or("{}"))
            .map_err(|e| EngineError::Invalid(format!("stored organization ids are unreadable: {e}")))?;
        let id = |k: &str| v.get(k).and_then(|x| x.as_str()).and_then(|s| Uuid::parse_str(s).ok()).unwrap_or_default();
        let ids = OrgIds {
            organization: id("organization"),
            root_business_unit: id("root_business_unit"),
            base_currency: id("base_currency"),
            system_user: id("system_user"),
            system_administrator_role: id("system_administrator_role"),
        };
        finish(tx, schema, &ids, modules)?;
        return Ok(ids);
    }
    let (code, name, symbol, precision) = currency_info(&config.base_currency).ok_or_else(|| {
        EngineError::Invalid(format!(
            "unknown base currency '{}'; choose one of {}",
            config.base_currency,
            CURRENCIES.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let ids = OrgIds {
        organization: Uuid::now_v7(),
        root_business_unit: Uuid::now_v7(),
        base_currency: Uuid::now_v7(),
        system_user: Uuid::now_v7(),
        system_administrator_role: Uuid::now_v7(),
    };
    insert(
        tx,
        schema,
        "transactioncurrency",
        ids.base_currency,
        ids.system_user,
        vec![
            ("currencyname", Value::String(name.into())),
            ("isocurrencycode", Value::String(code.into())),
            ("currencysymbol", Value::String(symbol.into())),
            ("currencyprecision", Value::Int(precision)),
            ("exchangerate", Value::Decimal(Decimal::ONE)),
        ],
    )?;
    insert(
        tx,
        schema,
        "organization",
        ids.organization,
        ids.system_user,
        vec![
            ("name", Value::String(config.organization_name.clone())),
            ("basecurrencyid", r("transactioncurrency", ids.base_currency)),
        ],
    )?;
    insert(
        tx,
        schema,
        "businessunit",
        ids.root_business_unit,
        ids.system_user,
        vec![("name", Value::String(config.organization_name.clone()))],
    )?;
    insert(
        tx,
        schema,
        "systemuser",
        ids.system_user,
        ids.system_user,
        vec![
            ("fullname", Value::String("SYSTEM".into())),
            ("lastname", Value::String("SYSTEM".into())),
            ("businessunitid", r("businessunit", ids.root_business_unit)),
            ("isdisabled", Value::Bool(false)),
        ],
    )?;
    insert(
        tx,
        schema,
        "role",
        ids.system_administrator_role,
        ids.system_user,
        vec![
            ("name", Value::String(SYSTEM_ADMINISTRATOR.into())),
            ("businessunitid", r("businessunit", ids.root_business_unit)),
        ],
    )?;
    let doc = json!({
        "organization": ids.organization.to_string(),
        "root_business_unit": ids.root_business_unit.to_string(),
        "base_currency": ids.base_currency.to_string(),
        "system_user": ids.system_user.to_string(),
        "system_administrator_role": ids.system_administrator_role.to_string(),
    });
    tx.execute(
        "INSERT INTO relata_metadata (kind, name, definition) VALUES ('org', 'ids', $1)",
        &[Param::text(doc.to_string())],
    )?;
    finish(tx, schema, &ids, modules)?;
    Ok(ids)
}

/// What every open brings up to date: the privilege catalog, grants of
/// older databases, the standard roles, and default teams.
fn finish(tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds, modules: &Modules) -> Result<()> {
    sync_privileges(tx, schema, ids.system_administrator_role)?;
    upgrade_legacy_grants(tx)?;
    seed_roles(tx, schema, ids, modules)?;
    modules.seed(tx, schema, ids)?;
    modules.sync_steps(tx, schema, ids.system_user)?;
    modules.sync_actions(tx, schema, ids.system_user)?;
    modules.schedule_recurring(tx, schema, ids)?;
    crate::views::seed(tx, schema, ids, modules.views())?;
    default_teams(tx, schema, ids)
}

/// Every business unit has a default team holding its users.
fn default_teams(tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds) -> Result<()> {
    let missing = tx.query(
        "SELECT b.businessunitid, b.name FROM businessunit b WHERE NOT EXISTS
             (SELECT 1 FROM team t WHERE t.businessunitid = b.businessunitid AND t.isdefault = $1)",
        &[Param::new(Value::Bool(true), Storage::Bool)],
        &[Storage::Uuid, Storage::Text],
    )?;
    for row in missing {
        let Some(bu) = row[0].as_uuid() else { continue };
        let name: String = row[1].as_str().unwrap_or("Business Unit").chars().take(160).collect();
        insert(
            tx,
            schema,
            "team",
            Uuid::now_v7(),
            ids.system_user,
            vec![
                ("name", Value::String(name)),
                ("businessunitid", r("businessunit", bu)),
                ("administratorid", r("systemuser", ids.system_user)),
                ("teamtype", Value::Int(0)),
                ("isdefault", Value::Bool(true)),
            ],
        )?;
    }
    // A user is in one default team, so its id can serve as the row's.
    let n = tx.execute(
        "INSERT INTO teammembership (teammembershipid, teamid, systemuserid)
         SELECT u.systemuserid, t.teamid, u.systemuserid FROM systemuser u
         JOIN team t ON t.businessunitid = u.businessunitid AND t.isdefault = $1
         WHERE NOT EXISTS (SELECT 1 FROM teammembership m WHERE m.teamid = t.teamid AND m.systemuserid = u.systemuserid)",
        &[Param::new(Value::Bool(true), Storage::Bool)],
    )?;
    if n > 0 {
        tx.next_counter("security")?;
    }
    Ok(())
}

/// Creates the standard roles that do not exist yet (by name, in the root
/// business unit). Existing ones keep the administrators' edits and gain
/// only what a newer version or a newly enabled module adds to them.
fn seed_roles(tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds, modules: &Modules) -> Result<()> {
    tx.execute("DELETE FROM relata_roleseed WHERE roleid NOT IN (SELECT roleid FROM role)", &[])?;
    for role in STANDARD_ROLES {
        let wanted = role.privileges(schema, &modules.grants_for(role.name));
        let exists = tx.query_one(
            "SELECT roleid FROM role WHERE name = $1 AND businessunitid = $2",
            &[Param::text(role.name), Param::uuid(ids.root_business_unit)],
            &[Storage::Uuid],
        )?;
        if let Some(id) = exists.and_then(|r| r[0].as_uuid()) {
            seed_new_privileges(tx, schema, id, &wanted)?;
            continue;
        }
        let id = Uuid::now_v7();
        insert(
            tx,
            schema,
            "role",
            id,
            ids.system_user,
            vec![
                ("name", Value::String(role.name.into())),
                ("businessunitid", r("businessunit", ids.root_business_unit)),
            ],
        )?;
        set_role_privileges(tx, id, &wanted)?;
        seed_new_privileges(tx, schema, id, &wanted)?;
    }
    Ok(())
}
