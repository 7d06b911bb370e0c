use rust_decimal::Decimal;

use crate::money::{add, check_precision, mul_div_round, round_money, sub};
use crate::PricingError;

/// A line's tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tax {
    /// A fixed amount for the whole line.
    Amount(Decimal),
    /// A percentage, 0 to 100, of the line's net amount.
    Rate(Decimal),
}

/// What a line's totals are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    /// The unit price (`priceperunit`).
    pub price_per_unit: Decimal,
    /// The quantity (`quantity`).
    pub quantity: Decimal,
    /// The manual discount for the whole line (`manualdiscountamount`).
    pub manual_discount: Decimal,
    /// The volume discount per unit, as [`crate::volume_discount_per_unit`] gives it.
    pub volume_discount_per_unit: Decimal,
    /// The tax.
    pub tax: Tax,
}

/// A line's amounts, each rounded to the currency's precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTotals {
    /// Price × quantity (`baseamount`).
    pub base_amount: Decimal,
    /// The manual discount (`manualdiscountamount`).
    pub manual_discount: Decimal,
    /// Volume discount per unit × quantity (`volumediscountamount`).
    pub volume_discount: Decimal,
    /// Base amount less both discounts; what tax and the document start from.
    pub net_amount: Decimal,
    /// The tax (`tax`).
    pub tax: Decimal,
    /// Net amount plus tax (`extendedamount`).
    pub extended_amount: Decimal,
}

/// What a document's totals are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInput<'a> {
    /// The document's lines, as [`line`] computed them.
    pub lines: &'a [LineTotals],
    /// The document discount as a percentage of the detail amount (`discountpercentage`).
    pub discount_percentage: Option<Decimal>,
    /// The document discount as an amount (`discountamount`), added to the percentage's.
    pub discount_amount: Option<Decimal>,
    /// The freight (`freightamount`).
    pub freight: Option<Decimal>,
}

/// A document's totals, each rounded to the currency's precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentTotals {
    /// The lines' net amounts summed: the detail amount (`totallineitemamount`).
    pub total_line_item_amount: Decimal,
    /// The lines' manual and volume discounts summed (`totallineitemdiscountamount`).
    pub total_line_item_discount_amount: Decimal,
    /// The document-level discount: percentage part plus amount (`totaldiscountamount`).
    pub total_discount_amount: Decimal,
    /// Detail amount less the document discount (`totalamountlessfreight`).
    pub total_amount_less_freight: Decimal,
    /// The lines' taxes summed (`totaltax`).
    pub total_tax: Decimal,
    /// Amount less freight, plus freight and tax (`totalamount`).
    pub total_amount: Decimal,
}

/// A line's totals. The volume discount per unit is capped at the price;
/// a manual discount larger than what is left is an error.
pub fn line(input: &LineInput, precision: u32) -> Result<LineTotals, PricingError> {
    check_precision(precision)?;
    let price = input.price_per_unit;
    let quantity = input.quantity;
    not_negative("price per unit", price)?;
    if negative(quantity) {
        return Err(PricingError::NegativeQuantity { quantity });
    }
    not_negative("manual discount", input.manual_discount)?;
    not_negative("volume discount", input.volume_discount_per_unit)?;
    match input.tax {
        Tax::Amount(amount) => not_negative("tax amount", amount)?,
        Tax::Rate(rate) => percentage("tax rate", rate)?,
    }

    let base_amount = mul_div_round(price, quantity, Decimal::ONE, precision, "line amount")?;
    let per_unit = input.volume_discount_per_unit.min(price);
    let volume_discount = mul_div_round(per_unit, quantity, Decimal::ONE, precision, "volume discount")?;
    let manual_discount = round_money(input.manual_discount, precision);
    let after_volume = sub(base_amount, volume_discount, "line amount")?;
    let net_amount = sub(after_volume, manual_discount, "line amount")?;
    if negative(net_amount) {
        return Err(PricingError::ManualDiscountExceedsAmount { discount: manual_discount, amount: after_volume });
    }
    let tax = match input.tax {
        Tax::Amount(amount) => round_money(amount, precision),
        Tax::Rate(rate) => mul_div_round(net_amount, rate, Decimal::ONE_HUNDRED, precision, "tax")?,
    };
    let extended_amount = round_money(add(net_amount, tax, "extended amount")?, precision);
    Ok(LineTotals { base_amount, manual_discount, volume_discount, net_amount, tax, extended_amount })
}

