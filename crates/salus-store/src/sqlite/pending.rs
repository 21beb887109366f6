//! Index rows waiting to be inserted: a write transaction gathers the rows of many versions and
//! inserts each table's rows [`ROWS_PER_INSERT`] at a time.
//!
//! Why across versions: a version has one to four rows in most tables, so inserting each
//! version's rows on their own ran a statement per table per version, and each execution opens
//! a cursor on the table and each of its indexes and closes them again (about a tenth of a bulk
//! load's writer). Rows wait here, their values copied (text into one buffer per table, not a
//! string each), until a table has a full statement's worth, or until something must see them:
//! a read inside the transaction, the removal of a version's rows, a savepoint, the end of the
//! write ([`SqliteTx::flush_index_rows`]).

use super::index::{IndexTable, ROWS_PER_INSERT, TABLES};
use super::{SqliteTx, db};
use crate::StoreError;
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};

/// Every table's waiting rows, by the table's place in [`TABLES`].
pub(super) type PendingRows = std::cell::RefCell<[TableRows; TABLES.len()]>;

/// One table's waiting rows, as their values in binding order.
#[derive(Default)]
pub(super) struct TableRows {
    cells: Vec<Cell>,
    /// The text values of `cells`, one after another (UTF-8: each came from a `str`).
    text: Vec<u8>,
    rows: usize,
}

enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    /// A range of [`TableRows::text`].
    Text(usize, usize),
}

/// Takes the values of one row, in the table's column order.
pub(super) struct Binder<'p> {
    rows: &'p mut TableRows,
}

impl Binder<'_> {
    /// Starts a row with its key.
    pub(super) fn row(&mut self, seq: i64, pid: i64, n: i64) -> Result<(), StoreError> {
        self.push(seq)?;
        self.push(pid)?;
        self.push(n)
    }

    pub(super) fn push(&mut self, value: impl ToSql) -> Result<(), StoreError> {
        let value = value.to_sql().map_err(db)?;
        let value = match &value {
            ToSqlOutput::Borrowed(v) => *v,
            ToSqlOutput::Owned(v) => ValueRef::from(v),
            _ => return Err(StoreError::Database("an index value of an unexpected kind".into())),
        };
        let cell = match value {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(i) => Cell::Integer(i),
            ValueRef::Real(r) => Cell::Real(r),
            ValueRef::Text(t) => {
                let start = self.rows.text.len();
                self.rows.text.extend_from_slice(t);
                Cell::Text(start, self.rows.text.len())
            }
            ValueRef::Blob(_) => return Err(StoreError::Database("an index value cannot be a blob".into())),
        };
        self.rows.cells.push(cell);
        Ok(())
    }
}

impl SqliteTx<'_> {
    /// Adds one row to `table`'s waiting rows (`bind` pushes its values); a full statement's
    /// worth is inserted at once.
    pub(super) fn add_index_row<T>(
        &self,
        table: &'static IndexTable,
        row: T,
        bind: &mut impl FnMut(&mut Binder<'_>, T) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut pending = self.pending.borrow_mut();
        let rows = &mut pending[table.slot];
        let before = rows.cells.len();
        let bound = bind(&mut Binder { rows }, row);
        // A row bound short or long would shift every later row's columns.
        let wrong = bound.is_ok() && rows.cells.len() - before != 3 + table.columns.len();
        if bound.is_err() || wrong {
            rows.cells.truncate(before);
            bound?;
            return Err(StoreError::Database(format!("{}: a row bound the wrong number of values", table.name)));
        }
        rows.rows += 1;
        if rows.rows == ROWS_PER_INSERT {
            self.insert_waiting(table, rows)?;
        }
        Ok(())
    }

    /// Inserts every waiting index row.
    pub(super) fn flush_index_rows(&self) -> Result<(), StoreError> {
        let mut pending = self.pending.borrow_mut();
        for (table, rows) in TABLES.iter().zip(pending.iter_mut()) {
            self.insert_waiting(table, rows)?;
        }
        Ok(())
    }

    /// Forgets every waiting index row (their savepoint was rolled back).
    pub(super) fn discard_index_rows(&self) {
        for rows in self.pending.borrow_mut().iter_mut() {
            *rows = TableRows::default();
        }
    }

    /// One multi-row INSERT of a table's waiting rows (see `IndexTable::sql` on `OR FAIL`).
    fn insert_waiting(&self, table: &'static IndexTable, rows: &mut TableRows) -> Result<(), StoreError> {
        if rows.rows == 0 {
            return Ok(());
        }
        let mut stmt = self.held(table.sql(rows.rows))?;
        for (i, cell) in rows.cells.iter().enumerate() {
            let at = i + 1;
            match cell {
                Cell::Null => stmt.raw_bind_parameter(at, rusqlite::types::Null),
                Cell::Integer(v) => stmt.raw_bind_parameter(at, v),
                Cell::Real(v) => stmt.raw_bind_parameter(at, v),
                Cell::Text(s, e) => stmt.raw_bind_parameter(at, TextBytes(&rows.text[*s..*e])),
            }
            .map_err(db)?;
        }
        let result = stmt.raw_execute().map_err(db);
        rows.cells.clear();
        rows.text.clear();
        rows.rows = 0;
        result.map(|_| ())
    }
}

/// Text kept as the bytes it was bound with, bound again as text (a `&[u8]` binds a blob),
/// without checking again that it is UTF-8.
struct TextBytes<'t>(&'t [u8]);

impl ToSql for TextBytes<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0)))
    }
}
