//! Issue 12, items 4 and 5: every read of an elder's data leaves a signed access-log record
//! that syncs to the coordinator and appears in the elder's own copy; consent withdrawn for a
//! purpose stops new records of it, keeps the old ones, and flags (never drops) a record made
//! offline on a phone that had not heard of the withdrawal.

use carebank_core::Error;
use carebank_core::domain::{
    AccessCall, AccessPurpose, ConsentAction, ConsentChange, ConsentPurpose, ConsentRelation,
    ConsentState, FollowUp, Level, Observations, RecordBody,
};
use carebank_core::record::RecordClass;
use carebank_core::report::MonthlyReport;
use carebank_core::time::{Month, UnixMs};
use carebank_scenarios::{DAY, START_MS, Village, record_ids, visit, weekly_village};

fn village() -> Village {
    weekly_village(2, 0, 2, 0)
}

fn change(elder_id: carebank_core::ids::Id, action: ConsentAction, at_ms: u64) -> ConsentChange {
    ConsentChange {
        elder_id,
        purpose: ConsentPurpose::HealthObservations,
        action,
        at_ms,
        by: "本人".into(),
        relation: ConsentRelation::Elder,
        reason: Some("不愿记录健康情况".into()),
    }
}

#[test]
fn every_read_is_logged_once_per_call_synced_to_the_coordinator_and_in_the_elders_copy() {
    let mut v = village();
    let (e0, e1) = (v.elders[0], v.elders[1]);
    let cg = v.caregivers[0].member_id;
    let mut ill = visit(e0, cg, START_MS);
    ill.follow_ups = vec![FollowUp {
        action: "联系村医上门看诊".into(),
        due_ms: Some(START_MS + 2 * DAY),
    }];
    v.caregivers[0].store.record_visit(ill).expect("visit");

    // A read that returns no elder logs nothing.
    let before = record_ids(&v.caregivers[0].store);
    let none = v.caregivers[0]
        .store
        .overdue_visits(
            UnixMs::try_from(START_MS).expect("instant"),
            AccessPurpose::Care,
        )
        .expect("overdue");
    assert!(none.is_empty());
    assert_eq!(record_ids(&v.caregivers[0].store), before);

    // The caregiver reads the follow-ups and one elder's month: one record per call.
    let open = v.caregivers[0]
        .store
        .open_follow_ups(AccessPurpose::Care)
        .expect("follow-ups");
    assert_eq!(open.len(), 1);
    v.caregivers[0]
        .store
        .elder_month(e1, Month::of_instant(START_MS as i64), AccessPurpose::Audit)
        .expect("month");
    assert_eq!(record_ids(&v.caregivers[0].store).len(), before.len() + 2);
    let log: Vec<_> = record_ids(&v.caregivers[0].store)
        .into_iter()
        .filter_map(
            |id| match v.caregivers[0].store.get(id).expect("get").body() {
                RecordBody::AccessLog(a) => Some(a.clone()),
                _ => None,
            },
        )
        .collect();
    assert_eq!(log.len(), 2);
    for entry in &log {
        assert_eq!(
            RecordClass::of(&RecordBody::AccessLog(entry.clone())),
            RecordClass::Care,
            "the log is sealed like any care record"
        );
    }

    // The coordinator receives the caregiver's log by sync.
    v.coordinator
        .store
        .merge_from(&v.caregivers[0].store)
        .expect("merge");
    let seen = v.coordinator.store.access_log(e0).expect("log");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].member_id, Some(cg));
    assert_eq!(seen[0].role.as_deref(), Some("caregiver"));
    assert_eq!(
        (seen[0].call, seen[0].purpose),
        (AccessCall::OpenFollowUps, AccessPurpose::Care)
    );
    assert_eq!(seen[0].device_key, v.caregivers[0].store.public_key());
    assert!(seen[0].counted);
    let e1_log = v.coordinator.store.access_log(e1).expect("log");
    assert_eq!(
        (e1_log.len(), e1_log[0].call, e1_log[0].purpose),
        (1, AccessCall::ElderMonth, AccessPurpose::Audit)
    );

    // The coordinator's own report with names is logged as well: who saw what.
    let now = UnixMs::try_from(START_MS + 20 * DAY).expect("instant");
    let report = MonthlyReport::build(
        &mut v.coordinator.store,
        Month::of_instant(START_MS as i64),
        now,
        true,
    )
    .expect("report");
    assert!(report.rows.iter().any(|r| r.key == e0.to_string()));
    let seen = v.coordinator.store.access_log(e0).expect("log");
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[1].call, seen[1].purpose, seen[1].role.as_deref()),
        (
            AccessCall::MonthlyReport,
            AccessPurpose::Report,
            Some("coordinator")
        )
    );
    assert_eq!(seen[1].elder_count, 2, "one record for both elders read");

    // The elder's own copy: profile, visit with its follow-up, and the log, the export included.
    let export = v.coordinator.store.export_elder(e0).expect("export");
    let json: serde_json::Value =
        serde_json::from_str(&export.to_json().expect("json")).expect("parse");
    assert_eq!(json["format"], "carebank-elder-export/1");
    assert_eq!(json["profile"][0]["body"]["name"], "老人001");
    assert_eq!(
        json["visits"][0]["body"]["follow_ups"][0]["action"],
        "联系村医上门看诊"
    );
    let calls: Vec<&str> = json["access_log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["call"].as_str())
        .collect();
    assert_eq!(
        calls,
        ["open_follow_ups", "monthly_report", "export_elder"],
        "the export is itself logged"
    );
    assert!(
        !export.to_json().expect("json").contains("老人002"),
        "nothing about the other elder"
    );
}

