//! First run in the browser: while no user can sign in, `relata serve`
//! issues a one-time setup token (kept hashed in the database, so any
//! node of a cluster accepts it) and the setup page uses it to name the
//! organization, choose its base currency and language, and create the
//! first administrator — in one transaction, once.
//!
//! Also the organization's base currency, which may change until money
//! has been recorded in it.

use relata_metadata::{AttrKind, EntityRef, Value};
use relata_security::Right;
use relata_store::{Param, Storage};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::org::Org;
use crate::session::{Fields, RecordInput, Session};
use crate::settings::{OwnSettings, LANGUAGES};

/// What the setup page asks for.
#[derive(Debug, Clone, Default)]
pub struct FirstRun {
    pub organization_name: String,
    /// ISO code of the base currency.
    pub base_currency: String,
    /// LCID: 1033 English, 1049 Russian.
    pub language: i64,
    /// IANA name, checked by the caller against its time zone database.
    pub time_zone: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password: String,
}

fn invalid(m: impl Into<String>) -> EngineError {
    EngineError::Invalid(m.into())
}

fn hash(token: &str) -> String {
    relata_security::hash_token(token)
}

const TOKEN_KIND: &str = "setup";

impl Org {
    /// True while no user has a password: nobody could sign in.
    pub fn needs_setup(&self) -> Result<bool> {
        self.db.read(|tx| -> Result<bool> {
            let row = tx.query_one("SELECT COUNT(*) FROM relata_credential", &[], &[Storage::BigInt])?;
            Ok(row.and_then(|r| r[0].as_i64()).unwrap_or(0) == 0)
        })
    }

    /// A new one-time setup token while setup is needed (an earlier one
    /// stops working); `None` once a user can sign in.
    pub fn issue_setup_token(&self) -> Result<Option<String>> {
        if !self.needs_setup()? {
            return Ok(None);
        }
        let token = relata_security::new_token();
        let h = hash(&token);
        self.db.write(|tx| -> Result<()> {
            tx.execute("DELETE FROM relata_metadata WHERE kind = $1", &[Param::text(TOKEN_KIND)])?;
            tx.execute(
                "INSERT INTO relata_metadata (kind, name, definition) VALUES ($1, 'token', $2)",
                &[Param::text(TOKEN_KIND), Param::text(h)],
            )?;
            Ok(())
        })?;
        Ok(Some(token))
    }

    /// Does this token open the setup page now?
    pub fn setup_token_valid(&self, token: &str) -> Result<bool> {
        if token.is_empty() || !self.needs_setup()? {
            return Ok(false);
        }
        self.db.read(|tx| -> Result<bool> {
            let row = tx.query_one(
                "SELECT definition FROM relata_metadata WHERE kind = $1 AND name = 'token'",
                &[Param::text(TOKEN_KIND)],
                &[Storage::Text],
            )?;
            Ok(row.and_then(|r| r[0].as_str().map(|h| h == hash(token))).unwrap_or(false))
        })
    }

