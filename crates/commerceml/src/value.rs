//! Scalar values as 1C writes them: decimals with `.` or `,` and digit
//! group spaces, booleans in English or Russian, dates with or without a
//! time, offset, milliseconds or leading zero.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;

/// A decimal such as `1719`, `1 719.50`, `231,74` or `-0.5`.
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    let cleaned: String = text
        .trim()
        .chars()
        // Digit group separators: space, no-break space, narrow no-break space.
        .filter(|c| !matches!(c, ' ' | '\u{A0}' | '\u{202F}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty() {
        return None;
    }
    Decimal::from_str(&cleaned).or_else(|_| Decimal::from_scientific(&cleaned)).ok()
}

/// `true`/`false`, `1`/`0`, `да`/`нет`, `истина`/`ложь`; anything else is unknown.
pub(crate) fn lenient_bool(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" | "1" | "да" | "истина" | "yes" => Some(true),
        "false" | "0" | "нет" | "ложь" | "no" => Some(false),
        _ => None,
    }
}

/// A date with an optional time: `2015-06-29T15:39:10`, `2007-10-30`,
/// `2021-02-11 18:45:21`, `11.02.2021 18:45:21`, `2015-08-12+03:00`,
/// `2019-01-01T0:36:33.123+03:00`. A missing time is midnight; an offset
/// is dropped (1C writes local time). An empty date (a lone `T`) is `None`.
pub(crate) fn lenient_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    let (date, time) = match text.find(['T', ' ']) {
        Some(at) => (&text[..at], text[at + 1..].trim()),
        None => (text, ""),
    };
    let date = lenient_date(date)?;
    if time.is_empty() {
        return Some(date.and_time(NaiveTime::MIN));
    }
    Some(date.and_time(lenient_time(time)?))
}

/// A date alone, `YYYY-MM-DD` or `DD.MM.YYYY`, tolerating a trailing offset.
pub(crate) fn lenient_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let text = text.find('T').map_or(text, |at| &text[..at]);
    let iso = text.get(..10).unwrap_or(text);
    NaiveDate::parse_from_str(iso, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(iso, "%d.%m.%Y")).ok()
}

/// A time `H:MM[:SS][.fff][offset]`.
pub(crate) fn lenient_time(text: &str) -> Option<NaiveTime> {
    let text = text.trim();
    let clock = text.split(['+', 'Z', 'z']).next().unwrap_or(text);
    // A `-` after the clock is an offset; the clock itself has none.
    let clock = clock.split('-').next().unwrap_or(clock);
    let clock = clock.split(['.', ',']).next().unwrap_or(clock);
    let mut parts = clock.split(':').map(|p| p.trim().parse::<u32>());
    let hour = parts.next()?.ok()?;
    let minute = parts.next()?.ok()?;
    let second = match parts.next() {
        Some(s) => s.ok()?,
        None => 0,
    };
    NaiveTime::from_hms_opt(hour, minute, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, s).unwrap()
    }

    #[test]
    fn decimals_in_every_shape_1c_writes() {
        assert_eq!(parse_decimal("231.7400"), Some(Decimal::new(2317400, 4)));
        assert_eq!(parse_decimal(" 1 719,50 "), Some(Decimal::new(171950, 2)));
        assert_eq!(parse_decimal("1\u{A0}000"), Some(Decimal::from(1000)));
        assert_eq!(parse_decimal("-0.5"), Some(Decimal::new(-5, 1)));
        assert_eq!(parse_decimal("1e3"), Some(Decimal::from(1000)));
        assert_eq!(parse_decimal("Без налога"), None);
        assert_eq!(parse_decimal("12.3.4"), None);
        assert_eq!(parse_decimal("1e99999999999"), None);
        assert_eq!(parse_decimal(&"9".repeat(200)), None);
        assert_eq!(parse_decimal("NaN"), None);
        assert_eq!(parse_decimal(""), None);
    }

    #[test]
    fn booleans() {
        assert_eq!(lenient_bool(" true "), Some(true));
        assert_eq!(lenient_bool("Ложь"), Some(false));
        assert_eq!(lenient_bool(""), None);
    }

    #[test]
    fn dates_in_every_shape_1c_writes() {
        assert_eq!(lenient_datetime("2015-06-29T15:39:10"), Some(dt(2015, 6, 29, 15, 39, 10)));
        assert_eq!(lenient_datetime("2007-10-30"), Some(dt(2007, 10, 30, 0, 0, 0)));
        assert_eq!(lenient_datetime("2007-10-16 15:44:47"), Some(dt(2007, 10, 16, 15, 44, 47)));
        assert_eq!(lenient_datetime("11.02.2021 18:45:21"), Some(dt(2021, 2, 11, 18, 45, 21)));
        assert_eq!(lenient_datetime("2015-08-12+03:00"), Some(dt(2015, 8, 12, 0, 0, 0)));
        assert_eq!(lenient_datetime("2019-01-01T0:36:33"), Some(dt(2019, 1, 1, 0, 36, 33)));
        assert_eq!(lenient_datetime("2016-03-11T13:39:51.123+03:00"), Some(dt(2016, 3, 11, 13, 39, 51)));
        assert_eq!(lenient_datetime("2016-03-11T13:39:51-05:00"), Some(dt(2016, 3, 11, 13, 39, 51)));
        assert_eq!(lenient_datetime("T"), None);
        assert_eq!(lenient_datetime(""), None);
        assert_eq!(lenient_datetime("2015-02-30"), None);
    }
}
