//! The CommerceML fixtures that `exchange_1c.rs` does not drive, each sent
//! the way 1C sends it (checkauth, init, the files posted in slices,
//! `import` repeated until `success`) and read back through the Web API:
//! МойСклад's 2.04 catalog, the УТ 10 2.05 etalon pair, 2.07 БСП offers
//! with warehouses, the УТ 11 2.09 split set (classifier, offers, prices,
//! rests), the 2.10 classifier, the 3.1 Bitrix-module set and the 3.1
//! split set in the order 1C sends it; also re-imports that change nothing
//! and file names that try to leave the exchange area.
//!
//! What the Web API should show is read from the files by a small reader
//! of this file's own (quick-xml, element by element) — not by the parser
//! the import uses — and checked, besides, against values copied from the
//! files by hand. Where a fixture set lacks its goods file, the test writes
//! one from the offers, as 1C would have sent it first.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::onec::OneC;
use common::{d, dec, each_server, enc, Srv};
use quick_xml::events::{BytesStart, Event};
use rust_decimal::Decimal;
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../commerceml/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The import's answers say nothing was created or updated.
#[track_caller]
fn assert_nothing_changed(answers: &[Vec<String>]) {
    for a in answers {
        assert!(a[1].contains(": 0 created, 0 updated, "), "a repeated import changed records: {a:?}");
    }
}

// ----- the files, read independently of the import ---------------------------

/// An element of a CommerceML file: local name, attributes, text, children.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    kids: Vec<El>,
}

impl El {
    fn read(bytes: &[u8]) -> El {
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = quick_xml::Reader::from_reader(body);
        let mut stack = vec![El::default()];
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf).expect("a well-formed fixture") {
                Event::Start(e) => stack.push(El::opened(&e)),
                Event::Empty(e) => {
                    let el = El::opened(&e);
                    stack.last_mut().unwrap().kids.push(el);
                }
                Event::End(_) => {
                    let el = stack.pop().unwrap();
                    stack.last_mut().unwrap().kids.push(el);
                }
                Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.unescape().unwrap()),
                Event::CData(t) => stack.last_mut().unwrap().text.push_str(&String::from_utf8_lossy(&t.into_inner())),
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        stack.pop().unwrap().kids.into_iter().next().expect("a root element")
    }

    fn opened(e: &BytesStart) -> El {
        let name = String::from_utf8(e.local_name().as_ref().to_vec()).unwrap();
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                let key = String::from_utf8(a.key.local_name().as_ref().to_vec()).unwrap();
                (key, a.unescape_value().unwrap().into_owned())
            })
            .collect();
        El { name, attrs, ..El::default() }
    }

    fn kids(&self, name: &str) -> Vec<&El> {
        self.kids.iter().filter(|k| k.name == name).collect()
    }

    fn kid(&self, name: &str) -> Option<&El> {
        self.kids.iter().find(|k| k.name == name)
    }

    /// The children reached through `names`, one level each.
    fn path(&self, names: &[&str]) -> Vec<&El> {
        let mut at = vec![self];
        for n in names {
            at = at.into_iter().flat_map(|e| e.kids(n)).collect();
        }
        at
    }

    /// The trimmed text of the child `name`, if it has any.
    fn get(&self, name: &str) -> Option<String> {
        self.kid(name).map(|k| k.text.trim().to_string()).filter(|t| !t.is_empty())
    }

    fn attr(&self, name: &str) -> Option<String> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
    }
}

/// A number as 1C writes it (`12356.00`, `21,6`, `5 500`).
fn num(s: &str) -> Decimal {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    s.replace(',', ".").parse().unwrap_or_else(|e| panic!("not a number: {s:?} ({e})"))
}

/// A product name as a Relata product keeps it: trimmed, at most 100
/// characters (the column's length, as in Dataverse).
fn as_kept(name: &str) -> String {
    name.trim().chars().take(100).collect()
}

/// The ISO code of a currency as the fixtures name it.
fn iso(currency: &str) -> &'static str {
    match currency.trim().trim_end_matches('.') {
        "руб" | "RUB" => "RUB",
        "грн" => "UAH",
        "EUR" => "EUR",
        "USD" => "USD",
        other => panic!("no fixture names the currency {other:?}"),
    }
}

/// A `Товар`.
#[derive(Debug, Default, Clone)]
struct Good {
    name: String,
    article: Option<String>,
    barcode: Option<String>,
    description: Option<String>,
    group: Option<String>,
    /// The base unit's OKEI code (or its name when it has none).
    unit: Option<String>,
    /// Property Ид → the values given (Ид of listed values or text).
    values: Vec<(String, Vec<String>)>,
    tax: Option<String>,
    deleted: bool,
}

/// What a set of files says, file after file (a later file's value wins).
#[derive(Debug, Default)]
struct Expected {
    /// Ид → (name, parent Ид, deleted).
    groups: BTreeMap<String, (String, Option<String>, bool)>,
    /// Ид → (name, listed values: value Ид → text).
    properties: BTreeMap<String, (String, BTreeMap<String, String>)>,
    /// Ид → (name, currency).
    price_types: BTreeMap<String, (String, Option<String>)>,
    /// Ид → name.
    warehouses: BTreeMap<String, String>,
    /// OKEI code → short name. Units are shared by all nodes, matched by
    /// code: the first description of a code names it.
    units: BTreeMap<String, String>,
    goods: BTreeMap<String, Good>,
    /// Offer Ид → its name (empty when no file named it).
    offers: BTreeMap<String, String>,
    deleted_offers: BTreeSet<String>,
    /// (offer Ид, price type Ид) → price per unit.
    prices: BTreeMap<(String, String), Decimal>,
    /// (offer Ид, warehouse Ид) → quantity.
    stock: BTreeMap<(String, String), Decimal>,
    /// Offer Ид → total quantity.
    totals: BTreeMap<String, Decimal>,
}

impl Expected {
    fn of(files: &[&[u8]]) -> Self {
        let mut e = Expected::default();
        for f in files {
            e.add(f);
        }
        e
    }

