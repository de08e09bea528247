//! Materialised indexes: each record is decoded once, on the way in, into rows that the daily
//! queries read. Everything here is a function of the set of records, whatever order they
//! arrived in, so two stores holding the same records answer every query the same way.
//!
//! - A row is `counted` when its author's key is trusted (enrolled through the centre or a
//!   coordinator) and the record's clock is before any revocation of that key.
//! - A row shows the effective content of its record: the original, or the replacement of the
//!   latest applicable amendment, or `voided` after a void. A correction applies when its author
//!   is trusted and is the original author's member, or a coordinator, or the centre.
//! - An entity (site, elder, member key) recorded twice keeps its earliest record by (clock, id).

mod admit;
mod batch;
mod corrections;
mod counted;
mod insert;
mod rejections;
mod rows;
mod trust;

pub(crate) use admit::{Admitted, Refusal, admit};
pub(crate) use batch::Batch;
pub(crate) use counted::counts;
pub(crate) use insert::insert;
pub use rejections::Rejection;
pub(crate) use rejections::{log_rejection, rejections};
pub use trust::TrustedKey;
pub(crate) use trust::{recompute_trust, trusted_keys, untrusted_records};
