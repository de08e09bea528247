//! How the core's typed values sit in SQLite columns: ids and device keys as lowercase hex
//! text, document ids as their `records/YYYY-MM` name, roles and service kinds as the names
//! records use, months as `YYYY-MM`, instants as integer Unix milliseconds — byte for byte what
//! the columns held before these impls, so no migration was needed.
//!
//! The impls live here, in the store, and not beside each type: the types belong to layers that
//! know nothing of storage (`ids`, `identity`, `replica`, `domain`, `time`), and the store is the
//! one module that speaks SQL, so rusqlite stays out of every other layer. A stored value that
//! does not read back is a [`FromSqlError`]; read it with [`Columns::column`], which names the
//! column, and the store reports it as [`crate::Error::Corrupt`] (never a panic).

use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, Type, ValueRef};
use serde::Deserialize;
use serde::de::value::{Error as NameError, StrDeserializer};

use crate::domain::{Role, ServiceKind};
use crate::identity::PublicKey;
use crate::ids::Id;
use crate::replica::DocId;
use crate::time::{Month, UnixMs};

/// Stores a type as its text form (`Display`) and reads it back with `FromStr`, whose error
/// says what the text should have been.
macro_rules! as_text {
    ($($t:ty),+) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.to_string()))
            }
        }

        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_str()?.parse().map_err(FromSqlError::other)
            }
        }
    )+};
}

as_text!(Id, PublicKey, ServiceKind);

impl ToSql for DocId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for DocId {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let name = value.as_str()?;
        DocId::parse(name)
            .ok_or_else(|| FromSqlError::other(Unreadable("document name", name.into())))
    }
}

impl ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Role {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        // The role's serde name is the one records use, so there is one list of names.
        let name = value.as_str()?;
        Role::deserialize(StrDeserializer::<NameError>::new(name))
            .map_err(|_| FromSqlError::other(Unreadable("role", name.into())))
    }
}

impl ToSql for Month {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl ToSql for UnixMs {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.get()))
    }
}

impl FromSql for UnixMs {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        UnixMs::new(value.as_i64()?).map_err(FromSqlError::other)
    }
}

/// A stored name that is not one this build writes.
#[derive(Debug, thiserror::Error)]
#[error("not a {0}: {1:?}")]
struct Unreadable(&'static str, String);

/// Reading a typed value from a result row.
pub(crate) trait Columns {
    /// Column `idx` as a `T`; a stored value that does not read as one names the column and
    /// what it held (the store reports it as corrupt).
    fn column<T: FromSql>(&self, idx: usize) -> rusqlite::Result<T>;
}

impl Columns for Row<'_> {
    fn column<T: FromSql>(&self, idx: usize) -> rusqlite::Result<T> {
        let named = |i: usize, ty, source| {
            let column = self.as_ref().column_name(i).unwrap_or("?").to_string();
            rusqlite::Error::FromSqlConversionFailure(i, ty, Box::new(BadColumn { column, source }))
        };
        self.get(idx).map_err(|e| match e {
            rusqlite::Error::FromSqlConversionFailure(i, ty, source) => named(i, ty, source),
            rusqlite::Error::IntegralValueOutOfRange(i, value) => {
                named(i, Type::Integer, Box::new(FromSqlError::OutOfRange(value)))
            }
            other => other,
        })
    }
}

/// A column whose stored value does not read as its type.
#[derive(Debug, thiserror::Error)]
#[error("column {column}: {source}")]
struct BadColumn {
    column: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use rusqlite::Connection;

    /// Writes `value` into a column and reads it back typed; returns the text or integer SQLite
    /// holds too, to show the stored form is what the columns always held.
    fn round_trip<T: ToSql + FromSql>(value: &T) -> (T, String) {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute("CREATE TABLE t (v)", []).expect("table");
        conn.execute("INSERT INTO t (v) VALUES (?1)", [value])
            .expect("insert");
        let read = conn
            .query_row("SELECT v FROM t", [], |r| r.column(0))
            .expect("read");
        let stored = conn
            .query_row("SELECT CAST(v AS TEXT) FROM t", [], |r| r.get(0))
            .expect("stored");
        (read, stored)
    }

    /// Reads a stored `raw` value as a `T` from a column named `kept_as`.
    fn read_stored<T: FromSql>(raw: &dyn ToSql) -> crate::Result<T> {
        let conn = Connection::open_in_memory().expect("open");
        Ok(conn.query_row("SELECT ?1 AS kept_as", [raw], |r| r.column(0))?)
    }

    fn corrupt_message<T: FromSql + std::fmt::Debug>(raw: &dyn ToSql) -> String {
        match read_stored::<T>(raw) {
            Err(Error::Corrupt(message)) => message,
            other => panic!("expected a corrupt store, got {other:?}"),
        }
    }

    #[test]
    fn ids_keys_documents_roles_kinds_and_instants_round_trip_in_their_old_form() {
        let id = Id::from_bytes([0xab; 16]);
        assert_eq!(round_trip(&id), (id, "ab".repeat(16)));
        let key = PublicKey::from_bytes([7; 32]);
        assert_eq!(round_trip(&key), (key, "07".repeat(32)));
        let doc = DocId::parse("records/2026-11").expect("doc");
        assert_eq!(round_trip(&doc), (doc.clone(), "records/2026-11".into()));
        assert_eq!(
            round_trip(&Role::Volunteer),
            (Role::Volunteer, "volunteer".into())
        );
        assert_eq!(
            round_trip(&ServiceKind::Meal),
            (ServiceKind::Meal, "meal".into())
        );
        let t = UnixMs::new(1_793_462_400_000).expect("instant");
        assert_eq!(round_trip(&t), (t, "1793462400000".into()));
        let month: Month = "2026-11".parse().expect("month");
        let conn = Connection::open_in_memory().expect("open");
        let stored: String = conn
            .query_row("SELECT ?1", [month], |r| r.get(0))
            .expect("month");
        assert_eq!(stored, "2026-11");
    }

    #[test]
    fn a_malformed_stored_value_is_a_corrupt_store_naming_the_column() {
        for message in [
            corrupt_message::<Id>(&"ABC"),
            corrupt_message::<PublicKey>(&"00"),
            corrupt_message::<DocId>(&"records/2026-13"),
            corrupt_message::<Role>(&"mayor"),
            corrupt_message::<ServiceKind>(&"juggling"),
            corrupt_message::<UnixMs>(&-1_i64),
            corrupt_message::<UnixMs>(&i64::MAX),
            corrupt_message::<std::num::NonZeroU64>(&0_i64),
            corrupt_message::<[u8; 32]>(&vec![1_u8; 31]),
        ] {
            assert!(message.starts_with("column kept_as: "), "{message}");
        }
        assert!(corrupt_message::<Role>(&"mayor").contains("\"mayor\""));
        assert!(corrupt_message::<UnixMs>(&-1_i64).contains("before 1970"));
    }
}
