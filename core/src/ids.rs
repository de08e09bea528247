//! Identifiers. Entities (sites, members, elders, circles) get random 128-bit ids, so two
//! offline phones can never both take one; records are named by the hash of their content.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why an id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum IdError {
    /// Nothing was given.
    #[error("the id is empty")]
    Empty,
    /// Something was given, but not 32 lowercase hexadecimal characters.
    #[error("not an id (expected 32 lowercase hex characters): {0:?}")]
    Malformed(String),
}

/// A 128-bit identifier written as 32 lowercase hexadecimal characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id([u8; 16]);

impl Id {
    /// A fresh random id from the operating system's generator.
    pub fn random() -> Id {
        let mut bytes = [0u8; 16];
        // The OS generator only fails on a broken system; fall back to hashing the time and
        // a process-local counter so that an id is still (practically) unique.
        if getrandom::fill(&mut bytes).is_err() {
            use sha2::{Digest, Sha256};
            use std::sync::atomic::{AtomicU64, Ordering};
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let digest = Sha256::new()
                .chain_update(crate::hlc::wall_clock_ms().to_le_bytes())
                .chain_update(n.to_le_bytes())
                .chain_update(std::process::id().to_le_bytes())
                .finalize();
            bytes.copy_from_slice(&digest[..16]);
        }
        Id(bytes)
    }

    /// The id made of these bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Id {
        Id(bytes)
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for Id {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        let lower_hex = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !lower_hex {
            return Err(IdError::Malformed(s.to_string()));
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| IdError::Malformed(s.to_string()))?;
        Ok(Id(bytes))
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_bad_text() {
        let id = Id::random();
        assert_eq!(id.to_string().parse::<Id>(), Ok(id));
        assert_ne!(Id::random(), Id::random());
        assert_eq!("".parse::<Id>(), Err(IdError::Empty));
        assert!(matches!("xyz".parse::<Id>(), Err(IdError::Malformed(_))));
        let upper = "ABCDEF0123456789ABCDEF0123456789";
        assert!(matches!(upper.parse::<Id>(), Err(IdError::Malformed(_))));
    }
}
