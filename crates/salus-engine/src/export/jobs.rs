//! Bulk export jobs: kick-off, status, cancel and resume. A job is a row of the store's `jobs`
//! table (kind `export`): its request, status, and when done its outputs, so a job outlives
//! the process; files live in `<export dir>/<job id>/`. Jobs run one at a time in a tokio
//! task (the writer yields between pages), so an export shares the machine with interactive
//! requests instead of taking it. A server that stops mid-job restarts the job from the
//! beginning when it starts again ([`Engine::resume_exports`]): the files are rewritten whole,
//! with a new transaction time.

use super::{ExportOutput, ExportProgress, ExportRequest};
use crate::{Caller, Engine, EngineError};
use salus_store::{JobRecord, StoreError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const KIND: &str = "export";
const ACCEPTED: &str = "accepted";
const RUNNING: &str = "in-progress";
const COMPLETED: &str = "completed";
const FAILED: &str = "failed";

/// Where export files go and the jobs running in this process.
pub struct ExportJobs {
    dir: PathBuf,
    running: Mutex<HashMap<String, Arc<ExportProgress>>>,
    /// One export at a time: a second waits its turn rather than halving everyone's share.
    turn: tokio::sync::Semaphore,
}

impl ExportJobs {
    pub fn new(dir: PathBuf) -> Self {
        ExportJobs { dir, running: Mutex::new(HashMap::new()), turn: tokio::sync::Semaphore::new(1) }
    }

    fn progress(&self, id: &str) -> Option<Arc<ExportProgress>> {
        self.running.lock().ok()?.get(id).cloned()
    }

    fn track(&self, id: &str) -> Arc<ExportProgress> {
        let p = Arc::new(ExportProgress::default());
        if let Ok(mut running) = self.running.lock() {
            running.insert(id.to_string(), p.clone());
        }
        p
    }

    fn untrack(&self, id: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(id);
        }
    }
}

/// What a status poll learns.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportStatus {
    /// Still running (or waiting its turn): `X-Progress` text.
    InProgress { progress: String },
    /// Done: the manifest's parts; the edge turns file names into URLs.
    Completed { transaction_time: String, request: String, outputs: Vec<ExportOutput> },
    /// Stopped by an error; the message says what went wrong.
    Failed { message: String },
}

fn not_found(id: &str) -> EngineError {
    EngineError::NotFound { resource_type: "export job".into(), id: id.to_string() }
}

