//! Sync over a link that keeps dropping (issue 14, item 4): a loopback proxy in front of the
//! relay cuts every connection after N bytes (32 KB, 64 KB). A phone back after a week offline
//! and a new phone's first sync of a year both finish in one sync each, rounds sized down to
//! the link and documents split into parts; nothing is lost or duplicated, and the bytes wasted
//! on cut rounds are reported.

use std::collections::BTreeSet;
use std::time::Duration;

use carebank_core::CareStore;
use carebank_core::ids::Id;
use carebank_core::replica::{RecordDoc, session_actor};
use carebank_core::sync::http::RelayClient;
use carebank_core::sync::{Progress, SyncPeers};
use carebank_relay::RelayHandle;
use carebank_scenarios::net::{LinkProxy, start_relay, sync};
use carebank_scenarios::workload::{Workload, WorkloadSpec};
use carebank_scenarios::{Village, record_ids};

const CUTS: [u64; 2] = [32 * 1024, 64 * 1024];

/// A small village's day, for the year: few enough records that a year plays in seconds,
/// enough that a month's document is many times larger than what the link carries before it
/// drops; and elders enough that the keyring (an elder key each, 235 bytes) is larger than
/// the link carries too. (A week's catch-up plays the reference village.)
fn small() -> WorkloadSpec {
    WorkloadSpec {
        caregivers: 3,
        volunteers: 2,
        elders: 200,
        entitled: 4,
        left_behind: 3,
        visits: 4,
        meals: 2,
        baths: 1,
        others: 1,
        volunteer_services: 0,
        corrections: 0,
        ..WorkloadSpec::default()
    }
}

fn village(spec: WorkloadSpec) -> (Village, Workload) {
    let v = Village::build(spec.caregivers, spec.volunteers, &spec.elder_specs()).expect("village");
    let members = (0..v.device_count())
        .map(|i| v.device(i).member_id)
        .collect();
    let plan = Workload::new(spec, v.elders.clone(), members);
    (v, plan)
}

/// Plays `days` days; then the devices not in `offline` meet the coordinator.
fn play(v: &mut Village, plan: &mut Workload, days: std::ops::Range<u64>, offline: &[usize]) {
    for day in days {
        v.play(plan.day(day)).expect("play");
    }
    for i in (1..v.device_count()).filter(|i| !offline.contains(i)) {
        v.merge(0, i).expect("the records reach the coordinator");
    }
}

/// Syncs `store` once through a proxy cutting every `cut` bytes; prints what the cuts cost.
/// Returns the sync's progress and the name the store remembers the relay under.
fn sync_over_dropping_link(
    relay: &RelayHandle,
    store: &mut CareStore,
    cut: u64,
    what: &str,
) -> (Progress, String) {
    let proxy = LinkProxy::start(relay.addr(), Some(cut));
    // One attempt per request: every cut reaches the session, which must size its rounds.
    let http = RelayClient::new(&proxy.url())
        .expect("client")
        .with_retries(1, Duration::from_millis(1));
    let done = sync(store, &http).expect("one sync finishes over the dropping link");
    let kept = done.bytes_sent + done.bytes_received;
    println!(
        "{what}, cut every {} KB: {} round trips, {} cut connections, {} rounds sent again \
         ({} request bytes lost), {} bytes on the wire for {kept} bytes of messages; last round \
         budget {} bytes",
        cut / 1024,
        done.round_trips,
        proxy.cuts(),
        done.rounds_retried,
        done.bytes_wasted,
        proxy.forwarded(),
        done.round_budget,
    );
    assert!(proxy.cuts() > 0, "the link dropped on the way");
    assert!(done.rounds_retried > 0);
    (done, http.peer_name())
}

/// Every record `store` holds is in its documents under exactly one value, and the documents
/// hold nothing else.
fn each_record_once(store: &CareStore) -> BTreeSet<Id> {
    let actor = session_actor();
    let mut keys = 0;
    for (doc, bytes) in store.documents().expect("documents") {
        let entries = RecordDoc::load(&bytes, &actor)
            .expect("loads")
            .all_entries()
            .expect("entries");
        for (key, values) in entries {
            assert_eq!(values.len(), 1, "{key} in {} holds one value", doc.as_str());
            keys += 1;
        }
    }
    let ids: BTreeSet<Id> = record_ids(store);
    assert_eq!(ids.len(), keys, "every stored value is one indexed record");
    ids
}

