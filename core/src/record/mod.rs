//! Signed records: the envelope every record travels in, its encodings, its id and its
//! signature. The formats are specified in `docs/record-format.md`.
//!
//! Version 2 (written today, decision 0014): `signature (64 bytes) ‖ header ‖ body`, where the
//! header is binary ([`header`]) and names the author's chain position, and the body is the
//! canonical JSON of the [`RecordBody`]. Version 1 (still read and verified forever):
//! `signature ‖ payload`, the payload being the canonical JSON of the whole [`Envelope`]. In both,
//! the signature is ed25519 by the author over the version's signing context followed by
//! everything after the signature (the *payload*), and the record id is the first 16 bytes of
//! SHA-256(payload).

pub mod elder_key;
mod header;
pub mod month_close;
pub mod personal;
mod sealed;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canonical::{CanonicalError, from_canonical, to_canonical};
use crate::domain::{RecordBody, ValidationError};
use crate::hlc::Hlc;
use crate::identity::{DeviceKey, PublicKey, SignatureBytes};
use crate::ids::Id;
pub use header::{ChainLink, Header, HeaderError, RecordClass};
pub use personal::{ElderSecret, Personal};
pub use sealed::{EpochKeys, EpochSecret, Keyring, NoKeys};

/// The version of the envelope format written today.
pub const FORMAT_VERSION: u32 = 2;
/// The first format, still read and verified.
pub const V1: u32 = 1;
/// Prefixed to a version-1 payload before signing, so a record signature means nothing elsewhere.
pub const SIGNING_CONTEXT: &[u8] = b"carebank/record/v1\0";
/// Prefixed to a version-2 payload (header and body) before signing.
pub const SIGNING_CONTEXT_V2: &[u8] = b"carebank/record/v2\0";
/// The largest encoded record accepted (signature + payload).
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// What every record carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version: 2 today, 1 for records made before device chains.
    pub v: u32,
    /// The circle (the village's group of devices) the record belongs to.
    pub circle: Id,
    /// The signing device's public key.
    pub author: PublicKey,
    /// When the record was made, by the author's hybrid logical clock.
    pub hlc: Hlc,
    /// The record itself.
    pub body: RecordBody,
    /// The record's place in its author's device chain: present in version 2, absent in 1.
    #[serde(skip)]
    pub link: Option<ChainLink>,
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
    /// A version-2 header that does not parse.
    #[error("{0}")]
    Header(#[from] HeaderError),
    /// A version this build does not read.
    #[error("record format version {0} is not supported")]
    Version(u32),
    /// A version-2 envelope without a chain position, or a version-1 envelope with one.
    #[error("a version {0} record {1} a chain position")]
    Link(u32, &'static str),
    /// The header's class is not the class of the body's type.
    #[error("a {0} record in the header's class {1:?}")]
    Class(&'static str, RecordClass),
    /// The body is sealed under an epoch key this device does not hold (yet).
    #[error("the record's body is sealed under key {0}, which this device does not hold")]
    Sealed(Id),
    /// The sealed body does not open under the key its header names: altered, or sealed by
    /// someone who did not hold that key.
    #[error("the record's sealed body does not open under key {0}")]
    Unopened(Id),
    /// The body's personal fields are sealed under an elder key this device does not hold
    /// (yet); the elder was not erased.
    #[error(
        "the record's personal fields are sealed under elder key {key_id}, which this device does not hold"
    )]
    PersonalSealed {
        /// The elder.
        elder: Id,
        /// The elder key.
        key_id: Id,
    },
    /// The body's sealed personal part is not as `record-format.md` describes it.
    #[error("the record's personal part: {0}")]
    PersonalMalformed(String),
    /// The body could not be compressed or decompressed.
    #[error("record body compression: {0}")]
    Compression(String),
    /// The body could not be sealed.
    #[error("sealing the record's body: {0}")]
    Seal(String),
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
    /// The epoch key the body is sealed under in `bytes` (the envelope holds it opened).
    key_id: Option<Id>,
    /// Whether the body had personal fields sealed under an elder key, and what became of them.
    personal: Option<Personal>,
}

