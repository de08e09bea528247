//! Erasure of an elder's personal data (issue 12, item 3; PIPL Art. 47): once a coordinator
//! erases an elder and the village syncs, no phone's database or log, no Automerge document
//! and nothing the relay holds can give back the elder's name, notes or observations, while
//! every record still verifies and the month's person-times do not change. A phone that was
//! offline at the time destroys the elder's key on its next sync, and what it recorded about
//! the elder meanwhile is erased with the rest.
//!
//! The phones' stores are plain here (no SQLCipher key), so that reading their raw files is
//! reading the decrypted database, its free pages and its log, as a thief who has the store's
//! key would.

use carebank_core::domain::{ErasureReason, Funding, Observations, ServiceDetail, Visit};
use carebank_core::ids::Id;
use carebank_core::record::Personal;
use carebank_core::store::StoreKey;
use carebank_core::time::Month;
use carebank_core::{CareStore, Error};
use carebank_scenarios::net::{OnDisk, sync, village_and_relay_on_disk};
use carebank_scenarios::raw_files::{files_holding, files_under};
use carebank_scenarios::{ElderSpec, START_MS, Village, record_ids, service, visit};

/// What is recorded about the elder who is erased: a name (the fixture's), notes and a
/// follow-up.
const ERASED_NAME: &str = "老人001";
const ERASED_NOTE: &str = "右腿浮肿，夜里咳嗽";
const ERASED_DIET: &str = "糖尿病，少糖软食";
const ERASED_FOLLOW_UP: &str = "联系村医上门看诊";
/// What is recorded about another elder, who is not erased: it stays readable on the phones.
const KEPT_NAME: &str = "老人002";
const KEPT_NOTE: &str = "精神很好，能自己做饭";

/// A visit by caregiver `caregiver` to elder `elder` with a note and, for the erased elder, a
/// follow-up.
fn noted_visit(v: &mut Village, caregiver: usize, elder: usize, at: u64, note: &str) -> Id {
    let mut visit: Visit = visit(v.elders[elder], v.caregivers[caregiver].member_id, at);
    visit.observations = Observations {
        note: Some(note.into()),
        ..Observations::default()
    };
    if elder == 0 {
        visit.follow_ups = vec![carebank_core::domain::FollowUp {
            action: ERASED_FOLLOW_UP.into(),
            due_ms: None,
        }];
    }
    v.caregivers[caregiver]
        .store
        .record_visit(visit)
        .expect("visit")
}

/// A delivered meal with diet notes, to elder `elder`.
fn noted_meal(v: &mut Village, caregiver: usize, elder: usize, at: u64) -> Id {
    let detail = ServiceDetail::Meal {
        mode: carebank_core::domain::MealMode::Delivered,
        portions: 1,
        diet_notes: Some(ERASED_DIET.into()),
    };
    let meal = service(
        v.elders[elder],
        v.caregivers[caregiver].member_id,
        at,
        30,
        Funding::SelfPaid,
        detail,
    );
    v.caregivers[caregiver]
        .store
        .record_service(meal)
        .expect("meal")
}

/// The centre and every member device sync with the relay, but member device `skip` (0 the
/// coordinator, then the caregivers).
fn sync_all(v: &mut Village, http: &carebank_core::sync::http::RelayClient, skip: Option<usize>) {
    sync(&mut v.centre, http).expect("the centre syncs");
    for (i, device) in v.devices_mut().into_iter().enumerate() {
        if Some(i) != skip {
            sync(device, http).expect("sync");
        }
    }
}

