//! Reconciliation: from the set of held records to every entry's standing, every member's
//! movements and the conflict queue. A pure function of the set (and the service facts):
//! nothing depends on the order records arrived in, so replicas holding the same records agree.

use std::collections::{BTreeMap, HashMap};

use super::idmap::{IdMap, IdSet};

use super::balance::{Balance, Movement, MovementKind, replay};
use super::book::Ledger;
use super::conflict::{Conflict, ConflictKind};
use super::services::{ClaimRef, ServiceView};
use super::standing::{Hold, KeyProblem, Pending, Rule, Standing};
use crate::domain::{EntryHash, EntryKind, LedgerEntry, LedgerRules, Role, Verdict};
use crate::hlc::Hlc;
use crate::identity::TrustChain;
use crate::ids::Id;
use crate::record::SignedRecord;
use crate::time::Month;

/// The reconciled state of a ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    rules: LedgerRules,
    standings: IdMap<Standing>,
    movements: BTreeMap<Id, Vec<Movement>>,
    pending: BTreeMap<Id, i64>,
    conflicts: Vec<Conflict>,
}

impl Reconciliation {
    /// Where an entry stands (`None` for records that are not held entries).
    pub fn standing(&self, entry: Id) -> Option<Standing> {
        self.standings.get(&entry).copied()
    }

    /// A member's balance at `as_of_ms`: movements up to then, minus lots expired by then.
    pub fn balance(&self, member: Id, as_of_ms: u64) -> Balance {
        let movements = self.movements.get(&member).map_or(&[][..], Vec::as_slice);
        let mut balance = replay(member, movements, &self.rules, Some(as_of_ms), |_, _| {});
        balance.pending_minutes = self.pending.get(&member).copied().unwrap_or(0);
        balance
    }

    /// The members with any counted or pending movement.
    pub fn members(&self) -> impl Iterator<Item = Id> + '_ {
        let mut all: Vec<Id> = self
            .movements
            .keys()
            .chain(self.pending.keys())
            .copied()
            .collect();
        all.sort();
        all.dedup();
        all.into_iter()
    }

    /// A member's counted movements, in replay order.
    pub fn movements(&self, member: Id) -> &[Movement] {
        self.movements.get(&member).map_or(&[][..], Vec::as_slice)
    }

    /// The coordinator's queue, in a fixed order (member, kind, evidence).
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }
}

/// One entry as reconciliation sees it. The ledger keeps one for each entry it holds, made
/// when the entry arrives and made again for all when its trust chain changes, so that a
/// reconciliation after a week of new entries does not look up every key again.
#[derive(Debug, Clone)]
pub(super) struct Item {
    id: Id,
    /// A copy of the entry: the passes below read it for every entry, several times, and a
    /// copy beside the rest of the item is read from memory in order, not through a pointer
    /// into the ledger's records scattered on the heap.
    entry: LedgerEntry,
    /// The hash of the entry's payload (what the next entry's `prev` names).
    hash: EntryHash,
    hlc: Hlc,
    author: crate::identity::PublicKey,
    key_problem: Option<KeyProblem>,
    /// The signing key's certified role and elder (for family members).
    signer: Option<(Role, Option<Id>)>,
}

impl Item {
    /// The entry `record` holds (whose payload hashes to `hash`) as reconciliation sees it
    /// under `trust`, with its key's problem and its signer's role.
    pub(super) fn of(
        trust: &TrustChain,
        record: &SignedRecord,
        entry: &LedgerEntry,
        hash: EntryHash,
    ) -> Item {
        let certificate = trust.certificate(record.author());
        let key_problem = KeyProblem::of(trust.standing_of(record)).or_else(|| {
            let owner = certificate.map(|c| c.enrolment.member_id);
            (owner != Some(entry.member_id)).then_some(KeyProblem::OtherMember)
        });
        Item {
            id: record.id(),
            entry: entry.clone(),
            hash,
            hlc: record.hlc(),
            author: record.author(),
            key_problem,
            signer: certificate.map(|c| (c.enrolment.role, c.enrolment.family_of)),
        }
    }

