//! Clinical decision support over real HTTP: the medication safety check on REST writes (409,
//! override, warnings), CDS Hooks services against the shared CDS Hooks examples, and the
//! care-gap operations.

use reqwest::StatusCode;
use salus_engine::Engine;
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const RX: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const OVERRIDE: &str = "https://salus-ehr.org/fhir/StructureDefinition/safety-override";
const REASONS: &str = "https://salus-ehr.org/fhir/CodeSystem/cds-override-reason";
/// The CDS Hooks examples name this FHIR server; the test server takes it as its own base URL so
/// that their requests read through the engine.
const EXAMPLE_BASE: &str = "http://localhost:8080/fhir";

struct Server {
    client: reqwest::Client,
    root: String,
    _data: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let engine = Engine::r4(Store::new(SqliteStore::open(data.path()).expect("open store")));
        let config = salus_http::HttpConfig { base_url: Some(EXAMPLE_BASE.into()), ..Default::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, salus_http::app(engine, config)).await;
        });
        Server { client: reqwest::Client::new(), root: format!("http://{addr}"), _data: data }
    }

    async fn post(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut r = self.client.post(format!("{}{path}", self.root)).header("Content-Type", "application/json").body(body.to_string());
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let r = r.send().await.expect("send");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self.client.get(format!("{}{path}", self.root)).send().await.expect("send");
        (r.status(), r.text().await.unwrap_or_default())
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let (status, text) = self.get(path).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create(&self, resource: Value) -> String {
        let (status, body) = self.post(&format!("/fhir/{}", resource["resourceType"].as_str().unwrap_or("")), &resource, &[]).await;
        assert!(status.is_success(), "create: {status} {body}");
        body["id"].as_str().expect("id").to_string()
    }
}

fn order(patient: &str, code: &str, status: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": status, "intent": "order",
           "subject": {"reference": format!("Patient/{patient}")},
           "medicationCodeableConcept": {"coding": [{"system": RX, "code": code}]}})
}

fn cds_data(rel: &str) -> Value {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cds-hooks").join(rel);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("json")
}

/// The CDS Hooks 2.0 response rules the reference validator applies (checked against its cases
/// below): cards with a summary, an indicator, a source with a label; suggestions need a
/// selectionBehavior; create/update actions carry an identified resource.
fn response_errors(r: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(obj) = r.as_object().filter(|o| !o.is_empty()) else { return vec!["empty response".into()] };
    let Some(cards) = obj.get("cards").and_then(Value::as_array) else { return vec!["no cards array".into()] };
    for (i, c) in cards.iter().enumerate() {
        if c["summary"].as_str().is_none_or(|s| s.is_empty()) {
            errors.push(format!("cards[{i}].summary"));
        }
        if !matches!(c["indicator"].as_str(), Some("info" | "warning" | "critical")) {
            errors.push(format!("cards[{i}].indicator"));
        }
        if c["source"]["label"].as_str().is_none_or(|s| s.is_empty()) {
            errors.push(format!("cards[{i}].source.label"));
        }
        if let Some(suggestions) = c["suggestions"].as_array() {
            if c.get("selectionBehavior").is_none() {
                errors.push(format!("cards[{i}] cds-resp-6"));
            }
            for s in suggestions {
                for a in s["actions"].as_array().into_iter().flatten() {
                    if matches!(a["type"].as_str(), Some("create" | "update")) && a["resource"].get("id").is_none() {
                        errors.push(format!("cards[{i}] action resource without id"));
                    }
                }
            }
        }
        for reason in c["overrideReasons"].as_array().into_iter().flatten() {
            if reason["code"].as_str().is_none() || reason["system"].as_str().is_none() {
                errors.push(format!("cards[{i}].overrideReasons is not a Coding"));
            }
        }
    }
    errors
}

