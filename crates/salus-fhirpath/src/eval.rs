//! The tree-walking evaluator: expressions over collections, navigation of the JSON with the
//! model's types (choice elements, primitive `_name` companions, contained resources), the
//! boolean logic of FHIRPath's three-valued operators, and type tests.

use crate::ast::{BinOp, Expr, ExprKind, Func, Literal, TypeSpec};
use crate::context::Context;
use crate::error::{EvalError, EvalResult};
use crate::model::{ElementType, Kind, Model};
use crate::ops;
use crate::value::{Collection, Node, Value};
use serde_json::Value as Json;
use std::borrow::Cow;

/// Per-evaluation state shared by all nodes of the tree.
pub(crate) struct Env<'c, 'a> {
    pub ctx: &'c Context<'a>,
    pub model: Option<&'a dyn Model>,
    pub context: Collection<'a>,
    pub resource: Collection<'a>,
    pub root_resource: Collection<'a>,
    /// Variables made by `defineVariable()`; they stay defined for the rest of the evaluation.
    pub defined: std::cell::RefCell<Vec<(String, Collection<'a>)>>,
}

/// The lambda scope: `$this`, `$index`, `$total` inside `where`, `select`, `aggregate`...
#[derive(Clone, Copy, Default)]
pub(crate) struct Frame<'f, 'a> {
    pub this: Option<&'f Value<'a>>,
    pub index: Option<usize>,
    pub total: Option<&'f [Value<'a>]>,
}

const SYSTEM_TYPES: [&str; 10] =
    ["Boolean", "Integer", "Long", "Decimal", "String", "Date", "DateTime", "Time", "Quantity", "Any"];

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn literal<'a>(l: &Literal) -> Value<'a> {
    match l {
        Literal::Boolean(b) => Value::Boolean(*b),
        Literal::Integer(i) => Value::Integer(*i),
        Literal::Decimal(d) => Value::Decimal(*d),
        Literal::String(s) => Value::String(Cow::Owned(s.clone())),
        Literal::Date(d) => Value::Date(*d),
        Literal::DateTime(d) => Value::DateTime(*d),
        Literal::Time(d) => Value::Time(*d),
        Literal::Quantity(q) => Value::Quantity(Box::new(q.clone())),
    }
}

