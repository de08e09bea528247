//! Device chains as a store holds them: each device's next position, and what a coordinator must
//! be shown about the chains of others — forks (two records one device signed at one position: a
//! restored backup or a cloned phone) and gaps (positions of which this store holds nothing:
//! records withheld by a peer or the relay, or not yet received). Version-1 records have no
//! position and take no part.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

use rusqlite::OptionalExtension;

use super::Store;
use super::sql_types::Columns;
use crate::error::Result;
use crate::identity::PublicKey;
use crate::ids::Id;
use crate::record::ChainLink;

/// Something wrong with one device's chain, as this store sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// Two or more records of one device at one position. `records` are the ids known there:
    /// held, or named as the previous record by the next one. Every id is signed evidence.
    Fork {
        /// The device.
        author: PublicKey,
        /// The position signed twice.
        seq: u64,
        /// The records at that position.
        records: BTreeSet<Id>,
    },
    /// Positions of a device's chain of which this store holds no record.
    Gap {
        /// The device.
        author: PublicKey,
        /// The first position missing.
        from_seq: u64,
        /// The last position missing.
        to_seq: u64,
    },
}

/// One device's chain as held: position → ids there, and the previous record each names.
#[derive(Default)]
struct HeldChain {
    at: BTreeMap<u64, BTreeSet<Id>>,
    named_prev: Vec<(u64, Id)>,
}

/// The SQL condition "another record of `author` holds chain position `seq`" (a fork there),
/// over the SQL expressions given for the author, the position and the record's own id.
pub(crate) fn forked_sql(author: &str, seq: &str, id: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM records o WHERE o.author = {author} AND o.seq = {seq} AND o.id <> {id})"
    )
}

impl Store {
    /// The position the next record `author` signs takes: after the highest position held
    /// (of two records there, the lower id).
    pub fn next_link(&self, author: PublicKey) -> Result<ChainLink> {
        let head: Option<(NonZeroU64, Id)> = self
            .conn()
            .prepare_cached(
                "SELECT seq, id FROM records WHERE author = ?1 AND seq IS NOT NULL
                 ORDER BY seq DESC, id LIMIT 1",
            )?
            .query_row([author], |r| Ok((r.column(0)?, r.column(1)?)))
            .optional()?;
        Ok(match head {
            None => ChainLink::FIRST,
            Some((seq, id)) => ChainLink::after(seq.get(), id),
        })
    }

    /// The highest position held of `author`'s chain and the record there, if any.
    pub fn chain_head(&self, author: PublicKey) -> Result<Option<(u64, Id)>> {
        let next = self.next_link(author)?;
        Ok(next.prev.map(|id| (next.seq - 1, id)))
    }

    /// Every fork and gap in the chains this store holds, by device then position.
    pub fn chain_problems(&self) -> Result<Vec<ChainProblem>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT author, seq, id, prev FROM records WHERE seq IS NOT NULL ORDER BY author, seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.column::<PublicKey>(0)?,
                r.column::<NonZeroU64>(1)?.get(),
                r.column::<Id>(2)?,
                r.column::<Option<Id>>(3)?,
            ))
        })?;
        let mut chains: BTreeMap<PublicKey, HeldChain> = BTreeMap::new();
        for row in rows {
            let (author, seq, id, prev) = row?;
            let chain = chains.entry(author).or_default();
            chain.at.entry(seq).or_default().insert(id);
            if let Some(prev) = prev {
                chain.named_prev.push((seq - 1, prev));
            }
        }
        let mut problems = Vec::new();
        for (author, chain) in chains {
            problems.extend(chain.problems(author));
        }
        Ok(problems)
    }
}

impl HeldChain {
    fn problems(mut self, author: PublicKey) -> Vec<ChainProblem> {
        // A record naming a previous record other than the one held there reveals a second
        // branch at that position, even if its record never arrived.
        for (seq, prev) in std::mem::take(&mut self.named_prev) {
            if let Some(held) = self.at.get_mut(&seq) {
                held.insert(prev);
            }
        }
        let mut problems = Vec::new();
        let mut expected = 1;
        for (&seq, records) in &self.at {
            if seq > expected {
                problems.push(ChainProblem::Gap {
                    author,
                    from_seq: expected,
                    to_seq: seq - 1,
                });
            }
            if records.len() > 1 {
                problems.push(ChainProblem::Fork {
                    author,
                    seq,
                    records: records.clone(),
                });
            }
            expected = seq + 1;
        }
        problems
    }
}
