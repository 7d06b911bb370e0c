//! The designer's model of a process: what its form holds, read from a
//! posted form or from a stored definition (`workflow.clientdata`),
//! changed by the form's buttons (add, remove, move), and written back as
//! the definition the engine checks and runs.
//!
//! Form names follow the model's shape: `s.0.type` is the first step's
//! type, `s.0.v.1.col` the column of its second value row, `s.0.t.2.…` the
//! third step of an `if`'s then branch (`e` for else), `c.0.field` the
//! first row of the workflow's condition (`s.0.c.…` an `if`'s, `s.0.u.…`
//! a wait's), `a.t.0.…` a business rule's first then action, `st.0.…` a
//! flow's first stage.
//!
//! What the designer cannot show (a deeper nesting, a step it has no form
//! for, a condition of nested groups) is kept as its JSON, shown and
//! carried unchanged.

use serde::Serialize;
use serde_json::{json, Map, Value as Json};

/// A posted form: every value of every name, in order.
pub(super) struct Posted(pub Vec<(String, String)>);

impl Posted {
    /// The last value of a name, or "".
    pub fn get(&self, k: &str) -> &str {
        self.0.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    pub fn has(&self, k: &str) -> bool {
        self.0.iter().any(|(n, _)| n == k)
    }
    /// Every non-empty value of a name (a multi-select).
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0.iter().filter(|(n, v)| n == k && !v.is_empty()).map(|(_, v)| v.clone()).collect()
    }
    fn text(&self, k: &str) -> String {
        self.get(k).to_string()
    }
    fn flag(&self, k: &str) -> bool {
        !self.get(k).is_empty()
    }
}

/// What the designer needs to know of the schema to write a definition:
/// the JSON of a typed value, and the entity a step's target names.
pub(super) trait Types {
    /// `raw`, typed for `column` of `entity` (a path may follow lookups),
    /// as the definition's literal; the message says what is wrong.
    fn literal(&mut self, entity: &str, column: &str, raw: &str) -> Result<Json, String>;
    /// Is the column text (so `{{ … }}` in it is a template)?
    fn is_text(&self, entity: &str, column: &str) -> bool;
    /// The entity a step acting on `target` (`record` or a lookup) changes.
    fn target(&self, entity: &str, target: &str) -> String;
    /// Interface text.
    fn say(&self, key: &str) -> String;
}

/// A mistake found while writing the definition: where, and what.
#[derive(Debug, Clone)]
pub(super) struct Mistake {
    pub place: String,
    pub message: String,
}

impl Mistake {
    pub fn text(&self) -> String {
        format!("{}: {}", self.place, self.message)
    }
}

fn pretty(j: &Json) -> String {
    serde_json::to_string_pretty(j).unwrap_or_default()
}

