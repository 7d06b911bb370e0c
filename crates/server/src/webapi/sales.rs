//! Web API operations of the sales chain, in Dataverse's shape:
//! `QualifyLead` (bound to lead), `WinOpportunity`, `LoseOpportunity`,
//! `GenerateQuoteFromOpportunity` (and the order and invoice variants),
//! `ReviseQuote`, `WinQuote`, `CloseQuote`, `ConvertQuoteToSalesOrder`,
//! `FulfillSalesOrder`, `CancelSalesOrder`, `ConvertSalesOrderToInvoice`,
//! the price locks, and `ExportPdfDocument`.

use base64::Engine as _;
use http::{Method, StatusCode};
use relata_engine::{CloseRequest, QualifyLead, Session};
use relata_metadata::EntityRef;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::actions::NAMESPACE;
use super::json::{parse_entity_url, parse_record};
use super::{ApiRequest, ApiResponse, Prefer};
use crate::error::ApiError;

/// Unbound actions this module serves.
pub const UNBOUND: &[&str] = &[
    "WinOpportunity",
    "LoseOpportunity",
    "GenerateQuoteFromOpportunity",
    "GenerateSalesOrderFromOpportunity",
    "GenerateInvoiceFromOpportunity",
    "ReviseQuote",
    "WinQuote",
    "CloseQuote",
    "ConvertQuoteToSalesOrder",
    "FulfillSalesOrder",
    "CancelSalesOrder",
    "ConvertSalesOrderToInvoice",
    "LockSalesOrderPricing",
    "UnlockSalesOrderPricing",
    "LockInvoicePricing",
    "UnlockInvoicePricing",
    "ExportPdfDocument",
];

pub fn is_unbound(name: &str) -> bool {
    UNBOUND.contains(&name.strip_prefix(NAMESPACE).unwrap_or(name))
}

fn require_post(req: &ApiRequest, name: &str) -> Result<(), ApiError> {
    if req.method != Method::POST {
        return Err(ApiError::method_not_allowed(format!("{name} is an action; use POST.")));
    }
    Ok(())
}

fn param<'a>(body: &'a Json, name: &str) -> Result<&'a Json, ApiError> {
    body.get(name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| ApiError::bad_request(format!("The parameter '{name}' is required.")))
}

fn guid_param(body: &Json, name: &str) -> Result<Uuid, ApiError> {
    let v = param(body, name)?;
    v.as_str()
        .and_then(|s| Uuid::parse_str(s.trim_matches('\'')).ok())
        .ok_or_else(|| ApiError::bad_request(format!("The parameter '{name}' must be a GUID.")))
}

fn int_param(body: &Json, name: &str) -> Result<Option<i64>, ApiError> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.get("Value").and_then(Json::as_i64))
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("The parameter '{name}' must be an integer."))),
    }
}

fn bool_param(body: &Json, name: &str, required: bool) -> Result<bool, ApiError> {
    match body.get(name) {
        Some(Json::Bool(b)) => Ok(*b),
        None | Some(Json::Null) if !required => Ok(false),
        None | Some(Json::Null) => Err(ApiError::bad_request(format!("The parameter '{name}' is required."))),
        Some(_) => Err(ApiError::bad_request(format!("The parameter '{name}' must be true or false."))),
    }
}

/// An entity reference parameter: `{"@odata.type": "…account", "accountid": …}`
/// or `{"@odata.id": "accounts(…)"}`.
fn reference(s: &Session<'_, '_, '_>, v: &Json, name: &str) -> Result<EntityRef, ApiError> {
    if let Some(url) = v.get("@odata.id").and_then(Json::as_str) {
        let (set, id) = parse_entity_url(url).ok_or_else(|| {
            ApiError::bad_request(format!("{name}: '{url}' is not a record URL such as accounts(<id>)."))
        })?;
        let e = s
            .entity_by_set(&set)
            .map_err(|_| ApiError::bad_request(format!("{name}: '{set}' is not an entity set.")))?;
        return Ok(EntityRef { entity: e.name().into(), id });
    }
    let ty = v
        .get("@odata.type")
        .and_then(Json::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("{name} needs \"@odata.type\" or \"@odata.id\".")))?;
    let entity = ty.trim_start_matches('#').strip_prefix(NAMESPACE).unwrap_or(ty);
    let e = s.entity(entity).map_err(|_| ApiError::bad_request(format!("{name}: '{ty}' is not an entity type.")))?;
    let id = v
        .get(e.primary_id())
        .and_then(Json::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| ApiError::bad_request(format!("{name} needs its key '{}' as a GUID.", e.primary_id())))?;
    Ok(EntityRef { entity: e.name().into(), id })
}

