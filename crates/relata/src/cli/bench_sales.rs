//! `relata bench --sales`: the sales engine, measured over HTTP.
//!
//! A catalog (unit group, products, two price lists mixing the pricing
//! methods, rounding and a volume discount list) is set up first. Then one
//! order gets 200 product lines, one request each, and is recalculated
//! again and again: switching its price list reprices every line and the
//! totals in one transaction; changing its discount recalculates the
//! totals only. Last, N leads are created and qualified into accounts,
//! contacts and opportunities by concurrent clients. The order's numbers
//! and the records qualification made are checked afterwards, so a wrong
//! result fails the bench instead of producing a fast figure.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Number, Value as Json};
use uuid::Uuid;

use super::bench::{id_in_url, percentile, wait_healthy, BenchArgs, Server, ServerEnd, API};
use super::demo::generate::{company, email, lang, person};

const PRODUCTS: usize = 200;
/// Lines of the recalculated order: one per product.
const LINES: usize = PRODUCTS;
const TAX_RATE: i64 = 20;
/// The volume discount list: quantity bands (inclusive) and percentages,
/// all in hundredths.
const VOLUME_BANDS: [(i64, i64, i64); 3] = [(1000, 1999, 200), (2000, 3499, 500), (3500, 5000, 800)];
const COUNT_TEMPLATE: &str =
    "{spinner:.green} {msg:<8} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {human_pos}/{human_len} ({rate})";

/// What the sales bench measured.
pub(super) struct SalesResults {
    setup_secs: f64,
    phases: Vec<Stat>,
    /// Order lines repriced per second of repricing.
    lines_repriced_per_s: f64,
    /// The order's total, once its numbers were found right.
    order_total: Option<Decimal>,
    /// Accounts, contacts and opportunities qualification created.
    created: [u64; 3],
    /// What went wrong; the figures are reported anyway.
    failures: Vec<String>,
}

/// One measured operation.
struct Stat {
    name: String,
    count: u64,
    /// Wall time of the phase, or of the operation's own requests where
    /// they alternate with another's.
    secs: f64,
    /// Sorted, in microseconds.
    latencies: Vec<u64>,
}

impl Stat {
    fn new(name: String, mut latencies: Vec<u64>, secs: f64) -> Stat {
        latencies.sort_unstable();
        Stat { name, count: latencies.len() as u64, secs, latencies }
    }

    fn per_s(&self) -> f64 {
        self.count as f64 / self.secs.max(1e-9)
    }

    fn pct(&self, p: f64) -> f64 {
        percentile(&self.latencies, p) as f64 / 1000.0
    }

    fn json(&self) -> Json {
        let r2 = |v: f64| (v * 100.0).round() / 100.0;
        json!({
            "name": self.name,
            "count": self.count,
            "seconds": r2(self.secs),
            "per_s": r2(self.per_s()),
            "p50_ms": r2(self.pct(50.0)),
            "p95_ms": r2(self.pct(95.0)),
            "p99_ms": r2(self.pct(99.0)),
            "max_ms": r2(self.pct(100.0)),
        })
    }
}

/// One Web API request, kept whole so that a failure can show it.
struct Req {
    method: Method,
    path: String,
    body: Option<Json>,
}

impl Req {
    fn get(path: impl Into<String>) -> Req {
        Req { method: Method::GET, path: path.into(), body: None }
    }

    fn post(path: impl Into<String>, body: Json) -> Req {
        Req { method: Method::POST, path: path.into(), body: Some(body) }
    }

    fn patch(path: impl Into<String>, body: Json) -> Req {
        Req { method: Method::PATCH, path: path.into(), body: Some(body) }
    }
}

/// A successful response.
struct Sent {
    /// The new record's id (`OData-EntityId`), for creates.
    id: Option<Uuid>,
    body: Vec<u8>,
}

#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    /// `http://host:port/api/data/v9.2`.
    url: String,
    token: String,
}

