//! Fuzzes the signed-record decoder: any bytes give a record or an error, never a panic.
//! Run with `cargo fuzz run record` from `fuzz/`.
#![no_main]

use carebank_core::record::SignedRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = SignedRecord::from_bytes(data);
});
