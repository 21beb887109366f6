//! The oracle: Synthea patients loaded through `Engine::commit`, a few hundred generated
//! queries (every parameter type, modifiers, prefixes, chains, `_has`, includes, paging) run
//! through `Engine::search` (SQL over the index tables), and each result set compared with a
//! brute-force evaluation: FHIRPath over every stored resource into terms, then the in-memory
//! matcher. Zero differences allowed; the counts are printed.

use salus_engine::{Caller, Engine, Entry, MinimalValidator, SearchRequest};
use salus_search::fhirpath::FhirPathEngine;
use salus_search::matcher::Corpus;
use salus_search::terms::IndexTerms;
use salus_search::{Indexer, Registry, SearchContext};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Patient bundles loaded (the smallest files first, for a quick test).
const PATIENTS: usize = 30;

fn synthea() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea")
}

/// Rewrites `urn:uuid:X` references to `Type/X`.
fn rewrite(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("reference")
                && let Some(target) = r.strip_prefix("urn:uuid:").and_then(|u| ids.get(u)) {
                    *r = target.clone();
                }
            for (_, x) in o.iter_mut() {
                rewrite(x, ids);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, ids)),
        _ => {}
    }
}

async fn load(engine: &Engine, file: &Path, ids: &mut HashMap<String, String>, loaded: &mut HashSet<String>) -> usize {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let bundle: Value = serde_json::from_str(&text).expect("bundle json");
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    for e in &entries {
        if let (Some(full), Some(t)) = (e["fullUrl"].as_str(), e["resource"]["resourceType"].as_str())
            && let Some(uuid) = full.strip_prefix("urn:uuid:") {
                ids.insert(uuid.to_string(), format!("{t}/{uuid}"));
            }
    }
    let mut batch = Vec::new();
    for e in entries {
        let Some(uuid) = e["fullUrl"].as_str().and_then(|f| f.strip_prefix("urn:uuid:")).map(str::to_string) else { continue };
        if !loaded.insert(uuid.clone()) {
            continue; // the shared Organizations and Practitioners, copied into each bundle
        }
        let mut resource = e["resource"].clone();
        rewrite(&mut resource, ids);
        batch.push(Entry::Create { resource, id: Some(uuid), if_none_exist: None });
    }
    let n = batch.len();
    engine.commit(&Caller::system(), batch).await.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    n
}

/// A small deterministic generator (no dependency, same queries on every run).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() { None } else { Some(&v[self.below(v.len())]) }
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace(',', "\\,").replace('|', "\\|").replace('$', "\\$")
}

fn format_ms(ms: i64, precision: usize) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // civil from days (Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let (h, mi, s) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60);
    match precision {
        0 => format!("{y:04}"),
        1 => format!("{y:04}-{m:02}"),
        2 => format!("{y:04}-{m:02}-{d:02}"),
        _ => format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
    }
}

const PREFIXES: &[&str] = &["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"];

