//! [`CareStore`]: the one façade the bindings and the command line call. It checks every new
//! record against what the store knows (does the elder exist, may this device do this, did the
//! elder consent), stamps it with the hybrid logical clock, signs it and stores it durably.

mod cards;
mod circle_keys;
mod erasure;
mod ledger_ops;
mod names;
mod privacy;
mod sync;
mod transfer_ops;

pub use cards::CardSheet;
pub use privacy::{EXPORT_FORMAT, ElderExport, ExportedRecord};

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use crate::domain::{
    ConfirmedBy, Correction, CorrectionAction, Elder, Enrolment, FollowUpDone, MemberProfile,
    RecordBody, Revocation, Role, Service, Site, SiteKind, ValidationError, Visit,
};
use crate::error::{Error, Kind, Result};
use crate::hlc::{Hlc, SharedClock};
use crate::identity::wrap::Unwrapper;
use crate::identity::{DeviceKey, PublicKey};
use crate::ids::Id;
use crate::record::{Envelope, EpochKeys, FORMAT_VERSION, SignedRecord};
use crate::replica::DocId;
use crate::store::{
    ChainProblem, Durability, FutureRecord, IngestReport, KeysTaken, Maintenance, PersonTimes,
    Rejection, Store, StoreKey, TrustedKey,
};
use crate::sync::peer::SeenNonces;
use crate::time::{Month, UnixMs};

/// Which circle a store belongs to: its id and the town centre's key (the root of trust).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Circle {
    /// The circle's random id.
    pub circle_id: Id,
    /// The town centre's public key.
    pub centre_key: PublicKey,
}

/// A source of wall-clock time in Unix milliseconds (replaceable in tests).
pub type WallClock = Box<dyn Fn() -> u64 + Send + Sync>;

/// One device's store of care records.
pub struct CareStore {
    store: Store,
    key: DeviceKey,
    ledger: RefCell<ledger_ops::LedgerCache>,
    peer_nonces: SeenNonces,
}

/// Who this device acts as in the circle, as the store sees it now (its key enrolled and not
/// revoked): the town centre, or a member with the member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The town centre's key.
    Centre,
    /// A member's device: the member's role and id.
    Member(Role, Id),
}

/// Refuses an action this device may not take.
fn deny(what: &str) -> Result<()> {
    Err(Error::NotAuthorised(what.to_string()))
}

impl Actor {
    /// The centre or a coordinator: who enrols, revokes, gives out keys and records consent.
    pub fn coordinates(self) -> bool {
        matches!(self, Actor::Centre | Actor::Member(Role::Coordinator, _))
    }
}

impl CareStore {
    /// Opens (or creates) the store at `path` for `circle`, encrypted under `store_key`, signing
    /// with `key`. A wrong `store_key` fails with [`crate::Error::WrongStoreKey`] and changes nothing.
    pub fn open(
        path: &Path,
        store_key: &StoreKey,
        circle: Circle,
        key: DeviceKey,
    ) -> Result<CareStore> {
        let store = Store::open(path, store_key, circle.circle_id, circle.centre_key)?;
        CareStore::with_store(store, circle, key)
    }

    fn with_store(mut store: Store, circle: Circle, key: DeviceKey) -> Result<CareStore> {
        store.take_keys_for(Unwrapper::of(&key))?;
        store.rebuild_if_outdated()?;
        Ok(CareStore {
            store,
            key,
            ledger: ledger_ops::LedgerCache::new(circle),
            peer_nonces: SeenNonces::default(),
        })
    }

    /// A store in memory only (tests and simulations).
    pub fn open_in_memory(circle: Circle, key: DeviceKey) -> Result<CareStore> {
        let store = Store::open_in_memory(circle.circle_id, circle.centre_key)?;
        CareStore::with_store(store, circle, key)
    }

    /// Replaces the wall clock (simulations play days in seconds). The store keeps it: it
    /// stamps this device's records and bounds the clocks adopted from others'.
    pub fn set_wall_clock(&mut self, wall: WallClock) {
        self.store.set_wall_clock(SharedClock::from(wall));
    }

