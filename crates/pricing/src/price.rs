use std::fmt;

use rust_decimal::Decimal;

use crate::error::PriceInput;
use crate::money::{add, check_precision, round_money, sub};
use crate::PricingError;

/// How a price list item derives the unit price (`pricingmethodcode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PricingMethod {
    /// The item's amount.
    CurrencyAmount = 1,
    /// A percentage of the product's list price.
    PercentOfList = 2,
    /// The current cost plus a percentage of it.
    MarkupCurrentCost = 3,
    /// The price whose margin over the current cost is the percentage.
    MarginCurrentCost = 4,
    /// The standard cost plus a percentage of it.
    MarkupStandardCost = 5,
    /// The price whose margin over the standard cost is the percentage.
    MarginStandardCost = 6,
}

impl PricingMethod {
    /// The method for an option-set value.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::CurrencyAmount,
            2 => Self::PercentOfList,
            3 => Self::MarkupCurrentCost,
            4 => Self::MarginCurrentCost,
            5 => Self::MarkupStandardCost,
            6 => Self::MarginStandardCost,
            _ => return None,
        })
    }

    /// The option-set value.
    pub fn code(self) -> i64 {
        self as i64
    }
}

impl fmt::Display for PricingMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CurrencyAmount => "Currency Amount",
            Self::PercentOfList => "Percent of List",
            Self::MarkupCurrentCost => "Percent Markup - Current Cost",
            Self::MarginCurrentCost => "Percent Margin - Current Cost",
            Self::MarkupStandardCost => "Percent Markup - Standard Cost",
            Self::MarginStandardCost => "Percent Margin - Standard Cost",
        })
    }
}

/// Which way a price list item rounds the calculated price (`roundingpolicycode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoundingPolicy {
    /// No rounding beyond the currency's precision.
    None = 1,
    /// To the nearest allowed price at or above.
    Up = 2,
    /// To the nearest allowed price at or below.
    Down = 3,
    /// To the nearer allowed price; ties go up.
    ToNearest = 4,
}

impl RoundingPolicy {
    /// The policy for an option-set value.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::None,
            2 => Self::Up,
            3 => Self::Down,
            4 => Self::ToNearest,
            _ => return None,
        })
    }

    /// The option-set value.
    pub fn code(self) -> i64 {
        self as i64
    }
}

impl fmt::Display for RoundingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "None",
            Self::Up => "Up",
            Self::Down => "Down",
            Self::ToNearest => "To Nearest",
        })
    }
}

/// Which prices are allowed after rounding (`roundingoptioncode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoundingOption {
    /// Prices ending in the amount: 0.99 allows 12.99 and 13.99.
    EndsIn = 1,
    /// Multiples of the amount: 5 allows 120 and 125.
    MultipleOf = 2,
}

impl RoundingOption {
    /// The option for an option-set value.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::EndsIn,
            2 => Self::MultipleOf,
            _ => return None,
        })
    }

    /// The option-set value.
    pub fn code(self) -> i64 {
        self as i64
    }

    pub(crate) fn amount_rule(self) -> &'static str {
        match self {
            Self::EndsIn => "zero or more",
            Self::MultipleOf => "greater than zero",
        }
    }
}

impl fmt::Display for RoundingOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EndsIn => "Ends In",
            Self::MultipleOf => "Multiple Of",
        })
    }
}

/// A price list item's rounding rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rounding {
    /// Which way to round.
    pub policy: RoundingPolicy,
    /// Which prices are allowed; required unless the policy is None.
    pub option: Option<RoundingOption>,
    /// The ending or the multiple; required unless the policy is None.
    pub amount: Option<Decimal>,
}

impl Rounding {
    /// No rounding beyond the currency's precision.
    pub const NONE: Rounding = Rounding { policy: RoundingPolicy::None, option: None, amount: None };
}

impl Default for Rounding {
    fn default() -> Self {
        Self::NONE
    }
}

