//! Bulk Data `$export` (kick-off by GET and by POST, poll, download, cancel, errors, restart,
//! resources shared by compartments) and `Patient/$everything` over HTTP, against a server on
//! 127.0.0.1:0 with its own data directory.

use reqwest::StatusCode;
use salus_engine::{Caller, Engine};
use salus_store::{JobRecord, Store, sqlite::SqliteStore};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

struct Server {
    client: reqwest::Client,
    base: String,
}

impl Server {
    /// A server over the database in `dir`, with exports in `dir/exports`; unfinished jobs of
    /// an earlier server on the same directory are resumed, as `salus serve` does.
    async fn start(dir: &Path) -> Server {
        let store = Store::new(SqliteStore::open(dir).expect("open store"));
        let engine = Engine::r4(store).with_export_dir(dir.join("exports"));
        engine.resume_exports(&Caller::system()).await.expect("resume");
        let config = salus_http::HttpConfig { max_body_bytes: 16 * 1024 * 1024, base_url: None };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, salus_http::app(engine, config)).await;
        });
        Server { client: reqwest::Client::new(), base: format!("http://{addr}/fhir") }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn put(&self, resource: Value) {
        let path = format!("/{}/{}", resource["resourceType"].as_str().unwrap_or(""), resource["id"].as_str().unwrap_or(""));
        let r = self
            .client
            .put(self.url(&path))
            .header("Content-Type", "application/fhir+json")
            .body(resource.to_string())
            .send()
            .await
            .expect("send");
        assert!(r.status().is_success(), "PUT {path}: {} {}", r.status(), r.text().await.unwrap_or_default());
    }

    async fn kick_off(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header("Prefer", "respond-async").send().await.expect("send")
    }

    /// A `POST` kick-off with `body` (a Parameters resource, or not).
    async fn kick_off_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Prefer", "respond-async")
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("send")
    }

    /// Kicks off, polls until done and returns the manifest.
    async fn export(&self, path: &str) -> Value {
        let r = self.kick_off(path).await;
        self.follow(path, r).await
    }

    /// Kicks off by `POST` with a Parameters body holding `parameters`, polls until done and
    /// returns the manifest.
    async fn export_post(&self, path: &str, parameters: Value) -> Value {
        // FHIR has no empty arrays: no parameters is a Parameters without `parameter`.
        let body = match parameters {
            Value::Array(p) if p.is_empty() => json!({"resourceType": "Parameters"}),
            p => json!({"resourceType": "Parameters", "parameter": p}),
        };
        let r = self.kick_off_post(path, body).await;
        self.follow(path, r).await
    }

    async fn follow(&self, path: &str, r: reqwest::Response) -> Value {
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{path}: {}", r.text().await.unwrap_or_default());
        let status = r.headers()["content-location"].to_str().expect("ascii").to_string();
        assert!(status.starts_with(&self.url("/bulk-status/")), "{status}");
        self.wait(&status).await
    }

    async fn wait(&self, status_url: &str) -> Value {
        for _ in 0..600 {
            let r = self.client.get(status_url).send().await.expect("poll");
            match r.status() {
                StatusCode::ACCEPTED => {
                    assert!(r.headers().contains_key("x-progress"));
                    assert!(r.headers().contains_key("retry-after"));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                StatusCode::OK => return r.json().await.expect("manifest"),
                other => panic!("status {other}: {}", r.text().await.unwrap_or_default()),
            }
        }
        panic!("the export did not finish");
    }

    /// Every resource in a manifest's files, checking each file holds its type only.
    async fn download(&self, manifest: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        for o in manifest["output"].as_array().expect("output") {
            let r = self.client.get(o["url"].as_str().expect("url")).send().await.expect("download");
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()["content-type"], "application/fhir+ndjson");
            let text = r.text().await.expect("text");
            let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("ndjson line")).collect();
            assert_eq!(lines.len() as u64, o["count"].as_u64().expect("count"));
            assert!(lines.iter().all(|v| v["resourceType"] == o["type"]));
            out.extend(lines);
        }
        out
    }
}

