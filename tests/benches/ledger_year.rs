//! Benchmark (run it, it is not a test): reconciling the reference village-year of time-bank
//! entries (`WORKLOAD.md`: about 13,000 a year) and then one new week on top.
//!
//! `cargo bench -p carebank-scenarios --bench ledger_year [-- SEED]`
//!
//! Figures, each the median of several runs:
//! - reconcile year: decode the year's records as the store hands them over (verified at
//!   ingest, so not verified again), index them and reconcile (standings, balances of every
//!   member, the conflict queue);
//! - reconcile week: the same for one new week on top of the reconciled year;
//! - verify+reconcile: the same from raw bytes with batch signature verification (a fresh
//!   replica or a statement verifier), and strict one-by-one verification for comparison.

use std::time::{Duration, Instant};

use carebank_core::ledger::Ledger;
use carebank_core::record::SignedRecord;
use carebank_scenarios::ledger_year::{LedgerYear, reconcile_on};

const RUNS: usize = 7;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn main() {
    let seed = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(2026);
    let LedgerYear {
        circle,
        centre,
        year: raw_year,
        week: raw_week,
        services,
        members,
        now,
    } = LedgerYear::generate(seed, 365);
    println!(
        "reference village-year (seed {seed}): {} records in the year, {} in the new week",
        raw_year.len(),
        raw_week.len()
    );

    let mut year_times = Vec::new();
    let mut pass_times = Vec::new();
    let mut week_times = Vec::new();
    let mut summary = (0, 0);
    for _ in 0..RUNS {
        let mut ledger = Ledger::new(circle, centre);
        let (t, out) = time(|| reconcile_on(&mut ledger, &raw_year, &services, &members, now));
        year_times.push(t);
        let (t, _) = time(|| ledger.reconcile(&services).conflicts().len());
        pass_times.push(t);
        let (t, out_week) = time(|| reconcile_on(&mut ledger, &raw_week, &services, &members, now));
        week_times.push(t);
        summary = (out.0, out_week.0);
    }
    println!(
        "reconcile year:            {:>8.1} ms  ({} queue items)",
        ms(median(year_times)),
        summary.0
    );
    println!(
        "  of which the pure pass:  {:>8.1} ms",
        ms(median(pass_times))
    );
    println!(
        "reconcile one new week:    {:>8.1} ms  ({} queue items)",
        ms(median(week_times)),
        summary.1
    );

    let mut verify_times = Vec::new();
    let mut verify_week_times = Vec::new();
    for _ in 0..3 {
        let mut ledger = Ledger::new(circle, centre);
        let (t, ingest) = time(|| ledger.ingest(raw_year.iter().map(Vec::as_slice)));
        assert!(ingest.rejected.is_empty(), "{:?}", ingest.rejected.first());
        let (t2, _) = time(|| ledger.reconcile(&services).conflicts().len());
        verify_times.push(t + t2);
        let (t, _) = time(|| {
            ledger.ingest(raw_week.iter().map(Vec::as_slice));
            ledger.reconcile(&services).conflicts().len()
        });
        verify_week_times.push(t);
    }
    println!(
        "batch-verify + reconcile year: {:>6.1} ms",
        ms(median(verify_times))
    );
    println!(
        "batch-verify + reconcile week: {:>6.1} ms",
        ms(median(verify_week_times))
    );
    let (strict, valid) = time(|| {
        raw_year
            .iter()
            .filter(|b| SignedRecord::from_bytes(b).is_ok())
            .count()
    });
    println!(
        "strict one-by-one verification of the year: {:>6.1} ms ({valid} valid)",
        ms(strict)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
