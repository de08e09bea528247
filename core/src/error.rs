//! The core's detailed error. The bindings map it onto a small enum a UI can act on.

use crate::domain::ValidationError;
use crate::identity::SecretStoreError;
use crate::ids::Id;
use crate::lang::Lang;
use crate::ledger::{Hold, StatementError, TransferError, words};
use crate::record::RecordError;
use crate::replica::ReplicaError;
use crate::store::SchemaError;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A record's own fields are invalid.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// Bytes are not a valid signed record.
    #[error("bad record: {0}")]
    Record(#[from] RecordError),
    /// The elder's personal data was erased: nothing more is recorded about them.
    #[error("elder {0}'s personal data was erased: nothing more can be recorded about them")]
    ElderErased(Id),
    /// An elder, member, site, service, visit, follow-up or record the store does not know
    /// (yet: it may arrive with the next sync).
    #[error("unknown {kind} {id}")]
    NotFound {
        /// What kind of thing.
        kind: Kind,
        /// Its id (a follow-up: the visit's id, `#`, its index).
        id: String,
    },
    /// This device may not do this.
    #[error("not authorised: {0}")]
    NotAuthorised(String),
    /// The elder has not consented to this use of their data.
    #[error("the elder has not consented to {0}")]
    NoConsent(&'static str),
    /// The elder withdrew consent to this use of their data before the data was collected.
    #[error(
        "the elder withdrew consent to {purpose} from {at_ms} (Unix ms); {field} cannot be recorded for that time (leave it out, or record consent given again)"
    )]
    ConsentWithdrawn {
        /// The purpose withdrawn.
        purpose: &'static str,
        /// The field that needs it.
        field: &'static str,
        /// When the withdrawal took effect (Unix ms).
        at_ms: u64,
    },
    /// Data from another circle.
    #[error("belongs to circle {found}, this store is circle {expected}")]
    WrongCircle {
        /// This store's circle.
        expected: Id,
        /// The circle named by the data.
        found: Id,
    },
    /// The database schema could not be opened or upgraded.
    #[error("schema: {0}")]
    Schema(#[from] SchemaError),
    /// SQLite failed.
    #[error("storage: {0}")]
    Storage(rusqlite::Error),
    /// Automerge failed.
    #[error("replica: {0}")]
    Replica(#[from] ReplicaError),
    /// The key storage failed.
    #[error("{0}")]
    Secrets(#[from] SecretStoreError),
    /// The time bank refuses a new entry: it would be held for the coordinator, or overdraw
    /// the member. Offline, the same entry written elsewhere is flagged, not refused.
    #[error("the time bank refuses this entry: {0}")]
    LedgerRefused(Refusal),
    /// A member statement does not verify.
    #[error("statement: {0}")]
    Statement(#[from] StatementError),
    /// A transfer of hours between circles is refused (its statement does not verify here,
    /// was opened already, or there is nothing to move).
    #[error("transfer: {0}")]
    Transfer(#[from] TransferError),
    /// The store file is encrypted under another key (or no key was given, or the file is not
    /// a store). Nothing on disk was changed.
    #[error("wrong key for this store: {0}")]
    WrongStoreKey(String),
    /// The operating system refused the store something beside the database: a file while
    /// encrypting a plain store, or the thread that checkpoints its log.
    #[error("system: {0}")]
    Io(String),
    /// Stored data is not what this build wrote.
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

/// What kind of thing was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An elder (服务对象).
    Elder,
    /// A member of the circle.
    Member,
    /// A centre, station or village point.
    Site,
    /// A service record.
    Service,
    /// A visit record.
    Visit,
    /// One follow-up of a visit.
    FollowUp,
    /// Any stored record.
    Record,
    /// A printed code card (one this device can print: it issued it).
    Card,
}

impl Kind {
    /// The word used in messages and in the bindings' `NotFound.what`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Elder => "elder",
            Kind::Member => "member",
            Kind::Site => "site",
            Kind::Service => "service",
            Kind::Visit => "visit",
            Kind::FollowUp => "follow-up",
            Kind::Record => "record",
            Kind::Card => "card",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<rusqlite::Error> for Error {
    /// A stored value that does not read as its type (see `store::sql_types`) is corrupt data;
    /// every other SQLite failure is storage.
    fn from(e: rusqlite::Error) -> Error {
        match e {
            rusqlite::Error::FromSqlConversionFailure(_, _, source) => {
                Error::Corrupt(source.to_string())
            }
            rusqlite::Error::IntegralValueOutOfRange(column, value) => {
                Error::Corrupt(format!("column {column}: {value} is out of range"))
            }
            other => Error::Storage(other),
        }
    }
}

impl Error {
    /// Something of `kind` with the id `id` is not known here.
    pub fn not_found(kind: Kind, id: impl ToString) -> Error {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// SQLite could not get the database because another connection holds it: retry later.
    pub fn is_busy(&self) -> bool {
        self.sqlite_code().is_some_and(|code| {
            matches!(
                code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        })
    }

    /// The disk is full: free space, then retry.
    pub fn is_disk_full(&self) -> bool {
        self.sqlite_code() == Some(rusqlite::ErrorCode::DiskFull)
    }

    fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            Error::Storage(e) => e.sqlite_error_code(),
            Error::Schema(SchemaError::Sqlite(e)) => e.sqlite_error_code(),
            _ => None,
        }
    }
}

/// Why the time bank refuses a new entry, typed so that an app can say what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It would be held for the coordinator's decision (a key, service or rule problem).
    Held(Hold),
    /// It would take the member's balance below zero.
    Overdraft {
        /// The balance just after the entry, in minutes (negative).
        balance_after_minutes: i64,
    },
    /// Another entry of the member's chain was written since this one was prepared: try again.
    NotNextLink,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Held(hold) => write!(f, "it would be held for the coordinator: {hold}"),
            Refusal::Overdraft {
                balance_after_minutes,
            } => write!(
                f,
                "it would leave the member's balance at {}",
                words::hours(*balance_after_minutes, Lang::En)
            ),
            Refusal::NotNextLink => {
                f.write_str("another entry of the member's chain was written first; try again")
            }
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
