//! Sync through the façade: the calls the app and the command line make, each building a
//! [`DeviceSession`] of the store, the key and the answered nonces for that one sync, and
//! giving the circle's keys to devices that lack them before and after. The façade is also a
//! sync replica (its store's documents), for tests and tools that drive sessions themselves.

use automerge::ChangeHash;

use super::CareStore;
use crate::ids::Id;
use crate::replica::{ChangeBatch, DocHeads, DocId};
use crate::sync::bundle::{ImportReport, PlainBundles, Since};
use crate::sync::{
    CancelToken, DeviceSession, Progress, ProgressFn, SyncError, SyncPeers, SyncReplica, Transport,
    seal,
};

impl CareStore {
    /// The name other devices remember this one under: its public key.
    pub fn peer_name(&self) -> String {
        self.public_key().to_string()
    }

    /// What one sync borrows from this store.
    fn sync_session(&mut self) -> DeviceSession<'_> {
        DeviceSession {
            store: &mut self.store,
            key: &self.key,
            nonces: &mut self.peer_nonces,
        }
    }

    /// Syncs with another phone over `channel` (the app's LAN or Bluetooth link, which hands
    /// each frame to the other phone's [`CareStore::answer_sync`] and returns its answer). Every
    /// frame is signed (see [`peer`](crate::sync::peer)); the sync stops with `NotAuthorised`
    /// before pushing anything if the other phone's key is not trusted by this store.
    pub fn sync_with_phone(
        &mut self,
        channel: &mut dyn Transport,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        self.share_keys()?;
        let done = self.sync_session().with_phone(channel, cancel, progress)?;
        self.share_keys()?;
        Ok(done)
    }

    /// Answers one frame of a sync another phone opened: a signed reply, or a signed refusal
    /// when the other phone is not trusted here, its request is stale or replayed, or its
    /// message is bad. Only a frame too damaged to answer is an error.
    pub fn answer_sync(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.sync_session().answer_phone(frame)
    }

    /// Syncs directly with another store in the same process (two phones that met), through
    /// the same signed frames as a phone link.
    pub fn sync_with_peer(
        &mut self,
        other: &mut CareStore,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        let mut channel = PhoneInProcess(other);
        self.sync_with_phone(&mut channel, cancel, progress)
    }

    /// Writes a bundle file of the changes `since` selects, signed by this device's key and
    /// sealed for the devices this store trusts now (the circle's enrolled, unrevoked keys,
    /// this one included): whoever carries or intercepts the file can neither read it (see
    /// [`seal`](crate::sync::seal)) nor alter it unnoticed (see
    /// [`bundle`](crate::sync::bundle)).
    pub fn export_bundle(&mut self, since: &Since) -> Result<Vec<u8>, SyncError> {
        self.sync_session().export_bundle(since)
    }

    /// Reads a bundle file, whole or not at all; importing the same file again changes
    /// nothing. Only a sealed bundle, signed by a device this store trusts (or the centre, or
    /// a device the bundle's own enrolment records make trusted: a phone enrolled a moment ago
    /// imports its first bundle from the coordinator's phone), is read. A bundle sealed for
    /// other devices, signed by an untrusted key or altered is `NotAuthorised`; a plain
    /// (unsealed) or version-1 bundle is `PlainBundle` (see
    /// [`CareStore::import_bundle_allowing_plain`]); one whose content is not for this store
    /// is `UnfitBundle`, with what was found.
    pub fn import_bundle(&mut self, bytes: &[u8]) -> Result<ImportReport, SyncError> {
        self.read_bundle(bytes, PlainBundles::Refused)
    }

    /// Reads a bundle file as [`CareStore::import_bundle`] does, but also a plain (unsealed)
    /// one and a version-1 one, which earlier versions wrote and nothing authenticates: only
    /// for a file whose origin the person importing it knows. A signed bundle's signature and
    /// exporter are still checked, and the content is judged the same way.
    pub fn import_bundle_allowing_plain(
        &mut self,
        bytes: &[u8],
    ) -> Result<ImportReport, SyncError> {
        self.read_bundle(bytes, PlainBundles::Allowed)
    }

    fn read_bundle(
        &mut self,
        bytes: &[u8],
        plain: PlainBundles,
    ) -> Result<ImportReport, SyncError> {
        let report = self.sync_session().import_bundle(bytes, plain)?;
        // A sealed bundle comes from the circle's devices, and may enrol new ones.
        if seal::is_sealed(bytes) {
            self.share_keys()?;
        }
        Ok(report)
    }

    /// Syncs with the relay, signing each request with this device's key.
    #[cfg(feature = "http")]
    pub fn sync_with_relay(
        &mut self,
        relay: &crate::sync::http::RelayClient,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        // Devices enrolled since the last sync get the keys they lack; grants written after
        // this sync go out with the next.
        self.share_keys()?;
        let done = self.sync_session().with_relay(relay, cancel, progress)?;
        self.share_keys()?;
        Ok(done)
    }
}

