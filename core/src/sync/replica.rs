//! What a session needs from the replica it syncs: a device's store, or the relay's storage.

use automerge::{AutoCommit, ChangeHash};

use super::{DocHeads, SyncError};
use crate::ids::Id;
use crate::replica::{ChangeBatch, DocId};

/// A set of documents that can be synced.
pub trait SyncReplica {
    /// The circle the replica belongs to.
    fn circle(&self) -> Id;
    /// Every document with its sorted heads, in document order.
    fn doc_heads(&mut self) -> Result<Vec<DocHeads>, SyncError>;
    /// Those of `hashes` the document holds.
    fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<ChangeHash>, SyncError>;
    /// The document's changes not covered by `have`, as bytes for `load_incremental`: all of
    /// them, or when they come to more than about `budget` bytes, the first of them in
    /// dependency order (see [`RecordDoc::changes_since`](crate::replica::RecordDoc::changes_since)).
    fn changes_since(
        &mut self,
        doc: &DocId,
        have: &[ChangeHash],
        budget: usize,
    ) -> Result<ChangeBatch, SyncError>;
    /// Applies changes from a peer (already checked with [`check_changes`]); returns how many
    /// records were new.
    fn apply_changes(&mut self, doc: &DocId, changes: &[u8]) -> Result<usize, SyncError>;
    /// The ids of the keyring entries held (elder keys, carried beside the documents). A
    /// replica without a keyring holds none.
    fn keyring_ids(&mut self) -> Result<Vec<Id>, SyncError> {
        Ok(Vec::new())
    }
    /// The keyring entries held whose ids are not in `have`, with their ids, in id order.
    fn keyring_except(&mut self, have: &[Id]) -> Result<Vec<(Id, Vec<u8>)>, SyncError> {
        let _ = have;
        Ok(Vec::new())
    }
    /// Takes keyring entries from a peer (each verified; those of erased elders or of another
    /// circle are left out); returns how many records that waited for them were admitted.
    fn take_keyring(&mut self, entries: &[Vec<u8>]) -> Result<usize, SyncError> {
        let _ = entries;
        Ok(0)
    }
}

/// What an initiator remembers about each peer: the heads of each document the peer is known
/// to hold, so the next sync sends only what came after.
pub trait SyncPeers {
    /// The heads of `doc` that `peer` is known to hold (empty if none are known).
    fn shared_heads(&mut self, peer: &str, doc: &DocId) -> Result<Vec<ChangeHash>, SyncError>;
    /// Remembers that `peer` holds `heads` of `doc`.
    fn set_shared_heads(
        &mut self,
        peer: &str,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), SyncError>;
    /// The keyring entries `peer` is not known to hold (all of them, if nothing is remembered),
    /// with their ids, in id order.
    fn keyring_unknown_to(&mut self, peer: &str) -> Result<Vec<(Id, Vec<u8>)>, SyncError> {
        let _ = peer;
        Ok(Vec::new())
    }
    /// Remembers that `peer` holds the entries `held` and lacks `lacking`.
    fn note_peer_keyring(
        &mut self,
        peer: &str,
        held: &[Id],
        lacking: &[Id],
    ) -> Result<(), SyncError> {
        let _ = (peer, held, lacking);
        Ok(())
    }
}

/// Checks that bytes are well-formed Automerge changes by loading them into a scratch document,
/// so that a message is refused whole, before anything of it is applied.
pub fn check_changes(doc: &DocId, bytes: &[u8]) -> Result<(), SyncError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let loaded = std::panic::catch_unwind(|| AutoCommit::new().load_incremental(bytes).map(|_| ()));
    match loaded {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(SyncError::Malformed(format!(
            "changes for {}: {e}",
            doc.as_str()
        ))),
        Err(_) => Err(SyncError::Malformed(format!(
            "changes for {} could not be read",
            doc.as_str()
        ))),
    }
}
