//! The circle's epoch keys this device holds, and the sealed records that wait for one
//! (decision 0014). A key arrives in an epoch-key or grant record wrapped for this device; the
//! store unwraps it as the record is indexed and then admits the records that waited for it.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::sql_types::Columns;
use crate::domain::{KeyWrap, RecordBody, Role};
use crate::error::Result;
use crate::identity::PublicKey;
use crate::identity::wrap::Unwrapper;
use crate::ids::Id;
use crate::record::{EpochKeys, EpochSecret, NoKeys, SignedRecord};
use crate::replica::DocId;

/// Prefixed to the circle's id to make the context an epoch key is wrapped under.
pub const WRAP_CONTEXT: &[u8] = b"carebank/epoch/v1\0";

/// The context an epoch key of `circle` is wrapped under (see `identity::wrap`).
pub fn wrap_context(circle: Id) -> Vec<u8> {
    let mut context = WRAP_CONTEXT.to_vec();
    context.extend_from_slice(circle.as_bytes());
    context
}

/// The keys held in the store's `epoch_keys` table. A lookup that fails reads as a key not
/// held: the record waits rather than being refused, and is taken in when the store next opens
/// ([`held_with_waiting`]).
pub(crate) struct StoredKeys<'a>(pub &'a Connection);

impl EpochKeys for StoredKeys<'_> {
    fn elder_key(&self, key_id: Id) -> Option<[u8; 32]> {
        super::elder_keys::secret(self.0, key_id)
    }

    fn erased(&self, elder: Id) -> bool {
        super::elder_keys::erased(self.0, elder).unwrap_or(false)
    }

    fn epoch_key(&self, id: Id) -> Option<[u8; 32]> {
        let secret: Option<Vec<u8>> = self
            .0
            .prepare_cached("SELECT secret FROM epoch_keys WHERE key_id = ?1")
            .and_then(|mut s| {
                s.query_row([id], |r| r.get(0))
                    .optional()
                    .map(Option::flatten)
            })
            .ok()
            .flatten();
        secret.and_then(|s| s.try_into().ok())
    }
}

/// The wrap in `wraps` made for `unwrapper`'s device, opened.
fn unwrap_mine(wraps: &[KeyWrap], unwrapper: &Unwrapper, circle: Id) -> Option<[u8; 32]> {
    let mine = wraps.iter().find(|w| w.device == unwrapper.public_key())?;
    unwrapper.unwrap(&mine.bytes()?, &wrap_context(circle))
}

/// Notes an epoch-key or grant record: the epoch's number and maker, and the key itself when
/// it is wrapped for this device. Returns the id of a key this device did not hold before.
pub(crate) fn note(
    tx: &Transaction<'_>,
    record: &SignedRecord,
    unwrapper: Option<&Unwrapper>,
) -> Result<Option<Id>> {
    let circle = record.envelope().circle;
    let (key_id, wraps) = match record.body() {
        RecordBody::EpochKey(e) => {
            tx.prepare_cached(
                "INSERT INTO epoch_keys (key_id, epoch, author, hlc_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(key_id) DO UPDATE SET epoch = excluded.epoch,
                   author = excluded.author, hlc_ms = excluded.hlc_ms",
            )?
            .execute(params![
                record.id(),
                e.epoch,
                record.author(),
                record.hlc().instant_ms()
            ])?;
            (record.id(), &e.wraps)
        }
        RecordBody::KeyGrant(g) => (g.key_id, &g.wraps),
        _ => return Ok(None),
    };
    let Some(secret) = unwrapper.and_then(|u| unwrap_mine(wraps, u, circle)) else {
        return Ok(None);
    };
    let added = tx
        .prepare_cached(
            "INSERT INTO epoch_keys (key_id, secret) VALUES (?1, ?2)
             ON CONFLICT(key_id) DO UPDATE SET secret = excluded.secret WHERE secret IS NULL",
        )?
        .execute(params![key_id, secret.as_slice()])?;
    Ok((added > 0).then_some(key_id))
}

