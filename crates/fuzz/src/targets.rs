//! The targets: each turns an input into real requests, sends them through
//! the router and checks what came back.
//!
//! Inputs are text with a few conventions, so that corpus files stay
//! readable and mutations keep their meaning:
//! - `{account}`, `{contact2}`, `{user}`, `{businessunit}`, `{currency}`… stand
//!   for the ids of the seeded records (see `Harness::substitute`);
//! - an OData option target's input may start with an entity set on a line
//!   of its own (`contacts\n<value>`); without one it queries `accounts`;
//! - the other formats are described at each target.

use std::panic::AssertUnwindSafe;

use http::Method;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};

use crate::finding::{Finding, Kind};
use crate::harness::{Call, Ctx, Harness, Reply, WRITABLE_SETS};

/// A target: its name (the corpus and dictionary directory) and its code.
pub struct Target {
    pub name: &'static str,
    /// Writes are expected (still: a refused one must change nothing).
    pub writes: bool,
    run: fn(&Harness, &Ctx<'_>, &[u8]) -> Result<(), Finding>,
}

pub const TARGETS: &[Target] = &[
    Target { name: "odata_filter", writes: false, run: odata_filter },
    Target { name: "odata_orderby", writes: false, run: odata_orderby },
    Target { name: "odata_select", writes: false, run: odata_select },
    Target { name: "odata_expand", writes: false, run: odata_expand },
    Target { name: "odata_apply", writes: false, run: odata_apply },
    Target { name: "odata_skiptoken", writes: false, run: odata_skiptoken },
    Target { name: "odata_query", writes: false, run: odata_query },
    Target { name: "fetchxml", writes: false, run: fetchxml },
    Target { name: "json_body", writes: true, run: json_body },
    Target { name: "batch", writes: true, run: batch },
    Target { name: "form", writes: true, run: form },
];

pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Runs one input of `target` on `h`. Any 5xx, any panic and, for the read
/// targets, any change to the database is a finding.
pub fn run(h: &Harness, target: &Target, input: &[u8]) -> Result<(), Finding> {
    let ctx = Ctx { target: target.name, backend: h.backend, input };
    let before = (!target.writes).then(|| h.fingerprint_before());
    let out = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(h, &ctx, input)));
    let out = match out {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            let call = Call::new(Method::GET, format!("(target {})", target.name));
            Err(ctx.finding(Kind::Panic, &call, &message, ""))
        }
    };
    if let Some(before) = before {
        let after = h.fingerprint_after();
        if out.is_ok() && before != after {
            let call = Call::new(Method::GET, format!("(the requests of target {})", target.name));
            return Err(ctx.finding(Kind::Wrote, &call, &h.describe_change(&before, &after), ""));
        }
    }
    out
}

/// Everything but letters and digits encoded: the value arrives exactly as given.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Only what cannot stand in a URI encoded: `%`, `+`, `&` and `=` reach the
/// server's own decoding as typed.
const RAW: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

fn enc(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, VALUE).to_string()
}

fn raw(bytes: &[u8]) -> String {
    // Bytes that are not UTF-8 are encoded one by one.
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&utf8_percent_encode(chunk.valid(), RAW).to_string());
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A header value made of what a header can carry.
fn header_value(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().filter(|c| *c == '\t' || (' '..='~').contains(c)).collect()
}

/// A cheap deterministic choice from the input.
fn variant(data: &[u8], n: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h = (h ^ *b as u64).wrapping_mul(0x100000001b3);
    }
    h % n
}

fn first_line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let nl = data.iter().position(|&b| b == b'\n')?;
    let line = &data[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, &data[nl + 1..]))
}

/// `set\nvalue` → (set, value); without a known set on the first line, accounts.
fn split_set<'a>(h: &Harness, data: &'a [u8]) -> (String, &'a [u8]) {
    if let Some((line, rest)) = first_line(data) {
        if let Ok(s) = std::str::from_utf8(line) {
            if h.set(s.trim()).is_some() {
                return (s.trim().to_string(), rest);
            }
        }
    }
    ("accounts".into(), data)
}

