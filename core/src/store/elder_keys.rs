//! The elder keys this device holds (keyring entries, `record::elder_key`), which entries each
//! peer is known to hold, and the elders erased. Entries live outside the documents so that an
//! erasure can destroy them; `secure_delete` (set when the store opens) zeroes what is deleted.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::keys::StoredKeys;
use super::sql_types::Columns;
use crate::error::{Error, Result};
use crate::ids::Id;
use crate::record::elder_key::ElderKeyEntry;
use crate::record::{ElderSecret, EpochKeys};

/// What became of entries offered to the store.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeysTaken {
    /// Entries new to this store.
    pub added: usize,
    /// Entries of erased elders, or of another circle, left out.
    pub refused: usize,
    /// Elder keys this device can now open (their records waiting are admitted).
    pub opened: Vec<Id>,
    /// The records that waited for those keys, now admitted.
    pub admitted: Vec<Id>,
    /// The ids of every entry offered that verified (the sender holds them).
    pub verified: Vec<Id>,
}

/// Stores verified entries of `circle`: each new one is kept, and opened if the epoch key it is
/// wrapped under is held. Entries of erased elders are left out. An entry's maker is not
/// judged here (its enrolment may arrive later in the same sync): entries come only from
/// devices the circle trusts (the relay, a phone, a bundle's exporter are all checked), and
/// this device seals new records only under keys made by devices it trusts ([`secret_for`]).
pub(crate) fn take(
    tx: &Transaction<'_>,
    circle: Id,
    entries: &[ElderKeyEntry],
) -> Result<KeysTaken> {
    let mut taken = KeysTaken::default();
    for entry in entries {
        if entry.circle() != circle || erased(tx, entry.elder())? {
            taken.refused += 1;
            continue;
        }
        let added = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO elder_keys (key_id, elder, epoch_key_id, author, entry)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                entry.key_id(),
                entry.elder(),
                entry.epoch_key_id(),
                entry.author(),
                entry.as_bytes()
            ])?;
        taken.added += added;
    }
    taken.opened = open_pending(tx)?;
    Ok(taken)
}

/// Opens the entries not opened yet whose epoch key is now held; returns their key ids.
pub(crate) fn open_pending(tx: &Transaction<'_>) -> Result<Vec<Id>> {
    let pending: Vec<(Id, Vec<u8>)> = tx
        .prepare_cached("SELECT key_id, entry FROM elder_keys WHERE secret IS NULL")?
        .query_map([], |r| Ok((r.column(0)?, r.get(1)?)))?
        .collect::<std::result::Result<_, _>>()?;
    let mut opened = Vec::new();
    for (key_id, bytes) in pending {
        let entry = ElderKeyEntry::from_stored(bytes)
            .map_err(|e| Error::Corrupt(format!("stored elder key {key_id}: {e}")))?;
        let Some(epoch) = StoredKeys(tx).epoch_key(entry.epoch_key_id()) else {
            continue;
        };
        // An entry that does not open under its epoch key was made by someone who did not hold
        // it: it stays unopened (and harmless).
        if let Ok(secret) = entry.open(&epoch) {
            tx.prepare_cached("UPDATE elder_keys SET secret = ?2 WHERE key_id = ?1")?
                .execute(params![key_id, secret.key.as_slice()])?;
            opened.push(entry.key_id());
        }
    }
    Ok(opened)
}

/// Keeps a key this device just made for `elder`, with its entry.
pub(crate) fn keep_new(
    tx: &Transaction<'_>,
    entry: &ElderKeyEntry,
    secret: &ElderSecret,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO elder_keys (key_id, elder, epoch_key_id, author, entry, secret)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        entry.key_id(),
        entry.elder(),
        entry.epoch_key_id(),
        entry.author(),
        entry.as_bytes(),
        secret.key.as_slice()
    ])?;
    Ok(())
}

/// The key this device seals `elder`'s personal fields under: one it holds made by a device
/// still trusted (the first by id, so that a device keeps using the same one). A key made by a
/// device revoked since still opens the records sealed under it, but seals nothing new.
pub(crate) fn secret_for(conn: &Connection, elder: Id) -> Result<Option<ElderSecret>> {
    Ok(conn
        .prepare_cached(
            "SELECT k.key_id, k.secret FROM elder_keys k
             JOIN trusted_keys t ON t.device_key = k.author AND t.revoked_from_ms IS NULL
             WHERE k.elder = ?1 AND k.secret IS NOT NULL ORDER BY k.key_id LIMIT 1",
        )?
        .query_row([elder], |r| {
            Ok(ElderSecret {
                elder,
                key_id: r.column(0)?,
                key: r.column(1)?,
            })
        })
        .optional()?)
}

/// The key `key_id`, if held and opened.
pub(crate) fn secret(conn: &Connection, key_id: Id) -> Option<[u8; 32]> {
    conn.prepare_cached("SELECT secret FROM elder_keys WHERE key_id = ?1")
        .and_then(|mut s| {
            s.query_row([key_id], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()
                .map(Option::flatten)
        })
        .ok()
        .flatten()
        .and_then(|s| s.try_into().ok())
}

/// Whether `elder` was erased.
pub(crate) fn erased(conn: &Connection, elder: Id) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM erased_elders WHERE elder = ?1")?
        .exists([elder])?)
}

