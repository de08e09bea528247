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
