//! The sales chain through the Web API: catalog and pricing, leads,
//! opportunities, quotes, orders, invoices and payments, the transitions
//! between their states, currencies, printing and who sees which document.
//!
//! Every expected amount is worked out here from the documented rules
//! (half away from zero, prices and amounts to two places), never read back
//! from the server first.

mod common;

use common::{d, dec, each_server, enc, uid, Resp, Srv};
use reqwest::Method;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Arithmetic

/// Half away from zero, as every price and amount is rounded.
fn round(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

fn r2(x: Decimal) -> Decimal {
    round(x, 2)
}

/// `x × p / 100`, unrounded.
fn pct(x: Decimal, p: &str) -> Decimal {
    x * d(p) / d("100")
}

/// A JSON number written exactly as given.
fn n(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{s} is not a number: {e}"))
}

// ---------------------------------------------------------------------------
// Reading responses

fn bind(set: &str, id: Uuid) -> String {
    format!("/{set}({id})")
}

#[track_caller]
fn id_of(v: &Value, key: &str) -> Uuid {
    let s = v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"));
    Uuid::parse_str(s).unwrap_or_else(|e| panic!("{key} is not a GUID ({e}): {v}"))
}

#[track_caller]
fn money(v: &Value, col: &str) -> Decimal {
    assert!(!v[col].is_null(), "{col} is null or missing: {v}");
    dec(&v[col])
}

/// Discount and tax columns a line never set may read as null.
#[track_caller]
fn money_or_zero(v: &Value, col: &str) -> Decimal {
    if v[col].is_null() {
        Decimal::ZERO
    } else {
        dec(&v[col])
    }
}

#[track_caller]
fn assert_money(v: &Value, expected: &[(&str, Decimal)]) {
    for (col, want) in expected {
        assert_eq!(money(v, col), *want, "{col}: {v}");
    }
}

fn state(v: &Value) -> (i64, i64) {
    (v["statecode"].as_i64().unwrap_or(-1), v["statuscode"].as_i64().unwrap_or(-1))
}

#[track_caller]
fn state_of(srv: &Srv, set: &str, id: Uuid) -> (i64, i64) {
    state(&srv.retrieve(set, id, "$select=statecode,statuscode"))
}

/// What a failed request must leave untouched: the named columns and the
/// row version (any write moves it).
#[track_caller]
fn snapshot(srv: &Srv, set: &str, id: Uuid, cols: &str) -> Value {
    let mut v = srv.retrieve(set, id, &format!("$select={cols},versionnumber"));
    v.as_object_mut().unwrap().retain(|k, _| !k.starts_with('@'));
    v
}

#[track_caller]
fn assert_unchanged(srv: &Srv, set: &str, id: Uuid, cols: &str, before: &Value, what: &str) {
    assert_eq!(&snapshot(srv, set, id, cols), before, "{set}({id}) changed after a refused {what}");
}

/// Rows of `set` matching an OData filter.
#[track_caller]
fn rows(srv: &Srv, set: &str, filter: &str) -> Vec<Value> {
    srv.get(&format!("/{set}?$filter={}", enc(filter))).rows()
}

// ---------------------------------------------------------------------------
// Documents and their lines

#[derive(Clone, Copy)]
struct Kind {
    set: &'static str,
    lines: &'static str,
    /// The line's lookup to its document.
    fk: &'static str,
    /// The line's name column.
    line_name: &'static str,
}

const OPPORTUNITY: Kind = Kind {
    set: "opportunities",
    lines: "opportunityproducts",
    fk: "opportunityid",
    line_name: "opportunityproductname",
};
const QUOTE: Kind = Kind { set: "quotes", lines: "quotedetails", fk: "quoteid", line_name: "quotedetailname" };
const ORDER: Kind =
    Kind { set: "salesorders", lines: "salesorderdetails", fk: "salesorderid", line_name: "salesorderdetailname" };
const INVOICE: Kind =
    Kind { set: "invoices", lines: "invoicedetails", fk: "invoiceid", line_name: "invoicedetailname" };

fn add_line(srv: &Srv, k: Kind, doc: Uuid, body: Value) -> Resp {
    let mut body = body;
    body[format!("{}@odata.bind", k.fk)] = json!(bind(k.set, doc));
    srv.post(&format!("/{}", k.lines), &body)
}

#[track_caller]
fn new_line(srv: &Srv, k: Kind, doc: Uuid, body: Value) -> Uuid {
    let r = add_line(srv, k, doc, body);
    r.expect(204);
    r.entity_id()
}

fn catalog_line(product: Uuid, qty: &str) -> Value {
    json!({ "productid@odata.bind": bind("products", product), "quantity": n(qty) })
}

#[track_caller]
fn lines_of(srv: &Srv, k: Kind, doc: Uuid) -> Vec<Value> {
    rows(srv, k.lines, &format!("_{}_value eq {doc}", k.fk))
}

#[track_caller]
fn line_for(lines: &[Value], product: Uuid) -> &Value {
    let p = product.to_string();
    let found: Vec<&Value> = lines.iter().filter(|l| l["_productid_value"] == p.as_str()).collect();
    assert_eq!(found.len(), 1, "one line for product {p}: {lines:?}");
    found[0]
}

#[track_caller]
fn write_in_line<'a>(lines: &'a [Value], description: &str) -> &'a Value {
    let found: Vec<&Value> = lines.iter().filter(|l| l["productdescription"] == description).collect();
    assert_eq!(found.len(), 1, "one write-in line {description:?}: {lines:?}");
    found[0]
}

enum Tax<'a> {
    /// `relata_taxrate` percent of the net amount.
    Rate(&'a str),
    /// A tax amount sent as is.
    Amount(&'a str),
    None,
}

/// A line's expected amounts, by the line rules.
struct Line {
    price: Decimal,
    qty: Decimal,
    manual: Decimal,
    /// Volume discount per unit.
    volume: Decimal,
    base: Decimal,
    net: Decimal,
    tax: Decimal,
    extended: Decimal,
}

fn line(price: &str, qty: &str, manual: &str, volume: &str, tax: Tax) -> Line {
    let (price, qty, manual, volume) = (d(price), d(qty), d(manual), d(volume));
    // baseamount = price × quantity; net = base − manual − volume × quantity.
    let base = r2(price * qty);
    let net = base - manual - r2(volume * qty);
    let tax = match tax {
        Tax::Rate(rate) => r2(pct(net, rate)),
        Tax::Amount(a) => d(a),
        Tax::None => Decimal::ZERO,
    };
    Line { price, qty, manual, volume, base, net, tax, extended: net + tax }
}

#[track_caller]
fn assert_line(v: &Value, l: &Line) {
    assert_money(
        v,
        &[("priceperunit", l.price), ("quantity", l.qty), ("baseamount", l.base), ("extendedamount", l.extended)],
    );
    assert_eq!(money_or_zero(v, "manualdiscountamount"), l.manual, "manualdiscountamount: {v}");
    assert_eq!(money_or_zero(v, "volumediscountamount"), l.volume, "volumediscountamount: {v}");
    assert_eq!(money_or_zero(v, "tax"), l.tax, "tax: {v}");
}

/// A document's expected totals.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Totals {
    lines: Decimal,
    line_discounts: Decimal,
    discount: Decimal,
    less_freight: Decimal,
    tax: Decimal,
    total: Decimal,
}

/// The header rules: Σ net, Σ (manual + volume × qty), round(Σ net × pct) +
/// discount amount, then freight and Σ tax.
fn totals_of(lines: &[&Line], discount_pct: &str, discount_amount: &str, freight: &str) -> Totals {
    let sum_net: Decimal = lines.iter().map(|l| l.net).sum();
    let line_discounts: Decimal = lines.iter().map(|l| l.manual + r2(l.volume * l.qty)).sum();
    let tax: Decimal = lines.iter().map(|l| l.tax).sum();
    let discount = r2(pct(sum_net, discount_pct)) + d(discount_amount);
    let less_freight = sum_net - discount;
    Totals { lines: sum_net, line_discounts, discount, less_freight, tax, total: less_freight + d(freight) + tax }
}

const TOTAL_COLS: &str = "totallineitemamount,totallineitemdiscountamount,totaldiscountamount,\
totalamountlessfreight,totaltax,totalamount";

#[track_caller]
fn assert_totals(srv: &Srv, k: Kind, id: Uuid, t: &Totals) {
    let v = srv.retrieve(k.set, id, &format!("$select={TOTAL_COLS}"));
    assert_money(
        &v,
        &[
            ("totallineitemamount", t.lines),
            ("totallineitemdiscountamount", t.line_discounts),
            ("totaldiscountamount", t.discount),
            ("totalamountlessfreight", t.less_freight),
            ("totaltax", t.tax),
            ("totalamount", t.total),
        ],
    );
}

// ---------------------------------------------------------------------------
// Catalog and customers

struct Units {
    schedule: Uuid,
    pcs: Uuid,
    boxed: Uuid,
}

/// A unit group with its base unit "pcs" and a "box" of 12.
#[track_caller]
fn unit_group(srv: &Srv, tag: &str) -> Units {
    let schedule = srv.create("uomschedules", &json!({ "name": format!("Units {tag}"), "baseuomname": "pcs" }));
    let base = rows(srv, "uoms", &format!("_uomscheduleid_value eq {schedule}"));
    assert_eq!(base.len(), 1, "a new group holds its base unit: {base:?}");
    assert_eq!(base[0]["name"], "pcs");
    assert_eq!(dec(&base[0]["quantity"]), d("1"));
    assert_eq!(base[0]["isschedulebaseuom"], true);
    let pcs = id_of(&base[0], "uomid");
    let boxed = srv.create(
        "uoms",
        &json!({ "name": "box", "uomscheduleid@odata.bind": bind("uomschedules", schedule), "quantity": 12 }),
    );
    Units { schedule, pcs, boxed }
}

/// The organization's base currency (the seeded one, rate 1).
#[track_caller]
fn base_currency(srv: &Srv) -> Uuid {
    let r = srv.get(&format!(
        "/transactioncurrencies?$select=transactioncurrencyid&$orderby=createdon&$top=1&$filter={}",
        enc("exchangerate eq 1")
    ));
    id_of(&r.rows()[0], "transactioncurrencyid")
}

/// A currency; the administrator may create one.
#[track_caller]
fn new_currency(srv: &Srv, iso: &str, rate: &str) -> Uuid {
    let r = srv.post(
        "/transactioncurrencies",
        &json!({
            "currencyname": format!("Test {iso} {}", uid()), "isocurrencycode": iso, "currencysymbol": "¤",
            "currencyprecision": 2, "exchangerate": n(rate),
        }),
    );
    assert_eq!(r.status, 204, "the administrator creates a currency: {} {}", r.status, r.text());
    r.entity_id()
}

#[track_caller]
fn price_list(srv: &Srv, name: &str, currency: Uuid) -> Uuid {
    srv.create(
        "pricelevels",
        &json!({ "name": name, "transactioncurrencyid@odata.bind": bind("transactioncurrencies", currency) }),
    )
}

/// A product in `units` (default unit pcs) with a unique number.
#[track_caller]
fn product(srv: &Srv, units: &Units, name: &str, fields: Value) -> Uuid {
    let mut body = json!({
        "name": name, "productnumber": format!("PN-{}", uid()),
        "defaultuomscheduleid@odata.bind": bind("uomschedules", units.schedule),
        "defaultuomid@odata.bind": bind("uoms", units.pcs),
    });
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    srv.create("products", &body)
}

fn price_item_req(srv: &Srv, pl: Uuid, product: Uuid, uom: Uuid, fields: Value) -> Resp {
    let mut body = json!({
        "pricelevelid@odata.bind": bind("pricelevels", pl),
        "productid@odata.bind": bind("products", product),
        "uomid@odata.bind": bind("uoms", uom),
    });
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    srv.post("/productpricelevels", &body)
}

#[track_caller]
fn price_item(srv: &Srv, pl: Uuid, product: Uuid, uom: Uuid, fields: Value) -> Uuid {
    let r = price_item_req(srv, pl, product, uom, fields);
    r.expect(204);
    r.entity_id()
}

#[track_caller]
fn account(srv: &Srv, name: &str) -> Uuid {
    srv.create("accounts", &json!({ "name": name }))
}

