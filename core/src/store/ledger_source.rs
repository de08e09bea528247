//! What the time bank reads from the store: records added since a point, and
//! the facts of the service records that claims name. The ledger itself is computed in memory.

use std::collections::HashMap;

use rusqlite::OptionalExtension;

use super::Store;
use super::chains::forked_sql;
use crate::domain::ServiceFacts;
use crate::error::{Error, Result};
use crate::identity::PublicKey;
use crate::ids::Id;

/// A record added to the store after some point, as the ledger needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedRecord {
    /// Its position in the store's record table (increasing as records are added).
    pub position: i64,
    /// Its id.
    pub id: Id,
    /// Its type name.
    pub type_name: String,
    /// Its signed bytes, for the types asked for.
    pub bytes: Option<Vec<u8>>,
    /// Its author and chain position, when another record of that author holds the same
    /// position (a fork).
    pub fork: Option<(PublicKey, u64)>,
}

impl Store {
    /// Records added after `position`, in the order they were added, with bytes for records of
    /// the types in `with_bytes`. The records were verified when the store admitted them.
    pub fn records_added_since(
        &self,
        position: i64,
        with_bytes: &[&str],
    ) -> Result<Vec<AddedRecord>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT rowid, id, type, CASE WHEN type IN (SELECT value FROM json_each(?2)) THEN bytes END,
               CASE WHEN {} THEN author END, seq
             FROM records WHERE rowid > ?1 ORDER BY rowid",
            forked_sql("records.author", "records.seq", "records.id")
        ))?;
        let types = serde_json::to_string(with_bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
        let rows = stmt.query_map(rusqlite::params![position, types], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (position, id, type_name, bytes, forked_author, seq) = row?;
            let fork = match (forked_author, seq) {
                (Some(author), Some(seq)) => Some((
                    author
                        .parse()
                        .map_err(|_| Error::Corrupt(format!("author key {author:?}")))?,
                    u64::try_from(seq)
                        .map_err(|_| Error::Corrupt(format!("chain position {seq}")))?,
                )),
                _ => None,
            };
            out.push(AddedRecord {
                position,
                id: id
                    .parse()
                    .map_err(|_| Error::Corrupt(format!("record id {id:?}")))?,
                type_name,
                bytes,
                fork,
            });
        }
        Ok(out)
    }

    /// The effective facts of the named service records that the store holds.
    pub fn service_facts(
        &self,
        services: impl IntoIterator<Item = Id>,
    ) -> Result<HashMap<Id, ServiceFacts>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT elder_id, provider_id, duration_minutes, funding, voided, counted, started_ms
             FROM services WHERE record_id = ?1",
        )?;
        let mut out = HashMap::new();
        for service in services {
            let row = stmt
                .query_row([service.to_string()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, bool>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                })
                .optional()?;
            if let Some((elder, provider, duration, funding, voided, counted, started_ms)) = row {
                let parse = |text: &str| {
                    text.parse::<Id>()
                        .map_err(|_| Error::Corrupt(format!("id {text:?} in the service index")))
                };
                out.insert(
                    service,
                    ServiceFacts {
                        elder_id: parse(&elder)?,
                        provider_id: parse(&provider)?,
                        started_ms,
                        duration_minutes: duration,
                        time_bank: funding == crate::domain::Funding::TimeBank.as_str(),
                        voided,
                        counted,
                    },
                );
            }
        }
        Ok(out)
    }
}
