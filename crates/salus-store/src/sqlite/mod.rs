//! The embedded backend: one SQLite database file in the data directory, in WAL mode.
//!
//! SQLite allows one writer at a time, so writes share one connection behind a mutex and run
//! inside `BEGIN IMMEDIATE` transactions: a precondition checked inside a write transaction
//! (If-Match, If-None-Exist) cannot be invalidated before the commit, which is what makes
//! concurrent updates unable to lose a write.
//!
//! Group commit: with `synchronous = FULL` every COMMIT costs an fsync, so concurrent writers
//! share one. Each writer that joins an open transaction works in its own SAVEPOINT (a failure
//! rolls back that writer's work only; the writer that began the transaction rolls it back
//! whole, being alone in it); a writer that finishes while others wait for the connection hands the open
//! transaction on and waits for its COMMIT; the last one commits for all. Nobody is answered
//! before the COMMIT that makes their write durable, and a writer alone commits at once. Readers use their own connections and see a consistent
//! snapshot while writers proceed. `synchronous = FULL`: an acknowledged write survives a power
//! cut, which the patient-data rule demands over the small speed gain of `NORMAL`.

mod held;
mod index;
mod jobs;
mod migrations;
mod param_ids;
mod pending;
mod scan;
mod search;

use crate::{
    Backend, HistoryQuery, HistoryScope, Include, JobRecord, NewVersion, Query, ReadTx, SearchHit, SearchRequest, StoreError,
    StoredVersion, WriteTx,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use param_ids::ParamIds;

/// WAL bytes after which a COMMIT checkpoints.
const WAL_CHECKPOINT_BYTES: i64 = 64 << 20;

/// The page size of a new database. SQLite's default of 4 KB made the index b-trees a level
/// deeper and split pages four times as often: most of a write is b-tree descents and
/// splits (see docs/PERFORMANCE.md). A database keeps the size it was created with.
const PAGE_SIZE: i64 = 16 << 10;

/// Readers kept open for reuse; more are opened on demand under load and closed afterwards.
const IDLE_READERS: usize = 8;

/// Prepared statements kept per connection: 8 index tables times 16 row counts, the resource
/// statements, and the searches a reader repeats.
const STATEMENT_CACHE: usize = 256;

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Writers blocked on the writer connection: a finished writer hands the open transaction on
    /// when this is above zero.
    waiting_writers: AtomicUsize,
    /// Signalled after each COMMIT, for writers that handed their transaction on.
    committed: Condvar,
    /// Which transaction is open and how the ones with waiting writers ended. Locked only while
    /// holding `writer`.
    group: Mutex<GroupLog>,
    /// Search parameter ids (committed ones).
    params: ParamIds,
}

#[derive(Default)]
struct GroupLog {
    /// Number of the transaction most recently begun.
    current: u64,
    /// Outcomes of committed transactions that writers still wait to read, with their count.
    outcomes: HashMap<u64, (Option<Result<(), String>>, usize)>,
}

