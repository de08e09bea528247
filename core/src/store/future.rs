//! Records dated in the future: by their author's clock (`hlc`), or by the time they say the
//! care happened (a visit's check-in, a service's start). A phone whose clock is wrong, or a
//! member who types the wrong year, makes them; they are kept and shown to the coordinator, and
//! a visit in the future never counts as an elder's last visit
//! ([`Store::overdue_visits`](super::Store::overdue_visits)). "Future" is relative to the
//! asking device's clock, so it is computed when asked, never stored.

use super::Store;
use crate::error::{Error, Result};
use crate::hlc::MAX_AHEAD_MS;
use crate::identity::PublicKey;
use crate::ids::Id;

/// A record dated more than [`MAX_AHEAD_MS`] after the asking device's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureRecord {
    /// The record.
    pub record_id: Id,
    /// Its record type (`visit`, `service`, …).
    pub record_type: String,
    /// The device that signed it.
    pub author: PublicKey,
    /// The latest of its author's clock and its care time (Unix ms).
    pub dated_ms: i64,
}

/// The latest instant that still counts as "now" for a device whose clock reads `now_ms`.
pub(super) fn latest_now(now_ms: i64) -> i64 {
    now_ms.saturating_add(i64::try_from(MAX_AHEAD_MS).unwrap_or(i64::MAX))
}

impl Store {
    /// Every record dated more than [`MAX_AHEAD_MS`] after `now_ms`, latest first.
    pub fn future_dated(&self, now_ms: i64) -> Result<Vec<FutureRecord>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT r.id, r.type, r.author,
                    max(r.hlc_ms, coalesce(v.check_in_ms, s.started_ms, r.hlc_ms)) AS dated
             FROM records r
             LEFT JOIN visits v ON v.record_id = r.id
             LEFT JOIN services s ON s.record_id = r.id
             WHERE dated > ?1
             ORDER BY dated DESC, r.id",
        )?;
        let rows = stmt.query_map([latest_now(now_ms)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, record_type, author, dated_ms) = row?;
            out.push(FutureRecord {
                record_id: id
                    .parse()
                    .map_err(|_| Error::Corrupt(format!("record id {id:?}")))?,
                record_type,
                author: author
                    .parse()
                    .map_err(|_| Error::Corrupt(format!("author key {author:?}")))?,
                dated_ms,
            });
        }
        Ok(out)
    }
}
