//! Search latency at volume: the Synthea patients loaded through `Engine::commit`, cloned with
//! fresh ids until the store holds the asked-for number of copies, then the issue's
//! representative searches timed (p50 / p95 over many runs with different values).
//!
//! `cargo run --release -p salus-engine --example search_bench -- [copies] [runs] [bundles-per-commit]`
//! (copies of the 130 patients, 17,680 resources each; default 2, 200 and 1). Results go to
//! docs/PERFORMANCE.md with the command that produced them. With `SEARCH_BENCH_DB=DIR` the
//! database is kept in DIR, and a DIR that already holds one is searched without loading again
//! (to compare query changes on the same data).

use salus_engine::{Caller, Engine, Entry, MinimalValidator, SearchRequest};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rewrite(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("reference")
                && let Some(target) = r.strip_prefix("urn:uuid:").and_then(|u| ids.get(u))
            {
                *r = target.clone();
            }
            o.values_mut().for_each(|x| rewrite(x, ids));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, ids)),
        _ => {}
    }
}

/// Entries of one bundle, copy `k`: bundle-local ids get a `-k` suffix, shared ones stay.
fn entries(bundle: &Value, k: usize, shared: &HashSet<String>, loaded: &mut HashSet<String>) -> Vec<Entry> {
    let list = bundle["entry"].as_array().cloned().unwrap_or_default();
    let id_of = |uuid: &str| if shared.contains(uuid) || k == 0 { uuid.to_string() } else { format!("{uuid}-{k}") };
    let mut ids = HashMap::new();
    for e in &list {
        if let (Some(u), Some(t)) = (e["fullUrl"].as_str().and_then(|f| f.strip_prefix("urn:uuid:")), e["resource"]["resourceType"].as_str()) {
            ids.insert(u.to_string(), format!("{t}/{}", id_of(u)));
        }
    }
    let mut out = Vec::new();
    for e in list {
        let Some(u) = e["fullUrl"].as_str().and_then(|f| f.strip_prefix("urn:uuid:")) else { continue };
        let id = id_of(u);
        if !loaded.insert(id.clone()) {
            continue;
        }
        let mut resource = e["resource"].clone();
        rewrite(&mut resource, &ids);
        out.push(Entry::Create { resource, id: Some(id), if_none_exist: None });
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let copies: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    // Patient bundles per commit: an import may group many; index writes dominate the I/O,
    // and a larger transaction touches each index page once instead of once per bundle.
    let per_commit: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea");
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var_os("SEARCH_BENCH_DB").map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    let reuse = dir.join("salus.db").exists();
    let engine = Engine::new(Store::new(SqliteStore::open(&dir).expect("open")), Arc::new(MinimalValidator));
    let sys = Caller::system();

    let read = |p: &PathBuf| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap_or_default()).unwrap_or(Value::Null);
    let shared_files: Vec<PathBuf> = std::fs::read_dir(root.join("shared-resources")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    let mut patient_files: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect())
        .unwrap_or_default();
    patient_files.sort();
    let shared_bundles: Vec<Value> = shared_files.iter().map(read).collect();
    let patient_bundles: Vec<Value> = patient_files.iter().map(read).collect();
    let shared: HashSet<String> = shared_bundles
        .iter()
        .flat_map(|b| b["entry"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["fullUrl"].as_str().and_then(|f| f.strip_prefix("urn:uuid:")).map(str::to_string))
        .collect();

    let started = Instant::now();
    let mut loaded = HashSet::new();
    let mut total = 0;
    for b in shared_bundles.iter().filter(|_| !reuse) {
        let batch = entries(b, 0, &shared, &mut loaded);
        total += batch.len();
        engine.commit(&sys, batch).await.expect("shared");
    }
    for k in (0..copies).filter(|_| !reuse) {
        for group in patient_bundles.chunks(per_commit) {
            let batch: Vec<Entry> = group.iter().flat_map(|b| entries(b, k, &shared, &mut loaded)).collect();
            total += batch.len();
            engine.commit(&sys, batch).await.expect("patient bundles");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "loaded {total} resources in {secs:.1} s ({:.0} resources/s, {per_commit} patient bundle(s) per commit)",
        total as f64 / secs
    );

    // Values to search for, drawn from the data.
    let mut patient_ids = Vec::new();
    for b in &patient_bundles {
        if let Some(p) = b["entry"].as_array().and_then(|e| e.iter().find(|e| e["resource"]["resourceType"] == "Patient"))
            && let Some(u) = p["fullUrl"].as_str().and_then(|f| f.strip_prefix("urn:uuid:"))
        {
            patient_ids.push(u.to_string());
        }
    }
    let loinc: Vec<String> = ["8302-2", "29463-7", "39156-5", "8867-4", "9279-1", "72514-3", "55284-4", "2339-0"].iter().map(|s| s.to_string()).collect();
    let conditions: Vec<String> = ["44054006", "15777000", "40055000", "10509002", "195662009", "444814009"].iter().map(|s| s.to_string()).collect();
    let names = ["smi", "joh", "wil", "bro", "mar", "gar", "mil", "dav"];

    type Case = (&'static str, Box<dyn Fn(usize) -> (String, Vec<(String, String)>)>);
    let p = patient_ids.clone();
    let l = loinc.clone();
    let c = conditions.clone();
    let c2 = conditions.clone();
    let l2 = loinc.clone();
    let cases: Vec<Case> = vec![
        ("Observation?patient=X&code=http://loinc.org|Y&_sort=-date", Box::new(move |i| {
            ("Observation".into(), vec![("patient".into(), p[i % p.len()].clone()), ("code".into(), format!("http://loinc.org|{}", l[i % l.len()])), ("_sort".into(), "-date".into())])
        })),
        ("Patient?name=smi", Box::new(move |i| ("Patient".into(), vec![("name".into(), names[i % names.len()].into())]))),
        ("Condition?code=X&_include=Condition:patient", Box::new(move |i| {
            ("Condition".into(), vec![("code".into(), c[i % c.len()].clone()), ("_include".into(), "Condition:patient".into())])
        })),
        ("Observation?patient.name=X&code=Y (chain)", Box::new(move |i| {
            ("Observation".into(), vec![("patient.name".into(), names[i % names.len()].into()), ("code".into(), l2[i % l2.len()].clone())])
        })),
        ("Patient?_has:Condition:patient:code=X", Box::new(move |i| {
            ("Patient".into(), vec![("_has:Condition:patient:code".into(), c2[i % c2.len()].clone())])
        })),
    ];
    for (label, make) in &cases {
        let mut times = Vec::with_capacity(runs);
        let mut matched = 0usize;
        for i in 0..runs {
            let (ty, params) = make(i);
            let t = Instant::now();
            let r = engine
                .search(&sys, SearchRequest { resource_type: Some(ty), params, ..Default::default() })
                .await
                .expect("search");
            times.push(t.elapsed());
            matched += r.matches.len();
        }
        times.sort();
        println!(
            "{label}: p50 {:.2} ms, p95 {:.2} ms ({runs} runs, {:.1} matches per page on average)",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.95).as_secs_f64() * 1000.0,
            matched as f64 / runs as f64
        );
    }
}
