//! Every search SQL uses an index: one query per parameter type (and per modifier, chain,
//! `_has`, `_list`, subsumption, sort and cursor form) is compiled by the shared builder, and
//! SQLite's `EXPLAIN QUERY PLAN` must show no full scan of `resources` or of an index table;
//! nor may any statement of an include or reverse include, local or canonical.

use salus_search::{Registry, SearchContext};
use salus_store::sqlite::SqliteStore;
use salus_store::{SearchPosition, SearchRequest, SortValue};

const CASES: &[(&str, &str)] = &[
    ("Observation", "code=http://loinc.org|1234-5"),
    ("Observation", "code=1234-5,5678-9"),
    ("Observation", "code=http://loinc.org|"),
    ("Observation", "code:text=glucose"),
    ("Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|123"),
    ("Patient", "gender:in=http://hl7.org/fhir/ValueSet/administrative-gender"),
    ("Patient", "name=smi"),
    ("Patient", "family:exact=Smith"),
    ("Patient", "name:contains=mit"),
    ("Patient", "birthdate=ge1980-01-01"),
    ("Observation", "date=lt2020"),
    ("Observation", "date=ap2020-05-01"),
    ("RiskAssessment", "probability=gt0.5"),
    ("Observation", "value-quantity=5.4|http://unitsofmeasure.org|mg"),
    ("Observation", "value-quantity=le100"),
    ("Observation", "subject=Patient/p1"),
    ("Observation", "subject:identifier=urn:mrn|123"),
    ("ValueSet", "url=http://hl7.org/fhir/ValueSet/x"),
    ("ValueSet", "url:below=http://hl7.org/fhir/"),
    ("Observation", "code-value-quantity=http://loinc.org|1234-5$gt5"),
    ("MolecularSequence", "chromosome-variant-coordinate=1$gt1000$lt1500"),
    ("MolecularSequence", "referenceseqid-window-coordinate=http://www.ncbi.nlm.nih.gov/nuccore|NC_000001.11$le10453$ge101770080"),
    ("Observation", "_id=o1"),
    ("Observation", "_lastUpdated=ge2024-01-01"),
    ("Observation", "subject:Patient.name=smith"),
    ("Observation", "patient.organization.name=acme"),
    ("Patient", "_has:Observation:patient:code=1234-5"),
    ("Patient", "_has:Observation:patient:_has:Provenance:target:agent=Practitioner/x"),
    ("Observation", "patient=p1&code=http://loinc.org|1234-5&_sort=-date"),
    ("Observation", "subject=Patient/p1&code=1234-5"),
    ("Observation", "patient.name=smith&code=1234-5"),
    ("Observation", "subject=Patient/p1&date=ge2020&value-quantity=gt5&_profile=http://x"),
    ("Observation", "code=1234-5&_sort=date,-_lastUpdated"),
    ("Condition", "_text=asthma"),
    ("Condition", "_content=hay fever,asthma"),
    ("Patient", "_list=42"),
    ("Observation", "_list=42&code=http://loinc.org|1234-5"),
    ("Condition", "code:below=http://example.org/cs|A"),
    ("Condition", "code:above=http://example.org/cs|C&patient=p1"),
];

/// The code system the subsumption cases expand through: A above B above C.
fn code_systems() -> salus_search::CodeSystems {
    let cs = serde_json::json!({"resourceType": "CodeSystem", "url": "http://example.org/cs", "hierarchyMeaning": "is-a",
        "concept": [{"code": "A", "concept": [{"code": "B", "concept": [{"code": "C"}]}]}]});
    let mut systems = salus_search::CodeSystems::default();
    systems.insert("http://example.org/cs", salus_search::CodeHierarchy::from_code_system(&cs));
    systems
}

/// Includes and reverse includes, local and canonical, for one resource each.
const INCLUDES: &[(&str, &str, &str, bool)] = &[
    ("Observation", "o1", "Observation:subject", false),
    ("Observation", "o1", "Observation:subject:Patient", false),
    ("Observation", "o1", "*", false),
    ("CarePlan", "c1", "CarePlan:instantiates-canonical", false),
    ("QuestionnaireResponse", "r1", "QuestionnaireResponse:questionnaire", false),
    ("Patient", "p1", "Observation:subject", true),
    ("Patient", "p1", "Observation:*", true),
    ("Questionnaire", "q1", "QuestionnaireResponse:questionnaire", true),
    ("PlanDefinition", "pd1", "*", true),
];

