//! The relay over HTTP on loopback: who may sync, signed requests, bad input, a relay that is
//! killed mid-sync, several circles at once, compacted documents, and two instances sharing
//! PostgreSQL.

use carebank_core::hlc::wall_clock_ms;
use carebank_core::sync::{
    CancelToken, Initiator, Message, RequestAuth, SyncError, SyncReplica, Transport, run,
};
use std::path::Path;

use carebank_core::ids::Id;
use carebank_relay::RelayHandle;
use carebank_scenarios::net::{
    PgSchema, SmallCircle, bootstrap, client, enrolled_caregiver, relay_config, small_circle,
    start_relay, stranger, sync, test_key,
};
use carebank_scenarios::{
    MINUTE, START_MS, SimClock, Village, lost_phone, record_ids, visit, weekly_village,
};

fn village() -> Village {
    weekly_village(1, 1, 2, 0)
}

fn post(url: &str, path: &str, body: Vec<u8>, auth: Option<&RequestAuth>) -> (u16, Vec<u8>) {
    let client = reqwest::blocking::Client::new();
    let mut request = client.post(format!("{url}{path}")).body(body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth.header_value());
    }
    let response = request.send().expect("send");
    let status = response.status().as_u16();
    (status, response.bytes().expect("body").to_vec())
}

fn error_of(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).expect("a JSON error");
    format!("{}: {}", json["error"], json["message"])
}

#[test]
fn the_health_endpoint_answers() {
    let v = village();
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    client(&relay).health().expect("healthy");
    relay.stop().expect("graceful stop");
}

#[test]
fn enrolled_devices_sync_through_the_relay_and_strangers_are_refused() {
    let mut v = village();
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let http = client(&relay);

    // Before the centre has pushed anything, only the centre is known.
    let err = sync(&mut v.coordinator.store, &http).expect_err("not yet known");
    assert!(matches!(err, SyncError::NotAuthorised(_)), "{err}");
    bootstrap(&mut v, &http);

    let (elder, cg) = (v.elders[0], v.caregivers[0].member_id);
    let id = v.caregivers[0]
        .store
        .record_visit(visit(elder, cg, START_MS))
        .expect("visit");
    sync(&mut v.caregivers[0].store, &http).expect("caregiver syncs");
    sync(&mut v.volunteers[0].store, &http).expect("volunteer syncs");
    assert!(v.volunteers[0].store.get(id).is_ok());

    let mut unknown = stranger(v.circle, 1, &v.clock).expect("stranger");
    let err = sync(&mut unknown, &http).expect_err("unenrolled");
    assert!(
        matches!(err, SyncError::NotAuthorised(ref m) if m.contains("not enrolled")),
        "{err}"
    );
    assert!(unknown.store().record_ids().expect("ids").is_empty());
}

#[test]
fn a_revoked_device_is_refused() {
    let mut v = village();
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let http = client(&relay);
    let (mut phone, _) = enrolled_caregiver(&mut v, 2).expect("enrolled");
    bootstrap(&mut v, &http);
    sync(&mut phone, &http).expect("enrolled phone syncs");

    v.coordinator
        .store
        .revoke(lost_phone(phone.public_key(), v.clock.now()))
        .expect("revoke");
    sync(&mut v.coordinator.store, &http).expect("coordinator pushes the revocation");
    let err = sync(&mut phone, &http).expect_err("revoked");
    assert!(
        matches!(err, SyncError::NotAuthorised(ref m) if m.contains("revoked")),
        "{err}"
    );
}

#[test]
fn a_replayed_or_stale_or_forged_request_is_refused() {
    let mut v = village();
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let http = client(&relay);
    let (mut phone, _) = enrolled_caregiver(&mut v, 3).expect("enrolled");
    bootstrap(&mut v, &http);

    let hello = Initiator::new("relay").start(&mut phone).expect("hello");
    let path = format!("/v1/circles/{}/sync", v.circle.circle_id);
    let key = test_key(3);
    let auth = RequestAuth::sign(&key, "POST", &path, &hello, wall_clock_ms());
    let (status, body) = post(&relay.url(), &path, hello.clone(), Some(&auth));
    assert_eq!(status, 200);
    assert!(Message::decode(&body).is_ok());

    let (status, body) = post(&relay.url(), &path, hello.clone(), Some(&auth));
    assert_eq!(status, 401);
    assert!(error_of(&body).contains("replayed"), "{}", error_of(&body));

    // Nonces are committed without an fsync (decision 0003), but a crash of the relay forgets
    // none: the same request after an abrupt stop and a restart is still a replay.
    relay.kill().expect("the relay stops");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let (status, body) = post(&relay.url(), &path, hello.clone(), Some(&auth));
    assert_eq!(status, 401);
    assert!(error_of(&body).contains("replayed"), "{}", error_of(&body));

    let stale = RequestAuth::sign(
        &key,
        "POST",
        &path,
        &hello,
        wall_clock_ms() - 10 * 60 * 1000,
    );
    let (status, body) = post(&relay.url(), &path, hello.clone(), Some(&stale));
    assert_eq!(status, 401);
    assert!(error_of(&body).contains("clock"), "{}", error_of(&body));

    // Signed for another body.
    let forged = RequestAuth::sign(&key, "POST", &path, b"something else", wall_clock_ms());
    let (status, body) = post(&relay.url(), &path, hello.clone(), Some(&forged));
    assert_eq!(status, 401);
    assert!(error_of(&body).contains("signature"), "{}", error_of(&body));

    let (status, body) = post(&relay.url(), &path, hello, None);
    assert_eq!(status, 401);
    assert!(error_of(&body).contains("missing"), "{}", error_of(&body));
}

