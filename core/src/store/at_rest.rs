//! Encryption at rest. A device's store file is a SQLCipher database: every page of the file and
//! of its write-ahead log is encrypted (AES-256-CBC) and authenticated (HMAC-SHA512) under the
//! store key. Temporary tables and indexes stay in memory (`temp_store = MEMORY`), so no
//! plaintext temporary file is written. A store written by an earlier build (plain SQLite) is
//! encrypted in place the first time it is opened with a key; see [`encrypt_plain_store`] for
//! why a crash at any point leaves one whole store.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, params};

use crate::error::{Error, Result};
use crate::identity::{SecretStore, load_or_create_secret};

/// The name the store key is kept under in the platform key store.
pub const STORE_KEY_NAME: &str = "store-key";

/// The first 16 bytes of every plain SQLite database file.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How a store file is protected at rest.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreKey {
    /// 32 random bytes kept in the platform key store, used as SQLCipher's key as they are: no
    /// key derivation at each open.
    Raw([u8; 32]),
    /// A passphrase a person types or keeps in a file, stretched by SQLCipher's own key
    /// derivation (PBKDF2-HMAC-SHA512, 256,000 iterations, a random salt in the file) at each open.
    Passphrase(String),
    /// No encryption: the format of stores before encryption at rest, kept for benchmarks and to
    /// make upgrade fixtures. Opening a plain store with a key encrypts it.
    Plain,
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.write_str(match self {
            StoreKey::Raw(_) => "StoreKey::Raw(..)",
            StoreKey::Passphrase(_) => "StoreKey::Passphrase(..)",
            StoreKey::Plain => "StoreKey::Plain",
        })
    }
}

impl StoreKey {
    /// The key for the store file at `path`, kept in `secrets` under `name`. On first use 32
    /// random bytes are made and kept there, unless the file already holds an encrypted store:
    /// then its key was lost, and a new one would not open it.
    pub fn from_key_store(secrets: &dyn SecretStore, name: &str, path: &Path) -> Result<StoreKey> {
        if secrets.load(name)?.is_none() && FileState::of(path)? == FileState::Encrypted {
            return Err(Error::WrongStoreKey(format!(
                "the key store holds no {name:?} for this encrypted store"
            )));
        }
        Ok(StoreKey::Raw(load_or_create_secret(secrets, name)?))
    }

    /// The key as SQLCipher reads it in `PRAGMA key` and `ATTACH … KEY`, or none for a plain store.
    fn sql_text(&self) -> Option<String> {
        match self {
            StoreKey::Raw(bytes) => Some(format!("x'{}'", hex::encode(bytes))),
            StoreKey::Passphrase(text) => Some(text.clone()),
            StoreKey::Plain => None,
        }
    }
}

/// What the file at a store's path holds, judged from its first bytes without opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileState {
    /// No store yet (no file, or an empty one).
    New,
    /// A plain SQLite database.
    Plain,
    /// Anything else: an encrypted store (its first bytes are a random salt), or not a database.
    Encrypted,
}

