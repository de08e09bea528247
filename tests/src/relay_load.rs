//! Load on a relay (`WORKLOAD.md`, "relay"): a sync made once for real by a device store,
//! through a transport that records its requests, then replayed (freshly signed each time, so
//! every replay is authenticated, checked against replays and answered in full by the relay)
//! from client threads that do nothing else, so that the figures are the relay's work, not the
//! phones'.

use std::time::{Duration, Instant};

use carebank_core::CareStore;
use carebank_core::hlc::wall_clock_ms;
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::sync::http::{HttpTransport, RelayClient};
use carebank_core::sync::{CancelToken, Message, Progress, SyncError, Transport, run};

/// A sync recorded once, to replay: who sends it, and what.
pub struct Script {
    circle: Id,
    key: DeviceKey,
    requests: Vec<Vec<u8>>,
    /// The name of the last reply expected.
    ends_with: &'static str,
}

/// Passes requests on, keeping a copy of each.
struct Recorder<'a> {
    inner: HttpTransport<'a>,
    sent: Vec<Vec<u8>>,
}

impl Transport for Recorder<'_> {
    fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.sent.push(request.to_vec());
        self.inner.request(request)
    }
}

/// Syncs `store` (signing with `key`, its own) with the relay for real, recording its requests;
/// replays must end with a reply named `ends_with` ("changes" or "up-to-date").
pub fn record(
    store: &mut CareStore,
    key: DeviceKey,
    http: &RelayClient,
    ends_with: &'static str,
) -> (Progress, Script) {
    let circle = store.circle().circle_id;
    let mut recorder = Recorder {
        inner: http.transport(circle, &key, &wall_clock_ms, CancelToken::new()),
        sent: Vec::new(),
    };
    let progress = run(
        store,
        &http.peer_name(),
        &mut recorder,
        &CancelToken::new(),
        &mut |_| {},
    )
    .expect("recorded sync");
    let requests = recorder.sent;
    let script = Script {
        circle,
        key,
        requests,
        ends_with,
    };
    (progress, script)
}

/// Sends a script's requests once, checking the last reply.
pub fn replay(http: &RelayClient, script: &Script) {
    let mut transport = http.transport(
        script.circle,
        &script.key,
        &wall_clock_ms,
        CancelToken::new(),
    );
    let mut last = Vec::new();
    for request in &script.requests {
        last = transport.request(request).expect("reply");
    }
    let reply = Message::decode(&last).expect("a reply");
    assert_eq!(reply.name(), script.ends_with);
}

/// Replays `scripts` round-robin from `threads` client threads (thread `t` takes scripts `t`,
/// `t + threads`, … modulo their number) for `run`; returns the syncs completed per second.
pub fn rate(url: &str, scripts: &[&Script], threads: usize, run: Duration) -> f64 {
    let started = Instant::now();
    let deadline = started + run;
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let http = RelayClient::new(url).expect("client");
                    let mut n = 0;
                    while Instant::now() < deadline {
                        replay(&http, scripts[(t + n * threads) % scripts.len()]);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("client thread"))
            .sum()
    });
    done as f64 / started.elapsed().as_secs_f64()
}
