//! The system-level export reads each type by a scan of its stored bodies (no search per
//! page); with `_since` it must write exactly what `Type?_lastUpdated=ge<since>` finds, in the
//! same order, whatever the instant's precision. The Synthea round trip (`bulk_round_trip.rs`)
//! checks the same without `_since`, over many pages.

use salus_engine::{Caller, Engine, Entry, ExportLevel, ExportProgress, ExportRequest, MinimalValidator, SearchRequest};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

async fn put(engine: &Engine, resources: Vec<Value>) {
    let entries = resources.into_iter().map(Entry::update_as_is).collect();
    engine.commit(&Caller::system(), entries).await.expect("commit");
}

/// What paging `t`'s search with `params` (sorted by id) would write as NDJSON.
async fn search_lines(engine: &Engine, t: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut params: Vec<(String, String)> = params.iter().cloned().chain([("_count".to_string(), "2".to_string())]).collect();
    loop {
        let request = SearchRequest { resource_type: Some(t.into()), params, ..Default::default() };
        let page = engine.search(&Caller::system(), request).await.expect("search");
        for v in page.matches {
            out.extend_from_slice(&v.body.expect("body"));
            out.push(b'\n');
        }
        match page.next {
            Some(c) => params = vec![("_cursor".to_string(), c)],
            None => return out,
        }
    }
}

async fn export(engine: &Engine, dir: &Path, since: Option<String>) {
    let request = ExportRequest {
        level: ExportLevel::System,
        types: Vec::new(),
        since,
        type_filters: Vec::new(),
        request_url: "test".into(),
        patients: Vec::new(),
    };
    engine
        .export_to_dir(&Caller::system(), &request, dir, Arc::new(ExportProgress::default()))
        .await
        .expect("export")
        .expect("not cancelled");
}

#[tokio::test]
async fn a_system_export_since_an_instant_writes_what_the_search_finds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::new(Store::new(SqliteStore::open(&dir.path().join("db")).expect("open")), Arc::new(MinimalValidator));
    let patients = |ids: &[&str]| ids.iter().map(|i| json!({"resourceType": "Patient", "id": i})).collect::<Vec<_>>();
    put(&engine, patients(&["a1", "a2", "a3", "a4"])).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    put(&engine, patients(&["b1", "b2"])).await;
    let boundary = engine.read(&Caller::system(), "Patient", "b1").await.expect("b1").last_updated_ms;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut later = patients(&["c1"]);
    later.push(json!({"resourceType": "Patient", "id": "a1", "active": true}));
    later.push(json!({"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}}));
    put(&engine, later).await;
    engine.commit(&Caller::system(), vec![Entry::Delete { resource_type: "Patient".into(), id: "b2".into(), if_match: None }]).await.expect("delete");

    let exact = salus_engine::clock::format_instant(boundary);
    // The same instant to the second: its range starts at the second.
    let to_second = format!("{}Z", &exact[..19]);
    for (name, since) in [("all", None), ("exact", Some(exact)), ("second", Some(to_second))] {
        let out = dir.path().join(name);
        export(&engine, &out, since.clone()).await;
        let params: Vec<(String, String)> = since.iter().map(|s| ("_lastUpdated".to_string(), format!("ge{s}"))).collect();
        for t in ["Patient", "Observation"] {
            let want = search_lines(&engine, t, &params).await;
            let got = std::fs::read(out.join(format!("{t}.ndjson"))).unwrap_or_default();
            assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "{name}: {t}");
        }
    }
    let since_b1 = std::fs::read_to_string(dir.path().join("exact").join("Patient.ndjson")).expect("file");
    let ids: Vec<String> = since_b1.lines().map(|l| serde_json::from_str::<Value>(l).expect("json")["id"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(ids, ["a1", "b1", "c1"], "updated since, in id order, the deleted one left out");
}
