//! Member statements: a self-contained, signed file of one member's ledger (their entries, the
//! confirmations and decisions on them, gifts they received, the certificate chain and the
//! rules) that anyone holding the centre's public key can verify offline, so hours travel
//! between villages (通存通兑). Format: `docs/ledger-format.md`, "Statement file".
//!
//! File bytes: `signature (64 bytes) ‖ payload`, where `payload` is the canonical JSON of a
//! [`Statement`] and the signature is ed25519 by `statement.exporter` over
//! [`STATEMENT_SIGNING_CONTEXT`] ‖ payload.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::balance::Balance;
use super::book::Ledger;
use super::conflict::Conflict;
use super::reconcile::Reconciliation;
use super::services::{ClaimRef, ServiceProblem, ServiceView};
use crate::canonical::{CanonicalError, from_canonical, to_canonical};
use crate::domain::{EntryHash, EntryKind, Role};
use crate::identity::{DeviceKey, KeyStanding, PublicKey, SignatureBytes};
use crate::ids::Id;

/// The format name written in every statement this build makes.
pub const STATEMENT_FORMAT: &str = "carebank/statement/v1";
/// Prefixed to the payload before signing, so a statement signature means nothing elsewhere.
pub const STATEMENT_SIGNING_CONTEXT: &[u8] = b"carebank/statement/v1\0";
/// The largest statement file accepted.
pub const MAX_STATEMENT_BYTES: usize = 32 * 1024 * 1024;

/// The signed content of a statement file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_FORMAT`].
    pub format: String,
    /// The circle the member belongs to.
    pub circle: Id,
    /// The centre's key: the root of trust the records chain up to.
    pub centre: PublicKey,
    /// The member the statement is for.
    pub member: Id,
    /// The instant (Unix ms) the balance is stated at.
    pub as_of_ms: u64,
    /// The key that exported and signed the statement (a trusted key of the circle).
    pub exporter: PublicKey,
    /// The member's highest sequence number (0 without entries).
    pub head_seq: u64,
    /// The hash of the entry at `head_seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<EntryHash>,
    /// The member's balance at `as_of_ms`, in minutes.
    pub balance_minutes: i64,
    /// The exporter's attestation about the services the member's claims name: every claim
    /// not listed checked out against its service record; the listed ones did not, for the
    /// reason given. (Service records hold elders' data and stay in the village.)
    pub service_problems: BTreeMap<Id, ServiceProblem>,
    /// Every record the statement rests on, as lowercase hex of the signed record bytes,
    /// in ascending record-id order, each once.
    pub records: Vec<String>,
}

/// Why a statement file does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatementError {
    /// Too short to hold a signature, or too large.
    #[error("statement is {0} bytes, outside 65..={MAX_STATEMENT_BYTES}")]
    Size(usize),
    /// The payload is not the canonical encoding of a statement.
    #[error("statement payload: {0}")]
    Encoding(#[from] CanonicalError),
    /// A format this build does not read.
    #[error("statement format {0:?} is not supported")]
    Format(String),
    /// The statement chains up to another centre key than the verifier's.
    #[error("the statement is rooted in another centre key")]
    WrongCentre,
    /// The exporter's signature does not match.
    #[error("the statement's signature does not verify")]
    BadSignature,
    /// The exporter is not a trusted key of the circle at the statement's instant.
    #[error("the statement was exported by a key the circle does not trust")]
    UntrustedExporter,
    /// A record in the statement is malformed, forged or altered.
    #[error("record {position} of the statement: {reason}")]
    BadRecord {
        /// Its position in `records`.
        position: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The records are not distinct and in ascending id order.
    #[error("the statement's records are not distinct and in id order")]
    RecordOrder,
    /// The member's chain is not complete up to its head.
    #[error("the member's chain is incomplete: {0}")]
    Incomplete(String),
    /// The balance recomputed from the records differs from the stated one.
    #[error("the stated balance {stated} differs from the recomputed {recomputed}")]
    BalanceMismatch {
        /// What the statement says.
        stated: i64,
        /// What the records give.
        recomputed: i64,
    },
    /// The exporter could not encode or sign the statement.
    #[error("statement could not be made: {0}")]
    Export(String),
}

/// What a verified statement shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatement {
    /// The circle.
    pub circle: Id,
    /// The member.
    pub member: Id,
    /// The instant of the balance.
    pub as_of_ms: u64,
    /// The member's chain head (its highest sequence number, 0 without entries).
    pub head_seq: u64,
    /// The balance recomputed from the records (equal to the stated one).
    pub balance: Balance,
    /// The member's entries, by sequence number.
    pub entries: Vec<Id>,
    /// Conflicts about the member that the records show (a clean statement has none).
    pub conflicts: Vec<Conflict>,
    /// The exporting key.
    pub exporter: PublicKey,
    /// The exporter's role: `None` for the centre. A coordinator's statement vouches for the
    /// service checks and that no later entry was left out; a member's own only for what it
    /// holds.
    pub exporter_role: Option<Role>,
}