/// The pricing part of a price list item (`productpricelevel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceListItem {
    /// How the price is derived.
    pub method: PricingMethod,
    /// The price, for [`PricingMethod::CurrencyAmount`].
    pub amount: Option<Decimal>,
    /// The percentage, for every other method.
    pub percentage: Option<Decimal>,
    /// How the derived price is rounded.
    pub rounding: Rounding,
}

/// The product's prices and costs, already in the document's currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductCosts {
    /// The product's list price.
    pub list_price: Option<Decimal>,
    /// The product's current cost.
    pub current_cost: Option<Decimal>,
    /// The product's standard cost.
    pub standard_cost: Option<Decimal>,
}

/// The unit price a price list item gives a product: the method's price,
/// then the item's rounding rule, then the currency's precision.
pub fn unit_price(item: &PriceListItem, costs: &ProductCosts, precision: u32) -> Result<Decimal, PricingError> {
    check_precision(precision)?;
    let missing = |missing| PricingError::MissingInput { method: item.method, missing };
    let percentage = || item.percentage.ok_or(missing(PriceInput::Percentage));
    let overflow = PricingError::Overflow { what: "unit price" };
    let hundred = Decimal::ONE_HUNDRED;
    let price = match item.method {
        PricingMethod::CurrencyAmount => item.amount.ok_or(missing(PriceInput::Amount))?,
        PricingMethod::PercentOfList => {
            let percentage = percentage()?;
            let list = costs.list_price.ok_or(missing(PriceInput::ListPrice))?;
            percentage.checked_div(hundred).and_then(|share| list.checked_mul(share)).ok_or(overflow)?
        }
        PricingMethod::MarkupCurrentCost | PricingMethod::MarkupStandardCost => {
            let percentage = percentage()?;
            let cost = cost(item.method, costs).ok_or_else(|| missing(cost_input(item.method)))?;
            let factor = percentage.checked_div(hundred).and_then(|share| share.checked_add(Decimal::ONE));
            factor.and_then(|factor| cost.checked_mul(factor)).ok_or(overflow)?
        }
        PricingMethod::MarginCurrentCost | PricingMethod::MarginStandardCost => {
            let percentage = percentage()?;
            if percentage >= hundred {
                return Err(PricingError::MarginTooHigh { percentage });
            }
            let cost = cost(item.method, costs).ok_or_else(|| missing(cost_input(item.method)))?;
            // The margin is a share of the price, not of the cost: price = cost / (1 − margin).
            let kept = hundred.checked_sub(percentage).and_then(|kept| kept.checked_div(hundred));
            kept.and_then(|kept| cost.checked_div(kept)).ok_or(overflow)?
        }
    };
    // Rounding settings that are wrong whatever the price are reported before problems of this price.
    let rule = Rule::of(&item.rounding)?;
    if let Some(rule) = &rule {
        // An ending or multiple finer than the currency would be lost in the final rounding.
        if rule.amount.normalize().scale() > precision {
            return Err(PricingError::RoundingAmountPrecision { amount: rule.amount, precision });
        }
    }
    let rounded = match rule {
        Some(rule) => rule.apply(price)?,
        None if price.is_sign_negative() && !price.is_zero() => return Err(PricingError::NegativePrice { price }),
        None => price,
    };
    Ok(round_money(rounded, precision))
}

/// Applies a price list item's rounding rule to a price of zero or more,
/// without the currency's precision.
///
/// Ends In `a` allows the prices `a + n × 10^k` for whole `n`, where `10^k`
/// is the smallest power of ten (at least 1) above `a`: 0.99 gives 0.99,
/// 1.99, 2.99…; 9 gives 9, 19, 29…; 0 gives whole numbers. Multiple Of `m`
/// allows `n × m`. Up and Down pick the nearest allowed price on their side,
/// To Nearest the nearer of the two (the upper one on a tie, or when the
/// lower one would be negative).
pub fn round_price(price: Decimal, rounding: &Rounding) -> Result<Decimal, PricingError> {
    match Rule::of(rounding)? {
        Some(rule) => rule.apply(price),
        None => Ok(price),
    }
}

