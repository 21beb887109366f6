//! Canonical references (`url` or `url|version`) name a definition by its `url`, not by its id.
//! What the pure core knows of them: which resource types are canonical resources, which of
//! those an include may reach, and how versions order when a reference names none (the latest
//! version is meant, so the greatest wins).

use crate::query::Include;
use std::cmp::Ordering;
use std::sync::OnceLock;

/// The resource types that R4 makes searchable by both a `url` (uri) and a `version` (token):
/// the canonical resources (ActivityDefinition, CodeSystem, Questionnaire, ...). Subscription's
/// and Device's `url` are addresses, not canonical URLs, and carry no version: they are left out.
pub fn canonical_types() -> &'static [String] {
    static TYPES: OnceLock<Vec<String>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let params = salus_fhir::r4().search_parameters();
        let bases = |code: &str, ty: &str| -> Vec<String> {
            params.iter().filter(|p| p.code == code && p.param_type == ty).flat_map(|p| p.base.iter().cloned()).collect()
        };
        let versions = bases("version", "token");
        let mut types: Vec<String> = bases("url", "uri").into_iter().filter(|t| versions.contains(t)).collect();
        types.sort();
        types.dedup();
        types
    })
}

pub fn is_canonical_type(resource_type: &str) -> bool {
    canonical_types().binary_search_by(|t| t.as_str().cmp(resource_type)).is_ok()
}

/// The types a canonical reference followed by `include` may resolve to: the include's target
/// type when it names one, else the canonical types among the parameter's declared targets
/// (every canonical type for `*`, or for a parameter that declares no targets, such as a
/// custom one).
pub fn include_targets(include: &Include) -> Vec<String> {
    if let Some(t) = &include.target_type {
        return if is_canonical_type(t) { vec![t.clone()] } else { Vec::new() };
    }
    let declared: Vec<String> = match &include.param {
        Some(code) => salus_fhir::r4()
            .search_parameters()
            .iter()
            .filter(|p| p.code == *code && p.base.contains(&include.source_type))
            .flat_map(|p| p.target.iter().cloned())
            .collect(),
        None => Vec::new(),
    };
    if declared.is_empty() {
        return canonical_types().to_vec();
    }
    canonical_types().iter().filter(|t| declared.contains(t)).cloned().collect()
}

/// Orders version strings so that the later version is the greater: runs of digits compare as
/// numbers (`1.10` after `1.9`, `10` after `2`), other runs as text, and a version that
/// extends another (`1.0.1` against `1.0`) comes after it. Total: equal only when the strings
/// are equal.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(&rb) {
        let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        let o = if digits(x) && digits(y) {
            // Compared as decimal text without leading zeros: no overflow on long runs.
            let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        } else {
            x.cmp(y)
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ra.len().cmp(&rb.len()).then_with(|| a.cmp(b))
}

/// Splits into maximal runs of ASCII digits and of everything else.
fn runs(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut digit = None;
    for (i, c) in s.char_indices() {
        let d = c.is_ascii_digit();
        if digit.is_some_and(|prev| prev != d) {
            out.push(&s[start..i]);
            start = i;
        }
        digit = Some(d);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Which of several resources with one canonical `url` a reference without a version means:
/// the highest `version` (by [`compare_versions`]); among those without a version, or equal,
/// the most recently updated, then the last given. `candidates` are (key, version, last
/// updated); the chosen key.
pub fn latest<K: Clone>(candidates: &[(K, Option<String>, i64)]) -> Option<K> {
    candidates
        .iter()
        .max_by(|(_, va, ua), (_, vb, ub)| {
            let by_version = match (va, vb) {
                (Some(a), Some(b)) => compare_versions(a, b),
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (None, None) => Ordering::Equal,
            };
            by_version.then(ua.cmp(ub))
        })
        .map(|(k, _, _)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_types_have_a_url_and_a_version() {
        for t in ["Questionnaire", "PlanDefinition", "ActivityDefinition", "CodeSystem", "ValueSet", "Library"] {
            assert!(is_canonical_type(t), "{t}");
        }
        for t in ["Subscription", "Device", "Patient"] {
            assert!(!is_canonical_type(t), "{t}");
        }
    }

    #[test]
    fn include_targets_follow_the_parameter_or_the_named_type() {
        let inc = |source: &str, param: Option<&str>, target: Option<&str>| Include {
            source_type: source.into(),
            param: param.map(str::to_string),
            target_type: target.map(str::to_string),
            iterate: false,
        };
        assert_eq!(include_targets(&inc("QuestionnaireResponse", Some("questionnaire"), None)), ["Questionnaire"]);
        let plan = include_targets(&inc("CarePlan", Some("instantiates-canonical"), None));
        assert!(plan.contains(&"PlanDefinition".to_string()) && !plan.contains(&"ValueSet".to_string()), "{plan:?}");
        assert_eq!(include_targets(&inc("CarePlan", Some("instantiates-canonical"), Some("Measure"))), ["Measure"]);
        assert!(include_targets(&inc("Observation", Some("subject"), Some("Patient"))).is_empty());
        assert_eq!(include_targets(&inc("*", None, None)).len(), canonical_types().len());
    }

    #[test]
    fn versions_order_by_their_numbers() {
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("2", "10"), Ordering::Less);
        assert_eq!(compare_versions("1.0.1", "1.0"), Ordering::Greater);
        assert_eq!(compare_versions("2020-01", "2019-12"), Ordering::Greater);
        assert_eq!(compare_versions("1.01", "1.1"), Ordering::Less, "equal numbers differ only as text");
        assert_eq!(compare_versions("1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare_versions("", "1"), Ordering::Less);
    }

    #[test]
    fn the_latest_is_the_highest_version_then_the_newest() {
        let v = |s: &str| Some(s.to_string());
        assert_eq!(latest(&[(1, v("1.9"), 30), (2, v("1.10"), 10), (3, None, 50)]), Some(2));
        assert_eq!(latest(&[(1, None, 30), (2, None, 40)]), Some(2));
        assert_eq!(latest::<i32>(&[]), None);
    }
}