impl Api {
    /// Sends a request; a failure describes the request and the response.
    async fn send(&self, req: &Req) -> Result<Sent, String> {
        let path = req.path.trim_start_matches('/');
        let mut builder = self
            .client
            .request(req.method.clone(), format!("{}/{path}", self.url))
            .bearer_auth(&self.token)
            .header("Accept", "application/json")
            .header("OData-Version", "4.0")
            .header("OData-MaxVersion", "4.0");
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let what = || match &req.body {
            Some(body) => format!("{} {path} {body}", req.method),
            None => format!("{} {path}", req.method),
        };
        let resp = builder.send().await.map_err(|e| format!("{} failed: {e}", what()))?;
        let status = resp.status();
        let id = resp.headers().get("OData-EntityId").and_then(|v| v.to_str().ok()).and_then(id_in_url);
        // Reading the body lets the connection go back to the pool.
        let body =
            resp.bytes().await.map_err(|e| format!("{} → HTTP {status}: reading the body failed: {e}", what()))?;
        if !status.is_success() {
            return Err(format!("{} → HTTP {status}: {}", what(), String::from_utf8_lossy(&body)));
        }
        Ok(Sent { id, body: body.to_vec() })
    }

    async fn call(&self, req: Req) -> Result<Sent> {
        self.send(&req).await.map_err(|e| anyhow!(e))
    }

    async fn create(&self, set: &str, body: Json) -> Result<Uuid> {
        let sent = self.call(Req::post(set, body)).await?;
        sent.id.ok_or_else(|| anyhow!("POST {set} answered without OData-EntityId"))
    }

    async fn get(&self, path: &str) -> Result<Json> {
        let sent = self.call(Req::get(path)).await?;
        serde_json::from_slice(&sent.body).with_context(|| format!("GET {path} did not answer JSON"))
    }

    /// Every record of a collection, page by page.
    async fn all(&self, path: &str) -> Result<Vec<Json>> {
        let mut out = Vec::new();
        let mut next = path.to_string();
        loop {
            let page = self.get(&next).await?;
            out.extend(page["value"].as_array().cloned().unwrap_or_default());
            match page.get("@odata.nextLink").and_then(Json::as_str) {
                Some(link) => next = link.split_once(API).map_or(link, |(_, rest)| rest).to_string(),
                None => return Ok(out),
            }
        }
    }

    async fn count(&self, set: &str, filter: &str) -> Result<u64> {
        let path = format!("{set}/$count?$filter={filter}");
        let sent = self.call(Req::get(&path)).await?;
        let text = String::from_utf8_lossy(&sent.body);
        text.trim().parse().with_context(|| format!("GET {path} answered '{text}', not a count"))
    }
}

fn num(d: Decimal) -> Json {
    Json::Number(Number::from_str(&d.normalize().to_string()).expect("a decimal is a JSON number"))
}

fn dec_of(v: &Json, name: &str) -> Result<Decimal> {
    match v.get(name) {
        Some(Json::Number(n)) => {
            let s = n.to_string();
            s.parse()
                .or_else(|_| Decimal::from_scientific(&s))
                .with_context(|| format!("{name} = {s} is not a decimal"))
        }
        Some(Json::Null) | None => Ok(Decimal::ZERO),
        Some(other) => bail!("{name} = {other} is not a number"),
    }
}

fn uuid_of(v: &Json, name: &str) -> Result<Uuid> {
    v.get(name).and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| anyhow!("no {name} in {v}"))
}

/// Money rounding as Dataverse does it: half away from zero.
fn round(d: Decimal, places: u32) -> Decimal {
    d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
}

/// A price list item as the bench made it.
#[derive(Clone, Copy)]
struct Item {
    method: i64,
    /// The amount (method 1) or the percentage (the others).
    value: Decimal,
    /// Rounded up to a multiple of 5.
    round_to_5: bool,
}

struct Product {
    id: Uuid,
    number: String,
    list_price: Decimal,
    current_cost: Decimal,
    /// Items in price lists A and B.
    items: [Item; 2],
    volume_discount: bool,
}

impl Product {
    /// The unit price the item gives, as Dataverse's pricing methods define it.
    fn unit_price(&self, list: usize, places: u32) -> Decimal {
        let item = self.items[list];
        let hundred = Decimal::ONE_HUNDRED;
        let price = match item.method {
            1 => item.value,
            2 => self.list_price * item.value / hundred,
            3 => self.current_cost * (Decimal::ONE + item.value / hundred),
            _ => self.current_cost / ((hundred - item.value) / hundred),
        };
        let five = Decimal::from(5);
        let rounded = if item.round_to_5 && !(price % five).is_zero() { price - price % five + five } else { price };
        round(rounded, places)
    }
}

