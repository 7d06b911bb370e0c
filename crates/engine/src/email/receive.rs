//! Receiving: a recurring job polls each active mailbox over IMAP. Its
//! effect fetches what arrived since the mailbox's last UID, outside any
//! transaction; its step files each message as a received email — linked
//! to the records whose addresses it carries and to the thread it answers
//! (In-Reply-To, References, then the tracking token in the subject) — and
//! moves the mailbox's last UID in the same transaction. A message whose
//! Message-ID is already filed is skipped, so nothing is filed twice even
//! when a step is retried or two mailboxes receive the same message.

use base64::Engine as _;
use relata_metadata::{EntityRef, Value};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::address;
use super::send::{party, status};
use crate::error::{EngineError, Result};
use crate::jobs::{JobContext, JobStep};
use crate::modules::StepContext;
use crate::org::Org;
use crate::session::{Fields, RecordInput, Session};

/// Messages taken from one mailbox per step; more wait for the next step.
const BATCH: usize = 50;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// A mailbox's URLs parse, each as its protocol.
pub(super) fn check_mailbox(_: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    for (column, protocol) in
        [("relata_incomingurl", relata_mail::Protocol::Imap), ("relata_outgoingurl", relata_mail::Protocol::Smtp)]
    {
        let Some(Value::String(url)) = ctx.target.get(column) else { continue };
        if url.trim().is_empty() {
            ctx.target.insert(column.into(), Value::Null);
            continue;
        }
        let parsed = relata_mail::ServerUrl::parse(url)
            .map_err(|e| EngineError::refused(Some(column), "email.mailbox_url", vec![], e.to_string()))?;
        if parsed.protocol != protocol {
            let want = if protocol == relata_mail::Protocol::Imap {
                "an IMAP (imap://, imaps://)"
            } else {
                "an SMTP (smtp://, smtps://)"
            };
            return Err(EngineError::refused(
                Some(column),
                "email.mailbox_protocol",
                vec![],
                format!("{parsed} is not {want} URL."),
            ));
        }
    }
    Ok(())
}

/// A mailbox to poll, as the effect reads it.
struct Due {
    id: Uuid,
    url: String,
    uid_validity: Option<u32>,
    last_uid: u32,
}

/// The organization's mailbox exists while an IMAP URL is configured. It
/// belongs to SYSTEM: what it receives goes to the owner of the thread it
/// answers, else of the customer who wrote (see [`file_message`]).
fn ensure_org_mailbox(s: &mut Session<'_, '_, '_>) -> Result<()> {
    let Some(url) = s.org.mail().imap_url.clone() else { return Ok(()) };
    if !s.query_system("mailbox", "$select=mailboxid&$filter=relata_isdefault eq true")?.is_empty() {
        return Ok(());
    }
    let address = s
        .org
        .mail()
        .from_address
        .clone()
        .or_else(|| relata_mail::ServerUrl::parse(&url).ok().and_then(|u| u.user).filter(|u| u.contains('@')));
    let fields = vec![
        ("name".to_string(), Value::String("Organization mailbox".into())),
        ("emailaddress".to_string(), address.map(Value::String).unwrap_or(Value::Null)),
    ];
    let id = s.as_system(|s| s.create("mailbox", RecordInput::new(fields)))?;
    let mut changes = Fields::new();
    changes.insert("relata_isdefault".into(), Value::Bool(true));
    s.system_update("mailbox", id, changes)
}

