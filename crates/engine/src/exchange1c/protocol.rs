//! The "exchange with site" protocol as 1C speaks it: one URL, `type` and
//! `mode` in the query, plain-text answers whose first line is `success`,
//! `progress` or `failure` (HTTP 200 even for a failure: 1C reads the
//! line, not the status). `checkauth` signs the user in with HTTP Basic
//! and hands out a cookie and a `sessid`, either of which identifies the
//! later calls; a client that sends Basic on every call is signed in each
//! time. Sign-in goes through the platform's, so its throttling and audit
//! hold here too.

use base64::Engine as _;
use relata_metadata::Value;
use relata_security::Principal;
use uuid::Uuid;

use super::import::{import_call, Answer};
use super::{catalog, nodes, sale, uploads, PRIVILEGE};
use crate::error::{EngineError, Result};
use crate::modules::{EndpointRequest, EndpointResponse};
use crate::org::Org;

/// The cookie `checkauth` hands out.
const COOKIE: &str = "relata_1c";
/// Schema versions this side reads; 1C's `init&version=` is answered with
/// the version it asked for when it is one of them.
const VERSIONS: [&str; 9] = ["2.03", "2.04", "2.05", "2.06", "2.07", "2.08", "2.09", "2.10", "3.1"];
/// Uploads older than this when a new exchange starts are leftovers of
/// an exchange that never finished.
const STALE_AFTER_HOURS: i64 = 24;

fn answer(lines: &[&str]) -> EndpointResponse {
    let mut body = lines.join("\n");
    body.push('\n');
    EndpointResponse::new(200, "text/plain; charset=utf-8", body)
}

fn failure(why: &str) -> EndpointResponse {
    // One line of message: 1C shows the second line in its log.
    let why = why.replace(['\r', '\n'], " ");
    answer(&["failure", &why])
}

pub(super) fn handle(org: &Org, req: &EndpointRequest) -> EndpointResponse {
    let kind = req.param("type").unwrap_or("");
    let mode = req.param("mode").unwrap_or("");
    if !matches!(kind, "catalog" | "sale") {
        return failure(&format!("unknown exchange type '{kind}': Relata exchanges 'catalog' and 'sale'"));
    }
    if req.body_too_large {
        return failure(&format!(
            "the request is larger than the server accepts ({} bytes): send files in parts no larger than init's file_limit",
            req.max_body_bytes
        ));
    }
    if mode == "checkauth" {
        return check_auth(org, req);
    }
    let (token, principal) = match caller(org, req) {
        Ok(c) => c,
        Err(e) => return failure(&e.to_string()),
    };
    let outcome = match (kind, mode) {
        (_, "init") => init(org, req, &token, &principal),
        (_, "file") => file(org, req, &principal, kind == "sale"),
        (_, "import") => import(org, req, &principal),
        ("catalog", "deactivate") => deactivate(org, req, &principal),
        (_, "complete") => Ok(answer(&["success"])),
        ("sale", "query") => query(org, req, &principal),
        ("sale", "success") => bookkeeping(org, &principal, sale::confirm).map(|_| answer(&["success"])),
        ("sale", "info") => Ok(EndpointResponse::new(200, "application/xml; charset=utf-8", sale::info())),
        _ => Ok(failure(&format!("unknown mode '{mode}' for type '{kind}'"))),
    };
    outcome.unwrap_or_else(|e| failure(&e.to_string()))
}

