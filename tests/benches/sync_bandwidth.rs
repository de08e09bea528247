//! Sync bandwidth on the reference workload (`WORKLOAD.md`): one caregiver's phone comes back
//! after 7 days offline while the village kept working and syncing, then syncs again with
//! nothing new. Prints round trips, message bytes, bytes on the TCP wire (through a counting
//! proxy in front of a loopback relay), and the ratio of those bytes to the gzip size of the
//! records transferred: of their canonical JSON payloads alone, of the records as stored and
//! sent (signature and payload), and of the floor any protocol carrying the signatures has.
//!
//! Run: `cargo bench -p carebank-scenarios --bench sync_bandwidth`

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use carebank_core::CareStore;
use carebank_core::ids::Id;
use carebank_core::sync::http::RelayClient;
use carebank_core::sync::{CancelToken, Progress};
use carebank_scenarios::Village;
use carebank_scenarios::net::start_relay;
use carebank_scenarios::workload::{Workload, WorkloadSpec};

/// Counts bytes both ways through a TCP proxy to `target`.
fn counting_proxy(target: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let addr = listener.local_addr().expect("addr");
    let counter = Arc::new(AtomicU64::new(0));
    let total = counter.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            for (mut from, mut to) in [
                (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                ),
                (server, client),
            ] {
                let total = total.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        total.fetch_add(n as u64, Ordering::SeqCst);
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    (addr, counter)
}

fn gzip_len(bytes: &[u8]) -> f64 {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip").len() as f64
}

fn sync(store: &mut CareStore, relay: &RelayClient) -> Progress {
    store
        .sync_with_relay(relay, &CancelToken::new(), &mut |_| {})
        .expect("sync")
}

fn main() {
    let spec = WorkloadSpec::default();
    let mut v =
        Village::build(spec.caregivers, spec.volunteers, &spec.elder_specs()).expect("village");
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let (proxy, wire) = counting_proxy(relay.addr());
    let http = RelayClient::new(&format!("http://{proxy}")).expect("client");
    let members = (0..v.device_count())
        .map(|i| v.device(i).member_id)
        .collect();
    let mut plan = Workload::new(spec, v.elders.clone(), members);

    sync(&mut v.centre, &http);
    for store in v.devices_mut() {
        sync(store, &http);
    }
    // The first caregiver's phone goes offline for 7 days; every other device syncs every
    // day, and the coordinator confirms the day's claims once they reach her.
    let target = 1;
    let mut written = 0;
    let mut unconfirmed = Vec::new();
    for day in 0..7 {
        let today = v.play(plan.day(day)).expect("play");
        written += today.care_records + today.voids + today.amendments;
        let time_bank = v.play_time_bank(&today, plan.rng()).expect("time bank");
        written += time_bank.claims.len() + time_bank.redemptions + time_bank.gifts;
        unconfirmed.extend(time_bank.claims);
        for i in 1..v.device_count() {
            if i != target {
                sync(&mut v.device_mut(i).store, &http);
            }
        }
        sync(&mut v.coordinator.store, &http);
        written += v.confirm_reached(&mut unconfirmed).expect("confirm");
        sync(&mut v.coordinator.store, &http);
    }

    let relay_had: BTreeSet<Id> = v.coordinator.store.store().record_ids().expect("ids");
    let phone = &mut v.device_mut(target).store;
    let before: BTreeSet<Id> = phone.store().record_ids().expect("ids");
    let sent: BTreeSet<Id> = before.difference(&relay_had).copied().collect();
    wire.store(0, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let week = sync(phone, &http);
    let elapsed = started.elapsed();
    let week_wire = wire.load(Ordering::SeqCst);
    let after: BTreeSet<Id> = phone.store().record_ids().expect("ids");
    let received: BTreeSet<Id> = after.difference(&before).copied().collect();

    let mut json = b"[".to_vec();
    let mut signed = Vec::new();
    for (i, id) in sent.iter().chain(received.iter()).enumerate() {
        if i > 0 {
            json.push(b',');
        }
        let record = phone.get(*id).expect("record");
        json.extend_from_slice(record.payload());
        signed.extend_from_slice(record.as_bytes());
    }
    json.push(b']');
    let transferred = sent.len() + received.len();
    let gzip = gzip_len(&json);
    let gzip_signed = gzip_len(&signed);
    // No protocol that carries every record's signature can send less than the signatures
    // (64 random bytes each) plus the compressed JSON.
    let floor = (transferred * 64) as f64 + gzip;

    wire.store(0, Ordering::SeqCst);
    let idle = sync(phone, &http);
    let idle_wire = wire.load(Ordering::SeqCst);

    let message_bytes = week.bytes_sent + week.bytes_received;
    println!(
        "reference workload: {written} records written in 7 days by {} devices (care records, \
         claims, confirmations, redemptions, gifts, corrections)",
        v.device_count()
    );
    println!(
        "7 days offline: {} round trips, {} records sent, {} received, {:.0} ms",
        week.round_trips,
        sent.len(),
        received.len(),
        elapsed.as_secs_f64() * 1000.0
    );
    println!(
        "  message bytes {message_bytes} (up {}, down {}); TCP bytes incl. HTTP {week_wire}",
        week.bytes_sent, week.bytes_received
    );
    println!(
        "  canonical JSON of the payloads {} bytes, gzip {gzip:.0}; TCP/gzip {:.3}",
        json.len(),
        week_wire as f64 / gzip
    );
    println!(
        "  gzip of the records as stored and sent (64-byte signature ‖ JSON each) \
         {gzip_signed:.0} bytes; TCP/that {:.3}",
        week_wire as f64 / gzip_signed
    );
    println!(
        "  floor for any protocol carrying the signatures (64 B × {transferred} + gzip of the \
         JSON) {floor:.0} bytes; TCP/floor {:.3}",
        week_wire as f64 / floor
    );
    println!(
        "nothing new: {} round trip(s), message bytes {} (up {}, down {}), TCP bytes incl. HTTP {idle_wire}",
        idle.round_trips,
        idle.bytes_sent + idle.bytes_received,
        idle.bytes_sent,
        idle.bytes_received
    );
}
