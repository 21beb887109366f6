//! Search through the engine on a real SQLite file: every parameter type, modifiers, chains,
//! `_has`, includes, paging while data changes, conditional interactions, and garbage queries.

use salus_engine::{Caller, Effect, Engine, EngineError, Entry, MinimalValidator, SearchRequest, SearchResult};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::{Value, json};
use std::sync::Arc;

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::new(SqliteStore::open(dir.path()).expect("open store"));
    (dir, Engine::new(store, Arc::new(MinimalValidator)))
}

async fn put(engine: &Engine, resource: Value) {
    let id = resource["id"].as_str().expect("id").to_string();
    let entry = Entry::Create { resource, id: Some(id), if_none_exist: None };
    engine.commit(&Caller::system(), vec![entry]).await.expect("create");
}

async fn search(engine: &Engine, ty: &str, query: &str) -> Result<SearchResult, EngineError> {
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').map_or((p.to_string(), String::new()), |(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let ty = (!ty.is_empty()).then(|| ty.to_string());
    engine.search(&Caller::system(), SearchRequest { resource_type: ty, params, ..Default::default() }).await
}

async fn ids(engine: &Engine, ty: &str, query: &str) -> Vec<String> {
    let r = search(engine, ty, query).await.unwrap_or_else(|e| panic!("{ty}?{query}: {e}"));
    let mut ids: Vec<String> = r.matches.iter().map(|v| v.id.clone()).collect();
    ids.sort();
    ids
}

