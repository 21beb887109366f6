//! The bulk round trip over the Synthea data: every bundle in `../shared/data/synthea/`
//! (shared resources first) imported through `Engine::import_bundles`, ten per transaction as
//! `salus import` writes its batches, everything exported as
//! NDJSON, and each exported resource compared with what was imported last under its id:
//! equal once server meta (`versionId`, `lastUpdated`) is set aside and `urn:uuid:X`
//! references are read as `Type/X` (the import turns those POSTs into `PUT Type/X`). Prints
//! its counts; zero differences, zero missing, zero extra. Then the Patient and Group levels
//! and `$everything` over the same data.

use salus_engine::{Caller, Engine, ExportLevel, ExportProgress, ExportRequest};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn synthea() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea")
}

fn bundle_files() -> Vec<PathBuf> {
    let mut shared: Vec<PathBuf> =
        std::fs::read_dir(synthea().join("shared-resources")).expect("shared-resources").map(|e| e.expect("entry").path()).collect();
    shared.sort();
    let mut patients: Vec<PathBuf> = std::fs::read_dir(synthea())
        .expect("synthea dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    patients.sort();
    shared.into_iter().chain(patients).collect()
}

/// `urn:uuid:X` → `Type/X` wherever a reference names one.
fn rewrite(v: &mut Value, types: &HashMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if k == "reference"
                    && let Some(uuid) = x.as_str().and_then(|r| r.strip_prefix("urn:uuid:"))
                    && let Some(t) = types.get(uuid)
                {
                    *x = json!(format!("{t}/{uuid}"));
                } else {
                    rewrite(x, types);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| rewrite(x, types)),
        _ => {}
    }
}

/// A resource without server meta (and without an emptied `meta`).
fn without_server_meta(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            v.as_object_mut().expect("object").remove("meta");
        }
    }
    v
}

async fn import_all(engine: &Engine) -> (BTreeMap<(String, String), Value>, u64, f64) {
    let files = bundle_files();
    let bundles: Vec<Value> =
        files.iter().map(|f| serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json")).collect();
    let mut types = HashMap::new();
    for b in &bundles {
        for e in b["entry"].as_array().into_iter().flatten() {
            if let (Some(u), Some(t)) = (e["fullUrl"].as_str().and_then(|u| u.strip_prefix("urn:uuid:")), e["resource"]["resourceType"].as_str()) {
                types.insert(u.to_string(), t.to_string());
            }
        }
    }
    let mut expected = BTreeMap::new();
    for b in &bundles {
        for e in b["entry"].as_array().into_iter().flatten() {
            let (Some(u), Some(t)) = (e["fullUrl"].as_str().and_then(|u| u.strip_prefix("urn:uuid:")), e["resource"]["resourceType"].as_str()) else {
                panic!("every Synthea entry has a urn:uuid fullUrl and a resource");
            };
            let mut r = e["resource"].clone();
            r["id"] = json!(u);
            rewrite(&mut r, &types);
            expected.insert((t.to_string(), u.to_string()), without_server_meta(r));
        }
    }
    let started = std::time::Instant::now();
    let mut imported = 0;
    // Ten Bundles per transaction, as `salus import` writes its batches.
    let mut bundles = bundles.into_iter();
    for chunk in files.chunks(10) {
        let batch: Vec<Value> = bundles.by_ref().take(chunk.len()).collect();
        let results = engine.import_bundles(&Caller::system(), batch).await;
        assert_eq!(results.len(), chunk.len(), "one result per Bundle");
        for (file, result) in chunk.iter().zip(results) {
            imported += result.unwrap_or_else(|e| panic!("{}: {e}", file.display())).total();
        }
    }
    (expected, imported, started.elapsed().as_secs_f64())
}

fn read_ndjson(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).expect("export dir").map(|e| e.expect("entry").path()).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read ndjson");
        let t = f.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).expect("each line is one JSON resource");
            assert_eq!(v["resourceType"], json!(t), "{} holds only {t}", f.display());
            out.push(v);
        }
    }
    out
}

async fn export(engine: &Engine, level: ExportLevel, dir: &Path) -> Vec<Value> {
    let request = ExportRequest {
        level,
        types: Vec::new(),
        since: None,
        type_filters: Vec::new(),
        request_url: "test".into(),
        patients: Vec::new(),
    };
    let outputs = engine
        .export_to_dir(&Caller::system(), &request, dir, Arc::new(ExportProgress::default()))
        .await
        .expect("export")
        .expect("not cancelled");
    let resources = read_ndjson(dir);
    assert_eq!(outputs.iter().map(|o| o.count).sum::<u64>(), resources.len() as u64, "manifest counts match the files");
    resources
}

