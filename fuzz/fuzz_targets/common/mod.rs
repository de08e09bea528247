//! What the fuzz targets that need a phone share: one in-memory store for the whole fuzzing
//! process (opening a store per input, with its schema, ran ~270 inputs a second; a refused
//! input changes nothing, so one store serves them all).

use std::cell::RefCell;

use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::{CareStore, Circle};

thread_local! {
    static PHONE: RefCell<Option<CareStore>> = RefCell::new({
        let centre = DeviceKey::from_seed([1; 32]);
        let circle = Circle {
            circle_id: Id::from_bytes([1; 16]),
            centre_key: centre.public_key(),
        };
        CareStore::open_in_memory(circle, DeviceKey::from_seed([2; 32])).ok()
    });
}

/// Runs `f` on the process's phone (a store of circle `[1; 16]`, centre key from seed 1,
/// device key from seed 2).
pub fn with_phone(f: impl FnOnce(&mut CareStore)) {
    PHONE.with(|phone| {
        if let Some(phone) = phone.borrow_mut().as_mut() {
            f(phone);
        }
    });
}
