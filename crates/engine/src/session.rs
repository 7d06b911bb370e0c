//! A caller's unit of work: the create / update / delete pipeline and reads,
//! all inside one transaction.
//!
//! Every write takes the same path whatever the entity:
//! validate → pre-operation rules → privilege check → write → nested
//! writes → post-operation rules. Entity-specific behaviour lives in
//! [`crate::rules`], chosen by metadata.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use relata_metadata::{check_value, AttrKind, Entity, EntityRef, Nav, Ownership, RequiredLevel, Schema, Value};
use relata_query::ast::QueryOptions;
use relata_query::{Ctx, Page, Record, Restriction};
use relata_security::{AccessRights, Principal, Right, Scope};
use relata_store::{Param, SqlBuilder, Storage, Tx};
use uuid::Uuid;

use crate::audit;
use crate::error::{EngineError, ErrorMessage, Result};
use crate::modules::{Message, Stage, StepContext};
use crate::org::Org;

mod cascade;
mod multiple;

use cascade::Visited;

/// Attribute values by logical name.
pub type Fields = BTreeMap<String, Value>;

/// What a caller sends to create or update a record.
#[derive(Debug, Clone, Default)]
pub struct RecordInput {
    pub fields: Vec<(String, Value)>,
    /// Deep insert: related records created with this one, by navigation property.
    pub nested: Vec<(String, Nested)>,
    /// Existing records to link through collection-valued navigation
    /// properties (`nav@odata.bind: [urls]`).
    pub links: Vec<(String, Vec<EntityRef>)>,
}

impl RecordInput {
    pub fn new(fields: Vec<(String, Value)>) -> Self {
        RecordInput { fields, nested: vec![], links: vec![] }
    }
}

#[derive(Debug, Clone)]
pub enum Nested {
    Single(RecordInput),
    Collection(Vec<RecordInput>),
}

/// `If-Match` / `If-None-Match` on a write.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Condition {
    /// `If-Match: *` (Some(None)) or `If-Match: W/"v"` (Some(Some(v))).
    pub if_match: Option<Option<i64>>,
    /// `If-None-Match: *`: create only.
    pub if_none_match_any: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created(Uuid),
    Updated(Uuid),
}

/// The entities whose changes alter someone's privileges.
pub(crate) const SECURITY_ENTITIES: &[&str] = &[
    "systemuser",
    "team",
    "role",
    "businessunit",
    "teammembership",
    "systemuserroles",
    "teamroles",
    "roleprivileges",
    "fieldsecurityprofile",
    "fieldpermission",
    "systemuserprofiles",
    "teamprofiles",
];

pub struct Session<'o, 't, 'c> {
    pub org: &'o Org,
    pub tx: &'t mut Tx<'c>,
    pub principal: &'o Principal,
    pub schema: Arc<Schema>,
    pub now: DateTime<Utc>,
    /// A schema changed by this transaction, installed for everyone after commit.
    pub(crate) changed_schema: Option<(Arc<Schema>, i64)>,
    /// The business action running (`WinOpportunity`): state transitions
    /// reserved to an action are allowed only inside it.
    pub(crate) action: Option<&'static str>,
    /// Inside a job's step: that job's depth (0 in a request).
    pub(crate) job_depth: i64,
}

/// A merged view: the change if present, else the stored value.
pub(crate) fn current<'a>(existing: Option<&'a Fields>, changes: &'a Fields, name: &str) -> Option<&'a Value> {
    changes.get(name).or_else(|| existing.and_then(|e| e.get(name)))
}

pub(crate) fn not_found(entity: &str, id: Uuid) -> EngineError {
    EngineError::not_found(ErrorMessage::keyed(
        format!("Entity '{entity}' With Id = {id} Does Not Exist"),
        "record_not_found",
        vec![("entity", entity.to_string()), ("id", id.to_string())],
    ))
}

pub(crate) fn missing_privilege(p: &Principal, entity: &Entity, right: Right) -> EngineError {
    let name = match &entity.def.read_privilege {
        Some(global) => global.clone(),
        None => relata_security::privilege_name(right, entity),
    };
    let held = p.depth(entity, right) > relata_security::Depth::None || entity.def.read_privilege.is_some();
    let params = vec![("privilege", name.clone()), ("entity", entity.name().to_string())];
    if held && entity.def.read_privilege.is_none() {
        return EngineError::forbidden(ErrorMessage::keyed(
            format!(
                "Principal user (Id={}) has {name} privilege, but not at a depth that reaches this '{}' record.",
                p.user_id,
                entity.name()
            ),
            "privilege_depth",
            params,
        ));
    }
    EngineError::forbidden(ErrorMessage::keyed(
        format!("Principal user (Id={}) is missing {name} privilege on entity '{}'", p.user_id, entity.name()),
        "missing_privilege",
        params,
    ))
}

pub(crate) fn missing_global(p: &Principal, privilege: &str) -> EngineError {
    EngineError::forbidden(ErrorMessage::keyed(
        format!("Principal user (Id={}) is missing {privilege} privilege", p.user_id),
        "missing_global_privilege",
        vec![("privilege", privilege.to_string())],
    ))
}

impl<'o, 't, 'c> Session<'o, 't, 'c> {
    pub fn new(org: &'o Org, tx: &'t mut Tx<'c>, principal: &'o Principal, schema: Arc<Schema>) -> Self {
        Session { org, tx, principal, schema, now: org.now(), changed_schema: None, action: None, job_depth: 0 }
    }

