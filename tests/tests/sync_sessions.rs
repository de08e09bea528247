//! Sync sessions between phones in one process: convergence, resuming after a dropped link,
//! corrupted and truncated replies, cancellation, and bundle files.

use carebank_core::domain::Funding;
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::sync::bundle::Since;
use carebank_core::sync::{
    CancelToken, Initiator, KeyPage, Limits, MemoryTransport, Message, Step, SyncError,
    SyncReplica, Transport, respond_bytes, run,
};
use carebank_core::{CareStore, Circle};
use carebank_scenarios::net::sync_peers;
use carebank_scenarios::{DAY, MINUTE, START_MS, Village, meal, service, visit, weekly_village};

fn village() -> Village {
    weekly_village(2, 1, 3, 0)
}

/// A few days of visits on caregiver 0 and meals on the volunteer, offline from each other.
fn work(v: &mut Village, days: u64) {
    for day in 0..days {
        let at = START_MS + day * DAY;
        for (i, elder) in v.elders.clone().into_iter().enumerate() {
            let cg = v.caregivers[0].member_id;
            v.caregivers[0]
                .store
                .record_visit(visit(elder, cg, at + i as u64 * 40 * MINUTE))
                .expect("visit");
            let vol = v.volunteers[0].member_id;
            v.volunteers[0]
                .store
                .record_service(service(
                    elder,
                    vol,
                    at + 5 * 60 * MINUTE,
                    30,
                    Funding::TimeBank,
                    meal(),
                ))
                .expect("meal");
        }
    }
}

fn snapshot(store: &mut CareStore) -> (Vec<Id>, Vec<carebank_core::sync::DocHeads>) {
    let ids = store
        .store()
        .record_ids()
        .expect("ids")
        .into_iter()
        .collect();
    (ids, SyncReplica::doc_heads(store).expect("heads"))
}

fn sync(a: &mut CareStore, b: &mut CareStore) -> carebank_core::sync::Progress {
    sync_peers(a, b).expect("sync")
}

#[test]
fn two_phones_converge_and_a_second_sync_is_one_small_round_trip() {
    let mut v = village();
    work(&mut v, 3);
    let (a, b) = (&mut v.caregivers, &mut v.volunteers);
    let first = sync(&mut a[0].store, &mut b[0].store);
    assert_eq!(first.round_trips, 2);
    assert!(first.records_received > 0);
    assert_eq!(snapshot(&mut a[0].store), snapshot(&mut b[0].store));

    let again = sync(&mut a[0].store, &mut b[0].store);
    assert_eq!(again.round_trips, 1);
    assert!(
        again.bytes_sent + again.bytes_received <= 512,
        "nothing-new sync took {} bytes",
        again.bytes_sent + again.bytes_received
    );

    // New work on one side goes across with only what is new.
    work(&mut v, 1);
    let cg = &mut v.caregivers[0].store;
    let vol = &mut v.volunteers[0].store;
    let later = sync_peers(cg, vol).expect("sync");
    assert_eq!(later.round_trips, 2);
    assert_eq!(snapshot(cg), snapshot(vol));
}

#[test]
fn a_round_whose_reply_the_link_drops_is_sent_again_and_the_sync_finishes() {
    let mut v = village();
    work(&mut v, 2);
    let peer = v.volunteers[0].store.peer_name();
    let (cg, vol) = (&mut v.caregivers[0].store, &mut v.volunteers[0].store);
    // The push is applied by the volunteer, but its reply never arrives: the round is sent
    // again (smaller), and what the volunteer already applied is harmless to apply twice.
    let mut transport = MemoryTransport::new(vol).losing_reply_to(2);
    let done = run(cg, &peer, &mut transport, &CancelToken::new(), &mut |_| {})
        .expect("the sync finishes");
    assert_eq!(done.rounds_retried, 1);
    assert!(done.bytes_wasted > 0);
    assert_eq!(snapshot(cg), snapshot(vol));
    let next = sync_peers(cg, vol).expect("nothing new");
    assert_eq!(next.round_trips, 1);
}

/// Changes the n-th reply.
type Fault = Box<dyn Fn(u32, Vec<u8>) -> Vec<u8>>;

/// A transport that hands each reply to a function before returning it.
struct Tamper<'a, T: Transport> {
    inner: T,
    tamper: &'a dyn Fn(u32, Vec<u8>) -> Vec<u8>,
    n: u32,
}

impl<T: Transport> Transport for Tamper<'_, T> {
    fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.n += 1;
        let reply = self.inner.request(request)?;
        Ok((self.tamper)(self.n, reply))
    }
}

