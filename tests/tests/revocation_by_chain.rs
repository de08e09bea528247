//! A revocation cuts a phone off at a place in its device chain, not at an instant of its own
//! clock (issue 11, finding 1: a stolen phone, revoked at T, wound its stored clock and its
//! system clock two days back, recorded a bath and exported a bundle; the coordinator imported
//! it and the bath counted, in the report and on every phone the relay passed it to).
//!
//! Each test plays the thief against stores that hold the revocation: the stock app on the
//! stolen phone with its clock wound back (bundle, then relay), a thief who signs at an early
//! chain position as if the store had been emptied, and the same against the time bank.

use carebank_core::CareStore;
use carebank_core::domain::{
    BathCheck, BathPlace, EntryKind, Funding, LedgerEntry, RecordBody, Revocation, ServiceDetail,
};
use carebank_core::hlc::Hlc;
use carebank_core::identity::{DeviceKey, PublicKey};
use carebank_core::ids::Id;
use carebank_core::ledger::{Hold, KeyProblem, Standing};
use carebank_core::record::{ChainLink, Envelope, FORMAT_VERSION, SignedRecord};
use carebank_core::replica::DocId;
use carebank_core::store::{ChainProblem, Store, StoreKey};
use carebank_core::sync::bundle::Since;
use carebank_core::time::Month;
use carebank_scenarios::ledger::{Bank, serve};
use carebank_scenarios::net::{self, bootstrap, client, start_relay};
use carebank_scenarios::{DAY, ElderSpec, MINUTE, START_MS, Village, key, service, visit};

const STORE_KEY: StoreKey = StoreKey::Raw([0x5a; 32]);
/// The first caregiver's key seed (as in `Village`).
const CAREGIVER_0: u64 = 100;
/// The first volunteer's key seed.
const VOLUNTEER_0: u64 = 200;

fn bath() -> ServiceDetail {
    ServiceDetail::Bath {
        place: BathPlace::Home,
        safety_checks: vec![BathCheck::WaterTemperature, BathCheck::NonSlipMat],
        skin_condition: None,
    }
}

fn baths(store: &CareStore, month: Month) -> u64 {
    store
        .person_times(month)
        .expect("month")
        .services
        .iter()
        .find(|(kind, _)| kind.as_str() == "bath")
        .map(|(_, n)| *n)
        .expect("bath row")
}

/// The coordinator revokes a stolen phone's key at `at_ms`, naming no position: the store names
/// the last of the key's records it holds.
fn revoke_stolen(coordinator: &mut CareStore, key: PublicKey, at_ms: u64) {
    coordinator
        .revoke(Revocation {
            device_key: key,
            effective_ms: at_ms,
            reason: "手机被盗".into(),
            last_seq: None,
            last_id: None,
        })
        .expect("revoke");
}

/// A village of two caregivers and one elder, every store a file under `dir` (so that the
/// thief can edit the stolen phone's store as a SQLite tool would). Caregiver 0 gives a bath
/// and then visits on the first morning (positions 1 and 2 of its chain), the coordinator
/// receives both, and a day later revokes the phone.
/// Returns the village, the elder, the revocation's instant and the real bath.
fn village_with_a_revoked_phone(dir: &std::path::Path) -> (Village, Id, u64, Id) {
    let mut opener = |name: &str, circle, key| {
        Ok(CareStore::open(
            &dir.join(format!("{name}.db")),
            &STORE_KEY,
            circle,
            key,
        )?)
    };
    let mut v = Village::build_with(&mut opener, 2, 0, &[ElderSpec::weekly(10)]).expect("village");
    let elder = v.elders[0];
    let me = v.caregivers[0].member_id;
    v.clock.set(START_MS + 3 * 60 * MINUTE);
    let real_bath = v.caregivers[0]
        .store
        .record_service(service(
            elder,
            me,
            START_MS + 60 * MINUTE,
            40,
            Funding::Government,
            bath(),
        ))
        .expect("the real bath");
    v.caregivers[0]
        .store
        .record_visit(visit(elder, me, START_MS + 2 * 60 * MINUTE))
        .expect("a real visit after it");
    v.merge(0, 1)
        .expect("the coordinator receives the phone's records");
    v.clock.advance(DAY);
    let revoked_at = v.clock.now();
    let lost = v.caregivers[0].store.public_key();
    revoke_stolen(&mut v.coordinator.store, lost, revoked_at);
    (v, elder, revoked_at, real_bath)
}

