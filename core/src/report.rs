//! The monthly report a district asks for: person-times (人次) by service type, hours by funding
//! source, time-bank hours earned and redeemed, entitlement use per elder, overdue visits. Readable table, CSV (documented in
//! `docs/report-format.md`) and JSON.

mod close;
pub mod district;

use serde::Serialize;

use crate::api::CareStore;
use crate::domain::{AccessCall, AccessPurpose, Funding, ServiceKind};
use crate::error::Result;
use crate::store::{EntitlementStatus, UNDER_SERVED_PERCENT};
use crate::time::{Month, UnixMs, cst_day};

pub use crate::lang::Lang;
pub use close::HeldClose;

/// The name an erased elder's row carries in a report (whose personal data is gone).
pub const ERASED_ELDER: &str = "erased elder";
/// [`ERASED_ELDER`] in Chinese.
pub const ERASED_ELDER_ZH: &str = "已删除的老人";

/// One line of the report: the unit of the CSV and JSON forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// `person_times`, `minutes_by_funding`, `time_bank`, `entitlement` or `overdue_visit`.
    pub section: &'static str,
    /// The item: a service kind, `visit`, a funding source or an elder id.
    pub key: String,
    /// The item's name in English, or the elder's name where names are included.
    pub name: String,
    /// The item's name in Chinese, or the elder's name where names are included.
    pub name_zh: String,
    /// The figure.
    pub value: i64,
    /// The figure's unit: `person_times`, `minutes` or `days`.
    pub unit: &'static str,
    /// For entitlement rows: the monthly quota in minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    /// For entitlement rows: `under_served`, `within_quota` or `over_quota`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

/// The month's figures for one store's view of the circle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthlyReport {
    /// The month, YYYY-MM (CST).
    pub month: String,
    /// Where the report is made before the month is over: how far into it (entitlement
    /// statuses are then judged against the share of each quota due so far).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month_to_date: Option<MonthToDate>,
    /// Every line, in section order.
    pub rows: Vec<ReportRow>,
}

/// How far into its month a report was made: through `day` of `days` (CST calendar days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MonthToDate {
    /// The day of the month the report was made on (1-based, counted whole).
    pub day: i64,
    /// The days in the month.
    pub days: i64,
}

impl MonthToDate {
    /// How far into `month` the instant `now` is, or `None` once the month's last day has
    /// begun (or the month has not started).
    pub fn at(month: Month, now: UnixMs) -> Option<MonthToDate> {
        let first = cst_day(month.start_ms());
        let days = cst_day(month.end_ms()) - first;
        let day = cst_day(now.get()) - first + 1;
        (1..days)
            .contains(&day)
            .then_some(MonthToDate { day, days })
    }

    /// The share of a monthly quota due by this day (whole days, rounded down).
    pub fn due(self, quota_minutes: i64) -> i64 {
        quota_minutes * self.day / self.days
    }
}

fn status_name(status: EntitlementStatus) -> &'static str {
    match status {
        EntitlementStatus::UnderServed => "under_served",
        EntitlementStatus::WithinQuota => "within_quota",
        EntitlementStatus::OverQuota => "over_quota",
    }
}

