//! One circle's loaded documents: brought up to what the database holds before each request,
//! answering a sync round as a [`SyncReplica`], appending what devices push, and compacting a
//! document's chunks once there are many.

use std::collections::{HashMap, HashSet};

use automerge::ChangeHash;
use carebank_core::domain::{RecordBody, Role};
use carebank_core::identity::PublicKey;
use carebank_core::identity::authority::AuthorityLevel;
use carebank_core::identity::trust::bears_on_trust;
use carebank_core::ids::Id;
use carebank_core::record::SignedRecord;
use carebank_core::record::elder_key::ElderKeyEntry;
use carebank_core::replica::{ChangeBatch, DocId, RecordDoc, session_actor};
use carebank_core::sync::{DocHeads, SyncError, SyncReplica};

use crate::RelayError;
use crate::backend::{ElderKeyRow, MonthCloseRow, TrustRecord};
use crate::pool::Pool;
use crate::trust::trusted_now;

/// A document stored in more chunks than this is compacted into one.
pub const COMPACT_AFTER_CHUNKS: i64 = 64;

struct Loaded {
    doc: RecordDoc,
    /// Every stored chunk numbered up to this one is in `doc`.
    seq: i64,
}

impl Loaded {
    fn empty() -> Loaded {
        Loaded {
            doc: RecordDoc::new(&session_actor()),
            seq: -1,
        }
    }
}

/// The documents of one circle this relay has loaded.
#[derive(Default)]
pub struct Docs {
    loaded: HashMap<DocId, Loaded>,
}

impl Docs {
    /// How many documents are loaded.
    pub fn len(&self) -> usize {
        self.loaded.len()
    }

    /// Drops every loaded document (they are loaded again when next needed).
    pub fn clear(&mut self) {
        self.loaded.clear();
    }

    /// Brings the loaded documents of `circle` up to what the database holds (other instances
    /// may have written, or compacted).
    pub fn refresh(&mut self, db: &Pool, circle: Id) -> Result<(), RelayError> {
        let versions = db.get()?.doc_versions(circle)?;
        for (name, latest) in versions {
            let id = DocId::parse(&name)
                .ok_or_else(|| RelayError::Database(format!("document name {name:?}")))?;
            let seen = self.loaded.get(&id).map_or(-1, |l| l.seq);
            if seen >= latest {
                continue;
            }
            let chunks = db.get()?.chunks_after(circle, &name, seen)?;
            let Some(&(last, _)) = chunks.last() else {
                continue;
            };
            let bytes: Vec<u8> = chunks.iter().flat_map(|(_, b)| b.iter().copied()).collect();
            let loaded = self.loaded.entry(id.clone()).or_insert_with(Loaded::empty);
            if let Err(e) = loaded.doc.add_stored(&bytes) {
                self.loaded.remove(&id);
                return Err(RelayError::Database(format!(
                    "stored chunks of {name}: {e}"
                )));
            }
            loaded.seq = last;
            if seen < 0 {
                compact_if_long(db, circle, &id, loaded, chunks.len() as i64);
            }
        }
        Ok(())
    }

    /// The documents as the replica a sync round is answered from, writing to `db`.
    pub fn replica<'a>(&'a mut self, db: &'a Pool, circle: Id) -> CircleReplica<'a> {
        CircleReplica {
            docs: self,
            db,
            circle,
        }
    }
}

/// Once a document is stored in more than [`COMPACT_AFTER_CHUNKS`] chunks, replaces those up to
/// the last one it holds by the document saved whole. A failure only leaves the chunks as they
/// were, so it is logged, not returned.
fn compact_if_long(db: &Pool, circle: Id, id: &DocId, loaded: &mut Loaded, chunks: i64) {
    if chunks <= COMPACT_AFTER_CHUNKS {
        return;
    }
    let snapshot = loaded.doc.save();
    let compacted = db
        .get()
        .and_then(|mut b| b.compact(circle, id.as_str(), loaded.seq, &snapshot));
    match compacted {
        Ok(done) => tracing::info!(
            %circle, doc = id.as_str(), upto = loaded.seq, chunks, bytes = snapshot.len(), done,
            "compacted"
        ),
        Err(e) => tracing::warn!(%circle, doc = id.as_str(), error = %e, "compaction failed"),
    }
}

