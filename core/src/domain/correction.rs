//! Corrections: a record is never edited or deleted in place (留迹留痕). An amendment or a void
//! refers to the original, with a reason and its author (the correction's signer).

use serde::{Deserialize, Serialize};

use super::RecordBody;
use super::validation::{NOTE_MAX, ValidationError, required_text};
use crate::ids::Id;

/// What a correction does to its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CorrectionAction {
    /// The record should not count (entered in error, a duplicate, never happened).
    Void {},
    /// The record should count with this content instead (same type as the original).
    Amend {
        /// The corrected content.
        replacement: Box<RecordBody>,
    },
}

/// An amendment or void of an earlier record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// The record id of the original record (never of another correction).
    pub target: Id,
    /// Void or amend.
    #[serde(flatten)]
    pub action: CorrectionAction,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

impl Correction {
    /// Checks the correction's own fields, including the replacement's.
    pub fn validate(&self) -> Result<(), ValidationError> {
        required_text("reason", &self.reason, NOTE_MAX)?;
        if let CorrectionAction::Amend { replacement } = &self.action {
            match replacement.as_ref() {
                RecordBody::Elder(_)
                | RecordBody::Visit(_)
                | RecordBody::Service(_)
                | RecordBody::Site(_) => replacement.validate()?,
                _ => {
                    return Err(ValidationError::Inconsistent(
                        "only sites, elders, visits and services can be amended",
                    ));
                }
            }
        }
        Ok(())
    }
}
