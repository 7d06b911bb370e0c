//! Signing in with email and password: expiring tokens, and throttling of
//! failed attempts per account and per client address, kept in the
//! database so that it holds across server processes. Every sign-in and
//! failed sign-in is audited.

use std::time::Duration;

use chrono::{DateTime, Utc};
use relata_metadata::{EntityRef, Value};
use relata_store::{Param, Storage, Tx};
use uuid::Uuid;

use crate::audit::{self, AuditAction, Event};
use crate::error::{EngineError, Result};
use crate::org::Org;

/// Limits on failed sign-ins and the life of the tokens sign-in issues.
#[derive(Debug, Clone)]
pub struct SignInPolicy {
    /// Failed attempts on one account within `window` before it is locked
    /// for the rest of the window.
    pub max_failures_per_account: u32,
    /// Failed attempts from one address within `window` (any account).
    pub max_failures_per_address: u32,
    pub window: Duration,
    pub token_lifetime: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        SignInPolicy {
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            window: Duration::from_secs(15 * 60),
            token_lifetime: Duration::from_secs(60 * 60),
        }
    }
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub user: Uuid,
    pub token: String,
    pub expires_on: DateTime<Utc>,
}

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

impl Org {
    /// Checks an email and password and issues a token that expires. Locked
    /// accounts and addresses get `Throttled` whether or not the password
    /// is right, so guessing cannot go on in the background.
    pub fn sign_in(&self, email: &str, password: &str, address: &str, policy: &SignInPolicy) -> Result<SignIn> {
        let now = Utc::now();
        let keys = [
            (account_key(email), policy.max_failures_per_account),
            (address_key(address), policy.max_failures_per_address),
        ];
        let window = chrono::Duration::from_std(policy.window).unwrap_or(chrono::Duration::minutes(15));
        self.db.read(|tx| -> Result<()> {
            for (key, max) in &keys {
                if let Some((failures, start)) = throttle_row(tx, key)? {
                    if now < start + window && failures >= *max as i64 {
                        let retry = (start + window - now).num_seconds().max(1) as u64;
                        return Err(EngineError::Throttled("Too many failed sign-ins; try again later.".into(), retry));
                    }
                }
            }
            Ok(())
        })?;
        let info = format!("email={}; address={address}", email.trim());
        match self.verify_password(email, password) {
            Ok(user) => {
                let token = relata_security::new_token();
                let expires_on =
                    now + chrono::Duration::from_std(policy.token_lifetime).unwrap_or(chrono::Duration::hours(1));
                let schema = self.schema();
                self.db.write(|tx| -> Result<()> {
                    tx.execute(
                        "DELETE FROM relata_signin_throttle WHERE key = $1",
                        &[Param::text(account_key(email))],
                    )?;
                    self.insert_token(tx, user, "sign-in", &token, Some(expires_on))?;
                    let object = EntityRef { entity: "systemuser".into(), id: user };
                    audit::write(
                        tx,
                        &schema,
                        now,
                        Event {
                            user: Some(user),
                            action: AuditAction::UserAccessViaWebServices,
                            object: Some(&object),
                            changes: &[],
                            info: Some(&info),
                        },
                    )
                })?;
                Ok(SignIn { user, token, expires_on })
            }
            Err(EngineError::Unauthorized(msg)) => {
                let user = self.find_user_by_email(email)?;
                let schema = self.schema();
                self.db.write(|tx| -> Result<()> {
                    for (key, _) in &keys {
                        record_failure(tx, key, now, window)?;
                    }
                    let object = user.map(|id| EntityRef { entity: "systemuser".into(), id });
                    audit::write(
                        tx,
                        &schema,
                        now,
                        Event {
                            user,
                            action: AuditAction::FailedSignIn,
                            object: object.as_ref(),
                            changes: &[],
                            info: Some(&info),
                        },
                    )
                })?;
                Err(EngineError::Unauthorized(msg))
            }
            Err(e) => Err(e),
        }
    }

