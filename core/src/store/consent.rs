//! Consent per purpose in the index: the consent changes each elder has, the purposes each
//! visit and service used, and the records that used a purpose the elder had withdrawn (or
//! never given) when the data was collected. Such a record was made in good faith on a phone
//! that had not heard of the withdrawal: it is kept and counted, and listed here for the
//! coordinator to settle (void it, or leave it), never dropped at merge.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rusqlite::{Transaction, params};

use super::Store;
use super::access_log::by_name;
use super::sql_types::Columns;
use crate::domain::{
    ConsentAction, ConsentChange, ConsentEvent, ConsentPurpose, ConsentState, RecordBody,
    consent_at, purposes_used,
};
use crate::error::{Error, Result};
use crate::identity::PublicKey;
use crate::ids::Id;

/// A counted visit or service that used a purpose the elder had not consented to then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentConflict {
    /// The record (a visit or service).
    pub record_id: Id,
    /// `visit` or `service`.
    pub record_type: String,
    /// The elder.
    pub elder_id: Id,
    /// The purpose used.
    pub purpose: ConsentPurpose,
    /// The field that used it.
    pub field: String,
    /// When the data was collected (Unix ms).
    pub at_ms: u64,
    /// The device that signed it.
    pub author: PublicKey,
    /// Withdrawn (and from when), or never given.
    pub state: ConsentState,
}

/// Indexes one consent change.
pub(crate) fn index_change(
    tx: &Transaction<'_>,
    record_id: Id,
    author: PublicKey,
    hlc: (i64, u32),
    change: &ConsentChange,
    counted: bool,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO consent_changes (record_id, elder_id, purpose, given, at_ms, author,
           hlc_ms, hlc_counter, counted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        record_id,
        change.elder_id,
        change.purpose.as_str(),
        change.action == ConsentAction::Give,
        change.at_ms,
        author,
        hlc.0,
        hlc.1,
        counted
    ])?;
    Ok(())
}

/// Indexes the purposes a visit's or service's effective content uses (replacing what an
/// earlier content of the record used).
pub(crate) fn index_purposes(tx: &Transaction<'_>, record_id: Id, body: &RecordBody) -> Result<()> {
    tx.prepare_cached("DELETE FROM record_purposes WHERE record_id = ?1")?
        .execute([record_id])?;
    let Some(used) = purposes_used(body) else {
        return Ok(());
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO record_purposes (record_id, purpose, elder_id, at_ms, field)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (purpose, field) in used.purposes {
        stmt.execute(params![
            record_id,
            purpose.as_str(),
            used.elder_id,
            used.at_ms,
            field
        ])?;
    }
    Ok(())
}

impl Store {
    /// The consent changes that apply to `elder_id`: counted records by the centre or a
    /// coordinator (a change signed by anyone else is kept but changes nothing).
    pub fn consent_events(&self, elder_id: Id) -> Result<Vec<ConsentEvent>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT c.purpose, c.given, c.at_ms, c.hlc_ms, c.hlc_counter, c.record_id
             FROM consent_changes c
             WHERE c.elder_id = ?1 AND c.counted = 1 AND EXISTS (
               SELECT 1 FROM trusted_keys t WHERE t.device_key = c.author
                 AND t.role IN ('centre', 'coordinator'))",
        )?;
        let rows = stmt
            .query_map([elder_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.column::<u64>(2)?,
                    r.column::<u64>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(purpose, given, at_ms, hlc, counter, id)| {
                Ok(ConsentEvent {
                    purpose: by_name(&purpose, "consent purpose")?,
                    given,
                    at_ms,
                    order: (hlc, counter, id),
                })
            })
            .collect()
    }

    /// Whether `purpose` was in force for `elder_id` at `at_ms`, given the purposes the elder
    /// consented to at enrolment (`base`) and the consent changes held.
    pub fn consent_state(
        &self,
        elder_id: Id,
        base: &[ConsentPurpose],
        purpose: ConsentPurpose,
        at_ms: u64,
    ) -> Result<ConsentState> {
        Ok(consent_at(
            base,
            &self.consent_events(elder_id)?,
            purpose,
            at_ms,
        ))
    }

    /// The ids of every consent record about `elder_id`, counted or not, oldest first.
    pub fn consent_record_ids(&self, elder_id: Id) -> Result<Vec<Id>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT record_id FROM consent_changes WHERE elder_id = ?1 ORDER BY hlc_ms, record_id",
        )?;
        let ids = stmt.query_map([elder_id], |r| r.column(0))?;
        Ok(ids.collect::<std::result::Result<_, _>>()?)
    }

    /// Counted, unvoided visits and services that used a purpose the elder had withdrawn or
    /// never given when the data was collected, oldest first: made offline before the
    /// withdrawal reached the phone, kept, and listed for the coordinator.
    pub fn consent_conflicts(&self) -> Result<Vec<ConsentConflict>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT p.record_id, r.type, p.elder_id, p.purpose, p.field, p.at_ms, r.author, e.consent
             FROM record_purposes p
             JOIN records r ON r.id = p.record_id
             JOIN elders e ON e.elder_id = p.elder_id
             LEFT JOIN visits v ON v.record_id = p.record_id
             LEFT JOIN services s ON s.record_id = p.record_id
             WHERE coalesce(v.counted, s.counted, 0) = 1 AND coalesce(v.voided, s.voided, 1) = 0
               AND (EXISTS (SELECT 1 FROM consent_changes c
                            WHERE c.elder_id = p.elder_id AND c.purpose = p.purpose)
                    OR NOT EXISTS (SELECT 1 FROM json_each(e.consent) j WHERE j.value = p.purpose))
             ORDER BY p.at_ms, p.record_id, p.purpose",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.column::<Id>(0)?,
                    r.get::<_, String>(1)?,
                    r.column::<Id>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.column::<u64>(5)?,
                    r.column::<PublicKey>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut events: HashMap<Id, Vec<ConsentEvent>> = HashMap::new();
        let mut out = Vec::new();
        for (record_id, record_type, elder_id, purpose, field, at_ms, author, base) in rows {
            let changes = match events.entry(elder_id) {
                Entry::Occupied(held) => held.into_mut(),
                Entry::Vacant(slot) => slot.insert(self.consent_events(elder_id)?),
            };
            let base: Vec<ConsentPurpose> =
                serde_json::from_str(&base).map_err(|e| Error::Corrupt(e.to_string()))?;
            let purpose: ConsentPurpose = by_name(&purpose, "consent purpose")?;
            let state = consent_at(&base, changes, purpose, at_ms);
            if state != ConsentState::Given {
                out.push(ConsentConflict {
                    record_id,
                    record_type,
                    elder_id,
                    purpose,
                    field,
                    at_ms,
                    author,
                    state,
                });
            }
        }
        Ok(out)
    }
}
