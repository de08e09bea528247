//! Materialised indexes: each record is decoded once, on the way in, into rows that the daily
//! queries read. Everything here is a function of the set of records, whatever order they
//! arrived in, so two stores holding the same records answer every query the same way.
//!
//! - A row is `counted` when its author's key is trusted (enrolled through the centre or a
//!   coordinator) and the record's clock is before any revocation of that key.
//! - A row shows the effective content of its record: the original, or the replacement of the
//!   latest applicable amendment, or `voided` after a void. A correction applies when its author
//!   is trusted and is the original author's member, or a coordinator, or the centre.
//! - An entity (site, elder, member key) recorded twice keeps its earliest record by (clock, id).

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::chains::forked_sql;
use super::keys::{self, StoredKeys};
use crate::domain::{CorrectionAction, RecordBody};
use crate::error::{Error, Result};
use crate::identity::PublicKey;
use crate::identity::trust::{EnrolmentFact, RevocationFact, derive_trust};
use crate::identity::wrap::Unwrapper;
use crate::ids::Id;
use crate::record::{EpochKeys, OuterRecord, RecordError, SignedRecord};
use crate::replica::DocId;
use crate::time::Month;

/// A record refused on its way in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The key it was stored under in its document.
    pub key: String,
    /// The document it came in.
    pub doc_id: String,
    /// Why it was refused.
    pub reason: String,
}

/// A key the circle trusts now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The device key.
    pub device_key: PublicKey,
    /// The member it belongs to (none for the centre).
    pub member_id: Option<Id>,
    /// `centre`, or the member's role.
    pub role: String,
    /// From when (record clock, ms) its records stop counting, if revoked.
    pub revoked_from_ms: Option<u64>,
}

/// What a batch of inserts needs done before its transaction commits.
#[derive(Default)]
pub(crate) struct Batch {
    /// An enrolment or revocation arrived: trust must be recomputed.
    pub trust_changed: bool,
    /// Records whose effective content must be recomputed (corrections arrived).
    pub targets: BTreeSet<String>,
    /// Opens epoch keys wrapped for this device (none: keys are noted, not taken).
    pub unwrapper: Option<Unwrapper>,
    /// Epoch and elder keys this device took in during the batch: the records that waited for
    /// them are admitted before the batch finishes.
    pub new_keys: Vec<Id>,
    /// An erasure record arrived: erasures are carried out as the batch finishes.
    pub erasures: bool,
    /// The elders erased as the batch finished (the store then checkpoints its log, so that no
    /// copy of their blanked rows stays in it).
    pub erased: Vec<Id>,
}

impl Batch {
    /// A batch that takes in the keys wrapped for `unwrapper`'s device.
    pub fn new(unwrapper: Option<Unwrapper>) -> Batch {
        Batch {
            unwrapper,
            ..Batch::default()
        }
    }

    /// Brings derived state up to date with the batch's records; returns the ids of the sealed
    /// records that waited for a key taken in by the batch (or for an elder erased by it), now
    /// admitted.
    pub fn finish(&mut self, tx: &Transaction<'_>, centre: PublicKey) -> Result<Vec<Id>> {
        let mut opened = Vec::new();
        if !self.new_keys.is_empty() {
            // Elder keys wrapped under an epoch key that just arrived open now.
            let elder_keys = super::elder_keys::open_pending(tx)?;
            self.new_keys.extend(elder_keys);
        }
        while let Some(key_id) = self.new_keys.pop() {
            let waiting = keys::take_waiting(tx, key_id)?;
            self.readmit(tx, waiting, &mut opened)?;
        }
        if self.trust_changed {
            // Trust decides which corrections apply, so every corrected record is redone.
            recompute_trust(tx, centre)?;
            let mut stmt = tx.prepare_cached("SELECT DISTINCT target FROM corrections")?;
            let corrected = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for target in corrected {
                self.targets.insert(target?);
            }
        }
        if self.erasures || self.trust_changed {
            for elder in super::erasure::carry_out(tx, centre)? {
                let waiting = keys::take_waiting_for_elder(tx, elder)?;
                self.readmit(tx, waiting, &mut opened)?;
                self.erased.push(elder);
            }
        }
        for target in &self.targets {
            refresh(tx, target)?;
        }
        Ok(opened)
    }

