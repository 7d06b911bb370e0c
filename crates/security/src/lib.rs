//! Who is calling and what they may do: principals, privileges × depth,
//! read scopes, password hashing and bearer tokens.
//!
//! Invariant: a [`Principal`] is the only way the engine learns what a
//! caller may do; every read path turns [`Principal::read_scope`] into a SQL
//! predicate (see `relata-query`), so there is no unfiltered read.

mod credentials;
mod privileges;

pub use credentials::{hash_password, hash_token, new_token, verify_password};
pub use privileges::{privilege_name, Depth, Right, RIGHTS};

use std::collections::HashMap;

use relata_metadata::{Entity, Ownership};
use uuid::Uuid;

/// The authenticated caller with everything needed to decide access,
/// loaded once per security version and shared between requests.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub full_name: String,
    pub business_unit_id: Uuid,
    /// The user's business unit and all units below it.
    pub business_unit_subtree: Vec<Uuid>,
    pub teams: Vec<Uuid>,
    /// Privilege name (`prvReadAccount`) → deepest depth granted.
    pub privileges: HashMap<String, Depth>,
    /// Every privilege at organization depth (System Administrator).
    pub all_privileges: bool,
    /// UI/formatting language (LCID).
    pub language: u32,
}

/// Which records of an entity a caller may see, before sharing.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    All,
    Nothing,
    /// Records owned by these users/teams or in these business units.
    Owned {
        owners: Vec<Uuid>,
        business_units: Vec<Uuid>,
    },
}

impl Principal {
    pub fn depth(&self, entity: &Entity, right: Right) -> Depth {
        if self.all_privileges {
            return Depth::Organization;
        }
        self.privileges.get(&privilege_name(right, entity)).copied().unwrap_or(Depth::None)
    }

    /// The records of `entity` this principal may exercise `right` on.
    pub fn scope(&self, entity: &Entity, right: Right) -> Scope {
        let depth = self.depth(entity, right);
        if depth == Depth::None {
            return Scope::Nothing;
        }
        if entity.def.ownership != Ownership::User {
            return Scope::All;
        }
        match depth {
            Depth::None => Scope::Nothing,
            Depth::User => Scope::Owned { owners: self.owners(), business_units: vec![] },
            Depth::BusinessUnit => Scope::Owned { owners: self.owners(), business_units: vec![self.business_unit_id] },
            Depth::ParentChild => {
                Scope::Owned { owners: self.owners(), business_units: self.business_unit_subtree.clone() }
            }
            Depth::Organization => Scope::All,
        }
    }

    pub fn read_scope(&self, entity: &Entity) -> Scope {
        self.scope(entity, Right::Read)
    }

    /// Principals whose records count as "own": the user and their teams.
    pub fn owners(&self) -> Vec<Uuid> {
        let mut v = Vec::with_capacity(1 + self.teams.len());
        v.push(self.user_id);
        v.extend(self.teams.iter().copied());
        v
    }

    /// May the principal exercise `right` on a record with this owner and
    /// owning business unit?
    pub fn can(&self, entity: &Entity, right: Right, owner: Option<Uuid>, business_unit: Option<Uuid>) -> bool {
        match self.scope(entity, right) {
            Scope::All => true,
            Scope::Nothing => false,
            Scope::Owned { owners, business_units } => {
                owner.is_some_and(|o| owners.contains(&o)) || business_unit.is_some_and(|b| business_units.contains(&b))
            }
        }
    }
}
