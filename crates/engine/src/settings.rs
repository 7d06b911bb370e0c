//! A user's own settings (`usersettings`, keyed by the user's id): the
//! interface language, the formats and the time zone. Every user reads and
//! writes their own row whatever their roles, and nobody else's.

use relata_metadata::Value;

use crate::error::{EngineError, Result};
use crate::session::{Fields, Session};

/// The interface languages (LCIDs).
pub const LANGUAGES: &[i64] = &[1033, 1049];

/// The caller's choices; `None` clears one (back to the default).
#[derive(Debug, Clone, Default)]
pub struct OwnSettings {
    pub language: Option<i64>,
    pub locale: Option<i64>,
    /// An IANA time zone name (`Europe/Moscow`), checked by the caller
    /// against its time zone database.
    pub time_zone: Option<String>,
}

fn invalid(m: impl Into<String>) -> EngineError {
    EngineError::Invalid(m.into())
}

impl Session<'_, '_, '_> {
    /// Changes the caller's own password, given the current one; the
    /// caller's other browser sessions (all but `session`) are signed out.
    pub fn change_own_password(&mut self, current: &str, new: &str, session: Option<&str>) -> Result<()> {
        if new.chars().count() < 8 {
            return Err(invalid("'password': the new password must be at least 8 characters long."));
        }
        let me = self.principal.user_id;
        let stored = self.tx.query_one(
            "SELECT password_hash FROM relata_credential WHERE systemuserid = $1",
            &[relata_store::Param::uuid(me)],
            &[relata_store::Storage::Text],
        )?;
        let right = stored.and_then(|r| r[0].as_str().map(|h| relata_security::verify_password(current, h)));
        if right != Some(true) {
            return Err(invalid("'current': the current password is not right."));
        }
        let hash =
            relata_security::hash_password(new).map_err(|e| invalid(format!("the password cannot be hashed: {e}")))?;
        self.set_password_hash(me, &hash)?;
        crate::signin::end_sessions(self.tx, me, session)?;
        Ok(())
    }

    /// The caller's settings, as stored (none yet: defaults).
    pub fn own_settings(&mut self) -> Result<OwnSettings> {
        let id = self.principal.user_id;
        let row = self.read_system("usersettings", id)?.unwrap_or_default();
        Ok(OwnSettings {
            language: row.get("uilanguageid").and_then(Value::as_i64),
            locale: row.get("localeid").and_then(Value::as_i64),
            time_zone: row.get("relata_timezone").and_then(Value::as_str).map(str::to_string),
        })
    }

    /// Saves the caller's settings.
    pub fn save_own_settings(&mut self, settings: &OwnSettings) -> Result<()> {
        let (id, name) = (self.principal.user_id, self.principal.full_name.clone());
        self.save_settings_of(id, &name, settings)
    }

    /// Saves a user's settings row (the engine's own writes: setup).
    pub(crate) fn save_settings_of(&mut self, id: uuid::Uuid, name: &str, settings: &OwnSettings) -> Result<()> {
        for (what, v) in [("uilanguageid", settings.language), ("localeid", settings.locale)] {
            if let Some(v) = v.filter(|v| !LANGUAGES.contains(v)) {
                return Err(invalid(format!(
                    "'{what}': {v} is not a supported language (1033 English, 1049 Russian)."
                )));
            }
        }
        if let Some(z) = &settings.time_zone {
            let plausible = !z.is_empty()
                && z.len() <= 64
                && z.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
            if !plausible {
                return Err(invalid(format!("'relata_timezone': \"{z}\" is not a time zone name.")));
            }
        }
        let int = |v: Option<i64>| v.map(Value::Int).unwrap_or(Value::Null);
        let mut changes = Fields::new();
        changes.insert("uilanguageid".into(), int(settings.language));
        changes.insert("localeid".into(), int(settings.locale));
        changes.insert("relata_timezone".into(), settings.time_zone.clone().map(Value::String).unwrap_or(Value::Null));
        match self.read_system("usersettings", id)? {
            Some(existing) => self.system_update_loaded("usersettings", id, &existing, changes)?,
            None => {
                let mut values: Vec<(&str, Value)> =
                    changes.iter().map(|(k, v)| (k.as_str(), v.clone())).filter(|(_, v)| !v.is_null()).collect();
                values.push(("relata_name", Value::String(name.to_string())));
                crate::seed::insert(self.tx, &self.schema, "usersettings", id, id, values)?;
            }
        }
        // The language lives in the cached principal: reload it.
        self.tx.next_counter("security")?;
        Ok(())
    }
}
