//! Why a sync, an import or an export failed.

use crate::ids::Id;

/// Everything that can go wrong while syncing.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The bytes are not a well-formed message or bundle; nothing was changed.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A protocol or bundle version this build does not speak.
    #[error("unsupported version {0}")]
    Version(u8),
    /// A message larger than the limit.
    #[error("message body of {0} bytes is over the limit")]
    TooLarge(usize),
    /// The peer or the bundle belongs to another circle.
    #[error("belongs to circle {found}, this store is circle {expected}")]
    WrongCircle {
        /// This store's circle.
        expected: Id,
        /// The circle the other side named.
        found: Id,
    },
    /// A message arrived that the session did not expect now.
    #[error("unexpected {got} message while {state}")]
    Unexpected {
        /// The message's name.
        got: &'static str,
        /// What the session was waiting for.
        state: &'static str,
    },
    /// The peer refused to go on.
    #[error("refused by the peer: {0}")]
    Refused(String),
    /// The transport failed (the next sync resumes where this one stopped).
    #[error("transport: {0}")]
    Transport(String),
    /// The peer did not let this device in (not enrolled, revoked, bad signature, replay).
    #[error("not authorised: {0}")]
    NotAuthorised(String),
    /// A bundle file that is not sealed, or not signed (written by version 1), refused because
    /// the caller did not allow such bundles; nothing was imported.
    #[error(
        "{0}: nothing was imported. Import it only if you know where the file came from, allowing plain bundles (carebank sync --import-bundle FILE --allow-plain-bundle)"
    )]
    PlainBundle(String),
    /// A bundle whose content is not for this store (records of another circle, records filed
    /// under the wrong month, values that are not records, documents of implausible months):
    /// refused whole, nothing was imported. The text counts what was found.
    #[error("the bundle holds {0}: nothing was imported")]
    UnfitBundle(String),
    /// Cancelled by the caller; everything applied so far is kept.
    #[error("cancelled")]
    Cancelled,
    /// The session gave up after too many rounds.
    #[error("no convergence after {0} rounds")]
    TooManyRounds(u32),
    /// The local store failed.
    #[error("store: {0}")]
    Store(#[from] Box<crate::Error>),
    /// The relay's address is not an `http://` or `https://` URL; nothing was sent.
    #[error("not a relay URL (expected https://host:port, or http:// on a trusted network): {0:?}")]
    BadUrl(String),
    /// Something that should not happen (a compressor failure).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<crate::Error> for SyncError {
    fn from(e: crate::Error) -> SyncError {
        SyncError::Store(Box::new(e))
    }
}