impl SqliteStore {
    /// Opens (creating if needed) `salus.db` in `dir` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let open_error = |reason: String| StoreError::Open { path: dir.display().to_string(), reason };
        std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
        let path = dir.join("salus.db");
        let mut writer = Connection::open(&path).map_err(|e| open_error(e.to_string()))?;
        // Only before the first table is created (then in WAL mode, never again).
        writer.pragma_update(None, "page_size", PAGE_SIZE).map_err(|e| open_error(e.to_string()))?;
        configure(&writer, false).map_err(|e| open_error(e.to_string()))?;
        migrations::apply(&mut writer).map_err(|e| open_error(e.to_string()))?;
        let params = ParamIds::load(&writer).map_err(|e| open_error(e.to_string()))?;
        // SQLite checkpoints inside the COMMIT that takes the WAL past a number of pages, holding
        // the write lock. At the default 1,000 (4 MB of 4 KB pages) the index pages a bulk load
        // touches again and again were copied to the database file again and again; at 64 MB a
        // Synthea load checkpoints a few times. Readers and crash recovery read a longer WAL,
        // still small.
        let page_size: i64 =
            writer.pragma_query_value(None, "page_size", |r| r.get(0)).map_err(|e| open_error(e.to_string()))?;
        let checkpoint_pages = WAL_CHECKPOINT_BYTES / page_size.max(512);
        writer.pragma_update(None, "wal_autocheckpoint", checkpoint_pages).map_err(|e| open_error(e.to_string()))?;
        Ok(SqliteStore {
            params,
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            waiting_writers: AtomicUsize::new(0),
            committed: Condvar::new(),
            group: Mutex::new(GroupLog::default()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn take_reader(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.readers.lock().map_err(poisoned)?.pop() {
            return Ok(conn);
        }
        let conn = Connection::open(&self.path).map_err(db)?;
        configure(&conn, true).map_err(db)?;
        Ok(conn)
    }

    /// Records how transaction `number` ended for the writers waiting on it, and wakes them.
    fn finish_group(&self, number: u64, outcome: Result<(), String>) -> Result<(), StoreError> {
        if let Some(entry) = self.group.lock().map_err(poisoned)?.outcomes.get_mut(&number) {
            entry.0 = Some(outcome);
        }
        self.committed.notify_all();
        Ok(())
    }

    fn return_reader(&self, conn: Connection) {
        if let Ok(mut readers) = self.readers.lock()
            && readers.len() < IDLE_READERS {
                readers.push(conn);
            }
    }
}

fn configure(conn: &Connection, read_only: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Each writer of a group commit works in a SAVEPOINT, whose undo copies of the pages it
    // touches go to a temporary file by default: half of all bytes an import wrote (469 of 938
    // MB for the Synthea load). They are never needed after the transaction: keep them in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -64_000)?; // 64 MB of page cache per connection
    // The writer uses one INSERT per index table and row count (see `index.rs`), besides the
    // resource and search statements: rusqlite's default of 16 would re-prepare them in turn.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if read_only {
        conn.pragma_update(None, "query_only", "ON")?;
    }
    Ok(())
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> StoreError {
    StoreError::Database("a database connection lock was poisoned by a panic".into())
}

impl Backend for SqliteStore {
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.waiting_writers.fetch_add(1, Ordering::SeqCst);
        let locked = self.writer.lock();
        self.waiting_writers.fetch_sub(1, Ordering::SeqCst);
        let mut conn = locked.map_err(poisoned)?;
        // The writer that begins a transaction is alone in it: if its work fails, rolling back
        // the whole transaction undoes nothing of anyone else's, so it needs no SAVEPOINT. A
        // savepoint copies each page it touches the first time (its undo journal): a quarter of
        // the writer's CPU in an import measured with one per writer.
        let began = conn.is_autocommit();
        if began {
            conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
            self.group.lock().map_err(poisoned)?.current += 1;
        } else {
            conn.execute_batch("SAVEPOINT salus_write").map_err(db)?;
        }
        let number = self.group.lock().map_err(poisoned)?.current;

        // A panic in `work` must not leave the shared transaction to others half-done.
        let mut tx = SqliteTx::new(&conn, &self.params);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            work(&mut tx)?;
            tx.flush_index_rows()?;
            tx.remove_stale_text()
        }))
            .unwrap_or_else(|_| Err(StoreError::Database("a write failed unexpectedly and was rolled back".into())));
        // Parameter ids this writer assigned: published once its work is committed.
        let assigned = tx.assigned.take();
        // Its held statements go back to the connection's cache.
        drop(tx);
        let closed = match (&result, began) {
            (Ok(()), true) => Ok(()),
            (Ok(()), false) => conn.execute_batch("RELEASE salus_write"),
            (Err(_), true) => conn.execute_batch("ROLLBACK"),
            (Err(_), false) => conn.execute_batch("ROLLBACK TO salus_write; RELEASE salus_write"),
        };
        if let Err(e) = closed {
            // The transaction is unusable: end it for everyone in it.
            let _ = conn.execute_batch("ROLLBACK");
            self.finish_group(number, Err(e.to_string()))?;
            return Err(db(e));
        }
        if began && result.is_err() {
            // Rolled back above; nobody else's work was in the transaction.
            return result;
        }

