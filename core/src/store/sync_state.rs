//! What sync reads and writes in the store: document heads (cached in `doc_heads`), changes in
//! and out, and what each peer is known to hold (`sync_peers`). These are plain methods over
//! the store's own and the replica's types; the sync layer makes them a sync replica
//! (`crate::sync`, which sits above the store and knows it, never the other way round).

use automerge::ChangeHash;
use rusqlite::{OptionalExtension, Transaction, params};

use super::Store;
use super::index::{self, Refusal, TrustedKey};
use super::sql_types::Columns;
use crate::error::{Error, Result};
use crate::record::SignedRecord;
use crate::replica::{ChangeBatch, DocHeads, DocId};

/// Records a document's heads (sorted, 32 bytes each).
pub(super) fn save_heads(tx: &Transaction<'_>, doc_id: &DocId, heads: &[ChangeHash]) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO doc_heads (doc_id, heads) VALUES (?1, ?2)
         ON CONFLICT(doc_id) DO UPDATE SET heads = excluded.heads",
    )?
    .execute(params![doc_id, encode_heads(heads)])?;
    Ok(())
}

fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort();
    sorted.iter().flat_map(|h| h.0).collect()
}

fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(Error::Corrupt(format!(
            "stored heads of {} bytes",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            ChangeHash(h)
        })
        .collect())
}

/// What applying a peer's changes to one document would do (see [`Store::preview_changes`]).
#[derive(Debug, Default)]
pub(crate) struct ChangesPreview {
    /// Whether the document would change at all (false when every change is held already).
    pub changes_anything: bool,
    /// Values the changes add that would be admitted as records.
    pub records: Vec<SignedRecord>,
    /// Why each other value the changes add would be refused.
    pub refusals: Vec<Refusal>,
}

impl Store {
    /// Every document with its sorted heads; heads missing from the cache (a store written
    /// before it existed) are computed once and kept.
    pub fn all_doc_heads(&mut self) -> Result<Vec<DocHeads>> {
        let rows: Vec<(DocId, Option<Vec<u8>>)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT c.doc_id, h.heads FROM (SELECT DISTINCT doc_id FROM doc_chunks) c
                 LEFT JOIN doc_heads h ON h.doc_id = c.doc_id ORDER BY c.doc_id",
            )?;
            stmt.query_map([], |r| Ok((r.column(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (doc, heads) in rows {
            let heads = match heads {
                Some(bytes) => decode_heads(&bytes)?,
                None => {
                    self.load_doc(&doc)?;
                    let mut heads = self.doc_mut(&doc)?.heads();
                    heads.sort();
                    let tx = self.conn.transaction()?;
                    save_heads(&tx, &doc, &heads)?;
                    tx.commit()?;
                    heads
                }
            };
            out.push(DocHeads { doc, heads });
        }
        Ok(out)
    }

    /// A document's heads as stored, without loading it: empty when the store holds no such
    /// document, `None` when its heads were never recorded (a store written before they were).
    fn stored_heads(&self, doc_id: &DocId) -> Result<Option<Vec<ChangeHash>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.heads, EXISTS (SELECT 1 FROM doc_chunks c WHERE c.doc_id = ?1)
             FROM (SELECT 1) LEFT JOIN doc_heads h ON h.doc_id = ?1",
        )?;
        let (heads, held): (Option<Vec<u8>>, bool) =
            stmt.query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        match (heads, held) {
            (Some(bytes), _) => Ok(Some(decode_heads(&bytes)?)),
            (None, false) => Ok(Some(Vec::new())),
            (None, true) => Ok(None),
        }
    }

    /// Those of `hashes` that the document holds.
    pub fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<ChangeHash>> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        // Answered from the stored heads when they suffice: a sync asks this of every document
        // it is taking in parts, each round, and loading them all in turn would evict each
        // other from the few kept loaded.
        match self.stored_heads(doc)? {
            Some(heads) if heads.is_empty() => return Ok(Vec::new()),
            Some(heads) if hashes.iter().all(|h| heads.contains(h)) => return Ok(hashes.to_vec()),
            _ => {}
        }
        self.load_doc(doc)?;
        Ok(self.doc_mut(doc)?.known(hashes))
    }

