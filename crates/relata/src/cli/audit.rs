//! `relata audit list`: the audit log, newest first.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use relata_engine::Session;
use relata_metadata::{OptionDef, Value};
use relata_query::options::parse_query_options;
use relata_query::Record;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::user::print_table;
use super::{find_user, lookup, odata_string, open_admin, text, user_labels, Access};
use crate::config::{Flags, Settings};

/// Most rows one call prints.
const MAX_LIMIT: usize = 100_000;
/// Rows read per page.
const PAGE: usize = 5000;
/// Characters of the change summary in the table.
const SUMMARY_CHARS: usize = 160;
/// Characters of one value in the change summary.
const VALUE_CHARS: usize = 40;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Audit records, newest first
    List(ListArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Only events about records of this entity (logical or entity set name)
    #[arg(long)]
    pub entity: Option<String>,
    /// Only events about this record (its id)
    #[arg(long, value_name = "GUID")]
    pub record: Option<String>,
    /// Only events caused by this user (email)
    #[arg(long, value_name = "EMAIL")]
    pub user: Option<String>,
    /// From this time on: YYYY-MM-DD (midnight UTC) or RFC 3339 (2024-05-01T12:00:00Z)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Up to this time: YYYY-MM-DD (the whole day) or RFC 3339
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only these events: create, update, delete, assign, share, set-state,
    /// assign-role-to-user, failed-sign-in, … or their numbers; comma-separated
    #[arg(long, value_name = "ACTION", value_delimiter = ',')]
    pub action: Vec<String>,
    /// At most this many records
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub limit: usize,
    /// One JSON array instead of a table, with the full change data
    #[arg(long)]
    pub json: bool,
}

pub fn run(flags: &Flags, cmd: AuditCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    match cmd {
        AuditCommand::List(args) => list(&settings, args),
    }
}

/// A time bound: a date (its start, or with `end_of_day` the start of the
/// next day) or an RFC 3339 time.
fn parse_time(flag: &str, s: &str, end_of_day: bool) -> Result<(DateTime<Utc>, bool)> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok((d.with_timezone(&Utc), false));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S") {
        return Ok((d.and_utc(), false));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let day = if end_of_day { d.succ_opt().ok_or_else(|| anyhow!("{flag}: '{s}' is out of range"))? } else { d };
        let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        return Ok((start, end_of_day));
    }
    bail!("{flag}: '{s}' is not a date (YYYY-MM-DD) or an RFC 3339 time (2024-05-01T12:00:00Z)")
}

/// `Assign Role To User` → `assign-role-to-user`.
fn action_name(label: &str) -> String {
    label.trim().to_ascii_lowercase().split_whitespace().collect::<Vec<_>>().join("-")
}

fn squash(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
}

/// The options of `audit.action`, from the schema.
fn action_options(s: &Session<'_, '_, '_>) -> Vec<OptionDef> {
    let Some(attr) = s.schema.entity("audit").and_then(|e| e.attribute("action")).cloned() else { return vec![] };
    if !attr.options.is_empty() {
        return attr.options.clone();
    }
    attr.option_set.as_deref().and_then(|n| s.schema.option_set(n)).map(|o| o.options.clone()).unwrap_or_default()
}

fn parse_action(options: &[OptionDef], s: &str) -> Result<i64> {
    let t = s.trim();
    let found = match t.parse::<i64>() {
        Ok(n) => options.iter().find(|o| o.value as i64 == n),
        Err(_) => options.iter().find(|o| squash(&o.label.en) == squash(t)),
    };
    match found {
        Some(o) => Ok(o.value as i64),
        None => {
            let names: Vec<String> = options
                .iter()
                .filter(|o| o.value != 0)
                .map(|o| format!("{} ({})", action_name(&o.label.en), o.value))
                .collect();
            bail!("'{t}' is not an audit action; use one of: {}", names.join(", "))
        }
    }
}