/// Keeps a sealed record whose key this device does not hold, until the key arrives: the epoch
/// key of its body, or the elder key of its personal fields (`elder` given), or until that
/// elder is erased.
pub(crate) fn park(
    tx: &Transaction<'_>,
    id: Id,
    key_id: Id,
    elder: Option<Id>,
    doc_id: &DocId,
    bytes: &[u8],
) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "INSERT OR IGNORE INTO sealed_waiting (record_id, key_id, doc_id, bytes, elder)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, key_id, doc_id, bytes, elder])?
        > 0)
}

/// A record taken out of waiting: its id, its document and its bytes.
pub(crate) type Waiting = (Id, DocId, Vec<u8>);

/// Takes out the records that waited for a key of `elder`, who was erased.
pub(crate) fn take_waiting_for_elder(tx: &Transaction<'_>, elder: Id) -> Result<Vec<Waiting>> {
    take_waiting_where(tx, "elder", elder)
}

/// Takes out the records that waited for `key_id`.
pub(crate) fn take_waiting(tx: &Transaction<'_>, key_id: Id) -> Result<Vec<Waiting>> {
    take_waiting_where(tx, "key_id", key_id)
}

/// Takes out the waiting records whose `column` (`key_id` or `elder`) is `value`.
fn take_waiting_where(
    tx: &Transaction<'_>,
    column: &'static str,
    value: Id,
) -> Result<Vec<Waiting>> {
    let waiting = tx
        .prepare_cached(&format!(
            "DELETE FROM sealed_waiting WHERE {column} = ?1 RETURNING record_id, doc_id, bytes"
        ))?
        .query_map([value], |r| Ok((r.column(0)?, r.column(1)?, r.get(2)?)))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(waiting)
}

/// The keys this device holds that records still wait for (a lookup failed as they arrived).
pub(crate) fn held_with_waiting(conn: &Connection) -> Result<Vec<Id>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT w.key_id FROM sealed_waiting w
         JOIN epoch_keys k ON k.key_id = w.key_id WHERE k.secret IS NOT NULL",
    )?;
    let ids = stmt.query_map([], |r| r.column(0))?;
    Ok(ids.collect::<std::result::Result<_, _>>()?)
}

/// The key this device seals its care records under: of the epoch keys it holds whose records
/// count and were made by the centre or a coordinator, the highest epoch (then the latest).
pub(crate) fn sealing_key(conn: &Connection, centre: PublicKey) -> Result<Option<EpochSecret>> {
    let mut stmt = conn.prepare_cached(
        "SELECT k.key_id, k.secret FROM epoch_keys k
         JOIN records r ON r.id = k.key_id
         LEFT JOIN trusted_keys t ON t.device_key = k.author
         WHERE k.secret IS NOT NULL AND k.epoch IS NOT NULL
           AND (k.author = ?1 OR t.role = ?2)
         ORDER BY k.epoch DESC, k.hlc_ms DESC, k.key_id DESC",
    )?;
    let rows = stmt
        .query_map(params![centre, Role::Coordinator], epoch_secret)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for epoch in rows {
        if super::index::counts(conn, epoch.id)? {
            return Ok(Some(epoch));
        }
    }
    Ok(None)
}

/// A row of `epoch_keys` (`key_id`, `secret`) as a key: its id and its 32 bytes.
fn epoch_secret(row: &Row<'_>) -> rusqlite::Result<EpochSecret> {
    Ok(EpochSecret {
        id: row.column(0)?,
        key: row.column(1)?,
    })
}

