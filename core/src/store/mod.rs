//! SQLite persistence: Automerge chunks, the records they hold, materialised query indexes,
//! and the rejected-record log. One connection, one writer; every write is one immediate
//! transaction and is durable when the call returns (WAL, `synchronous=FULL`). A thread with a
//! connection of its own checkpoints the log (`checkpointer`), off the write path.

mod access_log;
mod at_rest;
mod cards;
mod chains;
mod checkpointer;
mod consent;
mod elder_keys;
mod erasure;
mod export;
mod future;
mod index;
mod keys;
mod ledger_source;
mod lookups;
mod names;
mod queries;
mod schema;
mod sql_types;
mod sync_state;

pub use access_log::AccessEntry;
pub use at_rest::{STORE_KEY_NAME, StoreKey};
pub use cards::ConfirmationCounts;
pub use chains::ChainProblem;
pub use consent::ConsentConflict;
pub use elder_keys::KeysTaken;
pub use export::ElderRecordIds;
pub use future::FutureRecord;
pub(crate) use index::Refusal;
pub use index::{Rejection, TrustedKey};
pub use keys::wrap_context;
pub use ledger_source::AddedRecord;
pub use lookups::{ElderFacts, MemberFacts, RecordFacts};
pub use queries::{
    ElderMonth, EntitlementStatus, EntitlementUse, OpenFollowUp, OverdueElder, PersonTimes,
    ServiceLine, UNDER_SERVED_PERCENT, VisitLine,
};
pub use schema::SchemaError;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use automerge::ActorId;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::domain::ValidationError;
use crate::error::{Error, Kind, Result};
use crate::hlc::{Hlc, SharedClock, wall_clock_ms};
use crate::identity::PublicKey;
use crate::identity::wrap::Unwrapper;
use crate::ids::Id;
use crate::record::{EpochKeys, EpochSecret, NoKeys, SignedRecord};
use crate::replica::{DocId, RecordDoc, session_actor};
use crate::time::UnixMs;
use sql_types::Columns;

/// A write compacts its document (into one snapshot) only once it is stored in this many
/// chunks. Compaction saves the whole month, tens of milliseconds on a busy one, and belongs in
/// [`Store::run_maintenance`], which the app calls when the phone is idle; this bound keeps a
/// store whose app never does from growing without end, chunk by chunk.
const COMPACT_ON_WRITE_AFTER: i64 = 1024;
/// How many prepared statements the connection keeps.
const STATEMENT_CACHE: usize = 128;
/// How many documents stay loaded in memory.
const CACHED_DOCS: usize = 3;

/// What [`Store::run_maintenance`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Maintenance {
    /// Documents compacted into one snapshot each.
    pub documents_compacted: usize,
    /// The chunks those documents were stored in before.
    pub chunks_merged: usize,
}

/// How hard each write is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The default: a write is on disk when the call returns, even across a power cut
    /// (WAL with `synchronous=FULL`).
    EveryWrite,
    /// For simulations and bulk loads only: a crash keeps the database consistent but may lose
    /// the last writes (WAL with `synchronous=NORMAL`).
    Relaxed,
}

/// What one ingest of records changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    /// Records that were new to this store and valid.
    pub added: Vec<Id>,
    /// Records refused (bad signature, bad encoding, wrong circle), with the reason.
    pub rejected: Vec<Rejection>,
    /// Signed records of the circle sealed under a key this device does not hold yet: kept,
    /// and admitted when the key arrives.
    pub waiting: Vec<Id>,
    /// Elders whose erasure arrived and was carried out.
    pub erased: Vec<Id>,
}

/// The persistent store of one device.
pub struct Store {
    conn: Connection,
    /// Checkpoints the log of a store file off the write path (none for a store in memory).
    checkpointer: Option<checkpointer::Checkpointer>,
    actor: ActorId,
    circle: Id,
    centre: PublicKey,
    docs: HashMap<DocId, RecordDoc>,
    doc_order: Vec<DocId>,
    wall: SharedClock,
    /// Opens the circle's epoch keys wrapped for this device (see [`Store::take_keys_for`]).
    unwrapper: Option<Unwrapper>,
    /// Opened from a schema older than [`schema::INDEX_REBUILT_AT`]: the indexes lack what only
    /// the records say until [`Store::rebuild_if_outdated`] runs.
    index_outdated: bool,
}

impl Store {
    /// Opens (creating if needed) the store at `path` for `circle` led by `centre`, encrypted
    /// under `key` (a plain store from an earlier build is encrypted on this first open).
    pub fn open(path: &Path, key: &StoreKey, circle: Id, centre: PublicKey) -> Result<Store> {
        let mut store = Self::with_connection(at_rest::open(path, key)?, circle, centre)?;
        store.checkpointer = Some(checkpointer::Checkpointer::start(
            &mut store.conn,
            path,
            key,
            checkpointer::CHECKPOINT_AFTER_PAGES,
        )?);
        Ok(store)
    }

