//! The `POST $export` body: a FHIR `Parameters` resource read into the (name, value) pairs a
//! `GET` kick-off sends in its query, so both go through [`ExportRequest::parse`] and mean the
//! same, plus the `patient` references (which only a body can carry). Pure: no engine, no I/O.
//!
//! [`ExportRequest::parse`]: super::ExportRequest::parse

use crate::EngineError;
use serde_json::Value;

/// A kick-off's parameters as read from a `Parameters` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KickOffParameters {
    /// `_outputFormat`, `_since`, `_type` and `_typeFilter`, in the body's order, as a query
    /// would carry them.
    pub params: Vec<(String, String)>,
    /// The ids of the `patient` references, in the body's order.
    pub patients: Vec<String>,
}

/// The value type each Bulk Data 2.0 kick-off parameter takes, and whether it may repeat.
const TAKES: &[(&str, &str, bool)] = &[
    ("_outputFormat", "valueString", false),
    ("_since", "valueInstant", false),
    ("_type", "valueString", true),
    ("_typeFilter", "valueString", true),
    ("patient", "valueReference", true),
];

/// Keys of `Parameters.parameter` that say nothing to an export and may be present.
const HARMLESS: &[&str] = &["name", "id", "extension"];

/// Reads a `POST $export` body. Every error names the parameter (the OperationOutcome's
/// expression) and says what it takes.
pub fn kick_off_parameters(body: &Value) -> Result<KickOffParameters, EngineError> {
    match body.get("resourceType").and_then(Value::as_str) {
        Some("Parameters") => {}
        Some(other) => {
            return Err(EngineError::bad_request(
                format!("the body of a POST $export must be a Parameters resource, not a {other}"),
                Some("resourceType"),
            ));
        }
        None => {
            return Err(EngineError::bad_request(
                "the body of a POST $export must be a Parameters resource; it has no resourceType",
                Some("resourceType"),
            ));
        }
    }
    let entries = match body.get("parameter") {
        None => return Ok(KickOffParameters::default()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(EngineError::bad_request("Parameters.parameter must be an array", Some("Parameters.parameter"))),
    };
    let mut out = KickOffParameters::default();
    let mut seen: Vec<&str> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("Parameters.parameter[{i}]");
        let Some(fields) = entry.as_object() else {
            return Err(EngineError::bad_request(format!("{at} must be an object"), Some(&at)));
        };
        let Some(name) = fields.get("name").and_then(Value::as_str) else {
            return Err(EngineError::bad_request(format!("{at} has no name"), Some(&at)));
        };
        let Some(&(_, takes, repeats)) = TAKES.iter().find(|(n, _, _)| *n == name) else {
            let names: Vec<&str> = TAKES.iter().map(|(n, _, _)| *n).collect();
            return Err(EngineError::bad_request(
                format!("{at}: $export does not take the parameter `{name}`; it takes {}", names.join(", ")),
                Some(name),
            ));
        };
        if !repeats && seen.contains(&name) {
            return Err(EngineError::bad_request(format!("{at}: `{name}` may be given once only"), Some(name)));
        }
        seen.push(name);
        let value = the_value(fields, name, takes, &at)?;
        match takes {
            "valueReference" => out.patients.push(patient_id(value, &at)?),
            primitive => {
                let type_code = if primitive == "valueInstant" { "instant" } else { "string" };
                salus_validator::check_primitive(type_code, value).map_err(|why| {
                    EngineError::bad_request(format!("{at}: `{name}` {primitive}: {why}"), Some(name))
                })?;
                let text = value.as_str().unwrap_or_default().to_string();
                out.params.push((name.to_string(), text));
            }
        }
    }
    Ok(out)
}

/// The one `value[x]` of an entry, which must be the type the parameter takes. A `part` or a
/// `resource` is a value of the wrong kind as much as a `valueInteger` is.
fn the_value<'a>(
    fields: &'a serde_json::Map<String, Value>,
    name: &str,
    takes: &str,
    at: &str,
) -> Result<&'a Value, EngineError> {
    let mut values = Vec::new();
    for (key, value) in fields {
        if key.starts_with("value") || key == "part" || key == "resource" {
            values.push((key.as_str(), value));
        } else if key.starts_with("_value") || HARMLESS.contains(&key.as_str()) {
            // `_valueString` holds the primitive's id and extensions: nothing an export reads.
        } else if key == "modifierExtension" {
            return Err(EngineError::bad_request(
                format!("{at}: `{name}` carries a modifierExtension, which this server does not understand"),
                Some(name),
            ));
        } else {
            return Err(EngineError::bad_request(format!("{at}: `{key}` is not an element of Parameters.parameter"), Some(name)));
        }
    }
    match values.as_slice() {
        [(key, value)] if *key == takes => Ok(value),
        [(key, _)] => Err(EngineError::bad_request(format!("{at}: `{name}` takes {takes}, not {key}"), Some(name))),
        [] => Err(EngineError::bad_request(format!("{at}: `{name}` has no value; it takes {takes}"), Some(name))),
        _ => Err(EngineError::bad_request(format!("{at}: `{name}` has more than one value; it takes one {takes}"), Some(name))),
    }
}

