//! Bad input is refused with a clear error and writes nothing; tampered, foreign and unknown
//! records are reported and never counted; records survive closing and reopening the store.

use carebank_core::domain::{
    AccessPurpose, FollowUp, Funding, Level, Observations, RecordBody, ServiceDetail, ServiceKind,
    ValidationError, parse_id,
};
use carebank_core::error::Kind;
use carebank_core::identity::DeviceKey;
use carebank_core::ids::{Id, IdError};
use carebank_core::record::{Envelope, RecordError, SignedRecord, V1};
use carebank_core::replica::{DocId, RecordDoc, session_actor};
use carebank_core::store::StoreKey;
use carebank_core::time::Month;
use carebank_core::{CareStore, Circle, Error};
use carebank_scenarios::{
    DAY, ElderSpec, START_MS, Village, fixed_id, lost_phone, meal, service, visit,
};

fn small_village() -> Village {
    Village::build(1, 1, &[ElderSpec::weekly(30)]).expect("village")
}

/// The store key of the tests' store files.
const STORE_KEY: StoreKey = StoreKey::Raw([0x5a; 32]);

fn record_count(store: &CareStore) -> usize {
    store.store().record_ids().expect("ids").len()
}

#[test]
fn bad_input_gets_a_clear_error_and_writes_nothing() {
    let mut v = small_village();
    let (elder, cg) = (v.elders[0], v.caregivers[0].member_id);
    let store = &mut v.caregivers[0].store;
    let before = record_count(store);

    assert_eq!(
        parse_id("elder_id", ""),
        Err(ValidationError::BadId {
            field: "elder_id",
            source: IdError::Empty
        })
    );

    let mut backwards = visit(elder, cg, START_MS);
    backwards.check_out_ms = START_MS - 1;
    assert!(matches!(
        store.record_visit(backwards),
        Err(Error::Invalid(
            ValidationError::CheckOutBeforeCheckIn { .. }
        ))
    ));

    let negative = service(elder, cg, START_MS, -30, Funding::Government, meal());
    assert!(matches!(
        store.record_service(negative),
        Err(Error::Invalid(ValidationError::NonPositiveDuration(-30)))
    ));
    let zero = service(elder, cg, START_MS, 0, Funding::Government, meal());
    assert!(matches!(
        store.record_service(zero),
        Err(Error::Invalid(ValidationError::NonPositiveDuration(0)))
    ));

    let stranger = fixed_id(0xdead);
    assert!(
        matches!(store.record_visit(visit(stranger, cg, START_MS)), Err(Error::NotFound { kind: Kind::Elder, id }) if id == stranger.to_string())
    );

    assert_eq!(
        "massage".parse::<ServiceKind>(),
        Err(ValidationError::UnknownServiceKind("massage".into()))
    );

    let mut empty_note = visit(elder, cg, START_MS);
    empty_note.follow_ups = vec![FollowUp {
        action: "  ".into(),
        due_ms: None,
    }];
    assert!(matches!(
        store.record_visit(empty_note),
        Err(Error::Invalid(ValidationError::Empty(_)))
    ));

    let other = ServiceDetail::Other {
        description: String::new(),
    };
    assert!(matches!(
        store.record_service(service(elder, cg, START_MS, 10, Funding::SelfPaid, other)),
        Err(Error::Invalid(ValidationError::Empty("description")))
    ));

    assert_eq!(
        record_count(store),
        before,
        "a refused record leaves no trace"
    );
}

