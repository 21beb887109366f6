//! Writes every issue the validator reports over a large corpus, one line per issue, so that a
//! change meant to keep results (a speed-up) can be checked by diffing the output of the old
//! and new code. The corpus: the Synthea entries and whole Bundles, the R4 specification's
//! examples, the validator test cases, and deterministic mutations of all of these (deleted,
//! retyped, emptied, nulled, renamed and duplicated elements, broken primitives), each under
//! default options and under the strictest ones.
//!
//! `cargo run --release -p salus-validator --example dump_issues > issues.txt`

use salus_validator::{Options, UnknownExtensions, Validator, parse_json};
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

const MUTATIONS_PER_INPUT: u64 = 12;

fn main() {
    if let Err(e) = run() {
        eprintln!("dump_issues: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let mut inputs: Vec<(String, Value)> = Vec::new();
    let synthea = data.join("synthea");
    for path in json_files(&synthea)?.into_iter().chain(json_files(&synthea.join("shared-resources"))?) {
        let bundle = read(&path)?;
        let name = file_name(&path);
        if let Some(entries) = bundle.get("entry").and_then(Value::as_array) {
            // Every 7th entry: mutations of all 17,884 would take long and add little.
            for (i, e) in entries.iter().enumerate().filter(|(i, _)| i % 7 == 0) {
                if let Some(r) = e.get("resource") {
                    inputs.push((format!("{name}#{i}"), r.clone()));
                }
            }
        }
        inputs.push((name, bundle));
    }
    for dir in [data.join("fhir-r4/examples-package"), data.join("fhir-test-cases/validator")] {
        for path in json_files(&dir)? {
            if let Ok(v) = read(&path) {
                inputs.push((file_name(&path), v));
            }
        }
    }
    let validators = [
        ("default", Validator::new()),
        (
            "strict",
            Validator::with_options(Options {
                unknown_extensions: UnknownExtensions::Warn,
                allow_example_urls: false,
                security_checks: true,
                no_html_in_markdown: true,
                ..Options::default()
            }),
        ),
        ("reject", Validator::with_options(Options { unknown_extensions: UnknownExtensions::Reject, ..Options::default() })),
    ];
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, value) in &inputs {
        let mut variants = vec![("orig".to_string(), value.clone())];
        for m in 0..MUTATIONS_PER_INPUT {
            let mut v = value.clone();
            let what = mutate(&mut v, &mut rng);
            variants.push((format!("m{m} {what}"), v));
        }
        for (label, v) in &variants {
            for (vname, validator) in &validators {
                let outcome = validator.validate(v);
                writeln!(out, "== {name} {label} [{vname}] valid={}", outcome.is_valid()).map_err(|e| e.to_string())?;
                for i in &outcome.issues {
                    writeln!(out, "{} {} {} | {}", i.severity.code(), i.code.code(), i.expression, i.message).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    out.flush().map_err(|e| e.to_string())
}

/// A small deterministic generator (xorshift), so that runs of old and new code mutate alike.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Changes one node picked at random; returns what was done (for the dump's labels).
fn mutate(v: &mut Value, rng: &mut Rng) -> String {
    let count = count_nodes(v);
    let target = rng.below(count);
    let mut seen = 0;
    let kind = rng.below(16);
    apply(v, target, &mut seen, kind, rng).unwrap_or_else(|| "none".to_string())
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Object(o) => o.values().map(count_nodes).sum(),
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        _ => 0,
    }
}

fn apply(v: &mut Value, target: usize, seen: &mut usize, kind: usize, rng: &mut Rng) -> Option<String> {
    if *seen == target {
        return Some(change(v, kind, rng));
    }
    *seen += 1;
    match v {
        Value::Object(o) => o.values_mut().find_map(|c| apply(c, target, seen, kind, rng)),
        Value::Array(a) => a.iter_mut().find_map(|c| apply(c, target, seen, kind, rng)),
        _ => None,
    }
}

fn change(v: &mut Value, kind: usize, rng: &mut Rng) -> String {
    match (kind, &mut *v) {
        (0, Value::Object(o)) if !o.is_empty() => {
            let i = rng.below(o.len());
            let key = o.keys().nth(i).cloned().unwrap_or_default();
            o.shift_remove(&key);
            format!("delete {key}")
        }
        (1, Value::Object(o)) => {
            o.insert("bogusElement".into(), json!("x"));
            "unknown key".into()
        }
        (2, Value::Object(o)) if !o.is_empty() => {
            let i = rng.below(o.len());
            let key = o.keys().nth(i).cloned().unwrap_or_default();
            if let Some(val) = o.shift_remove(&key) {
                o.insert(format!("_{key}"), val);
            }
            format!("companion {key}")
        }
        (3, Value::Object(o)) => {
            o.clear();
            "empty object".into()
        }
        (4, Value::Array(a)) => {
            if let Some(first) = a.first().cloned() {
                a.push(first);
            }
            "duplicate item".into()
        }
        (5, Value::Array(a)) => {
            a.clear();
            "empty array".into()
        }
        (6, Value::Array(a)) => {
            let first = a.first().cloned().unwrap_or(Value::Null);
            *v = first;
            "unwrap array".into()
        }
        (7, Value::String(s)) => {
            s.clear();
            "empty string".into()
        }
        (8, Value::String(s)) => {
            s.insert(0, ' ');
            s.push_str("  <b>x</b> #1");
            "padded string".into()
        }
        (9, Value::String(_)) => {
            *v = json!(["#c1"]);
            "string to array".into()
        }
        (10, Value::String(s)) => {
            *s = ["2019-02-30", "urn:oid:1.02", "Patient/", "#missing", "http://example.org/x", "2015-02-07T13:28:17", "-1", "http://hl7.org/fhir/StructureDefinition/nope"]
                [rng.below(8)]
            .to_string();
            "bad primitive".into()
        }
        (11, Value::Number(_)) => {
            *v = json!("12");
            "number to string".into()
        }
        (12, Value::Bool(_)) => {
            *v = json!(1);
            "bool to number".into()
        }
        (13, _) => {
            *v = Value::Null;
            "null".into()
        }
        (14, Value::Object(o)) => {
            o.insert(
                "extension".into(),
                json!([{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "2019-01-01T10:00:00Z"}, {"url": "http://x.org/e"}]),
            );
            "add extension".into()
        }
        (15, Value::Object(o)) => {
            o.insert("contained".into(), json!([{"resourceType": "Patient", "id": "c1"}, {"resourceType": "Nope"}]));
            "add contained".into()
        }
        _ => {
            let wrapped = Value::Array(vec![v.take()]);
            *v = wrapped;
            "wrap in array".into()
        }
    }
}

fn read(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_json(&bytes).map_err(|e| format!("{}: {}", path.display(), e.message))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> =
        entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    files.sort();
    Ok(files)
}