/// A document of kind `k` for `customer`, on price list `pl` if any.
#[track_caller]
fn document(srv: &Srv, k: Kind, name: &str, customer: Uuid, pl: Option<Uuid>) -> Uuid {
    let mut body = json!({ "name": name, "customerid_account@odata.bind": bind("accounts", customer) });
    // Without one named, a document starts on the default price list.
    body["pricelevelid@odata.bind"] = match pl {
        Some(pl) => json!(bind("pricelevels", pl)),
        None => Value::Null,
    };
    srv.create(k.set, &body)
}

/// One price list in the base currency with one product ("Item") at 10.00
/// a piece, taxed at 10 %.
struct Fixture {
    units: Units,
    pl: Uuid,
    item: Uuid,
    customer: Uuid,
}

#[track_caller]
fn fixture(srv: &Srv, tag: &str) -> Fixture {
    let units = unit_group(srv, tag);
    let pl = price_list(srv, &format!("List {tag}"), base_currency(srv));
    let item = product(
        srv,
        &units,
        &format!("Item {tag}"),
        json!({ "price": n("12.00"), "quantitydecimal": 0, "relata_taxrate": n("10") }),
    );
    price_item(srv, pl, item, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("10.00") }));
    let customer = account(srv, &format!("Customer {tag}"));
    Fixture { units, pl, item, customer }
}

/// A document of kind `k` on the fixture's list with one line of `qty` items.
#[track_caller]
fn doc_with_line(srv: &Srv, fx: &Fixture, k: Kind, name: &str, qty: &str) -> (Uuid, Uuid) {
    let doc = document(srv, k, name, fx.customer, Some(fx.pl));
    let l = new_line(srv, k, doc, catalog_line(fx.item, qty));
    (doc, l)
}

// ---------------------------------------------------------------------------
// Actions

fn qualify(srv: &Srv, lead: Uuid, extra: Value) -> Resp {
    let mut body = json!({ "CreateAccount": true, "CreateContact": true, "CreateOpportunity": true, "Status": 3 });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    srv.post(&format!("/leads({lead})/Microsoft.Dynamics.CRM.QualifyLead"), &body)
}

/// The id of the record of `entity` in a QualifyLead answer.
#[track_caller]
fn created(v: &Value, entity: &str) -> Option<Uuid> {
    let ty = format!("#Microsoft.Dynamics.CRM.{entity}");
    let all = v["value"].as_array().unwrap_or_else(|| panic!("no value array: {v}"));
    let found: Vec<&Value> = all.iter().filter(|r| r["@odata.type"] == ty.as_str()).collect();
    assert!(found.len() <= 1, "more than one {entity}: {v}");
    found.first().map(|r| id_of(r, &format!("{entity}id")))
}

#[track_caller]
fn action_json(srv: &Srv, name: &str, body: &Value) -> Value {
    let r = srv.post(&format!("/{name}"), body);
    r.expect(200);
    r.json()
}

fn all_columns() -> Value {
    json!({ "AllColumns": true })
}

#[track_caller]
fn generate_quote(srv: &Srv, opp: Uuid) -> Value {
    action_json(srv, "GenerateQuoteFromOpportunity", &json!({ "OpportunityId": opp, "ColumnSet": all_columns() }))
}

#[track_caller]
fn activate_quote(srv: &Srv, quote: Uuid) {
    srv.patch(&format!("/quotes({quote})"), &json!({ "statecode": 1, "statuscode": 3 })).expect(204);
    assert_eq!(state_of(srv, "quotes", quote), (1, 3));
}

fn win_quote(srv: &Srv, quote: Uuid) -> Resp {
    srv.post(
        "/WinQuote",
        &json!({ "QuoteClose": { "subject": "Won", "quoteid@odata.bind": bind("quotes", quote) }, "Status": 4 }),
    )
}

fn win_opportunity(srv: &Srv, opp: Uuid, close: Value) -> Resp {
    let mut c = json!({ "subject": "Won", "opportunityid@odata.bind": bind("opportunities", opp) });
    for (k, v) in close.as_object().unwrap() {
        c[k] = v.clone();
    }
    srv.post("/WinOpportunity", &json!({ "OpportunityClose": c, "Status": 3 }))
}

fn lose_opportunity(srv: &Srv, opp: Uuid, status: i64) -> Resp {
    srv.post(
        "/LoseOpportunity",
        &json!({
            "OpportunityClose": { "subject": "Lost", "opportunityid@odata.bind": bind("opportunities", opp) },
            "Status": status,
        }),
    )
}

#[track_caller]
fn convert_quote(srv: &Srv, quote: Uuid) -> Value {
    action_json(srv, "ConvertQuoteToSalesOrder", &json!({ "QuoteId": quote, "ColumnSet": all_columns() }))
}

fn convert_order(srv: &Srv, order: Uuid) -> Resp {
    srv.post("/ConvertSalesOrderToInvoice", &json!({ "SalesOrderId": order, "ColumnSet": all_columns() }))
}

fn order_close(srv: &Srv, action: &str, order: Uuid, status: i64) -> Resp {
    srv.post(
        &format!("/{action}"),
        &json!({
            "OrderClose": { "subject": action, "salesorderid@odata.bind": bind("salesorders", order) },
            "Status": status,
        }),
    )
}

fn pay(srv: &Srv, invoice: Uuid, amount: &str) -> Resp {
    srv.post(
        "/relata_payments",
        &json!({
            "relata_invoiceid@odata.bind": bind("invoices", invoice),
            "relata_amount": n(amount), "relata_paidon": "2026-11-20",
        }),
    )
}

#[track_caller]
fn assert_paid(srv: &Srv, invoice: Uuid, paid: Decimal, due: Decimal, st: (i64, i64)) {
    let v = srv.retrieve("invoices", invoice, "$select=relata_amountpaid,relata_amountdue,statecode,statuscode");
    assert_money(&v, &[("relata_amountpaid", paid), ("relata_amountdue", due)]);
    assert_eq!(state(&v), st, "{v}");
}

#[track_caller]
fn payments_of(srv: &Srv, invoice: Uuid) -> Vec<Value> {
    rows(srv, "relata_payments", &format!("_relata_invoiceid_value eq {invoice}"))
}

/// `QUO-01001-XXXXXX`: prefix, five digits, six letters or digits.
#[track_caller]
fn assert_quote_number(s: &str) {
    let parts: Vec<&str> = s.split('-').collect();
    assert!(
        parts.len() == 3
            && parts[0] == "QUO"
            && parts[1].len() == 5
            && parts[1].bytes().all(|b| b.is_ascii_digit())
            && parts[2].len() == 6
            && parts[2].bytes().all(|b| b.is_ascii_alphanumeric()),
        "quote number {s:?}"
    );
}

// ---------------------------------------------------------------------------
// 1. The whole chain

