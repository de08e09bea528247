//! The SQLite schema and its migrations. Each migration is one numbered SQL script; the
//! database's `user_version` is the number of scripts applied. The tables of [`INDEX_TABLES`]
//! are materialised from the records and can be rebuilt at any time; the others hold what
//! cannot be derived again.

use rusqlite::Connection;

/// The migrations, in order. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: records, their documents, and the first query indexes.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE doc_chunks (
        doc_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (doc_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE records (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL,
        hlc_counter INTEGER NOT NULL,
        doc_id TEXT NOT NULL,
        bytes BLOB NOT NULL
    );
    CREATE INDEX records_author ON records (author);
    CREATE INDEX records_type ON records (type);
    CREATE TABLE rejected (
        key TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (key, bytes)
    );
    -- indexes
    CREATE TABLE trusted_keys (
        device_key TEXT PRIMARY KEY,
        member_id TEXT,
        role TEXT NOT NULL,
        revoked_from_ms INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE sites (
        site_id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        parent TEXT,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL,
        voided INTEGER NOT NULL DEFAULT 0,
        counted INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE members (
        device_key TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        site_id TEXT NOT NULL,
        family_of TEXT,
        issuer TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL
    );
    CREATE INDEX members_member ON members (member_id);
    CREATE TABLE revocations (
        record_id TEXT PRIMARY KEY,
        device_key TEXT NOT NULL,
        effective_ms INTEGER NOT NULL,
        issuer TEXT NOT NULL
    );
    CREATE TABLE elders (
        elder_id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        name TEXT NOT NULL,
        birth_year INTEGER NOT NULL,
        groups TEXT NOT NULL,
        care_level TEXT NOT NULL,
        cadence_days INTEGER NOT NULL,
        entitled_hours INTEGER NOT NULL,
        responsible TEXT,
        consent TEXT NOT NULL,
        enrolled_ms INTEGER NOT NULL,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL,
        voided INTEGER NOT NULL DEFAULT 0,
        counted INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE visits (
        record_id TEXT PRIMARY KEY,
        elder_id TEXT NOT NULL,
        caregiver_id TEXT NOT NULL,
        check_in_ms INTEGER NOT NULL,
        check_out_ms INTEGER NOT NULL,
        month TEXT NOT NULL,
        risk_flags TEXT NOT NULL,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL,
        voided INTEGER NOT NULL DEFAULT 0,
        counted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX visits_elder ON visits (elder_id, check_in_ms);
    CREATE INDEX visits_month ON visits (month);
    CREATE TABLE follow_ups (
        visit_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        elder_id TEXT NOT NULL,
        action TEXT NOT NULL,
        due_ms INTEGER,
        PRIMARY KEY (visit_id, idx)
    ) WITHOUT ROWID;
    CREATE TABLE follow_ups_done (
        record_id TEXT PRIMARY KEY,
        visit_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        done_at_ms INTEGER NOT NULL,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL,
        counted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX follow_ups_done_visit ON follow_ups_done (visit_id, idx);
    CREATE TABLE services (
        record_id TEXT PRIMARY KEY,
        elder_id TEXT NOT NULL,
        provider_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        funding TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        duration_minutes INTEGER NOT NULL,
        month TEXT NOT NULL,
        confirmed INTEGER NOT NULL,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL,
        voided INTEGER NOT NULL DEFAULT 0,
        counted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX services_month ON services (month, kind);
    CREATE INDEX services_elder ON services (elder_id, started_ms);
    CREATE TABLE corrections (
        record_id TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        action TEXT NOT NULL,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL,
        hlc_counter INTEGER NOT NULL
    );
    CREATE INDEX corrections_target ON corrections (target);
    "#,
    // 2: sync: each document's current heads, and the heads each peer is known to hold.
    r#"
    CREATE TABLE doc_heads (doc_id TEXT PRIMARY KEY, heads BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE sync_peers (
        peer TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        heads BLOB NOT NULL,
        PRIMARY KEY (peer, doc_id)
    ) WITHOUT ROWID;
    "#,
    // 3: certificates' validity periods in the index, so that the store counts a key's records
    // only within them, as the ledger does (read from the stored enrolments; the trusted keys
    // and every row's `counted` flag are derived again when a store opens after this step).
    r#"
    ALTER TABLE members ADD COLUMN valid_from_ms INTEGER;
    ALTER TABLE members ADD COLUMN valid_until_ms INTEGER;
    UPDATE members SET
        valid_from_ms = (SELECT json_extract(CAST(substr(r.bytes, 65) AS TEXT), '$.body.valid_from_ms')
                         FROM records r WHERE r.id = members.record_id),
        valid_until_ms = (SELECT json_extract(CAST(substr(r.bytes, 65) AS TEXT), '$.body.valid_until_ms')
                          FROM records r WHERE r.id = members.record_id);
    ALTER TABLE trusted_keys ADD COLUMN valid_from_ms INTEGER;
    ALTER TABLE trusted_keys ADD COLUMN valid_until_ms INTEGER;
    "#,
    // 4: device chains (record format version 2): each record's place in its author's chain,
    // and revocations that cut a key off at a chain position. Version-1 records have none.
    r#"
    ALTER TABLE records ADD COLUMN seq INTEGER;
    ALTER TABLE records ADD COLUMN prev TEXT;
    CREATE INDEX records_chain ON records (author, seq) WHERE seq IS NOT NULL;
    ALTER TABLE revocations ADD COLUMN last_seq INTEGER;
    ALTER TABLE revocations ADD COLUMN last_id TEXT;
    ALTER TABLE trusted_keys ADD COLUMN revoked_after_seq INTEGER;
    ALTER TABLE trusted_keys ADD COLUMN revoked_last_id TEXT;
    "#,
    // 5: sealed care records (decision 0014): the circle's epoch keys (the secret once this
    // device holds it; the database is encrypted at rest), records that wait for a key this
    // device does not hold yet, and members' names, which now travel sealed.
    r#"
    CREATE TABLE epoch_keys (
        key_id TEXT PRIMARY KEY,
        epoch INTEGER,
        author TEXT,
        hlc_ms INTEGER,
        secret BLOB
    ) WITHOUT ROWID;
    CREATE TABLE sealed_waiting (
        record_id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        bytes BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sealed_waiting_key ON sealed_waiting (key_id);
    CREATE TABLE member_profiles (
        member_id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        name TEXT NOT NULL,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 6 (issue 12, items 4 and 5): the access log, consent changes per purpose, and the
    // purposes each visit and service used (for flagging records made after a withdrawal).
    // Records held before this step used care records only as far as this step can tell from
    // the index (their bodies are not read here); a rebuild derives their other purposes.
    r#"
    CREATE TABLE access_log (
        record_id TEXT PRIMARY KEY,
        author TEXT NOT NULL,
        call TEXT NOT NULL,
        purpose TEXT NOT NULL,
        elder_count INTEGER NOT NULL,
        hlc_ms INTEGER NOT NULL,
        hlc_counter INTEGER NOT NULL,
        counted INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE access_log_elders (
        elder_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        PRIMARY KEY (elder_id, record_id)
    ) WITHOUT ROWID;
    CREATE TABLE consent_changes (
        record_id TEXT PRIMARY KEY,
        elder_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        given INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        author TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL,
        hlc_counter INTEGER NOT NULL,
        counted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX consent_changes_elder ON consent_changes (elder_id, purpose, at_ms);
    CREATE TABLE record_purposes (
        record_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        elder_id TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        field TEXT NOT NULL,
        PRIMARY KEY (record_id, purpose)
    ) WITHOUT ROWID;
    CREATE INDEX record_purposes_elder ON record_purposes (elder_id, purpose, at_ms);
    INSERT INTO record_purposes (record_id, purpose, elder_id, at_ms, field)
        SELECT record_id, 'care_records', elder_id, check_in_ms, 'visit' FROM visits;
    INSERT INTO record_purposes (record_id, purpose, elder_id, at_ms, field)
        SELECT record_id, 'care_records', elder_id, started_ms, 'service' FROM services
        WHERE kind <> 'emergency';
    "#,
    // 7 (issue 12, item 3): elder keys (keyring entries, outside the documents so that they can
    // be destroyed), the elders erased, which entries each peer is known to hold, and the elder
    // a record waits for when its personal fields are sealed under a key not held yet.
    r#"
    CREATE TABLE elder_keys (
        key_id TEXT PRIMARY KEY,
        elder TEXT NOT NULL,
        epoch_key_id TEXT NOT NULL,
        author TEXT NOT NULL,
        entry BLOB NOT NULL,
        secret BLOB
    ) WITHOUT ROWID;
    CREATE INDEX elder_keys_elder ON elder_keys (elder);
    CREATE TABLE erased_elders (
        elder TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        hlc_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE peer_elder_keys (
        peer TEXT NOT NULL,
        key_id TEXT NOT NULL,
        PRIMARY KEY (peer, key_id)
    ) WITHOUT ROWID;
    ALTER TABLE sealed_waiting ADD COLUMN elder TEXT;
    CREATE INDEX sealed_waiting_elder ON sealed_waiting (elder);
    "#,
    // 8 (issue 15, item 3; decision 0019): who confirmed each service and the card code it
    // carries, and the secrets of the code cards this device issued (kept, never derived: a
    // rebuild leaves them). A store upgraded to this step rebuilds its indexes once to fill the
    // new columns (`INDEX_REBUILT_AT`).
    r#"
    ALTER TABLE services ADD COLUMN confirmed_by TEXT;
    ALTER TABLE services ADD COLUMN card_code TEXT;
    ALTER TABLE services ADD COLUMN card_id TEXT;
    CREATE INDEX services_card_code ON services (card_code) WHERE card_code IS NOT NULL;
    CREATE TABLE card_secrets (
        card_id TEXT PRIMARY KEY,
        elder_id TEXT NOT NULL,
        secret BLOB NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 9 (issue 14): the documents' chunks move to a table with row ids. In a table without
    // row ids each chunk is a key of the primary-key tree, and a search of that tree that meets
    // a month's snapshot (megabytes, in overflow pages) reads the whole snapshot to compare
    // keys: every durable write searched it two or three times. Now the tree of (doc_id, seq)
    // holds only the keys and the bytes stay in the rows.
    r#"
    CREATE TABLE doc_chunks_rows (
        doc_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (doc_id, seq)
    );
    INSERT INTO doc_chunks_rows (doc_id, seq, bytes) SELECT doc_id, seq, bytes FROM doc_chunks;
    DROP TABLE doc_chunks;
    ALTER TABLE doc_chunks_rows RENAME TO doc_chunks;
    "#,
];

/// The schema version from which a store opening an older database rebuilds its indexes once
/// (the version whose new index columns only the records can fill).
pub const INDEX_REBUILT_AT: usize = 8;

/// The first schema version whose trust rows a store derives again when it opens an older
/// database (the version that added certificates' validity to the index).
pub const TRUST_REDERIVED_AT: usize = 3;

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database was written by a newer build.
    #[error("database schema version {found} is newer than this build's {SCHEMA_VERSION}")]
    TooNew {
        /// The version found.
        found: usize,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Applies the migrations the database lacks, each in its own transaction; returns the version
/// the database had before.
pub fn migrate(conn: &mut Connection) -> Result<usize, SchemaError> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Applies migrations up to `target` (tests use this to build old databases); returns the
/// version the database had before.
pub(crate) fn migrate_to(conn: &mut Connection, target: usize) -> Result<usize, SchemaError> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?
        .try_into()
        .unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(SchemaError::TooNew { found: current });
    }
    for (number, script) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(script)?;
        tx.pragma_update(None, "user_version", (number + 1) as i64)?;
        tx.commit()?;
    }
    Ok(current)
}

/// A materialised index table: derived from the records, so a rebuild empties and refills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexTable {
    /// The table's name.
    pub name: &'static str,
    /// Whether its rows carry a `counted` flag, which trust sets again from each row's
    /// `author`, `hlc_ms` and `record_id` whenever the trusted keys change.
    pub counted: bool,
    /// What erasing an elder does to the elder's rows (those whose `elder_id` is the elder).
    pub on_erasure: OnErasure,
}

/// What erasing an elder does to the elder's rows of one index table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnErasure {
    /// Nothing: the table holds no personal field.
    Keep,
    /// The personal columns are blanked: an SQL `SET` list.
    Blank(&'static str),
    /// The rows are deleted.
    Delete,
}

/// The one list of the materialised index tables. A rebuild empties each, trust recomputes the
/// `counted` flags it names, and an erasure blanks what it says; the tests check it against
/// the schema after every migration.
pub const INDEX_TABLES: &[IndexTable] = &[
    index_table("trusted_keys", false, OnErasure::Keep),
    index_table("sites", true, OnErasure::Keep),
    index_table("members", false, OnErasure::Keep),
    index_table("revocations", false, OnErasure::Keep),
    index_table(
        "elders",
        true,
        OnErasure::Blank("name = '', birth_year = 0"),
    ),
    index_table("visits", true, OnErasure::Blank("risk_flags = '[]'")),
    index_table("follow_ups", false, OnErasure::Delete),
    index_table("follow_ups_done", true, OnErasure::Keep),
    index_table("services", true, OnErasure::Keep),
    index_table("corrections", false, OnErasure::Keep),
    index_table("sealed_waiting", false, OnErasure::Keep),
    index_table("member_profiles", false, OnErasure::Keep),
    index_table("access_log", true, OnErasure::Keep),
    index_table("access_log_elders", false, OnErasure::Keep),
    index_table("consent_changes", true, OnErasure::Keep),
    index_table("record_purposes", false, OnErasure::Keep),
    index_table("erased_elders", false, OnErasure::Keep),
];

const fn index_table(name: &'static str, counted: bool, on_erasure: OnErasure) -> IndexTable {
    IndexTable {
        name,
        counted,
        on_erasure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn an_upgraded_database_equals_a_fresh_one() {
        let mut fresh = Connection::open_in_memory().expect("open");
        migrate(&mut fresh).expect("migrate");
        for start in 0..SCHEMA_VERSION {
            let mut old = Connection::open_in_memory().expect("open");
            migrate_to(&mut old, start).expect("old schema");
            migrate(&mut old).expect("upgrade");
            assert_eq!(
                schema_of(&old),
                schema_of(&fresh),
                "upgrade from version {start}"
            );
        }
        let version: i64 = fresh
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version as usize, SCHEMA_VERSION);
    }

    /// A month's chunks, the snapshot megabytes long, are rows of a table with row ids: a search
    /// of the (doc_id, seq) key meets keys only (a table without row ids keeps each chunk in the
    /// key tree, and a search reads the whole snapshot to compare keys). An upgrade keeps every
    /// chunk.
    #[test]
    fn chunks_live_outside_their_key_tree_and_an_upgrade_keeps_them() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate_to(&mut conn, 8).expect("version 8");
        conn.execute(
            "INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES ('m-2026-12', 0, ?1), ('m-2026-12', 1, x'01')",
            [vec![7u8; 100_000]],
        )
        .expect("chunks");
        migrate(&mut conn).expect("upgrade");
        let chunks: Vec<(i64, usize)> = conn
            .prepare("SELECT rowid, seq, length(bytes) FROM doc_chunks ORDER BY seq")
            .expect("a table with row ids")
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(chunks, [(0, 100_000), (1, 1)]);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", 99)
            .expect("pragma");
        assert!(matches!(
            migrate(&mut conn),
            Err(SchemaError::TooNew { found: 99 })
        ));
    }

    /// The tables that hold what cannot be derived again from the records (or the records
    /// themselves): everything else in the schema is an index table.
    const KEPT_TABLES: &[&str] = &[
        "meta",
        "doc_chunks",
        "records",
        "rejected",
        "doc_heads",
        "sync_peers",
        "epoch_keys",
        "elder_keys",
        "peer_elder_keys",
        "card_secrets",
    ];

    fn tables_of(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn columns_of(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .expect("prepare");
        stmt.query_map([table], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn every_index_table_exists() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        for table in INDEX_TABLES {
            conn.query_row(&format!("SELECT count(*) FROM {}", table.name), [], |r| {
                r.get::<_, i64>(0)
            })
            .expect(table.name);
        }
    }

    /// A table added by a migration is either kept or listed in `INDEX_TABLES` (so that a
    /// rebuild empties it), and listed once.
    #[test]
    fn every_table_of_the_schema_is_kept_or_an_index_table() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        let mut expected: Vec<String> = INDEX_TABLES
            .iter()
            .map(|t| t.name)
            .chain(KEPT_TABLES.iter().copied())
            .map(str::to_string)
            .collect();
        expected.sort();
        let mut unique = expected.clone();
        unique.dedup();
        assert_eq!(unique, expected, "a table listed twice");
        assert_eq!(tables_of(&conn), expected);
    }

    /// The flags of the list agree with the tables' columns: a table is marked `counted`
    /// exactly when it has a `counted` column (and then has what trust reads to set it), every
    /// table whose rows follow corrections (`voided`) is counted, and a table an erasure
    /// touches finds the elder's rows by `elder_id`.
    #[test]
    fn the_index_list_agrees_with_the_columns() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        for table in INDEX_TABLES {
            let columns = columns_of(&conn, table.name);
            let has = |column: &str| columns.iter().any(|c| c == column);
            assert_eq!(table.counted, has("counted"), "{}", table.name);
            if table.counted {
                for column in ["author", "hlc_ms", "record_id"] {
                    assert!(has(column), "{} has no {column}", table.name);
                }
            }
            if has("voided") {
                assert!(
                    table.counted,
                    "{} has voided rows but is not counted",
                    table.name
                );
            }
            if table.on_erasure != OnErasure::Keep {
                assert!(has("elder_id"), "{} has no elder_id", table.name);
            }
        }
    }
}