fn scalar_text(j: &Json) -> Option<String> {
    match j {
        Json::Null => Some(String::new()),
        Json::String(t) => Some(t.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A duration of one unit (`{"days": 2}`), as (amount, unit).
fn one_unit(d: &Json) -> Option<(String, String)> {
    let obj = d.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    let (unit, n) = obj.iter().next()?;
    matches!(unit.as_str(), "minutes" | "hours" | "days").then_some(())?;
    Some((n.as_i64()?.to_string(), unit.clone()))
}

fn whole(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|n| *n >= 0)
}

// ----- conditions -------------------------------------------------------------

/// One row of a condition: a column (or path), an operator, its value(s).
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Row {
    pub field: String,
    pub op: String,
    pub values: Vec<String>,
}

/// A condition the designer shows: rows joined by all or any; or JSON it
/// cannot show.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Cond {
    pub any: bool,
    pub rows: Vec<Row>,
    pub raw: Option<String>,
}

impl Row {
    fn from_json(c: &Json) -> Option<Row> {
        let obj = c.as_object()?;
        if obj.keys().any(|k| !matches!(k.as_str(), "field" | "op" | "value")) {
            return None;
        }
        let field = obj.get("field")?.as_str()?.to_string();
        let op = obj.get("op").and_then(Json::as_str).unwrap_or("eq").to_string();
        let values = match obj.get("value") {
            None => Vec::new(),
            Some(Json::Array(a)) => a.iter().map(scalar_text).collect::<Option<Vec<_>>>()?,
            Some(d @ Json::Object(_)) => match one_unit(d) {
                Some((n, unit)) if unit == "days" => vec![n],
                _ => return None,
            },
            Some(v) => vec![scalar_text(v)?],
        };
        Some(Row { field, op, values })
    }

    fn to_json(&self, entity: &str, place: &str, types: &mut dyn Types) -> Result<Json, Mistake> {
        let bad = |message: String| Mistake { place: place.to_string(), message };
        let mut out = Map::new();
        out.insert("field".into(), json!(self.field));
        out.insert("op".into(), json!(self.op));
        let first = self.values.first().map(String::as_str).unwrap_or("");
        match self.op.as_str() {
            "null" | "notnull" | "changed" => {}
            "olderthan" | "newerthan" => {
                let n = whole(first).ok_or_else(|| bad(types.say("pr_bad_days")))?;
                out.insert("value".into(), json!({ "days": n }));
            }
            "in" | "notin" => {
                let parts: Vec<String> = if self.values.len() == 1 {
                    first.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
                } else {
                    self.values.clone()
                };
                let mut list = Vec::new();
                for p in parts {
                    list.push(types.literal(entity, &self.field, &p).map_err(bad)?);
                }
                out.insert("value".into(), Json::Array(list));
            }
            _ => {
                out.insert("value".into(), types.literal(entity, &self.field, first).map_err(bad)?);
            }
        }
        Ok(Json::Object(out))
    }
}

impl Cond {
    pub fn from_json(j: Option<&Json>) -> Cond {
        let Some(j) = j.filter(|j| !j.is_null()) else { return Cond::default() };
        let (any, list) = match (j.get("all").and_then(Json::as_array), j.get("any").and_then(Json::as_array)) {
            (Some(a), None) if j.as_object().is_some_and(|o| o.len() == 1) => (false, a.clone()),
            (None, Some(a)) if j.as_object().is_some_and(|o| o.len() == 1) => (true, a.clone()),
            _ => (false, vec![j.clone()]),
        };
        match list.iter().map(Row::from_json).collect::<Option<Vec<_>>>() {
            Some(rows) => Cond { any, rows, raw: None },
            None => Cond { raw: Some(pretty(j)), ..Cond::default() },
        }
    }

    fn from_form(p: &Posted, at: &str) -> Cond {
        let raw = Some(p.text(&format!("{at}.raw"))).filter(|r| !r.trim().is_empty());
        let mut rows = Vec::new();
        for i in 0.. {
            let key = format!("{at}.{i}.field");
            if !p.has(&key) {
                break;
            }
            rows.push(Row {
                field: p.text(&key),
                op: Some(p.text(&format!("{at}.{i}.op"))).filter(|o| !o.is_empty()).unwrap_or_else(|| "eq".into()),
                values: p.0.iter().filter(|(n, _)| *n == format!("{at}.{i}.val")).map(|(_, v)| v.clone()).collect(),
            });
        }
        Cond { any: p.get(&format!("{at}.join")) == "any", rows, raw }
    }

    /// The condition's JSON; `None` when it has no rows.
    pub fn to_json(&self, entity: &str, place: &str, types: &mut dyn Types) -> Result<Option<Json>, Mistake> {
        if let Some(raw) = &self.raw {
            return serde_json::from_str(raw)
                .map(Some)
                .map_err(|e| Mistake { place: place.into(), message: format!("{}: {e}", types.say("pr_bad_json")) });
        }
        if self.rows.is_empty() {
            return Ok(None);
        }
        let group = if self.any { "any" } else { "all" };
        let mut list = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            list.push(r.to_json(entity, &format!("{place}.{group}[{i}]"), types)?);
        }
        Ok(Some(json!({ group: list })))
    }

    /// A condition that must be there (an `if`, a wait): always true when empty.
    fn required_json(&self, entity: &str, place: &str, types: &mut dyn Types) -> Result<Json, Mistake> {
        Ok(self.to_json(entity, place, types)?.unwrap_or_else(|| json!({ "all": [] })))
    }
}

// ----- steps ----------------------------------------------------------------

/// The step types the designer has a form for, in the order it offers them.
pub(super) const STEP_TYPES: &[&str] = &[
    "create",
    "update",
    "assign",
    "setstate",
    "sendemail",
    "notify",
    "wait",
    "if",
    "childworkflow",
    "webhook",
    "sendmessage",
    "stop",
];

/// A column and the value a create or update step writes into it: typed
/// text (`text`), a column of the record (`field`), the record itself
/// (`record`) or now plus days (`now`).
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct ValueRow {
    pub column: String,
    pub kind: String,
    pub value: String,
}

impl ValueRow {
    fn from_json(column: &str, spec: &Json) -> Option<ValueRow> {
        let row = |kind: &str, value: String| Some(ValueRow { column: column.into(), kind: kind.into(), value });
        match spec {
            Json::Object(o) if o.len() == 1 => {
                let (k, v) = o.iter().next()?;
                match k.as_str() {
                    "field" => row("field", v.as_str()?.to_string()),
                    "record" => row("record", String::new()),
                    "template" => row("text", v.as_str()?.to_string()),
                    "user" => row("text", format!("systemuser:{}", v.as_str()?)),
                    "now" => match one_unit(v) {
                        Some((n, unit)) if unit == "days" => row("now", n),
                        _ => None,
                    },
                    _ => None,
                }
            }
            Json::Object(_) | Json::Array(_) => None,
            other => row("text", scalar_text(other)?),
        }
    }

    fn to_json(&self, entity: &str, target: &str, place: &str, types: &mut dyn Types) -> Result<Json, Mistake> {
        let bad = |message: String| Mistake { place: place.to_string(), message };
        Ok(match self.kind.as_str() {
            "field" => json!({ "field": self.value }),
            "record" => json!({ "record": true }),
            "now" => {
                let n = if self.value.trim().is_empty() {
                    0
                } else {
                    whole(&self.value).ok_or_else(|| bad(types.say("pr_bad_days")))?
                };
                json!({ "now": { "days": n } })
            }
            _ if self.value.contains("{{") && types.is_text(target, &self.column) => json!({ "template": self.value }),
            _ => {
                let _ = entity;
                types.literal(target, &self.column, &self.value).map_err(bad)?
            }
        })
    }
}

