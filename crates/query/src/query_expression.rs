//! Dataverse's `QueryExpression`, as the Web API carries it in JSON (the
//! `QuerySet` of `BulkDelete`), translated into FetchXML so that the one
//! FetchXML reader, with its security scope, runs it.
//!
//! The subset is what FetchXML here reads: one entity, a criteria tree of
//! `FilterExpression`s and `ConditionExpression`s, orders and a top count.
//! `LinkEntities` and operators with no FetchXML counterpart are refused
//! with a message naming them, never dropped.

use serde_json::{Map, Value as Json};

use crate::fetchxml::{escape_attr, FetchError};

fn bad(m: impl Into<String>) -> FetchError {
    FetchError(format!("QueryExpression: {}", m.into()))
}

/// Deepest nesting of filters taken (a query is written by people).
const MAX_FILTER_DEPTH: usize = 32;
/// Most conditions in one query.
const MAX_CONDITIONS: usize = 1000;

/// `ConditionOperator` members by name and number, with their FetchXML
/// operator. A `None` operator has no FetchXML counterpart here.
const OPERATORS: &[(&str, i64, Option<&str>)] = &[
    ("Equal", 0, Some("eq")),
    ("NotEqual", 1, Some("ne")),
    ("GreaterThan", 2, Some("gt")),
    ("LessThan", 3, Some("lt")),
    ("GreaterEqual", 4, Some("ge")),
    ("LessEqual", 5, Some("le")),
    ("Like", 6, Some("like")),
    ("NotLike", 7, Some("not-like")),
    ("In", 8, Some("in")),
    ("NotIn", 9, Some("not-in")),
    ("Between", 10, None),
    ("NotBetween", 11, None),
    ("Null", 12, Some("null")),
    ("NotNull", 13, Some("not-null")),
    ("Yesterday", 14, Some("yesterday")),
    ("Today", 15, Some("today")),
    ("Tomorrow", 16, Some("tomorrow")),
    ("Last7Days", 17, Some("last-x-days")),
    ("Next7Days", 18, Some("next-x-days")),
    ("LastWeek", 19, Some("last-week")),
    ("ThisWeek", 20, Some("this-week")),
    ("NextWeek", 21, Some("next-week")),
    ("LastMonth", 22, Some("last-month")),
    ("ThisMonth", 23, Some("this-month")),
    ("NextMonth", 24, Some("next-month")),
    ("On", 25, Some("on")),
    ("OnOrBefore", 26, Some("on-or-before")),
    ("OnOrAfter", 27, Some("on-or-after")),
    ("LastYear", 28, Some("last-year")),
    ("ThisYear", 29, Some("this-year")),
    ("NextYear", 30, Some("next-year")),
    ("LastXHours", 31, Some("last-x-hours")),
    ("NextXHours", 32, Some("next-x-hours")),
    ("LastXDays", 33, Some("last-x-days")),
    ("NextXDays", 34, Some("next-x-days")),
    ("LastXWeeks", 35, Some("last-x-weeks")),
    ("NextXWeeks", 36, Some("next-x-weeks")),
    ("LastXMonths", 37, Some("last-x-months")),
    ("NextXMonths", 38, Some("next-x-months")),
    ("LastXYears", 39, Some("last-x-years")),
    ("NextXYears", 40, Some("next-x-years")),
    ("EqualUserId", 41, Some("eq-userid")),
    ("NotEqualUserId", 42, Some("ne-userid")),
    ("EqualBusinessId", 43, Some("eq-businessid")),
    ("NotEqualBusinessId", 44, Some("ne-businessid")),
    ("ChildOf", 45, None),
    ("Mask", 46, None),
    ("NotMask", 47, None),
    ("MasksSelect", 48, None),
    ("Contains", 49, None),
    ("DoesNotContain", 50, None),
    ("EqualUserLanguage", 51, None),
    ("NotOn", 52, None),
    ("OlderThanXMonths", 53, Some("olderthan-x-months")),
    ("BeginsWith", 54, Some("begins-with")),
    ("DoesNotBeginWith", 55, Some("not-begin-with")),
    ("EndsWith", 56, Some("ends-with")),
    ("DoesNotEndWith", 57, Some("not-end-with")),
];

/// Operators FetchXML names that `ConditionOperator` numbers above 57
/// (they are given by name only here).
const NAMED_ONLY: &[(&str, &str)] =
    &[("OlderThanXDays", "olderthan-x-days"), ("EqualUserOrUserTeams", "eq-useroruserteams")];

/// Operators that take no value.
const NO_VALUE: &[&str] = &[
    "null",
    "not-null",
    "yesterday",
    "today",
    "tomorrow",
    "last-week",
    "this-week",
    "next-week",
    "last-month",
    "this-month",
    "next-month",
    "last-year",
    "this-year",
    "next-year",
    "eq-userid",
    "ne-userid",
    "eq-businessid",
    "ne-businessid",
    "eq-useroruserteams",
];

