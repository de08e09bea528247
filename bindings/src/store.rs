//! [`CareStore`]: one device's store of care records, as the app sees it. Every method is a thin
//! wrapper over [`carebank_core::CareStore`]: convert the arguments, call, convert the answer.
//! Calls block: apps make them from a background thread (Dispatchers.IO, a Swift Task).

use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};

use carebank_core::identity::DeviceKey;
use carebank_core::store::{STORE_KEY_NAME, StoreKey};

use carebank_core::sync::bundle::Since;
use carebank_core::sync::http::RelayClient;
use carebank_core::sync::{CancelToken, Progress, ProgressFn, SyncError};

use crate::convert;
use crate::error::{CareError, Result, bundle_error, frame_error, sync_error};
use crate::platform::{
    CancellationToken, ChannelTransport, KeyStoreAdapter, PhoneChannel, ProgressListener,
    SecureKeyStore, Task,
};
use crate::records::{
    AccessEntry, AccessPurpose, CardSheet, CareCircle, CodeCheck, ConfirmMethod, ConsentChange,
    ConsentConflict, CorrectionAction, Elder, Enrolment, ErasureReason, FollowUpDone, LedgerRules,
    Revocation, Service, Site, StoredRecord, Verdict, Visit, WithdrawalReason,
};
use crate::reports::{
    ElderMonth, EntitlementUse, MaintenanceReport, MergeReport, OpenFollowUp, OverdueElder,
    PersonTimes, Rejection, TrustedKey, UntrustedRecord,
};
use crate::timebank::{Balance, Conflict, ImportReport, SyncReport, VerifiedStatement};

/// One device's store of care records. Thread-safe: calls from several threads take turns.
#[derive(uniffi::Object)]
pub struct CareStore {
    inner: Mutex<carebank_core::CareStore>,
}

/// Loads the device key kept under `key_name`, creating it on first use.
pub(crate) fn device_key(keys: Arc<dyn SecureKeyStore>, key_name: &str) -> Result<DeviceKey> {
    DeviceKey::load_or_create(&KeyStoreAdapter(keys), key_name)
        .map_err(|e| carebank_core::Error::from(e).into())
}

impl CareStore {
    fn wrap(store: carebank_core::CareStore) -> Arc<CareStore> {
        Arc::new(CareStore {
            inner: Mutex::new(store),
        })
    }

    /// Runs `f` on the core store, holding the lock only for the call.
    fn with<T>(&self, f: impl FnOnce(&mut carebank_core::CareStore) -> Result<T>) -> Result<T> {
        let mut store = self.inner.lock().map_err(|_| CareError::Internal {
            reason: "an earlier call failed inside the store; close and reopen it".into(),
        })?;
        f(&mut store)
    }
}

