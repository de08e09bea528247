//! Deciding a record's effective content: the original, or the replacement of its latest
//! applicable amendment, or voided. A correction applies when it counts and its author is the
//! original author (or the same member), a coordinator or the centre.

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::counted::is_counted;
use super::rows::write_rows;
use crate::domain::{CorrectionAction, RecordBody};
use crate::error::Result;
use crate::identity::PublicKey;
use crate::ids::Id;
use crate::record::SignedRecord;
use crate::store::keys::StoredKeys;
use crate::store::sql_types::Columns;

/// Recomputes the effective index rows of one original record from it and its corrections.
pub(super) fn refresh(tx: &Transaction<'_>, target: Id) -> Result<()> {
    let original: Option<Vec<u8>> = tx
        .query_row("SELECT bytes FROM records WHERE id = ?1", [target], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(bytes) = original else {
        return Ok(()); // The original has not arrived yet; it refreshes itself when it does.
    };
    // Only admitted records are in `records`: their signatures were verified on the way in.
    let original = SignedRecord::decode_unverified(&bytes, &StoredKeys(tx))?;
    let author = original.author();
    let hlc_ms = original.hlc().instant_ms();
    let seq = original.link().map(|l| l.seq);
    let counted = is_counted(tx, author, hlc_ms, seq, target)?;
    let original_member = member_of(tx, author)?;

    // Applicable corrections, latest first.
    let mut stmt = tx.prepare_cached(
        "SELECT c.record_id, c.author FROM corrections c
         WHERE c.target = ?1 ORDER BY c.hlc_ms DESC, c.hlc_counter DESC, c.record_id DESC",
    )?;
    let candidates = stmt
        .query_map([target], |r| {
            Ok((r.column::<Id>(0)?, r.column::<PublicKey>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut effective = original.body().clone();
    let mut voided = false;
    for (correction_id, correction_author) in candidates {
        let correction = load(tx, correction_id)?;
        if !is_counted(
            tx,
            correction_author,
            correction.hlc().instant_ms(),
            correction.link().map(|l| l.seq),
            correction_id,
        )? {
            continue;
        }
        let role = role_of(tx, correction_author)?;
        let same_member =
            original_member.is_some() && member_of(tx, correction_author)? == original_member;
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

/// The stored (admitted, so verified) record `id`, opened.
fn load(conn: &Connection, id: Id) -> Result<SignedRecord> {
    let bytes: Vec<u8> = conn.query_row("SELECT bytes FROM records WHERE id = ?1", [id], |r| {
        r.get(0)
    })?;
    Ok(SignedRecord::decode_unverified(&bytes, &StoredKeys(conn))?)
}

/// The member a trusted key belongs to (none for the centre or an untrusted key).
fn member_of(conn: &Connection, key: PublicKey) -> Result<Option<Id>> {
    Ok(conn
        .query_row(
            "SELECT member_id FROM trusted_keys WHERE device_key = ?1",
            [key],
            |r| r.column::<Option<Id>>(0),
        )
        .optional()?
        .flatten())
}

/// The role of a trusted key (`centre`, or its member's role); none if not trusted.
fn role_of(conn: &Connection, key: PublicKey) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT role FROM trusted_keys WHERE device_key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?)
}