/// What a line's amounts must be.
struct Expected {
    price: Decimal,
    volume_per_unit: Decimal,
    base: Decimal,
    tax: Decimal,
    extended: Decimal,
}

fn expected_line(
    product: &Product,
    list: usize,
    quantity: Decimal,
    manual: Decimal,
    price_places: u32,
    places: u32,
) -> Expected {
    let price = product.unit_price(list, price_places);
    let band = VOLUME_BANDS
        .iter()
        .find(|(low, high, _)| Decimal::new(*low, 2) <= quantity && quantity <= Decimal::new(*high, 2));
    let volume_per_unit = match band {
        Some((_, _, pct)) if product.volume_discount => {
            round(price * Decimal::new(*pct, 2) / Decimal::ONE_HUNDRED, places)
        }
        _ => Decimal::ZERO,
    };
    let base = round(price * quantity, places);
    let net = base - round(volume_per_unit * quantity, places) - manual;
    let tax = round(net * Decimal::from(TAX_RATE) / Decimal::ONE_HUNDRED, places);
    Expected { price, volume_per_unit, base, tax, extended: net + tax }
}

/// A line as the bench added it.
struct Line {
    product: usize,
    quantity: Decimal,
    manual: Decimal,
}

/// The catalog and customer the order is made from.
struct Catalog {
    products: Vec<Product>,
    price_lists: [Uuid; 2],
    account: Uuid,
    /// Digits of unit prices and of amounts.
    price_places: u32,
    places: u32,
}

pub(super) async fn measure(server: &mut Server, base: &str, token: &str, args: &BenchArgs) -> Result<SalesResults> {
    let concurrency = args.concurrency as usize;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(120))
        .build()
        .context("cannot create the HTTP client")?;
    wait_healthy(server, &client, base).await?;
    let api = Api { client, url: format!("{base}{API}"), token: token.to_string() };

    let started = Instant::now();
    let catalog = setup(&api).await.context("setting up the catalog failed")?;
    let setup_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "bench: catalog of {PRODUCTS} products in 2 price lists ({} items) set up in {setup_secs:.1} s",
        2 * PRODUCTS
    );
    alive(server, "setup")?;

    println!(
        "{:<40} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "sales", "count", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let mut phases = Vec::new();
    let mut failures = Vec::new();
    let (order_phases, checked) = order(&api, &catalog, args.recalculations).await?;
    let repricing = &order_phases[1];
    let lines_repriced_per_s =
        (LINES as u64 * repricing.count) as f64 / (repricing.latencies.iter().sum::<u64>() as f64 / 1e6).max(1e-9);
    for p in order_phases {
        print_row(&p);
        phases.push(p);
    }
    println!("  lines repriced per second: {lines_repriced_per_s:.0}");
    let order_total = match checked {
        Ok(total) => {
            println!("  order checked: totalamount {total} = the lines' extendedamount less the document discount");
            Some(total)
        }
        Err(e) => {
            println!("  the order's numbers are wrong: {e:#}");
            failures.push(format!("the order's numbers are wrong: {e:#}"));
            None
        }
    };
    alive(server, "order")?;

    let (lead_phases, created) = leads(&api, server, args.leads, concurrency, &mut failures).await?;
    phases.extend(lead_phases);
    Ok(SalesResults { setup_secs, phases, lines_repriced_per_s, order_total, created, failures })
}

fn print_row(p: &Stat) {
    println!(
        "{:<40} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        p.name,
        p.count,
        p.per_s(),
        p.pct(50.0),
        p.pct(95.0),
        p.pct(99.0),
        p.pct(100.0)
    );
}

fn alive(server: &mut Server, phase: &str) -> Result<()> {
    match server.exited() {
        Some(status) => bail!("the server exited during the {phase} phase ({status})"),
        None => Ok(()),
    }
}