    /// The entry's record id.
    pub(super) fn id(&self) -> Id {
        self.id
    }

    /// The hash of the entry's payload.
    pub(super) fn hash(&self) -> EntryHash {
        self.hash
    }

    /// The hash of the member's previous entry, as the entry names it.
    pub(super) fn prev(&self) -> Option<EntryHash> {
        self.entry.prev
    }

    /// The entry's clock.
    pub(super) fn hlc(&self) -> Hlc {
        self.hlc
    }

    /// What is wrong with the key that signed it, if anything.
    pub(super) fn key_problem(&self) -> Option<KeyProblem> {
        self.key_problem
    }
}

/// What a decision on an entry made it: the latest counted decision by (clock, id) on each
/// entry, with that decision's clock and id.
type Verdicts = IdMap<(Hlc, Id, Verdict)>;

/// Reconciles the held entries, step by step (the numbers are the order the rules apply in).
pub(super) fn reconcile(ledger: &Ledger, services: &ServiceView) -> Reconciliation {
    let rules = ledger.rules();
    let items = ledger.items();
    let mut standings: IdMap<Standing> =
        IdMap::with_capacity_and_hasher(items.len(), Default::default());

    // 1. Decisions: they stand on their author alone (a decision is never decided on).
    let verdicts = stand_decisions(items, &mut standings);
    // 2. Confirmations: they stand on their author and the claim they name.
    let confirmed = stand_confirmations(items, &verdicts, &mut standings);
    // 3. Claims, redemptions and gifts, before the rules that look across entries.
    let by_service = stand_entries(ledger, services, &rules, items, &verdicts, &mut standings);
    let mut keeper_of = keep_one_claim_per_service(by_service, &confirmed, &rules, &mut standings);
    keep_one_transfer_in(items, &mut standings, &mut keeper_of);
    apply_gift_cap(&rules, items, &mut standings);
    // 4. Movements, pending minutes and the queue.
    let (movements, pending) = movements_of(items, &standings);
    let conflicts = conflicts_of(
        ledger, &rules, items, &standings, &verdicts, &keeper_of, &movements,
    );
    Reconciliation {
        rules,
        standings,
        movements,
        pending,
        conflicts,
    }
}

/// Decides where each decision stands; returns the verdicts of the counted ones.
fn stand_decisions(items: &IdMap<Item>, standings: &mut IdMap<Standing>) -> Verdicts {
    let mut verdicts: Verdicts = IdMap::default();
    for item in items.values() {
        let EntryKind::Decide {
            target, verdict, ..
        } = &item.entry.kind
        else {
            continue;
        };
        let standing = if let Some(p) = item.key_problem {
            Standing::Held(Hold::Key(p))
        } else if item.signer.map(|r| r.0) != Some(Role::Coordinator) {
            Standing::Held(Hold::Rule(Rule::DecisionNotByCoordinator))
        } else {
            match items.get(target) {
                None => Standing::Pending(Pending::TargetMissing),
                Some(t) if matches!(t.entry.kind, EntryKind::Decide { .. }) => {
                    Standing::Held(Hold::Rule(Rule::WrongTarget))
                }
                Some(_) => Standing::Counted,
            }
        };
        if standing == Standing::Counted {
            let candidate = (item.hlc, item.id, *verdict);
            let latest = verdicts.entry(*target).or_insert(candidate);
            if (candidate.0, candidate.1) > (latest.0, latest.1) {
                *latest = candidate;
            }
        }
        standings.insert(item.id, standing);
    }
    verdicts
}

/// What a counted decision made of entry `id`, if any.
fn decided(verdicts: &Verdicts, id: Id) -> Option<Standing> {
    verdicts.get(&id).map(|(_, _, v)| match v {
        Verdict::Approve => Standing::Approved,
        Verdict::Reject => Standing::Rejected,
    })
}

