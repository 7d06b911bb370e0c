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

impl Org {
    /// Clears the sign-in lock-out of a user's account, as the server
    /// itself (the CLI); see [`Session::unlock_user`].
    ///
    /// [`Session::unlock_user`]: crate::Session::unlock_user
    pub fn unlock_user(&self, user: Uuid) -> Result<u32> {
        self.write(&self.system_principal(), |s| s.unlock_user(user))
    }
}

impl crate::session::Session<'_, '_, '_> {
    /// Stores a user's password hash (from `relata_security::hash_password`)
    /// in this transaction, so a new user and its credential are written
    /// together or not at all. Only the server itself, a System
    /// Administrator or the user may.
    /// A new password also ends the account's sign-in lock-out.
    pub fn set_password_hash(&mut self, user: Uuid, hash: &str) -> Result<()> {
        let own = self.principal.user_id == user && !self.principal.is_team;
        if !(self.principal.all_privileges || self.principal.is_system_administrator || own) {
            return Err(EngineError::forbidden("Passwords are set by the user or by an administrator on the server."));
        }
        self.tx.execute("DELETE FROM relata_credential WHERE systemuserid = $1", &[Param::uuid(user)])?;
        self.tx.execute(
            "INSERT INTO relata_credential (systemuserid, password_hash, changed_on) VALUES ($1, $2, $3)",
            &[Param::uuid(user), Param::text(hash), Param::new(Value::DateTime(Utc::now()), Storage::Timestamp)],
        )?;
        clear_lockout(self.tx, user)?;
        Ok(())
    }

    /// Ends the sign-in lock-out of a user's account: the failed attempts
    /// counted against it are forgotten, so the user may sign in at once.
    /// Returns how many failed attempts were forgotten (0: it was not
    /// locked and had none). Attempts counted against a client address
    /// (any account) are not the account's and stay. Needs Write on the
    /// user (an administrator, or the server itself); an unknown user is
    /// `NotFound`.
    pub fn unlock_user(&mut self, user: Uuid) -> Result<u32> {
        if !self.principal.all_privileges {
            // A user the caller cannot see is one that does not exist.
            let entity = self.entity("systemuser")?;
            let Some(record) = self.visible_owner(&entity, user)? else {
                return Err(crate::session::not_found("systemuser", user));
            };
            self.require(&entity, relata_security::Right::Write, &record, user)?;
        }
        if user_email(self.tx, user)?.is_none() {
            return Err(crate::session::not_found("systemuser", user));
        }
        clear_lockout(self.tx, user)
    }
}

/// Ends a user's browser sessions (sign-in tokens; tokens made for
/// integrations stay), except the one given; returns how many ended.
pub(crate) fn end_sessions(tx: &mut Tx<'_>, user: Uuid, except: Option<&str>) -> Result<u64> {
    let keep = except.map(relata_security::hash_token).unwrap_or_default();
    Ok(tx.execute(
        "UPDATE relata_token SET revoked_on = $1
         WHERE systemuserid = $2 AND name = 'sign-in' AND revoked_on IS NULL AND token_hash <> $3",
        &[Param::new(Value::DateTime(Utc::now()), Storage::Timestamp), Param::uuid(user), Param::text(keep)],
    )?)
}

impl crate::session::Session<'_, '_, '_> {
    /// An administrator's new password for a user: set, the lock-out
    /// ended, and the user's browser sessions signed out.
    pub fn reset_password(&mut self, user: Uuid, password: &str) -> Result<()> {
        if password.chars().count() < 8 {
            return Err(EngineError::Invalid("'password': the password must be at least 8 characters long.".into()));
        }
        let hash = relata_security::hash_password(password)
            .map_err(|e| EngineError::Invalid(format!("the password cannot be hashed: {e}")))?;
        self.set_password_hash(user, &hash)?;
        end_sessions(self.tx, user, None)?;
        Ok(())
    }
}

/// A user's sign-in email; `None` when there is no such user.
fn user_email(tx: &mut Tx<'_>, user: Uuid) -> Result<Option<String>> {
    let row = tx.query_one(
        "SELECT internalemailaddress FROM systemuser WHERE systemuserid = $1",
        &[Param::uuid(user)],
        &[Storage::Text],
    )?;
    Ok(row.map(|r| r[0].as_str().unwrap_or_default().to_string()))
}