#[test]
fn a_withdrawal_stops_new_records_keeps_old_ones_and_flags_one_made_offline() {
    let mut v = village();
    let e0 = v.elders[0];
    let (cg0, cg1) = (v.caregivers[0].member_id, v.caregivers[1].member_id);
    let with_health = |caregiver, at_ms| {
        let mut seen = visit(e0, caregiver, at_ms);
        seen.observations = Observations {
            health: Some(Level::Poor),
            ..Observations::default()
        };
        seen
    };

    // Monday: a visit with health observations, consent given at enrolment.
    let before = v.caregivers[0]
        .store
        .record_visit(with_health(cg0, START_MS))
        .expect("consented");

    // Tuesday: the elder withdraws consent to health observations; only a coordinator records it.
    let withdrawal = change(e0, ConsentAction::Withdraw, START_MS + DAY);
    let refused = v.caregivers[0]
        .store
        .change_consent(withdrawal.clone())
        .expect_err("a caregiver cannot");
    assert!(matches!(refused, Error::NotAuthorised(_)), "{refused}");
    v.coordinator
        .store
        .change_consent(withdrawal)
        .expect("withdrawn");
    v.caregivers[0]
        .store
        .merge_from(&v.coordinator.store)
        .expect("sync");

    // Wednesday on the synced phone: health observations are refused with a clear error;
    // a visit without them is fine, and so is one dated before the withdrawal.
    let err = v.caregivers[0]
        .store
        .record_visit(with_health(cg0, START_MS + 2 * DAY))
        .expect_err("withdrawn");
    assert!(
        matches!(
            err,
            Error::ConsentWithdrawn {
                purpose: "health observations",
                field: "observations.health",
                at_ms
            } if at_ms == START_MS + DAY
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("withdrew consent to health observations")
    );
    v.caregivers[0]
        .store
        .record_visit(visit(e0, cg0, START_MS + 2 * DAY))
        .expect("a plain visit");
    v.caregivers[0]
        .store
        .record_visit(with_health(cg0, START_MS + DAY / 2))
        .expect("data collected before the withdrawal");

    // Wednesday on a phone still offline: it has not heard, and records in good faith.
    let offline = v.caregivers[1]
        .store
        .record_visit(with_health(cg1, START_MS + 2 * DAY + 3_600_000))
        .expect("the offline phone does not know yet");

    // Everything meets at the coordinator: the offline record is kept, counted and flagged.
    v.coordinator
        .store
        .merge_from(&v.caregivers[0].store)
        .expect("merge");
    let report = v
        .coordinator
        .store
        .merge_from(&v.caregivers[1].store)
        .expect("merge");
    assert!(report.added.contains(&offline) && report.rejected.is_empty());
    let november = Month::of_instant(START_MS as i64);
    assert_eq!(
        v.coordinator
            .store
            .person_times(november)
            .expect("pt")
            .visits,
        4,
        "the offline visit counts"
    );
    let flagged = v.coordinator.store.consent_conflicts().expect("conflicts");
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(
        (
            flagged[0].record_id,
            flagged[0].purpose,
            flagged[0].field.as_str(),
            flagged[0].state
        ),
        (
            offline,
            ConsentPurpose::HealthObservations,
            "observations.health",
            ConsentState::Withdrawn {
                at_ms: START_MS + DAY
            }
        )
    );
    assert!(flagged.iter().all(|c| c.record_id != before));

    // The offline phone learns of the withdrawal and now refuses too.
    v.caregivers[1]
        .store
        .merge_from(&v.coordinator.store)
        .expect("sync");
    assert!(matches!(
        v.caregivers[1]
            .store
            .record_visit(with_health(cg1, START_MS + 2 * DAY + 7_200_000)),
        Err(Error::ConsentWithdrawn { .. })
    ));

    // Thursday: consent given again; health observations are accepted from then on. The
    // Wednesday record stays flagged (it was made while consent was withdrawn), also after
    // the index is rebuilt from the documents.
    v.coordinator
        .store
        .change_consent(change(e0, ConsentAction::Give, START_MS + 3 * DAY))
        .expect("given again");
    v.caregivers[0]
        .store
        .merge_from(&v.coordinator.store)
        .expect("sync");
    v.caregivers[0]
        .store
        .record_visit(with_health(cg0, START_MS + 3 * DAY + 3_600_000))
        .expect("consent given again");
    v.coordinator.store.rebuild_indexes().expect("rebuild");
    let flagged_again = v.coordinator.store.consent_conflicts().expect("conflicts");
    assert_eq!(flagged_again, flagged);
}
