//! What an import does with each thing 1C describes. Everything is
//! matched by its 1C `Ид` within the node and created or updated, so a
//! package imported twice changes nothing the second time.
//!
//! - Groups become product families, nested as in 1C.
//! - Units become unit groups of one unit each, matched by OKEI code:
//!   1C's units do not convert into one another, so each is the base of
//!   its own group.
//! - Properties become `relata_productproperty` records and a product's
//!   values `relata_productpropertyvalue` records (listed values as text).
//! - Price types become price lists in their currency; a price for a type
//!   is the product's item in that list, in the product's unit.
//! - Warehouses become `relata_warehouse` records, stock per warehouse
//!   `relata_productstock` records, the total the product's
//!   `quantityonhand`.
//! - A variant (`product#variant`) is a product of its own, linked to its
//!   base product by `relata_baseproductid`, in the base product's family
//!   and unit, named after the base product and its characteristics.
//! - Deletion marks retire (products, families) or deactivate (price
//!   lists, warehouses); nothing 1C sends deletes a record.
//!
//! 1C's file order is not guaranteed: what refers to something not yet
//! received is kept in `relata_exchangepending` under the awaited `Ид`
//! and applied again when that arrives.

use std::collections::HashMap;

use relata_commerceml::{Group, Offer, PriceType, Product, Property, Unit, Warehouse};
use relata_metadata::{EntityRef, Value};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::session::{Condition, Fields, RecordInput, Session};

/// One thing to import, in the order they are applied.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "item")]
pub(super) enum Item {
    Group(Group),
    Property(Property),
    Unit(Unit),
    PriceType(PriceType),
    Warehouse(Warehouse),
    Product(Product),
    Offer(Offer),
    /// A counterparty: on its own, or the buyer of a document 1C sends.
    Counterparty(Box<relata_commerceml::Counterparty>),
    /// A document 1C sends about an order (its status, payment, shipment).
    Order(Box<relata_commerceml::Order>),
}

impl Item {
    pub fn id(&self) -> &str {
        match self {
            Item::Group(g) => &g.id,
            Item::Property(p) => &p.id,
            Item::Unit(u) => &u.id,
            Item::PriceType(t) => &t.id,
            Item::Warehouse(w) => &w.id,
            Item::Product(p) => &p.id,
            Item::Offer(o) => &o.id,
            Item::Counterparty(c) => &c.id,
            Item::Order(o) => &o.id,
        }
    }

    /// What the item is called, for the log.
    pub fn name(&self) -> &str {
        match self {
            Item::Group(g) => &g.name,
            Item::Property(p) => &p.name,
            Item::Unit(u) => u.full_name.as_deref().or(u.short_name.as_deref()).unwrap_or(""),
            Item::PriceType(t) => &t.name,
            Item::Warehouse(w) => &w.name,
            Item::Product(p) => &p.name,
            Item::Offer(o) => o.name.as_deref().unwrap_or(""),
            Item::Counterparty(c) => &c.name,
            Item::Order(o) => &o.number,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Item::Group(_) => "group",
            Item::Property(_) => "property",
            Item::Unit(_) => "unit",
            Item::PriceType(_) => "pricetype",
            Item::Warehouse(_) => "warehouse",
            Item::Product(_) => "product",
            Item::Offer(_) => "offer",
            Item::Counterparty(_) => "counterparty",
            Item::Order(_) => "order",
        }
    }
}

/// The items an entry of a file gives, in the file's order: a
/// classifier's groups, properties, units, price types and warehouses; an
/// offer package's price types and warehouses (before its offers); a
/// product or an offer; a document, after its buyer. Each counterparty
/// comes once per file (`parties` keeps the ones given).
pub(super) fn items_of(
    entry: relata_commerceml::Entry,
    parties: &mut std::collections::HashSet<String>,
    out: &mut std::collections::VecDeque<Item>,
) {
    use relata_commerceml::Entry;
    match entry {
        Entry::Classifier(c) => {
            let c = *c;
            out.extend(c.groups.into_iter().map(Item::Group));
            out.extend(c.properties.into_iter().map(Item::Property));
            out.extend(c.units.into_iter().map(Item::Unit));
            out.extend(c.price_types.into_iter().map(Item::PriceType));
            out.extend(c.warehouses.into_iter().map(Item::Warehouse));
        }
        Entry::Catalog(_) => {}
        Entry::Product(p) => out.push_back(Item::Product(*p)),
        Entry::Offers(o) => {
            let o = *o;
            out.extend(o.price_types.into_iter().map(Item::PriceType));
            out.extend(o.warehouses.into_iter().map(Item::Warehouse));
        }
        Entry::Offer(o) => out.push_back(Item::Offer(*o)),
        Entry::Counterparty(c) => {
            if parties.insert(c.id.clone()) {
                out.push_back(Item::Counterparty(c));
            }
        }
        Entry::Order(o) => {
            // The buyer before the document that names it.
            if let Some(buyer) = o.buyer().filter(|b| !parties.contains(&b.id)) {
                parties.insert(buyer.id.clone());
                out.push_back(Item::Counterparty(Box::new(buyer.clone())));
            }
            out.push_back(Item::Order(o));
        }
    }
}

/// What an import did, kept in the job's data between steps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Tally {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub retired: u64,
    pub waiting: u64,
    pub resolved: u64,
    /// Records the node's settings kept the exchange from creating or
    /// updating.
    #[serde(default)]
    pub skipped: u64,
    pub warnings: Vec<String>,
}

impl Tally {
    pub(super) fn counted(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }

    pub fn warn(&mut self, text: String) {
        // The log keeps the first ones; the count says how many there were.
        if self.warnings.len() < 50 {
            self.warnings.push(text);
        }
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} created, {} updated, {} unchanged, {} retired",
            self.created, self.updated, self.unchanged, self.retired
        );
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped by the node's settings", self.skipped));
        }
        if self.resolved > 0 {
            s.push_str(&format!(", {} waiting items applied", self.resolved));
        }
        if self.waiting > 0 {
            s.push_str(&format!(", {} waiting for data not yet received", self.waiting));
        }
        if !self.warnings.is_empty() {
            s.push_str(&format!("; warnings: {}", self.warnings.join("; ")));
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// An OData string literal for an internal filter.
pub(super) fn quote(s: &str) -> String {
    relata_query::options::string_literal(s)
}

pub(super) fn reference(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

pub(super) fn text(s: &str, max: usize) -> Value {
    Value::String(s.trim().chars().take(max).collect())
}

/// Is `row`'s `column` a reference to `id`?
pub(super) fn refers(row: &Fields, column: &str, id: Uuid) -> bool {
    row.get(column).and_then(Value::as_uuid) == Some(id)
}

/// What one import step knows: its node, and what its items have looked
/// up already, so that the price lists, warehouses, properties, families
/// and units every item names are queried once per step, not per item.
/// It lives for one step (one transaction); a failed item empties it
/// (see [`Step::clear`]), so it never holds a record a rollback removed.
pub(super) struct Step {
    pub node: Uuid,
    /// Records by (entity, Ид); `None` when there is none.
    found: HashMap<(String, String), Option<Fields>>,
    /// Units by OKEI code: (unit group, unit).
    units: HashMap<String, (Uuid, Uuid)>,
    /// Does the node keep items waiting for something (not known yet)?
    pending: Option<bool>,
    /// Waiting items this step applied.
    pub resolved: u64,
    /// The node's settings, once read.
    settings: Option<Fields>,
    /// What [`find`] found through a `relata_exchangemapping`.
    mapped: std::collections::HashSet<(String, String)>,
    /// Writes held until the end of the step, then made many at a time
    /// (see [`super::batch`]); `None`: every write is made at once.
    pub deferred: Option<super::batch::Deferred>,
    /// Products' price list items and stock, by product, read for the
    /// whole step at once and kept up to date as they are made.
    pub items: HashMap<Uuid, Vec<Fields>>,
    pub stocks: HashMap<Uuid, Vec<Fields>>,
    /// Products' property values, likewise; a product made in this step
    /// has none.
    pub values: HashMap<Uuid, Vec<Fields>>,
}

/// What a node lets the exchange do with one kind of record
/// (`relata_productmode` and its siblings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Products,
    Prices,
    Stock,
    Counterparties,
}

impl Kind {
    fn column(self) -> &'static str {
        match self {
            Kind::Products => "relata_productmode",
            Kind::Prices => "relata_pricemode",
            Kind::Stock => "relata_stockmode",
            Kind::Counterparties => "relata_counterpartymode",
        }
    }
}

impl Step {
    pub fn new(node: Uuid) -> Self {
        Step {
            node,
            found: HashMap::new(),
            units: HashMap::new(),
            pending: None,
            resolved: 0,
            settings: None,
            mapped: Default::default(),
            deferred: None,
            items: HashMap::new(),
            stocks: HashMap::new(),
            values: HashMap::new(),
        }
    }

    /// Forgets everything looked up and every write held (after a
    /// rollback).
    pub fn clear(&mut self) {
        self.found.clear();
        self.mapped.clear();
        self.units.clear();
        self.pending = None;
        self.items.clear();
        self.stocks.clear();
        self.values.clear();
        if let Some(d) = &mut self.deferred {
            *d = Default::default();
        }
    }

    /// Records what a lookup found (a batch read ahead of the items).
    pub(super) fn remember(&mut self, entity: &str, exchange_id: &str, found: Option<Fields>) {
        self.found.entry((entity.to_string(), exchange_id.to_string())).or_insert(found);
    }

    /// A product changed by a held write: later items see the change.
    fn changed(&mut self, entity: &str, exchange_id: &str, changes: &[(String, Value)]) {
        let key = (entity.to_string(), exchange_id.to_string());
        match (&self.deferred, self.found.get_mut(&key)) {
            (Some(_), Some(Some(record))) => {
                for (k, v) in changes {
                    record.insert(k.clone(), v.clone());
                }
            }
            _ => {
                self.found.remove(&key);
            }
        }
    }

    pub(super) fn forget(&mut self, entity: &str, exchange_id: &str) {
        self.found.remove(&(entity.to_string(), exchange_id.to_string()));
    }

    fn setting(&mut self, s: &mut Session<'_, '_, '_>, column: &str) -> Result<Option<Value>> {
        if self.settings.is_none() {
            self.settings = Some(s.read_system("relata_exchangenode", self.node)?.unwrap_or_default());
        }
        Ok(self.settings.as_ref().and_then(|f| f.get(column)).cloned())
    }

    /// How counterparties without a 1C Ид match accounts in this node.
    pub(super) fn counterparty_rule(&mut self, s: &mut Session<'_, '_, '_>) -> Result<i64> {
        Ok(self.setting(s, "relata_counterpartymatch")?.and_then(|v| v.as_i64()).unwrap_or(1))
    }

    /// May the exchange create (`exists` false) or update (`exists` true)
    /// a record of `kind` in this node? (1 create and update, 2 update
    /// only, 3 create only, 4 neither.)
    pub(super) fn allows(&mut self, s: &mut Session<'_, '_, '_>, kind: Kind, exists: bool) -> Result<bool> {
        let mode = self.setting(s, kind.column())?.and_then(|v| v.as_i64()).unwrap_or(1);
        Ok(match mode {
            2 => exists,
            3 => !exists,
            4 => false,
            _ => true,
        })
    }

    fn has_pending(&mut self, s: &mut Session<'_, '_, '_>) -> Result<bool> {
        if let Some(p) = self.pending {
            return Ok(p);
        }
        let rows = s.query_system(
            "relata_exchangepending",
            &format!("$select=relata_exchangependingid&$top=1&$filter=_relata_exchangenodeid_value eq {}", self.node),
        )?;
        self.pending = Some(!rows.is_empty());
        Ok(!rows.is_empty())
    }
}

/// The record of `entity` that 1C calls `exchange_id` in this node.
///
/// Lookups in this module filter in SQL on their most selective column
/// only (here the `Ид`, one row or a few) and pick the rest here: given a
/// second condition on a column every row of the node shares, a planner
/// without statistics may walk that column's index instead, and each
/// lookup would read the whole node.
pub(super) fn find(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    entity: &str,
    exchange_id: &str,
) -> Result<Option<Fields>> {
    let key = (entity.to_string(), exchange_id.to_string());
    if cx.deferred.as_ref().is_some_and(|d| d.held.contains(&key)) {
        // A record held for creation is read as stored, with what the
        // rules filled in: the held writes are made first.
        super::batch::flush(s, cx)?;
        cx.found.remove(&key);
    }
    if let Some(found) = cx.found.get(&key) {
        return Ok(found.clone());
    }
    let found = match mapped(s, cx, entity, exchange_id)? {
        Some(record) => {
            cx.mapped.insert(key.clone());
            Some(record)
        }
        None => {
            let rows = s.query_system(entity, &format!("$filter=relata_exchangeid eq {}", quote(exchange_id)))?;
            rows.into_iter().find(|r| refers(r, "relata_exchangenodeid", cx.node))
        }
    };
    cx.found.insert(key, found.clone());
    Ok(found)
}

/// The record a `relata_exchangemapping` of this node binds a 1C price
/// type or warehouse to, if the users made one.
fn mapped(s: &mut Session<'_, '_, '_>, cx: &Step, entity: &str, exchange_id: &str) -> Result<Option<Fields>> {
    let column = match entity {
        "pricelevel" => "relata_pricelevelid",
        "relata_warehouse" => "relata_warehouseid",
        _ => return Ok(None),
    };
    let rows =
        s.query_system("relata_exchangemapping", &format!("$filter=relata_exchangeid eq {}", quote(exchange_id)))?;
    let target =
        rows.iter().filter(|r| refers(r, "relata_exchangenodeid", cx.node)).find_map(|r| r.get(column)?.as_uuid());
    match target {
        Some(id) => s.read_system(entity, id),
        None => Ok(None),
    }
}

