//! Whether a record counts: its author's key is trusted, and the record falls within the key's
//! certificate and before any revocation's cut. One SQL rule, the same as
//! [`Trust::counts`](crate::identity::trust::Trust::counts).

use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::identity::PublicKey;
use crate::ids::Id;
use crate::store::chains::forked_sql;
use crate::store::sql_types::Columns;

/// Whether the stored record `id` counts under the current trust.
pub(crate) fn counts(conn: &Connection, id: Id) -> Result<bool> {
    let row: Option<(PublicKey, i64, Option<u64>)> = conn
        .prepare_cached("SELECT author, hlc_ms, seq FROM records WHERE id = ?1")?
        .query_row([id], |r| Ok((r.column(0)?, r.get(1)?, r.column(2)?)))
        .optional()?;
    match row {
        Some((author, hlc_ms, seq)) => is_counted(conn, author, hlc_ms, seq, id),
        None => Ok(false),
    }
}

/// Whether a record by `author` at clock `hlc_ms`, chain position `seq` (none for version 1)
/// and id `id` counts under the current trust. The author and id are a [`PublicKey`] and an
/// [`Id`] but for the test below, which holds the rule to [`Trust::counts`] over plain names.
///
/// [`Trust::counts`]: crate::identity::trust::Trust::counts
pub(super) fn is_counted(
    conn: &Connection,
    author: impl ToSql,
    hlc_ms: i64,
    seq: Option<u64>,
    id: impl ToSql,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM trusted_keys t WHERE t.device_key = ?1 AND {})",
            counted_at("?2", "?3", "?4")
        ))?
        .query_row(params![author, hlc_ms, seq, id], |r| r.get(0))?)
}

/// The one SQL form of "a record of trusted key `t` made at `hlc_ms`, at chain position `seq`
/// with id `id`, counts": within the certificate's validity and before any revocation's cut (by
/// position when both the revocation and the record have one, else by clock; at or below the
/// cut, a position two records hold counts neither unless the revocation names it).
/// [`Trust::counts`](crate::identity::trust::Trust::counts) is the same rule in Rust, for the
/// relay and the ledger; the test `the_sql_and_rust_counted_rules_agree` holds them together.
pub(super) fn counted_at(hlc_ms: &str, seq: &str, id: &str) -> String {
    format!(
        "(t.valid_from_ms IS NULL OR {hlc_ms} >= t.valid_from_ms)
         AND (t.valid_until_ms IS NULL OR {hlc_ms} < t.valid_until_ms)
         AND (t.revoked_from_ms IS NULL OR CASE
               WHEN t.revoked_after_seq IS NOT NULL AND {seq} IS NOT NULL
               THEN ({seq} = t.revoked_after_seq AND t.revoked_last_id = {id})
                    OR (({seq} < t.revoked_after_seq
                         OR ({seq} = t.revoked_after_seq AND t.revoked_last_id IS NULL))
                        AND NOT {forked})
               ELSE {hlc_ms} < t.revoked_from_ms END)",
        forked = forked_sql("t.device_key", seq, id)
    )
}

/// The chain position of an index table's record, as SQL.
pub(super) fn seq_of(table: &str) -> String {
    format!("(SELECT r.seq FROM records r WHERE r.id = {table}.record_id)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::trust::{Cutoff, Position, Trust};

    /// `counted_at` (SQL, for the index) and `Trust::counts` (Rust, for the relay and the
    /// ledger) are one rule: every combination of validity and revocation (by clock, by chain
    /// position, with and without a named last record) gives the same answer for records at
    /// every instant and position around their bounds.
    #[test]
    fn the_sql_and_rust_counted_rules_agree() {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::store::schema::migrate(&mut conn).expect("schema");
        let bounds = [None, Some(100), Some(200), Some(300)];
        let cuts = [None, Some(2), Some(3)];
        let last_ids = [None, Some("a"), Some("")];
        let mut n = 0;
        for valid_from_ms in bounds {
            for valid_until_ms in bounds {
                for revoked_from_ms in bounds {
                    for after_seq in cuts {
                        for last_id in last_ids {
                            let key = format!("key{n}");
                            n += 1;
                            let trust = Trust {
                                member_id: None,
                                role: "caregiver".into(),
                                revoked: revoked_from_ms.map(|from_ms| Cutoff {
                                    from_ms,
                                    after_seq,
                                    last_id: last_id.map(str::to_string),
                                }),
                                valid_from_ms,
                                valid_until_ms,
                            };
                            let cut = trust.revoked.as_ref();
                            conn.execute(
                                "INSERT INTO trusted_keys (device_key, role, revoked_from_ms, valid_from_ms,
                                   valid_until_ms, revoked_after_seq, revoked_last_id)
                                 VALUES (?1, 'caregiver', ?2, ?3, ?4, ?5, ?6)",
                                params![
                                    key,
                                    revoked_from_ms,
                                    valid_from_ms,
                                    valid_until_ms,
                                    cut.and_then(|c| c.after_seq),
                                    cut.and_then(|c| c.last_id.clone())
                                ],
                            )
                            .expect("insert");
                            // Another record of the key holds position 2: a fork there.
                            conn.execute(
                                "INSERT INTO records (id, type, author, hlc_ms, hlc_counter, doc_id, bytes, seq)
                                 VALUES (?1, 'visit', ?2, 0, 0, 'records/2026-11', x'00', 2)",
                                params![format!("{key}/other"), key],
                            )
                            .expect("fork");
                            for at in [0, 99, 100, 101, 199, 200, 201, 299, 300, 301] {
                                for seq in [None, Some(1_u64), Some(2), Some(3), Some(4)] {
                                    for id in ["a", "b"] {
                                        assert_eq!(
                                            is_counted(&conn, &key, at, seq, id).expect("sql"),
                                            trust.counts(
                                                at,
                                                seq.map(|seq| Position {
                                                    seq: i64::try_from(seq).expect("seq"),
                                                    id,
                                                    forked: seq == 2
                                                })
                                            ),
                                            "{trust:?} at {at}, seq {seq:?}, id {id}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(!is_counted(&conn, "unknown", 150, None, "a").expect("sql"));
    }
}
