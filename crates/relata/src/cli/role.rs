//! `relata role list|show|create|grant|revoke|assign|unassign|delete`:
//! security roles, what they grant and who holds them.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context, Result};
use clap::{ArgGroup, Args, Subcommand};
use relata_engine::{PrivilegeGrant, RecordInput, Session};
use relata_metadata::{EntityRef, Value};
use relata_security::{catalog, privilege_id, privilege_name, Depth, PrivilegeDef, Right, RIGHTS};
use uuid::Uuid;

use super::bu::Units;
use super::team::find_team;
use super::user::print_table;
use super::{find_user, lookup, open_admin, query_all, some_of, text, user_labels, Access};
use crate::config::{Flags, Settings};

#[derive(Subcommand)]
pub enum RoleCommand {
    /// List security roles with their business unit and how many hold them
    List {
        /// Only the roles that belong to this business unit
        #[arg(long, value_name = "NAME")]
        business_unit: Option<String>,
    },
    /// Show a role's privileges with their depths, and who holds it
    Show {
        /// Role name
        name: String,
        /// The business unit the role belongs to, when several roles share the name
        #[arg(long, value_name = "NAME")]
        business_unit: Option<String>,
    },
    /// Create a role, empty or as a copy of another role's privileges
    Create(CreateArgs),
    /// Grant privileges at a depth (a privilege already held takes the new depth)
    Grant(GrantArgs),
    /// Take privileges away from a role
    Revoke(RevokeArgs),
    /// Give a role to a user or a team
    Assign(AssignArgs),
    /// Take a role away from a user or a team
    Unassign(AssignArgs),
    /// Delete a role (its holders lose it)
    Delete {
        /// Role name
        name: String,
        /// The business unit the role belongs to, when several roles share the name
        #[arg(long, value_name = "NAME")]
        business_unit: Option<String>,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// Name of the new role
    #[arg(long)]
    pub name: String,
    /// The business unit the role belongs to; it can be given to users and
    /// teams of that unit and of the units below it [default: the root unit]
    #[arg(long, value_name = "NAME")]
    pub business_unit: Option<String>,
    /// Start with the privileges of this role
    #[arg(long, value_name = "ROLE")]
    pub copy_from: Option<String>,
}

/// Which role: its name, and its business unit when names repeat.
#[derive(Args)]
pub struct RoleName {
    /// Role name
    #[arg(long = "role", value_name = "NAME")]
    pub role: String,
    /// The business unit the role belongs to, when several roles share the name
    #[arg(long, value_name = "NAME")]
    pub business_unit: Option<String>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).multiple(true).args(["privileges", "entity"])))]
pub struct GrantArgs {
    #[command(flatten)]
    pub role: RoleName,
    /// Privilege name, e.g. prvReadAccount; repeatable, each followed by its --depth
    #[arg(long = "privilege", value_name = "NAME")]
    pub privileges: Vec<String>,
    /// basic (user), local (business unit), deep (parent: child units) or
    /// global (organization); one per --privilege, or one for all
    #[arg(long = "depth", value_name = "DEPTH", required = true)]
    pub depths: Vec<String>,
    /// Entity whose privileges to grant (with --rights), e.g. account
    #[arg(long, requires = "rights", conflicts_with = "privileges")]
    pub entity: Option<String>,
    /// Rights on --entity: create, read, write, delete, append, appendto, assign, share or all
    #[arg(long, value_delimiter = ',', requires = "entity")]
    pub rights: Vec<String>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).multiple(true).args(["privileges", "entity"])))]
pub struct RevokeArgs {
    #[command(flatten)]
    pub role: RoleName,
    /// Privilege name, e.g. prvDeleteAccount; repeatable
    #[arg(long = "privilege", value_name = "NAME")]
    pub privileges: Vec<String>,
    /// Entity whose privileges to revoke (with --rights)
    #[arg(long, requires = "rights", conflicts_with = "privileges")]
    pub entity: Option<String>,
    /// Rights on --entity: create, read, write, delete, append, appendto, assign, share or all
    #[arg(long, value_delimiter = ',', requires = "entity")]
    pub rights: Vec<String>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("holder").required(true).args(["user", "team"])))]
