//! Services given to elders: meals (助餐), baths (助浴), cleaning, mobility, medical escort,
//! companionship, emergency help and others.

use carebank_core::domain as d;

use crate::convert::{self, mirror_enum};
use crate::error::{CareError, Result};

mirror_enum! {
    /// The kinds of service, without their details (as counted in reports).
    ServiceKind = d::ServiceKind {
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
}

mirror_enum! {
    /// How a meal was given.
    MealMode = d::MealMode {
        /// Delivered to the home.
        Delivered,
        /// At the village elder dining table (老年餐桌).
        DiningTable,
        /// At the central kitchen's canteen.
        CentralKitchen,
    }
}

mirror_enum! {
    /// Where a bath was given.
    BathPlace = d::BathPlace {
        /// In the elder's home.
        Home,
        /// At a centralised bathing point.
        BathingPoint,
    }
}

mirror_enum! {
    /// Safety checks done around a bath.
    BathCheck = d::BathCheck {
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
}

mirror_enum! {
    /// Who pays for a service.
    Funding = d::Funding {
        /// 政府购买: counted against the elder's monthly entitlement.
        Government,
        /// 时间银行: given by a volunteer for time-bank hours.
        TimeBank,
        /// 自费: paid by the elder or family.
        SelfPaid,
    }
}

mirror_enum! {
    /// Who on the recipient side confirmed a service.
    ConfirmedBy = d::ConfirmedBy {
        /// The elder, in person or by a printed card.
        Elder,
        /// A family member (a member with the family role).
        Family,
        /// A caregiver who was present.
        Caregiver,
        /// The coordinator.
        Coordinator,
    }
}

mirror_enum! {
    /// How a confirmation was given.
    ConfirmMethod = d::ConfirmMethod {
        /// Said so in person to the provider.
        InPerson,
        /// Stamped or signed a printed service card.
        PrintedCard,
        /// Confirmed by phone call.
        PhoneCall,
        /// The next code of the elder's printed code card (give `card_code`): the
        /// coordinator's phone checks it.
        CardCode,
    }
}

/// The service given, with what is particular to its kind.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ServiceDetail {
    /// 助餐.
    Meal {
        /// How it was given.
        mode: MealMode,
        /// How many portions.
        portions: u32,
        /// Diet notes (soft food, low salt …).
        #[uniffi(default)]
        diet_notes: Option<String>,
    },
    /// 助浴.
    Bath {
        /// Where.
        place: BathPlace,
        /// Safety checks done.
        #[uniffi(default)]
        safety_checks: Vec<BathCheck>,
        /// Skin condition seen (needs consent to health observations).
        #[uniffi(default)]
        skin_condition: Option<String>,
    },
    /// 助洁.
    Cleaning,
    /// 助行.
    Mobility,
    /// 助医.
    MedicalEscort {
        /// The clinic or hospital.
        #[uniffi(default)]
        destination: Option<String>,
    },
    /// 精神慰藉.
    Companionship,
    /// 助急.
    Emergency {
        /// What happened.
        description: String,
    },
    /// Anything else.
    Other {
        /// What was done.
        description: String,
    },
}

impl From<ServiceDetail> for d::ServiceDetail {
    fn from(detail: ServiceDetail) -> Self {
        use ServiceDetail as F;
        match detail {
            F::Meal {
                mode,
                portions,
                diet_notes,
            } => d::ServiceDetail::Meal {
                mode: mode.into(),
                portions,
                diet_notes,
            },
            F::Bath {
                place,
                safety_checks,
                skin_condition,
            } => d::ServiceDetail::Bath {
                place: place.into(),
                safety_checks: convert::all(safety_checks),
                skin_condition,
            },
            F::Cleaning => d::ServiceDetail::Cleaning {},
            F::Mobility => d::ServiceDetail::Mobility {},
            F::MedicalEscort { destination } => d::ServiceDetail::MedicalEscort { destination },
            F::Companionship => d::ServiceDetail::Companionship {},
            F::Emergency { description } => d::ServiceDetail::Emergency { description },
            F::Other { description } => d::ServiceDetail::Other { description },
        }
    }
}

impl From<d::ServiceDetail> for ServiceDetail {
    fn from(detail: d::ServiceDetail) -> Self {
        use d::ServiceDetail as C;
        match detail {
            C::Meal {
                mode,
                portions,
                diet_notes,
            } => ServiceDetail::Meal {
                mode: mode.into(),
                portions,
                diet_notes,
            },
            C::Bath {
                place,
                safety_checks,
                skin_condition,
            } => ServiceDetail::Bath {
                place: place.into(),
                safety_checks: convert::all(safety_checks),
                skin_condition,
            },
            C::Cleaning {} => ServiceDetail::Cleaning,
            C::Mobility {} => ServiceDetail::Mobility,
            C::MedicalEscort { destination } => ServiceDetail::MedicalEscort { destination },
            C::Companionship {} => ServiceDetail::Companionship,
            C::Emergency { description } => ServiceDetail::Emergency { description },
            C::Other { description } => ServiceDetail::Other { description },
        }
    }
}

/// The recipient side's confirmation of a service.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Confirmation {
    /// Who confirmed.
    pub by: ConfirmedBy,
    /// The confirming member, unless the elder confirmed.
    #[uniffi(default)]
    pub member_id: Option<String>,
    /// How.
    pub method: ConfirmMethod,
    /// When (Unix ms).
    pub at_ms: i64,
    /// With method `CardCode`: the six digits the elder showed from the printed card.
    #[uniffi(default)]
    pub card_code: Option<String>,
    /// With a card code: the card's id, if the phone knows it (printed on the card).
    #[uniffi(default)]
    pub card_id: Option<String>,
}

