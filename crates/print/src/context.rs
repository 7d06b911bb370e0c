//! The data a template is rendered over.
//!
//! [`render_pdf`](crate::render_pdf) takes any JSON value, so the engine may
//! build it however it likes; these types spell out the shape the default
//! templates read and give the engine a typed way to build it
//! (`serde_json::to_value(&context)`). Every field may be left out: a
//! missing value prints as nothing.
//!
//! Amounts, quantities and rates are decimal strings with a dot
//! (`"1234.5"`, `"-3"`, `"20"`). JSON numbers are accepted too and kept
//! exact, but strings are what the engine should send.

use serde::{Deserialize, Serialize};

/// The whole context: `{ language, document, seller, customer, lines, totals }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrintContext {
    /// The LCID of the document's language: 1049 prints Russian number and
    /// date formats and «Стр. 1 из 2»; anything else prints English.
    pub language: u32,
    /// The document itself.
    pub document: DocumentInfo,
    /// The organization issuing the document.
    pub seller: Seller,
    /// The account or contact the document is for.
    pub customer: Customer,
    /// The product lines, in print order.
    pub lines: Vec<Line>,
    /// The document's totals.
    pub totals: Totals,
}

/// `document`: what is being printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocumentInfo {
    /// `invoice`, `quote` or `salesorder`.
    pub kind: String,
    /// The document number, e.g. `INV-01042`.
    pub number: String,
    /// The record's name.
    pub name: String,
    /// Issue date, ISO `YYYY-MM-DD`.
    pub date: String,
    /// Payment due date (invoices), ISO.
    pub due_date: String,
    /// Last day the offer stands (quotes), ISO.
    pub valid_until: String,
    /// Revision number (quotes).
    pub revision: String,
    /// Free text: terms, notes, the basis of payment.
    pub description: String,
    /// The currency every amount is in.
    pub currency: Currency,
}

/// `document.currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Currency {
    /// ISO 4217 code, e.g. `RUB`, `USD`.
    pub code: String,
    /// Symbol printed by the `money` filter, e.g. `₽`. When empty the
    /// built-in symbol for the code is used, else the code itself.
    pub symbol: String,
    /// Digits after the decimal separator for amounts (2 for most currencies).
    pub precision: u32,
}

impl Default for Currency {
    fn default() -> Self {
        Currency { code: String::new(), symbol: String::new(), precision: 2 }
    }
}

/// `seller`: the issuing organization, with its registration and bank details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seller {
    /// Full legal name, e.g. `ООО «Ромашка»` or `Acme Ltd`.
    pub legal_name: String,
    /// ИНН (Russian taxpayer number).
    pub inn: String,
    /// КПП (Russian tax registration reason code).
    pub kpp: String,
    /// ОГРН (Russian state registration number).
    pub ogrn: String,
    /// VAT registration number (outside Russia).
    pub vat_number: String,
    /// Postal address, one string; line breaks are kept.
    pub address: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// The account payments go to.
    pub bank: Bank,
    /// Name of the head of the organization, for the signature line.
    pub director: String,
    /// Name of the chief accountant, for the signature line.
    pub accountant: String,
    /// The organization's logo, a base64 PNG or JPEG (empty: none), for
    /// `@image <height> {{ seller.logo }}`.
    pub logo: String,
}

/// `seller.bank`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bank {
    /// Bank name and city.
    pub name: String,
    /// БИК (Russian bank identification code).
    pub bic: String,
    /// Settlement account (р/с) or IBAN.
    pub account: String,
    /// Correspondent account (к/с).
    pub correspondent_account: String,
    /// SWIFT/BIC code for international transfers.
    pub swift: String,
}

/// `customer`: who the document is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    /// Legal or personal name.
    pub name: String,
    /// ИНН.
    pub inn: String,
    /// КПП.
    pub kpp: String,
    /// VAT registration number.
    pub vat_number: String,
    /// Postal or billing address.
    pub address: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

