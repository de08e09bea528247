//! `carebank demo`: the reference village (`shared/WORKLOAD.md`) played for a few weeks, one
//! store per member, with a relay on loopback: phones go offline for days, meet each other,
//! carry bundle files, earn and spend time-bank hours; one volunteer restores a backup on a
//! second phone and spends the same hours twice. At the end, the coordinator's view.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::device_dir::DeviceDir;
use crate::words::{Names, balance_line, conflict_lines};
use anyhow::{Context, Result};
use carebank_core::CareStore;
use carebank_core::domain::{LedgerRules, Verdict};
use carebank_core::ids::Id;
use carebank_core::ledger::ConflictKind;
use carebank_core::report::{Lang, MonthlyReport};
use carebank_core::store::Durability;
use carebank_core::sync::CancelToken;
use carebank_core::sync::bundle::Since;
use carebank_core::sync::http::RelayClient;
use carebank_core::time::Month;
use carebank_relay::RelayConfig;
use carebank_village::workload::{Workload, WorkloadSpec};
use carebank_village::{DAY, Played, START_MS, Village};

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

/// The day a volunteer restores a backup on a second phone and both spend the same hours.
const CLONE_DAY: u64 = 9;
/// The volunteer who does (device number: coordinator 0, caregivers 1–6, volunteers 7–26).
const CLONED: usize = 7;

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
fn fixture<T>(result: carebank_village::Result<T>) -> Result<T> {
    result.map_err(|e| anyhow::anyhow!(e))
}

fn sync(store: &mut CareStore, relay: &RelayClient, tally: &mut Tally) -> Result<()> {
    let progress = store.sync_with_relay(relay, &CancelToken::new(), &mut |_| {})?;
    tally.relay_syncs += 1;
    tally.relay_bytes += progress.bytes_sent + progress.bytes_received;
    Ok(())
}

/// The coordinator syncs, confirms every claim that has reached her, and syncs again.
fn coordinator_round(
    v: &mut Village,
    relay: &RelayClient,
    tally: &mut Tally,
    unconfirmed: &mut Vec<Id>,
) -> Result<()> {
    sync(&mut v.coordinator.store, relay, tally)?;
    tally.confirmations += fixture(v.confirm_reached(unconfirmed))?;
    sync(&mut v.coordinator.store, relay, tally)
}

