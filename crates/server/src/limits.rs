//! Service protection: requests per user per minute, answered with 429 and
//! `Retry-After` beyond the limit. The window is per process.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use uuid::Uuid;

use crate::error::ApiError;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<Uuid, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    pub fn check(&self, user: Uuid) -> Result<(), ApiError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut w = self.windows.lock();
        let entry = w.entry(user).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.per_minute {
            let retry = 60 - now.duration_since(entry.0).as_secs().min(59);
            return Err(ApiError::too_many(retry));
        }
        Ok(())
    }
}