async fn fixture() -> (tempfile::TempDir, Engine) {
    let (d, e) = engine();
    put(&e, json!({"resourceType": "Organization", "id": "org1", "name": "Acme Health"})).await;
    put(&e, json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Müller", "given": ["Zoë"]}], "gender": "female",
        "birthDate": "1980-05-12", "identifier": [{"system": "urn:mrn", "value": "A1",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
        "managingOrganization": {"reference": "Organization/org1"}, "active": true})).await;
    put(&e, json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Smith", "given": ["John"]}], "gender": "male",
        "birthDate": "1975", "identifier": [{"system": "urn:mrn", "value": "B2"}]})).await;
    put(&e, json!({"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "effectiveDateTime": "2020-03-04T10:00:00Z",
        "valueQuantity": {"value": 5400, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}})).await;
    put(&e, json!({"resourceType": "Observation", "id": "o2", "status": "preliminary", "subject": {"reference": "Patient/p2"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "effectiveDateTime": "2021-01-01", "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}})).await;
    put(&e, json!({"resourceType": "Provenance", "id": "prov1", "target": [{"reference": "Observation/o1"}],
        "recorded": "2020-03-04T10:00:00Z", "agent": [{"who": {"reference": "Organization/org1"}}]})).await;
    (d, e)
}

#[tokio::test]
async fn strings_match_by_folded_prefix_exact_and_contains() {
    let (_d, e) = fixture().await;
    assert_eq!(ids(&e, "Patient", "name=mul").await, ["p1"]);
    assert_eq!(ids(&e, "Patient", "name=ZOE").await, ["p1"]);
    assert_eq!(ids(&e, "Patient", "family:exact=Müller").await, ["p1"]);
    assert!(ids(&e, "Patient", "family:exact=muller").await.is_empty());
    assert_eq!(ids(&e, "Patient", "name:contains=mit").await, ["p2"]);
}

#[tokio::test]
async fn tokens_match_system_code_text_not_and_of_type() {
    let (_d, e) = fixture().await;
    assert_eq!(ids(&e, "Observation", "code=http://loinc.org|29463-7").await, ["o1"]);
    assert_eq!(ids(&e, "Observation", "code=29463-7,8867-4").await, ["o1", "o2"]);
    assert!(ids(&e, "Observation", "code=|29463-7").await.is_empty());
    assert_eq!(ids(&e, "Observation", "code=http://loinc.org|").await, ["o1", "o2"]);
    assert_eq!(ids(&e, "Observation", "code:text=heart").await, ["o2"]);
    assert_eq!(ids(&e, "Observation", "status:not=final").await, ["o2"]);
    assert_eq!(ids(&e, "Patient", "identifier=urn:mrn|A1").await, ["p1"]);
    assert_eq!(ids(&e, "Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|A1").await, ["p1"]);
    assert_eq!(ids(&e, "Patient", "active=true").await, ["p1"]);
    assert_eq!(ids(&e, "Patient", "gender:in=http://hl7.org/fhir/ValueSet/administrative-gender").await, ["p1", "p2"],
        "a bound code takes its value set's system");
    assert_eq!(ids(&e, "Patient", "gender=http://hl7.org/fhir/administrative-gender|male").await, ["p2"]);
    assert_eq!(ids(&e, "Patient", "gender:not-in=http://hl7.org/fhir/ValueSet/administrative-gender").await, Vec::<String>::new());
    assert_eq!(ids(&e, "Patient", "active:missing=true").await, ["p2"]);
}

#[tokio::test]
async fn dates_respect_precision_and_prefixes() {
    let (_d, e) = fixture().await;
    assert_eq!(ids(&e, "Patient", "birthdate=1980").await, ["p1"]);
    assert_eq!(ids(&e, "Patient", "birthdate=1975").await, ["p2"]);
    assert!(ids(&e, "Patient", "birthdate=1975-06").await.is_empty(), "1975 is not within June 1975");
    assert_eq!(ids(&e, "Patient", "birthdate=lt1980").await, ["p2"]);
    assert_eq!(ids(&e, "Patient", "birthdate=ge1980-05-12").await, ["p1"]);
    assert_eq!(ids(&e, "Observation", "date=gt2020-03-04T09:00:00Z").await, ["o1", "o2"]);
    assert_eq!(ids(&e, "Observation", "date=sa2020-12-31").await, ["o2"]);
    assert_eq!(ids(&e, "Observation", "date=ge2020&date=le2020").await, ["o1"]);
    assert_eq!(ids(&e, "Observation", "date=ap2020-03-04").await, ["o1"]);
}

#[tokio::test]
async fn quantities_compare_in_canonical_units() {
    let (_d, e) = fixture().await;
    assert_eq!(ids(&e, "Observation", "value-quantity=5.4|http://unitsofmeasure.org|g").await, ["o1"]);
    assert_eq!(ids(&e, "Observation", "value-quantity=5400|http://unitsofmeasure.org|mg").await, ["o1"]);
    assert_eq!(ids(&e, "Observation", "value-quantity=gt5|http://unitsofmeasure.org|g").await, ["o1"]);
    assert_eq!(ids(&e, "Observation", "value-quantity=72||/min").await, ["o2"]);
    assert_eq!(ids(&e, "Observation", "value-quantity=lt100").await, ["o2"]);
    assert_eq!(ids(&e, "Observation", "code-value-quantity=http://loinc.org|8867-4$gt70").await, ["o2"]);
}

#[tokio::test]
async fn references_chains_and_has() {
    let (_d, e) = fixture().await;
    assert_eq!(ids(&e, "Observation", "subject=Patient/p1").await, ["o1"]);
    assert_eq!(ids(&e, "Observation", "patient=p2").await, ["o2"]);
    assert_eq!(ids(&e, "Observation", "subject:Patient=p2").await, ["o2"]);
    assert_eq!(ids(&e, "Observation", "subject:Patient.name=smith").await, ["o2"]);
    assert_eq!(ids(&e, "Observation", "patient.organization.name=acme").await, ["o1"]);
    assert_eq!(ids(&e, "Patient", "_has:Observation:patient:code=8867-4").await, ["p2"]);
    assert_eq!(ids(&e, "Patient", "_has:Observation:patient:_has:Provenance:target:agent=Organization/org1").await, ["p1"]);
    assert_eq!(ids(&e, "Patient", "organization:missing=true").await, ["p2"]);
}

#[tokio::test]
async fn includes_revincludes_and_iterate() {
    let (_d, e) = fixture().await;
    let r = search(&e, "Observation", "code=29463-7&_include=Observation:subject&_revinclude=Provenance:target").await.expect("search");
    let mut inc: Vec<String> = r.included.iter().map(|v| format!("{}/{}", v.resource_type, v.id)).collect();
    inc.sort();
    assert_eq!(inc, ["Patient/p1", "Provenance/prov1"]);
    let r = search(&e, "Observation", "_id=o1&_include=Observation:subject&_include:iterate=Patient:organization").await.expect("iterate");
    assert!(r.included.iter().any(|v| v.id == "org1"), "{:?}", r.included.iter().map(|v| &v.id).collect::<Vec<_>>());
    let r = search(&e, "Observation", "_id=o1&_include=*").await.expect("star");
    assert!(r.included.iter().any(|v| v.id == "p1"));
}

#[tokio::test]
async fn compartment_and_system_searches() {
    let (_d, e) = fixture().await;
    let r = e
        .search(&Caller::system(), SearchRequest {
            resource_type: Some("Observation".into()),
            compartment: Some(("Patient".into(), "p1".into())),
            ..Default::default()
        })
        .await
        .expect("compartment");
    assert_eq!(r.matches.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["o1"]);
    let mut all = ids(&e, "", "_type=Patient,Observation&_id=p1,o2").await;
    all.sort();
    assert_eq!(all, ["o2", "p1"]);
}

#[tokio::test]
async fn paging_by_cursor_survives_writes_between_pages() {
    let (_d, e) = engine();
    for i in 0..25 {
        put(&e, json!({"resourceType": "Patient", "id": format!("p{i:02}"), "birthDate": format!("19{:02}", 50 + i)})).await;
    }
    let first = search(&e, "Patient", "_count=10&_sort=-birthdate").await.expect("page 1");
    assert_eq!(first.total, Some(25));
    assert_eq!(first.matches[0].id, "p24");
    // A resource that sorts before the cursor, written between pages, neither shifts nor repeats the rest.
    put(&e, json!({"resourceType": "Patient", "id": "late", "birthDate": "2000"})).await;
    let mut seen: Vec<String> = first.matches.iter().map(|v| v.id.clone()).collect();
    let mut next = first.next.clone();
    while let Some(token) = next {
        let page = search(&e, "Patient", &format!("_cursor={token}")).await.expect("next page");
        seen.extend(page.matches.iter().map(|v| v.id.clone()));
        next = page.next;
    }
    let expected: Vec<String> = (0..25).rev().map(|i| format!("p{i:02}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn sorting_on_several_keys_and_totals() {
    let (_d, e) = fixture().await;
    let r = search(&e, "Patient", "_sort=gender,-birthdate&_total=none").await.expect("sort");
    assert_eq!(r.matches.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["p1", "p2"]);
    assert_eq!(r.total, None);
    let r = search(&e, "Observation", "_summary=count").await.expect("count");
    assert_eq!((r.total, r.matches.len()), (Some(2), 0));
    let r = search(&e, "Patient", "_id=p1&_elements=gender").await.expect("elements");
    let body: Value = serde_json::from_slice(r.matches[0].body.as_deref().expect("body")).expect("json");
    assert!(body.get("gender").is_some() && body.get("name").is_none());
    assert_eq!(body["meta"]["tag"][0]["code"], "SUBSETTED");
}

#[tokio::test]
async fn unknown_parameters_are_bad_requests_unless_lenient() {
    let (_d, e) = fixture().await;
    let err = search(&e, "Patient", "nonsense=1").await.expect_err("unknown");
    assert!(matches!(&err, EngineError::BadRequest { message, .. } if message.contains("nonsense")), "{err}");
    let r = e
        .search(&Caller::system(), SearchRequest {
            resource_type: Some("Patient".into()),
            params: vec![("nonsense".into(), "1".into()), ("gender".into(), "male".into())],
            lenient: true,
            ..Default::default()
        })
        .await
        .expect("lenient");
    assert_eq!(r.matches.len(), 1);
    assert!(r.issues.iter().any(|i| i.contains("nonsense")));
}

#[tokio::test]
async fn conditional_create_update_and_delete() {
    let (_d, e) = fixture().await;
    let sys = Caller::system();
    let create = |ine: &str| Entry::Create {
        resource: json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "A1"}]}),
        id: None,
        if_none_exist: Some(ine.to_string()),
    };
    let existing = e.commit(&sys, vec![create("identifier=urn:mrn|A1")]).await.expect("exists");
    assert_eq!((existing[0].effect, existing[0].id.as_str()), (Effect::Unchanged, "p1"));
    let made = e.commit(&sys, vec![create("identifier=urn:mrn|NEW")]).await.expect("created");
    assert_eq!(made[0].effect, Effect::Created);
    let err = e.commit(&sys, vec![create("identifier=urn:mrn|")]).await.expect_err("several");
    assert!(matches!(err, EngineError::PreconditionFailed(_)), "{err}");
    let err = e.commit(&sys, vec![create("bogus=1")]).await.expect_err("unknown criteria");
    assert!(matches!(err, EngineError::BadRequest { .. }), "{err}");

    let update = Entry::ConditionalUpdate {
        resource_type: "Patient".into(),
        criteria: "identifier=urn%3Amrn%7CB2".into(),
        resource: json!({"resourceType": "Patient", "gender": "other", "identifier": [{"system": "urn:mrn", "value": "B2"}]}),
    };
    let updated = e.commit(&sys, vec![update]).await.expect("conditional update");
    assert_eq!((updated[0].effect, updated[0].id.as_str()), (Effect::Updated, "p2"));
    assert_eq!(ids(&e, "Patient", "gender=other").await, ["p2"]);

    let delete = Entry::ConditionalDelete { resource_type: "Observation".into(), criteria: "code=8867-4".into() };
    let deleted = e.commit(&sys, vec![delete.clone()]).await.expect("conditional delete");
    assert_eq!(deleted[0].effect, Effect::Deleted);
    assert!(ids(&e, "Observation", "code=8867-4").await.is_empty(), "a deleted resource leaves the index");
    let none = e.commit(&sys, vec![delete]).await.expect("nothing to delete");
    assert_eq!(none[0].effect, Effect::AlreadyDeleted);
}

#[tokio::test]
async fn updates_replace_index_rows() {
    let (_d, e) = fixture().await;
    let update = Entry::Update {
        resource_type: "Patient".into(),
        id: "p2".into(),
        resource: json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Jones"}]}),
        if_match: None,
    };
    e.commit(&Caller::system(), vec![update]).await.expect("update");
    assert!(ids(&e, "Patient", "name=smith").await.is_empty());
    assert_eq!(ids(&e, "Patient", "name=jones").await, ["p2"]);
}

#[tokio::test]
async fn custom_search_parameters_take_effect() {
    let (_d, e) = fixture().await;
    let sp = json!({"resourceType": "SearchParameter", "id": "eye", "url": "http://example.org/sp/eye-colour", "name": "eye",
        "status": "active", "code": "eye-colour", "base": ["Patient"], "type": "token", "description": "eye colour",
        "expression": "Patient.extension.where(url = 'http://example.org/eye').value"});
    put(&e, sp).await;
    put(&e, json!({"resourceType": "Patient", "id": "p3", "extension": [{"url": "http://example.org/eye", "valueCode": "blue"}]})).await;
    assert_eq!(ids(&e, "Patient", "eye-colour=blue").await, ["p3"]);
}

#[tokio::test]
async fn a_reindex_makes_existing_resources_searchable_by_a_new_parameter() {
    let (_d, e) = fixture().await;
    put(&e, json!({"resourceType": "Patient", "id": "p4", "extension": [{"url": "http://example.org/eye", "valueCode": "green"}]})).await;
    let sp = json!({"resourceType": "SearchParameter", "id": "eye", "url": "http://example.org/sp/eye-colour", "name": "eye",
        "status": "active", "code": "eye-colour", "base": ["Patient"], "type": "token", "description": "eye colour",
        "expression": "Patient.extension.where(url = 'http://example.org/eye').value"});
    put(&e, sp).await;
    assert!(e.search_parameters("Patient").iter().any(|p| p.code == "eye-colour" && p.param_type == "token"));
    assert!(ids(&e, "Patient", "eye-colour=green").await.is_empty(), "indexed before the parameter existed");
    let n = e.reindex(&Caller::system(), Some("Patient")).await.expect("reindex");
    assert_eq!(n, 3);
    assert_eq!(ids(&e, "Patient", "eye-colour=green").await, ["p4"]);
    assert_eq!(ids(&e, "Patient", "name=smith").await, ["p2"], "other parameters survive the reindex");
}

#[tokio::test]
async fn full_text_searches_the_narrative_and_the_content() {
    let (_d, e) = fixture().await;
    put(&e, json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Seasonal <b>allergic</b> rhinitis</div>"},
        "code": {"text": "Hay fever"}, "note": [{"text": "Worse in spring"}]})).await;
    assert_eq!(ids(&e, "Condition", "_text=allergic rhinitis").await, ["c1"]);
    assert!(ids(&e, "Condition", "_text=fever").await.is_empty(), "the code's text is content, not narrative");
    assert_eq!(ids(&e, "Condition", "_content=hay fever").await, ["c1"]);
    assert_eq!(ids(&e, "Condition", "_content=nothing,SPRING").await, ["c1"]);
    assert_eq!(ids(&e, "Patient", "_content=zoe").await, ["p1"]);
    // a new version replaces the text; a deletion removes it
    let update = Entry::Update {
        resource_type: "Condition".into(),
        id: "c1".into(),
        resource: json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}, "code": {"text": "Asthma"}}),
        if_match: None,
    };
    e.commit(&Caller::system(), vec![update]).await.expect("update");
    assert!(ids(&e, "Condition", "_content=fever").await.is_empty());
    assert_eq!(ids(&e, "Condition", "_content=asthma").await, ["c1"]);
    let delete = Entry::Delete { resource_type: "Condition".into(), id: "c1".into(), if_match: None };
    e.commit(&Caller::system(), vec![delete]).await.expect("delete");
    assert!(ids(&e, "Condition", "_content=asthma").await.is_empty());
    assert!(search(&e, "Condition", "_content=\"*").await.is_err(), "no word to find");
}

