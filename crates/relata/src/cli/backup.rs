//! `relata backup`: an online, consistent copy of the SQLite database.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use relata_store::{Db, DbOptions};

use crate::config::{Database, Flags, Settings};

#[derive(Args)]
pub struct BackupArgs {
    /// File to write the copy to
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace the file if it exists
    #[arg(long)]
    pub force: bool,
}

pub fn run(flags: &Flags, args: BackupArgs) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    let path = match &settings.database {
        Database::Postgres(_) => bail!(
            "relata backup copies the embedded SQLite database only; back up PostgreSQL with pg_dump (e.g. pg_dump -Fc -f relata.dump <database>)"
        ),
        Database::Sqlite(path) => path.clone(),
    };
    let (location, kind) = super::describe_database(&settings.database);
    // Opening a missing file would create an empty database and "back it up".
    if !path.is_file() {
        bail!("there is no Relata database at {location}; {}", super::where_hint(&settings.database));
    }
    eprintln!("database: {location} ({kind})");
    if args.to.exists() && !args.force {
        bail!("{} already exists; remove it or pass --force", args.to.display());
    }
    if let Ok(dest) = args.to.canonicalize() {
        if path.canonicalize().is_ok_and(|src| src == dest) {
            bail!("the backup cannot overwrite the database itself");
        }
    }

    let db = Db::open_sqlite(&path, &DbOptions { max_connections: 1, ..Default::default() })
        .with_context(|| format!("cannot open the database at {}", path.display()))?;
    // Write next to the target and rename, so a failed copy never leaves a
    // file that looks like a good backup.
    let file_name = args.to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "backup".into());
    let partial = args.to.with_file_name(format!(".{file_name}.partial"));
    let _ = std::fs::remove_file(&partial);
    let started = std::time::Instant::now();
    let copied =
        db.backup_to(&partial).with_context(|| format!("cannot back up {} to {}", path.display(), args.to.display()));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &args.to)
        .with_context(|| format!("cannot move the backup into place at {}", args.to.display()))?;
    let size = std::fs::metadata(&args.to).map(|m| m.len()).unwrap_or(0);
    println!(
        "backed up {} to {} ({}, {:.1} s)",
        path.display(),
        args.to.display(),
        human_bytes(size),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