/// The n-th reply (the first push's) with its keyring page and entries changed by `change`.
fn keyring_reply_changed(
    n: u32,
    reply: Vec<u8>,
    change: impl Fn(&mut KeyPage, &mut Vec<Vec<u8>>),
) -> Vec<u8> {
    if n != 2 {
        return reply;
    }
    let mut message = Message::decode(&reply).expect("a reply");
    let Message::Changes {
        keys: Some(keys), ..
    } = &mut message
    else {
        panic!("the first push's reply carries a keyring part");
    };
    let page = keys.page.get_or_insert(KeyPage::ALL);
    change(page, &mut keys.entries);
    message.encode().expect("encode")
}

#[test]
fn truncated_and_corrupted_replies_are_clear_errors_that_change_nothing() {
    let mut v = village();
    work(&mut v, 2);
    let peer = v.volunteers[0].store.peer_name();
    let faults: Vec<(&str, Fault)> = vec![
        (
            "truncated",
            Box::new(|n, r: Vec<u8>| if n == 2 { r[..r.len() / 2].to_vec() } else { r }),
        ),
        (
            "corrupted",
            Box::new(|n, mut r: Vec<u8>| {
                if n == 2 {
                    let i = r.len() / 2;
                    r[i] ^= 0x5a;
                }
                r
            }),
        ),
        (
            "empty",
            Box::new(|n, r: Vec<u8>| if n == 2 { Vec::new() } else { r }),
        ),
        (
            "garbage",
            Box::new(|n, r: Vec<u8>| {
                if n == 2 {
                    b"<html>502</html>".to_vec()
                } else {
                    r
                }
            }),
        ),
        (
            "a keyring reply for another page",
            Box::new(|n, r: Vec<u8>| {
                keyring_reply_changed(n, r, |page, _| page.first = Id::from_bytes([1; 16]))
            }),
        ),
        (
            "a keyring page cut short with no entry",
            Box::new(|n, r: Vec<u8>| {
                keyring_reply_changed(n, r, |page, entries| {
                    page.last = Id::from_bytes([0x10; 16]);
                    entries.clear();
                })
            }),
        ),
    ];
    for (name, fault) in &faults {
        let before = snapshot(&mut v.caregivers[0].store);
        let (cg, vol) = (&mut v.caregivers[0].store, &mut v.volunteers[0].store);
        let mut transport = Tamper {
            inner: MemoryTransport::new(vol),
            tamper: fault.as_ref(),
            n: 0,
        };
        let err = run(cg, &peer, &mut transport, &CancelToken::new(), &mut |_| {}).expect_err(name);
        assert!(matches!(err, SyncError::Malformed(_)), "{name}: {err}");
        assert!(!err.to_string().is_empty());
        assert_eq!(snapshot(&mut v.caregivers[0].store), before, "{name}");
    }
    let (cg, vol) = (&mut v.caregivers[0].store, &mut v.volunteers[0].store);
    sync(cg, vol);
    assert_eq!(snapshot(cg), snapshot(vol));
}

#[test]
fn a_corrupted_request_is_refused_and_changes_nothing_on_the_responder() {
    let mut v = village();
    work(&mut v, 1);
    let before = snapshot(&mut v.volunteers[0].store);
    let cg = &mut v.caregivers[0].store;
    let mut session = Initiator::new("volunteer");
    let hello = session.start(cg).expect("hello");
    let vol = &mut v.volunteers[0].store;
    let heads = respond_bytes(vol, &hello, &Limits::default()).expect("heads");
    let Step::Send(push) = session.receive(cg, &heads).expect("push") else {
        panic!("expected a push");
    };
    for cut in [push.len() / 3, push.len() - 1] {
        let reply = respond_bytes(vol, &push[..cut], &Limits::default()).expect("a reply");
        let err = session.receive(cg, &reply).expect_err("refused");
        assert!(
            matches!(err, SyncError::Refused(ref r) if r.contains("malformed")),
            "{err}"
        );
    }
    assert_eq!(snapshot(&mut v.volunteers[0].store), before);
}

