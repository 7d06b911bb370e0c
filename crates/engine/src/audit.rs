//! The audit log: one `audit` row per create, update (old → new per
//! column), delete, assign, state change, share, link, role change and
//! sign-in, written in the transaction of the change it records. Audit rows
//! are `system_managed`: no API creates, changes or deletes them.

use chrono::{DateTime, SecondsFormat, Utc};
use relata_metadata::{Entity, EntityRef, Schema, Value};
use relata_query::Record;
use relata_security::{AccessRights, Principal};
use relata_store::Tx;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::error::Result;
use crate::privileges::RolePrivilege;
use crate::session::{Fields, Session};

/// Dataverse's audit `action` values (plus 200, a failed sign-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Create = 1,
    Update = 2,
    Delete = 3,
    Assign = 13,
    Share = 14,
    Associate = 33,
    Disassociate = 34,
    AddMembers = 35,
    RemoveMembers = 36,
    SetState = 41,
    ModifyShare = 48,
    Unshare = 49,
    AssignRoleToTeam = 53,
    RemoveRoleFromTeam = 54,
    AssignRoleToUser = 55,
    RemoveRoleFromUser = 56,
    AddPrivilegesToRole = 57,
    RemovePrivilegesFromRole = 58,
    ReplacePrivilegesInRole = 59,
    UserAccessViaWebServices = 65,
    FailedSignIn = 200,
}

impl AuditAction {
    /// Dataverse's `operation`: 1 Create, 2 Update, 3 Delete, 4 Access.
    fn operation(self) -> i64 {
        match self {
            AuditAction::Create => 1,
            AuditAction::Delete => 3,
            AuditAction::UserAccessViaWebServices | AuditAction::FailedSignIn => 4,
            _ => 2,
        }
    }
}

/// One column's change, as audit strings (the Dataverse `changedata` form:
/// text, numbers as text, `True`/`False`, lookups as `entity,guid`).
#[derive(Debug, Clone)]
pub struct Change {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Columns whose changes are the change itself, not worth recording.
const UNAUDITED: &[&str] = &["versionnumber", "modifiedon", "modifiedby", "createdon", "createdby"];

pub fn audit_value(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Double(f) => f.to_string(),
        Value::String(s) => s.clone(),
        Value::Uuid(u) => u.to_string(),
        Value::Ref(r) => format!("{},{}", r.entity, r.id),
        Value::DateTime(d) => d.to_rfc3339_opts(SecondsFormat::Secs, true),
        Value::Options(o) => o.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
        Value::Bytes(b) => format!("({} bytes)", b.len()),
    })
}

/// One event to record.
pub(crate) struct Event<'a> {
    pub user: Option<Uuid>,
    pub action: AuditAction,
    pub object: Option<&'a EntityRef>,
    pub changes: &'a [Change],
    /// `useradditionalinfo`: for sign-ins, the email given and the address.
    pub info: Option<&'a str>,
}

/// Writes one audit row.
pub(crate) fn write(tx: &mut Tx<'_>, schema: &Schema, now: DateTime<Utc>, ev: Event<'_>) -> Result<()> {
    let Some(entity) = schema.entity("audit") else { return Ok(()) };
    crate::session::insert_row(tx, entity, &row(now, ev))
}

/// The audit row of one event.
fn row(now: DateTime<Utc>, ev: Event<'_>) -> Fields {
    let Event { user, action, object, changes, info } = ev;
    let mut fields = Fields::new();
    fields.insert("auditid".into(), Value::Uuid(Uuid::now_v7()));
    fields.insert("createdon".into(), Value::DateTime(now));
    fields.insert("action".into(), Value::Int(action as i64));
    fields.insert("operation".into(), Value::Int(action.operation()));
    if let Some(o) = object {
        fields.insert("objectid".into(), Value::Ref(o.clone()));
        fields.insert("objecttypecode".into(), Value::String(o.entity.clone()));
    }
    if let Some(u) = user {
        fields.insert("userid".into(), Value::Ref(EntityRef { entity: "systemuser".into(), id: u }));
    }
    if !changes.is_empty() {
        let items: Vec<Json> =
            changes.iter().map(|c| json!({"logicalName": c.name, "oldValue": c.old, "newValue": c.new})).collect();
        fields.insert("changedata".into(), Value::String(json!({ "changedAttributes": items }).to_string()));
        let mask: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
        fields.insert("attributemask".into(), Value::String(mask.join(",")));
    }
    if let Some(i) = info {
        fields.insert("useradditionalinfo".into(), Value::String(i.chars().take(350).collect()));
    }
    fields
}

