//! FetchXML, the query language of Dataverse views (`savedquery.fetchxml`,
//! `userquery.fetchxml`), translated into OData query options so one
//! planner, with its security scope, runs both.
//!
//! The subset is what views use: one `<entity>` with `<attribute>`,
//! `<all-attributes>`, `<order>` and nested `<filter type="and|or">` of
//! `<condition>`s. Operators map onto OData comparisons or onto the
//! `Microsoft.Dynamics.CRM` query functions of the same meaning.
//! `link-entity` and aggregates are refused with a message naming them.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::options::string_literal;

/// A FetchXML query as OData options over one entity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchQuery {
    pub entity: String,
    /// Column logical names; empty for `<all-attributes>`.
    pub attributes: Vec<String>,
    /// The `$filter` text, if any condition was given.
    pub filter: Option<String>,
    /// `(column, descending)` in order.
    pub orders: Vec<(String, bool)>,
    /// `<fetch top="n">` or `count`.
    pub top: Option<u32>,
}

impl FetchQuery {
    /// The query as OData query option text (`$select=…&$filter=…`).
    pub fn to_odata(&self) -> String {
        let mut parts = Vec::new();
        if !self.attributes.is_empty() {
            parts.push(format!("$select={}", self.attributes.join(",")));
        }
        if let Some(f) = &self.filter {
            parts.push(format!("$filter={f}"));
        }
        if !self.orders.is_empty() {
            let o: Vec<String> =
                self.orders.iter().map(|(c, d)| format!("{c} {}", if *d { "desc" } else { "asc" })).collect();
            parts.push(format!("$orderby={}", o.join(",")));
        }
        if let Some(t) = self.top {
            parts.push(format!("$top={t}"));
        }
        parts.join("&")
    }
}

/// Why a FetchXML text was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("FetchXML: {0}")]
pub struct FetchError(pub String);

fn bad(m: impl Into<String>) -> FetchError {
    FetchError(m.into())
}

/// One `<filter>` being read: its joiner and the terms so far.
struct Group {
    or: bool,
    terms: Vec<String>,
}

/// Parses FetchXML into OData options, naming columns as written.
pub fn parse(xml: &str) -> Result<FetchQuery, FetchError> {
    parse_with(xml, &|_, column| column.to_string())
}

/// Parses FetchXML into OData options over `schema`: FetchXML names a
/// lookup by its logical name where OData compares and sorts on
/// `_<name>_value`, so conditions and orders on lookups are renamed.
pub fn parse_in(xml: &str, schema: &relata_metadata::Schema) -> Result<FetchQuery, FetchError> {
    parse_with(xml, &|entity, column| match schema.entity(entity) {
        Some(e) => e.property_name(column),
        None => column.to_string(),
    })
}

/// How a column of an entity is named in OData comparisons and orders.
type ColumnName<'a> = &'a dyn Fn(&str, &str) -> String;

