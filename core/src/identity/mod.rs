//! Device identity: ed25519 keys, where their secrets are kept, and signatures.

pub mod authority;
mod certificates;
mod keys;
mod secret_store;
pub mod trust;
pub(crate) mod wrap;

pub use certificates::{Certificate, KeyStanding, TrustChain};
pub use keys::{DeviceKey, PublicKey, SignatureBytes};
pub use secret_store::{
    FileSecretStore, MemorySecretStore, SecretStore, SecretStoreError, load_or_create_secret,
};
