//! The access log's index: one row per access-log record (who, when, which call, why), and one
//! row per elder it lists, so that an elder's log is one indexed lookup.

use rusqlite::{Transaction, params};
use serde::de::DeserializeOwned;

use super::Store;
use super::sql_types::Columns;
use crate::domain::{AccessCall, AccessLog, AccessPurpose};
use crate::error::{Error, Result};
use crate::identity::PublicKey;
use crate::ids::Id;

/// One read of an elder's data, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessEntry {
    /// The access-log record's id.
    pub record_id: Id,
    /// The device that read (the record's signer).
    #[serde(serialize_with = "as_text")]
    pub device_key: PublicKey,
    /// The member the device belongs to, if this store knows the enrolment (none for the centre).
    pub member_id: Option<Id>,
    /// `centre`, or the member's role, if known.
    pub role: Option<String>,
    /// Which call read.
    pub call: AccessCall,
    /// Why.
    pub purpose: AccessPurpose,
    /// When, by the reading device's clock (Unix ms; a record's clock, which may lie past the
    /// year 9999, so not a [`crate::time::UnixMs`]).
    pub at_ms: u64,
    /// How many elders that one call read (this elder among them).
    pub elder_count: u32,
    /// Whether the reading device was trusted then (a record of an unknown or revoked key is
    /// listed too: who read matters most then).
    pub counted: bool,
}

fn as_text<S: serde::Serializer>(key: &PublicKey, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&key.to_string())
}

/// Indexes one access-log record.
pub(crate) fn index(
    tx: &Transaction<'_>,
    record_id: Id,
    author: PublicKey,
    hlc: (i64, u32),
    log: &AccessLog,
    counted: bool,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO access_log (record_id, author, call, purpose, elder_count, hlc_ms,
           hlc_counter, counted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        record_id,
        author,
        log.call.as_str(),
        log.purpose.as_str(),
        log.elders.len(),
        hlc.0,
        hlc.1,
        counted
    ])?;
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO access_log_elders (elder_id, record_id) VALUES (?1, ?2)",
    )?;
    for elder in &log.elders {
        stmt.execute(params![elder, record_id])?;
    }
    Ok(())
}

/// Reads a name stored by its serde form (`elder_month`, `care` …).
pub(crate) fn by_name<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| Error::Corrupt(format!("{what} {text:?} in an index")))
}

impl Store {
    /// Every logged read of `elder_id`'s data this store holds, oldest first.
    pub fn access_log(&self, elder_id: Id) -> Result<Vec<AccessEntry>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT a.record_id, a.author, m.member_id, m.role, a.call, a.purpose, a.hlc_ms,
                    a.elder_count, a.counted
             FROM access_log_elders x JOIN access_log a ON a.record_id = x.record_id
             LEFT JOIN members m ON m.device_key = a.author
             WHERE x.elder_id = ?1 ORDER BY a.hlc_ms, a.hlc_counter, a.record_id",
        )?;
        let rows = stmt
            .query_map([elder_id], |r| {
                Ok((
                    r.column::<Id>(0)?,
                    r.column::<PublicKey>(1)?,
                    r.column::<Option<Id>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.column::<u64>(6)?,
                    r.get::<_, u32>(7)?,
                    r.get::<_, bool>(8)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let centre = self.centre();
        rows.into_iter()
            .map(
                |(record_id, device_key, member_id, role, call, purpose, at_ms, count, counted)| {
                    let role = role.or_else(|| (device_key == centre).then(|| "centre".into()));
                    Ok(AccessEntry {
                        record_id,
                        device_key,
                        member_id,
                        role,
                        call: by_name(&call, "access call")?,
                        purpose: by_name(&purpose, "access purpose")?,
                        at_ms,
                        elder_count: count,
                        counted,
                    })
                },
            )
            .collect()
    }
}