fn ids(resources: &[Value]) -> Vec<String> {
    let mut v: Vec<String> =
        resources.iter().map(|r| format!("{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or(""))).collect();
    v.sort();
    v
}

/// Two patients with an Encounter and Observations each, a shared Practitioner, Organization
/// and Location, and a Group holding the first patient.
async fn seed(s: &Server) {
    s.put(json!({"resourceType": "Organization", "id": "org", "name": "Clinic"})).await;
    s.put(json!({"resourceType": "Location", "id": "loc", "name": "Room 1", "managingOrganization": {"reference": "Organization/org"}})).await;
    s.put(json!({"resourceType": "Practitioner", "id": "doc", "name": [{"family": "Who"}]})).await;
    for p in ["p1", "p2"] {
        s.put(json!({"resourceType": "Patient", "id": p, "managingOrganization": {"reference": "Organization/org"}})).await;
        s.put(json!({"resourceType": "Encounter", "id": format!("{p}-enc"), "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": format!("Patient/{p}")}, "period": {"start": "2020-05-01T10:00:00Z"},
            "location": [{"location": {"reference": "Location/loc"}}]}))
        .await;
        for (i, (code, date)) in [("8867-4", "2019-01-01"), ("8310-5", "2021-06-01")].iter().enumerate() {
            s.put(json!({"resourceType": "Observation", "id": format!("{p}-obs{i}"), "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": format!("Patient/{p}")}, "effectiveDateTime": date,
                "performer": [{"reference": "Practitioner/doc"}]}))
            .await;
        }
    }
    s.put(json!({"resourceType": "Group", "id": "g1", "type": "person", "actual": true,
        "member": [{"entity": {"reference": "Patient/p1"}}]}))
    .await;
}

#[tokio::test]
async fn system_export_kick_off_poll_and_download_return_every_resource() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let manifest = s.export("/$export").await;
    assert_eq!(manifest["requiresAccessToken"], false);
    assert_eq!(manifest["error"], json!([]));
    assert!(manifest["request"].as_str().expect("request").ends_with("/fhir/$export"));
    assert!(manifest["transactionTime"].as_str().is_some_and(|t| t.contains('T')));
    let all = s.download(&manifest).await;
    println!("system export: {} resources in {} files", all.len(), manifest["output"].as_array().map_or(0, Vec::len));
    assert_eq!(all.len(), 3 + 2 * 4 + 1);

    let typed = s.download(&s.export("/$export?_type=Observation,Practitioner&_outputFormat=application/fhir%2Bndjson").await).await;
    assert_eq!(ids(&typed).len(), 5);
    assert!(typed.iter().all(|r| r["resourceType"] == "Observation" || r["resourceType"] == "Practitioner"));

    let filtered = s
        .download(&s.export("/$export?_type=Observation&_typeFilter=Observation%3Fcode%3D8867-4,Observation%3Fcode%3D8867-4%2C8310-5%26subject%3DPatient/p1").await)
        .await;
    assert_eq!(ids(&filtered), ["Observation/p1-obs0", "Observation/p1-obs1", "Observation/p2-obs0"], "either filter, each resource once");

    let later = s.download(&s.export("/$export?_since=2999-01-01T00:00:00Z").await).await;
    assert!(later.is_empty(), "nothing was written after 2999");
}

#[tokio::test]
async fn patient_and_group_exports_hold_the_compartments() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let patients = s.download(&s.export("/Patient/$export").await).await;
    // Patients, encounters, observations and the Group (in p1's compartment through `member`);
    // no shared resources.
    assert_eq!(ids(&patients).len(), 2 * 4 + 1);
    let group = s.download(&s.export("/Group/g1/$export?_type=Patient,Observation").await).await;
    assert_eq!(ids(&group), ["Observation/p1-obs0", "Observation/p1-obs1", "Patient/p1"]);
}

