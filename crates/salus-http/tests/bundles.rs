//! Batch and transaction Bundles over HTTP (`POST /fhir`): processing order, reference
//! rewriting, all-or-nothing transactions, independent batch entries, limits.

mod server;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::TestServer;

fn post_entry(full_url: &str, resource: Value) -> Value {
    let t = resource["resourceType"].clone();
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": t}})
}

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

async fn history_total(s: &TestServer) -> u64 {
    s.get_json("/_history").await.1["total"].as_u64().unwrap_or(u64::MAX)
}

#[tokio::test]
async fn a_transaction_creates_all_entries_and_rewrites_urn_uuid_references() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            post_entry(
                "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
                json!({"resourceType": "Patient", "gender": "female"}),
            ),
            post_entry(
                "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059",
                json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
                       "subject": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}}),
            ),
        ],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::OK);
    let response: Value = r.json().await.expect("json");
    assert_eq!(response["type"], "transaction-response");
    let statuses: Vec<&str> =
        response["entry"].as_array().into_iter().flatten().filter_map(|e| e["response"]["status"].as_str()).collect();
    assert_eq!(statuses, ["201 Created", "201 Created"]);
    let patient_id = response["entry"][0]["resource"]["id"].as_str().unwrap_or_default().to_string();
    let subject = response["entry"][1]["resource"]["subject"]["reference"].as_str().unwrap_or_default();
    assert_eq!(subject, format!("Patient/{patient_id}"));
    let location = response["entry"][1]["response"]["location"].as_str().unwrap_or_default().to_string();
    let (status, stored) = s.get_json(&format!("/{}", location.split("/_history").next().unwrap_or(""))).await;
    assert_eq!((status, stored["subject"]["reference"].as_str()), (StatusCode::OK, Some(subject)));
}

#[tokio::test]
async fn a_failing_entry_in_the_middle_of_a_transaction_leaves_nothing_behind() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:a", json!({"resourceType": "Patient"})),
            json!({"request": {"method": "DELETE", "url": "Patient/does-not-exist"}}),
            post_entry("urn:uuid:c", json!({"resourceType": "Patient"})),
        ],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let outcome: Value = r.json().await.expect("json");
    assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[1]");
    assert_eq!(history_total(&s).await, 0, "nothing of the transaction was stored");
}

#[tokio::test]
async fn an_invalid_resource_fails_the_transaction_and_names_its_entry() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            json!({"resource": {"resourceType": "Patient", "id": "good"}, "request": {"method": "PUT", "url": "Patient/good"}}),
            json!({"resource": {"resourceType": "Patient", "id": "bad_id"}, "request": {"method": "PUT", "url": "Patient/bad_id"}}),
        ],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let outcome: Value = r.json().await.expect("json");
    let text = outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(text.starts_with("Bundle.entry[1]"), "{text}");
    assert_eq!(history_total(&s).await, 0);
}

#[tokio::test]
async fn batch_entries_succeed_or_fail_on_their_own() {
    let s = TestServer::start().await;
    let b = bundle(
        "batch",
        vec![
            post_entry("urn:uuid:a", json!({"resourceType": "Patient"})),
            json!({"request": {"method": "GET", "url": "Patient/missing"}}),
            json!({"request": {"method": "BREW", "url": "Coffee"}}),
        ],
    );
    let r = s.post("", &b).await;
    assert_eq!(r.status(), StatusCode::OK);
    let response: Value = r.json().await.expect("json");
    assert_eq!(response["type"], "batch-response");
    let statuses: Vec<&str> =
        response["entry"].as_array().into_iter().flatten().filter_map(|e| e["response"]["status"].as_str()).collect();
    assert_eq!(statuses, ["201 Created", "404 Not Found", "400 Bad Request"]);
    assert_eq!(response["entry"][1]["response"]["outcome"]["resourceType"], "OperationOutcome");
    assert_eq!(history_total(&s).await, 1);
}

#[tokio::test]
async fn a_transaction_runs_gets_after_writes_whatever_their_position() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            json!({"request": {"method": "GET", "url": "Patient/p1"}}),
            json!({"resource": {"resourceType": "Patient", "id": "p1", "gender": "male"}, "request": {"method": "PUT", "url": "Patient/p1"}}),
        ],
    );
    let response: Value = s.post("", &tx).await.json().await.expect("json");
    assert_eq!(response["entry"][0]["response"]["status"], "200 OK");
    assert_eq!(response["entry"][0]["resource"]["gender"], "male");
    assert_eq!(response["entry"][1]["response"]["status"], "201 Created");
}

#[tokio::test]
async fn a_transaction_patch_entry_takes_a_binary_json_patch() {
    let s = TestServer::start().await;
    s.put("/Patient/p2", &json!({"resourceType": "Patient", "id": "p2", "gender": "male"}), None).await;
    let patch = json!([{"op": "replace", "path": "/gender", "value": "female"}]).to_string();
    let data = base64_encode(patch.as_bytes());
    let tx = bundle(
        "transaction",
        vec![json!({"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data},
                    "request": {"method": "PATCH", "url": "Patient/p2"}})],
    );
    let response: Value = s.post("", &tx).await.json().await.expect("json");
    assert_eq!(response["entry"][0]["response"]["status"], "200 OK");
    assert_eq!(s.get_json("/Patient/p2").await.1["gender"], "female");
}

#[tokio::test]
async fn bundles_that_are_not_batch_or_transaction_are_refused() {
    let s = TestServer::start().await;
    let r = s.post("", &bundle("collection", vec![])).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = s.post("", &json!({"resourceType": "Patient"})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn duplicate_full_urls_are_refused() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:same", json!({"resourceType": "Patient"})),
            post_entry("urn:uuid:same", json!({"resourceType": "Patient"})),
        ],
    );
    assert_eq!(s.post("", &tx).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(history_total(&s).await, 0);
}

/// Standard base64, for building test input (the server decodes with the `base64` crate).
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
