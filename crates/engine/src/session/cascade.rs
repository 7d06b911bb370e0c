//! The walk of relationship cascades. Deleting, assigning and sharing a
//! record reach the records below it the same way: through the one-to-many
//! relationships that point at its entity, children picked by the
//! referencing lookup (of the parent's type when the lookup is polymorphic,
//! of the child's type when activities share a table). What happens to each
//! child is the relationship's cascade for that operation:
//!
//! - delete: restrict refuses, cascade deletes the child (and walks on from
//!   it), remove link clears the lookup and the child re-inherits its shares;
//! - assign: cascade, active and user-owned move the children they select to
//!   the new owner and walk on from them;
//! - share: the children the share cascade selects recompute what they
//!   inherit and pass it on.
//!
//! One rule bounds every walk: it descends into a record at most once,
//! remembered by (entity, id), so a cycle stops where it closes. There is no
//! depth limit, because a limit would leave the rest of a deep hierarchy
//! silently un-cascaded, and the walk keeps its own stack of frames on the
//! heap so that a chain of thousands of parents cannot overflow the
//! thread's stack.

use std::collections::HashSet;
use std::sync::Arc;

use relata_metadata::{CascadeDelete, CascadeType, Entity, EntityRef, OneToMany, Schema};
use relata_store::{Param, SqlBuilder, Storage};
use uuid::Uuid;

use crate::audit::AuditAction;
use crate::error::{EngineError, Result};
use crate::session::Session;

/// The records a walk has descended into, by (entity, id).
pub(crate) type Visited = HashSet<(String, Uuid)>;

#[derive(Clone, Copy)]
enum Operation<'a> {
    Delete,
    Assign { new_owner: &'a EntityRef, new_bu: Uuid },
    Share,
}

/// What the walk does after a child has been handled.
enum Next {
    Stay,
    /// Walk on from the child; `previous_owner` is the owner an assignment
    /// took it from (a user-owned cascade below it follows that owner).
    Descend {
        previous_owner: Option<Uuid>,
    },
}

/// A record being walked: the relationships pointing at its entity not yet
/// followed, and the children not yet handled of the one being followed.
struct Frame<'s> {
    entity: Arc<Entity>,
    id: Uuid,
    previous_owner: Option<Uuid>,
    relationships: std::vec::IntoIter<&'s OneToMany>,
    following: Option<(&'s OneToMany, Arc<Entity>)>,
    pending: std::vec::IntoIter<Uuid>,
}

impl<'s> Frame<'s> {
    fn new(schema: &'s Schema, entity: Arc<Entity>, id: Uuid, previous_owner: Option<Uuid>) -> Frame<'s> {
        let relationships: Vec<&OneToMany> = schema.referencing(entity.name()).collect();
        Frame {
            entity,
            id,
            previous_owner,
            relationships: relationships.into_iter(),
            following: None,
            pending: Vec::new().into_iter(),
        }
    }
}

impl Session<'_, '_, '_> {
    /// Deletes a record and what its relationships' delete cascades say goes
    /// with it; children are removed before their parents. Records already in
    /// `visited` are not walked again.
    pub(crate) fn delete_cascade(&mut self, entity: &Entity, id: Uuid, visited: &mut Visited) -> Result<()> {
        self.walk(Operation::Delete, entity, id, None, visited)
    }

    /// After a record moved from `previous_owner` to `new_owner`: the
    /// records below it that its assign cascades select follow.
    pub(crate) fn assign_cascade(
        &mut self,
        entity: &Entity,
        id: Uuid,
        previous_owner: Option<Uuid>,
        new_owner: &EntityRef,
        new_bu: Uuid,
    ) -> Result<()> {
        self.walk(Operation::Assign { new_owner, new_bu }, entity, id, previous_owner, &mut Visited::new())
    }

    /// After a record's shares changed: the records below it that its share
    /// cascades select recompute what they inherit.
    pub(crate) fn share_cascade(&mut self, entity: &Entity, id: Uuid) -> Result<()> {
        self.walk(Operation::Share, entity, id, None, &mut Visited::new())
    }

    /// After a record's share-cascading parents changed: it recomputes what
    /// it inherits and passes that on.
    pub(crate) fn reinherit_shares(&mut self, entity: &Entity, id: Uuid) -> Result<()> {
        if !entity.is_owned() {
            return Ok(());
        }
        self.recompute_inherited_shares(entity, id)?;
        self.share_cascade(entity, id)
    }

