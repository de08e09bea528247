//! The PostgreSQL backend, for several relay instances behind one load balancer. Appends to a
//! document and its compactions are serialised by a transaction-scoped advisory lock, so each
//! document's chunk numbers commit in order and every instance can catch up by reading the
//! numbers above the last it saw. Connections are plain TCP (meant for a database on loopback or a private link).

use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;
use postgres::{Client, NoTls, Transaction};

use super::{Appended, Backend, ElderKeyRow, MonthCloseRow, TrustRecord, parse_key};
use crate::RelayError;

/// The migrations, in order; the one row of `schema_version` is the number applied. Never edit
/// one that has shipped: add another (and its SQLite twin in `sqlite.rs`).
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the schema of the relays before versioning, verbatim (`IF NOT EXISTS` included: it is
    // how an unversioned database of theirs is adopted, see the module `backend`).
    r#"
CREATE TABLE IF NOT EXISTS circles (circle TEXT PRIMARY KEY, centre TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    circle TEXT NOT NULL, doc TEXT NOT NULL, seq BIGINT NOT NULL, bytes BYTEA NOT NULL,
    PRIMARY KEY (circle, doc, seq)
);
CREATE TABLE IF NOT EXISTS trust_records (
    circle TEXT NOT NULL, record_id TEXT NOT NULL, bytes BYTEA NOT NULL,
    PRIMARY KEY (circle, record_id)
);
CREATE TABLE IF NOT EXISTS nonces (
    key TEXT NOT NULL, nonce BYTEA NOT NULL, time_ms BIGINT NOT NULL,
    PRIMARY KEY (key, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_time ON nonces (time_ms);
"#,
    // 2: the circles' keyring entries (elder keys, sealed for the circle's devices) and the
    // elders erased, whose entries are deleted and refused from then on.
    r#"
CREATE TABLE elder_keys (
    circle TEXT NOT NULL, key_id TEXT NOT NULL, elder TEXT NOT NULL, entry BYTEA NOT NULL,
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
    bytes BYTEA NOT NULL,
    PRIMARY KEY (circle, record_id)
);
CREATE INDEX month_closes_district ON month_closes (district, month);
"#,
];

/// The table that holds the schema version (made before any migration, kept out of them).
const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), version BIGINT NOT NULL
)";

/// The advisory lock that migrating instances take, so that relays starting at once take turns.
const MIGRATION_LOCK: i64 = 7240431;

/// The relay's data in a PostgreSQL database.
pub struct PostgresBackend {
    /// Always present until dropped (see the `Drop` impl).
    client: Option<Client>,
}

impl PostgresBackend {
    /// Connects to `url` (`postgres://user@host:port/db`) and brings the schema up to date.
    /// Call it off the async threads: the client blocks.
    pub fn connect(url: &str) -> Result<PostgresBackend, RelayError> {
        let mut client = Client::connect(url, NoTls)?;
        migrate(&mut client)?;
        Ok(PostgresBackend {
            client: Some(client),
        })
    }

    fn client(&mut self) -> Result<&mut Client, RelayError> {
        self.client
            .as_mut()
            .ok_or_else(|| RelayError::Internal("the database connection is closed".into()))
    }
}

impl Drop for PostgresBackend {
    /// The blocking client owns a runtime, which may not be dropped on an async thread (where
    /// the relay's state ends up at shutdown): drop it on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

/// Applies the migrations the database lacks, in one transaction under an advisory lock:
/// instances starting at once take turns, and the later ones find the work done.
fn migrate(client: &mut Client) -> Result<(), RelayError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(VERSION_TABLE)?;
    let found: i64 = tx
        .query_opt("SELECT version FROM schema_version", &[])?
        .map_or(0, |r| r.get(0));
    let done = super::applied(found, MIGRATIONS.len(), "PostgreSQL")?;
    if done == MIGRATIONS.len() {
        return Ok(());
    }
    if done == 0 {
        let tables: i64 = tx
            .query_one(
                "SELECT count(*) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name = 'circles'",
                &[],
            )?
            .get(0);
        if tables > 0 {
            super::adopt_unversioned("PostgreSQL");
        }
    }
    for script in MIGRATIONS.iter().skip(done) {
        tx.batch_execute(script)?;
    }
    tx.execute(
        "INSERT INTO schema_version (version) VALUES ($1)
         ON CONFLICT (one) DO UPDATE SET version = excluded.version",
        &[&(MIGRATIONS.len() as i64)],
    )?;
    tx.commit()?;
    Ok(())
}

