//! FHIRPath invariants of the base specification (`obs-6`, `per-1`, `que-12`, `bdl-*`, ...),
//! evaluated with `salus-fhirpath` on every node they apply to. Each expression is compiled on
//! first use and cached for the life of the process.
//!
//! An invariant the engine cannot compile or evaluate never refuses a resource: the failure is
//! counted in a process-wide registry ([`engine_failures`]) for the tests and operators to see.
//! Invariants the validator implements natively (because they need the whole resource, or are
//! hot, or the engine cannot express them) are not evaluated a second time: see [`NATIVE`].

use crate::outcome::{IssueType, Severity};
use crate::walk::{Role, Walker};
use salus_fhir::definitions::Constraint;
use salus_fhirpath::{Context, ElementType, Expression, FhirModel, Node, Value as FpValue};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// Implemented in Rust by this crate: ele-1 (walk), ext-1 (extensions), ref-1 and dom-3
/// (references), dom-2/4/5 (rules), txt-1/txt-2 (xhtml).
const NATIVE: &[&str] = &["ele-1", "ext-1", "ref-1", "dom-2", "dom-3", "dom-4", "dom-5", "txt-1", "txt-2"];

/// Invariants whose published R4 expression contradicts their own human text, with the
/// expression corrected as in later FHIR versions (the reference validator patches these too).
const ERRATA: &[(&str, &str)] = &[
    // "If there are more than one enableWhen, enableBehavior must be specified": R4 says `> 2`.
    ("que-12", "enableWhen.count() > 1 implies enableBehavior.exists()"),
];

#[derive(Debug)]
pub struct Invariant {
    pub key: &'static str,
    pub severity: Severity,
    pub human: &'static str,
    pub source: &'static str,
    compiled: OnceLock<Option<Expression>>,
}

impl Invariant {
    pub fn from_constraints(constraints: &'static [Constraint]) -> Vec<Invariant> {
        constraints
            .iter()
            .filter(|c| !NATIVE.contains(&c.key.as_str()))
            .map(|c| Invariant {
                key: c.key.as_str(),
                severity: if c.severity == "error" { Severity::Error } else { Severity::Warning },
                human: c.human.as_str(),
                source: ERRATA.iter().find(|(k, _)| *k == c.key).map_or(c.expression.as_str(), |(_, e)| e),
                compiled: OnceLock::new(),
            })
            .collect()
    }

    fn expression(&self) -> Option<&Expression> {
        self.compiled
            .get_or_init(|| match Expression::parse(self.source) {
                Ok(e) => Some(e),
                Err(e) => {
                    record_failure(self, &format!("parse: {e}"));
                    None
                }
            })
            .as_ref()
    }
}

/// Expressions the engine could not compile or evaluate: key -> (expression, first error, count).
type Registry = Mutex<BTreeMap<&'static str, (&'static str, String, u64)>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(BTreeMap::new()))
}

fn record_failure(inv: &Invariant, error: &str) {
    if let Ok(mut map) = registry().lock() {
        let entry = map.entry(inv.key).or_insert_with(|| (inv.source, error.to_string(), 0));
        entry.2 += 1;
    }
}

/// The invariants the engine failed on so far in this process, with the first error and how
/// many times: `(key, expression, error, count)`.
pub fn engine_failures() -> Vec<(String, String, String, u64)> {
    match registry().lock() {
        Ok(map) => map.iter().map(|(k, (src, err, n))| (k.to_string(), src.to_string(), err.clone(), *n)).collect(),
        Err(_) => Vec::new(),
    }
}

/// Evaluates `invariants` on `node` (of FHIR type `code`, children under `key`).
pub fn check<'v>(w: &mut Walker<'_, 'v>, node: &'v Value, invariants: &'static [Invariant], code: &'static str, key: &'static str) {
    if !w.opts.invariants {
        return;
    }
    let model = FhirModel::r4();
    let Some(&(resource, _)) = w.resources.last() else { return };
    let root = w.resources.iter().rev().find(|(_, role)| *role != Role::Contained).map_or(resource, |(r, _)| *r);
    let as_node = |json: &'v Value, ty: Option<ElementType>| FpValue::Node(Node::new(Some(json), None, ty, Some(model)));
    let ty = if std::ptr::eq(node, resource) { None } else { Some(ElementType { code, key }) };
    // Building a context costs no allocation (an empty variable map), so one per node.
    let ctx = Context::r4().lenient(true).with_resource(as_node(resource, None)).with_root_resource(as_node(root, None));
    for inv in invariants {
        let Some(expr) = inv.expression() else { continue };
        match expr.evaluate_on(vec![as_node(node, ty)], &ctx) {
            Ok(out) => match out.as_slice() {
                [] => {}
                [v] => match v.system().as_ref() {
                    FpValue::Boolean(true) => {}
                    FpValue::Boolean(false) => {
                        let message = format!("{}: {} (constraint failed)", inv.key, inv.human);
                        w.issue(inv.severity, IssueType::Invariant, message);
                    }
                    other => record_failure(inv, &format!("non-boolean result {}", other.qualified_type())),
                },
                _ => record_failure(inv, &format!("{} results, one boolean expected", out.len())),
            },
            Err(e) => record_failure(inv, &e.to_string()),
        }
    }
}
