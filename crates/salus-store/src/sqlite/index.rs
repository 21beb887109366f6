//! Writing index rows: a version's terms replace the previous version's, in the same
//! transaction as the version itself. Rows are keyed by the version's `seq` and the
//! parameter's id (see migration 0005). Statements are prepared once per connection (cached).

use super::pending::Binder;
use super::{SqliteTx, db};
use crate::StoreError;
use rusqlite::params;
use salus_search::IndexTerms;
use salus_search::terms::CompositeValue;
use std::sync::OnceLock;

pub(super) const TABLES: [&IndexTable; 8] = [&STRING, &TOKEN, &DATE, &NUMBER, &QUANTITY, &REFERENCE, &URI, &COMPOSITE];

impl SqliteTx<'_> {
    /// Removes every index row of the version stored at `seq`; its full-text row goes at the
    /// end of the transaction ([`SqliteTx::remove_stale_text`]).
    pub(super) fn clear_index(&self, seq: i64) -> Result<(), StoreError> {
        // The version's rows may still be waiting (written earlier in this transaction).
        self.flush_index_rows()?;
        for t in TABLES {
            let mut stmt = self.held(t.delete_sql())?;
            stmt.execute(params![seq]).map_err(db)?;
        }
        self.stale_text.borrow_mut().push(seq);
        Ok(())
    }

    /// Removes the full-text rows of the versions this transaction replaced.
    ///
    /// Why at the end: FTS5 keeps new rows in memory until it writes them out as a segment,
    /// and removing a row from a contentless table writes them out first. Removed one by one
    /// amid a bulk load's inserts, the 136 updates of a Synthea load wrote 136 small segments
    /// and merged them again: a twelfth of the writer's work. Until removed, a replaced
    /// version's row can match a `_text`/`_content` search, which keeps only current versions.
    pub(super) fn remove_stale_text(&self) -> Result<(), StoreError> {
        let mut stale = self.stale_text.take();
        if stale.is_empty() {
            return Ok(());
        }
        stale.sort_unstable();
        let mut text = self.held("DELETE FROM idx_text WHERE rowid = ?1")?;
        for seq in stale {
            text.execute(params![seq]).map_err(db)?;
        }
        Ok(())
    }

    /// Writes the index rows of the version stored at `seq`, a version of `ty`. `n` numbers a
    /// version's rows in each table (the primary key is `(seq, pid, n)`).
    pub(super) fn write_index(&self, seq: i64, ty: &str, terms: &IndexTerms) -> Result<(), StoreError> {
        let mut pids = Pids { tx: self, ty, last: None };
        self.insert_rows(&STRING, pids.stored(&terms.strings, |t| &t.param), |b, (pid, n, t)| {
            b.row(seq, pid?, n)?;
            b.push(&t.norm)?;
            b.push(&t.exact)
        })?;
        self.insert_rows(&TOKEN, pids.stored(&terms.tokens, |t| &t.param), |b, (pid, n, t)| {
            b.row(seq, pid?, n)?;
            b.push(&t.system)?;
            b.push(&t.code)?;
            b.push(&t.text)
        })?;
        self.insert_rows(&DATE, pids.stored(&terms.dates, |t| &t.param), |b, (pid, n, t)| {
            b.row(seq, pid?, n)?;
            b.push(t.range.low)?;
            b.push(t.range.high)
        })?;
        self.insert_rows(&NUMBER, pids.stored(&terms.numbers, |t| &t.param), |b, (pid, n, t)| {
            b.row(seq, pid?, n)?;
            b.push(t.value)
        })?;
        self.insert_rows(&QUANTITY, pids.stored(&terms.quantities, |t| &t.param), |b, (pid, n, t)| {
            let (cv, cc) = t.canonical.as_ref().map_or((None, None), |(v, u)| (Some(*v), Some(u.as_str())));
            b.row(seq, pid?, n)?;
            b.push(t.value)?;
            b.push(&t.system)?;
            b.push(&t.code)?;
            b.push(cv)?;
            b.push(cc)
        })?;
        self.insert_rows(&REFERENCE, pids.stored(&terms.references, |t| &t.param), |b, (pid, n, t)| {
            b.row(seq, pid?, n)?;
            b.push(&t.target_type)?;
            b.push(&t.target_id)?;
            b.push(&t.url)?;
            b.push(&t.version)
        })?;
        self.insert_rows(&URI, pids.stored(&terms.uris, |t| &t.param), |b, (pid, n, t)| {
            b.row(seq, pid?, n)?;
            b.push(&t.value)
        })?;
        // A composite without a first code matches no search: it is not stored.
        let composites = pids
            .stored(&terms.composites, |t| &t.param)
            .filter_map(|(pid, n, t)| t.first.code.as_ref().map(|code1| (pid, n, t, code1)));
        self.insert_rows(&COMPOSITE, composites, |b, (pid, n, t, code1)| {
            let (mut system2, mut code2, mut text2, mut num2) = (None, None, None, None);
            let (mut low2, mut high2, mut canon2, mut canon_code2) = (None, None, None, None);
            match &t.second {
                CompositeValue::Token(k) => (system2, code2) = (k.system.as_deref(), k.code.as_deref()),
                CompositeValue::String(k) => text2 = Some(k.norm.as_str()),
                CompositeValue::Date(k) => (low2, high2) = (Some(k.range.low), Some(k.range.high)),
                CompositeValue::Number(k) => num2 = Some(k.value),
                CompositeValue::Quantity(k) => {
                    (num2, system2, code2) = (Some(k.value), k.system.as_deref(), k.code.as_deref());
                    if let Some((v, u)) = &k.canonical {
                        (canon2, canon_code2) = (Some(*v), Some(u.as_str()));
                    }
                }
            }
            // A third component is a number (see the indexer); any other kind is not stored.
            let num3 = match &t.third {
                Some(CompositeValue::Number(k)) => Some(k.value),
                _ => None,
            };
            b.row(seq, pid?, n)?;
            b.push(&t.first.system)?;
            b.push(code1)?;
            b.push(system2)?;
            b.push(code2)?;
            b.push(text2)?;
            b.push(num2)?;
            b.push(low2)?;
            b.push(high2)?;
            b.push(canon2)?;
            b.push(canon_code2)?;
            b.push(num3)
        })?;
        if !terms.narrative.is_empty() || !terms.content.is_empty() {
            let mut s = self.held("INSERT INTO idx_text (rowid, narrative, content) VALUES (?1, ?2, ?3)")?;
            s.execute(params![seq, terms.narrative, terms.content]).map_err(db)?;
        }
        Ok(())
    }

    /// Adds rows to `table`'s waiting rows (see `pending.rs`); `bind` pushes one row's values
    /// in the table's column order.
    fn insert_rows<T>(
        &self,
        table: &'static IndexTable,
        rows: impl Iterator<Item = T>,
        mut bind: impl FnMut(&mut Binder<'_>, T) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for row in rows {
            self.add_index_row(table, row, &mut bind)?;
        }
        Ok(())
    }
}