    /// Admits records that waited, now that they open.
    fn readmit(
        &mut self,
        tx: &Transaction<'_>,
        waiting: Vec<(String, String, Vec<u8>)>,
        opened: &mut Vec<Id>,
    ) -> Result<()> {
        for (id, doc_id, bytes) in waiting {
            let doc = DocId::parse(&doc_id)
                .ok_or_else(|| Error::Corrupt(format!("document {doc_id:?}")))?;
            let record = match SignedRecord::decode_unverified(&bytes, &StoredKeys(tx)) {
                Ok(record) => record,
                // Its body opened with the key that arrived, but its personal part waits for
                // an elder key still (or the other way round): it waits on, for that one.
                Err(RecordError::PersonalSealed { elder, key_id }) => {
                    let id = super::lookups::parse(&id, "waiting record id")?;
                    keys::park(tx, id, key_id, Some(elder), &doc_id, &bytes)?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if record.id().to_string() != id {
                return Err(Error::Corrupt(format!("waiting record {id}")));
            }
            if insert(tx, &record, &doc, self)? {
                opened.push(record.id());
            }
        }
        Ok(())
    }
}

/// What a value found in a document turned out to be.
pub(crate) enum Admitted {
    /// A record, opened if it was sealed.
    Record(Box<SignedRecord>),
    /// A signed record of this circle sealed under a key this device does not hold (yet).
    Waiting {
        /// The record's id.
        id: Id,
        /// The key it waits for: the epoch key its body is sealed under, or the elder key of
        /// its personal fields.
        key_id: Id,
        /// The elder whose key it waits for, if it waits for an elder key.
        elder: Option<Id>,
        /// Its clock.
        hlc: crate::hlc::Hlc,
    },
}

/// Checks a value found in a document under `key`: a valid signed record of this circle, whose
/// id is the key and which belongs in this document. The error is the reason to log.
///
/// A sealed record whose key this device does not hold is checked as far as anyone can check
/// it (signature, id, circle, month, from its header) and then waits for its key.
pub(crate) fn admit(
    key: &str,
    bytes: &[u8],
    circle: Id,
    doc_id: &DocId,
    keys: &dyn EpochKeys,
) -> std::result::Result<Admitted, Refusal> {
    let (id, record_circle, hlc, admitted) = match SignedRecord::open(bytes, keys) {
        Ok(record) => (
            record.id(),
            record.envelope().circle,
            record.hlc(),
            Admitted::Record(Box::new(record)),
        ),
        Err(RecordError::Sealed(key_id)) => waiting(bytes, key_id, None)?,
        Err(RecordError::PersonalSealed { elder, key_id }) => waiting(bytes, key_id, Some(elder))?,
        Err(e) => return Err(Refusal::NotARecord(e.to_string())),
    };
    if id.to_string() != key {
        return Err(Refusal::NotARecord(format!(
            "stored under {key} but its id is {id}"
        )));
    }
    if record_circle != circle {
        return Err(Refusal::OtherCircle(record_circle));
    }
    let belongs = DocId::for_hlc(hlc);
    if &belongs != doc_id {
        return Err(Refusal::WrongMonth {
            belongs,
            found: doc_id.clone(),
        });
    }
    Ok(admitted)
}

/// A well-signed record that waits for `key_id`: `open` checked its size, header and signature
/// before it found the key missing, so only the header is read again here.
fn waiting(
    bytes: &[u8],
    key_id: Id,
    elder: Option<Id>,
) -> std::result::Result<(Id, Id, crate::hlc::Hlc, Admitted), Refusal> {
    let outer = OuterRecord::decode(bytes).map_err(|e| Refusal::NotARecord(e.to_string()))?;
    let header = outer
        .header
        .ok_or_else(|| Refusal::NotARecord("a sealed record without a header".into()))?;
    let admitted = Admitted::Waiting {
        id: outer.id,
        key_id,
        elder,
        hlc: header.hlc,
    };
    Ok((outer.id, header.circle, header.hlc, admitted))
}

/// Why a value found in a document is not admitted as a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a signed record (not bytes, a bad encoding or signature, or under another id).
    NotARecord(String),
    /// A record of another circle.
    OtherCircle(Id),
    /// A record filed in the document of another month than its clock's.
    WrongMonth {
        /// The document it belongs in.
        belongs: DocId,
        /// The document it was found in.
        found: DocId,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotARecord(reason) => f.write_str(reason),
            Refusal::OtherCircle(circle) => write!(f, "belongs to circle {circle}"),
            Refusal::WrongMonth { belongs, found } => write!(
                f,
                "belongs in {}, found in {}",
                belongs.as_str(),
                found.as_str()
            ),
        }
    }
}