/// Queries for one resource type, drawn from the values its resources hold.
fn queries_for(rng: &mut Rng, ty: &str, corpus: &Corpus, out: &mut Vec<(String, String)>) {
    let ids: Vec<String> = corpus.ids(ty).into_iter().collect();
    let sample = |rng: &mut Rng| -> Option<&IndexTerms> { corpus.terms(ty, rng.pick(&ids)?) };
    let mut add = |q: String| out.push((ty.to_string(), q));
    for _ in 0..6 {
        let Some(t) = sample(rng) else { return };
        if let Some(s) = rng.pick(&t.strings) {
            let n: String = s.norm.chars().take(1 + rng.below(4)).collect();
            add(format!("{}={}", s.param, esc(&n)));
            add(format!("{}:exact={}", s.param, esc(&s.exact)));
            let chars: Vec<char> = s.norm.chars().collect();
            if chars.len() > 3 {
                let start = rng.below(chars.len() - 2);
                add(format!("{}:contains={}", s.param, esc(&chars[start..start + 2].iter().collect::<String>())));
            }
        }
        let token = rng.pick(&t.tokens);
        if let Some(k) = token.filter(|k| k.param.ends_with(":of-type")) {
            // the derived term holds `type-code|value`, written as system|type-code|value
            if let (Some(sys), Some(code)) = (&k.system, &k.code) {
                add(format!("{}={}|{}", k.param, esc(sys), code));
            }
        } else if let Some(k) = token {
            if let Some(code) = &k.code {
                match &k.system {
                    Some(sys) => {
                        add(format!("{}={}|{}", k.param, esc(sys), esc(code)));
                        add(format!("{}={}|", k.param, esc(sys)));
                    }
                    None => add(format!("{}=|{}", k.param, esc(code))),
                }
                add(format!("{}={}", k.param, esc(code)));
                if !k.param.contains(':') {
                    add(format!("{}:not={}", k.param, esc(code)));
                    add(format!("{}:missing={}", k.param, rng.below(2) == 0));
                }
            }
            if let Some(text) = &k.text {
                let p: String = text.chars().take(2 + rng.below(5)).collect();
                add(format!("{}:text={}", k.param, esc(&p)));
            }
            if let (Some(other), Some(code)) = (rng.pick(&t.tokens), &k.code)
                && let (true, Some(c2)) = (other.param == k.param, &other.code) {
                    add(format!("{}={},{}", k.param, esc(code), esc(c2)));
                }
        }
        if let Some(d) = rng.pick(&t.dates) {
            let p = PREFIXES[rng.below(PREFIXES.len())];
            let when = if d.range.low > -62_000_000_000_000 { d.range.low } else { d.range.high };
            if when > -62_000_000_000_000 && when < 253_000_000_000_000 {
                add(format!("{}={p}{}", d.param, format_ms(when, rng.below(4))));
            }
        }
        if let Some(n) = rng.pick(&t.numbers) {
            let p = PREFIXES[rng.below(PREFIXES.len())];
            add(format!("{}={p}{}", n.param, n.value));
        }
        if let Some(q) = rng.pick(&t.quantities) {
            let p = PREFIXES[rng.below(PREFIXES.len())];
            add(format!("{}={p}{}", q.param, q.value));
            if let (Some(s), Some(c)) = (&q.system, &q.code) {
                add(format!("{}={p}{}|{}|{}", q.param, q.value, esc(s), esc(c)));
                if c == "mg" || c == "g" || c == "kg" {
                    add(format!("{}={p}{}|{}|g", q.param, q.canonical.as_ref().map_or(q.value, |x| x.0), esc(s)));
                }
            }
            if let Some(c) = &q.code {
                add(format!("{}=ap{}||{}", q.param, q.value, esc(c)));
            }
        }
        if let Some(r) = rng.pick(&t.references)
            && let (Some(tt), Some(id)) = (&r.target_type, &r.target_id) {
                add(format!("{}={tt}/{id}", r.param));
                add(format!("{}={id}", r.param));
                add(format!("{}:missing={}", r.param, rng.below(2) == 0));
            }
        if let Some(u) = rng.pick(&t.uris) {
            add(format!("{}={}", u.param, esc(&u.value)));
            let cut: String = u.value.chars().take(u.value.len() / 2).collect();
            add(format!("{}:below={}", u.param, esc(&cut)));
        }
        if let Some(c) = rng.pick(&t.composites) {
            use salus_search::terms::CompositeValue;
            let first = format!("{}|{}", esc(c.first.system.as_deref().unwrap_or("")), esc(c.first.code.as_deref().unwrap_or("")));
            let second = match &c.second {
                CompositeValue::Quantity(q) => Some(format!("{}{}", PREFIXES[rng.below(PREFIXES.len())], q.value)),
                CompositeValue::Token(k) => k.code.as_ref().map(|c| esc(c)),
                CompositeValue::String(s) => Some(esc(&s.norm.chars().take(3).collect::<String>())),
                CompositeValue::Date(d) => Some(format_ms(d.range.low, 2)),
                CompositeValue::Number(n) => Some(n.value.to_string()),
            };
            // A three-component composite (the MolecularSequence coordinates) ends in a number.
            let third = match &c.third {
                Some(CompositeValue::Number(n)) => Some(format!("${}{}", PREFIXES[rng.below(PREFIXES.len())], n.value)),
                Some(_) => None,
                None => Some(String::new()),
            };
            if let (Some(second), Some(third)) = (second, third) {
                add(format!("{}={first}${second}{third}", c.param));
            }
        }
    }
    if let Some(id) = rng.pick(&ids) {
        add(format!("_id={id}"));
    }
    // Full text: words of one resource's narrative and content.
    for _ in 0..2 {
        let Some(t) = sample(rng) else { return };
        let narrative = salus_search::fulltext::words(&t.narrative);
        let content = salus_search::fulltext::words(&t.content);
        if let (Some(a), Some(b)) = (rng.pick(&content), rng.pick(&content)) {
            add(format!("_content={a} {b}"));
        }
        if let Some(a) = rng.pick(&narrative) {
            add(format!("_text={a}"));
        }
    }
}

