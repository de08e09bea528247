//! Signed records: the envelope every record travels in, its canonical encoding, its id and its
//! signature. The format is specified in `docs/record-format.md`.
//!
//! Stored and transmitted form: `signature (64 bytes) ‖ payload`, where `payload` is the canonical
//! JSON of the [`Envelope`]. The signature is ed25519 by `envelope.author` over
//! `SIGNING_CONTEXT ‖ payload`; the record id is the first 16 bytes of SHA-256(payload).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canonical::{CanonicalError, from_canonical, to_canonical};
use crate::domain::{RecordBody, ValidationError};
use crate::hlc::Hlc;
use crate::identity::{DeviceKey, PublicKey, SignatureBytes};
use crate::ids::Id;

/// The version of the envelope format written today.
pub const FORMAT_VERSION: u32 = 1;
/// Prefixed to the payload before signing, so a record signature means nothing elsewhere.
pub const SIGNING_CONTEXT: &[u8] = b"carebank/record/v1\0";
/// The largest encoded record accepted (signature + payload).
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// What every record carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version; 1 today.
    pub v: u32,
    /// The circle (the village's group of devices) the record belongs to.
    pub circle: Id,
    /// The signing device's public key.
    pub author: PublicKey,
    /// When the record was made, by the author's hybrid logical clock.
    pub hlc: Hlc,
    /// The record itself.
    pub body: RecordBody,
}

/// Why bytes are not a valid signed record.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// Shorter than a signature, or larger than [`MAX_RECORD_BYTES`].
    #[error("record is {0} bytes, outside 65..={MAX_RECORD_BYTES}")]
    Size(usize),
    /// The payload is not the canonical encoding of an envelope.
    #[error("record payload: {0}")]
    Encoding(#[from] CanonicalError),
    /// A version this build does not read.
    #[error("record format version {0} is not supported")]
    Version(u32),
    /// The signature does not match the payload and author.
    #[error("bad signature")]
    BadSignature,
    /// The record's own fields are invalid.
    #[error("invalid record: {0}")]
    Invalid(#[from] ValidationError),
}

/// A record with its signature, as it is kept and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRecord {
    id: Id,
    envelope: Envelope,
    bytes: Vec<u8>,
}

impl SignedRecord {
    /// Validates, encodes and signs an envelope with the author's key.
    pub fn sign(envelope: Envelope, key: &DeviceKey) -> Result<SignedRecord, RecordError> {
        if envelope.author != key.public_key() {
            return Err(RecordError::BadSignature);
        }
        envelope.body.validate()?;
        let payload = to_canonical(&envelope)?;
        let signature = key.sign(&signing_message(&payload));
        let mut bytes = Vec::with_capacity(64 + payload.len());
        bytes.extend_from_slice(&signature);
        bytes.extend_from_slice(&payload);
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(RecordError::Size(bytes.len()));
        }
        Ok(SignedRecord {
            id: record_id(&payload),
            envelope,
            bytes,
        })
    }

    /// Decodes and verifies a record from its bytes: size, canonical encoding, version,
    /// signature and the body's own validation, in that order.
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedRecord, RecordError> {
        let record = SignedRecord::decode_envelope(bytes)?;
        if !record
            .author()
            .verify(&record.signing_message(), record.signature())
        {
            return Err(RecordError::BadSignature);
        }
        record.body().validate()?;
        Ok(record)
    }

    /// Decodes a record without checking its signature: size, canonical encoding, version and
    /// the body's own validation. Only for bytes whose signature was already verified (by the
    /// store that admitted them) or is about to be verified in a batch
    /// (`ledger::verify_signatures`).
    pub fn decode_unverified(bytes: &[u8]) -> Result<SignedRecord, RecordError> {
        let record = SignedRecord::decode_envelope(bytes)?;
        record.body().validate()?;
        Ok(record)
    }

    /// Size, canonical encoding and version; neither signature nor body validation.
    fn decode_envelope(bytes: &[u8]) -> Result<SignedRecord, RecordError> {
        if bytes.len() <= 64 || bytes.len() > MAX_RECORD_BYTES {
            return Err(RecordError::Size(bytes.len()));
        }
        let payload = &bytes[64..];
        let envelope: Envelope = from_canonical(payload)?;
        if envelope.v != FORMAT_VERSION {
            return Err(RecordError::Version(envelope.v));
        }
        Ok(SignedRecord {
            id: record_id(payload),
            envelope,
            bytes: bytes.to_vec(),
        })
    }

    /// The 64-byte ed25519 signature.
    pub fn signature(&self) -> &SignatureBytes {
        self.bytes.first_chunk::<64>().unwrap_or(&[0; 64])
    }

    /// What the signature covers: [`SIGNING_CONTEXT`] followed by the payload.
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(self.payload())
    }

    /// The record id: the first 16 bytes of SHA-256 of the payload.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The envelope (author, clock, body).
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The record's body.
    pub fn body(&self) -> &RecordBody {
        &self.envelope.body
    }

    /// The signing device.
    pub fn author(&self) -> PublicKey {
        self.envelope.author
    }

    /// The author's clock when the record was made.
    pub fn hlc(&self) -> Hlc {
        self.envelope.hlc
    }

    /// The stored form: signature then payload.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The canonical payload (what the signature covers, after the context prefix).
    pub fn payload(&self) -> &[u8] {
        &self.bytes[64..]
    }
}

