//! The circle's epoch keys, from the façade's side (decision 0014): which key a new care record
//! is sealed under, when the centre or a coordinator makes a new epoch key (the circle's first
//! care record, a revocation), and the grants that give existing keys to devices that lack them.

use std::collections::BTreeSet;

use super::{Actor, CareStore};
use crate::domain::CorrectionAction;
use crate::domain::{EpochKey, KeyGrant, KeyWrap, RecordBody, WRAPS_MAX};
use crate::error::{Error, Result};
use crate::identity::PublicKey;
use crate::identity::wrap::{self, WrapError};
use crate::ids::Id;
use crate::record::elder_key::ElderKeyEntry;
use crate::record::{ElderSecret, EpochSecret, RecordClass, SignedRecord};
use crate::store::wrap_context;

impl From<WrapError> for Error {
    fn from(e: WrapError) -> Error {
        Error::Corrupt(e.to_string())
    }
}

impl CareStore {
    /// Signs the next record of this device: a care record sealed under the circle's newest
    /// epoch key this device holds (the centre or a coordinator makes the circle's first one),
    /// anything else in the clear. Time-bank entries stay in the clear so that a member's
    /// statement verifies with the centre's key alone (`ledger::statement`). `elder` is the
    /// elder whose personal fields the body carries ([`CareStore::elder_of`], not erased: the
    /// caller checked); they are sealed under that elder's key.
    pub(super) fn sign_next(
        &mut self,
        body: RecordBody,
        elder: Option<Id>,
    ) -> Result<SignedRecord> {
        let sealed =
            RecordClass::of(&body) == RecordClass::Care && !matches!(body, RecordBody::Ledger(_));
        if !sealed {
            return Ok(SignedRecord::sign(self.next_envelope(body)?, &self.key)?);
        }
        let epoch = match self.store.sealing_key()? {
            Some(epoch) => epoch,
            None if self.coordinating() => {
                self.new_epoch()?;
                self.store.sealing_key()?.ok_or_else(|| {
                    Error::Corrupt("a new epoch key is not held after it was made".into())
                })?
            }
            None if self.store.circle_seals()? => {
                return Err(Error::NotAuthorised(
                    "this phone does not hold the circle's key for care records yet: sync with \
                     the coordinator's phone (or the relay) first"
                        .into(),
                ));
            }
            // A circle whose centre and coordinators run a build without sealed records.
            None => return Ok(SignedRecord::sign(self.next_envelope(body)?, &self.key)?),
        };
        let elder = match elder {
            Some(elder) => Some(self.elder_secret(elder, &epoch)?),
            None => None,
        };
        Ok(SignedRecord::sign_sealed(
            self.next_envelope(body)?,
            &self.key,
            &epoch,
            elder.as_ref(),
        )?)
    }

    /// The elder whose personal fields `body` carries, if any: the elder a record is about,
    /// or the elder of the visit a follow-up closes, or of the record a correction amends or
    /// voids. Also the elder a read of the record is logged against.
    pub(super) fn elder_of(&self, body: &RecordBody) -> Result<Option<Id>> {
        Ok(match body {
            RecordBody::Elder(e) => Some(e.elder_id),
            RecordBody::Visit(v) => Some(v.elder_id),
            RecordBody::Service(s) => Some(s.elder_id),
            RecordBody::Consent(c) => Some(c.elder_id),
            RecordBody::FollowUpDone(done) => self.elder_of_record(done.visit)?,
            RecordBody::Correction(c) => match &c.action {
                CorrectionAction::Amend { replacement } => self.elder_of(replacement)?,
                CorrectionAction::Void {} => self.elder_of_record(c.target)?,
            },
            _ => None,
        })
    }

    /// The elder the held record `id` is about, if it is about one.
    fn elder_of_record(&self, id: Id) -> Result<Option<Id>> {
        match self.store.get(id) {
            Ok(record) if !matches!(record.body(), RecordBody::Correction(_)) => {
                self.elder_of(record.body())
            }
            _ => Ok(None),
        }
    }

    /// The key this device seals `elder`'s personal fields under: one it holds, else a new one,
    /// whose keyring entry (wrapped under `epoch`) sync then carries to the circle's devices.
    fn elder_secret(&mut self, elder: Id, epoch: &EpochSecret) -> Result<ElderSecret> {
        if let Some(secret) = self.store.elder_secret(elder)? {
            return Ok(secret);
        }
        let secret = ElderSecret {
            elder,
            key_id: Id::random(),
            key: wrap::random_secret()?,
        };
        let entry = ElderKeyEntry::make(self.store.circle(), &self.key, &secret, epoch)
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        self.store.keep_elder_key(&entry, &secret)?;
        Ok(secret)
    }

    /// Whether this device is the centre or a coordinator's (a device the store does not trust
    /// is neither).
    fn coordinating(&self) -> bool {
        self.actor().is_ok_and(Actor::coordinates)
    }

    /// The devices that may read the circle's care records now: enrolled, not revoked, this one
    /// included.
    fn readers(&self) -> Result<BTreeSet<PublicKey>> {
        let mut readers: BTreeSet<PublicKey> = self
            .store
            .trusted_keys()?
            .into_iter()
            .filter(|k| k.revoked_from_ms.is_none())
            .map(|k| k.device_key)
            .collect();
        readers.insert(self.key.public_key());
        Ok(readers)
    }

    /// Makes a new epoch key, wrapped for every device that may read the circle's care
    /// records now; this device seals under it from now on. Returns its record's id.
    pub(super) fn new_epoch(&mut self) -> Result<Id> {
        let secret = wrap::random_secret()?;
        let readers = self.readers()?;
        if readers.len() > WRAPS_MAX {
            return Err(Error::Invalid(crate::domain::ValidationError::OutOfRange {
                field: "wraps",
                value: readers.len() as i64,
                min: 1,
                max: WRAPS_MAX as i64,
            }));
        }
        let context = wrap_context(self.store.circle());
        let wraps = readers
            .iter()
            .map(|device| {
                Ok(KeyWrap::new(
                    *device,
                    &wrap::wrap(&secret, device, &context)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let epoch = self.store.highest_epoch()?.saturating_add(1);
        self.write(RecordBody::EpochKey(EpochKey { epoch, wraps }))
    }

    /// Gives every epoch key this device holds to the devices that may read the circle's care
    /// records but were not given it (enrolled after the key was made, or by a coordinator who
    /// did not know of it): one grant per key. Only the centre and coordinators grant; for
    /// anyone else this does nothing. Returns the number of grants written.
    pub fn share_keys(&mut self) -> Result<usize> {
        if !self.coordinating() {
            return Ok(0);
        }
        let readers = self.readers()?;
        let context = wrap_context(self.store.circle());
        let mut written = 0;
        for (epoch, wrapped_for) in self.store.held_keys()? {
            let lacking: Vec<&PublicKey> = readers
                .iter()
                .filter(|r| !wrapped_for.contains(r))
                .take(WRAPS_MAX)
                .collect();
            if lacking.is_empty() {
                continue;
            }
            let wraps = lacking
                .into_iter()
                .map(|device| {
                    Ok(KeyWrap::new(
                        *device,
                        &wrap::wrap(&epoch.key, device, &context)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            self.write(RecordBody::KeyGrant(KeyGrant {
                key_id: epoch.id,
                wraps,
            }))?;
            written += 1;
        }
        Ok(written)
    }
}
