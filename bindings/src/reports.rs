//! What the queries return: the overdue list, open follow-ups, an elder's month, entitlement use,
//! person-times (人次) for the district, and the merge and trust reports.

use carebank_core::domain as d;
use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;
use carebank_core::store as s;

use crate::convert::{self, mirror_enum};
use crate::error::{CareError, Result};
use crate::records::{Funding, ServiceKind};

/// An elder whose next visit is overdue.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OverdueElder {
    /// The elder.
    pub elder_id: String,
    /// Their name.
    pub name: String,
    /// The last counted visit's check-in (Unix ms), if any.
    pub last_visit_ms: Option<i64>,
    /// How often they should be visited, in days.
    pub cadence_days: u32,
    /// Whole days past the due day (China Standard Time calendar days).
    pub days_overdue: i64,
    /// The member responsible (包保), if named.
    pub responsible_member: Option<String>,
}

impl From<s::OverdueElder> for OverdueElder {
    fn from(o: s::OverdueElder) -> Self {
        OverdueElder {
            elder_id: o.elder_id.to_string(),
            name: o.name,
            last_visit_ms: o.last_visit_ms.map(i64::from),
            cadence_days: o.cadence_days,
            days_overdue: o.days_overdue,
            responsible_member: o.responsible_member.map(|m| m.to_string()),
        }
    }
}

/// A follow-up promised during a visit and not yet done.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OpenFollowUp {
    /// The visit's record id.
    pub visit_id: String,
    /// Which follow-up of the visit (0-based).
    pub index: u32,
    /// The elder.
    pub elder_id: String,
    /// What was promised.
    pub action: String,
    /// By when, if agreed (Unix ms).
    pub due_ms: Option<i64>,
    /// When the visit began (Unix ms).
    pub visit_ms: i64,
}

impl From<s::OpenFollowUp> for OpenFollowUp {
    fn from(f: s::OpenFollowUp) -> Self {
        OpenFollowUp {
            visit_id: f.visit_id.to_string(),
            index: f.index,
            elder_id: f.elder_id.to_string(),
            action: f.action,
            due_ms: f.due_ms.map(i64::from),
            visit_ms: f.visit_ms.into(),
        }
    }
}

/// One visit in an elder's month.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitLine {
    /// The visit's record id.
    pub record_id: String,
    /// Who visited.
    pub caregiver_id: String,
    /// Check-in (Unix ms).
    pub check_in_ms: i64,
    /// Check-out (Unix ms).
    pub check_out_ms: i64,
}

/// One service in an elder's month.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ServiceLine {
    /// The service's record id.
    pub record_id: String,
    /// What kind.
    pub kind: ServiceKind,
    /// Who gave it.
    pub provider_id: String,
    /// When it started (Unix ms).
    pub started_ms: i64,
    /// How long (minutes).
    pub duration_minutes: i64,
    /// Who pays.
    pub funding: Funding,
    /// Whether the recipient side confirmed it.
    pub confirmed: bool,
}

/// An elder's counted visits and services in one month.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ElderMonth {
    /// Visits, by check-in.
    pub visits: Vec<VisitLine>,
    /// Services, by start.
    pub services: Vec<ServiceLine>,
}

impl TryFrom<s::ElderMonth> for ElderMonth {
    type Error = CareError;
    fn try_from(m: s::ElderMonth) -> Result<Self> {
        let visits = m
            .visits
            .into_iter()
            .map(|v| VisitLine {
                record_id: v.record_id.to_string(),
                caregiver_id: v.caregiver_id.to_string(),
                check_in_ms: v.check_in_ms.into(),
                check_out_ms: v.check_out_ms.into(),
            })
            .collect();
        let services = m
            .services
            .into_iter()
            .map(|l| {
                Ok(ServiceLine {
                    record_id: l.record_id.to_string(),
                    kind: l.kind.into(),
                    provider_id: l.provider_id.to_string(),
                    started_ms: l.started_ms.into(),
                    duration_minutes: l.duration_minutes,
                    funding: funding(&l.funding)?,
                    confirmed: l.confirmed,
                })
            })
            .collect::<Result<_>>()?;
        Ok(ElderMonth { visits, services })
    }
}

/// Reads a funding name from an index row.
fn funding(name: &str) -> Result<Funding> {
    [
        d::Funding::Government,
        d::Funding::TimeBank,
        d::Funding::SelfPaid,
    ]
    .into_iter()
    .find(|f| f.as_str() == name)
    .map(Into::into)
    .ok_or_else(|| CareError::Storage {
        reason: format!("unknown funding {name:?} in the index"),
    })
}