    fn add(&mut self, bytes: &[u8]) {
        let root = El::read(bytes);
        for cl in root.kids("Классификатор") {
            if let Some(g) = cl.kid("Группы") {
                self.add_groups(g, None);
            }
            for p in cl.path(&["Свойства", "Свойство"]) {
                let listed = p
                    .path(&["ВариантыЗначений", "Справочник"])
                    .into_iter()
                    .filter_map(|v| Some((v.get("ИдЗначения")?, v.get("Значение").unwrap_or_default())))
                    .collect();
                self.properties.insert(p.get("Ид").unwrap(), (p.get("Наименование").unwrap(), listed));
            }
            // A unit without a code or Ид (3.1 freesport has one) is skipped.
            for u in cl.path(&["ЕдиницыИзмерения", "ЕдиницаИзмерения"]) {
                if let Some(code) = u.get("Код").or_else(|| u.get("Ид")) {
                    self.units.insert(code, u.get("НаименованиеКраткое").unwrap());
                }
            }
            self.add_price_types_and_warehouses(cl);
        }
        for good in root.path(&["Каталог", "Товары", "Товар"]) {
            let unit = good.kid("БазоваяЕдиница").map(|u| u.attr("Код").unwrap_or_else(|| u.text.trim().to_string()));
            let values = good
                .path(&["ЗначенияСвойств", "ЗначенияСвойства"])
                .into_iter()
                .map(|v| {
                    let given =
                        v.kids("Значение").into_iter().map(|x| x.text.trim().to_string()).filter(|x| !x.is_empty());
                    (v.get("Ид").unwrap(), given.collect())
                })
                .collect();
            let g = Good {
                name: good.get("Наименование").unwrap(),
                article: good.get("Артикул"),
                barcode: good.get("Штрихкод").or_else(|| good.get("ШтрихКод")),
                description: good.get("Описание"),
                group: good.kid("Группы").and_then(|g| g.get("Ид")),
                unit,
                values,
                tax: good.path(&["СтавкиНалогов", "СтавкаНалога"]).first().and_then(|t| t.get("Ставка")),
                deleted: good.get("ПометкаУдаления").as_deref() == Some("true"),
            };
            self.goods.insert(good.get("Ид").unwrap(), g);
        }
        for package in root.kids("ПакетПредложений") {
            self.add_price_types_and_warehouses(package);
            for o in package.path(&["Предложения", "Предложение"]) {
                let id = o.get("Ид").unwrap();
                let name = self.offers.entry(id.clone()).or_default();
                if let Some(n) = o.get("Наименование") {
                    *name = n;
                }
                if o.get("ПометкаУдаления").as_deref() == Some("true") {
                    self.deleted_offers.insert(id.clone());
                }
                for p in o.path(&["Цены", "Цена"]) {
                    let factor = p.get("Коэффициент").map(|f| num(&f)).filter(|f| !f.is_zero()).unwrap_or(Decimal::ONE);
                    let price = num(&p.get("ЦенаЗаЕдиницу").unwrap()) / factor;
                    self.prices.insert((id.clone(), p.get("ИдТипаЦены").unwrap()), price);
                }
                // 2.07 writes stock as attributes, 2.08+ as elements.
                let mut stock: Vec<(String, Decimal)> = o
                    .kids("Склад")
                    .into_iter()
                    .map(|s| (s.attr("ИдСклада").unwrap(), num(&s.attr("КоличествоНаСкладе").unwrap())))
                    .collect();
                for s in o.path(&["Остатки", "Остаток", "Склад"]) {
                    stock.push((s.get("Ид").unwrap(), num(&s.get("Количество").unwrap())));
                }
                let total = match o.get("Количество") {
                    Some(q) => Some(num(&q)),
                    None if !stock.is_empty() => Some(stock.iter().map(|(_, q)| *q).sum()),
                    None => None,
                };
                if let Some(t) = total {
                    self.totals.insert(id.clone(), t);
                }
                for (w, q) in stock {
                    self.stock.insert((id.clone(), w), q);
                }
            }
        }
    }

    fn add_groups(&mut self, groups: &El, parent: Option<&str>) {
        for g in groups.kids("Группа") {
            let id = g.get("Ид").unwrap();
            let deleted = g.get("ПометкаУдаления").as_deref() == Some("true");
            self.groups.insert(id.clone(), (g.get("Наименование").unwrap(), parent.map(str::to_string), deleted));
            if let Some(sub) = g.kid("Группы") {
                self.add_groups(sub, Some(&id));
            }
        }
    }

    fn add_price_types_and_warehouses(&mut self, at: &El) {
        for t in at.path(&["ТипыЦен", "ТипЦены"]) {
            self.price_types.insert(t.get("Ид").unwrap(), (t.get("Наименование").unwrap(), t.get("Валюта")));
        }
        for w in at.path(&["Склады", "Склад"]) {
            self.warehouses.insert(w.get("Ид").unwrap(), w.get("Наименование").unwrap());
        }
    }

    /// The offers that are a product Relata has once these files are in:
    /// the goods themselves and the variants (`product#variant`) of known
    /// goods. Others wait for their product.
    fn sold(&self) -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = self.goods.keys().cloned().collect();
        for id in self.offers.keys().chain(self.prices.keys().map(|(o, _)| o)).chain(self.stock.keys().map(|(o, _)| o))
        {
            if let Some((base, _)) = id.split_once('#') {
                if self.goods.contains_key(base) {
                    ids.insert(id.clone());
                }
            }
        }
        ids
    }

    /// The 1C Ид an offer waits for when its product is not known.
    fn awaited(&self, offer: &str) -> Option<String> {
        let product = offer.split('#').next().unwrap();
        (!self.goods.contains_key(product)).then(|| product.to_string())
    }
}

/// `got` equals `want`; if not, the failure names what is missing, what
/// is extra and what differs (not two whole tables).
#[track_caller]
fn assert_same<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    got: &BTreeMap<K, V>,
    want: &BTreeMap<K, V>,
    what: &str,
) {
    let missing: Vec<(&K, &V)> = want.iter().filter(|(k, _)| !got.contains_key(k)).take(10).collect();
    let extra: Vec<(&K, &V)> = got.iter().filter(|(k, _)| !want.contains_key(k)).take(10).collect();
    let differ: Vec<(&K, &V, &V)> =
        want.iter().filter_map(|(k, w)| got.get(k).filter(|g| *g != w).map(|g| (k, g, w))).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "{what}: {} expected, {} shown; missing {missing:?}; extra {extra:?}; (key, shown, expected) {differ:?}",
        want.len(),
        got.len()
    );
}

