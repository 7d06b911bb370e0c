//! The platform module: the rules every organization runs whatever other
//! modules it has — full names, base-currency amounts, activity durations
//! and read-only closed activities, note attachments, and the invariants
//! of users, teams, roles and business units; and the system jobs that
//! run asynchronous steps, bulk deletes and the server's periodic work.

mod bulkdelete;
mod lifecycle;
pub mod notifications;
mod security;
mod steps;

use crate::modules::{Message, Module, Registry, Stage, Step};

pub(crate) use steps::money_bases;

pub struct Platform;

impl Module for Platform {
    fn name(&self) -> &'static str {
        "platform"
    }

    fn register(&self, r: &mut Registry) {
        steps::register(r);
        r.step(
            Step::new("lifecycle", Message::Update, Stage::PreOperation, lifecycle::check_step).rank(20).describe(
                "State changes the entity's lifecycle allows, those reserved to actions, and read-only states.",
            ),
        );
        for message in [Message::Create, Message::Update, Message::Delete] {
            r.step(
                Step::new("system_job", message, Stage::PreValidation, crate::jobs::check_job_change)
                    .entity("asyncoperation")
                    .describe("System jobs are created by the server; users cancel, retry, postpone or delete them."),
            );
        }
        for kind in crate::jobs::platform_kinds() {
            r.job(kind);
        }
        for message in [Message::Create, Message::Update, Message::Delete] {
            for entity in ["bulkdeleteoperation", "bulkdeletefailure"] {
                r.step(
                    Step::new("bulk_delete_record", message, Stage::PreValidation, bulkdelete::check_change)
                        .entity(entity)
                        .describe("Bulk delete records are written by the BulkDelete action and its job."),
                );
            }
        }
        for message in [Message::Create, Message::Update] {
            let step = Step::new("notification_expiry", message, Stage::PreOperation, notifications::expiry)
                .entity("appnotification")
                .describe("A notification expires its time to live after it was created.");
            r.step(if message == Message::Update { step.filtering(&["ttlinseconds"]) } else { step });
        }
        r.step(
            Step::new("assigned_notification", Message::Assign, Stage::PostOperation, notifications::assigned)
                .describe("A record assigned to someone else tells them in a notification."),
        );
        security::register(r);
        r.action(bulkdelete::action());
        r.job(bulkdelete::kind());
        for job in crate::jobs::platform_recurring() {
            r.recurring(job);
        }
    }
}