/// A document's totals from its lines, the document discount and freight.
/// The document discount does not change the lines' tax.
pub fn document(input: &DocumentInput, precision: u32) -> Result<DocumentTotals, PricingError> {
    check_precision(precision)?;
    if let Some(value) = input.discount_percentage {
        percentage("document discount percentage", value)?;
    }
    let discount_amount = input.discount_amount.unwrap_or_default();
    not_negative("document discount amount", discount_amount)?;
    let freight = input.freight.unwrap_or_default();
    not_negative("freight amount", freight)?;

    const WHAT: &str = "document total";
    let (mut detail, mut line_discounts, mut tax) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for line in input.lines {
        detail = add(detail, line.net_amount, WHAT)?;
        line_discounts = add(line_discounts, line.manual_discount, WHAT)?;
        line_discounts = add(line_discounts, line.volume_discount, WHAT)?;
        tax = add(tax, line.tax, WHAT)?;
    }
    let total_line_item_amount = round_money(detail, precision);
    let by_percentage = match input.discount_percentage {
        Some(value) => mul_div_round(total_line_item_amount, value, Decimal::ONE_HUNDRED, precision, WHAT)?,
        None => Decimal::ZERO,
    };
    let total_discount_amount =
        round_money(add(by_percentage, round_money(discount_amount, precision), WHAT)?, precision);
    let total_amount_less_freight = round_money(sub(total_line_item_amount, total_discount_amount, WHAT)?, precision);
    if negative(total_amount_less_freight) {
        return Err(PricingError::DocumentDiscountExceedsAmount {
            discount: total_discount_amount,
            amount: total_line_item_amount,
        });
    }
    let total_tax = round_money(tax, precision);
    let with_freight = add(total_amount_less_freight, round_money(freight, precision), WHAT)?;
    let total_amount = round_money(add(with_freight, total_tax, WHAT)?, precision);
    Ok(DocumentTotals {
        total_line_item_amount,
        total_line_item_discount_amount: round_money(line_discounts, precision),
        total_discount_amount,
        total_amount_less_freight,
        total_tax,
        total_amount,
    })
}

fn negative(value: Decimal) -> bool {
    value.is_sign_negative() && !value.is_zero()
}

fn not_negative(what: &'static str, value: Decimal) -> Result<(), PricingError> {
    if negative(value) {
        return Err(PricingError::NegativeAmount { what, value });
    }
    Ok(())
}

