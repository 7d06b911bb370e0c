//! The event pipeline: the steps modules register, and the order the
//! session runs them in.
//!
//! A step is Dataverse's `sdkmessageprocessingstep`: a message × a primary
//! entity (or every entity) × a stage × a rank, optionally limited to
//! changes of some columns. The session calls [`Pipeline::run`] at each
//! stage of each message; nothing else runs business rules.

use std::fmt;

use relata_metadata::{Entity, EntityRef, Value};
use uuid::Uuid;

use crate::error::Result;
use crate::session::{Fields, Session};

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    Create,
    Update,
    Delete,
    /// An update that changes the owner (runs besides the Update steps).
    Assign,
    /// An update that changes `statecode` (runs besides the Update steps).
    SetState,
    /// A link made through a navigation property.
    Associate,
    /// A link removed through a navigation property.
    Disassociate,
}

impl Message {
    pub const ALL: [Message; 7] = [
        Message::Create,
        Message::Update,
        Message::Delete,
        Message::Assign,
        Message::SetState,
        Message::Associate,
        Message::Disassociate,
    ];

    /// The Dataverse message name.
    pub fn name(self) -> &'static str {
        match self {
            Message::Create => "Create",
            Message::Update => "Update",
            Message::Delete => "Delete",
            Message::Assign => "Assign",
            Message::SetState => "SetState",
            Message::Associate => "Associate",
            Message::Disassociate => "Disassociate",
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// When a step runs, with Dataverse's stage numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Before the privilege checks. The target may be changed; a step
    /// here refuses a request before any security work is done. (Relata
    /// runs it inside the request's transaction: a request is one
    /// transaction, so nothing a step writes can outlive a refusal.)
    PreValidation = 10,
    /// After the privilege checks, before the write; the target may be changed.
    PreOperation = 20,
    /// After the write, in its transaction; changes to the target are ignored.
    PostOperation = 40,
}

impl Stage {
    pub fn number(self) -> i64 {
        self as i64
    }

    pub fn name(self) -> &'static str {
        match self {
            Stage::PreValidation => "PreValidation",
            Stage::PreOperation => "PreOperation",
            Stage::PostOperation => "PostOperation",
        }
    }
}

/// How a step runs, with Dataverse's mode numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// In the request's transaction: an error refuses the request.
    Synchronous = 0,
    /// After the request commits, as a system job run as the same user
    /// (PostOperation only); an error fails the job, not the request.
    Asynchronous = 1,
}

impl Mode {
    pub fn number(self) -> i64 {
        self as i64
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Synchronous => "Synchronous",
            Mode::Asynchronous => "Asynchronous",
        }
    }
}

/// What a step is given.
pub struct StepContext<'a> {
    pub message: Message,
    pub stage: Stage,
    pub entity: &'a Entity,
    /// The record's id (known before a create's PreOperation stage).
    pub id: Uuid,
    /// The record as stored before the operation (Update, Delete, and the
    /// record side of Associate/Disassociate).
    pub pre_image: Option<&'a Fields>,
    /// The columns being written: every column of a create, the changes
    /// of an update; empty for Delete and links.
    pub target: &'a mut Fields,
    /// Associate/Disassociate: the relationship and the other record.
    pub related: Option<(&'a str, &'a EntityRef)>,
}

impl StepContext<'_> {
    /// The value after the operation: the target's if it sets it, else the
    /// stored one.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.target.get(name).or_else(|| self.pre_image.and_then(|p| p.get(name)))
    }

    pub fn is_create(&self) -> bool {
        self.message == Message::Create
    }
}

/// A step's code. Steps change records only through the session's record
/// API (create, update, delete, associate), never with SQL on entity tables.
pub type Handler = fn(&mut Session<'_, '_, '_>, &mut StepContext<'_>) -> Result<()>;

/// A step's code for many records at once (Dataverse's `CreateMultiple`
/// and `UpdateMultiple`): it reads what the records share once instead of
/// once per record. It must decide exactly what [`Handler`] decides for
/// each record, including conflicts between the records it is given.
pub type BatchHandler = fn(&mut Session<'_, '_, '_>, &mut [&mut StepContext<'_>]) -> Result<()>;

/// A registered step.
#[derive(Clone)]
pub struct Step {
    /// Unique within its module, e.g. `price_line`.
    pub name: &'static str,
    pub description: &'static str,
    pub message: Message,
    /// The primary entity, or `None` for every entity.
    pub entity: Option<&'static str>,
    pub stage: Stage,
    pub mode: Mode,
    /// Order within a stage: lower first; equal ranks run in module order,
    /// then in registration order.
    pub rank: i32,
    /// Update only: run only when one of these columns is in the changes.
    pub filtering_attributes: &'static [&'static str],
    pub handler: Handler,
    /// The same rule over many records, when the step has one.
    pub batch: Option<BatchHandler>,
    /// Filled in by the registry.
    pub module: &'static str,
}

/// Namespace of the ids of registered steps.
const STEP_NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_2a7e_8b3d_4c69_9e01_7a6b_d2c4_f380);

