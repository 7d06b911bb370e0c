//! Reading records: OData query options parsed into one query model
//! ([`ast`]), then planned into SQL that always carries the caller's
//! security scope ([`plan::Ctx`]).
//!
//! Invariant: no function here builds a SELECT over an entity table without
//! [`plan::scope_predicate`]; user-supplied values only ever become bound
//! parameters.

pub mod ast;
pub mod fetchxml;
mod filter;
pub mod options;
pub mod parser;
pub mod plan;
pub mod query_expression;

pub use plan::{Ctx, Expanded, Page, Record, Restriction, MAX_PAGE_SIZE};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query is malformed or names something that does not exist.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] relata_store::StoreError),
}