#[tokio::test]
async fn a_large_commit_is_indexed_in_parallel_and_reports_the_first_bad_entry() {
    let (_d, e) = engine();
    let entry = |i: usize| Entry::Create {
        resource: json!({"resourceType": "Patient", "name": [{"family": format!("Fam{i}")}]}),
        id: Some(format!("p{i}")),
        if_none_exist: None,
    };
    let mut entries: Vec<Entry> = (0..100).map(entry).collect();
    entries[80] = Entry::Create { resource: json!({"resourceType": "Nope"}), id: None, if_none_exist: None };
    entries[90] = Entry::Create { resource: json!({"resourceType": "AlsoNope"}), id: None, if_none_exist: None };
    let err = e.commit(&Caller::system(), entries).await.expect_err("bad entries");
    assert!(matches!(err, EngineError::InEntry { index: 80, .. }), "{err:?}");
    e.commit(&Caller::system(), (0..100).map(entry).collect()).await.expect("good entries");
    assert_eq!(ids(&e, "Patient", "family=fam99").await, ["p99"]);
    assert_eq!(search(&e, "Patient", "_summary=count").await.expect("count").total, Some(100));
}

#[tokio::test]
async fn garbage_queries_never_panic() {
    let (_d, e) = fixture().await;
    let junk = [
        "name=", "birthdate=ge", "birthdate=2019-13-45", "value-quantity=abc|x", "_count=-1", "_count=99999999999999999999",
        "subject=Nope/1", "subject.=x", ".=x", "_has=x", "_has:Observation=x", "_has:Observation:patient=x", "_sort=-",
        "_include=x", "_include=Observation", "_revinclude=:::", "code=a|b|c", "code:in=http://nope", "a:b:c=d",
        "code-value-quantity=x", "code-value-quantity=a$b$c", "_cursor=%%%", "_summary=maybe", "_total=many",
        "date=ap", "identifier:of-type=x", "subject:Patient.name:exact.x=1", "_lastUpdated=x", "\u{0}=\u{0}",
        "name:contains=%_\\", "_id=", "_type=Nope", "_list=", "_list=$x", "_list=a/b", "_list:not=1", "code:below=",
        "code:below=|", "code:above=x|", "code:below=http://x|y,z", "code:below=a\\|b|c", "name:below=x|y",
    ];
    let mut errors = 0;
    for q in junk {
        for ty in ["Observation", "Patient", ""] {
            if search(&e, ty, q).await.is_err() {
                errors += 1;
            }
        }
    }
    println!("garbage queries refused: {errors} of {}", junk.len() * 3);
    let many = vec!["x"; 400].join(",");
    let err = search(&e, "Provenance", &format!("target.name={many}")).await.expect_err("too large");
    assert!(matches!(err, EngineError::BadRequest { .. }), "{err}");
}