#[test]
fn malformed_oversized_and_misaddressed_requests_get_clear_errors_and_change_nothing() {
    let mut v = village();
    let dir = tempfile::tempdir().expect("dir");
    let mut config = relay_config(dir.path(), v.circle, None, None);
    config.max_body_bytes = 64 * 1024;
    let relay = carebank_relay::spawn(config).expect("relay");
    let http = client(&relay);
    let (mut phone, _) = enrolled_caregiver(&mut v, 4).expect("enrolled");
    bootstrap(&mut v, &http);
    let key = test_key(4);
    let path = format!("/v1/circles/{}/sync", v.circle.circle_id);
    let send = |body: Vec<u8>, path: &str| {
        let auth = RequestAuth::sign(&key, "POST", path, &body, wall_clock_ms());
        post(&relay.url(), path, body, Some(&auth))
    };

    let hello = Initiator::new("relay").start(&mut phone).expect("hello");
    for (name, body) in [
        ("garbage", b"GET / HTTP/1.1".to_vec()),
        ("truncated", hello[..hello.len() - 3].to_vec()),
        ("empty", Vec::new()),
    ] {
        let (status, reply) = send(body, &path);
        assert_eq!(status, 400, "{name}");
        assert!(
            error_of(&reply).contains("malformed"),
            "{name}: {}",
            error_of(&reply)
        );
    }
    let mut corrupted = hello.clone();
    let last = corrupted.len() - 2;
    corrupted[last] ^= 0x40;
    let (status, reply) = send(corrupted, &path);
    assert_eq!(status, 400, "{}", error_of(&reply));

    let (status, _) = send(vec![0u8; 100 * 1024], &path);
    assert_eq!(status, 413);

    let elsewhere = format!("/v1/circles/{}/sync", "00".repeat(16));
    let (status, reply) = send(hello.clone(), &elsewhere);
    assert_eq!(status, 404, "{}", error_of(&reply));
    let (status, reply) = send(hello, "/v1/circles/not-an-id/sync");
    assert_eq!(status, 400, "{}", error_of(&reply));

    // The relay still holds what it held: a fresh device of the same records is up to date.
    let mut fresh = stranger(v.circle, 6, &v.clock).expect("fresh");
    fresh.merge_from(&v.coordinator.store).expect("merge");
    fresh.merge_from(&v.centre).expect("merge");
    assert_eq!(
        SyncReplica::doc_heads(&mut fresh).expect("heads"),
        SyncReplica::doc_heads(&mut v.coordinator.store).expect("heads")
    );
    let after = sync(&mut v.coordinator.store, &http).expect("sync");
    assert_eq!(after.round_trips, 1, "the relay's documents did not change");
}

/// Kills the relay just before request number `at` goes out.
struct KillBefore<'a> {
    inner: carebank_core::sync::http::HttpTransport<'a>,
    relay: Option<carebank_relay::RelayHandle>,
    at: u32,
    n: u32,
}

impl Transport for KillBefore<'_> {
    fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.n += 1;
        if self.n == self.at
            && let Some(relay) = self.relay.take()
        {
            relay.kill().expect("killed");
        }
        self.inner.request(request)
    }
}

