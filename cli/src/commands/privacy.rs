//! Elders' data and who saw it (PIPL Art. 45 and 51): the access log, the elder's own copy,
//! consent withdrawn or given again, and records made after a withdrawal.

use std::path::PathBuf;

use anyhow::{Context, Result};
use carebank_core::domain::{
    AccessPurpose, ConsentAction, ConsentChange, ConsentPurpose, ConsentRelation, ErasureReason,
};

use crate::StoreOpt;
use crate::args::{id, parse_time};
use crate::commands::view::ReviewArgs;
use crate::words::review::{
    access_entry, access_heading, consent_conflict, consent_conflicts_heading,
};

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
    review: ReviewArgs,
    /// The elder whose data was read.
    #[arg(long)]
    elder: String,
}

/// Lists who read an elder's data, when, by which call and why.
pub fn access_log(a: AccessLogArgs) -> Result<()> {
    let (store, names, lang) = a.review.open()?;
    let elder = id("--elder", &a.elder)?;
    let log = store.access_log(elder)?;
    println!("{}", access_heading(log.len(), elder, lang));
    for e in &log {
        println!("  {}", access_entry(e, &names, lang));
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
pub fn consent_conflicts(a: ReviewArgs) -> Result<()> {
    let (store, names, lang) = a.open()?;
    let list = store.consent_conflicts()?;
    println!("{}", consent_conflicts_heading(list.len(), lang));
    for c in &list {
        println!("  {}", consent_conflict(c, &names, lang));
    }
    Ok(())
}