/// Decides where each confirmation stands; returns the claims a counted confirmation names.
fn stand_confirmations(
    items: &IdMap<Item>,
    verdicts: &Verdicts,
    standings: &mut IdMap<Standing>,
) -> IdSet {
    for item in items.values() {
        let EntryKind::Confirm { claim, .. } = &item.entry.kind else {
            continue;
        };
        let standing = decided(verdicts, item.id).unwrap_or_else(|| {
            if let Some(p) = item.key_problem {
                return Standing::Held(Hold::Key(p));
            }
            let Some(target) = items.get(claim) else {
                return Standing::Pending(Pending::TargetMissing);
            };
            let EntryKind::Claim { elder_id, .. } = target.entry.kind else {
                return Standing::Held(Hold::Rule(Rule::WrongTarget));
            };
            if target.entry.member_id == item.entry.member_id {
                return Standing::Held(Hold::Rule(Rule::SelfConfirmation));
            }
            match item.signer {
                Some((Role::Caregiver | Role::Coordinator, _)) => Standing::Counted,
                Some((Role::Family, Some(of))) if of == elder_id => Standing::Counted,
                _ => Standing::Held(Hold::Rule(Rule::ConfirmerNotRecipientSide)),
            }
        });
        standings.insert(item.id, standing);
    }
    items
        .values()
        .filter_map(|item| match item.entry.kind {
            EntryKind::Confirm { claim, .. }
                if standings.get(&item.id).is_some_and(|s| s.counts()) =>
            {
                Some(claim)
            }
            _ => None,
        })
        .collect()
}

/// Decides where claims, redemptions and gifts stand on their own (a decision, the key, the
/// service, the rules of one entry); returns, by service, the claims that still take it (with
/// their clocks, not yet sorted).
fn stand_entries(
    ledger: &Ledger,
    services: &ServiceView,
    rules: &LedgerRules,
    items: &IdMap<Item>,
    verdicts: &Verdicts,
    standings: &mut IdMap<Standing>,
) -> BTreeMap<Id, Vec<(Hlc, Id)>> {
    let trust = ledger.trust();
    let mut by_service: BTreeMap<Id, Vec<(Hlc, Id)>> = BTreeMap::new();
    for item in items.values() {
        let standing = decided(verdicts, item.id)
            .or_else(|| item.key_problem.map(|p| Standing::Held(Hold::Key(p))));
        match &item.entry.kind {
            EntryKind::Claim {
                service,
                elder_id,
                minutes,
            } => {
                let problem = services.check(&ClaimRef {
                    claim: item.id,
                    claimant: item.entry.member_id,
                    service: *service,
                    elder_id: *elder_id,
                    minutes: *minutes,
                });
                match standing.or(problem.map(|p| Standing::Held(Hold::Service(p)))) {
                    Some(Standing::Rejected) => {
                        standings.insert(item.id, Standing::Rejected);
                    }
                    Some(Standing::Approved) | None => {
                        // Approved claims keep their approval but still take a service.
                        if let Some(s) = standing {
                            standings.insert(item.id, s);
                        }
                        by_service
                            .entry(*service)
                            .or_default()
                            .push((item.hlc, item.id));
                    }
                    Some(held) => {
                        standings.insert(item.id, held);
                    }
                }
            }
            EntryKind::Redeem { .. } => {
                let standing = standing.unwrap_or_else(|| {
                    if redemption_age_ok(rules, ledger, item) {
                        Standing::Counted
                    } else {
                        Standing::Held(Hold::Rule(Rule::RedemptionAge))
                    }
                });
                standings.insert(item.id, standing);
            }
            EntryKind::Gift { to, .. } => {
                let standing = standing.unwrap_or_else(|| {
                    let household = |m: Id| trust.profile(m).and_then(|c| c.enrolment.household);
                    match (household(item.entry.member_id), household(*to)) {
                        (Some(a), Some(b)) if a == b => Standing::Counted,
                        _ => Standing::Held(Hold::Rule(Rule::GiftNotToRelative)),
                    }
                });
                standings.insert(item.id, standing);
            }
            EntryKind::TransferOut { .. } | EntryKind::TransferIn { .. } => {
                let standing = standing.unwrap_or_else(|| {
                    if item.signer.map(|r| r.0) == Some(Role::Coordinator) {
                        Standing::Counted
                    } else {
                        Standing::Held(Hold::Rule(Rule::TransferNotByCoordinator))
                    }
                });
                standings.insert(item.id, standing);
            }
            EntryKind::Confirm { .. } | EntryKind::Decide { .. } => {}
        }
    }
    by_service
}