async fn update(engine: &Engine, resource: Value) {
    let (ty, id) = (resource["resourceType"].as_str().expect("type"), resource["id"].as_str().expect("id"));
    let entry = Entry::Update { resource_type: ty.into(), id: id.into(), resource: resource.clone(), if_match: None };
    engine.commit(&Caller::system(), vec![entry]).await.expect("update");
}

async fn delete(engine: &Engine, ty: &str, id: &str) {
    let entry = Entry::Delete { resource_type: ty.into(), id: id.into(), if_match: None };
    engine.commit(&Caller::system(), vec![entry]).await.expect("delete");
}

fn list(id: &str, items: &[&str]) -> Value {
    let entries: Vec<Value> = items.iter().map(|r| json!({"item": {"reference": r}})).collect();
    json!({"resourceType": "List", "id": id, "status": "current", "mode": "working", "entry": entries})
}

fn included(r: &SearchResult) -> Vec<String> {
    let mut out: Vec<String> = r.included.iter().map(|v| format!("{}/{}", v.resource_type, v.id)).collect();
    out.sort();
    out
}

// `_list` (R4 search 3.1.1.4.6): the resources a List's entries refer to.

#[tokio::test]
async fn list_matches_the_resources_its_entries_refer_to() {
    let (_d, e) = fixture().await;
    put(&e, list("l1", &["Patient/p1", "Observation/o1"])).await;
    assert_eq!(ids(&e, "Patient", "_list=l1").await, ["p1"]);
    assert_eq!(ids(&e, "Observation", "_list=l1").await, ["o1"]);
    assert!(ids(&e, "Organization", "_list=l1").await.is_empty());
}

