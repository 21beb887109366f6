//! Validation throughput on the Synthea population (`../shared/data/synthea/*.json` and
//! `shared-resources/`), one core: every entry's resource validated as `salus import` has it
//! validated (ids and `urn:uuid:` references rewritten to `Type/uuid` first, as the engine
//! does) and as the write path asks (`Validator::validate`, then only `is_valid`; the
//! OperationOutcome is built only for a refusal). Prints resources/s (the median of several
//! passes, since one pass is ~0.2 s and the machine is shared), by wall clock and, where Linux
//! reports it, by the thread's own CPU time (which time spent waiting for a core on a busy
//! machine does not inflate), and how many resources had errors and warnings, which a change
//! for speed must leave as they are.
//!
//! `cargo run --release -p salus-validator --example validate_throughput [-- --passes N]`

use salus_validator::{Severity, Validator};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    if let Err(e) = run() {
        eprintln!("validate_throughput: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut passes = 7usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--passes" => {
                passes = args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0).ok_or("--passes takes a number above 0")?;
            }
            other => return Err(format!("unknown argument '{other}' (only --passes N)")),
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea");
    let mut files = json_files(&dir)?;
    files.extend(json_files(&dir.join("shared-resources"))?);
    files.sort();
    let mut resources = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // As `salus import` parses its files.
        let bundle: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let entries = bundle.get("entry").and_then(Value::as_array).ok_or_else(|| format!("{}: no entries", path.display()))?;
        resources.extend(as_imported(entries));
    }
    let validator = Validator::new();
    // The first pass builds the per-process tables and compiles the invariants: not timed.
    let (with_errors, with_warnings) = tally(&validator, &resources);
    let mut rates = Vec::with_capacity(passes);
    let mut cpu_rates = Vec::with_capacity(passes);
    for _ in 0..passes {
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        let mut refused = 0usize;
        for r in &resources {
            if !validator.validate(std::hint::black_box(r)).is_valid() {
                refused += 1;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
            cpu_rates.push(resources.len() as f64 / (b.saturating_sub(a).max(1) as f64 / 1e9));
        }
        std::hint::black_box(refused);
        rates.push(resources.len() as f64 / secs);
    }
    println!("{} resources from {} files, validated on one thread, {passes} passes:", resources.len(), files.len());
    report("wall clock", &mut rates);
    if cpu_rates.len() == passes {
        report("thread CPU time", &mut cpu_rates);
    }
    println!("resources with errors: {with_errors}; with warnings: {with_warnings}");
    Ok(())
}

/// The entries' resources as the engine validates them on import: a `POST` with a
/// `urn:uuid:X` fullUrl gets the id X, and references to an entry become `Type/X`
/// (`salus-engine`'s import and bundle modules).
fn as_imported(entries: &[Value]) -> Vec<Value> {
    let mut targets = HashMap::new();
    for e in entries {
        let uuid = e.get("fullUrl").and_then(Value::as_str).and_then(|u| u.strip_prefix("urn:uuid:"));
        let rt = e.get("resource").and_then(|r| r.get("resourceType")).and_then(Value::as_str);
        if let (Some(uuid), Some(rt)) = (uuid, rt) {
            targets.insert(format!("urn:uuid:{uuid}"), (uuid.to_string(), format!("{rt}/{uuid}")));
        }
    }
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let Some(mut resource) = e.get("resource").cloned() else { continue };
        // Conditional creates (`ifNoneExist`) get their id from the server instead.
        let plain_post = e.pointer("/request/method") == Some(&Value::from("POST")) && e.pointer("/request/ifNoneExist").is_none();
        if let Some((uuid, _)) = e.get("fullUrl").and_then(Value::as_str).and_then(|u| targets.get(u))
            && plain_post
            && let Some(obj) = resource.as_object_mut()
        {
            obj.insert("id".into(), Value::String(uuid.clone()));
        }
        rewrite_references(&mut resource, &targets);
        out.push(resource);
    }
    out
}

fn rewrite_references(value: &mut Value, targets: &HashMap<String, (String, String)>) {
    match value {
        Value::Object(obj) => {
            for (k, v) in obj.iter_mut() {
                match v {
                    Value::String(s) if k == "reference" => {
                        if let Some((_, to)) = targets.get(s.as_str()) {
                            *s = to.clone();
                        }
                    }
                    _ => rewrite_references(v, targets),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_references(v, targets)),
        _ => {}
    }
}

fn report(what: &str, rates: &mut [f64]) {
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "  {what}: {median:.0} resources/s median (min {:.0}, max {:.0}), {:.2} us per resource",
        rates[0],
        rates[rates.len() - 1],
        1e6 / median
    );
}

/// The calling thread's time on a CPU so far (Linux `schedstat`), or `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn tally(validator: &Validator, resources: &[Value]) -> (usize, usize) {
    let (mut errors, mut warnings) = (0, 0);
    for r in resources {
        let outcome = validator.validate(r);
        errors += usize::from(!outcome.is_valid());
        warnings += usize::from(outcome.issues.iter().any(|i| i.severity == Severity::Warning));
    }
    (errors, warnings)
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect())
}
