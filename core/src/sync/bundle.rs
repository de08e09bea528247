//! Bundle files: what a peer lacks (or everything, or everything since given heads) written to
//! one file for a USB stick, an SD card or a messaging app, and read back on another device.
//!
//! A bundle (version 2) is `"CBB" ‖ version 2 ‖ kind 1 ‖ zstd frame ‖ exporter[32] ‖
//! signature[64]`: the frame holds the circle and, per document, the exporter's heads and the
//! changes; the exporter's ed25519 device key signs every byte before the signature (see
//! `docs/sync-protocol.md`). Devices write it sealed ([`seal`](super::seal)), so the signature
//! and the exporter's key travel encrypted.
//!
//! An import checks the signature before decompressing anything, then that the exporter is a
//! key the store trusts, then judges the whole content (every value a record of this circle
//! filed under its own month, every document of a plausible month) before applying any of it:
//! a bundle is imported whole or not at all. Importing is idempotent: changes already held are
//! skipped, so a second import of the same file changes nothing. Version 1 (unsigned) is read
//! only when the caller allows plain bundles.

use std::collections::BTreeSet;

use super::device::unrevoked;
use super::message::{read_doc_changes, write_doc_changes};
use super::wire::{Reader, Writer, open, seal};
use super::{DocChanges, DocHeads, SyncError, SyncPeers, SyncReplica, check_changes};
use crate::hlc::latest_now;
use crate::identity::{DeviceKey, PublicKey, SignatureBytes};
use crate::ids::Id;
use crate::record::SignedRecord;
use crate::replica::DocId;
use crate::store::{Refusal, Store};
use crate::time::Month;

/// The first three bytes of every bundle file.
pub const BUNDLE_MAGIC: &[u8; 3] = b"CBB";
/// The bundle format version this build writes (signed by the exporter).
pub const BUNDLE_VERSION: u8 = 2;
/// The first bundle version, unsigned: read only when the caller allows plain bundles.
pub const LEGACY_BUNDLE_VERSION: u8 = 1;
/// The exporter's signature covers this context, then every byte before the signature.
pub const SIGNATURE_CONTEXT: &[u8] = b"carebank/bundle/v2\0";
/// The earliest month a bundle's document may be of.
pub const EARLIEST_MONTH: Month = Month {
    year: 2000,
    month: 1,
};
const KIND_CHANGES: u8 = 1;
/// The exporter's key and signature after the frame.
const TRAILER: usize = 32 + 64;
/// How many implausible document names an error lists.
const NAMES_LISTED: usize = 3;

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
    /// The documents' changes.
    pub docs: Vec<DocChanges>,
    /// Keyring entries (elder keys) the recipient may lack; written only when there are any,
    /// so a bundle without them is byte for byte as before.
    pub keys: Vec<Vec<u8>>,
}

/// Who wrote a decoded bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exporter {
    /// The device key whose signature over the whole bundle checked (version 2).
    Signed(PublicKey),
    /// The name a version-1 bundle gives its exporter: nothing vouches for it.
    Claimed(String),
}

/// Whether an import accepts bundles that are not sealed or not signed (version 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainBundles {
    /// Only sealed, signed bundles (the default).
    Refused,
    /// Also plain (unsealed) bundles and version-1 bundles, which nothing authenticates; a
    /// signed bundle's signature and exporter are still checked.
    Allowed,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Documents in the bundle.
    pub docs: usize,
    /// Records new to this store.
    pub records_added: usize,
    /// Values in the bundle's documents that are not valid records (an altered copy a hostile
    /// relay or phone once slipped into the exporter's documents, kept in their history): kept
    /// out of this store's records, as a relay or phone sync keeps them out, and listed among
    /// its rejections.
    pub values_rejected: usize,
}

impl Bundle {
    /// Encodes the bundle signed by `key` (the current version).
    pub fn sign(&self, key: &DeviceKey) -> Result<Vec<u8>, SyncError> {
        let mut w = Writer::default();
        w.id(self.circle);
        w.uint(self.docs.len() as u64);
        for d in &self.docs {
            write_doc_changes(&mut w, d);
        }
        if !self.keys.is_empty() {
            w.uint(self.keys.len() as u64);
            for entry in &self.keys {
                w.bytes(entry);
            }
        }
        let mut out = seal(BUNDLE_MAGIC, BUNDLE_VERSION, KIND_CHANGES, &w.into_bytes())?;
        out.extend_from_slice(key.public_key().as_bytes());
        let signature = key.sign(&signed_message(&out));
        out.extend_from_slice(&signature);
        Ok(out)
    }

