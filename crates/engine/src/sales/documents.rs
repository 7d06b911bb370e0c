//! The priced documents (opportunity, quote, order, invoice): numbers,
//! currency and price list, totals recalculated from their lines, and
//! copying one document into the next (quote → order → invoice).

use relata_metadata::{Entity, EntityRef, Value};
use relata_pricing as pricing;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::lines::{dec, pricing_error, DocContext};
use super::DocKind;
use crate::error::{EngineError, Result};
use crate::session::current;
use crate::session::{Fields, RecordInput, Session};

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// Header columns the totals depend on.
const TOTAL_INPUTS: &[&str] = &["discountpercentage", "discountamount", "freightamount", "isrevenuesystemcalculated"];

/// Before a document is written: its number, its currency (the price
/// list's), and totals when a header amount changes.
pub(super) fn prepare(
    s: &mut Session<'_, '_, '_>,
    kind: &'static DocKind,
    existing: Option<(Uuid, &Fields)>,
    changes: &mut Fields,
) -> Result<()> {
    let old = existing.map(|(_, f)| f);
    if let (None, Some((column, prefix))) = (old, kind.number) {
        if changes.get(column).is_none_or(Value::is_null) {
            changes.insert(column.into(), Value::String(next_number(s, kind.doc, prefix)?));
        }
    }
    if kind.doc == "quote" && old.is_none() {
        changes.entry("revisionnumber".into()).or_insert(Value::Int(0));
    }
    // The document's currency is its price list's.
    if changes.contains_key("pricelevelid") || changes.contains_key("transactioncurrencyid") {
        if let Some(list) = current(old, changes, "pricelevelid").and_then(Value::as_uuid) {
            let pl = s
                .read_system("pricelevel", list)?
                .ok_or_else(|| invalid(format!("The price list {list} does not exist.")))?;
            let list_currency = pl.get("transactioncurrencyid").and_then(Value::as_uuid);
            let doc_currency = current(old, changes, "transactioncurrencyid").and_then(Value::as_uuid);
            match (list_currency, doc_currency, changes.contains_key("transactioncurrencyid")) {
                (Some(l), Some(d), true) if l != d => {
                    let english = format!("The {}'s currency must be its price list's currency.", kind.noun);
                    return Err(super::messages::refused(
                        Some("transactioncurrencyid"),
                        "sales.currency_of_price_list",
                        vec![],
                        english,
                    ));
                }
                (Some(l), _, _) => {
                    changes.insert(
                        "transactioncurrencyid".into(),
                        Value::Ref(EntityRef { entity: "transactioncurrency".into(), id: l }),
                    );
                }
                _ => {}
            }
        }
    }
    if let Some((id, old)) = existing {
        let currency_changed = changes
            .get("transactioncurrencyid")
            .is_some_and(|c| c.as_uuid() != old.get("transactioncurrencyid").and_then(Value::as_uuid));
        if currency_changed && line_count(s, kind, id)? > 0 {
            let english =
                format!("The currency of a {} with products cannot change; remove the products first.", kind.noun);
            return Err(super::messages::refused(
                Some("transactioncurrencyid"),
                "sales.currency_with_products",
                vec![],
                english,
            ));
        }
        if kind.doc == "opportunity"
            && changes.contains_key("estimatedvalue")
            && current(Some(old), changes, "isrevenuesystemcalculated").and_then(Value::as_bool) == Some(true)
        {
            let english = "The estimated revenue is calculated from the products; set isrevenuesystemcalculated = \
                           false to enter it.";
            return Err(super::messages::refused(Some("estimatedvalue"), "sales.revenue_calculated", vec![], english));
        }
        if TOTAL_INPUTS.iter().any(|k| changes.get(*k).is_some_and(|v| old.get(*k) != Some(v))) {
            let mut header = old.clone();
            header.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
            let totals = totals(s, kind, id, header)?;
            changes.extend(totals);
        }
    } else {
        let totals = header_totals(s, kind, changes, &[])?;
        changes.extend(totals);
    }
    Ok(())
}

