//! The errors a record's own fields can have, and small checks shared by the record types.

use crate::ids::{Id, IdError};
use crate::time::InstantOutOfRange;

/// What is wrong with a record's fields. Each names the field so a form can point at it.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ValidationError {
    /// An id field was empty or malformed.
    #[error("{field}: {source}")]
    BadId {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        source: IdError,
    },
    /// A required text field was empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A text field was longer than allowed.
    #[error("{field} is longer than {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The most characters allowed.
        max: usize,
    },
    /// A number was outside its allowed range.
    #[error("{field} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: i64,
        /// The smallest allowed.
        min: i64,
        /// The largest allowed.
        max: i64,
    },
    /// An instant outside the range the core accepts (see [`crate::time::UnixMs`]).
    #[error("{field}: {source}")]
    Instant {
        /// The field (or `wall_clock`, for the device's clock).
        field: &'static str,
        /// The instant and the range.
        source: InstantOutOfRange,
    },
    /// A duration was zero or negative.
    #[error("duration must be positive, got {0} minutes")]
    NonPositiveDuration(i64),
    /// A visit's check-out was before its check-in.
    #[error("check-out ({check_out_ms}) is before check-in ({check_in_ms})")]
    CheckOutBeforeCheckIn {
        /// Check-in time (Unix ms).
        check_in_ms: u64,
        /// Check-out time (Unix ms).
        check_out_ms: u64,
    },
    /// A service kind name that carebank does not know.
    #[error(
        "unknown service kind {0:?} (known: meal, bath, cleaning, mobility, medical_escort, companionship, emergency, other)"
    )]
    UnknownServiceKind(String),
    /// A list held the same item twice.
    #[error("{0} lists the same item twice")]
    Duplicate(&'static str),
    /// Fields that contradict each other.
    #[error("{0}")]
    Inconsistent(&'static str),
}

/// Reads an id typed or passed in from outside, naming the field in the error.
pub fn parse_id(field: &'static str, text: &str) -> Result<Id, ValidationError> {
    text.parse()
        .map_err(|source| ValidationError::BadId { field, source })
}

/// A required text of at most `max` characters.
pub(crate) fn required_text(
    field: &'static str,
    text: &str,
    max: usize,
) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::Empty(field));
    }
    optional_text(field, Some(text), max)
}

/// An optional text of at most `max` characters.
pub(crate) fn optional_text(
    field: &'static str,
    text: Option<&str>,
    max: usize,
) -> Result<(), ValidationError> {
    match text {
        Some(t) if t.chars().count() > max => Err(ValidationError::TooLong { field, max }),
        _ => Ok(()),
    }
}

/// A number within `min..=max`.
pub(crate) fn in_range(
    field: &'static str,
    value: i64,
    min: i64,
    max: i64,
) -> Result<(), ValidationError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

/// A list without repeats.
pub(crate) fn distinct<T: PartialEq>(
    field: &'static str,
    items: &[T],
) -> Result<(), ValidationError> {
    for (i, a) in items.iter().enumerate() {
        if items[..i].contains(a) {
            return Err(ValidationError::Duplicate(field));
        }
    }
    Ok(())
}

/// Longest name, in characters.
pub(crate) const NAME_MAX: usize = 100;
/// Longest free-text note, in characters.
pub(crate) const NOTE_MAX: usize = 2_000;
/// The latest instant a record may name (year 2200), to catch garbage timestamps.
pub(crate) const INSTANT_MAX: i64 = 7_258_118_400_000;

/// An instant (Unix ms) that is plausibly a real date.
pub(crate) fn instant(field: &'static str, ms: u64) -> Result<(), ValidationError> {
    in_range(field, i64::try_from(ms).unwrap_or(i64::MAX), 0, INSTANT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_malformed_ids_name_their_field() {
        assert_eq!(
            parse_id("elder_id", ""),
            Err(ValidationError::BadId {
                field: "elder_id",
                source: IdError::Empty
            })
        );
        assert!(matches!(
            parse_id("elder_id", "not-an-id"),
            Err(ValidationError::BadId {
                field: "elder_id",
                ..
            })
        ));
    }

    #[test]
    fn text_rules() {
        assert_eq!(
            required_text("name", "  ", 10),
            Err(ValidationError::Empty("name"))
        );
        assert!(required_text("name", "王阿姨", 3).is_ok());
        assert_eq!(
            required_text("name", "王阿姨好", 3),
            Err(ValidationError::TooLong {
                field: "name",
                max: 3
            })
        );
        assert_eq!(
            distinct("groups", &[1, 2, 1]),
            Err(ValidationError::Duplicate("groups"))
        );
    }
}
