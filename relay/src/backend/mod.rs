//! Where the relay keeps its data: SQLite (embedded, the default) or PostgreSQL (shared by
//! several relay instances). Both hold the same tables: circles, document chunks (each append
//! numbered per document), the records that bear on trust, and recently used request nonces.
//!
//! **Schema versions.** Each backend has its list of migrations, append-only: the schema
//! version is the number applied (SQLite: `PRAGMA user_version`; PostgreSQL: the one row of
//! table `schema_version`). Both lists have the same length, migration `n` making the same
//! change in each dialect. Opening a database applies what it lacks, and refuses one whose
//! version is newer than this build knows. Relays before versioning created today's tables
//! with `CREATE … IF NOT EXISTS` and recorded no version (0); migration 1 is that SQL
//! verbatim, so on such a database (detected by its `circles` table, and logged) it changes
//! nothing (or completes a half-created one) and the database is at version 1 from then on.

mod pg;
mod sqlite;

pub use pg::PostgresBackend;
pub use sqlite::SqliteBackend;
#[cfg(test)]
pub(crate) use {pg::MIGRATIONS as PG_MIGRATIONS, sqlite::MIGRATIONS as SQLITE_MIGRATIONS};

use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;

use crate::RelayError;

/// A record that bears on trust (an enrolment or a revocation), kept beside the chunks.
pub struct TrustRecord {
    /// The record id (hex).
    pub id: String,
    /// The signed record's bytes.
    pub bytes: Vec<u8>,
}

/// A keyring entry to keep, verified by the caller.
pub struct ElderKeyRow {
    /// The elder key's id (hex).
    pub key_id: String,
    /// The elder's id (hex).
    pub elder: String,
    /// The entry's bytes.
    pub entry: Vec<u8>,
}

/// A month close kept for its district, found in an appended chunk. The district is the one
/// its town chain names; the chain is verified under the province roots when a district asks.
pub struct MonthCloseRow {
    /// The record id (hex).
    pub id: String,
    /// The district key its chain names (hex).
    pub district: String,
    /// The month closed, `YYYY-MM`.
    pub month: String,
    /// The signed record's bytes.
    pub bytes: Vec<u8>,
}

/// Where an appended chunk went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The chunk's number.
    pub seq: i64,
    /// How many chunks the document is now stored in.
    pub chunks: i64,
}

