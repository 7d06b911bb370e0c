//! Counterparties 1C sends (3.x's `contragents` package, and the buyers of
//! the order documents it returns) become accounts. An account is found
//! by the counterparty's 1C `Ид` within the node; failing that, as the
//! node's `relata_counterpartymatch` allows, by INN and KPP, then by name
//! — and then takes the `Ид`, so it is found directly next time. A
//! counterparty found nowhere is created.
//!
//! 1C is the master of the legal details (INN, KPP, legal address): they
//! follow 1C on every exchange. The name, e-mail and phone are the CRM
//! users' once the account exists: 1C fills them only where empty.

use relata_commerceml::Counterparty;
use relata_metadata::Value;

use super::catalog::{changes, find, quote, reference, text, Kind, Outcome, Step, Tally};
use crate::error::{EngineError, Result};
use crate::session::{Condition, Fields, RecordInput, Session};

/// `relata_exchangenode.relata_counterpartymatch`.
mod matching {
    pub const INN_THEN_NAME: i64 = 1;
    pub const INN: i64 = 2;
}

/// The columns 1C keeps up to date on an account tied to it.
const LEGAL: [&str; 3] = ["relata_inn", "relata_kpp", "address1_line1"];

/// Does the account lack a value 1C has for `column`?
fn lacks(existing: &Fields, column: &str, value: &Value) -> bool {
    !value.is_null() && existing.get(column).is_none_or(|old| old.is_null() || old.as_str() == Some(""))
}

/// The account's columns from what 1C says of the counterparty.
fn columns(c: &Counterparty) -> Vec<(&'static str, Value)> {
    let name = [&c.official_name, &c.full_name]
        .into_iter()
        .flatten()
        .map(|n| n.trim())
        .find(|n| !n.is_empty())
        .unwrap_or(c.name.trim());
    let name = if name.is_empty() { c.name.trim() } else { name };
    let mut f = vec![("name", text(name, 160))];
    let opt = |v: &Option<String>, max: usize| match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => text(v, max),
        None => Value::Null,
    };
    f.push(("relata_inn", opt(&c.inn, 12)));
    f.push(("relata_kpp", opt(&c.kpp, 9)));
    let address = c.legal_address.clone().or_else(|| c.registration_address.clone()).or_else(|| c.address.clone());
    if let Some(a) = address.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        f.push(("address1_line1", text(a, 250)));
    }
    let contact = |pred: &dyn Fn(&str) -> bool| {
        c.contacts.iter().find(|k| pred(&k.kind.to_lowercase())).map(|k| k.value.trim().to_string())
    };
    if let Some(mail) = contact(&|k| k.contains("почт") || k.contains("mail")).filter(|m| m.contains('@')) {
        f.push(("emailaddress1", text(&mail, 100)));
    }
    if let Some(phone) = contact(&|k| k.contains("телефон") || k.contains("phone")) {
        f.push(("telephone1", text(&phone, 50)));
    }
    f
}

/// The account 1C's counterparty is, by the node's rule, if any.
fn matched(s: &mut Session<'_, '_, '_>, c: &Counterparty, rule: i64) -> Result<Option<Fields>> {
    // An account that another node (or this one) already ties to a
    // different 1C Ид is that counterparty, not this one.
    let free = |r: &Fields| r.get("relata_exchangeid").and_then(Value::as_str).is_none_or(str::is_empty);
    let inn = c.inn.as_deref().map(str::trim).filter(|i| !i.is_empty());
    if rule == matching::INN_THEN_NAME || rule == matching::INN {
        if let Some(inn) = inn {
            let kpp = c.kpp.as_deref().map(str::trim).unwrap_or("");
            let rows =
                s.query_system("account", &format!("$filter=relata_inn eq {} and statecode eq 0", quote(inn)))?;
            let same_kpp = |r: &Fields| r.get("relata_kpp").and_then(Value::as_str).unwrap_or("").trim() == kpp;
            if let Some(r) = rows.into_iter().find(|r| free(r) && same_kpp(r)) {
                return Ok(Some(r));
            }
        }
    }
    if rule == matching::INN_THEN_NAME {
        let Value::String(name) = &columns(c)[0].1 else { return Ok(None) };
        if !name.is_empty() {
            let rows = s.query_system("account", &format!("$filter=name eq {} and statecode eq 0", quote(name)))?;
            // A namesake with another INN is another company.
            let compatible = |r: &Fields| match (r.get("relata_inn").and_then(Value::as_str), inn) {
                (Some(a), Some(b)) if !a.trim().is_empty() => a.trim() == b,
                _ => true,
            };
            if let Some(r) = rows.into_iter().find(|r| free(r) && compatible(r)) {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

/// Applies one counterparty.
pub(super) fn counterparty(
    s: &mut Session<'_, '_, '_>,
    cx: &mut Step,
    c: &Counterparty,
    tally: &mut Tally,
) -> Result<()> {
    if c.name.trim().is_empty() && c.official_name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        tally.warn(format!("the counterparty {} has no name and was skipped", c.id));
        return Ok(());
    }
    // The buyer of an order Relata sent comes back under Relata's own id.
    if let Ok(own) = c.id.trim().parse::<uuid::Uuid>() {
        if s.read_system("account", own)?.is_some() || s.read_system("contact", own)?.is_some() {
            tally.counted(Outcome::Unchanged);
            return Ok(());
        }
    }
    let fields = columns(c);
    if let Some(existing) = find(s, cx, "account", &c.id)? {
        if !cx.allows(s, Kind::Counterparties, true)? {
            tally.skipped += 1;
            return Ok(());
        }
        let id = existing.get("accountid").and_then(Value::as_uuid).expect("the key");
        let fields: Vec<(&str, Value)> =
            fields.into_iter().filter(|(k, v)| LEGAL.contains(k) || lacks(&existing, k, v)).collect();
        let changed = changes(&existing, fields);
        if changed.is_empty() {
            tally.counted(Outcome::Unchanged);
            return Ok(());
        }
        cx.forget("account", &c.id);
        s.update("account", id, RecordInput::new(changed), Condition::default(), false)?;
        tally.counted(Outcome::Updated);
        return Ok(());
    }
    let rule = cx.counterparty_rule(s)?;
    let tie = [
        ("relata_exchangeid", Value::String(c.id.trim().to_string())),
        ("relata_exchangenodeid", reference("relata_exchangenode", cx.node)),
    ];
    let found = matched(s, c, rule)?;
    if !cx.allows(s, Kind::Counterparties, found.is_some())? {
        tally.skipped += 1;
        return Ok(());
    }
    match found {
        Some(existing) => {
            let id = existing
                .get("accountid")
                .and_then(Value::as_uuid)
                .ok_or_else(|| EngineError::Invalid("an account without an id".into()))?;
            // Only what the account lacks, and the tie to 1C.
            let lacking = fields.into_iter().filter(|(k, v)| lacks(&existing, k, v));
            let f: Vec<(String, Value)> = lacking.chain(tie).map(|(k, v)| (k.to_string(), v)).collect();
            cx.forget("account", &c.id);
            s.update("account", id, RecordInput::new(f), Condition::default(), false)?;
            tally.counted(Outcome::Updated);
        }
        None => {
            let f: Vec<(String, Value)> = fields.into_iter().chain(tie).map(|(k, v)| (k.to_string(), v)).collect();
            cx.forget("account", &c.id);
            s.create("account", RecordInput::new(f))?;
            tally.counted(Outcome::Created);
        }
    }
    Ok(())
}