/// The catalog, one request at a time (not measured).
async fn setup(api: &Api) -> Result<Catalog> {
    let mut rng = StdRng::seed_from_u64(0x5a1e_0001);
    let org = api.get("organizations?$select=_basecurrencyid_value,pricingdecimalprecision").await?;
    let org = org["value"].get(0).ok_or_else(|| anyhow!("there is no organization"))?;
    let currency = uuid_of(org, "_basecurrencyid_value")?;
    let currency_row = api.get(&format!("transactioncurrencies({currency})?$select=currencyprecision")).await?;
    let places = currency_row["currencyprecision"].as_u64().unwrap_or(2) as u32;
    let price_places = (org["pricingdecimalprecision"].as_u64().unwrap_or(2) as u32).max(places);

    let group = api.create("uomschedules", json!({ "name": "Bench units", "baseuomname": "pcs" })).await?;
    let units = api.get(&format!("uoms?$select=uomid&$filter=_uomscheduleid_value eq {group}")).await?;
    let unit =
        uuid_of(units["value"].get(0).ok_or_else(|| anyhow!("the unit group {group} has no base unit"))?, "uomid")?;

    let volume = api.create("discounttypes", json!({ "name": "Bench volume discount", "isamounttype": false })).await?;
    for (low, high, pct) in VOLUME_BANDS {
        api.create(
            "discounts",
            json!({
                "discounttypeid@odata.bind": format!("/discounttypes({volume})"),
                "lowquantity": num(Decimal::new(low, 2)),
                "highquantity": num(Decimal::new(high, 2)),
                "percentage": num(Decimal::new(pct, 2)),
            }),
        )
        .await?;
    }

    let mut products = Vec::with_capacity(PRODUCTS);
    for k in 0..PRODUCTS {
        let list_price = Decimal::new(rng.gen_range(1_000..=50_000), 2);
        let current_cost = round(list_price * Decimal::new(rng.gen_range(50..=80), 2), places);
        let standard_cost = round(list_price * Decimal::new(rng.gen_range(60..=90), 2), places);
        let number = format!("BP-{:04}", k + 1);
        let id = api
            .create(
                "products",
                json!({
                    "name": format!("Bench product {:03}", k + 1),
                    "productnumber": number,
                    "defaultuomscheduleid@odata.bind": format!("/uomschedules({group})"),
                    "defaultuomid@odata.bind": format!("/uoms({unit})"),
                    "price": num(list_price),
                    "currentcost": num(current_cost),
                    "standardcost": num(standard_cost),
                    "quantitydecimal": 2,
                    "relata_taxrate": TAX_RATE,
                }),
            )
            .await?;
        // Each list prices a product by another method, so a switch of
        // lists changes how every line is priced.
        let item = |list: usize| {
            let method = [1, 2, 3, 4][(k + list) % 4];
            let value = match (method, list) {
                (1, 0) => list_price,
                (1, _) => round(list_price * Decimal::new(92, 2), places),
                (2, 0) => Decimal::from(95),
                (2, _) => Decimal::from(90),
                (3, 0) => Decimal::from(40),
                (3, _) => Decimal::from(35),
                (_, 0) => Decimal::from(30),
                _ => Decimal::from(25),
            };
            Item { method, value, round_to_5: k % 5 == 1 }
        };
        products.push(Product {
            id,
            number,
            list_price,
            current_cost,
            items: [item(0), item(1)],
            volume_discount: k % 3 == 0,
        });
    }

    let mut price_lists = [Uuid::nil(); 2];
    for (list, name) in ["Bench list A", "Bench list B"].into_iter().enumerate() {
        price_lists[list] = api
            .create(
                "pricelevels",
                json!({
                    "name": name,
                    "transactioncurrencyid@odata.bind": format!("/transactioncurrencies({currency})"),
                }),
            )
            .await?;
    }
    for p in &products {
        for (list, item) in p.items.iter().enumerate() {
            let mut body = json!({
                "pricelevelid@odata.bind": format!("/pricelevels({})", price_lists[list]),
                "productid@odata.bind": format!("/products({})", p.id),
                "uomid@odata.bind": format!("/uoms({unit})"),
                "pricingmethodcode": item.method,
            });
            body[if item.method == 1 { "amount" } else { "percentage" }] = num(item.value);
            if item.round_to_5 {
                body["roundingpolicycode"] = json!(2);
                body["roundingoptioncode"] = json!(2);
                body["roundingoptionamount"] = json!(5);
            }
            if p.volume_discount {
                body["discounttypeid@odata.bind"] = json!(format!("/discounttypes({volume})"));
            }
            api.create("productpricelevels", body).await?;
        }
    }
    let account = api.create("accounts", json!({ "name": "Bench Customer" })).await?;
    Ok(Catalog { products, price_lists, account, price_places, places })
}