    /// A store in memory only (tests).
    pub fn open_in_memory(circle: Id, centre: PublicKey) -> Result<Store> {
        Self::with_connection(Connection::open_in_memory()?, circle, centre)
    }

    fn with_connection(mut conn: Connection, circle: Id, centre: PublicKey) -> Result<Store> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // What is deleted is overwritten with zeros: an erased elder's keys and blanked rows
        // leave nothing in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        // Temporary tables and sort files in memory: none is written to disk in plain text.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // A 16 MiB page cache (SQLite's default is 2 MiB), filled only as pages are read: with
        // encryption every page read from disk is also decrypted, and a write on top of a year
        // re-read its index pages each time (a durable visit took 4× as long; decision 0015).
        conn.pragma_update(None, "cache_size", -16_384)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement of the write and import paths stays prepared (12% of an import went
        // to preparing them again); rusqlite's default of 16 is fewer than they are.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let was = schema::migrate(&mut conn)?;
        let mut store = Store {
            conn,
            checkpointer: None,
            actor: session_actor(),
            circle,
            centre,
            docs: HashMap::new(),
            doc_order: Vec::new(),
            wall: Arc::new(wall_clock_ms),
            unwrapper: None,
            index_outdated: (1..schema::INDEX_REBUILT_AT).contains(&was),
        };
        store.bind_circle()?;
        if (1..schema::TRUST_REDERIVED_AT).contains(&was) {
            let tx = store
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            index::recompute_trust(&tx, store.centre)?;
            tx.commit()?;
        }
        Ok(store)
    }