/// One circle's documents as a sync replica.
pub struct CircleReplica<'a> {
    docs: &'a mut Docs,
    db: &'a Pool,
    circle: Id,
}

impl CircleReplica<'_> {
    fn loaded(&mut self, doc: &DocId) -> &mut Loaded {
        self.docs
            .loaded
            .entry(doc.clone())
            .or_insert_with(Loaded::empty)
    }

    /// The verified records of this circle among `added` whose bytes name one of `types`
    /// (quoted, e.g. `"\"erasure\""`): a cheap look before verifying. With their bytes.
    fn verified_named(
        &self,
        added: &[(String, Vec<Vec<u8>>)],
        types: &[&[u8]],
    ) -> Vec<(SignedRecord, Vec<u8>)> {
        let mut found = Vec::new();
        for bytes in added.iter().flat_map(|(_, values)| values) {
            let named = |word: &[u8]| bytes.windows(word.len()).any(|w| w == word);
            if !types.iter().any(|t| named(t)) {
                continue;
            }
            if let Ok(record) = SignedRecord::from_bytes(bytes)
                && record.envelope().circle == self.circle
            {
                found.push((record, bytes.clone()));
            }
        }
        found
    }

    /// The verified erasure records of this circle among `added`: (record id, elder, author).
    fn erasures(&self, added: &[(String, Vec<Vec<u8>>)]) -> Vec<(String, Id, PublicKey)> {
        self.verified_named(added, &[b"\"erasure\""])
            .into_iter()
            .filter_map(|(record, _)| match record.body() {
                RecordBody::Erasure(e) => {
                    Some((record.id().to_string(), e.elder_id, record.author()))
                }
                _ => None,
            })
            .collect()
    }

    /// The well-signed month closes of this circle among `added`, by the district their town
    /// chain names (verified under the province roots only when a district asks).
    fn month_closes(&self, added: &[(String, Vec<Vec<u8>>)]) -> Vec<MonthCloseRow> {
        self.verified_named(added, &[b"\"month_close\""])
            .into_iter()
            .filter_map(|(record, bytes)| {
                let RecordBody::MonthClose(close) = record.body() else {
                    return None;
                };
                let district = close
                    .town
                    .certificates
                    .iter()
                    .find(|c| c.statement.level == AuthorityLevel::District)?;
                Some(MonthCloseRow {
                    id: record.id().to_string(),
                    district: district.statement.subject.to_string(),
                    month: close.month.clone(),
                    bytes,
                })
            })
            .collect()
    }

    /// Carries out the erasures signed by the centre or a coordinator the circle trusts: the
    /// elder's keyring entries are deleted and refused from then on. An erasure by anyone else
    /// changes nothing here (devices judge it the same way).
    fn carry_out(&self, erasures: &[(String, Id, PublicKey)]) -> Result<(), RelayError> {
        let Some((centre, keys)) = trusted_now(self.db, self.circle)? else {
            return Ok(());
        };
        for (record_id, elder, author) in erasures {
            let coordinator = keys
                .get(&author.to_string())
                .is_some_and(|t| t.revoked.is_none() && t.role == Role::Coordinator.as_str());
            if *author == centre || coordinator {
                self.db.get()?.erase_elder(self.circle, *elder, record_id)?;
            }
        }
        Ok(())
    }

    /// The verified enrolments and revocations of this circle among `added`.
    fn trust_records(&self, added: &[(String, Vec<Vec<u8>>)]) -> Vec<TrustRecord> {
        self.verified_named(added, &[b"\"enrolment\"", b"\"revocation\""])
            .into_iter()
            .filter(|(record, _)| bears_on_trust(record.body()))
            .map(|(record, bytes)| TrustRecord {
                id: record.id().to_string(),
                bytes,
            })
            .collect()
    }
}

fn store_error(e: impl std::fmt::Display) -> SyncError {
    SyncError::Internal(e.to_string())
}