pub struct AssignArgs {
    #[command(flatten)]
    pub role: RoleName,
    /// The user, by email
    #[arg(long, value_name = "EMAIL")]
    pub user: Option<String>,
    /// The team, by name
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,
}

pub fn run(flags: &Flags, cmd: RoleCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    match cmd {
        RoleCommand::List { business_unit } => list(&settings, business_unit.as_deref()),
        RoleCommand::Show { name, business_unit } => show(&settings, &name, business_unit.as_deref()),
        RoleCommand::Create(args) => create(&settings, args),
        RoleCommand::Grant(args) => grant(&settings, args),
        RoleCommand::Revoke(args) => revoke(&settings, args),
        RoleCommand::Assign(args) => assign(&settings, args, true),
        RoleCommand::Unassign(args) => assign(&settings, args, false),
        RoleCommand::Delete { name, business_unit } => delete(&settings, &name, business_unit.as_deref()),
    }
}

/// One security role.
#[derive(Debug, Clone)]
pub struct Role {
    pub id: Uuid,
    pub name: String,
    pub bu: Uuid,
}

pub fn load_roles(s: &mut Session<'_, '_, '_>) -> Result<Vec<Role>> {
    let rows =
        query_all(s, "role", "$select=name,businessunitid&$orderby=name").context("cannot read the security roles")?;
    Ok(rows
        .iter()
        .map(|r| Role { id: r.id, name: text(r, "name"), bu: lookup(r, "businessunitid").unwrap_or_default() })
        .collect())
}

/// Where to look for a role by name.
#[derive(Debug, Clone, Copy)]
pub enum Within {
    /// A role of exactly this business unit.
    Unit(Uuid),
    /// A role a user or team of this unit can hold: of the unit or of a
    /// unit above it, the closest first.
    InheritedBy(Uuid),
    /// Any role; the name must be unique.
    Anywhere,
}

/// A role by name (case-insensitive) or by id.
pub fn find_role<'r>(roles: &'r [Role], units: &Units, name: &str, within: Within) -> Result<&'r Role> {
    let wanted = name.trim();
    if let Some(r) = Uuid::parse_str(wanted).ok().and_then(|id| roles.iter().find(|r| r.id == id)) {
        return Ok(r);
    }
    let named: Vec<&Role> = roles.iter().filter(|r| r.name.eq_ignore_ascii_case(wanted)).collect();
    if named.is_empty() {
        let mut available: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
        available.sort_by_key(|n| n.to_lowercase());
        available.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        bail!("there is no role named '{wanted}'; available roles: {}", some_of(&available, 30));
    }
    let homes = || {
        let mut v: Vec<String> = named.iter().map(|r| format!("'{}'", units.name(r.bu))).collect();
        v.dedup();
        v.join(", ")
    };
    match within {
        Within::Unit(bu) => named.iter().find(|r| r.bu == bu).copied().ok_or_else(|| {
            anyhow!(
                "business unit '{}' has no role named '{wanted}'; roles of that name belong to {}",
                units.name(bu),
                homes()
            )
        }),
        Within::InheritedBy(bu) => {
            let chain = units.chain(bu);
            named
                .iter()
                .filter_map(|r| chain.iter().position(|c| *c == r.bu).map(|p| (p, *r)))
                .min_by_key(|(p, _)| *p)
                .map(|(_, r)| r)
                .ok_or_else(|| {
                    anyhow!(
                        "the role '{wanted}' belongs to {}, another branch of the business unit tree than '{}': \
                     a role can be given to users and teams of its business unit and of the units below it",
                        homes(),
                        units.name(bu)
                    )
                })
        }
        Within::Anywhere => match named.as_slice() {
            [r] => Ok(r),
            _ => bail!(
                "{} roles are named '{wanted}' (in business units {}); say which with --business-unit",
                named.len(),
                homes()
            ),
        },
    }
}