#[tokio::test]
async fn list_combines_with_other_parameters() {
    let (_d, e) = fixture().await;
    put(&e, list("l1", &["Observation/o1", "Observation/o2"])).await;
    assert_eq!(ids(&e, "Observation", "_list=l1&status=final").await, ["o1"]);
    assert_eq!(ids(&e, "Observation", "_list=l1&_list=l1").await, ["o1", "o2"]);
}

#[tokio::test]
async fn an_unknown_list_matches_nothing() {
    let (_d, e) = fixture().await;
    assert!(ids(&e, "Patient", "_list=nope").await.is_empty());
}

#[tokio::test]
async fn a_deleted_list_matches_nothing() {
    let (_d, e) = fixture().await;
    put(&e, list("l1", &["Patient/p1"])).await;
    delete(&e, "List", "l1").await;
    assert!(ids(&e, "Patient", "_list=l1").await.is_empty());
}

#[tokio::test]
async fn list_reads_the_current_version_of_the_list() {
    let (_d, e) = fixture().await;
    put(&e, list("l1", &["Patient/p1"])).await;
    update(&e, list("l1", &["Patient/p2"])).await;
    assert_eq!(ids(&e, "Patient", "_list=l1").await, ["p2"]);
}

#[tokio::test]
async fn a_system_search_by_list_returns_every_listed_type() {
    let (_d, e) = fixture().await;
    put(&e, list("l1", &["Patient/p1", "Observation/o2", "Organization/org1"])).await;
    assert_eq!(ids(&e, "", "_list=l1").await, ["o2", "org1", "p1"]);
}

#[tokio::test]
async fn functional_lists_are_not_supported() {
    let (_d, e) = fixture().await;
    let err = search(&e, "Condition", "_list=$current-problems").await.expect_err("functional list");
    assert!(matches!(&err, EngineError::NotSupported(m) if m.contains("functional")), "{err}");
}

// `_include` / `_revinclude` of canonical references (R4 search 3.1.1.5.5): the canonical
// resource whose `url` (and `version`, when named) matches; the latest version when unnamed.

const INTAKE: &str = "http://example.org/Questionnaire/intake";

async fn questionnaires() -> (tempfile::TempDir, Engine) {
    let (d, e) = engine();
    for (id, version) in [("q1", "1.9"), ("q2", "1.10")] {
        put(&e, json!({"resourceType": "Questionnaire", "id": id, "url": INTAKE, "version": version, "status": "active"})).await;
    }
    put(&e, json!({"resourceType": "Questionnaire", "id": "q3", "url": "http://example.org/Questionnaire/other", "status": "active"})).await;
    put(&e, json!({"resourceType": "QuestionnaireResponse", "id": "r1", "status": "completed", "questionnaire": INTAKE})).await;
    put(&e, json!({"resourceType": "QuestionnaireResponse", "id": "r2", "status": "completed", "questionnaire": format!("{INTAKE}|1.9")})).await;
    (d, e)
}

#[tokio::test]
async fn include_follows_a_versioned_canonical_to_that_version() {
    let (_d, e) = questionnaires().await;
    let r = search(&e, "QuestionnaireResponse", "_id=r2&_include=QuestionnaireResponse:questionnaire").await.expect("search");
    assert_eq!(included(&r), ["Questionnaire/q1"]);
}

