//! A district's month: every village's verified month close (the current version and the ones
//! it superseded), the villages that have not closed the month, and the totals over the
//! current versions. One assembly for the command line's `district report` and the relay's
//! `/district` page. CSV and JSON: `docs/report-format.md`, "District report".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::csv_field;
use crate::domain::Figure;
use crate::identity::PublicKey;
use crate::ids::Id;
use crate::record::month_close::{VerifiedClose, verify_month_close};

/// The format name of the relay's answer to `POST /v1/district/closes`.
pub const DISTRICT_CLOSES_FORMAT: &str = "carebank/district-closes/v1";
/// The largest answer read.
pub const MAX_DISTRICT_CLOSES_BYTES: usize = 64 * 1024 * 1024;

/// The relay's answer to `POST /v1/district/closes`, as the official reads it: the closes and
/// each circle's trust records, to verify here, trusting the relay for nothing but delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct FetchedCloses {
    /// [`DISTRICT_CLOSES_FORMAT`].
    pub format: String,
    /// The closes.
    pub closes: Vec<FetchedClose>,
    /// Each circle's enrolment and revocation records, hex.
    pub trust: BTreeMap<Id, Vec<String>>,
}

/// One close in the relay's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct FetchedClose {
    /// The circle the relay says it is of.
    pub circle: Id,
    /// The signed record, hex.
    pub record: String,
}

impl FetchedCloses {
    /// Reads the relay's answer (JSON); refuses one too large, not JSON of this shape, or of
    /// another format.
    pub fn decode(bytes: &[u8]) -> Result<FetchedCloses, String> {
        if bytes.len() > MAX_DISTRICT_CLOSES_BYTES {
            return Err(format!("the answer is {} bytes, too large", bytes.len()));
        }
        let fetched: FetchedCloses =
            serde_json::from_slice(bytes).map_err(|e| format!("not a closes answer: {e}"))?;
        if fetched.format != DISTRICT_CLOSES_FORMAT {
            return Err(format!(
                "closes format {:?} is not supported",
                fetched.format
            ));
        }
        Ok(fetched)
    }

    /// Verifies every close under `province_root` and keeps those of `district`; returns them,
    /// and why each other one was refused.
    pub fn verify(
        &self,
        province_root: PublicKey,
        district: PublicKey,
    ) -> (Vec<VerifiedClose>, Vec<String>) {
        let (mut verified, mut refused) = (Vec::new(), Vec::new());
        for (i, entry) in self.closes.iter().enumerate() {
            let trust: Vec<Vec<u8>> = self
                .trust
                .get(&entry.circle)
                .into_iter()
                .flatten()
                .filter_map(|h| hex::decode(h).ok())
                .collect();
            let outcome = hex::decode(&entry.record)
                .map_err(|e| format!("not hex: {e}"))
                .and_then(|bytes| {
                    verify_month_close(&bytes, &trust, province_root).map_err(|e| e.to_string())
                })
                .and_then(|close| {
                    let ours = close.town.district.as_ref().map(|d| d.key) == Some(district);
                    match (close.circle == entry.circle, ours) {
                        (true, true) => Ok(close),
                        (false, _) => Err("filed under another circle than its own".into()),
                        (_, false) => Err("of another district".into()),
                    }
                });
            match outcome {
                Ok(close) => verified.push(close),
                Err(e) => refused.push(format!("close {} (circle {}): {e}", i + 1, entry.circle)),
            }
        }
        (verified, refused)
    }
}

/// A village the district expects a close from: its circle and its town's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Village {
    /// The circle.
    pub circle: Id,
    /// The town centre's name (from its certificate).
    pub name: String,
}

/// One version of a village's close, as the district sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloseVersion {
    /// The record id.
    pub record_id: Id,
    /// 1, 2, …
    pub version: u32,
    /// The version it replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Id>,
    /// The signing key.
    pub signed_by: PublicKey,
    /// When it was signed (Unix ms).
    pub closed_at_ms: u64,
    /// Its figures.
    pub figures: Vec<Figure>,
}

/// A village's closes of the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VillageMonth {
    /// The village.
    #[serde(flatten)]
    pub village: Village,
    /// The current version (the highest; `None` if the month is not closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<CloseVersion>,
    /// Earlier versions, newest first.
    pub superseded: Vec<CloseVersion>,
}

/// A district's month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistrictMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The district's name.
    pub district: String,
    /// Every expected village, closed or not, by name.
    pub villages: Vec<VillageMonth>,
    /// The sums of the current versions' figures, by section and key.
    pub totals: Vec<Figure>,
}

