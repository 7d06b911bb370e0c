//! Privileges: one per entity × right, named as Dataverse names them, plus
//! global privileges for capabilities that are not about one entity.

use relata_metadata::{Entity, LicenseGroup, Ownership, Schema};
use uuid::Uuid;

use crate::access::AccessRights;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Right {
    Create,
    Read,
    Write,
    Delete,
    Append,
    AppendTo,
    Assign,
    Share,
}

pub const RIGHTS: [Right; 8] = [
    Right::Create,
    Right::Read,
    Right::Write,
    Right::Delete,
    Right::Append,
    Right::AppendTo,
    Right::Assign,
    Right::Share,
];

impl Right {
    /// The right named `name` (`Read`).
    pub fn from_name(name: &str) -> Option<Right> {
        RIGHTS.into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Right::Create => "Create",
            Right::Read => "Read",
            Right::Write => "Write",
            Right::Delete => "Delete",
            Right::Append => "Append",
            Right::AppendTo => "AppendTo",
            Right::Assign => "Assign",
            Right::Share => "Share",
        }
    }
}

/// Access depth, ordered from none to the whole organization. Dataverse
/// calls them Basic (User), Local (Business Unit), Deep (Parent: Child
/// Business Units) and Global (Organization).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Depth {
    #[default]
    None = 0,
    User = 1,
    BusinessUnit = 2,
    ParentChild = 3,
    Organization = 4,
}

impl Depth {
    /// Dataverse's `privilegedepthmask` bit: Basic 1, Local 2, Deep 4, Global 8.
    pub fn mask(self) -> i64 {
        match self {
            Depth::None => 0,
            Depth::User => 1,
            Depth::BusinessUnit => 2,
            Depth::ParentChild => 4,
            Depth::Organization => 8,
        }
    }
    /// The deepest depth in a `privilegedepthmask`.
    pub fn from_mask(m: i64) -> Depth {
        if m & 8 != 0 {
            Depth::Organization
        } else if m & 4 != 0 {
            Depth::ParentChild
        } else if m & 2 != 0 {
            Depth::BusinessUnit
        } else if m & 1 != 0 {
            Depth::User
        } else {
            Depth::None
        }
    }
    pub fn from_i64(v: i64) -> Depth {
        match v {
            1 => Depth::User,
            2 => Depth::BusinessUnit,
            3 => Depth::ParentChild,
            4 => Depth::Organization,
            _ => Depth::None,
        }
    }
    /// Dataverse's name in `RolePrivilege.Depth`.
    pub fn dataverse_name(self) -> &'static str {
        match self {
            Depth::None => "None",
            Depth::User => "Basic",
            Depth::BusinessUnit => "Local",
            Depth::ParentChild => "Deep",
            Depth::Organization => "Global",
        }
    }
    pub fn from_dataverse_name(s: &str) -> Option<Depth> {
        Some(match s {
            "Basic" => Depth::User,
            "Local" => Depth::BusinessUnit,
            "Deep" => Depth::ParentChild,
            "Global" => Depth::Organization,
            _ => return None,
        })
    }
}

/// Activities share the activity privileges (`prvReadActivity`), as in
/// Dataverse; everything else is per entity (`prvReadAccount`, `prvReadUser`).
pub fn privilege_name(right: Right, entity: &Entity) -> String {
    format!("prv{}{}", right.name(), entity.privilege_subject())
}

/// A privilege a role can grant.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivilegeDef {
    /// Stable across databases: a name-based (v5) GUID.
    pub id: Uuid,
    pub name: String,
    /// The entity an entity privilege is about (`activitypointer` for the
    /// activity privileges); None for global privileges.
    pub entity: Option<String>,
    pub right: Right,
    pub access_right: AccessRights,
    pub can_be_basic: bool,
    pub can_be_local: bool,
    pub can_be_deep: bool,
    pub can_be_global: bool,
    /// Which license types may hold it.
    pub group: LicenseGroup,
}

impl PrivilegeDef {
    /// May this privilege be granted at `depth`?
    pub fn allows_depth(&self, depth: Depth) -> bool {
        match depth {
            Depth::None => true,
            Depth::User => self.can_be_basic,
            Depth::BusinessUnit => self.can_be_local,
            Depth::ParentChild => self.can_be_deep,
            Depth::Organization => self.can_be_global,
        }
    }
}

/// The platform's global privileges: (name, right class for license caps,
/// description). Modules declare theirs in their schema files.
pub const GLOBAL_PRIVILEGES: &[(&str, Right, &str)] = &[
    ("prvReadAuditSummary", Right::Read, "read the audit log of every record"),
    ("prvReadRecordAuditHistory", Right::Read, "read the audit history of records the user can read"),
    ("prvExportToExcel", Right::Read, "export records to files"),
    ("prvBulkDelete", Right::Delete, "delete records in bulk"),
    ("prvAssignRole", Right::Write, "assign security roles to users and teams"),
    ("prvCreateEntity", Right::Create, "create custom entities"),
    ("prvCreateAttribute", Right::Create, "add custom columns and relationships"),
    ("prvWriteAttribute", Right::Write, "change columns (field security)"),
    ("prvDeleteAttribute", Right::Delete, "delete custom columns"),
];

const PRIVILEGE_NAMESPACE: Uuid = Uuid::from_u128(0x6f2a_1c0e_52d4_4f8e_9a3b_7d1e_0c5b_8a41);

pub fn privilege_id(name: &str) -> Uuid {
    Uuid::new_v5(&PRIVILEGE_NAMESPACE, name.as_bytes())
}

/// Every privilege the schema defines: eight per user-owned entity, six
/// per organization-owned one (no Assign or Share), one set for all
/// activity types, and the global privileges.
pub fn catalog(schema: &Schema) -> Vec<PrivilegeDef> {
    let mut out: Vec<PrivilegeDef> = Vec::new();
    for e in schema.entities().filter(|e| e.has_privileges()) {
        if e.def.is_activity && e.name() != "activitypointer" {
            continue;
        }
        let owned = e.def.ownership == Ownership::User;
        for right in RIGHTS {
            if !owned && matches!(right, Right::Assign | Right::Share) {
                continue;
            }
            let name = privilege_name(right, e);
            out.push(PrivilegeDef {
                id: privilege_id(&name),
                name,
                entity: Some(e.name().to_string()),
                right,
                access_right: AccessRights::of(right),
                can_be_basic: owned,
                can_be_local: owned,
                can_be_deep: owned,
                can_be_global: true,
                group: e.license_group(),
            });
        }
    }
    let declared = schema
        .global_privileges()
        .iter()
        .map(|p| (p.name.as_str(), Right::from_name(&p.right).unwrap_or(Right::Write)));
    for (name, right) in GLOBAL_PRIVILEGES.iter().map(|(n, r, _)| (*n, *r)).chain(declared) {
        out.push(PrivilegeDef {
            id: privilege_id(name),
            name: name.to_string(),
            entity: None,
            right,
            access_right: AccessRights::NONE,
            can_be_basic: false,
            can_be_local: false,
            can_be_deep: false,
            can_be_global: true,
            group: LicenseGroup::Settings,
        });
    }
    out
}
