//! The FHIR REST interactions of issue 2, each with its error paths, against a real server on
//! 127.0.0.1:0 over real HTTP.

mod server;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::TestServer;

fn patient(id: Option<&str>) -> Value {
    let mut p = json!({"resourceType": "Patient", "gender": "female", "birthDate": "1970-01-01"});
    if let Some(id) = id {
        p["id"] = json!(id);
    }
    p
}

fn diagnostics(body: &Value) -> String {
    body["issue"][0]["diagnostics"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn metadata_is_a_capability_statement_listing_every_resource_type() {
    let s = TestServer::start().await;
    let (status, body) = s.get_json("/metadata").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["resourceType"], "CapabilityStatement");
    assert_eq!(body["fhirVersion"], "4.0.1");
    let resources = body["rest"][0]["resource"].as_array().map(Vec::len);
    assert_eq!(resources, Some(146));
}

#[tokio::test]
async fn metadata_lists_each_resources_search_parameters_and_is_itself_valid() {
    let s = TestServer::start().await;
    let (_, body) = s.get_json("/metadata").await;
    let observation = body["rest"][0]["resource"].as_array().into_iter().flatten().find(|r| r["type"] == "Observation");
    let names: Vec<&str> = observation
        .and_then(|o| o["searchParam"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for expected in ["code", "patient", "date", "value-quantity", "_id", "_lastUpdated"] {
        assert!(names.contains(&expected), "Observation search parameters lack {expected}: {names:?}");
    }
    let outcome = salus_validator::Validator::new().validate(&body);
    assert!(outcome.is_valid(), "{}", outcome.to_operation_outcome());
}

#[tokio::test]
async fn create_answers_201_with_location_etag_and_the_stored_resource() {
    let s = TestServer::start().await;
    let r = s.post("/Patient", &patient(Some("client-id"))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let body: Value = r.json().await.expect("json");
    let id = body["id"].as_str().unwrap_or_default();
    assert_ne!(id, "client-id", "create assigns its own id");
    assert_eq!(etag.as_deref(), Some("W/\"1\""));
    assert!(location.ends_with(&format!("/fhir/Patient/{id}/_history/1")), "{location}");
    assert_eq!(body["meta"]["versionId"], "1");
}

#[tokio::test]
async fn create_with_a_body_of_another_type_is_refused() {
    let s = TestServer::start().await;
    let r = s.post("/Observation", &patient(None)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.expect("json");
    assert!(diagnostics(&body).contains("URL names Observation"));
}

#[tokio::test]
async fn an_unknown_resource_type_is_404() {
    let s = TestServer::start().await;
    let (status, body) = s.get_json("/Patientt/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["resourceType"], "OperationOutcome");
    let r = s.post("/Patientt", &json!({"resourceType": "Patientt"})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn read_returns_the_current_version_and_404_for_unknown_ids() {
    let s = TestServer::start().await;
    let id = s.create(&patient(None)).await;
    let (status, body) = s.get_json(&format!("/Patient/{id}")).await;
    assert_eq!((status, body["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let (status, body) = s.get_json("/Patient/does-not-exist").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["issue"][0]["code"], "not-found");
}

#[tokio::test]
async fn update_creates_with_the_client_id_then_updates() {
    let s = TestServer::start().await;
    let r = s.put("/Patient/chosen-1", &patient(Some("chosen-1")), None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut changed = patient(Some("chosen-1"));
    changed["gender"] = json!("male");
    let r = s.put("/Patient/chosen-1", &changed, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!((body["meta"]["versionId"].as_str(), body["gender"].as_str()), (Some("2"), Some("male")));
}

#[tokio::test]
async fn update_with_an_id_that_differs_from_the_url_is_refused() {
    let s = TestServer::start().await;
    let r = s.put("/Patient/a", &patient(Some("b")), None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["issue"][0]["expression"][0], "Patient.id");
}

#[tokio::test]
async fn update_with_an_invalid_id_names_the_element() {
    let s = TestServer::start().await;
    let r = s.put("/Patient/a_b", &patient(Some("a_b")), None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["issue"][0]["expression"][0], "Patient.id");
}

#[tokio::test]
async fn a_stale_if_match_answers_412_and_changes_nothing() {
    let s = TestServer::start().await;
    let id = s.create(&patient(None)).await;
    let mut changed = patient(Some(&id));
    changed["gender"] = json!("male");
    let ok = s.put(&format!("/Patient/{id}"), &changed, Some("W/\"1\"")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    changed["gender"] = json!("other");
    let stale = s.put(&format!("/Patient/{id}"), &changed, Some("W/\"1\"")).await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let (_, body) = s.get_json(&format!("/Patient/{id}")).await;
    assert_eq!((body["gender"].as_str(), body["meta"]["versionId"].as_str()), (Some("male"), Some("2")));
}

#[tokio::test]
async fn conditional_reads_answer_304_when_nothing_changed() {
    let s = TestServer::start().await;
    let id = s.create(&patient(None)).await;
    let url = s.url(&format!("/Patient/{id}"));
    let same = s.client.get(&url).header("If-None-Match", "W/\"1\"").send().await.expect("send");
    assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
    let other = s.client.get(&url).header("If-None-Match", "W/\"7\"").send().await.expect("send");
    assert_eq!(other.status(), StatusCode::OK);
    let later = "Fri, 01 Jan 2100 00:00:00 GMT";
    let since = s.client.get(&url).header("If-Modified-Since", later).send().await.expect("send");
    assert_eq!(since.status(), StatusCode::NOT_MODIFIED);
    let earlier = "Thu, 01 Jan 1970 00:00:00 GMT";
    let since = s.client.get(&url).header("If-Modified-Since", earlier).send().await.expect("send");
    assert_eq!(since.status(), StatusCode::OK);
}

#[tokio::test]
async fn delete_then_read_is_410_and_history_keeps_every_version() {
    let s = TestServer::start().await;
    let id = s.create(&patient(None)).await;
    let r = s.client.delete(s.url(&format!("/Patient/{id}"))).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = s.get_json(&format!("/Patient/{id}")).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, body) = s.get_json(&format!("/Patient/{id}/_history/1")).await;
    assert_eq!((status, body["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let (status, _) = s.get_json(&format!("/Patient/{id}/_history/2")).await;
    assert_eq!(status, StatusCode::GONE);
    let (_, history) = s.get_json(&format!("/Patient/{id}/_history")).await;
    let methods: Vec<&str> =
        history["entry"].as_array().into_iter().flatten().filter_map(|e| e["request"]["method"].as_str()).collect();
    assert_eq!(methods, ["DELETE", "POST"]);
    let again = s.client.delete(s.url(&format!("/Patient/{id}"))).send().await.expect("send");
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    let missing = s.client.delete(s.url("/Patient/never-was")).send().await.expect("send");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn vread_of_an_unknown_version_is_404() {
    let s = TestServer::start().await;
    let id = s.create(&patient(None)).await;
    let (status, _) = s.get_json(&format!("/Patient/{id}/_history/9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.get_json(&format!("/Patient/{id}/_history/x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn json_patch_changes_the_resource_and_bad_patches_are_refused() {
    let s = TestServer::start().await;
    let id = s.create(&patient(None)).await;
    let url = s.url(&format!("/Patient/{id}"));
    let ops = json!([{"op": "replace", "path": "/gender", "value": "male"}]);
    let r = s
        .client
        .patch(&url)
        .header("Content-Type", "application/json-patch+json")
        .body(ops.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!((body["gender"].as_str(), body["meta"]["versionId"].as_str()), (Some("male"), Some("2")));

    let wrong_type = s.client.patch(&url).header("Content-Type", "application/fhir+json").body(ops.to_string()).send();
    assert_eq!(wrong_type.await.expect("send").status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let failing = json!([{"op": "test", "path": "/gender", "value": "female"}]);
    let r = s
        .client
        .patch(&url)
        .header("Content-Type", "application/json-patch+json")
        .body(failing.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn history_pages_follow_next_links_newest_first() {
    let s = TestServer::start().await;
    for _ in 0..5 {
        s.create(&patient(None)).await;
    }
    let (status, page1) = s.get_json("/Patient/_history?_count=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page1["total"], 5);
    assert_eq!(page1["entry"].as_array().map(Vec::len), Some(2));
    let mut seen = 0;
    let mut next = Some(page1);
    while let Some(page) = next {
        seen += page["entry"].as_array().map_or(0, Vec::len);
        let link = page["link"].as_array().into_iter().flatten().find(|l| l["relation"] == "next");
        next = match link.and_then(|l| l["url"].as_str()) {
            Some(url) => Some(s.client.get(url).send().await.expect("send").json().await.expect("json")),
            None => None,
        };
    }
    assert_eq!(seen, 5);
}

#[tokio::test]
async fn history_since_and_at_filter_by_time() {
    let s = TestServer::start().await;
    s.create(&patient(None)).await;
    let (_, future) = s.get_json("/_history?_since=2100-01-01").await;
    assert_eq!(future["total"], 0);
    let (_, past) = s.get_json("/_history?_since=2000-01-01T00:00:00Z").await;
    assert_eq!(past["total"], 1);
    let (_, before) = s.get_json("/_history?_at=2000").await;
    assert_eq!(before["total"], 0);
    let (status, body) = s.get_json("/_history?_since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(diagnostics(&body).contains("_since"));
}

#[tokio::test]
async fn prefer_return_shapes_the_write_response() {
    let s = TestServer::start().await;
    let url = s.url("/Patient");
    let minimal = s.client.post(&url).header("Prefer", "return=minimal").json(&patient(None)).send();
    let minimal = minimal.await.expect("send");
    assert_eq!(minimal.status(), StatusCode::CREATED);
    assert!(minimal.headers().contains_key("location"));
    assert!(minimal.bytes().await.expect("body").is_empty());
    let oo = s.client.post(&url).header("Prefer", "return=OperationOutcome").json(&patient(None)).send();
    let body: Value = oo.await.expect("send").json().await.expect("json");
    assert_eq!(body["resourceType"], "OperationOutcome");
}

#[tokio::test]
async fn xml_is_refused_with_406_and_an_outcome_saying_json_is_supported() {
    let s = TestServer::start().await;
    let r = s.client.get(s.url("/metadata")).header("Accept", "application/fhir+xml").send().await.expect("send");
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    let body: Value = r.json().await.expect("json");
    assert!(diagnostics(&body).contains("JSON"));
    let (status, _) = s.get_json("/metadata?_format=xml").await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    let (status, _) = s.get_json("/metadata?_format=json").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn responses_are_gzipped_when_the_client_accepts_it() {
    let s = TestServer::start().await;
    // A client that does not decompress for us, so the encoding is visible.
    let raw = reqwest::Client::builder().no_gzip().build().expect("client");
    let r = raw.get(s.url("/metadata")).header("Accept-Encoding", "gzip").send().await.expect("send");
    let encoding = r.headers().get("content-encoding").and_then(|v| v.to_str().ok()).map(str::to_string);
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let bytes = r.bytes().await.expect("body");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).expect("gunzip");
    assert!(text.contains("CapabilityStatement"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let s = TestServer::start_with_limit(1024).await;
    let mut big = patient(None);
    big["text"] = json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", "x".repeat(4096))});
    let r = s.post("/Patient", &big).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["resourceType"], "OperationOutcome");
}

#[tokio::test]
async fn malformed_json_is_400_with_line_and_column() {
    let s = TestServer::start().await;
    let r = s
        .client
        .post(s.url("/Patient"))
        .header("Content-Type", "application/fhir+json")
        .body("{\n \"resourceType\": \"Patient\",\n \"gender\": }")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.expect("json");
    assert!(diagnostics(&body).contains("line 3, column"), "{}", diagnostics(&body));
}

#[tokio::test]
async fn validate_reports_without_storing() {
    let s = TestServer::start().await;
    let r = s.post("/Patient/$validate", &patient(None)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["resourceType"], "OperationOutcome");
    let wrapped = json!({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": patient(Some("x"))}]});
    assert_eq!(s.post("/Patient/x/$validate", &wrapped).await.status(), StatusCode::OK);
    assert_eq!(s.post("/Patient/y/$validate", &wrapped).await.status(), StatusCode::BAD_REQUEST);
    let (_, history) = s.get_json("/_history").await;
    assert_eq!(history["total"], 0);
}

#[tokio::test]
async fn unknown_routes_methods_and_parameters_get_an_operation_outcome() {
    let s = TestServer::start().await;
    let (status, body) = s.get_json("/Patient/a/b/c/d").await;
    assert_eq!((status, body["resourceType"].as_str()), (StatusCode::NOT_FOUND, Some("OperationOutcome")));
    let r = s.client.delete(s.url("/metadata")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let id = s.create(&patient(None)).await;
    let (status, body) = s.get_json(&format!("/Patient/{id}?_bogus=1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(diagnostics(&body).contains("_bogus"));
}