/// One step of a workflow, with the fields of every type (a step uses
/// those of its own).
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Step {
    pub kind: String,
    pub name: String,
    pub entity: String,
    pub target: String,
    pub values: Vec<ValueRow>,
    pub owner_kind: String,
    pub owner: String,
    pub state: String,
    pub status: String,
    pub template: String,
    pub to: String,
    pub title: String,
    pub body: String,
    pub priority: String,
    pub wait: String,
    pub amount: String,
    pub unit: String,
    pub until: Cond,
    pub timeout: String,
    pub url: String,
    pub headers: String,
    pub channel: String,
    pub text: String,
    pub outcome: String,
    pub message: String,
    pub workflow: String,
    pub condition: Cond,
    pub then: Vec<Step>,
    pub otherwise: Vec<Step>,
    pub raw: String,
}

/// The keys a step of each type may have for the designer to show it.
fn known_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "create" => &["entity", "values"],
        "update" => &["target", "values"],
        "assign" => &["target", "owner"],
        "setstate" => &["target", "statecode", "statuscode"],
        "sendemail" => &["template", "to"],
        "notify" => &["to", "title", "body", "priority"],
        "wait" => &["for", "until", "timeout"],
        "webhook" => &["url", "headers"],
        "sendmessage" => &["channel", "to", "text"],
        "stop" => &["status", "message"],
        "childworkflow" => &["workflow"],
        "if" => &["condition", "then", "else"],
        _ => &[],
    }
}

fn field_of(spec: Option<&Json>) -> Option<String> {
    match spec {
        None => Some(String::new()),
        Some(j) => j.as_object().filter(|o| o.len() == 1)?.get("field")?.as_str().map(str::to_string),
    }
}

fn text_of(spec: Option<&Json>) -> Option<String> {
    match spec {
        None => Some(String::new()),
        Some(Json::String(t)) => Some(t.clone()),
        Some(j) => j.as_object().filter(|o| o.len() == 1)?.get("template")?.as_str().map(str::to_string),
    }
}

impl Step {
    pub fn new(kind: &str) -> Step {
        let mut s = Step { kind: kind.into(), ..Step::default() };
        s.target = "record".into();
        s.owner_kind = "field".into();
        s.wait = "for".into();
        s.unit = "days".into();
        s.outcome = "succeeded".into();
        s.priority = "normal".into();
        if matches!(kind, "create" | "update") {
            s.values.push(ValueRow { kind: "text".into(), ..ValueRow::default() });
        }
        s
    }

    fn raw(j: &Json) -> Step {
        Step { kind: "raw".into(), raw: pretty(j), ..Step::default() }
    }

    pub fn from_json(j: &Json, nested: bool) -> Step {
        Step::read(j, nested).unwrap_or_else(|| Step::raw(j))
    }

    fn read(j: &Json, nested: bool) -> Option<Step> {
        let obj = j.as_object()?;
        let kind = obj.get("type")?.as_str()?;
        if !STEP_TYPES.contains(&kind) || (nested && kind == "if") {
            return None;
        }
        let known = known_keys(kind);
        if obj.keys().any(|k| !matches!(k.as_str(), "type" | "name") && !known.contains(&k.as_str())) {
            return None;
        }
        let mut s = Step::new(kind);
        s.values.clear();
        s.name = obj.get("name").and_then(Json::as_str).unwrap_or("").to_string();
        let str_of = |k: &str| obj.get(k).map(|v| v.as_str().map(str::to_string)).unwrap_or(Some(String::new()));
        s.target = obj.get("target").and_then(Json::as_str).unwrap_or("record").to_string();
        match kind {
            "create" | "update" => {
                s.entity = str_of("entity")?;
                if let Some(v) = obj.get("values") {
                    for (col, spec) in v.as_object()? {
                        s.values.push(ValueRow::from_json(col, spec)?);
                    }
                }
            }
            "assign" => match obj.get("owner") {
                None => {}
                Some(Json::String(t)) => (s.owner_kind, s.owner) = ("user".into(), t.clone()),
                Some(o) => {
                    let o = o.as_object().filter(|o| o.len() <= 2)?;
                    if let Some(f) = o.get("field") {
                        s.owner = f.as_str()?.to_string();
                    } else if let Some(u) = o.get("user") {
                        (s.owner_kind, s.owner) = ("user".into(), format!("systemuser:{}", u.as_str()?));
                    } else {
                        let (e, id) = (o.get("entity")?.as_str()?, o.get("id")?.as_str()?);
                        (s.owner_kind, s.owner) = ("user".into(), format!("{e}:{id}"));
                    }
                }
            },
            "setstate" => {
                s.state =
                    obj.get("statecode").map(|v| v.as_i64().map(|n| n.to_string())).unwrap_or(Some(String::new()))?;
                s.status =
                    obj.get("statuscode").map(|v| v.as_i64().map(|n| n.to_string())).unwrap_or(Some(String::new()))?;
            }
            "sendemail" => {
                s.template = str_of("template")?;
                s.to = match obj.get("to") {
                    None => String::new(),
                    Some(t) => match t.as_array()?.as_slice() {
                        [one] => field_of(Some(one))?,
                        _ => return None,
                    },
                };
            }
            "notify" => {
                s.to = field_of(obj.get("to"))?;
                s.title = text_of(obj.get("title"))?;
                s.body = text_of(obj.get("body"))?;
                s.priority = str_of("priority")?;
            }
            "wait" => {
                if let Some(d) = obj.get("for") {
                    (s.amount, s.unit) = one_unit(d)?;
                } else if obj.contains_key("until") {
                    s.wait = "until".into();
                    s.until = Cond::from_json(obj.get("until"));
                    if let Some(t) = obj.get("timeout") {
                        match one_unit(t)? {
                            (n, unit) if unit == "days" => s.timeout = n,
                            _ => return None,
                        }
                    }
                }
            }
            "webhook" => {
                s.url = str_of("url")?;
                if let Some(h) = obj.get("headers") {
                    let lines: Option<Vec<String>> =
                        h.as_object()?.iter().map(|(k, v)| v.as_str().map(|v| format!("{k}: {v}"))).collect();
                    s.headers = lines?.join("\n");
                }
            }
            "sendmessage" => {
                s.channel = str_of("channel")?;
                s.to = field_of(obj.get("to"))?;
                s.text = text_of(obj.get("text"))?;
            }
            "stop" => {
                s.outcome = obj.get("status").and_then(Json::as_str).unwrap_or("succeeded").to_string();
                s.message = str_of("message")?;
            }
            "childworkflow" => s.workflow = str_of("workflow")?,
            "if" => {
                s.condition = Cond::from_json(obj.get("condition"));
                for (key, list) in [("then", &mut s.then), ("else", &mut s.otherwise)] {
                    if let Some(a) = obj.get(key) {
                        *list = a.as_array()?.iter().map(|x| Step::from_json(x, true)).collect();
                    }
                }
            }
            _ => return None,
        }
        Some(s)
    }

