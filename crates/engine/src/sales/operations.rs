//! The sales chain's operations in the catalog, with Dataverse's names and
//! parameters: `QualifyLead`, `WinOpportunity` / `LoseOpportunity`, the
//! `Generate…FromOpportunity` family, `ReviseQuote`, `WinQuote`,
//! `CloseQuote`, `ConvertQuoteToSalesOrder`, `FulfillSalesOrder`,
//! `CancelSalesOrder`, `ConvertSalesOrderToInvoice`, the price locks,
//! `ExportPdfDocument` and the record team actions. The rules are the
//! session's (`actions.rs`, `lead.rs`, `team.rs`, `print.rs`); these read
//! the parameters and say what comes back.

use base64::Engine as _;
use relata_metadata::EntityRef;
use serde_json::Value as Json;
use uuid::Uuid;

use super::{CloseRequest, QualifyLead};
use crate::error::{EngineError, Result};
use crate::modules::{Action, ActionRequest, ActionResponse, Binding, Command, ParamType, Registry};
use crate::session::Session;

pub(crate) fn register(r: &mut Registry) {
    use ParamType as T;
    // Closing a document: its close activity and the status to close
    // with. On the record page, a button whose form asks for the close
    // activity's columns (an opportunity's actual revenue starts from its
    // estimate) and the status, among those of the state it closes to.
    let close_columns: &[(&str, Option<&str>)] =
        &[("actualrevenue", Some("estimatedvalue")), ("actualend", None), ("description", None)];
    for (name, param, activity, description, button) in [
        (
            "WinOpportunity",
            "OpportunityClose",
            "opportunityclose",
            "Closes an opportunity as won.",
            Command::on("opportunity", "win", "Close as won", "Закрыть как выигранную").columns(close_columns),
        ),
        (
            "LoseOpportunity",
            "OpportunityClose",
            "opportunityclose",
            "Closes an opportunity as lost.",
            Command::on("opportunity", "lose", "Close as lost", "Закрыть как проигранную").columns(&close_columns[1..]),
        ),
        (
            "WinQuote",
            "QuoteClose",
            "quoteclose",
            "Closes a quote as won.",
            Command::on("quote", "win_quote", "Win quote", "Выиграть предложение"),
        ),
        (
            "CloseQuote",
            "QuoteClose",
            "quoteclose",
            "Closes a quote as lost, canceled or revised.",
            // Revising has its own button.
            Command::on("quote", "close_quote", "Close quote", "Закрыть предложение").status("Status", &[7]),
        ),
        (
            "FulfillSalesOrder",
            "OrderClose",
            "orderclose",
            "Marks an order fulfilled.",
            Command::on("salesorder", "fulfill", "Fulfill order", "Выполнить заказ"),
        ),
        (
            "CancelSalesOrder",
            "OrderClose",
            "orderclose",
            "Cancels an order.",
            Command::on("salesorder", "cancel_order", "Cancel order", "Отменить заказ"),
        ),
    ] {
        let lookup = match activity {
            "opportunityclose" => "opportunityid",
            "quoteclose" => "quoteid",
            _ => "salesorderid",
        };
        let button = if button.status.is_none() { button.status("Status", &[]) } else { button };
        r.action(
            Action::new(name, close)
                .describe(description)
                .param(param, T::Entity(activity))
                .optional("Status", T::Integer)
                .labelled("Reason", "Причина")
                .command(button.record_in(param, lookup)),
        );
    }
    for (name, target) in [
        ("GenerateQuoteFromOpportunity", "quote"),
        ("GenerateSalesOrderFromOpportunity", "salesorder"),
        ("GenerateInvoiceFromOpportunity", "invoice"),
    ] {
        let action = Action::new(name, generate)
            .describe("Creates a document with the opportunity's customer, price list and products.")
            .param("OpportunityId", T::Guid)
            .optional("ColumnSet", T::Complex("ColumnSet"))
            .returns_entity(target);
        // An open opportunity gets its quote from the record page.
        r.action(if target == "quote" {
            action.command(
                Command::on("opportunity", "create_quote", "Create quote", "Создать предложение")
                    .record_id("OpportunityId")
                    .states(&[0]),
            )
        } else {
            action
        });
    }
    for (name, param, target, description, button) in [
        (
            "ReviseQuote",
            "QuoteId",
            "quote",
            "Closes a quote as revised and opens a draft copy.",
            Command::on("quote", "revise", "Revise", "Пересмотреть"),
        ),
        (
            "ConvertQuoteToSalesOrder",
            "QuoteId",
            "salesorder",
            "Creates an order from a won quote.",
            Command::on("quote", "create_order", "Create order", "Создать заказ"),
        ),
        (
            "ConvertSalesOrderToInvoice",
            "SalesOrderId",
            "invoice",
            "Creates an invoice from an order.",
            Command::on("salesorder", "create_invoice", "Create invoice", "Создать счёт"),
        ),
    ] {
        r.action(
            Action::new(name, convert)
                .describe(description)
                .param(param, T::Guid)
                .optional("ColumnSet", T::Complex("ColumnSet"))
                .returns_entity(target)
                .command(button.record_id(param)),
        );
    }
    for (name, param) in [
        ("LockSalesOrderPricing", "SalesOrderId"),
        ("UnlockSalesOrderPricing", "SalesOrderId"),
        ("LockInvoicePricing", "InvoiceId"),
        ("UnlockInvoicePricing", "InvoiceId"),
    ] {
        r.action(
            Action::new(name, price_lock)
                .describe("Keeps a document's prices as they are, or lets the price list reprice it.")
                .param(param, T::Guid),
        );
    }
    r.action(
        Action::new("ExportPdfDocument", export_pdf)
            .describe("Prints one record to PDF with its document template.")
            .param("EntityTypeCode", T::Integer)
            .optional("SelectedTemplate", T::EntityReferenceOf("documenttemplate"))
            .param("SelectedRecords", T::String)
            .returns("PdfFile", T::Binary),
    )
    .action(
        Action::new("QualifyLead", qualify_lead)
            .describe("Qualifies a lead into the account, contact and opportunity asked for.")
            .bound(Binding::Entity("lead"))
            .param("CreateAccount", T::Boolean)
            .labelled("Create an account", "Создать организацию")
            .param("CreateContact", T::Boolean)
            .labelled("Create a contact", "Создать контакт")
            .param("CreateOpportunity", T::Boolean)
            .labelled("Create an opportunity", "Создать возможную сделку")
            .optional("OpportunityCurrencyId", T::EntityReferenceOf("transactioncurrency"))
            .optional("OpportunityCustomerId", T::EntityReference)
            .optional("Status", T::Integer)
            .labelled("Reason", "Причина")
            .optional("SuppressDuplicateDetection", T::Boolean)
            .optional("LinkExisting", T::Boolean)
            .labelled(
                "Use the existing account or contact if one matches",
                "Использовать существующую организацию или контакт при совпадении",
            )
            .optional("SourceCampaignId", T::EntityReference)
            .optional("ProcessInstanceId", T::EntityReference)
            .returns_records()
            .command(
                Command::on("lead", "qualify", "Qualify", "Квалифицировать")
                    .asks(&["CreateAccount", "CreateContact", "CreateOpportunity", "LinkExisting"])
                    .status("Status", &[])
                    .default("CreateAccount", Json::Bool(true))
                    .default("CreateContact", Json::Bool(true))
                    .default("CreateOpportunity", Json::Bool(true))
                    .opens(&["opportunity", "account", "contact"]),
            ),
    );
    for name in ["AddUserToRecordTeam", "RemoveUserFromRecordTeam"] {
        let action = Action::new(name, record_team)
            .describe("Adds a user to a record's access team (its sales team), or removes them.")
            .bound(Binding::Entity("systemuser"))
            .param("Record", T::EntityReference)
            .param("TeamTemplateId", T::Guid);
        r.action(if name.starts_with("Add") { action.returns("AccessTeamId", T::Guid) } else { action });
    }
}

