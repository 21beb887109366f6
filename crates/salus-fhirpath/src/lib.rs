//! `salus-fhirpath` owns Salus's FHIRPath engine (FHIRPath N1 with the FHIR R4 additions):
//! the lexer and parser that compile an expression once into an [`Expression`], and the
//! evaluator that runs it many times over resources kept as `serde_json::Value`, borrowing
//! the JSON rather than copying it. Types come from a [`Model`] (the R4 definitions of
//! `salus_fhir` through [`FhirModel`]), so choice elements (`Observation.value`), primitive
//! `_element` companions, `is`/`as`/`ofType` and `type()` follow the specification. Decimals
//! are exact (`rust_decimal`), dates and times keep their precision and offset, and
//! quantities convert between UCUM units. Terminology (`memberOf`) goes through the
//! [`Terminology`] hook. The search indexer, the validator's invariants and the clinical rules
//! all evaluate through this crate; it does no I/O.
//!
//! ```
//! use salus_fhirpath::{Context, Expression};
//! let patient = serde_json::json!({"resourceType": "Patient", "name": [{"given": ["Ann"]}]});
//! let expr = Expression::parse("Patient.name.given.first()").unwrap();
//! let out = expr.evaluate(&patient, &Context::r4()).unwrap();
//! assert_eq!(out[0].to_text().unwrap(), "Ann");
//! assert_eq!(out[0].qualified_type(), "FHIR.string");
//! ```
//!
//! Variables, a terminology hook, and a boolean answer (as invariants and rules read it):
//!
//! ```
//! use salus_fhirpath::{Context, Expression, Terminology, Value};
//! struct Local;
//! impl Terminology for Local {
//!     fn member_of(&self, vs: &str, _system: Option<&str>, code: &str) -> Option<bool> {
//!         (vs == "http://example.org/vs/vitals").then(|| code == "8867-4")
//!     }
//! }
//! let obs = serde_json::from_str(r#"{"resourceType": "Observation", "status": "final",
//!     "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
//!     "valueQuantity": {"value": 88, "system": "http://unitsofmeasure.org", "code": "/min"}}"#).unwrap();
//! let rule = Expression::parse(
//!     "code.memberOf('http://example.org/vs/vitals') and value > %limit").unwrap();
//! let hook = Local;
//! let ctx = Context::r4()
//!     .with_terminology(&hook)
//!     .with_variable("limit", vec![Value::Quantity(Box::new(salus_fhirpath::Quantity {
//!         value: 60.into(), unit: "/min".into() }))]);
//! assert_eq!(rule.evaluate_bool(&obs, &ctx).unwrap(), Some(true));
//! ```
//!
//! `Context::r4()` uses [`FhirModel::r4`]; `Context::new()` has no model (untyped JSON);
//! `Context::new().with_model(&my_model)` plugs another [`Model`]. `strict(true)` turns on
//! the specification's compile-time checks (unknown elements are errors), `lenient(true)`
//! reads the R4 core invariants the way they were written (`as()` filters several items,
//! System type names match FHIR primitives), `typed_references(true)` makes `resolve()` of
//! an unresolvable `Patient/123` an empty stand-in of type `Patient` (for the search
//! parameters' `where(resolve() is Patient)`), `with_now` fixes the
//! clock, `with_resource`/`with_root_resource` set `%resource`/`%rootResource` when the input
//! is an element or a contained resource.

mod ast;
mod context;
mod datetime;
mod error;
mod eval;
mod functions;
mod lexer;
mod model;
mod ops;
mod parser;
mod quantity;
mod value;

pub use context::{Context, R4ValueSets, Terminology, Tracer};
pub use datetime::{Dt, Precision};
pub use error::{EvalError, ParseError};
pub use model::{ChildDef, ElementType, FhirModel, Kind, Model, TypeInfo};
pub use ops::json_eq;
/// How the engine finds an element's members in JSON (`name`, `_name`, `nameType` of a choice),
/// for walks that must read them the same way (the search indexer's fast path).
pub use eval::{lookup as json_member, member_nodes, value_and_meta as json_member_and_meta};
pub use quantity::Quantity;
pub use value::{Collection, Node, Value};

use eval::{Env, Frame};
use serde_json::Value as Json;

/// A compiled FHIRPath expression; parse once, evaluate many times (it is `Send + Sync`).
#[derive(Debug, Clone)]
pub struct Expression {
    root: ast::Expr,
    source: String,
}

impl Expression {
    pub fn parse(source: &str) -> Result<Expression, ParseError> {
        Ok(Expression { root: parser::parse(source)?, source: source.to_string() })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates against a resource (or any JSON value): it is `%context`, `%resource` and
    /// `%rootResource` unless the context says otherwise.
    pub fn evaluate<'a>(&self, resource: &'a Json, ctx: &Context<'a>) -> Result<Collection<'a>, EvalError> {
        let node = Value::Node(Node::new(Some(resource), None, None, ctx.model));
        self.evaluate_on(vec![node], ctx)
    }

    /// Evaluates with an explicit input collection (an element inside a resource, a value).
    pub fn evaluate_on<'a>(&self, input: Collection<'a>, ctx: &Context<'a>) -> Result<Collection<'a>, EvalError> {
        let resource = match &ctx.resource {
            Some(r) => vec![r.clone()],
            None => input.clone(),
        };
        let root_resource = match &ctx.root_resource {
            Some(r) => vec![r.clone()],
            None => resource.clone(),
        };
        let env = Env { ctx, model: ctx.model, context: input.clone(), resource, root_resource, defined: Default::default() };
        env.eval(&self.root, &input, Frame::default())
    }

    /// Evaluates to a boolean the way invariants and rules read a result: empty is `None`,
    /// a single boolean is itself, anything else is an error.
    pub fn evaluate_bool<'a>(&self, resource: &'a Json, ctx: &Context<'a>) -> Result<Option<bool>, EvalError> {
        let out = self.evaluate(resource, ctx)?;
        match out.as_slice() {
            [] => Ok(None),
            [v] => match v.system().as_ref() {
                Value::Boolean(b) => Ok(Some(*b)),
                other => Err(EvalError::new(0, format!("expected a Boolean result, got {}", other.qualified_type()))),
            },
            _ => Err(EvalError::new(0, format!("expected a single Boolean, got {} items", out.len()))),
        }
    }
}

/// Parses and evaluates in one call (tests, one-off use; prefer [`Expression::parse`]).
pub fn evaluate<'a>(expression: &str, resource: &'a Json, ctx: &Context<'a>) -> Result<Collection<'a>, Error> {
    Ok(Expression::parse(expression)?.evaluate(resource, ctx)?)
}

/// Either stage's error, for [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Eval(#[from] EvalError),
}
