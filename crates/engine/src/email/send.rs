//! Sending: `SendEmail` checks the email and queues it (Pending Send); the
//! send job's effect hands it to the SMTP server outside any transaction,
//! and its step records what happened.
//!
//! At least once: a process that stops after the server took the message
//! and before the step committed sends it again when the job is taken
//! over. The message keeps its Message-ID, so receiving systems can tell.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use relata_metadata::{EntityRef, Schema, Value};
use relata_security::Right;
use relata_store::{Param, Tx};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::address;
use super::SEND_JOB;
use crate::error::{EngineError, Result};
use crate::jobs::{JobContext, JobStep, NewJob};
use crate::modules::{ActionRequest, ActionResponse};
use crate::org::{Org, OrgIds};
use crate::session::{Fields, RecordInput, Session};

/// Runs of the send job (the first and four retries, over about an hour of
/// back-off) before the email is Failed.
pub(super) const ATTEMPTS: i64 = 5;

/// `email.statuscode` values.
pub(super) mod status {
    pub const DRAFT: i64 = 1;
    pub const SENT: i64 = 3;
    pub const RECEIVED: i64 = 4;
    pub const PENDING_SEND: i64 = 6;
    pub const FAILED: i64 = 8;
}

/// `activityparty.participationtypemask` of an email's parties.
pub(crate) mod party {
    pub const FROM: i64 = 1;
    pub const TO: i64 = 2;
    pub const CC: i64 = 3;
    pub const BCC: i64 = 4;
}

const TRACKING_COUNTER: &str = "emailtrackingtoken";

/// The counter tracking tokens are numbered by.
pub(super) fn seed(tx: &mut Tx<'_>, _: &Schema, _: &OrgIds) -> Result<()> {
    tx.execute(
        "INSERT INTO relata_counter (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        &[Param::text(TRACKING_COUNTER)],
    )?;
    Ok(())
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// One of an email's parties: its participation mask, its record and the
/// address written on it.
pub(super) type Party = (i64, Option<EntityRef>, Option<String>);

/// An email's parties.
pub(super) fn parties_of(s: &mut Session<'_, '_, '_>, email: Uuid) -> Result<Vec<Party>> {
    let rows = s.query_system(
        "activityparty",
        &format!("$select=participationtypemask,partyid,addressused&$filter=_activityid_value eq {email}"),
    )?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mask = r.get("participationtypemask").and_then(Value::as_i64).unwrap_or(0);
            let party = match r.get("partyid") {
                Some(Value::Ref(p)) => Some(p.clone()),
                _ => None,
            };
            let used = r.get("addressused").and_then(Value::as_str).map(str::trim).filter(|a| !a.is_empty());
            (mask, party, used.map(str::to_string))
        })
        .collect())
}

/// A party's address: the one written on the party, else its record's.
fn party_address(
    s: &mut Session<'_, '_, '_>,
    party: &Option<EntityRef>,
    used: &Option<String>,
) -> Result<Option<relata_mail::Address>> {
    let from_record = match party {
        Some(p) => address::address_of(s, p)?,
        None => None,
    };
    Ok(match (used, from_record) {
        (Some(a), Some(r)) => Some(relata_mail::Address { name: r.name, email: a.clone() }),
        (Some(a), None) => Some(relata_mail::Address::new(a.clone())),
        (None, r) => r,
    })
}

fn display(s: &mut Session<'_, '_, '_>, r: &EntityRef) -> String {
    let label = s.schema.entity(&r.entity).map(|e| e.def.label.en.clone()).unwrap_or_else(|| r.entity.clone());
    let names = s.lookup_names(&[r]).unwrap_or_default();
    match names.get(&r.id) {
        Some(n) => format!("{label} '{n}'"),
        None => label,
    }
}

/// The SMTP server a user's mail leaves through: their own mailbox's, else
/// the organization's.
pub(super) fn smtp_url_for(s: &mut Session<'_, '_, '_>, user: Uuid) -> Result<Option<String>> {
    let own = s.query_system(
        "mailbox",
        &format!(
            "$select=relata_outgoingurl&$filter=_ownerid_value eq {user} and statecode eq 0 and relata_outgoingurl ne null"
        ),
    )?;
    if let Some(url) = own.iter().find_map(|r| r.get("relata_outgoingurl").and_then(Value::as_str)) {
        return Ok(Some(url.to_string()));
    }
    Ok(s.org.mail().smtp_url.clone())
}

