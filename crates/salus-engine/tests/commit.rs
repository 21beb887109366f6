//! The write path's guarantees, tested through the engine's public calls on a real SQLite file.

use salus_engine::{Caller, Effect, Engine, EngineError, Entry, HistoryQuery, HistoryScope, MinimalValidator};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::{Value, json};
use std::sync::Arc;

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::new(SqliteStore::open(dir.path()).expect("open store"));
    (dir, Engine::new(store, Arc::new(MinimalValidator)))
}

fn body(v: &salus_engine::StoredVersion) -> Value {
    serde_json::from_slice(v.body.as_deref().expect("body")).expect("json")
}

async fn create(engine: &Engine, resource: Value) -> salus_engine::Committed {
    let entry = Entry::Create { resource, id: None, if_none_exist: None };
    engine.commit(&Caller::system(), vec![entry]).await.expect("create").remove(0)
}

fn update(id: &str, resource: Value, if_match: Option<&str>) -> Entry {
    Entry::Update { resource_type: "Patient".into(), id: id.into(), resource, if_match: if_match.map(Into::into) }
}

#[tokio::test]
async fn create_assigns_id_version_and_last_updated() {
    let (_d, engine) = engine();
    let created = create(&engine, json!({"resourceType": "Patient", "id": "ignored", "gender": "male"})).await;
    assert_eq!(created.effect, Effect::Created);
    assert_ne!(created.id, "ignored");
    let read = engine.read(&Caller::system(), "Patient", &created.id).await.expect("read");
    let resource = body(&read);
    assert_eq!(resource["meta"]["versionId"], "1");
    assert_eq!(resource["id"], created.id.as_str());
    assert!(resource["meta"]["lastUpdated"].as_str().is_some_and(|s| s.ends_with('Z')));
}

#[tokio::test]
async fn update_with_a_stale_if_match_changes_nothing() {
    let (_d, engine) = engine();
    let c = create(&engine, json!({"resourceType": "Patient", "gender": "male"})).await;
    let id = c.id.clone();
    let v2 = update(&id, json!({"resourceType": "Patient", "id": id, "gender": "female"}), Some("1"));
    engine.commit(&Caller::system(), vec![v2]).await.expect("v2");
    let stale = update(&id, json!({"resourceType": "Patient", "id": id, "gender": "other"}), Some("1"));
    let err = engine.commit(&Caller::system(), vec![stale]).await.expect_err("stale");
    assert!(matches!(err, EngineError::VersionConflict { .. }), "{err:?}");
    let current = engine.read(&Caller::system(), "Patient", &id).await.expect("read");
    assert_eq!((current.version, body(&current)["gender"].clone()), (2, json!("female")));
}

