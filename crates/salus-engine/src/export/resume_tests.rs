//! Jobs stopped midway, as a server killed between two pages stops them, and resumed by the
//! next engine on the same data directory: the output holds every resource exactly once, and
//! what was written before the stop is kept, not read again.

use super::*;
use crate::Entry;
use crate::export::writer::Checkpoint;
use salus_store::{Store, sqlite::SqliteStore};
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::task::Poll;
use std::time::Duration;

/// Resources per page: a few resources make several pages, and several checkpoints.
const PAGE: usize = 3;

fn engine(dir: &Path) -> Engine {
    let store = Store::new(SqliteStore::open(&dir.join("db")).expect("open store"));
    Engine::r4(store).with_export_dir(dir.join("exports")).with_export_page(PAGE)
}

async fn put(engine: &Engine, resources: Vec<Value>) {
    let entries = resources.into_iter().map(Entry::update_as_is).collect();
    engine.commit(&Caller::system(), entries).await.expect("commit");
}

/// Eight patients with two Observations each, and one Observation in the compartments of p1
/// (its subject) and p2 (its performer): 25 resources.
async fn seed(engine: &Engine) -> BTreeSet<String> {
    let mut resources = Vec::new();
    for p in 1..=8 {
        resources.push(json!({"resourceType": "Patient", "id": format!("p{p}")}));
        for o in 0..2 {
            resources.push(json!({"resourceType": "Observation", "id": format!("p{p}-obs{o}"), "status": "final",
                "code": {"text": "weight"}, "subject": {"reference": format!("Patient/p{p}")}}));
        }
    }
    resources.push(json!({"resourceType": "Observation", "id": "shared", "status": "final", "code": {"text": "weight"},
        "subject": {"reference": "Patient/p1"}, "performer": [{"reference": "Patient/p2"}]}));
    let keys = resources.iter().map(|r| format!("{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or(""))).collect();
    put(engine, resources).await;
    keys
}

fn request(level: ExportLevel) -> ExportRequest {
    ExportRequest { level, types: Vec::new(), since: None, type_filters: Vec::new(), request_url: "test".into(), patients: Vec::new() }
}

fn job_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join("exports").join(id)
}

/// Runs job `id` until it has written `stop_after` resources, then drops it where it stands,
/// as a killed server would. The writer yields between pages and each poll moves it to its
/// next wait at most, so the stop comes within a page of `stop_after`, with no file write in
/// flight (the count grows after a page's write has returned).
async fn run_and_stop(engine: &Engine, dir: &Path, id: &str, request: &ExportRequest, stop_after: u64) {
    let progress = Arc::new(ExportProgress::default());
    let job_dir = job_dir(dir, id);
    let mut run = Box::pin(engine.run_export(id, request, &job_dir, progress.clone()));
    while progress.written.load(Ordering::Relaxed) < stop_after {
        let polled = std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "the export finished before it was stopped");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn checkpoint_of(engine: &Engine, id: &str) -> (Checkpoint, i64) {
    let job = engine.export_job(id).await.expect("read job").expect("job");
    assert_eq!(job.status, "in-progress");
    let state: Value = serde_json::from_str(&job.state).expect("state");
    let checkpoint = Checkpoint::from_json(&state["checkpoint"]).expect("the stopped job recorded a checkpoint");
    (checkpoint, state["transactionTime"].as_i64().expect("transaction time"))
}

/// Appends half a line to `file`, as a page cut short by the stop would leave it.
fn tear(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).expect("open");
    f.write_all(br#"{"resourceType":"Observation","id":"p"#).expect("torn line");
}

/// The first resource a file holds, as `Type/id`.
fn first_resource(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).expect("read");
    let v: Value = serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    (v["resourceType"].as_str().expect("type").to_string(), v["id"].as_str().expect("id").to_string())
}

/// Waits for a resumed job and returns every `Type/id` its files hold, in file order.
async fn finished_output(engine: &Engine, dir: &Path, id: &str) -> (Vec<String>, String) {
    for _ in 0..1000 {
        match engine.export_status(&Caller::system(), id).await.expect("status") {
            ExportStatus::InProgress { .. } => tokio::time::sleep(Duration::from_millis(10)).await,
            ExportStatus::Failed { message } => panic!("the resumed export failed: {message}"),
            ExportStatus::Completed { outputs, transaction_time, .. } => {
                let mut keys = Vec::new();
                for o in outputs {
                    let text = std::fs::read_to_string(job_dir(dir, id).join(&o.file)).expect("output file");
                    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("an NDJSON line")).collect();
                    assert_eq!(lines.len() as u64, o.count, "{}: the manifest's count is the file's", o.file);
                    keys.extend(lines.iter().map(|v| format!("{}/{}", v["resourceType"].as_str().unwrap_or(""), v["id"].as_str().unwrap_or(""))));
                }
                return (keys, transaction_time);
            }
        }
    }
    panic!("the resumed export did not finish");
}

