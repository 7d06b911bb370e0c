//! Who is calling and what they may do: principals, privileges × depth,
//! sharing rights, license caps, field security, read scopes, password
//! hashing and bearer tokens.
//!
//! Invariant: a [`Principal`] is the only way the engine learns what a
//! caller may do; every read path turns [`Principal::read_scope`] into a SQL
//! predicate (see `relata-query`), so there is no unfiltered read. This
//! crate decides; it reads nothing from the database itself.

mod access;
mod credentials;
mod license;
mod privileges;

pub use access::AccessRights;
pub use credentials::{hash_password, hash_token, new_token, verify_password};
pub use license::{License, LICENSES};
pub use privileges::{catalog, privilege_id, privilege_name, Depth, PrivilegeDef, Right, GLOBAL_PRIVILEGES, RIGHTS};

use std::collections::HashMap;

use relata_metadata::{AttributeDef, Entity};
use uuid::Uuid;

/// One privilege as a principal holds it: the deepest depth granted, and
/// the business units its Business Unit / Parent: Child grants reach. A
/// grant from a team's role reaches from the team's business unit, one from
/// the user's own role from the user's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    pub depth: Depth,
    pub business_units: Vec<Uuid>,
}

/// What a field security profile lets a principal do with a secured column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldAccess {
    pub read: bool,
    pub create: bool,
    pub update: bool,
}

impl FieldAccess {
    pub fn union(self, o: FieldAccess) -> FieldAccess {
        FieldAccess { read: self.read || o.read, create: self.create || o.create, update: self.update || o.update }
    }
}

/// The authenticated caller with everything needed to decide access,
/// loaded once per security version and shared between requests. A team
/// can be a principal too (for `RetrievePrincipalAccess`): then `user_id`
/// is the team's id and `is_team` is set.
#[derive(Debug, Clone, Default)]
pub struct Principal {
    pub user_id: Uuid,
    pub is_team: bool,
    pub full_name: String,
    pub business_unit_id: Uuid,
    /// Teams the user belongs to; their records count as the user's own.
    pub teams: Vec<Uuid>,
    /// Privilege name (`prvReadAccount`) → access, after the license cap.
    pub privileges: HashMap<String, Access>,
    /// Holds the System Administrator role: every privilege, every secured
    /// column, and role edits without the escalation check.
    pub is_system_administrator: bool,
    /// The server itself (CLI, seeding): no checks at all.
    pub all_privileges: bool,
    pub license: License,
    /// `(entity, attribute)` → what the principal's field security
    /// profiles allow on that secured column.
    pub fields: HashMap<(String, String), FieldAccess>,
    /// UI/formatting language (LCID).
    pub language: u32,
    /// The user's business unit, or one above it, is disabled: the user
    /// cannot sign in or use a token.
    pub business_unit_disabled: bool,
}

/// Which records of an entity a caller may exercise a right on.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    All,
    Nothing,
    /// Records owned by these users/teams, in these business units, or
    /// shared with one of `owners` with the `shared` right.
    Owned {
        owners: Vec<Uuid>,
        business_units: Vec<Uuid>,
        shared: AccessRights,
    },
}

impl Principal {
    /// The held access for a privilege by name (None when not held).
    pub fn access(&self, name: &str) -> Option<&Access> {
        self.privileges.get(name).filter(|a| a.depth > Depth::None)
    }

    /// Holds a global privilege (`prvExportToExcel`)?
    pub fn has(&self, name: &str) -> bool {
        self.all_privileges || self.access(name).is_some()
    }

    pub fn depth(&self, entity: &Entity, right: Right) -> Depth {
        if self.all_privileges {
            return Depth::Organization;
        }
        self.access(&privilege_name(right, entity)).map(|a| a.depth).unwrap_or(Depth::None)
    }

    /// The records of `entity` this principal may exercise `right` on.
    pub fn scope(&self, entity: &Entity, right: Right) -> Scope {
        if self.all_privileges {
            return Scope::All;
        }
        if let Some(p) = &entity.def.read_privilege {
            return if right == Right::Read && self.has(p) { Scope::All } else { Scope::Nothing };
        }
        if !entity.has_privileges() {
            // Reached through a parent record (activity parties).
            return Scope::All;
        }
        let Some(access) = self.access(&privilege_name(right, entity)) else { return Scope::Nothing };
        if !entity.is_owned() || access.depth == Depth::Organization {
            return Scope::All;
        }
        Scope::Owned {
            owners: self.owners(),
            business_units: if access.depth == Depth::User { vec![] } else { access.business_units.clone() },
            shared: AccessRights::of(right),
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

    /// May the principal exercise `right` on a record with this owner,
    /// owning business unit and the rights shared with the principal?
    pub fn can(
        &self,
        entity: &Entity,
        right: Right,
        owner: Option<Uuid>,
        business_unit: Option<Uuid>,
        shared: AccessRights,
    ) -> bool {
        match self.scope(entity, right) {
            Scope::All => true,
            Scope::Nothing => false,
            Scope::Owned { owners, business_units, .. } => {
                owner.is_some_and(|o| owners.contains(&o))
                    || business_unit.is_some_and(|b| business_units.contains(&b))
                    || shared.contains(right)
            }
        }
    }

    /// Does the principal hold `privilege` at `depth` or deeper? (A role
    /// may only be granted or given away by someone who holds what it grants.)
    pub fn covers(&self, privilege: &str, depth: Depth) -> bool {
        self.all_privileges
            || self.is_system_administrator
            || depth == Depth::None
            || self.access(privilege).is_some_and(|a| a.depth >= depth)
    }

    fn field(&self, entity: &Entity, attr: &AttributeDef) -> Option<FieldAccess> {
        if !attr.secured || self.all_privileges || self.is_system_administrator {
            return None;
        }
        Some(self.fields.get(&(entity.name().to_string(), attr.name.clone())).copied().unwrap_or_default())
    }

    /// May the principal see the value of this column? Unsecured columns:
    /// always.
    pub fn can_read_field(&self, entity: &Entity, attr: &AttributeDef) -> bool {
        self.field(entity, attr).is_none_or(|f| f.read)
    }

    pub fn can_set_field(&self, entity: &Entity, attr: &AttributeDef, creating: bool) -> bool {
        self.field(entity, attr).is_none_or(|f| if creating { f.create } else { f.update })
    }
}
