//! The replica: records kept in Automerge documents, one document per circle-month.
//!
//! Each document is a map at its root from record id (32 hex characters) to the record's signed
//! bytes. Records are immutable, so two replicas only ever add keys, and a merge is the union.
//! Why documents are split by month is written in `docs/decisions/0001-partition-by-month.md`.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ROOT, ReadDoc, ScalarValue, Value};

use crate::hlc::Hlc;
use crate::ids::Id;
use crate::time::Month;

mod chunks;
mod parts;

/// One document and its heads (the hashes of the changes nothing else depends on), sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocHeads {
    /// The document.
    pub doc: DocId,
    /// Its heads, sorted.
    pub heads: Vec<ChangeHash>,
}

/// Names one document: `records/YYYY-MM`, the CST month of the records' clocks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId {
    name: String,
    month: Month,
}

impl DocId {
    /// The document of records dated in `month`.
    pub fn for_month(month: Month) -> DocId {
        DocId {
            name: format!("records/{month}"),
            month,
        }
    }

    /// The document a record with this clock belongs in.
    pub fn for_hlc(hlc: Hlc) -> DocId {
        DocId::for_month(Month::of_instant(hlc.instant_ms()))
    }

    /// Reads a document name, refusing anything that is not `records/YYYY-MM`.
    pub fn parse(name: &str) -> Option<DocId> {
        let month = name.strip_prefix("records/")?.parse::<Month>().ok()?;
        Some(DocId::for_month(month))
    }

    /// The document's name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The month whose records the document holds.
    pub fn month(&self) -> Month {
        self.month
    }
}

/// Why a document could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// Automerge refused the bytes or the operation.
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// One loaded document.
pub struct RecordDoc {
    doc: AutoCommit,
    /// The heads of what is stored already: the next incremental save holds only what came
    /// after. (Automerge's own cursor starts empty on load, so its first incremental save
    /// would store the whole document again.)
    saved: Vec<ChangeHash>,
    /// Peers' sends in parts still open (see [`RecordDoc::changes_since`]).
    sends: parts::Sends,
}

/// A key that a merge added and every value now stored there (more than one only if a peer
/// wrote a different value under an existing id).
pub type AddedEntry = (String, Vec<Vec<u8>>);

impl RecordDoc {
    /// An empty document written by `actor`.
    pub fn new(actor: &ActorId) -> RecordDoc {
        RecordDoc {
            doc: AutoCommit::new().with_actor(actor.clone()),
            saved: Vec::new(),
            sends: parts::Sends::default(),
        }
    }

    /// Loads a document from saved chunks (a snapshot and/or incremental saves, concatenated).
    pub fn load(bytes: &[u8], actor: &ActorId) -> Result<RecordDoc, ReplicaError> {
        let mut doc = chunks::load(bytes)?.with_actor(actor.clone());
        let saved = doc.get_heads();
        Ok(RecordDoc {
            doc,
            saved,
            sends: parts::Sends::default(),
        })
    }

    /// The changes since the last save, as a chunk to persist (empty when there are none).
    fn save_new(&mut self) -> Vec<u8> {
        let bytes = self.doc.save_after(&self.saved);
        if !bytes.is_empty() {
            self.saved = self.doc.get_heads();
        }
        bytes
    }

    /// Adds one record and returns the incremental chunk to persist.
    pub fn put(&mut self, id: Id, bytes: &[u8]) -> Result<Vec<u8>, ReplicaError> {
        self.doc
            .put(ROOT, id.to_string(), ScalarValue::Bytes(bytes.to_vec()))?;
        self.doc.commit();
        Ok(self.save_new())
    }

    /// Merges another replica's document (saved bytes), returning the incremental chunk to
    /// persist and every key the merge added or changed, in order (their values are read with
    /// [`RecordDoc::values_at`] one key at a time, so that a month merged whole is never held
    /// twice in memory). Bytes that do not load change nothing.
    pub fn merge(&mut self, bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), ReplicaError> {
        let before = self.doc.get_heads();
        chunks::merge(&mut self.doc, bytes)?;
        let after = self.doc.get_heads();
        let added = self.keys_between(&before, &after);
        Ok((self.save_new(), added))
    }

