//! Sync figures on a relay on loopback, through a proxy that counts the bytes on the wire (HTTP
//! included): a phone back after a week offline, a sync with nothing new, the relay's rates for
//! both, a new phone's first sync of the year, and that first sync over a link that keeps
//! dropping. Each is set against what a naive app would ship and against the floor, in bytes
//! and in time on the EDGE model.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use carebank_core::CareStore;
use carebank_core::ids::Id;
use carebank_core::record::SignedRecord;
use carebank_core::replica::DocId;
use carebank_core::sync::Progress;
use carebank_core::sync::http::RelayClient;
use carebank_relay::RelayHandle;
use carebank_scenarios::net::{LinkProxy, start_relay, sync};
use carebank_scenarios::record_ids;
use carebank_scenarios::relay_load::{rate, record};
use carebank_village::Village;

use crate::figures::{Figures, Target};
use crate::year::{self, floor_bytes, only, records_in};

/// The EDGE link of the issue: 240 kbit/s.
const EDGE_BYTES_PER_S: f64 = 240_000.0 / 8.0;
/// Its round trip.
const EDGE_RTT_S: f64 = 0.84;

/// Seconds to move `bytes` in `trips` round trips over EDGE.
fn edge(bytes: u64, trips: u32) -> f64 {
    bytes as f64 / EDGE_BYTES_PER_S + f64::from(trips) * EDGE_RTT_S
}

/// The phone that stays offline: the first caregiver.
const OFFLINE: usize = 1;

/// A relay for `v`'s circle in a directory of its own, with a counting proxy in front.
struct Relay {
    _dir: tempfile::TempDir,
    handle: RelayHandle,
    proxy: LinkProxy,
    /// A client through the proxy.
    http: RelayClient,
}

impl Relay {
    fn start(v: &Village) -> Relay {
        let dir = tempfile::tempdir().expect("relay dir");
        let handle = start_relay(dir.path(), v.circle, None, None);
        let proxy = LinkProxy::start(handle.addr(), None);
        let http = RelayClient::new(&proxy.url()).expect("client");
        Relay {
            _dir: dir,
            handle,
            proxy,
            http,
        }
    }
}

/// What one sync moved, and what it is set against.
struct Transfer<'a> {
    what: &'a str,
    progress: Progress,
    wire: u64,
    /// The records that crossed, either way.
    records: Vec<SignedRecord>,
    /// What a naive app ships: whole saved documents (bytes), and the state as gzip'd JSON
    /// with its signatures.
    naive_docs: u64,
    naive_json: u64,
}

impl Transfer<'_> {
    fn report(&self, figures: &mut Figures, target: Option<Target>) {
        let floor = floor_bytes(&self.records);
        let trips = self.progress.round_trips;
        figures.add(
            format!("{}: records moved", self.what),
            self.records.len() as f64,
            "records",
        );
        figures.target(
            format!("{}: round trips", self.what),
            f64::from(trips),
            "trips",
            Target::AtMost(2.0),
        );
        let name = format!("{}: bytes on the wire", self.what);
        figures.versus(
            &name,
            self.wire as f64,
            "B",
            ("floor", floor as f64),
            target,
        );
        figures.versus(
            &name,
            self.wire as f64,
            "B",
            ("whole saved Automerge documents", self.naive_docs as f64),
            None,
        );
        figures.versus(
            &name,
            self.wire as f64,
            "B",
            ("state as gzip'd JSON + signatures", self.naive_json as f64),
            None,
        );
        let name = format!("{}: time on EDGE", self.what);
        let ours = edge(self.wire, trips);
        figures.versus(&name, ours, "s", ("floor, 1 trip", edge(floor, 1)), target);
        figures.versus(
            &name,
            ours,
            "s",
            ("whole documents, 1 trip", edge(self.naive_docs, 1)),
            None,
        );
        figures.versus(
            &name,
            ours,
            "s",
            ("gzip'd JSON, 1 trip", edge(self.naive_json, 1)),
            None,
        );
    }
}

/// The saved documents of `store` that hold any of `ids`, and the records in them.
fn docs_holding(
    store: &CareStore,
    ids: &BTreeSet<DocId>,
) -> (Vec<(DocId, Vec<u8>)>, Vec<SignedRecord>) {
    let docs: Vec<(DocId, Vec<u8>)> = store
        .documents()
        .expect("documents")
        .into_iter()
        .filter(|(d, _)| ids.contains(d))
        .collect();
    let records = records_in(&docs, &store.epoch_keys());
    (docs, records)
}

