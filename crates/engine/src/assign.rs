//! Assignment cascades: when a record changes owner, the records that
//! point at it through a relationship whose assign cascade says so follow
//! (all of them, only the open ones, or only those the old owner owned).
//! The cascade is the platform's doing, as in Dataverse: it does not need
//! the caller to hold privileges on each child.

use std::sync::Arc;

use relata_metadata::{CascadeType, Entity, EntityRef, Value};
use relata_store::{Param, SqlBuilder, Storage};
use uuid::Uuid;

use crate::audit;
use crate::error::Result;
use crate::session::{Fields, Session};

const MAX_DEPTH: usize = 16;

impl Session<'_, '_, '_> {
    pub(crate) fn cascade_assign(
        &mut self,
        entity: &Entity,
        id: Uuid,
        old_owner: Option<Uuid>,
        new_owner: &EntityRef,
        new_bu: Uuid,
        depth: usize,
    ) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Ok(());
        }
        let schema = self.schema.clone();
        let rels: Vec<_> =
            schema.referencing(entity.name()).filter(|r| r.cascade_assign != CascadeType::NoCascade).cloned().collect();
        for rel in rels {
            let child: Arc<Entity> = schema.entity(&rel.referencing_entity).expect("relationship entity").clone();
            if !child.is_owned() {
                continue;
            }
            let ids = match rel.cascade_assign {
                // "User-owned": only what the previous owner owned.
                CascadeType::UserOwned => {
                    let Some(old) = old_owner else { continue };
                    self.children(entity, id, &child, &rel.referencing_attribute, CascadeType::Cascade)?
                        .into_iter()
                        .filter(|c| self.owner_of(&child, *c).ok().flatten().is_some_and(|r| r.0.id == old))
                        .collect::<Vec<_>>()
                }
                other => self.children(entity, id, &child, &rel.referencing_attribute, other)?,
            };
            for c in ids {
                let Some((owner, bu, version)) = self.owner_of(&child, c)? else { continue };
                if owner.id == new_owner.id {
                    continue;
                }
                let old = owner.id;
                let mut existing = Fields::new();
                existing.insert("ownerid".into(), Value::Ref(owner));
                existing.insert("owningbusinessunit".into(), bu_ref(bu));
                existing.insert("versionnumber".into(), Value::Int(version));
                let mut changes = Fields::new();
                changes.insert("ownerid".into(), Value::Ref(new_owner.clone()));
                changes.insert("owningbusinessunit".into(), bu_ref(new_bu));
                self.write_changes(&child, c, &existing, &changes)?;
                audit::updated(self, &child, c, &existing, &changes)?;
                self.cascade_assign(&child, c, Some(old), new_owner, new_bu, depth + 1)?;
            }
        }
        Ok(())
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