#[test]
fn members_may_only_do_what_their_role_and_the_elders_consent_allow() {
    let mut v = Village::build(1, 1, &[ElderSpec::weekly(0)]).expect("village");
    let (elder, cg, vol) = (
        v.elders[0],
        v.caregivers[0].member_id,
        v.volunteers[0].member_id,
    );

    // A volunteer does not record home visits, nor work in another member's name.
    let err = v.volunteers[0]
        .store
        .record_visit(visit(elder, vol, START_MS))
        .expect_err("volunteer visit");
    assert!(matches!(err, Error::NotAuthorised(_)), "{err}");
    let err = v.volunteers[0]
        .store
        .record_service(service(elder, cg, START_MS, 30, Funding::TimeBank, meal()))
        .expect_err("in another's name");
    assert!(matches!(err, Error::NotAuthorised(_)), "{err}");

    // Government-bought services are for entitled elders only.
    let err = v.caregivers[0]
        .store
        .record_service(service(
            elder,
            cg,
            START_MS,
            30,
            Funding::Government,
            meal(),
        ))
        .expect_err("not entitled");
    assert!(
        matches!(err, Error::Invalid(ValidationError::Inconsistent(_))),
        "{err}"
    );

    // A device nobody enrolled can write nothing.
    let mut outsider =
        CareStore::open_in_memory(v.circle, DeviceKey::from_seed([42; 32])).expect("store");
    outsider.merge_from(&v.coordinator.store).expect("merge");
    assert!(matches!(
        outsider.record_visit(visit(elder, cg, START_MS)),
        Err(Error::NotAuthorised(_))
    ));
}

#[test]
fn health_observations_need_the_elders_consent() {
    let mut v = small_village();
    let (elder, cg) = (v.elders[0], v.caregivers[0].member_id);
    // The coordinator amends the elder: consent now covers care records only.
    let coordinator = &mut v.coordinator.store;
    let elder_record = coordinator
        .store()
        .record_ids()
        .expect("ids")
        .into_iter()
        .find(|id| {
            matches!(
                coordinator.get(*id).expect("get").body(),
                RecordBody::Elder(_)
            )
        })
        .expect("elder record");
    let RecordBody::Elder(mut amended) = coordinator.get(elder_record).expect("get").body().clone()
    else {
        panic!("not an elder")
    };
    amended.consent.purposes = vec![carebank_core::domain::ConsentPurpose::CareRecords];
    coordinator
        .correct(
            elder_record,
            carebank_core::domain::CorrectionAction::Amend {
                replacement: Box::new(RecordBody::Elder(amended)),
            },
            "家属撤回健康信息授权",
        )
        .expect("amend consent");
    v.caregivers[0]
        .store
        .merge_from(&v.coordinator.store)
        .expect("merge");

    let mut observed = visit(elder, cg, START_MS);
    observed.observations = Observations {
        health: Some(Level::Poor),
        ..Observations::default()
    };
    let err = v.caregivers[0]
        .store
        .record_visit(observed)
        .expect_err("no consent");
    assert!(
        matches!(err, Error::NoConsent("health observations")),
        "{err}"
    );
    let mut mood_only = visit(elder, cg, START_MS);
    mood_only.observations = Observations {
        mood: Some(Level::Good),
        ..Observations::default()
    };
    v.caregivers[0]
        .store
        .record_visit(mood_only)
        .expect("mood is not health data");
}

/// Signs `body` as `key` at the village's clock, outside any store.
fn forge(v: &Village, key: &DeviceKey, circle: Id, body: RecordBody) -> SignedRecord {
    let envelope = Envelope {
        v: V1,
        circle,
        author: key.public_key(),
        hlc: carebank_core::hlc::Hlc {
            ms: v.clock.now(),
            counter: 0,
        },
        body,
        link: None,
    };
    SignedRecord::sign(envelope, key).expect("sign")
}

/// `bytes` with the first occurrence of `from` replaced by `to`, of the same length (so that
/// only the signature can tell).
fn replace_bytes(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "an edit of the same length");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .expect("the text to edit is in the record");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

fn doc_with(records: &[(Id, Vec<u8>)]) -> Vec<u8> {
    let mut doc = RecordDoc::new(&session_actor());
    for (id, bytes) in records {
        doc.put(*id, bytes).expect("put");
    }
    doc.save()
}

