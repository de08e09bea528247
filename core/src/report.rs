//! The monthly report a district asks for: person-times (人次) by service type, hours by funding
//! source, time-bank hours earned and redeemed, entitlement use per elder, overdue visits. Readable table, CSV (documented in
//! `docs/report-format.md`) and JSON.

use serde::Serialize;

use crate::api::CareStore;
use crate::domain::{AccessCall, AccessPurpose, Funding, ServiceKind};
use crate::error::Result;
use crate::store::EntitlementStatus;
use crate::time::Month;

/// Column headers and labels in English or Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English headers, English item names.
    En,
    /// Chinese headers and item names (for the district's forms).
    Zh,
}

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
    /// Every line, in section order.
    pub rows: Vec<ReportRow>,
}

fn status_name(status: EntitlementStatus) -> &'static str {
    match status {
        EntitlementStatus::UnderServed => "under_served",
        EntitlementStatus::WithinQuota => "within_quota",
        EntitlementStatus::OverQuota => "over_quota",
    }
}

impl MonthlyReport {
    /// Builds the report for `month`, with overdue visits as of `now_ms`. Elders appear by id
    /// only unless `with_names` (names are personal data: leave them out of what leaves the
    /// village unless the district needs them). The per-elder rows are personal data even
    /// without names (an id, hours used, days overdue), so building the report logs one read of
    /// those elders, purpose `report` (the coordinator's own reads are in the access log too).
    pub fn build(
        store: &mut CareStore,
        month: Month,
        now_ms: i64,
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
        for u in store.store().entitlement_use(month)? {
            elders.push(u.elder_id);
            let name = if with_names {
                u.name.clone()
            } else {
                String::new()
            };
            rows.push(ReportRow {
                quota: Some(i64::from(u.entitled_hours) * 60),
                status: Some(status_name(u.status)),
                ..item(
                    "entitlement",
                    &u.elder_id.to_string(),
                    &name,
                    &name,
                    u.used_minutes,
                    "minutes",
                )
            });
        }
        for o in store.store().overdue_visits(now_ms)? {
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
        out += &format!(
            "  {} entitled elders: {} under-served (<80% of quota), {} within quota, {} over quota\n",
            ent.len(),
            count("under_served"),
            count("within_quota"),
            count("over_quota")
        );
        for r in ent
            .iter()
            .filter(|r| r.status != Some("within_quota"))
            .take(10)
        {
            let quota = r.quota.unwrap_or(0);
            let label = if r.name.is_empty() { &r.key } else { &r.name };
            out += &format!(
                "  {:<34} {:>6.1} h of {:>4} h  {}\n",
                label,
                r.value as f64 / 60.0,
                quota / 60,
                r.status.unwrap_or_default().replace('_', " ")
            );
        }
        let overdue: Vec<_> = self
            .rows
            .iter()
            .filter(|r| r.section == "overdue_visit")
            .collect();
        out += &title("Visits overdue", "逾期未探访");
        out += &format!("  {} elders overdue for a visit\n", overdue.len());
        for r in overdue.iter().take(10) {
            let label = if r.name.is_empty() { &r.key } else { &r.name };
            out += &format!("  {:<34} {:>3} days overdue\n", label, r.value);
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
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("助餐"), "助餐");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