    /// Chooses how hard writes are pushed to disk; the default is [`Durability::EveryWrite`].
    pub fn set_durability(&mut self, durability: Durability) -> Result<()> {
        self.store.set_durability(durability)
    }

    /// Work a write leaves for when the phone is idle (documents compacted, the write-ahead log
    /// truncated): call it from a background job, not after every write.
    pub fn run_maintenance(&mut self) -> Result<Maintenance> {
        self.store.run_maintenance()
    }

    /// This device's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The circle.
    pub fn circle(&self) -> Circle {
        Circle {
            circle_id: self.store.circle(),
            centre_key: self.store.centre(),
        }
    }

    /// The underlying store, read-only: for tests that inspect what it holds. The bindings,
    /// the command line, the relay and the bench call the façade instead.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Checks, signs and durably stores a new record; returns its id.
    pub fn write(&mut self, body: RecordBody) -> Result<Id> {
        body.validate()?;
        // Every device logs its own reads, enrolled or not: an access log needs no role.
        if !matches!(body, RecordBody::AccessLog(_)) {
            self.check_context(&body)?;
        }
        // Nothing more is recorded about an erased elder (nor is an elder erased twice).
        let elder = self.elder_of(&body)?;
        let about = match &body {
            RecordBody::Erasure(e) => Some(e.elder_id),
            _ => elder,
        };
        if let Some(about) = about
            && self.store.is_erased(about)?
        {
            return Err(Error::ElderErased(about));
        }
        let record = self.sign_next(body, elder)?;
        self.store.append(&record)?;
        Ok(record.id())
    }

    /// The envelope of the next record this device signs: its clock's next timestamp and the
    /// next position in its chain.
    pub(crate) fn next_envelope(&self, body: RecordBody) -> Result<Envelope> {
        Ok(Envelope {
            v: FORMAT_VERSION,
            circle: self.store.circle(),
            author: self.key.public_key(),
            hlc: self.store.clock()?.tick(self.store.now()?),
            body,
            link: Some(self.store.next_link(self.key.public_key())?),
        })
    }

    /// Adds a centre, station or village point (the centre only).
    pub fn add_site(&mut self, site: Site) -> Result<Id> {
        self.write(RecordBody::Site(site))
    }

    /// Certifies a member's device key. The enrolment, which the relay reads, carries no name:
    /// the member's name follows in a sealed profile record. The new device is given the
    /// circle's epoch keys (the first one is made if there is none yet).
    pub fn enrol(&mut self, mut enrolment: Enrolment) -> Result<Id> {
        let profile = MemberProfile {
            member_id: enrolment.member_id,
            name: std::mem::take(&mut enrolment.name),
        };
        if !profile.name.is_empty() {
            profile.validate()?;
        }
        let id = self.write(RecordBody::Enrolment(enrolment))?;
        if self.store.sealing_key()?.is_none() {
            self.new_epoch()?;
        }
        self.share_keys()?;
        if !profile.name.is_empty() {
            self.write(RecordBody::MemberProfile(profile))?;
        }
        Ok(id)
    }

    /// Withdraws a device key. A revocation that names no chain position accepts the key's
    /// records up to the last one this device holds (none, if it holds none): what the phone
    /// signs afterwards never counts, whatever its clock says. Pass `last_seq` (and `last_id`)
    /// to accept records this device has not received yet, such as the position the member
    /// reports when reporting the phone lost.
    pub fn revoke(&mut self, mut revocation: Revocation) -> Result<Id> {
        if revocation.last_seq.is_none() {
            let head = self.store.chain_head(revocation.device_key)?;
            revocation.last_seq = Some(head.map_or(0, |(seq, _)| seq));
            revocation.last_id = head.map(|(_, id)| id);
        }
        let id = self.write(RecordBody::Revocation(revocation))?;
        // What is recorded from now on is sealed under a key the revoked phone never gets.
        if self.store.circle_seals()? {
            self.new_epoch()?;
        }
        Ok(id)
    }