/// The mailboxes due for a poll: active, with an incoming server, not
/// polled within the configured interval (or named by `force`).
fn due(s: &mut Session<'_, '_, '_>, force: &[Uuid]) -> Result<Vec<Due>> {
    let minutes = i64::from(s.org.mail().poll_minutes.max(1));
    let rows = s.query_system(
        "mailbox",
        "$select=mailboxid,relata_incomingurl,relata_isdefault,relata_uidvalidity,relata_lastuid,relata_lastpolledon&$filter=statecode eq 0",
    )?;
    let mut out = Vec::new();
    for r in rows {
        let Some(id) = r.get("mailboxid").and_then(Value::as_uuid) else { continue };
        let own = r.get("relata_incomingurl").and_then(Value::as_str).map(str::to_string);
        let url = match own {
            Some(u) => u,
            None if r.get("relata_isdefault").and_then(Value::as_bool) == Some(true) => {
                match s.org.mail().imap_url.clone() {
                    Some(u) => u,
                    None => continue,
                }
            }
            None => continue,
        };
        let last = r.get("relata_lastpolledon").and_then(Value::as_datetime);
        let is_due = force.contains(&id)
            || last.is_none_or(|t| s.now - t >= chrono::Duration::minutes(minutes) - chrono::Duration::seconds(5));
        if !is_due {
            continue;
        }
        out.push(Due {
            id,
            url,
            uid_validity: r.get("relata_uidvalidity").and_then(Value::as_i64).and_then(|v| u32::try_from(v).ok()),
            last_uid: r.get("relata_lastuid").and_then(Value::as_i64).and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
        });
    }
    Ok(out)
}

