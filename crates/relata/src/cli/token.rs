//! `relata token create|revoke|list`.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use uuid::Uuid;

use super::user::print_table;
use super::{open_admin, Access};
use crate::config::{Flags, Settings};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a bearer token for a user; the token is the last line printed
    Create(CreateArgs),
    /// Revoke a token by id
    Revoke {
        /// Token id (from `relata token list`)
        id: String,
    },
    /// List tokens
    List {
        /// Only the tokens of this user
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// Email of the user the token acts as
    #[arg(long)]
    pub email: String,
    /// A label to recognize the token by
    #[arg(long, default_value = "cli")]
    pub name: String,
    /// Days until the token expires [default: never]
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub expires_days: Option<u32>,
}

pub fn run(flags: &Flags, cmd: TokenCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    match cmd {
        TokenCommand::Create(args) => create(&settings, args),
        TokenCommand::Revoke { id } => revoke(&settings, &id),
        TokenCommand::List { email } => list(&settings, email.as_deref()),
    }
}

fn create(settings: &Settings, args: CreateArgs) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let user = org
        .find_user_by_email(args.email.trim())?
        .ok_or_else(|| anyhow!("there is no user with the email {}", args.email))?;
    let expires = args.expires_days.map(|d| Utc::now() + chrono::Duration::days(d as i64));
    let (id, token) = org.create_token(user, &args.name, expires).context("cannot create the token")?;
    println!("token id: {id}");
    println!(
        "expires: {}",
        expires.map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_else(|| "never".into())
    );
    // Scripts take the last line; keep the token there and nothing after it.
    println!("{token}");
    Ok(())
}

fn revoke(settings: &Settings, id: &str) -> Result<()> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| anyhow!("'{id}' is not a token id (a GUID)"))?;
    let org = open_admin(settings, Access::Existing)?;
    if !org.revoke_token(id).context("cannot revoke the token")? {
        bail!("there is no active token with id {id}");
    }
    println!("revoked token {id}");
    Ok(())
}

fn list(settings: &Settings, email: Option<&str>) -> Result<()> {
    let org = open_admin(settings, Access::Existing)?;
    let user = match email {
        Some(e) => {
            Some(org.find_user_by_email(e.trim())?.ok_or_else(|| anyhow!("there is no user with the email {e}"))?)
        }
        None => None,
    };
    let now = Utc::now();
    let date =
        |d: Option<DateTime<Utc>>| d.map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "-".into());
    let rows: Vec<[String; 6]> = org
        .list_tokens(user)
        .context("cannot read the tokens")?
        .into_iter()
        .map(|t| {
            let status = if t.revoked_on.is_some() {
                "revoked"
            } else if t.expires_on.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            };
            [t.id.to_string(), t.email, t.name, date(t.created_on), date(t.expires_on), status.to_string()]
        })
        .collect();
    print_table(&["ID", "EMAIL", "NAME", "CREATED", "EXPIRES", "STATUS"], &rows);
    Ok(())
}