/// The id of the record whose payload is `payload`.
pub fn record_id(payload: &[u8]) -> Id {
    let digest = Sha256::digest(payload);
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    Id::from_bytes(id)
}

fn signing_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + payload.len());
    message.extend_from_slice(SIGNING_CONTEXT);
    message.extend_from_slice(payload);
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Funding, MealMode, Service, ServiceDetail};

    /// The vector published in `docs/record-format.md`.
    fn vector_envelope() -> Envelope {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        Envelope {
            v: 1,
            circle: "0123456789abcdef0123456789abcdef".parse().expect("id"),
            author: key.public_key(),
            hlc: Hlc {
                ms: 1_793_581_200_000,
                counter: 0,
            },
            body: RecordBody::Service(Service {
                elder_id: "4c1d0e2f9a8b7c6d5e4f3a2b1c0d9e8f".parse().expect("id"),
                provider_id: "a1b2c3d4e5f60718293a4b5c6d7e8f90".parse().expect("id"),
                started_ms: 1_793_580_000_000,
                duration_minutes: 45,
                funding: Funding::Government,
                detail: ServiceDetail::Meal {
                    mode: MealMode::Delivered,
                    portions: 1,
                    diet_notes: Some("低盐".into()),
                },
                confirmation: None,
            }),
        }
    }

    const VECTOR_SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];

    #[test]
    fn the_published_test_vector_holds() {
        let record = SignedRecord::sign(vector_envelope(), &DeviceKey::from_seed(VECTOR_SEED))
            .expect("sign");
        let payload = std::str::from_utf8(record.payload()).expect("utf8");
        assert_eq!(payload, VECTOR_PAYLOAD);
        assert_eq!(record.id().to_string(), VECTOR_ID);
        assert_eq!(hex::encode(&record.as_bytes()[..64]), VECTOR_SIGNATURE);
        let decoded = SignedRecord::from_bytes(record.as_bytes()).expect("verify");
        assert_eq!(decoded.envelope(), &vector_envelope());
    }

    const VECTOR_PAYLOAD: &str = r#"{"author":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a","body":{"detail":{"diet_notes":"低盐","kind":"meal","mode":"delivered","portions":1},"duration_minutes":45,"elder_id":"4c1d0e2f9a8b7c6d5e4f3a2b1c0d9e8f","funding":"government","provider_id":"a1b2c3d4e5f60718293a4b5c6d7e8f90","started_ms":1793580000000,"type":"service"},"circle":"0123456789abcdef0123456789abcdef","hlc":{"counter":0,"ms":1793581200000},"v":1}"#;
    const VECTOR_ID: &str = "d406faf6b3fe9bc4166314e838accae1";
    const VECTOR_SIGNATURE: &str = "a16e6f37fa5a0a307154be00807661fde70b71960be2bade256fc4b3234eac98cf2a2db754ec1eae196f11a4614d9d43528e916e7917173985ca867915b4c90c";

    #[test]
    fn any_change_to_a_signed_record_is_caught() {
        let record = SignedRecord::sign(vector_envelope(), &DeviceKey::from_seed(VECTOR_SEED))
            .expect("sign");
        let bytes = record.as_bytes();
        for i in 0..bytes.len() {
            let mut altered = bytes.to_vec();
            altered[i] ^= 0x01;
            assert!(
                SignedRecord::from_bytes(&altered).is_err(),
                "flipping byte {i} went unnoticed"
            );
        }
        assert_eq!(
            SignedRecord::from_bytes(&bytes[..64]),
            Err(RecordError::Size(64))
        );
        assert_eq!(SignedRecord::from_bytes(&[]), Err(RecordError::Size(0)));
    }

    #[test]
    fn a_record_signed_by_another_key_than_its_author_is_refused() {
        let other = DeviceKey::from_seed([3; 32]);
        assert_eq!(
            SignedRecord::sign(vector_envelope(), &other),
            Err(RecordError::BadSignature)
        );
    }

    #[test]
    fn unsupported_versions_are_refused() {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        let mut envelope = vector_envelope();
        envelope.v = 2;
        let payload = to_canonical(&envelope).expect("encode");
        let mut bytes = key.sign(&signing_message(&payload)).to_vec();
        bytes.extend_from_slice(&payload);
        assert_eq!(
            SignedRecord::from_bytes(&bytes),
            Err(RecordError::Version(2))
        );
    }
}