/// The closing activity parameter (`OpportunityClose`, `QuoteClose`,
/// `OrderClose`) with the action's `Status`.
fn close_request(s: &Session<'_, '_, '_>, body: &Json, name: &str, entity: &str) -> Result<CloseRequest, ApiError> {
    let close = param(body, name)?;
    let e = s.entity(entity)?;
    let schema = s.schema.clone();
    let mut input = parse_record(&schema, &e, close)?;
    input.fields.retain(|(k, _)| k != "activityid");
    Ok(CloseRequest { close: input, status: int_param(body, "Status")? })
}

/// The record an action created, as a retrieve would return it.
fn record(s: &mut Session<'_, '_, '_>, req: &ApiRequest, entity: &str, id: Uuid) -> Result<ApiResponse, ApiError> {
    let e = s.entity(entity)?;
    let mut plain = req.clone();
    plain.query = String::new();
    super::retrieve(s, &plain, &e, id, &Prefer::default())
}

pub fn unbound(s: &mut Session<'_, '_, '_>, req: &ApiRequest, name: &str) -> Result<ApiResponse, ApiError> {
    let name = name.strip_prefix(NAMESPACE).unwrap_or(name);
    require_post(req, name)?;
    let body = super::parse_body(req)?;
    let done = || ApiResponse::empty(StatusCode::NO_CONTENT);
    match name {
        "WinOpportunity" | "LoseOpportunity" => {
            let close = close_request(s, &body, "OpportunityClose", "opportunityclose")?;
            if name == "WinOpportunity" {
                s.win_opportunity(close)?;
            } else {
                s.lose_opportunity(close)?;
            }
            Ok(done())
        }
        "WinQuote" | "CloseQuote" => {
            let close = close_request(s, &body, "QuoteClose", "quoteclose")?;
            if name == "WinQuote" {
                s.win_quote(close)?;
            } else {
                s.close_quote(close)?;
            }
            Ok(done())
        }
        "FulfillSalesOrder" | "CancelSalesOrder" => {
            let close = close_request(s, &body, "OrderClose", "orderclose")?;
            if name == "FulfillSalesOrder" {
                s.fulfill_sales_order(close)?;
            } else {
                s.cancel_sales_order(close)?;
            }
            Ok(done())
        }
        "GenerateQuoteFromOpportunity" | "GenerateSalesOrderFromOpportunity" | "GenerateInvoiceFromOpportunity" => {
            let opportunity = guid_param(&body, "OpportunityId")?;
            let target = match name {
                "GenerateQuoteFromOpportunity" => "quote",
                "GenerateSalesOrderFromOpportunity" => "salesorder",
                _ => "invoice",
            };
            let id = s.generate_from_opportunity(opportunity, target)?;
            record(s, req, target, id)
        }
        "ReviseQuote" => {
            let id = s.revise_quote(guid_param(&body, "QuoteId")?)?;
            record(s, req, "quote", id)
        }
        "ConvertQuoteToSalesOrder" => {
            let id = s.convert_quote_to_sales_order(guid_param(&body, "QuoteId")?)?;
            record(s, req, "salesorder", id)
        }
        "ConvertSalesOrderToInvoice" => {
            let id = s.convert_sales_order_to_invoice(guid_param(&body, "SalesOrderId")?)?;
            record(s, req, "invoice", id)
        }
        "LockSalesOrderPricing" | "UnlockSalesOrderPricing" => {
            s.set_price_lock("salesorder", guid_param(&body, "SalesOrderId")?, name.starts_with("Lock"))?;
            Ok(done())
        }
        "LockInvoicePricing" | "UnlockInvoicePricing" => {
            s.set_price_lock("invoice", guid_param(&body, "InvoiceId")?, name.starts_with("Lock"))?;
            Ok(done())
        }
        "ExportPdfDocument" => {
            let code = int_param(&body, "EntityTypeCode")?
                .ok_or_else(|| ApiError::bad_request("The parameter 'EntityTypeCode' is required."))?;
            let entity = s
                .schema
                .entities()
                .find(|e| e.def.object_type_code as i64 == code)
                .map(|e| e.name().to_string())
                .ok_or_else(|| ApiError::bad_request(format!("{code} is not an entity type code.")))?;
            let template = match body.get("SelectedTemplate").filter(|v| !v.is_null()) {
                Some(t) => Some(reference(s, t, "SelectedTemplate")?.id),
                None => None,
            };
            let records = param(&body, "SelectedRecords")?;
            let ids: Vec<Uuid> = match records {
                Json::String(text) => serde_json::from_str::<Vec<String>>(text).map_err(|_| {
                    ApiError::bad_request("SelectedRecords must be a JSON array of record ids, as a string.")
                })?,
                Json::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
                _ => return Err(ApiError::bad_request("SelectedRecords must be a JSON array of record ids.")),
            }
            .iter()
            .map(|t| {
                Uuid::parse_str(t.trim_matches(|c| c == '{' || c == '}'))
                    .map_err(|_| ApiError::bad_request(format!("'{t}' in SelectedRecords is not a GUID.")))
            })
            .collect::<Result<_, _>>()?;
            let [id] = ids.as_slice() else {
                return Err(ApiError::bad_request("ExportPdfDocument prints one record at a time (SelectedRecords)."));
            };
            let pdf = s.print_document(&entity, *id, template)?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(pdf);
            Ok(ApiResponse::json(
                StatusCode::OK,
                &json!({
                    "@odata.context": format!("{}/$metadata#{NAMESPACE}ExportPdfDocumentResponse", req.base),
                    "PdfFile": encoded,
                }),
            ))
        }
        other => Err(ApiError::not_found(format!("Resource not found for the segment '{other}'."))),
    }
}