fn object(entity: &Entity, id: Uuid) -> EntityRef {
    EntityRef { entity: entity.name().to_string(), id }
}

impl Session<'_, '_, '_> {
    pub(crate) fn audit(&mut self, action: AuditAction, object: Option<&EntityRef>, changes: &[Change]) -> Result<()> {
        let user = Some(self.principal.user_id).filter(|_| !self.principal.is_team);
        write(self.tx, &self.schema, self.now, Event { user, action, object, changes, info: None })
    }
}

pub(crate) fn created(s: &mut Session<'_, '_, '_>, entity: &Entity, id: Uuid, fields: &Fields) -> Result<()> {
    s.audit(AuditAction::Create, Some(&object(entity, id)), &created_changes(entity, fields))
}

fn created_changes(entity: &Entity, fields: &Fields) -> Vec<Change> {
    fields
        .iter()
        .filter(|(k, v)| !UNAUDITED.contains(&k.as_str()) && k.as_str() != entity.primary_id() && !v.is_null())
        .map(|(k, v)| Change { name: k.clone(), old: None, new: audit_value(v) })
        .collect()
}

/// The audit rows of many records created or updated at once
/// (`CreateMultiple`, `UpdateMultiple`), written in a few statements.
#[derive(Default)]
pub(crate) struct Rows(Vec<Fields>);

impl Rows {
    pub(crate) fn created(&mut self, s: &Session<'_, '_, '_>, entity: &Entity, id: Uuid, fields: &Fields) {
        self.push(s, AuditAction::Create, &object(entity, id), &created_changes(entity, fields));
    }

    pub(crate) fn updated(
        &mut self,
        s: &Session<'_, '_, '_>,
        entity: &Entity,
        id: Uuid,
        existing: &Fields,
        changes: &Fields,
    ) {
        let obj = object(entity, id);
        for (action, list) in update_changes(existing, changes) {
            self.push(s, action, &obj, &list);
        }
    }

    fn push(&mut self, s: &Session<'_, '_, '_>, action: AuditAction, object: &EntityRef, changes: &[Change]) {
        let user = Some(s.principal.user_id).filter(|_| !s.principal.is_team);
        self.0.push(row(s.now, Event { user, action, object: Some(object), changes, info: None }));
    }

    pub(crate) fn write(self, s: &mut Session<'_, '_, '_>) -> Result<()> {
        let Some(entity) = s.schema.entity("audit") else { return Ok(()) };
        let entity = entity.clone();
        crate::session::insert_rows(s.tx, &entity, &self.0)
    }
}

/// The audit rows of an update (see [`update_changes`]).
pub(crate) fn updated(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    id: Uuid,
    existing: &Fields,
    changes: &Fields,
) -> Result<()> {
    let obj = object(entity, id);
    for (action, list) in update_changes(existing, changes) {
        s.audit(action, Some(&obj), &list)?;
    }
    Ok(())
}

/// An update, split as Dataverse records it: owner changes are an Assign,
/// state changes a Set State, everything else an Update.
fn update_changes(existing: &Fields, changes: &Fields) -> Vec<(AuditAction, Vec<Change>)> {
    let mut update = Vec::new();
    let mut assign = Vec::new();
    let mut state = Vec::new();
    for (k, v) in changes {
        if UNAUDITED.contains(&k.as_str()) {
            continue;
        }
        let old = existing.get(k).cloned().unwrap_or(Value::Null);
        if &old == v {
            continue;
        }
        let c = Change { name: k.clone(), old: audit_value(&old), new: audit_value(v) };
        match k.as_str() {
            "ownerid" | "owningbusinessunit" => assign.push(c),
            "statecode" | "statuscode" => state.push(c),
            _ => update.push(c),
        }
    }
    [(AuditAction::Update, update), (AuditAction::Assign, assign), (AuditAction::SetState, state)]
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .collect()
}

pub(crate) fn deleted(s: &mut Session<'_, '_, '_>, entity: &Entity, id: Uuid, existing: &Fields) -> Result<()> {
    let changes: Vec<Change> = existing
        .iter()
        .filter(|(k, v)| !UNAUDITED.contains(&k.as_str()) && k.as_str() != entity.primary_id() && !v.is_null())
        .map(|(k, v)| Change { name: k.clone(), old: audit_value(v), new: None })
        .collect();
    s.audit(AuditAction::Delete, Some(&object(entity, id)), &changes)
}

