//! `carebank demo`: the reference village (`shared/WORKLOAD.md`) played for a few weeks, one
//! store per member, with a relay on loopback: phones go offline for days, meet each other,
//! carry bundle files, earn and spend time-bank hours; one volunteer restores a backup on a
//! second phone and spends the same hours twice. At the end, the coordinator's view.

mod coordinator;
mod days;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::device_dir::DeviceDir;
use anyhow::{Context, Result};
use carebank_core::domain::LedgerRules;
use carebank_core::identity::DeviceKey;
use carebank_core::store::Durability;
use carebank_core::sync::CancelToken;
use carebank_core::sync::http::RelayClient;
use carebank_core::{CareStore, Circle};
use carebank_relay::{RelayConfig, RelayHandle};
use carebank_village::Village;
use carebank_village::workload::WorkloadSpec;

/// `carebank demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Seed for the village and everything that happens in it.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Days to play (from Monday 2 November 2026; at least 10 for the staged double spend).
    #[arg(long, default_value_t = 14)]
    days: u64,
    /// Where to keep the device stores, bundles and the relay's database (default: a new
    /// folder under the system's temp folder).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Where the demo keeps its files.
struct Folders {
    /// One folder per device.
    devices: PathBuf,
    /// The bundle files carried by hand.
    bundles: PathBuf,
    /// The relay's database.
    relay: PathBuf,
}

impl Folders {
    /// The demo's folders under `out`, each created and empty.
    fn create(out: &Path) -> Result<Folders> {
        let folders = Folders {
            devices: out.join("devices"),
            bundles: out.join("bundles"),
            relay: out.join("relay"),
        };
        for dir in [&folders.devices, &folders.bundles, &folders.relay] {
            empty_folder(dir)?;
        }
        Ok(folders)
    }
}

fn empty_folder(dir: &Path) -> Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!("{} is not empty: choose another --out", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// What happened on the network and in the time bank.
#[derive(Default)]
struct Tally {
    relay_syncs: usize,
    relay_bytes: u64,
    meetings: usize,
    bundles: usize,
    claims: usize,
    confirmations: usize,
    redemptions: usize,
    gifts: usize,
}

/// The village's errors as the command line's.
fn from_village<T>(result: carebank_village::Result<T>) -> Result<T> {
    result.map_err(|e| anyhow::anyhow!(e))
}

/// `store` syncs with the relay, counted in `tally`.
fn sync(store: &mut CareStore, relay: &RelayClient, tally: &mut Tally) -> Result<()> {
    let progress = store.sync_with_relay(relay, &CancelToken::new(), &mut |_| {})?;
    tally.relay_syncs += 1;
    tally.relay_bytes += progress.bytes_sent + progress.bytes_received;
    Ok(())
}

/// A device's store in its own folder `dir`. A simulation: writes need not survive a power
/// cut one by one.
fn open_device(dir: &Path, circle: Circle, key: DeviceKey) -> Result<CareStore> {
    let mut store = DeviceDir::new(dir).create_with_key(circle, key)?;
    store.set_durability(Durability::Relaxed)?;
    Ok(store)
}

/// The reference village of `spec`, one device folder per member under `devices`.
fn build_village(spec: &WorkloadSpec, devices: &Path) -> Result<Village> {
    let mut opener = |name: &str, circle, key| Ok(open_device(&devices.join(name), circle, key)?);
    from_village(Village::build_with(
        &mut opener,
        spec.caregivers,
        spec.volunteers,
        &spec.elder_specs(),
    ))
}

/// A relay on loopback serving the village's circle from `dir`, and a client of it.
fn start_relay(v: &Village, dir: &Path) -> Result<(RelayHandle, RelayClient)> {
    let mut config = RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.to_path_buf());
    config.circles = vec![(v.circle.circle_id, v.circle.centre_key)];
    let relay = carebank_relay::spawn(config)?;
    let client = RelayClient::new(&relay.url())?.with_retries(2, Duration::from_millis(50));
    println!(
        "relay listening on {} (SQLite in {})",
        relay.url(),
        dir.display()
    );
    Ok((relay, client))
}

/// The centre sets the time bank's rules (Nanjing's 1,500-hour cap, 10 gifted hours a year)
/// and every store syncs once.
fn set_rules_and_sync_everyone(
    v: &mut Village,
    relay: &RelayClient,
    tally: &mut Tally,
) -> Result<()> {
    v.centre.set_ledger_rules(LedgerRules {
        cap_minutes: Some(1_500 * 60),
        gift_cap_minutes_per_year: Some(600),
        ..LedgerRules::default()
    })?;
    sync(&mut v.centre, relay, tally)?;
    for store in v.devices_mut() {
        sync(store, relay, tally)?;
    }
    Ok(())
}

/// Plays the demo and prints the coordinator's view.
pub fn run(a: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let out = a.out.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("carebank-demo-{}", std::process::id()))
    });
    let folders = Folders::create(&out)?;
    let spec = WorkloadSpec {
        seed: a.seed,
        ..WorkloadSpec::default()
    };
    println!(
        "carebank demo: 1 town centre, 1 village point, 1 coordinator, {} caregivers, {} volunteers, {} elders; {} days",
        spec.caregivers, spec.volunteers, spec.elders, a.days
    );
    let mut v = build_village(&spec, &folders.devices)?;
    let (relay, client) = start_relay(&v, &folders.relay)?;
    let mut tally = Tally::default();
    set_rules_and_sync_everyone(&mut v, &client, &mut tally)?;

    let mut playing = days::Playing::new(v, &client, tally, spec, &folders);
    playing.play(a.days)?;
    coordinator::print_summary(&playing.played, &playing.tally, started);
    let (v, tally) = (&mut playing.v, &mut playing.tally);
    let (restored, now) = (v.device(days::CLONED).member_id, v.clock.now());
    let last = coordinator::review(&mut v.coordinator.store, restored, now, &client, tally)?;
    relay.stop()?;
    coordinator::print_files(&folders, last);
    Ok(())
}