    /// Records the circle in a new store, or checks that an existing store is of this circle.
    fn bind_circle(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = meta_get(&tx, "circle")?;
        match stored {
            Some(found) => {
                let found: Id = found
                    .parse()
                    .map_err(|_| Error::Corrupt("circle id in meta".into()))?;
                if found != self.circle {
                    return Err(Error::WrongCircle {
                        expected: found,
                        found: self.circle,
                    });
                }
                let centre = meta_get(&tx, "centre")?.unwrap_or_default();
                if centre != self.centre.to_string() {
                    return Err(Error::Corrupt(
                        "the store belongs to another centre key".into(),
                    ));
                }
            }
            None => {
                meta_set(&tx, "circle", &self.circle.to_string())?;
                meta_set(&tx, "centre", &self.centre.to_string())?;
                index::recompute_trust(&tx, self.centre)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces the wall clock that stamps this device's records, bounds the clocks adopted
    /// from other devices' records ([`Hlc::observe`]) and tells which records are dated in the
    /// future.
    pub fn set_wall_clock(&mut self, wall: SharedClock) {
        self.wall = wall;
    }

    /// Now, by the wall clock; a reading outside [`UnixMs`]'s range (a clock set to the year
    /// 20000, or an app's clock that overflowed) is refused, not clamped.
    pub fn now(&self) -> Result<UnixMs> {
        UnixMs::try_from((self.wall)()).map_err(|source| {
            Error::Invalid(ValidationError::Instant {
                field: "wall_clock",
                source,
            })
        })
    }

    /// The wall clock itself, for a sync session that reads it while the store is in use.
    pub(crate) fn wall_clock(&self) -> SharedClock {
        self.wall.clone()
    }

    /// Chooses how hard each write is pushed to disk (see [`Durability`]).
    pub fn set_durability(&mut self, durability: Durability) -> Result<()> {
        let level = match durability {
            Durability::EveryWrite => "FULL",
            Durability::Relaxed => "NORMAL",
        };
        self.conn.pragma_update(None, "synchronous", level)?;
        Ok(())
    }

    /// The circle this store belongs to.
    pub fn circle(&self) -> Id {
        self.circle
    }

    /// The centre's key, the root of trust.
    pub fn centre(&self) -> PublicKey {
        self.centre
    }

    /// The stored clock (the highest timestamp issued or seen).
    pub fn clock(&self) -> Result<Hlc> {
        read_clock(&self.conn)
    }

    /// Appends a new local record: into its document and the indexes, in one transaction.
    pub fn append(&mut self, record: &SignedRecord) -> Result<()> {
        if record.envelope().circle != self.circle {
            return Err(Error::WrongCircle {
                expected: self.circle,
                found: record.envelope().circle,
            });
        }
        let doc_id = DocId::for_hlc(record.hlc());
        let result = self.append_inner(&doc_id, record);
        if result.is_err() {
            // The in-memory document may hold a change the database does not; reload next time.
            self.forget_doc(&doc_id);
        }
        result
    }

    fn append_inner(&mut self, doc_id: &DocId, record: &SignedRecord) -> Result<()> {
        self.load_doc(doc_id)?;
        let chunk = self.doc_mut(doc_id)?.put(record.id(), record.as_bytes())?;
        let heads = self.doc_mut(doc_id)?.heads();
        let now = self.now()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        push_chunk(&tx, doc_id, &chunk, &heads)?;
        let mut batch = index::Batch::new(self.unwrapper.clone());
        index::insert(&tx, record, doc_id, &mut batch)?;
        batch.finish(&tx, self.centre)?;
        observe_clock(&tx, record.hlc(), now)?;
        tx.commit()?;
        self.forget_erased(&batch.erased);
        self.compact_if_due(doc_id);
        Ok(())
    }

    /// Merges a document from another replica (its saved bytes). New records are verified and
    /// indexed; invalid ones are kept out of every query and logged as rejected. Bytes that are
    /// not a document change nothing.
    pub fn merge_doc(&mut self, doc_id: &DocId, bytes: &[u8]) -> Result<IngestReport> {
        self.load_doc(doc_id)?;
        let result = self.merge_inner(doc_id, bytes);
        if result.is_err() {
            self.forget_doc(doc_id);
        }
        result
    }

    fn merge_inner(&mut self, doc_id: &DocId, bytes: &[u8]) -> Result<IngestReport> {
        let (chunk, added) = self.doc_mut(doc_id)?.merge(bytes)?;
        self.ingest(doc_id, chunk, added)
    }

    /// Persists a merge's chunk and verifies and indexes the records it added.
    fn ingest(
        &mut self,
        doc_id: &DocId,
        chunk: Vec<u8>,
        added: Vec<String>,
    ) -> Result<IngestReport> {
        let circle = self.circle;
        if added.is_empty() && chunk.is_empty() {
            return Ok(IngestReport::default());
        }
        let heads = self.doc_mut(doc_id)?.heads();
        let now = self.now()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !chunk.is_empty() {
            push_chunk(&tx, doc_id, &chunk, &heads)?;
        }
        let mut report = IngestReport::default();
        let mut batch = index::Batch::new(self.unwrapper.clone());
        let doc = self
            .docs
            .get(doc_id)
            .ok_or_else(|| Error::Corrupt(format!("document {} not loaded", doc_id.as_str())))?;
        let place = Place {
            circle,
            doc_id,
            now,
        };
        admit_all(&tx, &place, doc, &added, &mut batch, &mut report)?;
        report.added.extend(batch.finish(&tx, self.centre)?);
        tx.commit()?;
        self.forget_erased(&batch.erased);
        report.erased = batch.erased;
        self.compact_if_due(doc_id);
        Ok(report)
    }

    /// The names of the documents this store holds.
    pub fn doc_ids(&self) -> Result<Vec<DocId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT doc_id FROM doc_chunks ORDER BY doc_id")?;
        let ids = stmt.query_map([], |r| r.column(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// A document's saved bytes (every chunk, concatenated; Automerge loads them as one).
    pub fn doc_bytes(&self, doc_id: &DocId) -> Result<Vec<u8>> {
        read_doc_bytes(&self.conn, doc_id)
    }

    /// A document as one snapshot, what another store or a bundle loads fastest: the stored
    /// chunk itself when there is only one, else the chunks loaded and saved as one (empty if
    /// there is no such document). Loading a snapshot takes a seventh of the time that loading
    /// the same changes as chunks does (`replica/chunks.rs`).
    pub fn doc_snapshot(&self, doc_id: &DocId) -> Result<Vec<u8>> {
        let bytes = self.doc_bytes(doc_id)?;
        if self.chunk_count(doc_id)? <= 1 {
            return Ok(bytes);
        }
        Ok(RecordDoc::load(&bytes, &self.actor)?.save())
    }

    /// Reads one record by id and verifies it again: a record altered in storage is reported as
    /// an error, never returned.
    pub fn get(&self, id: Id) -> Result<SignedRecord> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT bytes FROM records WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let bytes = bytes.ok_or_else(|| Error::not_found(Kind::Record, id))?;
        let record = SignedRecord::open(&bytes, &keys::StoredKeys(&self.conn))?;
        if record.id() != id {
            return Err(Error::Corrupt(format!(
                "record stored as {id} hashes to {}",
                record.id()
            )));
        }
        Ok(record)
    }

    /// Records refused on merge, with the reason.
    pub fn rejections(&self) -> Result<Vec<Rejection>> {
        index::rejections(&self.conn)
    }

    /// Records with a valid signature whose author the circle does not (or no longer) trust:
    /// stored, reported here, never counted.
    pub fn untrusted_records(&self) -> Result<Vec<(Id, PublicKey)>> {
        index::untrusted_records(&self.conn)
    }

    /// The keys the circle trusts now, with their members and roles.
    pub fn trusted_keys(&self) -> Result<Vec<TrustedKey>> {
        index::trusted_keys(&self.conn)
    }

    /// Rebuilds the indexes once if the store was opened from a schema whose indexes lack what
    /// only the records say (call it once this device's keys are taken, so that sealed records
    /// open).
    pub fn rebuild_if_outdated(&mut self) -> Result<()> {
        if self.index_outdated {
            self.rebuild_indexes()?;
            self.index_outdated = false;
        }
        Ok(())
    }

    /// Empties the materialised indexes and rebuilds them from the documents, verifying every
    /// record again. Used after an index-changing upgrade, or to repair a damaged index.
    pub fn rebuild_indexes(&mut self) -> Result<IngestReport> {
        let doc_ids = self.doc_ids()?;
        let now = self.now()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("DELETE FROM records")?.execute([])?;
        tx.prepare_cached("DELETE FROM rejected")?.execute([])?;
        for table in schema::INDEX_TABLES {
            tx.execute(&format!("DELETE FROM {}", table.name), [])?;
        }
        let mut report = IngestReport::default();
        let mut batch = index::Batch::new(self.unwrapper.clone());
        // One document at a time: a year's records are never all in memory.
        for doc_id in &doc_ids {
            let doc = RecordDoc::load(&read_doc_bytes(&tx, doc_id)?, &self.actor)?;
            let place = Place {
                circle: self.circle,
                doc_id,
                now,
            };
            admit_all(&tx, &place, &doc, &doc.keys(), &mut batch, &mut report)?;
        }
        batch.trust_changed = true;
        report.added.extend(batch.finish(&tx, self.centre)?);
        tx.commit()?;
        Ok(report)
    }

    /// Gives the store what opens the circle's epoch keys wrapped for this device, and takes in
    /// the keys already stored for it (with the records that waited for them).
    pub fn take_keys_for(&mut self, unwrapper: Unwrapper) -> Result<IngestReport> {
        self.unwrapper = Some(unwrapper);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut batch = index::Batch::new(self.unwrapper.clone());
        for bytes in keys::key_records(&tx)? {
            let record = SignedRecord::decode_unverified(&bytes, &NoKeys)?;
            if let Some(key_id) = keys::note(&tx, &record, batch.unwrapper.as_ref())? {
                batch.new_keys.push(key_id);
            }
        }
        batch.new_keys.extend(keys::held_with_waiting(&tx)?);
        let report = IngestReport {
            added: batch.finish(&tx, self.centre)?,
            ..IngestReport::default()
        };
        tx.commit()?;
        Ok(report)
    }

    /// The epoch key this device seals its care records under, if it holds one that counts.
    pub fn sealing_key(&self) -> Result<Option<EpochSecret>> {
        keys::sealing_key(&self.conn, self.centre)
    }

    /// Whether the circle seals its care records (any epoch-key record is held).
    pub fn circle_seals(&self) -> Result<bool> {
        keys::circle_seals(&self.conn)
    }

    /// The epoch keys this device holds, each with the devices it is already wrapped for.
    pub fn held_keys(&self) -> Result<Vec<(EpochSecret, Vec<PublicKey>)>> {
        keys::held_keys(&self.conn)
    }

    /// The highest epoch number among the circle's epoch keys (0 if it has none).
    pub fn highest_epoch(&self) -> Result<u32> {
        let epoch: Option<i64> =
            self.conn
                .query_row("SELECT max(epoch) FROM epoch_keys", [], |r| r.get(0))?;
        Ok(epoch.and_then(|e| u32::try_from(e).ok()).unwrap_or(0))
    }

    /// How many sealed records wait for a key this device does not hold.
    pub fn waiting_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM sealed_waiting", [], |r| {
                r.get::<_, i64>(0)
            })?
            .try_into()
            .unwrap_or(0))
    }

