//! Records dated in the future: by their author's clock (`hlc`), or by the time they say the
//! care happened (a visit's check-in, a service's start). A phone whose clock is wrong, or a
//! member who types the wrong year, makes them; they are kept and shown to the coordinator, and
//! a visit in the future never counts as an elder's last visit
//! ([`Store::overdue_visits`](super::Store::overdue_visits)). "Future" is relative to the
//! asking device's clock, so it is computed when asked, never stored.

use super::Store;
use super::sql_types::Columns;
use crate::error::Result;
use crate::hlc::latest_now;
use crate::identity::PublicKey;
use crate::ids::Id;
use crate::time::UnixMs;

/// A record dated more than [`MAX_AHEAD_MS`](crate::hlc::MAX_AHEAD_MS) after the asking device's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureRecord {
    /// The record.
    pub record_id: Id,
    /// Its record type (`visit`, `service`, …).
    pub record_type: String,
    /// The device that signed it.
    pub author: PublicKey,
    /// The latest of its author's clock and its care time (Unix ms; a record's clock may lie
    /// past the year 9999, so not a [`UnixMs`]).
    pub dated_ms: i64,
}

impl Store {
    /// Every record dated more than [`MAX_AHEAD_MS`](crate::hlc::MAX_AHEAD_MS) after `now`, latest first.
    pub fn future_dated(&self, now: UnixMs) -> Result<Vec<FutureRecord>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT r.id, r.type, r.author,
                    max(r.hlc_ms, coalesce(v.check_in_ms, s.started_ms, r.hlc_ms)) AS dated
             FROM records r
             LEFT JOIN visits v ON v.record_id = r.id
             LEFT JOIN services s ON s.record_id = r.id
             WHERE dated > ?1
             ORDER BY dated DESC, r.id",
        )?;
        let rows = stmt.query_map([latest_now(now)], |r| {
            Ok(FutureRecord {
                record_id: r.column(0)?,
                record_type: r.get(1)?,
                author: r.column(2)?,
                dated_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
