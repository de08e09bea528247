//! Wrapping a 32-byte secret (a circle's epoch key) for one device, by the device's ed25519
//! public key read as an X25519 key — the same agreement sealed bundles use (`sync::seal`).
//!
//! ```text
//! wrapped  = ephemeral[32] ‖ ChaCha20-Poly1305(wrap key, nonce 0^12, aad empty, secret[32])
//! shared   = X25519(ephemeral secret, Montgomery form of recipient)
//!          = X25519(recipient's ed25519 secret scalar, ephemeral)
//! wrap key = SHA-256(context ‖ ephemeral ‖ recipient ‖ shared)
//! ```
//! The nonce may be zero because every wrap key is used once: each wrap has its own ephemeral.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use sha2::{Digest, Sha256};

use super::{DeviceKey, PublicKey};

/// The length of a wrapped secret: the ephemeral key, the secret and the tag.
pub const WRAPPED_LEN: usize = 32 + 32 + 16;

/// Why a secret could not be wrapped or made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WrapError {
    /// The recipient's key is not a point of the curve.
    #[error("device key {0} is not a curve point")]
    NotAPoint(PublicKey),
    /// The operating system gave no random bytes.
    #[error("no random bytes from the operating system")]
    NoRandomness,
    /// The cipher refused to encrypt (it does only for inputs far larger than a key).
    #[error("the cipher refused to wrap a key")]
    Cipher,
}

/// 32 random bytes from the operating system, for keys: unlike ids there is no fallback.
pub fn random_secret() -> Result<[u8; 32], WrapError> {
    let mut out = [0u8; 32];
    getrandom::fill(&mut out).map_err(|_| WrapError::NoRandomness)?;
    Ok(out)
}

/// The key that wraps for `recipient` under `context`, from the agreed `shared` point.
pub(crate) fn wrap_key(
    context: &[u8],
    ephemeral: &[u8; 32],
    recipient: &PublicKey,
    shared: &[u8; 32],
) -> [u8; 32] {
    Sha256::new()
        .chain_update(context)
        .chain_update(ephemeral)
        .chain_update(recipient.as_bytes())
        .chain_update(shared)
        .finalize()
        .into()
}

/// The sender's side of the agreement: the ephemeral public key and the shared point.
pub(crate) fn agree_to(
    recipient: &PublicKey,
    ephemeral_secret: [u8; 32],
) -> Result<([u8; 32], [u8; 32]), WrapError> {
    let point = recipient.x25519().ok_or(WrapError::NotAPoint(*recipient))?;
    let ephemeral = MontgomeryPoint::mul_base_clamped(ephemeral_secret).to_bytes();
    let shared = MontgomeryPoint(point)
        .mul_clamped(ephemeral_secret)
        .to_bytes();
    Ok((ephemeral, shared))
}

/// The recipient's side of the agreement with the sender's `ephemeral` key.
pub(crate) fn agree_from(unwrapper: &Unwrapper, ephemeral: [u8; 32]) -> [u8; 32] {
    MontgomeryPoint(ephemeral)
        .mul_clamped(unwrapper.x25519_secret)
        .to_bytes()
}

/// Wraps `secret` for `recipient` under `context`, with a fresh ephemeral key.
pub fn wrap(
    secret: &[u8; 32],
    recipient: &PublicKey,
    context: &[u8],
) -> Result<[u8; WRAPPED_LEN], WrapError> {
    wrap_with(secret, recipient, context, random_secret()?)
}

/// [`wrap`] with a given ephemeral secret (test vectors).
pub fn wrap_with(
    secret: &[u8; 32],
    recipient: &PublicKey,
    context: &[u8],
    ephemeral_secret: [u8; 32],
) -> Result<[u8; WRAPPED_LEN], WrapError> {
    let (ephemeral, shared) = agree_to(recipient, ephemeral_secret)?;
    let key = wrap_key(context, &ephemeral, recipient, &shared);
    let sealed = ChaCha20Poly1305::new(&key.into())
        .encrypt(&Nonce::from([0u8; 12]), secret.as_slice())
        .map_err(|_| WrapError::Cipher)?;
    let mut out = [0u8; WRAPPED_LEN];
    out[..32].copy_from_slice(&ephemeral);
    out[32..].copy_from_slice(&sealed);
    Ok(out)
}

/// What a device needs to unwrap secrets wrapped for it: its public key and X25519 secret.
/// Given to the store so that it can take in epoch keys as their records arrive, without
/// holding the signing key.
#[derive(Clone)]
pub struct Unwrapper {
    public: PublicKey,
    x25519_secret: [u8; 32],
}

impl Unwrapper {
    /// The unwrapping half of `key`.
    pub fn of(key: &DeviceKey) -> Unwrapper {
        Unwrapper {
            public: key.public_key(),
            x25519_secret: key.x25519_secret(),
        }
    }

    /// The device whose wraps this opens.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The secret wrapped for this device under `context`, or `None` if `wrapped` was not
    /// made for it (or was altered).
    pub fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Option<[u8; 32]> {
        if wrapped.len() != WRAPPED_LEN {
            return None;
        }
        let ephemeral: [u8; 32] = wrapped[..32].try_into().ok()?;
        let shared = agree_from(self, ephemeral);
        let key = wrap_key(context, &ephemeral, &self.public, &shared);
        let secret = ChaCha20Poly1305::new(&key.into())
            .decrypt(&Nonce::from([0u8; 12]), &wrapped[32..])
            .ok()?;
        secret.try_into().ok()
    }
}

impl std::fmt::Debug for Unwrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Unwrapper({})", self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_unwraps_and_only_under_the_same_context() {
        let a = DeviceKey::from_seed([1; 32]);
        let b = DeviceKey::from_seed([2; 32]);
        let wrapped = wrap(&[7; 32], &a.public_key(), b"ctx\0").expect("wrap");
        assert_eq!(Unwrapper::of(&a).unwrap(&wrapped, b"ctx\0"), Some([7; 32]));
        assert_eq!(Unwrapper::of(&b).unwrap(&wrapped, b"ctx\0"), None);
        assert_eq!(Unwrapper::of(&a).unwrap(&wrapped, b"other\0"), None);
        for i in 0..WRAPPED_LEN {
            let mut altered = wrapped;
            altered[i] ^= 1;
            assert_eq!(
                Unwrapper::of(&a).unwrap(&altered, b"ctx\0"),
                None,
                "byte {i}"
            );
        }
        assert_eq!(Unwrapper::of(&a).unwrap(&wrapped[1..], b"ctx\0"), None);
    }

    #[test]
    fn a_key_that_is_not_a_point_gets_no_wrap() {
        // About half of all y coordinates have no x on the curve.
        let bad = (2u8..=255)
            .map(|y| {
                let mut bytes = [0u8; 32];
                bytes[0] = y;
                PublicKey::from_bytes(bytes)
            })
            .find(|k| k.x25519().is_none())
            .expect("some y is off the curve");
        assert_eq!(
            wrap(&[7; 32], &bad, b"ctx\0"),
            Err(WrapError::NotAPoint(bad))
        );
    }
}