impl FileState {
    fn of(path: &Path) -> Result<FileState> {
        let mut bytes = Vec::with_capacity(PLAIN_HEADER.len());
        match File::open(path) {
            Ok(file) => {
                file.take(PLAIN_HEADER.len() as u64)
                    .read_to_end(&mut bytes)
                    .map_err(|e| io_error(path, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(path, e)),
        }
        Ok(if bytes.is_empty() {
            // A plain store whose first pages are still only in its log counts as plain.
            let wal = std::fs::metadata(sibling(path, "-wal")).map_or(0, |m| m.len());
            if wal > 0 {
                FileState::Plain
            } else {
                FileState::New
            }
        } else if bytes == PLAIN_HEADER {
            FileState::Plain
        } else {
            FileState::Encrypted
        })
    }
}

/// Opens the store file at `path` with `key`: encrypts a plain store first, and fails with
/// [`Error::WrongStoreKey`] (changing nothing on disk) if the key does not open the file.
pub(super) fn open(path: &Path, key: &StoreKey) -> Result<Connection> {
    match (FileState::of(path)?, key) {
        (FileState::Encrypted, StoreKey::Plain) => {
            return Err(Error::WrongStoreKey(
                "the store is encrypted and no key was given".into(),
            ));
        }
        (FileState::Plain, StoreKey::Raw(_) | StoreKey::Passphrase(_)) => {
            encrypt_plain_store(path, key, &mut |_| Ok(()))?;
        }
        _ => {}
    }
    let conn = Connection::open(path)?;
    // Closing a connection checkpoints the log into the file; one that the key does not open
    // must close without touching either.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    apply_key(&conn, key)?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
            Ok(conn)
        }
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            Err(Error::WrongStoreKey(
                "the key does not open this file (or it is not a carebank store); it was left as it was"
                    .into(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Gives the connection its key, before anything reads the file. Refuses to go on with a key in
/// a build without SQLCipher, where `PRAGMA key` would be ignored and the store left plain.
fn apply_key(conn: &Connection, key: &StoreKey) -> Result<()> {
    let Some(text) = key.sql_text() else {
        return Ok(());
    };
    conn.pragma_update(None, "key", &text)?;
    let cipher: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .ok();
    if cipher.is_none_or(|v| v.is_empty()) {
        return Err(Error::Corrupt(
            "this build's SQLite has no SQLCipher: it cannot keep the store encrypted".into(),
        ));
    }
    Ok(())
}

/// The steps of encrypting a plain store, after each of which a crash is survivable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The plain store's log is folded into its file, and it left WAL mode (no `-wal` file).
    Checkpointed,
    /// Its content is copied into the encrypted file next to it, which is closed.
    Exported,
    /// The encrypted file is on disk (fsync).
    Synced,
    /// The encrypted file has replaced the plain one (rename), not yet made durable.
    Renamed,
}

/// Encrypts the plain store at `path` under `key`, in place. The content is exported into
/// `<path>.encrypting` (`sqlcipher_export`), flushed, and renamed over the plain file, then the
/// folder is flushed. Until the rename the plain store is whole and a later open starts again
/// (an old `.encrypting` file is discarded); the rename is atomic, and from it on the encrypted
/// store is whole. The plain store leaves WAL mode first, so no log of plain pages is left to
/// be read against the encrypted file. `after` is told of each step done (tests stop there).
fn encrypt_plain_store(
    path: &Path,
    key: &StoreKey,
    after: &mut dyn FnMut(Step) -> Result<()>,
) -> Result<()> {
    let Some(key_text) = key.sql_text() else {
        return Ok(());
    };
    let encrypting = sibling(path, ".encrypting");
    for leftover in [encrypting.clone(), sibling(&encrypting, "-journal")] {
        remove_if_present(&leftover)?;
    }
    {
        let conn = Connection::open(path)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(Error::Corrupt(format!(
                "the plain store could not leave WAL mode to be encrypted (still {mode})"
            )));
        }
        after(Step::Checkpointed)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let target = encrypting
            .to_str()
            .ok_or_else(|| Error::Corrupt(format!("path {} is not UTF-8", path.display())))?;
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            params![target, key_text],
        )?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.pragma_update(Some("encrypted"), "user_version", version)?;
        conn.execute("DETACH DATABASE encrypted", [])?;
        conn.close().map_err(|(_, e)| e)?;
    }
    after(Step::Exported)?;
    File::open(&encrypting)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error(&encrypting, e))?;
    after(Step::Synced)?;
    let wal = sibling(path, "-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(Error::Corrupt(format!(
            "{} still holds a log after leaving WAL mode",
            wal.display()
        )));
    }
    for index in [wal, sibling(path, "-shm")] {
        remove_if_present(&index)?;
    }
    std::fs::rename(&encrypting, path).map_err(|e| io_error(path, e))?;
    after(Step::Renamed)?;
    sync_folder(path)
}

/// `path` with `suffix` added to its file name (`store.db` → `store.db-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path, e)),
        _ => Ok(()),
    }
}

