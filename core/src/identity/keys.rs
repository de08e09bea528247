//! Device signing keys and public keys.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::{SecretStore, SecretStoreError, load_or_create_secret};

/// An ed25519 signature (64 bytes).
pub type SignatureBytes = [u8; 64];

/// An ed25519 public key, written as 64 lowercase hexadecimal characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// The key made of these bytes (not yet checked to be a valid curve point).
    pub const fn from_bytes(bytes: [u8; 32]) -> PublicKey {
        PublicKey(bytes)
    }

    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as an X25519 public key (the Montgomery form of the same point), or `None` if
    /// the bytes are not a point of the curve.
    pub fn x25519(&self) -> Option<[u8; 32]> {
        VerifyingKey::from_bytes(&self.0)
            .ok()
            .map(|k| k.to_montgomery().to_bytes())
    }

    /// Checks an ed25519 signature with the strict rules of RFC 8032 (no small-order keys, no
    /// non-canonical encodings), so that every replica reaches the same verdict.
    pub fn verify(&self, message: &[u8], signature: &SignatureBytes) -> bool {
        let Some(key) = self.verifying_key() else {
            return false;
        };
        key.verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }

    /// The key as a curve point, decompressed once per thread and key: a circle has a few dozen
    /// authors, and decompressing the author's key for every record verified took 8% of an
    /// import. `None` if the bytes are not a point of the curve.
    fn verifying_key(&self) -> Option<VerifyingKey> {
        thread_local! {
            static DECOMPRESSED: RefCell<HashMap<[u8; 32], VerifyingKey>> =
                RefCell::new(HashMap::new());
        }
        DECOMPRESSED.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some(key) = cache.get(&self.0) {
                return Some(*key);
            }
            let key = VerifyingKey::from_bytes(&self.0).ok()?;
            // Bounded: a relay sees many circles' keys over its life.
            if cache.len() >= DECOMPRESSED_KEYS {
                cache.clear();
            }
            cache.insert(self.0, key);
            Some(key)
        })
    }
}

/// How many decompressed keys each thread keeps (see [`PublicKey::verify`]).
const DECOMPRESSED_KEYS: usize = 1024;

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", &hex::encode(self.0)[..12])
    }
}

/// Why text is not a public key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a public key (expected 64 lowercase hex characters): {0:?}")]
pub struct PublicKeyParseError(pub String);

impl FromStr for PublicKey {
    type Err = PublicKeyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let mut bytes = [0u8; 32];
        if !ok || hex::decode_to_slice(s, &mut bytes).is_err() {
            return Err(PublicKeyParseError(s.to_string()));
        }
        Ok(PublicKey(bytes))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A device's ed25519 signing key. The secret never leaves this type except into a
/// [`SecretStore`].
pub struct DeviceKey {
    signing: SigningKey,
}

impl DeviceKey {
    /// The key's X25519 secret scalar (RFC 7748 form, from the same hashed seed that signs), so
    /// that data can be sealed to a device by its public key (see `sync::seal`).
    pub(crate) fn x25519_secret(&self) -> [u8; 32] {
        self.signing.to_scalar_bytes()
    }

    /// The key derived from a 32-byte seed (RFC 8032 secret key).
    pub fn from_seed(seed: [u8; 32]) -> DeviceKey {
        DeviceKey {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// Loads the key kept under `name`, or makes one and keeps it there.
    pub fn load_or_create(
        store: &dyn SecretStore,
        name: &str,
    ) -> Result<DeviceKey, SecretStoreError> {
        Ok(DeviceKey::from_seed(load_or_create_secret(store, name)?))
    }

    /// Keeps this key in `store` under `name` (to move a key into platform key storage).
    pub fn keep_in(&self, store: &dyn SecretStore, name: &str) -> Result<(), SecretStoreError> {
        store.save(name, self.signing.as_bytes())
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> SignatureBytes {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey({:?})", self.public_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::MemorySecretStore;

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let key = DeviceKey::from_seed([7; 32]);
        let sig = key.sign(b"meal delivered");
        assert!(key.public_key().verify(b"meal delivered", &sig));
        assert!(!key.public_key().verify(b"meal delivered!", &sig));
        let other = DeviceKey::from_seed([8; 32]);
        assert!(!other.public_key().verify(b"meal delivered", &sig));
    }

    #[test]
    fn a_kept_key_is_the_same_key_next_time() {
        let store = MemorySecretStore::default();
        let a = DeviceKey::load_or_create(&store, "device").expect("create");
        let b = DeviceKey::load_or_create(&store, "device").expect("load");
        assert_eq!(a.public_key(), b.public_key());
        store.save("short", &[1, 2, 3]).expect("save");
        assert!(matches!(
            DeviceKey::load_or_create(&store, "short"),
            Err(SecretStoreError::Corrupt(_))
        ));
    }

    #[test]
    fn public_keys_parse_strictly() {
        let key = DeviceKey::from_seed([1; 32]).public_key();
        assert_eq!(key.to_string().parse::<PublicKey>(), Ok(key));
        assert!("abc".parse::<PublicKey>().is_err());
        assert!(key.to_string().to_uppercase().parse::<PublicKey>().is_err());
    }
}