    fn from_form(p: &Posted, at: &str) -> Step {
        let f = |k: &str| p.text(&format!("{at}.{k}"));
        let mut s = Step {
            kind: f("type"),
            name: f("name"),
            entity: f("entity"),
            target: Some(f("target")).filter(|t| !t.is_empty()).unwrap_or_else(|| "record".into()),
            owner_kind: Some(f("owner_kind")).filter(|t| !t.is_empty()).unwrap_or_else(|| "field".into()),
            owner: f("owner"),
            state: f("state"),
            status: f("status"),
            template: f("template"),
            to: f("to"),
            title: f("title"),
            body: f("body"),
            priority: f("priority"),
            wait: Some(f("wait")).filter(|t| !t.is_empty()).unwrap_or_else(|| "for".into()),
            amount: f("amount"),
            unit: Some(f("unit")).filter(|t| !t.is_empty()).unwrap_or_else(|| "days".into()),
            until: Cond::from_form(p, &format!("{at}.u")),
            timeout: f("timeout"),
            url: f("url"),
            headers: f("headers"),
            channel: f("channel"),
            text: f("text"),
            outcome: Some(f("outcome")).filter(|t| !t.is_empty()).unwrap_or_else(|| "succeeded".into()),
            message: f("message"),
            workflow: f("workflow"),
            condition: Cond::from_form(p, &format!("{at}.c")),
            then: steps_from_form(p, &format!("{at}.t")),
            otherwise: steps_from_form(p, &format!("{at}.e")),
            raw: f("raw"),
            values: Vec::new(),
        };
        for i in 0.. {
            let key = format!("{at}.v.{i}.col");
            if !p.has(&key) {
                break;
            }
            s.values.push(ValueRow {
                column: p.text(&key),
                kind: Some(p.text(&format!("{at}.v.{i}.kind")))
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| "text".into()),
                value: p.text(&format!("{at}.v.{i}.val")),
            });
        }
        s
    }

    /// The step's JSON for a workflow of `entity`; `place` is where it is
    /// (`steps[2]`), as the engine names places.
    pub fn to_json(&self, entity: &str, place: &str, types: &mut dyn Types) -> Result<Json, Mistake> {
        let bad = |message: String| Mistake { place: place.to_string(), message };
        if self.kind == "raw" {
            return serde_json::from_str(&self.raw).map_err(|e| bad(format!("{}: {e}", types.say("pr_bad_json"))));
        }
        let mut o = Map::new();
        o.insert("type".into(), json!(self.kind));
        if !self.name.trim().is_empty() {
            o.insert("name".into(), json!(self.name.trim()));
        }
        let put = |o: &mut Map<String, Json>, k: &str, v: &str| {
            if !v.trim().is_empty() {
                o.insert(k.into(), json!(v.trim()));
            }
        };
        if matches!(self.kind.as_str(), "update" | "assign" | "setstate") && self.target != "record" {
            put(&mut o, "target", &self.target);
        }
        match self.kind.as_str() {
            "create" | "update" => {
                let target =
                    if self.kind == "create" { self.entity.clone() } else { types.target(entity, &self.target) };
                if self.kind == "create" {
                    put(&mut o, "entity", &self.entity);
                }
                let mut values = Map::new();
                for r in &self.values {
                    if r.column.is_empty() {
                        return Err(bad(types.say("pr_pick_column")));
                    }
                    let here = format!("{place}.values.{}", r.column);
                    values.insert(r.column.clone(), r.to_json(entity, &target, &here, types)?);
                }
                o.insert("values".into(), Json::Object(values));
            }
            "assign" if !self.owner.is_empty() => {
                let v = if self.owner_kind == "user" { json!(self.owner) } else { json!({ "field": self.owner }) };
                o.insert("owner".into(), v);
            }
            "setstate" => {
                for (k, v) in [("statecode", &self.state), ("statuscode", &self.status)] {
                    if let Ok(n) = v.trim().parse::<i64>() {
                        o.insert(k.into(), json!(n));
                    }
                }
            }
            "sendemail" => {
                put(&mut o, "template", &self.template);
                if !self.to.is_empty() {
                    o.insert("to".into(), json!([{ "field": self.to }]));
                }
            }
            "notify" => {
                if !self.to.is_empty() {
                    o.insert("to".into(), json!({ "field": self.to }));
                }
                put(&mut o, "title", &self.title);
                put(&mut o, "body", &self.body);
                if self.priority == "high" {
                    o.insert("priority".into(), json!("high"));
                }
            }
            "wait" if self.wait == "until" => {
                o.insert("until".into(), self.until.required_json(entity, &format!("{place}.until"), types)?);
                if !self.timeout.trim().is_empty() {
                    let n = whole(&self.timeout).ok_or_else(|| bad(types.say("pr_bad_days")))?;
                    o.insert("timeout".into(), json!({ "days": n }));
                }
            }
            "wait" if !self.amount.trim().is_empty() => {
                let n = whole(&self.amount).ok_or_else(|| bad(types.say("pr_bad_amount")))?;
                o.insert("for".into(), json!({ self.unit.clone(): n }));
            }
            "webhook" => {
                put(&mut o, "url", &self.url);
                let mut headers = Map::new();
                for line in self.headers.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let (k, v) = line.split_once(':').ok_or_else(|| bad(types.say("pr_bad_header")))?;
                    headers.insert(k.trim().to_string(), json!(v.trim()));
                }
                if !headers.is_empty() {
                    o.insert("headers".into(), Json::Object(headers));
                }
            }
            "sendmessage" => {
                put(&mut o, "channel", &self.channel);
                if !self.to.is_empty() {
                    o.insert("to".into(), json!({ "field": self.to }));
                }
                put(&mut o, "text", &self.text);
            }
            "stop" => {
                if self.outcome == "canceled" {
                    o.insert("status".into(), json!("canceled"));
                }
                put(&mut o, "message", &self.message);
            }
            "childworkflow" => put(&mut o, "workflow", &self.workflow),
            "if" => {
                o.insert(
                    "condition".into(),
                    self.condition.required_json(entity, &format!("{place}.condition"), types)?,
                );
                for (key, list) in [("then", &self.then), ("else", &self.otherwise)] {
                    let mut out = Vec::new();
                    for (i, st) in list.iter().enumerate() {
                        out.push(st.to_json(entity, &format!("{place}.{key}[{i}]"), types)?);
                    }
                    if key == "then" || !out.is_empty() {
                        o.insert(key.into(), Json::Array(out));
                    }
                }
            }
            _ => {}
        }
        Ok(Json::Object(o))
    }
}

