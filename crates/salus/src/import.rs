//! `salus import PATH...`: loads transaction Bundles (`.json`) and Bulk Data NDJSON files
//! (`.ndjson`) from files or directories through the engine's import path, several files at
//! once, with a progress bar. Paths are taken in the order given (so shared resources can be
//! loaded before the bundles that use them); each file that appears twice is loaded once.
//! A file that fails is reported and the others go on; nothing of a failed Bundle is stored.

use indicatif::{ProgressBar, ProgressStyle};
use salus_engine::{Caller, Engine, ImportCounts};
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
        // Files of one group load concurrently, `jobs` at a time.
        let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for path in group {
            let (engine, bar, resources, semaphore) = (engine.clone(), bar.clone(), resources.clone(), semaphore.clone());
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let result = import_file(&engine, &path).await;
                if let Ok(c) = &result {
                    let n = resources.fetch_add(c.total(), Ordering::Relaxed) + c.total();
                    let rate = n as f64 / started.elapsed().as_secs_f64().max(0.001);
                    bar.set_message(format!("{n} resources, {rate:.0}/s"));
                }
                bar.inc(bytes);
                (path, result)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((_, Ok(c))) => counts.merge(c),
                Ok((path, Err(e))) => failures.push((path, e)),
                Err(e) => failures.push((PathBuf::from("?"), format!("import task failed: {e}"))),
            }
        }
    }
    bar.finish();
    failures.sort();
    Ok(ImportSummary { files, counts, failures, seconds: started.elapsed().as_secs_f64() })
}

async fn import_file(engine: &Engine, path: &Path) -> Result<ImportCounts, String> {
    let owned = path.to_path_buf();
    let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(&owned))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot read: {e}"))?;
    let caller = Caller::system();
    if path.extension().is_some_and(|e| e == "ndjson") {
        let mut counts = ImportCounts::default();
        let mut chunk = Vec::with_capacity(NDJSON_CHUNK);
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let resource: Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
            chunk.push(resource);
            if chunk.len() == NDJSON_CHUNK {
                let c = engine.import_resources(&caller, std::mem::take(&mut chunk)).await;
                counts.merge(c.map_err(|e| e.to_string())?);
            }
        }
        if !chunk.is_empty() {
            counts.merge(engine.import_resources(&caller, chunk).await.map_err(|e| e.to_string())?);
        }
        return Ok(counts);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let bundle: Value = serde_json::from_str(text)
        .map_err(|e| format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column()))?;
    engine.import_bundle(&caller, bundle).await.map_err(|e| outcome_text(&e))
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
