//! Bulk export jobs: kick-off, status, cancel and resume. A job is a row of the store's `jobs`
//! table (kind `export`): its request, status, and state (its transaction time, then its last
//! checkpoint, and when done its outputs), so a job outlives the process; files live in
//! `<export dir>/<job id>/`. Jobs run one at a time in a tokio task (the writer yields between
//! pages), so an export shares the machine with interactive requests instead of taking it. A
//! server that stops mid-job resumes the job when it starts again
//! ([`Engine::resume_exports`]): each file is cut back to the length its last checkpoint
//! recorded and the writer continues from the checkpoint's position, with the job's first
//! transaction time. Without a usable checkpoint the job starts over.

use super::files::Files;
use super::writer::{Checkpoint, Plan, Position};
use super::{EXPORT_PAGE, ExportLevel, ExportOutput, ExportProgress, ExportRequest};
use crate::{Caller, Engine, EngineError, SearchRequest};
use salus_store::{JobRecord, StoreError};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
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
    /// Resources per page (and per checkpoint).
    page: usize,
}

impl ExportJobs {
    pub fn new(dir: PathBuf) -> Self {
        ExportJobs { dir, running: Mutex::new(HashMap::new()), turn: tokio::sync::Semaphore::new(1), page: EXPORT_PAGE }
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

    /// Small pages, so that tests stop and resume jobs over a few resources.
    #[cfg(test)]
    pub(crate) fn with_export_page(mut self, page: usize) -> Self {
        if let Some(jobs) = &self.exports {
            let mut changed = ExportJobs::new(jobs.dir.clone());
            changed.page = page;
            self.exports = Some(Arc::new(changed));
        }
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
        self.check_export_patients(caller, &request).await?;
        let id = self.create_export_job(&request).await?;
        self.spawn_export(&jobs, id.clone(), request);
        Ok(id)
    }

    /// An unknown Group, or a `patient` that is unknown or not in the Group, is the
    /// kick-off's error (the specification asks for an OperationOutcome), not a failed job.
    async fn check_export_patients(&self, caller: &Caller, request: &ExportRequest) -> Result<(), EngineError> {
        let not_exported = |p: &str, why: String| {
            EngineError::bad_request(format!("patient: Patient/{p} {why}; the export was not started"), Some("patient"))
        };
        match &request.level {
            ExportLevel::Group(id) => {
                let group = self.read(caller, "Group", id).await?;
                let members: HashSet<String> = super::group_members(group.body.as_deref().unwrap_or_default()).into_iter().collect();
                if let Some(p) = request.patients.iter().find(|p| !members.contains(*p)) {
                    return Err(not_exported(p, format!("is not an active member of Group/{id}")));
                }
            }
            ExportLevel::Patient => {
                let mut known = HashSet::new();
                for chunk in request.patients.chunks(crate::MAX_PAGE) {
                    let params = vec![("_id".to_string(), chunk.join(","))];
                    let search = SearchRequest { resource_type: Some("Patient".into()), params, ..Default::default() };
                    known.extend(self.matching_keys(caller, search).await?.into_iter().map(|(_, id)| id));
                }
                if let Some(p) = request.patients.iter().find(|p| !known.contains(*p)) {
                    return Err(not_exported(p, "is not known".into()));
                }
            }
            ExportLevel::System => {}
        }
        Ok(())
    }

    pub(super) async fn create_export_job(&self, request: &ExportRequest) -> Result<String, EngineError> {
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

    /// Resumes the jobs a previous process left unfinished (from their last checkpoint); call
    /// once at start. Returns how many were resumed.
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

    pub(super) async fn export_job(&self, id: &str) -> Result<Option<JobRecord>, EngineError> {
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

    pub(super) async fn run_export(&self, id: &str, request: &ExportRequest, dir: &Path, progress: Arc<ExportProgress>) -> Result<(), EngineError> {
        if progress.cancelled.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let Some(job) = self.export_job(id).await? else { return Ok(()) }; // cancelled
        let page = self.export_jobs()?.page;
        let mut resumed = resumable(id, &state_of(&job), dir).await;
        loop {
            let from_checkpoint = resumed.is_some();
            let (files, resume, transaction_time) = match resumed.take() {
                Some((files, position, transaction_time)) => (files, Some(position), transaction_time),
                None => {
                    // Whatever an earlier run wrote without a usable checkpoint is stale.
                    remove_dir(dir).await;
                    let transaction_time = crate::clock::now_ms();
                    if !self.update_job(id, RUNNING, json!({"transactionTime": transaction_time})).await? {
                        return Ok(()); // cancelled before it started
                    }
                    let files = Files::new(dir).map_err(|e| super::io_error(dir, e))?;
                    (files, None, transaction_time)
                }
            };
            let plan = Plan { resume, job: Some((id.to_string(), transaction_time)), page, started_ms: transaction_time };
            let outputs = match self.write_export(&Caller::system(), request, files, plan, progress.clone()).await {
                Ok(Some(outputs)) => outputs,
                Ok(None) => return Ok(()), // cancelled
                // A checkpoint's cursor that this version cannot read (an upgrade changed the
                // cursors) is no reason to fail the job: it starts over, once.
                Err(EngineError::BadRequest { message, .. }) if from_checkpoint => {
                    tracing::warn!(job = %id, error = %message, "the export cannot continue from its checkpoint; starting it over");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let state = json!({
                "transactionTime": transaction_time,
                "outputs": outputs.iter().map(ExportOutput::to_json).collect::<Vec<_>>(),
            });
            if !self.finish_job(id, COMPLETED, state).await? {
                remove_dir(dir).await; // cancelled while finishing
            }
            return Ok(());
        }
    }

    /// Records where a running job stands. `false` when its row is gone (cancelled).
    pub(crate) async fn record_checkpoint(&self, id: &str, transaction_time: i64, checkpoint: &Checkpoint) -> Result<bool, EngineError> {
        self.update_job(id, RUNNING, json!({"transactionTime": transaction_time, "checkpoint": checkpoint.to_json()})).await
    }
}

/// The files, position and transaction time a job continues from: its last checkpoint, with
/// each file cut back to the length recorded there. `None` when it has no checkpoint or its
/// files no longer match it (it starts over).
async fn resumable(id: &str, state: &Value, dir: &Path) -> Option<(Files, Position, i64)> {
    let checkpoint = Checkpoint::from_json(&state["checkpoint"])?;
    let transaction_time = state["transactionTime"].as_i64()?;
    let (files_dir, recorded) = (dir.to_path_buf(), checkpoint.files);
    match tokio::task::spawn_blocking(move || Files::resume(&files_dir, &recorded)).await {
        Ok(Ok(files)) => Some((files, checkpoint.position, transaction_time)),
        Ok(Err(e)) => {
            tracing::warn!(job = %id, error = %e, "the export's files do not match its checkpoint; starting it over");
            None
        }
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "cannot check the export's files; starting it over");
            None
        }
    }
}

async fn remove_dir(dir: &Path) {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot remove export files"),
    }
}
