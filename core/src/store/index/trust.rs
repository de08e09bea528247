//! Trust rows: which keys the circle trusts, derived from the enrolments and revocations held,
//! and every row's `counted` flag that follows from them.

use std::collections::HashMap;

use rusqlite::{Connection, Transaction, params};

use super::counted::{counted_at, seq_of};
use crate::error::Result;
use crate::identity::PublicKey;
use crate::identity::trust::{EnrolmentFact, RevocationFact, derive_trust};
use crate::ids::Id;
use crate::store::chains::forked_sql;
use crate::store::schema::INDEX_TABLES;
use crate::store::sql_types::Columns;
use crate::time::UnixMs;

/// A key the circle trusts now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The device key.
    pub device_key: PublicKey,
    /// The member it belongs to (none for the centre).
    pub member_id: Option<Id>,
    /// `centre`, or the member's role.
    pub role: String,
    /// From when its records stop counting, if revoked (a revocation's `effective_ms`).
    pub revoked_from_ms: Option<UnixMs>,
}

/// Recomputes which keys the circle trusts, from the enrolments and revocations it holds, then
/// every row's `counted` flag.
///
/// The rules are in [`crate::identity::trust`].
pub(crate) fn recompute_trust(tx: &Transaction<'_>, centre: PublicKey) -> Result<()> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT m.device_key, m.member_id, m.role, m.issuer, m.hlc_ms, m.valid_from_ms, m.valid_until_ms,
                m.record_id, r.seq, {}
         FROM members m LEFT JOIN records r ON r.id = m.record_id",
        forked_sql("m.issuer", "r.seq", "m.record_id")
    ))?;
    let members: HashMap<String, EnrolmentFact> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                EnrolmentFact {
                    member_id: r.get(1)?,
                    role: r.get(2)?,
                    issuer: r.get(3)?,
                    hlc_ms: r.get(4)?,
                    valid_from_ms: r.get(5)?,
                    valid_until_ms: r.get(6)?,
                    record_id: r.get(7)?,
                    seq: r.get(8)?,
                    forked: r.get(9)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = tx.prepare_cached(
        "SELECT device_key, effective_ms, issuer, last_seq, last_id FROM revocations",
    )?;
    let revocations: Vec<RevocationFact> = stmt
        .query_map([], |r| {
            Ok(RevocationFact {
                device_key: r.get(0)?,
                effective_ms: r.get(1)?,
                issuer: r.get(2)?,
                last_seq: r.get(3)?,
                last_id: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let trusted = derive_trust(centre, &members, &revocations);
    tx.prepare_cached("DELETE FROM trusted_keys")?.execute([])?;
    for (key, trust) in &trusted {
        tx.prepare_cached(
            "INSERT INTO trusted_keys (device_key, member_id, role, revoked_from_ms, valid_from_ms, valid_until_ms,
               revoked_after_seq, revoked_last_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
                key,
                trust.member_id,
                trust.role,
                trust.revoked.as_ref().map(|c| c.from_ms),
                trust.valid_from_ms,
                trust.valid_until_ms,
                trust.revoked.as_ref().and_then(|c| c.after_seq),
                trust.revoked.as_ref().and_then(|c| c.last_id.clone())
            ],
        )?;
    }
    for table in INDEX_TABLES.iter().filter(|t| t.counted).map(|t| t.name) {
        tx.execute(
            &format!(
                "UPDATE {table} SET counted = EXISTS (SELECT 1 FROM trusted_keys t WHERE t.device_key = {table}.author
                   AND {})",
                counted_at(
                    &format!("{table}.hlc_ms"),
                    &seq_of(table),
                    &format!("{table}.record_id")
                )
            ),
            [],
        )?;
    }
    Ok(())
}

/// Records whose author is not trusted, or that a revocation of their author cuts off.
pub(crate) fn untrusted_records(conn: &Connection) -> Result<Vec<(Id, PublicKey)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT r.id, r.author FROM records r
         WHERE NOT EXISTS (SELECT 1 FROM trusted_keys t WHERE t.device_key = r.author AND {})
         ORDER BY r.hlc_ms, r.id",
        counted_at("r.hlc_ms", "r.seq", "r.id")
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.column(0)?, r.column(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The keys the circle trusts.
pub(crate) fn trusted_keys(conn: &Connection) -> Result<Vec<TrustedKey>> {
    let mut stmt =
        conn.prepare_cached("SELECT device_key, member_id, role, revoked_from_ms FROM trusted_keys ORDER BY role, device_key")?;
    let rows = stmt.query_map([], |r| {
        Ok(TrustedKey {
            device_key: r.column(0)?,
            member_id: r.column(1)?,
            role: r.get(2)?,
            revoked_from_ms: r.column(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
