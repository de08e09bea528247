//! Printed code cards for elders without a phone (decision 0019): the coordinator prints a card
//! of one-time codes (HOTP, RFC 4226) from a per-card secret that only the issuing coordinator
//! device holds; the caregiver types the code the elder shows into the service record; the
//! coordinator's device finds each code's place on the card and judges it ([`judge`]).
//!
//! The records here carry no secret: a card record says which elder a card is for and how many
//! codes it has, a withdrawal says from when a lost card stops counting.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use super::validation::{ValidationError, in_range, instant};
use crate::ids::Id;

/// The digits of a card code.
pub const CODE_DIGITS: usize = 6;
/// The most codes one card carries.
pub const CARD_CODES_MAX: u32 = 200;
/// The length of a card's secret in bytes (RFC 4226 asks for at least 16, recommends 20).
pub const CARD_SECRET_LEN: usize = 20;

/// A card's secret: HOTP's shared key, held only by the issuing coordinator device.
#[derive(Clone, PartialEq, Eq)]
pub struct CardSecret(pub [u8; CARD_SECRET_LEN]);

impl std::fmt::Debug for CardSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardSecret(…)")
    }
}

impl CardSecret {
    /// The code printed at `counter` (1 for the first code of the card).
    pub fn code(&self, counter: u32) -> String {
        format!("{:06}", hotp(&self.0, u64::from(counter)))
    }

    /// Every code of a card of `codes` codes, the first at index 0 (counter 1).
    pub fn codes(&self, codes: u32) -> Vec<String> {
        (1..=codes).map(|c| self.code(c)).collect()
    }
}

/// HOTP (RFC 4226 §5.3) with HMAC-SHA-1 and six digits: the code for `counter` under `key`.
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    // HMAC takes a key of any length; `new_from_slice` fails on none.
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let word = u32::from_be_bytes([
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]) & 0x7fff_ffff;
    word % 1_000_000
}

/// A printed code card issued for an elder (a coordinator's record; no secret in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// The card's random id (printed on it).
    pub card_id: Id,
    /// The elder it is for.
    pub elder_id: Id,
    /// The elder's cards in the order issued: 1 for the first (printed on it).
    pub serial: u32,
    /// How many codes it carries (counters 1..=codes).
    pub codes: u32,
    /// When it was issued (Unix ms).
    pub issued_ms: u64,
}

impl Card {
    /// Checks the card's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        in_range("serial", i64::from(self.serial), 1, 9_999)?;
        in_range("codes", i64::from(self.codes), 1, i64::from(CARD_CODES_MAX))?;
        instant("issued_ms", self.issued_ms)
    }
}

/// Why a card is withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalReason {
    /// Lost or stolen: its unused codes must not count.
    Lost,
    /// Damaged or used up, replaced by a new card.
    Replaced,
    /// The elder left the service.
    ServiceEnded,
}

impl WithdrawalReason {
    /// Every reason, in the order a form lists them.
    pub const ALL: [WithdrawalReason; 3] = [
        WithdrawalReason::Lost,
        WithdrawalReason::Replaced,
        WithdrawalReason::ServiceEnded,
    ];

    /// The name used in records and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalReason::Lost => "lost",
            WithdrawalReason::Replaced => "replaced",
            WithdrawalReason::ServiceEnded => "service_ended",
        }
    }
}

impl std::str::FromStr for WithdrawalReason {
    type Err = String;

    fn from_str(text: &str) -> Result<WithdrawalReason, String> {
        let wanted = text.replace('-', "_");
        WithdrawalReason::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| {
                "not a reason to withdraw a card; one of lost, replaced, service_ended".into()
            })
    }
}

/// A card withdrawn from an instant on (a coordinator's record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardWithdrawal {
    /// The card.
    pub card_id: Id,
    /// The elder it was for.
    pub elder_id: Id,
    /// From when its codes stop counting (Unix ms).
    pub from_ms: u64,
    /// Why.
    pub reason: WithdrawalReason,
}

impl CardWithdrawal {
    /// Checks the withdrawal's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        instant("from_ms", self.from_ms)
    }
}

/// The code an elder showed from a printed card, as the caregiver typed it into a service's
/// confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardCode {
    /// The six digits.
    pub code: String,
    /// The card, when the caregiver's phone knows it (a card record it holds for the elder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<Id>,
}

impl CardCode {
    /// Checks the code's form: exactly six ASCII digits. Whether it is right needs the card's
    /// secret, which only the coordinator's device holds.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.code.len() != CODE_DIGITS || !self.code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::Inconsistent(
                "a card code is exactly six digits",
            ));
        }
        Ok(())
    }
}

