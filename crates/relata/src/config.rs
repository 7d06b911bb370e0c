//! Effective settings: command-line flags > environment variables > the
//! TOML file > built-in defaults.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

pub const DEFAULT_DATA_DIR: &str = "./relata-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const CONFIG_FILE_NAME: &str = "relata.toml";
pub const SQLITE_FILE_NAME: &str = "relata.db";

/// What the command line said; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
}

/// Keys of the TOML file, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    database_url: Option<String>,
    max_body_bytes: Option<usize>,
    requests_per_minute: Option<u32>,
    signin_max_failures: Option<u32>,
    signin_max_failures_per_address: Option<u32>,
    signin_lockout_minutes: Option<u64>,
    token_lifetime_minutes: Option<u64>,
    trust_forwarded_for: Option<bool>,
    metrics_token: Option<String>,
    job_workers: Option<u64>,
    job_lease_seconds: Option<u64>,
    organization_name: Option<String>,
    base_currency: Option<String>,
    mail: Option<FileMail>,
}

/// `[mail]` of the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMail {
    smtp_url: Option<String>,
    imap_url: Option<String>,
    from_address: Option<String>,
    trusted_ca_file: Option<PathBuf>,
    poll_minutes: Option<u32>,
}

/// The organization's mail servers (`[mail]`, `RELATA_SMTP_URL`…).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailConfig {
    pub smtp_url: Option<String>,
    pub imap_url: Option<String>,
    pub from_address: Option<String>,
    pub trusted_ca_file: Option<PathBuf>,
    pub poll_minutes: u32,
}

