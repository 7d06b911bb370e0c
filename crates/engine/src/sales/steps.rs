//! The sales module's pipeline steps: pricing of product lines and
//! documents, numbering, the catalog, payments, the sales stage and the
//! lifecycle of leads, opportunities, quotes, orders and invoices.

use relata_metadata::Value;

use super::{defaults, documents, lines, payments, print, process, DocKind, KINDS};
use crate::error::Result;
use crate::modules::{Message, Registry, Stage, Step, StepContext};
use crate::session::{Fields, Session};

/// Defaults come before the rules that read them.
const DEFAULTS: i32 = 90;

pub(super) fn register(r: &mut Registry) {
    use Message::{Create, Delete, Update};
    use Stage::{PostOperation, PreOperation};
    for kind in KINDS {
        for message in [Create, Update] {
            r.step(
                Step::new("price_line", message, PreOperation, price_line)
                    .entity(kind.line)
                    .describe("A product line is checked against its document and priced."),
            );
        }
        for message in [Create, Update, Delete] {
            r.step(
                Step::new("document_totals", message, PostOperation, document_totals)
                    .entity(kind.line)
                    .describe("The document's totals follow its lines."),
            );
        }
        r.step(
            Step::new("document_editable", Delete, PreOperation, document_editable)
                .entity(kind.line)
                .describe("Lines of a closed document cannot be removed."),
        );
        r.step(
            Step::new("document_defaults", Create, PreOperation, document_defaults)
                .entity(kind.doc)
                .rank(DEFAULTS)
                .describe("A new document starts on the default price list in the base currency."),
        );
        for message in [Create, Update] {
            r.step(
                Step::new("document", message, PreOperation, document)
                    .entity(kind.doc)
                    .describe("Numbering, price list and currency checks, and header totals."),
            );
        }
        r.step(
            Step::new("document_changed", Update, PostOperation, document_changed)
                .entity(kind.doc)
                .describe("A new price list reprices the lines; lines follow the document's state and price lock."),
        );
    }
    r.step(
        Step::new("product_defaults", Create, PreOperation, product_defaults)
            .batch(product_defaults_many)
            .entity("product")
            .rank(DEFAULTS)
            .describe("A new product gets the default unit group, unit and price list."),
    );
    for message in [Create, Update] {
        for entity in ["uomschedule", "uom", "product"] {
            r.step(
                Step::new("catalog", message, PreOperation, catalog)
                    .batch(lines::prepare_catalog_many)
                    .entity(entity)
                    .describe("Unit groups, units and products are kept consistent."),
            );
        }
        r.step(
            Step::new("price_list_item", message, PreOperation, price_list_item)
                .batch(lines::prepare_price_list_items)
                .entity("productpricelevel")
                .describe("A price list item's unit belongs to its product's unit group; amounts are checked."),
        );
        r.step(
            Step::new("sales_stage", message, PreOperation, sales_stage)
                .entity("opportunity")
                .describe("The opportunity's process stage and step name follow its sales stage."),
        );
        r.step(
            Step::new("template", message, PreOperation, template)
                .entity("documenttemplate")
                .describe("A print template must parse."),
        );
        r.step(
            Step::new("list_price", message, PostOperation, list_price)
                .entity("product")
                .describe("A product's list price is kept as its item in its price list."),
        );
    }
    r.step(
        Step::new("base_unit", Create, PostOperation, base_unit)
            .entity("uomschedule")
            .describe("A new unit group gets its base unit."),
    );
    r.step(
        Step::new("payment", Create, PreOperation, payment)
            .entity("relata_payment")
            .describe("A payment is checked against its invoice."),
    );
    r.step(
        Step::new("payment_fixed", Update, PreOperation, payment_fixed)
            .entity("relata_payment")
            .describe("A recorded payment cannot be changed."),
    );
    r.step(
        Step::new("payment_removable", Delete, PreOperation, payment_removable)
            .entity("relata_payment")
            .describe("Payments of a canceled invoice cannot be removed."),
    );
    for message in [Create, Delete] {
        r.step(
            Step::new("settle", message, PostOperation, settle)
                .entity("relata_payment")
                .describe("The invoice's paid amount and state follow its payments."),
        );
    }
    r.step(
        Step::new("invoice_state", Update, PreOperation, invoice_state)
            .entity("invoice")
            .describe("Marking an invoice paid records the outstanding amount."),
    );
    r.step(
        Step::new("invoice_changed", Update, PostOperation, invoice_changed)
            .entity("invoice")
            .describe("A paid-in-full invoice records the payment of what was outstanding."),
    );
    r.step(
        Step::new("record_teams", Delete, PostOperation, record_teams)
            .describe("A deleted record's access teams go with it."),
    );
}

