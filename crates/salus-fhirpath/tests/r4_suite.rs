//! The official FHIRPath R4 suite (`tests-fhir-r4.xml`, 935 tests) run as one test, scored
//! with the rules of the shared scorer (`shared/conformance/fhirpath-suite.mjs`) so that both
//! counts agree. Prints `N passed, N failed, N skipped`; `FHIRPATH_VERBOSE=1` lists every
//! failure; `FHIRPATH_RAW_OUT=path` writes the raw results the shared scorer takes. Fails if
//! the pass count falls below `FLOOR`.

use salus_fhirpath::{Context, Expression, Value};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Raise this as the engine improves; never lower it.
const FLOOR: usize = 935;

struct Output {
    ty: Option<String>,
    value: String,
}

struct Test {
    id: String,
    group: String,
    expression: String,
    input: Option<String>,
    invalid: bool,
    strict: bool,
    predicate: bool,
    ordered: bool,
    outputs: Vec<Output>,
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fhir-test-cases/r4/fhirpath")
}

fn load_tests(dir: &Path) -> Vec<Test> {
    let xml = std::fs::read_to_string(dir.join("tests-fhir-r4.xml")).expect("suite file");
    let doc = roxmltree::Document::parse(&xml).expect("suite XML");
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut tests = Vec::new();
    for group in doc.root_element().children().filter(|n| n.has_tag_name("group")) {
        let group_name = group.attribute("name").unwrap_or_default().to_string();
        for t in group.children().filter(|n| n.has_tag_name("test")) {
            let name = t.attribute("name").unwrap_or_default().to_string();
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            let id = if *n == 1 { name.clone() } else { format!("{name}#{n}") };
            let Some(expr) = t.children().find(|n| n.has_tag_name("expression")) else { continue };
            let input = t.attribute("inputfile").map(|f| match f.strip_suffix(".xml") {
                Some(base) => format!("json-twins/{base}.json"),
                None => f.to_string(),
            });
            let mode = expr.attribute("mode").or(t.attribute("mode"));
            tests.push(Test {
                id,
                group: group_name.clone(),
                expression: expr.text().unwrap_or_default().to_string(),
                input,
                invalid: expr.attribute("invalid").is_some(),
                strict: mode == Some("strict"),
                predicate: t.attribute("predicate") == Some("true"),
                ordered: t.attribute("ordered") != Some("false"),
                outputs: t
                    .children()
                    .filter(|n| n.has_tag_name("output"))
                    .map(|o| Output {
                        ty: o.attribute("type").map(str::to_string),
                        value: o.text().unwrap_or_default().to_string(),
                    })
                    .collect(),
            });
        }
    }
    tests
}

/// One engine result in the shared scorer's raw format.
struct Raw {
    error: Option<String>,
    items: Vec<(String, Json)>,
}

fn run(test: &Test, inputs: &HashMap<String, Json>) -> Raw {
    let null = Json::Null;
    let input = test.input.as_ref().and_then(|f| inputs.get(f)).unwrap_or(&null);
    let ctx = Context::r4().strict(test.strict);
    let result = Expression::parse(&test.expression)
        .map_err(|e| e.to_string())
        .and_then(|e| e.evaluate(input, &ctx).map_err(|e| e.to_string()));
    match result {
        Err(e) => Raw { error: Some(e), items: Vec::new() },
        Ok(items) => Raw {
            error: None,
            items: items
                .iter()
                .filter(|v| !matches!(v, Value::Node(n) if n.json.is_none()))
                .map(|v| (v.qualified_type(), v.to_json()))
                .collect(),
        },
    }
}

// ---- scoring: a port of fhirpath-suite.mjs `score()`

const CAL_UNITS: [&str; 16] = [
    "year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours", "minute",
    "minutes", "second", "seconds", "millisecond", "milliseconds",
];

fn test_type_name(t: &str) -> String {
    if let Some(s) = t.strip_prefix("System.") {
        return match s {
            "Boolean" => "boolean",
            "Integer" | "Long" => "integer",
            "Decimal" => "decimal",
            "String" => "string",
            "Date" => "date",
            "DateTime" => "dateTime",
            "Time" => "time",
            other => other,
        }
        .to_string();
    }
    t.strip_prefix("FHIR.").unwrap_or(t).to_string()
}

fn parse_quantity(s: &str) -> Option<(String, String)> {
    let s = s.trim();
    let (num, rest) = match s.find(|c: char| c.is_whitespace()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => return None,
    };
    let digits = num.strip_prefix(['+', '-']).unwrap_or(num);
    let ok = !digits.is_empty()
        && digits.split('.').count() <= 2
        && digits.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return None;
    }
    if let Some(u) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Some((num.to_string(), u.to_string()));
    }
    CAL_UNITS.contains(&rest).then(|| (num.to_string(), rest.to_string()))
}

fn is_num(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut parts = d.split('.');
    let int_ok = parts.next().is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let frac_ok = parts.next().is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    int_ok && frac_ok && parts.next().is_none()
}

fn expected_kind(o: &Output) -> &'static str {
    if let Some(t) = &o.ty {
        return match t.as_str() {
            "boolean" => "boolean",
            "integer" => "integer",
            "decimal" => "decimal",
            "date" => "date",
            "dateTime" => "dateTime",
            "time" => "time",
            "Quantity" => "Quantity",
            _ => "string",
        };
    }
    let v = o.value.trim();
    if v == "true" || v == "false" {
        "boolean"
    } else if v.starts_with("@T") {
        "time"
    } else if v.starts_with('@') && !v.contains('T') {
        "dateish"
    } else if v.starts_with('@') {
        "dateTime"
    } else if is_num(v) {
        "number"
    } else if parse_quantity(v).is_some() {
        "Quantity"
    } else {
        "string"
    }
}