        if self.waiting_writers.load(Ordering::SeqCst) > 0 {
            // If our work failed, nothing of it stays: return now, the next writer carries on.
            result?;
            // Hand the transaction on and wait for the COMMIT that makes our write durable.
            self.group.lock().map_err(poisoned)?.outcomes.entry(number).or_insert((None, 0)).1 += 1;
            loop {
                conn = self.committed.wait(conn).map_err(poisoned)?;
                let mut group = self.group.lock().map_err(poisoned)?;
                let Some((Some(outcome), waiters)) = group.outcomes.get_mut(&number) else { continue };
                let outcome = outcome.clone();
                *waiters -= 1;
                if *waiters == 0 {
                    group.outcomes.remove(&number);
                }
                if outcome.is_ok() {
                    self.params.publish(assigned);
                }
                return outcome.map_err(StoreError::Database);
            }
        }
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.finish_group(number, commit.clone())?;
        if result.is_ok() && commit.is_ok() {
            self.params.publish(assigned);
        }
        result.and(commit.map_err(StoreError::Database))
    }

    fn read(
        &self,
        work: &mut dyn FnMut(&mut dyn ReadTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.take_reader()?;
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(db)?;
            work(&mut SqliteTx::new(&tx, &self.params))?;
            tx.commit().map_err(db)
        })();
        self.return_reader(conn);
        result
    }
}

struct SqliteTx<'c> {
    conn: &'c Connection,
    params: &'c ParamIds,
    /// Parameter ids assigned in this transaction, not yet committed.
    assigned: param_ids::Assigned,
    /// Parameter ids (or union) as this transaction's index writes found them.
    index_pids: param_ids::IndexPids,
    /// Full-text rows of versions this transaction replaced, removed at its end (see
    /// `clear_index`).
    stale_text: RefCell<Vec<i64>>,
    /// Open savepoints, each with the lengths `assigned` and `stale_text` had when it opened.
    savepoints: Vec<(usize, usize)>,
    /// Statements taken from the connection's cache, held until the transaction ends.
    held: held::Held<'c>,
    /// Index rows not inserted yet (see `pending.rs`).
    pending: pending::PendingRows,
}

impl<'c> SqliteTx<'c> {
    fn new(conn: &'c Connection, params: &'c ParamIds) -> Self {
        SqliteTx {
            conn,
            params,
            assigned: Default::default(),
            index_pids: Default::default(),
            stale_text: Default::default(),
            savepoints: Vec::new(),
            held: Default::default(),
            pending: Default::default(),
        }
    }
}

/// The columns [`version_from_row`] reads, in its order (a macro so that SQL text can be `concat!`ed).
macro_rules! version_columns {
    () => {
        "seq, type, id, version, last_updated, deleted, body, sha256"
    };
}
const VERSION_COLUMNS: &str = version_columns!();

fn version_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredVersion> {
    let version: i64 = row.get(3)?;
    Ok(StoredVersion {
        seq: row.get(0)?,
        resource_type: row.get(1)?,
        id: row.get(2)?,
        version: u64::try_from(version).unwrap_or_default(),
        last_updated_ms: row.get(4)?,
        deleted: row.get::<_, i64>(5)? != 0,
        body: row.get(6)?,
        sha256: row.get::<_, Option<Vec<u8>>>(7)?.and_then(|h| h.try_into().ok()),
    })
}