/// The epoch keys this device holds, with the devices each is already wrapped for (from the
/// epoch-key and grant records), for granting them to devices that lack them.
pub(crate) fn held_keys(conn: &Connection) -> Result<Vec<(EpochSecret, Vec<PublicKey>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, secret FROM epoch_keys WHERE secret IS NOT NULL ORDER BY key_id",
    )?;
    let keys = stmt
        .query_map([], epoch_secret)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // Who each key was wrapped for, from its epoch-key record and every grant of it: the key
    // records are read once for all the keys.
    let mut wrapped: HashMap<Id, Vec<PublicKey>> = HashMap::new();
    for bytes in key_records(conn)? {
        let record = SignedRecord::decode_unverified(&bytes, &NoKeys)?;
        let (key_id, wraps) = match record.body() {
            RecordBody::EpochKey(e) => (record.id(), &e.wraps),
            RecordBody::KeyGrant(g) => (g.key_id, &g.wraps),
            _ => continue,
        };
        wrapped
            .entry(key_id)
            .or_default()
            .extend(wraps.iter().map(|w| w.device));
    }
    keys.into_iter()
        .map(|epoch| {
            let mut devices = wrapped.remove(&epoch.id).unwrap_or_default();
            devices.sort();
            devices.dedup();
            Ok((epoch, devices))
        })
        .collect()
}

/// Whether any epoch-key record of the circle is held (the circle seals its care records).
pub(crate) fn circle_seals(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM epoch_keys WHERE epoch IS NOT NULL)")?
        .query_row([], |r| r.get(0))?)
}

/// The key records in the store (for a device key given after they arrived).
pub(crate) fn key_records(conn: &Connection) -> Result<Vec<Vec<u8>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT bytes FROM records WHERE type IN ('epoch_key', 'key_grant') ORDER BY rowid",
    )?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EpochKey, MemberProfile};
    use crate::hlc::Hlc;
    use crate::identity::DeviceKey;
    use crate::identity::wrap::wrap;
    use crate::record::{ChainLink, Envelope, FORMAT_VERSION};
    use crate::store::Store;

    const MS: u64 = 1_793_581_200_000;

    fn envelope(key: &DeviceKey, circle: Id, link: ChainLink, body: RecordBody) -> Envelope {
        Envelope {
            v: FORMAT_VERSION,
            circle,
            author: key.public_key(),
            hlc: Hlc {
                ms: MS + link.seq,
                counter: 0,
            },
            body,
            link: Some(link),
        }
    }

    #[test]
    fn a_record_left_waiting_for_a_key_the_store_holds_is_taken_in_when_it_next_opens() {
        let key = DeviceKey::from_seed([1; 32]);
        let circle = Id::from_bytes([7; 16]);
        let mut store = Store::open_in_memory(circle, key.public_key()).expect("store");
        store.take_keys_for(Unwrapper::of(&key)).expect("keys");
        let secret = [0x42; 32];
        let wrapped = wrap(&secret, &key.public_key(), &wrap_context(circle)).expect("wrap");
        let epoch = SignedRecord::sign(
            envelope(
                &key,
                circle,
                ChainLink::FIRST,
                RecordBody::EpochKey(EpochKey {
                    epoch: 1,
                    wraps: vec![KeyWrap::new(key.public_key(), &wrapped)],
                }),
            ),
            &key,
        )
        .expect("epoch");
        store.append(&epoch).expect("append");
        let profile = SignedRecord::sign_sealed(
            envelope(
                &key,
                circle,
                ChainLink::after(1, epoch.id()),
                RecordBody::MemberProfile(MemberProfile {
                    member_id: Id::from_bytes([3; 16]),
                    name: "王芳".into(),
                }),
            ),
            &key,
            &EpochSecret {
                id: epoch.id(),
                key: secret,
            },
            None,
        )
        .expect("sealed");
        store.append(&profile).expect("append");
        assert!(store.get(profile.id()).is_ok(), "opened with the key held");

        // As if the key lookup had failed when the record arrived: it waits, its key held.
        store
            .conn()
            .execute_batch(&format!(
                "INSERT INTO sealed_waiting (record_id, key_id, doc_id, bytes)
                   SELECT id, '{}', doc_id, bytes FROM records WHERE id = '{}';
                 DELETE FROM records WHERE id = '{}';",
                epoch.id(),
                profile.id(),
                profile.id()
            ))
            .expect("park");
        assert!(store.get(profile.id()).is_err());
        let report = store.take_keys_for(Unwrapper::of(&key)).expect("reopen");
        assert_eq!(report.added, vec![profile.id()]);
        assert_eq!(store.waiting_count().expect("waiting"), 0);
        assert!(store.get(profile.id()).is_ok());
    }
}
