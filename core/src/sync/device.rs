//! A device's side of a sync: what one device lends a sync session (its store, its signing key
//! and the nonces of the phone requests it answered lately), and the syncs it runs with them:
//! with another phone, with the relay, and through bundle files. The façade
//! ([`CareStore`](crate::CareStore)) builds a [`DeviceSession`] for each sync from its own
//! fields and does its own part before and after (giving the circle's keys to the devices
//! that lack them); nothing here reaches into the façade.

use std::collections::BTreeSet;

use super::bundle::{self, ImportReport, PlainBundles, Since};
use super::peer::{Answerer, PeerLink, SeenNonces};
use super::seal;
use super::{CancelToken, Progress, ProgressFn, SyncError, Transport, run};
use crate::identity::{DeviceKey, PublicKey};
use crate::store::{Store, TrustedKey};

/// What one sync session borrows from the device: exactly what the syncs below need.
pub(crate) struct DeviceSession<'a> {
    /// The device's store, synced.
    pub store: &'a mut Store,
    /// The device's key, which signs what it sends.
    pub key: &'a DeviceKey,
    /// The nonces of the phone requests answered lately (kept between sessions).
    pub nonces: &'a mut SeenNonces,
}

impl DeviceSession<'_> {
    /// Syncs with another phone over `channel`. Every frame is signed (see
    /// [`peer`](super::peer)); the sync stops with `NotAuthorised` before pushing anything if
    /// the other phone's key is not trusted by this store.
    pub fn with_phone(
        self,
        channel: &mut dyn Transport,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        let circle = self.store.circle();
        let trusted = self.trusted_now()?;
        let clock = self.store.wall_clock();
        let mut link = PeerLink::new(channel, self.key, circle, &*clock, trusted);
        // The session is named after the phone that answers, once its first reply is checked.
        run(self.store, "phone", &mut link, cancel, progress)
    }

    /// Answers one frame of a sync another phone opened (see [`Answerer::answer`]).
    pub fn answer_phone(self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        // Trust is read from the store's index; the sync below may change it only after
        // this request was admitted.
        let trusted = self.trusted_now()?;
        let mut answerer = Answerer {
            key: self.key,
            now_ms: (self.store.wall_clock())(),
            seen: self.nonces,
            trusted: &trusted,
        };
        answerer.answer(self.store, frame)
    }

    /// A bundle file of the changes `since` selects, signed by this device's key and sealed
    /// for the devices this store trusts now, this one included.
    pub fn export_bundle(self, since: &Since) -> Result<Vec<u8>, SyncError> {
        let mut recipients = self.trusted_now()?;
        recipients.insert(self.key.public_key());
        let recipients: Vec<PublicKey> = recipients.into_iter().collect();
        let signed = bundle::export(self.store, self.key, since)?;
        seal::seal(&signed, &recipients)
    }

    /// Reads a bundle file, whole or not at all: a sealed one signed by a key this store
    /// trusts (or the centre's, or one the bundle's own records make trusted), and a plain one
    /// only when `plain` allows it.
    pub fn import_bundle(
        self,
        bytes: &[u8],
        plain: PlainBundles,
    ) -> Result<ImportReport, SyncError> {
        let mut trusted = self.trusted_now()?;
        trusted.insert(self.store.centre());
        if seal::is_sealed(bytes) {
            let opened = seal::open_sealed(bytes, self.key)?;
            bundle::import(self.store, &opened, &trusted, plain)
        } else if !bytes.starts_with(bundle::BUNDLE_MAGIC) {
            Err(SyncError::Malformed("not a bundle file".into()))
        } else if plain == PlainBundles::Allowed {
            bundle::import(self.store, bytes, &trusted, plain)
        } else {
            Err(SyncError::PlainBundle(
                "this bundle file is not sealed (an earlier version wrote it, or it was made \
                 outside the app)"
                    .into(),
            ))
        }
    }

    /// Syncs with the relay, signing each request with this device's key.
    #[cfg(feature = "http")]
    pub fn with_relay(
        self,
        relay: &super::http::RelayClient,
        cancel: &CancelToken,
        progress: ProgressFn<'_>,
    ) -> Result<Progress, SyncError> {
        let circle = self.store.circle();
        let peer = relay.peer_name();
        // Request times are checked against the relay's clock, so they come from the system
        // clock, not from the store's (replaceable) record clock.
        let mut transport =
            relay.transport(circle, self.key, &crate::hlc::wall_clock_ms, cancel.clone());
        run(self.store, &peer, &mut transport, cancel, progress)
    }

    /// The device keys this store trusts now: enrolled in the circle and not revoked.
    fn trusted_now(&self) -> Result<BTreeSet<PublicKey>, SyncError> {
        Ok(unrevoked(self.store.trusted_keys()?))
    }
}

/// Of keys the circle trusts, those not revoked.
pub(super) fn unrevoked(keys: Vec<TrustedKey>) -> BTreeSet<PublicKey> {
    keys.into_iter()
        .filter(|k| k.revoked_from_ms.is_none())
        .map(|k| k.device_key)
        .collect()
}
