//! Reconcile figures: the coordinator verifying and reconciling the year's time-bank entries
//! (`WORKLOAD.md`, about 13,000 a year), and the same after one new week.

use std::time::{Duration, Instant};

use carebank_core::ledger::Ledger;
use carebank_scenarios::ledger_year::{LedgerYear, reconcile_on};

use crate::figures::{Figures, Target};

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

/// Reconciles `days` days of entries and then one week more, `runs` times; the medians.
pub fn measure(figures: &mut Figures, seed: u64, days: u64, runs: usize) {
    let LedgerYear {
        circle,
        centre,
        year: raw_year,
        week: raw_week,
        services,
        members,
        now,
    } = LedgerYear::generate(seed, days);
    let (mut year_times, mut week_times, mut verify_times) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let mut ledger = Ledger::new(circle, centre);
        let t = Instant::now();
        reconcile_on(&mut ledger, &raw_year, &services, &members, now);
        year_times.push(t.elapsed());
        let t = Instant::now();
        reconcile_on(&mut ledger, &raw_week, &services, &members, now);
        week_times.push(t.elapsed());

        let mut ledger = Ledger::new(circle, centre);
        let t = Instant::now();
        let ingest = ledger.ingest(raw_year.iter().map(Vec::as_slice));
        assert!(ingest.rejected.is_empty(), "{:?}", ingest.rejected.first());
        ledger.reconcile(&services);
        verify_times.push(t.elapsed());
    }
    figures.target(
        format!("reconcile {} ledger entries ({days} days)", raw_year.len()),
        median(year_times),
        "ms",
        Target::AtMost(150.0),
    );
    figures.target(
        format!("reconcile one more week ({} entries)", raw_week.len()),
        median(week_times),
        "ms",
        Target::AtMost(5.0),
    );
    figures.add(
        "batch-verify + reconcile the entries from raw bytes",
        median(verify_times),
        "ms",
    );
}
