//! Members' names, from their sealed profiles: what a device that holds the circle's key shows
//! in place of a member id.

use std::collections::BTreeMap;

use super::Store;
use super::sql_types::Columns;
use crate::error::Result;
use crate::ids::Id;

impl Store {
    /// Every member whose profile this store holds, by id (the latest profile of each).
    pub fn member_names(&self) -> Result<BTreeMap<Id, String>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT member_id, name FROM member_profiles")?;
        let rows = stmt.query_map([], |r| Ok((r.column::<Id>(0)?, r.get::<_, String>(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}
