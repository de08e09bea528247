//! Saved Automerge bytes applied a few changes at a time.
//!
//! A stored document is a snapshot followed by incremental chunks, and what a peer sends is a
//! bundle of changes. Automerge accepts either whole, but it applies all the changes of one
//! call as one batch, and its batch apply (automerge 0.12) costs memory that grows with the
//! batch times the document and keeps it: a month document of 7,858 records loaded from its
//! snapshot and 243 later chunks held 381 MB. Applying one change a call holds no more than
//! the document but costs a pass over it each call (the same month built change by change took
//! 40 s). Between the two, calls of [`GROUP`] changes (measured on that month, release build:
//! the 243 chunks in 0.42 s holding 68 MB; the month built from nothing in 4.0 s holding
//! 34 MB). So the replica splits the bytes at the chunk headers of Automerge's binary format
//! (4 magic bytes, a 4-byte checksum, a chunk-type byte, the length as unsigned LEB128, then
//! that many bytes) and applies their changes in groups. A snapshot into an empty document is
//! loaded as it stands, the cheapest way by far (0.1 s for that month). Bytes that do not
//! split cleanly, or a chunk that does not decode, go to Automerge as before, so its errors
//! stay what they were.

use automerge::{AutoCommit, AutomergeError, Bundle, Change};

/// The magic bytes that open every Automerge chunk.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk type of a document (a snapshot holding many changes).
const DOCUMENT: u8 = 0;
/// The chunk types of one change, plain and compressed.
const CHANGE: [u8; 2] = [1, 2];
/// The chunk type of a bundle (several changes, as a sync part carries them).
const BUNDLE: u8 = 3;

/// `bytes` cut at its chunk boundaries, or `None` when it is not a run of whole chunks.
fn split(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut pieces = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = rest.get(..9)?;
        if header[..4] != MAGIC {
            return None;
        }
        let mut after_type = &rest[9..];
        let len = usize::try_from(leb128::read::unsigned(&mut after_type).ok()?).ok()?;
        let header_len = rest.len() - after_type.len();
        let end = header_len.checked_add(len)?;
        pieces.push(rest.get(..end)?);
        rest = &rest[end..];
    }
    Some(pieces)
}

/// How many changes one call to Automerge applies (see the module's documentation).
const GROUP: usize = 32;

/// What a piece holds: its changes, or a document to load whole; `None` when it does not
/// decode.
enum Piece {
    Changes(Vec<Change>),
    Document(Box<AutoCommit>),
}

fn decode(piece: &[u8]) -> Option<Piece> {
    match piece[8] {
        t if CHANGE.contains(&t) => Change::from_bytes(piece.to_vec())
            .ok()
            .map(|c| Piece::Changes(vec![c])),
        BUNDLE => Bundle::try_from(piece)
            .ok()?
            .to_changes()
            .ok()
            .map(Piece::Changes),
        DOCUMENT => AutoCommit::load(piece)
            .ok()
            .map(|d| Piece::Document(Box::new(d))),
        _ => None,
    }
}

/// Changes waiting to be applied to a document, [`GROUP`] at a time.
struct Applier<'a> {
    doc: &'a mut AutoCommit,
    pending: Vec<Change>,
}

impl<'a> Applier<'a> {
    fn new(doc: &'a mut AutoCommit) -> Self {
        Applier {
            doc,
            pending: Vec::new(),
        }
    }

