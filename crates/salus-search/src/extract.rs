//! From FHIRPath items to index terms, by parameter type and by the FHIR type of the item: a
//! token parameter over a `CodeableConcept` yields one term per coding plus its text, a string
//! parameter over a `HumanName` one term per name part, a date over a `Period` one range from
//! start to end. When the model gives no type, the JSON's shape decides.

use crate::date::{self, DateRange};
use crate::path::Item;
use crate::terms::*;
use crate::text::fold;
use crate::ucum;
use serde_json::Value;

fn s<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key)?.as_str()
}

/// The string members `keys` of an object, found in one pass over its members: hashing each
/// key for a lookup cost more than comparing it with the few members a Coding has.
fn strings_of<'v, const N: usize>(v: &'v Value, keys: [&str; N]) -> [Option<&'v str>; N] {
    let mut out = [None; N];
    if let Value::Object(o) = v {
        for (k, value) in o {
            if let (Some(i), Value::String(s)) = (keys.iter().position(|key| *key == k.as_str()), value) {
                out[i] = Some(s.as_str());
            }
        }
    }
    out
}

fn each<'v>(v: &'v Value, key: &str) -> std::slice::Iter<'v, Value> {
    match v.get(key) {
        Some(Value::Array(a)) => a.iter(),
        Some(x) => std::slice::from_ref(x).iter(),
        None => [].iter(),
    }
}

/// The item's FHIR type: as the model says, else guessed from the JSON.
fn type_of<'i>(item: &'i Item<'_>) -> &'i str {
    if let Some(t) = item.type_code.as_deref() {
        return t;
    }
    match item.json.as_ref() {
        Value::Bool(_) => "boolean",
        Value::Number(_) => "decimal",
        Value::String(_) => "string",
        Value::Object(o) => {
            if o.contains_key("coding") || (o.contains_key("text") && o.len() == 1) {
                "CodeableConcept"
            } else if o.contains_key("reference") || o.contains_key("identifier") && o.contains_key("type") {
                "Reference"
            } else if o.contains_key("family") || o.contains_key("given") {
                "HumanName"
            } else if o.contains_key("line") || o.contains_key("city") || o.contains_key("postalCode") {
                "Address"
            } else if o.contains_key("start") || o.contains_key("end") {
                "Period"
            } else if o.contains_key("value") && (o.contains_key("unit") || o.contains_key("code") && o.contains_key("system")) {
                "Quantity"
            } else if o.contains_key("value") && o.contains_key("currency") {
                "Money"
            } else if o.contains_key("code") {
                "Coding"
            } else if o.contains_key("value") {
                "Identifier"
            } else {
                "Element"
            }
        }
        _ => "Element",
    }
}

fn primitive_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn strings(param: &str, item: &Item<'_>, out: &mut Vec<StringTerm>) {
    let v = item.json.as_ref();
    let mut push = |text: &str| {
        if !text.is_empty() {
            out.push(StringTerm { param: param.to_string(), norm: fold(text), exact: text.to_string() });
        }
    };
    match type_of(item) {
        "HumanName" => {
            for k in ["family", "given", "prefix", "suffix", "text"] {
                each(v, k).filter_map(Value::as_str).for_each(&mut push);
            }
        }
        "Address" => {
            for k in ["line", "city", "district", "state", "postalCode", "country", "text"] {
                each(v, k).filter_map(Value::as_str).for_each(&mut push);
            }
        }
        _ => {
            if let Some(t) = v.as_str() {
                push(t);
            }
        }
    }
}

fn token(param: &str, system: Option<&str>, code: Option<&str>, text: Option<&str>) -> TokenTerm {
    TokenTerm {
        param: param.to_string(),
        system: system.filter(|s| !s.is_empty()).map(str::to_string),
        code: code.filter(|s| !s.is_empty()).map(str::to_string),
        text: text.map(fold).filter(|t| !t.is_empty()),
    }
}

fn coding(param: &str, v: &Value) -> TokenTerm {
    let [system, code, display] = strings_of(v, ["system", "code", "display"]);
    token(param, system, code, display)
}

pub fn tokens(param: &str, item: &Item<'_>, out: &mut Vec<TokenTerm>) {
    tokens_in(param, item, None, out)
}

