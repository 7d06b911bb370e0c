//! Web API JSON: request bodies into engine inputs, records into Dataverse
//! JSON with `@odata.etag`, `_x_value` lookups and formatted values.

use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use relata_engine::{Nested, RecordInput};
use relata_metadata::{AttrKind, AttributeDef, Entity, EntityRef, Nav, Schema, Value};
use relata_query::{Expanded, Record};
use rust_decimal::Decimal;
use serde_json::{Map, Number, Value as Json};
use uuid::Uuid;

use crate::error::ApiError;

/// Turns a JSON body into a [`RecordInput`] for `entity`.
pub fn parse_record(schema: &Schema, entity: &Entity, body: &Json) -> Result<RecordInput, ApiError> {
    let Json::Object(map) = body else {
        return Err(ApiError::bad_request("The request body must be a JSON object."));
    };
    let mut input = RecordInput::default();
    for (key, value) in map {
        if key.starts_with('@') {
            continue;
        }
        if let Some(name) = key.strip_suffix("@odata.bind") {
            if let Some(Nav::Collection { entity: child, .. } | Nav::ManyToMany { entity: child, .. }) =
                entity.nav(name)
            {
                input.links.push((name.to_string(), bind_many(schema, name, child, value)?));
                continue;
            }
            let (attr, target) = bind(schema, entity, name, value)?;
            input.fields.push((attr, target));
            continue;
        }
        if key.contains('@') {
            // Instance annotations such as `x@odata.type` carry no data.
            continue;
        }
        if let Some(attr) = entity.attribute(key) {
            if !attr.kind.is_lookup() {
                input.fields.push((key.clone(), json_to_value(attr, value)?));
                continue;
            }
        }
        if let Some(nav) = entity.nav(key) {
            let target_name = match nav {
                Nav::Single { target, .. } => target,
                Nav::Collection { entity, .. } | Nav::ManyToMany { entity, .. } => entity,
            };
            let target = schema
                .entity(target_name)
                .ok_or_else(|| ApiError::bad_request(format!("unknown entity '{target_name}'")))?;
            let nested = match (nav, value) {
                (Nav::Single { .. }, Json::Object(_)) => Nested::Single(parse_record(schema, target, value)?),
                (Nav::Collection { .. } | Nav::ManyToMany { .. }, Json::Array(items)) => Nested::Collection(
                    items.iter().map(|v| parse_record(schema, target, v)).collect::<Result<Vec<_>, _>>()?,
                ),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "The navigation property '{key}' needs an object (single-valued) or an array (collection-valued) for deep insert."
                    )))
                }
            };
            input.nested.push((key.clone(), nested));
            continue;
        }
        if key.starts_with('_') && key.ends_with("_value") {
            return Err(ApiError::bad_request(format!(
                "'{key}' is read-only; set the lookup with '<navigation property>@odata.bind'."
            )));
        }
        return Err(ApiError::bad_request(format!(
            "Invalid property '{key}' was found in entity 'Microsoft.Dynamics.CRM.{}'.",
            entity.name()
        )));
    }
    Ok(input)
}

/// `nav@odata.bind: ["/contacts(<id>)", …]` on a collection: records to link.
fn bind_many(schema: &Schema, name: &str, target: &str, value: &Json) -> Result<Vec<EntityRef>, ApiError> {
    let Json::Array(urls) = value else {
        return Err(ApiError::bad_request(format!(
            "'{name}@odata.bind' on a collection needs an array of record URLs."
        )));
    };
    urls.iter()
        .map(|u| {
            let url = u.as_str().ok_or_else(|| {
                ApiError::bad_request(format!("'{name}@odata.bind' holds a value that is not a URL."))
            })?;
            let (set, id) = parse_entity_url(url).ok_or_else(|| {
                ApiError::bad_request(format!("'{url}' is not a record URL such as /contacts(<id>)."))
            })?;
            let e = schema
                .entity_by_set(&set)
                .ok_or_else(|| ApiError::bad_request(format!("'{set}' is not an entity set.")))?;
            if e.name() != target {
                return Err(ApiError::bad_request(format!(
                    "'{name}' links '{target}' records, but '{url}' is a '{}' record.",
                    e.name()
                )));
            }
            Ok(EntityRef { entity: target.to_string(), id })
        })
        .collect()
}