/// Makes a rename in the folder holding `path` durable (a no-op where folders cannot be opened).
fn sync_folder(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(folder)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error(folder, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: StoreKey = StoreKey::Raw([7; 32]);

    /// A plain store in WAL mode with rows still in its log, as a phone leaves it.
    fn plain_store(path: &Path) -> Connection {
        let conn = Connection::open(path).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.execute_batch(
            "CREATE TABLE elders (name TEXT NOT NULL);
             INSERT INTO elders VALUES ('王秀英'), ('李桂兰');
             PRAGMA user_version = 9;",
        )
        .expect("rows");
        conn
    }

    fn names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM elders ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// A crash (here: an error) after any step of the encryption leaves either the plain store
    /// or the encrypted one, whole; the next open finishes the job.
    #[test]
    fn a_crash_at_any_step_of_encrypting_leaves_one_whole_store() {
        for stop in [
            Step::Checkpointed,
            Step::Exported,
            Step::Synced,
            Step::Renamed,
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("store.db");
            // The phone lost power with the store open: its file and its log as they were.
            let running = dir.path().join("running.db");
            let writer = plain_store(&running);
            for suffix in ["", "-wal"] {
                std::fs::copy(sibling(&running, suffix), sibling(&path, suffix)).expect("copy");
            }
            drop(writer);
            assert!(
                std::fs::metadata(sibling(&path, "-wal"))
                    .expect("log")
                    .len()
                    > 0
            );

            let crash = encrypt_plain_store(&path, &KEY, &mut |step| {
                if step == stop {
                    Err(Error::Corrupt("crash".into()))
                } else {
                    Ok(())
                }
            });
            assert!(crash.is_err(), "{stop:?}");
            let state = FileState::of(&path).expect("state");
            let survivor = match state {
                FileState::Plain => Connection::open(&path).expect("plain"),
                FileState::Encrypted => open(&path, &KEY).expect("encrypted"),
                FileState::New => panic!("after {stop:?} no store is left"),
            };
            assert_eq!(names(&survivor), ["李桂兰", "王秀英"], "after {stop:?}");
            drop(survivor);

            let conn = open(&path, &KEY).expect("the next open");
            assert_eq!(FileState::of(&path).expect("state"), FileState::Encrypted);
            assert_eq!(names(&conn), ["李桂兰", "王秀英"], "after {stop:?}");
            let version: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .expect("version");
            assert_eq!(version, 9, "the schema version moves with the data");
            assert!(!sibling(&path, ".encrypting").exists());
        }
    }

    #[test]
    fn a_passphrase_opens_what_it_encrypted_and_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        drop(plain_store(&path));
        let phrase = StoreKey::Passphrase("长寿 村 it's mine".into());
        assert_eq!(
            names(&open(&path, &phrase).expect("encrypt")),
            ["李桂兰", "王秀英"]
        );
        for wrong in [StoreKey::Passphrase("长寿".into()), KEY, StoreKey::Plain] {
            assert!(
                matches!(open(&path, &wrong), Err(Error::WrongStoreKey(_))),
                "{wrong:?}"
            );
        }
        assert_eq!(names(&open(&path, &phrase).expect("reopen")).len(), 2);
    }

    #[test]
    fn a_lost_store_key_is_not_replaced_by_a_new_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let secrets = crate::identity::MemorySecretStore::default();
        let key = StoreKey::from_key_store(&secrets, STORE_KEY_NAME, &path).expect("new key");
        open(&path, &key)
            .expect("create")
            .execute_batch("CREATE TABLE t (x)")
            .expect("write");
        assert_eq!(
            StoreKey::from_key_store(&secrets, STORE_KEY_NAME, &path).expect("same key"),
            key
        );
        let empty = crate::identity::MemorySecretStore::default();
        assert!(matches!(
            StoreKey::from_key_store(&empty, STORE_KEY_NAME, &path),
            Err(Error::WrongStoreKey(_))
        ));
        assert_eq!(empty.load(STORE_KEY_NAME).expect("load"), None);
    }
}
