//! Verifying a month close from outside the circle (the relay, the district's command line),
//! with the province root and the circle's trust records alone: the record's signature, its
//! town chain under the province at the close's instant, and its signer being the town's
//! centre or a coordinator the centre enrolled and had not revoked (decision 0017).

use std::collections::HashSet;

use super::{RecordError, SignedRecord};
use crate::domain::{MonthClose, RecordBody, Role};
use crate::identity::authority::{AuthorityError, AuthorityLevel, VerifiedAuthority};
use crate::identity::{KeyStanding, PublicKey, TrustChain};
use crate::ids::Id;

/// A month close that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClose {
    /// The record's id.
    pub id: Id,
    /// The circle (village) it closes.
    pub circle: Id,
    /// The signing key.
    pub author: PublicKey,
    /// When it was signed (its clock, Unix ms).
    pub closed_at_ms: u64,
    /// The close itself.
    pub close: MonthClose,
    /// The town (its centre key, name, region) and its district, as the chain proves them.
    pub town: VerifiedAuthority,
}

/// Why a month close does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CloseError {
    /// Not a well-signed record.
    #[error("month close record: {0}")]
    Record(#[from] RecordError),
    /// A record, but not a month close.
    #[error("the record is a {0}, not a month close")]
    NotAClose(&'static str),
    /// The town chain does not verify under the province root at the close's instant.
    #[error("the month close's town chain: {0}")]
    Authority(#[from] AuthorityError),
    /// The chain certifies something else than a town.
    #[error("the month close's chain certifies a {0}, not a town")]
    NotATown(&'static str),
    /// The signer is neither the town's centre nor a coordinator it trusts at that instant.
    #[error(
        "the month close is signed by {0}, not by the town's centre or one of its coordinators"
    )]
    Signer(PublicKey),
}

/// Verifies a month close's bytes under `province_root`, judging its signer by the circle's
/// enrolment and revocation records `trust_records` (others, and those of other circles, are
/// ignored).
pub fn verify_month_close(
    bytes: &[u8],
    trust_records: &[Vec<u8>],
    province_root: PublicKey,
) -> Result<VerifiedClose, CloseError> {
    let record = SignedRecord::from_bytes(bytes)?;
    let RecordBody::MonthClose(close) = record.body() else {
        return Err(CloseError::NotAClose(record.body().type_name()));
    };
    let closed_at_ms = record.hlc().ms;
    let town = close.town.verify(province_root, closed_at_ms)?;
    if town.level != AuthorityLevel::Town {
        return Err(CloseError::NotATown(town.level.as_str()));
    }
    let circle = record.envelope().circle;
    let trust: Vec<SignedRecord> = trust_records
        .iter()
        .filter_map(|bytes| SignedRecord::from_bytes(bytes).ok())
        .filter(|r| r.envelope().circle == circle)
        .collect();
    let chain = TrustChain::build(town.subject.key, &trust, &HashSet::new());
    let signer_ok = match chain.standing_of(&record) {
        KeyStanding::Centre => true,
        KeyStanding::Member => chain
            .certificate(record.author())
            .is_some_and(|c| c.enrolment.role == Role::Coordinator),
        _ => false,
    };
    if !signer_ok {
        return Err(CloseError::Signer(record.author()));
    }
    Ok(VerifiedClose {
        id: record.id(),
        circle,
        author: record.author(),
        closed_at_ms,
        close: close.clone(),
        town,
    })
}