/// Logs a refused value (once).
pub(crate) fn log_rejection(
    tx: &Transaction<'_>,
    rejection: &Rejection,
    bytes: &[u8],
) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO rejected (key, doc_id, reason, bytes) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        rejection.key,
        rejection.doc_id,
        rejection.reason,
        bytes
    ])?;
    Ok(())
}

/// Stores a verified record and its index rows. Returns false if the store already had it.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    record: &SignedRecord,
    doc_id: &DocId,
    batch: &mut Batch,
) -> Result<bool> {
    let id = record.id().to_string();
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO records (id, type, author, hlc_ms, hlc_counter, doc_id, bytes, seq, prev)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            id,
            record.body().type_name(),
            record.author().to_string(),
            record.hlc().ms as i64,
            record.hlc().counter,
            doc_id.as_str(),
            record.as_bytes(),
            record.link().map(|l| l.seq as i64),
            record.link().and_then(|l| l.prev).map(|p| p.to_string())
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    if let Some(link) = record.link() {
        // A second record at a held position may stop either counting (see `counted_at`).
        let forked: bool = tx
            .prepare_cached(&format!("SELECT {}", forked_sql("?1", "?2", "?3")))?
            .query_row(
                params![record.author().to_string(), link.seq as i64, id],
                |r| r.get(0),
            )?;
        batch.trust_changed |= forked;
    }
    let author = record.author().to_string();
    let hlc_ms = record.hlc().ms as i64;
    let seq = record.link().map(|l| l.seq as i64);
    match record.body() {
        RecordBody::Enrolment(e) => {
            tx.prepare_cached("INSERT INTO members (device_key, record_id, member_id, name, role, site_id, family_of, issuer, hlc_ms,
                   valid_from_ms, valid_until_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT(device_key) DO UPDATE SET record_id = excluded.record_id, member_id = excluded.member_id,
                   name = excluded.name, role = excluded.role, site_id = excluded.site_id,
                   family_of = excluded.family_of, issuer = excluded.issuer, hlc_ms = excluded.hlc_ms,
                   valid_from_ms = excluded.valid_from_ms, valid_until_ms = excluded.valid_until_ms
                 WHERE (excluded.hlc_ms, excluded.record_id) < (members.hlc_ms, members.record_id)")?.execute(params![
                    e.device_key.to_string(),
                    id,
                    e.member_id.to_string(),
                    e.name,
                    e.role.as_str(),
                    e.site_id.to_string(),
                    e.family_of.map(|x| x.to_string()),
                    author,
                    hlc_ms,
                    e.valid_from_ms.map(|ms| ms as i64),
                    e.valid_until_ms.map(|ms| ms as i64)
                ],
            )?;
            batch.trust_changed = true;
        }
        RecordBody::Revocation(r) => {
            tx.prepare_cached(
                "INSERT INTO revocations (record_id, device_key, effective_ms, issuer, last_seq, last_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(
                params![
                    id,
                    r.device_key.to_string(),
                    r.effective_ms as i64,
                    author,
                    r.last_seq.map(|s| s as i64),
                    r.last_id.map(|i| i.to_string())
                ],
            )?;
            batch.trust_changed = true;
        }
        RecordBody::FollowUpDone(f) => {
            tx.prepare_cached("INSERT INTO follow_ups_done (record_id, visit_id, idx, done_at_ms, author, hlc_ms, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(params![id, f.visit.to_string(), f.index, f.done_at_ms as i64, author, hlc_ms, is_counted(tx, &author, hlc_ms, seq, &id)?],
            )?;
        }
        RecordBody::Correction(c) => {
            let action = match c.action {
                CorrectionAction::Void {} => "void",
                CorrectionAction::Amend { .. } => "amend",
            };
            tx.prepare_cached(
                "INSERT INTO corrections (record_id, target, action, author, hlc_ms, hlc_counter)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                id,
                c.target.to_string(),
                action,
                author,
                hlc_ms,
                record.hlc().counter
            ])?;
            batch.targets.insert(c.target.to_string());
        }
        RecordBody::Site(_)
        | RecordBody::Elder(_)
        | RecordBody::Visit(_)
        | RecordBody::Service(_) => {
            batch.targets.insert(id);
        }
        RecordBody::EpochKey(_) | RecordBody::KeyGrant(_) => {
            if let Some(key_id) = keys::note(tx, record, batch.unwrapper.as_ref())? {
                batch.new_keys.push(key_id);
            }
        }
        RecordBody::Erasure(_) => batch.erasures = true,
        RecordBody::MemberProfile(p) => {
            tx.prepare_cached(
                "INSERT INTO member_profiles (member_id, record_id, name, author, hlc_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(member_id) DO UPDATE SET record_id = excluded.record_id,
                   name = excluded.name, author = excluded.author, hlc_ms = excluded.hlc_ms
                 WHERE (excluded.hlc_ms, excluded.record_id) > (member_profiles.hlc_ms, member_profiles.record_id)",
            )?
            .execute(params![p.member_id.to_string(), id, p.name, author, hlc_ms])?;
        }
        RecordBody::AccessLog(log) => {
            let counted = is_counted(tx, &author, hlc_ms, seq, &id)?;
            let hlc = (hlc_ms, record.hlc().counter);
            super::access_log::index(tx, &id, &author, hlc, log, counted)?;
        }
        RecordBody::Consent(change) => {
            let counted = is_counted(tx, &author, hlc_ms, seq, &id)?;
            let hlc = (hlc_ms, record.hlc().counter);
            super::consent::index_change(tx, &id, &author, hlc, change, counted)?;
        }
        // The time bank is computed in memory from the records table (`crate::ledger`).
        RecordBody::Ledger(_) | RecordBody::LedgerRules(_) => {}
    }
    Ok(true)
}

