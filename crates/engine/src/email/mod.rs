//! Email in and out: the email activity sent over SMTP and received by
//! polling IMAP mailboxes, email templates and signatures.
//!
//! - `send.rs`: `SendEmail` moves an email to Pending Send and enqueues
//!   its send job; the job's effect talks to the SMTP server outside any
//!   transaction, and its step records the outcome (Sent, a retry, or
//!   Failed with the reason).
//! - `receive.rs`: a recurring job polls every active mailbox by IMAP
//!   UID, files each new message as a received email linked to its
//!   sender's record and to the thread it answers, never twice.
//! - `template.rs`: templates with placeholders read from a record and
//!   its related records (`SendEmailFromTemplate`, and the email form's
//!   template chooser through `Session::fill_template`).
//! - `address.rs`: from records to addresses and back, by each party
//!   entity's email column (metadata: format `Email`).
//!
//! The servers are the organization's (`RELATA_SMTP_URL`,
//! `RELATA_IMAP_URL`) or a user's own (`mailbox` records).

mod address;
mod receive;
pub(crate) mod send;
mod template;

use relata_security::{Depth, Right};

use crate::jobs::{operation, JobKind, RecurringJob};
use crate::modules::{Action, Binding, Message, Module, ParamType as T, Registry, Stage, Step};
use crate::roles::Grant;

pub(crate) use send::queue;
pub use template::Filled;
pub(crate) use template::{fill, record_context, render_check, Reads};

/// The email module.
pub struct Email;

const SEND_JOB: &str = "email.send";
const POLL_JOB: &str = "email.poll";

/// Everyone keeps their own templates, signatures and mailbox and reads
/// the organization's templates.
const OWN: &[Right] = &[Right::Create, Right::Write, Right::Delete, Right::Assign, Right::Share];
const READ_APPEND: &[Right] = &[Right::Read, Right::Append, Right::AppendTo];
const PERSONAL: &[&str] = &["template", "emailsignature", "mailbox"];

impl Module for Email {
    fn name(&self) -> &'static str {
        "email"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["platform"]
    }

    fn register(&self, r: &mut Registry) {
        r.schema("email.toml", include_str!("schema.toml"))
            .seed(send::seed)
            .job(
                JobKind::new("send", operation::SYSTEM_EVENT, send::step).attempts(send::ATTEMPTS).effect(send::effect),
            )
            .job(
                JobKind::new("poll", operation::SYSTEM_EVENT, receive::poll)
                    .attempts(1)
                    .platform_only()
                    .effect(receive::fetch),
            )
            .recurring(RecurringJob { kind: POLL_JOB, name: "Poll mailboxes", pattern: "FREQ=MINUTELY;INTERVAL=1" })
            .action(
                Action::new("SendEmail", send::send_email)
                    .describe("Sends an email: it is Pending Send until the SMTP server takes it, then Sent or Failed.")
                    .param("EmailId", T::Guid)
                    .param("IssueSend", T::Boolean)
                    .optional("TrackingToken", T::String)
                    .returns("Subject", T::String),
            )
            .action(
                Action::new("SendEmailFromTemplate", template::send_from_template)
                    .describe("Creates an email from a template for a record and sends it.")
                    .param("TemplateId", T::Guid)
                    .param("RegardingId", T::Guid)
                    .param("RegardingType", T::String)
                    .param("Target", T::Entity("email"))
                    .returns_entity("email"),
            )
            .action(
                Action::new("InstantiateTemplate", template::instantiate)
                    .describe("Fills a template in for a record: the email it makes, not saved.")
                    .param("TemplateId", T::Guid)
                    .param("ObjectType", T::String)
                    .param("ObjectId", T::Guid)
                    .returns_records(),
            )
            .action(
                Action::new("SendEmailNow", send::send_email_now)
                    .bound(Binding::Entity("email"))
                    .label("Send", "Отправить")
                    .describe("Sends a draft or failed email (SendEmail with IssueSend)."),
            );
        for message in [Message::Create, Message::Update] {
            r.step(
                Step::new("template_compiles", message, Stage::PreOperation, template::check)
                    .entity("template")
                    .describe("A template's subject and body are valid placeholder text."),
            )
            .step(
                Step::new("mailbox_servers", message, Stage::PreOperation, receive::check_mailbox)
                    .entity("mailbox")
                    .describe("A mailbox's server URLs are IMAP and SMTP URLs that parse."),
            );
        }
        for role in ["Salesperson", "Sales Manager", "Customer Service Representative", "Customer Service Manager"] {
            r.grant(role, Grant { entities: PERSONAL, rights: OWN, depth: Depth::User })
                .grant(role, Grant { entities: &["template"], rights: READ_APPEND, depth: Depth::Organization })
                .grant(
                    role,
                    Grant { entities: &["emailsignature", "mailbox"], rights: READ_APPEND, depth: Depth::User },
                );
        }
    }
}
