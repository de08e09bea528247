//! Small conversions shared by the records: ids and keys as text, instants as `i64` Unix
//! milliseconds, months as `YYYY-MM`, and a macro for enums that mirror a core enum one to one.
//! Every parse failure names the field it came from.

use carebank_core::domain::parse_id;
use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;
use carebank_core::time::{Month, UnixMs};

use crate::error::{CareError, Result};

/// Reads an id passed in `field`.
pub(crate) fn id(field: &'static str, text: &str) -> Result<Id> {
    Ok(parse_id(field, text)?)
}

/// Reads an optional id passed in `field`.
pub(crate) fn opt_id(field: &'static str, text: Option<&str>) -> Result<Option<Id>> {
    text.map(|t| id(field, t)).transpose()
}

/// Reads a device public key passed in `field`.
pub(crate) fn key(field: &'static str, text: &str) -> Result<PublicKey> {
    text.parse().map_err(|e| CareError::invalid(field, e))
}

/// Reads an instant (Unix ms) passed in `field`; it cannot be before 1970.
pub(crate) fn instant(field: &'static str, ms: i64) -> Result<u64> {
    u64::try_from(ms).map_err(|_| CareError::invalid(field, format!("{ms} is before 1970")))
}

/// Reads an optional instant passed in `field`.
pub(crate) fn opt_instant(field: &'static str, ms: Option<i64>) -> Result<Option<u64>> {
    ms.map(|m| instant(field, m)).transpose()
}

/// Reads the "now" of a query (Unix ms); the core's [`UnixMs`] says which instants it accepts
/// (1970 to the end of 9999).
pub(crate) fn now(ms: i64) -> Result<UnixMs> {
    UnixMs::try_from(ms).map_err(|e| CareError::invalid("now_ms", e))
}

/// Reads a month written `YYYY-MM`.
pub(crate) fn month(text: &str) -> Result<Month> {
    text.parse().map_err(|e| CareError::invalid("month", e))
}

/// An instant for the app (instants the core accepted fit in an `i64`).
pub(crate) fn ms(instant: u64) -> i64 {
    i64::try_from(instant).unwrap_or(i64::MAX)
}

/// Declares an FFI enum without data that mirrors the core enum variant for variant, with
/// `From` both ways (so adding a variant to one and not the other fails to compile).
macro_rules! mirror_enum {
    (
        $(#[$meta:meta])*
        $name:ident = $core:path {
            $($(#[$vmeta:meta])* $variant:ident,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl From<$name> for $core {
            fn from(v: $name) -> Self {
                match v {
                    $($name::$variant => Self::$variant,)+
                }
            }
        }

        impl From<$core> for $name {
            fn from(v: $core) -> Self {
                type Core = $core;
                match v {
                    $(Core::$variant => $name::$variant,)+
                }
            }
        }
    };
}

pub(crate) use mirror_enum;

/// Converts every item of a list.
pub(crate) fn all<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}