impl DistrictMonth {
    /// Assembles `month` from verified closes (of any month; others are left out) and the
    /// villages expected (every circle with a close is expected too).
    pub fn assemble(
        month: &str,
        district: &str,
        closes: &[VerifiedClose],
        expected: &[Village],
    ) -> DistrictMonth {
        let mut villages: BTreeMap<Id, VillageMonth> = BTreeMap::new();
        let mut add_village = |village: Village| {
            villages
                .entry(village.circle)
                .or_insert_with(|| VillageMonth {
                    village,
                    current: None,
                    superseded: Vec::new(),
                });
        };
        for v in expected {
            add_village(v.clone());
        }
        for c in closes {
            add_village(Village {
                circle: c.circle,
                name: c.town.subject.name.clone(),
            });
        }
        let mut of_month: Vec<&VerifiedClose> =
            closes.iter().filter(|c| c.close.month == month).collect();
        of_month.sort_by_key(|c| std::cmp::Reverse((c.close.version, c.id)));
        for c in of_month {
            let Some(village) = villages.get_mut(&c.circle) else {
                continue;
            };
            let version = CloseVersion {
                record_id: c.id,
                version: c.close.version,
                supersedes: c.close.supersedes,
                signed_by: c.author,
                closed_at_ms: c.closed_at_ms,
                figures: c.close.figures.clone(),
            };
            if village.current.is_none() {
                village.current = Some(version);
            } else {
                village.superseded.push(version);
            }
        }
        let mut villages: Vec<VillageMonth> = villages.into_values().collect();
        villages.sort_by(|a, b| a.village.cmp(&b.village));
        let mut sums: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        for f in villages
            .iter()
            .filter_map(|v| v.current.as_ref())
            .flat_map(|c| &c.figures)
        {
            *sums
                .entry((f.section.clone(), f.key.clone(), f.unit.clone()))
                .or_default() += f.value;
        }
        let totals = sums
            .into_iter()
            .map(|((section, key, unit), value)| Figure {
                section,
                key,
                value,
                unit,
            })
            .collect();
        DistrictMonth {
            month: month.to_string(),
            district: district.to_string(),
            villages,
            totals,
        }
    }

    /// The villages that have not closed the month.
    pub fn not_closed(&self) -> Vec<&Village> {
        self.villages
            .iter()
            .filter(|v| v.current.is_none())
            .map(|v| &v.village)
            .collect()
    }

    /// A figure of a village's current close (0 if absent).
    pub fn value(&self, circle: Id, section: &str, key: &str) -> Option<i64> {
        let village = self.villages.iter().find(|v| v.village.circle == circle)?;
        let current = village.current.as_ref()?;
        Some(figure_value(&current.figures, section, key))
    }

    /// The report as CSV (RFC 4180, UTF-8, CRLF): one line per figure of every version of
    /// every village, one line per village not closed, then the totals.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "month,circle,village,version,status,record_id,section,key,value,unit\r\n",
        );
        let mut line = |fields: [&str; 10]| {
            let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out += &quoted.join(",");
            out += "\r\n";
        };
        for v in &self.villages {
            let circle = v.village.circle.to_string();
            if v.current.is_none() {
                line([
                    &self.month,
                    &circle,
                    &v.village.name,
                    "",
                    "not_closed",
                    "",
                    "",
                    "",
                    "",
                    "",
                ]);
            }
            let versions = v.current.iter().map(|c| (c, "current"));
            let older = v.superseded.iter().map(|c| (c, "superseded"));
            for (c, status) in versions.chain(older) {
                let (version, id) = (c.version.to_string(), c.record_id.to_string());
                for f in &c.figures {
                    let value = f.value.to_string();
                    line([
                        &self.month,
                        &circle,
                        &v.village.name,
                        &version,
                        status,
                        &id,
                        &f.section,
                        &f.key,
                        &value,
                        &f.unit,
                    ]);
                }
            }
        }
        for f in &self.totals {
            let value = f.value.to_string();
            line([
                &self.month,
                "",
                "total",
                "",
                "total",
                "",
                &f.section,
                &f.key,
                &value,
                &f.unit,
            ]);
        }
        out
    }

    /// The report as a readable table for a terminal.
    pub fn to_table(&self) -> String {
        let mut out = format!("District {}, {}\n", self.district, self.month);
        let closed = self.villages.len() - self.not_closed().len();
        out += &format!(
            "  {closed} of {} villages closed the month\n",
            self.villages.len()
        );
        for v in &self.villages {
            match &v.current {
                None => out += &format!("\n{}: NOT CLOSED\n", v.village.name),
                Some(c) => {
                    out += &format!(
                        "\n{}: version {}{}\n",
                        v.village.name,
                        c.version,
                        if v.superseded.is_empty() {
                            String::new()
                        } else {
                            format!(" (corrects {} earlier)", v.superseded.len())
                        }
                    );
                    for f in &c.figures {
                        out += &format!(
                            "  {:<20} {:<16} {:>8} {}\n",
                            f.section, f.key, f.value, f.unit
                        );
                    }
                }
            }
        }
        out += "\nTotals\n";
        for f in &self.totals {
            out += &format!(
                "  {:<20} {:<16} {:>8} {}\n",
                f.section, f.key, f.value, f.unit
            );
        }
        out
    }
}

/// A figure's value in a list of figures (0 if absent).
pub fn figure_value(figures: &[Figure], section: &str, key: &str) -> i64 {
    figures
        .iter()
        .find(|f| f.section == section && f.key == key)
        .map_or(0, |f| f.value)
}
