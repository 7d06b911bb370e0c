//! The formatting behind the template filters, and the filters themselves.
use relata_print::format::{self, CurrencyInfo, DateStyle, Lang};
use relata_print::render_markup;
use rust_decimal::Decimal;
use serde_json::json;

fn d(s: &str) -> Decimal {
    format::parse_decimal(s).unwrap()
}

fn rub() -> CurrencyInfo {
    CurrencyInfo::from_code("RUB")
}

fn words_ru(amount: &str) -> String {
    format::amount_in_words(d(amount), &rub(), Lang::Ru)
}

#[test]
fn russian_amounts_in_words() {
    let cases = [
        ("0", "Ноль рублей 00 копеек"),
        ("1", "Один рубль 00 копеек"),
        ("2", "Два рубля 00 копеек"),
        ("5", "Пять рублей 00 копеек"),
        ("11", "Одиннадцать рублей 00 копеек"),
        ("12", "Двенадцать рублей 00 копеек"),
        ("14", "Четырнадцать рублей 00 копеек"),
        ("21", "Двадцать один рубль 00 копеек"),
        ("22", "Двадцать два рубля 00 копеек"),
        ("111", "Сто одиннадцать рублей 00 копеек"),
        ("1000", "Одна тысяча рублей 00 копеек"),
        ("2000", "Две тысячи рублей 00 копеек"),
        ("5000", "Пять тысяч рублей 00 копеек"),
        ("11000", "Одиннадцать тысяч рублей 00 копеек"),
        ("21000", "Двадцать одна тысяча рублей 00 копеек"),
        ("2000000", "Два миллиона рублей 00 копеек"),
        ("5000000", "Пять миллионов рублей 00 копеек"),
        ("1000000000", "Один миллиард рублей 00 копеек"),
        ("1234.5", "Одна тысяча двести тридцать четыре рубля 50 копеек"),
        ("1234567.89", "Один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь рублей 89 копеек"),
        ("0.01", "Ноль рублей 01 копейка"),
        ("0.02", "Ноль рублей 02 копейки"),
        ("0.05", "Ноль рублей 05 копеек"),
        ("0.11", "Ноль рублей 11 копеек"),
        ("0.21", "Ноль рублей 21 копейка"),
        ("0.24", "Ноль рублей 24 копейки"),
        ("101.01", "Сто один рубль 01 копейка"),
        ("2.999", "Три рубля 00 копеек"),
        ("-15", "Минус пятнадцать рублей 00 копеек"),
    ];
    for (amount, expected) in cases {
        assert_eq!(words_ru(amount), expected, "{amount}");
    }
}

#[test]
fn other_currencies_in_words() {
    let usd = CurrencyInfo::from_code("USD");
    let eur = CurrencyInfo::from_code("EUR");
    let chf = CurrencyInfo::from_code("CHF");
    let jpy = CurrencyInfo::from_code("JPY");
    assert_eq!(format::amount_in_words(d("2000"), &usd, Lang::Ru), "Две тысячи долларов США 00 центов");
    assert_eq!(format::amount_in_words(d("1.01"), &usd, Lang::Ru), "Один доллар США 01 цент");
    assert_eq!(format::amount_in_words(d("3"), &eur, Lang::Ru), "Три евро 00 центов");
    assert_eq!(format::amount_in_words(d("100.5"), &chf, Lang::Ru), "Сто CHF 50/100");
    assert_eq!(
        format::amount_in_words(d("1234.5"), &usd, Lang::En),
        "One thousand two hundred thirty-four US dollars and 50 cents"
    );
    assert_eq!(format::amount_in_words(d("1.01"), &usd, Lang::En), "One US dollar and 01 cent");
    assert_eq!(
        format::amount_in_words(d("1234567.89"), &rub(), Lang::En),
        "One million two hundred thirty-four thousand five hundred sixty-seven rubles and 89 kopecks"
    );
    assert_eq!(format::amount_in_words(d("100.5"), &chf, Lang::En), "One hundred CHF and 50/100");
    assert_eq!(format::amount_in_words(d("1500"), &jpy, Lang::En), "One thousand five hundred JPY");
    assert_eq!(format::amount_in_words(d("0"), &usd, Lang::En), "Zero US dollars and 00 cents");
}

#[test]
fn money() {
    let usd = CurrencyInfo::from_code("USD");
    let chf = CurrencyInfo::from_code("CHF");
    let nbsp = '\u{a0}';
    assert_eq!(format::money(d("1234567.891"), &rub(), Lang::Ru), format!("1{nbsp}234{nbsp}567,89{nbsp}₽"));
    assert_eq!(format::money(d("1234.5"), &rub(), Lang::Ru), format!("1{nbsp}234,50{nbsp}₽"));
    assert_eq!(format::money(d("1234567.89"), &rub(), Lang::En), "₽1,234,567.89");
    assert_eq!(format::money(d("-1234.5"), &usd, Lang::En), "-$1,234.50");
    assert_eq!(format::money(d("0.5"), &usd, Lang::En), "$0.50");
    assert_eq!(format::money(d("999.995"), &usd, Lang::En), "$1,000.00");
    assert_eq!(format::money(d("12"), &chf, Lang::En), format!("CHF{nbsp}12.00"));
    assert_eq!(format::money(d("12"), &CurrencyInfo::from_code("JPY"), Lang::En), "¥12");
    assert_eq!(format::money(d("12"), &CurrencyInfo::from_code("KWD"), Lang::Ru), format!("12,000{nbsp}KWD"));
    assert_eq!(format::amount(d("1234.5"), &rub(), Lang::Ru), format!("1{nbsp}234,50"));
    assert_eq!(format::amount(d("1234.5"), &rub(), Lang::En), "1,234.50");
}

