//! People by name where this device may show them: the centre's and a coordinator's devices,
//! which enrol the members and elders and answer for them. Elders' names reach a caller only
//! through the calls of [`super::privacy`], which log the read; members' names are not elders'
//! personal data and are not logged.

use std::collections::BTreeMap;

use super::CareStore;
use crate::error::{Error, Result};
use crate::ids::Id;

impl CareStore {
    /// Whether this device shows people by name: it is the centre's or a coordinator's, and
    /// trusted. Elsewhere lists show ids.
    pub fn shows_names(&self) -> Result<bool> {
        match self.actor() {
            Ok(actor) => Ok(actor.coordinates()),
            Err(Error::NotAuthorised(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Members' names by id where this device shows names (see [`CareStore::shows_names`]);
    /// empty elsewhere.
    pub fn member_names(&self) -> Result<BTreeMap<Id, String>> {
        if !self.shows_names()? {
            return Ok(BTreeMap::new());
        }
        self.store.member_names()
    }
}
