//! The organization: one database, its schema and the callers' principals.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::Utc;
use parking_lot::{Condvar, Mutex};
use relata_metadata::{definitions_with, AttributeDef, EntityDef, OptionSetDef, Schema, Value};
use relata_security::{hash_token, Principal};
use relata_store::{migrate, sync_schema, Db, Param, Storage, Tx};
use uuid::Uuid;

use crate::clock::{Clock, SystemClock};
use crate::error::{EngineError, Result};
use crate::modules::{Module, Modules};
use crate::principal::load_principal;
use crate::seed;
use crate::session::Session;

#[derive(Debug, Clone)]
pub struct OrgConfig {
    /// Name of the organization and its root business unit, used when a
    /// database is created.
    pub organization_name: String,
    /// ISO code of the base currency, used when a database is created.
    pub base_currency: String,
    /// The business modules, in registration order
    /// ([`crate::modules::standard`] by default).
    pub modules: Vec<Arc<dyn Module>>,
    /// The time the organization works by (the system clock; tests move a
    /// [`crate::ManualClock`]).
    pub clock: Arc<dyn Clock>,
    /// The organization's mail servers (`RELATA_SMTP_URL`, `RELATA_IMAP_URL`).
    pub mail: MailSettings,
}

/// The organization's mail servers, as configured for the server process.
/// Users' own mailboxes may name others (`mailbox` records).
#[derive(Debug, Clone, Default)]
pub struct MailSettings {
    /// Where mail goes out: `smtp://user:pass@host:587?tls=required`.
    pub smtp_url: Option<String>,
    /// The organization's mailbox, polled for incoming mail.
    pub imap_url: Option<String>,
    /// The organization mailbox's address, and the sender of mail whose
    /// sending user has no address of their own.
    pub from_address: Option<String>,
    /// A PEM file's text: certificate authorities trusted beside the
    /// public ones (a company's own CA).
    pub trusted_ca_pem: Option<Vec<u8>>,
    /// How often mailboxes are polled, in minutes (5 when 0).
    pub poll_minutes: u32,
}

impl Default for OrgConfig {
    fn default() -> Self {
        OrgConfig {
            organization_name: "Relata".into(),
            base_currency: "USD".into(),
            modules: crate::modules::standard(),
            clock: Arc::new(SystemClock),
            mail: MailSettings::default(),
        }
    }
}

/// Ids fixed when the database was first set up.
#[derive(Debug, Clone, Copy)]
pub struct OrgIds {
    pub organization: Uuid,
    pub root_business_unit: Uuid,
    pub base_currency: Uuid,
    /// The SYSTEM user: owner and author of what the server does itself.
    pub system_user: Uuid,
    pub system_administrator_role: Uuid,
}

pub struct Org {
    pub(crate) db: Db,
    schema: ArcSwap<Schema>,
    schema_version: AtomicI64,
    /// Principals by user, valid while the security version is unchanged.
    /// Only a cache: the version is read from the database on every request.
    principals: Mutex<HashMap<Uuid, (i64, Arc<Principal>)>>,
    /// Serializes schema installs so the version check and the swap agree.
    schema_install: Mutex<()>,
    modules: Modules,
    clock: Arc<dyn Clock>,
    /// Wakes the job runner when a job is enqueued in this process.
    jobs_wakeup: (Mutex<u64>, Condvar),
    mail: MailSettings,
    /// What modules keep for the organization between requests (their
    /// caches), by key; each checks its entry against the database.
    module_state: Mutex<HashMap<&'static str, Arc<dyn std::any::Any + Send + Sync>>>,
    pub ids: OrgIds,
}

/// Custom definitions stored in `relata_metadata`.
#[derive(Default)]
pub(crate) struct CustomMetadata {
    pub entities: Vec<EntityDef>,
    pub attributes: Vec<(String, AttributeDef)>,
    pub option_sets: Vec<OptionSetDef>,
    /// `entity.attribute` keys of columns under field security.
    pub secured: Vec<String>,
}

