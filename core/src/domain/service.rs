//! Services given to elders: meals (助餐), baths (助浴), cleaning, mobility, medical escort,
//! companionship, emergency help and others.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::card::CardCode;
use super::validation::{
    NOTE_MAX, ValidationError, distinct, in_range, instant, optional_text, required_text,
};
use crate::ids::Id;

/// The kinds of service, without their details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// 助餐.
    Meal,
    /// 助浴.
    Bath,
    /// 助洁.
    Cleaning,
    /// 助行.
    Mobility,
    /// 助医.
    MedicalEscort,
    /// 精神慰藉.
    Companionship,
    /// 助急.
    Emergency,
    /// 其他.
    Other,
}

impl ServiceKind {
    /// Every kind, in report order.
    pub const ALL: [ServiceKind; 8] = [
        ServiceKind::Meal,
        ServiceKind::Bath,
        ServiceKind::Cleaning,
        ServiceKind::Mobility,
        ServiceKind::MedicalEscort,
        ServiceKind::Companionship,
        ServiceKind::Emergency,
        ServiceKind::Other,
    ];

    /// The name used in records and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Meal => "meal",
            ServiceKind::Bath => "bath",
            ServiceKind::Cleaning => "cleaning",
            ServiceKind::Mobility => "mobility",
            ServiceKind::MedicalEscort => "medical_escort",
            ServiceKind::Companionship => "companionship",
            ServiceKind::Emergency => "emergency",
            ServiceKind::Other => "other",
        }
    }

    /// The Chinese name used in district reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            ServiceKind::Meal => "助餐",
            ServiceKind::Bath => "助浴",
            ServiceKind::Cleaning => "助洁",
            ServiceKind::Mobility => "助行",
            ServiceKind::MedicalEscort => "助医",
            ServiceKind::Companionship => "精神慰藉",
            ServiceKind::Emergency => "助急",
            ServiceKind::Other => "其他",
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label_zh() == s)
            .ok_or_else(|| ValidationError::UnknownServiceKind(s.to_string()))
    }
}

/// How a meal was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MealMode {
    /// Delivered to the home.
    Delivered,
    /// At the village elder dining table (老年餐桌).
    DiningTable,
    /// At the central kitchen's canteen.
    CentralKitchen,
}

/// Where a bath was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BathPlace {
    /// In the elder's home.
    Home,
    /// At a centralised bathing point.
    BathingPoint,
}

/// Safety checks done around a bath.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BathCheck {
    /// Water temperature checked.
    WaterTemperature,
    /// Non-slip mat in place.
    NonSlipMat,
    /// Grab bar or chair used.
    GrabSupport,
    /// Blood pressure checked before.
    BloodPressure,
    /// A second helper present.
    SecondHelper,
}

/// The service given, with what is particular to its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServiceDetail {
    /// 助餐.
    Meal {
        /// How it was given.
        mode: MealMode,
        /// How many portions.
        portions: u32,
        /// Diet notes (soft food, low salt …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        diet_notes: Option<String>,
    },
    /// 助浴.
    Bath {
        /// Where.
        place: BathPlace,
        /// Safety checks done.
        safety_checks: Vec<BathCheck>,
        /// Skin condition seen (needs consent to health observations).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skin_condition: Option<String>,
    },
    /// 助洁.
    Cleaning {},
    /// 助行.
    Mobility {},
    /// 助医.
    MedicalEscort {
        /// The clinic or hospital.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
    },
    /// 精神慰藉.
    Companionship {},
    /// 助急.
    Emergency {
        /// What happened.
        #[serde(default)]
        description: String,
    },
    /// Anything else.
    Other {
        /// What was done.
        #[serde(default)]
        description: String,
    },
}

impl ServiceDetail {
    /// The kind of service.
    pub fn kind(&self) -> ServiceKind {
        match self {
            ServiceDetail::Meal { .. } => ServiceKind::Meal,
            ServiceDetail::Bath { .. } => ServiceKind::Bath,
            ServiceDetail::Cleaning {} => ServiceKind::Cleaning,
            ServiceDetail::Mobility {} => ServiceKind::Mobility,
            ServiceDetail::MedicalEscort { .. } => ServiceKind::MedicalEscort,
            ServiceDetail::Companionship {} => ServiceKind::Companionship,
            ServiceDetail::Emergency { .. } => ServiceKind::Emergency,
            ServiceDetail::Other { .. } => ServiceKind::Other,
        }
    }
}

/// Who pays for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    /// 政府购买: counted against the elder's monthly entitlement.
    Government,
    /// 时间银行: given by a volunteer for time-bank hours.
    TimeBank,
    /// 自费: paid by the elder or family.
    SelfPaid,
}

impl Funding {
    /// Every source, in report order.
    pub const ALL: [Funding; 3] = [Funding::Government, Funding::TimeBank, Funding::SelfPaid];

    /// The Chinese name used in district reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            Funding::Government => "政府购买",
            Funding::TimeBank => "时间银行",
            Funding::SelfPaid => "自费",
        }
    }

    /// The name used in records and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Funding::Government => "government",
            Funding::TimeBank => "time_bank",
            Funding::SelfPaid => "self_paid",
        }
    }
}