#[test]
fn a_stolen_phone_that_winds_its_clock_back_counts_nothing_after_its_revocation() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut v, elder, revoked_at, _) = village_with_a_revoked_phone(dir.path());
    let month = Month::of_instant(START_MS as i64);
    assert_eq!(
        baths(&v.coordinator.store, month),
        1,
        "the real bath counts"
    );

    // The thief winds the phone's stored clock (the `hlc` row) and its system clock two days
    // back, and records a bath "then".
    v.clock.advance(60 * MINUTE);
    let back = revoked_at - 2 * DAY;
    let raw = rusqlite::Connection::open(dir.path().join("caregiver-01.db")).expect("raw");
    raw.pragma_update(None, "key", format!("x'{}'", hex::encode([0x5a; 32])))
        .expect("key");
    raw.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'hlc'",
        [format!("{back}:0")],
    )
    .expect("wind the stored clock back");
    drop(raw);
    v.caregivers[0].store.set_wall_clock(Box::new(move || back));
    let me = v.caregivers[0].member_id;
    let forged = v.caregivers[0]
        .store
        .record_service(service(elder, me, back, 40, Funding::Government, bath()))
        .expect("the stolen phone records a bath");
    let record = v.caregivers[0].store.get(forged).expect("stored");
    assert!(
        record.hlc().ms < revoked_at,
        "the bath is dated before the revocation by its own clock"
    );

    // The stolen phone's own bundle is refused whole: its exporter is revoked.
    let bundle = v.caregivers[0]
        .store
        .export_bundle(&Since::Everything)
        .expect("export");
    assert!(v.coordinator.store.import_bundle(&bundle).is_err());
    // So the thief syncs phone to phone with the other caregiver, who has not heard of the
    // revocation yet, and whose bundle the coordinator imports: the bath is kept, listed,
    // never counted.
    let Village { caregivers, .. } = &mut v;
    let (stolen, rest) = caregivers.split_first_mut().expect("two caregivers");
    rest[0]
        .store
        .merge_from(&stolen.store)
        .expect("phone to phone");
    let carried = rest[0]
        .store
        .export_bundle(&Since::Everything)
        .expect("export");
    v.coordinator
        .store
        .import_bundle(&carried)
        .expect("an honest phone's bundle");
    let coordinator = &v.coordinator.store;
    assert!(coordinator.get(forged).is_ok(), "the record is kept");
    assert_eq!(baths(coordinator, month), 1, "only the real bath counts");
    let untrusted: Vec<Id> = coordinator
        .untrusted_records()
        .expect("untrusted")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(untrusted, vec![forged], "the backdated bath is reported");

    // Through the relay, the other caregiver's phone receives the revocation and stops counting
    // the bath it had counted before it knew.
    let relay_dir = tempfile::tempdir().expect("relay dir");
    let relay = start_relay(relay_dir.path(), v.circle, None, None);
    let http = client(&relay);
    bootstrap(&mut v, &http);
    net::sync(&mut v.coordinator.store, &http).expect("coordinator");
    net::sync(&mut v.caregivers[1].store, &http).expect("the other phone");
    let other = &v.caregivers[1].store;
    assert!(other.get(forged).is_ok(), "the other phone holds it");
    assert_eq!(baths(other, month), 1, "and does not count it");
    // Rebuilt from the documents, the index says the same.
    v.coordinator.store.rebuild_indexes().expect("rebuild");
    assert_eq!(baths(&v.coordinator.store, month), 1);
}

/// Signs `body` with `key` at `at_ms`, at `link` of its chain, as software other than the app
/// would, and stores it into `target` as a sync would.
fn inject(
    target: &mut CareStore,
    key: &DeviceKey,
    link: ChainLink,
    at_ms: u64,
    body: RecordBody,
) -> Id {
    let circle = target.circle();
    let record = SignedRecord::sign(
        Envelope {
            v: FORMAT_VERSION,
            circle: circle.circle_id,
            author: key.public_key(),
            hlc: Hlc {
                ms: at_ms,
                counter: 0,
            },
            body,
            link: Some(link),
        },
        key,
    )
    .expect("sign");
    let mut raw = Store::open_in_memory(circle.circle_id, circle.centre_key).expect("raw store");
    raw.append(&record).expect("append");
    let doc = DocId::for_hlc(record.hlc());
    let bytes = raw.doc_bytes(&doc).expect("doc bytes");
    target.merge_doc(&doc, &bytes).expect("merge");
    record.id()
}

