//! Parsing what people type: times in China Standard Time, ids, lists.

use anyhow::{Context, Result, bail};
use carebank_core::domain::parse_id;
use carebank_core::ids::Id;
use carebank_core::time::{CST_OFFSET_MS, DAY_MS, days_from_civil};

/// Reads `now`, `YYYY-MM-DD` (08:00) or `YYYY-MM-DDTHH:MM`, in China Standard Time, as Unix ms.
pub fn parse_time(text: &str) -> Result<u64> {
    if text == "now" {
        return Ok(crate::clock::now_ms());
    }
    parse_civil_time(text)
}

/// Writes an instant as `YYYY-MM-DD` in China Standard Time.
pub fn cst_date(ms: i64) -> String {
    let (y, m, d) = carebank_core::time::civil_from_days(carebank_core::time::cst_day(ms));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reads `YYYY-MM-DD` (08:00) or `YYYY-MM-DDTHH:MM`, in China Standard Time, as Unix ms.
pub fn parse_civil_time(text: &str) -> Result<u64> {
    let bad = || {
        format!(
            "not a time: {text:?} (expected now, YYYY-MM-DD or YYYY-MM-DDTHH:MM, China Standard Time)"
        )
    };
    let (date, clock) = text.split_once('T').unwrap_or((text, "08:00"));
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        bail!(bad())
    };
    let (h, min) = clock.split_once(':').with_context(bad)?;
    let num = |s: &str, lo: u32, hi: u32| -> Result<u32> {
        let n: u32 = s
            .parse()
            .ok()
            .filter(|n| (lo..=hi).contains(n))
            .with_context(bad)?;
        Ok(n)
    };
    let (y, m, d, h, min) = (
        num(y, 1970, 9999)?,
        num(m, 1, 12)?,
        num(d, 1, 31)?,
        num(h, 0, 23)?,
        num(min, 0, 59)?,
    );
    let days = days_from_civil(y as i32, m, d);
    if carebank_core::time::civil_from_days(days) != (y as i32, m, d) {
        bail!(bad());
    }
    let ms = days * DAY_MS + i64::from(h) * 3_600_000 + i64::from(min) * 60_000 - CST_OFFSET_MS;
    u64::try_from(ms).with_context(bad)
}

/// Reads an id, naming the option in the error.
pub fn id(option: &'static str, text: &str) -> Result<Id> {
    Ok(parse_id(option, text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_china_standard_time() {
        assert_eq!(
            parse_time("2026-11-02T08:00").expect("time"),
            1_793_577_600_000
        );
        assert_eq!(parse_time("2026-11-02").expect("time"), 1_793_577_600_000);
        for bad in [
            "2026-02-30",
            "2026-11-02T25:00",
            "yesterday",
            "2026/11/02",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
