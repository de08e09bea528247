//! Sync on a device: the [`CareStore`] methods the app and the command line call, and the
//! store façade as a sync replica (so a phone can answer another phone).

use automerge::ChangeHash;

use super::bundle::{self, ImportReport, Since};
use super::{
    CancelToken, DocHeads, Limits, MemoryTransport, Progress, ProgressFn, SyncError, SyncPeers,
    SyncReplica, Transport, respond_bytes, run,
};
use crate::api::CareStore;
use crate::ids::Id;
use crate::replica::DocId;

impl CareStore {
    /// The name other devices remember this one under: its public key.
    pub fn peer_name(&self) -> String {
        self.public_key().to_string()
    }

    /// Syncs with `peer` over any transport (the app's LAN or Bluetooth channel, for one).
    pub fn sync_over(
        &mut self,
        peer: &str,
        transport: &mut dyn Transport,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        let (store, _) = self.sync_parts();
        run(store, peer, transport, cancel, progress)
    }

    /// Answers one message of a sync another phone opened; failures become a `Refused` reply.
    pub fn answer_sync(&mut self, request: &[u8]) -> Result<Vec<u8>, SyncError> {
        let (store, _) = self.sync_parts();
        respond_bytes(store, request, &Limits::default())
    }

    /// Syncs directly with another store in the same process (two phones that met).
    pub fn sync_with_peer(
        &mut self,
        other: &mut CareStore,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        let peer = other.peer_name();
        let mut transport = MemoryTransport::new(other);
        self.sync_over(&peer, &mut transport, cancel, progress)
    }

    /// Writes a bundle file of the changes `since` selects.
    pub fn export_bundle(&mut self, since: &Since) -> Result<Vec<u8>, SyncError> {
        let exporter = self.peer_name();
        let (store, _) = self.sync_parts();
        bundle::export(store, &exporter, since)
    }

    /// Reads a bundle file; importing the same file again changes nothing.
    pub fn import_bundle(&mut self, bytes: &[u8]) -> Result<ImportReport, SyncError> {
        let (store, _) = self.sync_parts();
        bundle::import(store, bytes)
    }

    /// Syncs with the relay, signing each request with this device's key.
    #[cfg(feature = "http")]
    pub fn sync_with_relay(
        &mut self,
        relay: &super::http::RelayClient,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        let circle = self.circle().circle_id;
        let peer = relay.peer_name();
        let (store, key) = self.sync_parts();
        // Request times are checked against the relay's clock, so they come from the system
        // clock, not from the store's (replaceable) record clock.
        let mut transport =
            relay.transport(circle, key, &crate::hlc::wall_clock_ms, cancel.clone());
        run(store, &peer, &mut transport, cancel, progress)
    }
}

impl SyncReplica for CareStore {
    fn circle(&self) -> Id {
        self.circle().circle_id
    }
    fn doc_heads(&mut self) -> Result<Vec<DocHeads>, SyncError> {
        self.sync_parts().0.doc_heads()
    }
    fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<ChangeHash>, SyncError> {
        self.sync_parts().0.known(doc, hashes)
    }
    fn changes_since(&mut self, doc: &DocId, have: &[ChangeHash]) -> Result<Vec<u8>, SyncError> {
        self.sync_parts().0.changes_since(doc, have)
    }
    fn apply_changes(&mut self, doc: &DocId, changes: &[u8]) -> Result<usize, SyncError> {
        SyncReplica::apply_changes(self.sync_parts().0, doc, changes)
    }
}

impl SyncPeers for CareStore {
    fn shared_heads(&mut self, peer: &str, doc: &DocId) -> Result<Vec<ChangeHash>, SyncError> {
        self.sync_parts().0.shared_heads(peer, doc)
    }
    fn set_shared_heads(
        &mut self,
        peer: &str,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), SyncError> {
        self.sync_parts().0.set_shared_heads(peer, doc, heads)
    }
}
