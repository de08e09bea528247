//! The time bank's rules, one by one, on a village of device stores: claims and confirmations,
//! approvals, redemptions and their age, gifts to relatives and their cap, the cap on stored
//! hours and expiry, revoked and unknown keys, forks, overdrafts, voided, missing and duplicate
//! services, and decisions.

use carebank_core::domain::{
    ConfirmMethod, CorrectionAction, EntryHash, EntryKind, LedgerEntry, LedgerRules, RecordBody,
    Verdict,
};
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::ledger::{
    ConflictKind, Hold, KeyProblem, Pending, Rule, ServiceProblem, Standing,
};
use carebank_core::record::{Envelope, SignedRecord, V1};
use carebank_core::replica::DocId;
use carebank_core::store::Store;
use carebank_core::time::UnixMs;
use carebank_core::{CareStore, Error};
use carebank_scenarios::ledger::{Bank, serve};
use carebank_scenarios::{DAY, MINUTE, key, lost_phone, open};

fn refused<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
    matches!(
        result,
        Err(Error::LedgerRefused(_)) | Err(Error::NotAuthorised(_))
    )
}

/// Earns `minutes` for `volunteer` (index into the village's volunteers) with a caregiver's
/// confirmation, and syncs; returns the claim.
fn earn(b: &mut Bank, volunteer: usize, day: u64, minutes: i64) -> Id {
    let vol = b.v.volunteers[volunteer].member_id;
    let elder = b.v.elders[0];
    let store = &mut b.v.volunteers[volunteer].store;
    let service = serve(store, vol, elder, day, minutes).expect("service");
    let claim = store.claim_hours(service, minutes).expect("claim");
    b.sync().expect("sync");
    b.v.caregivers[0]
        .store
        .confirm_claim(claim, ConfirmMethod::InPerson)
        .expect("confirm");
    b.sync().expect("sync");
    claim
}

/// Stores a record signed elsewhere into `target`, as a sync from a rogue device would.
fn inject(target: &mut CareStore, record: &SignedRecord) {
    let circle = target.circle();
    let mut raw = Store::open_in_memory(circle.circle_id, circle.centre_key).expect("raw store");
    raw.append(record).expect("append");
    let doc = DocId::for_hlc(record.hlc());
    let bytes = raw.doc_bytes(&doc).expect("doc bytes");
    target.merge_doc(&doc, &bytes).expect("merge");
}

fn signed(target: &CareStore, signer: &DeviceKey, entry: LedgerEntry, at_ms: u64) -> SignedRecord {
    let envelope = Envelope {
        v: V1,
        circle: target.circle().circle_id,
        author: signer.public_key(),
        hlc: carebank_core::hlc::Hlc {
            ms: at_ms,
            counter: 0,
        },
        body: RecordBody::Ledger(entry),
        link: None,
    };
    SignedRecord::sign(envelope, signer).expect("sign")
}

fn kinds(store: &CareStore) -> Vec<ConflictKind> {
    store
        .conflict_queue()
        .expect("queue")
        .into_iter()
        .map(|c| c.kind)
        .collect()
}

#[test]
fn a_confirmed_claim_credits_the_volunteer_once_on_every_device() {
    let mut b = Bank::build().expect("bank");
    let vol = b.v.volunteers[0].member_id;
    let elder = b.v.elders[0];
    let store = &mut b.v.volunteers[0].store;
    let service = serve(store, vol, elder, 0, 90).expect("service");
    let claim = store.claim_hours(service, 90).expect("claim");
    let before = store.balance(vol).expect("balance");
    assert_eq!((before.available_minutes, before.pending_minutes), (0, 90));
    assert_eq!(
        store.entry_standing(claim).expect("standing"),
        Some(Standing::Pending(Pending::Unconfirmed))
    );
    b.sync().expect("sync");
    b.v.caregivers[0]
        .store
        .confirm_claim(claim, ConfirmMethod::InPerson)
        .expect("confirm");
    b.sync().expect("sync");
    for store in b.stores_mut() {
        let balance = store.balance(vol).expect("balance");
        assert_eq!(
            (balance.available_minutes, balance.earned_minutes),
            (90, 90)
        );
    }
    // The same entries arriving again (another merge, a replayed document) count once.
    let Bank { v, .. } = &mut b;
    v.coordinator
        .store
        .merge_from(&v.volunteers[0].store)
        .expect("merge again");
    v.coordinator
        .store
        .merge_from(&v.caregivers[0].store)
        .expect("merge again");
    let balance = v.coordinator.store.balance(vol).expect("balance");
    assert_eq!(balance.available_minutes, 90);
    assert!(
        v.coordinator
            .store
            .conflict_queue()
            .expect("queue")
            .is_empty()
    );
}

