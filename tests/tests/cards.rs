//! Printed code cards (issue 15, item 3; decision 0019): a coordinator issues elders cards of
//! one-time codes; a caregiver's phone records the code each elder shows without being able to
//! tell a right code from a wrong one; once the records reach the coordinator's phone, each
//! code is judged valid, reused, out of order, of the wrong elder or of a withdrawn card, and
//! the monthly report counts only the valid ones as confirmed by code.

use carebank_core::domain::{
    Card, CardCode, CardWithdrawal, CodeVerdict, ConfirmMethod, Confirmation, ConfirmedBy, Funding,
    RecordBody, WithdrawalReason,
};
use carebank_core::hlc::Hlc;
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::record::{Envelope, SignedRecord, V1};
use carebank_core::replica::DocId;
use carebank_core::report::MonthlyReport;
use carebank_core::store::Store;
use carebank_core::time::{Month, UnixMs};
use carebank_core::{CardSheet, Error};
use carebank_scenarios::{DAY, START_MS, Village, meal, service, weekly_village};

/// The coordinator issues elder `elder` a card of `codes` codes.
fn issue(v: &mut Village, elder: usize, codes: u32) -> CardSheet {
    v.coordinator
        .store
        .issue_card(v.elders[elder], codes)
        .expect("card")
}

/// Caregiver 0 records a meal for elder `elder` at `at`, confirmed by `code` (the clock moved
/// there first).
fn meal_with_code(v: &mut Village, elder: usize, at: u64, code: &str) -> Result<Id, Error> {
    meal_with_card_code(v, elder, at, code, None)
}

/// [`meal_with_code`], naming the card `card_id`.
fn meal_with_card_code(
    v: &mut Village,
    elder: usize,
    at: u64,
    code: &str,
    card_id: Option<Id>,
) -> Result<Id, Error> {
    v.clock.set(at);
    let mut s = service(
        v.elders[elder],
        v.caregivers[0].member_id,
        at,
        30,
        Funding::SelfPaid,
        meal(),
    );
    s.confirmation = Some(Confirmation {
        by: ConfirmedBy::Elder,
        member_id: None,
        method: ConfirmMethod::CardCode,
        at_ms: at,
        card: Some(CardCode {
            code: code.into(),
            card_id,
        }),
    });
    v.caregivers[0].store.record_service(s)
}

#[test]
fn codes_are_judged_on_the_coordinators_phone_valid_reused_out_of_order_wrong_elder_withdrawn() {
    let mut v = weekly_village(1, 0, 2, 0);
    v.clock.set(START_MS + DAY);
    let first = issue(&mut v, 0, 10);
    let other = issue(&mut v, 1, 10);
    assert_eq!((first.card.serial, first.codes.len()), (1, 10));
    v.merge(1, 0).expect("the caregiver syncs");
    let code = |n: usize| first.codes[n - 1].clone();
    let at = |day: u64| START_MS + day * DAY;

    let valid = meal_with_code(&mut v, 0, at(2), &code(1)).expect("recorded");
    let reused = meal_with_code(&mut v, 0, at(3), &code(1)).expect("recorded");
    let later = meal_with_code(&mut v, 0, at(4), &code(3)).expect("recorded");
    let out_of_order = meal_with_code(&mut v, 0, at(5), &code(2)).expect("recorded");
    let wrong_elder = meal_with_code(&mut v, 0, at(6), &other.codes[0]).expect("recorded");
    // The caregiver's phone holds no secret: it takes any six digits, and judges none.
    let month = Month::of_instant(at(2) as i64);
    let on_phone = v.caregivers[0]
        .store
        .card_confirmations(month)
        .expect("checks");
    assert!(on_phone.iter().all(|c| c.verdict == CodeVerdict::Unchecked));

    v.clock.set(at(7));
    v.coordinator
        .store
        .withdraw_card(first.card.card_id, Some(at(7)), WithdrawalReason::Lost)
        .expect("withdrawn");
    let withdrawn = meal_with_code(&mut v, 0, at(8), &code(4)).expect("recorded");
    v.merge(0, 1).expect("the coordinator syncs");

    let checks = v
        .coordinator
        .store
        .card_confirmations(month)
        .expect("checks");
    let verdict = |id: Id| {
        checks
            .iter()
            .find(|c| c.record_id == id)
            .map(|c| c.verdict)
            .expect("judged")
    };
    assert_eq!(verdict(valid), CodeVerdict::Valid);
    assert_eq!(verdict(reused), CodeVerdict::Reused);
    assert_eq!(verdict(later), CodeVerdict::Valid);
    assert_eq!(verdict(out_of_order), CodeVerdict::OutOfOrder);
    assert_eq!(verdict(wrong_elder), CodeVerdict::WrongElder);
    assert_eq!(verdict(withdrawn), CodeVerdict::Withdrawn);
    let wrong = checks
        .iter()
        .find(|c| c.record_id == wrong_elder)
        .expect("judged");
    assert_eq!(
        wrong.card_id,
        Some(other.card.card_id),
        "names whose card it is"
    );

    // The report: two services confirmed by a checked code, four flagged, none unchecked.
    let now = UnixMs::new(at(9) as i64).expect("now");
    let report = MonthlyReport::build(&mut v.coordinator.store, month, now, false).expect("report");
    let row = |key: &str| {
        report
            .rows
            .iter()
            .find(|r| r.section == "confirmation" && r.key == key)
            .map(|r| r.value)
            .expect(key)
    };
    assert_eq!(row("card_code"), 2);
    assert_eq!(row("card_code_flagged"), 4);
    assert_eq!(row("card_code_unchecked"), 0);
    assert_eq!(row("unconfirmed"), 0);
    assert!(
        report
            .to_csv(carebank_core::lang::Lang::En)
            .contains(",confirmation,card_code_flagged,")
    );
}

