//! Hybrid logical clock: orders records sensibly even when phones' wall clocks are wrong.
//!
//! A timestamp is (wall milliseconds, counter). A device never issues a timestamp lower than
//! one it has issued or seen, so a record always sorts after everything its author knew of.

use serde::{Deserialize, Serialize};

/// One hybrid-logical-clock timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (the larger of the wall clock and all seen timestamps).
    pub ms: u64,
    /// Breaks ties between timestamps issued in the same millisecond.
    pub counter: u32,
}

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

    /// The clock after seeing a remote timestamp: never behind it.
    pub fn observe(self, remote: Hlc) -> Hlc {
        self.max(remote)
    }

    /// The timestamp as a signed millisecond instant (for calendar arithmetic).
    pub fn instant_ms(self) -> i64 {
        i64::try_from(self.ms).unwrap_or(i64::MAX)
    }
}

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
        let seen = local.observe(remote);
        assert!(seen.tick(20) > remote);
    }
}