    /// Decodes a bundle: for version 2, checks the signature before anything else, then every
    /// field (not yet the changes themselves); a version-1 bundle decodes with its exporter's
    /// name unverified.
    pub fn decode(bytes: &[u8]) -> Result<(Bundle, Exporter), SyncError> {
        if bytes.len() < 5 || !bytes.starts_with(BUNDLE_MAGIC) {
            return Err(SyncError::Malformed("not a bundle file".into()));
        }
        match bytes[3] {
            BUNDLE_VERSION => {
                let framed = bytes
                    .len()
                    .checked_sub(TRAILER)
                    .filter(|&n| n > 5)
                    .ok_or_else(|| {
                        SyncError::Malformed(format!(
                            "a bundle cannot be {} bytes long",
                            bytes.len()
                        ))
                    })?;
                let exporter = verify_signature(bytes, framed)?;
                let body = open_body(&bytes[..framed], BUNDLE_VERSION)?;
                let mut r = Reader::new(&body);
                let circle = r.id("circle")?;
                let docs = read_docs(&mut r)?;
                let keys = read_keys(&mut r)?;
                r.finish()?;
                Ok((Bundle { circle, docs, keys }, Exporter::Signed(exporter)))
            }
            LEGACY_BUNDLE_VERSION => {
                let body = open_body(bytes, LEGACY_BUNDLE_VERSION)?;
                let mut r = Reader::new(&body);
                let circle = r.id("circle")?;
                let name = std::str::from_utf8(r.bytes("exporter")?)
                    .map_err(|_| SyncError::Malformed("exporter name is not UTF-8".into()))?
                    .to_string();
                let docs = read_docs(&mut r)?;
                r.finish()?;
                let keys = Vec::new();
                Ok((Bundle { circle, docs, keys }, Exporter::Claimed(name)))
            }
            other => Err(SyncError::Version(other)),
        }
    }
}

/// What the exporter signs: the context, then every byte before the signature.
fn signed_message(before_signature: &[u8]) -> Vec<u8> {
    [SIGNATURE_CONTEXT, before_signature].concat()
}

/// Checks the trailer after the first `framed` bytes: the exporter's key, and its signature
/// over everything before the signature. Returns the key.
fn verify_signature(bytes: &[u8], framed: usize) -> Result<PublicKey, SyncError> {
    let (signed, signature) = bytes.split_at(framed + 32);
    let mut key = [0u8; 32];
    key.copy_from_slice(&signed[framed..]);
    let key = PublicKey::from_bytes(key);
    let signature: SignatureBytes = signature
        .try_into()
        .map_err(|_| SyncError::Malformed("the bundle's signature is cut short".into()))?;
    if key.verify(&signed_message(signed), &signature) {
        Ok(key)
    } else {
        Err(SyncError::NotAuthorised(
            "the bundle's signature does not check: it was altered after its exporter signed \
             it, or damaged; nothing was imported"
                .into(),
        ))
    }
}

/// Checks the header and decompresses the body.
fn open_body(bytes: &[u8], version: u8) -> Result<Vec<u8>, SyncError> {
    let (kind, body) = open(bytes, BUNDLE_MAGIC, version)?;
    if kind != KIND_CHANGES {
        return Err(SyncError::Malformed(format!("unknown bundle kind {kind}")));
    }
    Ok(body)
}

/// Reads the documents' changes; a bundle carries every change it names, so none is deferred.
fn read_docs(r: &mut Reader<'_>) -> Result<Vec<DocChanges>, SyncError> {
    let n = r.count("documents", 4)?;
    (0..n)
        .map(|_| {
            let d = read_doc_changes(r)?;
            if d.deferred || d.more {
                return Err(SyncError::Malformed(format!(
                    "{} is marked deferred or partial, which a bundle never is",
                    d.doc.as_str()
                )));
            }
            Ok(d)
        })
        .collect()
}

