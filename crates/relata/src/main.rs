//! `relata`: the Relata CRM server and its administration commands.

mod cli;
mod config;

/// Many small allocations per request; mimalloc handles them with less
/// contention and fragmentation than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Flags;

const ENV_HELP: &str = "\
Settings are taken from, in order: command-line flags, environment variables
(RELATA_DATA_DIR, RELATA_LISTEN, RELATA_DATABASE_URL, RELATA_MAX_BODY_BYTES,
RELATA_REQUESTS_PER_MINUTE, RELATA_ORGANIZATION_NAME, RELATA_BASE_CURRENCY),
the TOML file given by --config (default: <data-dir>/relata.toml if present),
then built-in defaults. RELATA_LOG sets the log filter (default: info for
serve, which logs every request under relata::http; warn otherwise);
RELATA_LOG_FORMAT=json logs one JSON object per line. RELATA_PASSWORD gives
user create and user password their --password.

Every administrative command names the database it uses on stderr; commands
that read, or change what must already exist, never create one.";

#[derive(Parser)]
#[command(name = "relata", version, about = "Relata: a self-hosted CRM server with a Dataverse-compatible Web API", after_help = ENV_HELP)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct GlobalArgs {
    /// Directory holding the SQLite database and relata.toml [default: ./relata-data]
    #[arg(long, global = true, value_name = "DIR", help_heading = "Global options")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user:password@host:port/db); SQLite in the data directory when absent
    #[arg(long, global = true, value_name = "URL", help_heading = "Global options")]
    database_url: Option<String>,
    /// TOML configuration file [default: <data-dir>/relata.toml if it exists]
    #[arg(long, global = true, value_name = "FILE", help_heading = "Global options")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server
    Serve(cli::serve::ServeArgs),
    /// Manage users: create, list, disable, unlock, move between business units, licenses, passwords
    #[command(subcommand)]
    User(cli::user::UserCommand),
    /// Security roles: privileges with depths, and who holds them
    #[command(subcommand)]
    Role(cli::role::RoleCommand),
    /// Teams and their members
    #[command(subcommand)]
    Team(cli::team::TeamCommand),
    /// The business unit tree
    #[command(subcommand)]
    Bu(cli::bu::BuCommand),
    /// The audit log
    #[command(subcommand)]
    Audit(cli::audit::AuditCommand),
    /// License types and who holds them
    #[command(subcommand)]
    License(cli::license::LicenseCommand),
    /// Business modules and the pipeline steps they register
    #[command(subcommand)]
    Module(cli::module::ModuleCommand),
    /// Manage API bearer tokens
    #[command(subcommand)]
    Token(cli::token::TokenCommand),
    /// System jobs: list, cancel, retry
    #[command(subcommand)]
    Jobs(cli::jobs::JobsCommand),
    /// Exchange with 1C through a shared folder: import its files, export orders
    #[command(subcommand)]
    Exchange(cli::exchange::ExchangeCommand),
    /// Fill the database with a demo company and a year of its sales history
    #[command(long_about = cli::demo::ABOUT)]
    Demo(cli::demo::DemoArgs),
    /// Copy the SQLite database to a file while the server runs
    Backup(cli::backup::BackupArgs),
    /// Measure the HTTP API on a fresh database
    Bench(cli::bench::BenchArgs),
    /// The bench's raw limit server (see `relata bench --raw-limit`)
    #[command(hide = true)]
    BenchRawLimit(cli::bench_raw::RawLimitArgs),
    /// Custom entities
    #[command(subcommand)]
    Entity(cli::customize::EntityCommand),
    /// Custom columns on any entity
    #[command(subcommand)]
    Attribute(cli::customize::AttributeCommand),
}

fn main() -> ExitCode {
    // A bug must still end in one readable line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error{place}: {}", one_line(&msg));
    }));

    let cli = Cli::parse();
    let mut flags = Flags {
        data_dir: cli.global.data_dir,
        database_url: cli.global.database_url,
        config: cli.global.config,
        listen: None,
    };
    let result = match cli.command {
        Command::Serve(args) => {
            flags.listen = args.listen.clone();
            cli::serve::run(&flags)
        }
        Command::User(cmd) => cli::user::run(&flags, cmd),
        Command::Role(cmd) => cli::role::run(&flags, cmd),
        Command::Team(cmd) => cli::team::run(&flags, cmd),
        Command::Bu(cmd) => cli::bu::run(&flags, cmd),
        Command::Audit(cmd) => cli::audit::run(&flags, cmd),
        Command::License(cmd) => cli::license::run(&flags, cmd),
        Command::Module(cmd) => cli::module::run(cmd),
        Command::Token(cmd) => cli::token::run(&flags, cmd),
        Command::Jobs(cmd) => cli::jobs::run(&flags, cmd),
        Command::Exchange(cmd) => cli::exchange::run(&flags, cmd),
        Command::Demo(args) => cli::demo::run(&flags, args),
        Command::Backup(args) => cli::backup::run(&flags, args),
        Command::Bench(args) => cli::bench::run(&flags, args),
        Command::BenchRawLimit(args) => cli::bench_raw::run(args),
        Command::Entity(cmd) => cli::customize::run_entity(&flags, cmd),
        Command::Attribute(cmd) => cli::customize::run_attribute(&flags, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Errors from drivers can span lines; the CLI reports exactly one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
