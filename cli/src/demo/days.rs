//! The demo's days: the village's work, the time bank, the staged double spend, and the
//! network as it comes and goes (relay syncs, bundle files, phones that meet).

use anyhow::Result;
use carebank_core::CareStore;
use carebank_core::ids::Id;
use carebank_core::sync::CancelToken;
use carebank_core::sync::bundle::Since;
use carebank_core::sync::http::RelayClient;
use carebank_village::workload::{Workload, WorkloadSpec};
use carebank_village::{DAY, Played, START_MS, Village};

use super::{Folders, Tally, from_village, open_device, sync};

/// The day a volunteer restores a backup on a second phone and both spend the same hours.
const CLONE_DAY: u64 = 9;
/// The volunteer who does (device number: coordinator 0, caregivers 1–6, volunteers 7–26).
pub(super) const CLONED: usize = 7;

/// The village while the demo plays it, and what has happened so far.
pub(super) struct Playing<'a> {
    /// The village.
    pub(super) v: Village,
    /// What happened on the network and in the time bank.
    pub(super) tally: Tally,
    /// The care work written.
    pub(super) played: Played,
    relay: &'a RelayClient,
    folders: &'a Folders,
    spec: WorkloadSpec,
    plan: Workload,
    /// Per device, the first day it has a signal again.
    offline_until: Vec<u64>,
    /// Claims the coordinator has not confirmed yet.
    unconfirmed: Vec<Id>,
    /// The second phone that a restored backup made, once made.
    twin: Option<CareStore>,
}

