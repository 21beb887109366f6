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
/// savepoints and commits. Since the writer goes first (see `preparation_pool` in main.rs) it
/// is the stage the load waits for, and 4 MB (fewer commits, each page written to the WAL
/// fewer times) loaded Synthea 1.01-1.14x as fast as 2 MB in three rounds side by side; 8 MB
/// was slower.
const BATCH_BYTES: u64 = 4 << 20;

/// The first batches are smaller, doubling up to [`BATCH_BYTES`]: the writer waits for the
/// first batch to be prepared, and while it does, the other core prepares more. With every
/// batch full-sized the writer sat idle for the first fifth of a Synthea load. The last
/// batches halve down to this size again: the writer writes the last batch alone, after
/// everything else is prepared.
const FIRST_BATCH_BYTES: u64 = 128 << 10;

/// Each path's files with their sizes.
fn sized(groups: Vec<Vec<PathBuf>>) -> Vec<Vec<(PathBuf, u64)>> {
    let sized = |p: PathBuf| {
        let bytes = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        (p, bytes)
    };
    groups.into_iter().map(|g| g.into_iter().map(sized).collect()).collect()
}

/// Files loaded together, in the order given: one NDJSON file, or Bundles of one path (a batch
/// never spans two paths, which are loaded in order) up to the current batch size.
fn batches_of(sized: Vec<Vec<(PathBuf, u64)>>) -> Vec<(Vec<PathBuf>, u64)> {
    let mut remaining: u64 = sized.iter().flatten().map(|(_, b)| b).sum();
    let mut batches: Vec<(Vec<PathBuf>, u64)> = Vec::new();
    let mut growing = FIRST_BATCH_BYTES;
    let mut limit = FIRST_BATCH_BYTES;
    for group in sized {
        let mut current: (Vec<PathBuf>, u64) = (Vec::new(), 0);
        for (path, bytes) in group {
            if path.extension().is_some_and(|e| e == "ndjson") {
                remaining = remaining.saturating_sub(bytes);
                batches.push((vec![path], bytes));
                continue;
            }
            if current.0.is_empty() {
                // Half of what is left, once that is less than the batch size.
                limit = growing.min((remaining / 2).max(FIRST_BATCH_BYTES));
            }
            remaining = remaining.saturating_sub(bytes);
            current.0.push(path);
            current.1 += bytes;
            if current.1 >= limit {
                batches.push(std::mem::take(&mut current));
                growing = (growing * 2).min(BATCH_BYTES);
            }
        }
        if !current.0.is_empty() {
            batches.push(current);
        }
    }
    batches
}

pub async fn run(engine: &Engine, paths: &[PathBuf], jobs: usize, show_progress: bool) -> Result<ImportSummary, String> {
    let groups = collect_files(paths)?;
    let files = groups.iter().map(Vec::len).sum();
    let batches = batches_of(sized(groups));
    let total_bytes: u64 = batches.iter().map(|(_, bytes)| bytes).sum();
    let bar = if show_progress { ProgressBar::new(total_bytes) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}%  {msg}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut resources = 0u64;
    let mut counts = ImportCounts::default();
    let mut failures = Vec::new();
    // A two-stage pipeline: up to `jobs` batches are read, validated and indexed at once while
    // this task writes the prepared ones, strictly in the order given (so a later path's
    // Bundles are written after an earlier path's, which they may refer to). Batches are
    // prepared at most one more than `jobs` ahead of the write, so the writer does not wait for
    // the next batch when it is the faster stage, and memory stays bounded when it is slower.
    let preparing = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut pending = batches.into_iter();
    let mut ahead = std::collections::VecDeque::new();
    loop {
        while ahead.len() < jobs.max(1) + 2 {
            let Some((batch, bytes)) = pending.next() else { break };
            let (engine, preparing) = (engine.clone(), preparing.clone());
            let paths = batch.clone();
            let task = tokio::spawn(async move {
                let _slot = preparing.acquire_owned().await;
                prepare_batch(&engine, batch).await
            });
            ahead.push_back((task, paths, bytes));
        }
        let Some((task, paths, bytes)) = ahead.pop_front() else { break };
        let results = match task.await {
            Ok(Batch::Done(results)) => results,
            Ok(Batch::Ndjson(path)) => {
                let result = import_ndjson(engine, &path).await;
                vec![(path, result)]
            }
            Ok(Batch::Prepared { files, prepared }) => write_batch(engine, files, prepared).await,
            Err(e) => paths.into_iter().map(|p| (p, Err(format!("import task failed: {e}")))).collect(),
        };
        for (path, result) in results {
            match result {
                Ok(c) => {
                    resources += c.total();
                    counts.merge(c);
                }
                Err(e) => failures.push((path, e)),
            }
        }
        let rate = resources as f64 / started.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!("{resources} resources, {rate:.0}/s"));
        bar.inc(bytes);
    }
    bar.finish();
    failures.sort();
    Ok(ImportSummary { files, counts, failures, seconds: started.elapsed().as_secs_f64() })
}

