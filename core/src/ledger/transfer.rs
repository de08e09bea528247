//! Hours valid across circles (通存通兑): the transfer statement a member carries from their old
//! circle to a new one, verified offline with the province root key alone. Format:
//! `docs/ledger-format.md`, "Transfer statement"; why: decision 0018.
//!
//! The file is the canonical JSON of a [`TransferFile`]: the old town centre's authority chain
//! (province → district → town), the old circle's coordinator-signed member statement, whose
//! records hold the coordinator's transfer-out entry, and that entry's record id. Every part is
//! signed by the key that vouches for it, so the file itself carries no further signature.

use serde::{Deserialize, Serialize};

use super::book::Ledger;
use super::services::ServiceView;
use super::statement::{
    MAX_STATEMENT_BYTES, StatementError, VerifiedStatement, export_statement, verify_statement_in,
};
use crate::canonical::{CanonicalError, from_canonical, to_canonical};
use crate::domain::{EntryHash, EntryKind, Role};
use crate::identity::authority::{
    Authority, AuthorityChain, AuthorityError, AuthorityLevel, MAX_AUTHORITY_CHAIN_BYTES,
};
use crate::identity::{DeviceKey, PublicKey};
use crate::ids::Id;

/// The format name written in every transfer statement this build makes.
pub const TRANSFER_FORMAT: &str = "carebank/transfer/v1";
/// The largest transfer statement accepted: a statement and a chain, each as hex, and room for
/// the field names.
pub const MAX_TRANSFER_BYTES: usize = 2 * (MAX_STATEMENT_BYTES + MAX_AUTHORITY_CHAIN_BYTES) + 1024;

/// The content of a transfer statement file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferFile {
    /// [`TRANSFER_FORMAT`].
    pub format: String,
    /// The old town centre's authority chain (`docs/authority-format.md`), as lowercase hex of
    /// its encoded bytes.
    pub authority: String,
    /// The member's statement (`docs/ledger-format.md` §4), exported by a coordinator of the
    /// old circle, as lowercase hex of the statement file's bytes.
    pub statement: String,
    /// The record id of the transfer-out entry among the statement's records.
    pub transfer_out: Id,
}

/// Why a transfer statement is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransferError {
    /// Empty or too large.
    #[error("transfer statement is {0} bytes, outside 1..={MAX_TRANSFER_BYTES}")]
    Size(usize),
    /// Not the canonical encoding of a transfer file.
    #[error("transfer statement encoding: {0}")]
    Encoding(#[from] CanonicalError),
    /// A format this build does not read.
    #[error("transfer statement format {0:?} is not supported")]
    Format(String),
    /// A part is not lowercase hex.
    #[error("the transfer statement's {0} is not hex")]
    Hex(&'static str),
    /// The authority chain does not verify under the province root.
    #[error("the old town's authority: {0}")]
    Authority(#[from] AuthorityError),
    /// The chain does not end in a town centre, or ends in another centre than the statement's.
    #[error("the authority chain does not certify the statement's town centre")]
    NotTheTown,
    /// The member statement does not verify under the town centre's key.
    #[error("the member statement: {0}")]
    Statement(#[from] StatementError),
    /// The statement was exported by a member, who could leave out their latest spends.
    #[error("the statement was exported by a member, not by a coordinator of the old circle")]
    NotByCoordinator,
    /// The named entry is not a transfer-out of the statement's member, in good standing.
    #[error("the statement holds no counted transfer-out {0} of its member")]
    NoTransferOut(Id),
    /// The transfer-out moves the hours to another circle.
    #[error("the hours were moved to circle {0}, not this one")]
    OtherCircle(Id),
    /// The transfer-out saw more of the member's chain than the statement proves.
    #[error(
        "the transfer-out closed the chain at {closed}, the statement proves it only to {proved}"
    )]
    HeadMismatch {
        /// The transfer-out's `head_seq`.
        closed: u64,
        /// The statement's `head_seq`.
        proved: u64,
    },
    /// The old circle's records show the moved hours spent there too, or more hours moved than
    /// the member held.
    #[error("the old circle's records show the moved hours spent there too, or overdrawn")]
    SpentTwice,
    /// This circle already opened this transfer-out.
    #[error("transfer-out {0} was already opened here")]
    AlreadyOpened(Id),
    /// The member is not enrolled in this circle.
    #[error(
        "member {0} is not enrolled in this circle: enrol them (with the same member id) first"
    )]
    NotEnrolled(Id),
    /// The transfer statement could not be made.
    #[error("transfer statement could not be made: {0}")]
    Export(String),
}