fn steps_from_form(p: &Posted, at: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for i in 0.. {
        let prefix = format!("{at}.{i}");
        if !p.has(&format!("{prefix}.type")) {
            break;
        }
        out.push(Step::from_form(p, &prefix));
    }
    out
}

/// A list's index from the end of a path (`s.0.t.2` → (`s.0.t`, 2)).
fn split_index(path: &str) -> Option<(&str, usize)> {
    let (list, i) = path.rsplit_once('.')?;
    Some((list, i.parse().ok()?))
}

/// Removes, or moves one place up or down, the element at `i`.
fn shift<T>(list: &mut Vec<T>, i: usize, verb: &str) {
    match verb {
        "del" if i < list.len() => {
            list.remove(i);
        }
        "up" if i > 0 && i < list.len() => list.swap(i, i - 1),
        "down" if i + 1 < list.len() => list.swap(i, i + 1),
        _ => {}
    }
}

// ----- workflows ----------------------------------------------------------------

/// A workflow as its editor shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Workflow {
    pub name: String,
    pub entity: String,
    pub description: String,
    pub mode: String,
    pub scope: String,
    pub runas: String,
    pub on_create: bool,
    pub on_delete: bool,
    pub on_update: Vec<String>,
    pub on_demand: bool,
    pub subprocess: bool,
    /// none, daily, weekly, hourly or custom.
    pub schedule: String,
    pub day: String,
    pub hours: String,
    pub pattern: String,
    pub start: String,
    pub condition: Cond,
    pub steps: Vec<Step>,
}

/// A schedule's parts from its pattern.
pub(super) fn schedule_parts(pattern: &str) -> (String, String, String) {
    let p = pattern.trim().to_ascii_uppercase();
    if p.is_empty() {
        return ("none".into(), String::new(), String::new());
    }
    let parts: Vec<(&str, &str)> = p.split(';').filter_map(|x| x.split_once('=')).collect();
    let get = |k: &str| parts.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
    match (get("FREQ").as_deref(), parts.len()) {
        (Some("DAILY"), 1) => ("daily".into(), String::new(), String::new()),
        (Some("WEEKLY"), 2) if get("BYDAY").is_some_and(|d| d.len() == 2) => {
            ("weekly".into(), get("BYDAY").unwrap_or_default(), String::new())
        }
        (Some("HOURLY"), 1) => ("hourly".into(), String::new(), "1".into()),
        (Some("HOURLY"), 2) if get("INTERVAL").is_some() => {
            ("hourly".into(), String::new(), get("INTERVAL").unwrap_or_default())
        }
        _ => ("custom".into(), String::new(), String::new()),
    }
}

impl Workflow {
    pub fn new(entity: &str) -> Workflow {
        Workflow {
            entity: entity.into(),
            mode: "0".into(),
            scope: "4".into(),
            runas: "1".into(),
            schedule: "none".into(),
            day: "MO".into(),
            hours: "1".into(),
            ..Workflow::default()
        }
    }