#[tokio::test]
async fn include_follows_an_unversioned_canonical_to_the_highest_version() {
    let (_d, e) = questionnaires().await;
    let r = search(&e, "QuestionnaireResponse", "_id=r1&_include=QuestionnaireResponse:questionnaire").await.expect("search");
    assert_eq!(included(&r), ["Questionnaire/q2"], "1.10 is a later version than 1.9");
}

#[tokio::test]
async fn include_of_an_unversioned_canonical_without_versions_takes_the_most_recently_updated() {
    let (_d, e) = engine();
    let url = "http://example.org/PlanDefinition/diabetes";
    put(&e, json!({"resourceType": "PlanDefinition", "id": "pd-old", "url": url, "status": "active"})).await;
    put(&e, json!({"resourceType": "PlanDefinition", "id": "pd-new", "url": url, "status": "active"})).await;
    put(&e, json!({"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
        "subject": {"reference": "Patient/p1"}, "instantiatesCanonical": [url]})).await;
    let r = search(&e, "CarePlan", "_include=CarePlan:instantiates-canonical").await.expect("search");
    assert_eq!(included(&r), ["PlanDefinition/pd-new"]);
}

#[tokio::test]
async fn include_of_a_canonical_skips_deleted_definitions() {
    let (_d, e) = questionnaires().await;
    delete(&e, "Questionnaire", "q2").await;
    let r = search(&e, "QuestionnaireResponse", "_id=r1&_include=QuestionnaireResponse:questionnaire").await.expect("search");
    assert_eq!(included(&r), ["Questionnaire/q1"], "the latest remaining version");
}

#[tokio::test]
async fn include_of_a_canonical_respects_the_target_type() {
    let (_d, e) = questionnaires().await;
    let r = search(&e, "QuestionnaireResponse", "_id=r1&_include=QuestionnaireResponse:questionnaire:Questionnaire")
        .await
        .expect("search");
    assert_eq!(included(&r), ["Questionnaire/q2"]);
    let r = search(&e, "QuestionnaireResponse", "_id=r1&_include=*").await.expect("star");
    assert_eq!(included(&r), ["Questionnaire/q2"]);
}

#[tokio::test]
async fn revinclude_finds_canonical_references_to_the_version_they_name() {
    let (_d, e) = questionnaires().await;
    let r = search(&e, "Questionnaire", "_id=q1&_revinclude=QuestionnaireResponse:questionnaire").await.expect("q1");
    assert_eq!(included(&r), ["QuestionnaireResponse/r2"]);
    let r = search(&e, "Questionnaire", "_id=q2&_revinclude=QuestionnaireResponse:questionnaire").await.expect("q2");
    assert_eq!(included(&r), ["QuestionnaireResponse/r1"], "an unversioned reference means the latest version");
    let r = search(&e, "Questionnaire", "_id=q3&_revinclude=QuestionnaireResponse:questionnaire").await.expect("q3");
    assert!(included(&r).is_empty());
}

#[tokio::test]
async fn include_iterate_follows_plan_definition_action_definitions() {
    let (_d, e) = engine();
    let (plan, activity) = ("http://example.org/PlanDefinition/flu", "http://example.org/ActivityDefinition/vaccinate");
    put(&e, json!({"resourceType": "ActivityDefinition", "id": "ad1", "url": activity, "version": "2", "status": "active"})).await;
    put(&e, json!({"resourceType": "PlanDefinition", "id": "pd1", "url": plan, "status": "active",
        "action": [{"title": "Vaccinate", "definitionCanonical": format!("{activity}|2")}]})).await;
    put(&e, json!({"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
        "subject": {"reference": "Patient/p1"}, "instantiatesCanonical": [plan]})).await;
    let r = search(&e, "CarePlan", "_include=CarePlan:instantiates-canonical&_include:iterate=PlanDefinition:definition")
        .await
        .expect("search");
    assert_eq!(included(&r), ["ActivityDefinition/ad1", "PlanDefinition/pd1"]);
}

// Token `:below` / `:above` (R4: subsumption) through the server's CodeSystem hierarchies.

const CS: &str = "http://example.org/cs";

/// A is-a hierarchy: A above B above C, A above D; E alone. One Condition of Patient p1 per
/// code, and one coded in another system.
async fn coded_conditions() -> (tempfile::TempDir, Engine) {
    let (d, e) = engine();
    put(&e, json!({"resourceType": "Patient", "id": "p1"})).await;
    put(&e, json!({"resourceType": "CodeSystem", "id": "cs", "url": CS, "version": "1", "status": "active", "content": "complete",
        "hierarchyMeaning": "is-a", "concept": [
            {"code": "A", "concept": [{"code": "B", "concept": [{"code": "C"}]}, {"code": "D"}]}, {"code": "E"}]})).await;
    for code in ["A", "B", "C", "D", "E"] {
        put(&e, condition(&format!("c{code}"), CS, code)).await;
    }
    put(&e, condition("cX", "http://example.org/other", "B")).await;
    (d, e)
}

fn condition(id: &str, system: &str, code: &str) -> Value {
    json!({"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": system, "code": code}]}})
}

#[tokio::test]
async fn token_below_matches_the_code_and_its_descendants() {
    let (_d, e) = coded_conditions().await;
    assert_eq!(ids(&e, "Condition", &format!("code:below={CS}|B")).await, ["cB", "cC"]);
    assert_eq!(ids(&e, "Condition", &format!("code:below={CS}|A")).await, ["cA", "cB", "cC", "cD"]);
    assert_eq!(ids(&e, "Condition", &format!("code:below={CS}|E")).await, ["cE"]);
}

