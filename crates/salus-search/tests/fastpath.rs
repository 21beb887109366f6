//! The fast path against the general FHIRPath engine, over real data: every resource of the
//! Synthea patients (and the shared provider bundles) and of the FHIR R4 examples and test
//! inputs in `../shared/data/`, through every search parameter of its type (main expressions,
//! and each composite's components on every item of its main expression). The items must be
//! the same (JSON, FHIR type, node), in the same order, and `Indexer::index` must give the
//! same terms with and without the fast path. The same comparison runs over resources
//! mutated at random (nulls, arrays, `_name` companions, second choice values, numbers where
//! strings belong...), the data on which the fast path must defer or match the engine's
//! subtler answers.

use salus_search::fastpath::FastPath;
use salus_search::fhirpath::{FhirPathEngine, GeneralEngine};
use salus_search::path::{CompiledPath, Item, PathEngine};
use salus_search::{Indexer, ParamType, Registry};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Every `.json` file under `dir` (recursively), parsed; unreadable or non-JSON files skipped.
fn load(dir: &Path, out: &mut Vec<Value>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            load(&p, out);
        } else if p.extension().is_some_and(|e| e == "json")
            && let Ok(text) = std::fs::read_to_string(&p)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            out.push(v);
        }
    }
}

/// Every resource in a JSON value: the value itself if it is one, and every resource nested
/// in it (Bundle entries, contained resources, CDS Hooks prefetch).
fn resources<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(o) => {
            if o.get("resourceType").is_some_and(Value::is_string) {
                out.push(v);
            }
            o.values().for_each(|c| resources(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| resources(c, out)),
        _ => {}
    }
}

struct Expr {
    general: Arc<dyn CompiledPath>,
    fast: Option<FastPath>,
}

/// The expressions the indexer evaluates for each type: (main, components).
struct Expressions {
    by_type: HashMap<String, Vec<(String, Vec<String>)>>,
    compiled: HashMap<String, Expr>,
}

fn expressions(registry: &Registry) -> Expressions {
    let mut by_type: HashMap<String, Vec<(String, Vec<String>)>> = HashMap::new();
    let mut compiled = HashMap::new();
    for t in salus_fhir::r4().resource_types() {
        for p in registry.for_type(t) {
            if p.param_type == ParamType::Special || p.code == "_id" || p.code == "_lastUpdated" {
                continue;
            }
            let Some(main) = p.expression_for(t) else { continue };
            let components: Vec<String> = p.components.iter().map(|c| c.expression.clone()).collect();
            for e in std::iter::once(&main).chain(&components) {
                if compiled.contains_key(e) {
                    continue;
                }
                let Ok(general) = GeneralEngine.compile(e) else { continue };
                compiled.insert(e.clone(), Expr { general, fast: FastPath::compile(e) });
            }
            by_type.entry(t.to_string()).or_default().push((main, components));
        }
    }
    Expressions { by_type, compiled }
}

fn same_items(a: &[Item<'_>], b: &[Item<'_>]) -> bool {
    let ptr = |x: Option<&Value>, y: Option<&Value>| match (x, y) {
        (Some(x), Some(y)) => std::ptr::eq(x, y),
        (None, None) => true,
        _ => false,
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let json = std::ptr::eq(x.json.as_ref(), y.json.as_ref()) || x.json == y.json;
            let node = match (&x.node, &y.node) {
                (Some(p), Some(q)) => ptr(p.json, q.json) && ptr(p.meta, q.meta) && p.ty == q.ty,
                (None, None) => true,
                _ => false,
            };
            json && x.type_code == y.type_code && node
        })
}

#[derive(Default)]
struct Counts {
    resources: usize,
    evaluations: usize,
    fast: usize,
    deferred: usize,
    index_compared: usize,
    mismatches: Vec<String>,
    deferred_by_expression: BTreeMap<String, usize>,
}

