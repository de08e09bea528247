//! Time-bank (时间银行) records: ledger entries read back from the store, a coordinator's
//! verdict, and the circle's time-bank rules. Amounts are whole minutes.

use carebank_core::domain as d;

use super::ConfirmMethod;
use crate::convert::mirror_enum;
use crate::error::{CareError, Result};

mirror_enum! {
    /// A coordinator's verdict on a ledger entry.
    Verdict = d::Verdict {
        /// The entry counts, whatever held it (no confirmation, a fork, a revoked key, a rule).
        Approve,
        /// The entry does not count.
        Reject,
    }
}

/// What a ledger entry does.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum LedgerEntryKind {
    /// A volunteer claims minutes for a service they gave.
    Claim {
        /// The service record the minutes were earned by.
        service_id: String,
        /// The elder served.
        elder_id: String,
        /// Minutes claimed.
        minutes: i64,
    },
    /// The recipient side confirms a claim.
    Confirm {
        /// The claim entry's record id.
        claim_id: String,
        /// How the recipient side confirmed.
        method: ConfirmMethod,
    },
    /// The member spends minutes on services received.
    Redeem {
        /// Minutes spent.
        minutes: i64,
        /// The service received, if recorded.
        service_id: Option<String>,
    },
    /// The member gives minutes to a relative who is a member.
    Gift {
        /// The receiving member.
        to_member_id: String,
        /// Minutes given.
        minutes: i64,
    },
    /// A coordinator of the old circle moves a member's balance out to another circle.
    TransferOut {
        /// The member whose balance moves.
        member_id: String,
        /// Minutes moved.
        minutes: i64,
        /// The circle the balance moves to.
        to_circle_id: String,
        /// The member's chain head the coordinator saw.
        head_seq: u64,
    },
    /// A coordinator of the new circle opens a balance moved from another circle.
    TransferIn {
        /// The member credited.
        member_id: String,
        /// Minutes opened.
        minutes: i64,
        /// The circle the balance came from.
        from_circle_id: String,
        /// The transfer-out entry's record id (in the old circle).
        transfer_out_id: String,
        /// SHA-256 of the transfer statement imported (64 hex characters).
        statement_hash: String,
    },
    /// A coordinator approves or rejects an entry.
    Decide {
        /// The entry decided on (its record id).
        target_id: String,
        /// Approve or reject.
        verdict: Verdict,
        /// Why.
        reason: String,
    },
}

/// One entry of a member's time-bank chain.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LedgerEntry {
    /// The member whose chain the entry extends.
    pub member_id: String,
    /// 1 for the member's first entry, then one more than the previous.
    pub seq: u64,
    /// The hash of the member's previous entry (64 hex characters); none for the first.
    pub prev_hash: Option<String>,
    /// What the entry does.
    pub kind: LedgerEntryKind,
}

impl From<d::LedgerEntry> for LedgerEntry {
    fn from(e: d::LedgerEntry) -> Self {
        let kind = match e.kind {
            d::EntryKind::Claim {
                service,
                elder_id,
                minutes,
            } => LedgerEntryKind::Claim {
                service_id: service.to_string(),
                elder_id: elder_id.to_string(),
                minutes,
            },
            d::EntryKind::Confirm { claim, method } => LedgerEntryKind::Confirm {
                claim_id: claim.to_string(),
                method: method.into(),
            },
            d::EntryKind::Redeem { minutes, service } => LedgerEntryKind::Redeem {
                minutes,
                service_id: service.map(|s| s.to_string()),
            },
            d::EntryKind::Gift { to, minutes } => LedgerEntryKind::Gift {
                to_member_id: to.to_string(),
                minutes,
            },
            d::EntryKind::TransferOut {
                member,
                minutes,
                to_circle,
                head_seq,
            } => LedgerEntryKind::TransferOut {
                member_id: member.to_string(),
                minutes,
                to_circle_id: to_circle.to_string(),
                head_seq,
            },
            d::EntryKind::TransferIn {
                member,
                minutes,
                from_circle,
                transfer_out,
                statement,
            } => LedgerEntryKind::TransferIn {
                member_id: member.to_string(),
                minutes,
                from_circle_id: from_circle.to_string(),
                transfer_out_id: transfer_out.to_string(),
                statement_hash: statement.to_string(),
            },
            d::EntryKind::Decide {
                target,
                verdict,
                reason,
            } => LedgerEntryKind::Decide {
                target_id: target.to_string(),
                verdict: verdict.into(),
                reason,
            },
        };
        LedgerEntry {
            member_id: e.member_id.to_string(),
            seq: e.seq,
            prev_hash: e.prev.map(|h| h.to_string()),
            kind,
        }
    }
}

/// The time-bank rules of a circle, set by the centre; every limit is optional.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LedgerRules {
    /// The most minutes a member may hold; credits beyond it are forfeited.
    #[uniffi(default)]
    pub cap_minutes: Option<i64>,
    /// Credited minutes expire this many days after they were earned.
    #[uniffi(default)]
    pub expiry_days: Option<i64>,
    /// Members may redeem only from this age.
    #[uniffi(default)]
    pub redemption_age: Option<i64>,
    /// The most minutes a member may give away in one calendar year.
    #[uniffi(default)]
    pub gift_cap_minutes_per_year: Option<i64>,
    /// Whether confirmed claims also need a coordinator's approval before they count.
    #[uniffi(default = false)]
    pub approval_required: bool,
}

impl TryFrom<LedgerRules> for d::LedgerRules {
    type Error = CareError;
    fn try_from(r: LedgerRules) -> Result<Self> {
        let rules = d::LedgerRules {
            cap_minutes: r.cap_minutes,
            expiry_days: r.expiry_days,
            redemption_age: r.redemption_age,
            gift_cap_minutes_per_year: r.gift_cap_minutes_per_year,
            approval_required: r.approval_required,
        };
        rules.validate()?;
        Ok(rules)
    }
}

impl From<d::LedgerRules> for LedgerRules {
    fn from(r: d::LedgerRules) -> Self {
        LedgerRules {
            cap_minutes: r.cap_minutes,
            expiry_days: r.expiry_days,
            redemption_age: r.redemption_age,
            gift_cap_minutes_per_year: r.gift_cap_minutes_per_year,
            approval_required: r.approval_required,
        }
    }
}
