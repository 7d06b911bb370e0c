//! CommerceML, the XML format of 1C:Enterprise's "exchange with a site"
//! (schema versions 2.03 to 3.1): reading what 1C uploads — classifier,
//! catalog, offers, prices, stock and order status documents — and
//! writing the orders document a site hands to 1C.
//!
//! Invariants: this crate knows nothing of HTTP, the exchange session or
//! the database; it turns bytes into typed values and back. Money and
//! quantities are [`rust_decimal::Decimal`], never floats. No input makes
//! it panic: every problem is an [`Error`] naming what and where.
//!
//! ```
//! use relata_commerceml::{read, write_orders_at, Encoding, Order, SchemaVersion};
//!
//! let order = Order { id: "42".into(), number: "42".into(), currency: "руб".into(), ..Order::default() };
//! let at = chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap().and_hms_opt(9, 30, 0).unwrap();
//! let bytes = write_orders_at(&[order], SchemaVersion::V2_05, Encoding::Windows1251, at);
//! let package = read(&bytes)?;
//! assert_eq!(package.orders[0].number, "42");
//! assert_eq!(package.orders[0].currency, "руб");
//! # Ok::<(), relata_commerceml::Error>(())
//! ```

#![warn(missing_docs)]

mod decode;
mod error;
mod model;
mod names;
mod read;
pub mod requisite;
mod value;
mod version;
mod write;

pub use decode::Encoding;
pub use error::Error;
pub use model::{
    BaseUnit, Catalog, Characteristic, Classifier, Contact, Counterparty, Discount, Group, LinkedDocument, Offer,
    OfferPackage, Order, OrderLine, Package, Price, PriceTax, PriceType, Product, Property, PropertyChoice,
    PropertyValue, Representative, Requisite, SiteStatus, StatusFacts, Tax, TaxRate, Unit, Warehouse, WarehouseStock,
};
pub use read::{entries, read, Entries, Entry};
pub use version::{SchemaVersion, UnknownVersion};
pub use write::{write_orders, write_orders_at};
