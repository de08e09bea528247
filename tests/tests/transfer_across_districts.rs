//! Hours valid across districts (通存通兑, issue 15 item 2). Three villages in two districts of
//! one province: a volunteer of town 1 (district 1) moves to town 3 (district 2) with a transfer
//! statement that verifies offline with the province root alone, spends there; the same hours
//! spent back in the old village are a double spend wherever the records meet; a forged,
//! wrong-root, expired, misdirected or replayed statement is refused.

use carebank_core::canonical::{from_canonical, to_canonical};
use carebank_core::ids::Id;
use carebank_core::ledger::{ConflictKind, Standing, TransferError, TransferFile, verify_transfer};
use carebank_core::sync::bundle::Since;
use carebank_core::{CareStore, Error};
use carebank_scenarios::districts::{
    CERT_FROM, Province, certify, earn, enrol_mover, sync_village, town_chain,
};
use carebank_scenarios::{DAY, Device, MINUTE, START_MS, key, record_ids};

const HOUR: u64 = 60 * MINUTE;
use carebank_core::identity::authority::AuthorityLevel;
use proptest::prelude::*;

/// The old village (town 1, district 1), the other village of district 1, the new village
/// (town 3, district 2).
const OLD: usize = 0;
const NEIGHBOUR: usize = 1;
const NEW: usize = 2;

/// After the move: the province, the mover's id, the transfer statement, the transfer-out's id
/// and the mover's new phone in the new village (the old phone is still in town 1, offline
/// since before the transfer-out).
struct Moved {
    p: Province,
    member: Id,
    file: Vec<u8>,
    transfer_out: Id,
    new_phone: Device,
}

/// A province where the first volunteer of town 1 earned `hours` hours; with the volunteer's id
/// and the new village's circle.
fn earned(hours: u64) -> (Province, Id, Id) {
    let mut p = Province::build().expect("province");
    earn(&mut p.towns[OLD].v, 0, 0, hours, 60).expect("earn");
    let member = p.towns[OLD].v.volunteers[0].member_id;
    let to = p.towns[NEW].v.circle.circle_id;
    (p, member, to)
}

/// The mover earns 3 hours in town 1; the old village's coordinator moves them out to town 3;
/// town 3 enrols the mover (same member id) on a new phone.
fn moved() -> Moved {
    let (mut p, member, to) = earned(3);
    let old = &mut p.towns[OLD];
    old.v.clock.advance(4 * DAY);
    let file = old
        .v
        .coordinator
        .store
        .transfer_out(member, to, &old.chain)
        .expect("transfer out");
    let from: TransferFile = from_canonical(&file).expect("a transfer file");
    let new = &mut p.towns[NEW].v;
    let new_phone = enrol_mover(new, member, 500_001).expect("enrol the mover");
    Moved {
        member,
        file,
        transfer_out: from.transfer_out,
        new_phone,
        p,
    }
}

fn balance(store: &CareStore, member: Id) -> i64 {
    store.balance(member).expect("balance").available_minutes
}

/// The member's balances summed over the province's villages.
fn total(p: &Province, member: Id) -> i64 {
    p.towns
        .iter()
        .map(|t| balance(&t.v.coordinator.store, member))
        .sum()
}

/// The coordinator of the new village opens the transfer; every device there syncs.
fn open_in_new(m: &mut Moved) -> Id {
    let root = m.p.root.public_key();
    let new = &mut m.p.towns[NEW].v;
    let (entry, verified) = new
        .coordinator
        .store
        .import_transfer(&m.file, root)
        .expect("import the transfer");
    assert_eq!(
        (verified.member, verified.minutes),
        (m.member, 180),
        "the statement moves the mover's 3 hours"
    );
    sync_village(new).expect("sync");
    m.new_phone
        .store
        .merge_from(&new.coordinator.store)
        .expect("the new phone syncs");
    entry
}