/// Reads the keyring entries that may end a bundle (none if it ends first).
fn read_keys(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, SyncError> {
    if r.at_end() {
        return Ok(Vec::new());
    }
    let n = r.count("keyring entries", 1)?;
    (0..n)
        .map(|_| r.bytes("keyring entry").map(<[u8]>::to_vec))
        .collect()
}

/// Writes a bundle of `replica`'s changes selected by `since`, signed by the exporting
/// device's `key`.
pub fn export<R: SyncReplica + SyncPeers + ?Sized>(
    replica: &mut R,
    key: &DeviceKey,
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
        let changes = replica.changes_since(&local.doc, &have, usize::MAX)?.bytes;
        if changes.is_empty() {
            continue;
        }
        docs.push(DocChanges {
            doc: local.doc,
            heads: local.heads,
            changes,
            deferred: false,
            more: false,
        });
    }
    let keys = match since {
        Since::Peer(peer) => replica.keyring_unknown_to(peer)?,
        Since::Everything | Since::Heads(_) => replica.keyring_except(&[])?,
    }
    .into_iter()
    .map(|(_, entry)| entry)
    .collect();
    Bundle {
        circle: replica.circle(),
        docs,
        keys,
    }
    .sign(key)
}

/// Reads a (plain, already unsealed) bundle into `store`, all or nothing: refused before
/// anything is applied if its signature does not check, it is of another circle, its
/// exporter is trusted neither now (`trusted`) nor once the bundle's own records are counted
/// (the enrolments a newly enrolled phone receives), it is unsigned and `plain` does not
/// allow that, or its content is not for this store (see [`judge`]).
pub(crate) fn import(
    store: &mut Store,
    bytes: &[u8],
    trusted: &BTreeSet<PublicKey>,
    plain: PlainBundles,
) -> Result<ImportReport, SyncError> {
    let (bundle, exporter) = Bundle::decode(bytes)?;
    // A file of another circle says so, whoever signed it.
    if bundle.circle != store.circle() {
        return Err(SyncError::WrongCircle {
            expected: store.circle(),
            found: bundle.circle,
        });
    }
    let judged = judge(store, &bundle)?;
    let exporter = match exporter {
        Exporter::Signed(key)
            if trusted.contains(&key)
                || unrevoked(store.trusted_after(&judged.records)?).contains(&key) =>
        {
            key.to_string()
        }
        Exporter::Signed(key) => {
            return Err(SyncError::NotAuthorised(format!(
                "the bundle was written by device {key}, which this store does not trust (not \
                 enrolled in the circle, or revoked); nothing was imported"
            )));
        }
        Exporter::Claimed(name) if plain == PlainBundles::Allowed => name,
        Exporter::Claimed(_) => {
            return Err(SyncError::PlainBundle(
                "this bundle is of version 1, which is not signed".into(),
            ));
        }
    };
    if let Some(found) = judged.unfit {
        return Err(SyncError::UnfitBundle(found));
    }
    let mut report = ImportReport {
        docs: bundle.docs.len(),
        records_added: 0,
        values_rejected: judged.not_records,
    };
    // The keys first, so that the records about elders open as they arrive.
    if !bundle.keys.is_empty() {
        let taken = store.take_elder_keys(&bundle.keys)?;
        report.records_added += taken.admitted.len();
        store.note_peer_elder_keys(&exporter, &taken.verified, &[])?;
    }
    for d in &bundle.docs {
        report.records_added += SyncReplica::apply_changes(store, &d.doc, &d.changes)?;
        // The exporter holds at least what it sent: the next bundle for it can start there.
        if !d.heads.is_empty() && store.known(&d.doc, &d.heads)?.len() == d.heads.len() {
            store.set_shared_heads(&exporter, &d.doc, &d.heads)?;
        }
    }
    Ok(report)
}

/// What [`judge`] found in a bundle.
struct Judged {
    /// The records the bundle would add, each with its document.
    records: Vec<(DocId, SignedRecord)>,
    /// What makes the bundle unfit for this store, counted (none: it is fit).
    unfit: Option<String>,
    /// Values that are not valid records, which the import keeps out.
    not_records: usize,
}

