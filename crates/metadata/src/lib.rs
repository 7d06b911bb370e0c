//! Relata's metadata: what entities, attributes, option sets and
//! relationships exist, and whether a value fits an attribute.
//!
//! Invariants: this crate knows nothing of SQL, HTTP or JSON wire formats
//! (it only deserializes its own definition files). The built-in CRM schema
//! is data (`schema/*.toml`), not code; custom entities and attributes use
//! the same structs.

mod builtin;
mod model;
mod schema;
mod validate;
mod value;

pub use builtin::{builtin_definitions, definitions_with, privileges_with};
pub use model::*;
pub use schema::{Entity, Nav, OneToMany, Schema};
pub use validate::{check_range, check_storable, check_value, ValidationError};
pub use value::{EntityRef, Value};

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("invalid metadata: {0}")]
    Invalid(String),
}

/// Money is stored with four decimals, as in Dataverse.
pub const MONEY_SCALE: u32 = 4;
/// Dataverse's money range: ±922,337,203,685,477.
pub fn money_limit() -> rust_decimal::Decimal {
    rust_decimal::Decimal::from(922_337_203_685_477i64)
}

/// The storage scale of a decimal/money attribute.
pub fn decimal_scale(attr: &AttributeDef) -> u32 {
    match attr.kind {
        AttrKind::Money => MONEY_SCALE,
        _ => attr.precision.unwrap_or(2).min(12),
    }
}