fn job_ids_are_ours(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn state_of(job: &JobRecord) -> Value {
    serde_json::from_str(&job.state).unwrap_or(Value::Null)
}

impl Engine {
    /// Gives the engine a directory for bulk export files (the data directory's `exports/`);
    /// without one, `$export` answers that it is not offered.
    pub fn with_export_dir(mut self, dir: PathBuf) -> Self {
        self.exports = Some(Arc::new(ExportJobs::new(dir)));
        self
    }

    fn export_jobs(&self) -> Result<Arc<ExportJobs>, EngineError> {
        self.exports.clone().ok_or_else(|| {
            EngineError::NotSupported("bulk export needs a data directory: start the server with one (salus serve --data DIR)".into())
        })
    }

    /// Starts an export in the background and returns its job id (for the status URL).
    pub async fn export_start(&self, caller: &Caller, request: ExportRequest) -> Result<String, EngineError> {
        self.authorize_read(caller)?;
        let jobs = self.export_jobs()?;
        if let super::ExportLevel::Group(id) = &request.level {
            // An unknown Group is the kick-off's 404, not a failed job later.
            self.read(caller, "Group", id).await?;
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = crate::clock::now_ms();
        let job = JobRecord {
            id: id.clone(),
            kind: KIND.into(),
            status: ACCEPTED.into(),
            request: request.to_json().to_string(),
            state: json!({"transactionTime": now}).to_string(),
            created_ms: now,
            updated_ms: now,
        };
        self.store.write(move |tx| tx.put_job(&job).map_err(EngineError::from)).await?;
        self.spawn_export(&jobs, id.clone(), request);
        Ok(id)
    }

    /// Where a job stands.
    pub async fn export_status(&self, caller: &Caller, id: &str) -> Result<ExportStatus, EngineError> {
        self.authorize_read(caller)?;
        let jobs = self.export_jobs()?;
        let job = self.export_job(id).await?.ok_or_else(|| not_found(id))?;
        let state = state_of(&job);
        match job.status.as_str() {
            COMPLETED => {
                let request: Value = serde_json::from_str(&job.request).unwrap_or(Value::Null);
                let outputs = state["outputs"].as_array().into_iter().flatten().filter_map(ExportOutput::from_json).collect();
                Ok(ExportStatus::Completed {
                    transaction_time: crate::clock::format_instant(state["transactionTime"].as_i64().unwrap_or(job.created_ms)),
                    request: request["request"].as_str().unwrap_or_default().to_string(),
                    outputs,
                })
            }
            FAILED => Ok(ExportStatus::Failed { message: state["error"].as_str().unwrap_or("the export failed").to_string() }),
            _ => {
                let progress = match jobs.progress(id) {
                    Some(p) => p.describe(),
                    None => "waiting to start".into(),
                };
                Ok(ExportStatus::InProgress { progress })
            }
        }
    }

    /// Cancels a job (running or finished) and deletes its files.
    pub async fn export_cancel(&self, caller: &Caller, id: &str) -> Result<(), EngineError> {
        self.authorize_read(caller)?;
        let jobs = self.export_jobs()?;
        if !job_ids_are_ours(id) {
            return Err(not_found(id));
        }
        let owned = id.to_string();
        let existed = self.store.write(move |tx| tx.delete_job(&owned).map_err(EngineError::from)).await?;
        if let Some(p) = jobs.progress(id) {
            p.cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        remove_dir(&jobs.dir.join(id)).await;
        if existed { Ok(()) } else { Err(not_found(id)) }
    }

    /// The path of an output file of a completed job, for download. Only names the manifest
    /// lists are served, so a request cannot reach outside the job's directory.
    pub async fn export_file(&self, caller: &Caller, id: &str, file: &str) -> Result<PathBuf, EngineError> {
        match self.export_status(caller, id).await? {
            ExportStatus::Completed { outputs, .. } if outputs.iter().any(|o| o.file == file) => {
                Ok(self.export_jobs()?.dir.join(id).join(file))
            }
            _ => Err(EngineError::NotFound { resource_type: "export file".into(), id: format!("{id}/{file}") }),
        }
    }

    /// Restarts the jobs a previous process left unfinished; call once at start. Returns how
    /// many were restarted.
    pub async fn resume_exports(&self, caller: &Caller) -> Result<usize, EngineError> {
        self.authorize_read(caller)?;
        let jobs = self.export_jobs()?;
        let all = self.store.read(|tx| tx.jobs(KIND).map_err(EngineError::from)).await?;
        let mut restarted = 0;
        for job in all.into_iter().filter(|j| j.status == ACCEPTED || j.status == RUNNING) {
            if jobs.progress(&job.id).is_some() {
                continue;
            }
            let request = serde_json::from_str(&job.request).ok().and_then(|v: Value| ExportRequest::from_json(&v));
            match request {
                Some(request) => {
                    self.spawn_export(&jobs, job.id.clone(), request);
                    restarted += 1;
                }
                None => {
                    let error = "the stored request of this job could not be read; start the export again";
                    self.finish_job(&job.id, FAILED, json!({"error": error})).await?;
                }
            }
        }
        Ok(restarted)
    }

    async fn export_job(&self, id: &str) -> Result<Option<JobRecord>, EngineError> {
        if !job_ids_are_ours(id) {
            return Ok(None);
        }
        let id = id.to_string();
        Ok(self.store.read(move |tx| tx.job(&id).map_err(EngineError::from)).await?.filter(|j| j.kind == KIND))
    }

    /// Records a job's end, unless it was cancelled (its row deleted) meanwhile.
    async fn finish_job(&self, id: &str, status: &'static str, state: Value) -> Result<bool, EngineError> {
        self.update_job(id, status, state).await
    }

    async fn update_job(&self, id: &str, status: &'static str, state: Value) -> Result<bool, EngineError> {
        let id = id.to_string();
        self.store
            .write(move |tx| {
                let Some(mut job) = tx.job(&id)? else { return Ok(false) };
                job.status = status.to_string();
                job.state = state.to_string();
                job.updated_ms = crate::clock::now_ms();
                tx.put_job(&job)?;
                Ok::<_, StoreError>(true)
            })
            .await
            .map_err(EngineError::from)
    }

    fn spawn_export(&self, jobs: &Arc<ExportJobs>, id: String, request: ExportRequest) {
        let progress = jobs.track(&id);
        let (engine, jobs) = (self.clone(), jobs.clone());
        tokio::spawn(async move {
            let _turn = jobs.turn.acquire().await;
            let dir = jobs.dir.join(&id);
            let outcome = engine.run_export(&id, &request, &dir, progress.clone()).await;
            if let Err(e) = outcome {
                tracing::warn!(job = %id, error = %e, "bulk export failed");
                let _ = engine.finish_job(&id, FAILED, json!({"error": e.to_string()})).await;
            }
            if progress.cancelled.load(std::sync::atomic::Ordering::Relaxed) {
                remove_dir(&dir).await;
            }
            jobs.untrack(&id);
        });
    }

    async fn run_export(&self, id: &str, request: &ExportRequest, dir: &Path, progress: Arc<ExportProgress>) -> Result<(), EngineError> {
        if progress.cancelled.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        // A restarted job starts over: whatever a previous run wrote is stale.
        remove_dir(dir).await;
        let transaction_time = crate::clock::now_ms();
        if !self.update_job(id, RUNNING, json!({"transactionTime": transaction_time})).await? {
            return Ok(()); // cancelled before it started
        }
        let Some(outputs) = self.export_to_dir(&Caller::system(), request, dir, progress).await? else {
            return Ok(()); // cancelled
        };
        let state = json!({
            "transactionTime": transaction_time,
            "outputs": outputs.iter().map(ExportOutput::to_json).collect::<Vec<_>>(),
        });
        if !self.finish_job(id, COMPLETED, state).await? {
            remove_dir(dir).await; // cancelled while finishing
        }
        Ok(())
    }
}

async fn remove_dir(dir: &Path) {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot remove export files"),
    }
}