#[test]
fn a_member_moves_from_district_one_to_district_two_and_spends_there() {
    let mut m = moved();
    let old = &m.p.towns[OLD].v;
    // The statement verifies offline with the province root alone: chain, statement, transfer.
    let verified = verify_transfer(
        &m.file,
        m.p.root.public_key(),
        m.p.towns[NEW].v.circle.circle_id,
    )
    .expect("verifies with the province root");
    assert_eq!(verified.from_circle, old.circle.circle_id);
    assert_eq!(verified.town.key, old.circle.centre_key);
    assert_eq!(
        verified.district.as_ref().map(|d| d.key),
        Some(m.p.districts[0].public_key())
    );
    // In the old village the member's hours are zero from the transfer-out on …
    let b = old.coordinator.store.balance(m.member).expect("balance");
    assert_eq!((b.available_minutes, b.transferred_out_minutes), (0, 180));
    let before = total(&m.p, m.member);
    assert_eq!(before, 0, "moved out and not yet opened: nowhere spendable");

    // … and opened once in the new village, in district 2.
    let entry = open_in_new(&mut m);
    let new = &mut m.p.towns[NEW].v;
    assert_eq!(
        new.coordinator
            .store
            .entry_standing(entry)
            .expect("standing"),
        Some(Standing::Counted)
    );
    let b = new.coordinator.store.balance(m.member).expect("balance");
    assert_eq!((b.available_minutes, b.transferred_in_minutes), (180, 180));
    let after = total(&m.p, m.member);
    assert_eq!(
        after, 180,
        "the hours earned in town 1, spendable once, in town 3"
    );

    // The mover spends 1 hour there, from the new phone.
    let new = &mut m.p.towns[NEW].v;
    new.clock.advance(DAY);
    m.new_phone
        .store
        .redeem_hours(60, None)
        .expect("redeem in the new village");
    new.coordinator
        .store
        .merge_from(&m.new_phone.store)
        .expect("sync");
    assert_eq!(balance(&new.coordinator.store, m.member), 120);
    assert!(
        new.coordinator
            .store
            .conflict_queue()
            .expect("queue")
            .is_empty()
    );
    assert_eq!(balance(&m.p.towns[OLD].v.coordinator.store, m.member), 0);
}

#[test]
fn the_same_hours_spent_back_in_the_old_village_are_a_double_spend_wherever_the_records_meet() {
    let mut m = moved();
    open_in_new(&mut m);
    m.new_phone
        .store
        .redeem_hours(120, None)
        .expect("spent in the new village");

    // The old phone, offline since before the transfer-out, still shows 3 hours and spends 2,
    // an hour after the transfer-out.
    let old = &mut m.p.towns[OLD];
    old.v.clock.advance(HOUR);
    let old_phone = &mut old.v.volunteers[0].store;
    assert_eq!(balance(old_phone, m.member), 180);
    let spend = old_phone
        .redeem_hours(120, None)
        .expect("the old phone does not know yet");

    // A bundle carried by hand from the old phone to the old village's coordinator.
    let bundle = old_phone.export_bundle(&Since::Everything).expect("bundle");
    old.v
        .coordinator
        .store
        .import_bundle(&bundle)
        .expect("import the bundle");
    let double_spend = |store: &CareStore| -> Vec<Id> {
        let queue = store.conflict_queue().expect("queue");
        let item = queue
            .iter()
            .find(|c| {
                c.kind
                    == ConflictKind::TransferDoubleSpend {
                        transfer_out: m.transfer_out,
                    }
            })
            .unwrap_or_else(|| panic!("no double spend in {queue:?}"));
        assert_eq!(item.member, m.member);
        assert_eq!(item.awaiting, vec![spend]);
        let evidence = store.ledger_evidence(item).expect("evidence");
        assert_eq!(
            evidence.len(),
            2,
            "the transfer-out and the spend, both signed"
        );
        evidence.iter().map(|r| r.id()).collect()
    };
    let on_coordinator = double_spend(&old.v.coordinator.store);
    assert!(on_coordinator.contains(&m.transfer_out) && on_coordinator.contains(&spend));

    // A phone that carries both: the old phone, once it meets the coordinator, sees it too,
    // and refuses to spend any more of the moved hours.
    let old_phone = &mut old.v.volunteers[0].store;
    old_phone
        .merge_from(&old.v.coordinator.store)
        .expect("phone meets coordinator");
    assert_eq!(double_spend(old_phone), on_coordinator);
    assert!(matches!(
        old_phone.redeem_hours(10, None),
        Err(Error::LedgerRefused(_))
    ));

    // The new village, shown the old village's records as they now stand (the transfer
    // statement exported again), refuses them: the moved hours were spent twice.
    let again = old
        .v
        .coordinator
        .store
        .transfer_statement(m.transfer_out, &old.chain)
        .expect("export again");
    let new_circle = m.p.towns[NEW].v.circle.circle_id;
    assert_eq!(
        verify_transfer(&again, m.p.root.public_key(), new_circle).map(|v| v.minutes),
        Err(TransferError::SpentTwice)
    );
}

