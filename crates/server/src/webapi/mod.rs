//! The Dataverse Web API: URL resolution and the record operations.
//!
//! Everything here is synchronous and runs on a blocking thread inside one
//! engine transaction, so a `$batch` change set can run several requests
//! in a single transaction with the same code.

pub mod batch;
pub mod catalog;
pub mod csdl;
pub mod json;
pub mod metadata;
mod multiple;

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, StatusCode};
use relata_engine::{Condition, EngineError, Org, RecordInput, Session, UpsertOutcome};
use relata_metadata::{Entity, EntityRef, Nav, Value};
use relata_query::ast::QueryOptions;
use relata_query::options::parse_query_options;
use relata_query::{Page, Record, Restriction};
use relata_security::Principal;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::error::ApiError;
use json::{etag, parse_entity_url, parse_etag, parse_record, Annotations, Formatting};

pub const API_PREFIX: &str = "/api/data/v9.2";

/// One Web API request, detached from the HTTP stack.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// Path below `/api/data/v9.2/`, percent-decoded.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Absolute service root, e.g. `http://127.0.0.1:8080/api/data/v9.2`.
    pub base: String,
}

#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn json(status: StatusCode, value: &Json) -> Self {
        ApiResponse {
            status,
            headers: vec![(http::header::CONTENT_TYPE, "application/json; odata.metadata=minimal".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }
    pub fn empty(status: StatusCode) -> Self {
        ApiResponse { status, headers: vec![], body: vec![] }
    }
    pub fn text(status: StatusCode, content_type: &str, body: String) -> Self {
        ApiResponse {
            status,
            headers: vec![(http::header::CONTENT_TYPE, content_type.into())],
            body: body.into_bytes(),
        }
    }
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A path segment: `accounts`, `accounts(<guid>)`, `EntityDefinitions(LogicalName='x')`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    pub key: Option<String>,
}

/// Splits a resource path into segments, keeping quoted keys whole.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, ApiError> {
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    for c in path.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            '/' if !quoted && depth == 0 => {
                if !cur.is_empty() {
                    segs.push(std::mem::take(&mut cur));
                }
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        segs.push(cur);
    }
    if depth != 0 || quoted {
        return Err(ApiError::bad_request(format!("The URL path '{path}' has unbalanced parentheses or quotes.")));
    }
    segs.into_iter()
        .map(|s| match s.find('(') {
            Some(i) if s.ends_with(')') => {
                Ok(Segment { name: s[..i].to_string(), key: Some(s[i + 1..s.len() - 1].to_string()) })
            }
            Some(_) => Err(ApiError::bad_request(format!("The URL segment '{s}' is malformed."))),
            None => Ok(Segment { name: s, key: None }),
        })
        .collect()
}

/// A record key: a GUID, optionally quoted or named after the primary key.
fn parse_id(entity: &Entity, key: &str) -> Result<Uuid, ApiError> {
    let raw = match key.split_once('=') {
        Some((name, v)) if name.trim() == entity.primary_id() => v.trim(),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "The key '{key}' is not defined for '{}'; alternate keys are not configured.",
                entity.name()
            )))
        }
        None => key.trim(),
    };
    Uuid::parse_str(raw.trim_matches('\''))
        .map_err(|_| ApiError::bad_request(format!("'{raw}' is not a valid record id (GUID).")))
}

/// Parsed `Prefer` header.
#[derive(Debug, Default)]
pub struct Prefer {
    pub return_representation: bool,
    pub max_page_size: Option<usize>,
    pub annotations: Annotations,
    pub continue_on_error: bool,
}

impl Prefer {
    pub fn parse(headers: &HeaderMap) -> Prefer {
        let mut p = Prefer::default();
        let mut ann = None;
        for v in headers.get_all("prefer") {
            let Ok(v) = v.to_str() else { continue };
            for part in split_prefer(v) {
                let part = part.trim();
                let (k, val) = part.split_once('=').map(|(k, v)| (k.trim(), Some(v.trim()))).unwrap_or((part, None));
                match k {
                    "return" => p.return_representation = val == Some("representation"),
                    "odata.maxpagesize" => p.max_page_size = val.and_then(|v| v.parse().ok()),
                    "odata.include-annotations" => ann = val.map(|v| v.to_string()),
                    "odata.continue-on-error" => p.continue_on_error = true,
                    _ => {}
                }
            }
        }
        p.annotations = Annotations::parse(ann.as_deref());
        p
    }
}

