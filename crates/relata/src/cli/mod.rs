//! The subcommands and what they share: opening the database and logging.

pub mod audit;
pub mod backup;
pub mod bench;
mod bench_exchange;
mod bench_jobs;
pub mod bench_raw;
mod bench_sales;
mod bench_ui;
pub mod bu;
pub mod customize;
pub mod demo;
pub mod exchange;
pub mod jobs;
pub mod license;
pub mod module;
pub mod role;
pub mod serve;
pub mod team;
pub mod token;
pub mod user;

use std::io::IsTerminal;

use anyhow::{bail, Context, Result};
use relata_engine::{EngineError, Org, OrgConfig, Session};
use relata_metadata::Value;
use relata_query::options::parse_query_options;
use relata_query::Record;
use relata_store::{Db, DbOptions, Storage};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

use crate::config::{Database, Settings};

/// The store's notes on writes and checkpoints that held the shared
/// writer long tell a server's operator about contention; from a command
/// that ran once they are noise (its write may just have waited for a busy
/// server), so the one-shot commands leave them out unless `RELATA_LOG`
/// names the store.
const CLI_QUIET: &str = ",relata_store::group=error,relata_store::db=error";

/// Logging for the one-shot commands: warnings (or what `RELATA_LOG`
/// says), without the store's contention notes.
pub fn init_cli_logging() {
    let mut spec = std::env::var("RELATA_LOG").unwrap_or_else(|_| "warn".to_string());
    if !spec.contains("relata_store") {
        spec.push_str(CLI_QUIET);
    }
    install_logging(EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("warn")));
}

/// Logging for `serve`: `RELATA_LOG`, or `default_filter`.
pub fn init_logging(default_filter: &str) {
    install_logging(EnvFilter::try_from_env("RELATA_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter)));
}

/// Logs go to stderr so that stdout carries only results (ids, tokens).
/// `RELATA_LOG_FORMAT=json` gives one JSON object per line.
fn install_logging(filter: EnvFilter) {
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if std::env::var("RELATA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().try_init()
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).try_init()
    };
}

/// Connects to the configured database without touching its contents.
pub fn open_db(settings: &Settings, opts: &DbOptions) -> Result<Db> {
    match &settings.database {
        Database::Sqlite(path) => {
            std::fs::create_dir_all(&settings.data_dir)
                .with_context(|| format!("cannot create the data directory {}", settings.data_dir.display()))?;
            Db::open_sqlite(path, opts).with_context(|| format!("cannot open the database at {}", path.display()))
        }
        Database::Postgres(url) => Db::open_postgres(url, opts)
            .with_context(|| format!("cannot connect to the database at {}", settings.database)),
    }
}

/// Opens the organization, migrating and seeding a new database.
pub fn open_org_with(settings: &Settings, opts: &DbOptions) -> Result<Org> {
    org_on(settings, open_db(settings, opts)?)
}

fn org_on(settings: &Settings, db: Db) -> Result<Org> {
    let config = OrgConfig {
        organization_name: settings.organization_name.clone(),
        base_currency: settings.base_currency.clone(),
        mail: settings.mail.settings()?,
        ..OrgConfig::default()
    };
    Org::open(db, &config).with_context(|| format!("cannot set up the database at {}", settings.database))
}

pub fn open_org(settings: &Settings) -> Result<Org> {
    open_org_with(settings, &DbOptions::default())
}

/// What an administrative command needs of the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads, or changes what must already be there (a user, a role): the
    /// database must exist; a wrong data directory is an error, never a
    /// new empty database.
    Existing,
    /// Adds something (the first user, a business unit, demo data), so it
    /// may start a new database.
    Create,
}

/// How to point a command at the right database, for error messages.
pub fn where_hint(database: &Database) -> &'static str {
    match database {
        Database::Sqlite(_) => {
            "point at the right data directory with --data-dir DIR, RELATA_DATA_DIR or data_dir in relata.toml \
             (or at PostgreSQL with --database-url)"
        }
        Database::Postgres(_) => {
            "point at the right database with --database-url URL, RELATA_DATABASE_URL or database_url in relata.toml"
        }
    }
}

/// The database as an operator reads it: the SQLite file's absolute path,
/// or the PostgreSQL URL without its password; then its kind.
pub fn describe_database(database: &Database) -> (String, &'static str) {
    match database {
        Database::Sqlite(path) => (absolute(path).display().to_string(), "SQLite"),
        Database::Postgres(url) => (crate::config::mask_url(url), "PostgreSQL"),
    }
}

