//! Fuzzes the official's reader of the relay's district answer (`FetchedCloses`): any bytes must
//! give a verdict, never a panic, and every close in it verified or refused. Run with
//! `cargo fuzz run district_closes` from `fuzz/`.
#![no_main]

use carebank_core::identity::DeviceKey;
use carebank_core::report::district::FetchedCloses;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(fetched) = FetchedCloses::decode(data) {
        let root = DeviceKey::from_seed([1; 32]).public_key();
        let district = DeviceKey::from_seed([2; 32]).public_key();
        let _ = fetched.verify(root, district);
    }
});