#[test]
fn sales_chain_end_to_end() {
    each_server(|srv| {
        let tag = uid();
        let units = unit_group(srv, &tag);
        let pl = price_list(srv, &format!("Chain {tag}"), base_currency(srv));
        // Amount list: 2.00 off each unit from 10 to 99 units, 5.00 from 100.
        let volume = srv.create("discounttypes", &json!({ "name": format!("Volume {tag}"), "isamounttype": true }));
        for (low, high, amount) in [("10", "99", "2.00"), ("100", "1000", "5.00")] {
            srv.create(
                "discounts",
                &json!({
                    "discounttypeid@odata.bind": bind("discounttypes", volume),
                    "lowquantity": n(low), "highquantity": n(high), "amount": n(amount),
                }),
            );
        }
        let widget_name = format!("Widget {tag}");
        let widget = product(
            srv,
            &units,
            &widget_name,
            json!({ "price": n("50.00"), "currentcost": n("30.00"), "standardcost": n("28.00"),
                    "quantitydecimal": 0, "relata_taxrate": n("10") }),
        );
        assert_eq!(state_of(srv, "products", widget).0, 0, "a new product is active");
        let widget_item = price_item(
            srv,
            pl,
            widget,
            units.pcs,
            json!({ "pricingmethodcode": 1, "amount": n("45.00"),
                    "discounttypeid@odata.bind": bind("discounttypes", volume) }),
        );
        price_item(srv, pl, widget, units.boxed, json!({ "pricingmethodcode": 1, "amount": n("500.00") }));
        let gadget_name = format!("Gadget {tag}");
        let gadget = product(
            srv,
            &units,
            &gadget_name,
            json!({ "price": n("80.00"), "currentcost": n("50.00"), "standardcost": n("48.00"),
                    "quantitydecimal": 0, "relata_taxrate": n("20") }),
        );
        price_item(srv, pl, gadget, units.pcs, json!({ "pricingmethodcode": 2, "percentage": n("90") }));
        let hours_name = format!("Support hours {tag}");
        let hours = product(
            srv,
            &units,
            &hours_name,
            json!({ "price": n("120.00"), "currentcost": n("50.00"), "standardcost": n("45.00"),
                    "quantitydecimal": 2, "relata_taxrate": n("8") }),
        );
        // 30 % margin on current cost, rounded up to end in .99.
        price_item(
            srv,
            pl,
            hours,
            units.pcs,
            json!({ "pricingmethodcode": 4, "percentage": n("30"),
                    "roundingpolicycode": 2, "roundingoptioncode": 1, "roundingoptionamount": n("0.99") }),
        );

        // Lead → account, contact, opportunity.
        let company = format!("Chain Co {tag}");
        let subject = format!("Chain deal {tag}");
        let lead = srv.create(
            "leads",
            &json!({ "subject": subject, "firstname": "Cara", "lastname": format!("Chain {tag}"),
                     "companyname": company, "emailaddress1": format!("cara.{tag}@example.com") }),
        );
        let q = qualify(srv, lead, json!({}));
        q.expect(200);
        let created_json = q.json();
        let acc = created(&created_json, "account").expect("an account");
        let contact = created(&created_json, "contact").expect("a contact");
        let opp = created(&created_json, "opportunity").expect("an opportunity");
        assert_eq!(state_of(srv, "leads", lead), (1, 3));
        let o = srv.retrieve("opportunities", opp, "$select=name,_customerid_value,_parentcontactid_value,statecode");
        assert_eq!(o["name"], subject.as_str());
        assert_eq!(o["_customerid_value"], acc.to_string());
        assert_eq!(o["_parentcontactid_value"], contact.to_string());
        assert_eq!(o["statecode"], 0);
        srv.patch(
            &format!("/opportunities({opp})"),
            &json!({ "pricelevelid@odata.bind": bind("pricelevels", pl), "isrevenuesystemcalculated": true }),
        )
        .expect(204);

        // Widget: 12 × 45.00, 2.00 a unit off by volume, 4.00 by hand, 10 % tax.
        let w = line("45.00", "12", "4.00", "2.00", Tax::Rate("10"));
        assert_eq!((w.base, w.net, w.tax, w.extended), (d("540.00"), d("512.00"), d("51.20"), d("563.20")));
        // Gadget at an overridden 65.00, 20 % tax from the product.
        let g = line("65.00", "3", "0", "0", Tax::Rate("20"));
        assert_eq!((g.base, g.tax, g.extended), (d("195.00"), d("39.00"), d("234.00")));
        // Write-in installation, tax sent as an amount.
        let wi = line("150.00", "2", "0", "0", Tax::Amount("15.50"));
        assert_eq!(wi.extended, d("315.50"));

        new_line(
            srv,
            OPPORTUNITY,
            opp,
            json!({ "productid@odata.bind": bind("products", widget), "uomid@odata.bind": bind("uoms", units.pcs),
                    "quantity": 12, "manualdiscountamount": n("4.00") }),
        );
        new_line(
            srv,
            OPPORTUNITY,
            opp,
            json!({ "productid@odata.bind": bind("products", gadget), "quantity": 3,
                    "ispriceoverridden": true, "priceperunit": n("65.00") }),
        );
        let install = format!("Installation {tag}");
        new_line(
            srv,
            OPPORTUNITY,
            opp,
            json!({ "isproductoverridden": true, "productdescription": install, "priceperunit": n("150.00"),
                    "quantity": 2, "tax": n("15.50") }),
        );
        let check_lines = |k: Kind, doc: Uuid, with_hours: Option<&Line>| {
            let ls = lines_of(srv, k, doc);
            assert_eq!(ls.len(), 3 + usize::from(with_hours.is_some()), "{} lines: {ls:?}", k.lines);
            let wl = line_for(&ls, widget);
            assert_line(wl, &w);
            assert_eq!(wl[k.line_name], widget_name.as_str(), "{wl}");
            assert_eq!(wl["_uomid_value"], units.pcs.to_string());
            let gl = line_for(&ls, gadget);
            assert_line(gl, &g);
            assert_eq!(gl["ispriceoverridden"], true, "{gl}");
            assert_eq!(gl[k.line_name], gadget_name.as_str(), "{gl}");
            assert_line(write_in_line(&ls, &install), &wi);
            if let Some(h) = with_hours {
                let hl = line_for(&ls, hours);
                assert_line(hl, h);
                assert_eq!(hl[k.line_name], hours_name.as_str(), "{hl}");
                assert_eq!(hl["_uomid_value"], units.pcs.to_string(), "the product's default unit");
            }
        };
        check_lines(OPPORTUNITY, opp, None);
        let t0 = totals_of(&[&w, &g, &wi], "0", "0", "0");
        // 512.00 + 195.00 + 300.00; tax 51.20 + 39.00 + 15.50.
        assert_eq!(t0.lines, d("1007.00"));
        assert_eq!(t0.line_discounts, d("28.00"));
        assert_eq!(t0.total, d("1112.70"));
        assert_totals(srv, OPPORTUNITY, opp, &t0);
        assert_eq!(money(&srv.retrieve("opportunities", opp, "$select=estimatedvalue"), "estimatedvalue"), t0.total);

        // Quote from the opportunity.
        let quote = generate_quote(srv, opp);
        let q0 = id_of(&quote, "quoteid");
        let number = quote["quotenumber"].as_str().unwrap_or_else(|| panic!("quotenumber: {quote}")).to_string();
        assert_quote_number(&number);
        assert_eq!(quote["revisionnumber"], 0, "{quote}");
        assert_eq!(quote["_opportunityid_value"], opp.to_string(), "{quote}");
        assert_eq!(quote["_customerid_value"], acc.to_string(), "{quote}");
        assert_eq!(quote["_pricelevelid_value"], pl.to_string(), "{quote}");
        assert_eq!(quote["statecode"], 0, "{quote}");
        check_lines(QUOTE, q0, None);
        assert_totals(srv, QUOTE, q0, &t0);

        activate_quote(srv, q0);
        let revised = action_json(srv, "ReviseQuote", &json!({ "QuoteId": q0, "ColumnSet": all_columns() }));
        let q1 = id_of(&revised, "quoteid");
        assert_ne!(q1, q0);
        assert_eq!(revised["quotenumber"], number.as_str(), "{revised}");
        assert_eq!(revised["revisionnumber"], 1, "{revised}");
        assert_eq!(revised["statecode"], 0, "{revised}");
        assert_eq!(state_of(srv, "quotes", q0), (3, 7), "the old revision is Revised");
        check_lines(QUOTE, q1, None);
        assert_totals(srv, QUOTE, q1, &t0);

        // The draft revision: 1.5 support hours at 50.00 / (1 − 30 %) =
        // 71.428…, rounded up to end in .99 → 71.99; 71.99 × 1.5 = 107.985 → 107.99.
        let h = line("71.99", "1.5", "0", "0", Tax::Rate("8"));
        assert_eq!((h.base, h.tax, h.extended), (d("107.99"), d("8.64"), d("116.63")));
        new_line(srv, QUOTE, q1, catalog_line(hours, "1.5"));
        check_lines(QUOTE, q1, Some(&h));
        let t1 = totals_of(&[&w, &g, &wi, &h], "0", "0", "0");
        assert_eq!(t1.total, d("1229.33"));
        assert_totals(srv, QUOTE, q1, &t1);
        srv.patch(
            &format!("/quotes({q1})"),
            &json!({ "discountpercentage": n("5"), "discountamount": n("10.00"), "freightamount": n("25.00") }),
        )
        .expect(204);
        // 1114.99 × 5 % = 55.7495 → 55.75, + 10.00; 1114.99 − 65.75 + 25.00 + 114.34.
        let t2 = totals_of(&[&w, &g, &wi, &h], "5", "10.00", "25.00");
        assert_eq!(
            (t2.lines, t2.discount, t2.less_freight, t2.tax, t2.total),
            (d("1114.99"), d("65.75"), d("1049.24"), d("114.34"), d("1188.58"))
        );
        assert_totals(srv, QUOTE, q1, &t2);

        activate_quote(srv, q1);
        win_quote(srv, q1).expect(204);
        assert_eq!(state_of(srv, "quotes", q1), (2, 4));

        // A later price change does not reach the order: it keeps the quote's prices.
        srv.patch(&format!("/productpricelevels({widget_item})"), &json!({ "amount": n("47.00") })).expect(204);
        let order_json = convert_quote(srv, q1);
        let order = id_of(&order_json, "salesorderid");
        assert!(order_json["ordernumber"].as_str().is_some_and(|s| s.starts_with("ORD-")), "{order_json}");
        assert_eq!(order_json["_quoteid_value"], q1.to_string(), "{order_json}");
        assert_eq!(order_json["ispricelocked"], true, "{order_json}");
        assert_eq!(order_json["statecode"], 0, "{order_json}");
        check_lines(ORDER, order, Some(&h));
        assert_totals(srv, ORDER, order, &t2);

        srv.patch(&format!("/salesorders({order})"), &json!({ "statecode": 1 })).expect(204);
        assert_eq!(state_of(srv, "salesorders", order).0, 1, "submitted");
        let r = convert_order(srv, order);
        r.expect(200);
        let invoice_json = r.json();
        let invoice = id_of(&invoice_json, "invoiceid");
        assert!(invoice_json["invoicenumber"].as_str().is_some_and(|s| s.starts_with("INV-")), "{invoice_json}");
        assert_eq!(invoice_json["_salesorderid_value"], order.to_string(), "{invoice_json}");
        assert_eq!(invoice_json["ispricelocked"], true, "{invoice_json}");
        assert_eq!(invoice_json["statecode"], 0, "{invoice_json}");
        assert_eq!(state_of(srv, "salesorders", order), (4, 100003), "the order is invoiced");
        check_lines(INVOICE, invoice, Some(&h));
        assert_totals(srv, INVOICE, invoice, &t2);

        // 600.00 now, 588.58 later.
        pay(srv, invoice, "600.00").expect(204);
        assert_paid(srv, invoice, d("600.00"), t2.total - d("600.00"), (2, 100002));
        assert_eq!(t2.total - d("600.00"), d("588.58"));
        pay(srv, invoice, "588.58").expect(204);
        assert_paid(srv, invoice, t2.total, Decimal::ZERO, (2, 100001));
        assert_totals(srv, INVOICE, invoice, &t2);

        // Where everything ended up.
        assert_eq!(state_of(srv, "leads", lead), (1, 3));
        assert_eq!(state_of(srv, "quotes", q0), (3, 7));
        assert_eq!(state_of(srv, "quotes", q1), (2, 4));
        assert_eq!(state_of(srv, "salesorders", order), (4, 100003));
        assert_eq!(state_of(srv, "invoices", invoice), (2, 100001));
    });
}

// ---------------------------------------------------------------------------
// 2. Pricing