/// The default rank of a step.
pub const DEFAULT_RANK: i32 = 100;

impl Step {
    pub fn new(name: &'static str, message: Message, stage: Stage, handler: Handler) -> Step {
        Step {
            name,
            description: "",
            message,
            entity: None,
            stage,
            mode: Mode::Synchronous,
            rank: DEFAULT_RANK,
            filtering_attributes: &[],
            handler,
            batch: None,
            module: "",
        }
    }

    /// Gives the step a handler for many records at once.
    pub fn batch(mut self, handler: BatchHandler) -> Step {
        self.batch = Some(handler);
        self
    }

    pub fn entity(mut self, entity: &'static str) -> Step {
        self.entity = Some(entity);
        self
    }

    pub fn rank(mut self, rank: i32) -> Step {
        self.rank = rank;
        self
    }

    pub fn describe(mut self, description: &'static str) -> Step {
        self.description = description;
        self
    }

    pub fn filtering(mut self, attributes: &'static [&'static str]) -> Step {
        self.filtering_attributes = attributes;
        self
    }

    /// Runs as a background job after the write commits.
    pub fn asynchronous(mut self) -> Step {
        self.mode = Mode::Asynchronous;
        self
    }

    /// A stable id: the same step keeps it across restarts (UUID v5 of
    /// module, name, message and entity).
    pub fn id(&self) -> Uuid {
        let key = format!("{}/{}/{}/{}", self.module, self.name, self.message, self.entity.unwrap_or(""));
        Uuid::new_v5(&STEP_NAMESPACE, key.as_bytes())
    }

    /// The name `sdkmessageprocessingsteps` shows: module, step, message
    /// and entity, as Dataverse's tools name steps.
    pub fn display_name(&self) -> String {
        format!("{}.{}: {} of {}", self.module, self.name, self.message, self.entity.unwrap_or("any entity"))
    }

    fn applies(&self, entity: &str, target: &Fields) -> bool {
        if self.entity.is_some_and(|e| e != entity) {
            return false;
        }
        self.message != Message::Update
            || self.filtering_attributes.is_empty()
            || self.filtering_attributes.iter().any(|a| target.contains_key(*a))
    }
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step")
            .field("module", &self.module)
            .field("name", &self.name)
            .field("message", &self.message)
            .field("entity", &self.entity)
            .field("stage", &self.stage)
            .field("rank", &self.rank)
            .finish()
    }
}

/// Every registered step, in execution order.
#[derive(Debug, Default)]
pub struct Pipeline {
    steps: Vec<Step>,
}

impl Pipeline {
    /// `steps` in registration order (module order, then the order each
    /// module registered them).
    pub(crate) fn new(mut steps: Vec<Step>) -> Pipeline {
        // A stable sort keeps registration order among equal ranks.
        steps.sort_by_key(|s| (s.stage, s.rank));
        Pipeline { steps }
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Runs the steps of `stage` for any of `messages`, in order. An error
    /// stops the operation (and its transaction).
    pub(crate) fn run(
        &self,
        s: &mut Session<'_, '_, '_>,
        messages: &[Message],
        stage: Stage,
        ctx: &mut StepContext<'_>,
    ) -> Result<()> {
        for step in &self.steps {
            if step.stage != stage || !messages.contains(&step.message) || !step.applies(ctx.entity.name(), ctx.target)
            {
                continue;
            }
            ctx.message = step.message;
            ctx.stage = stage;
            match step.mode {
                Mode::Synchronous => (step.handler)(s, ctx)?,
                Mode::Asynchronous => crate::jobs::enqueue_step(s, step, ctx)?,
            }
        }
        Ok(())
    }

    /// [`Self::run`] over many records of one entity, step by step: each
    /// step sees every record before the next step runs, through its batch
    /// handler when it has one. `messages[i]` are the messages of `ctxs[i]`.
    pub(crate) fn run_many(
        &self,
        s: &mut Session<'_, '_, '_>,
        messages: &[Vec<Message>],
        stage: Stage,
        ctxs: &mut [StepContext<'_>],
    ) -> Result<()> {
        for step in &self.steps {
            if step.stage != stage {
                continue;
            }
            let mut chosen: Vec<&mut StepContext<'_>> = ctxs
                .iter_mut()
                .zip(messages)
                .filter(|(c, m)| m.contains(&step.message) && step.applies(c.entity.name(), c.target))
                .map(|(c, _)| {
                    c.message = step.message;
                    c.stage = stage;
                    c
                })
                .collect();
            if chosen.is_empty() {
                continue;
            }
            match (step.mode, step.batch) {
                (Mode::Synchronous, Some(batch)) => batch(s, &mut chosen)?,
                (Mode::Synchronous, None) => {
                    for c in chosen {
                        (step.handler)(s, c)?;
                    }
                }
                (Mode::Asynchronous, _) => {
                    for c in chosen {
                        crate::jobs::enqueue_step(s, step, c)?;
                    }
                }
            }
        }
        Ok(())
    }
}