#[tokio::test]
async fn kick_off_errors_say_what_to_change() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let r = s.client.get(s.url("/$export")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no Prefer: respond-async");
    let body: Value = r.json().await.expect("outcome");
    assert!(body["issue"][0]["diagnostics"].as_str().unwrap_or("").contains("respond-async"));
    for bad in [
        "/$export?_outputFormat=text/csv",
        "/$export?_type=Nonsense",
        "/$export?_since=yesterday",
        "/$export?_typeFilter=Observation%3Fnonsense%3D1",
        "/$export?_typeFilter=Observation%3F_count%3D5",
        "/$export?patient=Patient/p1",
    ] {
        assert_eq!(s.kick_off(bad).await.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(s.kick_off("/Group/nope/$export").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.kick_off("/Observation/$export").await.status(), StatusCode::NOT_FOUND);
    let r = s.client.get(s.url("/bulk-status/0123abcd")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s.client.get(s.url("/bulk-files/0123abcd/..%2Fsalus.db")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cancelling_an_export_deletes_the_job_and_its_files() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let r = s.kick_off("/$export").await;
    let status = r.headers()["content-location"].to_str().expect("ascii").to_string();
    let manifest = s.wait(&status).await;
    let file = manifest["output"][0]["url"].as_str().expect("url").to_string();
    let job = status.rsplit('/').next().expect("job").to_string();
    assert!(dir.path().join("exports").join(&job).exists());
    let r = s.client.delete(&status).send().await.expect("delete");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(s.client.get(&status).send().await.expect("poll").status(), StatusCode::NOT_FOUND);
    assert_eq!(s.client.get(&file).send().await.expect("file").status(), StatusCode::NOT_FOUND);
    assert!(!dir.path().join("exports").join(&job).exists(), "files deleted");
    assert_eq!(s.client.delete(&status).send().await.expect("delete").status(), StatusCode::NOT_FOUND);

    // Cancelling while it runs (or before it starts) leaves nothing either.
    let r = s.kick_off("/$export").await;
    let status = r.headers()["content-location"].to_str().expect("ascii").to_string();
    assert_eq!(s.client.delete(&status).send().await.expect("delete").status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let job = status.rsplit('/').next().expect("job");
    assert!(!dir.path().join("exports").join(job).exists());
    assert_eq!(s.client.get(&status).send().await.expect("poll").status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unfinished_job_is_run_again_by_the_next_server() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let s = Server::start(dir.path()).await;
        seed(&s).await;
    }
    // A job a server accepted and then lost (stopped mid-run): its row says in-progress.
    let store = Store::new(SqliteStore::open(dir.path()).expect("open"));
    let job = JobRecord {
        id: "0000aaaa".into(),
        kind: "export".into(),
        status: "in-progress".into(),
        request: json!({"level": "system", "group": null, "types": ["Patient"], "since": null, "typeFilters": [], "request": "http://x/fhir/$export?_type=Patient"}).to_string(),
        state: json!({"transactionTime": 0}).to_string(),
        created_ms: 0,
        updated_ms: 0,
    };
    store.write(move |tx| tx.put_job(&job)).await.expect("put job");
    drop(store);
    let s = Server::start(dir.path()).await;
    let manifest = s.wait(&s.url("/bulk-status/0000aaaa")).await;
    assert_eq!(ids(&s.download(&manifest).await), ["Patient/p1", "Patient/p2"]);
}

/// The status and OperationOutcome of a refused kick-off.
async fn refused(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.expect("an OperationOutcome"))
}

fn expression(outcome: &Value) -> &str {
    outcome["issue"][0]["expression"][0].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_post_kick_off_answers_like_a_get_at_every_level() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    for path in ["/$export", "/Patient/$export", "/Group/g1/$export"] {
        let posted = s.export_post(path, json!([])).await;
        assert_eq!(posted["request"].as_str().expect("request"), s.url(path), "the manifest names the kick-off");
        assert_eq!(ids(&s.download(&posted).await), ids(&s.download(&s.export(path).await).await), "{path}");
    }
}

#[tokio::test]
async fn post_parameters_mean_what_the_query_parameters_mean() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let typed = s
        .export_post("/$export", json!([
            {"name": "_outputFormat", "valueString": "application/fhir+ndjson"},
            {"name": "_type", "valueString": "Observation"},
            {"name": "_type", "valueString": "Practitioner"},
        ]))
        .await;
    let by_get = s.export("/$export?_type=Observation,Practitioner").await;
    assert_eq!(ids(&s.download(&typed).await), ids(&s.download(&by_get).await), "_type repeated is _type as a list");

    let filtered = s
        .export_post("/Patient/$export", json!([
            {"name": "_type", "valueString": "Observation"},
            {"name": "_typeFilter", "valueString": "Observation?code=8867-4"},
            {"name": "_typeFilter", "valueString": "Observation?subject=Patient/p1"},
        ]))
        .await;
    assert_eq!(
        ids(&s.download(&filtered).await),
        ["Observation/p1-obs0", "Observation/p1-obs1", "Observation/p2-obs0"],
        "either filter, each resource once"
    );

    let later = s.export_post("/Group/g1/$export", json!([{"name": "_since", "valueInstant": "2999-01-01T00:00:00Z"}])).await;
    assert!(s.download(&later).await.is_empty(), "nothing was written after 2999");
}

#[tokio::test]
async fn the_patient_parameter_limits_the_export_to_those_patients() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    s.put(json!({"resourceType": "Group", "id": "both", "type": "person", "actual": true,
        "member": [{"entity": {"reference": "Patient/p1"}}, {"entity": {"reference": "Patient/p2"}}]}))
    .await;
    // The Group is in p2's compartment too (through `member`).
    let p2 = ["Encounter/p2-enc", "Group/both", "Observation/p2-obs0", "Observation/p2-obs1", "Patient/p2"];
    let only_p2 = json!([{"name": "patient", "valueReference": {"reference": "Patient/p2"}}]);
    assert_eq!(ids(&s.download(&s.export_post("/Patient/$export", only_p2.clone()).await).await), p2);
    assert_eq!(ids(&s.download(&s.export_post("/Group/both/$export", only_p2).await).await), p2);
}

#[tokio::test]
async fn a_patient_the_export_cannot_cover_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let patient = |id: &str| json!({"resourceType": "Parameters", "parameter": [{"name": "patient", "valueReference": {"reference": format!("Patient/{id}")}}]});
    for (path, id, why) in [
        ("/Patient/$export", "nobody", "an unknown patient"),
        ("/Group/g1/$export", "p2", "a patient outside the Group"),
        ("/$export", "p1", "any patient at the system level"),
    ] {
        let (status, outcome) = refused(s.kick_off_post(path, patient(id)).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(expression(&outcome), "patient", "{why}: {outcome}");
    }
}

#[tokio::test]
async fn a_post_kick_off_without_prefer_respond_async_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    let r = s
        .client
        .post(s.url("/$export"))
        .header("Content-Type", "application/fhir+json")
        .body(json!({"resourceType": "Parameters"}).to_string())
        .send()
        .await
        .expect("send");
    let (status, outcome) = refused(r).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default().contains("respond-async"));
}

