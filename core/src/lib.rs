//! carebank-core: the shared core of carebank, an offline-first record of community home care
//! for elders (visits, 助餐, 助浴 …) and a time bank, for caregivers' and volunteers' phones.
//!
//! Layers, top to bottom (data flows down, never up):
//! - [`api`]: [`CareStore`], the façade the bindings and the command line call;
//! - [`domain`]: typed records and their validation;
//! - [`record`] and [`identity`]: signed records, device keys, canonical encoding;
//! - [`ledger`]: the time bank: hash chains, balances, conflicts, statements;
//! - [`replica`]: Automerge documents that hold the records and merge;
//! - [`store`]: SQLite persistence, materialised indexes and the daily queries;
//! - [`sync`]: sans-I/O sync sessions, bundle files and transports.

pub mod api;
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

pub use api::{CareStore, Circle};
pub use error::{Error, Result};
