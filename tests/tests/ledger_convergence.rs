//! Convergence and tamper-resistance of the time bank, by property: whatever the offline
//! partitions and merge orders, every replica ends with the same balances and the same conflict
//! queue; every altered or replayed entry is rejected or has no effect.

use carebank_core::CareStore;
use carebank_core::domain::{ConfirmMethod, Verdict};
use carebank_core::ids::Id;
use carebank_core::ledger::{Balance, Conflict, Ledger, ServiceView};
use carebank_core::record::SignedRecord;
use carebank_core::time::UnixMs;
use carebank_scenarios::ledger::{Bank, serve};
use carebank_scenarios::ledger_year::YearGenerator;
use carebank_scenarios::{DAY, MINUTE, open};
use proptest::prelude::*;

/// Two months of the reference village with anomalies (forks, duplicates, voids, a lost phone).
fn two_months() -> (YearGenerator, Vec<SignedRecord>) {
    let mut generator = YearGenerator::new(7, true);
    let mut records = generator.setup();
    records.extend(generator.days(60));
    (generator, records)
}

type Outcome = (Vec<Conflict>, Vec<Balance>);

fn outcome(ledger: &Ledger, generator: &YearGenerator) -> Outcome {
    let reconciled = ledger.reconcile(&ServiceView::Known(generator.services().clone()));
    let balances = generator
        .members()
        .into_iter()
        .map(|m| reconciled.balance(m, generator.now_ms()))
        .collect();
    (reconciled.conflicts().to_vec(), balances)
}

fn shuffled<T>(mut items: Vec<T>, mut seed: u64) -> Vec<T> {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from(seed >> 33).unwrap_or(0) % (i + 1);
        items.swap(i, j);
    }
    items
}

#[test]
fn the_reference_months_show_every_kind_of_anomaly() {
    let (generator, records) = two_months();
    let mut ledger = Ledger::new(generator.circle(), generator.centre());
    ledger.insert_verified(records);
    let (conflicts, _) = outcome(&ledger, &generator);
    let names: std::collections::BTreeSet<String> = conflicts
        .iter()
        .map(|c| {
            format!("{:?}", c.kind)
                .split([' ', '{'])
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    for kind in [
        "Fork",
        "BrokenLink",
        "Overdraft",
        "ClaimService",
        "DuplicateClaim",
        "UntrustedKey",
    ] {
        assert!(names.contains(kind), "{kind} missing from {names:?}");
    }
    let rules: Vec<_> = conflicts
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                carebank_core::ledger::ConflictKind::RuleBroken { .. }
            )
        })
        .collect();
    assert!(rules.is_empty(), "{rules:?}");
}