impl ReadTx for SqliteTx<'_> {
    fn current(&mut self, resource_type: &str, id: &str) -> Result<Option<StoredVersion>, StoreError> {
        const CURRENT: &str =
            concat!("SELECT ", version_columns!(), " FROM resources WHERE type = ?1 AND id = ?2 AND current = 1");
        let mut stmt = self.held(CURRENT)?;
        stmt.query_row(params![resource_type, id], version_from_row).optional().map_err(db)
    }

    fn version(
        &mut self,
        resource_type: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<StoredVersion>, StoreError> {
        let sql = format!("SELECT {VERSION_COLUMNS} FROM resources WHERE type = ?1 AND id = ?2 AND version = ?3");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        stmt.query_row(params![resource_type, id, version], version_from_row).optional().map_err(db)
    }

    fn history(&mut self, query: &HistoryQuery) -> Result<Vec<StoredVersion>, StoreError> {
        let (filter, args) = history_filter(query, true);
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM resources r WHERE {filter} ORDER BY seq DESC LIMIT {}",
            query.count
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), version_from_row)
            .map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }

    fn history_count(&mut self, query: &HistoryQuery) -> Result<u64, StoreError> {
        let (filter, args) = history_filter(query, false);
        let sql = format!("SELECT count(*) FROM resources r WHERE {filter}");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let n: i64 = stmt.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0)).map_err(db)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    fn search(&mut self, request: &SearchRequest) -> Result<Vec<SearchHit>, StoreError> {
        self.flush_index_rows()?;
        self.run_search(request)
    }

    fn search_count(&mut self, query: &Query) -> Result<u64, StoreError> {
        self.flush_index_rows()?;
        self.run_count(query)
    }

    fn included(
        &mut self,
        from: &[(String, String)],
        include: &Include,
        reverse: bool,
    ) -> Result<Vec<StoredVersion>, StoreError> {
        self.flush_index_rows()?;
        self.run_included(from, include, reverse)
    }

    fn job(&mut self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.get_job(id)
    }

    fn jobs(&mut self, kind: &str) -> Result<Vec<JobRecord>, StoreError> {
        self.list_jobs(kind)
    }

    fn flag(&mut self, name: &str) -> Result<bool, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT 1 FROM store_flags WHERE name = ?1").map_err(db)?;
        stmt.exists(params![name]).map_err(db)
    }

    fn scan_bodies(&mut self, scan: &crate::BodyScan<'_>, each: &mut crate::BodySink<'_>) -> Result<bool, StoreError> {
        self.flush_index_rows()?;
        self.run_scan_bodies(scan, each)
    }

    fn patient_compartment_types(&mut self, patient: &str, references: &[(String, String)]) -> Result<Vec<String>, StoreError> {
        self.flush_index_rows()?;
        self.run_patient_compartment_types(patient, references)
    }
}

/// The WHERE clause of a history query and its arguments. The cursor applies to pages only,
/// not to the total.
fn history_filter(query: &HistoryQuery, with_cursor: bool) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut clauses = vec!["1 = 1".to_string()];
    let mut args: Vec<Value> = Vec::new();
    match &query.scope {
        HistoryScope::System => {}
        HistoryScope::Type(t) => {
            args.push(Value::Text(t.clone()));
            clauses.push(format!("r.type = ?{}", args.len()));
        }
        HistoryScope::Instance { resource_type, id } => {
            args.push(Value::Text(resource_type.clone()));
            clauses.push(format!("r.type = ?{}", args.len()));
            args.push(Value::Text(id.clone()));
            clauses.push(format!("r.id = ?{}", args.len()));
        }
    }
    if let Some(since) = query.since_ms {
        args.push(Value::Integer(since));
        clauses.push(format!("r.last_updated >= ?{}", args.len()));
    }
    if let Some(at) = query.at_ms {
        // The version current at `at`: written at or before it, and not yet replaced then.
        args.push(Value::Integer(at));
        let n = args.len();
        clauses.push(format!(
            "r.last_updated <= ?{n} AND NOT EXISTS (SELECT 1 FROM resources n WHERE n.type = r.type \
             AND n.id = r.id AND n.version > r.version AND n.last_updated <= ?{n})"
        ));
    }
    if let (true, Some(before)) = (with_cursor, query.before_seq) {
        args.push(Value::Integer(before));
        clauses.push(format!("r.seq < ?{}", args.len()));
    }
    (clauses.join(" AND "), args)
}

