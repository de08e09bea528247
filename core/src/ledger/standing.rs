//! Where each ledger entry stands after reconciliation, and why.

use serde::{Deserialize, Serialize};

use super::services::ServiceProblem;
use crate::identity::KeyStanding;

/// Whether an entry counts, and if not, why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standing {
    /// In good standing: it counts.
    Counted,
    /// A coordinator approved it: it counts, whatever held it.
    Approved,
    /// A coordinator rejected it: it does not count.
    Rejected,
    /// Waiting for something that normally follows (a confirmation, an approval, its target).
    Pending(Pending),
    /// Held for the coordinator: it does not count until approved.
    Held(Hold),
}

impl Standing {
    /// Whether the entry takes effect (its minutes move, its confirmation confirms).
    pub fn counts(self) -> bool {
        matches!(self, Standing::Counted | Standing::Approved)
    }
}

/// What a pending entry waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pending {
    /// A claim no one on the recipient side has confirmed yet.
    Unconfirmed,
    /// A confirmed claim that the circle's rules want a coordinator to approve.
    AwaitingApproval,
    /// A confirmation or decision whose target entry has not arrived.
    TargetMissing,
}

/// Why an entry is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hold {
    /// Its signing key is not good for this member at the entry's time.
    Key(KeyProblem),
    /// Its claim's service does not support it.
    Service(ServiceProblem),
    /// Another claim for the same service came first.
    Duplicate,
    /// It breaks a rule of the time bank.
    Rule(Rule),
}

/// What is wrong with an entry's signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyProblem {
    /// No trusted certificate names the key.
    Unknown,
    /// The key was revoked before the entry's time.
    Revoked,
    /// The entry's time is outside the key's certificate validity.
    OutsideValidity,
    /// The key is certified for another member (or is the centre's).
    OtherMember,
}

impl KeyProblem {
    /// The problem a key standing presents for a member's entry, if any.
    pub fn of(standing: KeyStanding) -> Option<KeyProblem> {
        match standing {
            KeyStanding::Member => None,
            KeyStanding::Centre => Some(KeyProblem::OtherMember),
            KeyStanding::Unknown => Some(KeyProblem::Unknown),
            KeyStanding::Revoked { .. } => Some(KeyProblem::Revoked),
            KeyStanding::OutsideValidity => Some(KeyProblem::OutsideValidity),
        }
    }
}

/// A time-bank rule an entry breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Minutes may be given only to a member of the same household.
    GiftNotToRelative,
    /// The giver's gifts this calendar year would pass the circle's cap.
    GiftCap,
    /// The member is younger than the circle's redemption age (or their birth year is unknown).
    RedemptionAge,
    /// A member confirmed their own claim.
    SelfConfirmation,
    /// The confirmer is not on the recipient side (a caregiver, the coordinator, or a family
    /// member of the claim's elder).
    ConfirmerNotRecipientSide,
    /// A decision by someone who is not a coordinator.
    DecisionNotByCoordinator,
    /// A confirmation of something that is not a claim, or a decision on a decision.
    WrongTarget,
    /// A transfer between circles written by someone who is not a coordinator.
    TransferNotByCoordinator,
}