/// The role named by `--role` and `--business-unit`.
fn resolve(s: &mut Session<'_, '_, '_>, which: &RoleName) -> Result<(Role, Units)> {
    let units = Units::load(s)?;
    let roles = load_roles(s)?;
    let within = match &which.business_unit {
        Some(b) => Within::Unit(units.find(b)?.id),
        None => Within::Anywhere,
    };
    let role = find_role(&roles, &units, &which.role, within)?.clone();
    Ok((role, units))
}

/// `basic|local|deep|global` (Dataverse's names) or
/// `user|business-unit|parent-child|organization`.
pub fn parse_depth(s: &str) -> Result<Depth> {
    let d = s.trim().to_ascii_lowercase().replace(['_', ' ', ':'], "-");
    Ok(match d.as_str() {
        "basic" | "user" => Depth::User,
        "local" | "business-unit" | "businessunit" => Depth::BusinessUnit,
        "deep" | "parent-child" | "parentchild" | "parent-child-business-units" => Depth::ParentChild,
        "global" | "organization" | "org" => Depth::Organization,
        _ => bail!("'{s}' is not a depth; use basic, local, deep or global"),
    })
}

fn parse_right(s: &str) -> Result<Vec<Right>> {
    let r = s.trim().to_ascii_lowercase().replace(['-', '_'], "");
    if r == "all" {
        return Ok(RIGHTS.to_vec());
    }
    RIGHTS.into_iter().find(|x| x.name().eq_ignore_ascii_case(&r)).map(|x| vec![x]).ok_or_else(|| {
        anyhow!("'{s}' is not a right; use create, read, write, delete, append, appendto, assign, share or all")
    })
}

/// Privilege names for rights on an entity, checked against the catalog.
fn entity_privileges(s: &Session<'_, '_, '_>, entity: &str, rights: &[String]) -> Result<Vec<String>> {
    let schema = s.schema.clone();
    let e = schema
        .entity(entity.trim())
        .or_else(|| schema.entity_by_set(entity.trim()))
        .ok_or_else(|| anyhow!("there is no entity '{entity}'"))?;
    if !e.has_privileges() {
        bail!("'{}' has no privileges of its own (access to it follows the records it belongs to)", e.name());
    }
    let cat = catalog(&schema);
    let mut out: Vec<String> = Vec::new();
    let all = rights.iter().any(|r| r.trim().eq_ignore_ascii_case("all"));
    for r in rights {
        for right in parse_right(r)? {
            let name = privilege_name(right, e);
            if cat.iter().any(|p| p.name == name) {
                if !out.contains(&name) {
                    out.push(name);
                }
            } else if !all {
                bail!("'{}' has no {} privilege ({name})", e.name(), right.name());
            }
        }
    }
    Ok(out)
}

fn depth_label(d: Depth) -> String {
    let plain = match d {
        Depth::None => "none",
        Depth::User => "user",
        Depth::BusinessUnit => "business unit",
        Depth::ParentChild => "parent: child business units",
        Depth::Organization => "organization",
    };
    format!("{} ({plain})", d.dataverse_name())
}

/// The users and teams that hold a role.
#[derive(Default, Clone)]
struct Holders {
    users: Vec<Uuid>,
    teams: Vec<Uuid>,
}

/// Holders of each role.
fn holders(s: &mut Session<'_, '_, '_>) -> Result<HashMap<Uuid, Holders>> {
    let mut out: HashMap<Uuid, Holders> = HashMap::new();
    for r in query_all(s, "systemuserroles", "$select=systemuserid,roleid").context("cannot read role assignments")? {
        if let (Some(role), Some(user)) = (lookup(&r, "roleid"), lookup(&r, "systemuserid")) {
            out.entry(role).or_default().users.push(user);
        }
    }
    for r in query_all(s, "teamroles", "$select=teamid,roleid").context("cannot read role assignments")? {
        if let (Some(role), Some(team)) = (lookup(&r, "roleid"), lookup(&r, "teamid")) {
            out.entry(role).or_default().teams.push(team);
        }
    }
    Ok(out)
}

