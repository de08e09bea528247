//! What the demo shows at the end: what was played, the coordinator's view (monthly reports,
//! follow-ups, balances, the conflict queue and her decisions, integrity) and where the files are.

use std::time::Instant;

use anyhow::Result;
use carebank_core::CareStore;
use carebank_core::domain::{AccessPurpose, Verdict};
use carebank_core::hlc::Hlc;
use carebank_core::ids::Id;
use carebank_core::ledger::{Balance, Conflict, ConflictKind};
use carebank_core::report::{Lang, MonthlyReport};
use carebank_core::sync::http::RelayClient;
use carebank_core::time::{Month, UnixMs};
use carebank_village::{Played, START_MS};

use super::{Folders, Tally, sync};
use crate::words::{Names, balance_line, conflict_lines};

/// What was played, on the network and in the time bank, and how long it took.
pub(super) fn print_summary(played: &Played, tally: &Tally, started: Instant) {
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
}

/// The coordinator's view at `now`: she reads the reports, follow-ups, balances and conflict
/// queue, decides the queue, syncs her decisions and checks integrity. `restored` is the member
/// whose backup was restored on a second phone. Returns the last month played.
pub(super) fn review(
    coordinator: &mut CareStore,
    restored: Id,
    now: u64,
    relay: &RelayClient,
    tally: &mut Tally,
) -> Result<Month> {
    let last = print_monthly_reports(coordinator, now)?;
    println!(
        "\nOpen follow-ups\n  {} promised during visits and not yet marked done",
        coordinator.open_follow_ups(AccessPurpose::Care)?.len()
    );
    let names = Names::of(coordinator, false)?;
    let balances = print_top_balances(coordinator, &names, now)?;
    let queue = coordinator.conflict_queue()?;
    println!(
        "\nConflict queue: {} items need the coordinator",
        queue.len()
    );
    for c in &queue {
        println!("  {}", conflict_lines(c, &names, Lang::En));
    }
    let decided = decide_queue(coordinator, &queue)?;
    println!(
        "  the coordinator decided {decided} entries; the queue now holds {} items",
        coordinator.conflict_queue()?.len()
    );
    if let Some(b) = balances.iter().find(|b| b.member == restored) {
        println!(
            "  the restored phone's owner, before: {}",
            balance_line(b, &names)
        );
        println!(
            "  and after the decisions:           {}",
            balance_line(
                &coordinator.balance_at(restored, UnixMs::try_from(now)?)?,
                &names
            )
        );
    }
    sync(coordinator, relay, tally)?;
    println!(
        "\nIntegrity\n  {} records refused, {} from unknown or revoked keys",
        coordinator.rejections()?.len(),
        coordinator.untrusted_records()?.len()
    );
    Ok(last)
}

/// The monthly report of every month played, up to `now`; returns the last month.
fn print_monthly_reports(coordinator: &mut CareStore, now: u64) -> Result<Month> {
    let last = Month::of_instant(now as i64 - 1);
    let mut month = Month::of_instant(START_MS as i64);
    loop {
        let report = MonthlyReport::build(
            coordinator,
            month,
            UnixMs::try_from(now)?.min(UnixMs::new(month.end_ms() - 1)?),
            true,
        )?;
        print!("{}", report.to_table(Lang::En));
        if month == last {
            return Ok(last);
        }
        month = month.next();
    }
}

/// The five largest balances at `now`; returns every balance.
fn print_top_balances(coordinator: &CareStore, names: &Names, now: u64) -> Result<Vec<Balance>> {
    let mut balances = coordinator.balances_at(UnixMs::try_from(now)?)?;
    println!(
        "\nTime-bank balances (top 5 of {} members with hours)",
        balances.len()
    );
    balances.sort_by_key(|b| -b.available_minutes);
    for b in balances.iter().take(5) {
        println!("  {}", balance_line(b, names));
    }
    Ok(balances)
}

/// The coordinator resolves the queue; returns how many entries she decided. A restored
/// backup signs with the same key as the phone it came from, so the entries are told apart by
/// their clocks: of a fork, the earliest entry stands and the later ones are rejected; an
/// overdraft's debit that a rejected entry caused is rejected with it.
fn decide_queue(coordinator: &mut CareStore, queue: &[Conflict]) -> Result<usize> {
    let mut rejected: Vec<Id> = Vec::new();
    let mut decided = 0;
    for c in queue {
        let mut entries: Vec<(Hlc, Id)> = c
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
    Ok(decided)
}

/// Where the demo left its files, and a report command to try on them.
pub(super) fn print_files(folders: &Folders, last: Month) {
    println!(
        "\nFiles\n  {} (one folder per device: circle.json, store.db, keys/)",
        folders.devices.display()
    );
    println!(
        "  {} (bundle files carried by hand)\n  {} (the relay's SQLite database)",
        folders.bundles.display(),
        folders.relay.display()
    );
    println!(
        "  try: carebank report --store {} --month {last} --csv",
        folders.devices.join("coordinator").display()
    );
}
