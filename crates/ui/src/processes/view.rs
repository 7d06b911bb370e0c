//! The editor's page: the model turned into labelled inputs, with the
//! choices each needs (the tables, their columns, users, templates,
//! channels), so the template only lays them out.

use std::sync::Arc;

use relata_engine::Session;
use relata_metadata::{AttrKind, AttributeDef, Entity, EntityRef, Schema, Value};
use relata_security::Scope;
use serde::Serialize;
use uuid::Uuid;

use super::design::{Cond, Flow, Rule, RuleAction, Step, Workflow, RULE_ACTIONS, STEP_TYPES};
use super::{column_at, entity_label, query, readable, Model};
use crate::i18n::{text, Lang};
use crate::pages::PageError;

/// The operators of a condition row: the engine's, in its order.
const OPS: &[&str] = relata_engine::CONDITION_OPERATORS;

/// Entities that are the processes' own machinery, not something to design for.
const INTERNAL: &[&str] = &[
    "workflow",
    "workflowlog",
    "asyncoperation",
    "businessprocessflowinstance",
    "relata_stagetime",
    "processstage",
    "audit",
    "principalobjectaccess",
    "savedquery",
    "userquery",
    "systemform",
];

#[derive(Serialize, Clone, Debug)]
pub(super) struct Opt {
    value: String,
    label: String,
    selected: bool,
}

/// One labelled control: text, number, textarea, date, datetime, url,
/// select, multi, checkbox or static (shown, not posted).
#[derive(Serialize, Default, Debug)]
pub(super) struct Input {
    name: String,
    id: String,
    label: String,
    kind: &'static str,
    value: String,
    options: Vec<Opt>,
    /// Changing it reshapes the form: the script submits it.
    refresh: bool,
    hint: String,
    /// The label is read by screen readers only (a row of a table).
    compact: bool,
    numeric: bool,
    wide: bool,
}

fn id_of(name: &str) -> String {
    format!("p-{}", name.replace('.', "-"))
}

impl Input {
    fn new(name: &str, label: &str, kind: &'static str, value: &str) -> Input {
        Input { name: name.into(), id: id_of(name), label: label.into(), kind, value: value.into(), ..Input::default() }
    }
    fn select(name: &str, label: &str, options: Vec<(String, String)>, value: &str) -> Input {
        let mut i = Input::new(name, label, "select", value);
        i.options = options.into_iter().map(|(v, l)| Opt { selected: v == value, value: v, label: l }).collect();
        if !value.is_empty() && !i.options.iter().any(|o| o.selected) {
            i.options.push(Opt { value: value.into(), label: value.into(), selected: true });
        }
        i
    }
    fn multi(name: &str, label: &str, options: Vec<(String, String)>, values: &[String]) -> Input {
        let mut i = Input::new(name, label, "multi", "");
        i.options =
            options.into_iter().map(|(v, l)| Opt { selected: values.contains(&v), value: v, label: l }).collect();
        let missing: Vec<&String> = values.iter().filter(|v| !i.options.iter().any(|o| &o.value == *v)).collect();
        for v in missing {
            i.options.push(Opt { value: v.clone(), label: v.clone(), selected: true });
        }
        i
    }
    fn check(name: &str, label: &str, on: bool) -> Input {
        Input::new(name, label, "checkbox", if on { "1" } else { "" })
    }
    fn refresh(mut self) -> Input {
        self.refresh = true;
        self
    }
    fn compact(mut self) -> Input {
        self.compact = true;
        self
    }
    fn hint(mut self, h: &str) -> Input {
        self.hint = h.into();
        self
    }
    fn wide(mut self) -> Input {
        self.wide = true;
        self
    }
}

#[derive(Serialize, Debug)]
pub(super) struct RowView {
    at: String,
    inputs: Vec<Input>,
}

#[derive(Serialize, Debug)]
pub(super) struct CondView {
    at: String,
    label: String,
    join: Input,
    rows: Vec<RowView>,
    raw: Option<String>,
}

#[derive(Serialize, Debug)]
pub(super) struct StepView {
    at: String,
    number: String,
    kind: String,
    title: String,
    type_input: Option<Input>,
    name_input: Option<Input>,
    inputs: Vec<Input>,
    values: Option<Vec<RowView>>,
    conds: Vec<CondView>,
    branches: Vec<BranchView>,
    raw: Option<String>,
    error: Option<String>,
    first: bool,
    last: bool,
}

#[derive(Serialize, Debug)]
pub(super) struct BranchView {
    at: String,
    label: String,
    steps: Vec<StepView>,
    add: Input,
}

#[derive(Serialize, Debug)]
pub(super) struct ActionView {
    at: String,
    number: String,
    title: String,
    inputs: Vec<Input>,
    raw: Option<String>,
    error: Option<String>,
    first: bool,
    last: bool,
}

#[derive(Serialize, Debug)]
pub(super) struct ActionList {
    at: String,
    label: String,
    actions: Vec<ActionView>,
    add: Input,
}