#[test]
fn cancelling_stops_between_rounds_and_progress_is_reported() {
    let mut v = village();
    work(&mut v, 2);
    let cancel = CancelToken::new();
    let mut reports = Vec::new();
    let (cg, vol) = (&mut v.caregivers[0].store, &mut v.volunteers[0].store);
    let peer = vol.peer_name();
    let mut transport = MemoryTransport::new(&mut *vol);
    let err = run(cg, &peer, &mut transport, &cancel, &mut |p| {
        reports.push(p.clone());
        cancel.cancel();
    })
    .expect_err("cancelled");
    assert!(matches!(err, SyncError::Cancelled));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].round_trips, 1);
    assert!(reports[0].docs_to_sync > 0);
    let done = sync(cg, vol);
    assert_eq!(done.docs_synced, done.docs_to_sync);
}

#[test]
fn bundles_carry_what_a_peer_lacks_and_importing_twice_changes_nothing() {
    let mut v = village();
    work(&mut v, 2);
    let vol_name = v.volunteers[0].store.peer_name();
    let everything = v.caregivers[0]
        .store
        .export_bundle(&Since::Everything)
        .expect("export");
    let first = v.volunteers[0]
        .store
        .import_bundle(&everything)
        .expect("import");
    assert!(first.records_added > 0);
    let after_first = snapshot(&mut v.volunteers[0].store);
    let chunks = v.volunteers[0]
        .store
        .store()
        .chunk_counts()
        .expect("chunks");
    let second = v.volunteers[0]
        .store
        .import_bundle(&everything)
        .expect("again");
    assert_eq!(second.records_added, 0);
    assert_eq!(snapshot(&mut v.volunteers[0].store), after_first);
    assert_eq!(
        v.volunteers[0]
            .store
            .store()
            .chunk_counts()
            .expect("chunks"),
        chunks
    );

    // Back the other way: the volunteer now knows what the caregiver holds, so its bundle for
    // the caregiver carries only the volunteer's own work.
    let cg_name = v.caregivers[0].store.peer_name();
    let for_cg = v.volunteers[0]
        .store
        .export_bundle(&Since::Peer(cg_name))
        .expect("export for peer");
    let all = v.volunteers[0]
        .store
        .export_bundle(&Since::Everything)
        .expect("all");
    assert!(for_cg.len() < all.len());
    v.caregivers[0]
        .store
        .import_bundle(&for_cg)
        .expect("import back");
    assert_eq!(
        snapshot(&mut v.caregivers[0].store),
        snapshot(&mut v.volunteers[0].store)
    );
    let nothing = v.caregivers[0]
        .store
        .export_bundle(&Since::Peer(vol_name))
        .expect("export nothing");
    assert_eq!(
        v.volunteers[0]
            .store
            .import_bundle(&nothing)
            .expect("import")
            .records_added,
        0
    );
}

#[test]
fn bad_bundles_are_refused_and_change_nothing() {
    let mut v = village();
    work(&mut v, 1);
    let bundle = v.caregivers[0]
        .store
        .export_bundle(&Since::Everything)
        .expect("export");

    // A device the circle never enrolled cannot open the sealed bundle.
    let centre = DeviceKey::from_seed([42; 32]);
    let other_circle = Circle {
        circle_id: Id::from_bytes([0xee; 16]),
        centre_key: centre.public_key(),
    };
    let mut stranger = CareStore::open_in_memory(other_circle, centre).expect("stranger");
    let err = stranger
        .import_bundle(&bundle)
        .expect_err("not sealed for it");
    assert!(matches!(err, SyncError::NotAuthorised(_)), "{err}");
    assert!(stranger.store().record_ids().expect("ids").is_empty());
    // A store of another circle on a key the bundle was sealed for opens it, and refuses it.
    let mut other = CareStore::open_in_memory(other_circle, v.device_key(1)).expect("other");
    let err = other.import_bundle(&bundle).expect_err("another circle");
    assert!(matches!(err, SyncError::WrongCircle { .. }), "{err}");
    assert!(other.store().record_ids().expect("ids").is_empty());

    let before = snapshot(&mut v.volunteers[0].store);
    for cut in [0, 4, bundle.len() / 2, bundle.len() - 1] {
        let err = v.volunteers[0]
            .store
            .import_bundle(&bundle[..cut])
            .expect_err("truncated");
        assert!(
            matches!(err, SyncError::Malformed(_)),
            "cut at {cut}: {err}"
        );
    }
    let mut corrupted = bundle.clone();
    let i = corrupted.len() / 2;
    corrupted[i] ^= 0xff;
    assert!(v.volunteers[0].store.import_bundle(&corrupted).is_err());
    let mut sync_message = bundle.clone();
    sync_message[..3].copy_from_slice(b"CBS");
    assert!(v.volunteers[0].store.import_bundle(&sync_message).is_err());
    assert_eq!(snapshot(&mut v.volunteers[0].store), before);
}
