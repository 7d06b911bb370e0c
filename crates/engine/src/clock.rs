//! The time the engine works by. The server uses the system clock; tests
//! use a [`ManualClock`] to move time forward — to make jobs due, leases
//! expire and recurrences come round — without waiting.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that runs with the system clock plus an offset the owner moves
/// forward: time keeps passing (leases and timeouts behave), and a test can
/// jump hours or days ahead.
#[derive(Default)]
pub struct ManualClock {
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock::default())
    }

    /// Moves the clock forward (a negative duration is refused: time that
    /// runs backwards would make finished leases valid again).
    pub fn advance(&self, by: Duration) {
        assert!(by >= Duration::zero(), "a clock only moves forward");
        *self.offset.lock() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock()
    }
}

impl fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}