/// One translated query: its entity and its FetchXML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub entity: String,
    pub fetchxml: String,
}

/// Translates one `QueryExpression` object into FetchXML.
pub fn to_fetchxml(q: &Json) -> Result<Translated, FetchError> {
    let q = q.as_object().ok_or_else(|| bad("a query must be a JSON object"))?;
    known_keys(
        q,
        "the query",
        &[
            "EntityName",
            "ColumnSet",
            "Criteria",
            "Orders",
            "LinkEntities",
            "Distinct",
            "NoLock",
            "TopCount",
            "PageInfo",
            "QueryHints",
            "SubQueryExpression",
            "ExtensionData",
        ],
    )?;
    let entity = name(q.get("EntityName"), "EntityName")?;
    if let Some(links) = q.get("LinkEntities") {
        if links.as_array().is_some_and(|l| !l.is_empty()) {
            return Err(bad("LinkEntities are not supported; filter on the entity's own columns"));
        }
    }
    let mut x = String::from("<fetch");
    match q.get("TopCount") {
        None | Some(Json::Null) => {}
        Some(Json::Number(n)) if n.as_u64().is_some_and(|n| (1..=5000).contains(&n)) => {
            x.push_str(&format!(" top=\"{n}\""));
        }
        Some(other) => return Err(bad(format!("TopCount {other} is not a whole number from 1 to 5000"))),
    }
    x.push_str(&format!("><entity name=\"{}\">", escape_attr(&entity)));
    match q.get("ColumnSet") {
        None | Some(Json::Null) => {}
        Some(Json::Object(cs)) => {
            known_keys(cs, "ColumnSet", &["AllColumns", "Columns", "AttributeExpressions"])?;
            if let Some(cols) = cs.get("Columns") {
                let cols = cols.as_array().ok_or_else(|| bad("ColumnSet.Columns must be an array of names"))?;
                for c in cols {
                    x.push_str(&format!("<attribute name=\"{}\"/>", name(Some(c), "a column of ColumnSet")?));
                }
            }
        }
        Some(_) => return Err(bad("ColumnSet must be an object")),
    }
    if let Some(orders) = q.get("Orders").filter(|o| !o.is_null()) {
        let orders = orders.as_array().ok_or_else(|| bad("Orders must be an array"))?;
        for o in orders {
            let o = o.as_object().ok_or_else(|| bad("an order must be an object"))?;
            known_keys(o, "an order", &["AttributeName", "OrderType", "Alias", "EntityName"])?;
            let column = name(o.get("AttributeName"), "AttributeName of an order")?;
            let descending = match o.get("OrderType") {
                None | Some(Json::Null) => false,
                Some(Json::String(t)) if t == "Ascending" => false,
                Some(Json::String(t)) if t == "Descending" => true,
                Some(Json::Number(n)) if n.as_i64() == Some(0) => false,
                Some(Json::Number(n)) if n.as_i64() == Some(1) => true,
                Some(other) => return Err(bad(format!("OrderType {other} is neither Ascending nor Descending"))),
            };
            x.push_str(&format!("<order attribute=\"{column}\" descending=\"{descending}\"/>"));
        }
    }
    let mut conditions = 0usize;
    match q.get("Criteria") {
        None | Some(Json::Null) => {}
        Some(c) => filter(c, &entity, 1, &mut conditions, &mut x)?,
    }
    x.push_str("</entity></fetch>");
    Ok(Translated { entity, fetchxml: x })
}

fn filter(f: &Json, entity: &str, depth: usize, conditions: &mut usize, x: &mut String) -> Result<(), FetchError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(bad(format!("filters are nested deeper than {MAX_FILTER_DEPTH}")));
    }
    let f = f.as_object().ok_or_else(|| bad("a FilterExpression must be an object"))?;
    known_keys(
        f,
        "a FilterExpression",
        &["FilterOperator", "Conditions", "Filters", "IsQuickFindFilter", "FilterHint"],
    )?;
    let or = match f.get("FilterOperator") {
        None | Some(Json::Null) => false,
        Some(Json::String(o)) if o == "And" => false,
        Some(Json::String(o)) if o == "Or" => true,
        Some(Json::Number(n)) if n.as_i64() == Some(0) => false,
        Some(Json::Number(n)) if n.as_i64() == Some(1) => true,
        Some(other) => return Err(bad(format!("FilterOperator {other} is neither And nor Or"))),
    };
    x.push_str(if or { "<filter type=\"or\">" } else { "<filter type=\"and\">" });
    if let Some(cs) = f.get("Conditions").filter(|c| !c.is_null()) {
        for c in cs.as_array().ok_or_else(|| bad("Conditions must be an array"))? {
            *conditions += 1;
            if *conditions > MAX_CONDITIONS {
                return Err(bad(format!("more than {MAX_CONDITIONS} conditions")));
            }
            condition(c, entity, x)?;
        }
    }
    if let Some(fs) = f.get("Filters").filter(|c| !c.is_null()) {
        for inner in fs.as_array().ok_or_else(|| bad("Filters must be an array"))? {
            filter(inner, entity, depth + 1, conditions, x)?;
        }
    }
    x.push_str("</filter>");
    Ok(())
}

