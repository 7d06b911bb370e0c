use std::fmt;

use rust_decimal::Decimal;

use crate::price::{PricingMethod, RoundingOption, RoundingPolicy};

/// An input a pricing method needs but did not get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PriceInput {
    /// The price list item's amount.
    Amount,
    /// The price list item's percentage.
    Percentage,
    /// The product's list price.
    ListPrice,
    /// The product's current cost.
    CurrentCost,
    /// The product's standard cost.
    StandardCost,
}

impl fmt::Display for PriceInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PriceInput::Amount => "the price list item has no amount",
            PriceInput::Percentage => "the price list item has no percentage",
            PriceInput::ListPrice => "the product has no list price",
            PriceInput::CurrentCost => "the product has no current cost",
            PriceInput::StandardCost => "the product has no standard cost",
        })
    }
}

/// Why a price or total could not be calculated. Display is a sentence fit
/// to show the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// The pricing method needs an input that is missing.
    #[error("the price list item uses {method} but {missing}")]
    MissingInput {
        /// The price list item's method.
        method: PricingMethod,
        /// What is missing.
        missing: PriceInput,
    },
    /// A margin of 100% or more has no finite price.
    #[error("a margin of {percentage}% is not possible; a margin must be below 100%")]
    MarginTooHigh {
        /// The price list item's percentage.
        percentage: Decimal,
    },
    /// The pricing method produced a price below zero.
    #[error("the calculated price {price} is negative")]
    NegativePrice {
        /// The price before rounding.
        price: Decimal,
    },
    /// A rounding policy other than None without a rounding option.
    #[error("the price list item rounds {policy} but has no rounding option")]
    MissingRoundingOption {
        /// The rounding policy.
        policy: RoundingPolicy,
    },
    /// A rounding policy other than None without a rounding amount.
    #[error("the price list item rounds {policy} to {option} but has no rounding amount")]
    MissingRoundingAmount {
        /// The rounding policy.
        policy: RoundingPolicy,
        /// The rounding option.
        option: RoundingOption,
    },
    /// The rounding amount does not suit the rounding option.
    #[error("the rounding amount for {option} must be {rule}, not {amount}", rule = .option.amount_rule())]
    InvalidRoundingAmount {
        /// The rounding option.
        option: RoundingOption,
        /// The rounding amount.
        amount: Decimal,
    },
    /// The rounding amount is finer than the currency can hold.
    #[error("the rounding amount {amount} has more decimal places than the currency's {precision}")]
    RoundingAmountPrecision {
        /// The rounding amount.
        amount: Decimal,
        /// The currency's precision.
        precision: u32,
    },
    /// Rounding down to an ending would go below zero.
    #[error("rounding {price} down to end in {amount} would give a negative price")]
    RoundingBelowZero {
        /// The price before rounding.
        price: Decimal,
        /// The ending.
        amount: Decimal,
    },
    /// A quantity below zero.
    #[error("the quantity {quantity} is negative")]
    NegativeQuantity {
        /// The quantity.
        quantity: Decimal,
    },
    /// A quantity with more decimal places than the product supports.
    #[error("the product supports {supported} decimal {}; {quantity} has {places}", places_word(*.supported))]
    TooManyDecimals {
        /// The quantity.
        quantity: Decimal,
        /// The product's supported decimal places.
        supported: u32,
        /// The quantity's decimal places.
        places: u32,
    },
    /// A fractional quantity where only whole ones are sold.
    #[error("the product is sold in whole quantities only; {quantity} is not a whole number")]
    NotWholeQuantity {
        /// The quantity.
        quantity: Decimal,
    },
    /// An amount that must not be negative is.
    #[error("the {what} {value} is negative")]
    NegativeAmount {
        /// Which amount.
        what: &'static str,
        /// Its value.
        value: Decimal,
    },
    /// A percentage outside 0 to 100.
    #[error("the {what} must be between 0 and 100 percent, not {value}")]
    PercentageOutOfRange {
        /// Which percentage.
        what: &'static str,
        /// Its value.
        value: Decimal,
    },
    /// The manual discount is larger than what is left of the line.
    #[error("the manual discount {discount} exceeds the line amount {amount}")]
    ManualDiscountExceedsAmount {
        /// The manual discount, rounded.
        discount: Decimal,
        /// The line amount after the volume discount.
        amount: Decimal,
    },
    /// The document discount is larger than the detail amount.
    #[error("the document discount {discount} exceeds the detail amount {amount}")]
    DocumentDiscountExceedsAmount {
        /// The document's total discount.
        discount: Decimal,
        /// The sum of the lines' amounts.
        amount: Decimal,
    },
    /// An exchange rate of zero or below.
    #[error("the exchange rate must be greater than zero, not {rate}")]
    InvalidRate {
        /// The rate.
        rate: Decimal,
    },
    /// A currency precision this crate does not support.
    #[error("a currency precision of {precision} decimal places is not supported; the most is {max}", max = crate::MAX_PRECISION)]
    InvalidPrecision {
        /// The precision asked for.
        precision: u32,
    },
    /// The amounts are too large for decimal arithmetic.
    #[error("the {what} is too large to calculate")]
    Overflow {
        /// What was being calculated.
        what: &'static str,
    },
}

fn places_word(count: u32) -> &'static str {
    if count == 1 {
        "place"
    } else {
        "places"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem_and_the_value() {
        let missing =
            PricingError::MissingInput { method: PricingMethod::MarginCurrentCost, missing: PriceInput::CurrentCost };
        assert_eq!(
            missing.to_string(),
            "the price list item uses Percent Margin - Current Cost but the product has no current cost"
        );
        let decimals = PricingError::TooManyDecimals { quantity: Decimal::new(15, 1), supported: 0, places: 1 };
        assert_eq!(decimals.to_string(), "the product supports 0 decimal places; 1.5 has 1");
        let one = PricingError::TooManyDecimals { quantity: Decimal::new(125, 2), supported: 1, places: 2 };
        assert_eq!(one.to_string(), "the product supports 1 decimal place; 1.25 has 2");
        let rounding =
            PricingError::InvalidRoundingAmount { option: RoundingOption::MultipleOf, amount: Decimal::ZERO };
        assert_eq!(rounding.to_string(), "the rounding amount for Multiple Of must be greater than zero, not 0");
        let ends =
            PricingError::InvalidRoundingAmount { option: RoundingOption::EndsIn, amount: Decimal::NEGATIVE_ONE };
        assert_eq!(ends.to_string(), "the rounding amount for Ends In must be zero or more, not -1");
        assert_eq!(
            PricingError::InvalidPrecision { precision: 12 }.to_string(),
            "a currency precision of 12 decimal places is not supported; the most is 10"
        );
        assert_eq!(
            PricingError::Overflow { what: "line amount" }.to_string(),
            "the line amount is too large to calculate"
        );
    }
}
