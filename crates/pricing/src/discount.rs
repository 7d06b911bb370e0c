use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::{check_precision, mul_div_round, round_money};
use crate::PricingError;

/// One quantity band of a discount list (`discount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountRange {
    /// The smallest quantity in the band, inclusive.
    pub low: Decimal,
    /// The largest quantity in the band, inclusive.
    pub high: Decimal,
    /// The discount per unit: an amount, or a percentage of the price.
    pub value: Decimal,
}

/// A volume discount list (`discounttype`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscountList {
    /// Whether values are amounts per unit rather than percentages.
    pub is_amount: bool,
    /// The bands, in the order they are tried.
    pub ranges: Vec<DiscountRange>,
}

impl DiscountList {
    /// The first band holding `quantity`.
    pub fn range_for(&self, quantity: Decimal) -> Option<&DiscountRange> {
        self.ranges.iter().find(|range| range.low <= quantity && quantity <= range.high)
    }
}

/// The volume discount per unit for `quantity`: the first band holding it
/// gives an amount per unit, or a percentage of `price_per_unit` rounded to
/// `precision`; no band gives zero. The discount never exceeds the price.
pub fn volume_discount_per_unit(
    list: &DiscountList,
    quantity: Decimal,
    price_per_unit: Decimal,
    precision: u32,
) -> Result<Decimal, PricingError> {
    check_precision(precision)?;
    if price_per_unit.is_sign_negative() && !price_per_unit.is_zero() {
        return Err(PricingError::NegativeAmount { what: "price per unit", value: price_per_unit });
    }
    let Some(range) = list.range_for(quantity) else {
        return Ok(round_money(Decimal::ZERO, precision));
    };
    let value = range.value;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(PricingError::NegativeAmount { what: "volume discount", value });
    }
    let per_unit = if list.is_amount {
        round_money(value, precision)
    } else {
        mul_div_round(price_per_unit, value, Decimal::ONE_HUNDRED, precision, "volume discount")?
    };
    // The cap is the price cut down to the currency, so a capped discount still fits it.
    let cap = round_money(price_per_unit.round_dp_with_strategy(precision, RoundingStrategy::ToZero), precision);
    Ok(per_unit.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn list(is_amount: bool) -> DiscountList {
        let range = |low: &str, high: &str, value: &str| DiscountRange { low: d(low), high: d(high), value: d(value) };
        DiscountList {
            is_amount,
            ranges: vec![range("10", "49", "2.5"), range("50", "99.5", "5"), range("50", "1000", "50")],
        }
    }

    fn discount(is_amount: bool, quantity: &str, price: &str) -> String {
        volume_discount_per_unit(&list(is_amount), d(quantity), d(price), 2).unwrap().to_string()
    }

    #[test]
    fn amount_lists_give_the_value_per_unit() {
        assert_eq!(discount(true, "9", "20"), "0.00");
        assert_eq!(discount(true, "10", "20"), "2.50");
        assert_eq!(discount(true, "49", "20"), "2.50");
        assert_eq!(discount(true, "49.5", "20"), "0.00");
        assert_eq!(discount(true, "50", "20"), "5.00");
        assert_eq!(discount(true, "99.5", "20"), "5.00");
        // Overlapping bands: the first one listed wins, the later one covers the rest.
        assert_eq!(discount(true, "100", "20"), "20.00");
        assert_eq!(discount(true, "1001", "20"), "0.00");
    }

    #[test]
    fn percentage_lists_take_a_share_of_the_price() {
        assert_eq!(discount(false, "10", "20"), "0.50");
        assert_eq!(discount(false, "10", "0.99"), "0.02");
        assert_eq!(discount(false, "50", "19.99"), "1.00");
        assert_eq!(discount(false, "100", "19.99"), "10.00");
        assert_eq!(discount(false, "5", "19.99"), "0.00");
    }

    #[test]
    fn discount_never_exceeds_the_price() {
        assert_eq!(discount(true, "100", "12.345"), "12.34");
        assert_eq!(discount(true, "50", "3"), "3.00");
        let over = DiscountList {
            is_amount: false,
            ranges: vec![DiscountRange { low: d("0"), high: d("10"), value: d("150") }],
        };
        assert_eq!(volume_discount_per_unit(&over, d("1"), d("8"), 2).unwrap(), d("8"));
        assert_eq!(volume_discount_per_unit(&DiscountList::default(), d("1"), d("8"), 0).unwrap(), Decimal::ZERO);
    }

    #[test]
    fn errors() {
        let negative = DiscountList {
            is_amount: true,
            ranges: vec![DiscountRange { low: d("0"), high: d("10"), value: d("-1") }],
        };
        let error = volume_discount_per_unit(&negative, d("1"), d("8"), 2).unwrap_err();
        assert_eq!(error, PricingError::NegativeAmount { what: "volume discount", value: d("-1") });
        assert_eq!(error.to_string(), "the volume discount -1 is negative");
        let error = volume_discount_per_unit(&list(true), d("10"), d("-8"), 2).unwrap_err();
        assert_eq!(error, PricingError::NegativeAmount { what: "price per unit", value: d("-8") });
        assert_eq!(
            volume_discount_per_unit(&list(true), d("10"), d("8"), 11),
            Err(PricingError::InvalidPrecision { precision: 11 })
        );
        let huge = DiscountList {
            is_amount: false,
            ranges: vec![DiscountRange { low: d("0"), high: d("10"), value: d("90") }],
        };
        assert_eq!(
            volume_discount_per_unit(&huge, d("1"), Decimal::MAX, 2),
            Err(PricingError::Overflow { what: "volume discount" })
        );
    }
}
