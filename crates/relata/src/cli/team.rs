//! `relata team list|create|add-member|remove-member|delete`.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use relata_engine::{RecordInput, Session};
use relata_metadata::{EntityRef, Value};
use uuid::Uuid;

use super::bu::Units;
use super::user::print_table;
use super::{find_user, lookup, odata_string, open_admin, query_all, text, user_labels, Access};
use crate::config::{Flags, Settings};

#[derive(Subcommand)]
pub enum TeamCommand {
    /// List teams with their business unit, administrator, members and roles
    List {
        /// Only the teams of this business unit
        #[arg(long, value_name = "NAME")]
        business_unit: Option<String>,
    },
    /// Create a team; prints its id
    Create {
        /// Team name
        #[arg(long)]
        name: String,
        /// Business unit of the team [default: the root business unit]
        #[arg(long, value_name = "NAME")]
        business_unit: Option<String>,
        /// Administrator, by email [default: SYSTEM]
        #[arg(long, value_name = "EMAIL")]
        admin: Option<String>,
        /// owner (holds roles and owns records) or access (only receives shared records)
        #[arg(long = "type", value_name = "TYPE", default_value = "owner")]
        team_type: String,
    },
    /// Add a user to a team
    AddMember {
        /// Team name
        #[arg(long)]
        team: String,
        /// The user, by email
        #[arg(long, value_name = "EMAIL")]
        user: String,
    },
    /// Remove a user from a team
    RemoveMember {
        /// Team name
        #[arg(long)]
        team: String,
        /// The user, by email
        #[arg(long, value_name = "EMAIL")]
        user: String,
    },
    /// Delete a team (not a business unit's default team)
    Delete {
        /// Team name
        name: String,
    },
}

pub fn run(flags: &Flags, cmd: TeamCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    match cmd {
        TeamCommand::List { business_unit } => list(&settings, business_unit.as_deref()),
        TeamCommand::Create { name, business_unit, admin, team_type } => {
            create(&settings, &name, business_unit.as_deref(), admin.as_deref(), &team_type)
        }
        TeamCommand::AddMember { team, user } => membership(&settings, &team, &user, true),
        TeamCommand::RemoveMember { team, user } => membership(&settings, &team, &user, false),
        TeamCommand::Delete { name } => delete(&settings, &name),
    }
}

/// One team.
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub bu: Uuid,
}

/// A team by name (case-insensitive, must be unique) or by id.
pub fn find_team(s: &mut Session<'_, '_, '_>, name: &str) -> Result<Team> {
    let wanted = name.trim();
    let filter = match Uuid::parse_str(wanted) {
        Ok(id) => format!("teamid eq {id} or name eq {}", odata_string(wanted)),
        Err(_) => format!("name eq {}", odata_string(wanted)),
    };
    let rows = query_all(s, "team", &format!("$select=name,businessunitid&$filter={filter}"))
        .context("cannot read the teams")?;
    let teams: Vec<Team> = rows
        .iter()
        .map(|r| Team { id: r.id, name: text(r, "name"), bu: lookup(r, "businessunitid").unwrap_or_default() })
        .collect();
    let mut teams = teams;
    match teams.len() {
        1 => Ok(teams.remove(0)),
        0 => bail!("there is no team named '{wanted}'"),
        n => {
            let units = Units::load(s)?;
            let which: Vec<String> =
                teams.iter().map(|t| format!("{} (business unit '{}')", t.id, units.name(t.bu))).collect();
            bail!("{n} teams are named '{wanted}'; name one by its id instead: {}", which.join(", "))
        }
    }
}

