//! Product lines of the priced documents and the catalog they are priced
//! from: units, products, price list items and discount lists.

use std::collections::HashMap;

use relata_metadata::{Entity, EntityRef, Value};
use relata_pricing as pricing;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::DocKind;
use crate::error::{EngineError, Result};
use crate::session::current;
use crate::session::{Fields, Session};

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

pub(super) fn dec(fields: &Fields, name: &str) -> Option<Decimal> {
    fields.get(name).and_then(Value::as_decimal)
}

fn money(v: Decimal) -> Value {
    Value::Decimal(v.normalize())
}

fn reference(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

/// What pricing needs to know about a document.
pub(super) struct DocContext {
    pub kind: &'static DocKind,
    pub fields: Fields,
    pub currency: Uuid,
    pub rate: Decimal,
    /// Digits of amounts (the currency's precision).
    pub precision: u32,
    /// Digits of unit prices (the organization's pricing precision).
    pub price_precision: u32,
    pub locked: bool,
    /// The line column mirroring the document's price lock, if any.
    pub line_lock: Option<String>,
    /// The document's price list, read once for all its lines.
    pub price_list: Option<(Uuid, Fields)>,
    /// Units and discount lists read while pricing its lines: a document's
    /// lines share a few of them.
    cache: std::cell::RefCell<std::collections::HashMap<(&'static str, Uuid), Option<Fields>>>,
    bands: std::cell::RefCell<std::collections::HashMap<Uuid, Vec<Fields>>>,
}

impl DocContext {
    pub fn from_fields(s: &mut Session<'_, '_, '_>, kind: &'static DocKind, fields: Fields) -> Result<Self> {
        let currency = fields.get("transactioncurrencyid").and_then(Value::as_uuid).unwrap_or(s.org.ids.base_currency);
        let (rate, precision) = currency_info(s, currency)?;
        let price_precision = s
            .read_system("organization", s.org.ids.organization)?
            .and_then(|o| o.get("pricingdecimalprecision").and_then(Value::as_i64))
            .unwrap_or(2)
            .clamp(0, 10) as u32;
        let locked = fields.get("ispricelocked").and_then(Value::as_bool) == Some(true);
        let line_lock = lock_column(s, kind)?;
        let price_list = match fields.get("pricelevelid").and_then(Value::as_uuid) {
            Some(id) => Some((
                id,
                s.read_system("pricelevel", id)?
                    .ok_or_else(|| invalid(format!("The price list {id} does not exist.")))?,
            )),
            None => None,
        };
        Ok(DocContext {
            kind,
            fields,
            currency,
            rate,
            precision,
            price_precision,
            locked,
            line_lock,
            price_list,
            cache: Default::default(),
            bands: Default::default(),
        })
    }

    /// A catalog record, read once per document.
    fn read(&self, s: &mut Session<'_, '_, '_>, entity: &'static str, id: Uuid) -> Result<Option<Fields>> {
        if let Some(hit) = self.cache.borrow().get(&(entity, id)) {
            return Ok(hit.clone());
        }
        let row = s.read_system(entity, id)?;
        self.cache.borrow_mut().insert((entity, id), row.clone());
        Ok(row)
    }

    pub fn state(&self) -> i64 {
        self.fields.get("statecode").and_then(Value::as_i64).unwrap_or(0)
    }
}

/// `salesorderispricelocked` on order lines, where the line entity has it.
pub(super) fn lock_column(s: &Session<'_, '_, '_>, kind: &DocKind) -> Result<Option<String>> {
    let name = format!("{}ispricelocked", kind.doc);
    Ok(s.entity(kind.line)?.attribute(&name).map(|_| name))
}

/// The current exchange rate and precision of a currency.
pub(super) fn currency_info(s: &mut Session<'_, '_, '_>, currency: Uuid) -> Result<(Decimal, u32)> {
    let c = s
        .read_system("transactioncurrency", currency)?
        .ok_or_else(|| invalid(format!("The currency {currency} does not exist.")))?;
    let rate = dec(&c, "exchangerate").filter(|r| !r.is_zero()).unwrap_or(Decimal::ONE);
    let precision = c.get("currencyprecision").and_then(Value::as_i64).unwrap_or(2).clamp(0, 10) as u32;
    Ok((rate, precision))
}

/// The document a line belongs to, as the caller sees it (the pipeline
/// checked the caller may write it); it must be editable.
fn document_for_write(s: &mut Session<'_, '_, '_>, kind: &'static DocKind, doc: Uuid) -> Result<DocContext> {
    let entity = s.entity(kind.doc)?;
    let fields = s.load(&entity, doc)?.ok_or_else(|| invalid(format!("The {} {doc} does not exist.", kind.noun)))?;
    let ctx = DocContext::from_fields(s, kind, fields)?;
    if ctx.state() != 0 {
        let english = format!(
            "The products of this {} cannot be changed: it is {}.",
            kind.noun,
            state_label(&entity, ctx.state())
        );
        let label = entity.state(ctx.state() as i32).map(|s| s.label.text(1049).to_string()).unwrap_or_default();
        return Err(super::messages::refused(None, "sales.lines_frozen", vec![("state", label)], english));
    }
    Ok(ctx)
}

fn state_label(entity: &Entity, state: i64) -> String {
    entity.state(state as i32).map(|s| s.name.to_lowercase()).unwrap_or_else(|| format!("in state {state}"))
}

pub(super) fn check_document_editable(
    s: &mut Session<'_, '_, '_>,
    kind: &'static DocKind,
    line: &Fields,
) -> Result<()> {
    let doc = line.get(kind.parent).and_then(Value::as_uuid).ok_or_else(|| invalid("the line has no document"))?;
    document_for_write(s, kind, doc).map(|_| ())
}

/// Validates and prices a line being created (`existing` None) or changed.
pub(super) fn price_line(
    s: &mut Session<'_, '_, '_>,
    kind: &'static DocKind,
    existing: Option<(Uuid, &Fields)>,
    changes: &mut Fields,
) -> Result<()> {
    let old = existing.map(|(_, f)| f);
    if let (Some(old), Some(new)) = (old, changes.get(kind.parent)) {
        if old.get(kind.parent).and_then(Value::as_uuid) != new.as_uuid() {
            return Err(invalid(format!("A product line cannot move to another {}.", kind.noun)));
        }
    }
    let doc = current(old, changes, kind.parent)
        .and_then(Value::as_uuid)
        .ok_or_else(|| invalid(format!("A {} line needs its {} ({}).", kind.noun, kind.noun, kind.parent)))?;
    let ctx = document_for_write(s, kind, doc)?;
    if old.is_none() && changes.get("lineitemnumber").is_none_or(Value::is_null) {
        let n = next_line_number(s, kind, doc)?;
        changes.insert("lineitemnumber".into(), Value::Int(n));
    }
    let given_price = changes.contains_key("priceperunit");
    compute_line(s, &ctx, old, changes, given_price)
}

fn next_line_number(s: &mut Session<'_, '_, '_>, kind: &DocKind, doc: Uuid) -> Result<i64> {
    let rows = s.query_system(
        kind.line,
        &format!("$select=lineitemnumber&$filter=_{}_value eq {doc}&$orderby=lineitemnumber desc&$top=1", kind.parent),
    )?;
    Ok(rows.first().and_then(|r| r.get("lineitemnumber").and_then(Value::as_i64)).unwrap_or(0) + 1)
}

/// Prices one line of a document. `given_price`: the caller set
/// `priceperunit` (allowed for write-ins, overridden prices and documents
/// whose pricing is locked).
pub(super) fn compute_line(
    s: &mut Session<'_, '_, '_>,
    doc: &DocContext,
    old: Option<&Fields>,
    changes: &mut Fields,
    given_price: bool,
) -> Result<()> {
    let noun = doc.kind.noun;
    let cur = |changes: &Fields, n: &str| current(old, changes, n).cloned().unwrap_or(Value::Null);
    let write_in = cur(changes, "isproductoverridden").as_bool() == Some(true);
    let price_overridden = cur(changes, "ispriceoverridden").as_bool() == Some(true);
    let quantity = cur(changes, "quantity").as_decimal().ok_or_else(|| {
        let english = format!("Enter a quantity for the {noun} line (quantity).");
        super::messages::refused(Some("quantity"), "sales.line_quantity", vec![], english)
    })?;
    let stored_price = cur(changes, "priceperunit").as_decimal();
    let mut volume_per_unit = Decimal::ZERO;
    let mut tax_rate = cur(changes, "relata_taxrate").as_decimal();

    let price = if write_in {
        if !cur(changes, "productid").is_null() {
            let english = "A write-in product line cannot also name a catalog product (productid).";
            return Err(super::messages::refused(Some("productid"), "sales.writein_product", vec![], english));
        }
        let name = cur(changes, "productdescription");
        let name = name.as_str().filter(|n| !n.trim().is_empty()).ok_or_else(|| {
            let english = "A write-in product line needs its product name (productdescription).";
            super::messages::refused(Some("productdescription"), "sales.writein_name", vec![], english)
        })?;
        changes.insert(doc.kind.line_name.into(), Value::String(name.chars().take(500).collect()));
        pricing::check_quantity(quantity, 5, pricing::QuantitySelling::NoControl).map_err(pricing_error)?;
        stored_price.ok_or_else(|| {
            let english = "A write-in product line needs its price (priceperunit).";
            super::messages::refused(Some("priceperunit"), "sales.writein_price", vec![], english)
        })?
    } else {
        let product_id = cur(changes, "productid").as_uuid().ok_or_else(|| {
            let english = "Choose a product (productid), or make the line a write-in (isproductoverridden = true).";
            super::messages::refused(Some("productid"), "sales.choose_product", vec![], english)
        })?;
        let product = s
            .read_system("product", product_id)?
            .ok_or_else(|| invalid(format!("The product {product_id} does not exist.")))?;
        let product_name = product.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let product_state = product.get("statecode").and_then(Value::as_i64).unwrap_or(0);
        if !matches!(product_state, 0 | 3) {
            let english = format!("The product '{product_name}' is retired or a draft and cannot be sold.");
            let params = vec![("product", product_name.clone())];
            return Err(super::messages::refused(Some("productid"), "sales.product_not_sellable", params, english));
        }
        if product.get("productstructure").and_then(Value::as_i64) == Some(2) {
            let english =
                format!("'{product_name}' is a product family: families group products and cannot be sold themselves.");
            let params = vec![("product", product_name.clone())];
            return Err(super::messages::refused(Some("productid"), "sales.product_family", params, english));
        }
        let uom = match cur(changes, "uomid").as_uuid() {
            Some(u) => u,
            None => {
                let u = product.get("defaultuomid").and_then(Value::as_uuid).ok_or_else(|| {
                    let english = format!("Choose a unit (uomid): the product '{product_name}' has no default unit.");
                    super::messages::refused(
                        Some("uomid"),
                        "sales.choose_unit",
                        vec![("product", product_name.clone())],
                        english,
                    )
                })?;
                changes.insert("uomid".into(), reference("uom", u));
                u
            }
        };
        check_unit(s, Some(doc), &product, &product_name, uom)?;
        changes.insert(doc.kind.line_name.into(), Value::String(product_name.clone()));
        if let Some(t) = product.get("producttypecode").filter(|v| !v.is_null()) {
            changes.insert("producttypecode".into(), t.clone());
        }
        if old.is_none() && tax_rate.is_none() && !changes.contains_key("tax") {
            tax_rate = dec(&product, "relata_taxrate");
            if let Some(r) = tax_rate {
                changes.insert("relata_taxrate".into(), Value::Decimal(r));
            }
        }
        let decimals = product.get("quantitydecimal").and_then(Value::as_i64).unwrap_or(2).clamp(0, 10) as u32;
        let item = price_list_item(s, doc, product_id, &product_name, uom)?;
        let selling = item
            .as_ref()
            .and_then(|i| i.get("quantitysellingcode").and_then(Value::as_i64))
            .and_then(pricing::QuantitySelling::from_code)
            .unwrap_or(pricing::QuantitySelling::NoControl);
        pricing::check_quantity(quantity, decimals, selling).map_err(|e| invalid(format!("{product_name}: {e}")))?;

        let catalog_unchanged = old.is_some_and(|o| {
            ["productid", "uomid"].iter().all(|k| !changes.contains_key(*k) || changes.get(*k) == o.get(*k))
        });
        if price_overridden || (doc.locked && (given_price || catalog_unchanged)) {
            if price_overridden && stored_price.is_none() {
                let english = "An overridden price needs the price (priceperunit).";
                return Err(super::messages::refused(Some("priceperunit"), "sales.override_price", vec![], english));
            }
            volume_per_unit = if doc.locked && !given_price {
                old.and_then(|o| dec(o, "volumediscountamount")).unwrap_or_default()
            } else {
                Decimal::ZERO
            };
            stored_price.ok_or_else(|| {
                let english = format!("Enter the price of '{product_name}' (priceperunit).");
                super::messages::refused(
                    Some("priceperunit"),
                    "sales.enter_price",
                    vec![("product", product_name.clone())],
                    english,
                )
            })?
        } else {
            if given_price {
                let english = format!(
                    "The price of '{product_name}' comes from the price list; set ispriceoverridden = true to enter \
                     one (priceperunit)."
                );
                let params = vec![("product", product_name.clone())];
                return Err(super::messages::refused(Some("priceperunit"), "sales.price_from_list", params, english));
            }
            let item = item.ok_or_else(|| missing_from_price_list(doc, &product_name))?;
            let price = unit_price(s, doc, &product, &product_name, &item)?;
            if let Some(list) = item.get("discounttypeid").and_then(Value::as_uuid) {
                volume_per_unit = volume_discount(s, doc, list, quantity, price)?;
            }
            price
        }
    };

    let tax = match tax_rate {
        Some(rate) => pricing::Tax::Rate(rate),
        None => pricing::Tax::Amount(cur(changes, "tax").as_decimal().unwrap_or_default()),
    };
    let totals = pricing::line(
        &pricing::LineInput {
            price_per_unit: price,
            quantity,
            manual_discount: cur(changes, "manualdiscountamount").as_decimal().unwrap_or_default(),
            volume_discount_per_unit: volume_per_unit,
            tax,
        },
        doc.precision,
    )
    .map_err(pricing_error)?;
    changes.insert("priceperunit".into(), money(pricing::round_money(price, doc.price_precision.max(doc.precision))));
    changes.insert("volumediscountamount".into(), money(volume_per_unit));
    changes.insert("baseamount".into(), money(totals.base_amount));
    changes.insert("tax".into(), money(totals.tax));
    changes.insert("extendedamount".into(), money(totals.extended_amount));
    // Unchanged currency stays out of the change, which spares a rate lookup.
    if old.and_then(|o| o.get("transactioncurrencyid")).and_then(Value::as_uuid) != Some(doc.currency) {
        changes.insert("transactioncurrencyid".into(), reference("transactioncurrency", doc.currency));
    }
    changes.insert("exchangerate".into(), Value::Decimal(doc.rate));
    changes.insert(doc.kind.line_state.into(), Value::Int(doc.state()));
    if let Some(col) = &doc.line_lock {
        changes.insert(col.clone(), Value::Bool(doc.locked));
    }
    Ok(())
}

pub(super) fn pricing_error(e: pricing::PricingError) -> EngineError {
    invalid(e.to_string())
}

fn missing_from_price_list(doc: &DocContext, product: &str) -> EngineError {
    if doc.fields.get("pricelevelid").is_none_or(Value::is_null) {
        let english = format!(
            "The {} has no price list: choose one (pricelevelid) before adding catalog products.",
            doc.kind.noun
        );
        super::messages::refused(None, "sales.no_price_list", vec![], english)
    } else {
        let english =
            format!("The product '{product}' has no price for this unit in the {}'s price list.", doc.kind.noun);
        super::messages::refused(Some("uomid"), "sales.no_price", vec![("product", product.to_string())], english)
    }
}

/// The unit must belong to the product's unit group.
fn check_unit(
    s: &mut Session<'_, '_, '_>,
    doc: Option<&DocContext>,
    product: &Fields,
    product_name: &str,
    uom: Uuid,
) -> Result<()> {
    let unit = match doc {
        Some(d) => d.read(s, "uom", uom)?,
        None => s.read_system("uom", uom)?,
    };
    unit_in_group(unit.as_ref(), product, product_name, uom)
}

/// A product is sold in the units of its unit group.
fn unit_in_group(unit: Option<&Fields>, product: &Fields, product_name: &str, uom: Uuid) -> Result<()> {
    let unit = unit.ok_or_else(|| invalid(format!("The unit {uom} does not exist.")))?;
    let group = product.get("defaultuomscheduleid").and_then(Value::as_uuid);
    if group.is_some() && unit.get("uomscheduleid").and_then(Value::as_uuid) != group {
        let unit_name = unit.get("name").and_then(Value::as_str).unwrap_or("");
        let english = format!("The unit '{unit_name}' is not in the unit group of the product '{product_name}'.");
        let params = vec![("unit", unit_name.to_string()), ("product", product_name.to_string())];
        return Err(super::messages::refused(Some("uomid"), "sales.unit_group", params, english));
    }
    Ok(())
}

/// The price list item for product × unit in the document's price list.
fn price_list_item(
    s: &mut Session<'_, '_, '_>,
    doc: &DocContext,
    product: Uuid,
    product_name: &str,
    uom: Uuid,
) -> Result<Option<Fields>> {
    let Some((list, price_list)) = &doc.price_list else { return Ok(None) };
    if price_list.get("statecode").and_then(Value::as_i64).unwrap_or(0) != 0 {
        let name = price_list.get("name").and_then(Value::as_str).unwrap_or("");
        let english = format!("The price list '{name}' is inactive; {product_name} cannot be priced from it.");
        let params = vec![("list", name.to_string()), ("product", product_name.to_string())];
        return Err(super::messages::refused(None, "sales.price_list_inactive", params, english));
    }
    Ok(items_of_product(s, product, *list, uom)?.into_iter().next())
}

/// A product's items in `list` for `uom`. The query filters on the product
/// alone (a product has a few items) and the rest is picked here: given
/// all three conditions, SQLite without statistics may walk the unit's or
/// the list's index, which every item of a large catalog shares.
pub(crate) fn items_of_product(
    s: &mut Session<'_, '_, '_>,
    product: Uuid,
    list: Uuid,
    uom: Uuid,
) -> Result<Vec<Fields>> {
    let rows = price_items(s, product)?;
    Ok(rows.into_iter().filter(|r| is_item_of(r, list, uom)).collect())
}

/// Every price list item of a product.
pub(crate) fn price_items(s: &mut Session<'_, '_, '_>, product: Uuid) -> Result<Vec<Fields>> {
    s.query_system("productpricelevel", &format!("$filter=_productid_value eq {product}"))
}

/// Is this price list item the one for `list` and `uom`?
pub(crate) fn is_item_of(item: &Fields, list: Uuid, uom: Uuid) -> bool {
    let is = |k: &str, id: Uuid| item.get(k).and_then(Value::as_uuid) == Some(id);
    is("pricelevelid", list) && is("uomid", uom)
}

fn unit_price(
    s: &mut Session<'_, '_, '_>,
    doc: &DocContext,
    product: &Fields,
    product_name: &str,
    item: &Fields,
) -> Result<Decimal> {
    let code = |n: &str| item.get(n).and_then(Value::as_i64);
    let method = code("pricingmethodcode")
        .and_then(pricing::PricingMethod::from_code)
        .unwrap_or(pricing::PricingMethod::CurrencyAmount);
    let rounding = pricing::Rounding {
        policy: code("roundingpolicycode")
            .and_then(pricing::RoundingPolicy::from_code)
            .unwrap_or(pricing::RoundingPolicy::None),
        option: code("roundingoptioncode").and_then(pricing::RoundingOption::from_code),
        amount: dec(item, "roundingoptionamount"),
    };
    // Product prices and costs are kept in the product's currency.
    let product_rate = match product.get("transactioncurrencyid").and_then(Value::as_uuid) {
        Some(c) if c != doc.currency => currency_info(s, c)?.0,
        _ => doc.rate,
    };
    let convert = |v: Option<Decimal>| {
        v.map(|v| pricing::convert(v, product_rate, doc.rate, doc.price_precision + 2))
            .transpose()
            .map_err(|e| invalid(format!("{product_name}: {e}")))
    };
    let costs = pricing::ProductCosts {
        list_price: convert(dec(product, "price"))?,
        current_cost: convert(dec(product, "currentcost"))?,
        standard_cost: convert(dec(product, "standardcost"))?,
    };
    let listed =
        pricing::PriceListItem { method, amount: dec(item, "amount"), percentage: dec(item, "percentage"), rounding };
    pricing::unit_price(&listed, &costs, doc.price_precision.max(doc.precision))
        .map_err(|e| invalid(format!("{product_name}: {e}")))
}

fn volume_discount(
    s: &mut Session<'_, '_, '_>,
    doc: &DocContext,
    list: Uuid,
    quantity: Decimal,
    price: Decimal,
) -> Result<Decimal> {
    let Some(discount_list) = doc.read(s, "discounttype", list)? else { return Ok(Decimal::ZERO) };
    if discount_list.get("statecode").and_then(Value::as_i64).unwrap_or(0) != 0 {
        return Ok(Decimal::ZERO);
    }
    let is_amount = discount_list.get("isamounttype").and_then(Value::as_bool) == Some(true);
    let cached = doc.bands.borrow().get(&list).cloned();
    let bands = match cached {
        Some(b) => b,
        None => {
            let b =
                s.query_system("discount", &format!("$filter=_discounttypeid_value eq {list}&$orderby=lowquantity"))?;
            doc.bands.borrow_mut().insert(list, b.clone());
            b
        }
    };
    let ranges = bands
        .iter()
        .map(|d| pricing::DiscountRange {
            low: dec(d, "lowquantity").unwrap_or_default(),
            high: dec(d, "highquantity").unwrap_or_default(),
            value: if is_amount { dec(d, "amount") } else { dec(d, "percentage") }.unwrap_or_default(),
        })
        .collect();
    pricing::volume_discount_per_unit(&pricing::DiscountList { is_amount, ranges }, quantity, price, doc.precision)
        .map_err(pricing_error)
}

/// A price list item follows its price list's currency and names its product.
pub(super) fn prepare_price_list_item(
    s: &mut Session<'_, '_, '_>,
    existing: Option<&Fields>,
    changes: &mut Fields,
) -> Result<()> {
    let list = current(existing, changes, "pricelevelid").and_then(Value::as_uuid);
    let product = current(existing, changes, "productid").and_then(Value::as_uuid);
    let uom = current(existing, changes, "uomid").and_then(Value::as_uuid);
    if let Some(list) = list {
        if let Some(pl) = s.read_system("pricelevel", list)? {
            if let Some(c) = pl.get("transactioncurrencyid").and_then(Value::as_uuid) {
                changes.insert("transactioncurrencyid".into(), reference("transactioncurrency", c));
            }
        }
    }
    if let Some(p) = product.filter(|_| changes.contains_key("productid")) {
        if let Some(prod) = s.read_system("product", p)? {
            if let Some(n) = prod.get("productnumber").filter(|v| !v.is_null()) {
                changes.insert("productnumber".into(), n.clone());
            }
            if let Some(unit) = uom {
                let name = prod.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                check_unit(s, None, &prod, &name, unit)?;
            }
        }
    }
    if let (Some(list), Some(product), Some(uom)) = (list, product, uom) {
        let dup = items_of_product(s, product, list, uom)?;
        let own = existing.and_then(|e| e.get("productpricelevelid").and_then(Value::as_uuid));
        if dup.iter().any(|d| d.get("productpricelevelid").and_then(Value::as_uuid) != own) {
            return Err(EngineError::Conflict("This price list already has a price for this product and unit.".into()));
        }
    }
    let method = current(existing, changes, "pricingmethodcode").and_then(Value::as_i64).unwrap_or(1);
    let needs = if method == 1 { "amount" } else { "percentage" };
    if current(existing, changes, needs).is_none_or(Value::is_null) {
        return Err(invalid(format!("This pricing method needs the {needs} of the price list item ({needs}).")));
    }
    Ok(())
}

/// [`prepare_price_list_item`] over a batch: the price lists, products,
/// units and existing items the batch names are read once, and two items
/// of the batch for the same price list, product and unit conflict as an
/// item and a stored one do.
pub(super) fn prepare_price_list_items(
    s: &mut Session<'_, '_, '_>,
    batch: &mut [&mut crate::modules::StepContext<'_>],
) -> Result<()> {
    let ids = |batch: &[&mut crate::modules::StepContext<'_>], column: &str, only_new: bool| -> Vec<Uuid> {
        let mut v: Vec<Uuid> = batch
            .iter()
            .filter(|c| !only_new || c.target.contains_key("productid"))
            .filter_map(|c| current(c.pre_image, c.target, column).and_then(Value::as_uuid))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let lists = s.read_system_many("pricelevel", &ids(batch, "pricelevelid", false))?;
    let products = s.read_system_many("product", &ids(batch, "productid", true))?;
    let units = s.read_system_many("uom", &ids(batch, "uomid", true))?;
    let of_products: Vec<String> = ids(batch, "productid", false).iter().map(Uuid::to_string).collect();
    // (price list, product, unit) → the item that has it.
    let mut taken: HashMap<(Uuid, Uuid, Uuid), Uuid> = HashMap::new();
    for item in s.query_system_in("productpricelevel", "productid", &of_products)? {
        let key = |k: &str| item.get(k).and_then(Value::as_uuid);
        if let (Some(l), Some(p), Some(u), Some(id)) =
            (key("pricelevelid"), key("productid"), key("uomid"), key("productpricelevelid"))
        {
            taken.insert((l, p, u), id);
        }
    }
    for c in batch.iter_mut() {
        let (existing, changes) = (c.pre_image, &mut *c.target);
        let list = current(existing, changes, "pricelevelid").and_then(Value::as_uuid);
        let product = current(existing, changes, "productid").and_then(Value::as_uuid);
        let uom = current(existing, changes, "uomid").and_then(Value::as_uuid);
        if let Some(currency) =
            list.and_then(|l| lists.get(&l)).and_then(|pl| pl.get("transactioncurrencyid")).and_then(Value::as_uuid)
        {
            changes.insert("transactioncurrencyid".into(), reference("transactioncurrency", currency));
        }
        if let Some(prod) = product.filter(|_| changes.contains_key("productid")).and_then(|p| products.get(&p)) {
            if let Some(n) = prod.get("productnumber").filter(|v| !v.is_null()) {
                changes.insert("productnumber".into(), n.clone());
            }
            if let Some(unit) = uom {
                let name = prod.get("name").and_then(Value::as_str).unwrap_or("");
                unit_in_group(units.get(&unit), prod, name, unit)?;
            }
        }
        if let (Some(list), Some(product), Some(uom)) = (list, product, uom) {
            let own = existing.and_then(|e| e.get("productpricelevelid").and_then(Value::as_uuid)).unwrap_or(c.id);
            match taken.get(&(list, product, uom)) {
                Some(other) if *other != own => {
                    return Err(EngineError::Conflict(
                        "This price list already has a price for this product and unit.".into(),
                    ))
                }
                _ => {
                    taken.insert((list, product, uom), own);
                }
            }
        }
        let method = current(existing, changes, "pricingmethodcode").and_then(Value::as_i64).unwrap_or(1);
        let needs = if method == 1 { "amount" } else { "percentage" };
        if current(existing, changes, needs).is_none_or(Value::is_null) {
            return Err(invalid(format!("This pricing method needs the {needs} of the price list item ({needs}).")));
        }
    }
    Ok(())
}

/// Units, unit groups and products: the rules that keep the catalog usable.
pub(super) fn prepare_catalog(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    existing: Option<&Fields>,
    changes: &mut Fields,
) -> Result<()> {
    match entity.name() {
        "uom" => {
            if existing.is_some_and(|e| e.get("isschedulebaseuom").and_then(Value::as_bool) == Some(true))
                && changes.contains_key("quantity")
            {
                return Err(invalid("The base unit of a unit group always has quantity 1."));
            }
            if existing.is_none() {
                changes.insert("isschedulebaseuom".into(), Value::Bool(false));
                if changes.get("baseuom").is_none_or(Value::is_null) {
                    let group = changes.get("uomscheduleid").and_then(Value::as_uuid);
                    if let Some(group) = group {
                        let base = s.query_system(
                            "uom",
                            &format!(
                                "$select=uomid&$filter=_uomscheduleid_value eq {group} and isschedulebaseuom eq true"
                            ),
                        )?;
                        if let Some(b) = base.first().and_then(|b| b.get("uomid")).and_then(Value::as_uuid) {
                            changes.insert("baseuom".into(), reference("uom", b));
                        }
                    }
                }
            }
            Ok(())
        }
        "product" => {
            let number = current(existing, changes, "productnumber").and_then(Value::as_str).map(str::to_string);
            let numbers: Vec<String> = number.into_iter().filter(|_| changes.contains_key("productnumber")).collect();
            let mut known =
                ProductsKnown::read(s, &numbers, &units_to_check(existing, changes).into_iter().collect::<Vec<_>>())?;
            let own = existing.and_then(|e| e.get("productid").and_then(Value::as_uuid)).unwrap_or_else(Uuid::nil);
            product_rules(existing, changes, own, &mut known)
        }
        _ => Ok(()),
    }
}

/// What the product rules look up: which products hold which numbers,
/// and the units named.
pub(super) struct ProductsKnown {
    numbers: HashMap<String, Vec<Uuid>>,
    units: HashMap<Uuid, Fields>,
}

impl ProductsKnown {
    fn read(s: &mut Session<'_, '_, '_>, numbers: &[String], units: &[Uuid]) -> Result<ProductsKnown> {
        let mut holders: HashMap<String, Vec<Uuid>> = HashMap::new();
        if !numbers.is_empty() {
            for p in s.query_system_in("product", "productnumber", numbers)? {
                if let (Some(n), Some(id)) =
                    (p.get("productnumber").and_then(Value::as_str), p.get("productid").and_then(Value::as_uuid))
                {
                    holders.entry(n.to_string()).or_default().push(id);
                }
            }
        }
        Ok(ProductsKnown { numbers: holders, units: s.read_system_many("uom", units)? })
    }
}

/// The unit a product's write must check: a stored pair was checked when
/// it was written.
fn units_to_check(existing: Option<&Fields>, changes: &Fields) -> Option<Uuid> {
    let units_changed = changes.contains_key("defaultuomscheduleid") || changes.contains_key("defaultuomid");
    let group = current(existing, changes, "defaultuomscheduleid").and_then(Value::as_uuid);
    units_changed
        .then(|| current(existing, changes, "defaultuomid").and_then(Value::as_uuid))
        .flatten()
        .filter(|_| group.is_some())
}

/// Product numbers are unique; the default unit belongs to the unit group.
/// `own` is the product's id; a number taken here is taken for the rest
/// of a batch.
fn product_rules(existing: Option<&Fields>, changes: &Fields, own: Uuid, known: &mut ProductsKnown) -> Result<()> {
    let number = current(existing, changes, "productnumber").and_then(Value::as_str).map(str::to_string);
    if let Some(number) = number.filter(|_| changes.contains_key("productnumber")) {
        let holders = known.numbers.entry(number.clone()).or_default();
        if holders.iter().any(|h| *h != own) {
            return Err(EngineError::Conflict(format!("A product with the number '{number}' already exists.")));
        }
        holders.push(own);
    }
    if let Some(unit) = units_to_check(existing, changes) {
        let group = current(existing, changes, "defaultuomscheduleid").and_then(Value::as_uuid);
        if known.units.get(&unit).and_then(|u| u.get("uomscheduleid").and_then(Value::as_uuid)) != group {
            return Err(invalid("The default unit must belong to the product's unit group."));
        }
    }
    Ok(())
}

/// [`prepare_catalog`] over a batch: for products, the numbers and units
/// the batch names are read once.
pub(super) fn prepare_catalog_many(
    s: &mut Session<'_, '_, '_>,
    batch: &mut [&mut crate::modules::StepContext<'_>],
) -> Result<()> {
    if batch.iter().any(|c| c.entity.name() != "product") {
        for c in batch.iter_mut() {
            prepare_catalog(s, c.entity, c.pre_image, c.target)?;
        }
        return Ok(());
    }
    let numbers: Vec<String> = batch
        .iter()
        .filter(|c| c.target.contains_key("productnumber"))
        .filter_map(|c| c.target.get("productnumber").and_then(Value::as_str).map(str::to_string))
        .collect();
    let units: Vec<Uuid> = batch.iter().filter_map(|c| units_to_check(c.pre_image, c.target)).collect();
    let mut known = ProductsKnown::read(s, &numbers, &units)?;
    for c in batch.iter_mut() {
        let own = c.pre_image.and_then(|e| e.get("productid").and_then(Value::as_uuid)).unwrap_or(c.id);
        product_rules(c.pre_image, c.target, own, &mut known)?;
    }
    Ok(())
}

/// A new unit group gets its base unit, named by `baseuomname`.
pub(super) fn create_base_unit(s: &mut Session<'_, '_, '_>, group: Uuid, fields: &Fields) -> Result<()> {
    let name = fields.get("baseuomname").and_then(Value::as_str).unwrap_or("Primary Unit").to_string();
    let id = s.create(
        "uom",
        crate::RecordInput::new(vec![
            ("name".into(), Value::String(name)),
            ("uomscheduleid".into(), reference("uomschedule", group)),
            ("quantity".into(), Value::Decimal(Decimal::ONE)),
        ]),
    )?;
    let mut base = Fields::new();
    base.insert("isschedulebaseuom".into(), Value::Bool(true));
    base.insert("baseuom".into(), reference("uom", id));
    s.system_update("uom", id, base)
}