#[derive(Serialize, Debug)]
pub(super) struct StageView {
    at: String,
    number: usize,
    title: String,
    id: String,
    inputs: Vec<Input>,
    first: bool,
    last: bool,
}

/// The editor's sections.
#[derive(Serialize, Default, Debug)]
pub(super) struct Page {
    head: Vec<Input>,
    options: Vec<Input>,
    triggers: Vec<Input>,
    schedule: Vec<Input>,
    condition: Option<CondView>,
    condition_error: Option<String>,
    steps: Option<BranchView>,
    then: Option<ActionList>,
    otherwise: Option<ActionList>,
    stages: Option<Vec<StageView>>,
}

/// Where a message of the engine (or the designer) says a mistake is, as
/// the editor's path: `steps[1].then[0]: …` → `s.1.t.0`, `condition…` →
/// `c`, a rule's `else[2]: …` → `a.e.2`.
pub(super) fn place_of(message: &str) -> Option<String> {
    let place = message.split(": ").next()?;
    if place.contains(' ') || place == message {
        return None;
    }
    let index = |r: &str| -> Option<(usize, String)> {
        let (i, rest) = r.split_once(']')?;
        Some((i.parse().ok()?, rest.to_string()))
    };
    if let Some(r) = place.strip_prefix("steps[") {
        let (i, rest) = index(r)?;
        for (key, short) in [(".then[", "t"), (".else[", "e")] {
            if let Some(r2) = rest.strip_prefix(key) {
                let (j, _) = index(r2)?;
                return Some(format!("s.{i}.{short}.{j}"));
            }
        }
        return Some(format!("s.{i}"));
    }
    if place.starts_with("condition") {
        return Some("c".into());
    }
    for (key, short) in [("then[", "a.t"), ("else[", "a.e")] {
        if let Some(r) = place.strip_prefix(key) {
            let (i, _) = index(r)?;
            return Some(format!("{short}.{i}"));
        }
    }
    None
}

/// What the inputs choose from, read once per page.
struct Cx<'a, 'o, 't, 'c> {
    s: &'a mut Session<'o, 't, 'c>,
    schema: Arc<Schema>,
    lang: Lang,
    principals: Vec<(String, String)>,
    templates: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    children: Vec<(String, String)>,
    error_at: Option<String>,
    problem: Option<String>,
}

impl Cx<'_, '_, '_, '_> {
    fn t(&self, key: &str) -> String {
        text(self.lang, key).to_string()
    }

    fn error_for(&self, at: &str) -> Option<String> {
        (self.error_at.as_deref() == Some(at)).then(|| self.problem.clone()).flatten()
    }

    fn entity(&self, name: &str) -> Option<Arc<Entity>> {
        self.schema.entity(name).cloned()
    }

    /// The tables processes are designed for: those with pages the user may read.
    fn entities(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .schema
            .entities()
            .filter(|e| {
                !e.def.is_intersect
                    && e.has_privileges()
                    && !e.def.entity_set.is_empty()
                    && !INTERNAL.contains(&e.name())
                    && self.s.principal.read_scope(e) != Scope::Nothing
            })
            .map(|e| (e.name().to_string(), e.def.label.text(self.lang.lcid()).to_string()))
            .collect();
        out.sort_by_key(|a| a.1.to_lowercase());
        out
    }

    /// Columns as options: by label, the logical name added where two share one.
    fn columns(&self, cols: Vec<&AttributeDef>, blank: bool) -> Vec<(String, String)> {
        let lcid = self.lang.lcid();
        let mut out: Vec<(String, String)> = cols
            .iter()
            .map(|a| {
                let label = a.label.text(lcid);
                let twice = cols.iter().filter(|b| b.label.text(lcid) == label).count() > 1;
                (a.name.clone(), if twice { format!("{label} ({})", a.name) } else { label.to_string() })
            })
            .collect();
        out.sort_by_key(|a| a.1.to_lowercase());
        if blank {
            out.insert(0, (String::new(), self.t("pr_choose")));
        }
        out
    }

    /// The columns a condition may test and a value may be copied from.
    fn readable_columns(&self, entity: &str) -> Vec<(String, String)> {
        let Some(e) = self.entity(entity) else { return vec![(String::new(), self.t("pr_choose"))] };
        let cols = e
            .attributes()
            .iter()
            .filter(|a| !crate::layout::never_shown(&e, a) && a.kind != AttrKind::MultiSelectPicklist)
            .collect();
        self.columns(cols, true)
    }

