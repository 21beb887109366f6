//! The indexer: every search parameter's expression compiled once, grouped by resource type,
//! and evaluated on each write into [`IndexTerms`]. An expression the FHIRPath engine cannot
//! compile is recorded (see [`Indexer::failures`]) and indexes nothing, rather than failing
//! writes; an evaluation error on one resource skips that parameter for that resource.

use crate::extract;
use crate::path::{CompiledPath, Item, PathEngine};
use crate::registry::{ParamType, Registry, SearchParam};
use crate::terms::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Parameters answered from the resources table itself, not from index rows.
const COLUMN_PARAMS: &[&str] = &["_id", "_lastUpdated"];

/// A composite's component expressions, each with its parameter type.
type Components = Vec<(ParamType, Arc<dyn CompiledPath>)>;

struct Compiled {
    param: Arc<SearchParam>,
    path: Arc<dyn CompiledPath>,
    /// For composites: each component's expression.
    components: Components,
    /// For a token over a bound `code` element: the code system its values belong to.
    implicit_system: Option<String>,
}

pub struct Indexer {
    registry: Arc<Registry>,
    by_type: HashMap<String, Vec<Compiled>>,
    failures: Vec<(String, String)>,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer").field("types", &self.by_type.len()).field("failures", &self.failures.len()).finish()
    }
}

impl Indexer {
    pub fn new(registry: Arc<Registry>, engine: &dyn PathEngine) -> Indexer {
        let mut failures = Vec::new();
        let mut cache: HashMap<String, Option<Arc<dyn CompiledPath>>> = HashMap::new();
        let mut compile = |expr: &str, failures: &mut Vec<(String, String)>, url: &str| {
            cache
                .entry(expr.to_string())
                .or_insert_with(|| match engine.compile(expr) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        failures.push((url.to_string(), e));
                        None
                    }
                })
                .clone()
        };
        // Components are compiled once per parameter; the main expression once per distinct
        // per-type reduction (see `SearchParam::expression_for`).
        let mut components_of: HashMap<String, Components> = HashMap::new();
        let mut by_type: HashMap<String, Vec<Compiled>> = HashMap::new();
        for t in salus_fhir::r4().resource_types() {
            let mut list = Vec::new();
            for p in registry.for_type(t) {
                if COLUMN_PARAMS.contains(&p.code.as_str()) || p.param_type == ParamType::Special {
                    continue;
                }
                let Some(expr) = p.expression_for(t) else { continue };
                let Some(path) = compile(&expr, &mut failures, &p.url) else { continue };
                let components = components_of
                    .entry(p.url.clone())
                    .or_insert_with(|| {
                        p.components.iter().filter_map(|c| Some((c.param_type, compile(&c.index_expression(), &mut failures, &p.url)?))).collect()
                    })
                    .clone();
                let implicit_system =
                    if p.param_type == ParamType::Token { implicit_system(&expr) } else { None };
                list.push(Compiled { param: p.clone(), path, components, implicit_system });
            }
            by_type.insert(t.to_string(), list);
        }
        failures.sort();
        failures.dedup();
        Indexer { registry, by_type, failures }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Expressions that did not compile: (parameter url, error).
    pub fn failures(&self) -> &[(String, String)] {
        &self.failures
    }

    /// The index terms of a resource (of any type; an unknown type has none).
    pub fn index(&self, resource: &Value) -> IndexTerms {
        let mut terms = IndexTerms::default();
        let Some(t) = salus_fhir::resource::resource_type(resource) else { return terms };
        let Some(list) = self.by_type.get(t) else { return terms };
        let root = Item::resource(resource);
        for c in list {
            let Ok(items) = c.path.evaluate_on(resource, &root) else { continue };
            let code = c.param.code.as_str();
            for item in &items {
                match c.param.param_type {
                    ParamType::String => extract::strings(code, item, &mut terms.strings),
                    ParamType::Token => extract::tokens_in(code, item, c.implicit_system.as_deref(), &mut terms.tokens),
                    ParamType::Date => extract::dates(code, item, &mut terms.dates),
                    ParamType::Number => extract::numbers(code, item, &mut terms.numbers),
                    ParamType::Quantity => extract::quantities(code, item, &mut terms.quantities),
                    ParamType::Uri => extract::uris(code, item, &mut terms.uris),
                    ParamType::Reference => extract::references(code, item, &mut terms.references, &mut terms.tokens),
                    ParamType::Composite => composite(c, resource, item, &mut terms.composites),
                    ParamType::Special => {}
                }
            }
        }
        terms.dedup();
        crate::fulltext::extract(resource, &mut terms.narrative, &mut terms.content);
        terms
    }
}