fn num_eq(a: &str, b: &str) -> bool {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn strip_at(s: &str) -> &str {
    let s = s.strip_prefix('@').unwrap_or(s);
    s.strip_prefix('T').unwrap_or(s)
}

fn unit_eq(a: &str, b: &str) -> bool {
    let single = |u: &str| if CAL_UNITS.contains(&u) { u.trim_end_matches('s').to_string() } else { u.to_string() };
    single(a) == single(b)
}

/// `None` when equal, else (is it only the type, message).
fn compare_item(act: &(String, Json), exp: &Output) -> Option<(bool, String)> {
    let (aty, av) = act;
    let text = av.as_str();
    let ev = exp.value.trim();
    let ok = match expected_kind(exp) {
        "boolean" => text == Some(ev),
        "integer" => text.is_some_and(|t| t.parse::<i128>().ok() == ev.parse::<i128>().ok() && t.parse::<i128>().is_ok()),
        "decimal" | "number" => text.is_some_and(|t| num_eq(t, ev)),
        "date" | "dateTime" | "time" | "dateish" => text.is_some_and(|t| strip_at(t) == strip_at(ev)),
        "Quantity" => {
            let actual = match av {
                Json::Object(o) => o.get("value").and_then(Json::as_str).zip(o.get("unit").and_then(Json::as_str)).map(|(v, u)| (v.to_string(), u.to_string())),
                Json::String(s) => parse_quantity(s),
                _ => None,
            };
            match (actual, parse_quantity(ev)) {
                (Some((a, au)), Some((e, eu))) => num_eq(&a, &e) && unit_eq(&au, &eu),
                _ => false,
            }
        }
        _ => text == Some(exp.value.as_str()),
    };
    if !ok {
        return Some((false, format!("expected {:?} {:?}, got {aty} {av}", exp.ty, exp.value)));
    }
    if let Some(et) = &exp.ty
        && test_type_name(aty) != *et
    {
        return Some((true, format!("expected type {et}, got {aty}")));
    }
    None
}

fn match_unordered(items: &[(String, Json)], exp: &[Output]) -> Result<(), String> {
    let mut used = vec![false; items.len()];
    let mut type_issue = None;
    for e in exp {
        let mut found = None;
        let mut type_hit = None;
        for (i, it) in items.iter().enumerate() {
            if used[i] {
                continue;
            }
            match compare_item(it, e) {
                None => {
                    found = Some(i);
                    break;
                }
                Some((true, _)) if type_hit.is_none() => type_hit = Some(i),
                _ => {}
            }
        }
        if found.is_none() && type_hit.is_some() {
            found = type_hit;
            type_issue.get_or_insert(format!("type mismatch for {:?}", e.value));
        }
        match found {
            Some(i) => used[i] = true,
            None => return Err(format!("no item matches {:?}", e.value)),
        }
    }
    type_issue.map_or(Ok(()), Err)
}

fn score(test: &Test, raw: &Raw) -> Result<(), String> {
    if test.invalid {
        return if raw.error.is_some() { Ok(()) } else { Err(format!("expected an error, got {:?}", raw.items)) };
    }
    if let Some(e) = &raw.error {
        return Err(format!("unexpected error: {e}"));
    }
    let mut items = raw.items.clone();
    if test.predicate {
        let b = match items.as_slice() {
            [] => false,
            [(t, Json::String(v))] if (v == "true" || v == "false") && t.contains("oolean") => v == "true",
            _ => true,
        };
        items = vec![("System.Boolean".into(), json!(b.to_string()))];
    }
    if items.len() != test.outputs.len() {
        return Err(format!("expected {} item(s), got {}: {:?}", test.outputs.len(), items.len(), items));
    }
    if !test.ordered {
        return match_unordered(&items, &test.outputs);
    }
    for (it, e) in items.iter().zip(&test.outputs) {
        if let Some((_, msg)) = compare_item(it, e) {
            return Err(msg);
        }
    }
    Ok(())
}

#[test]
fn official_r4_suite() {
    let dir = suite_dir();
    let tests = load_tests(&dir);
    let mut inputs = HashMap::new();
    for t in &tests {
        if let Some(f) = &t.input
            && !inputs.contains_key(f)
        {
            let text = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            let json: Json = serde_json::from_str(text.trim_start_matches('\u{feff}')).expect("input JSON");
            inputs.insert(f.clone(), json);
        }
    }
    let verbose = std::env::var("FHIRPATH_VERBOSE").is_ok_and(|v| v == "1");
    let (mut passed, mut failed) = (0, 0);
    let mut raw_out = Vec::new();
    for t in &tests {
        let raw = std::panic::catch_unwind(|| run(t, &inputs))
            .unwrap_or_else(|_| Raw { error: Some("PANIC".into()), items: Vec::new() });
        match score(t, &raw) {
            Ok(()) => passed += 1,
            Err(msg) => {
                failed += 1;
                if verbose {
                    println!("FAIL [{}] {}: {} -- {msg}", t.group, t.id, t.expression.replace('\n', " "));
                }
            }
        }
        let items: Vec<Json> = raw.items.iter().map(|(ty, v)| json!({"type": ty, "value": v})).collect();
        raw_out.push(json!({"name": t.id, "error": raw.error, "items": items}));
    }
    if let Ok(path) = std::env::var("FHIRPATH_RAW_OUT") {
        std::fs::write(&path, serde_json::to_string(&raw_out).expect("raw json")).expect("write raw.json");
    }
    println!("{passed} passed, {failed} failed, 0 skipped");
    assert_eq!(passed + failed, 935, "the suite should have 935 tests");
    assert!(passed >= FLOOR, "FHIRPath R4 suite: {passed} passed, below the floor of {FLOOR}");
}
