//! Garbage in, no panic out: random token soups and byte strings must parse to an error or
//! evaluate to a result or an error, never panic or hang.

use proptest::prelude::*;
use salus_fhirpath::{Context, Expression};
use serde_json::json;

const PIECES: &[&str] = &[
    "name", "given", "Patient", "value", ".", "(", ")", "[", "]", "0", "1", "2.5", "-", "+", "*", "/",
    "div", "mod", "&", "|", "=", "!=", "~", "<", ">=", "and", "or", "xor", "implies", "is", "as",
    "in", "contains", "where", "select", "repeat", "aggregate", "iif", "first()", "count()",
    "descendants()", "children()", "exists", "'x'", "'2020-01'", "@2020", "@2020-01-01T10:00Z",
    "@T10:00", "5 'mg'", "3 days", "{}", "$this", "$index", "$total", "%resource", "%ucum", ",",
    "substring", "toDecimal()", "lowBoundary(", "power(", "sort(", "`a`", "matches('(')", "ofType(",
    "Quantity", "FHIR.string", "System.Integer", "resolve()", "extension(", "trace('t')",
    "9223372036854775807", "months", "'ms'", "highBoundary()", "toQuantity(", "join(", "split(",
];

fn resource() -> serde_json::Value {
    json!({
        "resourceType": "Patient", "id": "x", "active": true, "birthDate": "1980-02-29",
        "name": [{"family": "F", "given": ["A", "B"]}, {"given": ["C"]}],
        "_birthDate": {"extension": [{"url": "u", "valueInteger": 3}]},
        "contained": [{"resourceType": "Patient", "id": "c"}],
        "link": [{"other": {"reference": "#c"}, "type": "seealso"}]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(PIECES), 1..14)) {
        let src = parts.join(" ");
        if let Ok(e) = Expression::parse(&src) {
            let r = resource();
            let _ = e.evaluate(&r, &Context::r4());
            let _ = e.evaluate(&r, &Context::r4().strict(true));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,40}") {
        if let Ok(e) = Expression::parse(&src) {
            let r = resource();
            let _ = e.evaluate(&r, &Context::new());
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let src = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(Expression::parse(&src).is_err());
    let src = format!("{}1", "-".repeat(5000));
    assert!(Expression::parse(&src).is_err());
}

#[test]
fn huge_numbers_and_dates_are_errors_or_empty() {
    let r = resource();
    for src in [
        "99999999999999999999999999999999999999",
        "9223372036854775807 + 1",
        "9223372036854775807 * 2",
        "@9999-12-31 + 1 day",
        "@0001-01-01 - 1 day",
        "2.power(100000)",
        "1.0.power(-1)",
        "10.lowBoundary(99)",
        "'a'.substring(-5, 9999999999)",
        "1 'mg'.toQuantity('[[[')",
        "(1|2|3).aggregate($this / 0)",
        "'x'.repeat($this)",
        "birthDate + 9999999999999 years",
    ] {
        if let Ok(e) = Expression::parse(src) {
            let _ = e.evaluate(&r, &Context::r4());
        }
    }
}

#[test]
fn the_deepest_accepted_trees_evaluate_within_a_test_thread_stack() {
    let r = resource();
    let chain = vec!["1"; 158].join(" + ");
    let e = Expression::parse(&chain).expect("158-term chain");
    assert_eq!(e.evaluate(&r, &Context::r4()).unwrap()[0].to_text().unwrap(), "158");
    let nested = format!("{}name{}", "name.where(".repeat(60), ".exists())".repeat(60));
    if let Ok(e) = Expression::parse(&nested) {
        let _ = e.evaluate(&r, &Context::r4());
    }
    let nested = format!("{}1{}", "(".repeat(63), ")".repeat(63));
    assert!(Expression::parse(&nested).is_ok());
}

#[test]
fn full_precision_decimals_have_no_boundary_but_do_not_panic() {
    let r = resource();
    for src in ["(1/3).lowBoundary()", "(1/3).highBoundary(2)", "(2/3).precision()", "(1/3).round(30)"] {
        let _ = Expression::parse(src).unwrap().evaluate(&r, &Context::r4());
    }
}

#[test]
fn integer_and_calendar_overflow_is_empty_or_an_error() {
    let r = resource();
    for src in [
        "-(-9223372036854775807 - 1)",
        "@2020-01-01 + 9223372036854775807 months",
        "@2020-01-01 - 9223372036854775807 years",
        "@2020-01-01T10:00 + 9223372036854775807 'ms'",
        "@T10:00 + 9223372036854775807 hours",
    ] {
        let _ = Expression::parse(src).unwrap().evaluate(&r, &Context::r4());
    }
}
