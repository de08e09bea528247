//! The village's deterministic keys and ids: the same village on every run.

use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;

/// The village device key made from `seed` (the centre is 1, the coordinator 2, caregivers
/// 100.., volunteers 200..).
pub fn key(seed: u64) -> DeviceKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8] = 0xcb;
    DeviceKey::from_seed(bytes)
}

/// A deterministic id (`n` distinguishes them).
pub fn fixed_id(n: u64) -> Id {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[15] = 0x01;
    Id::from_bytes(bytes)
}

/// The household of the `i`-th volunteer (0-based): volunteers 0 and 1 share one, 2 and 3 the
/// next, and so on.
pub fn household_of(i: usize) -> Id {
    fixed_id(0x6100 + (i / 2) as u64)
}