/// A checked rounding rule: the allowed prices are `offset + n × modulus`.
struct Rule {
    policy: RoundingPolicy,
    amount: Decimal,
    offset: Decimal,
    modulus: Decimal,
}

impl Rule {
    /// The rule, or `None` for policy None.
    fn of(rounding: &Rounding) -> Result<Option<Rule>, PricingError> {
        let policy = rounding.policy;
        if policy == RoundingPolicy::None {
            return Ok(None);
        }
        let option = rounding.option.ok_or(PricingError::MissingRoundingOption { policy })?;
        let amount = rounding.amount.ok_or(PricingError::MissingRoundingAmount { policy, option })?;
        let invalid = PricingError::InvalidRoundingAmount { option, amount };
        let (offset, modulus) = match option {
            RoundingOption::MultipleOf if amount <= Decimal::ZERO => return Err(invalid),
            RoundingOption::MultipleOf => (Decimal::ZERO, amount),
            RoundingOption::EndsIn if amount.is_sign_negative() && !amount.is_zero() => return Err(invalid),
            RoundingOption::EndsIn => (amount, ending_modulus(amount)?),
        };
        Ok(Some(Rule { policy, amount, offset, modulus }))
    }

    fn apply(&self, price: Decimal) -> Result<Decimal, PricingError> {
        if price.is_sign_negative() && !price.is_zero() {
            return Err(PricingError::NegativePrice { price });
        }
        const WHAT: &str = "rounded price";
        let shifted = sub(price, self.offset, WHAT)?;
        let mut past = shifted.checked_rem(self.modulus).ok_or(PricingError::Overflow { what: WHAT })?;
        if past.is_sign_negative() && !past.is_zero() {
            past = add(past, self.modulus, WHAT)?;
        }
        let down = sub(price, past, WHAT)?;
        let up = if past.is_zero() { down } else { add(down, self.modulus, WHAT)? };
        let down_allowed = !down.is_sign_negative() || down.is_zero();
        match self.policy {
            RoundingPolicy::None => Ok(price),
            RoundingPolicy::Up => Ok(up),
            RoundingPolicy::Down if down_allowed => Ok(down),
            RoundingPolicy::Down => Err(PricingError::RoundingBelowZero { price, amount: self.amount }),
            RoundingPolicy::ToNearest => {
                let above = sub(up, price, WHAT)?;
                let below = sub(price, down, WHAT)?;
                Ok(if !down_allowed || above <= below { up } else { down })
            }
        }
    }
}

/// The smallest power of ten, at least 1, that is greater than `ending`.
fn ending_modulus(ending: Decimal) -> Result<Decimal, PricingError> {
    let ten = Decimal::TEN;
    let mut modulus = Decimal::ONE;
    while modulus <= ending {
        modulus = modulus.checked_mul(ten).ok_or(PricingError::Overflow { what: "rounded price" })?;
    }
    Ok(modulus)
}

fn cost(method: PricingMethod, costs: &ProductCosts) -> Option<Decimal> {
    match method {
        PricingMethod::MarkupCurrentCost | PricingMethod::MarginCurrentCost => costs.current_cost,
        _ => costs.standard_cost,
    }
}

