//! The engine's action catalog over HTTP: unbound operations at the
//! service root (`POST /BulkDelete`), bound ones on a record
//! (`POST /accounts(…)/Microsoft.Dynamics.CRM.Name`), and their CSDL. The
//! catalog checks parameters and privileges; this file only carries them.

use std::fmt::Write;

use http::{Method, StatusCode};
use relata_engine::modules::{Action, ActionResponse, Binding, RecordReader, Returns};
use relata_engine::{EngineError, RecordInput, Session};
use relata_metadata::{Entity, EntityRef, Schema};
use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use super::{ApiRequest, ApiResponse, Prefer};
use crate::error::ApiError;

pub const NAMESPACE: &str = "Microsoft.Dynamics.CRM.";

/// The catalog operation a path segment names: unbound, or bound to a
/// record of `bound_to`.
pub fn find<'a>(s: &Session<'a, '_, '_>, name: &str, bound_to: Option<&str>) -> Option<&'a Action> {
    s.org.modules().action(name.strip_prefix(NAMESPACE).unwrap_or(name), bound_to)
}

/// Record parameters (`OpportunityClose`) are read as the Web API reads a
/// record in a create.
struct WebApiRecords;

impl RecordReader for WebApiRecords {
    fn record(&self, schema: &Schema, entity: &Entity, body: &Json) -> relata_engine::Result<RecordInput> {
        super::parse_record(schema, entity, body).map_err(|e| EngineError::Invalid(e.message))
    }
}

/// Runs a catalog operation, unbound or on the record `target`.
pub fn invoke(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    action: &Action,
    target: Option<(&Entity, Uuid)>,
    key: Option<&str>,
) -> Result<ApiResponse, ApiError> {
    let (want, kind) = if action.is_function { (Method::GET, "a function") } else { (Method::POST, "an action") };
    if req.method != want {
        return Err(ApiError::method_not_allowed(format!("{} is {kind}; use {want}.", action.name)));
    }
    let params = if action.is_function {
        if !req.body.is_empty() {
            return Err(ApiError::bad_request(format!(
                "{} is a function: its parameters go in the URL, not the body.",
                action.name
            )));
        }
        function_params(req, key.unwrap_or(""))?
    } else {
        if key.is_some_and(|k| !k.trim().is_empty()) {
            return Err(ApiError::bad_request(format!(
                "{} is an action: its parameters go in the body, not in parentheses.",
                action.name
            )));
        }
        match req.body.is_empty() {
            true => Map::new(),
            false => match super::parse_body(req)? {
                Json::Object(m) => m,
                _ => return Err(ApiError::bad_request("The request body must be a JSON object of parameters.")),
            },
        }
    };
    let target = target.map(|(e, id)| EntityRef { entity: e.name().to_string(), id });
    match s.execute_action(action.name, target, params, &WebApiRecords)? {
        ActionResponse::Empty => Ok(ApiResponse::empty(StatusCode::NO_CONTENT)),
        ActionResponse::Properties(out) => {
            let mut body = Map::new();
            body.insert(
                "@odata.context".into(),
                Json::String(format!("{}/$metadata#{NAMESPACE}{}", req.base, action.response_type())),
            );
            body.extend(out);
            Ok(ApiResponse::json(StatusCode::OK, &Json::Object(body)))
        }
        // The record made, as a retrieve of it would answer.
        ActionResponse::Record(r) => {
            let e = s.entity(&r.entity)?;
            let mut plain = req.clone();
            plain.query = String::new();
            super::retrieve(s, &plain, &e, r.id, &Prefer::default())
        }
        ActionResponse::References(refs) => {
            let records = refs.iter().map(|r| {
                let mut m = Map::new();
                m.insert(format!("{}id", r.entity), Json::String(r.id.to_string()));
                (r.entity.as_str(), m)
            });
            Ok(records_response(req, records))
        }
        ActionResponse::Drafts(drafts) => {
            Ok(records_response(req, drafts.iter().map(|(e, m)| (e.as_str(), m.clone()))))
        }
    }
}

/// A `Collection(crmbaseentity)` answer: each record typed by its entity.
fn records_response<'a>(req: &ApiRequest, records: impl Iterator<Item = (&'a str, Map<String, Json>)>) -> ApiResponse {
    let value: Vec<Json> = records
        .map(|(entity, values)| {
            let mut m = Map::new();
            m.insert("@odata.type".into(), Json::String(format!("#{NAMESPACE}{entity}")));
            m.extend(values);
            Json::Object(m)
        })
        .collect();
    ApiResponse::json(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{}/$metadata#Collection({NAMESPACE}crmbaseentity)", req.base),
            "value": value,
        }),
    )
}

/// A function's parameters from `Name(P1=literal,P2=@alias)`, with alias
/// values from the query.
fn function_params(req: &ApiRequest, key: &str) -> Result<Map<String, Json>, ApiError> {
    let mut out = Map::new();
    for part in split_top_level(key) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, raw) = part
            .split_once('=')
            .ok_or_else(|| ApiError::bad_request(format!("The function parameter '{part}' is not Name=value.")))?;
        let raw = raw.trim();
        let literal = match raw.strip_prefix('@') {
            Some(alias) => super::query_param(&req.query, &format!("@{alias}")).ok_or_else(|| {
                ApiError::bad_request(format!("The parameter alias @{alias} has no value in the query."))
            })?,
            None => raw.to_string(),
        };
        if out.insert(name.trim().to_string(), literal_json(&literal)?).is_some() {
            return Err(ApiError::bad_request(format!("The parameter '{}' is given twice.", name.trim())));
        }
    }
    Ok(out)
}

