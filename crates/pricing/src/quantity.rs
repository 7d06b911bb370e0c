use rust_decimal::Decimal;

use crate::PricingError;

/// Which quantities a price list item sells (`quantitysellingcode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantitySelling {
    /// Any quantity the product's decimals allow.
    NoControl = 1,
    /// Whole quantities only.
    Whole = 2,
    /// Whole and fractional quantities, within the product's decimals.
    WholeAndFractional = 3,
}

impl QuantitySelling {
    /// The option for an option-set value.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::NoControl,
            2 => Self::Whole,
            3 => Self::WholeAndFractional,
            _ => return None,
        })
    }

    /// The option-set value.
    pub fn code(self) -> i64 {
        self as i64
    }
}

/// Checks a line's quantity: not negative, no more decimal places than the
/// product supports (trailing zeros do not count), and whole when the price
/// list item sells whole quantities only.
pub fn check_quantity(
    quantity: Decimal,
    decimals_supported: u32,
    selling: QuantitySelling,
) -> Result<(), PricingError> {
    let quantity = quantity.normalize();
    if quantity.is_sign_negative() && !quantity.is_zero() {
        return Err(PricingError::NegativeQuantity { quantity });
    }
    let places = quantity.scale();
    if places > decimals_supported {
        return Err(PricingError::TooManyDecimals { quantity, supported: decimals_supported, places });
    }
    if selling == QuantitySelling::Whole && places > 0 {
        return Err(PricingError::NotWholeQuantity { quantity });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use QuantitySelling::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn codes_round_trip() {
        for code in 1..=3 {
            assert_eq!(QuantitySelling::from_code(code).unwrap().code(), code);
        }
        assert_eq!(QuantitySelling::from_code(4), None);
    }

    #[test]
    fn accepted_quantities() {
        assert_eq!(check_quantity(d("3"), 0, Whole), Ok(()));
        assert_eq!(check_quantity(d("3.000"), 0, Whole), Ok(()));
        assert_eq!(check_quantity(d("0"), 0, NoControl), Ok(()));
        assert_eq!(check_quantity(d("1.25"), 2, WholeAndFractional), Ok(()));
        assert_eq!(check_quantity(d("1.2500"), 2, NoControl), Ok(()));
        assert_eq!(check_quantity(d("1.5"), 3, NoControl), Ok(()));
    }

    #[test]
    fn negative_quantity() {
        let error = check_quantity(d("-1"), 2, NoControl).unwrap_err();
        assert_eq!(error, PricingError::NegativeQuantity { quantity: d("-1") });
        assert_eq!(error.to_string(), "the quantity -1 is negative");
    }

    #[test]
    fn too_many_decimals() {
        let error = check_quantity(d("1.5"), 0, WholeAndFractional).unwrap_err();
        assert_eq!(error, PricingError::TooManyDecimals { quantity: d("1.5"), supported: 0, places: 1 });
        assert_eq!(error.to_string(), "the product supports 0 decimal places; 1.5 has 1");
        let error = check_quantity(d("1.125"), 2, NoControl).unwrap_err();
        assert_eq!(error.to_string(), "the product supports 2 decimal places; 1.125 has 3");
    }

    #[test]
    fn whole_only() {
        let error = check_quantity(d("1.50"), 2, Whole).unwrap_err();
        assert_eq!(error, PricingError::NotWholeQuantity { quantity: d("1.5") });
        assert_eq!(error.to_string(), "the product is sold in whole quantities only; 1.5 is not a whole number");
    }
}
