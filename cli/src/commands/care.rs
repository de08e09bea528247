//! Recording care: visits, services, follow-ups, voids.

use anyhow::{Context, Result};
use carebank_core::domain::{
    BathPlace, CardCode, ConfirmMethod, Confirmation, ConfirmedBy, CorrectionAction, FollowUp,
    FollowUpDone, Funding, Level, MealMode, Observations, RiskFlag, Service, ServiceDetail,
    ServiceKind, Visit,
};
use carebank_core::ids::Id;
use carebank_core::{Actor, CareStore};

use crate::StoreOpt;
use crate::args::{id, parse_time};

/// This device's member id.
pub fn me(store: &CareStore) -> Result<Id> {
    match store.acting_as()? {
        Some(Actor::Member(_, member)) => Some(member),
        Some(Actor::Centre) | None => None,
    }
    .context("this device is not enrolled as a member yet: ask the coordinator to enrol its key, then sync")
}

fn level(option: &str, text: Option<&str>) -> Result<Option<Level>> {
    text.map(|t| match t {
        "good" => Ok(Level::Good),
        "fair" => Ok(Level::Fair),
        "poor" => Ok(Level::Poor),
        other => anyhow::bail!("{option} must be good, fair or poor, not {other:?}"),
    })
    .transpose()
}

/// `carebank visit`.
#[derive(clap::Args)]
pub struct VisitArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The elder visited.
    #[arg(long)]
    elder: String,
    /// Check-in (now, YYYY-MM-DD or YYYY-MM-DDTHH:MM, China Standard Time).
    #[arg(long, default_value = "now")]
    at: String,
    /// Minutes until check-out.
    #[arg(long, default_value_t = 30)]
    minutes: i64,
    /// Health: good, fair or poor.
    #[arg(long)]
    health: Option<String>,
    /// Mood: good, fair or poor.
    #[arg(long)]
    mood: Option<String>,
    /// Risks seen: illness, fall_risk, unsafe_home, no_food, distress, needs_medical_care.
    #[arg(long = "risk", value_name = "RISK")]
    risks: Vec<String>,
    /// Something promised, to be followed up.
    #[arg(long = "follow-up", value_name = "ACTION")]
    follow_ups: Vec<String>,
}

/// Records a visit by this device's member; prints its record id.
pub fn visit(a: VisitArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let check_in = parse_time(&a.at)?;
    if a.minutes < 0 {
        anyhow::bail!("--minutes must not be negative (check-out before check-in)");
    }
    let risk_flags = a
        .risks
        .iter()
        .map(|r| {
            serde_json::from_value::<RiskFlag>(serde_json::Value::String(r.clone()))
                .with_context(|| format!("--risk: unknown risk {r:?}"))
        })
        .collect::<Result<_>>()?;
    let visit = Visit {
        elder_id: id("--elder", &a.elder)?,
        caregiver_id: me(&store)?,
        check_in_ms: check_in,
        check_out_ms: check_in + a.minutes as u64 * 60_000,
        location: None,
        observations: Observations {
            health: level("--health", a.health.as_deref())?,
            mood: level("--mood", a.mood.as_deref())?,
            home_safety: None,
            note: None,
        },
        risk_flags,
        follow_ups: a
            .follow_ups
            .into_iter()
            .map(|action| FollowUp {
                action,
                due_ms: None,
            })
            .collect(),
    };
    println!("{}", store.record_visit(visit)?);
    Ok(())
}

/// `carebank service`.
#[derive(clap::Args)]
pub struct ServiceArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The elder served.
    #[arg(long)]
    elder: String,
    /// meal, bath, cleaning, mobility, medical_escort, companionship, emergency, other (or 助餐, 助浴 …).
    #[arg(long)]
    kind: String,
    /// When it started (now, YYYY-MM-DD or YYYY-MM-DDTHH:MM, China Standard Time).
    #[arg(long, default_value = "now")]
    at: String,
    /// How long, in minutes.
    #[arg(long)]
    minutes: i64,
    /// government, time_bank or self_paid.
    #[arg(long, default_value = "self_paid")]
    funding: String,
    /// What was done (for emergency and other).
    #[arg(long)]
    description: Option<String>,
    /// The elder said so, or ticked a paper service card (nothing a device can check; prefer
    /// --card-code).
    #[arg(long, conflicts_with = "card_code")]
    confirmed_by_elder: bool,
    /// The next code of the elder's printed code card, as the elder showed it (six digits):
    /// the coordinator's device checks it.
    #[arg(long, value_name = "CODE")]
    card_code: Option<String>,
    /// The card the code is from, if known (its id is printed on it).
    #[arg(long, requires = "card_code", value_name = "CARD")]
    card: Option<String>,
}

