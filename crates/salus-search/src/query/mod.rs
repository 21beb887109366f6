//! The typed search query: what a query string means once every parameter is resolved against
//! the registry. Values are parsed (dates into ranges, tokens into system and code, numbers with
//! their precision), chains into the parameters they cross, so that a backend compiles it to
//! SQL without knowing FHIR, and the in-memory matcher evaluates it without parsing again.

mod parse;
mod value;

pub use parse::{SearchContext, parse};

/// A value's comma-separated alternatives (`\,` escapes a comma), unescaped.
pub fn split_alternatives(value: &str) -> Vec<String> {
    value::parts(value, ',')
}

/// The code systems that token `:below` / `:above` values name (`system|code`), each once:
/// what the engine loads before parsing a query (see [`crate::subsumption`]). A `uri`
/// parameter's `:below` has no `|` and names none.
pub fn subsumption_systems(params: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, v) in params {
        if !(name.ends_with(":below") || name.ends_with(":above")) {
            continue;
        }
        for alternative in value::split_escaped(v, ',') {
            if let [system, _] = value::parts(&alternative, '|').as_slice()
                && !system.is_empty()
                && !out.contains(system)
            {
                out.push(system.clone());
            }
        }
    }
    out
}

use crate::date::DateRange;
use crate::registry::ParamType;

/// Which index table a condition reads.
pub type Table = ParamType;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The resource types searched: one for a type-level search, several for `_type` or a
    /// compartment search across types.
    pub types: Vec<String>,
    /// Every condition must hold (AND by repetition); each is evaluated per resource type.
    pub conditions: Vec<TypedConditions>,
    pub sort: Vec<SortKey>,
    /// `_count`: the page size asked for (the engine caps it).
    pub count: Option<usize>,
    pub total: TotalMode,
    pub summary: Option<Summary>,
    pub elements: Vec<String>,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    /// Parameters ignored under lenient handling, each with why, for the bundle's OperationOutcome.
    pub issues: Vec<String>,
}

/// One condition, resolved for each searched type (a parameter may mean different things, or
/// nothing, for different types). A type absent from the list matches nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedConditions {
    pub by_type: Vec<(String, Condition)>,
}

impl TypedConditions {
    pub fn for_type(&self, resource_type: &str) -> Option<&Condition> {
        self.by_type.iter().find(|(t, _)| t == resource_type).map(|(_, c)| c)
    }
}

/// A set of resources of one type, defined by their index rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Some row of `param` in `table` satisfies one of the predicates (OR by comma).
    Match { table: Table, param: String, any_of: Vec<Predicate> },
    /// `:missing`: the resource has (`false`) or has no (`true`) row for the parameter.
    Missing { table: Table, param: String, missing: bool },
    /// The resources not in the inner set (`:not`, `:not-in`, `ne`).
    Not(Box<Condition>),
    /// `_id`.
    Ids(Vec<String>),
    /// `_lastUpdated`, on the version's own timestamp.
    LastUpdated(Vec<DatePredicate>),
    /// A chain: the reference `param` points at a resource of one of the types that satisfies
    /// that type's condition.
    Chain { param: String, targets: Vec<(String, Condition)> },
    /// `_has`: some resource of `source_type` refers to this one through `param` and satisfies
    /// `inner`.
    Has { source_type: String, param: String, inner: Box<Condition> },
    /// `_text` (the narrative) or `_content` (all text): a full-text expression (see
    /// [`crate::fulltext::expression`]).
    FullText { narrative: bool, expression: String },
    /// Any of these (a compartment: one of several reference parameters names the owner).
    AnyOf(Vec<Condition>),
    /// Matches nothing (a parameter that cannot apply to the type).
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatePredicate {
    pub prefix: Prefix,
    pub range: DateRange,
    /// `ap`: the range widened by 10% of its distance from now.
    pub approx: DateRange,
}

/// A numeric comparison with the precision of the value as written: `100` means [99.5, 100.5).
#[derive(Debug, Clone, PartialEq)]
pub struct NumberPredicate {
    pub prefix: Prefix,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringMode {
    /// Starts with, case and accent folded (the default).
    Prefix,
    Exact,
    Contains,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemMatch {
    /// `code`: any system.
    Any,
    /// `|code`: no system.
    Absent,
    Is(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    String { mode: StringMode, value: String },
    /// `code: None` matches any code in the system (`system|`).
    Token { system: SystemMatch, code: Option<String> },
    /// `:text`: the folded display or text starts with the folded value.
    TokenText(String),
    /// `:in`: one of these (system, code) pairs.
    TokenIn(Vec<(String, String)>),
    Date(DatePredicate),
    Number(NumberPredicate),
    Quantity(QuantityPredicate),
    /// A local reference; `types` empty means any type.
    Reference { types: Vec<String>, id: String },
    /// An absolute or canonical reference.
    ReferenceUrl { url: String, version: Option<String> },
    Uri { mode: UriMode, value: String },
    /// `token$value`, or `token$number$number` for a three-component composite (`third`).
    Composite { first: Box<Predicate>, second: Box<Predicate>, third: Option<Box<Predicate>> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuantityPredicate {
    pub number: NumberPredicate,
    pub system: Option<String>,
    pub code: Option<String>,
    /// When the unit is UCUM and understood: the comparison in the canonical unit.
    pub canonical: Option<(NumberPredicate, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriMode {
    Exact,
    /// `:below`: the stored URI starts with the value.
    Below,
    /// `:above`: the stored URI is the value or one of its parents (each listed).
    Above(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub descending: bool,
    pub by: SortBy,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SortBy {
    Id,
    LastUpdated,
    /// The lowest (ascending) or highest (descending) indexed value of a parameter.
    Param { table: Table, param: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TotalMode {
    None,
    Estimate,
    #[default]
    Accurate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    True,
    False,
    Text,
    Data,
    Count,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The type holding the reference (`Observation` in `Observation:subject`).
    pub source_type: String,
    /// The reference parameter; `None` for `*` (every reference parameter).
    pub param: Option<String>,
    /// Only references to this type.
    pub target_type: Option<String>,
    pub iterate: bool,
}