#[test]
fn an_erased_elder_leaves_nothing_readable_on_any_replica_and_the_figures_still_count() {
    let dir = tempfile::tempdir().expect("dir");
    let weekly = [ElderSpec::weekly(10), ElderSpec::weekly(10)];
    let OnDisk {
        village: mut v,
        relay,
        http,
        phones,
        relay_dir,
    } = village_and_relay_on_disk(dir.path(), |_| StoreKey::Plain, 2, 0, &weekly);
    sync_all(&mut v, &http, None);
    let mut erased_records = Vec::new();
    let mut kept_records = Vec::new();
    for round in 0..2u64 {
        let at = START_MS + round * 3_600_000;
        erased_records.push(noted_visit(&mut v, 0, 0, at, ERASED_NOTE));
        erased_records.push(noted_meal(&mut v, 1, 0, at + 60_000));
        kept_records.push(noted_visit(&mut v, 1, 1, at, KEPT_NOTE));
    }
    sync_all(&mut v, &http, None);
    sync_all(&mut v, &http, None);
    let month = Month::of_instant(START_MS as i64);
    let before = v.coordinator.store.person_times(month).expect("figures");
    assert_eq!(before.total(), 6, "{before:?}");

    // Before: the phones' files hold the elder's name and follow-up (the index, in a plain
    // store), so the search below can find them; the notes are in the records, opened.
    let files = files_under(&phones);
    for text in [ERASED_NAME, ERASED_FOLLOW_UP] {
        assert!(!files_holding(&files, text).is_empty(), "{text} before");
    }
    let opened: String = erased_records
        .iter()
        .map(|id| {
            let record = v.coordinator.store.get(*id).expect("opens");
            serde_json::to_string(record.body()).expect("json")
        })
        .collect();
    assert!(opened.contains(ERASED_NOTE) && opened.contains(ERASED_DIET));

    // Caregiver 1's phone is offline from now on, and records one more meal for the elder.
    let offline = 2; // caregiver 1 (member devices: 0 the coordinator, then the caregivers)
    v.coordinator
        .store
        .erase_elder(v.elders[0], ErasureReason::ServiceEnded)
        .expect("erase");
    let late_meal = noted_meal(&mut v, 1, 0, START_MS + 3 * 3_600_000);
    sync_all(&mut v, &http, Some(offline));
    sync_all(&mut v, &http, Some(offline));
    assert!(
        v.caregivers[1].store.get(late_meal).is_ok()
            && !v.caregivers[1]
                .store
                .is_erased(v.elders[0])
                .expect("erased"),
        "the offline phone knows nothing yet"
    );
    // Its next sync carries the erasure to it, and its meal to everyone.
    sync(&mut v.caregivers[1].store, &http).expect("sync");
    sync_all(&mut v, &http, None);
    erased_records.push(late_meal);

    // Nothing more is recorded about the elder.
    let again = visit(
        v.elders[0],
        v.caregivers[0].member_id,
        START_MS + 4 * 3_600_000,
    );
    let refused = v.caregivers[0].store.record_visit(again);
    assert!(matches!(refused, Err(Error::ElderErased(_))), "{refused:?}");

    // Every record still verifies and opens on every phone; the erased elder's records have no
    // personal fields, the other elder's keep theirs.
    let erased = v.elders[0];
    check_erased(&v.centre, erased, &erased_records);
    for device in v.devices_mut() {
        check_erased(device, erased, &erased_records);
    }
    for id in &kept_records {
        let record = v.caregivers[0].store.get(*id).expect("opens");
        assert!(matches!(record.personal(), Some(Personal::Opened { .. })));
        let json = serde_json::to_string(record.body()).expect("json");
        assert!(
            json.contains(KEPT_NOTE),
            "the other elder's notes stay: {json}"
        );
    }
    // A rebuild of the index from the documents finds the erasure again.
    v.caregivers[0].store.rebuild_indexes().expect("rebuild");
    check_erased(&v.caregivers[0].store, erased, &erased_records);
    let after = v.coordinator.store.person_times(month).expect("figures");
    assert_eq!(
        after.total(),
        before.total() + 1,
        "the late meal counts too"
    );
    assert_eq!(after.visits, before.visits);
    let offline_figures = v.caregivers[1].store.person_times(month).expect("figures");
    assert_eq!(offline_figures, after);

    relay.stop().expect("relay stops");
    // The relay keeps no entry of the elder's key, and refused the offline phone's copy.
    let relay_db = rusqlite::Connection::open(relay_dir.join("relay.sqlite3")).expect("relay db");
    let entries: i64 = relay_db
        .query_row(
            "SELECT count(*) FROM elder_keys WHERE elder = ?1",
            [v.elders[0].to_string()],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(entries, 0);
    let kept: i64 = relay_db
        .query_row(
            "SELECT count(*) FROM elder_keys WHERE elder = ?1",
            [v.elders[1].to_string()],
            |r| r.get(0),
        )
        .expect("count");
    assert!(kept >= 1, "the other elder's key is still carried");
    drop(relay_db);

    // After: no file of any phone or of the relay holds the elder's name, notes or follow-up;
    // the other elder's name is still there (so the search still finds what is there).
    let files = files_under(dir.path());
    for text in [ERASED_NAME, ERASED_NOTE, ERASED_DIET, ERASED_FOLLOW_UP] {
        assert_eq!(
            files_holding(&files, text),
            Vec::<std::path::PathBuf>::new(),
            "{text} is still readable"
        );
    }
    assert!(!files_holding(&files, KEPT_NAME).is_empty());
    drop(v);
}

/// On `device`: the elder is erased, every record verifies and opens, and the erased elder's
/// records open without their personal fields.
fn check_erased(device: &CareStore, elder: Id, erased_records: &[Id]) {
    assert!(device.is_erased(elder).expect("erased"));
    for id in record_ids(device) {
        device.get(id).expect("every record verifies and opens");
    }
    for id in erased_records {
        let record = device.get(*id).expect("opens");
        assert!(
            matches!(record.personal(), Some(Personal::Erased { .. })),
            "{id}: {:?}",
            record.personal()
        );
        let json = serde_json::to_string(record.body()).expect("json");
        assert!(
            !json.contains(ERASED_NOTE) && !json.contains(ERASED_DIET),
            "{json}"
        );
    }
}
