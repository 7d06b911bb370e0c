//! Many records of one entity in one operation: Dataverse's
//! `CreateMultiple` and `UpdateMultiple`. The same pipeline as for one
//! record (validation, steps, privileges, references, versions, audit),
//! stage by stage over the whole batch, so that what the records share is
//! read once and the writes go out a few statements at a time. All or
//! nothing: the first refused record fails the operation.

use std::collections::{BTreeMap, HashMap, HashSet};

use relata_metadata::{Entity, EntityRef, Value};
use relata_query::ast::QueryOptions;
use relata_query::Restriction;
use relata_security::Right;
use relata_store::{Backend, Param, SqlBuilder, Storage};
use uuid::Uuid;

use super::{check_required, check_writable, insert_rows, lookups_in, not_found, update_messages, SECURITY_ENTITIES};
use crate::audit;
use crate::error::{EngineError, Result};
use crate::modules::{Message, Stage, StepContext};
use crate::session::{Fields, RecordInput, Session};

/// Ids per `IN (…)` list when records are read or checked by id.
const IDS_PER_QUERY: usize = 500;

impl Session<'_, '_, '_> {
    /// Creates many records of one entity; returns their ids in order.
    /// Deep inserts, links and the security tables go record by record.
    pub fn create_multiple(&mut self, entity_name: &str, inputs: Vec<RecordInput>) -> Result<Vec<Uuid>> {
        let entity = self.entity(entity_name)?;
        if entity.def.is_intersect || entity.name() == "activitypointer" {
            return Err(EngineError::Invalid(format!("records of '{}' cannot be created directly", entity.name())));
        }
        check_writable(&entity)?;
        if SECURITY_ENTITIES.contains(&entity.name())
            || inputs.iter().any(|i| !i.nested.is_empty() || !i.links.is_empty())
        {
            return inputs.into_iter().map(|i| self.create(entity_name, i)).collect();
        }
        let mut ids = Vec::with_capacity(inputs.len());
        let mut records = Vec::with_capacity(inputs.len());
        let mut seen = HashSet::new();
        for input in inputs {
            let mut fields = self.validate_input(&entity, input.fields, true)?;
            let id = match fields.remove(entity.primary_id()) {
                Some(Value::Uuid(u)) => u,
                Some(Value::Null) | None => Uuid::now_v7(),
                Some(_) => return Err(EngineError::Invalid("the primary key must be a GUID".into())),
            };
            if !seen.insert(id) {
                return Err(EngineError::Invalid(format!("The id {id} is given to two records.")));
            }
            ids.push(id);
            records.push(fields);
        }
        let messages = vec![vec![Message::Create]; ids.len()];
        self.run_steps_many(&messages, Stage::PreValidation, &entity, &ids, &mut records, None)?;
        for fields in records.iter_mut() {
            self.set_owner(&entity, fields)?;
        }
        let mut caller_lookups: Vec<_> = records.iter().map(lookups_in).collect();
        if !self.check_appends_many(&entity, &ids, &records, &caller_lookups)? {
            caller_lookups.iter_mut().for_each(Vec::clear);
        }
        self.check_parent_write_many(&entity, &records)?;
        for fields in records.iter_mut() {
            self.fill_defaults(&entity, fields)?;
        }
        self.run_steps_many(&messages, Stage::PreOperation, &entity, &ids, &mut records, None)?;
        for fields in &records {
            check_required(&entity, fields)?;
        }
        self.check_references_many(records.iter().zip(caller_lookups.iter().map(Vec::as_slice)))?;

        let versions = self.tx.next_row_versions(ids.len())?;
        for ((id, fields), version) in ids.iter().zip(records.iter_mut()).zip(versions) {
            self.stamp_created(&entity, *id, fields, version);
        }
        insert_rows(self.tx, &entity, &records)?;
        let mut trail = audit::Rows::default();
        for (id, fields) in ids.iter().zip(&records) {
            trail.created(self, &entity, *id, fields);
        }
        trail.write(self)?;
        for (id, fields) in ids.iter().zip(&records) {
            self.inherit_on_create(&entity, *id, fields)?;
        }
        self.run_steps_many(&messages, Stage::PostOperation, &entity, &ids, &mut records, None)?;
        Ok(ids)
    }

    /// Updates many records of one entity (columns only). Changes of
    /// owner or of a lookup that passes shares down, and the security
    /// tables, go record by record.
    pub fn update_multiple(&mut self, entity_name: &str, updates: Vec<(Uuid, RecordInput)>) -> Result<()> {
        let entity = self.entity(entity_name)?;
        if entity.def.is_intersect || entity.name() == "activitypointer" {
            return Err(EngineError::Invalid(format!("records of '{}' cannot be updated directly", entity.name())));
        }
        check_writable(&entity)?;
        let mut ids = Vec::with_capacity(updates.len());
        let mut changes = Vec::with_capacity(updates.len());
        let mut seen = HashSet::new();
        for (id, input) in updates {
            if !input.nested.is_empty() || !input.links.is_empty() {
                return Err(EngineError::Invalid(
                    "UpdateMultiple takes columns only; update related records separately".into(),
                ));
            }
            if !seen.insert(id) {
                return Err(EngineError::Invalid(format!("The record {id} is given twice.")));
            }
            let mut fields = input.fields;
            fields.retain(|(n, v)| !(n == entity.primary_id() && v.as_uuid() == Some(id)));
            changes.push(self.validate_input(&entity, fields, false)?);
            ids.push(id);
        }
        let one_by_one = SECURITY_ENTITIES.contains(&entity.name())
            || changes.iter().any(|c| c.contains_key("ownerid") || Session::share_parent_changed(&entity, c));
        if one_by_one {
            for (id, mut c) in ids.into_iter().zip(changes) {
                let existing = self.load(&entity, id)?.ok_or_else(|| not_found(entity.name(), id))?;
                self.update_fields(&entity, id, &existing, &mut c)?;
            }
            return Ok(());
        }
        let existing = self.load_many(&entity, &ids)?;
        let messages: Vec<Vec<Message>> = existing.iter().zip(&changes).map(|(e, c)| update_messages(e, c)).collect();
        self.run_steps_many(&messages, Stage::PreValidation, &entity, &ids, &mut changes, Some(&existing))?;
        for (id, old) in ids.iter().zip(&existing) {
            self.require(&entity, Right::Write, old, *id)?;
        }
        self.check_parent_write_many(&entity, &existing)?;
        let mut caller_lookups: Vec<_> = changes.iter().map(lookups_in).collect();
        if !self.check_appends_many(&entity, &ids, &existing, &caller_lookups)? {
            caller_lookups.iter_mut().for_each(Vec::clear);
        }
        for (old, c) in existing.iter().zip(changes.iter_mut()) {
            let state = old.get("statecode").and_then(Value::as_i64).zip(old.get("statuscode").and_then(Value::as_i64));
            self.resolve_state(&entity, state.or(Some((0, 0))), c)?;
        }
        let messages: Vec<Vec<Message>> = existing.iter().zip(&changes).map(|(e, c)| update_messages(e, c)).collect();
        self.run_steps_many(&messages, Stage::PreOperation, &entity, &ids, &mut changes, Some(&existing))?;
        self.check_references_many(changes.iter().zip(caller_lookups.iter().map(Vec::as_slice)))?;

        // Only records that change are written and see PostOperation.
        let (mut kept_ids, mut kept_changes, mut kept_existing) = (Vec::new(), Vec::new(), Vec::new());
        for ((id, mut c), old) in ids.into_iter().zip(changes).zip(existing) {
            c.retain(|k, v| old.get(k) != Some(v) || k == "statecode");
            if !c.is_empty() {
                kept_ids.push(id);
                kept_changes.push(c);
                kept_existing.push(old);
            }
        }
        let versions = self.tx.next_row_versions(kept_ids.len())?;
        self.write_versions(&entity, &kept_ids, &kept_existing, &kept_changes, &versions)?;
        let mut trail = audit::Rows::default();
        for ((id, c), old) in kept_ids.iter().zip(&kept_changes).zip(&kept_existing) {
            trail.updated(self, &entity, *id, old, c);
        }
        trail.write(self)?;
        let messages: Vec<Vec<Message>> =
            kept_existing.iter().zip(&kept_changes).map(|(e, c)| update_messages(e, c)).collect();
        self.run_steps_many(
            &messages,
            Stage::PostOperation,
            &entity,
            &kept_ids,
            &mut kept_changes,
            Some(&kept_existing),
        )?;
        Ok(())
    }

    /// The UPDATEs of a batch, each guarded by the version read. SQLite
    /// runs in the process, so one statement per record costs little; on
    /// PostgreSQL the records that change the same columns go in one
    /// `UPDATE … FROM (VALUES …)`, a round trip for hundreds of records.
    fn write_versions(
        &mut self,
        entity: &Entity,
        ids: &[Uuid],
        existing: &[Fields],
        changes: &[Fields],
        versions: &[i64],
    ) -> Result<()> {
        if self.tx.backend() == Backend::Sqlite {
            for (((id, old), c), version) in ids.iter().zip(existing).zip(changes).zip(versions) {
                self.write_version(entity, *id, old, c, *version)?;
            }
            return Ok(());
        }
        let written = |c: &Fields| -> Vec<String> {
            c.keys().filter(|k| !matches!(k.as_str(), "modifiedon" | "modifiedby" | "versionnumber")).cloned().collect()
        };
        let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
        for (i, c) in changes.iter().enumerate() {
            groups.entry(written(c)).or_default().push(i);
        }
        for (columns, rows) in groups {
            let mut stored: Vec<(String, Storage, Option<String>)> = Vec::new();
            for name in &columns {
                let attr = entity.attribute(name).expect("validated attribute");
                stored.push((name.clone(), Storage::of(attr), attr.is_polymorphic().then(|| attr.type_column())));
            }
            let per_row = 3 + stored.iter().map(|(_, _, t)| 1 + t.is_some() as usize).sum::<usize>();
            for chunk in rows.chunks((super::MAX_PARAMS / per_row).max(1)) {
                let mut b = SqlBuilder::new(self.tx.backend());
                b.push("UPDATE ").ident(entity.table()).push(" AS t SET ");
                let mut v = 0;
                for (name, _, type_column) in &stored {
                    b.ident(name).push(&format!(" = v.c{v}, "));
                    v += 1;
                    if let Some(t) = type_column {
                        b.ident(t).push(&format!(" = v.c{v}, "));
                        v += 1;
                    }
                }
                self.push_modified(entity, &mut b);
                b.push("versionnumber = v.nv FROM (VALUES ");
                let cast = |b: &mut SqlBuilder, p: Param| {
                    let ty = p.storage.sql_type(Backend::Postgres);
                    b.param(p);
                    b.push("::").push(&ty);
                };
                for (r, &i) in chunk.iter().enumerate() {
                    b.push(if r == 0 { "(" } else { ", (" });
                    cast(&mut b, Param::uuid(ids[i]));
                    b.push(", ");
                    let old = existing[i].get("versionnumber").and_then(Value::as_i64).unwrap_or(0);
                    cast(&mut b, Param::bigint(old));
                    b.push(", ");
                    cast(&mut b, Param::bigint(versions[i]));
                    for (name, storage, type_column) in &stored {
                        let value = changes[i].get(name).cloned().unwrap_or(Value::Null);
                        b.push(", ");
                        if type_column.is_some() {
                            let t =
                                value.as_ref_value().map(|r| Value::String(r.entity.clone())).unwrap_or(Value::Null);
                            cast(&mut b, Param::new(value, *storage));
                            b.push(", ");
                            cast(&mut b, Param::new(t, Storage::Text));
                        } else {
                            cast(&mut b, Param::new(value, *storage));
                        }
                    }
                    b.push(")");
                }
                b.push(") AS v(id, ov, nv");
                for i in 0..v {
                    b.push(&format!(", c{i}"));
                }
                b.push(") WHERE t.").ident(entity.primary_id()).push(" = v.id AND t.versionnumber = v.ov");
                if self.tx.execute(&b.sql, &b.params)? != chunk.len() as u64 {
                    return Err(EngineError::PreconditionFailed(
                        "A record was changed by someone else; read it again.".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Records whose `column` is one of `values`, outside the caller's
    /// scope (the engine's own reads for a batch): a few queries however
    /// many values.
    pub(crate) fn query_system_in(&mut self, entity: &str, column: &str, values: &[String]) -> Result<Vec<Fields>> {
        let mut out = Vec::new();
        let mut values: Vec<&String> = values.iter().collect();
        values.sort();
        values.dedup();
        // Ordered by the column filtered on (then the key), so that the
        // planner reads the column's index for the listed values and sorts
        // what it found, rather than walking the whole table in key order
        // looking for them.
        let order = match self.entity(entity)?.attribute(column) {
            Some(a) if a.kind.is_lookup() => format!("_{column}_value"),
            _ => column.to_string(),
        };
        for chunk in values.chunks(IDS_PER_QUERY) {
            let list: Vec<String> = chunk.iter().map(|v| relata_query::options::string_literal(v)).collect();
            out.extend(self.query_system(
                entity,
                &format!(
                    "$filter=Microsoft.Dynamics.CRM.In(PropertyName='{column}',PropertyValues=[{}])&$orderby={order}",
                    list.join(",")
                ),
            )?);
        }
        Ok(out)
    }

    /// Records by id, outside the caller's scope; absent ids are left out.
    pub(crate) fn read_system_many(&mut self, entity: &str, ids: &[Uuid]) -> Result<HashMap<Uuid, Fields>> {
        let key = self.entity(entity)?.primary_id().to_string();
        let values: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let rows = self.query_system_in(entity, &key, &values)?;
        Ok(rows.into_iter().filter_map(|r| Some((r.get(&key)?.as_uuid()?, r))).collect())
    }

    /// The steps of `stage` over a batch (see [`crate::modules::Pipeline::run_many`]).
    fn run_steps_many(
        &mut self,
        messages: &[Vec<Message>],
        stage: Stage,
        entity: &Entity,
        ids: &[Uuid],
        targets: &mut [Fields],
        pre_images: Option<&[Fields]>,
    ) -> Result<()> {
        let org = self.org;
        let mut ctxs: Vec<StepContext<'_>> = targets
            .iter_mut()
            .enumerate()
            .map(|(i, target)| StepContext {
                message: messages[i][0],
                stage,
                entity,
                id: ids[i],
                pre_image: pre_images.map(|p| &p[i]),
                target,
                related: None,
            })
            .collect();
        org.modules().pipeline().run_many(self, messages, stage, &mut ctxs)
    }

    /// [`Session::load`] of many records, in the order of `ids`; a record
    /// missing or out of reach is the error.
    pub(crate) fn load_many(&mut self, entity: &Entity, ids: &[Uuid]) -> Result<Vec<Fields>> {
        let mut by_id = self.load_found(entity, ids)?;
        ids.iter().map(|id| by_id.remove(id).ok_or_else(|| not_found(entity.name(), *id))).collect()
    }

    /// [`Session::load`] of many records: those found, by id.
    fn load_found(&mut self, entity: &Entity, ids: &[Uuid]) -> Result<HashMap<Uuid, Fields>> {
        self.check_readable(entity)?;
        self.by_ids(entity, ids, &QueryOptions::default(), true)
    }

    /// [`Session::check_appends`] over a batch: Append on each record,
    /// and each target looked up and checked for AppendTo once.
    fn check_appends_many(
        &mut self,
        entity: &Entity,
        ids: &[Uuid],
        records: &[Fields],
        lookups: &[Vec<(String, EntityRef)>],
    ) -> Result<bool> {
        if self.principal.all_privileges {
            return Ok(false);
        }
        let set = |(n, _): &&(String, EntityRef)| n != "ownerid" && n != "owningbusinessunit";
        let mut targets: BTreeMap<String, BTreeMap<Uuid, String>> = BTreeMap::new();
        for ((id, record), lookups) in ids.iter().zip(records).zip(lookups) {
            let mut named = lookups.iter().filter(set).peekable();
            if named.peek().is_some() && entity.has_privileges() {
                self.require(entity, Right::Append, record, *id)?;
            }
            for (name, r) in named {
                targets.entry(r.entity.clone()).or_default().entry(r.id).or_insert_with(|| name.clone());
            }
        }
        for (target_name, wanted) in targets {
            let target = self.entity(&target_name)?;
            let ids: Vec<Uuid> = wanted.keys().copied().collect();
            let visible = self.visible_owners(&target, &ids)?;
            for (id, name) in &wanted {
                let Some(rec) = visible.get(id) else {
                    return Err(EngineError::Invalid(format!(
                        "The record referenced by '{name}' ({target_name} {id}) does not exist."
                    )));
                };
                if target.has_privileges() {
                    self.require(&target, Right::AppendTo, rec, *id)?;
                }
            }
        }
        Ok(true)
    }

    /// Records without an owner of their own (product lines, price list
    /// items, payments) are written through their parent: writing one is
    /// writing the parent, which the caller must see and may write. Each
    /// parent of the batch is read once. Activity parties are written with
    /// their activity.
    pub(super) fn check_parent_write_many(&mut self, entity: &Entity, records: &[Fields]) -> Result<()> {
        if self.principal.all_privileges {
            return Ok(());
        }
        let schema = self.schema.clone();
        let Some((attr, parent)) = relata_query::plan::parent_lookup(&schema, entity) else { return Ok(()) };
        if parent.name() == "activitypointer" {
            return Ok(());
        }
        let mut parents: Vec<Uuid> =
            records.iter().filter_map(|r| r.get(&attr.name).and_then(Value::as_uuid)).collect();
        parents.sort();
        parents.dedup();
        if parents.is_empty() {
            return Ok(());
        }
        let loaded = self.load_found(parent, &parents)?;
        for id in &parents {
            let Some(rec) = loaded.get(id) else {
                return Err(EngineError::Invalid(format!(
                    "The record referenced by '{}' ({} {id}) does not exist.",
                    attr.name,
                    parent.name()
                )));
            };
            self.require(parent, Right::Write, rec, *id)?;
        }
        Ok(())
    }

    /// [`Session::visible_owner`] of many records: those the caller can
    /// see, by id.
    pub(super) fn visible_owners(&mut self, entity: &Entity, ids: &[Uuid]) -> Result<HashMap<Uuid, Fields>> {
        let mut select = vec![entity.primary_id().to_string()];
        if entity.is_owned() {
            select.push("_ownerid_value".into());
            select.push("_owningbusinessunit_value".into());
        }
        self.by_ids(entity, ids, &QueryOptions { select: Some(select), ..Default::default() }, false)
    }

    /// Records of `entity` among `ids` that the caller can see, by id,
    /// read `IDS_PER_QUERY` at a time (locked with `lock`, see
    /// [`Session::with_ctx_locking`]).
    fn by_ids(
        &mut self,
        entity: &Entity,
        ids: &[Uuid],
        opts: &QueryOptions,
        lock: bool,
    ) -> Result<HashMap<Uuid, Fields>> {
        let name = entity.name().to_string();
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let restriction = Restriction::Ids(chunk.to_vec());
            let page = self.with_ctx_locking(lock, |ctx, tx| {
                let ent = ctx.schema.entity(&name).expect("entity exists");
                Ok(ctx.query(tx, ent, opts, Some(chunk.len()), Some(&restriction))?)
            })?;
            for r in page.records {
                let fields: Fields = r.values.into_iter().collect();
                if let Some(id) = fields.get(entity.primary_id()).and_then(Value::as_uuid) {
                    out.insert(id, fields);
                }
            }
        }
        Ok(out)
    }

    /// Lookups must point at records that exist (in the right entity):
    /// one query per target entity for the whole batch. Those the caller
    /// set and [`Session::check_appends`] saw are skipped.
    pub(super) fn check_references_many<'f>(
        &mut self,
        records: impl Iterator<Item = (&'f Fields, &'f [(String, EntityRef)])>,
    ) -> Result<()> {
        // Target entity → id → the first column naming it.
        let mut wanted: BTreeMap<String, BTreeMap<Uuid, String>> = BTreeMap::new();
        for (fields, checked) in records {
            for (name, value) in fields {
                let Value::Ref(r) = value else { continue };
                if checked.iter().any(|(n, c)| n == name && c == r) {
                    continue;
                }
                // Set by the engine itself, or the caller's own user record.
                if name == "owningbusinessunit" || (r.entity == "systemuser" && r.id == self.principal.user_id) {
                    continue;
                }
                wanted.entry(r.entity.clone()).or_default().entry(r.id).or_insert_with(|| name.clone());
            }
        }
        for (entity_name, targets) in wanted {
            let target = self.entity(&entity_name)?;
            let all: Vec<Uuid> = targets.keys().copied().collect();
            let mut found = HashSet::with_capacity(all.len());
            for chunk in all.chunks(IDS_PER_QUERY) {
                let mut b = SqlBuilder::new(self.tx.backend());
                b.push("SELECT ").ident(target.primary_id()).push(" FROM ").ident(target.table());
                b.push(" WHERE ").ident(target.primary_id()).push(" IN (");
                for (i, id) in chunk.iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    b.param(Param::uuid(*id));
                }
                b.push(")");
                if let Some(d) = &target.discriminator {
                    b.push(" AND activitytypecode = ");
                    b.param(Param::text(d.clone()));
                }
                for row in self.tx.query(&b.sql, &b.params, &[Storage::Uuid])? {
                    if let Some(id) = row.first().and_then(Value::as_uuid) {
                        found.insert(id);
                    }
                }
            }
            if let Some((id, name)) = targets.iter().find(|(id, _)| !found.contains(id)) {
                return Err(EngineError::Invalid(format!(
                    "The record referenced by '{name}' ({entity_name} {id}) does not exist."
                )));
            }
        }
        Ok(())
    }
}