impl<'c, 'a> Env<'c, 'a> {
    pub fn eval(&self, e: &Expr, focus: &[Value<'a>], f: Frame<'_, 'a>) -> EvalResult<Collection<'a>> {
        match &e.kind {
            ExprKind::Literal(l) => Ok(vec![literal(l)]),
            ExprKind::Empty => Ok(Vec::new()),
            ExprKind::Identifier(name) => self.identifier(focus, name, e.pos),
            ExprKind::Member(target, name) => {
                if self.ctx.strict {
                    self.check_member(target, name, e.pos)?;
                }
                let input = self.eval(target, focus, f)?;
                let mut out = Vec::new();
                for item in &input {
                    self.navigate(item, name, &mut out, e.pos)?;
                }
                Ok(out)
            }
            ExprKind::Call(target, func, args) => {
                if self.ctx.strict {
                    check_ordered(target.as_deref(), *func, e.pos)?;
                }
                let input = match target {
                    Some(t) => self.eval(t, focus, f)?,
                    None => match f.this {
                        Some(this) => vec![this.clone()],
                        None => focus.to_vec(),
                    },
                };
                crate::functions::call(self, *func, input, args, focus, f, e.pos)
            }
            ExprKind::This => Ok(match f.this {
                Some(t) => vec![t.clone()],
                None => focus.to_vec(),
            }),
            ExprKind::Index => Ok(f.index.map(|i| vec![Value::Integer(i as i64)]).unwrap_or_default()),
            ExprKind::Total => Ok(f.total.map(<[Value]>::to_vec).unwrap_or_default()),
            ExprKind::Env(name) => self.variable(name, e.pos),
            ExprKind::Indexer(target, index) => {
                let input = self.eval(target, focus, f)?;
                let idx = self.eval(index, focus, f)?;
                let i = match self.singleton(&idx, e.pos)? {
                    None => return Ok(Vec::new()),
                    Some(Value::Integer(i)) => *i,
                    Some(_) => return Err(EvalError::new(e.pos, "an index must be an integer")),
                };
                Ok(usize::try_from(i).ok().and_then(|i| input.get(i).cloned()).into_iter().collect())
            }
            ExprKind::Negate(inner) => {
                let v = self.eval(inner, focus, f)?;
                let Some(item) = self.singleton(&v, e.pos)? else { return Ok(Vec::new()) };
                let negated = match item.system().as_ref() {
                    Value::Integer(i) => match i.checked_neg() {
                        Some(n) => Value::Integer(n),
                        None => return Ok(Vec::new()),
                    },
                    // -0.0 is 0.0
                    Value::Decimal(d) if d.is_zero() => Value::Decimal(d.abs()),
                    Value::Decimal(d) => Value::Decimal(-d),
                    Value::Quantity(q) => {
                        Value::Quantity(Box::new(crate::quantity::Quantity { value: -q.value, unit: q.unit.clone() }))
                    }
                    other => {
                        return Err(EvalError::new(e.pos, format!("cannot negate {}", other.qualified_type())));
                    }
                };
                Ok(vec![negated])
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, focus, f, e.pos),
            ExprKind::Is(inner, spec) => {
                let v = self.eval(inner, focus, f)?;
                match self.singleton(&v, e.pos)? {
                    None => Ok(Vec::new()),
                    Some(item) => Ok(vec![Value::Boolean(self.is_type(item, spec, false, e.pos)?)]),
                }
            }
            ExprKind::As(inner, spec) => {
                let v = self.eval(inner, focus, f)?;
                match self.singleton(&v, e.pos)? {
                    Some(item) if self.is_type(item, spec, true, e.pos)? => Ok(vec![item.clone()]),
                    _ => Ok(Vec::new()),
                }
            }
        }
    }

    /// The single item of a collection: `None` if empty, an error if several.
    pub fn singleton<'v>(&self, c: &'v [Value<'a>], pos: usize) -> EvalResult<Option<&'v Value<'a>>> {
        match c {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(EvalError::new(pos, format!("expected a single item, got {}", c.len()))),
        }
    }

    /// A collection as a boolean: empty is unknown, a single boolean is itself, a single other
    /// item is `true` (FHIRPath's singleton evaluation), several items are an error.
    pub fn to_bool(&self, c: &[Value<'a>], pos: usize) -> EvalResult<Option<bool>> {
        match self.singleton(c, pos)? {
            None => Ok(None),
            Some(v) => match v.system().as_ref() {
                Value::Boolean(b) => Ok(Some(*b)),
                other if self.ctx.strict => Err(EvalError::new(
                    pos,
                    format!("expected a Boolean, got {}", other.qualified_type()),
                )),
                _ => Ok(Some(true)),
            },
        }
    }

    /// `defineVariable(name, value)`: an error if the name is already a variable.
    pub fn define(&self, name: String, value: Collection<'a>, pos: usize) -> EvalResult<()> {
        let builtin = matches!(name.as_str(), "context" | "resource" | "rootResource" | "ucum" | "sct" | "loinc");
        if builtin || self.ctx.variables.contains_key(&name) || self.defined.borrow().iter().any(|(n, _)| *n == name) {
            return Err(EvalError::new(pos, format!("variable %{name} is already defined")));
        }
        self.defined.borrow_mut().push((name, value));
        Ok(())
    }

    fn variable(&self, name: &str, pos: usize) -> EvalResult<Collection<'a>> {
        if let Some((_, v)) = self.defined.borrow().iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.ctx.variables.get(name) {
            return Ok(v.clone());
        }
        let s = |s: &str| Ok(vec![Value::String(Cow::Owned(s.to_string()))]);
        match name {
            "context" => Ok(self.context.clone()),
            "resource" => Ok(self.resource.clone()),
            "rootResource" => Ok(self.root_resource.clone()),
            "ucum" => s("http://unitsofmeasure.org"),
            "sct" => s("http://snomed.info/sct"),
            "loinc" => s("http://loinc.org"),
            _ => {
                if let Some(vs) = name.strip_prefix("vs-") {
                    return s(&format!("http://hl7.org/fhir/ValueSet/{vs}"));
                }
                if let Some(ext) = name.strip_prefix("ext-") {
                    return s(&format!("http://hl7.org/fhir/StructureDefinition/{ext}"));
                }
                Err(EvalError::new(pos, format!("unknown variable %{name}")))
            }
        }
    }

    fn identifier(&self, focus: &[Value<'a>], name: &str, pos: usize) -> EvalResult<Collection<'a>> {
        let mut out = Vec::new();
        // `Patient.name`: a leading type name selects the focus if it is of that type.
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            let resource_type = self.model.and_then(|m| m.type_info(name)).is_some_and(|t| t.kind == Kind::Resource);
            let matching: Vec<_> = focus
                .iter()
                .filter(|v| match v {
                    Value::Node(n) => {
                        let t = n.type_name();
                        t == name || self.model.is_some_and(|m| m.is_subtype(&t, name))
                    }
                    _ => false,
                })
                .cloned()
                .collect();
            if !matching.is_empty() {
                return Ok(matching);
            }
            if resource_type || self.model.is_none() && focus.iter().any(is_resource) {
                if self.ctx.strict && !focus.is_empty() {
                    return Err(EvalError::new(pos, format!("the context is not a {name}")));
                }
                return Ok(out);
            }
        }
        for item in focus {
            self.navigate(item, name, &mut out, pos)?;
        }
        Ok(out)
    }

    /// Children named `name` of one item, appended to `out`.
    pub fn navigate(&self, item: &Value<'a>, name: &str, out: &mut Collection<'a>, pos: usize) -> EvalResult<()> {
        let node = match item {
            Value::Node(n) => n,
            // System quantities expose their parts like FHIR Quantity does
            Value::Quantity(q) => {
                match name {
                    "value" => out.push(Value::Decimal(q.value)),
                    "unit" | "code" => out.push(Value::String(Cow::Owned(q.unit.clone()))),
                    _ => {}
                }
                return Ok(());
            }
            Value::Type { namespace, name: n } => {
                match name {
                    "namespace" => out.push(Value::str(namespace)),
                    "name" => out.push(Value::String(n.clone())),
                    _ => {}
                }
                return Ok(());
            }
            _ => {
                if self.ctx.strict {
                    return Err(EvalError::new(pos, format!("{} has no element {name}", item.qualified_type())));
                }
                return Ok(());
            }
        };
        let obj = match node.json {
            Some(Json::Object(o)) => o,
            _ => {
                // a primitive: only its id and extensions, from the `_name` companion
                let meta = node.meta.and_then(Json::as_object);
                let model_ty = |code: &'static str| self.model.map(|_| ElementType { code, key: code });
                match (name, meta) {
                    ("extension", Some(m)) => {
                        push_values(out, m.get("extension"), None, model_ty("Extension"), self.model);
                    }
                    ("id", Some(m)) => push_values(out, m.get("id"), None, model_ty("string"), self.model),
                    _ => {}
                }
                return Ok(());
            }
        };
        let Some(ty) = node.ty else {
            // untyped: the JSON name, else a choice element written `nameType`
            let meta = lookup(obj, true, name, None);
            if obj.contains_key(name) || meta.is_some() {
                push_values(out, obj.get(name), meta, None, None);
            } else {
                for (k, v) in obj {
                    if let Some(rest) = k.strip_prefix(name)
                        && rest.starts_with(|c: char| c.is_ascii_uppercase())
                    {
                        push_values(out, Some(v), lookup(obj, true, k, None), None, None);
                    }
                }
            }
            return Ok(());
        };
        let model = self.model;
        let def = model.and_then(|m| m.child(ty.key, name));
        match def {
            Some(def) if def.choice => {
                // one pass over the (small) object instead of two lookups per possible type
                // (`Extension.value[x]` has 50)
                for (k, v) in obj {
                    let (meta_key, rest) = match k.strip_prefix('_') {
                        Some(r) => (true, r),
                        None => (false, k.as_str()),
                    };
                    let Some(suffix) = rest.strip_prefix(name) else { continue };
                    let Some(t) = def.types.iter().find(|t| type_suffix_matches(suffix, t.code)) else { continue };
                    let (value, meta) = if meta_key {
                        (lookup(obj, false, name, Some(t.code)), Some(v))
                    } else {
                        (Some(v), lookup(obj, true, name, Some(t.code)))
                    };
                    push_values(out, value, meta, Some(*t), model);
                    break;
                }
            }
            Some(def) => {
                let t = def.types.first().copied();
                let (value, meta) = value_and_meta(obj, name);
                push_values(out, value, meta, t, model);
            }
            None => {
                if let Some(m) = model
                    && let Some((base, _)) = typed_choice_name(m, ty.key, name)
                {
                    return Err(EvalError::new(
                        pos,
                        format!("'{name}' is a choice element: use {base} or {base}.ofType(...)"),
                    ));
                }
                if self.ctx.strict && model.is_some() && name != "resourceType" {
                    return Err(EvalError::new(pos, format!("{} has no element '{name}'", ty.code)));
                }
                if name != "resourceType" {
                    push_values(out, obj.get(name), lookup(obj, true, name, None), None, model);
                }
            }
        }
        Ok(())
    }

    /// All child nodes of an item, in JSON order (`children()`).
    pub fn children(&self, item: &Value<'a>, out: &mut Collection<'a>) {
        let Value::Node(node) = item else { return };
        let Some(Json::Object(obj)) = node.json else {
            if let Some(Json::Object(m)) = node.meta {
                let model_ty = |code: &'static str| self.model.map(|_| ElementType { code, key: code });
                push_values(out, m.get("id"), None, model_ty("string"), self.model);
                push_values(out, m.get("extension"), None, model_ty("Extension"), self.model);
            }
            return;
        };
        for (k, v) in obj {
            if k == "resourceType" {
                continue;
            }
            let (key, meta) = match k.strip_prefix('_') {
                Some(base) if obj.contains_key(base) => continue, // handled with its value
                Some(base) => (base, Some(v)),
                None => (k.as_str(), lookup(obj, true, k, None)),
            };
            let value = if meta == Some(v) { None } else { Some(v) };
            let ty = self.element_type(node.ty, key);
            push_values(out, value, meta, ty, self.model);
        }
    }

    /// The model type of the JSON property `key` of a value of type `parent`.
    fn element_type(&self, parent: Option<ElementType>, key: &str) -> Option<ElementType> {
        let (model, parent) = (self.model?, parent?);
        if let Some(def) = model.child(parent.key, key) {
            return if def.choice { None } else { def.types.first().copied() };
        }
        typed_choice_name(model, parent.key, key).map(|(_, t)| t)
    }

    fn binary(&self, op: BinOp, l: &Expr, r: &Expr, focus: &[Value<'a>], f: Frame<'_, 'a>, pos: usize) -> EvalResult<Collection<'a>> {
        let boolean = |b: Option<bool>| Ok(b.map(Value::Boolean).into_iter().collect());
        match op {
            BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies => {
                let a = self.to_bool(&self.eval(l, focus, f)?, pos)?;
                // short-circuit where the left side decides
                match (op, a) {
                    (BinOp::And, Some(false)) => return boolean(Some(false)),
                    (BinOp::Or, Some(true)) => return boolean(Some(true)),
                    (BinOp::Implies, Some(false)) => return boolean(Some(true)),
                    _ => {}
                }
                let b = self.to_bool(&self.eval(r, focus, f)?, pos)?;
                boolean(match op {
                    BinOp::And => match (a, b) {
                        (_, Some(false)) => Some(false),
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    },
                    BinOp::Or => match (a, b) {
                        (_, Some(true)) => Some(true),
                        (Some(false), Some(false)) => Some(false),
                        _ => None,
                    },
                    BinOp::Xor => match (a, b) {
                        (Some(x), Some(y)) => Some(x != y),
                        _ => None,
                    },
                    _ => match (a, b) {
                        (Some(true), b) => b,
                        (None, Some(true)) => Some(true),
                        _ => None,
                    },
                })
            }
            _ => {
                let a = self.eval(l, focus, f)?;
                let b = self.eval(r, focus, f)?;
                self.binary_values(op, a, b, pos)
            }
        }
    }

    pub fn binary_values(&self, op: BinOp, a: Collection<'a>, b: Collection<'a>, pos: usize) -> EvalResult<Collection<'a>> {
        let boolean = |b: Option<bool>| Ok(b.map(Value::Boolean).into_iter().collect());
        match op {
            BinOp::Union => Ok(union(a, b)),
            BinOp::Eq | BinOp::Ne => {
                if a.is_empty() || b.is_empty() {
                    return Ok(Vec::new());
                }
                let eq = collection_equal(&a, &b);
                boolean(if op == BinOp::Eq { eq } else { eq.map(|e| !e) })
            }
            BinOp::Equiv | BinOp::NotEquiv => {
                let eq = collection_equivalent(&a, &b);
                boolean(Some(if op == BinOp::Equiv { eq } else { !eq }))
            }
            BinOp::In | BinOp::Contains => {
                let (item, coll) = if op == BinOp::In { (&a, &b) } else { (&b, &a) };
                match self.singleton(item, pos)? {
                    None => Ok(Vec::new()),
                    Some(x) => boolean(Some(coll.iter().any(|y| ops::item_equal(x, y) == Some(true)))),
                }
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (Some(x), Some(y)) = (self.singleton(&a, pos)?, self.singleton(&b, pos)?) else {
                    return Ok(Vec::new());
                };
                let ord = ops::compare(x, y, pos)?;
                boolean(ord.map(|o| match op {
                    BinOp::Lt => o.is_lt(),
                    BinOp::Le => o.is_le(),
                    BinOp::Gt => o.is_gt(),
                    _ => o.is_ge(),
                }))
            }
            BinOp::Concat => {
                let text = |c: &[Value<'a>]| -> EvalResult<String> {
                    match self.singleton(c, pos)? {
                        None => Ok(String::new()),
                        Some(v) => match v.system().as_ref() {
                            Value::String(s) => Ok(s.to_string()),
                            other => Err(EvalError::new(pos, format!("& needs strings, got {}", other.qualified_type()))),
                        },
                    }
                };
                Ok(vec![Value::String(Cow::Owned(text(&a)? + &text(&b)?))])
            }
            _ => {
                let (Some(x), Some(y)) = (self.singleton(&a, pos)?, self.singleton(&b, pos)?) else {
                    return Ok(Vec::new());
                };
                Ok(ops::arithmetic(op, x, y, pos)?.into_iter().collect())
            }
        }
    }

    /// Whether `item` is of the type named by `spec`. `exact` (for `as`/`ofType`) does not
    /// let a FHIR primitive pass as its base type (`code` is not `as(string)`).
    pub fn is_type(&self, item: &Value<'a>, spec: &TypeSpec, exact: bool, pos: usize) -> EvalResult<bool> {
        let name = spec.name.as_str();
        let model_knows = self.model.and_then(|m| m.type_info(name));
        let system_known = SYSTEM_TYPES.contains(&name);
        match spec.namespace.as_deref() {
            Some("System") => {}
            Some("FHIR") => {
                if self.model.is_some() && model_knows.is_none() {
                    return Err(EvalError::new(pos, format!("unknown type FHIR.{name}")));
                }
            }
            Some(ns) => return Err(EvalError::new(pos, format!("unknown type namespace {ns}"))),
            None => {
                if self.model.is_some() && model_knows.is_none() && !system_known {
                    return Err(EvalError::new(pos, format!("unknown type {name}")));
                }
            }
        }
        let (ns, actual) = item.type_name();
        if ns == "System" {
            return Ok(spec.namespace.as_deref() != Some("FHIR") && (actual == name || name == "Any"));
        }
        let system_spec = spec.namespace.as_deref() == Some("System")
            || spec.namespace.is_none() && model_knows.is_none() && system_known;
        if system_spec {
            // lenient: FHIR `boolean` passes as `Boolean`, `string`/`code` as `String`, ...
            if self.ctx.lenient
                && let Value::Node(n) = item
                && n.is_primitive()
                && let Some(v) = n.to_system()
            {
                return Ok(v.type_name().1 == name);
            }
            return Ok(false);
        }
        if actual == name {
            return Ok(true);
        }
        let Some(model) = self.model else { return Ok(false) };
        if exact && model.type_info(&actual).is_some_and(|t| t.kind == Kind::Primitive) {
            return Ok(false);
        }
        Ok(model.is_subtype(&actual, name))
    }
}

/// Strict mode: order-dependent functions on the unordered output of `children()` and
/// `descendants()` are errors.
fn check_ordered(target: Option<&Expr>, func: Func, pos: usize) -> EvalResult<()> {
    let ordered = matches!(func, Func::Skip | Func::Take | Func::First | Func::Last | Func::Tail);
    if ordered
        && let Some(Expr { kind: ExprKind::Call(_, Func::Children | Func::Descendants, _), .. }) = target
    {
        return Err(EvalError::new(pos, format!("{}() depends on order, which children()/descendants() do not define", func.name())));
    }
    Ok(())
}

impl<'a> Env<'_, 'a> {
    /// The FHIR type an expression has whatever the data (`x as Period`, then its elements),
    /// used by strict mode to reject names the type does not have.
    fn static_type(&self, e: &Expr) -> Option<&'static str> {
        let model = self.model?;
        match &e.kind {
            ExprKind::As(_, spec) => model.type_info(&spec.name).map(|t| t.name),
            ExprKind::Call(_, Func::As | Func::OfType, args) => match args.first().map(|a| &a.kind) {
                Some(ExprKind::Literal(Literal::String(s))) => {
                    model.type_info(crate::parser::spec_from_text(s).name.as_str()).map(|t| t.name)
                }
                _ => None,
            },
            ExprKind::Member(target, name) => {
                let def = model.child(self.static_type(target)?, name)?;
                match def.types.as_slice() {
                    [one] if !def.choice => Some(one.key),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn check_member(&self, target: &Expr, name: &str, pos: usize) -> EvalResult<()> {
        let (Some(model), Some(key)) = (self.model, self.static_type(target)) else { return Ok(()) };
        if model.child(key, name).is_none() {
            return Err(EvalError::new(pos, format!("{key} has no element '{name}'")));
        }
        Ok(())
    }
}

/// `Quantity` for type code `Quantity`, `String` for `string`: the JSON suffix of a choice.
fn type_suffix_matches(suffix: &str, code: &str) -> bool {
    let (s, c) = (suffix.as_bytes(), code.as_bytes());
    s.len() == c.len() && !s.is_empty() && s[0] == c[0].to_ascii_uppercase() && s[1..] == c[1..]
}

/// `name` and `_name` of an object: one scan for small objects (most FHIR elements), two
/// hashed lookups for large ones.
pub fn value_and_meta<'a>(obj: &'a serde_json::Map<String, Json>, name: &str) -> (Option<&'a Json>, Option<&'a Json>) {
    if obj.len() > 12 {
        return (obj.get(name), lookup(obj, true, name, None));
    }
    let (mut value, mut meta) = (None, None);
    for (k, v) in obj {
        if k == name {
            value = Some(v);
        } else if k.len() == name.len() + 1 && k.as_bytes()[0] == b'_' && &k[1..] == name {
            meta = Some(v);
        }
    }
    (value, meta)
}

/// Looks up `name`, `_name`, `nameType` or `_nameType` without allocating (element names
/// are short; longer ones fall back to a `String`).
pub fn lookup<'a>(obj: &'a serde_json::Map<String, Json>, underscore: bool, name: &str, type_code: Option<&str>) -> Option<&'a Json> {
    let code = type_code.unwrap_or("");
    let len = underscore as usize + name.len() + code.len();
    let mut buf = [0u8; 128];
    if len > buf.len() {
        let key = format!("{}{name}{}", if underscore { "_" } else { "" }, capitalize(code));
        return obj.get(&key);
    }
    let mut at = 0;
    if underscore {
        buf[0] = b'_';
        at = 1;
    }
    buf[at..at + name.len()].copy_from_slice(name.as_bytes());
    at += name.len();
    buf[at..at + code.len()].copy_from_slice(code.as_bytes());
    if let Some(first) = buf.get_mut(at).filter(|_| !code.is_empty()) {
        *first = first.to_ascii_uppercase();
    }
    let key = std::str::from_utf8(&buf[..len]).ok()?;
    obj.get(key)
}

fn is_resource(v: &Value) -> bool {
    matches!(v, Value::Node(n) if n.json.and_then(|j| j.get("resourceType")).is_some())
}

/// `valueQuantity` when the model has `value[x]` with a `Quantity` type: (base, type).
fn typed_choice_name(model: &dyn Model, parent: &str, name: &str) -> Option<(String, ElementType)> {
    for (i, c) in name.char_indices().skip(1) {
        if !c.is_ascii_uppercase() {
            continue;
        }
        let (base, suffix) = name.split_at(i);
        if let Some(def) = model.child(parent, base)
            && def.choice
            && let Some(t) = def.types.iter().find(|t| capitalize(t.code) == suffix)
        {
            return Some((base.to_string(), *t));
        }
    }
    None
}

/// Appends the node(s) for a JSON property and its `_name` companion; arrays are aligned.
pub(crate) fn push_values<'a>(
    out: &mut Collection<'a>,
    value: Option<&'a Json>,
    meta: Option<&'a Json>,
    ty: Option<ElementType>,
    model: Option<&dyn Model>,
) {
    member_nodes(value, meta, ty, model, |n| out.push(Value::Node(n)));
}

/// The node(s) of a JSON property and its `_name` companion, in order: an array item by item,
/// aligned with the companion's array; `null`s are absent. Public for walks that must read
/// members exactly as the engine does (the search indexer's fast path).
pub fn member_nodes<'a>(
    value: Option<&'a Json>,
    meta: Option<&'a Json>,
    ty: Option<ElementType>,
    model: Option<&dyn Model>,
    mut each: impl FnMut(Node<'a>),
) {
    let present = |j: Option<&'a Json>| j.filter(|j| !j.is_null());
    match (present(value), present(meta)) {
        (None, None) => {}
        (Some(Json::Array(values)), meta) => {
            let metas = meta.and_then(Json::as_array);
            for (i, v) in values.iter().enumerate() {
                let m = present(metas.and_then(|m| m.get(i)));
                if present(Some(v)).is_some() || m.is_some() {
                    each(Node::new(present(Some(v)), m, ty, model));
                }
            }
        }
        (None, Some(Json::Array(metas))) => {
            for m in metas.iter().filter(|m| !m.is_null()) {
                each(Node::new(None, Some(m), ty, model));
            }
        }
        (v, m) => each(Node::new(v, m, ty, model)),
    }
}

/// `|`: both collections without duplicates, in order of first appearance.
pub(crate) fn union<'a>(a: Collection<'a>, b: Collection<'a>) -> Collection<'a> {
    let mut out: Collection<'a> = Vec::with_capacity(a.len() + b.len());
    for v in a.into_iter().chain(b) {
        if !out.iter().any(|x| ops::item_equal(x, &v) == Some(true)) {
            out.push(v);
        }
    }
    out
}

pub(crate) fn collection_equal(a: &[Value], b: &[Value]) -> Option<bool> {
    if a.len() != b.len() {
        return Some(false);
    }
    let mut unknown = false;
    for (x, y) in a.iter().zip(b) {
        match ops::item_equal(x, y) {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown { None } else { Some(true) }
}

pub(crate) fn collection_equivalent(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (i, y) in b.iter().enumerate() {
            if !used[i] && ops::item_equivalent(x, y) {
                used[i] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}
