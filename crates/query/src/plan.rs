//! Planning and running reads: `$select/$filter/$orderby/$top/$count`,
//! keyset paging, `$expand` and `$apply`, always with the caller's scope.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use relata_metadata::{AttrKind, AttributeDef, Entity, EntityRef, Nav, Schema, Value};
use relata_security::Scope;
use relata_store::{Backend, Param, SqlBuilder, Storage, Tx};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::ast::{AggregateMethod, ExpandItem, QueryOptions, Transformation};
use crate::filter::{uuid_literal, Frame};
use crate::QueryError;

/// Largest page a caller can ask for, and the default (as in Dataverse).
pub const MAX_PAGE_SIZE: usize = 5000;
/// Distinct columns one query may sort on (each one more term in every
/// keyset comparison of the paging cookie).
pub const MAX_SORT_KEYS: usize = 100;
/// Rows returned per parent in a collection-valued `$expand`.
pub const MAX_EXPAND_ROWS: usize = 5000;
/// Rows one collection-valued `$expand` may return in all, so a response
/// stays bounded in memory.
pub const MAX_EXPANDED_TOTAL: usize = 100_000;

/// Everything a read needs to know about its caller.
pub struct Ctx<'s> {
    pub schema: &'s Schema,
    pub backend: Backend,
    pub user_id: Uuid,
    pub business_unit_id: Uuid,
    pub teams: &'s [Uuid],
    pub now: DateTime<Utc>,
    /// The caller's read scope per entity.
    pub scope: &'s dyn Fn(&Entity) -> Scope,
    /// May the caller see this column's values? (Field security: columns
    /// it may not read are NULL everywhere: in results, filters, sorting
    /// and aggregates.)
    pub field_readable: &'s dyn Fn(&Entity, &AttributeDef) -> bool,
    /// Lock the rows read by [`Ctx::query`] until the transaction ends
    /// (PostgreSQL; SQLite writers are already serialized).
    pub for_update: bool,
    pub(crate) alias_seq: Cell<u32>,
}

impl<'s> Ctx<'s> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        schema: &'s Schema,
        backend: Backend,
        user_id: Uuid,
        business_unit_id: Uuid,
        teams: &'s [Uuid],
        now: DateTime<Utc>,
        scope: &'s dyn Fn(&Entity) -> Scope,
    ) -> Self {
        Ctx {
            schema,
            backend,
            user_id,
            business_unit_id,
            teams,
            now,
            scope,
            field_readable: &every_field_readable,
            for_update: false,
            alias_seq: Cell::new(0),
        }
    }

    /// Is the column's value hidden from the caller?
    pub(crate) fn masked(&self, entity: &Entity, attr: &AttributeDef) -> bool {
        attr.secured && !(self.field_readable)(entity, attr)
    }
}

fn every_field_readable(_: &Entity, _: &AttributeDef) -> bool {
    true
}

/// A typed NULL standing in for a column the caller may not read.
pub(crate) fn null_of(backend: Backend, attr: &AttributeDef) -> String {
    match backend {
        Backend::Sqlite => "NULL".into(),
        Backend::Postgres => format!("CAST(NULL AS {})", Storage::of(attr).sql_type(backend)),
    }
}

/// A record as read: attribute values (lookups as [`Value::Ref`]) plus any
/// expanded navigation properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub entity: String,
    pub id: Uuid,
    /// Row version (the ETag), whether or not `versionnumber` was selected.
    pub version: i64,
    pub values: Vec<(String, Value)>,
    pub expanded: Vec<(String, Expanded)>,
}

impl Record {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    pub fn version(&self) -> i64 {
        self.version
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expanded {
    Single(Option<Box<Record>>),
    Collection(Vec<Record>),
}

/// Rows limited to those related to one record (`/accounts(id)/nav`).
#[derive(Debug, Clone)]
pub enum Restriction {
    /// The primary key equals this id.
    Id(Uuid),
    /// The primary key is one of these ids.
    Ids(Vec<Uuid>),
    /// A lookup column points at this id.
    Lookup { attribute: String, id: Uuid },
    /// Linked to this id through an intersect table.
    Linked { table: String, self_column: String, other_column: String, id: Uuid },
}

pub struct Page {
    pub records: Vec<Record>,
    pub count: Option<i64>,
    /// Cookie for the next page, when there is one.
    pub skiptoken: Option<String>,
}

/// Renders the row-level restrictions for `entity` under `alias`: the
/// activity type discriminator and the caller's read scope. Always renders
/// a predicate (`1=1` at least).
pub fn scope_predicate(ctx: &Ctx<'_>, entity: &Entity, alias: &str, b: &mut SqlBuilder) {
    b.push("(");
    let mut wrote = false;
    if let Some(d) = &entity.discriminator {
        b.column(alias, "activitytypecode").push(" = ");
        b.param(Param::text(d.clone()));
        wrote = true;
    }
    match (ctx.scope)(entity) {
        Scope::All => {}
        Scope::Nothing => {
            if wrote {
                b.push(" AND ");
            }
            b.push("1=0");
            wrote = true;
        }
        Scope::Owned { owners, business_units, shared } => {
            if wrote {
                b.push(" AND ");
            }
            b.push("(");
            in_list(b, alias, "ownerid", &owners);
            if !business_units.is_empty() {
                b.push(" OR ");
                in_list(b, alias, "owningbusinessunit", &business_units);
            }
            if !shared.is_empty() && !owners.is_empty() {
                // Records shared with the caller or its teams, directly or
                // inherited from a shared parent.
                b.push(" OR ").column(alias, entity.primary_id()).push(" IN (");
                push_shared_ids(b, &owners, shared);
                b.push(")");
            }
            b.push(")");
            wrote = true;
        }
    }
    // Unowned child records (activity parties) are visible with their parent.
    if let Some((attr, parent)) = parent_of(ctx, entity) {
        if (ctx.scope)(parent) != Scope::All {
            if wrote {
                b.push(" AND ");
            }
            let p = ctx.alias();
            b.push("EXISTS (SELECT 1 FROM ").ident(parent.table()).push(" ").ident(&p).push(" WHERE ");
            b.column(&p, parent.primary_id()).push(" = ").column(alias, &attr.name).push(" AND ");
            scope_predicate(ctx, parent, &p, b);
            b.push(")");
            wrote = true;
        }
    }
    if !wrote {
        b.push("1=1");
    }
    b.push(")");
}

/// For an unowned, non-intersect entity: the lookup to the record it
/// belongs to (every target deletes it in cascade), and that record's
/// entity (the activity base for activity parties).
fn parent_of<'s>(ctx: &Ctx<'s>, entity: &Entity) -> Option<(&'s AttributeDef, &'s Entity)> {
    parent_lookup(ctx.schema, entity)
}

/// The parent of records without an owner of their own (activity parties,
/// product lines, price list items): the first lookup whose targets all
/// delete it in cascade. Such records are read — and written — through it.
pub fn parent_lookup<'s>(
    schema: &'s relata_metadata::Schema,
    entity: &Entity,
) -> Option<(&'s AttributeDef, &'s Entity)> {
    if entity.def.ownership != relata_metadata::Ownership::None || entity.def.is_intersect {
        return None;
    }
    let schema_entity = schema.entity(entity.name())?;
    let attr = schema_entity.attributes().iter().find(|a| {
        a.kind.is_lookup()
            && !a.targets.is_empty()
            && a.targets.iter().all(|t| t.delete == relata_metadata::CascadeDelete::Cascade)
    })?;
    let first = schema.entity(&attr.targets[0].entity)?;
    let parent = if first.def.is_activity { schema.entity("activitypointer")? } else { first };
    Some((attr, parent))
}