struct Oracle {
    engine: Engine,
    corpus: Corpus,
    registry: Registry,
}

impl Oracle {
    async fn engine_ids(&self, ty: &str, query: &str, page: usize) -> (Vec<(String, String)>, Vec<(String, String)>) {
        let mut params: Vec<(String, String)> = query
            .split('&')
            .map(|p| p.split_once('=').map_or((p.to_string(), String::new()), |(k, v)| (k.to_string(), v.to_string())))
            .collect();
        params.push(("_count".into(), page.to_string()));
        let mut matches = Vec::new();
        let mut included = Vec::new();
        let mut request = SearchRequest { resource_type: Some(ty.to_string()), params, ..Default::default() };
        let mut first_total = None;
        loop {
            let r = self.engine.search(&Caller::system(), request.clone()).await.unwrap_or_else(|e| panic!("{ty}?{query}: {e}"));
            first_total = first_total.or(Some(r.total));
            matches.extend(r.matches.iter().map(|v| (v.resource_type.clone(), v.id.clone())));
            included.extend(r.included.iter().map(|v| (v.resource_type.clone(), v.id.clone())));
            match r.next {
                Some(token) => request.params = vec![("_cursor".into(), token)],
                None => break,
            }
        }
        // Every page reports the total of all pages.
        assert_eq!(first_total.flatten(), Some(matches.len() as u64), "{ty}?{query}: total");
        (matches, included)
    }

    fn brute_force(&self, ty: &str, query: &str) -> Vec<(String, String)> {
        let params: Vec<(String, String)> = query
            .split('&')
            .map(|p| p.split_once('=').map_or((p.to_string(), String::new()), |(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let ctx = SearchContext {
            registry: &self.registry,
            resource_type: Some(ty),
            compartment: None,
            lenient: false,
            now_ms: 0,
            code_systems: None,
        };
        let q = salus_search::parse(&ctx, &params).unwrap_or_else(|e| panic!("{ty}?{query}: {e}"));
        self.corpus.search(&q)
    }

    /// What `_include=Source:param` adds to a set of matches, by brute force.
    fn brute_include(&self, matches: &[(String, String)], param: &str) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (t, i) in matches {
            for r in self.corpus.terms(t, i).map(|x| x.references.as_slice()).unwrap_or_default() {
                if let (true, Some(tt), Some(ti)) = (r.param == param, &r.target_type, &r.target_id)
                    && self.corpus.terms(tt, ti).is_some() && !matches.contains(&(tt.clone(), ti.clone())) {
                        out.insert((tt.clone(), ti.clone()));
                    }
            }
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_queries_agree_with_brute_force_over_synthea() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::new(Store::new(SqliteStore::open(dir.path()).expect("open")), Arc::new(MinimalValidator));
    let root = synthea();
    let mut ids = HashMap::new();
    let mut loaded = HashSet::new();
    let mut resources = 0;
    let mut shared: Vec<PathBuf> = std::fs::read_dir(root.join("shared-resources")).expect("shared").flatten().map(|e| e.path()).collect();
    shared.sort();
    for f in &shared {
        resources += load(&engine, f, &mut ids, &mut loaded).await;
    }
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&root)
        .expect("synthea")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0), p))
        .collect();
    files.sort();
    for (_, f) in files.iter().take(PATIENTS) {
        resources += load(&engine, f, &mut ids, &mut loaded).await;
    }

    let lists = make_lists(&engine, &ids).await;
    resources += lists.len();

    // Brute force: every stored resource read back, its terms computed afresh by FHIRPath.
    let indexer = Indexer::new(Arc::new(Registry::r4()), &FhirPathEngine);
    let mut corpus = Corpus::default();
    let types = ["Patient", "Observation", "Encounter", "Condition", "Immunization", "Procedure", "MedicationRequest",
        "DiagnosticReport", "CarePlan", "Claim", "ExplanationOfBenefit", "Organization", "Practitioner", "Goal",
        "AllergyIntolerance", "ImagingStudy", "List"];
    for t in types {
        let mut request = SearchRequest { resource_type: Some(t.into()), params: vec![("_count".into(), "1000".into())], ..Default::default() };
        loop {
            let page = engine.search(&Caller::system(), request.clone()).await.expect("read back");
            for v in &page.matches {
                let body: Value = serde_json::from_slice(v.body.as_deref().expect("body")).expect("json");
                corpus.insert(t, &v.id, indexer.index(&body), v.last_updated_ms);
            }
            match page.next {
                Some(token) => request.params = vec![("_cursor".into(), token)],
                None => break,
            }
        }
    }
    assert_eq!(corpus.len(), resources, "every loaded resource reads back");
    let oracle = Oracle { engine, corpus, registry: Registry::r4() };

