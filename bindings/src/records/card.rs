//! Printed code cards for elders without a phone (decision 0019): the card and its withdrawal
//! as records, the sheet a coordinator prints, and what the coordinator's phone found of each
//! code an elder showed.

use carebank_core::domain as d;

use crate::convert::{self, mirror_enum};

mirror_enum! {
    /// Why a card is withdrawn.
    WithdrawalReason = d::WithdrawalReason {
        /// Lost or stolen.
        Lost,
        /// Damaged or used up, replaced by a new card.
        Replaced,
        /// The elder left the service.
        ServiceEnded,
    }
}

mirror_enum! {
    /// What the coordinator's phone found of one code an elder showed.
    CodeVerdict = d::CodeVerdict {
        /// The elder's code, on a card in force, used once and in order.
        Valid,
        /// Its place on the card was used by a service that started earlier.
        Reused,
        /// It comes before a code already used by a service that started earlier.
        OutOfOrder,
        /// On none of this elder's cards (another elder's, or none at all).
        WrongElder,
        /// On a card withdrawn before the service was given or recorded.
        Withdrawn,
        /// This phone did not issue the card and cannot check it.
        Unchecked,
    }
}

/// A printed code card (the record: no secret in it).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Card {
    /// The card's id (printed on it).
    pub card_id: String,
    /// The elder it is for.
    pub elder_id: String,
    /// The elder's cards in the order issued: 1 for the first.
    pub serial: u32,
    /// How many codes it carries.
    pub codes: u32,
    /// When it was issued (Unix ms).
    pub issued_ms: i64,
}

impl From<d::Card> for Card {
    fn from(c: d::Card) -> Self {
        Card {
            card_id: c.card_id.to_string(),
            elder_id: c.elder_id.to_string(),
            serial: c.serial,
            codes: c.codes,
            issued_ms: convert::ms(c.issued_ms),
        }
    }
}

/// What is printed on a card.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CardSheet {
    /// The card.
    pub card: Card,
    /// The elder's name (empty once erased).
    pub elder_name: String,
    /// The codes in order, the first at index 0.
    pub codes: Vec<String>,
    /// From when the card is withdrawn, if it is (Unix ms).
    pub withdrawn_from_ms: Option<i64>,
}

impl From<carebank_core::CardSheet> for CardSheet {
    fn from(s: carebank_core::CardSheet) -> Self {
        CardSheet {
            card: s.card.into(),
            elder_name: s.elder_name,
            codes: s.codes,
            withdrawn_from_ms: s.withdrawn_from_ms.map(convert::ms),
        }
    }
}

/// The verdict on one service confirmed by a card code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CodeCheck {
    /// The service record.
    pub service_id: String,
    /// The elder served.
    pub elder_id: String,
    /// When the service started (Unix ms).
    pub started_ms: i64,
    /// The code typed.
    pub code: String,
    /// The verdict.
    pub verdict: CodeVerdict,
    /// The card the code was found on (for `WrongElder`: another elder's, if any).
    pub card_id: Option<String>,
    /// Its place on that card (1 for the first code).
    pub counter: Option<u32>,
    /// For `Reused` and `OutOfOrder`: the earlier service that used it (or a later code).
    pub earlier_service_id: Option<String>,
}

impl From<d::CodeCheck> for CodeCheck {
    fn from(c: d::CodeCheck) -> Self {
        CodeCheck {
            service_id: c.record_id.to_string(),
            elder_id: c.elder_id.to_string(),
            started_ms: c.started_ms,
            code: c.code,
            verdict: c.verdict.into(),
            card_id: c.card_id.map(|i| i.to_string()),
            counter: c.counter,
            earlier_service_id: c.earlier.map(|i| i.to_string()),
        }
    }
}
