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

use crate::time::UnixMs;

/// One hybrid-logical-clock timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (the larger of the wall clock and all seen timestamps).
    /// A record's field, not a [`UnixMs`]: the record format bounds it by 2^53 - 1, and a
    /// record dated past 9999 is kept (and listed as dated in the future), not refused.
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
    pub fn tick(self, wall: UnixMs) -> Hlc {
        let wall_ms = wall.as_u64();
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

    /// The clock after seeing a remote timestamp at wall time `wall`: never behind it, unless
    /// it is more than [`MAX_AHEAD_MS`] ahead of the wall clock, when it is not adopted.
    pub fn observe(self, remote: Hlc, wall: UnixMs) -> Hlc {
        if remote.is_ahead_of(wall) {
            self
        } else {
            self.max(remote)
        }
    }

    /// Whether this timestamp is more than [`MAX_AHEAD_MS`] ahead of `wall`.
    pub fn is_ahead_of(self, wall: UnixMs) -> bool {
        self.instant_ms() > latest_now(wall)
    }

    /// The timestamp as a signed millisecond instant (for calendar arithmetic).
    pub fn instant_ms(self) -> i64 {
        i64::try_from(self.ms).unwrap_or(i64::MAX)
    }
}

/// The latest instant that still counts as "now" for a device whose wall clock reads
/// `wall` (Unix ms): anything later is dated in the future.
pub fn latest_now(wall: UnixMs) -> i64 {
    wall.plus(MAX_AHEAD_MS)
}

/// A wall clock (Unix ms) that several owners read: a store, its façade, a sync session. Its
/// reading comes from outside (the phone, a test's simulated clock): the store turns it into a
/// [`UnixMs`], refusing one outside the range, before any timestamp is taken from it.
pub type SharedClock = std::sync::Arc<dyn Fn() -> u64 + Send + Sync>;

/// Milliseconds since the Unix epoch by this machine's wall clock (a [`SharedClock`] reading).
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> UnixMs {
        UnixMs::try_from(ms).expect("instant")
    }

    #[test]
    fn tick_is_monotonic_when_the_wall_clock_goes_back() {
        let a = Hlc::ZERO.tick(at(1_000));
        let b = a.tick(at(900));
        let c = b.tick(at(900));
        assert!(a < b && b < c);
        assert_eq!(
            c,
            Hlc {
                ms: 1_000,
                counter: 2
            }
        );
        assert_eq!(
            c.tick(at(2_000)),
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
        let seen = local.observe(remote, at(20));
        assert!(seen.tick(at(20)) > remote);
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
        assert_eq!(local.observe(years_ahead, at(wall)), local);
        assert_eq!(
            local.observe(years_ahead, at(wall)).tick(at(wall + 1)).ms,
            wall + 1
        );
        // Within the bound it is adopted, as before.
        let a_minute_ahead = Hlc {
            ms: wall + 60_000,
            counter: 3,
        };
        assert_eq!(local.observe(a_minute_ahead, at(wall)), a_minute_ahead);
        assert!(local.observe(a_minute_ahead, at(wall)).tick(at(wall)) > a_minute_ahead);
    }
}