/// How a care record is sealed: the epoch key, and the elder key for its personal fields when
/// it is about an elder; each with its nonce.
#[derive(Debug, Clone, Copy)]
pub struct Sealing<'a> {
    /// The circle's epoch key.
    pub epoch: &'a EpochSecret,
    /// The body's nonce.
    pub nonce: [u8; sealed::NONCE_LEN],
    /// The elder's key and the personal part's nonce.
    pub personal: Option<(&'a ElderSecret, [u8; sealed::NONCE_LEN])>,
}

impl SignedRecord {
    /// Validates, encodes and signs an envelope with the author's key, in the format its
    /// version names, with the body in the clear.
    pub fn sign(envelope: Envelope, key: &DeviceKey) -> Result<SignedRecord, RecordError> {
        SignedRecord::sign_inner(envelope, key, None)
    }

    /// Like [`SignedRecord::sign`], with a care record's body sealed under the epoch key
    /// `epoch`, and its personal fields under the elder's key when given (fresh random nonces).
    /// Only version-2 care records are sealed.
    pub fn sign_sealed(
        envelope: Envelope,
        key: &DeviceKey,
        epoch: &EpochSecret,
        elder: Option<&ElderSecret>,
    ) -> Result<SignedRecord, RecordError> {
        let personal = match elder {
            Some(secret) => Some((secret, sealed::random_nonce()?)),
            None => None,
        };
        let sealing = Sealing {
            epoch,
            nonce: sealed::random_nonce()?,
            personal,
        };
        SignedRecord::sign_inner(envelope, key, Some(sealing))
    }

    /// [`SignedRecord::sign_sealed`] with given nonces (the published test vectors).
    pub fn sign_sealed_with(
        envelope: Envelope,
        key: &DeviceKey,
        sealing: Sealing<'_>,
    ) -> Result<SignedRecord, RecordError> {
        SignedRecord::sign_inner(envelope, key, Some(sealing))
    }

    fn sign_inner(
        envelope: Envelope,
        key: &DeviceKey,
        seal: Option<Sealing<'_>>,
    ) -> Result<SignedRecord, RecordError> {
        if envelope.author != key.public_key() {
            return Err(RecordError::BadSignature);
        }
        envelope.body.validate()?;
        let payload = encode_payload(&envelope, seal)?;
        let signature = key.sign(&signing_message(envelope.v, &payload));
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
            key_id: seal.map(|s| s.epoch.id),
            personal: seal
                .and_then(|s| s.personal)
                .map(|(elder, _)| Personal::Opened {
                    elder: elder.elder,
                    key_id: elder.key_id,
                }),
        })
    }

    /// Decodes and verifies a record from its bytes: size, encoding, version, signature and
    /// the body's own validation, in that order. A sealed body is [`RecordError::Sealed`]:
    /// use [`SignedRecord::open`] with the device's keys.
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedRecord, RecordError> {
        SignedRecord::open(bytes, &NoKeys)
    }

    /// Decodes and verifies a record, opening a sealed body with `keys`. The signature is
    /// checked before anything is decrypted, so [`RecordError::Sealed`] means a well-signed
    /// record whose key `keys` lacks.
    pub fn open(bytes: &[u8], keys: &dyn EpochKeys) -> Result<SignedRecord, RecordError> {
        let (outer, v1) = OuterRecord::verify_parsed(bytes)?;
        let record = SignedRecord::decode_with(bytes, outer, v1, keys)?;
        record.validate()?;
        Ok(record)
    }

    /// Decodes a record without checking its signature: size, encoding, version and the body's
    /// own validation, opening a sealed body with `keys`. Only for bytes whose signature was
    /// already verified (by the store that admitted them) or is about to be verified in a
    /// batch (`ledger::verify_signatures`).
    pub fn decode_unverified(
        bytes: &[u8],
        keys: &dyn EpochKeys,
    ) -> Result<SignedRecord, RecordError> {
        let outer = OuterRecord::decode(bytes)?;
        let record = SignedRecord::decode_with(bytes, outer, None, keys)?;
        record.validate()?;
        Ok(record)
    }

    /// The body's own validation, except for a record of an erased elder: its personal fields
    /// are gone for good, and what remains was validated by everyone who read it before.
    fn validate(&self) -> Result<(), RecordError> {
        if !matches!(self.personal, Some(Personal::Erased { .. })) {
            self.body().validate()?;
        }
        Ok(())
    }

    /// The envelope from the outer record: the clear or opened body under its header, or the
    /// version-1 envelope (`v1`, when the signature check already parsed it).
    fn decode_with(
        bytes: &[u8],
        outer: OuterRecord,
        v1: Option<Envelope>,
        keys: &dyn EpochKeys,
    ) -> Result<SignedRecord, RecordError> {
        let payload = &bytes[64..];
        let (envelope, personal) = match outer.header {
            None => match v1 {
                Some(envelope) => (envelope, None),
                None => (v1_envelope(payload)?, None),
            },
            Some(header) => {
                let (head, body) = payload.split_at(header::HEADER_LEN);
                match header.key_id {
                    None => (decode_v2(&header, body)?, None),
                    Some(key_id) => {
                        let key = keys.epoch_key(key_id).ok_or(RecordError::Sealed(key_id))?;
                        let plain = sealed::open(head, body, key_id, &key)?;
                        decode_v2_sealed(&header, &plain, keys)?
                    }
                }
            }
        };
        Ok(SignedRecord {
            id: outer.id,
            envelope,
            bytes: bytes.to_vec(),
            key_id: outer.header.and_then(|h| h.key_id),
            personal,
        })
    }

    /// The epoch key the body travels sealed under, if it is sealed.
    pub fn key_id(&self) -> Option<Id> {
        self.key_id
    }

    /// Whether the body's personal fields were sealed under an elder key, and whether they were
    /// opened or the elder was erased (none for a record without them).
    pub fn personal(&self) -> Option<Personal> {
        self.personal
    }

    /// The 64-byte ed25519 signature.
    pub fn signature(&self) -> &SignatureBytes {
        self.bytes.first_chunk::<64>().unwrap_or(&[0; 64])
    }

    /// What the signature covers: the version's signing context followed by the payload.
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(self.envelope.v, self.payload())
    }

    /// The record id: the first 16 bytes of SHA-256 of the payload.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The envelope (author, clock, body, chain position).
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

    /// The record's place in its author's device chain (none for a version-1 record).
    pub fn link(&self) -> Option<ChainLink> {
        self.envelope.link
    }

    /// The stored form: signature then payload.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The payload (what the signature covers, after the context prefix): the canonical
    /// envelope in version 1, header and body in version 2.
    pub fn payload(&self) -> &[u8] {
        &self.bytes[64..]
    }
}

