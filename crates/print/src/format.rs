//! Language-aware formatting of amounts, quantities and dates, and amounts in
//! words. The template filters (`money`, `amount`, `number`, `date`,
//! `amount_in_words`) are thin wrappers over these functions.
//!
//! Amounts are decimal strings and are parsed with [`rust_decimal`], never
//! through binary floating point, so `"0.1"` stays exactly one tenth.

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::words;

/// Non-breaking space: the Russian digit group separator, and the space
/// between a number and its currency, so neither is split across lines.
pub const NBSP: char = '\u{a0}';

/// The language a document is printed in. Everything that is not Russian is
/// printed in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (LCID 1033), also used for every language without its own rules.
    En,
    /// Russian (LCID 1049).
    Ru,
}

impl Lang {
    /// The language of a Windows LCID: Russian for 1049 (and any other
    /// Russian locale), English otherwise.
    pub fn from_lcid(lcid: u32) -> Lang {
        // The low ten bits are the primary language; 0x19 is Russian.
        if lcid & 0x3ff == 0x19 {
            Lang::Ru
        } else {
            Lang::En
        }
    }

    /// The language of a tag such as `ru`, `ru-RU` or `en-GB`, or of an LCID
    /// written as text.
    pub fn from_tag(tag: &str) -> Lang {
        let tag = tag.trim();
        if let Ok(lcid) = tag.parse::<u32>() {
            return Lang::from_lcid(lcid);
        }
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("ru") {
            Lang::Ru
        } else {
            Lang::En
        }
    }

    /// The BCP 47 tag written into the PDF's metadata.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    fn group_separator(self) -> char {
        match self {
            Lang::En => ',',
            Lang::Ru => NBSP,
        }
    }

    fn decimal_separator(self) -> char {
        match self {
            Lang::En => '.',
            Lang::Ru => ',',
        }
    }
}

/// A currency as the formatting functions need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyInfo {
    /// ISO 4217 code, e.g. `RUB`.
    pub code: String,
    /// The symbol printed next to amounts, e.g. `₽`; falls back to the code.
    pub symbol: String,
    /// Digits after the decimal separator.
    pub precision: u32,
}

impl CurrencyInfo {
    /// A currency by its ISO code, with the built-in symbol and precision.
    /// An empty code gives a currency with no symbol and two decimals.
    pub fn from_code(code: &str) -> CurrencyInfo {
        let code = code.trim().to_ascii_uppercase();
        let (symbol, precision) = builtin_currency(&code);
        CurrencyInfo { symbol: symbol.map(str::to_owned).unwrap_or_else(|| code.clone()), code, precision }
    }
}

/// Symbols and decimal places of the currencies most often printed here;
/// the document's own currency record wins over this table.
fn builtin_currency(code: &str) -> (Option<&'static str>, u32) {
    match code {
        "RUB" => (Some("₽"), 2),
        "USD" => (Some("$"), 2),
        "EUR" => (Some("€"), 2),
        "GBP" => (Some("£"), 2),
        "CNY" => (Some("¥"), 2),
        "JPY" => (Some("¥"), 0),
        "KZT" => (Some("₸"), 2),
        "UAH" => (Some("₴"), 2),
        "BYN" => (Some("Br"), 2),
        "INR" => (Some("₹"), 2),
        "TRY" => (Some("₺"), 2),
        "KRW" => (Some("₩"), 0),
        "KWD" | "BHD" | "OMR" | "JOD" | "TND" => (None, 3),
        _ => (None, 2),
    }
}

/// The largest precision honoured; a currency record asking for more is
/// almost certainly wrong, and this keeps rounding inside `Decimal`'s range.
const MAX_PRECISION: u32 = 10;

/// Parses a decimal string as the engine writes it (`"1234.5"`, `"-3"`).
/// Also accepts surrounding spaces, group spaces and a decimal comma, since
/// administrators type test values by hand.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let cleaned: String = text.chars().filter(|c| !matches!(*c, ' ' | '_' | NBSP | '\u{202f}')).collect();
    if cleaned.is_empty() {
        return None;
    }
    let cleaned = if cleaned.contains(',') && !cleaned.contains('.') { cleaned.replace(',', ".") } else { cleaned };
    let cleaned = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    if cleaned.contains(['e', 'E']) {
        return Decimal::from_scientific(cleaned).ok();
    }
    Decimal::from_str(cleaned).ok()
}