    /// The keys a change from heads `before` to `after` added or changed, in order. From an
    /// empty document that is every key: no diff (which would hold every value) is made.
    fn keys_between(&mut self, before: &[ChangeHash], after: &[ChangeHash]) -> Vec<String> {
        if before == after {
            return Vec::new();
        }
        if before.is_empty() {
            return self.keys();
        }
        let mut keys: Vec<String> = Vec::new();
        for patch in self.doc.diff(before, after) {
            if let automerge::PatchAction::PutMap { key, .. } = patch.action
                && patch.obj == ROOT
            {
                keys.push(key);
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// Every value now stored under each of `keys`.
    pub fn entries_of(&self, keys: &[String]) -> Result<Vec<AddedEntry>, ReplicaError> {
        keys.iter()
            .map(|k| Ok((k.clone(), self.values_at(k)?)))
            .collect()
    }

    /// Applies changes received from a peer (the bytes of [`RecordDoc::changes_since`], or any
    /// save), returning the incremental chunk to persist and the keys added, as [`merge`] does.
    /// Changes whose dependencies are missing wait inside the document until those arrive.
    ///
    /// [`merge`]: RecordDoc::merge
    pub fn apply_changes(&mut self, bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), ReplicaError> {
        let before = self.doc.get_heads();
        chunks::load_incremental(&mut self.doc, bytes)?;
        let after = self.doc.get_heads();
        let added = self.keys_between(&before, &after);
        Ok((self.save_new(), added))
    }

    /// Adds bytes read back from storage (chunks or a snapshot, possibly written by another
    /// process sharing it, possibly repeating changes held already): nothing is reported, and
    /// the next incremental save leaves them out. Call it only when everything else the
    /// document holds is stored too.
    pub fn add_stored(&mut self, bytes: &[u8]) -> Result<(), ReplicaError> {
        chunks::load_incremental(&mut self.doc, bytes)?;
        self.saved = self.doc.get_heads();
        Ok(())
    }

    /// The changes not covered by `have` (heads a peer is known to hold; unknown hashes are
    /// ignored), as one compact Automerge bundle of at most about `budget` bytes: when all of
    /// them do not fit, the first of them in dependency order (at least one), so that the peer
    /// can apply the batch and the next one continues from there. The changes still due are
    /// kept until the next request from the heads this batch names (while the document is
    /// unchanged), so that a document sent in many parts is listed and ordered once.
    ///
    /// A peer that holds nothing of the document gets it saved whole when that fits: the same
    /// bytes give or take a few percent, and a snapshot loads into an empty document some
    /// forty times faster than its changes apply (`replica/chunks.rs`).
    pub fn changes_since(
        &mut self,
        have: &[ChangeHash],
        budget: usize,
    ) -> Result<ChangeBatch, ReplicaError> {
        if have.is_empty() && !self.doc.get_heads().is_empty() {
            let snapshot = self.doc.save();
            if snapshot.len() <= budget {
                return Ok(ChangeBatch {
                    bytes: snapshot,
                    complete: true,
                    heads: Vec::new(),
                });
            }
        }
        parts::changes_since(&mut self.doc, &mut self.sends, have, budget)
    }

    /// Those of `hashes` this document holds.
    pub fn known(&mut self, hashes: &[ChangeHash]) -> Vec<ChangeHash> {
        hashes
            .iter()
            .filter(|h| self.doc.get_change_meta_by_hash(h).is_some())
            .copied()
            .collect()
    }

    /// Every value stored under `key` (normally exactly one).
    pub fn values_at(&self, key: &str) -> Result<Vec<Vec<u8>>, ReplicaError> {
        Ok(self
            .doc
            .get_all(ROOT, key)?
            .into_iter()
            .filter_map(|(value, _)| match value {
                Value::Scalar(s) => match s.as_ref() {
                    ScalarValue::Bytes(b) => Some(b.clone()),
                    _ => None,
                },
                Value::Object(_) => None,
            })
            .collect())
    }

    /// Every key the document holds, in order.
    pub fn keys(&self) -> Vec<String> {
        self.doc.keys(ROOT).collect()
    }

    /// Every key and its values.
    pub fn all_entries(&self) -> Result<BTreeMap<String, Vec<Vec<u8>>>, ReplicaError> {
        self.doc
            .keys(ROOT)
            .map(|k| Ok((k.clone(), self.values_at(&k)?)))
            .collect()
    }

    /// The whole document, compacted into one snapshot.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The document's current heads (what it has seen).
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }
}

/// Changes a peer lacks, as [`RecordDoc::changes_since`] gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    /// An Automerge bundle, for `load_incremental` (empty when the peer lacks nothing).
    pub bytes: Vec<u8>,
    /// Whether these are all the changes the peer lacks; if not, the rest depend on these or
    /// come after them.
    pub complete: bool,
    /// When not complete: the heads the peer holds once it has applied these (given that it
    /// held `have`), which the next batch starts from.
    pub heads: Vec<ChangeHash>,
}

impl ChangeBatch {
    /// No changes: the peer lacks nothing.
    pub fn nothing() -> ChangeBatch {
        ChangeBatch {
            bytes: Vec::new(),
            complete: true,
            heads: Vec::new(),
        }
    }
}

/// A fresh random actor id for a store session (see the partitioning decision for why the actor
/// is per session, not per device).
pub fn session_actor() -> ActorId {
    ActorId::from(Id::random().as_bytes().as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two writers' interleaved changes, sent to a third replica in batches of a few hundred
    /// bytes: each batch applies whole (its dependencies came before it), the heads each batch
    /// names are what the receiver then holds, and the last batch says it is complete.
    #[test]
    fn changes_split_by_a_byte_budget_apply_batch_by_batch_and_arrive_whole() {
        let mut a = RecordDoc::new(&session_actor());
        let mut b = RecordDoc::new(&session_actor());
        for i in 0..40u8 {
            let (writer, other) = if i % 3 == 0 {
                (&mut b, &mut a)
            } else {
                (&mut a, &mut b)
            };
            // 224 bytes that do not compress.
            let value: Vec<u8> = (0..7u8)
                .flat_map(|k| <sha2::Sha256 as sha2::Digest>::digest([i, k]))
                .collect();
            writer.put(Id::random(), &value).expect("put");
            if i % 5 == 0 {
                let saved = writer.save();
                other.merge(&saved).expect("merge");
            }
        }
        let saved = b.save();
        a.merge(&saved).expect("merge");

        let mut receiver = RecordDoc::new(&session_actor());
        let mut batches = 0;
        loop {
            let have = receiver.heads();
            let batch = a.changes_since(&have, 900).expect("changes");
            batches += 1;
            receiver.apply_changes(&batch.bytes).expect("applies");
            if batch.complete {
                break;
            }
            assert!(batch.bytes.len() <= 900 || batch.heads.len() == 1);
            assert_eq!(
                receiver.heads(),
                batch.heads,
                "batch {batches} applied whole"
            );
            assert!(batches < 100, "every batch moves something");
        }
        assert!(
            batches > 5,
            "the budget split the changes ({batches} batches)"
        );
        assert_eq!(receiver.heads(), a.heads());
        assert_eq!(
            receiver.all_entries().expect("entries"),
            a.all_entries().expect("entries")
        );
        let everything = a.changes_since(&[], usize::MAX).expect("all");
        assert!(everything.complete);
    }

    /// 224 bytes that do not compress.
    fn incompressible(i: u16) -> Vec<u8> {
        (0..7u8)
            .flat_map(|k| <sha2::Sha256 as sha2::Digest>::digest([(i >> 8) as u8, i as u8, k]))
            .collect()
    }

    /// Two peers take a document in parts of a couple of kilobytes, their requests interleaved,
    /// and a record is added half-way: each part applies whole and both end with the whole
    /// document, yet its changes are listed from the change graph about once per peer and
    /// once more after the document changed, not once per part (which made a year's first
    /// sync over a dropping link grow with the square of a month).
    #[test]
    fn a_document_sent_in_parts_lists_its_changes_once_not_once_a_part() {
        let mut a = RecordDoc::new(&session_actor());
        for i in 0..300 {
            a.put(Id::random(), &incompressible(i)).expect("put");
        }
        let mut peers = [
            RecordDoc::new(&session_actor()),
            RecordDoc::new(&session_actor()),
        ];
        let mut done = [false, false];
        let mut parts = 0;
        while done != [true, true] {
            for (peer, finished) in peers.iter_mut().zip(done.iter_mut()) {
                if *finished {
                    continue;
                }
                let batch = a.changes_since(&peer.heads(), 2_000).expect("part");
                peer.apply_changes(&batch.bytes).expect("applies");
                if !batch.complete {
                    assert_eq!(peer.heads(), batch.heads, "part {parts} applied whole");
                }
                *finished = batch.complete;
                parts += 1;
                assert!(parts < 1_000, "every part moves something");
            }
            if parts == 20 {
                a.put(Id::random(), &incompressible(300)).expect("put");
            }
        }
        for peer in &mut peers {
            assert_eq!(peer.heads(), a.heads());
        }
        assert!(parts > 40, "the budget split the document ({parts} parts)");
        // Each peer's list once, and each once more after the change: at most 4 × 301.
        assert!(
            a.sends.listed <= 4 * 301,
            "{} changes listed for {parts} parts of 301 changes",
            a.sends.listed
        );
    }

    #[test]
    fn doc_ids_name_the_cst_month() {
        let hlc = Hlc {
            ms: 1_793_462_400_000,
            counter: 0,
        };
        assert_eq!(DocId::for_hlc(hlc).as_str(), "records/2026-11");
        assert_eq!(
            DocId::for_hlc(Hlc {
                ms: hlc.ms - 1,
                counter: 0
            })
            .as_str(),
            "records/2026-10"
        );
        assert!(DocId::parse("records/2026-11").is_some());
        assert!(DocId::parse("records/2026-13").is_none());
        assert!(DocId::parse("../etc").is_none());
    }

    #[test]
    fn merging_two_documents_reports_only_what_is_new() {
        let mut a = RecordDoc::new(&session_actor());
        let mut b = RecordDoc::new(&session_actor());
        let (x, y) = (Id::random(), Id::random());
        a.put(x, b"x").expect("put");
        b.put(y, b"y").expect("put");
        let b_bytes = b.save();
        let (_, added) = a.merge(&b_bytes).expect("merge");
        assert_eq!(added, vec![y.to_string()]);
        assert_eq!(
            a.entries_of(&added).expect("values"),
            vec![(y.to_string(), vec![b"y".to_vec()])]
        );
        let (_, again) = a.merge(&b_bytes).expect("merge again");
        assert!(again.is_empty());
        assert_eq!(a.all_entries().expect("entries").len(), 2);
    }

    #[test]
    fn stored_bytes_are_added_without_being_saved_again() {
        let mut a = RecordDoc::new(&session_actor());
        let mut chunks = Vec::new();
        for _ in 0..3 {
            chunks.push(a.put(Id::random(), b"x").expect("put"));
        }
        let snapshot = a.save();
        let mut b = RecordDoc::new(&session_actor());
        b.add_stored(&chunks[..2].concat()).expect("chunks");
        // A snapshot repeating what is held, then a chunk repeating part of the snapshot.
        b.add_stored(&snapshot).expect("snapshot");
        b.add_stored(&chunks[2]).expect("repeat");
        assert_eq!(b.heads(), a.heads());
        assert_eq!(b.all_entries().expect("b"), a.all_entries().expect("a"));
        let (next, added) = b.apply_changes(&chunks[2]).expect("again");
        assert!(next.is_empty() && added.is_empty(), "nothing left to save");
        let mut c = RecordDoc::new(&session_actor());
        let fresh = c.put(Id::random(), b"y").expect("put");
        let (next, added) = b.apply_changes(&fresh).expect("new");
        assert_eq!(added.len(), 1);
        let saved = RecordDoc::load(&next, &session_actor()).expect("load");
        assert_eq!(
            saved.all_entries().expect("entries").len(),
            1,
            "only the new change"
        );
    }

    #[test]
    fn a_loaded_document_saves_only_what_came_after() {
        let mut a = RecordDoc::new(&session_actor());
        let mut stored = Vec::new();
        for _ in 0..20 {
            stored.extend(a.put(Id::random(), &[7u8; 200]).expect("put"));
        }
        let mut reopened = RecordDoc::load(&stored, &session_actor()).expect("load");
        let chunk = reopened.put(Id::random(), b"new").expect("put");
        assert!(
            chunk.len() < 600,
            "one record's change, not the whole document again: {} bytes",
            chunk.len()
        );
        let mut copy = RecordDoc::load(&[stored, chunk].concat(), &session_actor()).expect("all");
        assert_eq!(copy.heads(), reopened.heads());
        assert_eq!(copy.all_entries().expect("entries").len(), 21);
    }

    #[test]
    fn garbage_bytes_change_nothing() {
        let mut a = RecordDoc::new(&session_actor());
        a.put(Id::random(), b"x").expect("put");
        let heads = a.heads();
        assert!(a.merge(b"not an automerge document").is_err());
        assert_eq!(a.heads(), heads);
    }
}
