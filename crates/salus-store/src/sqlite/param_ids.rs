//! Search parameter ids: index rows name their parameter by a small integer (`pid`) from the
//! `search_params` table instead of repeating the resource type and parameter code as text.
//!
//! The map is cached in memory, and the cache holds only committed ids: a writer that assigns
//! a new id does so inside its own transaction (which may still roll back), records it in
//! [`Assigned`], and the backend publishes those ids to the cache after the COMMIT succeeds.
//! Until then a lookup finds the id through SQL, inside the transaction that can see it.

use super::{SqliteTx, db};
use crate::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::RwLock;

/// Committed parameter ids by resource type, then parameter code.
#[derive(Default)]
pub(super) struct ParamIds {
    ids: RwLock<HashMap<String, HashMap<String, i64>>>,
}

/// Ids a writer assigned in its (not yet committed) transaction.
pub(super) type Assigned = RefCell<Vec<(String, String, i64)>>;

/// What a transaction's index writes learned of each parameter: its id, or `None` for a union
/// parameter (see [`SqliteTx::index_pid`]). Looked up for every parameter of every version.
pub(super) type IndexPids = RefCell<foldhash::HashMap<String, foldhash::HashMap<String, Option<i64>>>>;

impl ParamIds {
    /// Loads every id of the database (at open).
    pub(super) fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let mut map: HashMap<String, HashMap<String, i64>> = HashMap::new();
        let mut stmt = conn.prepare("SELECT pid, type, code FROM search_params")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
        for row in rows {
            let (pid, ty, code) = row?;
            map.entry(ty).or_default().insert(code, pid);
        }
        Ok(ParamIds { ids: RwLock::new(map) })
    }

    pub(super) fn get(&self, resource_type: &str, code: &str) -> Option<i64> {
        let ids = self.ids.read().ok()?;
        ids.get(resource_type)?.get(code).copied()
    }

    /// Makes ids assigned by a committed transaction visible to every later lookup.
    pub(super) fn publish(&self, assigned: Vec<(String, String, i64)>) {
        if assigned.is_empty() {
            return;
        }
        if let Ok(mut ids) = self.ids.write() {
            for (ty, code, pid) in assigned {
                ids.entry(ty).or_default().insert(code, pid);
            }
        }
    }
}

impl SqliteTx<'_> {
    /// The id of a parameter as this transaction sees it, if it has one.
    pub(super) fn find_pid(&self, resource_type: &str, code: &str) -> Result<Option<i64>, StoreError> {
        if let Some(pid) = self.params.get(resource_type, code) {
            return Ok(Some(pid));
        }
        let mut stmt = self.held("SELECT pid FROM search_params WHERE type = ?1 AND code = ?2")?;
        stmt.query_row(params![resource_type, code], |r| r.get(0)).optional().map_err(db)
    }

    /// The id of a parameter, assigned now (in this transaction) if it has none yet.
    pub(super) fn pid(&self, resource_type: &str, code: &str) -> Result<i64, StoreError> {
        if let Some(pid) = self.find_pid(resource_type, code)? {
            return Ok(pid);
        }
        let mut insert = self.held("INSERT INTO search_params (type, code) VALUES (?1, ?2)")?;
        insert.execute(params![resource_type, code]).map_err(db)?;
        let pid = self.conn.last_insert_rowid();
        self.assigned.borrow_mut().push((resource_type.to_string(), code.to_string(), pid));
        Ok(pid)
    }

    /// The id under which a version's rows of a parameter are stored, assigned now if it has
    /// none yet; `None` for a union parameter, whose rows are its parts' rows.
    ///
    /// Why a memo: the committed ids sit behind a lock, an id assigned by this transaction is
    /// found only through SQL until it is committed, and whether a code is a union is another
    /// lookup; asked for each parameter of each version, they were a tenth of a bulk load's
    /// writer.
    pub(super) fn index_pid(&self, resource_type: &str, code: &str) -> Result<Option<i64>, StoreError> {
        if let Some(known) = self.index_pids.borrow().get(resource_type).and_then(|codes| codes.get(code)) {
            return Ok(*known);
        }
        let pid = match salus_search::unions::parts(resource_type, code) {
            Some(_) => None,
            None => Some(self.pid(resource_type, code)?),
        };
        self.index_pids.borrow_mut().entry(resource_type.to_string()).or_default().insert(code.to_string(), pid);
        Ok(pid)
    }

    /// For a search: the ids of the rows of a parameter; a union parameter has no rows of
    /// its own, its parts' rows are its rows (see `salus_search::unions`).
    pub(super) fn search_pids(&self, resource_type: &str, code: &str) -> Result<Vec<i64>, StoreError> {
        match salus_search::unions::parts(resource_type, code) {
            Some(parts) => parts.iter().map(|part| self.search_pid(resource_type, part)).collect(),
            None => Ok(vec![self.search_pid(resource_type, code)?]),
        }
    }

    /// For a search: the parameter's id, or one no row carries when it has none (nothing
    /// was ever indexed under it, so nothing matches).
    pub(super) fn search_pid(&self, resource_type: &str, code: &str) -> Result<i64, StoreError> {
        Ok(self.find_pid(resource_type, code)?.unwrap_or(-1))
    }
}
