//! The items of a FHIRPath collection. FHIR data stays borrowed from the resource JSON
//! (`Node`), typed by the model; System values (`Integer`, `String`, `Date`, ...) are made by
//! literals, operators and functions. A node whose value is a FHIR primitive converts to its
//! System value when an operator needs one (`Patient.birthDate < today()`).

use crate::datetime::{self, Dt};
use crate::model::{ElementType, Kind, Model};
use crate::quantity::Quantity;
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::str::FromStr;

#[derive(Debug, Clone)]
pub enum Value<'a> {
    Boolean(bool),
    Integer(i64),
    Decimal(Decimal),
    String(Cow<'a, str>),
    Date(Dt),
    DateTime(Dt),
    Time(Dt),
    Quantity(Box<Quantity>),
    Node(Node<'a>),
    /// The result of `type()`: a namespace and a name.
    Type { namespace: &'static str, name: Cow<'a, str> },
}

/// An element of the resource: its JSON value (absent for a primitive that has only an id or
/// extensions), the `_name` companion object of a primitive, and its type in the model.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub json: Option<&'a Json>,
    pub meta: Option<&'a Json>,
    pub ty: Option<ElementType>,
}

pub type Collection<'a> = Vec<Value<'a>>;

const QUANTITY_TYPES: [&str; 7] =
    ["Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity"];
const INTEGER_TYPES: [&str; 4] = ["integer", "positiveInt", "unsignedInt", "integer64"];

impl<'a> Node<'a> {
    /// A node for JSON found where the model expects `ty`; resources take their own type from
    /// `resourceType` (`Bundle.entry.resource` is declared as `Resource`).
    pub fn new(json: Option<&'a Json>, meta: Option<&'a Json>, ty: Option<ElementType>, model: Option<&dyn Model>) -> Self {
        let mut ty = ty;
        // Only where the model cannot know the type (untyped, or declared `Resource`) does the
        // JSON's `resourceType` decide.
        let open = ty.is_none_or(|t| matches!(t.code, "Resource" | "DomainResource"));
        if open
            && let Some(rt) = json.and_then(|j| j.get("resourceType")).and_then(Json::as_str)
            && ty.is_none_or(|t| t.code != rt)
            && let Some(info) = model.and_then(|m| m.type_info(rt))
            && info.kind == Kind::Resource
        {
            ty = Some(ElementType { code: info.name, key: info.name });
        }
        Node { json, meta, ty }
    }

    /// A node for JSON known to be of FHIR type `type_name` (`HumanName`, `Patient`, `code`),
    /// e.g. an element the validator reached by its own walk. `None` if the model does not
    /// know the type.
    pub fn of_type(json: &'a Json, type_name: &str, model: &dyn Model) -> Option<Self> {
        let info = model.type_info(type_name)?;
        Some(Node::new(Some(json), None, Some(ElementType { code: info.name, key: info.name }), Some(model)))
    }

    /// The FHIR type name: from the model, else guessed from the JSON.
    pub fn type_name(&self) -> Cow<'a, str> {
        if let Some(t) = self.ty {
            return Cow::Borrowed(t.code);
        }
        match self.json {
            Some(Json::Object(o)) => match o.get("resourceType").and_then(Json::as_str) {
                Some(rt) => Cow::Borrowed(rt),
                None => Cow::Borrowed("Element"),
            },
            Some(Json::Bool(_)) => Cow::Borrowed("boolean"),
            Some(Json::Number(n)) => {
                if n.to_string().contains(['.', 'e', 'E']) {
                    Cow::Borrowed("decimal")
                } else {
                    Cow::Borrowed("integer")
                }
            }
            Some(Json::String(_)) => Cow::Borrowed("string"),
            _ => Cow::Borrowed("Element"),
        }
    }

    pub fn is_primitive(&self) -> bool {
        match self.json {
            Some(Json::Object(_)) => false,
            Some(_) => true,
            None => self.meta.is_some(),
        }
    }

    /// The System value of a primitive node, or of a Quantity-typed node.
    pub fn to_system(&self) -> Option<Value<'a>> {
        let code = self.ty.map(|t| t.code);
        match self.json? {
            Json::Bool(b) => Some(Value::Boolean(*b)),
            Json::Number(n) => {
                let text = n.to_string();
                let integral = !text.contains(['.', 'e', 'E']);
                if integral && code.is_none_or(|c| c != "decimal")
                    && let Ok(i) = text.parse::<i64>()
                {
                    return Some(Value::Integer(i));
                }
                parse_decimal(&text).map(Value::Decimal)
            }
            Json::String(s) => Some(match code {
                Some("date") => datetime::parse_date(s).map(Value::Date)?,
                Some("dateTime") | Some("instant") => match datetime::parse_datetime(s) {
                    Some(dt) => Value::DateTime(dt),
                    None => Value::String(Cow::Borrowed(s)),
                },
                Some("time") => datetime::parse_time(s).map(Value::Time)?,
                Some(c) if INTEGER_TYPES.contains(&c) => Value::Integer(s.parse().ok()?),
                Some("decimal") => Value::Decimal(parse_decimal(s)?),
                _ => Value::String(Cow::Borrowed(s)),
            }),
            Json::Object(o) => {
                let quantity_typed = code.is_some_and(|c| QUANTITY_TYPES.contains(&c));
                if !quantity_typed && (code.is_some() || !o.contains_key("value")) {
                    return None;
                }
                let value = o.get("value")?;
                let value = match value {
                    Json::Number(n) => parse_decimal(&n.to_string())?,
                    _ => return None,
                };
                let ucum = o.get("system").and_then(Json::as_str) == Some("http://unitsofmeasure.org");
                let unit = match (o.get("code").and_then(Json::as_str), o.get("unit").and_then(Json::as_str)) {
                    (Some(c), _) if ucum => c,
                    (_, Some(u)) => u,
                    (Some(c), None) => c,
                    (None, None) => "1",
                };
                // FHIR quantities of time written with calendar words keep them as words
                Some(Value::Quantity(Box::new(Quantity { value, unit: unit.to_string() })))
            }
            _ => None,
        }
    }
}

