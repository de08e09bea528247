//! Home visits (探访): check-in, check-out, what was seen, and what must follow.

use serde::{Deserialize, Serialize};

use super::validation::{
    NOTE_MAX, ValidationError, distinct, in_range, instant, optional_text, required_text,
};
use crate::ids::Id;

/// A three-step judgement used for observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 好.
    Good,
    /// 一般.
    Fair,
    /// 差.
    Poor,
}

/// What the caregiver saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observations {
    /// Health (needs the elder's consent to health observations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Level>,
    /// Mood.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mood: Option<Level>,
    /// Safety of the home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_safety: Option<Level>,
    /// A short free-text note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A risk the caregiver flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskFlag {
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

/// Where a visit took place, in micro-degrees (integers keep the encoding exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude × 10⁶.
    pub lat_e6: i64,
    /// Longitude × 10⁶.
    pub lon_e6: i64,
}

/// Something promised during a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// What will be done.
    pub action: String,
    /// By when (Unix ms), if agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<u64>,
}

/// One home visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The elder visited.
    pub elder_id: Id,
    /// The member who visited.
    pub caregiver_id: Id,
    /// Arrival (Unix ms).
    pub check_in_ms: u64,
    /// Departure (Unix ms).
    pub check_out_ms: u64,
    /// Where, if the elder consented to location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// What was seen.
    #[serde(default)]
    pub observations: Observations,
    /// Risks flagged.
    #[serde(default)]
    pub risk_flags: Vec<RiskFlag>,
    /// What was promised.
    #[serde(default)]
    pub follow_ups: Vec<FollowUp>,
}

/// The longest plausible visit.
const VISIT_MAX_MS: u64 = 12 * 3_600_000;

impl Visit {
    /// Checks the visit's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        instant("check_in_ms", self.check_in_ms)?;
        instant("check_out_ms", self.check_out_ms)?;
        if self.check_out_ms < self.check_in_ms {
            return Err(ValidationError::CheckOutBeforeCheckIn {
                check_in_ms: self.check_in_ms,
                check_out_ms: self.check_out_ms,
            });
        }
        if self.check_out_ms - self.check_in_ms > VISIT_MAX_MS {
            return Err(ValidationError::Inconsistent(
                "a visit cannot last more than 12 hours",
            ));
        }
        if let Some(loc) = self.location {
            in_range("location.lat_e6", loc.lat_e6, -90_000_000, 90_000_000)?;
            in_range("location.lon_e6", loc.lon_e6, -180_000_000, 180_000_000)?;
        }
        optional_text(
            "observations.note",
            self.observations.note.as_deref(),
            NOTE_MAX,
        )?;
        distinct("risk_flags", &self.risk_flags)?;
        in_range("follow_ups", self.follow_ups.len() as i64, 0, 20)?;
        for f in &self.follow_ups {
            required_text("follow_ups.action", &f.action, NOTE_MAX)?;
            if let Some(due) = f.due_ms {
                instant("follow_ups.due_ms", due)?;
            }
        }
        Ok(())
    }
}

/// Marks follow-up number `index` of visit `visit` as done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpDone {
    /// The record id of the visit.
    pub visit: Id,
    /// Which of its follow-ups (0-based).
    pub index: u32,
    /// When it was done (Unix ms).
    pub done_at_ms: u64,
    /// What was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl FollowUpDone {
    /// Checks the record's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        in_range("index", i64::from(self.index), 0, 19)?;
        instant("done_at_ms", self.done_at_ms)?;
        optional_text("note", self.note.as_deref(), NOTE_MAX)
    }
}