impl Counts {
    fn compare(&mut self, expr: &str, e: &Expr, resource: &Value, general: &Result<Vec<Item<'_>>, String>, fast: Option<Vec<Item<'_>>>) {
        self.evaluations += 1;
        let Some(fast) = fast else {
            if e.fast.is_some() {
                self.deferred += 1;
                *self.deferred_by_expression.entry(expr.to_string()).or_default() += 1;
            }
            return;
        };
        self.fast += 1;
        let ok = general.as_ref().is_ok_and(|g| same_items(g, &fast));
        if !ok {
            let id = resource.get("id").and_then(Value::as_str).unwrap_or("?");
            let rt = resource.get("resourceType").and_then(Value::as_str).unwrap_or("?");
            let show = |items: &[Item<'_>]| items.iter().map(|i| format!("{}:{}", i.type_code.as_deref().unwrap_or("-"), i.json)).collect::<Vec<_>>();
            self.mismatches.push(format!(
                "{rt}/{id} `{expr}`: engine {:?}, fast path {:?}",
                general.as_ref().map(|g| show(g)),
                show(&fast)
            ));
        }
    }
}

fn compare_all(label: &str, files: &[Value]) -> Counts {
    let registry = Arc::new(Registry::r4());
    let exprs = expressions(&registry);
    let fast_indexer = Indexer::new(registry.clone(), &FhirPathEngine);
    let general_indexer = Indexer::new(registry, &GeneralEngine);
    let mut list = Vec::new();
    files.iter().for_each(|f| resources(f, &mut list));
    let mut counts = Counts::default();
    for r in list {
        counts.resources += 1;
        let Some(t) = r.get("resourceType").and_then(Value::as_str) else { continue };
        for (main, components) in exprs.by_type.get(t).into_iter().flatten() {
            let Some(m) = exprs.compiled.get(main) else { continue };
            let general = m.general.evaluate(r);
            counts.compare(main, m, r, &general, m.fast.as_ref().and_then(|f| f.evaluate(r)));
            for item in general.iter().flatten().filter(|_| !components.is_empty()) {
                for c in components {
                    let Some(ce) = exprs.compiled.get(c) else { continue };
                    let g = ce.general.evaluate_on(r, item);
                    counts.compare(c, ce, r, &g, ce.fast.as_ref().and_then(|f| f.evaluate_on(r, item)));
                }
            }
        }
        counts.index_compared += 1;
        if fast_indexer.index(r) != general_indexer.index(r) {
            let id = r.get("id").and_then(Value::as_str).unwrap_or("?");
            counts.mismatches.push(format!("{t}/{id}: Indexer::index differs with the fast path"));
        }
    }
    let fast_compiled = exprs.compiled.values().filter(|e| e.fast.is_some()).count();
    println!(
        "{label}: expressions compiled fast {fast_compiled}, left to the engine {}; {} resources, {} evaluations \
         ({} on the fast path, {} deferred to the engine), Indexer::index compared on {}, mismatches {}",
        exprs.compiled.len() - fast_compiled,
        counts.resources,
        counts.evaluations,
        counts.fast,
        counts.deferred,
        counts.index_compared,
        counts.mismatches.len()
    );
    for (e, n) in &counts.deferred_by_expression {
        println!("  deferred {n}x: {e}");
    }
    for m in counts.mismatches.iter().take(20) {
        println!("  MISMATCH {m}");
    }
    counts
}

#[test]
fn synthea_indexes_the_same_with_and_without_the_fast_path() {
    let mut files = Vec::new();
    load(&data().join("synthea"), &mut files);
    if files.is_empty() {
        println!("no Synthea data at {}", data().display());
        return;
    }
    let counts = compare_all("Synthea", &files);
    assert!(counts.resources > 17_000, "the Synthea bundles hold 17,884 resources");
    assert!(counts.fast > counts.evaluations / 2, "most evaluations take the fast path");
    assert!(counts.mismatches.is_empty(), "{} mismatches", counts.mismatches.len());
}

#[test]
fn r4_examples_index_the_same_with_and_without_the_fast_path() {
    let mut files = Vec::new();
    for dir in ["fhir-r4/examples-package", "fhir-test-cases", "hl7v2/reference-fhir", "cds-hooks"] {
        load(&data().join(dir), &mut files);
    }
    if files.is_empty() {
        println!("no FHIR examples at {}", data().display());
        return;
    }
    let counts = compare_all("R4 examples and test inputs", &files);
    assert!(counts.fast > 0);
    assert!(counts.mismatches.is_empty(), "{} mismatches", counts.mismatches.len());
}

/// A deterministic generator (an LCG: the test needs no statistical quality).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }

