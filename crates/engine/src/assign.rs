//! Assignment cascades: when a record changes owner, the records that
//! point at it through a relationship whose assign cascade says so follow
//! (all of them, only the open ones, or only those the old owner owned).
//! The cascade is the platform's doing, as in Dataverse: it does not need
//! the caller to hold privileges on each child.
//!
//! Which records an assignment reaches is the relationship cascade walk's
//! business (`session/cascade.rs`); this is what it does to each of them.

use relata_metadata::{Entity, EntityRef, Value};
use relata_store::{Param, SqlBuilder, Storage};
use uuid::Uuid;

use crate::audit;
use crate::error::Result;
use crate::session::{Fields, Session};

impl Session<'_, '_, '_> {
    /// Gives a record an assign cascade reached to `new_owner`, audited as an
    /// update. `only_from` (a user-owned cascade) limits it to records that
    /// owner held. Returns the owner the record had, or None when it was left
    /// alone: gone, already the new owner's, or someone else's.
    pub(crate) fn follow_assignment(
        &mut self,
        entity: &Entity,
        id: Uuid,
        only_from: Option<Uuid>,
        new_owner: &EntityRef,
        new_bu: Uuid,
    ) -> Result<Option<Uuid>> {
        let Some((owner, bu, version)) = self.owner_of(entity, id)? else { return Ok(None) };
        if only_from.is_some_and(|o| o != owner.id) || owner.id == new_owner.id {
            return Ok(None);
        }
        let previous = owner.id;
        let mut existing = Fields::new();
        existing.insert("ownerid".into(), Value::Ref(owner));
        existing.insert("owningbusinessunit".into(), bu_ref(bu));
        existing.insert("versionnumber".into(), Value::Int(version));
        let mut changes = Fields::new();
        changes.insert("ownerid".into(), Value::Ref(new_owner.clone()));
        changes.insert("owningbusinessunit".into(), bu_ref(new_bu));
        self.write_changes(entity, id, &existing, &changes)?;
        audit::updated(self, entity, id, &existing, &changes)?;
        Ok(Some(previous))
    }

    /// (owner, owning business unit, version) of a record, unscoped.
    fn owner_of(&mut self, entity: &Entity, id: Uuid) -> Result<Option<(EntityRef, Uuid, i64)>> {
        let mut b = SqlBuilder::new(self.tx.backend());
        b.push("SELECT ownerid, owneridtype, owningbusinessunit, versionnumber FROM ").ident(entity.table());
        b.push(" WHERE ").ident(entity.primary_id()).push(" = ");
        b.param(Param::uuid(id));
        let row =
            self.tx.query_one(&b.sql, &b.params, &[Storage::Uuid, Storage::Text, Storage::Uuid, Storage::BigInt])?;
        Ok(row.and_then(|r| {
            let owner = EntityRef { entity: r[1].as_str().unwrap_or("systemuser").to_string(), id: r[0].as_uuid()? };
            Some((owner, r[2].as_uuid()?, r[3].as_i64().unwrap_or(0)))
        }))
    }
}

fn bu_ref(id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: "businessunit".into(), id })
}