fn build_filter(s: &mut Session<'_, '_, '_>, args: &ListArgs) -> Result<Vec<String>> {
    let mut parts = Vec::new();
    if let Some(e) = &args.entity {
        let name = {
            let schema = &s.schema;
            schema
                .entity(e.trim())
                .or_else(|| schema.entity_by_set(e.trim()))
                .map(|x| x.name().to_string())
                .ok_or_else(|| anyhow!("there is no entity '{}'", e.trim()))?
        };
        parts.push(format!("objecttypecode eq {}", odata_string(&name)));
    }
    if let Some(r) = &args.record {
        let id = Uuid::parse_str(r.trim()).map_err(|_| anyhow!("--record: '{r}' is not a record id (a GUID)"))?;
        parts.push(format!("_objectid_value eq {id}"));
    }
    let since = args.since.as_deref().map(|t| parse_time("--since", t, false)).transpose()?;
    let until = args.until.as_deref().map(|t| parse_time("--until", t, true)).transpose()?;
    if let (Some((a, _)), Some((b, _))) = (since, until) {
        if a > b {
            bail!("--since is after --until");
        }
    }
    let fmt = |d: DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    if let Some((t, _)) = since {
        parts.push(format!("createdon ge {}", fmt(t)));
    }
    if let Some((t, next_day)) = until {
        parts.push(format!("createdon {} {}", if next_day { "lt" } else { "le" }, fmt(t)));
    }
    if !args.action.is_empty() {
        let options = action_options(s);
        let values: Vec<i64> = args.action.iter().map(|a| parse_action(&options, a)).collect::<Result<_>>()?;
        let ors: Vec<String> = values.iter().map(|v| format!("action eq {v}")).collect();
        parts.push(format!("({})", ors.join(" or ")));
    }
    if let Some(email) = &args.user {
        let id = find_user(s, email)?;
        parts.push(format!("_userid_value eq {id}"));
    }
    Ok(parts)
}

