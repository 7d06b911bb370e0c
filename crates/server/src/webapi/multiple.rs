//! Dataverse's bulk operation messages over HTTP:
//! `POST /accounts/Microsoft.Dynamics.CRM.CreateMultiple` and
//! `…/UpdateMultiple`, bound to an entity set, with the records in
//! `Targets`, each naming its type in `@odata.type`. The engine's
//! `Session::create_multiple` / `update_multiple` do the work: all
//! records, or none.

use http::{Method, StatusCode};
use relata_engine::Session;
use relata_metadata::Entity;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::catalog::NAMESPACE;
use super::{parse_body, parse_record, ApiRequest, ApiResponse};
use crate::error::ApiError;

/// How `$metadata` declares them (as Dataverse does: bound to a
/// collection of any entity).
pub(super) const CSDL: &str = concat!(
    r#"<ComplexType Name="CreateMultipleResponse"><Property Name="Ids" Type="Collection(Edm.Guid)" Nullable="false"/></ComplexType>"#,
    r#"<Action Name="CreateMultiple" IsBound="true"><Parameter Name="entityset" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>"#,
    r#"<Parameter Name="Targets" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>"#,
    r#"<ReturnType Type="mscrm.CreateMultipleResponse" Nullable="false"/></Action>"#,
    r#"<Action Name="UpdateMultiple" IsBound="true"><Parameter Name="entityset" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>"#,
    r#"<Parameter Name="Targets" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/></Action>"#,
);

/// The most records one request takes (Dataverse advises batches of
/// hundreds to a thousand).
const MAX_TARGETS: usize = 1000;

/// The message a path segment names, if it is one of these.
pub(super) fn names(segment: &str) -> Option<&'static str> {
    match segment.strip_prefix(NAMESPACE).unwrap_or(segment) {
        "CreateMultiple" => Some("CreateMultiple"),
        "UpdateMultiple" => Some("UpdateMultiple"),
        _ => None,
    }
}

pub(super) fn handle(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    segment: &str,
) -> Result<ApiResponse, ApiError> {
    let name = names(segment).expect("routed here by name");
    if req.method != Method::POST {
        return Err(ApiError::method_not_allowed(format!("{name} is an action; use POST.")));
    }
    let body = parse_body(req)?;
    let Some(targets) = body.get("Targets").and_then(Json::as_array) else {
        return Err(ApiError::bad_request(format!("{name} needs 'Targets': an array of {} records.", entity.name())));
    };
    if targets.is_empty() {
        return Err(ApiError::bad_request(format!("{name} needs at least one record in 'Targets'.")));
    }
    if targets.len() > MAX_TARGETS {
        return Err(ApiError::bad_request(format!(
            "{name} takes at most {MAX_TARGETS} records; {} were sent.",
            targets.len()
        )));
    }
    let expected = format!("{NAMESPACE}{}", entity.name());
    let mut inputs = Vec::with_capacity(targets.len());
    for (i, target) in targets.iter().enumerate() {
        let Some(fields) = target.as_object() else {
            return Err(ApiError::bad_request(format!("Targets[{i}] is not a JSON object.")));
        };
        match fields.get("@odata.type").and_then(Json::as_str) {
            Some(t) if t.trim_start_matches('#') == expected => {}
            Some(t) => {
                return Err(ApiError::bad_request(format!(
                    "Targets[{i}] is a '{t}'; every record of {name} on this set must be a '{expected}'."
                )))
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "Targets[{i}] needs \"@odata.type\": \"{expected}\", as every record of {name} does."
                )))
            }
        }
        let input = parse_record(&s.schema, entity, target)
            .map_err(|e| ApiError::bad_request(format!("Targets[{i}]: {}", e.message)))?;
        inputs.push(input);
    }
    if name == "CreateMultiple" {
        let ids = s.create_multiple(entity.name(), inputs)?;
        let body = json!({
            "@odata.context": format!("{}/$metadata#{NAMESPACE}CreateMultipleResponse", req.base),
            "Ids": ids.iter().map(Uuid::to_string).collect::<Vec<_>>(),
        });
        return Ok(ApiResponse::json(StatusCode::OK, &body));
    }
    let key = entity.primary_id();
    let mut updates = Vec::with_capacity(inputs.len());
    for (i, mut input) in inputs.into_iter().enumerate() {
        let id = input.fields.iter().find(|(n, _)| n == key).and_then(|(_, v)| v.as_uuid());
        let Some(id) = id else {
            return Err(ApiError::bad_request(format!("Targets[{i}] needs its key '{key}' for UpdateMultiple.")));
        };
        input.fields.retain(|(n, _)| n != key);
        updates.push((id, input));
    }
    s.update_multiple(entity.name(), updates)?;
    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
}