    /// The columns a step may write: on a new record, or on an existing one.
    fn writable_columns(&self, entity: &str, creating: bool) -> Vec<(String, String)> {
        let Some(e) = self.entity(entity) else { return vec![(String::new(), self.t("pr_choose"))] };
        let cols = e
            .attributes()
            .iter()
            .filter(|a| {
                !crate::layout::never_shown(&e, a)
                    && !a.read_only
                    && (if creating { a.valid_for_create } else { a.valid_for_update })
                    && !matches!(a.kind, AttrKind::State | AttrKind::Status | AttrKind::MultiSelectPicklist)
                    && !matches!(a.name.as_str(), "createdon" | "modifiedon" | "createdby" | "modifiedby")
            })
            .collect();
        self.columns(cols, true)
    }

    /// Lookup columns of `entity` that may point at one of `targets`
    /// (any lookup when `targets` is empty).
    fn lookups(&self, entity: &str, targets: &[&str]) -> Vec<(String, String)> {
        let Some(e) = self.entity(entity) else { return vec![(String::new(), self.t("pr_choose"))] };
        let cols = e
            .attributes()
            .iter()
            .filter(|a| {
                a.kind.is_lookup()
                    && (targets.is_empty() || a.targets.iter().any(|t| targets.contains(&t.entity.as_str())))
            })
            .collect();
        self.columns(cols, true)
    }

    fn options_of(&self, a: &AttributeDef) -> Vec<(String, String)> {
        let lcid = self.lang.lcid();
        let mut out: Vec<(String, String)> = a
            .option_set
            .as_deref()
            .and_then(|n| self.schema.option_set(n))
            .map(|set| set.options.iter().map(|o| (o.value.to_string(), o.label.text(lcid).to_string())).collect())
            .unwrap_or_else(|| {
                a.options.iter().map(|o| (o.value.to_string(), o.label.text(lcid).to_string())).collect()
            });
        if out.is_empty() && a.kind == AttrKind::State {
            out = Vec::new();
        }
        out.insert(0, (String::new(), self.t("pr_choose")));
        out
    }

    /// The input for a value typed for `column` of `entity`.
    fn value_input(&mut self, entity: &str, column: &str, name: &str, value: &str, label: &str) -> Input {
        let Some(a) = column_at(&self.schema, entity, column) else {
            return Input::new(name, label, "text", value);
        };
        match a.kind {
            k if k.is_option() => Input::select(name, label, self.options_of(&a), value),
            AttrKind::Boolean => {
                let lcid = self.lang.lcid();
                let named = |v: i32, key: &str| {
                    a.options
                        .iter()
                        .find(|o| o.value == v)
                        .map(|o| o.label.text(lcid).to_string())
                        .unwrap_or_else(|| self.t(key))
                };
                let options = vec![
                    (String::new(), self.t("pr_choose")),
                    ("true".to_string(), named(1, "pr_yes")),
                    ("false".to_string(), named(0, "pr_no")),
                ];
                Input::select(name, label, options, value)
            }
            k if k.is_lookup()
                && !a.targets.is_empty()
                && a.targets.iter().all(|t| matches!(t.entity.as_str(), "systemuser" | "team")) =>
            {
                let mut options = vec![(String::new(), self.t("pr_choose"))];
                options.extend(self.principals.iter().cloned());
                Input::select(name, label, options, value)
            }
            k if k.is_lookup() => {
                // A record given as entity:id shows by its name.
                let shown = value
                    .split_once(':')
                    .and_then(|(e, id)| Some(EntityRef { entity: e.to_string(), id: Uuid::parse_str(id).ok()? }))
                    .and_then(|r| self.s.lookup_names(&[&r]).ok()?.remove(&r.id))
                    .unwrap_or_else(|| value.to_string());
                Input::new(name, label, "text", &shown)
            }
            AttrKind::DateTime => Input::new(name, label, "date", value),
            AttrKind::Integer | AttrKind::BigInt | AttrKind::Decimal | AttrKind::Money | AttrKind::Double => {
                let mut i = Input::new(name, label, "text", value);
                i.numeric = true;
                i
            }
            _ => Input::new(name, label, "text", value),
        }
    }

    fn cond(&mut self, entity: &str, c: &Cond, at: &str, label: &str) -> CondView {
        let join = Input::select(
            &format!("{at}.join"),
            &self.t("pr_join"),
            vec![("all".into(), self.t("pr_join_all")), ("any".into(), self.t("pr_join_any"))],
            if c.any { "any" } else { "all" },
        )
        .compact();
        let columns = self.readable_columns(entity);
        let ops: Vec<(String, String)> = OPS.iter().map(|o| (o.to_string(), self.t(&format!("pr_op_{o}")))).collect();
        let mut rows = Vec::new();
        for (i, r) in c.rows.iter().enumerate() {
            let here = format!("{at}.{i}");
            let mut inputs = vec![
                Input::select(&format!("{here}.field"), &self.t("pr_column"), columns.clone(), &r.field)
                    .refresh()
                    .compact(),
                Input::select(&format!("{here}.op"), &self.t("pr_operator"), ops.clone(), &r.op).refresh().compact(),
            ];
            let name = format!("{here}.val");
            let first = r.values.first().cloned().unwrap_or_default();
            let value_label = self.t("pr_value");
            match r.op.as_str() {
                "null" | "notnull" | "changed" => {}
                "olderthan" | "newerthan" => {
                    let mut i = Input::new(&name, &self.t("pr_days"), "text", &first).compact();
                    i.numeric = true;
                    inputs.push(i);
                }
                "in" | "notin" => match column_at(&self.schema, entity, &r.field).filter(|a| a.kind.is_option()) {
                    Some(a) => {
                        let mut options = self.options_of(&a);
                        options.remove(0);
                        inputs.push(Input::multi(&name, &value_label, options, &r.values).compact());
                    }
                    None => {
                        let joined = r.values.join(", ");
                        inputs.push(
                            Input::new(&name, &value_label, "text", &joined).compact().hint(&self.t("pr_in_hint")),
                        );
                    }
                },
                _ => inputs.push(self.value_input(entity, &r.field, &name, &first, &value_label).compact()),
            }
            rows.push(RowView { at: here, inputs });
        }
        CondView { at: at.into(), label: label.into(), join, rows, raw: c.raw.clone() }
    }

