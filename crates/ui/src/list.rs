//! Entity lists: system views (`savedquery`) and the user's own views
//! (`userquery`), run as FetchXML through the same planner and security
//! scope as the Web API; sorting, column filters, quick find, keyset
//! paging, saving the current list as a personal view, and links to the
//! bulk actions and export of `bulk.rs`.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use minijinja::context;
use relata_engine::{EngineError, RecordInput, Session};
use relata_metadata::{AttrKind, AttributeDef, Entity, EntityRef, Value};
use relata_query::fetchxml::{self, escape_attr};
use relata_query::options::{parse_query_options, string_literal};
use relata_security::{Right, Scope};
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang};
use super::pages::{display_in, names_of, path_and_query, readable_entity, shell, shell_context, signed_in, PageError};
use super::{redirect, render};
use crate::AppState;

/// Rows per list page.
pub(super) const PAGE_SIZE: u64 = 50;
/// Separates the paging cookies in a list's `trail` parameter.
const TRAIL_SEPARATOR: &str = " ";
/// The prefix of column filter parameters (`f.name=acme`).
const FILTER_PREFIX: &str = "f.";

/// A view the user may pick: `s:<id>` system, `u:<id>` personal,
/// `default` generated from metadata.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ViewChoice {
    pub key: String,
    pub name: String,
    pub personal: bool,
    pub current: bool,
}

/// A view's definition.
pub(super) struct ViewDef {
    pub fetchxml: String,
    pub columns: Vec<String>,
}

/// The columns a generated view shows: the primary name, indexed columns
/// (what a CRM's data is looked up by), owner and last change.
pub(super) fn default_columns(entity: &Entity) -> Vec<String> {
    let mut cols: Vec<String> =
        entity.attribute(&entity.def.primary_name).map(|a| a.name.clone()).into_iter().collect();
    let skip = |a: &AttributeDef| {
        a.name == entity.def.primary_name
            || a.name == entity.primary_id()
            || a.base_of.is_none() && a.name.ends_with("_base")
            || matches!(
                a.name.as_str(),
                "ownerid" | "owningbusinessunit" | "modifiedon" | "createdon" | "versionnumber"
            )
            || matches!(a.kind, AttrKind::Uniqueidentifier | AttrKind::File | AttrKind::Memo | AttrKind::EntityName)
    };
    cols.extend(entity.attributes().iter().filter(|a| a.indexed && !skip(a)).take(4).map(|a| a.name.clone()));
    for n in ["ownerid", "modifiedon"] {
        if entity.attribute(n).is_some() {
            cols.push(n.to_string());
        }
    }
    cols
}

