//! The privilege catalog in the database and what roles grant from it:
//! `AddPrivilegesRole`, `ReplacePrivilegesRole`, `RemovePrivilegeRole`,
//! `RetrieveRolePrivilegesRole`, `RetrieveUserPrivileges`.

use std::collections::{BTreeMap, HashMap, HashSet};

use relata_metadata::{Schema, Value};
use relata_security::{catalog, privilege_id, Depth, Principal, PrivilegeDef, Right};
use relata_store::{Param, Storage, Tx};
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::error::{EngineError, Result};
use crate::roles::SYSTEM_CUSTOMIZER;
use crate::session::Session;

/// One privilege held by a role (or a user), as the Web API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RolePrivilege {
    pub privilege_id: Uuid,
    pub name: String,
    pub depth: Depth,
    /// The business unit the depth is counted from.
    pub business_unit_id: Uuid,
}

/// A privilege named by id or by name, with the depth to grant.
#[derive(Debug, Clone)]
pub struct PrivilegeGrant {
    pub privilege_id: Option<Uuid>,
    pub name: Option<String>,
    pub depth: Depth,
}

/// Brings the `privilege` table in line with the schema's catalog and gives
/// System Administrator every privilege (and System Customizer those of new
/// custom entities). Runs when a database opens and after metadata changes.
pub(crate) fn sync_privileges(tx: &mut Tx<'_>, schema: &Schema, system_administrator_role: Uuid) -> Result<()> {
    let cat = catalog(schema);
    let existing: HashSet<Uuid> = tx
        .query("SELECT privilegeid FROM privilege", &[], &[Storage::Uuid])?
        .into_iter()
        .filter_map(|r| r[0].as_uuid())
        .collect();
    let customizer = tx
        .query_one(
            "SELECT roleid FROM role WHERE name = $1 AND parentroleid IS NULL ORDER BY createdon",
            &[Param::text(SYSTEM_CUSTOMIZER)],
            &[Storage::Uuid],
        )?
        .and_then(|r| r[0].as_uuid());
    let mut added = false;
    for p in cat.iter().filter(|p| !existing.contains(&p.id)) {
        tx.execute(
            "INSERT INTO privilege (privilegeid, name, accessright, canbebasic, canbelocal, canbedeep, canbeglobal)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                Param::uuid(p.id),
                Param::text(p.name.clone()),
                Param::int(p.access_right.0 as i64),
                Param::new(Value::Bool(p.can_be_basic), Storage::Bool),
                Param::new(Value::Bool(p.can_be_local), Storage::Bool),
                Param::new(Value::Bool(p.can_be_deep), Storage::Bool),
                Param::new(Value::Bool(p.can_be_global), Storage::Bool),
            ],
        )?;
        let custom_entity =
            p.entity.as_deref().and_then(|e| schema.entity(e)).is_some_and(|e| e.def.is_custom) && !existing.is_empty();
        if let (true, Some(role)) = (custom_entity, customizer) {
            upsert_grant(tx, role, p.id, Depth::Organization)?;
        }
        added = true;
    }
    let known: HashSet<Uuid> = cat.iter().map(|p| p.id).collect();
    for stale in existing.difference(&known) {
        tx.execute("DELETE FROM roleprivileges WHERE privilegeid = $1", &[Param::uuid(*stale)])?;
        // Should the entity come back (its module enabled again), the
        // standard roles are given its privileges again.
        tx.execute("DELETE FROM relata_roleseed WHERE privilegeid = $1", &[Param::uuid(*stale)])?;
        tx.execute("DELETE FROM privilege WHERE privilegeid = $1", &[Param::uuid(*stale)])?;
        added = true;
    }
    // System Administrator's rows mirror the catalog (for $expand and
    // RetrieveRolePrivilegesRole); its principal does not read them.
    let held: HashSet<Uuid> = tx
        .query(
            "SELECT privilegeid FROM roleprivileges WHERE roleid = $1",
            &[Param::uuid(system_administrator_role)],
            &[Storage::Uuid],
        )?
        .into_iter()
        .filter_map(|r| r[0].as_uuid())
        .collect();
    for p in cat.iter().filter(|p| !held.contains(&p.id)) {
        upsert_grant(tx, system_administrator_role, p.id, Depth::Organization)?;
        added = true;
    }
    if added {
        tx.next_counter("security")?;
    }
    Ok(())
}

