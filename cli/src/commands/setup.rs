//! Setting up a circle: devices, sites, members, elders.

use anyhow::{Result, bail};
use carebank_core::Circle;
use carebank_core::domain::{
    CareLevel, Consent, ConsentPurpose, ConsentRelation, Elder, Enrolment, EntitlementGroup,
    RecordBody, Revocation, Role, Site, SiteKind,
};
use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;

use crate::StoreOpt;
use crate::args::{id, parse_time};

/// `carebank init`.
#[derive(clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// Start a new circle with this device as the town centre (the root of trust), named so.
    #[arg(long, value_name = "CENTRE_NAME", conflicts_with_all = ["circle", "centre_key"])]
    new_circle: Option<String>,
    /// The circle to join (from the centre's `init --new-circle`).
    #[arg(long, requires = "centre_key")]
    circle: Option<String>,
    /// The centre's public key.
    #[arg(long, requires = "circle")]
    centre_key: Option<String>,
}

/// Creates a device folder: a key, the circle file and an empty store.
pub fn init(a: InitArgs) -> Result<()> {
    let dir = a.store.dir()?;
    if dir.is_initialised() {
        bail!("{} already holds a carebank store", a.store.store.display());
    }
    let key = dir.key()?;
    let device_key = key.public_key();
    let circle = match (&a.new_circle, &a.circle, &a.centre_key) {
        (Some(_), _, _) => Circle {
            circle_id: Id::random(),
            centre_key: device_key,
        },
        (None, Some(circle), Some(centre)) => Circle {
            circle_id: id("--circle", circle)?,
            centre_key: parse_key("--centre-key", centre)?,
        },
        _ => bail!(
            "say either --new-circle NAME (a town centre) or --circle ID --centre-key KEY (a device joining)"
        ),
    };
    dir.write_circle(circle)?;
    let mut store = dir.open()?;
    println!("device key: {device_key}");
    println!("circle:     {}", circle.circle_id);
    println!("centre key: {}", circle.centre_key);
    if let Some(name) = a.new_circle {
        let site_id = Id::random();
        store.add_site(Site {
            site_id,
            kind: SiteKind::Centre,
            name,
            parent: None,
        })?;
        println!("centre site: {site_id}");
    } else {
        println!("ask your coordinator to enrol this device key");
    }
    Ok(())
}

/// Reads a public key (64 hex characters), naming the option in the error.
pub(crate) fn parse_key(option: &str, text: &str) -> Result<PublicKey> {
    text.parse().map_err(|e| anyhow::anyhow!("{option}: {e}"))
}

/// `carebank site`.
#[derive(clap::Args)]
pub struct SiteArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// station or village_point.
    #[arg(long)]
    kind: String,
    /// Its name, e.g. 石桥村互助养老点.
    #[arg(long)]
    name: String,
    /// The centre that leads it.
    #[arg(long)]
    parent: String,
}

/// Adds a station or village point.
pub fn site(a: SiteArgs) -> Result<()> {
    let kind = match a.kind.as_str() {
        "station" => SiteKind::Station,
        "village_point" => SiteKind::VillagePoint,
        other => bail!("--kind must be station or village_point, not {other:?}"),
    };
    let mut store = a.store.open()?;
    let site_id = Id::random();
    store.add_site(Site {
        site_id,
        kind,
        name: a.name,
        parent: Some(id("--parent", &a.parent)?),
    })?;
    println!("{site_id}");
    Ok(())
}

/// `carebank enrol`.
#[derive(clap::Args)]
pub struct EnrolArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The member's name.
    #[arg(long)]
    name: String,
    /// coordinator, caregiver, volunteer or family.
    #[arg(long)]
    role: String,
    /// The member's site.
    #[arg(long)]
    site: String,
    /// The device key to certify (printed by `carebank init` on that device).
    #[arg(long)]
    device_key: String,
    /// The member's id, when enrolling another device of an existing member.
    #[arg(long)]
    member_id: Option<String>,
    /// For a family member: the elder.
    #[arg(long)]
    family_of: Option<String>,
    /// The member's household (户): members of one household may gift each other hours.
    #[arg(long)]
    household: Option<String>,
    /// The member's year of birth (for the time bank's redemption age).
    #[arg(long)]
    birth_year: Option<u32>,
    /// The certificate expires at this time (China Standard Time), if limited.
    #[arg(long)]
    valid_until: Option<String>,
}

fn parse_role(text: &str) -> Result<Role> {
    Ok(match text {
        "coordinator" => Role::Coordinator,
        "caregiver" => Role::Caregiver,
        "volunteer" => Role::Volunteer,
        "family" => Role::Family,
        other => bail!("--role must be coordinator, caregiver, volunteer or family, not {other:?}"),
    })
}