#[tokio::test]
async fn concurrent_read_modify_write_with_if_match_loses_no_update() {
    let (_d, engine) = engine();
    let c = create(&engine, json!({"resourceType": "Patient", "multipleBirthInteger": 0})).await;
    let writers = 8;
    let increments_each = 5;
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let engine = engine.clone();
        let id = c.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < increments_each {
                let current = engine.read(&Caller::system(), "Patient", &id).await.expect("read");
                let mut r = body(&current);
                let n = r["multipleBirthInteger"].as_i64().expect("counter");
                r["multipleBirthInteger"] = json!(n + 1);
                let entry = update(&id, r, Some(&current.version.to_string()));
                match engine.commit(&Caller::system(), vec![entry]).await {
                    Ok(_) => done += 1,
                    Err(EngineError::VersionConflict { .. }) => {} // someone else won: retry
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let last = engine.read(&Caller::system(), "Patient", &c.id).await.expect("read");
    assert_eq!(body(&last)["multipleBirthInteger"], json!(writers * increments_each));
    assert_eq!(last.version, 1 + (writers * increments_each) as u64);
}

#[tokio::test]
async fn a_failing_entry_rolls_back_the_entries_before_it() {
    let (_d, engine) = engine();
    let entries = vec![
        update("kept-nowhere", json!({"resourceType": "Patient", "id": "kept-nowhere"}), None),
        Entry::Delete { resource_type: "Patient".into(), id: "never-existed".into(), if_match: None },
    ];
    let err = engine.commit(&Caller::system(), entries).await.expect_err("second entry fails");
    assert!(matches!(&err, EngineError::InEntry { index: 1, .. }), "{err:?}");
    assert!(matches!(err.root(), EngineError::NotFound { .. }));
    let read = engine.read(&Caller::system(), "Patient", "kept-nowhere").await;
    assert!(matches!(read, Err(EngineError::NotFound { .. })));
}

#[tokio::test]
async fn an_update_that_changes_nothing_makes_no_new_version() {
    let (_d, engine) = engine();
    let r = json!({"resourceType": "Patient", "id": "same", "gender": "male"});
    engine.commit(&Caller::system(), vec![update("same", r.clone(), None)]).await.expect("v1");
    let again = engine.commit(&Caller::system(), vec![update("same", r, None)]).await.expect("again");
    assert_eq!((again[0].effect, again[0].version), (Effect::Unchanged, 1));
}

#[tokio::test]
async fn deleted_resources_are_gone_but_their_history_remains() {
    let (_d, engine) = engine();
    let c = create(&engine, json!({"resourceType": "Patient"})).await;
    let delete = Entry::Delete { resource_type: "Patient".into(), id: c.id.clone(), if_match: None };
    engine.commit(&Caller::system(), vec![delete]).await.expect("delete");
    let read = engine.read(&Caller::system(), "Patient", &c.id).await;
    assert!(matches!(read, Err(EngineError::Gone { version: 2, .. })));
    assert!(engine.vread(&Caller::system(), "Patient", &c.id, "1").await.is_ok());
    let query = HistoryQuery {
        scope: HistoryScope::Instance { resource_type: "Patient".into(), id: c.id.clone() },
        since_ms: None,
        at_ms: None,
        count: 10,
        before_seq: None,
    };
    let page = engine.history(&Caller::system(), query).await.expect("history");
    assert_eq!(page.versions.iter().map(|v| (v.version, v.deleted)).collect::<Vec<_>>(), [(2, true), (1, false)]);
}

#[tokio::test]
async fn json_patch_applies_to_the_current_version() {
    let (_d, engine) = engine();
    let c = create(&engine, json!({"resourceType": "Patient", "gender": "male"})).await;
    let patch = Entry::Patch {
        resource_type: "Patient".into(),
        id: c.id.clone(),
        patch: json!([{"op": "replace", "path": "/gender", "value": "female"}]),
        if_match: None,
    };
    let out = engine.commit(&Caller::system(), vec![patch]).await.expect("patch");
    assert_eq!(out[0].version, 2);
    let read = engine.read(&Caller::system(), "Patient", &c.id).await.expect("read");
    assert_eq!(body(&read)["gender"], "female");
}

#[tokio::test]
async fn a_patch_that_changes_the_id_is_refused() {
    let (_d, engine) = engine();
    let c = create(&engine, json!({"resourceType": "Patient"})).await;
    let patch = Entry::Patch {
        resource_type: "Patient".into(),
        id: c.id.clone(),
        patch: json!([{"op": "replace", "path": "/id", "value": "other"}]),
        if_match: None,
    };
    let err = engine.commit(&Caller::system(), vec![patch]).await.expect_err("refused");
    assert!(matches!(err, EngineError::BadRequest { .. }));
}

fn put(resource: Value) -> Value {
    let url = format!("{}/{}", resource["resourceType"].as_str().unwrap_or_default(), resource["id"].as_str().unwrap_or_default());
    json!({"resource": resource, "request": {"method": "PUT", "url": url}})
}

fn transaction(entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

async fn exists(engine: &Engine, id: &str) -> bool {
    engine.read(&Caller::system(), "Patient", id).await.is_ok()
}

#[tokio::test]
async fn bundles_imported_together_each_stand_or_fall_alone() {
    let (_d, engine) = engine();
    // The middle bundle writes Patient/b, then fails on its second entry inside the shared
    // transaction (a patch of a resource that does not exist): b must not survive it.
    let empty_patch = json!({"resourceType": "Binary", "contentType": "application/json-patch+json", "data": "W10="});
    let bundles = vec![
        transaction(vec![put(json!({"resourceType": "Patient", "id": "a"}))]),
        transaction(vec![
            put(json!({"resourceType": "Patient", "id": "b"})),
            json!({"resource": empty_patch, "request": {"method": "PATCH", "url": "Patient/missing"}}),
        ]),
        transaction(vec![json!({"resource": {"resourceType": "NotAType"}, "request": {"method": "PUT", "url": "NotAType/x"}})]),
        transaction(vec![put(json!({"resourceType": "Patient", "id": "c"})), put(json!({"resourceType": "Patient", "id": "d"}))]),
    ];
    let results = engine.import_bundles(&Caller::system(), bundles).await;
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].as_ref().map(|c| c.created).ok(), Some(1));
    match &results[1] {
        Err(EngineError::InEntry { index, error }) => {
            assert_eq!(*index, 1, "the failing entry is named by its position in its own Bundle");
            assert!(matches!(**error, EngineError::NotFound { .. }), "{error}");
        }
        other => panic!("expected the patch to fail: {other:?}"),
    }
    assert!(results[2].is_err(), "an unknown type fails its own Bundle");
    assert_eq!(results[3].as_ref().map(|c| c.created).ok(), Some(2));
    assert!(exists(&engine, "a").await && exists(&engine, "c").await && exists(&engine, "d").await);
    assert!(!exists(&engine, "b").await, "a failed bundle leaves nothing behind");
}

#[tokio::test]
async fn importing_the_same_bundles_together_again_changes_nothing() {
    let (_d, engine) = engine();
    let bundles = || {
        vec![
            transaction(vec![put(json!({"resourceType": "Patient", "id": "a", "gender": "female"}))]),
            transaction(vec![put(json!({"resourceType": "Patient", "id": "b", "gender": "male"}))]),
        ]
    };
    let first = engine.import_bundles(&Caller::system(), bundles()).await;
    assert!(first.iter().all(|r| r.as_ref().is_ok_and(|c| c.created == 1)), "{first:?}");
    let again = engine.import_bundles(&Caller::system(), bundles()).await;
    assert!(again.iter().all(|r| r.as_ref().is_ok_and(|c| c.unchanged == 1 && c.created == 0)), "{again:?}");
}

const NPI: &str = "http://hl7.org/fhir/sid/us-npi";

fn encounter_seen_by(id: &str, npi: &str) -> Value {
    put(json!({"resourceType": "Encounter", "id": id, "status": "finished", "class": {"code": "AMB"},
               "participant": [{"individual": {"reference": format!("Practitioner?identifier={NPI}|{npi}")}}]}))
}

#[tokio::test]
async fn imported_bundles_resolve_conditional_references_to_resources_written_before_them() {
    let (_d, engine) = engine();
    // As Synthea's practitioner file and its patients' files are imported together.
    let bundles = vec![
        transaction(vec![put(json!({"resourceType": "Practitioner", "id": "dr", "identifier": [{"system": NPI, "value": "1"}]}))]),
        transaction(vec![encounter_seen_by("e1", "1")]),
    ];
    let results = engine.import_bundles(&Caller::system(), bundles).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let encounter = engine.read(&Caller::system(), "Encounter", "e1").await.expect("read");
    assert_eq!(body(&encounter)["participant"][0]["individual"]["reference"], "Practitioner/dr");
}

#[tokio::test]
async fn an_imported_bundle_whose_conditional_reference_matches_nothing_leaves_nothing_and_stops_no_other() {
    let (_d, engine) = engine();
    let bundles = vec![
        transaction(vec![put(json!({"resourceType": "Patient", "id": "a"}))]),
        transaction(vec![put(json!({"resourceType": "Patient", "id": "b"})), encounter_seen_by("e2", "nobody")]),
        transaction(vec![put(json!({"resourceType": "Patient", "id": "c"}))]),
    ];
    let results = engine.import_bundles(&Caller::system(), bundles).await;
    match &results[1] {
        Err(EngineError::InEntry { index: 1, error }) => {
            assert!(matches!(&**error, EngineError::UnresolvedReference { several: false, element, .. } if element == "participant[0].individual.reference"), "{error:?}");
        }
        other => panic!("expected the conditional reference to fail: {other:?}"),
    }
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(exists(&engine, "a").await && exists(&engine, "c").await);
    assert!(!exists(&engine, "b").await, "a failed bundle leaves nothing behind");
}