/// Parses a number as a user of `lang` types it. English groups digits
/// with commas (`1,250,000.50`); Russian with spaces and writes a decimal
/// comma (`1 250 000,50`). Both take a plain `1250000.5`, and commas that
/// do not group digits in threes are read as a decimal comma (`1,5`).
pub fn parse_number(text: &str, lang: Lang) -> Option<Decimal> {
    let t = text.trim();
    if lang == Lang::En && t.contains(',') {
        let int_part = t.split('.').next().unwrap_or("");
        let int_part = int_part.trim_start_matches(['-', '+']);
        let groups: Vec<&str> = int_part.split(',').collect();
        let grouped = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()))
            && groups[1..].iter().all(|g| g.len() == 3);
        return parse_decimal(&if grouped { t.replace(',', "") } else { t.to_string() });
    }
    parse_decimal(t)
}

fn round(value: Decimal, precision: u32) -> Decimal {
    value.round_dp_with_strategy(precision.min(MAX_PRECISION), RoundingStrategy::MidpointAwayFromZero)
}

/// Writes `value` with exactly `places` decimals (or as many as it has when
/// `places` is `None`), with the language's separators. The sign is left to
/// the caller: the result is for the absolute value.
fn digits(value: Decimal, places: Option<u32>, lang: Lang) -> String {
    let value = value.abs();
    let value = match places {
        Some(p) => {
            let mut v = round(value, p);
            v.rescale(p.min(MAX_PRECISION));
            v
        }
        None => value.normalize(),
    };
    let text = value.to_string();
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text.as_str(), ""),
    };
    let mut out = group(int_part, lang.group_separator());
    if !frac_part.is_empty() {
        out.push(lang.decimal_separator());
        out.push_str(frac_part);
    }
    out
}

fn group(int_digits: &str, separator: char) -> String {
    let len = int_digits.chars().count();
    let mut out = String::with_capacity(len + len / 3 * 2);
    for (i, ch) in int_digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(ch);
    }
    out
}

fn is_negative(value: Decimal, places: Option<u32>) -> bool {
    // "-0,00" after rounding would look like a mistake on an invoice.
    let shown = match places {
        Some(p) => round(value, p),
        None => value,
    };
    shown.is_sign_negative() && !shown.is_zero()
}

/// An amount with the currency's precision and symbol.
///
/// Russian: `1 234 567,89 ₽` (non-breaking spaces between digit groups and
/// before the symbol). English: `₽1,234,567.89`; a symbol made of letters is
/// followed by a non-breaking space (`CHF 1,234.50`). Negative amounts start
/// with a minus.
pub fn money(value: Decimal, currency: &CurrencyInfo, lang: Lang) -> String {
    let number = digits(value, Some(currency.precision), lang);
    let sign = if is_negative(value, Some(currency.precision)) { "-" } else { "" };
    let symbol = if currency.symbol.trim().is_empty() { currency.code.trim() } else { currency.symbol.trim() };
    if symbol.is_empty() {
        return format!("{sign}{number}");
    }
    match lang {
        Lang::Ru => format!("{sign}{number}{NBSP}{symbol}"),
        Lang::En => {
            let wordy = symbol.chars().last().is_some_and(char::is_alphabetic);
            if wordy {
                format!("{sign}{symbol}{NBSP}{number}")
            } else {
                format!("{sign}{symbol}{number}")
            }
        }
    }
}

/// An amount with the currency's precision but no symbol, for table columns
/// whose header already names the currency (`1 234,50` / `1,234.50`).
pub fn amount(value: Decimal, currency: &CurrencyInfo, lang: Lang) -> String {
    number(value, Some(currency.precision), lang)
}

/// A quantity or other plain number. Without `places` trailing zeros are
/// dropped (`2.500` → `2,5` / `2.5`); with `places` exactly that many
/// decimals are shown.
pub fn number(value: Decimal, places: Option<u32>, lang: Lang) -> String {
    let sign = if is_negative(value, places) { "-" } else { "" };
    format!("{sign}{}", digits(value, places, lang))
}

/// How a date is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `24.11.2026` / `Nov 24, 2026`.
    Short,
    /// `24 ноября 2026 г.` / `November 24, 2026`.
    Long,
}

const RU_MONTHS_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const RU_MONTHS_NOMINATIVE: [&str; 12] = [
    "Январь",
    "Февраль",
    "Март",
    "Апрель",
    "Май",
    "Июнь",
    "Июль",
    "Август",
    "Сентябрь",
    "Октябрь",
    "Ноябрь",
    "Декабрь",
];

/// A month's name on its own, as a calendar's title writes it (1–12).
pub fn month_name(month: u32, lang: Lang) -> &'static str {
    let i = (month.clamp(1, 12) - 1) as usize;
    match lang {
        Lang::Ru => RU_MONTHS_NOMINATIVE[i],
        Lang::En => EN_MONTHS[i],
    }
}