fn list(settings: &Settings, business_unit: Option<&str>) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let rows = org.read(&org.system_principal(), |s| -> Result<_> {
        let units = Units::load(s)?;
        let only = business_unit.map(|b| units.find(b).map(|u| u.id)).transpose()?;
        let roles = load_roles(s)?;
        let holders = holders(s)?;
        let mut rows: Vec<[String; 6]> = Vec::new();
        for r in roles.iter().filter(|r| only.is_none_or(|b| b == r.bu)) {
            let privileges = s.role_privileges(r.id).with_context(|| format!("cannot read the role '{}'", r.name))?;
            let Holders { users, teams } = holders.get(&r.id).cloned().unwrap_or_default();
            rows.push([
                r.name.clone(),
                units.name(r.bu),
                privileges.len().to_string(),
                users.len().to_string(),
                teams.len().to_string(),
                r.id.to_string(),
            ]);
        }
        Ok(rows)
    })?;
    print_table(&["NAME", "BUSINESS UNIT", "PRIVILEGES", "USERS", "TEAMS", "ID"], &rows);
    Ok(())
}

fn show(settings: &Settings, name: &str, business_unit: Option<&str>) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let which = RoleName { role: name.to_string(), business_unit: business_unit.map(str::to_string) };
    let (role, units, privileges, users, teams, defs) = org.read(&org.system_principal(), |s| -> Result<_> {
        let (role, units) = resolve(s, &which)?;
        let privileges = s.role_privileges(role.id).with_context(|| format!("cannot read the role '{}'", role.name))?;
        let Holders { users: user_ids, teams: team_ids } = holders(s)?.remove(&role.id).unwrap_or_default();
        let labels = user_labels(s)?;
        let mut users: Vec<String> = user_ids.iter().map(|u| labels.get(u).cloned().unwrap_or(u.to_string())).collect();
        users.sort();
        let team_rows = query_all(s, "team", "$select=name").context("cannot read the teams")?;
        let mut teams: Vec<String> =
            team_rows.iter().filter(|t| team_ids.contains(&t.id)).map(|t| text(t, "name")).collect();
        teams.sort();
        let defs: HashMap<String, PrivilegeDef> = catalog(&s.schema).into_iter().map(|p| (p.name.clone(), p)).collect();
        Ok((role, units, privileges, users, teams, defs))
    })?;
    println!("role: {}", role.name);
    println!("id: {}", role.id);
    println!("business unit: {}", units.name(role.bu));
    println!("users: {}", if users.is_empty() { "none".into() } else { users.join(", ") });
    println!("teams: {}", if teams.is_empty() { "none".into() } else { teams.join(", ") });
    println!();
    let order = |p: &relata_engine::RolePrivilege| {
        let def = defs.get(&p.name);
        let entity = def.and_then(|d| d.entity.clone());
        let right = def.map(|d| RIGHTS.iter().position(|r| *r == d.right).unwrap_or(0)).unwrap_or(0);
        (entity.is_none(), entity.unwrap_or_default(), right, p.name.clone())
    };
    let mut privileges = privileges;
    privileges.sort_by_key(order);
    let rows: Vec<[String; 4]> = privileges
        .iter()
        .map(|p| {
            let def = defs.get(&p.name);
            [
                p.name.clone(),
                depth_label(p.depth),
                def.and_then(|d| d.entity.clone()).unwrap_or_else(|| "(global)".into()),
                def.map(|d| d.right.name().to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!("no privileges");
    } else {
        print_table(&["PRIVILEGE", "DEPTH", "ENTITY", "RIGHT"], &rows);
    }
    Ok(())
}

fn create(settings: &Settings, args: CreateArgs) -> Result<()> {
    let name = args.name.trim().to_string();
    if name.is_empty() {
        bail!("the role needs a name");
    }
    let org = open_admin(settings, Access::Create)?;
    let root = org.ids.root_business_unit;
    let (id, unit, copied) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            let bu = match &args.business_unit {
                Some(b) => units.find(b)?.id,
                None => root,
            };
            let roles = load_roles(s)?;
            if let Some(r) = roles.iter().find(|r| r.bu == bu && r.name.eq_ignore_ascii_case(&name)) {
                bail!("business unit '{}' already has a role named '{}' ({})", units.name(bu), r.name, r.id);
            }
            let source = match &args.copy_from {
                Some(src) => {
                    // The closest role of that name the new role's unit can see, else a unique one.
                    let r = find_role(&roles, &units, src, Within::InheritedBy(bu))
                        .or_else(|_| find_role(&roles, &units, src, Within::Anywhere))?;
                    Some(r.clone())
                }
                None => None,
            };
            let id = s.create(
                "role",
                RecordInput::new(vec![
                    ("name".into(), Value::String(name.clone())),
                    ("businessunitid".into(), Value::Ref(EntityRef { entity: "businessunit".into(), id: bu })),
                ]),
            )?;
            let mut copied = None;
            if let Some(src) = source {
                let grants: Vec<PrivilegeGrant> = s
                    .role_privileges(src.id)?
                    .into_iter()
                    .map(|p| PrivilegeGrant { privilege_id: Some(p.privilege_id), name: Some(p.name), depth: p.depth })
                    .collect();
                if !grants.is_empty() {
                    s.add_role_privileges(id, &grants)?;
                }
                copied = Some((src.name, grants.len()));
            }
            Ok((id, units.name(bu), copied))
        })
        .with_context(|| format!("cannot create the role '{name}'"))?;
    match copied {
        Some((src, n)) => eprintln!("created role '{name}' in '{unit}' with {n} privilege(s) of '{src}'"),
        None => eprintln!("created role '{name}' in '{unit}' without privileges"),
    }
    println!("{id}");
    Ok(())
}

