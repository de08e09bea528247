//! Sealed bundle files: a bundle encrypted so that only the devices the exporting phone trusts
//! (the circle's enrolled, unrevoked keys) can read it, whoever carries the file (a USB stick,
//! a chat app). Sealing adds secrecy; the bundle inside is signed by its exporter (see
//! [`bundle`](super::bundle)), which gives authenticity, and the signature travels sealed.
//!
//! ```text
//! sealed    = "CBE" ‖ version 1 ‖ ephemeral[32] ‖ n (u16, big-endian) ‖ n × entry ‖ nonce[12]
//!             ‖ ciphertext
//! entry     = recipient[32] (ed25519 device key) ‖ wrapped[48]
//! shared    = X25519(ephemeral secret, Montgomery form of recipient)
//!           = X25519(recipient's ed25519 secret scalar, ephemeral)
//! wrap key  = SHA-256("carebank/seal/v1" ‖ 0x00 ‖ ephemeral ‖ recipient ‖ shared)
//! wrapped   = ChaCha20-Poly1305(wrap key, nonce 0^12, aad empty, content key[32])
//! ciphertext= ChaCha20-Poly1305(content key, nonce, aad = every byte before the nonce, bundle)
//! ```
//!
//! `docs/sync-protocol.md` ("Sealed bundles") has a test vector.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;

use super::SyncError;
use crate::identity::wrap::{self, Unwrapper};
use crate::identity::{DeviceKey, PublicKey};
use crate::ids::Id;

/// The first three bytes of a sealed bundle.
pub const SEALED_MAGIC: &[u8; 3] = b"CBE";
/// The sealing version this build writes and reads.
pub const SEALED_VERSION: u8 = 1;
const WRAP_CONTEXT: &[u8] = b"carebank/seal/v1\0";
const ENTRY: usize = 32 + 48;
const HEADER: usize = 4 + 32 + 2;

/// Whether `bytes` look like a sealed bundle (by their magic bytes).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(SEALED_MAGIC)
}

fn random32() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(Id::random().as_bytes());
    out[16..].copy_from_slice(Id::random().as_bytes());
    out
}

fn cipher(key: &[u8; 32]) -> Result<ChaCha20Poly1305, SyncError> {
    ChaCha20Poly1305::new_from_slice(key).map_err(|e| SyncError::Internal(format!("cipher: {e}")))
}

/// Seals `bundle` for `recipients` with fresh random secrets.
pub fn seal(bundle: &[u8], recipients: &[PublicKey]) -> Result<Vec<u8>, SyncError> {
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&random32()[..12]);
    seal_with(bundle, recipients, random32(), random32(), nonce)
}