fn saved_len(docs: &[(DocId, Vec<u8>)]) -> u64 {
    docs.iter().map(|(_, b)| b.len() as u64).sum()
}

/// A week's catch-up (or `days` days', if fewer), a sync with nothing new, and the relay's
/// rates for both, each replayed from `threads` client threads for `run`.
pub fn week(figures: &mut Figures, seed: u64, days: u64, threads: usize, run: Duration) {
    let (mut v, mut plan) = year::village(seed);
    let relay = Relay::start(&v);
    let http = &relay.http;
    sync(&mut v.centre, http).expect("centre syncs");
    for store in v.devices_mut() {
        sync(store, http).expect("first sync");
    }
    let mut unconfirmed = Vec::new();
    for day in 0..days {
        unconfirmed.extend(year::play_day(&mut v, &mut plan, day, Some(OFFLINE)));
        for i in (1..v.device_count()).filter(|i| *i != OFFLINE) {
            sync(&mut v.device_mut(i).store, http).expect("evening sync");
        }
        sync(&mut v.coordinator.store, http).expect("coordinator syncs");
        v.confirm_reached(&mut unconfirmed).expect("confirm");
        sync(&mut v.coordinator.store, http).expect("coordinator syncs");
    }
    // The offline phone wrote its own records too (kept on the phone, not yet sent).
    let own = plan.day(days);
    let own = own.into_iter().filter(|(d, _)| *d == OFFLINE).collect();
    v.play(own).expect("the offline phone's own work");

    let key = v.device_key(OFFLINE);
    let phone = &mut v.device_mut(OFFLINE).store;
    let before: BTreeSet<Id> = record_ids(phone);
    relay.proxy.reset();
    let started = Instant::now();
    let (progress, catch_up) = record(phone, key, http, "changes");
    let elapsed = started.elapsed();
    let wire = relay.proxy.forwarded();
    let after: BTreeSet<Id> = record_ids(phone);
    let all = records_in(&phone.documents().expect("documents"), &phone.epoch_keys());
    let moved_ids: BTreeSet<Id> = after.difference(&before).copied().collect();
    // Sent: what the phone held that the relay did not (its own week).
    let coordinator: BTreeSet<Id> = record_ids(&v.coordinator.store);
    let phone = &mut v.device_mut(OFFLINE).store;
    let sent: BTreeSet<Id> = before.difference(&coordinator).copied().collect();
    let moved: BTreeSet<Id> = moved_ids.union(&sent).copied().collect();
    let records = only(&all, &moved);
    let touched: BTreeSet<DocId> = records.iter().map(|r| DocId::for_hlc(r.hlc())).collect();
    // A naive app uploads its documents and downloads the relay's, whole.
    let (docs_after, records_after) = docs_holding(phone, &touched);
    let records_before: Vec<SignedRecord> = records_after
        .iter()
        .filter(|r| before.contains(&r.id()))
        .cloned()
        .collect();
    let naive_docs = saved_len(&docs_after) * 2;
    let naive_json = floor_bytes(&records_before) + floor_bytes(&records_after);
    let what = format!("catch-up after {days} days offline");
    Transfer {
        what: &what,
        progress: progress.clone(),
        wire,
        records,
        naive_docs,
        naive_json,
    }
    .report(figures, Some(Target::RatioAtMost(1.2)));
    figures.add(
        format!("{what}: time on loopback"),
        elapsed.as_secs_f64() * 1e3,
        "ms",
    );

    relay.proxy.reset();
    let idle = sync(phone, http).expect("nothing new");
    figures.target(
        "nothing new: round trips",
        f64::from(idle.round_trips),
        "trips",
        Target::AtMost(1.0),
    );
    figures.add(
        "nothing new: bytes on the wire",
        relay.proxy.forwarded() as f64,
        "B",
    );

    // The relay's rates: everyone up to date, then recorded syncs replayed.
    for i in 0..v.device_count() {
        sync(&mut v.device_mut(i).store, http).expect("sync");
    }
    let up_to_date: Vec<_> = (2..6)
        .map(|i| {
            let key = v.device_key(i);
            record(&mut v.device_mut(i).store, key, http, "up-to-date").1
        })
        .collect();
    let url = relay.handle.url();
    let scripts: Vec<_> = up_to_date.iter().collect();
    figures.target(
        format!("relay: nothing-new syncs, {threads} client threads"),
        rate(&url, &scripts, threads, run),
        "syncs/s",
        Target::AtLeast(2_000.0),
    );
    figures.target(
        format!("relay: {days}-day catch-up syncs, {threads} client threads"),
        rate(&url, &[&catch_up], threads, run),
        "syncs/s",
        Target::AtLeast(200.0),
    );
}

