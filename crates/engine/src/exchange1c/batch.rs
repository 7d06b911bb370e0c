//! Offers in bulk: a step reads the products, price list items and stock
//! its offers name in a few queries ([`read_ahead`]), holds the writes
//! its items decide ([`create`], [`update`]) and makes them at the end
//! ([`flush`]) with `CreateMultiple` and `UpdateMultiple`, which run the
//! same rules as one record at a time. A refusal at the end undoes the
//! step, which is then redone one item at a time with every write made at
//! once, so the log still names the item that was refused.

use std::collections::HashMap;

use relata_metadata::Value;
use uuid::Uuid;

use super::catalog::{self, refers, Item};
use crate::error::Result;
use crate::session::{Condition, Fields, RecordInput, Session};

/// Columns and their values, as a record input takes them.
type Columns = Vec<(String, Value)>;

/// Writes held for the end of a step.
#[derive(Default)]
pub(super) struct Deferred {
    /// New records, in the order decided.
    creates: Vec<(&'static str, Columns)>,
    /// Records held for creation, by (entity, Ид): a lookup of one makes
    /// the held writes first (see [`catalog::find`]).
    pub held: std::collections::HashSet<(String, String)>,
    /// Product numbers known to be taken or free, read ahead.
    pub numbers: HashMap<String, bool>,
    /// Changes by record; a second change of a record adds to the first.
    updates: Vec<(&'static str, Uuid, Columns)>,
    updated: HashMap<Uuid, usize>,
}

/// Creates a record, or holds its creation; its id either way.
pub(super) fn create(
    s: &mut Session<'_, '_, '_>,
    cx: &mut catalog::Step,
    entity: &'static str,
    mut fields: Vec<(String, Value)>,
) -> Result<Uuid> {
    let Some(d) = &mut cx.deferred else { return s.create(entity, RecordInput::new(fields)) };
    let id = Uuid::now_v7();
    fields.push((s.entity(entity)?.primary_id().to_string(), Value::Uuid(id)));
    d.creates.push((entity, fields));
    Ok(id)
}

/// Changes a record, or holds the change.
pub(super) fn update(
    s: &mut Session<'_, '_, '_>,
    cx: &mut catalog::Step,
    entity: &'static str,
    id: Uuid,
    fields: Vec<(String, Value)>,
) -> Result<()> {
    let Some(d) = &mut cx.deferred else {
        s.update(entity, id, RecordInput::new(fields), Condition::default(), false)?;
        return Ok(());
    };
    // A record created in this step gets the change in its creation.
    if let Some((_, made)) = d
        .creates
        .iter_mut()
        .rev()
        .find(|(e, f)| *e == entity && f.iter().any(|(_, v)| matches!(v, Value::Uuid(u) if *u == id)))
    {
        for (k, v) in fields {
            made.retain(|(n, _)| *n != k);
            made.push((k, v));
        }
        return Ok(());
    }
    match d.updated.get(&id) {
        Some(&i) => {
            let held = &mut d.updates[i].2;
            for (k, v) in fields {
                held.retain(|(n, _)| *n != k);
                held.push((k, v));
            }
        }
        None => {
            d.updated.insert(id, d.updates.len());
            d.updates.push((entity, id, fields));
        }
    }
    Ok(())
}

/// Makes the held writes: per entity, the creations then the changes.
pub(super) fn flush(s: &mut Session<'_, '_, '_>, cx: &mut catalog::Step) -> Result<()> {
    let Some(mut d) = cx.deferred.take() else { return Ok(()) };
    let numbers = std::mem::take(&mut d.numbers);
    let result = (|| {
        let mut creates: Vec<(&'static str, Vec<RecordInput>)> = Vec::new();
        for (entity, fields) in d.creates {
            match creates.iter_mut().find(|(e, _)| *e == entity) {
                Some((_, list)) => list.push(RecordInput::new(fields)),
                None => creates.push((entity, vec![RecordInput::new(fields)])),
            }
        }
        for (entity, list) in creates {
            s.create_multiple(entity, list)?;
        }
        let mut updates: Vec<(&'static str, Vec<(Uuid, RecordInput)>)> = Vec::new();
        for (entity, id, fields) in d.updates {
            match updates.iter_mut().find(|(e, _)| *e == entity) {
                Some((_, list)) => list.push((id, RecordInput::new(fields))),
                None => updates.push((entity, vec![(id, RecordInput::new(fields))])),
            }
        }
        for (entity, list) in updates {
            s.update_multiple(entity, list)?;
        }
        Ok(())
    })();
    // What is known of product numbers stays true once the writes are made.
    cx.deferred = Some(Deferred { numbers, ..Deferred::default() });
    result
}

/// Reads at once what the step's offers will look up one by one: their
/// products (and variants' base products) by Ид, and those products'
/// price list items and stock.
pub(super) fn read_ahead(s: &mut Session<'_, '_, '_>, cx: &mut catalog::Step, items: &[&Item]) -> Result<()> {
    let mut wanted: Vec<String> = Vec::new();
    let mut numbers: Vec<String> = Vec::new();
    for item in items {
        match item {
            Item::Offer(o) => {
                wanted.push(o.id.clone());
                wanted.push(o.product_id().to_string());
            }
            Item::Product(p) => {
                wanted.push(p.id.clone());
                wanted.push(p.product_id().to_string());
            }
            _ => {}
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    wanted.sort();
    wanted.dedup();
    let node = cx.node;
    let mut by_id: HashMap<String, Fields> = HashMap::new();
    for row in s.query_system_in("product", "relata_exchangeid", &wanted)? {
        if !refers(&row, "relata_exchangenodeid", node) {
            continue;
        }
        if let Some(key) = row.get("relata_exchangeid").and_then(Value::as_str).map(str::to_string) {
            by_id.insert(key, row);
        }
    }
    // New products take a number: which of theirs are free is read once.
    for item in items {
        if let Item::Product(p) = item {
            if !by_id.contains_key(&p.id) {
                let code = p.requisite("Код").unwrap_or("");
                numbers.extend(catalog::number_candidates(&[p.article.as_deref().unwrap_or(""), code, &p.id]));
            }
        }
    }
    read_numbers(s, cx, &numbers)?;
    let products: Vec<Uuid> = by_id.values().filter_map(|p| p.get("productid").and_then(Value::as_uuid)).collect();
    for id in &wanted {
        cx.remember("product", id, by_id.remove(id));
    }
    for (entity, column, into) in [
        ("productpricelevel", "productid", &mut cx.items),
        ("relata_productpropertyvalue", "relata_productid", &mut cx.values),
        ("relata_productstock", "relata_productid", &mut cx.stocks),
    ] {
        for (product, rows) in by_product(s, entity, column, &products)? {
            into.entry(product).or_insert(rows);
        }
    }
    Ok(())
}

/// The records of `entity` whose `column` names one of `products`, by
/// product (an empty list for a product that has none).
fn by_product(
    s: &mut Session<'_, '_, '_>,
    entity: &str,
    column: &str,
    products: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Fields>>> {
    let keys: Vec<String> = products.iter().map(Uuid::to_string).collect();
    let mut out: HashMap<Uuid, Vec<Fields>> = products.iter().map(|p| (*p, Vec::new())).collect();
    for row in s.query_system_in(entity, column, &keys)? {
        if let Some(list) = row.get(column).and_then(Value::as_uuid).and_then(|p| out.get_mut(&p)) {
            list.push(row);
        }
    }
    Ok(out)
}

/// Which of the product numbers new products may take are taken.
fn read_numbers(s: &mut Session<'_, '_, '_>, cx: &mut catalog::Step, numbers: &[String]) -> Result<()> {
    if numbers.is_empty() {
        return Ok(());
    }
    let taken: std::collections::HashSet<String> = s
        .query_system_in("product", "productnumber", numbers)?
        .into_iter()
        .filter_map(|p| p.get("productnumber").and_then(Value::as_str).map(str::to_string))
        .collect();
    if let Some(d) = &mut cx.deferred {
        for n in numbers {
            d.numbers.entry(n.clone()).or_insert_with(|| taken.contains(n));
        }
    }
    Ok(())
}

/// A product's price list items: read ahead, or read now.
pub(super) fn price_items(s: &mut Session<'_, '_, '_>, cx: &catalog::Step, product: Uuid) -> Result<Vec<Fields>> {
    match cx.items.get(&product) {
        Some(items) => Ok(items.clone()),
        None => crate::sales::price_items(s, product),
    }
}

/// A product's stock records: read ahead, or read now.
pub(super) fn stocks(s: &mut Session<'_, '_, '_>, cx: &catalog::Step, product: Uuid) -> Result<Vec<Fields>> {
    match cx.stocks.get(&product) {
        Some(stocks) => Ok(stocks.clone()),
        None => catalog::of_product(s, "relata_productstock", product),
    }
}
