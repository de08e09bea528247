//! A few open backends shared by the request threads: a caller takes one, uses it for a short
//! critical section, and the guard puts it back. SQLite runs with one connection (its writes
//! are serialised anyway); PostgreSQL with a handful.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::RelayError;
use crate::backend::Backend;

/// Open backends, handed out one caller at a time each.
pub struct Pool {
    idle: Mutex<Vec<Box<dyn Backend>>>,
    returned: Condvar,
}

/// A backend taken from the pool; goes back when dropped.
pub struct Pooled<'a> {
    pool: &'a Pool,
    backend: Option<Box<dyn Backend>>,
}

impl Pool {
    /// A pool of these backends (at least one).
    pub fn new(backends: Vec<Box<dyn Backend>>) -> Result<Pool, RelayError> {
        if backends.is_empty() {
            return Err(RelayError::Config("no database connection".into()));
        }
        Ok(Pool {
            idle: Mutex::new(backends),
            returned: Condvar::new(),
        })
    }

    /// Takes a backend, waiting for one to come back if all are in use.
    pub fn get(&self) -> Result<Pooled<'_>, RelayError> {
        let mut idle = self.idle()?;
        loop {
            if let Some(backend) = idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    backend: Some(backend),
                });
            }
            idle = self
                .returned
                .wait(idle)
                .map_err(|_| RelayError::Internal("database pool lock poisoned".into()))?;
        }
    }

    fn idle(&self) -> Result<MutexGuard<'_, Vec<Box<dyn Backend>>>, RelayError> {
        self.idle
            .lock()
            .map_err(|_| RelayError::Internal("database pool lock poisoned".into()))
    }
}

impl Deref for Pooled<'_> {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        match &self.backend {
            Some(b) => b.as_ref(),
            None => unreachable!("a pooled backend is present until dropped"),
        }
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match &mut self.backend {
            Some(b) => b.as_mut(),
            None => unreachable!("a pooled backend is present until dropped"),
        }
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let (Some(backend), Ok(mut idle)) = (self.backend.take(), self.pool.idle()) {
            idle.push(backend);
            self.pool.returned.notify_one();
        }
    }
}