    /// The epoch keys this device holds, to open sealed records read outside the store (tools
    /// and benchmarks that read saved documents).
    pub fn epoch_keys(&self) -> impl EpochKeys + '_ {
        keys::StoredKeys(&self.conn)
    }

    /// Read access for queries.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn load_doc(&mut self, doc_id: &DocId) -> Result<()> {
        if self.docs.contains_key(doc_id) {
            self.doc_order.retain(|d| d != doc_id);
            self.doc_order.push(doc_id.clone());
            return Ok(());
        }
        let doc = self.read_doc(doc_id)?;
        self.docs.insert(doc_id.clone(), doc);
        self.doc_order.push(doc_id.clone());
        while self.doc_order.len() > CACHED_DOCS {
            let evicted = self.doc_order.remove(0);
            self.docs.remove(&evicted);
        }
        Ok(())
    }

    /// A document as stored (empty if there is none), outside the cache of loaded documents.
    fn read_doc(&self, doc_id: &DocId) -> Result<RecordDoc> {
        let bytes = self.doc_bytes(doc_id)?;
        if bytes.is_empty() {
            Ok(RecordDoc::new(&self.actor))
        } else {
            Ok(RecordDoc::load(&bytes, &self.actor)?)
        }
    }

    fn doc_mut(&mut self, doc_id: &DocId) -> Result<&mut RecordDoc> {
        self.docs
            .get_mut(doc_id)
            .ok_or_else(|| Error::Corrupt(format!("document {} not loaded", doc_id.as_str())))
    }

    fn forget_doc(&mut self, doc_id: &DocId) {
        self.docs.remove(doc_id);
        self.doc_order.retain(|d| d != doc_id);
    }

    /// Compacts a document once it has very many chunks, after a write has committed. A
    /// write's outcome is its commit: a compaction that fails (a full disk, a busy database)
    /// must not turn a stored record into a reported failure that a person would retry,
    /// recording the visit twice. It changes nothing when it fails (one transaction, and the
    /// document's own save cursor is untouched by a whole save), so it is simply tried again
    /// after the next write to the document.
    fn compact_if_due(&mut self, doc_id: &DocId) {
        let _postponed = self.chunk_count(doc_id).and_then(|chunks| {
            if chunks >= COMPACT_ON_WRITE_AFTER {
                self.compact(doc_id)
            } else {
                Ok(())
            }
        });
    }

    fn chunk_count(&self, doc_id: &DocId) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*) FROM doc_chunks WHERE doc_id = ?1")?
            .query_row([doc_id], |r| r.get(0))?)
    }

    /// Replaces a loaded document's chunks by one snapshot.
    fn compact(&mut self, doc_id: &DocId) -> Result<()> {
        let snapshot = self.doc_mut(doc_id)?.save();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
            .execute([doc_id])?;
        tx.prepare_cached("INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES (?1, 0, ?2)")?
            .execute(params![doc_id, snapshot])?;
        tx.commit()?;
        Ok(())
    }

    /// The work that a write leaves for later, to run when the phone is idle (the app's
    /// background job, the command line's `maintain`): every document stored in more than one
    /// chunk is compacted into one snapshot, which keeps loading it cheap, and the write-ahead
    /// log is checkpointed into the database file and truncated.
    pub fn run_maintenance(&mut self) -> Result<Maintenance> {
        let mut done = Maintenance::default();
        for doc_id in self.doc_ids()? {
            let chunks = self.chunk_count(&doc_id)?;
            if chunks > 1 {
                self.load_doc(&doc_id)?;
                self.compact(&doc_id)?;
                done.documents_compacted += 1;
                done.chunks_merged += usize::try_from(chunks).unwrap_or(usize::MAX);
            }
        }
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(done)
    }

    /// How many chunks each document is stored in (for tests and diagnostics).
    pub fn chunk_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id, count(*) FROM doc_chunks GROUP BY doc_id ORDER BY doc_id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Ids of every indexed record (for convergence checks).
    pub fn record_ids(&self) -> Result<BTreeSet<Id>> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM records")?;
        let ids = stmt.query_map([], |r| r.column(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }
}