    /// Every fork and gap in the device chains this device holds, for the coordinator.
    pub fn chain_problems(&self) -> Result<Vec<ChainProblem>> {
        self.store.chain_problems()
    }

    /// Enrols an elder.
    pub fn enrol_elder(&mut self, elder: Elder) -> Result<Id> {
        self.write(RecordBody::Elder(elder))
    }

    /// Records a home visit.
    pub fn record_visit(&mut self, visit: Visit) -> Result<Id> {
        self.write(RecordBody::Visit(visit))
    }

    /// Records a service.
    pub fn record_service(&mut self, service: Service) -> Result<Id> {
        self.write(RecordBody::Service(service))
    }

    /// Marks a visit's follow-up done.
    pub fn follow_up_done(&mut self, done: FollowUpDone) -> Result<Id> {
        self.write(RecordBody::FollowUpDone(done))
    }

    /// Voids or amends an earlier record, with a reason.
    pub fn correct(&mut self, target: Id, action: CorrectionAction, reason: &str) -> Result<Id> {
        self.write(RecordBody::Correction(Correction {
            target,
            action,
            reason: reason.to_string(),
        }))
    }

    /// Reads and re-verifies one record as stored, for sync, verification and tests; it is not
    /// logged. What shows a record's content to a person goes through
    /// [`CareStore::read_record`], which logs the read.
    pub fn get(&self, id: Id) -> Result<SignedRecord> {
        self.store.get(id)
    }

    /// Pulls every document of another store into this one, and its keyring entries (an
    /// in-process merge: the same path that bundle files and sync use once they have the bytes).
    pub fn merge_from(&mut self, other: &CareStore) -> Result<IngestReport> {
        // The keys first, so that the records about elders open as they arrive.
        let admitted = self.take_keyring(&other.keyring()?)?.admitted;
        let mut report = self.merge_docs(other.documents()?)?;
        report.added.extend(admitted);
        Ok(report)
    }

    /// Every keyring entry this store holds (elder keys, sealed for the circle's devices).
    pub fn keyring(&self) -> Result<Vec<Vec<u8>>> {
        let entries = self.store.elder_keys_except(&[])?;
        Ok(entries.into_iter().map(|(_, entry)| entry).collect())
    }

    /// Takes keyring entries from elsewhere (before or after the documents): see
    /// [`Store::take_elder_keys`](crate::store::Store::take_elder_keys).
    pub fn take_keyring(&mut self, entries: &[Vec<u8>]) -> Result<KeysTaken> {
        self.store.take_elder_keys(entries)
    }

    /// Every document this store holds, each as one snapshot of its saved bytes.
    pub fn documents(&self) -> Result<Vec<(DocId, Vec<u8>)>> {
        self.document_ids()?
            .into_iter()
            .map(|doc_id| {
                let bytes = self.document(&doc_id)?;
                Ok((doc_id, bytes))
            })
            .collect()
    }

    /// The names of the documents this store holds, in order (to read them one at a time with
    /// [`CareStore::document`]).
    pub fn document_ids(&self) -> Result<Vec<DocId>> {
        self.store.doc_ids()
    }

    /// One document saved as one snapshot, as [`CareStore::merge_doc`] takes them on another
    /// store (see [`Store::doc_snapshot`](crate::store::Store::doc_snapshot)).
    pub fn document(&self, doc_id: &DocId) -> Result<Vec<u8>> {
        self.store.doc_snapshot(doc_id)
    }

    /// The ids of every record this store holds, counted or not (to check that stores
    /// converged).
    pub fn record_ids(&self) -> Result<BTreeSet<Id>> {
        self.store.record_ids()
    }

