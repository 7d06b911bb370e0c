//! Service protection: requests per user per minute, answered with 429 and
//! `Retry-After` beyond the limit. The budget lives in the database
//! (`Org::lease_requests`), so it holds across every server process that
//! shares it; each process leases a small batch at a time and spends it
//! locally, so most requests need no round trip.

use std::collections::HashMap;

use parking_lot::Mutex;
use relata_engine::Org;
use uuid::Uuid;

use crate::error::ApiError;

pub struct RateLimiter {
    per_minute: u32,
    /// Leased budget per user: (window, requests left).
    leases: Mutex<HashMap<Uuid, (i64, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter { per_minute, leases: Mutex::new(HashMap::new()) }
    }

    /// How many requests one lease takes: a twentieth of the budget, so
    /// that several processes share it fairly.
    fn batch(&self) -> u32 {
        (self.per_minute / 20).max(1)
    }

    pub fn check(&self, org: &Org, user: Uuid) -> Result<(), ApiError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp();
        let window = now - now.rem_euclid(60);
        {
            let mut leases = self.leases.lock();
            if let Some((w, left)) = leases.get_mut(&user) {
                if *w == window && *left > 0 {
                    *left -= 1;
                    return Ok(());
                }
            }
        }
        let lease = org.lease_requests(user, self.per_minute, self.batch())?;
        if lease.granted == 0 {
            return Err(ApiError::too_many(lease.retry_after));
        }
        self.leases.lock().insert(user, (lease.window, lease.granted - 1));
        Ok(())
    }
}
