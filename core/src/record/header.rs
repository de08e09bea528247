//! The binary header of a version-2 record (decision 0014, `docs/record-format.md`): what every
//! holder, the relay included, can read without the body — class, circle, author, the author's
//! chain position, clock and the key the body is sealed under.

use crate::canonical::MAX_SAFE_INTEGER;
use crate::domain::RecordBody;
use crate::hlc::Hlc;
use crate::identity::PublicKey;
use crate::ids::Id;

/// The first two bytes of every version-2 header.
pub const MAGIC: &[u8; 2] = b"CB";
/// The header's length in bytes.
pub const HEADER_LEN: usize = 2 + 1 + 1 + 16 + 32 + 8 + 16 + 8 + 4 + 16 + 4;

/// What a record is for, which decides who may read its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordClass {
    /// Sites, enrolments, revocations, the time bank's rules: what decides who may sync. Its
    /// body is never sealed.
    Trust = 0,
    /// Elders, visits, services, corrections, ledger entries: sealed for the circle once the
    /// circle has an epoch key (until then `key_id` is zero and the body is in the clear).
    Care = 1,
}

impl RecordClass {
    /// The class a body belongs to.
    pub fn of(body: &RecordBody) -> RecordClass {
        match body {
            RecordBody::Site(_)
            | RecordBody::Enrolment(_)
            | RecordBody::Revocation(_)
            | RecordBody::LedgerRules(_)
            | RecordBody::EpochKey(_)
            | RecordBody::KeyGrant(_)
            | RecordBody::Erasure(_)
            | RecordBody::MonthClose(_) => RecordClass::Trust,
            RecordBody::Elder(_)
            | RecordBody::Visit(_)
            | RecordBody::FollowUpDone(_)
            | RecordBody::Service(_)
            | RecordBody::Correction(_)
            | RecordBody::Ledger(_)
            | RecordBody::MemberProfile(_)
            | RecordBody::AccessLog(_)
            | RecordBody::Consent(_) => RecordClass::Care,
        }
    }

    fn from_byte(byte: u8) -> Option<RecordClass> {
        match byte {
            0 => Some(RecordClass::Trust),
            1 => Some(RecordClass::Care),
            _ => None,
        }
    }
}

/// A record's place in its author's device chain: the `seq`-th record the device signed, and
/// the id of the one before it (none for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainLink {
    /// 1 for a device's first version-2 record, one more for each next.
    pub seq: u64,
    /// The id of the author's record at `seq - 1`; `None` at `seq` 1.
    pub prev: Option<Id>,
}

impl ChainLink {
    /// The link of a device's first record.
    pub const FIRST: ChainLink = ChainLink { seq: 1, prev: None };

    /// The link of the record after `id`, which sits at `seq`.
    pub fn after(seq: u64, id: Id) -> ChainLink {
        ChainLink {
            seq: seq.saturating_add(1),
            prev: Some(id),
        }
    }

    /// A link is well formed when `seq` is at least 1 and `prev` is absent exactly at 1.
    pub fn is_well_formed(&self) -> bool {
        self.seq >= 1 && (self.seq == 1) == self.prev.is_none()
    }

    /// [`ChainLink::is_well_formed`], as the error a header gives when it is not.
    pub fn check(&self) -> Result<(), HeaderError> {
        if self.is_well_formed() {
            return Ok(());
        }
        Err(HeaderError::Chain {
            seq: self.seq,
            prev: if self.prev.is_some() { "named" } else { "none" },
        })
    }
}

/// The fields of a version-2 header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The record's class.
    pub class: RecordClass,
    /// The circle it belongs to.
    pub circle: Id,
    /// The signing device.
    pub author: PublicKey,
    /// Its place in the author's chain.
    pub link: ChainLink,
    /// The author's clock.
    pub hlc: Hlc,
    /// The key the body is sealed under; `None` (zeros) for a body in the clear.
    pub key_id: Option<Id>,
    /// The body's length in bytes.
    pub body_len: u32,
}