fn relay_for(v: &mut Village) -> (tempfile::TempDir, RelayHandle, RelayClient) {
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let http = RelayClient::new(&relay.url()).expect("client");
    sync(&mut v.centre, &http).expect("centre syncs");
    (dir, relay, http)
}

#[test]
fn a_week_catch_up_finishes_over_a_link_that_drops_every_32_or_64_kb() {
    let (mut v, mut plan) = village(WorkloadSpec::default());
    let (_dir, relay, http) = relay_for(&mut v);
    // Caregivers 1 and 2 are offline for the week; the rest meet the coordinator each evening,
    // and she syncs with the relay.
    let offline = [1, 2];
    for i in 0..v.device_count() {
        sync(&mut v.device_mut(i).store, &http).expect("first sync");
    }
    play(&mut v, &mut plan, 0..7, &offline);
    sync(&mut v.coordinator.store, &http).expect("the week reaches the relay");

    for (phone, cut) in offline.into_iter().zip(CUTS) {
        let own: BTreeSet<Id> = record_ids(&v.device(phone).store);
        let relay_had: BTreeSet<Id> = record_ids(&v.coordinator.store);
        let store = &mut v.device_mut(phone).store;
        let (done, _) = sync_over_dropping_link(&relay, store, cut, "a week's catch-up");
        assert!(done.records_received > 0);
        let held = each_record_once(store);
        let want: BTreeSet<Id> = own.union(&relay_had).copied().collect();
        assert_eq!(
            held, want,
            "the phone holds the relay's week and its own, nothing else"
        );
        // And the relay has the phone's week: a clean sync of the coordinator brings it.
        sync(&mut v.coordinator.store, &http).expect("coordinator syncs");
        let coordinator: BTreeSet<Id> = record_ids(&v.coordinator.store);
        assert!(
            own.is_subset(&coordinator),
            "the phone's own week reached the relay"
        );
    }
}

#[test]
fn a_new_phones_first_sync_of_a_year_finishes_over_a_link_that_drops_every_32_or_64_kb() {
    let (mut v, mut plan) = village(small());
    play(&mut v, &mut plan, 0..365, &[]);
    let (_dir, relay, http) = relay_for(&mut v);
    sync(&mut v.coordinator.store, &http).expect("the year reaches the relay");
    let year: BTreeSet<Id> = record_ids(&v.coordinator.store);
    assert!(
        year.len() > 2_500,
        "a year of the small village: {}",
        year.len()
    );

    let keyring: BTreeSet<Vec<u8>> = v
        .coordinator
        .store
        .keyring()
        .expect("keyring")
        .into_iter()
        .collect();
    let keyring_bytes: usize = keyring.iter().map(Vec::len).sum();
    assert!(
        keyring_bytes as u64 > CUTS[0],
        "the keyring ({keyring_bytes} bytes) is larger than the link carries before it drops"
    );

    for cut in CUTS {
        let mut phone = CareStore::open_in_memory(v.circle, v.device_key(1)).expect("new phone");
        let (done, peer) =
            sync_over_dropping_link(&relay, &mut phone, cut, "a new phone's first sync");
        let arrived: BTreeSet<Vec<u8>> = phone.keyring().expect("keyring").into_iter().collect();
        assert_eq!(arrived, keyring, "every elder key arrived, in pages");
        // Each page's reply told the phone which entries the relay holds: none is left to push.
        assert!(
            SyncPeers::keyring_unknown_to(&mut phone, &peer)
                .expect("unknown")
                .is_empty(),
            "the phone knows the relay holds every entry"
        );
        assert_eq!(done.records_received, year.len());
        assert_eq!(
            each_record_once(&phone),
            year,
            "the whole year, each record once"
        );
    }
}
