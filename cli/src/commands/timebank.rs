//! The time bank (时间银行) from the command line: claim, confirm, redeem, gift, balance,
//! reconcile, statements.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use carebank_core::domain::{ConfirmMethod, Verdict};
use carebank_core::time::UnixMs;

use crate::StoreOpt;
use crate::args::id;
use crate::commands::care::me;
use crate::words::{IdsOpt, LangOpt, Names, balance_line, conflict_lines, queue_heading};

/// `carebank claim`.
#[derive(clap::Args)]
pub struct ClaimArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The time-bank service this device's member gave (its record id).
    #[arg(long)]
    service: String,
    /// Minutes claimed.
    #[arg(long)]
    minutes: i64,
}

/// Claims hours for a service; prints the entry id.
pub fn claim(a: ClaimArgs) -> Result<()> {
    let mut store = a.store.open()?;
    println!(
        "{}",
        store.claim_hours(id("--service", &a.service)?, a.minutes)?
    );
    Ok(())
}

/// `carebank confirm`.
#[derive(clap::Args)]
pub struct ConfirmArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The claim to confirm (its entry id).
    #[arg(long)]
    claim: String,
    /// in_person, printed_card or phone_call.
    #[arg(long, default_value = "in_person")]
    method: String,
}

/// Confirms another member's claim from the recipient side.
pub fn confirm(a: ConfirmArgs) -> Result<()> {
    let method = match a.method.as_str() {
        "in_person" => ConfirmMethod::InPerson,
        "printed_card" => ConfirmMethod::PrintedCard,
        "phone_call" => ConfirmMethod::PhoneCall,
        other => bail!("--method must be in_person, printed_card or phone_call, not {other:?}"),
    };
    let mut store = a.store.open()?;
    println!("{}", store.confirm_claim(id("--claim", &a.claim)?, method)?);
    Ok(())
}

/// `carebank redeem`.
#[derive(clap::Args)]
pub struct RedeemArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// Minutes spent.
    #[arg(long)]
    minutes: i64,
    /// The service received, if recorded.
    #[arg(long)]
    service: Option<String>,
}

/// Spends hours on services received.
pub fn redeem(a: RedeemArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let service = a
        .service
        .as_deref()
        .map(|s| id("--service", s))
        .transpose()?;
    println!("{}", store.redeem_hours(a.minutes, service)?);
    Ok(())
}

/// `carebank gift`.
#[derive(clap::Args)]
pub struct GiftArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The relative (a member of the same household).
    #[arg(long)]
    to: String,
    /// Minutes given.
    #[arg(long)]
    minutes: i64,
}

/// Gives hours to a relative.
pub fn gift(a: GiftArgs) -> Result<()> {
    let mut store = a.store.open()?;
    println!("{}", store.gift_hours(id("--to", &a.to)?, a.minutes)?);
    Ok(())
}

/// `carebank balance`.
#[derive(clap::Args)]
pub struct BalanceArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The member (default: this device's member).
    #[arg(long)]
    member: Option<String>,
    /// Every member with minutes or pending claims.
    #[arg(long, conflicts_with = "member")]
    all: bool,
    #[command(flatten)]
    ids: IdsOpt,
}

/// Prints balances.
pub fn balance(a: BalanceArgs) -> Result<()> {
    let store = a.store.open()?;
    let names = Names::of(&store, a.ids.ids)?;
    if a.all {
        for b in store.balances_at(UnixMs::try_from(crate::clock::now_ms())?)? {
            println!("{}", balance_line(&b, &names));
        }
        return Ok(());
    }
    let member = match &a.member {
        Some(m) => id("--member", m)?,
        None => me(&store)?,
    };
    println!("{}", balance_line(&store.balance(member)?, &names));
    Ok(())
}

/// `carebank reconcile`.
#[derive(clap::Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// Decide on this entry (from the queue's "awaiting" list).
    #[arg(long, requires = "reason")]
    decide: Option<String>,
    /// Approve it (it counts).
    #[arg(long, conflicts_with = "reject", requires = "decide")]
    approve: bool,
    /// Reject it (it does not count).
    #[arg(long, requires = "decide")]
    reject: bool,
    /// Why (kept with the decision).
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    ids: IdsOpt,
    #[command(flatten)]
    lang: LangOpt,
}

/// Lists the coordinator's queue, or records a decision.
pub fn reconcile(a: ReconcileArgs) -> Result<()> {
    let lang = a.lang.parse()?;
    let mut store = a.store.open()?;
    if let Some(entry) = &a.decide {
        let verdict = match (a.approve, a.reject) {
            (true, false) => Verdict::Approve,
            (false, true) => Verdict::Reject,
            _ => bail!("say --approve or --reject"),
        };
        let reason = a.reason.as_deref().unwrap_or_default();
        println!("{}", store.decide(id("--decide", entry)?, verdict, reason)?);
        return Ok(());
    }
    let names = Names::of(&store, a.ids.ids)?;
    let reconciling = crate::progress::spinner("reconciling the time bank");
    let queue = store.conflict_queue();
    reconciling.finish_and_clear();
    let queue = queue?;
    println!("{}", queue_heading(queue.len(), lang));
    for c in &queue {
        println!("  {}", conflict_lines(c, &names, lang));
    }
    Ok(())
}

/// `carebank statement`.
#[derive(clap::Args)]
pub struct StatementArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// Export this member's statement (default: this device's member) to --out.
    #[arg(long, conflicts_with = "verify")]
    member: Option<String>,
    /// Where to write the statement file.
    #[arg(long, conflicts_with = "verify")]
    out: Option<PathBuf>,
    /// Verify a statement file (with this circle's centre key).
    #[arg(long)]
    verify: Option<PathBuf>,
}

/// Exports or verifies a member's statement.
pub fn statement(a: StatementArgs) -> Result<()> {
    let store = a.store.open()?;
    if let Some(file) = &a.verify {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let verified = store.verify_statement(&bytes)?;
        let names = Names::of(&store, false)?;
        println!(
            "statement verified: member {}",
            names.member(verified.member)
        );
        println!("  {}", balance_line(&verified.balance, &names));
        println!(
            "  {} entries, {} conflicts, exported by {}",
            verified.entries.len(),
            verified.conflicts.len(),
            verified.exporter
        );
        return Ok(());
    }
    let out = a
        .out
        .context("say --out FILE to export, or --verify FILE")?;
    let member = match &a.member {
        Some(m) => id("--member", m)?,
        None => me(&store)?,
    };
    let bytes = store.export_statement(member)?;
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
