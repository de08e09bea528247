//! Bundle files: what a peer lacks (or everything, or everything since given heads) written to
//! one file for a USB stick, an SD card or a messaging app, and read back on another device.
//!
//! A bundle is `"CBB" ‖ version ‖ kind 1 ‖ zstd frame` holding the circle, the exporter's name
//! and, per document, the exporter's heads and the changes (see `docs/sync-protocol.md`).
//! Importing is idempotent: changes already held are skipped, so a second import of the same
//! file changes nothing.

use super::message::{read_doc_changes, write_doc_changes};
use super::wire::{Reader, Writer, open, seal};
use super::{DocChanges, DocHeads, SyncError, SyncPeers, SyncReplica, check_changes};
use crate::ids::Id;

/// The first three bytes of every bundle file.
pub const BUNDLE_MAGIC: &[u8; 3] = b"CBB";
/// The bundle format version this build writes and reads.
pub const BUNDLE_VERSION: u8 = 1;
const KIND_CHANGES: u8 = 1;

/// What a bundle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// Every change of every document.
    Everything,
    /// What the named peer is not known to hold (from earlier syncs and imports).
    Peer(String),
    /// What came after these heads (documents not listed are sent whole).
    Heads(Vec<DocHeads>),
}

/// A decoded bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The circle it belongs to.
    pub circle: Id,
    /// The exporting device's name (its public key), remembered as a peer on import.
    pub exporter: String,
    /// The documents' changes.
    pub docs: Vec<DocChanges>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Documents in the bundle.
    pub docs: usize,
    /// Records new to this store.
    pub records_added: usize,
}

impl Bundle {
    /// Encodes the bundle.
    pub fn encode(&self) -> Result<Vec<u8>, SyncError> {
        let mut w = Writer::default();
        w.id(self.circle);
        w.bytes(self.exporter.as_bytes());
        w.uint(self.docs.len() as u64);
        for d in &self.docs {
            write_doc_changes(&mut w, d);
        }
        seal(BUNDLE_MAGIC, BUNDLE_VERSION, KIND_CHANGES, &w.into_bytes())
    }

    /// Decodes a bundle, checking every field (not yet the changes themselves).
    pub fn decode(bytes: &[u8]) -> Result<Bundle, SyncError> {
        let (kind, body) = open(bytes, BUNDLE_MAGIC, BUNDLE_VERSION)?;
        if kind != KIND_CHANGES {
            return Err(SyncError::Malformed(format!("unknown bundle kind {kind}")));
        }
        let mut r = Reader::new(&body);
        let circle = r.id("circle")?;
        let exporter = std::str::from_utf8(r.bytes("exporter")?)
            .map_err(|_| SyncError::Malformed("exporter name is not UTF-8".into()))?
            .to_string();
        let n = r.count("documents", 4)?;
        let docs = (0..n)
            .map(|_| read_doc_changes(&mut r))
            .collect::<Result<Vec<_>, _>>()?;
        r.finish()?;
        Ok(Bundle {
            circle,
            exporter,
            docs,
        })
    }
}

/// Writes a bundle of `replica`'s changes selected by `since`, naming `exporter` as its source.
pub fn export<R: SyncReplica + SyncPeers + ?Sized>(
    replica: &mut R,
    exporter: &str,
    since: &Since,
) -> Result<Vec<u8>, SyncError> {
    let mut docs = Vec::new();
    for local in replica.doc_heads()? {
        let have = match since {
            Since::Everything => Vec::new(),
            Since::Peer(peer) => replica.shared_heads(peer, &local.doc)?,
            Since::Heads(points) => points
                .iter()
                .find(|p| p.doc == local.doc)
                .map(|p| p.heads.clone())
                .unwrap_or_default(),
        };
        let changes = replica.changes_since(&local.doc, &have)?;
        if changes.is_empty() {
            continue;
        }
        docs.push(DocChanges {
            doc: local.doc,
            heads: local.heads,
            changes,
            deferred: false,
        });
    }
    Bundle {
        circle: replica.circle(),
        exporter: exporter.to_string(),
        docs,
    }
    .encode()
}

/// Reads a bundle into `replica`. A bundle of another circle, or one that is malformed
/// anywhere, is refused before anything is applied.
pub fn import<R: SyncReplica + SyncPeers + ?Sized>(
    replica: &mut R,
    bytes: &[u8],
) -> Result<ImportReport, SyncError> {
    let bundle = Bundle::decode(bytes)?;
    if bundle.circle != replica.circle() {
        return Err(SyncError::WrongCircle {
            expected: replica.circle(),
            found: bundle.circle,
        });
    }
    for d in &bundle.docs {
        check_changes(&d.doc, &d.changes)?;
    }
    let mut report = ImportReport {
        docs: bundle.docs.len(),
        records_added: 0,
    };
    for d in &bundle.docs {
        report.records_added += replica.apply_changes(&d.doc, &d.changes)?;
        // The exporter holds at least what it sent: the next bundle for it can start there.
        if !d.heads.is_empty() && replica.known(&d.doc, &d.heads)?.len() == d.heads.len() {
            replica.set_shared_heads(&bundle.exporter, &d.doc, &d.heads)?;
        }
    }
    Ok(report)
}
