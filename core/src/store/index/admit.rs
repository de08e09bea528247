//! Admitting what a document holds: a value found under a key is a valid signed record of this
//! circle filed in its month's document, or a refusal with its reason. A sealed record whose key
//! this device does not hold yet is admitted as waiting for that key.

use crate::ids::Id;
use crate::record::{EpochKeys, OuterRecord, RecordError, SignedRecord};
use crate::replica::DocId;

/// What a value found in a document turned out to be.
pub(crate) enum Admitted {
    /// A record, opened if it was sealed.
    Record(Box<SignedRecord>),
    /// A signed record of this circle sealed under a key this device does not hold (yet).
    Waiting {
        /// The record's id.
        id: Id,
        /// The key it waits for: the epoch key its body is sealed under, or the elder key of
        /// its personal fields.
        key_id: Id,
        /// The elder whose key it waits for, if it waits for an elder key.
        elder: Option<Id>,
        /// Its clock.
        hlc: crate::hlc::Hlc,
    },
}

/// Checks a value found in a document under `key`: a valid signed record of this circle, whose
/// id is the key and which belongs in this document. The error is the reason to log.
///
/// A sealed record whose key this device does not hold is checked as far as anyone can check
/// it (signature, id, circle, month, from its header) and then waits for its key.
pub(crate) fn admit(
    key: &str,
    bytes: &[u8],
    circle: Id,
    doc_id: &DocId,
    keys: &dyn EpochKeys,
) -> std::result::Result<Admitted, Refusal> {
    let (id, record_circle, hlc, admitted) = match SignedRecord::open(bytes, keys) {
        Ok(record) => (
            record.id(),
            record.envelope().circle,
            record.hlc(),
            Admitted::Record(Box::new(record)),
        ),
        Err(RecordError::Sealed(key_id)) => waiting(bytes, key_id, None)?,
        Err(RecordError::PersonalSealed { elder, key_id }) => waiting(bytes, key_id, Some(elder))?,
        Err(e) => return Err(Refusal::NotARecord(e.to_string())),
    };
    if id.to_string() != key {
        return Err(Refusal::NotARecord(format!(
            "stored under {key} but its id is {id}"
        )));
    }
    if record_circle != circle {
        return Err(Refusal::OtherCircle(record_circle));
    }
    let belongs = DocId::for_hlc(hlc);
    if &belongs != doc_id {
        return Err(Refusal::WrongMonth {
            belongs,
            found: doc_id.clone(),
        });
    }
    Ok(admitted)
}

/// A well-signed record that waits for `key_id`: `open` checked its size, header and signature
/// before it found the key missing, so only the header is read again here.
fn waiting(
    bytes: &[u8],
    key_id: Id,
    elder: Option<Id>,
) -> std::result::Result<(Id, Id, crate::hlc::Hlc, Admitted), Refusal> {
    let outer = OuterRecord::decode(bytes).map_err(|e| Refusal::NotARecord(e.to_string()))?;
    let header = outer
        .header
        .ok_or_else(|| Refusal::NotARecord("a sealed record without a header".into()))?;
    let admitted = Admitted::Waiting {
        id: outer.id,
        key_id,
        elder,
        hlc: header.hlc,
    };
    Ok((outer.id, header.circle, header.hlc, admitted))
}

/// Why a value found in a document is not admitted as a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a signed record (not bytes, a bad encoding or signature, or under another id).
    NotARecord(String),
    /// A record of another circle.
    OtherCircle(Id),
    /// A record filed in the document of another month than its clock's.
    WrongMonth {
        /// The document it belongs in.
        belongs: DocId,
        /// The document it was found in.
        found: DocId,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotARecord(reason) => f.write_str(reason),
            Refusal::OtherCircle(circle) => write!(f, "belongs to circle {circle}"),
            Refusal::WrongMonth { belongs, found } => write!(
                f,
                "belongs in {}, found in {}",
                belongs.as_str(),
                found.as_str()
            ),
        }
    }
}
