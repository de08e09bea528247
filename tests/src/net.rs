//! Fixtures for sync over the network: a relay on loopback for a village's circle, and devices
//! whose signing key the test also holds (to forge, replay or tamper with requests).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use carebank_core::domain::{Enrolment, Role};
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::sync::http::RelayClient;
use carebank_core::{CareStore, Circle, Result};
use carebank_relay::{RelayConfig, RelayHandle};

use crate::{SimClock, Village, fixed_id};

/// A relay configuration for `circle` on a free loopback port (or `addr`), data in `dir`.
pub fn relay_config(
    dir: &Path,
    circle: Circle,
    addr: Option<SocketAddr>,
    database_url: Option<String>,
) -> RelayConfig {
    let listen = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let mut config = RelayConfig::new(listen, dir.to_path_buf());
    config.circles = vec![(circle.circle_id, circle.centre_key)];
    config.database_url = database_url;
    config
}

/// Starts a relay for `circle`.
pub fn start_relay(
    dir: &Path,
    circle: Circle,
    addr: Option<SocketAddr>,
    database_url: Option<String>,
) -> RelayHandle {
    carebank_relay::spawn(relay_config(dir, circle, addr, database_url)).expect("relay starts")
}

/// A client for `relay` that gives up quickly (tests take relays down on purpose).
pub fn client(relay: &RelayHandle) -> RelayClient {
    RelayClient::new(&relay.url())
        .expect("client")
        .with_retries(2, Duration::from_millis(20))
}

/// The key of test device `seed` (distinct from the village's own keys).
pub fn test_key(seed: u64) -> DeviceKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8] = 0x7e;
    DeviceKey::from_seed(bytes)
}

/// A store for test device `seed` in `circle`, reading `clock`, not enrolled.
pub fn stranger(circle: Circle, seed: u64, clock: &SimClock) -> Result<CareStore> {
    let mut store = CareStore::open_in_memory(circle, test_key(seed))?;
    let clock = clock.clone();
    store.set_wall_clock(Box::new(move || clock.now()));
    Ok(store)
}

/// A caregiver device enrolled by the village's coordinator, holding the village's records;
/// returns it with its member id.
pub fn enrolled_caregiver(v: &mut Village, seed: u64) -> Result<(CareStore, Id)> {
    let mut store = stranger(v.circle, seed, &v.clock)?;
    let member_id = fixed_id(0x9000 + seed);
    v.coordinator.store.enrol(Enrolment {
        member_id,
        name: format!("新助老员{seed}"),
        role: Role::Caregiver,
        site_id: v.point_id,
        device_key: store.public_key(),
        family_of: None,
        valid_from_ms: None,
        valid_until_ms: None,
        household: None,
        birth_year: None,
    })?;
    store.merge_from(&v.centre)?;
    store.merge_from(&v.coordinator.store)?;
    Ok((store, member_id))
}
