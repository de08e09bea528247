//! The time bank on a device: [`CareStore`] methods to claim, confirm, redeem, give and decide,
//! and to read balances, the coordinator's queue and member statements. The methods are thin:
//! the rules live in [`crate::ledger`]. A new entry is checked by reconciling the ledger as if
//! it were written, so the device refuses exactly what reconciliation would hold.
//!
//! The ledger is kept in memory and brought up to date from the records the store admitted
//! since it last looked (they were verified then, and are not verified again).

use std::cell::{RefCell, RefMut};
use std::collections::HashSet;

use super::{Actor, CareStore, Circle};
use crate::domain::{ConfirmMethod, EntryKind, LedgerEntry, LedgerRules, RecordBody, Verdict};
use crate::error::{Error, Kind, Refusal, Result};
use crate::ids::Id;
use crate::ledger::{
    Balance, Conflict, ConflictKind, Ledger, MonthTotals, Reconciliation, ServiceView, Standing,
    VerifiedStatement, export_statement, month_totals, verify_statement,
};
use crate::record::SignedRecord;
use crate::time::{Month, UnixMs};

/// The record types whose bytes the ledger reads; services and corrections only tell it which
/// service facts to read again.
const LEDGER_SOURCES: &[&str] = &[
    "enrolment",
    "revocation",
    "ledger",
    "ledger_rules",
    "correction",
];

/// A device's in-memory ledger and what it was computed from.
pub(super) struct LedgerCache {
    ledger: Ledger,
    position: i64,
    claimed: HashSet<Id>,
    services: ServiceView,
    reconciled: Option<Reconciliation>,
}

impl LedgerCache {
    /// An empty cache for a circle.
    pub(super) fn new(circle: Circle) -> RefCell<LedgerCache> {
        RefCell::new(LedgerCache {
            ledger: Ledger::new(circle.circle_id, circle.centre_key),
            position: 0,
            claimed: HashSet::new(),
            services: ServiceView::default(),
            reconciled: None,
        })
    }

    fn reconciled(&mut self) -> &Reconciliation {
        self.reconciled_from().1
    }

    /// The reconciliation (made once, then kept) with the ledger and the service facts it was
    /// made from.
    fn reconciled_from(&mut self) -> (&Ledger, &Reconciliation, &ServiceView) {
        let (ledger, services) = (&self.ledger, &self.services);
        let reconciled = self
            .reconciled
            .get_or_insert_with(|| ledger.reconcile(services));
        (ledger, reconciled, services)
    }
}

impl CareStore {
    /// Sets the circle's time-bank rules (the centre only).
    pub fn set_ledger_rules(&mut self, rules: LedgerRules) -> Result<Id> {
        self.write(RecordBody::LedgerRules(rules))
    }

    /// Claims `minutes` for a time-bank service this member gave (the service record's id).
    pub fn claim_hours(&mut self, service: Id, minutes: i64) -> Result<Id> {
        let elder_id = self
            .store
            .service_facts([service])?
            .remove(&service)
            .map(|s| s.elder_id)
            .ok_or_else(|| Error::not_found(Kind::Service, service))?;
        self.append_entry(EntryKind::Claim {
            service,
            elder_id,
            minutes,
        })
    }

    /// Confirms another member's claim from the recipient side.
    pub fn confirm_claim(&mut self, claim: Id, method: ConfirmMethod) -> Result<Id> {
        self.append_entry(EntryKind::Confirm { claim, method })
    }

    /// Spends `minutes` on services received (optionally naming the service record).
    pub fn redeem_hours(&mut self, minutes: i64, service: Option<Id>) -> Result<Id> {
        self.append_entry(EntryKind::Redeem { minutes, service })
    }

    /// Gives `minutes` to a relative who is a member.
    pub fn gift_hours(&mut self, to: Id, minutes: i64) -> Result<Id> {
        self.append_entry(EntryKind::Gift { to, minutes })
    }

    /// Approves or rejects a ledger entry (a coordinator only).
    pub fn decide(&mut self, target: Id, verdict: Verdict, reason: &str) -> Result<Id> {
        self.append_entry(EntryKind::Decide {
            target,
            verdict,
            reason: reason.to_string(),
        })
    }

    /// A member's balance now (by this device's wall clock).
    pub fn balance(&self, member: Id) -> Result<Balance> {
        self.balance_at(member, self.store.now()?)
    }

