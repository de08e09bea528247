//! Fuzzes the readers of elder keys: a keyring entry from outside bytes (sync, bundles) and a
//! body's sealed personal part. Any input gives a value or an error, never a panic. Run with
//! `cargo fuzz run elder_key` from `fuzz/`.
#![no_main]

use carebank_core::ids::Id;
use carebank_core::record::elder_key::ElderKeyEntry;
use carebank_core::record::{Keyring, personal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = ElderKeyEntry::decode(data) {
        let _ = entry.open(&[0x42; 32]);
    }
    if let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(data) {
        let mut keys = Keyring::default();
        keys.insert_elder(Id::from_bytes([0xf0; 16]), [0x51; 32]);
        keys.erase(Id::from_bytes([0x4c; 16]));
        let _ = personal::open(&mut body, &keys);
    }
});