/// The most rows one INSERT carries; each size is a statement of its own in the connection's
/// cache.
pub(super) const ROWS_PER_INSERT: usize = 16;

/// An index table and its columns after `(seq, pid, n)`, in binding order.
///
/// Why several rows per INSERT: each execution of an INSERT opens a cursor on the table and on
/// each of its indexes and seeks every b-tree from its root; within one statement the cursors
/// stay open, and a row appended after the previous one (the primary key leads with the
/// version's `seq`) is placed without a new descent.
///
/// `OR FAIL`: a statement that writes several rows and may abort part-way gets a statement
/// journal, a copy of every page it touches (it made the writer six times slower). A row that
/// fails here is a bug, and its error discards the whole write anyway (the transaction or the
/// group's savepoint is rolled back), so the journal is never needed.
pub(super) struct IndexTable {
    pub(super) name: &'static str,
    pub(super) columns: &'static [&'static str],
    /// Its place in [`TABLES`].
    pub(super) slot: usize,
    /// The INSERT for 1 to [`ROWS_PER_INSERT`] rows, made on first use.
    sql: OnceLock<Vec<String>>,
    /// The DELETE of a version's rows.
    delete: OnceLock<String>,
}

impl IndexTable {
    const fn new(slot: usize, name: &'static str, columns: &'static [&'static str]) -> Self {
        IndexTable { name, columns, slot, sql: OnceLock::new(), delete: OnceLock::new() }
    }

    fn delete_sql(&'static self) -> &'static str {
        self.delete.get_or_init(|| format!("DELETE FROM {} WHERE seq = ?1", self.name))
    }

    pub(super) fn sql(&'static self, rows: usize) -> &'static str {
        let all = self.sql.get_or_init(|| {
            let width = 3 + self.columns.len();
            let one = format!("({})", vec!["?"; width].join(", "));
            (1..=ROWS_PER_INSERT)
                .map(|k| {
                    format!(
                        "INSERT OR FAIL INTO {} (seq, pid, n, {}) VALUES {}",
                        self.name,
                        self.columns.join(", "),
                        vec![one.as_str(); k].join(", ")
                    )
                })
                .collect()
        });
        &all[rows.clamp(1, ROWS_PER_INSERT) - 1]
    }
}

static STRING: IndexTable = IndexTable::new(0, "idx_string", &["norm", "exact"]);
static TOKEN: IndexTable = IndexTable::new(1, "idx_token", &["system", "code", "text"]);
static DATE: IndexTable = IndexTable::new(2, "idx_date", &["low", "high"]);
static NUMBER: IndexTable = IndexTable::new(3, "idx_number", &["value"]);
static QUANTITY: IndexTable =
    IndexTable::new(4, "idx_quantity", &["value", "system", "code", "canon_value", "canon_code"]);
static REFERENCE: IndexTable = IndexTable::new(5, "idx_reference", &["target_type", "target_id", "url", "version"]);
static URI: IndexTable = IndexTable::new(6, "idx_uri", &["value"]);
static COMPOSITE: IndexTable = IndexTable::new(
    7,
    "idx_composite",
    &["system1", "code1", "system2", "code2", "text2", "num2", "low2", "high2", "canon2", "canon_code2", "num3"],
);

#[test]
fn every_table_knows_its_place() {
    for (i, t) in TABLES.iter().enumerate() {
        assert_eq!(t.slot, i, "{}", t.name);
    }
}

/// A version's rows of one kind, numbered for the primary key.
fn numbered<T>(items: &[T]) -> impl Iterator<Item = (i64, &T)> {
    (0i64..).zip(items)
}

/// The parameter ids of one version's rows. Its terms come sorted by parameter (see
/// `IndexTerms::dedup`), so the previous row's id answers most lookups.
struct Pids<'a, 'c> {
    tx: &'a SqliteTx<'c>,
    ty: &'a str,
    /// The last parameter looked up and its id (`None`: a union, stored as its parts).
    last: Option<(&'a str, Option<i64>)>,
}

impl<'a> Pids<'a, '_> {
    fn of(&mut self, param: &'a str) -> Result<Option<i64>, StoreError> {
        if let Some((last, pid)) = self.last
            && last == param
        {
            return Ok(pid);
        }
        let pid = self.tx.index_pid(self.ty, param)?;
        self.last = Some((param, pid));
        Ok(pid)
    }

    /// The rows to store, numbered, with their parameter's id: a union parameter's rows are its
    /// parts' rows (`salus_search::unions`), not stored twice.
    fn stored<'p, T>(
        &'p mut self,
        items: &'a [T],
        param: impl Fn(&'a T) -> &'a str + 'p,
    ) -> impl Iterator<Item = (Result<i64, StoreError>, i64, &'a T)> + 'p {
        numbered(items).filter_map(move |(n, t)| match self.of(param(t)) {
            Ok(Some(pid)) => Some((Ok(pid), n, t)),
            Ok(None) => None,
            Err(e) => Some((Err(e), n, t)),
        })
    }
}