fn kind_of_line(c: &StepContext<'_>) -> &'static DocKind {
    super::kind_of_line(c.entity.name()).expect("registered for line entities")
}

fn kind_of_doc(c: &StepContext<'_>) -> &'static DocKind {
    super::kind_of_doc(c.entity.name()).expect("registered for document entities")
}

fn price_line(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let kind = kind_of_line(c);
    lines::price_line(s, kind, c.pre_image.map(|e| (c.id, e)), c.target)
}

fn document_totals(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let kind = kind_of_line(c);
    // A line keeps its document (price_line refuses a move).
    let doc = c.pre_image.unwrap_or(c.target).get(kind.parent).and_then(Value::as_uuid);
    match doc {
        Some(doc) => documents::recalculate(s, kind, doc),
        None => Ok(()),
    }
}

fn document_editable(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    lines::check_document_editable(s, kind_of_line(c), c.pre_image.unwrap_or(&Fields::new()))
}

fn document_defaults(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    defaults::new_document(s, c.target)
}

fn document(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    documents::prepare(s, kind_of_doc(c), c.pre_image.map(|e| (c.id, e)), c.target)
}

fn document_changed(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    documents::after_update(s, kind_of_doc(c), c.id, c.pre_image.unwrap_or(&Fields::new()), c.target)
}

fn product_defaults(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    defaults::new_product(s, c.target)
}

fn product_defaults_many(s: &mut Session<'_, '_, '_>, batch: &mut [&mut StepContext<'_>]) -> Result<()> {
    let mut known = defaults::ProductDefaults::default();
    for c in batch.iter_mut() {
        defaults::new_product_with(s, c.target, &mut known)?;
    }
    Ok(())
}

fn catalog(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    lines::prepare_catalog(s, c.entity, c.pre_image, c.target)
}

fn price_list_item(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    lines::prepare_price_list_item(s, c.pre_image, c.target)
}

fn sales_stage(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    process::stage(s, c.pre_image, c.target)
}

fn template(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    print::check_template(c.target)
}

fn list_price(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    defaults::keep_list_price(s, c.id, c.pre_image, c.target)
}

fn base_unit(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    lines::create_base_unit(s, c.id, c.target)
}

fn payment(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    payments::prepare(s, c.target)
}

fn payment_fixed(_: &mut Session<'_, '_, '_>, _: &mut StepContext<'_>) -> Result<()> {
    let english = "A recorded payment cannot be changed; delete it and record the right one.";
    Err(super::messages::refused(None, "sales.payment_fixed", vec![], english))
}

fn payment_removable(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    payments::check_removable(s, c.pre_image.unwrap_or(&Fields::new()))
}

fn settle(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    // Created: the new payment; deleted: the one removed.
    let payment = if c.is_create() { &*c.target } else { c.pre_image.unwrap_or(c.target) };
    let payment = payment.clone();
    payments::settle(s, &payment)
}

fn invoice_state(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    payments::invoice_state(s, c.id, c.pre_image.unwrap_or(&Fields::new()), c.target)
}

fn invoice_changed(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    payments::after_invoice_update(s, c.id, c.pre_image.unwrap_or(&Fields::new()), c.target)
}

fn record_teams(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if c.entity.is_owned() {
        s.drop_record_teams(c.id)?;
    }
    Ok(())
}