/// Privilege names and depths from `--privilege/--depth` or `--entity/--rights/--depth`.
fn grants_of(s: &Session<'_, '_, '_>, args: &GrantArgs, depths: Vec<Depth>) -> Result<Vec<(String, Depth)>> {
    let names = match &args.entity {
        Some(e) => entity_privileges(s, e, &args.rights)?,
        None => args.privileges.iter().map(|p| p.trim().to_string()).collect(),
    };
    match depths.as_slice() {
        [d] => Ok(names.into_iter().map(|n| (n, *d)).collect()),
        _ if args.entity.is_none() && depths.len() == names.len() => Ok(names.into_iter().zip(depths).collect()),
        _ => bail!(
            "give one --depth for all privileges or one per --privilege ({} privilege(s), {} depth(s))",
            names.len(),
            depths.len()
        ),
    }
}

fn grant(settings: &Settings, args: GrantArgs) -> Result<()> {
    let role_name = args.role.role.clone();
    let depths: Vec<Depth> = args
        .depths
        .iter()
        .map(|d| parse_depth(d))
        .collect::<Result<_>>()
        .with_context(|| format!("cannot grant privileges to the role '{role_name}'"))?;
    let org = open_admin(settings, Access::Existing)?;
    let (role, granted) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let (role, _) = resolve(s, &args.role)?;
            let grants = grants_of(s, &args, depths)?;
            let list: Vec<PrivilegeGrant> = grants
                .iter()
                .map(|(n, d)| PrivilegeGrant { privilege_id: None, name: Some(n.clone()), depth: *d })
                .collect();
            s.add_role_privileges(role.id, &list)?;
            Ok((role.name, grants))
        })
        .with_context(|| format!("cannot grant privileges to the role '{role_name}'"))?;
    for (name, depth) in granted {
        println!("granted {name} at {} to '{role}'", depth_label(depth));
    }
    Ok(())
}

fn revoke(settings: &Settings, args: RevokeArgs) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let role_name = args.role.role.clone();
    let (role, revoked) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let (role, _) = resolve(s, &args.role)?;
            let names = match &args.entity {
                Some(e) => entity_privileges(s, e, &args.rights)?,
                None => args.privileges.iter().map(|p| p.trim().to_string()).collect(),
            };
            let held = s.role_privileges(role.id)?;
            let mut revoked = Vec::new();
            for name in names {
                let Some(p) = held.iter().find(|p| p.name.eq_ignore_ascii_case(&name)) else {
                    // With --entity and several rights, skip what the role does not hold.
                    if args.entity.is_some() {
                        continue;
                    }
                    bail!("the role '{}' does not hold {name}", role.name);
                };
                debug_assert_eq!(p.privilege_id, privilege_id(&p.name));
                s.remove_role_privilege(role.id, p.privilege_id)?;
                revoked.push(p.name.clone());
            }
            if revoked.is_empty() {
                bail!("the role '{}' holds none of those privileges", role.name);
            }
            Ok((role.name, revoked))
        })
        .with_context(|| format!("cannot revoke privileges from the role '{role_name}'"))?;
    for name in revoked {
        println!("revoked {name} from '{role}'");
    }
    Ok(())
}