#[tokio::test]
async fn token_above_matches_the_code_and_its_ancestors() {
    let (_d, e) = coded_conditions().await;
    assert_eq!(ids(&e, "Condition", &format!("code:above={CS}|C")).await, ["cA", "cB", "cC"]);
    assert_eq!(ids(&e, "Condition", &format!("code:above={CS}|D")).await, ["cA", "cD"]);
}

#[tokio::test]
async fn token_below_takes_alternatives_and_other_parameters() {
    let (_d, e) = coded_conditions().await;
    assert_eq!(ids(&e, "Condition", &format!("code:below={CS}|C,{CS}|D")).await, ["cC", "cD"]);
    assert_eq!(ids(&e, "Condition", &format!("code:below={CS}|A&_id=cB,cE")).await, ["cB"]);
    assert_eq!(ids(&e, "Patient", &format!("_has:Condition:patient:code:below={CS}|D")).await, ["p1"]);
}

#[tokio::test]
async fn token_below_on_a_system_without_a_code_system_is_refused() {
    let (_d, e) = coded_conditions().await;
    let err = search(&e, "Condition", "code:below=http://snomed.info/sct|73211009").await.expect_err("no CodeSystem");
    assert!(
        matches!(&err, EngineError::BadRequest { message, .. }
            if message.contains("cannot evaluate subsumption") && message.contains("http://snomed.info/sct")),
        "{err}"
    );
    let err = search(&e, "Condition", "code:below=B").await.expect_err("no system");
    assert!(matches!(&err, EngineError::BadRequest { message, .. } if message.contains("system|code")), "{err}");
}

#[tokio::test]
async fn token_below_on_a_code_the_code_system_lacks_is_refused() {
    let (_d, e) = coded_conditions().await;
    let err = search(&e, "Condition", &format!("code:below={CS}|Z")).await.expect_err("unknown code");
    assert!(matches!(&err, EngineError::BadRequest { message, .. } if message.contains("`Z`")), "{err}");
}

#[tokio::test]
async fn token_below_requires_an_is_a_hierarchy() {
    let (_d, e) = engine();
    put(&e, json!({"resourceType": "CodeSystem", "id": "g", "url": "http://example.org/groups", "status": "active",
        "content": "complete", "hierarchyMeaning": "grouped-by", "concept": [{"code": "G", "concept": [{"code": "H"}]}]})).await;
    let err = search(&e, "Condition", "code:below=http://example.org/groups|G").await.expect_err("grouped-by");
    assert!(matches!(&err, EngineError::BadRequest { message, .. } if message.contains("grouped-by")), "{err}");
}

#[tokio::test]
async fn token_below_follows_parent_properties() {
    let (_d, e) = engine();
    put(&e, json!({"resourceType": "CodeSystem", "id": "p", "url": CS, "status": "active", "content": "complete",
        "hierarchyMeaning": "is-a", "property": [{"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code"}],
        "concept": [{"code": "A"}, {"code": "B", "property": [{"code": "parent", "valueCode": "A"}]}, {"code": "C"}]})).await;
    for code in ["A", "B", "C"] {
        put(&e, condition(&format!("c{code}"), CS, code)).await;
    }
    assert_eq!(ids(&e, "Condition", &format!("code:below={CS}|A")).await, ["cA", "cB"]);
}

#[tokio::test]
async fn token_below_uses_the_latest_code_system_version() {
    let (_d, e) = coded_conditions().await;
    put(&e, json!({"resourceType": "CodeSystem", "id": "cs2", "url": CS, "version": "2", "status": "active",
        "content": "complete", "hierarchyMeaning": "is-a", "concept": [{"code": "E", "concept": [{"code": "A"}]}]})).await;
    assert_eq!(ids(&e, "Condition", &format!("code:below={CS}|E")).await, ["cA", "cE"], "version 2 puts A under E");
}

#[tokio::test]
async fn subsumption_is_refused_in_conditional_criteria() {
    let (_d, e) = coded_conditions().await;
    let entry = Entry::ConditionalDelete { resource_type: "Condition".into(), criteria: format!("code:below={CS}|A") };
    let err = e.commit(&Caller::system(), vec![entry]).await.expect_err("no subsumption in criteria");
    assert!(err.to_string().contains("searches only"), "{err}");
}

/// The specification's MolecularSequence examples (17 files), plus one made from
/// `graphic-example-4` with a variant: no example has both a chromosome and a variant, so
/// `chromosome-variant-coordinate` would otherwise have nothing to find.
async fn molecular_sequences() -> (tempfile::TempDir, Engine) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fhir-r4/examples-package");
    let (d, e) = engine();
    let mut stored = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())).flatten().collect();
    entries.sort_by_key(|f| f.file_name());
    for f in entries {
        let name = f.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("MolecularSequence-") && name.ends_with(".json")) {
            continue;
        }
        let text = std::fs::read_to_string(f.path()).unwrap_or_else(|err| panic!("{name}: {err}"));
        let resource: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
        if resource["id"] == "graphic-example-4" {
            let mut with_variant = resource.clone();
            with_variant["id"] = json!("chromosome-2-variant");
            with_variant["variant"] = json!([{"start": 128273737, "end": 128273738}]);
            put(&e, with_variant).await;
        }
        put(&e, resource).await;
        stored += 1;
    }
    println!("MolecularSequence examples stored: {stored}");
    assert!(stored >= 17, "the R4 examples package holds 17 MolecularSequence examples, found {stored}");
    (d, e)
}