/// A seeded record of a set, or a GUID nobody has.
fn some_id(h: &Harness, set: &str) -> String {
    h.set(set)
        .and_then(|i| h.seed_of(&i.entity))
        .map(str::to_string)
        .unwrap_or_else(|| "00000000-0000-0000-0000-00000000f022".into())
}

fn listing(h: &Harness, path_and_query: &str, page: usize) -> Call {
    h.api(Method::GET, path_and_query)
        .header("prefer", format!("odata.maxpagesize={page},odata.include-annotations=\"*\""))
}

/// Follows a collection's `@odata.nextLink` once.
fn follow(h: &Harness, ctx: &Ctx<'_>, reply: &Reply) -> Result<(), Finding> {
    if reply.status != 200 {
        return Ok(());
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&reply.body) else { return Ok(()) };
    let Some(next) = v["@odata.nextLink"].as_str() else { return Ok(()) };
    let Some(at) = next.find(crate::harness::API) else { return Ok(()) };
    let rest = &next[at + crate::harness::API.len()..];
    h.send(ctx, &listing(h, rest, 3))?;
    Ok(())
}

/// `$filter`: on a list, on a counted and ordered list, and on `/$count`.
fn odata_filter(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (set, v) = split_set(h, &data);
    let pn = h.set(&set).map(|i| i.primary_name.clone()).unwrap_or_default();
    let f = enc(v);
    let uri = match variant(v, 3) {
        0 => format!("/{set}?$filter={f}"),
        1 => format!("/{set}?$select={pn}&$filter={f}&$orderby={pn}%20desc&$count=true"),
        _ => format!("/{set}/$count?$filter={f}"),
    };
    let r = h.send(ctx, &listing(h, &uri, 5))?;
    follow(h, ctx, &r)
}

/// `$orderby`, then the next page by the `$skiptoken` its keys make.
fn odata_orderby(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (set, v) = split_set(h, &data);
    let pn = h.set(&set).map(|i| i.primary_name.clone()).unwrap_or_default();
    let r = h.send(ctx, &listing(h, &format!("/{set}?$select={pn}&$orderby={}", enc(v)), 2))?;
    follow(h, ctx, &r)
}

/// `$select` on a list and on one record.
fn odata_select(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (set, v) = split_set(h, &data);
    let uri = match variant(v, 2) {
        0 => format!("/{set}?$select={}", enc(v)),
        _ => format!("/{set}({})?$select={}", some_id(h, &set), enc(v)),
    };
    h.send(ctx, &listing(h, &uri, 5))?;
    Ok(())
}

/// `$expand` (with nested options) on a list and on one record.
fn odata_expand(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (set, v) = split_set(h, &data);
    let pn = h.set(&set).map(|i| i.primary_name.clone()).unwrap_or_default();
    let uri = match variant(v, 2) {
        0 => format!("/{set}?$select={pn}&$expand={}", enc(v)),
        _ => format!("/{set}({})?$expand={}", some_id(h, &set), enc(v)),
    };
    let r = h.send(ctx, &listing(h, &uri, 5))?;
    follow(h, ctx, &r)
}

/// `$apply`: filter, groupby and aggregate.
fn odata_apply(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (set, v) = split_set(h, &data);
    h.send(ctx, &listing(h, &format!("/{set}?$apply={}", enc(v)), 5))?;
    Ok(())
}

/// `$skiptoken`: the first line is the query it continues
/// (`contacts?$select=fullname&$orderby=createdon desc`), the rest the
/// token's JSON key values, sent base64url-encoded as the server makes them.
fn odata_skiptoken(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    use base64::Engine as _;
    let data = h.substitute(data);
    let (path, token) = match first_line(&data) {
        Some((line, rest)) => {
            let line = String::from_utf8_lossy(line);
            match line.split_once('?') {
                Some((set, q)) if h.set(set.trim()).is_some() => {
                    (format!("/{}?{}", set.trim(), raw(q.as_bytes())), rest)
                }
                _ => ("/accounts?$select=name&$orderby=name".to_string(), &data[..]),
            }
        }
        None => ("/accounts?$select=name&$orderby=name".to_string(), &data[..]),
    };
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token);
    let r = h.send(ctx, &listing(h, &format!("{path}&$skiptoken={token}"), 2))?;
    follow(h, ctx, &r)
}