/// Who on the recipient side confirmed a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmedBy {
    /// The elder, in person or by a printed card.
    Elder,
    /// A family member (a member with the family role).
    Family,
    /// A caregiver who was present.
    Caregiver,
    /// The coordinator.
    Coordinator,
}

/// How the confirmation was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmMethod {
    /// Said so in person to the provider.
    InPerson,
    /// Stamped or signed a printed service card.
    PrintedCard,
    /// Confirmed by phone call.
    PhoneCall,
    /// Showed the next one-time code of the elder's printed code card (decision 0019): the
    /// confirmation carries the code, which the coordinator's device checks.
    CardCode,
}

/// The recipient side's confirmation of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// Who confirmed.
    pub by: ConfirmedBy,
    /// The confirming member, unless the elder confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<Id>,
    /// How.
    pub method: ConfirmMethod,
    /// When (Unix ms).
    pub at_ms: u64,
    /// The code from the elder's printed card, with method `card_code` (and only then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardCode>,
}

/// One service given to one elder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// The elder served.
    pub elder_id: Id,
    /// The member who gave the service.
    pub provider_id: Id,
    /// When it started (Unix ms).
    pub started_ms: u64,
    /// How long, in minutes.
    pub duration_minutes: i64,
    /// Who pays.
    pub funding: Funding,
    /// What was done.
    pub detail: ServiceDetail,
    /// The recipient side's confirmation, if given at the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
}

impl Service {
    /// Checks the service's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        instant("started_ms", self.started_ms)?;
        if self.duration_minutes <= 0 {
            return Err(ValidationError::NonPositiveDuration(self.duration_minutes));
        }
        in_range("duration_minutes", self.duration_minutes, 1, 24 * 60)?;
        match &self.detail {
            ServiceDetail::Meal {
                portions,
                diet_notes,
                ..
            } => {
                in_range("portions", i64::from(*portions), 1, 20)?;
                optional_text("diet_notes", diet_notes.as_deref(), NOTE_MAX)?;
            }
            ServiceDetail::Bath {
                safety_checks,
                skin_condition,
                ..
            } => {
                distinct("safety_checks", safety_checks)?;
                optional_text("skin_condition", skin_condition.as_deref(), NOTE_MAX)?;
            }
            ServiceDetail::MedicalEscort { destination } => {
                optional_text("destination", destination.as_deref(), NOTE_MAX)?;
            }
            ServiceDetail::Emergency { description } | ServiceDetail::Other { description } => {
                required_text("description", description, NOTE_MAX)?;
            }
            ServiceDetail::Cleaning {}
            | ServiceDetail::Mobility {}
            | ServiceDetail::Companionship {} => {}
        }
        if let Some(c) = &self.confirmation {
            instant("confirmation.at_ms", c.at_ms)?;
            match (c.by, c.member_id) {
                (ConfirmedBy::Elder, Some(_)) => {
                    return Err(ValidationError::Inconsistent(
                        "an elder's own confirmation names no member",
                    ));
                }
                (ConfirmedBy::Family | ConfirmedBy::Caregiver | ConfirmedBy::Coordinator, None) => {
                    return Err(ValidationError::Inconsistent(
                        "a confirmation by a member must name the member",
                    ));
                }
                _ => {}
            }
            match (c.method, &c.card) {
                (ConfirmMethod::CardCode, Some(card)) => {
                    card.validate()?;
                    if c.by != ConfirmedBy::Elder {
                        return Err(ValidationError::Inconsistent(
                            "a card code is the elder's own confirmation",
                        ));
                    }
                }
                (ConfirmMethod::CardCode, None) => {
                    return Err(ValidationError::Inconsistent(
                        "a confirmation by card code carries the code",
                    ));
                }
                (_, Some(_)) => {
                    return Err(ValidationError::Inconsistent(
                        "only a confirmation by card code carries a code",
                    ));
                }
                (_, None) => {}
            }
        }
        Ok(())
    }
}

/// The effective facts of one service record (after corrections, as the store's index holds
/// them) that a time-bank claim is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFacts {
    /// The elder served.
    pub elder_id: Id,
    /// The member who gave the service.
    pub provider_id: Id,
    /// When it started (Unix ms): its CST month is the month its time-bank hours are earned in.
    pub started_ms: i64,
    /// Its duration in minutes.
    pub duration_minutes: i64,
    /// Whether it was given for time-bank hours (`funding` = `time_bank`).
    pub time_bank: bool,
    /// Whether it was voided by a correction.
    pub voided: bool,
    /// Whether its author is trusted (an untrusted service counts as missing).
    pub counted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_kinds_parse_by_english_or_chinese_name() {
        assert_eq!("bath".parse::<ServiceKind>(), Ok(ServiceKind::Bath));
        assert_eq!("助餐".parse::<ServiceKind>(), Ok(ServiceKind::Meal));
        assert_eq!(
            "massage".parse::<ServiceKind>(),
            Err(ValidationError::UnknownServiceKind("massage".into()))
        );
        for k in ServiceKind::ALL {
            assert_eq!(k.as_str().parse::<ServiceKind>(), Ok(k));
        }
    }
}
