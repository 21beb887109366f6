//! [`PathEngine`] over `salus-fhirpath`, with the R4 model so that choice elements and
//! `ofType` resolve and every item comes back with its FHIR type.

use crate::path::{CompiledPath, Item, PathEngine};
use salus_fhirpath::{Context, Expression, Node, Value as PathValue};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, Default)]
pub struct FhirPathEngine;

struct Compiled(Expression);

impl PathEngine for FhirPathEngine {
    fn compile(&self, expression: &str) -> Result<Arc<dyn CompiledPath>, String> {
        Expression::parse(expression).map(|e| Arc::new(Compiled(e)) as Arc<dyn CompiledPath>).map_err(|e| e.to_string())
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
