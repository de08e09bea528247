//! The write-ahead log checkpointed on a thread of its own. SQLite's own checkpoint runs inside
//! the commit that takes the log past a thousand pages: one durable write in some fifty waited
//! for those pages to be copied into the database file and the file to be flushed (5–6 ms on a
//! village-year, six times the median write). Here such a commit only wakes a thread, which
//! checkpoints through a connection of its own without holding up writers (`PASSIVE`); once it
//! has copied the whole log, the next write starts the log again from its beginning. Should the
//! thread fall behind (writes that follow one another without pause leave it no moment to
//! finish), or be gone, a commit that leaves the log past twice the threshold checkpoints there
//! and then, as SQLite would have, copying only what the thread has not: the log stays bounded
//! either way. A checkpoint changes no data and SQLite keeps it crash-safe.

use std::ffi::c_int;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;

use super::at_rest::{self, StoreKey};
use crate::error::{Error, Result};

/// Log pages after which a commit wakes the thread (SQLite's own default threshold); past twice
/// as many a commit checkpoints itself.
pub(super) const CHECKPOINT_AFTER_PAGES: c_int = 1_000;

/// The thread that checkpoints one store file's log, woken by that store's commits.
pub(super) struct Checkpointer {
    wake: SyncSender<()>,
    stop: Arc<AtomicBool>,
    /// Checkpoints the thread has completed (the tests watch it).
    #[cfg(test)]
    done: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread for the store file at `path` (opened under `key` when first woken) and
    /// hooks `conn`'s commits to it, waking it past `after_pages` pages of log (and again each
    /// quarter of that more) and checkpointing inline past twice as many.
    pub(super) fn start(
        conn: &mut Connection,
        path: &Path,
        key: &StoreKey,
        after_pages: c_int,
    ) -> Result<Checkpointer> {
        let (wake, woken) = sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (path, key, stop, done) =
                (path.to_path_buf(), key.clone(), stop.clone(), done.clone());
            std::thread::Builder::new()
                .name("carebank-checkpoint".into())
                .spawn(move || checkpoint_when_woken(&path, &key, &woken, &stop, &done))
                .map_err(|e| Error::Io(format!("starting the checkpoint thread: {e}")))?
        };
        let hook_wake = wake.clone();
        let mut next_wake = after_pages;
        conn.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if pages < after_pages {
                // The log started again from its beginning.
                next_wake = after_pages;
            } else if pages >= after_pages.saturating_mul(2) {
                // The commit has happened whatever this returns: an error here would report a
                // stored write as failed (and a person would record it again). A checkpoint
                // refused now (the thread is in one) is tried at the next commit.
                let _retried_later = wal.checkpoint();
            } else if pages >= next_wake {
                // Once a quarter of the threshold more: each commit would keep the thread and
                // its flush of the database file busy beside every write.
                next_wake = pages.saturating_add(after_pages / 4);
                // Full means a wake-up is pending already.
                let _pending = hook_wake.try_send(());
            }
            Ok(())
        }))?;
        Ok(Checkpointer {
            wake,
            stop,
            #[cfg(test)]
            done,
            thread: Some(thread),
        })
    }

    /// How many checkpoints the thread has completed.
    #[cfg(test)]
    pub(super) fn checkpoints(&self) -> usize {
        self.done.load(Ordering::Acquire)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // A full channel already holds the wake-up that makes the thread see `stop`; a closed
        // one means the thread has ended.
        let _woken = self.wake.try_send(());
        if let Some(thread) = self.thread.take() {
            let _finished = thread.join();
        }
    }
}

/// The thread's loop: a passive checkpoint each time it is woken, until told to stop. Its
/// connection is opened at the first wake-up (with a passphrase that costs a key derivation,
/// which the store's open need not wait for); a checkpoint that fails (the database busy with
/// another checkpoint, the file unreadable) is tried again at the next wake-up.
fn checkpoint_when_woken(
    path: &Path,
    key: &StoreKey,
    woken: &Receiver<()>,
    stop: &AtomicBool,
    done: &AtomicUsize,
) {
    let mut conn: Option<Connection> = None;
    while woken.recv().is_ok() && !stop.load(Ordering::Acquire) {
        if conn.is_none() {
            conn = at_rest::open(path, key).ok();
        }
        if let Some(conn) = &conn {
            checkpoint_whole_log(conn, done);
        }
    }
}

/// Passes a checkpoint over the log until every frame is in the database file, at most
/// [`PASSES`] times. A passive checkpoint leaves the frames a writer committed while it ran
/// (and those of the snapshot a writer still reads); the log starts again from its beginning
/// only at a write that finds every frame copied, so each pass copies what the last one left,
/// fewer frames each time.
fn checkpoint_whole_log(conn: &Connection, done: &AtomicUsize) {
    /// Enough to catch up with writes that follow one another without pause.
    const PASSES: usize = 8;
    for _ in 0..PASSES {
        match conn.wal_checkpoint_v2(Some(rusqlite::MAIN_DB), CheckpointMode::PASSIVE) {
            Ok((log, copied)) => {
                done.fetch_add(1, Ordering::AcqRel);
                if copied >= log {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain database at `path` in WAL mode with a table `t` of blobs.
    fn open_log_table(path: &Path) -> Connection {
        let conn = at_rest::open(path, &StoreKey::Plain).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (x BLOB)")
            .expect("table");
        conn
    }

    /// Commits `n` rows of 3,000 random bytes, one transaction each.
    fn commit_rows(conn: &Connection, n: i64) {
        for _ in 0..n {
            conn.execute("INSERT INTO t VALUES (randomblob(3000))", [])
                .expect("insert");
        }
    }

    /// The rows of table `t`.
    fn rows_in(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count")
    }

    /// Frames in the log file (its 32-byte header, then each frame a 24-byte header and a page).
    fn frames_in_log(path: &Path, page: u64) -> u64 {
        let wal = std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
        wal.saturating_sub(32) / (page + 24)
    }

    #[test]
    fn the_thread_checkpoints_and_the_log_stays_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let mut conn = open_log_table(&path);
        let page: u64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size");
        let after = 16;
        let checkpointer =
            Checkpointer::start(&mut conn, &path, &StoreKey::Plain, after).expect("checkpointer");
        let commits = 600;
        commit_rows(&conn, commits);
        let waited = std::time::Instant::now();
        while checkpointer.checkpoints() == 0 && waited.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(checkpointer.checkpoints() > 0, "the thread checkpointed");
        // Without any checkpoint the log would hold a frame or more for each commit.
        let frames = frames_in_log(&path, page);
        assert!(
            frames <= 3 * after as u64,
            "{frames} frames in the log after {commits} commits"
        );
        assert_eq!(rows_in(&conn), commits);
        drop(checkpointer);
        drop(conn);
        assert_eq!(rows_in(&open_log_table(&path)), commits, "nothing lost");
    }

    /// Dropping the checkpointer stops and joins its thread whether it is idle or woken at
    /// every commit (a hang here fails the test run), and loses nothing.
    #[test]
    fn a_store_closes_while_its_thread_waits_or_works() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        for commits in [0, 40, 40] {
            let mut conn = open_log_table(&path);
            let checkpointer =
                Checkpointer::start(&mut conn, &path, &StoreKey::Plain, 1).expect("start");
            commit_rows(&conn, commits);
            drop(checkpointer);
            drop(conn);
        }
        assert_eq!(rows_in(&open_log_table(&path)), 80, "every commit kept");
    }
}
