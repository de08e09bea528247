//! Monthly figures upward: a coordinator closes a month (`close-month`), a district official
//! collects every village's closes through the relay and verifies them itself
//! (`district report`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use carebank_core::identity::authority::AuthorityLevel;
use carebank_core::ids::Id;
use carebank_core::report::district::{DistrictMonth, FetchedCloses, Village};
use carebank_core::sync::http::RelayClient;
use carebank_core::sync::{CancelToken, Transport};
use carebank_core::time::Month;

use super::authority::{kept_chain, level_key};
use crate::StoreOpt;

/// `carebank close-month`.
#[derive(clap::Args)]
pub struct CloseMonthArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The month, YYYY-MM. Closing a closed month again is a correction: a new version.
    #[arg(long)]
    month: String,
}

/// Closes a month with the town chain this folder imported.
pub fn close_month(a: CloseMonthArgs) -> Result<()> {
    let month: Month = a.month.parse().context("--month")?;
    let dir = a.store.dir()?;
    let (kept, town) = kept_chain(&dir, AuthorityLevel::Town)?;
    let mut store = dir.open()?;
    let id = store.close_month(month, kept.chain)?;
    let version = store
        .month_closes(month)?
        .into_iter()
        .find(|c| c.id == id)
        .map_or(0, |c| c.close.version);
    println!(
        "closed {month} for {} (version {version}): record {id}; sync to send it to the district",
        town.subject.name
    );
    Ok(())
}

/// `carebank district`.
#[derive(clap::Args)]
pub struct DistrictArgs {
    #[command(subcommand)]
    command: DistrictCommand,
}

#[derive(clap::Subcommand)]
enum DistrictCommand {
    /// Every village's figures for a month, fetched through the relay and verified here.
    Report(ReportArgs),
}

/// `carebank district report`.
#[derive(clap::Args)]
struct ReportArgs {
    /// The official's folder (its key and imported chain).
    #[command(flatten)]
    store: StoreOpt,
    /// The relay, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    relay: String,
    /// The month, YYYY-MM.
    #[arg(long)]
    month: String,
    /// The villages expected: a file of lines `CIRCLE_ID NAME` (besides every village that
    /// ever closed a month under this district).
    #[arg(long)]
    roster: Option<PathBuf>,
    /// CSV (docs/report-format.md, "District report").
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `carebank district …`.
pub fn district(a: DistrictArgs) -> Result<()> {
    match a.command {
        DistrictCommand::Report(a) => report(a),
    }
}

fn report(a: ReportArgs) -> Result<()> {
    let month: Month = a.month.parse().context("--month")?;
    let dir = a.store.dir()?;
    let (kept, official) = kept_chain(&dir, AuthorityLevel::Official)?;
    let Some(district) = official.district else {
        bail!("the official's chain names no district");
    };
    let key = level_key(&dir, AuthorityLevel::Official)?;
    let client = RelayClient::new(&a.relay)?;
    // Requests are signed by the machine's clock, as syncs are: the relay judges them by its own.
    let wall = carebank_core::hlc::wall_clock_ms;
    let mut transport = client.signed("/v1/district/closes", &key, &wall, CancelToken::new());
    let answer = transport
        .request(&kept.chain.encode()?)
        .context("fetching the district's closes from the relay")?;
    let fetched = FetchedCloses::decode(&answer).map_err(anyhow::Error::msg)?;
    let (closes, refused) = fetched.verify(kept.province_root, district.key);
    for why in &refused {
        eprintln!("warning: refused a close the relay sent: {why}");
    }
    let expected = match &a.roster {
        Some(path) => read_roster(path)?,
        None => Vec::new(),
    };
    let table = DistrictMonth::assemble(&month.to_string(), &district.name, &closes, &expected);
    if a.csv {
        print!("{}", table.to_csv());
    } else if a.json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        print!("{}", table.to_table());
        let missing: Vec<&str> = table.not_closed().iter().map(|v| v.name.as_str()).collect();
        if !missing.is_empty() {
            println!("\nnot closed: {}", missing.join(", "));
        }
        println!(
            "\n{} closes verified under province {}, {} refused",
            closes.len(),
            kept.province_root,
            refused.len()
        );
    }
    Ok(())
}

/// Reads a roster: lines `CIRCLE_ID NAME`; blank lines and lines starting with `#` skipped.
fn read_roster(path: &std::path::Path) -> Result<Vec<Village>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the roster {}", path.display()))?;
    let mut villages = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (circle, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let circle: Id = circle
            .parse()
            .with_context(|| format!("{} line {}: not a circle id", path.display(), n + 1))?;
        villages.push(Village {
            circle,
            name: name.trim().to_string(),
        });
    }
    Ok(villages)
}
