//! Web API actions and functions of the security model, in Dataverse's
//! shape: sharing (`GrantAccess`, `ModifyAccess`, `RevokeAccess`,
//! `RetrieveSharedPrincipalsAndAccess`, `RetrievePrincipalAccess`), role
//! privileges (`AddPrivilegesRole`, `ReplacePrivilegesRole`,
//! `RemovePrivilegeRole`, `RetrieveRolePrivilegesRole`,
//! `RetrieveUserPrivileges`, `RetrieveTeamPrivileges`) and team membership
//! (`AddMembersTeam`, `RemoveMembersTeam`).
//!
//! Functions take parameters in the URL, as literals or aliases:
//! `RetrievePrincipalAccess(Target=@p1)?@p1={'@odata.id':'accounts(…)'}`.

use http::{Method, StatusCode};
use relata_engine::{PrivilegeGrant, RolePrivilege, Session};
use relata_metadata::{Entity, EntityRef};
use relata_security::{AccessRights, Depth};
use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use super::json::parse_entity_url;
use super::{ApiRequest, ApiResponse};
use crate::error::ApiError;

pub const NAMESPACE: &str = "Microsoft.Dynamics.CRM.";

/// Unbound operations this module serves.
pub const UNBOUND: &[&str] =
    &["GrantAccess", "ModifyAccess", "RevokeAccess", "RetrieveSharedPrincipalsAndAccess", "RetrieveRolePrivilegesRole"];

/// Is this path segment an unbound operation of ours?
pub fn is_unbound(name: &str) -> bool {
    UNBOUND.contains(&name.strip_prefix(NAMESPACE).unwrap_or(name))
}

fn is_action(name: &str) -> bool {
    matches!(
        name,
        "GrantAccess"
            | "ModifyAccess"
            | "RevokeAccess"
            | "AddPrivilegesRole"
            | "ReplacePrivilegesRole"
            | "RemovePrivilegeRole"
            | "AddMembersTeam"
            | "RemoveMembersTeam"
    )
}

/// Checks the method: actions are POSTed, functions read with GET.
fn check_method(req: &ApiRequest, name: &str) -> Result<(), ApiError> {
    let (want, kind) = if is_action(name) { (Method::POST, "an action") } else { (Method::GET, "a function") };
    if req.method != want {
        return Err(ApiError::method_not_allowed(format!("{name} is {kind}; use {want}.")));
    }
    Ok(())
}

/// `/{name}(params)` at the service root.
pub fn unbound(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    name: &str,
    params: Option<&str>,
) -> Result<ApiResponse, ApiError> {
    let name = name.strip_prefix(NAMESPACE).unwrap_or(name);
    check_method(req, name)?;
    match name {
        "GrantAccess" | "ModifyAccess" => {
            let body = super::parse_body(req)?;
            let target = target_ref(s, field(&body, "Target")?)?;
            let pa = field(&body, "PrincipalAccess")?;
            let principal = principal_ref(field(pa, "Principal")?)?;
            let mask = access_mask(field(pa, "AccessMask")?)?;
            if name == "GrantAccess" {
                s.grant_access(&target, &principal, mask)?;
            } else {
                s.modify_access(&target, &principal, mask)?;
            }
            Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
        }
        "RevokeAccess" => {
            let body = super::parse_body(req)?;
            let target = target_ref(s, field(&body, "Target")?)?;
            let principal = principal_ref(field(&body, "Revokee")?)?;
            s.revoke_access(&target, &principal)?;
            Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
        }
        "RetrieveSharedPrincipalsAndAccess" => {
            let p = FunctionParams::parse(params, req)?;
            let target = target_ref(s, &p.required("Target")?)?;
            let list = s.shared_principals(&target)?;
            let accesses: Vec<Json> = list
                .into_iter()
                .map(|(who, mask)| {
                    json!({
                        "AccessMask": mask.names(),
                        "Principal": {"@odata.type": format!("#{NAMESPACE}{}", who.entity), "ownerid": who.id},
                    })
                })
                .collect();
            Ok(response(req, "RetrieveSharedPrincipalsAndAccessResponse", "PrincipalAccesses", Json::Array(accesses)))
        }
        "RetrieveRolePrivilegesRole" => {
            let p = FunctionParams::parse(params, req)?;
            let role = guid(&p.required("RoleId")?, "RoleId")?;
            let list = s.role_privileges(role)?;
            Ok(privileges_response(req, "RetrieveRolePrivilegesRoleResponse", &list))
        }
        other => Err(ApiError::not_found(format!("Resource not found for the segment '{other}'."))),
    }
}

