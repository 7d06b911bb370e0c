//! Invoice payments (`relata_payment`): each records a date and an amount;
//! together they set the invoice's paid and due amounts and move it
//! between Active, Paid – Partial and Paid – Complete.

use relata_metadata::{EntityRef, Value};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::documents::amount;
use crate::error::{EngineError, Result};
use crate::session::{Fields, RecordInput, Session};

const PAID: i64 = 2;
const COMPLETE: i64 = 100001;
const PARTIAL: i64 = 100002;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

fn invoice_of(fields: &Fields) -> Result<Uuid> {
    fields
        .get("relata_invoiceid")
        .and_then(Value::as_uuid)
        .ok_or_else(|| invalid("A payment needs its invoice (relata_invoiceid)."))
}

/// Before a payment is recorded: the invoice must be payable, the amount
/// within what is due; the payment takes the invoice's currency.
pub(super) fn prepare(s: &mut Session<'_, '_, '_>, fields: &mut Fields) -> Result<()> {
    let id = invoice_of(fields)?;
    let entity = s.entity("invoice")?;
    let invoice = s.load(&entity, id)?.ok_or_else(|| invalid(format!("The invoice {id} does not exist.")))?;
    let state = invoice.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    let status = invoice.get("statuscode").and_then(Value::as_i64).unwrap_or(0);
    match (state, status) {
        (0, _) | (PAID, PARTIAL) => {}
        (PAID, _) => {
            return Err(super::messages::refused(
                None,
                "sales.invoice_paid",
                vec![],
                "The invoice is paid in full already.",
            ))
        }
        _ => {
            return Err(super::messages::refused(
                None,
                "sales.invoice_canceled",
                vec![],
                "A canceled invoice cannot be paid.",
            ))
        }
    }
    let paid = fields.get("relata_amount").and_then(Value::as_decimal).unwrap_or_default();
    if paid <= Decimal::ZERO {
        let english = "A payment needs a positive amount (relata_amount).";
        return Err(super::messages::refused(Some("relata_amount"), "sales.payment_amount", vec![], english));
    }
    let due = amount(&invoice, "totalamount") - amount(&invoice, "relata_amountpaid");
    if paid > due {
        let (paid, due) = (paid.normalize().to_string(), due.normalize().to_string());
        let english = format!("The payment ({paid}) exceeds the amount due ({due}).");
        return Err(super::messages::refused(
            Some("relata_amount"),
            "sales.payment_exceeds",
            vec![("paid", paid), ("due", due)],
            english,
        ));
    }
    if let Some(c) = invoice.get("transactioncurrencyid").filter(|v| !v.is_null()) {
        fields.insert("transactioncurrencyid".into(), c.clone());
    }
    let date = fields.get("relata_paidon").and_then(Value::as_datetime).map(|d| d.date_naive().to_string());
    let number = invoice.get("invoicenumber").and_then(Value::as_str).unwrap_or("").to_string();
    fields.insert(
        "relata_name".into(),
        Value::String(format!("{number} {} {}", paid.normalize(), date.unwrap_or_default()).trim().to_string()),
    );
    Ok(())
}

/// After a payment was recorded or removed: the invoice's paid and due
/// amounts, last payment date and state.
pub(super) fn settle(s: &mut Session<'_, '_, '_>, payment: &Fields) -> Result<()> {
    let id = invoice_of(payment)?;
    let Some(invoice) = s.read_system("invoice", id)? else { return Ok(()) };
    let payments = s.query_system(
        "relata_payment",
        &format!("$select=relata_amount,relata_paidon&$filter=_relata_invoiceid_value eq {id}&$orderby=relata_paidon"),
    )?;
    let paid: Decimal = payments.iter().map(|p| amount(p, "relata_amount")).sum();
    let last = payments.last().and_then(|p| p.get("relata_paidon")).cloned().unwrap_or(Value::Null);
    let total = amount(&invoice, "totalamount");
    let mut changes = Fields::new();
    changes.insert("relata_amountpaid".into(), Value::Decimal(paid.normalize()));
    changes.insert("relata_amountdue".into(), Value::Decimal((total - paid).normalize()));
    changes.insert("relata_paidon".into(), last);
    let state = invoice.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    if state == 0 || state == PAID {
        let (new_state, new_status) = if paid >= total && paid > Decimal::ZERO {
            (PAID, COMPLETE)
        } else if paid > Decimal::ZERO {
            (PAID, PARTIAL)
        } else {
            (0, 1)
        };
        changes.insert("statecode".into(), Value::Int(new_state));
        changes.insert("statuscode".into(), Value::Int(new_status));
        if new_state != state {
            let kind = super::kind_of_doc("invoice").expect("invoice");
            let mut follow = Fields::new();
            follow.insert(kind.line_state.into(), Value::Int(new_state));
            let lines =
                s.query_system(kind.line, &format!("$select=invoicedetailid&$filter=_invoiceid_value eq {id}"))?;
            for l in lines.iter().filter_map(|l| l.get("invoicedetailid").and_then(Value::as_uuid)) {
                s.system_update(kind.line, l, follow.clone())?;
            }
        }
    }
    s.system_update("invoice", id, changes)
}

