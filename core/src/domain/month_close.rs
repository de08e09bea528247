//! A month closed by the coordinator: the month's aggregate figures, signed, for the district
//! (decision 0017). It travels in the clear (class 0) so that the relay and the district can
//! read it, and so it holds aggregates only: no names, no ids of elders (a figure's key is at
//! most 24 characters from `a-z 0-9 _`, which no id fits). It carries the town's authority
//! chain, so it verifies with the province root alone (`docs/report-format.md`, "Month close").

use serde::{Deserialize, Serialize};

use super::validation::{ValidationError, distinct, in_range};
use crate::canonical::MAX_SAFE_INTEGER;
use crate::identity::authority::{AuthorityChain, AuthorityLevel};
use crate::ids::Id;
use crate::time::Month;

/// The sections a figure may belong to, with the one unit each is counted in.
pub const FIGURE_SECTIONS: [(&str, &str); 5] = [
    ("person_times", "person_times"),
    ("minutes_by_funding", "minutes"),
    ("time_bank", "minutes"),
    ("entitlement", "elders"),
    ("overdue_visit", "elders"),
];
/// The longest figure key, in characters (shorter than any id).
pub const FIGURE_KEY_MAX: usize = 24;
/// The most figures a close holds.
pub const FIGURES_MAX: usize = 100;

/// One aggregate figure of a month.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Figure {
    /// One of [`FIGURE_SECTIONS`].
    pub section: String,
    /// The item: a service kind or `visit`, a funding source, `earned`/`redeemed`/`given`, an
    /// entitlement status, or `elders` (overdue visits).
    pub key: String,
    /// The figure: person-times, minutes or a count of elders; 0 … 2^53 − 1.
    pub value: i64,
    /// The section's unit.
    pub unit: String,
}

/// A month's closing figures (or a correction of them: a later version superseding one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthClose {
    /// The month closed, `YYYY-MM` (CST).
    pub month: String,
    /// 1 for the first close of the month, one more for each correction.
    pub version: u32,
    /// The record id of the version this one replaces (absent for version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Id>,
    /// The figures, sorted by section and key, each (section, key) once.
    pub figures: Vec<Figure>,
    /// The chain from the province down to the town: the circle's centre key as a town.
    pub town: AuthorityChain,
}

impl MonthClose {
    /// Checks the close's own fields (the chain's signatures are checked by its verifier).
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.month
            .parse::<Month>()
            .map_err(|_| ValidationError::Inconsistent("month must be YYYY-MM"))?;
        in_range("version", i64::from(self.version), 1, i64::from(u32::MAX))?;
        if (self.version == 1) != self.supersedes.is_none() {
            return Err(ValidationError::Inconsistent(
                "version 1 supersedes nothing; every later version supersedes one",
            ));
        }
        in_range("figures", self.figures.len() as i64, 0, FIGURES_MAX as i64)?;
        for f in &self.figures {
            let unit = FIGURE_SECTIONS
                .iter()
                .find(|(section, _)| *section == f.section)
                .map(|(_, unit)| *unit)
                .ok_or(ValidationError::Inconsistent("unknown figure section"))?;
            if f.unit != unit {
                return Err(ValidationError::Inconsistent(
                    "a figure's unit is its section's",
                ));
            }
            let key_ok = !f.key.is_empty()
                && f.key.len() <= FIGURE_KEY_MAX
                && f.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                return Err(ValidationError::Inconsistent(
                    "a figure's key is 1-24 characters from a-z 0-9 _",
                ));
            }
            in_range("figure value", f.value, 0, MAX_SAFE_INTEGER as i64)?;
        }
        let keys: Vec<(&str, &str)> = self
            .figures
            .iter()
            .map(|f| (f.section.as_str(), f.key.as_str()))
            .collect();
        distinct("figures", &keys)?;
        if !self.figures.is_sorted() {
            return Err(ValidationError::Inconsistent(
                "figures are sorted by section and key",
            ));
        }
        let leaf = self.town.leaf().map(|c| c.statement.level);
        if leaf != Some(AuthorityLevel::Town) {
            return Err(ValidationError::Inconsistent(
                "a month close carries a town's chain",
            ));
        }
        Ok(())
    }
}
