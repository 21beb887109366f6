//! Clinical notes: a progress note (LOINC 11506-3) per office or emergency visit, written from
//! the visit's own data in SOAP form and attached as base64 text/plain to a DocumentReference.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::clinic_time::DateTime;
use crate::fhir::{LOINC, coding, concept_text, datetime, reference, resource};
use crate::labs::LabResult;
use crate::vitals::Vitals;

/// Everything a note is written from.
pub(crate) struct NoteInput<'a> {
    pub title: &'a str,
    pub patient_line: String,
    pub clinician: &'a str,
    pub at: DateTime,
    pub subjective: String,
    pub vitals: Option<Vitals>,
    pub labs: &'a [LabResult],
    pub assessment: Vec<String>,
    pub plan: Vec<String>,
    pub medications: Vec<String>,
    pub allergies: Vec<String>,
}

pub(crate) fn text(n: &NoteInput<'_>) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{}\n{}\nDate: {}\nClinician: {}\n\n",
        n.title, n.patient_line, n.at, n.clinician
    ));
    s.push_str("SUBJECTIVE\n");
    s.push_str(&n.subjective);
    s.push('\n');
    let meds = if n.medications.is_empty() {
        "none".to_string()
    } else {
        n.medications.join("; ")
    };
    s.push_str(&format!("Current medications: {meds}.\n"));
    let allergies = if n.allergies.is_empty() {
        "no known allergies".to_string()
    } else {
        n.allergies.join(", ")
    };
    s.push_str(&format!("Allergies: {allergies}.\n\nOBJECTIVE\n"));
    if let Some(v) = n.vitals {
        let mut parts = Vec::new();
        if let Some((sys, dia)) = v.bp {
            parts.push(format!("BP {sys:.0}/{dia:.0} mmHg"));
        }
        parts.push(format!("HR {:.0}/min", v.hr));
        parts.push(format!("RR {:.0}/min", v.rr));
        parts.push(format!("Temp {:.1} C", v.temp));
        if let Some(o) = v.spo2 {
            parts.push(format!("SpO2 {o:.0}% on room air"));
        }
        parts.push(format!("Wt {:.1} kg", v.weight));
        parts.push(format!("Ht {:.1} cm", v.height));
        if let Some(b) = v.bmi {
            parts.push(format!("BMI {b:.1}"));
        }
        s.push_str(&format!("Vitals: {}.\n", parts.join(", ")));
    }
    if !n.labs.is_empty() {
        let list: Vec<String> = n.labs.iter().map(LabResult::text).collect();
        s.push_str(&format!("Labs today: {}.\n", list.join("; ")));
    }
    s.push_str("\nASSESSMENT\n");
    for (i, a) in n.assessment.iter().enumerate() {
        s.push_str(&format!("{}. {a}\n", i + 1));
    }
    s.push_str("\nPLAN\n");
    for p in &n.plan {
        s.push_str(&format!("- {p}\n"));
    }
    s
}

pub(crate) struct Ctx<'a> {
    pub patient: &'a str,
    pub encounter: &'a str,
    pub author: &'a str,
    pub custodian: &'a str,
    pub start: DateTime,
    pub end: DateTime,
}

pub(crate) fn document(body: &str, description: &str, ctx: &Ctx<'_>) -> Map<String, Value> {
    let mut r = resource("DocumentReference");
    r.insert("status".into(), json!("current"));
    r.insert("docStatus".into(), json!("final"));
    r.insert(
        "type".into(),
        concept_text(LOINC, "11506-3", "Progress note", "Progress note"),
    );
    r.insert(
        "category".into(),
        json!([{ "coding": [coding("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note", "Clinical Note")] }]),
    );
    r.insert("subject".into(), reference(ctx.patient));
    r.insert("date".into(), datetime(ctx.end));
    r.insert("author".into(), json!([reference(ctx.author)]));
    r.insert("authenticator".into(), reference(ctx.author));
    r.insert("custodian".into(), reference(ctx.custodian));
    r.insert("description".into(), json!(description));
    r.insert(
        "content".into(),
        json!([{
            "attachment": {
                "contentType": "text/plain",
                "language": "en-US",
                "data": STANDARD.encode(body.as_bytes()),
                "size": body.len(),
                "title": description,
                "creation": datetime(ctx.end)
            },
            "format": coding("http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem", "urn:ihe:iti:xds:2017:mimeTypeSufficient", "mimeType Sufficient")
        }]),
    );
    r.insert(
        "context".into(),
        json!({ "encounter": [reference(ctx.encounter)], "period": { "start": datetime(ctx.start), "end": datetime(ctx.end) } }),
    );
    r
}