fn progress(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(super::progress_style(COUNT_TEMPLATE));
    pb.set_message(msg.to_string());
    pb
}

/// Sends one request and returns its latency in microseconds.
async fn timed(api: &Api, req: Req) -> Result<(u64, Sent)> {
    let t0 = Instant::now();
    let sent = api.call(req).await?;
    Ok((t0.elapsed().as_micros() as u64, sent))
}

/// The order: lines added one by one, then recalculated `recalculations`
/// times both ways; returns the phases and the checked total.
async fn order(api: &Api, catalog: &Catalog, recalculations: u64) -> Result<(Vec<Stat>, Result<Decimal>)> {
    let mut rng = StdRng::seed_from_u64(0x5a1e_0002);
    let [list_a, list_b] = catalog.price_lists;
    let order = api
        .create(
            "salesorders",
            json!({
                "name": "Bench order",
                "customerid_account@odata.bind": format!("/accounts({})", catalog.account),
                "pricelevelid@odata.bind": format!("/pricelevels({list_a})"),
            }),
        )
        .await?;

    let pb = progress(LINES as u64, "lines");
    let started = Instant::now();
    let mut lines = Vec::with_capacity(LINES);
    let mut add_latencies = Vec::with_capacity(LINES);
    for product in 0..LINES {
        let places = rng.gen_range(0..=2u32);
        let scale = 10i64.pow(places);
        let quantity = Decimal::new(rng.gen_range(scale..=50 * scale), places);
        let manual = if rng.gen_bool(0.25) { Decimal::new(rng.gen_range(100..=500), 2) } else { Decimal::ZERO };
        let mut body = json!({
            "salesorderid@odata.bind": format!("/salesorders({order})"),
            "productid@odata.bind": format!("/products({})", catalog.products[product].id),
            "quantity": num(quantity),
        });
        if !manual.is_zero() {
            body["manualdiscountamount"] = num(manual);
        }
        let (us, _) = timed(api, Req::post("salesorderdetails", body)).await?;
        add_latencies.push(us);
        lines.push(Line { product, quantity, manual });
        pb.inc(1);
    }
    let add =
        Stat::new(format!("add line to an order of {LINES} lines"), add_latencies, started.elapsed().as_secs_f64());
    pb.finish_and_clear();

    // Each round switches the price list (all lines repriced) and changes
    // the discount (totals only); a discount equal to the last one would
    // change nothing.
    let pb = progress(recalculations, "recalc");
    let (mut reprice, mut discount) = (Vec::new(), Vec::new());
    let (mut reprice_secs, mut discount_secs) = (0.0, 0.0);
    let mut list = 0;
    let mut percentage = Decimal::ZERO;
    for _ in 0..recalculations {
        list = 1 - list;
        let id = if list == 0 { list_a } else { list_b };
        let t = Instant::now();
        let (us, _) = timed(
            api,
            Req::patch(
                format!("salesorders({order})"),
                json!({ "pricelevelid@odata.bind": format!("/pricelevels({id})") }),
            ),
        )
        .await?;
        reprice_secs += t.elapsed().as_secs_f64();
        reprice.push(us);

        let previous = percentage;
        while percentage == previous {
            percentage = Decimal::new(rng.gen_range(1..=1500), 2);
        }
        let t = Instant::now();
        let (us, _) =
            timed(api, Req::patch(format!("salesorders({order})"), json!({ "discountpercentage": num(percentage) })))
                .await?;
        discount_secs += t.elapsed().as_secs_f64();
        discount.push(us);
        pb.inc(1);
    }
    pb.finish_and_clear();

    let total = check_order(api, catalog, order, &lines, list, percentage).await;
    let phases = vec![
        add,
        Stat::new(format!("reprice order of {LINES} lines (price list)"), reprice, reprice_secs),
        Stat::new("recalculate totals (discount %)".to_string(), discount, discount_secs),
    ];
    Ok((phases, total))
}

