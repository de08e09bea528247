//! The log of refused values: each is kept once, with its reason, and listed on request.

use rusqlite::{Connection, Transaction, params};

use crate::error::Result;

/// A record refused on its way in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The key it was stored under in its document.
    pub key: String,
    /// The document it came in.
    pub doc_id: String,
    /// Why it was refused.
    pub reason: String,
}

/// Logs a refused value (once).
pub(crate) fn log_rejection(
    tx: &Transaction<'_>,
    rejection: &Rejection,
    bytes: &[u8],
) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO rejected (key, doc_id, reason, bytes) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        rejection.key,
        rejection.doc_id,
        rejection.reason,
        bytes
    ])?;
    Ok(())
}

/// Every logged rejection.
pub(crate) fn rejections(conn: &Connection) -> Result<Vec<Rejection>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, doc_id, reason FROM rejected ORDER BY doc_id, key")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Rejection {
                key: r.get(0)?,
                doc_id: r.get(1)?,
                reason: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
