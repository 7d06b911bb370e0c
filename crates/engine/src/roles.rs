//! The standard security roles, as data: which rights each grants on which
//! entities at which depth. Seeded once; administrators may edit them.

use relata_metadata::Schema;
use relata_security::{privilege_name, Depth, Right, RIGHTS};

/// A grant: entities (logical names; `*` = every entity) × rights × depth.
pub struct Grant {
    pub entities: &'static [&'static str],
    pub rights: &'static [Right],
    pub depth: Depth,
}

pub struct StandardRole {
    pub name: &'static str,
    pub grants: &'static [Grant],
}

const ALL: &[Right] = &RIGHTS;
const READ: &[Right] = &[Right::Read];
const READ_APPEND: &[Right] = &[Right::Read, Right::Append, Right::AppendTo];
const SALES: &[&str] = &["account", "contact", "lead", "opportunity", "activitypointer", "annotation", "activityparty"];
const SETUP: &[&str] = &["transactioncurrency", "businessunit", "systemuser", "team", "role", "organization"];

pub const STANDARD_ROLES: &[StandardRole] = &[
    StandardRole {
        name: "System Customizer",
        grants: &[
            Grant { entities: &["*"], rights: READ, depth: Depth::Organization },
            Grant { entities: SALES, rights: ALL, depth: Depth::User },
        ],
    },
    StandardRole {
        name: "Sales Manager",
        grants: &[
            Grant { entities: SALES, rights: ALL, depth: Depth::ParentChild },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
    },
    StandardRole {
        name: "Salesperson",
        grants: &[
            Grant { entities: SALES, rights: ALL, depth: Depth::User },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
    },
    StandardRole {
        name: "Customer Service Manager",
        grants: &[
            Grant {
                entities: &["account", "contact", "activitypointer", "annotation", "activityparty"],
                rights: ALL,
                depth: Depth::ParentChild,
            },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
    },
    StandardRole {
        name: "Customer Service Representative",
        grants: &[
            Grant {
                entities: &["account", "contact", "activitypointer", "annotation", "activityparty"],
                rights: ALL,
                depth: Depth::User,
            },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
    },
    StandardRole {
        name: "Marketing Manager",
        grants: &[
            Grant {
                entities: &["lead", "account", "contact", "activitypointer", "annotation", "activityparty"],
                rights: ALL,
                depth: Depth::ParentChild,
            },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
    },
    StandardRole {
        name: "Marketing Professional",
        grants: &[
            Grant {
                entities: &["lead", "activitypointer", "annotation", "activityparty"],
                rights: ALL,
                depth: Depth::User,
            },
            Grant { entities: &["account", "contact"], rights: READ_APPEND, depth: Depth::BusinessUnit },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
    },
    StandardRole { name: "Read Only", grants: &[Grant { entities: &["*"], rights: READ, depth: Depth::Organization }] },
];

impl StandardRole {
    /// The role's privileges by name, for the entities in `schema`.
    pub fn privileges(&self, schema: &Schema) -> Vec<(String, Depth)> {
        let mut out: std::collections::BTreeMap<String, Depth> = std::collections::BTreeMap::new();
        for g in self.grants {
            for e in schema.entities().filter(|e| !e.def.is_intersect) {
                if !(g.entities.contains(&"*") || g.entities.contains(&e.name())) {
                    continue;
                }
                for r in g.rights {
                    let name = privilege_name(*r, e);
                    let d = out.entry(name).or_insert(Depth::None);
                    *d = (*d).max(g.depth);
                }
            }
        }
        out.into_iter().collect()
    }
}