#[test]
fn a_card_secret_never_leaves_the_coordinators_phone_and_only_it_prints_the_card() {
    let mut v = weekly_village(1, 0, 1, 0);
    let sheet = issue(&mut v, 0, 40);
    let secret = v
        .coordinator
        .store
        .store()
        .card_secret(sheet.card.card_id)
        .expect("read")
        .expect("held by the issuer");
    v.merge(1, 0).expect("the caregiver syncs");
    let phone = &mut v.caregivers[0].store;
    let mut carried: Vec<u8> = Vec::new();
    for (_, bytes) in phone.documents().expect("docs") {
        carried.extend(bytes);
    }
    for entry in phone.keyring().expect("keyring") {
        carried.extend(entry);
    }
    assert!(
        !carried.windows(secret.0.len()).any(|w| w == secret.0),
        "the secret travelled to the caregiver's phone"
    );
    assert_eq!(
        phone.cards().expect("cards").len(),
        1,
        "the card record did"
    );
    assert!(phone.cards().expect("cards")[0].secret.is_none());
    assert!(matches!(
        phone.card_sheet(sheet.card.card_id),
        Err(Error::NotAuthorised(_))
    ));
    assert!(matches!(
        phone.issue_card(v.elders[0], 10),
        Err(Error::NotAuthorised(_))
    ));
    assert!(matches!(
        phone.withdraw_card(sheet.card.card_id, None, WithdrawalReason::Lost),
        Err(Error::NotAuthorised(_))
    ));
    // Printed again on the coordinator's phone, the card is the same.
    let again = v
        .coordinator
        .store
        .card_sheet(sheet.card.card_id)
        .expect("sheet");
    assert_eq!(again.codes, sheet.codes);
}

#[test]
fn a_code_that_is_not_six_digits_or_names_another_elders_card_is_refused_when_recorded() {
    let mut v = weekly_village(1, 0, 2, 0);
    let theirs = issue(&mut v, 1, 5);
    v.merge(1, 0).expect("the caregiver syncs");
    for bad in ["12345", "1234567", "12a456", ""] {
        assert!(
            matches!(
                meal_with_code(&mut v, 0, START_MS, bad),
                Err(Error::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    let theirs_named = meal_with_card_code(
        &mut v,
        0,
        START_MS,
        &theirs.codes[0],
        Some(theirs.card.card_id),
    );
    assert!(matches!(theirs_named, Err(Error::Invalid(_))));
}

/// Signs `body` with `key` at `at_ms` as software other than the app would, and stores it into
/// `target` as a sync would.
fn inject(
    target: &mut carebank_core::CareStore,
    key: &DeviceKey,
    at_ms: u64,
    body: RecordBody,
) -> Id {
    let circle = target.circle();
    let hlc = Hlc {
        ms: at_ms,
        counter: 0,
    };
    let envelope = Envelope {
        v: V1,
        circle: circle.circle_id,
        author: key.public_key(),
        hlc,
        body,
        link: None,
    };
    let record = SignedRecord::sign(envelope, key).expect("sign");
    let mut raw = Store::open_in_memory(circle.circle_id, circle.centre_key).expect("raw store");
    raw.append(&record).expect("append");
    let doc = DocId::for_hlc(hlc);
    let bytes = raw.doc_bytes(&doc).expect("doc bytes");
    target.merge_doc(&doc, &bytes).expect("merge");
    record.id()
}

#[test]
fn a_card_or_a_withdrawal_signed_by_a_caregiver_counts_for_nothing() {
    let mut v = weekly_village(1, 0, 1, 0);
    v.clock.set(START_MS + DAY);
    let card = issue(&mut v, 0, 10);
    v.merge(1, 0).expect("the caregiver syncs");
    let caregiver_key = v.device_key(1);
    let elder_id = v.elders[0];
    let forged_card = RecordBody::Card(Card {
        card_id: Id::random(),
        elder_id,
        serial: 1,
        codes: 10,
        issued_ms: START_MS,
    });
    let forged_withdrawal = RecordBody::CardWithdrawal(CardWithdrawal {
        card_id: card.card.card_id,
        elder_id,
        from_ms: START_MS,
        reason: WithdrawalReason::Lost,
    });
    for body in [forged_card, forged_withdrawal] {
        let forged = inject(
            &mut v.coordinator.store,
            &caregiver_key,
            START_MS + DAY,
            body,
        );
        assert!(
            v.coordinator.store.get(forged).is_ok(),
            "held, signed and valid"
        );
    }
    let cards = v.coordinator.store.cards().expect("cards");
    assert_eq!(cards.len(), 1, "only the coordinator's card");
    assert_eq!(
        cards[0].withdrawn_from_ms, None,
        "not withdrawn by a caregiver"
    );
    let service = meal_with_code(&mut v, 0, START_MS + 2 * DAY, &card.codes[0]).expect("meal");
    v.merge(0, 1).expect("the coordinator syncs");
    let month = Month::of_instant((START_MS + 2 * DAY) as i64);
    let checks = v
        .coordinator
        .store
        .card_confirmations(month)
        .expect("checks");
    assert_eq!(checks.len(), 1);
    assert_eq!(
        (checks[0].record_id, checks[0].verdict),
        (service, CodeVerdict::Valid)
    );
}