/// What the coordinator's device found of one code confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeVerdict {
    /// The code is the elder's, on a card in force, used once and in order.
    Valid,
    /// The code's place on the card was already used by a service that started earlier.
    Reused,
    /// The code comes before a code already used by a service that started earlier.
    OutOfOrder,
    /// The code is on none of this elder's cards (another elder's, or none at all).
    WrongElder,
    /// The code is on a card withdrawn before the service was given or recorded.
    Withdrawn,
    /// This device holds none of the elder's card secrets (or the card named): it cannot judge.
    Unchecked,
}

impl CodeVerdict {
    /// The name used in lists and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeVerdict::Valid => "valid",
            CodeVerdict::Reused => "reused",
            CodeVerdict::OutOfOrder => "out_of_order",
            CodeVerdict::WrongElder => "wrong_elder",
            CodeVerdict::Withdrawn => "withdrawn",
            CodeVerdict::Unchecked => "unchecked",
        }
    }
}

/// A card as the verifier sees it: the record's facts, its withdrawal if any, and its secret
/// where this device holds it.
#[derive(Debug, Clone)]
pub struct CardFacts {
    /// The card record.
    pub card: Card,
    /// From when it is withdrawn (the earliest withdrawal), if it is.
    pub withdrawn_from_ms: Option<u64>,
    /// Its secret, on the issuing device only.
    pub secret: Option<CardSecret>,
}

/// One service confirmed by a card code, as the verifier reads it from the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeUse {
    /// The service record.
    pub record_id: Id,
    /// The elder served.
    pub elder_id: Id,
    /// When the service started (Unix ms; the order codes are expected in).
    pub started_ms: i64,
    /// When it was recorded, by its author's clock (Unix ms).
    pub recorded_ms: i64,
    /// The code and the card, as typed.
    pub code: CardCode,
}

/// The verdict on one code use, with where on which card the code was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeCheck {
    /// The service record.
    pub record_id: Id,
    /// The elder served.
    pub elder_id: Id,
    /// When the service started.
    pub started_ms: i64,
    /// The code typed.
    pub code: String,
    /// The verdict.
    pub verdict: CodeVerdict,
    /// The card the code was found on (for `wrong_elder`: another elder's card, if any).
    pub card_id: Option<Id>,
    /// Its place on that card (1 for the first code).
    pub counter: Option<u32>,
    /// For `reused` and `out_of_order`: the earlier service that used the code (or the later
    /// code) first.
    pub earlier: Option<Id>,
}

/// Where a code is on a card: the smallest counter whose code it is.
fn place_of(card: &CardFacts, code: &str) -> Option<u32> {
    let secret = card.secret.as_ref()?;
    (1..=card.card.codes).find(|&c| secret.code(c) == code)
}

