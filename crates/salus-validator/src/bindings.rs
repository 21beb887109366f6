//! Required bindings. Only a `required` binding to a value set the base specification fully
//! enumerates can refuse a code: extensible, preferred and example bindings, and value sets
//! drawn from code systems R4 does not carry (UCUM, MIME types, languages), prove nothing by a
//! code's absence (the schema keeps `required_vs` only for those that can).

use crate::outcome::IssueType;
use crate::schema::Elem;
use crate::walk::Walker;
use serde_json::{Map, Value};

/// A `code` (or string/uri) element with a required binding: `Patient.gender`.
pub fn check_code(w: &mut Walker, code: &str, elem: &'static Elem) {
    let Some(vs) = elem.required_vs else { return };
    if !vs.contains(None, code) {
        w.error(
            IssueType::CodeInvalid,
            format!(
                "the value '{}' is not in the value set {} required here{}",
                crate::primitives::abbreviate(code),
                vs.url,
                suggestion(vs)
            ),
        );
    }
}

/// A Coding or CodeableConcept with a required binding: at least one coding must be in the set.
pub fn check_coded(w: &mut Walker, obj: &Map<String, Value>, type_name: &str, elem: &'static Elem) {
    let Some(vs) = elem.required_vs else { return };
    let in_set = |c: &Map<String, Value>| -> Option<bool> {
        let code = c.get("code")?.as_str()?;
        let system = c.get("system").and_then(Value::as_str);
        Some(vs.contains(system, code))
    };
    let (ok, suffix) = if type_name == "Coding" {
        (in_set(obj).unwrap_or(true), "")
    } else {
        let Some(Value::Array(codings)) = obj.get("coding") else { return };
        let verdicts: Vec<Option<bool>> = codings.iter().filter_map(Value::as_object).map(in_set).collect();
        // A CodeableConcept with no coded coding (text only) says nothing the set could refuse.
        (verdicts.iter().all(Option::is_none) || verdicts.contains(&Some(true)), ".coding")
    };
    if !ok {
        w.error_at(
            suffix,
            IssueType::CodeInvalid,
            format!("none of the codes provided is in the value set {} required here{}", vs.url, suggestion(vs)),
        );
    }
}

/// Lists the allowed codes when there are few (`male, female, other, unknown`).
fn suggestion(vs: &salus_fhir::definitions::ValueSetExpansion) -> String {
    let codes: Vec<&str> = vs.codes().map(|(_, c)| c).take(13).collect();
    if codes.len() <= 12 {
        let mut sorted = codes;
        sorted.sort_unstable();
        sorted.dedup();
        format!(" (allowed: {})", sorted.join(", "))
    } else {
        String::new()
    }
}
