//! Orders out, statuses back (`type=sale`).
//!
//! `query` answers the orders new or changed since the last export 1C
//! confirmed, as CommerceML in the version 1C asked for; `success`
//! confirms them (until then they are sent again). An order whose last
//! change came from 1C itself is not sent back (no ping-pong): applying a
//! status stamps `relata_exchangeimportedon` in the same write.
//!
//! What 1C sends back about an order goes through the sales rules as a
//! user's action would: shipped fulfills the order (its close activity
//! names 1C's shipment), paid records a payment with 1C's payment number
//! and date on the order's invoice (made from the order if it has none),
//! canceled cancels; "not paid" changes nothing. A document for an order
//! Relata never had is a warning in the log, not a failure.

use chrono::{DateTime, NaiveDateTime, Utc};
use relata_commerceml as cml;
use relata_metadata::{EntityRef, Value};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::catalog::{quote, Tally};
use crate::error::Result;
use crate::sales::CloseRequest;
use crate::session::{Fields, RecordInput, Session};

fn text(f: &Fields, k: &str) -> Option<String> {
    f.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn money(f: &Fields, k: &str) -> Decimal {
    f.get(k).and_then(Value::as_decimal).unwrap_or_default()
}

/// Orders in one answer to `query`; the rest follow in the next exchange.
const MAX_ORDERS: usize = 1000;

/// Orders to send: in the node's states, changed after the last confirmed
/// export, not last changed by 1C, the oldest change first.
pub(super) fn query(s: &mut Session<'_, '_, '_>, node: Uuid) -> Result<Vec<cml::Order>> {
    let settings = s.read_system("relata_exchangenode", node)?.unwrap_or_default();
    let mut filter = Vec::new();
    if let Some(since) = settings.get("relata_lastexporton").and_then(Value::as_datetime) {
        filter.push(format!("modifiedon gt {}", since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
    }
    let states: Vec<i64> = text(&settings, "relata_orderstates")
        .unwrap_or_default()
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    if !states.is_empty() {
        let any = states.iter().map(|v| format!("statecode eq {v}")).collect::<Vec<_>>().join(" or ");
        filter.push(format!("({any})"));
    }
    let query = if filter.is_empty() {
        "$orderby=modifiedon".to_string()
    } else {
        format!("$filter={}&$orderby=modifiedon", filter.join(" and "))
    };
    let currency_name = text(&settings, "relata_currencyname");
    let mut out = Vec::new();
    // Once 1C confirms, the next export starts after this: the time of the
    // query, or the last order sent when there were more than one answer holds.
    let mut confirm_to = s.now;
    let mut out_last_modified = None;
    for order in s.query_system("salesorder", &query)? {
        let modified = order.get("modifiedon").and_then(Value::as_datetime);
        let from_1c = order.get("relata_exchangeimportedon").and_then(Value::as_datetime);
        if let (Some(m), Some(i)) = (modified, from_1c) {
            if i >= m {
                continue;
            }
        }
        if out.len() == MAX_ORDERS {
            confirm_to = out_last_modified.unwrap_or(s.now);
            break;
        }
        out.push(document(s, &order, currency_name.as_deref())?);
        out_last_modified = modified;
    }
    s.system_update(
        "relata_exchangenode",
        node,
        [("relata_exportstartedon".to_string(), Value::DateTime(confirm_to))].into_iter().collect(),
    )?;
    Ok(out)
}

/// 1C confirmed the last `query`: what it was sent is not sent again.
pub(super) fn confirm(s: &mut Session<'_, '_, '_>, node: Uuid) -> Result<bool> {
    let settings = s.read_system("relata_exchangenode", node)?.unwrap_or_default();
    let Some(started) = settings.get("relata_exportstartedon").and_then(Value::as_datetime) else { return Ok(false) };
    let changes = [
        ("relata_lastexporton".to_string(), Value::DateTime(started)),
        ("relata_exportstartedon".to_string(), Value::Null),
    ];
    s.system_update("relata_exchangenode", node, changes.into_iter().collect())?;
    Ok(true)
}

fn local(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(|t| t.naive_utc())
}

/// An order as the CommerceML document 1C reads.
fn document(s: &mut Session<'_, '_, '_>, order: &Fields, currency_name: Option<&str>) -> Result<cml::Order> {
    let id = order.get("salesorderid").and_then(Value::as_uuid).unwrap_or_default();
    let currency = match order.get("transactioncurrencyid").and_then(Value::as_uuid) {
        Some(c) => s.read_system("transactioncurrency", c)?.and_then(|c| text(&c, "isocurrencycode")),
        None => None,
    };
    let state = order.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    let status = order.get("statuscode").and_then(Value::as_i64).unwrap_or(0);
    let mut doc = cml::Order {
        id: id.to_string(),
        number: text(order, "ordernumber").unwrap_or_else(|| id.to_string()),
        date: local(order.get("createdon").and_then(Value::as_datetime)),
        currency: currency_name.map(str::to_string).or(currency).unwrap_or_default(),
        exchange_rate: order.get("exchangerate").and_then(Value::as_decimal).unwrap_or(Decimal::ONE),
        amount: money(order, "totalamount"),
        comment: text(order, "description"),
        ..cml::Order::default()
    };
    if let Some(Value::Ref(customer)) = order.get("customerid") {
        if let Some(c) = counterparty(s, customer)? {
            doc.counterparties.push(c);
        }
    }
    let lines =
        s.query_system("salesorderdetail", &format!("$filter=_salesorderid_value eq {id}&$orderby=lineitemnumber"))?;
    for line in lines {
        doc.lines.push(order_line(s, &line)?);
    }
    let discount = money(order, "discountamount");
    if !discount.is_zero() {
        doc.discounts.push(cml::Discount {
            name: "Скидка на заказ".into(),
            amount: discount,
            percent: None,
            included_in_amount: true,
        });
    }
    let tax = money(order, "totaltax");
    if !tax.is_zero() {
        doc.taxes.push(cml::Tax { name: "НДС".into(), included_in_amount: false, amount: tax, rate: None });
    }
    let paid = invoice_of(s, id)?.is_some_and(|inv| inv.get("statecode").and_then(Value::as_i64) == Some(2));
    let state_name = match state {
        0 => "Активный",
        1 => "Отправлен",
        2 => "Отменен",
        3 => "Выполнен",
        _ => "Выставлен счет",
    };
    let site = cml::SiteStatus {
        paid,
        canceled: state == 2,
        final_status: matches!(state, 2..=4),
        delivery_allowed: state != 2,
        status_id: Some(format!("{state}.{status}")),
        status_name: Some(state_name.into()),
        status_changed_at: local(order.get("modifiedon").and_then(Value::as_datetime)),
        ..cml::SiteStatus::default()
    };
    doc.requisites = site.requisites();
    Ok(doc)
}

/// The buyer: an account (legal name, INN, KPP) or a contact (a person).
fn counterparty(s: &mut Session<'_, '_, '_>, customer: &EntityRef) -> Result<Option<cml::Counterparty>> {
    let Some(c) = s.read_system(&customer.entity, customer.id)? else { return Ok(None) };
    let address = [text(&c, "address1_postalcode"), text(&c, "address1_city"), text(&c, "address1_line1")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let mut contacts = Vec::new();
    for (column, kind) in
        [("emailaddress1", "Почта"), ("telephone1", "Телефон рабочий"), ("mobilephone", "Телефон мобильный")]
    {
        if let Some(v) = text(&c, column) {
            contacts.push(cml::Contact { kind: kind.into(), value: v });
        }
    }
    let is_account = customer.entity == "account";
    let name = if is_account { text(&c, "name") } else { text(&c, "fullname") }.unwrap_or_default();
    // An account that came from 1C goes back under its 1C Ид, so that 1C
    // finds its own counterparty rather than making another.
    let id = match text(&c, "relata_exchangeid") {
        Some(one_c) if is_account => one_c,
        _ => customer.id.to_string(),
    };
    Ok(Some(cml::Counterparty {
        id,
        name: name.clone(),
        full_name: Some(name.clone()),
        official_name: is_account.then(|| name.clone()),
        last_name: (!is_account).then(|| text(&c, "lastname")).flatten(),
        first_name: (!is_account).then(|| text(&c, "firstname")).flatten(),
        middle_name: (!is_account).then(|| text(&c, "middlename")).flatten(),
        inn: text(&c, "relata_inn"),
        kpp: text(&c, "relata_kpp"),
        role: "Покупатель".into(),
        registration_address: (!address.is_empty()).then(|| address.clone()),
        legal_address: (is_account && !address.is_empty()).then_some(address),
        contacts,
        ..cml::Counterparty::default()
    }))
}

fn order_line(s: &mut Session<'_, '_, '_>, line: &Fields) -> Result<cml::OrderLine> {
    let product = match line.get("productid").and_then(Value::as_uuid) {
        Some(p) => s.read_system("product", p)?,
        None => None,
    };
    let unit = match line.get("uomid").and_then(Value::as_uuid) {
        Some(u) => s.read_system("uom", u)?,
        None => None,
    };
    let name =
        product.as_ref().and_then(|p| text(p, "name")).or_else(|| text(line, "productdescription")).unwrap_or_default();
    // A product 1C knows goes by its Ид; one made in Relata by its own id.
    let id = match &product {
        Some(p) => text(p, "relata_exchangeid")
            .unwrap_or_else(|| p.get("productid").and_then(Value::as_uuid).unwrap_or_default().to_string()),
        None => line.get("salesorderdetailid").and_then(Value::as_uuid).unwrap_or_default().to_string(),
    };
    let service = product.as_ref().and_then(|p| p.get("producttypecode")).and_then(Value::as_i64) == Some(3);
    let discount = money(line, "manualdiscountamount") + money(line, "volumediscountamount");
    let mut out = cml::OrderLine {
        id,
        name,
        unit: unit.as_ref().map(|u| cml::BaseUnit {
            code: text(u, "relata_okeicode"),
            short_name: text(u, "name"),
            full_name: text(u, "name"),
            international_abbreviation: None,
        }),
        unit_price: money(line, "priceperunit"),
        quantity: money(line, "quantity"),
        amount: money(line, "extendedamount"),
        ..cml::OrderLine::default()
    };
    if !discount.is_zero() {
        out.discounts.push(cml::Discount {
            name: "Скидка".into(),
            amount: discount,
            percent: None,
            included_in_amount: true,
        });
    }
    let tax = money(line, "tax");
    if !tax.is_zero() {
        out.taxes.push(cml::Tax { name: "НДС".into(), included_in_amount: true, amount: tax, rate: None });
    }
    out.requisites = vec![
        cml::Requisite::new("ВидНоменклатуры", if service { "Услуга" } else { "Товар" }),
        cml::Requisite::new("ТипНоменклатуры", if service { "Услуга" } else { "Товар" }),
    ];
    Ok(out)
}

fn invoice_of(s: &mut Session<'_, '_, '_>, order: Uuid) -> Result<Option<Fields>> {
    let rows = s.query_system("invoice", &format!("$filter=_salesorderid_value eq {order}&$orderby=createdon"))?;
    Ok(rows.into_iter().next())
}

fn order_ref(id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: "salesorder".into(), id })
}

/// The order a 1C document is about: by the Ид Relata sent, else by its
/// number.
fn find_order(s: &mut Session<'_, '_, '_>, doc: &cml::Order) -> Result<Option<Fields>> {
    if let Ok(id) = Uuid::parse_str(doc.id.trim()) {
        if let Some(o) = s.read_system("salesorder", id)? {
            return Ok(Some(o));
        }
    }
    let number = doc.number.trim();
    if number.is_empty() {
        return Ok(None);
    }
    let rows = s.query_system("salesorder", &format!("$filter=ordernumber eq {}", quote(number)))?;
    Ok(rows.into_iter().next())
}

fn when(t: Option<NaiveDateTime>, now: DateTime<Utc>) -> DateTime<Utc> {
    t.map(|t| t.and_utc()).unwrap_or(now)
}

/// Applies what 1C says about an order.
pub(super) fn apply_status(s: &mut Session<'_, '_, '_>, doc: &cml::Order, tally: &mut Tally) -> Result<()> {
    let Some(order) = find_order(s, doc)? else {
        tally.warn(format!(
            "1C sent document {} ({}) for an order Relata does not have; it was skipped",
            doc.number, doc.id
        ));
        return Ok(());
    };
    let id = order.get("salesorderid").and_then(Value::as_uuid).unwrap_or_default();
    let facts = doc.status();
    let state = order.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    let mut changed = false;
    if facts.is_canceled() {
        if state != 2 {
            let close = RecordInput::new(vec![
                ("subject".into(), Value::String(format!("Canceled in 1C ({})", doc.number))),
                ("salesorderid".into(), order_ref(id)),
            ]);
            s.cancel_sales_order(CloseRequest { close, status: None })?;
            changed = true;
        }
    } else {
        if let Some(shipped) = facts.shipped.as_ref().filter(|d| d.number.is_some() || d.date.is_some()) {
            if state < 3 {
                let number = shipped.number.clone().unwrap_or_default();
                let on = when(shipped.date, s.now);
                let close = RecordInput::new(vec![
                    ("subject".into(), Value::String(format!("Shipped in 1C: {number} of {}", on.date_naive()))),
                    ("salesorderid".into(), order_ref(id)),
                    ("actualend".into(), Value::DateTime(on)),
                ]);
                s.fulfill_sales_order(CloseRequest { close, status: Some(100_001) })?;
                changed = true;
            }
        }
        if let Some(paid) = facts.paid.as_ref().filter(|d| d.number.is_some() || d.date.is_some()) {
            let invoice = match invoice_of(s, id)? {
                Some(inv) => inv,
                None => {
                    let inv = s.convert_sales_order_to_invoice(id)?;
                    s.read_system("invoice", inv)?.unwrap_or_default()
                }
            };
            let invoice_id = invoice.get("invoiceid").and_then(Value::as_uuid).unwrap_or_default();
            let due = money(&invoice, "totalamount") - money(&invoice, "relata_amountpaid");
            let reference = paid.number.clone().unwrap_or_default();
            let already = s.query_system(
                "relata_payment",
                &format!(
                    "$filter=_relata_invoiceid_value eq {invoice_id} and relata_reference eq {}",
                    quote(&reference)
                ),
            )?;
            if due > Decimal::ZERO && already.is_empty() {
                s.create(
                    "relata_payment",
                    RecordInput::new(vec![
                        ("relata_invoiceid".into(), Value::Ref(EntityRef { entity: "invoice".into(), id: invoice_id })),
                        ("relata_amount".into(), Value::Decimal(due)),
                        ("relata_paidon".into(), Value::DateTime(when(paid.date, s.now))),
                        ("relata_reference".into(), Value::String(reference.chars().take(100).collect())),
                        ("description".into(), Value::String("Payment recorded in 1C".into())),
                    ]),
                )?;
                changed = true;
            }
        }
    }
    let number_1c = facts.number_in_1c.clone().or_else(|| doc.number_1c.clone());
    let mut stamp = Fields::new();
    if let Some(n) = number_1c.filter(|n| Some(n.as_str()) != text(&order, "relata_exchangenumber").as_deref()) {
        stamp.insert("relata_exchangenumber".into(), Value::String(n.chars().take(100).collect()));
        changed = true;
    }
    if changed {
        stamp.insert("relata_exchangeimportedon".into(), Value::DateTime(s.now));
        s.system_update("salesorder", id, stamp)?;
        tally.updated += 1;
    } else {
        tally.unchanged += 1;
    }
    Ok(())
}

/// `info`: the order statuses and payment systems 1C maps its own to.
pub(super) fn info() -> String {
    let states = [("0", "Активный"), ("1", "Отправлен"), ("2", "Отменен"), ("3", "Выполнен"), ("4", "Выставлен счет")];
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Справочник>\n");
    // 1C matches the element's name with a Latin "C", as the 1C-Bitrix
    // module spells it.
    xml.push_str("  <Cтатусы>\n");
    for (id, name) in states {
        xml.push_str(&format!("    <Элемент><Ид>{id}</Ид><Название>{name}</Название></Элемент>\n"));
    }
    xml.push_str("  </Cтатусы>\n  <ПлатежныеСистемы>\n");
    for (id, name) in [("1", "Банковский перевод"), ("2", "Карта"), ("3", "Наличные"), ("4", "Другое")]
    {
        xml.push_str(&format!("    <Элемент><Ид>{id}</Ид><Название>{name}</Название></Элемент>\n"));
    }
    xml.push_str("  </ПлатежныеСистемы>\n</Справочник>\n");
    xml
}
