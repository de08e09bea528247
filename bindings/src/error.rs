//! The error a UI can act on. The core's detailed error ([`carebank_core::Error`]) is folded into
//! a few variants, each telling the app what to do next: fix a form field, look again, ask a
//! coordinator, offer fewer minutes, get consent, retry later, free space, or report a bug.

use carebank_core::domain::ValidationError;
use carebank_core::sync::SyncError;

/// Why a call into carebank failed. Kotlin sees `CareException.*`, Swift `CareError.*`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CareError {
    /// Something the app passed in is wrong: point the form at `field` (empty when the record
    /// as a whole is inconsistent) and show `reason`.
    #[error("invalid input{}: {reason}", if field.is_empty() { String::new() } else { format!(" ({field})") })]
    InvalidInput {
        /// The field at fault, as named in the record (`elder_id`, `visit.check_out_ms` …), or empty.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An elder, member, site or record that the store does not know (yet: it may arrive with
    /// the next sync).
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of thing: `elder`, `member`, `site`, `record`, `visit`, `follow-up`.
        what: String,
        /// The id that was looked up.
        id: String,
    },
    /// This device may not do this (wrong role, not enrolled, or revoked).
    #[error("not authorised: {reason}")]
    NotAuthorised {
        /// Why, in words for the log or a dialog.
        reason: String,
    },
    /// The elder has not consented to this use of their data: record consent first (PIPL).
    #[error("the elder has not consented to {purpose}")]
    ConsentMissing {
        /// The purpose that needs consent.
        purpose: String,
    },
    /// The time bank would hold this entry for a coordinator's decision (an unenrolled or
    /// revoked key, a claim its service does not support, a broken rule): show `reason` and
    /// send the member to their coordinator.
    #[error("needs a coordinator: {reason}")]
    NeedsCoordinator {
        /// Why it would be held, in words for a dialog.
        reason: String,
    },
    /// The time bank refuses a debit (a redemption or a gift) that would take the member's
    /// balance below zero: show the balance it would leave, and offer fewer minutes.
    #[error("the member's balance would be {balance_after_minutes} minutes")]
    Overdraft {
        /// The balance just after the debit, in minutes (negative).
        balance_after_minutes: i64,
    },
    /// The store is busy (another connection holds it, or another entry of the member's chain
    /// was written first): nothing was written; retry in a moment.
    #[error("busy, retry later: {reason}")]
    RetryLater {
        /// What was busy.
        reason: String,
    },
    /// The phone's storage is full: nothing was written; ask the user to free space, then retry.
    #[error("the phone's storage is full")]
    StorageFull,
    /// The phone's storage failed or holds data this build cannot read: retry, free space, or
    /// report.
    #[error("storage: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// The secure key storage (Android Keystore, iOS Keychain) failed or holds a bad key.
    #[error("key storage: {reason}")]
    KeyStorage {
        /// What failed.
        reason: String,
    },
    /// A relay or peer could not be reached; the work is kept and can be retried (produced by
    /// the sync calls).
    #[error("network: {reason}")]
    Network {
        /// What failed.
        reason: String,
    },
    /// The app cancelled the operation; what was done before is kept.
    #[error("cancelled")]
    Cancelled,
    /// A bug: in carebank, or in an app callback that threw. Report it.
    #[error("internal error: {reason}")]
    Internal {
        /// What happened.
        reason: String,
    },
}

/// The result type of every exported call.
pub type Result<T, E = CareError> = std::result::Result<T, E>;

impl CareError {
    /// An invalid value in `field`.
    pub(crate) fn invalid(field: &str, reason: impl ToString) -> CareError {
        CareError::InvalidInput {
            field: field.to_string(),
            reason: reason.to_string(),
        }
    }
}

impl From<ValidationError> for CareError {
    fn from(e: ValidationError) -> CareError {
        let field = match &e {
            ValidationError::BadId { field, .. }
            | ValidationError::Empty(field)
            | ValidationError::TooLong { field, .. }
            | ValidationError::OutOfRange { field, .. }
            | ValidationError::Instant { field, .. }
            | ValidationError::Duplicate(field) => field,
            ValidationError::NonPositiveDuration(_) => "duration_minutes",
            ValidationError::CheckOutBeforeCheckIn { .. } => "check_out_ms",
            ValidationError::UnknownServiceKind(_) => "kind",
            ValidationError::Inconsistent(_) => "",
        };
        CareError::invalid(field, e)
    }
}