#[test]
fn tampered_foreign_and_unknown_records_are_reported_and_never_counted() {
    let mut v = small_village();
    let (elder, cg) = (v.elders[0], v.caregivers[0].member_id);
    let november: Month = "2026-11".parse().expect("month");
    let doc_id = DocId::for_hlc(carebank_core::hlc::Hlc {
        ms: v.clock.now(),
        counter: 0,
    });

    // 1. A caregiver's genuine meal, altered in transit: 60 minutes become 90.
    let genuine = v.caregivers[0]
        .store
        .record_service(service(
            elder,
            cg,
            START_MS,
            60,
            Funding::Government,
            meal(),
        ))
        .expect("meal");
    let bytes = v.caregivers[0]
        .store
        .get(genuine)
        .expect("get")
        .as_bytes()
        .to_vec();
    // The body travels sealed for the circle: nobody in transit can read "60" to change it,
    // and a changed byte of the ciphertext fails the signature before anything is decrypted.
    assert!(
        !bytes.windows(19).any(|w| w == b"\"duration_minutes\":"),
        "the service's fields are not readable in its bytes"
    );
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert_eq!(
        SignedRecord::from_bytes(&tampered),
        Err(RecordError::BadSignature)
    );

    // 2. A well-signed record from a key nobody enrolled.
    let stranger = DeviceKey::from_seed([77; 32]);
    let unknown = forge(
        &v,
        &stranger,
        v.circle.circle_id,
        RecordBody::Service(service(
            elder,
            cg,
            START_MS,
            45,
            Funding::Government,
            meal(),
        )),
    );
    // 3. A genuine-looking record of another circle.
    let foreign = forge(
        &v,
        &stranger,
        fixed_id(0xf0),
        RecordBody::Service(service(elder, cg, START_MS, 30, Funding::SelfPaid, meal())),
    );

    let incoming = doc_with(&[
        (genuine, tampered),
        (unknown.id(), unknown.as_bytes().to_vec()),
        (foreign.id(), foreign.as_bytes().to_vec()),
    ]);
    let coordinator = &mut v.coordinator.store;
    let report = coordinator.merge_doc(&doc_id, &incoming).expect("merge");
    assert_eq!(
        report.added,
        vec![unknown.id()],
        "only the well-signed record of this circle is stored"
    );
    let reasons: Vec<_> = report.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("bad signature")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("circle")), "{reasons:?}");
    assert_eq!(coordinator.rejections().expect("rejections").len(), 2);
    assert_eq!(
        coordinator.untrusted_records().expect("untrusted"),
        vec![(unknown.id(), stranger.public_key())]
    );
    assert_eq!(
        coordinator.person_times(november).expect("pt").total(),
        0,
        "nothing above is counted"
    );

    // The genuine record still arrives intact from its author, and counts.
    coordinator
        .merge_from(&v.caregivers[0].store)
        .expect("merge");
    let pt = coordinator.person_times(november).expect("pt");
    assert_eq!(pt.of(ServiceKind::Meal), 1);
    assert_eq!(
        coordinator
            .entitlement_use(november, AccessPurpose::Report)
            .expect("use")[0]
            .used_minutes,
        60
    );
    // Merging garbage changes nothing and says why.
    assert!(
        coordinator
            .merge_doc(&doc_id, b"\x85\x6f\x4a\x83 not a document")
            .is_err()
    );
    assert_eq!(coordinator.person_times(november).expect("pt"), pt);
}