    /// A step's target: the record, or a record one of its lookups names.
    fn targets(&self, entity: &str) -> Vec<(String, String)> {
        let mut out = vec![("record".to_string(), self.t("pr_the_record"))];
        if let Some(e) = self.entity(entity) {
            let lcid = self.lang.lcid();
            let mut more: Vec<(String, String)> = e
                .attributes()
                .iter()
                .filter(|a| a.kind.is_lookup() && a.targets.len() == 1 && !crate::layout::never_shown(&e, a))
                .filter(|a| {
                    !matches!(
                        a.name.as_str(),
                        "createdby"
                            | "modifiedby"
                            | "createdonbehalfby"
                            | "modifiedonbehalfby"
                            | "transactioncurrencyid"
                    )
                })
                .map(|a| (a.name.clone(), self.t("pr_related").replace("{label}", a.label.text(lcid))))
                .collect();
            more.sort_by(|a, b| a.1.cmp(&b.1));
            out.extend(more);
        }
        out
    }

    fn target_entity(&self, entity: &str, target: &str) -> String {
        if target.is_empty() || target == "record" {
            return entity.to_string();
        }
        match column_at(&self.schema, entity, target).map(|a| a.targets) {
            Some(t) if t.len() == 1 => t[0].entity.clone(),
            _ => entity.to_string(),
        }
    }

    fn type_options(&self, nested: bool) -> Vec<(String, String)> {
        STEP_TYPES
            .iter()
            .filter(|k| !(nested && **k == "if"))
            .map(|k| (k.to_string(), self.t(&format!("pr_t_{k}"))))
            .collect()
    }

