//! Relay throughput (`WORKLOAD.md`, "relay"): the syncs per second a relay on loopback (SQLite)
//! sustains, with nothing new and for a phone back after a week offline.
//!
//! Four reference villages (`WORKLOAD.md`, each in a circle of its own) play 7 days while one
//! caregiver's phone of each stays offline and every other phone syncs each evening; then
//! everyone but that phone syncs once more, so that all are up to date. Each kind of sync is
//! made once for real by a device store, through a transport that records its requests; the
//! requests are then replayed, freshly signed each time (so every replay is authenticated,
//! checked against replays and answered in full by the relay), from client threads that do
//! nothing else: the figures are the relay's work, not the phones'. On a small machine the
//! client threads still share the cores with the relay, so compare ratios within one run.
//!
//! - nothing new: 4 phones of one village, or one phone in each of the 4 villages;
//! - a week's catch-up: the offline phone of one village, or those of all 4;
//!
//! each replayed from 1 and from 4 client threads. Requests of different circles may run at
//! once; those of one circle take turns.
//!
//! Run: `cargo bench -p carebank-scenarios --bench relay_throughput`

use std::time::{Duration, Instant};

use carebank_core::sync::Progress;
use carebank_core::sync::http::RelayClient;
use carebank_core::{CareStore, Circle};
use carebank_relay::RelayConfig;
use carebank_scenarios::relay_load::{Script, rate, record};
use carebank_scenarios::workload::{Workload, WorkloadSpec};
use carebank_scenarios::{Village, fixed_id};

/// How long each measurement replays.
const RUN: Duration = Duration::from_secs(3);
/// Reference villages, each in a circle of its own.
const VILLAGES: u64 = 4;
/// The days the phone is offline.
const DAYS: u64 = 7;
/// The phone that stays offline: the first caregiver.
const OFFLINE: usize = 1;

/// Prints the four figures of one kind of sync: one village's phones and phones of every
/// village, each from 1 and 4 threads.
fn report(what: &str, url: &str, one_village: &[&Script], spread: &[&Script]) {
    println!("{what}");
    for (label, scripts) in [("one village", one_village), ("4 villages", spread)] {
        let one = rate(url, scripts, 1, RUN);
        let four = rate(url, scripts, 4, RUN);
        println!(
            "  {label:<11}  1 thread {one:8.1} syncs/s   4 threads {four:8.1} syncs/s   ratio {:.2}",
            four / one
        );
    }
}

fn sync(store: &mut CareStore, http: &RelayClient) -> Progress {
    carebank_scenarios::net::sync(store, http).expect("sync")
}

/// Reference village number `n`, in a circle of its own: the fixture village always has the same
/// circle id, so each village's stores are opened in another (same keys, another circle id).
fn reference_village(n: u64) -> Village {
    let spec = WorkloadSpec::default();
    let circle_id = fixed_id(0xc2_0000 + n);
    let mut v = Village::build_with(
        &mut |_, circle, key| {
            let circle = Circle {
                circle_id,
                ..circle
            };
            Ok(CareStore::open_in_memory(circle, key)?)
        },
        spec.caregivers,
        spec.volunteers,
        &spec.elder_specs(),
    )
    .expect("village");
    v.circle.circle_id = circle_id;
    v
}

/// Plays [`DAYS`] days of the reference workload on `v` with [`OFFLINE`] offline and everyone
/// else syncing each evening; returns the offline phone's catch-up, recorded, and then the
/// nothing-new syncs of 4 other phones once all are up to date.
fn play_week(v: &mut Village, http: &RelayClient) -> (Script, Vec<Script>) {
    sync(&mut v.centre, http);
    for i in 0..v.device_count() {
        sync(&mut v.device_mut(i).store, http);
    }
    let members = (0..v.device_count())
        .map(|i| v.device(i).member_id)
        .collect();
    let mut plan = Workload::new(WorkloadSpec::default(), v.elders.clone(), members);
    let mut written = 0;
    for day in 0..DAYS {
        let work = plan
            .day(day)
            .into_iter()
            .filter(|(device, _)| *device != OFFLINE)
            .collect();
        written += v.play(work).expect("play").care_records;
        for i in (0..v.device_count()).filter(|i| *i != OFFLINE) {
            sync(&mut v.device_mut(i).store, http);
        }
    }
    let key = v.device_key(OFFLINE);
    let (progress, script) = record(&mut v.device_mut(OFFLINE).store, key, http, "changes");
    println!(
        "  village {}: {written} care records in {DAYS} days; catch-up: {} round trips, {} bytes \
         received, {} records new",
        v.circle.circle_id,
        progress.round_trips,
        progress.bytes_received,
        progress.records_received
    );
    assert!(
        progress.records_received >= written,
        "the whole week arrives"
    );
    // The first phones to sync on the last evening missed what the later ones pushed.
    for i in (0..v.device_count()).filter(|i| *i != OFFLINE) {
        sync(&mut v.device_mut(i).store, http);
    }
    let up_to_date = (2..6)
        .map(|i| {
            let key = v.device_key(i);
            let (progress, script) = record(&mut v.device_mut(i).store, key, http, "up-to-date");
            assert_eq!(progress.round_trips, 1, "nothing new");
            script
        })
        .collect();
    (script, up_to_date)
}

fn main() {
    let started = Instant::now();
    let mut villages: Vec<Village> = (0..VILLAGES).map(reference_village).collect();
    let dir = tempfile::tempdir().expect("dir");
    let mut config = RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.path().to_path_buf());
    config.circles = villages
        .iter()
        .map(|v| (v.circle.circle_id, v.circle.centre_key))
        .collect();
    let relay = carebank_relay::spawn(config).expect("relay");
    let url = relay.url();
    let http = RelayClient::new(&url).expect("client");

    println!(
        "relay throughput on loopback (SQLite): {VILLAGES} reference villages, one phone of each \
         offline {DAYS} days; {} s per figure, client threads replaying recorded syncs",
        RUN.as_secs()
    );
    let (catch_ups, up_to_date): (Vec<Script>, Vec<Vec<Script>>) =
        villages.iter_mut().map(|v| play_week(v, &http)).unzip();
    println!(
        "  (villages built and played in {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    let one_village: Vec<&Script> = up_to_date[0].iter().collect();
    let spread: Vec<&Script> = up_to_date.iter().map(|scripts| &scripts[0]).collect();
    report("nothing new", &url, &one_village, &spread);
    let one_village: Vec<&Script> = vec![&catch_ups[0]];
    let spread: Vec<&Script> = catch_ups.iter().collect();
    report("a week's catch-up", &url, &one_village, &spread);
    relay.stop().expect("stop");
}