#[test]
fn a_thief_who_signs_at_an_early_chain_position_counts_nothing_and_the_fork_is_shown() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut v, elder, revoked_at, real_bath) = village_with_a_revoked_phone(dir.path());
    let month = Month::of_instant(START_MS as i64);
    let me = v.caregivers[0].member_id;
    let lost = v.caregivers[0].store.public_key();
    // The phone's chain (its enrolment came from the coordinator): the real bath, the visit.
    let head = v.coordinator.store.store().chain_head(lost).expect("head");
    assert_eq!(
        head.map(|(seq, _)| seq),
        Some(2),
        "the revocation cuts after the visit"
    );

    // As if the store were emptied: a bath signed at the first position, two days back.
    let back = revoked_at - 2 * DAY;
    let forged = inject(
        &mut v.coordinator.store,
        &key(CAREGIVER_0),
        ChainLink::FIRST,
        back,
        RecordBody::Service(service(elder, me, back, 40, Funding::Government, bath())),
    );
    // Below the cut, a position two records hold counts neither: the forged bath does not
    // count, and neither does the real one it forks (which of the two was signed before the
    // theft, only the coordinator can judge); the visit after them still counts.
    let coordinator = &v.coordinator.store;
    assert_eq!(baths(coordinator, month), 0);
    assert_eq!(coordinator.person_times(month).expect("month").visits, 1);
    let mut untrusted: Vec<Id> = coordinator
        .untrusted_records()
        .expect("untrusted")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    untrusted.sort();
    let mut both = vec![real_bath, forged];
    both.sort();
    assert_eq!(untrusted, both);
    assert!(
        coordinator
            .chain_problems()
            .expect("chains")
            .contains(&ChainProblem::Fork {
                author: lost,
                seq: 1,
                records: [real_bath, forged].into_iter().collect(),
            }),
        "the coordinator is shown the fork"
    );
}

#[test]
fn a_stolen_volunteer_phone_cannot_backdate_time_bank_entries() {
    let mut b = Bank::build().expect("bank");
    let vol = b.v.volunteers[0].member_id;
    let lost = b.v.volunteers[0].store.public_key();
    // The volunteer's phone records two services (positions 1 and 2 of its chain), which
    // everyone gets.
    let elder = b.v.elders[0];
    serve(&mut b.v.volunteers[0].store, vol, elder, 0, 60).expect("service");
    serve(&mut b.v.volunteers[0].store, vol, elder, 1, 60).expect("service");
    b.sync().expect("sync");
    b.v.clock.advance(DAY);
    let revoked_at = b.v.clock.now();
    revoke_stolen(&mut b.v.coordinator.store, lost, revoked_at);
    let head =
        b.v.coordinator
            .store
            .store()
            .chain_head(lost)
            .expect("head");
    let (seq, id) = head.expect("the coordinator holds the phone's records");
    assert_eq!(seq, 2);
    let next = ChainLink::after(seq, id);
    let back = revoked_at - 2 * DAY;
    let redeem = |seq| {
        RecordBody::Ledger(LedgerEntry {
            member_id: vol,
            seq,
            prev: None,
            kind: EntryKind::Redeem {
                minutes: 60,
                service: None,
            },
        })
    };
    let volunteer_key = key(VOLUNTEER_0);
    // After the cut, dated before the revocation; and at the first position, below the cut, as
    // if the store were emptied (the fork is with a service, which the time bank does not hold:
    // the store tells it).
    let after_cut = inject(
        &mut b.v.coordinator.store,
        &volunteer_key,
        next,
        back,
        redeem(1),
    );
    let early = inject(
        &mut b.v.coordinator.store,
        &volunteer_key,
        ChainLink::FIRST,
        back + 1,
        redeem(1),
    );
    let c = &b.v.coordinator.store;
    for (what, id) in [
        ("after the cut", after_cut),
        ("at an early position", early),
    ] {
        assert_eq!(
            c.entry_standing(id).expect("standing"),
            Some(Standing::Held(Hold::Key(KeyProblem::Revoked))),
            "{what}"
        );
    }
    assert_eq!(c.balance(vol).expect("balance").available_minutes, 0);
}
