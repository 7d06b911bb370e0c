//! Business modules and the registry they plug into.
//!
//! A module is a value implementing [`Module`]; its `register` tells the
//! [`Registry`] what it brings — pipeline steps, seed data, first-run
//! hooks. The organization is opened with an ordered list of modules
//! ([`standard`] for the binary); the engine's core never names a module's
//! entities, it runs what the registry holds.

pub mod actions;
mod endpoints;
mod pages;
pub mod pipeline;

use std::fmt;
use std::sync::Arc;

use std::collections::{HashMap, HashSet};

use relata_metadata::{Schema, Value};
use relata_store::{Param, Storage, Tx};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::jobs::{JobKind, RecurringJob};
use crate::org::OrgIds;
/// What a module adds to a standard role ([`Registry::grant`]).
pub use crate::roles::Grant;
use crate::session::Session;
use crate::setup::FirstRun;
use crate::views::SystemView;
pub use actions::{
    Action, ActionHandler, ActionRequest, ActionResponse, Binding, Command, CommandRecord, ParamType, Parameter,
    RecordReader, Returns,
};
pub use endpoints::{Endpoint, EndpointFn, EndpointRequest, EndpointResponse};
pub use pages::{in_language, Board, Chart, ChartGroup, Dashboard, Measure};
pub use pipeline::{Handler, Message, Mode, Pipeline, Stage, Step, StepContext, DEFAULT_RANK};

/// A business module: one folder, one registration line in [`standard`].
pub trait Module: Send + Sync + 'static {
    /// A short lower-case name, unique among the modules (`sales`).
    fn name(&self) -> &'static str;

    /// Modules that must be registered before this one.
    fn depends_on(&self) -> &'static [&'static str] {
        &[]
    }

    /// Registers everything the module brings.
    fn register(&self, r: &mut Registry);
}

impl fmt::Debug for dyn Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Module({})", self.name())
    }
}

