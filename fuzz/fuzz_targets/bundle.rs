//! Fuzzes bundle-file import into a store: any bytes are imported or refused, never a panic.
//! Run with `scripts/fuzz.sh` (or `cargo fuzz run bundle` from `fuzz/`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::with_phone(|phone| {
        let _ = phone.import_bundle(data);
    });
});
