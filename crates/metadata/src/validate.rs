//! Does a value fit an attribute? Type, length, range, precision and option
//! checks; values are normalized on the way (money rounded to storage scale,
//! date-only values truncated to midnight, multi-select values sorted).

use chrono::{Datelike, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::model::{AttrKind, AttributeDef};
use crate::value::Value;
use crate::{decimal_scale, money_limit, Schema};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{attribute}: {message}")]
pub struct ValidationError {
    pub attribute: String,
    /// The English text.
    pub message: String,
    /// What went wrong, for a text in another language: a message key
    /// and its parameters.
    pub key: &'static str,
    pub params: Vec<(&'static str, String)>,
}

fn err(
    attr: &AttributeDef,
    key: &'static str,
    params: Vec<(&'static str, String)>,
    message: impl Into<String>,
) -> ValidationError {
    ValidationError { attribute: attr.name.clone(), message: message.into(), key, params }
}

fn expected(attr: &AttributeDef, what: &str) -> ValidationError {
    err(attr, "wrong_type", vec![], format!("expected {what} for a {} attribute", attr.kind.dataverse_name()))
}

fn range(
    value: impl std::fmt::Display,
    min: impl std::fmt::Display,
    max: impl std::fmt::Display,
) -> Vec<(&'static str, String)> {
    vec![("value", value.to_string()), ("min", min.to_string()), ("max", max.to_string())]
}

/// Default text limits when the metadata gives none.
pub fn max_length(attr: &AttributeDef) -> u32 {
    attr.max_length.unwrap_or(match attr.kind {
        AttrKind::Memo => 1_048_576,
        _ => 100,
    })
}

/// The values a whole-number column holds: its metadata range within the
/// storage type's.
fn int_range(attr: &AttributeDef, min: Option<Decimal>, max: Option<Decimal>) -> (i64, i64) {
    let (dmin, dmax) =
        if attr.kind == AttrKind::Integer { (i32::MIN as i64, i32::MAX as i64) } else { (i64::MIN, i64::MAX) };
    let min = min.and_then(|m| i64::try_from(m).ok()).unwrap_or(dmin).max(dmin);
    let max = max.and_then(|m| i64::try_from(m).ok()).unwrap_or(dmax).min(dmax);
    (min, max)
}

/// The values a decimal or money column holds: its metadata range (Dataverse's
/// defaults otherwise), never more than fits a 64-bit integer at the column's
/// scale, which is how SQLite stores it; PostgreSQL gets the same limit so
/// both databases accept the same values.
fn decimal_range(attr: &AttributeDef, metadata: bool) -> (Decimal, Decimal) {
    let storable = (Decimal::from(i64::MAX) / Decimal::from(10i64.pow(decimal_scale(attr)))).trunc();
    if !metadata {
        return (-storable, storable);
    }
    let limit = if attr.kind == AttrKind::Money { money_limit() } else { Decimal::from(100_000_000_000i64) };
    (attr.min.unwrap_or(-limit).max(-storable), attr.max.unwrap_or(limit).min(storable))
}

/// Can the column's storage type hold this value at all? Checked for every
/// value a request compares with a column, so the database never sees one it
/// refuses; a comparison outside the metadata range is still a fair question.
pub fn check_storable(attr: &AttributeDef, value: &Value) -> Result<(), ValidationError> {
    in_range(attr, value, false)
}

/// Is a value within its column's range (the metadata's, within the storage
/// type's)? Checked for every value written.
pub fn check_range(attr: &AttributeDef, value: &Value) -> Result<(), ValidationError> {
    in_range(attr, value, true)
}

fn in_range(attr: &AttributeDef, value: &Value, metadata: bool) -> Result<(), ValidationError> {
    let (meta_min, meta_max) = if metadata { (attr.min, attr.max) } else { (None, None) };
    match (attr.kind, value) {
        // PostgreSQL text cannot hold U+0000; SQLite would, so both refuse it.
        (_, Value::String(s)) if s.contains('\0') => {
            return Err(err(attr, "nul_character", vec![], "text cannot contain the NUL character (U+0000)"));
        }
        (AttrKind::Integer | AttrKind::BigInt, Value::Int(i)) => {
            let (min, max) = int_range(attr, meta_min, meta_max);
            if *i < min || *i > max {
                return Err(err(
                    attr,
                    "out_of_range",
                    range(i, min, max),
                    format!("{i} is out of range [{min}, {max}]"),
                ));
            }
        }
        (AttrKind::Decimal | AttrKind::Money, Value::Decimal(d)) => {
            let (min, max) = decimal_range(attr, metadata);
            if *d < min || *d > max {
                return Err(err(
                    attr,
                    "out_of_range",
                    range(d, min, max),
                    format!("{d} is out of range [{min}, {max}]"),
                ));
            }
        }
        (AttrKind::Decimal | AttrKind::Money, Value::Int(i)) => {
            return in_range(attr, &Value::Decimal(Decimal::from(*i)), metadata);
        }
        (AttrKind::Double, Value::Double(f)) => {
            if !f.is_finite() {
                return Err(err(attr, "not_finite", vec![], "the number must be finite"));
            }
            if !metadata {
                return Ok(());
            }
            let min = attr.min.map(|m| m.to_string().parse::<f64>().unwrap_or(f64::MIN)).unwrap_or(-1e11);
            let max = attr.max.map(|m| m.to_string().parse::<f64>().unwrap_or(f64::MAX)).unwrap_or(1e11);
            if *f < min || *f > max {
                return Err(err(
                    attr,
                    "out_of_range",
                    range(f, min, max),
                    format!("{f} is out of range [{min}, {max}]"),
                ));
            }
        }
        // Four-digit years: what OData text and both databases express.
        (AttrKind::DateTime, Value::DateTime(dt)) if !(1..=9999).contains(&dt.year()) => {
            return Err(err(
                attr,
                "year_range",
                vec![],
                format!("{dt} is out of range: the year must be between 1 and 9999"),
            ));
        }
        (AttrKind::Picklist | AttrKind::State | AttrKind::Status | AttrKind::MultiSelectPicklist, Value::Int(i))
            if i32::try_from(*i).is_err() =>
        {
            return Err(err(
                attr,
                "not_an_option",
                vec![("value", i.to_string())],
                format!("{i} is not a valid option value"),
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Checks `value` against `attr` and returns the normalized value.
pub fn check_value(schema: &Schema, attr: &AttributeDef, value: Value) -> Result<Value, ValidationError> {
    if value.is_null() {
        return Ok(value);
    }
    match attr.kind {
        AttrKind::String | AttrKind::Memo | AttrKind::EntityName => {
            let Value::String(s) = value else { return Err(expected(attr, "a string")) };
            check_range(attr, &Value::String(s.clone()))?;
            let max = max_length(attr);
            let len = s.chars().count();
            if len as u64 > max as u64 {
                return Err(err(
                    attr,
                    "too_long",
                    vec![("length", len.to_string()), ("max", max.to_string())],
                    format!("text is {len} characters long; the maximum is {max}"),
                ));
            }
            if attr.kind == AttrKind::EntityName && schema.entity(&s).is_none() {
                return Err(err(attr, "not_an_entity", vec![("value", s.clone())], format!("'{s}' is not an entity")));
            }
            Ok(Value::String(s))
        }
        AttrKind::Integer | AttrKind::BigInt => {
            let Value::Int(i) = value else { return Err(expected(attr, "a whole number")) };
            check_range(attr, &Value::Int(i))?;
            Ok(Value::Int(i))
        }
        AttrKind::Decimal | AttrKind::Money => {
            let d = match value {
                Value::Decimal(d) => d,
                Value::Int(i) => Decimal::from(i),
                _ => return Err(expected(attr, "a number")),
            };
            let scale = decimal_scale(attr);
            let d = d.round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::MidpointAwayFromZero).normalize();
            check_range(attr, &Value::Decimal(d))?;
            Ok(Value::Decimal(d))
        }
        AttrKind::Double => {
            let f = match value {
                Value::Double(f) => f,
                Value::Int(i) => i as f64,
                Value::Decimal(d) => d.to_string().parse::<f64>().map_err(|_| expected(attr, "a number"))?,
                _ => return Err(expected(attr, "a number")),
            };
            check_range(attr, &Value::Double(f))?;
            Ok(Value::Double(f))
        }
        AttrKind::Boolean => match value {
            Value::Bool(b) => Ok(Value::Bool(b)),
            _ => Err(expected(attr, "true or false")),
        },
        AttrKind::DateTime => {
            let Value::DateTime(dt) = value else { return Err(expected(attr, "a date and time")) };
            check_range(attr, &Value::DateTime(dt))?;
            if attr.is_date_only() {
                let day = dt.date_naive().and_hms_opt(0, 0, 0).expect("midnight exists");
                return Ok(Value::DateTime(Utc.from_utc_datetime(&day)));
            }
            Ok(Value::DateTime(dt))
        }
        AttrKind::Picklist | AttrKind::State | AttrKind::Status => {
            let Value::Int(i) = value else { return Err(expected(attr, "an option value (integer)")) };
            let set = attr.option_set.as_deref().and_then(|n| schema.option_set(n));
            match set {
                Some(set) if set.options.iter().any(|o| o.value as i64 == i) => Ok(Value::Int(i)),
                _ => Err(err(
                    attr,
                    "not_an_option",
                    vec![("value", i.to_string())],
                    format!("{i} is not a valid option value"),
                )),
            }
        }
        AttrKind::MultiSelectPicklist => {
            let mut values = match value {
                Value::Options(v) => v,
                Value::Int(i) => {
                    vec![i32::try_from(i).map_err(|_| {
                        err(
                            attr,
                            "not_an_option",
                            vec![("value", i.to_string())],
                            format!("{i} is not a valid option value"),
                        )
                    })?]
                }
                _ => return Err(expected(attr, "a list of option values")),
            };
            let set = attr.option_set.as_deref().and_then(|n| schema.option_set(n));
            for v in &values {
                if !set.is_some_and(|s| s.options.iter().any(|o| o.value == *v)) {
                    return Err(err(
                        attr,
                        "not_an_option",
                        vec![("value", v.to_string())],
                        format!("{v} is not a valid option value"),
                    ));
                }
            }
            values.sort_unstable();
            values.dedup();
            Ok(Value::Options(values))
        }
        AttrKind::Lookup | AttrKind::Customer | AttrKind::Owner => {
            let Value::Ref(r) = value else { return Err(expected(attr, "a reference to a record")) };
            if attr.target(&r.entity).is_none() {
                let allowed: Vec<&str> = attr.targets.iter().map(|t| t.entity.as_str()).collect();
                return Err(err(
                    attr,
                    "wrong_target",
                    vec![("entity", r.entity.clone())],
                    format!("cannot point at a '{}' record (allowed: {})", r.entity, allowed.join(", ")),
                ));
            }
            Ok(Value::Ref(r))
        }
        AttrKind::Uniqueidentifier => match value {
            Value::Uuid(u) => Ok(Value::Uuid(u)),
            _ => Err(expected(attr, "a GUID")),
        },
        AttrKind::File => {
            let Value::Bytes(b) = value else { return Err(expected(attr, "base64 content")) };
            let max = attr.max_length.unwrap_or(32 * 1024 * 1024) as usize;
            if b.len() > max {
                return Err(err(
                    attr,
                    "file_too_big",
                    vec![("size", b.len().to_string()), ("max", max.to_string())],
                    format!("the file is {} bytes; the maximum is {max}", b.len()),
                ));
            }
            // An image column (a logo) takes what documents can print.
            let image = b.starts_with(b"\x89PNG\r\n\x1a\n") || b.starts_with(&[0xff, 0xd8, 0xff]);
            if attr.format.as_deref() == Some("Image") && !b.is_empty() && !image {
                return Err(err(attr, "not_an_image", vec![], "the file is not a PNG or JPEG image"));
            }
            Ok(Value::Bytes(b))
        }
    }
}