pub(crate) fn load_custom(tx: &mut Tx<'_>) -> Result<CustomMetadata> {
    let rows = tx.query(
        "SELECT kind, name, definition FROM relata_metadata ORDER BY kind, name",
        &[],
        &[Storage::Text, Storage::Text, Storage::Text],
    )?;
    let mut out = CustomMetadata::default();
    for row in rows {
        let (Some(kind), Some(name), Some(def)) = (row[0].as_str(), row[1].as_str(), row[2].as_str()) else { continue };
        let bad =
            |e: serde_json::Error| EngineError::Invalid(format!("stored metadata '{kind} {name}' is unreadable: {e}"));
        match kind {
            "entity" => out.entities.push(serde_json::from_str(def).map_err(bad)?),
            "attribute" => {
                let entity = name.split('.').next().unwrap_or_default().to_string();
                out.attributes.push((entity, serde_json::from_str(def).map_err(bad)?));
            }
            "optionset" => out.option_sets.push(serde_json::from_str(def).map_err(bad)?),
            "secured" => out.secured.push(name.to_string()),
            _ => {}
        }
    }
    Ok(out)
}

/// Built-in definitions, the modules' and the custom ones, as one schema.
pub(crate) fn build_schema(custom: CustomMetadata, modules: &Modules) -> Result<Schema> {
    let (mut entities, mut sets) =
        definitions_with(modules.schema_files()).map_err(|e| EngineError::Invalid(e.to_string()))?;
    entities.extend(custom.entities);
    sets.extend(custom.option_sets);
    for (entity, attr) in custom.attributes {
        match entities.iter_mut().find(|e| e.name == entity) {
            Some(e) => e.attributes.push(attr),
            None => {
                return Err(EngineError::Invalid(format!(
                    "custom attribute '{}' belongs to unknown entity '{entity}'",
                    attr.name
                )))
            }
        }
    }
    // A secured money column takes its `_base` twin with it: the twin
    // would give the value away.
    for key in &custom.secured {
        let Some((entity, attr)) = key.split_once('.') else { continue };
        let Some(e) = entities.iter_mut().find(|e| e.name == entity) else { continue };
        let base = e.attributes.iter().find(|a| a.name == attr).and_then(|a| a.base_of.clone());
        for a in e.attributes.iter_mut().filter(|a| a.name == attr || Some(&a.name) == base.as_ref()) {
            a.secured = true;
        }
    }
    let privileges = relata_metadata::privileges_with(modules.schema_files());
    Schema::build(entities, sets)
        .and_then(|s| s.with_privileges(privileges?))
        .map_err(|e| EngineError::Invalid(e.to_string()))
}

impl Org {
    /// Opens an organization: migrates the system tables, brings entity
    /// tables in line with metadata and seeds a new database.
    pub fn open(db: Db, config: &OrgConfig) -> Result<Org> {
        let modules = Modules::build(&config.modules)?;
        let (schema, version, ids) = db.write(|tx| -> Result<_> {
            migrate(tx)?;
            // Opening queues behind other opens and metadata changes (which
            // take this row too): two processes starting at once (a server
            // and a CLI command) do not both seed, and an open sees a custom
            // entity committed while it waited, rather than pruning its
            // privileges as stale.
            tx.lock_counter("schema")?;
            let schema = build_schema(load_custom(tx)?, &modules)?;
            sync_schema(tx, &schema)?;
            let ids = seed::ensure(tx, &schema, config, &modules)?;
            let version = tx.counter("schema")?;
            Ok((schema, version, ids))
        })?;
        Ok(Org {
            db,
            schema: ArcSwap::from_pointee(schema),
            schema_version: AtomicI64::new(version),
            principals: Mutex::new(HashMap::new()),
            schema_install: Mutex::new(()),
            modules,
            clock: config.clock.clone(),
            jobs_wakeup: (Mutex::new(0), Condvar::new()),
            mail: config.mail.clone(),
            module_state: Mutex::new(HashMap::new()),
            ids,
        })
    }

    /// A module's state kept under `key` (see [`Org::keep`]).
    pub fn kept<T: std::any::Any + Send + Sync>(&self, key: &'static str) -> Option<Arc<T>> {
        self.module_state.lock().get(key).cloned().and_then(|v| v.downcast::<T>().ok())
    }

    /// Keeps a module's state (a cache it validates itself) under `key`.
    pub fn keep<T: std::any::Any + Send + Sync>(&self, key: &'static str, value: Arc<T>) {
        self.module_state.lock().insert(key, value);
    }

    /// The organization's mail servers.
    pub fn mail(&self) -> &MailSettings {
        &self.mail
    }