    fn add(&mut self, piece: Piece) -> Result<(), AutomergeError> {
        match piece {
            Piece::Changes(changes) => {
                for change in changes {
                    self.pending.push(change);
                    if self.pending.len() == GROUP {
                        self.flush()?;
                    }
                }
            }
            Piece::Document(mut loaded) => {
                self.flush()?;
                if self.doc.get_heads().is_empty() {
                    let actor = self.doc.get_actor().clone();
                    *self.doc = (*loaded).with_actor(actor);
                } else {
                    let changes = self.doc.get_changes_added(&mut loaded);
                    self.add(Piece::Changes(changes))?;
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), AutomergeError> {
        if !self.pending.is_empty() {
            self.doc.apply_changes(std::mem::take(&mut self.pending))?;
        }
        Ok(())
    }
}

/// Loads saved bytes (a snapshot and/or chunks, concatenated) as strictly as
/// `AutoCommit::load`: bytes with a chunk that does not decode fail as they fail there.
pub(super) fn load(bytes: &[u8]) -> Result<AutoCommit, AutomergeError> {
    let Some(pieces) = split(bytes) else {
        return AutoCommit::load(bytes);
    };
    let Some(decoded) = pieces.into_iter().map(decode).collect::<Option<Vec<_>>>() else {
        return AutoCommit::load(bytes);
    };
    let mut doc = AutoCommit::new();
    let mut applier = Applier::new(&mut doc);
    for piece in decoded {
        applier.add(piece)?;
    }
    applier.flush()?;
    Ok(doc)
}

/// Adds saved bytes or sent changes to `doc` as `AutoCommit::load_incremental` does, a group
/// of changes at a time (a chunk that does not decode is given to Automerge as it stands).
pub(super) fn load_incremental(doc: &mut AutoCommit, bytes: &[u8]) -> Result<(), AutomergeError> {
    let Some(pieces) = split(bytes) else {
        doc.load_incremental(bytes)?;
        return Ok(());
    };
    let mut applier = Applier::new(doc);
    for piece in pieces {
        match decode(piece) {
            Some(decoded) => applier.add(decoded)?,
            None => {
                applier.flush()?;
                applier.doc.load_incremental(piece)?;
            }
        }
    }
    applier.flush()
}

/// Merges saved bytes (loaded as strictly as [`load`]) into `doc`: an empty `doc` becomes the
/// loaded document, otherwise the changes it lacks are applied a group at a time. Bytes that do
/// not load change nothing.
pub(super) fn merge(doc: &mut AutoCommit, bytes: &[u8]) -> Result<(), AutomergeError> {
    let theirs = load(bytes)?;
    let mut applier = Applier::new(doc);
    applier.add(Piece::Document(Box::new(theirs)))?;
    applier.flush()
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};

    use super::*;

    /// A document of `n` keys, each written and saved as its own incremental chunk after a
    /// snapshot of the first: the shape of a stored month.
    fn chunked(n: usize) -> (AutoCommit, Vec<u8>) {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "k0", vec![0u8; 64]).expect("put");
        let mut bytes = doc.save();
        for i in 1..n {
            doc.put(ROOT, format!("k{i}"), vec![i as u8; 64])
                .expect("put");
            bytes.extend(doc.save_incremental());
        }
        (doc, bytes)
    }

    #[test]
    fn a_run_of_chunks_splits_at_every_header_and_nowhere_else() {
        let (_, bytes) = chunked(5);
        let pieces = split(&bytes).expect("whole chunks");
        assert_eq!(pieces.len(), 5);
        assert_eq!(pieces.concat(), bytes);
        assert_eq!(pieces[0][8], DOCUMENT);
        assert!(pieces[1..].iter().all(|p| CHANGE.contains(&p[8])));
    }

    #[test]
    fn bytes_that_are_not_whole_chunks_do_not_split() {
        let (_, bytes) = chunked(3);
        assert!(split(&bytes[..bytes.len() - 1]).is_none(), "a cut chunk");
        assert!(split(b"not automerge at all").is_none());
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(&MAGIC);
        assert!(split(&trailing).is_none(), "a header cut short");
        assert_eq!(split(&[]).expect("nothing"), Vec::<&[u8]>::new());
    }

    #[test]
    fn chunks_loaded_a_group_at_a_time_make_the_same_document() {
        let (mut doc, bytes) = chunked(40);
        let mut loaded = load(&bytes).expect("load");
        assert_eq!(loaded.get_heads(), doc.get_heads());
        assert_eq!(loaded.length(ROOT), 40);
        let mut incremental = AutoCommit::new();
        load_incremental(&mut incremental, &bytes).expect("incremental");
        assert_eq!(incremental.get_heads(), doc.get_heads());
        let hashes: Vec<_> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let bundle = doc.bundle(hashes).expect("bundle");
        let mut from_bundle = AutoCommit::new();
        load_incremental(&mut from_bundle, bundle.bytes()).expect("bundle");
        assert_eq!(from_bundle.get_heads(), doc.get_heads());
        let mut merged = AutoCommit::new();
        merged.put(ROOT, "mine", 1).expect("put");
        merge(&mut merged, &bytes).expect("merge");
        assert_eq!(merged.length(ROOT), 41);
    }

    #[test]
    fn a_damaged_chunk_fails_the_strict_load_as_automerge_does() {
        let (_, mut bytes) = chunked(4);
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(split(&bytes).is_some(), "the framing is intact");
        assert!(load(&bytes).is_err(), "the checksum is not");
        assert!(AutoCommit::load(&bytes).is_err());
    }
}
