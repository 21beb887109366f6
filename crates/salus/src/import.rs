//! `salus import PATH...`: loads transaction Bundles (`.json`) and Bulk Data NDJSON files
//! (`.ndjson`) from files or directories through the engine's import path, several files at
//! once, with a progress bar. Paths are taken in the order given (so shared resources can be
//! loaded before the bundles that use them); each file that appears twice is loaded once.
//! A file that fails is reported and the others go on; nothing of a failed Bundle is stored.

use indicatif::{ProgressBar, ProgressStyle};
use salus_engine::{Caller, Engine, ImportCounts, PreparedImport};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Resources per commit when loading NDJSON.
const NDJSON_CHUNK: usize = 1000;

pub struct ImportSummary {
    pub files: usize,
    pub counts: ImportCounts,
    pub failures: Vec<(PathBuf, String)>,
    pub seconds: f64,
}

/// The files under each path, each path's files in name order, duplicates dropped.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<Vec<PathBuf>>, String> {
    let mut seen = HashSet::new();
    let mut groups = Vec::new();
    for path in paths {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let p = entry.path();
            let loadable = p.extension().is_some_and(|e| e == "json" || e == "ndjson");
            if entry.file_type().is_file() && loadable {
                let canonical = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
                if seen.insert(canonical) {
                    files.push(p.to_path_buf());
                }
            }
        }
        if files.is_empty() && !path.exists() {
            return Err(format!("{} does not exist", path.display()));
        }
        groups.push(files);
    }
    Ok(groups)
}

/// Bundles are loaded in batches of about this many bytes of JSON, one database transaction
/// (one COMMIT) per batch: per-file transactions spent a quarter of the writer's time on
/// savepoints and commits.
const BATCH_BYTES: u64 = 2 << 20;

/// The first batches are smaller, doubling up to [`BATCH_BYTES`]: the writer waits for the
/// first batch to be prepared, and while it does, the other core prepares more. With every
/// batch full-sized the writer sat idle for the first fifth of a Synthea load.
const FIRST_BATCH_BYTES: u64 = 128 << 10;

/// Files loaded together: one NDJSON file, or Bundles up to [`BATCH_BYTES`].
fn batches(files: Vec<PathBuf>) -> Vec<(Vec<PathBuf>, u64)> {
    let mut batches: Vec<(Vec<PathBuf>, u64)> = Vec::new();
    let mut current: (Vec<PathBuf>, u64) = (Vec::new(), 0);
    let mut limit = FIRST_BATCH_BYTES;
    for path in files {
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if path.extension().is_some_and(|e| e == "ndjson") {
            batches.push((vec![path], bytes));
            continue;
        }
        current.0.push(path);
        current.1 += bytes;
        if current.1 >= limit {
            batches.push(std::mem::take(&mut current));
            limit = (limit * 2).min(BATCH_BYTES);
        }
    }
    if !current.0.is_empty() {
        batches.push(current);
    }
    batches
}

pub async fn run(engine: &Engine, paths: &[PathBuf], jobs: usize, show_progress: bool) -> Result<ImportSummary, String> {
    let groups = collect_files(paths)?;
    let total_bytes: u64 = groups.iter().flatten().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let bar = if show_progress { ProgressBar::new(total_bytes) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}%  {msg}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let resources = Arc::new(AtomicU64::new(0));
    let mut counts = ImportCounts::default();
    let mut failures = Vec::new();
    let mut files = 0;
    for group in groups {
        files += group.len();
        // A two-stage pipeline: up to `jobs` batches are read, validated and indexed at once,
        // and up to two prepared batches wait for the single writer, so it never waits for
        // the next batch to be prepared (and memory stays bounded when it is the slower stage).
        let preparing = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let writing = Arc::new(tokio::sync::Semaphore::new(2));
        let mut tasks = tokio::task::JoinSet::new();
        for (batch, bytes) in batches(group) {
            let (engine, bar, resources) = (engine.clone(), bar.clone(), resources.clone());
            let (preparing, writing) = (preparing.clone(), writing.clone());
            tasks.spawn(async move {
                let prepare_slot = preparing.acquire_owned().await;
                let results = match prepare_batch(&engine, batch).await {
                    Batch::Done(results) => results,
                    Batch::Prepared { files, prepared } => {
                        let write_slot = writing.acquire_owned().await;
                        drop(prepare_slot);
                        let results = write_batch(&engine, files, prepared).await;
                        drop(write_slot);
                        results
                    }
                };
                let loaded: u64 = results.iter().filter_map(|(_, r)| r.as_ref().ok()).map(ImportCounts::total).sum();
                let n = resources.fetch_add(loaded, Ordering::Relaxed) + loaded;
                let rate = n as f64 / started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!("{n} resources, {rate:.0}/s"));
                bar.inc(bytes);
                results
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(results) => {
                    for (path, result) in results {
                        match result {
                            Ok(c) => counts.merge(c),
                            Err(e) => failures.push((path, e)),
                        }
                    }
                }
                Err(e) => failures.push((PathBuf::from("?"), format!("import task failed: {e}"))),
            }
        }
    }
    bar.finish();
    failures.sort();
    Ok(ImportSummary { files, counts, failures, seconds: started.elapsed().as_secs_f64() })
}

