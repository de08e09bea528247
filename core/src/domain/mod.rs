//! Typed records and their rules. Every record a device writes is one [`RecordBody`]; each
//! checks its own fields in `validate`, and the store checks what needs the rest of the village
//! (does the elder exist, may this member do this).

mod access;
mod card;
mod consent;
mod correction;
mod elder;
mod erasure;
mod keys;
mod ledger;
mod member;
mod month_close;
mod service;
mod site;
pub(crate) mod validation;
mod visit;

pub use access::{ACCESS_ELDERS_MAX, AccessCall, AccessLog, AccessPurpose};
pub use card::{
    CARD_CODES_MAX, CARD_SECRET_LEN, CODE_DIGITS, Card, CardCode, CardFacts, CardSecret,
    CardWithdrawal, CodeCheck, CodeUse, CodeVerdict, WithdrawalReason, hotp, judge,
};
pub use consent::{
    ConsentAction, ConsentChange, ConsentEvent, ConsentState, PurposeUse, consent_at,
    purposes_used, risk_is_health,
};
pub use correction::{Correction, CorrectionAction};
pub use elder::{CareLevel, Consent, ConsentPurpose, ConsentRelation, Elder, EntitlementGroup};
pub use erasure::{Erasure, ErasureReason};
pub use keys::{EpochKey, KeyGrant, KeyWrap, MemberProfile, WRAPS_MAX};
pub use ledger::{
    ENTRY_MINUTES_MAX, EntryHash, EntryKind, LedgerEntry, LedgerRules, TRANSFER_MINUTES_MAX,
    Verdict,
};
pub use member::{Enrolment, Revocation, Role};
pub use month_close::{FIGURE_KEY_MAX, FIGURE_SECTIONS, FIGURES_MAX, Figure, MonthClose};
pub use service::{
    BathCheck, BathPlace, ConfirmMethod, Confirmation, ConfirmedBy, Funding, MealMode, Service,
    ServiceDetail, ServiceFacts, ServiceKind,
};
pub use site::{Site, SiteKind};
pub use validation::{ValidationError, parse_id};
pub use visit::{FollowUp, FollowUpDone, Level, Location, Observations, RiskFlag, Visit};

use serde::{Deserialize, Serialize};

/// The content of one record, tagged by `"type"` in its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordBody {
    /// A centre, station or village point.
    Site(Site),
    /// A device key certified for a member (signed by the centre or a coordinator).
    Enrolment(Enrolment),
    /// A device key withdrawn (a lost or replaced phone).
    Revocation(Revocation),
    /// An elder enrolled for care.
    Elder(Elder),
    /// A home visit (探访).
    Visit(Visit),
    /// A follow-up promised during a visit, now done.
    FollowUpDone(FollowUpDone),
    /// A service given (助餐, 助浴, …).
    Service(Service),
    /// An amendment or void of an earlier record (留迹留痕).
    Correction(Correction),
    /// An entry of a member's time-bank ledger (时间银行).
    Ledger(LedgerEntry),
    /// The centre's time-bank rules for the circle.
    LedgerRules(LedgerRules),
    /// A new epoch key of the circle, wrapped for its devices.
    EpochKey(EpochKey),
    /// Existing epoch keys wrapped for devices that lacked them.
    KeyGrant(KeyGrant),
    /// A member's name (sealed like every care record).
    MemberProfile(MemberProfile),
    /// A read of elders' personal data (the access log, PIPL Art. 45 and 51).
    AccessLog(AccessLog),
    /// An elder's consent for one purpose withdrawn or given again.
    Consent(ConsentChange),
    /// An elder's personal data erased (a coordinator's).
    Erasure(Erasure),
    /// A month's aggregate figures, closed for the district (a coordinator's).
    MonthClose(MonthClose),
    /// A printed code card issued for an elder (a coordinator's; no secret in it).
    Card(Card),
    /// A printed code card withdrawn (lost, replaced) from an instant on.
    CardWithdrawal(CardWithdrawal),
}

impl RecordBody {
    /// The record's type as written in its encoding.
    pub fn type_name(&self) -> &'static str {
        match self {
            RecordBody::Site(_) => "site",
            RecordBody::Enrolment(_) => "enrolment",
            RecordBody::Revocation(_) => "revocation",
            RecordBody::Elder(_) => "elder",
            RecordBody::Visit(_) => "visit",
            RecordBody::FollowUpDone(_) => "follow_up_done",
            RecordBody::Service(_) => "service",
            RecordBody::Correction(_) => "correction",
            RecordBody::Ledger(_) => "ledger",
            RecordBody::LedgerRules(_) => "ledger_rules",
            RecordBody::EpochKey(_) => "epoch_key",
            RecordBody::KeyGrant(_) => "key_grant",
            RecordBody::MemberProfile(_) => "member_profile",
            RecordBody::AccessLog(_) => "access_log",
            RecordBody::Consent(_) => "consent",
            RecordBody::Erasure(_) => "erasure",
            RecordBody::MonthClose(_) => "month_close",
            RecordBody::Card(_) => "card",
            RecordBody::CardWithdrawal(_) => "card_withdrawal",
        }
    }

    /// Whether `replacement` may stand in for this record in an amendment: the same type, and
    /// for entities (sites, elders) the same id.
    pub fn same_entity(&self, replacement: &RecordBody) -> bool {
        match (self, replacement) {
            (RecordBody::Elder(a), RecordBody::Elder(b)) => a.elder_id == b.elder_id,
            (RecordBody::Site(a), RecordBody::Site(b)) => a.site_id == b.site_id,
            (RecordBody::Visit(_), RecordBody::Visit(_))
            | (RecordBody::Service(_), RecordBody::Service(_)) => true,
            _ => false,
        }
    }

    /// Checks the record's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            RecordBody::Site(x) => x.validate(),
            RecordBody::Enrolment(x) => x.validate(),
            RecordBody::Revocation(x) => x.validate(),
            RecordBody::Elder(x) => x.validate(),
            RecordBody::Visit(x) => x.validate(),
            RecordBody::FollowUpDone(x) => x.validate(),
            RecordBody::Service(x) => x.validate(),
            RecordBody::Correction(x) => x.validate(),
            RecordBody::Ledger(x) => x.validate(),
            RecordBody::LedgerRules(x) => x.validate(),
            RecordBody::EpochKey(x) => x.validate(),
            RecordBody::KeyGrant(x) => x.validate(),
            RecordBody::MemberProfile(x) => x.validate(),
            RecordBody::AccessLog(x) => x.validate(),
            RecordBody::Consent(x) => x.validate(),
            RecordBody::Erasure(x) => x.validate(),
            RecordBody::MonthClose(x) => x.validate(),
            RecordBody::Card(x) => x.validate(),
            RecordBody::CardWithdrawal(x) => x.validate(),
        }
    }
}
