//! The default templates, rendered and read back out of the PDF.
mod common;

use common::{all_text, assert_contains, flat, pages_text};
use relata_print::{default_template, render_pdf};
use serde_json::json;

fn render(entity: &str, lcid: u32, context: &serde_json::Value) -> Vec<u8> {
    let template = default_template(entity, lcid).expect("a default template");
    relata_print::check_template(template).expect("the default template checks");
    render_pdf(template, context).expect("the default template renders")
}

#[test]
fn every_default_template_exists() {
    for entity in ["quote", "salesorder", "invoice"] {
        for lcid in [1033, 1049, 2057] {
            assert!(default_template(entity, lcid).is_some(), "{entity} {lcid}");
        }
        assert!(default_template(entity, 1031).is_none(), "no German templates");
    }
    assert!(default_template("opportunity", 1033).is_none());
    assert_eq!(default_template("Invoice", 1049), default_template("invoice", 1049));
}

#[test]
fn russian_invoice() {
    let pdf = render("invoice", 1049, &common::russian("invoice", 1));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = all_text(&pdf);
    assert_contains(
        &text,
        &[
            "ПАО Сбербанк, г. Москва",
            "Банк получателя",
            "БИК",
            "044525225",
            "30101810400000000225",
            "40702810938000000001",
            "ИНН 7701234567",
            "КПП 770101001",
            "Счёт на оплату № СЧ-00017 от 24 ноября 2026 г.",
            "Поставщик (Исполнитель):",
            "ООО «Ромашка»",
            "Покупатель (Заказчик):",
            "АО «Лютик», ИНН 7802345678, КПП 780201001",
            "Основание: Договор № 12/26 от 01.02.2026",
            "№ Товары (работы, услуги) Кол-во Ед. Цена Сумма",
            "Монтаж системы видеонаблюдения на объекте заказчика",
            "1 028,75",
            "Итого: 1 028,75",
            "Сумма НДС: 205,75",
            "Всего к оплате: 1 234,50",
            "Всего наименований 1, на сумму 1 234,50 ₽",
            "Одна тысяча двести тридцать четыре рубля 50 копеек",
            "Оплатить не позднее 08.12.2026",
            "Руководитель",
            "Иванов И. И.",
            "Бухгалтер",
            "Петрова А. С.",
            "Стр. 1 из 1",
        ],
    );
    assert!(!text.contains("Скидка"), "no discount column without discounts");
}

#[test]
fn english_invoice() {
    let pdf = render("invoice", 1033, &common::english("invoice", 1));
    let text = all_text(&pdf);
    assert_contains(
        &text,
        &[
            "Acme Analytics Ltd",
            "12 High Street, London EC1A 1BB, United Kingdom",
            "VAT No. GB123456789",
            "INVOICE",
            "Invoice No. INV-01042",
            "Date Nov 24, 2026",
            "Due date Dec 24, 2026",
            "Bill To Globex Corporation",
            "VAT No. DE123456789",
            "# Product Qty Unit Unit Price Discount Tax Amount",
            "Consulting services, on-site workshop with the customer's team",
            "$1,038.75",
            "$10.00",
            "Detail Amount $1,028.75",
            "Tax $205.75",
            "Total $1,234.50",
            "Amount Paid $234.50",
            "Balance Due $1,000.00",
            "Barclays Bank PLC",
            "GB33BUKB20201555555555",
            "BUKBGB22",
            "Please pay by December 24, 2026",
            "Page 1 of 1",
        ],
    );
    assert!(flat(&text).contains("1,234.50"));
}