/// A transfer-out is opened once: of the transfer-ins naming it that count, the earliest by
/// (clock, id) keeps it and the later ones are held as duplicates (unless approved). Adds each
/// keeper to `keeper_of`, under the transfer-out's id.
fn keep_one_transfer_in(
    items: &IdMap<Item>,
    standings: &mut IdMap<Standing>,
    keeper_of: &mut IdMap<Id>,
) {
    let mut by_transfer: BTreeMap<Id, Vec<(Hlc, Id)>> = BTreeMap::new();
    for item in items.values() {
        if let EntryKind::TransferIn { transfer_out, .. } = item.entry.kind
            && standings.get(&item.id).is_some_and(|s| s.counts())
        {
            by_transfer
                .entry(transfer_out)
                .or_default()
                .push((item.hlc, item.id));
        }
    }
    for (transfer_out, mut opened) in by_transfer {
        opened.sort();
        if let Some((_, keeper)) = opened.first() {
            keeper_of.insert(transfer_out, *keeper);
        }
        for (_, id) in opened.iter().skip(1) {
            if standings.get(id) == Some(&Standing::Counted) {
                standings.insert(*id, Standing::Held(Hold::Duplicate));
            }
        }
    }
}

/// A service is claimed once: the earliest claim in good standing keeps it, the later ones
/// are held as duplicates. Returns the claim that keeps each service.
fn keep_one_claim_per_service(
    by_service: BTreeMap<Id, Vec<(Hlc, Id)>>,
    confirmed: &IdSet,
    rules: &LedgerRules,
    standings: &mut IdMap<Standing>,
) -> IdMap<Id> {
    let mut keeper_of: IdMap<Id> = IdMap::default();
    for (service, mut claims) in by_service {
        claims.sort();
        if let Some((_, keeper)) = claims.first() {
            keeper_of.insert(service, *keeper);
        }
        for (i, (_, claim)) in claims.iter().enumerate() {
            if standings.get(claim) == Some(&Standing::Approved) {
                continue;
            }
            let standing = if i > 0 {
                Standing::Held(Hold::Duplicate)
            } else if !confirmed.contains(claim) {
                Standing::Pending(Pending::Unconfirmed)
            } else if rules.approval_required {
                Standing::Pending(Pending::AwaitingApproval)
            } else {
                Standing::Counted
            };
            standings.insert(*claim, standing);
        }
    }
    keeper_of
}

/// Each member's counted movements, in replay order, and pending minutes.
fn movements_of(
    items: &IdMap<Item>,
    standings: &IdMap<Standing>,
) -> (BTreeMap<Id, Vec<Movement>>, BTreeMap<Id, i64>) {
    let mut movements: BTreeMap<Id, Vec<Movement>> = BTreeMap::new();
    let mut pending: BTreeMap<Id, i64> = BTreeMap::new();
    for item in items.values() {
        let counts = standings.get(&item.id).is_some_and(|s| s.counts());
        let member = item.entry.member_id;
        let mut push = |member: Id, kind: MovementKind, minutes: i64| {
            movements.entry(member).or_default().push(Movement {
                at: item.hlc,
                entry: item.id,
                kind,
                minutes,
            });
        };
        match &item.entry.kind {
            EntryKind::Claim { minutes, .. } if counts => {
                push(member, MovementKind::Earned, *minutes);
            }
            EntryKind::Claim { minutes, .. } => {
                if matches!(standings.get(&item.id), Some(Standing::Pending(_))) {
                    *pending.entry(member).or_default() += minutes;
                }
            }
            EntryKind::Redeem { minutes, .. } if counts => {
                push(member, MovementKind::Redeemed, *minutes);
            }
            EntryKind::Gift { to, minutes } if counts => {
                push(member, MovementKind::Given, *minutes);
                push(*to, MovementKind::Received, *minutes);
            }
            EntryKind::TransferOut {
                member, minutes, ..
            } if counts => push(*member, MovementKind::TransferredOut, *minutes),
            EntryKind::TransferIn {
                member, minutes, ..
            } if counts => push(*member, MovementKind::TransferredIn, *minutes),
            _ => {}
        }
    }
    for list in movements.values_mut() {
        list.sort_by_key(|m| (m.at, m.entry, m.kind.rank()));
    }

    (movements, pending)
}

