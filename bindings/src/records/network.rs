//! The circle and its service network: sites (中心带站), member enrolments and revocations.

use carebank_core::domain as d;

use crate::convert::{self, mirror_enum};
use crate::error::{CareError, Result};

/// Which circle a store belongs to: its id and the town centre's public key (the root of
/// trust). A new member gets both from the coordinator, e.g. from a QR code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CareCircle {
    /// The circle's id (32 hex characters).
    pub circle_id: String,
    /// The town centre's device public key (64 hex characters).
    pub centre_key: String,
}

impl TryFrom<CareCircle> for carebank_core::Circle {
    type Error = CareError;
    fn try_from(c: CareCircle) -> Result<Self> {
        Ok(carebank_core::Circle {
            circle_id: convert::id("circle_id", &c.circle_id)?,
            centre_key: convert::key("centre_key", &c.centre_key)?,
        })
    }
}

impl From<carebank_core::Circle> for CareCircle {
    fn from(c: carebank_core::Circle) -> Self {
        CareCircle {
            circle_id: c.circle_id.to_string(),
            centre_key: c.centre_key.to_string(),
        }
    }
}

mirror_enum! {
    /// What kind of place a site is.
    SiteKind = d::SiteKind {
        /// 镇街养老服务中心: the town or street elder-care service centre.
        Centre,
        /// 社区养老服务站: an urban community service station.
        Station,
        /// 村级互助养老点: a village mutual-aid point.
        VillagePoint,
    }
}

/// A centre, station or village point.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Site {
    /// The site's id (make one with `new_id`).
    pub site_id: String,
    /// Centre, station or village point.
    pub kind: SiteKind,
    /// The name people use, e.g. 石桥村互助养老点.
    pub name: String,
    /// The centre that leads this station or point; none for a centre.
    #[uniffi(default)]
    pub parent: Option<String>,
}

impl TryFrom<Site> for d::Site {
    type Error = CareError;
    fn try_from(s: Site) -> Result<Self> {
        Ok(d::Site {
            site_id: convert::id("site_id", &s.site_id)?,
            kind: s.kind.into(),
            name: s.name,
            parent: convert::opt_id("parent", s.parent.as_deref())?,
        })
    }
}

impl From<d::Site> for Site {
    fn from(s: d::Site) -> Self {
        Site {
            site_id: s.site_id.to_string(),
            kind: s.kind.into(),
            name: s.name,
            parent: s.parent.map(|p| p.to_string()),
        }
    }
}

mirror_enum! {
    /// What a member does in the circle.
    Role = d::Role {
        /// 民政协理员 / 站长: enrols people, confirms services, reconciles the time bank.
        Coordinator,
        /// 助老员 / 养老护理员: visits elders and gives services.
        Caregiver,
        /// 志愿者: gives time and earns time-bank hours.
        Volunteer,
        /// 家属: confirms services for an elder; may receive gifted hours.
        Family,
    }
}

/// Certifies that `device_key` belongs to member `member_id` with `role` at `site_id`. The
/// centre enrols coordinators; coordinators enrol everyone else.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrolment {
    /// The member's id (the same on all their devices).
    pub member_id: String,
    /// The member's name as the village knows them.
    pub name: String,
    /// What the member does.
    pub role: Role,
    /// The site the member belongs to.
    pub site_id: String,
    /// The device key being certified (the new phone shows it, e.g. as a QR code).
    pub device_key: String,
    /// For a family member: the elder they are family of.
    #[uniffi(default)]
    pub family_of: Option<String>,
    /// The certificate holds from this instant (Unix ms, record clock), if limited.
    #[uniffi(default)]
    pub valid_from_ms: Option<i64>,
    /// The certificate holds until just before this instant (Unix ms), if limited.
    #[uniffi(default)]
    pub valid_until_ms: Option<i64>,
    /// The household (户) the member belongs to: members of one household may give each other
    /// time-bank minutes.
    #[uniffi(default)]
    pub household: Option<String>,
    /// The member's year of birth, for the time bank's redemption age.
    #[uniffi(default)]
    pub birth_year: Option<u32>,
}

impl TryFrom<Enrolment> for d::Enrolment {
    type Error = CareError;
    fn try_from(e: Enrolment) -> Result<Self> {
        Ok(d::Enrolment {
            member_id: convert::id("member_id", &e.member_id)?,
            name: e.name,
            role: e.role.into(),
            site_id: convert::id("site_id", &e.site_id)?,
            device_key: convert::key("device_key", &e.device_key)?,
            family_of: convert::opt_id("family_of", e.family_of.as_deref())?,
            valid_from_ms: convert::opt_instant("valid_from_ms", e.valid_from_ms)?,
            valid_until_ms: convert::opt_instant("valid_until_ms", e.valid_until_ms)?,
            household: convert::opt_id("household", e.household.as_deref())?,
            birth_year: e.birth_year,
        })
    }
}

impl From<d::Enrolment> for Enrolment {
    fn from(e: d::Enrolment) -> Self {
        Enrolment {
            member_id: e.member_id.to_string(),
            name: e.name,
            role: e.role.into(),
            site_id: e.site_id.to_string(),
            device_key: e.device_key.to_string(),
            family_of: e.family_of.map(|f| f.to_string()),
            valid_from_ms: e.valid_from_ms.map(convert::ms),
            valid_until_ms: e.valid_until_ms.map(convert::ms),
            household: e.household.map(|h| h.to_string()),
            birth_year: e.birth_year,
        }
    }
}

/// Withdraws a device key (a lost, stolen or replaced phone). The core names the key's last
/// record this device holds as the last that counts: what the phone signs afterwards never
/// counts, whatever its clock says. Its records without a chain position (record format 1) stop
/// counting from `effective_ms`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Revocation {
    /// The key withdrawn.
    pub device_key: String,
    /// From when (Unix ms, by the record clock).
    pub effective_ms: i64,
    /// Why, for the record.
    pub reason: String,
}

impl TryFrom<Revocation> for d::Revocation {
    type Error = CareError;
    fn try_from(r: Revocation) -> Result<Self> {
        Ok(d::Revocation {
            device_key: convert::key("device_key", &r.device_key)?,
            effective_ms: convert::instant("effective_ms", r.effective_ms)?,
            reason: r.reason,
            last_seq: None,
            last_id: None,
        })
    }
}

impl From<d::Revocation> for Revocation {
    fn from(r: d::Revocation) -> Self {
        Revocation {
            device_key: r.device_key.to_string(),
            effective_ms: convert::ms(r.effective_ms),
            reason: r.reason,
        }
    }
}
