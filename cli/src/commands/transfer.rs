//! Hours valid across circles (通存通兑) from the command line: a coordinator of the old circle
//! moves a member's hours out into a transfer statement file; a coordinator of the new circle
//! opens it. Decision 0018; format: `docs/ledger-format.md`, "Transfer statement".

use std::path::PathBuf;

use anyhow::{Context, Result};

use carebank_core::identity::authority::AuthorityLevel;

use crate::StoreOpt;
use crate::args::id;
use crate::commands::authority::{KeptChain, kept_chain};
use crate::commands::setup::parse_key;
use crate::words::{Names, balance_line};

/// `carebank transfer-out`.
#[derive(clap::Args)]
pub struct TransferOutArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The member whose whole balance moves.
    #[arg(long)]
    member: String,
    /// The circle the member moves to (its id, printed by `carebank init` there).
    #[arg(long)]
    to_circle: String,
    /// This town centre's authority chain file (from `carebank authority certify`); by default
    /// the town chain this folder keeps (`carebank authority import`).
    #[arg(long)]
    authority: Option<PathBuf>,
    /// Where to write the transfer statement the member carries.
    #[arg(long)]
    out: PathBuf,
}

/// Moves a member's hours out of this circle; writes the transfer statement.
pub fn transfer_out(a: TransferOutArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let authority = match &a.authority {
        Some(file) => read(file)?,
        None => kept_town_chain(&a.store)?.chain.encode()?,
    };
    let member = id("--member", &a.member)?;
    let minutes = store.balance(member)?.available_minutes;
    let bytes = store.transfer_out(member, id("--to-circle", &a.to_circle)?, &authority)?;
    std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "moved {} of member {member} out; wrote {} ({} bytes)",
        carebank_core::ledger::words::hours(minutes, carebank_core::lang::Lang::En),
        a.out.display(),
        bytes.len()
    );
    Ok(())
}

/// `carebank transfer-in`.
#[derive(clap::Args)]
pub struct TransferInArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The transfer statement file the member brought.
    file: PathBuf,
    /// The province root key the old town's authority chain must verify under; by default the
    /// province root of the town chain this folder keeps (`carebank authority import`).
    #[arg(long)]
    province_root: Option<String>,
    /// Verify only: write nothing.
    #[arg(long)]
    verify: bool,
}

/// Verifies a transfer statement and opens the member's hours in this circle.
pub fn transfer_in(a: TransferInArgs) -> Result<()> {
    let mut store = a.store.open()?;
    let bytes = read(&a.file)?;
    let province = match &a.province_root {
        Some(key) => parse_key("--province-root", key)?,
        None => kept_town_chain(&a.store)?.province_root,
    };
    let verified = if a.verify {
        store.verify_transfer(&bytes, province)?
    } else {
        let (entry, verified) = store.import_transfer(&bytes, province)?;
        println!("{entry}");
        verified
    };
    let names = Names::of(&store, false)?;
    println!(
        "transfer verified: {} of member {} from circle {} ({}, {})",
        carebank_core::ledger::words::hours(verified.minutes, carebank_core::lang::Lang::En),
        names.member(verified.member),
        verified.from_circle,
        verified.town.name,
        verified
            .district
            .as_ref()
            .map_or("no district", |d| d.name.as_str()),
    );
    if !a.verify {
        println!(
            "  {}",
            balance_line(&store.balance(verified.member)?, &names)
        );
    }
    Ok(())
}

/// The town chain this folder keeps (verified again now).
fn kept_town_chain(store: &StoreOpt) -> Result<KeptChain> {
    Ok(kept_chain(&store.dir()?, AuthorityLevel::Town)?.0)
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