impl From<carebank_core::Error> for CareError {
    fn from(e: carebank_core::Error) -> CareError {
        use carebank_core::Error as E;
        use carebank_core::error::Refusal;
        use carebank_core::record::RecordError;
        let not_found = |what: &str, id: String| CareError::NotFound {
            what: what.to_string(),
            id,
        };
        match e {
            E::Invalid(v) | E::Record(RecordError::Invalid(v)) => v.into(),
            E::NotFound { kind, id } => not_found(kind.as_str(), id),
            e @ E::ElderErased(_) => CareError::invalid("elder_id", e),
            E::NotAuthorised(reason) => CareError::NotAuthorised { reason },
            E::NoConsent(purpose) => CareError::ConsentMissing {
                purpose: purpose.to_string(),
            },
            E::ConsentWithdrawn {
                purpose,
                field,
                at_ms,
            } => CareError::ConsentMissing {
                purpose: format!("{purpose} (withdrawn from {at_ms}; field {field})"),
            },
            e @ E::WrongCircle { .. } => CareError::invalid("circle_id", e),
            E::LedgerRefused(Refusal::Held(hold)) => CareError::NeedsCoordinator {
                reason: hold.to_string(),
            },
            E::LedgerRefused(Refusal::Overdraft {
                balance_after_minutes,
            }) => CareError::Overdraft {
                balance_after_minutes,
            },
            e @ E::LedgerRefused(Refusal::NotNextLink) => CareError::RetryLater {
                reason: e.to_string(),
            },
            ref e if e.is_busy() => CareError::RetryLater {
                reason: e.to_string(),
            },
            ref e if e.is_disk_full() => CareError::StorageFull,
            E::Statement(e) => CareError::invalid("statement", e),
            E::Transfer(e) => CareError::invalid("transfer", e),
            e @ (E::Secrets(_) | E::WrongStoreKey(_)) => CareError::KeyStorage {
                reason: e.to_string(),
            },
            e @ (E::Record(_)
            | E::Schema(_)
            | E::Storage(_)
            | E::Io(_)
            | E::Replica(_)
            | E::Corrupt(_)) => CareError::Storage {
                reason: e.to_string(),
            },
        }
    }
}

/// A sync's failure: the store's own errors as usual, cancellation as `Cancelled`, a peer that
/// refused this device as `NotAuthorised`, and everything about the peer or the link as
/// `Network` (the next sync resumes where this one stopped).
pub(crate) fn sync_error(e: SyncError) -> CareError {
    match e {
        SyncError::Store(e) => (*e).into(),
        SyncError::Cancelled => CareError::Cancelled,
        SyncError::NotAuthorised(reason) => CareError::NotAuthorised { reason },
        SyncError::Internal(reason) => CareError::Internal { reason },
        e @ SyncError::BadUrl(_) => CareError::invalid("url", e),
        e => CareError::Network {
            reason: e.to_string(),
        },
    }
}

/// A phone-to-phone frame's failure: a frame too damaged to answer is `InvalidInput` (field
/// `frame`); the rest as for a sync.
pub(crate) fn frame_error(e: SyncError) -> CareError {
    match e {
        e @ (SyncError::Malformed(_) | SyncError::Version(_)) => CareError::invalid("frame", e),
        e => sync_error(e),
    }
}

/// A bundle file's failure: a file that is not a bundle of this circle, one sealed for other
/// devices, not sealed, not signed by a trusted device, or whose content is not for this store,
/// is `InvalidInput` (field `bundle`); the rest as for a sync.
pub(crate) fn bundle_error(e: SyncError) -> CareError {
    match e {
        e @ (SyncError::Malformed(_)
        | SyncError::Version(_)
        | SyncError::TooLarge(_)
        | SyncError::WrongCircle { .. }
        | SyncError::NotAuthorised(_)
        | SyncError::PlainBundle(_)
        | SyncError::UnfitBundle(_)
        | SyncError::Unexpected { .. }) => CareError::invalid("bundle", e),
        e => sync_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carebank_core::Error as E;
    use carebank_core::error::{Kind, Refusal};

    fn sqlite(code: std::ffi::c_int) -> E {
        E::Storage(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn a_busy_store_is_retried_later_and_a_full_disk_asks_for_space() {
        assert!(matches!(
            CareError::from(sqlite(rusqlite::ffi::SQLITE_BUSY)),
            CareError::RetryLater { .. }
        ));
        assert!(matches!(
            CareError::from(sqlite(rusqlite::ffi::SQLITE_LOCKED)),
            CareError::RetryLater { .. }
        ));
        assert_eq!(
            CareError::from(sqlite(rusqlite::ffi::SQLITE_FULL)),
            CareError::StorageFull
        );
        assert!(matches!(
            CareError::from(sqlite(rusqlite::ffi::SQLITE_CORRUPT)),
            CareError::Storage { .. }
        ));
    }

    #[test]
    fn refusals_and_unknown_things_are_typed_and_say_no_debug_text() {
        assert_eq!(
            CareError::from(E::not_found(Kind::FollowUp, "v#2")),
            CareError::NotFound {
                what: "follow-up".into(),
                id: "v#2".into()
            }
        );
        assert!(matches!(
            CareError::from(E::LedgerRefused(Refusal::NotNextLink)),
            CareError::RetryLater { .. }
        ));
        let held = CareError::from(E::LedgerRefused(Refusal::Held(
            carebank_core::ledger::Hold::Duplicate,
        )));
        assert_eq!(
            held,
            CareError::NeedsCoordinator {
                reason: "another claim for the same service (or transfer-in of the same hours) came first"
                    .into()
            }
        );
    }
}
