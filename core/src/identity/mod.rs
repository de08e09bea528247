//! Device identity: ed25519 keys, where their secrets are kept, and signatures.

mod keys;
mod secret_store;
pub mod trust;

pub use keys::{DeviceKey, PublicKey, SignatureBytes};
pub use secret_store::{FileSecretStore, MemorySecretStore, SecretStore, SecretStoreError};