/// What a verified transfer statement shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTransfer {
    /// The member whose balance moves.
    pub member: Id,
    /// Minutes moved.
    pub minutes: i64,
    /// The old circle.
    pub from_circle: Id,
    /// The transfer-out entry (in the old circle).
    pub transfer_out: Id,
    /// SHA-256 of the file's bytes.
    pub file_hash: EntryHash,
    /// The old town centre, as its district certified it.
    pub town: Authority,
    /// The old town's district.
    pub district: Option<Authority>,
    /// The member statement inside.
    pub statement: VerifiedStatement,
}

/// Makes the transfer statement for `transfer_out` (an entry held in `ledger`): the member's
/// statement as of `as_of_ms`, signed by `exporter`, with the town's `authority` chain bytes.
pub fn export_transfer(
    ledger: &Ledger,
    services: &ServiceView,
    transfer_out: Id,
    as_of_ms: u64,
    authority: &[u8],
    exporter: &DeviceKey,
) -> Result<Vec<u8>, TransferError> {
    let member = match ledger.entry(transfer_out).map(|(e, _)| &e.kind) {
        Some(EntryKind::TransferOut { member, .. }) => *member,
        _ => return Err(TransferError::NoTransferOut(transfer_out)),
    };
    let statement = export_statement(ledger, services, member, as_of_ms, exporter)?;
    let file = TransferFile {
        format: TRANSFER_FORMAT.to_string(),
        authority: hex::encode(authority),
        statement: hex::encode(statement),
        transfer_out,
    };
    let bytes = to_canonical(&file).map_err(|e| TransferError::Export(e.to_string()))?;
    if bytes.len() > MAX_TRANSFER_BYTES {
        return Err(TransferError::Size(bytes.len()));
    }
    Ok(bytes)
}

/// Verifies a transfer statement with the province root key alone, for opening in circle
/// `into`: the chain (province → district → town, every certificate holding at the
/// statement's instant), the statement under the town centre's key, exported by a coordinator
/// or the centre, and the transfer-out in it: counted, of the statement's member, to `into`,
/// its hours not spent in the old circle too (no queue item of the statement names it, and the
/// balance is not negative), closing the chain at a head the statement proves.
pub fn verify_transfer(
    bytes: &[u8],
    province: PublicKey,
    into: Id,
) -> Result<VerifiedTransfer, TransferError> {
    if bytes.is_empty() || bytes.len() > MAX_TRANSFER_BYTES {
        return Err(TransferError::Size(bytes.len()));
    }
    let file: TransferFile = from_canonical(bytes)?;
    if file.format != TRANSFER_FORMAT {
        return Err(TransferError::Format(file.format));
    }
    let chain_bytes = lower_hex(&file.authority, "authority")?;
    let statement_bytes = lower_hex(&file.statement, "statement")?;
    let chain = AuthorityChain::decode(&chain_bytes)?;
    let centre = chain
        .leaf()
        .filter(|c| c.statement.level == AuthorityLevel::Town)
        .map(|c| c.statement.subject)
        .ok_or(TransferError::NotTheTown)?;
    let (statement, ledger, reconciled) = verify_statement_in(&statement_bytes, centre)?;
    let authority = chain.verify(province, statement.as_of_ms)?;
    if authority.level != AuthorityLevel::Town || authority.subject.key != centre {
        return Err(TransferError::NotTheTown);
    }
    if !matches!(statement.exporter_role, None | Some(Role::Coordinator)) {
        return Err(TransferError::NotByCoordinator);
    }
    let id = file.transfer_out;
    let (minutes, to_circle, head_seq) = match ledger.entry(id).map(|(e, _)| &e.kind) {
        Some(EntryKind::TransferOut {
            member,
            minutes,
            to_circle,
            head_seq,
        }) if *member == statement.member
            && reconciled.standing(id).is_some_and(|s| s.counts()) =>
        {
            (*minutes, *to_circle, *head_seq)
        }
        _ => return Err(TransferError::NoTransferOut(id)),
    };
    if to_circle != into || statement.circle == into {
        return Err(TransferError::OtherCircle(to_circle));
    }
    let overdrawn = statement.balance.available_minutes < 0
        || statement.conflicts.iter().any(|c| c.evidence.contains(&id));
    if overdrawn {
        return Err(TransferError::SpentTwice);
    }
    if head_seq > statement.head_seq {
        return Err(TransferError::HeadMismatch {
            closed: head_seq,
            proved: statement.head_seq,
        });
    }
    Ok(VerifiedTransfer {
        member: statement.member,
        minutes,
        from_circle: statement.circle,
        transfer_out: id,
        file_hash: EntryHash::of_payload(bytes),
        town: authority.subject,
        district: authority.district,
        statement,
    })
}

/// Decodes a part written as lowercase hex (the canonical form: nothing else is accepted).
fn lower_hex(text: &str, part: &'static str) -> Result<Vec<u8>, TransferError> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(TransferError::Hex(part));
    }
    hex::decode(text).map_err(|_| TransferError::Hex(part))
}