/// The generated view of an entity that has no system view: its active
/// records when it has states, else all.
fn generated_view(entity: &Entity) -> ViewDef {
    let columns = default_columns(entity);
    let mut x = format!(r#"<fetch version="1.0" mapping="logical"><entity name="{}">"#, entity.name());
    for c in &columns {
        x.push_str(&format!(r#"<attribute name="{c}"/>"#));
    }
    x.push_str(&format!(r#"<order attribute="{}" descending="false"/>"#, entity.def.primary_name));
    if entity.attribute("statecode").is_some() {
        x.push_str(r#"<filter type="and"><condition attribute="statecode" operator="eq" value="0"/></filter>"#);
    }
    x.push_str("</entity></fetch>");
    ViewDef { fetchxml: x, columns }
}

/// The views of an entity the user may use, and the one to show.
pub(super) fn views(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    wanted: Option<&str>,
    lang: Lang,
) -> Result<(Vec<ViewChoice>, ViewDef), PageError> {
    let mut found: Vec<(ViewChoice, String, String, bool)> = Vec::new();
    let name = entity.name();
    for (source, personal) in [("savedquery", false), ("userquery", true)] {
        let Some(e) = s.schema.entity(source).cloned() else { continue };
        if s.principal.read_scope(&e) == Scope::Nothing {
            continue;
        }
        let id = e.primary_id().to_string();
        let mine = if personal { " and Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')" } else { "" };
        let default = if personal { "" } else { ",isdefault" };
        let q = format!(
            "$select={id},name,fetchxml,layoutxml{default}&$filter=returnedtypecode eq {} and querytype eq 0{mine}&$orderby=name",
            string_literal(name)
        );
        let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
        for r in s.query(source, &opts, Some(200), None)?.records {
            let key = format!("{}:{}", if personal { "u" } else { "s" }, r.id);
            let text_of = |c: &str| r.get(c).and_then(Value::as_str).unwrap_or("").to_string();
            let is_default = r.get("isdefault").and_then(Value::as_bool).unwrap_or(false);
            found.push((
                ViewChoice { key, name: text_of("name"), personal, current: false },
                text_of("fetchxml"),
                text_of("layoutxml"),
                is_default,
            ));
        }
    }
    let chosen = wanted
        .and_then(|w| found.iter().position(|(c, ..)| c.key == w))
        .or_else(|| found.iter().position(|(.., d)| *d))
        .or_else(|| found.iter().position(|(c, ..)| !c.personal));
    let mut choices: Vec<ViewChoice> = found.iter().map(|(c, ..)| c.clone()).collect();
    let def = match chosen {
        Some(i) => {
            choices[i].current = true;
            let (_, fetch, layout, _) = &found[i];
            let mut columns: Vec<String> = fetchxml::layout_columns(layout)
                .unwrap_or_default()
                .into_iter()
                .filter(|c| entity.attribute(c).is_some())
                .collect();
            if columns.is_empty() {
                columns = default_columns(entity);
            }
            ViewDef { fetchxml: fetch.clone(), columns }
        }
        None => {
            let label = entity.def.plural_label.text(lang.lcid());
            let key = if entity.attribute("statecode").is_some() { "list_active" } else { "list_all" };
            choices.insert(
                0,
                ViewChoice {
                    key: "default".into(),
                    name: text(lang, key).replace("{plural}", label),
                    personal: false,
                    current: true,
                },
            );
            generated_view(entity)
        }
    };
    Ok((choices, def))
}

/// What the user asked of a list: view, quick find, column filters,
/// related-record filter, sort and page.
#[derive(Debug, Clone, Default)]
pub(super) struct ListState {
    pub view: Option<String>,
    pub find: String,
    pub filters: Vec<(String, String)>,
    /// `lookup:id` (a subgrid's "show all").
    pub related: Option<(String, Uuid)>,
    pub sort: Option<String>,
    pub desc: bool,
    pub trail: Vec<String>,
}

impl ListState {
    pub fn from_query(q: &HashMap<String, String>) -> ListState {
        let mut filters: Vec<(String, String)> = q
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(FILTER_PREFIX)?.to_string(), v.trim().to_string())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        filters.sort();
        ListState {
            view: q.get("view").filter(|v| !v.is_empty()).cloned(),
            find: q.get("q").map(|v| v.trim().to_string()).unwrap_or_default(),
            filters,
            related: q.get("filter").and_then(|f| {
                let (attr, id) = f.split_once(':')?;
                Some((attr.to_string(), Uuid::parse_str(id).ok()?))
            }),
            sort: q.get("sort").filter(|v| !v.is_empty()).cloned(),
            desc: q.get("dir").is_some_and(|d| d == "desc"),
            trail: q
                .get("trail")
                .map(|t| t.split(TRAIL_SEPARATOR).filter(|x| !x.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
        }
    }

    /// The list's query string with some parts replaced.
    pub fn link(&self, set: &str, sort: Option<(&str, bool)>, trail: Option<&[String]>) -> String {
        let enc = |v: &str| percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string();
        let mut p = self.params_without_paging();
        let (sort, desc) = match sort {
            Some((c, d)) => (Some(c.to_string()), d),
            None => (self.sort.clone(), self.desc),
        };
        if let Some(c) = sort {
            p.push(format!("sort={}&dir={}", enc(&c), if desc { "desc" } else { "asc" }));
        }
        let trail = trail.unwrap_or(&[]);
        if !trail.is_empty() {
            p.push(format!("trail={}", enc(&trail.join(TRAIL_SEPARATOR))));
        }
        if p.is_empty() {
            format!("/ui/{set}")
        } else {
            format!("/ui/{set}?{}", p.join("&"))
        }
    }

    /// View, quick find and filters as query parameters.
    pub fn params_without_paging(&self) -> Vec<String> {
        let enc = |v: &str| percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string();
        let mut p = Vec::new();
        if let Some(v) = &self.view {
            p.push(format!("view={}", enc(v)));
        }
        if !self.find.is_empty() {
            p.push(format!("q={}", enc(&self.find)));
        }
        for (c, v) in &self.filters {
            p.push(format!("{FILTER_PREFIX}{}={}", enc(c), enc(v)));
        }
        if let Some((a, id)) = &self.related {
            p.push(format!("filter={}%3A{id}", enc(a)));
        }
        p
    }
}

/// One column filter as FetchXML conditions, or the message for the user.
fn filter_conditions(a: &AttributeDef, raw: &str, lang: Lang) -> Result<Vec<String>, String> {
    let cond = |op: &str, v: &str| {
        format!(r#"<condition attribute="{}" operator="{op}" value="{}"/>"#, a.name, escape_attr(v))
    };
    let label = a.label.text(lang.lcid());
    // `>=x`, `>x`, `<=x`, `<x`, `a..b` or a plain value.
    let range = |parse: &dyn Fn(&str) -> Option<String>, on: (&str, &str, &str)| -> Result<Vec<String>, String> {
        let bad = || text(lang, "list_bad_filter").replace("{column}", label);
        if let Some((lo, hi)) = raw.split_once("..") {
            let mut out = Vec::new();
            if !lo.trim().is_empty() {
                out.push(cond(on.1, &parse(lo.trim()).ok_or_else(bad)?));
            }
            if !hi.trim().is_empty() {
                out.push(cond(on.2, &parse(hi.trim()).ok_or_else(bad)?));
            }
            return Ok(out);
        }
        for (prefix, op) in [(">=", on.1), ("<=", on.2), (">", on.1), ("<", on.2), ("=", on.0)] {
            if let Some(rest) = raw.strip_prefix(prefix) {
                let op = match (prefix, on.0) {
                    (">", "eq") => "gt",
                    ("<", "eq") => "lt",
                    _ => op,
                };
                return Ok(vec![cond(op, &parse(rest.trim()).ok_or_else(bad)?)]);
            }
        }
        Ok(vec![cond(on.0, &parse(raw).ok_or_else(bad)?)])
    };
    match a.kind {
        AttrKind::String | AttrKind::Memo => Ok(vec![cond("like", &format!("%{raw}%"))]),
        AttrKind::Picklist | AttrKind::State | AttrKind::Status | AttrKind::Integer | AttrKind::BigInt => range(
            &|v| {
                relata_print::format::parse_decimal(v)
                    .filter(|d| d.fract().is_zero())
                    .map(|d| d.normalize().to_string())
            },
            ("eq", "ge", "le"),
        ),
        AttrKind::Decimal | AttrKind::Money | AttrKind::Double => {
            range(&|v| relata_print::format::parse_decimal(v).map(|d| d.normalize().to_string()), ("eq", "ge", "le"))
        }
        AttrKind::Boolean => match raw {
            "1" | "true" => Ok(vec![cond("eq", "true")]),
            "0" | "false" => Ok(vec![cond("eq", "false")]),
            _ => Err(text(lang, "list_bad_filter").replace("{column}", label)),
        },
        AttrKind::DateTime => range(
            &|v| relata_print::format::parse_date(v).map(|d| d.format("%Y-%m-%d").to_string()),
            ("on", "on-or-after", "on-or-before"),
        ),
        _ => Ok(Vec::new()),
    }
}

/// The FetchXML of the list as the user sees it: the view's own filters,
/// then the quick find, column filters and related-record filter.
pub(super) fn effective_fetch(
    entity: &Entity,
    view: &ViewDef,
    state: &ListState,
    lang: Lang,
) -> Result<(String, Vec<String>), PageError> {
    let mut errors = Vec::new();
    let mut extra = Vec::new();
    let primary = &entity.def.primary_name;
    if !state.find.is_empty() && entity.attribute(primary).is_some_and(|a| a.kind == AttrKind::String) {
        extra.push(format!(
            r#"<condition attribute="{primary}" operator="like" value="{}"/>"#,
            escape_attr(&format!("%{}%", state.find))
        ));
    }
    for (col, raw) in &state.filters {
        let Some(a) = entity.attribute(col).filter(|_| view.columns.contains(col)) else { continue };
        match filter_conditions(a, raw, lang) {
            Ok(c) => extra.extend(c),
            Err(m) => errors.push(m),
        }
    }
    if let Some((attr, id)) = &state.related {
        if entity.attribute(attr).is_some_and(|a| a.kind.is_lookup()) {
            extra.push(format!(r#"<condition attribute="{attr}" operator="eq" value="{id}"/>"#));
        }
    }
    let filters = fetchxml::entity_filters(&view.fetchxml).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let (sort, desc) = sort_of(entity, view, state);
    let mut x = format!(r#"<fetch version="1.0" mapping="logical"><entity name="{}">"#, entity.name());
    for c in &view.columns {
        x.push_str(&format!(r#"<attribute name="{c}"/>"#));
    }
    x.push_str(&format!(r#"<order attribute="{sort}" descending="{desc}"/>"#));
    for f in filters {
        x.push_str(&f);
    }
    if !extra.is_empty() {
        x.push_str(r#"<filter type="and">"#);
        x.push_str(&extra.concat());
        x.push_str("</filter>");
    }
    x.push_str("</entity></fetch>");
    Ok((x, errors))
}

/// The sort column: the user's choice among the view's columns, else the
/// view's own order, else the primary name.
fn sort_of(entity: &Entity, view: &ViewDef, state: &ListState) -> (String, bool) {
    if let Some(c) = state.sort.as_ref().filter(|c| view.columns.contains(c)) {
        return (c.clone(), state.desc);
    }
    fetchxml::parse(&view.fetchxml)
        .ok()
        .and_then(|q| q.orders.into_iter().find(|(c, _)| entity.attribute(c).is_some()))
        .unwrap_or_else(|| (entity.def.primary_name.clone(), false))
}

/// Runs a list's FetchXML: one page after `skiptoken`, with the columns
/// and the transaction currency (for money) selected.
pub(super) fn run(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    fetch: &str,
    skiptoken: Option<String>,
    page_size: usize,
) -> Result<relata_query::Page, PageError> {
    let q = fetchxml::parse_in(fetch, &s.schema).map_err(|e| EngineError::Invalid(e.to_string()))?;
    if q.entity != entity.name() {
        return Err(EngineError::Invalid(format!("the view is of {}, not {}", q.entity, entity.name())).into());
    }
    let mut select = q.attributes.clone();
    if entity.attribute("transactioncurrencyid").is_some() && !select.iter().any(|c| c == "transactioncurrencyid") {
        select.push("transactioncurrencyid".into());
    }
    let mut text = format!("$select={}", select.join(","));
    if let Some(f) = &q.filter {
        text.push_str(&format!("&$filter={f}"));
    }
    let mut orders: Vec<String> =
        q.orders.iter().map(|(c, d)| format!("{c} {}", if *d { "desc" } else { "asc" })).collect();
    // The key last, so keyset paging has a total order.
    orders.push(format!("{} asc", entity.primary_id()));
    text.push_str(&format!("&$orderby={}", orders.join(",")));
    let mut opts = parse_query_options(&text).map_err(|e| EngineError::Invalid(e.to_string()))?;
    opts.skiptoken = skiptoken;
    Ok(s.query(entity.name(), &opts, Some(page_size), None)?)
}

/// The currencies of the records' money columns, by id.
pub(super) fn currencies_of(
    s: &mut Session<'_, '_, '_>,
    records: &[relata_query::Record],
) -> Result<HashMap<Uuid, relata_print::format::CurrencyInfo>, PageError> {
    let ids: Vec<Uuid> = records
        .iter()
        .filter_map(|r| r.get("transactioncurrencyid").and_then(Value::as_ref_value).map(|r| r.id))
        .collect();
    currencies(s, ids)
}

/// Currencies by id: code, symbol and precision.
pub(super) fn currencies(
    s: &mut Session<'_, '_, '_>,
    mut ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, relata_print::format::CurrencyInfo>, PageError> {
    ids.sort();
    ids.dedup();
    let mut out = HashMap::new();
    let readable = s.schema.entity("transactioncurrency").is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing);
    // Without the right to read currencies, amounts show without a symbol.
    if ids.is_empty() || !readable {
        return Ok(out);
    }
    let list: Vec<String> = ids.iter().map(|i| format!("transactioncurrencyid eq {i}")).collect();
    let q = format!("$select=isocurrencycode,currencysymbol,currencyprecision&$filter={}", list.join(" or "));
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    for r in s.query("transactioncurrency", &opts, Some(ids.len()), None)?.records {
        let code = r.get("isocurrencycode").and_then(Value::as_str).unwrap_or("");
        let mut c = relata_print::format::CurrencyInfo::from_code(code);
        if let Some(sym) = r.get("currencysymbol").and_then(Value::as_str).filter(|x| !x.trim().is_empty()) {
            c.symbol = sym.to_string();
        }
        if let Some(p) = r.get("currencyprecision").and_then(Value::as_i64) {
            c.precision = p.clamp(0, 10) as u32;
        }
        out.insert(r.id, c);
    }
    Ok(out)
}

#[derive(Serialize)]
struct Column {
    name: String,
    label: String,
    href: String,
    sorted: Option<&'static str>,
    /// The filter input: text, or a select of options.
    filter: String,
    options: Vec<(String, String)>,
    filterable: bool,
}

#[derive(Serialize)]
struct Row {
    id: Uuid,
    cells: Vec<String>,
}

pub(super) async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(set): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = path_and_query(&format!("/ui/{set}"), &q);
    signed_in(&st, &headers, &here, q.get("lang").cloned(), false, move |s, lang, token| {
        let entity = readable_entity(s, &set, lang)?;
        let sh = shell(s, lang, token, Some(entity.name()))?;
        let state = ListState::from_query(&q);
        let (choices, view) = views(s, &entity, state.view.as_deref(), lang)?;
        let (fetch, mut errors) = effective_fetch(&entity, &view, &state, lang)?;
        let page = state.trail.len() + 1;
        let rows_page = match run(s, &entity, &fetch, state.trail.last().cloned(), PAGE_SIZE as usize) {
            Ok(p) => p,
            // A view an administrator broke shows its message, not an error page.
            Err(PageError::Engine(e)) if e.invalid_message(lang.code()).is_some() => {
                errors.push(e.invalid_message(lang.code()).unwrap_or_default());
                relata_query::Page { records: Vec::new(), count: None, skiptoken: None }
            }
            Err(e) => return Err(e),
        };
        let names = names_of(s, &rows_page.records)?;
        let currencies = currencies_of(s, &rows_page.records)?;
        // A secured column the user may not read is not shown at all.
        let columns: Vec<&AttributeDef> = view
            .columns
            .iter()
            .filter_map(|c| entity.attribute(c))
            .filter(|a| s.principal.can_read_field(&entity, a))
            .collect();
        let rows: Vec<Row> = rows_page
            .records
            .iter()
            .map(|r| {
                let currency = r
                    .get("transactioncurrencyid")
                    .and_then(Value::as_ref_value)
                    .and_then(|c| currencies.get(&c.id));
                Row {
                    id: r.id,
                    cells: columns
                        .iter()
                        .map(|a| r.get(&a.name).map(|v| display_in(s, a, v, lang, &names, currency)).unwrap_or_default())
                        .collect(),
                }
            })
            .collect();
        let (sort, desc) = sort_of(&entity, &view, &state);
        let lcid = lang.lcid();
        let cols: Vec<Column> = columns
            .iter()
            .map(|a| {
                let is_sorted = a.name == sort;
                let options = match a.kind {
                    AttrKind::Picklist | AttrKind::State | AttrKind::Status => a
                        .option_set
                        .as_deref()
                        .and_then(|n| s.schema.option_set(n))
                        .map(|set| {
                            set.options.iter().map(|o| (o.value.to_string(), o.label.text(lcid).to_string())).collect()
                        })
                        .unwrap_or_else(|| {
                            a.options.iter().map(|o| (o.value.to_string(), o.label.text(lcid).to_string())).collect()
                        }),
                    AttrKind::Boolean => {
                        vec![("1".into(), text(lang, "yes").into()), ("0".into(), text(lang, "no").into())]
                    }
                    _ => Vec::new(),
                };
                Column {
                    name: a.name.clone(),
                    label: a.label.text(lcid).to_string(),
                    href: state.link(&set, Some((&a.name, is_sorted && !desc)), None),
                    sorted: is_sorted.then_some(if desc { "descending" } else { "ascending" }),
                    filter: state.filters.iter().find(|(c, _)| *c == a.name).map(|(_, v)| v.clone()).unwrap_or_default(),
                    options,
                    filterable: !a.kind.is_lookup()
                        && !matches!(a.kind, AttrKind::MultiSelectPicklist | AttrKind::File | AttrKind::Uniqueidentifier),
                }
            })
            .collect();
        let related_name = match &state.related {
            Some((attr, id)) => {
                let target = entity.attribute(attr).and_then(|a| a.targets.first()).map(|t| t.entity.clone());
                match target {
                    Some(t) => s.lookup_names(&[&EntityRef { entity: t, id: *id }])?.get(id).cloned(),
                    None => None,
                }
            }
            None => None,
        };
        let current_view = choices.iter().find(|c| c.current).cloned();
        let title = entity.def.plural_label.text(lcid).to_string();
        let may_export = s.principal.has("prvExportToExcel");
        let bulk = super::bulk::bulk_actions(s, &entity, lang)?;
        let owners = if bulk.iter().any(|b| b.0 == "assign") { super::bulk::assignees(s)? } else { Vec::new() };
        let hidden: Vec<(String, String)> = {
            let mut h = Vec::new();
            if let Some(v) = &state.view {
                h.push(("view".to_string(), v.clone()));
            }
            if let Some((a, id)) = &state.related {
                h.push(("filter".to_string(), format!("{a}:{id}")));
            }
            h.push(("sort".to_string(), sort.clone()));
            h.push(("dir".to_string(), if desc { "desc" } else { "asc" }.to_string()));
            h
        };
        let query_now = state.params_without_paging().join("&");
        Ok(render(
            "list.html",
            context! { ..shell_context(&sh), ..context! {
                new_links => super::forms::new_links(s, &entity, lang),
                title => title, set => &set, q => &state.find, q_global => "",
                columns => minijinja::Value::from(minijinja::value::Serde(&cols)),
                rows => minijinja::Value::from(minijinja::value::Serde(&rows)),
                views => minijinja::Value::from(minijinja::value::Serde(&choices)),
                current_view => minijinja::Value::from(minijinja::value::Serde(&current_view)),
                hidden => hidden, errors => errors, related_name => related_name, done => q.get("done"),
                clear_filters => (!state.filters.is_empty()).then(|| {
                    ListState { filters: Vec::new(), trail: Vec::new(), ..state.clone() }.link(&set, None, None)
                }),
                page_label => text(lang, "page").replace("{n}", &page.to_string()),
                next => rows_page.skiptoken.as_ref().map(|t| {
                    let mut next = state.trail.clone();
                    next.push(t.clone());
                    state.link(&set, None, Some(&next))
                }),
                prev => (page > 1).then(|| state.link(&set, None, Some(&state.trail[..state.trail.len() - 1]))),
                may_export => may_export, export_query => query_now,
                bulk => bulk, owners => owners,
                may_save_view => s.schema.entity("userquery").is_some_and(|e| s.principal.depth(e, Right::Create) > relata_security::Depth::None),
            }},
        ))
    })
    .await
}

/// Saves the list as the user sees it as a personal view.
pub(super) async fn save_view(State(st): State<AppState>, Path(set): Path<String>, req: Request) -> Response {
    let (headers, form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/{set}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let entity = readable_entity(s, &set, lang)?;
        let state = ListState::from_query(&form);
        let (_, view) = views(s, &entity, state.view.as_deref(), lang)?;
        let name = form.get("name").map(|n| n.trim().to_string()).unwrap_or_default();
        if name.is_empty() {
            return Err(EngineError::Invalid(text(lang, "list_view_name_needed").to_string()).into());
        }
        let (fetch, errors) = effective_fetch(&entity, &view, &ListState { trail: Vec::new(), ..state }, lang)?;
        if let Some(m) = errors.first() {
            return Err(EngineError::Invalid(m.clone()).into());
        }
        let layout = view_layout(&entity, &view.columns);
        let id = s.create(
            "userquery",
            RecordInput::new(vec![
                ("name".into(), Value::String(name)),
                ("returnedtypecode".into(), Value::String(entity.name().into())),
                ("querytype".into(), Value::Int(0)),
                ("fetchxml".into(), Value::String(fetch)),
                ("layoutxml".into(), Value::String(layout)),
            ]),
        )?;
        Ok(redirect(&format!("/ui/{set}?view=u%3A{id}")))
    })
    .await
}

/// Deletes one of the user's own views.
pub(super) async fn delete_view(
    State(st): State<AppState>,
    Path((set, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (headers, _form) = match super::forms::posted(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let here = format!("/ui/{set}");
    signed_in(&st, &headers, &here, None, true, move |s, lang, _token| {
        let id = Uuid::parse_str(&id).map_err(|_| EngineError::not_found(text(lang, "not_found").to_string()))?;
        s.delete("userquery", id, None)?;
        Ok(redirect(&format!("/ui/{set}")))
    })
    .await
}

/// A grid layout of columns, as Dataverse writes `layoutxml`.
pub(super) fn view_layout(entity: &Entity, columns: &[String]) -> String {
    let jump = columns.first().cloned().unwrap_or_else(|| entity.def.primary_name.clone());
    let mut x =
        format!(r#"<grid name="resultset" jump="{jump}" select="1"><row name="result" id="{}">"#, entity.primary_id());
    for c in columns {
        x.push_str(&format!(r#"<cell name="{c}" width="150"/>"#));
    }
    x.push_str("</row></grid>");
    x
}
