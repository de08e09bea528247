//! The coordinator's queue: what reconciliation found that needs a decision, with the ids of
//! the signed records that show it.

use super::services::ServiceProblem;
use super::standing::{KeyProblem, Rule};
use crate::identity::PublicKey;
use crate::ids::Id;

/// What kind of problem a queue item is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConflictKind {
    /// Two or more entries of one member share a sequence number (a cloned phone, a restored
    /// backup). Each needs a decision.
    Fork {
        /// The shared sequence number.
        seq: u64,
    },
    /// An entry's previous-hash names no entry at the sequence number before it.
    BrokenLink {
        /// The entry's sequence number.
        seq: u64,
    },
    /// A debit (redemption or gift) took the member's balance below zero: offline devices
    /// spent the same minutes, or credits it relied on stopped counting.
    Overdraft {
        /// The balance just after the debit, in minutes (negative).
        balance_after_minutes: i64,
    },
    /// A claim whose service record is missing, voided or does not match it.
    ClaimService {
        /// The service named.
        service: Id,
        /// What is wrong.
        problem: ServiceProblem,
    },
    /// A second claim for a service already claimed.
    DuplicateClaim {
        /// The service claimed twice.
        service: Id,
    },
    /// An entry signed by an unknown, revoked, expired or foreign key.
    UntrustedKey {
        /// The signing key.
        key: PublicKey,
        /// What is wrong with it.
        problem: KeyProblem,
    },
    /// An entry that breaks a rule of the time bank.
    RuleBroken {
        /// The rule.
        rule: Rule,
    },
    /// A confirmed claim waiting for the coordinator's approval (where the circle requires it).
    AwaitingApproval,
    /// A second transfer-in of a balance already opened here (the same statement imported
    /// twice).
    DuplicateTransfer {
        /// The transfer-out (in the old circle) opened twice.
        transfer_out: Id,
    },
    /// Hours moved to another circle were spent here as well: a redemption or gift beyond the
    /// chain head the transfer-out saw overdrew the balance (or the transfer-out did, after
    /// them). The evidence holds the transfer-out and the spends.
    TransferDoubleSpend {
        /// The transfer-out whose hours were spent twice.
        transfer_out: Id,
    },
}

/// One item of the coordinator's queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Conflict {
    /// The member whose ledger it concerns.
    pub member: Id,
    /// What was found.
    pub kind: ConflictKind,
    /// The signed records that show it (record ids), in (clock, id) order.
    pub evidence: Vec<Id>,
    /// The entries a decision is wanted on; the item leaves the queue when each has one.
    pub awaiting: Vec<Id>,
}