/// Judges every code use against the cards (decision 0019). Uses are taken in the order the
/// services started (then by record id); for each:
/// 1. the cards tried are the one named, else every card of the elder;
/// 2. a code on none of those whose secret this device holds is `unchecked` if one of the
///    elder's cards tried is a card whose secret it lacks (issued on another device), else
///    `wrong_elder` (naming another elder's card when it is on one);
/// 3. a code on a card withdrawn at or before the later of the service's start and its
///    recording is `withdrawn` (a card in force is preferred when the code is on several);
/// 4. a code whose place an earlier use already took is `reused`;
/// 5. a code whose place is below the highest place already used on the card is
///    `out_of_order`;
/// 6. otherwise `valid`. Every use that found its place takes it (flagged ones too), so a
///    second use of a withdrawn code is still `withdrawn`, and a copied code shows up once.
pub fn judge(cards: &[CardFacts], uses: &[CodeUse]) -> Vec<CodeCheck> {
    let mut order: Vec<&CodeUse> = uses.iter().collect();
    order.sort_by_key(|u| (u.started_ms, u.record_id));
    // Per card: each place taken, by which use; and the highest place with its use.
    let mut taken: BTreeMap<(Id, u32), Id> = BTreeMap::new();
    let mut highest: BTreeMap<Id, (u32, Id)> = BTreeMap::new();
    let mut checks = Vec::with_capacity(order.len());
    for u in order {
        let check = |verdict, card_id, counter, earlier| CodeCheck {
            record_id: u.record_id,
            elder_id: u.elder_id,
            started_ms: u.started_ms,
            code: u.code.code.clone(),
            verdict,
            card_id,
            counter,
            earlier,
        };
        let tried: Vec<&CardFacts> = cards
            .iter()
            .filter(|c| match u.code.card_id {
                Some(named) => c.card.card_id == named,
                None => c.card.elder_id == u.elder_id,
            })
            .collect();
        let at = u.started_ms.max(u.recorded_ms);
        let in_force = |c: &CardFacts| c.withdrawn_from_ms.is_none_or(|w| at < w as i64);
        let mut found: Vec<(&CardFacts, u32)> = tried
            .iter()
            .filter(|c| c.card.elder_id == u.elder_id)
            .filter_map(|c| place_of(c, &u.code.code).map(|p| (*c, p)))
            .collect();
        found.sort_by_key(|(c, _)| !in_force(c));
        let Some(&(card, place)) = found.first() else {
            // Not on a card this device can read: it may be on one of the elder's it cannot.
            if tried
                .iter()
                .any(|c| c.card.elder_id == u.elder_id && c.secret.is_none())
            {
                checks.push(check(CodeVerdict::Unchecked, u.code.card_id, None, None));
                continue;
            }
            let elsewhere = cards
                .iter()
                .filter(|c| c.card.elder_id != u.elder_id)
                .find_map(|c| place_of(c, &u.code.code).map(|p| (c.card.card_id, p)));
            checks.push(check(
                CodeVerdict::WrongElder,
                elsewhere.map(|(c, _)| c),
                elsewhere.map(|(_, p)| p),
                None,
            ));
            continue;
        };
        let card_id = card.card.card_id;
        let first_use = taken.get(&(card_id, place)).copied();
        let top = highest.get(&card_id).copied();
        let (verdict, earlier) = if !in_force(card) {
            (CodeVerdict::Withdrawn, None)
        } else if let Some(first) = first_use {
            (CodeVerdict::Reused, Some(first))
        } else if let Some((_, by)) = top.filter(|(t, _)| place < *t) {
            (CodeVerdict::OutOfOrder, Some(by))
        } else {
            (CodeVerdict::Valid, None)
        };
        taken.entry((card_id, place)).or_insert(u.record_id);
        if top.is_none_or(|(t, _)| place > t) {
            highest.insert(card_id, (place, u.record_id));
        }
        checks.push(check(verdict, Some(card_id), Some(place), earlier));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226 Appendix D: the secret "12345678901234567890" and counters 0 to 9.
    #[test]
    fn hotp_gives_the_rfc_4226_test_values() {
        let key = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(hotp(key, counter as u64), want, "counter {counter}");
        }
        assert_eq!(CardSecret(*key).code(1), "287082");
    }

    /// The value of the first line of `doc` that starts with `label`, in backquotes.
    fn quoted_after<'a>(doc: &'a str, label: &str) -> &'a str {
        let line = doc
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} in card-codes.md"));
        line.split('`').nth(1).expect("a quoted value")
    }

    /// The code block that follows the first line starting with `label`.
    fn block_after<'a>(doc: &'a str, label: &str) -> &'a str {
        let start = doc.find(label).unwrap_or_else(|| panic!("{label}"));
        let rest = &doc[start..];
        let open = rest.find("```\n").expect("a block") + 4;
        let close = rest[open..].find("\n```").expect("its end");
        &rest[open..open + close]
    }

    #[test]
    fn the_documented_vectors_hold() {
        let doc = include_str!("../../../docs/card-codes.md");
        let rfc: Vec<String> = (0..10)
            .map(|c| format!("{:06}", hotp(b"12345678901234567890", c)))
            .collect();
        assert_eq!(quoted_after(doc, "HOTP vector:"), rfc.join(" "));
        let mut key = [0u8; CARD_SECRET_LEN];
        for (i, k) in key.iter_mut().enumerate() {
            *k = 0x30 + i as u8;
        }
        assert_eq!(
            quoted_after(doc, "Card vector:"),
            CardSecret(key).codes(10).join(" ")
        );
        for label in [
            "Card body vector",
            "Withdrawal body vector",
            "Confirmation vector",
        ] {
            let text = block_after(doc, label);
            let canonical = |bytes: Vec<u8>| String::from_utf8(bytes).expect("utf-8");
            let again = match label {
                "Confirmation vector" => {
                    let c: crate::domain::Confirmation = serde_json::from_str(text).expect(label);
                    assert_eq!(c.method, crate::domain::ConfirmMethod::CardCode);
                    canonical(crate::canonical::to_canonical(&c).expect("encode"))
                }
                _ => {
                    let body: crate::domain::RecordBody = serde_json::from_str(text).expect(label);
                    body.validate().expect(label);
                    canonical(crate::canonical::to_canonical(&body).expect("encode"))
                }
            };
            assert_eq!(again, text, "{label} is canonical");
        }
    }

    fn card(elder: Id, withdrawn: Option<u64>, secret: Option<u8>) -> CardFacts {
        CardFacts {
            card: Card {
                card_id: Id::random(),
                elder_id: elder,
                serial: 1,
                codes: 20,
                issued_ms: 1_000,
            },
            withdrawn_from_ms: withdrawn,
            secret: secret.map(|s| CardSecret([s; CARD_SECRET_LEN])),
        }
    }

    fn use_of(elder: Id, card: &CardFacts, counter: u32, at: i64) -> CodeUse {
        let code = card
            .secret
            .as_ref()
            .map_or("000000".into(), |s| s.code(counter));
        CodeUse {
            record_id: Id::random(),
            elder_id: elder,
            started_ms: at,
            recorded_ms: at,
            code: CardCode {
                code,
                card_id: None,
            },
        }
    }

    fn verdicts(cards: &[CardFacts], uses: &[CodeUse]) -> Vec<(Id, CodeVerdict)> {
        judge(cards, uses)
            .into_iter()
            .map(|c| (c.record_id, c.verdict))
            .collect()
    }

    #[test]
    fn codes_used_once_in_order_are_valid_and_a_skipped_code_is_no_fault() {
        let elder = Id::random();
        let cards = [card(elder, None, Some(1))];
        let uses = [
            use_of(elder, &cards[0], 1, 100),
            use_of(elder, &cards[0], 2, 200),
            use_of(elder, &cards[0], 5, 300),
        ];
        assert!(
            verdicts(&cards, &uses)
                .iter()
                .all(|(_, v)| *v == CodeVerdict::Valid)
        );
    }

    #[test]
    fn a_code_used_twice_is_reused_and_an_earlier_code_after_a_later_is_out_of_order() {
        let elder = Id::random();
        let cards = [card(elder, None, Some(2))];
        let uses = [
            use_of(elder, &cards[0], 3, 100),
            use_of(elder, &cards[0], 3, 200),
            use_of(elder, &cards[0], 2, 300),
        ];
        let checks = judge(&cards, &uses);
        assert_eq!(checks[0].verdict, CodeVerdict::Valid);
        assert_eq!(checks[1].verdict, CodeVerdict::Reused);
        assert_eq!(checks[1].earlier, Some(uses[0].record_id));
        assert_eq!(checks[2].verdict, CodeVerdict::OutOfOrder);
        assert_eq!(checks[2].counter, Some(2));
        assert_eq!(checks[2].earlier, Some(uses[0].record_id));
    }

    #[test]
    fn another_elders_code_a_withdrawn_card_and_a_card_without_its_secret() {
        let (a, b) = (Id::random(), Id::random());
        let cards = [
            card(a, None, Some(3)),
            card(b, Some(250), Some(4)),
            card(Id::random(), None, None),
        ];
        let foreign = use_of(b, &cards[0], 1, 100);
        let before = use_of(b, &cards[1], 1, 200);
        let after = use_of(b, &cards[1], 2, 300);
        let unheld_elder = cards[2].card.elder_id;
        let unheld = use_of(unheld_elder, &cards[2], 1, 100);
        let ids = [
            foreign.record_id,
            before.record_id,
            after.record_id,
            unheld.record_id,
        ];
        let checks = judge(&cards, &[foreign, before, after, unheld]);
        let by_id = |id: Id| checks.iter().find(|c| c.record_id == id).expect("check");
        let wrong = by_id(ids[0]);
        assert_eq!(wrong.verdict, CodeVerdict::WrongElder);
        assert_eq!(wrong.card_id, Some(cards[0].card.card_id));
        assert_eq!(by_id(ids[1]).verdict, CodeVerdict::Valid);
        assert_eq!(by_id(ids[2]).verdict, CodeVerdict::Withdrawn);
        assert_eq!(by_id(ids[3]).verdict, CodeVerdict::Unchecked);
    }

    #[test]
    fn a_use_recorded_after_the_withdrawal_is_withdrawn_even_when_dated_before() {
        let elder = Id::random();
        let cards = [card(elder, Some(250), Some(5))];
        let mut backdated = use_of(elder, &cards[0], 1, 100);
        backdated.recorded_ms = 260;
        assert_eq!(verdicts(&cards, &[backdated])[0].1, CodeVerdict::Withdrawn);
    }

    #[test]
    fn a_code_on_no_card_is_wrong_elder_and_card_codes_are_six_digits() {
        let elder = Id::random();
        let cards = [card(elder, None, Some(6))];
        let mut typo = use_of(elder, &cards[0], 1, 100);
        typo.code.code = if typo.code.code == "123456" {
            "654321"
        } else {
            "123456"
        }
        .into();
        assert_eq!(verdicts(&cards, &[typo])[0].1, CodeVerdict::WrongElder);
        for bad in ["12345", "1234567", "12a456", "１２３４５６"] {
            let code = CardCode {
                code: bad.into(),
                card_id: None,
            };
            assert!(code.validate().is_err(), "{bad}");
        }
    }
}
