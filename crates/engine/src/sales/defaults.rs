//! What lets a new company sell without setting up a catalog first: a unit
//! group with one unit ("pcs"), a default price list in the base currency
//! (`organization.relata_defaultpricelevelid`), products that get both,
//! a product's list price kept as its item in that price list, and
//! documents that start on it.

use relata_metadata::{EntityRef, Schema, Value};
use relata_store::{Param, Storage, Tx};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::error::Result;
use crate::org::OrgIds;
use crate::seed::insert;
use crate::session::current;
use crate::session::{Condition, Fields, RecordInput, Session};
use crate::setup::FirstRun;

/// Names of what a new database starts with.
pub(crate) const DEFAULT_UNIT_GROUP: &str = "Default Unit";
pub(crate) const DEFAULT_UNIT: &str = "pcs";
pub(crate) const DEFAULT_PRICE_LIST: &str = "Default Price List";

fn reference(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

/// Seeds the unit group (once) and the default price list (for a database
/// that has no price list yet).
pub(crate) fn seed(tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds) -> Result<()> {
    let group = tx.query_one("SELECT uomscheduleid FROM uomschedule", &[], &[Storage::Uuid])?;
    if group.is_none() {
        let group = Uuid::now_v7();
        let unit = Uuid::now_v7();
        insert(
            tx,
            schema,
            "uomschedule",
            group,
            ids.system_user,
            vec![
                ("name", Value::String(DEFAULT_UNIT_GROUP.into())),
                ("baseuomname", Value::String(DEFAULT_UNIT.into())),
            ],
        )?;
        insert(
            tx,
            schema,
            "uom",
            unit,
            ids.system_user,
            vec![
                ("name", Value::String(DEFAULT_UNIT.into())),
                ("uomscheduleid", reference("uomschedule", group)),
                ("quantity", Value::Decimal(Decimal::ONE)),
                ("isschedulebaseuom", Value::Bool(true)),
                ("baseuom", reference("uom", unit)),
            ],
        )?;
    }
    let any_list = tx.query_one("SELECT pricelevelid FROM pricelevel", &[], &[Storage::Uuid])?;
    if any_list.is_none() {
        let list = Uuid::now_v7();
        insert(
            tx,
            schema,
            "pricelevel",
            list,
            ids.system_user,
            vec![
                ("name", Value::String(DEFAULT_PRICE_LIST.into())),
                ("transactioncurrencyid", reference("transactioncurrency", ids.base_currency)),
                ("exchangerate", Value::Decimal(Decimal::ONE)),
            ],
        )?;
        tx.execute(
            "UPDATE organization SET relata_defaultpricelevelid = $1 WHERE organizationid = $2",
            &[Param::uuid(list), Param::uuid(ids.organization)],
        )?;
    }
    Ok(())
}

/// The organization's default price list, if it is set and active.
pub(crate) fn default_price_list(s: &mut Session<'_, '_, '_>) -> Result<Option<Uuid>> {
    let org = s.org.ids.organization;
    let Some(id) =
        s.read_system("organization", org)?.and_then(|o| o.get("relata_defaultpricelevelid").and_then(Value::as_uuid))
    else {
        return Ok(None);
    };
    let active =
        s.read_system("pricelevel", id)?.is_some_and(|p| p.get("statecode").and_then(Value::as_i64) == Some(0));
    Ok(active.then_some(id))
}

/// The first unit group and its base unit: what a product without units gets.
fn default_unit(s: &mut Session<'_, '_, '_>) -> Result<Option<(Uuid, Uuid)>> {
    let groups = s.query_system("uomschedule", "$select=uomscheduleid&$orderby=createdon asc&$top=1")?;
    let Some(group) = groups.first().and_then(|g| g.get("uomscheduleid")).and_then(Value::as_uuid) else {
        return Ok(None);
    };
    let units = s.query_system(
        "uom",
        &format!("$select=uomid&$filter=_uomscheduleid_value eq {group} and isschedulebaseuom eq true"),
    )?;
    Ok(units.first().and_then(|u| u.get("uomid")).and_then(Value::as_uuid).map(|u| (group, u)))
}

/// A new product without a unit group gets the default one and its base
/// unit; one without a default price list gets the organization's.
pub(super) fn new_product(s: &mut Session<'_, '_, '_>, fields: &mut Fields) -> Result<()> {
    new_product_with(s, fields, &mut ProductDefaults::default())
}

/// The defaults of new products, read once for a batch.
#[derive(Default)]
pub(super) struct ProductDefaults {
    unit: Option<Option<(Uuid, Uuid)>>,
    list: Option<Option<Uuid>>,
}

/// [`new_product`] with the defaults read so far.
pub(super) fn new_product_with(
    s: &mut Session<'_, '_, '_>,
    fields: &mut Fields,
    known: &mut ProductDefaults,
) -> Result<()> {
    if fields.get("defaultuomscheduleid").is_none_or(Value::is_null) {
        if known.unit.is_none() {
            known.unit = Some(default_unit(s)?);
        }
        if let Some(Some((group, unit))) = known.unit {
            fields.insert("defaultuomscheduleid".into(), reference("uomschedule", group));
            if fields.get("defaultuomid").is_none_or(Value::is_null) {
                fields.insert("defaultuomid".into(), reference("uom", unit));
            }
        }
    }
    if fields.get("pricelevelid").is_none_or(Value::is_null) {
        if known.list.is_none() {
            known.list = Some(default_price_list(s)?);
        }
        if let Some(Some(list)) = known.list {
            fields.insert("pricelevelid".into(), reference("pricelevel", list));
        }
    }
    Ok(())
}

/// A new opportunity, quote, order or invoice that does not name a price
/// list starts on the default one, unless it names another currency (an
/// explicit null keeps it without one: write-in products only).
pub(super) fn new_document(s: &mut Session<'_, '_, '_>, fields: &mut Fields) -> Result<()> {
    if fields.contains_key("pricelevelid") {
        return Ok(());
    }
    let Some(list) = default_price_list(s)? else { return Ok(()) };
    if let Some(currency) = fields.get("transactioncurrencyid").and_then(Value::as_uuid) {
        let list_currency =
            s.read_system("pricelevel", list)?.and_then(|p| p.get("transactioncurrencyid").and_then(Value::as_uuid));
        if list_currency != Some(currency) {
            return Ok(());
        }
    }
    fields.insert("pricelevelid".into(), reference("pricelevel", list));
    Ok(())
}

/// A product's list price is its price in its default price list, for its
/// default unit: set or changed on the product, the item is created or
/// updated in the same transaction, as the user (who must be allowed to
/// change that price list).
pub(super) fn keep_list_price(
    s: &mut Session<'_, '_, '_>,
    product: Uuid,
    existing: Option<&Fields>,
    changes: &Fields,
) -> Result<()> {
    let touched = ["price", "pricelevelid", "defaultuomid"].iter().any(|k| changes.contains_key(*k));
    let price = current(existing, changes, "price").and_then(Value::as_decimal);
    let list = current(existing, changes, "pricelevelid").and_then(Value::as_uuid);
    let unit = current(existing, changes, "defaultuomid").and_then(Value::as_uuid);
    let (true, Some(price), Some(list), Some(unit)) = (touched, price, list, unit) else { return Ok(()) };
    let found = super::lines::items_of_product(s, product, list, unit)?;
    match found.first() {
        Some(item) => {
            let id = item.get("productpricelevelid").and_then(Value::as_uuid).expect("selected key");
            let same = item.get("amount").and_then(Value::as_decimal) == Some(price)
                && item.get("pricingmethodcode").and_then(Value::as_i64).is_none_or(|m| m == 1);
            if !same {
                s.update(
                    "productpricelevel",
                    id,
                    RecordInput::new(vec![
                        ("pricingmethodcode".into(), Value::Int(1)),
                        ("amount".into(), Value::Decimal(price)),
                    ]),
                    Condition::default(),
                    false,
                )?;
            }
        }
        None => {
            s.create(
                "productpricelevel",
                RecordInput::new(vec![
                    ("pricelevelid".into(), reference("pricelevel", list)),
                    ("productid".into(), reference("product", product)),
                    ("uomid".into(), reference("uom", unit)),
                    ("pricingmethodcode".into(), Value::Int(1)),
                    ("amount".into(), Value::Decimal(price)),
                ]),
            )?;
        }
    }
    Ok(())
}

/// First run in Russian: the seeded unit and price list take Russian
/// names while they keep their English default ones.
pub(super) fn first_run(s: &mut Session<'_, '_, '_>, req: &FirstRun) -> Result<()> {
    if req.language != 1049 {
        return Ok(());
    }
    for (entity, from, to) in [("uom", DEFAULT_UNIT, "шт"), ("pricelevel", DEFAULT_PRICE_LIST, "Основной прайс-лист")]
    {
        let e = s.entity(entity)?;
        let q = format!("$select={}&$filter=name eq '{from}'", e.primary_id());
        for r in s.query_system(entity, &q)? {
            if let Some(id) = r.get(e.primary_id()).and_then(Value::as_uuid) {
                let mut c = Fields::new();
                c.insert("name".into(), Value::String(to.into()));
                s.system_update(entity, id, c)?;
            }
        }
    }
    Ok(())
}
