//! A device's store as a sync replica: the sync traits over the store's plain methods. They
//! live here, in the layer that syncs stores, so that the store knows nothing of sync.

use automerge::ChangeHash;

use super::{DocHeads, SyncError, SyncPeers, SyncReplica};
use crate::ids::Id;
use crate::replica::{ChangeBatch, DocId};
use crate::store::Store;

impl SyncReplica for Store {
    fn circle(&self) -> Id {
        Store::circle(self)
    }

    fn doc_heads(&mut self) -> Result<Vec<DocHeads>, SyncError> {
        Ok(self.all_doc_heads()?)
    }

    fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<ChangeHash>, SyncError> {
        Ok(Store::known(self, doc, hashes)?)
    }

    fn changes_since(
        &mut self,
        doc: &DocId,
        have: &[ChangeHash],
        budget: usize,
    ) -> Result<ChangeBatch, SyncError> {
        Ok(Store::changes_since(self, doc, have, budget)?)
    }

    fn apply_changes(&mut self, doc: &DocId, changes: &[u8]) -> Result<usize, SyncError> {
        Ok(Store::apply_changes(self, doc, changes)?.added.len())
    }

    fn keyring_ids(&mut self) -> Result<Vec<Id>, SyncError> {
        Ok(self.elder_key_ids()?)
    }

    fn keyring_except(&mut self, have: &[Id]) -> Result<Vec<(Id, Vec<u8>)>, SyncError> {
        Ok(self.elder_keys_except(have)?)
    }

    fn take_keyring(&mut self, entries: &[Vec<u8>]) -> Result<usize, SyncError> {
        if entries.is_empty() {
            return Ok(0);
        }
        Ok(self.take_elder_keys(entries)?.admitted.len())
    }
}

impl SyncPeers for Store {
    fn shared_heads(&mut self, peer: &str, doc: &DocId) -> Result<Vec<ChangeHash>, SyncError> {
        Ok(self.peer_heads(peer, doc)?)
    }

    fn set_shared_heads(
        &mut self,
        peer: &str,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), SyncError> {
        Ok(self.set_peer_heads(peer, doc, heads)?)
    }

    fn keyring_unknown_to(&mut self, peer: &str) -> Result<Vec<(Id, Vec<u8>)>, SyncError> {
        Ok(self.elder_keys_unknown_to(peer)?)
    }

    fn note_peer_keyring(
        &mut self,
        peer: &str,
        held: &[Id],
        lacking: &[Id],
    ) -> Result<(), SyncError> {
        Ok(self.note_peer_elder_keys(peer, held, lacking)?)
    }
}
