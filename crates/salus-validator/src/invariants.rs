//! FHIRPath invariants of the base specification (`obs-6`, `per-1`, `que-12`, `bdl-*`, ...),
//! evaluated with `salus-fhirpath` on every node they apply to. Each expression is compiled on
//! first use and cached for the life of the process.
//!
//! An invariant the engine cannot compile or evaluate never refuses a resource: the failure is
//! counted in a process-wide registry ([`engine_failures`]) for the tests and operators to see.
//! Invariants the validator implements natively (because they need the whole resource, or are
//! hot, or the engine cannot express them) are not evaluated a second time: see [`NATIVE`].
//! Nor is an invariant whose value the node's keys already decide (the `presence` module), or
//! per-1 on two full date-times (the `period` module): on a bulk import, that is nearly all.
//! The tests check each such decision against the engine.

use crate::outcome::{IssueType, Severity};
use crate::period;
use crate::presence::Shape;
use crate::schema::Struct;
use crate::walk::{Role, Walker};
use salus_fhir::definitions::Constraint;
use salus_fhirpath::{Context, ElementType, Expression, FhirModel, Node, Value as FpValue};
use serde_json::{Map, Value};
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
    pub source: &'static str,
    /// The issue's message, written once: dom-6 fails on most resources of a bulk import.
    message: String,
    compiled: OnceLock<Option<Expression>>,
    shortcut: Shortcut,
}

/// How an invariant may be decided without the engine.
#[derive(Debug)]
enum Shortcut {
    Presence(Shape),
    /// per-1: two full date-times are compared natively, a missing end decided by presence.
    PeriodOrder(Shape),
    None,
}

impl Shortcut {
    fn of(source: &'static str) -> Shortcut {
        match Shape::of(source) {
            Some(shape) if source == period::PER_1 => Shortcut::PeriodOrder(shape),
            Some(shape) => Shortcut::Presence(shape),
            None => Shortcut::None,
        }
    }

    fn decide(&self, node: &Map<String, Value>, st: &Struct) -> Option<bool> {
        match self {
            Shortcut::PeriodOrder(shape) => period::start_not_after_end(node).or_else(|| shape.decide(node, st)),
            Shortcut::Presence(shape) => shape.decide(node, st),
            Shortcut::None => None,
        }
    }
}

impl Invariant {
    pub fn from_constraints(constraints: &'static [Constraint]) -> Vec<Invariant> {
        constraints
            .iter()
            .filter(|c| !NATIVE.contains(&c.key.as_str()))
            .map(|c| {
                let source = ERRATA.iter().find(|(k, _)| *k == c.key).map_or(c.expression.as_str(), |(_, e)| e);
                Invariant {
                    key: c.key.as_str(),
                    severity: if c.severity == "error" { Severity::Error } else { Severity::Warning },
                    source,
                    message: format!("{}: {} (constraint failed)", c.key, c.human),
                    compiled: OnceLock::new(),
                    shortcut: Shortcut::of(source),
                }
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

/// Evaluates `invariants` on `node` (of FHIR type `code`, children under `key`; an instance of
/// `st` when it is an object of a struct the schema knows).
pub fn check<'v>(
    w: &mut Walker<'_, 'v>,
    node: &'v Value,
    invariants: &'static [Invariant],
    code: &'static str,
    key: &'static str,
    st: Option<&Struct>,
) {
    if !w.opts.invariants {
        return;
    }
    let Some(&(resource, _)) = w.resources.last() else { return };
    let known = node.as_object().zip(st);
    let mut engine = None;
    for inv in invariants {
        let Some(expr) = inv.expression() else { continue };
        let decided = known.and_then(|(obj, st)| inv.shortcut.decide(obj, st));
        #[cfg(test)]
        cross_check::compare(inv, decided, || {
            let (ctx, input) = engine_input(w, node, resource, code, key);
            evaluate(inv, expr, &input, &ctx)
        });
        let holds = match decided {
            Some(holds) => holds,
            None => {
                // The engine's context is built only for a node that needs it.
                let (ctx, input) = engine.get_or_insert_with(|| engine_input(w, node, resource, code, key));
                match evaluate(inv, expr, input, ctx) {
                    Some(holds) => holds,
                    None => continue,
                }
            }
        };
        if !holds {
            w.issue(inv.severity, IssueType::Invariant, inv.message.as_str());
        }
    }
}

/// The context (`%resource`, `%rootResource`) and the typed node the engine evaluates on.
fn engine_input<'v>(
    w: &Walker<'_, 'v>,
    node: &'v Value,
    resource: &'v Value,
    code: &'static str,
    key: &'static str,
) -> (Context<'v>, FpValue<'v>) {
    let model = FhirModel::r4();
    let root = w.resources.iter().rev().find(|(_, role)| *role != Role::Contained).map_or(resource, |(r, _)| *r);
    let as_node = |json: &'v Value, ty: Option<ElementType>| FpValue::Node(Node::new(Some(json), None, ty, Some(model)));
    let ty = if std::ptr::eq(node, resource) { None } else { Some(ElementType { code, key }) };
    let ctx = Context::r4().lenient(true).with_resource(as_node(resource, None)).with_root_resource(as_node(root, None));
    (ctx, as_node(node, ty))
}

/// The engine's verdict: `None` when it has none (an empty result, which the specification
/// reads as not failed, or an evaluation error, which is recorded and refuses nothing).
fn evaluate<'v>(inv: &Invariant, expr: &Expression, input: &FpValue<'v>, ctx: &Context<'v>) -> Option<bool> {
    match expr.evaluate_on(vec![input.clone()], ctx) {
        Ok(out) => match out.as_slice() {
            [] => None,
            [v] => match v.system().as_ref() {
                FpValue::Boolean(b) => Some(*b),
                other => {
                    record_failure(inv, &format!("non-boolean result {}", other.qualified_type()));
                    None
                }
            },
            _ => {
                record_failure(inv, &format!("{} results, one boolean expected", out.len()));
                None
            }
        },
        Err(e) => {
            record_failure(inv, &e.to_string());
            None
        }
    }
}

/// For the tests: every decision taken without the engine, compared with the engine's answer
/// on the same node, when switched on for the current thread.
#[cfg(test)]
pub mod cross_check {
    use super::Invariant;
    use std::cell::RefCell;

    #[derive(Default)]
    pub struct Tally {
        pub decided: usize,
        pub disagreements: Vec<String>,
    }

    thread_local! {
        static TALLY: RefCell<Option<Tally>> = const { RefCell::new(None) };
    }

    pub fn start() {
        TALLY.with(|t| *t.borrow_mut() = Some(Tally::default()));
    }

    pub fn finish() -> Tally {
        TALLY.with(|t| t.borrow_mut().take()).unwrap_or_default()
    }

    pub(super) fn compare(inv: &Invariant, decided: Option<bool>, engine: impl FnOnce() -> Option<bool>) {
        let Some(decided) = decided else { return };
        if !TALLY.with(|t| t.borrow().is_some()) {
            return;
        }
        let answer = engine();
        TALLY.with(|t| {
            if let Some(tally) = t.borrow_mut().as_mut() {
                tally.decided += 1;
                if answer != Some(decided) {
                    tally.disagreements.push(format!("{} ({}): decided {decided}, engine {answer:?}", inv.key, inv.source));
                }
            }
        });
    }
}