    let mut rng = Rng(20_190_531);
    let mut queries = Vec::new();
    for t in types {
        queries_for(&mut rng, t, &oracle.corpus, &mut queries);
    }
    // Chains, reverse chains, AND, _lastUpdated.
    let codes: Vec<String> = oracle.corpus.ids("Observation").iter().take(40)
        .filter_map(|i| oracle.corpus.terms("Observation", i)?.tokens.iter().find(|k| k.param == "code" && k.code.is_some())?.code.clone()).collect();
    let names: Vec<String> = oracle.corpus.ids("Patient").iter()
        .filter_map(|i| oracle.corpus.terms("Patient", i)?.strings.iter().find(|s| s.param == "family").map(|s| s.norm.chars().take(3).collect())).collect();
    for i in 0..10 {
        let code = rng.pick(&codes).cloned().unwrap_or_default();
        let name = rng.pick(&names).cloned().unwrap_or_default();
        queries.push(("Observation".into(), format!("subject:Patient.name={name}")));
        queries.push(("Observation".into(), format!("patient.gender={}", if i % 2 == 0 { "male" } else { "female" })));
        queries.push(("Observation".into(), format!("encounter.service-provider.name={}", &name[..1.min(name.len())])));
        queries.push(("Patient".into(), format!("_has:Observation:patient:code={code}")));
        queries.push(("Patient".into(), format!("_has:Observation:patient:code={code}&gender=female")));
        queries.push(("Encounter".into(), format!("_has:Observation:encounter:code={code}&patient.name={name}")));
        queries.push(("Patient".into(), format!("_has:Encounter:patient:_has:Observation:encounter:code={code}")));
        queries.push(("Observation".into(), format!("code={code}&date=ge201{}&status=final", i % 10)));
        queries.push(("Observation".into(), format!("_lastUpdated=ge{}", format_ms(0, 0))));
    }
    // `_list`: every list against the types it holds, alone and with another parameter; a
    // deleted list and an unknown one match nothing.
    for l in &lists {
        for t in ["Patient", "Observation", "Encounter", "Claim", "Condition", "Organization"] {
            queries.push((t.into(), format!("_list={l}")));
        }
        queries.push(("Observation".into(), format!("_list={l}&status=final")));
        queries.push(("Patient".into(), format!("_list={l}&gender=female")));
        queries.push(("Encounter".into(), format!("_list={l}&_list={}", lists[0])));
    }
    queries.push(("Patient".into(), format!("_list={DELETED_LIST}")));
    queries.push(("Observation".into(), "_list=no-such-list".into()));

