//! A relay run by `carebank serve` on loopback, for the tests that sync through one.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};

use assert_cmd::cargo::CommandCargoExt;

/// A relay run by `carebank serve`, stopped when dropped.
pub struct Relay {
    child: Child,
    /// Where it listens (`http://127.0.0.1:PORT`).
    pub url: String,
}

impl Relay {
    /// Starts a relay keeping its data in `data`, serving `circle` under `centre_key`.
    pub fn start(data: &Path, circle: &str, centre_key: &str) -> Relay {
        Relay::start_with(data, circle, centre_key, &[])
    }

    /// As [`Relay::start`], with more options for `carebank serve`.
    pub fn start_with(data: &Path, circle: &str, centre_key: &str, more: &[&str]) -> Relay {
        let mut child = Process::cargo_bin("carebank")
            .expect("binary")
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data",
                &data.display().to_string(),
                "--circle",
                &format!("{circle}:{centre_key}"),
            ])
            .args(more)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("start-up line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("url in the start-up line")
            .to_string();
        assert!(line.contains("database: SQLite"), "{line}");
        Relay { child, url }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