mirror_enum! {
    /// How an entitled elder's month compares with their quota.
    EntitlementStatus = s::EntitlementStatus {
        /// Used less than 80 % of the quota: the coordinator should ask why.
        UnderServed,
        /// Within the quota.
        WithinQuota,
        /// Used more than the quota: not all of it will be paid for.
        OverQuota,
    }
}

/// Government-bought hours used by one entitled elder in one month.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EntitlementUse {
    /// The elder.
    pub elder_id: String,
    /// Their name.
    pub name: String,
    /// The monthly quota in hours.
    pub entitled_hours: u32,
    /// Minutes of government-funded services given.
    pub used_minutes: i64,
    /// Under, within or over.
    pub status: EntitlementStatus,
}

impl From<s::EntitlementUse> for EntitlementUse {
    fn from(u: s::EntitlementUse) -> Self {
        EntitlementUse {
            elder_id: u.elder_id.to_string(),
            name: u.name,
            entitled_hours: u.entitled_hours,
            used_minutes: u.used_minutes,
            status: u.status.into(),
        }
    }
}

/// The person-times of one service kind.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ServiceCount {
    /// The kind.
    pub kind: ServiceKind,
    /// Its Chinese name for reports (助餐, 助浴 …).
    pub label_zh: String,
    /// Person-times.
    pub count: u64,
}

/// Person-times (人次) in one month, the figure districts report upward.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PersonTimes {
    /// Home visits (探访).
    pub visits: u64,
    /// Services, one line per kind in report order (zeros included).
    pub services: Vec<ServiceCount>,
    /// Visits plus all services.
    pub total: u64,
}

impl From<s::PersonTimes> for PersonTimes {
    fn from(p: s::PersonTimes) -> Self {
        PersonTimes {
            visits: p.visits,
            total: p.total(),
            services: p
                .services
                .into_iter()
                .map(|(kind, count)| ServiceCount {
                    kind: kind.into(),
                    label_zh: kind.label_zh().to_string(),
                    count,
                })
                .collect(),
        }
    }
}

/// A record refused on merge (bad signature, bad encoding, wrong circle).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Rejection {
    /// The key it was stored under in its document.
    pub key: String,
    /// The document it came in.
    pub doc_id: String,
    /// Why it was refused.
    pub reason: String,
}

impl From<s::Rejection> for Rejection {
    fn from(r: s::Rejection) -> Self {
        Rejection {
            key: r.key,
            doc_id: r.doc_id,
            reason: r.reason,
        }
    }
}

/// What [`CareStore::run_maintenance`](crate::store::CareStore::run_maintenance) did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MaintenanceReport {
    /// Documents compacted into one snapshot each.
    pub documents_compacted: u64,
    /// The chunks those documents were stored in before.
    pub chunks_merged: u64,
}

impl From<s::Maintenance> for MaintenanceReport {
    fn from(m: s::Maintenance) -> Self {
        MaintenanceReport {
            documents_compacted: m.documents_compacted as u64,
            chunks_merged: m.chunks_merged as u64,
        }
    }
}

/// What a merge (or an index rebuild) changed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MergeReport {
    /// Ids of the records new to this store.
    pub added: Vec<String>,
    /// Records refused.
    pub rejected: Vec<Rejection>,
}

impl From<s::IngestReport> for MergeReport {
    fn from(r: s::IngestReport) -> Self {
        MergeReport {
            added: r.added.iter().map(Id::to_string).collect(),
            rejected: convert::all(r.rejected),
        }
    }
}

impl MergeReport {
    /// Adds another part's changes to this report.
    pub(crate) fn extend(&mut self, part: MergeReport) {
        self.added.extend(part.added);
        self.rejected.extend(part.rejected);
    }
}

/// A device key the circle trusts.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TrustedKey {
    /// The device key.
    pub device_key: String,
    /// The member it belongs to (none for the centre).
    pub member_id: Option<String>,
    /// `centre`, or the member's role (`coordinator`, `caregiver`, `volunteer`, `family`).
    pub role: String,
    /// From when (record clock, Unix ms) its records stop counting, if revoked.
    pub revoked_from_ms: Option<i64>,
}

impl From<s::TrustedKey> for TrustedKey {
    fn from(k: s::TrustedKey) -> Self {
        TrustedKey {
            device_key: k.device_key.to_string(),
            member_id: k.member_id.map(|m| m.to_string()),
            role: k.role,
            revoked_from_ms: k.revoked_from_ms.map(i64::from),
        }
    }
}

/// A record kept but not counted, because its key is unknown or was revoked before it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UntrustedRecord {
    /// The record's id.
    pub record_id: String,
    /// The key that signed it.
    pub author: String,
}

impl From<(Id, PublicKey)> for UntrustedRecord {
    fn from((id, author): (Id, PublicKey)) -> Self {
        UntrustedRecord {
            record_id: id.to_string(),
            author: author.to_string(),
        }
    }
}