/// What anyone can read and check of a record without opening its body: its id and, for
/// version 2, its header. The relay and a device that lacks a record's key stop here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OuterRecord {
    /// The record id.
    pub id: Id,
    /// The version-2 header (none for a version-1 record, whose payload is all in the clear).
    pub header: Option<Header>,
}

impl OuterRecord {
    /// Size and header, without the signature.
    pub fn decode(bytes: &[u8]) -> Result<OuterRecord, RecordError> {
        if bytes.len() <= 64 || bytes.len() > MAX_RECORD_BYTES {
            return Err(RecordError::Size(bytes.len()));
        }
        let payload = &bytes[64..];
        let header = if header::is_v2(payload) {
            Some(Header::decode(payload)?)
        } else {
            None
        };
        Ok(OuterRecord {
            id: record_id(payload),
            header,
        })
    }

    /// Size, header and signature. For a version-1 record the author is inside the payload,
    /// so the payload is decoded to find it.
    pub fn verify(bytes: &[u8]) -> Result<OuterRecord, RecordError> {
        OuterRecord::verify_parsed(bytes).map(|(outer, _)| outer)
    }

    /// [`OuterRecord::verify`], and the version-1 envelope it parsed on the way, so that
    /// opening the record does not parse it again.
    fn verify_parsed(bytes: &[u8]) -> Result<(OuterRecord, Option<Envelope>), RecordError> {
        let outer = OuterRecord::decode(bytes)?;
        let payload = &bytes[64..];
        let (version, author, v1) = match outer.header {
            Some(header) => (FORMAT_VERSION, header.author, None),
            None => {
                let envelope = v1_envelope(payload)?;
                (V1, envelope.author, Some(envelope))
            }
        };
        let signature = bytes
            .first_chunk::<64>()
            .ok_or(RecordError::Size(bytes.len()))?;
        if !author.verify(&signing_message(version, payload), signature) {
            return Err(RecordError::BadSignature);
        }
        Ok((outer, v1))
    }
}

