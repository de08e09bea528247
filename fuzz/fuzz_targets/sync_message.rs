//! Fuzzes the sync message decoder: any bytes give a message or an error, never a panic, and a
//! decoded message encodes again. Run with `cargo fuzz run sync_message` from `fuzz/`.
#![no_main]

use carebank_core::sync::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        let _ = message.encode();
    }
});
