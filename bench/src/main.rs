//! `carebank-bench`: every figure of `WORKLOAD.md` on the reference village in one run, each
//! set against a baseline or a floor measured in the same run, on the same records, printed as
//! one table with the machine, the commit and the seed, and written as JSON (`--json FILE`).
//!
//! `cargo run --release -p carebank-bench -- [--quick] [--days N] [--seed S] [--json FILE]
//! [--only PART]`
//!
//! `--quick` plays a few days and measures briefly: the test command runs it so the bench
//! cannot rot. Figures are for comparing versions on one machine; see `docs/performance.md`.

mod figures;
mod ledger;
mod machine;
mod store;
mod sync;
mod year;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::figures::Figures;
use crate::machine::Provenance;

/// The command line.
#[derive(Parser)]
#[command(about = "Every figure of the reference workload, with baselines and floors")]
struct Args {
    /// A few simulated days, brief measurements (for the test command).
    #[arg(long)]
    quick: bool,
    /// Days of the village-year (default 365, or 3 with --quick).
    #[arg(long)]
    days: Option<u64>,
    /// The workload's seed.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Measure one part only (to profile it); the village-year is played only for the parts
    /// that read it.
    #[arg(long, value_enum)]
    only: Option<Part>,
    #[command(subcommand)]
    child: Option<Child>,
}

/// The parts of the run, in the order they run.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// Import, disk, cold open and durable writes.
    Store,
    /// A phone back after a week, nothing new, the relay's rates.
    Week,
    /// A new phone's first sync of the year, clean and over dropping links.
    NewPhone,
    /// The time bank's reconciliation.
    Reconcile,
}

impl Part {
    /// Whether the part reads the played village-year.
    fn reads_the_year(self) -> bool {
        matches!(self, Part::Store | Part::NewPhone)
    }
}

/// Work done in a process of its own, so that its peak memory is its own.
#[derive(Subcommand)]
enum Child {
    /// Imports the documents saved in DIR/docs into a new store in DIR.
    #[command(hide = true)]
    Import {
        dir: PathBuf,
        circle: String,
        centre: String,
        /// A store not encrypted at rest.
        #[arg(long)]
        plain: bool,
    },
    /// Opens the store in DIR and asks for the overdue visits at NOW.
    #[command(hide = true)]
    Open {
        dir: PathBuf,
        circle: String,
        centre: String,
        now: i64,
        /// A store not encrypted at rest.
        #[arg(long)]
        plain: bool,
    },
}

/// What `--json` writes.
#[derive(Serialize)]
struct Run<'a> {
    provenance: &'a Provenance,
    seed: u64,
    days: u64,
    quick: bool,
    seconds: f64,
    figures: &'a [figures::Figure],
}

fn main() {
    let args = Args::parse();
    match args.child {
        Some(Child::Import {
            dir,
            circle,
            centre,
            plain,
        }) => {
            let circle = store::circle_from(&circle, &centre);
            let report = store::child_import(&dir, circle, at_rest(plain));
            println!("{}", serde_json::to_string(&report).expect("report"));
        }
        Some(Child::Open {
            dir,
            circle,
            centre,
            now,
            plain,
        }) => {
            let circle = store::circle_from(&circle, &centre);
            let report = store::child_open(&dir, circle, now, at_rest(plain));
            println!("{}", serde_json::to_string(&report).expect("report"));
        }
        None => bench(&args),
    }
}

/// The kind of store a child process works on.
fn at_rest(plain: bool) -> store::AtRest {
    if plain {
        store::AtRest::Plain
    } else {
        store::AtRest::Encrypted
    }
}

fn bench(args: &Args) {
    let started = Instant::now();
    let days = args.days.unwrap_or(if args.quick { 3 } else { 365 });
    let provenance = Provenance::detect();
    let step = |what: &str| eprintln!("[{:6.1} s] {what}", started.elapsed().as_secs_f64());
    let mut figures = Figures::default();

    let runs = |part: Part| args.only.is_none_or(|only| only == part);
    let mut year = None;
    if args.only.is_none_or(Part::reads_the_year) {
        step(&format!("playing {days} days of the reference village"));
        let village = year::play_year(args.seed, days);
        let docs = village.coordinator.store.documents().expect("documents");
        let records = year::records_in(&docs, &village.coordinator.store.epoch_keys());
        figures.add(
            "records in the village-year",
            records.len() as f64,
            "records",
        );
        year = Some((village, docs, records));
    }

    if let (true, Some((village, docs, records))) = (runs(Part::Store), &year) {
        step("store: import, disk, cold open, durable writes (encrypted and plain)");
        let writes = if args.quick { 30 } else { 300 };
        store::measure(&mut figures, village, docs, records, days, writes);
    }

    if runs(Part::Week) {
        step("sync: a phone back after a week, nothing new, the relay's rates");
        let run = Duration::from_millis(if args.quick { 300 } else { 3_000 });
        sync::week(&mut figures, args.seed, days.min(7), 4, run);
    }

    if let (true, Some((village, _, _))) = (runs(Part::NewPhone), &mut year) {
        step("sync: a new phone's first sync of the year, clean and over dropping links");
        let cuts: &[u64] = if args.quick {
            &[64 * 1024]
        } else {
            &[32 * 1024, 64 * 1024]
        };
        sync::new_phone(&mut figures, village, days, cuts);
    }

    // The played year (27 phones' stores, their documents and caches) is not needed past this
    // point: the reconcile builds its own ledger, and timed beside the year's heap its week
    // measured 6.8 ms against 4.7 ms alone.
    drop(year);
    if runs(Part::Reconcile) {
        step("reconcile");
        ledger::measure(
            &mut figures,
            args.seed,
            days,
            if args.quick { 1 } else { 5 },
        );
    }

    let seconds = started.elapsed().as_secs_f64();
    println!(
        "carebank-bench: reference village (WORKLOAD.md), seed {}, {days} days{}\nmachine: {}\ncommit: {}{}\n",
        args.seed,
        if args.quick { ", --quick" } else { "" },
        provenance.machine,
        provenance.commit,
        if provenance.release {
            ""
        } else {
            " (debug build: figures not comparable)"
        },
    );
    print!("{}", figures.table());
    println!("\n(run took {seconds:.0} s)");
    if let Some(path) = &args.json {
        let run = Run {
            provenance: &provenance,
            seed: args.seed,
            days,
            quick: args.quick,
            seconds,
            figures: &figures.rows,
        };
        let json = serde_json::to_string_pretty(&run).expect("json");
        std::fs::write(path, json).expect("write the JSON file");
    }
}
