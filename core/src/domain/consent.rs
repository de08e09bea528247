//! Consent per purpose, enforced (PIPL Art. 14, 15 and 29): which purposes each field of a
//! visit or service needs, the signed record by which an elder withdraws (or gives again)
//! consent for one purpose, and the one rule that says whether a purpose was in force at an
//! instant. The façade applies the rule when a record is written; the store applies the same
//! rule to records that arrive by sync, and flags (never drops) those made after a withdrawal.
//!
//! Why a record of its own and not an amendment of the elder: an amendment replaces the whole
//! elder record as if it had always read so (the index keeps only the latest), so it would make
//! consent look never given and could not tell the records made before the withdrawal (which
//! stay) from those made after; and two coordinators amending one elder concurrently would lose
//! one change. A consent record is an event at an instant, for one purpose, that merges with
//! every other.

use serde::{Deserialize, Serialize};

use super::RecordBody;
use super::elder::{ConsentPurpose, ConsentRelation};
use super::service::{Service, ServiceDetail};
use super::validation::{
    NAME_MAX, NOTE_MAX, ValidationError, instant, optional_text, required_text,
};
use super::visit::{RiskFlag, Visit};
use crate::ids::Id;

/// Withdrawing or giving consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    /// From `at_ms`, no new record may use the purpose.
    Withdraw,
    /// From `at_ms`, records may use the purpose again (or for the first time).
    Give,
}

/// A change to an elder's consent for one purpose, recorded by a coordinator (or the centre).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentChange {
    /// The elder.
    pub elder_id: Id,
    /// The purpose.
    pub purpose: ConsentPurpose,
    /// Withdraw or give.
    pub action: ConsentAction,
    /// From when (Unix ms): records of the purpose dated at or after it are governed by it.
    pub at_ms: u64,
    /// The person who expressed it.
    #[serde(default)]
    pub by: String,
    /// Their relation to the elder.
    pub relation: ConsentRelation,
    /// Why, if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ConsentChange {
    /// Checks the change's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        instant("at_ms", self.at_ms)?;
        required_text("by", &self.by, NAME_MAX)?;
        optional_text("reason", self.reason.as_deref(), NOTE_MAX)
    }
}

impl ConsentPurpose {
    /// The purpose's name in records.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentPurpose::CareRecords => "care_records",
            ConsentPurpose::HealthObservations => "health_observations",
            ConsentPurpose::Location => "location",
            ConsentPurpose::DistrictReporting => "district_reporting",
        }
    }

    /// Every purpose.
    pub const ALL: [ConsentPurpose; 4] = [
        ConsentPurpose::CareRecords,
        ConsentPurpose::HealthObservations,
        ConsentPurpose::Location,
        ConsentPurpose::DistrictReporting,
    ];

    /// What the purpose covers, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            ConsentPurpose::CareRecords => "care records",
            ConsentPurpose::HealthObservations => "health observations",
            ConsentPurpose::Location => "recording location",
            ConsentPurpose::DistrictReporting => "district reporting",
        }
    }
}

impl std::str::FromStr for ConsentPurpose {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConsentPurpose::ALL.into_iter().find(|p| p.as_str() == s).ok_or(
            ValidationError::Inconsistent(
                "unknown consent purpose (known: care_records, health_observations, location, district_reporting)",
            ),
        )
    }
}

/// The purposes a visit or service uses: whose data, dated when, and for each purpose the
/// first field that needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeUse {
    /// The elder.
    pub elder_id: Id,
    /// When the data was collected (check-in, or the service's start), Unix ms.
    pub at_ms: u64,
    /// Each purpose once, with the field that needs it.
    pub purposes: Vec<(ConsentPurpose, &'static str)>,
}

impl PurposeUse {
    fn add(&mut self, purpose: ConsentPurpose, field: &'static str) {
        if !self.purposes.iter().any(|(p, _)| *p == purpose) {
            self.purposes.push((purpose, field));
        }
    }
}

/// Whether a risk flag is health data: illness, falls, distress and a need of a doctor are;
/// an unsafe home or an empty larder are not (they are care records, and must be flaggable
/// for every elder).
pub fn risk_is_health(flag: RiskFlag) -> bool {
    match flag {
        RiskFlag::Illness
        | RiskFlag::FallRisk
        | RiskFlag::Distress
        | RiskFlag::NeedsMedicalCare => true,
        RiskFlag::UnsafeHome | RiskFlag::NoFood => false,
    }
}

fn visit_use(v: &Visit) -> PurposeUse {
    let mut u = PurposeUse {
        elder_id: v.elder_id,
        at_ms: v.check_in_ms,
        purposes: vec![],
    };
    u.add(ConsentPurpose::CareRecords, "visit");
    if v.observations.health.is_some() {
        u.add(ConsentPurpose::HealthObservations, "observations.health");
    }
    if v.risk_flags.iter().any(|f| risk_is_health(*f)) {
        u.add(ConsentPurpose::HealthObservations, "risk_flags");
    }
    if v.location.is_some() {
        u.add(ConsentPurpose::Location, "location");
    }
    u
}

fn service_use(s: &Service) -> PurposeUse {
    let mut u = PurposeUse {
        elder_id: s.elder_id,
        at_ms: s.started_ms,
        purposes: vec![],
    };
    match &s.detail {
        // PIPL Art. 13(4): help in an emergency needs no consent (to protect life and health).
        ServiceDetail::Emergency { .. } => {}
        ServiceDetail::Bath {
            skin_condition: Some(_),
            ..
        } => {
            u.add(ConsentPurpose::CareRecords, "service");
            u.add(ConsentPurpose::HealthObservations, "skin_condition");
        }
        _ => u.add(ConsentPurpose::CareRecords, "service"),
    }
    u
}

