//! Exchange with 1C: Relata plays the site in 1C's standard "exchange
//! with site" protocol, so a stock 1C configuration pointed at
//! `/1c_exchange` pushes its catalog, prices and stock, takes the orders
//! and sends back their payments and shipments, with no 1C-side code.
//!
//! - `protocol.rs` answers the protocol's calls (HTTP Basic, the cookie
//!   and `sessid` handshake, `success`/`progress`/`failure` answers).
//! - `uploads.rs` keeps the files 1C uploads, chunk by chunk, in the
//!   database (so any server process can import them) and unpacks archives.
//! - `nodes.rs`: each 1C database exchanges as its own node; a fresh
//!   installation has a default node, so no configuration comes first.
//! - `import.rs` is the background job that imports one file in steps,
//!   and `catalog.rs` what a step does with each group, unit, property,
//!   price type, warehouse, product and offer.
//! - `folder.rs`: the same without HTTP, for a shared-folder exchange
//!   (`relata exchange`).
//! - `sale.rs`: orders out (`sale/query`, confirmed by `sale/success`) and
//!   what 1C sends back about them (paid, shipped, canceled).
//!
//! Every write goes through the session's pipeline as the exchange user,
//! so the sales rules (units in their group, list prices, unique product
//! numbers) hold for what 1C sends as for what a user types.

mod batch;
mod catalog;
mod folder;
mod identity;
mod import;
mod nodes;
mod parties;
mod protocol;
mod results;
mod sale;
mod uploads;

pub use folder::ImportProgress;

use crate::jobs::JobKind;
use crate::modules::{Message, Module, Registry, Stage, Step};

/// The privilege the exchange user needs (System Administrator has it).
pub(crate) const PRIVILEGE: &str = "prvRelataExchangeWith1C";

/// What the exchange adds to the catalog that sales people read.
const STOCK: &[&str] =
    &["relata_warehouse", "relata_productstock", "relata_productproperty", "relata_productpropertyvalue"];

/// Dataverse's `operationtype` for a data import.
const IMPORT_OPERATION: i32 = 5;

/// The 1C exchange module.
pub struct Exchange1C;

impl Module for Exchange1C {
    fn name(&self) -> &'static str {
        "exchange1c"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["platform", "sales"]
    }

    fn register(&self, r: &mut Registry) {
        r.schema("exchange1c.toml", include_str!("schema.toml"))
            .seed(nodes::seed)
            .endpoint("/1c_exchange", protocol::handle)
            // An import that fails is reported to 1C, which re-sends the
            // package; retrying it here would only repeat the failure.
            .job(JobKind::new(import::JOB, IMPORT_OPERATION, import::step).attempts(1).prepare(import::prepare));
        // Warehouses, stock and product properties are part of the catalog
        // sales people sell from: they read them; managers keep them.
        let grant = |rights, depth| crate::roles::Grant { entities: STOCK, rights, depth };
        r.grant("Salesperson", grant(crate::roles::READ, relata_security::Depth::Organization))
            .grant("Customer Service Representative", grant(crate::roles::READ, relata_security::Depth::Organization))
            .grant("Sales Manager", grant(crate::roles::ALL, relata_security::Depth::Organization));
        for entity in identity::ENTITIES {
            for message in [Message::Create, Message::Update] {
                let step = Step::new("unique_exchange_id", message, Stage::PreOperation, identity::unique_exchange_id)
                    .batch(identity::unique_exchange_ids)
                    .entity(entity)
                    .describe("The 1C identifier is unique within its exchange node.");
                r.step(if message == Message::Update {
                    step.filtering(&["relata_exchangeid", "relata_exchangenodeid"])
                } else {
                    step
                });
            }
        }
    }
}