fn condition(c: &Json, entity: &str, x: &mut String) -> Result<(), FetchError> {
    let c = c.as_object().ok_or_else(|| bad("a ConditionExpression must be an object"))?;
    known_keys(c, "a ConditionExpression", &["AttributeName", "Operator", "Values", "EntityName", "CompareColumns"])?;
    let column = name(c.get("AttributeName"), "AttributeName of a condition")?;
    if let Some(e) = c.get("EntityName").and_then(Json::as_str).filter(|e| !e.is_empty() && *e != entity) {
        return Err(bad(format!(
            "the condition on {column} names entity '{e}'; conditions on linked entities are not supported"
        )));
    }
    if c.get("CompareColumns").and_then(Json::as_bool) == Some(true) {
        return Err(bad(format!("the condition on {column} compares columns, which is not supported")));
    }
    let (op_name, op) = operator(c.get("Operator"), &column)?;
    let mut values: Vec<String> = Vec::new();
    if let Some(vs) = c.get("Values").filter(|v| !v.is_null()) {
        for v in vs.as_array().ok_or_else(|| bad(format!("Values of the condition on {column} must be an array")))? {
            values.push(value(v, &column)?);
        }
    }
    // The fixed-span operators carry their span.
    if matches!(op_name.as_str(), "Last7Days" | "Next7Days") {
        values = vec!["7".into()];
    }
    let takes_none = NO_VALUE.contains(&op);
    let takes_many = matches!(op, "in" | "not-in");
    if takes_none && !values.is_empty() {
        return Err(bad(format!("{op_name} on {column} takes no value, but {} were given", values.len())));
    }
    if !takes_none && values.is_empty() {
        return Err(bad(format!("{op_name} on {column} needs a value")));
    }
    if !takes_none && !takes_many && values.len() > 1 {
        return Err(bad(format!("{op_name} on {column} takes one value, but {} were given", values.len())));
    }
    x.push_str(&format!("<condition attribute=\"{column}\" operator=\"{op}\""));
    if takes_many {
        x.push('>');
        for v in &values {
            x.push_str(&format!("<value>{}</value>", escape_attr(v)));
        }
        x.push_str("</condition>");
    } else if let Some(v) = values.first() {
        x.push_str(&format!(" value=\"{}\"/>", escape_attr(v)));
    } else {
        x.push_str("/>");
    }
    Ok(())
}

fn operator(op: Option<&Json>, column: &str) -> Result<(String, &'static str), FetchError> {
    let found = match op {
        Some(Json::String(s)) => OPERATORS
            .iter()
            .find(|(n, _, _)| n == s)
            .map(|(n, _, f)| (n.to_string(), *f))
            .or_else(|| NAMED_ONLY.iter().find(|(n, _)| n == s).map(|(n, f)| (n.to_string(), Some(*f)))),
        Some(Json::Number(n)) => {
            OPERATORS.iter().find(|(_, v, _)| Some(*v) == n.as_i64()).map(|(n, _, f)| (n.to_string(), *f))
        }
        None | Some(Json::Null) => return Err(bad(format!("the condition on {column} has no Operator"))),
        Some(_) => None,
    };
    match found {
        Some((name, Some(f))) => Ok((name, f)),
        Some((name, None)) => Err(bad(format!("the operator {name} (on {column}) is not supported"))),
        None => Err(bad(format!("{} is not a ConditionOperator (on {column})", op.unwrap_or(&Json::Null)))),
    }
}

/// A condition value: `{"Type": "System.String", "Value": "…"}` as the Web
/// API sends it, or a bare JSON scalar.
fn value(v: &Json, column: &str) -> Result<String, FetchError> {
    let inner = match v {
        Json::Object(o) => {
            known_keys(o, "a condition value", &["Type", "Value"])?;
            o.get("Value").ok_or_else(|| bad(format!("a value of the condition on {column} has no Value")))?
        }
        other => other,
    };
    match inner {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        other => Err(bad(format!("a value of the condition on {column} is {other}, not a string, number or boolean"))),
    }
}

fn name(v: Option<&Json>, what: &str) -> Result<String, FetchError> {
    let s = v.and_then(Json::as_str).ok_or_else(|| bad(format!("{what} must be a name")))?;
    if s.is_empty() || s.len() > 128 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad(format!("{what} '{s}' is not a logical name")));
    }
    Ok(s.to_ascii_lowercase())
}