/// Why bytes are not a version-2 header.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer bytes than a header.
    #[error("record header: {0} bytes, a header is {HEADER_LEN}")]
    Short(usize),
    /// The class byte names no class this build knows.
    #[error("record header: unknown class {0}")]
    Class(u8),
    /// `seq` is 0, or `prev` is zero after the first record, or set on the first.
    #[error("record header: chain position {seq} with previous record {prev}")]
    Chain {
        /// The sequence number read.
        seq: u64,
        /// Whether a previous record was named.
        prev: &'static str,
    },
    /// `seq` or the clock beyond 2^53 − 1, the bound of every integer in a record (as in
    /// version 1's canonical JSON), so that stores and other readers hold them exactly.
    #[error("record header: {field} {value} is beyond 2^53 - 1")]
    Range {
        /// `seq` or `hlc_ms`.
        field: &'static str,
        /// The value read.
        value: u64,
    },
    /// A key named in a record of a class whose body travels in the clear.
    #[error("record header: a class {0:?} record names a key, but only care records are sealed")]
    SealedOutsideCare(RecordClass),
    /// `body_len` disagrees with the bytes that follow.
    #[error("record header: body length {said}, found {found}")]
    BodyLength {
        /// The length the header gives.
        said: u32,
        /// The bytes that follow it.
        found: usize,
    },
}

impl Header {
    /// The header's bytes (integers big-endian).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.push(2);
        out.push(self.class as u8);
        out.extend_from_slice(self.circle.as_bytes());
        out.extend_from_slice(self.author.as_bytes());
        out.extend_from_slice(&self.link.seq.to_be_bytes());
        out.extend_from_slice(&id_or_zeros(self.link.prev));
        out.extend_from_slice(&self.hlc.ms.to_be_bytes());
        out.extend_from_slice(&self.hlc.counter.to_be_bytes());
        out.extend_from_slice(&id_or_zeros(self.key_id));
        out.extend_from_slice(&self.body_len.to_be_bytes());
        out
    }

    /// Reads a header from the start of `payload` (which must begin with [`MAGIC`] and version
    /// 2: the caller has looked) and checks that the body after it has the length it gives.
    pub fn decode(payload: &[u8]) -> Result<Header, HeaderError> {
        let mut r = Reader(payload.get(4..).ok_or(HeaderError::Short(payload.len()))?);
        if payload.len() < HEADER_LEN {
            return Err(HeaderError::Short(payload.len()));
        }
        let class = RecordClass::from_byte(payload[3]).ok_or(HeaderError::Class(payload[3]))?;
        let circle = Id::from_bytes(r.take());
        let author = PublicKey::from_bytes(r.take());
        let seq = u64::from_be_bytes(r.take());
        let prev = zeros_or_id(r.take());
        let ms = u64::from_be_bytes(r.take());
        let counter = u32::from_be_bytes(r.take());
        let key_id = zeros_or_id(r.take());
        let body_len = u32::from_be_bytes(r.take());
        for (field, value) in [("seq", seq), ("hlc_ms", ms)] {
            if value > MAX_SAFE_INTEGER {
                return Err(HeaderError::Range { field, value });
            }
        }
        let link = ChainLink { seq, prev };
        link.check()?;
        if key_id.is_some() && class != RecordClass::Care {
            return Err(HeaderError::SealedOutsideCare(class));
        }
        let found = payload.len() - HEADER_LEN;
        if usize::try_from(body_len).ok() != Some(found) {
            return Err(HeaderError::BodyLength {
                said: body_len,
                found,
            });
        }
        Ok(Header {
            class,
            circle,
            author,
            link,
            hlc: Hlc { ms, counter },
            key_id,
            body_len,
        })
    }
}

/// Whether `payload` starts like a version-2 record (version 1 starts with `{`).
pub fn is_v2(payload: &[u8]) -> bool {
    payload.starts_with(MAGIC) && payload.get(2) == Some(&2)
}

fn id_or_zeros(id: Option<Id>) -> [u8; 16] {
    id.map_or([0; 16], |id| *id.as_bytes())
}

fn zeros_or_id(bytes: [u8; 16]) -> Option<Id> {
    (bytes != [0; 16]).then_some(Id::from_bytes(bytes))
}

/// Reads fixed-size fields from a slice already known to be long enough.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some((head, rest)) = self.0.split_first_chunk::<N>() {
            out = *head;
            self.0 = rest;
        }
        out
    }
}