/// The user and password of an HTTP Basic header.
fn basic(req: &EndpointRequest) -> Option<(String, String)> {
    let value = req.header("authorization")?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Signs in with HTTP Basic; the user must hold the exchange privilege.
fn sign_in(org: &Org, req: &EndpointRequest) -> Result<(String, std::sync::Arc<Principal>)> {
    let (user, password) = basic(req).ok_or_else(|| {
        EngineError::Unauthorized(
            "no HTTP Basic credentials: give 1C a Relata user and password (a proxy may strip the Authorization header)"
                .into(),
        )
    })?;
    let signed = org.sign_in(&user, &password, &req.client_address, &req.sign_in)?;
    let principal = org.authenticate(&signed.token)?;
    if !principal.has(PRIVILEGE) {
        org.revoke_token_value(&signed.token)?;
        return Err(EngineError::Unauthorized(format!(
            "the user {user} may not exchange with 1C: a role with the privilege {PRIVILEGE} is needed"
        )));
    }
    Ok((signed.token, principal))
}

/// The caller of a call after `checkauth`: by cookie, by `sessid`, or by
/// HTTP Basic again.
fn caller(org: &Org, req: &EndpointRequest) -> Result<(String, std::sync::Arc<Principal>)> {
    let token = req.cookie(COOKIE).or_else(|| req.param("sessid")).map(str::to_string);
    let Some(token) = token.filter(|t| !t.is_empty()) else { return sign_in(org, req) };
    let principal = org.authenticate(&token).map_err(|e| match e {
        EngineError::Unauthorized(why) => {
            EngineError::Unauthorized(format!("{why} Start the exchange again (checkauth)."))
        }
        other => other,
    })?;
    if !principal.has(PRIVILEGE) {
        return Err(EngineError::Unauthorized(format!("a role with the privilege {PRIVILEGE} is needed")));
    }
    Ok((token, principal))
}

fn check_auth(org: &Org, req: &EndpointRequest) -> EndpointResponse {
    match sign_in(org, req) {
        Ok((token, _)) => {
            let sessid = format!("sessid={token}");
            let timestamp = format!("timestamp={}", org.now().timestamp());
            answer(&["success", COOKIE, &token, &sessid, &timestamp])
                .header("set-cookie", format!("{COOKIE}={token}; Path=/; HttpOnly"))
        }
        Err(e) => failure(&e.to_string()),
    }
}

/// Runs `f` as the system for the exchange's bookkeeping, with the
/// caller's node.
fn bookkeeping<R>(
    org: &Org,
    principal: &Principal,
    f: impl FnOnce(&mut crate::session::Session<'_, '_, '_>, Uuid) -> Result<R>,
) -> Result<R> {
    let system = org.system_principal();
    org.write(&system, |s| {
        let node = nodes::node_of(s, principal.user_id)?;
        f(s, node)
    })
}

fn init(org: &Org, req: &EndpointRequest, token: &str, principal: &Principal) -> Result<EndpointResponse> {
    let version = req.param("version").map(|v| if VERSIONS.contains(&v) { v } else { "3.1" });
    bookkeeping(org, principal, |s, node| {
        // A new exchange, of either kind, means the last one has ended.
        super::import::settle(s, node)?;
        let before = s.now - chrono::Duration::hours(STALE_AFTER_HOURS);
        uploads::remove_stale(s, node, before)?;
        // Whether 1C said its version decides how it sends order statuses.
        let v = version.map_or(Value::Null, |v| Value::String(v.into()));
        let mut changes: crate::session::Fields = [("relata_schemaversion".to_string(), v)].into_iter().collect();
        // A full unload of 2.x counts what the files since then named.
        if req.param("type") == Some("catalog") {
            changes.insert("relata_catalogstartedon".into(), Value::DateTime(s.now));
        }
        s.system_update("relata_exchangenode", node, changes)
    })?;
    // Slices of at most 8 MiB: each is one transaction, and a bigger one
    // would hold SQLite's single writer long enough for other saves to
    // wait; under the server's body limit, with room for the request.
    let limit = req.max_body_bytes.saturating_sub(64 * 1024).clamp(64 * 1024, 8 * 1024 * 1024);
    let mut lines = vec!["zip=yes".to_string(), format!("file_limit={limit}")];
    if let Some(version) = version {
        lines.push(format!("sessid={token}"));
        lines.push(format!("version={version}"));
    }
    Ok(answer(&lines.iter().map(String::as_str).collect::<Vec<_>>()))
}

fn file_name(req: &EndpointRequest) -> Result<String> {
    let name = req.param("filename").ok_or_else(|| EngineError::Invalid("the filename parameter is missing".into()))?;
    uploads::normalize(name).map_err(EngineError::Invalid)
}

/// Keeps an uploaded slice. 1C that did not say its version at `init`
/// (the old sale protocol) sends order statuses expecting them processed
/// on upload, without an `import`: their import starts here.
fn file(org: &Org, req: &EndpointRequest, principal: &Principal, sale: bool) -> Result<EndpointResponse> {
    if req.method != "POST" {
        return Ok(failure("a file is uploaded with POST"));
    }
    let name = file_name(req)?;
    bookkeeping(org, principal, |s, node| {
        uploads::append(s, node, &name, &req.body)?;
        let settings = s.read_system("relata_exchangenode", node)?.unwrap_or_default();
        let old_protocol = settings.get("relata_schemaversion").is_none_or(Value::is_null);
        if sale && old_protocol {
            import_call(s, node, principal.user_id, &name)?;
        }
        Ok(())
    })?;
    Ok(answer(&["success"]))
}

/// The orders 1C has not confirmed, as CommerceML in its version.
fn query(org: &Org, req: &EndpointRequest, principal: &Principal) -> Result<EndpointResponse> {
    let (orders, version) = bookkeeping(org, principal, |s, node| {
        let settings = s.read_system("relata_exchangenode", node)?.unwrap_or_default();
        let asked = req
            .param("version")
            .map(str::to_string)
            .or_else(|| settings.get("relata_schemaversion").and_then(Value::as_str).map(str::to_string));
        let version = asked.and_then(|v| v.parse().ok()).unwrap_or(relata_commerceml::SchemaVersion::V2_05);
        Ok((sale::query(s, node)?, version))
    })?;
    let xml = relata_commerceml::write_orders(&orders, version, relata_commerceml::Encoding::Utf8);
    Ok(EndpointResponse::new(200, "application/xml; charset=utf-8", xml))
}

fn import(org: &Org, req: &EndpointRequest, principal: &Principal) -> Result<EndpointResponse> {
    let name = file_name(req)?;
    let outcome = bookkeeping(org, principal, |s, node| import_call(s, node, principal.user_id, &name))?;
    Ok(match outcome {
        Answer::Progress(m) => answer(&["progress", &m]),
        Answer::Success(m) => answer(&["success", &m]),
        Answer::Failure(m) => failure(&m),
    })
}

fn deactivate(org: &Org, req: &EndpointRequest, principal: &Principal) -> Result<EndpointResponse> {
    let since = req
        .param("timestamp")
        .and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .ok_or_else(|| EngineError::Invalid("deactivate needs the timestamp checkauth gave".into()))?;
    let retired = org.write(principal, |s| {
        let node = nodes::node_of(s, principal.user_id)?;
        catalog::retire_untouched(s, node, since, true)
    })?;
    Ok(answer(&["success", &format!("{retired} products not in the full unload were retired")]))
}