/// The coordinator's queue: held entries, chain conflicts and overdrafts, sorted.
fn conflicts_of(
    ledger: &Ledger,
    rules: &LedgerRules,
    items: &IdMap<Item>,
    standings: &IdMap<Standing>,
    verdicts: &Verdicts,
    keeper_of: &IdMap<Id>,
    movements: &BTreeMap<Id, Vec<Movement>>,
) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    for item in items.values() {
        if let Some(c) = conflict_of(item, standings, keeper_of, ledger) {
            conflicts.push(c);
        }
    }
    ledger
        .chain_findings()
        .conflicts(|id| verdicts.contains_key(id), &mut conflicts);
    for (member, list) in movements {
        replay(*member, list, rules, None, |entry, after| {
            if verdicts.contains_key(&entry) {
                return;
            }
            let (kind, evidence) = match spent_twice(ledger, items, standings, *member, entry) {
                Some((transfer_out, evidence)) => {
                    (ConflictKind::TransferDoubleSpend { transfer_out }, evidence)
                }
                None => (
                    ConflictKind::Overdraft {
                        balance_after_minutes: after,
                    },
                    vec![entry],
                ),
            };
            conflicts.push(Conflict {
                member: *member,
                kind,
                evidence,
                awaiting: vec![entry],
            });
        });
    }
    conflicts.sort();
    conflicts
}

/// Whether an overdraft by `entry` spends hours that a counted transfer-out of `member` moved to
/// another circle: the transfer-out and the evidence (in (clock, id) order), if so. That is the
/// case when `entry` is a redemption or gift of the member beyond the chain head the
/// transfer-out saw, or when `entry` is the transfer-out and such debits took the hours first.
fn spent_twice(
    ledger: &Ledger,
    items: &IdMap<Item>,
    standings: &IdMap<Standing>,
    member: Id,
    entry: Id,
) -> Option<(Id, Vec<Id>)> {
    let counts = |id: &Id| standings.get(id).is_some_and(|s| s.counts());
    let unseen_debits = |head_seq: u64| -> Vec<Id> {
        ledger
            .chain(member)
            .into_iter()
            .filter(|id| {
                items.get(id).is_some_and(|i| {
                    i.entry.seq > head_seq
                        && matches!(
                            i.entry.kind,
                            EntryKind::Redeem { .. } | EntryKind::Gift { .. }
                        )
                })
            })
            .filter(counts)
            .collect()
    };
    let by_clock = |mut ids: Vec<Id>| {
        ids.sort_by_key(|id| (items.get(id).map(|i| i.hlc), *id));
        ids.dedup();
        ids
    };
    let mut outs: Vec<&Id> = ledger
        .transfers_of(member)
        .iter()
        .filter(|id| counts(id))
        .collect();
    outs.sort();
    for out in outs {
        let Some(EntryKind::TransferOut { head_seq, .. }) = items.get(out).map(|i| &i.entry.kind)
        else {
            continue;
        };
        let unseen = unseen_debits(*head_seq);
        if *out == entry && !unseen.is_empty() {
            let mut evidence = unseen;
            evidence.push(*out);
            return Some((*out, by_clock(evidence)));
        }
        if unseen.contains(&entry) {
            return Some((*out, by_clock(vec![*out, entry])));
        }
    }
    None
}

