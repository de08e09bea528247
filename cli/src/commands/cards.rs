//! `carebank card`: printed code cards for elders without a phone (decision 0019) — issue one,
//! print it again, withdraw it, and list what the codes shown were found to be.

use std::path::PathBuf;

use anyhow::{Context, Result};
use carebank_core::domain::{CodeVerdict, WithdrawalReason};
use carebank_core::time::Month;

use crate::StoreOpt;
use crate::args::{id, parse_time};
use crate::card_image::card_png;
use crate::commands::view::ReviewArgs;
use crate::words::cards::{check, checks_heading};

/// `carebank card`.
#[derive(clap::Args)]
pub struct CardArgs {
    #[command(subcommand)]
    command: CardCommand,
}

#[derive(clap::Subcommand)]
enum CardCommand {
    /// Issue an elder a new card of one-time codes (a coordinator); prints its id.
    Issue(IssueArgs),
    /// Print a card this device issued: a PNG with --out, else its codes as text.
    Print(PrintArgs),
    /// Withdraw a card (lost, replaced): its codes no longer confirm anything from then on.
    Withdraw(WithdrawArgs),
    /// The month's confirmations by card code that are flagged (--all: every one), in words.
    Checks(ChecksArgs),
}

/// `carebank card issue`.
#[derive(clap::Args)]
struct IssueArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The elder.
    #[arg(long)]
    elder: String,
    /// How many codes the card carries (1 to 200).
    #[arg(long, default_value_t = 40)]
    codes: u32,
    /// Also write the card as a PNG image to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `carebank card print`.
#[derive(clap::Args)]
struct PrintArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The card.
    #[arg(long)]
    card: String,
    /// Write the card as a PNG image to this file (else print the codes, one a line).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `carebank card withdraw`.
#[derive(clap::Args)]
struct WithdrawArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The card.
    #[arg(long)]
    card: String,
    /// From when (now, YYYY-MM-DD or YYYY-MM-DDTHH:MM, China Standard Time).
    #[arg(long, default_value = "now")]
    from: String,
    /// lost, replaced or service_ended.
    #[arg(long, default_value = "lost")]
    reason: String,
}

/// `carebank card checks`.
#[derive(clap::Args)]
struct ChecksArgs {
    #[command(flatten)]
    review: ReviewArgs,
    /// The month, YYYY-MM (China Standard Time); default this month.
    #[arg(long)]
    month: Option<String>,
    /// List every code confirmation, valid ones too.
    #[arg(long)]
    all: bool,
}

/// Runs a `card` subcommand.
pub fn card(a: CardArgs) -> Result<()> {
    match a.command {
        CardCommand::Issue(a) => issue(a),
        CardCommand::Print(a) => print(a),
        CardCommand::Withdraw(a) => withdraw(a),
        CardCommand::Checks(a) => checks(a),
    }
}

fn issue(a: IssueArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let sheet = store.issue_card(id("--elder", &a.elder)?, a.codes)?;
    println!("{}", sheet.card.card_id);
    if let Some(out) = a.out {
        write_png(&out, &sheet)?;
    }
    Ok(())
}

fn print(a: PrintArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let sheet = store.card_sheet(id("--card", &a.card)?)?;
    match a.out {
        Some(out) => write_png(&out, &sheet),
        None => {
            for (i, code) in sheet.codes.iter().enumerate() {
                println!("{} {code}", i + 1);
            }
            Ok(())
        }
    }
}

fn write_png(out: &std::path::Path, sheet: &carebank_core::CardSheet) -> Result<()> {
    std::fs::write(out, card_png(sheet)?).with_context(|| format!("writing {}", out.display()))
}

fn withdraw(a: WithdrawArgs) -> Result<()> {
    let reason: WithdrawalReason = a
        .reason
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--reason: {e}"))?;
    let mut store = a.store.open()?;
    let record = store.withdraw_card(id("--card", &a.card)?, Some(parse_time(&a.from)?), reason)?;
    println!("{record}");
    Ok(())
}

fn checks(a: ChecksArgs) -> Result<()> {
    let (store, _names, lang) = a.review.open()?;
    let month = match &a.month {
        Some(m) => m.parse().context("--month")?,
        None => Month::of_instant(parse_time("now")? as i64),
    };
    let all = store.card_confirmations(month)?;
    let flagged = all
        .iter()
        .filter(|c| !matches!(c.verdict, CodeVerdict::Valid | CodeVerdict::Unchecked))
        .count();
    println!("{}", checks_heading(month, flagged, all.len(), lang));
    for c in all
        .iter()
        .filter(|c| a.all || c.verdict != CodeVerdict::Valid)
    {
        println!("  {}", check(c, lang));
    }
    Ok(())
}