pub fn parse_decimal(text: &str) -> Option<Decimal> {
    if text.contains(['e', 'E']) {
        return Decimal::from_scientific(text).ok();
    }
    Decimal::from_str(text).ok()
}

impl<'a> Value<'a> {
    pub fn str(s: &'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }

    /// The value as a System value: nodes holding primitives convert, others stay.
    pub fn system(&self) -> Cow<'_, Value<'a>> {
        match self {
            Value::Node(n) => match n.to_system() {
                Some(v) => Cow::Owned(v),
                None => Cow::Borrowed(self),
            },
            _ => Cow::Borrowed(self),
        }
    }

    /// `(namespace, name)` of the value's type.
    pub fn type_name(&self) -> (&'static str, Cow<'a, str>) {
        let system = |n: &'static str| ("System", Cow::Borrowed(n));
        match self {
            Value::Boolean(_) => system("Boolean"),
            Value::Integer(_) => system("Integer"),
            Value::Decimal(_) => system("Decimal"),
            Value::String(_) => system("String"),
            Value::Date(_) => system("Date"),
            Value::DateTime(_) => system("DateTime"),
            Value::Time(_) => system("Time"),
            Value::Quantity(_) => system("Quantity"),
            Value::Type { .. } => system("Object"),
            Value::Node(n) => ("FHIR", n.type_name()),
        }
    }

    /// The `"FHIR.code"` / `"System.String"` form.
    pub fn qualified_type(&self) -> String {
        let (ns, name) = self.type_name();
        format!("{ns}.{name}")
    }

    /// The value as a string the way `toString()` and `join()` write it.
    pub fn to_text(&self) -> Option<Cow<'a, str>> {
        Some(match self {
            Value::Boolean(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Integer(i) => Cow::Owned(i.to_string()),
            Value::Decimal(d) => Cow::Owned(d.to_string()),
            Value::String(s) => s.clone(),
            Value::Date(d) => Cow::Owned(datetime::format_date(d)),
            Value::DateTime(d) => Cow::Owned(datetime::format_datetime(d)),
            Value::Time(d) => Cow::Owned(datetime::format_time(d)),
            Value::Quantity(q) => Cow::Owned(quantity_text(q)),
            Value::Type { .. } => return None,
            Value::Node(n) => match n.json? {
                Json::String(s) => Cow::Borrowed(s.as_str()),
                Json::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
                Json::Number(num) => Cow::Owned(num.to_string()),
                _ => return n.to_system()?.to_text().map(|c| Cow::Owned(c.into_owned())),
            },
        })
    }

    /// The value as JSON for callers and for the conformance report: primitives as their
    /// canonical text, quantities as `{value, unit}`, FHIR structures as their JSON.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Quantity(q) => {
                serde_json::json!({"value": q.value.to_string(), "unit": q.unit})
            }
            Value::Node(n) => match n.json {
                Some(j @ Json::Object(_)) | Some(j @ Json::Array(_)) => j.clone(),
                Some(_) => Json::String(self.to_text().map(Cow::into_owned).unwrap_or_default()),
                None => Json::Null,
            },
            Value::Type { namespace, name } => serde_json::json!({"namespace": namespace, "name": name}),
            _ => Json::String(self.to_text().map(Cow::into_owned).unwrap_or_default()),
        }
    }
}

impl std::fmt::Display for Value<'_> {
    /// The text form (`toString()`); structures as their JSON.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_text() {
            Some(t) => f.write_str(&t),
            None => write!(f, "{}", self.to_json()),
        }
    }
}

pub fn quantity_text(q: &Quantity) -> String {
    if crate::quantity::calendar_word(&q.unit).is_some() {
        format!("{} {}", q.value, q.unit)
    } else {
        format!("{} '{}'", q.value, q.unit)
    }
}