    /// Names the organization and creates the first administrator, using
    /// up the token; returns the administrator's id. Nothing is written
    /// when anything is refused.
    pub fn complete_setup(&self, token: &str, req: &FirstRun) -> Result<Uuid> {
        let name = req.organization_name.trim();
        if name.is_empty() || name.chars().count() > 160 {
            return Err(invalid("'name': the organization's name is required (at most 160 characters)."));
        }
        if !LANGUAGES.contains(&req.language) {
            return Err(invalid(format!("'language': {} is not a supported language.", req.language)));
        }
        let email = req.email.trim().to_string();
        let plausible = email.len() <= 100
            && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.ends_with('.'))
            && !email.contains(char::is_whitespace);
        if !plausible {
            return Err(invalid(format!("'internalemailaddress': \"{email}\" is not an email address.")));
        }
        if req.password.chars().count() < 8 {
            return Err(invalid("'password': the password must be at least 8 characters long."));
        }
        if req.last_name.trim().is_empty() {
            return Err(invalid("'lastname': the administrator's last name is required."));
        }
        let password_hash = relata_security::hash_password(&req.password)
            .map_err(|e| EngineError::Invalid(format!("the password cannot be hashed: {e}")))?;
        self.write(&self.system_principal(), |s| -> Result<Uuid> {
            // Used up first: a second submission of the same token finds none.
            let used = s.tx.execute(
                "DELETE FROM relata_metadata WHERE kind = $1 AND name = 'token' AND definition = $2",
                &[Param::text(TOKEN_KIND), Param::text(hash(token))],
            )?;
            let users = s.tx.query_one("SELECT COUNT(*) FROM relata_credential", &[], &[Storage::BigInt])?;
            if used != 1 || users.and_then(|r| r[0].as_i64()).unwrap_or(0) > 0 {
                return Err(EngineError::forbidden(
                    "This setup link is not valid or was already used; sign in instead.",
                ));
            }
            let ids = s.org.ids;
            let mut org = Fields::new();
            org.insert("name".into(), Value::String(name.to_string()));
            org.insert("languagecode".into(), Value::Int(req.language));
            s.system_update("organization", ids.organization, org)?;
            let mut unit = Fields::new();
            unit.insert("name".into(), Value::String(name.to_string()));
            s.system_update("businessunit", ids.root_business_unit, unit)?;
            s.set_base_currency(&req.base_currency)?;
            let org = s.org;
            org.modules().first_run(s, req)?;
            let user = s.create(
                "systemuser",
                RecordInput::new(vec![
                    ("firstname".into(), Value::String(req.first_name.trim().to_string())),
                    ("lastname".into(), Value::String(req.last_name.trim().to_string())),
                    ("internalemailaddress".into(), Value::String(email.clone())),
                    ("isdisabled".into(), Value::Bool(false)),
                    (
                        "businessunitid".into(),
                        Value::Ref(EntityRef { entity: "businessunit".into(), id: ids.root_business_unit }),
                    ),
                ]),
            )?;
            s.associate("systemuser", user, "systemuserroles_association", "role", ids.system_administrator_role)?;
            s.set_password_hash(user, &password_hash)?;
            let settings = OwnSettings {
                language: Some(req.language),
                locale: Some(req.language),
                time_zone: req.time_zone.clone(),
            };
            s.save_settings_of(user, &format!("{} {}", req.first_name.trim(), req.last_name.trim()), &settings)?;
            Ok(user)
        })
    }
}

/// Money columns (other than a currency's own figures).
fn money_columns(entity: &relata_metadata::Entity) -> Vec<String> {
    entity.attributes().iter().filter(|a| a.kind == AttrKind::Money).map(|a| a.name.clone()).collect()
}

impl Session<'_, '_, '_> {
    /// Has any record an amount of money? Then the base currency is fixed.
    pub fn money_recorded(&mut self) -> Result<bool> {
        let entities: Vec<_> = self
            .schema
            .entities()
            .filter(|e| e.name() != "transactioncurrency" && !e.def.is_intersect)
            .cloned()
            .collect();
        for e in entities {
            let cols = money_columns(&e);
            if cols.is_empty() {
                continue;
            }
            let filter: Vec<String> = cols.iter().map(|c| format!("{c} ne null")).collect();
            let q = format!("$select={}&$filter={}&$top=1", e.primary_id(), filter.join(" or "));
            if !self.query_system(e.name(), &q)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Changes the base currency (its code, name, symbol and precision)
    /// while no money has been recorded; needs Write on the organization.
    pub fn set_base_currency(&mut self, code: &str) -> Result<()> {
        let (code, name, symbol, precision) = crate::seed::currency_info(code).ok_or_else(|| {
            invalid(format!(
                "'basecurrencyid': unknown currency '{code}'; choose one of {}.",
                crate::seed::currency_codes().join(", ")
            ))
        })?;
        let org = self.entity("organization")?;
        if !self.principal.all_privileges && !self.may(&org, Right::Write, self.org.ids.organization)? {
            return Err(EngineError::forbidden("Changing the base currency needs Write on the organization."));
        }
        let base = self.org.ids.base_currency;
        let current = self.read_system("transactioncurrency", base)?.unwrap_or_default();
        if current.get("isocurrencycode").and_then(Value::as_str) == Some(code) {
            return Ok(());
        }
        if self.money_recorded()? {
            return Err(EngineError::Conflict(
                "The base currency cannot change once amounts have been recorded in it.".into(),
            ));
        }
        let mut changes = Fields::new();
        changes.insert("isocurrencycode".into(), Value::String(code.into()));
        changes.insert("currencyname".into(), Value::String(name.into()));
        changes.insert("currencysymbol".into(), Value::String(symbol.into()));
        changes.insert("currencyprecision".into(), Value::Int(precision));
        self.system_update("transactioncurrency", base, changes)
    }
}