    /// The document's changes not covered by `have`, at most about `budget` bytes of them (see
    /// [`RecordDoc::changes_since`](crate::replica::RecordDoc::changes_since)).
    pub fn changes_since(
        &mut self,
        doc: &DocId,
        have: &[ChangeHash],
        budget: usize,
    ) -> Result<ChangeBatch> {
        // Nothing to send when the peer holds every head: no need to load the document.
        if let Some(heads) = self.stored_heads(doc)?
            && heads.iter().all(|h| have.contains(h))
        {
            return Ok(ChangeBatch::nothing());
        }
        self.load_doc(doc)?;
        Ok(self.doc_mut(doc)?.changes_since(have, budget)?)
    }

    /// Applies changes received from a peer: new records are verified and indexed, invalid
    /// ones logged as rejected, as in [`Store::merge_doc`].
    pub fn apply_changes(&mut self, doc_id: &DocId, bytes: &[u8]) -> Result<super::IngestReport> {
        self.load_doc(doc_id)?;
        let result = self
            .doc_mut(doc_id)
            .and_then(|doc| Ok(doc.apply_changes(bytes)?))
            .and_then(|(chunk, added)| self.ingest(doc_id, chunk, added));
        if result.is_err() {
            self.forget_doc(doc_id);
        }
        result
    }

    /// What applying changes from a peer to a document would do, found on a copy read from
    /// storage: nothing is kept. A bundle is judged whole this way before any of it is applied.
    pub(crate) fn preview_changes(&self, doc_id: &DocId, bytes: &[u8]) -> Result<ChangesPreview> {
        let mut doc = self.read_doc(doc_id)?;
        let (chunk, added) = doc.apply_changes(bytes)?;
        let mut preview = ChangesPreview {
            changes_anything: !chunk.is_empty(),
            records: Vec::new(),
            refusals: Vec::new(),
        };
        for (key, values) in doc.entries_of(&added)? {
            if values.is_empty() {
                preview
                    .refusals
                    .push(Refusal::NotARecord(format!("{key} holds no bytes")));
            }
            for value in values {
                match index::admit(&key, &value, self.circle, doc_id, &self.epoch_keys()) {
                    Ok(index::Admitted::Record(record)) => preview.records.push(*record),
                    // A sealed record whose key this device lacks bears on no trust (trust
                    // records travel in the clear): it waits for its key once applied.
                    Ok(index::Admitted::Waiting { .. }) => {}
                    Err(refusal) => preview.refusals.push(refusal),
                }
            }
        }
        Ok(preview)
    }

    /// The keys the circle would trust once these records (each with its document) were
    /// added: worked out in a transaction that is rolled back, so nothing is kept. A phone
    /// enrolled a moment ago learns the circle's keys from the first bundle it imports.
    pub(crate) fn trusted_after(
        &mut self,
        records: &[(DocId, SignedRecord)],
    ) -> Result<Vec<TrustedKey>> {
        let tx = self.conn.transaction()?;
        let mut batch = index::Batch::default();
        for (doc_id, record) in records {
            index::insert(&tx, record, doc_id, &mut batch)?;
        }
        if batch.trust_changed {
            index::recompute_trust(&tx, self.centre)?;
        }
        let keys = index::trusted_keys(&tx)?;
        tx.rollback()?;
        Ok(keys)
    }

    /// The heads of `doc_id` that `peer` is known to hold.
    pub fn peer_heads(&self, peer: &str, doc_id: &DocId) -> Result<Vec<ChangeHash>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT heads FROM sync_peers WHERE peer = ?1 AND doc_id = ?2",
                params![peer, doc_id],
                |r| r.get(0),
            )
            .optional()?;
        bytes.map_or(Ok(Vec::new()), |b| decode_heads(&b))
    }

    /// Remembers that `peer` holds `heads` of `doc_id`.
    pub fn set_peer_heads(
        &mut self,
        peer: &str,
        doc_id: &DocId,
        heads: &[ChangeHash],
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sync_peers (peer, doc_id, heads) VALUES (?1, ?2, ?3)
             ON CONFLICT(peer, doc_id) DO UPDATE SET heads = excluded.heads",
            )?
            .execute(params![peer, doc_id, encode_heads(heads)])?;
        Ok(())
    }
}
