//! The one search query builder: a resolved `salus_search::Query` becomes SQL text and its
//! arguments. Index rows name their version by `seq` and their parameter by an integer id
//! (`pid`, resolved by the backend while building). The most selective condition compiles to a
//! set of versions (`SELECT seq FROM ...`, served by the index that leads with `(pid, value)`)
//! placed in `r.seq IN (...)`; the others probe each candidate by its primary key
//! `(seq, pid)`. Chains, `_has` and compartments nest the same sets. Dialects differ only in
//! placeholders today (`?N` for SQLite, `$N` for PostgreSQL).

use crate::StoreError;
use crate::search_types::{SearchPosition, SearchRequest, SortValue};
use salus_search::ParamType;
use salus_search::query::*;
use salus_search::text::{fold, prefix_upper_bound};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    #[allow(dead_code)] // the PostgreSQL backend will use it
    Postgres,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i64),
    Real(f64),
    Text(String),
}

pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

/// Finds a search parameter's id from its resource type and code; an id no row carries when
/// the parameter was never indexed.
/// The ids of a parameter's rows: one, or a union parameter's parts (see `salus_search::unions`).
pub type ResolvePid<'a> = &'a dyn Fn(&str, &str) -> Result<Vec<i64>, StoreError>;

pub struct Builder<'a> {
    dialect: Dialect,
    args: Vec<Arg>,
    resolve: ResolvePid<'a>,
    /// The first resolution error: building goes on, the result is this error.
    error: Option<StoreError>,
}

const LIVE: &str = "current = 1 AND deleted = 0";
const TEXT_LOW: &str = "''";
const INT_LOW: i64 = i64::MIN;
const REAL_LOW: &str = "-1e308";

impl<'a> Builder<'a> {
    pub fn new(dialect: Dialect, resolve: ResolvePid<'a>) -> Self {
        Builder { dialect, args: Vec::new(), resolve, error: None }
    }

    /// The placeholders of the ids of parameter `code` of type `t`, for `pid IN (...)`.
    fn pid(&mut self, t: &str, code: &str) -> String {
        let pids = match (self.resolve)(t, code) {
            Ok(pids) => pids,
            Err(e) => {
                self.error.get_or_insert(e);
                vec![-1]
            }
        };
        pids.into_iter().map(|pid| self.int(pid)).collect::<Vec<_>>().join(", ")
    }

