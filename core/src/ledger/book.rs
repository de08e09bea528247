//! [`Ledger`]: the set of verified records the time bank is computed from (certificates,
//! revocations, rules and ledger entries), indexed as they arrive so that reconciling after a
//! week of new entries only indexes that week.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::idmap::IdMap;

use super::chain_findings::ChainFindings;
use super::reconcile::{Item, Reconciliation, reconcile};
use super::services::ServiceView;
use super::verify::verify_signatures;
use crate::domain::{EntryHash, EntryKind, LedgerEntry, LedgerRules, RecordBody};
use crate::identity::{PublicKey, TrustChain};
use crate::ids::Id;
use crate::record::{NoKeys, SignedRecord, record_id};

/// What one bulk ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerIngest {
    /// Records new to the ledger and valid.
    pub added: Vec<Id>,
    /// Records already held (not decoded or verified again).
    pub known: usize,
    /// Records refused, by position in the input, with the reason.
    pub rejected: Vec<(usize, String)>,
}

/// The verified records of one circle's time bank.
#[derive(Debug, Clone)]
pub struct Ledger {
    circle: Id,
    centre: PublicKey,
    records: IdMap<SignedRecord>,
    certificates: Vec<Id>,
    rules: Vec<Id>,
    /// Each entry as reconciliation sees it under the current trust chain.
    items: IdMap<Item>,
    /// The forks and broken links of the chains, before decisions.
    chain_findings: ChainFindings,
    chains: BTreeMap<Id, BTreeMap<u64, Vec<Id>>>,
    references: IdMap<Vec<Id>>,
    gifts_to: IdMap<Vec<Id>>,
    transfers_of: IdMap<Vec<Id>>,
    opened: IdMap<Vec<Id>>,
    trust: TrustChain,
    /// The record held at each device-chain position (author, seq), of the records held here.
    positions: HashMap<(PublicKey, u64), Id>,
    /// Positions two records hold: seen here, or told by the store that holds all records.
    forks: HashSet<(PublicKey, u64)>,
}

impl Ledger {
    /// An empty ledger of `circle`, whose root of trust is `centre`.
    pub fn new(circle: Id, centre: PublicKey) -> Ledger {
        Ledger {
            circle,
            centre,
            records: IdMap::default(),
            certificates: Vec::new(),
            rules: Vec::new(),
            items: IdMap::default(),
            chain_findings: ChainFindings::default(),
            chains: BTreeMap::new(),
            references: IdMap::default(),
            gifts_to: IdMap::default(),
            transfers_of: IdMap::default(),
            opened: IdMap::default(),
            trust: TrustChain::build(centre, [], &HashSet::new()),
            positions: HashMap::new(),
            forks: HashSet::new(),
        }
    }

    /// Whether a record is one the ledger keeps: a certificate, a revocation, the rules or an
    /// entry.
    pub fn wants(body: &RecordBody) -> bool {
        matches!(
            body,
            RecordBody::Enrolment(_)
                | RecordBody::Revocation(_)
                | RecordBody::Ledger(_)
                | RecordBody::LedgerRules(_)
        )
    }

    /// Adds records whose signatures were already verified (by the store that admitted them).
    /// Records of other circles or types, and records already held, are skipped. Returns the
    /// ids added.
    pub fn insert_verified(&mut self, records: impl IntoIterator<Item = SignedRecord>) -> Vec<Id> {
        let mut added = Vec::new();
        let mut certificates_changed = false;
        let mut arrived = Vec::new();
        for record in records {
            let id = record.id();
            if self.records.contains_key(&id)
                || record.envelope().circle != self.circle
                || !Ledger::wants(record.body())
            {
                continue;
            }
            if let Some(link) = record.link() {
                let place = (record.author(), link.seq);
                match self.positions.get(&place) {
                    Some(held) if *held != id => certificates_changed |= self.forks.insert(place),
                    Some(_) => {}
                    None => {
                        self.positions.insert(place, id);
                    }
                }
            }
            match record.body() {
                RecordBody::Enrolment(_) | RecordBody::Revocation(_) => {
                    self.certificates.push(id);
                    certificates_changed = true;
                }
                RecordBody::LedgerRules(_) => self.rules.push(id),
                RecordBody::Ledger(entry) => {
                    self.index_entry(&record, entry);
                    arrived.push((entry.member_id, entry.seq));
                }
                _ => {}
            }
            self.records.insert(id, record);
            added.push(id);
        }
        if certificates_changed {
            self.rebuild_trust();
        } else {
            for (member, seq) in arrived {
                self.chain_findings
                    .entry_arrived(member, seq, &self.chains, &self.items);
            }
        }
        added
    }

    /// Notes chain positions that two records of one author hold, as a store that holds every
    /// record type sees them (the ledger holds only its own types). Returns whether any was new.
    pub fn note_forks(&mut self, forks: impl IntoIterator<Item = (PublicKey, u64)>) -> bool {
        let mut new = false;
        for fork in forks {
            new |= self.forks.insert(fork);
        }
        if new {
            self.rebuild_trust();
        }
        new
    }

    fn rebuild_trust(&mut self) {
        self.trust = TrustChain::build(
            self.centre,
            self.certificates
                .iter()
                .filter_map(|id| self.records.get(id)),
            &self.forks,
        );
        // Every entry's key is judged again under the new chain.
        let (trust, records) = (&self.trust, &self.records);
        for (id, item) in &mut self.items {
            if let Some(record) = records.get(id)
                && let RecordBody::Ledger(entry) = record.body()
            {
                *item = Item::of(trust, record, entry, item.hash());
            }
        }
        self.chain_findings.rebuild(&self.chains, &self.items);
    }

