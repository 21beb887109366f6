//! Statements a write transaction keeps at hand between uses.
//!
//! Why not `prepare_cached` each time: the connection's cache finds a statement by hashing and
//! comparing its SQL text, and hashes it again to take it back. The multi-row index INSERTs are
//! hundreds of characters, run for every version, and that lookup was a twentieth of a bulk
//! load's writer. A transaction takes each statement from the cache once and holds it, named
//! by the address of its `&'static str`; the statements go back to the cache when it ends.

use super::{SqliteTx, db};
use crate::StoreError;
use rusqlite::CachedStatement;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

/// The statements a transaction holds, by the address and length of their SQL.
pub(super) type Held<'c> = RefCell<HashMap<(usize, usize), CachedStatement<'c>>>;

/// A held statement in use; it returns to the transaction when dropped.
pub(super) struct HeldStatement<'t, 'c> {
    held: &'t Held<'c>,
    key: (usize, usize),
    statement: Option<CachedStatement<'c>>,
}

impl<'c> SqliteTx<'c> {
    /// The prepared statement for `sql`, from this transaction's hand or the connection's cache.
    /// Taken out while in use, so a statement can run while another is held.
    pub(super) fn held(&self, sql: &'static str) -> Result<HeldStatement<'_, 'c>, StoreError> {
        let key = (sql.as_ptr() as usize, sql.len());
        let statement = match self.held.borrow_mut().remove(&key) {
            Some(statement) => statement,
            None => self.conn.prepare_cached(sql).map_err(db)?,
        };
        Ok(HeldStatement { held: &self.held, key, statement: Some(statement) })
    }
}

impl<'c> Deref for HeldStatement<'_, 'c> {
    type Target = rusqlite::Statement<'c>;

    fn deref(&self) -> &Self::Target {
        // Only `drop` takes the statement out.
        self.statement.as_deref().unwrap_or_else(|| unreachable!("a held statement is present until dropped"))
    }
}

impl DerefMut for HeldStatement<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.statement.as_deref_mut().unwrap_or_else(|| unreachable!("a held statement is present until dropped"))
    }
}

impl Drop for HeldStatement<'_, '_> {
    fn drop(&mut self) {
        if let Some(mut statement) = self.statement.take() {
            // As the cache does: bound text kept in a statement held idle would fill SQLite's
            // small-allocation pool (lookaside), and every other allocation would then take the
            // locked general allocator (measured: the writer 3% slower).
            statement.clear_bindings();
            self.held.borrow_mut().insert(self.key, statement);
        }
    }
}
