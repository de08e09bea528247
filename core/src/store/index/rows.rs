//! Writing the index rows of a site, elder, visit or service record from its effective content
//! (an entity recorded twice keeps its earliest record by clock and id).

use rusqlite::{Transaction, params};

use crate::domain::{RecordBody, ValidationError};
use crate::error::{Error, Result};
use crate::ids::Id;
use crate::record::SignedRecord;
use crate::time::{Month, UnixMs};

/// Writes the index rows for one original record given its effective content.
pub(super) fn write_rows(
    tx: &Transaction<'_>,
    record_id: Id,
    original: &SignedRecord,
    effective: &RecordBody,
    voided: bool,
    counted: bool,
) -> Result<()> {
    let author = original.author();
    let hlc_ms = original.hlc().instant_ms();
    match effective {
        RecordBody::Site(s) => {
            tx.prepare_cached("INSERT INTO sites (site_id, record_id, kind, name, parent, author, hlc_ms, voided, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(site_id) DO UPDATE SET record_id = excluded.record_id, kind = excluded.kind,
                   name = excluded.name, parent = excluded.parent, author = excluded.author,
                   hlc_ms = excluded.hlc_ms, voided = excluded.voided, counted = excluded.counted
                 WHERE (excluded.hlc_ms, excluded.record_id) <= (sites.hlc_ms, sites.record_id)")?.execute(params![
                    s.site_id,
                    record_id,
                    json_name(&s.kind)?,
                    s.name,
                    s.parent,
                    author,
                    hlc_ms,
                    voided,
                    counted
                ],
            )?;
        }
        RecordBody::Elder(e) => {
            // An erased elder's fields stay blank, whatever a record made before elder keys says.
            let (name, birth_year) = if crate::store::elder_keys::erased(tx, e.elder_id)? {
                ("", 0)
            } else {
                (e.name.as_str(), e.birth_year)
            };
            tx.prepare_cached("INSERT INTO elders (elder_id, record_id, site_id, name, birth_year, groups, care_level, cadence_days,
                   entitled_hours, responsible, consent, enrolled_ms, author, hlc_ms, voided, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT(elder_id) DO UPDATE SET record_id = excluded.record_id, site_id = excluded.site_id,
                   name = excluded.name, birth_year = excluded.birth_year, groups = excluded.groups,
                   care_level = excluded.care_level, cadence_days = excluded.cadence_days,
                   entitled_hours = excluded.entitled_hours, responsible = excluded.responsible,
                   consent = excluded.consent, enrolled_ms = excluded.enrolled_ms, author = excluded.author,
                   hlc_ms = excluded.hlc_ms, voided = excluded.voided, counted = excluded.counted
                 WHERE (excluded.hlc_ms, excluded.record_id) <= (elders.hlc_ms, elders.record_id)")?.execute(params![
                    e.elder_id,
                    record_id,
                    e.site_id,
                    name,
                    birth_year,
                    serde_json::to_string(&e.groups).map_err(|x| Error::Corrupt(x.to_string()))?,
                    json_name(&e.care_level)?,
                    e.visit_cadence_days,
                    e.monthly_entitled_hours,
                    e.responsible_member,
                    serde_json::to_string(&e.consent.purposes).map_err(|x| Error::Corrupt(x.to_string()))?,
                    hlc_ms,
                    author,
                    hlc_ms,
                    voided,
                    counted
                ],
            )?;
        }
        RecordBody::Visit(v) => {
            tx.prepare_cached("DELETE FROM follow_ups WHERE visit_id = ?1")?
                .execute([record_id])?;
            let erased = crate::store::elder_keys::erased(tx, v.elder_id)?;
            let (risk_flags, follow_ups) = if erased {
                (&[][..], &[][..])
            } else {
                (&v.risk_flags[..], &v.follow_ups[..])
            };
            tx.prepare_cached("INSERT OR REPLACE INTO visits (record_id, elder_id, caregiver_id, check_in_ms, check_out_ms, month,
                   risk_flags, author, hlc_ms, voided, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?.execute(params![
                    record_id,
                    v.elder_id,
                    v.caregiver_id,
                    v.check_in_ms,
                    v.check_out_ms,
                    month_of("check_in_ms", v.check_in_ms)?,
                    serde_json::to_string(risk_flags).map_err(|x| Error::Corrupt(x.to_string()))?,
                    author,
                    hlc_ms,
                    voided,
                    counted
                ],
            )?;
            for (idx, f) in follow_ups.iter().enumerate() {
                tx.prepare_cached("INSERT INTO follow_ups (visit_id, idx, elder_id, action, due_ms) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![record_id, idx, v.elder_id, f.action, f.due_ms],
                )?;
            }
            crate::store::consent::index_purposes(tx, record_id, effective)?;
        }
        RecordBody::Service(s) => {
            tx.prepare_cached("INSERT OR REPLACE INTO services (record_id, elder_id, provider_id, kind, funding, started_ms,
                   duration_minutes, month, confirmed, author, hlc_ms, voided, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")?.execute(params![
                    record_id,
                    s.elder_id,
                    s.provider_id,
                    s.detail.kind(),
                    s.funding.as_str(),
                    s.started_ms,
                    s.duration_minutes,
                    month_of("started_ms", s.started_ms)?,
                    s.confirmation.is_some(),
                    author,
                    hlc_ms,
                    voided,
                    counted
                ],
            )?;
            crate::store::consent::index_purposes(tx, record_id, effective)?;
        }
        RecordBody::Enrolment(_)
        | RecordBody::Revocation(_)
        | RecordBody::FollowUpDone(_)
        | RecordBody::Correction(_)
        | RecordBody::Ledger(_)
        | RecordBody::LedgerRules(_)
        | RecordBody::EpochKey(_)
        | RecordBody::KeyGrant(_)
        | RecordBody::MemberProfile(_)
        | RecordBody::AccessLog(_)
        | RecordBody::Consent(_)
        | RecordBody::Erasure(_)
        | RecordBody::MonthClose(_) => {}
    }
    Ok(())
}

/// The CST month of a record's care time `field` (validated with the record, so inside
/// [`UnixMs`]'s range).
fn month_of(field: &'static str, ms: u64) -> Result<Month> {
    let instant =
        UnixMs::try_from(ms).map_err(|source| ValidationError::Instant { field, source })?;
    Ok(Month::of_instant(instant.get()))
}

/// The serde name of a unit enum value (a site's kind, a care level).
fn json_name<T: serde::Serialize>(value: &T) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(Error::Corrupt("expected a name".into())),
    }
}