/// Tokens, where a `code` value takes `implicit_system`: the one code system of the value set
/// its element is bound to (required binding), so that `gender=http://hl7.org/fhir/administrative-gender|male`
/// finds `"gender": "male"`.
pub fn tokens_in(param: &str, item: &Item<'_>, implicit_system: Option<&str>, out: &mut Vec<TokenTerm>) {
    let v = item.json.as_ref();
    match type_of(item) {
        "code" if implicit_system.is_some() => {
            if let Some(code) = v.as_str() {
                out.push(token(param, implicit_system, Some(code), None));
            }
        }
        "Coding" => out.push(coding(param, v)),
        "CodeableConcept" => {
            let codings = out.len();
            for c in each(v, "coding") {
                out.push(coding(param, c));
            }
            // The text gets a row of its own only where no coding's display already carries it
            // (as Synthea's concepts do, each with its one coding's display as text): `:text`
            // matches either the same way, and every other use of a token row needs a code.
            let text = token(param, None, None, s(v, "text"));
            if text.text.is_some() && !out[codings..].iter().any(|c| c.text == text.text) {
                out.push(text);
            }
        }
        "Identifier" => {
            let type_text = v.get("type").and_then(|t| s(t, "text"));
            out.push(token(param, s(v, "system"), s(v, "value"), type_text));
            // For `:of-type`: the identifier's type coding with the value, under a derived name.
            if let Some(value) = s(v, "value") {
                for c in v.get("type").into_iter().flat_map(|t| each(t, "coding")) {
                    if let Some(code) = s(c, "code") {
                        let typed = format!("{code}|{value}");
                        out.push(token(&format!("{param}:of-type"), s(c, "system"), Some(&typed), None));
                    }
                }
            }
        }
        "ContactPoint" => out.push(token(param, s(v, "system"), s(v, "value"), None)),
        "Reference" => {
            if let Some(id) = v.get("identifier") {
                out.push(token(param, s(id, "system"), s(id, "value"), None));
            }
        }
        "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "SimpleQuantity" => {
            out.push(token(param, s(v, "system"), s(v, "code"), s(v, "unit")));
        }
        _ => {
            if let Some(t) = primitive_text(v) {
                out.push(token(param, None, Some(&t), None));
            }
        }
    }
}

pub fn dates(param: &str, item: &Item<'_>, out: &mut Vec<DateTerm>) {
    let v = item.json.as_ref();
    let mut push = |range: DateRange| out.push(DateTerm { param: param.to_string(), range });
    match type_of(item) {
        "Period" => {
            let low = s(v, "start").and_then(date::parse_range).map_or(date::MIN_MS, |r| r.low);
            let high = s(v, "end").and_then(date::parse_range).map_or(date::MAX_MS, |r| r.high);
            if v.get("start").is_some() || v.get("end").is_some() {
                push(DateRange { low, high });
            }
        }
        "Timing" => {
            for e in each(v, "event").filter_map(Value::as_str).filter_map(date::parse_range) {
                push(e);
            }
        }
        _ => {
            if let Some(r) = v.as_str().and_then(date::parse_range) {
                push(r);
            }
        }
    }
}

pub fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

pub fn numbers(param: &str, item: &Item<'_>, out: &mut Vec<NumberTerm>) {
    if let Some(value) = number_of(item.json.as_ref()) {
        out.push(NumberTerm { param: param.to_string(), value });
    }
}

pub fn quantities(param: &str, item: &Item<'_>, out: &mut Vec<QuantityTerm>) {
    let v = item.json.as_ref();
    let Some(value) = v.get("value").and_then(number_of) else { return };
    let (system, code) = match type_of(item) {
        "Money" => (Some(crate::CURRENCY_SYSTEM), s(v, "currency")),
        _ => (s(v, "system"), s(v, "code").or_else(|| s(v, "unit"))),
    };
    let canonical = match (system, s(v, "code")) {
        (Some(ucum::UCUM), Some(c)) => ucum::canonical(value, c),
        _ => None,
    };
    out.push(QuantityTerm {
        param: param.to_string(),
        value,
        system: system.map(str::to_string),
        code: code.map(str::to_string),
        canonical,
    });
}

pub fn uris(param: &str, item: &Item<'_>, out: &mut Vec<UriTerm>) {
    if let Some(u) = item.json.as_str().filter(|u| !u.is_empty()) {
        out.push(UriTerm { param: param.to_string(), value: u.to_string() });
    }
}

/// A reference's text as a term: `Type/id[/_history/v]` is local, anything with a scheme an
/// absolute or canonical URL (`url|version`), `#id` a contained resource (not indexed).
pub fn parse_reference(param: &str, text: &str) -> Option<ReferenceTerm> {
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    let mut term = ReferenceTerm { param: param.to_string(), target_type: None, target_id: None, url: None, version: None };
    if text.contains(':') {
        let (url, version) = match text.split_once('|') {
            Some((u, v)) => (u, Some(v)),
            None => (text, None),
        };
        term.url = Some(url.to_string());
        term.version = version.map(str::to_string);
        return Some(term);
    }
    let mut parts = text.split('/');
    let (t, id) = (parts.next()?, parts.next()?);
    if !salus_fhir::r4().is_resource_type(t) || !salus_fhir::resource::is_valid_id(id) {
        return None;
    }
    term.target_type = Some(t.to_string());
    term.target_id = Some(id.to_string());
    if parts.next() == Some("_history") {
        term.version = parts.next().map(str::to_string);
    }
    Some(term)
}