/// The poll job's effect: fetches the new messages of each due mailbox.
pub(super) fn fetch(org: &Org, _owner: Uuid, data: &Json) -> Json {
    let force: Vec<Uuid> = data
        .get("continue")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let mailboxes = match org.read(&org.system_principal(), |s| due(s, &force)) {
        Ok(m) => m,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let roots = match &org.mail().trusted_ca_pem {
        Some(pem) => relata_mail::TrustedRoots::with_pem(pem.clone()).unwrap_or_default(),
        None => relata_mail::TrustedRoots::public(),
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for m in mailboxes {
        let fetched = relata_mail::ServerUrl::parse(&m.url)
            .and_then(|server| relata_mail::fetch_new(&server, &roots, m.uid_validity, m.last_uid, BATCH));
        out.push(match fetched {
            Ok(f) => json!({
                "id": m.id,
                "uidvalidity": f.uid_validity,
                "more": f.more,
                "messages": f.messages.iter().map(|x| json!({ "uid": x.uid, "raw": b64.encode(&x.raw) })).collect::<Vec<_>>(),
            }),
            Err(e) => json!({ "id": m.id, "error": e.to_string() }),
        });
    }
    json!({ "mailboxes": out })
}

/// The poll job's step: files what the effect fetched.
pub(super) fn poll(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    ensure_org_mailbox(s)?;
    let outcome = job.effect.clone().unwrap_or(Json::Null);
    if let Some(e) = outcome.get("error").and_then(Json::as_str) {
        return Ok(JobStep::Failed(e.to_string()));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut again = Vec::new();
    let (mut filed, mut skipped) = (0usize, 0usize);
    for m in outcome.get("mailboxes").and_then(Json::as_array).cloned().unwrap_or_default() {
        let Some(id) = m.get("id").and_then(Json::as_str).and_then(|v| v.parse::<Uuid>().ok()) else { continue };
        let Some(mailbox) = s.read_system("mailbox", id)? else { continue };
        let mut changes = Fields::new();
        changes.insert("relata_lastpolledon".into(), Value::DateTime(s.now));
        if let Some(e) = m.get("error").and_then(Json::as_str) {
            changes.insert("relata_lasterror".into(), Value::String(e.chars().take(2000).collect()));
            s.system_update_loaded("mailbox", id, &mailbox, changes)?;
            continue;
        }
        let validity = m.get("uidvalidity").and_then(Json::as_i64).unwrap_or(0);
        let mut last_uid = if mailbox.get("relata_uidvalidity").and_then(Value::as_i64) == Some(validity) {
            mailbox.get("relata_lastuid").and_then(Value::as_i64).unwrap_or(0)
        } else {
            0
        };
        let mut problems = Vec::new();
        for msg in m.get("messages").and_then(Json::as_array).cloned().unwrap_or_default() {
            let uid = msg.get("uid").and_then(Json::as_i64).unwrap_or(0);
            let raw = msg.get("raw").and_then(Json::as_str).and_then(|r| b64.decode(r).ok()).unwrap_or_default();
            // One message that cannot be filed does not hold the others up:
            // it is named in the mailbox's last error and left on the server.
            match s.savepoint(|s| file_message(s, &mailbox, id, &raw)) {
                Ok(true) => filed += 1,
                Ok(false) => skipped += 1,
                Err(e) => problems.push(format!("UID {uid}: {e}")),
            }
            last_uid = last_uid.max(uid);
        }
        changes.insert("relata_uidvalidity".into(), Value::Int(validity));
        changes.insert("relata_lastuid".into(), Value::Int(last_uid));
        changes.insert(
            "relata_lasterror".into(),
            if problems.is_empty() {
                Value::Null
            } else {
                Value::String(problems.join("; ").chars().take(2000).collect())
            },
        );
        if filed > 0 {
            changes.insert("relata_lastreceivedon".into(), Value::DateTime(s.now));
        }
        s.system_update_loaded("mailbox", id, &mailbox, changes)?;
        if m.get("more").and_then(Json::as_bool) == Some(true) {
            again.push(Json::String(id.to_string()));
        }
    }
    let message = format!("{filed} received, {skipped} already filed");
    if again.is_empty() {
        job.data = json!({});
        Ok(JobStep::Done(Some(message)))
    } else {
        job.data = json!({ "continue": again });
        Ok(JobStep::Continue)
    }
}

/// An email already filed under this Message-ID, if any.
fn email_by(s: &mut Session<'_, '_, '_>, column: &str, value: &str) -> Result<Option<Fields>> {
    let literal = value.replace('\'', "''");
    let rows = s.query_system(
        "email",
        &format!("$select=activityid,regardingobjectid,ownerid&$filter={column} eq '{literal}'&$top=1"),
    )?;
    Ok(rows.into_iter().next())
}

/// `CRM:0001234` in a subject.
fn tracking_token(subject: &str) -> Option<String> {
    let at = subject.find("CRM:")?;
    let digits: String = subject[at + 4..].chars().take_while(char::is_ascii_digit).collect();
    (digits.len() >= 4).then(|| format!("CRM:{digits}"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Files one received message; false when it was filed before.
fn file_message(s: &mut Session<'_, '_, '_>, mailbox: &Fields, mailbox_id: Uuid, raw: &[u8]) -> Result<bool> {
    let m = relata_mail::Received::parse(raw).map_err(|e| invalid(e.to_string()))?;
    // A message without a Message-ID is known by its content.
    let message_id = m.message_id.clone().unwrap_or_else(|| {
        use sha2::Digest;
        format!("{}@relata.hash", hex::encode(&sha2::Sha256::digest(raw)[..16]))
    });
    let message_id: String = message_id.chars().take(320).collect();
    if email_by(s, "messageid", &message_id)?.is_some() {
        return Ok(false);
    }
    // The thread: what it answers, then what it refers to, then the token.
    let mut parent = None;
    for id in m.in_reply_to.iter().chain(m.references.iter().rev()) {
        if let Some(p) = email_by(s, "messageid", id)? {
            parent = Some(p);
            break;
        }
    }
    if parent.is_none() {
        if let Some(token) = tracking_token(&m.subject) {
            parent = email_by(s, "trackingtoken", &token)?;
        }
    }
    let resolve = |s: &mut Session<'_, '_, '_>, a: &relata_mail::Address| -> Result<Option<EntityRef>> {
        Ok(address::records_with(s, &a.email)?.into_iter().next())
    };
    let sender = match &m.from {
        Some(a) => resolve(s, a)?,
        None => None,
    };
    let regarding = match &parent {
        Some(p) => p.get("regardingobjectid").cloned().filter(|v| !v.is_null()),
        // A new conversation is filed under the customer who wrote it.
        None => sender.clone().filter(|r| r.entity != "systemuser").map(Value::Ref),
    };
    // A user's own mailbox keeps what it receives; the organization's
    // hands it to whoever owns the thread, else the customer who wrote.
    let shared = mailbox.get("relata_isdefault").and_then(Value::as_bool) == Some(true);
    let mut owner = mailbox.get("ownerid").cloned().unwrap_or(Value::Null);
    if shared {
        let thread_owner = parent.as_ref().and_then(|p| p.get("ownerid")).cloned();
        let customer_owner = match &sender {
            Some(r) if r.entity != "systemuser" => {
                s.read_system(&r.entity, r.id)?.and_then(|f| f.get("ownerid").cloned())
            }
            _ => None,
        };
        if let Some(o) = thread_owner.or(customer_owner).filter(|o| !o.is_null()) {
            owner = o;
        }
    }
    let description = match (&m.html, &m.text) {
        (Some(h), _) => h.clone(),
        (None, Some(t)) => format!("<pre>{}</pre>", escape(t)),
        (None, None) => String::new(),
    };
    let mut fields = vec![
        ("subject".to_string(), Value::String(m.subject.chars().take(800).collect())),
        ("description".to_string(), Value::String(description)),
        ("directioncode".to_string(), Value::Bool(false)),
        ("messageid".to_string(), Value::String(message_id)),
    ];
    if !owner.is_null() {
        fields.push(("ownerid".into(), owner));
    }
    if let Some(r) = regarding {
        fields.push(("regardingobjectid".into(), r));
    }
    if let Some(p) = m.in_reply_to.clone() {
        fields.push(("inreplyto".into(), Value::String(p.chars().take(320).collect())));
    }
    if let Some(p) = parent.as_ref().and_then(|p| p.get("activityid")).and_then(Value::as_uuid) {
        fields.push(("parentactivityid".into(), Value::Ref(EntityRef { entity: "email".into(), id: p })));
    }
    let id = s.create("email", RecordInput::new(fields))?;
    let email_ref = Value::Ref(EntityRef { entity: "email".into(), id });
    let mut parties: Vec<(i64, &relata_mail::Address)> = Vec::new();
    parties.extend(m.from.iter().map(|a| (party::FROM, a)));
    parties.extend(m.to.iter().map(|a| (party::TO, a)));
    parties.extend(m.cc.iter().map(|a| (party::CC, a)));
    for (mask, a) in parties {
        let record = if mask == party::FROM { sender.clone() } else { resolve(s, a)? };
        let mut p = vec![
            ("activityid".to_string(), email_ref.clone()),
            ("participationtypemask".to_string(), Value::Int(mask)),
            ("addressused".to_string(), Value::String(a.email.chars().take(320).collect())),
        ];
        match record {
            Some(r) => p.push(("partyid".into(), Value::Ref(r))),
            None => p.push((
                "unresolvedpartyname".into(),
                Value::String(a.name.clone().unwrap_or_else(|| a.email.clone()).chars().take(200).collect()),
            )),
        }
        s.create("activityparty", RecordInput::new(p))?;
    }
    for a in &m.attachments {
        s.create(
            "annotation",
            RecordInput::new(vec![
                ("objectid".into(), email_ref.clone()),
                ("subject".into(), Value::String(a.filename.chars().take(200).collect())),
                ("filename".into(), Value::String(a.filename.chars().take(255).collect())),
                ("mimetype".into(), Value::String(a.content_type.chars().take(256).collect())),
                ("documentbody".into(), Value::Bytes(a.body.clone())),
            ]),
        )?;
    }
    let mut changes = Fields::new();
    changes.insert("statecode".into(), Value::Int(1));
    changes.insert("statuscode".into(), Value::Int(status::RECEIVED));
    changes.insert("relata_mailboxid".into(), Value::Ref(EntityRef { entity: "mailbox".into(), id: mailbox_id }));
    changes.insert("senton".into(), m.date.map(Value::DateTime).unwrap_or(Value::Null));
    s.system_update("email", id, changes)?;
    Ok(true)
}
