//! The byte-level encoding shared by sync messages and bundle files: a 5-byte header
//! (`magic[3] ‖ version ‖ kind`) then one zstd frame (with its content checksum) holding the
//! kind again and the body. Bodies are built from unsigned LEB128 varints, fixed-size byte strings and
//! length-prefixed byte strings; `docs/sync-protocol.md` gives the layout of each.

use std::io::Read;

use automerge::ChangeHash;

use super::SyncError;
use crate::ids::Id;
use crate::replica::DocId;

/// The largest body accepted once decompressed (a guard against decompression bombs).
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
/// The zstd level messages are compressed with.
const ZSTD_LEVEL: i32 = 9;

/// Wraps `body` in a header and a checksummed zstd frame.
pub fn seal(magic: &[u8; 3], version: u8, kind: u8, body: &[u8]) -> Result<Vec<u8>, SyncError> {
    let mut out = Vec::with_capacity(body.len() / 3 + 16);
    out.extend_from_slice(magic);
    out.push(version);
    out.push(kind);
    let mut encoder = zstd::stream::Encoder::new(out, ZSTD_LEVEL)
        .map_err(|e| SyncError::Internal(format!("zstd: {e}")))?;
    // The size is pledged (not written in the frame): zstd then sizes its tables to the body,
    // which for the many small messages costs far less than the level's full-size tables.
    encoder
        .include_checksum(true)
        .and_then(|()| encoder.include_contentsize(false))
        .and_then(|()| encoder.set_pledged_src_size(Some(1 + body.len() as u64)))
        .map_err(|e| SyncError::Internal(format!("zstd: {e}")))?;
    // The kind is repeated inside the checksummed frame, so a damaged header is caught too.
    std::io::Write::write_all(&mut encoder, &[kind])
        .and_then(|()| std::io::Write::write_all(&mut encoder, body))
        .map_err(|e| SyncError::Internal(format!("zstd: {e}")))?;
    encoder
        .finish()
        .map_err(|e| SyncError::Internal(format!("zstd: {e}")))
}

/// Checks the header and decompresses the body; returns `(kind, body)`.
pub fn open(bytes: &[u8], magic: &[u8; 3], version: u8) -> Result<(u8, Vec<u8>), SyncError> {
    if bytes.len() < 5 {
        return Err(SyncError::Malformed(format!(
            "{} bytes is shorter than the 5-byte header",
            bytes.len()
        )));
    }
    if &bytes[..3] != magic {
        return Err(SyncError::Malformed("wrong magic bytes".into()));
    }
    if bytes[3] != version {
        return Err(SyncError::Version(bytes[3]));
    }
    let kind = bytes[4];
    check_frame_header(&bytes[5..])?;
    let mut decoder = zstd::stream::Decoder::new(&bytes[5..])
        .map_err(|e| SyncError::Malformed(format!("compressed body: {e}")))?
        .single_frame();
    let mut body = Vec::new();
    (&mut decoder)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| SyncError::Malformed(format!("compressed body: {e}")))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(SyncError::TooLarge(body.len()));
    }
    // Anything after the one frame is not ours.
    let mut rest = [0u8; 1];
    if decoder.finish().read(&mut rest).unwrap_or(0) > 0 {
        return Err(SyncError::Malformed(
            "bytes after the compressed body".into(),
        ));
    }
    if body.first() != Some(&kind) {
        return Err(SyncError::Malformed(
            "the message kind in the header does not match the body".into(),
        ));
    }
    body.remove(0);
    Ok((kind, body))
}

/// The first bytes of every zstd frame (RFC 8878 §3.1.1), little-endian 0xFD2FB528.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The frame header descriptor's `Content_Checksum_flag` (RFC 8878 §3.1.1.1.1).
const ZSTD_CHECKSUM_FLAG: u8 = 0x04;

/// Refuses what is not a zstd frame carrying its content checksum: the checksum is what
/// catches a damaged body, and a frame without one would be decoded unchecked.
fn check_frame_header(frame: &[u8]) -> Result<(), SyncError> {
    match frame {
        [m0, m1, m2, m3, descriptor, ..] if [*m0, *m1, *m2, *m3] == ZSTD_MAGIC => {
            if descriptor & ZSTD_CHECKSUM_FLAG == 0 {
                Err(SyncError::Malformed(
                    "compressed body: the zstd frame carries no content checksum".into(),
                ))
            } else {
                Ok(())
            }
        }
        _ => Err(SyncError::Malformed(
            "compressed body: not a zstd frame".into(),
        )),
    }
}

