//! `relata jobs list|cancel|retry`: the system jobs, as Settings → System
//! Jobs shows them.

use anyhow::{Context, Result};
use clap::Subcommand;
use relata_engine::{Condition, RecordInput};
use relata_metadata::Value;
use uuid::Uuid;

use super::user::print_table;
use super::{open_admin, query_all, text, Access};
use crate::config::{Flags, Settings};

#[derive(Subcommand)]
pub enum JobsCommand {
    /// List system jobs, newest first
    List {
        /// Only jobs in this state: ready, suspended, locked, completed
        #[arg(long)]
        state: Option<String>,
        /// Only failed jobs
        #[arg(long)]
        failed: bool,
        /// At most this many jobs
        #[arg(long, default_value_t = 50)]
        top: usize,
    },
    /// Cancel a waiting or running job
    Cancel {
        /// Job id (from `relata jobs list`)
        id: Uuid,
    },
    /// Run a failed, canceled or waiting job again now
    Retry {
        /// Job id (from `relata jobs list`)
        id: Uuid,
    },
}

pub fn run(flags: &Flags, cmd: JobsCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    let org = open_admin(&settings, Access::Existing)?;
    let admin = org.system_principal();
    match cmd {
        JobsCommand::List { state, failed, top } => {
            let mut filters = Vec::new();
            if let Some(s) = state {
                let code = match s.to_ascii_lowercase().as_str() {
                    "ready" => 0,
                    "suspended" | "waiting" => 1,
                    "locked" | "running" => 2,
                    "completed" => 3,
                    other => anyhow::bail!("unknown state '{other}': use ready, suspended, locked or completed"),
                };
                filters.push(format!("statecode eq {code}"));
            }
            if failed {
                filters.push("statuscode eq 31".into());
            }
            let mut query = format!(
                "$select=name,statecode,statuscode,postponeuntil,retrycount,message,relata_jobtype&$orderby=createdon desc&$top={top}"
            );
            if !filters.is_empty() {
                query.push_str(&format!("&$filter={}", filters.join(" and ")));
            }
            let rows =
                org.read(&admin, |s| query_all(s, "asyncoperation", &query)).context("cannot read the system jobs")?;
            let table: Vec<[String; 6]> = rows
                .iter()
                .take(top)
                .map(|r| {
                    let due = r.get("postponeuntil").and_then(Value::as_datetime);
                    [
                        r.id.to_string(),
                        text(r, "name"),
                        status_name(r.get("statuscode").and_then(Value::as_i64)).into(),
                        due.map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default(),
                        r.get("retrycount").and_then(Value::as_i64).unwrap_or(0).to_string(),
                        text(r, "message").chars().take(120).collect(),
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "STATUS", "DUE", "RETRIES", "MESSAGE"], &table);
            Ok(())
        }
        JobsCommand::Cancel { id } => {
            set_state(&org, id, 3).context("cannot cancel the job")?;
            println!("job {id} canceled");
            Ok(())
        }
        JobsCommand::Retry { id } => {
            set_state(&org, id, 0).context("cannot retry the job")?;
            println!("job {id} will run again");
            Ok(())
        }
    }
}

fn set_state(org: &relata_engine::Org, id: Uuid, statecode: i64) -> relata_engine::Result<()> {
    org.write(&org.system_principal(), |s| {
        let input = RecordInput::new(vec![("statecode".into(), Value::Int(statecode))]);
        s.update("asyncoperation", id, input, Condition::default(), false).map(|_| ())
    })
}

fn status_name(code: Option<i64>) -> &'static str {
    match code {
        Some(0) => "Waiting For Resources",
        Some(10) => "Waiting",
        Some(20) => "In Progress",
        Some(21) => "Pausing",
        Some(22) => "Canceling",
        Some(30) => "Succeeded",
        Some(31) => "Failed",
        Some(32) => "Canceled",
        _ => "",
    }
}