fn upsert_grant(tx: &mut Tx<'_>, role: Uuid, privilege: Uuid, depth: Depth) -> Result<()> {
    let n = tx.execute(
        "UPDATE roleprivileges SET privilegedepthmask = $1 WHERE roleid = $2 AND privilegeid = $3",
        &[Param::int(depth.mask()), Param::uuid(role), Param::uuid(privilege)],
    )?;
    if n == 0 {
        tx.execute(
            "INSERT INTO roleprivileges (roleprivilegeid, roleid, privilegeid, privilegedepthmask) VALUES ($1, $2, $3, $4)",
            &[Param::uuid(Uuid::now_v7()), Param::uuid(role), Param::uuid(privilege), Param::int(depth.mask())],
        )?;
    }
    Ok(())
}

/// Replaces a role's privileges without checks (seeding).
pub(crate) fn set_role_privileges(tx: &mut Tx<'_>, role: Uuid, privileges: &[(String, Depth)]) -> Result<()> {
    tx.execute("DELETE FROM roleprivileges WHERE roleid = $1", &[Param::uuid(role)])?;
    for (name, depth) in privileges {
        if *depth > Depth::None {
            upsert_grant(tx, role, privilege_id(name), *depth)?;
        }
    }
    tx.next_counter("security")?;
    Ok(())
}

/// Gives an existing standard role the privileges in `wanted` it was never
/// given, and remembers them in `relata_roleseed`, so that what a newer
/// version or a newly enabled module adds reaches the roles of existing
/// databases while a privilege an administrator took away stays away.
/// Privileges of custom entities are the administrators' to grant. A role
/// from before the record was kept gains only privileges on entities it
/// holds nothing of: entities that are new to it.
pub(crate) fn seed_new_privileges(
    tx: &mut Tx<'_>,
    schema: &Schema,
    role: Uuid,
    wanted: &[(String, Depth)],
) -> Result<()> {
    let ids = |rows: Vec<Vec<Value>>| -> HashSet<Uuid> { rows.into_iter().filter_map(|r| r[0].as_uuid()).collect() };
    let seeded = ids(tx.query(
        "SELECT privilegeid FROM relata_roleseed WHERE roleid = $1",
        &[Param::uuid(role)],
        &[Storage::Uuid],
    )?);
    let fresh: Vec<(Uuid, Depth)> = wanted
        .iter()
        .filter(|(_, depth)| *depth > Depth::None)
        .map(|(name, depth)| (privilege_id(name), *depth))
        .filter(|(id, _)| !seeded.contains(id))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let defs: HashMap<Uuid, PrivilegeDef> = catalog(schema).into_iter().map(|p| (p.id, p)).collect();
    let held: HashMap<Uuid, Depth> = tx
        .query(
            "SELECT privilegeid, privilegedepthmask FROM roleprivileges WHERE roleid = $1",
            &[Param::uuid(role)],
            &[Storage::Uuid, Storage::Int],
        )?
        .into_iter()
        .filter_map(|r| Some((r[0].as_uuid()?, Depth::from_mask(r[1].as_i64().unwrap_or(0)))))
        .collect();
    let adopting = seeded.is_empty();
    let held_entities: HashSet<&str> = held.keys().filter_map(|id| defs.get(id)?.entity.as_deref()).collect();
    let mut granted = false;
    for (id, depth) in &fresh {
        let Some(def) = defs.get(id) else { continue };
        let entity = def.entity.as_deref();
        let custom = entity.and_then(|e| schema.entity(e)).is_some_and(|e| e.def.is_custom);
        let new_to_role = entity.is_some_and(|e| !held_entities.contains(e));
        let below = held.get(id).is_none_or(|d| d < depth);
        if !custom && (!adopting || new_to_role) && below {
            upsert_grant(tx, role, *id, *depth)?;
            granted = true;
        }
    }
    for chunk in fresh.chunks(200) {
        let values: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2)).collect();
        let params: Vec<Param> = chunk.iter().flat_map(|(id, _)| [Param::uuid(role), Param::uuid(*id)]).collect();
        tx.execute(
            &format!("INSERT INTO relata_roleseed (roleid, privilegeid) VALUES {}", values.join(", ")),
            &params,
        )?;
    }
    if granted {
        tx.next_counter("security")?;
    }
    Ok(())
}

