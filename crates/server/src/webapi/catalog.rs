//! The engine's action catalog over HTTP: unbound operations at the
//! service root (`POST /BulkDelete`), bound ones on a record
//! (`POST /accounts(…)/Microsoft.Dynamics.CRM.Name`), and their CSDL. The
//! catalog checks parameters and privileges; this file only carries them.

use std::fmt::Write;

use http::{Method, StatusCode};
use relata_engine::modules::{Action, Binding};
use relata_engine::Session;
use relata_metadata::{Entity, EntityRef};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::actions::NAMESPACE;
use super::{ApiRequest, ApiResponse};
use crate::error::ApiError;

/// The catalog operation a path segment names, if any.
pub fn find<'a>(s: &Session<'a, '_, '_>, name: &str) -> Option<&'a Action> {
    s.org.modules().action(name.strip_prefix(NAMESPACE).unwrap_or(name))
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
        if key.is_some() {
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
    let out = s.execute_action(action.name, target, params)?;
    if action.response.is_empty() {
        return Ok(ApiResponse::empty(StatusCode::NO_CONTENT));
    }
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Json::String(format!("{}/$metadata#{NAMESPACE}{}", req.base, action.response_type())),
    );
    body.extend(out);
    Ok(ApiResponse::json(StatusCode::OK, &Json::Object(body)))
}

/// A function's parameters from `Name(P1=literal,P2=@alias)` and the
/// query's aliases: strings quoted, numbers, booleans, `null`, GUIDs, and
/// aliases holding JSON.
fn function_params(req: &ApiRequest, key: &str) -> Result<Map<String, Json>, ApiError> {
    let mut out = Map::new();
    let aliases: Vec<(String, String)> = form_urlencoded::parse(req.query.as_bytes())
        .filter(|(k, _)| k.starts_with('@'))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for part in split_top(key) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, raw) =
            part.split_once('=').ok_or_else(|| ApiError::bad_request(format!("'{part}' is not Name=value.")))?;
        let raw = raw.trim();
        let value = if let Some(alias) = raw.strip_prefix('@') {
            let text = aliases
                .iter()
                .find(|(k, _)| k[1..] == *alias)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| ApiError::bad_request(format!("The parameter alias '@{alias}' has no value.")))?;
            serde_json::from_str(&text).unwrap_or_else(|_| literal(&text))
        } else {
            literal(raw)
        };
        if out.insert(name.trim().to_string(), value).is_some() {
            return Err(ApiError::bad_request(format!("The parameter '{}' is given twice.", name.trim())));
        }
    }
    Ok(out)
}

/// Splits on commas outside quotes.
fn split_top(s: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn literal(raw: &str) -> Json {
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Json::String(inner.replace("''", "'"));
    }
    match raw {
        "true" => Json::Bool(true),
        "false" => Json::Bool(false),
        "null" => Json::Null,
        _ => serde_json::from_str::<serde_json::Number>(raw)
            .map(Json::Number)
            .unwrap_or_else(|_| Json::String(raw.to_string())),
    }
}

/// The catalog's operations, their response types and the imports of the
/// unbound ones, for `$metadata`.
pub fn csdl(actions: &[Action]) -> (String, String) {
    let (mut types, mut imports) = (String::new(), String::new());
    for a in actions {
        if !a.response.is_empty() {
            let _ = write!(types, r#"<ComplexType Name="{}">"#, a.response_type());
            for p in &a.response {
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
        if !a.response.is_empty() {
            let _ = write!(types, r#"<ReturnType Type="mscrm.{}" Nullable="false"/>"#, a.response_type());
        }
        let _ = write!(types, "</{element}>");
        if !bound {
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