fn manifest_cases(kind: &str) -> Vec<(String, bool)> {
    let m = cds_data("validator-cases/manifest-cdshooks.json");
    m["test-cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["kind"] == kind)
        .map(|c| (c["file"].as_str().unwrap_or_default().to_string(), c["expected"]["valid"] == true))
        .collect()
}

#[tokio::test]
async fn contraindicated_prescription_is_refused_with_409_and_accepted_with_an_override() {
    let s = Server::start().await;
    let p = s.create(json!({"resourceType": "Patient", "gender": "male", "birthDate": "1960-04-02"})).await;
    s.create(order(&p, "312961", "active")).await; // simvastatin 20 MG
    let clarithromycin = order(&p, "197517", "active");
    let (status, outcome) = s.post("/fhir/MedicationRequest", &clarithromycin, &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{outcome}");
    let issue = &outcome["issue"][0];
    assert_eq!(issue["severity"], "error");
    assert_eq!(issue["details"]["coding"][0]["code"], "onc-high-25");
    assert!(issue["diagnostics"].as_str().is_some_and(|d| d.contains("source:") && d.contains("http")), "{issue}");
    assert!(outcome.to_string().contains(OVERRIDE), "the outcome says how to override");

    let mut overridden = clarithromycin.clone();
    overridden["extension"] = json!([{"url": OVERRIDE, "valueCodeableConcept": {"coding": [{"system": REASONS, "code": "will-monitor"}], "text": "3-day course, statin held"}}]);
    let (status, stored) = s.post("/fhir/MedicationRequest", &overridden, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let id = stored["id"].as_str().expect("id");
    let issue_ref = stored["detectedIssue"][0]["reference"].as_str().expect("the order links its DetectedIssue");
    let (status, issue) = s.get_json(&format!("/fhir/{issue_ref}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(issue["implicated"][0]["reference"], format!("MedicationRequest/{id}"));
    assert_eq!(issue["mitigation"][0]["action"]["coding"][0]["code"], "will-monitor");
    let (_, found) = s.get_json(&format!("/fhir/DetectedIssue?implicated=MedicationRequest/{id}")).await;
    assert_eq!(found["total"], 1);
}

#[tokio::test]
async fn contraindicated_order_in_a_transaction_is_refused_with_409_naming_the_entry() {
    let s = Server::start().await;
    let p = s.create(json!({"resourceType": "Patient"})).await;
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": order(&p, "312961", "active"), "request": {"method": "POST", "url": "MedicationRequest"}},
        {"resource": order(&p, "197517", "draft"), "request": {"method": "POST", "url": "MedicationRequest"}}]});
    let (status, outcome) = s.post("/fhir", &bundle, &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{outcome}");
    assert!(outcome["issue"][0]["diagnostics"].as_str().is_some_and(|d| d.starts_with("Bundle.entry[")), "{outcome}");
}

#[tokio::test]
async fn lower_severity_findings_are_warnings_in_the_operation_outcome() {
    let s = Server::start().await;
    let p = s.create(json!({"resourceType": "Patient"})).await;
    s.create(order(&p, "312961", "active")).await;
    let (status, outcome) = s.post("/fhir/MedicationRequest", &order(&p, "316672", "active"), &[("Prefer", "return=OperationOutcome")]).await;
    assert_eq!(status, StatusCode::CREATED);
    let warnings: Vec<&Value> = outcome["issue"].as_array().into_iter().flatten().filter(|i| i["severity"] == "warning").collect();
    assert!(!warnings.is_empty(), "{outcome}");
    assert!(warnings[0]["details"]["coding"][0]["code"].as_str().is_some_and(|c| c.starts_with("duplicate-")));
}

#[tokio::test]
async fn discovery_lists_the_three_services_with_prefetch_templates() {
    let s = Server::start().await;
    let (status, body) = s.get_json("/cds-services").await;
    assert_eq!(status, StatusCode::OK);
    let services = body["services"].as_array().expect("services");
    let hooks: Vec<&str> = services.iter().filter_map(|s| s["hook"].as_str()).collect();
    assert_eq!(hooks, ["patient-view", "order-select", "order-sign"]);
    for svc in services {
        assert!(svc["id"].as_str().is_some() && svc["description"].as_str().is_some());
        assert_eq!(svc["prefetch"]["patient"], "Patient/{{context.patientId}}");
        assert!(svc["prefetch"]["allergies"].as_str().is_some());
    }
    // Same shape as the spec's discovery example.
    let example = cds_data("spec-examples/02-discovery-response.json");
    for svc in example["services"].as_array().into_iter().flatten() {
        for key in ["hook", "id", "description"] {
            assert!(svc[key].is_string());
        }
    }
}

#[tokio::test]
async fn the_response_checker_agrees_with_the_reference_validator_cases() {
    let cases = manifest_cases("response");
    assert_eq!(cases.len(), 9);
    for (file, valid) in cases {
        let errors = response_errors(&cds_data(&format!("validator-cases/{file}")));
        assert_eq!(errors.is_empty(), valid, "{file}: {errors:?}");
    }
}

#[tokio::test]
async fn every_validator_request_case_is_answered_by_its_validity_and_fhir_server() {
    let s = Server::start().await;
    let mut answered = 0;
    for (file, valid) in manifest_cases("request") {
        let request = cds_data(&format!("validator-cases/{file}"));
        let service = match request["hook"].as_str() {
            Some("patient-view") => "salus-patient-view",
            Some("order-select") => "salus-order-select",
            Some("order-sign") => "salus-order-sign",
            other => panic!("{file}: hook {other:?}"),
        };
        let (status, body) = s.post(&format!("/cds-services/{service}"), &request, &[]).await;
        // A valid request naming another FHIR server, without this service's prefetch, is 412.
        let ours = request["fhirServer"] == EXAMPLE_BASE;
        let expected = match (valid, ours) {
            (false, _) => StatusCode::BAD_REQUEST,
            (true, true) => StatusCode::OK,
            (true, false) => StatusCode::PRECONDITION_FAILED,
        };
        assert_eq!(status, expected, "{file}: {body}");
        if expected == StatusCode::OK {
            assert!(response_errors(&body).is_empty(), "{file}: {body}");
        }
        answered += 1;
    }
    println!("CDS Hooks validator request cases answered as expected: {answered}");
    assert_eq!(answered, 9);
}

#[tokio::test]
async fn patient_view_from_another_fhir_server_without_prefetch_is_412() {
    let s = Server::start().await;
    let request = cds_data("spec-examples/04-request-patient-view.json");
    let (status, _) = s.post("/cds-services/salus-patient-view", &request, &[]).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn order_sign_draft_clarithromycin_with_prefetched_simvastatin_gets_a_critical_card() {
    let s = Server::start().await;
    let mut request = cds_data("validator-cases/cdshooks-request-order-sign-good.json");
    let patient = request["context"]["patientId"].as_str().expect("patientId").to_string();
    request["fhirServer"] = json!("https://elsewhere.example.org/fhir");
    request["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = json!({"coding": [{"system": RX, "code": "197517", "display": "clarithromycin 500 MG Oral Tablet"}]});
    let mut active = order(&patient, "312961", "active");
    active["id"] = json!("simva");
    request["prefetch"] = json!({
        "patient": {"resourceType": "Patient", "id": patient},
        "medications": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": active}]},
        "statements": {"resourceType": "Bundle", "type": "searchset"},
        "allergies": {"resourceType": "Bundle", "type": "searchset"},
    });
    let (status, body) = s.post("/cds-services/salus-order-sign", &request, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(response_errors(&body).is_empty(), "{body}");
    let card = &body["cards"][0];
    assert_eq!(card["indicator"], "critical", "{body}");
    assert!(card["source"]["url"].as_str().is_some());
    assert_eq!(card["overrideReasons"][0]["system"], REASONS);
    assert_eq!(card["suggestions"][0]["actions"][0]["type"], "delete");
    assert!(card["uuid"].as_str().is_some(), "cards carry a uuid for feedback");

    // order-select checks only the selected orders.
    request["hook"] = json!("order-select");
    request["context"]["selections"] = json!(["MedicationRequest/not-this-one"]);
    let (status, body) = s.post("/cds-services/salus-order-select", &request, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cards"], json!([]));
}

#[tokio::test]
async fn patient_view_reads_this_server_and_shows_care_gaps() {
    let s = Server::start().await;
    let mut request = cds_data("validator-cases/cdshooks-request-patient-view-good.json");
    request.as_object_mut().expect("object").remove("prefetch");
    let id = s.create(json!({"resourceType": "Patient", "gender": "female", "birthDate": "1965-03-01"})).await;
    request["context"]["patientId"] = json!(id);
    request.as_object_mut().expect("object").remove("fhirAuthorization");
    let (status, body) = s.post("/cds-services/salus-patient-view", &request, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(response_errors(&body).is_empty(), "{body}");
    let summaries: Vec<&str> = body["cards"].as_array().into_iter().flatten().filter_map(|c| c["summary"].as_str()).collect();
    assert!(summaries.iter().any(|s| s.contains("Breast")), "{summaries:?}");
}

#[tokio::test]
async fn feedback_examples_are_accepted_and_malformed_feedback_is_400() {
    let s = Server::start().await;
    for f in ["24-feedback-suggestion-accepted.json", "25-feedback-overridden.json", "26-feedback-override-reasons.json"] {
        let (status, body) = s.post("/cds-services/salus-order-sign/feedback", &cds_data(&format!("spec-examples/{f}")), &[]).await;
        assert_eq!(status, StatusCode::OK, "{f}: {body}");
    }
    let (status, _) = s.post("/cds-services/salus-order-sign/feedback", &json!({"feedback": [{"card": "x", "outcome": "maybe"}]}), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.post("/cds-services/nope/feedback", &json!({"feedback": []}), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn care_gaps_list_each_rule_with_status_dates_and_source() {
    let s = Server::start().await;
    let id = s.create(json!({"resourceType": "Patient", "gender": "female", "birthDate": "1960-01-15"})).await;
    s.create(json!({"resourceType": "Procedure", "status": "completed", "subject": {"reference": format!("Patient/{id}")},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "73761001", "display": "Colonoscopy"}]},
        "performedDateTime": "2018-05-01"})).await;
    let (status, body) = s.get_json(&format!("/fhir/Patient/{id}/$care-gaps?date=2020-01-01")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resourceType"], "Parameters");
    let gaps: Vec<&Value> = body["parameter"].as_array().into_iter().flatten().filter(|p| p["name"] == "gap").collect();
    assert_eq!(gaps.len(), 10);
    let part = |g: &Value, name: &str| g["part"].as_array().and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned()).unwrap_or(Value::Null);
    for g in &gaps {
        let source = part(g, "source");
        assert!(source["part"].as_array().is_some_and(|ps| ps.iter().any(|p| p["name"] == "url" && p["valueUri"].is_string())), "{g}");
    }
    let colorectal = gaps.iter().find(|g| part(g, "rule")["valueCode"] == "colorectal-cancer-screening").expect("colorectal");
    assert_eq!(part(colorectal, "status")["valueCode"], "satisfied", "{colorectal}");
    assert_eq!(part(colorectal, "satisfiedUntil")["valueDate"], "2028-05-01");
    let breast = gaps.iter().find(|g| part(g, "rule")["valueCode"] == "breast-cancer-screening").expect("breast");
    assert!(part(breast, "dueSince")["valueDate"].is_string(), "{breast}");

    let (status, _) = s.get_json("/fhir/Patient/nobody/$care-gaps").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.get_json(&format!("/fhir/Patient/{id}/$care-gaps?date=soon")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn worklist_counts_per_rule_as_parameters_and_csv() {
    let s = Server::start().await;
    for (g, b) in [("female", "1960-01-15"), ("male", "1950-06-30"), ("female", "2010-02-02")] {
        s.create(json!({"resourceType": "Patient", "gender": g, "birthDate": b, "name": [{"given": ["Ann"], "family": "Lee"}]})).await;
    }
    let (status, body) = s.get_json("/fhir/$care-gaps-worklist?rule=colorectal-cancer-screening&status=due,overdue&date=2020-01-01").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let params = body["parameter"].as_array().expect("parameters");
    let count = params.iter().find(|p| p["name"] == "count").expect("count");
    let n = |name: &str| count["part"].as_array().and_then(|ps| ps.iter().find(|p| p["name"] == name)).map(|p| p["valueInteger"].clone());
    assert_eq!(n("overdue"), Some(json!(2)));
    assert_eq!(n("not-applicable"), Some(json!(1)));
    assert_eq!(params.iter().filter(|p| p["name"] == "row").count(), 2);

    let (status, csv) = s.get("/fhir/$care-gaps-worklist?rule=colorectal-cancer-screening&date=2020-01-01&_format=csv").await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("patient_id,name,birth_date,gender,rule,status"), "{csv}");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains(",Ann Lee,") && lines[1].contains(",colorectal-cancer-screening,overdue,"), "{csv}");
    let (_, counts) = s.get("/fhir/$care-gaps-worklist?_summary=count&_format=csv&date=2020-01-01").await;
    assert_eq!(counts.lines().count(), 11, "a header and one line per rule: {counts}");

    let (status, _) = s.get_json("/fhir/$care-gaps-worklist?rule=astrology").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