/// One element of `lines`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Line {
    /// Position, 1-based.
    pub number: u32,
    /// Product name or write-in description.
    pub name: String,
    /// Quantity, decimal string.
    pub quantity: String,
    /// Unit of measure, e.g. `шт.`, `pcs`, `hour`.
    pub unit: String,
    /// Price per unit.
    pub price: String,
    /// Discount entered by hand, as an amount for the whole line.
    pub manual_discount: String,
    /// Discount from the price list's volume rules, as an amount for the line.
    pub volume_discount: String,
    /// Tax amount for the line.
    pub tax: String,
    /// Tax rate in percent, e.g. `"20"`.
    pub tax_rate: String,
    /// Quantity × price − discounts, before tax.
    pub net: String,
    /// The line's total: `net` + `tax`.
    pub amount: String,
}

/// `totals`: the document's money summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    /// Sum of the lines' `amount` ("detail amount").
    pub detail: String,
    /// Discount on the whole document.
    pub discount: String,
    /// Sum of the lines' discounts, for information.
    pub line_discount: String,
    /// Freight (delivery) amount.
    pub freight: String,
    /// Total tax.
    pub tax: String,
    /// Grand total to pay.
    pub total: String,
    /// Amount already paid (invoices).
    pub paid: String,
    /// Balance due (invoices): `total` − `paid`.
    pub due: String,
}

impl PrintContext {
    /// A filled-in example in the given language, used to try templates out
    /// when an administrator saves one.
    pub fn sample(language: u32, kind: &str) -> PrintContext {
        let ru = crate::format::Lang::from_lcid(language) == crate::format::Lang::Ru;
        let currency = if ru {
            Currency { code: "RUB".into(), symbol: "₽".into(), precision: 2 }
        } else {
            Currency { code: "USD".into(), symbol: "$".into(), precision: 2 }
        };
        let line = |n: u32, name: &str, qty: &str, price: &str, net: &str, tax: &str, amount: &str| Line {
            number: n,
            name: name.into(),
            quantity: qty.into(),
            unit: if ru { "шт." } else { "pcs" }.into(),
            price: price.into(),
            manual_discount: "10.00".into(),
            volume_discount: "5.00".into(),
            tax: tax.into(),
            tax_rate: "20".into(),
            net: net.into(),
            amount: amount.into(),
        };
        PrintContext {
            language,
            document: DocumentInfo {
                kind: kind.into(),
                number: "INV-00017".into(),
                name: "Sample".into(),
                date: "2026-11-24".into(),
                due_date: "2026-12-08".into(),
                valid_until: "2026-12-24".into(),
                revision: "1".into(),
                description: "Sample description".into(),
                currency,
            },
            seller: Seller {
                legal_name: "Sample Seller".into(),
                inn: "7701234567".into(),
                kpp: "770101001".into(),
                ogrn: "1027700000000".into(),
                vat_number: "GB123456789".into(),
                address: "1 Sample Street".into(),
                phone: "+1 555 0100".into(),
                email: "billing@example.com".into(),
                bank: Bank {
                    name: "Sample Bank".into(),
                    bic: "044525225".into(),
                    account: "40702810900000000001".into(),
                    correspondent_account: "30101810400000000225".into(),
                    swift: "SABRRUMM".into(),
                },
                director: "A. Director".into(),
                accountant: "B. Accountant".into(),
                // One transparent pixel, so trial renders draw `@image` too.
                logo:
                    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
                        .into(),
            },
            customer: Customer {
                name: "Sample Customer".into(),
                inn: "7702345678".into(),
                kpp: "770201001".into(),
                vat_number: "DE123456789".into(),
                address: "2 Sample Avenue".into(),
                phone: "+1 555 0199".into(),
                email: "ap@example.org".into(),
            },
            lines: vec![
                line(1, "Widget", "2", "100.00", "185.00", "37.00", "222.00"),
                line(2, "Service hour", "1.5", "40.00", "45.00", "9.00", "54.00"),
            ],
            totals: Totals {
                detail: "276.00".into(),
                discount: "6.00".into(),
                line_discount: "30.00".into(),
                freight: "10.00".into(),
                tax: "46.00".into(),
                total: "280.00".into(),
                paid: "100.00".into(),
                due: "180.00".into(),
            },
        }
    }
}