    /// The definition's condition and steps into the model.
    pub fn read_definition(&mut self, def: Option<&Json>) {
        let Some(def) = def else { return };
        self.condition = Cond::from_json(def.get("condition"));
        self.steps = def
            .get("steps")
            .and_then(Json::as_array)
            .map(|a| a.iter().map(|s| Step::from_json(s, false)).collect())
            .unwrap_or_default();
    }

    pub fn from_form(p: &Posted) -> Workflow {
        let mut w = Workflow {
            name: p.text("name"),
            entity: p.text("entity"),
            description: p.text("description"),
            mode: p.text("mode"),
            scope: p.text("scope"),
            runas: p.text("runas"),
            on_create: p.flag("on_create"),
            on_delete: p.flag("on_delete"),
            on_update: p.all("on_update"),
            on_demand: p.flag("on_demand"),
            subprocess: p.flag("subprocess"),
            schedule: Some(p.text("schedule")).filter(|s| !s.is_empty()).unwrap_or_else(|| "none".into()),
            day: p.text("day"),
            hours: p.text("hours"),
            pattern: p.text("pattern"),
            start: p.text("start"),
            condition: Cond::from_form(p, "c"),
            steps: steps_from_form(p, "s"),
        };
        if w.hours.is_empty() {
            w.hours = "1".into();
        }
        w
    }

    /// The schedule's pattern, or "" for none.
    pub fn pattern(&self) -> String {
        match self.schedule.as_str() {
            "daily" => "FREQ=DAILY".into(),
            "weekly" => format!("FREQ=WEEKLY;BYDAY={}", self.day),
            "hourly" => format!("FREQ=HOURLY;INTERVAL={}", self.hours.trim()),
            "custom" => self.pattern.trim().to_string(),
            _ => String::new(),
        }
    }

    pub fn definition(&self, types: &mut dyn Types) -> Result<Json, Mistake> {
        let mut o = Map::new();
        if let Some(c) = self.condition.to_json(&self.entity, "condition", types)? {
            o.insert("condition".into(), c);
        }
        let mut steps = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            steps.push(s.to_json(&self.entity, &format!("steps[{i}]"), types)?);
        }
        o.insert("steps".into(), Json::Array(steps));
        Ok(Json::Object(o))
    }

    fn steps_mut(&mut self, list: &str) -> Option<&mut Vec<Step>> {
        let parts: Vec<&str> = list.split('.').collect();
        match parts.as_slice() {
            ["s"] => Some(&mut self.steps),
            ["s", i, "t"] => Some(&mut self.steps.get_mut(i.parse::<usize>().ok()?)?.then),
            ["s", i, "e"] => Some(&mut self.steps.get_mut(i.parse::<usize>().ok()?)?.otherwise),
            _ => None,
        }
    }

    fn step_mut(&mut self, path: &str) -> Option<&mut Step> {
        let (list, i) = split_index(path)?;
        self.steps_mut(list)?.get_mut(i)
    }

    fn cond_mut(&mut self, at: &str) -> Option<&mut Cond> {
        if at == "c" {
            return Some(&mut self.condition);
        }
        let (step, which) = at.rsplit_once('.')?;
        let st = self.step_mut(step)?;
        match which {
            "c" => Some(&mut st.condition),
            "u" => Some(&mut st.until),
            _ => None,
        }
    }

    /// Applies a button of the editor (`add:s`, `del:s.1`, `addv:s.0`…).
    pub fn apply(&mut self, op: &str, p: &Posted) {
        let Some((verb, path)) = op.split_once(':') else { return };
        match verb {
            "add" => {
                let kind = p.get(&format!("{path}.new"));
                let nested = path != "s";
                if STEP_TYPES.contains(&kind) && !(nested && kind == "if") {
                    if let Some(list) = self.steps_mut(path) {
                        list.push(Step::new(kind));
                    }
                }
            }
            "del" | "up" | "down" => {
                if let Some((list, i)) = split_index(path) {
                    if let Some(list) = self.steps_mut(list) {
                        shift(list, i, verb);
                    }
                }
            }
            "addv" => {
                if let Some(st) = self.step_mut(path) {
                    st.values.push(ValueRow { kind: "text".into(), ..ValueRow::default() });
                }
            }
            "delv" => {
                if let Some((step, i)) = path.rsplit_once(".v.").and_then(|(s, i)| Some((s, i.parse::<usize>().ok()?)))
                {
                    if let Some(st) = self.step_mut(step) {
                        shift(&mut st.values, i, "del");
                    }
                }
            }
            "addc" => {
                if let Some(c) = self.cond_mut(path) {
                    c.rows.push(Row { op: "eq".into(), ..Row::default() });
                }
            }
            "delc" => {
                if let Some((at, i)) = split_index(path) {
                    if let Some(c) = self.cond_mut(at) {
                        shift(&mut c.rows, i, "del");
                    }
                }
            }
            "rawc" => {
                if let Some(c) = self.cond_mut(path) {
                    *c = Cond::default();
                }
            }
            _ => {}
        }
    }
}

// ----- business rules -------------------------------------------------------------

/// The actions of business rules, in the order the designer offers them.
pub(super) const RULE_ACTIONS: &[&str] =
    &["show", "hide", "lock", "unlock", "required", "recommended", "setvalue", "setdefault", "error"];

/// One action of a business rule.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct RuleAction {
    pub kind: String,
    pub field: String,
    /// `text` (typed) or `field` (copied from a column).
    pub value_kind: String,
    pub value: String,
    pub message: String,
    pub raw: String,
}