/// Whether the stored record `id` counts under the current trust.
pub(crate) fn counts(conn: &Connection, id: Id) -> Result<bool> {
    let row: Option<(String, i64, Option<i64>)> = conn
        .prepare_cached("SELECT author, hlc_ms, seq FROM records WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match row {
        Some((author, hlc_ms, seq)) => is_counted(conn, &author, hlc_ms, seq, &id.to_string()),
        None => Ok(false),
    }
}

/// Whether a record by `author` at clock `hlc_ms`, chain position `seq` (none for version 1)
/// and id `id` counts under the current trust.
fn is_counted(
    conn: &Connection,
    author: &str,
    hlc_ms: i64,
    seq: Option<i64>,
    id: &str,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM trusted_keys t WHERE t.device_key = ?1 AND {})",
            counted_at("?2", "?3", "?4")
        ))?
        .query_row(params![author, hlc_ms, seq, id], |r| r.get(0))?)
}

/// The one SQL form of "a record of trusted key `t` made at `hlc_ms`, at chain position `seq`
/// with id `id`, counts": within the certificate's validity and before any revocation's cut (by
/// position when both the revocation and the record have one, else by clock; at or below the
/// cut, a position two records hold counts neither unless the revocation names it).
/// [`Trust::counts`](crate::identity::trust::Trust::counts) is the same rule in Rust, for the
/// relay and the ledger; the test `the_sql_and_rust_counted_rules_agree` holds them together.
fn counted_at(hlc_ms: &str, seq: &str, id: &str) -> String {
    format!(
        "(t.valid_from_ms IS NULL OR {hlc_ms} >= t.valid_from_ms)
         AND (t.valid_until_ms IS NULL OR {hlc_ms} < t.valid_until_ms)
         AND (t.revoked_from_ms IS NULL OR CASE
               WHEN t.revoked_after_seq IS NOT NULL AND {seq} IS NOT NULL
               THEN ({seq} = t.revoked_after_seq AND t.revoked_last_id = {id})
                    OR (({seq} < t.revoked_after_seq
                         OR ({seq} = t.revoked_after_seq AND t.revoked_last_id IS NULL))
                        AND NOT {forked})
               ELSE {hlc_ms} < t.revoked_from_ms END)",
        forked = forked_sql("t.device_key", seq, id)
    )
}

