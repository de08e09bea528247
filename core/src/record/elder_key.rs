//! Keyring entries: how an elder's key travels (decision 0014, `docs/record-format.md` "Elder
//! keys"). An entry is not a record and never enters an Automerge document, whose history
//! cannot forget: sync carries entries beside the documents, each device and the relay keep
//! them in a table, and an erasure deletes them everywhere.
//!
//! ```text
//! entry   = signature[64] ‖ body                                   (235 bytes)
//! body    = "CK" ‖ version u8 = 1 ‖ circle[16] ‖ author[32] ‖ elder[16] ‖ key_id[16]
//!           ‖ epoch_key_id[16] ‖ nonce[24] ‖ wrapped[48]
//! wrapped = XChaCha20-Poly1305(epoch key, nonce,
//!           aad = "carebank/elder-key/v1" ‖ 0x00 ‖ circle ‖ elder ‖ key_id, elder key[32])
//! signature = ed25519 (strict) by `author` over "carebank/elder-key/v1" ‖ 0x00 ‖ body
//! ```
//! The key is wrapped under one of the circle's epoch keys, so a device that holds the epoch key
//! (every device enrolled when it was made, and every device granted it since) can open it, and
//! the relay, which holds none, cannot.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::personal::ElderSecret;
use super::sealed::{EpochSecret, NONCE_LEN};
use crate::identity::{DeviceKey, PublicKey};
use crate::ids::Id;

/// The signing context and the wrap's associated-data prefix.
pub const CONTEXT: &[u8] = b"carebank/elder-key/v1\0";
/// The first two bytes of an entry's body.
pub const MAGIC: &[u8; 2] = b"CK";
/// The entry format this build writes and reads.
pub const VERSION: u8 = 1;
/// The body's length.
pub const BODY_LEN: usize = 2 + 1 + 16 + 32 + 16 + 16 + 16 + NONCE_LEN + 48;
/// An entry's length: signature and body.
pub const ENTRY_LEN: usize = 64 + BODY_LEN;

/// Why bytes are not a keyring entry, or do not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EntryError {
    /// Not the length, magic or version of an entry.
    #[error("not a keyring entry: {0}")]
    Malformed(&'static str),
    /// The signature does not match the body and author.
    #[error("the keyring entry's signature does not verify")]
    BadSignature,
    /// The wrapped key does not open under the epoch key.
    #[error("the elder key {0} does not open under its epoch key")]
    Unopened(Id),
    /// The cipher refused to wrap.
    #[error("wrapping an elder key failed")]
    Wrap,
}

/// A verified keyring entry: one elder key, wrapped under an epoch key, signed by its maker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElderKeyEntry {
    bytes: Vec<u8>,
    circle: Id,
    author: PublicKey,
    elder: Id,
    key_id: Id,
    epoch_key_id: Id,
}

impl ElderKeyEntry {
    /// Wraps `secret` under `epoch` and signs the entry with `key` (a fresh random nonce).
    pub fn make(
        circle: Id,
        key: &DeviceKey,
        secret: &ElderSecret,
        epoch: &EpochSecret,
    ) -> Result<ElderKeyEntry, EntryError> {
        let nonce = super::sealed::random_nonce().map_err(|_| EntryError::Wrap)?;
        ElderKeyEntry::make_with_nonce(circle, key, secret, epoch, nonce)
    }