/// Seeds or upgrades a module's data when an organization opens, in the
/// opening transaction (idempotent: it runs on every open).
pub type SeedFn = fn(&mut Tx<'_>, &Schema, &OrgIds) -> Result<()>;

/// Runs in the first-run setup's transaction, after the organization's
/// name, language and currency are set.
pub type FirstRunFn = fn(&mut Session<'_, '_, '_>, &FirstRun) -> Result<()>;

/// Prints a record of an entity to PDF, with a chosen template or the
/// default one.
pub type PrintFn = fn(&mut Session<'_, '_, '_>, &str, Uuid, Option<Uuid>) -> Result<Vec<u8>>;

/// What the modules registered.
pub struct Registry {
    module: &'static str,
    steps: Vec<Step>,
    seeds: Vec<(&'static str, SeedFn)>,
    first_run: Vec<FirstRunFn>,
    jobs: Vec<JobKind>,
    recurring: Vec<RecurringJob>,
    actions: Vec<Action>,
    schema: Vec<(&'static str, &'static str)>,
    views: Vec<&'static SystemView>,
    grants: Vec<(&'static str, Grant)>,
    printers: Vec<(&'static str, PrintFn)>,
    boards: Vec<Board>,
    dashboards: Vec<Dashboard>,
    endpoints: Vec<Endpoint>,
    errors: Vec<String>,
}

impl Registry {
    /// Entities and option sets the module brings, as a schema file in the
    /// built-in format (`[[entity]]`, `[[option_set]]`); `name` names the
    /// file in error messages. Its tables are created and kept in line with
    /// it when the organization opens, like the built-in ones.
    pub fn schema(&mut self, name: &'static str, toml: &'static str) -> &mut Self {
        self.schema.push((name, toml));
        self
    }

    /// Registers a pipeline step for the module being registered.
    pub fn step(&mut self, mut step: Step) -> &mut Self {
        step.module = self.module;
        let duplicate = self.steps.iter().any(|s| {
            s.module == step.module && s.name == step.name && s.message == step.message && s.entity == step.entity
        });
        if duplicate {
            self.errors.push(format!("step '{}' is registered twice", step.display_name()));
        }
        if !step.filtering_attributes.is_empty() && step.message != Message::Update {
            self.errors.push(format!("step '{}': filtering attributes apply to Update only", step.display_name()));
        }
        if step.mode == Mode::Asynchronous
            && (step.stage != Stage::PostOperation
                || matches!(step.message, Message::Associate | Message::Disassociate))
        {
            self.errors.push(format!(
                "step '{}': asynchronous steps run at PostOperation of Create, Update, Delete, Assign or SetState",
                step.display_name()
            ));
        }
        self.steps.push(step);
        self
    }

    /// Seed data the module keeps in every organization.
    pub fn seed(&mut self, f: SeedFn) -> &mut Self {
        self.seeds.push((self.module, f));
        self
    }

    /// A kind of background job the module runs.
    pub fn job(&mut self, mut kind: JobKind) -> &mut Self {
        kind.module = self.module;
        let name = kind.qualified_name();
        if self.jobs.iter().any(|k| k.qualified_name() == name) {
            self.errors.push(format!("job kind '{name}' is registered twice"));
        }
        self.jobs.push(kind);
        self
    }

    /// A job every organization keeps scheduled.
    pub fn recurring(&mut self, job: RecurringJob) -> &mut Self {
        if let Err(e) = crate::jobs::recurrence::Rule::parse(job.pattern) {
            self.errors.push(format!("recurring job '{}': {e}", job.name));
        }
        self.recurring.push(job);
        self
    }

    /// An action or function of the catalog.
    pub fn action(&mut self, mut action: Action) -> &mut Self {
        action.module = self.module;
        if self.actions.iter().any(|a| a.name == action.name && a.binding == action.binding) {
            self.errors.push(format!("action '{}' is registered twice with the same binding", action.name));
        }
        let valid = !action.name.is_empty() && action.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.errors.push(format!("action name '{}' must be letters, digits or '_'", action.name));
        }
        if let (Some((en, ru)), Binding::Entity(entity)) = (action.label, action.binding) {
            let key = format!("op_{}", action.name);
            action.commands.push(Command::on(entity, key, en, ru));
        }
        for c in &action.commands {
            let taken = self.actions.iter().flat_map(|a| &a.commands).any(|o| o.entity == c.entity && o.key == c.key);
            if taken {
                self.errors.push(format!("the button '{}' of {} is declared twice", c.key, c.entity));
            }
        }
        self.actions.push(action);
        self
    }

    /// Printed documents: records of these entities print to PDF with
    /// `f` (the record page's Print button, `GET /ui/{set}/{id}/pdf`).
    pub fn printer(&mut self, entities: &[&'static str], f: PrintFn) -> &mut Self {
        for e in entities {
            if self.printers.iter().any(|(x, _)| x == e) {
                self.errors.push(format!("'{e}' records have two printers"));
            }
            self.printers.push((e, f));
        }
        self
    }

    /// The module's error texts in a language other than English (whose
    /// text each error carries), by key (`sales.lead_qualified`); see
    /// [`crate::EngineError::refused`].
    pub fn messages(&mut self, language: &'static str, texts: &'static [(&'static str, &'static str)]) -> &mut Self {
        let prefix = format!("{}.", self.module);
        if let Some((key, _)) = texts.iter().find(|(k, _)| !k.starts_with(&prefix)) {
            self.errors.push(format!("message key '{key}' does not start with '{prefix}'"));
        }
        crate::messages::add(language, texts);
        self
    }

    /// A board of an entity's records by process stage (`/ui/<path>`).
    pub fn board(&mut self, board: Board) -> &mut Self {
        if self.boards.iter().any(|b| b.path == board.path) {
            self.errors.push(format!("the board '/ui/{}' is declared twice", board.path));
        }
        self.boards.push(board);
        self
    }

    /// A dashboard of charts for the home page.
    pub fn dashboard(&mut self, dashboard: Dashboard) -> &mut Self {
        if let Some(path) = dashboard.board.filter(|p| !self.boards.iter().any(|b| b.path == *p)) {
            self.errors.push(format!("a dashboard links to the board '/ui/{path}', which is not declared before it"));
        }
        self.dashboards.push(dashboard);
        self
    }

    /// Standard views (`savedquery`) of the module's entities, seeded by name
    /// when missing.
    pub fn views(&mut self, views: &'static [SystemView]) -> &mut Self {
        self.views.extend(views.iter());
        self
    }

    /// What a standard role (`Salesperson`) grants on the module's
    /// entities, when the role is created.
    pub fn grant(&mut self, role: &'static str, grant: Grant) -> &mut Self {
        if !crate::roles::STANDARD_ROLES.iter().any(|r| r.name == role) {
            self.errors.push(format!("grant to '{role}': there is no such standard role"));
        }
        self.grants.push((role, grant));
        self
    }

    /// A URL the module answers in a protocol of its own (see
    /// [`Endpoint`]); the server mounts it beside the Web API.
    pub fn endpoint(&mut self, path: &'static str, handler: EndpointFn) -> &mut Self {
        if let Some(why) = endpoints::refuse_path(path) {
            self.errors.push(why);
        }
        if self.endpoints.iter().any(|e| e.path == path) {
            self.errors.push(format!("endpoint '{path}' is registered twice"));
        }
        self.endpoints.push(Endpoint { path, handler, module: self.module });
        self
    }

    /// Work done once, when the first administrator sets the organization up.
    pub fn on_first_run(&mut self, f: FirstRunFn) -> &mut Self {
        self.first_run.push(f);
        self
    }
}

/// The registered modules of an organization.
pub struct Modules {
    names: Vec<&'static str>,
    pipeline: Pipeline,
    seeds: Vec<(&'static str, SeedFn)>,
    first_run: Vec<FirstRunFn>,
    jobs: HashMap<String, JobKind>,
    recurring: Vec<RecurringJob>,
    actions: Vec<Action>,
    schema: Vec<(&'static str, &'static str)>,
    views: Vec<&'static SystemView>,
    grants: Vec<(&'static str, Grant)>,
    printers: Vec<(&'static str, PrintFn)>,
    boards: Vec<Board>,
    dashboards: Vec<Dashboard>,
    endpoints: Vec<Endpoint>,
}

impl fmt::Debug for Modules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Modules").field("names", &self.names).field("steps", &self.pipeline.steps().len()).finish()
    }
}

impl Modules {
    /// Registers `list` in order. Names must be unique and every
    /// dependency registered before its dependant.
    pub fn build(list: &[Arc<dyn Module>]) -> Result<Modules> {
        let mut r = Registry {
            module: "",
            steps: Vec::new(),
            seeds: Vec::new(),
            first_run: Vec::new(),
            jobs: Vec::new(),
            recurring: Vec::new(),
            actions: Vec::new(),
            schema: Vec::new(),
            views: Vec::new(),
            grants: Vec::new(),
            printers: Vec::new(),
            boards: Vec::new(),
            dashboards: Vec::new(),
            endpoints: Vec::new(),
            errors: Vec::new(),
        };
        let mut names: Vec<&'static str> = Vec::new();
        for m in list {
            let name = m.name();
            let well_formed = !name.is_empty()
                && name.len() <= 50
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !well_formed {
                return Err(EngineError::Invalid(format!(
                    "module name '{name}' must be 1-50 lower-case letters, digits or '_'"
                )));
            }
            if names.contains(&name) {
                return Err(EngineError::Invalid(format!("module '{name}' is registered twice")));
            }
            if let Some(missing) = m.depends_on().iter().find(|d| !names.contains(d)) {
                return Err(EngineError::Invalid(format!(
                    "module '{name}' depends on '{missing}', which must be registered before it"
                )));
            }
            names.push(name);
            r.module = name;
            m.register(&mut r);
        }
        let jobs: HashMap<String, JobKind> = r.jobs.into_iter().map(|k| (k.qualified_name(), k)).collect();
        for job in &r.recurring {
            if !jobs.contains_key(job.kind) {
                r.errors.push(format!("recurring job '{}' names an unregistered job kind '{}'", job.name, job.kind));
            }
        }
        if !r.errors.is_empty() {
            return Err(EngineError::Invalid(r.errors.join("; ")));
        }
        Ok(Modules {
            names,
            pipeline: Pipeline::new(r.steps),
            seeds: r.seeds,
            first_run: r.first_run,
            jobs,
            recurring: r.recurring,
            actions: r.actions,
            schema: r.schema,
            views: r.views,
            grants: r.grants,
            printers: r.printers,
            boards: r.boards,
            dashboards: r.dashboards,
            endpoints: r.endpoints,
        })
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// A registered job kind by its `module.name`.
    pub fn job_kind(&self, name: &str) -> Option<&JobKind> {
        self.jobs.get(name)
    }

    /// The registered job kinds, by name.
    pub fn job_kinds(&self) -> Vec<&JobKind> {
        let mut kinds: Vec<&JobKind> = self.jobs.values().collect();
        kinds.sort_by_key(|k| k.qualified_name());
        kinds
    }

    pub fn recurring_jobs(&self) -> &[RecurringJob] {
        &self.recurring
    }

    /// A catalog operation by name (with or without the
    /// `Microsoft.Dynamics.CRM.` namespace): unbound, or bound to a record
    /// of `bound_to`.
    pub fn action(&self, name: &str, bound_to: Option<&str>) -> Option<&Action> {
        let name = name.strip_prefix(actions::NAMESPACE).unwrap_or(name);
        let binding = match bound_to {
            None => Binding::Global,
            Some(e) => {
                return self.actions.iter().find(|a| {
                    a.name == name && a.binding.entity() == Some(e) && matches!(a.binding, Binding::Entity(_))
                })
            }
        };
        self.actions.iter().find(|a| a.name == name && a.binding == binding)
    }

    /// The standard views the modules brought.
    pub fn views(&self) -> &[&'static SystemView] {
        &self.views
    }

    /// What the modules add to a standard role.
    pub fn grants_for(&self, role: &str) -> Vec<&Grant> {
        self.grants.iter().filter(|(r, _)| *r == role).map(|(_, g)| g).collect()
    }

    /// The schema files the modules brought.
    pub fn schema_files(&self) -> &[(&'static str, &'static str)] {
        &self.schema
    }

    /// The catalog, in registration order.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The boards, in registration order.
    pub fn boards(&self) -> &[Board] {
        &self.boards
    }

    /// The modules' endpoints.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The dashboards, in registration order.
    pub fn dashboards(&self) -> &[Dashboard] {
        &self.dashboards
    }

    /// Can a module print records of `entity`?
    pub fn prints(&self, entity: &str) -> bool {
        self.printers.iter().any(|(e, _)| *e == entity)
    }

    pub(crate) fn seed(&self, tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds) -> Result<()> {
        for (_, f) in &self.seeds {
            f(tx, schema, ids)?;
        }
        Ok(())
    }

    /// Brings `sdkmessageprocessingstep` in line with the registered
    /// steps, so that they can be read like any table. Ids are derived from
    /// the step's identity, so a step keeps its id across restarts.
    pub(crate) fn sync_steps(&self, tx: &mut Tx<'_>, schema: &Schema, system_user: Uuid) -> Result<()> {
        let text = |t: &str| if t.is_empty() { Value::Null } else { Value::String(t.to_string()) };
        let rows = self
            .pipeline
            .steps()
            .iter()
            .map(|step| {
                let row = vec![
                    Value::String(step.display_name()),
                    text(step.description),
                    Value::String(step.message.name().into()),
                    text(step.entity.unwrap_or("")),
                    Value::String(step.module.into()),
                    Value::Int(step.stage.number()),
                    Value::Int(step.mode.number()),
                    Value::Int(step.rank as i64),
                    text(&step.filtering_attributes.join(",")),
                ];
                (step.id(), row)
            })
            .collect();
        let columns = [
            "name",
            "description",
            "relata_messagename",
            "relata_primaryentity",
            "relata_module",
            "stage",
            "mode",
            "rank",
            "filteringattributes",
        ];
        sync_table(tx, schema, "sdkmessageprocessingstep", &columns, rows, system_user)
    }

    /// Brings `customapi`, `customapirequestparameter` and
    /// `customapiresponseproperty` in line with the catalog, so that the
    /// actions and functions can be read like any table (`/customapis`).
    pub(crate) fn sync_actions(&self, tx: &mut Tx<'_>, schema: &Schema, system_user: Uuid) -> Result<()> {
        const NAMESPACE: Uuid = Uuid::from_u128(0x5d1f_0b7e_2c44_4a19_9e6b_83a0_c7d2_41f5);
        let text = |t: &str| if t.is_empty() { Value::Null } else { Value::String(t.to_string()) };
        let (mut apis, mut params, mut props) = (Vec::new(), Vec::new(), Vec::new());
        for a in &self.actions {
            let key = format!("{}/{}", a.name, a.binding.entity().unwrap_or(""));
            let id = Uuid::new_v5(&NAMESPACE, key.as_bytes());
            let unique = match a.binding.entity() {
                Some(e) => format!("{}.{e}", a.name),
                None => a.name.to_string(),
            };
            apis.push((
                id,
                vec![
                    Value::String(unique.clone()),
                    Value::String(a.name.into()),
                    text(a.description),
                    Value::Int(a.binding.number()),
                    text(a.binding.entity().unwrap_or("")),
                    Value::Bool(a.is_function),
                    text(a.privilege.unwrap_or("")),
                    Value::String(a.module.into()),
                ],
            ));
            let api = Value::Ref(relata_metadata::EntityRef { entity: "customapi".into(), id });
            // A request parameter or a response property: the same columns,
            // and whether it may be left out for a parameter.
            let member = |p: &Parameter, way: &str| {
                let row = vec![
                    Value::String(format!("{unique}.{}", p.name)),
                    Value::String(p.name.into()),
                    api.clone(),
                    p.kind.custom_api_type().map(Value::Int).unwrap_or(Value::Null),
                    Value::String(p.kind.edm()),
                ];
                (Uuid::new_v5(&NAMESPACE, format!("{key}/{way}/{}", p.name).as_bytes()), row)
            };
            for p in &a.parameters {
                let (pid, mut row) = member(p, "in");
                row.push(Value::Bool(p.optional));
                params.push((pid, row));
            }
            props.extend(a.response().iter().map(|p| member(p, "out")));
        }
        let api_columns = [
            "uniquename",
            "name",
            "description",
            "bindingtype",
            "boundentitylogicalname",
            "isfunction",
            "executeprivilegename",
            "relata_module",
        ];
        sync_table(tx, schema, "customapi", &api_columns, apis, system_user)?;
        let member = ["uniquename", "name", "customapiid", "type", "relata_typename"];
        let param_columns = [&member[..], &["isoptional"]].concat();
        sync_table(tx, schema, "customapirequestparameter", &param_columns, params, system_user)?;
        sync_table(tx, schema, "customapiresponseproperty", &member, props, system_user)
    }

    /// Schedules each registered recurring job once per organization (its
    /// id derives from its kind and name), keeping its pattern current.
    pub(crate) fn schedule_recurring(&self, tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds) -> Result<()> {
        const RECURRING_NAMESPACE: Uuid = Uuid::from_u128(0x2b0e_61c4_93a7_4f0d_8c55_1e9a_70d3_b6f2);
        // A module no longer registered leaves its schedules behind: they
        // wait, canceled, until it comes back, instead of failing each time.
        let stored = tx.query(
            "SELECT asyncoperationid, relata_jobtype FROM asyncoperation
             WHERE recurrencepattern IS NOT NULL AND statecode IN (0, 1)",
            &[],
            &[Storage::Uuid, Storage::Text],
        )?;
        for row in stored {
            let (Some(id), Some(kind)) = (row[0].as_uuid(), row[1].as_str()) else { continue };
            if self.job_kind(kind).is_none() {
                tx.execute(
                    "UPDATE asyncoperation SET statecode = 3, statuscode = 32,
                        message = 'Canceled: no module registers this kind of job any more.'
                     WHERE asyncoperationid = $1",
                    &[Param::uuid(id)],
                )?;
            }
        }
        for job in &self.recurring {
            let id = Uuid::new_v5(&RECURRING_NAMESPACE, format!("{}/{}", job.kind, job.name).as_bytes());
            let stored = tx.query_one(
                "SELECT recurrencepattern, statecode, statuscode FROM asyncoperation WHERE asyncoperationid = $1",
                &[Param::uuid(id)],
                &[Storage::Text, Storage::Int, Storage::Int],
            )?;
            // Canceled when its module was away: scheduled again from now.
            if let Some(row) = &stored {
                if row[1].as_i64() == Some(crate::jobs::state::COMPLETED)
                    && row[2].as_i64() == Some(crate::jobs::status::CANCELED)
                {
                    tx.execute(
                        "UPDATE asyncoperation SET statecode = $1, statuscode = $2, postponeuntil = $3, message = NULL
                         WHERE asyncoperationid = $4",
                        &[
                            Param::int(crate::jobs::state::SUSPENDED),
                            Param::int(crate::jobs::status::WAITING),
                            Param::new(Value::DateTime(chrono::Utc::now()), Storage::Timestamp),
                            Param::uuid(id),
                        ],
                    )?;
                }
            }
            match stored {
                Some(row) if row[0].as_str() == Some(job.pattern) => {}
                Some(_) => {
                    tx.execute(
                        "UPDATE asyncoperation SET recurrencepattern = $1 WHERE asyncoperationid = $2",
                        &[Param::text(job.pattern), Param::uuid(id)],
                    )?;
                }
                None => {
                    let kind = self.job_kind(job.kind).expect("checked when the modules were built");
                    let now = Value::DateTime(chrono::Utc::now());
                    let text = |t: &str| Value::String(t.to_string());
                    crate::seed::insert(
                        tx,
                        schema,
                        "asyncoperation",
                        id,
                        ids.system_user,
                        vec![
                            ("name", text(job.name)),
                            ("operationtype", Value::Int(kind.operation_type.into())),
                            ("relata_jobtype", text(job.kind)),
                            ("data", text("{}")),
                            ("postponeuntil", now.clone()),
                            ("recurrencepattern", text(job.pattern)),
                            ("recurrencestarttime", now),
                            ("retrycount", Value::Int(0)),
                            ("depth", Value::Int(1)),
                            ("statecode", Value::Int(crate::jobs::state::SUSPENDED)),
                            ("statuscode", Value::Int(crate::jobs::status::WAITING)),
                            (
                                "ownerid",
                                Value::Ref(relata_metadata::EntityRef {
                                    entity: "systemuser".into(),
                                    id: ids.system_user,
                                }),
                            ),
                            (
                                "owningbusinessunit",
                                Value::Ref(relata_metadata::EntityRef {
                                    entity: "businessunit".into(),
                                    id: ids.root_business_unit,
                                }),
                            ),
                        ],
                    )?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn first_run(&self, s: &mut Session<'_, '_, '_>, req: &FirstRun) -> Result<()> {
        for f in &self.first_run {
            f(s, req)?;
        }
        Ok(())
    }
}

/// Keeps a table the engine writes at start-up equal to `rows` (id →
/// values of `columns`): a row that changed is written again, one no
/// longer wanted is removed. Ids derive from what each row describes, so
/// they are stable across restarts.
fn sync_table(
    tx: &mut Tx<'_>,
    schema: &Schema,
    entity: &str,
    columns: &[&str],
    rows: Vec<(Uuid, Vec<Value>)>,
    system_user: Uuid,
) -> Result<()> {
    let e = schema.entity(entity).ok_or_else(|| EngineError::Invalid(format!("unknown entity {entity}")))?;
    let mut storages = vec![Storage::Uuid];
    for c in columns {
        let attr = e.attribute(c).ok_or_else(|| EngineError::Invalid(format!("unknown attribute {entity}.{c}")))?;
        storages.push(Storage::of(attr));
    }
    let sql = format!("SELECT {}, {} FROM {}", e.primary_id(), columns.join(", "), e.table());
    let stored: HashMap<Uuid, Vec<Value>> = tx
        .query(&sql, &[], &storages)?
        .into_iter()
        .filter_map(|mut r| {
            let id = r.remove(0).as_uuid()?;
            Some((id, r))
        })
        .collect();
    // Lookups read back as their id.
    let comparable = |v: &Value| match v {
        Value::Ref(r) => Value::Uuid(r.id),
        other => other.clone(),
    };
    let delete = format!("DELETE FROM {} WHERE {} = $1", e.table(), e.primary_id());
    let mut wanted = HashSet::new();
    for (id, row) in rows {
        wanted.insert(id);
        let same = stored.get(&id).is_some_and(|s| s.iter().zip(&row).all(|(a, b)| *a == comparable(b)));
        if same {
            continue;
        }
        tx.execute(&delete, &[Param::uuid(id)])?;
        crate::seed::insert(tx, schema, entity, id, system_user, columns.iter().copied().zip(row).collect())?;
    }
    for stale in stored.keys().filter(|id| !wanted.contains(*id)) {
        tx.execute(&delete, &[Param::uuid(*stale)])?;
    }
    Ok(())
}

/// The modules of the standard build, in registration order.
pub fn standard() -> Vec<Arc<dyn Module>> {
    vec![
        Arc::new(crate::platform::Platform),
        Arc::new(crate::sales::Sales),
        Arc::new(crate::exchange1c::Exchange1C),
        Arc::new(crate::email::Email),
        Arc::new(crate::processes::Processes),
    ]
}

impl Session<'_, '_, '_> {
    /// Prints a record with the printer its module registered.
    pub fn print(&mut self, entity: &str, id: Uuid, template: Option<Uuid>) -> Result<Vec<u8>> {
        let printer = self.org.modules().printers.iter().find(|(e, _)| *e == entity).map(|(_, f)| *f);
        let printer = printer.ok_or_else(|| EngineError::Invalid(format!("'{entity}' records cannot be printed")))?;
        printer(self, entity, id, template)
    }
}