/// `leads({id})/Microsoft.Dynamics.CRM.QualifyLead`.
pub fn qualify_lead(s: &mut Session<'_, '_, '_>, req: &ApiRequest, lead: Uuid) -> Result<ApiResponse, ApiError> {
    require_post(req, "QualifyLead")?;
    let body = super::parse_body(req)?;
    let params = QualifyLead {
        create_account: bool_param(&body, "CreateAccount", true)?,
        create_contact: bool_param(&body, "CreateContact", true)?,
        create_opportunity: bool_param(&body, "CreateOpportunity", true)?,
        opportunity_currency: match body.get("OpportunityCurrencyId").filter(|v| !v.is_null()) {
            Some(v) => Some(reference(s, v, "OpportunityCurrencyId")?.id),
            None => None,
        },
        opportunity_customer: match body.get("OpportunityCustomerId").filter(|v| !v.is_null()) {
            Some(v) => Some(reference(s, v, "OpportunityCustomerId")?),
            None => None,
        },
        status: int_param(&body, "Status")?,
        suppress_duplicate_detection: bool_param(&body, "SuppressDuplicateDetection", false)?,
        link_existing: bool_param(&body, "LinkExisting", false)?,
    };
    let created = s.qualify_lead(lead, &params)?;
    let value: Vec<Json> = created
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            m.insert("@odata.type".into(), Json::String(format!("#{NAMESPACE}{}", r.entity)));
            m.insert(format!("{}id", r.entity), Json::String(r.id.to_string()));
            Json::Object(m)
        })
        .collect();
    Ok(ApiResponse::json(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{}/$metadata#Collection({NAMESPACE}crmbaseentity)", req.base),
            "value": value,
        }),
    ))
}

/// `systemusers({id})/Microsoft.Dynamics.CRM.AddUserToRecordTeam` and
/// `RemoveUserFromRecordTeam`: a record's access team (its sales team).
pub fn record_team(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    user: Uuid,
    name: &str,
) -> Result<ApiResponse, ApiError> {
    let name = name.strip_prefix(NAMESPACE).unwrap_or(name);
    require_post(req, name)?;
    let body = super::parse_body(req)?;
    let record = reference(s, param(&body, "Record")?, "Record")?;
    let template = guid_param(&body, "TeamTemplateId")?;
    let team = match name {
        "AddUserToRecordTeam" => s.add_user_to_record_team(user, &record, template)?,
        "RemoveUserFromRecordTeam" => {
            s.remove_user_from_record_team(user, &record, template)?;
            return Ok(ApiResponse::empty(StatusCode::NO_CONTENT));
        }
        other => return Err(ApiError::bad_request(format!("'{other}' is not an operation bound to 'systemuser'."))),
    };
    Ok(ApiResponse::json(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{}/$metadata#{NAMESPACE}AddUserToRecordTeamResponse", req.base),
            "AccessTeamId": team,
        }),
    ))
}

