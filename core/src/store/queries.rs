//! The questions a coordinator and a caregiver ask every day, answered from the indexes.
//! Only counted (trusted), unvoided rows take part.

use rusqlite::params;

use super::Store;
use super::sql_types::Columns;
use crate::domain::{Funding, ServiceKind};
use crate::error::Result;
use crate::hlc::latest_now;
use crate::ids::Id;
use crate::time::{Month, UnixMs, cst_day};

/// An elder whose next visit is overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueElder {
    /// The elder.
    pub elder_id: Id,
    /// Their name.
    pub name: String,
    /// The last counted visit's check-in, if any.
    pub last_visit_ms: Option<UnixMs>,
    /// How often they should be visited.
    pub cadence_days: u32,
    /// Whole days past the due day (CST calendar days).
    pub days_overdue: i64,
    /// The member responsible (包保), if named.
    pub responsible_member: Option<Id>,
}

/// A follow-up promised during a visit and not yet done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFollowUp {
    /// The visit's record id.
    pub visit_id: Id,
    /// Which follow-up of the visit (0-based).
    pub index: u32,
    /// The elder.
    pub elder_id: Id,
    /// The elder's name (empty if the enrolment is not held here).
    pub elder_name: String,
    /// What was promised.
    pub action: String,
    /// By when, if agreed.
    pub due_ms: Option<UnixMs>,
    /// When the visit began.
    pub visit_ms: UnixMs,
}

/// One visit in an elder's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitLine {
    /// The visit's record id.
    pub record_id: Id,
    /// Who visited.
    pub caregiver_id: Id,
    /// Check-in.
    pub check_in_ms: UnixMs,
    /// Check-out.
    pub check_out_ms: UnixMs,
}

/// One service in an elder's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLine {
    /// The service's record id.
    pub record_id: Id,
    /// What kind.
    pub kind: ServiceKind,
    /// Who gave it.
    pub provider_id: Id,
    /// When it started.
    pub started_ms: UnixMs,
    /// How long (minutes).
    pub duration_minutes: i64,
    /// Who pays: `government`, `time_bank` or `self_paid`.
    pub funding: String,
    /// Whether the recipient side confirmed it.
    pub confirmed: bool,
}

/// An elder's visits and services in one month.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElderMonth {
    /// Visits, by check-in.
    pub visits: Vec<VisitLine>,
    /// Services, by start.
    pub services: Vec<ServiceLine>,
}

/// Below this share of the quota an entitled elder is flagged under-served.
pub const UNDER_SERVED_PERCENT: i64 = 80;

/// How an entitled elder's month compares with their quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntitlementStatus {
    /// Used less than [`UNDER_SERVED_PERCENT`] of the quota.
    UnderServed,
    /// Within the quota.
    WithinQuota,
    /// Used more than the quota.
    OverQuota,
}

impl EntitlementStatus {
    /// Judges `used_minutes` against a monthly `quota_minutes`, of which `due_minutes` were due
    /// by now (the whole quota once the month is over; a pro-rated share part-way through it):
    /// over the quota is over whenever it happens, under-served is measured against what was due.
    pub fn judge(used_minutes: i64, quota_minutes: i64, due_minutes: i64) -> EntitlementStatus {
        if used_minutes > quota_minutes {
            EntitlementStatus::OverQuota
        } else if used_minutes * 100 < due_minutes * UNDER_SERVED_PERCENT {
            EntitlementStatus::UnderServed
        } else {
            EntitlementStatus::WithinQuota
        }
    }
}

/// Government-bought hours used by one entitled elder in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementUse {
    /// The elder.
    pub elder_id: Id,
    /// Their name.
    pub name: String,
    /// The monthly quota in hours.
    pub entitled_hours: u32,
    /// Minutes of government-funded services given.
    pub used_minutes: i64,
    /// Under, within or over.
    pub status: EntitlementStatus,
}

/// Person-times (人次) in one month: one per visit or service given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonTimes {
    /// Home visits (探访).
    pub visits: u64,
    /// Services, one line per kind in report order (zeros included).
    pub services: Vec<(ServiceKind, u64)>,
}

