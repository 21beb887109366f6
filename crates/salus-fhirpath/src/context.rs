//! What an evaluation sees besides the input: the model, variables (`%name`), the terminology
//! hook for `memberOf`, the clock, a tracer and the strictness switch.

use crate::datetime::Dt;
use crate::model::{FhirModel, Model};
use crate::value::{Collection, Value};
use std::collections::HashMap;

/// Answers `memberOf`: whether a code is in a value set. `None` means "cannot tell" (the
/// result is then empty).
pub trait Terminology: Send + Sync {
    fn member_of(&self, value_set: &str, system: Option<&str>, code: &str) -> Option<bool>;
}

/// Terminology from the value-set expansions compiled into `salus_fhir` (the R4 required
/// bindings and other small value sets).
pub struct R4ValueSets;

impl Terminology for R4ValueSets {
    fn member_of(&self, value_set: &str, system: Option<&str>, code: &str) -> Option<bool> {
        let vs = salus_fhir::r4().value_set(value_set)?;
        let found = vs.contains(system, code);
        if found || vs.complete { Some(found) } else { None }
    }
}

/// A function called by `trace(name)`. (Higher-ranked over the values' lifetime, which keeps
/// `Context` covariant: one context built up front serves resources of any lifetime.)
pub type Tracer = dyn Fn(&str, &[Value<'_>]) + Send + Sync;

#[derive(Default)]
pub struct Context<'a> {
    pub(crate) model: Option<&'a dyn Model>,
    pub(crate) variables: HashMap<String, Collection<'a>>,
    pub(crate) terminology: Option<&'a dyn Terminology>,
    pub(crate) tracer: Option<&'a Tracer>,
    pub(crate) strict: bool,
    pub(crate) lenient: bool,
    pub(crate) typed_references: bool,
    pub(crate) now: Option<Dt>,
    pub(crate) root_resource: Option<Value<'a>>,
    pub(crate) resource: Option<Value<'a>>,
}

impl<'a> Context<'a> {
    /// No model: JSON is walked untyped.
    pub fn new() -> Self {
        Self::default()
    }

    /// The FHIR R4 model and the R4 value sets for `memberOf`.
    pub fn r4() -> Self {
        static VALUE_SETS: R4ValueSets = R4ValueSets;
        Context { model: Some(FhirModel::r4()), terminology: Some(&VALUE_SETS), ..Self::default() }
    }

    pub fn with_model(mut self, model: &'a dyn Model) -> Self {
        self.model = Some(model);
        self
    }

    pub fn with_terminology(mut self, terminology: &'a dyn Terminology) -> Self {
        self.terminology = Some(terminology);
        self
    }

    pub fn with_tracer(mut self, tracer: &'a Tracer) -> Self {
        self.tracer = Some(tracer);
        self
    }

    /// Strict mode: names the model does not define are errors, as are functions that
    /// depend on order applied to unordered collections (`children().first()`), and other
    /// checks the specification makes at compile time.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Reads expressions the way the R4 core invariants were written for (the HL7 validator's
    /// leniencies), where the specification is stricter: `as(type)` on several items filters
    /// like `ofType(type)` (`dom-3` applies `descendants().as(canonical)`), and a System type
    /// name also matches the FHIR primitive holding such a value (`que-7` tests
    /// `answer is Boolean` on a FHIR `boolean`). Off by default, so the official suite's
    /// `Patient.active.is(Boolean)` stays `false`; the validator turns it on.
    pub fn lenient(mut self, lenient: bool) -> Self {
        self.lenient = lenient;
        self
    }

    /// `resolve()` of a reference it cannot find in the resource or its Bundle (`Patient/123`,
    /// `http://x/fhir/Patient/123/_history/2`) gives an empty stand-in of the referenced type
    /// instead of nothing, so that `subject.where(resolve() is Patient)`, the R4 search
    /// parameters' way of saying "references to a Patient", works without fetching anything.
    /// Navigating into the stand-in finds nothing. Off by default (the specification drops
    /// unresolved references).
    pub fn typed_references(mut self, on: bool) -> Self {
        self.typed_references = on;
        self
    }

    /// Fixes the clock for `now()`, `today()`, `timeOfDay()` (tests, reproducible rules).
    pub fn with_now(mut self, now: Dt) -> Self {
        self.now = Some(now);
        self
    }

    /// Defines `%name` (without the `%`).
    pub fn set_variable(&mut self, name: impl Into<String>, value: Collection<'a>) {
        self.variables.insert(name.into(), value);
    }

    pub fn with_variable(mut self, name: impl Into<String>, value: Collection<'a>) -> Self {
        self.set_variable(name, value);
        self
    }

    /// `%resource`, when the input is an element inside a resource rather than the resource.
    pub fn with_resource(mut self, resource: Value<'a>) -> Self {
        self.resource = Some(resource);
        self
    }

    /// `%rootResource`, when the resource is contained in another one (or in a Bundle).
    pub fn with_root_resource(mut self, root: Value<'a>) -> Self {
        self.root_resource = Some(root);
        self
    }

    pub fn model(&self) -> Option<&'a dyn Model> {
        self.model
    }
}