#[test]
fn only_the_recipient_side_confirms() {
    let mut b = Bank::build().expect("bank");
    let vol = b.v.volunteers[0].member_id;
    let (e0, e1) = (b.v.elders[0], b.v.elders[1]);
    let store = &mut b.v.volunteers[0].store;
    let s0 = serve(store, vol, e0, 0, 60).expect("service");
    let s1 = serve(store, vol, e1, 0, 60).expect("service");
    let c0 = store.claim_hours(s0, 60).expect("claim");
    let c1 = store.claim_hours(s1, 60).expect("claim");
    assert!(
        refused(store.confirm_claim(c0, ConfirmMethod::InPerson)),
        "own claim"
    );
    b.sync().expect("sync");
    let other_volunteer = &mut b.v.volunteers[1].store;
    assert!(refused(
        other_volunteer.confirm_claim(c0, ConfirmMethod::InPerson)
    ));
    // The family member of elder 0 confirms for elder 0 (who has no phone), not for elder 1.
    b.family
        .store
        .confirm_claim(c0, ConfirmMethod::PrintedCard)
        .expect("family confirms");
    assert!(refused(
        b.family.store.confirm_claim(c1, ConfirmMethod::PrintedCard)
    ));
    b.v.coordinator
        .store
        .confirm_claim(c1, ConfirmMethod::PhoneCall)
        .expect("coordinator confirms");
    b.sync().expect("sync");
    assert_eq!(
        b.v.coordinator
            .store
            .balance(vol)
            .expect("balance")
            .available_minutes,
        120
    );
}

#[test]
fn where_the_circle_requires_approval_the_coordinator_decides() {
    let mut b = Bank::build().expect("bank");
    b.v.centre
        .set_ledger_rules(LedgerRules {
            approval_required: true,
            ..LedgerRules::default()
        })
        .expect("rules");
    assert!(refused(
        b.v.coordinator
            .store
            .set_ledger_rules(LedgerRules::default())
    ));
    b.sync().expect("sync");
    let vol = b.v.volunteers[0].member_id;
    let approved = earn(&mut b, 0, 0, 60);
    let rejected = earn(&mut b, 0, 1, 45);
    let c = &mut b.v.coordinator.store;
    assert_eq!(
        c.entry_standing(approved).expect("standing"),
        Some(Standing::Pending(Pending::AwaitingApproval))
    );
    assert_eq!(
        kinds(c),
        vec![
            ConflictKind::AwaitingApproval,
            ConflictKind::AwaitingApproval
        ]
    );
    assert_eq!(c.balance(vol).expect("balance").pending_minutes, 105);
    assert!(refused(b.v.caregivers[0].store.decide(
        approved,
        Verdict::Approve,
        "看过了"
    )));
    let c = &mut b.v.coordinator.store;
    c.decide(approved, Verdict::Approve, "核实无误")
        .expect("approve");
    c.decide(rejected, Verdict::Reject, "时长不符")
        .expect("reject");
    assert!(c.conflict_queue().expect("queue").is_empty());
    assert_eq!(
        c.entry_standing(rejected).expect("s"),
        Some(Standing::Rejected)
    );
    b.sync().expect("sync");
    for store in b.stores_mut() {
        assert_eq!(store.balance(vol).expect("balance").available_minutes, 60);
    }
}