    fn branch(
        &mut self,
        entity: &str,
        steps: &[Step],
        at: &str,
        label: &str,
        nested: bool,
        number: &str,
    ) -> BranchView {
        let views = steps
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let n = if number.is_empty() { (i + 1).to_string() } else { format!("{number}.{}", i + 1) };
                let mut v = self.step(entity, st, &format!("{at}.{i}"), nested, &n);
                v.first = i == 0;
                v.last = i + 1 == steps.len();
                v
            })
            .collect();
        let add =
            Input::select(&format!("{at}.new"), &self.t("pr_new_step"), self.type_options(nested), "create").compact();
        BranchView { at: at.into(), label: label.into(), steps: views, add }
    }

    fn step(&mut self, entity: &str, st: &Step, at: &str, nested: bool, number: &str) -> StepView {
        let f = |k: &str| format!("{at}.{k}");
        let kind_label =
            self.t(&format!("pr_t_{}", if STEP_TYPES.contains(&st.kind.as_str()) { st.kind.as_str() } else { "raw" }));
        let title =
            if st.name.trim().is_empty() { kind_label.clone() } else { format!("{kind_label}: {}", st.name.trim()) };
        let mut view = StepView {
            at: at.into(),
            number: number.into(),
            kind: st.kind.clone(),
            title,
            type_input: None,
            name_input: None,
            inputs: Vec::new(),
            values: None,
            conds: Vec::new(),
            branches: Vec::new(),
            raw: None,
            error: self.error_for(at),
            first: false,
            last: false,
        };
        if st.kind == "raw" || !STEP_TYPES.contains(&st.kind.as_str()) {
            view.raw = Some(if st.raw.is_empty() { st.kind.clone() } else { st.raw.clone() });
            return view;
        }
        view.type_input =
            Some(Input::select(&f("type"), &self.t("pr_step_type"), self.type_options(nested), &st.kind).refresh());
        view.name_input = Some(Input::new(&f("name"), &self.t("pr_step_name"), "text", &st.name));
        let mut inputs = Vec::new();
        match st.kind.as_str() {
            "create" | "update" => {
                let target = if st.kind == "create" {
                    inputs.push(
                        Input::select(
                            &f("entity"),
                            &self.t("pr_new_entity"),
                            self.with_blank(self.entities()),
                            &st.entity,
                        )
                        .refresh(),
                    );
                    st.entity.clone()
                } else {
                    inputs.push(
                        Input::select(&f("target"), &self.t("pr_target"), self.targets(entity), &st.target).refresh(),
                    );
                    self.target_entity(entity, &st.target)
                };
                let columns = self.writable_columns(&target, st.kind == "create");
                let record_columns = self.readable_columns(entity);
                let kinds = vec![
                    ("text".to_string(), self.t("pr_vk_text")),
                    ("field".to_string(), self.t("pr_vk_field")),
                    ("record".to_string(), self.t("pr_vk_record")),
                    ("now".to_string(), self.t("pr_vk_now")),
                ];
                let mut rows = Vec::new();
                for (i, r) in st.values.iter().enumerate() {
                    let here = format!("{at}.v.{i}");
                    let mut row = vec![
                        Input::select(&format!("{here}.col"), &self.t("pr_column"), columns.clone(), &r.column)
                            .refresh()
                            .compact(),
                        Input::select(&format!("{here}.kind"), &self.t("pr_vk"), kinds.clone(), &r.kind)
                            .refresh()
                            .compact(),
                    ];
                    let name = format!("{here}.val");
                    let value_label = self.t("pr_value");
                    match r.kind.as_str() {
                        "field" => {
                            row.push(Input::select(&name, &value_label, record_columns.clone(), &r.value).compact())
                        }
                        "record" => {}
                        "now" => {
                            let mut i = Input::new(&name, &self.t("pr_days"), "text", &r.value).compact();
                            i.numeric = true;
                            row.push(i);
                        }
                        _ => {
                            let mut i = self.value_input(&target, &r.column, &name, &r.value, &value_label).compact();
                            if column_at(&self.schema, &target, &r.column)
                                .is_some_and(|a| matches!(a.kind, AttrKind::String | AttrKind::Memo))
                            {
                                i.hint = self.t("pr_vk_hint");
                            }
                            row.push(i);
                        }
                    }
                    rows.push(RowView { at: here, inputs: row });
                }
                view.values = Some(rows);
            }
            "assign" => {
                inputs.push(Input::select(&f("target"), &self.t("pr_target"), self.targets(entity), &st.target));
                let kinds = vec![
                    ("field".to_string(), self.t("pr_owner_field")),
                    ("user".to_string(), self.t("pr_owner_user")),
                ];
                inputs.push(Input::select(&f("owner_kind"), &self.t("pr_owner_kind"), kinds, &st.owner_kind).refresh());
                if st.owner_kind == "user" {
                    let mut options = vec![(String::new(), self.t("pr_choose"))];
                    options.extend(self.principals.iter().cloned());
                    inputs.push(Input::select(&f("owner"), &self.t("pr_owner"), options, &st.owner));
                } else {
                    inputs.push(Input::select(
                        &f("owner"),
                        &self.t("pr_owner"),
                        self.lookups(entity, &["systemuser", "team"]),
                        &st.owner,
                    ));
                }
            }
            "setstate" => {
                inputs.push(
                    Input::select(&f("target"), &self.t("pr_target"), self.targets(entity), &st.target).refresh(),
                );
                let target = self.target_entity(entity, &st.target);
                let lcid = self.lang.lcid();
                let e = self.entity(&target);
                let mut states = vec![(String::new(), self.t("pr_choose"))];
                states.extend(
                    e.iter().flat_map(|e| {
                        e.def.states.iter().map(|x| (x.value.to_string(), x.label.text(lcid).to_string()))
                    }),
                );
                inputs.push(Input::select(&f("state"), &self.t("pr_state_to"), states, &st.state).refresh());
                let mut statuses = vec![(String::new(), self.t("pr_default"))];
                if let (Some(e), Ok(state)) = (&e, st.state.parse::<i32>()) {
                    statuses.extend(e.state(state).iter().flat_map(|x| {
                        x.statuses.iter().map(|s| (s.value.to_string(), s.label.text(lcid).to_string()))
                    }));
                }
                inputs.push(Input::select(&f("status"), &self.t("pr_status_reason"), statuses, &st.status));
            }
            "sendemail" => {
                inputs.push(Input::select(
                    &f("template"),
                    &self.t("pr_template"),
                    self.with_blank(self.templates.clone()),
                    &st.template,
                ));
                inputs.push(Input::select(&f("to"), &self.t("pr_recipient"), self.lookups(entity, &[]), &st.to));
            }
            "notify" => {
                inputs.push(Input::select(
                    &f("to"),
                    &self.t("pr_recipient"),
                    self.lookups(entity, &["systemuser"]),
                    &st.to,
                ));
                inputs.push(
                    Input::new(&f("title"), &self.t("pr_title_field"), "text", &st.title)
                        .hint(&self.t("pr_vk_hint"))
                        .wide(),
                );
                inputs.push(Input::new(&f("body"), &self.t("pr_body"), "textarea", &st.body).wide());
                let p = vec![("normal".to_string(), self.t("pr_normal")), ("high".to_string(), self.t("pr_high"))];
                inputs.push(Input::select(&f("priority"), &self.t("pr_priority"), p, &st.priority));
            }
            "wait" => {
                let kinds =
                    vec![("for".to_string(), self.t("pr_wait_for")), ("until".to_string(), self.t("pr_wait_until"))];
                inputs.push(Input::select(&f("wait"), &self.t("pr_wait_kind"), kinds, &st.wait).refresh());
                if st.wait == "until" {
                    let label = self.t("pr_until");
                    view.conds.push(self.cond(entity, &st.until, &f("u"), &label));
                    let mut t = Input::new(&f("timeout"), &self.t("pr_timeout"), "text", &st.timeout);
                    t.numeric = true;
                    inputs.push(t);
                } else {
                    let mut a = Input::new(&f("amount"), &self.t("pr_amount"), "text", &st.amount);
                    a.numeric = true;
                    inputs.push(a);
                    let units = ["minutes", "hours", "days"]
                        .iter()
                        .map(|u| (u.to_string(), self.t(&format!("pr_unit_{u}"))))
                        .collect();
                    inputs.push(Input::select(&f("unit"), &self.t("pr_unit"), units, &st.unit));
                }
            }
            "if" => {
                let label = self.t("pr_rule_condition");
                view.conds.push(self.cond(entity, &st.condition, &f("c"), &label));
                let (then, otherwise) = (self.t("pr_then"), self.t("pr_else"));
                view.branches.push(self.branch(entity, &st.then, &f("t"), &then, true, number));
                let b = self.branch(entity, &st.otherwise, &f("e"), &otherwise, true, number);
                view.branches.push(b);
            }
            "childworkflow" => {
                inputs.push(Input::select(
                    &f("workflow"),
                    &self.t("pr_child"),
                    self.with_blank(self.children.clone()),
                    &st.workflow,
                ));
            }
            "webhook" => {
                inputs.push(Input::new(&f("url"), &self.t("pr_url"), "url", &st.url).wide());
                inputs.push(Input::new(&f("headers"), &self.t("pr_headers"), "textarea", &st.headers).wide());
            }
            "sendmessage" => {
                inputs.push(Input::select(
                    &f("channel"),
                    &self.t("pr_channel"),
                    self.with_blank(self.channels.clone()),
                    &st.channel,
                ));
                let texts: Vec<(String, String)> = {
                    let all = self.readable_columns(entity);
                    let e = self.entity(entity);
                    all.into_iter()
                        .filter(|(n, _)| {
                            n.is_empty()
                                || e.as_ref().and_then(|e| e.attribute(n)).is_some_and(|a| a.kind == AttrKind::String)
                        })
                        .collect()
                };
                inputs.push(Input::select(&f("to"), &self.t("pr_recipient"), texts, &st.to));
                inputs.push(
                    Input::new(&f("text"), &self.t("pr_body"), "textarea", &st.text).hint(&self.t("pr_vk_hint")).wide(),
                );
            }
            "stop" => {
                let o = vec![
                    ("succeeded".to_string(), self.t("pr_succeeded")),
                    ("canceled".to_string(), self.t("pr_canceled")),
                ];
                inputs.push(Input::select(&f("outcome"), &self.t("pr_outcome"), o, &st.outcome));
                inputs.push(Input::new(&f("message"), &self.t("pr_message"), "text", &st.message).wide());
            }
            _ => {}
        }
        view.inputs = inputs;
        view
    }

    fn with_blank(&self, mut options: Vec<(String, String)>) -> Vec<(String, String)> {
        options.insert(0, (String::new(), self.t("pr_choose")));
        options
    }

    fn actions(&mut self, entity: &str, list: &[RuleAction], at: &str, label: &str) -> ActionList {
        let kinds: Vec<(String, String)> =
            RULE_ACTIONS.iter().map(|k| (k.to_string(), self.t(&format!("pr_a_{k}")))).collect();
        let columns = self.readable_columns(entity);
        let mut actions = Vec::new();
        for (i, a) in list.iter().enumerate() {
            let here = format!("{at}.{i}");
            let f = |k: &str| format!("{here}.{k}");
            let known = RULE_ACTIONS.contains(&a.kind.as_str());
            let title = self.t(&format!("pr_a_{}", if known { a.kind.as_str() } else { "raw" }));
            let mut view = ActionView {
                at: here.clone(),
                number: (i + 1).to_string(),
                title,
                inputs: Vec::new(),
                raw: None,
                error: self.error_for(&here),
                first: i == 0,
                last: i + 1 == list.len(),
            };
            if !known {
                view.raw = Some(a.raw.clone());
                actions.push(view);
                continue;
            }
            view.inputs.push(Input::select(&f("type"), &self.t("pr_action"), kinds.clone(), &a.kind).refresh());
            view.inputs.push(Input::select(&f("field"), &self.t("pr_column"), columns.clone(), &a.field).refresh());
            match a.kind.as_str() {
                "setvalue" | "setdefault" => {
                    let vk =
                        vec![("text".to_string(), self.t("pr_vk_text")), ("field".to_string(), self.t("pr_vk_field"))];
                    view.inputs.push(Input::select(&f("kind"), &self.t("pr_vk"), vk, &a.value_kind).refresh());
                    let value_label = self.t("pr_value");
                    if a.value_kind == "field" {
                        view.inputs.push(Input::select(&f("val"), &value_label, columns.clone(), &a.value));
                    } else {
                        let i = self.value_input(entity, &a.field, &f("val"), &a.value, &value_label);
                        view.inputs.push(i);
                    }
                }
                "error" => view.inputs.push(Input::new(&f("msg"), &self.t("pr_message"), "text", &a.message).wide()),
                _ => {}
            }
            actions.push(view);
        }
        let add = Input::select(&format!("{at}.new"), &self.t("pr_action"), kinds, "show").compact();
        ActionList { at: at.into(), label: label.into(), actions, add }
    }

    fn head(&mut self, model: &Model, saved: bool) -> Vec<Input> {
        let mut head = vec![Input::new("name", &self.t("pr_name"), "text", model.name()).wide()];
        let entity = model.entity();
        if saved {
            head.push(Input::new(
                "entity",
                &self.t("pr_entity"),
                "static",
                &entity_label(&self.schema, entity, self.lang),
            ));
        } else {
            head.push(
                Input::select("entity", &self.t("pr_entity"), self.with_blank(self.entities()), entity).refresh(),
            );
        }
        head.push(Input::new("description", &self.t("pr_description"), "textarea", model.description()).wide());
        head
    }

    fn workflow_label(&self, column: &str) -> String {
        self.schema
            .entity("workflow")
            .and_then(|e| e.attribute(column))
            .map(|a| a.label.text(self.lang.lcid()).to_string())
            .unwrap_or_else(|| column.to_string())
    }

    fn workflow_options(&self, column: &str) -> Vec<(String, String)> {
        self.schema
            .entity("workflow")
            .and_then(|e| e.attribute(column))
            .map(|a| {
                let mut o = self.options_of(a);
                o.remove(0);
                o
            })
            .unwrap_or_default()
    }

    fn workflow(&mut self, page: &mut Page, w: &Workflow) {
        let l = |c: &str| self.workflow_label(c);
        page.options = vec![
            Input::select("mode", &l("mode"), self.workflow_options("mode"), &w.mode),
            Input::select("scope", &l("scope"), self.workflow_options("scope"), &w.scope),
            Input::select("runas", &l("runas"), self.workflow_options("runas"), &w.runas),
        ];
        let mut on_update = Input::multi(
            "on_update",
            &l("triggeronupdateattributelist"),
            self.readable_columns(&w.entity).into_iter().skip(1).collect(),
            &w.on_update,
        )
        .hint(&self.t("pr_multi_hint"));
        on_update.wide = true;
        page.triggers = vec![
            Input::check("on_create", &l("triggeroncreate"), w.on_create),
            Input::check("on_delete", &l("triggerondelete"), w.on_delete),
            Input::check("on_demand", &l("ondemand"), w.on_demand),
            Input::check("subprocess", &l("subprocess"), w.subprocess),
            on_update,
        ];
        let kinds = ["none", "daily", "weekly", "hourly", "custom"]
            .iter()
            .map(|k| (k.to_string(), self.t(&format!("pr_sched_{k}"))))
            .collect();
        let mut schedule = vec![Input::select("schedule", &l("relata_schedule"), kinds, &w.schedule).refresh()];
        match w.schedule.as_str() {
            "weekly" => {
                let days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
                    .iter()
                    .map(|d| (d.to_string(), self.t(&format!("pr_day_{d}"))))
                    .collect();
                schedule.push(Input::select("day", &self.t("pr_day"), days, &w.day));
            }
            "hourly" => {
                let mut h = Input::new("hours", &self.t("pr_hours"), "text", &w.hours);
                h.numeric = true;
                schedule.push(h);
            }
            "custom" => schedule.push(Input::new("pattern", &self.t("pr_pattern"), "text", &w.pattern)),
            _ => {}
        }
        if w.schedule != "none" {
            schedule.push(Input::new("start", &self.t("pr_start"), "datetime", &w.start));
        }
        page.schedule = schedule;
        let label = self.t("pr_condition");
        page.condition = Some(self.cond(&w.entity, &w.condition, "c", &label));
        page.condition_error = self.error_for("c");
        let steps_label = self.t("pr_steps");
        page.steps = Some(self.branch(&w.entity, &w.steps, "s", &steps_label, false, ""));
    }

    fn rule(&mut self, page: &mut Page, r: &Rule) {
        let label = self.t("pr_rule_condition");
        page.condition = Some(self.cond(&r.entity, &r.condition, "c", &label));
        page.condition_error = self.error_for("c");
        let (then, otherwise) = (self.t("pr_actions_then"), self.t("pr_actions_else"));
        page.then = Some(self.actions(&r.entity, &r.then, "a.t", &then));
        page.otherwise = Some(self.actions(&r.entity, &r.otherwise, "a.e", &otherwise));
    }

    fn flow(&mut self, page: &mut Page, f: &Flow) {
        // A stage's table: the process's own unless another is chosen.
        let mut entities = self.entities();
        entities.insert(0, (String::new(), self.t("pr_same_table")));
        let stages = f
            .stages
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let at = format!("st.{i}");
                let entity = if st.entity.is_empty() { f.entity.clone() } else { st.entity.clone() };
                let columns: Vec<(String, String)> = self.readable_columns(&entity).into_iter().skip(1).collect();
                let mut required =
                    Input::multi(&format!("{at}.req"), &self.t("pr_required_cols"), columns, &st.required)
                        .hint(&format!("{} {}", self.t("pr_required_hint"), self.t("pr_multi_hint")));
                required.wide = true;
                StageView {
                    title: self.t("pr_stage").replace("{n}", &(i + 1).to_string()),
                    number: i + 1,
                    id: st.id.clone(),
                    inputs: vec![
                        Input::new(&format!("{at}.name"), &self.t("pr_stage_name"), "text", &st.name),
                        Input::select(
                            &format!("{at}.entity"),
                            &self.t("pr_stage_entity"),
                            entities.clone(),
                            &st.entity,
                        )
                        .refresh(),
                        required,
                    ],
                    first: i == 0,
                    last: i + 1 == f.stages.len(),
                    at,
                }
            })
            .collect();
        page.stages = Some(stages);
    }
}

