//! `relata user create|list|disable|enable|unlock|move|license|password`.

use std::io::BufRead;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use relata_engine::{Condition, Org, RecordInput};
use relata_metadata::{EntityRef, Value};
use relata_query::Expanded;

use super::bu::Units;
use super::license::{license_of, parse_license};
use super::role::{find_role, held_roles, load_roles, Role, Within};
use super::{find_user, lookup, open_admin, query_all, text, users_with_password, Access};
use crate::config::{Flags, Settings};

pub const SYSTEM_ADMINISTRATOR: &str = "System Administrator";

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user who can sign in; prints the new user's id
    Create(CreateArgs),
    /// List the users with their business unit, license, status and roles
    List,
    /// Disable a user: their tokens stop working and they cannot sign in
    Disable {
        /// The user's email
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user; also ends a sign-in lock-out
    Enable {
        /// The user's email
        #[arg(long)]
        email: String,
    },
    /// End a user's sign-in lock-out (after too many wrong passwords)
    Unlock {
        /// The user's email
        #[arg(long)]
        email: String,
    },
    /// Move a user to another business unit; the records they own follow,
    /// and roles the new unit cannot hold are taken away
    Move {
        /// The user's email
        #[arg(long)]
        email: String,
        /// The new business unit, by name
        #[arg(long, value_name = "NAME")]
        business_unit: String,
    },
    /// Change a user's license type
    License {
        /// The user's email
        #[arg(long)]
        email: String,
        /// professional, basic, essential, team-member, read-only or administrative
        #[arg(long)]
        license: String,
    },
    /// Set a user's password; also ends a sign-in lock-out
    Password {
        /// The user's email
        #[arg(long)]
        email: String,
        /// The new password (at least 8 characters); "-" reads one line from stdin
        #[arg(long, env = "RELATA_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// Sign-in email address
    #[arg(long)]
    pub email: String,
    /// Password (at least 8 characters); "-" reads one line from stdin
    #[arg(long, env = "RELATA_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Full name, "First Last" [default: the part of the email before @]
    #[arg(long)]
    pub name: Option<String>,
    /// Business unit, by name [default: the root business unit]
    #[arg(long, value_name = "NAME")]
    pub business_unit: Option<String>,
    /// License type: professional, basic, essential, team-member, read-only
    /// or administrative [default: professional]
    #[arg(long)]
    pub license: Option<String>,
    /// Security role to assign, by name; repeatable. A role of the user's
    /// business unit or of a unit above it, the closest first. Without any,
    /// the first user who can sign in becomes System Administrator
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
}

pub fn run(flags: &Flags, cmd: UserCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    match cmd {
        UserCommand::Create(args) => create(&settings, args),
        UserCommand::List => list(&settings),
        UserCommand::Disable { email } => set_disabled(&settings, &email, true),
        UserCommand::Enable { email } => set_disabled(&settings, &email, false),
        UserCommand::Unlock { email } => unlock(&settings, &email),
        UserCommand::Move { email, business_unit } => move_user(&settings, &email, &business_unit),
        UserCommand::License { email, license } => set_license(&settings, &email, &license),
        UserCommand::Password { email, password } => set_password(&settings, &email, password),
    }
}

/// The password argument, or one line of stdin for "-".
fn read_password(arg: String) -> Result<String> {
    if arg != "-" {
        return Ok(arg);
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
    if read == 0 {
        bail!("--password - reads the password from stdin, but stdin is empty: send it as one line");
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        bail!("the password must be at least 8 characters long");
    }
    Ok(())
}

fn create(settings: &Settings, args: CreateArgs) -> Result<()> {
    let email = args.email.trim().to_string();
    check_email(&email)?;
    let password = read_password(args.password)?;
    // Everything the arguments can get wrong is checked before anything is written.
    check_password(&password)?;
    let license = args.license.as_deref().map(parse_license).transpose()?;
    let (first, last) = split_name(args.name.as_deref(), &email);
    let hash = relata_security::hash_password(&password).map_err(|e| anyhow!("cannot hash the password: {e}"))?;

    let org = open_admin(settings, Access::Create)?;
    if org.find_user_by_email(&email)?.is_some() {
        bail!("a user with the email {email} already exists");
    }
    let mut role_names = args.roles;
    if role_names.is_empty() && users_with_password(&org, true)?.is_empty() {
        role_names.push(SYSTEM_ADMINISTRATOR.to_string());
    }
    let root = org.ids.root_business_unit;

    // One transaction: the user, their roles and their password, or nothing.
    let (user_id, unit, roles) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            let bu = match &args.business_unit {
                Some(b) => units.find(b)?.id,
                None => root,
            };
            let all_roles = load_roles(s)?;
            let mut roles: Vec<Role> = Vec::new();
            for name in &role_names {
                let role = find_role(&all_roles, &units, name, Within::InheritedBy(bu))?;
                if !roles.iter().any(|r| r.id == role.id) {
                    roles.push(role.clone());
                }
            }
            let mut fields = vec![
                ("firstname".to_string(), Value::String(first)),
                ("lastname".to_string(), Value::String(last)),
                ("internalemailaddress".to_string(), Value::String(email.clone())),
                ("isdisabled".to_string(), Value::Bool(false)),
                ("businessunitid".to_string(), Value::Ref(EntityRef { entity: "businessunit".into(), id: bu })),
            ];
            if let Some(l) = license {
                let (caltype, accessmode) = l.user_columns();
                fields.push(("caltype".into(), Value::Int(caltype)));
                fields.push(("accessmode".into(), Value::Int(accessmode)));
            }
            let id = s.create("systemuser", RecordInput::new(fields))?;
            for role in &roles {
                s.associate("systemuser", id, "systemuserroles_association", "role", role.id)?;
            }
            s.set_password_hash(id, &hash)?;
            Ok((id, units.name(bu), roles))
        })
        .with_context(|| format!("cannot create the user {email}"))?;

    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    eprintln!(
        "created user {email} in '{unit}' ({} license){}",
        license.unwrap_or_default().name(),
        if names.is_empty() { " without roles".to_string() } else { format!(" with role(s): {}", names.join(", ")) }
    );
    println!("{user_id}");
    Ok(())
}