struct Case {
    list: &'static str,
    current: &'static str,
    standard: &'static str,
    method: i64,
    /// Amount (method 1) or percentage (the others).
    value: &'static str,
    /// Policy, option, option amount.
    rounding: Option<(i64, i64, &'static str)>,
    expect: &'static str,
}

const fn case(
    method: i64,
    value: &'static str,
    rounding: Option<(i64, i64, &'static str)>,
    expect: &'static str,
) -> Case {
    Case { list: "100.00", current: "60.00", standard: "50.00", method, value, rounding, expect }
}

const UP: i64 = 2;
const DOWN: i64 = 3;
const NEAREST: i64 = 4;
const ENDS_IN: i64 = 1;
const MULTIPLE_OF: i64 = 2;

/// List price 100.00, current cost 60.00, standard cost 50.00 unless said.
const CASES: &[Case] = &[
    case(1, "73.45", None, "73.45"),
    // 100 × 87.5 %
    case(2, "87.5", None, "87.50"),
    // 60 × 1.25
    case(3, "25", None, "75.00"),
    // 60 / 0.75
    case(4, "25", None, "80.00"),
    // 50 × 1.33
    case(5, "33", None, "66.50"),
    // 50 / 0.7 = 71.4285…
    case(6, "30", None, "71.43"),
    // 10.01 × 50 % = 5.005: half away from zero.
    Case { list: "10.01", ..case(2, "50", None, "5.01") },
    // 19.99 × 1.15 = 22.9885
    Case { current: "19.99", ..case(3, "15", None, "22.99") },
    // Multiples of 5 around 87.
    case(2, "87", Some((UP, MULTIPLE_OF, "5")), "90.00"),
    case(2, "87", Some((DOWN, MULTIPLE_OF, "5")), "85.00"),
    case(2, "87", Some((NEAREST, MULTIPLE_OF, "5")), "85.00"),
    // 87.5 is as near 85 as 90: ties go up.
    case(2, "87.5", Some((NEAREST, MULTIPLE_OF, "5")), "90.00"),
    // Already a multiple.
    case(2, "85", Some((UP, MULTIPLE_OF, "5")), "85.00"),
    // Policy None leaves the price alone.
    case(2, "87.5", Some((1, MULTIPLE_OF, "5")), "87.50"),
    // 71.43 / 0.25 = 285.7 → 286 × 0.25
    case(6, "30", Some((NEAREST, MULTIPLE_OF, "0.25")), "71.50"),
    // Ends in .99 around 71.43.
    case(6, "30", Some((UP, ENDS_IN, "0.99")), "71.99"),
    case(6, "30", Some((DOWN, ENDS_IN, "0.99")), "70.99"),
    // 0.44 below against 0.56 above.
    case(6, "30", Some((NEAREST, ENDS_IN, "0.99")), "70.99"),
    // Ends in 9 around 87: 79 or 89.
    case(2, "87", Some((UP, ENDS_IN, "9")), "89.00"),
    case(2, "87", Some((DOWN, ENDS_IN, "9")), "79.00"),
    case(2, "87", Some((NEAREST, ENDS_IN, "9")), "89.00"),
    case(2, "83", Some((NEAREST, ENDS_IN, "9")), "79.00"),
    // 84 is 5 from 79 and from 89: ties go up.
    case(2, "84", Some((NEAREST, ENDS_IN, "9")), "89.00"),
    case(2, "89", Some((DOWN, ENDS_IN, "9")), "89.00"),
];

#[test]
fn pricing_methods_and_rounding() {
    each_server(|srv| {
        let tag = uid();
        let units = unit_group(srv, &tag);
        let base = base_currency(srv);
        let pl = price_list(srv, &format!("Pricing {tag}"), base);
        let customer = account(srv, &format!("Pricing {tag}"));

        // Every method and rounding rule, one product and one line each.
        let quote = document(srv, QUOTE, &format!("Methods {tag}"), customer, Some(pl));
        let mut sum = Decimal::ZERO;
        for (i, c) in CASES.iter().enumerate() {
            let p = product(
                srv,
                &units,
                &format!("Case {i} {tag}"),
                json!({ "price": n(c.list), "currentcost": n(c.current), "standardcost": n(c.standard) }),
            );
            let mut item = json!({ "pricingmethodcode": c.method });
            item[if c.method == 1 { "amount" } else { "percentage" }] = n(c.value);
            if let Some((policy, option, amount)) = c.rounding {
                item["roundingpolicycode"] = json!(policy);
                item["roundingoptioncode"] = json!(option);
                item["roundingoptionamount"] = n(amount);
            }
            price_item(srv, pl, p, units.pcs, item);
            let l = new_line(srv, QUOTE, quote, catalog_line(p, "1"));
            let v = srv.retrieve("quotedetails", l, "$select=priceperunit,baseamount,extendedamount");
            let want = d(c.expect);
            assert_eq!(
                money(&v, "priceperunit"),
                want,
                "case {i}: method {} {} on list {} / current {} / standard {}, rounding {:?}: {v}",
                c.method,
                c.value,
                c.list,
                c.current,
                c.standard,
                c.rounding
            );
            assert_money(&v, &[("baseamount", want), ("extendedamount", want)]);
            sum += want;
        }
        let untaxed = Totals {
            lines: sum,
            line_discounts: Decimal::ZERO,
            discount: Decimal::ZERO,
            less_freight: sum,
            tax: Decimal::ZERO,
            total: sum,
        };
        assert_totals(srv, QUOTE, quote, &untaxed);

        // Percentage volume discounts, units and line changes.
        let quote2 = document(srv, QUOTE, &format!("Volume {tag}"), customer, Some(pl));
        let pct_list = srv.create("discounttypes", &json!({ "name": format!("Pct {tag}"), "isamounttype": false }));
        srv.create(
            "discounts",
            &json!({ "discounttypeid@odata.bind": bind("discounttypes", pct_list),
                     "lowquantity": 5, "highquantity": 10, "percentage": n("7.5") }),
        );
        let vp = product(srv, &units, &format!("Volume {tag}"), json!({ "price": n("40.00") }));
        price_item(
            srv,
            pl,
            vp,
            units.pcs,
            json!({ "pricingmethodcode": 1, "amount": n("33.33"),
                    "discounttypeid@odata.bind": bind("discounttypes", pct_list) }),
        );
        // 33.33 × 7.5 % = 2.49975 → 2.50 a unit for 5 units; none for 4.
        let in_range = line("33.33", "5", "0", "2.50", Tax::None);
        assert_eq!(in_range.net, d("154.15"));
        let below = line("33.33", "4", "0", "0", Tax::None);
        let l_in = new_line(srv, QUOTE, quote2, catalog_line(vp, "5"));
        let l_below = new_line(srv, QUOTE, quote2, catalog_line(vp, "4"));
        assert_line(&srv.retrieve("quotedetails", l_in, ""), &in_range);
        assert_line(&srv.retrieve("quotedetails", l_below, ""), &below);
        // Priced per unit: a box and, without a unit, the product's default (pcs).
        let bp = product(srv, &units, &format!("Boxed {tag}"), json!({ "price": n("5.00") }));
        price_item(srv, pl, bp, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("4.50") }));
        price_item(srv, pl, bp, units.boxed, json!({ "pricingmethodcode": 1, "amount": n("50.00") }));
        let l_box = new_line(
            srv,
            QUOTE,
            quote2,
            json!({ "productid@odata.bind": bind("products", bp),
                    "uomid@odata.bind": bind("uoms", units.boxed), "quantity": 2 }),
        );
        let l_pcs = new_line(srv, QUOTE, quote2, catalog_line(bp, "3"));
        let boxes = line("50.00", "2", "0", "0", Tax::None);
        let pieces = line("4.50", "3", "0", "0", Tax::None);
        assert_line(&srv.retrieve("quotedetails", l_box, ""), &boxes);
        let pv = srv.retrieve("quotedetails", l_pcs, "");
        assert_line(&pv, &pieces);
        assert_eq!(pv["_uomid_value"], units.pcs.to_string());
        let t = totals_of(&[&in_range, &below, &boxes, &pieces], "0", "0", "0");
        assert_eq!((t.lines, t.line_discounts), (d("400.97"), d("12.50")));
        assert_totals(srv, QUOTE, quote2, &t);
        // Totals follow line updates and deletions.
        srv.patch(&format!("/quotedetails({l_box})"), &json!({ "quantity": 3 })).expect(204);
        let boxes = line("50.00", "3", "0", "0", Tax::None);
        assert_totals(srv, QUOTE, quote2, &totals_of(&[&in_range, &below, &boxes, &pieces], "0", "0", "0"));
        srv.delete(&format!("/quotedetails({l_pcs})")).expect(204);
        assert_totals(srv, QUOTE, quote2, &totals_of(&[&in_range, &below, &boxes], "0", "0", "0"));
        srv.patch(&format!("/quotedetails({l_box})"), &json!({ "manualdiscountamount": n("20.00") })).expect(204);
        let boxes = line("50.00", "3", "20.00", "0", Tax::None);
        let t = totals_of(&[&in_range, &below, &boxes], "0", "0", "0");
        assert_eq!((t.lines, t.line_discounts), (d("417.47"), d("32.50")));
        assert_totals(srv, QUOTE, quote2, &t);

        // Another price list reprices the lines.
        let pl_b = price_list(srv, &format!("Pricing B {tag}"), base);
        // Sold in whole units (no decimals).
        let x = product(srv, &units, &format!("Repriced {tag}"), json!({ "price": n("15.00"), "quantitydecimal": 0 }));
        price_item(srv, pl, x, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("10.00") }));
        price_item(srv, pl_b, x, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("12.00") }));
        let quote3 = document(srv, QUOTE, &format!("Reprice {tag}"), customer, Some(pl));
        let lx = new_line(srv, QUOTE, quote3, catalog_line(x, "2"));
        assert_line(&srv.retrieve("quotedetails", lx, ""), &line("10.00", "2", "0", "0", Tax::None));
        srv.patch(&format!("/quotes({quote3})"), &json!({ "pricelevelid@odata.bind": bind("pricelevels", pl_b) }))
            .expect(204);
        let on_b = line("12.00", "2", "0", "0", Tax::None);
        assert_line(&srv.retrieve("quotedetails", lx, ""), &on_b);
        assert_totals(srv, QUOTE, quote3, &totals_of(&[&on_b], "0", "0", "0"));

        // Lines the rules refuse; the quote and its lines stay as they were.
        let checked = document(srv, QUOTE, &format!("Checked {tag}"), customer, Some(pl));
        let whole = product(srv, &units, &format!("Whole {tag}"), json!({ "price": n("3.00"), "quantitydecimal": 2 }));
        price_item(
            srv,
            pl,
            whole,
            units.pcs,
            json!({ "pricingmethodcode": 1, "amount": n("3.00"), "quantitysellingcode": 2 }),
        );
        let fraction =
            product(srv, &units, &format!("Fraction {tag}"), json!({ "price": n("3.00"), "quantitydecimal": 2 }));
        price_item(
            srv,
            pl,
            fraction,
            units.pcs,
            json!({ "pricingmethodcode": 1, "amount": n("3.00"), "quantitysellingcode": 3 }),
        );
        let unlisted = product(srv, &units, &format!("Unlisted {tag}"), json!({ "price": n("3.00") }));
        let other_units = unit_group(srv, &format!("other {tag}"));
        let cols = "name,totalamount,totallineitemamount";
        let before = snapshot(srv, "quotes", checked, cols);
        let refused: Vec<(&str, Value)> = vec![
            (
                "a price without override",
                json!({ "productid@odata.bind": bind("products", x), "quantity": 1, "priceperunit": n("5.00") }),
            ),
            ("a product not in the list", catalog_line(unlisted, "1")),
            (
                "a unit outside the product's group",
                json!({ "productid@odata.bind": bind("products", x),
                        "uomid@odata.bind": bind("uoms", other_units.pcs), "quantity": 1 }),
            ),
            ("1.5 of a product without decimals", catalog_line(x, "1.5")),
            ("three decimals of a two-decimal product", catalog_line(fraction, "1.255")),
            ("1.5 of a product sold whole", catalog_line(whole, "1.5")),
            (
                "a manual discount above the base amount",
                json!({ "productid@odata.bind": bind("products", x),
                        "quantity": 1, "manualdiscountamount": n("10.01") }),
            ),
        ];
        for (what, body) in refused {
            let r = add_line(srv, QUOTE, checked, body);
            assert_eq!(r.status, 400, "{what}: {} {}", r.status, r.text());
            r.expect_error(400);
            assert_unchanged(srv, "quotes", checked, cols, &before, what);
            assert!(lines_of(srv, QUOTE, checked).is_empty(), "{what} left a line");
        }
        new_line(srv, QUOTE, checked, catalog_line(fraction, "1.25"));
        new_line(srv, QUOTE, checked, catalog_line(fraction, "1.5"));
        new_line(srv, QUOTE, checked, catalog_line(whole, "2"));
        // A document without a price list takes write-ins only.
        let no_list = document(srv, QUOTE, &format!("No list {tag}"), customer, None);
        add_line(srv, QUOTE, no_list, catalog_line(x, "1")).expect_error(400);
        assert!(lines_of(srv, QUOTE, no_list).is_empty());
        new_line(
            srv,
            QUOTE,
            no_list,
            json!({ "isproductoverridden": true, "productdescription": "Anything",
                    "priceperunit": n("7.00"), "quantity": 1 }),
        );

        // The catalog's own rules.
        let number = format!("PN-{}", uid());
        let first = json!({
            "name": format!("Numbered {tag}"), "productnumber": number,
            "defaultuomscheduleid@odata.bind": bind("uomschedules", units.schedule),
            "defaultuomid@odata.bind": bind("uoms", units.pcs),
        });
        srv.create("products", &first);
        let m = srv.post("/products", &first).expect_error(412);
        assert!(m.contains(&number), "the duplicate product number is named: {m}");
        let m = price_item_req(srv, pl, x, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("9.00") }))
            .expect_error(412);
        assert!(!m.is_empty());
        let fresh = product(srv, &units, &format!("Fresh {tag}"), json!({ "price": n("9.00") }));
        price_item_req(srv, pl, fresh, units.pcs, json!({ "pricingmethodcode": 1 })).expect_error(400);
        price_item_req(srv, pl, fresh, units.pcs, json!({ "pricingmethodcode": 2 })).expect_error(400);
        price_item_req(srv, pl, fresh, units.pcs, json!({ "pricingmethodcode": 2, "amount": n("9.00") }))
            .expect_error(400);
        // (Its list price is an item of the default price list, not of this one.)
        assert!(rows(
            srv,
            "productpricelevels",
            &format!("_productid_value eq {fresh} and _pricelevelid_value eq {pl}")
        )
        .is_empty());

        // Locked prices stay through order and invoice; unlocking reprices.
        let y = product(srv, &units, &format!("Locked {tag}"), json!({ "price": n("15.00") }));
        let y_item = price_item(srv, pl, y, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("10.00") }));
        let quote4 = document(srv, QUOTE, &format!("Lock {tag}"), customer, Some(pl));
        new_line(srv, QUOTE, quote4, catalog_line(y, "2"));
        activate_quote(srv, quote4);
        let order = id_of(&convert_quote(srv, quote4), "salesorderid");
        assert_eq!(state_of(srv, "quotes", quote4), (2, 4), "converting an active quote wins it");
        srv.patch(&format!("/productpricelevels({y_item})"), &json!({ "amount": n("11.00") })).expect(204);
        let at_10 = line("10.00", "2", "0", "0", Tax::None);
        assert_line(&lines_of(srv, ORDER, order)[0], &at_10);
        // A locked order keeps its prices on another list too.
        price_item(srv, pl_b, y, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("13.00") }));
        srv.patch(&format!("/salesorders({order})"), &json!({ "pricelevelid@odata.bind": bind("pricelevels", pl_b) }))
            .expect(204);
        assert_line(&lines_of(srv, ORDER, order)[0], &at_10);
        let r = convert_order(srv, order);
        r.expect(200);
        let invoice = id_of(&r.json(), "invoiceid");
        assert_line(&lines_of(srv, INVOICE, invoice)[0], &at_10);
        assert_totals(srv, INVOICE, invoice, &totals_of(&[&at_10], "0", "0", "0"));
        let r = srv.post("/UnlockInvoicePricing", &json!({ "InvoiceId": invoice }));
        assert!(r.status == 200 || r.status == 204, "UnlockInvoicePricing: {} {}", r.status, r.text());
        // The invoice took the order's list, where the product is 13.00.
        let at_13 = line("13.00", "2", "0", "0", Tax::None);
        assert_line(&lines_of(srv, INVOICE, invoice)[0], &at_13);
        assert_totals(srv, INVOICE, invoice, &totals_of(&[&at_13], "0", "0", "0"));
        assert_eq!(srv.retrieve("invoices", invoice, "$select=ispricelocked")["ispricelocked"], false);
    });
}

// ---------------------------------------------------------------------------
// 3. Illegal transitions