/// Reads a version-1 payload: the canonical envelope, of version 1.
fn v1_envelope(payload: &[u8]) -> Result<Envelope, RecordError> {
    let envelope: Envelope = from_canonical(payload)?;
    if envelope.v != V1 {
        return Err(RecordError::Version(envelope.v));
    }
    Ok(envelope)
}

/// The id of the record whose payload is `payload`.
pub fn record_id(payload: &[u8]) -> Id {
    let digest = Sha256::digest(payload);
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    Id::from_bytes(id)
}

/// The payload of an envelope in the format of its version, its body sealed under `seal`'s
/// key when given (version-2 care records only).
fn encode_payload(envelope: &Envelope, seal: Option<Sealing<'_>>) -> Result<Vec<u8>, RecordError> {
    match (envelope.v, envelope.link) {
        (V1, None) if seal.is_none() => Ok(to_canonical(envelope)?),
        (V1, None) => Err(RecordError::Seal(
            "a version 1 record cannot be sealed".into(),
        )),
        (V1, Some(_)) => Err(RecordError::Link(V1, "with")),
        (FORMAT_VERSION, Some(link)) => {
            link.check()?;
            let class = RecordClass::of(&envelope.body);
            let plain = to_canonical(&envelope.body)?;
            let body_len = |len: usize| u32::try_from(len).map_err(|_| RecordError::Size(len));
            let mut header = Header {
                class,
                circle: envelope.circle,
                author: envelope.author,
                link,
                hlc: envelope.hlc,
                key_id: None,
                body_len: body_len(plain.len())?,
            };
            let Some(Sealing {
                epoch,
                nonce,
                personal,
            }) = seal
            else {
                let mut payload = header.encode();
                payload.extend_from_slice(&plain);
                return Ok(payload);
            };
            if class != RecordClass::Care {
                return Err(RecordError::Seal(format!(
                    "a {} record travels in the clear",
                    envelope.body.type_name()
                )));
            }
            let plain = match personal {
                None => plain,
                Some((elder, nonce)) => {
                    let mut tree: serde_json::Value = serde_json::from_slice(&plain)
                        .map_err(|e| RecordError::Seal(e.to_string()))?;
                    personal::seal(&mut tree, elder, nonce)?;
                    to_canonical(&tree)?
                }
            };
            let compressed = sealed::compress(&plain)?;
            header.key_id = Some(epoch.id);
            header.body_len = body_len(compressed.len() + sealed::SEAL_OVERHEAD)?;
            let mut payload = header.encode();
            let body = sealed::seal(&payload, &compressed, &epoch.key, nonce)?;
            payload.extend_from_slice(&body);
            Ok(payload)
        }
        (FORMAT_VERSION, None) => Err(RecordError::Link(FORMAT_VERSION, "without")),
        (v, _) => Err(RecordError::Version(v)),
    }
}

/// Reads a version-2 body in the clear under its header.
fn decode_v2(header: &Header, body: &[u8]) -> Result<Envelope, RecordError> {
    envelope_v2(header, from_canonical(body)?)
}

/// Reads an opened sealed body under its header, putting its personal fields back with the
/// elder's key (or leaving them out for good when the elder was erased).
fn decode_v2_sealed(
    header: &Header,
    plain: &[u8],
    keys: &dyn EpochKeys,
) -> Result<(Envelope, Option<Personal>), RecordError> {
    // Most bodies carry no personal part: read them directly, as a body in the clear.
    let quoted = personal::MEMBER_QUOTED;
    if !plain.windows(quoted.len()).any(|w| w == quoted) {
        return Ok((decode_v2(header, plain)?, None));
    }
    let mut tree: serde_json::Value = from_canonical(plain)?;
    let opened = personal::open(&mut tree, keys)?;
    let body: RecordBody = match opened {
        // Whole again: the body must be the one canonical encoding the author signed.
        None | Some(Personal::Opened { .. }) => from_canonical(&to_canonical(&tree)?)?,
        Some(Personal::Erased { .. }) => serde_json::from_value(tree)
            .map_err(|e| RecordError::Encoding(CanonicalError::Shape(e.to_string())))?,
    };
    Ok((envelope_v2(header, body)?, opened))
}