/// The relay's storage. Calls block; the server runs them off the async threads.
///
/// Chunk numbers only grow: an append takes the document's highest number plus one, and a
/// compaction replaces the chunks numbered up to `k` by one chunk numbered `k`, so a reader that
/// had everything up to `j` catches up by reading the chunks numbered above `j` (the compacted
/// chunk repeats changes it holds when `j < k`, which loading tolerates). Trust records are
/// only ever added, so their count is their version.
pub trait Backend: Send {
    /// Serves `circle`, rooted at `centre`; refuses a circle already registered to another key.
    fn register_circle(&mut self, circle: Id, centre: PublicKey) -> Result<(), RelayError>;
    /// The centre key of a served circle.
    fn circle_centre(&mut self, circle: Id) -> Result<Option<PublicKey>, RelayError>;
    /// Each document of the circle with the number of its latest chunk.
    fn doc_versions(&mut self, circle: Id) -> Result<Vec<(String, i64)>, RelayError>;
    /// A document's chunks numbered above `after`, in order.
    fn chunks_after(
        &mut self,
        circle: Id,
        doc: &str,
        after: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, RelayError>;
    /// Appends a chunk to a document, with the trust records and month closes it brought, in
    /// one transaction.
    fn append_chunk(
        &mut self,
        circle: Id,
        doc: &str,
        chunk: &[u8],
        trust: &[TrustRecord],
        closes: &[MonthCloseRow],
    ) -> Result<Appended, RelayError>;
    /// Replaces the document's chunks numbered up to `upto` by `snapshot` (the document saved
    /// whole, holding at least everything in them), numbered `upto`, in one transaction.
    /// Returns false, changing nothing, when at most one chunk is numbered up to `upto`.
    fn compact(
        &mut self,
        circle: Id,
        doc: &str,
        upto: i64,
        snapshot: &[u8],
    ) -> Result<bool, RelayError>;
    /// Every trust record of the circle.
    fn trust_records(&mut self, circle: Id) -> Result<Vec<Vec<u8>>, RelayError>;
    /// How many trust records the circle has (they are only ever added: a cheap version).
    fn trust_version(&mut self, circle: Id) -> Result<i64, RelayError>;
    /// Records a request nonce; false if this key used it before. Nonces older than
    /// `forget_before_ms` are dropped.
    fn use_nonce(
        &mut self,
        key: &PublicKey,
        nonce: &[u8; 16],
        time_ms: i64,
        forget_before_ms: i64,
    ) -> Result<bool, RelayError>;
    /// The circle's keyring entries: (key id, entry).
    fn elder_keys(&mut self, circle: Id) -> Result<Vec<(String, Vec<u8>)>, RelayError>;
    /// Keeps keyring entries, except those of elders erased; returns how many were new.
    fn add_elder_keys(&mut self, circle: Id, entries: &[ElderKeyRow]) -> Result<usize, RelayError>;
    /// Erases an elder: deletes their entries (zeroed in the file), and refuses any later one.
    /// Returns false if the elder was erased already.
    fn erase_elder(&mut self, circle: Id, elder: Id, record_id: &str) -> Result<bool, RelayError>;
    /// Every month close kept for `district` (a key, hex): (circle, record bytes).
    fn month_closes(&mut self, district: &str) -> Result<Vec<(Id, Vec<u8>)>, RelayError>;
    /// Whether the database answers.
    fn health(&mut self) -> Result<(), RelayError>;
}

/// Checks a database's schema version `found` against the `known` migrations of this build;
/// returns how many are applied (so the ones to apply are `found..known`).
fn applied(found: i64, known: usize, database: &str) -> Result<usize, RelayError> {
    let found = usize::try_from(found)
        .map_err(|_| RelayError::Database(format!("{database} schema version {found}")))?;
    if found > known {
        return Err(RelayError::Database(format!(
            "the {database} database is at relay schema version {found}, newer than the {known} \
             this relay knows: a newer relay wrote it; run that version or a later one"
        )));
    }
    Ok(found)
}

/// Logs that an unversioned database from before schema versions is taken as version 1.
fn adopt_unversioned(database: &str) {
    tracing::info!(
        database,
        "an unversioned relay database (made before schema versions): taken as version 1"
    );
}

/// Reads a stored public key.
fn parse_key(text: &str) -> Result<PublicKey, RelayError> {
    text.parse()
        .map_err(|_| RelayError::Database(format!("stored centre key {text:?}")))
}

fn parse_id(text: &str) -> Result<Id, RelayError> {
    text.parse()
        .map_err(|_| RelayError::Database(format!("stored circle id {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Db;

    #[test]
    fn both_backends_know_the_same_number_of_migrations() {
        assert_eq!(SQLITE_MIGRATIONS.len(), PG_MIGRATIONS.len());
    }

    #[test]
    fn an_unversioned_database_upgrades_to_the_schema_of_a_fresh_one() {
        for (old, fresh) in Db::all().into_iter().zip(Db::all()) {
            let name = old.name();
            old.unversioned();
            let circle = Id::random();
            let centre: PublicKey = PublicKey::from_bytes([7; 32]);
            old.execute(&format!(
                "INSERT INTO circles (circle, centre) VALUES ('{circle}', '{centre}')"
            ));
            assert_eq!(old.version(), 0, "{name}");
            let mut upgraded = old.backend();
            drop(fresh.backend());
            assert_eq!(old.schema(), fresh.schema(), "{name}");
            assert!(old.schema().iter().any(|t| t.contains("nonces")), "{name}");
            assert_eq!(old.version(), SQLITE_MIGRATIONS.len() as i64, "{name}");
            assert_eq!(fresh.version(), SQLITE_MIGRATIONS.len() as i64, "{name}");
            // What the old relay held is still there.
            assert_eq!(
                upgraded.circle_centre(circle).expect("read"),
                Some(centre),
                "{name}"
            );
        }
    }

    #[test]
    fn opening_an_up_to_date_database_again_changes_nothing() {
        for db in Db::all() {
            let name = db.name();
            drop(db.backend());
            let (schema, version) = (db.schema(), db.version());
            drop(db.backend());
            drop(db.backend());
            assert_eq!(db.schema(), schema, "{name}");
            assert_eq!(db.version(), version, "{name}");
        }
    }

    #[test]
    fn instances_migrating_a_fresh_database_at_once_take_turns() {
        for db in Db::all() {
            let name = db.name();
            std::thread::scope(|s| {
                let opened: Vec<_> = (0..4).map(|_| s.spawn(|| db.open().map(drop))).collect();
                for o in opened {
                    o.join().expect("thread").expect("opened");
                }
            });
            assert_eq!(db.version(), SQLITE_MIGRATIONS.len() as i64, "{name}");
        }
    }

    #[test]
    fn a_database_of_a_newer_schema_is_refused() {
        for db in Db::all() {
            let name = db.name();
            drop(db.backend());
            let newer = SQLITE_MIGRATIONS.len() as i64 + 1;
            db.set_version(newer);
            let err = db.open().err().expect("refused");
            let message = err.to_string();
            assert!(
                message.contains(&format!("schema version {newer}")) && message.contains("newer"),
                "{name}: {message}"
            );
            assert_eq!(db.version(), newer, "{name}: left as it was");
        }
    }

    #[test]
    fn both_backends_number_compact_and_count_alike() {
        for db in Db::all() {
            let name = db.name();
            let mut b = db.backend();
            let circle = Id::random();
            let doc = "records/2026-11";
            let chunk = |n: u8| vec![n; 8];
            for n in 0..3u8 {
                let appended = b
                    .append_chunk(circle, doc, &chunk(n), &[], &[])
                    .expect("append");
                let want = Appended {
                    seq: i64::from(n),
                    chunks: i64::from(n) + 1,
                };
                assert_eq!(appended, want, "{name}");
            }
            assert!(
                b.compact(circle, doc, 1, b"whole").expect("compact"),
                "{name}"
            );
            let expect = vec![(1, b"whole".to_vec()), (2, chunk(2))];
            assert_eq!(
                b.chunks_after(circle, doc, -1).expect("all"),
                expect,
                "{name}"
            );
            // An instance that had read chunk 0 reads the compacted chunk, one that had read
            // chunk 1 does not.
            assert_eq!(b.chunks_after(circle, doc, 0).expect("after 0"), expect);
            assert_eq!(
                b.chunks_after(circle, doc, 1).expect("after 1"),
                expect[1..]
            );
            assert!(!b.compact(circle, doc, 1, b"again").expect("nothing to do"));
            assert!(!b.compact(circle, doc, 0, b"below").expect("nothing to do"));
            let appended = b
                .append_chunk(circle, doc, &chunk(3), &[], &[])
                .expect("append");
            assert_eq!(appended, Appended { seq: 3, chunks: 3 }, "{name}");
            assert_eq!(
                b.doc_versions(circle).expect("versions"),
                vec![(doc.into(), 3)]
            );

            assert_eq!(b.trust_version(circle).expect("version"), 0);
            let record = |id: &str| TrustRecord {
                id: id.into(),
                bytes: id.as_bytes().to_vec(),
            };
            b.append_chunk(circle, doc, &chunk(4), &[record("a"), record("b")], &[])
                .expect("with trust");
            b.append_chunk(circle, doc, &chunk(5), &[record("b")], &[])
                .expect("again");
            assert_eq!(b.trust_version(circle).expect("version"), 2, "{name}");
            assert_eq!(b.trust_version(Id::random()).expect("other"), 0);

            let close = |id: &str, district: &str| MonthCloseRow {
                id: id.into(),
                district: district.into(),
                month: "2026-11".into(),
                bytes: id.as_bytes().to_vec(),
            };
            b.append_chunk(
                circle,
                doc,
                &chunk(6),
                &[],
                &[close("c1", "d1"), close("c2", "d2")],
            )
            .expect("with closes");
            b.append_chunk(circle, doc, &chunk(7), &[], &[close("c1", "d1")])
                .expect("the same close again");
            assert_eq!(
                b.month_closes("d1").expect("closes"),
                vec![(circle, b"c1".to_vec())],
                "{name}"
            );
            assert!(b.month_closes("d3").expect("none").is_empty());
        }
    }
}