fn empty_folder(dir: &Path) -> Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!("{} is not empty: choose another --out", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Plays the demo and prints the coordinator's view.
pub fn run(a: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let out = a.out.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("carebank-demo-{}", std::process::id()))
    });
    let (devices_dir, bundles_dir, relay_dir) =
        (out.join("devices"), out.join("bundles"), out.join("relay"));
    for dir in [&devices_dir, &bundles_dir, &relay_dir] {
        empty_folder(dir)?;
    }
    let spec = WorkloadSpec {
        seed: a.seed,
        ..WorkloadSpec::default()
    };
    println!(
        "carebank demo: 1 town centre, 1 village point, 1 coordinator, {} caregivers, {} volunteers, {} elders; {} days",
        spec.caregivers, spec.volunteers, spec.elders, a.days
    );
    // A simulation: writes need not survive a power cut one by one.
    let open_device = |dir: &Path, circle, key| -> Result<CareStore> {
        let mut store = DeviceDir::new(dir).create_with_key(circle, key)?;
        store.set_durability(Durability::Relaxed)?;
        Ok(store)
    };
    let mut opener =
        |name: &str, circle, key| Ok(open_device(&devices_dir.join(name), circle, key)?);
    let mut v = fixture(Village::build_with(
        &mut opener,
        spec.caregivers,
        spec.volunteers,
        &spec.elder_specs(),
    ))?;

    let mut config = RelayConfig::new(([127, 0, 0, 1], 0).into(), relay_dir.clone());
    config.circles = vec![(v.circle.circle_id, v.circle.centre_key)];
    let relay = carebank_relay::spawn(config)?;
    let client = RelayClient::new(&relay.url())?.with_retries(2, Duration::from_millis(50));
    println!(
        "relay listening on {} (SQLite in {})",
        relay.url(),
        relay_dir.display()
    );

    let mut tally = Tally::default();
    // The centre sets the time bank's rules: Nanjing's 1,500-hour cap, 10 gifted hours a year.
    v.centre.set_ledger_rules(LedgerRules {
        cap_minutes: Some(1_500 * 60),
        gift_cap_minutes_per_year: Some(600),
        ..LedgerRules::default()
    })?;
    sync(&mut v.centre, &client, &mut tally)?;
    for store in v.devices_mut() {
        sync(store, &client, &mut tally)?;
    }

    let members: Vec<Id> = (0..v.device_count())
        .map(|i| v.device(i).member_id)
        .collect();
    let mut plan = Workload::new(spec.clone(), v.elders.clone(), members.clone());
    let n = v.device_count();
    let mut offline_until: Vec<u64> = (0..n)
        .map(|i| if i == 0 { 0 } else { plan.rng().below(4) })
        .collect();
    let mut unconfirmed: Vec<Id> = Vec::new();
    let mut clone: Option<CareStore> = None;
    let mut played = Played::default();

    let bar = crate::progress::bar(a.days, "day");
    for day in 0..a.days {
        let today = fixture(v.play(plan.day(day)))?;
        // Volunteers claim the hours of the time-bank services they gave today; five spend an
        // hour each, one gives half an hour to a relative, each by what their own phone shows.
        let time_bank = fixture(v.play_time_bank(&today, plan.rng()))?;
        tally.claims += time_bank.claims.len();
        tally.redemptions += time_bank.redemptions;
        tally.gifts += time_bank.gifts;
        unconfirmed.extend(time_bank.claims);
        played += today;

        // The staged double spend: a volunteer restores a backup of her phone onto a second
        // phone; both, offline, spend everything she has.
        if day == CLONE_DAY {
            // Her phone is up to date first: every claim she made is confirmed and known to it.
            sync(&mut v.device_mut(CLONED).store, &client, &mut tally)?;
            coordinator_round(&mut v, &client, &mut tally, &mut unconfirmed)?;
            sync(&mut v.device_mut(CLONED).store, &client, &mut tally)?;
            let mut twin = open_device(
                &devices_dir.join("volunteer-01-restored"),
                v.circle,
                v.device_key(CLONED),
            )?;
            let twin_clock = v.clock.clone();
            twin.set_wall_clock(Box::new(move || twin_clock.now()));
            let original = &mut v.device_mut(CLONED).store;
            twin.merge_from(original)?;
            let all = original.balance(members[CLONED])?.available_minutes.max(60);
            original.redeem_hours(all, None)?;
            // The second phone spends a few minutes later (else both would write the very
            // same entry, which is one entry).
            v.clock.advance(5 * 60_000);
            twin.redeem_hours(all, None)?;
            tally.redemptions += 2;
            clone = Some(twin);
        }

        // Phones with a signal today sync with the relay, then go offline for 1 to 7 days.
        for (i, until) in offline_until.iter_mut().enumerate().skip(1) {
            if *until <= day {
                sync(&mut v.device_mut(i).store, &client, &mut tally)?;
                *until = day + 1 + plan.rng().below(7);
            }
        }
        if let Some(twin) = clone.as_mut().filter(|_| day > CLONE_DAY) {
            sync(twin, &client, &mut tally)?;
        }
        // A caregiver without a signal sends a bundle file to the coordinator by chat.
        let carrier = 1 + plan.rng().below(spec.caregivers as u64) as usize;
        if offline_until[carrier] > day {
            let bytes = v
                .device_mut(carrier)
                .store
                .export_bundle(&Since::Everything)?;
            let file =
                bundles_dir.join(format!("day{:02}-caregiver-{carrier:02}.cbundle", day + 1));
            std::fs::write(&file, &bytes)?;
            v.coordinator.store.import_bundle(&std::fs::read(&file)?)?;
            tally.bundles += 1;
        }
        // Two phones meet in the village and sync directly.
        if plan.rng().chance(40) {
            let (x, y) = (
                1 + plan.rng().below(n as u64 - 1) as usize,
                1 + plan.rng().below(n as u64 - 1) as usize,
            );
            if x != y {
                let (p, q) = v.pair_mut(x, y);
                p.sync_with_peer(q, &CancelToken::new(), &mut |_| {})?;
                tally.meetings += 1;
            }
        }
        // The coordinator syncs every day and confirms the claims that have reached her.
        coordinator_round(&mut v, &client, &mut tally, &mut unconfirmed)?;
        v.clock.set(v.clock.now().max(START_MS + (day + 1) * DAY));
        bar.set_message(format!("{} records", played.care_records));
        bar.inc(1);
    }
    // The network heals: everyone syncs, twice, so all hear of everything.
    for _ in 0..2 {
        for store in v.devices_mut() {
            sync(store, &client, &mut tally)?;
        }
        if let Some(twin) = clone.as_mut() {
            sync(twin, &client, &mut tally)?;
        }
    }
    bar.finish_and_clear();
    let now = v.clock.now();
    println!(
        "played {} care records ({} voided, {} amended the same day) in {:.1} s",
        played.care_records,
        played.voids,
        played.amendments,
        started.elapsed().as_secs_f64()
    );
    println!(
        "network: {} relay syncs ({} kB), {} phone-to-phone meetings, {} bundle files",
        tally.relay_syncs,
        tally.relay_bytes / 1024,
        tally.meetings,
        tally.bundles
    );
    println!(
        "time bank: {} claims, {} confirmed by the coordinator, {} redemptions, {} gifts",
        tally.claims, tally.confirmations, tally.redemptions, tally.gifts
    );

    let coordinator = &mut v.coordinator.store;
    let first = Month::of_instant(START_MS as i64);
    let last = Month::of_instant(now as i64 - 1);
    let mut month = first;
    loop {
        let report = MonthlyReport::build(
            coordinator,
            month,
            (now as i64).min(month.end_ms() - 1),
            true,
        )?;
        print!("{}", report.to_table(Lang::En));
        if month == last {
            break;
        }
        month = month.next();
    }
    println!(
        "\nOpen follow-ups\n  {} promised during visits and not yet marked done",
        coordinator
            .open_follow_ups(carebank_core::domain::AccessPurpose::Care)?
            .len()
    );

    let names = Names::of(coordinator, false)?;
    let mut balances = coordinator.balances_at(now)?;
    println!(
        "\nTime-bank balances (top 5 of {} members with hours)",
        balances.len()
    );
    balances.sort_by_key(|b| -b.available_minutes);
    for b in balances.iter().take(5) {
        println!("  {}", balance_line(b, &names));
    }

    let queue = coordinator.conflict_queue()?;
    println!(
        "\nConflict queue: {} items need the coordinator",
        queue.len()
    );
    for c in &queue {
        println!("  {}", conflict_lines(c, &names, Lang::En));
    }
    // The coordinator resolves them. A restored backup signs with the same key as the phone
    // it came from, so the entries are told apart by their clocks: of a fork, the earliest
    // entry stands and the later ones are rejected; an overdraft's debit that a rejected
    // entry caused is rejected with it.
    let mut rejected: Vec<Id> = Vec::new();
    let mut decided = 0;
    for c in &queue {
        let mut entries: Vec<(carebank_core::hlc::Hlc, Id)> = c
            .awaiting
            .iter()
            .filter_map(|e| coordinator.get(*e).ok().map(|r| (r.hlc(), *e)))
            .collect();
        entries.sort();
        for (n, (_, entry)) in entries.iter().enumerate() {
            let reject = match c.kind {
                ConflictKind::Fork { .. } => n > 0,
                ConflictKind::Overdraft { .. } => true,
                _ => false,
            };
            if rejected.contains(entry) {
                continue;
            }
            let (verdict, reason) = if reject {
                rejected.push(*entry);
                (Verdict::Reject, "恢复备份的手机重复消费同一时长，驳回")
            } else {
                (Verdict::Approve, "核实无误，保留")
            };
            coordinator.decide(*entry, verdict, reason)?;
            decided += 1;
        }
    }
    println!(
        "  the coordinator decided {decided} entries; the queue now holds {} items",
        coordinator.conflict_queue()?.len()
    );
    if let Some(b) = balances.iter().find(|b| b.member == members[CLONED]) {
        println!(
            "  the restored phone's owner, before: {}",
            balance_line(b, &names)
        );
        println!(
            "  and after the decisions:           {}",
            balance_line(&coordinator.balance_at(members[CLONED], now)?, &names)
        );
    }
    sync(coordinator, &client, &mut tally)?;
    println!(
        "\nIntegrity\n  {} records refused, {} from unknown or revoked keys",
        coordinator.rejections()?.len(),
        coordinator.untrusted_records()?.len()
    );
    relay.stop()?;
    println!(
        "\nFiles\n  {} (one folder per device: circle.json, store.db, keys/)",
        devices_dir.display()
    );
    println!(
        "  {} (bundle files carried by hand)\n  {} (the relay's SQLite database)",
        bundles_dir.display(),
        relay_dir.display()
    );
    println!(
        "  try: carebank report --store {} --month {last} --csv",
        devices_dir.join("coordinator").display()
    );
    Ok(())
}