/// `SendEmail`.
pub(super) fn send_email(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let id = req.guid("EmailId")?;
    let issue = req.bool("IssueSend").unwrap_or(true);
    let token = req.string("TrackingToken").map(str::to_string);
    let subject = queue(s, id, issue, token)?;
    Ok(ActionResponse::property("Subject", Json::String(subject)))
}

/// The email page's Send button.
pub(super) fn send_email_now(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    queue(s, req.bound()?, true, None)?;
    Ok(ActionResponse::Empty)
}

/// Checks an email the caller may change and queues it to be sent (or,
/// with `issue` false, marks it as sent elsewhere). Returns its subject.
pub(crate) fn queue(s: &mut Session<'_, '_, '_>, id: Uuid, issue: bool, token: Option<String>) -> Result<String> {
    let entity = s.entity("email")?;
    let email =
        s.load(&entity, id)?.ok_or_else(|| EngineError::not_found(format!("email With Id = {id} Does Not Exist")))?;
    s.require(&entity, Right::Write, &email, id)?;
    let statecode = email.get("statecode").and_then(Value::as_i64).unwrap_or(0);
    let statuscode = email.get("statuscode").and_then(Value::as_i64).unwrap_or(status::DRAFT);
    if statecode != 0 {
        let label = entity
            .state_of_status(statuscode as i32)
            .and_then(|st| st.statuses.iter().find(|x| i64::from(x.value) == statuscode))
            .map(|x| x.label.en.clone())
            .unwrap_or_default();
        return Err(invalid(format!("Only a draft or failed email can be sent; this one is {label}.")));
    }
    if email.get("directioncode").and_then(Value::as_bool) == Some(false) {
        return Err(invalid("A received email cannot be sent; reply to it with a new email."));
    }
    let parties = parties_of(s, id)?;
    let caller = s.principal.user_id;
    let system = caller == s.org.ids.system_user;
    let senders: Vec<&Option<EntityRef>> = parties.iter().filter(|p| p.0 == party::FROM).map(|p| &p.1).collect();
    let sender = match senders.as_slice() {
        [] => {
            if system {
                return Err(invalid("The email has no sender (From)."));
            }
            let me = EntityRef { entity: "systemuser".into(), id: caller };
            s.create(
                "activityparty",
                RecordInput::new(vec![
                    ("activityid".into(), Value::Ref(EntityRef { entity: "email".into(), id })),
                    ("partyid".into(), Value::Ref(me.clone())),
                    ("participationtypemask".into(), Value::Int(party::FROM)),
                ]),
            )?;
            me.id
        }
        [Some(p)] if p.entity == "systemuser" => {
            if p.id != caller && !system {
                let who = display(s, p);
                return Err(invalid(format!(
                    "Mail is sent from its sender's own mailbox: the sender {who} is not you."
                )));
            }
            p.id
        }
        [_] => return Err(invalid("The sender (From) of an email must be a user.")),
        _ => return Err(invalid("An email has one sender (From).")),
    };
    let mut recipients = 0;
    for (mask, p, used) in &parties {
        if !matches!(*mask, party::TO | party::CC | party::BCC) {
            continue;
        }
        match party_address(s, p, used)? {
            Some(a) if a.email.contains('@') => recipients += 1,
            _ => {
                let who = p.as_ref().map(|p| display(s, p)).unwrap_or_else(|| "A recipient".into());
                return Err(invalid(format!("{who} has no email address.")));
            }
        }
    }
    if recipients == 0 {
        return Err(invalid("The email has no recipient (To, Cc or Bcc)."));
    }
    let from = address::address_of(s, &EntityRef { entity: "systemuser".into(), id: sender })?;
    let from_email = from.map(|a| a.email).or_else(|| s.org.mail().from_address.clone());
    let Some(from_email) = from_email else {
        return Err(invalid("The sender has no email address, and no organization address (RELATA_MAIL_FROM) is set."));
    };
    if issue && smtp_url_for(s, sender)?.is_none() {
        return Err(invalid(
            "No SMTP server is configured: set RELATA_SMTP_URL (or smtp_url under [mail] in relata.toml), \
             or give the sender's mailbox an outgoing server.",
        ));
    }
    let mut changes = Fields::new();
    if email.get("messageid").and_then(Value::as_str).is_none_or(str::is_empty) {
        let domain = from_email.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_else(|| "relata".into());
        changes.insert("messageid".into(), Value::String(format!("{}@{domain}", id.simple())));
    }
    let token = match token.filter(|t| !t.trim().is_empty()) {
        Some(t) => Some(t.trim().chars().take(50).collect()),
        None => match email.get("trackingtoken").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => None,
            _ => Some(format!("CRM:{:07}", s.tx.next_counter(TRACKING_COUNTER)?)),
        },
    };
    if let Some(t) = token {
        changes.insert("trackingtoken".into(), Value::String(t));
    }
    changes.insert("directioncode".into(), Value::Bool(true));
    changes.insert("relata_failurereason".into(), Value::Null);
    changes.insert("statecode".into(), Value::Int(1));
    let subject = email.get("subject").and_then(Value::as_str).unwrap_or("").to_string();
    if issue {
        changes.insert("statuscode".into(), Value::Int(status::PENDING_SEND));
        s.system_update_loaded("email", id, &email, changes)?;
        let mut job = NewJob::new(SEND_JOB, format!("Send email: {}", clip(&subject, 200)), json!({ "email": id }));
        job.regarding = Some(EntityRef { entity: "email".into(), id });
        s.enqueue(job)?;
    } else {
        changes.insert("statuscode".into(), Value::Int(status::SENT));
        changes.insert("senton".into(), Value::DateTime(s.now));
        s.system_update_loaded("email", id, &email, changes)?;
    }
    Ok(subject)
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// What the effect sends, read as SYSTEM.
struct Prepared {
    message: relata_mail::Outgoing,
    smtp: String,
}