/// A set as a table, for [`assert_same`].
fn set<K: Ord + Clone>(keys: impl IntoIterator<Item = K>) -> BTreeMap<K, ()> {
    keys.into_iter().map(|k| (k, ())).collect()
}

// ----- what the Web API shows -------------------------------------------------

/// The node's catalog as the Web API returns it.
struct Shown {
    /// 1C Ид → product (goods and variants).
    products: BTreeMap<String, Value>,
    /// 1C Ид → product family (a 1C group).
    families: BTreeMap<String, Value>,
    /// Relata id → 1C Ид, of both.
    exchange_id: HashMap<String, String>,
}

impl Shown {
    fn of(c: &OneC) -> Self {
        let by_id = |rows: Vec<Value>| -> BTreeMap<String, Value> {
            rows.into_iter().map(|r| (r["relata_exchangeid"].as_str().unwrap().to_string(), r)).collect()
        };
        let products = by_id(c.rows("products", "productstructure eq 1"));
        let families = by_id(c.rows("products", "productstructure eq 2"));
        let exchange_id = products
            .iter()
            .chain(&families)
            .map(|(x, r)| (r["productid"].as_str().unwrap().to_string(), x.clone()))
            .collect();
        Shown { products, families, exchange_id }
    }

    fn product(&self, id: &str) -> &Value {
        self.products.get(id).unwrap_or_else(|| panic!("no product with the 1C Ид {id}"))
    }

    /// The 1C Ид of the product a lookup column refers to.
    fn id_at(&self, row: &Value, column: &str) -> Option<String> {
        row[column]
            .as_str()
            .map(|id| self.exchange_id.get(id).cloned().unwrap_or_else(|| format!("not of the node: {id}")))
    }
}

/// A text column, empty and null alike.
fn text_of(row: &Value, column: &str) -> Option<String> {
    row[column].as_str().map(str::to_string).filter(|s| !s.is_empty())
}

