//! Fuzzes the relay's authorization-header parser: any text gives a parsed header or an error,
//! never a panic. Run with `cargo fuzz run auth_header` from `fuzz/`.
#![no_main]

use carebank_core::sync::RequestAuth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(auth) = RequestAuth::parse_header(text) {
            let _ = auth.verify("POST", "/v1/circles/x/sync", data);
        }
    }
});