/// Plan lines that read a whole table: `SCAN t` without an index. Scanning the page's own
/// materialised result (`m`, a subquery) or a list of literal values is not a table scan.
/// A correlated subquery (a sort key) must look its row up by seq, not range over a parameter.
/// The full-text table is a virtual table: its plan line names the MATCH it serves (`:M`).
/// Walking one type's range of `resources` when a condition could drive is a scan too.
fn full_scans(plan: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in plan.iter().enumerate() {
        let fts_match = l.contains("VIRTUAL TABLE INDEX") && l.contains(":M");
        if l.starts_with("SCAN ") && !l.contains("USING") && !l.starts_with("SCAN m") && !l.contains("CONSTANT ROW") && !fts_match {
            out.push(l.clone());
        }
        // Every case has a condition: reading the searched type's whole range and testing each
        // row against the condition's set is a scan in disguise.
        if l.contains("resources_current (type=?)") {
            out.push(l.clone());
        }
        // A probe of the candidate row `r` (alias `x`) must find the candidate's own rows by
        // seq, not walk a value range for each candidate.
        if l.starts_with("SEARCH x") && !l.contains("seq=?") {
            out.push(l.clone());
        }
        if l.starts_with("CORRELATED SCALAR SUBQUERY") && plan.get(i + 1).is_none_or(|n| !n.contains("seq=?")) {
            out.push(format!("{l} / {}", plan.get(i + 1).map_or("", String::as_str)));
        }
    }
    out
}

#[test]
fn every_search_query_uses_an_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let registry = Registry::r4();
    let systems = code_systems();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (ty, q) in CASES {
        let params: Vec<(String, String)> = q
            .split('&')
            .map(|p| p.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).unwrap_or_default())
            .collect();
        let ctx = SearchContext {
            registry: &registry,
            resource_type: Some(ty),
            compartment: None,
            lenient: false,
            now_ms: 0,
            code_systems: Some(&systems),
        };
        let query = salus_search::parse(&ctx, &params).unwrap_or_else(|e| panic!("{ty}?{q}: {e}"));
        let keys = query.sort.iter().map(|_| SortValue::Int(0)).collect();
        for after in [None, Some(SearchPosition { keys, resource_type: (*ty).into(), id: "x".into() })] {
            let request = SearchRequest { query: query.clone(), after, limit: 21 };
            let (sql, plan) = store.explain(&request).unwrap_or_else(|e| panic!("{ty}?{q}: {e}"));
            checked += 1;
            if std::env::var("SHOW_PLANS").is_ok() {
                println!("{ty}?{q}\n  {}", plan.join("\n  "));
            }
            let scans = full_scans(&plan);
            if !scans.is_empty() {
                failures.push(format!("{ty}?{q}: {scans:?}\n  {sql}\n  plan: {plan:#?}"));
            }
        }
    }
    // Compartment searches read the reference index too.
    let ctx = SearchContext {
        registry: &registry,
        resource_type: Some("Observation"),
        compartment: Some(("Patient", "p1")),
        lenient: false,
        now_ms: 0,
        code_systems: None,
    };
    let query = salus_search::parse(&ctx, &[]).expect("compartment");
    let (sql, plan) = store.explain(&SearchRequest { query, after: None, limit: 21 }).expect("explain");
    checked += 1;
    if !full_scans(&plan).is_empty() {
        failures.push(format!("compartment: {sql}\n{plan:#?}"));
    }
    // Includes: every statement one include runs for one resource, canonical lookups too.
    for (ty, id, value, reverse) in INCLUDES {
        let name = if *reverse { "_revinclude" } else { "_include" };
        let pairs = [(name.to_string(), value.to_string())];
        let ctx = SearchContext { registry: &registry, resource_type: Some(ty), compartment: None, lenient: false, now_ms: 0, code_systems: None };
        let query = salus_search::parse(&ctx, &pairs).unwrap_or_else(|e| panic!("{name}={value}: {e}"));
        let include = if *reverse { &query.revincludes[0] } else { &query.includes[0] };
        for (sql, plan) in store.explain_included((ty, id), include, *reverse).unwrap_or_else(|e| panic!("{name}={value}: {e}")) {
            checked += 1;
            if std::env::var("SHOW_PLANS").is_ok() {
                println!("{ty}/{id} {name}={value}\n  {sql}\n  {}", plan.join("\n  "));
            }
            // An include looks rows up by key: a range over an index (`target_id>?`) walks
            // every row of a parameter.
            let mut scans = full_scans(&plan);
            scans.extend(plan.iter().filter(|l| l.contains(">?") || l.contains("<?")).cloned());
            if !scans.is_empty() {
                failures.push(format!("{ty}/{id} {name}={value}: {scans:?}\n  {sql}\n  plan: {plan:#?}"));
            }
        }
    }
    println!("search plans checked: {checked}, with a full table scan: {}", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// An unsorted page after a cursor seeks to its position in the type's range: reindexing or
/// paging through a million Observations must not walk the range from its start every page.
#[test]
fn an_unsorted_page_after_a_cursor_seeks_to_its_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let registry = Registry::r4();
    let ctx = SearchContext {
        registry: &registry,
        resource_type: Some("Observation"),
        compartment: None,
        lenient: false,
        now_ms: 0,
        code_systems: None,
    };
    let query = salus_search::parse(&ctx, &[]).expect("no parameters");
    let after = SearchPosition { keys: Vec::new(), resource_type: "Observation".into(), id: "o-500".into() };
    let (sql, plan) = store.explain(&SearchRequest { query, after: Some(after), limit: 501 }).expect("explain");
    assert!(plan.iter().any(|l| l.contains("resources_current (type=? AND id>?)")), "{sql}\n{plan:#?}");
    assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "the index gives the order: {plan:#?}");
}