type FileResults = Vec<(PathBuf, Result<ImportCounts, String>)>;

/// A batch after its first stage.
enum Batch {
    /// Nothing left to write: every file failed to be read or parsed.
    Done(FileResults),
    /// An NDJSON file, loaded whole in its turn to write.
    Ndjson(PathBuf),
    /// Bundles validated and indexed, waiting for the write; `files` holds each file's result
    /// so far (a file that could not be read or parsed has failed already).
    Prepared { files: FileResults, prepared: (Vec<usize>, PreparedImport) },
}

/// The first stage of a batch: Bundles are read, parsed and prepared for their write (an
/// NDJSON file is read by its writer, chunk by chunk).
async fn prepare_batch(engine: &Engine, batch: Vec<PathBuf>) -> Batch {
    if let [path] = batch.as_slice()
        && path.extension().is_some_and(|e| e == "ndjson")
    {
        return Batch::Ndjson(path.clone());
    }
    // Reading and parsing is CPU work: off the executor threads, on the preparing threads
    // (see `preparation_pool` in main.rs), a file each.
    let paths = batch.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        use rayon::prelude::*;
        paths.par_iter().map(|p| read_bundle(p)).collect::<Vec<_>>()
    })
    .await;
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
    // Each preparing thread reads its files into one buffer it keeps: a fresh buffer per file
    // (Synthea's are up to a few MB) came from new pages each time, and the kernel's zeroing of
    // those pages was a third of the reading.
    thread_local!(static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) });
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read_to_end(&mut f, buffer));
        read.map_err(|e| format!("cannot read: {e}"))?;
        let bytes = buffer.strip_prefix("\u{feff}".as_bytes()).unwrap_or(buffer);
        // Checked as a whole, then parsed as text: parsing bytes checks each string on its own,
        // which cost more.
        let parsed = std::str::from_utf8(bytes)
            .map_err(|e| format!("not UTF-8 text: {e}"))
            .and_then(|text| {
                serde_json::from_str(text)
                    .map_err(|e| format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column()))
            });
        if buffer.capacity() > KEPT_BUFFER {
            *buffer = Vec::new();
        }
        parsed
    })
}