    /// A member's balance at `as_of`.
    pub fn balance_at(&self, member: Id, as_of: UnixMs) -> Result<Balance> {
        Ok(self
            .refresh_ledger()?
            .reconciled()
            .balance(member, as_of.as_u64()))
    }

    /// The balances of every member with minutes or pending claims, at `as_of`.
    pub fn balances_at(&self, as_of: UnixMs) -> Result<Vec<Balance>> {
        let mut cache = self.refresh_ledger()?;
        let reconciled = cache.reconciled();
        Ok(reconciled
            .members()
            .map(|m| reconciled.balance(m, as_of.as_u64()))
            .collect())
    }

    /// The circle's time-bank minutes earned, redeemed and given in `month`, as this device's
    /// ledger reconciles them (see [`month_totals`] for which month a movement counts in).
    pub fn time_bank_month(&self, month: Month) -> Result<MonthTotals> {
        let mut cache = self.refresh_ledger()?;
        let (ledger, reconciled, services) = cache.reconciled_from();
        Ok(month_totals(ledger, reconciled, services, month))
    }

    /// Where a ledger entry stands, if the device holds it.
    pub fn entry_standing(&self, entry: Id) -> Result<Option<Standing>> {
        Ok(self.refresh_ledger()?.reconciled().standing(entry))
    }

    /// The coordinator's queue: what needs a decision, with the ids of its evidence.
    pub fn conflict_queue(&self) -> Result<Vec<Conflict>> {
        Ok(self.refresh_ledger()?.reconciled().conflicts().to_vec())
    }

    /// The signed records a queue item rests on.
    pub fn ledger_evidence(&self, conflict: &Conflict) -> Result<Vec<SignedRecord>> {
        let cache = self.refresh_ledger()?;
        Ok(conflict
            .evidence
            .iter()
            .filter_map(|id| cache.ledger.record(*id).cloned())
            .collect())
    }

    /// A member's statement as of now, signed by this device: a file anyone with the centre's
    /// public key can verify offline.
    pub fn export_statement(&self, member: Id) -> Result<Vec<u8>> {
        let as_of = self.store.now()?.as_u64();
        let cache = self.refresh_ledger()?;
        Ok(export_statement(
            &cache.ledger,
            &cache.services,
            member,
            as_of,
            &self.key,
        )?)
    }

    /// Runs `read` on the up-to-date ledger, its reconciliation and the service facts.
    pub(super) fn read_ledger<R>(
        &self,
        read: impl FnOnce(&Ledger, &Reconciliation, &ServiceView) -> R,
    ) -> Result<R> {
        let mut cache = self.refresh_ledger()?;
        let (ledger, reconciled, services) = cache.reconciled_from();
        Ok(read(ledger, reconciled, services))
    }

    /// Verifies a statement file against this circle's centre key.
    pub fn verify_statement(&self, bytes: &[u8]) -> Result<VerifiedStatement> {
        Ok(verify_statement(bytes, self.store.centre())?)
    }

    /// Writes the next entry of this device's member's chain.
    pub(super) fn append_entry(&mut self, kind: EntryKind) -> Result<Id> {
        let Actor::Member(_, member) = self.actor()? else {
            return Err(Error::NotAuthorised("the centre keeps no ledger".into()));
        };
        let (seq, prev) = self.next_link(member)?;
        self.write(RecordBody::Ledger(LedgerEntry {
            member_id: member,
            seq,
            prev,
            kind,
        }))
    }

    fn next_link(&self, member: Id) -> Result<(u64, Option<crate::domain::EntryHash>)> {
        Ok(match self.refresh_ledger()?.ledger.head(member) {
            None => (1, None),
            Some((seq, hash)) => (seq + 1, Some(hash)),
        })
    }

