//! `relata module list`: the business modules compiled into this binary,
//! the pipeline steps each registers, in the order the engine runs them,
//! and the actions and functions of the catalog.

use anyhow::{Context, Result};
use clap::Subcommand;
use relata_engine::modules::{self, Modules};
use serde_json::json;

use super::user::print_table;

#[derive(Subcommand)]
pub enum ModuleCommand {
    /// The modules in registration order, every step by message, stage and rank, and the actions
    List {
        /// One JSON document instead of tables
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: ModuleCommand) -> Result<()> {
    super::init_cli_logging();
    match cmd {
        ModuleCommand::List { json } => list(json),
    }
}

fn list(as_json: bool) -> Result<()> {
    // The modules are part of the binary, so no database is needed to list them.
    let modules = Modules::build(&modules::standard()).context("the standard modules do not register")?;
    let steps = modules.pipeline().steps();
    if as_json {
        let steps: Vec<_> = steps
            .iter()
            .map(|s| {
                json!({
                    "module": s.module,
                    "name": s.name,
                    "message": s.message.name(),
                    "entity": s.entity,
                    "stage": s.stage.name(),
                    "mode": s.mode.name(),
                    "rank": s.rank,
                    "filteringattributes": s.filtering_attributes,
                    "description": s.description,
                })
            })
            .collect();
        let actions: Vec<_> = modules
            .actions()
            .iter()
            .map(|a| {
                let params = |ps: &[relata_engine::modules::Parameter]| -> Vec<_> {
                    ps.iter().map(|p| json!({"name": p.name, "type": p.kind.edm(), "optional": p.optional})).collect()
                };
                json!({
                    "module": a.module,
                    "name": a.name,
                    "kind": if a.is_function { "function" } else { "action" },
                    "bindingtype": a.binding.number(),
                    "boundentity": a.binding.entity(),
                    "privilege": a.privilege,
                    "parameters": params(&a.parameters),
                    "response": params(a.response()),
                    "description": a.description,
                })
            })
            .collect();
        let endpoints: Vec<serde_json::Value> =
            modules.endpoints().iter().map(|e| json!({"path": e.path, "module": e.module})).collect();
        println!(
            "{:#}",
            json!({ "modules": modules.names(), "steps": steps, "actions": actions, "endpoints": endpoints })
        );
        return Ok(());
    }
    println!("modules: {}", modules.names().join(", "));
    println!();
    let mut rows: Vec<[String; 8]> = steps
        .iter()
        .map(|s| {
            [
                s.message.name().to_string(),
                s.entity.unwrap_or("*").to_string(),
                s.stage.name().to_string(),
                s.rank.to_string(),
                s.mode.name().to_string(),
                s.module.to_string(),
                s.name.to_string(),
                s.filtering_attributes.join(","),
            ]
        })
        .collect();
    // By message, then entity, then the order the pipeline runs them in.
    rows.sort_by(|a, b| (&a[0], &a[1]).cmp(&(&b[0], &b[1])));
    print_table(&["MESSAGE", "ENTITY", "STAGE", "RANK", "MODE", "MODULE", "STEP", "FILTERING"], &rows);
    println!("\n{} steps\n", rows.len());
    let rows: Vec<[String; 6]> = modules
        .actions()
        .iter()
        .map(|a| {
            let params: Vec<String> = a
                .parameters
                .iter()
                .map(|p| format!("{}{}: {}", p.name, if p.optional { "?" } else { "" }, p.kind.edm()))
                .collect();
            [
                a.name.to_string(),
                (if a.is_function { "function" } else { "action" }).to_string(),
                a.binding.entity().unwrap_or("(unbound)").to_string(),
                a.privilege.unwrap_or("").to_string(),
                a.module.to_string(),
                params.join(", "),
            ]
        })
        .collect();
    print_table(&["ACTION", "KIND", "BOUND TO", "PRIVILEGE", "MODULE", "PARAMETERS"], &rows);
    println!("\n{} actions", rows.len());
    let rows: Vec<[String; 2]> =
        modules.endpoints().iter().map(|e| [e.path.to_string(), e.module.to_string()]).collect();
    if !rows.is_empty() {
        println!();
        print_table(&["ENDPOINT", "MODULE"], &rows);
    }
    Ok(())
}
