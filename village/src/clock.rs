//! The village's time: its first morning and a clock that every store of the village reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use carebank_core::CareStore;

/// 2026-11-02 08:00 CST, a Monday: the village's first morning.
pub const START_MS: u64 = 1_793_577_600_000;
/// One day in milliseconds.
pub const DAY: u64 = 86_400_000;
/// One minute in milliseconds.
pub const MINUTE: u64 = 60_000;

/// A clock that every store of a village reads, moved by the caller.
#[derive(Clone)]
pub struct SimClock(Arc<AtomicU64>);

impl SimClock {
    /// A clock at `ms`.
    pub fn at(ms: u64) -> SimClock {
        SimClock(Arc::new(AtomicU64::new(ms)))
    }
    /// Now.
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    /// Moves to `ms`.
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    /// Moves forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    /// Makes `store` read this clock as its wall clock.
    pub fn drive(&self, store: &mut CareStore) {
        let clock = self.clone();
        store.set_wall_clock(Box::new(move || clock.now()));
    }
}
