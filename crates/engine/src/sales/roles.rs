//! What the standard roles grant on the sales module's entities: sales
//! people work their own leads, opportunities and documents and read the
//! catalog; sales managers see their units' and keep the catalog; service
//! and marketing take what they need.

use relata_security::Depth;

use crate::modules::Registry;
use crate::roles::{Grant, ALL, READ, READ_APPEND};

/// Leads, opportunities and the documents that follow them.
const SALES: &[&str] = &["lead", "opportunity", "quote", "salesorder", "invoice"];
/// What sales people price and sell from, maintained by sales managers.
const CATALOG: &[&str] = &[
    "product",
    "pricelevel",
    "uomschedule",
    "uom",
    "discounttype",
    "competitor",
    "salesliterature",
    "workflow",
    "documenttemplate",
];

pub(super) fn register(r: &mut Registry) {
    let grant = |entities, rights, depth| Grant { entities, rights, depth };
    r.grant("System Customizer", grant(SALES, ALL, Depth::User))
        .grant("Sales Manager", grant(SALES, ALL, Depth::ParentChild))
        .grant("Sales Manager", grant(CATALOG, ALL, Depth::Organization))
        .grant("Salesperson", grant(SALES, ALL, Depth::User))
        .grant("Salesperson", grant(CATALOG, READ_APPEND, Depth::Organization))
        .grant("Customer Service Representative", grant(CATALOG, READ, Depth::Organization))
        .grant("Marketing Manager", grant(&["lead"], ALL, Depth::ParentChild))
        .grant("Marketing Professional", grant(&["lead"], ALL, Depth::User));
}