impl MovementKind {
    /// Orders a gift's two movements (same entry) deterministically.
    fn rank(self) -> u8 {
        match self {
            MovementKind::Earned => 0,
            MovementKind::Received => 1,
            MovementKind::Redeemed => 2,
            MovementKind::Given => 3,
            MovementKind::TransferredIn => 4,
            MovementKind::TransferredOut => 5,
        }
    }
}

fn redemption_age_ok(rules: &LedgerRules, ledger: &Ledger, item: &Item) -> bool {
    let Some(age) = rules.redemption_age else {
        return true;
    };
    let year = Month::of_instant(item.hlc.instant_ms()).year;
    ledger
        .trust()
        .profile(item.entry.member_id)
        .and_then(|c| c.enrolment.birth_year)
        .is_some_and(|born| i64::from(year) - i64::from(born) >= age)
}

/// Holds the gifts that would take their giver past the yearly cap, in (clock, id) order.
fn apply_gift_cap(rules: &LedgerRules, items: &IdMap<Item>, standings: &mut IdMap<Standing>) {
    let Some(cap) = rules.gift_cap_minutes_per_year else {
        return;
    };
    let mut gifts: Vec<(Id, i32, Hlc, Id, i64)> = items
        .values()
        .filter_map(|item| match item.entry.kind {
            EntryKind::Gift { minutes, .. } => Some((
                item.entry.member_id,
                Month::of_instant(item.hlc.instant_ms()).year,
                item.hlc,
                item.id,
                minutes,
            )),
            _ => None,
        })
        .collect();
    gifts.sort();
    let mut given: HashMap<(Id, i32), i64> = HashMap::new();
    for (giver, year, _, id, minutes) in gifts {
        let standing = standings.get(&id).copied();
        if !standing.is_some_and(|s| s.counts()) {
            continue;
        }
        let total = given.entry((giver, year)).or_default();
        if standing == Some(Standing::Counted) && *total + minutes > cap {
            standings.insert(id, Standing::Held(Hold::Rule(Rule::GiftCap)));
        } else {
            *total += minutes;
        }
    }
}

/// The queue item an entry's own standing calls for, if any.
fn conflict_of(
    item: &Item,
    standings: &IdMap<Standing>,
    keeper_of: &IdMap<Id>,
    ledger: &Ledger,
) -> Option<Conflict> {
    let standing = standings.get(&item.id)?;
    let mut evidence = vec![item.id];
    let kind = match standing {
        Standing::Held(Hold::Key(problem)) => ConflictKind::UntrustedKey {
            key: item.author,
            problem: *problem,
        },
        Standing::Held(Hold::Service(problem)) => match item.entry.kind {
            EntryKind::Claim { service, .. } => ConflictKind::ClaimService {
                service,
                problem: *problem,
            },
            _ => return None,
        },
        Standing::Held(Hold::Duplicate) => match item.entry.kind {
            EntryKind::Claim { service, .. } => {
                if let Some(keeper) = keeper_of.get(&service) {
                    evidence.insert(0, *keeper);
                }
                ConflictKind::DuplicateClaim { service }
            }
            EntryKind::TransferIn { transfer_out, .. } => {
                if let Some(keeper) = keeper_of.get(&transfer_out) {
                    evidence.insert(0, *keeper);
                }
                ConflictKind::DuplicateTransfer { transfer_out }
            }
            _ => return None,
        },
        Standing::Held(Hold::Rule(rule)) => {
            if let Some(target) = item.entry.kind.refers_to()
                && ledger.entry(target).is_some()
            {
                evidence.push(target);
            }
            ConflictKind::RuleBroken { rule: *rule }
        }
        Standing::Pending(Pending::AwaitingApproval) => {
            evidence.extend(ledger.references(item.id).iter().copied());
            ConflictKind::AwaitingApproval
        }
        _ => return None,
    };
    Some(Conflict {
        member: item.entry.member_id,
        kind,
        evidence,
        awaiting: vec![item.id],
    })
}