/// Checks every line against the price list in force and the totals
/// against the lines; returns the order's total amount.
async fn check_order(
    api: &Api,
    catalog: &Catalog,
    order: Uuid,
    lines: &[Line],
    list: usize,
    percentage: Decimal,
) -> Result<Decimal> {
    let header = api
        .get(&format!(
            "salesorders({order})?$select=totalamount,totallineitemamount,totaldiscountamount,totaltax,\
             discountpercentage,_pricelevelid_value"
        ))
        .await?;
    let rows = api
        .all(&format!(
            "salesorderdetails?$select=priceperunit,quantity,volumediscountamount,baseamount,manualdiscountamount,tax,\
             extendedamount,_productid_value&$filter=_salesorderid_value eq {order}"
        ))
        .await?;
    if rows.len() != lines.len() {
        bail!("the order has {} lines, not {}", rows.len(), lines.len());
    }
    if uuid_of(&header, "_pricelevelid_value")? != catalog.price_lists[list] {
        bail!("the order is not on the price list it was switched to last");
    }
    let by_product: HashMap<Uuid, &Line> = lines.iter().map(|l| (catalog.products[l.product].id, l)).collect();
    let mut wrong = Vec::new();
    let (mut net, mut tax, mut extended) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for row in &rows {
        let product_id = uuid_of(row, "_productid_value")?;
        let line = by_product.get(&product_id).ok_or_else(|| anyhow!("a line has the unknown product {product_id}"))?;
        let product = &catalog.products[line.product];
        let want = expected_line(product, list, line.quantity, line.manual, catalog.price_places, catalog.places);
        for (name, expected) in [
            ("quantity", line.quantity),
            ("manualdiscountamount", line.manual),
            ("priceperunit", want.price),
            ("volumediscountamount", want.volume_per_unit),
            ("baseamount", want.base),
            ("tax", want.tax),
            ("extendedamount", want.extended),
        ] {
            let got = dec_of(row, name)?;
            if got != expected {
                wrong.push(format!("{} {name}: {got}, expected {expected}", product.number));
            }
        }
        let (line_tax, line_extended) = (dec_of(row, "tax")?, dec_of(row, "extendedamount")?);
        net += line_extended - line_tax;
        tax += line_tax;
        extended += line_extended;
    }
    // The document discount applies to the lines' amounts before tax.
    let discount = round(net * percentage / Decimal::ONE_HUNDRED, catalog.places);
    for (name, expected) in [
        ("discountpercentage", percentage),
        ("totallineitemamount", net),
        ("totaltax", tax),
        ("totaldiscountamount", discount),
        ("totalamount", extended - discount),
    ] {
        let got = dec_of(&header, name)?;
        if got != expected {
            wrong.push(format!("order {name}: {got}, expected {expected}"));
        }
    }
    if !wrong.is_empty() {
        bail!("{} wrong figures: {}", wrong.len(), super::some_of(&wrong, 10));
    }
    dec_of(&header, "totalamount")
}

