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
    let Predicate::Composite { first, second } = p else { return false };
    let first_ok = match first.as_ref() {
        Predicate::Token { system, code } => {
            system_code_holds(system, code.as_deref(), c.first.system.as_deref(), c.first.code.as_deref())
        }
        _ => false,
    };
    first_ok
        && match (second.as_ref(), &c.second) {
            (Predicate::Token { system, code }, CompositeValue::Token(t)) => {
                system_code_holds(system, code.as_deref(), t.system.as_deref(), t.code.as_deref())
            }
            (Predicate::String { .. }, CompositeValue::String(s)) => string_holds(second, &s.norm, None),
            (Predicate::Date(d), CompositeValue::Date(x)) => date_holds(d, x.range),
            (Predicate::Number(n), CompositeValue::Number(x)) => number_holds(n, x.value),
            (Predicate::Quantity(q), CompositeValue::Quantity(x)) => quantity_holds(q, x),
            _ => false,
        }
}
