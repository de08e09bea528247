//! What the ledger knows of the service records that claims name. On a device this comes from
//! the store's service index; in a statement file, from the exporter's signed attestation.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::domain::ServiceFacts;
use crate::ids::Id;

/// Why a claim's service does not support it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceProblem {
    /// No counted service record with that id.
    Missing,
    /// The service record was voided.
    Voided,
    /// The claimant did not give the service.
    NotProvider,
    /// The claim names another elder than the service.
    WrongElder,
    /// The service was not given for time-bank hours.
    NotTimeBank,
    /// The claim asks for more minutes than the service lasted.
    ExceedsDuration,
}

/// A claim, as far as its service check is concerned.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRef {
    /// The claim entry's record id.
    pub claim: Id,
    /// The claiming member.
    pub claimant: Id,
    /// The service named.
    pub service: Id,
    /// The elder named.
    pub elder_id: Id,
    /// Minutes claimed.
    pub minutes: i64,
}

/// Where service facts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceView {
    /// The service records themselves (a device's store).
    Known(HashMap<Id, ServiceFacts>),
    /// A statement's exporter vouches that every claim's service checks out, except the claims
    /// listed with their problem.
    Attested(BTreeMap<Id, ServiceProblem>),
}

impl Default for ServiceView {
    fn default() -> Self {
        ServiceView::Known(HashMap::new())
    }
}

impl ServiceView {
    /// What is wrong with a claim's service, if anything.
    pub fn check(&self, claim: &ClaimRef) -> Option<ServiceProblem> {
        match self {
            ServiceView::Attested(problems) => problems.get(&claim.claim).copied(),
            ServiceView::Known(facts) => {
                let Some(s) = facts.get(&claim.service).filter(|s| s.counted) else {
                    return Some(ServiceProblem::Missing);
                };
                if s.voided {
                    Some(ServiceProblem::Voided)
                } else if s.provider_id != claim.claimant {
                    Some(ServiceProblem::NotProvider)
                } else if s.elder_id != claim.elder_id {
                    Some(ServiceProblem::WrongElder)
                } else if !s.time_bank {
                    Some(ServiceProblem::NotTimeBank)
                } else if claim.minutes > s.duration_minutes {
                    Some(ServiceProblem::ExceedsDuration)
                } else {
                    None
                }
            }
        }
    }
}