/// `SELECT objectid …`: records shared with `principals` (directly or
/// inherited from a shared parent) with the `right` bit.
fn push_shared_ids(b: &mut SqlBuilder, principals: &[Uuid], right: relata_security::AccessRights) {
    b.push("SELECT objectid FROM principalobjectaccess WHERE principalid IN (");
    for (i, id) in principals.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.param(Param::uuid(*id));
    }
    b.push(&format!(") AND ((accessrightsmask | inheritedaccessrightsmask) & {}) <> 0", right.0));
}

fn in_list(b: &mut SqlBuilder, alias: &str, column: &str, ids: &[Uuid]) {
    if ids.is_empty() {
        b.push("1=0");
        return;
    }
    b.column(alias, column).push(" IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.param(Param::uuid(*id));
    }
    b.push(")");
}

/// One attribute read from a row: its columns and how to decode them.
#[derive(Clone)]
struct Fetch<'s> {
    attr: &'s AttributeDef,
    /// Returned to the caller (not only needed for paging or expansion).
    visible: bool,
}

fn fetch_list<'s>(entity: &'s Entity, select: Option<&[String]>, extra: &[&str]) -> Result<Vec<Fetch<'s>>, QueryError> {
    let mut out: Vec<Fetch<'s>> = Vec::new();
    let push = |attr: &'s AttributeDef, visible: bool, out: &mut Vec<Fetch<'s>>| {
        if let Some(f) = out.iter_mut().find(|f| f.attr.name == attr.name) {
            f.visible |= visible;
        } else {
            out.push(Fetch { attr, visible });
        }
    };
    match select {
        None => {
            for a in entity.attributes() {
                push(a, true, &mut out);
            }
        }
        Some(names) => {
            for n in names {
                if n == "*" {
                    for a in entity.attributes() {
                        push(a, true, &mut out);
                    }
                    continue;
                }
                let attr = entity.attribute_for_property(n).or_else(|| entity.attribute(n)).ok_or_else(|| {
                    QueryError::Invalid(format!(
                        "Could not find a property named '{n}' on type 'Microsoft.Dynamics.CRM.{}'",
                        entity.name()
                    ))
                })?;
                push(attr, true, &mut out);
            }
        }
    }
    for n in [entity.primary_id(), "versionnumber"].into_iter().chain(extra.iter().copied()) {
        if let Some(a) = entity.attribute(n) {
            push(a, select.is_none() || n == entity.primary_id(), &mut out);
        }
    }
    Ok(out)
}

fn push_columns(
    ctx: &Ctx<'_>,
    entity: &Entity,
    b: &mut SqlBuilder,
    alias: &str,
    fetch: &[Fetch<'_>],
    storages: &mut Vec<Storage>,
) {
    for (i, f) in fetch.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        let masked = ctx.masked(entity, f.attr);
        if masked {
            b.push(&null_of(ctx.backend, f.attr));
        } else {
            b.column(alias, &f.attr.name);
        }
        storages.push(Storage::of(f.attr));
        if f.attr.is_polymorphic() {
            if masked {
                b.push(", NULL");
            } else {
                b.push(", ").column(alias, &f.attr.type_column());
            }
            storages.push(Storage::Text);
        }
    }
}

/// Values fetched for paging or expansion but not asked for by the caller.
type Hidden = Vec<(String, Value)>;

/// A fetched value, visible or hidden.
fn fetched<'a>(rec: &'a Record, hidden: &'a Hidden, name: &str) -> Option<&'a Value> {
    rec.get(name).or_else(|| hidden.iter().find(|(n, _)| n == name).map(|(_, v)| v))
}

