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

const MRN: &str = "http://hospital.example/mrn";

fn patient_with_mrn(mrn: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": MRN, "value": mrn}]})
}

fn observation_of(subject: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"}, "subject": {"reference": subject}})
}

fn statuses(response: &Value) -> Vec<String> {
    response["entry"].as_array().into_iter().flatten().map(|e| e["response"]["status"].as_str().unwrap_or("").to_string()).collect()
}

/// The stored resource a response entry's `location` names.
async fn stored_at(s: &TestServer, entry: &Value) -> Value {
    let location = entry["response"]["location"].as_str().unwrap_or_default();
    s.get_json(&format!("/{}", location.split("/_history").next().unwrap_or_default())).await.1
}

#[tokio::test]
async fn a_conditional_reference_is_replaced_by_the_one_resource_it_matches() {
    let s = TestServer::start().await;
    let patient = s.create(&patient_with_mrn("12345")).await;
    let reference = format!("Patient?identifier={MRN}|12345");
    let tx = bundle("transaction", vec![post_entry("urn:uuid:o", observation_of(&reference))]);
    let response: Value = s.post("", &tx).await.json().await.expect("json");
    assert_eq!(statuses(&response), ["201 Created"]);
    let expected = format!("Patient/{patient}");
    assert_eq!(response["entry"][0]["resource"]["subject"]["reference"], expected.as_str());
    assert_eq!(stored_at(&s, &response["entry"][0]).await["subject"]["reference"], expected.as_str());
    let (_, found) = s.get_json(&format!("/Observation?subject={expected}")).await;
    assert_eq!(found["total"], 1, "the reference index holds the resolved reference");
}

#[tokio::test]
async fn a_conditional_reference_that_matches_nothing_fails_the_transaction_and_leaves_nothing_behind() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:a", json!({"resourceType": "Patient"})),
            post_entry("urn:uuid:b", observation_of(&format!("Patient?identifier={MRN}|nobody"))),
            post_entry("urn:uuid:c", json!({"resourceType": "Patient"})),
        ],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let outcome: Value = r.json().await.expect("json");
    assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[1].resource.subject.reference");
    let text = outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(text.contains("matches no Patient"), "{text}");
    assert_eq!(history_total(&s).await, 0, "nothing of the transaction was stored");
}

#[tokio::test]
async fn a_conditional_reference_that_matches_several_resources_fails_with_412() {
    let s = TestServer::start().await;
    s.create(&patient_with_mrn("twin")).await;
    s.create(&patient_with_mrn("twin")).await;
    let tx = bundle("transaction", vec![post_entry("urn:uuid:o", observation_of(&format!("Patient?identifier={MRN}|twin")))]);
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let outcome: Value = r.json().await.expect("json");
    assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[0].resource.subject.reference");
}

#[tokio::test]
async fn a_conditional_reference_finds_a_resource_written_earlier_in_the_same_transaction() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            // PUTs are processed after POSTs: the patient is written before the observation.
            json!({"resource": {"resourceType": "Patient", "id": "p-new", "identifier": [{"system": MRN, "value": "new"}]},
                   "request": {"method": "PUT", "url": "Patient/p-new"}}),
            json!({"resource": {"resourceType": "Observation", "id": "o-new", "status": "final", "code": {"text": "weight"},
                                "subject": {"reference": format!("Patient?identifier={MRN}|new")}},
                   "request": {"method": "PUT", "url": "Observation/o-new"}}),
        ],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::OK);
    let response: Value = r.json().await.expect("json");
    assert_eq!(statuses(&response), ["201 Created", "201 Created"]);
    assert_eq!(response["entry"][1]["resource"]["subject"]["reference"], "Patient/p-new");
}

#[tokio::test]
async fn a_batch_entry_with_an_unresolvable_conditional_reference_fails_on_its_own() {
    let s = TestServer::start().await;
    let patient = s.create(&patient_with_mrn("1")).await;
    let b = bundle(
        "batch",
        vec![
            post_entry("urn:uuid:a", observation_of(&format!("Patient?identifier={MRN}|1"))),
            post_entry("urn:uuid:b", observation_of(&format!("Patient?identifier={MRN}|2"))),
        ],
    );
    let response: Value = s.post("", &b).await.json().await.expect("json");
    assert_eq!(statuses(&response), ["201 Created", "404 Not Found"]);
    assert_eq!(response["entry"][0]["resource"]["subject"]["reference"], format!("Patient/{patient}").as_str());
    let issue = &response["entry"][1]["response"]["outcome"]["issue"][0];
    assert_eq!(issue["expression"][0], "Bundle.entry[1].resource.subject.reference");
}