/// The code system of a simple path (`Patient.gender`) to a `code` element with a required
/// binding whose value set draws on exactly one system.
fn implicit_system(expression: &str) -> Option<String> {
    let simple = expression.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !simple {
        return None;
    }
    let defs = salus_fhir::r4();
    let element = defs.element(expression)?;
    if element.types.len() != 1 || element.types[0].code != "code" {
        return None;
    }
    let binding = element.binding.as_ref().filter(|b| b.strength == salus_fhir::definitions::BindingStrength::Required)?;
    let value_set = defs.value_set(&binding.value_set)?;
    let mut systems = value_set.codes().map(|(s, _)| s);
    let first = systems.next()?;
    systems.all(|s| s == first).then(|| first.to_string())
}

/// A composite value: the first component's tokens paired with each of the second's values
/// (and, for a three-component composite, each of the third's), all evaluated on the same
/// element (so `component.code` pairs with *its* `value`, a variant's `start` with its `end`).
/// A third component must be a number: the index table has one column for it (`num3`), enough
/// for the only three-component composites R4 defines (the MolecularSequence coordinates).
fn composite<'a>(c: &Compiled, resource: &'a Value, item: &crate::path::Item<'a>, out: &mut Vec<CompositeTerm>) {
    let (first, (second_type, second), third) = match c.components.as_slice() {
        [(ParamType::Token, first), second] => (first, second, None),
        [(ParamType::Token, first), second, (ParamType::Number, third)] => (first, second, Some(third)),
        _ => return,
    };
    let code = c.param.code.as_str();
    let mut firsts = Vec::new();
    for i in first.evaluate_on(resource, item).unwrap_or_default() {
        extract::tokens(code, &i, &mut firsts);
    }
    firsts.retain(|t| t.code.is_some());
    if firsts.is_empty() {
        return;
    }
    let seconds = component_values(code, *second_type, second.as_ref(), resource, item);
    // A composite with a third component matches only on all three, so an element without a
    // third value yields no term at all (rather than one no query could match).
    let thirds: Vec<Option<CompositeValue>> = match third {
        None => vec![None],
        Some(path) => component_values(code, ParamType::Number, path.as_ref(), resource, item).into_iter().map(Some).collect(),
    };
    for f in &firsts {
        for s in &seconds {
            for t in &thirds {
                out.push(CompositeTerm { param: code.to_string(), first: f.clone(), second: s.clone(), third: t.clone() });
            }
        }
    }
}

/// The values of one non-first component, evaluated on the composite's element.
fn component_values<'a>(
    code: &str,
    ty: ParamType,
    path: &dyn CompiledPath,
    resource: &'a Value,
    item: &crate::path::Item<'a>,
) -> Vec<CompositeValue> {
    let mut values = Vec::new();
    for i in path.evaluate_on(resource, item).unwrap_or_default() {
        let mut t = IndexTerms::default();
        match ty {
            ParamType::Token => extract::tokens(code, &i, &mut t.tokens),
            ParamType::Quantity => extract::quantities(code, &i, &mut t.quantities),
            ParamType::Date => extract::dates(code, &i, &mut t.dates),
            ParamType::String => extract::strings(code, &i, &mut t.strings),
            ParamType::Number => extract::numbers(code, &i, &mut t.numbers),
            _ => {}
        }
        values.extend(t.tokens.into_iter().map(CompositeValue::Token));
        values.extend(t.quantities.into_iter().map(CompositeValue::Quantity));
        values.extend(t.dates.into_iter().map(CompositeValue::Date));
        values.extend(t.strings.into_iter().map(CompositeValue::String));
        values.extend(t.numbers.into_iter().map(CompositeValue::Number));
    }
    values
}
