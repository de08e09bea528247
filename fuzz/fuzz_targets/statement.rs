//! Fuzzes the statement decoder and verifier: any bytes must give a verdict, never a panic.
//! Run with `cargo fuzz run statement` from `fuzz/`.
#![no_main]

use carebank_core::identity::DeviceKey;
use carebank_core::ledger::verify_statement;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let centre = DeviceKey::from_seed([1; 32]).public_key();
    let _ = verify_statement(data, centre);
});