/// A phone link to a store in the same process.
struct PhoneInProcess<'a>(&'a mut CareStore);

impl Transport for PhoneInProcess<'_> {
    fn request(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.0.answer_sync(frame)
    }
}

impl SyncReplica for CareStore {
    fn circle(&self) -> Id {
        self.store.circle()
    }
    fn doc_heads(&mut self) -> Result<Vec<DocHeads>, SyncError> {
        self.store.doc_heads()
    }
    fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<ChangeHash>, SyncError> {
        SyncReplica::known(&mut self.store, doc, hashes)
    }
    fn changes_since(
        &mut self,
        doc: &DocId,
        have: &[ChangeHash],
        budget: usize,
    ) -> Result<ChangeBatch, SyncError> {
        SyncReplica::changes_since(&mut self.store, doc, have, budget)
    }
    fn apply_changes(&mut self, doc: &DocId, changes: &[u8]) -> Result<usize, SyncError> {
        SyncReplica::apply_changes(&mut self.store, doc, changes)
    }
    fn keyring_ids(&mut self) -> Result<Vec<Id>, SyncError> {
        self.store.keyring_ids()
    }
    fn keyring_except(&mut self, have: &[Id]) -> Result<Vec<(Id, Vec<u8>)>, SyncError> {
        self.store.keyring_except(have)
    }
    fn take_keyring(&mut self, entries: &[Vec<u8>]) -> Result<usize, SyncError> {
        SyncReplica::take_keyring(&mut self.store, entries)
    }
}

impl SyncPeers for CareStore {
    fn shared_heads(&mut self, peer: &str, doc: &DocId) -> Result<Vec<ChangeHash>, SyncError> {
        self.store.shared_heads(peer, doc)
    }
    fn set_shared_heads(
        &mut self,
        peer: &str,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), SyncError> {
        self.store.set_shared_heads(peer, doc, heads)
    }
    fn keyring_unknown_to(&mut self, peer: &str) -> Result<Vec<(Id, Vec<u8>)>, SyncError> {
        self.store.keyring_unknown_to(peer)
    }
    fn note_peer_keyring(
        &mut self,
        peer: &str,
        held: &[Id],
        lacking: &[Id],
    ) -> Result<(), SyncError> {
        self.store.note_peer_keyring(peer, held, lacking)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Circle;
    use crate::identity::{DeviceKey, PublicKey};

    /// The recipients a sealed bundle names (`docs/sync-protocol.md`, "Sealed bundles").
    fn recipients(sealed: &[u8]) -> Vec<PublicKey> {
        let n = usize::from(u16::from_be_bytes([sealed[36], sealed[37]]));
        (0..n)
            .map(|i| {
                let at = 38 + 80 * i;
                PublicKey::from_bytes(sealed[at..at + 32].try_into().expect("32 bytes"))
            })
            .collect()
    }

    /// The centre's key is always among a sealed bundle's recipients (the store trusts it
    /// from the start, and it cannot be revoked), and so is the exporter's own key, enrolled
    /// or not.
    #[test]
    fn a_bundle_is_sealed_for_the_centre_and_the_exporter() {
        let centre = DeviceKey::from_seed([1; 32]);
        let phone = DeviceKey::from_seed([2; 32]);
        let circle = Circle {
            circle_id: Id::from_bytes([0x11; 16]),
            centre_key: centre.public_key(),
        };
        let phone_key = phone.public_key();
        let mut store = CareStore::open_in_memory(circle, phone).expect("store");
        let sealed = store.export_bundle(&Since::Everything).expect("export");
        let mut expected = vec![centre.public_key(), phone_key];
        expected.sort();
        assert_eq!(recipients(&sealed), expected);
        assert!(seal::open_sealed(&sealed, &centre).is_ok());
    }
}