#[test]
fn redemption_needs_the_age_and_the_minutes() {
    let mut b = Bank::build().expect("bank");
    b.v.centre
        .set_ledger_rules(LedgerRules {
            redemption_age: Some(65),
            ..LedgerRules::default()
        })
        .expect("rules");
    b.sync().expect("sync");
    // The senior (born 1950) and the junior (born 1995) each earn an hour.
    let (senior, junior) = (b.senior.member_id, b.junior.member_id);
    let elder = b.v.elders[0];
    let mut claims = Vec::new();
    for (store, member) in [(&mut b.senior.store, senior), (&mut b.junior.store, junior)] {
        let s = serve(store, member, elder, 0, 60).expect("service");
        claims.push(store.claim_hours(s, 60).expect("claim"));
    }
    b.sync().expect("sync");
    for member in [senior, junior] {
        let pending = b.v.coordinator.store.balance(member).expect("b");
        assert_eq!(pending.pending_minutes, 60);
    }
    confirm(&mut b, &claims);
    b.senior
        .store
        .redeem_hours(40, None)
        .expect("senior redeems");
    assert!(
        refused(b.senior.store.redeem_hours(40, None)),
        "only 20 left"
    );
    assert!(refused(b.junior.store.redeem_hours(10, None)), "too young");
    b.sync().expect("sync");
    let c = &b.v.coordinator.store;
    assert_eq!(c.balance(senior).expect("b").available_minutes, 20);
    assert_eq!(c.balance(senior).expect("b").redeemed_minutes, 40);
    assert_eq!(c.balance(junior).expect("b").available_minutes, 60);
}

/// The coordinator confirms the claims, and everyone syncs.
fn confirm(b: &mut Bank, claims: &[Id]) {
    b.sync().expect("sync");
    for claim in claims {
        b.v.coordinator
            .store
            .confirm_claim(*claim, ConfirmMethod::InPerson)
            .expect("confirm");
    }
    b.sync().expect("sync");
}

#[test]
fn gifts_go_to_relatives_only_and_within_the_yearly_cap() {
    let mut b = Bank::build().expect("bank");
    b.v.centre
        .set_ledger_rules(LedgerRules {
            gift_cap_minutes_per_year: Some(100),
            ..LedgerRules::default()
        })
        .expect("rules");
    b.sync().expect("sync");
    let (senior, junior) = (b.senior.member_id, b.junior.member_id);
    let elder = b.v.elders[0];
    let mut claims = Vec::new();
    for _ in 0..2 {
        let s = serve(&mut b.senior.store, senior, elder, 0, 120).expect("service");
        claims.push(b.senior.store.claim_hours(s, 120).expect("claim"));
    }
    confirm(&mut b, &claims);
    let stranger = b.v.volunteers[0].member_id;
    assert!(
        refused(b.senior.store.gift_hours(stranger, 30)),
        "not a relative"
    );
    b.senior.store.gift_hours(junior, 60).expect("gift");
    assert!(
        refused(b.senior.store.gift_hours(junior, 60)),
        "past the cap"
    );
    b.senior
        .store
        .gift_hours(junior, 40)
        .expect("up to the cap");
    b.sync().expect("sync");
    let c = &b.v.coordinator.store;
    let (s, j) = (c.balance(senior).expect("b"), c.balance(junior).expect("b"));
    assert_eq!((s.available_minutes, s.given_minutes), (140, 100));
    assert_eq!((j.available_minutes, j.received_minutes), (100, 100));
}

#[test]
fn stored_hours_are_capped_and_expire() {
    let mut b = Bank::build().expect("bank");
    b.v.centre
        .set_ledger_rules(LedgerRules {
            cap_minutes: Some(120),
            expiry_days: Some(30),
            ..LedgerRules::default()
        })
        .expect("rules");
    b.sync().expect("sync");
    let vol = b.v.volunteers[0].member_id;
    earn(&mut b, 0, 0, 90);
    earn(&mut b, 0, 1, 90);
    let now = b.v.clock.now();
    let c = &b.v.coordinator.store;
    let at = |ms| UnixMs::try_from(ms).expect("instant");
    let b0 = c.balance_at(vol, at(now)).expect("balance");
    assert_eq!((b0.available_minutes, b0.forfeited_minutes), (120, 60));
    let later = c.balance_at(vol, at(now + 31 * DAY)).expect("balance");
    assert_eq!((later.available_minutes, later.expired_minutes), (0, 120));
}

