//! `$batch`: OData multipart/mixed batches. Requests outside change sets run
//! one by one, each in its own transaction; a change set runs in one
//! transaction and commits or rolls back as a whole.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use relata_engine::Org;
use relata_security::Principal;

use super::{execute, execute_in, is_read, ApiRequest, ApiResponse, Prefer, API_PREFIX};
use crate::error::ApiError;

/// Most requests one batch may carry (Dataverse allows 1000).
pub const MAX_BATCH_REQUESTS: usize = 1000;

#[derive(Debug)]
enum Item {
    Request { content_id: Option<String>, req: Box<ApiRequest> },
    ChangeSet(Vec<(Option<String>, ApiRequest)>),
}

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Splits a multipart body into raw parts.
fn split_parts<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<&'a [u8]>, ApiError> {
    let delim = format!("--{boundary}");
    let text = body;
    let mut parts = Vec::new();
    let mut positions = Vec::new();
    let d = delim.as_bytes();
    let mut i = 0;
    while i + d.len() <= text.len() {
        if &text[i..i + d.len()] == d && (i == 0 || text[i - 1] == b'\n') {
            positions.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    if positions.is_empty() {
        return Err(ApiError::bad_request(format!("The batch body has no part delimited by '--{boundary}'.")));
    }
    let mut closed = false;
    for w in positions.windows(2) {
        let start = w[0] + d.len();
        let part = &text[start..w[1]];
        parts.push(trim_part(part));
    }
    let last = *positions.last().expect("non-empty");
    if text[last + d.len()..].starts_with(b"--") {
        closed = true;
    }
    if !closed {
        return Err(ApiError::bad_request("The batch body is not terminated by its closing delimiter."));
    }
    Ok(parts)
}

/// Drops the line break after the delimiter and before the next one.
fn trim_part(p: &[u8]) -> &[u8] {
    let mut p = p;
    if p.starts_with(b"\r\n") {
        p = &p[2..];
    } else if p.starts_with(b"\n") {
        p = &p[1..];
    }
    if p.ends_with(b"\r\n") {
        p = &p[..p.len() - 2];
    } else if p.ends_with(b"\n") {
        p = &p[..p.len() - 1];
    }
    p
}

/// Headers then body, separated by an empty line.
fn split_headers(p: &[u8]) -> (HeaderMap, &[u8]) {
    let mut headers = HeaderMap::new();
    let mut rest = p;
    loop {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        rest = if end < rest.len() { &rest[end + 1..] } else { &[] };
        if line.is_empty() {
            break;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let (k, v) = (&line[..colon], &line[colon + 1..]);
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.trim_ascii()), HeaderValue::from_bytes(v.trim_ascii())) {
                headers.append(k, v);
            }
        }
        if rest.is_empty() {
            break;
        }
    }
    (headers, rest)
}

fn parse_inner_request(
    part_headers: &HeaderMap,
    body: &[u8],
    outer: &ApiRequest,
) -> Result<(Option<String>, ApiRequest), ApiError> {
    let content_id = part_headers.get("content-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    // Echoed into the response part: a reference name, not a payload.
    if content_id.as_ref().is_some_and(|id| id.len() > 128) {
        return Err(ApiError::bad_request("A batch part's Content-ID is longer than 128 characters."));
    }
    let (request_line_end, _) = body
        .iter()
        .enumerate()
        .find(|(_, &b)| b == b'\n')
        .ok_or_else(|| ApiError::bad_request("A batch part has no request line."))?;
    let line = String::from_utf8_lossy(&body[..request_line_end]).trim().to_string();
    let mut words = line.split_whitespace();
    let method = words.next().ok_or_else(|| ApiError::bad_request("A batch part has an empty request line."))?;
    let url =
        words.next().ok_or_else(|| ApiError::bad_request(format!("The batch request line '{line}' has no URL.")))?;
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| ApiError::bad_request(format!("'{method}' is not an HTTP method.")))?;
    let (mut headers, content) = split_headers(&body[request_line_end + 1..]);
    // The outer request's authentication applies to every inner request.
    if let Some(auth) = outer.headers.get(http::header::AUTHORIZATION) {
        headers.insert(http::header::AUTHORIZATION, auth.clone());
    }
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (url.to_string(), String::new()),
    };
    Ok((
        content_id,
        ApiRequest { method, path, query, headers, body: Bytes::copy_from_slice(content), base: outer.base.clone() },
    ))
}