/// Entries that arrive one at a time, the last first (every entry before the one it follows,
/// after the certificates and rules), give the same queue and balances as all at once: what a
/// chain position shows is looked at again when the position before it fills.
#[test]
fn entries_arriving_last_first_give_the_same_queue() {
    let mut generator = YearGenerator::new(7, true);
    let setup = generator.setup();
    let days = generator.days(60);
    let mut reference = Ledger::new(generator.circle(), generator.centre());
    reference.insert_verified(setup.iter().cloned().chain(days.iter().cloned()));
    let expected = outcome(&reference, &generator);
    assert!(
        expected.0.iter().any(|c| matches!(
            c.kind,
            carebank_core::ledger::ConflictKind::BrokenLink { .. }
        )),
        "the months hold a broken link"
    );

    let mut ledger = Ledger::new(generator.circle(), generator.centre());
    ledger.insert_verified(setup);
    for record in days.into_iter().rev() {
        ledger.insert_verified([record]);
    }
    assert_eq!(outcome(&ledger, &generator), expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The same records, in any order and any number of batches (reconciling between them),
    /// give the same queue and balances as all at once.
    #[test]
    fn arrival_order_and_batching_do_not_matter(seed in any::<u64>(), batches in 1usize..12) {
        let (generator, records) = two_months();
        let mut reference = Ledger::new(generator.circle(), generator.centre());
        reference.insert_verified(records.clone());
        let expected = outcome(&reference, &generator);

        let shuffled = shuffled(records, seed);
        let size = shuffled.len().div_ceil(batches);
        let mut ledger = Ledger::new(generator.circle(), generator.centre());
        for chunk in shuffled.chunks(size) {
            ledger.insert_verified(chunk.to_vec());
            let _ = ledger.reconcile(&ServiceView::Known(generator.services().clone()));
        }
        prop_assert_eq!(outcome(&ledger, &generator), expected);
    }

    /// Any altered record is refused (or, if only its signature changed, recognised as one
    /// already held); a replayed record is recognised; neither changes anything.
    #[test]
    fn altered_and_replayed_records_change_nothing(
        which in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (generator, records) = two_months();
        let mut ledger = Ledger::new(generator.circle(), generator.centre());
        let raw: Vec<Vec<u8>> = records.iter().map(|r| r.as_bytes().to_vec()).collect();
        let first = ledger.ingest(raw.iter().map(Vec::as_slice));
        prop_assert!(first.rejected.is_empty());
        let expected = outcome(&ledger, &generator);

        let mut altered = raw[which.index(raw.len())].clone();
        let at = position.index(altered.len());
        altered[at] ^= 1 << bit;
        let again = ledger.ingest([altered.as_slice(), raw[which.index(raw.len())].as_slice()]);
        prop_assert!(again.added.is_empty());
        prop_assert_eq!(again.rejected.len() + again.known, 2);
        if at >= 64 {
            prop_assert_eq!(again.rejected.len(), 1, "an altered payload is refused");
        }
        prop_assert_eq!(outcome(&ledger, &generator), expected);
    }
}

/// One step of an offline village's life.
#[derive(Debug, Clone)]
enum Step {
    /// A time-bank member gives a service and claims it.
    Serve { who: usize, minutes: i64 },
    /// A confirmer confirms one of the claims made so far.
    Confirm {
        who: usize,
        claim: prop::sample::Index,
    },
    /// A member redeems minutes.
    Redeem { who: usize, minutes: i64 },
    /// The senior gives minutes to the junior.
    Gift { minutes: i64 },
    /// The coordinator decides the first item of their queue.
    Decide { approve: bool },
    /// Two devices meet and sync.
    Meet { a: usize, b: usize },
    /// Time passes.
    Wait { minutes: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..5, 30i64..120).prop_map(|(who, minutes)| Step::Serve { who, minutes }),
        (0usize..4, any::<prop::sample::Index>())
            .prop_map(|(who, claim)| Step::Confirm { who, claim }),
        (0usize..5, 15i64..90).prop_map(|(who, minutes)| Step::Redeem { who, minutes }),
        (15i64..60).prop_map(|minutes| Step::Gift { minutes }),
        any::<bool>().prop_map(|approve| Step::Decide { approve }),
        (0usize..10, 0usize..10).prop_map(|(a, b)| Step::Meet { a, b }),
        (1u64..600).prop_map(|minutes| Step::Wait { minutes }),
    ]
}

/// Two distinct stores of the list, both mutable.
fn pair(stores: &mut [CareStore], a: usize, b: usize) -> (&mut CareStore, &mut CareStore) {
    if a < b {
        let (left, right) = stores.split_at_mut(b);
        (&mut left[a], &mut right[0])
    } else {
        let (left, right) = stores.split_at_mut(a);
        (&mut right[0], &mut left[b])
    }
}