    /// Makes SQLite read an index table by its primary key `(seq, pid, n)` (the name SQLite
    /// gives the primary key of a `WITHOUT ROWID` table).
    fn primary_key_hint(&self, table: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(" INDEXED BY sqlite_autoindex_{table}_1"),
            Dialect::Postgres => String::new(),
        }
    }

    fn finish(self, text: String) -> Result<Sql, StoreError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(Sql { text, args: self.args }),
        }
    }

    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.args.len()),
            Dialect::Postgres => format!("${}", self.args.len()),
        }
    }

    fn text(&mut self, s: &str) -> String {
        self.arg(Arg::Text(s.to_string()))
    }

    fn int(&mut self, i: i64) -> String {
        self.arg(Arg::Int(i))
    }

    fn real(&mut self, f: f64) -> String {
        self.arg(Arg::Real(f))
    }

    /// A page of hits: the positions (seq, type, id, sort keys `k0...`) of the matching rows of
    /// every searched type, in sort order, after the position, at most `limit`. The caller
    /// reads the versions by seq.
    pub fn page(mut self, request: &SearchRequest) -> Result<Sql, StoreError> {
        let q = &request.query;
        // Without sort keys the order is (type, id): a page after a position starts each type's
        // range at the position (an index seek), instead of walking it from its first row.
        let after_id = request.after.as_ref().filter(|_| q.sort.is_empty());
        let union = self.union(q, true, after_id);
        let keys: Vec<String> = (0..q.sort.len()).map(|i| format!("k{i}")).collect();
        let mut order: Vec<String> =
            q.sort.iter().zip(&keys).map(|(s, k)| format!("{k}{}", if s.descending { " DESC" } else { "" })).collect();
        order.push("type".into());
        order.push("id".into());
        let filter = match &request.after {
            Some(after) => format!(" WHERE {}", self.after(q, after)),
            None => String::new(),
        };
        let limit = self.int(i64::try_from(request.limit).unwrap_or(i64::MAX));
        let text = format!("SELECT * FROM ({union}) AS m{filter} ORDER BY {} LIMIT {limit}", order.join(", "));
        self.finish(text)
    }

    pub fn count(mut self, q: &Query) -> Result<Sql, StoreError> {
        let union = self.union(q, false, None);
        self.finish(format!("SELECT count(*) FROM ({union}) AS m"))
    }

    /// One SELECT per searched type, joined by UNION ALL. A type that a condition cannot
    /// apply to matches nothing and is left out. With `after` (an unsorted page's position),
    /// types before it are left out and its own type starts after its id.
    fn union(&mut self, q: &Query, with_keys: bool, after: Option<&SearchPosition>) -> String {
        let mut selects = Vec::new();
        for t in &q.types {
            if after.is_some_and(|a| t.as_str() < a.resource_type.as_str()) {
                continue;
            }
            let mut sets = Vec::new();
            let mut applies = true;
            for c in &q.conditions {
                match c.for_type(t) {
                    Some(Condition::Nothing) | None => applies = false,
                    Some(cond) => sets.push(cond),
                }
            }
            if !applies {
                continue;
            }
            // The most selective condition drives (its set is built once and each version looked
            // up by its seq); the others are probed per candidate by the (seq, pid) primary key,
            // so a broad condition (`code=` over every patient) is never materialised. A set
            // holds only current, live versions of type `t`: testing the type on the row too
            // would let SQLite walk the type's whole range instead of looking the set up.
            let mut clauses = Vec::new();
            if sets.is_empty() {
                let ty = self.text(t);
                clauses = vec![format!("r.type = {ty}"), "r.current = 1".into(), "r.deleted = 0".into()];
            }
            sets.sort_by_key(|c| drive_rank(c));
            for (i, cond) in sets.into_iter().enumerate() {
                match (i, self.probe(t, cond)) {
                    (1.., Some(probe)) => clauses.push(probe),
                    _ => {
                        let set = self.set(t, cond);
                        clauses.push(format!("r.seq IN ({set})"));
                    }
                }
            }
            if let Some(a) = after.filter(|a| a.resource_type == *t) {
                let id = self.text(&a.id);
                clauses.push(format!("r.id > {id}"));
            }
            let keys = if with_keys {
                q.sort.iter().enumerate().map(|(i, s)| format!(", {} AS k{i}", self.sort_key(t, s))).collect::<String>()
            } else {
                String::new()
            };
            let cols = if with_keys { "r.seq, r.type, r.id" } else { "r.id" };
            selects.push(format!("SELECT {cols}{keys} FROM resources r WHERE {}", clauses.join(" AND ")));
        }
        if selects.is_empty() {
            let keys: String = (0..q.sort.len()).map(|i| format!(", NULL AS k{i}")).collect();
            let cols = if with_keys { "NULL AS seq, NULL AS type, NULL AS id" } else { "NULL AS id" };
            return format!("SELECT {cols}{keys} FROM resources WHERE 0");
        }
        selects.join(" UNION ALL ")
    }

    fn sort_key(&mut self, t: &str, s: &SortKey) -> String {
        let agg = if s.descending { "max" } else { "min" };
        match &s.by {
            SortBy::Id => "r.id".into(),
            SortBy::LastUpdated => "r.last_updated".into(),
            SortBy::Param { table, param } => {
                let (tbl, col, low) = match table {
                    ParamType::String => ("idx_string", "norm", TEXT_LOW.to_string()),
                    ParamType::Token => ("idx_token", "code", TEXT_LOW.to_string()),
                    ParamType::Date => ("idx_date", if s.descending { "high" } else { "low" }, INT_LOW.to_string()),
                    ParamType::Number => ("idx_number", "value", REAL_LOW.to_string()),
                    ParamType::Quantity => ("idx_quantity", "value", REAL_LOW.to_string()),
                    ParamType::Reference => ("idx_reference", "coalesce(target_type || '/' || target_id, url)", TEXT_LOW.to_string()),
                    _ => ("idx_uri", "value", TEXT_LOW.to_string()),
                };
                let p = self.pid(t, param);
                // Without statistics SQLite answers min/max from the value index, walking every
                // row of the parameter; the version's own rows are one range of the primary key.
                let hint = self.primary_key_hint(tbl);
                format!("coalesce((SELECT {agg}({col}) FROM {tbl} x{hint} WHERE x.seq = r.seq AND x.pid IN ({p})), {low})")
            }
        }
    }

    /// Rows strictly after `after` in the sort order (keys, then type, then id).
    fn after(&mut self, q: &Query, after: &SearchPosition) -> String {
        let mut cols: Vec<(String, bool)> =
            q.sort.iter().enumerate().map(|(i, s)| (format!("k{i}"), s.descending)).collect();
        cols.push(("type".into(), false));
        cols.push(("id".into(), false));
        let mut values: Vec<Arg> = after
            .keys
            .iter()
            .map(|k| match k {
                SortValue::Int(i) => Arg::Int(*i),
                SortValue::Real(f) => Arg::Real(*f),
                SortValue::Text(s) => Arg::Text(s.clone()),
            })
            .collect();
        values.resize(q.sort.len(), Arg::Text(String::new()));
        values.push(Arg::Text(after.resource_type.clone()));
        values.push(Arg::Text(after.id.clone()));
        let mut ors = Vec::new();
        for i in 0..cols.len() {
            let mut ands = Vec::new();
            for j in 0..i {
                let v = self.arg(values[j].clone());
                ands.push(format!("{} = {v}", cols[j].0));
            }
            let v = self.arg(values[i].clone());
            ands.push(format!("{} {} {v}", cols[i].0, if cols[i].1 { "<" } else { ">" }));
            ors.push(format!("({})", ands.join(" AND ")));
        }
        format!("({})", ors.join(" OR "))
    }

    /// `c` as a test of the candidate row `r`, for conditions that index rows answer directly;
    /// `None` for the others (they stay id sets).
    fn probe(&mut self, t: &str, c: &Condition) -> Option<String> {
        let rows = |b: &mut Self, table: ParamType, param: &str| {
            let p = b.pid(t, param);
            let tbl = table_name(table);
            // The candidate's own rows: one range of the primary key. Left to itself SQLite may
            // pick the value index (`pid, code, ...`) and walk every row with that code for each
            // candidate (seen on a chain at 1M resources: 17 s instead of milliseconds).
            let hint = b.primary_key_hint(tbl);
            format!("SELECT 1 FROM {tbl} x{hint} WHERE x.seq = r.seq AND x.pid IN ({p})")
        };
        Some(match c {
            Condition::Match { table, param, any_of } => {
                let rows = rows(self, *table, param);
                let preds: Vec<String> = any_of.iter().map(|pr| self.predicate(*table, pr)).collect();
                let preds = if preds.is_empty() { "0".to_string() } else { preds.join(" OR ") };
                format!("EXISTS ({rows} AND ({preds}))")
            }
            Condition::Missing { table, param, missing } => {
                let rows = rows(self, *table, param);
                if *missing { format!("NOT EXISTS ({rows})") } else { format!("EXISTS ({rows})") }
            }
            Condition::Not(inner) => match inner.as_ref() {
                Condition::Match { .. } => format!("NOT {}", self.probe(t, inner)?),
                _ => return None,
            },
            Condition::Ids(ids) => {
                let list: Vec<String> = ids.iter().map(|i| self.text(i)).collect();
                format!("r.id IN ({})", if list.is_empty() { "NULL".to_string() } else { list.join(", ") })
            }
            Condition::LastUpdated(preds) => {
                let preds: Vec<String> = preds.iter().map(|d| self.date(d, "r.last_updated", "r.last_updated")).collect();
                format!("({})", preds.join(" OR "))
            }
            _ => return None,
        })
    }

    /// The versions (`seq`) of current resources of type `t` that satisfy `c`. Index rows
    /// exist only for current, live versions, so a set read from them needs no further check.
    fn set(&mut self, t: &str, c: &Condition) -> String {
        match c {
            Condition::Match { table, param, any_of } => {
                let p = self.pid(t, param);
                let preds: Vec<String> = any_of.iter().map(|pr| self.predicate(*table, pr)).collect();
                let preds = if preds.is_empty() { "0".to_string() } else { preds.join(" OR ") };
                format!("SELECT seq FROM {} WHERE pid IN ({p}) AND ({preds})", table_name(*table))
            }
            Condition::Missing { table, param, missing } => {
                let p = self.pid(t, param);
                let rows = format!("SELECT seq FROM {} WHERE pid IN ({p})", table_name(*table));
                if *missing {
                    let ty = self.text(t);
                    format!("SELECT seq FROM resources WHERE type = {ty} AND {LIVE} AND seq NOT IN ({rows})")
                } else {
                    rows
                }
            }
            Condition::Not(inner) => {
                let ty = self.text(t);
                let inner = self.set(t, inner);
                format!("SELECT seq FROM resources WHERE type = {ty} AND {LIVE} AND seq NOT IN ({inner})")
            }
            Condition::Ids(ids) => {
                let ty = self.text(t);
                let list: Vec<String> = ids.iter().map(|i| self.text(i)).collect();
                let list = if list.is_empty() { "NULL".to_string() } else { list.join(", ") };
                format!("SELECT seq FROM resources WHERE type = {ty} AND {LIVE} AND id IN ({list})")
            }
            Condition::LastUpdated(preds) => {
                let ty = self.text(t);
                let preds: Vec<String> = preds.iter().map(|d| self.date(d, "last_updated", "last_updated")).collect();
                format!("SELECT seq FROM resources WHERE type = {ty} AND {LIVE} AND ({})", preds.join(" OR "))
            }
            Condition::Chain { param, targets } => {
                let p = self.pid(t, param);
                let mut ors = Vec::new();
                for (target, inner) in targets {
                    let tt = self.text(target);
                    let set = self.set(target, inner);
                    ors.push(format!("(target_type = {tt} AND target_id IN (SELECT id FROM resources WHERE seq IN ({set})))"));
                }
                format!("SELECT seq FROM idx_reference WHERE pid IN ({p}) AND ({})", ors.join(" OR "))
            }
            Condition::Has { source_type, param, inner } => {
                let p = self.pid(source_type, param);
                let tt = self.text(t);
                let set = self.set(source_type, inner);
                format!(
                    "SELECT seq FROM resources WHERE type = {tt} AND {LIVE} AND id IN \
                     (SELECT target_id FROM idx_reference WHERE pid IN ({p}) AND target_type = {tt} AND seq IN ({set}))"
                )
            }
            Condition::FullText { narrative, expression } => {
                let ty = self.text(t);
                let e = self.text(expression);
                let column = if *narrative { "narrative" } else { "content" };
                // The full-text row is keyed by the current version's seq.
                format!(
                    "SELECT seq FROM resources WHERE seq IN (SELECT rowid FROM idx_text WHERE {column} MATCH {e}) \
                     AND type = {ty} AND {LIVE}"
                )
            }
            Condition::AnyOf(cs) => {
                let sets: Vec<String> = cs.iter().map(|c| self.set(t, c)).collect();
                if sets.is_empty() { "SELECT NULL WHERE 0".into() } else { sets.join(" UNION ") }
            }
            Condition::Nothing => "SELECT NULL WHERE 0".into(),
        }
    }

    fn predicate(&mut self, table: ParamType, p: &Predicate) -> String {
        match (table, p) {
            (_, Predicate::String { mode, value }) => self.string(mode, value, "norm", "exact"),
            (ParamType::Token, Predicate::Token { system, code }) => self.token(system, code.as_deref(), "system", "code"),
            (_, Predicate::TokenText(v)) => {
                let (lo, hi) = (self.text(v), self.text(&prefix_upper_bound(v)));
                format!("(text >= {lo} AND text < {hi})")
            }
            (_, Predicate::TokenIn(pairs)) => {
                let mut by_system: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
                for (s, c) in pairs {
                    by_system.entry(s).or_default().push(c);
                }
                let ors: Vec<String> = by_system
                    .into_iter()
                    .map(|(s, codes)| {
                        let codes: Vec<String> = codes.into_iter().map(|c| self.text(c)).collect();
                        let s = self.text(s);
                        format!("(system = {s} AND code IN ({}))", codes.join(", "))
                    })
                    .collect();
                if ors.is_empty() { "0".into() } else { format!("({})", ors.join(" OR ")) }
            }
            (_, Predicate::Date(d)) => self.date(d, "low", "high"),
            (ParamType::Number, Predicate::Number(n)) => self.number(n, "value"),
            (ParamType::Quantity, Predicate::Quantity(q)) => self.quantity(q, "value", "system", "code", "canon_value", "canon_code"),
            (_, Predicate::Reference { types, id }) => {
                let id = self.text(id);
                if types.is_empty() {
                    format!("(target_id = {id} AND target_type IS NOT NULL)")
                } else {
                    let ts: Vec<String> = types.iter().map(|t| self.text(t)).collect();
                    format!("(target_id = {id} AND target_type IN ({}))", ts.join(", "))
                }
            }
            (_, Predicate::ReferenceUrl { url, version }) => {
                let u = self.text(url);
                match version {
                    Some(v) => {
                        let v = self.text(v);
                        format!("(url = {u} AND version = {v})")
                    }
                    None => format!("url = {u}"),
                }
            }
            (_, Predicate::Uri { mode, value }) => match mode {
                UriMode::Exact => format!("value = {}", self.text(value)),
                UriMode::Below => {
                    let (lo, hi) = (self.text(value), self.text(&prefix_upper_bound(value)));
                    format!("(value >= {lo} AND value < {hi})")
                }
                UriMode::Above(parents) => {
                    let list: Vec<String> = parents.iter().map(|p| self.text(p)).collect();
                    format!("value IN ({})", list.join(", "))
                }
            },
            (ParamType::Composite, Predicate::Composite { first, second, third }) => {
                let a = match first.as_ref() {
                    Predicate::Token { system, code } => self.token(system, code.as_deref(), "system1", "code1"),
                    _ => "0".into(),
                };
                let b = match second.as_ref() {
                    Predicate::Token { system, code } => self.token(system, code.as_deref(), "system2", "code2"),
                    Predicate::String { mode, value } => self.string(mode, value, "text2", "text2"),
                    Predicate::Date(d) => self.date(d, "low2", "high2"),
                    Predicate::Number(n) => self.number(n, "num2"),
                    Predicate::Quantity(q) => self.quantity(q, "num2", "system2", "code2", "canon2", "canon_code2"),
                    _ => "0".into(),
                };
                // The only third components are numbers (the MolecularSequence coordinates).
                match third.as_deref() {
                    None => format!("({a} AND {b})"),
                    Some(Predicate::Number(n)) => {
                        let c = self.number(n, "num3");
                        format!("({a} AND {b} AND {c})")
                    }
                    Some(_) => "0".into(),
                }
            }
            _ => "0".into(),
        }
    }

    fn string(&mut self, mode: &StringMode, value: &str, norm: &str, exact: &str) -> String {
        match mode {
            StringMode::Prefix => {
                let (lo, hi) = (self.text(value), self.text(&prefix_upper_bound(value)));
                format!("({norm} >= {lo} AND {norm} < {hi})")
            }
            StringMode::Exact if norm == exact => format!("{exact} = {}", self.text(&fold(value))),
            StringMode::Exact => {
                let n = self.text(&fold(value));
                let e = self.text(value);
                format!("({norm} = {n} AND {exact} = {e})")
            }
            StringMode::Contains => format!("instr({norm}, {}) > 0", self.text(value)),
        }
    }

    fn token(&mut self, system: &SystemMatch, code: Option<&str>, sys_col: &str, code_col: &str) -> String {
        let mut parts = Vec::new();
        if let Some(c) = code {
            parts.push(format!("{code_col} = {}", self.text(c)));
        }
        match system {
            SystemMatch::Any => {}
            SystemMatch::Absent => parts.push(format!("{sys_col} IS NULL")),
            SystemMatch::Is(s) => parts.push(format!("{sys_col} = {}", self.text(s))),
        }
        if code.is_none() {
            parts.push(format!("{code_col} IS NOT NULL"));
        }
        format!("({})", parts.join(" AND "))
    }

    fn date(&mut self, d: &DatePredicate, lo: &str, hi: &str) -> String {
        let (qlo, qhi) = (d.range.low, d.range.high);
        let eq = |b: &mut Self| {
            let (a, z) = (b.int(qlo), b.int(qhi));
            format!("({lo} >= {a} AND {hi} <= {z})")
        };
        match d.prefix {
            Prefix::Eq => eq(self),
            Prefix::Ne => format!("NOT {}", eq(self)),
            Prefix::Gt => format!("{hi} > {}", self.int(qhi)),
            Prefix::Lt => format!("{lo} < {}", self.int(qlo)),
            Prefix::Ge => {
                let z = self.int(qhi);
                format!("({hi} > {z} OR {})", eq(self))
            }
            Prefix::Le => {
                let a = self.int(qlo);
                format!("({lo} < {a} OR {})", eq(self))
            }
            Prefix::Sa => format!("{lo} > {}", self.int(qhi)),
            Prefix::Eb => format!("{hi} < {}", self.int(qlo)),
            Prefix::Ap => {
                let (a, z) = (self.int(d.approx.low), self.int(d.approx.high));
                format!("({lo} <= {z} AND {hi} >= {a})")
            }
        }
    }

    fn number(&mut self, n: &NumberPredicate, col: &str) -> String {
        match n.prefix {
            Prefix::Eq => {
                let (a, z) = (self.real(n.low), self.real(n.high));
                format!("({col} >= {a} AND {col} < {z})")
            }
            Prefix::Ne => {
                let (a, z) = (self.real(n.low), self.real(n.high));
                format!("({col} < {a} OR {col} >= {z})")
            }
            Prefix::Gt | Prefix::Sa => format!("{col} > {}", self.real(n.value)),
            Prefix::Lt | Prefix::Eb => format!("{col} < {}", self.real(n.value)),
            Prefix::Ge => format!("{col} >= {}", self.real(n.value)),
            Prefix::Le => format!("{col} <= {}", self.real(n.value)),
            Prefix::Ap => {
                let w = n.value.abs() * 0.1;
                let (a, z) = (self.real(n.value - w), self.real(n.value + w));
                format!("({col} >= {a} AND {col} <= {z})")
            }
        }
    }

    fn quantity(&mut self, q: &QuantityPredicate, value: &str, system: &str, code: &str, canon: &str, canon_code: &str) -> String {
        let mut plain = vec![self.number(&q.number, value)];
        if let Some(s) = &q.system {
            plain.push(format!("{system} = {}", self.text(s)));
        }
        if let Some(c) = &q.code {
            plain.push(format!("{code} = {}", self.text(c)));
        }
        let plain = format!("({})", plain.join(" AND "));
        match &q.canonical {
            Some((n, unit)) => {
                let u = self.text(unit);
                let cmp = self.number(n, canon);
                format!("(({canon_code} = {u} AND {cmp}) OR ({canon_code} IS NULL AND {plain}))")
            }
            None => plain,
        }
    }
}