/// Makes a member's statement from a ledger, signed by `exporter`.
pub fn export_statement(
    ledger: &Ledger,
    services: &ServiceView,
    member: Id,
    as_of_ms: u64,
    exporter: &DeviceKey,
) -> Result<Vec<u8>, StatementError> {
    let reconciled = ledger.reconcile(services);
    let ids = statement_records(ledger, member);
    let mut service_problems = BTreeMap::new();
    for id in ledger.chain(member) {
        if let Some((entry, _)) = ledger.entry(id)
            && let EntryKind::Claim {
                service,
                elder_id,
                minutes,
            } = entry.kind
            && let Some(problem) = services.check(&ClaimRef {
                claim: id,
                claimant: member,
                service,
                elder_id,
                minutes,
            })
        {
            service_problems.insert(id, problem);
        }
    }
    let head = ledger.head(member);
    let statement = Statement {
        format: STATEMENT_FORMAT.to_string(),
        circle: ledger.circle(),
        centre: ledger.centre(),
        member,
        as_of_ms,
        exporter: exporter.public_key(),
        head_seq: head.map_or(0, |h| h.0),
        head_hash: head.map(|h| h.1),
        balance_minutes: reconciled.balance(member, as_of_ms).available_minutes,
        service_problems,
        records: ids
            .iter()
            .filter_map(|id| ledger.record(*id))
            .map(|r| hex::encode(r.as_bytes()))
            .collect(),
    };
    let payload = to_canonical(&statement).map_err(|e| StatementError::Export(e.to_string()))?;
    let signature = exporter.sign(&signing_message(&payload));
    let mut bytes = Vec::with_capacity(64 + payload.len());
    bytes.extend_from_slice(&signature);
    bytes.extend_from_slice(&payload);
    if bytes.len() > MAX_STATEMENT_BYTES {
        return Err(StatementError::Size(bytes.len()));
    }
    Ok(bytes)
}

/// The records a member's statement rests on: every certificate, revocation and rules record;
/// the member's chain; the transfers out and in that name the member; gifts to the member and every gift of those givers (for the yearly cap);
/// and, transitively, the confirmations and decisions that refer to any of these.
fn statement_records(ledger: &Ledger, member: Id) -> BTreeSet<Id> {
    let mut ids: BTreeSet<Id> = ledger
        .certificate_ids()
        .iter()
        .chain(ledger.rules_ids())
        .copied()
        .collect();
    let mut frontier: Vec<Id> = ledger.chain(member);
    frontier.extend(ledger.transfers_of(member));
    for gift in ledger.gifts_to(member) {
        frontier.push(*gift);
        if let Some((entry, _)) = ledger.entry(*gift) {
            frontier.extend(ledger.chain(entry.member_id).into_iter().filter(|id| {
                matches!(
                    ledger.entry(*id).map(|(e, _)| &e.kind),
                    Some(EntryKind::Gift { .. })
                )
            }));
        }
    }
    while let Some(id) = frontier.pop() {
        if ids.insert(id) {
            frontier.extend(ledger.references(id).iter().copied());
        }
    }
    ids
}

/// Verifies a statement file with nothing but the centre's public key: its encoding, every
/// record's signature and certificate chain, the member's chain up to its head, the
/// exporter's signature and trust, and the balance, recomputed.
pub fn verify_statement(
    bytes: &[u8],
    centre: PublicKey,
) -> Result<VerifiedStatement, StatementError> {
    verify_statement_in(bytes, centre).map(|(verified, _, _)| verified)
}