impl PersonTimes {
    /// Visits plus all services.
    pub fn total(&self) -> u64 {
        self.visits + self.services.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// The count for one service kind.
    pub fn of(&self, kind: ServiceKind) -> u64 {
        self.services
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

impl Store {
    /// Elders whose next visit was due before today (CST), most overdue first. A visit dated
    /// after now (beyond the clock bound: a wrong clock or a mistyped date) is not a visit made,
    /// so it never hides an overdue elder ([`Store::future_dated`] lists it). An elder never
    /// visited is due `cadence` days after enrolment. An erased elder is no longer visited.
    pub fn overdue_visits(&self, now: UnixMs) -> Result<Vec<OverdueElder>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT e.elder_id, e.name, e.cadence_days, e.enrolled_ms, e.responsible,
               (SELECT max(v.check_in_ms) FROM visits v
                 WHERE v.elder_id = e.elder_id AND v.counted = 1 AND v.voided = 0
                   AND v.check_in_ms <= ?1)
             FROM elders e WHERE e.counted = 1 AND e.voided = 0
               AND NOT EXISTS (SELECT 1 FROM erased_elders x WHERE x.elder = e.elder_id)",
        )?;
        let rows = stmt.query_map([latest_now(now)], |r| {
            Ok((
                r.column::<Id>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.column::<UnixMs>(3)?,
                r.column::<Option<Id>>(4)?,
                r.column::<Option<UnixMs>>(5)?,
            ))
        })?;
        let today = cst_day(now.get());
        let mut out = Vec::new();
        for row in rows {
            let (elder_id, name, cadence, enrolled, responsible_member, last) = row?;
            let due_day = cst_day(last.unwrap_or(enrolled).get()) + i64::from(cadence);
            if today > due_day {
                out.push(OverdueElder {
                    elder_id,
                    name,
                    last_visit_ms: last,
                    cadence_days: cadence,
                    days_overdue: today - due_day,
                    responsible_member,
                });
            }
        }
        out.sort_by(|a, b| {
            b.days_overdue
                .cmp(&a.days_overdue)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Follow-ups from counted visits that no counted record marks done, earliest due first.
    pub fn open_follow_ups(&self) -> Result<Vec<OpenFollowUp>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT f.visit_id, f.idx, f.elder_id, f.action, f.due_ms, v.check_in_ms, coalesce(e.name, '')
             FROM follow_ups f JOIN visits v ON v.record_id = f.visit_id AND v.counted = 1 AND v.voided = 0
             LEFT JOIN elders e ON e.elder_id = f.elder_id
             WHERE NOT EXISTS (SELECT 1 FROM follow_ups_done d
                               WHERE d.visit_id = f.visit_id AND d.idx = f.idx AND d.counted = 1)
             ORDER BY coalesce(f.due_ms, v.check_in_ms), f.visit_id, f.idx",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(OpenFollowUp {
                visit_id: r.column(0)?,
                index: r.get(1)?,
                elder_id: r.column(2)?,
                action: r.get(3)?,
                due_ms: r.column(4)?,
                visit_ms: r.column(5)?,
                elder_name: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An elder's counted visits and services in a CST month.
    pub fn elder_month(&self, elder_id: Id, month: Month) -> Result<ElderMonth> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT record_id, caregiver_id, check_in_ms, check_out_ms FROM visits
             WHERE elder_id = ?1 AND month = ?2 AND counted = 1 AND voided = 0 ORDER BY check_in_ms, record_id",
        )?;
        let visits = stmt
            .query_map(params![elder_id, month], |r| {
                Ok(VisitLine {
                    record_id: r.column(0)?,
                    caregiver_id: r.column(1)?,
                    check_in_ms: r.column(2)?,
                    check_out_ms: r.column(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT record_id, kind, provider_id, started_ms, duration_minutes, funding, confirmed FROM services
             WHERE elder_id = ?1 AND month = ?2 AND counted = 1 AND voided = 0 ORDER BY started_ms, record_id",
        )?;
        let services = stmt
            .query_map(params![elder_id, month], |r| {
                Ok(ServiceLine {
                    record_id: r.column(0)?,
                    kind: r.column(1)?,
                    provider_id: r.column(2)?,
                    started_ms: r.column(3)?,
                    duration_minutes: r.get(4)?,
                    funding: r.get(5)?,
                    confirmed: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ElderMonth { visits, services })
    }

    /// Government-funded hours used in a month by every entitled elder, by name.
    pub fn entitlement_use(&self, month: Month) -> Result<Vec<EntitlementUse>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT e.elder_id, e.name, e.entitled_hours,
               (SELECT coalesce(sum(s.duration_minutes), 0) FROM services s
                 WHERE s.elder_id = e.elder_id AND s.month = ?1 AND s.funding = 'government'
                   AND s.counted = 1 AND s.voided = 0)
             FROM elders e WHERE e.counted = 1 AND e.voided = 0 AND e.entitled_hours > 0
             ORDER BY e.name, e.elder_id",
        )?;
        let rows = stmt.query_map([month], |r| {
            let entitled_hours: u32 = r.get(2)?;
            let used_minutes = r.get(3)?;
            let quota = i64::from(entitled_hours) * 60;
            Ok(EntitlementUse {
                elder_id: r.column(0)?,
                name: r.get(1)?,
                entitled_hours,
                used_minutes,
                status: EntitlementStatus::judge(used_minutes, quota, quota),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Person-times (人次) by service type in a CST month: what the district asks for.
    pub fn person_times(&self, month: Month) -> Result<PersonTimes> {
        let visits: u64 = self.conn().query_row(
            "SELECT count(*) FROM visits WHERE month = ?1 AND counted = 1 AND voided = 0",
            [month],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT kind, count(*) FROM services WHERE month = ?1 AND counted = 1 AND voided = 0 GROUP BY kind",
        )?;
        let counts = stmt
            .query_map([month], |r| {
                Ok((r.column::<ServiceKind>(0)?, r.get::<_, u64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let services = ServiceKind::ALL
            .into_iter()
            .map(|k| {
                let n = counts
                    .iter()
                    .find(|(kind, _)| *kind == k)
                    .map_or(0, |(_, n)| *n);
                (k, n)
            })
            .collect();
        Ok(PersonTimes { visits, services })
    }

    /// Minutes of counted services in a CST month by who paid: government, time bank, self-paid.
    pub fn minutes_by_funding(&self, month: Month) -> Result<Vec<(Funding, i64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT funding, coalesce(sum(duration_minutes), 0) FROM services
             WHERE month = ?1 AND counted = 1 AND voided = 0 GROUP BY funding",
        )?;
        let sums = stmt
            .query_map([month], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Funding::ALL
            .into_iter()
            .map(|f| {
                (
                    f,
                    sums.iter()
                        .find(|(name, _)| name == f.as_str())
                        .map_or(0, |(_, m)| *m),
                )
            })
            .collect())
    }
}
