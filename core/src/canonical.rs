//! Canonical JSON: the one byte encoding that signatures and record ids are computed over.
//!
//! The rules (documented for other implementations in `docs/record-format.md`):
//! UTF-8, no whitespace, object keys sorted by their UTF-8 bytes, no duplicate keys,
//! integers only (|n| ≤ 2^53 − 1), no floats, no `null`, strings escaped minimally
//! (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as `\u00xx`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The largest integer magnitude allowed, so that every JSON reader can hold it exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why some bytes are not a canonical encoding of a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanonicalError {
    /// The bytes are not JSON at all.
    #[error("not JSON: {0}")]
    Syntax(String),
    /// The JSON holds something the canonical form forbids.
    #[error("not allowed in canonical JSON: {0}")]
    Forbidden(&'static str),
    /// Valid JSON, but not in canonical form (key order, spacing, escapes).
    #[error("JSON is not in canonical form")]
    NotCanonical,
    /// The JSON does not have the shape of the expected record.
    #[error("unexpected shape: {0}")]
    Shape(String),
}

/// Encodes a value into canonical JSON bytes.
pub fn to_canonical<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let tree = serde_json::to_value(value).map_err(|e| CanonicalError::Shape(e.to_string()))?;
    check_tree(&tree)?;
    // serde_json's Value keeps object keys in a BTreeMap (sorted by UTF-8 bytes) and writes
    // compact output with exactly the minimal escapes listed above.
    serde_json::to_vec(&tree).map_err(|e| CanonicalError::Shape(e.to_string()))
}

/// Decodes canonical JSON bytes into a typed value, insisting that re-encoding the value gives
/// back exactly the same bytes (so one value has one encoding, and one hash).
pub fn from_canonical<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, CanonicalError> {
    let tree: Value =
        serde_json::from_slice(bytes).map_err(|e| CanonicalError::Syntax(e.to_string()))?;
    check_tree(&tree)?;
    let value: T =
        serde_json::from_value(tree).map_err(|e| CanonicalError::Shape(e.to_string()))?;
    if to_canonical(&value)? != bytes {
        return Err(CanonicalError::NotCanonical);
    }
    Ok(value)
}

fn check_tree(value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => Err(CanonicalError::Forbidden("null")),
        Value::Bool(_) | Value::String(_) => Ok(()),
        Value::Number(n) => {
            let magnitude = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u,
                (None, Some(i)) => i.unsigned_abs(),
                (None, None) => return Err(CanonicalError::Forbidden("a non-integer number")),
            };
            if magnitude > MAX_SAFE_INTEGER {
                return Err(CanonicalError::Forbidden("an integer beyond 2^53 - 1"));
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_tree),
        Value::Object(map) => map.values().try_for_each(check_tree),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Sample {
        zeta: u32,
        alpha: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        maybe: Option<i64>,
    }

    #[test]
    fn keys_are_sorted_and_output_is_compact() {
        let s = Sample {
            zeta: 1,
            alpha: "助餐\n\"x\"".into(),
            maybe: Some(-3),
        };
        let bytes = to_canonical(&s).expect("encode");
        assert_eq!(
            std::str::from_utf8(&bytes).expect("utf8"),
            r#"{"alpha":"助餐\n\"x\"","maybe":-3,"zeta":1}"#
        );
        assert_eq!(from_canonical::<Sample>(&bytes).expect("decode"), s);
    }

    #[test]
    fn control_characters_use_lowercase_unicode_escapes() {
        let s = Sample {
            zeta: 0,
            alpha: "\u{1}\u{1f}\u{7f}/".into(),
            maybe: None,
        };
        let bytes = to_canonical(&s).expect("encode");
        assert_eq!(
            std::str::from_utf8(&bytes).expect("utf8"),
            "{\"alpha\":\"\\u0001\\u001f\u{7f}/\",\"zeta\":0}"
        );
    }

    #[test]
    fn non_canonical_inputs_are_refused() {
        let spaced = br#"{"alpha":"a", "zeta":1}"#;
        assert_eq!(
            from_canonical::<Sample>(spaced),
            Err(CanonicalError::NotCanonical)
        );
        let unsorted = br#"{"zeta":1,"alpha":"a"}"#;
        assert_eq!(
            from_canonical::<Sample>(unsorted),
            Err(CanonicalError::NotCanonical)
        );
        let escaped = br#"{"alpha":"\u0061","zeta":1}"#;
        assert_eq!(
            from_canonical::<Sample>(escaped),
            Err(CanonicalError::NotCanonical)
        );
        let float = br#"{"alpha":"a","zeta":1.0}"#;
        assert!(matches!(
            from_canonical::<Sample>(float),
            Err(CanonicalError::Forbidden(_))
        ));
        let null = br#"{"alpha":"a","maybe":null,"zeta":1}"#;
        assert!(matches!(
            from_canonical::<Sample>(null),
            Err(CanonicalError::Forbidden(_))
        ));
        let big = br#"{"alpha":"a","maybe":9007199254740992,"zeta":1}"#;
        assert!(matches!(
            from_canonical::<Sample>(big),
            Err(CanonicalError::Forbidden(_))
        ));
        let unknown = br#"{"alpha":"a","extra":1,"zeta":1}"#;
        assert_eq!(
            from_canonical::<Sample>(unknown),
            Err(CanonicalError::NotCanonical)
        );
        assert!(matches!(
            from_canonical::<Sample>(b"{"),
            Err(CanonicalError::Syntax(_))
        ));
    }
}