fn line_count(s: &mut Session<'_, '_, '_>, kind: &DocKind, doc: Uuid) -> Result<usize> {
    let rows =
        s.query_system(kind.line, &format!("$select={}id&$filter=_{}_value eq {doc}&$top=1", kind.line, kind.parent))?;
    Ok(rows.len())
}

/// `QUO-01042-7K3F9Q`: a running number per document type plus a random
/// tail, so numbers are unique without a central sequence per node.
fn next_number(s: &mut Session<'_, '_, '_>, doc: &str, prefix: &str) -> Result<String> {
    let counter = format!("{doc}number");
    s.tx.execute(
        "INSERT INTO relata_counter (name, value) VALUES ($1, 1000) ON CONFLICT (name) DO NOTHING",
        &[relata_store::Param::text(counter.clone())],
    )?;
    let n = s.tx.next_counter(&counter)?;
    let tail: String = Uuid::new_v4().simple().to_string()[..6].to_uppercase();
    Ok(format!("{prefix}-{n:05}-{tail}"))
}

/// The stored totals of each line, as pricing needs them.
fn stored_lines(s: &mut Session<'_, '_, '_>, kind: &DocKind, doc: Uuid) -> Result<Vec<pricing::LineTotals>> {
    let rows = s.query_system(
        kind.line,
        &format!("$select=baseamount,manualdiscountamount,tax,extendedamount&$filter=_{}_value eq {doc}", kind.parent),
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let base = dec(r, "baseamount").unwrap_or_default();
            let manual = dec(r, "manualdiscountamount").unwrap_or_default();
            let tax = dec(r, "tax").unwrap_or_default();
            let extended = dec(r, "extendedamount").unwrap_or_default();
            let net = extended - tax;
            pricing::LineTotals {
                base_amount: base,
                manual_discount: manual,
                volume_discount: base - manual - net,
                net_amount: net,
                tax,
                extended_amount: extended,
            }
        })
        .collect())
}

/// Totals of a document from its stored lines and the given header values.
fn totals(s: &mut Session<'_, '_, '_>, kind: &DocKind, doc: Uuid, header: Fields) -> Result<Fields> {
    let lines = stored_lines(s, kind, doc)?;
    header_totals(s, kind, &header, &lines)
}

fn header_totals(
    s: &mut Session<'_, '_, '_>,
    kind: &DocKind,
    header: &Fields,
    lines: &[pricing::LineTotals],
) -> Result<Fields> {
    let currency = header.get("transactioncurrencyid").and_then(Value::as_uuid).unwrap_or(s.org.ids.base_currency);
    let (_, precision) = super::lines::currency_info(s, currency)?;
    let input = pricing::DocumentInput {
        lines,
        discount_percentage: dec(header, "discountpercentage"),
        discount_amount: dec(header, "discountamount"),
        freight: dec(header, "freightamount"),
    };
    // A document discount larger than the detail amount (typically while
    // the products are still being added) discounts it to zero.
    let t = match pricing::document(&input, precision) {
        Err(pricing::PricingError::DocumentDiscountExceedsAmount { amount, .. }) => pricing::document(
            &pricing::DocumentInput { discount_percentage: None, discount_amount: Some(amount), ..input },
            precision,
        ),
        other => other,
    }
    .map_err(pricing_error)?;
    let entity = s.entity(kind.doc)?;
    let mut out = Fields::new();
    for (name, v) in [
        ("totallineitemamount", t.total_line_item_amount),
        ("totallineitemdiscountamount", t.total_line_item_discount_amount),
        ("totaldiscountamount", t.total_discount_amount),
        ("totalamountlessfreight", t.total_amount_less_freight),
        ("totaltax", t.total_tax),
        ("totalamount", t.total_amount),
    ] {
        if entity.attribute(name).is_some() {
            out.insert(name.into(), Value::Decimal(v.normalize()));
        }
    }
    if kind.doc == "opportunity" {
        let system = header.get("isrevenuesystemcalculated").and_then(Value::as_bool) == Some(true);
        // Nobody gave an estimate and products were added: the products
        // give it from now on, so the pipeline shows what is being sold.
        let unestimated = header.get("estimatedvalue").is_none_or(Value::is_null) && !lines.is_empty();
        if system || unestimated {
            out.insert("estimatedvalue".into(), Value::Decimal(t.total_amount.normalize()));
        }
        if !system && unestimated {
            out.insert("isrevenuesystemcalculated".into(), Value::Bool(true));
        }
    }
    if kind.doc == "invoice" {
        let paid = dec(header, "relata_amountpaid").unwrap_or_default();
        out.insert("relata_amountdue".into(), Value::Decimal((t.total_amount - paid).normalize()));
    }
    Ok(out)
}

