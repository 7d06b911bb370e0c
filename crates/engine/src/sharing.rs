//! Sharing records with users and teams (`GrantAccess`, `ModifyAccess`,
//! `RevokeAccess`, `RetrieveSharedPrincipalsAndAccess`,
//! `RetrievePrincipalAccess`), and the inherited shares that follow
//! relationships whose share cascade says so.
//!
//! Shares live in `principalobjectaccess`, one row per record × principal ×
//! source: a direct share has the record itself as its source; a share a
//! child inherits from a shared parent names the record that was shared.
//! The rows of a record are what every read predicate consults.

use std::collections::BTreeMap;
use std::sync::Arc;

use relata_metadata::{AttributeDef, CascadeType, Entity, EntityRef, Value};
use relata_security::{AccessRights, Principal, Right, RIGHTS};
use relata_store::{Param, SqlBuilder, Storage};
use uuid::Uuid;

use crate::audit::{self, AuditAction};
use crate::error::{EngineError, Result};
use crate::principal::{in_params, load_team_principal};
use crate::session::{not_found, Fields, Session};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShareChange {
    Grant,
    Modify,
}

impl Session<'_, '_, '_> {
    /// Rights shared on a record with any of `principals` (directly or inherited).
    pub(crate) fn shared_with(&mut self, id: Uuid, principals: &[Uuid]) -> Result<AccessRights> {
        if principals.is_empty() {
            return Ok(AccessRights::NONE);
        }
        let sql = format!(
            "SELECT accessrightsmask, inheritedaccessrightsmask FROM principalobjectaccess
             WHERE objectid = $1 AND principalid IN ({})",
            in_params(2, principals.len())
        );
        let mut params = vec![Param::uuid(id)];
        params.extend(principals.iter().map(|p| Param::uuid(*p)));
        let mut mask = 0u32;
        for r in self.tx.query(&sql, &params, &[Storage::Int, Storage::Int])? {
            mask |= r[0].as_i64().unwrap_or(0) as u32 | r[1].as_i64().unwrap_or(0) as u32;
        }
        Ok(AccessRights(mask))
    }

    /// A record to share: visible to the caller and owned by a user or team.
    fn share_target(&mut self, target: &EntityRef) -> Result<(Arc<Entity>, Fields)> {
        let entity = self.entity(&target.entity)?;
        if !entity.is_owned() {
            return Err(EngineError::Invalid(format!(
                "Records of '{}' are not owned by users or teams and cannot be shared.",
                entity.name()
            )));
        }
        let existing = self.load(&entity, target.id)?.ok_or_else(|| not_found(entity.name(), target.id))?;
        Ok((entity, existing))
    }

    /// Checks a user or team exists; returns its logical name.
    fn share_principal(&mut self, principal: &EntityRef) -> Result<&'static str> {
        let (kind, table, pk) = match principal.entity.as_str() {
            "systemuser" => ("systemuser", "systemuser", "systemuserid"),
            "team" => ("team", "team", "teamid"),
            other => {
                return Err(EngineError::Invalid(format!(
                    "Records are shared with users (systemuser) or teams, not with '{other}'."
                )))
            }
        };
        let found = self.tx.query_one(
            &format!("SELECT 1 FROM {table} WHERE {pk} = $1"),
            &[Param::uuid(principal.id)],
            &[Storage::Int],
        )?;
        if found.is_none() {
            return Err(not_found(kind, principal.id));
        }
        Ok(kind)
    }

    /// `GrantAccess`: adds rights to a principal's share of a record.
    pub fn grant_access(&mut self, target: &EntityRef, principal: &EntityRef, rights: AccessRights) -> Result<()> {
        self.change_share(target, principal, rights, ShareChange::Grant)
    }

    /// `ModifyAccess`: sets a principal's share of a record to exactly these rights.
    pub fn modify_access(&mut self, target: &EntityRef, principal: &EntityRef, rights: AccessRights) -> Result<()> {
        self.change_share(target, principal, rights, ShareChange::Modify)
    }

    fn change_share(
        &mut self,
        target: &EntityRef,
        principal: &EntityRef,
        rights: AccessRights,
        change: ShareChange,
    ) -> Result<()> {
        let (entity, existing) = self.share_target(target)?;
        let kind = self.share_principal(principal)?;
        self.require(&entity, Right::Share, &existing, target.id)?;
        // Only what the caller may do on the record can be handed on.
        for right in rights.rights() {
            self.require(&entity, right, &existing, target.id)?;
        }
        let old = self.direct_share(target.id, principal.id)?;
        let new = match change {
            ShareChange::Grant => old.union(rights),
            ShareChange::Modify => rights,
        };
        if new.is_empty() {
            return self.revoke_access(target, principal);
        }
        let n = self.tx.execute(
            "UPDATE principalobjectaccess SET accessrightsmask = $1, changedon = $2
             WHERE objectid = $3 AND principalid = $4 AND sourceobjectid = $3",
            &[
                Param::int(new.0 as i64),
                Param::new(Value::DateTime(self.now), Storage::Timestamp),
                Param::uuid(target.id),
                Param::uuid(principal.id),
            ],
        )?;
        if n == 0 {
            self.insert_share(entity.name(), target.id, principal.id, kind, new, AccessRights::NONE, target.id)?;
        }
        let action = if old.is_empty() { AuditAction::Share } else { AuditAction::ModifyShare };
        audit::shared(self, target, action, &EntityRef { entity: kind.into(), id: principal.id }, old, new)?;
        self.share_cascade(&entity, target.id)
    }

    /// `RevokeAccess`: removes a principal's direct share of a record (and
    /// what children inherited from it).
    pub fn revoke_access(&mut self, target: &EntityRef, principal: &EntityRef) -> Result<()> {
        let (entity, existing) = self.share_target(target)?;
        let kind = self.share_principal(principal)?;
        self.require(&entity, Right::Share, &existing, target.id)?;
        let old = self.direct_share(target.id, principal.id)?;
        self.tx.execute(
            "DELETE FROM principalobjectaccess WHERE objectid = $1 AND principalid = $2 AND sourceobjectid = $1",
            &[Param::uuid(target.id), Param::uuid(principal.id)],
        )?;
        if !old.is_empty() {
            audit::shared(
                self,
                target,
                AuditAction::Unshare,
                &EntityRef { entity: kind.into(), id: principal.id },
                old,
                AccessRights::NONE,
            )?;
        }
        self.share_cascade(&entity, target.id)
    }

    fn direct_share(&mut self, id: Uuid, principal: Uuid) -> Result<AccessRights> {
        let row = self.tx.query_one(
            "SELECT accessrightsmask FROM principalobjectaccess WHERE objectid = $1 AND principalid = $2 AND sourceobjectid = $1",
            &[Param::uuid(id), Param::uuid(principal)],
            &[Storage::Int],
        )?;
        Ok(AccessRights(row.and_then(|r| r[0].as_i64()).unwrap_or(0) as u32))
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_share(
        &mut self,
        entity: &str,
        id: Uuid,
        principal: Uuid,
        principal_kind: &str,
        direct: AccessRights,
        inherited: AccessRights,
        source: Uuid,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO principalobjectaccess (principalobjectaccessid, objectid, objecttypecode, principalid,
                 principaltypecode, accessrightsmask, inheritedaccessrightsmask, sourceobjectid, changedon)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                Param::uuid(Uuid::now_v7()),
                Param::uuid(id),
                Param::text(entity),
                Param::uuid(principal),
                Param::text(principal_kind),
                Param::int(direct.0 as i64),
                Param::int(inherited.0 as i64),
                Param::uuid(source),
                Param::new(Value::DateTime(self.now), Storage::Timestamp),
            ],
        )?;
        Ok(())
    }

    /// `RetrieveSharedPrincipalsAndAccess`: who a record is shared with, and
    /// how (direct and inherited rights together).
    pub fn shared_principals(&mut self, target: &EntityRef) -> Result<Vec<(EntityRef, AccessRights)>> {
        let entity = self.entity(&target.entity)?;
        if self.visible_owner(&entity, target.id)?.is_none() {
            return Err(not_found(entity.name(), target.id));
        }
        let rows = self.tx.query(
            "SELECT principalid, principaltypecode, accessrightsmask, inheritedaccessrightsmask
             FROM principalobjectaccess WHERE objectid = $1",
            &[Param::uuid(target.id)],
            &[Storage::Uuid, Storage::Text, Storage::Int, Storage::Int],
        )?;
        let mut by: BTreeMap<(String, Uuid), u32> = BTreeMap::new();
        for r in rows {
            let (Some(p), Some(kind)) = (r[0].as_uuid(), r[1].as_str()) else { continue };
            *by.entry((kind.to_string(), p)).or_default() |=
                r[2].as_i64().unwrap_or(0) as u32 | r[3].as_i64().unwrap_or(0) as u32;
        }
        Ok(by
            .into_iter()
            .filter(|(_, m)| *m != 0)
            .map(|((entity, id), m)| (EntityRef { entity, id }, AccessRights(m)))
            .collect())
    }

    /// `RetrievePrincipalAccess`: what a user or team may do with a record
    /// the caller can see, from roles and shares together.
    pub fn principal_access(&mut self, principal: &EntityRef, target: &EntityRef) -> Result<AccessRights> {
        let entity = self.entity(&target.entity)?;
        let existing = self.visible_owner(&entity, target.id)?.ok_or_else(|| not_found(entity.name(), target.id))?;
        let p: Arc<Principal> = match principal.entity.as_str() {
            "systemuser" if principal.id == self.principal.user_id => Arc::new(self.principal.clone()),
            "systemuser" => {
                let version = self.tx.counter("security")?;
                self.org.principal_for(self.tx, principal.id, version)?
            }
            "team" => Arc::new(load_team_principal(
                self.tx,
                &self.schema,
                principal.id,
                self.org.ids.system_administrator_role,
            )?),
            other => return Err(EngineError::Invalid(format!("'{other}' is not a user or a team"))),
        };
        let shared = if entity.is_owned() { self.shared_with(target.id, &p.owners())? } else { AccessRights::NONE };
        let owner = existing.get("ownerid").and_then(Value::as_uuid);
        let bu = existing.get("owningbusinessunit").and_then(Value::as_uuid);
        let mut out = AccessRights::NONE;
        for right in RIGHTS {
            if !entity.is_owned() && matches!(right, Right::Assign | Right::Share) {
                continue;
            }
            if p.can(&entity, right, owner, bu, shared) {
                out = out.with(right);
            }
        }
        Ok(out)
    }

    /// Replaces a record's inherited shares with those of its current
    /// share-cascading parents. Passing them on to its own children is the
    /// share cascade walk's part (`session/cascade.rs`).
    pub(crate) fn recompute_inherited_shares(&mut self, entity: &Entity, id: Uuid) -> Result<()> {
        self.tx.execute(
            "DELETE FROM principalobjectaccess WHERE objectid = $1 AND sourceobjectid <> $1",
            &[Param::uuid(id)],
        )?;
        let parents = self.share_parents(entity, id)?;
        self.copy_parent_shares(entity.name(), id, &parents)
    }

    /// On create: a new record inherits the shares of the parents it points at.
    pub(crate) fn inherit_on_create(&mut self, entity: &Entity, id: Uuid, fields: &Fields) -> Result<()> {
        if !entity.is_owned() {
            return Ok(());
        }
        let parents: Vec<Uuid> = share_lookups(entity)
            .filter_map(|(a, t)| fields.get(&a.name).and_then(Value::as_ref_value).filter(|r| r.entity == t))
            .map(|r| r.id)
            .collect();
        self.copy_parent_shares(entity.name(), id, &parents)
    }

    /// Did a change touch a lookup whose parent passes shares down?
    pub(crate) fn share_parent_changed(entity: &Entity, changes: &Fields) -> bool {
        share_lookups(entity).any(|(a, _)| changes.contains_key(&a.name))
    }

    fn share_parents(&mut self, entity: &Entity, id: Uuid) -> Result<Vec<Uuid>> {
        let lookups: Vec<(AttributeDef, String)> = share_lookups(entity).map(|(a, t)| (a.clone(), t)).collect();
        if lookups.is_empty() {
            return Ok(vec![]);
        }
        let mut b = SqlBuilder::new(self.tx.backend());
        let mut storages = Vec::new();
        b.push("SELECT ");
        for (i, (a, _)) in lookups.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.ident(&a.name);
            storages.push(Storage::Uuid);
            if a.is_polymorphic() {
                b.push(", ").ident(&a.type_column());
                storages.push(Storage::Text);
            }
        }
        b.push(" FROM ").ident(entity.table()).push(" WHERE ").ident(entity.primary_id()).push(" = ");
        b.param(Param::uuid(id));
        let Some(row) = self.tx.query_one(&b.sql, &b.params, &storages)? else { return Ok(vec![]) };
        let mut it = row.into_iter();
        let mut out = Vec::new();
        for (a, target) in &lookups {
            let v = it.next().unwrap_or(Value::Null);
            let ty = if a.is_polymorphic() { it.next().unwrap_or(Value::Null) } else { Value::Null };
            let matches = match &ty {
                Value::String(t) => t == target,
                _ => !a.is_polymorphic(),
            };
            if let (Some(p), true) = (v.as_uuid(), matches) {
                out.push(p);
            }
        }
        Ok(out)
    }

    fn copy_parent_shares(&mut self, entity: &str, id: Uuid, parents: &[Uuid]) -> Result<()> {
        let parents: Vec<Uuid> = parents.iter().copied().filter(|p| *p != id).collect();
        if parents.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT principalid, principaltypecode, accessrightsmask, inheritedaccessrightsmask, sourceobjectid
             FROM principalobjectaccess WHERE objectid IN ({})",
            in_params(1, parents.len())
        );
        let params: Vec<Param> = parents.iter().map(|p| Param::uuid(*p)).collect();
        let rows =
            self.tx.query(&sql, &params, &[Storage::Uuid, Storage::Text, Storage::Int, Storage::Int, Storage::Uuid])?;
        let mut merged: BTreeMap<(Uuid, Uuid), (String, u32)> = BTreeMap::new();
        for r in rows {
            let (Some(p), Some(kind), Some(source)) = (r[0].as_uuid(), r[1].as_str(), r[4].as_uuid()) else {
                continue;
            };
            let mask = r[2].as_i64().unwrap_or(0) as u32 | r[3].as_i64().unwrap_or(0) as u32;
            let slot = merged.entry((p, source)).or_insert_with(|| (kind.to_string(), 0));
            slot.1 |= mask;
        }
        for ((principal, source), (kind, mask)) in merged {
            if mask != 0 && source != id {
                self.insert_share(entity, id, principal, &kind, AccessRights::NONE, AccessRights(mask), source)?;
            }
        }
        Ok(())
    }

    /// Removes the shares of a deleted record, of a deleted team, and
    /// those others inherited from the record.
    pub(crate) fn forget_shares(&mut self, id: Uuid) -> Result<()> {
        self.tx.execute(
            "DELETE FROM principalobjectaccess WHERE objectid = $1 OR sourceobjectid = $1 OR principalid = $1",
            &[Param::uuid(id)],
        )?;
        Ok(())
    }
}

/// Lookups of `entity` through which a parent passes its shares down:
/// (attribute, target entity).
fn share_lookups(entity: &Entity) -> impl Iterator<Item = (&AttributeDef, String)> {
    entity.attributes().iter().filter(|a| a.kind.is_lookup()).flat_map(|a| {
        a.targets.iter().filter(|t| t.cascade_share != CascadeType::NoCascade).map(move |t| (a, t.entity.clone()))
    })
}