/// A payment can be removed while its invoice is not canceled.
pub(super) fn check_removable(s: &mut Session<'_, '_, '_>, payment: &Fields) -> Result<()> {
    let id = invoice_of(payment)?;
    let entity = s.entity("invoice")?;
    let invoice = s.load(&entity, id)?.ok_or_else(|| invalid(format!("The invoice {id} does not exist.")))?;
    if invoice.get("statecode").and_then(Value::as_i64) == Some(3) {
        let english = "The payments of a canceled invoice cannot be changed.";
        return Err(super::messages::refused(None, "sales.canceled_invoice_payments", vec![], english));
    }
    Ok(())
}

/// `PATCH invoice statecode`: Paid – Complete records the rest as a
/// payment made today; Paid – Partial needs a payment with its amount;
/// a canceled invoice must have no payments.
pub(super) fn invoice_state(
    s: &mut Session<'_, '_, '_>,
    _id: Uuid,
    existing: &Fields,
    changes: &mut Fields,
) -> Result<()> {
    if s.action.is_some() {
        return Ok(());
    }
    let from = existing.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    let to = changes.get("statecode").and_then(Value::as_i64).unwrap_or(from);
    let status = changes.get("statuscode").and_then(Value::as_i64);
    let paid = amount(existing, "relata_amountpaid");
    if to == PAID && status == Some(PARTIAL) && changes.get("statuscode") != existing.get("statuscode") {
        let english = "Record the payment (relata_payments with its amount and date); the invoice becomes Paid – \
                       Partial by itself.";
        return Err(super::messages::refused(None, "sales.record_payment", vec![], english));
    }
    if to == 3 && from != 3 && paid > Decimal::ZERO {
        let english = "An invoice with payments cannot be canceled; remove the payments first.";
        return Err(super::messages::refused(None, "sales.cancel_paid_invoice", vec![], english));
    }
    if to == PAID && from != PAID && amount(existing, "totalamount") <= Decimal::ZERO {
        let english = "An invoice without an amount to pay cannot be marked paid.";
        return Err(super::messages::refused(None, "sales.nothing_to_pay", vec![], english));
    }
    Ok(())
}

/// After `PATCH statecode = Paid, statuscode = Complete`: the rest is paid today.
pub(super) fn after_invoice_update(
    s: &mut Session<'_, '_, '_>,
    id: Uuid,
    existing: &Fields,
    changes: &Fields,
) -> Result<()> {
    if s.action.is_some() {
        return Ok(());
    }
    let to_complete = changes.get("statuscode").and_then(Value::as_i64) == Some(COMPLETE)
        && existing.get("statuscode").and_then(Value::as_i64) != Some(COMPLETE);
    if !to_complete {
        return Ok(());
    }
    let due = amount(existing, "totalamount") - amount(existing, "relata_amountpaid");
    if due <= Decimal::ZERO {
        return Ok(());
    }
    // The invoice is marked paid already; the payment is recorded as part of
    // the same action so the amounts agree.
    let today = s.today();
    s.as_action("RecordPayment", |s| {
        let mut back = Fields::new();
        back.insert("statecode".into(), Value::Int(existing.get("statecode").and_then(Value::as_i64).unwrap_or(0)));
        back.insert("statuscode".into(), existing.get("statuscode").cloned().unwrap_or(Value::Int(1)));
        s.system_update("invoice", id, back)?;
        s.create(
            "relata_payment",
            RecordInput::new(vec![
                ("relata_invoiceid".into(), Value::Ref(EntityRef { entity: "invoice".into(), id })),
                ("relata_amount".into(), Value::Decimal(due)),
                ("relata_paidon".into(), today),
            ]),
        )
        .map(|_| ())
    })
}
