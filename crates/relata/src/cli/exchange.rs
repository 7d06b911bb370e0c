//! `relata exchange import|export-orders`: the exchange with 1C through a
//! shared folder instead of HTTP. Files are imported exactly as over HTTP
//! (step by step, each step a transaction, through a node's identifiers
//! and log); orders are written as 1C's `sale/query` would answer.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use indicatif::ProgressBar;

use super::{open_admin, Access};
use crate::config::{Flags, Settings};

#[derive(Subcommand)]
pub enum ExchangeCommand {
    /// Import CommerceML files 1C wrote (catalog, offers, prices, stock,
    /// order statuses), in the order given
    Import {
        /// The files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The exchange node, by name [default: the default node]
        #[arg(long)]
        node: Option<String>,
        /// Report what each file would change (in the node's log, with a
        /// result per record) and write nothing; each file is judged alone
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the orders 1C has not received yet as CommerceML
    ExportOrders {
        /// Where to write [default: standard output]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// CommerceML version 1C reads: 2.03 … 2.10 or 3.1
        #[arg(long, default_value = "2.08")]
        version: String,
        /// The exchange node, by name [default: the default node]
        #[arg(long)]
        node: Option<String>,
        /// Do not count them as delivered (the next export sends them again)
        #[arg(long)]
        keep: bool,
    },
}

pub fn run(flags: &Flags, cmd: ExchangeCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    let org = open_admin(&settings, Access::Existing)?;
    match cmd {
        ExchangeCommand::Import { files, node, dry_run } => {
            for path in files {
                let mut file = std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let pb = ProgressBar::new(0);
                pb.set_style(super::progress_style("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})"));
                pb.set_message(name.clone());
                pb.enable_steady_tick(Duration::from_millis(200));
                let result = org.exchange_import(node.as_deref(), &name, &mut file, dry_run, &mut |p| {
                    pb.set_length(p.size);
                    pb.set_position(p.read);
                    pb.set_message(format!("{name}: {} items", p.items));
                });
                pb.finish_and_clear();
                let summary = result.with_context(|| format!("{} was not imported", path.display()))?;
                println!("{summary}");
            }
            if let Some(retired) = org.exchange_settle(node.as_deref())? {
                println!("{retired} products the full unload left out were retired");
            }
            Ok(())
        }
        ExchangeCommand::ExportOrders { out, version, node, keep } => {
            let (xml, count) = org.exchange_export_orders(node.as_deref(), &version, !keep)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &xml).with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("{count} orders written to {}", path.display());
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&xml)?;
                }
            }
            Ok(())
        }
    }
}
