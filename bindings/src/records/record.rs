//! Corrections (void or amend, never edit in place: 留迹留痕) and records read back from the
//! store.

use carebank_core::domain as d;
use carebank_core::record::SignedRecord;

use super::{
    AccessLog, ConsentChange, Elder, Enrolment, ErasureReason, FollowUpDone, LedgerEntry,
    LedgerRules, Revocation, Service, Site, Visit,
};
use crate::convert;
use crate::error::{CareError, Result};

/// What a correction does to its target record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CorrectionAction {
    /// The record should not count (entered in error, a duplicate, never happened).
    Void,
    /// The site record should count with this content instead.
    AmendSite {
        /// The corrected site (same site id).
        site: Site,
    },
    /// The elder record should count with this content instead.
    AmendElder {
        /// The corrected elder (same elder id).
        elder: Elder,
    },
    /// The visit should count with this content instead.
    AmendVisit {
        /// The corrected visit.
        visit: Visit,
    },
    /// The service should count with this content instead.
    AmendService {
        /// The corrected service.
        service: Service,
    },
}

impl TryFrom<CorrectionAction> for d::CorrectionAction {
    type Error = CareError;
    fn try_from(action: CorrectionAction) -> Result<Self> {
        let replacement = match action {
            CorrectionAction::Void => return Ok(d::CorrectionAction::Void {}),
            CorrectionAction::AmendSite { site } => d::RecordBody::Site(site.try_into()?),
            CorrectionAction::AmendElder { elder } => d::RecordBody::Elder(elder.try_into()?),
            CorrectionAction::AmendVisit { visit } => d::RecordBody::Visit(visit.try_into()?),
            CorrectionAction::AmendService { service } => {
                d::RecordBody::Service(service.try_into()?)
            }
        };
        Ok(d::CorrectionAction::Amend {
            replacement: Box::new(replacement),
        })
    }
}

impl TryFrom<d::CorrectionAction> for CorrectionAction {
    type Error = CareError;
    fn try_from(action: d::CorrectionAction) -> Result<Self> {
        let replacement = match action {
            d::CorrectionAction::Void {} => return Ok(CorrectionAction::Void),
            d::CorrectionAction::Amend { replacement } => *replacement,
        };
        Ok(match replacement {
            d::RecordBody::Site(site) => CorrectionAction::AmendSite { site: site.into() },
            d::RecordBody::Elder(elder) => CorrectionAction::AmendElder {
                elder: elder.into(),
            },
            d::RecordBody::Visit(visit) => CorrectionAction::AmendVisit {
                visit: visit.into(),
            },
            d::RecordBody::Service(service) => CorrectionAction::AmendService {
                service: service.into(),
            },
            other => {
                return Err(CareError::Storage {
                    reason: format!("a stored amendment holds a {}", other.type_name()),
                });
            }
        })
    }
}

/// The content of a stored record, by type.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RecordBody {
    /// A centre, station or village point.
    Site {
        /// The site.
        site: Site,
    },
    /// A device key certified for a member.
    Enrolment {
        /// The enrolment.
        enrolment: Enrolment,
    },
    /// A device key withdrawn.
    Revocation {
        /// The revocation.
        revocation: Revocation,
    },
    /// An elder enrolled for care.
    Elder {
        /// The elder.
        elder: Elder,
    },
    /// A home visit.
    Visit {
        /// The visit.
        visit: Visit,
    },
    /// A visit's follow-up, done.
    FollowUpDone {
        /// Which follow-up, and when it was done.
        done: FollowUpDone,
    },
    /// A service given.
    Service {
        /// The service.
        service: Service,
    },
    /// A time-bank entry (claim, confirmation, redemption, gift or decision).
    Ledger {
        /// The entry.
        entry: LedgerEntry,
    },
    /// The circle's time-bank rules, set by the centre.
    LedgerRules {
        /// The rules.
        rules: LedgerRules,
    },
    /// A new epoch key of the circle (the key itself travels wrapped; only the devices it was
    /// wrapped for are shown).
    EpochKey {
        /// The epoch's number.
        epoch: u32,
        /// The device keys it was wrapped for.
        devices: Vec<String>,
    },
    /// An existing epoch key given to devices that lacked it.
    KeyGrant {
        /// The epoch-key record whose key is granted.
        key_id: String,
        /// The device keys it was wrapped for.
        devices: Vec<String>,
    },
    /// A member's name (travels sealed; the enrolment carries none).
    MemberProfile {
        /// The member.
        member_id: String,
        /// The member's name.
        name: String,
    },
    /// A void or amendment of an earlier record.
    Correction {
        /// The record id of the record corrected.
        target_id: String,
        /// Void or amend.
        action: CorrectionAction,
        /// Why.
        reason: String,
    },
    /// A read of elders' data (the access log).
    AccessLog {
        /// Which call read which elders, and why.
        log: AccessLog,
    },
    /// An elder's consent for one purpose withdrawn or given again.
    Consent {
        /// The change.
        change: ConsentChange,
    },
    /// An elder's personal data erased.
    Erasure {
        /// The elder.
        elder_id: String,
        /// Why.
        reason: ErasureReason,
    },
    /// A month's aggregate figures closed for the district (or a correction of them).
    MonthClose {
        /// The month, YYYY-MM.
        month: String,
        /// 1 for the first close, one more for each correction.
        version: u32,
        /// The record id of the version it supersedes.
        supersedes: Option<String>,
    },
}