#[test]
fn illegal_transitions_are_refused() {
    each_server(|srv| {
        let tag = uid();
        let fx = fixture(srv, &tag);

        // An active quote is read-only, its lines too.
        let (quote, qline) = doc_with_line(srv, &fx, QUOTE, &format!("Active {tag}"), "2");
        activate_quote(srv, quote);
        let qcols = "name,statecode,statuscode,totalamount";
        let lcols = "quantity,extendedamount";
        let before = snapshot(srv, "quotes", quote, qcols);
        let line_before = snapshot(srv, "quotedetails", qline, lcols);
        srv.patch(&format!("/quotes({quote})"), &json!({ "name": "Renamed" })).expect_error(400);
        add_line(srv, QUOTE, quote, catalog_line(fx.item, "1")).expect_error(400);
        srv.patch(&format!("/quotedetails({qline})"), &json!({ "quantity": 5 })).expect_error(400);
        srv.delete(&format!("/quotedetails({qline})")).expect_error(400);
        assert_unchanged(srv, "quotes", quote, qcols, &before, "change to an active quote");
        assert_unchanged(srv, "quotedetails", qline, lcols, &line_before, "change to an active quote's line");
        assert_eq!(lines_of(srv, QUOTE, quote).len(), 1);

        // Totals are computed; a draft cannot be won.
        let (draft, _) = doc_with_line(srv, &fx, QUOTE, &format!("Draft {tag}"), "1");
        let before = snapshot(srv, "quotes", draft, qcols);
        srv.patch(&format!("/quotes({draft})"), &json!({ "totalamount": n("1.00") })).expect_error(400);
        win_quote(srv, draft).expect_error(400);
        assert_unchanged(srv, "quotes", draft, qcols, &before, "total or win on a draft");
        // A closed quote cannot be won either.
        activate_quote(srv, draft);
        srv.post(
            "/CloseQuote",
            &json!({ "QuoteClose": { "subject": "Canceled", "quoteid@odata.bind": bind("quotes", draft) },
                     "Status": 6 }),
        )
        .expect(204);
        assert_eq!(state_of(srv, "quotes", draft), (3, 6));
        let before = snapshot(srv, "quotes", draft, qcols);
        win_quote(srv, draft).expect_error(400);
        assert_unchanged(srv, "quotes", draft, qcols, &before, "win of a closed quote");
        let (lost, _) = doc_with_line(srv, &fx, QUOTE, &format!("Lost {tag}"), "1");
        activate_quote(srv, lost);
        srv.post(
            "/CloseQuote",
            &json!({ "QuoteClose": { "subject": "Lost", "quoteid@odata.bind": bind("quotes", lost) }, "Status": 5 }),
        )
        .expect(204);
        assert_eq!(state_of(srv, "quotes", lost), (3, 5));

        // Opportunities: computed revenue, states only through the actions.
        let opp = document(srv, OPPORTUNITY, &format!("Opp {tag}"), fx.customer, Some(fx.pl));
        srv.patch(&format!("/opportunities({opp})"), &json!({ "isrevenuesystemcalculated": true })).expect(204);
        new_line(srv, OPPORTUNITY, opp, catalog_line(fx.item, "1"));
        // 10.00 + 10 % tax.
        let ocols = "name,statecode,statuscode,estimatedvalue,closeprobability";
        let before = snapshot(srv, "opportunities", opp, ocols);
        assert_eq!(money(&before, "estimatedvalue"), d("11.00"));
        srv.patch(&format!("/opportunities({opp})"), &json!({ "estimatedvalue": n("99.00") })).expect_error(400);
        srv.patch(&format!("/opportunities({opp})"), &json!({ "statecode": 1, "statuscode": 3 })).expect_error(400);
        srv.patch(&format!("/opportunities({opp})"), &json!({ "statecode": 1 })).expect_error(400);
        assert_unchanged(srv, "opportunities", opp, ocols, &before, "revenue or state change");
        win_opportunity(srv, opp, json!({})).expect(204);
        let before = snapshot(srv, "opportunities", opp, ocols);
        win_opportunity(srv, opp, json!({})).expect_error(400);
        lose_opportunity(srv, opp, 4).expect_error(400);
        assert_unchanged(srv, "opportunities", opp, ocols, &before, "close of a closed opportunity");
        assert_eq!(rows(srv, "opportunitycloses", &format!("_opportunityid_value eq {opp}")).len(), 1);

        // Leads: qualified once, and only through QualifyLead.
        let company = format!("Illegal Co {tag}");
        let lead = srv
            .create("leads", &json!({ "subject": "Once", "lastname": format!("Once {tag}"), "companyname": company }));
        qualify(srv, lead, json!({})).expect(200);
        let lead_cols = "subject,statecode,statuscode,_qualifyingopportunityid_value";
        let before = snapshot(srv, "leads", lead, lead_cols);
        qualify(srv, lead, json!({})).expect_error(400);
        assert_unchanged(srv, "leads", lead, lead_cols, &before, "second qualification");
        assert_eq!(rows(srv, "accounts", &format!("name eq '{company}'")).len(), 1);
        let open_lead = srv.create("leads", &json!({ "subject": "Direct", "lastname": format!("Direct {tag}") }));
        let before = snapshot(srv, "leads", open_lead, lead_cols);
        srv.patch(&format!("/leads({open_lead})"), &json!({ "statecode": 1, "statuscode": 3 })).expect_error(400);
        assert_unchanged(srv, "leads", open_lead, lead_cols, &before, "direct qualification");

        // A document with lines keeps its currency.
        let other = new_currency(srv, "XTA", "2");
        let other_pl = price_list(srv, &format!("Other currency {tag}"), other);
        let (priced, _) = doc_with_line(srv, &fx, QUOTE, &format!("Currency {tag}"), "1");
        let ccols = "name,_transactioncurrencyid_value,_pricelevelid_value,totalamount";
        let before = snapshot(srv, "quotes", priced, ccols);
        srv.patch(
            &format!("/quotes({priced})"),
            &json!({ "transactioncurrencyid@odata.bind": bind("transactioncurrencies", other) }),
        )
        .expect_error(400);
        srv.patch(&format!("/quotes({priced})"), &json!({ "pricelevelid@odata.bind": bind("pricelevels", other_pl) }))
            .expect_error(400);
        assert_unchanged(srv, "quotes", priced, ccols, &before, "currency change with lines");
        // Without lines the currency follows the price list.
        let empty = document(srv, QUOTE, &format!("Empty {tag}"), fx.customer, Some(fx.pl));
        srv.patch(&format!("/quotes({empty})"), &json!({ "pricelevelid@odata.bind": bind("pricelevels", other_pl) }))
            .expect(204);
        let v = srv.retrieve("quotes", empty, "$select=_transactioncurrencyid_value");
        assert_eq!(v["_transactioncurrencyid_value"], other.to_string());

        // A submitted order is read-only; a canceled one cannot be invoiced.
        let (submitted, _) = doc_with_line(srv, &fx, ORDER, &format!("Submitted {tag}"), "1");
        srv.patch(&format!("/salesorders({submitted})"), &json!({ "statecode": 1 })).expect(204);
        let ordcols = "name,statecode,statuscode,totalamount";
        let before = snapshot(srv, "salesorders", submitted, ordcols);
        srv.patch(&format!("/salesorders({submitted})"), &json!({ "name": "Renamed" })).expect_error(400);
        assert_unchanged(srv, "salesorders", submitted, ordcols, &before, "change to a submitted order");
        order_close(srv, "FulfillSalesOrder", submitted, 100001).expect(204);
        assert_eq!(state_of(srv, "salesorders", submitted).0, 3, "fulfilled");
        let (canceled, _) = doc_with_line(srv, &fx, ORDER, &format!("Canceled {tag}"), "1");
        order_close(srv, "CancelSalesOrder", canceled, 4).expect(204);
        assert_eq!(state_of(srv, "salesorders", canceled).0, 2, "canceled");
        let before = snapshot(srv, "salesorders", canceled, ordcols);
        convert_order(srv, canceled).expect_error(400);
        assert_unchanged(srv, "salesorders", canceled, ordcols, &before, "invoicing a canceled order");
        assert!(rows(srv, "invoices", &format!("_salesorderid_value eq {canceled}")).is_empty());

        // A canceled invoice takes no payment.
        let (inv, _) = doc_with_line(srv, &fx, INVOICE, &format!("Canceled invoice {tag}"), "1");
        srv.patch(&format!("/invoices({inv})"), &json!({ "statecode": 3, "statuscode": 100003 })).expect(204);
        let icols = "name,statecode,statuscode,totalamount,relata_amountpaid";
        let before = snapshot(srv, "invoices", inv, icols);
        pay(srv, inv, "1.00").expect_error(400);
        assert_unchanged(srv, "invoices", inv, icols, &before, "payment of a canceled invoice");
        assert!(payments_of(srv, inv).is_empty());
    });
}

// ---------------------------------------------------------------------------
// 4. Leads