impl TryFrom<Confirmation> for d::Confirmation {
    type Error = CareError;
    fn try_from(c: Confirmation) -> Result<Self> {
        let card_id = convert::opt_id("confirmation.card_id", c.card_id.as_deref())?;
        let card = match (c.card_code, card_id) {
            (Some(code), card_id) => Some(d::CardCode { code, card_id }),
            (None, Some(_)) => {
                return Err(CareError::invalid(
                    "confirmation.card_id",
                    "a card id goes with a card code",
                ));
            }
            (None, None) => None,
        };
        Ok(d::Confirmation {
            by: c.by.into(),
            member_id: convert::opt_id("confirmation.member_id", c.member_id.as_deref())?,
            method: c.method.into(),
            at_ms: convert::instant("confirmation.at_ms", c.at_ms)?,
            card,
        })
    }
}

impl From<d::Confirmation> for Confirmation {
    fn from(c: d::Confirmation) -> Self {
        Confirmation {
            by: c.by.into(),
            member_id: c.member_id.map(|m| m.to_string()),
            method: c.method.into(),
            at_ms: convert::ms(c.at_ms),
            card_id: c
                .card
                .as_ref()
                .and_then(|k| k.card_id)
                .map(|i| i.to_string()),
            card_code: c.card.map(|k| k.code),
        }
    }
}

/// One service given to one elder.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Service {
    /// The elder served.
    pub elder_id: String,
    /// The member who gave the service.
    pub provider_id: String,
    /// When it started (Unix ms).
    pub started_ms: i64,
    /// How long, in minutes.
    pub duration_minutes: i64,
    /// Who pays.
    pub funding: Funding,
    /// What was done.
    pub detail: ServiceDetail,
    /// The recipient side's confirmation, if given at the time.
    #[uniffi(default)]
    pub confirmation: Option<Confirmation>,
}

impl TryFrom<Service> for d::Service {
    type Error = CareError;
    fn try_from(s: Service) -> Result<Self> {
        Ok(d::Service {
            elder_id: convert::id("elder_id", &s.elder_id)?,
            provider_id: convert::id("provider_id", &s.provider_id)?,
            started_ms: convert::instant("started_ms", s.started_ms)?,
            duration_minutes: s.duration_minutes,
            funding: s.funding.into(),
            detail: s.detail.into(),
            confirmation: s.confirmation.map(TryInto::try_into).transpose()?,
        })
    }
}

impl From<d::Service> for Service {
    fn from(s: d::Service) -> Self {
        Service {
            elder_id: s.elder_id.to_string(),
            provider_id: s.provider_id.to_string(),
            started_ms: convert::ms(s.started_ms),
            duration_minutes: s.duration_minutes,
            funding: s.funding.into(),
            detail: s.detail.into(),
            confirmation: s.confirmation.map(Into::into),
        }
    }
}
