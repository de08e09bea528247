//! Elders receiving care: only the personal fields the work needs (PIPL: minimum data).

use serde::{Deserialize, Serialize};

use super::validation::{NAME_MAX, ValidationError, distinct, in_range, instant, required_text};
use crate::ids::Id;

/// The seven groups of elders for whom the government buys home services (政府购买服务).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementGroup {
    /// 低保: minimum-living-allowance households.
    LowIncome,
    /// 特困供养: extreme-poverty support.
    ExtremePoverty,
    /// 失独: lost their only child.
    LostOnlyChild,
    /// 重点优抚对象: key entitled groups (veterans' families and the like).
    KeyEntitled,
    /// 失能: disabled or dependent.
    Disabled,
    /// 高龄: very old.
    VeryOld,
    /// 其他困难: other hardship.
    OtherHardship,
}

/// Care level from the capability assessment (老年人能力评估, GB/T 42195).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CareLevel {
    /// 能力完好: fully able.
    Able,
    /// 轻度失能: mildly impaired.
    Mild,
    /// 中度失能: moderately impaired.
    Moderate,
    /// 重度失能: severely impaired.
    Severe,
    /// 完全失能: totally dependent.
    Total,
}

/// Who gave consent on the elder's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentRelation {
    /// The elder themself.
    Elder,
    /// A legal guardian.
    Guardian,
    /// A family member.
    Family,
}

/// What the data may be used for (PIPL asks for separate consent per purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    /// Recording services and visits (needed to serve the elder at all).
    CareRecords,
    /// Recording health observations during visits.
    HealthObservations,
    /// Recording where a visit took place.
    Location,
    /// Counting the elder in reports to the district.
    DistrictReporting,
}

/// The consent on file for an elder: who, when, for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The person who consented.
    #[serde(default)]
    pub given_by: String,
    /// Their relation to the elder.
    pub relation: ConsentRelation,
    /// When (Unix ms).
    pub given_at_ms: u64,
    /// For what.
    pub purposes: Vec<ConsentPurpose>,
}

/// An elder enrolled for care at a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Elder {
    /// The elder's random id.
    pub elder_id: Id,
    /// The site that serves the elder.
    pub site_id: Id,
    /// The name the caregivers use.
    #[serde(default)]
    pub name: String,
    /// Year of birth (for 高龄 and redemption age), not the full date.
    #[serde(default)]
    pub birth_year: u32,
    /// The entitlement groups the elder belongs to, if any.
    pub groups: Vec<EntitlementGroup>,
    /// The assessed care level.
    pub care_level: CareLevel,
    /// How often the elder must be visited, in days (7 for left-behind elders living alone).
    pub visit_cadence_days: u32,
    /// Hours of government-bought services per month (Weihai: 30–60); 0 if not entitled.
    pub monthly_entitled_hours: u32,
    /// The member responsible for the elder (包保制), if named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_member: Option<Id>,
    /// The consent on file.
    pub consent: Consent,
}

impl Elder {
    /// Checks the elder's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        required_text("name", &self.name, NAME_MAX)?;
        in_range("birth_year", i64::from(self.birth_year), 1880, 2100)?;
        in_range(
            "visit_cadence_days",
            i64::from(self.visit_cadence_days),
            1,
            365,
        )?;
        in_range(
            "monthly_entitled_hours",
            i64::from(self.monthly_entitled_hours),
            0,
            300,
        )?;
        distinct("groups", &self.groups)?;
        if self.monthly_entitled_hours > 0 && self.groups.is_empty() {
            return Err(ValidationError::Inconsistent(
                "entitled hours need at least one entitlement group",
            ));
        }
        required_text("consent.given_by", &self.consent.given_by, NAME_MAX)?;
        instant("consent.given_at_ms", self.consent.given_at_ms)?;
        distinct("consent.purposes", &self.consent.purposes)?;
        if !self.consent.purposes.contains(&ConsentPurpose::CareRecords) {
            return Err(ValidationError::Inconsistent(
                "consent must cover care records before an elder is enrolled",
            ));
        }
        Ok(())
    }
}
