//! No client input may produce a 500: mangled resources, bundles, patches, queries and paths
//! are sent to every kind of endpoint, and each must get an answer below 500 (or a success).
//! The mutations are pseudo-random with a fixed seed, so a failure is reproducible.

mod server;

use serde_json::{Value, json};
use server::TestServer;

/// xorshift64*: a tiny deterministic generator, enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ODD_VALUES: &[&str] = &[
    "null", "true", "-1", "1e309", "0.0000000000000000000001", "\"\"", "\"\\u0000\"", "[]", "{}",
    "[[[[[[[[[[]]]]]]]]]]", "\"2019-02-30\"", "\"Patient/../../etc\"", "\"urn:uuid:not-a-uuid\"",
    "{\"resourceType\":\"Patient\"}", "\"\\ud800\"", "99999999999999999999999999",
];

/// Replaces the text of one JSON value somewhere in `text` with an odd one.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let bytes = text.as_bytes();
    let mut out = text.to_string();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(out.len());
        match rng.below(4) {
            0 => {
                // Drop a span.
                let end = (at + 1 + rng.below(12)).min(out.len());
                if out.is_char_boundary(at) && out.is_char_boundary(end) {
                    out.replace_range(at..end, "");
                }
            }
            1 => {
                // Put an odd value after a colon.
                if let Some(colon) = out[..at].rfind(':') {
                    let end = out[colon..].find([',', '}']).map_or(out.len(), |e| colon + e);
                    let odd = ODD_VALUES[rng.below(ODD_VALUES.len())];
                    out.replace_range(colon + 1..end, odd);
                }
            }
            2 => {
                // Duplicate a span.
                let end = (at + 1 + rng.below(20)).min(out.len());
                if out.is_char_boundary(at) && out.is_char_boundary(end) {
                    let span = out[at..end].to_string();
                    out.insert_str(at, &span);
                }
            }
            _ => {
                // Flip a byte to another ASCII character.
                if bytes.len() > at && out.is_char_boundary(at) && out.is_char_boundary(at + 1) {
                    let c = char::from(b' ' + (rng.below(94) as u8));
                    out.replace_range(at..at + 1, &c.to_string());
                }
            }
        }
    }
    out
}

fn seeds() -> Vec<(&'static str, Value)> {
    vec![
        ("/Patient", json!({"resourceType": "Patient", "name": [{"family": "Smith", "given": ["Ann"]}],
            "gender": "female", "birthDate": "1970-01-01", "identifier": [{"system": "urn:x", "value": "1"}]})),
        ("/Observation", json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2020-01-01T10:00:00Z",
            "valueQuantity": {"value": 70.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}})),
        ("/MedicationRequest", json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "314076"}]},
            "subject": {"reference": "Patient/p1"}})),
        ("", json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "resource": {"resourceType": "Patient"},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
             "subject": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}},
             "request": {"method": "POST", "url": "Observation"}}]})),
    ]
}

#[tokio::test]
async fn mangled_bodies_never_get_a_server_error() {
    let s = TestServer::start().await;
    s.put("/Patient/p1", &json!({"resourceType": "Patient", "id": "p1"}), None).await;
    let mut rng = Rng(0x5A1u64 << 32 | 0x5EED);
    let (mut sent, mut accepted) = (0, 0);
    for (path, seed) in seeds() {
        let text = seed.to_string();
        for _ in 0..60 {
            let body = mutate(&text, &mut rng);
            let r = s.client.post(s.url(path)).header("Content-Type", "application/fhir+json").body(body.clone()).send();
            let status = r.await.expect("send").status();
            assert!(status.as_u16() < 500, "POST {path} answered {status} to {body}");
            accepted += usize::from(status.is_success());
            let r = s.client.put(s.url("/Patient/p1")).header("Content-Type", "application/fhir+json").body(body.clone()).send();
            let status = r.await.expect("send").status();
            assert!(status.as_u16() < 500, "PUT answered {status} to {body}");
            accepted += usize::from(status.is_success());
            sent += 2;
        }
    }
    println!("mangled bodies: {sent} requests ({accepted} accepted, the rest refused), none answered 5xx");
    assert!(accepted > 0 && accepted < sent, "the mutations should produce both valid and invalid bodies");
}