impl MailConfig {
    /// What the organization is given: the CA file read.
    pub fn settings(&self) -> Result<relata_engine::MailSettings> {
        let trusted_ca_pem = match &self.trusted_ca_file {
            Some(path) => Some(
                std::fs::read(path).with_context(|| format!("cannot read the trusted CA file {}", path.display()))?,
            ),
            None => None,
        };
        if let Some(pem) = &trusted_ca_pem {
            relata_mail::TrustedRoots::with_pem(pem.clone()).map_err(|e| anyhow!("{e}"))?;
        }
        Ok(relata_engine::MailSettings {
            smtp_url: self.smtp_url.clone(),
            imap_url: self.imap_url.clone(),
            from_address: self.from_address.clone(),
            trusted_ca_pem,
            poll_minutes: self.poll_minutes,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl fmt::Display for Database {
    /// Safe to log: passwords are masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Database::Postgres(url) => f.write_str(&mask_url(url)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: String,
    pub database: Database,
    pub max_body_bytes: usize,
    pub requests_per_minute: u32,
    /// Failed sign-ins per account (and per address) within the lockout
    /// window before further attempts are refused.
    pub signin_max_failures: u32,
    pub signin_max_failures_per_address: u32,
    pub signin_lockout_minutes: u64,
    /// Life of the tokens `/oauth2/token` issues.
    pub token_lifetime_minutes: u64,
    /// Take client addresses from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
    /// Opens `/metrics` to remote scrapers that send it as a bearer token;
    /// without it only loopback clients read metrics.
    pub metrics_token: Option<String>,
    /// Threads running background jobs in this process (0: none — another
    /// process sharing the database runs them).
    pub job_workers: u64,
    /// How long a job stays with a process that stopped answering before
    /// another process takes it over.
    pub job_lease_seconds: u64,
    pub organization_name: String,
    pub base_currency: String,
    pub mail: MailConfig,
    /// The TOML file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl Settings {
    /// The sign-in policy these settings describe.
    pub fn sign_in_policy(&self) -> relata_engine::SignInPolicy {
        relata_engine::SignInPolicy {
            max_failures_per_account: self.signin_max_failures,
            max_failures_per_address: self.signin_max_failures_per_address,
            window: std::time::Duration::from_secs(self.signin_lockout_minutes * 60),
            token_lifetime: std::time::Duration::from_secs(self.token_lifetime_minutes * 60),
        }
    }

    /// Resolves the settings from the real process environment.
    pub fn load(flags: &Flags) -> Result<Settings> {
        resolve(flags, &|k| std::env::var(k).ok())
    }
}

/// `env` looks up an environment variable; empty values count as unset.
pub fn resolve(flags: &Flags, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());

    // The file is located before its own keys are known, so only flags and
    // the environment can say where the default one lives.
    let early_dir = flags.data_dir.clone().or_else(|| env("RELATA_DATA_DIR").map(PathBuf::from));
    let (file, config_file) = match &flags.config {
        Some(path) => (read_file(path)?, Some(path.clone())),
        None => {
            let path = early_dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)).join(CONFIG_FILE_NAME);
            if path.is_file() {
                (read_file(&path)?, Some(path))
            } else {
                (FileConfig::default(), None)
            }
        }
    };
    // Relative paths in a file mean relative to that file.
    let file_base = config_file.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();

    let data_dir = early_dir
        .or_else(|| file.data_dir.as_ref().map(|d| if d.is_absolute() { d.clone() } else { file_base.join(d) }))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let listen = flags
        .listen
        .clone()
        .or_else(|| env("RELATA_LISTEN"))
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let database_url = flags.database_url.clone().or_else(|| env("RELATA_DATABASE_URL")).or(file.database_url);
    let max_body_bytes = match env("RELATA_MAX_BODY_BYTES") {
        Some(v) => parse_number("RELATA_MAX_BODY_BYTES", &v)?,
        None => file.max_body_bytes.unwrap_or(relata_server::ServerConfig::default().max_body_bytes),
    };
    let requests_per_minute = match env("RELATA_REQUESTS_PER_MINUTE") {
        Some(v) => parse_number("RELATA_REQUESTS_PER_MINUTE", &v)?,
        None => file.requests_per_minute.unwrap_or(relata_server::ServerConfig::default().requests_per_minute),
    };
    let policy = relata_engine::SignInPolicy::default();
    let number = |key: &str, file_value: Option<u64>, default: u64| -> Result<u64> {
        match env(key) {
            Some(v) => parse_number(key, &v),
            None => Ok(file_value.unwrap_or(default)),
        }
    };
    let signin_max_failures = number(
        "RELATA_SIGNIN_MAX_FAILURES",
        file.signin_max_failures.map(u64::from),
        policy.max_failures_per_account.into(),
    )? as u32;
    let signin_max_failures_per_address = number(
        "RELATA_SIGNIN_MAX_FAILURES_PER_ADDRESS",
        file.signin_max_failures_per_address.map(u64::from),
        policy.max_failures_per_address.into(),
    )? as u32;
    let signin_lockout_minutes =
        number("RELATA_SIGNIN_LOCKOUT_MINUTES", file.signin_lockout_minutes, policy.window.as_secs() / 60)?;
    let token_lifetime_minutes =
        number("RELATA_TOKEN_LIFETIME_MINUTES", file.token_lifetime_minutes, policy.token_lifetime.as_secs() / 60)?;
    let job_workers = number("RELATA_JOB_WORKERS", file.job_workers, 1)?;
    let job_lease_seconds = number("RELATA_JOB_LEASE_SECONDS", file.job_lease_seconds, 60)?;
    if job_lease_seconds == 0 || job_workers > 64 {
        bail!("job_lease_seconds must be at least 1 and job_workers at most 64");
    }
    let trust_forwarded_for = match env("RELATA_TRUST_FORWARDED_FOR") {
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            other => bail!("RELATA_TRUST_FORWARDED_FOR must be true or false, not '{other}'"),
        },
        None => file.trust_forwarded_for.unwrap_or(false),
    };
    let metrics_token = env("RELATA_METRICS_TOKEN").or(file.metrics_token).filter(|t| !t.trim().is_empty());
    if signin_max_failures == 0 || signin_max_failures_per_address == 0 {
        bail!("the sign-in failure limits must be greater than 0");
    }
    if signin_lockout_minutes == 0 || token_lifetime_minutes == 0 {
        bail!("signin_lockout_minutes and token_lifetime_minutes must be greater than 0");
    }
    let defaults = relata_engine::OrgConfig::default();
    let organization_name =
        env("RELATA_ORGANIZATION_NAME").or(file.organization_name).unwrap_or(defaults.organization_name);
    let base_currency = env("RELATA_BASE_CURRENCY").or(file.base_currency).unwrap_or(defaults.base_currency);