    /// Now, by the organization's clock.
    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }

    /// Tells this process's job runner that a job may be due.
    pub(crate) fn jobs_enqueued(&self) {
        *self.jobs_wakeup.0.lock() += 1;
        self.jobs_wakeup.1.notify_all();
    }

    /// Waits until a job is enqueued in this process or `timeout` passes.
    pub(crate) fn wait_for_jobs(&self, timeout: std::time::Duration) {
        let mut seen = self.jobs_wakeup.0.lock();
        let start = *seen;
        let deadline = std::time::Instant::now() + timeout;
        while *seen == start {
            if self.jobs_wakeup.1.wait_until(&mut seen, deadline).timed_out() {
                break;
            }
        }
    }

    /// The registered modules and their pipeline.
    pub fn modules(&self) -> &Modules {
        &self.modules
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn schema(&self) -> Arc<Schema> {
        self.schema.load_full()
    }

    /// Reloads the schema if another process (or request) changed it.
    pub(crate) fn refresh_schema(&self, tx: &mut Tx<'_>, version: i64) -> Result<()> {
        if version > self.schema_version.load(Ordering::Acquire) {
            let schema = build_schema(load_custom(tx)?, self.modules())?;
            self.install_schema(Arc::new(schema), version);
        }
        Ok(())
    }

    /// Installs a committed schema unless a newer one is already in place
    /// (requests racing a metadata change must not bring an older one back).
    pub(crate) fn install_schema(&self, schema: Arc<Schema>, version: i64) {
        let _guard = self.schema_install.lock();
        if version > self.schema_version.load(Ordering::Acquire) {
            self.schema.store(schema);
            self.schema_version.store(version, Ordering::Release);
        }
    }

    /// The built-in principal the server acts as (CLI, seeding, cascades).
    pub fn system_principal(&self) -> Principal {
        Principal {
            user_id: self.ids.system_user,
            full_name: "SYSTEM".into(),
            business_unit_id: self.ids.root_business_unit,
            all_privileges: true,
            is_system_administrator: true,
            language: 1033,
            ..Principal::default()
        }
    }

    /// Resolves a bearer token to its principal.
    pub fn authenticate(&self, token: &str) -> Result<Arc<Principal>> {
        let hash = hash_token(token);
        self.db.read(|tx| self.authenticate_in(tx, &hash))
    }

    /// Authenticates and runs `f`. Reads do both in one transaction; writes
    /// authenticate on a reader first, so the single writer's time goes to
    /// the write itself.
    pub fn with_token<R, E: From<relata_store::StoreError> + From<EngineError>>(
        &self,
        token: &str,
        write: bool,
        f: impl FnOnce(&mut Session<'_, '_, '_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        if write {
            let principal = self.authenticate(token)?;
            return self.write(&principal, f);
        }
        let hash = hash_token(token);
        self.db.read(|tx: &mut Tx<'_>| -> std::result::Result<R, E> {
            let principal = self.authenticate_in(tx, &hash)?;
            let schema = self.schema();
            let mut s = Session::new(self, tx, &principal, schema);
            f(&mut s)
        })
    }

    fn authenticate_in(&self, tx: &mut Tx<'_>, hash: &str) -> Result<Arc<Principal>> {
        {
            let row = tx.query_one(
                "SELECT t.systemuserid, t.expires_on, t.revoked_on, u.isdisabled,
                        (SELECT value FROM relata_counter WHERE name = 'security'),
                        (SELECT value FROM relata_counter WHERE name = 'schema')
                 FROM relata_token t JOIN systemuser u ON u.systemuserid = t.systemuserid
                 WHERE t.token_hash = $1",
                &[Param::text(hash)],
                &[
                    Storage::Uuid,
                    Storage::Timestamp,
                    Storage::Timestamp,
                    Storage::Bool,
                    Storage::BigInt,
                    Storage::BigInt,
                ],
            )?;
            let Some(row) = row else { return Err(EngineError::Unauthorized("The access token is not valid.".into())) };
            let user = row[0].as_uuid().unwrap_or_default();
            if !row[2].is_null() {
                return Err(EngineError::Unauthorized("The access token has been revoked.".into()));
            }
            if row[1].as_datetime().is_some_and(|e| e <= Utc::now()) {
                return Err(EngineError::Unauthorized("The access token has expired.".into()));
            }
            if row[3].as_bool() == Some(true) {
                return Err(EngineError::Unauthorized("The user is disabled.".into()));
            }
            let security_version = row[4].as_i64().unwrap_or(0);
            self.refresh_schema(tx, row[5].as_i64().unwrap_or(0))?;
            let p = self.principal_for(tx, user, security_version)?;
            if p.business_unit_disabled {
                return Err(EngineError::Unauthorized("The user's business unit is disabled.".into()));
            }
            Ok(p)
        }
    }

    /// Loads (or reuses) the principal of a user at a security version.
    pub(crate) fn principal_for(&self, tx: &mut Tx<'_>, user: Uuid, security_version: i64) -> Result<Arc<Principal>> {
        if let Some((v, p)) = self.principals.lock().get(&user) {
            if *v == security_version {
                return Ok(p.clone());
            }
        }
        let schema = self.schema();
        let p = Arc::new(load_principal(tx, &schema, user, self.ids.system_administrator_role)?);
        self.principals.lock().insert(user, (security_version, p.clone()));
        Ok(p)
    }

    /// Runs `f` as `principal` in one read-write transaction.
    pub fn write<R, E: From<relata_store::StoreError>>(
        &self,
        principal: &Principal,
        f: impl FnOnce(&mut Session<'_, '_, '_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let mut changed = None;
        let out = self.db.write(|tx| {
            let schema = self.schema_for_write(tx)?;
            let mut s = Session::new(self, tx, principal, schema);
            let r = f(&mut s);
            changed = s.changed_schema.take();
            r
        });
        // A metadata change becomes visible to other requests once committed.
        if let (Ok(_), Some((schema, version))) = (&out, changed) {
            self.install_schema(schema, version);
        }
        out
    }

    /// Runs `f` in one read-write transaction as `user`, whose principal is
    /// read in that transaction (background jobs run as their owner).
    pub(crate) fn write_as<R, E: From<relata_store::StoreError> + From<EngineError>>(
        &self,
        user: Uuid,
        f: impl FnOnce(&mut Session<'_, '_, '_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let mut changed = None;
        let out = self.db.write(|tx| {
            let schema = self.schema_for_write(tx)?;
            let principal = self.principal_in(tx, user)?;
            let mut s = Session::new(self, tx, &principal, schema);
            let r = f(&mut s);
            changed = s.changed_schema.take();
            r
        });
        if let (Ok(_), Some((schema, version))) = (&out, changed) {
            self.install_schema(schema, version);
        }
        out
    }

    /// A user's principal as of this transaction; a disabled user (or one
    /// in a disabled business unit) is refused.
    pub(crate) fn principal_in(&self, tx: &mut Tx<'_>, user: Uuid) -> Result<Arc<Principal>> {
        if user == self.ids.system_user {
            return Ok(Arc::new(self.system_principal()));
        }
        let disabled = tx
            .query_one(
                "SELECT isdisabled FROM systemuser WHERE systemuserid = $1",
                &[Param::uuid(user)],
                &[Storage::Bool],
            )?
            .ok_or_else(|| EngineError::Invalid(format!("the user {user} no longer exists")))?;
        let security_version = tx.counter("security")?;
        let p = self.principal_for(tx, user, security_version)?;
        if disabled[0].as_bool() == Some(true) || p.business_unit_disabled {
            return Err(EngineError::Invalid(format!("the user {} ({user}) is disabled", p.full_name)));
        }
        Ok(p)
    }

    /// The schema a write transaction must use: the installed one, unless
    /// the database holds a newer version (a metadata change another process
    /// committed, or one committed ahead of this write in its SQLite group),
    /// which is then read from the transaction itself. Writing with an older
    /// schema could name a column that no longer exists.
    fn schema_for_write(&self, tx: &mut Tx<'_>) -> std::result::Result<Arc<Schema>, relata_store::StoreError> {
        // The version first: a schema is installed before its version, so
        // the schema read after it is at least that new.
        let known = self.schema_version.load(Ordering::Acquire);
        let installed = self.schema();
        if tx.counter("schema")? <= known {
            return Ok(installed);
        }
        load_custom(tx)
            .and_then(|custom| build_schema(custom, self.modules()))
            .map(Arc::new)
            .map_err(|e| relata_store::StoreError::Other(format!("cannot read the current schema: {e}")))
    }

    /// Runs `f` as `principal` in one read-only transaction.
    pub fn read<R, E: From<relata_store::StoreError>>(
        &self,
        principal: &Principal,
        f: impl FnOnce(&mut Session<'_, '_, '_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let schema = self.schema();
        self.db.read(|tx| {
            let mut s = Session::new(self, tx, principal, schema);
            f(&mut s)
        })
    }

    /// Finds a user by sign-in email (case-insensitive).
    pub fn find_user_by_email(&self, email: &str) -> Result<Option<Uuid>> {
        self.db.read(|tx| -> Result<_> {
            let rows = tx.query(
                "SELECT systemuserid FROM systemuser WHERE lower(internalemailaddress) = lower($1)",
                &[Param::text(email)],
                &[Storage::Uuid],
            )?;
            Ok(rows.first().and_then(|r| r[0].as_uuid()))
        })
    }

    /// Creates a bearer token for a user; returns the token text, shown once.
    pub fn create_token(
        &self,
        user: Uuid,
        name: &str,
        expires_on: Option<chrono::DateTime<Utc>>,
    ) -> Result<(Uuid, String)> {
        let token = relata_security::new_token();
        let id = self.db.write(|tx| self.insert_token(tx, user, name, &token, expires_on))?;
        Ok((id, token))
    }

    /// Tokens of a user (or of everyone): id, user email, name, created, expires, revoked.
    pub fn list_tokens(&self, user: Option<Uuid>) -> Result<Vec<TokenInfo>> {
        self.db.read(|tx| -> Result<_> {
            let mut sql = String::from(
                "SELECT t.tokenid, u.internalemailaddress, t.name, t.created_on, t.expires_on, t.revoked_on
                 FROM relata_token t JOIN systemuser u ON u.systemuserid = t.systemuserid",
            );
            let mut params = vec![];
            if let Some(u) = user {
                sql.push_str(" WHERE t.systemuserid = $1");
                params.push(Param::uuid(u));
            }
            sql.push_str(" ORDER BY t.created_on");
            let rows = tx.query(
                &sql,
                &params,
                &[
                    Storage::Uuid,
                    Storage::Text,
                    Storage::Text,
                    Storage::Timestamp,
                    Storage::Timestamp,
                    Storage::Timestamp,
                ],
            )?;
            Ok(rows
                .into_iter()
                .map(|r| TokenInfo {
                    id: r[0].as_uuid().unwrap_or_default(),
                    email: r[1].as_str().unwrap_or_default().to_string(),
                    name: r[2].as_str().unwrap_or_default().to_string(),
                    created_on: r[3].as_datetime(),
                    expires_on: r[4].as_datetime(),
                    revoked_on: r[5].as_datetime(),
                })
                .collect())
        })
    }

    /// Revokes a token by id; false if there is no such active token.
    pub fn revoke_token(&self, id: Uuid) -> Result<bool> {
        self.db.write(|tx| -> Result<_> {
            let n = tx.execute(
                "UPDATE relata_token SET revoked_on = $1 WHERE tokenid = $2 AND revoked_on IS NULL",
                &[Param::new(Value::DateTime(Utc::now()), Storage::Timestamp), Param::uuid(id)],
            )?;
            Ok(n > 0)
        })
    }

    /// Sets a user's password (argon2id).
    pub fn set_password(&self, user: Uuid, password: &str) -> Result<()> {
        if password.chars().count() < 8 {
            return Err(EngineError::Invalid("the password must be at least 8 characters long".into()));
        }
        // Hashed before the transaction: argon2 is slow on purpose.
        let hash = relata_security::hash_password(password).map_err(EngineError::Invalid)?;
        self.write(&self.system_principal(), |s| s.set_password_hash(user, &hash))
    }

    /// Checks an email and password; returns the user id.
    pub fn verify_password(&self, email: &str, password: &str) -> Result<Uuid> {
        let denied = || EngineError::Unauthorized("The email or password is not correct.".into());
        let row = self.db.read(|tx| -> Result<_> {
            tx.query_one(
                "SELECT u.systemuserid, c.password_hash, u.isdisabled, u.businessunitid FROM systemuser u
                 JOIN relata_credential c ON c.systemuserid = u.systemuserid
                 WHERE lower(u.internalemailaddress) = lower($1)",
                &[Param::text(email)],
                &[Storage::Uuid, Storage::Text, Storage::Bool, Storage::Uuid],
            )?
            .map(|mut r| -> Result<_> {
                let unit = r[3].as_uuid().unwrap_or_default();
                if crate::principal::BusinessUnits::disabled_in_chain(tx, unit)? {
                    r[2] = Value::Bool(true);
                }
                Ok(r)
            })
            .transpose()
        })?;
        let Some(row) = row else { return Err(denied()) };
        if !relata_security::verify_password(password, row[1].as_str().unwrap_or_default())
            || row[2].as_bool() == Some(true)
        {
            return Err(denied());
        }
        Ok(row[0].as_uuid().unwrap_or_default())
    }
}

#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_on: Option<chrono::DateTime<Utc>>,
    pub expires_on: Option<chrono::DateTime<Utc>>,
    pub revoked_on: Option<chrono::DateTime<Utc>>,
}