/// Judges a bundle's whole content before any of it is applied, by what the store would
/// admit ([`Store::preview_changes`]): every record the changes add must be of this circle and
/// filed under its own month (values that are not valid records at all are only counted: the
/// exporter may hold one in its history without knowing), and a document that would change must
/// be of a month
/// from [`EARLIEST_MONTH`] to the month after the store's clock (plus the clock's tolerance),
/// unless it holds records dated in it: a phone whose clock was wrong files its records under
/// their (wrong) month, and they are kept and listed as dated in the future (`hlc.rs`).
/// Changes that are not well-formed are an error here.
fn judge(store: &Store, bundle: &Bundle) -> Result<Judged, SyncError> {
    let latest = Month::of_instant(latest_now(store.now()?)).next();
    let (mut other_circle, mut wrong_month, mut not_records) = (0usize, 0usize, 0usize);
    let mut implausible = Vec::new();
    let mut records = Vec::new();
    for d in &bundle.docs {
        check_changes(&d.doc, &d.changes)?;
        let preview = store.preview_changes(&d.doc, &d.changes)?;
        for refusal in &preview.refusals {
            match refusal {
                Refusal::OtherCircle(_) => other_circle += 1,
                Refusal::WrongMonth { .. } => wrong_month += 1,
                Refusal::NotARecord(_) => not_records += 1,
            }
        }
        if preview.changes_anything
            && preview.records.is_empty()
            && !(EARLIEST_MONTH..=latest).contains(&d.doc.month())
        {
            implausible.push(d.doc.as_str());
        }
        records.extend(preview.records.into_iter().map(|r| (d.doc.clone(), r)));
    }
    let mut found = Vec::new();
    if other_circle > 0 {
        found.push(counted(
            other_circle,
            "record of another circle",
            "records of another circle",
        ));
    }
    if wrong_month > 0 {
        found.push(counted(
            wrong_month,
            "record filed under another month than its own",
            "records filed under another month than their own",
        ));
    }
    if !implausible.is_empty() {
        let mut names = implausible[..implausible.len().min(NAMES_LISTED)].join(", ");
        if implausible.len() > NAMES_LISTED {
            names.push_str(&format!(" and {} more", implausible.len() - NAMES_LISTED));
        }
        found.push(format!(
            "{} named {names} (months outside {EARLIEST_MONTH} to {latest}, with no record \
             of theirs)",
            counted(implausible.len(), "document", "documents")
        ));
    }
    let unfit = found.pop().map(|last| {
        if found.is_empty() {
            last
        } else {
            format!("{} and {last}", found.join(", "))
        }
    });
    Ok(Judged {
        records,
        unfit,
        not_records,
    })
}

/// "1 record", "12 records".
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 8032 test-1 key.
    fn rfc8032_key() -> DeviceKey {
        DeviceKey::from_seed(
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .expect("hex")
                .try_into()
                .expect("32 bytes"),
        )
    }

    /// The vector in `docs/sync-protocol.md` ("Bundle files").
    #[test]
    fn signing_matches_the_documented_vector() {
        let key = rfc8032_key();
        let bundle = Bundle {
            keys: Vec::new(),
            circle: Id::from_bytes([0x11; 16]),
            docs: Vec::new(),
        };
        let signed = bundle.sign(&key).expect("sign");
        assert_eq!(hex::encode(&signed), VECTOR);
        assert_eq!(
            Bundle::decode(&signed).expect("decode"),
            (bundle, Exporter::Signed(key.public_key()))
        );
    }

    #[test]
    fn any_changed_byte_breaks_the_signature_or_the_frame() {
        let signed = Bundle {
            keys: Vec::new(),
            circle: Id::from_bytes([0x11; 16]),
            docs: Vec::new(),
        }
        .sign(&rfc8032_key())
        .expect("sign");
        for i in 0..signed.len() {
            let mut bad = signed.clone();
            bad[i] ^= 0x01;
            assert!(Bundle::decode(&bad).is_err(), "byte {i} changed");
            assert!(Bundle::decode(&signed[..i]).is_err(), "cut at {i}");
        }
    }

    const VECTOR: &str = "434242020128b52ffd04004d00001801110001001dc002379db42bd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511ac25ceedf6106a53700a410d1b161047f531319265266037a4fdb4b599294f9d7416c8223888cedf56aa75dab5ab6d0465b9305e1fc9ab15ff0d3bb3bd570070e";
}
