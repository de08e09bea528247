//! The embedded SQLite backend (one file in the data directory, WAL, durable commits).

use std::path::Path;
use std::time::{Duration, Instant};

use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Appended, Backend, ElderKeyRow, MonthCloseRow, TrustRecord};
use crate::RelayError;

/// The migrations, in order; the database's `user_version` is the number applied. Never edit
/// one that has shipped: add another (and its PostgreSQL twin in `pg.rs`).
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the schema of the relays before versioning, verbatim (`IF NOT EXISTS` included: it is
    // how an unversioned database of theirs is adopted, see the module `backend`).
    r#"
CREATE TABLE IF NOT EXISTS circles (circle TEXT PRIMARY KEY, centre TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    circle TEXT NOT NULL, doc TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
    PRIMARY KEY (circle, doc, seq)
);
CREATE TABLE IF NOT EXISTS trust_records (
    circle TEXT NOT NULL, record_id TEXT NOT NULL, bytes BLOB NOT NULL,
    PRIMARY KEY (circle, record_id)
);
CREATE TABLE IF NOT EXISTS nonces (
    key TEXT NOT NULL, nonce BLOB NOT NULL, time_ms INTEGER NOT NULL,
    PRIMARY KEY (key, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_time ON nonces (time_ms);
"#,
    // 2: the circles' keyring entries (elder keys, sealed for the circle's devices) and the
    // elders erased, whose entries are deleted and refused from then on.
    r#"
CREATE TABLE elder_keys (
    circle TEXT NOT NULL, key_id TEXT NOT NULL, elder TEXT NOT NULL, entry BLOB NOT NULL,
    PRIMARY KEY (circle, key_id)
);
CREATE INDEX elder_keys_elder ON elder_keys (circle, elder);
CREATE TABLE erased_elders (
    circle TEXT NOT NULL, elder TEXT NOT NULL, record_id TEXT NOT NULL,
    PRIMARY KEY (circle, elder)
);
"#,
    // 3: the month closes the circles sent, by the district their town chain names (decision
    // 0017), so that a district's official collects them without reading the circles' documents.
    r#"
CREATE TABLE month_closes (
    circle TEXT NOT NULL, record_id TEXT NOT NULL, district TEXT NOT NULL, month TEXT NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (circle, record_id)
);
CREATE INDEX month_closes_district ON month_closes (district, month);
"#,
];

/// The relay's data in one SQLite file.
pub struct SqliteBackend {
    conn: Connection,
    /// A second connection to the same file, for nonces only, committing without waiting for
    /// the disk (`synchronous=NORMAL` in WAL mode): a nonce survives a crash of the relay
    /// process, but the last moments' may be lost in a power cut (see `use_nonce`).
    nonces: Connection,
}

/// How long a statement waits for another instance's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Puts the database in WAL mode. On a new file this needs the exclusive lock while holding a
/// shared one, so SQLite answers "busy" at once (its busy handler would deadlock) when another
/// instance is opening the same file: retried until [`BUSY_TIMEOUT`] has passed.
fn switch_to_wal(conn: &Connection) -> Result<(), RelayError> {
    let started = Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

impl SqliteBackend {
    /// Opens (creating if needed) `relay.sqlite3` in `dir`.
    pub fn open(dir: &Path) -> Result<SqliteBackend, RelayError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| RelayError::Config(format!("data directory {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("relay.sqlite3"))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        switch_to_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Deleted content (chunks replaced by a compaction) is overwritten with zeros, not left
        // in freed pages; what the relay holds is sealed anyway, but nothing it once held lingers.
        conn.pragma_update(None, "secure_delete", "ON")?;
        let nonces = Connection::open(dir.join("relay.sqlite3"))?;
        nonces.busy_timeout(BUSY_TIMEOUT)?;
        nonces.pragma_update(None, "synchronous", "NORMAL")?;
        let mut backend = SqliteBackend { conn, nonces };
        backend.migrate()?;
        Ok(backend)
    }

    /// Applies the migrations the database lacks, each in a transaction of its own that reads
    /// the version again (another process may be migrating the same file).
    fn migrate(&mut self) -> Result<(), RelayError> {
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let done = super::applied(found, MIGRATIONS.len(), "SQLite")?;
            let Some(script) = MIGRATIONS.get(done) else {
                return Ok(());
            };
            if done == 0 {
                let tables: i64 = tx.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'circles'",
                    [],
                    |r| r.get(0),
                )?;
                if tables > 0 {
                    super::adopt_unversioned("SQLite");
                }
            }
            tx.execute_batch(script)?;
            tx.pragma_update(None, "user_version", done as i64 + 1)?;
            tx.commit()?;
        }
    }
}

impl Backend for SqliteBackend {
    fn register_circle(&mut self, circle: Id, centre: PublicKey) -> Result<(), RelayError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO circles (circle, centre) VALUES (?1, ?2)",
            params![circle, centre],
        )?;
        match self.circle_centre(circle)? {
            Some(found) if found == centre => Ok(()),
            _ => Err(RelayError::Config(format!(
                "circle {circle} is registered to another centre key"
            ))),
        }
    }

    fn circle_centre(&mut self, circle: Id) -> Result<Option<PublicKey>, RelayError> {
        Ok(self
            .conn
            .query_row(
                "SELECT centre FROM circles WHERE circle = ?1",
                [circle],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn doc_versions(&mut self, circle: Id) -> Result<Vec<(String, i64)>, RelayError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc, max(seq) FROM chunks WHERE circle = ?1 GROUP BY doc ORDER BY doc",
        )?;
        let rows = stmt
            .query_map([circle], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn chunks_after(
        &mut self,
        circle: Id,
        doc: &str,
        after: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, RelayError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, bytes FROM chunks WHERE circle = ?1 AND doc = ?2 AND seq > ?3 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map(params![circle, doc, after], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn append_chunk(
        &mut self,
        circle: Id,
        doc: &str,
        chunk: &[u8],
        trust: &[TrustRecord],
        closes: &[MonthCloseRow],
    ) -> Result<Appended, RelayError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq: i64 = tx.query_row(
            "INSERT INTO chunks (circle, doc, seq, bytes) VALUES (?1, ?2,
               (SELECT coalesce(max(seq), -1) + 1 FROM chunks WHERE circle = ?1 AND doc = ?2), ?3)
             RETURNING seq",
            params![circle, doc, chunk],
            |r| r.get(0),
        )?;
        let chunks: i64 = tx.query_row(
            "SELECT count(*) FROM chunks WHERE circle = ?1 AND doc = ?2",
            params![circle, doc],
            |r| r.get(0),
        )?;
        for record in trust {
            tx.execute(
                "INSERT OR IGNORE INTO trust_records (circle, record_id, bytes) VALUES (?1, ?2, ?3)",
                params![circle, record.id, record.bytes],
            )?;
        }
        for close in closes {
            tx.execute(
                "INSERT OR IGNORE INTO month_closes (circle, record_id, district, month, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![circle, close.id, close.district, close.month, close.bytes],
            )?;
        }
        tx.commit()?;
        Ok(Appended { seq, chunks })
    }

    fn compact(
        &mut self,
        circle: Id,
        doc: &str,
        upto: i64,
        snapshot: &[u8],
    ) -> Result<bool, RelayError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let replaced: i64 = tx.query_row(
            "SELECT count(*) FROM chunks WHERE circle = ?1 AND doc = ?2 AND seq <= ?3",
            params![circle, doc, upto],
            |r| r.get(0),
        )?;
        if replaced <= 1 {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM chunks WHERE circle = ?1 AND doc = ?2 AND seq <= ?3",
            params![circle, doc, upto],
        )?;
        tx.execute(
            "INSERT INTO chunks (circle, doc, seq, bytes) VALUES (?1, ?2, ?3, ?4)",
            params![circle, doc, upto, snapshot],
        )?;
        tx.commit()?;
        // The log still holds the replaced pages until it is checkpointed; a busy reader only
        // postpones this to the next compaction or SQLite's own checkpoint.
        if let Err(e) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::warn!(error = %e, "checkpoint after compaction failed");
        }
        Ok(true)
    }

    fn trust_records(&mut self, circle: Id) -> Result<Vec<Vec<u8>>, RelayError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bytes FROM trust_records WHERE circle = ?1")?;
        let rows = stmt
            .query_map([circle], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn trust_version(&mut self, circle: Id) -> Result<i64, RelayError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM trust_records WHERE circle = ?1",
            [circle],
            |r| r.get(0),
        )?)
    }

    fn use_nonce(
        &mut self,
        key: &PublicKey,
        nonce: &[u8; 16],
        time_ms: i64,
        forget_before_ms: i64,
    ) -> Result<bool, RelayError> {
        // Not fsynced: a replay is refused across a crash or restart of the relay (the commit
        // is in the log), and the records a replay could carry are signed and idempotent anyway;
        // a power cut may forget the last moments' nonces, which an fsync per request (the
        // relay's bound on nothing-new syncs) would not be worth. Decision 0003.
        let tx = self
            .nonces
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("DELETE FROM nonces WHERE time_ms < ?1")?
            .execute([forget_before_ms])?;
        let inserted = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO nonces (key, nonce, time_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, nonce.as_slice(), time_ms])?;
        tx.commit()?;
        Ok(inserted == 1)
    }

    fn elder_keys(&mut self, circle: Id) -> Result<Vec<(String, Vec<u8>)>, RelayError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key_id, entry FROM elder_keys WHERE circle = ?1 ORDER BY key_id",
        )?;
        let rows = stmt
            .query_map([circle], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn add_elder_keys(&mut self, circle: Id, entries: &[ElderKeyRow]) -> Result<usize, RelayError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        for e in entries {
            added += tx.execute(
                "INSERT OR IGNORE INTO elder_keys (circle, key_id, elder, entry)
                 SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS
                   (SELECT 1 FROM erased_elders WHERE circle = ?1 AND elder = ?3)",
                params![circle, e.key_id, e.elder, e.entry],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    fn erase_elder(&mut self, circle: Id, elder: Id, record_id: &str) -> Result<bool, RelayError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let first = tx.execute(
            "INSERT OR IGNORE INTO erased_elders (circle, elder, record_id) VALUES (?1, ?2, ?3)",
            params![circle, elder, record_id],
        )?;
        tx.execute(
            "DELETE FROM elder_keys WHERE circle = ?1 AND elder = ?2",
            params![circle, elder],
        )?;
        tx.commit()?;
        // The deleted entries were zeroed in the file (secure_delete); the log's copies go too.
        if let Err(e) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::warn!(error = %e, "checkpoint after an erasure failed");
        }
        Ok(first > 0)
    }

    fn month_closes(&mut self, district: &str) -> Result<Vec<(Id, Vec<u8>)>, RelayError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT circle, bytes FROM month_closes WHERE district = ?1 ORDER BY circle, record_id",
        )?;
        let rows: Vec<(String, Vec<u8>)> = stmt
            .query_map([district], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(circle, bytes)| Ok((super::parse_id(&circle)?, bytes)))
            .collect()
    }

    fn health(&mut self) -> Result<(), RelayError> {
        self.conn
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }
}