/// The purposes a record body uses, if it is a visit or a service (the records that hold
/// data collected from an elder); `None` for every other body.
pub fn purposes_used(body: &RecordBody) -> Option<PurposeUse> {
    match body {
        RecordBody::Visit(v) => Some(visit_use(v)),
        RecordBody::Service(s) => Some(service_use(s)),
        _ => None,
    }
}

/// A consent change as the store holds it, for [`consent_at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    /// The purpose.
    pub purpose: ConsentPurpose,
    /// Given (true) or withdrawn.
    pub given: bool,
    /// From when.
    pub at_ms: u64,
    /// The record's clock and id, which order changes made for the same instant.
    pub order: (u64, u32, String),
}

/// Whether a purpose was in force at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentState {
    /// Given (at enrolment, or again by a consent record).
    Given,
    /// Never given.
    NotGiven,
    /// Withdrawn by a consent record, from this instant.
    Withdrawn {
        /// When the withdrawal took effect (Unix ms).
        at_ms: u64,
    },
}

/// The one rule: whether `purpose` was in force at `at_ms`, given the purposes consented at
/// enrolment (`base`) and the elder's consent changes. The latest change at or before `at_ms`
/// decides (ties by record clock, then id); with none, the enrolment's consent does.
pub fn consent_at(
    base: &[ConsentPurpose],
    changes: &[ConsentEvent],
    purpose: ConsentPurpose,
    at_ms: u64,
) -> ConsentState {
    let latest = changes
        .iter()
        .filter(|c| c.purpose == purpose && c.at_ms <= at_ms)
        .max_by(|a, b| (a.at_ms, &a.order).cmp(&(b.at_ms, &b.order)));
    match latest {
        Some(c) if c.given => ConsentState::Given,
        Some(c) => ConsentState::Withdrawn { at_ms: c.at_ms },
        None if base.contains(&purpose) => ConsentState::Given,
        None => ConsentState::NotGiven,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Funding, Level, Location, Observations};

    fn event(purpose: ConsentPurpose, given: bool, at_ms: u64, hlc: u64) -> ConsentEvent {
        ConsentEvent {
            purpose,
            given,
            at_ms,
            order: (hlc, 0, format!("{hlc}")),
        }
    }

    #[test]
    fn the_latest_change_at_or_before_the_instant_decides() {
        let health = ConsentPurpose::HealthObservations;
        let base = [ConsentPurpose::CareRecords, health];
        let changes = [event(health, false, 100, 1), event(health, true, 200, 2)];
        assert_eq!(consent_at(&base, &changes, health, 99), ConsentState::Given);
        assert_eq!(
            consent_at(&base, &changes, health, 100),
            ConsentState::Withdrawn { at_ms: 100 }
        );
        assert_eq!(
            consent_at(&base, &changes, health, 199),
            ConsentState::Withdrawn { at_ms: 100 }
        );
        assert_eq!(
            consent_at(&base, &changes, health, 200),
            ConsentState::Given
        );
        assert_eq!(
            consent_at(&base, &changes, ConsentPurpose::Location, 300),
            ConsentState::NotGiven
        );
        // Two changes for one instant: the later record wins, whatever order they are listed in.
        let tied = [event(health, true, 100, 5), event(health, false, 100, 4)];
        assert_eq!(consent_at(&base, &tied, health, 150), ConsentState::Given);
    }

    #[test]
    fn each_field_names_the_purpose_it_needs() {
        let elder = Id::from_bytes([1; 16]);
        let mut v = Visit {
            elder_id: elder,
            caregiver_id: Id::from_bytes([2; 16]),
            check_in_ms: 10,
            check_out_ms: 20,
            location: None,
            observations: Observations {
                mood: Some(Level::Good),
                ..Observations::default()
            },
            risk_flags: vec![RiskFlag::NoFood],
            follow_ups: vec![],
        };
        let plain = purposes_used(&RecordBody::Visit(v.clone())).expect("a visit");
        assert_eq!(plain.purposes, vec![(ConsentPurpose::CareRecords, "visit")]);
        v.risk_flags.push(RiskFlag::FallRisk);
        v.location = Some(Location {
            lat_e6: 1,
            lon_e6: 2,
        });
        let full = purposes_used(&RecordBody::Visit(v)).expect("a visit");
        assert_eq!(
            full.purposes,
            vec![
                (ConsentPurpose::CareRecords, "visit"),
                (ConsentPurpose::HealthObservations, "risk_flags"),
                (ConsentPurpose::Location, "location"),
            ]
        );
        let bath = Service {
            elder_id: elder,
            provider_id: Id::from_bytes([2; 16]),
            started_ms: 5,
            duration_minutes: 30,
            funding: Funding::SelfPaid,
            detail: ServiceDetail::Bath {
                place: crate::domain::BathPlace::Home,
                safety_checks: vec![],
                skin_condition: Some("压红".into()),
            },
            confirmation: None,
        };
        let used = purposes_used(&RecordBody::Service(bath.clone())).expect("a service");
        assert_eq!(used.at_ms, 5);
        assert!(
            used.purposes
                .contains(&(ConsentPurpose::HealthObservations, "skin_condition"))
        );
        let emergency = Service {
            detail: ServiceDetail::Emergency {
                description: "跌倒".into(),
            },
            ..bath
        };
        let used = purposes_used(&RecordBody::Service(emergency)).expect("a service");
        assert!(
            used.purposes.is_empty(),
            "help in an emergency needs no consent"
        );
    }
}
