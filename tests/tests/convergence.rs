//! Merge convergence: random work on several offline replicas, merged in random orders, always
//! ends with every replica answering every query the same way.

use carebank_core::CareStore;
use carebank_core::domain::{
    AccessPurpose, CorrectionAction, FollowUp, FollowUpDone, Funding, RecordBody,
};
use carebank_core::ids::Id;
use carebank_core::time::{Month, UnixMs};
use carebank_scenarios::{DAY, ElderSpec, MINUTE, START_MS, Village, meal, service, visit};
use proptest::prelude::*;

/// One step of the simulation.
#[derive(Debug, Clone)]
enum Op {
    /// Device `device` records a visit to elder `elder` on day `day` (with a follow-up if `promise`).
    Visit {
        device: usize,
        elder: usize,
        day: u64,
        promise: bool,
    },
    /// Device records a service.
    Service {
        device: usize,
        elder: usize,
        day: u64,
        minutes: i64,
        government: bool,
    },
    /// Device voids the `pick`-th record it knows of (if allowed).
    Void { device: usize, pick: usize },
    /// Device amends the `pick`-th service it knows of to a new duration (if allowed).
    Amend {
        device: usize,
        pick: usize,
        minutes: i64,
    },
    /// Device closes the `pick`-th open follow-up it knows of.
    CloseFollowUp { device: usize, pick: usize },
    /// Device `into` pulls everything device `from` has.
    Merge { into: usize, from: usize },
    /// Time passes.
    Tick { minutes: u64 },
}

const DEVICES: usize = 3; // coordinator + 2 caregivers
const ELDERS: usize = 3;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..DEVICES, 0..ELDERS, 0..20u64, any::<bool>())
            .prop_map(|(device, elder, day, promise)| Op::Visit { device, elder, day, promise }),
        4 => (0..DEVICES, 0..ELDERS, 0..20u64, 1..180i64, any::<bool>())
            .prop_map(|(device, elder, day, minutes, government)| Op::Service { device, elder, day, minutes, government }),
        1 => (0..DEVICES, 0..50usize).prop_map(|(device, pick)| Op::Void { device, pick }),
        1 => (0..DEVICES, 0..50usize, 1..180i64).prop_map(|(device, pick, minutes)| Op::Amend { device, pick, minutes }),
        1 => (0..DEVICES, 0..10usize).prop_map(|(device, pick)| Op::CloseFollowUp { device, pick }),
        3 => (0..DEVICES, 0..DEVICES).prop_map(|(into, from)| Op::Merge { into, from }),
        1 => (0..120u64).prop_map(|minutes| Op::Tick { minutes }),
    ]
}

fn store(v: &mut Village, i: usize) -> &mut CareStore {
    &mut v.device_mut(i).store
}

fn member(v: &Village, i: usize) -> Id {
    v.device(i).member_id
}

fn merge(v: &mut Village, into: usize, from: usize) {
    if into != from {
        v.merge(into, from).expect("merge");
    }
}

/// Records of `type_name` this store holds, in id order.
fn known(store: &CareStore, type_name: &str) -> Vec<Id> {
    store
        .store()
        .record_ids()
        .expect("ids")
        .into_iter()
        .filter(|id| {
            store
                .get(*id)
                .map(|r| r.body().type_name() == type_name)
                .unwrap_or(false)
        })
        .collect()
}