fn cost_input(method: PricingMethod) -> PriceInput {
    match method {
        PricingMethod::MarkupCurrentCost | PricingMethod::MarginCurrentCost => PriceInput::CurrentCost,
        _ => PriceInput::StandardCost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn item(method: PricingMethod, amount: Option<&str>, percentage: Option<&str>) -> PriceListItem {
        PriceListItem { method, amount: amount.map(d), percentage: percentage.map(d), rounding: Rounding::NONE }
    }

    fn costs() -> ProductCosts {
        ProductCosts { list_price: Some(d("200")), current_cost: Some(d("80")), standard_cost: Some(d("70")) }
    }

    fn rule(policy: RoundingPolicy, option: RoundingOption, amount: &str) -> Rounding {
        Rounding { policy, option: Some(option), amount: Some(d(amount)) }
    }

    fn rounded(price: &str, policy: RoundingPolicy, option: RoundingOption, amount: &str) -> String {
        round_price(d(price), &rule(policy, option, amount)).unwrap().normalize().to_string()
    }

    use PricingMethod::*;
    use RoundingOption::*;
    use RoundingPolicy::{Down, ToNearest, Up};

    #[test]
    fn codes_round_trip() {
        for code in 1..=6 {
            assert_eq!(PricingMethod::from_code(code).unwrap().code(), code);
        }
        for code in 1..=4 {
            assert_eq!(RoundingPolicy::from_code(code).unwrap().code(), code);
        }
        for code in 1..=2 {
            assert_eq!(RoundingOption::from_code(code).unwrap().code(), code);
        }
        assert_eq!(PricingMethod::from_code(0), None);
        assert_eq!(PricingMethod::from_code(7), None);
        assert_eq!(RoundingPolicy::from_code(5), None);
        assert_eq!(RoundingOption::from_code(3), None);
        assert_eq!(Rounding::default(), Rounding::NONE);
    }

    #[test]
    fn currency_amount() {
        let price = unit_price(&item(CurrencyAmount, Some("19.999"), None), &ProductCosts::default(), 2).unwrap();
        assert_eq!(price.to_string(), "20.00");
    }

    #[test]
    fn percent_of_list() {
        let price = unit_price(&item(PercentOfList, None, Some("85")), &costs(), 2).unwrap();
        assert_eq!(price.to_string(), "170.00");
        let price = unit_price(&item(PercentOfList, None, Some("33.333")), &costs(), 2).unwrap();
        assert_eq!(price.to_string(), "66.67");
    }

    #[test]
    fn markup_current_and_standard_cost() {
        assert_eq!(unit_price(&item(MarkupCurrentCost, None, Some("25")), &costs(), 2).unwrap(), d("100"));
        assert_eq!(unit_price(&item(MarkupStandardCost, None, Some("10")), &costs(), 2).unwrap(), d("77"));
        // A negative markup sells below cost; that is allowed while the price stays positive.
        assert_eq!(unit_price(&item(MarkupCurrentCost, None, Some("-50")), &costs(), 2).unwrap(), d("40"));
    }

    #[test]
    fn margin_current_and_standard_cost() {
        // 80 / (1 − 0.2) = 100: a fifth of the price is margin.
        assert_eq!(unit_price(&item(MarginCurrentCost, None, Some("20")), &costs(), 2).unwrap(), d("100"));
        // 70 / 0.7 = 100; 70 / 0.9 = 77.777…
        assert_eq!(unit_price(&item(MarginStandardCost, None, Some("30")), &costs(), 2).unwrap(), d("100"));
        assert_eq!(unit_price(&item(MarginStandardCost, None, Some("10")), &costs(), 2).unwrap(), d("77.78"));
        assert_eq!(unit_price(&item(MarginStandardCost, None, Some("10")), &costs(), 0).unwrap(), d("78"));
        assert_eq!(unit_price(&item(MarginCurrentCost, None, Some("0")), &costs(), 4).unwrap().to_string(), "80.0000");
    }

    #[test]
    fn missing_inputs_are_named() {
        let none = ProductCosts::default();
        let cases = [
            (item(CurrencyAmount, None, Some("5")), &costs(), CurrencyAmount, PriceInput::Amount),
            (item(PercentOfList, None, None), &costs(), PercentOfList, PriceInput::Percentage),
            (item(PercentOfList, None, Some("5")), &none, PercentOfList, PriceInput::ListPrice),
            (item(MarkupCurrentCost, None, None), &costs(), MarkupCurrentCost, PriceInput::Percentage),
            (item(MarkupCurrentCost, None, Some("5")), &none, MarkupCurrentCost, PriceInput::CurrentCost),
            (item(MarginCurrentCost, None, Some("5")), &none, MarginCurrentCost, PriceInput::CurrentCost),
            (item(MarkupStandardCost, None, Some("5")), &none, MarkupStandardCost, PriceInput::StandardCost),
            (item(MarginStandardCost, None, Some("5")), &none, MarginStandardCost, PriceInput::StandardCost),
            (item(MarginStandardCost, None, None), &none, MarginStandardCost, PriceInput::Percentage),
        ];
        for (item, costs, method, missing) in cases {
            assert_eq!(unit_price(&item, costs, 2), Err(PricingError::MissingInput { method, missing }));
        }
        let message = unit_price(&item(MarginCurrentCost, None, Some("5")), &none, 2).unwrap_err().to_string();
        assert_eq!(
            message,
            "the price list item uses Percent Margin - Current Cost but the product has no current cost"
        );
    }

    #[test]
    fn margin_of_a_hundred_percent_or_more_is_an_error() {
        for percentage in ["100", "150"] {
            let error = unit_price(&item(MarginCurrentCost, None, Some(percentage)), &costs(), 2).unwrap_err();
            assert_eq!(error, PricingError::MarginTooHigh { percentage: d(percentage) });
        }
        let error = unit_price(&item(MarginCurrentCost, None, Some("100")), &costs(), 2).unwrap_err();
        assert_eq!(error.to_string(), "a margin of 100% is not possible; a margin must be below 100%");
    }

    #[test]
    fn negative_prices_are_errors() {
        let error = unit_price(&item(CurrencyAmount, Some("-1"), None), &costs(), 2).unwrap_err();
        assert_eq!(error, PricingError::NegativePrice { price: d("-1") });
        assert_eq!(error.to_string(), "the calculated price -1 is negative");
        let error = unit_price(&item(MarkupCurrentCost, None, Some("-150")), &costs(), 2).unwrap_err();
        assert_eq!(error, PricingError::NegativePrice { price: d("-40") });
        let error = unit_price(&item(PercentOfList, None, Some("-10")), &costs(), 2).unwrap_err();
        assert_eq!(error, PricingError::NegativePrice { price: d("-20") });
        let negative_cost = ProductCosts { current_cost: Some(d("-8")), ..costs() };
        let error = unit_price(&item(MarginCurrentCost, None, Some("20")), &negative_cost, 2).unwrap_err();
        assert_eq!(error, PricingError::NegativePrice { price: d("-10") });
        assert_eq!(unit_price(&item(CurrencyAmount, Some("0"), None), &costs(), 2).unwrap(), Decimal::ZERO);
    }

    #[test]
    fn precision_and_overflow_errors() {
        let fixed = item(CurrencyAmount, Some("1"), None);
        assert_eq!(unit_price(&fixed, &costs(), 11), Err(PricingError::InvalidPrecision { precision: 11 }));
        assert!(unit_price(&fixed, &costs(), 10).is_ok());
        let huge = ProductCosts { current_cost: Some(Decimal::MAX), ..costs() };
        let overflow = Err(PricingError::Overflow { what: "unit price" });
        assert_eq!(unit_price(&item(MarkupCurrentCost, None, Some("50")), &huge, 2), overflow);
        assert_eq!(unit_price(&item(MarginCurrentCost, None, Some("50")), &huge, 2), overflow);
        let huge_list = ProductCosts { list_price: Some(Decimal::MAX), ..costs() };
        assert_eq!(unit_price(&item(PercentOfList, None, Some("200")), &huge_list, 2), overflow);
    }

    #[test]
    fn rounding_applies_before_the_currency_precision() {
        let mut priced = item(MarginStandardCost, None, Some("10"));
        priced.rounding = rule(Up, EndsIn, "0.99");
        assert_eq!(unit_price(&priced, &costs(), 2).unwrap().to_string(), "77.99");
        priced.rounding = rule(ToNearest, MultipleOf, "0.05");
        assert_eq!(unit_price(&priced, &costs(), 2).unwrap().to_string(), "77.80");
        priced.rounding = rule(Down, MultipleOf, "5");
        assert_eq!(unit_price(&priced, &costs(), 0).unwrap().to_string(), "75");
        // Policy None ignores whatever option and amount are set.
        priced.rounding = Rounding { policy: RoundingPolicy::None, option: Some(EndsIn), amount: Some(d("0.999")) };
        assert_eq!(unit_price(&priced, &costs(), 2).unwrap().to_string(), "77.78");
        priced.rounding = rule(Up, EndsIn, "0.999");
        assert_eq!(
            unit_price(&priced, &costs(), 2),
            Err(PricingError::RoundingAmountPrecision { amount: d("0.999"), precision: 2 })
        );
        priced.rounding = rule(Up, EndsIn, "0.990");
        assert_eq!(unit_price(&priced, &costs(), 2).unwrap().to_string(), "77.99");
    }

    #[test]
    fn rounding_settings_are_checked_before_the_price() {
        // Settings that are wrong whatever the price come first.
        let mut free = item(CurrencyAmount, Some("0"), None);
        free.rounding = rule(Down, EndsIn, "0.1");
        assert_eq!(
            unit_price(&free, &costs(), 0),
            Err(PricingError::RoundingAmountPrecision { amount: d("0.1"), precision: 0 })
        );
        assert_eq!(
            unit_price(&free, &costs(), 1),
            Err(PricingError::RoundingBelowZero { price: d("0"), amount: d("0.1") })
        );
        free.rounding = Rounding { policy: Up, option: None, amount: Some(d("0.001")) };
        assert_eq!(unit_price(&free, &costs(), 0), Err(PricingError::MissingRoundingOption { policy: Up }));
        let mut negative = item(CurrencyAmount, Some("-5"), None);
        negative.rounding = rule(Up, MultipleOf, "5");
        assert_eq!(unit_price(&negative, &costs(), 0), Err(PricingError::NegativePrice { price: d("-5") }));
    }

    #[test]
    fn ends_in_up() {
        assert_eq!(rounded("12.34", Up, EndsIn, "0.99"), "12.99");
        assert_eq!(rounded("12.99", Up, EndsIn, "0.99"), "12.99");
        assert_eq!(rounded("13.00", Up, EndsIn, "0.99"), "13.99");
        assert_eq!(rounded("17", Up, EndsIn, "9"), "19");
        assert_eq!(rounded("20", Up, EndsIn, "9"), "29");
        assert_eq!(rounded("3", Up, EndsIn, "9"), "9");
        assert_eq!(rounded("12.34", Up, EndsIn, "9.99"), "19.99");
        assert_eq!(rounded("0", Up, EndsIn, "0.99"), "0.99");
        assert_eq!(rounded("12.34", Up, EndsIn, "0"), "13");
        assert_eq!(rounded("150", Up, EndsIn, "10"), "210");
    }

    #[test]
    fn ends_in_down() {
        assert_eq!(rounded("13.00", Down, EndsIn, "0.99"), "12.99");
        assert_eq!(rounded("12.34", Down, EndsIn, "0.99"), "11.99");
        assert_eq!(rounded("12.99", Down, EndsIn, "0.99"), "12.99");
        assert_eq!(rounded("17", Down, EndsIn, "9"), "9");
        assert_eq!(rounded("12.34", Down, EndsIn, "0"), "12");
        assert_eq!(rounded("0.99", Down, EndsIn, "0.99"), "0.99");
    }

    #[test]
    fn ends_in_down_below_zero_is_an_error() {
        let error = round_price(d("0.50"), &rule(Down, EndsIn, "0.99")).unwrap_err();
        assert_eq!(error, PricingError::RoundingBelowZero { price: d("0.50"), amount: d("0.99") });
        assert_eq!(error.to_string(), "rounding 0.50 down to end in 0.99 would give a negative price");
        assert!(round_price(d("8"), &rule(Down, EndsIn, "9")).is_err());
    }

    #[test]
    fn ends_in_to_nearest() {
        assert_eq!(rounded("12.34", ToNearest, EndsIn, "0.99"), "11.99");
        assert_eq!(rounded("12.50", ToNearest, EndsIn, "0.99"), "12.99");
        // 12.49 is exactly between 11.99 and 12.99: ties go up.
        assert_eq!(rounded("12.49", ToNearest, EndsIn, "0.99"), "12.99");
        assert_eq!(rounded("12.48", ToNearest, EndsIn, "0.99"), "11.99");
        assert_eq!(rounded("13", ToNearest, EndsIn, "9"), "9");
        assert_eq!(rounded("14", ToNearest, EndsIn, "9"), "19");
        // Nothing at or below 0.10 ends in .99, so the upper candidate wins.
        assert_eq!(rounded("0.10", ToNearest, EndsIn, "0.99"), "0.99");
    }

    #[test]
    fn multiple_of_each_policy() {
        assert_eq!(rounded("123", Up, MultipleOf, "5"), "125");
        assert_eq!(rounded("125", Up, MultipleOf, "5"), "125");
        assert_eq!(rounded("123", Down, MultipleOf, "5"), "120");
        assert_eq!(rounded("123", ToNearest, MultipleOf, "5"), "125");
        assert_eq!(rounded("122.4", ToNearest, MultipleOf, "5"), "120");
        assert_eq!(rounded("122.5", ToNearest, MultipleOf, "5"), "125");
        assert_eq!(rounded("0.07", Up, MultipleOf, "0.05"), "0.1");
        assert_eq!(rounded("0.07", Down, MultipleOf, "0.05"), "0.05");
        assert_eq!(rounded("0.09", Up, MultipleOf, "0.03"), "0.09");
        assert_eq!(rounded("3", Down, MultipleOf, "5"), "0");
        assert_eq!(rounded("0", Up, MultipleOf, "5"), "0");
    }

    #[test]
    fn rounding_rule_errors() {
        let no_option = Rounding { policy: Up, option: None, amount: Some(d("5")) };
        let error = round_price(d("1"), &no_option).unwrap_err();
        assert_eq!(error, PricingError::MissingRoundingOption { policy: Up });
        assert_eq!(error.to_string(), "the price list item rounds Up but has no rounding option");
        let no_amount = Rounding { policy: ToNearest, option: Some(MultipleOf), amount: None };
        let error = round_price(d("1"), &no_amount).unwrap_err();
        assert_eq!(error, PricingError::MissingRoundingAmount { policy: ToNearest, option: MultipleOf });
        assert_eq!(
            error.to_string(),
            "the price list item rounds To Nearest to Multiple Of but has no rounding amount"
        );
        for amount in ["0", "-5"] {
            let error = round_price(d("1"), &rule(Up, MultipleOf, amount)).unwrap_err();
            assert_eq!(error, PricingError::InvalidRoundingAmount { option: MultipleOf, amount: d(amount) });
        }
        let error = round_price(d("1"), &rule(Up, EndsIn, "-0.01")).unwrap_err();
        assert_eq!(error, PricingError::InvalidRoundingAmount { option: EndsIn, amount: d("-0.01") });
        let error = round_price(d("-1"), &rule(Up, EndsIn, "0.99")).unwrap_err();
        assert_eq!(error, PricingError::NegativePrice { price: d("-1") });
        let error = round_price(Decimal::MAX, &rule(Up, MultipleOf, "10")).unwrap_err();
        assert_eq!(error, PricingError::Overflow { what: "rounded price" });
        let error = round_price(d("1"), &rule(Up, EndsIn, "79228162514264337593543950335")).unwrap_err();
        assert_eq!(error, PricingError::Overflow { what: "rounded price" });
        // Policy None never looks at the rest.
        let loose = Rounding { policy: RoundingPolicy::None, option: Some(MultipleOf), amount: Some(d("-1")) };
        assert_eq!(round_price(d("-3"), &loose).unwrap(), d("-3"));
    }
}
