//! Sync bandwidth on the reference workload (`WORKLOAD.md`): one caregiver's phone comes back
//! after 7 days offline while the village kept working and syncing, then syncs again with
//! nothing new. Prints round trips, message bytes, bytes on the TCP wire (through a counting
//! proxy in front of a loopback relay), and the ratio to the gzip size of the canonical JSON of
//! the records transferred.
//!
//! Run: `cargo bench -p carebank-scenarios --bench sync_bandwidth`

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use carebank_core::CareStore;
use carebank_core::domain::{BathPlace, Funding, MealMode, ServiceDetail};
use carebank_core::ids::Id;
use carebank_core::sync::http::RelayClient;
use carebank_core::sync::{CancelToken, Progress};
use carebank_scenarios::net::start_relay;
use carebank_scenarios::{DAY, ElderSpec, MINUTE, START_MS, Village, service, visit};

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

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

fn detail(kind: usize, rng: &mut Rng) -> ServiceDetail {
    match kind {
        0 => ServiceDetail::Meal {
            mode: if rng.below(2) == 0 {
                MealMode::Delivered
            } else {
                MealMode::DiningTable
            },
            portions: 1,
            diet_notes: None,
        },
        1 => ServiceDetail::Bath {
            place: BathPlace::Home,
            safety_checks: vec![],
            skin_condition: None,
        },
        2 => ServiceDetail::Cleaning {},
        3 => ServiceDetail::Mobility {},
        4 => ServiceDetail::MedicalEscort {
            destination: Some("镇卫生院".into()),
        },
        _ => ServiceDetail::Companionship {},
    }
}

/// One day of the reference workload, spread over the village's devices (ledger entries,
/// redemptions, gifts and corrections are not in this branch's domain yet).
fn one_day(v: &mut Village, day: u64, rng: &mut Rng) -> usize {
    let morning = START_MS + day * DAY;
    let elders = v.elders.clone();
    let mut n = 0;
    let caregivers = v.caregivers.len();
    let volunteers = v.volunteers.len();
    // (count, by caregivers?, service kind or None for a visit, funding)
    let plan: [(usize, bool, Option<usize>, Funding); 6] = [
        (60, true, None, Funding::Government),
        (50, true, Some(0), Funding::Government),
        (30, false, Some(0), Funding::TimeBank),
        (8, true, Some(1), Funding::Government),
        (25, true, Some(2), Funding::SelfPaid),
        (30, false, Some(5), Funding::TimeBank),
    ];
    for (count, by_caregiver, kind, funding) in plan {
        for i in 0..count {
            let at = morning + (i as u64 % 10) * 50 * MINUTE + rng.below(30) as u64 * MINUTE;
            v.clock.set(at);
            let elder = elders[rng.below(elders.len())];
            let who = if by_caregiver {
                rng.below(caregivers)
            } else {
                rng.below(volunteers)
            };
            let device = if by_caregiver {
                &mut v.caregivers[who]
            } else {
                &mut v.volunteers[who]
            };
            let member = device.member_id;
            let written = match kind {
                None => device.store.record_visit(visit(elder, member, at)),
                Some(k) => {
                    let k = if k == 2 { 2 + rng.below(4) } else { k };
                    device.store.record_service(service(
                        elder,
                        member,
                        at,
                        45,
                        funding,
                        detail(k, rng),
                    ))
                }
            };
            if written.is_ok() {
                n += 1;
            }
        }
    }
    n
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
    let specs: Vec<ElderSpec> = (0..120)
        .map(|i| ElderSpec {
            cadence_days: if i < 30 { 7 } else { 14 },
            entitled_hours: if i < 40 { [30, 45, 60][i % 3] } else { 0 },
        })
        .collect();
    let mut v = Village::build(6, 20, &specs).expect("village");
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let (proxy, wire) = counting_proxy(relay.addr());
    let http = RelayClient::new(&format!("http://{proxy}")).expect("client");
    let mut rng = Rng(0x5eed_2026);

    sync(&mut v.centre, &http);
    sync(&mut v.coordinator.store, &http);
    for d in v.caregivers.iter_mut().chain(v.volunteers.iter_mut()) {
        sync(&mut d.store, &http);
    }
    // Caregiver 0 goes offline for 7 days; everyone else syncs every day.
    let target = 0;
    let mut written = 0;
    for day in 0..7 {
        written += one_day(&mut v, day, &mut rng);
        for (i, d) in v.caregivers.iter_mut().enumerate() {
            if i != target {
                sync(&mut d.store, &http);
            }
        }
        for d in v.volunteers.iter_mut() {
            sync(&mut d.store, &http);
        }
        sync(&mut v.coordinator.store, &http);
    }

    let phone = &mut v.caregivers[target].store;
    let before: BTreeSet<Id> = phone.store().record_ids().expect("ids");
    let relay_had: BTreeSet<Id> = v.coordinator.store.store().record_ids().expect("ids");
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
    let gzip = gzip_len(&json);
    let gzip_signed = gzip_len(&signed);

    wire.store(0, Ordering::SeqCst);
    let idle = sync(phone, &http);
    let idle_wire = wire.load(Ordering::SeqCst);

    let message_bytes = week.bytes_sent + week.bytes_received;
    println!("reference workload: {written} records written in 7 days by 26 devices");
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
        "  canonical JSON {} bytes, gzip {gzip:.0} bytes; ratio messages/gzip {:.3}, TCP/gzip {:.3}",
        json.len(),
        message_bytes as f64 / gzip,
        week_wire as f64 / gzip
    );
    println!(
        "  for scale: gzip of the signed records (64-byte signature ‖ JSON each) {gzip_signed:.0} \
         bytes; ratio messages/that {:.3}",
        message_bytes as f64 / gzip_signed
    );
    println!(
        "nothing new: {} round trip(s), message bytes {} (up {}, down {}), TCP bytes incl. HTTP {idle_wire}",
        idle.round_trips,
        idle.bytes_sent + idle.bytes_received,
        idle.bytes_sent,
        idle.bytes_received
    );
}
