//! The time-bank part of a reference day (`shared/WORKLOAD.md`): volunteers claim the hours of
//! the services they gave, members spend hours, one gives hours to a relative, and the
//! coordinator confirms the claims that have reached her phone. Each member decides by what
//! their own phone shows, as they would offline.

use carebank_core::domain::ConfirmMethod;
use carebank_core::ids::Id;

use crate::workload::Rng;
use crate::{Played, Result, Village};

/// Redemptions a day (of an hour each), as in the workload.
const REDEMPTIONS_A_DAY: usize = 5;
/// Minutes one redemption spends.
const REDEMPTION_MINUTES: i64 = 60;
/// Minutes the day's gift gives.
const GIFT_MINUTES: i64 = 30;

/// What the time bank did on one day.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TimeBankDay {
    /// Claims written (not yet confirmed).
    pub claims: Vec<Id>,
    /// Redemptions written.
    pub redemptions: usize,
    /// Gifts written.
    pub gifts: usize,
}

impl Village {
    /// Plays the time bank's day after the care work in `today`: each time-bank service is
    /// claimed by the volunteer who gave it; five volunteers whose phones show an hour spend it;
    /// one volunteer whose phone shows half an hour gives it to the other member of their
    /// household.
    pub fn play_time_bank(&mut self, today: &Played, rng: &mut Rng) -> Result<TimeBankDay> {
        let mut day = TimeBankDay::default();
        for (device, service, minutes) in &today.time_bank_services {
            let claim = self
                .device_mut(*device)
                .store
                .claim_hours(*service, *minutes)?;
            day.claims.push(claim);
        }
        let first = 1 + self.caregivers.len();
        let volunteers = self.volunteers.len();
        if volunteers == 0 {
            return Ok(day);
        }
        for _ in 0..REDEMPTIONS_A_DAY {
            let i = first + rng.below(volunteers as u64) as usize;
            let device = self.device_mut(i);
            let me = device.member_id;
            if device.store.balance(me)?.available_minutes >= REDEMPTION_MINUTES
                && device.store.redeem_hours(REDEMPTION_MINUTES, None).is_ok()
            {
                day.redemptions += 1;
            }
        }
        // Volunteers 2k and 2k+1 share a household (see `household_of`).
        let giver = rng.below(volunteers as u64) as usize;
        let relative = giver ^ 1;
        if relative < volunteers {
            let to = self.volunteers[relative].member_id;
            let device = &mut self.volunteers[giver];
            let me = device.member_id;
            if device.store.balance(me)?.available_minutes >= GIFT_MINUTES
                && device.store.gift_hours(to, GIFT_MINUTES).is_ok()
            {
                day.gifts += 1;
            }
        }
        Ok(day)
    }

    /// The coordinator confirms every claim in `unconfirmed` that has reached her phone; the
    /// others stay in the list. Returns how many she confirmed.
    pub fn confirm_reached(&mut self, unconfirmed: &mut Vec<Id>) -> Result<usize> {
        let coordinator = &mut self.coordinator.store;
        let mut confirmed = 0;
        let mut still = Vec::new();
        for claim in unconfirmed.drain(..) {
            if coordinator.get(claim).is_ok() {
                coordinator.confirm_claim(claim, ConfirmMethod::InPerson)?;
                confirmed += 1;
            } else {
                still.push(claim);
            }
        }
        *unconfirmed = still;
        Ok(confirmed)
    }
}
