//! The security model's operations, with Dataverse's names and shapes:
//! sharing (`GrantAccess`, `ModifyAccess`, `RevokeAccess`,
//! `RetrieveSharedPrincipalsAndAccess`, `RetrievePrincipalAccess`), role
//! privileges (`AddPrivilegesRole`, `ReplacePrivilegesRole`,
//! `RemovePrivilegeRole`, `RetrieveRolePrivilegesRole`,
//! `RetrieveUserPrivileges`, `RetrieveUserPrivilegeByPrivilegeName`,
//! `RetrieveTeamPrivileges`) and team membership (`AddMembersTeam`,
//! `RemoveMembersTeam`). The session's functions check the rights; these
//! read the parameters and shape the answers.

use relata_metadata::EntityRef;
use relata_security::{AccessRights, Depth};
use serde_json::{json, Value as Json};

use crate::error::{EngineError, Result};
use crate::modules::actions::{guid, reference, NAMESPACE};
use crate::modules::{Action, ActionRequest, ActionResponse, Binding, ParamType, Registry};
use crate::privileges::{PrivilegeGrant, RolePrivilege};
use crate::session::Session;

pub(crate) fn register(r: &mut Registry) {
    use ParamType as T;
    let record = |name| Action::new(name, share).param("Target", T::EntityReference);
    r.action(
        record("GrantAccess")
            .describe("Shares a record with a user or team.")
            .param("PrincipalAccess", T::Complex("PrincipalAccess")),
    )
    .action(
        record("ModifyAccess")
            .describe("Changes the rights a share gives.")
            .param("PrincipalAccess", T::Complex("PrincipalAccess")),
    )
    .action(
        record("RevokeAccess")
            .describe("Removes a user's or team's share of a record.")
            .param("Revokee", T::EntityReference),
    )
    .action(
        Action::new("RetrieveSharedPrincipalsAndAccess", shared_principals)
            .describe("Who a record is shared with, and the rights each share gives.")
            .function()
            .param("Target", T::EntityReference)
            .returns("PrincipalAccesses", T::ComplexCollection("PrincipalAccess")),
    );
    for principal in ["systemuser", "team"] {
        r.action(
            Action::new("RetrievePrincipalAccess", principal_access)
                .describe("The rights a user or team has on a record, from roles and shares.")
                .function()
                .bound(Binding::Entity(principal))
                .param("Target", T::EntityReference)
                .returns("AccessRights", T::Enum("AccessRights")),
        );
    }
    for name in ["AddPrivilegesRole", "ReplacePrivilegesRole"] {
        r.action(
            Action::new(name, set_role_privileges)
                .describe("Adds privileges to a role, or replaces all of them.")
                .bound(Binding::Entity("role"))
                .param("Privileges", T::ComplexCollection("RolePrivilege")),
        );
    }
    r.action(
        Action::new("RemovePrivilegeRole", remove_role_privilege)
            .describe("Removes one privilege from a role.")
            .bound(Binding::Entity("role"))
            .optional("Privilege", T::Complex("privilege"))
            .optional("PrivilegeId", T::Guid),
    );
    let privileges = |name, handler| {
        Action::new(name, handler).function().returns("RolePrivileges", T::ComplexCollection("RolePrivilege"))
    };
    r.action(
        privileges("RetrieveRolePrivilegesRole", role_privileges)
            .describe("The privileges a role grants, and at which depth.")
            .param("RoleId", T::Guid),
    )
    .action(
        privileges("RetrieveRolePrivilegesRole", role_privileges)
            .describe("The privileges a role grants, and at which depth.")
            .bound(Binding::Entity("role")),
    )
    .action(
        privileges("RetrieveUserPrivileges", user_privileges)
            .describe("The privileges a user holds through their roles and teams.")
            .bound(Binding::Entity("systemuser")),
    )
    .action(
        privileges("RetrieveUserPrivilegeByPrivilegeName", user_privileges)
            .describe("Whether, and at which depth, a user holds one privilege.")
            .bound(Binding::Entity("systemuser"))
            .param("PrivilegeName", T::String),
    )
    .action(
        privileges("RetrieveTeamPrivileges", team_privileges)
            .describe("The privileges a team holds through its roles.")
            .bound(Binding::Entity("team")),
    );
    for name in ["AddMembersTeam", "RemoveMembersTeam"] {
        r.action(
            Action::new(name, team_members)
                .describe("Adds users to a team, or removes them.")
                .bound(Binding::Entity("team"))
                .param("Members", T::EntityCollection("systemuser")),
        );
    }
}

/// `GrantAccess`, `ModifyAccess`, `RevokeAccess`.
fn share(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let target = reference(req.schema, req.required("Target")?, "Target")?;
    if req.action == "RevokeAccess" {
        s.revoke_access(&target, &principal(req.required("Revokee")?)?)?;
        return Ok(ActionResponse::Empty);
    }
    let pa = req.required("PrincipalAccess")?;
    let who = principal(pa.get("Principal").ok_or_else(|| invalid("PrincipalAccess needs its Principal"))?)?;
    let mask = access_mask(pa.get("AccessMask").ok_or_else(|| invalid("PrincipalAccess needs its AccessMask"))?)?;
    if req.action == "ModifyAccess" {
        s.modify_access(&target, &who, mask)?;
    } else {
        s.grant_access(&target, &who, mask)?;
    }
    Ok(ActionResponse::Empty)
}

