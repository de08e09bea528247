//! Fuzzes the transfer statement decoder and verifier (通存通兑): any bytes must give a verdict,
//! never a panic. Run with `cargo fuzz run transfer` from `fuzz/`; the corpus starts from the
//! documented vector (`docs/transfer-vectors.json`: province seed 0x11, into circle `c2…c2`).
#![no_main]

use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::ledger::verify_transfer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let province = DeviceKey::from_seed([0x11; 32]).public_key();
    let _ = verify_transfer(data, province, Id::from_bytes([0xc2; 16]));
});