#[test]
fn a_record_altered_on_disk_is_rejected_on_read_and_survives_reopen_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("centre.db");
    let seed = [5u8; 32];
    let centre_key = DeviceKey::from_seed(seed);
    let circle = Circle {
        circle_id: fixed_id(0xc2),
        centre_key: centre_key.public_key(),
    };
    let site = carebank_core::domain::Site {
        site_id: fixed_id(0x51),
        kind: carebank_core::domain::SiteKind::Centre,
        name: "南岸区养老服务中心".into(),
        parent: None,
    };
    let (id, clock) = {
        let mut store = CareStore::open(&path, &STORE_KEY, circle, centre_key).expect("create");
        let id = store.add_site(site.clone()).expect("site");
        (id, store.clock().expect("clock"))
    };

    // Reopened: the record is there, verified, and the clock does not go back.
    let mut store =
        CareStore::open(&path, &STORE_KEY, circle, DeviceKey::from_seed(seed)).expect("reopen");
    assert_eq!(
        store.get(id).expect("get").body(),
        &RecordBody::Site(site.clone())
    );
    assert_eq!(store.clock().expect("clock"), clock);
    store.set_wall_clock(Box::new(|| 0));
    let second = store
        .add_site(carebank_core::domain::Site {
            site_id: fixed_id(0x52),
            kind: carebank_core::domain::SiteKind::Station,
            name: "花园社区养老服务站".into(),
            parent: Some(site.site_id),
        })
        .expect("second site");
    assert!(
        store.get(second).expect("get").hlc() > clock,
        "a wall clock at 1970 does not move the HLC back"
    );
    drop(store);

    // Someone who has the store key edits the stored bytes of the first record with a SQLite tool.
    let raw = rusqlite::Connection::open(&path).expect("raw");
    raw.pragma_update(None, "key", format!("x'{}'", hex::encode([0x5a; 32])))
        .expect("key");
    let bytes: Vec<u8> = raw
        .query_row(
            "SELECT bytes FROM records WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .expect("row");
    let forged = replace_bytes(&bytes, "南岸区", "北岸区");
    raw.execute(
        "UPDATE records SET bytes = ?1 WHERE id = ?2",
        rusqlite::params![forged, id.to_string()],
    )
    .expect("edit");
    drop(raw);

    let mut store =
        CareStore::open(&path, &STORE_KEY, circle, DeviceKey::from_seed(seed)).expect("reopen");
    assert!(matches!(
        store.get(id),
        Err(Error::Record(RecordError::BadSignature))
    ));
    // The Automerge documents still hold the signed original: a rebuild restores the index.
    let report = store.rebuild_indexes().expect("rebuild");
    assert!(report.rejected.is_empty());
    assert_eq!(report.added.len(), 2);
    assert_eq!(store.get(id).expect("get").body(), &RecordBody::Site(site));
}

#[test]
fn a_store_refuses_to_open_as_another_circle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("device.db");
    let key = DeviceKey::from_seed([9; 32]);
    let circle = Circle {
        circle_id: fixed_id(1),
        centre_key: key.public_key(),
    };
    drop(
        CareStore::open(&path, &STORE_KEY, circle, DeviceKey::from_seed([9; 32])).expect("create"),
    );
    let other = Circle {
        circle_id: fixed_id(2),
        ..circle
    };
    assert!(matches!(
        CareStore::open(&path, &STORE_KEY, other, key),
        Err(Error::WrongCircle { .. })
    ));
}

