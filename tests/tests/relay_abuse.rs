//! The relay under abuse, over raw HTTP on loopback: requests refused from their head before
//! any body byte is read, bodies over the limit cut off as they cross it, stalled heads and
//! bodies and idle connections closed after their bounds, requests and connections beyond the
//! bounds shed or kept waiting, and a stop that does not wait for idle clients.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use carebank_core::hlc::wall_clock_ms;
use carebank_core::identity::DeviceKey;
use carebank_core::sync::{Initiator, RequestAuth};
use carebank_relay::{RelayConfig, RelayHandle};
use carebank_scenarios::net::{SmallCircle, client, relay_config, small_circle, sync, test_key};
use carebank_scenarios::{START_MS, SimClock};

/// A relay serving a small circle whose centre has synced, so device 0 is trusted.
struct Served {
    relay: RelayHandle,
    circle: SmallCircle,
    path: String,
    _dir: tempfile::TempDir,
}

fn served(n: u64, tweak: impl FnOnce(&mut RelayConfig)) -> Served {
    let clock = SimClock::at(START_MS);
    let mut circle = small_circle(n, 1, &clock).expect("circle");
    let dir = tempfile::tempdir().expect("dir");
    let mut config = relay_config(dir.path(), circle.circle, None, None);
    tweak(&mut config);
    let relay = carebank_relay::spawn(config).expect("relay");
    sync(&mut circle.centre, &client(&relay)).expect("the centre bootstraps its circle");
    let path = format!("/v1/circles/{}/sync", circle.circle.circle_id);
    Served {
        relay,
        circle,
        path,
        _dir: dir,
    }
}

impl Served {
    fn addr(&self) -> SocketAddr {
        self.relay.addr()
    }

    /// Device 0's hello, signed by `key` (device 0's own key when none).
    fn hello(&mut self, key: Option<&DeviceKey>) -> (Vec<u8>, String) {
        let hello = Initiator::new("relay")
            .start(&mut self.circle.devices[0].0)
            .expect("hello");
        let own = self.circle.device_key(0);
        let auth = RequestAuth::sign(key.unwrap_or(&own), "POST", &self.path, &hello, now());
        (hello, auth.header_value())
    }
}

fn now() -> u64 {
    wall_clock_ms()
}

/// Opens a connection and writes a request head (with `headers`, each ending in CRLF) and the
/// first bytes of its body.
fn send(addr: SocketAddr, path: &str, headers: &str, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let head = format!("POST {path} HTTP/1.1\r\nhost: relay\r\n{headers}\r\n");
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(body).expect("body");
    stream
}

/// The status of the answer on `stream`, if it comes within `within`.
fn status_within(stream: &mut TcpStream, within: Duration) -> Result<u16, String> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(2).any(|w| w == b"\r\n") {
        let left = within.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(format!("no answer within {within:?}"));
        }
        stream.set_read_timeout(Some(left)).expect("timeout");
        match stream.read(&mut buf) {
            Ok(0) => return Err("closed without an answer".into()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("no answer within {within:?}: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&got);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {line:?}"))
}

/// Whether the relay closes `stream` within `within` (whatever it writes first).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.saturating_sub(started.elapsed());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).expect("timeout");
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

const PROMPTLY: Duration = Duration::from_secs(3);

#[test]
fn a_request_is_refused_from_its_head_before_any_body_byte_is_read() {
    let mut s = served(40, |_| {});
    let (_, trusted) = s.hello(None);
    let (_, untrusted) = s.hello(Some(&test_key(4040)));
    let stale = RequestAuth::sign(
        &s.circle.device_key(0),
        "POST",
        &s.path,
        b"",
        now() - 10 * 60 * 1000,
    )
    .header_value();
    let unknown = format!("/v1/circles/{}/sync", "00".repeat(16));
    let cases = [
        ("no authorization", s.path.clone(), String::new(), 401),
        (
            "malformed authorization",
            s.path.clone(),
            "authorization: Carebank x.y\r\n".into(),
            401,
        ),
        (
            "stale time",
            s.path.clone(),
            format!("authorization: {stale}\r\n"),
            401,
        ),
        (
            "a key the circle does not trust",
            s.path.clone(),
            format!("authorization: {untrusted}\r\n"),
            403,
        ),
        (
            "a circle not served here",
            unknown,
            format!("authorization: {trusted}\r\n"),
            404,
        ),
    ];
    // Each declares a body well under the limit and sends none of it: only a relay that
    // answers from the head answers at all.
    for (name, path, auth, want) in cases {
        let started = Instant::now();
        let mut stream = send(
            s.addr(),
            &path,
            &format!("{auth}content-length: 100000\r\n"),
            b"",
        );
        let status = status_within(&mut stream, PROMPTLY).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(status, want, "{name}");
        assert!(started.elapsed() < PROMPTLY, "{name}");
    }
}

#[test]
fn a_declared_length_over_the_limit_is_refused_at_once() {
    let mut s = served(41, |_| {});
    let (_, trusted) = s.hello(None);
    for auth in [String::new(), format!("authorization: {trusted}\r\n")] {
        let mut stream = send(
            s.addr(),
            &s.path,
            &format!("{auth}content-length: 1000000000000\r\n"),
            b"",
        );
        assert_eq!(status_within(&mut stream, PROMPTLY), Ok(413), "{auth:?}");
    }
}