fn email_id(data: &Json) -> Result<Uuid> {
    data.get("email")
        .and_then(Json::as_str)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| invalid("the send job's data names no email"))
}

/// Reads the email as it is to be sent; `None` when it no longer waits to
/// be sent (canceled, or sent by an earlier run).
fn prepare(s: &mut Session<'_, '_, '_>, id: Uuid) -> Result<Option<Prepared>> {
    let Some(email) = s.read_system("email", id)? else { return Ok(None) };
    if email.get("statuscode").and_then(Value::as_i64) != Some(status::PENDING_SEND) {
        return Ok(None);
    }
    let mut message = relata_mail::Outgoing::default();
    let mut sender = None;
    for (mask, p, used) in parties_of(s, id)? {
        let address = party_address(s, &p, &used)?;
        match mask {
            party::FROM => {
                sender = p.as_ref().filter(|p| p.entity == "systemuser").map(|p| p.id);
                message.from = match address {
                    Some(a) => Some(a),
                    None => s.org.mail().from_address.clone().map(|email| {
                        let name = p.as_ref().and_then(|p| s.lookup_names(&[p]).ok()?.remove(&p.id));
                        relata_mail::Address { name, email }
                    }),
                };
            }
            party::TO => message.to.extend(address),
            party::CC => message.cc.extend(address),
            party::BCC => message.bcc.extend(address),
            _ => {}
        }
    }
    let text = |n: &str| email.get(n).and_then(Value::as_str).map(str::to_string);
    let subject = text("subject").unwrap_or_default();
    message.subject = match text("trackingtoken") {
        Some(t) if !t.is_empty() && !subject.contains(&t) => format!("{subject} {t}").trim().to_string(),
        _ => subject,
    };
    match text("description") {
        Some(body) if looks_like_html(&body) => message.html = Some(body),
        Some(body) => message.text = Some(body),
        None => message.text = Some(String::new()),
    }
    message.message_id = text("messageid").unwrap_or_else(|| format!("{}@relata", id.simple()));
    if let Some(parent) = text("inreplyto").filter(|p| !p.is_empty()) {
        message.references = vec![parent.clone()];
        message.in_reply_to = Some(parent);
    }
    let notes = s.query_system(
        "annotation",
        &format!("$select=filename,mimetype,documentbody&$filter=_objectid_value eq {id} and isdocument eq true"),
    )?;
    for n in notes {
        if let Some(Value::Bytes(body)) = n.get("documentbody") {
            message.attachments.push(relata_mail::Attachment {
                filename: n.get("filename").and_then(Value::as_str).unwrap_or("attachment").to_string(),
                content_type: n
                    .get("mimetype")
                    .and_then(Value::as_str)
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                body: body.clone(),
            });
        }
    }
    let user = sender.unwrap_or(s.org.ids.system_user);
    let smtp = smtp_url_for(s, user)?.ok_or_else(|| invalid("No SMTP server is configured (RELATA_SMTP_URL)."))?;
    Ok(Some(Prepared { message, smtp }))
}

