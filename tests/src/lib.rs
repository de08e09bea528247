//! Shared fixtures for the cross-crate scenarios. The village itself (its members, their
//! device stores, the simulated clock, the reference workload) is `carebank-village`, re-exported
//! here; this crate adds what only tests need: single stores, records to write, relays, hostile
//! peers and couriers.

pub mod districts;
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

use std::collections::BTreeSet;

use carebank_core::CareStore;
use carebank_core::Circle;
use carebank_core::domain::{
    Funding, MealMode, Observations, Revocation, Service, ServiceDetail, Visit,
};
use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;

/// An in-memory device store signing with `key(seed)` that reads `clock`.
pub fn open(circle: Circle, seed: u64, clock: &SimClock) -> Result<CareStore> {
    let mut store = CareStore::open_in_memory(circle, key(seed))?;
    clock.drive(&mut store);
    Ok(store)
}

/// Every record id a store holds (for "nothing changed" checks).
pub fn record_ids(store: &CareStore) -> BTreeSet<Id> {
    store
        .record_ids()
        .unwrap_or_else(|e| panic!("the store's record ids: {e}"))
}

/// A village of `caregivers` caregivers, `volunteers` volunteers and `elders` elders, each
/// visited weekly and entitled to `entitled_hours` a month.
pub fn weekly_village(
    caregivers: usize,
    volunteers: usize,
    elders: usize,
    entitled_hours: u32,
) -> Village {
    Village::build(
        caregivers,
        volunteers,
        &vec![ElderSpec::weekly(entitled_hours); elders],
    )
    .expect("village")
}

/// Caregiver `caregiver` (0-based) records a plain visit to elder `elder` (0-based) at `at_ms`,
/// the village's clock moved there first.
pub fn visit_at(v: &mut Village, caregiver: usize, elder: usize, at_ms: u64) -> Id {
    v.clock.set(at_ms);
    let (elder, device) = (v.elders[elder], &mut v.caregivers[caregiver]);
    device
        .store
        .record_visit(visit(elder, device.member_id, at_ms))
        .expect("visit")
}

/// The revocation of a lost phone's key from `at_ms` (no last chain position named).
pub fn lost_phone(device_key: PublicKey, at_ms: u64) -> Revocation {
    Revocation {
        device_key,
        effective_ms: at_ms,
        reason: "手机丢失".into(),
        last_seq: None,
        last_id: None,
    }
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
