//! The records an app writes and reads, as flat UniFFI types: ids and keys as text, instants as
//! `i64` Unix milliseconds. Each converts into its core record with `TryFrom` (naming the field
//! when text does not parse) and back with `From`.

mod card;
mod elder;
mod ledger;
mod network;
mod privacy;
mod record;
mod service;
mod visit;

pub use card::{Card, CardSheet, CodeCheck, CodeVerdict, WithdrawalReason};
pub use elder::{
    CareLevel, Consent, ConsentPurpose, ConsentRelation, Elder, EntitlementGroup, ErasureReason,
};
pub use ledger::{LedgerEntry, LedgerEntryKind, LedgerRules, Verdict};
pub use network::{CareCircle, Enrolment, Revocation, Role, Site, SiteKind};
pub use privacy::{
    AccessCall, AccessEntry, AccessLog, AccessPurpose, ConsentAction, ConsentChange,
    ConsentConflict,
};
pub use record::{CorrectionAction, RecordBody, StoredRecord};
pub use service::{
    BathCheck, BathPlace, ConfirmMethod, Confirmation, ConfirmedBy, Funding, MealMode, Service,
    ServiceDetail, ServiceKind,
};
pub use visit::{FollowUp, FollowUpDone, Level, Location, Observations, RiskFlag, Visit};