/// Decodes one row into a record and the hidden values beside it.
fn decode_row(entity: &Entity, fetch: &[Fetch<'_>], row: Vec<Value>) -> (Record, Hidden) {
    let mut it = row.into_iter();
    let mut values = Vec::with_capacity(fetch.len());
    let mut hidden = Vec::new();
    let mut id = Uuid::nil();
    let mut version = 0;
    for f in fetch {
        let raw = it.next().unwrap_or(Value::Null);
        let v = if f.attr.kind.is_lookup() {
            let ty = if f.attr.is_polymorphic() { it.next().unwrap_or(Value::Null) } else { Value::Null };
            match raw {
                Value::Uuid(u) => {
                    let target = match ty {
                        Value::String(t) => t,
                        _ => f.attr.targets.first().map(|t| t.entity.clone()).unwrap_or_default(),
                    };
                    Value::Ref(EntityRef { entity: target, id: u })
                }
                _ => Value::Null,
            }
        } else {
            raw
        };
        if f.attr.name == entity.primary_id() {
            id = v.as_uuid().unwrap_or_default();
        } else if f.attr.name == "versionnumber" {
            version = v.as_i64().unwrap_or(0);
        }
        if f.visible {
            values.push((f.attr.name.clone(), v));
        } else {
            hidden.push((f.attr.name.clone(), v));
        }
    }
    (Record { entity: entity.name().to_string(), id, version, values, expanded: vec![] }, hidden)
}

/// The page a read asks for: its order, where it resumes, its size.
struct PageBound<'a, 's> {
    keys: &'a [SortKey<'s>],
    keyset: Option<&'a [Value]>,
    limit: usize,
}

struct SortKey<'s> {
    attr: &'s AttributeDef,
    descending: bool,
    /// A secured column the caller may not read sorts as NULL.
    masked: bool,
}

fn sort_keys<'s>(ctx: &Ctx<'s>, entity: &'s Entity, opts: &QueryOptions) -> Result<Vec<SortKey<'s>>, QueryError> {
    let mut keys = Vec::new();
    for o in &opts.orderby {
        if o.path.len() != 1 {
            return Err(QueryError::Invalid(format!(
                "$orderby on a related record's property ('{}') is not supported",
                o.path.join("/")
            )));
        }
        let attr = ctx.property(entity, &o.path[0])?;
        if matches!(attr.kind, AttrKind::File | AttrKind::MultiSelectPicklist | AttrKind::Memo) {
            return Err(QueryError::Invalid(format!("cannot sort on '{}'", attr.name)));
        }
        // A column sorted on again cannot change the order the first
        // mention set: dropped, so the database never sees a repeat.
        if keys.iter().any(|k: &SortKey<'_>| k.attr.name == attr.name) {
            continue;
        }
        keys.push(SortKey { attr, descending: o.descending, masked: ctx.masked(entity, attr) });
        if keys.len() > MAX_SORT_KEYS {
            return Err(QueryError::Invalid(format!(
                "the query sorts on more than {MAX_SORT_KEYS} columns; sort on at most {MAX_SORT_KEYS}"
            )));
        }
    }
    let pk = entity.attribute(entity.primary_id()).expect("primary id attribute");
    if !keys.iter().any(|k| k.attr.name == pk.name) {
        keys.push(SortKey { attr: pk, descending: false, masked: false });
    }
    Ok(keys)
}

/// A sort key as SQL: text sorts case-insensitively on PostgreSQL (as
/// SQLite's NOCASE columns and Dataverse do), through the indexed
/// `lower(column) COLLATE "C"`.
fn push_key(b: &mut SqlBuilder, alias: &str, key: &SortKey<'_>) {
    let attr = key.attr;
    if key.masked {
        let null = null_of(b.backend, attr);
        b.push(&null);
    } else if b.is_pg() && Storage::of(attr) == Storage::Text {
        b.push("(lower(").column(alias, &attr.name).push(") COLLATE \"C\")");
    } else {
        b.column(alias, &attr.name);
    }
}

/// A keyset value in the same form as [`push_key`].
fn push_key_value(b: &mut SqlBuilder, attr: &AttributeDef, v: &Value) {
    if b.is_pg() && Storage::of(attr) == Storage::Text {
        b.push("(lower(");
        b.param(Param::new(v.clone(), Storage::Text));
        b.push(") COLLATE \"C\")");
    } else {
        b.param(Param::new(v.clone(), Storage::of(attr)));
    }
}

fn push_order(b: &mut SqlBuilder, alias: &str, keys: &[SortKey<'_>]) {
    b.push(" ORDER BY ");
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        push_key(b, alias, k);
        b.push(if k.descending { " DESC NULLS LAST" } else { " ASC NULLS FIRST" });
    }
}

fn encode_token(values: &[Value]) -> String {
    let json: Vec<serde_json::Value> = values
        .iter()
        .map(|v| match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Decimal(d) => serde_json::Value::String(d.to_string()),
            Value::Double(f) => serde_json::Value::String(f.to_string()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Uuid(u) => serde_json::Value::String(u.to_string()),
            Value::Ref(r) => serde_json::Value::String(r.id.to_string()),
            Value::DateTime(d) => serde_json::Value::from(d.timestamp_micros()),
            Value::Options(_) | Value::Bytes(_) => serde_json::Value::Null,
        })
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap_or_default())
}