#[test]
fn entries_signed_by_a_revoked_key_are_flagged_not_counted() {
    let mut b = Bank::build().expect("bank");
    let vol = b.v.volunteers[0].member_id;
    earn(&mut b, 0, 0, 90);
    // The phone is lost; the coordinator revokes its key from now.
    b.v.clock.advance(DAY);
    let lost_key = b.v.volunteers[0].store.public_key();
    b.v.coordinator
        .store
        .revoke(lost_phone(lost_key, b.v.clock.now()))
        .expect("revoke");
    // Whoever holds the lost phone (not yet told) spends an hour.
    b.v.clock.advance(60 * MINUTE);
    let spent = b.v.volunteers[0]
        .store
        .redeem_hours(60, None)
        .expect("the lost phone does not know yet");
    b.v.coordinator
        .store
        .merge_from(&b.v.volunteers[0].store)
        .expect("merge");
    let c = &mut b.v.coordinator.store;
    assert_eq!(
        c.entry_standing(spent).expect("s"),
        Some(Standing::Held(Hold::Key(KeyProblem::Revoked)))
    );
    assert_eq!(
        kinds(c),
        vec![ConflictKind::UntrustedKey {
            key: lost_key,
            problem: KeyProblem::Revoked
        }]
    );
    let evidence = c
        .ledger_evidence(&c.conflict_queue().expect("q")[0])
        .expect("evidence");
    assert_eq!(evidence[0].id(), spent);
    assert_eq!(c.balance(vol).expect("b").available_minutes, 90);
    c.decide(spent, Verdict::Reject, "手机被他人使用")
        .expect("reject");
    assert!(c.conflict_queue().expect("q").is_empty());
    assert_eq!(c.balance(vol).expect("b").available_minutes, 90);
}

#[test]
fn a_cloned_phone_forks_the_chain_and_overdraws_the_balance() {
    let mut b = Bank::build().expect("bank");
    let vol = b.v.volunteers[0].member_id;
    earn(&mut b, 0, 0, 60);
    let mut clone = open(b.v.circle, 200, &b.v.clock).expect("clone");
    clone.merge_from(&b.v.volunteers[0].store).expect("copy");
    // Offline, both phones spend the same hour.
    let a = b.v.volunteers[0].store.redeem_hours(60, None).expect("a");
    b.v.clock.advance(MINUTE);
    let c2 = clone.redeem_hours(50, None).expect("b");
    b.v.coordinator.store.merge_from(&clone).expect("merge");
    b.sync().expect("sync");
    let c = &mut b.v.coordinator.store;
    let queue = c.conflict_queue().expect("q");
    let fork = queue
        .iter()
        .find(|q| matches!(q.kind, ConflictKind::Fork { .. }))
        .expect("fork");
    let mut both = vec![a, c2];
    both.sort();
    let mut evidence = fork.evidence.clone();
    evidence.sort();
    assert_eq!(evidence, both);
    let overdraft = queue
        .iter()
        .find(|q| matches!(q.kind, ConflictKind::Overdraft { .. }))
        .expect("overdraft");
    assert_eq!(
        overdraft.kind,
        ConflictKind::Overdraft {
            balance_after_minutes: -50
        }
    );
    assert_eq!(overdraft.awaiting, vec![c2]);
    assert_eq!(c.balance(vol).expect("b").available_minutes, -50);
    // The coordinator rejects the later spend and approves the other: the queue empties.
    c.decide(c2, Verdict::Reject, "重复兑换").expect("reject");
    c.decide(a, Verdict::Approve, "有效兑换").expect("approve");
    assert!(c.conflict_queue().expect("q").is_empty());
    assert_eq!(c.balance(vol).expect("b").available_minutes, 0);
}

