//! carebank-core: the shared core of carebank, an offline-first record of community home care
//! for elders (visits, 助餐, 助浴 …) and a time bank, for caregivers' and volunteers' phones.
//!
//! Layers, top to bottom. A module uses the modules of its own layer and of the layers below
//! it, never one above (`tests/layers.rs` checks the source against this list):
//! - [`report`]: the monthly report, read through the façade;
//! - [`api`]: [`CareStore`], the façade the bindings and the command line call;
//! - [`sync`]: sans-I/O sync sessions, bundle files and transports, and a device store's side
//!   of them (over a session the façade lends it, never the façade itself);
//! - [`ledger`]: the time bank: hash chains, balances, conflicts, statements;
//! - [`store`]: SQLite persistence, materialised indexes and the daily queries;
//! - [`replica`]: Automerge documents that hold the records and merge;
//! - [`domain`], [`record`] and [`identity`]: typed records and their validation, signed
//!   records, device keys and trust. One layer: a record's body is a domain type signed by a
//!   device key, and trust is read from enrolment records.
//!
//! Below them all: [`ids`], [`hlc`], [`time`], [`canonical`] and [`lang`], which use no layer,
//! and [`error`], the crate's error, which gathers each layer's own.
//!
//! The order is one of dependency, not the path a record takes (the façade checks a domain
//! record, signs it, files it in a replica document and stores it; sync then carries it out).
//! The ledger and sync read what the store holds; the store knows neither of them.

mod api;
pub mod canonical;
pub mod domain;
pub mod error;
pub mod hlc;
pub mod identity;
pub mod ids;
pub mod lang;
pub mod ledger;
pub mod record;
pub mod replica;
pub mod report;
pub mod store;
pub mod sync;
pub mod time;

pub use api::{
    Actor, CardSheet, CareStore, Circle, EXPORT_FORMAT, ElderExport, ExportedRecord, WallClock,
};
pub use error::{Error, Result};
