//! Sync: sans-I/O sessions that produce and consume messages, and the transports that carry
//! them. The protocol is specified in `docs/sync-protocol.md`.
//!
//! - [`Initiator`] drives one sync from the side that opens it (a phone syncing with the relay
//!   or with another phone); [`respond`] answers it on the other side (the relay, or the phone
//!   that was asked). Neither knows how bytes travel.
//! - [`Transport`] carries one request to a peer and brings back its answer; [`run`] drives a
//!   session over one, reporting progress and honouring cancellation. [`MemoryTransport`] joins
//!   two replicas in one process; the `http` feature adds an HTTP client for the relay.
//! - [`peer`] signs a phone-to-phone session's frames, so that phones serve only phones their
//!   circle trusts.
//! - [`bundle`] writes what a peer lacks to a file and reads it back on another device.
//! - A device's store is a [`SyncReplica`] and [`SyncPeers`] (`store_replica`, over the
//!   store's plain methods: the store knows nothing of sync), and a `DeviceSession` is what
//!   one sync borrows from the façade: the store, the device key and the nonces of the phone
//!   requests answered lately (`device`). The façade (`CareStore`) builds it per sync; this
//!   layer never names the façade.

mod auth;
pub mod bundle;
mod device;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod message;
pub mod peer;
mod replica;
mod responder;
pub mod seal;
mod session;
mod store_replica;
mod transport;
pub mod wire;

pub use crate::replica::DocHeads;
pub use auth::{AUTH_HEADER, REQUEST_CONTEXT, RequestAuth};
pub(crate) use device::DeviceSession;
pub use error::SyncError;
pub use message::{DocChanges, KeyPage, KeyringPart, MAGIC, Message, PROTOCOL_VERSION, digest};
pub use replica::{SyncPeers, SyncReplica, check_changes};
pub use responder::{Limits, respond, respond_bytes};
pub use session::{Initiator, Progress, Step};
pub use transport::{CancelToken, MemoryTransport, ProgressFn, Transport, run};