#[tokio::test]
async fn chromosome_variant_coordinate_matches_chromosome_start_and_end() {
    let (_d, e) = molecular_sequences().await;
    let hits = |q: &'static str| ids(&e, "MolecularSequence", q);
    assert_eq!(hits("chromosome-variant-coordinate=2$ge128273737$le128273738").await, ["chromosome-2-variant"]);
    assert_eq!(
        hits("chromosome-variant-coordinate=http://terminology.hl7.org/CodeSystem/chromosome-human|2$128273737$128273738").await,
        ["chromosome-2-variant"]
    );
    assert!(hits("chromosome-variant-coordinate=2$gt128273737$le128273738").await.is_empty(), "the start is not after itself");
    assert!(hits("chromosome-variant-coordinate=2$ge128273737$lt128273738").await.is_empty(), "the end is not before itself");
    assert!(hits("chromosome-variant-coordinate=1$ge128273737$le128273738").await.is_empty(), "another chromosome");
    assert!(hits("chromosome-variant-coordinate=1$lt345$gt123").await.is_empty(), "the specification's example");
}

#[tokio::test]
async fn chromosome_window_coordinate_matches_the_reference_window() {
    let (_d, e) = molecular_sequences().await;
    let hits = |q: &'static str| ids(&e, "MolecularSequence", q);
    assert_eq!(hits("chromosome-window-coordinate=2$128273736$128273740").await, ["chromosome-2-variant", "graphic-example-4"]);
    assert_eq!(hits("chromosome-window-coordinate=2$le128273736$gt128273739").await, ["chromosome-2-variant", "graphic-example-4"]);
    assert!(hits("chromosome-window-coordinate=2$gt128273736$128273740").await.is_empty());
    assert!(hits("chromosome-window-coordinate=3$128273736$128273740").await.is_empty());
}

#[tokio::test]
async fn referenceseqid_variant_coordinate_matches_the_reference_sequence_and_each_variant() {
    let (_d, e) = molecular_sequences().await;
    let hits = |q: &'static str| ids(&e, "MolecularSequence", q);
    let fda = ["fda-example", "fda-vcf-comparison", "fda-vcfeval-comparison"];
    assert_eq!(hits("referenceseqid-variant-coordinate=NC_000001.11$13116$13117").await, fda);
    assert_eq!(hits("referenceseqid-variant-coordinate=http://www.ncbi.nlm.nih.gov/nuccore|NC_000001.11$lt13117$gt13116").await, fda);
    assert!(hits("referenceseqid-variant-coordinate=NC_000001.11$gt13116$13117").await.is_empty());
    assert_eq!(hits("referenceseqid-variant-coordinate=NG_007726.3$ge55227976$le55227977").await, ["example-pgx-1"]);
    assert_eq!(hits("referenceseqid-variant-coordinate=NG_007726.3$ge55227976$le55227979").await, ["example-pgx-1", "example-pgx-2"]);
    assert_eq!(
        hits("referenceseqid-variant-coordinate=NC_000002.12$ge128273724$le128273736").await,
        ["graphic-example-1", "sequence-complex-variant"]
    );
    assert!(hits("referenceseqid-variant-coordinate=NC_000009.11$lt345$gt123").await.is_empty());
}

#[tokio::test]
async fn referenceseqid_window_coordinate_matches_the_reference_sequence_window() {
    let (_d, e) = molecular_sequences().await;
    let hits = |q: &'static str| ids(&e, "MolecularSequence", q);
    assert_eq!(hits("referenceseqid-window-coordinate=NT_007592.15$18130918$18143955").await, ["example-TPMT-one", "example-TPMT-two"]);
    assert!(hits("referenceseqid-window-coordinate=NT_007592.15$gt18130918$18143955").await.is_empty());
    // The breast cancer example's system ends in a slash: the code alone finds it, the other
    // system does not.
    assert_eq!(hits("referenceseqid-window-coordinate=NM_000059.3$le101488058$ge101499444").await, ["breastcancer"]);
    assert!(hits("referenceseqid-window-coordinate=http://www.ncbi.nlm.nih.gov/nuccore|NM_000059.3$le101488058$ge101499444").await.is_empty());
}

#[tokio::test]
async fn a_coordinate_without_three_parts_is_a_bad_request_naming_the_parameter() {
    let (_d, e) = molecular_sequences().await;
    for q in ["chromosome-variant-coordinate=1$gt1000", "chromosome-variant-coordinate=1$gt1000$lt1500$9", "chromosome-variant-coordinate=1$$lt1500"] {
        let err = search(&e, "MolecularSequence", q).await.expect_err(q);
        assert!(
            matches!(&err, EngineError::BadRequest { message, .. } if message.contains("chromosome-variant-coordinate")),
            "{q}: {err}"
        );
    }
}
