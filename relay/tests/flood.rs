//! The relay's memory under a flood: 64 clients at once each upload 31 MiB (under the 32 MiB
//! limit) without a key the circle trusts, to a `carebank-relay` process of its own on
//! loopback. The relay refuses each from its head without reading the body, so its peak
//! resident memory (`VmHWM`) barely moves; a relay that buffered each body whole before
//! checking the request would grow by about 2 GB.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use carebank_core::hlc::wall_clock_ms;
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::sync::RequestAuth;

const CLIENTS: usize = 64;
const UPLOAD_BYTES: usize = 31 * 1024 * 1024;
/// The most the relay's peak resident memory may grow by during the flood.
const MAX_GROWTH_BYTES: u64 = 200 * 1024 * 1024;

/// The relay process, killed when dropped.
struct Relay {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `carebank-relay` on a free loopback port serving one circle; returns once it listens.
fn start(dir: &std::path::Path, circle: Id, centre: &DeviceKey) -> Relay {
    let mut child = Command::new(env!("CARGO_BIN_EXE_carebank-relay"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data")
        .arg(dir)
        .arg("--circle")
        .arg(format!("{circle}:{}", centre.public_key()))
        .env("RUST_LOG", "warn,carebank_relay=info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("relay process");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the relay logs that it listens")
            .expect("log");
        if let Some(at) = line.find("127.0.0.1:")
            && line.contains("listening")
        {
            let end = line[at..]
                .find(|c: char| c.is_whitespace())
                .map_or(line.len(), |n| at + n);
            break line[at..end].parse().expect("address");
        }
    };
    // Keep reading its log, so the pipe never fills and blocks it.
    std::thread::spawn(move || lines.for_each(drop));
    Relay { child, addr }
}

/// The process's peak resident memory so far, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

/// One client's upload: its head, then the body until done or the relay stops reading, while
/// the answer is read as it comes; returns the status answered, if any.
fn upload(addr: SocketAddr, path: &str, auth: Option<String>) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    let bound = Some(Duration::from_secs(20));
    stream.set_write_timeout(bound).ok()?;
    stream.set_read_timeout(bound).ok()?;
    let mut reader = stream.try_clone().ok()?;
    let answer = std::thread::spawn(move || {
        let mut answer = [0u8; 64];
        let n = reader.read(&mut answer).ok()?;
        String::from_utf8_lossy(&answer[..n])
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
    });
    let auth = auth
        .map(|a| format!("authorization: {a}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: relay\r\ncontent-length: {UPLOAD_BYTES}\r\n{auth}\r\n"
    );
    let block = vec![0x5a_u8; 256 * 1024];
    if stream.write_all(head.as_bytes()).is_ok() {
        let mut sent = 0;
        while sent < UPLOAD_BYTES {
            let n = block.len().min(UPLOAD_BYTES - sent);
            if answer.is_finished() || stream.write_all(&block[..n]).is_err() {
                break;
            }
            sent += n;
        }
    }
    answer.join().ok()?
}

#[test]
fn a_flood_of_untrusted_uploads_leaves_the_relays_memory_bounded() {
    let dir = tempfile::tempdir().expect("dir");
    let circle = Id::random();
    let centre = DeviceKey::from_seed([0x42; 32]);
    let relay = start(dir.path(), circle, &centre);
    let pid = relay.child.id();
    let before = peak_rss(pid);
    let path = format!("/v1/circles/{circle}/sync");
    let started = Instant::now();
    let go = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (go, path, addr) = (go.clone(), path.clone(), relay.addr);
            std::thread::spawn(move || {
                // Half send no key, half the signature of a key the circle does not trust.
                let auth = (i % 2 == 1).then(|| {
                    let mut seed = [0u8; 32];
                    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    let stranger = DeviceKey::from_seed(seed);
                    RequestAuth::sign(&stranger, "POST", &path, b"", wall_clock_ms()).header_value()
                });
                go.wait();
                upload(addr, &path, auth)
            })
        })
        .collect();
    let answers: Vec<Option<u16>> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    let elapsed = started.elapsed();
    let after = peak_rss(pid);
    let growth = after.saturating_sub(before);
    eprintln!(
        "{CLIENTS} uploads of {UPLOAD_BYTES} bytes in {elapsed:?}: peak RSS {} MiB before, {} MiB \
         after (growth {} MiB); answers {answers:?}",
        before >> 20,
        after >> 20,
        growth >> 20
    );
    assert!(
        answers.iter().all(|a| matches!(a, Some(401 | 403))),
        "every upload refused: {answers:?}"
    );
    assert!(
        growth < MAX_GROWTH_BYTES,
        "peak RSS grew by {} MiB",
        growth >> 20
    );
}