type FileResults = Vec<(PathBuf, Result<ImportCounts, String>)>;

/// A batch after its first stage.
enum Batch {
    /// Loaded already (an NDJSON file), or nothing left to write.
    Done(FileResults),
    /// Bundles validated and indexed, waiting for the write; `files` holds each file's result
    /// so far (a file that could not be read or parsed has failed already).
    Prepared { files: FileResults, prepared: (Vec<usize>, PreparedImport) },
}

/// The first stage of a batch: an NDJSON file is loaded whole; Bundles are read, parsed and
/// prepared for their write.
async fn prepare_batch(engine: &Engine, batch: Vec<PathBuf>) -> Batch {
    if let [path] = batch.as_slice()
        && path.extension().is_some_and(|e| e == "ndjson")
    {
        let result = import_ndjson(engine, path).await;
        return Batch::Done(vec![(path.clone(), result)]);
    }
    // Reading and parsing is CPU work: off the executor threads.
    let paths = batch.clone();
    let parsed = tokio::task::spawn_blocking(move || paths.iter().map(|p| read_bundle(p)).collect::<Vec<_>>()).await;
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return Batch::Done(batch.into_iter().map(|p| (p, Err(format!("import task failed: {e}")))).collect()),
    };
    let mut files: FileResults = Vec::with_capacity(batch.len());
    let mut bundles = Vec::new();
    let mut positions = Vec::new();
    for (path, bundle) in batch.into_iter().zip(parsed) {
        match bundle {
            Ok(bundle) => {
                positions.push(files.len());
                bundles.push(bundle);
                files.push((path, Ok(ImportCounts::default())));
            }
            Err(e) => files.push((path, Err(e))),
        }
    }
    if bundles.is_empty() {
        return Batch::Done(files);
    }
    let prepared = engine.prepare_import(&Caller::system(), bundles).await;
    Batch::Prepared { files, prepared: (positions, prepared) }
}

/// The second stage: the batch's one write transaction.
async fn write_batch(engine: &Engine, mut files: FileResults, (positions, prepared): (Vec<usize>, PreparedImport)) -> FileResults {
    let imported = engine.write_import(&Caller::system(), prepared).await;
    for (at, result) in positions.into_iter().zip(imported) {
        files[at].1 = result.map_err(|e| outcome_text(&e));
    }
    files
}

fn read_bundle(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    serde_json::from_str(text).map_err(|e| format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column()))
}

async fn import_ndjson(engine: &Engine, path: &Path) -> Result<ImportCounts, String> {
    let owned = path.to_path_buf();
    let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(&owned))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot read: {e}"))?;
    let caller = Caller::system();
    let mut counts = ImportCounts::default();
    let mut chunk = Vec::with_capacity(NDJSON_CHUNK);
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let resource: Value = serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        chunk.push(resource);
        if chunk.len() == NDJSON_CHUNK {
            let c = engine.import_resources(&caller, std::mem::take(&mut chunk)).await;
            counts.merge(c.map_err(|e| e.to_string())?);
        }
    }
    if !chunk.is_empty() {
        counts.merge(engine.import_resources(&caller, chunk).await.map_err(|e| e.to_string())?);
    }
    Ok(counts)
}

/// An engine error with the issues of its OperationOutcome, for the terminal.
fn outcome_text(e: &salus_engine::EngineError) -> String {
    match e.root() {
        salus_engine::EngineError::Invalid(outcome) => {
            let issues: Vec<String> = outcome["issue"]
                .as_array()
                .into_iter()
                .flatten()
                .take(5)
                .map(|i| {
                    format!(
                        "{} ({})",
                        i["diagnostics"].as_str().unwrap_or_default(),
                        i["expression"][0].as_str().unwrap_or_default()
                    )
                })
                .collect();
            format!("{e}: {}", issues.join("; "))
        }
        _ => e.to_string(),
    }
}
