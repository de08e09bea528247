//! What a batch of inserts leaves to do before its transaction commits: keys taken in (and the
//! records that waited for them), trust recomputed, erasures carried out, corrected records'
//! rows written again.

use std::collections::BTreeSet;

use rusqlite::Transaction;

use super::corrections::refresh;
use super::insert::insert;
use super::trust::recompute_trust;
use crate::error::{Error, Result};
use crate::identity::PublicKey;
use crate::identity::wrap::Unwrapper;
use crate::ids::Id;
use crate::record::{RecordError, SignedRecord};
use crate::store::keys::{self, StoredKeys};
use crate::store::sql_types::Columns;

/// What a batch of inserts needs done before its transaction commits.
#[derive(Default)]
pub(crate) struct Batch {
    /// An enrolment or revocation arrived: trust must be recomputed.
    pub trust_changed: bool,
    /// Records whose effective content must be recomputed (corrections arrived).
    pub targets: BTreeSet<Id>,
    /// Opens epoch keys wrapped for this device (none: keys are noted, not taken).
    pub unwrapper: Option<Unwrapper>,
    /// Epoch and elder keys this device took in during the batch: the records that waited for
    /// them are admitted before the batch finishes.
    pub new_keys: Vec<Id>,
    /// An erasure record arrived: erasures are carried out as the batch finishes.
    pub erasures: bool,
    /// The elders erased as the batch finished (the store then checkpoints its log, so that no
    /// copy of their blanked rows stays in it).
    pub erased: Vec<Id>,
}

impl Batch {
    /// A batch that takes in the keys wrapped for `unwrapper`'s device.
    pub fn new(unwrapper: Option<Unwrapper>) -> Batch {
        Batch {
            unwrapper,
            ..Batch::default()
        }
    }

    /// Brings derived state up to date with the batch's records; returns the ids of the sealed
    /// records that waited for a key taken in by the batch (or for an elder erased by it), now
    /// admitted.
    pub fn finish(&mut self, tx: &Transaction<'_>, centre: PublicKey) -> Result<Vec<Id>> {
        let mut opened = Vec::new();
        if !self.new_keys.is_empty() {
            // Elder keys wrapped under an epoch key that just arrived open now.
            let elder_keys = crate::store::elder_keys::open_pending(tx)?;
            self.new_keys.extend(elder_keys);
        }
        while let Some(key_id) = self.new_keys.pop() {
            let waiting = keys::take_waiting(tx, key_id)?;
            self.readmit(tx, waiting, &mut opened)?;
        }
        if self.trust_changed {
            // Trust decides which corrections apply, so every corrected record is redone.
            recompute_trust(tx, centre)?;
            let mut stmt = tx.prepare_cached("SELECT DISTINCT target FROM corrections")?;
            let corrected = stmt.query_map([], |r| r.column::<Id>(0))?;
            for target in corrected {
                self.targets.insert(target?);
            }
        }
        if self.erasures || self.trust_changed {
            for elder in crate::store::erasure::carry_out(tx, centre)? {
                let waiting = keys::take_waiting_for_elder(tx, elder)?;
                self.readmit(tx, waiting, &mut opened)?;
                self.erased.push(elder);
            }
        }
        for &target in &self.targets {
            refresh(tx, target)?;
        }
        Ok(opened)
    }

    /// Admits records that waited, now that they open.
    fn readmit(
        &mut self,
        tx: &Transaction<'_>,
        waiting: Vec<keys::Waiting>,
        opened: &mut Vec<Id>,
    ) -> Result<()> {
        for (id, doc_id, bytes) in waiting {
            let record = match SignedRecord::decode_unverified(&bytes, &StoredKeys(tx)) {
                Ok(record) => record,
                // Its body opened with the key that arrived, but its personal part waits for
                // an elder key still (or the other way round): it waits on, for that one.
                Err(RecordError::PersonalSealed { elder, key_id }) => {
                    keys::park(tx, id, key_id, Some(elder), &doc_id, &bytes)?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if record.id() != id {
                return Err(Error::Corrupt(format!("waiting record {id}")));
            }
            if insert(tx, &record, &doc_id, self)? {
                opened.push(record.id());
            }
        }
        Ok(())
    }
}
