//! Fuzzes the phone-to-phone frame decoders and the answering phone: any bytes give a signed
//! refusal or an error, never a panic. Run with `cargo fuzz run peer_frame` from `fuzz/`.
#![no_main]

use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::sync::peer::{ReplyFrame, RequestFrame};
use carebank_core::{CareStore, Circle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ReplyFrame::decode(data);
    if let Ok(frame) = RequestFrame::decode(data) {
        let _ = frame.verify(Id::from_bytes([1; 16]));
    }
    let centre = DeviceKey::from_seed([1; 32]);
    let circle = Circle {
        circle_id: Id::from_bytes([1; 16]),
        centre_key: centre.public_key(),
    };
    if let Ok(mut phone) = CareStore::open_in_memory(circle, DeviceKey::from_seed([2; 32])) {
        let _ = phone.answer_sync(data);
    }
});