fn id_of(s: &Session<'_, '_, '_>, entity: &str, record: &Fields) -> Result<Uuid> {
    let key = s.entity(entity)?.primary_id().to_string();
    record.get(&key).and_then(Value::as_uuid).ok_or_else(|| EngineError::Invalid(format!("{entity} without an id")))
}

/// A product's `relata_…` child records (its stock, its property values),
/// filtered in SQL by product only, as [`find`] explains; the caller picks.
pub(super) fn of_product(s: &mut Session<'_, '_, '_>, entity: &str, product: Uuid) -> Result<Vec<Fields>> {
    s.query_system(entity, &format!("$filter=_relata_productid_value eq {product}"))
}

/// Creates the record 1C calls `exchange_id`, or updates what changed.
/// Products are held for the end of the step when the step holds writes.
fn upsert(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    entity: &'static str,
    exchange_id: &str,
    fields: Vec<(&str, Value)>,
) -> Result<(Uuid, Outcome)> {
    let hold = entity == "product" && cx.deferred.is_some();
    match find(s, cx, entity, exchange_id)? {
        Some(existing) => {
            let id = id_of(s, entity, &existing)?;
            let changed = changes(&existing, fields);
            if changed.is_empty() {
                return Ok((id, Outcome::Unchanged));
            }
            if hold {
                cx.changed(entity, exchange_id, &changed);
                super::batch::update(s, cx, entity, id, changed)?;
            } else {
                cx.forget(entity, exchange_id);
                s.update(entity, id, RecordInput::new(changed), Condition::default(), false)?;
            }
            Ok((id, Outcome::Updated))
        }
        None => {
            let mut all: Vec<(String, Value)> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            all.push(("relata_exchangeid".into(), Value::String(exchange_id.to_string())));
            all.push(("relata_exchangenodeid".into(), reference("relata_exchangenode", cx.node)));
            cx.forget(entity, exchange_id);
            let id = if hold {
                let id = super::batch::create(s, cx, entity, all)?;
                if let Some(d) = &mut cx.deferred {
                    d.held.insert((entity.to_string(), exchange_id.to_string()));
                }
                // A new product has no property values yet.
                cx.values.insert(id, Vec::new());
                id
            } else {
                s.create(entity, RecordInput::new(all))?
            };
            resolve_waiting(s, cx, exchange_id)?;
            Ok((id, Outcome::Created))
        }
    }
}