/// One line of what changed: `name=new`, `name: old -> new`, `name: old -> (none)`.
fn summary(changedata: &str) -> String {
    let Ok(doc) = serde_json::from_str::<Json>(changedata) else { return clip(changedata, SUMMARY_CHARS) };
    let Some(items) = doc.get("changedAttributes").and_then(Json::as_array) else { return String::new() };
    let val = |v: &Json| -> Option<String> {
        match v {
            Json::Null => None,
            Json::String(s) => Some(clip(s, VALUE_CHARS)),
            other => Some(clip(&other.to_string(), VALUE_CHARS)),
        }
    };
    items
        .iter()
        .map(|i| {
            let name = i.get("logicalName").and_then(Json::as_str).unwrap_or("?");
            match (i.get("oldValue").and_then(val), i.get("newValue").and_then(val)) {
                (None, Some(new)) => format!("{name}={new}"),
                (Some(old), None) => format!("{name}: {old} -> (none)"),
                (Some(old), Some(new)) if old == new => format!("{name}={new}"),
                (Some(old), Some(new)) => format!("{name}: {old} -> {new}"),
                (None, None) => name.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// At most `n` characters on one line.
fn clip(s: &str, n: usize) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() <= n {
        flat
    } else {
        format!("{}…", flat.chars().take(n.saturating_sub(1)).collect::<String>())
    }
}

fn list(settings: &Settings, args: ListArgs) -> Result<()> {
    if args.limit == 0 || args.limit > MAX_LIMIT {
        bail!("--limit must be between 1 and {MAX_LIMIT}");
    }
    let org = open_admin(settings, Access::Existing)?;
    let (records, labels, options) = org.read(&org.system_principal(), |s| -> Result<_> {
        let parts = build_filter(s, &args)?;
        let mut query = String::from(
            "$select=createdon,action,operation,objectid,objecttypecode,userid,changedata,attributemask,useradditionalinfo\
             &$orderby=createdon desc,auditid desc",
        );
        if !parts.is_empty() {
            query.push_str("&$filter=");
            query.push_str(&parts.join(" and "));
        }
        let mut opts = parse_query_options(&query).map_err(|e| anyhow!("{query}: {}", e.message))?;
        let mut records: Vec<Record> = Vec::new();
        loop {
            let want = (args.limit - records.len()).min(PAGE);
            let page = s.query("audit", &opts, Some(want), None).context("cannot read the audit log")?;
            records.extend(page.records);
            match page.skiptoken {
                Some(t) if records.len() < args.limit => opts.skiptoken = Some(t),
                _ => break,
            }
        }
        records.truncate(args.limit);
        Ok((records, user_labels(s)?, action_options(s)))
    })?;
    let action_label = |n: i64| {
        options.iter().find(|o| o.value as i64 == n).map(|o| action_name(&o.label.en)).unwrap_or_else(|| n.to_string())
    };
    let time = |r: &Record| {
        r.get("createdon")
            .and_then(Value::as_datetime)
            .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let user = |r: &Record| lookup(r, "userid").map(|u| labels.get(&u).cloned().unwrap_or(u.to_string()));
    if args.json {
        let out: Vec<Json> = records
            .iter()
            .map(|r| {
                let action = r.get("action").and_then(Value::as_i64).unwrap_or(0);
                let changes = r.get("changedata").and_then(Value::as_str).map(|c| {
                    serde_json::from_str::<Json>(c)
                        .ok()
                        .and_then(|d| d.get("changedAttributes").cloned())
                        .unwrap_or(Json::String(c.to_string()))
                });
                json!({
                    "id": r.id,
                    "createdon": time(r),
                    "action": action,
                    "actionname": action_label(action),
                    "operation": r.get("operation").and_then(Value::as_i64),
                    "entity": r.get("objecttypecode").and_then(Value::as_str),
                    "record": lookup(r, "objectid"),
                    "userid": lookup(r, "userid"),
                    "user": user(r),
                    "changes": changes,
                    "attributemask": r.get("attributemask").and_then(Value::as_str),
                    "useradditionalinfo": r.get("useradditionalinfo").and_then(Value::as_str),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let rows: Vec<[String; 6]> = records
        .iter()
        .map(|r| {
            let action = r.get("action").and_then(Value::as_i64).unwrap_or(0);
            let mut changes = match r.get("changedata").and_then(Value::as_str) {
                Some(c) => summary(c),
                None => text(r, "attributemask"),
            };
            let info = text(r, "useradditionalinfo");
            if !info.is_empty() {
                changes = if changes.is_empty() { info } else { format!("{changes} [{info}]") };
            }
            [
                time(r),
                action_label(action),
                text(r, "objecttypecode"),
                lookup(r, "objectid").map(|u| u.to_string()).unwrap_or_default(),
                user(r).unwrap_or_default(),
                clip(&changes, SUMMARY_CHARS),
            ]
        })
        .collect();
    print_table(&["TIME", "ACTION", "ENTITY", "RECORD", "USER", "CHANGES"], &rows);
    if rows.len() == args.limit {
        eprintln!("showing the newest {} records; use --limit for more", args.limit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_summaries_are_compact() {
        let c = r#"{"changedAttributes":[{"logicalName":"name","oldValue":null,"newValue":"A"},
            {"logicalName":"revenue","oldValue":"1","newValue":"2"},{"logicalName":"fax","oldValue":"x","newValue":null}]}"#;
        assert_eq!(summary(c), "name=A; revenue: 1 -> 2; fax: x -> (none)");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("a\nb", 4), "a b");
    }

    #[test]
    fn times_and_dates() {
        let (t, next) = parse_time("--until", "2024-02-28", true).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-02-29T00:00:00+00:00");
        assert!(next);
        let (t, _) = parse_time("--since", "2024-05-01T14:00:00+02:00", false).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T12:00:00+00:00");
        assert!(parse_time("--since", "2024-13-01", false).is_err());
        assert!(parse_time("--since", "yesterday", false).is_err());
    }

    #[test]
    fn action_names() {
        assert_eq!(action_name("Assign Role To User"), "assign-role-to-user");
        assert_eq!(squash("set-state"), squash("Set State"));
    }
}
