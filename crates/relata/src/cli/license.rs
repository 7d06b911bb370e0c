//! `relata license report`: who holds which license type.

use anyhow::{anyhow, Context, Result};
use clap::Subcommand;
use relata_metadata::Value;
use relata_security::{License, LICENSES};
use serde_json::json;

use super::bu::Units;
use super::user::print_table;
use super::{lookup, open_admin, query_all, text, Access};
use crate::config::{Flags, Settings};

#[derive(Subcommand)]
pub enum LicenseCommand {
    /// Users per license type: the counts, then the users of each type
    Report {
        /// One JSON document instead of tables
        #[arg(long)]
        json: bool,
    },
}

pub fn run(flags: &Flags, cmd: LicenseCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    match cmd {
        LicenseCommand::Report { json } => report(&settings, json),
    }
}

/// A license type by its command-line name, or the error listing them.
pub fn parse_license(s: &str) -> Result<License> {
    License::parse(s).ok_or_else(|| {
        let names: Vec<&str> = LICENSES.iter().map(|l| l.name()).collect();
        anyhow!("'{}' is not a license type; use one of {}", s.trim(), names.join(", "))
    })
}

/// The license of a user record (`caltype`, `accessmode`).
pub fn license_of(r: &relata_query::Record) -> License {
    let col = |n: &str| r.get(n).and_then(Value::as_i64).unwrap_or(0);
    License::from_user(col("caltype"), col("accessmode"))
}

struct Holder {
    id: uuid::Uuid,
    email: String,
    name: String,
    business_unit: String,
    disabled: bool,
}

fn report(settings: &Settings, as_json: bool) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let system_user = org.ids.system_user;
    let (users, units) = org.read(&org.system_principal(), |s| -> Result<_> {
        let units = Units::load(s)?;
        let users = query_all(
            s,
            "systemuser",
            "$select=internalemailaddress,fullname,caltype,accessmode,isdisabled,businessunitid&$orderby=internalemailaddress",
        )
        .context("cannot read the users")?;
        Ok((users, units))
    })?;
    // The SYSTEM user is the server itself, not someone who holds a license.
    let by_license: Vec<(License, Vec<Holder>)> = LICENSES
        .iter()
        .map(|l| {
            let holders = users
                .iter()
                .filter(|u| u.id != system_user && license_of(u) == *l)
                .map(|u| Holder {
                    id: u.id,
                    email: text(u, "internalemailaddress"),
                    name: text(u, "fullname"),
                    business_unit: lookup(u, "businessunitid").map(|b| units.name(b)).unwrap_or_default(),
                    disabled: u.get("isdisabled").and_then(Value::as_bool) == Some(true),
                })
                .collect();
            (*l, holders)
        })
        .collect();

    if as_json {
        let total: usize = by_license.iter().map(|(_, h)| h.len()).sum();
        let licenses: Vec<_> = by_license
            .iter()
            .map(|(l, holders)| {
                json!({
                    "license": l.name(),
                    "count": holders.len(),
                    "enabled": holders.iter().filter(|h| !h.disabled).count(),
                    "disabled": holders.iter().filter(|h| h.disabled).count(),
                    "users": holders.iter().map(|h| json!({
                        "id": h.id,
                        "email": h.email,
                        "name": h.name,
                        "businessunit": h.business_unit,
                        "disabled": h.disabled,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({ "total": total, "licenses": licenses }))?);
        return Ok(());
    }

    let mut counts: Vec<[String; 4]> = by_license
        .iter()
        .map(|(l, h)| {
            let disabled = h.iter().filter(|h| h.disabled).count();
            [l.name().to_string(), h.len().to_string(), (h.len() - disabled).to_string(), disabled.to_string()]
        })
        .collect();
    let total: usize = by_license.iter().map(|(_, h)| h.len()).sum();
    let total_disabled: usize = by_license.iter().flat_map(|(_, h)| h).filter(|h| h.disabled).count();
    counts.push(["total".into(), total.to_string(), (total - total_disabled).to_string(), total_disabled.to_string()]);
    print_table(&["LICENSE", "USERS", "ENABLED", "DISABLED"], &counts);
    for (l, holders) in by_license.iter().filter(|(_, h)| !h.is_empty()) {
        println!();
        println!("{} ({}):", l.name(), holders.len());
        let rows: Vec<[String; 4]> = holders
            .iter()
            .map(|h| {
                [
                    h.email.clone(),
                    h.name.clone(),
                    h.business_unit.clone(),
                    if h.disabled { "disabled" } else { "enabled" }.to_string(),
                ]
            })
            .collect();
        print_table(&["EMAIL", "NAME", "BUSINESS UNIT", "STATUS"], &rows);
    }
    Ok(())
}