/// After a line changed: the document's totals.
pub(super) fn recalculate(s: &mut Session<'_, '_, '_>, kind: &'static DocKind, doc: Uuid) -> Result<()> {
    let Some(header) = s.read_system(kind.doc, doc)? else { return Ok(()) };
    let changes = totals(s, kind, doc, header)?;
    s.system_update(kind.doc, doc, changes)
}

/// After a document changed: a new price list reprices its lines (unless
/// pricing is locked), and lines follow the document's state.
pub(super) fn after_update(
    s: &mut Session<'_, '_, '_>,
    kind: &'static DocKind,
    id: Uuid,
    existing: &Fields,
    changes: &Fields,
) -> Result<()> {
    let changed = |k: &str| changes.get(k).is_some_and(|v| existing.get(k) != Some(v));
    let unlocked = changes.get("ispricelocked").and_then(Value::as_bool) == Some(false) && changed("ispricelocked");
    if changed("pricelevelid") || unlocked {
        reprice(s, kind, id)?;
    } else if changed("statecode") || changed("ispricelocked") {
        let mut follow = Fields::new();
        if let Some(state) = changes.get("statecode") {
            follow.insert(kind.line_state.into(), state.clone());
        }
        if let (Some(col), Some(lock)) = (super::lines::lock_column(s, kind)?, changes.get("ispricelocked")) {
            follow.insert(col, lock.clone());
        }
        for line in line_ids(s, kind, id)? {
            s.system_update(kind.line, line, follow.clone())?;
        }
    }
    Ok(())
}

fn line_ids(s: &mut Session<'_, '_, '_>, kind: &DocKind, doc: Uuid) -> Result<Vec<Uuid>> {
    let pk = format!("{}id", kind.line);
    let rows = s.query_system(kind.line, &format!("$select={pk}&$filter=_{}_value eq {doc}", kind.parent))?;
    Ok(rows.iter().filter_map(|r| r.get(&pk).and_then(Value::as_uuid)).collect())
}

/// Prices every line of a document again from its price list, then its
/// totals: one pass, one totals update.
pub fn reprice(s: &mut Session<'_, '_, '_>, kind: &'static DocKind, doc: Uuid) -> Result<()> {
    let header =
        s.read_system(kind.doc, doc)?.ok_or_else(|| invalid(format!("The {} {doc} does not exist.", kind.noun)))?;
    let ctx = DocContext::from_fields(s, kind, header)?;
    let rows =
        s.query_system(kind.line, &format!("$filter=_{}_value eq {doc}&$orderby=lineitemnumber", kind.parent))?;
    for line in rows {
        let id = line.get(&format!("{}id", kind.line)).and_then(Value::as_uuid).expect("line id");
        let mut changes = Fields::new();
        super::lines::compute_line(s, &ctx, Some(&line), &mut changes, false)?;
        s.system_update_loaded(kind.line, id, &line, changes)?;
    }
    recalculate(s, kind, doc)
}

/// Columns a copy carries: those both entities have and a client could
/// set, except identity, ownership, state and numbering.
fn copyable(from: &Entity, to: &Entity, source: &Fields, skip: &[&str]) -> Vec<(String, Value)> {
    const NEVER: &[&str] = &[
        "ownerid",
        "owningbusinessunit",
        "statecode",
        "statuscode",
        "quotenumber",
        "ordernumber",
        "invoicenumber",
        "revisionnumber",
        "exchangerate",
        "lineitemnumber",
    ];
    to.attributes()
        .iter()
        .filter(|a| {
            a.valid_for_create
                && !a.read_only
                && a.name != to.primary_id()
                && !NEVER.contains(&a.name.as_str())
                && !skip.contains(&a.name.as_str())
                && from.attribute(&a.name).is_some_and(|f| f.kind == a.kind)
        })
        .filter_map(|a| source.get(&a.name).filter(|v| !v.is_null()).map(|v| (a.name.clone(), v.clone())))
        .collect()
}

