//! Two days of the reference workload (27 devices, 120 elders) played on separate phones and
//! gathered on the coordinator's: every care record arrives, voids are honoured, nothing doubles.

use carebank_scenarios::workload::{Workload, WorkloadSpec};
use carebank_scenarios::{Played, START_MS, Village};

#[test]
fn two_reference_days_arrive_whole_on_the_coordinators_phone() {
    let spec = WorkloadSpec::default();
    let mut v =
        Village::build(spec.caregivers, spec.volunteers, &spec.elder_specs()).expect("village");
    let members = (0..v.device_count())
        .map(|i| v.device(i).member_id)
        .collect();
    let mut plan = Workload::new(spec, v.elders.clone(), members);
    let mut played = Played::default();
    for day in 0..2 {
        played += v.play(plan.day(day)).expect("play");
    }
    assert_eq!(played.care_records, 2 * (60 + 80 + 8 + 25 + 30));
    for i in 1..v.device_count() {
        let report = v.merge(0, i).expect("merge");
        assert!(report.rejected.is_empty());
    }
    // Merging everything a second time adds nothing.
    for i in 1..v.device_count() {
        assert!(v.merge(0, i).expect("merge").added.is_empty());
    }
    let month = carebank_core::time::Month::of_instant(START_MS as i64);
    let pt = v
        .coordinator
        .store
        .person_times(month)
        .expect("person-times");
    assert_eq!(pt.total() as usize, played.care_records - played.voids);
    assert!(
        played.voids + played.amendments > 0,
        "the plan corrects some records"
    );
}