/// `path` from the root: through its directory's real location when that
/// exists (no `..` or symbolic links left), else joined to the current one.
fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    let real_dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    match (real_dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Opens the organization for an administrative command and says on
/// stderr, in one line, which database it uses. With [`Access::Existing`]
/// a missing SQLite file, or a database without Relata's tables, is an
/// error naming it instead of a new database.
pub fn open_admin(settings: &Settings, access: Access) -> Result<Org> {
    let (location, kind) = describe_database(&settings.database);
    let hint = where_hint(&settings.database);
    if let (Database::Sqlite(path), Access::Existing) = (&settings.database, access) {
        if !path.is_file() {
            bail!(
                "there is no Relata database at {location}; {hint}. A new one is made by relata serve, \
                 relata user create or relata demo"
            );
        }
    }
    let db = open_db(settings, &DbOptions::default())?;
    let set_up = !db
        .read(|tx| tx.table_columns("relata_migration"))
        .with_context(|| format!("cannot read the database at {location}"))?
        .is_empty();
    if !set_up && access == Access::Existing {
        bail!("the {kind} database at {location} holds no Relata data; {hint}");
    }
    let org = org_on(settings, db)?;
    eprintln!("database: {location} ({kind}{})", if set_up { "" } else { ", new" });
    Ok(org)
}

/// A bar style with `{rate}`: whole items per second.
pub fn progress_style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        })
        .progress_chars("=> ")
}

/// Every record of a query (`$select=…&$filter=…` syntax), page by page.
pub fn query_all(s: &mut Session<'_, '_, '_>, entity: &str, query: &str) -> relata_engine::Result<Vec<Record>> {
    let mut opts = parse_query_options(query).map_err(|e| EngineError::Invalid(format!("{query}: {}", e.message)))?;
    let mut out = Vec::new();
    loop {
        let page = s.query(entity, &opts, None, None)?;
        out.extend(page.records);
        match page.skiptoken {
            Some(t) => opts.skiptoken = Some(t),
            None => return Ok(out),
        }
    }
}

/// Users who have a password (only the enabled ones unless
/// `include_disabled`), oldest first.
pub fn users_with_password(org: &Org, include_disabled: bool) -> Result<Vec<Uuid>> {
    let rows = org
        .db()
        .read(|tx| {
            tx.query(
                "SELECT u.systemuserid, u.isdisabled FROM relata_credential c
                 JOIN systemuser u ON u.systemuserid = c.systemuserid ORDER BY u.createdon, u.systemuserid",
                &[],
                &[Storage::Uuid, Storage::Bool],
            )
        })
        .context("cannot read the users")?;
    Ok(rows
        .into_iter()
        .filter(|r| include_disabled || r[1].as_bool() != Some(true))
        .filter_map(|r| r[0].as_uuid())
        .collect())
}

pub fn text(r: &Record, name: &str) -> String {
    r.get(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

pub use relata_query::options::string_literal as odata_string;

/// A user by sign-in email (case-insensitive), read in the caller's transaction.
pub fn find_user(s: &mut Session<'_, '_, '_>, email: &str) -> Result<Uuid> {
    let email = email.trim();
    let query = format!("$select=systemuserid&$filter=internalemailaddress eq {}", odata_string(email));
    let users = query_all(s, "systemuser", &query).context("cannot read the users")?;
    match users.as_slice() {
        [u] => Ok(u.id),
        [] => bail!("there is no user with the email {email}"),
        _ => bail!("{} users have the email {email}", users.len()),
    }
}

/// Emails (or full names, for users without one) by user id.
pub fn user_labels(s: &mut Session<'_, '_, '_>) -> Result<std::collections::HashMap<Uuid, String>> {
    let users = query_all(s, "systemuser", "$select=internalemailaddress,fullname").context("cannot read the users")?;
    Ok(users
        .iter()
        .map(|u| {
            let email = text(u, "internalemailaddress");
            (u.id, if email.is_empty() { text(u, "fullname") } else { email })
        })
        .collect())
}

/// The id of a lookup column in a record.
pub fn lookup(r: &Record, name: &str) -> Option<Uuid> {
    r.get(name).and_then(Value::as_uuid)
}

/// "a, b, c" of at most `max` items, then "… (N more)".
pub fn some_of(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{}, … ({} more)", items[..max].join(", "), items.len() - max)
}