/// Forgets the failed sign-ins counted against a user's account; returns
/// how many there were.
pub(crate) fn clear_lockout(tx: &mut Tx<'_>, user: Uuid) -> Result<u32> {
    let Some(email) = user_email(tx, user)?.filter(|e| !e.trim().is_empty()) else { return Ok(0) };
    let key = account_key(&email);
    let failures = throttle_row(tx, &key)?.map(|(n, _)| n).unwrap_or(0);
    tx.execute("DELETE FROM relata_signin_throttle WHERE key = $1", &[Param::text(key)])?;
    Ok(u32::try_from(failures.max(0)).unwrap_or(u32::MAX))
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

#[cfg(test)]
mod tests {
    use relata_metadata::{EntityRef, Value};
    use relata_store::{Db, DbOptions, Param, Storage};
    use uuid::Uuid;

    use super::SignInPolicy;
    use crate::{EngineError, Org, OrgConfig, RecordInput};

    fn org() -> (tempfile::TempDir, Org) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open_sqlite(&dir.path().join("relata.db"), &DbOptions::default()).expect("database");
        let org = Org::open(db, &OrgConfig::default()).expect("organization");
        (dir, org)
    }

    /// A Salesperson in the root business unit who can sign in.
    fn salesperson(org: &Org, email: &str, password: &str) -> Uuid {
        let role = org
            .db()
            .read(|tx| {
                tx.query_one("SELECT roleid FROM role WHERE name = $1", &[Param::text("Salesperson")], &[Storage::Uuid])
            })
            .expect("read roles")
            .and_then(|r| r[0].as_uuid())
            .expect("the Salesperson role is seeded");
        let root = org.ids.root_business_unit;
        let id = org
            .write(&org.system_principal(), |s| {
                let id = s.create(
                    "systemuser",
                    RecordInput::new(vec![
                        ("lastname".into(), Value::String(email.into())),
                        ("internalemailaddress".into(), Value::String(email.into())),
                        ("businessunitid".into(), Value::Ref(EntityRef { entity: "businessunit".into(), id: root })),
                    ]),
                )?;
                s.associate("systemuser", id, "systemuserroles_association", "role", role)?;
                Ok::<_, EngineError>(id)
            })
            .expect("create the user");
        org.set_password(id, password).expect("set the password");
        id
    }

    fn lock(org: &Org, email: &str, password: &str, policy: &SignInPolicy) {
        for _ in 0..policy.max_failures_per_account {
            let e = org.sign_in(email, "Wrong-Passw0rd!", "10.0.0.1", policy).unwrap_err();
            assert!(matches!(e, EngineError::Unauthorized(_)), "{e:?}");
        }
        let e = org.sign_in(email, password, "10.0.0.1", policy).unwrap_err();
        assert!(matches!(e, EngineError::Throttled(..)), "locked out: {e:?}");
    }

    #[test]
    fn unlock_and_a_new_password_end_a_lock_out_and_need_write_on_the_user() {
        let (_dir, org) = org();
        let policy = SignInPolicy::default();
        let rep = salesperson(&org, "rep@relata.test", "Rep-Passw0rd!");
        let other = salesperson(&org, "Other@Relata.test", "Other-Passw0rd!");
        lock(&org, "other@relata.test", "Other-Passw0rd!", &policy);

        // A Salesperson reads users but may not change them.
        let (_, token) = org.create_token(rep, "test", None).expect("token");
        let principal = org.authenticate(&token).expect("principal");
        let e = org.write(&principal, |s| s.unlock_user(other)).unwrap_err();
        assert!(matches!(e, EngineError::Forbidden(_)), "{e:?}");
        let e = org.write(&principal, |s| s.unlock_user(Uuid::new_v4())).unwrap_err();
        assert!(matches!(e, EngineError::NotFound(_)), "{e:?}");
        assert!(matches!(org.unlock_user(Uuid::new_v4()), Err(EngineError::NotFound(_))));
        assert!(org.sign_in("other@relata.test", "Other-Passw0rd!", "10.0.0.2", &policy).is_err(), "still locked");

        // The account's email is matched whatever its case.
        assert_eq!(org.unlock_user(other).expect("unlock"), 5);
        assert_eq!(
            org.sign_in("other@relata.test", "Other-Passw0rd!", "10.0.0.2", &policy).expect("signed in").user,
            other
        );
        assert_eq!(org.unlock_user(other).expect("unlock again"), 0);

        lock(&org, "other@relata.test", "Other-Passw0rd!", &policy);
        org.set_password(other, "Newer-Passw0rd!").expect("new password");
        assert!(org.sign_in("other@relata.test", "Newer-Passw0rd!", "10.0.0.3", &policy).is_ok());
    }
}
