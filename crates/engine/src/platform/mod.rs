//! The platform module: the rules every organization runs whatever other
//! modules it has — full names, base-currency amounts, activity durations
//! and read-only closed activities, note attachments, and the invariants
//! of users, teams, roles and business units.

mod steps;

use crate::modules::{Module, Registry};

pub(crate) use steps::money_bases;

pub struct Platform;

impl Module for Platform {
    fn name(&self) -> &'static str {
        "platform"
    }

    fn register(&self, r: &mut Registry) {
        steps::register(r);
    }
}