/// The chain position of an index table's record, as SQL.
fn seq_of(table: &str) -> String {
    format!("(SELECT r.seq FROM records r WHERE r.id = {table}.record_id)")
}

/// Recomputes the effective index rows of one original record from it and its corrections.
fn refresh(tx: &Transaction<'_>, target: &str) -> Result<()> {
    let original: Option<Vec<u8>> = tx
        .query_row("SELECT bytes FROM records WHERE id = ?1", [target], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(bytes) = original else {
        return Ok(()); // The original has not arrived yet; it refreshes itself when it does.
    };
    let original = SignedRecord::open(&bytes, &StoredKeys(tx))?;
    let author = original.author().to_string();
    let hlc_ms = original.hlc().ms as i64;
    let seq = original.link().map(|l| l.seq as i64);
    let counted = is_counted(tx, &author, hlc_ms, seq, target)?;
    let original_member = member_of(tx, &author)?;

    // Applicable corrections, latest first.
    let mut stmt = tx.prepare_cached(
        "SELECT c.record_id, c.author FROM corrections c
         WHERE c.target = ?1 ORDER BY c.hlc_ms DESC, c.hlc_counter DESC, c.record_id DESC",
    )?;
    let candidates = stmt
        .query_map([target], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut effective = original.body().clone();
    let mut voided = false;
    for (correction_id, correction_author) in candidates {
        let correction = load(tx, &correction_id)?;
        let correction_seq = correction.link().map(|l| l.seq as i64);
        if !is_counted(
            tx,
            &correction_author,
            correction.hlc().ms as i64,
            correction_seq,
            &correction_id,
        )? {
            continue;
        }
        let role = role_of(tx, &correction_author)?;
        let same_member =
            original_member.is_some() && member_of(tx, &correction_author)? == original_member;
        let allowed = same_member
            || correction_author == author
            || matches!(role.as_deref(), Some("centre") | Some("coordinator"));
        if !allowed {
            continue;
        }
        let RecordBody::Correction(c) = correction.body() else {
            continue;
        };
        match &c.action {
            CorrectionAction::Void {} => voided = true,
            CorrectionAction::Amend { replacement } => {
                if !original.body().same_entity(replacement) {
                    continue;
                }
                effective = replacement.as_ref().clone();
            }
        }
        break;
    }
    write_rows(tx, target, &original, &effective, voided, counted)
}

fn load(conn: &Connection, id: &str) -> Result<SignedRecord> {
    let bytes: Vec<u8> = conn.query_row("SELECT bytes FROM records WHERE id = ?1", [id], |r| {
        r.get(0)
    })?;
    Ok(SignedRecord::open(&bytes, &StoredKeys(conn))?)
}

fn member_of(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT member_id FROM trusted_keys WHERE device_key = ?1",
            [key],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

fn role_of(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT role FROM trusted_keys WHERE device_key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?)
}

/// Writes the index rows for one original record given its effective content.
fn write_rows(
    tx: &Transaction<'_>,
    record_id: &str,
    original: &SignedRecord,
    effective: &RecordBody,
    voided: bool,
    counted: bool,
) -> Result<()> {
    let author = original.author().to_string();
    let hlc_ms = original.hlc().ms as i64;
    match effective {
        RecordBody::Site(s) => {
            tx.prepare_cached("INSERT INTO sites (site_id, record_id, kind, name, parent, author, hlc_ms, voided, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(site_id) DO UPDATE SET record_id = excluded.record_id, kind = excluded.kind,
                   name = excluded.name, parent = excluded.parent, author = excluded.author,
                   hlc_ms = excluded.hlc_ms, voided = excluded.voided, counted = excluded.counted
                 WHERE (excluded.hlc_ms, excluded.record_id) <= (sites.hlc_ms, sites.record_id)")?.execute(params![
                    s.site_id.to_string(),
                    record_id,
                    json_name(&s.kind)?,
                    s.name,
                    s.parent.map(|p| p.to_string()),
                    author,
                    hlc_ms,
                    voided,
                    counted
                ],
            )?;
        }
        RecordBody::Elder(e) => {
            // An erased elder's fields stay blank, whatever a record made before elder keys says.
            let (name, birth_year) = if super::elder_keys::erased(tx, e.elder_id)? {
                ("", 0)
            } else {
                (e.name.as_str(), e.birth_year)
            };
            tx.prepare_cached("INSERT INTO elders (elder_id, record_id, site_id, name, birth_year, groups, care_level, cadence_days,
                   entitled_hours, responsible, consent, enrolled_ms, author, hlc_ms, voided, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT(elder_id) DO UPDATE SET record_id = excluded.record_id, site_id = excluded.site_id,
                   name = excluded.name, birth_year = excluded.birth_year, groups = excluded.groups,
                   care_level = excluded.care_level, cadence_days = excluded.cadence_days,
                   entitled_hours = excluded.entitled_hours, responsible = excluded.responsible,
                   consent = excluded.consent, enrolled_ms = excluded.enrolled_ms, author = excluded.author,
                   hlc_ms = excluded.hlc_ms, voided = excluded.voided, counted = excluded.counted
                 WHERE (excluded.hlc_ms, excluded.record_id) <= (elders.hlc_ms, elders.record_id)")?.execute(params![
                    e.elder_id.to_string(),
                    record_id,
                    e.site_id.to_string(),
                    name,
                    birth_year,
                    serde_json::to_string(&e.groups).map_err(|x| Error::Corrupt(x.to_string()))?,
                    json_name(&e.care_level)?,
                    e.visit_cadence_days,
                    e.monthly_entitled_hours,
                    e.responsible_member.map(|m| m.to_string()),
                    serde_json::to_string(&e.consent.purposes).map_err(|x| Error::Corrupt(x.to_string()))?,
                    hlc_ms,
                    author,
                    hlc_ms,
                    voided,
                    counted
                ],
            )?;
        }
        RecordBody::Visit(v) => {
            tx.prepare_cached("DELETE FROM follow_ups WHERE visit_id = ?1")?
                .execute([record_id])?;
            let erased = super::elder_keys::erased(tx, v.elder_id)?;
            let (risk_flags, follow_ups) = if erased {
                (&[][..], &[][..])
            } else {
                (&v.risk_flags[..], &v.follow_ups[..])
            };
            tx.prepare_cached("INSERT OR REPLACE INTO visits (record_id, elder_id, caregiver_id, check_in_ms, check_out_ms, month,
                   risk_flags, author, hlc_ms, voided, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?.execute(params![
                    record_id,
                    v.elder_id.to_string(),
                    v.caregiver_id.to_string(),
                    v.check_in_ms as i64,
                    v.check_out_ms as i64,
                    Month::of_instant(v.check_in_ms as i64).to_string(),
                    serde_json::to_string(risk_flags).map_err(|x| Error::Corrupt(x.to_string()))?,
                    author,
                    hlc_ms,
                    voided,
                    counted
                ],
            )?;
            for (idx, f) in follow_ups.iter().enumerate() {
                tx.prepare_cached("INSERT INTO follow_ups (visit_id, idx, elder_id, action, due_ms) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![record_id, idx as i64, v.elder_id.to_string(), f.action, f.due_ms.map(|d| d as i64)],
                )?;
            }
            super::consent::index_purposes(tx, record_id, effective)?;
        }
        RecordBody::Service(s) => {
            tx.prepare_cached("INSERT OR REPLACE INTO services (record_id, elder_id, provider_id, kind, funding, started_ms,
                   duration_minutes, month, confirmed, author, hlc_ms, voided, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")?.execute(params![
                    record_id,
                    s.elder_id.to_string(),
                    s.provider_id.to_string(),
                    s.detail.kind().as_str(),
                    s.funding.as_str(),
                    s.started_ms as i64,
                    s.duration_minutes,
                    Month::of_instant(s.started_ms as i64).to_string(),
                    s.confirmation.is_some(),
                    author,
                    hlc_ms,
                    voided,
                    counted
                ],
            )?;
            super::consent::index_purposes(tx, record_id, effective)?;
        }
        RecordBody::Enrolment(_)
        | RecordBody::Revocation(_)
        | RecordBody::FollowUpDone(_)
        | RecordBody::Correction(_)
        | RecordBody::Ledger(_)
        | RecordBody::LedgerRules(_)
        | RecordBody::EpochKey(_)
        | RecordBody::KeyGrant(_)
        | RecordBody::MemberProfile(_)
        | RecordBody::AccessLog(_)
        | RecordBody::Consent(_)
        | RecordBody::Erasure(_) => {}
    }
    Ok(())
}