/// `{"reference": "Patient/123"}` (or an absolute URL ending so) as `123`.
fn patient_id(value: &Value, at: &str) -> Result<String, EngineError> {
    let bad = || {
        EngineError::bad_request(
            format!("{at}: `patient` takes a valueReference to a Patient, such as {{\"reference\": \"Patient/123\"}}"),
            Some("patient"),
        )
    };
    let reference = value.get("reference").and_then(Value::as_str).ok_or_else(bad)?;
    let mut segments = reference.rsplit('/');
    let (id, t) = (segments.next().ok_or_else(bad)?, segments.next().ok_or_else(bad)?);
    if t != "Patient" || !salus_fhir::resource::is_valid_id(id) {
        return Err(bad());
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parameters(entries: Value) -> Value {
        json!({"resourceType": "Parameters", "parameter": entries})
    }

    fn refused_naming(body: Value) -> String {
        match kick_off_parameters(&body) {
            Err(EngineError::BadRequest { expression: Some(e), .. }) => e,
            other => panic!("expected a BadRequest naming the parameter, got {other:?}"),
        }
    }

    #[test]
    fn each_parameter_becomes_the_query_pair_a_get_would_send() {
        let body = parameters(json!([
            {"name": "_outputFormat", "valueString": "application/fhir+ndjson"},
            {"name": "_since", "valueInstant": "2024-01-01T00:00:00Z"},
            {"name": "_type", "valueString": "Patient,Observation"},
            {"name": "_typeFilter", "valueString": "Observation?code=8867-4"},
        ]));
        let read = kick_off_parameters(&body).expect("valid");
        let pairs: Vec<(&str, &str)> = read.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("_outputFormat", "application/fhir+ndjson"),
                ("_since", "2024-01-01T00:00:00Z"),
                ("_type", "Patient,Observation"),
                ("_typeFilter", "Observation?code=8867-4"),
            ]
        );
        assert!(read.patients.is_empty());
    }

    #[test]
    fn type_typefilter_and_patient_may_repeat() {
        let body = parameters(json!([
            {"name": "_type", "valueString": "Patient"},
            {"name": "_type", "valueString": "Observation"},
            {"name": "_typeFilter", "valueString": "Observation?code=a"},
            {"name": "_typeFilter", "valueString": "Observation?code=b"},
            {"name": "patient", "valueReference": {"reference": "Patient/p1"}},
            {"name": "patient", "valueReference": {"reference": "https://ehr.example.org/fhir/Patient/p2"}},
        ]));
        let read = kick_off_parameters(&body).expect("valid");
        assert_eq!(read.params.iter().filter(|(k, _)| k == "_type").count(), 2);
        assert_eq!(read.params.iter().filter(|(k, _)| k == "_typeFilter").count(), 2);
        assert_eq!(read.patients, ["p1", "p2"]);
    }

    #[test]
    fn a_parameters_resource_without_parameters_asks_for_everything() {
        assert_eq!(kick_off_parameters(&json!({"resourceType": "Parameters"})).expect("valid"), KickOffParameters::default());
    }

    #[test]
    fn since_and_output_format_may_not_repeat() {
        let body = parameters(json!([
            {"name": "_since", "valueInstant": "2024-01-01T00:00:00Z"},
            {"name": "_since", "valueInstant": "2025-01-01T00:00:00Z"},
        ]));
        assert_eq!(refused_naming(body), "_since");
    }

    #[test]
    fn an_unknown_parameter_is_refused_by_name() {
        assert_eq!(refused_naming(parameters(json!([{"name": "_elements", "valueString": "id"}]))), "_elements");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_by_name() {
        assert_eq!(refused_naming(parameters(json!([{"name": "_since", "valueDateTime": "2024-01-01"}]))), "_since");
        assert_eq!(refused_naming(parameters(json!([{"name": "_type", "valueCode": "Patient"}]))), "_type");
        assert_eq!(refused_naming(parameters(json!([{"name": "patient", "valueString": "Patient/p1"}]))), "patient");
        assert_eq!(refused_naming(parameters(json!([{"name": "_typeFilter", "part": []}]))), "_typeFilter");
    }

    #[test]
    fn a_value_that_breaks_its_type_is_refused_by_name() {
        assert_eq!(refused_naming(parameters(json!([{"name": "_since", "valueInstant": "2024-01-01"}]))), "_since");
        assert_eq!(refused_naming(parameters(json!([{"name": "_type", "valueString": 7}]))), "_type");
    }

    #[test]
    fn a_parameter_needs_exactly_one_value() {
        assert_eq!(refused_naming(parameters(json!([{"name": "_type"}]))), "_type");
        let two = parameters(json!([{"name": "_type", "valueString": "Patient", "valueCode": "Patient"}]));
        assert_eq!(refused_naming(two), "_type");
    }

    #[test]
    fn patient_must_reference_a_patient() {
        for reference in [json!({"reference": "Group/g1"}), json!({"identifier": {"value": "x"}}), json!({"reference": "Patient/"})] {
            assert_eq!(refused_naming(parameters(json!([{"name": "patient", "valueReference": reference}]))), "patient");
        }
    }

    #[test]
    fn a_body_that_is_not_parameters_is_refused() {
        assert_eq!(refused_naming(json!({"resourceType": "Patient"})), "resourceType");
        assert_eq!(refused_naming(json!({"parameter": []})), "resourceType");
        assert_eq!(refused_naming(json!({"resourceType": "Parameters", "parameter": {}})), "Parameters.parameter");
    }
}