/// Which condition should drive a search (lower first): the likely most selective, from what
/// the condition is, since no statistics are kept. Complements (`:not`, `:missing=true`) come
/// last: as a driver they would enumerate every resource of the type.
fn drive_rank(c: &Condition) -> u8 {
    match c {
        Condition::Ids(_) => 0,
        // A chain or `_has` is a reference narrowed further: at least as selective.
        Condition::Match { table: ParamType::Reference, .. }
        | Condition::AnyOf(_)
        | Condition::Chain { .. }
        | Condition::Has { .. } => 1,
        Condition::Match { table: ParamType::Token | ParamType::Uri, any_of, .. }
            if !any_of.iter().any(|p| matches!(p, Predicate::TokenText(_))) =>
        {
            2
        }
        Condition::FullText { .. } => 2,
        Condition::Match { table: ParamType::String, any_of, .. }
            if !any_of.iter().any(|p| matches!(p, Predicate::String { mode: StringMode::Contains, .. })) =>
        {
            4
        }
        Condition::Match { .. } => 5,
        Condition::LastUpdated(_) => 6,
        Condition::Missing { missing: false, .. } => 7,
        Condition::Missing { .. } | Condition::Not(_) | Condition::Nothing => 9,
    }
}

pub fn table_name(t: ParamType) -> &'static str {
    match t {
        ParamType::String => "idx_string",
        ParamType::Token => "idx_token",
        ParamType::Date => "idx_date",
        ParamType::Number => "idx_number",
        ParamType::Quantity => "idx_quantity",
        ParamType::Reference => "idx_reference",
        ParamType::Uri => "idx_uri",
        ParamType::Composite => "idx_composite",
        ParamType::Special => "idx_uri",
    }
}