#[test]
fn a_spend_the_transfer_out_did_not_see_makes_the_transfer_out_the_double_spend() {
    let (mut p, member, to) = earned(3);
    let old = &mut p.towns[OLD];
    // Offline, the old phone spends 1 hour on day 3; the coordinator, not knowing, moves all 3
    // hours out on day 4.
    old.v.clock.advance(3 * DAY);
    let spend = old.v.volunteers[0]
        .store
        .redeem_hours(60, None)
        .expect("spend");
    old.v.clock.advance(DAY);
    old.v
        .coordinator
        .store
        .transfer_out(member, to, &old.chain)
        .expect("transfer out");
    let quiet = old
        .v
        .coordinator
        .store
        .conflict_queue()
        .map(|q| q.is_empty())
        .expect("queue");
    assert!(quiet, "nothing to see before the records meet");
    old.v
        .coordinator
        .store
        .merge_from(&old.v.volunteers[0].store)
        .expect("they meet");
    let queue = old.v.coordinator.store.conflict_queue().expect("queue");
    let [item] = queue.as_slice() else {
        panic!("one item expected: {queue:?}")
    };
    let ConflictKind::TransferDoubleSpend { transfer_out } = item.kind else {
        panic!("a double spend expected: {item:?}")
    };
    assert_eq!(item.evidence, vec![spend, transfer_out], "by clock");
    assert_eq!(item.awaiting, vec![transfer_out]);
}

#[test]
fn a_transfer_statement_opens_once_and_only_where_it_was_sent() {
    let mut m = moved();
    let root = m.p.root.public_key();
    open_in_new(&mut m);
    let new = &mut m.p.towns[NEW].v;
    let held = record_ids(&new.coordinator.store);
    let replayed = new.coordinator.store.import_transfer(&m.file, root);
    assert!(
        matches!(&replayed, Err(Error::Transfer(TransferError::AlreadyOpened(t))) if *t == m.transfer_out),
        "{replayed:?}"
    );
    assert_eq!(record_ids(&new.coordinator.store), held, "nothing written");

    // Not in the other village of district 1, nor back in the old one.
    for town in [NEIGHBOUR, OLD] {
        let v = &mut m.p.towns[town].v;
        let here = v.circle.circle_id;
        let _ = enrol_mover(v, m.member, 500_002 + town as u64);
        let refused = v.coordinator.store.import_transfer(&m.file, root);
        assert!(
            matches!(refused, Err(Error::Transfer(TransferError::OtherCircle(c))) if c != here),
            "town {town}: {refused:?}"
        );
    }
}

#[test]
fn two_coordinators_opening_one_statement_offline_are_caught_when_they_sync() {
    let mut m = moved();
    let root = m.p.root.public_key();
    let new = &mut m.p.towns[NEW].v;
    // A second coordinator of the new village, enrolled by its centre.
    let mut second = carebank_scenarios::open(new.circle, 500_100, &new.clock).expect("open");
    new.centre
        .enrol(carebank_scenarios::enrolment(
            carebank_scenarios::fixed_id(0x9_0000_0001),
            "第二位站长".into(),
            carebank_core::domain::Role::Coordinator,
            new.point_id,
            second.public_key(),
        ))
        .expect("enrol");
    sync_village(new).expect("sync");
    second.merge_from(&new.coordinator.store).expect("sync");
    // Both open the statement while apart.
    let (first_in, _) = new
        .coordinator
        .store
        .import_transfer(&m.file, root)
        .expect("first");
    new.clock.advance(60_000);
    let (second_in, _) = second
        .import_transfer(&m.file, root)
        .expect("second, offline");
    new.coordinator
        .store
        .merge_from(&second)
        .expect("they meet");
    let queue = new.coordinator.store.conflict_queue().expect("queue");
    let item = queue
        .iter()
        .find(|c| matches!(c.kind, ConflictKind::DuplicateTransfer { transfer_out } if transfer_out == m.transfer_out))
        .unwrap_or_else(|| panic!("no duplicate transfer in {queue:?}"));
    assert_eq!(item.evidence, vec![first_in, second_in]);
    assert_eq!(item.awaiting, vec![second_in]);
    assert_eq!(
        balance(&new.coordinator.store, m.member),
        180,
        "counted once"
    );
}