/// The fields whose value differs from the stored record. A state change
/// is kept whole (status with state).
pub(super) fn changes(existing: &Fields, fields: Vec<(&str, Value)>) -> Vec<(String, Value)> {
    let same = |k: &str, v: &Value| match (existing.get(k), v) {
        (Some(Value::Ref(a)), Value::Ref(b)) => a.id == b.id,
        (Some(Value::Decimal(a)), Value::Decimal(b)) => a.normalize() == b.normalize(),
        (Some(a), b) => a == b,
        (None, b) => b.is_null(),
    };
    let state_changes = fields.iter().any(|(k, v)| *k == "statecode" && !same(k, v));
    fields
        .into_iter()
        .filter(|(k, v)| !same(k, v) || (state_changes && *k == "statuscode"))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Keeps `item` until `awaited` arrives.
fn wait_for(s: &mut Session<'_, '_, '_>, cx: &mut Step, awaited: &str, item: &Item, tally: &mut Tally) -> Result<()> {
    let payload = serde_json::to_string(item).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let kept = s.query_system("relata_exchangepending", &format!("$filter=relata_name eq {}", quote(awaited)))?;
    let same = |p: &Fields| {
        refers(p, "relata_exchangenodeid", cx.node)
            && p.get("relata_kind").and_then(Value::as_str) == Some(item.kind())
            && p.get("relata_payload").and_then(Value::as_str) == Some(payload.as_str())
    };
    if !kept.iter().any(same) {
        let fields = vec![
            ("relata_name".to_string(), text(awaited, 200)),
            ("relata_exchangenodeid".to_string(), reference("relata_exchangenode", cx.node)),
            ("relata_kind".to_string(), Value::String(item.kind().into())),
            ("relata_payload".to_string(), Value::String(payload)),
        ];
        s.create("relata_exchangepending", RecordInput::new(fields))?;
        cx.pending = Some(true);
    }
    tally.waiting += 1;
    Ok(())
}

/// Applies again what waited for `exchange_id`, now that it exists.
fn resolve_waiting(s: &mut Session<'_, '_, '_>, cx: &mut Step, exchange_id: &str) -> Result<()> {
    if !cx.has_pending(s)? {
        return Ok(());
    }
    let waiting =
        s.query_system("relata_exchangepending", &format!("$filter=relata_name eq {}", quote(exchange_id)))?;
    let node = cx.node;
    for w in waiting.into_iter().filter(|w| refers(w, "relata_exchangenodeid", node)) {
        let Some(id) = w.get("relata_exchangependingid").and_then(Value::as_uuid) else { continue };
        s.delete("relata_exchangepending", id, None)?;
        let payload = w.get("relata_payload").and_then(Value::as_str).unwrap_or("");
        let Ok(item) = serde_json::from_str::<Item>(payload) else { continue };
        let mut tally = Tally::default();
        apply(s, cx, &item, &mut tally)?;
        cx.resolved += 1;
    }
    Ok(())
}

/// Applies one item.
pub(super) fn apply(s: &mut Session<'_, '_, '_>, cx: &mut Step, item: &Item, tally: &mut Tally) -> Result<()> {
    if item.id().trim().is_empty() {
        tally.warn(format!("a {} without an Ид was skipped", item.kind()));
        return Ok(());
    }
    match item {
        Item::Group(g) => group(s, cx, g, item, tally),
        Item::Property(p) => property(s, cx, p, tally),
        Item::Unit(u) => described_unit(s, cx, u, tally),
        Item::PriceType(t) => price_type(s, cx, t, tally),
        Item::Warehouse(w) => warehouse(s, cx, w, tally),
        Item::Product(p) => product(s, cx, p, item, tally),
        Item::Offer(o) => offer(s, cx, o, item, tally),
        Item::Counterparty(c) => super::parties::counterparty(s, cx, c, tally),
        Item::Order(o) => super::sale::apply_status(s, o, tally),
    }
}

fn state(deleted: bool, active: (i64, i64), retired: (i64, i64)) -> [(&'static str, Value); 2] {
    let (state, status) = if deleted { retired } else { active };
    [("statecode", Value::Int(state)), ("statuscode", Value::Int(status))]
}

/// A product number no other product has: the first free of the given
/// candidates, else the last with a counter.
fn free_product_number(s: &mut Session<'_, '_, '_>, cx: &mut Step, candidates: &[&str]) -> Result<String> {
    let taken = |s: &mut Session<'_, '_, '_>, n: &str| -> Result<bool> {
        if let Some(known) = cx.deferred.as_ref().and_then(|d| d.numbers.get(n)) {
            return Ok(*known);
        }
        let rows = s.query_system("product", &format!("$select=productid&$filter=productnumber eq {}", quote(n)))?;
        Ok(!rows.is_empty())
    };
    let candidates = number_candidates(candidates);
    let mut chosen = None;
    for c in &candidates {
        if !taken(s, c)? {
            chosen = Some(c.clone());
            break;
        }
    }
    if chosen.is_none() {
        let last = candidates.last().cloned().unwrap_or_else(|| "1C".into());
        for n in 2.. {
            let c = format!("{last}-{n}");
            if !taken(s, &c)? {
                chosen = Some(c);
                break;
            }
        }
    }
    let chosen = chosen.expect("the counter runs until a number is free");
    if let Some(d) = &mut cx.deferred {
        d.numbers.insert(chosen.clone(), true);
    }
    Ok(chosen)
}

/// The numbers a new product may take, in order of preference.
pub(super) fn number_candidates(candidates: &[&str]) -> Vec<String> {
    candidates.iter().map(|c| c.trim().chars().take(90).collect::<String>()).filter(|c| !c.is_empty()).collect()
}

fn group(s: &mut Session<'_, '_, '_>, cx: &mut Step, g: &Group, item: &Item, tally: &mut Tally) -> Result<()> {
    let parent = match &g.parent_id {
        Some(p) => match find(s, cx, "product", p)? {
            Some(f) => Some(id_of(s, "product", &f)?),
            None => {
                wait_for(s, cx, p, item, tally)?;
                None
            }
        },
        None => None,
    };
    let mut fields = vec![("name", text(&g.name, 100)), ("productstructure", Value::Int(2))];
    fields.extend(state(g.deleted, (0, 1), (1, 2)));
    if let Some(p) = parent {
        fields.push(("parentproductid", reference("product", p)));
    }
    let exists = find(s, cx, "product", &g.id)?.is_some();
    if !cx.allows(s, Kind::Products, exists)? {
        tally.skipped += 1;
        return Ok(());
    }
    if !exists {
        let number = free_product_number(s, cx, &[&g.id])?;
        fields.push(("productnumber", Value::String(number)));
    }
    let (_, outcome) = upsert(s, cx, "product", &g.id, fields)?;
    tally.counted(outcome);
    if g.deleted && outcome != Outcome::Unchanged {
        tally.retired += 1;
    }
    Ok(())
}

fn property(s: &mut Session<'_, '_, '_>, cx: &mut Step, p: &Property, tally: &mut Tally) -> Result<()> {
    let choices: serde_json::Map<String, serde_json::Value> =
        p.choices.iter().filter_map(|c| Some((c.id.clone()?, serde_json::Value::String(c.value.clone())))).collect();
    let fields = vec![
        ("relata_name", text(&p.name, 400)),
        ("relata_valuetype", p.value_type.as_deref().map_or(Value::Null, |t| text(t, 50))),
        (
            "relata_choices",
            if choices.is_empty() {
                Value::Null
            } else {
                Value::String(serde_json::Value::Object(choices).to_string())
            },
        ),
    ];
    let (_, outcome) = upsert(s, cx, "relata_productproperty", &p.id, fields)?;
    tally.counted(outcome);
    Ok(())
}

/// Names of a unit: (short, full).
fn unit_names(u: &Unit) -> (String, String) {
    let short = u.short_name.clone().or_else(|| u.full_name.clone()).unwrap_or_else(|| u.id.clone());
    let full = u.full_name.clone().unwrap_or_else(|| short.clone());
    (short, full)
}

/// A unit 1C describes: made if new; a unit made earlier from a bare
/// code in a product (`796`) takes its proper name now.
fn described_unit(s: &mut Session<'_, '_, '_>, cx: &mut Step, u: &Unit, tally: &mut Tally) -> Result<()> {
    let code = u.code.as_deref().unwrap_or(&u.id).trim().to_string();
    let (short, full) = unit_names(u);
    let (group, id) = unit(s, cx, &code, (short.clone(), full.clone()), tally)?;
    let stored = s.read_system("uom", id)?.unwrap_or_default();
    if stored.get("name").and_then(Value::as_str) == Some(code.as_str()) && short != code {
        let f = vec![("name".into(), text(&short, 100))];
        s.update("uom", id, RecordInput::new(f), Condition::default(), false)?;
        let f = vec![("name".into(), text(&full, 200)), ("baseuomname".into(), text(&short, 100))];
        s.update("uomschedule", group, RecordInput::new(f), Condition::default(), false)?;
        tally.updated += 1;
    }
    Ok(())
}

/// The unit with OKEI code `code` (or, for a unit without one, the name),
/// with a unit group of its own made for it if there is none: (group, unit).
fn unit(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    code: &str,
    names: (String, String),
    tally: &mut Tally,
) -> Result<(Uuid, Uuid)> {
    let code = code.trim();
    if let Some(found) = cx.units.get(code) {
        tally.unchanged += 1;
        return Ok(*found);
    }
    let rows =
        s.query_system("uom", &format!("$select=uomid,uomscheduleid&$filter=relata_okeicode eq {}", quote(code)))?;
    if let Some(r) = rows.first() {
        let unit = r.get("uomid").and_then(Value::as_uuid);
        let group = r.get("uomscheduleid").and_then(Value::as_uuid);
        if let (Some(g), Some(u)) = (group, unit) {
            tally.unchanged += 1;
            cx.units.insert(code.to_string(), (g, u));
            return Ok((g, u));
        }
    }
    let (short, full) = names;
    let group = s.create(
        "uomschedule",
        RecordInput::new(vec![
            ("name".into(), text(&full, 200)),
            ("baseuomname".into(), text(&short, 100)),
            ("description".into(), Value::String(format!("Unit from 1C, OKEI code {code}"))),
        ]),
    )?;
    let base = s.query_system("uom", &format!("$select=uomid&$filter=_uomscheduleid_value eq {group}"))?;
    let unit = base
        .first()
        .and_then(|r| r.get("uomid"))
        .and_then(Value::as_uuid)
        .ok_or_else(|| EngineError::Invalid(format!("the unit group for '{short}' has no base unit")))?;
    s.update(
        "uom",
        unit,
        RecordInput::new(vec![("relata_okeicode".into(), text(code, 10))]),
        Condition::default(),
        false,
    )?;
    tally.created += 1;
    cx.units.insert(code.to_string(), (group, unit));
    Ok((group, unit))
}

/// A currency 1C names (`руб`, `RUB`, `643`, `USD`), added with exchange
/// rate 1 and a warning if the organization does not have it yet.
fn currency(s: &mut Session<'_, '_, '_>, named: &str, tally: &mut Tally) -> Result<Option<Uuid>> {
    let n = named.trim().trim_end_matches('.').to_lowercase();
    let iso = match n.as_str() {
        "" => return Ok(None),
        "руб" | "rub" | "rur" | "643" | "₽" | "рубль" => "RUB",
        "usd" | "$" | "840" | "долл" | "доллар сша" => "USD",
        "eur" | "€" | "978" | "евро" => "EUR",
        "грн" | "uah" | "980" | "гривна" => "UAH",
        "тенге" | "kzt" | "398" | "тг" => "KZT",
        "byn" | "933" | "бел. руб" | "бел руб" => "BYN",
        "cny" | "156" | "юань" => "CNY",
        other => return Ok(find_currency(s, &other.to_uppercase())?.or(None)),
    };
    if let Some(id) = find_currency(s, iso)? {
        return Ok(Some(id));
    }
    let Some((_, name, symbol, precision)) = crate::seed::currency_info(iso) else { return Ok(None) };
    let id = s.create(
        "transactioncurrency",
        RecordInput::new(vec![
            ("currencyname".into(), Value::String(name.into())),
            ("isocurrencycode".into(), Value::String(iso.into())),
            ("currencysymbol".into(), Value::String(symbol.into())),
            ("currencyprecision".into(), Value::Int(precision)),
            ("exchangerate".into(), Value::Decimal(Decimal::ONE)),
        ]),
    )?;
    tally.warn(format!("the currency {iso} was added with exchange rate 1: set its rate"));
    Ok(Some(id))
}

fn find_currency(s: &mut Session<'_, '_, '_>, iso: &str) -> Result<Option<Uuid>> {
    let rows = s.query_system(
        "transactioncurrency",
        &format!("$select=transactioncurrencyid&$filter=isocurrencycode eq {}", quote(iso)),
    )?;
    Ok(rows.first().and_then(|r| r.get("transactioncurrencyid")).and_then(Value::as_uuid))
}

/// Is this 1C price type or warehouse bound by a mapping (which keeps the
/// record's own name and currency)?
fn is_mapped(s: &mut Session<'_, '_, '_>, cx: &mut Step, entity: &str, exchange_id: &str) -> Result<bool> {
    find(s, cx, entity, exchange_id)?;
    Ok(cx.mapped.contains(&(entity.to_string(), exchange_id.to_string())))
}

fn price_type(s: &mut Session<'_, '_, '_>, cx: &mut Step, t: &PriceType, tally: &mut Tally) -> Result<()> {
    if is_mapped(s, cx, "pricelevel", &t.id)? {
        tally.counted(Outcome::Unchanged);
        return Ok(());
    }
    let mut fields = vec![("name", text(&t.name, 100))];
    if let Some(c) = t.currency.as_deref() {
        match currency(s, c, tally)? {
            Some(id) => fields.push(("transactioncurrencyid", reference("transactioncurrency", id))),
            None => tally
                .warn(format!("price type '{}': the currency '{c}' is not known; the base currency is used", t.name)),
        }
    }
    fields.extend(state(t.deleted, (0, 100_001), (1, 100_002)));
    let (_, outcome) = upsert(s, cx, "pricelevel", &t.id, fields)?;
    tally.counted(outcome);
    Ok(())
}

fn warehouse(s: &mut Session<'_, '_, '_>, cx: &mut Step, w: &Warehouse, tally: &mut Tally) -> Result<()> {
    if is_mapped(s, cx, "relata_warehouse", &w.id)? {
        tally.counted(Outcome::Unchanged);
        return Ok(());
    }
    let mut fields = vec![("relata_name", text(&w.name, 200))];
    if let Some(a) = &w.address {
        fields.push(("relata_address", text(a, 1000)));
    }
    fields.extend(state(w.deleted, (0, 1), (1, 2)));
    let (_, outcome) = upsert(s, cx, "relata_warehouse", &w.id, fields)?;
    tally.counted(outcome);
    Ok(())
}

/// The unit a product is sold in: its base unit from 1C, found or made.
fn base_unit(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    b: &relata_commerceml::BaseUnit,
    tally: &mut Tally,
) -> Result<Option<(Uuid, Uuid)>> {
    let name = b.short_name.clone().or_else(|| b.full_name.clone());
    let code = b.code.clone().or_else(|| name.clone());
    let Some(code) = code.filter(|c| !c.trim().is_empty()) else { return Ok(None) };
    let short = name.clone().unwrap_or_else(|| code.clone());
    let full = b.full_name.clone().unwrap_or_else(|| short.clone());
    let before = tally.unchanged;
    let found = unit(s, cx, &code, (short, full), tally)?;
    tally.unchanged = before;
    Ok(Some(found))
}

fn product(s: &mut Session<'_, '_, '_>, cx: &mut Step, p: &Product, item: &Item, tally: &mut Tally) -> Result<()> {
    let mut fields = vec![("name", text(&p.name, 100))];
    fields.push(("relata_sku", p.article.as_deref().map_or(Value::Null, |a| text(a, 100))));
    fields.push(("relata_barcode", p.barcode.as_deref().map_or(Value::Null, |b| text(b, 100))));
    if let Some(d) = p.description.as_deref().filter(|d| !d.trim().is_empty()) {
        fields.push(("description", text(d, 2000)));
    }
    fields.push(("producttypecode", Value::Int(if p.is_service() { 3 } else { 1 })));
    if let Some(rate) = p.tax_rates.iter().find_map(|t| t.percent()) {
        fields.push(("relata_taxrate", Value::Decimal(rate)));
    }
    if let Some((group, unit)) = match &p.base_unit {
        Some(b) => base_unit(s, cx, b, tally)?,
        None => None,
    } {
        fields.push(("defaultuomscheduleid", reference("uomschedule", group)));
        fields.push(("defaultuomid", reference("uom", unit)));
    }
    if let Some(g) = p.group_ids.first() {
        match find(s, cx, "product", g)? {
            Some(f) => fields.push(("parentproductid", reference("product", id_of(s, "product", &f)?))),
            None => wait_for(s, cx, g, item, tally)?,
        }
    }
    if p.variant_id().is_some() {
        match find(s, cx, "product", p.product_id())? {
            Some(f) => fields.push(("relata_baseproductid", reference("product", id_of(s, "product", &f)?))),
            None => tally.warn(format!("variant '{}': its base product '{}' is not known", p.name, p.product_id())),
        }
    }
    fields.extend(state(p.deleted, (0, 1), (1, 2)));
    let existing = find(s, cx, "product", &p.id)?;
    if !cx.allows(s, Kind::Products, existing.is_some())? {
        tally.skipped += 1;
        return Ok(());
    }
    if existing.is_none() {
        let code = p.requisite("Код").unwrap_or("");
        let number = free_product_number(s, cx, &[p.article.as_deref().unwrap_or(""), code, &p.id])?;
        fields.push(("productnumber", Value::String(number)));
    }
    let (id, outcome) = upsert(s, cx, "product", &p.id, fields)?;
    tally.counted(outcome);
    if p.deleted && outcome != Outcome::Unchanged {
        tally.retired += 1;
    }
    property_values(s, cx, id, &p.property_values, tally)?;
    // A picture that cannot be attached costs a warning, not the product.
    if p.images.iter().all(|i| i.trim().is_empty()) {
        return Ok(());
    }
    let mut kept = tally.clone();
    match s.savepoint(|s| images(s, cx, id, &p.images, &mut kept)) {
        Ok(()) => *tally = kept,
        Err(e @ EngineError::Store(_)) => return Err(e),
        Err(e) => tally.warn(format!("the pictures of '{}': {e}", p.name)),
    }
    Ok(())
}

/// A product's pictures: the files 1C uploaded under the paths its
/// `Картинка` elements name, attached to the product as notes (one per
/// file name; a changed file replaces the note's content).
fn images(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    product: Uuid,
    paths: &[String],
    tally: &mut Tally,
) -> Result<()> {
    for path in paths.iter().filter(|p| !p.trim().is_empty()) {
        let Ok(name) = super::uploads::normalize(path) else {
            tally.warn(format!("the picture path '{path}' is not a file name"));
            continue;
        };
        let Some(bytes) = super::uploads::read(s, cx.node, &name)? else {
            tally.warn(format!("the picture '{name}' was not uploaded"));
            continue;
        };
        let file = name.rsplit('/').next().unwrap_or(&name).to_string();
        let notes = s.query_system(
            "annotation",
            &format!("$select=annotationid,filesize,filename&$filter=_objectid_value eq {product}"),
        )?;
        let kept: Vec<Fields> =
            notes.into_iter().filter(|n| n.get("filename").and_then(Value::as_str) == Some(file.as_str())).collect();
        let body = vec![("documentbody".to_string(), Value::Bytes(bytes.clone()))];
        match kept.first() {
            Some(k) if k.get("filesize").and_then(Value::as_i64) == Some(bytes.len() as i64) => tally.unchanged += 1,
            Some(k) => {
                let id = k.get("annotationid").and_then(Value::as_uuid).expect("selected key");
                s.update("annotation", id, RecordInput::new(body), Condition::default(), false)?;
                tally.updated += 1;
            }
            None => {
                let mime = match file.rsplit('.').next().map(str::to_ascii_lowercase).as_deref() {
                    Some("jpg" | "jpeg") => "image/jpeg",
                    Some("png") => "image/png",
                    Some("gif") => "image/gif",
                    Some("webp") => "image/webp",
                    _ => "application/octet-stream",
                };
                let mut fields = body;
                fields.extend([
                    ("subject".to_string(), Value::String("Picture from 1C".into())),
                    ("objectid".to_string(), reference("product", product)),
                    ("filename".to_string(), text(&file, 255)),
                    ("mimetype".to_string(), Value::String(mime.into())),
                ]);
                s.create("annotation", RecordInput::new(fields))?;
                tally.created += 1;
            }
        }
    }
    Ok(())
}

/// A product's property values, as text (a listed value by its text).
fn property_values(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    product: Uuid,
    values: &[relata_commerceml::PropertyValue],
    tally: &mut Tally,
) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let all = match cx.values.get(&product) {
        Some(v) => v.clone(),
        None => of_product(s, "relata_productpropertyvalue", product)?,
    };
    for v in values {
        let Some(prop) = find(s, cx, "relata_productproperty", &v.property_id)? else {
            if !v.values.iter().all(|x| x.trim().is_empty()) {
                tally.warn(format!("a value of the unknown property '{}' was skipped", v.property_id));
            }
            continue;
        };
        let prop_id = id_of(s, "relata_productproperty", &prop)?;
        let choices: serde_json::Map<String, serde_json::Value> = prop
            .get("relata_choices")
            .and_then(Value::as_str)
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        let shown: Vec<String> = v
            .values
            .iter()
            .filter(|x| !x.trim().is_empty())
            .map(|x| choices.get(x.trim()).and_then(|c| c.as_str()).unwrap_or(x.trim()).to_string())
            .collect();
        let kept: Vec<&Fields> = all.iter().filter(|k| refers(k, "relata_productpropertyid", prop_id)).collect();
        let kept_id = kept.first().and_then(|k| k.get("relata_productpropertyvalueid")).and_then(Value::as_uuid);
        let kept_text = kept.first().and_then(|k| k.get("relata_name")).and_then(Value::as_str).map(str::to_string);
        match (kept_id, shown.is_empty()) {
            (Some(id), true) => s.delete("relata_productpropertyvalue", id, None)?,
            (Some(id), false) => {
                let joined = shown.join(", ");
                if kept_text.as_deref() != Some(joined.as_str()) {
                    let f = vec![("relata_name".into(), text(&joined, 1000))];
                    super::batch::update(s, cx, "relata_productpropertyvalue", id, f)?;
                }
            }
            (None, false) => {
                let f = vec![
                    ("relata_name".into(), text(&shown.join(", "), 1000)),
                    ("relata_productid".into(), reference("product", product)),
                    ("relata_productpropertyid".into(), reference("relata_productproperty", prop_id)),
                ];
                super::batch::create(s, cx, "relata_productpropertyvalue", f)?;
            }
            (None, true) => {}
        }
    }
    Ok(())
}