pub fn references(param: &str, item: &Item<'_>, out: &mut Vec<ReferenceTerm>, identifiers: &mut Vec<TokenTerm>) {
    let v = item.json.as_ref();
    match v {
        Value::String(text) => out.extend(parse_reference(param, text)),
        Value::Object(_) => {
            if let Some(r) = s(v, "reference").and_then(|t| parse_reference(param, t)) {
                out.push(r);
            }
            if let Some(id) = v.get("identifier") {
                identifiers.push(token(&format!("{param}:identifier"), s(id, "system"), s(id, "value"), None));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn item(json: Value, ty: &str) -> Item<'static> {
        Item { json: Cow::Owned(json), type_code: Some(Cow::Owned(ty.to_string())), node: None }
    }

    #[test]
    fn codeable_concepts_yield_each_coding_and_the_text() {
        let mut out = vec![];
        let cc = json!({"coding": [{"system": "http://loinc.org", "code": "1234-5", "display": "Glucose"}], "text": "Blood Sugar"});
        tokens("code", &item(cc, "CodeableConcept"), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].code.as_deref(), Some("1234-5"));
        assert_eq!(out[0].text.as_deref(), Some("glucose"));
        assert_eq!(out[1].text.as_deref(), Some("blood sugar"));
    }

    #[test]
    fn a_concept_text_equal_to_a_coding_display_adds_no_row() {
        let mut out = vec![];
        let cc = json!({"coding": [{"system": "http://loinc.org", "code": "8302-2", "display": "Body Height"}], "text": "body height"});
        tokens("code", &item(cc, "CodeableConcept"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text.as_deref(), Some("body height"));
    }

    #[test]
    fn a_concept_with_only_text_yields_the_text() {
        let mut out = vec![];
        tokens("code", &item(json!({"text": "Headache"}), "CodeableConcept"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].code.as_deref(), out[0].text.as_deref()), (None, Some("headache")));
    }

    #[test]
    fn human_names_yield_each_part_folded() {
        let mut out = vec![];
        strings("name", &item(json!({"family": "Müller", "given": ["Zoë", "Anne"]}), "HumanName"), &mut out);
        let norms: Vec<&str> = out.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(norms, ["muller", "zoe", "anne"]);
        assert_eq!(out[0].exact, "Müller");
    }

    #[test]
    fn periods_are_one_range_and_open_ends_are_unbounded() {
        let mut out = vec![];
        dates("date", &item(json!({"start": "2020-01"}), "Period"), &mut out);
        assert_eq!(out[0].range.high, date::MAX_MS);
        assert_eq!(out[0].range.low, date::parse_range("2020-01-01").map(|r| r.low).unwrap_or_default());
    }

    #[test]
    fn quantities_carry_their_ucum_canonical_value() {
        let mut out = vec![];
        let q = json!({"value": 5.4, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"});
        quantities("value-quantity", &item(q, "Quantity"), &mut out);
        let (v, u) = out[0].canonical.clone().unwrap_or_default();
        assert!((v - 0.0054).abs() < 1e-12 && u == "g");
    }

    #[test]
    fn references_are_local_absolute_or_canonical() {
        let local = parse_reference("subject", "Patient/p1/_history/2").expect("local");
        assert_eq!((local.target_type.as_deref(), local.target_id.as_deref(), local.version.as_deref()), (Some("Patient"), Some("p1"), Some("2")));
        let canonical = parse_reference("profile", "http://x/sd|1.0").expect("canonical");
        assert_eq!((canonical.url.as_deref(), canonical.version.as_deref()), (Some("http://x/sd"), Some("1.0")));
        assert!(parse_reference("x", "#c1").is_none());
        assert!(parse_reference("x", "NotAType/1").is_none());
    }

    #[test]
    fn identifiers_index_their_type_for_of_type() {
        let mut out = vec![];
        let id = json!({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "system": "urn:s", "value": "123"});
        tokens("identifier", &item(id, "Identifier"), &mut out);
        assert_eq!(out[1].param, "identifier:of-type");
        assert_eq!(out[1].code.as_deref(), Some("MR|123"));
    }
}
