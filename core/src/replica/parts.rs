//! A document's missing changes sent in parts, each at most about a byte budget.
//!
//! Listing what a peer lacks walks the document's change graph and sorts the result, which
//! costs as much as the changes missing. A month sent in small parts would pay it once a part
//! (the cost of a first sync then grows with the square of the month), so the ordered list is
//! made once and kept: the next request that starts from the heads the last part left the
//! peer at, while the document is unchanged, continues from where that part ended.

use automerge::{AutoCommit, ChangeHash};

use super::{ChangeBatch, ReplicaError};

/// How many peers' sends in parts one document keeps open at a time (several phones may take
/// the same month at once); the oldest is dropped first.
const OPEN_SENDS: usize = 4;

/// A change and its dependencies.
type Meta = (ChangeHash, Vec<ChangeHash>);

/// One peer's send in parts, between two requests.
struct OpenSend {
    /// The document's heads when the list was made: any later change to it ends the send.
    doc_heads: Vec<ChangeHash>,
    /// The heads the peer holds once it has applied the parts sent so far (sorted).
    peer_heads: Vec<ChangeHash>,
    /// Every change the peer lacked, in dependency order; those from `next` on are still due.
    order: Vec<Meta>,
    next: usize,
    /// Bytes a change took in the last part: the first guess of how many fit in the next.
    bytes_per_change: usize,
}

/// The sends in parts a document has open.
#[derive(Default)]
pub(super) struct Sends {
    open: Vec<OpenSend>,
    /// Changes listed from the change graph so far (what the cache saves; tests read it).
    pub(super) listed: usize,
}

/// The changes of `doc` not covered by `have`, at most about `budget` bytes of them (see
/// [`super::RecordDoc::changes_since`]).
pub(super) fn changes_since(
    doc: &mut AutoCommit,
    sends: &mut Sends,
    have: &[ChangeHash],
    budget: usize,
) -> Result<ChangeBatch, ReplicaError> {
    let doc_heads = doc.get_heads();
    let mut peer_heads = have.to_vec();
    peer_heads.sort();
    peer_heads.dedup();
    let open = sends
        .open
        .iter()
        .position(|s| s.doc_heads == doc_heads && s.peer_heads == peer_heads);
    let (order, start, per_change) = match open {
        Some(i) => {
            let send = sends.open.remove(i);
            (send.order, send.next, send.bytes_per_change)
        }
        None => {
            let metas: Vec<Meta> = doc
                .get_changes_meta(have)
                .into_iter()
                .map(|m| (m.hash, m.deps))
                .collect();
            sends.listed += metas.len();
            // A bundled change is rarely under 256 bytes.
            (dependency_order(metas), 0, 256)
        }
    };
    let due = &order[start..];
    if due.is_empty() {
        return Ok(ChangeBatch::nothing());
    }
    let (n, bytes) = fit(doc, due, budget, per_change)?;
    if n == due.len() {
        return Ok(ChangeBatch {
            bytes,
            complete: true,
            heads: Vec::new(),
        });
    }
    let sent: std::collections::BTreeSet<ChangeHash> = due[..n].iter().map(|(h, _)| *h).collect();
    let covered: std::collections::BTreeSet<ChangeHash> = due[..n]
        .iter()
        .flat_map(|(_, deps)| deps.iter().copied())
        .collect();
    let mut heads: Vec<ChangeHash> = peer_heads
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .chain(sent)
        .filter(|h| !covered.contains(h))
        .collect();
    heads.sort();
    heads.dedup();
    if sends.open.len() >= OPEN_SENDS {
        sends.open.remove(0);
    }
    sends.open.push(OpenSend {
        doc_heads,
        peer_heads: heads.clone(),
        order,
        next: start + n,
        bytes_per_change: (bytes.len() / n).max(1),
    });
    Ok(ChangeBatch {
        bytes,
        complete: false,
        heads,
    })
}

/// The longest prefix of `due` found to fit in `budget` bytes as one bundle (at least one
/// change), and its bytes. The first guess comes from `per_change`; it shrinks by the size
/// found until it fits, then grows a few times while it still fits.
fn fit(
    doc: &AutoCommit,
    due: &[Meta],
    budget: usize,
    per_change: usize,
) -> Result<(usize, Vec<u8>), ReplicaError> {
    let bundle = |n: usize| -> Result<Vec<u8>, ReplicaError> {
        Ok(doc
            .bundle(due[..n].iter().map(|(h, _)| *h))?
            .bytes()
            .to_vec())
    };
    let mut n = due.len().min(budget / per_change.max(1) + 1);
    let mut fitted: Option<(usize, Vec<u8>)> = None;
    let mut grown = 0;
    loop {
        let bytes = bundle(n)?;
        let size = bytes.len().max(1);
        if size > budget && n > 1 {
            match fitted {
                Some(best) => return Ok(best),
                None => n = (n * budget / size).clamp(1, n - 1),
            }
            continue;
        }
        let next = (((n as f64) * (budget as f64 / size as f64) * 0.95) as usize).min(due.len());
        if n == due.len() || grown == 4 || next <= n {
            return Ok((n, bytes));
        }
        fitted = Some((n, bytes));
        grown += 1;
        n = next;
    }
}

/// Changes (hash, dependencies) ordered so that each comes after those of its dependencies
/// that are among them, keeping the given order otherwise (a stable topological sort).
fn dependency_order(changes: Vec<Meta>) -> Vec<Meta> {
    let index: std::collections::HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, (h, _))| (*h, i))
        .collect();
    let mut placed = vec![false; changes.len()];
    let mut out = Vec::with_capacity(changes.len());
    for start in 0..changes.len() {
        // Depth first: a change's dependencies go out before it does.
        let mut stack = vec![(start, false)];
        while let Some((i, ready)) = stack.pop() {
            if placed[i] {
                continue;
            }
            if ready {
                placed[i] = true;
                out.push(i);
                continue;
            }
            stack.push((i, true));
            for dep in &changes[i].1 {
                if let Some(&d) = index.get(dep).filter(|&&d| !placed[d]) {
                    stack.push((d, false));
                }
            }
        }
    }
    let mut slots: Vec<Option<Meta>> = changes.into_iter().map(Some).collect();
    out.into_iter().filter_map(|i| slots[i].take()).collect()
}
