//! For the fault harness (`scripts/faults.py`), which cannot read an encrypted store itself:
//! opens a command-line device folder's `store.db` read-only with the key in its
//! `keys/store-key.key`, prints SQLite's integrity check (`ok` when whole), then every record
//! id, one a line. Fails (exit 1) if the store cannot be opened or read.
//!
//! Run: `cargo run -p carebank-scenarios --example store_check -- DEVICE_FOLDER`

use std::path::Path;
use std::process::ExitCode;

use rusqlite::{Connection, OpenFlags};

fn main() -> ExitCode {
    let Some(folder) = std::env::args().nth(1) else {
        eprintln!("usage: store_check DEVICE_FOLDER");
        return ExitCode::FAILURE;
    };
    match check(Path::new(&folder)) {
        Ok(lines) => {
            println!("{}", lines.join("\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("store_check {folder}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(folder: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let key = std::fs::read(folder.join("keys/store-key.key"))?;
    let conn =
        Connection::open_with_flags(folder.join("store.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.pragma_update(None, "key", format!("x'{}'", hex::encode(key)))?;
    let mut lines = vec![conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))?];
    let mut stmt = conn.prepare("SELECT id FROM records")?;
    for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
        lines.push(id?);
    }
    Ok(lines)
}
