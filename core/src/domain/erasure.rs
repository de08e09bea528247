//! Erasure of an elder's personal data (PIPL Art. 47, decision 0014): a coordinator's signed
//! record that makes every device, and the relay, destroy the elder's keys, so the elder's
//! name, notes and observations can never be read again while the signed facts keep counting.
//! It travels in the clear (class 0) so that the relay can act on it; it names only the elder's
//! random id and a reason from a fixed list (no free text that could itself be personal).

use serde::{Deserialize, Serialize};

use super::validation::ValidationError;
use crate::ids::Id;

/// Why an elder's personal data is erased: the grounds of PIPL Art. 47.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureReason {
    /// The purpose is achieved or no longer needed (the elder left the programme).
    PurposeEnded,
    /// The service stopped (the elder moved away, or died).
    ServiceEnded,
    /// The elder (or guardian) withdrew consent.
    ConsentWithdrawn,
    /// The elder (or guardian) asked for deletion.
    ElderRequest,
    /// The retention period agreed ran out.
    RetentionExpired,
}

impl ErasureReason {
    /// Every reason, in the order a form lists them.
    pub const ALL: [ErasureReason; 5] = [
        ErasureReason::PurposeEnded,
        ErasureReason::ServiceEnded,
        ErasureReason::ConsentWithdrawn,
        ErasureReason::ElderRequest,
        ErasureReason::RetentionExpired,
    ];

    /// The name used in records and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureReason::PurposeEnded => "purpose_ended",
            ErasureReason::ServiceEnded => "service_ended",
            ErasureReason::ConsentWithdrawn => "consent_withdrawn",
            ErasureReason::ElderRequest => "elder_request",
            ErasureReason::RetentionExpired => "retention_expired",
        }
    }
}

impl std::str::FromStr for ErasureReason {
    type Err = String;

    fn from_str(text: &str) -> Result<ErasureReason, String> {
        let wanted = text.replace('-', "_");
        ErasureReason::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = ErasureReason::ALL.iter().map(|r| r.as_str()).collect();
                format!("not a reason for erasure; one of {}", names.join(", "))
            })
    }
}

/// Erases an elder's personal data on every replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The elder.
    pub elder_id: Id,
    /// Why.
    pub reason: ErasureReason,
}

impl Erasure {
    /// Nothing to check beyond the types: an id and a reason from the list.
    pub fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}
