//! What a hostile party makes of bytes it carries: a bit flipped where it changes their meaning,
//! records altered so that only their signature can tell, and Automerge documents of records it
//! chose (altered copies to slip in, or real records with some left out to withhold).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ScalarValue};
use carebank_core::record::{NoKeys, OuterRecord, SignedRecord, record_id};
use carebank_core::replica::DocId;
use carebank_core::sync::Message;

use super::Hostility;
use crate::Result;

/// How many flips are tried before giving up on one that changes what the bytes mean.
const FLIP_TRIES: usize = 64;

/// A document holding each record (signed bytes) under its key, written by a new Automerge actor
/// of the forger's own: what a relay or a phone can make of records it holds.
pub fn document(records: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut doc = AutoCommit::new();
    for (key, bytes) in records {
        doc.put(ROOT, key.as_str(), ScalarValue::Bytes(bytes.clone()))?;
    }
    Ok(doc.save())
}

/// The document a record (signed bytes) belongs in.
pub fn doc_of(record: &[u8]) -> Option<DocId> {
    OuterRecord::decode(record)
        .ok()
        .and_then(|r| r.header)
        .map(|h| DocId::for_hlc(h.hlc))
        .or_else(|| {
            SignedRecord::decode_unverified(record, &NoKeys)
                .ok()
                .map(|r| DocId::for_hlc(r.hlc()))
        })
}

/// The key a record is filed under: its id.
pub fn key_of(record: &[u8]) -> String {
    record_id(record.get(64..).unwrap_or_default()).to_string()
}

impl Hostility {
    /// `bytes` with one bit flipped (in the first five, the header, a quarter of the time) such
    /// that `decode` no longer gives what it gave before (a flip that decodes the same, say a
    /// zstd window bit, alters nothing). None if no such flip was found.
    pub fn flip<T: PartialEq>(
        &mut self,
        bytes: &[u8],
        decode: impl Fn(&[u8]) -> Option<T>,
    ) -> Option<Vec<u8>> {
        let before = decode(bytes);
        let len = bytes.len() as u64;
        for _ in 0..FLIP_TRIES {
            let span = if self.rng.chance(25) { len.min(5) } else { len };
            let i = self.rng.below(span) as usize;
            let mut flipped = bytes.to_vec();
            flipped[i] ^= 1 << self.rng.below(8);
            if decode(&flipped) != before {
                self.counts.flipped += 1;
                return Some(flipped);
            }
        }
        None
    }

    /// The sync message `message` (a `Changes` reply) with an altered copy of a record seen
    /// before slipped into the changes of one of its documents; None when it carries no
    /// document, or no record seen belongs in one.
    pub fn forge(&mut self, message: &[u8]) -> Option<Vec<u8>> {
        let Ok(Message::Changes { mut docs, keys }) = Message::decode(message) else {
            return None;
        };
        let fitting: Vec<(usize, Vec<u8>)> = self
            .records
            .iter()
            .filter_map(|r| {
                let doc = doc_of(r)?;
                let at = docs.iter().position(|d| d.doc == doc)?;
                Some((at, r.clone()))
            })
            .collect();
        if fitting.is_empty() {
            return None;
        }
        let (at, record) = fitting[self.rng.below(fitting.len() as u64) as usize].clone();
        let mut altered = self.alter_record(&record);
        for _ in 0..FLIP_TRIES {
            if !self.forged.contains(&altered.1) {
                break;
            }
            altered = self.alter_record(&record);
        }
        if self.forged.contains(&altered.1) {
            return None;
        }
        self.forged.push(altered.1.clone());
        docs[at].changes.extend(document(&[altered]).ok()?);
        self.counts.forged += 1;
        Message::Changes { docs, keys }.encode().ok()
    }

    /// A copy of `record` with one bit changed, and the key it is filed under: a bit of the
    /// signature (under the record's own key), or the lowest bit of a digit in the payload, so
    /// that the payload still reads and only the signature can tell (under the record's own key,
    /// or under the altered payload's id, as a new record).
    fn alter_record(&mut self, record: &[u8]) -> (String, Vec<u8>) {
        let mut altered = record.to_vec();
        let digits: Vec<usize> = (64..record.len())
            .filter(|&i| record[i].is_ascii_digit())
            .collect();
        let choice = if digits.is_empty() {
            0
        } else {
            self.rng.below(3)
        };
        if choice == 0 {
            altered[self.rng.below(64) as usize] ^= 1 << self.rng.below(8);
            return (key_of(record), altered);
        }
        altered[digits[self.rng.below(digits.len() as u64) as usize]] ^= 1;
        let key = if choice == 1 {
            key_of(record)
        } else {
            key_of(&altered)
        };
        (key, altered)
    }
}
