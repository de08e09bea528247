//! Which stored records are about one elder: what an export of their data (PIPL Art. 45) reads.

use super::Store;
use super::sql_types::Columns;
use crate::error::Result;
use crate::ids::Id;

/// The ids of every record held about one elder, by kind, oldest first; counted or not, voided
/// or not (a copy of what is held includes what does not count).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElderRecordIds {
    /// The elder's enrolment record(s).
    pub profile: Vec<Id>,
    /// Their visits.
    pub visits: Vec<Id>,
    /// Their services.
    pub services: Vec<Id>,
    /// Follow-ups of their visits marked done.
    pub follow_ups_done: Vec<Id>,
    /// Corrections of any of the records above.
    pub corrections: Vec<Id>,
    /// Consent withdrawn or given again.
    pub consent: Vec<Id>,
}

impl Store {
    /// Every record held about `elder_id` (none if the store does not know the elder).
    pub fn elder_record_ids(&self, elder_id: Id) -> Result<ElderRecordIds> {
        let ids = |sql: &str| -> Result<Vec<Id>> {
            let mut stmt = self.conn().prepare_cached(sql)?;
            let rows = stmt.query_map([elder_id], |r| r.column(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let about = "SELECT record_id FROM elders WHERE elder_id = ?1
                     UNION SELECT record_id FROM visits WHERE elder_id = ?1
                     UNION SELECT record_id FROM services WHERE elder_id = ?1";
        Ok(ElderRecordIds {
            profile: ids("SELECT record_id FROM elders WHERE elder_id = ?1")?,
            visits: ids(
                "SELECT record_id FROM visits WHERE elder_id = ?1 ORDER BY check_in_ms, record_id",
            )?,
            services: ids(
                "SELECT record_id FROM services WHERE elder_id = ?1 ORDER BY started_ms, record_id",
            )?,
            follow_ups_done: ids(
                "SELECT d.record_id FROM follow_ups_done d JOIN visits v ON v.record_id = d.visit_id
                 WHERE v.elder_id = ?1 ORDER BY d.hlc_ms, d.record_id",
            )?,
            corrections: ids(&format!(
                "SELECT record_id FROM corrections WHERE target IN ({about})
                 ORDER BY hlc_ms, hlc_counter, record_id"
            ))?,
            consent: self.consent_record_ids(elder_id)?,
        })
    }
}
