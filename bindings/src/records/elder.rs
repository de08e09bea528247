//! Elders enrolled for care, with their entitlement, care level and consent.

use carebank_core::domain as d;

use crate::convert::{self, mirror_enum};
use crate::error::{CareError, Result};

mirror_enum! {
    /// The seven groups of elders for whom the government buys home services (政府购买服务).
    EntitlementGroup = d::EntitlementGroup {
        /// 低保: minimum-living-allowance households.
        LowIncome,
        /// 特困供养: extreme-poverty support.
        ExtremePoverty,
        /// 失独: lost their only child.
        LostOnlyChild,
        /// 重点优抚对象: key entitled groups.
        KeyEntitled,
        /// 失能: disabled or dependent.
        Disabled,
        /// 高龄: very old.
        VeryOld,
        /// 其他困难: other hardship.
        OtherHardship,
    }
}

mirror_enum! {
    /// Care level from the capability assessment (老年人能力评估).
    CareLevel = d::CareLevel {
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
}

mirror_enum! {
    /// Why an elder's personal data is erased (the grounds of PIPL Art. 47).
    ErasureReason = d::ErasureReason {
        /// The purpose is achieved or no longer needed.
        PurposeEnded,
        /// The service stopped (the elder moved away, or died).
        ServiceEnded,
        /// The elder or guardian withdrew consent.
        ConsentWithdrawn,
        /// The elder or guardian asked for deletion.
        ElderRequest,
        /// The agreed retention period ran out.
        RetentionExpired,
    }
}

mirror_enum! {
    /// Who gave consent on the elder's behalf.
    ConsentRelation = d::ConsentRelation {
        /// The elder themself.
        Elder,
        /// A legal guardian.
        Guardian,
        /// A family member.
        Family,
    }
}

mirror_enum! {
    /// What the elder's data may be used for (separate consent per purpose).
    ConsentPurpose = d::ConsentPurpose {
        /// Recording services and visits (needed to enrol the elder at all).
        CareRecords,
        /// Recording health observations during visits and baths.
        HealthObservations,
        /// Recording where a visit took place.
        Location,
        /// Counting the elder in reports to the district.
        DistrictReporting,
    }
}

/// The consent on file for an elder: who, when, for what.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Consent {
    /// The person who consented.
    pub given_by: String,
    /// Their relation to the elder.
    pub relation: ConsentRelation,
    /// When (Unix ms).
    pub given_at_ms: i64,
    /// For what.
    pub purposes: Vec<ConsentPurpose>,
}

/// An elder enrolled for care at a site (only the personal fields the work needs).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Elder {
    /// The elder's id (make one with `new_id`).
    pub elder_id: String,
    /// The site that serves the elder.
    pub site_id: String,
    /// The name the caregivers use.
    pub name: String,
    /// Year of birth.
    pub birth_year: u32,
    /// The entitlement groups the elder belongs to, if any.
    pub groups: Vec<EntitlementGroup>,
    /// The assessed care level.
    pub care_level: CareLevel,
    /// How often the elder must be visited, in days.
    pub visit_cadence_days: u32,
    /// Hours of government-bought services per month; 0 if not entitled.
    pub monthly_entitled_hours: u32,
    /// The member responsible for the elder (包保制), if named.
    #[uniffi(default)]
    pub responsible_member: Option<String>,
    /// The consent on file.
    pub consent: Consent,
}

impl TryFrom<Elder> for d::Elder {
    type Error = CareError;
    fn try_from(e: Elder) -> Result<Self> {
        Ok(d::Elder {
            elder_id: convert::id("elder_id", &e.elder_id)?,
            site_id: convert::id("site_id", &e.site_id)?,
            name: e.name,
            birth_year: e.birth_year,
            groups: convert::all(e.groups),
            care_level: e.care_level.into(),
            visit_cadence_days: e.visit_cadence_days,
            monthly_entitled_hours: e.monthly_entitled_hours,
            responsible_member: convert::opt_id(
                "responsible_member",
                e.responsible_member.as_deref(),
            )?,
            consent: d::Consent {
                given_by: e.consent.given_by,
                relation: e.consent.relation.into(),
                given_at_ms: convert::instant("consent.given_at_ms", e.consent.given_at_ms)?,
                purposes: convert::all(e.consent.purposes),
            },
        })
    }
}

impl From<d::Elder> for Elder {
    fn from(e: d::Elder) -> Self {
        Elder {
            elder_id: e.elder_id.to_string(),
            site_id: e.site_id.to_string(),
            name: e.name,
            birth_year: e.birth_year,
            groups: convert::all(e.groups),
            care_level: e.care_level.into(),
            visit_cadence_days: e.visit_cadence_days,
            monthly_entitled_hours: e.monthly_entitled_hours,
            responsible_member: e.responsible_member.map(|m| m.to_string()),
            consent: Consent {
                given_by: e.consent.given_by,
                relation: e.consent.relation.into(),
                given_at_ms: convert::ms(e.consent.given_at_ms),
                purposes: convert::all(e.consent.purposes),
            },
        }
    }
}
