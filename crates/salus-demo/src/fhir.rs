//! Small builders for the FHIR R4 datatypes the generator writes, and the code-system URIs.
//!
//! Keeping these in one place means every Coding, Quantity and Reference has the same shape,
//! which is what a strict validator checks first.

use salus_fhir::date::Date;
use serde_json::{Map, Number, Value, json};

use crate::clinic_time::DateTime;

pub(crate) const LOINC: &str = "http://loinc.org";
pub(crate) const SNOMED: &str = "http://snomed.info/sct";
pub(crate) const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub(crate) const CVX: &str = "http://hl7.org/fhir/sid/cvx";
pub(crate) const UCUM: &str = "http://unitsofmeasure.org";
pub(crate) const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
pub(crate) const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub(crate) const INTERPRETATION: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
pub(crate) const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// A Coding.
pub(crate) fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

/// A CodeableConcept with one coding; `text` repeats the display so a reader without a
/// terminology server still sees words.
pub(crate) fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [coding(system, code, display)], "text": display })
}

pub(crate) fn concept_text(system: &str, code: &str, display: &str, text: &str) -> Value {
    json!({ "coding": [coding(system, code, display)], "text": text })
}

pub(crate) fn reference(target: &str) -> Value {
    json!({ "reference": target })
}

pub(crate) fn reference_display(target: &str, display: &str) -> Value {
    json!({ "reference": target, "display": display })
}

/// A decimal with a fixed number of places, kept exactly as written (the workspace enables
/// serde_json's `arbitrary_precision`, so `5.70` stays `5.70`).
pub(crate) fn dec(value: f64, places: usize) -> Value {
    let v = round(value, places);
    let text = format!("{v:.places$}");
    let text = if text.starts_with('-') && text.trim_start_matches(['-', '0', '.']).is_empty() {
        text.trim_start_matches('-').to_string()
    } else {
        text
    };
    text.parse::<Number>()
        .map(Value::Number)
        .unwrap_or_else(|_| json!(0))
}

/// Rounds half away from zero to `places` decimals; flags are computed from the rounded value so
/// that the flag always agrees with the number a reader sees.
pub(crate) fn round(value: f64, places: usize) -> f64 {
    let f = 10f64.powi(places as i32);
    (value * f).round() / f
}

/// A UCUM Quantity.
pub(crate) fn quantity(value: f64, places: usize, unit: &str, code: &str) -> Value {
    json!({ "value": dec(value, places), "unit": unit, "system": UCUM, "code": code })
}

pub(crate) fn date(d: Date) -> Value {
    Value::String(d.to_string())
}

pub(crate) fn datetime(t: DateTime) -> Value {
    Value::String(t.to_string())
}

/// The resource object with `resourceType` first, as FHIR JSON readers expect.
pub(crate) fn resource(resource_type: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("resourceType".into(), Value::String(resource_type.into()));
    m
}

/// One Observation category.
pub(crate) fn obs_category(code: &str, display: &str) -> Value {
    json!([{ "coding": [coding(OBS_CATEGORY, code, display)] }])
}

/// Interpretation as the v3 code the flag stands for.
pub(crate) fn interpretation(flag: Flag) -> Value {
    let (code, display) = match flag {
        Flag::Low => ("L", "Low"),
        Flag::Normal => ("N", "Normal"),
        Flag::High => ("H", "High"),
    };
    json!([{ "coding": [coding(INTERPRETATION, code, display)], "text": display }])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flag {
    Low,
    Normal,
    High,
}

impl Flag {
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Flag::Low => " (L)",
            Flag::Normal => "",
            Flag::High => " (H)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_places() {
        assert_eq!(
            serde_json::to_string(&dec(5.7, 2)).ok().as_deref(),
            Some("5.70")
        );
        assert_eq!(
            serde_json::to_string(&dec(120.0, 0)).ok().as_deref(),
            Some("120")
        );
        assert_eq!(
            serde_json::to_string(&dec(-0.001, 1)).ok().as_deref(),
            Some("0.0")
        );
    }
}
