//! The seam to the FHIRPath engine. Extraction needs only this: compile an expression once,
//! evaluate it over a resource (or over an element of it, for composite components), and get
//! back each item's JSON with its FHIR type name. `salus-fhirpath` implements it (see
//! [`crate::fhirpath`]); tests may plug their own.

use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// One item of a FHIRPath result: the element's JSON and, when the model knows it, its FHIR
/// type (`CodeableConcept`, `dateTime`, `Reference`, ...).
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub json: Cow<'a, Value>,
    pub type_code: Option<Cow<'a, str>>,
    /// The engine's own node, kept so that a component expression can continue from it with
    /// its full type (a `BackboneElement` knows which element it is).
    pub node: Option<salus_fhirpath::Node<'a>>,
}

impl<'a> Item<'a> {
    /// A resource as a focus: `evaluate_on(resource, &Item::resource(resource))` gives what
    /// `evaluate(resource)` gives, with the resource's type found once for all the expressions
    /// evaluated on it (finding it for each of the indexer's ~30 per resource was a tenth of
    /// indexing).
    pub fn resource(resource: &'a Value) -> Item<'a> {
        use salus_fhirpath::{FhirModel, Model, Node};
        let node = Node::new(Some(resource), None, None, Some(FhirModel::r4() as &dyn Model));
        Item { json: Cow::Borrowed(resource), type_code: node.ty.map(|t| Cow::Borrowed(t.code)), node: Some(node) }
    }
}

pub trait PathEngine: Send + Sync {
    /// Compiles an expression; the error says what is wrong with it.
    fn compile(&self, expression: &str) -> Result<Arc<dyn CompiledPath>, String>;
}

pub trait CompiledPath: Send + Sync {
    /// Evaluates with the resource as context.
    fn evaluate<'a>(&self, resource: &'a Value) -> Result<Vec<Item<'a>>, String>;
    /// Evaluates with `focus` (an item of a previous evaluation on `resource`) as context.
    fn evaluate_on<'a>(&self, resource: &'a Value, focus: &Item<'a>) -> Result<Vec<Item<'a>>, String>;
}
