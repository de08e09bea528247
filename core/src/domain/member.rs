//! Members and their device keys: an enrolment certifies one device key for one member.

use serde::{Deserialize, Serialize};

use super::validation::{NAME_MAX, NOTE_MAX, ValidationError, in_range, instant, required_text};
use crate::identity::PublicKey;
use crate::ids::Id;

/// What a member does in the circle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 民政协理员 / 站长: enrols people, confirms services, reconciles the time bank.
    Coordinator,
    /// 助老员 / 养老护理员: visits elders and gives services.
    Caregiver,
    /// 志愿者: gives time and earns time-bank hours.
    Volunteer,
    /// 家属: confirms services for an elder; may receive gifted hours.
    Family,
}

impl Role {
    /// The role's name as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Caregiver => "caregiver",
            Role::Volunteer => "volunteer",
            Role::Family => "family",
        }
    }
}

/// Certifies that `device_key` belongs to member `member_id` with `role` at `site_id`.
/// Signed by the centre (for a coordinator) or by a coordinator (for everyone else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// The member's random id (the same across their devices).
    pub member_id: Id,
    /// The member's name as the village knows them. Written here only by builds before
    /// sealed records; today the name travels in a sealed [`super::MemberProfile`] and this is
    /// empty (and left out of the encoding), so that the relay's trust records hold no names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What the member does.
    pub role: Role,
    /// The site the member belongs to.
    pub site_id: Id,
    /// The device key being certified.
    pub device_key: PublicKey,
    /// For a family member: the elder they are family of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_of: Option<Id>,
    /// The certificate holds from this instant (Unix ms by the record clock), if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from_ms: Option<u64>,
    /// The certificate holds until just before this instant (Unix ms by the record clock), if
    /// limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<u64>,
    /// The household (户) the member belongs to: members of one household are relatives and
    /// may give each other time-bank minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<Id>,
    /// The member's year of birth, for the time bank's redemption age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<u32>,
}

impl Enrolment {
    /// Checks the enrolment's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !self.name.is_empty() {
            required_text("name", &self.name, NAME_MAX)?;
        }
        if let Some(from) = self.valid_from_ms {
            instant("valid_from_ms", from)?;
        }
        if let Some(until) = self.valid_until_ms {
            instant("valid_until_ms", until)?;
            if self.valid_from_ms.is_some_and(|from| from >= until) {
                return Err(ValidationError::Inconsistent(
                    "a certificate's validity must end after it starts",
                ));
            }
        }
        if let Some(year) = self.birth_year {
            in_range("birth_year", i64::from(year), 1900, 2100)?;
        }
        match (self.role, self.family_of) {
            (Role::Family, None) => Err(ValidationError::Inconsistent(
                "a family member must name their elder",
            )),
            (Role::Coordinator | Role::Caregiver | Role::Volunteer, Some(_)) => Err(
                ValidationError::Inconsistent("only a family member names an elder"),
            ),
            _ => Ok(()),
        }
    }
}

/// Withdraws a device key (a lost, stolen or replaced phone). When it names the key's last
/// accepted record (`last_seq`, with `last_id`), the key's later records never count, whatever
/// their clocks say; records without a chain position (version 1) stop counting from
/// `effective_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The key withdrawn.
    pub device_key: PublicKey,
    /// From when (Unix ms, by the record clock) records of the key without a chain position
    /// stop counting; for people, the time the coordinator gives.
    pub effective_ms: u64,
    /// Why, for the record.
    pub reason: String,
    /// The chain position of the key's last record that still counts (0: none does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
    /// The id of the record at `last_seq` that counts (any other there is a fork).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_id: Option<Id>,
}

impl Revocation {
    /// Checks the revocation's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        instant("effective_ms", self.effective_ms)?;
        if let Some(seq) = self.last_seq {
            let max = i64::try_from(crate::canonical::MAX_SAFE_INTEGER).unwrap_or(i64::MAX);
            in_range("last_seq", i64::try_from(seq).unwrap_or(i64::MAX), 0, max)?;
        }
        if self.last_id.is_some() && self.last_seq.is_none_or(|seq| seq == 0) {
            return Err(ValidationError::Inconsistent(
                "last_id names a record, so last_seq must be at least 1",
            ));
        }
        required_text("reason", &self.reason, NOTE_MAX)
    }
}
