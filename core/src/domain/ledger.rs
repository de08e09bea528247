//! Time-bank ledger records (时间银行): the entries of each member's hash chain, and the rules a
//! circle's centre sets for its time bank. Amounts are whole minutes, never fractional hours.
//! The format is specified in `docs/ledger-format.md`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

use super::service::ConfirmMethod;
use super::validation::{NOTE_MAX, ValidationError, in_range, required_text};
use crate::ids::Id;

/// The most minutes one entry may move (one day of service; a gift or redemption of more is
/// split into several entries).
pub const ENTRY_MINUTES_MAX: i64 = 24 * 60;

/// The most minutes one transfer may move between circles (a member's whole balance, up to
/// the largest cap a circle may set).
pub const TRANSFER_MINUTES_MAX: i64 = 100_000_000;

/// The SHA-256 of a record's canonical payload: what a chain entry names its predecessor by.
/// Written as 64 lowercase hexadecimal characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryHash([u8; 32]);

impl EntryHash {
    /// The hash of a record payload (the canonical JSON after the 64-byte signature).
    pub fn of_payload(payload: &[u8]) -> EntryHash {
        EntryHash(Sha256::digest(payload).into())
    }

    /// The hash's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({})", &hex::encode(self.0)[..12])
    }
}

impl FromStr for EntryHash {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let mut bytes = [0u8; 32];
        if !ok || hex::decode_to_slice(s, &mut bytes).is_err() {
            return Err(ValidationError::Inconsistent(
                "an entry hash is 64 lowercase hexadecimal characters",
            ));
        }
        Ok(EntryHash(bytes))
    }
}

impl Serialize for EntryHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for EntryHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A coordinator's verdict on a ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The entry counts, whatever held it (no confirmation, a fork, a revoked key, a rule).
    Approve,
    /// The entry does not count.
    Reject,
}

/// What a ledger entry does, tagged by `"kind"` in its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// A volunteer claims minutes for a service they gave to an elder (links the service record).
    Claim {
        /// The service record the minutes were earned by.
        service: Id,
        /// The elder served (must be the service's elder).
        elder_id: Id,
        /// Minutes claimed (at most the service's duration).
        minutes: i64,
    },
    /// The recipient side confirms a claim: a caregiver, the elder's family member or the
    /// coordinator, each with their own key; an elder without a phone confirms through them.
    Confirm {
        /// The claim entry's record id.
        claim: Id,
        /// How the recipient side confirmed.
        method: ConfirmMethod,
    },
    /// The member spends minutes on services received.
    Redeem {
        /// Minutes spent.
        minutes: i64,
        /// The service received, if recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<Id>,
    },
    /// The member gives minutes to a relative who is a member.
    Gift {
        /// The receiving member.
        to: Id,
        /// Minutes given.
        minutes: i64,
    },
    /// A coordinator of the member's old circle moves the member's balance out to another
    /// circle (通存通兑): the member's balance here goes down by `minutes`, which the statement
    /// that carries this entry lets the new circle open there once.
    TransferOut {
        /// The member whose balance moves (not the coordinator whose chain holds the entry).
        member: Id,
        /// Minutes moved: the member's whole balance when the entry was written.
        minutes: i64,
        /// The circle the balance moves to; no other circle opens it.
        to_circle: Id,
        /// The member's chain head (its highest sequence number, 0 without entries) that the
        /// coordinator saw: a debit of the member beyond it was not seen when the balance moved.
        head_seq: u64,
    },
    /// A coordinator of the member's new circle opens a balance moved out of another circle, by
    /// importing the old circle's transfer statement.
    TransferIn {
        /// The member credited.
        member: Id,
        /// Minutes opened: the transfer-out's.
        minutes: i64,
        /// The circle the balance came from.
        from_circle: Id,
        /// The transfer-out entry's record id (in the old circle): opened once.
        transfer_out: Id,
        /// SHA-256 of the transfer statement file imported.
        statement: EntryHash,
    },
    /// A coordinator approves or rejects an entry (a claim, or one side of a conflict).
    Decide {
        /// The entry decided on (its record id).
        target: Id,
        /// Approve or reject.
        verdict: Verdict,
        /// Why, for the record.
        reason: String,
    },
}

