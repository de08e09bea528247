//! Shared fixtures for the cross-crate scenarios. The village itself (its members, their
//! device stores, the simulated clock, the reference workload) is `carebank-village`, re-exported
//! here; this crate adds what only tests need: single stores, records to write, relays, hostile
//! peers and couriers.

pub mod hostile;
pub mod ledger;
pub mod ledger_year;
pub mod net;
pub mod raw_files;
pub mod relay_load;

pub use carebank_village::{
    DAY, Device, ElderSpec, MINUTE, Played, Result, START_MS, SimClock, Village, enrolment,
    fixed_id, full_consent, key, workload,
};

use carebank_core::CareStore;
use carebank_core::Circle;
use carebank_core::domain::{Funding, MealMode, Observations, Service, ServiceDetail, Visit};
use carebank_core::ids::Id;

/// An in-memory device store signing with `key(seed)` that reads `clock`.
pub fn open(circle: Circle, seed: u64, clock: &SimClock) -> Result<CareStore> {
    let mut store = CareStore::open_in_memory(circle, key(seed))?;
    clock.drive(&mut store);
    Ok(store)
}

/// Every record id a store holds, in order (for "nothing changed" checks).
pub fn record_ids(store: &CareStore) -> Vec<Id> {
    store
        .store()
        .record_ids()
        .map(|ids| ids.into_iter().collect())
        .unwrap_or_else(|e| panic!("the store's record ids: {e}"))
}

/// A plain 30-minute visit by `caregiver` to `elder` starting at `at_ms`.
pub fn visit(elder: Id, caregiver: Id, at_ms: u64) -> Visit {
    Visit {
        elder_id: elder,
        caregiver_id: caregiver,
        check_in_ms: at_ms,
        check_out_ms: at_ms + 30 * MINUTE,
        location: None,
        observations: Observations::default(),
        risk_flags: vec![],
        follow_ups: vec![],
    }
}

/// A service of `detail` by `provider` to `elder` at `at_ms` lasting `minutes`.
pub fn service(
    elder: Id,
    provider: Id,
    at_ms: u64,
    minutes: i64,
    funding: Funding,
    detail: ServiceDetail,
) -> Service {
    Service {
        elder_id: elder,
        provider_id: provider,
        started_ms: at_ms,
        duration_minutes: minutes,
        funding,
        detail,
        confirmation: None,
    }
}

/// A delivered meal.
pub fn meal() -> ServiceDetail {
    ServiceDetail::Meal {
        mode: MealMode::Delivered,
        portions: 1,
        diet_notes: None,
    }
}
