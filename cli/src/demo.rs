//! `carebank demo`: the reference village (`shared/WORKLOAD.md`) played for a few weeks on one
//! store per member, with devices going offline for days and meeting each other, then what the
//! coordinator sees at the end.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use carebank_core::report::{Lang, MonthlyReport};
use carebank_core::store::Durability;
use carebank_core::time::Month;
use carebank_scenarios::workload::{Workload, WorkloadSpec};
use carebank_scenarios::{DAY, Played, START_MS, Village};

use crate::device_dir::DeviceDir;
use indicatif::{ProgressBar, ProgressStyle};

/// `carebank demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Seed for the village and everything that happens in it.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Days to play (from Monday 2 November 2026).
    #[arg(long, default_value_t = 21)]
    days: u64,
    /// Where to keep the device stores (default: a new folder under the system's temp folder).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// What happened on the network.
#[derive(Default)]
struct Traffic {
    hub_syncs: usize,
    meetings: usize,
}

/// The fixture's errors as the command line's.
fn fixture<T>(result: carebank_scenarios::Result<T>) -> Result<T> {
    result.map_err(|e| anyhow::anyhow!(e))
}

/// Plays the demo and prints the coordinator's view.
pub fn run(a: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let out = match a.out {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("carebank-demo-{}", std::process::id())),
    };
    let devices_dir = out.join("devices");
    if devices_dir.exists() && std::fs::read_dir(&devices_dir)?.next().is_some() {
        anyhow::bail!(
            "{} is not empty: choose another --out",
            devices_dir.display()
        );
    }
    std::fs::create_dir_all(&devices_dir)
        .with_context(|| format!("creating {}", devices_dir.display()))?;

    let spec = WorkloadSpec {
        seed: a.seed,
        ..WorkloadSpec::default()
    };
    println!(
        "carebank demo: 1 town centre, 1 village point, 1 coordinator, {} caregivers, {} volunteers, {} elders; {} days",
        spec.caregivers, spec.volunteers, spec.elders, a.days
    );
    // A simulation: writes need not survive a power cut one by one.
    let mut opener = |name: &str, circle, key| {
        let mut store = DeviceDir::new(&devices_dir.join(name)).create_with_key(circle, key)?;
        store.set_durability(Durability::Relaxed)?;
        Ok(store)
    };
    let mut village = fixture(Village::build_with(
        &mut opener,
        spec.caregivers,
        spec.volunteers,
        &spec.elder_specs(),
    ))?;
    let members = (0..village.device_count())
        .map(|i| village.device(i).member_id)
        .collect();
    let mut plan = Workload::new(spec, village.elders.clone(), members);

    let bar = ProgressBar::new(a.days);
    bar.set_style(
        ProgressStyle::with_template("{spinner} day {pos}/{len} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let n = village.device_count();
    let mut offline_until: Vec<u64> = (0..n)
        .map(|i| if i == 0 { 0 } else { plan.rng().below(4) })
        .collect();
    let mut played = Played::default();
    let mut traffic = Traffic::default();
    for day in 0..a.days {
        played += fixture(village.play(plan.day(day)))?;
        // Phones that have a signal today sync through the hub; each then goes offline again
        // for 1 to 7 days. The coordinator's phone is at the village point and syncs daily.
        for (i, until) in offline_until.iter_mut().enumerate().skip(1) {
            if *until <= day {
                fixture(village.merge(0, i))?;
                fixture(village.merge(i, 0))?;
                traffic.hub_syncs += 1;
                *until = day + 1 + plan.rng().below(7);
            }
        }
        // Two phones meet in the village and exchange what they have.
        if plan.rng().chance(40) {
            let (x, y) = (
                1 + plan.rng().below(n as u64 - 1) as usize,
                1 + plan.rng().below(n as u64 - 1) as usize,
            );
            if x != y {
                fixture(village.merge(x, y))?;
                fixture(village.merge(y, x))?;
                traffic.meetings += 1;
            }
        }
        village
            .clock
            .set(village.clock.now().max(START_MS + (day + 1) * DAY));
        bar.set_message(format!("{} records", played.care_records));
        bar.inc(1);
    }
    // The network heals: everyone syncs once more.
    for i in 1..n {
        fixture(village.merge(0, i))?;
    }
    bar.finish_and_clear();

    let coordinator = &village.coordinator.store;
    let now = village.clock.now() as i64;
    println!(
        "played {} care records ({} voided, {} amended the same day), {} hub syncs, {} phone-to-phone meetings, in {:.1} s",
        played.care_records,
        played.voids,
        played.amendments,
        traffic.hub_syncs,
        traffic.meetings,
        started.elapsed().as_secs_f64()
    );
    let first = Month::of_instant(START_MS as i64);
    let last = Month::of_instant(now - 1);
    let mut month = first;
    loop {
        let report = MonthlyReport::build(coordinator, month, now.min(month.end_ms() - 1), true)?;
        print!("{}", report.to_table(Lang::En));
        if month == last {
            break;
        }
        month = month.next();
    }
    let follow_ups = coordinator.open_follow_ups()?;
    println!(
        "\nOpen follow-ups\n  {} promised during visits and not yet marked done",
        follow_ups.len()
    );
    println!(
        "\nIntegrity\n  {} records refused, {} from unknown or revoked keys",
        coordinator.rejections()?.len(),
        coordinator.untrusted_records()?.len()
    );
    println!(
        "\nFiles\n  {} (one folder per device: circle.json, store.db, keys/)",
        devices_dir.display()
    );
    println!(
        "  try: carebank report --store {} --month {last} --csv",
        devices_dir.join("coordinator").display()
    );
    Ok(())
}