/// Leads: created, then qualified, by concurrent clients; then the
/// records qualification made are counted. Failed requests are counted
/// and the first one shown; the leads that were created are still
/// qualified, so that both rates are measured.
async fn leads(
    api: &Api,
    server: &mut Server,
    n: u64,
    concurrency: usize,
    failures: &mut Vec<String>,
) -> Result<(Vec<Stat>, [u64; 3])> {
    let mut create = concurrently(api, "leads", n, concurrency, Arc::new(new_lead)).await;
    create.stat.name = "create lead".into();
    print_row(&create.stat);
    alive(server, "lead create")?;
    if create.errors > 0 {
        print_errors(&create);
        let first = create.first_error.unwrap_or_default();
        failures.push(format!("{} of {n} lead creates failed; the first: {first}", create.errors));
    }
    create.ids.sort_unstable();
    let leads: Vec<Uuid> = create.ids.iter().map(|(_, id)| *id).collect();
    let to_qualify = leads.len() as u64;

    let qualify = Arc::new(move |k: u64| {
        Req::post(
            format!("leads({})/Microsoft.Dynamics.CRM.QualifyLead", leads[k as usize]),
            json!({ "CreateAccount": true, "CreateContact": true, "CreateOpportunity": true, "Status": 3 }),
        )
    });
    let mut qualified = concurrently(api, "qualify", to_qualify, concurrency, qualify).await;
    qualified.stat.name = "qualify lead".into();
    print_row(&qualified.stat);
    alive(server, "qualify")?;
    if qualified.errors > 0 {
        print_errors(&qualified);
        let first = qualified.first_error.unwrap_or_default();
        failures.push(format!("{} of {to_qualify} lead qualifications failed; the first: {first}", qualified.errors));
    }

    let mut created = [0; 3];
    for (i, set) in ["accounts", "contacts", "opportunities"].into_iter().enumerate() {
        created[i] = api.count(set, "_originatingleadid_value ne null").await?;
    }
    let closed = api.count("leads", "statecode eq 1").await?;
    println!(
        "  from {n} leads: {closed} qualified, {} accounts, {} contacts, {} opportunities",
        created[0], created[1], created[2]
    );
    // Whatever failed, each qualification that succeeded made one of each.
    let succeeded = to_qualify - qualified.errors;
    if closed != succeeded || created.iter().any(|c| *c != succeeded) {
        failures.push(format!(
            "{succeeded} qualifications succeeded, but {closed} leads are qualified and {} accounts, {} contacts \
             and {} opportunities came from leads",
            created[0], created[1], created[2]
        ));
    }
    Ok((vec![create.stat, qualified.stat], created))
}

/// A lead whose company, email and phone no other lead has, so duplicate
/// detection finds nothing.
fn new_lead(k: u64) -> Req {
    let mut rng = StdRng::seed_from_u64(0x1ead_0000 + k);
    let lang = lang(&mut rng);
    let who = person(&mut rng, lang);
    let firm = company(&mut rng, lang);
    let number = k + 1;
    Req::post(
        "leads",
        json!({
            "subject": format!("Enquiry {number:05} from {}", firm.short),
            "firstname": who.first,
            "lastname": who.last,
            "companyname": format!("{} {number}", firm.name),
            "emailaddress1": email(&who.first, &who.last, &format!("{}-{number}.example", firm.slug)),
            "telephone1": format!("+1 555 {number:07}"),
        }),
    )
}

/// A phase of `n` requests sent by `concurrency` clients.
struct Concurrent {
    stat: Stat,
    errors: u64,
    first_error: Option<String>,
    /// Each distinct error response and how often it came, most frequent first.
    responses: Vec<(String, u64)>,
    /// Created records' ids by request number.
    ids: Vec<(u64, Uuid)>,
}

type MakeReq = Arc<dyn Fn(u64) -> Req + Send + Sync>;

async fn concurrently(api: &Api, msg: &str, n: u64, concurrency: usize, make: MakeReq) -> Concurrent {
    let pb = progress(n, msg);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let responses: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let started = Instant::now();
    let ticker = {
        let (pb, done) = (pb.clone(), done.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                pb.set_position(done.load(Ordering::Relaxed));
            }
        })
    };
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (api, make, next, done, first_error, responses) =
            (api.clone(), make.clone(), next.clone(), done.clone(), first_error.clone(), responses.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut ids, mut errors) = (Vec::new(), Vec::new(), 0u64);
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let req = make(k);
                let t0 = Instant::now();
                let result = api.send(&req).await;
                latencies.push(t0.elapsed().as_micros() as u64);
                done.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok(sent) => ids.extend(sent.id.map(|id| (k, id))),
                    Err(e) => {
                        errors += 1;
                        // The request differs every time; the answer tells the failures apart.
                        let response = e.split_once(" → ").map_or(e.as_str(), |(_, r)| r).to_string();
                        *responses.lock().unwrap_or_else(|e| e.into_inner()).entry(response).or_default() += 1;
                        first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                    }
                }
            }
            (latencies, ids, errors)
        }));
    }
    let (mut latencies, mut ids, mut errors) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        // A client only ends by returning; a panic would be a bug in it.
        if let Ok((l, i, e)) = t.await {
            latencies.extend(l);
            ids.extend(i);
            errors += e;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    ticker.abort();
    pb.finish_and_clear();
    let first_error = first_error.lock().unwrap_or_else(|e| e.into_inner()).take();
    let mut responses: Vec<(String, u64)> =
        std::mem::take(&mut *responses.lock().unwrap_or_else(|e| e.into_inner())).into_iter().collect();
    responses.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Concurrent { stat: Stat::new(msg.to_string(), latencies, secs), errors, first_error, responses, ids }
}

