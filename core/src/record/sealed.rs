//! Sealed bodies (decision 0014, `docs/record-format.md` "Sealed bodies"): a care record's body
//! travels encrypted under the circle's epoch key named in its header, so the relay, a carried
//! bundle or a phone of another circle hold only ciphertext.
//!
//! ```text
//! body  = nonce[24] ‖ XChaCha20-Poly1305(epoch key, nonce, aad = header, zstd(plain))
//! plain = the canonical JSON body a record in the clear would carry
//! ```
//! The body is compressed before it is encrypted (ciphertext does not compress). The AEAD binds
//! the header, so a body cannot be moved under another author, position or clock; the record's
//! signature covers the header and the body as sent, so anyone can check it without the key.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::{MAX_RECORD_BYTES, RecordError};
use crate::ids::Id;

/// The length of a sealed body's nonce.
pub const NONCE_LEN: usize = 24;
/// What sealing adds to the compressed body: the nonce and the tag.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + 16;
/// The zstd level bodies are compressed at (records are small; a higher level costs little).
const LEVEL: i32 = 19;

/// Where the keys a device holds are looked up: epoch keys by the id of the record that made
/// them, elder keys by their own id (`personal`).
pub trait EpochKeys {
    /// The 32-byte key made by the epoch-key record `id`, if this device holds it.
    fn epoch_key(&self, id: Id) -> Option<[u8; 32]>;
    /// The elder key `key_id`, if this device holds it.
    fn elder_key(&self, key_id: Id) -> Option<[u8; 32]> {
        let _ = key_id;
        None
    }
    /// Whether the elder was erased (every key of theirs destroyed).
    fn erased(&self, elder: Id) -> bool {
        let _ = elder;
        false
    }
}

/// No keys: what the relay and any holder outside the circle have.
pub struct NoKeys;

impl EpochKeys for NoKeys {
    fn epoch_key(&self, _: Id) -> Option<[u8; 32]> {
        None
    }
}

/// Keys held in memory: epoch keys, elder keys and the erased elders.
#[derive(Default, Clone)]
pub struct Keyring {
    epochs: HashMap<Id, [u8; 32]>,
    elders: HashMap<Id, [u8; 32]>,
    erased: HashSet<Id>,
}

impl Keyring {
    /// Adds the key made by the epoch-key record `id`.
    pub fn insert(&mut self, id: Id, key: [u8; 32]) {
        self.epochs.insert(id, key);
    }

    /// Adds an elder key.
    pub fn insert_elder(&mut self, key_id: Id, key: [u8; 32]) {
        self.elders.insert(key_id, key);
    }

    /// Marks an elder as erased.
    pub fn erase(&mut self, elder: Id) {
        self.erased.insert(elder);
    }
}

impl EpochKeys for Keyring {
    fn epoch_key(&self, id: Id) -> Option<[u8; 32]> {
        self.epochs.get(&id).copied()
    }

    fn elder_key(&self, key_id: Id) -> Option<[u8; 32]> {
        self.elders.get(&key_id).copied()
    }

    fn erased(&self, elder: Id) -> bool {
        self.erased.contains(&elder)
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Keyring({} epoch keys, {} elder keys)",
            self.epochs.len(),
            self.elders.len()
        )
    }
}

/// The key a device seals its care records under: the epoch key and the id of its record.
#[derive(Clone, PartialEq, Eq)]
pub struct EpochSecret {
    /// The id of the epoch-key record that made the key (the header's `key_id`).
    pub id: Id,
    /// The key.
    pub key: [u8; 32],
}

impl std::fmt::Debug for EpochSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EpochSecret({})", self.id)
    }
}

/// The plain body compressed, ready to be sealed once the header (which holds the sealed
/// length) is known. The zstd context is made once per thread.
pub(crate) fn compress(plain: &[u8]) -> Result<Vec<u8>, RecordError> {
    thread_local! {
        static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { RefCell::new(None) };
    }
    COMPRESSOR
        .with_borrow_mut(|slot| {
            let compressor = match slot {
                Some(c) => c,
                None => slot.insert(zstd::bulk::Compressor::new(LEVEL)?),
            };
            compressor.compress(plain)
        })
        .map_err(|e| RecordError::Compression(e.to_string()))
}

/// Decompresses an opened body, never to more than a record may hold (no decompression bomb).
/// The zstd context is made once per thread: making one costs more than opening a record.
fn decompress(compressed: &[u8]) -> Result<Vec<u8>, RecordError> {
    thread_local! {
        static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { RefCell::new(None) };
    }
    DECOMPRESSOR
        .with_borrow_mut(|slot| {
            let decompressor = match slot {
                Some(d) => d,
                None => slot.insert(zstd::bulk::Decompressor::new()?),
            };
            decompressor.decompress(compressed, MAX_RECORD_BYTES)
        })
        .map_err(|e| RecordError::Compression(e.to_string()))
}

/// Seals a compressed body under `key` with `nonce`, binding `header`.
pub(crate) fn seal(
    header: &[u8],
    compressed: &[u8],
    key: &[u8; 32],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, RecordError> {
    let sealed = XChaCha20Poly1305::new(key.into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: compressed,
                aad: header,
            },
        )
        .map_err(|_| RecordError::Seal("the cipher refused the body".into()))?;
    let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// Opens a sealed body under `key` (the key `key_id` names): the plain canonical JSON.
pub(crate) fn open(
    header: &[u8],
    body: &[u8],
    key_id: Id,
    key: &[u8; 32],
) -> Result<Vec<u8>, RecordError> {
    if body.len() < SEAL_OVERHEAD {
        return Err(RecordError::Unopened(key_id));
    }
    let (nonce, sealed) = body.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| RecordError::Unopened(key_id))?;
    let compressed = XChaCha20Poly1305::new(key.into())
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: sealed,
                aad: header,
            },
        )
        .map_err(|_| RecordError::Unopened(key_id))?;
    decompress(&compressed)
}

/// A fresh random nonce.
pub(crate) fn random_nonce() -> Result<[u8; NONCE_LEN], RecordError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|_| RecordError::Seal("no random bytes for a nonce".into()))?;
    Ok(nonce)
}