    /// The context checks of time-bank records, called from `write`.
    pub(super) fn check_ledger_context(&self, actor: Actor, body: &RecordBody) -> Result<()> {
        let entry = match body {
            RecordBody::LedgerRules(_) if actor == Actor::Centre => return Ok(()),
            RecordBody::LedgerRules(_) => {
                return Err(Error::NotAuthorised(
                    "only the centre sets the time bank's rules".into(),
                ));
            }
            RecordBody::Ledger(entry) => entry,
            _ => return Ok(()),
        };
        if actor != Actor::Member(self.member_role(actor)?, entry.member_id) {
            return Err(Error::NotAuthorised(
                "a device writes only its own member's ledger".into(),
            ));
        }
        if (entry.seq, entry.prev) != self.next_link(entry.member_id)? {
            return Err(Error::LedgerRefused(Refusal::NotNextLink));
        }
        // Reconcile as if the entry were written, and refuse what would be held.
        let trial = SignedRecord::sign(self.next_envelope(body.clone())?, &self.key)?;
        let id = trial.id();
        let mut cache = self.refresh_ledger()?;
        if let EntryKind::Claim { service, .. } = entry.kind {
            load_service_facts(&self.store, &mut cache, [service])?;
        }
        let mut ledger = cache.ledger.clone();
        ledger.insert_verified([trial]);
        let reconciled = ledger.reconcile(&cache.services);
        if let Some(Standing::Held(hold)) = reconciled.standing(id) {
            return Err(Error::LedgerRefused(Refusal::Held(hold)));
        }
        for conflict in reconciled.conflicts() {
            if !conflict.awaiting.contains(&id) {
                continue;
            }
            let balance_after_minutes = match conflict.kind {
                ConflictKind::Overdraft {
                    balance_after_minutes,
                } => balance_after_minutes,
                // Hours moved to another circle, spent here: an overdraft all the same.
                ConflictKind::TransferDoubleSpend { .. } => {
                    reconciled
                        .balance(conflict.member, u64::MAX)
                        .available_minutes
                }
                _ => continue,
            };
            return Err(Error::LedgerRefused(Refusal::Overdraft {
                balance_after_minutes,
            }));
        }
        Ok(())
    }

    fn member_role(&self, actor: Actor) -> Result<crate::domain::Role> {
        match actor {
            Actor::Member(role, _) => Ok(role),
            Actor::Centre => Err(Error::NotAuthorised("the centre keeps no ledger".into())),
        }
    }

    /// Brings the in-memory ledger up to date with the records the store admitted since.
    fn refresh_ledger(&self) -> Result<RefMut<'_, LedgerCache>> {
        let mut cache = self
            .ledger
            .try_borrow_mut()
            .map_err(|_| Error::Corrupt("the ledger is already in use".into()))?;
        let added = self
            .store
            .records_added_since(cache.position, LEDGER_SOURCES)?;
        if added.is_empty() {
            return Ok(cache);
        }
        let mut records = Vec::new();
        let mut touched: HashSet<Id> = HashSet::new();
        let mut trust_changed = false;
        let mut forks = Vec::new();
        for row in added {
            cache.position = row.position;
            forks.extend(row.fork);
            match row.type_name.as_str() {
                "service" => {
                    touched.insert(row.id);
                }
                _ => {
                    let Some(bytes) = row.bytes else { continue };
                    let record = SignedRecord::decode_unverified(&bytes, &self.store.epoch_keys())?;
                    match record.body() {
                        RecordBody::Correction(c) => {
                            touched.insert(c.target);
                        }
                        RecordBody::Enrolment(_) | RecordBody::Revocation(_) => {
                            trust_changed = true;
                            records.push(record);
                        }
                        _ => records.push(record),
                    }
                }
            }
        }
        // A fork (of any record type) bears on trust at or below a revocation's cut.
        trust_changed |= cache.ledger.note_forks(forks);
        for id in cache.ledger.insert_verified(records) {
            if let Some((
                LedgerEntry {
                    kind: EntryKind::Claim { service, .. },
                    ..
                },
                _,
            )) = cache.ledger.entry(id)
            {
                let service = *service;
                cache.claimed.insert(service);
                touched.insert(service);
            }
        }
        // Trust decides which services count: then every claimed service is read again.
        let reread: Vec<Id> = if trust_changed {
            cache.claimed.iter().copied().collect()
        } else {
            touched
                .into_iter()
                .filter(|s| cache.claimed.contains(s))
                .collect()
        };
        load_service_facts(&self.store, &mut cache, reread)?;
        cache.reconciled = None;
        Ok(cache)
    }
}

/// Reads the facts of `services` from the store into the cache (forgetting any it lacks).
fn load_service_facts(
    store: &crate::store::Store,
    cache: &mut LedgerCache,
    services: impl IntoIterator<Item = Id>,
) -> Result<()> {
    let services: Vec<Id> = services.into_iter().collect();
    let mut facts = store.service_facts(services.iter().copied())?;
    if let ServiceView::Known(known) = &mut cache.services {
        for service in services {
            match facts.remove(&service) {
                Some(f) => known.insert(service, f),
                None => known.remove(&service),
            };
        }
    }
    cache.reconciled = None;
    Ok(())
}
