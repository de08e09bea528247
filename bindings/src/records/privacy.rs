//! The access log and consent per purpose, as the app sees them: why a read is made, the log of
//! who read an elder's data, consent withdrawn or given again, and records made after a
//! withdrawal (kept and listed for the coordinator).

use carebank_core::domain as d;
use carebank_core::store as s;

use super::{ConsentPurpose, ConsentRelation};
use crate::convert::{self, mirror_enum};
use crate::error::{CareError, Result};

mirror_enum! {
    /// Why personal data is read: every read of elders' data names one, and the access log
    /// keeps it (PIPL Art. 51).
    AccessPurpose = d::AccessPurpose {
        /// Daily care work: whom to visit, what was promised, what an elder received.
        Care,
        /// Preparing the monthly figures for the district.
        Report,
        /// Giving an elder the copy of their data they asked for (PIPL Art. 45).
        Export,
        /// Supervision: a complaint, a subsidy claim, a suspicious record.
        Audit,
    }
}

mirror_enum! {
    /// Which read of the store was made.
    AccessCall = d::AccessCall {
        /// Elders overdue for a visit.
        OverdueVisits,
        /// Open follow-ups.
        OpenFollowUps,
        /// One elder's month.
        ElderMonth,
        /// Entitlement use by elder.
        EntitlementUse,
        /// The monthly report.
        MonthlyReport,
        /// An elder's export.
        ExportElder,
        /// One record read back.
        ReadRecord,
        /// A printed code card's sheet, to print.
        CardSheet,
    }
}

mirror_enum! {
    /// Withdrawing or giving consent.
    ConsentAction = d::ConsentAction {
        /// From `at_ms`, no new record may use the purpose.
        Withdraw,
        /// From `at_ms`, records may use the purpose again.
        Give,
    }
}

/// One access-log record's content: which call read which elders, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccessLog {
    /// The call made.
    pub call: AccessCall,
    /// Why.
    pub purpose: AccessPurpose,
    /// The elders whose data it returned.
    pub elder_ids: Vec<String>,
}

impl From<d::AccessLog> for AccessLog {
    fn from(a: d::AccessLog) -> Self {
        AccessLog {
            call: a.call.into(),
            purpose: a.purpose.into(),
            elder_ids: a.elders.iter().map(ToString::to_string).collect(),
        }
    }
}

/// One read of an elder's data, as the access log shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccessEntry {
    /// The access-log record's id.
    pub record_id: String,
    /// The device that read.
    pub device_key: String,
    /// The member it belongs to, if known (none for the centre).
    pub member_id: Option<String>,
    /// `centre`, or the member's role, if known.
    pub role: Option<String>,
    /// Which call read.
    pub call: AccessCall,
    /// Why.
    pub purpose: AccessPurpose,
    /// When, by the reading device's clock (Unix ms).
    pub at_ms: i64,
    /// How many elders that call read.
    pub elder_count: u32,
    /// Whether the reading device was trusted then.
    pub counted: bool,
}

impl From<s::AccessEntry> for AccessEntry {
    fn from(e: s::AccessEntry) -> Self {
        AccessEntry {
            record_id: e.record_id.to_string(),
            device_key: e.device_key.to_string(),
            member_id: e.member_id.map(|m| m.to_string()),
            role: e.role,
            call: e.call.into(),
            purpose: e.purpose.into(),
            at_ms: convert::ms(e.at_ms),
            elder_count: e.elder_count,
            counted: e.counted,
        }
    }
}

/// An elder's consent for one purpose, withdrawn or given again (a coordinator records it).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentChange {
    /// The elder.
    pub elder_id: String,
    /// The purpose.
    pub purpose: ConsentPurpose,
    /// Withdraw or give.
    pub action: ConsentAction,
    /// From when (Unix ms).
    pub at_ms: i64,
    /// The person who expressed it.
    pub by: String,
    /// Their relation to the elder.
    pub relation: ConsentRelation,
    /// Why, if said.
    #[uniffi(default)]
    pub reason: Option<String>,
}

impl TryFrom<ConsentChange> for d::ConsentChange {
    type Error = CareError;
    fn try_from(c: ConsentChange) -> Result<Self> {
        Ok(d::ConsentChange {
            elder_id: convert::id("elder_id", &c.elder_id)?,
            purpose: c.purpose.into(),
            action: c.action.into(),
            at_ms: convert::instant("at_ms", c.at_ms)?,
            by: c.by,
            relation: c.relation.into(),
            reason: c.reason,
        })
    }
}

impl From<d::ConsentChange> for ConsentChange {
    fn from(c: d::ConsentChange) -> Self {
        ConsentChange {
            elder_id: c.elder_id.to_string(),
            purpose: c.purpose.into(),
            action: c.action.into(),
            at_ms: convert::ms(c.at_ms),
            by: c.by,
            relation: c.relation.into(),
            reason: c.reason,
        }
    }
}

/// A visit or service that used a purpose the elder had withdrawn (or never given) when the
/// data was collected: made offline in good faith, kept and counted, for the coordinator to
/// void or leave.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentConflict {
    /// The record.
    pub record_id: String,
    /// `visit` or `service`.
    pub record_type: String,
    /// The elder.
    pub elder_id: String,
    /// The purpose used.
    pub purpose: ConsentPurpose,
    /// The field that used it.
    pub field: String,
    /// When the data was collected (Unix ms).
    pub at_ms: i64,
    /// The device that signed it.
    pub author: String,
    /// When consent was withdrawn (Unix ms); none if it was never given.
    pub withdrawn_at_ms: Option<i64>,
}

impl From<s::ConsentConflict> for ConsentConflict {
    fn from(c: s::ConsentConflict) -> Self {
        ConsentConflict {
            record_id: c.record_id.to_string(),
            record_type: c.record_type,
            elder_id: c.elder_id.to_string(),
            purpose: c.purpose.into(),
            field: c.field,
            at_ms: convert::ms(c.at_ms),
            author: c.author.to_string(),
            withdrawn_at_ms: match c.state {
                d::ConsentState::Withdrawn { at_ms } => Some(convert::ms(at_ms)),
                d::ConsentState::Given | d::ConsentState::NotGiven => None,
            },
        }
    }
}