impl MonthlyReport {
    /// Builds the report for `month`, with overdue visits as of `now`. Elders appear by id
    /// only unless `with_names` (names are personal data: leave them out of what leaves the
    /// village unless the district needs them). The per-elder rows are personal data even
    /// without names (an id, hours used, days overdue), so building the report logs one read of
    /// those elders, purpose `report` (the coordinator's own reads are in the access log too).
    pub fn build(
        store: &mut CareStore,
        month: Month,
        now: UnixMs,
        with_names: bool,
    ) -> Result<MonthlyReport> {
        let mut rows = Vec::new();
        let pt = store.person_times(month)?;
        let item = |section, key: &str, en: &str, zh: &str, value, unit| ReportRow {
            section,
            key: key.to_string(),
            name: en.to_string(),
            name_zh: zh.to_string(),
            value,
            unit,
            quota: None,
            status: None,
        };
        rows.push(item(
            "person_times",
            "visit",
            "home visit",
            "探访",
            pt.visits as i64,
            "person_times",
        ));
        for (kind, n) in &pt.services {
            rows.push(item(
                "person_times",
                kind.as_str(),
                &kind.as_str().replace('_', " "),
                kind.label_zh(),
                *n as i64,
                "person_times",
            ));
        }
        for (funding, minutes) in store.store().minutes_by_funding(month)? {
            let en = funding.as_str().replace('_', " ");
            rows.push(item(
                "minutes_by_funding",
                funding.as_str(),
                &en,
                funding.label_zh(),
                minutes,
                "minutes",
            ));
        }
        // Time-bank minutes that count in the month (which month each counts in: `month_totals`).
        let bank = store.time_bank_month(month)?;
        for (key, en, zh, minutes) in [
            ("earned", "earned", "存入", bank.earned_minutes),
            ("redeemed", "redeemed", "兑换", bank.redeemed_minutes),
            (
                "given",
                "given to relatives",
                "赠与亲属",
                bank.given_minutes,
            ),
        ] {
            rows.push(item("time_bank", key, en, zh, minutes, "minutes"));
        }
        let mut elders = Vec::new();
        let month_to_date = MonthToDate::at(month, now);
        for u in store.store().entitlement_use(month)? {
            elders.push(u.elder_id);
            let quota = i64::from(u.entitled_hours) * 60;
            let status = match month_to_date {
                Some(to_date) => {
                    EntitlementStatus::judge(u.used_minutes, quota, to_date.due(quota))
                }
                None => u.status,
            };
            // An erased elder's services still count: the row says so, and names nobody.
            let (name, name_zh) = if store.is_erased(u.elder_id)? {
                (ERASED_ELDER.to_string(), ERASED_ELDER_ZH.to_string())
            } else if with_names {
                (u.name.clone(), u.name.clone())
            } else {
                (String::new(), String::new())
            };
            rows.push(ReportRow {
                quota: Some(quota),
                status: Some(status_name(status)),
                ..item(
                    "entitlement",
                    &u.elder_id.to_string(),
                    &name,
                    &name_zh,
                    u.used_minutes,
                    "minutes",
                )
            });
        }
        for o in store.store().overdue_visits(now)? {
            elders.push(o.elder_id);
            let name = if with_names {
                o.name.clone()
            } else {
                String::new()
            };
            rows.push(item(
                "overdue_visit",
                &o.elder_id.to_string(),
                &name,
                &name,
                o.days_overdue,
                "days",
            ));
        }
        store.log_access(AccessCall::MonthlyReport, AccessPurpose::Report, elders)?;
        Ok(MonthlyReport {
            month: month.to_string(),
            month_to_date,
            rows,
        })
    }

    /// The person-times of one kind (0 if none).
    pub fn person_times(&self, kind: ServiceKind) -> i64 {
        self.value("person_times", kind.as_str())
    }

    /// The minutes paid by one source.
    pub fn minutes(&self, funding: Funding) -> i64 {
        self.value("minutes_by_funding", funding.as_str())
    }

    fn value(&self, section: &str, key: &str) -> i64 {
        self.rows
            .iter()
            .find(|r| r.section == section && r.key == key)
            .map_or(0, |r| r.value)
    }