/// The editor's page for a model; `error_at` is the place a problem names.
pub(super) fn page(
    s: &mut Session<'_, '_, '_>,
    lang: Lang,
    model: &Model,
    saved: bool,
    error_at: Option<&str>,
    problem: Option<&str>,
) -> Result<Page, PageError> {
    let schema = s.schema.clone();
    let mut cx = Cx {
        schema,
        lang,
        principals: Vec::new(),
        templates: Vec::new(),
        channels: Vec::new(),
        children: Vec::new(),
        error_at: error_at.map(str::to_string),
        problem: problem.map(str::to_string),
        s,
    };
    if let Model::Workflow(w) = model {
        cx.principals = crate::bulk::assignees(cx.s)?;
        if readable(cx.s, "template") {
            let q = format!(
                "$select=title&$filter=templatetypecode eq null or templatetypecode eq '' or templatetypecode eq {}&$orderby=title",
                relata_query::options::string_literal(&w.entity)
            );
            cx.templates = query(cx.s, "template", &q, 500)?
                .iter()
                .map(|r| (r.id.to_string(), r.get("title").and_then(Value::as_str).unwrap_or("").to_string()))
                .collect();
        }
        if readable(cx.s, "relata_messagechannel") {
            cx.channels = query(cx.s, "relata_messagechannel", "$select=relata_name&$orderby=relata_name", 200)?
                .iter()
                .map(|r| (r.id.to_string(), r.get("relata_name").and_then(Value::as_str).unwrap_or("").to_string()))
                .collect();
        }
        let q = format!(
            "$select=name&$filter=category eq 0 and subprocess eq true and primaryentity eq {}&$orderby=name",
            relata_query::options::string_literal(&w.entity)
        );
        cx.children = query(cx.s, "workflow", &q, 500)?
            .iter()
            .map(|r| (r.id.to_string(), r.get("name").and_then(Value::as_str).unwrap_or("").to_string()))
            .collect();
    }
    if let Model::Rule(_) = model {
        cx.principals = crate::bulk::assignees(cx.s)?;
    }
    let mut page = Page { head: cx.head(model, saved), ..Page::default() };
    match model {
        Model::Workflow(w) => cx.workflow(&mut page, w),
        Model::Rule(r) => cx.rule(&mut page, r),
        Model::Flow(f) => cx.flow(&mut page, f),
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::place_of;

    #[test]
    fn places_name_the_editors_parts() {
        assert_eq!(place_of("steps[0]: 'title' is required").as_deref(), Some("s.0"));
        assert_eq!(place_of("steps[2].then[1].values.subject: x").as_deref(), Some("s.2.t.1"));
        assert_eq!(place_of("steps[2].else[0]: x").as_deref(), Some("s.2.e.0"));
        assert_eq!(place_of("condition.all[0]: account has no column ''").as_deref(), Some("c"));
        assert_eq!(place_of("else[3]: an error needs its 'message'").as_deref(), Some("a.e.3"));
        assert_eq!(place_of("The definition is not JSON: x"), None);
        assert_eq!(place_of("Name is required"), None);
    }
}
