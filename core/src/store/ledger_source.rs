//! What the time bank reads from the store: records added since a point, and
//! the facts of the service records that claims name. The ledger itself is computed in memory.

use std::collections::HashMap;

use rusqlite::OptionalExtension;

use super::Store;
use super::chains::forked_sql;
use super::sql_types::Columns;
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
            let forked_author = r.column::<Option<PublicKey>>(4)?;
            let seq = r.column::<Option<u64>>(5)?;
            Ok(AddedRecord {
                position: r.get(0)?,
                id: r.column(1)?,
                type_name: r.get(2)?,
                bytes: r.get(3)?,
                fork: forked_author.zip(seq),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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
            let facts = stmt
                .query_row([service], |r| {
                    Ok(ServiceFacts {
                        elder_id: r.column(0)?,
                        provider_id: r.column(1)?,
                        duration_minutes: r.get(2)?,
                        time_bank: r.get::<_, String>(3)?
                            == crate::domain::Funding::TimeBank.as_str(),
                        voided: r.get(4)?,
                        counted: r.get(5)?,
                        started_ms: r.get(6)?,
                    })
                })
                .optional()?;
            if let Some(facts) = facts {
                out.insert(service, facts);
            }
        }
        Ok(out)
    }
}
