//! The sales chain's business actions, named and shaped as Dataverse's:
//! `WinOpportunity`, `LoseOpportunity`, `GenerateQuoteFromOpportunity`,
//! `ReviseQuote`, `WinQuote`, `CloseQuote`, `ConvertQuoteToSalesOrder`,
//! `FulfillSalesOrder`, `CancelSalesOrder`, `ConvertSalesOrderToInvoice`,
//! and the price locks. Each runs as the caller, through the same
//! pipeline as any write.

use chrono::{TimeZone, Utc};
use relata_metadata::{EntityRef, Value};
use relata_security::Right;
use uuid::Uuid;

use super::documents::{amount, copy_document};
use super::{kind_of_doc, DocKind};
use crate::error::{EngineError, Result};
use crate::session::{Condition, Fields, RecordInput, Session};

pub use super::lead::QualifyLead;

/// The closing activity of an action (`OpportunityClose`, `QuoteClose`,
/// `OrderClose`) as the client sent it, and the status to close with.
#[derive(Debug, Clone, Default)]
pub struct CloseRequest {
    pub close: RecordInput,
    pub status: Option<i64>,
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

fn kind(doc: &str) -> &'static DocKind {
    kind_of_doc(doc).expect("a priced document")
}

/// How a close action treats its record.
struct Closing {
    action: &'static str,
    /// The closing activity and its lookup to the record.
    activity: &'static str,
    lookup: &'static str,
    from_states: &'static [i64],
    to_state: i64,
    default_status: i64,
    subject: &'static str,
}

const WIN_OPPORTUNITY: Closing = Closing {
    action: "WinOpportunity",
    activity: "opportunityclose",
    lookup: "opportunityid",
    from_states: &[0],
    to_state: 1,
    default_status: 3,
    subject: "Opportunity won",
};
const LOSE_OPPORTUNITY: Closing = Closing {
    action: "LoseOpportunity",
    activity: "opportunityclose",
    lookup: "opportunityid",
    from_states: &[0],
    to_state: 2,
    default_status: 4,
    subject: "Opportunity lost",
};
const WIN_QUOTE: Closing = Closing {
    action: "WinQuote",
    activity: "quoteclose",
    lookup: "quoteid",
    from_states: &[1],
    to_state: 2,
    default_status: 4,
    subject: "Quote won",
};
const CLOSE_QUOTE: Closing = Closing {
    action: "CloseQuote",
    activity: "quoteclose",
    lookup: "quoteid",
    from_states: &[1],
    to_state: 3,
    default_status: 5,
    subject: "Quote closed",
};
const FULFILL_ORDER: Closing = Closing {
    action: "FulfillSalesOrder",
    activity: "orderclose",
    lookup: "salesorderid",
    from_states: &[0, 1],
    to_state: 3,
    default_status: 100001,
    subject: "Order fulfilled",
};
const CANCEL_ORDER: Closing = Closing {
    action: "CancelSalesOrder",
    activity: "orderclose",
    lookup: "salesorderid",
    from_states: &[0, 1],
    to_state: 2,
    default_status: 4,
    subject: "Order canceled",
};