    /// [`ElderKeyEntry::make`] with a given nonce (the published test vector).
    pub fn make_with_nonce(
        circle: Id,
        key: &DeviceKey,
        secret: &ElderSecret,
        epoch: &EpochSecret,
        nonce: [u8; NONCE_LEN],
    ) -> Result<ElderKeyEntry, EntryError> {
        let wrapped = XChaCha20Poly1305::new((&epoch.key).into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &secret.key,
                    aad: &aad(circle, secret.elder, secret.key_id),
                },
            )
            .map_err(|_| EntryError::Wrap)?;
        let mut body = Vec::with_capacity(BODY_LEN);
        body.extend_from_slice(MAGIC);
        body.push(VERSION);
        body.extend_from_slice(circle.as_bytes());
        body.extend_from_slice(key.public_key().as_bytes());
        body.extend_from_slice(secret.elder.as_bytes());
        body.extend_from_slice(secret.key_id.as_bytes());
        body.extend_from_slice(epoch.id.as_bytes());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&wrapped);
        let mut bytes = key.sign(&signing_message(&body)).to_vec();
        bytes.extend_from_slice(&body);
        ElderKeyEntry::parse(bytes)
    }

    /// Reads and verifies an entry from its bytes.
    pub fn decode(bytes: &[u8]) -> Result<ElderKeyEntry, EntryError> {
        let entry = ElderKeyEntry::parse(bytes.to_vec())?;
        let (signature, body) = bytes.split_at(64);
        let signature: &[u8; 64] = signature
            .try_into()
            .map_err(|_| EntryError::Malformed("length"))?;
        if !entry.author.verify(&signing_message(body), signature) {
            return Err(EntryError::BadSignature);
        }
        Ok(entry)
    }

    /// The id well-formed entry bytes name, without checking the signature: to pass over
    /// entries already held before spending a verification on each.
    pub fn key_id_of(bytes: &[u8]) -> Option<Id> {
        ElderKeyEntry::parse(bytes.to_vec()).ok().map(|e| e.key_id)
    }

    /// Reads an entry this store verified when it took it (its `elder_keys` row): the fields
    /// only, since checking the signature again on every sync costs a verification per entry.
    pub(crate) fn from_stored(bytes: Vec<u8>) -> Result<ElderKeyEntry, EntryError> {
        ElderKeyEntry::parse(bytes)
    }

    /// The fields of well-formed bytes (the signature is not checked here).
    fn parse(bytes: Vec<u8>) -> Result<ElderKeyEntry, EntryError> {
        if bytes.len() != ENTRY_LEN {
            return Err(EntryError::Malformed("length"));
        }
        let body = &bytes[64..];
        if &body[..2] != MAGIC {
            return Err(EntryError::Malformed("magic"));
        }
        if body[2] != VERSION {
            return Err(EntryError::Malformed("version"));
        }
        let id = |at: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&body[at..at + 16]);
            Id::from_bytes(b)
        };
        let mut author = [0u8; 32];
        author.copy_from_slice(&body[19..51]);
        Ok(ElderKeyEntry {
            circle: id(3),
            author: PublicKey::from_bytes(author),
            elder: id(51),
            key_id: id(67),
            epoch_key_id: id(83),
            bytes,
        })
    }

    /// Opens the wrapped key with the epoch key the entry names.
    pub fn open(&self, epoch_key: &[u8; 32]) -> Result<ElderSecret, EntryError> {
        let body = &self.bytes[64..];
        let nonce: [u8; NONCE_LEN] = body[99..99 + NONCE_LEN]
            .try_into()
            .map_err(|_| EntryError::Malformed("nonce"))?;
        let key = XChaCha20Poly1305::new(epoch_key.into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &body[99 + NONCE_LEN..],
                    aad: &aad(self.circle, self.elder, self.key_id),
                },
            )
            .map_err(|_| EntryError::Unopened(self.key_id))?;
        Ok(ElderSecret {
            elder: self.elder,
            key_id: self.key_id,
            key: key
                .try_into()
                .map_err(|_| EntryError::Unopened(self.key_id))?,
        })
    }

    /// The entry as it is kept and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The circle.
    pub fn circle(&self) -> Id {
        self.circle
    }

    /// The device that made and signed the entry.
    pub fn author(&self) -> PublicKey {
        self.author
    }

    /// The elder whose key it carries.
    pub fn elder(&self) -> Id {
        self.elder
    }

    /// The elder key's id (also the entry's).
    pub fn key_id(&self) -> Id {
        self.key_id
    }

    /// The epoch key it is wrapped under.
    pub fn epoch_key_id(&self) -> Id {
        self.epoch_key_id
    }
}

fn signing_message(body: &[u8]) -> Vec<u8> {
    let mut message = CONTEXT.to_vec();
    message.extend_from_slice(body);
    message
}

fn aad(circle: Id, elder: Id, key_id: Id) -> Vec<u8> {
    let mut aad = CONTEXT.to_vec();
    aad.extend_from_slice(circle.as_bytes());
    aad.extend_from_slice(elder.as_bytes());
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> (DeviceKey, ElderSecret, EpochSecret) {
        (
            DeviceKey::from_seed([7; 32]),
            ElderSecret {
                elder: Id::from_bytes([1; 16]),
                key_id: Id::from_bytes([2; 16]),
                key: [3; 32],
            },
            EpochSecret {
                id: Id::from_bytes([4; 16]),
                key: [5; 32],
            },
        )
    }

    #[test]
    fn an_entry_verifies_and_opens_under_its_epoch_key_only() {
        let (key, secret, epoch) = parts();
        let circle = Id::from_bytes([6; 16]);
        let entry = ElderKeyEntry::make(circle, &key, &secret, &epoch).expect("test");
        assert_eq!(entry.as_bytes().len(), ENTRY_LEN);
        let read = ElderKeyEntry::decode(entry.as_bytes()).expect("test");
        assert_eq!(read, entry);
        assert_eq!(read.open(&epoch.key).expect("test"), secret);
        assert_eq!(read.elder(), secret.elder);
        assert_eq!(read.epoch_key_id(), epoch.id);
        assert_eq!(
            read.open(&[9; 32]),
            Err(EntryError::Unopened(secret.key_id))
        );
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let (key, secret, epoch) = parts();
        let entry =
            ElderKeyEntry::make(Id::from_bytes([6; 16]), &key, &secret, &epoch).expect("test");
        for at in 0..ENTRY_LEN {
            let mut bytes = entry.as_bytes().to_vec();
            bytes[at] ^= 1;
            assert!(ElderKeyEntry::decode(&bytes).is_err(), "byte {at}");
        }
        assert!(ElderKeyEntry::decode(&entry.as_bytes()[1..]).is_err());
    }
}
