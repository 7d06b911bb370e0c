//! `relata user create|list`.

use std::io::BufRead;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use relata_engine::{EngineError, Org, RecordInput};
use relata_metadata::Value;
use relata_query::Expanded;
use uuid::Uuid;

use super::{open_org, query_all, text, users_with_password};
use crate::config::{Flags, Settings};

pub const SYSTEM_ADMINISTRATOR: &str = "System Administrator";

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user who can sign in; prints the new user's id
    Create(CreateArgs),
    /// List the users
    List,
}

#[derive(Args)]
pub struct CreateArgs {
    /// Sign-in email address
    #[arg(long)]
    pub email: String,
    /// Password (at least 8 characters); "-" reads one line from stdin
    #[arg(long)]
    pub password: String,
    /// Full name, "First Last" [default: the part of the email before @]
    #[arg(long)]
    pub name: Option<String>,
    /// Security role to assign, by name; repeatable. Without any, the first
    /// user who can sign in becomes System Administrator
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
}

pub fn run(flags: &Flags, cmd: UserCommand) -> Result<()> {
    super::init_logging("warn");
    let settings = Settings::load(flags)?;
    match cmd {
        UserCommand::Create(args) => create(&settings, args),
        UserCommand::List => list(&settings),
    }
}

fn create(settings: &Settings, args: CreateArgs) -> Result<()> {
    let email = args.email.trim().to_string();
    check_email(&email)?;
    let password = if args.password == "-" {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        args.password
    };
    // Checked before anything is written so a bad password leaves no user behind.
    if password.chars().count() < 8 {
        bail!("the password must be at least 8 characters long");
    }
    let (first, last) = split_name(args.name.as_deref(), &email);

    let org = open_org(settings)?;
    if org.find_user_by_email(&email)?.is_some() {
        bail!("a user with the email {email} already exists");
    }
    let mut role_names = args.roles;
    if role_names.is_empty() && users_with_password(&org, true)?.is_empty() {
        role_names.push(SYSTEM_ADMINISTRATOR.to_string());
    }
    let roles = resolve_roles(&org, &role_names)?;

    let fields = vec![
        ("firstname".to_string(), Value::String(first)),
        ("lastname".to_string(), Value::String(last)),
        ("internalemailaddress".to_string(), Value::String(email.clone())),
        ("isdisabled".to_string(), Value::Bool(false)),
    ];
    let user_id = org
        .write(&org.system_principal(), |s| {
            let id = s.create("systemuser", RecordInput::new(fields))?;
            for (_, role_id) in &roles {
                s.associate("systemuser", id, "systemuserroles_association", "role", *role_id)?;
            }
            Ok::<_, EngineError>(id)
        })
        .with_context(|| format!("cannot create the user {email}"))?;
    org.set_password(user_id, &password).with_context(|| format!("cannot set the password of {email}"))?;

    let names: Vec<&str> = roles.iter().map(|(n, _)| n.as_str()).collect();
    eprintln!(
        "created user {email}{}",
        if names.is_empty() { " without roles".to_string() } else { format!(" with role(s): {}", names.join(", ")) }
    );
    println!("{user_id}");
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

/// Role ids by name (case-insensitive), preferring the root business unit's.
fn resolve_roles(org: &Org, names: &[String]) -> Result<Vec<(String, Uuid)>> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let root = org.ids.root_business_unit;
    let roles = org
        .read(&org.system_principal(), |s| query_all(s, "role", "$select=name,businessunitid&$orderby=name"))
        .context("cannot read the security roles")?;
    let mut out: Vec<(String, Uuid)> = Vec::new();
    for wanted in names {
        let mut matches: Vec<_> =
            roles.iter().filter(|r| text(r, "name").eq_ignore_ascii_case(wanted.trim())).collect();
        matches.sort_by_key(|r| r.get("businessunitid").and_then(Value::as_uuid) != Some(root));
        let Some(role) = matches.first() else {
            let mut available: Vec<String> = roles.iter().map(|r| text(r, "name")).collect();
            available.dedup();
            bail!("there is no role named '{wanted}'; available roles: {}", available.join(", "));
        };
        if !out.iter().any(|(_, id)| *id == role.id) {
            out.push((text(role, "name"), role.id));
        }
    }
    Ok(out)
}

fn list(settings: &Settings) -> Result<()> {
    let org = open_org(settings)?;
    let with_password = users_with_password(&org, true)?;
    let users = org
        .read(&org.system_principal(), |s| {
            query_all(
                s,
                "systemuser",
                "$select=fullname,internalemailaddress,isdisabled&$expand=systemuserroles_association($select=name)&$orderby=createdon",
            )
        })
        .context("cannot read the users")?;

    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|u| {
            let roles = u
                .expanded
                .iter()
                .find(|(n, _)| n == "systemuserroles_association")
                .map(|(_, e)| match e {
                    Expanded::Collection(rs) => rs.iter().map(|r| text(r, "name")).collect::<Vec<_>>().join(", "),
                    Expanded::Single(r) => r.as_ref().map(|r| text(r, "name")).unwrap_or_default(),
                })
                .unwrap_or_default();
            let status = if u.get("isdisabled").and_then(Value::as_bool) == Some(true) {
                "disabled"
            } else if u.id == org.ids.system_user {
                "system"
            } else if with_password.contains(&u.id) {
                "active"
            } else {
                "no password"
            };
            [u.id.to_string(), text(u, "internalemailaddress"), text(u, "fullname"), status.to_string(), roles]
        })
        .collect();
    print_table(&["ID", "EMAIL", "NAME", "STATUS", "ROLES"], &rows);
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