/// Appends body fields.
#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    /// The encoded body.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
    /// An unsigned LEB128 varint.
    pub fn uint(&mut self, mut n: u64) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }
    /// Fixed-size bytes, written as they are.
    pub fn fixed(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.uint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }
    /// A circle or record id (16 bytes).
    pub fn id(&mut self, id: Id) {
        self.fixed(id.as_bytes());
    }
    /// A document name, length-prefixed UTF-8.
    pub fn doc_id(&mut self, doc: &DocId) {
        self.bytes(doc.as_str().as_bytes());
    }
    /// A list of change hashes: a count then 32 bytes each.
    pub fn heads(&mut self, heads: &[ChangeHash]) {
        self.uint(heads.len() as u64);
        for h in heads {
            self.fixed(&h.0);
        }
    }
}

/// Reads body fields, failing with a clear error at the first thing that does not fit.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    fn truncated(&self, what: &str) -> SyncError {
        SyncError::Malformed(format!("truncated at byte {} reading {what}", self.pos))
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    pub fn uint(&mut self, what: &str) -> Result<u64, SyncError> {
        let mut n: u64 = 0;
        for shift in (0..70).step_by(7) {
            let byte = *self
                .bytes
                .get(self.pos)
                .ok_or_else(|| self.truncated(what))?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                break;
            }
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(SyncError::Malformed(format!("{what}: varint too long")))
    }

    /// A count of items, each at least `min_item` bytes, that must fit in what is left.
    pub fn count(&mut self, what: &str, min_item: usize) -> Result<usize, SyncError> {
        let n = self.uint(what)?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(min_item.max(1) as u64) > left {
            return Err(SyncError::Malformed(format!(
                "{what}: {n} items cannot fit in the {left} bytes left"
            )));
        }
        Ok(n as usize)
    }

    /// `n` bytes as they are.
    pub fn fixed(&mut self, n: usize, what: &str) -> Result<&'a [u8], SyncError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.truncated(what))?;
        let out = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.truncated(what))?;
        self.pos = end;
        Ok(out)
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, what: &str) -> Result<&'a [u8], SyncError> {
        let n = self.count(what, 1)?;
        self.fixed(n, what)
    }

    /// A 16-byte id.
    pub fn id(&mut self, what: &str) -> Result<Id, SyncError> {
        let raw = self.fixed(16, what)?;
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(raw);
        Ok(Id::from_bytes(bytes))
    }

    /// A document name, which must be `records/YYYY-MM`.
    pub fn doc_id(&mut self) -> Result<DocId, SyncError> {
        let raw = self.bytes("document name")?;
        std::str::from_utf8(raw)
            .ok()
            .and_then(DocId::parse)
            .ok_or_else(|| {
                SyncError::Malformed(format!(
                    "{:?} is not a document name",
                    String::from_utf8_lossy(raw)
                ))
            })
    }

    /// A list of change hashes.
    pub fn heads(&mut self) -> Result<Vec<ChangeHash>, SyncError> {
        let n = self.count("heads", 32)?;
        (0..n)
            .map(|_| {
                let raw = self.fixed(32, "a change hash")?;
                let mut hash = [0u8; 32];
                hash.copy_from_slice(raw);
                Ok(ChangeHash(hash))
            })
            .collect()
    }

    /// Whether every byte was read (an optional field at the end is absent).
    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), SyncError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(SyncError::Malformed(format!(
                "{} unexpected bytes after the body",
                self.bytes.len() - self.pos
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message as `seal` writes it, but whose zstd frame has no content checksum.
    fn sealed_without_checksum(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = b"CBS".to_vec();
        out.extend_from_slice(&[1, kind]);
        let mut encoder = zstd::stream::Encoder::new(out, ZSTD_LEVEL).expect("encoder");
        encoder.include_checksum(false).expect("no checksum");
        std::io::Write::write_all(&mut encoder, &[kind]).expect("kind");
        std::io::Write::write_all(&mut encoder, body).expect("body");
        encoder.finish().expect("frame")
    }

    #[test]
    fn a_frame_without_its_content_checksum_is_refused() {
        let sealed = seal(b"CBS", 1, 2, b"body").expect("seal");
        assert_eq!(
            open(&sealed, b"CBS", 1).expect("open"),
            (2, b"body".to_vec())
        );
        let unchecked = sealed_without_checksum(2, b"body");
        // The same content, decodable by zstd, but not checked: refused, and saying why.
        assert_eq!(
            zstd::decode_all(&unchecked[5..]).expect("plain zstd reads it"),
            b"\x02body"
        );
        let err = open(&unchecked, b"CBS", 1).expect_err("no checksum");
        assert!(
            matches!(err, SyncError::Malformed(ref m) if m.contains("no content checksum")),
            "{err}"
        );
        for not_zstd in [
            &b"CBS\x01\x02"[..],
            b"CBS\x01\x02\x28\xb5\x2f",
            b"CBS\x01\x02abcdef",
        ] {
            let err = open(not_zstd, b"CBS", 1).expect_err("not a frame");
            assert!(
                matches!(err, SyncError::Malformed(ref m) if m.contains("not a zstd frame")),
                "{err}"
            );
        }
    }
}