fn close(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let (param, activity) = match req.action {
        "WinOpportunity" | "LoseOpportunity" => ("OpportunityClose", "opportunityclose"),
        "WinQuote" | "CloseQuote" => ("QuoteClose", "quoteclose"),
        _ => ("OrderClose", "orderclose"),
    };
    let mut input = req.record(param, activity)?;
    // The close activity is made by the action; a client's id is not kept.
    input.fields.retain(|(k, _)| k != "activityid");
    let close = CloseRequest { close: input, status: req.int("Status") };
    match req.action {
        "WinOpportunity" => s.win_opportunity(close)?,
        "LoseOpportunity" => s.lose_opportunity(close)?,
        "WinQuote" => s.win_quote(close)?,
        "CloseQuote" => s.close_quote(close)?,
        "FulfillSalesOrder" => s.fulfill_sales_order(close)?,
        _ => s.cancel_sales_order(close)?,
    };
    Ok(ActionResponse::Empty)
}

fn generate(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let target = match req.action {
        "GenerateQuoteFromOpportunity" => "quote",
        "GenerateSalesOrderFromOpportunity" => "salesorder",
        _ => "invoice",
    };
    let id = s.generate_from_opportunity(req.guid("OpportunityId")?, target)?;
    Ok(ActionResponse::Record(EntityRef { entity: target.into(), id }))
}

