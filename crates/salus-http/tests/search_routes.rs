//! Search over HTTP: the routes, the searchset Bundle, paging links, form posts, compartments,
//! and the unknown-parameter rules. (What each parameter matches is the engine's and
//! salus-search's to test; this is the HTTP face.)

mod server;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::TestServer;

async fn seed(s: &TestServer) -> String {
    let patient = json!({"resourceType": "Patient", "id": "pat1", "gender": "female", "name": [{"family": "Smith"}]});
    s.put("/Patient/pat1", &patient, None).await;
    s.put("/Patient/pat2", &json!({"resourceType": "Patient", "id": "pat2", "gender": "male", "name": [{"family": "Jones"}]}), None).await;
    for i in 0..3 {
        let obs = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": "Patient/pat1"}, "valueQuantity": {"value": 70 + i, "unit": "kg"}});
        s.create(&obs).await;
    }
    "pat1".into()
}

fn ids(bundle: &Value, mode: &str) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn type_search_answers_a_searchset_with_total_and_self_link() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (status, bundle) = s.get_json("/Patient?gender=female").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((bundle["type"].as_str(), bundle["total"].as_u64()), (Some("searchset"), Some(1)));
    assert_eq!(ids(&bundle, "match"), ["pat1"]);
    assert!(bundle["link"][0]["url"].as_str().is_some_and(|u| u.ends_with("/fhir/Patient?gender=female")));
}

#[tokio::test]
async fn next_links_page_through_every_match_once() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (_, mut page) = s.get_json("/Observation?_count=2").await;
    let mut seen = Vec::new();
    loop {
        seen.extend(ids(&page, "match"));
        let next = page["link"].as_array().into_iter().flatten().find(|l| l["relation"] == "next");
        let Some(url) = next.and_then(|l| l["url"].as_str()) else { break };
        page = s.client.get(url).send().await.expect("send").json().await.expect("json");
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3);
}

#[tokio::test]
async fn post_search_takes_a_form_body() {
    let s = TestServer::start().await;
    seed(&s).await;
    let r = s
        .client
        .post(s.url("/Patient/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("family=Jones")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let bundle: Value = r.json().await.expect("json");
    assert_eq!(ids(&bundle, "match"), ["pat2"]);
}

#[tokio::test]
async fn compartment_search_finds_the_patients_resources() {
    let s = TestServer::start().await;
    let patient = seed(&s).await;
    let (status, bundle) = s.get_json(&format!("/Patient/{patient}/Observation")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 3);
    let (_, other) = s.get_json("/Patient/pat2/Observation").await;
    assert_eq!(other["total"], 0);
}

#[tokio::test]
async fn includes_are_marked_as_such() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (_, bundle) = s.get_json("/Observation?_include=Observation:subject&_count=1").await;
    assert_eq!(ids(&bundle, "match").len(), 1);
    assert_eq!(ids(&bundle, "include"), ["pat1"]);
}

#[tokio::test]
async fn an_unknown_parameter_is_400_unless_handling_is_lenient() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (status, outcome) = s.get_json("/Patient?colour=blue").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(outcome["issue"][0]["diagnostics"].as_str().is_some_and(|d| d.contains("colour")));
    let r = s.client.get(s.url("/Patient?colour=blue")).header("Prefer", "handling=lenient").send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let bundle: Value = r.json().await.expect("json");
    let outcome = bundle["entry"].as_array().into_iter().flatten().find(|e| e["search"]["mode"] == "outcome");
    assert!(outcome.is_some(), "the ignored parameter is reported in the bundle");
    assert_eq!(ids(&bundle, "match").len(), 2);
}

#[tokio::test]
async fn system_search_takes_type() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (status, bundle) = s.get_json("?_type=Patient").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 2);
}
