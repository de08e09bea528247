//! Erasure of an elder's personal data (PIPL Art. 47; decision 0014, "Elder keys"), from the
//! façade's side. The coordinator's erasure record travels to every device and to the relay;
//! each destroys the elder's keys on receipt (`store::erasure`), a phone offline at the time on
//! its next sync, so the elder's name, birth year, notes, observations, location and consent
//! details can no longer be read anywhere, while every record still verifies and its facts
//! (kind, time, duration, funding, provider, hours) keep counting as an "erased elder".

use super::CareStore;
use crate::domain::{Erasure, ErasureReason, RecordBody};
use crate::error::Result;
use crate::ids::Id;

impl CareStore {
    /// Erases `elder`'s personal data on this device now, and on every device and the relay as
    /// the erasure record reaches them (the centre or a coordinator; the elder must be known
    /// here and not erased already). Returns the erasure record's id.
    pub fn erase_elder(&mut self, elder: Id, reason: ErasureReason) -> Result<Id> {
        self.write(RecordBody::Erasure(Erasure {
            elder_id: elder,
            reason,
        }))
    }

    /// Whether `elder`'s personal data was erased (on this device).
    pub fn is_erased(&self, elder: Id) -> Result<bool> {
        self.store.is_erased(elder)
    }
}
