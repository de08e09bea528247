//! Carrying out erasures (PIPL Art. 47, decision 0014): an erasure record that counts, signed by
//! the centre or a coordinator, makes this store destroy the elder's keys and blank the elder's
//! personal fields in its index. The records themselves stay, sealed: they keep verifying and
//! their facts keep counting, and nothing left on the device can open their personal part.

use rusqlite::{Connection, Transaction, params};

use super::index;
use super::schema::{INDEX_TABLES, OnErasure};
use super::sql_types::Columns;
use crate::domain::{RecordBody, Role};
use crate::error::Result;
use crate::identity::PublicKey;
use crate::ids::Id;
use crate::record::{NoKeys, SignedRecord};

/// Carries out every erasure record held that counts, is signed by the centre or a
/// coordinator, and was not carried out yet. Returns the elders erased now.
pub(crate) fn carry_out(tx: &Transaction<'_>, centre: PublicKey) -> Result<Vec<Id>> {
    let pending: Vec<(Id, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT r.id, r.bytes FROM records r WHERE r.type = 'erasure'
             AND NOT EXISTS (SELECT 1 FROM erased_elders e WHERE e.record_id = r.id)
             ORDER BY r.hlc_ms, r.id",
        )?
        .query_map([], |r| Ok((r.column(0)?, r.get(1)?)))?
        .collect::<std::result::Result<_, _>>()?;
    let mut erased = Vec::new();
    for (id, bytes) in pending {
        let record = SignedRecord::decode_unverified(&bytes, &NoKeys)?;
        let RecordBody::Erasure(erasure) = record.body() else {
            continue;
        };
        if !index::counts(tx, id)? || !coordinating_author(tx, record.author(), centre)? {
            continue;
        }
        let first = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO erased_elders (elder, record_id, reason, hlc_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                erasure.elder_id,
                id,
                erasure.reason.as_str(),
                record.hlc().instant_ms()
            ])?;
        if first > 0 {
            blank(tx, erasure.elder_id)?;
            erased.push(erasure.elder_id);
        }
    }
    Ok(erased)
}

/// Whether `author` is the centre or a coordinator's device the circle trusts: who may erase an
/// elder, and issue or withdraw a code card.
pub(super) fn coordinating_author(
    conn: &Connection,
    author: PublicKey,
    centre: PublicKey,
) -> Result<bool> {
    if author == centre {
        return Ok(true);
    }
    Ok(conn
        .prepare_cached("SELECT 1 FROM trusted_keys WHERE device_key = ?1 AND role = ?2")?
        .exists(params![author, Role::Coordinator])?)
}

/// Destroys the elder's keys and blanks the elder's personal fields in the index (as
/// [`INDEX_TABLES`] says of each table).
fn blank(tx: &Transaction<'_>, elder: Id) -> Result<()> {
    tx.prepare_cached("DELETE FROM elder_keys WHERE elder = ?1")?
        .execute([elder])?;
    for table in INDEX_TABLES {
        let sql = match table.on_erasure {
            OnErasure::Keep => continue,
            OnErasure::Blank(set) => format!("UPDATE {} SET {set} WHERE elder_id = ?1", table.name),
            OnErasure::Delete => format!("DELETE FROM {} WHERE elder_id = ?1", table.name),
        };
        tx.prepare_cached(&sql)?.execute([elder])?;
    }
    Ok(())
}