    let mut differences = Vec::new();
    let mut compared = 0usize;
    let mut non_empty = 0usize;
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for (t, q) in &queries {
        let (got, _) = oracle.engine_ids(t, q, 1000).await;
        let expected = oracle.brute_force(t, q);
        compared += expected.len();
        non_empty += usize::from(!expected.is_empty());
        let kind = if q.starts_with("_text=") || q.starts_with("_content=") {
            "full text"
        } else if q.contains("_list=") {
            "_list"
        } else if q.contains("_has:") {
            "_has"
        } else if q.split('&').any(|p| p.split('=').next().is_some_and(|n| n.contains('.'))) {
            "chain"
        } else if q.contains(":not=") || q.contains(":missing=") || q.contains(":text=") || q.contains(":exact=") || q.contains(":contains=") || q.contains(":below=") || q.contains(":of-type=") {
            "modifier"
        } else if q.contains('$') {
            "composite"
        } else {
            "plain"
        };
        *kinds.entry(kind).or_default() += 1;
        let got_set: BTreeSet<_> = got.iter().cloned().collect();
        let want: BTreeSet<_> = expected.iter().cloned().collect();
        if got_set != want || got_set.len() != got.len() {
            differences.push(format!("{t}?{q}: engine {} vs brute force {}", got.len(), want.len()));
        }
    }
    // Paging: small pages give the same set, without repeats.
    let mut paged = 0;
    for (t, q) in queries.iter().step_by(10) {
        let (got, _) = oracle.engine_ids(t, q, 7).await;
        let want: BTreeSet<_> = oracle.brute_force(t, q).into_iter().collect();
        paged += 1;
        if got.iter().cloned().collect::<BTreeSet<_>>() != want || got.len() != want.len() {
            differences.push(format!("paged {t}?{q}: engine {} vs brute force {}", got.len(), want.len()));
        }
    }
    // Sort order, paged by the keyset cursor: the lowest date ascending, the highest descending,
    // resources without one first ascending and last descending, then type and id.
    let mut sorted = 0;
    for (t, q, param, descending) in [
        ("Observation", "status=final&_sort=-date", "date", true),
        ("Observation", "category=vital-signs&_sort=date", "date", false),
        ("Patient", "_sort=birthdate", "birthdate", false),
        ("Encounter", "_sort=-date", "date", true),
        ("Condition", "_sort=onset-date", "onset-date", false),
    ] {
        let (got, _) = oracle.engine_ids(t, q, 7).await;
        let mut want = oracle.brute_force(t, q);
        let key = |id: &str| -> Option<i64> {
            let dates = oracle.corpus.terms(t, id)?.dates.iter().filter(|d| d.param == param).collect::<Vec<_>>();
            if descending { dates.iter().map(|d| d.range.high).max() } else { dates.iter().map(|d| d.range.low).min() }
        };
        want.sort_by(|a, b| {
            let (ka, kb) = (key(&a.1).unwrap_or(i64::MIN), key(&b.1).unwrap_or(i64::MIN));
            let by_key = if descending { kb.cmp(&ka) } else { ka.cmp(&kb) };
            by_key.then_with(|| a.cmp(b))
        });
        sorted += 1;
        if got != want {
            differences.push(format!("sorted {t}?{q}: order differs ({} rows)", want.len()));
        }
    }
    // Includes.
    let mut includes = 0;
    for (t, q, param, inc) in [
        ("Observation", "status=final", "subject", "_include=Observation:subject"),
        ("Encounter", "status=finished", "service-provider", "_include=Encounter:service-provider"),
        ("Condition", "clinical-status=active", "encounter", "_include=Condition:encounter"),
        ("Claim", "use=claim", "patient", "_include=Claim:patient"),
    ] {
        let (got, included) = oracle.engine_ids(t, &format!("{q}&{inc}"), 1000).await;
        let want = oracle.brute_include(&got, param);
        includes += 1;
        if included.iter().cloned().collect::<BTreeSet<_>>() != want {
            differences.push(format!("{t}?{q}&{inc}: {} included vs {}", included.len(), want.len()));
        }
    }
    let (subsumption, subsumed, wide) = subsumption_checks(&oracle, &mut rng, &mut differences).await;
    println!(
        "oracle: {resources} resources loaded, {} queries ({non_empty} with matches, {compared} matches compared; by kind {kinds:?}), \
         {paged} paged re-runs, {sorted} sorted and paged, {includes} include checks, \
         {subsumption} subsumption checks ({wide} reaching several codes, {subsumed} matches compared), {} differences",
        queries.len(),
        differences.len()
    );
    assert!(non_empty * 2 > queries.len(), "most generated queries should match something");
    assert!(wide >= 3, "only {wide} subsumption checks reached more than one code");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert!(queries.len() >= 200, "only {} queries were generated", queries.len());
}

/// A List created and then deleted: `_list` naming it matches nothing.
const DELETED_LIST: &str = "oracle-list-deleted";

/// Lists of loaded resources of every type (a few Patients each, then random picks), each also
/// naming a resource that was never loaded; and one deleted list. Returns the live lists' ids.
async fn make_lists(engine: &Engine, ids: &HashMap<String, String>) -> Vec<String> {
    let mut refs: Vec<&String> = ids.values().collect();
    refs.sort();
    let patients: Vec<&String> = refs.iter().copied().filter(|r| r.starts_with("Patient/")).collect();
    let mut rng = Rng(4_242);
    let mut out = Vec::new();
    let mut entries = Vec::new();
    for l in 0..6 {
        let mut items: Vec<&str> = (0..3).filter_map(|_| rng.pick(&patients).map(|r| r.as_str())).collect();
        items.extend((0..5 + rng.below(60)).filter_map(|_| rng.pick(&refs).map(|r| r.as_str())));
        items.push("Patient/never-loaded");
        let id = format!("oracle-list-{l}");
        let entry: Vec<Value> = items.iter().map(|r| serde_json::json!({"item": {"reference": r}})).collect();
        let resource = serde_json::json!({"resourceType": "List", "status": "current", "mode": "working", "entry": entry});
        entries.push(Entry::Create { resource, id: Some(id.clone()), if_none_exist: None });
        out.push(id);
    }
    let deleted = serde_json::json!({"resourceType": "List", "status": "current", "mode": "working",
        "entry": [{"item": {"reference": patients.first().map_or("Patient/x", |p| p.as_str())}}]});
    entries.push(Entry::Create { resource: deleted, id: Some(DELETED_LIST.into()), if_none_exist: None });
    engine.commit(&Caller::system(), entries).await.expect("lists");
    let delete = Entry::Delete { resource_type: "List".into(), id: DELETED_LIST.into(), if_match: None };
    engine.commit(&Caller::system(), vec![delete]).await.expect("delete list");
    out
}

