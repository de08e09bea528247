//! Forks and broken links in members' chains, kept up to date as entries arrive. What a chain
//! position shows depends only on the entries at it and at the position before (and on the
//! trust chain, which decides which entries are in a chain at all), so an entry's arrival
//! looks again at its own position and the next one, and a change of trust at every position.
//! Decisions are applied when the queue is made ([`ChainFindings::conflicts`]): a decided entry
//! no longer waits on the coordinator.

use std::collections::BTreeMap;

use super::conflict::{Conflict, ConflictKind};
use super::idmap::IdMap;
use super::reconcile::Item;
use super::standing::KeyProblem;
use crate::domain::EntryHash;
use crate::ids::Id;

/// What one chain position shows, before any decision.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Finding {
    /// Several entries hold the position: all of them, by (clock, id).
    Fork(Vec<Id>),
    /// The entry's `prev` names none of the entries at the position before.
    BrokenLink(Id),
}

/// The forks and broken links of every member's chain, by (member, position).
#[derive(Debug, Clone, Default)]
pub(super) struct ChainFindings(BTreeMap<(Id, u64), Vec<Finding>>);

/// A member's chain: the entry ids at each position.
type Chain = BTreeMap<u64, Vec<Id>>;

impl ChainFindings {
    /// Looks again at every position of every chain (after the trust chain changed).
    /// Each position's entries are worked out once and serve as the next position's
    /// "before".
    pub(super) fn rebuild(&mut self, chains: &BTreeMap<Id, Chain>, items: &IdMap<Item>) {
        self.0.clear();
        for (member, chain) in chains {
            let mut previous: Option<(u64, Vec<&Item>)> = None;
            for seq in chain.keys() {
                let here = in_chain(chain, *seq, items);
                let before = previous
                    .take()
                    .filter(|(s, _)| s.checked_add(1) == Some(*seq))
                    .map(|(_, b)| b)
                    .unwrap_or_default();
                self.record(*member, *seq, &here, &before);
                previous = Some((*seq, here));
            }
        }
    }

    /// Looks again at the positions an entry arriving at `seq` of `member`'s chain can change:
    /// its own and the next.
    pub(super) fn entry_arrived(
        &mut self,
        member: Id,
        seq: u64,
        chains: &BTreeMap<Id, Chain>,
        items: &IdMap<Item>,
    ) {
        let Some(chain) = chains.get(&member) else {
            return;
        };
        self.look_at(member, seq, chain, items);
        if let Some(next) = seq.checked_add(1) {
            self.look_at(member, next, chain, items);
        }
    }

    /// Adds to `conflicts` the findings that still wait on the coordinator: a fork while any
    /// of its entries is undecided, a broken link while its entry is.
    pub(super) fn conflicts(&self, decided: impl Fn(&Id) -> bool, conflicts: &mut Vec<Conflict>) {
        for ((member, seq), findings) in &self.0 {
            for finding in findings {
                match finding {
                    Finding::Fork(evidence) => {
                        let awaiting: Vec<Id> =
                            evidence.iter().filter(|id| !decided(id)).copied().collect();
                        if !awaiting.is_empty() {
                            conflicts.push(Conflict {
                                member: *member,
                                kind: ConflictKind::Fork { seq: *seq },
                                evidence: evidence.clone(),
                                awaiting,
                            });
                        }
                    }
                    Finding::BrokenLink(id) if !decided(id) => conflicts.push(Conflict {
                        member: *member,
                        kind: ConflictKind::BrokenLink { seq: *seq },
                        evidence: vec![*id],
                        awaiting: vec![*id],
                    }),
                    Finding::BrokenLink(_) => {}
                }
            }
        }
    }

    /// Works out what position `seq` of `member`'s chain shows.
    fn look_at(&mut self, member: Id, seq: u64, chain: &Chain, items: &IdMap<Item>) {
        let here = in_chain(chain, seq, items);
        let before = seq
            .checked_sub(1)
            .map(|s| in_chain(chain, s, items))
            .unwrap_or_default();
        self.record(member, seq, &here, &before);
    }

    /// Records what position `seq` of `member`'s chain shows, from the entries in the chain
    /// there (`here`) and at the position before (`before`, empty at the first).
    fn record(&mut self, member: Id, seq: u64, here: &[&Item], before: &[&Item]) {
        let mut findings = Vec::new();
        if here.len() > 1 {
            findings.push(Finding::Fork(here.iter().map(|i| i.id()).collect()));
        }
        if !before.is_empty() {
            let hashes: Vec<EntryHash> = before.iter().map(|i| i.hash()).collect();
            for item in here {
                if !item.prev().is_some_and(|p| hashes.contains(&p)) {
                    findings.push(Finding::BrokenLink(item.id()));
                }
            }
        }
        if findings.is_empty() {
            self.0.remove(&(member, seq));
        } else {
            self.0.insert((member, seq), findings);
        }
    }
}

/// The entries at position `seq` of a chain that belong in it, by (clock, id). Entries from keys
/// never certified for the member are left out: they are forgeries, reported as untrusted, not
/// as forks.
fn in_chain<'a>(chain: &Chain, seq: u64, items: &'a IdMap<Item>) -> Vec<&'a Item> {
    let mut here: Vec<&Item> = chain
        .get(&seq)
        .into_iter()
        .flatten()
        .filter_map(|id| items.get(id))
        .filter(|i| {
            !matches!(
                i.key_problem(),
                Some(KeyProblem::Unknown | KeyProblem::OtherMember)
            )
        })
        .collect();
    here.sort_by_key(|i| (i.hlc(), i.id()));
    here
}