/// The node's price lists: 1C Ид → (name, ISO currency, Relata id).
fn price_lists(c: &OneC) -> BTreeMap<String, (String, String, String)> {
    c.rows("pricelevels", "")
        .into_iter()
        .map(|l| {
            let currency = c.srv.retrieve(
                "transactioncurrencies",
                l["_transactioncurrencyid_value"].as_str().expect("a currency").parse().unwrap(),
                "$select=isocurrencycode",
            );
            (
                l["relata_exchangeid"].as_str().unwrap().to_string(),
                (
                    l["name"].as_str().unwrap().to_string(),
                    currency["isocurrencycode"].as_str().unwrap().to_string(),
                    l["pricelevelid"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// Every price of the node: (product Ид, price type Ид) → amount.
fn prices_shown(c: &OneC, shown: &Shown) -> BTreeMap<(String, String), Decimal> {
    let mut out = BTreeMap::new();
    for (type_id, (_, _, list)) in price_lists(c) {
        for item in c.srv.get(&format!("/productpricelevels?$filter=_pricelevelid_value eq {list}")).rows() {
            let product = shown.id_at(&item, "_productid_value").unwrap();
            let before = out.insert((product.clone(), type_id.clone()), dec(&item["amount"]).normalize());
            assert!(before.is_none(), "two prices of {product} in {type_id}");
        }
    }
    out
}

/// The node's warehouses: 1C Ид → (name, Relata id).
fn warehouses(c: &OneC) -> BTreeMap<String, (String, String)> {
    c.rows("relata_warehouses", "")
        .into_iter()
        .map(|w| {
            (
                w["relata_exchangeid"].as_str().unwrap().to_string(),
                (w["relata_name"].as_str().unwrap().to_string(), w["relata_warehouseid"].as_str().unwrap().to_string()),
            )
        })
        .collect()
}

/// Every stock figure of the node: (product Ид, warehouse Ид) → quantity.
fn stock_shown(c: &OneC, shown: &Shown) -> BTreeMap<(String, String), Decimal> {
    let mut out = BTreeMap::new();
    for (wh_id, (_, wh)) in warehouses(c) {
        for s in c.srv.get(&format!("/relata_productstocks?$filter=_relata_warehouseid_value eq {wh}")).rows() {
            let product = shown.id_at(&s, "_relata_productid_value").unwrap();
            let before = out.insert((product.clone(), wh_id.clone()), dec(&s["relata_quantity"]).normalize());
            assert!(before.is_none(), "two stock records of {product} in {wh_id}");
        }
    }
    out
}

/// The OKEI codes of units, by unit id (each read once).
#[derive(Default)]
struct Units(HashMap<String, Value>);

impl Units {
    fn of(&mut self, srv: &Srv, uom: &str) -> &Value {
        self.0.entry(uom.to_string()).or_insert_with(|| srv.retrieve("uoms", uom.parse().unwrap(), ""))
    }
}

/// The Web API shows what the files say: every good with its name,
/// article, barcode, description, family, unit and tax rate; every variant
/// linked to its good; the families as the groups nest; price lists named
/// after the price types in their currency; every price and every stock
/// figure of a product Relata has, and its total.
fn assert_shown(c: &OneC, e: &Expected) {
    let srv = c.srv;
    let shown = Shown::of(c);
    let sold = e.sold();
    assert_same(
        &set(shown.products.keys().cloned()),
        &set(sold.iter().cloned()),
        "the products are the goods and the variants of known goods",
    );

    // Groups are families, nested as in 1C; a group marked deleted is retired.
    assert_same(&set(shown.families.keys().cloned()), &set(e.groups.keys().cloned()), "families");
    for (id, (name, parent, deleted)) in &e.groups {
        let f = &shown.families[id];
        assert_eq!(f["name"], as_kept(name).as_str(), "group {id}");
        assert_eq!(shown.id_at(f, "_parentproductid_value"), parent.clone(), "the parent of group {id}");
        assert_eq!(f["statecode"], if *deleted { 1 } else { 0 }, "the state of group {id}");
    }

    for code in e.units.keys() {
        unit(srv, code);
    }
    let mut units = Units::default();
    for (id, g) in &e.goods {
        let p = shown.product(id);
        assert_eq!(p["name"], as_kept(&g.name).as_str(), "the name of {id}");
        assert_eq!(text_of(p, "relata_sku"), g.article, "the article of {id}");
        assert_eq!(text_of(p, "relata_barcode"), g.barcode, "the barcode of {id}");
        if let Some(text) = &g.description {
            assert_eq!(text_of(p, "description").as_deref(), Some(text.as_str()), "the description of {id}");
        }
        assert_eq!(shown.id_at(p, "_parentproductid_value"), g.group, "the family of {id}");
        assert_eq!(p["statecode"], if g.deleted { 1 } else { 0 }, "the state of {id}");
        if let Some(code) = &g.unit {
            let uom = p["_defaultuomid_value"].as_str().unwrap_or_else(|| panic!("{id} has no unit"));
            assert_eq!(units.of(srv, uom)["relata_okeicode"], code.as_str(), "the unit of {id}");
        }
        if let Some(rate) = g.tax.as_deref().filter(|r| r.parse::<Decimal>().is_ok()) {
            assert_eq!(dec(&p["relata_taxrate"]), num(rate), "the tax rate of {id}");
        }
    }
    for id in sold.iter().filter(|id| id.contains('#')) {
        let (base, _) = id.split_once('#').unwrap();
        let v = shown.product(id);
        assert_eq!(shown.id_at(v, "_relata_baseproductid_value").as_deref(), Some(base), "the base of {id}");
        let name = e.offers.get(id).map(String::as_str).unwrap_or("");
        if !name.is_empty() && name.trim() != e.goods[base].name.trim() {
            assert_eq!(v["name"], as_kept(name).as_str(), "the name of the variant {id}");
        }
    }

    let lists = price_lists(c);
    let expected_lists: BTreeMap<String, (String, String)> = e
        .price_types
        .iter()
        .map(|(id, (name, cur))| (id.clone(), (name.clone(), iso(cur.as_deref().expect("a currency")).to_string())))
        .collect();
    let got_lists: BTreeMap<String, (String, String)> =
        lists.into_iter().map(|(id, (name, cur, _))| (id, (name, cur))).collect();
    assert_same(&got_lists, &expected_lists, "price lists: name and currency per price type");

    let prices: BTreeMap<(String, String), Decimal> =
        e.prices.iter().filter(|((o, _), _)| sold.contains(o)).map(|(k, v)| (k.clone(), v.normalize())).collect();
    assert_same(&prices_shown(c, &shown), &prices, "every price");

    // Warehouses named in the files; one only referred to is named by its Ид.
    let mut names = e.warehouses.clone();
    for (_, w) in e.stock.keys().filter(|(o, _)| sold.contains(o)) {
        names.entry(w.clone()).or_insert_with(|| w.clone());
    }
    let got: BTreeMap<String, String> = warehouses(c).into_iter().map(|(id, (name, _))| (id, name)).collect();
    assert_same(&got, &names, "warehouses");
    let stock: BTreeMap<(String, String), Decimal> =
        e.stock.iter().filter(|((o, _), _)| sold.contains(o)).map(|(k, v)| (k.clone(), v.normalize())).collect();
    assert_same(&stock_shown(c, &shown), &stock, "every stock figure");
    for (id, total) in e.totals.iter().filter(|(o, _)| sold.contains(*o)) {
        assert_eq!(dec(&shown.product(id)["quantityonhand"]), *total, "the total stock of {id}");
    }
}

/// Every offer of a product not yet known waits for that product.
fn assert_waiting(c: &OneC, e: &Expected) {
    let waiting: BTreeSet<String> =
        c.rows("relata_exchangependings", "").iter().map(|w| w["relata_name"].as_str().unwrap().to_string()).collect();
    let offers = e.offers.keys().chain(e.prices.keys().map(|(o, _)| o)).chain(e.stock.keys().map(|(o, _)| o));
    let awaited: BTreeSet<String> = offers.filter_map(|o| e.awaited(o)).collect();
    assert_same(&set(waiting), &set(awaited), "what waits");
}

/// The product's property values: property name → the value text.
fn values_of(c: &OneC, product: &Value) -> BTreeMap<String, String> {
    let rows = c
        .srv
        .get(&format!(
            "/relata_productpropertyvalues?$filter=_relata_productid_value eq {}&$expand=relata_productpropertyid($select=relata_name)",
            product["productid"].as_str().unwrap()
        ))
        .rows();
    rows.iter()
        .map(|v| {
            (
                v["relata_productpropertyid"]["relata_name"].as_str().unwrap().to_string(),
                v["relata_name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Each good's property values are the texts the file gives (a listed
/// value by its text); a property without a value has none.
fn assert_property_values(c: &OneC, e: &Expected) {
    let shown = Shown::of(c);
    for (id, g) in &e.goods {
        let got = values_of(c, shown.product(id));
        let mut expected = BTreeMap::new();
        for (prop, given) in g.values.iter().filter(|(_, v)| !v.is_empty()) {
            let (name, listed) = &e.properties[prop];
            let texts: Vec<&str> = given.iter().map(|v| listed.get(v).map(String::as_str).unwrap_or(v)).collect();
            expected.insert(name.clone(), texts);
        }
        assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "the properties of {id}");
        for (name, texts) in expected {
            for t in texts {
                assert!(got[&name].contains(t), "{id}: {name} is {:?}, not {t:?}", got[&name]);
            }
        }
    }
}

/// The node's properties: 1C Ид → name.
fn assert_properties(c: &OneC, e: &Expected) {
    let got: BTreeMap<String, String> = c
        .rows("relata_productproperties", "")
        .into_iter()
        .map(|p| (p["relata_exchangeid"].as_str().unwrap().to_string(), p["relata_name"].as_str().unwrap().to_string()))
        .collect();
    let expected: BTreeMap<String, String> =
        e.properties.iter().map(|(id, (name, _))| (id.clone(), name.trim().to_string())).collect();
    assert_same(&got, &expected, "properties");
}

/// The unit with this OKEI code.
fn unit(srv: &Srv, code: &str) -> Value {
    let rows = srv.get(&format!("/uoms?$filter=relata_okeicode eq {}", enc(&format!("'{code}'")))).rows();
    assert_eq!(rows.len(), 1, "units with code {code}: {rows:?}");
    rows[0].clone()
}

/// The text of `name` for an XML element.
fn xml_text(name: &str) -> String {
    name.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The goods file 1C would have sent before these offers (the fixture's
/// own was not kept): each offer as a good under its Ид, name and article,
/// counted in pieces.
fn goods_for(version: &str, offers: &Expected, catalog: &str, skip: &[String]) -> Vec<u8> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" \
         ВерсияСхемы=\"{version}\" ДатаФормирования=\"2019-09-11T06:00:00\">\n<Каталог СодержитТолькоИзменения=\"false\">\
         <Ид>{catalog}</Ид><ИдКлассификатора>{catalog}</ИдКлассификатора><Наименование>Каталог товаров</Наименование>\n<Товары>\n"
    );
    for (id, name) in offers.offers.iter().filter(|(id, _)| !skip.contains(id)) {
        xml.push_str(&format!("<Товар><Ид>{id}</Ид><Наименование>{}</Наименование>", xml_text(name)));
        xml.push_str("<БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\" МеждународноеСокращение=\"PCE\">шт</БазоваяЕдиница>");
        xml.push_str("</Товар>\n");
    }
    xml.push_str("</Товары>\n</Каталог>\n</КоммерческаяИнформация>\n");
    xml.into_bytes()
}

/// The price of the product with 1C Ид `id` in the list of price type `t`.
fn price(c: &OneC, t: &str, id: &str) -> Decimal {
    let list = c.one("pricelevels", &format!("relata_exchangeid eq {}", enc(&format!("'{t}'"))));
    let product = c.product(id);
    let items = c
        .srv
        .get(&format!(
            "/productpricelevels?$filter=_pricelevelid_value eq {} and _productid_value eq {}",
            list["pricelevelid"].as_str().unwrap(),
            product["productid"].as_str().unwrap()
        ))
        .rows();
    assert_eq!(items.len(), 1, "{items:?}");
    dec(&items[0]["amount"])
}

// ----- the tests ----------------------------------------------------------------

#[test]
fn a_moysklad_2_04_catalog_makes_its_product_in_its_group_with_description_and_properties() {
    each_server(|srv| {
        let file = fixture("catalog-2.04-moysklad-avdivo.xml");
        let mut c = OneC::own_node(srv);
        let a = c.exchange_in("2.04", 7 * 1024, &[("import.xml", &file)]);
        // The picture it names was not sent: a warning, not a failure.
        assert!(a[0][1].contains("12345.png"), "{a:?}");

        let e = Expected::of(&[&file]);
        assert_eq!(e.goods.len(), 1);
        assert_shown(&c, &e);
        assert_properties(&c, &e);
        assert_eq!(c.rows("relata_productproperties", "").len(), 21);

        // By hand, from catalog-2.04-moysklad-avdivo.xml: a non-GUID Ид,
        // an empty article, the group nested in «A1. НОУТБУКИ».
        let p = c.product("137");
        assert_eq!(p["name"], "dev test my 137");
        assert_eq!(p["description"], "тест описания для картинки");
        assert!(text_of(&p, "relata_sku").is_none(), "an empty Артикул is no article: {p}");
        let family = srv.retrieve("products", p["_parentproductid_value"].as_str().unwrap().parse().unwrap(), "");
        assert_eq!(family["name"], "Devops Test");
        let top = srv.retrieve("products", family["_parentproductid_value"].as_str().unwrap().parse().unwrap(), "");
        assert_eq!(top["name"], "A1. НОУТБУКИ");
        assert_eq!(top["relata_exchangeid"], "syTpZPPtgcmvjte1p11IC0");

        // The same file again changes nothing.
        assert_nothing_changed(&c.exchange_in("2.04", 7 * 1024, &[("import.xml", &file)]));
    });
}

#[test]
fn the_ut10_2_05_etalon_pair_gives_the_dress_its_group_properties_prices_and_variant() {
    each_server(|srv| {
        let files = [
            ("import.xml", fixture("catalog-2.05-ut10-etalon-readyscript.xml")),
            ("offers.xml", fixture("offers-2.05-ut10-etalon-readyscript.xml")),
        ];
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let mut c = OneC::own_node(srv);
        c.exchange_in("2.05", 7 * 1024, &files);

        let e = Expected::of(&[files[0].1, files[1].1]);
        assert_eq!((e.goods.len(), e.offers.len(), e.groups.len()), (1, 2, 4));
        assert_shown(&c, &e);
        assert_properties(&c, &e);
        assert_property_values(&c, &e);

        // By hand, from catalog-/offers-2.05-ut10-etalon-readyscript.xml.
        let dress = c.product("421a531a-995e-11e3-9e81-00241d337dcd");
        assert_eq!(dress["name"], "Платье 2");
        assert_eq!(dress["relata_sku"], "П2");
        assert_eq!(dec(&dress["relata_taxrate"]), d("18"));
        assert_eq!(dec(&dress["quantityonhand"]), d("0"));
        let family = srv.retrieve("products", dress["_parentproductid_value"].as_str().unwrap().parse().unwrap(), "");
        assert_eq!(family["name"], "Группа 3");
        let values = values_of(&c, &dress);
        assert_eq!(values["Бренд"], "GSFR", "a listed value shows its text, not its Ид");
        assert_eq!(values["Скидка %"], "30");
        assert!(!values.contains_key("test1"), "an empty value is no value: {values:?}");
        let variant = c.product("421a531a-995e-11e3-9e81-00241d337dcd#fd3fdddb-9964-11e3-9e81-00241d337dcd");
        assert_eq!(variant["name"], "Платье 2 (39, Красный)");
        assert_eq!(dec(&variant["quantityonhand"]), d("9"));
        let retail = "421a530f-995e-11e3-9e81-00241d337dcd";
        assert_eq!(price(&c, retail, "421a531a-995e-11e3-9e81-00241d337dcd"), d("12356"));
        assert_eq!(
            price(&c, retail, "421a531a-995e-11e3-9e81-00241d337dcd#fd3fdddb-9964-11e3-9e81-00241d337dcd"),
            d("12356")
        );
        assert_eq!(unit(srv, "796")["name"], "шт");

        assert_nothing_changed(&c.exchange_in("2.05", 7 * 1024, &files));
    });
}

#[test]
fn bsp_2_07_offers_before_their_goods_wait_then_price_and_stock_them_per_warehouse() {
    each_server(|srv| {
        let offers = fixture("offers-2.07-bsp-warehouses-sukhikh.xml");
        let mut c = OneC::own_node(srv);
        let a = c.exchange_in("2.07", 7 * 1024, &[("offers0_1.xml", &offers)]);
        assert!(a[0][1].contains("waiting for data not yet received"), "{a:?}");

        // No goods yet: the price type and warehouse are there, the offers wait.
        let only_offers = Expected::of(&[&offers]);
        assert_eq!(only_offers.offers.len(), 3);
        assert!(c.rows("products", "").is_empty());
        assert_waiting(&c, &only_offers);
        let list = c.one("pricelevels", "");
        assert_eq!(list["name"], "Розница (Интернет)");
        assert_eq!(c.one("relata_warehouses", "")["relata_name"], "Склад 1");

        // The goods come (the fixture's import0_1.xml was not kept, so
        // they are written from the offers): what waited applies.
        let goods = goods_for("2.07", &only_offers, "40dd40bf-bfc5-472c-9ccc-60088b94b8f1", &[]);
        c.exchange_in("2.07", 7 * 1024, &[("import0_1.xml", &goods)]);
        let e = Expected::of(&[&offers, &goods]);
        assert_shown(&c, &e);
        assert!(c.rows("relata_exchangependings", "").is_empty(), "nothing waits any more");

        // By hand, from offers-2.07-bsp-warehouses-sukhikh.xml.
        let t = "19dda8a9-e321-11e6-a50a-0025904bff5d";
        assert_eq!(price(&c, t, "3cd317c2-0105-11e8-8254-0025904bff5d"), d("70"));
        assert_eq!(price(&c, t, "bd5e2dc0-0188-11e8-8254-0025904bff5d"), d("941"));
        assert_eq!(price(&c, t, "31516cf2-0189-11e8-8254-0025904bff5d"), d("5500"));
        assert_eq!(dec(&c.product("3cd317c2-0105-11e8-8254-0025904bff5d")["quantityonhand"]), d("19"));
        // A warehouse the package does not describe is made under its Ид.
        let other = c.one(
            "relata_warehouses",
            &format!("relata_exchangeid eq {}", enc("'bc675bbd-a234-11e5-99ac-0025904bff5d'")),
        );
        assert_eq!(other["relata_name"], "bc675bbd-a234-11e5-99ac-0025904bff5d");
    });
}

#[test]
fn the_ut11_2_09_split_set_prices_and_stocks_every_offer_once_its_goods_arrive() {
    each_server(|srv| {
        let files = [
            (
                "import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml",
                fixture("catalog-2.09-ut11-classifier-gillbeits.xml"),
            ),
            ("offers___7f304edc-2527-4d3d-b058-6e4ee53de2e0.xml", fixture("offers-2.09-ut11-gillbeits.xml")),
            ("prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml", fixture("prices-2.09-ut11-gillbeits.xml")),
            ("rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml", fixture("rests-2.09-ut11-gillbeits.xml")),
        ];
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let mut c = OneC::own_node(srv);
        c.exchange_in("2.09", 64 * 1024, &files);
        let e = Expected::of(&files.iter().map(|(_, b)| *b).collect::<Vec<_>>());
        assert_eq!((e.offers.len(), e.prices.len(), e.stock.len()), (978, 978, 978));
        assert_eq!((e.groups.len(), e.properties.len()), (97, 1908));

        // The classifier alone: families, properties, the price type, the
        // warehouse, the units; the offers wait for their goods.
        assert_waiting(&c, &e);
        assert_properties(&c, &e);

        // The goods file (not kept with the fixtures, so written from the
        // offers) brings them in: every price, every stock figure. The one
        // good with stock below zero is left out here (its offers keep
        // waiting): a_negative_stock_figure_… covers it.
        let negative: Vec<String> =
            e.stock.iter().filter(|(_, q)| q.is_sign_negative()).map(|((o, _), _)| o.clone()).collect();
        assert_eq!(negative, [NEGATIVE_STOCK]);
        let goods = goods_for("2.09", &e, "86bca4ea-eb3a-4beb-b0d6-2090dbef560e", &negative);
        c.exchange_in("2.09", 64 * 1024, &[("import___goods.xml", &goods)]);
        let mut e = e;
        e.add(&goods);
        assert_eq!(e.sold().len(), 977);
        assert_shown(&c, &e);
        assert_waiting(&c, &e);

        // By hand, from prices-/rests-2.09-ut11-gillbeits.xml.
        let deodorant = c.product("26b0dc1e-4d66-11e4-99fe-003048c64779");
        assert_eq!(deodorant["name"], "Дезодорант для мужчин Чистая линия Фито защита без белых следов 150мл");
        assert_eq!(price(&c, "4d968229-47ba-11e4-a628-003048c64779", "26b0dc1e-4d66-11e4-99fe-003048c64779"), d("181"));
        assert_eq!(price(&c, "4d968229-47ba-11e4-a628-003048c64779", "26b0dc22-4d66-11e4-99fe-003048c64779"), d("219"));
        assert_eq!(dec(&deodorant["quantityonhand"]), d("1"));
        let list = c.one("pricelevels", "");
        assert_eq!(list["name"], "Типовое соглашение Интернет-МХТ");
        assert_eq!(c.one("relata_warehouses", "")["relata_name"], "Оптовый");
    });
}

#[test]
fn a_2_10_classifier_alone_makes_families_price_lists_in_hryvnias_warehouses_and_its_unit() {
    each_server(|srv| {
        let file = fixture("catalog-2.10-classifier-turumburum.xml");
        let mut c = OneC::own_node(srv);
        c.exchange_in("2.10", 7 * 1024, &[("import.xml", &file)]);
        let e = Expected::of(&[&file]);
        // 33 groups, three of them under one Ид: 31 families, the last
        // description of the shared Ид winning.
        assert_eq!((e.goods.len(), e.groups.len(), e.price_types.len(), e.warehouses.len()), (0, 31, 2, 6));
        assert_shown(&c, &e);
        let sneakers =
            c.one("products", &format!("relata_exchangeid eq {}", enc("'ae8db571-fd87-4baf-8745-f582bf38dc61'")));
        assert_eq!(sneakers["name"], "Кроссовки 333");

        // By hand, from catalog-2.10-classifier-turumburum.xml (CRLF lines).
        let list =
            c.one("pricelevels", &format!("relata_exchangeid eq {}", enc("'9eec4fc5-d32b-11e6-9aac-a0b3cce70669'")));
        assert_eq!(list["name"], "розничная со скидкой");
        let swimsuits =
            c.one("products", &format!("relata_exchangeid eq {}", enc("'11ca3eb8-b3de-496d-a3d3-3a2844a8ff65'")));
        assert_eq!(swimsuits["name"], "Купальники");
        assert_eq!(swimsuits["productstructure"], 2);
        let wh = c.one(
            "relata_warehouses",
            &format!("relata_exchangeid eq {}", enc("'5500dcd6-6120-11e0-af59-1c6f652e32a8'")),
        );
        assert_eq!(wh["relata_name"], "MANILA");
        let pieces = unit(srv, "2009");
        assert_eq!(pieces["name"], "шт");

        // Again: nothing is created; only the shared Ид is renamed through
        // its three names once more, and the end state is the same.
        let again = c.exchange_in("2.10", 7 * 1024, &[("import.xml", &file)]);
        assert!(again[0][1].contains(": 0 created, 3 updated, "), "{again:?}");
        assert_shown(&c, &e);
    });
}

/// The four files of the 3.1 Bitrix-module exchange, in 1C's order.
fn bitrix_module_set() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("import.xml", fixture("catalog-3.1-classifier-bitrixmod-irpsv.xml")),
        ("properties/1/import.xml", fixture("catalog-3.1-properties-bitrixmod-irpsv.xml")),
        ("goods/1/import.xml", fixture("catalog-3.1-goods-bitrixmod-irpsv.xml")),
        ("goods/1/offers.xml", fixture("offers-3.1-bitrixmod-irpsv.xml")),
    ]
}

#[test]
fn the_bitrix_module_3_1_set_makes_its_goods_their_variants_and_property_values() {
    each_server(|srv| {
        let set = bitrix_module_set();
        let files: Vec<(&str, &[u8])> = set.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let mut c = OneC::own_node(srv);
        c.exchange_in("3.1", 64 * 1024, &files);
        let e = Expected::of(&files.iter().map(|(_, b)| *b).collect::<Vec<_>>());
        assert_eq!((e.goods.len(), e.offers.len(), e.price_types.len(), e.warehouses.len()), (21, 86, 8, 12));
        assert_eq!(e.properties.len(), 25);
        assert_shown(&c, &e);
        assert_properties(&c, &e);
        assert_property_values(&c, &e);
        assert_eq!(c.rows("products", "productstructure eq 1").len(), 21 + 86);

        // By hand, from the goods file: the bare unit code `796 `, the
        // article-less good found by its Ид.
        let parallels = c.product("afc7eb78-8172-11e7-948c-00155d020201");
        assert_eq!(parallels["name"], "Parallels Desktop for Mac Pro Lic");
        assert_eq!(
            srv.retrieve("uoms", parallels["_defaultuomid_value"].as_str().unwrap().parse().unwrap(), "")
                ["relata_okeicode"],
            "796"
        );
        let euro =
            c.one("pricelevels", &format!("relata_exchangeid eq {}", enc("'58b675d7-515d-11e0-a140-00241d886595'")));
        assert_eq!(euro["name"], "Отпускная, евро");
        // Variants are named as their offers; a name longer than the
        // column's 100 characters keeps its first 100.
        let variant = c.product("73bde82a-26e6-11e6-9472-00155d020201#daccfacf-26e6-11e6-9472-00155d020201");
        assert_eq!(
            variant["name"],
            "Сертифицированная ОС Роса DX Хром 1.0 пользовательская Lic (RL 00610-1, 1 год, базовая техподдержка)"
        );
        let long = c.product("73bde82a-26e6-11e6-9472-00155d020201#daccfacb-26e6-11e6-9472-00155d020201");
        assert_eq!(
            long["name"],
            "Сертифицированная ОС Роса DX Хром 1.0 пользовательская Lic (RL 00610, бессрочная, лицензия + базовая"
        );

        assert_nothing_changed(&c.exchange_in("3.1", 64 * 1024, &files));
    });
}

#[test]
fn variants_1c_marks_deleted_are_retired() {
    each_server(|srv| {
        let set = bitrix_module_set();
        let files: Vec<(&str, &[u8])> = set.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let mut c = OneC::own_node(srv);
        c.exchange_in("3.1", 64 * 1024, &files);
        let e = Expected::of(&[files[3].1]);
        assert_eq!(e.deleted_offers.len(), 6);
        // offers-3.1-bitrixmod-irpsv.xml marks six of its 86 variants
        // deleted; they come with neither price nor stock.
        let shown = Shown::of(&c);
        for id in e.offers.keys() {
            let state = &shown.product(id)["statecode"];
            assert_eq!(state, if e.deleted_offers.contains(id) { 1 } else { 0 }, "the state of {id}");
        }
    });
}

#[test]
fn the_freesport_3_1_split_set_in_1cs_order_applies_what_it_can_and_keeps_the_rest_waiting() {
    each_server(|srv| {
        let set = [
            ("groups/groups.xml", fixture("catalog-3.1-groups-freesport.xml")),
            ("units/units.xml", fixture("catalog-3.1-units-freesport.xml")),
            ("storages/storages.xml", fixture("catalog-3.1-storages-freesport.xml")),
            ("priceLists/priceLists.xml", fixture("catalog-3.1-pricelists-freesport.xml")),
            ("goods/goods.xml", fixture("catalog-3.1-goods-freesport.xml")),
            ("offers/offers.xml", fixture("offers-3.1-freesport.xml")),
            ("prices/prices.xml", fixture("prices-3.1-freesport.xml")),
            ("rests/rests.xml", fixture("rests-3.1-freesport.xml")),
        ];
        let files: Vec<(&str, &[u8])> = set.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let mut c = OneC::own_node(srv);
        c.exchange_in("3.1", 7 * 1024, &files);
        let e = Expected::of(&files.iter().map(|(_, b)| *b).collect::<Vec<_>>());
        assert_eq!((e.goods.len(), e.price_types.len(), e.warehouses.len()), (3, 6, 2));
        // The fixtures were trimmed: most offers name goods not in goods.xml.
        assert_shown(&c, &e);
        assert_waiting(&c, &e);

        // By hand, from prices-/rests-3.1-freesport.xml: the cartridge has
        // its six prices and no stock in either warehouse.
        let cartridge = "069efcc9-a098-11ed-a325-04421a23d8e8";
        assert_eq!(price(&c, "37c47a93-e1b8-11ec-a301-04421a23d8e8", cartridge), d("540"));
        assert_eq!(dec(&c.product(cartridge)["quantityonhand"]), d("0"));
        let dumbbell = c.product("018d777d-9094-11ec-a2ff-04421a23d8e8#018d8047-9094-11ec-a2ff-04421a23d8e8");
        assert_eq!(dec(&dumbbell["quantityonhand"]), d("215"));
    });
}

#[test]
fn the_answer_to_the_goods_says_how_many_waiting_offers_they_applied() {
    each_server(|srv| {
        let offers = fixture("offers-2.07-bsp-warehouses-sukhikh.xml");
        let mut c = OneC::own_node(srv);
        c.exchange_in("2.07", 7 * 1024, &[("offers0_1.xml", &offers)]);
        let goods = goods_for("2.07", &Expected::of(&[&offers]), "40dd40bf-bfc5-472c-9ccc-60088b94b8f1", &[]);
        let a = c.exchange_in("2.07", 7 * 1024, &[("import0_1.xml", &goods)]);
        // Three offers waited, one per good.
        assert!(a[0][1].contains(", 3 waiting items applied"), "{a:?}");
    });
}

/// The 2.09 offer whose stock is below zero (rests-2.09-ut11-gillbeits.xml:
/// «Мыло-жидкое NIVEA Нежное увлажнение 250мл», -1 in «Оптовый»).
const NEGATIVE_STOCK: &str = "633e7908-4eb6-11e4-99fe-003048c64779";

/// The package `file` with only the offer `id` (its own bytes, cut).
fn only_offer(file: &[u8], id: &str) -> Vec<u8> {
    let text = String::from_utf8(file.to_vec()).unwrap();
    let at = text.find(&format!("<Ид>{id}</Ид>")).unwrap();
    let start = text[..at].rfind("<Предложение>").unwrap();
    let end = at + text[at..].find("</Предложение>").unwrap() + "</Предложение>".len();
    let head = text.find("<Предложения>").unwrap() + "<Предложения>".len();
    let tail = text.find("</Предложения>").unwrap();
    format!("{}\n{}\n{}", &text[..head], &text[start..end], &text[tail..]).into_bytes()
}

#[test]
fn a_negative_stock_figure_is_kept_and_does_not_lose_its_good() {
    each_server(|srv| {
        let rests = only_offer(&fixture("rests-2.09-ut11-gillbeits.xml"), NEGATIVE_STOCK);
        let offers = only_offer(&fixture("offers-2.09-ut11-gillbeits.xml"), NEGATIVE_STOCK);
        let goods = goods_for("2.09", &Expected::of(&[&offers]), "86bca4ea-eb3a-4beb-b0d6-2090dbef560e", &[]);
        let e = Expected::of(&[&goods, &rests]);
        assert_eq!(e.stock.values().collect::<Vec<_>>(), [&d("-1")]);
        // In 1C's order (goods, then rests) and the other way round.
        for files in [
            [("import___1.xml", &goods), ("rests___1.xml", &rests)],
            [("rests___1.xml", &rests), ("import___1.xml", &goods)],
        ] {
            let mut c = OneC::own_node(srv);
            let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
            let answers = c.exchange_in("2.09", 7 * 1024, &files);
            for a in &answers {
                assert!(!a[1].contains("warnings"), "{a:?}");
            }
            let soap = c.product(NEGATIVE_STOCK);
            let stock = c.one("relata_warehouses", "");
            let figure = srv
                .get(&format!(
                    "/relata_productstocks?$filter=_relata_productid_value eq {} and _relata_warehouseid_value eq {}",
                    soap["productid"].as_str().unwrap(),
                    stock["relata_warehouseid"].as_str().unwrap()
                ))
                .rows();
            assert_eq!(figure.len(), 1, "{figure:?}");
            assert_eq!(dec(&figure[0]["relata_quantity"]), d("-1"));
        }
    });
}

#[test]
fn file_names_that_climb_out_of_the_exchange_area_are_refused_however_written() {
    each_server(|srv| {
        let mut c = OneC::own_node(srv);
        c.check_auth();
        c.init("2.09");
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_vec();
        for (name, why) in [
            ("..\\..\\Windows\\win.ini", "'..'"),
            ("import_files/../../../secret.xml", "'..'"),
            ("/tmp/1c/../../etc/passwd", "'..'"),
            ("C:\\1C\\webdata\\..\\..\\boot.ini", "'..'"),
            ("..", "'..'"),
            ("import\u{1}.xml", "cannot have"),
            ("", "empty"),
        ] {
            for mode in ["file", "import"] {
                let method = if mode == "file" { reqwest::Method::POST } else { reqwest::Method::GET };
                let lines = c.call(method, &format!("mode={mode}&filename={}", enc(name)), Some(body.clone()));
                assert_eq!(lines[0], "failure", "{mode} {name:?}: {lines:?}");
                assert!(lines[1].contains(why), "{mode} {name:?}: {lines:?}");
            }
        }
        assert!(c.rows("relata_exchangefiles", "").is_empty(), "nothing was kept");

        // An absolute name is refused too: 1C names files relative to its
        // exchange folder.
        for name in ["/etc/hostname", "C:\\1C\\import.xml", "D:/import.xml"] {
            for mode in ["file", "import"] {
                let method = if mode == "file" { reqwest::Method::POST } else { reqwest::Method::GET };
                let lines = c.call(method, &format!("mode={mode}&filename={}", enc(name)), Some(body.clone()));
                assert_eq!(lines[0], "failure", "{mode} {name:?}: {lines:?}");
                assert!(lines[1].contains("absolute"), "{mode} {name:?}: {lines:?}");
            }
        }
        assert!(c.rows("relata_exchangefiles", "").is_empty(), "nothing was kept");
    });
}