fn list(settings: &Settings, business_unit: Option<&str>) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let rows = org.read(&org.system_principal(), |s| -> Result<_> {
        let units = Units::load(s)?;
        let only = business_unit.map(|b| units.find(b).map(|u| u.id)).transpose()?;
        let teams =
            query_all(s, "team", "$select=name,businessunitid,teamtype,isdefault,administratorid&$orderby=name")
                .context("cannot read the teams")?;
        let mut members: HashMap<Uuid, usize> = HashMap::new();
        for m in query_all(s, "teammembership", "$select=teamid").context("cannot read team members")? {
            if let Some(t) = lookup(&m, "teamid") {
                *members.entry(t).or_default() += 1;
            }
        }
        let role_names: HashMap<Uuid, String> =
            super::role::load_roles(s)?.into_iter().map(|r| (r.id, r.name)).collect();
        let mut roles: HashMap<Uuid, Vec<String>> = HashMap::new();
        for r in query_all(s, "teamroles", "$select=teamid,roleid").context("cannot read team roles")? {
            if let (Some(t), Some(role)) = (lookup(&r, "teamid"), lookup(&r, "roleid")) {
                roles.entry(t).or_default().push(role_names.get(&role).cloned().unwrap_or(role.to_string()));
            }
        }
        let labels = user_labels(s)?;
        let mut rows: Vec<[String; 7]> = Vec::new();
        for t in &teams {
            let bu = lookup(t, "businessunitid").unwrap_or_default();
            if only.is_some_and(|b| b != bu) {
                continue;
            }
            let mut kind = match t.get("teamtype").and_then(Value::as_i64) {
                Some(1) => "access".to_string(),
                Some(0) | None => "owner".to_string(),
                Some(n) => format!("type {n}"),
            };
            if t.get("isdefault").and_then(Value::as_bool) == Some(true) {
                kind.push_str(" (default)");
            }
            let admin = lookup(t, "administratorid").map(|a| labels.get(&a).cloned().unwrap_or(a.to_string()));
            let mut team_roles = roles.remove(&t.id).unwrap_or_default();
            team_roles.sort();
            rows.push([
                text(t, "name"),
                units.name(bu),
                kind,
                admin.unwrap_or_default(),
                members.get(&t.id).copied().unwrap_or_default().to_string(),
                team_roles.join(", "),
                t.id.to_string(),
            ]);
        }
        Ok(rows)
    })?;
    print_table(&["NAME", "BUSINESS UNIT", "TYPE", "ADMINISTRATOR", "MEMBERS", "ROLES", "ID"], &rows);
    Ok(())
}

fn create(
    settings: &Settings,
    name: &str,
    business_unit: Option<&str>,
    admin: Option<&str>,
    team_type: &str,
) -> Result<()> {
    let name = name.trim().to_string();
    if name.is_empty() {
        bail!("the team needs a name");
    }
    let kind = match team_type.trim().to_ascii_lowercase().as_str() {
        "owner" => 0,
        "access" => 1,
        other => bail!("'{other}' is not a team type; use owner or access"),
    };
    let org = open_admin(settings, Access::Create)?;
    let root = org.ids.root_business_unit;
    let (id, unit) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            let bu = match business_unit {
                Some(b) => units.find(b)?.id,
                None => root,
            };
            let existing = query_all(s, "team", &format!("$select=name&$filter=name eq {}", odata_string(&name)))
                .context("cannot read the teams")?;
            if let Some(t) = existing.first() {
                bail!("a team named '{}' already exists ({})", text(t, "name"), t.id);
            }
            let mut fields = vec![
                ("name".to_string(), Value::String(name.clone())),
                ("businessunitid".to_string(), Value::Ref(EntityRef { entity: "businessunit".into(), id: bu })),
                ("teamtype".to_string(), Value::Int(kind)),
            ];
            if let Some(email) = admin {
                let user = find_user(s, email)?;
                fields
                    .push(("administratorid".into(), Value::Ref(EntityRef { entity: "systemuser".into(), id: user })));
            }
            let id = s.create("team", RecordInput::new(fields))?;
            Ok((id, units.name(bu)))
        })
        .with_context(|| format!("cannot create the team '{name}'"))?;
    eprintln!("created team '{name}' in '{unit}'");
    println!("{id}");
    Ok(())
}

fn membership(settings: &Settings, team: &str, email: &str, add: bool) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let team_name = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let t = find_team(s, team)?;
            let user = find_user(s, email)?;
            if add {
                s.associate("team", t.id, "teammembership_association", "systemuser", user)?;
            } else {
                s.disassociate("team", t.id, "teammembership_association", Some(user))?;
            }
            Ok(t.name)
        })
        .with_context(|| {
            if add {
                format!("cannot add {} to the team '{}'", email.trim(), team.trim())
            } else {
                format!("cannot remove {} from the team '{}'", email.trim(), team.trim())
            }
        })?;
    if add {
        println!("added {} to the team '{team_name}'", email.trim());
    } else {
        println!("removed {} from the team '{team_name}'", email.trim());
    }
    Ok(())
}

fn delete(settings: &Settings, name: &str) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let team = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let t = find_team(s, name)?;
            s.delete("team", t.id, None)?;
            Ok(t.name)
        })
        .with_context(|| format!("cannot delete the team '{}'", name.trim()))?;
    println!("deleted team '{team}'");
    Ok(())
}