impl EntryKind {
    /// The kind's name as written in its encoding.
    pub fn name(&self) -> &'static str {
        match self {
            EntryKind::Claim { .. } => "claim",
            EntryKind::Confirm { .. } => "confirm",
            EntryKind::Redeem { .. } => "redeem",
            EntryKind::Gift { .. } => "gift",
            EntryKind::TransferOut { .. } => "transfer_out",
            EntryKind::TransferIn { .. } => "transfer_in",
            EntryKind::Decide { .. } => "decide",
        }
    }

    /// The entry another entry refers to (a confirmation's claim, a decision's target).
    pub fn refers_to(&self) -> Option<Id> {
        match self {
            EntryKind::Confirm { claim, .. } => Some(*claim),
            EntryKind::Decide { target, .. } => Some(*target),
            EntryKind::Claim { .. }
            | EntryKind::Redeem { .. }
            | EntryKind::Gift { .. }
            | EntryKind::TransferOut { .. }
            | EntryKind::TransferIn { .. } => None,
        }
    }
}

/// One entry of a member's ledger: the member's sequence number, the hash of their previous
/// entry, and what the entry does. Signed by one of the member's enrolled device keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The member whose chain this entry extends (the signing key's member).
    pub member_id: Id,
    /// 1 for the member's first entry, then one more than the previous.
    pub seq: u64,
    /// The hash of the member's previous entry's payload; absent exactly when `seq` is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<EntryHash>,
    /// What the entry does.
    #[serde(flatten)]
    pub kind: EntryKind,
}

impl LedgerEntry {
    /// Checks the entry's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        in_range(
            "seq",
            i64::try_from(self.seq).unwrap_or(i64::MAX),
            1,
            i64::from(u32::MAX),
        )?;
        if (self.seq == 1) != self.prev.is_none() {
            return Err(ValidationError::Inconsistent(
                "the first entry has no previous hash, and every later entry has one",
            ));
        }
        match &self.kind {
            EntryKind::Claim { minutes, .. }
            | EntryKind::Redeem { minutes, .. }
            | EntryKind::Gift { minutes, .. } => {
                in_range("minutes", *minutes, 1, ENTRY_MINUTES_MAX)?;
            }
            EntryKind::TransferOut { minutes, .. } | EntryKind::TransferIn { minutes, .. } => {
                in_range("minutes", *minutes, 1, TRANSFER_MINUTES_MAX)?;
            }
            EntryKind::Confirm { .. } => {}
            EntryKind::Decide { reason, .. } => required_text("reason", reason, NOTE_MAX)?,
        }
        if let EntryKind::Gift { to, .. } = &self.kind
            && *to == self.member_id
        {
            return Err(ValidationError::Inconsistent(
                "a member cannot give minutes to themself",
            ));
        }
        Ok(())
    }
}

/// The time-bank rules of a circle, set by the centre. The latest rules record (by clock, then
/// record id) signed by the centre key applies to the whole ledger.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedgerRules {
    /// The most minutes a member may hold; credits beyond it are forfeited (Nanjing: 1,500 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_minutes: Option<i64>,
    /// Credited minutes expire this many days after they were earned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_days: Option<i64>,
    /// Members may redeem only from this age (Shanghai: 65).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redemption_age: Option<i64>,
    /// The most minutes a member may give away in one calendar year (CST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_cap_minutes_per_year: Option<i64>,
    /// Whether confirmed claims also need a coordinator's approval before they count.
    pub approval_required: bool,
}

