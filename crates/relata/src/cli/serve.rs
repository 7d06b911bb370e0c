//! `relata serve`: the HTTP server until SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use relata_server::ServerConfig;
use tracing::info;

use crate::config::{Flags, Settings};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

/// Threads for engine work (every request's database work runs on one).
/// Tokio's default, 512, lets a burst of requests start hundreds of threads,
/// each keeping its own allocator heap and stack: memory that never comes
/// back. Requests beyond these wait in line instead; on SQLite they would
/// have waited for the writer or a reader anyway, and on PostgreSQL there
/// are no more pooled connections than this.
fn blocking_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (4 * cores).clamp(16, 64)
}

pub fn run(flags: &Flags) -> Result<()> {
    // The driver logs every PostgreSQL NOTICE (e.g. "already exists, skipping") at info.
    super::init_logging("info,postgres=warn,tokio_postgres=warn");
    let settings = Settings::load(flags)?;
    // A bad address fails before anything else is logged or touched.
    let listener = std::net::TcpListener::bind(&settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    listener.set_nonblocking(true).context("cannot configure the listening socket")?;
    log_settings(&settings);

    // The organization is opened and finally dropped outside the async
    // runtime: the PostgreSQL driver blocks on its own runtime in both.
    let org = Arc::new(super::open_org(&settings)?);
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| settings.listen.clone());
    info!(address = %local, backend = org.db().backend().name(), "listening");
    report_config_differences(&org, &settings)?;
    announce_setup(&org, &local)?;

    let jobs = (settings.job_workers > 0).then(|| {
        let config = relata_engine::jobs::RunnerConfig {
            workers: settings.job_workers as usize,
            lease: chrono::Duration::seconds(settings.job_lease_seconds as i64),
            ..Default::default()
        };
        info!(workers = config.workers, host = %config.host, "running background jobs");
        relata_engine::jobs::Runner::new(org.clone(), config).start()
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("relata")
        .max_blocking_threads(blocking_threads())
        .build()
        .context("cannot start the async runtime")?;
    let config = ServerConfig {
        max_body_bytes: settings.max_body_bytes,
        requests_per_minute: settings.requests_per_minute,
        sign_in: settings.sign_in_policy(),
        trust_forwarded_for: settings.trust_forwarded_for,
        metrics_token: settings.metrics_token.clone(),
    };
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener).context("cannot use the listening socket")?;
        // Handlers are installed before the first request is served, so a
        // SIGTERM that arrives at once still shuts down gracefully.
        let signals = Signals::install().context("cannot install signal handlers")?;
        relata_server::serve(org.clone(), config, listener, signals.wait()).await.context("the server failed")
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    // The job workers finish their current step before the database closes.
    drop(jobs);
    drop(org);
    served?;
    info!("stopped");
    Ok(())
}

fn log_settings(settings: &Settings) {
    info!(
        version = env!("CARGO_PKG_VERSION"),
        data_dir = %settings.data_dir.display(),
        listen = %settings.listen,
        database = %settings.database,
        max_body_bytes = settings.max_body_bytes,
        requests_per_minute = settings.requests_per_minute,
        organization_name = %settings.organization_name,
        base_currency = %settings.base_currency,
        config_file = %settings.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "(none)".into()),
        "starting relata"
    );
}

/// While nobody can sign in, prints a one-time link to the setup page.
fn announce_setup(org: &relata_engine::Org, local: &str) -> Result<()> {
    let Some(token) = org.issue_setup_token().context("cannot prepare the first-run setup")? else {
        return Ok(());
    };
    // A wildcard address is reached through the loopback one.
    let host = local.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]");
    let url = format!("http://{host}/setup?token={token}");
    info!(%url, "no user can sign in yet: open the setup link to create the organization and its administrator");
    eprintln!(
        "\nFirst run: open {url}\nto name the organization and create its administrator (the link works once).\n"
    );
    Ok(())
}

/// The organization's name and base currency belong to the database once
/// it exists; a configuration that says otherwise is pointed out.
fn report_config_differences(org: &relata_engine::Org, settings: &Settings) -> Result<()> {
    let defaults = relata_engine::OrgConfig::default();
    let base = org.ids.base_currency;
    let (name, code) = org
        .read(&org.system_principal(), |s| -> relata_engine::Result<(String, String)> {
            let name = super::query_all(s, "organization", "$select=name")?
                .first()
                .map(|r| super::text(r, "name"))
                .unwrap_or_default();
            let code = super::query_all(
                s,
                "transactioncurrency",
                &format!("$select=isocurrencycode&$filter=transactioncurrencyid eq {base}"),
            )?
            .first()
            .map(|r| super::text(r, "isocurrencycode"))
            .unwrap_or_default();
            Ok((name, code))
        })
        .context("cannot read the organization")?;
    if settings.organization_name != defaults.organization_name && settings.organization_name != name {
        tracing::warn!(
            configured = %settings.organization_name, database = %name,
            "organization_name in the configuration differs from the database's, which is used; change the name in Settings → Organization"
        );
    }
    if !settings.base_currency.eq_ignore_ascii_case(&defaults.base_currency)
        && !settings.base_currency.eq_ignore_ascii_case(&code)
    {
        tracing::warn!(
            configured = %settings.base_currency, database = %code,
            "base_currency in the configuration differs from the database's, which is used; it can be changed in Settings → Organization until amounts are recorded"
        );
    }
    Ok(())
}

/// SIGTERM and Ctrl-C, listened for from the moment they are installed.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Completes on the first Ctrl-C or SIGTERM.
    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => info!("received Ctrl-C; shutting down"),
            _ = self.terminate.recv() => info!("received SIGTERM; shutting down"),
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
            info!("received Ctrl-C; shutting down");
        }
        // Draining waits for in-flight requests; a second Ctrl-C stops at once.
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::warn!("received Ctrl-C again; exiting without waiting for requests");
                std::process::exit(130);
            }
        });
    }
}