#[test]
fn lead_lifecycle_and_duplicates() {
    each_server(|srv| {
        let tag = uid();
        let company = format!("Lead Co {tag}");
        let new_lead = |who: &str| {
            srv.create(
                "leads",
                &json!({
                    "subject": format!("{who} deal {tag}"), "firstname": who, "lastname": format!("{who} {tag}"),
                    "companyname": company, "emailaddress1": format!("{}.{tag}@example.com", who.to_lowercase()),
                    "telephone1": format!("+1 555 {}", u32::from(who.as_bytes()[0])),
                }),
            )
        };
        let accounts_named = || rows(srv, "accounts", &format!("name eq '{company}'"));

        let first = new_lead("Ann");
        let r = qualify(srv, first, json!({}));
        r.expect(200);
        let v = r.json();
        assert_eq!(v["value"].as_array().map(Vec::len), Some(3), "{v}");
        let acc = created(&v, "account").expect("an account");
        let contact = created(&v, "contact").expect("a contact");
        let opp = created(&v, "opportunity").expect("an opportunity");
        let a = srv.retrieve("accounts", acc, "$select=name,emailaddress1,telephone1,_originatingleadid_value");
        assert_eq!(a["name"], company.as_str());
        assert_eq!(a["emailaddress1"], format!("ann.{tag}@example.com"));
        assert_eq!(a["telephone1"], "+1 555 65");
        assert_eq!(a["_originatingleadid_value"], first.to_string());
        let c = srv.retrieve(
            "contacts",
            contact,
            "$select=firstname,lastname,emailaddress1,telephone1,_originatingleadid_value",
        );
        assert_eq!(
            (c["firstname"].as_str(), c["lastname"].as_str()),
            (Some("Ann"), Some(format!("Ann {tag}").as_str()))
        );
        assert_eq!(c["emailaddress1"], format!("ann.{tag}@example.com"));
        assert_eq!(c["telephone1"], "+1 555 65");
        assert_eq!(c["_originatingleadid_value"], first.to_string());
        let o = srv.retrieve(
            "opportunities",
            opp,
            "$select=name,_customerid_value,_parentcontactid_value,_originatingleadid_value,statecode",
        );
        assert_eq!(o["name"], format!("Ann deal {tag}"));
        assert_eq!(o["_customerid_value"], acc.to_string());
        assert_eq!(o["_parentcontactid_value"], contact.to_string());
        assert_eq!(o["_originatingleadid_value"], first.to_string());
        assert_eq!(o["statecode"], 0);
        let l = srv.retrieve("leads", first, "$select=statecode,statuscode,_qualifyingopportunityid_value");
        assert_eq!(state(&l), (1, 3));
        assert_eq!(l["_qualifyingopportunityid_value"], opp.to_string());
        // Once only.
        let cols = "subject,statecode,statuscode,_qualifyingopportunityid_value";
        let before = snapshot(srv, "leads", first, cols);
        qualify(srv, first, json!({})).expect_error(400);
        assert_unchanged(srv, "leads", first, cols, &before, "second qualification");

        // The same company again: refused, naming the duplicate.
        let second = new_lead("Bob");
        let before = snapshot(srv, "leads", second, cols);
        let m = qualify(srv, second, json!({})).expect_error(412);
        assert!(m.contains(&company), "the duplicate is named: {m}");
        assert_unchanged(srv, "leads", second, cols, &before, "duplicate qualification");
        assert_eq!(accounts_named().len(), 1);
        for set in ["contacts", "opportunities"] {
            assert!(
                rows(srv, set, &format!("_originatingleadid_value eq {second}")).is_empty(),
                "no {set} left behind"
            );
        }
        // … linked to the existing account.
        let r = qualify(srv, second, json!({ "LinkExisting": true }));
        r.expect(200);
        let v = r.json();
        assert_eq!(created(&v, "account"), None, "the existing account is not in the answer: {v}");
        let opp2 = created(&v, "opportunity").expect("an opportunity");
        assert!(created(&v, "contact").is_some(), "{v}");
        let o2 = srv.retrieve("opportunities", opp2, "$select=_customerid_value");
        assert_eq!(o2["_customerid_value"], acc.to_string());
        assert_eq!(state_of(srv, "leads", second), (1, 3));
        assert_eq!(accounts_named().len(), 1);
        // … or another account, when asked.
        let third = new_lead("Cyd");
        let r = qualify(srv, third, json!({ "SuppressDuplicateDetection": true }));
        r.expect(200);
        let acc3 = created(&r.json(), "account").expect("a second account");
        assert_ne!(acc3, acc);
        assert_eq!(accounts_named().len(), 2);

        // Only an opportunity, for a customer and in a currency given.
        let solo = srv.create(
            "leads",
            &json!({ "subject": format!("Solo deal {tag}"), "lastname": format!("Solo {tag}"),
                     "companyname": format!("Solo Co {tag}") }),
        );
        let currency = base_currency(srv);
        let r = qualify(
            srv,
            solo,
            json!({
                "CreateAccount": false, "CreateContact": false,
                "OpportunityCustomerId": { "@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": acc },
                "OpportunityCurrencyId": {
                    "@odata.type": "Microsoft.Dynamics.CRM.transactioncurrency", "transactioncurrencyid": currency,
                },
            }),
        );
        r.expect(200);
        let v = r.json();
        assert_eq!((created(&v, "account"), created(&v, "contact")), (None, None), "{v}");
        let solo_opp = created(&v, "opportunity").expect("an opportunity");
        let o = srv.retrieve("opportunities", solo_opp, "$select=name,_customerid_value,_transactioncurrencyid_value");
        assert_eq!(o["name"], format!("Solo deal {tag}"));
        assert_eq!(o["_customerid_value"], acc.to_string());
        assert_eq!(o["_transactioncurrencyid_value"], currency.to_string());
        assert!(rows(srv, "accounts", &format!("name eq 'Solo Co {tag}'")).is_empty());
        assert_eq!(state_of(srv, "leads", solo), (1, 3));

        // Disqualified leads are read-only until reactivated.
        let lost = srv.create("leads", &json!({ "subject": "Maybe", "lastname": format!("Dee {tag}") }));
        srv.patch(&format!("/leads({lost})"), &json!({ "statecode": 2, "statuscode": 6 })).expect(204);
        assert_eq!(state_of(srv, "leads", lost), (2, 6));
        let before = snapshot(srv, "leads", lost, cols);
        srv.patch(&format!("/leads({lost})"), &json!({ "subject": "Changed" })).expect_error(400);
        assert_unchanged(srv, "leads", lost, cols, &before, "change to a disqualified lead");
        srv.patch(&format!("/leads({lost})"), &json!({ "statecode": 0, "statuscode": 1 })).expect(204);
        assert_eq!(state_of(srv, "leads", lost), (0, 1));
        srv.patch(&format!("/leads({lost})"), &json!({ "subject": "Changed" })).expect(204);
        // Qualified only through QualifyLead.
        let before = snapshot(srv, "leads", lost, cols);
        srv.patch(&format!("/leads({lost})"), &json!({ "statecode": 1, "statuscode": 3 })).expect_error(400);
        srv.patch(&format!("/leads({lost})"), &json!({ "statecode": 1 })).expect_error(400);
        assert_unchanged(srv, "leads", lost, cols, &before, "direct qualification");

        // Deleting a lead deletes what is regarding it.
        let gone = srv.create("leads", &json!({ "subject": "Gone", "lastname": format!("Gone {tag}") }));
        let task = srv.create(
            "tasks",
            &json!({ "subject": "Call back", "regardingobjectid_lead_task@odata.bind": bind("leads", gone) }),
        );
        let note = srv.create(
            "annotations",
            &json!({ "subject": "Note", "notetext": "Met at the fair",
                     "objectid_lead@odata.bind": bind("leads", gone) }),
        );
        srv.delete(&format!("/leads({gone})")).expect(204);
        srv.get(&format!("/tasks({task})")).expect_error(404);
        srv.get(&format!("/annotations({note})")).expect_error(404);
    });
}

// ---------------------------------------------------------------------------
// 5. Opportunities

#[test]
fn opportunity_win_lose_reopen_and_stages() {
    each_server(|srv| {
        let tag = uid();
        let customer = account(srv, &format!("Opp customer {tag}"));
        let opp = srv.create(
            "opportunities",
            &json!({
                "name": format!("Stages {tag}"), "customerid_account@odata.bind": bind("accounts", customer),
                "isrevenuesystemcalculated": false, "estimatedvalue": n("2500.00"),
            }),
        );
        let path = format!("/opportunities({opp})");
        let v = srv.retrieve("opportunities", opp, "$select=processid,stageid,salesstage,stepname,closeprobability");
        let process = id_of(&v, "processid");
        let stage = id_of(&v, "stageid");
        srv.retrieve("workflows", process, "$select=name");
        srv.retrieve("processstages", stage, "$select=processstageid");
        assert_eq!((v["salesstage"].as_i64(), v["stepname"].as_str()), (Some(0), Some("Qualify")), "{v}");
        assert_eq!(v["closeprobability"], 10, "{v}");
        for (stage, name, probability) in [(1, "Develop", 40), (2, "Propose", 70), (3, "Close", 90), (0, "Qualify", 10)]
        {
            srv.patch(&path, &json!({ "salesstage": stage })).expect(204);
            let v = srv.retrieve("opportunities", opp, "$select=salesstage,stepname,closeprobability");
            assert_eq!(v["stepname"], name, "{v}");
            assert_eq!(v["closeprobability"], probability, "{v}");
        }

        let competitor = srv.create("competitors", &json!({ "name": format!("Rival {tag}") }));
        srv.post(
            &format!("{path}/opportunitycompetitors_association/$ref"),
            &json!({ "@odata.id": format!("{}/competitors({competitor})", srv.api) }),
        )
        .expect(204);
        let rivals = srv.get(&format!("{path}/opportunitycompetitors_association?$select=name")).rows();
        assert_eq!(rivals.len(), 1);
        assert_eq!(rivals[0]["name"], format!("Rival {tag}"));

        // Win with a revenue of its own.
        win_opportunity(srv, opp, json!({ "actualrevenue": n("2400.50"), "actualend": "2026-12-01" })).expect(204);
        let v = srv.retrieve("opportunities", opp, "$select=statecode,statuscode,actualvalue,closeprobability");
        assert_eq!(state(&v), (1, 3));
        assert_eq!(money(&v, "actualvalue"), d("2400.50"));
        assert_eq!(v["closeprobability"], 100);
        let closes = rows(srv, "opportunitycloses", &format!("_opportunityid_value eq {opp}"));
        assert_eq!(closes.len(), 1, "{closes:?}");
        assert_eq!(closes[0]["statecode"], 1, "the close activity is completed: {:?}", closes[0]);
        // Closed: read-only, no second win, no direct state.
        let cols = "name,statecode,statuscode,actualvalue,closeprobability";
        let before = snapshot(srv, "opportunities", opp, cols);
        srv.patch(&path, &json!({ "name": "Renamed" })).expect_error(400);
        win_opportunity(srv, opp, json!({})).expect_error(400);
        assert_unchanged(srv, "opportunities", opp, cols, &before, "change to a won opportunity");
        assert_eq!(rows(srv, "opportunitycloses", &format!("_opportunityid_value eq {opp}")).len(), 1);

        // Reopen, then lose twice with each reason.
        srv.patch(&path, &json!({ "statecode": 0, "statuscode": 1 })).expect(204);
        assert_eq!(state_of(srv, "opportunities", opp), (0, 1));
        srv.patch(&path, &json!({ "name": format!("Reopened {tag}") })).expect(204);
        for status in [4, 5] {
            lose_opportunity(srv, opp, status).expect(204);
            let v = srv.retrieve("opportunities", opp, "$select=statecode,statuscode,closeprobability");
            assert_eq!(state(&v), (2, status));
            assert_eq!(v["closeprobability"], 0);
            let before = snapshot(srv, "opportunities", opp, cols);
            srv.patch(&path, &json!({ "name": "Renamed" })).expect_error(400);
            assert_unchanged(srv, "opportunities", opp, cols, &before, "change to a lost opportunity");
            srv.patch(&path, &json!({ "statecode": 0, "statuscode": 1 })).expect(204);
        }
        // Open: closing only through the actions.
        let before = snapshot(srv, "opportunities", opp, cols);
        srv.patch(&path, &json!({ "statecode": 1, "statuscode": 3 })).expect_error(400);
        srv.patch(&path, &json!({ "statecode": 2, "statuscode": 4 })).expect_error(400);
        assert_unchanged(srv, "opportunities", opp, cols, &before, "direct close");
        // Without an actual revenue, the estimate is taken.
        win_opportunity(srv, opp, json!({})).expect(204);
        let v = srv.retrieve("opportunities", opp, "$select=statecode,statuscode,actualvalue");
        assert_eq!(state(&v), (1, 3));
        assert_eq!(money(&v, "actualvalue"), d("2500.00"));
    });
}

// ---------------------------------------------------------------------------
// 6. Payments

#[test]
fn invoice_payments() {
    each_server(|srv| {
        let tag = uid();
        let fx = fixture(srv, &tag);
        // 10 × 10.00 + 10 % tax.
        let (inv, _) = doc_with_line(srv, &fx, INVOICE, &format!("Paid {tag}"), "10");
        let l = line("10.00", "10", "0", "0", Tax::Rate("10"));
        let t = totals_of(&[&l], "0", "0", "0");
        assert_eq!(t.total, d("110.00"));
        assert_totals(srv, INVOICE, inv, &t);
        assert_eq!(state_of(srv, "invoices", inv).0, 0);

        let first = pay(srv, inv, "30.00");
        first.expect(204);
        let first = first.entity_id();
        assert_paid(srv, inv, d("30.00"), d("80.00"), (2, 100002));
        // More than is due.
        let cols = "name,statecode,statuscode,relata_amountpaid,relata_amountdue";
        let before = snapshot(srv, "invoices", inv, cols);
        pay(srv, inv, "80.01").expect_error(400);
        assert_unchanged(srv, "invoices", inv, cols, &before, "overpayment");
        assert_eq!(payments_of(srv, inv).len(), 1);
        // Deleting the only payment makes the invoice active again.
        srv.delete(&format!("/relata_payments({first})")).expect(204);
        assert_paid(srv, inv, d("0"), d("110.00"), (0, state_of(srv, "invoices", inv).1));
        pay(srv, inv, "30.00").expect(204);
        pay(srv, inv, "20.00").expect(204);
        assert_paid(srv, inv, d("50.00"), d("60.00"), (2, 100002));
        // Marking it paid records the remaining 60.00 as paid today.
        srv.patch(&format!("/invoices({inv})"), &json!({ "statecode": 2, "statuscode": 100001 })).expect(204);
        assert_paid(srv, inv, d("110.00"), d("0"), (2, 100001));
        let ps = payments_of(srv, inv);
        assert_eq!(ps.len(), 3, "{ps:?}");
        assert_eq!(ps.iter().map(|p| money(p, "relata_amount")).sum::<Decimal>(), d("110.00"));
        let rest: Vec<&Value> = ps.iter().filter(|p| money(p, "relata_amount") == d("60.00")).collect();
        assert_eq!(rest.len(), 1, "{ps:?}");
        let paid_on = rest[0]["relata_paidon"].as_str().unwrap_or_default();
        // Today, whatever the server's time zone.
        let near_today: Vec<String> = (-1..=1).map(utc_date).collect();
        assert!(
            near_today.iter().any(|day| paid_on.starts_with(day.as_str())),
            "{paid_on} is not today: {near_today:?}"
        );
        // Paid in full: read-only.
        let before = snapshot(srv, "invoices", inv, cols);
        srv.patch(&format!("/invoices({inv})"), &json!({ "name": "Renamed" })).expect_error(400);
        pay(srv, inv, "1.00").expect_error(400);
        assert_unchanged(srv, "invoices", inv, cols, &before, "change to a paid invoice");
        assert_eq!(payments_of(srv, inv).len(), 3);

        // An invoice with payments cannot be canceled.
        let (partial, _) = doc_with_line(srv, &fx, INVOICE, &format!("Partial {tag}"), "2");
        pay(srv, partial, "5.00").expect(204);
        // 2 × 10.00 + 2.00 tax − 5.00
        assert_paid(srv, partial, d("5.00"), d("17.00"), (2, 100002));
        let before = snapshot(srv, "invoices", partial, cols);
        srv.patch(&format!("/invoices({partial})"), &json!({ "statecode": 3, "statuscode": 100003 })).expect_error(400);
        assert_unchanged(srv, "invoices", partial, cols, &before, "cancel with payments");
        // An unpaid one can, and then takes no payment.
        let (unpaid, _) = doc_with_line(srv, &fx, INVOICE, &format!("Unpaid {tag}"), "1");
        srv.patch(&format!("/invoices({unpaid})"), &json!({ "statecode": 3, "statuscode": 100003 })).expect(204);
        assert_eq!(state_of(srv, "invoices", unpaid), (3, 100003));
        pay(srv, unpaid, "1.00").expect_error(400);
        assert!(payments_of(srv, unpaid).is_empty());
    });
}

