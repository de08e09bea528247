//! The reference village and its simulated workload (`shared/WORKLOAD.md`): a centre, one
//! village point, a coordinator, caregivers, volunteers and elders, each member on a device store
//! of their own, a simulated clock that every store reads, and a deterministic generator of the
//! village's days (care work, corrections, the time bank).
//!
//! `carebank demo` plays it, the bench measures it and the cross-crate tests
//! (`carebank-scenarios`) build on it: one village, so all three see the same one.

mod clock;
mod ids;
mod play;
mod time_bank;
mod village;
pub mod workload;

pub use clock::{DAY, MINUTE, START_MS, SimClock};
pub use ids::{fixed_id, household_of, key};
pub use play::Played;
pub use time_bank::TimeBankDay;
pub use village::{Device, ElderSpec, Opener, Village, enrolment, full_consent};

/// The village's errors: whatever went wrong, from the core or from the opener.
pub type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;