/// Syncs a phone over a dropping link may start before the bench reports it never finished.
const MAX_SYNCS: u32 = 50;

/// A new phone's first sync of the year `v` holds (in the coordinator's store), over a clean
/// link and over links cut after every `cuts` bytes.
pub fn new_phone(figures: &mut Figures, v: &mut Village, days: u64, cuts: &[u64]) {
    let relay = Relay::start(v);
    sync(&mut v.centre, &relay.http).expect("centre syncs");
    sync(&mut v.coordinator.store, &relay.http).expect("the year reaches the relay");
    let want: BTreeSet<Id> = record_ids(&v.coordinator.store);
    let docs = v.coordinator.store.documents().expect("documents");
    let records = records_in(&docs, &v.coordinator.store.epoch_keys());
    let fresh = |v: &Village| {
        let mut store =
            CareStore::open_in_memory(v.circle, v.device_key(OFFLINE)).expect("new phone");
        let clock = v.clock.clone();
        store.set_wall_clock(Box::new(move || clock.now()));
        store
    };

    let mut phone = fresh(v);
    relay.proxy.reset();
    let progress = sync(&mut phone, &relay.http).expect("first sync");
    let got: BTreeSet<Id> = record_ids(&phone);
    assert_eq!(got, want, "the new phone holds the year");
    let what = format!("new phone, first sync of {days} days");
    let wire = relay.proxy.forwarded();
    // HTTP's bytes a round, to tell the bytes of rounds that came back from those lost.
    let http_per_trip =
        (wire - progress.bytes_sent - progress.bytes_received) / u64::from(progress.round_trips);
    Transfer {
        what: &what,
        progress,
        wire,
        records: records.clone(),
        naive_docs: saved_len(&docs),
        naive_json: floor_bytes(&records),
    }
    .report(figures, Some(Target::RatioAtMost(1.3)));

    for &cut in cuts {
        let proxy = LinkProxy::start(relay.handle.addr(), Some(cut));
        let http = RelayClient::new(&proxy.url())
            .expect("client")
            .with_retries(1, Duration::from_millis(1));
        let mut phone = fresh(v);
        let started = Instant::now();
        let mut syncs = 0;
        let progress = loop {
            syncs += 1;
            match sync(&mut phone, &http) {
                Ok(p) => break Some(p),
                Err(e) if syncs >= MAX_SYNCS => {
                    eprintln!(
                        "link cut every {cut} bytes: {MAX_SYNCS} syncs failed, the last: {e}"
                    );
                    break None;
                }
                Err(_) => {}
            }
        };
        let got: BTreeSet<Id> = record_ids(&phone);
        let name = format!("{what}, link cut every {} KB", cut / 1024);
        figures.target(
            format!("{name}: records arrived within {MAX_SYNCS} syncs"),
            got.len() as f64,
            "records",
            Target::AtLeast(want.len() as f64),
        );
        let Some(progress) = progress else {
            continue;
        };
        assert_eq!(got, want, "the year arrived whole over the dropping link");
        figures.add(format!("{name}: syncs started"), f64::from(syncs), "syncs");
        figures.add(
            format!("{name}: connections cut"),
            proxy.cuts() as f64,
            "cuts",
        );
        figures.add(
            format!("{name}: round trips"),
            f64::from(progress.round_trips),
            "trips",
        );
        let wire = proxy.forwarded();
        figures.versus(
            format!("{name}: bytes on the wire"),
            wire as f64,
            "B",
            ("floor", floor_bytes(&records) as f64),
            None,
        );
        let kept = progress.bytes_sent - progress.bytes_wasted
            + progress.bytes_received
            + http_per_trip * u64::from(progress.round_trips);
        figures.versus(
            format!("{name}: bytes wasted on cut rounds"),
            wire.saturating_sub(kept) as f64,
            "B",
            ("bytes on the wire", wire as f64),
            None,
        );
        figures.add(
            format!("{name}: rounds sent again"),
            f64::from(progress.rounds_retried),
            "rounds",
        );
        figures.add(
            format!("{name}: time on loopback"),
            started.elapsed().as_secs_f64() * 1e3,
            "ms",
        );
    }
}