fn parse_with(xml: &str, odata: ColumnName<'_>) -> Result<FetchQuery, FetchError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut q = FetchQuery::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut top_terms: Vec<String> = Vec::new();
    // The condition whose `<value>` children are being read (operator `in`).
    let mut open_condition: Option<(BytesStart<'static>, Vec<String>)> = None;
    let mut in_value = false;
    let mut depth_in_entity = false;
    let mut open_elements = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| bad(format!("not well-formed XML: {e}")))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if !empty {
                    open_elements += 1;
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                match name.as_str() {
                    "fetch" => {
                        if attr(e, "aggregate")?.as_deref() == Some("true") {
                            return Err(bad("aggregate queries are not supported in views"));
                        }
                        for key in ["top", "count"] {
                            if let Some(v) = attr(e, key)? {
                                q.top = Some(v.parse().map_err(|_| bad(format!("{key}=\"{v}\" is not a number")))?);
                            }
                        }
                    }
                    "entity" => {
                        q.entity = attr(e, "name")?.ok_or_else(|| bad("<entity> needs a name"))?;
                        depth_in_entity = true;
                    }
                    "link-entity" => return Err(bad("link-entity is not supported in views")),
                    "attribute" if depth_in_entity => q.attributes.push(required(e, "name", "attribute")?),
                    "all-attributes" => q.attributes.clear(),
                    "order" => {
                        let col = odata(&q.entity, &required(e, "attribute", "order")?);
                        q.orders.push((col, attr(e, "descending")?.as_deref() == Some("true")));
                    }
                    "filter" => {
                        let or = match attr(e, "type")?.as_deref() {
                            None | Some("and") => false,
                            Some("or") => true,
                            Some(other) => return Err(bad(format!("filter type \"{other}\" is not and/or"))),
                        };
                        if empty {
                            continue;
                        }
                        groups.push(Group { or, terms: Vec::new() });
                    }
                    "condition" => {
                        if empty {
                            let term = condition(e, &[], &|c| odata(&q.entity, c))?;
                            push_term(&mut groups, &mut top_terms, term);
                        } else {
                            open_condition = Some((e.to_owned(), Vec::new()));
                        }
                    }
                    "value" => in_value = !empty,
                    other => return Err(bad(format!("<{other}> is not supported"))),
                }
            }
            Event::Text(t) if in_value => {
                let v = t.unescape().map_err(|e| bad(format!("bad text: {e}")))?.to_string();
                if let Some((_, values)) = open_condition.as_mut() {
                    values.push(v);
                }
            }
            Event::End(e) => {
                open_elements = open_elements.saturating_sub(1);
                match e.local_name().as_ref() {
                    b"value" => in_value = false,
                    b"condition" => {
                        if let Some((start, values)) = open_condition.take() {
                            let term = condition(&start, &values, &|c| odata(&q.entity, c))?;
                            push_term(&mut groups, &mut top_terms, term);
                        }
                    }
                    b"filter" => {
                        let g = groups.pop().ok_or_else(|| bad("unbalanced </filter>"))?;
                        if !g.terms.is_empty() {
                            let joined = g.terms.join(if g.or { " or " } else { " and " });
                            let term = if g.terms.len() > 1 { format!("({joined})") } else { joined };
                            push_term(&mut groups, &mut top_terms, term);
                        }
                    }
                    b"entity" => depth_in_entity = false,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if open_elements > 0 {
        return Err(bad("not well-formed XML: an element is not closed"));
    }
    if q.entity.is_empty() {
        return Err(bad("no <entity> element"));
    }
    if !top_terms.is_empty() {
        q.filter = Some(top_terms.join(" and "));
    }
    Ok(q)
}

fn push_term(groups: &mut [Group], top: &mut Vec<String>, term: String) {
    match groups.last_mut() {
        Some(g) => g.terms.push(term),
        None => top.push(term),
    }
}

fn attr(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, FetchError> {
    for a in e.attributes() {
        let a = a.map_err(|err| bad(format!("bad attribute: {err}")))?;
        if a.key.local_name().as_ref() == key.as_bytes() {
            let v = a.unescape_value().map_err(|err| bad(format!("bad attribute value: {err}")))?;
            return Ok(Some(v.to_string()));
        }
    }
    Ok(None)
}

fn required(e: &BytesStart<'_>, key: &str, element: &str) -> Result<String, FetchError> {
    let v = attr(e, key)?.ok_or_else(|| bad(format!("<{element}> needs {key}")))?;
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad(format!("<{element}> {key}=\"{v}\" is not a column name")));
    }
    Ok(v)
}

/// A literal for OData: numbers, GUIDs, booleans and dates as they are,
/// everything else quoted.
fn literal(v: &str) -> String {
    // Only plain decimal notation passes unquoted ("inf" and "1e5" parse as
    // floats but are not OData numbers).
    let is_number = v.parse::<f64>().is_ok()
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'));
    let is_guid = uuid::Uuid::parse_str(v.trim_matches(['{', '}'])).is_ok() && v.len() >= 32;
    // The whole value must be a date or a date and time: anything after it
    // would otherwise reach the OData text unquoted.
    let is_date =
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() || chrono::DateTime::parse_from_rfc3339(v).is_ok();
    // FetchXML often gives a time without an offset; OData needs one.
    if chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S").is_ok() {
        return format!("{v}Z");
    }
    if is_number || v == "true" || v == "false" {
        v.to_string()
    } else if is_guid {
        v.trim_matches(['{', '}']).to_string()
    } else if is_date {
        // The text is read as query text, where `+` means a space.
        v.replace('+', "%2B")
    } else {
        string_literal(v)
    }
}

/// FetchXML operators that are query functions taking the column only.
const COLUMN_FUNCTIONS: &[(&str, &str)] = &[
    ("eq-userid", "EqualUserId"),
    ("ne-userid", "NotEqualUserId"),
    ("eq-businessid", "EqualBusinessId"),
    ("ne-businessid", "NotEqualBusinessId"),
    ("eq-useroruserteams", "EqualUserOrUserTeams"),
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("tomorrow", "Tomorrow"),
    ("this-week", "ThisWeek"),
    ("last-week", "LastWeek"),
    ("next-week", "NextWeek"),
    ("this-month", "ThisMonth"),
    ("last-month", "LastMonth"),
    ("next-month", "NextMonth"),
    ("this-year", "ThisYear"),
    ("last-year", "LastYear"),
    ("next-year", "NextYear"),
];