fn run(steps: &[Step], merge_seed: u64) -> Vec<(Vec<Conflict>, Vec<Balance>)> {
    let bank = Bank::build().expect("bank");
    let mut clone = open(bank.v.circle, 200, &bank.v.clock).expect("clone");
    clone.merge_from(&bank.v.volunteers[0].store).expect("copy");
    let elder = bank.v.elders[0];
    let clock = bank.v.clock.clone();
    let junior = bank.junior.member_id;
    let earner_ids = [
        bank.v.volunteers[0].member_id,
        bank.v.volunteers[1].member_id,
        bank.senior.member_id,
        bank.junior.member_id,
        bank.v.volunteers[0].member_id,
    ];
    let mut members = vec![bank.v.coordinator.member_id];
    members.extend(earner_ids.iter().take(4));
    // The devices: coordinator 0, caregivers 1–2, volunteers 3–4, senior 5, junior 6,
    // family 7, a clone of volunteer 0's phone 8, and the centre 9.
    let Bank {
        v,
        senior,
        junior: junior_device,
        family,
    } = bank;
    let mut stores: Vec<CareStore> = vec![v.coordinator.store];
    stores.extend(v.caregivers.into_iter().map(|d| d.store));
    stores.extend(v.volunteers.into_iter().map(|d| d.store));
    stores.extend([
        senior.store,
        junior_device.store,
        family.store,
        clone,
        v.centre,
    ]);
    let earners = [3usize, 4, 5, 6, 8];
    let confirmers = [0usize, 1, 2, 7];

    let mut claims: Vec<Id> = Vec::new();
    for s in steps {
        match s {
            Step::Serve { who, minutes } => {
                let device = &mut stores[earners[*who]];
                let day = (clock.now() - carebank_scenarios::START_MS) / DAY;
                if let Ok(service) = serve(device, earner_ids[*who], elder, day, *minutes)
                    && let Ok(claim) = device.claim_hours(service, *minutes)
                {
                    claims.push(claim);
                }
            }
            Step::Confirm { who, claim } if !claims.is_empty() => {
                let claim = claims[claim.index(claims.len())];
                let _ = stores[confirmers[*who]].confirm_claim(claim, ConfirmMethod::InPerson);
            }
            Step::Redeem { who, minutes } => {
                let _ = stores[earners[*who]].redeem_hours(*minutes, None);
            }
            Step::Gift { minutes } => {
                let _ = stores[5].gift_hours(junior, *minutes);
            }
            Step::Decide { approve } => {
                let coordinator = &mut stores[0];
                let first = coordinator
                    .conflict_queue()
                    .expect("queue")
                    .into_iter()
                    .next();
                if let Some(target) = first.and_then(|item| item.awaiting.first().copied()) {
                    let verdict = if *approve {
                        Verdict::Approve
                    } else {
                        Verdict::Reject
                    };
                    let _ = coordinator.decide(target, verdict, "协调员裁定");
                }
            }
            Step::Meet { a, b } if a != b => {
                let (x, y) = pair(&mut stores, *a, *b);
                x.merge_from(y).expect("merge");
                y.merge_from(x).expect("merge");
            }
            Step::Wait { minutes } => clock.advance(minutes * MINUTE),
            _ => {}
        }
    }
    // Everyone syncs, in an order drawn from the seed, twice round the ring.
    let order = shuffled((0..stores.len()).collect::<Vec<_>>(), merge_seed);
    for _ in 0..2 {
        for i in 0..order.len() {
            let next = order[(i + 1) % order.len()];
            let (from, to) = pair(&mut stores, order[i], next);
            to.merge_from(from).expect("merge");
        }
    }
    let now = UnixMs::try_from(clock.now()).expect("instant");
    stores
        .iter()
        .map(|s| {
            let balances = members
                .iter()
                .map(|m| s.balance_at(*m, now).expect("balance"))
                .collect();
            (s.conflict_queue().expect("queue"), balances)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Random offline work, random meetings, then a full sync in a random order: every replica
    /// ends with the same balances and the same queue.
    #[test]
    fn replicas_converge_after_any_partitions_and_merge_orders(
        steps in prop::collection::vec(step(), 10..40),
        merge_seed in any::<u64>(),
    ) {
        let views = run(&steps, merge_seed);
        for view in &views[1..] {
            prop_assert_eq!(view, &views[0]);
        }
    }
}