/// Certifies a device key for a member; prints the member id.
pub fn enrol(a: EnrolArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let member_id = match &a.member_id {
        Some(m) => id("--member-id", m)?,
        None => Id::random(),
    };
    store.enrol(Enrolment {
        member_id,
        name: a.name,
        role: parse_role(&a.role)?,
        site_id: id("--site", &a.site)?,
        device_key: parse_key("--device-key", &a.device_key)?,
        family_of: a
            .family_of
            .as_deref()
            .map(|e| id("--family-of", e))
            .transpose()?,
        valid_from_ms: None,
        valid_until_ms: a.valid_until.as_deref().map(parse_time).transpose()?,
        household: a
            .household
            .as_deref()
            .map(|h| id("--household", h))
            .transpose()?,
        birth_year: a.birth_year,
    })?;
    println!("{member_id}");
    Ok(())
}

/// `carebank revoke`.
#[derive(clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The key to withdraw.
    #[arg(long)]
    device_key: String,
    /// Why (lost, stolen, replaced).
    #[arg(long)]
    reason: String,
    /// From when its records without a chain position (record format 1) stop counting
    /// (default: now).
    #[arg(long, default_value = "now")]
    from: String,
    /// The last position of the phone's chain that still counts (default: the last this store
    /// holds). Give the position the phone last showed, when it holds records not yet synced.
    #[arg(long)]
    last_seq: Option<u64>,
}

/// Withdraws a device key.
pub fn revoke(a: RevokeArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let id = store.revoke(Revocation {
        device_key: parse_key("--device-key", &a.device_key)?,
        effective_ms: parse_time(&a.from)?,
        reason: a.reason,
        last_seq: a.last_seq,
        last_id: None,
    })?;
    if let RecordBody::Revocation(r) = store.get(id)?.body() {
        eprintln!(
            "records of that key after position {} of its chain no longer count, whatever their clocks say",
            r.last_seq.unwrap_or(0)
        );
    }
    println!("{id}");
    Ok(())
}

/// `carebank elder`.
#[derive(clap::Args)]
pub struct ElderArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The name the caregivers use.
    #[arg(long)]
    name: String,
    /// The site that serves the elder.
    #[arg(long)]
    site: String,
    /// Year of birth.
    #[arg(long)]
    birth_year: u32,
    /// Visit every this many days (7 for left-behind elders living alone).
    #[arg(long, default_value_t = 14)]
    cadence: u32,
    /// Government-bought hours a month (needs --group).
    #[arg(long, default_value_t = 0)]
    hours: u32,
    /// Entitlement groups: low_income, extreme_poverty, lost_only_child, key_entitled, disabled, very_old, other_hardship.
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// able, mild, moderate, severe or total.
    #[arg(long, default_value = "able")]
    care_level: String,
    /// The member responsible for the elder (包保).
    #[arg(long)]
    responsible: Option<String>,
    /// Who consented.
    #[arg(long)]
    consent_by: String,
    /// elder, guardian or family.
    #[arg(long, default_value = "elder")]
    consent_relation: String,
    /// Purposes beyond care records: health_observations, location, district_reporting.
    #[arg(long = "consent", value_name = "PURPOSE")]
    consents: Vec<String>,
}

fn from_name<T: serde::de::DeserializeOwned>(option: &str, text: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| anyhow::anyhow!("{option}: unknown value {text:?}"))
}

/// Enrols an elder; prints the elder id.
pub fn elder(a: ElderArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let groups: Vec<EntitlementGroup> = a
        .groups
        .iter()
        .map(|g| from_name("--group", g))
        .collect::<Result<_>>()?;
    let mut purposes = vec![ConsentPurpose::CareRecords];
    for p in &a.consents {
        purposes.push(from_name("--consent", p)?);
    }
    let care_level: CareLevel = from_name("--care-level", &a.care_level)?;
    let relation: ConsentRelation = from_name("--consent-relation", &a.consent_relation)?;
    let elder_id = Id::random();
    store.enrol_elder(Elder {
        elder_id,
        site_id: id("--site", &a.site)?,
        name: a.name,
        birth_year: a.birth_year,
        groups,
        care_level,
        visit_cadence_days: a.cadence,
        monthly_entitled_hours: a.hours,
        responsible_member: a
            .responsible
            .as_deref()
            .map(|m| id("--responsible", m))
            .transpose()?,
        consent: Consent {
            given_by: a.consent_by,
            relation,
            given_at_ms: parse_time("now")?,
            purposes,
        },
    })?;
    println!("{elder_id}");
    Ok(())
}

/// Compacts the store's documents and truncates its log: the work writes leave for an idle
/// moment (run it nightly, e.g. from cron, on a coordinator's computer).
pub fn maintain(a: crate::commands::view::StoreArg) -> Result<()> {
    let mut store = a.store.open()?;
    let done = store.run_maintenance()?;
    println!(
        "documents compacted: {} (from {} chunks); the write-ahead log is truncated",
        done.documents_compacted, done.chunks_merged
    );
    Ok(())
}
