//! Instants and calendar arithmetic. [`UnixMs`] is the one type of an instant at the core's
//! boundaries (its API, its wall clock, its SQL columns), with the range the core accepts;
//! months and days are China Standard Time (UTC+8, no daylight saving), where every village
//! that uses carebank lives, so months and days in reports are CST months and days.

use std::fmt;
use std::str::FromStr;

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;
/// China Standard Time's offset from UTC in milliseconds.
pub const CST_OFFSET_MS: i64 = 8 * 3_600_000;

/// An instant in Unix milliseconds, from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z
/// (the years a [`Month`] can name; the last eight hours of 9999 UTC fall in CST's 10000-01). Made only through [`UnixMs::new`] or `TryFrom`, so an
/// instant outside that range is refused where it enters the core, never clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMs(i64);

/// An instant outside [`UnixMs::MIN`]`..=`[`UnixMs::MAX`], with the Unix ms given.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum InstantOutOfRange {
    /// Before 1970-01-01T00:00:00Z.
    #[error("{0} is before 1970 (instants are Unix ms 0..=253402300799999)")]
    Before1970(i64),
    /// After 9999-12-31T23:59:59.999Z.
    #[error("{0} is after the year 9999 (instants are Unix ms 0..=253402300799999)")]
    After9999(u64),
}

impl UnixMs {
    /// The earliest instant: 1970-01-01T00:00:00Z.
    pub const MIN: UnixMs = UnixMs(0);
    /// The latest instant: 9999-12-31T23:59:59.999Z.
    pub const MAX: UnixMs = UnixMs(253_402_300_799_999);

    /// The instant `ms` milliseconds after the Unix epoch, if it lies in the range.
    pub const fn new(ms: i64) -> Result<UnixMs, InstantOutOfRange> {
        if ms < Self::MIN.0 {
            Err(InstantOutOfRange::Before1970(ms))
        } else if ms > Self::MAX.0 {
            Err(InstantOutOfRange::After9999(ms.unsigned_abs()))
        } else {
            Ok(UnixMs(ms))
        }
    }

    /// Milliseconds since the Unix epoch, for calendar arithmetic and SQL columns.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Milliseconds since the Unix epoch, as records and the hybrid logical clock count them.
    pub const fn as_u64(self) -> u64 {
        self.0.unsigned_abs()
    }

    /// `ms` milliseconds later (Unix ms): past [`UnixMs::MAX`] not an instant at all but a
    /// bound to compare record times with (such as the latest time that still counts as "now").
    pub const fn plus(self, ms: u64) -> i64 {
        self.0.saturating_add_unsigned(ms)
    }
}

impl TryFrom<i64> for UnixMs {
    type Error = InstantOutOfRange;
    fn try_from(ms: i64) -> Result<Self, Self::Error> {
        UnixMs::new(ms)
    }
}

impl TryFrom<u64> for UnixMs {
    type Error = InstantOutOfRange;
    fn try_from(ms: u64) -> Result<Self, Self::Error> {
        i64::try_from(ms)
            .ok()
            .and_then(|ms| UnixMs::new(ms).ok())
            .ok_or(InstantOutOfRange::After9999(ms))
    }
}

impl From<UnixMs> for i64 {
    fn from(t: UnixMs) -> i64 {
        t.get()
    }
}

impl From<UnixMs> for u64 {
    fn from(t: UnixMs) -> u64 {
        t.as_u64()
    }
}

impl fmt::Display for UnixMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A calendar month, such as 2026-11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// The year, 1970..=9999.
    pub year: i32,
    /// The month, 1..=12.
    pub month: u32,
}

/// Why a month could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a month (expected YYYY-MM, e.g. 2026-11): {0:?}")]
pub struct MonthParseError(pub String);

impl Month {
    /// The CST month that contains the instant `ms` (Unix milliseconds).
    pub fn of_instant(ms: i64) -> Month {
        let (year, month, _) = civil_from_days(cst_day(ms));
        Month { year, month }
    }

    /// The first instant (Unix ms) of this month in CST.
    pub fn start_ms(self) -> i64 {
        days_from_civil(self.year, self.month, 1) * DAY_MS - CST_OFFSET_MS
    }

    /// The first instant (Unix ms) of the following month in CST.
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = MonthParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MonthParseError(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let year: i32 = y.parse().map_err(|_| err())?;
        let month: u32 = m.parse().map_err(|_| err())?;
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(err());
        }
        Ok(Month { year, month })
    }
}

/// The CST day number (days since 1970-01-01 CST) that contains the instant `ms`.
pub fn cst_day(ms: i64) -> i64 {
    ms.saturating_add(CST_OFFSET_MS).div_euclid(DAY_MS)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-1000, 0, 59, 60, 365, 11_016, 20_779, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2026, 11, 22), 20_779);
    }

    #[test]
    fn months_follow_china_standard_time() {
        let nov: Month = "2026-11".parse().expect("month");
        // 2026-10-31T16:00:00Z is midnight on 1 November in CST.
        assert_eq!(nov.start_ms(), 1_793_462_400_000);
        assert_eq!(Month::of_instant(nov.start_ms()), nov);
        assert_eq!(Month::of_instant(nov.start_ms() - 1).to_string(), "2026-10");
        assert_eq!(Month::of_instant(nov.end_ms() - 1), nov);
        assert_eq!(
            "2026-12"
                .parse::<Month>()
                .expect("month")
                .next()
                .to_string(),
            "2027-01"
        );
    }

    #[test]
    fn extreme_instants_do_not_overflow() {
        assert!(cst_day(i64::MAX) > 0);
        assert!(cst_day(i64::MIN) < 0);
    }

    #[test]
    fn instants_between_1970_and_9999_are_accepted_and_others_refused() {
        assert_eq!(UnixMs::try_from(0_i64), Ok(UnixMs::MIN));
        assert_eq!(UnixMs::try_from(253_402_300_799_999_u64), Ok(UnixMs::MAX));
        let (before, after) = (InstantOutOfRange::Before1970, InstantOutOfRange::After9999);
        assert_eq!(UnixMs::try_from(-1_i64), Err(before(-1)));
        assert_eq!(UnixMs::try_from(u64::MAX), Err(after(u64::MAX)));
        let past_9999 = UnixMs::MAX.as_u64() + 1;
        assert_eq!(UnixMs::try_from(past_9999), Err(after(past_9999)));
        assert_eq!(UnixMs::new(i64::MAX), Err(after(i64::MAX.unsigned_abs())));
        assert_eq!(UnixMs::new(i64::MIN), Err(before(i64::MIN)));
        assert_eq!(
            before(-1).to_string(),
            "-1 is before 1970 (instants are Unix ms 0..=253402300799999)"
        );
        let t = UnixMs::try_from(1_793_462_400_000_u64).expect("instant");
        assert_eq!(
            (i64::from(t), u64::from(t)),
            (1_793_462_400_000, 1_793_462_400_000)
        );
        assert_eq!(UnixMs::MAX.plus(u64::MAX), i64::MAX);
    }

    #[test]
    fn bad_months_are_refused() {
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026/11",
            "",
            "2026-00",
            "２０２６-11",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }
}