/// A whole query string, sent as typed (only what a URI cannot hold is
/// encoded). It may start with a path: `accounts({account})?$expand=…`,
/// `contacts/$count?…`; else it queries `accounts`.
fn odata_query(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (path, query) = match data.iter().position(|&b| b == b'?') {
        Some(q) => {
            let p = String::from_utf8_lossy(&data[..q]).into_owned();
            let set_end = p.find(['(', '/']).unwrap_or(p.len());
            if h.set(&p[..set_end]).is_some() {
                (p, &data[q + 1..])
            } else {
                ("accounts".to_string(), &data[..])
            }
        }
        None => ("accounts".to_string(), &data[..]),
    };
    let uri = format!("/{}?{}", raw(path.as_bytes()).replace('?', "%3F"), raw(query));
    let r = h.send(ctx, &listing(h, &uri, 5))?;
    follow(h, ctx, &r)
}

/// FetchXML as `?fetchXml=`, on the entity set the query names.
fn fetchxml(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let text = String::from_utf8_lossy(&data);
    let set = entity_of_fetch(&text).and_then(|e| h.set_of_entity(&e)).unwrap_or("accounts").to_string();
    let r = h.send(ctx, &listing(h, &format!("/{set}?fetchXml={}", enc(&data)), 5))?;
    follow(h, ctx, &r)
}

fn entity_of_fetch(xml: &str) -> Option<String> {
    let at = xml.find("<entity")?;
    let rest = &xml[at + 7..];
    let n = rest.find("name=")?;
    let rest = &rest[n + 5..];
    let q = rest.chars().next()?;
    if q != '"' && q != '\'' {
        return None;
    }
    let rest = &rest[1..];
    Some(rest[..rest.find(q)?].to_string())
}

/// A write that was refused must leave the database as it was.
fn refused_wrote_nothing(
    h: &Harness,
    ctx: &Ctx<'_>,
    before: &[String],
    call: &Call,
    reply: &Reply,
) -> Result<(), Finding> {
    let after = h.fingerprint_after();
    if before != after {
        let what =
            format!("answered {} but wrote: {}\n{}", reply.status, h.describe_change(before, &after), reply.text());
        return Err(ctx.finding(Kind::Wrote, call, &what, ""));
    }
    Ok(())
}

/// The path of a write: one of the writable sets, a record of it, or a
/// property of a record, with an optional query.
/// Operations of the catalog a body may be posted to as well.
const ACTIONS: &[&str] = &["BulkDelete"];

fn writable_path(p: &str) -> bool {
    let set_end = p.find(['(', '/', '?']).unwrap_or(p.len());
    WRITABLE_SETS.contains(&&p[..set_end]) || ACTIONS.contains(&p)
}

/// A POST, PATCH or PUT body. First line: `POST accounts`,
/// `PATCH contacts({contact})`, `PUT accounts({account})/name`, optionally
/// with a query (`POST accounts?$select=name`); the rest is the body.
fn json_body(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (method, path, body) = match first_line(&data) {
        Some((line, rest)) => {
            let line = String::from_utf8_lossy(line);
            let (m, p) = line.split_once(' ').unwrap_or(("", ""));
            let m = match m {
                "POST" => Some(Method::POST),
                "PATCH" => Some(Method::PATCH),
                "PUT" => Some(Method::PUT),
                _ => None,
            };
            match m {
                Some(m) if writable_path(p.trim()) => (m, p.trim().to_string(), rest),
                _ => (Method::POST, "accounts".to_string(), &data[..]),
            }
        }
        None => (Method::POST, "accounts".to_string(), &data[..]),
    };
    let (p, q) = path.split_once('?').unwrap_or((&path, ""));
    let uri = if q.is_empty() { raw(p.as_bytes()) } else { format!("{}?{}", raw(p.as_bytes()), raw(q.as_bytes())) };
    let mut call = h.api(method, &format!("/{uri}")).header("content-type", "application/json").body(body.to_vec());
    if variant(body, 2) == 1 {
        call = call.header("prefer", "return=representation,odata.include-annotations=\"*\"");
    }
    let before = h.fingerprint_before();
    let reply = h.send(ctx, &call)?;
    if reply.status >= 400 {
        return refused_wrote_nothing(h, ctx, &before, &call, &reply);
    }
    h.clean_up(ctx, &reply)
}

