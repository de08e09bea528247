//! Fuzzes bundle-file import into an empty store: any bytes are imported or refused, never a
//! panic. Run with `cargo fuzz run bundle` from `fuzz/`.
#![no_main]

use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::{CareStore, Circle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let centre = DeviceKey::from_seed([1; 32]);
    let circle = Circle {
        circle_id: Id::from_bytes([1; 16]),
        centre_key: centre.public_key(),
    };
    if let Ok(mut phone) = CareStore::open_in_memory(circle, DeviceKey::from_seed([2; 32])) {
        let _ = phone.import_bundle(data);
    }
});
