//! The records that carry a circle's epoch keys (decision 0014): an epoch key made by the
//! centre or a coordinator and wrapped for each device that may read the circle's care records,
//! and grants that wrap existing epoch keys for devices enrolled later. They travel in the clear
//! (class 0): a wrapped key reveals nothing without the device's secret key, and the relay can
//! see who made them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::validation::{ValidationError, distinct, in_range};
use crate::identity::PublicKey;
use crate::identity::wrap::WRAPPED_LEN;
use crate::ids::Id;

/// The most devices one key record wraps for (a circle has a few dozen).
pub const WRAPS_MAX: usize = 1000;

/// One epoch key wrapped for one device (`identity::wrap`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWrap {
    /// The device the key is wrapped for.
    pub device: PublicKey,
    /// The wrapped key: base64url without padding of 80 bytes (ephemeral key, key, tag).
    pub wrapped: String,
}

impl KeyWrap {
    /// The wrapped bytes, or `None` if they are not base64url of the right length.
    pub fn bytes(&self) -> Option<[u8; WRAPPED_LEN]> {
        URL_SAFE_NO_PAD
            .decode(&self.wrapped)
            .ok()
            .and_then(|b| b.try_into().ok())
    }

    /// A wrap of `bytes` for `device`.
    pub fn new(device: PublicKey, bytes: &[u8; WRAPPED_LEN]) -> KeyWrap {
        KeyWrap {
            device,
            wrapped: URL_SAFE_NO_PAD.encode(bytes),
        }
    }
}

/// A new epoch key of the circle; its record's id names it in the headers of the records
/// sealed under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochKey {
    /// One more than the highest epoch its maker knew of (devices seal under the newest).
    pub epoch: u32,
    /// The key, wrapped for each device then enrolled and not revoked.
    pub wraps: Vec<KeyWrap>,
}

/// Epoch keys already made, wrapped for devices that did not have them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGrant {
    /// The epoch-key record whose key is granted.
    pub key_id: Id,
    /// The key, wrapped for each device it is granted to.
    pub wraps: Vec<KeyWrap>,
}

/// A member's name, which travels sealed like any care record (the enrolment, which the
/// relay reads, carries none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberProfile {
    /// The member.
    pub member_id: Id,
    /// The member's name as the village knows them.
    pub name: String,
}

fn check_wraps(wraps: &[KeyWrap]) -> Result<(), ValidationError> {
    in_range("wraps", wraps.len() as i64, 1, WRAPS_MAX as i64)?;
    let devices: Vec<PublicKey> = wraps.iter().map(|w| w.device).collect();
    distinct("wraps.device", &devices)?;
    if wraps.iter().any(|w| w.bytes().is_none()) {
        return Err(ValidationError::Inconsistent(
            "a wrapped key is 80 bytes in base64url without padding",
        ));
    }
    Ok(())
}

impl EpochKey {
    /// Checks the record's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        in_range("epoch", i64::from(self.epoch), 1, i64::from(u32::MAX))?;
        check_wraps(&self.wraps)
    }
}

impl KeyGrant {
    /// Checks the record's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_wraps(&self.wraps)
    }
}

impl MemberProfile {
    /// Checks the record's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        super::validation::required_text("name", &self.name, super::validation::NAME_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::DeviceKey;

    fn wrap_for(n: u8) -> KeyWrap {
        KeyWrap::new(
            DeviceKey::from_seed([n; 32]).public_key(),
            &[n; WRAPPED_LEN],
        )
    }

    #[test]
    fn key_records_need_well_formed_distinct_wraps() {
        let good = EpochKey {
            epoch: 1,
            wraps: vec![wrap_for(1), wrap_for(2)],
        };
        assert_eq!(good.validate(), Ok(()));
        let empty = EpochKey {
            wraps: vec![],
            ..good.clone()
        };
        assert!(empty.validate().is_err());
        let twice = EpochKey {
            wraps: vec![wrap_for(1), wrap_for(1)],
            ..good.clone()
        };
        assert_eq!(
            twice.validate(),
            Err(ValidationError::Duplicate("wraps.device"))
        );
        let mut short = wrap_for(3);
        short.wrapped.pop();
        let grant = KeyGrant {
            key_id: Id::from_bytes([1; 16]),
            wraps: vec![short],
        };
        assert!(matches!(
            grant.validate(),
            Err(ValidationError::Inconsistent(_))
        ));
        assert!(EpochKey { epoch: 0, ..good }.validate().is_err());
    }
}