#[tokio::test]
async fn a_reference_to_a_conditional_create_that_matched_names_the_existing_resource() {
    let s = TestServer::start().await;
    let existing = s.create(&patient_with_mrn("77")).await;
    let mut create = post_entry("urn:uuid:p", patient_with_mrn("77"));
    create["request"]["ifNoneExist"] = json!(format!("identifier={MRN}|77"));
    // The observation comes first: it must still be written after the entry it names.
    let tx = bundle("transaction", vec![post_entry("urn:uuid:o", observation_of("urn:uuid:p")), create]);
    let response: Value = s.post("", &tx).await.json().await.expect("json");
    assert_eq!(statuses(&response), ["201 Created", "200 OK"]);
    assert_eq!(response["entry"][0]["resource"]["subject"]["reference"], format!("Patient/{existing}").as_str());
    assert_eq!(stored_at(&s, &response["entry"][0]).await["subject"]["reference"], format!("Patient/{existing}").as_str());
}

#[tokio::test]
async fn a_reference_to_a_conditional_create_that_created_names_the_new_resource() {
    let s = TestServer::start().await;
    let mut create = post_entry("urn:uuid:p", patient_with_mrn("78"));
    create["request"]["ifNoneExist"] = json!(format!("identifier={MRN}|78"));
    let tx = bundle("transaction", vec![post_entry("urn:uuid:o", observation_of("urn:uuid:p")), create]);
    let response: Value = s.post("", &tx).await.json().await.expect("json");
    assert_eq!(statuses(&response), ["201 Created", "201 Created"]);
    let patient = response["entry"][1]["resource"]["id"].as_str().unwrap_or_default();
    assert_eq!(response["entry"][0]["resource"]["subject"]["reference"], format!("Patient/{patient}").as_str());
}

#[tokio::test]
async fn a_reference_to_a_conditional_update_names_the_resource_it_updated() {
    let s = TestServer::start().await;
    let existing = s.create(&patient_with_mrn("79")).await;
    let update = json!({"fullUrl": "urn:uuid:p", "resource": patient_with_mrn("79"),
                        "request": {"method": "PUT", "url": format!("Patient?identifier={MRN}|79")}});
    let tx = bundle("transaction", vec![post_entry("urn:uuid:o", observation_of("urn:uuid:p")), update]);
    let response: Value = s.post("", &tx).await.json().await.expect("json");
    assert_eq!(statuses(&response), ["201 Created", "200 OK"]);
    assert_eq!(response["entry"][0]["resource"]["subject"]["reference"], format!("Patient/{existing}").as_str());
}

#[tokio::test]
async fn entries_that_name_each_others_conditional_outcome_are_refused() {
    let s = TestServer::start().await;
    let mut a = post_entry("urn:uuid:a", json!({"resourceType": "Patient", "link": [{"other": {"reference": "urn:uuid:b"}, "type": "seealso"}]}));
    a["request"]["ifNoneExist"] = json!(format!("identifier={MRN}|a"));
    let mut b = post_entry("urn:uuid:b", json!({"resourceType": "Patient", "link": [{"other": {"reference": "urn:uuid:a"}, "type": "seealso"}]}));
    b["request"]["ifNoneExist"] = json!(format!("identifier={MRN}|b"));
    let r = s.post("", &bundle("transaction", vec![a, b])).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let outcome: Value = r.json().await.expect("json");
    let text = outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(text.contains("cycle"), "{text}");
    assert_eq!(history_total(&s).await, 0);
}

#[tokio::test]
async fn a_conditional_create_matching_several_resources_fails_with_412_naming_the_entry() {
    let s = TestServer::start().await;
    s.create(&patient_with_mrn("dup")).await;
    s.create(&patient_with_mrn("dup")).await;
    let mut create = post_entry("urn:uuid:p", patient_with_mrn("dup"));
    create["request"]["ifNoneExist"] = json!(format!("identifier={MRN}|dup"));
    let tx = bundle("transaction", vec![post_entry("urn:uuid:x", json!({"resourceType": "Patient"})), create]);
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let outcome: Value = r.json().await.expect("json");
    assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[1]");
    assert_eq!(history_total(&s).await, 2);
}