fn decode_token(token: &str, keys: &[SortKey<'_>]) -> Result<Vec<Value>, QueryError> {
    let bad = || QueryError::Invalid("the $skiptoken is not valid for this query".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| bad())?;
    let json: Vec<serde_json::Value> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if json.len() != keys.len() {
        return Err(bad());
    }
    json.into_iter()
        .zip(keys)
        .map(|(j, k)| {
            if j.is_null() {
                return Ok(Value::Null);
            }
            let v = match Storage::of(k.attr) {
                Storage::Bool => Value::Bool(j.as_bool().ok_or_else(bad)?),
                Storage::Int | Storage::BigInt => Value::Int(j.as_i64().ok_or_else(bad)?),
                Storage::Decimal(_) => {
                    Value::Decimal(j.as_str().and_then(|s| s.parse::<Decimal>().ok()).ok_or_else(bad)?)
                }
                Storage::Double => Value::Double(j.as_str().and_then(|s| s.parse::<f64>().ok()).ok_or_else(bad)?),
                Storage::Text | Storage::Options => Value::String(j.as_str().ok_or_else(bad)?.to_string()),
                Storage::Uuid => Value::Uuid(j.as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(bad)?),
                Storage::Timestamp => {
                    Value::DateTime(j.as_i64().and_then(DateTime::<Utc>::from_timestamp_micros).ok_or_else(bad)?)
                }
                Storage::Blob => return Err(bad()),
            };
            // A token is client input: a value its column cannot hold is refused here.
            relata_metadata::check_storable(k.attr, &v).map_err(|_| bad())?;
            Ok(v)
        })
        .collect()
}

/// `(k1, k2, …) > (v1, v2, …)` in the sort's directions, NULLs first when
/// ascending and last when descending.
fn push_keyset(b: &mut SqlBuilder, alias: &str, keys: &[SortKey<'_>], values: &[Value]) {
    if keys.iter().all(|k| !k.descending) && values.iter().all(|v| !v.is_null()) {
        // One row-value comparison: both databases can seek an index with it.
        b.push("(");
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            push_key(b, alias, k);
        }
        b.push(") > (");
        for (i, (k, v)) in keys.iter().zip(values).enumerate() {
            if i > 0 {
                b.push(", ");
            }
            push_key_value(b, k.attr, v);
        }
        b.push(")");
        return;
    }
    b.push("(");
    for i in 0..keys.len() {
        if i > 0 {
            b.push(" OR ");
        }
        b.push("(");
        for j in 0..i {
            let (k, v) = (&keys[j], &values[j]);
            push_key(b, alias, k);
            if v.is_null() {
                b.push(" IS NULL");
            } else {
                b.push(" = ");
                push_key_value(b, k.attr, v);
            }
            b.push(" AND ");
        }
        let (k, v) = (&keys[i], &values[i]);
        match (k.descending, v.is_null()) {
            (false, true) => {
                push_key(b, alias, k);
                b.push(" IS NOT NULL");
            }
            (false, false) => {
                push_key(b, alias, k);
                b.push(" > ");
                push_key_value(b, k.attr, v);
            }
            (true, true) => {
                b.push("1=0");
            }
            (true, false) => {
                b.push("(");
                push_key(b, alias, k);
                b.push(" < ");
                push_key_value(b, k.attr, v);
                b.push(" OR ");
                push_key(b, alias, k);
                b.push(" IS NULL)");
            }
        }
        b.push(")");
    }
    b.push(")");
}

impl<'s> Ctx<'s> {
    fn where_clause(
        &self,
        b: &mut SqlBuilder,
        entity: &'s Entity,
        alias: &str,
        opts: &QueryOptions,
        restriction: Option<&Restriction>,
    ) -> Result<(), QueryError> {
        b.push(" WHERE ");
        scope_predicate(self, entity, alias, b);
        match restriction {
            None => {}
            Some(Restriction::Id(id)) => {
                b.push(" AND ").column(alias, entity.primary_id()).push(" = ");
                b.param(Param::uuid(*id));
            }
            Some(Restriction::Ids(ids)) => {
                b.push(" AND ").column(alias, entity.primary_id()).push(" IN (");
                if ids.is_empty() {
                    b.push("NULL");
                }
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    b.param(Param::uuid(*id));
                }
                b.push(")");
            }
            Some(Restriction::Lookup { attribute, id }) => {
                b.push(" AND ").column(alias, attribute).push(" = ");
                b.param(Param::uuid(*id));
            }
            Some(Restriction::Linked { table, self_column, other_column, id }) => {
                let link = self.alias();
                b.push(" AND EXISTS (SELECT 1 FROM ").ident(table).push(" ").ident(&link).push(" WHERE ");
                b.column(&link, self_column).push(" = ");
                b.param(Param::uuid(*id));
                b.push(" AND ").column(&link, other_column).push(" = ").column(alias, entity.primary_id()).push(")");
            }
        }
        if let Some(f) = &opts.filter {
            b.push(" AND (");
            let frame = Frame { entity, alias: alias.to_string(), vars: vec![] };
            self.predicate(&frame, f, b, 0)?;
            b.push(")");
        }
        Ok(())
    }

    /// ` FROM … WHERE …` of a top-level read. A caller whose scope is its
    /// own records (User depth: owned by it or its teams, or shared with
    /// them) sees few rows however large the table, so the read starts from
    /// those ids rather than scanning an index of the sort key and
    /// discarding most rows; the scope predicate stays in the WHERE clause
    /// all the same. With `page`, only the first page of the owned rows (in
    /// the read's order, past its keyset) is taken: the page cannot hold
    /// others, and a caller owning very many records still reads one page.
    fn push_from_where(
        &self,
        b: &mut SqlBuilder,
        entity: &'s Entity,
        alias: &str,
        opts: &QueryOptions,
        restriction: Option<&Restriction>,
        page: Option<PageBound<'_, 's>>,
    ) -> Result<(), QueryError> {
        let own = match (restriction, (self.scope)(entity)) {
            (None, Scope::Owned { owners, business_units, shared })
                if business_units.is_empty() && !owners.is_empty() =>
            {
                Some((owners, shared))
            }
            _ => None,
        };
        b.push(" FROM ");
        if let Some((owners, shared)) = &own {
            // The caller's filter applies to owned rows here already, so an
            // (ownerid, column) index can serve both.
            let inner = self.alias();
            b.push("(SELECT id FROM (SELECT ").column(&inner, entity.primary_id()).push(" AS id FROM ");
            b.ident(entity.table()).push(" ").ident(&inner).push(" WHERE ");
            in_list(b, &inner, "ownerid", owners);
            if let Some(d) = &entity.discriminator {
                b.push(" AND ").column(&inner, "activitytypecode").push(" = ");
                b.param(Param::text(d.clone()));
            }
            if let Some(f) = &opts.filter {
                b.push(" AND (");
                let frame = Frame { entity, alias: inner.clone(), vars: vec![] };
                self.predicate(&frame, f, b, 0)?;
                b.push(")");
            }
            if let Some(PageBound { keys, keyset, limit }) = page {
                if let Some(values) = keyset {
                    b.push(" AND ");
                    push_keyset(b, &inner, keys, values);
                }
                push_order(b, &inner, keys);
                b.push(&format!(" LIMIT {limit}"));
            }
            b.push(") owned");
            if !shared.is_empty() {
                b.push(" UNION ");
                push_shared_ids(b, owners, *shared);
            }
            // CROSS JOIN keeps SQLite from reordering the join.
            b.push(") scope_ids CROSS JOIN ");
        }
        b.ident(entity.table()).push(" ").ident(alias);
        self.where_clause(b, entity, alias, opts, restriction)?;
        if own.is_some() {
            b.push(" AND ").column(alias, entity.primary_id()).push(" = scope_ids.id");
        }
        Ok(())
    }

    /// Reads one page of `entity`.
    pub fn query(
        &self,
        tx: &mut Tx<'_>,
        entity: &'s Entity,
        opts: &QueryOptions,
        page_size: Option<usize>,
        restriction: Option<&Restriction>,
    ) -> Result<Page, QueryError> {
        if opts.skip.is_some() {
            return Err(QueryError::Invalid("The query parameter $skip is not supported".into()));
        }
        if !opts.apply.is_empty() {
            return Err(QueryError::Invalid("use apply() for $apply queries".into()));
        }
        let keys = sort_keys(self, entity, opts)?;
        let key_names: Vec<&str> = keys.iter().map(|k| k.attr.name.as_str()).collect();
        let expand_cols = expand_columns(entity, &opts.expand)?;
        let mut extra: Vec<&str> = key_names.clone();
        extra.extend(expand_cols.iter().map(String::as_str));
        let fetch = fetch_list(entity, opts.select.as_deref(), &extra)?;
        let alias = "t0";
        let mut b = SqlBuilder::new(self.backend);
        let mut storages = Vec::new();
        let page = page_size.unwrap_or(MAX_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let limit = match opts.top {
            Some(top) => (top as usize).min(page),
            None => page + 1,
        };
        let keyset = opts.skiptoken.as_ref().map(|t| decode_token(t, &keys)).transpose()?;
        b.push("SELECT ");
        push_columns(self, entity, &mut b, alias, &fetch, &mut storages);
        self.push_from_where(
            &mut b,
            entity,
            alias,
            opts,
            restriction,
            Some(PageBound { keys: &keys, keyset: keyset.as_deref(), limit }),
        )?;
        let count_sql = if opts.count {
            let mut c = SqlBuilder::new(self.backend);
            c.push("SELECT COUNT(*)");
            self.push_from_where(&mut c, entity, alias, opts, restriction, None)?;
            Some(c)
        } else {
            None
        };
        if let Some(values) = &keyset {
            b.push(" AND ");
            push_keyset(&mut b, alias, &keys, values);
        }
        push_order(&mut b, alias, &keys);
        b.push(&format!(" LIMIT {limit}"));
        if self.for_update && self.backend == Backend::Postgres {
            b.push(" FOR UPDATE");
        }
        let rows = tx.query(&b.sql, &b.params, &storages)?;
        let mut records = Vec::with_capacity(rows.len());
        let mut hidden = Vec::with_capacity(rows.len());
        for row in rows {
            let (r, h) = decode_row(entity, &fetch, row);
            records.push(r);
            hidden.push(h);
        }
        let mut skiptoken = None;
        if opts.top.is_none() && records.len() > page {
            records.truncate(page);
            let (last, last_hidden) = (&records[page - 1], &hidden[page - 1]);
            let values: Vec<Value> =
                keys.iter().map(|k| fetched(last, last_hidden, &k.attr.name).cloned().unwrap_or(Value::Null)).collect();
            skiptoken = Some(encode_token(&values));
        }
        hidden.truncate(records.len());
        self.expand(tx, entity, &opts.expand, &mut records, &hidden)?;
        let count = match count_sql {
            Some(c) => {
                Some(tx.query(&c.sql, &c.params, &[Storage::BigInt])?.first().and_then(|r| r[0].as_i64()).unwrap_or(0))
            }
            None => None,
        };
        Ok(Page { records, count, skiptoken })
    }

    /// Counts the records a query would return.
    pub fn count(
        &self,
        tx: &mut Tx<'_>,
        entity: &'s Entity,
        opts: &QueryOptions,
        restriction: Option<&Restriction>,
    ) -> Result<i64, QueryError> {
        let alias = "t0";
        let mut c = SqlBuilder::new(self.backend);
        c.push("SELECT COUNT(*)");
        self.push_from_where(&mut c, entity, alias, opts, restriction, None)?;
        Ok(tx.query(&c.sql, &c.params, &[Storage::BigInt])?.first().and_then(|r| r[0].as_i64()).unwrap_or(0))
    }

    fn expand(
        &self,
        tx: &mut Tx<'_>,
        entity: &'s Entity,
        items: &[ExpandItem],
        records: &mut [Record],
        hidden: &[Hidden],
    ) -> Result<(), QueryError> {
        for item in items {
            let nav = entity.nav(&item.nav).ok_or_else(|| {
                QueryError::Invalid(format!("'{}' is not a navigation property of '{}'", item.nav, entity.name()))
            })?;
            match nav {
                Nav::Single { attribute, target, .. } => {
                    let target_entity = self.entity(target)?;
                    let ids: Vec<Uuid> = records
                        .iter()
                        .zip(hidden)
                        .filter_map(|(r, h)| fetched(r, h, attribute).and_then(Value::as_ref_value))
                        .filter(|r| &r.entity == target)
                        .map(|r| r.id)
                        .collect();
                    let related = self.fetch_by_ids(tx, target_entity, &item.options, &ids)?;
                    for (rec, h) in records.iter_mut().zip(hidden) {
                        let found = fetched(rec, h, attribute)
                            .and_then(Value::as_ref_value)
                            .filter(|r| &r.entity == target)
                            .and_then(|r| related.get(&r.id))
                            .cloned()
                            .map(Box::new);
                        rec.expanded.push((item.nav.clone(), Expanded::Single(found)));
                    }
                }
                Nav::Collection { entity: child, attribute, .. } => {
                    let child_entity = self.entity(child)?;
                    let parent_ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
                    let mut grouped = self.fetch_children(
                        tx,
                        child_entity,
                        &item.options,
                        &parent_ids,
                        ChildLink::Lookup(attribute),
                    )?;
                    for rec in records.iter_mut() {
                        let rows = grouped.remove(&rec.id).unwrap_or_default();
                        rec.expanded.push((item.nav.clone(), Expanded::Collection(rows)));
                    }
                }
                Nav::ManyToMany { entity: other, table, self_column, other_column, .. } => {
                    let other_entity = self.entity(other)?;
                    let parent_ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
                    let mut grouped = self.fetch_children(
                        tx,
                        other_entity,
                        &item.options,
                        &parent_ids,
                        ChildLink::Intersect { table, self_column, other_column },
                    )?;
                    for rec in records.iter_mut() {
                        let rows = grouped.remove(&rec.id).unwrap_or_default();
                        rec.expanded.push((item.nav.clone(), Expanded::Collection(rows)));
                    }
                }
            }
        }
        Ok(())
    }

    fn fetch_by_ids(
        &self,
        tx: &mut Tx<'_>,
        entity: &'s Entity,
        opts: &QueryOptions,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Record>, QueryError> {
        let mut out = HashMap::new();
        let mut ids: Vec<Uuid> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(out);
        }
        let expand_cols = expand_columns(entity, &opts.expand)?;
        let extra: Vec<&str> = expand_cols.iter().map(String::as_str).collect();
        let fetch = fetch_list(entity, opts.select.as_deref(), &extra)?;
        for chunk in ids.chunks(1000) {
            let alias = self.alias();
            let mut b = SqlBuilder::new(self.backend);
            let mut storages = Vec::new();
            b.push("SELECT ");
            push_columns(self, entity, &mut b, &alias, &fetch, &mut storages);
            b.push(" FROM ").ident(entity.table()).push(" ").ident(&alias).push(" WHERE ");
            scope_predicate(self, entity, &alias, &mut b);
            b.push(" AND ");
            in_list(&mut b, &alias, entity.primary_id(), chunk);
            let rows = tx.query(&b.sql, &b.params, &storages)?;
            let mut records = Vec::new();
            let mut hidden = Vec::new();
            for row in rows {
                let (r, h) = decode_row(entity, &fetch, row);
                records.push(r);
                hidden.push(h);
            }
            self.expand(tx, entity, &opts.expand, &mut records, &hidden)?;
            for r in records {
                out.insert(r.id, r);
            }
        }
        Ok(out)
    }

    fn fetch_children(
        &self,
        tx: &mut Tx<'_>,
        entity: &'s Entity,
        opts: &QueryOptions,
        parent_ids: &[Uuid],
        link: ChildLink<'_>,
    ) -> Result<HashMap<Uuid, Vec<Record>>, QueryError> {
        let mut out: HashMap<Uuid, Vec<Record>> = HashMap::new();
        if parent_ids.is_empty() {
            return Ok(out);
        }
        let keys = sort_keys(self, entity, opts)?;
        let expand_cols = expand_columns(entity, &opts.expand)?;
        let extra: Vec<&str> = expand_cols.iter().map(String::as_str).collect();
        let fetch = fetch_list(entity, opts.select.as_deref(), &extra)?;
        let limit = opts.top.map(|t| (t as usize).min(MAX_EXPAND_ROWS)).unwrap_or(MAX_EXPAND_ROWS);
        let mut fetched_total = 0usize;
        for chunk in parent_ids.chunks(1000) {
            let alias = self.alias();
            let mut b = SqlBuilder::new(self.backend);
            let mut storages = vec![Storage::Uuid];
            b.push("SELECT * FROM (SELECT ");
            let parent_col = match &link {
                ChildLink::Lookup(attr) => format!("\"{alias}\".\"{attr}\""),
                ChildLink::Intersect { self_column, .. } => format!("\"lnk\".\"{self_column}\""),
            };
            b.push(&parent_col).push(" AS parent_id, ");
            push_columns(self, entity, &mut b, &alias, &fetch, &mut storages);
            b.push(", ROW_NUMBER() OVER (PARTITION BY ").push(&parent_col);
            let mut order = SqlBuilder::new(self.backend);
            push_order(&mut order, &alias, &keys);
            b.push(&order.sql).push(") AS rn FROM ").ident(entity.table()).push(" ").ident(&alias);
            if let ChildLink::Intersect { table, other_column, .. } = &link {
                b.push(" JOIN ").ident(table).push(" \"lnk\" ON ").column("lnk", other_column).push(" = ");
                b.column(&alias, entity.primary_id());
            }
            let mut nested = opts.clone();
            nested.expand.clear();
            self.where_clause(&mut b, entity, &alias, &nested, None)?;
            b.push(" AND ").push(&parent_col).push(" IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                b.param(Param::uuid(*id));
            }
            b.push(&format!(")) ranked WHERE rn <= {limit} ORDER BY parent_id, rn"));
            storages.push(Storage::BigInt);
            let rows = tx.query(&b.sql, &b.params, &storages)?;
            fetched_total += rows.len();
            if fetched_total > MAX_EXPANDED_TOTAL {
                return Err(QueryError::Invalid(format!(
                    "$expand of '{}' returns more than {MAX_EXPANDED_TOTAL} related records; narrow it with $top or $filter",
                    entity.name()
                )));
            }
            let mut records = Vec::new();
            let mut hidden = Vec::new();
            let mut parents = Vec::new();
            for mut row in rows {
                row.pop();
                let parent = row.remove(0).as_uuid().unwrap_or_default();
                let (r, h) = decode_row(entity, &fetch, row);
                records.push(r);
                hidden.push(h);
                parents.push(parent);
            }
            self.expand(tx, entity, &opts.expand, &mut records, &hidden)?;
            for (p, r) in parents.into_iter().zip(records) {
                out.entry(p).or_default().push(r);
            }
        }
        Ok(out)
    }

    /// Runs an `$apply` aggregation and returns one map per result row,
    /// keyed by property name or alias.
    pub fn apply(
        &self,
        tx: &mut Tx<'_>,
        entity: &'s Entity,
        opts: &QueryOptions,
    ) -> Result<Vec<Vec<(String, Value)>>, QueryError> {
        let mut filtered = opts.clone();
        let mut group: Option<(&Vec<Vec<String>>, &Vec<crate::ast::Aggregate>)> = None;
        let empty: Vec<Vec<String>> = Vec::new();
        for t in &opts.apply {
            if group.is_some() {
                return Err(QueryError::Invalid("$apply: nothing may follow groupby() or aggregate()".into()));
            }
            match t {
                Transformation::Filter(e) => {
                    filtered.filter = Some(match filtered.filter.take() {
                        None => e.clone(),
                        Some(prev) => crate::ast::Expr::Binary {
                            op: crate::ast::BinOp::And,
                            left: Box::new(prev),
                            right: Box::new(e.clone()),
                        },
                    });
                }
                Transformation::GroupBy { paths, aggregates } => group = Some((paths, aggregates)),
                Transformation::Aggregate(a) => group = Some((&empty, a)),
            }
        }
        let Some((paths, aggregates)) = group else {
            return Err(QueryError::Invalid("$apply needs groupby() or aggregate()".into()));
        };
        let alias = "t0";
        let mut b = SqlBuilder::new(self.backend);
        let mut storages = Vec::new();
        let mut outputs: Vec<(String, OutKind)> = Vec::new();
        b.push("SELECT ");
        let mut group_cols = Vec::new();
        let mut first = true;
        let mut sep = |b: &mut SqlBuilder| {
            if !first {
                b.push(", ");
            }
            first = false;
        };
        for p in paths {
            if p.len() != 1 {
                return Err(QueryError::Invalid("$apply: groupby on related records is not supported".into()));
            }
            let attr = self.property(entity, &p[0])?;
            sep(&mut b);
            let col = self.column_sql(entity, alias, attr);
            b.push(&col);
            storages.push(Storage::of(attr));
            group_cols.push(col);
            outputs.push((p[0].clone(), OutKind::Group(attr)));
        }
        for a in aggregates {
            sep(&mut b);
            if a.method == AggregateMethod::Count {
                b.push("COUNT(*)");
                storages.push(Storage::BigInt);
                outputs.push((a.alias.clone(), OutKind::Plain));
                continue;
            }
            if a.path.len() != 1 {
                return Err(QueryError::Invalid("$apply: aggregates on related records are not supported".into()));
            }
            let attr = self.property(entity, &a.path[0])?;
            let col = self.column_sql(entity, alias, attr);
            let numeric =
                matches!(Storage::of(attr), Storage::Int | Storage::BigInt | Storage::Decimal(_) | Storage::Double);
            match a.method {
                AggregateMethod::Sum | AggregateMethod::Average if !numeric => {
                    return Err(QueryError::Invalid(format!("cannot sum or average '{}'", attr.name)));
                }
                AggregateMethod::Sum => {
                    b.push(&format!("SUM({col})"));
                    storages.push(Storage::of(attr));
                    outputs.push((a.alias.clone(), OutKind::Plain));
                }
                AggregateMethod::Average => {
                    b.push(&format!("SUM({col}), COUNT({col})"));
                    storages.push(Storage::of(attr));
                    storages.push(Storage::BigInt);
                    outputs.push((a.alias.clone(), OutKind::Average(attr)));
                }
                AggregateMethod::Min | AggregateMethod::Max
                    if matches!(Storage::of(attr), Storage::Uuid | Storage::Bool) =>
                {
                    // PostgreSQL has no MIN or MAX of uuid or boolean, and neither is meaningful.
                    return Err(QueryError::Invalid(format!(
                        "min and max take numbers, dates, money or text; '{}' is a {}",
                        attr.name,
                        if Storage::of(attr) == Storage::Uuid { "GUID or lookup" } else { "yes/no column" }
                    )));
                }
                AggregateMethod::Min | AggregateMethod::Max => {
                    let f = if a.method == AggregateMethod::Min { "MIN" } else { "MAX" };
                    b.push(&format!("{f}({col})"));
                    storages.push(Storage::of(attr));
                    outputs.push((a.alias.clone(), OutKind::Group(attr)));
                }
                AggregateMethod::CountDistinct => {
                    b.push(&format!("COUNT(DISTINCT {col})"));
                    storages.push(Storage::BigInt);
                    outputs.push((a.alias.clone(), OutKind::Plain));
                }
                AggregateMethod::Count => unreachable!("handled above"),
            }
        }
        if outputs.is_empty() {
            return Err(QueryError::Invalid("$apply: nothing to group or aggregate".into()));
        }
        b.push(" FROM ").ident(entity.table()).push(" ").ident(alias);
        filtered.apply.clear();
        self.where_clause(&mut b, entity, alias, &filtered, None)?;
        if !group_cols.is_empty() {
            b.push(" GROUP BY ").push(&group_cols.join(", "));
            b.push(" ORDER BY ").push(&group_cols.join(", "));
        }
        b.push(" LIMIT 50001");
        let rows = tx.query(&b.sql, &b.params, &storages)?;
        if rows.len() > 50000 {
            return Err(QueryError::Invalid("AggregateQueryRecordLimit exceeded: more than 50000 groups".into()));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut it = row.into_iter();
            let mut values = Vec::new();
            for (name, kind) in &outputs {
                let v = it.next().unwrap_or(Value::Null);
                let v = match kind {
                    OutKind::Plain => v,
                    OutKind::Group(attr) if attr.kind.is_lookup() => match v {
                        Value::Uuid(u) => Value::Uuid(u),
                        other => other,
                    },
                    OutKind::Group(_) => v,
                    OutKind::Average(attr) => {
                        let n = it.next().and_then(|c| c.as_i64()).unwrap_or(0);
                        average(attr, v, n)
                    }
                };
                values.push((name.clone(), v));
            }
            out.push(values);
        }
        Ok(out)
    }

    /// Primary names of referenced records, for lookup display values.
    /// Names are not secured, as in Dataverse: a lookup shows the name of
    /// the record it points at.
    pub fn lookup_names(&self, tx: &mut Tx<'_>, refs: &[&EntityRef]) -> Result<HashMap<Uuid, String>, QueryError> {
        let mut by_entity: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
        for r in refs {
            by_entity.entry(r.entity.as_str()).or_default().push(r.id);
        }
        let mut out = HashMap::new();
        for (name, mut ids) in by_entity {
            let Some(entity) = self.schema.entity(name) else { continue };
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(1000) {
                let mut b = SqlBuilder::new(self.backend);
                b.push("SELECT ").ident(entity.primary_id()).push(", ").ident(&entity.def.primary_name);
                b.push(" FROM ").ident(entity.table()).push(" WHERE ").ident(entity.primary_id()).push(" IN (");
                for (i, id) in chunk.iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    b.param(Param::uuid(*id));
                }
                b.push(")");
                for row in tx.query(&b.sql, &b.params, &[Storage::Uuid, Storage::Text])? {
                    if let (Some(id), Value::String(n)) = (row[0].as_uuid(), &row[1]) {
                        out.insert(id, n.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// A column as SQL, or a typed NULL when the caller may not read it.
    pub(crate) fn column_sql(&self, entity: &Entity, alias: &str, attr: &AttributeDef) -> String {
        if self.masked(entity, attr) {
            null_of(self.backend, attr)
        } else {
            format!("\"{alias}\".\"{}\"", attr.name)
        }
    }

    /// A GUID as an SQL literal (for internal predicates only).
    pub fn uuid_literal(&self, u: Uuid) -> String {
        uuid_literal(self.backend, u)
    }
}

enum OutKind<'a> {
    Plain,
    Group(&'a AttributeDef),
    Average(&'a AttributeDef),
}

fn average(attr: &AttributeDef, sum: Value, n: i64) -> Value {
    if n == 0 {
        return Value::Null;
    }
    match (attr.kind, sum) {
        (_, Value::Null) => Value::Null,
        (AttrKind::Double, Value::Double(s)) => Value::Double(s / n as f64),
        (_, Value::Int(s)) if matches!(attr.kind, AttrKind::Integer | AttrKind::BigInt) => Value::Int(s / n),
        (_, v) => match v.as_decimal() {
            Some(d) => {
                Value::Decimal((d / Decimal::from(n)).round_dp(relata_metadata::decimal_scale(attr).max(2)).normalize())
            }
            None => Value::Null,
        },
    }
}

enum ChildLink<'a> {
    Lookup(&'a str),
    Intersect { table: &'a str, self_column: &'a str, other_column: &'a str },
}

/// Lookup columns a parent must fetch so single-valued expansions can find
/// their targets.
fn expand_columns(entity: &Entity, items: &[ExpandItem]) -> Result<Vec<String>, QueryError> {
    let mut out = Vec::new();
    for item in items {
        match entity.nav(&item.nav) {
            Some(Nav::Single { attribute, .. }) => out.push(attribute.clone()),
            Some(_) => {}
            None => {
                return Err(QueryError::Invalid(format!(
                    "'{}' is not a navigation property of '{}'",
                    item.nav,
                    entity.name()
                )))
            }
        }
    }
    Ok(out)
}