/// FetchXML operators that are query functions taking one value.
const VALUE_FUNCTIONS: &[(&str, &str)] = &[
    ("last-x-hours", "LastXHours"),
    ("next-x-hours", "NextXHours"),
    ("last-x-days", "LastXDays"),
    ("next-x-days", "NextXDays"),
    ("last-x-weeks", "LastXWeeks"),
    ("next-x-weeks", "NextXWeeks"),
    ("last-x-months", "LastXMonths"),
    ("next-x-months", "NextXMonths"),
    ("last-x-years", "LastXYears"),
    ("next-x-years", "NextXYears"),
    ("olderthan-x-days", "OlderThanXDays"),
    ("olderthan-x-months", "OlderThanXMonths"),
    ("on", "On"),
    ("on-or-after", "OnOrAfter"),
    ("on-or-before", "OnOrBefore"),
];

fn condition(e: &BytesStart<'_>, values: &[String], odata: &dyn Fn(&str) -> String) -> Result<String, FetchError> {
    let logical = required(e, "attribute", "condition")?;
    // Query functions take the logical name; comparisons the OData one.
    let col = odata(&logical);
    let op = attr(e, "operator")?.ok_or_else(|| bad(format!("the condition on {logical} needs an operator")))?;
    let value = || -> Result<String, FetchError> {
        attr(e, "value")?
            .or_else(|| values.first().cloned())
            .ok_or_else(|| bad(format!("the {op} condition on {logical} needs a value")))
    };
    let compare = |sym: &str| -> Result<String, FetchError> { Ok(format!("{col} {sym} {}", literal(&value()?))) };
    if let Some((_, f)) = COLUMN_FUNCTIONS.iter().find(|(o, _)| *o == op) {
        return Ok(format!("Microsoft.Dynamics.CRM.{f}(PropertyName='{logical}')"));
    }
    if let Some((_, f)) = VALUE_FUNCTIONS.iter().find(|(o, _)| *o == op) {
        let v = value()?;
        return Ok(format!(
            "Microsoft.Dynamics.CRM.{f}(PropertyName='{logical}',PropertyValue={})",
            string_literal(&v)
        ));
    }
    match op.as_str() {
        "eq" => compare("eq"),
        "ne" | "neq" => compare("ne"),
        "gt" => compare("gt"),
        "ge" => compare("ge"),
        "lt" => compare("lt"),
        "le" => compare("le"),
        "null" => Ok(format!("{col} eq null")),
        "not-null" => Ok(format!("{col} ne null")),
        "like" | "not-like" | "begins-with" | "ends-with" | "not-begin-with" | "not-end-with" => {
            let v = value()?;
            let (starts, ends) = (v.starts_with('%'), v.ends_with('%') && v.len() > 1);
            let inner = v.trim_matches('%');
            let f = match op.as_str() {
                "begins-with" | "not-begin-with" => "startswith",
                "ends-with" | "not-end-with" => "endswith",
                _ if starts && ends => "contains",
                _ if ends => "startswith",
                _ if starts => "endswith",
                _ => return Ok(format!("{col} {} {}", if op == "like" { "eq" } else { "ne" }, string_literal(inner))),
            };
            let call = format!("{f}({col},{})", string_literal(inner));
            Ok(if op.starts_with("not") { format!("not {call}") } else { call })
        }
        "in" | "not-in" => {
            if values.is_empty() {
                return Err(bad(format!("the {op} condition on {logical} needs <value> elements")));
            }
            let any: Vec<String> = values.iter().map(|v| format!("{col} eq {}", literal(v))).collect();
            let joined = format!("({})", any.join(" or "));
            Ok(if op == "in" { joined } else { format!("not {joined}") })
        }
        other => Err(bad(format!("the operator \"{other}\" is not supported"))),
    }
}