    pub fn entity(&self, name: &str) -> Result<Arc<Entity>> {
        self.schema
            .entity(name)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("Entity '{name}' does not exist")))
    }

    pub fn entity_by_set(&self, set: &str) -> Result<Arc<Entity>> {
        self.schema
            .entity_by_set(set)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("Resource not found for the segment '{set}'.")))
    }

    /// Runs `f` with a query context for this caller.
    fn with_ctx<R>(&mut self, f: impl FnOnce(&Ctx<'_>, &mut Tx<'c>) -> Result<R>) -> Result<R> {
        self.with_ctx_locking(false, f)
    }

    /// With `lock`, rows read are locked for the rest of the transaction
    /// and come back with every column: they are the engine's own view of
    /// a record about to be written (field security masks only what
    /// callers are shown; rules need the stored values).
    fn with_ctx_locking<R>(&mut self, lock: bool, f: impl FnOnce(&Ctx<'_>, &mut Tx<'c>) -> Result<R>) -> Result<R> {
        let schema = self.schema.clone();
        let principal = self.principal;
        let scope = move |e: &Entity| principal.read_scope(e);
        let readable = move |e: &Entity, a: &relata_metadata::AttributeDef| principal.can_read_field(e, a);
        let mut ctx = Ctx::new(
            &schema,
            self.tx.backend(),
            principal.user_id,
            principal.business_unit_id,
            &principal.teams,
            self.now,
            &scope,
        );
        if !lock {
            ctx.field_readable = &readable;
        }
        ctx.for_update = lock;
        f(&ctx, self.tx)
    }

    /// Runs `f` with a query context that sees everything: the engine's
    /// own reads of data a rule depends on (a product's price, a
    /// document's lines), never returned to the caller as such.
    fn with_system_ctx<R>(&mut self, f: impl FnOnce(&Ctx<'_>, &mut Tx<'c>) -> Result<R>) -> Result<R> {
        let schema = self.schema.clone();
        let scope = |_: &Entity| Scope::All;
        let ctx = Ctx::new(
            &schema,
            self.tx.backend(),
            self.principal.user_id,
            self.principal.business_unit_id,
            &self.principal.teams,
            self.now,
            &scope,
        );
        f(&ctx, self.tx)
    }

    /// A record as stored, outside the caller's scope (see [`Self::with_system_ctx`]).
    pub(crate) fn read_system(&mut self, entity: &str, id: Uuid) -> Result<Option<Fields>> {
        let e = self.entity(entity)?;
        let mut page = self.with_system_ctx(|ctx, tx| {
            Ok(ctx.query(tx, &e, &QueryOptions::default(), Some(1), Some(&Restriction::Id(id)))?)
        })?;
        Ok(page.records.pop().map(|r| r.values.into_iter().collect()))
    }

    /// Records matching an OData query string, outside the caller's scope.
    pub(crate) fn query_system(&mut self, entity: &str, query: &str) -> Result<Vec<Fields>> {
        let e = self.entity(entity)?;
        let opts = relata_query::options::parse_query_options(query)
            .map_err(|err| EngineError::Invalid(format!("internal query on '{entity}': {err}")))?;
        let mut out = Vec::new();
        let mut opts = opts;
        loop {
            let page = self.with_system_ctx(|ctx, tx| Ok(ctx.query(tx, &e, &opts, None, None)?))?;
            out.extend(page.records.into_iter().map(|r| r.values.into_iter().collect::<Fields>()));
            match page.skiptoken {
                Some(next) => opts.skiptoken = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    /// A change the engine makes as the consequence of an allowed
    /// operation (totals of a document after a line changed, an invoice's
    /// paid amount): no privilege check and no rules, but the currency
    /// twins, the row version and the audit log as for any write.
    pub(crate) fn system_update(&mut self, entity_name: &str, id: Uuid, changes: Fields) -> Result<()> {
        let existing = self.read_system(entity_name, id)?.ok_or_else(|| not_found(entity_name, id))?;
        self.system_update_loaded(entity_name, id, &existing, changes)
    }

    /// [`Self::system_update`] of a record just read by the engine.
    pub(crate) fn system_update_loaded(
        &mut self,
        entity_name: &str,
        id: Uuid,
        existing: &Fields,
        mut changes: Fields,
    ) -> Result<()> {
        let entity = self.entity(entity_name)?;
        crate::platform::money_bases(self, &entity, Some(existing), &mut changes)?;
        changes.retain(|k, v| existing.get(k) != Some(v));
        if changes.is_empty() {
            return Ok(());
        }
        self.write_changes(&entity, id, existing, &changes)?;
        audit::updated(self, &entity, id, existing, &changes)
    }

    // ----- reads -----------------------------------------------------------

    pub fn query(
        &mut self,
        entity: &str,
        opts: &QueryOptions,
        page_size: Option<usize>,
        restriction: Option<&Restriction>,
    ) -> Result<Page> {
        let e = self.entity(entity)?;
        self.check_readable(&e)?;
        let mut page = self.with_ctx(|ctx, tx| Ok(ctx.query(tx, &e, opts, page_size, restriction)?))?;
        audit::mask(self.principal, &self.schema, &mut page.records);
        Ok(page)
    }

    pub fn count(&mut self, entity: &str, opts: &QueryOptions, restriction: Option<&Restriction>) -> Result<i64> {
        let e = self.entity(entity)?;
        self.check_readable(&e)?;
        self.with_ctx(|ctx, tx| Ok(ctx.count(tx, &e, opts, restriction)?))
    }

    pub fn apply(&mut self, entity: &str, opts: &QueryOptions) -> Result<Vec<Vec<(String, Value)>>> {
        let e = self.entity(entity)?;
        self.check_readable(&e)?;
        self.with_ctx(|ctx, tx| Ok(ctx.apply(tx, &e, opts)?))
    }

    /// One record, or NotFound if it does not exist or is out of the caller's reach.
    pub fn retrieve(&mut self, entity: &str, id: Uuid, opts: &QueryOptions) -> Result<Record> {
        let mut page = self.query(entity, opts, Some(1), Some(&Restriction::Id(id)))?;
        page.records.pop().ok_or_else(|| not_found(entity, id))
    }

    pub fn lookup_names(&mut self, refs: &[&EntityRef]) -> Result<std::collections::HashMap<Uuid, String>> {
        self.with_ctx(|ctx, tx| Ok(ctx.lookup_names(tx, refs)?))
    }

    fn check_readable(&self, e: &Entity) -> Result<()> {
        if self.principal.read_scope(e) == Scope::Nothing {
            return Err(missing_privilege(self.principal, e, Right::Read));
        }
        Ok(())
    }

    /// May the caller exercise `right` on this loaded record, through its
    /// roles or through rights shared with it?
    pub(crate) fn allowed(&mut self, entity: &Entity, right: Right, existing: &Fields, id: Uuid) -> Result<bool> {
        let owner = existing.get("ownerid").and_then(Value::as_uuid);
        let bu = existing.get("owningbusinessunit").and_then(Value::as_uuid);
        if self.principal.can(entity, right, owner, bu, AccessRights::NONE) {
            return Ok(true);
        }
        if !entity.is_owned() || !matches!(self.principal.scope(entity, right), Scope::Owned { .. }) {
            return Ok(false);
        }
        let shared = self.shared_with(id, &self.principal.owners())?;
        Ok(self.principal.can(entity, right, owner, bu, shared))
    }

    /// May the caller exercise `right` on this record (one it can see)?
    /// For interfaces that show only what a user may do.
    pub fn may(&mut self, entity: &Entity, right: Right, id: Uuid) -> Result<bool> {
        match self.visible_owner(entity, id)? {
            Some(record) => self.allowed(entity, right, &record, id),
            None => Ok(false),
        }
    }

    /// [`Session::allowed`], or the error naming the missing privilege.
    pub(crate) fn require(&mut self, entity: &Entity, right: Right, existing: &Fields, id: Uuid) -> Result<()> {
        if self.allowed(entity, right, existing, id)? {
            Ok(())
        } else {
            Err(missing_privilege(self.principal, entity, right))
        }
    }

    /// Runs `f` so that, when it fails, what it wrote is undone and the
    /// transaction goes on (a bulk operation records the failure and moves
    /// to the next record).
    pub fn savepoint<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        self.tx.savepoint()?;
        match f(self) {
            Ok(r) => {
                self.tx.release_savepoint()?;
                Ok(r)
            }
            Err(e) => {
                self.tx.rollback_savepoint()?;
                Err(e)
            }
        }
    }

    /// Runs `f` as the system, in this transaction: the bookkeeping of an
    /// operation the user was allowed (a job's log, its files), which the
    /// user's own rights need not cover.
    pub(crate) fn as_system<R>(&mut self, f: impl FnOnce(&mut Session<'_, '_, 'c>) -> Result<R>) -> Result<R> {
        let system = self.org.system_principal();
        self.as_principal(&system, f)
    }

    /// Runs `f` as `principal`, in this transaction.
    fn as_principal<R>(
        &mut self,
        principal: &Principal,
        f: impl FnOnce(&mut Session<'_, '_, 'c>) -> Result<R>,
    ) -> Result<R> {
        let mut s = Session {
            org: self.org,
            tx: &mut *self.tx,
            principal,
            schema: self.schema.clone(),
            now: self.now,
            changed_schema: None,
            action: None,
            job_depth: self.job_depth,
        };
        f(&mut s)
    }

    /// Runs `f` as `user` (loaded in this transaction), in this
    /// transaction: a real-time workflow that runs as its owner.
    pub(crate) fn as_user<R>(
        &mut self,
        user: Uuid,
        f: impl FnOnce(&mut Session<'_, '_, 'c>) -> Result<R>,
    ) -> Result<R> {
        let principal = self.org.principal_in(self.tx, user)?;
        self.as_principal(&principal, f)
    }

    /// Runs `f` in a savepoint that is always rolled back: what it returns
    /// stays, what it writes does not (a dry run).
    pub(crate) fn rolled_back<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        self.tx.savepoint()?;
        let r = f(self);
        self.tx.rollback_savepoint()?;
        r
    }

    /// A global privilege, or the error naming it.
    pub(crate) fn require_global(&self, privilege: &str) -> Result<()> {
        if self.principal.has(privilege) {
            Ok(())
        } else {
            Err(missing_global(self.principal, privilege))
        }
    }

    /// Owner and business unit of a record the caller can see, without
    /// locking it; None when it does not exist or is out of reach.
    pub(crate) fn visible_owner(&mut self, entity: &Entity, id: Uuid) -> Result<Option<Fields>> {
        Ok(self.visible_owners(entity, &[id])?.remove(&id))
    }

    /// Lookups the caller sets: Append on the record, AppendTo on each
    /// target, and each target must be one the caller can see. False when
    /// the caller holds every privilege and nothing was looked at (so the
    /// targets' existence is still to be checked).
    fn check_appends(
        &mut self,
        entity: &Entity,
        id: Uuid,
        record: &Fields,
        lookups: &[(String, EntityRef)],
    ) -> Result<bool> {
        let lookups: Vec<&(String, EntityRef)> =
            lookups.iter().filter(|(n, _)| n != "ownerid" && n != "owningbusinessunit").collect();
        if self.principal.all_privileges {
            return Ok(false);
        }
        if lookups.is_empty() {
            return Ok(true);
        }
        if entity.has_privileges() {
            self.require(entity, Right::Append, record, id)?;
        }
        for (name, r) in lookups {
            let target = self.entity(&r.entity)?;
            let Some(rec) = self.visible_owner(&target, r.id)? else {
                return Err(EngineError::Invalid(format!(
                    "The record referenced by '{name}' ({} {}) does not exist.",
                    r.entity, r.id
                )));
            };
            if target.has_privileges() {
                self.require(&target, Right::AppendTo, &rec, r.id)?;
            }
        }
        Ok(true)
    }

    /// The new owner of a record must be able to read records of its kind.
    fn check_assignee(&mut self, entity: &Entity, owner: &EntityRef) -> Result<()> {
        if owner.entity == "systemuser" && owner.id == self.principal.user_id {
            return Ok(());
        }
        let p = match owner.entity.as_str() {
            "systemuser" => {
                let version = self.tx.counter("security")?;
                self.org.principal_for(self.tx, owner.id, version)?
            }
            _ => Arc::new(crate::principal::load_team_principal(
                self.tx,
                &self.schema,
                owner.id,
                self.org.ids.system_administrator_role,
            )?),
        };
        if p.depth(entity, Right::Read) == relata_security::Depth::None {
            return Err(EngineError::forbidden(format!(
                "The new owner ({} {}) has no privilege to read '{}' records and cannot own one.",
                owner.entity,
                owner.id,
                entity.name()
            )));
        }
        Ok(())
    }

    /// All stored values of a record the caller can see, locked for the
    /// rest of the transaction so concurrent writers queue instead of failing.
    /// Without any Read privilege on the entity, that is the error (as for
    /// reads); otherwise a record out of reach is None, like a missing one.
    pub(crate) fn load(&mut self, entity: &Entity, id: Uuid) -> Result<Option<Fields>> {
        self.check_readable(entity)?;
        let e = entity.name().to_string();
        let mut page = self.with_ctx_locking(true, |ctx, tx| {
            let ent = ctx.schema.entity(&e).expect("entity exists");
            Ok(ctx.query(tx, ent, &QueryOptions::default(), Some(1), Some(&Restriction::Id(id)))?)
        })?;
        Ok(page.records.pop().map(|r| r.values.into_iter().collect()))
    }

    // ----- writes ----------------------------------------------------------

    /// Checks and normalizes client-supplied values.
    fn validate_input(&self, entity: &Entity, input: Vec<(String, Value)>, creating: bool) -> Result<Fields> {
        let mut out = Fields::new();
        for (name, value) in input {
            let attr = entity.attribute(&name).ok_or_else(|| {
                EngineError::Invalid(format!(
                    "Invalid property '{name}' was found in entity 'Microsoft.Dynamics.CRM.{}'.",
                    entity.name()
                ))
            })?;
            let allowed = if creating { attr.valid_for_create } else { attr.valid_for_update };
            if attr.read_only || !(allowed || creating && name == entity.primary_id()) {
                return Err(EngineError::Invalid(format!(
                    "The '{name}' attribute of '{}' cannot be {}.",
                    entity.name(),
                    if creating { "set on create" } else { "changed" }
                )));
            }
            let value = check_value(&self.schema, attr, value)?;
            if attr.secured && !(creating && value.is_null()) && !self.principal.can_set_field(entity, attr, creating) {
                return Err(EngineError::forbidden(format!(
                    "The column '{name}' of '{}' is secured; the caller may not {} it.",
                    entity.name(),
                    if creating { "set it on create" } else { "change" }
                )));
            }
            if attr.required == RequiredLevel::System && value.is_null() {
                return Err(EngineError::refused(
                    Some(name.as_str()),
                    "required_kept",
                    vec![],
                    format!("'{name}' is required and cannot be cleared."),
                ));
            }
            if out.insert(name.clone(), value).is_some() {
                return Err(EngineError::Invalid(format!("'{name}' is given twice.")));
            }
        }
        Ok(out)
    }

    /// Lookups must point at records that exist (in the right entity).
    /// Those the caller set were checked through its scope already.
    fn check_references(&mut self, fields: &Fields, checked: &[(String, EntityRef)]) -> Result<()> {
        self.check_references_many(std::iter::once((fields, checked)))
    }

    /// The parent of a record written through it (see
    /// [`Session::check_parent_write_many`]).
    fn check_parent_write(&mut self, entity: &Entity, record: &Fields) -> Result<()> {
        self.check_parent_write_many(entity, std::slice::from_ref(record))
    }

    /// The business unit a principal (user or team) belongs to.
    pub(crate) fn business_unit_of(&mut self, owner: &EntityRef) -> Result<Uuid> {
        let (table, pk) = match owner.entity.as_str() {
            "systemuser" => ("systemuser", "systemuserid"),
            "team" => ("team", "teamid"),
            other => return Err(EngineError::Invalid(format!("a record cannot be owned by a '{other}'"))),
        };
        let row = self.tx.query_one(
            &format!("SELECT businessunitid FROM {table} WHERE {pk} = $1"),
            &[Param::uuid(owner.id)],
            &[Storage::Uuid],
        )?;
        row.and_then(|r| r[0].as_uuid())
            .ok_or_else(|| EngineError::Invalid(format!("the owner {} {} does not exist", owner.entity, owner.id)))
    }

    /// Fills statecode/statuscode and checks they form a valid pair.
    fn resolve_state(&self, entity: &Entity, current: Option<(i64, i64)>, fields: &mut Fields) -> Result<()> {
        if !entity.has_state() {
            return Ok(());
        }
        let state = fields.get("statecode").and_then(Value::as_i64);
        let status = fields.get("statuscode").and_then(Value::as_i64);
        let (state, status) = match (state, status, current) {
            (None, None, Some(_)) => return Ok(()),
            (None, None, None) => {
                let s = &entity.def.states[0];
                (s.value as i64, s.default_status as i64)
            }
            (Some(st), None, _) => {
                let s = entity
                    .state(st as i32)
                    .ok_or_else(|| EngineError::Invalid(format!("{st} is not a valid statecode")))?;
                (st, s.default_status as i64)
            }
            (None, Some(sc), _) => {
                let s = entity
                    .state_of_status(sc as i32)
                    .ok_or_else(|| EngineError::Invalid(format!("{sc} is not a valid statuscode")))?;
                (s.value as i64, sc)
            }
            (Some(st), Some(sc), _) => (st, sc),
        };
        let s = entity
            .state(state as i32)
            .ok_or_else(|| EngineError::Invalid(format!("{state} is not a valid statecode")))?;
        if !s.statuses.iter().any(|x| x.value as i64 == status) {
            return Err(EngineError::Invalid(format!(
                "{status} is not a valid status code for state code {}.{}={state}",
                entity.name(),
                "statecode"
            )));
        }
        fields.insert("statecode".into(), Value::Int(state));
        fields.insert("statuscode".into(), Value::Int(status));
        Ok(())
    }

    /// Creates a record (and any nested ones); returns its id.
    pub fn create(&mut self, entity_name: &str, input: RecordInput) -> Result<Uuid> {
        let entity = self.entity(entity_name)?;
        if entity.def.is_intersect || entity.name() == "activitypointer" {
            return Err(EngineError::Invalid(format!("records of '{}' cannot be created directly", entity.name())));
        }
        check_writable(&entity)?;
        let mut fields = self.validate_input(&entity, input.fields, true)?;
        let id = match fields.remove(entity.primary_id()) {
            Some(Value::Uuid(u)) => u,
            Some(Value::Null) | None => Uuid::now_v7(),
            Some(_) => return Err(EngineError::Invalid("the primary key must be a GUID".into())),
        };
        self.run_steps(&[Message::Create], Stage::PreValidation, &entity, id, None, &mut fields, None)?;

        // Single-valued deep insert: create the target first, then point at it.
        let mut nested_collections = Vec::new();
        for (nav, nested) in input.nested {
            match (entity.nav(&nav).cloned(), nested) {
                (Some(Nav::Single { attribute, target, .. }), Nested::Single(child)) => {
                    let child_id = self.create(&target, child)?;
                    fields.insert(attribute, Value::Ref(EntityRef { entity: target, id: child_id }));
                }
                (Some(Nav::Collection { .. } | Nav::ManyToMany { .. }), Nested::Collection(children)) => {
                    nested_collections.push((nav, children));
                }
                (Some(_), _) => return Err(EngineError::Invalid(format!("'{nav}' does not take that kind of value"))),
                (None, _) => {
                    return Err(EngineError::Invalid(format!(
                        "'{nav}' is not a navigation property of '{}'",
                        entity.name()
                    )))
                }
            }
        }

        self.set_owner(&entity, &mut fields)?;
        let mut caller_lookups = lookups_in(&fields);
        if !self.check_appends(&entity, id, &fields, &caller_lookups)? {
            caller_lookups.clear();
        }
        self.check_parent_write(&entity, &fields)?;

        self.fill_defaults(&entity, &mut fields)?;
        self.run_steps(&[Message::Create], Stage::PreOperation, &entity, id, None, &mut fields, None)?;
        check_required(&entity, &fields)?;
        self.check_references(&fields, &caller_lookups)?;

        let version = self.tx.next_counter("rowversion")?;
        self.stamp_created(&entity, id, &mut fields, version);
        self.insert_row(&entity, &fields)?;
        audit::created(self, &entity, id, &fields)?;
        self.inherit_on_create(&entity, id, &fields)?;

        for (nav, children) in nested_collections {
            for child in children {
                self.create_related(&entity, id, &nav, child)?;
            }
        }
        for (nav, targets) in input.links {
            for t in targets {
                self.associate(entity.name(), id, &nav, &t.entity, t.id)?;
            }
        }
        self.run_steps(&[Message::Create], Stage::PostOperation, &entity, id, None, &mut fields, None)?;
        if SECURITY_ENTITIES.contains(&entity.name()) {
            self.tx.next_counter("security")?;
        }
        Ok(id)
    }

    /// The owner (the caller unless named) and its business unit, after
    /// the privileges to create (and assign) records of `entity`.
    fn set_owner(&mut self, entity: &Entity, fields: &mut Fields) -> Result<()> {
        if entity.is_owned() {
            let owner = match fields.get("ownerid") {
                Some(Value::Ref(r)) => r.clone(),
                _ => EntityRef { entity: "systemuser".into(), id: self.principal.user_id },
            };
            let bu = if owner.entity == "systemuser" && owner.id == self.principal.user_id {
                self.principal.business_unit_id
            } else {
                self.business_unit_of(&owner)?
            };
            if owner.id != self.principal.user_id {
                if !self.principal.can(entity, Right::Assign, Some(owner.id), Some(bu), AccessRights::NONE) {
                    return Err(missing_privilege(self.principal, entity, Right::Assign));
                }
                self.check_assignee(entity, &owner)?;
            }
            if !self.principal.can(entity, Right::Create, Some(owner.id), Some(bu), AccessRights::NONE) {
                return Err(missing_privilege(self.principal, entity, Right::Create));
            }
            fields.insert("ownerid".into(), Value::Ref(owner));
            fields.insert("owningbusinessunit".into(), Value::Ref(EntityRef { entity: "businessunit".into(), id: bu }));
        } else if entity.def.ownership == Ownership::Organization
            && !self.principal.can(entity, Right::Create, None, None, AccessRights::NONE)
        {
            return Err(missing_privilege(self.principal, entity, Right::Create));
        }
        Ok(())
    }

    /// State and status, and the columns' defaults, of a new record.
    fn fill_defaults(&self, entity: &Entity, fields: &mut Fields) -> Result<()> {
        self.resolve_state(entity, None, fields)?;
        for a in entity.attributes() {
            if !fields.contains_key(&a.name) {
                if let Some(d) = &a.default {
                    if let Some(v) = default_value(a.kind, d) {
                        fields.insert(a.name.clone(), v);
                    }
                }
            }
        }
        Ok(())
    }

    /// The columns the engine sets on every new record.
    fn stamp_created(&self, entity: &Entity, id: Uuid, fields: &mut Fields, version: i64) {
        let me = Value::Ref(EntityRef { entity: "systemuser".into(), id: self.principal.user_id });
        fields.insert(entity.primary_id().to_string(), Value::Uuid(id));
        for (k, v) in [("createdon", Value::DateTime(self.now)), ("modifiedon", Value::DateTime(self.now))] {
            if entity.attribute(k).is_some() {
                fields.insert(k.into(), v);
            }
        }
        for k in ["createdby", "modifiedby"] {
            if entity.attribute(k).is_some() {
                fields.insert(k.into(), me.clone());
            }
        }
        fields.insert("versionnumber".into(), Value::Int(version));
    }

    /// Creates a record related to `parent` through `nav` and links it.
    pub fn create_related(
        &mut self,
        parent: &Entity,
        parent_id: Uuid,
        nav: &str,
        mut child: RecordInput,
    ) -> Result<Uuid> {
        match parent.nav(nav).cloned() {
            Some(Nav::Collection { entity, attribute, .. }) => {
                child.fields.retain(|(n, _)| *n != attribute);
                child.fields.push((attribute, Value::Ref(EntityRef { entity: parent.name().into(), id: parent_id })));
                self.create(&entity, child)
            }
            Some(Nav::ManyToMany { entity, .. }) => {
                let id = self.create(&entity, child)?;
                self.associate(parent.name(), parent_id, nav, &entity, id)?;
                Ok(id)
            }
            _ => Err(EngineError::Invalid(format!(
                "'{nav}' is not a collection-valued navigation property of '{}'",
                parent.name()
            ))),
        }
    }

    /// Runs the registered steps of `stage` for `messages` (see
    /// [`crate::modules::Pipeline`]).
    #[allow(clippy::too_many_arguments)]
    fn run_steps(
        &mut self,
        messages: &[Message],
        stage: Stage,
        entity: &Entity,
        id: Uuid,
        pre_image: Option<&Fields>,
        target: &mut Fields,
        related: Option<(&str, &EntityRef)>,
    ) -> Result<()> {
        let org = self.org;
        let mut ctx = StepContext { message: messages[0], stage, entity, id, pre_image, target, related };
        org.modules().pipeline().run(self, messages, stage, &mut ctx)
    }

    fn insert_row(&mut self, entity: &Entity, fields: &Fields) -> Result<()> {
        insert_row(self.tx, entity, fields)
    }

    /// Updates a record. With `upsert`, a missing record is created with
    /// the given id instead.
    pub fn update(
        &mut self,
        entity_name: &str,
        id: Uuid,
        input: RecordInput,
        cond: Condition,
        upsert: bool,
    ) -> Result<UpsertOutcome> {
        let entity = self.entity(entity_name)?;
        if entity.def.is_intersect || entity.name() == "activitypointer" {
            return Err(EngineError::Invalid(format!("records of '{}' cannot be updated directly", entity.name())));
        }
        check_writable(&entity)?;
        let existing = self.load(&entity, id)?;
        let Some(existing) = existing else {
            if !upsert || cond.if_match.is_some() {
                return Err(not_found(entity.name(), id));
            }
            // A record the caller cannot see but that exists must not be
            // overwritten or revealed: creating it fails as a duplicate.
            let mut input = input;
            input.fields.retain(|(n, _)| n != entity.primary_id());
            input.fields.push((entity.primary_id().to_string(), Value::Uuid(id)));
            let id = self.create(entity.name(), input)?;
            return Ok(UpsertOutcome::Created(id));
        };
        if cond.if_none_match_any {
            return Err(EngineError::PreconditionFailed("A record with matching key values already exists.".into()));
        }
        let version = existing.get("versionnumber").and_then(Value::as_i64).unwrap_or(0);
        if let Some(Some(expected)) = cond.if_match {
            if expected != version {
                return Err(EngineError::PreconditionFailed(
                    "The version of the existing record doesn't match the RowVersion property provided.".into(),
                ));
            }
        }
        if !input.nested.is_empty() {
            return Err(EngineError::Invalid("deep update is not supported; update related records separately".into()));
        }
        let links = input.links;
        let mut input_fields = input.fields;
        input_fields.retain(|(n, v)| !(n == entity.primary_id() && v.as_uuid() == Some(id)));
        let mut changes = self.validate_input(&entity, input_fields, false)?;
        self.update_fields(&entity, id, &existing, &mut changes)?;
        for (nav, targets) in links {
            for t in targets {
                self.associate(entity.name(), id, &nav, &t.entity, t.id)?;
            }
        }
        Ok(UpsertOutcome::Updated(id))
    }

    /// Applies validated changes to a loaded record: privileges, rules,
    /// state, the write itself.
    pub(crate) fn update_fields(
        &mut self,
        entity: &Entity,
        id: Uuid,
        existing: &Fields,
        changes: &mut Fields,
    ) -> Result<()> {
        let messages = update_messages(existing, changes);
        self.run_steps(&messages, Stage::PreValidation, entity, id, Some(existing), changes, None)?;
        let owner = existing.get("ownerid").and_then(Value::as_uuid);
        let mut assigned = None;
        let only_owner = changes.keys().all(|k| k == "ownerid");
        if entity.is_owned() {
            if let Some(new_owner) = changes.get("ownerid").cloned() {
                let Value::Ref(new_owner) = new_owner else {
                    return Err(EngineError::Invalid("a record must have an owner".into()));
                };
                if Some(new_owner.id) != owner {
                    self.require(entity, Right::Assign, existing, id)?;
                    self.check_assignee(entity, &new_owner)?;
                    let new_bu = self.business_unit_of(&new_owner)?;
                    changes.insert(
                        "owningbusinessunit".into(),
                        Value::Ref(EntityRef { entity: "businessunit".into(), id: new_bu }),
                    );
                    assigned = Some((new_owner, new_bu));
                } else {
                    changes.remove("ownerid");
                }
            }
        }
        // Assigning needs Assign, not Write (as in Dataverse).
        if !(only_owner && assigned.is_some()) {
            self.require(entity, Right::Write, existing, id)?;
        }
        self.check_parent_write(entity, existing)?;
        let mut caller_lookups = lookups_in(changes);
        if !self.check_appends(entity, id, existing, &caller_lookups)? {
            caller_lookups.clear();
        }
        let current_state =
            existing.get("statecode").and_then(Value::as_i64).zip(existing.get("statuscode").and_then(Value::as_i64));
        self.resolve_state(entity, current_state.or(Some((0, 0))), changes)?;
        self.run_steps(
            &update_messages(existing, changes),
            Stage::PreOperation,
            entity,
            id,
            Some(existing),
            changes,
            None,
        )?;
        self.check_references(changes, &caller_lookups)?;
        changes.retain(|k, v| existing.get(k) != Some(v) || k == "statecode");
        if changes.is_empty() {
            return Ok(());
        }
        self.write_changes(entity, id, existing, changes)?;
        audit::updated(self, entity, id, existing, changes)?;
        if let Some((new_owner, new_bu)) = &assigned {
            self.assign_cascade(entity, id, owner, new_owner, *new_bu)?;
        }
        if Session::share_parent_changed(entity, changes) {
            self.reinherit_shares(entity, id)?;
        }
        self.run_steps(
            &update_messages(existing, changes),
            Stage::PostOperation,
            entity,
            id,
            Some(existing),
            changes,
            None,
        )?;
        if SECURITY_ENTITIES.contains(&entity.name()) {
            self.tx.next_counter("security")?;
        }
        Ok(())
    }

    /// The UPDATE statement, guarded by the version read earlier.
    pub(crate) fn write_changes(
        &mut self,
        entity: &Entity,
        id: Uuid,
        existing: &Fields,
        changes: &Fields,
    ) -> Result<()> {
        let next = self.tx.next_counter("rowversion")?;
        self.write_version(entity, id, existing, changes, next)
    }

    /// [`Self::write_changes`] with the row version the record gets.
    pub(crate) fn write_version(
        &mut self,
        entity: &Entity,
        id: Uuid,
        existing: &Fields,
        changes: &Fields,
        next: i64,
    ) -> Result<()> {
        let version = existing.get("versionnumber").and_then(Value::as_i64).unwrap_or(0);
        let mut b = SqlBuilder::new(self.tx.backend());
        b.push("UPDATE ").ident(entity.table()).push(" SET ");
        for (name, value) in changes {
            if name == "modifiedon" || name == "modifiedby" || name == "versionnumber" {
                continue;
            }
            let attr = entity.attribute(name).expect("validated attribute");
            b.ident(name).push(" = ");
            b.param(Param::new(value.clone(), Storage::of(attr)));
            b.push(", ");
            if attr.is_polymorphic() {
                b.ident(&attr.type_column()).push(" = ");
                let t = value.as_ref_value().map(|r| Value::String(r.entity.clone())).unwrap_or(Value::Null);
                b.param(Param::new(t, Storage::Text));
                b.push(", ");
            }
        }
        self.push_modified(entity, &mut b);
        b.push("versionnumber = ");
        b.param(Param::bigint(next));
        b.push(" WHERE ").ident(entity.primary_id()).push(" = ");
        b.param(Param::uuid(id));
        b.push(" AND versionnumber = ");
        b.param(Param::bigint(version));
        if self.tx.execute(&b.sql, &b.params)? == 0 {
            return Err(EngineError::PreconditionFailed(
                "The record was changed by someone else; read it again.".into(),
            ));
        }
        Ok(())
    }

    /// `modifiedon = …, modifiedby = …, ` of an UPDATE, for entities that
    /// keep them.
    pub(crate) fn push_modified(&self, entity: &Entity, b: &mut SqlBuilder) {
        if entity.attribute("modifiedon").is_some() {
            b.push("modifiedon = ");
            b.param(Param::new(Value::DateTime(self.now), Storage::Timestamp));
            b.push(", modifiedby = ");
            b.param(Param::uuid(self.principal.user_id));
            b.push(", ");
        }
    }

    /// Deletes a record after the cascades its relationships define.
    pub fn delete(&mut self, entity_name: &str, id: Uuid, if_match: Option<i64>) -> Result<()> {
        let entity = self.entity(entity_name)?;
        if entity.def.is_intersect || entity.name() == "activitypointer" {
            return Err(EngineError::Invalid(format!("records of '{}' cannot be deleted directly", entity.name())));
        }
        check_writable(&entity)?;
        let existing = self.load(&entity, id)?.ok_or_else(|| not_found(entity.name(), id))?;
        if let Some(v) = if_match {
            if existing.get("versionnumber").and_then(Value::as_i64) != Some(v) {
                return Err(EngineError::PreconditionFailed(
                    "The version of the existing record doesn't match the RowVersion property provided.".into(),
                ));
            }
        }
        let mut target = Fields::new();
        self.run_steps(&[Message::Delete], Stage::PreValidation, &entity, id, Some(&existing), &mut target, None)?;
        self.require(&entity, Right::Delete, &existing, id)?;
        self.check_parent_write(&entity, &existing)?;
        self.run_steps(&[Message::Delete], Stage::PreOperation, &entity, id, Some(&existing), &mut target, None)?;
        audit::deleted(self, &entity, id, &existing)?;
        self.delete_cascade(&entity, id, &mut Visited::new())?;
        self.run_steps(&[Message::Delete], Stage::PostOperation, &entity, id, Some(&existing), &mut target, None)?;
        if SECURITY_ENTITIES.contains(&entity.name()) {
            self.tx.next_counter("security")?;
        }
        Ok(())
    }

    /// Links two records through a navigation property (`$ref`).
    pub fn associate(
        &mut self,
        entity_name: &str,
        id: Uuid,
        nav: &str,
        target_entity: &str,
        target_id: Uuid,
    ) -> Result<()> {
        let entity = self.entity(entity_name)?;
        match entity.nav(nav).cloned() {
            Some(Nav::Collection { entity: child, attribute, .. }) => {
                if child != target_entity {
                    return Err(EngineError::Invalid(format!(
                        "'{nav}' links '{child}' records, not '{target_entity}'"
                    )));
                }
                if self.load(&entity, id)?.is_none() {
                    return Err(not_found(entity.name(), id));
                }
                let input =
                    RecordInput::new(vec![(attribute, Value::Ref(EntityRef { entity: entity.name().into(), id }))]);
                self.update(&child, target_id, input, Condition { if_match: Some(None), ..Default::default() }, false)?;
                Ok(())
            }
            Some(Nav::Single { attribute, target, .. }) => {
                if target != target_entity {
                    return Err(EngineError::Invalid(format!(
                        "'{nav}' points at '{target}' records, not '{target_entity}'"
                    )));
                }
                let input =
                    RecordInput::new(vec![(attribute, Value::Ref(EntityRef { entity: target, id: target_id }))]);
                self.update(entity.name(), id, input, Condition { if_match: Some(None), ..Default::default() }, false)?;
                Ok(())
            }
            Some(Nav::ManyToMany { entity: other, table, self_column, other_column, relationship }) => {
                if other != target_entity {
                    return Err(EngineError::Invalid(format!(
                        "'{nav}' links '{other}' records, not '{target_entity}'"
                    )));
                }
                let other_entity = self.entity(&other)?;
                let existing = self.load(&entity, id)?.ok_or_else(|| not_found(entity.name(), id))?;
                let other_existing =
                    self.load(&other_entity, target_id)?.ok_or_else(|| not_found(&other, target_id))?;
                self.check_link_rights(&entity, id, &existing, &other_entity, target_id, &other_existing)?;
                self.check_link_rules(&table, &entity, id, &other_entity, target_id, true)?;
                let other_ref = EntityRef { entity: other.clone(), id: target_id };
                let link = Some((relationship.as_str(), &other_ref));
                let mut target = Fields::new();
                self.run_steps(
                    &[Message::Associate],
                    Stage::PreOperation,
                    &entity,
                    id,
                    Some(&existing),
                    &mut target,
                    link,
                )?;
                let present = self.tx.query(
                    &format!("SELECT 1 FROM \"{table}\" WHERE \"{self_column}\" = $1 AND \"{other_column}\" = $2"),
                    &[Param::uuid(id), Param::uuid(target_id)],
                    &[Storage::Int],
                )?;
                if present.is_empty() {
                    let intersect = self.schema.entity(&table).cloned();
                    let pk =
                        intersect.as_ref().map(|e| e.primary_id().to_string()).unwrap_or_else(|| format!("{table}id"));
                    self.tx.execute(
                        &format!("INSERT INTO \"{table}\" (\"{pk}\", \"{self_column}\", \"{other_column}\") VALUES ($1, $2, $3)"),
                        &[
                            Param::uuid(Uuid::now_v7()),
                            Param::uuid(id),
                            Param::uuid(target_id),
                        ],
                    )?;
                    self.linked(&relationship, &table, (entity.name(), id), (&other, target_id), true)?;
                    self.run_steps(
                        &[Message::Associate],
                        Stage::PostOperation,
                        &entity,
                        id,
                        Some(&existing),
                        &mut target,
                        link,
                    )?;
                }
                Ok(())
            }
            None => Err(EngineError::Invalid(format!("'{nav}' is not a navigation property of '{}'", entity.name()))),
        }
    }

    /// After a many-to-many link was made or removed: the audit row, and
    /// the security version when the link changes someone's privileges.
    fn linked(
        &mut self,
        relationship: &str,
        table: &str,
        a: (&str, Uuid),
        b: (&str, Uuid),
        associate: bool,
    ) -> Result<()> {
        let a = EntityRef { entity: a.0.into(), id: a.1 };
        let b = EntityRef { entity: b.0.into(), id: b.1 };
        audit::linked(self, relationship, table, &a, &b, associate)?;
        if SECURITY_ENTITIES.contains(&table) {
            self.tx.next_counter("security")?;
        }
        Ok(())
    }

    fn check_link_rights(
        &mut self,
        a: &Entity,
        a_id: Uuid,
        a_rec: &Fields,
        b: &Entity,
        b_id: Uuid,
        b_rec: &Fields,
    ) -> Result<()> {
        for (e, id, rec, right) in [(a, a_id, a_rec, Right::AppendTo), (b, b_id, b_rec, Right::Append)] {
            if e.has_privileges() {
                self.require(e, right, rec, id)?;
            }
        }
        Ok(())
    }

    /// Removes a link made by [`Session::associate`]. For a collection,
    /// `target_id` names the related record; for a single-valued
    /// navigation property it is ignored.
    pub fn disassociate(&mut self, entity_name: &str, id: Uuid, nav: &str, target_id: Option<Uuid>) -> Result<()> {
        let entity = self.entity(entity_name)?;
        match entity.nav(nav).cloned() {
            Some(Nav::Collection { entity: child, attribute, .. }) => {
                let target_id = target_id
                    .ok_or_else(|| EngineError::Invalid("name the related record to remove: …/nav(id)/$ref".into()))?;
                let child_entity = self.entity(&child)?;
                let existing = self.load(&child_entity, target_id)?.ok_or_else(|| not_found(&child, target_id))?;
                if existing.get(&attribute).and_then(Value::as_uuid) != Some(id) {
                    return Err(EngineError::not_found(format!(
                        "the '{child}' record {target_id} is not related through '{nav}'"
                    )));
                }
                let mut changes = Fields::new();
                changes.insert(attribute, Value::Null);
                self.update_fields(&child_entity, target_id, &existing, &mut changes)
            }
            Some(Nav::Single { attribute, .. }) => {
                let existing = self.load(&entity, id)?.ok_or_else(|| not_found(entity.name(), id))?;
                let mut changes = Fields::new();
                changes.insert(attribute, Value::Null);
                self.update_fields(&entity, id, &existing, &mut changes)
            }
            Some(Nav::ManyToMany { entity: other, table, self_column, other_column, relationship }) => {
                let target_id = target_id
                    .ok_or_else(|| EngineError::Invalid("name the related record to remove: …/nav(id)/$ref".into()))?;
                let other_entity = self.entity(&other)?;
                let existing = self.load(&entity, id)?.ok_or_else(|| not_found(entity.name(), id))?;
                let other_existing =
                    self.load(&other_entity, target_id)?.ok_or_else(|| not_found(&other, target_id))?;
                self.check_link_rights(&entity, id, &existing, &other_entity, target_id, &other_existing)?;
                self.check_link_rules(&table, &entity, id, &other_entity, target_id, false)?;
                let other_ref = EntityRef { entity: other.clone(), id: target_id };
                let link = Some((relationship.as_str(), &other_ref));
                let mut target = Fields::new();
                let m = [Message::Disassociate];
                self.run_steps(&m, Stage::PreOperation, &entity, id, Some(&existing), &mut target, link)?;
                let n = self.tx.execute(
                    &format!("DELETE FROM \"{table}\" WHERE \"{self_column}\" = $1 AND \"{other_column}\" = $2"),
                    &[Param::uuid(id), Param::uuid(target_id)],
                )?;
                if n == 0 {
                    return Err(EngineError::not_found(format!("the records are not associated through '{nav}'")));
                }
                self.linked(&relationship, &table, (entity.name(), id), (&other, target_id), false)?;
                self.run_steps(&m, Stage::PostOperation, &entity, id, Some(&existing), &mut target, link)
            }
            None => Err(EngineError::Invalid(format!("'{nav}' is not a navigation property of '{}'", entity.name()))),
        }
    }
}

/// The messages an update raises: Update, and Assign when the owner
/// changes, SetState when the state does.
fn update_messages(existing: &Fields, changes: &Fields) -> Vec<Message> {
    let changed = |k: &str| changes.get(k).is_some_and(|v| existing.get(k) != Some(v));
    let mut m = vec![Message::Update];
    if changed("ownerid") {
        m.push(Message::Assign);
    }
    if changed("statecode") {
        m.push(Message::SetState);
    }
    m
}

/// Records the engine alone writes (audit, privileges) refuse every API write.
fn check_writable(entity: &Entity) -> Result<()> {
    if entity.def.system_managed {
        return Err(EngineError::Invalid(format!(
            "Records of '{}' are written by Relata itself and cannot be created, changed or deleted.",
            entity.name()
        )));
    }
    Ok(())
}

/// System-required columns must have a value; business-required
/// ("application") ones are a form rule, not enforced by the API, as in
/// Dataverse.
fn check_required(entity: &Entity, fields: &Fields) -> Result<()> {
    for a in entity.attributes() {
        if a.required == RequiredLevel::System
            && a.name != entity.primary_id()
            && !a.read_only
            && a.valid_for_create
            && fields.get(&a.name).is_none_or(Value::is_null)
        {
            return Err(EngineError::refused(
                Some(&a.name),
                "required",
                vec![],
                format!("'{}' is required to create a record of '{}'.", a.name, entity.name()),
            ));
        }
    }
    Ok(())
}

/// The lookup values among fields.
fn lookups_in(fields: &Fields) -> Vec<(String, EntityRef)> {
    fields.iter().filter_map(|(k, v)| v.as_ref_value().map(|r| (k.clone(), r.clone()))).collect()
}

/// The INSERT of one record's columns (and the companion columns of
/// polymorphic lookups and activity types).
pub(crate) fn insert_row(tx: &mut Tx<'_>, entity: &Entity, fields: &Fields) -> Result<()> {
    insert_rows(tx, entity, std::slice::from_ref(fields))
}

/// Most parameters one statement binds (SQLite's limit is 32,766).
pub(crate) const MAX_PARAMS: usize = 30_000;

/// The INSERTs of many records: one statement per run of records that set
/// the same columns, as many rows per statement as the parameters allow.
pub(crate) fn insert_rows(tx: &mut Tx<'_>, entity: &Entity, rows: &[Fields]) -> Result<()> {
    let mut start = 0;
    while start < rows.len() {
        let columns = insert_columns(entity, &rows[start]);
        let per_row = columns.len().max(1);
        let mut end = start + 1;
        while end < rows.len() && (end - start + 1) * per_row <= MAX_PARAMS && rows[end].keys().eq(rows[start].keys()) {
            end += 1;
        }
        let mut b = SqlBuilder::new(tx.backend());
        b.push("INSERT INTO ").ident(entity.table()).push(" (");
        for (i, (name, _)) in columns.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.ident(name);
        }
        b.push(") VALUES ");
        for (r, fields) in rows[start..end].iter().enumerate() {
            b.push(if r == 0 { "(" } else { ", (" });
            for (i, p) in insert_columns(entity, fields).into_iter().map(|(_, p)| p).enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                b.param(p);
            }
            b.push(")");
        }
        tx.execute(&b.sql, &b.params)?;
        start = end;
    }
    Ok(())
}

/// The stored columns of a record and their values.
fn insert_columns(entity: &Entity, fields: &Fields) -> Vec<(String, Param)> {
    let mut out = Vec::with_capacity(fields.len() + 2);
    for (name, value) in fields {
        let attr = entity.attribute(name).expect("validated attribute");
        out.push((name.clone(), Param::new(value.clone(), Storage::of(attr))));
        if attr.is_polymorphic() {
            let t = value.as_ref_value().map(|r| Value::String(r.entity.clone())).unwrap_or(Value::Null);
            out.push((attr.type_column(), Param::new(t, Storage::Text)));
        }
    }
    if let Some(d) = &entity.discriminator {
        if !fields.contains_key("activitytypecode") {
            out.push(("activitytypecode".into(), Param::text(d.clone())));
        }
    }
    out
}

fn default_value(kind: AttrKind, d: &serde_json::Value) -> Option<Value> {
    match kind {
        AttrKind::Boolean => d.as_bool().map(Value::Bool),
        AttrKind::Integer | AttrKind::BigInt | AttrKind::Picklist => d.as_i64().map(Value::Int),
        AttrKind::String | AttrKind::Memo => d.as_str().map(|s| Value::String(s.into())),
        AttrKind::Decimal | AttrKind::Money => d.to_string().trim_matches('"').parse().ok().map(Value::Decimal),
        _ => None,
    }
}