    /// Decodes, verifies (in batches, see [`super::verify_signatures`]) and adds raw signed
    /// records. Records already held are recognised by their id and neither decoded nor
    /// verified again. The ledger reads only records that travel in the clear (time-bank
    /// entries, rules, enrolments, revocations), so that a statement verifies with the centre's
    /// key alone; a sealed record here is rejected.
    pub fn ingest<'a>(&mut self, raw: impl IntoIterator<Item = &'a [u8]>) -> LedgerIngest {
        let mut outcome = LedgerIngest::default();
        let mut decoded = Vec::new();
        let mut positions = Vec::new();
        for (position, bytes) in raw.into_iter().enumerate() {
            if bytes.len() > 64 && self.records.contains_key(&record_id(&bytes[64..])) {
                outcome.known += 1;
                continue;
            }
            match SignedRecord::decode_unverified(bytes, &NoKeys) {
                Ok(record) if record.envelope().circle != self.circle => outcome.rejected.push((
                    position,
                    format!("belongs to circle {}", record.envelope().circle),
                )),
                Ok(record) => {
                    decoded.push(record);
                    positions.push(position);
                }
                Err(e) => outcome.rejected.push((position, e.to_string())),
            }
        }
        let verdicts = verify_signatures(&decoded);
        let mut valid = Vec::with_capacity(decoded.len());
        for ((record, ok), position) in decoded.into_iter().zip(verdicts).zip(positions) {
            if ok {
                valid.push(record);
            } else {
                outcome.rejected.push((position, "bad signature".into()));
            }
        }
        outcome.added = self.insert_verified(valid);
        outcome
    }

    fn index_entry(&mut self, record: &SignedRecord, entry: &LedgerEntry) {
        let id = record.id();
        let hash = EntryHash::of_payload(record.payload());
        // Under the chain as it is; if this batch changes the chain, every item is made again.
        self.items
            .insert(id, Item::of(&self.trust, record, entry, hash));
        self.chains
            .entry(entry.member_id)
            .or_default()
            .entry(entry.seq)
            .or_default()
            .push(id);
        if let Some(target) = entry.kind.refers_to() {
            self.references.entry(target).or_default().push(id);
        }
        match entry.kind {
            EntryKind::Gift { to, .. } => self.gifts_to.entry(to).or_default().push(id),
            EntryKind::TransferOut { member, .. } => {
                self.transfers_of.entry(member).or_default().push(id);
            }
            EntryKind::TransferIn {
                member,
                transfer_out,
                ..
            } => {
                self.transfers_of.entry(member).or_default().push(id);
                self.opened.entry(transfer_out).or_default().push(id);
            }
            _ => {}
        }
    }

    /// The circle.
    pub fn circle(&self) -> Id {
        self.circle
    }

    /// The centre's key.
    pub fn centre(&self) -> PublicKey {
        self.centre
    }

    /// A held record.
    pub fn record(&self, id: Id) -> Option<&SignedRecord> {
        self.records.get(&id)
    }

    /// A held ledger entry with its record.
    pub fn entry(&self, id: Id) -> Option<(&LedgerEntry, &SignedRecord)> {
        let record = self.records.get(&id)?;
        match record.body() {
            RecordBody::Ledger(entry) => Some((entry, record)),
            _ => None,
        }
    }

    /// The trust chain the held certificates make.
    pub fn trust(&self) -> &TrustChain {
        &self.trust
    }

    /// The rules in force: the latest (clock, id) rules record signed by the centre.
    pub fn rules(&self) -> LedgerRules {
        self.rules
            .iter()
            .filter_map(|id| self.records.get(id))
            .filter(|r| r.author() == self.centre)
            .max_by_key(|r| (r.hlc(), r.id()))
            .and_then(|r| match r.body() {
                RecordBody::LedgerRules(rules) => Some(rules.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The last link of a member's chain: the highest sequence number and the hash of its
    /// entry (of several at that number, the earliest by clock then id).
    pub fn head(&self, member: Id) -> Option<(u64, EntryHash)> {
        let (seq, ids) = self.chains.get(&member)?.last_key_value()?;
        let first = ids
            .iter()
            .filter_map(|id| self.items.get(id).map(|i| (i.hlc(), *id, i.hash())))
            .min()?;
        Some((*seq, first.2))
    }

    /// The ids of a member's entries, by sequence number.
    pub fn chain(&self, member: Id) -> Vec<Id> {
        self.chains
            .get(&member)
            .map(|c| c.values().flatten().copied().collect())
            .unwrap_or_default()
    }

    /// Computes standings, balances and the conflict queue from the held records.
    pub fn reconcile(&self, services: &ServiceView) -> Reconciliation {
        reconcile(self, services)
    }

    /// Every held entry as reconciliation sees it.
    pub(super) fn items(&self) -> &IdMap<Item> {
        &self.items
    }

    /// The forks and broken links of the chains, before decisions.
    pub(super) fn chain_findings(&self) -> &ChainFindings {
        &self.chain_findings
    }

    pub(crate) fn references(&self, target: Id) -> &[Id] {
        self.references.get(&target).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn gifts_to(&self, member: Id) -> &[Id] {
        self.gifts_to.get(&member).map_or(&[], Vec::as_slice)
    }

    /// The transfers out and in that move a member's balance (entries in coordinators' chains).
    pub(crate) fn transfers_of(&self, member: Id) -> &[Id] {
        self.transfers_of.get(&member).map_or(&[], Vec::as_slice)
    }

    /// The transfer-in entries held here that open `transfer_out` (an entry of another circle).
    pub fn transfers_in(&self, transfer_out: Id) -> &[Id] {
        self.opened.get(&transfer_out).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn certificate_ids(&self) -> &[Id] {
        &self.certificates
    }

    pub(crate) fn rules_ids(&self) -> &[Id] {
        &self.rules
    }
}