/// The sales operations for `$metadata`.
pub const CSDL: &str = concat!(
    r#"<ComplexType Name="ExportPdfDocumentResponse"><Property Name="PdfFile" Type="Edm.Binary"/></ComplexType>"#,
    r#"<ComplexType Name="AddUserToRecordTeamResponse"><Property Name="AccessTeamId" Type="Edm.Guid" Nullable="false"/></ComplexType>"#,
    r#"<Action Name="AddUserToRecordTeam" IsBound="true"><Parameter Name="entity" Type="mscrm.systemuser" Nullable="false"/>"#,
    r#"<Parameter Name="Record" Type="mscrm.crmbaseentity" Nullable="false"/><Parameter Name="TeamTemplateId" Type="Edm.Guid" Nullable="false"/>"#,
    r#"<ReturnType Type="mscrm.AddUserToRecordTeamResponse" Nullable="false"/></Action>"#,
    r#"<Action Name="RemoveUserFromRecordTeam" IsBound="true"><Parameter Name="entity" Type="mscrm.systemuser" Nullable="false"/>"#,
    r#"<Parameter Name="Record" Type="mscrm.crmbaseentity" Nullable="false"/><Parameter Name="TeamTemplateId" Type="Edm.Guid" Nullable="false"/></Action>"#,
    r#"<Action Name="QualifyLead" IsBound="true"><Parameter Name="entity" Type="mscrm.lead" Nullable="false"/>"#,
    r#"<Parameter Name="CreateAccount" Type="Edm.Boolean" Nullable="false"/><Parameter Name="CreateContact" Type="Edm.Boolean" Nullable="false"/>"#,
    r#"<Parameter Name="CreateOpportunity" Type="Edm.Boolean" Nullable="false"/><Parameter Name="OpportunityCurrencyId" Type="mscrm.transactioncurrency"/>"#,
    r#"<Parameter Name="OpportunityCustomerId" Type="mscrm.crmbaseentity"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/>"#,
    r#"<Parameter Name="SuppressDuplicateDetection" Type="Edm.Boolean"/><ReturnType Type="Collection(mscrm.crmbaseentity)"/></Action>"#,
    r#"<Action Name="WinOpportunity"><Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>"#,
    r#"<Action Name="LoseOpportunity"><Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>"#,
    r#"<Action Name="WinQuote"><Parameter Name="QuoteClose" Type="mscrm.quoteclose" Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>"#,
    r#"<Action Name="CloseQuote"><Parameter Name="QuoteClose" Type="mscrm.quoteclose" Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>"#,
    r#"<Action Name="FulfillSalesOrder"><Parameter Name="OrderClose" Type="mscrm.orderclose" Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>"#,
    r#"<Action Name="CancelSalesOrder"><Parameter Name="OrderClose" Type="mscrm.orderclose" Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>"#,
    r#"<Action Name="GenerateQuoteFromOpportunity"><Parameter Name="OpportunityId" Type="Edm.Guid" Nullable="false"/><Parameter Name="ColumnSet" Type="mscrm.ColumnSet"/><ReturnType Type="mscrm.quote"/></Action>"#,
    r#"<Action Name="GenerateSalesOrderFromOpportunity"><Parameter Name="OpportunityId" Type="Edm.Guid" Nullable="false"/><Parameter Name="ColumnSet" Type="mscrm.ColumnSet"/><ReturnType Type="mscrm.salesorder"/></Action>"#,
    r#"<Action Name="GenerateInvoiceFromOpportunity"><Parameter Name="OpportunityId" Type="Edm.Guid" Nullable="false"/><Parameter Name="ColumnSet" Type="mscrm.ColumnSet"/><ReturnType Type="mscrm.invoice"/></Action>"#,
    r#"<Action Name="ReviseQuote"><Parameter Name="QuoteId" Type="Edm.Guid" Nullable="false"/><Parameter Name="ColumnSet" Type="mscrm.ColumnSet"/><ReturnType Type="mscrm.quote"/></Action>"#,
    r#"<Action Name="ConvertQuoteToSalesOrder"><Parameter Name="QuoteId" Type="Edm.Guid" Nullable="false"/><Parameter Name="ColumnSet" Type="mscrm.ColumnSet"/><ReturnType Type="mscrm.salesorder"/></Action>"#,
    r#"<Action Name="ConvertSalesOrderToInvoice"><Parameter Name="SalesOrderId" Type="Edm.Guid" Nullable="false"/><Parameter Name="ColumnSet" Type="mscrm.ColumnSet"/><ReturnType Type="mscrm.invoice"/></Action>"#,
    r#"<Action Name="LockSalesOrderPricing"><Parameter Name="SalesOrderId" Type="Edm.Guid" Nullable="false"/></Action>"#,
    r#"<Action Name="UnlockSalesOrderPricing"><Parameter Name="SalesOrderId" Type="Edm.Guid" Nullable="false"/></Action>"#,
    r#"<Action Name="LockInvoicePricing"><Parameter Name="InvoiceId" Type="Edm.Guid" Nullable="false"/></Action>"#,
    r#"<Action Name="UnlockInvoicePricing"><Parameter Name="InvoiceId" Type="Edm.Guid" Nullable="false"/></Action>"#,
    r#"<Action Name="ExportPdfDocument"><Parameter Name="EntityTypeCode" Type="Edm.Int32" Nullable="false"/>"#,
    r#"<Parameter Name="SelectedTemplate" Type="mscrm.documenttemplate"/><Parameter Name="SelectedRecords" Type="Edm.String" Nullable="false"/>"#,
    r#"<ReturnType Type="mscrm.ExportPdfDocumentResponse" Nullable="false"/></Action>"#,
);