/// Stops a job of `level` midway, tears the file it was writing, deletes a resource it had
/// already written, and resumes it with a new engine: every resource once, the deleted one
/// included (a job started over would have lost it), and the first transaction time.
async fn stop_and_resume(level: ExportLevel, stop_after: u64) {
    let dir = tempfile::tempdir().expect("dir");
    let first = engine(dir.path());
    let seeded = seed(&first).await;
    let request = request(level);
    let id = first.create_export_job(&request).await.expect("job");
    run_and_stop(&first, dir.path(), &id, &request, stop_after).await;

    let (checkpoint, transaction_time) = checkpoint_of(&first, &id).await;
    let written: u64 = checkpoint.files.iter().map(|f| f.count).sum();
    assert!(written > 0 && written < seeded.len() as u64, "stopped midway: {written} of {} recorded", seeded.len());
    let last = checkpoint.files.iter().find(|f| f.resource_type == "Observation").expect("Observations were written first");
    let kept = first_resource(&job_dir(dir.path(), &id).join(&last.file));
    tear(&job_dir(dir.path(), &id).join(&last.file));
    let (t, i) = kept.clone();
    first.commit(&Caller::system(), vec![Entry::Delete { resource_type: t, id: i, if_match: None }]).await.expect("delete");
    drop(first);

    let second = engine(dir.path());
    assert_eq!(second.resume_exports(&Caller::system()).await.expect("resume"), 1);
    let (output, manifest_time) = finished_output(&second, dir.path(), &id).await;
    let unique: BTreeSet<String> = output.iter().cloned().collect();
    assert_eq!(unique.len(), output.len(), "no resource twice: {output:?}");
    assert_eq!(unique, seeded, "every resource");
    assert!(unique.contains(&format!("{}/{}", kept.0, kept.1)), "what was written before the stop is kept");
    assert_eq!(manifest_time, crate::clock::format_instant(transaction_time), "the job keeps its transaction time");
}

#[tokio::test]
async fn a_system_export_stopped_midway_resumes_after_its_last_checkpoint() {
    stop_and_resume(ExportLevel::System, 10).await;
}

#[tokio::test]
async fn a_patient_export_stopped_midway_resumes_after_its_last_checkpoint() {
    stop_and_resume(ExportLevel::Patient, 10).await;
}

#[tokio::test]
async fn a_job_whose_files_lost_writes_starts_over() {
    let dir = tempfile::tempdir().expect("dir");
    let first = engine(dir.path());
    let seeded = seed(&first).await;
    let request = request(ExportLevel::System);
    let id = first.create_export_job(&request).await.expect("job");
    run_and_stop(&first, dir.path(), &id, &request, 10).await;
    let (checkpoint, _) = checkpoint_of(&first, &id).await;
    // A machine that lost the page cache: the file is shorter than its checkpoint says.
    std::fs::write(job_dir(dir.path(), &id).join(&checkpoint.files[0].file), b"").expect("truncate");
    drop(first);

    let second = engine(dir.path());
    second.resume_exports(&Caller::system()).await.expect("resume");
    let (output, _) = finished_output(&second, dir.path(), &id).await;
    assert_eq!(output.len(), seeded.len(), "no resource twice");
    assert_eq!(output.into_iter().collect::<BTreeSet<_>>(), seeded, "every resource");
}

#[tokio::test]
async fn a_job_whose_checkpoint_cursor_cannot_be_read_starts_over() {
    let dir = tempfile::tempdir().expect("dir");
    let first = engine(dir.path());
    let seeded = seed(&first).await;
    let request = request(ExportLevel::System);
    let id = first.create_export_job(&request).await.expect("job");
    run_and_stop(&first, dir.path(), &id, &request, 10).await;
    let (mut checkpoint, transaction_time) = checkpoint_of(&first, &id).await;
    // As after an upgrade that changed the cursors' form.
    checkpoint.position.cursor = Some("not-a-cursor".into());
    checkpoint.position.done = false;
    first.record_checkpoint(&id, transaction_time, &checkpoint).await.expect("record");
    drop(first);

    let second = engine(dir.path());
    second.resume_exports(&Caller::system()).await.expect("resume");
    let (output, _) = finished_output(&second, dir.path(), &id).await;
    assert_eq!(output.len(), seeded.len(), "no resource twice");
    assert_eq!(output.into_iter().collect::<BTreeSet<_>>(), seeded, "every resource");
}
