//! Running searches on SQLite: the shared builder's SQL, executed with cached statements, and
//! the include queries. `explain` exposes the query plan for the index-use test.

use super::{SqliteStore, SqliteTx, VERSION_COLUMNS, db, version_from_row};
use crate::search_sql::{Arg, Builder, Dialect, Sql};
use crate::search_types::{Include, Query, SearchHit, SearchPosition, SearchRequest, SortValue};
use crate::{StoreError, StoredVersion};
use rusqlite::types::{Value, ValueRef};

fn values(args: &[Arg]) -> Vec<Value> {
    args.iter()
        .map(|a| match a {
            Arg::Int(i) => Value::Integer(*i),
            Arg::Real(f) => Value::Real(*f),
            Arg::Text(s) => Value::Text(s.clone()),
        })
        .collect()
}

fn sort_value(v: ValueRef<'_>) -> SortValue {
    match v {
        ValueRef::Integer(i) => SortValue::Int(i),
        ValueRef::Real(f) => SortValue::Real(f),
        ValueRef::Text(t) => SortValue::Text(String::from_utf8_lossy(t).into_owned()),
        _ => SortValue::Text(String::new()),
    }
}

impl SqliteTx<'_> {
    pub(super) fn run_search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>, StoreError> {
        let Sql { text, args } = Builder::new(Dialect::Sqlite).page(request);
        let mut stmt = self.conn.prepare_cached(&text).map_err(db)?;
        let keys = request.query.sort.len();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values(&args)), |row| {
                let version = version_from_row(row)?;
                let mut k = Vec::with_capacity(keys);
                for i in 0..keys {
                    k.push(sort_value(row.get_ref(8 + i)?));
                }
                let position = SearchPosition { keys: k, resource_type: version.resource_type.clone(), id: version.id.clone() };
                Ok(SearchHit { version, position })
            })
            .map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }

    pub(super) fn run_count(&self, query: &Query) -> Result<u64, StoreError> {
        let Sql { text, args } = Builder::new(Dialect::Sqlite).count(query);
        let mut stmt = self.conn.prepare_cached(&text).map_err(db)?;
        let n: i64 = stmt.query_row(rusqlite::params_from_iter(values(&args)), |r| r.get(0)).map_err(db)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    pub(super) fn run_included(
        &self,
        from: &[(String, String)],
        include: &Include,
        reverse: bool,
    ) -> Result<Vec<StoredVersion>, StoreError> {
        let mut found: Vec<(String, String)> = Vec::new();
        for (ty, id) in from {
            if !reverse && include.source_type != "*" && include.source_type != *ty {
                continue;
            }
            let mut sql = String::new();
            let mut args: Vec<Value> = Vec::new();
            if reverse {
                sql.push_str("SELECT type, id FROM idx_reference WHERE target_type = ?1 AND target_id = ?2");
                args.extend([Value::Text(ty.clone()), Value::Text(id.clone())]);
                if include.source_type != "*" {
                    args.push(Value::Text(include.source_type.clone()));
                    sql.push_str(&format!(" AND type = ?{}", args.len()));
                }
                if let Some(t) = &include.target_type
                    && t != ty {
                        continue;
                    }
            } else {
                sql.push_str("SELECT target_type, target_id FROM idx_reference WHERE type = ?1 AND id = ?2 AND target_type IS NOT NULL");
                args.extend([Value::Text(ty.clone()), Value::Text(id.clone())]);
                if let Some(t) = &include.target_type {
                    args.push(Value::Text(t.clone()));
                    sql.push_str(&format!(" AND target_type = ?{}", args.len()));
                }
            }
            if let Some(p) = &include.param {
                args.push(Value::Text(p.clone()));
                sql.push_str(&format!(" AND param = ?{}", args.len()));
            }
            let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args), |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(db)?;
            for r in rows {
                let r = r.map_err(db)?;
                if !found.contains(&r) {
                    found.push(r);
                }
            }
        }
        let sql = format!("SELECT {VERSION_COLUMNS} FROM resources WHERE type = ?1 AND id = ?2 AND current = 1 AND deleted = 0");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut out = Vec::new();
        for (t, i) in found {
            let mut rows = stmt.query_map(rusqlite::params![t, i], version_from_row).map_err(db)?;
            if let Some(v) = rows.next() {
                out.push(v.map_err(db)?);
            }
        }
        Ok(out)
    }
}

impl SqliteStore {
    /// The SQL of a search page and SQLite's plan for it (one line per plan step), for tests
    /// that check every search uses an index.
    pub fn explain(&self, request: &SearchRequest) -> Result<(String, Vec<String>), StoreError> {
        let Sql { text, args } = Builder::new(Dialect::Sqlite).page(request);
        let conn = self.writer.lock().map_err(super::poisoned)?;
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {text}")).map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values(&args)), |r| r.get::<_, String>(3))
            .map_err(db)?;
        Ok((text, rows.collect::<Result<Vec<_>, _>>().map_err(db)?))
    }
}