#[test]
fn quotes_and_orders_in_both_languages() {
    let text = all_text(&render("quote", 1049, &common::russian("quote", 1)));
    assert_contains(
        &text,
        &[
            "Коммерческое предложение",
            "№ СЧ-00017 от 24 ноября 2026 г.",
            "Кому: АО «Лютик»",
            "Действительно до: 24.12.2026",
            "Всего: 1 234,50 ₽",
            "Одна тысяча двести тридцать четыре рубля 50 копеек",
            "Предложение действительно до 24 декабря 2026 г.",
        ],
    );

    let text = all_text(&render("quote", 1033, &common::english("quote", 1)));
    assert_contains(
        &text,
        &[
            "QUOTE",
            "Quote No. INV-01042",
            "Revision 3",
            "Valid until Dec 24, 2026",
            "Prepared For Globex Corporation",
            "Total $1,234.50",
            "This quote is valid until December 24, 2026.",
            "Accepted by:",
        ],
    );
    assert!(!text.contains("Balance Due"));

    let text = all_text(&render("salesorder", 1049, &common::russian("salesorder", 1)));
    assert_contains(
        &text,
        &[
            "Заказ покупателя № СЧ-00017 от 24 ноября 2026 г.",
            "Поставщик: ООО «Ромашка»",
            "Покупатель: АО «Лютик»",
            "Всего: 1 234,50",
            "Одна тысяча двести тридцать четыре рубля 50 копеек",
        ],
    );

    let text = all_text(&render("salesorder", 1033, &common::english("salesorder", 1)));
    assert_contains(&text, &["SALES ORDER", "Order No. INV-01042", "Bill To Globex Corporation", "Total $1,234.50"]);
}

#[test]
fn missing_values_print_as_empty() {
    let empty = json!({});
    let partial =
        json!({ "language": 1049, "document": { "number": "7", "currency": null }, "lines": [ {"name": "X"} ] });
    for entity in ["quote", "salesorder", "invoice"] {
        for lcid in [1033, 1049] {
            for context in [&empty, &partial, &json!(null), &json!([1, 2, 3])] {
                let pdf = render(entity, lcid, context);
                let text = all_text(&pdf);
                assert!(!text.contains("none") && !text.contains("undefined"), "{entity} {lcid}: {text}");
            }
        }
    }
}

#[test]
fn a_long_invoice_breaks_into_pages_with_the_header_repeated() {
    for (lcid, context, header, totals_label, page_label) in [
        (1049, common::russian("invoice", 200), "Товары (работы, услуги)", "Всего к оплате:", "Стр."),
        (1033, common::english("invoice", 200), "Unit Price", "Balance Due", "Page"),
    ] {
        let pdf = render("invoice", lcid, &context);
        let pages = pages_text(&pdf);
        let count = pages.len();
        assert!(count > 1, "{lcid}: 200 lines on {count} page(s)");
        for (i, page) in pages.iter().enumerate() {
            assert!(page.contains(header), "{lcid}: page {} has no table header", i + 1);
            let label = if lcid == 1049 {
                format!("{page_label} {} из {count}", i + 1)
            } else {
                format!("{page_label} {} of {count}", i + 1)
            };
            assert!(page.contains(&label), "{lcid}: page {} lacks `{label}`", i + 1);
            assert_eq!(page.contains(totals_label), i + 1 == count, "{lcid}: totals only on the last page");
        }
        // Every line is printed, once, in order.
        let text = flat(&pages.join(" "));
        let mut from = 0;
        for n in 1..=200 {
            let name = match n % 3 {
                1 => {
                    if lcid == 1049 {
                        "Монтаж"
                    } else {
                        "Consulting"
                    }
                }
                2 => {
                    if lcid == 1049 {
                        "Камера"
                    } else {
                        "Support"
                    }
                }
                _ => {
                    if lcid == 1049 {
                        "Кабель"
                    } else {
                        "Travel"
                    }
                }
            };
            let needle = format!(" {n} {name}");
            let at = text[from..].find(&needle).unwrap_or_else(|| panic!("{lcid}: line {n} missing or out of order"));
            from += at + needle.len();
        }
        let last = flat(pages.last().unwrap());
        if lcid == 1049 {
            // 67 × 1 234,50 + 67 × 12 000,00 + 66 × 3 666,00 = 1 128 667,50
            assert_contains(
                &last,
                &[
                    "Всего к оплате: 1 128 667,50",
                    "Один миллион сто двадцать восемь тысяч шестьсот шестьдесят семь рублей 50 копеек",
                ],
            );
        } else {
            // 67 × 1,234.50 + 67 × 1,200.00 + 66 × 150.00 = 173,011.50
            assert_contains(&last, &["Total $173,011.50", "Amount Paid $500.00", "Balance Due $172,511.50"]);
        }
    }
}

#[test]
fn a_one_page_invoice_is_small() {
    for (lcid, context) in [(1049, common::russian("invoice", 8)), (1033, common::english("invoice", 8))] {
        let pdf = render("invoice", lcid, &context);
        assert_eq!(pages_text(&pdf).len(), 1);
        assert!(pdf.len() < 100 * 1024, "{lcid}: {} bytes", pdf.len());
    }
}