#[test]
fn numbers() {
    let nbsp = '\u{a0}';
    assert_eq!(format::number(d("2.500"), None, Lang::Ru), "2,5");
    assert_eq!(format::number(d("2.500"), None, Lang::En), "2.5");
    assert_eq!(format::number(d("1000"), None, Lang::Ru), format!("1{nbsp}000"));
    assert_eq!(format::number(d("1000.000"), None, Lang::En), "1,000");
    assert_eq!(format::number(d("0.000"), None, Lang::En), "0");
    assert_eq!(format::number(d("2.5"), Some(3), Lang::Ru), "2,500");
    assert_eq!(format::number(d("-12345.6"), None, Lang::En), "-12,345.6");
}

#[test]
fn dates() {
    let date = format::parse_date("2026-11-24").unwrap();
    assert_eq!(format::date(date, DateStyle::Short, Lang::Ru), "24.11.2026");
    assert_eq!(format::date(date, DateStyle::Short, Lang::En), "Nov 24, 2026");
    assert_eq!(format::date(date, DateStyle::Long, Lang::Ru), "24 ноября 2026 г.");
    assert_eq!(format::date(date, DateStyle::Long, Lang::En), "November 24, 2026");
    let date = format::parse_date("2026-03-01T09:30:00+03:00").unwrap();
    assert_eq!(format::date(date, DateStyle::Short, Lang::Ru), "01.03.2026");
    assert_eq!(format::date(date, DateStyle::Long, Lang::Ru), "1 марта 2026 г.");
}

#[test]
fn languages() {
    assert_eq!(Lang::from_lcid(1049), Lang::Ru);
    assert_eq!(Lang::from_lcid(1033), Lang::En);
    assert_eq!(Lang::from_lcid(2073), Lang::Ru, "ru-MD");
    assert_eq!(Lang::from_lcid(1031), Lang::En, "German prints in English");
    assert_eq!(Lang::from_tag("ru-RU"), Lang::Ru);
    assert_eq!(Lang::from_tag("1049"), Lang::Ru);
    assert_eq!(Lang::from_tag("en"), Lang::En);
}

/// Renders one expression and strips the markup escapes from the result.
fn eval(expr: &str, context: serde_json::Value) -> String {
    let markup = render_markup(&format!("{{{{ {expr} }}}}"), &context).unwrap();
    let mut out = String::new();
    let mut chars = markup.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|n| n.is_ascii_punctuation()) {
            continue;
        }
        out.push(c);
    }
    out.replace('\u{a0}', " ")
}

#[test]
fn filters_follow_the_document_language_and_currency() {
    let ru = json!({ "language": 1049, "document": { "currency": { "code": "RUB", "symbol": "руб.", "precision": 2 } }, "x": "1234.5", "n": 2.50, "d": "2026-11-24" });
    assert_eq!(eval("x | money", ru.clone()), "1 234,50 руб.");
    assert_eq!(eval("x | money('USD')", ru.clone()), "1 234,50 $");
    assert_eq!(eval("x | amount", ru.clone()), "1 234,50");
    assert_eq!(eval("n | number", ru.clone()), "2,5");
    assert_eq!(eval("d | date", ru.clone()), "24.11.2026");
    assert_eq!(eval("d | date('long')", ru.clone()), "24 ноября 2026 г.");
    assert_eq!(eval("x | amount_in_words", ru.clone()), "Одна тысяча двести тридцать четыре рубля 50 копеек");
    assert_eq!(eval("add(x, '0.5', missing, 3)", ru.clone()), "1238.0");
    assert_eq!(eval("'yes' if x is nonzero else 'no'", ru.clone()), "yes");
    assert_eq!(eval("'yes' if '0.00' is nonzero else 'no'", ru.clone()), "no");

    let en =
        json!({ "language": 1033, "document": { "currency": { "code": "EUR", "precision": "0" } }, "x": "1234.5" });
    assert_eq!(eval("x | money", en.clone()), "€1,235");
    assert_eq!(eval("x | number(2)", en.clone()), "1,234.50");
    assert_eq!(eval("x | amount_in_words", en.clone()), "One thousand two hundred thirty-five euros");

    // A context without a currency prints plain two-decimal amounts.
    assert_eq!(eval("x | money", json!({ "x": "7" })), "7.00");
    // Missing values print nothing; text that is not a number prints as it is.
    assert_eq!(eval("missing | money", json!({})), "");
    assert_eq!(eval("none | amount_in_words", json!({})), "");
    assert_eq!(eval("'n/a' | money", json!({})), "n/a");
    assert_eq!(eval("'soon' | date", json!({})), "soon");
    // JSON numbers stay exact.
    assert_eq!(eval("x | amount", json!({ "x": 0.1, "language": 1033 })), "0.10");
    let exact: serde_json::Value = serde_json::from_str(r#"{ "x": 12345678901234567.891, "language": 1033 }"#).unwrap();
    assert_eq!(eval("x | number", exact), "12,345,678,901,234,567.891");
}
