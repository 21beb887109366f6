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
        let resolve = |t: &str, code: &str| self.search_pid(t, code);
        let Sql { text, args } = Builder::new(Dialect::Sqlite, &resolve).page(request)?;
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
        let resolve = |t: &str, code: &str| self.search_pid(t, code);
        let Sql { text, args } = Builder::new(Dialect::Sqlite, &resolve).count(query)?;
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
        // Found resources by seq, in the order found, without repeats.
        let mut found: Vec<i64> = Vec::new();
        for (ty, id) in from {
            let rows = if reverse { self.referring(ty, id, include)? } else { self.referred(ty, id, include)? };
            for seq in rows {
                if !found.contains(&seq) {
                    found.push(seq);
                }
            }
        }
        let sql = format!("SELECT {VERSION_COLUMNS} FROM resources WHERE seq = ?1 AND current = 1 AND deleted = 0");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut out = Vec::new();
        for seq in found {
            let mut rows = stmt.query_map([seq], version_from_row).map_err(db)?;
            if let Some(v) = rows.next() {
                out.push(v.map_err(db)?);
            }
        }
        Ok(out)
    }

    /// `_include`: the current versions that `ty/id` refers to through the include's parameter
    /// (every reference parameter for `*`).
    fn referred(&self, ty: &str, id: &str, include: &Include) -> Result<Vec<i64>, StoreError> {
        if include.source_type != "*" && include.source_type != ty {
            return Ok(Vec::new());
        }
        let mut sql = String::from(
            "SELECT t.seq FROM resources r JOIN idx_reference x ON x.seq = r.seq \
             JOIN resources t ON t.type = x.target_type AND t.id = x.target_id AND t.current = 1 AND t.deleted = 0 \
             WHERE r.type = ?1 AND r.id = ?2 AND r.current = 1 AND x.target_id IS NOT NULL",
        );
        let mut args: Vec<Value> = vec![Value::Text(ty.into()), Value::Text(id.into())];
        if let Some(p) = &include.param {
            args.push(Value::Integer(self.search_pid(ty, p)?));
            sql.push_str(&format!(" AND x.pid = ?{}", args.len()));
        }
        if let Some(t) = &include.target_type {
            args.push(Value::Text(t.clone()));
            sql.push_str(&format!(" AND x.target_type = ?{}", args.len()));
        }
        self.seqs(&sql, args)
    }

    /// `_revinclude`: the current versions that refer to `ty/id` through the include's
    /// parameter (every reference parameter of the source type for `*`; of every type when the
    /// source type is `*` too).
    fn referring(&self, ty: &str, id: &str, include: &Include) -> Result<Vec<i64>, StoreError> {
        if include.target_type.as_deref().is_some_and(|t| t != ty) {
            return Ok(Vec::new());
        }
        let mut args: Vec<Value> = vec![Value::Text(ty.into()), Value::Text(id.into())];
        let pids = match (&include.param, include.source_type.as_str()) {
            (Some(p), source) => {
                args.push(Value::Integer(self.search_pid(source, p)?));
                format!("?{}", args.len())
            }
            (None, "*") => "SELECT pid FROM search_params".to_string(),
            (None, source) => {
                args.push(Value::Text(source.into()));
                format!("SELECT pid FROM search_params WHERE type = ?{}", args.len())
            }
        };
        // The reference index leads with the parameter: one probe per candidate parameter.
        let sql = format!(
            "SELECT seq FROM idx_reference WHERE target_type = ?1 AND target_id = ?2 AND pid IN ({pids})"
        );
        self.seqs(&sql, args)
    }

    fn seqs(&self, sql: &str, args: Vec<Value>) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0)).map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }
}

impl SqliteStore {
    /// The SQL of a search page and SQLite's plan for it (one line per plan step), for tests
    /// that check every search uses an index.
    pub fn explain(&self, request: &SearchRequest) -> Result<(String, Vec<String>), StoreError> {
        let conn = self.writer.lock().map_err(super::poisoned)?;
        let tx = SqliteTx::new(&conn, &self.params);
        let resolve = |t: &str, code: &str| tx.search_pid(t, code);
        let Sql { text, args } = Builder::new(Dialect::Sqlite, &resolve).page(request)?;
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {text}")).map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values(&args)), |r| r.get::<_, String>(3))
            .map_err(db)?;
        Ok((text, rows.collect::<Result<Vec<_>, _>>().map_err(db)?))
    }
}
