//! What the time-bank and sync calls return: balances, the coordinator's conflict queue, a
//! verified statement, and what an import or a sync did. All flat: ids as text, minutes as
//! `i64`, instants as Unix ms.

use carebank_core::ids::Id;
use carebank_core::lang::Lang;
use carebank_core::ledger as l;
use carebank_core::sync::Progress;
use carebank_core::sync::bundle::ImportReport as CoreImport;

use crate::convert;
use crate::records::Role;

/// A member's time-bank balance, in minutes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Balance {
    /// The member.
    pub member_id: String,
    /// What the member holds now: negative after an overdraft.
    pub available_minutes: i64,
    /// Credited by confirmed (and, where required, approved) claims.
    pub earned_minutes: i64,
    /// Received as gifts.
    pub received_minutes: i64,
    /// Spent on services received.
    pub redeemed_minutes: i64,
    /// Given to relatives.
    pub given_minutes: i64,
    /// Opened here by transfers from other circles (通存通兑).
    pub transferred_in_minutes: i64,
    /// Moved out to other circles.
    pub transferred_out_minutes: i64,
    /// Lost to expiry.
    pub expired_minutes: i64,
    /// Not credited because the member held the circle's cap.
    pub forfeited_minutes: i64,
    /// Claimed but not yet confirmed or approved (not in the balance).
    pub pending_minutes: i64,
}

impl From<l::Balance> for Balance {
    fn from(b: l::Balance) -> Self {
        Balance {
            member_id: b.member.to_string(),
            available_minutes: b.available_minutes,
            earned_minutes: b.earned_minutes,
            received_minutes: b.received_minutes,
            redeemed_minutes: b.redeemed_minutes,
            given_minutes: b.given_minutes,
            transferred_in_minutes: b.transferred_in_minutes,
            transferred_out_minutes: b.transferred_out_minutes,
            expired_minutes: b.expired_minutes,
            forfeited_minutes: b.forfeited_minutes,
            pending_minutes: b.pending_minutes,
        }
    }
}

/// What kind of problem a queue item is (the `description` says the particulars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ConflictKind {
    /// Two or more entries of one member share a sequence number (a cloned phone, a restored
    /// backup).
    Fork,
    /// An entry's previous-hash names no entry before it.
    BrokenLink,
    /// A redemption or gift took the member below zero.
    Overdraft,
    /// A claim whose service record is missing, voided or does not match it.
    ClaimService,
    /// A second claim for a service already claimed.
    DuplicateClaim,
    /// An entry signed by an unknown, revoked, expired or foreign key.
    UntrustedKey,
    /// An entry that breaks a rule of the time bank.
    RuleBroken,
    /// A confirmed claim waiting for the coordinator's approval.
    AwaitingApproval,
    /// Hours moved here from another circle were opened a second time.
    DuplicateTransfer,
    /// Hours moved to another circle were spent here as well.
    TransferDoubleSpend,
}

/// One item of the coordinator's queue: decide (approve or reject) each entry in
/// `awaiting_ids` and the item leaves the queue.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Conflict {
    /// The member whose ledger it concerns.
    pub member_id: String,
    /// What was found.
    pub kind: ConflictKind,
    /// The particulars, in an English sentence about "the member" for the log or a dialog
    /// (sequence number, the balance left in hours, service, key, rule).
    pub description: String,
    /// The signed records that show it (read each with `get`).
    pub evidence_ids: Vec<String>,
    /// The entries a decision is wanted on.
    pub awaiting_ids: Vec<String>,
}

fn ids(ids: &[Id]) -> Vec<String> {
    ids.iter().map(Id::to_string).collect()
}

impl From<l::Conflict> for Conflict {
    fn from(c: l::Conflict) -> Self {
        use l::ConflictKind as K;
        let kind = match &c.kind {
            K::Fork { .. } => ConflictKind::Fork,
            K::BrokenLink { .. } => ConflictKind::BrokenLink,
            K::Overdraft { .. } => ConflictKind::Overdraft,
            K::ClaimService { .. } => ConflictKind::ClaimService,
            K::DuplicateClaim { .. } => ConflictKind::DuplicateClaim,
            K::UntrustedKey { .. } => ConflictKind::UntrustedKey,
            K::RuleBroken { .. } => ConflictKind::RuleBroken,
            K::AwaitingApproval => ConflictKind::AwaitingApproval,
            K::DuplicateTransfer { .. } => ConflictKind::DuplicateTransfer,
            K::TransferDoubleSpend { .. } => ConflictKind::TransferDoubleSpend,
        };
        let description = l::words::conflict(&c.kind, "the member", Lang::En);
        Conflict {
            member_id: c.member.to_string(),
            kind,
            description,
            evidence_ids: ids(&c.evidence),
            awaiting_ids: ids(&c.awaiting),
        }
    }
}

/// A member statement that verified against the circle's centre key.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifiedStatement {
    /// The circle.
    pub circle_id: String,
    /// The member.
    pub member_id: String,
    /// The instant of the balance (Unix ms).
    pub as_of_ms: i64,
    /// The balance, recomputed from the records.
    pub balance: Balance,
    /// The member's entries, by sequence number.
    pub entry_ids: Vec<String>,
    /// Conflicts about the member that the records show (a clean statement has none).
    pub conflicts: Vec<Conflict>,
    /// The exporting device key.
    pub exporter_key: String,
    /// The exporter's role: none for the centre.
    pub exporter_role: Option<Role>,
}

impl From<l::VerifiedStatement> for VerifiedStatement {
    fn from(v: l::VerifiedStatement) -> Self {
        VerifiedStatement {
            circle_id: v.circle.to_string(),
            member_id: v.member.to_string(),
            as_of_ms: convert::ms(v.as_of_ms),
            balance: v.balance.into(),
            entry_ids: ids(&v.entries),
            conflicts: convert::all(v.conflicts),
            exporter_key: v.exporter.to_string(),
            exporter_role: v.exporter_role.map(Role::from),
        }
    }
}

/// What importing a bundle file did (importing the same file again adds nothing).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportReport {
    /// Documents in the bundle.
    pub docs: u64,
    /// Records new to this store.
    pub records_added: u64,
    /// Values in the file that are not valid records (an altered copy the exporter was once
    /// sent): kept out, and listed among the store's rejections.
    pub values_rejected: u64,
}

impl From<CoreImport> for ImportReport {
    fn from(r: CoreImport) -> Self {
        ImportReport {
            docs: r.docs as u64,
            records_added: r.records_added as u64,
            values_rejected: r.values_rejected as u64,
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Replies received.
    pub round_trips: u32,
    /// Encoded bytes sent.
    pub bytes_sent: u64,
    /// Encoded bytes received.
    pub bytes_received: u64,
    /// Documents found to differ.
    pub docs_to_sync: u64,
    /// Of those, documents now converged.
    pub docs_synced: u64,
    /// Records received that were new here.
    pub records_received: u64,
}

impl From<Progress> for SyncReport {
    fn from(p: Progress) -> Self {
        SyncReport {
            round_trips: p.round_trips,
            bytes_sent: p.bytes_sent,
            bytes_received: p.bytes_received,
            docs_to_sync: p.docs_to_sync as u64,
            docs_synced: p.docs_synced as u64,
            records_received: p.records_received as u64,
        }
    }
}
