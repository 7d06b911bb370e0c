//! The sales process: lead qualification, opportunities, quotes, orders,
//! invoices and payments, run as steps of the write pipeline so that the
//! Web API, imports and the 1C exchange obey the same rules.
//!
//! The four priced documents (opportunity, quote, sales order, invoice)
//! and their product lines share one implementation, described by
//! [`DocKind`]; the money arithmetic itself is `relata-pricing`.

mod actions;
pub(crate) mod defaults;
mod documents;
mod lead;
mod lines;
mod messages;
mod operations;
mod pages;
mod payments;
mod print;
mod process;
mod roles;
mod steps;
mod team;
mod views;

pub use actions::{CloseRequest, QualifyLead};
pub(crate) use lines::{is_item_of, price_items};

/// The sales entities: leads and opportunities, the product catalog and
/// price lists, quotes, orders and invoices with their lines, and what
/// sales adds to accounts, contacts and the organization.
pub const SCHEMA: &[(&str, &str)] = &[
    ("sales.toml", include_str!("schema/sales.toml")),
    ("catalog.toml", include_str!("schema/catalog.toml")),
    ("orders.toml", include_str!("schema/orders.toml")),
];

use crate::modules::{Module, Registry};

/// A priced document and its product lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DocKind {
    pub doc: &'static str,
    pub line: &'static str,
    /// The line's lookup to its document.
    pub parent: &'static str,
    /// The line's name column (product name or write-in description).
    pub line_name: &'static str,
    /// The line's copy of the document's state.
    pub line_state: &'static str,
    /// The document's number column and the prefix of generated numbers.
    pub number: Option<(&'static str, &'static str)>,
    /// How the document is named in messages.
    pub noun: &'static str,
}

pub(crate) const KINDS: &[DocKind] = &[
    DocKind {
        doc: "opportunity",
        line: "opportunityproduct",
        parent: "opportunityid",
        line_name: "opportunityproductname",
        line_state: "opportunitystatecode",
        number: None,
        noun: "opportunity",
    },
    DocKind {
        doc: "quote",
        line: "quotedetail",
        parent: "quoteid",
        line_name: "quotedetailname",
        line_state: "quotestatecode",
        number: Some(("quotenumber", "QUO")),
        noun: "quote",
    },
    DocKind {
        doc: "salesorder",
        line: "salesorderdetail",
        parent: "salesorderid",
        line_name: "salesorderdetailname",
        line_state: "salesorderstatecode",
        number: Some(("ordernumber", "ORD")),
        noun: "order",
    },
    DocKind {
        doc: "invoice",
        line: "invoicedetail",
        parent: "invoiceid",
        line_name: "invoicedetailname",
        line_state: "invoicestatecode",
        number: Some(("invoicenumber", "INV")),
        noun: "invoice",
    },
];

pub(crate) fn kind_of_doc(entity: &str) -> Option<&'static DocKind> {
    KINDS.iter().find(|k| k.doc == entity)
}

pub(crate) fn kind_of_line(entity: &str) -> Option<&'static DocKind> {
    KINDS.iter().find(|k| k.line == entity)
}

/// The sales module.
pub struct Sales;

impl Module for Sales {
    fn name(&self) -> &'static str {
        "sales"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["platform"]
    }

    fn register(&self, r: &mut Registry) {
        for (name, text) in SCHEMA {
            r.schema(name, text);
        }
        r.messages("ru", messages::RUSSIAN);
        steps::register(r);
        operations::register(r);
        pages::register(r);
        roles::register(r);
        r.views(views::VIEWS);
        r.printer(&["quote", "salesorder", "invoice"], |s, entity, id, template| {
            s.print_document(entity, id, template)
        });
        r.seed(process::seed);
        r.on_first_run(defaults::first_run);
    }
}
