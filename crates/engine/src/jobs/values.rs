//! Record values as job data: a tagged JSON form that gives back exactly
//! the value it was made from (decimals stay exact, ids stay ids).

use relata_metadata::{EntityRef, Value};
use serde_json::{json, Value as Json};

use crate::error::{EngineError, Result};
use crate::session::Fields;

pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!({ "bool": b }),
        Value::Int(i) => json!({ "int": i }),
        Value::Decimal(d) => json!({ "decimal": d.to_string() }),
        Value::Double(f) => json!({ "double": f }),
        Value::String(s) => json!({ "string": s }),
        Value::Uuid(u) => json!({ "uuid": u }),
        Value::DateTime(t) => json!({ "datetime": t.to_rfc3339() }),
        Value::Ref(r) => json!({ "ref": { "entity": r.entity, "id": r.id } }),
        Value::Options(o) => json!({ "options": o }),
        Value::Bytes(b) => json!({ "bytes": b }),
    }
}

pub fn from_json(j: &Json) -> Result<Value> {
    let bad = || EngineError::Invalid(format!("job data holds an unreadable value: {j}"));
    let Some(obj) = j.as_object() else {
        return if j.is_null() { Ok(Value::Null) } else { Err(bad()) };
    };
    let (tag, v) = obj.iter().next().ok_or_else(bad)?;
    Ok(match tag.as_str() {
        "bool" => Value::Bool(v.as_bool().ok_or_else(bad)?),
        "int" => Value::Int(v.as_i64().ok_or_else(bad)?),
        "decimal" => Value::Decimal(v.as_str().and_then(|s| s.parse().ok()).ok_or_else(bad)?),
        "double" => Value::Double(v.as_f64().ok_or_else(bad)?),
        "string" => Value::String(v.as_str().ok_or_else(bad)?.to_string()),
        "uuid" => Value::Uuid(v.as_str().and_then(|s| s.parse().ok()).ok_or_else(bad)?),
        "datetime" => Value::DateTime(
            v.as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(bad)?
                .with_timezone(&chrono::Utc),
        ),
        "ref" => Value::Ref(EntityRef {
            entity: v.get("entity").and_then(Json::as_str).ok_or_else(bad)?.to_string(),
            id: v.get("id").and_then(Json::as_str).and_then(|s| s.parse().ok()).ok_or_else(bad)?,
        }),
        "options" => Value::Options(
            v.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|o| o.as_i64().and_then(|o| i32::try_from(o).ok()).ok_or_else(bad))
                .collect::<Result<_>>()?,
        ),
        "bytes" => Value::Bytes(
            v.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()).ok_or_else(bad))
                .collect::<Result<_>>()?,
        ),
        _ => return Err(bad()),
    })
}

pub fn fields_to_json(f: &Fields) -> Json {
    Json::Object(f.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
}

pub fn fields_from_json(j: &Json) -> Result<Fields> {
    let obj = j.as_object().ok_or_else(|| EngineError::Invalid("job data: expected an object of values".into()))?;
    obj.iter().map(|(k, v)| Ok((k.clone(), from_json(v)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_comes_back_unchanged() {
        let values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-9_223_372_036_854_775_808),
            Value::Decimal("12345678901234567.0000000001".parse().unwrap()),
            Value::Double(0.1),
            Value::String("ООО «Ромашка»".into()),
            Value::Uuid(uuid::Uuid::now_v7()),
            Value::DateTime(chrono::DateTime::parse_from_rfc3339("2026-12-05T10:11:12.123456Z").unwrap().into()),
            Value::Ref(EntityRef { entity: "account".into(), id: uuid::Uuid::now_v7() }),
            Value::Options(vec![1, 5, 100_000_000]),
            Value::Bytes(vec![0, 1, 255]),
        ];
        for v in values {
            assert_eq!(from_json(&to_json(&v)).unwrap(), v);
        }
        assert!(from_json(&json!({"int": "x"})).is_err());
        assert!(from_json(&json!({"what": 1})).is_err());
    }
}