#[test]
fn the_relay_killed_mid_sync_loses_nothing_and_the_next_sync_completes() {
    let mut v = village();
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let addr = relay.addr();
    let http = client(&relay);
    let (mut phone, cg) = enrolled_caregiver(&mut v, 7).expect("enrolled");
    bootstrap(&mut v, &http);
    let elder = v.elders[0];
    let first = phone
        .record_visit(visit(elder, cg, START_MS))
        .expect("visit");
    sync(&mut phone, &http).expect("first sync");

    // More work, then the relay dies between the hello and the push.
    let second = phone
        .record_visit(visit(elder, cg, START_MS + 3_600_000))
        .expect("visit");
    let key = test_key(7);
    let peer = http.peer_name();
    let mut transport = KillBefore {
        inner: http.transport(v.circle.circle_id, &key, &wall_clock_ms, CancelToken::new()),
        relay: Some(relay),
        at: 2,
        n: 0,
    };
    let err = run(
        &mut phone,
        &peer,
        &mut transport,
        &CancelToken::new(),
        &mut |_| {},
    )
    .expect_err("relay died");
    assert!(matches!(err, SyncError::Transport(_)), "{err}");

    // Restarted on the same address and data: what was committed is there, the sync completes.
    let relay = start_relay(dir.path(), v.circle, Some(addr), None);
    let http = client(&relay);
    let done = sync(&mut phone, &http).expect("the next sync completes");
    assert_eq!(done.round_trips, 2);
    let volunteer = &mut v.volunteers[0].store;
    sync(volunteer, &http).expect("volunteer syncs");
    assert!(volunteer.get(first).is_ok());
    assert!(volunteer.get(second).is_ok());
    let again = sync(&mut phone, &http).expect("nothing new");
    assert_eq!(again.round_trips, 1);
}

/// A relay serving every one of `circles`.
fn relay_for(dir: &Path, circles: &[&SmallCircle], database_url: Option<String>) -> RelayHandle {
    let mut config = relay_config(dir, circles[0].circle, None, database_url);
    config.circles = circles
        .iter()
        .map(|c| (c.circle.circle_id, c.circle.centre_key))
        .collect();
    carebank_relay::spawn(config).expect("relay")
}

/// Device `i` of `c` records a visit, `n` minutes into the first morning.
fn write(c: &mut SmallCircle, i: usize, n: u64) -> Id {
    let (elder, (store, member)) = (c.elder, &mut c.devices[i]);
    store
        .record_visit(visit(elder, *member, START_MS + n * MINUTE))
        .expect("visit")
}

#[test]
fn devices_of_several_circles_sync_at_once_and_each_sees_only_its_own_circle() {
    let clock = SimClock::at(START_MS);
    let mut circles: Vec<SmallCircle> = (0..4)
        .map(|n| small_circle(n, 3, &clock).expect("circle"))
        .collect();
    let dir = tempfile::tempdir().expect("dir");
    let relay = relay_for(dir.path(), &circles.iter().collect::<Vec<_>>(), None);
    for c in &mut circles {
        sync(&mut c.centre, &client(&relay)).expect("the centre bootstraps its circle");
    }
    // Every device of every circle writes and syncs from a thread of its own, all at once.
    std::thread::scope(|s| {
        for c in &mut circles {
            let elder = c.elder;
            for (store, member) in &mut c.devices {
                let relay = &relay;
                s.spawn(move || {
                    let http = client(relay);
                    for n in 0..8 {
                        store
                            .record_visit(visit(elder, *member, START_MS + n * 60 * MINUTE))
                            .expect("visit");
                        sync(store, &http).expect("sync under load");
                    }
                });
            }
        }
    });
    let http = client(&relay);
    for _ in 0..2 {
        for c in &mut circles {
            for (store, _) in &mut c.devices {
                sync(store, &http).expect("settle");
            }
        }
    }
    for (n, c) in circles.iter().enumerate() {
        let mut expected = record_ids(&c.centre);
        for (store, _) in &c.devices {
            expected.extend(record_ids(store));
        }
        assert_eq!(expected.len(), record_ids(&c.centre).len() + 3 * 8);
        for (store, _) in &c.devices {
            assert_eq!(record_ids(store), expected, "circle {n}");
        }
        for other in circles.iter().filter(|o| o.circle != c.circle) {
            assert!(record_ids(&other.devices[0].0).is_disjoint(&expected));
        }
    }
}