fn envelope_v2(header: &Header, body: RecordBody) -> Result<Envelope, RecordError> {
    let class = RecordClass::of(&body);
    if class != header.class {
        return Err(RecordError::Class(body.type_name(), header.class));
    }
    Ok(Envelope {
        v: FORMAT_VERSION,
        circle: header.circle,
        author: header.author,
        hlc: header.hlc,
        body,
        link: Some(header.link),
    })
}

fn signing_message(version: u32, payload: &[u8]) -> Vec<u8> {
    let context = if version == V1 {
        SIGNING_CONTEXT
    } else {
        SIGNING_CONTEXT_V2
    };
    let mut message = Vec::with_capacity(context.len() + payload.len());
    message.extend_from_slice(context);
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
            link: None,
        }
    }

    /// The version-2 vector published in `docs/record-format.md`: the same service as the
    /// author's third record.
    fn vector_envelope_v2() -> Envelope {
        Envelope {
            v: FORMAT_VERSION,
            link: Some(ChainLink {
                seq: 3,
                prev: Some("00112233445566778899aabbccddeeff".parse().expect("id")),
            }),
            ..vector_envelope()
        }
    }

    /// The sealed vector's epoch key, its record id and the nonce (`docs/record-format.md`).
    fn vector_epoch() -> (EpochSecret, [u8; sealed::NONCE_LEN]) {
        let epoch = EpochSecret {
            id: "8899aabbccddeeff0011223344556677".parse().expect("id"),
            key: [0x42; 32],
        };
        (epoch, [0x24; sealed::NONCE_LEN])
    }

    /// The version-2 vector sealed under the vector's epoch key and nonce, its personal
    /// fields under `personal` when given.
    fn sealed_vector(personal: Option<(&ElderSecret, [u8; sealed::NONCE_LEN])>) -> SignedRecord {
        let (epoch, nonce) = vector_epoch();
        let sealing = Sealing {
            epoch: &epoch,
            nonce,
            personal,
        };
        let key = DeviceKey::from_seed(VECTOR_SEED);
        SignedRecord::sign_sealed_with(vector_envelope_v2(), &key, sealing).expect("sign")
    }

    #[test]
    fn the_published_sealed_vector_holds() {
        let (epoch, _) = vector_epoch();
        let record = sealed_vector(None);
        assert_eq!(hex::encode(record.payload()), VECTOR_SEALED_PAYLOAD_HEX);
        assert_eq!(hex::encode(record.signature()), VECTOR_SEALED_SIGNATURE_HEX);
        let mut keys = Keyring::default();
        assert!(matches!(
            SignedRecord::open(record.as_bytes(), &keys),
            Err(RecordError::Sealed(id)) if id == epoch.id
        ));
        assert!(OuterRecord::verify(record.as_bytes()).is_ok());
        keys.insert(epoch.id, epoch.key);
        let opened = SignedRecord::open(record.as_bytes(), &keys).expect("opens");
        assert_eq!(opened.envelope(), &vector_envelope_v2());
        assert_eq!(opened.key_id(), Some(epoch.id));
        // Another key of the same id does not open it; a changed byte fails the signature.
        keys.insert(epoch.id, [0x43; 32]);
        assert_eq!(
            SignedRecord::open(record.as_bytes(), &keys),
            Err(RecordError::Unopened(epoch.id))
        );
        let mut altered = record.as_bytes().to_vec();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(
            OuterRecord::verify(&altered),
            Err(RecordError::BadSignature)
        );
    }

    /// The personal vector's elder key and the nonce of its personal part.
    fn vector_elder() -> (ElderSecret, [u8; sealed::NONCE_LEN]) {
        let secret = ElderSecret {
            elder: "4c1d0e2f9a8b7c6d5e4f3a2b1c0d9e8f".parse().expect("id"),
            key_id: "f0e1d2c3b4a5968778695a4b3c2d1e0f".parse().expect("id"),
            key: [0x51; 32],
        };
        (secret, [0x35; sealed::NONCE_LEN])
    }

    #[test]
    fn the_published_personal_vector_holds() {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        let (epoch, _) = vector_epoch();
        let (elder, personal_nonce) = vector_elder();
        let record = sealed_vector(Some((&elder, personal_nonce)));
        let entry = elder_key::ElderKeyEntry::make_with_nonce(
            vector_envelope_v2().circle,
            &key,
            &elder,
            &epoch,
            [0x46; sealed::NONCE_LEN],
        )
        .expect("entry");
        assert_eq!(hex::encode(record.payload()), VECTOR_PERSONAL_PAYLOAD_HEX);
        assert_eq!(
            hex::encode(record.signature()),
            VECTOR_PERSONAL_SIGNATURE_HEX
        );
        assert_eq!(hex::encode(entry.as_bytes()), VECTOR_ELDER_KEY_ENTRY_HEX);
        // With the epoch key and the entry (opened by the epoch key), the record is whole.
        let mut keys = Keyring::default();
        keys.insert(epoch.id, epoch.key);
        assert!(matches!(
            SignedRecord::open(record.as_bytes(), &keys),
            Err(RecordError::PersonalSealed { elder: e, key_id: k }) if e == elder.elder && k == elder.key_id
        ));
        let opened_key = elder_key::ElderKeyEntry::decode(entry.as_bytes())
            .expect("entry verifies")
            .open(&epoch.key)
            .expect("entry opens");
        keys.insert_elder(opened_key.key_id, opened_key.key);
        let opened = SignedRecord::open(record.as_bytes(), &keys).expect("opens");
        assert_eq!(opened.envelope(), &vector_envelope_v2());
        // Erased: the record verifies and opens without its diet notes, and nothing else lost.
        let mut erased = Keyring::default();
        erased.insert(epoch.id, epoch.key);
        erased.erase(elder.elder);
        let opened = SignedRecord::open(record.as_bytes(), &erased).expect("opens erased");
        let RecordBody::Service(service) = opened.body() else {
            panic!("a service");
        };
        assert_eq!(
            service.detail,
            ServiceDetail::Meal {
                mode: MealMode::Delivered,
                portions: 1,
                diet_notes: None
            }
        );
        assert_eq!(service.duration_minutes, 45);
    }

    #[test]
    fn only_version_2_care_records_are_sealed() {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        let (epoch, nonce) = vector_epoch();
        assert!(matches!(
            SignedRecord::sign_sealed_with(
                vector_envelope(),
                &key,
                Sealing {
                    epoch: &epoch,
                    nonce,
                    personal: None
                }
            ),
            Err(RecordError::Seal(_))
        ));
        let site = Envelope {
            body: RecordBody::Site(crate::domain::Site {
                site_id: "0123456789abcdef0123456789abcdef".parse().expect("id"),
                kind: crate::domain::SiteKind::Centre,
                name: "龙泉镇".into(),
                parent: None,
            }),
            ..vector_envelope_v2()
        };
        assert!(matches!(
            SignedRecord::sign_sealed_with(
                site,
                &key,
                Sealing {
                    epoch: &epoch,
                    nonce,
                    personal: None
                }
            ),
            Err(RecordError::Seal(_))
        ));
    }

    #[test]
    fn the_published_version_2_vector_holds() {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        let record = SignedRecord::sign(vector_envelope_v2(), &key).expect("sign");
        assert_eq!(hex::encode(record.payload()), VECTOR_V2_PAYLOAD_HEX);
        assert_eq!(record.id().to_string(), VECTOR_V2_ID);
        assert_eq!(hex::encode(&record.as_bytes()[..64]), VECTOR_V2_SIGNATURE);
        let decoded = SignedRecord::from_bytes(record.as_bytes()).expect("verify");
        assert_eq!(decoded.envelope(), &vector_envelope_v2());
        assert_eq!(decoded.link(), vector_envelope_v2().link);
    }

    const VECTOR_V2_PAYLOAD_HEX: &str = "434202010123456789abcdef0123456789abcdefd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a000000000000000300112233445566778899aabbccddeeff000001a199c532800000000000000000000000000000000000000000000001087b2264657461696c223a7b22646965745f6e6f746573223a22e4bd8ee79b90222c226b696e64223a226d65616c222c226d6f6465223a2264656c697665726564222c22706f7274696f6e73223a317d2c226475726174696f6e5f6d696e75746573223a34352c22656c6465725f6964223a223463316430653266396138623763366435653466336132623163306439653866222c2266756e64696e67223a22676f7665726e6d656e74222c2270726f76696465725f6964223a226131623263336434653566363037313832393361346235633664376538663930222c22737461727465645f6d73223a313739333538303030303030302c2274797065223a2273657276696365227d";
    const VECTOR_SEALED_PAYLOAD_HEX: &str = "434202010123456789abcdef0123456789abcdefd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a000000000000000300112233445566778899aabbccddeeff000001a199c53280000000008899aabbccddeeff0011223344556677000000f92424242424242424242424242424242424242424242424248debf8980e2c4c9ba42fbd742297ad613159f1e669f4f10564f79db336a71e72b1272572c465a46343d41951ba0a73de9dfb5b06a9e27adb32ff19cf1eddc9955246eda56213a6b0ed1de8b676067a3bbf83c3a8243f4788421b2794f8f5defe734bd18c2e74faa2ab63992e6e4e690d946a312cadfa30b87090393be1f7a3648679b0547593f6aec4788b3c5e28575f6de8bcd41f491b5dec17f26dfd443c47f9aea15a3b2670eeb5ca40982f1843b8e13120a748ba376ea7477d75eef02e23a6f05ab00fb41fbaf175384e499a6437c4b5b3cb5fedc63828483cdc85adb72ed5";
    const VECTOR_SEALED_SIGNATURE_HEX: &str = "afd440cc5b87e6f6364e7f7ee597d241047042f7b9eb369aaf2a6b174a0b660f9bff8fc162c2e60081fec9deaf2791d487ece5f0593e28198e95b1008d01b70b";
    const VECTOR_PERSONAL_PAYLOAD_HEX: &str = "434202010123456789abcdef0123456789abcdefd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a000000000000000300112233445566778899aabbccddeeff000001a199c53280000000008899aabbccddeeff0011223344556677000001602424242424242424242424242424242424242424242424248debf8980e994cd3ab2f992e4ca82d7b2ceaf21310f8594ccfc5c1b43da5f1c3cf5268ad0f84650925b4bdbb25d71d8c614d11fe34b40fa1296b151eeca1e863a3bc8c5c3d2ae39b770ca066eefe33854206b51eddced532b66c2b0d3b7f829140bdfbba4e1c49a85bc6b278b6e5ad61a99a09f914045cee0dd2e0557eadcdc1ccdf998914d13664d98afdba8ce77e07e8ad15946429f406ae4b4cf3fba8a1dd681fcf61c9505041412b8c84cbe9052440bb12e5cfb9fe3dcec15343ce96e17d8f8a2bb5e3c9276b6c37a30eff664ca3bb329bab765d96121db8f1d51644bb379360adebabbe0dc44cb97df41db84a13eef29534d472456db464a733f1adf37bca66d85dab5a4d29e9943e1365e8186152a719cf0204cad320ffd793c8c32d170ecf7b2dc0fcc59f21803553134a9cbe2bfa0093dda398cb04c9b5fa3eef91a6c33bcd07ddf44314";
    const VECTOR_PERSONAL_SIGNATURE_HEX: &str = "4d38408b9d217c4b73f66b56f8eb56ff736f787642c859bced4a5a3bf9e68954101ecefafce15d0156143408f435d8d62759ef4174e37898ff74403104d8a90f";
    const VECTOR_ELDER_KEY_ENTRY_HEX: &str = "74340a999614a8c5274301b8c97a98a00409aa3d9f9f3e13934ba287fd75c19b77009dfec194839e30de4269297f6dfe0fb543a2820d69b7b39d6142ba495e06434b010123456789abcdef0123456789abcdefd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a4c1d0e2f9a8b7c6d5e4f3a2b1c0d9e8ff0e1d2c3b4a5968778695a4b3c2d1e0f8899aabbccddeeff00112233445566774646464646464646464646464646464646464646464646468a216013ab446bc3587d6dd7d1164e539bd1f81344d29c5a20da0d3675bf390d19a9af9dc8cc61187be4520a8effb38e";
    const VECTOR_V2_ID: &str = "29b64cb5febdc2ece304f47fd0001248";
    const VECTOR_V2_SIGNATURE: &str = "90bc2d714703264f365481fe589c85cc8a8b2a5e411d1730b6aa25905562427d36f350ed9befeca395e36e360bdcf465875f2d722fc0899a1997e53d4bb6f104";

    /// A header's `seq` and clock are held to 2^53 - 1, as every integer of version 1 is: a
    /// larger one would wrap negative in the store's signed columns.
    #[test]
    fn a_version_2_header_beyond_the_integer_bound_is_refused() {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        let beyond = crate::canonical::MAX_SAFE_INTEGER + 1;
        let huge_clock = Envelope {
            hlc: Hlc {
                ms: beyond,
                counter: 0,
            },
            ..vector_envelope_v2()
        };
        let huge_seq = Envelope {
            link: Some(ChainLink {
                seq: beyond,
                prev: Some(Id::from_bytes([1; 16])),
            }),
            ..vector_envelope_v2()
        };
        for (field, envelope) in [("hlc_ms", huge_clock), ("seq", huge_seq)] {
            let record = SignedRecord::sign(envelope, &key).expect("sign");
            assert_eq!(
                SignedRecord::from_bytes(record.as_bytes()),
                Err(RecordError::Header(HeaderError::Range {
                    field,
                    value: beyond
                }))
            );
        }
    }

    #[test]
    fn a_version_2_record_needs_a_well_formed_chain_position() {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        let without = Envelope {
            link: None,
            ..vector_envelope_v2()
        };
        assert_eq!(
            SignedRecord::sign(without, &key),
            Err(RecordError::Link(2, "without"))
        );
        for (seq, prev) in [(0, None), (1, Some(Id::from_bytes([7; 16]))), (2, None)] {
            let malformed = Envelope {
                link: Some(ChainLink { seq, prev }),
                ..vector_envelope_v2()
            };
            assert!(
                matches!(
                    SignedRecord::sign(malformed, &key),
                    Err(RecordError::Header(HeaderError::Chain { .. }))
                ),
                "seq {seq}"
            );
        }
        let v1_with_link = Envelope {
            v: V1,
            ..vector_envelope_v2()
        };
        assert_eq!(
            SignedRecord::sign(v1_with_link, &key),
            Err(RecordError::Link(1, "with"))
        );
    }

    #[test]
    fn a_header_whose_class_is_not_its_bodys_is_refused_even_when_signed() {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        let record = SignedRecord::sign(vector_envelope_v2(), &key).expect("sign");
        let mut payload = record.payload().to_vec();
        payload[3] = RecordClass::Trust as u8;
        let mut bytes = key.sign(&signing_message(2, &payload)).to_vec();
        bytes.extend_from_slice(&payload);
        assert_eq!(
            SignedRecord::from_bytes(&bytes),
            Err(RecordError::Class("service", RecordClass::Trust))
        );
        // A sealed body (a key id set) is named, not misread.
        payload[3] = RecordClass::Care as u8;
        let key_at = header::HEADER_LEN - 20;
        payload[key_at..key_at + 16].copy_from_slice(&[9; 16]);
        let mut bytes = key.sign(&signing_message(2, &payload)).to_vec();
        bytes.extend_from_slice(&payload);
        assert_eq!(
            SignedRecord::from_bytes(&bytes),
            Err(RecordError::Sealed(Id::from_bytes([9; 16])))
        );
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

    /// In either version, flipping any byte of a signed record is caught.
    #[test]
    fn any_change_to_a_signed_record_is_caught() {
        let key = DeviceKey::from_seed(VECTOR_SEED);
        for envelope in [vector_envelope(), vector_envelope_v2()] {
            let record = SignedRecord::sign(envelope, &key).expect("sign");
            let bytes = record.as_bytes();
            for i in 0..bytes.len() {
                let mut altered = bytes.to_vec();
                altered[i] ^= 0x01;
                assert!(
                    SignedRecord::from_bytes(&altered).is_err(),
                    "flipping byte {i} of a version {} record went unnoticed",
                    record.envelope().v
                );
            }
            assert_eq!(
                SignedRecord::from_bytes(&bytes[..64]),
                Err(RecordError::Size(64))
            );
        }
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
        let mut bytes = key.sign(&signing_message(1, &payload)).to_vec();
        bytes.extend_from_slice(&payload);
        assert_eq!(
            SignedRecord::from_bytes(&bytes),
            Err(RecordError::Version(2))
        );
    }
}