fn assign(settings: &Settings, args: AssignArgs, give: bool) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let role_name = args.role.role.clone();
    let holder_label = args.user.clone().or(args.team.clone()).unwrap_or_default();
    let (role, holder) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            let roles = load_roles(s)?;
            // The holder: (entity, id, its business unit, navigation property, label).
            let (entity, id, bu, nav, label) = match (&args.user, &args.team) {
                (Some(email), _) => {
                    let id = find_user(s, email)?;
                    let bu = user_unit(s, id)?;
                    ("systemuser", id, bu, "systemuserroles_association", format!("user {}", email.trim()))
                }
                (None, Some(team)) => {
                    let t = find_team(s, team)?;
                    ("team", t.id, t.bu, "teamroles_association", format!("team '{}'", t.name))
                }
                (None, None) => bail!("name a --user or a --team"),
            };
            let role = if give {
                let within = match &args.role.business_unit {
                    // Named explicitly: the engine decides whether the holder may have it.
                    Some(b) => Within::Unit(units.find(b)?.id),
                    None => Within::InheritedBy(bu),
                };
                find_role(&roles, &units, &args.role.role, within)?.clone()
            } else {
                // Among the roles the holder has.
                let held = held_roles(s, entity, id)?;
                let mine: Vec<Role> = roles.iter().filter(|r| held.contains(&r.id)).cloned().collect();
                let within = match &args.role.business_unit {
                    Some(b) => Within::Unit(units.find(b)?.id),
                    None => Within::Anywhere,
                };
                find_role(&mine, &units, &args.role.role, within)
                    .map_err(|_| anyhow!("the {label} does not have the role '{}'", args.role.role.trim()))?
                    .clone()
            };
            if give {
                s.associate(entity, id, nav, "role", role.id)?;
            } else {
                s.disassociate(entity, id, nav, Some(role.id))?;
            }
            Ok((role.name, label))
        })
        .with_context(|| {
            format!(
                "cannot {} the role '{role_name}' {} {holder_label}",
                if give { "give" } else { "take" },
                if give { "to" } else { "from" }
            )
        })?;
    if give {
        println!("gave the role '{role}' to the {holder}");
    } else {
        println!("took the role '{role}' from the {holder}");
    }
    Ok(())
}

/// The business unit of a user.
pub fn user_unit(s: &mut Session<'_, '_, '_>, user: Uuid) -> Result<Uuid> {
    let rows = query_all(s, "systemuser", &format!("$select=businessunitid&$filter=systemuserid eq {user}"))
        .context("cannot read the user")?;
    rows.first().and_then(|r| lookup(r, "businessunitid")).ok_or_else(|| anyhow!("the user {user} does not exist"))
}

/// Roles a user or team holds directly.
pub fn held_roles(s: &mut Session<'_, '_, '_>, entity: &str, id: Uuid) -> Result<Vec<Uuid>> {
    let (table, column) = if entity == "team" { ("teamroles", "teamid") } else { ("systemuserroles", "systemuserid") };
    let rows = query_all(s, table, &format!("$select=roleid&$filter={column} eq {id}"))
        .context("cannot read role assignments")?;
    Ok(rows.iter().filter_map(|r| lookup(r, "roleid")).collect())
}

fn delete(settings: &Settings, name: &str, business_unit: Option<&str>) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let which = RoleName { role: name.to_string(), business_unit: business_unit.map(str::to_string) };
    let (role, unit) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let (role, units) = resolve(s, &which)?;
            s.delete("role", role.id, None)?;
            Ok((role.name, units.name(role.bu)))
        })
        .with_context(|| format!("cannot delete the role '{}'", name.trim()))?;
    println!("deleted role '{role}' of '{unit}'");
    Ok(())
}