/// [`verify_statement`], also returning the ledger the statement's records make and its
/// reconciliation (for a transfer, which reads one entry of it).
pub(super) fn verify_statement_in(
    bytes: &[u8],
    centre: PublicKey,
) -> Result<(VerifiedStatement, Ledger, Reconciliation), StatementError> {
    if bytes.len() <= 64 || bytes.len() > MAX_STATEMENT_BYTES {
        return Err(StatementError::Size(bytes.len()));
    }
    let (signature, payload) = bytes.split_at(64);
    let statement: Statement = from_canonical(payload)?;
    if statement.format != STATEMENT_FORMAT {
        return Err(StatementError::Format(statement.format));
    }
    if statement.centre != centre {
        return Err(StatementError::WrongCentre);
    }
    let signature: &SignatureBytes = signature
        .try_into()
        .map_err(|_| StatementError::Size(bytes.len()))?;
    if !statement
        .exporter
        .verify(&signing_message(payload), signature)
    {
        return Err(StatementError::BadSignature);
    }

    let mut raw = Vec::with_capacity(statement.records.len());
    for (position, text) in statement.records.iter().enumerate() {
        let bytes = hex::decode(text).map_err(|e| StatementError::BadRecord {
            position,
            reason: e.to_string(),
        })?;
        raw.push(bytes);
    }
    let mut ledger = Ledger::new(statement.circle, centre);
    let ingest = ledger.ingest(raw.iter().map(Vec::as_slice));
    if let Some((position, reason)) = ingest.rejected.first() {
        return Err(StatementError::BadRecord {
            position: *position,
            reason: reason.clone(),
        });
    }
    let in_order = ingest.added.len() == raw.len() && ingest.added.windows(2).all(|w| w[0] < w[1]);
    if !in_order {
        return Err(StatementError::RecordOrder);
    }

    let exporter_role = match ledger
        .trust()
        .standing(statement.exporter, statement.as_of_ms, None)
    {
        KeyStanding::Centre => None,
        KeyStanding::Member => ledger
            .trust()
            .certificate(statement.exporter)
            .map(|c| Some(c.enrolment.role))
            .ok_or(StatementError::UntrustedExporter)?,
        _ => return Err(StatementError::UntrustedExporter),
    };
    check_chain(&ledger, &statement)?;

    let reconciled = ledger.reconcile(&ServiceView::Attested(statement.service_problems.clone()));
    let balance = reconciled.balance(statement.member, statement.as_of_ms);
    if balance.available_minutes != statement.balance_minutes {
        return Err(StatementError::BalanceMismatch {
            stated: statement.balance_minutes,
            recomputed: balance.available_minutes,
        });
    }
    let verified = VerifiedStatement {
        circle: statement.circle,
        member: statement.member,
        as_of_ms: statement.as_of_ms,
        head_seq: statement.head_seq,
        balance,
        entries: ledger.chain(statement.member),
        conflicts: reconciled
            .conflicts()
            .iter()
            .filter(|c| c.member == statement.member)
            .cloned()
            .collect(),
        exporter: statement.exporter,
        exporter_role,
    };
    Ok((verified, ledger, reconciled))
}

/// Every sequence number from 1 to the head is present, nothing lies beyond it, and the head
/// hash names an entry at the head.
fn check_chain(ledger: &Ledger, statement: &Statement) -> Result<(), StatementError> {
    let chain = ledger.chain(statement.member);
    let mut seqs = BTreeSet::new();
    let mut head_hashes = Vec::new();
    for id in &chain {
        if let Some((entry, record)) = ledger.entry(*id) {
            seqs.insert(entry.seq);
            if entry.seq == statement.head_seq {
                head_hashes.push(EntryHash::of_payload(record.payload()));
            }
        }
    }
    if let Some(beyond) = seqs.iter().find(|s| **s > statement.head_seq) {
        return Err(StatementError::Incomplete(format!(
            "entry {beyond} lies beyond the stated head {}",
            statement.head_seq
        )));
    }
    if let Some(missing) = (1..=statement.head_seq).find(|s| !seqs.contains(s)) {
        return Err(StatementError::Incomplete(format!(
            "entry {missing} is missing"
        )));
    }
    let head_ok = match statement.head_hash {
        None => statement.head_seq == 0,
        Some(hash) => head_hashes.contains(&hash),
    };
    if !head_ok {
        return Err(StatementError::Incomplete(
            "the head hash names no entry at the head".into(),
        ));
    }
    Ok(())
}

fn signing_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(STATEMENT_SIGNING_CONTEXT.len() + payload.len());
    message.extend_from_slice(STATEMENT_SIGNING_CONTEXT);
    message.extend_from_slice(payload);
    message
}
