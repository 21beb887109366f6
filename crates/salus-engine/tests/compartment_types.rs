//! `$everything` and Patient-level exports compile only the types a patient's compartment
//! holds. A resource naming several patients is keyed (`patient_key`) to the first only, so a
//! patient can hold a type through resources keyed to someone else: those must still be found.
//! The oracle is the compartment search over every type of the CompartmentDefinition
//! (`Patient/[id]/*`), which lists no types first.

use salus_engine::{Caller, Engine, Entry, ExportLevel, ExportProgress, ExportRequest, MinimalValidator, SearchRequest};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

type Keys = BTreeSet<(String, String)>;

async fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::new(SqliteStore::open(&dir.path().join("db")).expect("open store"));
    let engine = Engine::new(store, Arc::new(MinimalValidator));
    let resources = vec![
        json!({"resourceType": "Patient", "id": "p1"}),
        json!({"resourceType": "Patient", "id": "p2"}),
        json!({"resourceType": "Patient", "id": "p3", "link": [{"other": {"reference": "Patient/p2"}, "type": "seealso"}]}),
        json!({"resourceType": "Organization", "id": "org"}),
        json!({"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "weight"},
            "subject": {"reference": "Patient/p1"}}),
        // Keyed to p1 (its subject); in p2's compartment through `performer`, and p2 has no
        // Observation of its own.
        json!({"resourceType": "Observation", "id": "shared", "status": "final", "code": {"text": "weight"},
            "subject": {"reference": "Patient/p1"}, "performer": [{"reference": "Patient/p2"}]}),
        json!({"resourceType": "Encounter", "id": "e2", "status": "finished", "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p2"}, "serviceProvider": {"reference": "Organization/org"}}),
        // Keyed to p1, its first member; p3's only way to a Group.
        json!({"resourceType": "Group", "id": "g", "type": "person", "actual": true,
            "member": [{"entity": {"reference": "Patient/p1"}}, {"entity": {"reference": "Patient/p3"}}]}),
        json!({"resourceType": "Condition", "id": "gone", "subject": {"reference": "Patient/p2"}}),
    ];
    let entries = resources.into_iter().map(Entry::update_as_is).collect();
    engine.commit(&Caller::system(), entries).await.expect("commit");
    let gone = Entry::Delete { resource_type: "Condition".into(), id: "gone".into(), if_match: None };
    engine.commit(&Caller::system(), vec![gone]).await.expect("delete");
    (dir, engine)
}

fn keys(types_ids: &[(&str, &str)]) -> Keys {
    types_ids.iter().map(|(t, i)| (t.to_string(), i.to_string())).collect()
}

/// Every match of `$everything` (one patient, or all when `None`), page by page, in order.
async fn everything(engine: &Engine, patient: Option<&str>, mut params: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        let page = engine.everything(&Caller::system(), patient, &params).await.expect("everything");
        out.extend(page.matches.into_iter().map(|v| (v.resource_type, v.id)));
        match page.next {
            Some(c) => params = vec![("_cursor".into(), c)],
            None => return out,
        }
    }
}

/// `Patient/[id]/*`: every type of the CompartmentDefinition, none left out beforehand.
async fn compartment(engine: &Engine, patient: &str) -> Vec<(String, String)> {
    let request = SearchRequest {
        resource_type: None,
        compartment: Some(("Patient".into(), patient.into())),
        params: vec![("_count".into(), "1000".into())],
        lenient: false,
    };
    let found = engine.search(&Caller::system(), request).await.expect("compartment search");
    assert!(found.next.is_none());
    found.matches.into_iter().map(|v| (v.resource_type, v.id)).collect()
}

async fn export(engine: &Engine, dir: &std::path::Path, patients: &[&str]) -> Vec<(String, String)> {
    let request = ExportRequest {
        level: ExportLevel::Patient,
        types: Vec::new(),
        since: None,
        type_filters: Vec::new(),
        request_url: "test".into(),
        patients: patients.iter().map(|p| p.to_string()).collect(),
    };
    let outputs = engine
        .export_to_dir(&Caller::system(), &request, dir, Arc::new(ExportProgress::default()))
        .await
        .expect("export")
        .expect("not cancelled");
    let mut out = Vec::new();
    for o in outputs {
        let text = std::fs::read_to_string(dir.join(&o.file)).expect("output file");
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).expect("an NDJSON line");
            out.push((v["resourceType"].as_str().unwrap_or("").to_string(), v["id"].as_str().unwrap_or("").to_string()));
        }
    }
    out
}

#[tokio::test]
async fn everything_finds_types_held_only_through_resources_keyed_to_another_patient() {
    let (_dir, engine) = engine().await;
    let expected = [
        ("p1", keys(&[("Patient", "p1"), ("Observation", "o1"), ("Observation", "shared"), ("Group", "g")])),
        ("p2", keys(&[("Patient", "p2"), ("Patient", "p3"), ("Observation", "shared"), ("Encounter", "e2")])),
        ("p3", keys(&[("Patient", "p3"), ("Group", "g")])),
    ];
    for (p, want) in &expected {
        let found = everything(&engine, Some(p), Vec::new()).await;
        assert_eq!(found, compartment(&engine, p).await, "{p}: the same matches in the same order as the full compartment search");
        assert_eq!(found.iter().cloned().collect::<Keys>(), *want, "{p}");
        assert_eq!(found.len(), want.len(), "{p}: each once");
    }
    let observations = everything(&engine, Some("p2"), vec![("_type".into(), "Observation".into())]).await;
    assert_eq!(observations, [("Observation".to_string(), "shared".to_string())]);
    let page = engine.everything(&Caller::system(), Some("p2"), &[]).await.expect("everything");
    assert_eq!(page.included.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["org"], "references outside any compartment ride along");

    // The type level walks the patients in id order; pages of 2 cut across compartments.
    let all = everything(&engine, None, vec![("_count".into(), "2".into())]).await;
    let mut walked = Vec::new();
    for (p, _) in &expected {
        walked.extend(compartment(&engine, p).await);
    }
    assert_eq!(all, walked);
}

#[tokio::test]
async fn a_patient_level_export_writes_resources_keyed_to_another_patient_once() {
    let (dir, engine) = engine().await;
    let everyone = export(&engine, &dir.path().join("all"), &[]).await;
    let mut union = Keys::new();
    for p in ["p1", "p2", "p3"] {
        union.extend(compartment(&engine, p).await);
    }
    assert_eq!(everyone.len(), union.len(), "each resource once: {everyone:?}");
    assert_eq!(everyone.into_iter().collect::<Keys>(), union);

    // Without p1, what is keyed to p1 is written through p2 and p3.
    let some = export(&engine, &dir.path().join("some"), &["p2", "p3"]).await;
    let want = keys(&[("Patient", "p2"), ("Patient", "p3"), ("Observation", "shared"), ("Encounter", "e2"), ("Group", "g")]);
    assert_eq!(some.len(), want.len(), "each resource once: {some:?}");
    assert_eq!(some.into_iter().collect::<Keys>(), want);
}
