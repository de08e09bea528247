//! A phone whose clock is years ahead (or behind) cannot move anyone else's clock: its records
//! arrive through the relay, a bundle and phone to phone, are kept and listed as dated in the
//! future, never hide an overdue elder, and the receivers' own records stay dated by their own
//! clocks, so a later revocation of an honest phone does not discount its good records
//! (issue 11, finding 3).

use carebank_core::CareStore;
use carebank_core::hlc::MAX_AHEAD_MS;
use carebank_core::sync::SyncError;
use carebank_core::sync::bundle::Since;
use carebank_core::time::{Month, UnixMs};
use carebank_scenarios::net::{self, bootstrap, client, start_relay};
use carebank_scenarios::{DAY, ElderSpec, MINUTE, START_MS, Village, lost_phone, visit};

/// Three years, in milliseconds.
const YEARS_AHEAD: u64 = 3 * 365 * DAY;
/// Device numbers (as in `Village::device`): the coordinator, then the three caregivers; the
/// first caregiver's phone is the one whose clock is ahead.
const COORDINATOR: usize = 0;
const AHEAD: usize = 1;
const HONEST_1: usize = 2;
const HONEST_2: usize = 3;

/// A village of three caregivers and one elder visited weekly, eleven days after the first
/// morning, when the elder's last visit (on the first morning) is four days overdue. Caregiver
/// 0's phone runs three years ahead and records a visit to the elder "today" by its clock.
fn village_with_a_phone_ahead() -> (Village, carebank_core::ids::Id) {
    let mut v = Village::build(3, 0, &[ElderSpec::weekly(0)]).expect("village");
    let elder = v.elders[0];
    let me = v.caregivers[1].member_id;
    v.clock.set(START_MS + 2 * 60 * MINUTE);
    v.caregivers[1]
        .store
        .record_visit(visit(elder, me, START_MS + 60 * MINUTE))
        .expect("the last real visit");
    // Everyone has the enrolments and the real visit before the clocks go wrong.
    v.merge(COORDINATOR, HONEST_1).expect("gather");
    for i in 1..v.device_count() {
        v.merge(i, COORDINATOR).expect("spread");
    }
    v.clock.set(START_MS + 11 * DAY);
    let ahead = v.clock.clone();
    let wrong = &mut v.caregivers[0];
    wrong
        .store
        .set_wall_clock(Box::new(move || ahead.now() + YEARS_AHEAD));
    let at = v.clock.now() + YEARS_AHEAD;
    let member = wrong.member_id;
    wrong
        .store
        .record_visit(visit(elder, member, at))
        .expect("a visit dated by the wrong clock");
    (v, elder)
}

/// What an honest store must show after it received the record from the future.
fn assert_unpoisoned(store: &CareStore, now_ms: u64, who: &str) {
    let clock = store.store().clock().expect("clock");
    assert!(
        clock.ms <= now_ms + MAX_AHEAD_MS,
        "{who}: the clock moved to {} (now {now_ms})",
        clock.ms
    );
    let future = store
        .future_dated(UnixMs::try_from(now_ms).expect("instant"))
        .expect("future");
    assert_eq!(
        future.len(),
        1,
        "{who}: the visit from the future is listed"
    );
    assert_eq!(future[0].record_type, "visit", "{who}");
    let overdue = store
        .store()
        .overdue_visits(UnixMs::try_from(now_ms).expect("instant"))
        .expect("overdue");
    assert_eq!(
        overdue.iter().map(|o| o.days_overdue).collect::<Vec<_>>(),
        vec![4],
        "{who}: the elder is still four days overdue"
    );
}

#[test]
fn a_record_from_a_clock_years_ahead_arriving_by_bundle_moves_no_clock() {
    let (mut v, _) = village_with_a_phone_ahead();
    let bundle = v.caregivers[0]
        .store
        .export_bundle(&Since::Everything)
        .expect("export");
    let now = v.clock.now();
    let coordinator = &mut v.coordinator.store;
    coordinator.import_bundle(&bundle).expect("import");
    assert_unpoisoned(coordinator, now, "coordinator");
}

