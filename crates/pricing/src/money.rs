use rust_decimal::{Decimal, RoundingStrategy};

use crate::PricingError;

/// The largest currency precision accepted; real currencies use 0 to 4.
pub const MAX_PRECISION: u32 = 10;

/// Rounds `value` half away from zero to `precision` decimals, as Dataverse
/// rounds money. The result carries exactly `precision` decimals when it
/// fits, so it prints the way the currency is written.
pub fn round_money(value: Decimal, precision: u32) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(precision, RoundingStrategy::MidpointAwayFromZero);
    if precision <= Decimal::MAX_SCALE {
        rounded.rescale(precision);
    }
    positive_zero(rounded)
}

/// Converts `amount` between currencies. Rates are units of the currency per
/// one unit of the base currency, so the base amount is `amount / from_rate`
/// and the result is that times `to_rate`, rounded once to `precision` (the
/// target currency's).
pub fn convert(amount: Decimal, from_rate: Decimal, to_rate: Decimal, precision: u32) -> Result<Decimal, PricingError> {
    check_precision(precision)?;
    for rate in [from_rate, to_rate] {
        if rate <= Decimal::ZERO {
            return Err(PricingError::InvalidRate { rate });
        }
    }
    mul_div_round(amount, to_rate, from_rate, precision, "converted amount")
}

pub(crate) fn check_precision(precision: u32) -> Result<(), PricingError> {
    if precision > MAX_PRECISION {
        return Err(PricingError::InvalidPrecision { precision });
    }
    Ok(())
}

/// `round(a × b / c)` to `precision`, half away from zero, with a single
/// rounding: the quotient is split into whole units and a remainder, so a
/// long or repeating quotient cannot be rounded twice. `precision` must have
/// passed [`check_precision`].
pub(crate) fn mul_div_round(
    a: Decimal,
    b: Decimal,
    c: Decimal,
    precision: u32,
    what: &'static str,
) -> Result<Decimal, PricingError> {
    let overflow = || PricingError::Overflow { what };
    if c.is_zero() {
        return Err(overflow());
    }
    let scaled = a.checked_mul(b).and_then(|p| p.checked_mul(pow10(precision))).ok_or_else(overflow)?;
    let remainder = scaled.checked_rem(c).ok_or_else(overflow)?;
    let mut units = scaled.checked_sub(remainder).and_then(|m| m.checked_div(c)).ok_or_else(overflow)?.trunc();
    // The remainder keeps the dividend's sign; at least half a unit moves away from zero.
    let (remainder, divisor) = (remainder.abs(), c.abs());
    if !remainder.is_zero() && remainder >= divisor - remainder {
        let step = if scaled.is_sign_negative() == c.is_sign_negative() { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
        units = units.checked_add(step).ok_or_else(overflow)?;
    }
    let mut result = units;
    result.set_scale(precision).map_err(|_| overflow())?;
    Ok(positive_zero(result))
}

pub(crate) fn add(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, PricingError> {
    a.checked_add(b).ok_or(PricingError::Overflow { what })
}

pub(crate) fn sub(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, PricingError> {
    a.checked_sub(b).ok_or(PricingError::Overflow { what })
}

pub(crate) fn pow10(exponent: u32) -> Decimal {
    Decimal::from(10u64.pow(exponent))
}

/// Decimal keeps a sign on zero; "-0.00" would confuse whoever reads it.
fn positive_zero(mut value: Decimal) -> Decimal {
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn round_money_is_half_away_from_zero_with_the_currency_scale() {
        assert_eq!(round_money(d("2.345"), 2).to_string(), "2.35");
        assert_eq!(round_money(d("-2.345"), 2).to_string(), "-2.35");
        assert_eq!(round_money(d("2.344999"), 2).to_string(), "2.34");
        assert_eq!(round_money(d("2.5"), 0).to_string(), "3");
        assert_eq!(round_money(d("12.5"), 2).to_string(), "12.50");
        assert_eq!(round_money(d("-0.001"), 2).to_string(), "0.00");
        assert_eq!(round_money(d("7"), 4).to_string(), "7.0000");
        assert_eq!(round_money(d("1.23"), 40), d("1.23"));
        assert_eq!(round_money(Decimal::MAX, 4), Decimal::MAX);
    }

    #[test]
    fn mul_div_round_rounds_once() {
        // 2/3 = 0.666…, 1/8 = 0.125 is an exact tie.
        assert_eq!(mul_div_round(d("2"), Decimal::ONE, d("3"), 2, "x").unwrap().to_string(), "0.67");
        assert_eq!(mul_div_round(d("1"), Decimal::ONE, d("8"), 2, "x").unwrap().to_string(), "0.13");
        assert_eq!(mul_div_round(d("-1"), Decimal::ONE, d("8"), 2, "x").unwrap().to_string(), "-0.13");
        assert_eq!(mul_div_round(d("1"), Decimal::ONE, d("-8"), 2, "x").unwrap().to_string(), "-0.13");
        assert_eq!(mul_div_round(d("0.004"), Decimal::ONE, d("1"), 2, "x").unwrap().to_string(), "0.00");
        assert_eq!(mul_div_round(d("-0.004"), Decimal::ONE, d("1"), 2, "x").unwrap().to_string(), "0.00");
        assert_eq!(mul_div_round(d("10"), d("15"), d("100"), 0, "x").unwrap().to_string(), "2");
        assert_eq!(
            mul_div_round(Decimal::MAX, d("2"), Decimal::ONE, 0, "tax"),
            Err(PricingError::Overflow { what: "tax" })
        );
        assert_eq!(mul_div_round(d("1"), d("1"), Decimal::ZERO, 0, "tax"), Err(PricingError::Overflow { what: "tax" }));
    }

    #[test]
    fn convert_goes_through_the_base_currency() {
        // 100 EUR at 0.9 per base unit is 111.11… base; at 90 RUB per base unit that is 10000 RUB.
        assert_eq!(convert(d("100"), d("0.9"), d("90"), 2).unwrap().to_string(), "10000.00");
        // To the base currency itself (rate 1).
        assert_eq!(convert(d("100"), d("3"), Decimal::ONE, 2).unwrap().to_string(), "33.33");
        assert_eq!(convert(d("100"), d("3"), Decimal::ONE, 0).unwrap().to_string(), "33");
        assert_eq!(convert(d("-100"), d("3"), d("2"), 2).unwrap().to_string(), "-66.67");
        assert_eq!(convert(d("0.005"), Decimal::ONE, Decimal::ONE, 2).unwrap().to_string(), "0.01");
    }

    #[test]
    fn convert_errors() {
        assert_eq!(convert(d("1"), Decimal::ZERO, d("1"), 2), Err(PricingError::InvalidRate { rate: Decimal::ZERO }));
        assert_eq!(convert(d("1"), d("1"), d("-2"), 2), Err(PricingError::InvalidRate { rate: d("-2") }));
        assert_eq!(convert(d("1"), d("1"), d("1"), 11), Err(PricingError::InvalidPrecision { precision: 11 }));
        assert_eq!(
            convert(Decimal::MAX, d("0.5"), d("1"), 2),
            Err(PricingError::Overflow { what: "converted amount" })
        );
        assert_eq!(
            convert(Decimal::MAX, d("1"), d("1000"), 0),
            Err(PricingError::Overflow { what: "converted amount" })
        );
    }
}
