//! Running searches on SQLite: the shared builder's SQL, executed with cached statements, and
//! the include queries (local references by type and id, canonical ones by `url|version`).
//! `explain` and `explain_included` expose the query plans for the index-use test.

use super::{SqliteStore, SqliteTx, VERSION_COLUMNS, db, version_from_row};
use crate::search_sql::{Arg, Builder, Dialect, Sql};
use crate::search_types::{Include, Query, SearchHit, SearchPosition, SearchRequest, SortValue};
use crate::{StoreError, StoredVersion};
use rusqlite::types::{Value, ValueRef};
use salus_search::canonical;

/// An included version, by its seq.
fn load_sql() -> String {
    format!("SELECT {VERSION_COLUMNS} FROM resources WHERE seq = ?1 AND current = 1 AND deleted = 0")
}

/// A canonical resource found by its `url`: (seq, version, last updated).
type Candidate = (i64, Option<String>, i64);

/// The current resources of one type with a canonical `url` (`?2`), under that type's `url`
/// (`?1`) and `version` (`?3`) parameter ids, oldest write first (so that among equals the
/// latest write is chosen). Index rows belong to current, live versions only.
const CANONICAL_CANDIDATES: &str = "SELECT u.seq, \
     (SELECT v.code FROM idx_token v WHERE v.seq = u.seq AND v.pid = ?3 ORDER BY v.n LIMIT 1), r.last_updated \
     FROM idx_uri u JOIN resources r ON r.seq = u.seq WHERE u.pid = ?1 AND u.value = ?2 ORDER BY u.seq";

