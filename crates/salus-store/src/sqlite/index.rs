//! Writing index rows: a version's terms replace the previous version's, in the same
//! transaction as the version itself. Rows are keyed by the version's `seq` and the
//! parameter's id (see migration 0005). Statements are prepared once per connection (cached).

use super::{SqliteTx, db};
use crate::StoreError;
use rusqlite::params;
use salus_search::IndexTerms;
use salus_search::terms::CompositeValue;

const TABLES: &[&str] =
    &["idx_string", "idx_token", "idx_date", "idx_number", "idx_quantity", "idx_reference", "idx_uri", "idx_composite"];

impl SqliteTx<'_> {
    /// Removes every index row (and the full-text row) of the version stored at `seq`.
    pub(super) fn clear_index(&self, seq: i64) -> Result<(), StoreError> {
        for t in TABLES {
            let mut stmt = self.conn.prepare_cached(&format!("DELETE FROM {t} WHERE seq = ?1")).map_err(db)?;
            stmt.execute(params![seq]).map_err(db)?;
        }
        let mut text = self.conn.prepare_cached("DELETE FROM idx_text WHERE rowid = ?1").map_err(db)?;
        text.execute(params![seq]).map_err(db)?;
        Ok(())
    }

    /// Writes the index rows of the version stored at `seq`, a version of `ty`. `n` numbers a
    /// version's rows in each table (the primary key is `(seq, pid, n)`).
    pub(super) fn write_index(&self, seq: i64, ty: &str, terms: &IndexTerms) -> Result<(), StoreError> {
        let c = self.conn;
        let mut pids = Pids { tx: self, ty, last: None };
        if !terms.strings.is_empty() {
            let mut s = c.prepare_cached("INSERT INTO idx_string (seq, pid, n, norm, exact) VALUES (?1, ?2, ?3, ?4, ?5)").map_err(db)?;
            for (n, t) in (0i64..).zip(&terms.strings) {
                s.execute(params![seq, pids.of(&t.param)?, n, t.norm, t.exact]).map_err(db)?;
            }
        }
        if !terms.tokens.is_empty() {
            let mut s = c
                .prepare_cached("INSERT INTO idx_token (seq, pid, n, system, code, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(db)?;
            for (n, t) in (0i64..).zip(&terms.tokens) {
                s.execute(params![seq, pids.of(&t.param)?, n, t.system, t.code, t.text]).map_err(db)?;
            }
        }
        if !terms.dates.is_empty() {
            let mut s = c.prepare_cached("INSERT INTO idx_date (seq, pid, n, low, high) VALUES (?1, ?2, ?3, ?4, ?5)").map_err(db)?;
            for (n, t) in (0i64..).zip(&terms.dates) {
                s.execute(params![seq, pids.of(&t.param)?, n, t.range.low, t.range.high]).map_err(db)?;
            }
        }
        if !terms.numbers.is_empty() {
            let mut s = c.prepare_cached("INSERT INTO idx_number (seq, pid, n, value) VALUES (?1, ?2, ?3, ?4)").map_err(db)?;
            for (n, t) in (0i64..).zip(&terms.numbers) {
                s.execute(params![seq, pids.of(&t.param)?, n, t.value]).map_err(db)?;
            }
        }
        if !terms.quantities.is_empty() {
            let mut s = c
                .prepare_cached(
                    "INSERT INTO idx_quantity (seq, pid, n, value, system, code, canon_value, canon_code) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(db)?;
            for (n, t) in (0i64..).zip(&terms.quantities) {
                let (cv, cc) = t.canonical.as_ref().map_or((None, None), |(v, u)| (Some(*v), Some(u.as_str())));
                s.execute(params![seq, pids.of(&t.param)?, n, t.value, t.system, t.code, cv, cc]).map_err(db)?;
            }
        }
        if !terms.references.is_empty() {
            let mut s = c
                .prepare_cached(
                    "INSERT INTO idx_reference (seq, pid, n, target_type, target_id, url, version) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db)?;
            for (n, t) in (0i64..).zip(&terms.references) {
                s.execute(params![seq, pids.of(&t.param)?, n, t.target_type, t.target_id, t.url, t.version])
                    .map_err(db)?;
            }
        }
        if !terms.uris.is_empty() {
            let mut s = c.prepare_cached("INSERT INTO idx_uri (seq, pid, n, value) VALUES (?1, ?2, ?3, ?4)").map_err(db)?;
            for (n, t) in (0i64..).zip(&terms.uris) {
                s.execute(params![seq, pids.of(&t.param)?, n, t.value]).map_err(db)?;
            }
        }
        if !terms.composites.is_empty() {
            let mut s = c
                .prepare_cached(
                    "INSERT INTO idx_composite (seq, pid, n, system1, code1, system2, code2, text2, num2, low2, high2, canon2, canon_code2, num3) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(db)?;
            for (n, t) in (0i64..).zip(&terms.composites) {
                let Some(code1) = &t.first.code else { continue };
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
                let pid = pids.of(&t.param)?;
                s.execute(params![
                    seq, pid, n, t.first.system, code1, system2, code2, text2, num2, low2, high2, canon2, canon_code2, num3
                ])
                .map_err(db)?;
            }
        }
        if !terms.narrative.is_empty() || !terms.content.is_empty() {
            let mut s =
                c.prepare_cached("INSERT INTO idx_text (rowid, narrative, content) VALUES (?1, ?2, ?3)").map_err(db)?;
            s.execute(params![seq, terms.narrative, terms.content]).map_err(db)?;
        }
        Ok(())
    }
}

/// The parameter ids of one version's rows. Its terms come sorted by parameter (see
/// `IndexTerms::dedup`), so the previous row's id answers most lookups: a lookup by type and
/// code for every row was a twentieth of a bulk load's writer time.
struct Pids<'a, 'c> {
    tx: &'a SqliteTx<'c>,
    ty: &'a str,
    last: Option<(&'a str, i64)>,
}

impl<'a> Pids<'a, '_> {
    fn of(&mut self, param: &'a str) -> Result<i64, StoreError> {
        if let Some((last, pid)) = self.last
            && last == param
        {
            return Ok(pid);
        }
        let pid = self.tx.pid(self.ty, param)?;
        self.last = Some((param, pid));
        Ok(pid)
    }
}