    fn walk(
        &mut self,
        op: Operation<'_>,
        entity: &Entity,
        id: Uuid,
        previous_owner: Option<Uuid>,
        visited: &mut Visited,
    ) -> Result<()> {
        if !visited.insert((entity.name().to_string(), id)) {
            return Ok(());
        }
        let schema = self.schema.clone();
        let mut stack = vec![Frame::new(&schema, self.entity(entity.name())?, id, previous_owner)];
        while let Some(frame) = stack.last_mut() {
            if let Some((rel, child)) = &frame.following {
                if let Some(c) = frame.pending.next() {
                    let (rel, child) = (*rel, child.clone());
                    let key = (child.name().to_string(), c);
                    let seen = visited.contains(&key);
                    let next = self.cascade_child(op, rel, frame.previous_owner, &child, c, seen)?;
                    if let Next::Descend { previous_owner } = next {
                        if visited.insert(key) {
                            stack.push(Frame::new(&schema, child, c, previous_owner));
                        }
                    }
                    continue;
                }
                frame.following = None;
            }
            if let Some(rel) = frame.relationships.next() {
                let child = schema.entity(&rel.referencing_entity).expect("relationship entity").clone();
                let children = self.cascade_children(op, rel, &frame.entity, frame.id, frame.previous_owner, &child)?;
                frame.following = Some((rel, child));
                frame.pending = children.into_iter();
                continue;
            }
            // Every relationship followed: what was below the record is dealt with.
            let done = stack.pop().expect("the frame just looked at");
            if let Operation::Delete = op {
                self.remove_record(&done.entity, done.id)?;
            }
        }
        Ok(())
    }

    /// The children of `parent_id` through `rel` that the operation's
    /// cascade reaches, without the parent itself. A restrict delete
    /// cascade with children refuses here, before anything is done to them.
    fn cascade_children(
        &mut self,
        op: Operation<'_>,
        rel: &OneToMany,
        parent: &Entity,
        parent_id: Uuid,
        previous_owner: Option<Uuid>,
        child: &Entity,
    ) -> Result<Vec<Uuid>> {
        let selection = match op {
            Operation::Delete => CascadeType::Cascade,
            Operation::Assign { .. } => match rel.cascade_assign {
                _ if !child.is_owned() => return Ok(vec![]),
                CascadeType::NoCascade => return Ok(vec![]),
                // "User-owned": only what the previous owner owned, checked
                // record by record as each is reassigned.
                CascadeType::UserOwned if previous_owner.is_none() => return Ok(vec![]),
                CascadeType::UserOwned => CascadeType::Cascade,
                other => other,
            },
            Operation::Share => match rel.cascade_share {
                CascadeType::NoCascade => return Ok(vec![]),
                other => other,
            },
        };
        let mut ids = self.referencing_ids(parent, parent_id, child, &rel.referencing_attribute, selection)?;
        if let Operation::Delete = op {
            if ids.iter().all(|c| *c == parent_id) {
                return Ok(vec![]);
            }
            if rel.delete == CascadeDelete::Restrict {
                return Err(EngineError::Invalid(format!(
                    "The record cannot be deleted because {} '{}' record(s) are associated with it through '{}'.",
                    ids.len(),
                    child.name(),
                    rel.name
                )));
            }
        }
        // A record pointing at itself is not its own child.
        ids.retain(|c| *c != parent_id);
        Ok(ids)
    }

    /// Does to one child what the relationship's cascade for the operation
    /// says; `seen` tells whether the walk has already descended into it.
    fn cascade_child(
        &mut self,
        op: Operation<'_>,
        rel: &OneToMany,
        previous_owner: Option<Uuid>,
        child: &Entity,
        id: Uuid,
        seen: bool,
    ) -> Result<Next> {
        match op {
            Operation::Delete => match rel.delete {
                CascadeDelete::Cascade if seen => Ok(Next::Stay),
                CascadeDelete::Cascade => {
                    self.audit(AuditAction::Delete, Some(&EntityRef { entity: child.name().into(), id }), &[])?;
                    Ok(Next::Descend { previous_owner: None })
                }
                CascadeDelete::RemoveLink => {
                    self.remove_link(child, id, &rel.referencing_attribute)?;
                    Ok(Next::Stay)
                }
                // Refused in `cascade_children` before any child is handled.
                CascadeDelete::Restrict => Ok(Next::Stay),
            },
            Operation::Assign { .. } if seen => Ok(Next::Stay),
            Operation::Assign { new_owner, new_bu } => {
                let only_from = if rel.cascade_assign == CascadeType::UserOwned { previous_owner } else { None };
                Ok(match self.follow_assignment(child, id, only_from, new_owner, new_bu)? {
                    Some(previous) => Next::Descend { previous_owner: Some(previous) },
                    None => Next::Stay,
                })
            }
            // A child reached twice recomputes each time (its other parents
            // may have changed in between) but is walked on from once.
            Operation::Share if child.is_owned() => {
                self.recompute_inherited_shares(child, id)?;
                Ok(Next::Descend { previous_owner: None })
            }
            Operation::Share => Ok(Next::Stay),
        }
    }