/// A transfer file with its parts replaced.
fn rewrap(file: &[u8], change: impl FnOnce(&mut TransferFile)) -> Vec<u8> {
    let mut parts: TransferFile = from_canonical(file).expect("a transfer file");
    change(&mut parts);
    to_canonical(&parts).expect("encode")
}

fn refused(m: &Moved, file: &[u8]) -> TransferError {
    let into = m.p.towns[NEW].v.circle.circle_id;
    verify_transfer(file, m.p.root.public_key(), into).expect_err("refused")
}

#[test]
fn forged_wrong_root_expired_and_borrowed_statements_are_refused() {
    let mut m = moved();
    let old = &m.p.towns[OLD];
    let centre = old.v.circle.centre_key;

    // Verified against another root (a district's key, or a stranger's).
    let into = m.p.towns[NEW].v.circle.circle_id;
    for wrong in [m.p.districts[0].public_key(), key(900_999).public_key()] {
        assert!(matches!(
            verify_transfer(&m.file, wrong, into),
            Err(TransferError::Authority(_))
        ));
    }
    // A town certified by a district that a rogue "province" certified.
    let rogue = key(900_100);
    let chain = town_chain(
        &rogue,
        &m.p.districts[0],
        (CERT_FROM, START_MS + 400 * DAY),
        centre,
    );
    let file = rewrap(&m.file, |f| f.authority = hex::encode(&chain));
    assert!(matches!(refused(&m, &file), TransferError::Authority(_)));
    // A district certificate that had expired when the statement was made.
    let chain = town_chain(
        &m.p.root,
        &m.p.districts[0],
        (CERT_FROM, START_MS + DAY),
        centre,
    );
    let file = rewrap(&m.file, |f| f.authority = hex::encode(&chain));
    assert!(matches!(refused(&m, &file), TransferError::Authority(_)));
    // The chain of another town (the neighbour's): it does not certify the statement's centre.
    let file = rewrap(&m.file, |f| {
        f.authority = hex::encode(&m.p.towns[NEIGHBOUR].chain)
    });
    assert!(matches!(
        refused(&m, &file),
        TransferError::Statement(_) | TransferError::NotTheTown
    ));
    // A chain that ends at a district, not a town.
    let district_only = carebank_core::identity::authority::AuthorityChain::new(vec![certify(
        &m.p.root,
        AuthorityLevel::District,
        m.p.districts[0].public_key(),
        "区",
        (CERT_FROM, START_MS + 400 * DAY),
    )])
    .encode()
    .expect("chain");
    let file = rewrap(&m.file, |f| f.authority = hex::encode(&district_only));
    assert_eq!(refused(&m, &file), TransferError::NotTheTown);

    // A forged statement: one byte of the signed payload changed.
    let file = rewrap(&m.file, |f| {
        let mut bytes = hex::decode(&f.statement).expect("hex");
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        f.statement = hex::encode(bytes);
    });
    assert!(matches!(refused(&m, &file), TransferError::Statement(_)));
    // Uppercase hex, or the file not canonical: refused, not read another way.
    let file = rewrap(&m.file, |f| f.statement = f.statement.to_uppercase());
    assert_eq!(refused(&m, &file), TransferError::Hex("statement"));
    let mut spaced = m.file.clone();
    spaced.insert(1, b' ');
    assert!(matches!(refused(&m, &spaced), TransferError::Encoding(_)));
    // Another entry named as the transfer-out (one of the member's claims).
    let claim = m.p.towns[OLD].v.volunteers[0]
        .store
        .export_statement(m.member)
        .ok()
        .and_then(|s| carebank_core::ledger::verify_statement(&s, centre).ok())
        .and_then(|s| s.entries.first().copied())
        .expect("a claim");
    let file = rewrap(&m.file, |f| f.transfer_out = claim);
    assert_eq!(refused(&m, &file), TransferError::NoTransferOut(claim));

    // The member's own statement (which could leave out their latest spends), wrapped as a
    // transfer: the old phone, having met the coordinator, holds the transfer-out.
    let old = &mut m.p.towns[OLD];
    let old_phone = &mut old.v.volunteers[0].store;
    old_phone
        .merge_from(&old.v.coordinator.store)
        .expect("sync");
    let own = old_phone.export_statement(m.member).expect("own statement");
    let file = rewrap(&m.file, |f| f.statement = hex::encode(&own));
    assert_eq!(refused(&m, &file), TransferError::NotByCoordinator);

    // A statement for someone the new village has not enrolled: refused, nothing written.
    let mut lone = Province::build().expect("province");
    earn(&mut lone.towns[OLD].v, 1, 0, 1, 30).expect("earn");
    let someone = lone.towns[OLD].v.volunteers[1].member_id;
    let to = lone.towns[NEW].v.circle.circle_id;
    let t = &mut lone.towns[OLD];
    let file =
        t.v.coordinator
            .store
            .transfer_out(someone, to, &t.chain)
            .expect("transfer out");
    let new = &mut lone.towns[NEW].v;
    let held = record_ids(&new.coordinator.store);
    let refused_in = new
        .coordinator
        .store
        .import_transfer(&file, lone.root.public_key());
    assert!(
        matches!(&refused_in, Err(Error::Transfer(TransferError::NotEnrolled(who))) if *who == someone),
        "{refused_in:?}"
    );
    assert_eq!(record_ids(&new.coordinator.store), held);
}

