//! Writing the document a site answers to `type=sale&mode=query`: one
//! `Документ` per order, laid out as 1C-Bitrix does, because that is the
//! layout 1C's exchange is tested against.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::decode::{encode, Encoding};
use crate::model::{Counterparty, Discount, Order, OrderLine, Requisite, Tax, TaxRate};
use crate::names::*;
use crate::SchemaVersion;

/// The orders document, stamped with the current local time.
pub fn write_orders(orders: &[Order], version: SchemaVersion, encoding: Encoding) -> Vec<u8> {
    write_orders_at(orders, version, encoding, chrono::Local::now().naive_local())
}

/// The orders document with `ДатаФормирования` = `generated_at`.
///
/// Empty `operation`, `role` (document and counterparty) and
/// representative `relation` are written as a site writes them: `Заказ
/// товара`, `Продавец`, `Покупатель`, `Контактное лицо`. From 2.05 on the
/// root carries Bitrix's date and number format attributes; from 3.1 on
/// each document is wrapped in its own `Контейнер`. With
/// [`Encoding::Windows1251`], characters outside that code page become
/// numeric character references, so nothing is lost.
pub fn write_orders_at(
    orders: &[Order],
    version: SchemaVersion,
    encoding: Encoding,
    generated_at: NaiveDateTime,
) -> Vec<u8> {
    let mut w = Writer::default();
    w.out.push_str(&format!("<?xml version=\"1.0\" encoding=\"{}\"?>\n", encoding.label()));
    let stamp = generated_at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut attributes = vec![(SCHEMA_VERSION, version.as_str()), (GENERATED_AT, stamp.as_str())];
    if version >= SchemaVersion::V2_05 {
        attributes.extend(FORMAT_ATTRIBUTES);
    }
    w.open(ROOT, &attributes);
    for order in orders {
        if version.uses_containers() {
            w.open(CONTAINER, &[]);
            document(&mut w, order);
            w.close(CONTAINER);
        } else {
            document(&mut w, order);
        }
    }
    w.close(ROOT);
    encode(w.out, encoding)
}

fn document(w: &mut Writer, order: &Order) {
    w.open(DOCUMENT, &[]);
    w.leaf(ID, &order.id);
    w.leaf(NUMBER, &order.number);
    if let Some(date) = order.date {
        w.leaf(DATE, &date.format("%Y-%m-%d").to_string());
    }
    w.leaf(OPERATION, or_default(&order.operation, OPERATION_ORDER));
    w.leaf(ROLE, or_default(&order.role, ROLE_SELLER));
    w.leaf(CURRENCY, &order.currency);
    w.decimal(EXCHANGE_RATE, order.exchange_rate);
    w.decimal(AMOUNT, order.amount);
    w.open(COUNTERPARTIES, &[]);
    for party in &order.counterparties {
        counterparty(w, party);
    }
    w.close(COUNTERPARTIES);
    if let Some(date) = order.date {
        w.leaf(TIME, &date.format("%H:%M:%S").to_string());
    }
    w.leaf(COMMENT, order.comment.as_deref().unwrap_or_default());
    taxes(w, &order.taxes);
    discounts(w, &order.discounts);
    w.open(PRODUCTS, &[]);
    for line in &order.lines {
        order_line(w, line);
    }
    w.close(PRODUCTS);
    requisites(w, &order.requisites);
    w.close(DOCUMENT);
}

fn counterparty(w: &mut Writer, party: &Counterparty) {
    w.open(COUNTERPARTY, &[]);
    w.leaf(ID, &party.id);
    w.leaf(NAME, &party.name);
    w.leaf(ROLE, or_default(&party.role, ROLE_BUYER));
    // A person (no official name) always gets ПолноеНаименование and
    // АдресРегистрации, empty when unknown, as Bitrix writes them.
    let person = party.official_name.is_none();
    if person {
        w.leaf(FULL_NAME, party.full_name.as_deref().unwrap_or_default());
    } else {
        w.opt_leaf(FULL_NAME, party.full_name.as_deref());
    }
    w.opt_leaf(OFFICIAL_NAME, party.official_name.as_deref());
    w.opt_leaf(LAST_NAME, party.last_name.as_deref());
    w.opt_leaf(FIRST_NAME, party.first_name.as_deref());
    w.opt_leaf(MIDDLE_NAME, party.middle_name.as_deref());
    w.opt_leaf(INN, party.inn.as_deref());
    w.opt_leaf(KPP, party.kpp.as_deref());
    for (name, address) in [
        (REGISTRATION_ADDRESS, &party.registration_address),
        (LEGAL_ADDRESS, &party.legal_address),
        (ADDRESS, &party.address),
    ] {
        if address.is_some() || (person && name == REGISTRATION_ADDRESS) {
            w.open(name, &[]);
            w.leaf(PRESENTATION, address.as_deref().unwrap_or_default());
            w.close(name);
        }
    }
    if !party.contacts.is_empty() {
        w.open(CONTACTS, &[]);
        for contact in &party.contacts {
            w.open(CONTACT, &[]);
            w.leaf(TYPE, &contact.kind);
            w.leaf(VALUE, &contact.value);
            w.close(CONTACT);
        }
        w.close(CONTACTS);
    }
    if !party.representatives.is_empty() {
        w.open(REPRESENTATIVES, &[]);
        for person in &party.representatives {
            // Bitrix wraps the person in a `Контрагент`; 1C reads that form.
            w.open(REPRESENTATIVE, &[]);
            w.open(COUNTERPARTY, &[]);
            w.leaf(RELATION, or_default(&person.relation, RELATION_CONTACT));
            w.leaf(ID, &person.id);
            w.leaf(NAME, &person.name);
            w.close(COUNTERPARTY);
            w.close(REPRESENTATIVE);
        }
        w.close(REPRESENTATIVES);
    }
    w.close(COUNTERPARTY);
}