    /// Records of `child` pointing at `parent_id` through `attribute`, as a
    /// cascade of type `selection` picks them (all, open ones, or those of
    /// the parent's owner).
    fn referencing_ids(
        &mut self,
        parent: &Entity,
        parent_id: Uuid,
        child: &Entity,
        attribute: &str,
        selection: CascadeType,
    ) -> Result<Vec<Uuid>> {
        let attr = child.attribute(attribute).expect("relationship attribute");
        let mut b = SqlBuilder::new(self.tx.backend());
        b.push("SELECT ").ident(child.primary_id()).push(" FROM ").ident(child.table()).push(" WHERE ");
        b.ident(&attr.name).push(" = ");
        b.param(Param::uuid(parent_id));
        if attr.is_polymorphic() {
            b.push(" AND ").ident(&attr.type_column()).push(" = ");
            b.param(Param::text(parent.name()));
        }
        if let Some(d) = &child.discriminator {
            b.push(" AND activitytypecode = ");
            b.param(Param::text(d.clone()));
        }
        match selection {
            CascadeType::Active if child.has_state() => {
                b.push(" AND statecode = ");
                b.param(Param::int(child.def.states[0].value as i64));
            }
            CascadeType::UserOwned if child.is_owned() && parent.is_owned() => {
                b.push(" AND ownerid = (SELECT ownerid FROM ").ident(parent.table()).push(" WHERE ");
                b.ident(parent.primary_id()).push(" = ");
                b.param(Param::uuid(parent_id));
                b.push(")");
            }
            _ => {}
        }
        Ok(self.tx.query(&b.sql, &b.params, &[Storage::Uuid])?.into_iter().filter_map(|r| r[0].as_uuid()).collect())
    }

    /// Remove link: the child no longer points at the deleted record, and
    /// no longer inherits the shares it passed down.
    fn remove_link(&mut self, child: &Entity, id: Uuid, attribute: &str) -> Result<()> {
        let attr = child.attribute(attribute).expect("relationship attribute");
        let next = self.tx.next_counter("rowversion")?;
        let mut u = SqlBuilder::new(self.tx.backend());
        u.push("UPDATE ").ident(child.table()).push(" SET ").ident(&attr.name).push(" = NULL");
        if attr.is_polymorphic() {
            u.push(", ").ident(&attr.type_column()).push(" = NULL");
        }
        u.push(", versionnumber = ");
        u.param(Param::bigint(next));
        u.push(" WHERE ").ident(child.primary_id()).push(" = ");
        u.param(Param::uuid(id));
        self.tx.execute(&u.sql, &u.params)?;
        if attr.targets.iter().any(|t| t.cascade_share != CascadeType::NoCascade) {
            self.reinherit_shares(child, id)?;
        }
        Ok(())
    }

    /// The row itself, once the records below it are dealt with: its
    /// many-to-many links, the row, and the shares it held or passed on.
    fn remove_record(&mut self, entity: &Entity, id: Uuid) -> Result<()> {
        let schema = self.schema.clone();
        for m in schema.many_to_many() {
            for (e, col) in [(&m.entity1, &m.entity1_column), (&m.entity2, &m.entity2_column)] {
                if e == entity.name() {
                    self.tx.execute(
                        &format!("DELETE FROM \"{}\" WHERE \"{}\" = $1", m.intersect_table, col),
                        &[Param::uuid(id)],
                    )?;
                }
            }
        }
        let mut b = SqlBuilder::new(self.tx.backend());
        b.push("DELETE FROM ").ident(entity.table()).push(" WHERE ").ident(entity.primary_id()).push(" = ");
        b.param(Param::uuid(id));
        self.tx.execute(&b.sql, &b.params)?;
        if entity.is_owned() || entity.name() == "team" {
            self.forget_shares(id)?;
        }
        Ok(())
    }
}