pub(crate) fn shared(
    s: &mut Session<'_, '_, '_>,
    target: &EntityRef,
    action: AuditAction,
    principal: &EntityRef,
    old: AccessRights,
    new: AccessRights,
) -> Result<()> {
    let who = audit_value(&Value::Ref(principal.clone()));
    let changes = [
        Change { name: "principal".into(), old: who.clone(), new: who },
        Change { name: "accessrights".into(), old: Some(old.names()), new: Some(new.names()) },
    ];
    s.audit(action, Some(target), &changes)
}

/// A many-to-many link made or removed; role and team membership changes
/// get their own actions, recorded on the user or team.
pub(crate) fn linked(
    s: &mut Session<'_, '_, '_>,
    relationship: &str,
    table: &str,
    a: &EntityRef,
    b: &EntityRef,
    associate: bool,
) -> Result<()> {
    let (subject, other) = match (a.entity.as_str(), b.entity.as_str()) {
        ("role", _) | ("fieldsecurityprofile", _) => (b, a),
        (_, "team") if a.entity == "systemuser" => (b, a),
        _ => (a, b),
    };
    let action = match (table, associate) {
        ("systemuserroles", true) => AuditAction::AssignRoleToUser,
        ("systemuserroles", false) => AuditAction::RemoveRoleFromUser,
        ("teamroles", true) => AuditAction::AssignRoleToTeam,
        ("teamroles", false) => AuditAction::RemoveRoleFromTeam,
        ("teammembership", true) => AuditAction::AddMembers,
        ("teammembership", false) => AuditAction::RemoveMembers,
        (_, true) => AuditAction::Associate,
        (_, false) => AuditAction::Disassociate,
    };
    let v = audit_value(&Value::Ref(other.clone()));
    let change = if associate {
        Change { name: relationship.into(), old: None, new: v }
    } else {
        Change { name: relationship.into(), old: v, new: None }
    };
    s.audit(action, Some(subject), &[change])
}

pub(crate) fn privileges_changed(
    s: &mut Session<'_, '_, '_>,
    role: Uuid,
    action: AuditAction,
    before: &[RolePrivilege],
    after: &[RolePrivilege],
) -> Result<()> {
    let depth_of = |list: &[RolePrivilege], name: &str| {
        list.iter().find(|p| p.name == name).map(|p| p.depth.dataverse_name().to_string())
    };
    let mut names: Vec<&str> = before.iter().chain(after).map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let changes: Vec<Change> = names
        .into_iter()
        .filter_map(|n| {
            let (old, new) = (depth_of(before, n), depth_of(after, n));
            (old != new).then(|| Change { name: n.to_string(), old, new })
        })
        .collect();
    s.audit(action, Some(&EntityRef { entity: "role".into(), id: role }), &changes)
}

/// Hides old and new values of secured columns the reader may not see.
/// Rows without `objecttypecode` in hand are masked for every entity that
/// secures a column of that name.
pub(crate) fn mask(principal: &Principal, schema: &Schema, records: &mut [Record]) {
    if principal.all_privileges || principal.is_system_administrator {
        return;
    }
    for rec in records.iter_mut() {
        for (_, e) in rec.expanded.iter_mut() {
            match e {
                relata_query::Expanded::Single(Some(r)) => mask(principal, schema, std::slice::from_mut(r.as_mut())),
                relata_query::Expanded::Collection(rs) => mask(principal, schema, rs),
                _ => {}
            }
        }
        if rec.entity != "audit" {
            continue;
        }
        let entity = rec.get("objecttypecode").and_then(Value::as_str).map(str::to_string);
        let Some(Value::String(text)) = rec.get("changedata").cloned() else { continue };
        let Ok(mut doc) = serde_json::from_str::<Json>(&text) else { continue };
        let hidden = |attr: &str| {
            schema
                .entities()
                .filter(|e| entity.as_deref().is_none_or(|n| n == e.name()))
                .any(|e| e.attribute(attr).is_some_and(|a| a.secured && !principal.can_read_field(e, a)))
        };
        let mut changed = false;
        if let Some(items) = doc.get_mut("changedAttributes").and_then(Json::as_array_mut) {
            for item in items {
                let name = item.get("logicalName").and_then(Json::as_str).unwrap_or_default().to_string();
                if hidden(&name) {
                    item["oldValue"] = Json::Null;
                    item["newValue"] = Json::Null;
                    changed = true;
                }
            }
        }
        if changed {
            for (k, v) in rec.values.iter_mut() {
                if k == "changedata" {
                    *v = Value::String(doc.to_string());
                }
            }
        }
    }
}