fn json_name<T: serde::Serialize>(value: &T) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(Error::Corrupt("expected a name".into())),
    }
}

/// Recomputes which keys the circle trusts, from the enrolments and revocations it holds, then
/// every row's `counted` flag.
///
/// The rules are in [`crate::identity::trust`].
pub(crate) fn recompute_trust(tx: &Transaction<'_>, centre: PublicKey) -> Result<()> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT m.device_key, m.member_id, m.role, m.issuer, m.hlc_ms, m.valid_from_ms, m.valid_until_ms,
                m.record_id, r.seq, {}
         FROM members m LEFT JOIN records r ON r.id = m.record_id",
        forked_sql("m.issuer", "r.seq", "m.record_id")
    ))?;
    let members: HashMap<String, EnrolmentFact> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                EnrolmentFact {
                    member_id: r.get(1)?,
                    role: r.get(2)?,
                    issuer: r.get(3)?,
                    hlc_ms: r.get(4)?,
                    valid_from_ms: r.get(5)?,
                    valid_until_ms: r.get(6)?,
                    record_id: r.get(7)?,
                    seq: r.get(8)?,
                    forked: r.get(9)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = tx.prepare_cached(
        "SELECT device_key, effective_ms, issuer, last_seq, last_id FROM revocations",
    )?;
    let revocations: Vec<RevocationFact> = stmt
        .query_map([], |r| {
            Ok(RevocationFact {
                device_key: r.get(0)?,
                effective_ms: r.get(1)?,
                issuer: r.get(2)?,
                last_seq: r.get(3)?,
                last_id: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let trusted = derive_trust(centre, &members, &revocations);
    tx.prepare_cached("DELETE FROM trusted_keys")?.execute([])?;
    for (key, trust) in &trusted {
        tx.prepare_cached(
            "INSERT INTO trusted_keys (device_key, member_id, role, revoked_from_ms, valid_from_ms, valid_until_ms,
               revoked_after_seq, revoked_last_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
                key,
                trust.member_id,
                trust.role,
                trust.revoked.as_ref().map(|c| c.from_ms),
                trust.valid_from_ms,
                trust.valid_until_ms,
                trust.revoked.as_ref().and_then(|c| c.after_seq),
                trust.revoked.as_ref().and_then(|c| c.last_id.clone())
            ],
        )?;
    }
    for table in [
        "sites",
        "elders",
        "visits",
        "services",
        "follow_ups_done",
        "access_log",
        "consent_changes",
    ] {
        tx.execute(
            &format!(
                "UPDATE {table} SET counted = EXISTS (SELECT 1 FROM trusted_keys t WHERE t.device_key = {table}.author
                   AND {})",
                counted_at(
                    &format!("{table}.hlc_ms"),
                    &seq_of(table),
                    &format!("{table}.record_id")
                )
            ),
            [],
        )?;
    }
    Ok(())
}

/// Every logged rejection.
pub(crate) fn rejections(conn: &Connection) -> Result<Vec<Rejection>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, doc_id, reason FROM rejected ORDER BY doc_id, key")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Rejection {
                key: r.get(0)?,
                doc_id: r.get(1)?,
                reason: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Records whose author is not trusted, or that a revocation of their author cuts off.
pub(crate) fn untrusted_records(conn: &Connection) -> Result<Vec<(Id, PublicKey)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT r.id, r.author FROM records r
         WHERE NOT EXISTS (SELECT 1 FROM trusted_keys t WHERE t.device_key = r.author AND {})
         ORDER BY r.hlc_ms, r.id",
        counted_at("r.hlc_ms", "r.seq", "r.id")
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, author) = row?;
        let id = id
            .parse()
            .map_err(|_| Error::Corrupt(format!("record id {id:?}")))?;
        let author = author
            .parse()
            .map_err(|_| Error::Corrupt(format!("author {author:?}")))?;
        out.push((id, author));
    }
    Ok(out)
}