impl TryFrom<d::RecordBody> for RecordBody {
    type Error = CareError;
    fn try_from(body: d::RecordBody) -> Result<Self> {
        Ok(match body {
            d::RecordBody::Site(site) => RecordBody::Site { site: site.into() },
            d::RecordBody::Enrolment(e) => RecordBody::Enrolment {
                enrolment: e.into(),
            },
            d::RecordBody::Revocation(r) => RecordBody::Revocation {
                revocation: r.into(),
            },
            d::RecordBody::Elder(e) => RecordBody::Elder { elder: e.into() },
            d::RecordBody::Visit(v) => RecordBody::Visit { visit: v.into() },
            d::RecordBody::FollowUpDone(f) => RecordBody::FollowUpDone { done: f.into() },
            d::RecordBody::Service(s) => RecordBody::Service { service: s.into() },
            d::RecordBody::Ledger(entry) => RecordBody::Ledger {
                entry: entry.into(),
            },
            d::RecordBody::LedgerRules(rules) => RecordBody::LedgerRules {
                rules: rules.into(),
            },
            d::RecordBody::EpochKey(e) => RecordBody::EpochKey {
                epoch: e.epoch,
                devices: e.wraps.iter().map(|w| w.device.to_string()).collect(),
            },
            d::RecordBody::KeyGrant(g) => RecordBody::KeyGrant {
                key_id: g.key_id.to_string(),
                devices: g.wraps.iter().map(|w| w.device.to_string()).collect(),
            },
            d::RecordBody::MemberProfile(p) => RecordBody::MemberProfile {
                member_id: p.member_id.to_string(),
                name: p.name,
            },
            d::RecordBody::Correction(c) => RecordBody::Correction {
                target_id: c.target.to_string(),
                action: c.action.try_into()?,
                reason: c.reason,
            },
            d::RecordBody::AccessLog(log) => RecordBody::AccessLog { log: log.into() },
            d::RecordBody::Consent(change) => RecordBody::Consent {
                change: change.into(),
            },
            d::RecordBody::Erasure(e) => RecordBody::Erasure {
                elder_id: e.elder_id.to_string(),
                reason: e.reason.into(),
            },
            d::RecordBody::MonthClose(c) => RecordBody::MonthClose {
                month: c.month,
                version: c.version,
                supersedes: c.supersedes.map(|id| id.to_string()),
            },
        })
    }
}

/// A record read back from the store, its signature checked.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StoredRecord {
    /// The record's id (a hash of its content).
    pub record_id: String,
    /// The device key that signed it.
    pub author: String,
    /// When it was written, by the record clock (Unix ms).
    pub written_ms: i64,
    /// What it says.
    pub body: RecordBody,
}

impl TryFrom<SignedRecord> for StoredRecord {
    type Error = CareError;
    fn try_from(r: SignedRecord) -> Result<Self> {
        Ok(StoredRecord {
            record_id: r.id().to_string(),
            author: r.author().to_string(),
            written_ms: convert::ms(r.hlc().ms),
            body: r.body().clone().try_into()?,
        })
    }
}