    /// The report as CSV (RFC 4180, UTF-8, CRLF line ends, header first).
    pub fn to_csv(&self, lang: Lang) -> String {
        let header = match lang {
            Lang::En => "month,section,key,name,value,unit,quota,status",
            Lang::Zh => "月份,类别,项目,名称,数值,单位,额度,状态",
        };
        let mut out = format!("{header}\r\n");
        for r in &self.rows {
            let name = match lang {
                Lang::En => &r.name,
                Lang::Zh => &r.name_zh,
            };
            let fields = [
                self.month.clone(),
                r.section.to_string(),
                r.key.clone(),
                name.clone(),
                r.value.to_string(),
                r.unit.to_string(),
                r.quota.map(|q| q.to_string()).unwrap_or_default(),
                r.status.unwrap_or_default().to_string(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out += &line.join(",");
            out += "\r\n";
        }
        out
    }

    /// The report as a readable table for a terminal.
    pub fn to_table(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let mut out = String::new();
        let title = |en: &str, cn: &str| format!("\n{}\n", if zh { cn } else { en });
        out += &title(
            &format!("Person-times (人次), {}", self.month),
            &format!("{} 服务人次", self.month),
        );
        let mut total = 0;
        for r in self.rows.iter().filter(|r| r.section == "person_times") {
            out += &format!(
                "  {:<16} {:>7}\n",
                if zh { &r.name_zh } else { &r.name },
                r.value
            );
            total += r.value;
        }
        out += &format!("  {:<16} {:>7}\n", if zh { "合计" } else { "total" }, total);
        out += &title(
            "Service hours by funding source",
            "按资金来源的服务时长（小时）",
        );
        for r in self
            .rows
            .iter()
            .filter(|r| r.section == "minutes_by_funding")
        {
            out += &format!(
                "  {:<16} {:>9.1} h\n",
                if zh { &r.name_zh } else { &r.name },
                r.value as f64 / 60.0
            );
        }
        out += &title("Time bank (volunteer hours)", "时间银行（志愿服务时长）");
        for r in self.rows.iter().filter(|r| r.section == "time_bank") {
            out += &format!(
                "  {:<20} {:>9.1} h\n",
                if zh { &r.name_zh } else { &r.name },
                r.value as f64 / 60.0
            );
        }
        let ent: Vec<_> = self
            .rows
            .iter()
            .filter(|r| r.section == "entitlement")
            .collect();
        let count = |s: &str| ent.iter().filter(|r| r.status == Some(s)).count();
        out += &title(
            "Entitlement use (government-bought hours)",
            "政府购买服务额度使用",
        );
        if let Some(t) = self.month_to_date {
            out += &match lang {
                Lang::En => format!(
                    "  month to date: day {} of {}; each quota is pro-rated to the days gone\n",
                    t.day, t.days
                ),
                Lang::Zh => format!(
                    "  本月截至第 {} 天（共 {} 天），额度按已过天数折算\n",
                    t.day, t.days
                ),
            };
        }
        let (under, within, over) = (
            count("under_served"),
            count("within_quota"),
            count("over_quota"),
        );
        out += &match lang {
            Lang::En => format!(
                "  {} entitled elders: {under} under-served (<{UNDER_SERVED_PERCENT}% of quota), {within} within quota, {over} over quota\n",
                ent.len(),
            ),
            Lang::Zh => format!(
                "  {} 位享受额度的老人：{under} 位未用足（不到额度的 {UNDER_SERVED_PERCENT}%），{within} 位在额度内，{over} 位超额\n",
                ent.len(),
            ),
        };
        for r in ent
            .iter()
            .filter(|r| r.status != Some("within_quota"))
            .take(10)
        {
            let quota = r.quota.unwrap_or(0);
            let label = if r.name.is_empty() { &r.key } else { &r.name };
            let status = match (lang, r.status) {
                (Lang::Zh, Some("under_served")) => "未用足".to_string(),
                (Lang::Zh, Some("over_quota")) => "超额".to_string(),
                (_, status) => status.unwrap_or_default().replace('_', " "),
            };
            out += &format!(
                "  {:<34} {:>6.1} {} {:>4} {}  {status}\n",
                label,
                r.value as f64 / 60.0,
                lang.pick("h of", "小时 / 额度"),
                quota / 60,
                lang.pick("h", "小时"),
            );
        }
        let overdue: Vec<_> = self
            .rows
            .iter()
            .filter(|r| r.section == "overdue_visit")
            .collect();
        out += &title("Visits overdue", "逾期未探访");
        out += &match lang {
            Lang::En => format!("  {} elders overdue for a visit\n", overdue.len()),
            Lang::Zh => format!("  {} 位老人逾期未探访\n", overdue.len()),
        };
        for r in overdue.iter().take(10) {
            let label = if r.name.is_empty() { &r.key } else { &r.name };
            out += &format!(
                "  {:<34} {:>3} {}\n",
                label,
                r.value,
                lang.pick("days overdue", "天")
            );
        }
        out
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_part_way_through_a_month_is_month_to_date_and_pro_rates_the_quota() {
        let month: Month = "2026-11".parse().expect("month");
        let at = |ms: i64| UnixMs::new(ms).expect("instant");
        let fourteenth = at(month.start_ms() + 13 * crate::time::DAY_MS + 3_600_000);
        let to_date = MonthToDate::at(month, fourteenth).expect("part-way");
        assert_eq!((to_date.day, to_date.days), (14, 30));
        assert_eq!(to_date.due(40 * 60), 40 * 60 * 14 / 30);
        // 15 of 40 hours on the 14th: under-served against the whole month, not against the
        // share due so far.
        let (used, quota) = (15 * 60, 40 * 60);
        assert_eq!(
            EntitlementStatus::judge(used, quota, quota),
            EntitlementStatus::UnderServed
        );
        assert_eq!(
            EntitlementStatus::judge(used, quota, to_date.due(quota)),
            EntitlementStatus::WithinQuota
        );
        assert_eq!(MonthToDate::at(month, at(month.end_ms() - 1)), None);
        assert_eq!(MonthToDate::at(month, at(month.end_ms() + 1)), None);
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("助餐"), "助餐");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
