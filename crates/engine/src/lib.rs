//! The organization service: everything Relata does with records, callable
//! from the Web API, the CLI, imports and the 1C exchange alike.
//!
//! Invariants: this crate knows nothing of HTTP or JSON; every write goes
//! through [`Session`]'s pipeline (validate → rules → privileges → write),
//! and every read through `relata-query` with the caller's scope.

mod assign;
mod audit;
pub mod clock;
mod customize;
mod email;
mod error;
mod exchange1c;
pub mod jobs;
mod limits;
mod membership;
mod messages;
pub mod modules;
mod org;
mod platform;
mod principal;
mod privileges;
mod processes;
mod roles;
mod sales;
mod seed;
mod session;
mod settings;
mod setup;
mod sharing;
mod signin;
pub mod views;

pub use audit::AuditAction;
pub use clock::{Clock, ManualClock, SystemClock};
pub use customize::{can_be_secured, NewAttribute, NewEntity};
pub use email::{Email, Filled};
pub use error::{Detail, EngineError, ErrorMessage, Result};
pub use exchange1c::{Exchange1C, ImportProgress};
pub use limits::Lease;
pub use org::{MailSettings, Org, OrgConfig, OrgIds, TokenInfo};
pub use platform::notifications::{self, Notification};
pub use platform::Platform;
pub use privileges::{PrivilegeGrant, RolePrivilege};
pub use processes::{stage_entity, stage_required_columns, BusinessRule, Processes, CONDITION_OPERATORS};
pub use roles::{STANDARD_ROLES, SYSTEM_ADMINISTRATOR, SYSTEM_CUSTOMIZER};
pub use sales::{CloseRequest, QualifyLead, Sales};
pub use seed::currency_codes;
pub use session::{Condition, Fields, Nested, RecordInput, Session, UpsertOutcome};
pub use settings::{OwnSettings, LANGUAGES};
pub use setup::FirstRun;
pub use signin::{SignIn, SignInPolicy};