/// Changes columns of one user (found by email) through the pipeline.
fn update_user(org: &Org, email: &str, fields: Vec<(String, Value)>) -> Result<()> {
    org.write(&org.system_principal(), |s| -> Result<_> {
        let id = find_user(s, email)?;
        s.update("systemuser", id, RecordInput::new(fields), Condition::default(), false)?;
        Ok(())
    })
}

fn set_disabled(settings: &Settings, email: &str, disabled: bool) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let email = email.trim();
    let verb = if disabled { "disable" } else { "enable" };
    let forgotten = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let id = find_user(s, email)?;
            let input = RecordInput::new(vec![("isdisabled".into(), Value::Bool(disabled))]);
            s.update("systemuser", id, input, Condition::default(), false)?;
            // An enabled user can sign in: a lock-out ends too.
            Ok(if disabled { 0 } else { s.unlock_user(id)? })
        })
        .with_context(|| format!("cannot {verb} the user {email}"))?;
    println!("{verb}d user {email}{}", lockout_note(forgotten));
    Ok(())
}

fn lockout_note(forgotten: u32) -> String {
    match forgotten {
        0 => String::new(),
        n => format!(" and ended the sign-in lock-out ({n} failed sign-in(s) forgotten)"),
    }
}

fn unlock(settings: &Settings, email: &str) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let email = email.trim();
    let forgotten = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let id = find_user(s, email)?;
            Ok(s.unlock_user(id)?)
        })
        .with_context(|| format!("cannot unlock the user {email}"))?;
    if forgotten == 0 {
        println!("user {email} was not locked out (no failed sign-ins counted)");
    } else {
        println!("unlocked user {email} ({forgotten} failed sign-in(s) forgotten)");
    }
    Ok(())
}

fn set_license(settings: &Settings, email: &str, license: &str) -> Result<()> {
    let license = parse_license(license)?;
    let org = open_admin(settings, Access::Existing)?;
    let email = email.trim();
    let (caltype, accessmode) = license.user_columns();
    update_user(
        &org,
        email,
        vec![("caltype".into(), Value::Int(caltype)), ("accessmode".into(), Value::Int(accessmode))],
    )
    .with_context(|| format!("cannot change the license of {email}"))?;
    println!("user {email} now has the {} license", license.name());
    Ok(())
}

fn move_user(settings: &Settings, email: &str, business_unit: &str) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let email = email.trim();
    let (unit, dropped) = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let units = Units::load(s)?;
            let bu = units.find(business_unit)?;
            let id = find_user(s, email)?;
            let before = held_roles(s, "systemuser", id)?;
            let input = RecordInput::new(vec![(
                "businessunitid".into(),
                Value::Ref(EntityRef { entity: "businessunit".into(), id: bu.id }),
            )]);
            s.update("systemuser", id, input, Condition::default(), false)?;
            let after = held_roles(s, "systemuser", id)?;
            let names = load_roles(s)?;
            let dropped: Vec<String> = before
                .iter()
                .filter(|r| !after.contains(r))
                .map(|r| names.iter().find(|n| n.id == *r).map(|n| n.name.clone()).unwrap_or(r.to_string()))
                .collect();
            Ok((bu.name.clone(), dropped))
        })
        .with_context(|| format!("cannot move the user {email}"))?;
    if !dropped.is_empty() {
        eprintln!("roles the new business unit cannot hold were taken away: {}", dropped.join(", "));
    }
    println!("moved user {email} to '{unit}'");
    Ok(())
}

