//! Elders' data and who saw it (PIPL Art. 45 and 51): the access log, the elder's own copy,
//! consent withdrawn or given again, and records made after a withdrawal.

use std::path::PathBuf;

use anyhow::{Context, Result};
use carebank_core::domain::{
    AccessPurpose, ConsentAction, ConsentChange, ConsentPurpose, ConsentRelation, ConsentState,
    ErasureReason,
};

use crate::StoreOpt;
use crate::args::{cst_date, id, parse_time};

fn ms(at: u64) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

/// `--purpose`: why personal data is read (logged with the read).
#[derive(clap::Args)]
pub struct PurposeOpt {
    /// Why you read elders' data: care, report, export or audit (kept in the access log).
    #[arg(long, default_value = "care")]
    pub purpose: String,
}

impl PurposeOpt {
    /// The purpose given.
    pub fn parse(&self) -> Result<AccessPurpose> {
        self.purpose.parse().context("--purpose")
    }
}

/// `carebank access-log`.
#[derive(clap::Args)]
pub struct AccessLogArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The elder whose data was read.
    #[arg(long)]
    elder: String,
}

/// Lists who read an elder's data, when, by which call and why.
pub fn access_log(a: AccessLogArgs) -> Result<()> {
    let store = a.store.open()?;
    let elder = id("--elder", &a.elder)?;
    let log = store.access_log(elder)?;
    println!("{} reads of elder {elder}", log.len());
    for e in log {
        let who = match (&e.role, e.member_id) {
            (Some(role), Some(member)) => format!("{role} {member}"),
            (Some(role), None) => role.clone(),
            _ => "unknown member".into(),
        };
        println!(
            "  {}  {:<16} purpose {:<7} {} (device {}){}{}",
            cst_date(ms(e.at_ms)),
            e.call.as_str(),
            e.purpose.as_str(),
            who,
            e.device_key,
            if e.elder_count > 1 {
                format!(", with {} other elders", e.elder_count - 1)
            } else {
                String::new()
            },
            if e.counted {
                ""
            } else {
                "  [device not trusted]"
            }
        );
    }
    Ok(())
}

/// `carebank export-elder`.
#[derive(clap::Args)]
pub struct ExportElderArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The elder who asked for a copy of their data.
    #[arg(long)]
    elder: String,
    /// Write the JSON here (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Writes everything held about one elder as JSON (the export is itself logged).
pub fn export_elder(a: ExportElderArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let elder = id("--elder", &a.elder)?;
    let json = store.export_elder(elder)?.to_json()?;
    match a.out {
        Some(path) => {
            std::fs::write(&path, json + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote the data held about elder {elder} to {}",
                path.display()
            );
        }
        None => println!("{json}"),
    }
    Ok(())
}

/// `carebank erase`.
#[derive(clap::Args)]
pub struct EraseArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The elder whose personal data is erased.
    #[arg(long)]
    elder: String,
    /// Why (PIPL Art. 47): purpose-ended, service-ended, consent-withdrawn, elder-request or
    /// retention-expired.
    #[arg(long)]
    reason: String,
}

/// Erases an elder's personal data here now, and on every phone and the relay as it syncs (a
/// coordinator).
pub fn erase(a: EraseArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let elder = id("--elder", &a.elder)?;
    let reason: ErasureReason = a
        .reason
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--reason {:?}: {e}", a.reason))?;
    let record = store.erase_elder(elder, reason)?;
    println!(
        "erased elder {elder}'s personal data on this device (record {record}); every phone and \
         the relay destroy it as they sync. Their services still count, as an erased elder's."
    );
    Ok(())
}

/// `carebank consent`.
#[derive(clap::Args)]
pub struct ConsentArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The elder.
    #[arg(long)]
    elder: String,
    /// care_records, health_observations, location or district_reporting.
    #[arg(long)]
    purpose: String,
    /// Withdraw the consent (the default is to give it again).
    #[arg(long)]
    withdraw: bool,
    /// Who expressed it.
    #[arg(long)]
    by: String,
    /// elder, guardian or family.
    #[arg(long, default_value = "elder")]
    relation: String,
    /// From when (now, YYYY-MM-DD or YYYY-MM-DDTHH:MM, China Standard Time).
    #[arg(long, default_value = "now")]
    at: String,
    /// Why, if said.
    #[arg(long)]
    reason: Option<String>,
}

/// Withdraws or gives again an elder's consent for one purpose (a coordinator); prints the
/// record id.
pub fn consent(a: ConsentArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let purpose: ConsentPurpose = a.purpose.parse().context("--purpose")?;
    let relation: ConsentRelation =
        serde_json::from_value(serde_json::Value::String(a.relation.clone()))
            .map_err(|_| anyhow::anyhow!("--relation: unknown value {:?}", a.relation))?;
    let record = store.change_consent(ConsentChange {
        elder_id: id("--elder", &a.elder)?,
        purpose,
        action: if a.withdraw {
            ConsentAction::Withdraw
        } else {
            ConsentAction::Give
        },
        at_ms: parse_time(&a.at)?,
        by: a.by,
        relation,
        reason: a.reason,
    })?;
    println!("{record}");
    Ok(())
}

/// `carebank consent-conflicts`: records made after a withdrawal.
pub fn consent_conflicts(a: crate::commands::view::StoreArg) -> Result<()> {
    let store = a.open()?;
    let list = store.consent_conflicts()?;
    println!(
        "{} records used a purpose the elder had withdrawn or not given (kept; void them if they should not count)",
        list.len()
    );
    for c in list {
        let why = match c.state {
            ConsentState::Withdrawn { at_ms } => format!("withdrawn {}", cst_date(ms(at_ms))),
            ConsentState::NotGiven | ConsentState::Given => "never given".into(),
        };
        println!(
            "  {} {}  elder {}  {} ({}) on {}: {}  signed by device {}",
            c.record_type,
            c.record_id,
            c.elder_id,
            c.purpose.as_str(),
            c.field,
            cst_date(ms(c.at_ms)),
            why,
            c.author
        );
    }
    Ok(())
}