    let file_mail = file.mail.unwrap_or_default();
    let mail = MailConfig {
        smtp_url: env("RELATA_SMTP_URL").or(file_mail.smtp_url).filter(|u| !u.trim().is_empty()),
        imap_url: env("RELATA_IMAP_URL").or(file_mail.imap_url).filter(|u| !u.trim().is_empty()),
        from_address: env("RELATA_MAIL_FROM").or(file_mail.from_address).filter(|u| !u.trim().is_empty()),
        trusted_ca_file: env("RELATA_MAIL_CA_FILE")
            .map(PathBuf::from)
            .or_else(|| file_mail.trusted_ca_file.map(|f| if f.is_absolute() { f } else { file_base.join(f) })),
        poll_minutes: number("RELATA_MAIL_POLL_MINUTES", file_mail.poll_minutes.map(u64::from), 5)?.clamp(1, 1440)
            as u32,
    };
    for (what, url, protocol) in [
        ("the SMTP URL", &mail.smtp_url, relata_mail::Protocol::Smtp),
        ("the IMAP URL", &mail.imap_url, relata_mail::Protocol::Imap),
    ] {
        if let Some(url) = url {
            let parsed = relata_mail::ServerUrl::parse(url).map_err(|e| anyhow!("{what}: {e}"))?;
            if parsed.protocol != protocol {
                bail!(
                    "{what} {parsed} is not an {} URL",
                    if protocol == relata_mail::Protocol::Smtp { "SMTP" } else { "IMAP" }
                );
            }
        }
    }
    if listen.trim().is_empty() {
        bail!("the listen address is empty");
    }
    if max_body_bytes == 0 {
        bail!("max_body_bytes must be greater than 0");
    }
    let database = match database_url {
        None => Database::Sqlite(data_dir.join(SQLITE_FILE_NAME)),
        Some(url) => parse_database_url(&url)?,
    };
    Ok(Settings {
        data_dir,
        listen,
        database,
        max_body_bytes,
        requests_per_minute,
        signin_max_failures,
        signin_max_failures_per_address,
        signin_lockout_minutes,
        token_lifetime_minutes,
        job_workers,
        job_lease_seconds,
        trust_forwarded_for,
        metrics_token,
        organization_name,
        base_currency,
        mail,
        config_file,
    })
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        // toml's messages span several lines with a source excerpt.
        let msg = e.message().to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].lines().count().max(1);
                anyhow!("invalid configuration file {} (line {line}): {msg}", path.display())
            }
            None => anyhow!("invalid configuration file {}: {msg}", path.display()),
        }
    })
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| anyhow!("{name} must be a non-negative whole number, not '{value}'"))
}

pub fn parse_database_url(url: &str) -> Result<Database> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        Ok(Database::Postgres(url.to_string()))
    } else {
        bail!(
            "unsupported database URL '{}': use postgres://user:password@host:port/database, or leave it out to use SQLite in the data directory",
            mask_url(url)
        )
    }
}

