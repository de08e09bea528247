//! The answering side of a sync: stateless, so that any relay instance can answer any round.

use std::collections::{BTreeMap, BTreeSet};

use super::message::KeyPage;
use super::{DocChanges, KeyringPart, Message, SyncError, SyncReplica, check_changes, digest};
use crate::ids::Id;
use crate::replica::ChangeBatch;

/// Bounds on what one reply carries.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Once a reply's changes reach this many bytes, the remaining documents are deferred to
    /// a later round. A push that names a smaller budget is answered within it, splitting a
    /// document's changes if need be; one that does not gets at least one document in full.
    pub reply_budget_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            reply_budget_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Answers one decoded request. A malformed or foreign request is an error and changes
/// nothing: a push is checked whole before any of it is applied.
pub fn respond<R: SyncReplica + ?Sized>(
    replica: &mut R,
    request: &Message,
    limits: &Limits,
) -> Result<Message, SyncError> {
    match request {
        Message::Hello {
            circle,
            digest: theirs,
        } => {
            if *circle != replica.circle() {
                return Err(SyncError::WrongCircle {
                    expected: replica.circle(),
                    found: *circle,
                });
            }
            let docs = replica.doc_heads()?;
            if digest(&docs) == *theirs {
                Ok(Message::UpToDate)
            } else {
                Ok(Message::Heads { docs })
            }
        }
        Message::Push {
            docs,
            reply_budget,
            keys,
        } => {
            for d in docs {
                check_changes(&d.doc, &d.changes)?;
            }
            for d in docs.iter().filter(|d| !d.changes.is_empty()) {
                replica.apply_changes(&d.doc, &d.changes)?;
            }
            // An initiator that names a budget takes documents in parts; one that does not gets
            // each document whole, however large.
            let (budget, split) = match usize::try_from(*reply_budget) {
                Ok(0) | Err(_) => (limits.reply_budget_bytes, false),
                Ok(asked) => (asked.min(limits.reply_budget_bytes), true),
            };
            // After the documents, which may enrol the entries' makers. The entries come out
            // of the same budget as the documents' changes.
            let keys = match keys {
                Some(theirs) => Some(keyring_reply(replica, theirs, split.then_some(budget))?),
                None => None,
            };
            let heads: BTreeMap<_, _> = replica
                .doc_heads()?
                .into_iter()
                .map(|h| (h.doc, h.heads))
                .collect();
            let mut used: usize = keys.iter().flat_map(|k| &k.entries).map(Vec::len).sum();
            let mut reply = Vec::with_capacity(docs.len());
            for d in docs {
                let deferred = used >= budget;
                let batch = if deferred {
                    ChangeBatch::nothing()
                } else {
                    let room = if split { budget - used } else { usize::MAX };
                    replica.changes_since(&d.doc, &d.heads, room)?
                };
                used += batch.bytes.len();
                // A part's heads are those the initiator holds once it has applied it, so that
                // it knows them all and remembers them as held here.
                let doc_heads = if batch.complete {
                    heads.get(&d.doc).cloned().unwrap_or_default()
                } else {
                    batch.heads.clone()
                };
                reply.push(DocChanges {
                    doc: d.doc.clone(),
                    heads: doc_heads,
                    more: !batch.complete,
                    changes: batch.bytes,
                    deferred,
                });
            }
            Ok(Message::Changes { docs: reply, keys })
        }
        other => Err(SyncError::Unexpected {
            got: other.name(),
            state: "waiting for a hello or a push",
        }),
    }
}

/// Takes the initiator's keyring entries and answers, for the push's page, with the entries
/// the initiator lacks and the ids of its own entries this side still lacks. A paged push gets
/// its entries in id order within `budget` bytes (at least one entry): the reply's page then
/// ends at the last entry sent, and the initiator asks for the rest in its next page.
fn keyring_reply<R: SyncReplica + ?Sized>(
    replica: &mut R,
    theirs: &KeyringPart,
    budget: Option<usize>,
) -> Result<KeyringPart, SyncError> {
    replica.take_keyring(&theirs.entries)?;
    let held: BTreeSet<Id> = replica.keyring_ids()?.into_iter().collect();
    let page = theirs.page.unwrap_or(KeyPage::ALL);
    let budget = budget.filter(|_| theirs.page.is_some());
    let mut covered = page;
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut used = 0usize;
    let mut last_sent = page.first;
    for (id, entry) in replica.keyring_except(&theirs.ids)? {
        if !page.contains(&id) {
            continue;
        }
        if budget.is_some_and(|b| !entries.is_empty() && used + entry.len() > b) {
            // Cut short: the page covers the entries sent, the rest comes next.
            covered.last = last_sent;
            break;
        }
        used += entry.len();
        entries.push(entry);
        last_sent = id;
    }
    Ok(KeyringPart {
        ids: theirs
            .ids
            .iter()
            .filter(|id| !held.contains(id))
            .copied()
            .collect(),
        entries,
        page: theirs.page.map(|_| covered),
    })
}

/// Answers one encoded request with an encoded reply, turning any failure into a `Refused`
/// message (for phone-to-phone links, where there is no HTTP status to carry it).
pub fn respond_bytes<R: SyncReplica + ?Sized>(
    replica: &mut R,
    request: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, SyncError> {
    let reply = Message::decode(request).and_then(|m| respond(replica, &m, limits));
    match reply {
        Ok(message) => message.encode(),
        Err(e) => Message::Refused {
            reason: e.to_string(),
        }
        .encode(),
    }
}