/// The first failed request in full, then how often each answer came.
fn print_errors(phase: &Concurrent) {
    println!("  {} errors; the first: {}", phase.errors, phase.first_error.as_deref().unwrap_or_default());
    for (response, n) in phase.responses.iter().take(5) {
        println!("  {n} × {response}");
    }
    if phase.responses.len() > 5 {
        println!("  … and {} other answers", phase.responses.len() - 5);
    }
}

/// Prints what is left of the report after the server stopped and the
/// whole of it as one JSON line; fails if anything went wrong.
pub(super) fn summarize(backend: &str, args: &BenchArgs, results: &SalesResults, end: &ServerEnd) -> Result<()> {
    println!("catalog setup: {:.1} s (not measured)", results.setup_secs);
    let summary = json!({
        "backend": backend,
        "bench": "sales",
        "concurrency": args.concurrency,
        "products": PRODUCTS,
        "order_lines": LINES,
        "recalculations": args.recalculations,
        "leads": args.leads,
        "setup_seconds": (results.setup_secs * 10.0).round() / 10.0,
        "phases": results.phases.iter().map(Stat::json).collect::<Vec<_>>(),
        "lines_repriced_per_s": results.lines_repriced_per_s.round(),
        "order_totalamount": results.order_total.map(num),
        "created_from_leads": {
            "accounts": results.created[0],
            "contacts": results.created[1],
            "opportunities": results.created[2],
        },
        "peak_rss_kb": end.peak_rss_kb,
        "anon_kb": end.anon_kb,
        "pss_kb": end.pss_kb,
        "data_bytes": end.data_bytes,
        "failures": results.failures,
    });
    println!("{summary}");
    match results.failures.as_slice() {
        [] => Ok(()),
        [one] => bail!("{one}"),
        all => bail!("{} failures:\n{}", all.len(), all.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn product(item: Item) -> Product {
        Product {
            id: Uuid::nil(),
            number: "BP-0001".into(),
            list_price: d("200"),
            current_cost: d("70"),
            items: [item, item],
            volume_discount: true,
        }
    }

    #[test]
    fn unit_prices_follow_the_pricing_methods() {
        let price =
            |method, value: &str, round_to_5| product(Item { method, value: d(value), round_to_5 }).unit_price(0, 2);
        assert_eq!(price(1, "123.45", false), d("123.45"));
        assert_eq!(price(2, "95", false), d("190"));
        // Markup is on the cost, margin a share of the price.
        assert_eq!(price(3, "40", false), d("98"));
        assert_eq!(price(4, "30", false), d("100"));
        assert_eq!(price(4, "25", false), d("93.33"));
        assert_eq!(price(4, "25", true), d("95"));
        assert_eq!(price(2, "95", true), d("190"));
    }

    #[test]
    fn lines_take_volume_discount_manual_discount_and_tax() {
        let p = product(Item { method: 1, value: d("10.00"), round_to_5: false });
        // 25 units: the 5% band, 0.50 a unit.
        let e = expected_line(&p, 0, d("25"), d("2.00"), 2, 2);
        assert_eq!((e.price, e.volume_per_unit, e.base), (d("10.00"), d("0.50"), d("250.00")));
        assert_eq!((e.tax, e.extended), (d("47.10"), d("282.60")));
        // Between the bands: no discount.
        let e = expected_line(&p, 0, d("9.99"), Decimal::ZERO, 2, 2);
        assert_eq!((e.volume_per_unit, e.base, e.tax, e.extended), (d("0"), d("99.90"), d("19.98"), d("119.88")));
    }

    #[test]
    fn leads_are_unique_where_duplicate_detection_looks() {
        let a = new_lead(0).body.unwrap();
        let b = new_lead(1).body.unwrap();
        for key in ["companyname", "emailaddress1", "telephone1"] {
            assert_ne!(a[key], b[key], "{key}");
        }
    }
}
