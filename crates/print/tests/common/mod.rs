//! Realistic contexts and a PDF text extractor shared by the tests.
#![allow(dead_code)]

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{json, Value};

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or("0")).unwrap()
}

/// Totals that add up: detail = Σ net, total = detail + tax, due = total − paid.
fn totals(lines: &[Value], paid: &str) -> Value {
    let sum = |key: &str| lines.iter().map(|l| dec(&l[key])).sum::<Decimal>();
    let detail = sum("net");
    let tax = sum("tax");
    let line_discount = sum("manual_discount") + sum("volume_discount");
    let total = detail + tax;
    let paid = Decimal::from_str(paid).unwrap();
    json!({
        "detail": detail.to_string(), "discount": "0", "line_discount": line_discount.to_string(),
        "freight": "0", "tax": tax.to_string(), "total": total.to_string(),
        "paid": paid.to_string(), "due": (total - paid).to_string()
    })
}

pub fn russian(kind: &str, lines: usize) -> Value {
    let mut items = Vec::new();
    for i in 1..=lines {
        let (name, qty, price, net, tax, amount) = match i % 3 {
            1 => {
                ("Монтаж системы видеонаблюдения на объекте заказчика", "1", "1028.75", "1028.75", "205.75", "1234.50")
            }
            2 => ("Камера IP 4 Мп уличная", "2", "5000.00", "10000.00", "2000.00", "12000.00"),
            _ => ("Кабель UTP 5e", "305.5", "10.00", "3055.00", "611.00", "3666.00"),
        };
        items.push(json!({
            "number": i, "name": name, "quantity": qty, "unit": if i % 3 == 0 { "м" } else { "шт." },
            "price": price, "manual_discount": "0", "volume_discount": "0",
            "tax": tax, "tax_rate": "20", "net": net, "amount": amount
        }));
    }
    json!({
        "language": 1049,
        "document": {
            "kind": kind, "number": "СЧ-00017", "name": "Видеонаблюдение", "date": "2026-11-24",
            "due_date": "2026-12-08", "valid_until": "2026-12-24", "revision": "2",
            "description": "Договор № 12/26 от 01.02.2026",
            "currency": { "code": "RUB", "symbol": "₽", "precision": 2 }
        },
        "seller": {
            "legal_name": "ООО «Ромашка»", "inn": "7701234567", "kpp": "770101001", "ogrn": "1027700000001",
            "address": "125009, г. Москва, ул. Тверская, д. 1, офис 5", "phone": "+7 495 123-45-67",
            "email": "info@romashka.example",
            "bank": {
                "name": "ПАО Сбербанк, г. Москва", "bic": "044525225",
                "account": "40702810938000000001", "correspondent_account": "30101810400000000225",
                "swift": "SABRRUMM"
            },
            "director": "Иванов И. И.", "accountant": "Петрова А. С."
        },
        "customer": {
            "name": "АО «Лютик»", "inn": "7802345678", "kpp": "780201001",
            "address": "190000, г. Санкт-Петербург, Невский пр., д. 10", "phone": "+7 812 765-43-21"
        },
        "lines": items,
        "totals": totals(&items, "0")
    })
}

pub fn english(kind: &str, lines: usize) -> Value {
    let mut items = Vec::new();
    for i in 1..=lines {
        let (name, qty, price, disc, net, tax, amount) = match i % 3 {
            1 => (
                "Consulting services, on-site workshop with the customer's team",
                "1",
                "1038.75",
                "10.00",
                "1028.75",
                "205.75",
                "1234.50",
            ),
            2 => ("Support subscription (12 months)", "2", "500.00", "0", "1000.00", "200.00", "1200.00"),
            _ => ("Travel expenses", "1.5", "100.00", "0", "150.00", "0", "150.00"),
        };
        items.push(json!({
            "number": i, "name": name, "quantity": qty, "unit": if i % 3 == 2 { "pcs" } else { "hour" },
            "price": price, "manual_discount": disc, "volume_discount": "0",
            "tax": tax, "tax_rate": "20", "net": net, "amount": amount
        }));
    }
    json!({
        "language": 1033,
        "document": {
            "kind": kind, "number": "INV-01042", "name": "Workshop", "date": "2026-11-24",
            "due_date": "2026-12-24", "valid_until": "2026-12-24", "revision": "3",
            "description": "PO 4500012345",
            "currency": { "code": "USD", "symbol": "$", "precision": 2 }
        },
        "seller": {
            "legal_name": "Acme Analytics Ltd", "vat_number": "GB123456789",
            "address": "12 High Street, London EC1A 1BB, United Kingdom", "phone": "+44 20 7946 0000",
            "email": "billing@acme.example",
            "bank": { "name": "Barclays Bank PLC", "account": "GB33BUKB20201555555555", "swift": "BUKBGB22" }
        },
        "customer": {
            "name": "Globex Corporation", "vat_number": "DE123456789",
            "address": "Friedrichstraße 100, 10117 Berlin, Germany", "email": "ap@globex.example"
        },
        "lines": items,
        "totals": totals(&items, if lines == 1 { "234.50" } else { "500.00" })
    })
}

/// Text of each page, with no-break spaces made plain so tests read easily.
pub fn pages_text(pdf: &[u8]) -> Vec<String> {
    let doc = lopdf::Document::load_mem(pdf).expect("the PDF parses");
    let pages = doc.get_pages();
    pages.keys().map(|&n| doc.extract_text(&[n]).expect("text extracts").replace('\u{a0}', " ")).collect()
}

pub fn all_text(pdf: &[u8]) -> String {
    pages_text(pdf).join("\n")
}

/// All text with every run of whitespace made one space, so wrapped lines
/// and separate text runs compare as plain prose.
/// A bold run next to a regular one comes out of the extractor as separate
/// text, so a space before punctuation is dropped too.
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace(" ,", ",").replace(" .", ".")
}

/// Asserts that each needle appears in the (flattened) haystack.
pub fn assert_contains(haystack: &str, needles: &[&str]) {
    let flat_haystack = flat(haystack);
    for needle in needles {
        assert!(flat_haystack.contains(&flat(needle)), "`{needle}` is missing from:\n{flat_haystack}");
    }
}
