//! Storing a record as it arrives: its row in `records`, the index rows that follow from it
//! alone (enrolments, revocations, corrections, profiles, follow-ups done, the access log,
//! consent changes), and what it leaves the batch to do.

use rusqlite::{Transaction, params};

use super::batch::Batch;
use super::counted::is_counted;
use crate::domain::{CorrectionAction, RecordBody};
use crate::error::Result;
use crate::record::SignedRecord;
use crate::replica::DocId;
use crate::store::chains::forked_sql;
use crate::store::keys;

/// Stores a verified record and its index rows. Returns false if the store already had it.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    record: &SignedRecord,
    doc_id: &DocId,
    batch: &mut Batch,
) -> Result<bool> {
    let id = record.id();
    let author = record.author();
    let hlc_ms = record.hlc().instant_ms();
    let seq = record.link().map(|l| l.seq);
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO records (id, type, author, hlc_ms, hlc_counter, doc_id, bytes, seq, prev)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            id,
            record.body().type_name(),
            author,
            hlc_ms,
            record.hlc().counter,
            doc_id,
            record.as_bytes(),
            seq,
            record.link().and_then(|l| l.prev)
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    if let Some(seq) = seq {
        // A second record at a held position may stop either counting (see `counted_at`).
        let forked: bool = tx
            .prepare_cached(&format!("SELECT {}", forked_sql("?1", "?2", "?3")))?
            .query_row(params![author, seq, id], |r| r.get(0))?;
        batch.trust_changed |= forked;
    }
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
                    e.device_key,
                    id,
                    e.member_id,
                    e.name,
                    e.role,
                    e.site_id,
                    e.family_of,
                    author,
                    hlc_ms,
                    e.valid_from_ms,
                    e.valid_until_ms
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
                    r.device_key,
                    r.effective_ms,
                    author,
                    r.last_seq,
                    r.last_id
                ],
            )?;
            batch.trust_changed = true;
        }
        RecordBody::FollowUpDone(f) => {
            tx.prepare_cached("INSERT INTO follow_ups_done (record_id, visit_id, idx, done_at_ms, author, hlc_ms, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(params![id, f.visit, f.index, f.done_at_ms, author, hlc_ms, is_counted(tx, author, hlc_ms, seq, id)?],
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
                c.target,
                action,
                author,
                hlc_ms,
                record.hlc().counter
            ])?;
            batch.targets.insert(c.target);
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
            .execute(params![p.member_id, id, p.name, author, hlc_ms])?;
        }
        RecordBody::AccessLog(log) => {
            let counted = is_counted(tx, author, hlc_ms, seq, id)?;
            let hlc = (hlc_ms, record.hlc().counter);
            crate::store::access_log::index(tx, id, author, hlc, log, counted)?;
        }
        RecordBody::Consent(change) => {
            let counted = is_counted(tx, author, hlc_ms, seq, id)?;
            let hlc = (hlc_ms, record.hlc().counter);
            crate::store::consent::index_change(tx, id, author, hlc, change, counted)?;
        }
        // The time bank is computed in memory from the records table (`crate::ledger`).
        RecordBody::Ledger(_) | RecordBody::LedgerRules(_) => {}
        // A month close is read from the records table when asked for (`report::close`).
        RecordBody::MonthClose(_) => {}
    }
    Ok(true)
}