#[test]
fn a_revoked_phone_stops_counting_from_the_revocation() {
    let mut v = small_village();
    let (elder, cg) = (v.elders[0], v.caregivers[0].member_id);
    let november: Month = "2026-11".parse().expect("month");
    v.caregivers[0]
        .store
        .record_visit(visit(elder, cg, START_MS))
        .expect("before loss");
    let lost_key = v.caregivers[0].store.public_key();
    v.clock.advance(DAY);
    // The coordinator, who holds the phone's records so far, revokes it.
    v.merge(0, 1).expect("merge before revoking");
    v.coordinator
        .store
        .revoke(lost_phone(lost_key, v.clock.now()))
        .expect("revoke");
    v.clock.advance(DAY);
    // The phone, not yet aware, records another visit; then both sides sync.
    v.caregivers[0]
        .store
        .record_visit(visit(elder, cg, START_MS + 2 * DAY))
        .expect("after loss");
    let Village {
        coordinator,
        caregivers,
        ..
    } = &mut v;
    coordinator
        .store
        .merge_from(&caregivers[0].store)
        .expect("merge");
    caregivers[0]
        .store
        .merge_from(&coordinator.store)
        .expect("merge back");

    for store in [&v.coordinator.store, &v.caregivers[0].store] {
        assert_eq!(
            store.person_times(november).expect("pt").visits,
            1,
            "only the visit before the revocation counts"
        );
        assert_eq!(
            store.untrusted_records().expect("untrusted").len(),
            1,
            "the later one is reported"
        );
    }
    let err = v.caregivers[0]
        .store
        .record_visit(visit(elder, cg, START_MS + 3 * DAY))
        .expect_err("revoked");
    assert!(matches!(err, Error::NotAuthorised(_)));
}

#[test]
fn services_of_every_kind_round_trip_through_the_store() {
    use carebank_core::domain::{
        BathCheck, BathPlace, ConfirmMethod, Confirmation, ConfirmedBy, MealMode,
    };
    let mut v = small_village();
    let (elder, cg, vol) = (
        v.elders[0],
        v.caregivers[0].member_id,
        v.volunteers[0].member_id,
    );
    let details = [
        ServiceDetail::Meal {
            mode: MealMode::DiningTable,
            portions: 2,
            diet_notes: Some("低盐，软食".into()),
        },
        ServiceDetail::Bath {
            place: BathPlace::BathingPoint,
            safety_checks: vec![BathCheck::WaterTemperature, BathCheck::NonSlipMat],
            skin_condition: Some("背部轻微压红".into()),
        },
        ServiceDetail::Cleaning {},
        ServiceDetail::Mobility {},
        ServiceDetail::MedicalEscort {
            destination: Some("镇卫生院".into()),
        },
        ServiceDetail::Companionship {},
        ServiceDetail::Emergency {
            description: "夜间跌倒，已送医".into(),
        },
        ServiceDetail::Other {
            description: "代缴电费".into(),
        },
    ];
    for (i, detail) in details.into_iter().enumerate() {
        let mut s = service(
            elder,
            cg,
            START_MS + i as u64 * 3_600_000,
            30,
            Funding::Government,
            detail,
        );
        s.confirmation = Some(Confirmation {
            by: ConfirmedBy::Elder,
            member_id: None,
            method: ConfirmMethod::PrintedCard,
            at_ms: s.started_ms,
            card: None,
        });
        let id = v.caregivers[0]
            .store
            .record_service(s.clone())
            .expect("service");
        assert_eq!(
            v.caregivers[0].store.get(id).expect("get").body(),
            &RecordBody::Service(s)
        );
    }
    // A caregiver may confirm a volunteer's service; the provider may not confirm their own.
    let mut by_vol = service(
        elder,
        vol,
        START_MS,
        60,
        Funding::TimeBank,
        ServiceDetail::Companionship {},
    );
    by_vol.confirmation = Some(Confirmation {
        by: ConfirmedBy::Caregiver,
        member_id: Some(cg),
        method: ConfirmMethod::InPerson,
        at_ms: START_MS,
        card: None,
    });
    v.volunteers[0]
        .store
        .record_service(by_vol.clone())
        .expect("confirmed by caregiver");
    by_vol.confirmation = Some(Confirmation {
        by: ConfirmedBy::Caregiver,
        member_id: Some(vol),
        method: ConfirmMethod::InPerson,
        at_ms: START_MS,
        card: None,
    });
    assert!(v.volunteers[0].store.record_service(by_vol).is_err());
    let pt = v.caregivers[0]
        .store
        .person_times("2026-11".parse().expect("month"))
        .expect("pt");
    assert!(ServiceKind::ALL.iter().all(|k| pt.of(*k) == 1), "{pt:?}");
}