impl RuleAction {
    fn new(kind: &str) -> RuleAction {
        RuleAction { kind: kind.into(), value_kind: "text".into(), ..RuleAction::default() }
    }

    fn from_json(j: &Json) -> RuleAction {
        let read = || -> Option<RuleAction> {
            let o = j.as_object()?;
            if o.keys().any(|k| !matches!(k.as_str(), "type" | "field" | "value" | "message")) {
                return None;
            }
            let kind = o.get("type")?.as_str()?;
            RULE_ACTIONS.contains(&kind).then_some(())?;
            let mut a = RuleAction::new(kind);
            a.field = o.get("field").and_then(Json::as_str).unwrap_or("").to_string();
            a.message = o.get("message").and_then(Json::as_str).unwrap_or("").to_string();
            match o.get("value") {
                None => {}
                Some(Json::Object(v)) if v.len() == 1 && v.contains_key("field") => {
                    a.value_kind = "field".into();
                    a.value = v.get("field")?.as_str()?.to_string();
                }
                Some(Json::Object(v)) if v.len() == 1 && v.contains_key("template") => {
                    a.value = v.get("template")?.as_str()?.to_string();
                }
                Some(v) => a.value = scalar_text(v)?,
            }
            Some(a)
        };
        read().unwrap_or_else(|| RuleAction { kind: "raw".into(), raw: pretty(j), ..RuleAction::default() })
    }

    fn to_json(&self, entity: &str, place: &str, types: &mut dyn Types) -> Result<Json, Mistake> {
        let bad = |message: String| Mistake { place: place.to_string(), message };
        if self.kind == "raw" {
            return serde_json::from_str(&self.raw).map_err(|e| bad(format!("{}: {e}", types.say("pr_bad_json"))));
        }
        let mut o = Map::new();
        o.insert("type".into(), json!(self.kind));
        if !self.field.is_empty() {
            o.insert("field".into(), json!(self.field));
        }
        match self.kind.as_str() {
            "setvalue" | "setdefault" => {
                let v = if self.value_kind == "field" {
                    json!({ "field": self.value })
                } else if self.value.contains("{{") && types.is_text(entity, &self.field) {
                    json!({ "template": self.value })
                } else {
                    types.literal(entity, &self.field, &self.value).map_err(bad)?
                };
                o.insert("value".into(), v);
            }
            "error" if !self.message.trim().is_empty() => {
                o.insert("message".into(), json!(self.message.trim()));
            }
            _ => {}
        }
        Ok(Json::Object(o))
    }
}

/// A business rule as its editor shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Rule {
    pub name: String,
    pub entity: String,
    pub description: String,
    pub condition: Cond,
    pub then: Vec<RuleAction>,
    pub otherwise: Vec<RuleAction>,
}

fn actions_from_form(p: &Posted, at: &str) -> Vec<RuleAction> {
    let mut out = Vec::new();
    for i in 0.. {
        let f = |k: &str| p.text(&format!("{at}.{i}.{k}"));
        if !p.has(&format!("{at}.{i}.type")) {
            break;
        }
        out.push(RuleAction {
            kind: f("type"),
            field: f("field"),
            value_kind: Some(f("kind")).filter(|k| !k.is_empty()).unwrap_or_else(|| "text".into()),
            value: f("val"),
            message: f("msg"),
            raw: f("raw"),
        });
    }
    out
}

impl Rule {
    pub fn new(entity: &str) -> Rule {
        Rule { entity: entity.into(), ..Rule::default() }
    }

    pub fn read_definition(&mut self, def: Option<&Json>) {
        let Some(def) = def else { return };
        self.condition = Cond::from_json(def.get("condition"));
        for (key, list) in [("then", &mut self.then), ("else", &mut self.otherwise)] {
            *list = def
                .get(key)
                .and_then(Json::as_array)
                .map(|a| a.iter().map(RuleAction::from_json).collect())
                .unwrap_or_default();
        }
    }

    pub fn from_form(p: &Posted) -> Rule {
        Rule {
            name: p.text("name"),
            entity: p.text("entity"),
            description: p.text("description"),
            condition: Cond::from_form(p, "c"),
            then: actions_from_form(p, "a.t"),
            otherwise: actions_from_form(p, "a.e"),
        }
    }

    pub fn definition(&self, types: &mut dyn Types) -> Result<Json, Mistake> {
        let mut o = Map::new();
        if let Some(c) = self.condition.to_json(&self.entity, "condition", types)? {
            o.insert("condition".into(), c);
        }
        for (key, list) in [("then", &self.then), ("else", &self.otherwise)] {
            let mut out = Vec::new();
            for (i, a) in list.iter().enumerate() {
                out.push(a.to_json(&self.entity, &format!("{key}[{i}]"), types)?);
            }
            if key == "then" || !out.is_empty() {
                o.insert(key.into(), Json::Array(out));
            }
        }
        Ok(Json::Object(o))
    }

    fn list_mut(&mut self, at: &str) -> Option<&mut Vec<RuleAction>> {
        match at {
            "a.t" => Some(&mut self.then),
            "a.e" => Some(&mut self.otherwise),
            _ => None,
        }
    }

