//! Home visits (探访) and the follow-ups they promise.

use carebank_core::domain as d;

use crate::convert::{self, mirror_enum};
use crate::error::{CareError, Result};

mirror_enum! {
    /// A three-step judgement used for observations.
    Level = d::Level {
        /// 好.
        Good,
        /// 一般.
        Fair,
        /// 差.
        Poor,
    }
}

mirror_enum! {
    /// A risk the caregiver flagged (needs consent to health observations).
    RiskFlag = d::RiskFlag {
        /// Found ill.
        Illness,
        /// Fell, or likely to.
        FallRisk,
        /// Home unsafe (gas, wiring, cold).
        UnsafeHome,
        /// No food in the house.
        NoFood,
        /// Distressed, confused or withdrawn.
        Distress,
        /// Needs a doctor.
        NeedsMedicalCare,
    }
}

/// What the caregiver saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct Observations {
    /// Health (needs consent to health observations).
    #[uniffi(default)]
    pub health: Option<Level>,
    /// Mood.
    #[uniffi(default)]
    pub mood: Option<Level>,
    /// Safety of the home.
    #[uniffi(default)]
    pub home_safety: Option<Level>,
    /// A short free-text note.
    #[uniffi(default)]
    pub note: Option<String>,
}

/// Where a visit took place, in micro-degrees (needs consent to location).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Location {
    /// Latitude × 10⁶.
    pub lat_e6: i64,
    /// Longitude × 10⁶.
    pub lon_e6: i64,
}

/// Declares `From` both ways between an FFI record and the core record with the same fields.
macro_rules! same_fields {
    ($ffi:ident = $core:path { $($field:ident $(=> $map:path)?),+ }) => {
        impl From<$ffi> for $core {
            fn from(x: $ffi) -> Self {
                Self { $($field: x.$field $(.map($map))?),+ }
            }
        }
        impl From<$core> for $ffi {
            fn from(x: $core) -> Self {
                Self { $($field: x.$field $(.map($map))?),+ }
            }
        }
    };
}

same_fields!(Observations = d::Observations {
    health => Into::into,
    mood => Into::into,
    home_safety => Into::into,
    note
});
same_fields!(Location = d::Location { lat_e6, lon_e6 });

/// Something promised during a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FollowUp {
    /// What will be done.
    pub action: String,
    /// By when (Unix ms), if agreed.
    #[uniffi(default)]
    pub due_ms: Option<i64>,
}

/// One home visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Visit {
    /// The elder visited.
    pub elder_id: String,
    /// The member who visited.
    pub caregiver_id: String,
    /// Arrival (Unix ms).
    pub check_in_ms: i64,
    /// Departure (Unix ms).
    pub check_out_ms: i64,
    /// Where, if the elder consented to location.
    #[uniffi(default)]
    pub location: Option<Location>,
    /// What was seen.
    #[uniffi(default)]
    pub observations: Observations,
    /// Risks flagged.
    #[uniffi(default)]
    pub risk_flags: Vec<RiskFlag>,
    /// What was promised.
    #[uniffi(default)]
    pub follow_ups: Vec<FollowUp>,
}

impl TryFrom<Visit> for d::Visit {
    type Error = CareError;
    fn try_from(v: Visit) -> Result<Self> {
        let follow_ups = v
            .follow_ups
            .into_iter()
            .map(|f| {
                Ok(d::FollowUp {
                    action: f.action,
                    due_ms: convert::opt_instant("follow_ups.due_ms", f.due_ms)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(d::Visit {
            elder_id: convert::id("elder_id", &v.elder_id)?,
            caregiver_id: convert::id("caregiver_id", &v.caregiver_id)?,
            check_in_ms: convert::instant("check_in_ms", v.check_in_ms)?,
            check_out_ms: convert::instant("check_out_ms", v.check_out_ms)?,
            location: v.location.map(Into::into),
            observations: v.observations.into(),
            risk_flags: convert::all(v.risk_flags),
            follow_ups,
        })
    }
}

impl From<d::Visit> for Visit {
    fn from(v: d::Visit) -> Self {
        Visit {
            elder_id: v.elder_id.to_string(),
            caregiver_id: v.caregiver_id.to_string(),
            check_in_ms: convert::ms(v.check_in_ms),
            check_out_ms: convert::ms(v.check_out_ms),
            location: v.location.map(Into::into),
            observations: v.observations.into(),
            risk_flags: convert::all(v.risk_flags),
            follow_ups: v
                .follow_ups
                .into_iter()
                .map(|f| FollowUp {
                    action: f.action,
                    due_ms: f.due_ms.map(convert::ms),
                })
                .collect(),
        }
    }
}

/// Marks follow-up number `index` of visit `visit_id` as done.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FollowUpDone {
    /// The record id of the visit.
    pub visit_id: String,
    /// Which of its follow-ups (0-based).
    pub index: u32,
    /// When it was done (Unix ms).
    pub done_at_ms: i64,
    /// What was done.
    #[uniffi(default)]
    pub note: Option<String>,
}

impl TryFrom<FollowUpDone> for d::FollowUpDone {
    type Error = CareError;
    fn try_from(f: FollowUpDone) -> Result<Self> {
        Ok(d::FollowUpDone {
            visit: convert::id("visit_id", &f.visit_id)?,
            index: f.index,
            done_at_ms: convert::instant("done_at_ms", f.done_at_ms)?,
            note: f.note,
        })
    }
}

impl From<d::FollowUpDone> for FollowUpDone {
    fn from(f: d::FollowUpDone) -> Self {
        FollowUpDone {
            visit_id: f.visit.to_string(),
            index: f.index,
            done_at_ms: convert::ms(f.done_at_ms),
            note: f.note,
        }
    }
}