/// A URL literal: `'text'`, a GUID, a number, `true`/`false`/`null`, or a
/// JSON object written with single or double quotes
/// (`{'@odata.id':'accounts(…)'}`).
fn literal_json(raw: &str) -> Result<Json, ApiError> {
    let raw = raw.trim();
    if raw.starts_with('{') || raw.starts_with('[') {
        let text = if raw.contains('"') { raw.to_string() } else { single_to_double_quotes(raw) };
        return serde_json::from_str(&text)
            .map_err(|e| ApiError::bad_request(format!("The parameter value {raw} is not valid JSON: {e}.")));
    }
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Ok(Json::String(inner.replace("''", "'")));
    }
    if let Ok(n) = raw.parse::<i64>() {
        return Ok(Json::from(n));
    }
    match raw {
        "true" | "false" => Ok(Json::Bool(raw == "true")),
        "null" => Ok(Json::Null),
        _ => Ok(Json::String(raw.to_string())),
    }
}

fn single_to_double_quotes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match (c, in_str) {
            ('\'', false) => {
                in_str = true;
                out.push('"');
            }
            ('\'', true) if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            ('\'', true) => {
                in_str = false;
                out.push('"');
            }
            ('"', true) => out.push_str("\\\""),
            (c, _) => out.push(c),
        }
    }
    out
}

/// Splits `A=1,B='x,y',C={…}` at the commas between parameters.
fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quoted) = (0i32, false);
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            '{' | '[' | '(' if !quoted => depth += 1,
            '}' | ']' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

/// The catalog's operations, their response types and the imports of the
/// unbound ones, for `$metadata`.
pub fn csdl(actions: &[Action]) -> (String, String) {
    let (mut types, mut imports) = (String::new(), String::new());
    for a in actions {
        // Overloads (one name, several bindings) share one response type.
        let first = actions.iter().position(|b| b.name == a.name) == actions.iter().position(|b| std::ptr::eq(a, b));
        if !a.response().is_empty() && first {
            let _ = write!(types, r#"<ComplexType Name="{}">"#, a.response_type());
            for p in a.response() {
                let _ = write!(types, r#"<Property Name="{}" Type="{}"/>"#, p.name, p.kind.edm());
            }
            types.push_str("</ComplexType>");
        }
        let element = if a.is_function { "Function" } else { "Action" };
        let bound = a.binding != Binding::Global;
        let _ = write!(types, r#"<{element} Name="{}" IsBound="{bound}">"#, a.name);
        match a.binding {
            Binding::Global => {}
            Binding::Entity(e) => {
                let _ = write!(types, r#"<Parameter Name="entity" Type="mscrm.{e}" Nullable="false"/>"#);
            }
            Binding::EntityCollection(e) => {
                let _ = write!(types, r#"<Parameter Name="entityset" Type="Collection(mscrm.{e})" Nullable="false"/>"#);
            }
        }
        for p in &a.parameters {
            let _ =
                write!(types, r#"<Parameter Name="{}" Type="{}" Nullable="{}"/>"#, p.name, p.kind.edm(), p.optional);
        }
        match &a.returns {
            Returns::Nothing => {}
            Returns::Properties(_) => {
                let _ = write!(types, r#"<ReturnType Type="mscrm.{}" Nullable="false"/>"#, a.response_type());
            }
            Returns::Entity(e) => {
                let _ = write!(types, r#"<ReturnType Type="mscrm.{e}"/>"#);
            }
            Returns::Records => types.push_str(r#"<ReturnType Type="Collection(mscrm.crmbaseentity)"/>"#),
        }
        let _ = write!(types, "</{element}>");
        if !bound && first {
            let _ = write!(imports, r#"<{element}Import Name="{0}" {element}="{NAMESPACE}{0}"/>"#, a.name);
        }
    }
    (types, imports)
}

/// Dataverse's query types, which catalog parameters may use
/// (`BulkDelete`'s `QuerySet`).
pub const QUERY_TYPES: &str = concat!(
    r#"<ComplexType Name="Object"><Property Name="Type" Type="Edm.String"/><Property Name="Value" Type="Edm.String"/></ComplexType>"#,
    r#"<ComplexType Name="ColumnSet"><Property Name="AllColumns" Type="Edm.Boolean" Nullable="false"/><Property Name="Columns" Type="Collection(Edm.String)"/></ComplexType>"#,
    r#"<ComplexType Name="ConditionExpression"><Property Name="AttributeName" Type="Edm.String"/><Property Name="Operator" Type="Edm.String"/><Property Name="Values" Type="Collection(mscrm.Object)"/><Property Name="EntityName" Type="Edm.String"/></ComplexType>"#,
    r#"<ComplexType Name="FilterExpression"><Property Name="FilterOperator" Type="Edm.String"/><Property Name="Conditions" Type="Collection(mscrm.ConditionExpression)"/><Property Name="Filters" Type="Collection(mscrm.FilterExpression)"/></ComplexType>"#,
    r#"<ComplexType Name="OrderExpression"><Property Name="AttributeName" Type="Edm.String"/><Property Name="OrderType" Type="Edm.String"/></ComplexType>"#,
    r#"<ComplexType Name="QueryExpression"><Property Name="EntityName" Type="Edm.String"/><Property Name="ColumnSet" Type="mscrm.ColumnSet"/><Property Name="Criteria" Type="mscrm.FilterExpression"/><Property Name="Orders" Type="Collection(mscrm.OrderExpression)"/><Property Name="Distinct" Type="Edm.Boolean"/></ComplexType>"#,
);
