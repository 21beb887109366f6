//! The indexer's fast path: search-parameter expressions of the simple shapes most R4
//! parameters have (`Observation.code`, `Observation.value.ofType(Quantity)`, unions of
//! paths, `telecom.where(system='phone')`, the reference-type tests the registry rewrites
//! `resolve() is Patient` into) compiled to a direct walk over the JSON, typed by the R4
//! model of `salus_fhirpath` so that choice elements and `ofType` resolve as the engine
//! resolves them. It yields the same items, in the same order, with the same nodes, as the
//! general engine; where the data holds something whose treatment is subtle (numbers or dates
//! compared, unknown elements, primitives with only extensions navigated into, several items
//! where one is expected), it defers and the general engine answers for that resource.
//! Expressions of any other shape are not compiled here at all.

mod parse;
mod walk;

use crate::path::Item;
use salus_fhirpath::{ChildDef, FhirModel, Kind, Model, Node};
use serde_json::Value;
use std::borrow::Cow;

/// A compiled expression, in the tree shape the engine's parser gives it.
#[derive(Debug, Clone)]
enum Expr {
    /// `a | b`: both, without duplicates (by FHIRPath equality), in order.
    Union(Box<Expr>, Box<Expr>),
    Path { head: Head, steps: Vec<Step> },
}

#[derive(Debug, Clone)]
enum Head {
    /// A name at the start: a type name selects the focus if it is of that type
    /// (`Observation`, `Resource`), another name is an element of the focus (`code`).
    Name(String),
    /// `( ... )`
    Group(Box<Expr>),
}

#[derive(Debug, Clone)]
enum Step {
    Child(Child),
    OfType(TypeTest),
    /// `where(child = 'literal')`
    WhereEquals { child: Child, literal: String },
    /// `where(a.startsWith('x') or a.contains('y') ...)`
    WhereAny(Vec<StringTest>),
}

#[derive(Debug, Clone, Copy)]
enum TypeTest {
    /// A FHIR type of the model (its `'static` name).
    Fhir(&'static str),
    /// A System type name that is no FHIR type: no element passes.
    SystemOnly,
}

/// An element name, with its definition in the type the walk expects to find it in
/// (resolved once; a node of another type looks it up).
#[derive(Debug, Clone)]
struct Child {
    name: String,
    expected: Option<(&'static str, &'static ChildDef)>,
}

impl Child {
    fn new(name: &str) -> Child {
        Child { name: name.to_string(), expected: None }
    }
}

#[derive(Debug, Clone)]
struct StringTest {
    child: Child,
    op: StringOp,
    needle: String,
}

#[derive(Debug, Clone, Copy)]
enum StringOp {
    StartsWith,
    Contains,
}

/// An expression compiled for the direct walk.
#[derive(Debug, Clone)]
pub struct FastPath {
    expr: Expr,
}

fn model() -> &'static FhirModel {
    FhirModel::r4()
}

impl FastPath {
    /// `None` when the expression is not of a shape the fast path takes.
    pub fn compile(expression: &str) -> Option<FastPath> {
        let mut expr = parse::parse(expression)?;
        resolve(&mut expr);
        Some(FastPath { expr })
    }

    /// The items with the resource as the focus, as `salus_fhirpath` evaluates them; `None`
    /// when this resource needs the general engine.
    pub fn evaluate<'a>(&self, resource: &'a Value) -> Option<Vec<Item<'a>>> {
        self.evaluate_on(resource, &Item::resource(resource))
    }

    /// The items with `focus` (an item of an evaluation on `resource`) as the focus; `None`
    /// when this needs the general engine.
    pub fn evaluate_on<'a>(&self, _resource: &'a Value, focus: &Item<'a>) -> Option<Vec<Item<'a>>> {
        // (`resource` would be `%resource`, which no expression compiled here refers to)
        let node = match (&focus.node, &focus.json) {
            (Some(n), _) => *n,
            (None, Cow::Borrowed(j)) => Node::new(Some(j), None, None, Some(model() as &dyn Model)),
            // the engine has nothing borrowed to start from either
            (None, Cow::Owned(_)) => return Some(Vec::new()),
        };
        walk::eval(&self.expr, &[node]).ok().map(items)
    }
}

/// Fills in each name's definition for the type its parent has whatever the data: from a
/// resource type at the head, through single-typed elements and `ofType`. Where the type
/// depends on the data (choice elements, contained resources, a component's focus), nothing
/// is expected and the walk looks names up as it goes.
fn resolve(e: &mut Expr) {
    let m = model();
    let (head, steps) = match e {
        Expr::Union(l, r) => {
            resolve(l);
            resolve(r);
            return;
        }
        Expr::Path { head, steps } => (head, steps),
    };
    let mut key: Option<&'static str> = match head {
        Head::Name(n) => m.type_info(n).filter(|t| t.kind == Kind::Resource).map(|t| t.name),
        Head::Group(inner) => {
            resolve(inner);
            None
        }
    };
    let expect = |c: &mut Child, key: Option<&'static str>| {
        c.expected = key.and_then(|k| Some((k, m.child(k, &c.name)?)));
    };
    for step in steps.iter_mut() {
        key = match step {
            Step::Child(c) => {
                expect(c, key);
                match c.expected {
                    Some((_, def)) if !def.choice => {
                        // a `Resource` takes its type from the JSON
                        def.types.first().filter(|t| !matches!(t.code, "Resource" | "DomainResource")).map(|t| t.key)
                    }
                    _ => None,
                }
            }
            Step::OfType(TypeTest::Fhir(t)) => Some(*t),
            Step::OfType(TypeTest::SystemOnly) => None,
            Step::WhereEquals { child, .. } => {
                expect(child, key);
                key
            }
            Step::WhereAny(tests) => {
                tests.iter_mut().for_each(|t| expect(&mut t.child, key));
                key
            }
        };
    }
}

/// Nodes as the engine's items: a primitive with only extensions (no value) is dropped.
fn items(nodes: Vec<Node<'_>>) -> Vec<Item<'_>> {
    nodes
        .into_iter()
        .filter_map(|n| {
            let json = n.json?;
            Some(Item { json: Cow::Borrowed(json), type_code: n.ty.map(|t| Cow::Borrowed(t.code)), node: Some(n) })
        })
        .collect()
}
