//! Bulk benchmarks over the Synthea data (`../shared/data/synthea/`, shared resources first),
//! through the engine in process (what `salus import`, `salus export` and the HTTP handlers
//! call):
//!
//! - `export`: imports every bundle through `Engine::import_bundle` (N at a time) and reports
//!   resources/s, then exports everything as NDJSON (system level, then Patient level) and
//!   reports resources/s.
//! - `everything`: imports the data, then times `Patient/[id]/$everything` over HTTP for the
//!   patient with the most resources: p50/p95 of the first page (the default `_count`) and of
//!   the whole record in pages of 1000.

use salus_engine::{Caller, Engine, ExportLevel, ExportProgress, ExportRequest};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn synthea(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea"))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Imports the shared resources, then the patient bundles `jobs` at a time. Returns the
/// engine and (resources, seconds).
async fn import(data: &Path, synthea: &Path, jobs: usize) -> (Engine, u64, f64) {
    let engine = Engine::r4(Store::new(SqliteStore::open(data).expect("open the database")));
    // Files are read and parsed before the clock starts: the figure is the server's rate.
    let read = |files: Vec<PathBuf>| -> Vec<Value> {
        files.iter().map(|f| serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json")).collect()
    };
    let shared = read(json_files(&synthea.join("shared-resources")));
    let patients = read(json_files(synthea));
    let started = Instant::now();
    let mut total = 0;
    for b in shared {
        total += engine.import_bundle(&Caller::system(), b).await.expect("import shared resources").total();
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for b in patients {
        let (engine, semaphore) = (engine.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            engine.import_bundle(&Caller::system(), b).await.expect("import a patient bundle").total()
        });
    }
    while let Some(n) = tasks.join_next().await {
        total += n.expect("import task");
    }
    (engine, total, started.elapsed().as_secs_f64())
}

pub async fn export(synthea_dir: Option<PathBuf>, jobs: usize) {
    let dir = synthea(synthea_dir);
    let data = tempfile::tempdir().expect("temp dir");
    let (engine, imported, seconds) = import(&data.path().join("db"), &dir, jobs).await;
    println!("import: {imported} resources in {seconds:.2} s = {:.0} resources/s ({jobs} bundles at a time)", imported as f64 / seconds);
    for (name, level) in [("system", ExportLevel::System), ("patient", ExportLevel::Patient)] {
        let request = ExportRequest {
            level,
            types: Vec::new(),
            since: None,
            type_filters: Vec::new(),
            request_url: String::new(),
            patients: Vec::new(),
        };
        let mut rates = Vec::new();
        let mut count = 0;
        for round in 0..3 {
            let out = data.path().join(format!("{name}-{round}"));
            let started = Instant::now();
            let outputs = engine
                .export_to_dir(&Caller::system(), &request, &out, Arc::new(ExportProgress::default()))
                .await
                .expect("export")
                .expect("not cancelled");
            let s = started.elapsed().as_secs_f64();
            count = outputs.iter().map(|o| o.count).sum::<u64>();
            rates.push(count as f64 / s);
        }
        rates.sort_by(f64::total_cmp);
        println!("export ({name} level): {count} resources, {:.0} resources/s (median of 3)", rates[1]);
    }
}

pub async fn everything(synthea_dir: Option<PathBuf>, rounds: usize) {
    let dir = synthea(synthea_dir);
    let data = tempfile::tempdir().expect("temp dir");
    let (engine, imported, _) = import(&data.path().join("db"), &dir, 2).await;
    // The patient with the largest compartment.
    let mut best = (0usize, String::new());
    let patients = engine
        .search(&Caller::system(), salus_engine::SearchRequest {
            resource_type: Some("Patient".into()),
            params: vec![("_count".into(), "1000".into()), ("_elements".into(), "id".into())],
            ..Default::default()
        })
        .await
        .expect("patients");
    for p in &patients.matches {
        let n = all_pages(&engine, &p.id).await;
        if n > best.0 {
            best = (n, p.id.clone());
        }
    }
    let (size, id) = best;
    println!("{imported} resources imported; largest patient {id}: {size} resources in its compartment");
    let base = serve(engine).await;
    let client = reqwest::Client::new();
    let first = format!("{base}/Patient/{id}/$everything");
    let mut page = Vec::new();
    let mut whole = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let r = client.get(&first).send().await.expect("send");
        assert!(r.status().is_success());
        let _ = r.bytes().await.expect("body");
        page.push(t.elapsed());
        let t = Instant::now();
        let mut url = format!("{first}?_count=1000");
        loop {
            let bundle: Value = client.get(&url).send().await.expect("send").json().await.expect("bundle");
            let next = bundle["link"].as_array().into_iter().flatten().find(|l| l["relation"] == "next");
            match next.and_then(|l| l["url"].as_str()) {
                Some(u) => url = u.to_string(),
                None => break,
            }
        }
        whole.push(t.elapsed());
    }
    report(&format!("$everything first page (_count={})", salus_engine::EVERYTHING_PAGE), &mut page);
    report("$everything whole record (_count=1000)", &mut whole);
}

async fn all_pages(engine: &Engine, id: &str) -> usize {
    let mut n = 0;
    let mut params = vec![("_count".to_string(), "1000".to_string())];
    loop {
        let page = engine.everything(&Caller::system(), Some(id), &params).await.expect("everything");
        n += page.matches.len();
        match page.next {
            Some(c) => params = vec![("_cursor".into(), c)],
            None => return n,
        }
    }
}

fn report(name: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    println!("{name}: p50 {:.1} ms, p95 {:.1} ms over {} requests", at(0.5), at(0.95), latencies.len());
}

async fn serve(engine: Engine) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, salus_http::app(engine, salus_http::HttpConfig::default())).await;
    });
    format!("http://{addr}/fhir")
}