fn split_prefer(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Does this request only read? (Then it runs in a read transaction.)
pub fn is_read(req: &ApiRequest) -> bool {
    req.method == Method::GET || req.method == Method::HEAD
}

/// Runs one request in its own transaction.
pub fn execute(org: &Org, principal: &Principal, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    if is_read(req) {
        org.read(principal, |s| execute_in(s, req))
    } else {
        org.write(principal, |s| execute_in(s, req))
    }
}

/// Runs one request inside an open session.
pub fn execute_in(s: &mut Session<'_, '_, '_>, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let segs = parse_path(&req.path)?;
    let Some(first) = segs.first() else {
        if !is_read(req) {
            return Err(ApiError::method_not_allowed(format!(
                "The service document is read with GET; {} is not allowed here.",
                req.method
            )));
        }
        // It has no version, so only `If-Match: *` can match it.
        if header(&req.headers, "if-match").is_some_and(|v| v.trim() != "*") {
            return Err(EngineError::PreconditionFailed(
                "The service document has no version to match If-Match.".into(),
            )
            .into());
        }
        return Ok(service_document(s, req));
    };
    match first.name.as_str() {
        "$metadata" if segs.len() == 1 => return metadata::csdl_response(s, req),
        "WhoAmI" if segs.len() == 1 => return metadata::who_am_i(s, req),
        "EntityDefinitions" | "RelationshipDefinitions" | "GlobalOptionSetDefinitions" => {
            return metadata::handle(s, req, &segs)
        }
        name if segs.len() == 1 && catalog::find(s, name, None).is_some() => {
            let action = catalog::find(s, name, None).cloned().expect("just found");
            return catalog::invoke(s, req, &action, None, first.key.as_deref());
        }
        _ => {}
    }
    let entity = s
        .entity_by_set(&first.name)
        .map_err(|_| ApiError::not_found(format!("Resource not found for the segment '{}'.", first.name)))?;
    let prefer = Prefer::parse(&req.headers);
    match (&first.key, segs.len()) {
        (None, 1) => match req.method {
            Method::GET => list(s, req, &entity, &prefer, None),
            Method::POST => create(s, req, &entity, &prefer),
            _ => Err(ApiError::method_not_allowed(format!("{} is not supported on an entity set.", req.method))),
        },
        (None, 2) if segs[1].key.is_none() && multiple::names(&segs[1].name).is_some() => {
            multiple::handle(s, req, &entity, &segs[1].name)
        }
        (None, 2) if segs[1].name == "$count" && segs[1].key.is_none() && req.method == Method::GET => {
            let opts = parse_query_options(&req.query)?;
            let n = s.count(entity.name(), &opts, None)?;
            Ok(ApiResponse::text(StatusCode::OK, "text/plain", n.to_string()))
        }
        (Some(key), 1) => {
            let id = parse_id(&entity, key)?;
            match req.method {
                Method::GET => retrieve(s, req, &entity, id, &prefer),
                Method::PATCH => update(s, req, &entity, id, &prefer),
                Method::DELETE => {
                    // As on PATCH: an ETag that cannot be read refuses the
                    // delete rather than deleting unconditionally.
                    let if_match = condition(&req.headers)?.if_match.flatten();
                    s.delete(entity.name(), id, if_match)?;
                    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
                }
                _ => Err(ApiError::method_not_allowed(format!("{} is not supported on a record.", req.method))),
            }
        }
        (Some(key), _) => {
            let id = parse_id(&entity, key)?;
            related(s, req, &entity, id, &segs[1..], &prefer)
        }
        _ => Err(ApiError::not_found(format!("Resource not found for the segment '{}'.", req.path))),
    }
}

fn service_document(s: &Session<'_, '_, '_>, req: &ApiRequest) -> ApiResponse {
    let sets: Vec<Json> = s
        .schema
        .entities()
        .filter(|e| !e.def.is_intersect)
        .map(|e| serde_json::json!({"name": e.def.entity_set, "kind": "EntitySet", "url": e.def.entity_set}))
        .collect();
    ApiResponse::json(
        StatusCode::OK,
        &serde_json::json!({"@odata.context": format!("{}/$metadata", req.base), "value": sets}),
    )
}

fn parse_body(req: &ApiRequest) -> Result<Json, ApiError> {
    if req.body.is_empty() {
        return Err(ApiError::bad_request("The request body is empty; a JSON object is expected."));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}.")))
}

fn entity_url(req: &ApiRequest, entity: &Entity, id: Uuid) -> String {
    format!("{}/{}({})", req.base, entity.def.entity_set, id)
}

fn create(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    prefer: &Prefer,
) -> Result<ApiResponse, ApiError> {
    let body = parse_body(req)?;
    let input = parse_record(&s.schema, entity, &body)?;
    let id = s.create(entity.name(), input)?;
    created_response(s, req, entity, id, prefer, StatusCode::NO_CONTENT)
}

fn created_response(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    id: Uuid,
    prefer: &Prefer,
    plain_status: StatusCode,
) -> Result<ApiResponse, ApiError> {
    let url = entity_url(req, entity, id);
    if prefer.return_representation {
        let opts = parse_query_options(&req.query)?;
        let rec = s.retrieve(entity.name(), id, &opts)?;
        let mut body = render_one(s, req, entity, &rec, &opts, prefer)?;
        body.insert(
            "@odata.context".into(),
            Json::String(format!("{}/$metadata#{}/$entity", req.base, entity.def.entity_set)),
        );
        let status = if plain_status == StatusCode::NO_CONTENT { StatusCode::CREATED } else { StatusCode::OK };
        return Ok(ApiResponse::json(status, &Json::Object(body))
            .with_header(http::header::ETAG, etag(rec.version()))
            .with_header(HeaderName::from_static("odata-entityid"), url.clone())
            .with_header(http::header::LOCATION, url)
            .with_header(HeaderName::from_static("preference-applied"), "return=representation"));
    }
    Ok(ApiResponse::empty(plain_status)
        .with_header(HeaderName::from_static("odata-entityid"), url.clone())
        .with_header(http::header::LOCATION, url))
}

fn retrieve(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    id: Uuid,
    prefer: &Prefer,
) -> Result<ApiResponse, ApiError> {
    let opts = parse_query_options(&req.query)?;
    reject_collection_options(&opts)?;
    let rec = s.retrieve(entity.name(), id, &opts)?;
    let tag = etag(rec.version());
    if let Some(inm) = header(&req.headers, "if-none-match") {
        if inm.trim() == "*" || parse_etag(inm) == Some(rec.version()) {
            return Ok(ApiResponse::empty(StatusCode::NOT_MODIFIED).with_header(http::header::ETAG, tag));
        }
    }
    let mut body = render_one(s, req, entity, &rec, &opts, prefer)?;
    body.insert("@odata.context".into(), Json::String(context_url(req, entity, &opts, true)));
    let mut resp = ApiResponse::json(StatusCode::OK, &Json::Object(body)).with_header(http::header::ETAG, tag);
    if prefer.annotations.any() {
        resp = resp.with_header(HeaderName::from_static("preference-applied"), prefer.annotations.header_value());
    }
    Ok(resp)
}

fn reject_collection_options(opts: &QueryOptions) -> Result<(), ApiError> {
    if opts.filter.is_some() || !opts.orderby.is_empty() || opts.top.is_some() || !opts.apply.is_empty() {
        return Err(ApiError::bad_request(
            "$filter, $orderby, $top and $apply apply to collections, not to a single record.",
        ));
    }
    Ok(())
}

fn update(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    id: Uuid,
    prefer: &Prefer,
) -> Result<ApiResponse, ApiError> {
    let body = parse_body(req)?;
    let input = parse_record(&s.schema, entity, &body)?;
    let cond = condition(&req.headers)?;
    let outcome = s.update(entity.name(), id, input, cond, true)?;
    match outcome {
        UpsertOutcome::Created(id) => created_response(s, req, entity, id, prefer, StatusCode::NO_CONTENT),
        UpsertOutcome::Updated(id) => {
            created_response(s, req, entity, id, prefer, StatusCode::NO_CONTENT).map(|mut r| {
                if r.status == StatusCode::CREATED {
                    r.status = StatusCode::OK;
                }
                r
            })
        }
    }
}

fn condition(h: &HeaderMap) -> Result<Condition, ApiError> {
    let mut c = Condition::default();
    if let Some(v) = header(h, "if-match") {
        c.if_match = Some(if v.trim() == "*" {
            None
        } else {
            Some(parse_etag(v).ok_or_else(|| ApiError::bad_request(format!("'{v}' is not a valid ETag.")))?)
        });
    }
    if let Some(v) = header(h, "if-none-match") {
        if v.trim() != "*" {
            return Err(ApiError::bad_request("Only If-None-Match: * is supported on writes."));
        }
        c.if_none_match_any = true;
    }
    Ok(c)
}

/// `/{set}({id})/…`: navigation properties, `$ref`, single properties.
fn related(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    id: Uuid,
    rest: &[Segment],
    prefer: &Prefer,
) -> Result<ApiResponse, ApiError> {
    let seg = &rest[0];
    if rest.len() == 1 && seg.name.starts_with(catalog::NAMESPACE) {
        let op = seg.name.strip_prefix(catalog::NAMESPACE).unwrap_or(&seg.name);
        let Some(action) = catalog::find(s, op, Some(entity.name())).cloned() else {
            return Err(ApiError::bad_request(format!("'{op}' is not an operation bound to '{}'.", entity.name())));
        };
        return catalog::invoke(s, req, &action, Some((entity, id)), seg.key.as_deref());
    }
    let nav = entity.nav(&seg.name).cloned();
    let is_ref = rest.last().is_some_and(|l| l.name == "$ref" && l.key.is_none());
    if is_ref {
        let nav = nav.ok_or_else(|| {
            ApiError::bad_request(format!("'{}' is not a navigation property of '{}'.", seg.name, entity.name()))
        })?;
        if rest.len() > 3 || (rest.len() == 3 && seg.key.is_some()) {
            return Err(ApiError::bad_request("Malformed $ref URL."));
        }
        return match req.method {
            Method::GET => {
                let (target, r) = match nav {
                    Nav::Collection { entity: child, attribute, .. } => (child, Restriction::Lookup { attribute, id }),
                    Nav::ManyToMany { entity: other, table, self_column, other_column, .. } => {
                        (other, Restriction::Linked { table, self_column, other_column, id })
                    }
                    Nav::Single { .. } => {
                        return Err(ApiError::bad_request("GET …/$ref is for collection-valued navigation properties."))
                    }
                };
                s.retrieve(
                    entity.name(),
                    id,
                    &QueryOptions { select: Some(vec![entity.primary_id().into()]), ..Default::default() },
                )?;
                let target = s.entity(&target)?;
                let opts =
                    QueryOptions { select: Some(vec![target.primary_id().into()]), ..parse_query_options(&req.query)? };
                let page = s.query(target.name(), &opts, Prefer::parse(&req.headers).max_page_size, Some(&r))?;
                let value: Vec<Json> = page
                    .records
                    .iter()
                    .map(|rec| serde_json::json!({"@odata.id": entity_url(req, &target, rec.id)}))
                    .collect();
                Ok(ApiResponse::json(
                    StatusCode::OK,
                    &serde_json::json!({"@odata.context": format!("{}/$metadata#Collection($ref)", req.base), "value": value}),
                ))
            }
            Method::POST | Method::PUT => {
                let body = parse_body(req)?;
                let url = body
                    .get("@odata.id")
                    .and_then(Json::as_str)
                    .ok_or_else(|| ApiError::bad_request("The body of a $ref request needs \"@odata.id\"."))?;
                let (set, target_id) = parse_entity_url(url)
                    .ok_or_else(|| ApiError::bad_request(format!("'{url}' is not a record URL.")))?;
                let target = s
                    .entity_by_set(&set)
                    .map_err(|_| ApiError::bad_request(format!("'{set}' is not an entity set.")))?;
                if req.method == Method::PUT && !matches!(nav, Nav::Single { .. }) {
                    return Err(ApiError::bad_request(
                        "PUT …/$ref is for single-valued navigation properties; use POST for collections.",
                    ));
                }
                s.associate(entity.name(), id, &seg.name, target.name(), target_id)?;
                Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
            }
            Method::DELETE => {
                let target_id = match &seg.key {
                    Some(k) => Some(
                        Uuid::parse_str(k.trim_matches('\''))
                            .map_err(|_| ApiError::bad_request(format!("'{k}' is not a GUID.")))?,
                    ),
                    None => query_param(&req.query, "$id")
                        .map(|u| parse_entity_url(&u).map(|(_, id)| id))
                        .transpose_none()?,
                };
                s.disassociate(entity.name(), id, &seg.name, target_id)?;
                Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
            }
            _ => Err(ApiError::method_not_allowed("Use POST, PUT or DELETE with $ref.")),
        };
    }
    if rest.len() > 2 || (rest.len() == 2 && rest[1].name != "$count") {
        return Err(ApiError::bad_request(format!("The URL path '{}' is not supported.", req.path)));
    }
    let counting = rest.len() == 2;
    match nav {
        Some(Nav::Single { attribute, target, .. }) => {
            if req.method != Method::GET {
                return Err(ApiError::method_not_allowed("Use …/$ref to change a single-valued navigation property."));
            }
            let parent = s.retrieve(
                entity.name(),
                id,
                &QueryOptions { select: Some(vec![attribute.clone()]), ..Default::default() },
            )?;
            let target_entity = s.entity(&target)?;
            match parent.get(&attribute).and_then(Value::as_ref_value).filter(|r| r.entity == target) {
                Some(r) => retrieve(s, req, &target_entity, r.id, prefer),
                None => Ok(ApiResponse::empty(StatusCode::NO_CONTENT)),
            }
        }
        Some(Nav::Collection { entity: child, attribute, .. }) => {
            s.retrieve(
                entity.name(),
                id,
                &QueryOptions { select: Some(vec![entity.primary_id().into()]), ..Default::default() },
            )?;
            let child = s.entity(&child)?;
            let r = Restriction::Lookup { attribute, id };
            if req.method == Method::POST && !counting {
                let body = parse_body(req)?;
                let input = parse_record(&s.schema, &child, &body)?;
                let new_id = s.create_related(entity, id, &seg.name, input)?;
                return created_response(s, req, &child, new_id, prefer, StatusCode::NO_CONTENT);
            }
            related_list(s, req, &child, r, prefer, counting)
        }
        Some(Nav::ManyToMany { entity: other, table, self_column, other_column, .. }) => {
            s.retrieve(
                entity.name(),
                id,
                &QueryOptions { select: Some(vec![entity.primary_id().into()]), ..Default::default() },
            )?;
            let other = s.entity(&other)?;
            let r = Restriction::Linked { table, self_column, other_column, id };
            related_list(s, req, &other, r, prefer, counting)
        }
        None => property(s, req, entity, id, &seg.name),
    }
}

trait TransposeNone<T> {
    fn transpose_none(self) -> Result<Option<T>, ApiError>;
}
impl<T> TransposeNone<T> for Option<Option<T>> {
    fn transpose_none(self) -> Result<Option<T>, ApiError> {
        match self {
            None => Ok(None),
            Some(Some(v)) => Ok(Some(v)),
            Some(None) => Err(ApiError::bad_request("$id must be a record URL.")),
        }
    }
}

fn related_list(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    r: Restriction,
    prefer: &Prefer,
    counting: bool,
) -> Result<ApiResponse, ApiError> {
    if req.method != Method::GET {
        return Err(ApiError::method_not_allowed(format!("{} is not supported here.", req.method)));
    }
    if counting {
        let opts = parse_query_options(&req.query)?;
        let n = s.count(entity.name(), &opts, Some(&r))?;
        return Ok(ApiResponse::text(StatusCode::OK, "text/plain", n.to_string()));
    }
    list(s, req, entity, prefer, Some(&r))
}

/// `GET /accounts(id)/name`, `PUT /accounts(id)/name`, `DELETE /accounts(id)/name`.
fn property(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    id: Uuid,
    name: &str,
) -> Result<ApiResponse, ApiError> {
    let attr = entity
        .attribute_for_property(name)
        .ok_or_else(|| {
            ApiError::bad_request(format!("'{name}' is not a property or navigation property of '{}'.", entity.name()))
        })?
        .clone();
    match req.method {
        Method::GET => {
            let rec = s.retrieve(
                entity.name(),
                id,
                &QueryOptions { select: Some(vec![name.to_string()]), ..Default::default() },
            )?;
            let v = rec.get(&attr.name).cloned().unwrap_or(Value::Null);
            if v.is_null() {
                return Ok(ApiResponse::empty(StatusCode::NO_CONTENT));
            }
            Ok(ApiResponse::json(
                StatusCode::OK,
                &serde_json::json!({
                    "@odata.context": format!("{}/$metadata#{}({})/{}", req.base, entity.def.entity_set, id, name),
                    "value": json::value_to_json(Some(&attr), &v),
                }),
            ))
        }
        Method::PUT | Method::DELETE => {
            let value = if req.method == Method::DELETE {
                Value::Null
            } else {
                let body = parse_body(req)?;
                let v = body.get("value").ok_or_else(|| ApiError::bad_request("The body needs {\"value\": …}."))?;
                json::json_to_value(&attr, v)?
            };
            // The record must exist (no upsert of a single property), and
            // an If-Match names the version the change applies to.
            let mut cond = condition(&req.headers)?;
            cond.if_match.get_or_insert(None);
            s.update(entity.name(), id, RecordInput::new(vec![(attr.name.clone(), value)]), cond, false)?;
            Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
        }
        _ => Err(ApiError::method_not_allowed(format!("{} is not supported on a property.", req.method))),
    }
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn list(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
    prefer: &Prefer,
    r: Option<&Restriction>,
) -> Result<ApiResponse, ApiError> {
    let opts = collection_options(s, req, entity)?;
    if !opts.apply.is_empty() {
        if r.is_some() {
            return Err(ApiError::bad_request("$apply is supported on entity sets only."));
        }
        let rows = s.apply(entity.name(), &opts)?;
        let value: Vec<Json> = rows
            .into_iter()
            .map(|row| {
                let mut m = Map::new();
                for (k, v) in row {
                    let attr = entity.attribute_for_property(&k);
                    m.insert(k, json::value_to_json(attr, &v));
                }
                Json::Object(m)
            })
            .collect();
        return Ok(ApiResponse::json(
            StatusCode::OK,
            &serde_json::json!({"@odata.context": format!("{}/$metadata#{}", req.base, entity.def.entity_set), "value": value}),
        ));
    }
    let page_size = prefer.max_page_size;
    let page: Page = s.query(entity.name(), &opts, page_size, r)?;
    let refs_needed = prefer.annotations.any();
    let fmt = formatting(s, &page.records, prefer, refs_needed)?;
    let mut out = Map::new();
    out.insert("@odata.context".into(), Json::String(context_url(req, entity, &opts, false)));
    if let Some(c) = page.count {
        out.insert("@odata.count".into(), Json::from(c));
    }
    out.insert("value".into(), Json::Array(page.records.iter().map(|rec| Json::Object(fmt.record(rec))).collect()));
    if let Some(token) = &page.skiptoken {
        out.insert("@odata.nextLink".into(), Json::String(next_link(req, token)));
    }
    let mut resp = ApiResponse::json(StatusCode::OK, &Json::Object(out));
    let mut applied = Vec::new();
    if let Some(n) = page_size {
        applied.push(format!("odata.maxpagesize={n}"));
    }
    if prefer.annotations.any() {
        applied.push(prefer.annotations.header_value());
    }
    if !applied.is_empty() {
        resp = resp.with_header(HeaderName::from_static("preference-applied"), applied.join(","));
    }
    Ok(resp)
}

/// A collection's query options: OData's, or a view's. `fetchXml=`,
/// `savedQuery=<id>` and `userQuery=<id>` run a FetchXML query (the view's
/// own, read with the caller's rights), paged by `$skiptoken` like any other.
fn collection_options(
    s: &mut Session<'_, '_, '_>,
    req: &ApiRequest,
    entity: &Entity,
) -> Result<QueryOptions, ApiError> {
    let mut fetch = None;
    let mut others = Vec::new();
    let mut skiptoken = None;
    for (k, v) in form_urlencoded::parse(req.query.as_bytes()) {
        match k.as_ref() {
            "fetchXml" => fetch = Some(v.into_owned()),
            "savedQuery" | "userQuery" => {
                let (source, column) =
                    if k == "savedQuery" { ("savedquery", "fetchxml") } else { ("userquery", "fetchxml") };
                let id = Uuid::parse_str(&v).map_err(|_| ApiError::bad_request(format!("{k} must be a GUID.")))?;
                let rec =
                    s.retrieve(source, id, &QueryOptions { select: Some(vec![column.into()]), ..Default::default() })?;
                let xml = rec.get(column).and_then(Value::as_str).unwrap_or("").to_string();
                fetch = Some(xml);
            }
            "$skiptoken" => skiptoken = Some(v.into_owned()),
            other if other.starts_with('$') => others.push(other.to_string()),
            _ => {}
        }
    }
    let Some(xml) = fetch else { return Ok(parse_query_options(&req.query)?) };
    if !others.is_empty() {
        return Err(ApiError::bad_request(format!("A FetchXML query cannot be combined with {}.", others.join(", "))));
    }
    let q = relata_query::fetchxml::parse_in(&xml, &s.schema).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if q.entity != entity.name() {
        return Err(ApiError::bad_request(format!(
            "The FetchXML query is of '{}', not of '{}'.",
            q.entity,
            entity.name()
        )));
    }
    let mut opts = parse_query_options(&q.to_odata())?;
    opts.skiptoken = skiptoken;
    Ok(opts)
}

fn next_link(req: &ApiRequest, token: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(req.query.as_bytes()) {
        if k != "$skiptoken" {
            q.append_pair(&k, &v);
        }
    }
    q.append_pair("$skiptoken", token);
    format!("{}/{}?{}", req.base, req.path, q.finish().replace('+', "%20"))
}

fn context_url(req: &ApiRequest, entity: &Entity, opts: &QueryOptions, single: bool) -> String {
    let sel = opts.select.as_ref().map(|s| format!("({})", s.join(","))).unwrap_or_default();
    if single {
        format!("{}/$metadata#{}{sel}/$entity", req.base, entity.def.entity_set)
    } else {
        format!("{}/$metadata#{}{sel}", req.base, entity.def.entity_set)
    }
}

fn render_one(
    s: &mut Session<'_, '_, '_>,
    _req: &ApiRequest,
    _entity: &Entity,
    rec: &Record,
    _opts: &QueryOptions,
    prefer: &Prefer,
) -> Result<Map<String, Json>, ApiError> {
    let fmt = formatting(s, std::slice::from_ref(rec), prefer, prefer.annotations.any())?;
    Ok(fmt.record(rec))
}

fn collect_refs<'a>(recs: &'a [Record], out: &mut Vec<&'a EntityRef>) {
    for r in recs {
        for (_, v) in &r.values {
            if let Value::Ref(x) = v {
                out.push(x);
            }
        }
        for (_, e) in &r.expanded {
            match e {
                relata_query::Expanded::Single(Some(x)) => collect_refs(std::slice::from_ref(x.as_ref()), out),
                relata_query::Expanded::Collection(xs) => collect_refs(xs, out),
                _ => {}
            }
        }
    }
}

fn formatting<'a>(
    s: &mut Session<'_, '_, '_>,
    records: &[Record],
    prefer: &'a Prefer,
    with_names: bool,
) -> Result<Formatting<'a>, ApiError> {
    let mut fmt = Formatting {
        schema: s.schema.clone(),
        annotations: &prefer.annotations,
        lookup_names: HashMap::new(),
        currency_symbols: HashMap::new(),
        base_currency_symbol: String::new(),
    };
    if with_names {
        let mut refs = Vec::new();
        collect_refs(records, &mut refs);
        if !refs.is_empty() {
            fmt.lookup_names = s.lookup_names(&refs)?;
        }
        let base = s.org.ids.base_currency;
        let rows =
            s.tx.query(
                "SELECT transactioncurrencyid, currencysymbol FROM transactioncurrency",
                &[],
                &[relata_store::Storage::Uuid, relata_store::Storage::Text],
            )
            .map_err(relata_engine::EngineError::from)?;
        for r in rows {
            if let (Some(id), Some(sym)) = (r[0].as_uuid(), r[1].as_str()) {
                if id == base {
                    fmt.base_currency_symbol = sym.to_string();
                }
                fmt.currency_symbols.insert(id, sym.to_string());
            }
        }
    }
    Ok(fmt)
}
