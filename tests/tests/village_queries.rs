//! The daily queries on a small hand-built village whose answers are known.

use carebank_core::domain::{
    AccessPurpose, BathPlace, CorrectionAction, FollowUp, FollowUpDone, Funding, RecordBody,
    RiskFlag, ServiceDetail, ServiceKind,
};
use carebank_core::store::EntitlementStatus;
use carebank_core::time::{Month, UnixMs};
use carebank_scenarios::{DAY, ElderSpec, MINUTE, START_MS, Village, meal, service, visit};

fn november() -> Month {
    "2026-11".parse().expect("month")
}

/// E0: weekly, 1 h/month; E1: fortnightly, not entitled; E2: weekly, 3 h/month; E3: fortnightly.
fn village() -> Village {
    Village::build(
        2,
        1,
        &[
            ElderSpec::weekly(1),
            ElderSpec {
                cadence_days: 14,
                entitled_hours: 0,
            },
            ElderSpec::weekly(3),
            ElderSpec {
                cadence_days: 14,
                entitled_hours: 0,
            },
        ],
    )
    .expect("village")
}

#[test]
fn a_week_of_work_gives_the_known_answers_on_the_coordinators_phone() {
    let mut v = village();
    let (e0, e1, e2, e3) = (v.elders[0], v.elders[1], v.elders[2], v.elders[3]);
    let (cg0, cg1, vol) = (
        v.caregivers[0].member_id,
        v.caregivers[1].member_id,
        v.volunteers[0].member_id,
    );

    // Monday 2 November: two visits; E0 is found ill and a doctor's call is promised.
    let mut ill = visit(e0, cg0, START_MS);
    ill.risk_flags = vec![RiskFlag::Illness];
    ill.follow_ups = vec![FollowUp {
        action: "联系村医上门".into(),
        due_ms: Some(START_MS + 2 * DAY),
    }];
    let ill_visit = v.caregivers[0].store.record_visit(ill).expect("visit e0");
    v.caregivers[1]
        .store
        .record_visit(visit(e1, cg1, START_MS + 60 * MINUTE))
        .expect("visit e1");

    // Tuesday: meals, a bath, companionship, a mistaken meal that is voided, a cleaning that is amended.
    v.clock.advance(DAY);
    let t = START_MS + DAY;
    let cg0_store = &mut v.caregivers[0].store;
    cg0_store
        .record_service(service(e0, cg0, t, 60, Funding::Government, meal()))
        .expect("meal");
    cg0_store
        .record_service(service(
            e0,
            cg0,
            t + 90 * MINUTE,
            30,
            Funding::Government,
            ServiceDetail::Mobility {},
        ))
        .expect("mobility");
    let bath = ServiceDetail::Bath {
        place: BathPlace::Home,
        safety_checks: vec![],
        skin_condition: None,
    };
    cg0_store
        .record_service(service(
            e2,
            cg0,
            t + 3 * 60 * MINUTE,
            45,
            Funding::Government,
            bath,
        ))
        .expect("bath");
    let wrong = cg0_store
        .record_service(service(e3, cg0, t, 20, Funding::SelfPaid, meal()))
        .expect("wrong meal");
    cg0_store
        .correct(wrong, CorrectionAction::Void {}, "录错了老人")
        .expect("void");
    v.volunteers[0]
        .store
        .record_service(service(
            e1,
            vol,
            t,
            90,
            Funding::TimeBank,
            ServiceDetail::Companionship {},
        ))
        .expect("companionship");
    let short = service(
        e2,
        cg1,
        t + 5 * 60 * MINUTE,
        30,
        Funding::Government,
        ServiceDetail::Cleaning {},
    );
    let cleaning = v.caregivers[1]
        .store
        .record_service(short.clone())
        .expect("cleaning");

    // Everyone syncs with the coordinator.
    let Village {
        coordinator,
        caregivers,
        volunteers,
        ..
    } = &mut v;
    for d in caregivers.iter().chain(volunteers.iter()) {
        let report = coordinator.store.merge_from(&d.store).expect("merge");
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }
    let c = &mut v.coordinator.store;

    let pt = c.person_times(november()).expect("person-times");
    assert_eq!(pt.visits, 2);
    assert_eq!(
        pt.of(ServiceKind::Meal),
        1,
        "the voided meal does not count"
    );
    assert_eq!(pt.of(ServiceKind::Bath), 1);
    assert_eq!(pt.of(ServiceKind::Mobility), 1);
    assert_eq!(pt.of(ServiceKind::Companionship), 1);
    assert_eq!(pt.of(ServiceKind::Cleaning), 1);
    assert_eq!(pt.of(ServiceKind::Emergency), 0);
    assert_eq!(pt.total(), 7);
    assert_eq!(
        c.person_times("2026-10".parse().expect("month"))
            .expect("october")
            .total(),
        0
    );

    let uses = c
        .entitlement_use(november(), AccessPurpose::Report)
        .expect("entitlement");
    assert_eq!(uses.len(), 2, "only entitled elders are listed");
    assert_eq!(
        (uses[0].elder_id, uses[0].used_minutes, uses[0].status),
        (e0, 90, EntitlementStatus::OverQuota)
    );
    assert_eq!(
        (uses[1].elder_id, uses[1].used_minutes, uses[1].status),
        (e2, 75, EntitlementStatus::UnderServed)
    );

    // The cleaning actually took two hours: the coordinator amends it; E2 is now within quota.
    let mut long = short;
    long.duration_minutes = 120;
    c.correct(
        cleaning,
        CorrectionAction::Amend {
            replacement: Box::new(RecordBody::Service(long)),
        },
        "时长填错",
    )
    .expect("amend");
    let uses = c
        .entitlement_use(november(), AccessPurpose::Report)
        .expect("entitlement");
    assert_eq!(
        (uses[1].used_minutes, uses[1].status),
        (165, EntitlementStatus::WithinQuota)
    );

    // Thursday 12 November: E2 never visited (due 8 Nov), E0 last seen 2 Nov (due 9 Nov).
    let now = UnixMs::try_from(START_MS + 10 * DAY).expect("instant");
    let overdue = c.overdue_visits(now, AccessPurpose::Care).expect("overdue");
    let got: Vec<_> = overdue
        .iter()
        .map(|o| (o.elder_id, o.days_overdue))
        .collect();
    assert_eq!(got, vec![(e2, 4), (e0, 3)]);
    assert_eq!(overdue[1].last_visit_ms.map(u64::from), Some(START_MS));

    let open = c.open_follow_ups(AccessPurpose::Care).expect("follow-ups");
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].visit_id, open[0].elder_id, open[0].index),
        (ill_visit, e0, 0)
    );

    let month = c
        .elder_month(e0, november(), AccessPurpose::Care)
        .expect("elder month");
    assert_eq!(month.visits.len(), 1);
    assert_eq!(
        month
            .services
            .iter()
            .map(|s| (s.kind, s.duration_minutes))
            .collect::<Vec<_>>(),
        vec![(ServiceKind::Meal, 60), (ServiceKind::Mobility, 30)]
    );

    // The caregiver closes the follow-up on her phone; after the next sync it is gone.
    v.caregivers[0]
        .store
        .follow_up_done(FollowUpDone {
            visit: ill_visit,
            index: 0,
            done_at_ms: START_MS + DAY,
            note: None,
        })
        .expect("done");
    v.coordinator
        .store
        .merge_from(&v.caregivers[0].store)
        .expect("merge");
    assert!(
        v.coordinator
            .store
            .open_follow_ups(AccessPurpose::Care)
            .expect("follow-ups")
            .is_empty()
    );
}
