//! The money arithmetic of the sales chain, following Dynamics 365 Sales:
//! unit prices from price list items, price rounding, quantity rules,
//! volume discounts, line and document totals, and currency conversion.
//!
//! Invariants: this crate knows nothing of databases or wire formats; every
//! operation uses checked `Decimal` arithmetic, so an amount too large to
//! compute becomes a [`PricingError`], never a panic; every amount it returns
//! is rounded half away from zero to the currency's precision.
//!
//! ```
//! use relata_pricing::{line, Decimal, LineInput, Tax};
//!
//! let input = LineInput {
//!     price_per_unit: Decimal::new(1999, 2),
//!     quantity: Decimal::from(3),
//!     manual_discount: Decimal::ZERO,
//!     volume_discount_per_unit: Decimal::ZERO,
//!     tax: Tax::Rate(Decimal::from(20)),
//! };
//! let totals = line(&input, 2)?;
//! assert_eq!(totals.net_amount.to_string(), "59.97");
//! assert_eq!(totals.extended_amount.to_string(), "71.96");
//! # Ok::<(), relata_pricing::PricingError>(())
//! ```

#![warn(missing_docs)]

mod discount;
mod error;
mod money;
mod price;
mod quantity;
mod totals;

pub use discount::{volume_discount_per_unit, DiscountList, DiscountRange};
pub use error::{PriceInput, PricingError};
pub use money::{convert, round_money, MAX_PRECISION};
pub use price::{
    round_price, unit_price, PriceListItem, PricingMethod, ProductCosts, Rounding, RoundingOption, RoundingPolicy,
};
pub use quantity::{check_quantity, QuantitySelling};
/// The decimal type of every amount, re-exported so callers need not depend on it.
pub use rust_decimal::Decimal;
pub use totals::{document, line, DocumentInput, DocumentTotals, LineInput, LineTotals, Tax};