#[tokio::test]
async fn mangled_patches_queries_and_paths_never_get_a_server_error() {
    let s = TestServer::start().await;
    s.put("/Patient/p1", &json!({"resourceType": "Patient", "id": "p1", "gender": "male"}), None).await;
    let mut rng = Rng(0xC0FFEE);
    let patch = json!([{"op": "replace", "path": "/gender", "value": "female"}, {"op": "add", "path": "/active", "value": true}]).to_string();
    for _ in 0..80 {
        let body = mutate(&patch, &mut rng);
        let r = s.client.patch(s.url("/Patient/p1")).header("Content-Type", "application/json-patch+json").body(body.clone());
        let status = r.send().await.expect("send").status();
        assert!(status.as_u16() < 500, "PATCH answered {status} to {body}");
    }
    let queries = [
        "/Patient?name=smi&_sort=-birthdate&_count=5",
        "/Observation?code=http://loinc.org|29463-7&date=ge2019-01-01&_include=Observation:subject",
        "/Observation?subject:Patient.name=smith&value-quantity=gt70|http://unitsofmeasure.org|kg",
        "/Patient?_has:Observation:patient:code=29463-7&_total=accurate",
        "/_history?_since=2020-01-01T00:00:00Z&_count=3",
        "/Patient/p1/$everything?start=2019&_count=2",
        "/Patient?_list=l1&gender=male",
        "/Condition?code:below=http://example.org/cs|A&_revinclude=Provenance:target",
        "/MolecularSequence?chromosome-variant-coordinate=1$gt1000$lt1500",
        "/QuestionnaireResponse?_include=QuestionnaireResponse:questionnaire&_include:iterate=*",
    ];
    let mut sent = 80;
    for q in queries {
        for _ in 0..25 {
            let mangled = mutate(q, &mut rng);
            let url = format!("{}{}", s.url(""), mangled);
            let Ok(request) = s.client.get(&url).build() else { continue }; // not even a URL
            let status = s.client.execute(request).await.expect("send").status();
            assert!(status.as_u16() < 500, "GET {mangled} answered {status}");
            sent += 1;
        }
    }
    println!("mangled patches, queries and paths: {sent} requests, none answered 5xx");
}

#[tokio::test]
async fn mangled_export_kick_off_parameters_never_get_a_server_error() {
    let s = TestServer::start().await;
    s.put("/Patient/p1", &json!({"resourceType": "Patient", "id": "p1"}), None).await;
    let mut rng = Rng(0xB01C);
    let parameters = json!({"resourceType": "Parameters", "parameter": [
        {"name": "_outputFormat", "valueString": "application/fhir+ndjson"},
        {"name": "_since", "valueInstant": "2020-01-01T00:00:00Z"},
        {"name": "_type", "valueString": "Patient,Observation"},
        {"name": "_typeFilter", "valueString": "Observation?code=29463-7"},
        {"name": "patient", "valueReference": {"reference": "Patient/p1"}}]})
    .to_string();
    let mut sent = 0;
    for path in ["/$export", "/Patient/$export"] {
        for _ in 0..40 {
            let body = mutate(&parameters, &mut rng);
            let r = s.client.post(s.url(path)).header("Content-Type", "application/fhir+json").header("Prefer", "respond-async");
            let status = r.body(body.clone()).send().await.expect("send").status();
            assert!(status.as_u16() < 500, "POST {path} answered {status} to {body}");
            sent += 1;
        }
    }
    println!("mangled export kick-offs: {sent} requests, none answered 5xx");
}