fn set_password(settings: &Settings, email: &str, password: String) -> Result<()> {
    let password = read_password(password)?;
    check_password(&password)?;
    let email = email.trim();
    let hash = relata_security::hash_password(&password).map_err(|e| anyhow!("cannot hash the password: {e}"))?;
    let org = open_admin(settings, Access::Existing)?;
    let forgotten = org
        .write(&org.system_principal(), |s| -> Result<_> {
            let id = find_user(s, email)?;
            // A new password ends a lock-out; count what it forgets first.
            let forgotten = s.unlock_user(id)?;
            s.set_password_hash(id, &hash)?;
            Ok(forgotten)
        })
        .with_context(|| format!("cannot set the password of {email}"))?;
    println!("changed the password of {email}{}", lockout_note(forgotten));
    Ok(())
}

fn check_email(email: &str) -> Result<()> {
    let valid = match email.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    };
    if !valid || email.chars().any(char::is_whitespace) {
        bail!("'{email}' is not a valid email address");
    }
    if email.chars().count() > 100 {
        bail!("the email address is longer than 100 characters");
    }
    Ok(())
}

/// "Ada King Lovelace" → ("Ada King", "Lovelace"); one word is a last name.
pub fn split_name(name: Option<&str>, email: &str) -> (String, String) {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    match name {
        Some(n) => match n.rsplit_once(char::is_whitespace) {
            Some((first, last)) => (first.trim().to_string(), last.trim().to_string()),
            None => (String::new(), n.to_string()),
        },
        None => (String::new(), email.split('@').next().unwrap_or(email).to_string()),
    }
}

fn list(settings: &Settings) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let with_password = users_with_password(&org, true)?;
    let (users, units) = org.read(&org.system_principal(), |s| -> Result<_> {
        let users = query_all(
            s,
            "systemuser",
            "$select=fullname,internalemailaddress,isdisabled,businessunitid,caltype,accessmode\
                 &$expand=systemuserroles_association($select=name)&$orderby=createdon",
        )
        .context("cannot read the users")?;
        Ok((users, Units::load(s)?))
    })?;

    let rows: Vec<[String; 7]> = users
        .iter()
        .map(|u| {
            let mut roles: Vec<String> = u
                .expanded
                .iter()
                .find(|(n, _)| n == "systemuserroles_association")
                .map(|(_, e)| match e {
                    Expanded::Collection(rs) => rs.iter().map(|r| text(r, "name")).collect(),
                    Expanded::Single(r) => r.iter().map(|r| text(r, "name")).collect(),
                })
                .unwrap_or_default();
            roles.sort();
            let bu = lookup(u, "businessunitid");
            let status = if u.get("isdisabled").and_then(Value::as_bool) == Some(true) {
                "disabled"
            } else if u.id == org.ids.system_user {
                "system"
            } else if bu.and_then(|b| units.get(b)).is_some_and(|b| b.disabled) {
                "disabled (business unit)"
            } else if with_password.contains(&u.id) {
                "active"
            } else {
                "no password"
            };
            let license = if u.id == org.ids.system_user { String::new() } else { license_of(u).name().to_string() };
            [
                u.id.to_string(),
                text(u, "internalemailaddress"),
                text(u, "fullname"),
                bu.map(|b| units.name(b)).unwrap_or_default(),
                license,
                status.to_string(),
                roles.join(", "),
            ]
        })
        .collect();
    print_table(&["ID", "EMAIL", "NAME", "BUSINESS UNIT", "LICENSE", "STATUS", "ROLES"], &rows);
    Ok(())
}

/// Left-aligned columns separated by two spaces.
pub fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths: [usize; N] = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::split_name;

    #[test]
    fn names_split_at_the_last_space() {
        assert_eq!(split_name(Some("Ada King Lovelace"), "a@x"), ("Ada King".into(), "Lovelace".into()));
        assert_eq!(split_name(Some("  Cher "), "a@x"), ("".into(), "Cher".into()));
        assert_eq!(split_name(None, "jane.doe@example.com"), ("".into(), "jane.doe".into()));
        assert_eq!(split_name(Some(" "), "bob@example.com"), ("".into(), "bob".into()));
    }
}
