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
mod payments;
mod print;
mod process;
mod states;
mod team;

pub use actions::{CloseRequest, QualifyLead};
pub(crate) use process::seed;

use relata_metadata::{Entity, Value};
use uuid::Uuid;

use crate::error::Result;
use crate::session::{Fields, Session};

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

pub(crate) fn pre_create(s: &mut Session<'_, '_, '_>, entity: &Entity, fields: &mut Fields) -> Result<()> {
    let name = entity.name();
    if let Some(kind) = kind_of_line(name) {
        return lines::price_line(s, kind, None, fields);
    }
    if let Some(kind) = kind_of_doc(name) {
        defaults::new_document(s, fields)?;
        documents::prepare(s, kind, None, fields)?;
    }
    if name == "product" {
        defaults::new_product(s, fields)?;
    }
    match name {
        "relata_payment" => payments::prepare(s, fields),
        "opportunity" => process::stage(s, None, fields),
        "documenttemplate" => print::check_template(fields),
        "productpricelevel" => lines::prepare_price_list_item(s, None, fields),
        "uomschedule" | "uom" | "product" => lines::prepare_catalog(s, entity, None, fields),
        _ => Ok(()),
    }
}

pub(crate) fn pre_update(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    existing: &Fields,
    changes: &mut Fields,
) -> Result<()> {
    let name = entity.name();
    states::check(s, entity, existing, changes)?;
    if let Some(kind) = kind_of_line(name) {
        return lines::price_line(s, kind, Some((id, existing)), changes);
    }
    if let Some(kind) = kind_of_doc(name) {
        documents::prepare(s, kind, Some((id, existing)), changes)?;
    }
    match name {
        "relata_payment" => Err(crate::EngineError::Invalid(
            "A recorded payment cannot be changed; delete it and record the right one.".into(),
        )),
        "opportunity" => process::stage(s, Some(existing), changes),
        "invoice" => payments::invoice_state(s, id, existing, changes),
        "documenttemplate" => print::check_template(changes),
        "productpricelevel" => lines::prepare_price_list_item(s, Some(existing), changes),
        "uomschedule" | "uom" | "product" => lines::prepare_catalog(s, entity, Some(existing), changes),
        _ => Ok(()),
    }
}

pub(crate) fn post_create(s: &mut Session<'_, '_, '_>, entity: &Entity, id: Uuid, fields: &Fields) -> Result<()> {
    let name = entity.name();
    if let Some(kind) = kind_of_line(name) {
        let doc = fields.get(kind.parent).and_then(Value::as_uuid).expect("checked by price_line");
        return documents::recalculate(s, kind, doc);
    }
    match name {
        "relata_payment" => payments::settle(s, fields),
        "uomschedule" => lines::create_base_unit(s, id, fields),
        "product" => defaults::keep_list_price(s, id, None, fields),
        _ => Ok(()),
    }
}

pub(crate) fn post_update(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    existing: &Fields,
    changes: &Fields,
) -> Result<()> {
    let name = entity.name();
    if let Some(kind) = kind_of_line(name) {
        let doc = existing.get(kind.parent).and_then(Value::as_uuid).expect("lines have a document");
        return documents::recalculate(s, kind, doc);
    }
    if let Some(kind) = kind_of_doc(name) {
        documents::after_update(s, kind, id, existing, changes)?;
    }
    if name == "invoice" {
        payments::after_invoice_update(s, id, existing, changes)?;
    }
    if name == "product" {
        defaults::keep_list_price(s, id, Some(existing), changes)?;
    }
    Ok(())
}

pub(crate) fn pre_delete(s: &mut Session<'_, '_, '_>, entity: &Entity, _id: Uuid, existing: &Fields) -> Result<()> {
    let name = entity.name();
    if let Some(kind) = kind_of_line(name) {
        lines::check_document_editable(s, kind, existing)?;
    }
    if name == "relata_payment" {
        payments::check_removable(s, existing)?;
    }
    Ok(())
}

pub(crate) fn post_delete(s: &mut Session<'_, '_, '_>, entity: &Entity, id: Uuid, existing: &Fields) -> Result<()> {
    let name = entity.name();
    if entity.is_owned() {
        s.drop_record_teams(id)?;
    }
    if let Some(kind) = kind_of_line(name) {
        if let Some(doc) = existing.get(kind.parent).and_then(Value::as_uuid) {
            return documents::recalculate(s, kind, doc);
        }
    }
    if name == "relata_payment" {
        return payments::settle(s, existing);
    }
    Ok(())
}