/// Serialises the transactions that change one document's chunks, across every instance.
fn lock_doc(tx: &mut Transaction<'_>, circle: &str, doc: &str) -> Result<(), RelayError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))",
        &[&circle, &doc],
    )?;
    Ok(())
}

impl Backend for PostgresBackend {
    fn register_circle(&mut self, circle: Id, centre: PublicKey) -> Result<(), RelayError> {
        self.client()?.execute(
            "INSERT INTO circles (circle, centre) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&circle.to_string(), &centre.to_string()],
        )?;
        match self.circle_centre(circle)? {
            Some(found) if found == centre => Ok(()),
            _ => Err(RelayError::Config(format!(
                "circle {circle} is registered to another centre key"
            ))),
        }
    }

    fn circle_centre(&mut self, circle: Id) -> Result<Option<PublicKey>, RelayError> {
        let row = self.client()?.query_opt(
            "SELECT centre FROM circles WHERE circle = $1",
            &[&circle.to_string()],
        )?;
        row.map(|r| parse_key(&r.get::<_, String>(0))).transpose()
    }

    fn doc_versions(&mut self, circle: Id) -> Result<Vec<(String, i64)>, RelayError> {
        let rows = self.client()?.query(
            "SELECT doc, max(seq) FROM chunks WHERE circle = $1 GROUP BY doc ORDER BY doc",
            &[&circle.to_string()],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn chunks_after(
        &mut self,
        circle: Id,
        doc: &str,
        after: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, RelayError> {
        let rows = self.client()?.query(
            "SELECT seq, bytes FROM chunks WHERE circle = $1 AND doc = $2 AND seq > $3 ORDER BY seq",
            &[&circle.to_string(), &doc, &after],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn append_chunk(
        &mut self,
        circle: Id,
        doc: &str,
        chunk: &[u8],
        trust: &[TrustRecord],
        closes: &[MonthCloseRow],
    ) -> Result<Appended, RelayError> {
        let circle = circle.to_string();
        let mut tx = self.client()?.transaction()?;
        lock_doc(&mut tx, &circle, doc)?;
        let seq: i64 = tx
            .query_one(
                "INSERT INTO chunks (circle, doc, seq, bytes) VALUES ($1, $2,
                   (SELECT coalesce(max(seq), -1) + 1 FROM chunks WHERE circle = $1 AND doc = $2), $3)
                 RETURNING seq",
                &[&circle, &doc, &chunk],
            )?
            .get(0);
        let chunks: i64 = tx
            .query_one(
                "SELECT count(*) FROM chunks WHERE circle = $1 AND doc = $2",
                &[&circle, &doc],
            )?
            .get(0);
        for record in trust {
            tx.execute(
                "INSERT INTO trust_records (circle, record_id, bytes) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&circle, &record.id, &record.bytes],
            )?;
        }
        for close in closes {
            tx.execute(
                "INSERT INTO month_closes (circle, record_id, district, month, bytes)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    &circle,
                    &close.id,
                    &close.district,
                    &close.month,
                    &close.bytes,
                ],
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
        let circle = circle.to_string();
        let mut tx = self.client()?.transaction()?;
        lock_doc(&mut tx, &circle, doc)?;
        let replaced: i64 = tx
            .query_one(
                "SELECT count(*) FROM chunks WHERE circle = $1 AND doc = $2 AND seq <= $3",
                &[&circle, &doc, &upto],
            )?
            .get(0);
        if replaced <= 1 {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM chunks WHERE circle = $1 AND doc = $2 AND seq <= $3",
            &[&circle, &doc, &upto],
        )?;
        tx.execute(
            "INSERT INTO chunks (circle, doc, seq, bytes) VALUES ($1, $2, $3, $4)",
            &[&circle, &doc, &upto, &snapshot],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn month_closes(&mut self, district: &str) -> Result<Vec<(Id, Vec<u8>)>, RelayError> {
        let rows = self.client()?.query(
            "SELECT circle, bytes FROM month_closes WHERE district = $1 ORDER BY circle, record_id",
            &[&district],
        )?;
        rows.iter()
            .map(|r| Ok((super::parse_id(&r.get::<_, String>(0))?, r.get(1))))
            .collect()
    }

    fn trust_records(&mut self, circle: Id) -> Result<Vec<Vec<u8>>, RelayError> {
        let rows = self.client()?.query(
            "SELECT bytes FROM trust_records WHERE circle = $1",
            &[&circle.to_string()],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn elder_keys(&mut self, circle: Id) -> Result<Vec<(String, Vec<u8>)>, RelayError> {
        let rows = self.client()?.query(
            "SELECT key_id, entry FROM elder_keys WHERE circle = $1 ORDER BY key_id",
            &[&circle.to_string()],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn add_elder_keys(&mut self, circle: Id, entries: &[ElderKeyRow]) -> Result<usize, RelayError> {
        let circle = circle.to_string();
        let mut tx = self.client()?.transaction()?;
        let mut added = 0;
        for e in entries {
            added += tx.execute(
                "INSERT INTO elder_keys (circle, key_id, elder, entry)
                 SELECT $1, $2, $3, $4 WHERE NOT EXISTS
                   (SELECT 1 FROM erased_elders WHERE circle = $1 AND elder = $3)
                 ON CONFLICT DO NOTHING",
                &[&circle, &e.key_id, &e.elder, &e.entry],
            )?;
        }
        tx.commit()?;
        Ok(usize::try_from(added).unwrap_or(usize::MAX))
    }

    fn erase_elder(&mut self, circle: Id, elder: Id, record_id: &str) -> Result<bool, RelayError> {
        let (circle, elder) = (circle.to_string(), elder.to_string());
        let mut tx = self.client()?.transaction()?;
        let first = tx.execute(
            "INSERT INTO erased_elders (circle, elder, record_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&circle, &elder, &record_id],
        )?;
        tx.execute(
            "DELETE FROM elder_keys WHERE circle = $1 AND elder = $2",
            &[&circle, &elder],
        )?;
        tx.commit()?;
        Ok(first > 0)
    }

    fn trust_version(&mut self, circle: Id) -> Result<i64, RelayError> {
        Ok(self
            .client()?
            .query_one(
                "SELECT count(*) FROM trust_records WHERE circle = $1",
                &[&circle.to_string()],
            )?
            .get(0))
    }

    fn use_nonce(
        &mut self,
        key: &PublicKey,
        nonce: &[u8; 16],
        time_ms: i64,
        forget_before_ms: i64,
    ) -> Result<bool, RelayError> {
        let mut tx = self.client()?.transaction()?;
        // Committed without waiting for the disk, as on SQLite (decision 0003): lost only in a
        // crash of the database server itself, never half-written.
        tx.batch_execute("SET LOCAL synchronous_commit TO OFF")?;
        tx.execute(
            "DELETE FROM nonces WHERE time_ms < $1",
            &[&forget_before_ms],
        )?;
        let inserted = tx.execute(
            "INSERT INTO nonces (key, nonce, time_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&key.to_string(), &nonce.as_slice(), &time_ms],
        )?;
        tx.commit()?;
        Ok(inserted == 1)
    }

    fn health(&mut self) -> Result<(), RelayError> {
        self.client()?.query_one("SELECT 1", &[])?;
        Ok(())
    }
}
