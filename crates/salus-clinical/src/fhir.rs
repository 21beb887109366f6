//! Small readers over FHIR JSON that never panic: a missing or oddly typed field reads as absent.

use salus_fhir::date::Date;
use serde_json::Value;

pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub const SNOMED: &str = "http://snomed.info/sct";

/// One coding of a CodeableConcept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coding {
    pub system: String,
    pub code: String,
    pub display: Option<String>,
}

pub fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub fn resource_type(v: &Value) -> Option<&str> {
    str_at(v, "resourceType")
}

/// `Type/id` for a resource that has an id.
pub fn reference_to(v: &Value) -> Option<String> {
    Some(format!("{}/{}", resource_type(v)?, str_at(v, "id")?))
}

/// The codings of a CodeableConcept (codings without a system or code are skipped).
pub fn codings(cc: Option<&Value>) -> Vec<Coding> {
    let Some(list) = cc.and_then(|c| c.get("coding")).and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|c| {
            Some(Coding {
                system: str_at(c, "system")?.trim().to_string(),
                code: str_at(c, "code")?.trim().to_string(),
                display: str_at(c, "display").map(str::to_string),
            })
        })
        .collect()
}

/// Every human-readable name in a CodeableConcept: its text and its codings' displays.
pub fn names(cc: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = cc.and_then(|c| str_at(c, "text")) {
        out.push(t.to_string());
    }
    if let Some(list) = cc.and_then(|c| c.get("coding")).and_then(Value::as_array) {
        out.extend(list.iter().filter_map(|c| str_at(c, "display")).map(str::to_string));
    }
    out
}

/// True when any coding of `cc` has one of the codes in `codes` (system and code both match).
pub fn has_code<'a, I>(cc: Option<&Value>, codes: I) -> bool
where
    I: IntoIterator<Item = (&'a str, &'a str)> + Clone,
{
    codings(cc).iter().any(|c| codes.clone().into_iter().any(|(s, k)| s == c.system && k == c.code))
}

/// The code of a status CodeableConcept (`clinicalStatus`, `verificationStatus`).
pub fn status_code(v: &Value, key: &str) -> Option<String> {
    // Status codings are often sent without their system; the code alone is unambiguous here.
    v.get(key)?.get("coding")?.as_array()?.iter().find_map(|c| str_at(c, "code")).map(str::to_string)
}

pub fn date_at(v: &Value, key: &str) -> Option<Date> {
    str_at(v, key).and_then(Date::parse_fhir)
}

/// The clinically relevant date of a resource: when the test, procedure or vaccination happened
/// or the condition began.
pub fn clinical_date(v: &Value) -> Option<Date> {
    for key in ["effectiveDateTime", "performedDateTime", "occurrenceDateTime", "onsetDateTime", "effectiveInstant"] {
        if let Some(d) = date_at(v, key) {
            return Some(d);
        }
    }
    for key in ["effectivePeriod", "performedPeriod", "onsetPeriod"] {
        if let Some(p) = v.get(key)
            && let Some(d) = date_at(p, "start").or_else(|| date_at(p, "end")) {
                return Some(d);
            }
    }
    for key in ["issued", "recordedDate", "recorded", "started", "authoredOn", "date"] {
        if let Some(d) = date_at(v, key) {
            return Some(d);
        }
    }
    None
}

/// The code of a resource, whatever its element is called.
pub fn resource_code(v: &Value) -> Option<&Value> {
    match resource_type(v)? {
        "Immunization" => v.get("vaccineCode"),
        "ImagingStudy" => v.get("procedureCode").and_then(|p| p.as_array()).and_then(|a| a.first()),
        _ => v.get("code"),
    }
}