/// A `$batch` body. First line: its Content-Type
/// (`multipart/mixed; boundary=batch_1`); the rest is the body.
fn batch(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (ct, body) = match first_line(&data) {
        Some((line, rest)) if line.len() < 1000 && line.windows(9).any(|w| w.eq_ignore_ascii_case(b"multipart")) => {
            (header_value(line), rest)
        }
        _ => ("multipart/mixed; boundary=batch_fuzz".to_string(), &data[..]),
    };
    let mut call = h.api(Method::POST, "/$batch").header("content-type", ct).body(body.to_vec());
    if variant(body, 3) == 0 {
        call = call.header("prefer", "odata.continue-on-error");
    }
    let before = h.fingerprint_before();
    let (reply, log) = h.exchange(&call);
    let text = reply.text();
    if reply.status >= 500 {
        return Err(ctx.finding(Kind::Status(reply.status), &call, &text, &log));
    }
    let inner: Vec<u16> = text
        .lines()
        .filter_map(|l| l.strip_prefix("HTTP/1.1 "))
        .filter_map(|l| l.get(..3).and_then(|s| s.parse().ok()))
        .collect();
    if let Some(s) = inner.iter().find(|s| **s >= 500) {
        return Err(ctx.finding(Kind::Status(*s), &call, &text, &log));
    }
    if reply.status >= 400 || (!inner.is_empty() && inner.iter().all(|s| *s >= 400)) {
        return refused_wrote_nothing(h, ctx, &before, &call, &reply);
    }
    h.clean_up(ctx, &reply)
}

/// The forms that make or change records, and the calendar's and the
/// board's moves.
fn form_path(p: &str) -> bool {
    let path = p.split('?').next().unwrap_or("");
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["ui", "calendar", "new" | "move"] | ["ui", "pipeline", "move"] => true,
        ["ui", set, "new"] => WRITABLE_SETS.contains(set),
        ["ui", set, _, "edit"] => WRITABLE_SETS.contains(set),
        _ => false,
    }
}

/// A form post of the web interface. First line: the form's path
/// (`/ui/accounts/new`, `/ui/appointments/{appointment}/edit`,
/// `/ui/calendar/new`…); the rest is the urlencoded body, to which the
/// session's CSRF value is added.
fn form(h: &Harness, ctx: &Ctx<'_>, data: &[u8]) -> Result<(), Finding> {
    let data = h.substitute(data);
    let (path, body) = match first_line(&data) {
        Some((line, rest)) => {
            let line = String::from_utf8_lossy(line).trim().to_string();
            if form_path(&line) {
                (line, rest)
            } else {
                ("/ui/accounts/new".to_string(), &data[..])
            }
        }
        None => ("/ui/accounts/new".to_string(), &data[..]),
    };
    let mut body = body.to_vec();
    body.extend_from_slice(format!("&csrf={}", h.csrf()).as_bytes());
    let accept = if variant(&body, 4) == 0 { "application/json" } else { "text/html" };
    let call = h
        .page(Method::POST, &raw(path.as_bytes()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", accept)
        .body(body);
    let before = h.fingerprint_before();
    let reply = h.send(ctx, &call)?;
    if reply.status >= 400 {
        return refused_wrote_nothing(h, ctx, &before, &call, &reply);
    }
    h.clean_up(ctx, &reply)
}