fn shared_principals(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let target = reference(req.schema, req.required("Target")?, "Target")?;
    let accesses: Vec<Json> = s
        .shared_principals(&target)?
        .into_iter()
        .map(|(who, mask)| {
            json!({
                "AccessMask": mask.names(),
                "Principal": {"@odata.type": format!("#{NAMESPACE}{}", who.entity), "ownerid": who.id},
            })
        })
        .collect();
    Ok(ActionResponse::property("PrincipalAccesses", Json::Array(accesses)))
}

fn principal_access(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let target = reference(req.schema, req.required("Target")?, "Target")?;
    let who = req.target.clone().ok_or_else(|| invalid("RetrievePrincipalAccess is bound to a user or team"))?;
    // The principal must be one the caller can see.
    s.retrieve(&who.entity, who.id, &Default::default())?;
    let rights = s.principal_access(&who, &target)?;
    Ok(ActionResponse::property("AccessRights", Json::String(rights.names())))
}

fn set_role_privileges(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let role = req.bound()?;
    let grants = grants(req.required("Privileges")?)?;
    if req.action == "AddPrivilegesRole" {
        s.add_role_privileges(role, &grants)?;
    } else {
        s.replace_role_privileges(role, &grants)?;
    }
    Ok(ActionResponse::Empty)
}

fn remove_role_privilege(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let role = req.bound()?;
    let privilege = match (req.json("Privilege"), req.json("PrivilegeId")) {
        (Some(p), _) => guid(
            p.get("privilegeid").ok_or_else(|| invalid("Privilege needs its privilegeid"))?,
            "Privilege.privilegeid",
        )?,
        (None, Some(id)) => guid(id, "PrivilegeId")?,
        _ => return Err(invalid("RemovePrivilegeRole needs Privilege: {\"privilegeid\": …}")),
    };
    s.remove_role_privilege(role, privilege)?;
    Ok(ActionResponse::Empty)
}

fn role_privileges(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let role = match &req.target {
        Some(t) => t.id,
        None => req.guid("RoleId")?,
    };
    Ok(privileges_response(&s.role_privileges(role)?))
}

fn user_privileges(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let mut list = s.user_privileges(req.bound()?)?;
    if let Some(wanted) = req.string("PrivilegeName") {
        list.retain(|p| p.name == wanted);
    }
    Ok(privileges_response(&list))
}

fn team_privileges(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    Ok(privileges_response(&s.team_privileges(req.bound()?)?))
}

fn team_members(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let team = req.bound()?;
    let members = req.required("Members")?.as_array().cloned().unwrap_or_default();
    for m in &members {
        let user = principal(m)?;
        if user.entity != "systemuser" {
            return Err(invalid("Team members are users (Microsoft.Dynamics.CRM.systemuser)"));
        }
        if req.action == "AddMembersTeam" {
            s.associate("team", team, "teammembership_association", "systemuser", user.id)?;
        } else {
            s.disassociate("team", team, "teammembership_association", Some(user.id))?;
        }
    }
    Ok(ActionResponse::Empty)
}

fn privileges_response(list: &[RolePrivilege]) -> ActionResponse {
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
    ActionResponse::property("RolePrivileges", Json::Array(v))
}

fn invalid(m: &str) -> EngineError {
    EngineError::Invalid(m.to_string())
}

fn access_mask(v: &Json) -> Result<AccessRights> {
    let text = match v {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => return Err(invalid("AccessMask must be a string such as \"ReadAccess, WriteAccess\"")),
    };
    AccessRights::parse(&text).map_err(|e| EngineError::Invalid(format!("AccessMask: {e}")))
}

/// A user or team: `@odata.type` with `systemuserid` / `teamid` / `ownerid`.
fn principal(v: &Json) -> Result<EntityRef> {
    let ty = v.get("@odata.type").and_then(Json::as_str).unwrap_or("Microsoft.Dynamics.CRM.systemuser");
    let kind = ty.trim_start_matches('#').strip_prefix(NAMESPACE).unwrap_or(ty);
    let key = match kind {
        "systemuser" => "systemuserid",
        "team" => "teamid",
        other => return Err(EngineError::Invalid(format!("A principal is a systemuser or a team, not '{other}'"))),
    };
    let id = v
        .get(key)
        .or_else(|| v.get("ownerid"))
        .ok_or_else(|| EngineError::Invalid(format!("The {kind} needs '{key}' (or 'ownerid')")))?;
    Ok(EntityRef { entity: kind.to_string(), id: guid(id, key)? })
}

fn grants(v: &Json) -> Result<Vec<PrivilegeGrant>> {
    let list = v.as_array().ok_or_else(|| invalid("Privileges must be an array of RolePrivilege"))?;
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
            .ok_or_else(|| invalid("Each RolePrivilege needs a Depth: Basic, Local, Deep or Global"))?;
            let privilege_id = p.get("PrivilegeId").map(|x| guid(x, "PrivilegeId")).transpose()?;
            let name = p.get("PrivilegeName").and_then(Json::as_str).map(str::to_string);
            Ok(PrivilegeGrant { privilege_id, name, depth })
        })
        .collect()
}