/// The product an offer prices: the product itself, or for a variant its
/// own product, made from the base product when first seen.
fn offer_product(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    o: &Offer,
    item: &Item,
    tally: &mut Tally,
) -> Result<Option<Fields>> {
    if let Some(p) = find(s, cx, "product", &o.id)? {
        return Ok(Some(p));
    }
    // A product the node will not create is not waited for.
    if !cx.allows(s, Kind::Products, false)? {
        tally.skipped += 1;
        return Ok(None);
    }
    let Some(_) = o.variant_id() else {
        wait_for(s, cx, &o.id, item, tally)?;
        return Ok(None);
    };
    let Some(base) = find(s, cx, "product", o.product_id())? else {
        wait_for(s, cx, o.product_id(), item, tally)?;
        return Ok(None);
    };
    let base_name = base.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let traits: Vec<String> = o.characteristics.iter().map(|c| format!("{}: {}", c.name, c.value)).collect();
    let name = match (&o.name, traits.is_empty()) {
        (Some(n), _) if n.trim() != base_name.trim() => n.clone(),
        (_, false) => format!("{base_name} ({})", traits.join(", ")),
        _ => format!("{base_name} ({})", o.variant_id().unwrap_or("")),
    };
    let variant = Product {
        id: o.id.clone(),
        name,
        article: o.article.clone(),
        barcode: o.barcode.clone(),
        base_unit: o.base_unit.clone(),
        characteristics: o.characteristics.clone(),
        ..Product::default()
    };
    let mut fields = vec![("relata_baseproductid", reference("product", id_of(s, "product", &base)?))];
    for k in ["parentproductid", "defaultuomscheduleid", "defaultuomid", "producttypecode", "relata_taxrate"] {
        if let Some(v) = base.get(k).filter(|v| !v.is_null()) {
            if o.base_unit.is_none() || !k.starts_with("defaultuom") {
                fields.push((k, v.clone()));
            }
        }
    }
    let number = free_product_number(s, cx, &[o.article.as_deref().unwrap_or(""), &o.id])?;
    fields.push(("productnumber", Value::String(number)));
    fields.push(("name", text(&variant.name, 100)));
    fields.push(("relata_sku", o.article.as_deref().map_or(Value::Null, |a| text(a, 100))));
    fields.push(("relata_barcode", o.barcode.as_deref().map_or(Value::Null, |b| text(b, 100))));
    if let Some((group, unit)) = match &o.base_unit {
        Some(b) => base_unit(s, cx, b, tally)?,
        None => None,
    } {
        fields.push(("defaultuomscheduleid", reference("uomschedule", group)));
        fields.push(("defaultuomid", reference("uom", unit)));
    }
    let (_, outcome) = upsert(s, cx, "product", &o.id, fields)?;
    tally.counted(outcome);
    find(s, cx, "product", &o.id)
}