/// Creates `to` from the document `from_id` of kind `from` with its
/// lines, as the caller (their Create privilege applies). `extra` sets or
/// overrides header columns. With `keep_prices` the new lines carry the
/// agreed prices instead of being priced again.
pub(super) fn copy_document(
    s: &mut Session<'_, '_, '_>,
    from: &'static DocKind,
    from_id: Uuid,
    to: &'static DocKind,
    extra: Vec<(String, Value)>,
    keep_prices: bool,
) -> Result<Uuid> {
    let from_entity = s.entity(from.doc)?;
    let to_entity = s.entity(to.doc)?;
    let source = s
        .load(&from_entity, from_id)?
        .ok_or_else(|| EngineError::not_found(format!("The {} {from_id} does not exist.", from.noun)))?;
    let mut fields = copyable(&from_entity, &to_entity, &source, &[]);
    if keep_prices {
        fields.push(("ispricelocked".into(), Value::Bool(true)));
    }
    for (k, v) in extra {
        fields.retain(|(n, _)| *n != k);
        fields.push((k, v));
    }
    // A fresh document starts unlocked so its lines can be written; the
    // lock is applied once they are in.
    let lock = fields.iter().position(|(n, _)| n == "ispricelocked").map(|i| fields.remove(i).1);
    let new_id = s.create(to.doc, RecordInput::new(fields))?;

    let from_line = s.entity(from.line)?;
    let to_line = s.entity(to.line)?;
    let lines =
        s.query_system(from.line, &format!("$filter=_{}_value eq {from_id}&$orderby=lineitemnumber", from.parent))?;
    let saved_action = s.action;
    for line in &lines {
        let mut f = copyable(&from_line, &to_line, line, &[from.parent, "priceperunit"]);
        f.push((to.parent.into(), Value::Ref(EntityRef { entity: to.doc.into(), id: new_id })));
        if let Some(n) = line.get("lineitemnumber").filter(|v| !v.is_null()) {
            f.push(("lineitemnumber".into(), n.clone()));
        }
        let overridden = line.get("ispriceoverridden").and_then(Value::as_bool) == Some(true)
            || line.get("isproductoverridden").and_then(Value::as_bool) == Some(true);
        if keep_prices || overridden {
            if let Some(p) = line.get("priceperunit").filter(|v| !v.is_null()) {
                f.push(("priceperunit".into(), p.clone()));
            }
            if keep_prices && !overridden {
                f.retain(|(k, _)| k != "ispriceoverridden");
                f.push(("ispriceoverridden".into(), Value::Bool(true)));
            }
        }
        let id = s.create(to.line, RecordInput::new(f))?;
        if keep_prices {
            // Carry the agreed volume discount too, then restore the flag.
            let mut exact = Fields::new();
            for k in ["volumediscountamount", "baseamount", "tax", "extendedamount"] {
                if let Some(v) = line.get(k) {
                    exact.insert(k.into(), v.clone());
                }
            }
            if !overridden {
                exact.insert("ispriceoverridden".into(), Value::Bool(false));
            }
            s.system_update(to.line, id, exact)?;
        }
    }
    s.action = saved_action;
    if lines.iter().any(|_| keep_prices) {
        recalculate(s, to, new_id)?;
    }
    if let Some(lock) = lock.filter(|l| l.as_bool() == Some(true)) {
        let mut f = Fields::new();
        f.insert("ispricelocked".into(), lock);
        s.system_update(to.doc, new_id, f)?;
        if let Some(col) = super::lines::lock_column(s, to)? {
            let mut follow = Fields::new();
            follow.insert(col, Value::Bool(true));
            for line in line_ids(s, to, new_id)? {
                s.system_update(to.line, line, follow.clone())?;
            }
        }
    }
    Ok(new_id)
}

/// Decimal helper for callers outside this module.
pub(super) fn amount(fields: &Fields, name: &str) -> Decimal {
    dec(fields, name).unwrap_or_default()
}