/// Moves grants of the first schema version (privilege names in
/// `relata_roleprivilege`) into `roleprivileges`, then drops the old table.
pub(crate) fn upgrade_legacy_grants(tx: &mut Tx<'_>) -> Result<()> {
    if tx.table_columns("relata_roleprivilege")?.is_empty() {
        return Ok(());
    }
    let rows = tx.query(
        "SELECT roleid, privilege, depth FROM relata_roleprivilege",
        &[],
        &[Storage::Uuid, Storage::Text, Storage::Int],
    )?;
    let known: HashSet<Uuid> = tx
        .query("SELECT privilegeid FROM privilege", &[], &[Storage::Uuid])?
        .into_iter()
        .filter_map(|r| r[0].as_uuid())
        .collect();
    for r in rows {
        let (Some(role), Some(name)) = (r[0].as_uuid(), r[1].as_str()) else { continue };
        // The first version named two subjects after their schema names.
        let name = match name.strip_suffix("SystemUser").or_else(|| name.strip_suffix("Annotation")) {
            Some(verb) if name.ends_with("SystemUser") => format!("{verb}User"),
            Some(verb) => format!("{verb}Note"),
            None => name.to_string(),
        };
        let id = privilege_id(&name);
        let depth = Depth::from_i64(r[2].as_i64().unwrap_or(0));
        if known.contains(&id) && depth > Depth::None {
            upsert_grant(tx, role, id, depth)?;
        }
    }
    tx.batch("DROP TABLE relata_roleprivilege")?;
    tx.next_counter("security")?;
    Ok(())
}