/// The price of `product` in `unit` on a list, made or brought up to
/// date; `items` are the product's price list items, kept current.
fn price_item(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    items: &mut Vec<Fields>,
    (list_id, product_id, unit): (Uuid, Uuid, Uuid),
    amount: Decimal,
    tally: &mut Tally,
) -> Result<()> {
    let kept = items.iter().find(|i| crate::sales::is_item_of(i, list_id, unit));
    if !cx.allows(s, Kind::Prices, kept.is_some())? {
        tally.skipped += 1;
        return Ok(());
    }
    match kept {
        Some(k) => {
            let same = k.get("amount").and_then(Value::as_decimal).map(|a| a.normalize()) == Some(amount.normalize());
            let id = k.get("productpricelevelid").and_then(Value::as_uuid).expect("selected key");
            if same {
                tally.unchanged += 1;
            } else {
                let f = vec![("amount".into(), Value::Decimal(amount))];
                super::batch::update(s, cx, "productpricelevel", id, f)?;
                if let Some(k) = items.iter_mut().find(|i| refers(i, "productpricelevelid", id)) {
                    k.insert("amount".into(), Value::Decimal(amount));
                }
                tally.updated += 1;
            }
        }
        None => {
            let f = vec![
                ("pricelevelid".into(), reference("pricelevel", list_id)),
                ("productid".into(), reference("product", product_id)),
                ("uomid".into(), reference("uom", unit)),
                ("pricingmethodcode".into(), Value::Int(1)),
                ("amount".into(), Value::Decimal(amount)),
            ];
            let made: Fields = f.iter().cloned().collect();
            let id = super::batch::create(s, cx, "productpricelevel", f)?;
            items.push(Fields::from_iter(made.into_iter().chain([("productpricelevelid".into(), Value::Uuid(id))])));
            tally.created += 1;
        }
    }
    Ok(())
}

