//! No query string, unit or date reaches a panic: thousands of generated garbage inputs
//! through the parser and the value readers, each answered with a value or an error.

use salus_search::{Registry, SearchContext};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
    fn text(&mut self, pieces: &[&str], max: usize) -> String {
        (0..self.next() % max).map(|_| pieces[self.next() % pieces.len()]).collect()
    }
}

const PIECES: &[&str] = &[
    "a", "é", "µ", "\u{10FFFF}", "0", "9", "-", ".", ":", "|", "$", ",", "\\", "/", "%", "_", "=", "&", "(", ")", "'",
    "eq", "ap", "ge", "T", "Z", "+", "e", "2019", "Patient", "subject", "_has", "code", "name", ":not", ":missing",
    ":Patient", ".name", "*", "http://", "urn:", "{", "}", "[", "]", " ", "\u{0}", "10*", "mg", "_count", "_sort",
    ":below", ":above", "_list",
];

#[test]
fn garbage_queries_are_refused_or_parsed_never_panicking() {
    let registry = Registry::r4();
    // Subsumption through a small hierarchy for the system `urn:`, which the pieces can spell.
    let cs = serde_json::json!({"resourceType": "CodeSystem", "hierarchyMeaning": "is-a",
        "concept": [{"code": "a", "concept": [{"code": "0"}, {"code": "9"}]}]});
    let mut systems = salus_search::CodeSystems::default();
    systems.insert("urn:", salus_search::CodeHierarchy::from_code_system(&cs));
    let mut rng = Rng(7);
    let (mut ok, mut refused) = (0, 0);
    for i in 0..5000 {
        let params: Vec<(String, String)> =
            (0..1 + rng.next() % 3).map(|_| (rng.text(PIECES, 8), rng.text(PIECES, 12))).collect();
        let ty = ["Observation", "Patient", "Nope"][i % 3];
        for compartment in [None, Some(("Patient", "p1")), Some(("Nope", "é"))] {
            let ctx = SearchContext { registry: &registry, resource_type: Some(ty), compartment, lenient: i % 2 == 0, now_ms: 0, code_systems: (i % 3 != 1).then_some(&systems) };
            match salus_search::parse(&ctx, &params) {
                Ok(_) => ok += 1,
                Err(_) => refused += 1,
            }
        }
    }
    println!("garbage queries: {ok} parsed, {refused} refused");
    assert!(refused > 0);
}

#[test]
fn garbage_units_and_dates_are_refused_never_panicking() {
    let mut rng = Rng(11);
    let mut understood = 0;
    for _ in 0..20_000 {
        let s = rng.text(PIECES, 10);
        understood += usize::from(salus_search::ucum::canonical(1.0, &s).is_some());
        let _ = salus_search::date::parse_range(&s);
        let _ = salus_search::extract::parse_reference("p", &s);
        let _ = salus_search::text::fold(&s);
    }
    println!("garbage units understood: {understood} of 20000");
}
