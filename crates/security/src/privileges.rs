//! Privileges: one per entity × right, named as Dataverse names them.

use relata_metadata::Entity;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Depth {
    None = 0,
    User = 1,
    BusinessUnit = 2,
    ParentChild = 3,
    Organization = 4,
}

impl Depth {
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
/// Dataverse; everything else is per entity (`prvReadAccount`).
pub fn privilege_name(right: Right, entity: &Entity) -> String {
    let subject = if entity.def.is_activity { "Activity" } else { entity.def.schema_name.as_str() };
    format!("prv{}{}", right.name(), subject)
}