impl Session<'_, '_, '_> {
    fn privilege_defs(&self) -> HashMap<Uuid, PrivilegeDef> {
        catalog(&self.schema).into_iter().map(|p| (p.id, p)).collect()
    }

    /// Resolves grants to catalog entries, checking depths.
    fn resolve_grants(&self, grants: &[PrivilegeGrant]) -> Result<Vec<(PrivilegeDef, Depth)>> {
        let defs = self.privilege_defs();
        let mut out: Vec<(PrivilegeDef, Depth)> = Vec::new();
        for g in grants {
            let id = match (&g.privilege_id, &g.name) {
                (Some(id), _) => *id,
                (None, Some(name)) => privilege_id(name),
                (None, None) => {
                    return Err(EngineError::Invalid("each privilege needs a PrivilegeId or a PrivilegeName".into()))
                }
            };
            let def = defs.get(&id).cloned().ok_or_else(|| {
                EngineError::Invalid(format!(
                    "The privilege {} does not exist.",
                    g.name.clone().unwrap_or_else(|| id.to_string())
                ))
            })?;
            if g.depth == Depth::None || !def.allows_depth(g.depth) {
                return Err(EngineError::Invalid(format!(
                    "{} cannot be granted at depth {}; allowed: {}",
                    def.name,
                    g.depth.dataverse_name(),
                    [Depth::User, Depth::BusinessUnit, Depth::ParentChild, Depth::Organization]
                        .into_iter()
                        .filter(|d| def.allows_depth(*d))
                        .map(Depth::dataverse_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            out.retain(|(d, _)| d.id != def.id);
            out.push((def, g.depth));
        }
        Ok(out)
    }

    /// The role, checked to exist (and be readable) and to be editable by the caller.
    fn editable_role(&mut self, role: Uuid) -> Result<()> {
        let entity = self.entity("role")?;
        let existing = self.load(&entity, role)?.ok_or_else(|| crate::session::not_found("role", role))?;
        self.require(&entity, Right::Write, &existing, role)?;
        if role == self.org.ids.system_administrator_role {
            return Err(EngineError::Invalid(
                "The System Administrator role always holds every privilege and cannot be changed.".into(),
            ));
        }
        Ok(())
    }

    /// A caller may only hand out what they hold themselves.
    pub(crate) fn check_escalation(&self, grants: &[(String, Depth)]) -> Result<()> {
        for (name, depth) in grants {
            if !self.principal.covers(name, *depth) {
                return Err(EngineError::forbidden(format!(
                    "Principal user (Id={}) cannot grant {name} at depth {} because it does not hold it at that depth itself.",
                    self.principal.user_id,
                    depth.dataverse_name()
                )));
            }
        }
        Ok(())
    }

    /// `AddPrivilegesRole`: grants privileges (a privilege already held
    /// takes the new depth).
    pub fn add_role_privileges(&mut self, role: Uuid, grants: &[PrivilegeGrant]) -> Result<()> {
        self.change_role_privileges(role, grants, false)
    }

    /// `ReplacePrivilegesRole`: the role ends up with exactly these privileges.
    pub fn replace_role_privileges(&mut self, role: Uuid, grants: &[PrivilegeGrant]) -> Result<()> {
        self.change_role_privileges(role, grants, true)
    }

    fn change_role_privileges(&mut self, role: Uuid, grants: &[PrivilegeGrant], replace: bool) -> Result<()> {
        self.editable_role(role)?;
        let resolved = self.resolve_grants(grants)?;
        self.check_escalation(&resolved.iter().map(|(d, depth)| (d.name.clone(), *depth)).collect::<Vec<_>>())?;
        let before = self.role_privileges(role)?;
        if replace {
            self.tx.execute("DELETE FROM roleprivileges WHERE roleid = $1", &[Param::uuid(role)])?;
        }
        for (def, depth) in &resolved {
            upsert_grant(self.tx, role, def.id, *depth)?;
        }
        let after = self.role_privileges(role)?;
        let action = if replace { AuditAction::ReplacePrivilegesInRole } else { AuditAction::AddPrivilegesToRole };
        audit::privileges_changed(self, role, action, &before, &after)?;
        self.tx.next_counter("security")?;
        Ok(())
    }

    /// `RemovePrivilegeRole`.
    pub fn remove_role_privilege(&mut self, role: Uuid, privilege: Uuid) -> Result<()> {
        self.editable_role(role)?;
        let before = self.role_privileges(role)?;
        let n = self.tx.execute(
            "DELETE FROM roleprivileges WHERE roleid = $1 AND privilegeid = $2",
            &[Param::uuid(role), Param::uuid(privilege)],
        )?;
        if n == 0 {
            return Err(EngineError::not_found(format!("The role does not hold the privilege {privilege}.")));
        }
        let after = self.role_privileges(role)?;
        audit::privileges_changed(self, role, AuditAction::RemovePrivilegesFromRole, &before, &after)?;
        self.tx.next_counter("security")?;
        Ok(())
    }

    /// `RetrieveRolePrivilegesRole`: what a role grants.
    pub fn role_privileges(&mut self, role: Uuid) -> Result<Vec<RolePrivilege>> {
        let row = self
            .tx
            .query_one("SELECT businessunitid FROM role WHERE roleid = $1", &[Param::uuid(role)], &[Storage::Uuid])?
            .ok_or_else(|| crate::session::not_found("role", role))?;
        let bu = row[0].as_uuid().unwrap_or_default();
        self.visible("role", role)?;
        let rows = self.tx.query(
            "SELECT p.privilegeid, p.name, rp.privilegedepthmask FROM roleprivileges rp
             JOIN privilege p ON p.privilegeid = rp.privilegeid WHERE rp.roleid = $1 ORDER BY p.name",
            &[Param::uuid(role)],
            &[Storage::Uuid, Storage::Text, Storage::Int],
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(RolePrivilege {
                    privilege_id: r[0].as_uuid()?,
                    name: r[1].as_str()?.to_string(),
                    depth: Depth::from_mask(r[2].as_i64().unwrap_or(0)),
                    business_unit_id: bu,
                })
            })
            .filter(|p| p.depth > Depth::None)
            .collect())
    }

    /// `RetrieveUserPrivileges`: what a user (one the caller can see)
    /// holds through its roles and its teams' roles, after the license cap.
    pub fn user_privileges(&mut self, user: Uuid) -> Result<Vec<RolePrivilege>> {
        self.visible("systemuser", user)?;
        let version = self.tx.counter("security")?;
        let p = self.org.principal_for(self.tx, user, version)?;
        Ok(self.principal_privileges(&p))
    }

    /// `RetrieveTeamPrivileges`: what a team holds through its roles.
    pub fn team_privileges(&mut self, team: Uuid) -> Result<Vec<RolePrivilege>> {
        self.visible("team", team)?;
        let p =
            crate::principal::load_team_principal(self.tx, &self.schema, team, self.org.ids.system_administrator_role)?;
        Ok(self.principal_privileges(&p))
    }

    /// NotFound unless the caller can read the record.
    pub(crate) fn visible(&mut self, entity: &str, id: Uuid) -> Result<()> {
        let e = self.entity(entity)?;
        self.visible_owner(&e, id)?.map(|_| ()).ok_or_else(|| crate::session::not_found(entity, id))
    }

    fn principal_privileges(&self, principal: &Principal) -> Vec<RolePrivilege> {
        let defs: BTreeMap<String, Uuid> = catalog(&self.schema).into_iter().map(|p| (p.name, p.id)).collect();
        defs.into_iter()
            .filter_map(|(name, id)| {
                let a = principal.access(&name)?;
                Some(RolePrivilege {
                    privilege_id: id,
                    name,
                    depth: a.depth,
                    business_unit_id: principal.business_unit_id,
                })
            })
            .collect()
    }
}
