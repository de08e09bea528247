//! The circles a relay serves, each behind a lock of its own: requests of different circles
//! run at once, those of one circle take turns. The documents loaded across all circles are
//! bounded: past the limit, whole circles' documents are dropped, least recently used first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;

use crate::RelayError;
use crate::docs::Docs;
use crate::trust::TrustCache;

/// What the relay keeps about one circle between requests.
pub struct CircleState {
    /// The circle's centre key (registration never changes it).
    pub centre: PublicKey,
    /// The keys it trusts, as last derived.
    pub trust: TrustCache,
    /// Its loaded documents.
    pub docs: Docs,
}

impl CircleState {
    fn forget(&mut self) {
        self.trust.clear();
        self.docs.clear();
    }
}

struct Entry {
    state: Arc<Mutex<CircleState>>,
    last_used: u64,
    /// Its loaded documents when last counted (only ever changed under its lock).
    docs: usize,
}

#[derive(Default)]
struct Registry {
    entries: HashMap<Id, Entry>,
    ticks: u64,
    loaded: usize,
}

/// Every circle seen so far, and the count of the documents loaded across them.
pub struct Circles {
    registry: Mutex<Registry>,
    max_docs: usize,
}

/// Locks a circle's state. A lock poisoned by a panic mid-request is taken over, dropping
/// what it guarded (reloaded as needed).
pub fn lock(state: &Mutex<CircleState>) -> MutexGuard<'_, CircleState> {
    state.lock().unwrap_or_else(|poisoned| {
        state.clear_poison();
        let mut guard = poisoned.into_inner();
        guard.forget();
        guard
    })
}

impl Circles {
    /// No circles yet; at most about `max_docs` documents loaded between requests.
    pub fn new(max_docs: usize) -> Circles {
        Circles {
            registry: Mutex::new(Registry::default()),
            max_docs,
        }
    }

    fn registry(&self) -> Result<MutexGuard<'_, Registry>, RelayError> {
        self.registry
            .lock()
            .map_err(|_| RelayError::Internal("circle registry lock poisoned".into()))
    }

    /// The state of `circle`; when first seen, `centre` looks it up (none: not served here,
    /// and nothing is kept).
    pub fn get(
        &self,
        circle: Id,
        centre: impl FnOnce() -> Result<Option<PublicKey>, RelayError>,
    ) -> Result<Option<Arc<Mutex<CircleState>>>, RelayError> {
        if let Some(entry) = self.registry()?.entries.get(&circle) {
            return Ok(Some(entry.state.clone()));
        }
        let Some(centre) = centre()? else {
            return Ok(None);
        };
        let mut registry = self.registry()?;
        let entry = registry.entries.entry(circle).or_insert_with(|| Entry {
            state: Arc::new(Mutex::new(CircleState {
                centre,
                trust: TrustCache::default(),
                docs: Docs::default(),
            })),
            last_used: 0,
            docs: 0,
        });
        Ok(Some(entry.state.clone()))
    }

    /// Notes that `circle`, whose locked state is `state`, was just used; then, while more
    /// documents are loaded than allowed, drops the documents of the least recently used
    /// circles not in use, and this one's last.
    pub fn used(&self, circle: Id, state: &mut CircleState) -> Result<(), RelayError> {
        let mut guard = self.registry()?;
        let registry = &mut *guard;
        registry.ticks += 1;
        let Some(entry) = registry.entries.get_mut(&circle) else {
            return Ok(());
        };
        entry.last_used = registry.ticks;
        registry.loaded = registry.loaded.saturating_sub(entry.docs) + state.docs.len();
        entry.docs = state.docs.len();
        if registry.loaded <= self.max_docs {
            return Ok(());
        }
        let mut order: Vec<(u64, Id)> = registry
            .entries
            .iter()
            .filter(|(id, e)| **id != circle && e.docs > 0)
            .map(|(id, e)| (e.last_used, *id))
            .collect();
        order.sort_unstable();
        for (_, id) in order {
            if registry.loaded <= self.max_docs {
                return Ok(());
            }
            let Some(other) = registry.entries.get_mut(&id) else {
                continue;
            };
            let mut locked = match other.state.try_lock() {
                Ok(locked) => locked,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            locked.docs.clear();
            registry.loaded = registry.loaded.saturating_sub(other.docs);
            other.docs = 0;
        }
        if registry.loaded > self.max_docs
            && let Some(entry) = registry.entries.get_mut(&circle)
        {
            state.docs.clear();
            registry.loaded = registry.loaded.saturating_sub(entry.docs);
            entry.docs = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
impl Circles {
    /// The documents counted as loaded, and those actually loaded.
    pub fn loaded(&self) -> (usize, usize) {
        let registry = self.registry().expect("registry");
        let actual = registry
            .entries
            .values()
            .map(|e| lock(&e.state).docs.len())
            .sum();
        (registry.loaded, actual)
    }
}
