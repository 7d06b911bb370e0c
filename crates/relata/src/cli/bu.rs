//! `relata bu list|create|move|disable|enable|delete`: the business unit tree.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use relata_engine::{Condition, RecordInput, Session};
use relata_metadata::{EntityRef, Value};
use uuid::Uuid;

use super::user::print_table;
use super::{lookup, open_admin, query_all, some_of, text, Access};
use crate::config::{Flags, Settings};

#[derive(Subcommand)]
pub enum BuCommand {
    /// Show the business unit tree with the number of users in each unit
    List,
    /// Create a business unit (and its default team)
    Create {
        /// Name of the new unit (unique)
        #[arg(long)]
        name: String,
        /// Parent unit, by name [default: the root business unit]
        #[arg(long, value_name = "NAME")]
        parent: Option<String>,
    },
    /// Move a business unit (with everything below it) under another parent
    Move {
        /// The unit to move, by name
        #[arg(long)]
        name: String,
        /// Its new parent, by name
        #[arg(long, value_name = "NAME")]
        parent: String,
    },
    /// Disable a business unit: its users can no longer sign in
    Disable {
        #[arg(long)]
        name: String,
    },
    /// Enable a disabled business unit
    Enable {
        #[arg(long)]
        name: String,
    },
    /// Delete an empty business unit (no users, child units or records)
    Delete {
        #[arg(long)]
        name: String,
    },
}

pub fn run(flags: &Flags, cmd: BuCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    match cmd {
        BuCommand::List => list(&settings),
        BuCommand::Create { name, parent } => create(&settings, &name, parent.as_deref()),
        BuCommand::Move { name, parent } => move_unit(&settings, &name, &parent),
        BuCommand::Disable { name } => set_disabled(&settings, &name, true),
        BuCommand::Enable { name } => set_disabled(&settings, &name, false),
        BuCommand::Delete { name } => delete(&settings, &name),
    }
}

/// One business unit.
pub struct Unit {
    pub id: Uuid,
    pub name: String,
    pub parent: Option<Uuid>,
    pub disabled: bool,
}

/// The business unit tree as read in one transaction.
pub struct Units {
    pub all: Vec<Unit>,
}

impl Units {
    pub fn load(s: &mut Session<'_, '_, '_>) -> Result<Units> {
        let rows = query_all(s, "businessunit", "$select=name,parentbusinessunitid,isdisabled&$orderby=name")
            .context("cannot read the business units")?;
        Ok(Units {
            all: rows
                .iter()
                .map(|r| Unit {
                    id: r.id,
                    name: text(r, "name"),
                    parent: lookup(r, "parentbusinessunitid"),
                    disabled: r.get("isdisabled").and_then(Value::as_bool) == Some(true),
                })
                .collect(),
        })
    }

    pub fn get(&self, id: Uuid) -> Option<&Unit> {
        self.all.iter().find(|u| u.id == id)
    }

    /// The unit's name, or its id when it is unknown.
    pub fn name(&self, id: Uuid) -> String {
        self.get(id).map(|u| u.name.clone()).unwrap_or_else(|| id.to_string())
    }

    /// A unit by name (case-insensitive, must be unique) or by id.
    pub fn find(&self, name: &str) -> Result<&Unit> {
        let wanted = name.trim();
        if let Ok(id) = Uuid::parse_str(wanted) {
            if let Some(u) = self.get(id) {
                return Ok(u);
            }
        }
        let matches: Vec<&Unit> = self.all.iter().filter(|u| u.name.eq_ignore_ascii_case(wanted)).collect();
        match matches.as_slice() {
            [u] => Ok(u),
            [] => {
                let names: Vec<String> = self.all.iter().map(|u| u.name.clone()).collect();
                bail!("there is no business unit named '{wanted}'; business units: {}", some_of(&names, 20))
            }
            several => {
                let ids: Vec<String> = several.iter().map(|u| u.id.to_string()).collect();
                bail!(
                    "{} business units are named '{wanted}'; name one by its id instead: {}",
                    several.len(),
                    ids.join(", ")
                )
            }
        }
    }

    /// The unit, its parent, its parent's parent … up to the root.
    pub fn chain(&self, id: Uuid) -> Vec<Uuid> {
        let mut out = vec![id];
        let mut cursor = self.get(id).and_then(|u| u.parent);
        while let Some(c) = cursor {
            if out.contains(&c) {
                break;
            }
            out.push(c);
            cursor = self.get(c).and_then(|u| u.parent);
        }
        out
    }

    fn children(&self, id: Option<Uuid>) -> Vec<&Unit> {
        self.all.iter().filter(|u| u.parent == id && Some(u.id) != id).collect()
    }
}

fn bu_ref(id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: "businessunit".into(), id })
}