/// The UTC date `offset` days from today, `YYYY-MM-DD`.
fn utc_date(offset: i64) -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    // Days to civil date (proleptic Gregorian).
    let z = secs.div_euclid(86_400) + offset + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

// ---------------------------------------------------------------------------
// 7. Currencies

#[test]
fn multi_currency_totals_and_base_amounts() {
    each_server(|srv| {
        let tag = uid();
        let units = unit_group(srv, &tag);
        let cur = new_currency(srv, "XTB", "2.5");
        let pl = price_list(srv, &format!("Foreign {tag}"), cur);
        let a = product(
            srv,
            &units,
            &format!("Foreign A {tag}"),
            json!({ "price": n("120.00"), "relata_taxrate": n("7") }),
        );
        price_item(srv, pl, a, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("99.99") }));
        // A product priced in the list's currency: 50 % of its 200.00.
        let b = product(
            srv,
            &units,
            &format!("Foreign B {tag}"),
            json!({ "price": n("200.00"), "relata_taxrate": n("5"),
                    "transactioncurrencyid@odata.bind": bind("transactioncurrencies", cur) }),
        );
        price_item(srv, pl, b, units.pcs, json!({ "pricingmethodcode": 2, "percentage": n("50") }));
        let customer = account(srv, &format!("Foreign customer {tag}"));
        let quote = document(srv, QUOTE, &format!("Foreign {tag}"), customer, Some(pl));
        let v = srv.retrieve("quotes", quote, "$select=_transactioncurrencyid_value,exchangerate");
        assert_eq!(v["_transactioncurrencyid_value"], cur.to_string(), "the currency follows the price list");
        assert_eq!(money(&v, "exchangerate"), d("2.5"));

        let la = new_line(
            srv,
            QUOTE,
            quote,
            json!({ "productid@odata.bind": bind("products", a), "quantity": 3, "manualdiscountamount": n("9.97") }),
        );
        let lb = new_line(srv, QUOTE, quote, catalog_line(b, "1"));
        srv.patch(
            &format!("/quotes({quote})"),
            &json!({ "discountpercentage": n("10"), "discountamount": n("5.00"), "freightamount": n("12.34") }),
        )
        .expect(204);
        // 3 × 99.99 = 299.97 − 9.97 = 290.00, tax 20.30; 100.00, tax 5.00.
        let ea = line("99.99", "3", "9.97", "0", Tax::Rate("7"));
        let eb = line("100.00", "1", "0", "0", Tax::Rate("5"));
        let t = totals_of(&[&ea, &eb], "10", "5.00", "12.34");
        // 390.00 − (39.00 + 5.00) + 12.34 + 25.30
        assert_eq!(t.total, d("383.64"));
        assert_totals(srv, QUOTE, quote, &t);

        // Every money column's base twin is the value / 2.5, to four places.
        let base = |x: Decimal| round(x / d("2.5"), 4);
        let va = srv.retrieve("quotedetails", la, "");
        assert_line(&va, &ea);
        assert_money(
            &va,
            &[
                ("priceperunit_base", base(ea.price)),
                ("baseamount_base", base(ea.base)),
                ("manualdiscountamount_base", base(ea.manual)),
                ("tax_base", base(ea.tax)),
                ("extendedamount_base", base(ea.extended)),
            ],
        );
        assert_eq!(base(ea.price), d("39.996"));
        let vb = srv.retrieve("quotedetails", lb, "");
        assert_line(&vb, &eb);
        assert_money(&vb, &[("priceperunit_base", d("40.00")), ("extendedamount_base", d("42.00"))]);
        let header = |k: Kind, id: Uuid| {
            let v = srv.retrieve(
                k.set,
                id,
                &format!(
                    "$select={TOTAL_COLS},totalamount_base,totallineitemamount_base,totallineitemdiscountamount_base,\
                     totaldiscountamount_base,totalamountlessfreight_base,totaltax_base,freightamount_base,\
                     discountamount_base,_transactioncurrencyid_value,exchangerate"
                ),
            );
            assert_eq!(v["_transactioncurrencyid_value"], cur.to_string(), "{v}");
            assert_money(
                &v,
                &[
                    ("totalamount_base", base(t.total)),
                    ("totallineitemamount_base", base(t.lines)),
                    ("totallineitemdiscountamount_base", base(t.line_discounts)),
                    ("totaldiscountamount_base", base(t.discount)),
                    ("totalamountlessfreight_base", base(t.less_freight)),
                    ("totaltax_base", base(t.tax)),
                    ("freightamount_base", d("4.936")),
                    ("discountamount_base", d("2.00")),
                ],
            );
            assert_eq!(base(t.total), d("153.456"));
        };
        header(QUOTE, quote);

        // The order carries the currency and the amounts.
        activate_quote(srv, quote);
        let order = id_of(&convert_quote(srv, quote), "salesorderid");
        assert_totals(srv, ORDER, order, &t);
        header(ORDER, order);

        // A base-currency document's base amounts equal its amounts.
        let fx = fixture(srv, &format!("base {tag}"));
        let (home, _) = doc_with_line(srv, &fx, QUOTE, &format!("Home {tag}"), "3");
        let v = srv.retrieve("quotes", home, "$select=totalamount,totalamount_base");
        assert_eq!(money(&v, "totalamount"), d("33.00"));
        assert_eq!(money(&v, "totalamount_base"), d("33.00"));

        // A rate of 3: base amounts are rounded to four places, half away from zero.
        let thirds = new_currency(srv, "XTD", "3");
        let pl3 = price_list(srv, &format!("Thirds {tag}"), thirds);
        price_item(srv, pl3, a, units.pcs, json!({ "pricingmethodcode": 1, "amount": n("10.00") }));
        let q3 = document(srv, QUOTE, &format!("Thirds {tag}"), customer, Some(pl3));
        let l3 = new_line(
            srv,
            QUOTE,
            q3,
            json!({ "productid@odata.bind": bind("products", a), "quantity": 2, "tax": n("0") }),
        );
        // 10.00 / 3 = 3.3333…; 20.00 / 3 = 6.6666… → 6.6667.
        assert_money(
            &srv.retrieve("quotedetails", l3, ""),
            &[
                ("priceperunit_base", d("3.3333")),
                ("baseamount_base", d("6.6667")),
                ("extendedamount_base", d("6.6667")),
            ],
        );
        assert_money(
            &srv.retrieve("quotes", q3, "$select=totalamount,totalamount_base"),
            &[("totalamount", d("20.00")), ("totalamount_base", d("6.6667"))],
        );
    });
}

// ---------------------------------------------------------------------------
// 8. Printing

