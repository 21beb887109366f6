//! Writing index rows: a version's terms replace the previous version's, in the same
//! transaction as the version itself. Statements are prepared once per connection (cached).

use super::{SqliteTx, db};
use crate::StoreError;
use rusqlite::{OptionalExtension, params};
use salus_search::IndexTerms;
use salus_search::terms::CompositeValue;

const TABLES: &[&str] =
    &["idx_string", "idx_token", "idx_date", "idx_number", "idx_quantity", "idx_reference", "idx_uri", "idx_composite"];

impl SqliteTx<'_> {
    /// Removes every index row of a resource.
    pub(super) fn clear_index(&self, resource_type: &str, id: &str) -> Result<(), StoreError> {
        for t in TABLES {
            let mut stmt = self.conn.prepare_cached(&format!("DELETE FROM {t} WHERE type = ?1 AND id = ?2")).map_err(db)?;
            stmt.execute(params![resource_type, id]).map_err(db)?;
        }
        Ok(())
    }

    /// Removes the full-text row of the current version; returns that version's `seq`.
    pub(super) fn clear_text(&self, resource_type: &str, id: &str) -> Result<Option<i64>, StoreError> {
        let mut find = self
            .conn
            .prepare_cached("SELECT seq FROM resources WHERE type = ?1 AND id = ?2 AND current = 1")
            .map_err(db)?;
        let seq: Option<i64> = find.query_row(params![resource_type, id], |r| r.get(0)).optional().map_err(db)?;
        if let Some(seq) = seq {
            let mut delete = self.conn.prepare_cached("DELETE FROM idx_text WHERE rowid = ?1").map_err(db)?;
            delete.execute(params![seq]).map_err(db)?;
        }
        Ok(seq)
    }

    /// The full-text row of the version stored at `seq` (none when it has no text).
    pub(super) fn write_text(&self, seq: i64, terms: &IndexTerms) -> Result<(), StoreError> {
        if terms.narrative.is_empty() && terms.content.is_empty() {
            return Ok(());
        }
        let mut insert =
            self.conn.prepare_cached("INSERT INTO idx_text (rowid, narrative, content) VALUES (?1, ?2, ?3)").map_err(db)?;
        insert.execute(params![seq, terms.narrative, terms.content]).map_err(db)?;
        Ok(())
    }

    pub(super) fn write_index(&self, ty: &str, id: &str, terms: &IndexTerms) -> Result<(), StoreError> {
        let c = self.conn;
        if !terms.strings.is_empty() {
            let mut s = c.prepare_cached("INSERT INTO idx_string (type, id, param, norm, exact) VALUES (?1, ?2, ?3, ?4, ?5)").map_err(db)?;
            for t in &terms.strings {
                s.execute(params![ty, id, t.param, t.norm, t.exact]).map_err(db)?;
            }
        }
        if !terms.tokens.is_empty() {
            let mut s = c
                .prepare_cached("INSERT INTO idx_token (type, id, param, system, code, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(db)?;
            for t in &terms.tokens {
                s.execute(params![ty, id, t.param, t.system, t.code, t.text]).map_err(db)?;
            }
        }
        if !terms.dates.is_empty() {
            let mut s = c.prepare_cached("INSERT INTO idx_date (type, id, param, low, high) VALUES (?1, ?2, ?3, ?4, ?5)").map_err(db)?;
            for t in &terms.dates {
                s.execute(params![ty, id, t.param, t.range.low, t.range.high]).map_err(db)?;
            }
        }
        if !terms.numbers.is_empty() {
            let mut s = c.prepare_cached("INSERT INTO idx_number (type, id, param, value) VALUES (?1, ?2, ?3, ?4)").map_err(db)?;
            for t in &terms.numbers {
                s.execute(params![ty, id, t.param, t.value]).map_err(db)?;
            }
        }
        if !terms.quantities.is_empty() {
            let mut s = c
                .prepare_cached(
                    "INSERT INTO idx_quantity (type, id, param, value, system, code, canon_value, canon_code) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(db)?;
            for t in &terms.quantities {
                let (cv, cc) = t.canonical.as_ref().map_or((None, None), |(v, u)| (Some(*v), Some(u.as_str())));
                s.execute(params![ty, id, t.param, t.value, t.system, t.code, cv, cc]).map_err(db)?;
            }
        }
        if !terms.references.is_empty() {
            let mut s = c
                .prepare_cached(
                    "INSERT INTO idx_reference (type, id, param, target_type, target_id, url, version) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db)?;
            for t in &terms.references {
                s.execute(params![ty, id, t.param, t.target_type, t.target_id, t.url, t.version]).map_err(db)?;
            }
        }
        if !terms.uris.is_empty() {
            let mut s = c.prepare_cached("INSERT INTO idx_uri (type, id, param, value) VALUES (?1, ?2, ?3, ?4)").map_err(db)?;
            for t in &terms.uris {
                s.execute(params![ty, id, t.param, t.value]).map_err(db)?;
            }
        }
        if !terms.composites.is_empty() {
            let mut s = c
                .prepare_cached(
                    "INSERT INTO idx_composite (type, id, param, system1, code1, system2, code2, text2, num2, low2, high2, canon2, canon_code2) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(db)?;
            for t in &terms.composites {
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
                s.execute(params![ty, id, t.param, t.first.system, code1, system2, code2, text2, num2, low2, high2, canon2, canon_code2])
                    .map_err(db)?;
            }
        }
        Ok(())
    }
}