impl Session<'_, '_, '_> {
    /// Today as a date-only value.
    pub(crate) fn today(&self) -> Value {
        let d = self.now.date_naive();
        Value::DateTime(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")))
    }

    /// Runs `f` as the business action `name` (state transitions reserved
    /// to it become possible).
    pub(crate) fn as_action<R>(&mut self, name: &'static str, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        let outer = self.action.replace(name);
        let r = f(self);
        self.action = outer;
        r
    }

    /// Loads a record the caller may write, or the usual not-found error.
    fn writable(&mut self, entity: &str, id: Uuid) -> Result<Fields> {
        let e = self.entity(entity)?;
        let rec = self.load(&e, id)?.ok_or_else(|| crate::session::not_found(entity, id))?;
        self.require(&e, Right::Write, &rec, id)?;
        Ok(rec)
    }

    /// Updates a record inside an action, where the caller's Write was
    /// checked already and the state change is the action's own.
    fn action_update(&mut self, entity: &str, id: Uuid, fields: Vec<(String, Value)>) -> Result<()> {
        self.update(entity, id, RecordInput::new(fields), Condition::default(), false)?;
        Ok(())
    }

    fn close(&mut self, how: &Closing, req: CloseRequest) -> Result<Uuid> {
        let record_entity = match how.lookup {
            "opportunityid" => "opportunity",
            "quoteid" => "quote",
            _ => "salesorder",
        };
        let id =
            req.close.fields.iter().find(|(n, _)| n == how.lookup).and_then(|(_, v)| v.as_uuid()).ok_or_else(|| {
                invalid(format!("{} needs the {record_entity} it closes ({}@odata.bind).", how.action, how.lookup))
            })?;
        let record = self.writable(record_entity, id)?;
        let entity = self.entity(record_entity)?;
        let state = record.get("statecode").and_then(Value::as_i64).unwrap_or(0);
        if !how.from_states.contains(&state) {
            let st = entity.state(state as i32);
            let name = st.map(|s| s.name.to_lowercase()).unwrap_or_default();
            // The parameter fills the translated text, so it is the state's label there.
            let label = st.map(|s| s.label.text(1049).to_string()).unwrap_or_default();
            let english = format!("{} cannot close this {record_entity}: it is {name}.", how.action);
            return Err(super::messages::refused(None, "sales.cannot_close", vec![("state", label)], english));
        }
        let status = req.status.unwrap_or(how.default_status);
        let valid =
            entity.state(how.to_state as i32).is_some_and(|s| s.statuses.iter().any(|x| x.value as i64 == status));
        if !valid {
            let params = vec![("status", status.to_string()), ("action", how.action.to_string())];
            let english = format!("{status} is not a valid Status for {}.", how.action);
            return Err(super::messages::refused(None, "sales.bad_close_status", params, english));
        }
        let name = record.get(&entity.def.primary_name).and_then(Value::as_str).unwrap_or("").to_string();
        let mut close = req.close;
        let has = |c: &RecordInput, n: &str| c.fields.iter().any(|(k, v)| k == n && !v.is_null());
        if !has(&close, "subject") {
            close.fields.push(("subject".into(), Value::String(format!("{}: {name}", how.subject))));
        }
        let mut actual_revenue = None;
        let mut actual_end = None;
        if how.activity == "opportunityclose" {
            if !has(&close, "actualrevenue") {
                let revenue = if how.to_state == 1 { amount(&record, "estimatedvalue") } else { Default::default() };
                close.fields.push(("actualrevenue".into(), Value::Decimal(revenue)));
            }
            if !has(&close, "actualend") {
                close.fields.push(("actualend".into(), self.today()));
            }
            actual_revenue = close.fields.iter().find(|(k, _)| k == "actualrevenue").map(|(_, v)| v.clone());
            actual_end = close.fields.iter().find(|(k, _)| k == "actualend").map(|(_, v)| v.clone());
            if let Some(c) = record.get("transactioncurrencyid").filter(|v| !v.is_null()) {
                if !has(&close, "transactioncurrencyid") {
                    close.fields.push(("transactioncurrencyid".into(), c.clone()));
                }
            }
        }
        if how.activity == "quoteclose" && !has(&close, "revision") {
            let rev = record.get("revisionnumber").cloned().unwrap_or(Value::Int(0));
            close.fields.push(("revision".into(), rev));
        }
        if how.activity == "orderclose" && !has(&close, "ordernumber") {
            if let Some(n) = record.get("ordernumber").filter(|v| !v.is_null()) {
                close.fields.push(("ordernumber".into(), n.clone()));
            }
        }
        close.fields.retain(|(k, _)| k != "statecode" && k != "statuscode");
        close.fields.push(("statecode".into(), Value::Int(1)));
        let activity = self.create(how.activity, close)?;

        let mut update: Vec<(String, Value)> =
            vec![("statecode".into(), Value::Int(how.to_state)), ("statuscode".into(), Value::Int(status))];
        match how.activity {
            "opportunityclose" => {
                update.push(("actualvalue".into(), actual_revenue.unwrap_or(Value::Null)));
                update.push(("actualclosedate".into(), actual_end.unwrap_or(Value::Null)));
                update.push(("closeprobability".into(), Value::Int(if how.to_state == 1 { 100 } else { 0 })));
            }
            "quoteclose" => update.push(("closedon".into(), self.today())),
            _ if how.to_state == 3 => update.push(("datefulfilled".into(), Value::DateTime(self.now))),
            _ => {}
        }
        let action = how.action;
        self.as_action(action, |s| s.action_update(record_entity, id, update))?;
        Ok(activity)
    }

    /// `WinOpportunity`: closes the opportunity as won (status 3 by default).
    pub fn win_opportunity(&mut self, req: CloseRequest) -> Result<Uuid> {
        self.close(&WIN_OPPORTUNITY, req)
    }

    /// `LoseOpportunity`: closes it as lost (4 Canceled or 5 Out-Sold).
    pub fn lose_opportunity(&mut self, req: CloseRequest) -> Result<Uuid> {
        self.close(&LOSE_OPPORTUNITY, req)
    }

    /// `WinQuote`: an active quote accepted by the customer.
    pub fn win_quote(&mut self, req: CloseRequest) -> Result<Uuid> {
        self.close(&WIN_QUOTE, req)
    }

    /// `CloseQuote`: an active quote lost (5) or canceled (6).
    pub fn close_quote(&mut self, req: CloseRequest) -> Result<Uuid> {
        self.close(&CLOSE_QUOTE, req)
    }

    /// `FulfillSalesOrder`: complete (100001) or partial (100002).
    pub fn fulfill_sales_order(&mut self, req: CloseRequest) -> Result<Uuid> {
        self.close(&FULFILL_ORDER, req)
    }

    /// `CancelSalesOrder`.
    pub fn cancel_sales_order(&mut self, req: CloseRequest) -> Result<Uuid> {
        self.close(&CANCEL_ORDER, req)
    }

    /// `GenerateQuoteFromOpportunity`, `GenerateSalesOrderFromOpportunity`,
    /// `GenerateInvoiceFromOpportunity`: a new draft document with the
    /// opportunity's customer, price list and products.
    pub fn generate_from_opportunity(&mut self, opportunity: Uuid, target: &str) -> Result<Uuid> {
        let opp = self.writable("opportunity", opportunity)?;
        if opp.get("statecode").and_then(Value::as_i64).unwrap_or(0) != 0 {
            let english = "The opportunity is closed; reopen it before creating documents from it.";
            return Err(super::messages::refused(None, "sales.opportunity_closed", vec![], english));
        }
        let to = kind_of_doc(target).filter(|k| k.doc != "opportunity").ok_or_else(|| invalid("unknown document"))?;
        let extra =
            vec![("opportunityid".into(), Value::Ref(EntityRef { entity: "opportunity".into(), id: opportunity }))];
        copy_document(self, kind("opportunity"), opportunity, to, extra, false)
    }

    /// `ReviseQuote`: the quote closes as Revised and its next revision
    /// opens as a draft with the same number and products.
    pub fn revise_quote(&mut self, quote: Uuid) -> Result<Uuid> {
        let q = self.writable("quote", quote)?;
        let state = q.get("statecode").and_then(Value::as_i64).unwrap_or(0);
        let status = q.get("statuscode").and_then(Value::as_i64).unwrap_or(0);
        if !(state == 1 || state == 3 && matches!(status, 5 | 6)) {
            let english = "Only an active, lost or canceled quote can be revised.";
            return Err(super::messages::refused(None, "sales.revise_state", vec![], english));
        }
        let mut extra = Vec::new();
        for k in ["quotenumber"] {
            if let Some(v) = q.get(k).filter(|v| !v.is_null()) {
                extra.push((k.to_string(), v.clone()));
            }
        }
        let next = copy_document(self, kind("quote"), quote, kind("quote"), extra, false)?;
        let revision = q.get("revisionnumber").and_then(Value::as_i64).unwrap_or(0) + 1;
        let mut f = Fields::new();
        f.insert("revisionnumber".into(), Value::Int(revision));
        self.system_update("quote", next, f)?;
        if state == 1 {
            self.as_action("ReviseQuote", |s| {
                s.action_update(
                    "quote",
                    quote,
                    vec![("statecode".into(), Value::Int(3)), ("statuscode".into(), Value::Int(7))],
                )
            })?;
        }
        Ok(next)
    }

    /// `ConvertQuoteToSalesOrder`: an active quote is won on the way; the
    /// order keeps the quote's prices (pricing locked).
    pub fn convert_quote_to_sales_order(&mut self, quote: Uuid) -> Result<Uuid> {
        let q = self.writable("quote", quote)?;
        match q.get("statecode").and_then(Value::as_i64).unwrap_or(0) {
            1 => {
                let close = RecordInput::new(vec![(
                    "quoteid".into(),
                    Value::Ref(EntityRef { entity: "quote".into(), id: quote }),
                )]);
                self.as_action("ConvertQuoteToSalesOrder", |s| {
                    s.close(&WIN_QUOTE, CloseRequest { close, status: None })
                })?;
            }
            2 => {}
            _ => {
                let english = "Only an active or won quote can become an order; activate it first.";
                return Err(super::messages::refused(None, "sales.order_from_quote_state", vec![], english));
            }
        }
        let extra = vec![("quoteid".into(), Value::Ref(EntityRef { entity: "quote".into(), id: quote }))];
        copy_document(self, kind("quote"), quote, kind("salesorder"), extra, true)
    }

    /// `ConvertSalesOrderToInvoice`: the invoice keeps the order's prices;
    /// the order becomes Invoiced.
    pub fn convert_sales_order_to_invoice(&mut self, order: Uuid) -> Result<Uuid> {
        let o = self.writable("salesorder", order)?;
        if !matches!(o.get("statecode").and_then(Value::as_i64).unwrap_or(0), 0 | 1 | 3) {
            let english = "A canceled or already invoiced order cannot be invoiced.";
            return Err(super::messages::refused(None, "sales.invoice_from_order_state", vec![], english));
        }
        let extra = vec![("salesorderid".into(), Value::Ref(EntityRef { entity: "salesorder".into(), id: order }))];
        let invoice = copy_document(self, kind("salesorder"), order, kind("invoice"), extra, true)?;
        self.as_action("ConvertSalesOrderToInvoice", |s| {
            s.action_update(
                "salesorder",
                order,
                vec![("statecode".into(), Value::Int(4)), ("statuscode".into(), Value::Int(100003))],
            )
        })?;
        Ok(invoice)
    }

    /// `LockSalesOrderPricing` / `UnlockSalesOrderPricing` and the invoice
    /// pair: unlocking prices the lines from the price list again.
    pub fn set_price_lock(&mut self, entity: &str, id: Uuid, locked: bool) -> Result<()> {
        if !matches!(entity, "salesorder" | "invoice" | "quote") {
            return Err(invalid(format!("'{entity}' has no price lock")));
        }
        self.writable(entity, id)?;
        self.action_update(entity, id, vec![("ispricelocked".into(), Value::Bool(locked))])
    }
}
