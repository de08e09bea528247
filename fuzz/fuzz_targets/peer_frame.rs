//! Fuzzes the phone-to-phone frame decoders and the answering phone: any bytes give a signed
//! refusal or an error, never a panic. Run with `scripts/fuzz.sh` (or `cargo fuzz run
//! peer_frame` from `fuzz/`).
#![no_main]

mod common;

use carebank_core::ids::Id;
use carebank_core::sync::peer::{ReplyFrame, RequestFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ReplyFrame::decode(data);
    if let Ok(frame) = RequestFrame::decode(data) {
        let _ = frame.verify(Id::from_bytes([1; 16]));
    }
    common::with_phone(|phone| {
        let _ = phone.answer_sync(data);
    });
});
