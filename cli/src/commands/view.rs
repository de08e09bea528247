//! Looking: who is overdue, what is promised, who am I, the monthly report.

use anyhow::{Context, Result};
use carebank_core::Actor;
use carebank_core::report::MonthlyReport;
use carebank_core::time::{Month, UnixMs};

use crate::StoreOpt;
use crate::args::parse_time;
use crate::commands::privacy::PurposeOpt;
use crate::words::review::{chain_problem, chains_heading, untrusted_heading};
use crate::words::{IdsOpt, LangOpt, Names};

/// Just the store.
#[derive(clap::Args)]
pub struct StoreArg {
    #[command(flatten)]
    pub(crate) store: StoreOpt,
}

/// The store, and how a coordinator reads a list: `--ids`, `--lang`.
#[derive(clap::Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    store: StoreOpt,
    #[command(flatten)]
    ids: IdsOpt,
    #[command(flatten)]
    lang: LangOpt,
}

impl ReviewArgs {
    /// Opens the device's store, with the names it shows (unless `--ids`) and the language.
    pub fn open(&self) -> Result<(carebank_core::CareStore, Names, carebank_core::lang::Lang)> {
        let lang = self.lang.parse()?;
        let store = self.store.open()?;
        let names = Names::of(&store, self.ids.ids)?;
        Ok((store, names, lang))
    }
}

/// `carebank follow-ups`.
#[derive(clap::Args)]
pub struct FollowUpsArgs {
    #[command(flatten)]
    store: StoreOpt,
    #[command(flatten)]
    purpose: PurposeOpt,
    #[command(flatten)]
    ids: IdsOpt,
}

/// `carebank overdue`.
#[derive(clap::Args)]
pub struct OverdueArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// As of when (default: now).
    #[arg(long, default_value = "now")]
    at: String,
    #[command(flatten)]
    purpose: PurposeOpt,
}

/// Lists elders overdue for a visit.
pub fn overdue(a: OverdueArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let now = UnixMs::try_from(parse_time(&a.at)?).context("--at")?;
    let list = store.overdue_visits(now, a.purpose.parse()?)?;
    println!("{} elders overdue for a visit", list.len());
    for o in list {
        println!(
            "  {}  {:<12} {:>3} days overdue (every {} days)",
            o.elder_id, o.name, o.days_overdue, o.cadence_days
        );
    }
    let future = store.future_dated(now)?;
    if !future.is_empty() {
        println!(
            "{} records are dated in the future (a phone's clock is wrong, or a date was mistyped); \
             they do not count as visits made:",
            future.len()
        );
        for f in future {
            println!(
                "  {} {}  dated {}  signed by device {}",
                f.record_type,
                f.record_id,
                crate::args::cst_date(f.dated_ms),
                f.author
            );
        }
    }
    Ok(())
}

/// Lists open follow-ups.
pub fn follow_ups(a: FollowUpsArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let names = Names::of(&store, a.ids.ids)?;
    let list = store.open_follow_ups(a.purpose.parse()?)?;
    println!("{} follow-ups open", list.len());
    for f in list {
        println!(
            "  visit {} #{}  elder {}  {}",
            f.visit_id,
            f.index,
            names.elder(f.elder_id, &f.elder_name),
            f.action
        );
    }
    Ok(())
}

/// Lists what the device chains this store holds show a coordinator: forks (two records one
/// phone signed at one position: a restored backup, a cloned phone, or a thief), gaps (records
/// withheld or not yet received), and the records that do not count and why.
pub fn chains(a: ReviewArgs) -> Result<()> {
    let (store, names, lang) = a.open()?;
    let problems = store.chain_problems()?;
    println!("{}", chains_heading(problems.len(), lang));
    for p in &problems {
        println!("  {}", chain_problem(p, &names, lang));
    }
    let untrusted = store.untrusted_records()?;
    println!("{}", untrusted_heading(untrusted.len(), lang));
    for (id, author) in untrusted {
        println!("  {id}  {}", names.device(author, lang));
    }
    Ok(())
}

/// Says who this device is.
pub fn whoami(a: StoreArg) -> Result<()> {
    let store = a.store.open()?;
    let circle = store.circle();
    println!("device key: {}", store.public_key());
    println!("circle:     {}", circle.circle_id);
    match store.acting_as()? {
        Some(Actor::Centre) => println!("role:       centre"),
        Some(Actor::Member(role, member)) => {
            println!("role:       {}", role.as_str());
            println!("member:     {member}");
        }
        None => println!("role:       not enrolled (or revoked)"),
    }
    Ok(())
}

/// `carebank report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The month, YYYY-MM (China Standard Time).
    #[arg(long)]
    month: String,
    /// CSV (columns in docs/report-format.md).
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    lang: LangOpt,
    /// Include elders' names in CSV and JSON (personal data: only where the district needs
    /// them). The table shows them on the centre's and coordinators' devices unless --ids.
    #[arg(long)]
    names: bool,
    #[command(flatten)]
    ids: IdsOpt,
    /// Overdue visits as of this time (default: the end of the month, or now if sooner).
    #[arg(long)]
    at: Option<String>,
}

/// Prints the monthly report.
pub fn report(a: ReportArgs) -> Result<()> {
    let month: Month = a.month.parse().context("--month")?;
    let lang = a.lang.parse()?;
    let mut store = a.store.open()?;
    let table = !(a.csv || a.json);
    let with_names = a.names || (table && Names::of(&store, a.ids.ids)?.shown());
    let now = match &a.at {
        Some(t) => UnixMs::try_from(parse_time(t)?).context("--at")?,
        None => UnixMs::new(month.end_ms() - 1)?.min(UnixMs::try_from(parse_time("now")?)?),
    };
    let report = MonthlyReport::build(&mut store, month, now, with_names)?;
    if a.csv {
        print!("{}", report.to_csv(lang));
    } else if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table(lang));
    }
    Ok(())
}