/// Records a service by this device's member; prints its record id.
pub fn service(a: ServiceArgs) -> Result<()> {
    let kind: ServiceKind = a.kind.parse()?;
    let funding = match a.funding.as_str() {
        "government" => Funding::Government,
        "time_bank" => Funding::TimeBank,
        "self_paid" => Funding::SelfPaid,
        other => {
            anyhow::bail!("--funding must be government, time_bank or self_paid, not {other:?}")
        }
    };
    let description = || a.description.clone().unwrap_or_default();
    let detail = match kind {
        ServiceKind::Meal => ServiceDetail::Meal {
            mode: MealMode::Delivered,
            portions: 1,
            diet_notes: None,
        },
        ServiceKind::Bath => ServiceDetail::Bath {
            place: BathPlace::Home,
            safety_checks: vec![],
            skin_condition: None,
        },
        ServiceKind::Cleaning => ServiceDetail::Cleaning {},
        ServiceKind::Mobility => ServiceDetail::Mobility {},
        ServiceKind::MedicalEscort => ServiceDetail::MedicalEscort { destination: None },
        ServiceKind::Companionship => ServiceDetail::Companionship {},
        ServiceKind::Emergency => ServiceDetail::Emergency {
            description: description(),
        },
        ServiceKind::Other => ServiceDetail::Other {
            description: description(),
        },
    };
    let mut store = a.store.open()?;
    let started_ms = parse_time(&a.at)?;
    let card = match a.card_code {
        Some(code) => Some(CardCode {
            code,
            card_id: a.card.as_deref().map(|c| id("--card", c)).transpose()?,
        }),
        None => None,
    };
    let method = match card {
        Some(_) => ConfirmMethod::CardCode,
        None => ConfirmMethod::PrintedCard,
    };
    let confirmation = (a.confirmed_by_elder || card.is_some()).then_some(Confirmation {
        by: ConfirmedBy::Elder,
        member_id: None,
        method,
        at_ms: started_ms,
        card,
    });
    let service = Service {
        elder_id: id("--elder", &a.elder)?,
        provider_id: me(&store)?,
        started_ms,
        duration_minutes: a.minutes,
        funding,
        detail,
        confirmation,
    };
    println!("{}", store.record_service(service)?);
    Ok(())
}

/// `carebank follow-up-done`.
#[derive(clap::Args)]
pub struct FollowUpDoneArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The visit's record id.
    #[arg(long)]
    visit: String,
    /// Which follow-up of the visit (0 for the first).
    #[arg(long, default_value_t = 0)]
    index: u32,
    /// What was done.
    #[arg(long)]
    note: Option<String>,
}

/// Marks a follow-up done.
pub fn follow_up_done(a: FollowUpDoneArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let done = FollowUpDone {
        visit: id("--visit", &a.visit)?,
        index: a.index,
        done_at_ms: parse_time("now")?,
        note: a.note,
    };
    println!("{}", store.follow_up_done(done)?);
    Ok(())
}

/// `carebank void`.
#[derive(clap::Args)]
pub struct VoidArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The record to void.
    #[arg(long)]
    record: String,
    /// Why.
    #[arg(long)]
    reason: String,
}

/// Voids a record, with a reason.
pub fn void(a: VoidArgs) -> Result<()> {
    let mut store = a.store.open()?;
    println!(
        "{}",
        store.correct(
            id("--record", &a.record)?,
            CorrectionAction::Void {},
            &a.reason
        )?
    );
    Ok(())
}
