//! Sync on a device: the [`CareStore`] methods the app and the command line call, and the
//! store façade as a sync replica (so a phone can answer another phone).

use std::collections::BTreeSet;

use automerge::ChangeHash;

use super::bundle::{self, ImportReport, PlainBundles, Since};
use super::peer::{Answerer, PeerLink};
use super::seal;
use super::{
    CancelToken, DocHeads, Progress, ProgressFn, SyncError, SyncPeers, SyncReplica, Transport, run,
};
use crate::api::CareStore;
use crate::identity::PublicKey;
use crate::ids::Id;
use crate::replica::{ChangeBatch, DocId};
use crate::store::TrustedKey;

impl CareStore {
    /// The name other devices remember this one under: its public key.
    pub fn peer_name(&self) -> String {
        self.public_key().to_string()
    }

    /// Syncs with another phone over `channel` (the app's LAN or Bluetooth link, which hands
    /// each frame to the other phone's [`CareStore::answer_sync`] and returns its answer). Every
    /// frame is signed (see [`peer`](super::peer)); the sync stops with `NotAuthorised` before
    /// pushing anything if the other phone's key is not trusted by this store.
    pub fn sync_with_phone(
        &mut self,
        channel: &mut dyn Transport,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        let circle = self.circle().circle_id;
        self.share_keys()?;
        let trusted = self.trusted_now()?;
        let (store, key, clock, _) = self.phone_parts();
        let mut link = PeerLink::new(channel, key, circle, &*clock, trusted);
        // The session is named after the phone that answers, once its first reply is checked.
        let done = run(store, "phone", &mut link, cancel, progress)?;
        self.share_keys()?;
        Ok(done)
    }

    /// Answers one frame of a sync another phone opened: a signed reply, or a signed refusal
    /// when the other phone is not trusted here, its request is stale or replayed, or its
    /// message is bad. Only a frame too damaged to answer is an error.
    pub fn answer_sync(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        // Trust is read from the store's index; the sync below may change it only after
        // this request was admitted.
        let trusted = self.trusted_now()?;
        let (store, key, clock, seen) = self.phone_parts();
        let mut answerer = Answerer {
            key,
            now_ms: clock(),
            seen,
            trusted: &trusted,
        };
        answerer.answer(store, frame)
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
    /// [`seal`](super::seal)) nor alter it unnoticed (see [`bundle`](super::bundle)).
    pub fn export_bundle(&mut self, since: &Since) -> Result<Vec<u8>, SyncError> {
        let mut recipients = self.trusted_now()?;
        recipients.insert(self.public_key());
        let recipients: Vec<PublicKey> = recipients.into_iter().collect();
        let (store, key) = self.sync_parts();
        let signed = bundle::export(store, key, since)?;
        seal::seal(&signed, &recipients)
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
        let mut trusted = self.trusted_now()?;
        trusted.insert(self.circle().centre_key);
        let (store, key) = self.sync_parts();
        if seal::is_sealed(bytes) {
            let opened = seal::open_sealed(bytes, key)?;
            let report = bundle::import(store, &opened, &trusted, plain)?;
            self.share_keys()?;
            Ok(report)
        } else if !bytes.starts_with(bundle::BUNDLE_MAGIC) {
            Err(SyncError::Malformed("not a bundle file".into()))
        } else if plain == PlainBundles::Allowed {
            bundle::import(store, bytes, &trusted, plain)
        } else {
            Err(SyncError::PlainBundle(
                "this bundle file is not sealed (an earlier version wrote it, or it was made \
                 outside the app)"
                    .into(),
            ))
        }
    }

    /// The device keys this store trusts now: enrolled in the circle and not revoked.
    fn trusted_now(&self) -> Result<BTreeSet<PublicKey>, SyncError> {
        Ok(unrevoked(self.trusted_keys()?))
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
        // Devices enrolled since the last sync get the keys they lack; grants written after
        // this sync go out with the next.
        self.share_keys()?;
        let (store, key) = self.sync_parts();
        // Request times are checked against the relay's clock, so they come from the system
        // clock, not from the store's (replaceable) record clock.
        let mut transport =
            relay.transport(circle, key, &crate::hlc::wall_clock_ms, cancel.clone());
        let done = run(store, &peer, &mut transport, cancel, progress)?;
        self.share_keys()?;
        Ok(done)
    }
}

/// Of keys the circle trusts, those not revoked.
pub(super) fn unrevoked(keys: Vec<TrustedKey>) -> BTreeSet<PublicKey> {
    keys.into_iter()
        .filter(|k| k.revoked_from_ms.is_none())
        .map(|k| k.device_key)
        .collect()
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
        self.circle().circle_id
    }
    fn doc_heads(&mut self) -> Result<Vec<DocHeads>, SyncError> {
        self.sync_parts().0.doc_heads()
    }
    fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<ChangeHash>, SyncError> {
        self.sync_parts().0.known(doc, hashes)
    }
    fn changes_since(
        &mut self,
        doc: &DocId,
        have: &[ChangeHash],
        budget: usize,
    ) -> Result<ChangeBatch, SyncError> {
        self.sync_parts().0.changes_since(doc, have, budget)
    }
    fn apply_changes(&mut self, doc: &DocId, changes: &[u8]) -> Result<usize, SyncError> {
        SyncReplica::apply_changes(self.sync_parts().0, doc, changes)
    }
    fn keyring_ids(&mut self) -> Result<Vec<Id>, SyncError> {
        self.sync_parts().0.keyring_ids()
    }
    fn keyring_except(&mut self, have: &[Id]) -> Result<Vec<Vec<u8>>, SyncError> {
        self.sync_parts().0.keyring_except(have)
    }
    fn take_keyring(&mut self, entries: &[Vec<u8>]) -> Result<usize, SyncError> {
        self.sync_parts().0.take_keyring(entries)
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
    fn keyring_unknown_to(&mut self, peer: &str) -> Result<Vec<Vec<u8>>, SyncError> {
        self.sync_parts().0.keyring_unknown_to(peer)
    }
    fn note_peer_keyring(
        &mut self,
        peer: &str,
        held: &[Id],
        lacking: &[Id],
    ) -> Result<(), SyncError> {
        self.sync_parts().0.note_peer_keyring(peer, held, lacking)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Circle;
    use crate::identity::DeviceKey;

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