/// The ids of every entry held.
pub(crate) fn ids(conn: &Connection) -> Result<Vec<Id>> {
    Ok(conn
        .prepare_cached("SELECT key_id FROM elder_keys ORDER BY key_id")?
        .query_map([], |r| r.column(0))?
        .collect::<std::result::Result<_, _>>()?)
}

/// The entries held whose ids are not in `have`, with their ids, in id order (the ids are
/// stored as lowercase hex, whose order is the bytes').
pub(crate) fn entries_except(conn: &Connection, have: &[Id]) -> Result<Vec<(Id, Vec<u8>)>> {
    let have: std::collections::HashSet<&Id> = have.iter().collect();
    let rows: Vec<(Id, Vec<u8>)> = conn
        .prepare_cached("SELECT key_id, entry FROM elder_keys ORDER BY key_id")?
        .query_map([], |r| Ok((r.column(0)?, r.get(1)?)))?
        .collect::<std::result::Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(id, _)| !have.contains(id))
        .collect())
}

/// The entries held that `peer` is not known to hold, with their ids, in id order.
pub(crate) fn unknown_to(conn: &Connection, peer: &str) -> Result<Vec<(Id, Vec<u8>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT key_id, entry FROM elder_keys k WHERE NOT EXISTS
               (SELECT 1 FROM peer_elder_keys p WHERE p.peer = ?1 AND p.key_id = k.key_id)
             ORDER BY key_id",
        )?
        .query_map([peer], |r| Ok((r.column(0)?, r.get(1)?)))?
        .collect::<std::result::Result<_, _>>()?)
}

/// Remembers that `peer` holds the entries `held`, and forgets that it holds `lacking`.
pub(crate) fn note_peer(conn: &Connection, peer: &str, held: &[Id], lacking: &[Id]) -> Result<()> {
    let mut add = conn
        .prepare_cached("INSERT OR IGNORE INTO peer_elder_keys (peer, key_id) VALUES (?1, ?2)")?;
    for id in held {
        add.execute(params![peer, id])?;
    }
    let mut forget =
        conn.prepare_cached("DELETE FROM peer_elder_keys WHERE peer = ?1 AND key_id = ?2")?;
    for id in lacking {
        forget.execute(params![peer, id])?;
    }
    Ok(())
}

impl super::Store {
    /// The key this device seals `elder`'s personal fields under, if it holds one.
    pub fn elder_secret(&self, elder: Id) -> Result<Option<ElderSecret>> {
        secret_for(&self.conn, elder)
    }

    /// Keeps an elder key this device made, with its keyring entry.
    pub fn keep_elder_key(&mut self, entry: &ElderKeyEntry, secret: &ElderSecret) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        keep_new(&tx, entry, secret)?;
        tx.commit()?;
        Ok(())
    }

    /// Whether `elder` was erased here.
    pub fn is_erased(&self, elder: Id) -> Result<bool> {
        erased(&self.conn, elder)
    }

    /// The ids of every keyring entry held.
    pub fn elder_key_ids(&self) -> Result<Vec<Id>> {
        ids(&self.conn)
    }

    /// The keyring entries held whose ids are not in `have`, with their ids, in id order.
    pub fn elder_keys_except(&self, have: &[Id]) -> Result<Vec<(Id, Vec<u8>)>> {
        entries_except(&self.conn, have)
    }

    /// The keyring entries `peer` is not known to hold, with their ids, in id order.
    pub fn elder_keys_unknown_to(&self, peer: &str) -> Result<Vec<(Id, Vec<u8>)>> {
        unknown_to(&self.conn, peer)
    }

    /// Remembers that `peer` holds the entries `held` and lacks `lacking`.
    pub fn note_peer_elder_keys(&self, peer: &str, held: &[Id], lacking: &[Id]) -> Result<()> {
        note_peer(&self.conn, peer, held, lacking)
    }

    /// Takes keyring entries from a peer: each is verified, kept unless its elder was erased,
    /// and opened when its epoch key is held; records that waited for a key now held are
    /// admitted. Entries that do not verify, or belong to another circle, are counted refused.
    pub fn take_elder_keys(&mut self, entries: &[Vec<u8>]) -> Result<KeysTaken> {
        let mut verified = Vec::with_capacity(entries.len());
        let mut malformed = 0;
        for bytes in entries {
            match ElderKeyEntry::decode(bytes) {
                Ok(entry) => verified.push(entry),
                Err(_) => malformed += 1,
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut taken = take(&tx, self.circle, &verified)?;
        taken.refused += malformed;
        taken.verified = verified.iter().map(ElderKeyEntry::key_id).collect();
        let mut batch = super::index::Batch::new(self.unwrapper.clone());
        batch.new_keys = taken.opened.clone();
        taken.admitted = batch.finish(&tx, self.centre)?;
        tx.commit()?;
        self.forget_erased(&batch.erased);
        Ok(taken)
    }

    /// After elders were erased: the write-ahead log is checkpointed and truncated, so that no
    /// copy of their blanked rows or destroyed keys stays in it.
    pub(super) fn forget_erased(&self, erased: &[Id]) {
        if !erased.is_empty() {
            // A reader holding the log open can keep the checkpoint from truncating it; the
            // next erasure or the store's next open checkpoints again.
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}