/// Seals with the given ephemeral secret, content key and nonce (the test vector; real
/// bundles take fresh ones from [`seal`]). Recipients are sorted and deduplicated; a key that
/// is not a curve point is an error.
pub fn seal_with(
    bundle: &[u8],
    recipients: &[PublicKey],
    ephemeral_secret: [u8; 32],
    content_key: [u8; 32],
    nonce: [u8; 12],
) -> Result<Vec<u8>, SyncError> {
    let mut recipients = recipients.to_vec();
    recipients.sort();
    recipients.dedup();
    if recipients.is_empty() || recipients.len() > usize::from(u16::MAX) {
        return Err(SyncError::Internal(format!(
            "a bundle is sealed for 1 to 65535 devices, not {}",
            recipients.len()
        )));
    }
    let ephemeral = MontgomeryPoint::mul_base_clamped(ephemeral_secret).to_bytes();
    let mut out = Vec::with_capacity(HEADER + recipients.len() * ENTRY + 12 + bundle.len() + 16);
    out.extend_from_slice(SEALED_MAGIC);
    out.push(SEALED_VERSION);
    out.extend_from_slice(&ephemeral);
    out.extend_from_slice(&(recipients.len() as u16).to_be_bytes());
    for recipient in &recipients {
        let (_, shared) = wrap::agree_to(recipient, ephemeral_secret)
            .map_err(|e| SyncError::Internal(e.to_string()))?;
        let wrapped = cipher(&wrap::wrap_key(
            WRAP_CONTEXT,
            &ephemeral,
            recipient,
            &shared,
        ))?
        .encrypt(&Nonce::from([0u8; 12]), content_key.as_slice())
        .map_err(|e| SyncError::Internal(format!("sealing: {e}")))?;
        out.extend_from_slice(recipient.as_bytes());
        out.extend_from_slice(&wrapped);
    }
    out.extend_from_slice(&nonce);
    let sealed = cipher(&content_key)?
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: bundle,
                aad: &out,
            },
        )
        .map_err(|e| SyncError::Internal(format!("sealing: {e}")))?;
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens a sealed bundle with this device's key: the bundle inside, `NotAuthorised` if it was
/// not sealed for this device, `Malformed` if it is damaged.
pub fn open_sealed(bytes: &[u8], key: &DeviceKey) -> Result<Vec<u8>, SyncError> {
    if bytes.len() < HEADER || !is_sealed(bytes) {
        return Err(SyncError::Malformed("not a sealed bundle".into()));
    }
    if bytes[3] != SEALED_VERSION {
        return Err(SyncError::Version(bytes[3]));
    }
    let mut ephemeral = [0u8; 32];
    ephemeral.copy_from_slice(&bytes[4..36]);
    let n = usize::from(u16::from_be_bytes([bytes[36], bytes[37]]));
    let entries_end = HEADER + n * ENTRY;
    if bytes.len() < entries_end + 12 + 16 {
        return Err(SyncError::Malformed(format!(
            "a sealed bundle for {n} devices cannot be {} bytes long",
            bytes.len()
        )));
    }
    let me = key.public_key();
    let wrapped = bytes[HEADER..entries_end]
        .chunks_exact(ENTRY)
        .find(|entry| entry[..32] == me.as_bytes()[..])
        .map(|entry| &entry[32..])
        .ok_or_else(|| {
            SyncError::NotAuthorised(format!(
                "this bundle was sealed for {n} other devices of the circle, not this one \
                 (was it enrolled after the bundle was made?)"
            ))
        })?;
    let shared = wrap::agree_from(&Unwrapper::of(key), ephemeral);
    let damaged = || SyncError::Malformed("the sealed bundle is damaged".into());
    let content_key = cipher(&wrap::wrap_key(WRAP_CONTEXT, &ephemeral, &me, &shared))?
        .decrypt(&Nonce::from([0u8; 12]), wrapped)
        .map_err(|_| damaged())?;
    let content_key: [u8; 32] = content_key.try_into().map_err(|_| damaged())?;
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&bytes[entries_end..entries_end + 12]);
    cipher(&content_key)?
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &bytes[entries_end + 12..],
                aad: &bytes[..entries_end + 12],
            },
        )
        .map_err(|_| damaged())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> DeviceKey {
        DeviceKey::from_seed([n; 32])
    }

    #[test]
    fn each_recipient_opens_the_bundle_and_nobody_else_does() {
        let recipients = [key(1).public_key(), key(2).public_key()];
        let sealed = seal(b"the bundle", &recipients).expect("seal");
        for k in [key(1), key(2)] {
            assert_eq!(open_sealed(&sealed, &k).expect("open"), b"the bundle");
        }
        assert!(matches!(
            open_sealed(&sealed, &key(3)),
            Err(SyncError::NotAuthorised(_))
        ));
        assert!(
            !sealed.windows(10).any(|w| w == b"the bundle"),
            "the plain text does not appear"
        );
    }

    #[test]
    fn any_changed_or_missing_byte_is_refused() {
        let sealed = seal(b"the bundle", &[key(1).public_key()]).expect("seal");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(open_sealed(&bad, &key(1)).is_err(), "byte {i} changed");
            assert!(open_sealed(&sealed[..i], &key(1)).is_err(), "cut at {i}");
        }
    }

    /// The vector in `docs/sync-protocol.md`.
    #[test]
    fn sealing_matches_the_documented_vector() {
        let recipient = DeviceKey::from_seed(
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .expect("hex")
                .try_into()
                .expect("32 bytes"),
        );
        let sealed = seal_with(
            b"CBB",
            &[recipient.public_key()],
            [0x33; 32],
            [0x44; 32],
            [0x55; 12],
        )
        .expect("seal");
        assert_eq!(hex::encode(&sealed), VECTOR);
        assert_eq!(open_sealed(&sealed, &recipient).expect("open"), b"CBB");
    }

    const VECTOR: &str = "434245017b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b140001d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511ae11cc4f499d643484909898bca87c99aecb681e0922b6fca538575619d2a6557358e14473724a1b05282420ac7b1db54555555555555555555555555e5371ffc87a0fbd8348f9894c7e8b322ed7f19";
}
