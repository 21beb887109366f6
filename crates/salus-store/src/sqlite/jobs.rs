//! The `jobs` table on SQLite: one row per background job, its request and state as the
//! engine's JSON. Small (a row per job), so listing a kind reads the whole kind.

use super::{SqliteTx, db};
use crate::{JobRecord, StoreError};
use rusqlite::{OptionalExtension, params};

const COLUMNS: &str = "id, kind, status, request, state, created, updated";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: row.get(0)?,
        kind: row.get(1)?,
        status: row.get(2)?,
        request: row.get(3)?,
        state: row.get(4)?,
        created_ms: row.get(5)?,
        updated_ms: row.get(6)?,
    })
}

impl SqliteTx<'_> {
    pub(super) fn get_job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        stmt.query_row(params![id], from_row).optional().map_err(db)
    }

    pub(super) fn list_jobs(&self, kind: &str) -> Result<Vec<JobRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE kind = ?1 ORDER BY created, id");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let rows = stmt.query_map(params![kind], from_row).map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }

    pub(super) fn upsert_job(&self, job: &JobRecord) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO jobs (id, kind, status, request, state, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, request = excluded.request, \
                 state = excluded.state, updated = excluded.updated",
            )
            .map_err(db)?;
        stmt.execute(params![job.id, job.kind, job.status, job.request, job.state, job.created_ms, job.updated_ms])
            .map_err(db)?;
        Ok(())
    }

    pub(super) fn remove_job(&self, id: &str) -> Result<bool, StoreError> {
        let mut stmt = self.conn.prepare_cached("DELETE FROM jobs WHERE id = ?1").map_err(db)?;
        Ok(stmt.execute(params![id]).map_err(db)? > 0)
    }
}