impl<'a> Playing<'a> {
    /// Ready to play `spec`'s days on `v`: every phone but the coordinator's starts offline
    /// for up to 3 days.
    pub(super) fn new(
        v: Village,
        relay: &'a RelayClient,
        tally: Tally,
        spec: WorkloadSpec,
        folders: &'a Folders,
    ) -> Playing<'a> {
        let members: Vec<Id> = (0..v.device_count())
            .map(|i| v.device(i).member_id)
            .collect();
        let mut plan = Workload::new(spec.clone(), v.elders.clone(), members);
        let offline_until = (0..v.device_count())
            .map(|i| if i == 0 { 0 } else { plan.rng().below(4) })
            .collect();
        Playing {
            v,
            tally,
            played: Played::default(),
            relay,
            folders,
            spec,
            plan,
            offline_until,
            unconfirmed: Vec::new(),
            twin: None,
        }
    }

    /// Plays `days` days, then lets the network heal.
    pub(super) fn play(&mut self, days: u64) -> Result<()> {
        let bar = crate::progress::bar(days, "day");
        for day in 0..days {
            self.play_day(day)?;
            bar.set_message(format!("{} records", self.played.care_records));
            bar.inc(1);
        }
        self.heal_network()?;
        bar.finish_and_clear();
        Ok(())
    }

    fn play_day(&mut self, day: u64) -> Result<()> {
        let today = from_village(self.v.play(self.plan.day(day)))?;
        self.play_time_bank(&today)?;
        self.played += today;
        if day == CLONE_DAY {
            self.restore_backup_and_spend_twice()?;
        }
        self.sync_phones_with_a_signal(day)?;
        self.carry_a_bundle(day)?;
        self.two_phones_meet()?;
        // The coordinator syncs every day and confirms the claims that have reached her.
        self.coordinator_round()?;
        let clock = &self.v.clock;
        clock.set(clock.now().max(START_MS + (day + 1) * DAY));
        Ok(())
    }

    /// Volunteers claim the hours of the time-bank services they gave today; five spend an
    /// hour each, one gives half an hour to a relative, each by what their own phone shows.
    fn play_time_bank(&mut self, today: &Played) -> Result<()> {
        let time_bank = from_village(self.v.play_time_bank(today, self.plan.rng()))?;
        self.tally.claims += time_bank.claims.len();
        self.tally.redemptions += time_bank.redemptions;
        self.tally.gifts += time_bank.gifts;
        self.unconfirmed.extend(time_bank.claims);
        Ok(())
    }

    /// The staged double spend: a volunteer restores a backup of her phone onto a second
    /// phone; both, offline, spend everything she has.
    fn restore_backup_and_spend_twice(&mut self) -> Result<()> {
        // Her phone is up to date first: every claim she made is confirmed and known to it.
        self.sync_device(CLONED)?;
        self.coordinator_round()?;
        self.sync_device(CLONED)?;
        let mut twin = open_device(
            &self.folders.devices.join("volunteer-01-restored"),
            self.v.circle,
            self.v.device_key(CLONED),
        )?;
        self.v.clock.drive(&mut twin);
        let member = self.v.device(CLONED).member_id;
        let original = &mut self.v.device_mut(CLONED).store;
        twin.merge_from(original)?;
        let all = original.balance(member)?.available_minutes.max(60);
        original.redeem_hours(all, None)?;
        // The second phone spends a few minutes later (else both would write the very
        // same entry, which is one entry).
        self.v.clock.advance(5 * 60_000);
        twin.redeem_hours(all, None)?;
        self.tally.redemptions += 2;
        self.twin = Some(twin);
        Ok(())
    }

    /// Phones with a signal today sync with the relay, then go offline for 1 to 7 days; the
    /// restored phone syncs every day after it was made.
    fn sync_phones_with_a_signal(&mut self, day: u64) -> Result<()> {
        for i in 1..self.offline_until.len() {
            if self.offline_until[i] <= day {
                self.sync_device(i)?;
                self.offline_until[i] = day + 1 + self.plan.rng().below(7);
            }
        }
        if let Some(twin) = self.twin.as_mut().filter(|_| day > CLONE_DAY) {
            sync(twin, self.relay, &mut self.tally)?;
        }
        Ok(())
    }

    /// A caregiver without a signal sends a bundle file to the coordinator by chat.
    fn carry_a_bundle(&mut self, day: u64) -> Result<()> {
        let carrier = 1 + self.plan.rng().below(self.spec.caregivers as u64) as usize;
        if self.offline_until[carrier] <= day {
            return Ok(());
        }
        let bytes = self
            .v
            .device_mut(carrier)
            .store
            .export_bundle(&Since::Everything)?;
        let file = self
            .folders
            .bundles
            .join(format!("day{:02}-caregiver-{carrier:02}.cbundle", day + 1));
        std::fs::write(&file, &bytes)?;
        self.v
            .coordinator
            .store
            .import_bundle(&std::fs::read(&file)?)?;
        self.tally.bundles += 1;
        Ok(())
    }

    /// Some days, two phones meet in the village and sync directly.
    fn two_phones_meet(&mut self) -> Result<()> {
        let n = self.v.device_count() as u64;
        let rng = self.plan.rng();
        if !rng.chance(40) {
            return Ok(());
        }
        let (x, y) = (1 + rng.below(n - 1) as usize, 1 + rng.below(n - 1) as usize);
        if x != y {
            let (p, q) = self.v.pair_mut(x, y);
            p.sync_with_peer(q, &CancelToken::new(), &mut |_| {})?;
            self.tally.meetings += 1;
        }
        Ok(())
    }

    /// The network heals: everyone syncs, twice, so all hear of everything.
    fn heal_network(&mut self) -> Result<()> {
        for _ in 0..2 {
            for store in self.v.devices_mut() {
                sync(store, self.relay, &mut self.tally)?;
            }
            if let Some(twin) = self.twin.as_mut() {
                sync(twin, self.relay, &mut self.tally)?;
            }
        }
        Ok(())
    }

    /// The coordinator syncs, confirms every claim that has reached her, and syncs again.
    fn coordinator_round(&mut self) -> Result<()> {
        self.sync_device(0)?;
        self.tally.confirmations += from_village(self.v.confirm_reached(&mut self.unconfirmed))?;
        self.sync_device(0)
    }

    /// Member device `i` syncs with the relay.
    fn sync_device(&mut self, i: usize) -> Result<()> {
        sync(&mut self.v.device_mut(i).store, self.relay, &mut self.tally)
    }
}