/// The unit a price is quoted in when it is a pack of `factor` of the
/// product's unit (`Единица` other than the product's, `Коэффициент` not
/// 1): a unit of the product's unit group named after both, e.g.
/// `упак (10 шт)`, made the first time. `None` for a price in the
/// product's own unit.
fn pack_unit(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    product: &Fields,
    unit: Uuid,
    price: &relata_commerceml::Price,
    factor: Decimal,
    tally: &mut Tally,
) -> Result<Option<Uuid>> {
    let Some(quoted) = price.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) else { return Ok(None) };
    if factor == Decimal::ONE || factor.is_sign_negative() {
        return Ok(None);
    }
    let Some(group) = product.get("defaultuomscheduleid").and_then(Value::as_uuid) else { return Ok(None) };
    let own = s.read_system("uom", unit)?.unwrap_or_default();
    let own_name = own.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let own_code = own.get("relata_okeicode").and_then(Value::as_str).unwrap_or("");
    if quoted == own_name || quoted == own_code {
        return Ok(None);
    }
    let name: String = format!("{quoted} ({} {own_name})", factor.normalize()).chars().take(100).collect();
    let key = format!("{group}/{name}");
    if let Some((_, pack)) = cx.units.get(&key) {
        return Ok(Some(*pack));
    }
    let rows = s.query_system(
        "uom",
        &format!("$select=uomid&$filter=_uomscheduleid_value eq {group} and name eq {}", quote(&name)),
    )?;
    let pack = match rows.first().and_then(|r| r.get("uomid")).and_then(Value::as_uuid) {
        Some(pack) => pack,
        None => {
            // Quantities count the group's base unit, which the product's
            // own unit may be a multiple of.
            let own_quantity = own.get("quantity").and_then(Value::as_decimal).unwrap_or(Decimal::ONE);
            let pack = s.create(
                "uom",
                RecordInput::new(vec![
                    ("name".into(), Value::String(name)),
                    ("uomscheduleid".into(), reference("uomschedule", group)),
                    ("quantity".into(), Value::Decimal(factor * own_quantity)),
                ]),
            )?;
            tally.created += 1;
            pack
        }
    };
    cx.units.insert(key, (group, pack));
    Ok(Some(pack))
}

