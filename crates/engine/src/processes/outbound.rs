//! Calls out over HTTP from workflows: a webhook (a POST of the record as
//! JSON to a configured URL) and a message through a channel (an SMS
//! provider's or a messenger bot's HTTP API). Each call is a system job of
//! its own, so a workflow's transaction never waits on a remote server:
//! the job's effect makes the request outside any transaction, its step
//! records the answer, and a refused connection, a 429 or a 5xx is retried
//! with back-off (five attempts) before the job fails with the reason.
//! At least once: the receiver should expect a repeat after a restart.

use std::sync::OnceLock;
use std::time::Duration;

use relata_metadata::{EntityRef, Value};
use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::jobs::{JobContext, JobStep, NewJob};
use crate::org::Org;
use crate::session::{Fields, Session};

pub(super) const HTTP_JOB: &str = "processes.http";
pub(super) const ATTEMPTS: i64 = 5;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// A URL a workflow may call: http or https, with a host.
pub(super) fn check_url(url: &str) -> Result<()> {
    let lower = url.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        _ => Err(invalid(format!("'{url}' is not an http:// or https:// URL"))),
    }
}

/// A record as a webhook receives it: its columns as JSON, lookups as
/// `{entity, id}`, amounts as exact strings.
pub(super) fn record_json(fields: &Fields) -> Json {
    let mut m = Map::new();
    for (k, v) in fields {
        let j = match v {
            Value::Null => Json::Null,
            Value::Bool(b) => json!(b),
            Value::Int(i) => json!(i),
            Value::Decimal(d) => json!(d.normalize().to_string()),
            Value::Double(d) => json!(d),
            Value::String(t) => json!(t),
            Value::Uuid(u) => json!(u),
            Value::DateTime(t) => json!(t.to_rfc3339()),
            Value::Ref(r) => json!({ "entity": r.entity, "id": r.id }),
            Value::Options(o) => json!(o),
            Value::Bytes(_) => continue,
        };
        m.insert(k.clone(), j);
    }
    Json::Object(m)
}

/// Queues a POST of `body` to `url`.
pub(super) fn enqueue(
    s: &mut Session<'_, '_, '_>,
    name: String,
    url: &str,
    headers: Map<String, Json>,
    body: Json,
    regarding: Option<EntityRef>,
) -> Result<Uuid> {
    check_url(url)?;
    let mut job = NewJob::new(HTTP_JOB, name, json!({ "url": url, "headers": headers, "body": body }));
    job.regarding = regarding;
    s.enqueue(job)
}

/// A message through a channel: its JSON with the recipient and the text.
pub(super) fn message(
    s: &mut Session<'_, '_, '_>,
    channel: Uuid,
    to: &str,
    text: &str,
    regarding: EntityRef,
) -> Result<Uuid> {
    let c = s
        .read_system("relata_messagechannel", channel)?
        .ok_or_else(|| invalid(format!("there is no message channel {channel}")))?;
    let get = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    let url = get("relata_url").ok_or_else(|| invalid("the channel has no URL"))?;
    let mut body = match get("relata_extra").filter(|t| !t.trim().is_empty()) {
        Some(t) => serde_json::from_str::<Json>(&t)
            .ok()
            .filter(Json::is_object)
            .ok_or_else(|| invalid("the channel's 'More JSON' is not a JSON object"))?,
        None => json!({}),
    };
    body[get("relata_tokey").unwrap_or_else(|| "to".into())] = json!(to);
    body[get("relata_textkey").unwrap_or_else(|| "text".into())] = json!(text);
    let mut headers = Map::new();
    if let Some(token) = get("relata_token").filter(|t| !t.is_empty()) {
        headers.insert("Authorization".into(), json!(format!("Bearer {token}")));
    }
    let name = format!("Message through {}", get("relata_name").unwrap_or_default());
    enqueue(s, name, &url, headers, body, Some(regarding))
}

fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Relata/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::blocking::Client::new())
    })
}

/// The job's effect: the request, outside any transaction.
pub(super) fn effect(_: &Org, _: Uuid, data: &Json) -> Json {
    let Some(url) = data.get("url").and_then(Json::as_str) else {
        return json!({ "error": "the job names no URL", "transient": false });
    };
    let mut request = client().post(url).header("Content-Type", "application/json");
    for (k, v) in data.get("headers").and_then(Json::as_object).cloned().unwrap_or_default() {
        if let Some(v) = v.as_str() {
            request = request.header(k, v);
        }
    }
    let body = data.get("body").cloned().unwrap_or(Json::Null).to_string();
    match request.body(body).send() {
        Ok(r) => {
            let status = r.status().as_u16();
            let text: String = r.text().unwrap_or_default().chars().take(2000).collect();
            json!({ "status": status, "body": text })
        }
        Err(e) => json!({ "error": format!("{url}: {e}"), "transient": true }),
    }
}

/// The job's step: the answer, or a retry, or the reason it failed.
pub(super) fn step(_: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let outcome = job.effect.clone().unwrap_or(Json::Null);
    let url = job.data.get("url").and_then(Json::as_str).unwrap_or_default().to_string();
    if let Some(e) = outcome.get("error").and_then(Json::as_str) {
        let transient = outcome.get("transient").and_then(Json::as_bool).unwrap_or(true);
        return Ok(if transient { JobStep::Retry(e.to_string()) } else { JobStep::Failed(e.to_string()) });
    }
    let status = outcome.get("status").and_then(Json::as_u64).unwrap_or(0);
    let body = outcome.get("body").and_then(Json::as_str).unwrap_or_default();
    let said = format!("{url} answered {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") });
    Ok(match status {
        200..=299 => JobStep::Done(Some(said)),
        429 | 500..=599 => JobStep::Retry(said),
        _ => JobStep::Failed(said),
    })
}