#[test]
fn only_a_coordinator_moves_hours_and_only_hours_there_are() {
    let (mut p, member, to) = earned(1);
    let old = &mut p.towns[OLD];
    // A volunteer cannot move their own hours out.
    assert!(matches!(
        old.v.volunteers[0]
            .store
            .transfer_out(member, to, &old.chain),
        Err(Error::NotAuthorised(_))
    ));
    // Nothing to move for a member without hours; not to this circle itself; not with another
    // town's chain.
    let (idle, here) = (old.v.volunteers[1].member_id, old.v.circle.circle_id);
    for (who, to) in [(idle, to), (member, here)] {
        let refused = old.v.coordinator.store.transfer_out(who, to, &old.chain);
        assert!(refused.is_err(), "{who} to {to}");
    }
    let other = p.towns[NEIGHBOUR].chain.clone();
    let old = &mut p.towns[OLD];
    assert!(matches!(
        old.v.coordinator.store.transfer_out(member, to, &other),
        Err(Error::Transfer(TransferError::NotTheTown))
    ));
    assert_eq!(
        balance(&old.v.coordinator.store, member),
        60,
        "nothing moved"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    /// Hours are never created by a transfer: the sum over the three circles of the mover's
    /// balances is the same before the transfer-out and after the transfer-in, and the
    /// transfer moves exactly the balance the old circle held (no cap, no expiry here).
    #[test]
    fn a_transfer_conserves_the_hours_summed_over_circles(
        services in 1u64..4, minutes in 10i64..=120, spent_share in 0i64..100,
    ) {
        let mut p = Province::build().expect("province");
        earn(&mut p.towns[OLD].v, 0, 0, services, minutes).expect("earn");
        let member = p.towns[OLD].v.volunteers[0].member_id;
        let earned = minutes * services as i64;
        let spend = earned * spent_share / 100;
        let old = &mut p.towns[OLD].v;
        if spend > 0 {
            old.volunteers[0].store.redeem_hours(spend.min(1440), None).expect("spend");
            sync_village(old).expect("sync");
        }
        let before = total(&p, member);
        prop_assert_eq!(before, earned - spend.min(1440));
        let to = p.towns[NEW].v.circle.circle_id;
        let root = p.root.public_key();
        let old = &mut p.towns[OLD];
        old.v.clock.advance(5 * DAY);
        let moved = old.v.coordinator.store.transfer_out(member, to, &old.chain);
        if before == 0 {
            prop_assert!(moved.is_err(), "nothing to move");
            return Ok(());
        }
        let file = moved.expect("transfer out");
        let new = &mut p.towns[NEW].v;
        enrol_mover(new, member, 500_001).expect("enrol");
        let (_, verified) = new.coordinator.store.import_transfer(&file, root).expect("import");
        prop_assert_eq!(verified.minutes, before);
        prop_assert_eq!(total(&p, member), before);
        prop_assert_eq!(balance(&p.towns[OLD].v.coordinator.store, member), 0);
    }
}