#[tokio::test]
async fn a_post_kick_off_takes_its_parameters_from_the_body_only() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    let (status, outcome) = refused(s.kick_off_post("/$export?_type=Patient", json!({"resourceType": "Parameters"})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(expression(&outcome), "_type");
}

#[tokio::test]
async fn an_unknown_parameter_in_the_body_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    let body = json!({"resourceType": "Parameters", "parameter": [{"name": "_elements", "valueString": "id"}]});
    let (status, outcome) = refused(s.kick_off_post("/Patient/$export", body).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(expression(&outcome), "_elements");
    assert!(outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default().contains("_elements"));
}

#[tokio::test]
async fn a_body_with_an_element_parameters_does_not_have_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    // A misspelt `parameter` is not "no parameters": the whole system would be exported.
    let body = json!({"resourceType": "Parameters", "paramter": [{"name": "_type", "valueString": "Patient"}]});
    let (status, outcome) = refused(s.kick_off_post("/$export", body).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default().contains("paramter"), "{outcome}");
}

#[tokio::test]
async fn a_parameter_of_the_wrong_type_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    for (entry, name) in [
        (json!({"name": "_since", "valueDateTime": "2024-01-01T00:00:00Z"}), "_since"),
        (json!({"name": "_since", "valueInstant": "yesterday"}), "_since"),
        (json!({"name": "_type", "valueCode": "Patient"}), "_type"),
        (json!({"name": "_type", "valueString": "Nonsense"}), "_type"),
        (json!({"name": "_typeFilter", "valueString": "Observation?nonsense=1"}), "_typeFilter"),
        (json!({"name": "_outputFormat", "valueString": "text/csv"}), "_outputFormat"),
        (json!({"name": "patient", "valueString": "Patient/p1"}), "patient"),
    ] {
        let body = json!({"resourceType": "Parameters", "parameter": [entry]});
        let (status, outcome) = refused(s.kick_off_post("/Patient/$export", body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{entry}");
        assert_eq!(expression(&outcome), name, "{entry}: {outcome}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_parameters_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    let (status, outcome) = refused(s.kick_off_post("/$export", json!({"resourceType": "Patient"})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(expression(&outcome), "resourceType");
    let r = s
        .client
        .post(s.url("/$export"))
        .header("Prefer", "respond-async")
        .header("Content-Type", "application/fhir+json")
        .body("_type=Patient")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "not JSON");
}

#[tokio::test]
async fn a_resource_in_two_exported_compartments_is_written_once() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    // In p1's compartment (subject) and p2's (performer); in both through Provenance.target.
    s.put(json!({"resourceType": "Observation", "id": "shared", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"}, "performer": [{"reference": "Patient/p2"}]}))
    .await;
    s.put(json!({"resourceType": "Provenance", "id": "both", "recorded": "2020-05-01T10:00:00Z",
        "target": [{"reference": "Patient/p2"}, {"reference": "Patient/p1"}],
        "agent": [{"who": {"reference": "Practitioner/doc"}}]}))
    .await;
    s.put(json!({"resourceType": "Group", "id": "both", "type": "person", "actual": true,
        "member": [{"entity": {"reference": "Patient/p2"}}, {"entity": {"reference": "Patient/p1"}}]}))
    .await;
    s.put(json!({"resourceType": "Group", "id": "second", "type": "person", "actual": true,
        "member": [{"entity": {"reference": "Patient/p2"}}]}))
    .await;
    let once = |all: &[Value], key: &str| ids(all).iter().filter(|k| *k == key).count();
    for path in ["/Patient/$export", "/Group/both/$export"] {
        let all = s.download(&s.export(path).await).await;
        println!("{path}: {} resources", all.len());
        assert_eq!(once(&all, "Observation/shared"), 1, "{path}");
        assert_eq!(once(&all, "Provenance/both"), 1, "{path}");
        let mut unique = ids(&all);
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{path}: no resource twice");
    }
    // p1 (the smaller id) is not exported: p2's compartment still gives the shared resources.
    let second = s.download(&s.export("/Group/second/$export?_type=Observation,Provenance").await).await;
    assert_eq!(ids(&second), ["Observation/p2-obs0", "Observation/p2-obs1", "Observation/shared", "Provenance/both"]);
}

async fn everything(s: &Server, path: &str) -> (Vec<String>, Vec<String>, Option<String>) {
    let r = s.client.get(s.url(path)).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let bundle: Value = r.json().await.expect("bundle");
    let mut matches = Vec::new();
    let mut included = Vec::new();
    for e in bundle["entry"].as_array().into_iter().flatten() {
        let key = format!("{}/{}", e["resource"]["resourceType"].as_str().unwrap_or(""), e["resource"]["id"].as_str().unwrap_or(""));
        if e["search"]["mode"] == "match" { matches.push(key) } else { included.push(key) }
    }
    let next = bundle["link"].as_array().into_iter().flatten().find(|l| l["relation"] == "next").and_then(|l| l["url"].as_str()).map(str::to_string);
    (matches, included, next)
}

#[tokio::test]
async fn patient_everything_returns_the_compartment_and_what_it_refers_to() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let (matches, mut included, next) = everything(&s, "/Patient/p1/$everything").await;
    included.sort();
    assert_eq!(matches, ["Encounter/p1-enc", "Group/g1", "Observation/p1-obs0", "Observation/p1-obs1", "Patient/p1"]);
    assert_eq!(included, ["Location/loc", "Organization/org", "Practitioner/doc"], "no other patient's data");
    assert!(next.is_none());

    let (only, inc, _) = everything(&s, "/Patient/p1/$everything?_type=Observation").await;
    assert_eq!(only, ["Observation/p1-obs0", "Observation/p1-obs1"]);
    assert!(inc.is_empty(), "_type limits the referenced resources too");

    let (dated, _, _) = everything(&s, "/Patient/p1/$everything?start=2020-01-01&end=2020-12-31").await;
    assert_eq!(dated, ["Encounter/p1-enc", "Group/g1", "Patient/p1"], "care dates in range, undated resources kept");

    let (none, _, _) = everything(&s, "/Patient/p1/$everything?_since=2999-01-01").await;
    assert!(none.is_empty());

    // Paging one at a time through every patient (type level) visits each match once.
    let mut seen = Vec::new();
    let mut path = "/Patient/$everything?_count=3".to_string();
    loop {
        let (m, _, next) = everything(&s, &path).await;
        assert!(m.len() <= 3);
        seen.extend(m);
        match next {
            Some(url) => path = url.trim_start_matches(&s.base).to_string(),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen.len(), 9);
    seen.dedup();
    assert_eq!(seen.len(), 9, "no resource twice");

    for (path, status) in [
        ("/Patient/nobody/$everything", StatusCode::NOT_FOUND),
        ("/Observation/p1-obs0/$everything", StatusCode::NOT_FOUND),
        ("/Patient/p1/$everything?bogus=1", StatusCode::BAD_REQUEST),
        ("/Patient/p1/$everything?start=notadate", StatusCode::BAD_REQUEST),
        ("/Patient/p1/$everything?_cursor=garbage", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(s.client.get(s.url(path)).send().await.expect("send").status(), status, "{path}");
    }
}
