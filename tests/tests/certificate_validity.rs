//! A certificate's validity period counts the same everywhere: a key's records made outside it
//! count neither in the store's index nor in the monthly report (as the ledger already refused
//! them), and the relay serves a key only while its certificate is valid (issue 11, finding 2:
//! a caregiver enrolled until 1 December recorded a government-funded meal on 2 December, the
//! relay accepted it and the coordinator's report counted it).

use carebank_core::CareStore;
use carebank_core::domain::{Enrolment, Funding, Role};
use carebank_core::hlc::wall_clock_ms;
use carebank_core::ids::Id;
use carebank_core::report::MonthlyReport;
use carebank_core::sync::SyncError;
use carebank_core::time::{Month, UnixMs};
use carebank_scenarios::net::{self, bootstrap, client, start_relay, stranger};
use carebank_scenarios::{
    DAY, MINUTE, Village, enrolment, fixed_id, meal, service, weekly_village,
};

fn village() -> Village {
    weekly_village(1, 0, 1, 10)
}

/// Enrols a caregiver's new phone (seed `seed`) with the given validity period, and gives it
/// the village's records.
fn short_term_caregiver(
    v: &mut Village,
    seed: u64,
    valid_from_ms: Option<u64>,
    valid_until_ms: Option<u64>,
) -> (CareStore, Id) {
    let mut phone = stranger(v.circle, seed, &v.clock).expect("phone");
    let member = fixed_id(0x7000 + seed);
    v.coordinator
        .store
        .enrol(Enrolment {
            valid_from_ms,
            valid_until_ms,
            ..enrolment(
                member,
                format!("临时助老员{seed}"),
                Role::Caregiver,
                v.point_id,
                phone.public_key(),
            )
        })
        .expect("enrol");
    phone.merge_from(&v.centre).expect("centre's records");
    phone
        .merge_from(&v.coordinator.store)
        .expect("coordinator's records");
    (phone, member)
}

fn government_meal(phone: &mut CareStore, member: Id, elder: Id, at_ms: u64) -> Id {
    phone
        .record_service(service(
            elder,
            member,
            at_ms,
            60,
            Funding::Government,
            meal(),
        ))
        .expect("the phone records the meal")
}

fn government_minutes(store: &mut CareStore, month: Month, now_ms: u64) -> i64 {
    let now = UnixMs::try_from(now_ms).expect("instant");
    let report = MonthlyReport::build(store, month, now, false).expect("report");
    report
        .rows
        .iter()
        .find(|r| r.section == "minutes_by_funding" && r.key == "government")
        .map(|r| r.value)
        .expect("government row")
}

#[test]
fn records_made_outside_a_certificates_validity_count_neither_in_the_index_nor_in_the_report() {
    let mut v = village();
    let elder = v.elders[0];
    let start = v.clock.now();
    // One caregiver certified for a day from now; another from ten days on.
    let (mut short, short_id) = short_term_caregiver(&mut v, 501, Some(start), Some(start + DAY));
    let (mut early, early_id) = short_term_caregiver(&mut v, 502, Some(start + 10 * DAY), None);

    v.clock.advance(2 * 60 * MINUTE);
    let within = government_meal(&mut short, short_id, elder, v.clock.now());
    let too_early = government_meal(&mut early, early_id, elder, v.clock.now());
    v.clock.advance(2 * DAY);
    let expired = government_meal(&mut short, short_id, elder, v.clock.now());

    let coordinator = &mut v.coordinator.store;
    coordinator.merge_from(&short).expect("merge");
    coordinator.merge_from(&early).expect("merge");
    let month = Month::of_instant(start as i64);
    let meals = |store: &CareStore| {
        store
            .person_times(month)
            .expect("month")
            .services
            .iter()
            .find(|(kind, _)| kind.as_str() == "meal")
            .map(|(_, n)| *n)
            .expect("meal row")
    };
    assert_eq!(
        meals(coordinator),
        1,
        "only the meal within the validity counts"
    );
    assert_eq!(government_minutes(coordinator, month, v.clock.now()), 60);
    let untrusted: Vec<Id> = coordinator
        .store()
        .untrusted_records()
        .expect("untrusted")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(untrusted.contains(&expired) && untrusted.contains(&too_early));
    assert!(!untrusted.contains(&within));

    // The same answer after the index is rebuilt from the documents, and on a reopened copy.
    coordinator.rebuild_indexes().expect("rebuild");
    assert_eq!(meals(coordinator), 1);
}

#[test]
fn the_relay_serves_a_key_only_while_its_certificate_is_valid() {
    let mut v = village();
    let dir = tempfile::tempdir().expect("dir");
    let relay = start_relay(dir.path(), v.circle, None, None);
    let http = client(&relay);
    // The relay judges validity by its own clock (the machine's).
    let now = wall_clock_ms();
    let (mut expired, _) = short_term_caregiver(&mut v, 511, None, Some(now - DAY));
    let (mut early, _) = short_term_caregiver(&mut v, 512, Some(now + 10 * DAY), None);
    let (mut valid, _) = short_term_caregiver(&mut v, 513, Some(now - DAY), Some(now + DAY));
    let sync = |store: &mut CareStore| net::sync(store, &http).map(|_| ());
    bootstrap(&mut v, &http);
    sync(&mut valid).expect("a key within its validity syncs");
    for (name, phone) in [("expired", &mut expired), ("not yet valid", &mut early)] {
        let err = sync(phone).expect_err(name);
        assert!(
            matches!(err, SyncError::NotAuthorised(ref m) if m.contains("not valid now")),
            "{name}: {err}"
        );
    }
}