impl SyncReplica for CircleReplica<'_> {
    fn circle(&self) -> Id {
        self.circle
    }

    fn doc_heads(&mut self) -> Result<Vec<DocHeads>, SyncError> {
        let mut out: Vec<DocHeads> = self
            .docs
            .loaded
            .iter_mut()
            .map(|(doc, loaded)| {
                let mut heads = loaded.doc.heads();
                heads.sort();
                DocHeads {
                    doc: doc.clone(),
                    heads,
                }
            })
            .filter(|d| !d.heads.is_empty())
            .collect();
        out.sort_by(|a, b| a.doc.cmp(&b.doc));
        Ok(out)
    }

    fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<ChangeHash>, SyncError> {
        Ok(self.loaded(doc).doc.known(hashes))
    }

    fn changes_since(
        &mut self,
        doc: &DocId,
        have: &[ChangeHash],
        budget: usize,
    ) -> Result<ChangeBatch, SyncError> {
        self.loaded(doc)
            .doc
            .changes_since(have, budget)
            .map_err(store_error)
    }

    fn apply_changes(&mut self, doc: &DocId, changes: &[u8]) -> Result<usize, SyncError> {
        let loaded = &mut self.loaded(doc).doc;
        let (chunk, keys) = loaded.apply_changes(changes).map_err(store_error)?;
        if chunk.is_empty() {
            return Ok(0);
        }
        let added = loaded.entries_of(&keys).map_err(store_error)?;
        let trust = self.trust_records(&added);
        let erasures = self.erasures(&added);
        let closes = self.month_closes(&added);
        let (db, circle) = (self.db, self.circle);
        let appended = db
            .get()
            .and_then(|mut b| b.append_chunk(circle, doc.as_str(), &chunk, &trust, &closes));
        let appended = match appended {
            Ok(appended) => appended,
            Err(e) => {
                // The loaded document is ahead of the database: forget it, reload next time.
                self.docs.loaded.remove(doc);
                return Err(store_error(e));
            }
        };
        let loaded = self.loaded(doc);
        // Unless another instance appended in between (then the next refresh reads both).
        if appended.seq == loaded.seq + 1 {
            loaded.seq = appended.seq;
        }
        compact_if_long(db, circle, doc, loaded, appended.chunks);
        if !erasures.is_empty() {
            self.carry_out(&erasures).map_err(store_error)?;
        }
        Ok(added.len())
    }

    fn keyring_ids(&mut self) -> Result<Vec<Id>, SyncError> {
        let rows = self
            .db
            .get()
            .and_then(|mut b| b.elder_keys(self.circle))
            .map_err(store_error)?;
        Ok(rows.iter().filter_map(|(id, _)| id.parse().ok()).collect())
    }

    fn keyring_except(&mut self, have: &[Id]) -> Result<Vec<(Id, Vec<u8>)>, SyncError> {
        let have: HashSet<Id> = have.iter().copied().collect();
        let rows = self
            .db
            .get()
            .and_then(|mut b| b.elder_keys(self.circle))
            .map_err(store_error)?;
        let mut entries: Vec<(Id, Vec<u8>)> = rows
            .into_iter()
            .filter_map(|(id, entry)| Some((id.parse().ok()?, entry)))
            .filter(|(id, _)| !have.contains(id))
            .collect();
        entries.sort_unstable_by_key(|(id, _)| *id);
        Ok(entries)
    }

    /// Keeps the entries that verify, belong to this circle and were made by a device the
    /// circle enrolled (revoked since or not: its entries made before still open records);
    /// entries of erased elders are refused by the backend.
    fn take_keyring(&mut self, entries: &[Vec<u8>]) -> Result<usize, SyncError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let Some((centre, keys)) = trusted_now(self.db, self.circle).map_err(store_error)? else {
            return Ok(0);
        };
        // An entry whose id is held changes nothing (the backend keeps the first of an id):
        // it is passed over before its signature is checked.
        let held: HashSet<Id> = self.keyring_ids()?.into_iter().collect();
        let rows: Vec<ElderKeyRow> = entries
            .iter()
            .filter(|bytes| ElderKeyEntry::key_id_of(bytes).is_none_or(|id| !held.contains(&id)))
            .filter_map(|bytes| ElderKeyEntry::decode(bytes).ok())
            .filter(|e| e.circle() == self.circle)
            .filter(|e| e.author() == centre || keys.contains_key(&e.author().to_string()))
            .map(|e| ElderKeyRow {
                key_id: e.key_id().to_string(),
                elder: e.elder().to_string(),
                entry: e.as_bytes().to_vec(),
            })
            .collect();
        if rows.is_empty() {
            return Ok(0);
        }
        self.db
            .get()
            .and_then(|mut b| b.add_elder_keys(self.circle, &rows))
            .map_err(store_error)?;
        // The relay opens no record: none waited for these keys.
        Ok(0)
    }
}