/// The system level reads each type by a scan of its bodies in id order; the files must be
/// what paging each type's search (sorted by id) writes: the same bytes, the same order.
async fn same_lines_as_search(engine: &Engine, dir: &Path) -> usize {
    let mut lines = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).expect("export dir").map(|e| e.expect("entry").path()).collect();
    files.sort();
    for f in files {
        let t = f.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
        let mut want = Vec::new();
        let mut params = vec![("_count".to_string(), "1000".to_string()), ("_total".to_string(), "none".to_string())];
        loop {
            let request = salus_engine::SearchRequest { resource_type: Some(t.clone()), params, ..Default::default() };
            let page = engine.search(&Caller::system(), request).await.expect("search");
            for v in page.matches {
                let body = v.body.expect("a live resource has a body");
                assert!(!body.contains(&b'\n'), "stored bodies are compact");
                want.extend_from_slice(&body);
                want.push(b'\n');
                lines += 1;
            }
            match page.next {
                Some(c) => params = vec![("_cursor".to_string(), c)],
                None => break,
            }
        }
        assert!(std::fs::read(&f).expect("read") == want, "{} differs from {t}'s search", f.display());
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthea_round_trip_through_import_and_export_changes_nothing() {
    let data = tempfile::tempdir().expect("temp dir");
    let engine = Engine::r4(Store::new(SqliteStore::open(data.path()).expect("open")));
    let (expected, imported, seconds) = import_all(&engine).await;
    println!("imported {imported} entries ({} distinct resources) in {seconds:.1}s", expected.len());

    let out = data.path().join("system");
    let started = std::time::Instant::now();
    let exported = export(&engine, ExportLevel::System, &out).await;
    println!("system export: {} resources in {:.2}s", exported.len(), started.elapsed().as_secs_f64());
    let mut differences = 0;
    let mut seen = BTreeMap::new();
    for v in exported {
        let key = (v["resourceType"].as_str().unwrap_or("").to_string(), v["id"].as_str().unwrap_or("").to_string());
        let v = without_server_meta(v);
        match expected.get(&key) {
            Some(e) if *e == v => {}
            Some(e) => {
                differences += 1;
                if differences <= 3 {
                    eprintln!("{key:?} differs:\n imported {e}\n exported {v}");
                }
            }
            None => {
                differences += 1;
                eprintln!("{key:?} was exported but never imported");
            }
        }
        *seen.entry(key).or_insert(0) += 1;
    }
    let missing: Vec<_> = expected.keys().filter(|k| !seen.contains_key(*k)).collect();
    let repeated = seen.values().filter(|n| **n > 1).count();
    println!(
        "round trip: {} expected, {} exported, {differences} differences, {} missing, {repeated} repeated",
        expected.len(),
        seen.len(),
        missing.len()
    );
    assert_eq!((differences, missing.len(), repeated), (0, 0, 0), "first missing: {:?}", missing.first());
    let lines = same_lines_as_search(&engine, &out).await;
    println!("system export files: {lines} lines, byte for byte what paging each type's search writes");

    // Patient level: every resource of a patient compartment type, exported through the
    // patients' compartments, is there once.
    let compartment: Vec<String> = salus_fhir::r4()
        .compartment("Patient")
        .expect("Patient compartment")
        .resource
        .iter()
        .filter(|r| !r.param.is_empty())
        .map(|r| r.code.clone())
        .collect();
    let by_patient = export(&engine, ExportLevel::Patient, &data.path().join("patient")).await;
    let in_compartments = expected.keys().filter(|(t, _)| compartment.contains(t)).count();
    println!("patient-level export: {} resources ({in_compartments} of compartment types imported)", by_patient.len());
    assert_eq!(by_patient.len(), in_compartments);

    // Group level: a Group of two patients exports exactly their compartments.
    let patients: Vec<&String> = expected.keys().filter(|(t, _)| t == "Patient").map(|(_, id)| id).take(2).collect();
    let group = json!({"resourceType": "Group", "id": "two", "type": "person", "actual": true,
        "member": patients.iter().map(|p| json!({"entity": {"reference": format!("Patient/{p}")}})).collect::<Vec<_>>()});
    engine.import_resources(&Caller::system(), vec![group]).await.expect("group");
    let by_group = export(&engine, ExportLevel::Group("two".into()), &data.path().join("group")).await;
    // A resource in both compartments (the Group itself, through `member`) is one resource.
    let mut everything = BTreeSet::new();
    for p in &patients {
        let mut params = vec![("_count".to_string(), "1000".to_string())];
        loop {
            let page = engine.everything(&Caller::system(), Some(p), &params).await.expect("everything");
            everything.extend(page.matches.into_iter().map(|v| (v.resource_type, v.id)));
            match page.next {
                Some(c) => params = vec![("_cursor".into(), c)],
                None => break,
            }
        }
    }
    let exported: BTreeSet<(String, String)> = by_group
        .iter()
        .map(|r| (r["resourceType"].as_str().unwrap_or("").to_string(), r["id"].as_str().unwrap_or("").to_string()))
        .collect();
    println!("group export of 2 patients: {} resources; their $everything matches: {}", by_group.len(), everything.len());
    assert_eq!(exported.len(), by_group.len(), "a Group export writes each resource once");
    assert_eq!(exported, everything, "a Group export and $everything agree on the compartments");

    // `$everything` lists a compartment's types before compiling its query; the compartment
    // search over every type of the CompartmentDefinition (`Patient/[id]/*`) lists none: the
    // same matches in the same order, for every patient.
    let mut compared = 0;
    for (_, p) in expected.keys().filter(|(t, _)| t == "Patient") {
        let page = engine.everything(&Caller::system(), Some(p), &[("_count".to_string(), "1000".to_string())]).await.expect("everything");
        let request = salus_engine::SearchRequest {
            resource_type: None,
            compartment: Some(("Patient".into(), p.clone())),
            params: vec![("_count".into(), "1000".into())],
            lenient: false,
        };
        let all_types = engine.search(&Caller::system(), request).await.expect("compartment search");
        assert!(page.next.is_none() && all_types.next.is_none(), "{p}: one page each");
        let keys = |v: &[salus_engine::StoredVersion]| v.iter().map(|v| (v.resource_type.clone(), v.id.clone())).collect::<Vec<_>>();
        assert_eq!(keys(&page.matches), keys(&all_types.matches), "Patient/{p}/$everything");
        compared += page.matches.len();
    }
    println!("$everything of every patient: {compared} matches, as the full compartment search");
}