/// A document's saved bytes as stored: every chunk, in order, concatenated.
fn read_doc_bytes(conn: &Connection, doc_id: &DocId) -> Result<Vec<u8>> {
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let mut out = Vec::new();
    let mut rows = stmt.query([doc_id])?;
    while let Some(row) = rows.next()? {
        out.extend_from_slice(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?);
    }
    Ok(out)
}

/// Where records being admitted were found, and when.
struct Place<'a> {
    circle: Id,
    doc_id: &'a DocId,
    now: UnixMs,
}

/// Verifies every value found under the keys `added` in `doc` and stores the valid, new
/// records; logs the rest as rejected. Both go into `report`. The values are read one key at a
/// time: a month merged whole is not held in memory a second time.
fn admit_all(
    tx: &Transaction<'_>,
    place: &Place<'_>,
    doc: &RecordDoc,
    added: &[String],
    batch: &mut index::Batch,
    report: &mut IngestReport,
) -> Result<()> {
    let Place {
        circle,
        doc_id,
        now,
    } = *place;
    for key in added {
        for bytes in doc.values_at(key)? {
            match index::admit(key, &bytes, circle, doc_id, &keys::StoredKeys(tx)) {
                Ok(index::Admitted::Record(record)) => {
                    if index::insert(tx, &record, doc_id, batch)? {
                        observe_clock(tx, record.hlc(), now)?;
                        report.added.push(record.id());
                    }
                }
                Ok(index::Admitted::Waiting {
                    id,
                    key_id,
                    elder,
                    hlc,
                }) => {
                    if keys::park(tx, id, key_id, elder, doc_id, &bytes)? {
                        observe_clock(tx, hlc, now)?;
                        report.waiting.push(id);
                    }
                }
                Err(reason) => {
                    let rejection = Rejection {
                        key: key.clone(),
                        doc_id: doc_id.as_str().to_string(),
                        reason: reason.to_string(),
                    };
                    index::log_rejection(tx, &rejection, &bytes)?;
                    report.rejected.push(rejection);
                }
            }
        }
    }
    Ok(())
}