fn convert(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let (entity, id) = match req.action {
        "ReviseQuote" => ("quote", s.revise_quote(req.guid("QuoteId")?)?),
        "ConvertQuoteToSalesOrder" => ("salesorder", s.convert_quote_to_sales_order(req.guid("QuoteId")?)?),
        _ => ("invoice", s.convert_sales_order_to_invoice(req.guid("SalesOrderId")?)?),
    };
    Ok(ActionResponse::Record(EntityRef { entity: entity.into(), id }))
}

fn price_lock(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let locked = req.action.starts_with("Lock");
    if req.action.ends_with("SalesOrderPricing") {
        s.set_price_lock("salesorder", req.guid("SalesOrderId")?, locked)?;
    } else {
        s.set_price_lock("invoice", req.guid("InvoiceId")?, locked)?;
    }
    Ok(ActionResponse::Empty)
}

fn export_pdf(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let code = req.int("EntityTypeCode").unwrap_or_default();
    let entity = s
        .schema
        .entities()
        .find(|e| e.def.object_type_code as i64 == code)
        .map(|e| e.name().to_string())
        .ok_or_else(|| EngineError::Invalid(format!("{code} is not an entity type code")))?;
    let template = req.reference("SelectedTemplate")?.map(|t| t.id);
    let text = req.string("SelectedRecords").unwrap_or_default();
    let ids: Vec<String> = serde_json::from_str(text)
        .map_err(|_| EngineError::Invalid("SelectedRecords must be a JSON array of record ids, as a string".into()))?;
    let ids: Vec<Uuid> = ids
        .iter()
        .map(|t| {
            Uuid::parse_str(t.trim_matches(|c| c == '{' || c == '}'))
                .map_err(|_| EngineError::Invalid(format!("'{t}' in SelectedRecords is not a GUID")))
        })
        .collect::<Result<_>>()?;
    let [id] = ids.as_slice() else {
        return Err(EngineError::Invalid("ExportPdfDocument prints one record at a time (SelectedRecords)".into()));
    };
    let pdf = s.print_document(&entity, *id, template)?;
    Ok(ActionResponse::property("PdfFile", Json::String(base64::engine::general_purpose::STANDARD.encode(pdf))))
}

fn qualify_lead(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let lead = req.bound()?;
    let flag = |name: &str| req.bool(name).unwrap_or(false);
    let params = QualifyLead {
        create_account: flag("CreateAccount"),
        create_contact: flag("CreateContact"),
        create_opportunity: flag("CreateOpportunity"),
        opportunity_currency: req.reference("OpportunityCurrencyId")?.map(|r| r.id),
        opportunity_customer: req.reference("OpportunityCustomerId")?,
        status: req.int("Status"),
        suppress_duplicate_detection: flag("SuppressDuplicateDetection"),
        link_existing: flag("LinkExisting"),
    };
    Ok(ActionResponse::References(s.qualify_lead(lead, &params)?))
}

fn record_team(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let user = req.bound()?;
    let record = req.reference("Record")?.ok_or_else(|| EngineError::Invalid("Record is required".into()))?;
    let template = req.guid("TeamTemplateId")?;
    if req.action == "AddUserToRecordTeam" {
        let team = s.add_user_to_record_team(user, &record, template)?;
        return Ok(ActionResponse::property("AccessTeamId", Json::String(team.to_string())));
    }
    s.remove_user_from_record_team(user, &record, template)?;
    Ok(ActionResponse::Empty)
}
