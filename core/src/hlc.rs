//! Hybrid logical clock: orders records sensibly even when phones' wall clocks are wrong.
//!
//! A timestamp is (wall milliseconds, counter). A device never issues a timestamp lower than
//! one it has issued or seen, so a record always sorts after everything its author knew of.
//!
//! The clock is bounded, as CockroachDB's is by its maximum offset: a timestamp seen from another
//! device more than [`MAX_AHEAD_MS`] ahead of this device's wall clock is not adopted (the record
//! is kept, and the store lists it as dated in the future), so one phone with a clock years ahead
//! cannot drag every other clock along. A device's own clock never goes back, so a phone whose
//! wall clock falls back (to 1970 after a flat battery, say) goes on from the last timestamp it
//! issued or adopted.

use serde::{Deserialize, Serialize};

/// One hybrid-logical-clock timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (the larger of the wall clock and all seen timestamps).
    pub ms: u64,
    /// Breaks ties between timestamps issued in the same millisecond.
    pub counter: u32,
}

/// How far ahead of this device's wall clock a timestamp may be and still be adopted, or still
/// count as "now" rather than "in the future" (one hour: phones set their clocks from the network,
/// and an hour covers a clock set by hand a little wrong, not one set to another day).
pub const MAX_AHEAD_MS: u64 = 60 * 60 * 1000;

impl Hlc {
    /// The zero timestamp, before every other.
    pub const ZERO: Hlc = Hlc { ms: 0, counter: 0 };

    /// The next timestamp after `self`, given the wall clock now.
    pub fn tick(self, wall_ms: u64) -> Hlc {
        if wall_ms > self.ms {
            Hlc {
                ms: wall_ms,
                counter: 0,
            }
        } else {
            Hlc {
                ms: self.ms,
                counter: self.counter.saturating_add(1),
            }
        }
    }

    /// The clock after seeing a remote timestamp at wall time `wall_ms`: never behind it, unless
    /// it is more than [`MAX_AHEAD_MS`] ahead of the wall clock, when it is not adopted.
    pub fn observe(self, remote: Hlc, wall_ms: u64) -> Hlc {
        if remote.is_ahead_of(wall_ms) {
            self
        } else {
            self.max(remote)
        }
    }

    /// Whether this timestamp is more than [`MAX_AHEAD_MS`] ahead of `wall_ms`.
    pub fn is_ahead_of(self, wall_ms: u64) -> bool {
        self.ms > latest_now(wall_ms)
    }

    /// The timestamp as a signed millisecond instant (for calendar arithmetic).
    pub fn instant_ms(self) -> i64 {
        i64::try_from(self.ms).unwrap_or(i64::MAX)
    }
}

/// The latest instant that still counts as "now" for a device whose wall clock reads
/// `wall_ms`: anything later is dated in the future.
pub fn latest_now(wall_ms: u64) -> u64 {
    wall_ms.saturating_add(MAX_AHEAD_MS)
}

/// A wall clock (Unix ms) that several owners read: a store, its façade, a sync session.
pub type SharedClock = std::sync::Arc<dyn Fn() -> u64 + Send + Sync>;

/// Milliseconds since the Unix epoch by this machine's wall clock.
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_is_monotonic_when_the_wall_clock_goes_back() {
        let a = Hlc::ZERO.tick(1_000);
        let b = a.tick(900);
        let c = b.tick(900);
        assert!(a < b && b < c);
        assert_eq!(
            c,
            Hlc {
                ms: 1_000,
                counter: 2
            }
        );
        assert_eq!(
            c.tick(2_000),
            Hlc {
                ms: 2_000,
                counter: 0
            }
        );
    }

    #[test]
    fn observing_a_remote_timestamp_moves_the_clock_forward() {
        let local = Hlc { ms: 10, counter: 4 };
        let remote = Hlc { ms: 50, counter: 1 };
        let seen = local.observe(remote, 20);
        assert!(seen.tick(20) > remote);
    }

    /// Issue 11, finding 3: after syncing with one phone whose clock was years ahead, every
    /// device's clock jumped there and never came back.
    #[test]
    fn a_remote_timestamp_far_ahead_of_the_wall_clock_is_not_adopted() {
        let wall = 1_796_000_000_000;
        let local = Hlc {
            ms: wall,
            counter: 0,
        };
        let years_ahead = Hlc {
            ms: wall + 3 * 365 * 86_400_000,
            counter: 0,
        };
        assert_eq!(local.observe(years_ahead, wall), local);
        assert_eq!(local.observe(years_ahead, wall).tick(wall + 1).ms, wall + 1);
        // Within the bound it is adopted, as before.
        let a_minute_ahead = Hlc {
            ms: wall + 60_000,
            counter: 3,
        };
        assert_eq!(local.observe(a_minute_ahead, wall), a_minute_ahead);
        assert!(local.observe(a_minute_ahead, wall).tick(wall) > a_minute_ahead);
    }
}