/// The largest read buffer a preparing thread keeps between files.
const KEPT_BUFFER: usize = 64 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;
    use salus_store::{Store, sqlite::SqliteStore};
    use serde_json::json;

    fn engine(dir: &Path) -> Engine {
        let store = SqliteStore::open(dir).expect("open store");
        Engine::new(Store::new(store), Arc::new(salus_engine::MinimalValidator))
    }

    /// A transaction Bundle that PUTs `Patient/{id}` with the given family name.
    fn patient_bundle(id: &str, family: &str) -> Value {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
            "resource": {"resourceType": "Patient", "id": id, "name": [{"family": family}]},
            "request": {"method": "PUT", "url": format!("Patient/{id}")}
        }]})
    }

    fn write(dir: &Path, name: &str, bundle: &Value) -> PathBuf {
        std::fs::create_dir_all(dir).expect("dir");
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec(bundle).expect("json")).expect("write");
        path
    }

    async fn family(engine: &Engine, id: &str) -> Value {
        let read = engine.read(&Caller::system(), "Patient", id).await.expect("read");
        let body: Value = serde_json::from_slice(read.body.as_deref().expect("body")).expect("json");
        body["name"][0]["family"].clone()
    }

    fn files(dir: &Path, n: usize, bytes: usize) -> Vec<(PathBuf, u64)> {
        (0..n).map(|i| (dir.join(format!("{i:03}.json")), bytes as u64)).collect()
    }

    #[test]
    fn batches_grow_from_the_first_size_and_halve_again_at_the_end() {
        let dir = Path::new("/nowhere");
        let sizes: Vec<u64> = batches_of(vec![files(dir, 200, 100 << 10)]).iter().map(|(_, b)| *b).collect();
        assert_eq!(sizes.iter().sum::<u64>(), 200 * (100 << 10), "every file is in one batch");
        assert!(sizes[0] <= 2 * FIRST_BATCH_BYTES, "the first batch is small: {sizes:?}");
        assert!(sizes.iter().all(|&b| b <= BATCH_BYTES + (100 << 10)), "no batch passes the size: {sizes:?}");
        assert!(sizes.iter().any(|&b| b >= BATCH_BYTES), "full batches in the middle: {sizes:?}");
        let last = sizes.last().copied().unwrap_or(0);
        assert!(last <= 2 * FIRST_BATCH_BYTES, "the last batch is small again: {sizes:?}");
    }

    #[test]
    fn a_batch_never_spans_two_paths_and_files_keep_their_order() {
        let groups = vec![files(Path::new("/a"), 3, 10), files(Path::new("/b"), 3, 10)];
        let expected: Vec<PathBuf> = groups.iter().flatten().map(|(p, _)| p.clone()).collect();
        let batches = batches_of(groups);
        assert_eq!(batches.len(), 2, "one batch per path: {batches:?}");
        let order: Vec<PathBuf> = batches.into_iter().flat_map(|(paths, _)| paths).collect();
        assert_eq!(order, expected);
    }

    #[tokio::test]
    async fn files_are_written_in_the_order_given_whatever_the_number_of_jobs() {
        let data = tempfile::tempdir().expect("temp dir");
        let engine = engine(&data.path().join("db"));
        // Each file rewrites the same patient; the last one written decides its name. Files of
        // ~100 KB of padding make many batches, prepared several at once.
        let padding: Vec<Value> = (0..2000).map(|i| json!({"family": format!("padding-{i}")})).collect();
        let mut first = Vec::new();
        for i in 0..12 {
            let mut bundle = patient_bundle("same", &format!("first-{i:02}"));
            bundle["entry"].as_array_mut().expect("entries").push(json!({
                "resource": {"resourceType": "Patient", "id": format!("pad{i}"), "name": padding},
                "request": {"method": "PUT", "url": format!("Patient/pad{i}")}
            }));
            first.push(write(&data.path().join("first"), &format!("{i:02}.json"), &bundle));
        }
        write(&data.path().join("second"), "only.json", &patient_bundle("same", "second"));
        let paths = [data.path().join("first"), data.path().join("second")];
        let summary = run(&engine, &paths, 3, false).await.expect("import");
        assert!(summary.failures.is_empty(), "{:?}", summary.failures);
        assert_eq!(summary.files, 13);
        assert_eq!(family(&engine, "same").await, "second", "the later path is written last");
        for version in 1..=12u64 {
            let read = engine.vread(&Caller::system(), "Patient", "same", &version.to_string()).await.expect("vread");
            let body: Value = serde_json::from_slice(read.body.as_deref().expect("body")).expect("json");
            assert_eq!(body["name"][0]["family"], format!("first-{:02}", version - 1), "files in name order");
        }
    }

    #[tokio::test]
    async fn a_file_that_fails_is_reported_and_the_others_load() {
        let data = tempfile::tempdir().expect("temp dir");
        let engine = engine(&data.path().join("db"));
        let dir = data.path().join("in");
        write(&dir, "a.json", &patient_bundle("a", "Alpha"));
        std::fs::write(dir.join("b.json"), "{ not json").expect("write");
        std::fs::write(dir.join("c.ndjson"), "{\"resourceType\":\"Patient\",\"id\":\"c\",\"name\":[{\"family\":\"Gamma\"}]}\n")
            .expect("write");
        let summary = run(&engine, std::slice::from_ref(&dir), 1, false).await.expect("import");
        assert_eq!(summary.counts.created, 2);
        assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
        assert!(summary.failures[0].0.ends_with("b.json") && summary.failures[0].1.contains("not valid JSON"));
        assert_eq!(family(&engine, "a").await, "Alpha");
        assert_eq!(family(&engine, "c").await, "Gamma");
    }

    #[test]
    fn a_bundle_file_may_start_with_a_byte_order_mark() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bom.json");
        std::fs::write(&path, "\u{feff}{\"resourceType\":\"Bundle\",\"type\":\"batch\"}").expect("write");
        assert_eq!(read_bundle(&path).expect("parsed")["type"], "batch");
    }

    #[test]
    fn a_bundle_file_that_is_not_utf8_is_refused_as_such() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("latin1.json");
        std::fs::write(&path, b"{\"resourceType\":\"Bundle\",\"id\":\"caf\xe9\"}").expect("write");
        let error = read_bundle(&path).expect_err("refused");
        assert!(error.starts_with("not UTF-8 text"), "{error}");
    }

    #[test]
    fn a_smaller_file_read_after_a_larger_one_is_read_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (large, small) = (dir.path().join("large.json"), dir.path().join("small.json"));
        std::fs::write(&large, format!("{{\"resourceType\":\"Bundle\",\"id\":\"{}\"}}", "x".repeat(10_000))).expect("write");
        std::fs::write(&small, "{\"resourceType\":\"Bundle\"}").expect("write");
        assert!(read_bundle(&large).is_ok());
        assert_eq!(read_bundle(&small).expect("parsed"), json!({"resourceType": "Bundle"}));
    }
}