    fn pick<T: Clone>(&mut self, options: &[T]) -> T {
        options[self.next() % options.len()].clone()
    }
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Object(o) => o.values().map(count_nodes).sum(),
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Mutates the `target`-th node (pre-order) of `v`; true once done.
fn mutate_nth(v: &mut Value, target: &mut usize, rng: &mut Rng) -> bool {
    if *target == 0 {
        mutate(v, rng);
        return true;
    }
    *target -= 1;
    match v {
        Value::Object(o) => o.values_mut().any(|c| mutate_nth(c, target, rng)),
        Value::Array(a) => a.iter_mut().any(|c| mutate_nth(c, target, rng)),
        _ => false,
    }
}

fn mutate(v: &mut Value, rng: &mut Rng) {
    use serde_json::json;
    let extension = json!({"extension": [{"url": "http://x", "valueString": "x"}]});
    if let Value::Object(o) = v
        && !o.is_empty()
        && rng.next().is_multiple_of(2)
    {
        // a mutation of one of the object's properties that needs its name
        let keys: Vec<String> = o.keys().filter(|k| *k != "resourceType").cloned().collect();
        if keys.is_empty() {
            return;
        }
        let k = rng.pick(&keys);
        let value = o.get(&k).cloned().unwrap_or(Value::Null);
        let mut entries: Vec<(String, Value)> = std::mem::take(o).into_iter().collect();
        let at = rng.next() % (entries.len() + 1);
        let base_len = k.find(|c: char| c.is_ascii_uppercase()).unwrap_or(k.len());
        let companion = match &value {
            Value::Array(a) => Value::Array(a.iter().map(|_| rng.pick(&[Value::Null, extension.clone()])).collect()),
            _ => extension.clone(),
        };
        match rng.next() % 6 {
            // a `_name` companion, before or after the value
            0 => entries.insert(at, (format!("_{k}"), companion)),
            // only the companion: a primitive without a value
            1 => {
                entries.retain(|(key, _)| *key != k);
                entries.insert(at.min(entries.len()), (format!("_{k}"), companion));
            }
            // a second value of a choice element (`valueString` beside `valueQuantity`)
            2 => {
                let second = format!("{}{}", &k[..base_len], rng.pick(&["String", "Quantity", "CodeableConcept", "DateTime", "Boolean"]));
                let v2 = rng.pick(&[json!("x"), json!({"value": 1, "unit": "mg"}), json!({"text": "t"}), json!("2020-01-01"), json!(true)]);
                entries.retain(|(key, _)| *key != second);
                entries.insert(at.min(entries.len()), (second, v2));
            }
            // the references and codes `where` tests
            3 => entries.push(("reference".into(), rng.pick(&[json!("Patient/1"), json!("http://x/Patient/1"), json!("Group/1"), json!(5), json!(["Patient/1", "Patient/2"]), json!(null)]))),
            4 => entries.push(("system".into(), rng.pick(&[json!("email"), json!("phone"), json!(["phone"]), json!(1), json!({"x": 1})]))),
            // a name no type has
            _ => entries.push(("notAnElement".into(), json!("x"))),
        }
        *o = entries.into_iter().collect();
        return;
    }
    let original = v.clone();
    *v = match rng.next() % 10 {
        0 => Value::Null,
        1 => json!(5),
        2 => json!(1.50),
        3 => json!(true),
        4 => json!("2020-01-01T10:00:00Z"),
        // duplicates, which `|` removes
        5 => json!([original.clone(), original]),
        6 => json!([original, null]),
        7 => json!({}),
        8 => match original {
            Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
            other => json!([other]),
        },
        _ => json!("Patient/x"),
    };
}

#[test]
fn mutated_resources_index_the_same_with_and_without_the_fast_path() {
    let mut files = Vec::new();
    load(&data().join("fhir-r4/examples-package"), &mut files);
    let mut originals = Vec::new();
    files.iter().for_each(|f| resources(f, &mut originals));
    let mut synthea = Vec::new();
    load(&data().join("synthea"), &mut synthea);
    // one patient's bundle: every resource type Synthea writes
    let mut from_synthea = Vec::new();
    synthea.iter().take(1).for_each(|f| resources(f, &mut from_synthea));
    originals.extend(from_synthea.into_iter().filter(|r| r.get("resourceType").and_then(Value::as_str) != Some("Bundle")));
    if originals.is_empty() {
        println!("no FHIR examples at {}", data().display());
        return;
    }
    let mut rng = Rng(42);
    let mut mutated = Vec::new();
    for r in originals.iter().filter(|r| count_nodes(r) < 2_000) {
        for _ in 0..4 {
            let mut m = (*r).clone();
            for _ in 0..1 + rng.next() % 4 {
                // never the root itself: it must stay a resource of its type
                let mut target = 1 + rng.next() % count_nodes(&m).max(2).saturating_sub(1);
                mutate_nth(&mut m, &mut target, &mut rng);
            }
            mutated.push(m);
        }
    }
    let counts = compare_all("mutated resources", &mutated);
    assert!(counts.deferred > 0, "the mutations reach data the fast path defers on");
    assert!(counts.mismatches.is_empty(), "{} mismatches", counts.mismatches.len());
}

/// Cases chosen for the engine's subtler answers: each through `FhirPathEngine` (fast path,
/// deferring to the engine) and `GeneralEngine` must agree, and the fast path must defer
/// exactly where this table says.
#[test]
fn edge_cases_match_the_engine_or_defer() {
    use serde_json::json;
    let obs = |extra: Value| {
        let mut o = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}});
        if let (Some(o), Value::Object(e)) = (o.as_object_mut(), extra) {
            o.extend(e);
        }
        o
    };
    let patient_ref = "Observation.subject.where((reference.startsWith('Patient/') or reference.contains('/Patient/')))";
    let cases: Vec<(&str, Value, bool)> = vec![
        // (expression, resource, whether the fast path defers)
        ("Observation.valueQuantity", obs(json!({"valueQuantity": {"value": 1}})), true),
        ("Observation.notAnElement", obs(json!({"notAnElement": "x"})), true),
        ("Observation.value", obs(json!({"_valueString": {"id": "a"}, "valueString": "x"})), false),
        ("Observation.value", obs(json!({"_valueString": {"id": "a"}})), false),
        ("Observation.value", obs(json!({"valueString": "x", "valueQuantity": {"value": 1}})), false),
        ("Observation.value.ofType(DateTime)", obs(json!({"valueDateTime": "2020"})), false),
        ("Observation.value.ofType(dateTime) | Observation.effective", obs(json!({"valueDateTime": "2020", "effectiveDateTime": "2020"})), true),
        ("Observation.value.ofType(integer) | Observation.value", obs(json!({"valueInteger": 1})), true),
        ("Observation.code | Observation.code", obs(json!({})), false),
        ("Observation.status | Observation.status", obs(json!({})), false),
        ("Resource.meta.tag", obs(json!({"meta": {"tag": [{"code": "a"}, null, {"code": "a"}]}})), false),
        ("Patient.name", obs(json!({})), false),
        ("Patient.name.given | Patient.name.family", json!({"resourceType": "Patient",
            "name": [{"family": "A", "given": ["A", null, "B"], "_given": [null, {"id": "x"}, {"id": "y"}]}, {"given": ["B"]}]}), false),
        ("Patient.name.given.extension", json!({"resourceType": "Patient", "name": [{"_given": [{"extension": [{"url": "u"}]}]}]}), true),
        ("Patient.telecom.where(system='email')", json!({"resourceType": "Patient",
            "telecom": [{"system": "email"}, {"system": ["email", "email"]}, {"system": 1}, {"_system": {"id": "x"}}, {"system": ["email"]}]}), false),
        (patient_ref, obs(json!({"subject": {"reference": "Patient/1"}})), false),
        (patient_ref, obs(json!({"subject": {"reference": "http://x/Patient/1"}})), false),
        (patient_ref, obs(json!({"subject": {"display": "no reference"}})), false),
        (patient_ref, obs(json!({"subject": {"reference": 5}})), true),
        (patient_ref, obs(json!({"subject": {"reference": ["Patient/1", "Patient/2"]}})), true),
        (patient_ref, obs(json!({"subject": {"_reference": {"id": "x"}}})), true),
        ("Nope.name", json!({"resourceType": "Nope", "name": "x"}), true),
        ("Bundle.entry.resource.meta", json!({"resourceType": "Bundle", "entry": [{"resource": {"meta": {}}}, {"resource": {"resourceType": "Patient", "meta": {"id": "m"}}}]}), false),
    ];
    let mut deferred = 0;
    for (expr, resource, defers) in &cases {
        let fast = FastPath::compile(expr);
        assert!(fast.is_some(), "`{expr}` compiles to the fast path");
        let out = fast.as_ref().and_then(|f| f.evaluate(resource));
        assert_eq!(out.is_none(), *defers, "`{expr}` on {resource}: deferred");
        deferred += usize::from(out.is_none());
        let (Ok(combined), Ok(general)) = (FhirPathEngine.compile(expr), GeneralEngine.compile(expr)) else {
            panic!("`{expr}` compiles");
        };
        match (combined.evaluate(resource), general.evaluate(resource)) {
            (Ok(a), Ok(b)) => assert!(same_items(&a, &b), "`{expr}` on {resource}: {a:?} vs {b:?}"),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("`{expr}` on {resource}: {a:?} vs {b:?}"),
        }
    }
    println!("edge cases: {} compared, {deferred} deferred to the engine", cases.len());
}