/// `body` in the chunked transfer coding, in chunks of at most 8 KiB, without the last chunk.
fn chunks(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(8 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[test]
fn a_chunked_body_gets_413_as_soon_as_it_crosses_the_limit_and_one_within_it_syncs() {
    let mut s = served(42, |c| c.max_body_bytes = 64 * 1024);
    // Over the limit, whole or stalling once past it (so only a relay that counts the bytes as
    // they arrive answers).
    let over = vec![0u8; 80 * 1024];
    for whole in [true, false] {
        let auth = RequestAuth::sign(&s.circle.device_key(0), "POST", &s.path, &over, now());
        let headers = format!(
            "authorization: {}\r\ntransfer-encoding: chunked\r\n",
            auth.header_value()
        );
        let mut body = chunks(&over);
        if whole {
            body.extend_from_slice(b"0\r\n\r\n");
        }
        let mut stream = send(s.addr(), &s.path, &headers, &body);
        assert_eq!(
            status_within(&mut stream, PROMPTLY),
            Ok(413),
            "whole: {whole}"
        );
    }

    // Within it, chunked, whole: answered.
    let (hello, auth) = s.hello(None);
    let headers = format!("authorization: {auth}\r\ntransfer-encoding: chunked\r\n");
    let mut body = chunks(&hello);
    body.extend_from_slice(b"0\r\n\r\n");
    let mut stream = send(s.addr(), &s.path, &headers, &body);
    assert_eq!(status_within(&mut stream, PROMPTLY), Ok(200));
}

#[test]
fn a_stopping_relay_does_not_wait_for_idle_connections() {
    let s = served(43, |_| {});
    // One keep-alive connection that was answered and stays open, one that never sent a byte.
    let mut answered = TcpStream::connect(s.addr()).expect("connect");
    answered
        .write_all(b"GET /health HTTP/1.1\r\nhost: relay\r\n\r\n")
        .expect("request");
    assert_eq!(status_within(&mut answered, PROMPTLY), Ok(200));
    let _silent = TcpStream::connect(s.addr()).expect("connect");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    s.relay.stop().expect("stop");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped in {:?}",
        started.elapsed()
    );
}

#[test]
fn a_body_that_stalls_is_answered_408_and_its_connection_closed() {
    let mut s = served(44, |c| c.body_idle_timeout = Duration::from_millis(500));
    let (hello, auth) = s.hello(None);
    let headers = format!(
        "authorization: {auth}\r\ncontent-length: {}\r\n",
        hello.len()
    );
    // Half the body, then nothing.
    let mut stream = send(s.addr(), &s.path, &headers, &hello[..hello.len() / 2]);
    let started = Instant::now();
    assert_eq!(status_within(&mut stream, PROMPTLY), Ok(408));
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(closed_within(&mut stream, PROMPTLY), "closed after the 408");
}

#[test]
fn a_slow_head_and_an_idle_keep_alive_connection_are_closed() {
    let s = served(45, |c| c.header_timeout = Duration::from_millis(500));
    // Half a head, then nothing.
    let mut slow = TcpStream::connect(s.addr()).expect("connect");
    slow.write_all(b"POST /v1/circles/").expect("half a head");
    assert!(closed_within(&mut slow, PROMPTLY), "a slow head");
    // Answered, then idle on keep-alive.
    let mut idle = TcpStream::connect(s.addr()).expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: relay\r\n\r\n")
        .expect("request");
    assert_eq!(status_within(&mut idle, PROMPTLY), Ok(200));
    let started = Instant::now();
    assert!(closed_within(&mut idle, PROMPTLY), "an idle connection");
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn requests_beyond_the_bound_are_shed_and_connections_beyond_it_wait() {
    let mut s = served(46, |c| {
        c.max_requests = 1;
        c.max_connections = 2;
    });
    let (hello, auth) = s.hello(None);
    let headers = format!(
        "authorization: {auth}\r\ncontent-length: {}\r\n",
        hello.len()
    );
    // One admitted request holds the only request slot while its body is on its way.
    let mut holding = send(s.addr(), &s.path, &headers, &hello[..1]);
    // Time for the relay to admit it on a loaded machine (the slot is taken at admission).
    std::thread::sleep(Duration::from_millis(1_000));
    let (other, other_auth) = s.hello(None);
    let other_headers = format!(
        "authorization: {other_auth}\r\ncontent-length: {}\r\n",
        other.len()
    );
    let mut shed = send(s.addr(), &s.path, &other_headers, &other);
    assert_eq!(status_within(&mut shed, PROMPTLY), Ok(503));
    drop(shed);
    // The held request completes once its body does.
    holding.write_all(&hello[1..]).expect("the rest");
    assert_eq!(status_within(&mut holding, PROMPTLY), Ok(200));

    // Two connections open (the held one, kept alive, and another): a third waits.
    let _second = TcpStream::connect(s.addr()).expect("connect");
    // Time for the relay to accept it, so that the third is the one left waiting.
    std::thread::sleep(Duration::from_millis(1_000));
    let mut third = TcpStream::connect(s.addr()).expect("the kernel queues it");
    third
        .write_all(b"GET /health HTTP/1.1\r\nhost: relay\r\n\r\n")
        .expect("request");
    assert!(
        status_within(&mut third, Duration::from_millis(700)).is_err(),
        "not served while two are open"
    );
    drop(holding);
    assert_eq!(
        status_within(&mut third, PROMPTLY),
        Ok(200),
        "served once one closed"
    );
}