/// The keys the circle trusts.
pub(crate) fn trusted_keys(conn: &Connection) -> Result<Vec<TrustedKey>> {
    let mut stmt =
        conn.prepare_cached("SELECT device_key, member_id, role, revoked_from_ms FROM trusted_keys ORDER BY role, device_key")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<i64>>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, member, role, revoked) = row?;
        out.push(TrustedKey {
            device_key: key
                .parse()
                .map_err(|_| Error::Corrupt(format!("key {key:?}")))?,
            member_id: member
                .map(|m| m.parse())
                .transpose()
                .map_err(|_| Error::Corrupt("member id".into()))?,
            role,
            revoked_from_ms: revoked.map(|r| r as u64),
        })
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::trust::{Cutoff, Position, Trust};

    /// `counted_at` (SQL, for the index) and `Trust::counts` (Rust, for the relay and the
    /// ledger) are one rule: every combination of validity and revocation (by clock, by chain
    /// position, with and without a named last record) gives the same answer for records at
    /// every instant and position around their bounds.
    #[test]
    fn the_sql_and_rust_counted_rules_agree() {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::store::schema::migrate(&mut conn).expect("schema");
        let bounds = [None, Some(100), Some(200), Some(300)];
        let cuts = [None, Some(2), Some(3)];
        let last_ids = [None, Some("a"), Some("")];
        let mut n = 0;
        for valid_from_ms in bounds {
            for valid_until_ms in bounds {
                for revoked_from_ms in bounds {
                    for after_seq in cuts {
                        for last_id in last_ids {
                            let key = format!("key{n}");
                            n += 1;
                            let trust = Trust {
                                member_id: None,
                                role: "caregiver".into(),
                                revoked: revoked_from_ms.map(|from_ms| Cutoff {
                                    from_ms,
                                    after_seq,
                                    last_id: last_id.map(str::to_string),
                                }),
                                valid_from_ms,
                                valid_until_ms,
                            };
                            let cut = trust.revoked.as_ref();
                            conn.execute(
                                "INSERT INTO trusted_keys (device_key, role, revoked_from_ms, valid_from_ms,
                                   valid_until_ms, revoked_after_seq, revoked_last_id)
                                 VALUES (?1, 'caregiver', ?2, ?3, ?4, ?5, ?6)",
                                params![
                                    key,
                                    revoked_from_ms,
                                    valid_from_ms,
                                    valid_until_ms,
                                    cut.and_then(|c| c.after_seq),
                                    cut.and_then(|c| c.last_id.clone())
                                ],
                            )
                            .expect("insert");
                            // Another record of the key holds position 2: a fork there.
                            conn.execute(
                                "INSERT INTO records (id, type, author, hlc_ms, hlc_counter, doc_id, bytes, seq)
                                 VALUES (?1, 'visit', ?2, 0, 0, 'records/2026-11', x'00', 2)",
                                params![format!("{key}/other"), key],
                            )
                            .expect("fork");
                            for at in [0, 99, 100, 101, 199, 200, 201, 299, 300, 301] {
                                for seq in [None, Some(1), Some(2), Some(3), Some(4)] {
                                    for id in ["a", "b"] {
                                        assert_eq!(
                                            is_counted(&conn, &key, at, seq, id).expect("sql"),
                                            trust.counts(
                                                at,
                                                seq.map(|seq| Position {
                                                    seq,
                                                    id,
                                                    forked: seq == 2
                                                })
                                            ),
                                            "{trust:?} at {at}, seq {seq:?}, id {id}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(!is_counted(&conn, "unknown", 150, None, "a").expect("sql"));
    }
}