/// Resolves `name@odata.bind`: `name` is a single-valued navigation
/// property (`parentcustomerid_account`) or the lookup's own name
/// (`ownerid`), and the value a URL ending in `entityset(guid)`.
fn bind(schema: &Schema, entity: &Entity, name: &str, value: &Json) -> Result<(String, Value), ApiError> {
    let (attribute, fixed_target) = match entity.nav(name) {
        Some(Nav::Single { attribute, target, .. }) => (attribute.clone(), Some(target.clone())),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "Binding the collection-valued navigation property '{name}' on create or update is not supported; use …/{name}/$ref."
            )))
        }
        None => match entity.attribute(name) {
            Some(a) if a.kind.is_lookup() => (a.name.clone(), None),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "'{name}' is not a navigation property of 'Microsoft.Dynamics.CRM.{}'.",
                    entity.name()
                )))
            }
        },
    };
    if value.is_null() {
        return Ok((attribute, Value::Null));
    }
    let Some(url) = value.as_str() else {
        return Err(ApiError::bad_request(format!("'{name}@odata.bind' needs a URL such as /contacts(<id>).")));
    };
    let (set, id) = parse_entity_url(url)
        .ok_or_else(|| ApiError::bad_request(format!("'{url}' is not a record URL such as /contacts(<id>).")))?;
    let target =
        schema.entity_by_set(&set).ok_or_else(|| ApiError::bad_request(format!("'{set}' is not an entity set.")))?;
    if let Some(t) = fixed_target {
        if t != target.name() {
            return Err(ApiError::bad_request(format!(
                "'{name}' points at '{t}' records, but '{url}' is a '{}' record.",
                target.name()
            )));
        }
    }
    Ok((attribute, Value::Ref(EntityRef { entity: target.name().to_string(), id })))
}

/// `…/contacts(00000000-…)` → ("contacts", id). Accepts absolute and relative URLs.
pub fn parse_entity_url(url: &str) -> Option<(String, Uuid)> {
    let last = url.trim_end_matches('/').rsplit('/').next()?;
    let (set, rest) = last.split_once('(')?;
    let key = rest.strip_suffix(')')?;
    let id = Uuid::parse_str(key.trim_matches('\'')).ok()?;
    Some((set.to_string(), id))
}

fn type_error(attr: &AttributeDef, expected: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Cannot convert the literal for '{}': a {} attribute expects {expected}.",
        attr.name,
        attr.kind.dataverse_name()
    ))
}

fn json_decimal(n: &Number) -> Option<Decimal> {
    let s = n.to_string();
    s.parse::<Decimal>().ok().or_else(|| Decimal::from_scientific(&s).ok())
}

/// One attribute value from JSON, typed by metadata.
pub fn json_to_value(attr: &AttributeDef, v: &Json) -> Result<Value, ApiError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match attr.kind {
        AttrKind::String | AttrKind::Memo | AttrKind::EntityName => match v {
            Json::String(s) => Value::String(s.clone()),
            _ => return Err(type_error(attr, "a string")),
        },
        AttrKind::Integer | AttrKind::BigInt | AttrKind::Picklist | AttrKind::State | AttrKind::Status => match v {
            Json::Number(n) => Value::Int(n.as_i64().ok_or_else(|| type_error(attr, "a whole number"))?),
            _ => return Err(type_error(attr, "a whole number")),
        },
        AttrKind::Decimal | AttrKind::Money => match v {
            Json::Number(n) => Value::Decimal(json_decimal(n).ok_or_else(|| type_error(attr, "a decimal number"))?),
            Json::String(s) => Value::Decimal(s.trim().parse().map_err(|_| type_error(attr, "a decimal number"))?),
            _ => return Err(type_error(attr, "a decimal number")),
        },
        AttrKind::Double => match v {
            Json::Number(n) => Value::Double(n.as_f64().ok_or_else(|| type_error(attr, "a number"))?),
            _ => return Err(type_error(attr, "a number")),
        },
        AttrKind::Boolean => match v {
            Json::Bool(b) => Value::Bool(*b),
            _ => return Err(type_error(attr, "true or false")),
        },
        AttrKind::DateTime => match v {
            Json::String(s) => {
                Value::DateTime(parse_datetime(s).ok_or_else(|| type_error(attr, "an ISO 8601 date or date and time"))?)
            }
            _ => return Err(type_error(attr, "an ISO 8601 date or date and time")),
        },
        AttrKind::MultiSelectPicklist => match v {
            Json::String(s) if s.trim().is_empty() => Value::Null,
            Json::String(s) => Value::Options(
                s.split(',')
                    .map(|x| x.trim().parse::<i32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| type_error(attr, "option values such as \"1,3\""))?,
            ),
            Json::Array(items) => Value::Options(
                items
                    .iter()
                    .map(|x| x.as_i64().and_then(|i| i32::try_from(i).ok()))
                    .collect::<Option<_>>()
                    .ok_or_else(|| type_error(attr, "option values"))?,
            ),
            Json::Number(n) => Value::Options(vec![n
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| type_error(attr, "option values"))?]),
            _ => return Err(type_error(attr, "option values such as \"1,3\"")),
        },
        AttrKind::Uniqueidentifier => match v {
            Json::String(s) => Value::Uuid(Uuid::parse_str(s).map_err(|_| type_error(attr, "a GUID"))?),
            _ => return Err(type_error(attr, "a GUID")),
        },
        AttrKind::File => match v {
            Json::String(s) => Value::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map_err(|_| type_error(attr, "base64 content"))?,
            ),
            _ => return Err(type_error(attr, "base64 content")),
        },
        AttrKind::Lookup | AttrKind::Customer | AttrKind::Owner => {
            return Err(ApiError::bad_request(format!("set '{}' with '<navigation property>@odata.bind'", attr.name)))
        }
    })
}

pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|n| n.and_utc())
}

/// An attribute value as Dataverse writes it.
pub fn value_to_json(attr: Option<&AttributeDef>, v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Decimal(d) => decimal_json(*d),
        Value::Double(f) => Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Value::String(s) => Json::String(s.clone()),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::Ref(r) => Json::String(r.id.to_string()),
        Value::DateTime(d) => {
            if attr.is_some_and(|a| a.is_date_only()) {
                Json::String(d.format("%Y-%m-%d").to_string())
            } else {
                Json::String(d.to_rfc3339_opts(SecondsFormat::Secs, true))
            }
        }
        Value::Options(o) => Json::String(o.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
    }
}

pub fn decimal_json(d: Decimal) -> Json {
    let s = d.normalize().to_string();
    s.parse::<Number>().map(Json::Number).unwrap_or(Json::String(s))
}

/// Which instance annotations the caller asked for
/// (`Prefer: odata.include-annotations="…"`).
#[derive(Debug, Clone, Default)]
pub struct Annotations {
    patterns: Vec<String>,
}

pub const FORMATTED: &str = "OData.Community.Display.V1.FormattedValue";
pub const LOOKUP_NAME: &str = "Microsoft.Dynamics.CRM.lookuplogicalname";
pub const NAV_NAME: &str = "Microsoft.Dynamics.CRM.associatednavigationproperty";

/// More annotation patterns than any client needs are ignored.
pub const MAX_ANNOTATION_PATTERNS: usize = 16;

impl Annotations {
    /// Patterns kept: annotation names (letters, digits, `.`, `*`, a leading
    /// `-`), at most [`MAX_ANNOTATION_PATTERNS`] of them, so what is echoed in
    /// `Preference-Applied` stays small whatever the client sent.
    pub fn parse(pref: Option<&str>) -> Annotations {
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && s.trim_start_matches('-').chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '_'))
        };
        let patterns = pref
            .map(|p| {
                p.trim_matches('"')
                    .split(',')
                    .map(str::trim)
                    .filter(|s| valid(s))
                    .take(MAX_ANNOTATION_PATTERNS)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Annotations { patterns }
    }
    pub fn any(&self) -> bool {
        !self.patterns.is_empty()
    }
    pub fn wants(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| {
            let (neg, p) = match p.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, p.as_str()),
            };
            let m = p == "*"
                || p == name
                || p.strip_suffix(".*").is_some_and(|ns| name.starts_with(ns) && name[ns.len()..].starts_with('.'));
            m && !neg
        })
    }
    pub fn header_value(&self) -> String {
        format!("odata.include-annotations=\"{}\"", self.patterns.join(","))
    }
}

/// What serializing needs besides the record: names for lookups and
/// currency symbols, fetched once per response.
pub struct Formatting<'a> {
    pub schema: std::sync::Arc<Schema>,
    pub annotations: &'a Annotations,
    pub lookup_names: HashMap<Uuid, String>,
    pub currency_symbols: HashMap<Uuid, String>,
    pub base_currency_symbol: String,
}

