//! In-app notifications (`appnotification`): what a user is told in the
//! header of every page — a record assigned to them, a system job of
//! theirs that failed, and whatever workflows and modules tell them.

use chrono::Duration;
use relata_metadata::{EntityRef, Value};
use uuid::Uuid;

use crate::error::Result;
use crate::modules::StepContext;
use crate::session::{Fields, RecordInput, Session};

/// `appnotification.icontype`.
pub mod icon {
    pub const INFO: i64 = 100_000_000;
    pub const SUCCESS: i64 = 100_000_001;
    pub const FAILURE: i64 = 100_000_002;
    pub const WARNING: i64 = 100_000_003;
}

/// `appnotification.priority`.
pub mod priority {
    pub const NORMAL: i64 = 200_000_000;
    pub const HIGH: i64 = 200_000_001;
}

/// Two weeks, Dataverse's default.
const DEFAULT_TTL: i64 = 1_209_600;

/// A notification to send.
#[derive(Debug, Clone)]
pub struct Notification {
    pub to: Uuid,
    pub title: String,
    pub body: Option<String>,
    pub icon: i64,
    pub priority: i64,
    /// The record it is about: the header links to it.
    pub regarding: Option<EntityRef>,
}

impl Notification {
    pub fn new(to: Uuid, title: impl Into<String>) -> Notification {
        Notification {
            to,
            title: title.into(),
            body: None,
            icon: icon::INFO,
            priority: priority::NORMAL,
            regarding: None,
        }
    }
}

/// A notification's expiry follows its time to live.
pub(super) fn expiry(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let ttl = match ctx.target.get("ttlinseconds") {
        Some(Value::Int(t)) => Some(*t),
        Some(_) => Some(DEFAULT_TTL),
        None if ctx.is_create() => Some(DEFAULT_TTL),
        None => None,
    };
    if let Some(ttl) = ttl {
        let from = match ctx.pre_image.and_then(|p| p.get("createdon")).and_then(Value::as_datetime) {
            Some(created) => created,
            None => s.now,
        };
        ctx.target.insert("relata_expireson".into(), Value::DateTime(from + Duration::seconds(ttl.max(1))));
    }
    Ok(())
}

impl Session<'_, '_, '_> {
    /// Tells a user something, as the server: the notification belongs to
    /// them whatever the caller may do. A disabled or missing user is not
    /// told. Returns the notification's id when one was made.
    pub fn notify(&mut self, n: Notification) -> Result<Option<Uuid>> {
        let to = n.to;
        if to == self.org.ids.system_user {
            return Ok(None);
        }
        let user = self.read_system("systemuser", to)?;
        if user.is_none_or(|u| u.get("isdisabled").and_then(Value::as_bool) == Some(true)) {
            return Ok(None);
        }
        let mut fields = vec![
            ("title".to_string(), Value::String(n.title.chars().take(200).collect())),
            ("icontype".to_string(), Value::Int(n.icon)),
            ("priority".to_string(), Value::Int(n.priority)),
            ("ownerid".to_string(), Value::Ref(EntityRef { entity: "systemuser".into(), id: to })),
        ];
        if let Some(b) = n.body {
            fields.push(("body".into(), Value::String(b.chars().take(5000).collect())));
        }
        // A user whose roles give them no notifications is not told.
        let made = self.savepoint(|s| s.as_system(|s| s.create("appnotification", RecordInput::new(fields))));
        let id = match made {
            Ok(id) => id,
            Err(crate::error::EngineError::Forbidden(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Some(r) = n.regarding {
            let mut changes = Fields::new();
            changes.insert("relata_regardingid".into(), Value::Ref(r));
            self.system_update("appnotification", id, changes)?;
        }
        Ok(Some(id))
    }
}

/// Entities whose assignment is not news to anyone.
const QUIET: &[&str] = &["appnotification", "asyncoperation", "userquery", "usersettings", "bulkdeleteoperation"];

/// A record assigned to someone else tells them.
pub(super) fn assigned(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    if QUIET.contains(&ctx.entity.name()) {
        return Ok(());
    }
    let Some(Value::Ref(owner)) = ctx.target.get("ownerid").cloned() else { return Ok(()) };
    if owner.entity != "systemuser" || owner.id == s.principal.user_id {
        return Ok(());
    }
    let entity = ctx.entity.clone();
    let record = EntityRef { entity: entity.name().to_string(), id: ctx.id };
    let name = s.lookup_names(&[&record])?.remove(&ctx.id).unwrap_or_default();
    let by = s.principal.full_name.clone();
    let label = entity.def.label.en.clone();
    let mut n = Notification::new(owner.id, format!("{label} assigned to you: {name}"));
    n.body = Some(format!("{by} assigned the {} '{name}' to you.", label.to_lowercase()));
    n.regarding = Some(record);
    s.notify(n)?;
    Ok(())
}