/// Standard base64 (the answer's PdfFile).
fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\r' | b'\n' => continue,
            other => panic!("not base64: byte {other}"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[track_caller]
fn export_pdf(srv: &Srv, type_code: i64, id: Uuid, template: Option<Uuid>) -> Vec<u8> {
    let mut body = json!({ "EntityTypeCode": type_code, "SelectedRecords": format!("[\"{id}\"]") });
    if let Some(t) = template {
        body["SelectedTemplate"] =
            json!({ "@odata.type": "Microsoft.Dynamics.CRM.documenttemplate", "documenttemplateid": t });
    }
    let v = action_json(srv, "ExportPdfDocument", &body);
    let pdf = base64_decode(v["PdfFile"].as_str().unwrap_or_else(|| panic!("no PdfFile: {v}")));
    assert!(pdf.starts_with(b"%PDF"), "not a PDF: {:?}", String::from_utf8_lossy(&pdf[..pdf.len().min(40)]));
    assert!(pdf.len() > 500, "a PDF of {} bytes", pdf.len());
    pdf
}

#[test]
fn printing_pdf_and_templates() {
    each_server(|srv| {
        let tag = uid();
        let fx = fixture(srv, &tag);
        // Printing does not depend on how a document came to be.
        let (quote, _) = doc_with_line(srv, &fx, QUOTE, &format!("Printed quote {tag}"), "4");
        let (order, _) = doc_with_line(srv, &fx, ORDER, &format!("Printed order {tag}"), "4");
        let (invoice, _) = doc_with_line(srv, &fx, INVOICE, &format!("Printed invoice {tag}"), "4");
        export_pdf(srv, 1084, quote, None);
        export_pdf(srv, 1088, order, None);
        export_pdf(srv, 1090, invoice, None);

        let name = format!("Invoice template {tag}");
        let template = json!({
            "name": name, "documenttype": 3, "associatedentitytypecode": "invoice",
            "content": "Invoice\n{% if true %}Thank you for your business.{% endif %}\n",
        });
        let t = srv.create("documenttemplates", &template);
        export_pdf(srv, 1090, invoice, Some(t));

        // A template that does not parse is refused, new or changed.
        let bad_name = format!("Broken template {tag}");
        let mut bad = template.clone();
        bad["name"] = json!(bad_name);
        bad["content"] = json!("{% if %}");
        srv.post("/documenttemplates", &bad).expect_error(400);
        assert!(rows(srv, "documenttemplates", &format!("name eq '{bad_name}'")).is_empty());
        let cols = "name,content";
        let before = snapshot(srv, "documenttemplates", t, cols);
        srv.patch(&format!("/documenttemplates({t})"), &json!({ "content": "{% if %}" })).expect_error(400);
        assert_unchanged(srv, "documenttemplates", t, cols, &before, "broken template");
        export_pdf(srv, 1090, invoice, Some(t));
    });
}

// ---------------------------------------------------------------------------
// 9. Security

fn send_as(srv: &Srv, token: &str, method: Method, path: &str, body: Option<&Value>) -> Resp {
    let rb = srv.req_as(token, method, path);
    srv.send(match body {
        Some(b) => rb.json(b),
        None => rb,
    })
}

#[test]
fn salesperson_sees_only_own_documents() {
    each_server(|srv| {
        let tag = uid();
        let fx = fixture(srv, &tag);
        let sam = srv.new_user(&["Salesperson"]);
        let kim = srv.new_user(&["Salesperson"]);

        // The catalog: readable, not writable.
        send_as(srv, &sam.token, Method::GET, &format!("/products({})?$select=name", fx.item), None).expect(200);
        send_as(srv, &sam.token, Method::GET, &format!("/pricelevels({})?$select=name", fx.pl), None).expect(200);
        let p = json!({
            "name": format!("Sam's product {tag}"), "productnumber": format!("PN-{}", uid()),
            "defaultuomscheduleid@odata.bind": bind("uomschedules", fx.units.schedule),
            "defaultuomid@odata.bind": bind("uoms", fx.units.pcs),
        });
        send_as(srv, &sam.token, Method::POST, "/products", Some(&p)).expect_error(403);

        // Each salesperson's quote, with a line.
        let quote_of = |token: &str, who: &str| -> (Uuid, Uuid) {
            let r = send_as(
                srv,
                token,
                Method::POST,
                "/accounts",
                Some(&json!({ "name": format!("{who}'s customer {tag}") })),
            );
            r.expect(204);
            let customer = r.entity_id();
            let r = send_as(
                srv,
                token,
                Method::POST,
                "/quotes",
                Some(&json!({
                    "name": format!("{who}'s quote {tag}"),
                    "customerid_account@odata.bind": bind("accounts", customer),
                    "pricelevelid@odata.bind": bind("pricelevels", fx.pl),
                })),
            );
            r.expect(204);
            let quote = r.entity_id();
            let mut body = catalog_line(fx.item, "2");
            body["quoteid@odata.bind"] = json!(bind("quotes", quote));
            let r = send_as(srv, token, Method::POST, "/quotedetails", Some(&body));
            r.expect(204);
            (quote, r.entity_id())
        };
        let (sams, _) = quote_of(&sam.token, "Sam");
        let (kims, _) = quote_of(&kim.token, "Kim");
        let admins = document(srv, QUOTE, &format!("Admin's quote {tag}"), fx.customer, Some(fx.pl));
        new_line(srv, QUOTE, admins, catalog_line(fx.item, "1"));
        // Sam's line is priced like anyone's: 2 × 10.00 + 10 % tax.
        assert_totals(srv, QUOTE, sams, &totals_of(&[&line("10.00", "2", "0", "0", Tax::Rate("10"))], "0", "0", "0"));

        let listed = send_as(
            srv,
            &sam.token,
            Method::GET,
            &format!("/quotes?$select=name&$filter={}", enc(&format!("contains(name,'{tag}')"))),
            None,
        )
        .rows();
        let names: Vec<&str> = listed.iter().filter_map(|q| q["name"].as_str()).collect();
        assert_eq!(names, vec![format!("Sam's quote {tag}").as_str()]);
        for other in [kims, admins] {
            send_as(srv, &sam.token, Method::GET, &format!("/quotes({other})?$select=name"), None).expect_error(404);
            let ls = send_as(
                srv,
                &sam.token,
                Method::GET,
                &format!("/quotedetails?$filter={}", enc(&format!("_quoteid_value eq {other}"))),
                None,
            )
            .rows();
            assert!(ls.is_empty(), "another user's quote lines are invisible: {ls:?}");
            let mut body = catalog_line(fx.item, "1");
            body["quoteid@odata.bind"] = json!(bind("quotes", other));
            let r = send_as(srv, &sam.token, Method::POST, "/quotedetails", Some(&body));
            assert!(matches!(r.status, 400 | 403 | 404), "a line on another user's quote: {} {}", r.status, r.text());
            r.expect_error(r.status);
        }
        assert_eq!(lines_of(srv, QUOTE, kims).len(), 1);
        assert_eq!(lines_of(srv, QUOTE, admins).len(), 1);
        let own = send_as(
            srv,
            &sam.token,
            Method::GET,
            &format!("/quotedetails?$filter={}", enc(&format!("_quoteid_value eq {sams}"))),
            None,
        )
        .rows();
        assert_eq!(own.len(), 1);
    });
}

/// An opportunity's sales team: members added through
/// `AddUserToRecordTeam` get the template's rights on that one record.
#[test]
fn opportunity_sales_team_grants_access() {
    each_server(|srv| {
        let tag = uid();
        let owner = srv.new_user(&["Salesperson"]);
        let colleague = srv.new_user(&["Salesperson"]);
        let r = send_as(
            srv,
            &owner.token,
            Method::POST,
            "/opportunities",
            Some(&json!({ "name": format!("Team deal {tag}") })),
        );
        r.expect(204);
        let opp = r.entity_id();
        let read = |token: &str| send_as(srv, token, Method::GET, &format!("/opportunities({opp})?$select=name"), None);
        read(&colleague.token).expect_error(404);

        let templates = rows(srv, "teamtemplates", "teamtemplatename eq 'Sales Team Template'");
        assert_eq!(templates.len(), 1, "the sales team template is seeded");
        let template = id_of(&templates[0], "teamtemplateid");
        assert_eq!(templates[0]["objecttypecode"], json!(3));
        let body = json!({
            "Record": { "@odata.type": "Microsoft.Dynamics.CRM.opportunity", "opportunityid": opp.to_string() },
            "TeamTemplateId": template.to_string(),
        });
        let add = format!("/systemusers({})/Microsoft.Dynamics.CRM.AddUserToRecordTeam", colleague.id);
        // Only someone who may share the record builds its team.
        send_as(srv, &colleague.token, Method::POST, &add, Some(&body)).expect_error(404);
        let r = send_as(srv, &owner.token, Method::POST, &add, Some(&body));
        r.expect(200);
        let team = id_of(&r.json(), "AccessTeamId");

        // The member reads and edits the record, but cannot delete it.
        read(&colleague.token).expect(200);
        send_as(
            srv,
            &colleague.token,
            Method::PATCH,
            &format!("/opportunities({opp})"),
            Some(&json!({ "description": "updated by the team" })),
        )
        .expect(204);
        send_as(srv, &colleague.token, Method::DELETE, &format!("/opportunities({opp})"), None).expect_error(403);
        let t = srv.retrieve("teams", team, "$select=teamtype,_regardingobjectid_value,_teamtemplateid_value");
        assert_eq!(t["teamtype"], json!(1));
        assert_eq!(t["_regardingobjectid_value"], json!(opp.to_string()));

        // Adding again is harmless; removing takes the access away.
        send_as(srv, &owner.token, Method::POST, &add, Some(&body)).expect(200);
        let remove = format!("/systemusers({})/Microsoft.Dynamics.CRM.RemoveUserFromRecordTeam", colleague.id);
        send_as(srv, &owner.token, Method::POST, &remove, Some(&body)).expect(204);
        read(&colleague.token).expect_error(404);

        // Deleting the record deletes its team.
        send_as(srv, &owner.token, Method::POST, &add, Some(&body)).expect(200);
        send_as(srv, &owner.token, Method::DELETE, &format!("/opportunities({opp})"), None).expect(204);
        srv.get(&format!("/teams({team})?$select=name")).expect_error(404);
    });
}

/// Names and phones with characters that mean something in a query string
/// (`&`, `+`, `%`, `#`, quotes) go through duplicate detection intact.
#[test]
fn duplicate_detection_survives_special_characters() {
    each_server(|srv| {
        let tag = uid();
        let company = format!("Smith & Jones + O'Brien 100% #{tag}");
        let lead = |email: &str| {
            srv.create(
                "leads",
                &json!({
                    "subject": "Enquiry", "firstname": "Carl", "lastname": format!("Doe {tag}"),
                    "companyname": company, "emailaddress1": email, "telephone1": "+1 555 0100",
                }),
            )
        };
        let first = lead(&format!("carl-{tag}@one.test"));
        let r = qualify(srv, first, json!({}));
        r.expect(200);
        let account = created(&r.json(), "account").expect("an account");
        assert_eq!(srv.retrieve("accounts", account, "$select=name")["name"], json!(company));

        // Same company, same person and phone: both are found as duplicates.
        let second = lead(&format!("carl-{tag}@two.test"));
        let msg = qualify(srv, second, json!({})).expect_error(412);
        assert!(msg.contains(&account.to_string()), "{msg}");
        let r = qualify(srv, second, json!({ "CreateAccount": false, "CreateOpportunity": false }));
        let msg = r.expect_error(412);
        assert!(msg.contains("duplicate contact"), "{msg}");
    });
}

/// A sales process of the organization's own: its stages drive the sales
/// stage, pipeline phase and probability of the opportunities that follow it.
#[test]
fn custom_sales_process_sets_stages() {
    each_server(|srv| {
        let tag = uid();
        let process = srv.create(
            "workflows",
            &json!({ "name": format!("Enterprise deals {tag}"), "category": 4, "primaryentity": "opportunity", "type": 1 }),
        );
        let stage = |name: &str, category: i64, order: i64, probability: i64| {
            srv.create(
                "processstages",
                &json!({
                    "stagename": name, "stagecategory": category, "relata_stageorder": order,
                    "relata_closeprobability": probability, "primaryentitytypecode": "opportunity",
                    "processid@odata.bind": bind("workflows", process),
                }),
            )
        };
        let discovery = stage("Discovery", 0, 1, 5);
        let proposal = stage("Proposal", 2, 2, 50);
        let opp =
            srv.create("opportunities", &json!({ "name": format!("Big one {tag}"), "processid": process.to_string() }));
        let cols = "$select=stepname,salesstage,closeprobability,stageid";
        let o = srv.retrieve("opportunities", opp, cols);
        assert_eq!(
            (o["stepname"].clone(), o["salesstage"].clone(), o["closeprobability"].clone()),
            (json!("Discovery"), json!(0), json!(5))
        );
        assert_eq!(o["stageid"], json!(discovery.to_string()));
        srv.patch(&format!("/opportunities({opp})"), &json!({ "stageid": proposal.to_string() })).expect(204);
        let o = srv.retrieve("opportunities", opp, cols);
        assert_eq!(
            (o["stepname"].clone(), o["salesstage"].clone(), o["closeprobability"].clone()),
            (json!("Proposal"), json!(2), json!(50))
        );
        // A stage of another process is refused.
        let other = rows(srv, "processstages", "stagename eq 'Close'");
        let foreign = id_of(&other[0], "processstageid");
        let msg =
            srv.patch(&format!("/opportunities({opp})"), &json!({ "stageid": foreign.to_string() })).expect_error(400);
        assert!(msg.contains("not a stage"), "{msg}");
    });
}

/// Malformed action requests get a 400 naming the problem, and write nothing.
#[test]
fn malformed_action_requests_are_refused() {
    each_server(|srv| {
        let tag = uid();
        let opp = srv.create("opportunities", &json!({ "name": format!("Bad input {tag}") }));
        let before = snapshot(srv, "opportunities", opp, "statecode,statuscode");
        let send = |path: &str, body: &str| {
            srv.send(srv.req(Method::POST, path).header("Content-Type", "application/json").body(body.to_string()))
        };
        let msg = send("/WinOpportunity", "{not json").expect_error(400);
        assert!(!msg.is_empty());
        let msg = send("/WinOpportunity", r#"{"Status": 3}"#).expect_error(400);
        assert!(msg.contains("OpportunityClose"), "{msg}");
        let close = format!(
            r#"{{"OpportunityClose": {{"opportunityid@odata.bind": "/opportunities({opp})"}}, "Status": "won"}}"#
        );
        let msg = send("/WinOpportunity", &close).expect_error(400);
        assert!(msg.contains("Status"), "{msg}");
        let close =
            format!(r#"{{"OpportunityClose": {{"opportunityid@odata.bind": "/opportunities({opp})"}}, "Status": 99}}"#);
        let msg = send("/WinOpportunity", &close).expect_error(400);
        assert!(msg.contains("99"), "{msg}");
        assert_unchanged(srv, "opportunities", opp, "statecode,statuscode", &before, "after refused wins");
        let msg = send("/ConvertQuoteToSalesOrder", r#"{"QuoteId": "not-a-guid"}"#).expect_error(400);
        assert!(msg.contains("QuoteId"), "{msg}");
        let msg =
            send("/ExportPdfDocument", r#"{"EntityTypeCode": 1090, "SelectedRecords": "nope"}"#).expect_error(400);
        assert!(msg.contains("SelectedRecords"), "{msg}");
        let lead =
            srv.create("leads", &json!({ "subject": "x", "lastname": "Bad", "companyname": format!("Bad {tag}") }));
        let msg = send(&format!("/leads({lead})/Microsoft.Dynamics.CRM.QualifyLead"), r#"{"CreateAccount": "yes"}"#)
            .expect_error(400);
        assert!(msg.contains("CreateAccount"), "{msg}");
        assert_eq!(state_of(srv, "leads", lead), (0, 1));
        assert!(rows(srv, "accounts", &format!("name eq 'Bad {tag}'")).is_empty(), "no partial write");
    });
}