impl WriteTx for SqliteTx<'_> {
    fn put_job(&mut self, job: &JobRecord) -> Result<(), StoreError> {
        self.upsert_job(job)
    }

    fn delete_job(&mut self, id: &str) -> Result<bool, StoreError> {
        self.remove_job(id)
    }

    fn put(&mut self, v: &NewVersion) -> Result<(), StoreError> {
        // A first version has nothing to retire (the common case of a bulk import).
        if v.version > 1
            && let Some(previous) = self.current_seq(&v.resource_type, &v.id)?
        {
            let mut retire = self.held("UPDATE resources SET current = 0 WHERE seq = ?1")?;
            retire.execute(params![previous]).map_err(db)?;
            self.clear_index(previous)?;
        }
        let mut insert = self.held(
            "INSERT INTO resources (type, id, version, patient_key, last_updated, deleted, current, sha256, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)",
        )?;
        let version = i64::try_from(v.version).map_err(|_| StoreError::Corrupt("version overflow".into()))?;
        insert
            .execute(params![
                v.resource_type,
                v.id,
                version,
                v.patient_key,
                v.last_updated_ms,
                v.deleted,
                v.sha256.as_ref().map(|h| h.as_slice()),
                v.body,
            ])
            .map_err(db)?;
        let seq = self.conn.last_insert_rowid();
        if !v.deleted {
            self.write_index(seq, &v.resource_type, &v.terms)?;
        }
        Ok(())
    }

    fn reindex(
        &mut self,
        resource_type: &str,
        id: &str,
        patient_key: Option<&str>,
        terms: &salus_search::IndexTerms,
    ) -> Result<(), StoreError> {
        let Some(seq) = self.current_seq(resource_type, id)? else { return Ok(()) };
        let mut key = self.conn.prepare_cached("UPDATE resources SET patient_key = ?2 WHERE seq = ?1").map_err(db)?;
        key.execute(params![seq, patient_key]).map_err(db)?;
        self.clear_index(seq)?;
        self.write_index(seq, resource_type, terms)?;
        Ok(())
    }

    fn savepoint(&mut self) -> Result<(), StoreError> {
        // Rows waiting now belong before the savepoint: a rollback to it must keep them.
        self.flush_index_rows()?;
        self.conn.execute_batch("SAVEPOINT salus_part").map_err(db)?;
        self.savepoints.push((self.assigned.borrow().len(), self.stale_text.borrow().len()));
        Ok(())
    }

    fn end_savepoint(&mut self, keep: bool) -> Result<(), StoreError> {
        let Some((assigned, stale_text)) = self.savepoints.pop() else {
            return Err(StoreError::Database("end_savepoint without a savepoint".into()));
        };
        if keep {
            // A row that fails fails the part it belongs to.
            self.flush_index_rows()?;
            self.conn.execute_batch("RELEASE salus_part").map_err(db)
        } else {
            self.discard_index_rows();
            // Parameter ids assigned since the savepoint are undone with it: never publish them
            // (nor use them again; the next lookup asks the database).
            self.assigned.borrow_mut().truncate(assigned);
            self.index_pids.borrow_mut().clear();
            // The versions it replaced are current again: their full-text rows stay.
            self.stale_text.borrow_mut().truncate(stale_text);
            self.conn.execute_batch("ROLLBACK TO salus_part; RELEASE salus_part").map_err(db)
        }
    }

    fn set_flag(&mut self, name: &str, on: bool) -> Result<(), StoreError> {
        let sql = if on {
            "INSERT OR IGNORE INTO store_flags (name) VALUES (?1)"
        } else {
            "DELETE FROM store_flags WHERE name = ?1"
        };
        self.conn.prepare_cached(sql).map_err(db)?.execute(params![name]).map_err(db)?;
        Ok(())
    }
}

impl SqliteTx<'_> {
    /// The `seq` of the current version of a resource (deleted or not).
    fn current_seq(&self, resource_type: &str, id: &str) -> Result<Option<i64>, StoreError> {
        let mut find = self.held("SELECT seq FROM resources WHERE type = ?1 AND id = ?2 AND current = 1")?;
        find.query_row(params![resource_type, id], |r| r.get(0)).optional().map_err(db)
    }
}

#[cfg(test)]
mod tests;