/// The chunks of each document the relay's SQLite file holds: (lowest number, count).
fn sqlite_chunks(dir: &Path) -> Vec<(i64, i64)> {
    let db = rusqlite::Connection::open(dir.join("relay.sqlite3")).expect("open");
    let mut stmt = db
        .prepare("SELECT min(seq), count(*) FROM chunks GROUP BY circle, doc")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Pushes one visit at a time, `n` times, from device 0 of `c` through `relays` in turn.
fn push_one_by_one(c: &mut SmallCircle, relays: &[&RelayHandle], n: u64) {
    for k in 0..n {
        write(c, 0, k);
        let relay = relays[k as usize % relays.len()];
        sync(&mut c.devices[0].0, &client(relay)).expect("push");
    }
}

#[test]
fn a_document_compacted_by_the_relay_keeps_everything_across_a_restart() {
    let clock = SimClock::at(START_MS);
    let mut c = small_circle(7, 2, &clock).expect("circle");
    let dir = tempfile::tempdir().expect("dir");
    let relay = relay_for(dir.path(), &[&c], None);
    sync(&mut c.centre, &client(&relay)).expect("bootstrap");
    push_one_by_one(&mut c, &[&relay], 100);
    let chunks = sqlite_chunks(dir.path());
    assert_eq!(chunks.len(), 1, "one document");
    assert!(chunks[0].0 > 0, "compacted: {chunks:?}");
    assert!(chunks[0].1 <= 64, "{chunks:?}");

    let addr = relay.addr();
    relay.stop().expect("stop");
    let relay = start_relay(dir.path(), c.circle, Some(addr), None);
    let (writer, reader) = c.devices.split_at_mut(1);
    let done = sync(&mut reader[0].0, &client(&relay)).expect("the other device catches up");
    assert!(done.records_received >= 100);
    assert_eq!(record_ids(&reader[0].0), record_ids(&writer[0].0));
    assert_eq!(
        SyncReplica::doc_heads(&mut reader[0].0).expect("heads"),
        SyncReplica::doc_heads(&mut writer[0].0).expect("heads")
    );
}

#[test]
fn two_instances_on_postgresql_compact_and_each_serves_everything() {
    let Some(schema) = PgSchema::create() else {
        return;
    };
    let clock = SimClock::at(START_MS);
    let mut c = small_circle(8, 2, &clock).expect("circle");
    let dir = tempfile::tempdir().expect("dir");
    let one = relay_for(dir.path(), &[&c], Some(schema.url.clone()));
    let two = relay_for(dir.path(), &[&c], Some(schema.url.clone()));
    sync(&mut c.centre, &client(&one)).expect("bootstrap");
    // Instance two loads the circle's document before the pushes, then serves it after.
    sync(&mut c.devices[1].0, &client(&two)).expect("early");
    push_one_by_one(&mut c, &[&one, &two], 150);

    let mut db = postgres::Client::connect(&schema.url, postgres::NoTls).expect("connect");
    let row = db
        .query_one("SELECT min(seq), count(*) FROM chunks", &[])
        .expect("chunks");
    let (first, count): (i64, i64) = (row.get(0), row.get(1));
    assert!(
        first > 0 && count <= 64,
        "compacted: from {first}, {count} chunks"
    );
    for relay in [&two, &one] {
        sync(&mut c.devices[1].0, &client(relay)).expect("catch up");
        assert_eq!(record_ids(&c.devices[1].0), record_ids(&c.devices[0].0));
    }
    // A restarted instance loads the compacted chunk and those after it.
    drop((one, two));
    let restarted = relay_for(dir.path(), &[&c], Some(schema.url.clone()));
    let (writer, reader) = c.devices.split_at_mut(1);
    let again = sync(&mut reader[0].0, &client(&restarted)).expect("nothing new");
    assert_eq!(again.round_trips, 1);
    let done = sync(&mut writer[0].0, &client(&restarted)).expect("nothing new");
    assert_eq!(done.round_trips, 1);
}

#[test]
fn on_postgresql_a_revocation_through_one_instance_counts_at_the_other() {
    let Some(schema) = PgSchema::create() else {
        return;
    };
    let clock = SimClock::at(START_MS);
    let mut c = small_circle(9, 1, &clock).expect("circle");
    let dir = tempfile::tempdir().expect("dir");
    let one = relay_for(dir.path(), &[&c], Some(schema.url.clone()));
    let two = relay_for(dir.path(), &[&c], Some(schema.url.clone()));
    sync(&mut c.centre, &client(&one)).expect("bootstrap");
    for _ in 0..2 {
        sync(&mut c.devices[0].0, &client(&one)).expect("the device syncs (trust now cached)");
    }
    let key = c.devices[0].0.public_key();
    c.centre
        .revoke(lost_phone(key, clock.now()))
        .expect("revoke");
    sync(&mut c.centre, &client(&two)).expect("the revocation goes through instance two");
    let err = sync(&mut c.devices[0].0, &client(&one)).expect_err("refused at instance one");
    assert!(
        matches!(err, SyncError::NotAuthorised(ref m) if m.contains("revoked")),
        "{err}"
    );
}
