//! carebank-ffi: the UniFFI surface of carebank for the Android (Kotlin) and iOS (Swift) apps.
//!
//! Thin wrappers over `carebank-core`: flat records with ids as text and instants as `i64` Unix
//! milliseconds ([`records`], [`reports`]), one object ([`CareStore`]), a small error enum a UI
//! can act on ([`CareError`]) and the services the app provides as foreign traits
//! ([`platform`]: secure key storage, progress, cancellation). Bindings are generated from the
//! built library with the workspace's `uniffi-bindgen` (see `scripts/mobile.sh`).

mod convert;
pub mod error;
pub mod platform;
pub mod records;
pub mod reports;
mod store;
pub mod timebank;

use std::sync::Arc;

pub use error::{CareError, Result};
pub use platform::{
    CancellationToken, PhoneChannel, PlatformError, ProgressListener, ProgressUpdate,
    SecureKeyStore,
};
pub use store::CareStore;

uniffi::setup_scaffolding!();

/// A fresh random id (32 hex characters) for a new circle, site, member or elder.
#[uniffi::export]
pub fn new_id() -> String {
    carebank_core::ids::Id::random().to_string()
}

/// The public key of the device key kept in `keys` under `key_name`, creating the key on first
/// use: what a new phone shows the coordinator to be enrolled, and what a town centre puts in
/// its circle as `centre_key`.
#[uniffi::export]
pub fn device_public_key(keys: Arc<dyn SecureKeyStore>, key_name: String) -> Result<String> {
    Ok(store::device_key(keys, &key_name)?.public_key().to_string())
}