/// Parses the date part of an ISO 8601 date or date-time (`2026-11-24`,
/// `2026-11-24T10:00:00Z`).
pub fn parse_date(text: &str) -> Option<chrono::NaiveDate> {
    let text = text.trim();
    let head = text.get(..10)?;
    let rest = &text[10..];
    if !(rest.is_empty() || rest.starts_with(['T', 't', ' '])) {
        return None;
    }
    chrono::NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

/// A date in the language's usual form.
pub fn date(value: chrono::NaiveDate, style: DateStyle, lang: Lang) -> String {
    use chrono::Datelike;
    let (y, m, d) = (value.year(), value.month0() as usize, value.day());
    match (lang, style) {
        (Lang::Ru, DateStyle::Short) => format!("{d:02}.{:02}.{y}", m + 1),
        (Lang::Ru, DateStyle::Long) => format!("{d} {} {y} г.", RU_MONTHS_GENITIVE[m]),
        (Lang::En, DateStyle::Short) => format!("{} {d}, {y}", &EN_MONTHS[m][..3]),
        (Lang::En, DateStyle::Long) => format!("{} {d}, {y}", EN_MONTHS[m]),
    }
}

/// An amount in words, as written on invoices, rounded to the currency's
/// precision.
///
/// Russian: `Одна тысяча двести тридцать четыре рубля 50 копеек`: the whole
/// units in words with the right gender and plural, the minor units in
/// digits. Russian names are known for RUB, USD, EUR, GBP, CNY, KZT and BYN;
/// other currencies are named by their code with the minor units as a
/// fraction (`Сто CHF 50/100`).
///
/// English: `One thousand two hundred thirty-four US dollars and 50 cents`;
/// names are known for USD, EUR, GBP, RUB, CNY; others read
/// `One hundred CHF and 50/100`.
pub fn amount_in_words(value: Decimal, currency: &CurrencyInfo, lang: Lang) -> String {
    let precision = currency.precision.min(MAX_PRECISION);
    let rounded = round(value, precision);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let abs = rounded.abs();
    let whole = abs.trunc();
    let minor = ((abs - whole) * Decimal::from(10u64.pow(precision))).trunc();
    let whole = whole.to_u128().unwrap_or(0);
    let minor = minor.to_u64().unwrap_or(0);
    let text = match lang {
        Lang::Ru => words::russian_amount(whole, minor, precision, &currency.code),
        Lang::En => words::english_amount(whole, minor, precision, &currency.code),
    };
    let text = if negative {
        match lang {
            Lang::Ru => format!("минус {text}"),
            Lang::En => format!("minus {text}"),
        }
    } else {
        text
    };
    capitalize(&text)
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn numbers_as_users_type_them() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(parse_number("1,250,000", Lang::En), Some(d("1250000")));
        assert_eq!(parse_number("1,250,000.50", Lang::En), Some(d("1250000.50")));
        assert_eq!(parse_number("-12,345.6", Lang::En), Some(d("-12345.6")));
        assert_eq!(parse_number("1250000.5", Lang::En), Some(d("1250000.5")));
        assert_eq!(parse_number("1,5", Lang::En), Some(d("1.5")));
        assert_eq!(parse_number("1 250,50", Lang::En), Some(d("1250.50")));
        assert_eq!(parse_number("12,34,567", Lang::En), None);
        assert_eq!(parse_number("1 250 000,50", Lang::Ru), Some(d("1250000.50")));
        assert_eq!(parse_number("1\u{a0}250,5", Lang::Ru), Some(d("1250.5")));
        assert_eq!(parse_number("1250.5", Lang::Ru), Some(d("1250.5")));
        assert_eq!(parse_number("abc", Lang::Ru), None);
    }

    use super::*;

    fn d(s: &str) -> Decimal {
        parse_decimal(s).unwrap()
    }

    #[test]
    fn grouping() {
        assert_eq!(group("1", ','), "1");
        assert_eq!(group("123", ','), "123");
        assert_eq!(group("1234", ','), "1,234");
        assert_eq!(group("1234567", ','), "1,234,567");
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        let rub = CurrencyInfo::from_code("RUB");
        assert_eq!(amount(d("0.005"), &rub, Lang::En), "0.01");
        assert_eq!(amount(d("-0.005"), &rub, Lang::En), "-0.01");
        assert_eq!(amount(d("-0.001"), &rub, Lang::En), "0.00");
    }

    #[test]
    fn parse_accepts_hand_typed_values() {
        assert_eq!(parse_decimal(" 1 234,5 "), Some(d("1234.5")));
        assert_eq!(parse_decimal("+7"), Some(d("7")));
        assert_eq!(parse_decimal("1e3"), Some(d("1000")));
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal(""), None);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-11-24T10:00:00Z"), chrono::NaiveDate::from_ymd_opt(2026, 11, 24));
        assert_eq!(parse_date("2026-11-24x"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("24.11.2026"), None);
    }
}