#[test]
fn claims_for_voided_missing_or_already_claimed_services_are_flagged() {
    let mut b = Bank::build().expect("bank");
    let vol = b.v.volunteers[0].member_id;
    let claim = earn(&mut b, 0, 0, 60);
    // The claimed service is voided; the credit stops counting.
    let service = match b.v.coordinator.store.get(claim).expect("claim").body() {
        RecordBody::Ledger(LedgerEntry {
            kind: EntryKind::Claim { service, .. },
            ..
        }) => *service,
        other => panic!("not a claim: {other:?}"),
    };
    b.v.coordinator
        .store
        .correct(service, CorrectionAction::Void {}, "服务未发生")
        .expect("void");
    let c = &b.v.coordinator.store;
    assert_eq!(
        kinds(c),
        vec![ConflictKind::ClaimService {
            service,
            problem: ServiceProblem::Voided
        }]
    );
    assert_eq!(c.balance(vol).expect("b").available_minutes, 0);
    // Claiming it again on the device is refused; a cloned phone's second claim is flagged.
    b.sync().expect("sync");
    let other = serve(&mut b.v.volunteers[0].store, vol, b.v.elders[1], 1, 30).expect("service");
    let mut clone = open(b.v.circle, 200, &b.v.clock).expect("clone");
    clone.merge_from(&b.v.volunteers[0].store).expect("copy");
    b.v.volunteers[0]
        .store
        .claim_hours(other, 30)
        .expect("claim");
    assert!(refused(b.v.volunteers[0].store.claim_hours(other, 30)));
    b.v.clock.advance(MINUTE);
    let twice = clone.claim_hours(other, 30).expect("second claim offline");
    b.v.coordinator.store.merge_from(&clone).expect("merge");
    b.v.coordinator
        .store
        .merge_from(&b.v.volunteers[0].store)
        .expect("merge");
    let c = &b.v.coordinator.store;
    assert_eq!(
        c.entry_standing(twice).expect("s"),
        Some(Standing::Held(Hold::Duplicate))
    );
    assert!(kinds(c).contains(&ConflictKind::DuplicateClaim { service: other }));
    // A claim for a service record no one has.
    let volunteer1 = b.v.volunteers[1].member_id;
    let ghost = Id::from_bytes([0xee; 16]);
    let forged = signed(
        c,
        &key(201),
        LedgerEntry {
            member_id: volunteer1,
            seq: 1,
            prev: None,
            kind: EntryKind::Claim {
                service: ghost,
                elder_id: b.v.elders[0],
                minutes: 60,
            },
        },
        b.v.clock.now(),
    );
    inject(&mut b.v.coordinator.store, &forged);
    assert!(
        kinds(&b.v.coordinator.store).contains(&ConflictKind::ClaimService {
            service: ghost,
            problem: ServiceProblem::Missing
        })
    );
}

#[test]
fn entries_from_unknown_or_foreign_keys_and_rogue_decisions_are_flagged() {
    let mut b = Bank::build().expect("bank");
    let vol = b.v.volunteers[0].member_id;
    let claim = earn(&mut b, 0, 0, 60);
    let now = b.v.clock.now();
    let stranger = DeviceKey::from_seed([0x77; 32]);
    let c = &b.v.coordinator.store;
    let spend = |member: Id| LedgerEntry {
        member_id: member,
        seq: 2,
        prev: Some(EntryHash::of_payload(b"not the real previous entry")),
        kind: EntryKind::Redeem {
            minutes: 60,
            service: None,
        },
    };
    let unknown = signed(c, &stranger, spend(vol), now);
    // Volunteer 1's real key, signing into volunteer 0's chain.
    let foreign = signed(c, &key(201), spend(vol), now + 1);
    // A caregiver's "decision" rejecting the claim.
    let caregiver = b.v.caregivers[0].member_id;
    let rogue = signed(
        c,
        &key(100),
        LedgerEntry {
            member_id: caregiver,
            seq: 2,
            prev: Some(EntryHash::of_payload(b"x")),
            kind: EntryKind::Decide {
                target: claim,
                verdict: Verdict::Reject,
                reason: "我说了算".into(),
            },
        },
        now + 2,
    );
    for record in [&unknown, &foreign, &rogue] {
        inject(&mut b.v.coordinator.store, record);
    }
    let c = &b.v.coordinator.store;
    let queue = kinds(c);
    assert!(queue.contains(&ConflictKind::UntrustedKey {
        key: stranger.public_key(),
        problem: KeyProblem::Unknown
    }));
    assert!(queue.contains(&ConflictKind::UntrustedKey {
        key: key(201).public_key(),
        problem: KeyProblem::OtherMember
    }));
    assert!(queue.contains(&ConflictKind::RuleBroken {
        rule: Rule::DecisionNotByCoordinator
    }));
    assert!(
        !queue.iter().any(|k| matches!(k, ConflictKind::Fork { .. })),
        "forgeries are not forks: {queue:?}"
    );
    assert_eq!(c.balance(vol).expect("b").available_minutes, 60);
    assert_eq!(c.entry_standing(claim).expect("s"), Some(Standing::Counted));
}