#[uniffi::export]
impl CareStore {
    /// Opens (or creates) the store in the file at `path` for `circle`, signing with the device
    /// key kept in `keys` under `key_name` (created on first use). The file is encrypted
    /// (SQLCipher) under 32 random bytes kept in `keys` under `store-key`, made on first open; a
    /// store from a version before encryption is encrypted in place, losing nothing. A key that
    /// does not open the file, or no key for an existing encrypted file, is `KeyStorage`, and
    /// the file is left as it was.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        circle: CareCircle,
        keys: Arc<dyn SecureKeyStore>,
        key_name: String,
    ) -> Result<Arc<CareStore>> {
        let circle = circle.try_into()?;
        let path = std::path::Path::new(&path);
        let store_key =
            StoreKey::from_key_store(&KeyStoreAdapter(keys.clone()), STORE_KEY_NAME, path)?;
        let key = device_key(keys, &key_name)?;
        Ok(Self::wrap(carebank_core::CareStore::open(
            path, &store_key, circle, key,
        )?))
    }

    /// A store in memory only, gone when closed (tests, previews).
    #[uniffi::constructor]
    pub fn open_in_memory(
        circle: CareCircle,
        keys: Arc<dyn SecureKeyStore>,
        key_name: String,
    ) -> Result<Arc<CareStore>> {
        let circle = circle.try_into()?;
        let key = device_key(keys, &key_name)?;
        Ok(Self::wrap(carebank_core::CareStore::open_in_memory(
            circle, key,
        )?))
    }

    /// This device's public key (what the coordinator enrols).
    pub fn device_key(&self) -> Result<String> {
        self.with(|s| Ok(s.public_key().to_string()))
    }

    /// The circle this store belongs to.
    pub fn circle(&self) -> Result<CareCircle> {
        self.with(|s| Ok(s.circle().into()))
    }

    /// Adds a centre, station or village point (the centre only); returns the record id.
    pub fn add_site(&self, site: Site) -> Result<String> {
        self.with(|s| Ok(s.add_site(site.try_into()?)?.to_string()))
    }

    /// Certifies a member's device key (the centre enrols coordinators, coordinators enrol
    /// the rest); returns the record id.
    pub fn enrol(&self, enrolment: Enrolment) -> Result<String> {
        self.with(|s| Ok(s.enrol(enrolment.try_into()?)?.to_string()))
    }

    /// Withdraws a device key (centre or coordinator); returns the record id.
    pub fn revoke(&self, revocation: Revocation) -> Result<String> {
        self.with(|s| Ok(s.revoke(revocation.try_into()?)?.to_string()))
    }

    /// Enrols an elder (centre or coordinator); returns the record id.
    pub fn enrol_elder(&self, elder: Elder) -> Result<String> {
        self.with(|s| Ok(s.enrol_elder(elder.try_into()?)?.to_string()))
    }

    /// Records a home visit; returns the record id.
    pub fn record_visit(&self, visit: Visit) -> Result<String> {
        self.with(|s| Ok(s.record_visit(visit.try_into()?)?.to_string()))
    }

    /// Records a service (meal, bath, …); returns the record id.
    pub fn record_service(&self, service: Service) -> Result<String> {
        self.with(|s| Ok(s.record_service(service.try_into()?)?.to_string()))
    }

    /// Marks a visit's follow-up done; returns the record id.
    pub fn follow_up_done(&self, done: FollowUpDone) -> Result<String> {
        self.with(|s| Ok(s.follow_up_done(done.try_into()?)?.to_string()))
    }

    /// Voids or amends the record `target_id`, with a reason (the author or a coordinator);
    /// returns the correction's record id.
    pub fn correct(
        &self,
        target_id: String,
        action: CorrectionAction,
        reason: String,
    ) -> Result<String> {
        let target = convert::id("target_id", &target_id)?;
        self.with(|s| Ok(s.correct(target, action.try_into()?, &reason)?.to_string()))
    }

    /// Reads one record back, checking its signature. A record about an elder is personal
    /// data: the read is logged with `purpose` (the access log).
    pub fn get(&self, record_id: String, purpose: AccessPurpose) -> Result<StoredRecord> {
        let id = convert::id("record_id", &record_id)?;
        self.with(|s| s.read_record(id, purpose.into())?.try_into())
    }

    /// Elders overdue for a visit at `now_ms`, most overdue first (names: logged with `purpose`).
    pub fn overdue_visits(&self, now_ms: i64, purpose: AccessPurpose) -> Result<Vec<OverdueElder>> {
        let now = convert::now(now_ms)?;
        self.with(|s| Ok(convert::all(s.overdue_visits(now, purpose.into())?)))
    }

    /// Follow-ups not yet done, earliest due first (logged with `purpose`).
    pub fn open_follow_ups(&self, purpose: AccessPurpose) -> Result<Vec<OpenFollowUp>> {
        self.with(|s| Ok(convert::all(s.open_follow_ups(purpose.into())?)))
    }

    /// An elder's visits and services in `month` (`YYYY-MM`, China Standard Time); logged with
    /// `purpose`.
    pub fn elder_month(
        &self,
        elder_id: String,
        month: String,
        purpose: AccessPurpose,
    ) -> Result<ElderMonth> {
        let (elder, month) = (convert::id("elder_id", &elder_id)?, convert::month(&month)?);
        self.with(|s| s.elder_month(elder, month, purpose.into())?.try_into())
    }

    /// Government-bought hours used by each entitled elder in `month` (`YYYY-MM`); logged with
    /// `purpose`.
    pub fn entitlement_use(
        &self,
        month: String,
        purpose: AccessPurpose,
    ) -> Result<Vec<EntitlementUse>> {
        let month = convert::month(&month)?;
        self.with(|s| Ok(convert::all(s.entitlement_use(month, purpose.into())?)))
    }

    /// Who read `elder_id`'s data, when and why, oldest first: every logged read this store
    /// holds (its own, and those synced from other phones).
    pub fn access_log(&self, elder_id: String) -> Result<Vec<AccessEntry>> {
        let elder = convert::id("elder_id", &elder_id)?;
        self.with(|s| Ok(convert::all(s.access_log(elder)?)))
    }

    /// Everything this store holds about `elder_id` as JSON (PIPL Art. 45: the elder's own
    /// copy): profile, consent, visits, services, follow-ups, corrections and the access log.
    /// The export is logged (purpose `export`) and shows itself.
    pub fn export_elder(&self, elder_id: String) -> Result<String> {
        let elder = convert::id("elder_id", &elder_id)?;
        self.with(|s| Ok(s.export_elder(elder)?.to_json()?))
    }

    /// Erases `elder_id`'s personal data (PIPL Art. 47; centre or coordinator): name, birth
    /// year, notes, observations, location and consent details become unreadable on this phone
    /// now, and on every phone and the relay as the erasure syncs; the signed facts of their
    /// services keep counting. Returns the erasure record's id. Later records about the elder
    /// are refused (`InvalidInput`, field `elder_id`).
    pub fn erase_elder(&self, elder_id: String, reason: ErasureReason) -> Result<String> {
        let elder = convert::id("elder_id", &elder_id)?;
        self.with(|s| Ok(s.erase_elder(elder, reason.into())?.to_string()))
    }

    /// Whether `elder_id`'s personal data was erased (as far as this phone knows).
    pub fn is_erased(&self, elder_id: String) -> Result<bool> {
        let elder = convert::id("elder_id", &elder_id)?;
        self.with(|s| Ok(s.is_erased(elder)?))
    }

    /// Withdraws or gives again an elder's consent for one purpose (centre or coordinator);
    /// returns the record id. After a withdrawal, records of that purpose dated from `at_ms`
    /// are refused with `ConsentMissing`; records made before stay.
    pub fn change_consent(&self, change: ConsentChange) -> Result<String> {
        self.with(|s| Ok(s.change_consent(change.try_into()?)?.to_string()))
    }

    /// Visits and services that used a purpose after the elder withdrew it (made offline
    /// before the withdrawal arrived): kept, listed here for the coordinator.
    pub fn consent_conflicts(&self) -> Result<Vec<ConsentConflict>> {
        self.with(|s| Ok(convert::all(s.consent_conflicts()?)))
    }

    /// Issues `elder_id` a printed card of `codes` one-time codes (centre or coordinator; 1 to
    /// 200): its secret stays on this phone only, which alone can print it again and check its
    /// codes. Returns the sheet to print (the read of the elder's name is logged).
    pub fn issue_card(&self, elder_id: String, codes: u32) -> Result<CardSheet> {
        let elder = convert::id("elder_id", &elder_id)?;
        self.with(|s| Ok(s.issue_card(elder, codes)?.into()))
    }

    /// The sheet of a card this phone issued, to print it again (`NotAuthorised` for a card
    /// issued elsewhere; the read of the elder's name is logged).
    pub fn card_sheet(&self, card_id: String) -> Result<CardSheet> {
        let card = convert::id("card_id", &card_id)?;
        self.with(|s| Ok(s.card_sheet(card)?.into()))
    }

    /// Withdraws a card (centre or coordinator) from `from_ms` on (now if absent): its codes on
    /// services given or recorded from then are `Withdrawn`. Returns the record id.
    pub fn withdraw_card(
        &self,
        card_id: String,
        from_ms: Option<i64>,
        reason: WithdrawalReason,
    ) -> Result<String> {
        let card = convert::id("card_id", &card_id)?;
        let from = convert::opt_instant("from_ms", from_ms)?;
        self.with(|s| Ok(s.withdraw_card(card, from, reason.into())?.to_string()))
    }

    /// The verdict on every service of `month` (`YYYY-MM`) confirmed by a card code, in the
    /// order the services started: valid, reused, out of order, wrong elder, withdrawn, or
    /// unchecked on a phone that did not issue the card.
    pub fn card_confirmations(&self, month: String) -> Result<Vec<CodeCheck>> {
        let month = convert::month(&month)?;
        self.with(|s| Ok(convert::all(s.card_confirmations(month)?)))
    }

    /// Person-times (人次) by service type in `month` (`YYYY-MM`): the district's figure.
    pub fn person_times(&self, month: String) -> Result<PersonTimes> {
        let month = convert::month(&month)?;
        self.with(|s| Ok(s.person_times(month)?.into()))
    }

    /// Records refused on merge, for the coordinator to look into.
    pub fn rejections(&self) -> Result<Vec<Rejection>> {
        self.with(|s| Ok(convert::all(s.rejections()?)))
    }

    /// Records kept but not counted (unknown or revoked key), for the coordinator.
    pub fn untrusted_records(&self) -> Result<Vec<UntrustedRecord>> {
        self.with(|s| Ok(convert::all(s.untrusted_records()?)))
    }

    /// The device keys the circle trusts, and which are revoked.
    pub fn trusted_keys(&self) -> Result<Vec<TrustedKey>> {
        self.with(|s| Ok(convert::all(s.trusted_keys()?)))
    }

    /// The work writes leave for an idle moment: documents compacted, the write-ahead log
    /// truncated. Call it from a background job (WorkManager, BGProcessingTask) when the phone
    /// is idle and charging, not after every write; writes stay correct without it.
    pub fn run_maintenance(&self) -> Result<MaintenanceReport> {
        self.with(|s| Ok(s.run_maintenance()?.into()))
    }

    /// Rebuilds the query indexes from the documents (after an upgrade or a repair).
    pub fn rebuild_indexes(&self) -> Result<MergeReport> {
        self.with(|s| Ok(s.rebuild_indexes()?.into()))
    }

    /// Pulls every record `other` holds into this store, one document at a time, reporting to
    /// `listener` and stopping between documents if `cancel` says so. Merging is idempotent and
    /// order-free: a cancelled merge keeps what it did, and the next one does the rest. This is
    /// the in-process path; bundle files and relay sync use the same merge.
    #[uniffi::method(default(listener = None, cancel = None))]
    pub fn merge_from(
        &self,
        other: Arc<CareStore>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<dyn CancellationToken>>,
    ) -> Result<MergeReport> {
        if std::ptr::eq(self, other.as_ref()) {
            return Err(CareError::invalid(
                "other",
                "a store cannot merge with itself",
            ));
        }
        let task = Task::new(listener, cancel);
        task.check()?;
        let docs = other.with(|s| Ok(s.document_ids()?))?;
        let mut report = MergeReport {
            added: vec![],
            rejected: vec![],
        };
        for (done, doc_id) in docs.iter().enumerate() {
            let bytes = other.with(|s| Ok(s.document(doc_id)?))?;
            report.extend(self.with(|s| Ok(s.merge_doc(doc_id, &bytes)?.into()))?);
            task.step("merge", done + 1, docs.len())?;
        }
        // The elder keys after the documents that enrol their makers.
        let keys = other.with(|s| Ok(s.keyring()?))?;
        let taken = self.with(|s| Ok(s.take_keyring(&keys)?))?;
        report
            .added
            .extend(taken.admitted.iter().map(ToString::to_string));
        Ok(report)
    }

    /// Sets the circle's time-bank rules (the centre only); returns the record id.
    pub fn set_ledger_rules(&self, rules: LedgerRules) -> Result<String> {
        self.with(|s| Ok(s.set_ledger_rules(rules.try_into()?)?.to_string()))
    }

    /// Claims `minutes` of time-bank credit for the service `service_id` this member gave;
    /// returns the claim's record id (it counts once the recipient side confirms it).
    pub fn claim_hours(&self, service_id: String, minutes: i64) -> Result<String> {
        let service = convert::id("service_id", &service_id)?;
        self.with(|s| Ok(s.claim_hours(service, minutes)?.to_string()))
    }

    /// Confirms another member's claim from the recipient side (caregiver, family member or
    /// coordinator); returns the confirmation's record id.
    pub fn confirm_claim(&self, claim_id: String, method: ConfirmMethod) -> Result<String> {
        let claim = convert::id("claim_id", &claim_id)?;
        self.with(|s| Ok(s.confirm_claim(claim, method.into())?.to_string()))
    }

    /// Spends `minutes` on services received (optionally naming the service); returns the
    /// entry's record id. Overdrawing is refused with `NeedsCoordinator`.
    #[uniffi::method(default(service_id = None))]
    pub fn redeem_hours(&self, minutes: i64, service_id: Option<String>) -> Result<String> {
        let service = convert::opt_id("service_id", service_id.as_deref())?;
        self.with(|s| Ok(s.redeem_hours(minutes, service)?.to_string()))
    }

    /// Gives `minutes` to a relative who is a member; returns the entry's record id.
    pub fn gift_hours(&self, to_member_id: String, minutes: i64) -> Result<String> {
        let to = convert::id("to_member_id", &to_member_id)?;
        self.with(|s| Ok(s.gift_hours(to, minutes)?.to_string()))
    }

    /// Approves or rejects the ledger entry `target_id`, with a reason (a coordinator only);
    /// returns the decision's record id.
    pub fn decide(&self, target_id: String, verdict: Verdict, reason: String) -> Result<String> {
        let target = convert::id("target_id", &target_id)?;
        self.with(|s| Ok(s.decide(target, verdict.into(), &reason)?.to_string()))
    }

    /// A member's time-bank balance now (by this phone's clock).
    pub fn balance(&self, member_id: String) -> Result<Balance> {
        let member = convert::id("member_id", &member_id)?;
        self.with(|s| Ok(s.balance(member)?.into()))
    }

    /// The balances at `now_ms` of every member with minutes or pending claims.
    pub fn balances(&self, now_ms: i64) -> Result<Vec<Balance>> {
        let now = convert::now(now_ms)?;
        self.with(|s| Ok(convert::all(s.balances_at(now)?)))
    }

    /// The coordinator's queue: what needs a decision, with the ids of its evidence.
    pub fn conflict_queue(&self) -> Result<Vec<Conflict>> {
        self.with(|s| Ok(convert::all(s.conflict_queue()?)))
    }

    /// A member's statement as of now, signed by this device: a file anyone with the circle's
    /// centre key can verify offline.
    pub fn export_statement(&self, member_id: String) -> Result<Vec<u8>> {
        let member = convert::id("member_id", &member_id)?;
        self.with(|s| Ok(s.export_statement(member)?))
    }

    /// Verifies a statement file against this circle's centre key.
    pub fn verify_statement(&self, statement: Vec<u8>) -> Result<VerifiedStatement> {
        self.with(|s| Ok(s.verify_statement(&statement)?.into()))
    }

    /// The name other devices remember this one under (pass it to `export_bundle`).
    pub fn peer_name(&self) -> Result<String> {
        self.with(|s| Ok(s.peer_name()))
    }

    /// A bundle file of everything (no `since_peer`), or of what the device named `since_peer`
    /// is not known to hold (from earlier syncs and imports): carry it by SD card or chat app.
    #[uniffi::method(default(since_peer = None))]
    pub fn export_bundle(&self, since_peer: Option<String>) -> Result<Vec<u8>> {
        let since = since_peer.map_or(Since::Everything, Since::Peer);
        self.with(|s| s.export_bundle(&since).map_err(bundle_error))
    }

    /// Reads a bundle file; importing the same file again changes nothing.
    pub fn import_bundle(&self, bundle: Vec<u8>) -> Result<ImportReport> {
        self.with(|s| Ok(s.import_bundle(&bundle).map_err(bundle_error)?.into()))
    }

    /// Answers one frame of a sync another phone opened (the app carries the frames over its
    /// LAN or Bluetooth channel and sends this answer back). The answer is signed by this
    /// phone; a phone this store does not trust, a stale or replayed frame, or a bad message
    /// gets a signed refusal and changes nothing. Only a frame too damaged to answer is an error.
    pub fn answer_sync(&self, frame: Vec<u8>) -> Result<Vec<u8>> {
        self.with(|s| s.answer_sync(&frame).map_err(frame_error))
    }

    /// Syncs with another phone over `channel`, which the app implements on its LAN or
    /// Bluetooth link: each frame goes to the other phone's `answerSync` and its answer comes
    /// back. Every frame is signed; a phone this store does not trust (not enrolled, revoked)
    /// is refused with `NotAuthorised` before anything is sent to it but the opening digest.
    /// Progress and cancellation as for [`CareStore::sync_with_relay`]. The channel is called
    /// while this store is busy: it must not call back into this store.
    #[uniffi::method(default(listener = None, cancel = None))]
    pub fn sync_with_phone(
        &self,
        channel: Arc<dyn PhoneChannel>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<dyn CancellationToken>>,
    ) -> Result<SyncReport> {
        self.run_sync(Task::new(listener, cancel), move |s, token, report| {
            s.sync_with_phone(&mut ChannelTransport(channel), token, report)
        })
    }

    /// Syncs with the relay at `url` (`https://…`), reporting to `listener` after each round
    /// (stage `sync`, documents converged of documents differing) and stopping when `cancel`
    /// says so. Unreachable relays fail with `Network`; what converged before a failure or a
    /// cancellation is kept, and the next sync continues from there. With `ca_pem` (the
    /// district's CA certificates, PEM), HTTPS trusts only those; without it, the system's
    /// roots through the platform verifier (which Android apps must initialise first).
    #[uniffi::method(default(listener = None, cancel = None, ca_pem = None))]
    pub fn sync_with_relay(
        &self,
        url: String,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<dyn CancellationToken>>,
        ca_pem: Option<String>,
    ) -> Result<SyncReport> {
        let task = Task::new(listener, cancel);
        task.check()?;
        let relay = match ca_pem {
            Some(pem) => {
                RelayClient::with_ca(&url, &pem).map_err(|e| CareError::invalid("ca_pem", e))?
            }
            None => RelayClient::new(&url).map_err(sync_error)?,
        };
        self.run_sync(task, move |s, token, report| {
            s.sync_with_relay(&relay, token, report)
        })
    }
}