fn push_chunk(
    tx: &Transaction<'_>,
    doc_id: &DocId,
    chunk: &[u8],
    heads: &[automerge::ChangeHash],
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO doc_chunks (doc_id, seq, bytes)
         VALUES (?1, (SELECT coalesce(max(seq), -1) + 1 FROM doc_chunks WHERE doc_id = ?1), ?2)",
    )?
    .execute(params![doc_id, chunk])?;
    sync_state::save_heads(tx, doc_id, heads)
}

/// Moves the stored clock past a record's timestamp, unless that is too far ahead of `now`.
fn observe_clock(tx: &Transaction<'_>, seen: Hlc, now: UnixMs) -> Result<()> {
    let current = read_clock(tx)?;
    let next = current.observe(seen, now);
    if next != current {
        write_clock(tx, next)?;
    }
    Ok(())
}

/// Stores the clock after issuing a timestamp.
fn write_clock(conn: &Connection, hlc: Hlc) -> Result<()> {
    meta_set(conn, "hlc", &format!("{}:{}", hlc.ms, hlc.counter))
}

fn read_clock(conn: &Connection) -> Result<Hlc> {
    let Some(text) = meta_get(conn, "hlc")? else {
        return Ok(Hlc::ZERO);
    };
    let parsed = text.split_once(':').and_then(|(ms, c)| {
        Some(Hlc {
            ms: ms.parse().ok()?,
            counter: c.parse().ok()?,
        })
    });
    parsed.ok_or_else(|| Error::Corrupt(format!("stored clock {text:?}")))
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?.execute([key, value])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Enrolment, RecordBody, Role, Site, SiteKind};
    use crate::identity::DeviceKey;
    use crate::record::{Envelope, V1};
    use crate::time::InstantOutOfRange;

    fn signed(key: &DeviceKey, circle: Id, ms: u64, body: RecordBody) -> SignedRecord {
        let envelope = Envelope {
            v: V1,
            circle,
            author: key.public_key(),
            hlc: Hlc { ms, counter: 0 },
            body,
            link: None,
        };
        SignedRecord::sign(envelope, key).expect("sign")
    }

    fn site(key: &DeviceKey, circle: Id, ms: u64) -> SignedRecord {
        let body = RecordBody::Site(Site {
            site_id: Id::random(),
            kind: SiteKind::Centre,
            name: "龙泉镇养老服务中心".into(),
            parent: None,
        });
        signed(key, circle, ms, body)
    }

    /// A store of schema version 7 indexed no confirmation kind or card code; opened by this
    /// build it rebuilds its indexes once, and its services say who confirmed them.
    #[test]
    fn a_store_upgraded_past_version_7_indexes_who_confirmed_its_services() {
        use crate::domain::{
            ConfirmMethod, Confirmation, ConfirmedBy, Funding, MealMode, Service, ServiceDetail,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let centre = DeviceKey::from_seed([1; 32]);
        let circle = Id::random();
        let ms = 1_793_577_600_000;
        let service = RecordBody::Service(Service {
            elder_id: Id::random(),
            provider_id: Id::random(),
            started_ms: ms,
            duration_minutes: 30,
            funding: Funding::SelfPaid,
            detail: ServiceDetail::Meal {
                mode: MealMode::Delivered,
                portions: 1,
                diet_notes: None,
            },
            confirmation: Some(Confirmation {
                by: ConfirmedBy::Elder,
                member_id: None,
                method: ConfirmMethod::InPerson,
                at_ms: ms,
                card: None,
            }),
        });
        let confirmed_by = |store: &Store| -> Option<String> {
            store
                .conn
                .query_row("SELECT confirmed_by FROM services", [], |r| r.get(0))
                .expect("service row")
        };
        {
            let mut store =
                Store::open(&path, &StoreKey::Plain, circle, centre.public_key()).expect("open");
            store
                .append(&signed(&centre, circle, ms, service))
                .expect("service");
            assert_eq!(confirmed_by(&store).as_deref(), Some("elder"));
            store
                .conn
                .execute_batch(
                    "DROP TABLE card_secrets;
                     DROP INDEX services_card_code;
                     ALTER TABLE services DROP COLUMN confirmed_by;
                     ALTER TABLE services DROP COLUMN card_code;
                     ALTER TABLE services DROP COLUMN card_id;
                     PRAGMA user_version = 7;",
                )
                .expect("downgrade");
        }
        let mut store =
            Store::open(&path, &StoreKey::Plain, circle, centre.public_key()).expect("upgrade");
        assert_eq!(
            confirmed_by(&store),
            None,
            "the new column is empty until the rebuild"
        );
        store.rebuild_if_outdated().expect("rebuild");
        assert_eq!(confirmed_by(&store).as_deref(), Some("elder"));
    }

    /// A store of schema version 2 (before certificates' validity was indexed) counted a key's
    /// records after its certificate expired; opened by this build, it no longer does.
    #[test]
    fn a_store_upgraded_past_version_2_applies_the_validity_of_certificates_it_already_held() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let centre = DeviceKey::from_seed([1; 32]);
        let member = DeviceKey::from_seed([2; 32]);
        let circle = Id::random();
        let ms = 1_793_577_600_000;
        let enrolment = RecordBody::Enrolment(Enrolment {
            member_id: Id::random(),
            name: "临时助老员".into(),
            role: Role::Caregiver,
            site_id: Id::random(),
            device_key: member.public_key(),
            family_of: None,
            valid_from_ms: None,
            valid_until_ms: Some(ms + 1_000),
            household: None,
            birth_year: None,
        });
        let late = site(&member, circle, ms + 5_000);
        {
            let mut store =
                Store::open(&path, &StoreKey::Plain, circle, centre.public_key()).expect("open");
            store
                .append(&signed(&centre, circle, ms, enrolment))
                .expect("enrol");
            store.append(&late).expect("a record after the expiry");
            // Back to version 2: no validity columns, and the record counted as it was then.
            store
                .conn
                .execute_batch(
                    "DROP TABLE epoch_keys;
                     DROP TABLE sealed_waiting;
                     DROP TABLE elder_keys;
                     DROP TABLE erased_elders;
                     DROP TABLE peer_elder_keys;
                     DROP TABLE member_profiles;
                     DROP TABLE access_log;
                     DROP TABLE access_log_elders;
                     DROP TABLE consent_changes;
                     DROP TABLE record_purposes;
                     DROP TABLE card_secrets;
                     DROP INDEX services_card_code;
                     ALTER TABLE services DROP COLUMN confirmed_by;
                     ALTER TABLE services DROP COLUMN card_code;
                     ALTER TABLE services DROP COLUMN card_id;
                     DROP INDEX records_chain;
                     ALTER TABLE records DROP COLUMN seq;
                     ALTER TABLE records DROP COLUMN prev;
                     ALTER TABLE revocations DROP COLUMN last_seq;
                     ALTER TABLE revocations DROP COLUMN last_id;
                     ALTER TABLE trusted_keys DROP COLUMN revoked_after_seq;
                     ALTER TABLE trusted_keys DROP COLUMN revoked_last_id;
                     ALTER TABLE members DROP COLUMN valid_from_ms;
                     ALTER TABLE members DROP COLUMN valid_until_ms;
                     ALTER TABLE trusted_keys DROP COLUMN valid_from_ms;
                     ALTER TABLE trusted_keys DROP COLUMN valid_until_ms;
                     UPDATE sites SET counted = 1;
                     PRAGMA user_version = 2;",
                )
                .expect("downgrade");
        }
        let store =
            Store::open(&path, &StoreKey::Plain, circle, centre.public_key()).expect("upgrade");
        let untrusted: Vec<Id> = store
            .untrusted_records()
            .expect("untrusted")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(untrusted, vec![late.id()]);
        let counted: bool = store
            .conn
            .query_row("SELECT counted FROM sites", [], |r| r.get(0))
            .expect("site row");
        assert!(!counted, "the expired key's site no longer counts");
    }

    #[test]
    fn writes_leave_compaction_to_maintenance_which_loses_nothing_and_empties_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let key = DeviceKey::from_seed([7; 32]);
        let circle = Id::random();
        let open = || Store::open(&path, &StoreKey::Plain, circle, key.public_key()).expect("open");
        let mut store = open();
        let ms = 1_793_577_600_000;
        let written: Vec<SignedRecord> = (0..80).map(|n| site(&key, circle, ms + n)).collect();
        for record in &written {
            store.append(record).expect("write");
        }
        let doc = DocId::for_hlc(written[0].hlc()).as_str().to_string();
        assert_eq!(
            store.chunk_counts().expect("counts"),
            vec![(doc.clone(), 80)]
        );

        let done = store.run_maintenance().expect("maintenance");
        assert_eq!(
            done,
            Maintenance {
                documents_compacted: 1,
                chunks_merged: 80
            }
        );
        assert_eq!(
            store.chunk_counts().expect("counts"),
            vec![(doc.clone(), 1)]
        );
        let wal = std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
        assert_eq!(wal, 0, "the log was checkpointed and truncated");
        assert_eq!(
            store.run_maintenance().expect("again"),
            Maintenance::default(),
            "nothing left to do"
        );
        drop(store);
        let reopened = open();
        for record in &written {
            assert_eq!(&reopened.get(record.id()).expect("kept"), record);
        }
    }

    /// The store, not only the bindings, refuses a wall clock outside 1970..=9999: it takes no
    /// timestamp from it and writes nothing (no panic, no clamping to the nearest year).
    #[test]
    fn a_wall_clock_outside_the_range_of_instants_is_refused_with_a_typed_error() {
        let key = DeviceKey::from_seed([3; 32]);
        let circle = Id::random();
        let mut store = Store::open_in_memory(circle, key.public_key()).expect("open");
        let record = site(&key, circle, 1_793_577_600_000);
        for reading in [u64::MAX, UnixMs::MAX.as_u64() + 1, u64::MAX / 2] {
            store.set_wall_clock(Arc::new(move || reading));
            let refused = |e: Error| {
                matches!(
                    e,
                    Error::Invalid(ValidationError::Instant {
                        field: "wall_clock",
                        source
                    }) if source == InstantOutOfRange::After9999(reading)
                )
            };
            assert!(store.now().is_err_and(refused), "{reading}");
            assert!(store.append(&record).is_err_and(refused), "{reading}");
        }
        assert!(store.record_ids().expect("ids").is_empty());
        store.set_wall_clock(Arc::new(|| UnixMs::MAX.as_u64()));
        assert_eq!(store.now().expect("the last instant"), UnixMs::MAX);
        store.append(&record).expect("stored");
    }

    /// Issue 11, finding 6: on a full disk the compaction after a write failed, the write
    /// reported "database or disk is full", and yet its record was stored and counted.
    #[test]
    fn a_write_that_committed_reports_success_when_the_compaction_after_it_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = DeviceKey::from_seed([7; 32]);
        let circle = Id::random();
        let mut store = Store::open(
            &dir.path().join("store.db"),
            &StoreKey::Plain,
            circle,
            key.public_key(),
        )
        .expect("open");
        let ms = 1_793_577_600_000;
        for n in 0..COMPACT_ON_WRITE_AFTER - 1 {
            store
                .append(&site(&key, circle, ms + n as u64))
                .expect("write");
        }
        // Every compaction fails from here on, as on a disk with no room for the snapshot.
        store
            .conn
            .execute_batch(
                "CREATE TEMP TRIGGER no_room BEFORE DELETE ON doc_chunks
                 BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
            )
            .expect("trigger");
        let last = site(&key, circle, ms + 100);
        store
            .append(&last)
            .expect("the record committed: the write succeeded");
        assert_eq!(store.get(last.id()).expect("stored"), last);
        let doc = DocId::for_hlc(last.hlc());
        let chunks = |store: &Store| store.chunk_counts().expect("counts");
        let doc = doc.as_str().to_string();
        assert_eq!(chunks(&store), vec![(doc.clone(), COMPACT_ON_WRITE_AFTER)]);

        // With room again the next write compacts, and nothing was lost.
        store
            .conn
            .execute_batch("DROP TRIGGER no_room")
            .expect("drop");
        store.append(&site(&key, circle, ms + 200)).expect("write");
        assert_eq!(chunks(&store), vec![(doc, 1)]);
        drop(store);
        let reopened = Store::open(
            &dir.path().join("store.db"),
            &StoreKey::Plain,
            circle,
            key.public_key(),
        )
        .expect("reopen");
        assert_eq!(
            reopened.record_ids().expect("ids").len(),
            usize::try_from(COMPACT_ON_WRITE_AFTER + 1).expect("count")
        );
    }
}
