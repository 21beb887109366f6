//! What a restarted server must still know: custom SearchParameters stored before the restart
//! are in force after `load_search_parameters` (which `salus serve` calls at start), and an
//! index an upgrade invalidated is rebuilt by `reindex_if_required` (called next).

use salus_engine::{Caller, Engine, Entry, SearchRequest};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::json;

fn open(dir: &std::path::Path) -> Engine {
    Engine::r4(Store::new(SqliteStore::open(dir).expect("open store")))
}

fn put(resource: serde_json::Value) -> Entry {
    Entry::update_as_is(resource)
}

#[tokio::test]
async fn custom_search_parameters_stay_in_force_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let caller = Caller::system();
    {
        let engine = open(dir.path());
        let parameter = json!({"resourceType": "SearchParameter", "id": "eye", "url": "http://example.org/sp/eye-colour",
            "name": "eye", "status": "active", "code": "eye-colour", "base": ["Patient"], "type": "token",
            "description": "eye colour", "expression": "Patient.extension('http://example.org/eye').value"});
        engine.commit(&caller, vec![put(parameter)]).await.expect("parameter");
    }
    let engine = open(dir.path());
    let loaded = engine.load_search_parameters(&caller).await.expect("load");
    assert_eq!(loaded, 1);
    let patient = json!({"resourceType": "Patient", "id": "p1", "extension": [{"url": "http://example.org/eye", "valueCode": "blue"}]});
    engine.commit(&caller, vec![put(patient)]).await.expect("patient");
    let request = SearchRequest {
        resource_type: Some("Patient".into()),
        params: vec![("eye-colour".into(), "blue".into())],
        ..Default::default()
    };
    let found = engine.search(&caller, request).await.expect("search");
    assert_eq!(found.matches.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["p1"]);
}

#[tokio::test]
async fn a_database_whose_index_must_be_rebuilt_is_reindexed_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let caller = Caller::system();
    {
        let engine = open(dir.path());
        let patient = json!({"resourceType": "Patient", "id": "p1", "gender": "female"});
        engine.commit(&caller, vec![put(patient)]).await.expect("patient");
    }
    // What an upgrade leaves: index rows gone, the store asking for a reindex.
    let conn = rusqlite::Connection::open(dir.path().join("salus.db")).expect("raw open");
    conn.execute_batch("DELETE FROM idx_token; INSERT INTO store_flags (name) VALUES ('reindex');").expect("upgrade");
    drop(conn);

    let engine = open(dir.path());
    let by_gender = || SearchRequest {
        resource_type: Some("Patient".into()),
        params: vec![("gender".into(), "female".into())],
        ..Default::default()
    };
    assert!(engine.search(&caller, by_gender()).await.expect("search").matches.is_empty());
    assert_eq!(engine.reindex_if_required(&caller).await.expect("reindex"), Some(1));
    let found = engine.search(&caller, by_gender()).await.expect("search");
    assert_eq!(found.matches.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["p1"]);
    assert_eq!(engine.reindex_if_required(&caller).await.expect("again"), None, "the request is cleared");
}