/// Hides the password of a connection URL (`user:secret@` and `password=`).
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..].find(['/', '?', '#']).map(|i| rest_start + i).unwrap_or(out.len());
        if let Some(at) = out[rest_start..authority_end].rfind('@').map(|i| rest_start + i) {
            if let Some(colon) = out[rest_start..at].find(':').map(|i| rest_start + i) {
                out.replace_range(colon + 1..at, "***");
            }
        }
    }
    // `?password=…` in a URL, or `password=…` in a key/value string.
    let lower = out.to_ascii_lowercase();
    let mut masked = String::with_capacity(out.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find("password=").map(|p| i + p) {
        let at_boundary = pos == 0 || matches!(lower.as_bytes()[pos - 1], b'?' | b'&' | b' ');
        let value_start = pos + "password=".len();
        masked.push_str(&out[i..value_start]);
        if at_boundary {
            let value_end = out[value_start..].find(['&', ' ', '#']).map(|e| value_start + e).unwrap_or(out.len());
            masked.push_str("***");
            i = value_end;
        } else {
            i = value_start;
        }
    }
    masked.push_str(&out[i..]);
    masked
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("custom.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn mail_servers_come_from_the_environment_or_the_file_and_bad_urls_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(
            dir.path(),
            "[mail]\nsmtp_url = \"smtps://crm:secret@mail.example.com\"\nimap_url = \"imaps://crm:secret@mail.example.com/INBOX\"\npoll_minutes = 10\n",
        );
        let flags = Flags { config: Some(file.clone()), data_dir: Some(dir.path().into()), ..Default::default() };
        let s = resolve(&flags, &env_of(&[])).unwrap();
        assert_eq!(s.mail.smtp_url.as_deref(), Some("smtps://crm:secret@mail.example.com"));
        assert_eq!(s.mail.poll_minutes, 10);
        let s = resolve(
            &flags,
            &env_of(&[("RELATA_SMTP_URL", "smtp://127.0.0.1:2525"), ("RELATA_MAIL_FROM", "crm@x.test")]),
        )
        .unwrap();
        assert_eq!(s.mail.smtp_url.as_deref(), Some("smtp://127.0.0.1:2525"), "the environment over the file");
        assert_eq!(s.mail.from_address.as_deref(), Some("crm@x.test"));
        for (key, value, says) in [
            ("RELATA_SMTP_URL", "http://u:secret@h", "the SMTP URL"),
            ("RELATA_SMTP_URL", "imap://h", "is not an SMTP URL"),
            ("RELATA_IMAP_URL", "smtp://h", "is not an IMAP URL"),
            ("RELATA_SMTP_URL", "smtp://u:secret@h?tls=maybe", "tls must be"),
        ] {
            let e = resolve(&flags, &env_of(&[(key, value)])).unwrap_err().to_string();
            assert!(e.contains(says), "{value}: {e}");
            assert!(!e.contains("secret"), "{value}: the password is masked: {e}");
        }
        let missing = MailConfig { trusted_ca_file: Some(dir.path().join("nope.pem")), ..MailConfig::default() };
        assert!(missing.settings().unwrap_err().to_string().contains("cannot read the trusted CA file"));
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let flags = Flags { data_dir: Some(dir.path().into()), ..Default::default() };
        let s = resolve(&flags, &env_of(&[])).unwrap();
        assert_eq!(s.data_dir, dir.path());
        assert_eq!(s.listen, DEFAULT_LISTEN);
        assert_eq!(s.database, Database::Sqlite(dir.path().join(SQLITE_FILE_NAME)));
        assert_eq!(s.max_body_bytes, 32 * 1024 * 1024);
        assert_eq!(s.requests_per_minute, 0);
        assert_eq!(s.organization_name, "Relata");
        assert_eq!(s.base_currency, "USD");
        assert_eq!(s.config_file, None);
    }

    #[test]
    fn file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(
            dir.path(),
            r#"
            listen = "0.0.0.0:9000"
            database_url = "postgres://u:secret@db/crm"
            max_body_bytes = 1000
            requests_per_minute = 60
            organization_name = "Acme"
            base_currency = "EUR"
            data_dir = "data"
            "#,
        );
        let flags = Flags { config: Some(file.clone()), ..Default::default() };
        let s = resolve(&flags, &env_of(&[])).unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert_eq!(s.database, Database::Postgres("postgres://u:secret@db/crm".into()));
        assert_eq!(s.max_body_bytes, 1000);
        assert_eq!(s.requests_per_minute, 60);
        assert_eq!(s.organization_name, "Acme");
        assert_eq!(s.base_currency, "EUR");
        assert_eq!(s.data_dir, dir.path().join("data"));
        assert_eq!(s.config_file, Some(file));
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(
            dir.path(),
            "listen = \"0.0.0.0:9000\"\nmax_body_bytes = 1000\nrequests_per_minute = 60\norganization_name = \"Acme\"\nbase_currency = \"EUR\"\ndata_dir = \"/from/file\"\ndatabase_url = \"postgres://file/db\"\n",
        );
        let env = env_of(&[
            ("RELATA_LISTEN", "127.0.0.1:7000"),
            ("RELATA_MAX_BODY_BYTES", "2000"),
            ("RELATA_REQUESTS_PER_MINUTE", "120"),
            ("RELATA_ORGANIZATION_NAME", "Env Org"),
            ("RELATA_BASE_CURRENCY", "RUB"),
            ("RELATA_DATA_DIR", "/from/env"),
            ("RELATA_DATABASE_URL", "postgres://env/db"),
        ]);
        let s = resolve(&Flags { config: Some(file), ..Default::default() }, &env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:7000");
        assert_eq!(s.max_body_bytes, 2000);
        assert_eq!(s.requests_per_minute, 120);
        assert_eq!(s.organization_name, "Env Org");
        assert_eq!(s.base_currency, "RUB");
        assert_eq!(s.data_dir, PathBuf::from("/from/env"));
        assert_eq!(s.database, Database::Postgres("postgres://env/db".into()));
    }

    #[test]
    fn flags_override_environment_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(dir.path(), "listen = \"0.0.0.0:9000\"\ndatabase_url = \"postgres://file/db\"\n");
        let env = env_of(&[
            ("RELATA_LISTEN", "127.0.0.1:7000"),
            ("RELATA_DATA_DIR", "/from/env"),
            ("RELATA_DATABASE_URL", "postgres://env/db"),
        ]);
        let flags = Flags {
            data_dir: Some("/from/flag".into()),
            database_url: Some("postgres://flag/db".into()),
            config: Some(file),
            listen: Some("127.0.0.1:6000".into()),
        };
        let s = resolve(&flags, &env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:6000");
        assert_eq!(s.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(s.database, Database::Postgres("postgres://flag/db".into()));
    }

    #[test]
    fn default_file_is_found_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE_NAME), "organization_name = \"In Data Dir\"\n").unwrap();
        // The data dir named by the environment is where the file is looked for.
        let env = env_of(&[("RELATA_DATA_DIR", dir.path().to_str().unwrap())]);
        let s = resolve(&Flags::default(), &env).unwrap();
        assert_eq!(s.organization_name, "In Data Dir");
        assert_eq!(s.config_file, Some(dir.path().join(CONFIG_FILE_NAME)));
    }

    #[test]
    fn empty_environment_values_count_as_unset() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(dir.path(), "listen = \"0.0.0.0:9000\"\n");
        let env = env_of(&[("RELATA_LISTEN", ""), ("RELATA_DATABASE_URL", " ")]);
        let s = resolve(&Flags { config: Some(file), data_dir: Some(dir.path().into()), ..Default::default() }, &env)
            .unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert!(matches!(s.database, Database::Sqlite(_)));
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Flags { config: Some(dir.path().join("nope.toml")), ..Default::default() };
        let e = resolve(&missing, &env_of(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("cannot read the configuration file"), "{e:#}");

        let file = write_config(dir.path(), "listn = \"x\"\n");
        let e = resolve(&Flags { config: Some(file), ..Default::default() }, &env_of(&[])).unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("unknown field `listn`") && !msg.contains('\n'), "{msg}");

        let flags = Flags { data_dir: Some(dir.path().into()), ..Default::default() };
        let e = resolve(&flags, &env_of(&[("RELATA_MAX_BODY_BYTES", "lots")])).unwrap_err();
        assert!(e.to_string().contains("RELATA_MAX_BODY_BYTES"), "{e}");

        let flags = Flags {
            data_dir: Some(dir.path().into()),
            database_url: Some("mysql://a:b@c/d".into()),
            ..Default::default()
        };
        let e = resolve(&flags, &env_of(&[])).unwrap_err();
        assert!(e.to_string().contains("mysql://a:***@c/d"), "{e}");
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(mask_url("postgres://user:secret@host:5432/db"), "postgres://user:***@host:5432/db");
        assert_eq!(mask_url("postgres://user@host/db"), "postgres://user@host/db");
        assert_eq!(mask_url("postgres://host/db"), "postgres://host/db");
        assert_eq!(mask_url("postgres://u:p@ss@host/db"), "postgres://u:***@host/db");
        assert_eq!(
            mask_url("postgresql://host/db?user=u&password=secret&sslmode=disable"),
            "postgresql://host/db?user=u&password=***&sslmode=disable"
        );
        assert_eq!(mask_url("host=h password=secret user=u"), "host=h password=*** user=u");
        assert_eq!(mask_url("postgres://h/db?oldpassword=x"), "postgres://h/db?oldpassword=x");
    }
}