    pub(crate) fn insert_token(
        &self,
        tx: &mut Tx<'_>,
        user: Uuid,
        name: &str,
        token: &str,
        expires_on: Option<DateTime<Utc>>,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        tx.execute(
            "INSERT INTO relata_token (tokenid, systemuserid, name, token_hash, created_on, expires_on) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Param::uuid(id),
                Param::uuid(user),
                Param::text(name),
                Param::text(relata_security::hash_token(token)),
                Param::new(Value::DateTime(Utc::now()), Storage::Timestamp),
                Param::new(expires_on.map(Value::DateTime).unwrap_or(Value::Null), Storage::Timestamp),
            ],
        )?;
        Ok(id)
    }

    /// Signs out: revokes the token given (true if it was active).
    pub fn revoke_token_value(&self, token: &str) -> Result<bool> {
        self.db.write(|tx| -> Result<bool> {
            let n = tx.execute(
                "UPDATE relata_token SET revoked_on = $1 WHERE token_hash = $2 AND revoked_on IS NULL",
                &[
                    Param::new(Value::DateTime(Utc::now()), Storage::Timestamp),
                    Param::text(relata_security::hash_token(token)),
                ],
            )?;
            Ok(n > 0)
        })
    }
}

impl crate::session::Session<'_, '_, '_> {
    /// Stores a user's password hash (from `relata_security::hash_password`)
    /// in this transaction, so a new user and its credential are written
    /// together or not at all. Only the server itself or the user may.
    pub fn set_password_hash(&mut self, user: Uuid, hash: &str) -> Result<()> {
        let own = self.principal.user_id == user && !self.principal.is_team;
        if !(self.principal.all_privileges || own) {
            return Err(EngineError::Forbidden(
                "Passwords are set by the user or by an administrator on the server.".into(),
            ));
        }
        self.tx.execute("DELETE FROM relata_credential WHERE systemuserid = $1", &[Param::uuid(user)])?;
        self.tx.execute(
            "INSERT INTO relata_credential (systemuserid, password_hash, changed_on) VALUES ($1, $2, $3)",
            &[Param::uuid(user), Param::text(hash), Param::new(Value::DateTime(Utc::now()), Storage::Timestamp)],
        )?;
        Ok(())
    }
}

fn throttle_row(tx: &mut Tx<'_>, key: &str) -> Result<Option<(i64, DateTime<Utc>)>> {
    let row = tx.query_one(
        "SELECT failures, window_start FROM relata_signin_throttle WHERE key = $1",
        &[Param::text(key)],
        &[Storage::BigInt, Storage::Timestamp],
    )?;
    Ok(row.and_then(|r| Some((r[0].as_i64()?, r[1].as_datetime()?))))
}

/// Counts a failure: a new window starts when the last one is over. The
/// row is locked while counting so concurrent processes do not lose counts.
fn record_failure(tx: &mut Tx<'_>, key: &str, now: DateTime<Utc>, window: chrono::Duration) -> Result<()> {
    let ts = |d: DateTime<Utc>| Param::new(Value::DateTime(d), Storage::Timestamp);
    tx.execute(
        "INSERT INTO relata_signin_throttle (key, failures, window_start) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING",
        &[Param::text(key), ts(now)],
    )?;
    let lock = if tx.backend() == relata_store::Backend::Postgres { " FOR UPDATE" } else { "" };
    let start = tx
        .query_one(
            &format!("SELECT window_start FROM relata_signin_throttle WHERE key = $1{lock}"),
            &[Param::text(key)],
            &[Storage::Timestamp],
        )?
        .and_then(|r| r[0].as_datetime())
        .unwrap_or(now);
    if now < start + window {
        tx.execute("UPDATE relata_signin_throttle SET failures = failures + 1 WHERE key = $1", &[Param::text(key)])?;
    } else {
        tx.execute(
            "UPDATE relata_signin_throttle SET failures = 1, window_start = $1 WHERE key = $2",
            &[ts(now), Param::text(key)],
        )?;
    }
    Ok(())
}