/// A body written in HTML (a template's, or the editor's), as opposed to
/// plain text typed into the API.
pub(super) fn looks_like_html(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    ["<p", "<br", "<div", "<html", "<table", "<span", "<b>", "<a ", "<ul", "<strong"].iter().any(|t| lower.contains(t))
}

/// SMTP connections by server, kept open between messages.
fn transport(url: &str, org: &Org) -> relata_mail::Result<relata_mail::Smtp> {
    static POOL: OnceLock<Mutex<HashMap<String, relata_mail::Smtp>>> = OnceLock::new();
    let pool = POOL.get_or_init(Default::default);
    let key = format!("{url}\n{}", org.mail().trusted_ca_pem.as_ref().map(|p| p.len()).unwrap_or(0));
    if let Some(smtp) = pool.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(smtp.clone());
    }
    let server = relata_mail::ServerUrl::parse(url)?;
    let roots = match &org.mail().trusted_ca_pem {
        Some(pem) => relata_mail::TrustedRoots::with_pem(pem.clone())?,
        None => relata_mail::TrustedRoots::public(),
    };
    let smtp = relata_mail::Smtp::new(&server, &roots)?;
    let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() > 64 {
        pool.clear();
    }
    pool.insert(key, smtp.clone());
    Ok(smtp)
}

/// The send job's effect: hands the message to the SMTP server.
pub(super) fn effect(org: &Org, _owner: Uuid, data: &Json) -> Json {
    let prepared = email_id(data).and_then(|id| org.read(&org.system_principal(), |s| prepare(s, id)));
    let prepared = match prepared {
        Ok(Some(p)) => p,
        Ok(None) => return json!({ "skipped": true }),
        Err(e) => return json!({ "error": e.to_string(), "transient": matches!(e, EngineError::Store(_)) }),
    };
    let sent = transport(&prepared.smtp, org).and_then(|smtp| smtp.send(&prepared.message));
    match sent {
        Ok(()) => json!({ "sent": true }),
        Err(e) => json!({ "error": e.to_string(), "transient": e.is_transient() }),
    }
}

/// The send job's step: records the effect's outcome on the email.
pub(super) fn step(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let id = email_id(&job.data)?;
    let Some(email) = s.read_system("email", id)? else {
        return Ok(JobStep::Done(Some("The email was deleted before it was sent.".into())));
    };
    if email.get("statuscode").and_then(Value::as_i64) != Some(status::PENDING_SEND) {
        return Ok(JobStep::Done(Some("The email was no longer waiting to be sent.".into())));
    }
    let outcome = job.effect.clone().unwrap_or(Json::Null);
    let attempts = email.get("deliveryattempts").and_then(Value::as_i64).unwrap_or(0) + 1;
    let mut changes = Fields::new();
    changes.insert("deliveryattempts".into(), Value::Int(attempts));
    if outcome.get("sent").and_then(Json::as_bool) == Some(true) {
        changes.insert("statuscode".into(), Value::Int(status::SENT));
        changes.insert("senton".into(), Value::DateTime(s.now));
        changes.insert("relata_failurereason".into(), Value::Null);
        s.system_update_loaded("email", id, &email, changes)?;
        return Ok(JobStep::Done(Some("Sent.".into())));
    }
    if outcome.get("skipped").and_then(Json::as_bool) == Some(true) {
        return Ok(JobStep::Done(Some("The email was no longer waiting to be sent.".into())));
    }
    let why =
        outcome.get("error").and_then(Json::as_str).unwrap_or("the message was not handed to the server").to_string();
    let transient = outcome.get("transient").and_then(Json::as_bool).unwrap_or(true);
    changes.insert("relata_failurereason".into(), Value::String(clip(&why, 2000)));
    if transient && !job.last_attempt {
        s.system_update_loaded("email", id, &email, changes)?;
        return Ok(JobStep::Retry(why));
    }
    changes.insert("statecode".into(), Value::Int(0));
    changes.insert("statuscode".into(), Value::Int(status::FAILED));
    s.system_update_loaded("email", id, &email, changes)?;
    Ok(JobStep::Failed(why))
}