/// `/{set}({id})/Microsoft.Dynamics.CRM.{name}(params)`.
pub fn bound(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    id: Uuid,
    name: &str,
    params: Option<&str>,
) -> Result<ApiResponse, ApiError> {
    let name = name.strip_prefix(NAMESPACE).unwrap_or(name);
    check_method(req, name)?;
    let binding = entity.name();
    match (binding, name) {
        ("role", "AddPrivilegesRole" | "ReplacePrivilegesRole") => {
            let body = super::parse_body(req)?;
            let grants = role_privileges_in(field(&body, "Privileges")?)?;
            if name == "AddPrivilegesRole" {
                s.add_role_privileges(id, &grants)?;
            } else {
                s.replace_role_privileges(id, &grants)?;
            }
            Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
        }
        ("role", "RemovePrivilegeRole") => {
            let body = super::parse_body(req)?;
            let privilege = match (body.get("Privilege"), body.get("PrivilegeId")) {
                (Some(p), _) => guid(field(p, "privilegeid")?, "Privilege.privilegeid")?,
                (None, Some(id)) => guid(id, "PrivilegeId")?,
                _ => return Err(ApiError::bad_request("RemovePrivilegeRole needs Privilege: {\"privilegeid\": …}.")),
            };
            s.remove_role_privilege(id, privilege)?;
            Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
        }
        ("role", "RetrieveRolePrivilegesRole") => {
            let list = s.role_privileges(id)?;
            Ok(privileges_response(req, "RetrieveRolePrivilegesRoleResponse", &list))
        }
        ("systemuser", "RetrieveUserPrivileges") => {
            let list = s.user_privileges(id)?;
            Ok(privileges_response(req, "RetrieveUserPrivilegesResponse", &list))
        }
        ("systemuser", "RetrieveUserPrivilegeByPrivilegeName") => {
            let p = FunctionParams::parse(params, req)?;
            let wanted = string(&p.required("PrivilegeName")?, "PrivilegeName")?;
            let list: Vec<RolePrivilege> = s.user_privileges(id)?.into_iter().filter(|x| x.name == wanted).collect();
            Ok(privileges_response(req, "RetrieveUserPrivilegeByPrivilegeNameResponse", &list))
        }
        ("team", "RetrieveTeamPrivileges") => {
            let list = s.team_privileges(id)?;
            Ok(privileges_response(req, "RetrieveTeamPrivilegesResponse", &list))
        }
        ("systemuser" | "team", "RetrievePrincipalAccess") => {
            let p = FunctionParams::parse(params, req)?;
            let target = target_ref(s, &p.required("Target")?)?;
            s.retrieve(binding, id, &Default::default())?;
            let rights = s.principal_access(&EntityRef { entity: binding.into(), id }, &target)?;
            Ok(response(req, "RetrievePrincipalAccessResponse", "AccessRights", Json::String(rights.names())))
        }
        ("team", "AddMembersTeam" | "RemoveMembersTeam") => {
            let body = super::parse_body(req)?;
            let members = field(&body, "Members")?
                .as_array()
                .ok_or_else(|| ApiError::bad_request("Members must be an array of systemuser records."))?;
            for m in members {
                let user = principal_ref(m)?;
                if user.entity != "systemuser" {
                    return Err(ApiError::bad_request("Team members are users (Microsoft.Dynamics.CRM.systemuser)."));
                }
                if name == "AddMembersTeam" {
                    s.associate("team", id, "teammembership_association", "systemuser", user.id)?;
                } else {
                    s.disassociate("team", id, "teammembership_association", Some(user.id))?;
                }
            }
            Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
        }
        _ => Err(ApiError::bad_request(format!("'{name}' is not an operation bound to '{binding}'."))),
    }
}

fn response(req: &ApiRequest, kind: &str, key: &str, value: Json) -> ApiResponse {
    let mut m = Map::new();
    m.insert("@odata.context".into(), Json::String(format!("{}/$metadata#{NAMESPACE}{kind}", req.base)));
    m.insert(key.into(), value);
    ApiResponse::json(StatusCode::OK, &Json::Object(m))
}

fn privileges_response(req: &ApiRequest, kind: &str, list: &[RolePrivilege]) -> ApiResponse {
    let v: Vec<Json> = list
        .iter()
        .map(|p| {
            json!({
                "Depth": p.depth.dataverse_name(),
                "PrivilegeId": p.privilege_id,
                "BusinessUnitId": p.business_unit_id,
                "PrivilegeName": p.name,
            })
        })
        .collect();
    response(req, kind, "RolePrivileges", Json::Array(v))
}

fn field<'a>(v: &'a Json, name: &str) -> Result<&'a Json, ApiError> {
    v.get(name)
        .filter(|x| !x.is_null())
        .ok_or_else(|| ApiError::bad_request(format!("The parameter '{name}' is required.")))
}

fn guid(v: &Json, what: &str) -> Result<Uuid, ApiError> {
    v.as_str()
        .and_then(|s| Uuid::parse_str(s.trim_matches('\'')).ok())
        .ok_or_else(|| ApiError::bad_request(format!("{what} must be a GUID.")))
}

fn string(v: &Json, what: &str) -> Result<String, ApiError> {
    v.as_str().map(str::to_string).ok_or_else(|| ApiError::bad_request(format!("{what} must be a string.")))
}

fn access_mask(v: &Json) -> Result<AccessRights, ApiError> {
    let text = match v {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => return Err(ApiError::bad_request("AccessMask must be a string such as \"ReadAccess, WriteAccess\".")),
    };
    AccessRights::parse(&text).map_err(|e| ApiError::bad_request(format!("AccessMask: {e}")))
}

