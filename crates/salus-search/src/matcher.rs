//! The in-memory evaluation of a [`Query`] over index terms: the reference semantics the SQL
//! backends are tested against (the oracle test runs both and compares), written separately
//! from the SQL builder and as plainly as possible. Set-based, like the SQL: each condition is
//! the set of ids of one type that satisfy it.

use crate::date::DateRange;
use crate::query::*;
use crate::registry::ParamType;
use crate::terms::*;
use std::collections::{BTreeSet, HashMap};

/// The live resources to search, with their terms and last-updated instants.
#[derive(Debug, Default)]
pub struct Corpus {
    resources: HashMap<String, HashMap<String, (IndexTerms, i64)>>,
}

pub type Ids = BTreeSet<String>;

impl Corpus {
    pub fn insert(&mut self, resource_type: &str, id: &str, terms: IndexTerms, last_updated_ms: i64) {
        self.resources.entry(resource_type.to_string()).or_default().insert(id.to_string(), (terms, last_updated_ms));
    }

    pub fn ids(&self, resource_type: &str) -> Ids {
        self.resources.get(resource_type).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    pub fn terms(&self, resource_type: &str, id: &str) -> Option<&IndexTerms> {
        self.resources.get(resource_type)?.get(id).map(|(t, _)| t)
    }

    pub fn len(&self) -> usize {
        self.resources.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    /// The (type, id) of every match of a query, in (type, id) order.
    pub fn search(&self, query: &Query) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut types = query.types.clone();
        types.sort();
        for t in &types {
            let mut ids = self.ids(t);
            for c in &query.conditions {
                match c.for_type(t) {
                    Some(cond) => {
                        let set = self.set(t, cond);
                        ids.retain(|i| set.contains(i));
                    }
                    None => ids.clear(),
                }
            }
            out.extend(ids.into_iter().map(|i| (t.clone(), i)));
        }
        out
    }

    /// The ids of type `t` that satisfy `c`.
    pub fn set(&self, t: &str, c: &Condition) -> Ids {
        let all = || self.resources.get(t).into_iter().flat_map(|m| m.iter());
        match c {
            Condition::Match { table, param, any_of } => all()
                .filter(|(_, (terms, _))| any_of.iter().any(|p| rows_match(terms, *table, param, p)))
                .map(|(i, _)| i.clone())
                .collect(),
            Condition::Missing { table, param, missing } => {
                all().filter(|(_, (terms, _))| has_rows(terms, *table, param) != *missing).map(|(i, _)| i.clone()).collect()
            }
            Condition::Not(inner) => {
                let inner = self.set(t, inner);
                all().map(|(i, _)| i).filter(|i| !inner.contains(*i)).cloned().collect()
            }
            Condition::Ids(ids) => all().map(|(i, _)| i).filter(|i| ids.contains(i)).cloned().collect(),
            Condition::LastUpdated(preds) => all()
                .filter(|(_, (_, lu))| preds.iter().any(|p| date_holds(p, DateRange { low: *lu, high: *lu })))
                .map(|(i, _)| i.clone())
                .collect(),
            Condition::Chain { param, targets } => {
                let target_sets: Vec<(&String, Ids)> = targets.iter().map(|(tt, inner)| (tt, self.set(tt, inner))).collect();
                all()
                    .filter(|(_, (terms, _))| {
                        terms.references.iter().filter(|r| r.param == *param).any(|r| {
                            target_sets.iter().any(|(tt, set)| {
                                r.target_type.as_deref() == Some(tt.as_str()) && r.target_id.as_ref().is_some_and(|id| set.contains(id))
                            })
                        })
                    })
                    .map(|(i, _)| i.clone())
                    .collect()
            }
            Condition::Has { source_type, param, inner } => {
                let sources = self.set(source_type, inner);
                let mut out = Ids::new();
                for s in &sources {
                    if let Some(terms) = self.terms(source_type, s) {
                        for r in terms.references.iter().filter(|r| r.param == *param && r.target_type.as_deref() == Some(t)) {
                            if let Some(id) = &r.target_id {
                                out.insert(id.clone());
                            }
                        }
                    }
                }
                out
            }
            Condition::AnyOf(cs) => cs.iter().flat_map(|c| self.set(t, c)).collect(),
            Condition::FullText { narrative, expression } => all()
                .filter(|(_, (terms, _))| {
                    let text = if *narrative { &terms.narrative } else { &terms.content };
                    crate::fulltext::matches(expression, text)
                })
                .map(|(i, _)| i.clone())
                .collect(),
            Condition::Nothing => Ids::new(),
        }
    }
}

fn has_rows(terms: &IndexTerms, table: ParamType, param: &str) -> bool {
    match table {
        ParamType::String => terms.strings.iter().any(|x| x.param == param),
        ParamType::Token => terms.tokens.iter().any(|x| x.param == param),
        ParamType::Date => terms.dates.iter().any(|x| x.param == param),
        ParamType::Number => terms.numbers.iter().any(|x| x.param == param),
        ParamType::Quantity => terms.quantities.iter().any(|x| x.param == param),
        ParamType::Reference => terms.references.iter().any(|x| x.param == param),
        ParamType::Uri => terms.uris.iter().any(|x| x.param == param),
        ParamType::Composite => terms.composites.iter().any(|x| x.param == param && x.first.code.is_some()),
        ParamType::Special => false,
    }
}

fn rows_match(terms: &IndexTerms, table: ParamType, param: &str, p: &Predicate) -> bool {
    match table {
        ParamType::String => terms.strings.iter().filter(|x| x.param == param).any(|x| string_holds(p, &x.norm, Some(&x.exact))),
        ParamType::Token => terms.tokens.iter().filter(|x| x.param == param).any(|x| token_holds(p, x)),
        ParamType::Date => terms.dates.iter().filter(|x| x.param == param).any(|x| matches!(p, Predicate::Date(d) if date_holds(d, x.range))),
        ParamType::Number => terms.numbers.iter().filter(|x| x.param == param).any(|x| matches!(p, Predicate::Number(n) if number_holds(n, x.value))),
        ParamType::Quantity => terms.quantities.iter().filter(|x| x.param == param).any(|x| matches!(p, Predicate::Quantity(q) if quantity_holds(q, x))),
        ParamType::Reference => terms.references.iter().filter(|x| x.param == param).any(|x| reference_holds(p, x)),
        ParamType::Uri => terms.uris.iter().filter(|x| x.param == param).any(|x| uri_holds(p, &x.value)),
        ParamType::Composite => terms.composites.iter().filter(|x| x.param == param && x.first.code.is_some()).any(|x| composite_holds(p, x)),
        ParamType::Special => false,
    }
}

fn string_holds(p: &Predicate, norm: &str, exact: Option<&str>) -> bool {
    match p {
        Predicate::String { mode: StringMode::Prefix, value } => norm.starts_with(value.as_str()),
        Predicate::String { mode: StringMode::Contains, value } => norm.contains(value.as_str()),
        Predicate::String { mode: StringMode::Exact, value } => match exact {
            Some(e) => e == value,
            None => norm == crate::text::fold(value),
        },
        _ => false,
    }
}

fn system_code_holds(system: &SystemMatch, code: Option<&str>, row_system: Option<&str>, row_code: Option<&str>) -> bool {
    let code_ok = match code {
        Some(c) => row_code == Some(c),
        None => row_code.is_some(),
    };
    let system_ok = match system {
        SystemMatch::Any => true,
        SystemMatch::Absent => row_system.is_none(),
        SystemMatch::Is(s) => row_system == Some(s.as_str()),
    };
    code_ok && system_ok
}

fn token_holds(p: &Predicate, t: &TokenTerm) -> bool {
    match p {
        Predicate::Token { system, code } => system_code_holds(system, code.as_deref(), t.system.as_deref(), t.code.as_deref()),
        Predicate::TokenText(v) => t.text.as_deref().is_some_and(|x| x.starts_with(v.as_str())),
        Predicate::TokenIn(pairs) => {
            pairs.iter().any(|(s, c)| t.system.as_deref() == Some(s.as_str()) && t.code.as_deref() == Some(c.as_str()))
        }
        _ => false,
    }
}

fn date_holds(d: &DatePredicate, r: DateRange) -> bool {
    let (q, a) = (d.range, d.approx);
    let eq = r.low >= q.low && r.high <= q.high;
    match d.prefix {
        Prefix::Eq => eq,
        Prefix::Ne => !eq,
        Prefix::Gt => r.high > q.high,
        Prefix::Lt => r.low < q.low,
        Prefix::Ge => r.high > q.high || eq,
        Prefix::Le => r.low < q.low || eq,
        Prefix::Sa => r.low > q.high,
        Prefix::Eb => r.high < q.low,
        Prefix::Ap => r.low <= a.high && r.high >= a.low,
    }
}

fn number_holds(n: &NumberPredicate, v: f64) -> bool {
    match n.prefix {
        Prefix::Eq => v >= n.low && v < n.high,
        Prefix::Ne => v < n.low || v >= n.high,
        Prefix::Gt | Prefix::Sa => v > n.value,
        Prefix::Lt | Prefix::Eb => v < n.value,
        Prefix::Ge => v >= n.value,
        Prefix::Le => v <= n.value,
        Prefix::Ap => {
            let w = n.value.abs() * 0.1;
            v >= n.value - w && v <= n.value + w
        }
    }
}

fn quantity_holds(q: &QuantityPredicate, t: &QuantityTerm) -> bool {
    let plain = number_holds(&q.number, t.value)
        && q.system.as_ref().is_none_or(|s| t.system.as_ref() == Some(s))
        && q.code.as_ref().is_none_or(|c| t.code.as_ref() == Some(c));
    match (&q.canonical, &t.canonical) {
        (Some((n, unit)), Some((v, u))) => u == unit && number_holds(n, *v),
        (Some(_), None) => plain,
        (None, _) => plain,
    }
}

fn reference_holds(p: &Predicate, r: &ReferenceTerm) -> bool {
    match p {
        Predicate::Reference { types, id } => {
            r.target_id.as_ref() == Some(id)
                && r.target_type.as_ref().is_some_and(|t| types.is_empty() || types.contains(t))
        }
        Predicate::ReferenceUrl { url, version } => {
            r.url.as_ref() == Some(url) && version.as_ref().is_none_or(|v| r.version.as_ref() == Some(v))
        }
        _ => false,
    }
}

fn uri_holds(p: &Predicate, v: &str) -> bool {
    match p {
        Predicate::Uri { mode: UriMode::Exact, value } => v == value,
        Predicate::Uri { mode: UriMode::Below, value } => v.starts_with(value.as_str()),
        Predicate::Uri { mode: UriMode::Above(parents), .. } => parents.iter().any(|x| x == v),
        _ => false,
    }
}

fn composite_holds(p: &Predicate, c: &CompositeTerm) -> bool {
    let Predicate::Composite { first, second, third } = p else { return false };
    let first_ok = match first.as_ref() {
        Predicate::Token { system, code } => {
            system_code_holds(system, code.as_deref(), c.first.system.as_deref(), c.first.code.as_deref())
        }
        _ => false,
    };
    // A query names every component of its parameter, so a third predicate meets a term that
    // has a third value; a term without one cannot match it.
    let third_ok = match (third, &c.third) {
        (None, _) => true,
        (Some(p), Some(v)) => component_holds(p, v),
        (Some(_), None) => false,
    };
    first_ok && component_holds(second, &c.second) && third_ok
}

fn component_holds(p: &Predicate, v: &CompositeValue) -> bool {
    match (p, v) {
        (Predicate::Token { system, code }, CompositeValue::Token(t)) => {
            system_code_holds(system, code.as_deref(), t.system.as_deref(), t.code.as_deref())
        }
        (Predicate::String { .. }, CompositeValue::String(s)) => string_holds(p, &s.norm, None),
        (Predicate::Date(d), CompositeValue::Date(x)) => date_holds(d, x.range),
        (Predicate::Number(n), CompositeValue::Number(x)) => number_holds(n, x.value),
        (Predicate::Quantity(q), CompositeValue::Quantity(x)) => quantity_holds(q, x),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhirpath::FhirPathEngine;
    use crate::{Indexer, Registry, SearchContext};
    use serde_json::{Value, json};
    use std::sync::Arc;

    /// The ids of the MolecularSequences among `resources` that match `name=value`.
    fn search(resources: &[Value], name: &str, value: &str) -> Vec<String> {
        let registry = Arc::new(Registry::r4());
        let indexer = Indexer::new(registry.clone(), &FhirPathEngine);
        let mut corpus = Corpus::default();
        for r in resources {
            let id = r["id"].as_str().unwrap_or_default();
            corpus.insert("MolecularSequence", id, indexer.index(r), 0);
        }
        let ctx = SearchContext {
            registry: &registry,
            resource_type: Some("MolecularSequence"),
            compartment: None,
            lenient: false,
            now_ms: 0,
            code_systems: None,
        };
        let query = crate::parse(&ctx, &[(name.to_string(), value.to_string())]).unwrap_or_else(|e| panic!("{name}={value}: {e}"));
        corpus.search(&query).into_iter().map(|(_, id)| id).collect()
    }

    /// Chromosome 1, window 1000..2000, one variant per (start, end).
    fn sequence(id: &str, variants: &[Value]) -> Value {
        json!({"resourceType": "MolecularSequence", "id": id, "coordinateSystem": 1,
            "referenceSeq": {
                "chromosome": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/chromosome-human", "code": "1"}]},
                "referenceSeqId": {"coding": [{"system": "http://www.ncbi.nlm.nih.gov/nuccore", "code": "NC_000001.11"}]},
                "windowStart": 1000, "windowEnd": 2000},
            "variant": variants})
    }

    #[test]
    fn coordinates_match_on_all_three_components_each_with_its_prefix() {
        let s = [sequence("s1", &[json!({"start": 1200, "end": 1300})])];
        let hits = |n: &str, v: &str| search(&s, n, v);
        assert_eq!(hits("chromosome-variant-coordinate", "1$gt1000$lt1500"), ["s1"]);
        assert_eq!(hits("chromosome-variant-coordinate", "1$1200$1300"), ["s1"], "no prefix is eq");
        assert!(hits("chromosome-variant-coordinate", "1$gt1250$lt1500").is_empty(), "the start is not after 1250");
        assert!(hits("chromosome-variant-coordinate", "1$gt1000$lt1250").is_empty(), "the end is not before 1250");
        assert!(hits("chromosome-variant-coordinate", "2$gt1000$lt1500").is_empty(), "another chromosome");
        assert!(hits("chromosome-variant-coordinate", "1$lt345$gt123").is_empty(), "the specification's example");
        assert_eq!(hits("chromosome-window-coordinate", "1$le1000$ge2000"), ["s1"]);
        assert!(hits("chromosome-window-coordinate", "1$gt1000$ge2000").is_empty());
        assert_eq!(hits("referenceseqid-variant-coordinate", "http://www.ncbi.nlm.nih.gov/nuccore|NC_000001.11$ge1200$le1300"), ["s1"]);
        assert!(hits("referenceseqid-variant-coordinate", "NC_000002.12$ge1200$le1300").is_empty());
        assert_eq!(hits("referenceseqid-window-coordinate", "NC_000001.11$1000$2000"), ["s1"]);
        assert!(hits("referenceseqid-window-coordinate", "NC_000001.11$1000$1999").is_empty());
    }

    #[test]
    fn each_variant_pairs_its_own_start_and_end() {
        let s = [sequence("s1", &[json!({"start": 100, "end": 200}), json!({"start": 1000, "end": 1100})])];
        assert_eq!(search(&s, "chromosome-variant-coordinate", "1$ge1000$le1100"), ["s1"]);
        assert_eq!(search(&s, "chromosome-variant-coordinate", "1$le100$le200"), ["s1"]);
        assert!(search(&s, "chromosome-variant-coordinate", "1$ge1000$le200").is_empty(), "a start of one variant, an end of the other");
    }

    #[test]
    fn a_variant_without_an_end_has_no_coordinate() {
        let s = [sequence("s1", &[json!({"start": 1200})])];
        let terms = Indexer::new(Arc::new(Registry::r4()), &FhirPathEngine).index(&s[0]);
        assert!(!terms.composites.iter().any(|c| c.param == "chromosome-variant-coordinate"), "{:?}", terms.composites);
        assert!(search(&s, "chromosome-variant-coordinate", "1$ge1200$ge0").is_empty());
        assert_eq!(search(&s, "chromosome-window-coordinate", "1$1000$2000"), ["s1"], "the window is whole");
    }

    #[test]
    fn a_term_without_a_third_value_never_meets_a_third_predicate() {
        let registry = Registry::r4();
        let ctx = SearchContext { registry: &registry, resource_type: Some("MolecularSequence"), compartment: None, lenient: false, now_ms: 0, code_systems: None };
        let q = crate::parse(&ctx, &[("chromosome-variant-coordinate".into(), "1$gt0$gt0".into())]).expect("parse");
        let Some(Condition::Match { any_of, .. }) = q.conditions[0].for_type("MolecularSequence") else { panic!("{q:?}") };
        let token = TokenTerm { param: "chromosome-variant-coordinate".into(), system: None, code: Some("1".into()), text: None };
        let number = |v| CompositeValue::Number(NumberTerm { param: "chromosome-variant-coordinate".into(), value: v });
        let mut term = CompositeTerm { param: "chromosome-variant-coordinate".into(), first: token, second: number(5.0), third: None };
        assert!(!composite_holds(&any_of[0], &term));
        term.third = Some(number(5.0));
        assert!(composite_holds(&any_of[0], &term));
    }
}
