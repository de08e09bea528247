//! Maps and sets keyed by [`Id`], with a fast hasher. Ids are SHA-256 prefixes or random, so
//! their bytes are already uniformly spread: folding them is enough (a signer who grinds record
//! ids to collide can slow reconciliation down, not change its result).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::ids::Id;

/// Folds the bytes it is given, eight at a time.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

/// A map keyed by id.
pub(crate) type IdMap<V> = HashMap<Id, V, BuildHasherDefault<IdHasher>>;
/// A set of ids.
pub(crate) type IdSet = HashSet<Id, BuildHasherDefault<IdHasher>>;