/// Token `:below` / `:above`: a made-up is-a tree over the SNOMED codes of the loaded
/// Conditions (each code's parent one of the codes before it), stored as the server's
/// CodeSystem for SNOMED; each search is compared with the closure walked here over the same
/// tree and the Conditions' terms. Returns the searches compared, the matches compared, and
/// how many searches reached more than one code.
async fn subsumption_checks(oracle: &Oracle, rng: &mut Rng, differences: &mut Vec<String>) -> (usize, usize, usize) {
    const SCT: &str = "http://snomed.info/sct";
    let mut codes: Vec<String> = oracle
        .corpus
        .ids("Condition")
        .iter()
        .filter_map(|i| oracle.corpus.terms("Condition", i))
        .flat_map(|t| t.tokens.iter())
        .filter(|k| k.param == "code" && k.system.as_deref() == Some(SCT))
        .filter_map(|k| k.code.clone())
        .collect();
    codes.sort();
    codes.dedup();
    let parent: Vec<Option<usize>> = (0..codes.len()).map(|i| (i > 0).then(|| rng.below(i))).collect();
    let concepts: Vec<Value> = codes
        .iter()
        .zip(&parent)
        .map(|(c, p)| match p {
            Some(p) => serde_json::json!({"code": c, "property": [{"code": "parent", "valueCode": codes[*p]}]}),
            None => serde_json::json!({"code": c}),
        })
        .collect();
    let cs = serde_json::json!({"resourceType": "CodeSystem", "url": SCT, "status": "active", "content": "fragment",
        "hierarchyMeaning": "is-a", "concept": concepts});
    let create = Entry::Create { resource: cs, id: Some("oracle-sct".into()), if_none_exist: None };
    oracle.engine.commit(&Caller::system(), vec![create]).await.expect("code system");

    let below = |i: usize| -> BTreeSet<usize> {
        let mut set = BTreeSet::from([i]);
        loop {
            let more: Vec<usize> = (0..codes.len()).filter(|j| parent[*j].is_some_and(|p| set.contains(&p)) && !set.contains(j)).collect();
            if more.is_empty() {
                return set;
            }
            set.extend(more);
        }
    };
    let above = |mut i: usize| -> BTreeSet<usize> {
        let mut set = BTreeSet::from([i]);
        while let Some(p) = parent[i] {
            set.insert(p);
            i = p;
        }
        set
    };
    let (mut checked, mut matched, mut wide) = (0, 0, 0);
    for round in 0..12 {
        let Some(i) = (!codes.is_empty()).then(|| rng.below(codes.len())) else { break };
        let (modifier, set) = if round % 3 == 2 { ("above", above(i)) } else { ("below", below(i)) };
        let wanted: BTreeSet<&str> = set.iter().map(|j| codes[*j].as_str()).collect();
        let want: BTreeSet<(String, String)> = oracle
            .corpus
            .ids("Condition")
            .into_iter()
            .filter(|id| {
                oracle.corpus.terms("Condition", id).is_some_and(|t| {
                    t.tokens.iter().any(|k| {
                        k.param == "code" && k.system.as_deref() == Some(SCT) && k.code.as_deref().is_some_and(|c| wanted.contains(c))
                    })
                })
            })
            .map(|id| ("Condition".to_string(), id))
            .collect();
        let q = format!("code:{modifier}={SCT}|{}", esc(&codes[i]));
        let (got, _) = oracle.engine_ids("Condition", &q, 1000).await;
        checked += 1;
        matched += want.len();
        wide += usize::from(set.len() > 1);
        if got.iter().cloned().collect::<BTreeSet<_>>() != want || got.len() != want.len() {
            differences.push(format!("Condition?{q}: engine {} vs closure {}", got.len(), want.len()));
        }
    }
    (checked, matched, wide)
}