fn order_line(w: &mut Writer, line: &OrderLine) {
    w.open(PRODUCT, &[]);
    w.leaf(ID, &line.id);
    w.opt_leaf(CATALOG_ID, line.catalog_id.as_deref());
    w.leaf(NAME, &line.name);
    if let Some(unit) = &line.unit {
        let mut attributes = Vec::new();
        for (name, value) in [
            (CODE, &unit.code),
            (UNIT_FULL_NAME, &unit.full_name),
            (INTERNATIONAL_ABBREVIATION, &unit.international_abbreviation),
        ] {
            if let Some(value) = value {
                attributes.push((name, value.as_str()));
            }
        }
        w.leaf_with(BASE_UNIT, &attributes, unit.short_name.as_deref().unwrap_or_default());
    }
    if let Some(factor) = line.factor {
        w.decimal(FACTOR, factor);
    }
    w.decimal(UNIT_PRICE, line.unit_price);
    w.decimal(QUANTITY, line.quantity);
    w.decimal(AMOUNT, line.amount);
    discounts(w, &line.discounts);
    taxes(w, &line.taxes);
    tax_rates(w, &line.tax_rates);
    requisites(w, &line.requisites);
    w.close(PRODUCT);
}

fn discounts(w: &mut Writer, discounts: &[Discount]) {
    if discounts.is_empty() {
        return;
    }
    w.open(DISCOUNTS, &[]);
    for discount in discounts {
        w.open(DISCOUNT, &[]);
        w.leaf(NAME, &discount.name);
        w.decimal(AMOUNT, discount.amount);
        if let Some(percent) = discount.percent {
            w.decimal(PERCENT, percent);
        }
        w.leaf(INCLUDED_IN_AMOUNT, bool_text(discount.included_in_amount));
        w.close(DISCOUNT);
    }
    w.close(DISCOUNTS);
}

fn taxes(w: &mut Writer, taxes: &[Tax]) {
    if taxes.is_empty() {
        return;
    }
    w.open(TAXES, &[]);
    for tax in taxes {
        w.open(TAX, &[]);
        w.leaf(NAME, &tax.name);
        w.leaf(INCLUDED_IN_AMOUNT, bool_text(tax.included_in_amount));
        w.decimal(AMOUNT, tax.amount);
        w.opt_leaf(RATE, tax.rate.as_deref());
        w.close(TAX);
    }
    w.close(TAXES);
}

fn tax_rates(w: &mut Writer, rates: &[TaxRate]) {
    if rates.is_empty() {
        return;
    }
    w.open(TAX_RATES, &[]);
    for rate in rates {
        w.open(TAX_RATE, &[]);
        w.leaf(NAME, &rate.name);
        w.leaf(RATE, &rate.rate);
        w.close(TAX_RATE);
    }
    w.close(TAX_RATES);
}

fn requisites(w: &mut Writer, requisites: &[Requisite]) {
    if requisites.is_empty() {
        return;
    }
    w.open(REQUISITES, &[]);
    for requisite in requisites {
        w.open(REQUISITE, &[]);
        w.leaf(NAME, &requisite.name);
        w.leaf(VALUE, &requisite.value);
        w.close(REQUISITE);
    }
    w.close(REQUISITES);
}

fn or_default<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.trim().is_empty() {
        default
    } else {
        value
    }
}

fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// An indenting XML text builder; element names are trusted constants,
/// everything else is escaped.
#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push('\t');
        }
    }

    fn start_tag(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value);
            self.out.push('"');
        }
    }

    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.start_tag(name, attributes);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn leaf_with(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.start_tag(name, attributes);
        self.out.push('>');
        escape_into(&mut self.out, text);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_with(name, &[], text);
    }

    fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    fn decimal(&mut self, name: &str, value: Decimal) {
        self.leaf(name, &value.to_string());
    }
}

/// Escapes markup characters and drops characters XML 1.0 cannot carry
/// at all (most C0 controls), which would make 1C reject the whole file.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}