impl CareStore {
    /// Runs `sync` on a worker thread holding the store's lock; this thread hears its progress
    /// and polls the app's token, so app listeners and tokens never run under the lock.
    fn run_sync(
        &self,
        task: Task,
        sync: impl FnOnce(
            &mut carebank_core::CareStore,
            &CancelToken,
            ProgressFn<'_>,
        ) -> std::result::Result<Progress, SyncError>
        + Send,
    ) -> Result<SyncReport> {
        task.check()?;
        let token = CancelToken::new();
        let (tx, rx) = std::sync::mpsc::channel::<Progress>();
        std::thread::scope(|scope| {
            let worker_token = token.clone();
            let worker = scope.spawn(move || {
                self.with(|s| {
                    let mut report = |p: &Progress| {
                        // The receiver outlives the worker; a failed send only loses a report.
                        let _ = tx.send(p.clone());
                    };
                    Ok(sync(s, &worker_token, &mut report)
                        .map_err(sync_error)?
                        .into())
                })
            });
            let mut failure = None;
            loop {
                let received = rx.recv_timeout(POLL);
                if failure.is_some() {
                    if matches!(received, Err(RecvTimeoutError::Disconnected)) {
                        break;
                    }
                    continue;
                }
                let heard = match received {
                    Ok(p) => task.step("sync", p.docs_synced, p.docs_to_sync),
                    Err(RecvTimeoutError::Timeout) => task.check(),
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                if let Err(e) = heard {
                    token.cancel();
                    failure = Some(e);
                }
            }
            let result = worker.join().map_err(|_| CareError::Internal {
                reason: "the sync stopped unexpectedly".into(),
            })?;
            failure.map_or(result, Err)
        })
    }
}

/// How often a running sync asks the app's cancellation token.
const POLL: std::time::Duration = std::time::Duration::from_millis(100);