#[tokio::test]
async fn a_stale_if_match_on_a_transaction_put_fails_with_412() {
    let s = TestServer::start().await;
    s.put("/Patient/m1", &json!({"resourceType": "Patient", "id": "m1"}), None).await;
    s.put("/Patient/m1", &json!({"resourceType": "Patient", "id": "m1", "gender": "male"}), None).await;
    let tx = bundle(
        "transaction",
        vec![json!({"resource": {"resourceType": "Patient", "id": "m1", "gender": "female"},
                    "request": {"method": "PUT", "url": "Patient/m1", "ifMatch": "W/\"1\""}})],
    );
    assert_eq!(s.post("", &tx).await.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(s.get_json("/Patient/m1").await.1["gender"], "male");
}

#[tokio::test]
async fn a_stale_if_match_on_a_batch_delete_fails_that_entry_only() {
    let s = TestServer::start().await;
    s.put("/Patient/m2", &json!({"resourceType": "Patient", "id": "m2"}), None).await;
    s.put("/Patient/m2", &json!({"resourceType": "Patient", "id": "m2", "gender": "male"}), None).await;
    let b = bundle(
        "batch",
        vec![
            json!({"request": {"method": "DELETE", "url": "Patient/m2", "ifMatch": "W/\"1\""}}),
            json!({"request": {"method": "DELETE", "url": "Patient/m2", "ifMatch": "W/\"2\""}}),
        ],
    );
    let response: Value = s.post("", &b).await.json().await.expect("json");
    assert_eq!(statuses(&response), ["412 Precondition Failed", "204 No Content"]);
}

#[tokio::test]
async fn request_urls_may_be_absolute_under_the_server_base() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            json!({"resource": {"resourceType": "Patient", "id": "abs"}, "request": {"method": "PUT", "url": s.url("/Patient/abs")}}),
            json!({"request": {"method": "GET", "url": s.url("/Patient/abs")}}),
        ],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::OK);
    let response: Value = r.json().await.expect("json");
    assert_eq!(statuses(&response), ["201 Created", "200 OK"]);
}

#[tokio::test]
async fn a_request_url_on_another_server_is_refused() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![json!({"resource": {"resourceType": "Patient", "id": "x"}, "request": {"method": "PUT", "url": "http://elsewhere.example/fhir/Patient/x"}})],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let outcome: Value = r.json().await.expect("json");
    assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[0].request.url");
}

#[tokio::test]
async fn a_search_entry_answers_with_a_searchset_that_sees_the_transactions_writes() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            json!({"request": {"method": "GET", "url": format!("Patient?identifier={MRN}|s1")}}),
            post_entry("urn:uuid:p", patient_with_mrn("s1")),
        ],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::OK);
    let response: Value = r.json().await.expect("json");
    assert_eq!(statuses(&response), ["200 OK", "201 Created"]);
    let searchset = &response["entry"][0]["resource"];
    assert_eq!((searchset["resourceType"].as_str(), searchset["type"].as_str()), (Some("Bundle"), Some("searchset")));
    assert_eq!(searchset["total"], 1);
    assert_eq!(searchset["entry"][0]["resource"]["id"], response["entry"][1]["resource"]["id"]);
    assert_eq!(searchset["entry"][0]["search"]["mode"], "match");
}

#[tokio::test]
async fn a_batch_search_entry_with_an_unknown_parameter_fails_on_its_own() {
    let s = TestServer::start().await;
    s.create(&patient_with_mrn("b1")).await;
    let b = bundle(
        "batch",
        vec![
            json!({"request": {"method": "GET", "url": "Patient?no-such-parameter=1"}}),
            json!({"request": {"method": "GET", "url": format!("Patient?identifier={MRN}|b1")}}),
        ],
    );
    let response: Value = s.post("", &b).await.json().await.expect("json");
    assert_eq!(statuses(&response), ["400 Bad Request", "200 OK"]);
    assert_eq!(response["entry"][1]["resource"]["total"], 1);
}

#[tokio::test]
async fn a_transaction_search_entry_with_an_unknown_parameter_fails_the_transaction() {
    let s = TestServer::start().await;
    let tx = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:p", json!({"resourceType": "Patient"})),
            json!({"request": {"method": "GET", "url": "Patient?no-such-parameter=1"}}),
        ],
    );
    let r = s.post("", &tx).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let outcome: Value = r.json().await.expect("json");
    assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[1]");
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