/// `{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": "…"}` or
/// `{"@odata.id": "accounts(…)"}` → a record reference.
fn target_ref(s: &Session<'_, '_, '_>, v: &Json) -> Result<EntityRef, ApiError> {
    if let Some(url) = v.get("@odata.id").and_then(Json::as_str) {
        let (set, id) = parse_entity_url(url)
            .ok_or_else(|| ApiError::bad_request(format!("'{url}' is not a record URL such as accounts(<id>).")))?;
        let e = s.entity_by_set(&set).map_err(|_| ApiError::bad_request(format!("'{set}' is not an entity set.")))?;
        return Ok(EntityRef { entity: e.name().to_string(), id });
    }
    let ty = v.get("@odata.type").and_then(Json::as_str).ok_or_else(|| {
        ApiError::bad_request("The record needs \"@odata.type\" (Microsoft.Dynamics.CRM.<entity>) or \"@odata.id\".")
    })?;
    let name = ty.trim_start_matches('#').strip_prefix(NAMESPACE).unwrap_or(ty);
    let e = s.entity(name).map_err(|_| ApiError::bad_request(format!("'{ty}' is not an entity type.")))?;
    let id = v
        .get(e.primary_id())
        .ok_or_else(|| ApiError::bad_request(format!("The {name} record needs its key '{}'.", e.primary_id())))?;
    Ok(EntityRef { entity: e.name().to_string(), id: guid(id, e.primary_id())? })
}

/// A user or team: `@odata.type` with `systemuserid` / `teamid` / `ownerid`.
fn principal_ref(v: &Json) -> Result<EntityRef, ApiError> {
    let ty = v.get("@odata.type").and_then(Json::as_str).unwrap_or("Microsoft.Dynamics.CRM.systemuser");
    let kind = ty.trim_start_matches('#').strip_prefix(NAMESPACE).unwrap_or(ty);
    let key = match kind {
        "systemuser" => "systemuserid",
        "team" => "teamid",
        other => return Err(ApiError::bad_request(format!("A principal is a systemuser or a team, not '{other}'."))),
    };
    let id = v
        .get(key)
        .or_else(|| v.get("ownerid"))
        .ok_or_else(|| ApiError::bad_request(format!("The {kind} needs '{key}' (or 'ownerid').")))?;
    Ok(EntityRef { entity: kind.to_string(), id: guid(id, key)? })
}

fn role_privileges_in(v: &Json) -> Result<Vec<PrivilegeGrant>, ApiError> {
    let list = v.as_array().ok_or_else(|| ApiError::bad_request("Privileges must be an array of RolePrivilege."))?;
    list.iter()
        .map(|p| {
            let depth = match p.get("Depth") {
                Some(Json::String(d)) => Depth::from_dataverse_name(d),
                Some(Json::Number(n)) => match n.as_u64() {
                    Some(0) => Some(Depth::User),
                    Some(1) => Some(Depth::BusinessUnit),
                    Some(2) => Some(Depth::ParentChild),
                    Some(3) => Some(Depth::Organization),
                    _ => None,
                },
                _ => None,
            }
            .ok_or_else(|| ApiError::bad_request("Each RolePrivilege needs a Depth: Basic, Local, Deep or Global."))?;
            let privilege_id = p.get("PrivilegeId").map(|x| guid(x, "PrivilegeId")).transpose()?;
            let name = p.get("PrivilegeName").and_then(Json::as_str).map(str::to_string);
            Ok(PrivilegeGrant { privilege_id, name, depth })
        })
        .collect()
}

/// Function parameters from the path, with `@alias` values from the query.
struct FunctionParams {
    values: Vec<(String, Json)>,
}

impl FunctionParams {
    fn parse(params: Option<&str>, req: &ApiRequest) -> Result<FunctionParams, ApiError> {
        let mut values = Vec::new();
        for part in split_top_level(params.unwrap_or("")) {
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
            values.push((name.trim().to_string(), literal_json(&literal)?));
        }
        Ok(FunctionParams { values })
    }

    fn required(&self, name: &str) -> Result<Json, ApiError> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| ApiError::bad_request(format!("The function needs the parameter {name}.")))
    }
}

/// A URL literal: `'text'`, a GUID, a number, or a JSON object written with
/// single or double quotes (`{'@odata.id':'accounts(…)'}`).
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
    if raw == "true" || raw == "false" {
        return Ok(Json::Bool(raw == "true"));
    }
    Ok(Json::String(raw.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(literal_json("{'@odata.id':'accounts(1)'}").unwrap(), json!({"@odata.id": "accounts(1)"}));
        assert_eq!(literal_json(r#"{"@odata.id":"accounts(1)"}"#).unwrap(), json!({"@odata.id": "accounts(1)"}));
        assert_eq!(literal_json("'it''s'").unwrap(), json!("it's"));
        assert_eq!(literal_json("42").unwrap(), json!(42));
        assert!(literal_json("{'a':").is_err());
        assert_eq!(split_top_level("A=1,B='x,y',C={'k':'v,w'}"), vec!["A=1", "B='x,y'", "C={'k':'v,w'}"]);
    }
}
