//! The core's detailed error. The bindings map it onto a small enum a UI can act on.

use crate::domain::ValidationError;
use crate::identity::SecretStoreError;
use crate::ids::Id;
use crate::ledger::StatementError;
use crate::record::RecordError;
use crate::replica::ReplicaError;
use crate::store::schema::SchemaError;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A record's own fields are invalid.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// Bytes are not a valid signed record.
    #[error("bad record: {0}")]
    Record(#[from] RecordError),
    /// The record refers to an elder the store does not know.
    #[error("unknown elder {0}")]
    UnknownElder(Id),
    /// The elder's personal data was erased: nothing more is recorded about them.
    #[error("elder {0}'s personal data was erased: nothing more can be recorded about them")]
    ElderErased(Id),
    /// The record refers to a member the store does not know.
    #[error("unknown member {0}")]
    UnknownMember(Id),
    /// The record refers to a site the store does not know.
    #[error("unknown site {0}")]
    UnknownSite(Id),
    /// Something looked up by id is not there.
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
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
    Storage(#[from] rusqlite::Error),
    /// Automerge failed.
    #[error("replica: {0}")]
    Replica(#[from] ReplicaError),
    /// The key storage failed.
    #[error("{0}")]
    Secrets(#[from] SecretStoreError),
    /// The time bank refuses a new entry: it would be held for the coordinator, or overdraw
    /// the member. Offline, the same entry written elsewhere is flagged, not refused.
    #[error("the time bank refuses this entry: {0}")]
    LedgerRefused(String),
    /// A member statement does not verify.
    #[error("statement: {0}")]
    Statement(#[from] StatementError),
    /// The store file is encrypted under another key (or no key was given, or the file is not
    /// a store). Nothing on disk was changed.
    #[error("wrong key for this store: {0}")]
    WrongStoreKey(String),
    /// A file next to the database (while encrypting a plain store) could not be read or written.
    #[error("file {0}")]
    Io(String),
    /// Stored data is not what this build wrote.
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