/// The canonical `url` and `version` of the current `?1/?2`, under its type's `url` (`?3`) and
/// `version` (`?4`) parameter ids.
const CANONICAL_IDENTITY: &str = "SELECT r.seq, u.value, \
     (SELECT v.code FROM idx_token v WHERE v.seq = r.seq AND v.pid = ?4 ORDER BY v.n LIMIT 1) \
     FROM resources r JOIN idx_uri u ON u.seq = r.seq AND u.pid = ?3 \
     WHERE r.type = ?1 AND r.id = ?2 AND r.current = 1 AND r.deleted = 0";

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
    /// A page in two steps: the positions (seq, type, id, sort keys) of the page's rows, sorted
    /// and cut to the page by SQL, then each row's stored version by its seq. Sorting carries
    /// only the keys, never the bodies of every match (a common code matches thousands).
    pub(super) fn run_search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>, StoreError> {
        let resolve = |t: &str, code: &str| self.search_pids(t, code);
        let Sql { text, args } = Builder::new(Dialect::Sqlite, &resolve).page(request)?;
        let mut stmt = self.conn.prepare_cached(&text).map_err(db)?;
        let keys = request.query.sort.len();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values(&args)), |row| {
                let seq: i64 = row.get(0)?;
                let mut k = Vec::with_capacity(keys);
                for i in 0..keys {
                    k.push(sort_value(row.get_ref(3 + i)?));
                }
                Ok((seq, SearchPosition { keys: k, resource_type: row.get(1)?, id: row.get(2)? }))
            })
            .map_err(db)?;
        let positions = rows.collect::<Result<Vec<_>, _>>().map_err(db)?;
        let sql = format!("SELECT {VERSION_COLUMNS} FROM resources WHERE seq = ?1");
        let mut fetch = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut hits = Vec::with_capacity(positions.len());
        for (seq, position) in positions {
            let version = fetch
                .query_row([seq], version_from_row)
                .map_err(|e| StoreError::Corrupt(format!("search matched version {seq}, which cannot be read: {e}")))?;
            hits.push(SearchHit { version, position });
        }
        Ok(hits)
    }

    pub(super) fn run_count(&self, query: &Query) -> Result<u64, StoreError> {
        let resolve = |t: &str, code: &str| self.search_pids(t, code);
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
        let targets = canonical::include_targets(include);
        // Found resources by seq, in the order found, without repeats.
        let mut found: Vec<i64> = Vec::new();
        for (ty, id) in from {
            let rows =
                if reverse { self.referring(ty, id, include, &targets)? } else { self.referred(ty, id, include, &targets)? };
            for seq in rows {
                if !found.contains(&seq) {
                    found.push(seq);
                }
            }
        }
        let mut stmt = self.conn.prepare_cached(&load_sql()).map_err(db)?;
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
    /// (every reference parameter for `*`): local references by type and id, canonical ones
    /// (`url|version`) by the `url` of the canonical resources of the include's `targets`.
    fn referred(&self, ty: &str, id: &str, include: &Include, targets: &[String]) -> Result<Vec<i64>, StoreError> {
        if include.source_type != "*" && include.source_type != ty {
            return Ok(Vec::new());
        }
        let (sql, args) = self.referred_sql(ty, id, include)?;
        let mut found = self.seqs(&sql, args)?;
        if !targets.is_empty() {
            let (sql, args) = self.canonical_references_sql(ty, id, include)?;
            let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args), |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
                .map_err(db)?;
            for (url, version) in rows.collect::<Result<Vec<_>, _>>().map_err(db)? {
                let candidates = self.canonical_candidates(&url, targets)?;
                let chosen = match version {
                    Some(v) => {
                        let same: Vec<Candidate> = candidates.into_iter().filter(|c| c.1.as_deref() == Some(v.as_str())).collect();
                        canonical::latest(&same)
                    }
                    None => canonical::latest(&candidates),
                };
                found.extend(chosen);
            }
        }
        Ok(found)
    }

    fn referred_sql(&self, ty: &str, id: &str, include: &Include) -> Result<(String, Vec<Value>), StoreError> {
        // `+` keeps the partial target index out: through it SQLite would range over every row
        // of the parameter instead of reading this version's rows by (seq, pid).
        let mut sql = String::from(
            "SELECT t.seq FROM resources r JOIN idx_reference x ON x.seq = r.seq \
             JOIN resources t ON t.type = x.target_type AND t.id = x.target_id AND t.current = 1 AND t.deleted = 0 \
             WHERE r.type = ?1 AND r.id = ?2 AND r.current = 1 AND +x.target_id IS NOT NULL",
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
        Ok((sql, args))
    }

    /// The canonical references (url, version) that `ty/id` holds in the include's parameter.
    fn canonical_references_sql(&self, ty: &str, id: &str, include: &Include) -> Result<(String, Vec<Value>), StoreError> {
        let mut sql = String::from(
            "SELECT x.url, x.version FROM resources r JOIN idx_reference x ON x.seq = r.seq \
             WHERE r.type = ?1 AND r.id = ?2 AND r.current = 1 AND r.deleted = 0 AND x.url IS NOT NULL",
        );
        let mut args: Vec<Value> = vec![Value::Text(ty.into()), Value::Text(id.into())];
        if let Some(p) = &include.param {
            args.push(Value::Integer(self.search_pid(ty, p)?));
            sql.push_str(&format!(" AND x.pid = ?{}", args.len()));
        }
        Ok((sql, args))
    }

    /// The current resources of `types` whose canonical `url` is `url`, each with its
    /// `version` and when it was last updated: what [`canonical::latest`] chooses among.
    fn canonical_candidates(&self, url: &str, types: &[String]) -> Result<Vec<Candidate>, StoreError> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(CANONICAL_CANDIDATES).map_err(db)?;
        for t in types {
            // A type never indexed under `url` holds no resource with one.
            let Some(url_pid) = self.find_pid(t, "url")? else { continue };
            let version_pid = self.search_pid(t, "version")?;
            let rows = stmt
                .query_map(rusqlite::params![url_pid, url, version_pid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(db)?;
            for row in rows {
                out.push(row.map_err(db)?);
            }
        }
        Ok(out)
    }

    /// `_revinclude`: the current versions that refer to `ty/id` through the include's
    /// parameter (every reference parameter of the source type for `*`; of every type when the
    /// source type is `*` too), by local reference, and for a canonical resource by canonical
    /// reference when it is one of the include's canonical `targets`: `url|version` naming its
    /// version, or `url` alone when it is the latest.
    fn referring(&self, ty: &str, id: &str, include: &Include, targets: &[String]) -> Result<Vec<i64>, StoreError> {
        if include.target_type.as_deref().is_some_and(|t| t != ty) {
            return Ok(Vec::new());
        }
        let (sql, args) = self.referring_sql(ty, id, include)?;
        let mut found = self.seqs(&sql, args)?;
        if !targets.iter().any(|t| t == ty) {
            return Ok(found);
        }
        let mut stmt = self.conn.prepare_cached(CANONICAL_IDENTITY).map_err(db)?;
        let (url_pid, version_pid) = (self.search_pid(ty, "url")?, self.search_pid(ty, "version")?);
        let identities = stmt
            .query_map(rusqlite::params![ty, id, url_pid, version_pid], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        for (seq, url, version) in identities {
            let is_latest = canonical::latest(&self.canonical_candidates(&url, &[ty.to_string()])?) == Some(seq);
            let (sql, args) = self.canonical_sources_sql(include, &url)?;
            let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)))
                .map_err(db)?;
            for row in rows {
                let (source, named) = row.map_err(db)?;
                let meant = match named {
                    Some(v) => version.as_deref() == Some(v.as_str()),
                    None => is_latest,
                };
                if meant {
                    found.push(source);
                }
            }
        }
        Ok(found)
    }

    fn referring_sql(&self, ty: &str, id: &str, include: &Include) -> Result<(String, Vec<Value>), StoreError> {
        let mut args: Vec<Value> = vec![Value::Text(ty.into()), Value::Text(id.into())];
        let pids = self.source_pids(include, &mut args)?;
        // The reference index leads with the parameter: one probe per candidate parameter.
        let sql = format!("SELECT seq FROM idx_reference WHERE target_type = ?1 AND target_id = ?2 AND pid IN ({pids})");
        Ok((sql, args))
    }

    /// The versions that hold a canonical reference to `url` (any version) in the include's
    /// source parameters, each with the version it names.
    fn canonical_sources_sql(&self, include: &Include, url: &str) -> Result<(String, Vec<Value>), StoreError> {
        let mut args: Vec<Value> = vec![Value::Text(url.into())];
        let pids = self.source_pids(include, &mut args)?;
        Ok((format!("SELECT seq, version FROM idx_reference WHERE url = ?1 AND pid IN ({pids})"), args))
    }

    /// The ids of the parameters a reverse include reads, as SQL (arguments appended).
    fn source_pids(&self, include: &Include, args: &mut Vec<Value>) -> Result<String, StoreError> {
        Ok(match (&include.param, include.source_type.as_str()) {
            (Some(p), source) => {
                args.push(Value::Integer(self.search_pid(source, p)?));
                format!("?{}", args.len())
            }
            (None, "*") => "SELECT pid FROM search_params".to_string(),
            (None, source) => {
                args.push(Value::Text(source.into()));
                format!("SELECT pid FROM search_params WHERE type = ?{}", args.len())
            }
        })
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
        let resolve = |t: &str, code: &str| tx.search_pids(t, code);
        let Sql { text, args } = Builder::new(Dialect::Sqlite, &resolve).page(request)?;
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {text}")).map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values(&args)), |r| r.get::<_, String>(3))
            .map_err(db)?;
        Ok((text, rows.collect::<Result<Vec<_>, _>>().map_err(db)?))
    }

    /// Every statement an include runs for one resource (`from`), each with SQLite's plan, for
    /// the same index-use test; canonical lookups are explained with a sample url.
    pub fn explain_included(
        &self,
        from: (&str, &str),
        include: &Include,
        reverse: bool,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        const URL: &str = "http://example.org/fhir/Questionnaire/explain";
        let conn = self.writer.lock().map_err(super::poisoned)?;
        let tx = SqliteTx::new(&conn, &self.params);
        let (ty, id) = from;
        let target = canonical::include_targets(include).into_iter().next().unwrap_or_else(|| ty.to_string());
        let (url_pid, version_pid) = (tx.search_pid(&target, "url")?, tx.search_pid(&target, "version")?);
        let mut statements = vec![
            (load_sql(), vec![Value::Integer(1)]),
            (CANONICAL_CANDIDATES.to_string(), vec![Value::Integer(url_pid), Value::Text(URL.into()), Value::Integer(version_pid)]),
        ];
        if reverse {
            statements.push(tx.referring_sql(ty, id, include)?);
            let identity = vec![Value::Text(ty.into()), Value::Text(id.into()), Value::Integer(url_pid), Value::Integer(version_pid)];
            statements.push((CANONICAL_IDENTITY.to_string(), identity));
            statements.push(tx.canonical_sources_sql(include, URL)?);
        } else {
            statements.push(tx.referred_sql(ty, id, include)?);
            statements.push(tx.canonical_references_sql(ty, id, include)?);
        }
        let mut out = Vec::new();
        for (sql, args) in statements {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).map_err(db)?;
            let plan = stmt
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            out.push((sql, plan));
        }
        Ok(out)
    }
}
