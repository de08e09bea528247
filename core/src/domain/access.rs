//! The access log (PIPL Art. 45 and 51): every read of elders' personal data through the
//! façade leaves one signed record saying which call read which elders, and why. It is a care
//! record like a visit, so it travels to the coordinator sealed like one; who read is the
//! record's signer and when is its clock.

use serde::{Deserialize, Serialize};

use super::validation::{ValidationError, in_range};
use crate::ids::Id;

/// The most elders one access-log record lists; a call that reads more is logged in several
/// records of this size (a town centre's overdue list can name thousands).
pub const ACCESS_ELDERS_MAX: usize = 1_000;

/// Why personal data was read: the caller says so on every read, and the log keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessPurpose {
    /// Daily care work: whom to visit, what was promised, what an elder received.
    Care,
    /// Preparing the monthly figures for the district.
    Report,
    /// Giving an elder (or their guardian) the copy of their data they asked for (Art. 45).
    Export,
    /// Supervision: checking a complaint, a subsidy claim or a suspicious record.
    Audit,
}

impl AccessPurpose {
    /// Every purpose.
    pub const ALL: [AccessPurpose; 4] = [
        AccessPurpose::Care,
        AccessPurpose::Report,
        AccessPurpose::Export,
        AccessPurpose::Audit,
    ];

    /// The name used in records and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessPurpose::Care => "care",
            AccessPurpose::Report => "report",
            AccessPurpose::Export => "export",
            AccessPurpose::Audit => "audit",
        }
    }
}

impl std::str::FromStr for AccessPurpose {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccessPurpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(ValidationError::Inconsistent(
                "unknown purpose (known: care, report, export, audit)",
            ))
    }
}

/// Which read of the façade was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessCall {
    /// Elders overdue for a visit (names, cadence, last visit).
    OverdueVisits,
    /// Open follow-ups (what was promised to whom).
    OpenFollowUps,
    /// One elder's visits and services in a month.
    ElderMonth,
    /// Government-bought hours used by each entitled elder (names, hours).
    EntitlementUse,
    /// The monthly report (its per-elder rows).
    MonthlyReport,
    /// Everything held about one elder, as a copy for them.
    ExportElder,
    /// One record read back whole (an elder, a visit, a service …).
    ReadRecord,
    /// A printed code card's sheet (the elder's name on it), to print.
    CardSheet,
}

impl AccessCall {
    /// The name used in records and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessCall::OverdueVisits => "overdue_visits",
            AccessCall::OpenFollowUps => "open_follow_ups",
            AccessCall::ElderMonth => "elder_month",
            AccessCall::EntitlementUse => "entitlement_use",
            AccessCall::MonthlyReport => "monthly_report",
            AccessCall::ExportElder => "export_elder",
            AccessCall::ReadRecord => "read_record",
            AccessCall::CardSheet => "card_sheet",
        }
    }
}

/// One call that read elders' personal data: which call, why, and whose data it returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLog {
    /// The call made.
    pub call: AccessCall,
    /// Why.
    pub purpose: AccessPurpose,
    /// The elders whose data the call returned, in ascending order, each once.
    pub elders: Vec<Id>,
}

impl AccessLog {
    /// A log entry for `elders` (sorted and deduplicated here).
    pub fn new(call: AccessCall, purpose: AccessPurpose, mut elders: Vec<Id>) -> AccessLog {
        elders.sort_unstable();
        elders.dedup();
        AccessLog {
            call,
            purpose,
            elders,
        }
    }

    /// Checks the entry's own fields: at least one elder, at most [`ACCESS_ELDERS_MAX`], in
    /// ascending order without repeats (one encoding per set of elders).
    pub fn validate(&self) -> Result<(), ValidationError> {
        in_range(
            "elders",
            self.elders.len() as i64,
            1,
            ACCESS_ELDERS_MAX as i64,
        )?;
        if self.elders.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ValidationError::Inconsistent(
                "an access log lists its elders in ascending order, each once",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_lists_each_elder_once_in_order() {
        let (a, b) = (Id::from_bytes([1; 16]), Id::from_bytes([2; 16]));
        let entry = AccessLog::new(AccessCall::ElderMonth, AccessPurpose::Care, vec![b, a, b]);
        assert_eq!(entry.elders, vec![a, b]);
        assert_eq!(entry.validate(), Ok(()));
        let unsorted = AccessLog {
            elders: vec![b, a],
            ..entry.clone()
        };
        assert!(unsorted.validate().is_err());
        let empty = AccessLog {
            elders: vec![],
            ..entry
        };
        assert!(matches!(
            empty.validate(),
            Err(ValidationError::OutOfRange {
                field: "elders",
                ..
            })
        ));
    }

    #[test]
    fn purposes_parse_by_name_and_refuse_others() {
        for p in AccessPurpose::ALL {
            assert_eq!(p.as_str().parse::<AccessPurpose>(), Ok(p));
        }
        assert!("curiosity".parse::<AccessPurpose>().is_err());
    }
}