fn list(settings: &Settings) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let system_user = org.ids.system_user;
    let (units, users, teams) = org.read(&org.system_principal(), |s| -> Result<_> {
        let units = Units::load(s)?;
        let users = query_all(s, "systemuser", "$select=businessunitid,isdisabled").context("cannot read the users")?;
        let teams = query_all(s, "team", "$select=businessunitid").context("cannot read the teams")?;
        Ok((units, users, teams))
    })?;
    let mut user_count: HashMap<Uuid, (usize, usize)> = HashMap::new();
    for u in users.iter().filter(|u| u.id != system_user) {
        let Some(bu) = lookup(u, "businessunitid") else { continue };
        let slot = user_count.entry(bu).or_default();
        slot.0 += 1;
        if u.get("isdisabled").and_then(Value::as_bool) == Some(true) {
            slot.1 += 1;
        }
    }
    let mut team_count: HashMap<Uuid, usize> = HashMap::new();
    for t in &teams {
        if let Some(bu) = lookup(t, "businessunitid") {
            *team_count.entry(bu).or_default() += 1;
        }
    }

    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut seen: Vec<Uuid> = Vec::new();
    fn walk(
        units: &Units,
        unit: &Unit,
        level: usize,
        seen: &mut Vec<Uuid>,
        rows: &mut Vec<[String; 5]>,
        users: &HashMap<Uuid, (usize, usize)>,
        teams: &HashMap<Uuid, usize>,
    ) {
        if seen.contains(&unit.id) {
            return;
        }
        seen.push(unit.id);
        let (n, disabled) = users.get(&unit.id).copied().unwrap_or_default();
        rows.push([
            format!("{}{}", "  ".repeat(level), unit.name),
            if disabled > 0 { format!("{n} ({disabled} disabled)") } else { n.to_string() },
            teams.get(&unit.id).copied().unwrap_or_default().to_string(),
            if unit.disabled { "disabled" } else { "enabled" }.to_string(),
            unit.id.to_string(),
        ]);
        for child in units.children(Some(unit.id)) {
            walk(units, child, level + 1, seen, rows, users, teams);
        }
    }
    for root in units.children(None) {
        walk(&units, root, 0, &mut seen, &mut rows, &user_count, &team_count);
    }
    // Units whose parent is missing would be lost in the walk; show them at the top level.
    for u in &units.all {
        if !seen.contains(&u.id) {
            walk(&units, u, 0, &mut seen, &mut rows, &user_count, &team_count);
        }
    }
    print_table(&["NAME", "USERS", "TEAMS", "STATUS", "ID"], &rows);
    Ok(())
}

fn create(settings: &Settings, name: &str, parent: Option<&str>) -> Result<()> {
    let name = name.trim();
    if name.is_empty() {
        bail!("the business unit needs a name");
    }
    let org = open_admin(settings, Access::Create)?;
    let root = org.ids.root_business_unit;
    let (id, parent_name) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            if let Some(u) = units.all.iter().find(|u| u.name.eq_ignore_ascii_case(name)) {
                bail!("a business unit named '{}' already exists ({})", u.name, u.id);
            }
            let parent = match parent {
                Some(p) => units.find(p)?,
                None => units.get(root).context("the root business unit is missing")?,
            };
            let id = s.create(
                "businessunit",
                RecordInput::new(vec![
                    ("name".into(), Value::String(name.to_string())),
                    ("parentbusinessunitid".into(), bu_ref(parent.id)),
                ]),
            )?;
            Ok((id, parent.name.clone()))
        })
        .with_context(|| format!("cannot create the business unit '{name}'"))?;
    eprintln!("created business unit '{name}' under '{parent_name}'");
    println!("{id}");
    Ok(())
}

fn move_unit(settings: &Settings, name: &str, parent: &str) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let (unit, parent) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            let unit = units.find(name)?;
            let parent = units.find(parent)?;
            let input = RecordInput::new(vec![("parentbusinessunitid".into(), bu_ref(parent.id))]);
            s.update("businessunit", unit.id, input, Condition::default(), false)?;
            Ok((unit.name.clone(), parent.name.clone()))
        })
        .with_context(|| format!("cannot move the business unit '{name}'"))?;
    println!("moved business unit '{unit}' under '{parent}'");
    Ok(())
}

fn set_disabled(settings: &Settings, name: &str, disabled: bool) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let verb = if disabled { "disable" } else { "enable" };
    let unit = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            let unit = units.find(name)?;
            let input = RecordInput::new(vec![("isdisabled".into(), Value::Bool(disabled))]);
            s.update("businessunit", unit.id, input, Condition::default(), false)?;
            Ok(unit.name.clone())
        })
        .with_context(|| format!("cannot {verb} the business unit '{name}'"))?;
    println!("{verb}d business unit '{unit}'");
    Ok(())
}

fn delete(settings: &Settings, name: &str) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let unit = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            let unit = units.find(name)?;
            s.delete("businessunit", unit.id, None)?;
            Ok(unit.name.clone())
        })
        .with_context(|| format!("cannot delete the business unit '{name}'"))?;
    println!("deleted business unit '{unit}'");
    Ok(())
}
