//! Test fixtures: relay instances over a shared database (a SQLite file, or a PostgreSQL
//! schema of their own when `CAREBANK_TEST_POSTGRES_URL` is set), device stores, and syncs
//! straight into [`Relay::admit`] and [`Relay::answer`] without HTTP.

use carebank_core::domain::{Enrolment, Role, Site, SiteKind};
use carebank_core::hlc::wall_clock_ms;
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::sync::{CancelToken, Progress, RequestAuth, SyncError, Transport, run};
use carebank_core::{CareStore, Circle};

use crate::backend::{Backend, PostgresBackend, SqliteBackend};
use crate::pool::Pool;
use crate::state::{AuthPolicy, Relay};

/// 2026-11-02 08:00 CST: the clock of the test stores' records (one document).
pub const RECORD_MS: u64 = 1_793_577_600_000;

/// A database that several relay instances share.
pub enum Db {
    /// A SQLite file in a temporary directory.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL schema of its own, dropped at the end.
    Postgres {
        /// The base URL.
        base: String,
        /// The schema.
        schema: String,
    },
}

impl Db {
    /// SQLite, and PostgreSQL when a test server is configured (required in CI).
    pub fn all() -> Vec<Db> {
        let mut all = vec![Db::Sqlite(tempfile::tempdir().expect("dir"))];
        match std::env::var("CAREBANK_TEST_POSTGRES_URL") {
            Ok(base) if !base.is_empty() => {
                let schema = format!("relay_{}", Id::random());
                let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("pg");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("schema");
                all.push(Db::Postgres { base, schema });
            }
            _ => assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but CAREBANK_TEST_POSTGRES_URL is not set"
            ),
        }
        all
    }

    /// The URL of a PostgreSQL database with its schema first on the search path.
    fn pg_url(base: &str, schema: &str) -> String {
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-csearch_path%3D{schema}")
    }

    /// One connection to the database, its schema brought up to date.
    pub fn backend(&self) -> Box<dyn Backend> {
        self.open().expect("open")
    }

    /// One connection to the database, or why the backend refused it.
    pub fn open(&self) -> Result<Box<dyn Backend>, crate::RelayError> {
        Ok(match self {
            Db::Sqlite(dir) => Box::new(SqliteBackend::open(dir.path())?),
            Db::Postgres { base, schema } => {
                Box::new(PostgresBackend::connect(&Db::pg_url(base, schema))?)
            }
        })
    }

    /// Runs `sql` on the database directly, not through a backend (no migrations).
    pub fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("relay.sqlite3"))
                .and_then(|c| c.execute_batch(sql))
                .expect("sqlite"),
            Db::Postgres { base, schema } => {
                postgres::Client::connect(&Db::pg_url(base, schema), postgres::NoTls)
                    .and_then(|mut c| c.batch_execute(sql))
                    .expect("postgres")
            }
        }
    }

    /// The database as a relay before schema versions left it: migration 1's SQL, run as
    /// those relays ran it, and no version recorded.
    pub fn unversioned(&self) {
        let first = match self {
            Db::Sqlite(_) => crate::backend::SQLITE_MIGRATIONS[0],
            Db::Postgres { .. } => crate::backend::PG_MIGRATIONS[0],
        };
        self.execute(first);
    }

    /// Records schema version `version`, as a relay that knows that many migrations would.
    pub fn set_version(&self, version: i64) {
        self.execute(&match self {
            Db::Sqlite(_) => format!("PRAGMA user_version = {version}"),
            Db::Postgres { .. } => format!("UPDATE schema_version SET version = {version}"),
        });
    }

    /// The schema version recorded (0: none).
    pub fn version(&self) -> i64 {
        let query = match self {
            Db::Sqlite(_) => "SELECT user_version FROM pragma_user_version",
            Db::Postgres { .. } => {
                let table = "SELECT 'yes'::text FROM information_schema.tables
                             WHERE table_schema = current_schema() AND table_name = 'schema_version'";
                if self.rows(table).is_empty() {
                    return 0;
                }
                "SELECT version::text FROM schema_version"
            }
        };
        self.rows(query)
            .first()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The schema, one line per table column and per index (SQLite: the SQL of each object;
    /// PostgreSQL: `information_schema` columns and index definitions, without the schema name).
    pub fn schema(&self) -> Vec<String> {
        self.rows(match self {
            Db::Sqlite(_) => {
                "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master
                 ORDER BY type, name"
            }
            Db::Postgres { .. } => {
                "SELECT table_name || '.' || column_name || ' ' || data_type || ' '
                        || is_nullable || ' ' || ordinal_position::text || ' '
                        || coalesce(column_default, '')
                 FROM information_schema.columns WHERE table_schema = current_schema()
                 UNION ALL
                 SELECT indexname || ': ' || replace(indexdef, current_schema() || '.', '')
                 FROM pg_indexes WHERE schemaname = current_schema()
                 ORDER BY 1"
            }
        })
    }

    /// The number `query` counts.
    pub fn count(&self, query: &str) -> i64 {
        let query = match self {
            Db::Sqlite(_) => query.to_string(),
            Db::Postgres { .. } => format!("SELECT ({query})::text"),
        };
        self.rows(&query)
            .first()
            .and_then(|n| n.parse().ok())
            .expect("a count")
    }

    /// The first column of each row of `query`, as text.
    fn rows(&self, query: &str) -> Vec<String> {
        match self {
            Db::Sqlite(dir) => {
                let conn =
                    rusqlite::Connection::open(dir.path().join("relay.sqlite3")).expect("sqlite");
                let mut stmt = conn.prepare(query).expect("query");
                stmt.query_map([], |r| {
                    r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
                        rusqlite::types::Value::Integer(n) => n.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                })
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("rows")
            }
            Db::Postgres { base, schema } => {
                postgres::Client::connect(&Db::pg_url(base, schema), postgres::NoTls)
                    .and_then(|mut c| c.query(query, &[]))
                    .expect("postgres")
                    .iter()
                    .map(|r| r.get(0))
                    .collect()
            }
        }
    }

    /// A relay instance over the database (two connections), serving `circles`.
    pub fn relay(&self, circles: &[Circle]) -> Relay {
        let pool = Pool::new(vec![self.backend(), self.backend()]).expect("pool");
        for c in circles {
            pool.get()
                .expect("connection")
                .register_circle(c.circle_id, c.centre_key)
                .expect("register");
        }
        Relay::new(
            pool,
            AuthPolicy {
                max_skew_ms: 60_000,
            },
        )
    }

    /// What the database is, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres { base, schema } = self
            && let Ok(mut admin) = postgres::Client::connect(base, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

/// A device: its store and its signing key.
pub struct Phone {
    /// The store, whose records are clocked at [`RECORD_MS`] onwards.
    pub store: CareStore,
    /// Its key.
    pub key: DeviceKey,
}

fn key_of(seed: u64) -> DeviceKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8] = 0x5e;
    DeviceKey::from_seed(bytes)
}

impl Phone {
    /// The device signing with key `seed` in `circle`.
    pub fn open(circle: Circle, seed: u64) -> Phone {
        let mut store = CareStore::open_in_memory(circle, key_of(seed)).expect("store");
        store.set_wall_clock(Box::new(|| RECORD_MS));
        Phone {
            store,
            key: key_of(seed),
        }
    }

    /// The centre of a new circle (key `seed`), holding its centre site.
    pub fn centre(seed: u64) -> Phone {
        let circle = Circle {
            circle_id: Id::random(),
            centre_key: key_of(seed).public_key(),
        };
        let mut centre = Phone::open(circle, seed);
        centre
            .store
            .add_site(Site {
                site_id: SITE,
                kind: SiteKind::Centre,
                name: "中心".into(),
                parent: None,
            })
            .expect("site");
        centre
    }

    /// Writes one more record (a station under the centre site; the centre only).
    pub fn write(&mut self) -> Id {
        self.store
            .add_site(Site {
                site_id: Id::random(),
                kind: SiteKind::Station,
                name: "站".into(),
                parent: Some(SITE),
            })
            .expect("station")
    }

    /// Enrols device `seed` as a caregiver (the centre only); returns its phone.
    pub fn enrol(&mut self, seed: u64) -> Phone {
        let phone = Phone::open(self.store.circle(), seed);
        self.store
            .enrol(Enrolment {
                member_id: Id::random(),
                name: "助老员".into(),
                role: Role::Caregiver,
                site_id: SITE,
                device_key: phone.key.public_key(),
                family_of: None,
                valid_from_ms: None,
                valid_until_ms: None,
                household: None,
                birth_year: None,
            })
            .expect("enrol");
        phone
    }

    /// Syncs with `relay`, straight into [`Relay::admit`] and [`Relay::answer`].
    pub fn sync(&mut self, relay: &Relay) -> Result<Progress, SyncError> {
        let mut direct = Direct {
            relay,
            circle: self.store.circle().circle_id,
            key: &self.key,
        };
        run(
            &mut self.store,
            "relay",
            &mut direct,
            &CancelToken::new(),
            &mut |_| {},
        )
    }
}

/// The centre site of every test circle.
const SITE: Id = Id::from_bytes([0x51; 16]);

/// Requests signed as over HTTP, answered by a call.
struct Direct<'a> {
    relay: &'a Relay,
    circle: Id,
    key: &'a DeviceKey,
}

impl Transport for Direct<'_> {
    fn request(&mut self, body: &[u8]) -> Result<Vec<u8>, SyncError> {
        let path = format!("/v1/circles/{}/sync", self.circle);
        let now = wall_clock_ms();
        let auth = RequestAuth::sign(self.key, "POST", &path, body, now);
        let answered = self
            .relay
            .admit(self.circle, auth, now as i64)
            .and_then(|admitted| self.relay.answer(admitted, &path, body));
        match answered {
            Ok((_, reply)) => reply.encode(),
            Err(e) => Err(SyncError::Refused(e.to_string())),
        }
    }
}