impl Formatting<'_> {
    pub fn record(&self, r: &Record) -> Map<String, Json> {
        let mut out = Map::new();
        let entity = self.schema.entity(&r.entity);
        out.insert("@odata.etag".into(), Json::String(etag(r.version())));
        let currency = r
            .get("transactioncurrencyid")
            .and_then(Value::as_uuid)
            .and_then(|c| self.currency_symbols.get(&c).cloned())
            .unwrap_or_else(|| self.base_currency_symbol.clone());
        for (name, value) in &r.values {
            let attr = entity.and_then(|e| e.attribute(name));
            let key = match attr {
                Some(a) if a.kind.is_lookup() => a.lookup_value_name(),
                _ => name.clone(),
            };
            if self.annotations.any() && !value.is_null() {
                if let Some(a) = attr {
                    self.annotate(&mut out, &key, a, value, &currency);
                }
            }
            out.insert(key, value_to_json(attr, value));
        }
        for (nav, exp) in &r.expanded {
            let v = match exp {
                Expanded::Single(None) => Json::Null,
                Expanded::Single(Some(rec)) => Json::Object(self.record(rec)),
                Expanded::Collection(rows) => Json::Array(rows.iter().map(|x| Json::Object(self.record(x))).collect()),
            };
            out.insert(nav.clone(), v);
        }
        out
    }

    fn annotate(&self, out: &mut Map<String, Json>, key: &str, attr: &AttributeDef, value: &Value, currency: &str) {
        if attr.kind.is_lookup() {
            if let Value::Ref(r) = value {
                if self.annotations.wants(FORMATTED) {
                    if let Some(n) = self.lookup_names.get(&r.id) {
                        out.insert(format!("{key}@{FORMATTED}"), Json::String(n.clone()));
                    }
                }
                if self.annotations.wants(NAV_NAME) {
                    if let Some(t) = attr.target(&r.entity) {
                        let nav = if attr.kind == AttrKind::Owner { attr.name.clone() } else { t.nav.clone() };
                        out.insert(format!("{key}@{NAV_NAME}"), Json::String(nav));
                    }
                }
                if self.annotations.wants(LOOKUP_NAME) {
                    out.insert(format!("{key}@{LOOKUP_NAME}"), Json::String(r.entity.clone()));
                }
            }
            return;
        }
        if !self.annotations.wants(FORMATTED) {
            return;
        }
        if let Some(text) = format_value(&self.schema, attr, value, currency) {
            out.insert(format!("{key}@{FORMATTED}"), Json::String(text));
        }
    }
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Parses `W/"123"` or `"123"`.
pub fn parse_etag(s: &str) -> Option<i64> {
    s.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
}

fn group_thousands(int_part: &str) -> String {
    let (sign, digits) = match int_part.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", int_part),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn format_decimal(d: Decimal, places: u32) -> String {
    let mut r = d.round_dp(places);
    r.rescale(places);
    let s = r.to_string();
    match s.split_once('.') {
        Some((i, f)) => format!("{}.{f}", group_thousands(i)),
        None => group_thousands(&s),
    }
}

/// The display text of a value (English formats; per-user locales come
/// with the user settings).
pub fn format_value(schema: &Schema, attr: &AttributeDef, value: &Value, currency: &str) -> Option<String> {
    Some(match (attr.kind, value) {
        (AttrKind::Picklist | AttrKind::State | AttrKind::Status, Value::Int(i)) => {
            schema.option_label(attr, *i as i32)?.en.clone()
        }
        (AttrKind::MultiSelectPicklist, Value::Options(o)) => {
            o.iter().filter_map(|i| schema.option_label(attr, *i).map(|l| l.en.clone())).collect::<Vec<_>>().join("; ")
        }
        (AttrKind::Boolean, Value::Bool(b)) => (if *b { "Yes" } else { "No" }).to_string(),
        (AttrKind::Money, Value::Decimal(d)) => {
            let places = attr.precision.unwrap_or(2).min(4);
            let text = format_decimal(d.abs(), places);
            if d.is_sign_negative() && !d.is_zero() {
                format!("-{currency}{text}")
            } else {
                format!("{currency}{text}")
            }
        }
        (AttrKind::Decimal, Value::Decimal(d)) => format_decimal(*d, attr.precision.unwrap_or(2)),
        (AttrKind::Integer | AttrKind::BigInt, Value::Int(i)) if attr.name != "versionnumber" => {
            group_thousands(&i.to_string())
        }
        (AttrKind::Double, Value::Double(f)) => {
            format_decimal(Decimal::try_from(*f).ok()?, attr.precision.unwrap_or(2))
        }
        (AttrKind::DateTime, Value::DateTime(d)) => {
            if attr.is_date_only() {
                d.format("%-m/%-d/%Y").to_string()
            } else {
                d.format("%-m/%-d/%Y %-I:%M %p").to_string()
            }
        }
        _ => return None,
    })
}
