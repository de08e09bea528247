//! Saved Automerge bytes taken in one chunk at a time.
//!
//! A stored document is a snapshot followed by incremental chunks, and what a peer sends is a
//! bundle of changes: Automerge accepts any run of chunks, but it applies all the changes
//! of one call as a batch, and its batch apply (automerge 0.12) allocates a copy of the
//! document's op columns for every change it splices in and keeps them: a month document of
//! 7,858 records loaded from its snapshot and 243 later chunks held 370 MB, where the same
//! chunks applied one at a time held 32 MB, in the same time. So the replica splits the bytes
//! at the chunk headers of Automerge's binary format (4 magic bytes, a 4-byte checksum, a
//! chunk-type byte, the length as unsigned LEB128, then that many bytes) and applies each change
//! on its own (a bundle's and a later snapshot's changes too). Bytes that do not split cleanly are handed to Automerge whole, as before, so its
//! errors stay what they were.

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

/// Applies one chunk to `doc`, change by change; `false` when the chunk does not decode (and
/// `doc` is unchanged).
fn apply_piece(doc: &mut AutoCommit, piece: &[u8]) -> Result<bool, AutomergeError> {
    let changes = match piece[8] {
        t if CHANGE.contains(&t) => match Change::from_bytes(piece.to_vec()) {
            Ok(change) => vec![change],
            Err(_) => return Ok(false),
        },
        BUNDLE => match Bundle::try_from(piece).map(|b| b.to_changes()) {
            Ok(Ok(changes)) => changes,
            _ => return Ok(false),
        },
        DOCUMENT => {
            let Ok(mut loaded) = AutoCommit::load(piece) else {
                return Ok(false);
            };
            if doc.get_heads().is_empty() {
                let actor = doc.get_actor().clone();
                *doc = loaded.with_actor(actor);
                return Ok(true);
            }
            doc.get_changes_added(&mut loaded)
        }
        _ => return Ok(false),
    };
    for change in changes {
        doc.apply_changes([change])?;
    }
    Ok(true)
}

/// Loads saved bytes (a snapshot and/or chunks, concatenated) as strictly as
/// `AutoCommit::load`: bytes with a chunk that does not load fail as they fail there.
pub(super) fn load(bytes: &[u8]) -> Result<AutoCommit, AutomergeError> {
    let Some(pieces) = split(bytes) else {
        return AutoCommit::load(bytes);
    };
    let mut doc = AutoCommit::new();
    for piece in pieces {
        if !apply_piece(&mut doc, piece)? {
            return AutoCommit::load(bytes);
        }
    }
    Ok(doc)
}

/// Adds saved bytes or sent changes to `doc` as `AutoCommit::load_incremental` does, one
/// chunk at a time (a chunk that does not decode is given to Automerge as it stands).
pub(super) fn load_incremental(doc: &mut AutoCommit, bytes: &[u8]) -> Result<(), AutomergeError> {
    let Some(pieces) = split(bytes) else {
        doc.load_incremental(bytes)?;
        return Ok(());
    };
    for piece in pieces {
        if !apply_piece(doc, piece)? {
            doc.load_incremental(piece)?;
        }
    }
    Ok(())
}

/// Applies every change of `theirs` that `doc` lacks, one at a time.
pub(super) fn merge(doc: &mut AutoCommit, theirs: &mut AutoCommit) -> Result<(), AutomergeError> {
    for change in doc.get_changes_added(theirs) {
        doc.apply_changes([change])?;
    }
    Ok(())
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
            doc.put(ROOT, format!("k{i}"), vec![i as u8; 64]).expect("put");
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
    fn chunks_loaded_one_at_a_time_make_the_same_document() {
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
        merge(&mut merged, &mut loaded).expect("merge");
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
