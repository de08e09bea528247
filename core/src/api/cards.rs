//! Printed code cards (decision 0019): a coordinator issues an elder a card of one-time codes,
//! prints it again, withdraws it; caregivers type the code the elder shows into the service's
//! confirmation; the issuing device checks the codes as the records arrive.

use super::{CareStore, deny};
use crate::domain::{
    AccessCall, AccessPurpose, CARD_SECRET_LEN, Card, CardFacts, CardSecret, CardWithdrawal,
    CodeCheck, RecordBody, ValidationError, WithdrawalReason, judge,
};
use crate::error::{Error, Kind, Result};
use crate::identity::wrap;
use crate::ids::Id;
use crate::time::Month;

/// How many secrets are drawn at most for a card whose codes all differ (a card of 200 codes
/// repeats one with probability about 2%, so the bound is never reached but by a broken
/// random source).
const DRAWS_MAX: usize = 64;

/// What is printed on a card: the card record's facts, the elder's name and the codes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSheet {
    /// The card record.
    pub card: Card,
    /// The elder's name (empty once the elder is erased).
    pub elder_name: String,
    /// The codes, the first (counter 1) at index 0.
    pub codes: Vec<String>,
    /// From when the card is withdrawn, if it is.
    pub withdrawn_from_ms: Option<u64>,
}

impl CareStore {
    /// Issues a card of `codes` one-time codes for an elder (the centre or a coordinator): draws
    /// its secret, keeps it on this device only, writes the card record and returns the sheet to
    /// print. The elder's earlier cards stay in force until withdrawn.
    pub fn issue_card(&mut self, elder_id: Id, codes: u32) -> Result<CardSheet> {
        let serial = self
            .store
            .cards()?
            .iter()
            .filter(|c| c.card.elder_id == elder_id)
            .count() as u32
            + 1;
        let card = Card {
            card_id: Id::random(),
            elder_id,
            serial,
            codes,
            issued_ms: self.store.now()?.get() as u64,
        };
        let body = RecordBody::Card(card.clone());
        body.validate()?;
        self.check_card(&body)?;
        let secret = distinct_codes_secret(codes)?;
        // The secret first: a record whose secret was lost could never be checked (and a secret
        // whose record failed to write is never used).
        self.store
            .keep_card_secret(card.card_id, elder_id, &secret)?;
        self.write(body)?;
        self.card_sheet(card.card_id)
    }

    /// The sheet of a card this device issued, to print it again; logs the read of the elder's
    /// name (call `card_sheet`, purpose care).
    pub fn card_sheet(&mut self, card_id: Id) -> Result<CardSheet> {
        let facts = self.card(card_id)?;
        let secret = facts.secret.ok_or_else(|| {
            Error::NotAuthorised(format!(
                "card {card_id} was issued on another device, which alone holds its codes"
            ))
        })?;
        let elder_id = facts.card.elder_id;
        let elder_name = self.store.elder_name(elder_id)?.unwrap_or_default();
        self.log_access(AccessCall::CardSheet, AccessPurpose::Care, vec![elder_id])?;
        Ok(CardSheet {
            codes: secret.codes(facts.card.codes),
            card: facts.card,
            elder_name,
            withdrawn_from_ms: facts.withdrawn_from_ms,
        })
    }

    /// Withdraws a card from `from_ms` on (now if `None`): codes used on services given or
    /// recorded from then are flagged `withdrawn`.
    pub fn withdraw_card(
        &mut self,
        card_id: Id,
        from_ms: Option<u64>,
        reason: WithdrawalReason,
    ) -> Result<Id> {
        let card = self.card(card_id)?.card;
        let from_ms = match from_ms {
            Some(ms) => ms,
            None => self.store.now()?.get() as u64,
        };
        self.write(RecordBody::CardWithdrawal(CardWithdrawal {
            card_id,
            elder_id: card.elder_id,
            from_ms,
            reason,
        }))
    }

    /// Every card that counts (issued by the centre or a coordinator), with its withdrawal, and
    /// whether this device holds its secret.
    pub fn cards(&self) -> Result<Vec<CardFacts>> {
        self.store.cards()
    }

    /// The verdict on every service of `month` confirmed by a card code, in the order the
    /// services started (see [`judge`] and decision 0019). Only the device that issued a card
    /// holds its secret: elsewhere its codes are `unchecked`.
    pub fn card_confirmations(&self, month: Month) -> Result<Vec<CodeCheck>> {
        let checks = judge(&self.store.cards()?, &self.store.code_uses(month)?);
        Ok(checks
            .into_iter()
            .filter(|c| Month::of_instant(c.started_ms) == month)
            .collect())
    }

    /// A card that counts.
    pub(super) fn card(&self, card_id: Id) -> Result<CardFacts> {
        self.store
            .cards()?
            .into_iter()
            .find(|c| c.card.card_id == card_id)
            .ok_or_else(|| Error::not_found(Kind::Card, card_id))
    }

    /// A card (or withdrawal) is the centre's or a coordinator's, for an elder that exists (and
    /// a withdrawal for a card of that elder).
    pub(super) fn check_card(&self, body: &RecordBody) -> Result<()> {
        if !self.actor()?.coordinates() {
            return deny("only the centre or a coordinator issues and withdraws code cards");
        }
        if let RecordBody::Card(card) = body {
            self.elder(card.elder_id)?;
            if self.store.is_erased(card.elder_id)? {
                return Err(Error::ElderErased(card.elder_id));
            }
        }
        if let RecordBody::CardWithdrawal(w) = body
            && self.card(w.card_id)?.card.elder_id != w.elder_id
        {
            return Err(Error::Invalid(ValidationError::Inconsistent(
                "the card withdrawn is another elder's",
            )));
        }
        Ok(())
    }
}

/// A fresh card secret under which the first `codes` codes all differ, so that each code has
/// one place on the card.
fn distinct_codes_secret(codes: u32) -> Result<CardSecret> {
    for _ in 0..DRAWS_MAX {
        let random = wrap::random_secret()?;
        let mut key = [0u8; CARD_SECRET_LEN];
        key.copy_from_slice(&random[..CARD_SECRET_LEN]);
        let secret = CardSecret(key);
        let mut all = secret.codes(codes);
        all.sort();
        all.dedup();
        if all.len() == codes as usize {
            return Ok(secret);
        }
    }
    Err(Error::Corrupt(
        "the random source keeps giving card secrets with repeated codes".into(),
    ))
}