/// Turns an inner URL (absolute, `/api/data/v9.2/…`, relative or `$1/…`)
/// into a path below the service root.
fn resolve_path(path: &str, ids: &HashMap<String, String>, base: &str) -> Result<String, ApiError> {
    let p = if let Some(rest) = path.strip_prefix('$') {
        let (id, tail) = rest.split_once('/').map(|(a, b)| (a, Some(b))).unwrap_or((rest, None));
        let target = ids.get(id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "The Content-ID reference '${id}' is not defined earlier in this change set."
            ))
        })?;
        match tail {
            Some(t) => format!("{target}/{t}"),
            None => target.clone(),
        }
    } else {
        path.to_string()
    };
    let p = p.strip_prefix(base).unwrap_or(&p).to_string();
    let p = match p.find(API_PREFIX) {
        Some(i) => p[i + API_PREFIX.len()..].to_string(),
        None => p,
    };
    let decoded = percent_encoding::percent_decode_str(p.trim_start_matches('/')).decode_utf8_lossy().into_owned();
    Ok(decoded)
}

fn parse_batch(req: &ApiRequest) -> Result<Vec<Item>, ApiError> {
    let ct = req.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("multipart/mixed") {
        return Err(ApiError::bad_request("A $batch request needs Content-Type: multipart/mixed; boundary=…"));
    }
    let b = boundary(ct).ok_or_else(|| ApiError::bad_request("The multipart/mixed Content-Type has no boundary."))?;
    let mut items = Vec::new();
    let mut count = 0;
    for part in split_parts(&req.body, &b)? {
        let (headers, body) = split_headers(part);
        let pct = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        if pct.to_ascii_lowercase().starts_with("multipart/mixed") {
            let cb =
                boundary(&pct).ok_or_else(|| ApiError::bad_request("A change set's Content-Type has no boundary."))?;
            let mut reqs = Vec::new();
            for inner in split_parts(body, &cb)? {
                let (ih, ib) = split_headers(inner);
                let r = parse_inner_request(&ih, ib, req)?;
                if is_read(&r.1) {
                    return Err(ApiError::bad_request("A change set may not contain GET requests."));
                }
                reqs.push(r);
                count += 1;
            }
            items.push(Item::ChangeSet(reqs));
        } else {
            let (content_id, r) = parse_inner_request(&headers, body, req)?;
            items.push(Item::Request { content_id, req: Box::new(r) });
            count += 1;
        }
        if count > MAX_BATCH_REQUESTS {
            return Err(ApiError::bad_request(format!("A batch may contain at most {MAX_BATCH_REQUESTS} requests.")));
        }
    }
    Ok(items)
}