    pub fn apply(&mut self, op: &str, p: &Posted) {
        let Some((verb, path)) = op.split_once(':') else { return };
        match verb {
            "add" => {
                let kind = p.get(&format!("{path}.new")).to_string();
                if let Some(list) = self.list_mut(path) {
                    if RULE_ACTIONS.contains(&kind.as_str()) {
                        list.push(RuleAction::new(&kind));
                    }
                }
            }
            "del" | "up" | "down" => {
                if let Some((at, i)) = split_index(path) {
                    if let Some(list) = self.list_mut(at) {
                        shift(list, i, verb);
                    }
                }
            }
            "addc" if path == "c" => self.condition.rows.push(Row { op: "eq".into(), ..Row::default() }),
            "delc" => {
                if let Some(("c", i)) = split_index(path) {
                    shift(&mut self.condition.rows, i, "del");
                }
            }
            "rawc" if path == "c" => self.condition = Cond::default(),
            _ => {}
        }
    }
}

// ----- business process flows -------------------------------------------------------

/// A stage of a flow: its `processstage` row (none yet for a new one).
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Stage {
    pub id: String,
    pub name: String,
    pub entity: String,
    pub required: Vec<String>,
}

/// A business process flow as its editor shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Flow {
    pub name: String,
    pub entity: String,
    pub description: String,
    pub stages: Vec<Stage>,
}

impl Flow {
    pub fn from_form(p: &Posted) -> Flow {
        let mut stages = Vec::new();
        for i in 0.. {
            let f = |k: &str| p.text(&format!("st.{i}.{k}"));
            if !p.has(&format!("st.{i}.name")) {
                break;
            }
            stages.push(Stage {
                id: f("id"),
                name: f("name"),
                entity: f("entity"),
                required: p.all(&format!("st.{i}.req")),
            });
        }
        Flow { name: p.text("name"), entity: p.text("entity"), description: p.text("description"), stages }
    }

    pub fn apply(&mut self, op: &str) {
        let Some((verb, path)) = op.split_once(':') else { return };
        match verb {
            "add" if path == "st" => {
                let entity = self.stages.last().map(|s| s.entity.clone()).unwrap_or_else(|| self.entity.clone());
                self.stages.push(Stage { entity, ..Stage::default() });
            }
            "del" | "up" | "down" => {
                if let Some(("st", i)) = split_index(path) {
                    shift(&mut self.stages, i, verb);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    impl Types for Plain {
        fn literal(&mut self, _: &str, column: &str, raw: &str) -> Result<Json, String> {
            if column == "salesstage" {
                return raw.parse::<i64>().map(Json::from).map_err(|_| "a whole number".to_string());
            }
            Ok(json!(raw))
        }
        fn is_text(&self, _: &str, column: &str) -> bool {
            column == "subject"
        }
        fn target(&self, entity: &str, _: &str) -> String {
            entity.into()
        }
        fn say(&self, key: &str) -> String {
            key.into()
        }
    }

    #[test]
    fn a_definition_reads_back_as_it_was_written() {
        let def = json!({
            "condition": { "all": [ { "field": "salesstage", "op": "eq", "value": 2 } ] },
            "steps": [
                { "type": "create", "name": "Task", "entity": "task", "values": {
                    "subject": { "template": "Call {{ record.name }}" },
                    "regardingobjectid": { "record": true },
                    "ownerid": { "field": "ownerid" },
                    "scheduledend": { "now": { "days": 2 } } } },
                { "type": "if", "condition": { "any": [ { "field": "name", "op": "in", "value": ["a", "b"] } ] },
                  "then": [ { "type": "stop", "status": "canceled", "message": "no" } ],
                  "else": [ { "type": "wait", "for": { "hours": 3 } } ] },
                { "type": "action", "name": "WinOpportunity" },
            ],
        });
        let mut w = Workflow::new("opportunity");
        w.read_definition(Some(&def));
        assert_eq!(w.steps[2].kind, "raw", "a step the designer has no form for is kept as JSON");
        let back = w.definition(&mut Plain).unwrap();
        assert_eq!(back, def);
    }

    #[test]
    fn buttons_add_move_and_remove() {
        let p = Posted(vec![("s.new".into(), "notify".into()), ("s.0.t.new".into(), "if".into())]);
        let mut w = Workflow::new("account");
        w.apply("add:s", &p);
        w.apply("add:s", &Posted(vec![("s.new".into(), "if".into())]));
        assert_eq!(w.steps.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(), ["notify", "if"]);
        w.apply("up:s.1", &p);
        assert_eq!(w.steps[0].kind, "if");
        w.apply("add:s.0.t", &p);
        assert!(w.steps[0].then.is_empty(), "no if inside an if");
        w.apply("addc:s.0.c", &p);
        assert_eq!(w.steps[0].condition.rows.len(), 1);
        w.apply("del:s.0", &p);
        assert_eq!(w.steps.len(), 1);
        let err = w.definition(&mut Plain).unwrap();
        assert_eq!(err["steps"][0], json!({ "type": "notify" }));
    }

    #[test]
    fn a_typed_value_that_does_not_fit_is_named_where_it_is() {
        let mut w = Workflow::new("opportunity");
        w.condition.rows.push(Row { field: "salesstage".into(), op: "eq".into(), values: vec!["two".into()] });
        let m = w.definition(&mut Plain).unwrap_err();
        assert_eq!(m.text(), "condition.all[0]: a whole number");
    }

    #[test]
    fn schedules_read_back() {
        assert_eq!(schedule_parts("FREQ=WEEKLY;BYDAY=FR").0, "weekly");
        assert_eq!(schedule_parts("FREQ=HOURLY;INTERVAL=4").2, "4");
        assert_eq!(schedule_parts("FREQ=MONTHLY").0, "custom");
    }
}