fn apply(v: &mut Village, op: &Op) {
    match *op {
        Op::Visit {
            device,
            elder,
            day,
            promise,
        } => {
            let (elder, me) = (v.elders[elder], member(v, device));
            let mut x = visit(elder, me, START_MS + day * DAY + 9 * 60 * MINUTE);
            if promise {
                x.follow_ups = vec![FollowUp {
                    action: "复查血压".into(),
                    due_ms: None,
                }];
            }
            store(v, device).record_visit(x).expect("visit");
        }
        Op::Service {
            device,
            elder,
            day,
            minutes,
            government,
        } => {
            let (elder, me) = (v.elders[elder], member(v, device));
            // Elder 1 is not entitled to government-bought services.
            let funding = if government && elder != v.elders[1] {
                Funding::Government
            } else {
                Funding::SelfPaid
            };
            store(v, device)
                .record_service(service(
                    elder,
                    me,
                    START_MS + day * DAY,
                    minutes,
                    funding,
                    meal(),
                ))
                .expect("service");
        }
        Op::Void { device, pick } => {
            let s = store(v, device);
            let mut targets = known(s, "visit");
            targets.extend(known(s, "service"));
            if let Some(target) = targets.get(pick % targets.len().max(1)) {
                // Refused when this device may not correct that record: that is fine.
                let _ = s.correct(*target, CorrectionAction::Void {}, "录入错误");
            }
        }
        Op::Amend {
            device,
            pick,
            minutes,
        } => {
            let s = store(v, device);
            let targets = known(s, "service");
            if let Some(target) = targets.get(pick % targets.len().max(1)) {
                let RecordBody::Service(mut replacement) =
                    s.get(*target).expect("get").body().clone()
                else {
                    return;
                };
                replacement.duration_minutes = minutes;
                let _ = s.correct(
                    *target,
                    CorrectionAction::Amend {
                        replacement: Box::new(RecordBody::Service(replacement)),
                    },
                    "时长更正",
                );
            }
        }
        Op::CloseFollowUp { device, pick } => {
            let now = v.clock.now();
            let s = store(v, device);
            let open = s.open_follow_ups(AccessPurpose::Care).expect("open");
            if let Some(f) = open.get(pick % open.len().max(1)) {
                s.follow_up_done(FollowUpDone {
                    visit: f.visit_id,
                    index: f.index,
                    done_at_ms: now,
                    note: None,
                })
                .expect("done");
            }
        }
        Op::Merge { into, from } => merge(v, into, from),
        Op::Tick { minutes } => v.clock.advance(minutes * MINUTE),
    }
}

/// Everything a replica answers, in comparable form.
fn answers(v: &mut Village, i: usize, elders: &[Id]) -> String {
    let s = store(v, i);
    let months: [Month; 2] = ["2026-11".parse().expect("m"), "2026-12".parse().expect("m")];
    let mut out = format!("ids={:?}\n", s.store().record_ids().expect("ids"));
    for m in months {
        out += &format!(
            "{m} pt={:?}\nuse={:?}\n",
            s.person_times(m).expect("pt"),
            s.store().entitlement_use(m).expect("use")
        );
        for e in elders {
            out += &format!(
                "{e} {:?}\n",
                s.store().elder_month(*e, m).expect("elder month")
            );
        }
    }
    out += &format!(
        "overdue={:?}\nfollow={:?}\n",
        s.store()
            .overdue_visits(UnixMs::try_from(START_MS + 30 * DAY).expect("instant"))
            .expect("overdue"),
        s.store().open_follow_ups().expect("open")
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_merge_order(
        ops in proptest::collection::vec(op(), 1..40),
        final_order in Just((0..DEVICES).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let mut v = Village::build(2, 0, &[
            ElderSpec::weekly(2),
            ElderSpec { cadence_days: 14, entitled_hours: 0 },
            ElderSpec::weekly(1),
        ]).expect("village");
        for op in &ops {
            apply(&mut v, op);
        }
        // Heal the network: a gossip round in a random order, then once more the other way.
        for pair in final_order.windows(2) {
            merge(&mut v, pair[1], pair[0]);
        }
        for pair in final_order.windows(2).rev() {
            merge(&mut v, pair[0], pair[1]);
        }
        let elders = v.elders.clone();
        let first = answers(&mut v, 0, &elders);
        for i in 1..DEVICES {
            prop_assert_eq!(&answers(&mut v, i, &elders), &first, "replica {} differs", i);
        }
        // A replica rebuilt from its documents alone gives the same answers.
        store(&mut v, 1).rebuild_indexes().expect("rebuild");
        prop_assert_eq!(&answers(&mut v, 1, &elders), &first);
    }
}
