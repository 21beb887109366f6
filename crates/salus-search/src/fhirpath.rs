//! [`PathEngine`] over `salus-fhirpath`, with the R4 model so that choice elements and
//! `ofType` resolve and every item comes back with its FHIR type. [`FhirPathEngine`] takes
//! the [`fastpath`](crate::fastpath) for the expressions it compiles and the general
//! evaluator for the rest (and for the resources the fast path defers on);
//! [`GeneralEngine`] evaluates everything through the general evaluator, the reference the
//! fast path is tested against.

use crate::fastpath::FastPath;
use crate::path::{CompiledPath, Item, PathEngine};
use salus_fhirpath::{Context, Expression, Node, Value as PathValue};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, Default)]
pub struct FhirPathEngine;

/// Every expression through `salus_fhirpath`'s evaluator, without the fast path.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeneralEngine;

struct Compiled(Expression);

/// A fast-path expression with the general one it defers to.
struct Fast {
    fast: FastPath,
    general: Compiled,
}

impl PathEngine for FhirPathEngine {
    fn compile(&self, expression: &str) -> Result<Arc<dyn CompiledPath>, String> {
        // parsed by the engine first, so that an expression it refuses is refused whatever
        // the fast path would make of it
        let general = Compiled(Expression::parse(expression).map_err(|e| e.to_string())?);
        Ok(match FastPath::compile(expression) {
            Some(fast) => Arc::new(Fast { fast, general }),
            None => Arc::new(general),
        })
    }
}

impl PathEngine for GeneralEngine {
    fn compile(&self, expression: &str) -> Result<Arc<dyn CompiledPath>, String> {
        Expression::parse(expression).map(|e| Arc::new(Compiled(e)) as Arc<dyn CompiledPath>).map_err(|e| e.to_string())
    }
}

impl CompiledPath for Fast {
    fn evaluate<'a>(&self, resource: &'a Value) -> Result<Vec<Item<'a>>, String> {
        match self.fast.evaluate(resource) {
            Some(items) => Ok(items),
            None => self.general.evaluate(resource),
        }
    }

    fn evaluate_on<'a>(&self, resource: &'a Value, focus: &Item<'a>) -> Result<Vec<Item<'a>>, String> {
        match self.fast.evaluate_on(resource, focus) {
            Some(items) => Ok(items),
            None => self.general.evaluate_on(resource, focus),
        }
    }
}

fn items<'a>(out: Vec<PathValue<'a>>) -> Vec<Item<'a>> {
    out.into_iter()
        .filter_map(|v| match v {
            PathValue::Node(n) => {
                let json = n.json?;
                Some(Item { json: Cow::Borrowed(json), type_code: n.ty.map(|t| Cow::Borrowed(t.code)), node: Some(n) })
            }
            PathValue::Type { .. } => None,
            other => {
                let type_code = match other {
                    PathValue::Boolean(_) => "boolean",
                    PathValue::Integer(_) => "integer",
                    PathValue::Decimal(_) => "decimal",
                    PathValue::Date(_) => "date",
                    PathValue::DateTime(_) => "dateTime",
                    PathValue::Quantity(_) => "Quantity",
                    _ => "string",
                };
                Some(Item { json: Cow::Owned(other.to_json()), type_code: Some(Cow::Borrowed(type_code)), node: None })
            }
        })
        .collect()
}

impl CompiledPath for Compiled {
    fn evaluate<'a>(&self, resource: &'a Value) -> Result<Vec<Item<'a>>, String> {
        let ctx = Context::r4();
        self.0.evaluate(resource, &ctx).map(items).map_err(|e| e.to_string())
    }

    fn evaluate_on<'a>(&self, resource: &'a Value, focus: &Item<'a>) -> Result<Vec<Item<'a>>, String> {
        let ctx = Context::r4();
        let root = PathValue::Node(Node::new(Some(resource), None, None, ctx.model()));
        let ctx = ctx.with_resource(root);
        let input = match (&focus.node, &focus.json) {
            (Some(n), _) => vec![PathValue::Node(*n)],
            (None, Cow::Borrowed(j)) => vec![PathValue::Node(Node::new(Some(j), None, None, ctx.model()))],
            (None, Cow::Owned(_)) => return Ok(Vec::new()),
        };
        self.0.evaluate_on(input, &ctx).map(items).map_err(|e| e.to_string())
    }
}
