//! The organization service: everything Relata does with records, callable
//! from the Web API, the CLI, imports and the 1C exchange alike.
//!
//! Invariants: this crate knows nothing of HTTP or JSON; every write goes
//! through [`Session`]'s pipeline (validate → rules → privileges → write),
//! and every read through `relata-query` with the caller's scope.

mod customize;
mod error;
mod org;
mod principal;
mod roles;
mod rules;
mod seed;
mod session;

pub use customize::{NewAttribute, NewEntity};
pub use error::{EngineError, Result};
pub use org::{Org, OrgConfig, OrgIds, TokenInfo};
pub use roles::STANDARD_ROLES;
pub use session::{Condition, Fields, Nested, RecordInput, Session, UpsertOutcome};
