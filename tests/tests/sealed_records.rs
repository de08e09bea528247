//! Care records travel sealed for the circle (issue 12, decision 0014): a village run through
//! the relay leaves no personal data readable in any file of any phone or of the relay, and a
//! revoked phone cannot read what is recorded after its revocation.

use carebank_core::Error;
use carebank_core::domain::{AccessPurpose, FollowUp, Level, Observations, Revocation, RiskFlag};
use carebank_core::store::StoreKey;
use carebank_core::sync::bundle::Since;
use carebank_scenarios::net::{OnDisk, sync, village_and_relay_on_disk};
use carebank_scenarios::raw_files::{files_holding, files_under};
use carebank_scenarios::{ElderSpec, START_MS, Village, visit};

/// A follow-up promised on a visit, and an observation note: free text about an elder's health.
const FOLLOW_UP: &str = "联系村医上门看诊";
const NOTE: &str = "右腿浮肿，夜里咳嗽";

/// A caregiver's visit with health observations, a risk flag and a follow-up.
fn observed_visit(
    v: &mut Village,
    caregiver: usize,
    elder: usize,
    at: u64,
) -> carebank_core::ids::Id {
    let mut visit = visit(v.elders[elder], v.caregivers[caregiver].member_id, at);
    visit.observations = Observations {
        health: Some(Level::Poor),
        note: Some(NOTE.into()),
        ..Observations::default()
    };
    visit.risk_flags = vec![RiskFlag::Illness];
    visit.follow_ups = vec![FollowUp {
        action: FOLLOW_UP.into(),
        due_ms: None,
    }];
    v.caregivers[caregiver]
        .store
        .record_visit(visit)
        .expect("visit")
}

/// Every elder's and member's name in the village, the follow-up and the note.
fn personal_texts(v: &Village) -> Vec<String> {
    let mut texts: Vec<String> = (1..=v.elders.len())
        .map(|i| format!("老人{i:03}"))
        .collect();
    texts.push("李站长".into());
    texts.extend((1..=v.caregivers.len()).map(|i| format!("助老员{i}")));
    texts.extend((1..=v.volunteers.len()).map(|i| format!("志愿者{i}")));
    texts.push(FOLLOW_UP.into());
    texts.push(NOTE.into());
    texts
}

/// Read as a thief with every phone's files, an operator with the relay's disk, and whoever
/// finds a carried bundle would: no elder's or member's name, no follow-up and no observation
/// in any file, as bytes or inflated. The same search finds them in the plain JSON of the
/// records each phone opens, so the check can fail.
#[test]
fn no_file_of_a_phone_or_the_relay_or_a_bundle_holds_personal_data() {
    let dir = tempfile::tempdir().expect("dir");
    // Encrypted stores, each under its own key.
    let weekly = [ElderSpec::weekly(10); 3];
    let store_key = |n| StoreKey::Raw([n; 32]);
    let OnDisk {
        village: mut v,
        relay,
        http,
        ..
    } = village_and_relay_on_disk(dir.path(), store_key, 2, 1, &weekly);
    for round in 0..3u64 {
        for device in v.devices_mut() {
            sync(device, &http).expect("sync");
        }
        for caregiver in 0..2 {
            for elder in 0..3 {
                observed_visit(&mut v, caregiver, elder, START_MS + round * 3_600_000);
            }
        }
    }
    for _ in 0..2 {
        for device in v.devices_mut() {
            sync(device, &http).expect("sync");
        }
    }
    sync(&mut v.centre, &http).expect("centre syncs");
    let bundle = v.caregivers[0]
        .store
        .export_bundle(&Since::Everything)
        .expect("bundle");
    std::fs::write(dir.path().join("carried.cbb"), &bundle).expect("bundle file");

    // Each phone reads everything it was given, in the clear, through the store.
    let coordinator = &mut v.coordinator.store;
    let follow_ups = coordinator
        .open_follow_ups(AccessPurpose::Care)
        .expect("follow-ups");
    assert_eq!(follow_ups.len(), 18, "every visit's follow-up is open");
    assert!(follow_ups.iter().all(|f| f.action == FOLLOW_UP));
    assert_eq!(
        v.caregivers[1]
            .store
            .store()
            .waiting_count()
            .expect("waiting"),
        0
    );
    let opened: Vec<u8> = coordinator
        .store()
        .record_ids()
        .expect("ids")
        .into_iter()
        .flat_map(|id| {
            let record = coordinator.get(id).expect("opens");
            serde_json::to_vec(record.body()).expect("json")
        })
        .collect();
    let texts = personal_texts(&v);
    for text in &texts {
        assert!(
            carebank_scenarios::raw_files::holds(&opened, text.as_bytes()),
            "the opened records hold {text}"
        );
    }

    relay.stop().expect("relay stops");
    let files = files_under(dir.path());
    let names: Vec<String> = files
        .keys()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("-wal")) && names.iter().any(|n| n == "carried.cbb"),
        "logs and the bundle are among the files read: {names:?}"
    );
    assert!(files.len() >= 8, "{names:?}");
    for text in &texts {
        assert_eq!(
            files_holding(&files, text),
            Vec::<std::path::PathBuf>::new(),
            "{text} is readable"
        );
    }
    drop(v);
}

/// A stolen phone, revoked: what is recorded after the revocation is sealed under a key made
/// for the other devices only. The phone still holds the records, and cannot open them.
#[test]
fn a_revoked_phone_cannot_open_what_is_recorded_after_its_revocation() {
    let mut v = Village::build(2, 0, &[ElderSpec::weekly(10)]).expect("village");
    let before = observed_visit(&mut v, 1, 0, START_MS);
    v.coordinator
        .store
        .merge_from(&v.caregivers[1].store)
        .expect("merge");
    let stolen = v.caregivers[1].store.public_key();
    v.coordinator
        .store
        .revoke(Revocation {
            device_key: stolen,
            effective_ms: v.clock.now(),
            reason: "手机被盗".into(),
            last_seq: None,
            last_id: None,
        })
        .expect("revoke");
    let honest = &mut v.caregivers[0].store;
    honest.merge_from(&v.coordinator.store).expect("merge");
    let after = observed_visit(&mut v, 0, 0, START_MS + 3_600_000);

    let sealed_under = |id| {
        v.caregivers[0]
            .store
            .get(id)
            .expect("the honest phone opens it")
            .key_id()
            .expect("sealed")
    };
    assert_ne!(sealed_under(before), sealed_under(after), "a new epoch");

    // The thief gets every document (a copied bundle, a careless peer).
    let honest_docs = v.caregivers[0].store.documents().expect("docs");
    let thief = &mut v.caregivers[1].store;
    thief.merge_from(&v.coordinator.store).expect("merge");
    thief.merge_docs(honest_docs).expect("merge");
    assert!(
        thief.get(before).is_ok(),
        "what it had before stays readable"
    );
    assert!(
        matches!(thief.get(after), Err(Error::NotFound { .. })),
        "the visit after the revocation is not opened"
    );
    assert!(thief.store().waiting_count().expect("waiting") >= 1);
    let bytes: Vec<u8> = v.caregivers[0]
        .store
        .get(after)
        .expect("get")
        .as_bytes()
        .to_vec();
    assert!(
        !carebank_scenarios::raw_files::holds(&bytes, FOLLOW_UP.as_bytes()),
        "the record's bytes hold no follow-up"
    );
}