/// The `<filter>` elements directly inside `<entity>`, as written, so a
/// view's conditions can be carried into a new view with more of them.
pub fn entity_filters(xml: &str) -> Result<Vec<String>, FetchError> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut start = None;
    let mut out = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| bad(format!("not well-formed XML: {e}")))?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                if depth == 2 && e.local_name().as_ref() == b"filter" {
                    start = Some(before);
                }
                depth += 1;
            }
            Event::Empty(e) if depth == 2 && e.local_name().as_ref() == b"filter" => {}
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if depth == 2 && e.local_name().as_ref() == b"filter" {
                    if let Some(s) = start.take() {
                        out.push(xml[s..after].trim().to_string());
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Escapes a value for an XML attribute.
pub fn escape_attr(v: &str) -> String {
    quick_xml::escape::escape(v).to_string()
}

/// The columns of a view's grid (`layoutxml`): the `name` of each `<cell>`.
pub fn layout_columns(layout: &str) -> Result<Vec<String>, FetchError> {
    let mut reader = Reader::from_str(layout);
    let mut cols = Vec::new();
    loop {
        match reader.read_event().map_err(|e| bad(format!("layoutxml is not well-formed XML: {e}")))? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"cell" => {
                cols.push(required(&e, "name", "cell")?);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_with_owner_state_and_order() {
        let q = parse(
            r#"<fetch version="1.0" mapping="logical"><entity name="opportunity">
                <attribute name="name"/><attribute name="estimatedvalue"/>
                <order attribute="estimatedclosedate" descending="false"/>
                <filter type="and">
                  <condition attribute="ownerid" operator="eq-userid"/>
                  <condition attribute="statecode" operator="eq" value="0"/>
                </filter></entity></fetch>"#,
        )
        .unwrap();
        assert_eq!(q.entity, "opportunity");
        assert_eq!(q.attributes, ["name", "estimatedvalue"]);
        assert_eq!(q.orders, [("estimatedclosedate".to_string(), false)]);
        assert_eq!(
            q.filter.as_deref(),
            Some("(Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid') and statecode eq 0)")
        );
        assert!(q.to_odata().starts_with("$select=name,estimatedvalue&$filter="));
    }

    #[test]
    fn nested_or_like_in_and_null() {
        let q = parse(
            r#"<fetch><entity name="account"><filter type="or">
                 <condition attribute="name" operator="like" value="%Co'rp%"/>
                 <filter type="and"><condition attribute="telephone1" operator="not-null"/>
                   <condition attribute="industrycode" operator="in"><value>1</value><value>7</value></condition>
                 </filter></filter></entity></fetch>"#,
        )
        .unwrap();
        assert_eq!(
            q.filter.as_deref(),
            Some("(contains(name,'Co''rp') or (telephone1 ne null and (industrycode eq 1 or industrycode eq 7)))")
        );
    }

    #[test]
    fn date_functions_and_values() {
        let q = parse(
            r#"<fetch><entity name="task"><filter><condition attribute="scheduledend" operator="last-x-days" value="7"/>
               <condition attribute="createdon" operator="on-or-after" value="2026-01-01"/></filter></entity></fetch>"#,
        )
        .unwrap();
        assert_eq!(
            q.filter.as_deref(),
            Some(
                "(Microsoft.Dynamics.CRM.LastXDays(PropertyName='scheduledend',PropertyValue='7') and \
                 Microsoft.Dynamics.CRM.OnOrAfter(PropertyName='createdon',PropertyValue='2026-01-01'))"
            )
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let err = |x: &str| parse(x).unwrap_err().0;
        assert!(err("<fetch><entity name=\"a\"><link-entity name=\"b\"/></entity></fetch>").contains("link-entity"));
        assert!(err("<fetch aggregate=\"true\"><entity name=\"a\"/></fetch>").contains("aggregate"));
        assert!(err("<fetch><entity name=\"a\"><filter><condition attribute=\"x\" operator=\"wat\" value=\"1\"/></filter></entity></fetch>").contains("wat"));
        assert!(err("<fetch><entity name=\"a\"><attribute name=\"x;drop\"/></entity></fetch>").contains("not a column"));
        assert!(err("<fetch><entity name=\"a\">").contains("not closed"));
        assert!(err("<fetch/>").contains("no <entity>"));
        assert!(err(
            "<fetch><entity name=\"a\"><filter><condition attribute=\"x\" operator=\"eq\"/></filter></entity></fetch>"
        )
        .contains("needs a value"));
    }

    #[test]
    fn entity_filters_are_carried_as_written() {
        let x = r#"<fetch><entity name="a"><attribute name="n"/><filter type="or"><condition attribute="x" operator="eq" value="1"/><filter><condition attribute="y" operator="null"/></filter></filter><order attribute="n"/></entity></fetch>"#;
        assert_eq!(
            entity_filters(x).unwrap(),
            [
                r#"<filter type="or"><condition attribute="x" operator="eq" value="1"/><filter><condition attribute="y" operator="null"/></filter></filter>"#
            ]
        );
    }

    #[test]
    fn layout_cells() {
        let cols = layout_columns(
            r#"<grid name="resultset" object="1" jump="name" select="1"><row name="result" id="accountid">
               <cell name="name" width="300"/><cell name="telephone1" width="125"/></row></grid>"#,
        )
        .unwrap();
        assert_eq!(cols, ["name", "telephone1"]);
    }
}
