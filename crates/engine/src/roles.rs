//! The standard security roles, as data: which rights each grants on which
//! entities at which depth, and which global privileges. Seeded once;
//! administrators may edit them (all but System Administrator, which always
//! holds every privilege).

use relata_metadata::Schema;
use relata_security::{catalog, privilege_name, Depth, Right, RIGHTS};

/// A grant: entities (logical names; `*` = every entity) × rights × depth.
pub struct Grant {
    pub entities: &'static [&'static str],
    pub rights: &'static [Right],
    pub depth: Depth,
}

pub struct StandardRole {
    pub name: &'static str,
    pub grants: &'static [Grant],
    /// Global privileges (`prvExportToExcel`).
    pub globals: &'static [&'static str],
}

pub const SYSTEM_ADMINISTRATOR: &str = "System Administrator";
pub const SYSTEM_CUSTOMIZER: &str = "System Customizer";

pub(crate) const ALL: &[Right] = &RIGHTS;
pub(crate) const READ: &[Right] = &[Right::Read];
pub(crate) const READ_APPEND: &[Right] = &[Right::Read, Right::Append, Right::AppendTo];
/// The customers and what is said and written about them; modules add
/// their own entities to the roles (the sales module: leads, opportunities,
/// quotes, orders, invoices and the catalog).
const CUSTOMERS: &[&str] = &["account", "contact", "activitypointer", "annotation"];
const SERVICE: &[&str] = &["account", "contact", "activitypointer", "annotation"];
/// What every user's interface reads: system views, form layouts, user settings.
const INTERFACE: &[&str] = &["savedquery", "systemform", "usersettings"];
/// Every user keeps personal views and notifications of their own.
const PERSONAL: &[&str] = &["userquery", "appnotification"];
/// Every user follows, cancels, retries and removes the system jobs that
/// run as them (their asynchronous steps, their bulk deletes).
const OWN_JOBS: &[&str] = &["asyncoperation", "bulkdeleteoperation", "bulkdeletefailure"];
const READ_DELETE: &[Right] = &[Right::Read, Right::Delete];
const SETUP: &[&str] = &["transactioncurrency", "businessunit", "systemuser", "team", "role", "organization"];

pub const STANDARD_ROLES: &[StandardRole] = &[
    StandardRole {
        name: SYSTEM_CUSTOMIZER,
        grants: &[
            Grant { entities: &["*"], rights: READ, depth: Depth::Organization },
            Grant { entities: CUSTOMERS, rights: ALL, depth: Depth::User },
        ],
        globals: &[
            "prvCreateEntity",
            "prvCreateAttribute",
            "prvWriteAttribute",
            "prvDeleteAttribute",
            "prvExportToExcel",
        ],
    },
    StandardRole {
        name: "Sales Manager",
        grants: &[
            Grant { entities: CUSTOMERS, rights: ALL, depth: Depth::ParentChild },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
        globals: &["prvExportToExcel", "prvReadRecordAuditHistory"],
    },
    StandardRole {
        name: "Salesperson",
        grants: &[
            Grant { entities: CUSTOMERS, rights: ALL, depth: Depth::User },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
        globals: &["prvExportToExcel"],
    },
    StandardRole {
        name: "Customer Service Manager",
        grants: &[
            Grant { entities: SERVICE, rights: ALL, depth: Depth::ParentChild },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
        globals: &["prvExportToExcel", "prvReadRecordAuditHistory"],
    },
    StandardRole {
        name: "Customer Service Representative",
        grants: &[
            Grant { entities: SERVICE, rights: ALL, depth: Depth::User },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
        globals: &["prvExportToExcel"],
    },
    StandardRole {
        name: "Marketing Manager",
        grants: &[
            Grant {
                entities: &["account", "contact", "activitypointer", "annotation"],
                rights: ALL,
                depth: Depth::ParentChild,
            },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
        globals: &["prvExportToExcel"],
    },
    StandardRole {
        name: "Marketing Professional",
        grants: &[
            Grant { entities: &["activitypointer", "annotation"], rights: ALL, depth: Depth::User },
            Grant { entities: &["account", "contact"], rights: READ_APPEND, depth: Depth::BusinessUnit },
            Grant { entities: SETUP, rights: READ_APPEND, depth: Depth::Organization },
        ],
        globals: &["prvExportToExcel"],
    },
    StandardRole {
        name: "Read Only",
        grants: &[Grant { entities: &["*"], rights: READ, depth: Depth::Organization }],
        globals: &[],
    },
];

impl StandardRole {
    /// The role's privileges by name, for the entities in `schema`. Depths a
    /// privilege cannot take (organization-owned entities are Global only)
    /// are raised to Global.
    pub fn privileges(&self, schema: &Schema, modules: &[&Grant]) -> Vec<(String, Depth)> {
        let cat = catalog(schema);
        let mut out: std::collections::BTreeMap<String, Depth> = std::collections::BTreeMap::new();
        // Every role also reads the interface's metadata, keeps personal views
        // and manages its own system jobs.
        let interface = [
            Grant { entities: INTERFACE, rights: READ, depth: Depth::Organization },
            Grant { entities: PERSONAL, rights: ALL, depth: Depth::User },
            Grant { entities: OWN_JOBS, rights: READ_DELETE, depth: Depth::User },
            Grant { entities: &["asyncoperation"], rights: &[Right::Write], depth: Depth::User },
        ];
        for g in self.grants.iter().chain(&interface).chain(modules.iter().copied()) {
            for e in schema.entities().filter(|e| e.has_privileges()) {
                if !(g.entities.contains(&"*") || g.entities.contains(&e.name())) {
                    continue;
                }
                for r in g.rights {
                    let name = privilege_name(*r, e);
                    let Some(def) = cat.iter().find(|p| p.name == name) else { continue };
                    let depth = if def.allows_depth(g.depth) { g.depth } else { Depth::Organization };
                    let d = out.entry(name).or_insert(Depth::None);
                    *d = (*d).max(depth);
                }
            }
        }
        for name in self.globals {
            out.insert(name.to_string(), Depth::Organization);
        }
        out.into_iter().collect()
    }
}
