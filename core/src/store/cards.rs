//! Printed code cards (decision 0019): the secrets this device issued cards under (kept here
//! only, never in a record, a keyring entry or a bundle), the card records and withdrawals that
//! count, and the services confirmed by a card code.

use rusqlite::params;

use super::Store;
use super::erasure::coordinating_author;
use super::index;
use super::sql_types::Columns;
use crate::domain::{
    CARD_SECRET_LEN, CardCode, CardFacts, CardSecret, CodeUse, ConfirmedBy, RecordBody,
};
use crate::error::{Error, Result};
use crate::ids::Id;
use crate::time::Month;

/// How the services of a month were confirmed, apart from those confirmed by a card code (which
/// the code check sorts): counts of person-times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfirmationCounts {
    /// Confirmed by a family member (named in the record).
    pub family: u64,
    /// Confirmed by the coordinator.
    pub coordinator: u64,
    /// The record says the elder or a caregiver confirmed (in person, a ticked paper card, a
    /// phone call): nothing a device can check.
    pub unchecked_word: u64,
    /// No confirmation.
    pub unconfirmed: u64,
}

impl Store {
    /// Keeps the secret of a card this device issues (before the card record is written: a
    /// secret without a record is harmless, a record without its secret could never be checked).
    pub fn keep_card_secret(&self, card_id: Id, elder_id: Id, secret: &CardSecret) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO card_secrets (card_id, elder_id, secret) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![card_id, elder_id, &secret.0[..]])?;
        Ok(())
    }

    /// The secret of a card, if this device issued it.
    pub fn card_secret(&self, card_id: Id) -> Result<Option<CardSecret>> {
        let bytes: Option<Vec<u8>> = self
            .conn()
            .prepare_cached("SELECT secret FROM card_secrets WHERE card_id = ?1")?
            .query_map([card_id], |r| r.get(0))?
            .next()
            .transpose()?;
        bytes
            .map(|b| {
                <[u8; CARD_SECRET_LEN]>::try_from(b.as_slice())
                    .map(CardSecret)
                    .map_err(|_| Error::Corrupt(format!("card {card_id}: secret length")))
            })
            .transpose()
    }

    /// The bodies of the counted records of `type_name` signed by the centre or a coordinator,
    /// oldest first.
    fn coordinator_records(&self, type_name: &str) -> Result<Vec<RecordBody>> {
        let rows: Vec<(Id, crate::identity::PublicKey)> = self
            .conn()
            .prepare_cached("SELECT id, author FROM records WHERE type = ?1 ORDER BY hlc_ms, id")?
            .query_map([type_name], |r| Ok((r.column(0)?, r.column(1)?)))?
            .collect::<std::result::Result<_, _>>()?;
        let mut bodies = Vec::with_capacity(rows.len());
        for (id, author) in rows {
            if index::counts(self.conn(), id)?
                && coordinating_author(self.conn(), author, self.centre())?
            {
                bodies.push(self.get(id)?.body().clone());
            }
        }
        Ok(bodies)
    }

    /// Every card that counts (issued by the centre or a coordinator), with its earliest
    /// withdrawal that counts, and its secret where this device issued it.
    pub fn cards(&self) -> Result<Vec<CardFacts>> {
        let withdrawals: Vec<_> = self
            .coordinator_records("card_withdrawal")?
            .into_iter()
            .filter_map(|b| match b {
                RecordBody::CardWithdrawal(w) => Some(w),
                _ => None,
            })
            .collect();
        let mut cards = Vec::new();
        for body in self.coordinator_records("card")? {
            let RecordBody::Card(card) = body else {
                continue;
            };
            let withdrawn_from_ms = withdrawals
                .iter()
                .filter(|w| w.card_id == card.card_id && w.elder_id == card.elder_id)
                .map(|w| w.from_ms)
                .min();
            cards.push(CardFacts {
                secret: self.card_secret(card.card_id)?,
                card,
                withdrawn_from_ms,
            });
        }
        Ok(cards)
    }

    /// Every counted, unvoided service confirmed by a card code, up to the end of `through`
    /// (all of them: whether a code was used before can lie in any earlier month).
    pub fn code_uses(&self, through: Month) -> Result<Vec<CodeUse>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT record_id, elder_id, started_ms, hlc_ms, card_code, card_id FROM services
                 WHERE card_code IS NOT NULL AND counted = 1 AND voided = 0 AND month <= ?1
                 ORDER BY started_ms, record_id",
            )?
            .query_map([through], |r| {
                Ok(CodeUse {
                    record_id: r.column(0)?,
                    elder_id: r.column(1)?,
                    started_ms: r.get(2)?,
                    recorded_ms: r.get(3)?,
                    code: CardCode {
                        code: r.get(4)?,
                        card_id: r.column(5)?,
                    },
                })
            })?
            .collect::<std::result::Result<_, _>>()?)
    }

    /// How the month's counted, unvoided services were confirmed, leaving out those confirmed
    /// by a card code.
    pub fn confirmation_counts(&self, month: Month) -> Result<ConfirmationCounts> {
        let rows: Vec<(Option<String>, u64)> = self
            .conn()
            .prepare_cached(
                "SELECT confirmed_by, count(*) FROM services
                 WHERE month = ?1 AND counted = 1 AND voided = 0 AND card_code IS NULL
                 GROUP BY confirmed_by",
            )?
            .query_map([month], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<_, _>>()?;
        let mut counts = ConfirmationCounts::default();
        for (by, n) in rows {
            let slot = match by.as_deref() {
                None => &mut counts.unconfirmed,
                Some(name) if name == confirmed_by_name(ConfirmedBy::Family) => &mut counts.family,
                Some(name) if name == confirmed_by_name(ConfirmedBy::Coordinator) => {
                    &mut counts.coordinator
                }
                Some(_) => &mut counts.unchecked_word,
            };
            *slot += n;
        }
        Ok(counts)
    }
}

/// The name of who confirmed, as the services index keeps it.
pub(crate) fn confirmed_by_name(by: ConfirmedBy) -> &'static str {
    match by {
        ConfirmedBy::Elder => "elder",
        ConfirmedBy::Family => "family",
        ConfirmedBy::Caregiver => "caregiver",
        ConfirmedBy::Coordinator => "coordinator",
    }
}