#[test]
fn a_record_from_a_clock_years_ahead_through_the_relay_moves_no_clock_and_a_later_revocation_spares_honest_records()
 {
    let (mut v, elder) = village_with_a_phone_ahead();
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let http = client(&relay);
    let sync = |store: &mut CareStore| net::sync(store, &http).map(|_| ());
    bootstrap(&mut v, &http);
    // Request times are the machine's, so the relay serves the phone whose record clock is
    // wrong; what it uploads is kept, and moves no clock downstream.
    sync(&mut v.caregivers[0].store).expect("the phone ahead");
    sync(&mut v.caregivers[2].store).expect("an honest phone");
    let now = v.clock.now();
    assert_unpoisoned(&v.caregivers[2].store, now, "caregiver 2");

    // The honest phone records a visit now: dated now, filed in this month, not in three years.
    let me = v.caregivers[2].member_id;
    let honest = v.caregivers[2]
        .store
        .record_visit(visit(elder, me, now - 30 * MINUTE))
        .expect("visit");
    let record = v.caregivers[2].store.store().get(honest).expect("stored");
    assert_eq!(
        Month::of_instant(record.hlc().instant_ms()),
        Month::of_instant(now as i64),
        "the honest visit is filed in this month"
    );
    sync(&mut v.caregivers[2].store).expect("upload");

    // The phone is lost an hour later; the coordinator syncs, then revokes it (up to the last
    // of its records the coordinator holds): its visit before that still counts everywhere.
    v.clock.advance(60 * MINUTE);
    let lost = v.caregivers[2].store.public_key();
    sync(&mut v.coordinator.store).expect("coordinator, before revoking");
    v.coordinator
        .store
        .revoke(lost_phone(lost, v.clock.now()))
        .expect("revoke");
    sync(&mut v.coordinator.store).expect("coordinator");
    let month = Month::of_instant(now as i64);
    let visits = v
        .coordinator
        .store
        .person_times(month)
        .expect("month")
        .visits;
    // The first morning's visit and the honest one; the one from the future is not this month's.
    assert_eq!(visits, 2, "the honest visit counts after the revocation");
    assert_eq!(
        v.coordinator
            .store
            .store()
            .overdue_visits(UnixMs::try_from(v.clock.now()).expect("instant"))
            .expect("overdue"),
        vec![],
        "the honest visit today is the elder's last"
    );
}

#[test]
fn phone_to_phone_a_clock_years_ahead_is_refused_and_its_record_carried_on_moves_no_clock() {
    let (mut v, _) = village_with_a_phone_ahead();
    // Directly, the phones' clocks differ by years: the sync is refused with the reason.
    let (ahead, honest) = v.pair_mut(AHEAD, HONEST_1);
    let err = net::sync_peers(honest, ahead).expect_err("refused");
    assert!(
        matches!(err, SyncError::Refused(ref r) if r.contains("clocks differ")),
        "{err}"
    );
    // The record reaches caregiver 1 by bundle, then caregiver 2 phone to phone.
    let bundle = v.caregivers[0]
        .store
        .export_bundle(&Since::Everything)
        .expect("export");
    v.caregivers[1]
        .store
        .import_bundle(&bundle)
        .expect("import");
    let (from, to) = v.pair_mut(HONEST_1, HONEST_2);
    net::sync_peers(to, from).expect("phone to phone");
    let now = v.clock.now();
    assert_unpoisoned(&v.caregivers[1].store, now, "caregiver 1");
    assert_unpoisoned(&v.caregivers[2].store, now, "caregiver 2");
}

#[test]
fn a_phone_with_a_clock_days_behind_dates_its_records_by_its_own_clock_and_sees_the_others_as_ahead()
 {
    let (mut v, elder) = village_with_a_phone_ahead();
    let now = v.clock.now();
    let me = v.caregivers[2].member_id;
    let today = v.caregivers[2]
        .store
        .record_visit(visit(elder, me, now - 30 * MINUTE))
        .expect("a visit today");
    let bundle = v.caregivers[2]
        .store
        .export_bundle(&Since::Everything)
        .expect("export");
    let behind = v.clock.clone();
    let phone = &mut v.caregivers[1];
    phone
        .store
        .set_wall_clock(Box::new(move || behind.now() - 2 * DAY));
    phone.store.import_bundle(&bundle).expect("import");
    let me = phone.member_id;
    let id = phone
        .store
        .record_visit(visit(elder, me, now - 2 * DAY))
        .expect("visit");
    let record = phone.store.store().get(id).expect("stored");
    assert!(
        record.hlc().ms <= now - 2 * DAY + MAX_AHEAD_MS,
        "dated by its own clock, not adopted from the others"
    );
    // By its own clock, today's visit is in the future: the phone says so.
    let future = phone
        .store
        .future_dated(UnixMs::try_from(now - 2 * DAY).expect("instant"))
        .expect("future");
    assert!(future.iter().any(|f| f.record_id == today), "{future:?}");
}