fn render_part(out: &mut Vec<u8>, content_id: Option<&str>, resp: &ApiResponse) {
    out.extend_from_slice(b"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if let Some(id) = content_id {
        out.extend_from_slice(format!("Content-ID: {id}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(
        format!("HTTP/1.1 {} {}\r\n", resp.status.as_u16(), resp.status.canonical_reason().unwrap_or("")).as_bytes(),
    );
    out.extend_from_slice(b"OData-Version: 4.0\r\n");
    for (k, v) in &resp.headers {
        out.extend_from_slice(format!("{}: {}\r\n", k.as_str(), v).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&resp.body);
    out.extend_from_slice(b"\r\n");
}

fn error_response(e: &ApiError) -> ApiResponse {
    ApiResponse {
        status: e.status,
        headers: vec![(http::header::CONTENT_TYPE, "application/json".into())],
        body: e.body(),
    }
}

/// Substitutes `$n` Content-ID references in `@odata.bind` values.
fn substitute_binds(body: &Bytes, ids: &HashMap<String, String>) -> Bytes {
    if ids.is_empty() || !body.contains(&b'$') {
        return body.clone();
    }
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else { return body.clone() };
    if let Some(map) = v.as_object_mut() {
        for (k, val) in map.iter_mut() {
            if k.ends_with("@odata.bind") || k == "@odata.id" {
                if let Some(s) = val.as_str().and_then(|s| s.strip_prefix('$')) {
                    if let Some(url) = ids.get(s) {
                        *val = serde_json::Value::String(url.clone());
                    }
                }
            }
        }
    }
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}

pub fn handle(org: &Org, principal: &Principal, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    if req.method != Method::POST {
        return Err(ApiError::method_not_allowed("$batch takes POST."));
    }
    let items = parse_batch(req)?;
    let continue_on_error = Prefer::parse(&req.headers).continue_on_error;
    let batch_boundary = format!("batchresponse_{}", uuid::Uuid::new_v4());
    let mut out = Vec::new();
    for item in items {
        out.extend_from_slice(format!("--{batch_boundary}\r\n").as_bytes());
        let failed = match item {
            Item::Request { content_id, mut req } => {
                // An answer of its own, like any failed request: change sets
                // before it have committed, and the batch says so.
                let resp = if req.path.starts_with('$') {
                    error_response(&ApiError::bad_request(format!(
                        "The URL '{}' refers to a Content-ID, which only a request of the same change set can do.",
                        req.path
                    )))
                } else {
                    req.path = resolve_path(&req.path, &HashMap::new(), &req.base)?;
                    execute(org, principal, &req).unwrap_or_else(|e| error_response(&e))
                };
                render_part(&mut out, content_id.as_deref(), &resp);
                resp.status.is_client_error() || resp.status.is_server_error()
            }
            Item::ChangeSet(reqs) => {
                let cs_boundary = format!("changesetresponse_{}", uuid::Uuid::new_v4());
                let result = org.write(principal, |s| -> Result<Vec<(Option<String>, ApiResponse)>, ApiError> {
                    let mut ids: HashMap<String, String> = HashMap::new();
                    let mut responses = Vec::new();
                    for (cid, mut r) in reqs {
                        r.path = resolve_path(&r.path, &ids, &r.base)?;
                        r.body = substitute_binds(&r.body, &ids);
                        let resp = execute_in(s, &r)?;
                        if let (Some(cid), Some((_, url))) =
                            (&cid, resp.headers.iter().find(|(k, _)| k.as_str() == "odata-entityid"))
                        {
                            ids.insert(cid.clone(), url.clone());
                        }
                        responses.push((cid, resp));
                    }
                    Ok(responses)
                });
                match result {
                    Ok(responses) => {
                        out.extend_from_slice(
                            format!("Content-Type: multipart/mixed; boundary={cs_boundary}\r\n\r\n").as_bytes(),
                        );
                        for (cid, resp) in &responses {
                            out.extend_from_slice(format!("--{cs_boundary}\r\n").as_bytes());
                            render_part(&mut out, cid.as_deref(), resp);
                        }
                        out.extend_from_slice(format!("--{cs_boundary}--\r\n").as_bytes());
                        false
                    }
                    Err(e) => {
                        render_part(&mut out, None, &error_response(&e));
                        true
                    }
                }
            }
        };
        if failed && !continue_on_error {
            break;
        }
    }
    out.extend_from_slice(format!("--{batch_boundary}--\r\n").as_bytes());
    Ok(ApiResponse {
        status: StatusCode::OK,
        headers: vec![(http::header::CONTENT_TYPE, format!("multipart/mixed; boundary={batch_boundary}"))],
        body: out,
    })
}
