//! The server's own periodic work, as recurring platform jobs: users see
//! when each ran and what it did in System Jobs, but cannot cancel them.

use chrono::Duration;
use relata_metadata::Value;
use relata_store::{Param, Storage};

use super::{operation, JobContext, JobKind, JobStep, RecurringJob};
use crate::error::Result;
use crate::session::Session;

pub(crate) fn kinds() -> Vec<JobKind> {
    vec![
        JobKind::new("purgeexpired", operation::DELETION_SERVICE, purge_expired).platform_only(),
        JobKind::new("statistics", operation::DATABASE_STATISTICS, refresh_statistics).platform_only(),
    ]
}

pub(crate) fn recurring() -> Vec<RecurringJob> {
    vec![
        RecurringJob {
            kind: "platform.purgeexpired",
            name: "Remove expired access tokens and sign-in counters",
            pattern: "FREQ=DAILY;INTERVAL=1",
        },
        RecurringJob {
            kind: "platform.statistics",
            name: "Refresh the database's planner statistics",
            pattern: "FREQ=MINUTELY;INTERVAL=10",
        },
    ]
}

/// The query planner chooses indexes from statistics that go stale as
/// rows are added (SQLite never refreshes them itself; PostgreSQL's
/// autovacuum may be late after a bulk load). Every ten minutes the job
/// looks whether enough writes went by and, if so, refreshes them — at a
/// known time, as a job, instead of inside whichever request crossed the
/// count.
fn refresh_statistics(s: &mut Session<'_, '_, '_>, _: &mut JobContext) -> Result<JobStep> {
    let db = s.org.db();
    let writes = db.writes_since_statistics();
    if !db.statistics_stale() {
        return Ok(JobStep::Done(Some(format!("Statistics are current ({writes} writes since the last refresh)."))));
    }
    s.tx.batch(db.statistics_sql())?;
    db.statistics_refreshed();
    Ok(JobStep::Done(Some(format!("Refreshed the planner statistics after {writes} writes."))))
}

/// Access tokens 30 days past their expiry or revocation are of no use
/// (kept that long so that `relata token list` still explains a refusal);
/// sign-in throttles and request windows older than a day count nothing.
fn purge_expired(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let ts = |t| Param::new(Value::DateTime(t), Storage::Timestamp);
    let month_ago = job.now - Duration::days(30);
    let day_ago = job.now - Duration::days(1);
    let tokens = s.tx.execute(
        "DELETE FROM relata_token WHERE (expires_on IS NOT NULL AND expires_on < $1)
            OR (revoked_on IS NOT NULL AND revoked_on < $1)",
        &[ts(month_ago)],
    )?;
    let throttles = s.tx.execute("DELETE FROM relata_signin_throttle WHERE window_start < $1", &[ts(day_ago)])?;
    let windows = s
        .tx
        .execute("DELETE FROM relata_request_window WHERE window_start < $1", &[Param::bigint(day_ago.timestamp())])?;
    Ok(JobStep::Done(Some(format!(
        "Removed {tokens} expired access tokens, {throttles} sign-in counters and {windows} request counters."
    ))))
}