impl LedgerRules {
    /// Checks the rules' own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let checks = [
            ("cap_minutes", self.cap_minutes, 1, 100_000_000),
            ("expiry_days", self.expiry_days, 1, 36_500),
            ("redemption_age", self.redemption_age, 1, 150),
            (
                "gift_cap_minutes_per_year",
                self.gift_cap_minutes_per_year,
                1,
                100_000_000,
            ),
        ];
        for (field, value, min, max) in checks {
            if let Some(v) = value {
                in_range(field, v, min, max)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{from_canonical, to_canonical};

    fn claim(seq: u64, prev: Option<EntryHash>) -> LedgerEntry {
        LedgerEntry {
            member_id: Id::from_bytes([1; 16]),
            seq,
            prev,
            kind: EntryKind::Claim {
                service: Id::from_bytes([2; 16]),
                elder_id: Id::from_bytes([3; 16]),
                minutes: 90,
            },
        }
    }

    #[test]
    fn entries_encode_flat_with_their_kind() {
        let entry = claim(1, None);
        let bytes = to_canonical(&entry).expect("encode");
        assert_eq!(
            std::str::from_utf8(&bytes).expect("utf8"),
            "{\"elder_id\":\"03030303030303030303030303030303\",\"kind\":\"claim\",\
             \"member_id\":\"01010101010101010101010101010101\",\"minutes\":90,\"seq\":1,\
             \"service\":\"02020202020202020202020202020202\"}"
        );
        assert_eq!(
            from_canonical::<LedgerEntry>(&bytes).expect("decode"),
            entry
        );
    }

    #[test]
    fn chain_links_and_amounts_are_checked() {
        assert!(claim(1, None).validate().is_ok());
        let h = EntryHash::of_payload(b"x");
        assert!(claim(2, Some(h)).validate().is_ok());
        assert!(claim(1, Some(h)).validate().is_err());
        assert!(claim(2, None).validate().is_err());
        assert!(claim(0, None).validate().is_err());
        let mut zero = claim(1, None);
        zero.kind = EntryKind::Redeem {
            minutes: 0,
            service: None,
        };
        assert!(zero.validate().is_err());
        let mut selfish = claim(1, None);
        selfish.kind = EntryKind::Gift {
            to: selfish.member_id,
            minutes: 10,
        };
        assert!(selfish.validate().is_err());
        assert!(h.to_string().parse::<EntryHash>().is_ok());
        assert!("AB".parse::<EntryHash>().is_err());
    }

    #[test]
    fn transfers_move_a_whole_balance_within_their_own_range() {
        let transfer = |minutes| LedgerEntry {
            member_id: Id::from_bytes([1; 16]),
            seq: 1,
            prev: None,
            kind: EntryKind::TransferOut {
                member: Id::from_bytes([2; 16]),
                minutes,
                to_circle: Id::from_bytes([3; 16]),
                head_seq: 0,
            },
        };
        // More than a day's entry may move (a balance of 1,500 h), but not nothing or less.
        assert!(transfer(1_500 * 60).validate().is_ok());
        assert!(transfer(TRANSFER_MINUTES_MAX).validate().is_ok());
        assert!(transfer(TRANSFER_MINUTES_MAX + 1).validate().is_err());
        assert!(transfer(0).validate().is_err());
        assert!(transfer(-60).validate().is_err());
        let bytes = to_canonical(&transfer(90)).expect("encode");
        assert_eq!(
            std::str::from_utf8(&bytes).expect("utf8"),
            "{\"head_seq\":0,\"kind\":\"transfer_out\",\"member\":\"02020202020202020202020202020202\",\
             \"member_id\":\"01010101010101010101010101010101\",\"minutes\":90,\"seq\":1,\
             \"to_circle\":\"03030303030303030303030303030303\"}"
        );
    }

    #[test]
    fn rules_have_sane_ranges() {
        let nanjing = LedgerRules {
            cap_minutes: Some(1_500 * 60),
            ..LedgerRules::default()
        };
        assert!(nanjing.validate().is_ok());
        let bad = LedgerRules {
            expiry_days: Some(0),
            ..LedgerRules::default()
        };
        assert!(bad.validate().is_err());
    }
}