fn known_keys(o: &Map<String, Json>, what: &str, known: &[&str]) -> Result<(), FetchError> {
    match o.keys().find(|k| !known.contains(&k.as_str()) && !k.starts_with('@')) {
        Some(k) => Err(bad(format!("{what} has an unknown property '{k}'"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fetch(q: Json) -> String {
        to_fetchxml(&q).unwrap().fetchxml
    }

    fn err(q: Json) -> String {
        to_fetchxml(&q).unwrap_err().to_string()
    }

    #[test]
    fn a_web_api_query_expression_becomes_fetchxml() {
        let x = fetch(json!({
            "EntityName": "account",
            "ColumnSet": {"AllColumns": false, "Columns": ["name"]},
            "Criteria": {
                "FilterOperator": "And",
                "Conditions": [
                    {"AttributeName": "name", "Operator": "BeginsWith", "Values": [{"Type": "System.String", "Value": "Old & <co>"}]},
                    {"AttributeName": "statecode", "Operator": 0, "Values": [{"Type": "System.Int32", "Value": 1}]}
                ],
                "Filters": [{"FilterOperator": "Or", "Conditions": [
                    {"AttributeName": "industrycode", "Operator": "In", "Values": [{"Type": "System.Int32", "Value": 1}, 2]},
                    {"AttributeName": "createdon", "Operator": "Last7Days", "Values": []}
                ]}]
            },
            "Orders": [{"AttributeName": "name", "OrderType": "Descending"}]
        }));
        assert_eq!(
            x,
            "<fetch><entity name=\"account\"><attribute name=\"name\"/><order attribute=\"name\" descending=\"true\"/>\
             <filter type=\"and\"><condition attribute=\"name\" operator=\"begins-with\" value=\"Old &amp; &lt;co&gt;\"/>\
             <condition attribute=\"statecode\" operator=\"eq\" value=\"1\"/><filter type=\"or\">\
             <condition attribute=\"industrycode\" operator=\"in\"><value>1</value><value>2</value></condition>\
             <condition attribute=\"createdon\" operator=\"last-x-days\" value=\"7\"/></filter></filter></entity></fetch>"
        );
        // And the FetchXML reader takes it.
        let q = crate::fetchxml::parse(&x).unwrap();
        assert_eq!(q.entity, "account");
        let opts = crate::options::parse_query_options(&q.to_odata()).unwrap();
        assert!(format!("{:?}", opts.filter).contains("Old & <co>"), "{opts:?}");
    }

    #[test]
    fn what_cannot_be_run_is_refused_by_name() {
        assert!(err(json!([])).contains("must be a JSON object"));
        assert!(err(json!({"Criteria": {}})).contains("EntityName must be a name"));
        assert!(err(json!({"EntityName": "acc ount"})).contains("'acc ount' is not a logical name"));
        assert!(err(json!({"EntityName": "account", "LinkEntities": [{}]})).contains("LinkEntities"));
        assert!(err(json!({"EntityName": "account", "Criterion": {}})).contains("unknown property 'Criterion'"));
        let cond = |c: Json| json!({"EntityName": "account", "Criteria": {"Conditions": [c]}});
        assert!(err(cond(json!({"AttributeName": "name", "Operator": "Between", "Values": [1, 2]})))
            .contains("Between (on name) is not supported"));
        assert!(err(cond(json!({"AttributeName": "name", "Operator": "Sideways"}))).contains("not a ConditionOperator"));
        assert!(err(cond(json!({"AttributeName": "name", "Operator": 999}))).contains("not a ConditionOperator"));
        assert!(err(cond(json!({"AttributeName": "name"}))).contains("has no Operator"));
        assert!(
            err(cond(json!({"AttributeName": "name", "Operator": "Equal"}))).contains("Equal on name needs a value")
        );
        assert!(
            err(cond(json!({"AttributeName": "name", "Operator": "Null", "Values": ["x"]}))).contains("takes no value")
        );
        assert!(err(cond(json!({"AttributeName": "name", "Operator": "Equal", "Values": ["a", "b"]})))
            .contains("takes one value"));
        assert!(err(cond(json!({"AttributeName": "name", "Operator": "Equal", "Values": [{"Value": null}]})))
            .contains("not a string, number or boolean"));
        assert!(err(cond(
            json!({"AttributeName": "name", "Operator": "Equal", "Values": [1], "EntityName": "contact"})
        ))
        .contains("linked entities"));
        // Deep nesting is refused, not recursed into without end.
        let mut deep = json!({"Conditions": []});
        for _ in 0..40 {
            deep = json!({"Filters": [deep]});
        }
        assert!(err(json!({"EntityName": "account", "Criteria": deep})).contains("nested deeper"));
    }
}