fn offer(s: &mut Session<'_, '_, '_>, cx: &mut Step, o: &Offer, item: &Item, tally: &mut Tally) -> Result<()> {
    let Some(product) = offer_product(s, cx, o, item, tally)? else { return Ok(()) };
    let product_id = id_of(s, "product", &product)?;
    let unit = product.get("defaultuomid").and_then(Value::as_uuid);
    // The product's items and stock, read once for all its prices and
    // warehouses (and kept up to date as they are made).
    let mut items = if o.prices.is_empty() { Vec::new() } else { super::batch::price_items(s, cx, product_id)? };
    for price in &o.prices {
        let Some(list) = find(s, cx, "pricelevel", &price.price_type_id)? else {
            let only_this = Offer { prices: vec![price.clone()], stock: vec![], quantity: None, ..o.clone() };
            wait_for(s, cx, &price.price_type_id, &Item::Offer(only_this), tally)?;
            continue;
        };
        let Some(unit) = unit else {
            tally.warn(format!("'{}' has no unit, so it cannot be priced", o.id));
            break;
        };
        let list_id = id_of(s, "pricelevel", &list)?;
        // A price for a pack of `factor` base units: the base unit's price
        // is derived from it, and the pack keeps its own.
        let factor = price.factor.filter(|f| !f.is_zero()).unwrap_or(Decimal::ONE);
        let amount = (price.unit_price / factor).round_dp(4);
        price_item(s, cx, &mut items, (list_id, product_id, unit), amount, tally)?;
        if let Some(pack) = pack_unit(s, cx, &product, unit, price, factor, tally)? {
            price_item(s, cx, &mut items, (list_id, product_id, pack), price.unit_price.round_dp(4), tally)?;
        }
    }
    if !o.prices.is_empty() {
        cx.items.insert(product_id, items);
    }
    let mut stocks = if o.stock.is_empty() { Vec::new() } else { super::batch::stocks(s, cx, product_id)? };
    for st in &o.stock {
        stock(s, cx, &product, product_id, &mut stocks, st, tally)?;
    }
    if !o.stock.is_empty() {
        cx.stocks.insert(product_id, stocks);
    }
    let total = o.quantity.or_else(|| (!o.stock.is_empty()).then(|| o.stock.iter().map(|x| x.quantity).sum()));
    let mut f = Vec::new();
    let total = if cx.allows(s, Kind::Stock, true)? { total } else { None };
    if let Some(total) = total {
        // 1C allows stock below zero (shipped before received); a
        // warehouse keeps its figure, the product's quantity on hand
        // cannot go below nothing.
        f.push(("quantityonhand", Value::Decimal(total.max(Decimal::ZERO))));
    }
    // A deletion mark retires the product; a variant, which exists only
    // through its offers, also comes back when the mark is lifted.
    if o.deleted || o.variant_id().is_some() {
        f.extend(state(o.deleted, (0, 1), (1, 2)));
    }
    let changed = changes(&product, f);
    if !changed.is_empty() {
        cx.changed("product", &o.id, &changed);
        super::batch::update(s, cx, "product", product_id, changed)?;
        if o.deleted && product.get("statecode").and_then(Value::as_i64) == Some(0) {
            tally.retired += 1;
        }
    }
    Ok(())
}

fn stock(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    product: &Fields,
    product_id: Uuid,
    stocks: &mut Vec<Fields>,
    st: &relata_commerceml::WarehouseStock,
    tally: &mut Tally,
) -> Result<()> {
    // A warehouse not described yet is made under its Ид and named when
    // its description arrives.
    let warehouse = match find(s, cx, "relata_warehouse", &st.warehouse_id)? {
        Some(w) => id_of(s, "relata_warehouse", &w)?,
        None => {
            upsert(s, cx, "relata_warehouse", &st.warehouse_id, vec![("relata_name", text(&st.warehouse_id, 200))])?.0
        }
    };
    let kept = stocks.iter().find(|k| refers(k, "relata_warehouseid", warehouse));
    if !cx.allows(s, Kind::Stock, kept.is_some())? {
        tally.skipped += 1;
        return Ok(());
    }
    match kept {
        Some(k) => {
            let same = k.get("relata_quantity").and_then(Value::as_decimal).map(|a| a.normalize())
                == Some(st.quantity.normalize());
            if same {
                tally.unchanged += 1;
            } else {
                let id = k.get("relata_productstockid").and_then(Value::as_uuid).expect("selected key");
                let f = vec![("relata_quantity".into(), Value::Decimal(st.quantity))];
                super::batch::update(s, cx, "relata_productstock", id, f)?;
                if let Some(k) = stocks.iter_mut().find(|k| refers(k, "relata_productstockid", id)) {
                    k.insert("relata_quantity".into(), Value::Decimal(st.quantity));
                }
                tally.updated += 1;
            }
        }
        None => {
            let name = product.get("name").and_then(Value::as_str).unwrap_or("");
            let f = vec![
                ("relata_name".into(), text(name, 400)),
                ("relata_productid".into(), reference("product", product_id)),
                ("relata_warehouseid".into(), reference("relata_warehouse", warehouse)),
                ("relata_quantity".into(), Value::Decimal(st.quantity)),
            ];
            let made: Fields = f.iter().cloned().collect();
            let id = super::batch::create(s, cx, "relata_productstock", f)?;
            stocks.push(Fields::from_iter(made.into_iter().chain([("relata_productstockid".into(), Value::Uuid(id))])));
            tally.created += 1;
        }
    }
    Ok(())
}

/// The Ид of a family, product or variant an item names: what a file
/// touched, changed or not (see [`retire_untouched`]).
pub(super) fn seen_id(item: &Item) -> Option<&str> {
    match item {
        Item::Group(_) | Item::Product(_) | Item::Offer(_) => Some(item.id()).filter(|id| !id.trim().is_empty()),
        _ => None,
    }
}

/// Retires the node's products and families that no file imported since
/// `since` named (after a full unload: 3.x's `deactivate`, or the end of
/// an exchange with a full 2.x catalog file); families only with
/// `families`. Whether a
/// record changed does not matter: an unchanged product in the unload is
/// still in 1C's catalog.
pub(super) fn retire_untouched(
    s: &mut Session<'_, '_, '_>,
    node: Uuid,
    since: chrono::DateTime<chrono::Utc>,
    families: bool,
) -> Result<u64> {
    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let logs = s.query_system(
        "relata_exchangelog",
        &format!(
            "$select=relata_seenids&$filter=_relata_exchangenodeid_value eq {node} and createdon ge {since} and relata_result eq {}",
            super::import::result::SUCCEEDED
        ),
    )?;
    let mut seen = std::collections::HashSet::new();
    for log in &logs {
        if let Some(Value::Bytes(b)) = log.get("relata_seenids") {
            seen.extend(String::from_utf8_lossy(b).lines().map(str::to_string));
        }
    }
    if seen.is_empty() {
        // Nothing was imported: retiring the whole catalog is never what
        // an empty exchange means.
        return Ok(0);
    }
    let rows = s.query_system(
        "product",
        &format!(
            "$select=productid,relata_exchangeid&$filter=_relata_exchangenodeid_value eq {node} and statecode eq 0{}",
            if families { "" } else { " and (productstructure ne 2 or productstructure eq null)" }
        ),
    )?;
    let mut n = 0;
    for r in rows {
        let Some(id) = r.get("productid").and_then(Value::as_uuid) else { continue };
        let named = r.get("relata_exchangeid").and_then(Value::as_str).is_some_and(|x| seen.contains(x));
        if named {
            continue;
        }
        let f = vec![("statecode".into(), Value::Int(1)), ("statuscode".into(), Value::Int(2))];
        s.update("product", id, RecordInput::new(f), Condition::default(), false)?;
        n += 1;
    }
    Ok(n)
}
