//! Service protection: each user's requests per minute, counted in the
//! database so that every server process sharing it draws on one budget.
//! Processes lease small batches of the budget, so most requests need no
//! database round trip and the total never exceeds the limit.

use chrono::Utc;
use relata_store::{Backend, Param, Storage};
use uuid::Uuid;

use crate::error::Result;
use crate::org::Org;

/// Requests granted from a user's budget for the current minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The minute (Unix seconds at its start) the lease is for.
    pub window: i64,
    /// How many requests were granted (0: the budget is spent).
    pub granted: u32,
    /// Seconds until the next window.
    pub retry_after: u64,
}

impl Org {
    /// Takes up to `want` requests from `user`'s budget of `limit` per minute.
    pub fn lease_requests(&self, user: Uuid, limit: u32, want: u32) -> Result<Lease> {
        let now = Utc::now().timestamp();
        let window = now - now.rem_euclid(60);
        let retry_after = (window + 60 - now).max(1) as u64;
        self.db.write(|tx| {
            let created = tx.execute(
                "INSERT INTO relata_request_window (systemuserid, window_start, used) VALUES ($1, $2, 0)
                 ON CONFLICT (systemuserid, window_start) DO NOTHING",
                &[Param::uuid(user), Param::bigint(window)],
            )?;
            if created > 0 {
                tx.execute(
                    "DELETE FROM relata_request_window WHERE systemuserid = $1 AND window_start < $2",
                    &[Param::uuid(user), Param::bigint(window)],
                )?;
            }
            let lock = if tx.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
            let used = tx
                .query_one(
                    &format!(
                        "SELECT used FROM relata_request_window WHERE systemuserid = $1 AND window_start = $2{lock}"
                    ),
                    &[Param::uuid(user), Param::bigint(window)],
                    &[Storage::BigInt],
                )?
                .and_then(|r| r[0].as_i64())
                .unwrap_or(0);
            let granted = (limit as i64 - used).clamp(0, want as i64);
            if granted > 0 {
                tx.execute(
                    "UPDATE relata_request_window SET used = used + $1 WHERE systemuserid = $2 AND window_start = $3",
                    &[Param::int(granted), Param::uuid(user), Param::bigint(window)],
                )?;
            }
            Ok(Lease { window, granted: granted as u32, retry_after })
        })
    }
}