    /// The keys this device holds to open sealed records (the circle's epoch keys and the
    /// elder keys), for tools that read the records of [`CareStore::documents`] themselves.
    pub fn epoch_keys(&self) -> impl EpochKeys + '_ {
        self.store.epoch_keys()
    }

    /// Merges documents received from elsewhere, one at a time.
    pub fn merge_docs(&mut self, docs: Vec<(DocId, Vec<u8>)>) -> Result<IngestReport> {
        let mut report = IngestReport::default();
        for (doc_id, bytes) in docs {
            let part = self.store.merge_doc(&doc_id, &bytes)?;
            report.added.extend(part.added);
            report.rejected.extend(part.rejected);
        }
        Ok(report)
    }

    /// Merges one document's bytes received from elsewhere.
    pub fn merge_doc(&mut self, doc_id: &DocId, bytes: &[u8]) -> Result<IngestReport> {
        self.store.merge_doc(doc_id, bytes)
    }

    /// Records dated more than the clock bound after `now` (a phone with a wrong clock, a
    /// mistyped date), latest first: kept, never taken as a visit made, shown to the coordinator.
    pub fn future_dated(&self, now: UnixMs) -> Result<Vec<FutureRecord>> {
        self.store.future_dated(now)
    }

    /// Person-times by service type in a month.
    pub fn person_times(&self, month: Month) -> Result<PersonTimes> {
        self.store.person_times(month)
    }

    /// Records refused on merge.
    pub fn rejections(&self) -> Result<Vec<Rejection>> {
        self.store.rejections()
    }

    /// Records stored but not counted because their key is unknown or revoked.
    pub fn untrusted_records(&self) -> Result<Vec<(Id, PublicKey)>> {
        self.store.untrusted_records()
    }

    /// The keys the circle trusts.
    pub fn trusted_keys(&self) -> Result<Vec<TrustedKey>> {
        self.store.trusted_keys()
    }

    /// Rebuilds the query indexes from the documents.
    pub fn rebuild_indexes(&mut self) -> Result<IngestReport> {
        self.ledger = ledger_ops::LedgerCache::new(self.circle());
        self.store.rebuild_indexes()
    }

    /// The store's clock now.
    pub fn clock(&self) -> Result<Hlc> {
        self.store.clock()
    }

    /// Who this device acts as now; `None` when its key is not enrolled in the circle (or was
    /// revoked).
    pub fn acting_as(&self) -> Result<Option<Actor>> {
        match self.store.key_trust(self.key.public_key())? {
            Some((role, _)) if role == "centre" => Ok(Some(Actor::Centre)),
            Some((_, Some(member))) => {
                let facts = self
                    .store
                    .member_facts(member)?
                    .ok_or_else(|| Error::not_found(Kind::Member, member))?;
                Ok(Some(Actor::Member(facts.role, member)))
            }
            _ => Ok(None),
        }
    }

    /// Who this device acts as, or `NotAuthorised` when it is not enrolled.
    fn actor(&self) -> Result<Actor> {
        self.acting_as()?.ok_or_else(|| {
            Error::NotAuthorised(
                "this device is not enrolled in the circle (or was revoked)".into(),
            )
        })
    }

    /// Checks that this device may write `body` now and that what it names exists: the rules
    /// of who writes what, per record type.
    fn check_context(&self, body: &RecordBody) -> Result<()> {
        let actor = self.actor()?;
        let coordinating = actor.coordinates();
        match body {
            RecordBody::Ledger(_) | RecordBody::LedgerRules(_) => {
                self.check_ledger_context(actor, body)?;
            }
            RecordBody::Site(site) => self.check_site(actor, site)?,
            RecordBody::Enrolment(e) => self.check_enrolment(actor, e)?,
            RecordBody::Revocation(_) => {
                if !coordinating {
                    return deny("only the centre or a coordinator revokes keys");
                }
            }
            RecordBody::EpochKey(_) | RecordBody::KeyGrant(_) => {
                if !coordinating {
                    return deny("only the centre or a coordinator gives out the circle's keys");
                }
            }
            RecordBody::MemberProfile(p) => {
                if !coordinating {
                    return deny("only the centre or a coordinator records members' names");
                }
                self.member(p.member_id)?;
            }
            RecordBody::Elder(elder) => self.check_elder(coordinating, elder)?,
            RecordBody::Visit(visit) => {
                self.acting_for(
                    actor,
                    visit.caregiver_id,
                    &[Role::Caregiver, Role::Coordinator],
                )?;
                self.check_purposes(body)?;
            }
            RecordBody::Service(service) => self.check_service(actor, body, service)?,
            RecordBody::Consent(change) => self.check_consent_change(actor, change)?,
            RecordBody::MonthClose(_) => {
                if !coordinating {
                    return deny("only the centre or a coordinator closes a month");
                }
            }
            RecordBody::Erasure(erasure) => {
                if !coordinating {
                    return deny("only the centre or a coordinator erases an elder's data");
                }
                self.elder(erasure.elder_id)?;
            }
            // Written without this check (see `write`); here only if nested, which it cannot be.
            RecordBody::AccessLog(_) => {}
            RecordBody::FollowUpDone(done) => self.check_follow_up_done(done)?,
            RecordBody::Card(_) | RecordBody::CardWithdrawal(_) => self.check_card(body)?,
            RecordBody::Correction(c) => self.check_correction(actor, c)?,
        }
        Ok(())
    }

    /// Only the centre adds sites, under a parent that exists, and a centre site once.
    fn check_site(&self, actor: Actor, site: &Site) -> Result<()> {
        if actor != Actor::Centre {
            return deny("only the centre adds sites");
        }
        if let Some(parent) = site.parent
            && !self.store.site_exists(parent)?
        {
            return Err(Error::not_found(Kind::Site, parent));
        }
        if site.kind == SiteKind::Centre && self.store.site_exists(site.site_id)? {
            return Err(Error::Invalid(ValidationError::Inconsistent(
                "that site already exists",
            )));
        }
        Ok(())
    }

    /// The centre enrols coordinators and coordinators enrol the other members, at a site that
    /// exists (and, for family, for an elder that exists).
    fn check_enrolment(&self, actor: Actor, e: &Enrolment) -> Result<()> {
        match actor {
            Actor::Centre => {}
            Actor::Member(Role::Coordinator, _) if e.role != Role::Coordinator => {}
            _ => {
                return deny(
                    "only the centre enrols coordinators, and only coordinators enrol members",
                );
            }
        }
        if !self.store.site_exists(e.site_id)? {
            return Err(Error::not_found(Kind::Site, e.site_id));
        }
        if let Some(elder) = e.family_of {
            self.elder(elder)?;
        }
        Ok(())
    }

    /// The centre or a coordinator enrols elders, at a site that exists, with a responsible
    /// member that exists.
    fn check_elder(&self, coordinating: bool, elder: &Elder) -> Result<()> {
        if !coordinating {
            return deny("only the centre or a coordinator enrols elders");
        }
        if !self.store.site_exists(elder.site_id)? {
            return Err(Error::not_found(Kind::Site, elder.site_id));
        }
        if let Some(member) = elder.responsible_member {
            self.member(member)?;
        }
        Ok(())
    }

    /// A service is given by a caregiver, volunteer or coordinator acting for itself, for an
    /// elder that exists (government-bought only for entitled elders), with purposes the elder
    /// consents to and a confirmation from the recipient side.
    fn check_service(&self, actor: Actor, body: &RecordBody, service: &Service) -> Result<()> {
        self.acting_for(
            actor,
            service.provider_id,
            &[Role::Caregiver, Role::Volunteer, Role::Coordinator],
        )?;
        let elder = self.elder(service.elder_id)?;
        self.check_purposes(body)?;
        if service.funding == crate::domain::Funding::Government && elder.entitled_hours == 0 {
            return Err(Error::Invalid(ValidationError::Inconsistent(
                "government-bought services are only for entitled elders",
            )));
        }
        if let Some(c) = &service.confirmation
            && let Some(member) = c.member_id
        {
            let facts = self.member(member)?;
            let fits = match c.by {
                ConfirmedBy::Family => facts.family_of == Some(service.elder_id),
                ConfirmedBy::Caregiver => facts.role == Role::Caregiver,
                ConfirmedBy::Coordinator => facts.role == Role::Coordinator,
                ConfirmedBy::Elder => false,
            };
            if !fits || member == service.provider_id {
                return deny(
                    "the confirmation must come from the recipient side, not the provider",
                );
            }
        }
        // The code itself is checked on the coordinator's device, which alone holds the card's
        // secret; here only that a card named is one of this elder's.
        if let Some(card_id) = service
            .confirmation
            .as_ref()
            .and_then(|c| c.card.as_ref())
            .and_then(|c| c.card_id)
            && self.card(card_id)?.card.elder_id != service.elder_id
        {
            return Err(Error::Invalid(ValidationError::Inconsistent(
                "the card named is another elder's",
            )));
        }
        Ok(())
    }

    /// A follow-up marked done is one the visit has.
    fn check_follow_up_done(&self, done: &FollowUpDone) -> Result<()> {
        let count = self
            .store
            .visit_follow_up_count(done.visit)?
            .ok_or_else(|| Error::not_found(Kind::Visit, done.visit))?;
        if done.index >= count {
            return Err(Error::not_found(
                Kind::FollowUp,
                format!("{}#{}", done.visit, done.index),
            ));
        }
        Ok(())
    }

    /// A correction targets a site, elder, visit or service, by its author's member or a
    /// coordinator; an amendment keeps the type and the entity, and its replacement is checked
    /// as a record of its own would be.
    fn check_correction(&self, actor: Actor, c: &Correction) -> Result<()> {
        let coordinating = actor.coordinates();
        let target = self
            .store
            .record_facts(c.target)?
            .ok_or_else(|| Error::not_found(Kind::Record, c.target))?;
        if !matches!(
            target.type_name.as_str(),
            "site" | "elder" | "visit" | "service"
        ) {
            return Err(Error::Invalid(ValidationError::Inconsistent(
                "only sites, elders, visits and services can be corrected",
            )));
        }
        let own = match (actor, self.store.key_trust(target.author)?) {
            (Actor::Member(_, me), Some((_, Some(them)))) => me == them,
            _ => target.author == self.key.public_key(),
        };
        if !own && !coordinating {
            return deny("only the record's author or a coordinator may correct it");
        }
        if let CorrectionAction::Amend { replacement } = &c.action {
            if replacement.type_name() != target.type_name {
                return Err(Error::Invalid(ValidationError::Inconsistent(
                    "an amendment must be of the same type as the original",
                )));
            }
            if !self.store.get(c.target)?.body().same_entity(replacement) {
                return Err(Error::Invalid(ValidationError::Inconsistent(
                    "an amendment cannot change which elder or site a record is",
                )));
            }
            if !matches!(replacement.as_ref(), RecordBody::Site(_)) {
                self.check_context(replacement)?;
            }
        }
        Ok(())
    }

    /// Checks that `member` is a trusted member with one of `roles`, and that this device acts
    /// for itself (or coordinates).
    fn acting_for(&self, actor: Actor, member: Id, roles: &[Role]) -> Result<()> {
        let facts = self.member(member)?;
        if !roles.contains(&facts.role) {
            return Err(Error::NotAuthorised(format!(
                "a {} cannot do this",
                facts.role.as_str()
            )));
        }
        match actor {
            Actor::Centre | Actor::Member(Role::Coordinator, _) => Ok(()),
            Actor::Member(_, me) if me == member => Ok(()),
            Actor::Member(..) => Err(Error::NotAuthorised("members record their own work".into())),
        }
    }

    fn elder(&self, elder_id: Id) -> Result<crate::store::ElderFacts> {
        self.store
            .elder_facts(elder_id)?
            .ok_or_else(|| Error::not_found(Kind::Elder, elder_id))
    }

    fn member(&self, member_id: Id) -> Result<crate::store::MemberFacts> {
        self.store
            .member_facts(member_id)?
            .ok_or_else(|| Error::not_found(Kind::Member, member_id))
    }
}