#[test]
fn a_certificate_outside_its_validity_signs_nothing_that_counts() {
    let mut b = Bank::build().expect("bank");
    let now = b.v.clock.now();
    // A short-term helper's key, certified for one day.
    let mut short = open(b.v.circle, 304, &b.v.clock).expect("store");
    b.v.coordinator
        .store
        .enrol(carebank_core::domain::Enrolment {
            member_id: Id::from_bytes([0x31; 16]),
            name: "短期志愿者".into(),
            role: carebank_core::domain::Role::Volunteer,
            site_id: b.v.point_id,
            device_key: short.public_key(),
            family_of: None,
            valid_from_ms: Some(now),
            valid_until_ms: Some(now + DAY),
            household: None,
            birth_year: None,
        })
        .expect("enrol");
    b.sync().expect("sync");
    short.merge_from(&b.v.coordinator.store).expect("merge");
    let helper = Id::from_bytes([0x31; 16]);
    let s = serve(&mut short, helper, b.v.elders[0], 0, 30).expect("service");
    short.claim_hours(s, 30).expect("within validity");
    b.v.clock.advance(2 * DAY);
    let s = serve(&mut short, helper, b.v.elders[0], 2, 30).expect("service");
    assert!(
        refused(short.claim_hours(s, 30)),
        "the certificate has expired"
    );
}

/// Which month time-bank minutes count in (docs/report-format.md): earned minutes in the month
/// the service was given, whenever it was claimed or confirmed; redeemed minutes in the month of
/// their own entry. A service on 30 November claimed and confirmed on 2 December is November's,
/// on every device, whenever the report is run.
#[test]
fn a_credit_counts_in_the_month_its_service_was_given() {
    use carebank_core::report::MonthlyReport;
    use carebank_core::time::Month;
    use carebank_scenarios::START_MS;

    let mut b = Bank::build().expect("bank");
    let (nov, dec): (Month, Month) = (
        "2026-11".parse().expect("month"),
        "2026-12".parse().expect("month"),
    );
    earn(&mut b, 0, 1, 60);
    let vol = b.v.volunteers[0].member_id;
    let elder = b.v.elders[0];
    // 30 November 20:00 CST: a service given (day 28 after 2 November is the 30th, 10:00).
    let at = |ms: i64| u64::try_from(ms).expect("instant");
    b.v.clock.set(START_MS + 28 * DAY + 12 * 60 * MINUTE);
    let store = &mut b.v.volunteers[0].store;
    let service = serve(store, vol, elder, 28, 90).expect("service");
    // The last millisecond of November and the first of December, each spend some hours.
    b.v.clock.set(at(nov.end_ms() - 1));
    store.redeem_hours(30, None).expect("redeem in November");
    b.v.clock.set(at(dec.start_ms()));
    store.redeem_hours(15, None).expect("redeem in December");
    // 2 December: the volunteer claims, a caregiver confirms.
    b.v.clock.set(at(dec.start_ms()) + DAY + 8 * 60 * MINUTE);
    let claim = b.v.volunteers[0]
        .store
        .claim_hours(service, 90)
        .expect("claim");
    b.sync().expect("sync");
    b.v.clock.advance(60 * MINUTE);
    confirm(&mut b, &[claim]);

    let figures = |store: &mut CareStore, month: Month, now_ms: i64| {
        let now = UnixMs::new(now_ms).expect("instant");
        let report = MonthlyReport::build(store, month, now, false).expect("report");
        ["earned", "redeemed", "given"].map(|key| {
            report
                .rows
                .iter()
                .find(|r| r.section == "time_bank" && r.key == key)
                .map(|r| r.value)
                .expect("time-bank row")
        })
    };
    let later = dec.next().next().start_ms() + 14 * 86_400_000;
    for store in [
        &mut b.v.coordinator.store,
        &mut b.v.volunteers[0].store,
        &mut b.v.caregivers[0].store,
    ] {
        for now_ms in [dec.start_ms() + 2 * 86_400_000, later] {
            assert_eq!(figures(store, nov, now_ms), [150, 30, 0], "November");
            assert_eq!(figures(store, dec, now_ms), [0, 15, 0], "December");
        }
    }
}