fn percentage(what: &'static str, value: Decimal) -> Result<(), PricingError> {
    if negative(value) || value > Decimal::ONE_HUNDRED {
        return Err(PricingError::PercentageOutOfRange { what, value });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn input(price: &str, quantity: &str, manual: &str, volume: &str, tax: Tax) -> LineInput {
        LineInput {
            price_per_unit: d(price),
            quantity: d(quantity),
            manual_discount: d(manual),
            volume_discount_per_unit: d(volume),
            tax,
        }
    }

    fn totals(base: &str, manual: &str, volume: &str, net: &str, tax: &str, extended: &str) -> LineTotals {
        LineTotals {
            base_amount: d(base),
            manual_discount: d(manual),
            volume_discount: d(volume),
            net_amount: d(net),
            tax: d(tax),
            extended_amount: d(extended),
        }
    }

    #[test]
    fn line_with_rate() {
        // 19.99 × 3 = 59.97; less 5.00 manual and 3 × 1.25 volume = 51.22; 20% tax = 10.244.
        let line = line(&input("19.99", "3", "5", "1.25", Tax::Rate(d("20"))), 2).unwrap();
        assert_eq!(line, totals("59.97", "5", "3.75", "51.22", "10.24", "61.46"));
        assert_eq!(line.extended_amount.to_string(), "61.46");
        assert_eq!(line.manual_discount.to_string(), "5.00");
    }

    #[test]
    fn line_with_fractional_quantity_and_tax_amount() {
        // 12.345 × 1.5 = 18.5175; 0.333 × 1.5 = 0.4995.
        let line = line(&input("12.345", "1.5", "0.004", "0.333", Tax::Amount(d("1.005"))), 2).unwrap();
        assert_eq!(line, totals("18.52", "0", "0.50", "18.02", "1.01", "19.03"));
        let whole = super::line(&input("12.345", "1.5", "0", "0", Tax::Rate(d("0"))), 0).unwrap();
        assert_eq!(whole, totals("19", "0", "0", "19", "0", "19"));
    }

    #[test]
    fn volume_discount_per_unit_is_capped_at_the_price() {
        let line = line(&input("10", "4", "0", "12", Tax::Rate(d("10"))), 2).unwrap();
        assert_eq!(line, totals("40", "0", "40", "0", "0", "0"));
    }

    #[test]
    fn manual_discount_up_to_the_amount_is_fine() {
        let line = line(&input("10", "4", "30", "2.5", Tax::Rate(d("100"))), 2).unwrap();
        assert_eq!(line, totals("40", "30", "10", "0", "0", "0"));
    }

    #[test]
    fn manual_discount_beyond_the_amount_is_an_error() {
        let error = line(&input("10", "4", "30.01", "2.5", Tax::Rate(d("10"))), 2).unwrap_err();
        assert_eq!(error, PricingError::ManualDiscountExceedsAmount { discount: d("30.01"), amount: d("30") });
        assert_eq!(error.to_string(), "the manual discount 30.01 exceeds the line amount 30.00");
    }

    #[test]
    fn negative_line_inputs_are_errors() {
        let cases = [
            (input("-1", "1", "0", "0", Tax::Rate(d("0"))), "price per unit", d("-1")),
            (input("1", "1", "-1", "0", Tax::Rate(d("0"))), "manual discount", d("-1")),
            (input("1", "1", "0", "-1", Tax::Rate(d("0"))), "volume discount", d("-1")),
            (input("1", "1", "0", "0", Tax::Amount(d("-0.01"))), "tax amount", d("-0.01")),
        ];
        for (input, what, value) in cases {
            assert_eq!(line(&input, 2), Err(PricingError::NegativeAmount { what, value }));
        }
        let error = line(&input("1", "-2", "0", "0", Tax::Rate(d("0"))), 2).unwrap_err();
        assert_eq!(error, PricingError::NegativeQuantity { quantity: d("-2") });
        for rate in ["-1", "100.01"] {
            let error = line(&input("1", "1", "0", "0", Tax::Rate(d(rate))), 2).unwrap_err();
            assert_eq!(error, PricingError::PercentageOutOfRange { what: "tax rate", value: d(rate) });
        }
        let error = line(&input("1", "1", "0", "0", Tax::Rate(d("101"))), 2).unwrap_err();
        assert_eq!(error.to_string(), "the tax rate must be between 0 and 100 percent, not 101");
    }

    #[test]
    fn line_precision_and_overflow_errors() {
        let plain = input("1", "1", "0", "0", Tax::Rate(d("0")));
        assert_eq!(line(&plain, 11), Err(PricingError::InvalidPrecision { precision: 11 }));
        let huge = LineInput { price_per_unit: Decimal::MAX, quantity: d("2"), ..plain.clone() };
        assert_eq!(line(&huge, 2), Err(PricingError::Overflow { what: "line amount" }));
        let big_tax = LineInput { price_per_unit: d("1"), tax: Tax::Amount(Decimal::MAX), ..plain };
        assert_eq!(line(&big_tax, 0), Err(PricingError::Overflow { what: "extended amount" }));
    }

    fn sample_lines() -> Vec<LineTotals> {
        vec![
            line(&input("19.99", "3", "5", "1.25", Tax::Rate(d("20"))), 2).unwrap(),
            line(&input("100", "1", "0", "0", Tax::Amount(d("7.5"))), 2).unwrap(),
        ]
    }

    #[test]
    fn document_totals() {
        let lines = sample_lines();
        let input = DocumentInput {
            lines: &lines,
            discount_percentage: Some(d("10")),
            discount_amount: Some(d("2")),
            freight: Some(d("9.95")),
        };
        let totals = document(&input, 2).unwrap();
        // Detail 51.22 + 100 = 151.22; 10% = 15.122 → 15.12, plus 2.
        assert_eq!(
            totals,
            DocumentTotals {
                total_line_item_amount: d("151.22"),
                total_line_item_discount_amount: d("8.75"),
                total_discount_amount: d("17.12"),
                total_amount_less_freight: d("134.10"),
                total_tax: d("17.74"),
                total_amount: d("161.79"),
            }
        );
        assert_eq!(totals.total_amount.to_string(), "161.79");
    }

    #[test]
    fn empty_document_and_no_document_discount() {
        let empty = DocumentInput { lines: &[], discount_percentage: None, discount_amount: None, freight: None };
        let totals = document(&empty, 2).unwrap();
        assert_eq!(totals.total_amount.to_string(), "0.00");
        let lines = sample_lines();
        let plain = DocumentInput { lines: &lines, ..empty };
        let totals = document(&plain, 2).unwrap();
        assert_eq!(totals.total_discount_amount, Decimal::ZERO);
        assert_eq!(totals.total_amount, d("168.96"));
    }

    #[test]
    fn document_discount_beyond_the_detail_amount_is_an_error() {
        let lines = sample_lines();
        let input = DocumentInput {
            lines: &lines,
            discount_percentage: Some(d("100")),
            discount_amount: Some(d("0.01")),
            freight: None,
        };
        let error = document(&input, 2).unwrap_err();
        assert_eq!(error, PricingError::DocumentDiscountExceedsAmount { discount: d("151.23"), amount: d("151.22") });
        assert_eq!(error.to_string(), "the document discount 151.23 exceeds the detail amount 151.22");
        let all = DocumentInput { discount_amount: None, ..input };
        assert_eq!(document(&all, 2).unwrap().total_amount_less_freight, Decimal::ZERO);
    }

    #[test]
    fn document_input_errors() {
        let lines = sample_lines();
        let base = DocumentInput { lines: &lines, discount_percentage: None, discount_amount: None, freight: None };
        let cases = [
            (
                DocumentInput { discount_percentage: Some(d("100.5")), ..base.clone() },
                PricingError::PercentageOutOfRange { what: "document discount percentage", value: d("100.5") },
            ),
            (
                DocumentInput { discount_percentage: Some(d("-1")), ..base.clone() },
                PricingError::PercentageOutOfRange { what: "document discount percentage", value: d("-1") },
            ),
            (
                DocumentInput { discount_amount: Some(d("-1")), ..base.clone() },
                PricingError::NegativeAmount { what: "document discount amount", value: d("-1") },
            ),
            (
                DocumentInput { freight: Some(d("-1")), ..base.clone() },
                PricingError::NegativeAmount { what: "freight amount", value: d("-1") },
            ),
        ];
        for (input, error) in cases {
            assert_eq!(document(&input, 2), Err(error));
        }
        assert_eq!(document(&base, 11), Err(PricingError::InvalidPrecision { precision: 11 }));
        let huge = [totals("0", "0", "0", "0", "0", "0"), totals("0", "0", "0", "0", "0", "0")]
            .map(|line| LineTotals { net_amount: Decimal::MAX, ..line });
        let overflow = DocumentInput { lines: &huge, ..base.clone() };
        assert_eq!(document(&overflow, 2), Err(PricingError::Overflow { what: "document total" }));
        let freight = DocumentInput { freight: Some(Decimal::MAX), ..base };
        assert_eq!(document(&freight, 0), Err(PricingError::Overflow { what: "document total" }));
    }
}
