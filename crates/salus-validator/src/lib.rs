//! `salus-validator` owns the answer to "may this be stored?": it validates a FHIR R4 resource,
//! given as JSON, against the base specification's StructureDefinitions compiled in
//! `salus-fhir`. It checks the resource type, unknown elements, cardinality, JSON shapes and
//! primitive formats, choice types, contained resources, extensions (against the 393 core
//! extension definitions), references, narrative XHTML and required bindings, and reports each
//! problem as an [`Issue`] whose expression names the element (`Patient.birthDate`). It also
//! parses request bodies ([`parse_json`]) with the FHIR JSON rules serde does not enforce
//! (duplicate keys). Everything is pure: values in, an [`Outcome`] out; no input may panic.
//!
//! The per-type tables are compiled once per process ([`Validator::new`] is cheap after the
//! first call) and a validation allocates little beyond the issues it reports, because the
//! same validator runs on every write of a bulk import.

mod bindings;
mod conformance;
mod extensions;
mod invariants;
mod json;
mod outcome;
mod path;
mod period;
mod presence;
mod primitives;
mod references;
mod rules;
mod schema;
mod walk;
mod xhtml;

pub use invariants::engine_failures;
pub use json::{JsonError, parse_json};
pub use outcome::{Issue, IssueType, Outcome, Severity};

use schema::Schema;
use serde_json::Value;
use std::sync::OnceLock;

/// What to do with an extension whose definition Salus does not have (outside the core
/// namespace; see the `extensions` module for why the core namespace is different).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownExtensions {
    /// Accept silently: the FHIR default for implementation-defined extensions.
    Allow,
    /// Accept with a warning.
    Warn,
    /// Refuse, as the HL7 Java validator does when it cannot fetch the definition.
    Reject,
}

/// Switches for checks that depend on the deployment rather than the specification.
#[derive(Debug, Clone)]
pub struct Options {
    pub unknown_extensions: UnknownExtensions,
    /// Accept URLs on example.org and similar documentation domains.
    pub allow_example_urls: bool,
    /// Refuse strings that look like embedded HTML (script injection into careless displays).
    pub security_checks: bool,
    /// Refuse markdown that contains HTML tags.
    pub no_html_in_markdown: bool,
    /// Validate contained resources (on by default; off only to mirror other validators).
    pub validate_contained: bool,
    /// Evaluate the specification's FHIRPath invariants (on by default).
    pub invariants: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            unknown_extensions: UnknownExtensions::Allow,
            allow_example_urls: true,
            security_checks: false,
            no_html_in_markdown: false,
            validate_contained: true,
            invariants: true,
        }
    }
}

/// Checks one JSON value against an R4 primitive type (`date`, `id`, `positiveInt`, ...): the
/// JSON kind, the lexical rule and the range. `Err` holds a message for a person; an unknown
/// type code is an error too.
pub fn check_primitive(type_code: &str, value: &Value) -> Result<(), String> {
    match primitives::Prim::from_code(type_code) {
        Some(p) => primitives::check(p, value),
        None => Err(format!("'{type_code}' is not an R4 primitive type")),
    }
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::build(salus_fhir::r4()))
}

/// The R4 validator. Build it once and share it (`Send + Sync`); `validate` takes `&self`.
#[derive(Debug, Clone)]
pub struct Validator {
    schema: &'static Schema,
    defs: &'static salus_fhir::Definitions,
    options: Options,
}

impl Default for Validator {
    fn default() -> Self {
        Validator::new()
    }
}

impl Validator {
    pub fn new() -> Self {
        Validator::with_options(Options::default())
    }

    pub fn with_options(options: Options) -> Self {
        Validator { schema: schema(), defs: salus_fhir::r4(), options }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Validates one resource (which may be a Bundle: its entries are validated too).
    pub fn validate(&self, resource: &Value) -> Outcome {
        let mut walker = walk::Walker::new(self.schema, self.defs, &self.options);
        walker.walk_resource(resource, None, walk::Role::Root);
        Outcome { issues: walker.issues }
    }

    /// Parses and validates a request body: a JSON syntax error is one fatal issue with its
    /// line and column.
    pub fn validate_bytes(&self, body: &[u8]) -> Outcome {
        match parse_json(body) {
            Ok(value) => self.validate(&value),
            Err(e) => Outcome {
                issues: vec![Issue {
                    severity: Severity::Fatal,
                    code: IssueType::Structure,
                    expression: String::new(),
                    message: format!("the body is not valid JSON: {} (line {}, column {})", e.message, e.line, e.column),
                    location: Some((e.line, e.column)),
                }],
            },
        }
    }
}

#[cfg(test)]
mod tests;
