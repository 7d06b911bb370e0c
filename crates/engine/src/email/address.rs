//! From records to email addresses and back. Which column holds a
//! record's address is metadata: the entity's first column of format
//! `Email` (`emailaddress1`, a user's `internalemailaddress`).

use relata_metadata::{EntityRef, Value};

use crate::error::Result;
use crate::session::Session;

/// The entities an email's parties may be (the `partyid` lookup's
/// targets), users first and then contacts, accounts and the rest, the
/// order in which a received message's addresses are matched.
pub(super) fn party_entities(s: &Session<'_, '_, '_>) -> Vec<String> {
    let mut entities: Vec<String> = s
        .schema
        .entity("activityparty")
        .and_then(|e| e.attribute("partyid"))
        .map(|a| a.targets.iter().map(|t| t.entity.clone()).collect())
        .unwrap_or_default();
    let rank = |e: &str| ["systemuser", "contact", "account"].iter().position(|x| *x == e).unwrap_or(3);
    entities.sort_by_key(|e| rank(e));
    entities
}

/// The column an entity keeps its email address in.
pub(super) fn email_column(s: &Session<'_, '_, '_>, entity: &str) -> Option<String> {
    let e = s.schema.entity(entity)?;
    e.attributes().iter().find(|a| a.format.as_deref() == Some("Email")).map(|a| a.name.clone())
}

/// A record's name and address (`None` when it has no address or is gone).
pub(super) fn address_of(s: &mut Session<'_, '_, '_>, r: &EntityRef) -> Result<Option<relata_mail::Address>> {
    let Some(column) = email_column(s, &r.entity) else { return Ok(None) };
    let Some(fields) = s.read_system(&r.entity, r.id)? else { return Ok(None) };
    let email = fields.get(&column).and_then(Value::as_str).map(str::trim).filter(|e| !e.is_empty());
    let Some(email) = email else { return Ok(None) };
    let name = s
        .schema
        .entity(&r.entity)
        .map(|e| e.def.primary_name.clone())
        .and_then(|n| fields.get(&n).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    Ok(Some(relata_mail::Address::named(name, email)))
}

/// The active records whose address is `email` (any letter case), in the
/// order [`party_entities`] gives; at most a few of each.
pub(super) fn records_with(s: &mut Session<'_, '_, '_>, email: &str) -> Result<Vec<EntityRef>> {
    let literal = email.trim().to_lowercase().replace('\'', "''");
    if literal.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entity in party_entities(s) {
        let Some(column) = email_column(s, &entity) else { continue };
        let Some(e) = s.schema.entity(&entity).cloned() else { continue };
        let active = if e.has_state() { " and statecode eq 0" } else { "" };
        let query = format!("$select={}&$filter=tolower({column}) eq '{literal}'{active}&$top=5", e.primary_id());
        for row in s.query_system(&entity, &query)? {
            if let Some(id) = row.get(e.primary_id()).and_then(Value::as_uuid) {
                found.push(EntityRef { entity: entity.clone(), id });
            }
        }
    }
    Ok(found)
}
