//! The walk itself: navigation, `ofType`, the two `where` forms and `|`, each written to
//! give what `salus_fhirpath`'s evaluator gives (its `navigate`, `push_values`, `is_type`,
//! `union` and the string functions), and to [`Defer`] wherever the data leads somewhere this
//! walk does not follow.

use super::{Child, Expr, Head, Step, StringOp, StringTest, TypeTest, model};
use salus_fhirpath::{ChildDef, ElementType, Kind, Model, Node};
use serde_json::{Map, Value as Json};

/// The general engine must answer for this evaluation.
#[derive(Debug)]
pub(super) struct Defer;

type Walk<T> = Result<T, Defer>;

pub(super) fn eval<'a>(e: &Expr, focus: &[Node<'a>]) -> Walk<Vec<Node<'a>>> {
    match e {
        Expr::Union(l, r) => {
            let a = eval(l, focus)?;
            let b = eval(r, focus)?;
            union(a, b)
        }
        Expr::Path { head, steps } => {
            let mut current = match head {
                Head::Name(name) => identifier(focus, name)?,
                Head::Group(inner) => eval(inner, focus)?,
            };
            let mut next = Vec::new();
            for step in steps {
                if current.is_empty() {
                    break;
                }
                next.clear();
                for node in &current {
                    apply(step, node, &mut next)?;
                }
                std::mem::swap(&mut current, &mut next);
            }
            Ok(current)
        }
    }
}

fn apply<'a>(step: &Step, node: &Node<'a>, out: &mut Vec<Node<'a>>) -> Walk<()> {
    let keep = match step {
        Step::Child(c) => return navigate(node, &c.name, c.expected, out),
        Step::OfType(t) => is_type(node, *t)?,
        Step::WhereEquals { child, literal } => child_equals(node, child, literal)?,
        Step::WhereAny(tests) => any_string_test(node, tests)?,
    };
    if keep {
        out.push(*node);
    }
    Ok(())
}

/// A name at the start of a path: a capitalised name selects the focus items of that type
/// (`Observation`, or `Resource` for any resource); a resource type the focus is not gives
/// nothing; other names navigate.
fn identifier<'a>(focus: &[Node<'a>], name: &str) -> Walk<Vec<Node<'a>>> {
    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        let m = model();
        let mut matching = Vec::new();
        for n in focus {
            // (untyped, the engine guesses the type from the JSON)
            let t = n.ty.ok_or(Defer)?.code;
            if t == name || m.is_subtype(t, name) {
                matching.push(*n);
            }
        }
        if !matching.is_empty() || m.type_info(name).is_some_and(|t| t.kind == Kind::Resource) {
            return Ok(matching);
        }
    }
    let mut out = Vec::new();
    for n in focus {
        navigate(n, name, None, &mut out)?;
    }
    Ok(out)
}

/// The children `name` of a typed element, appended to `out`; `expected` is the element's
/// definition in the type the compiler expected the node to have.
fn navigate<'a>(node: &Node<'a>, name: &str, expected: Option<(&str, &'static ChildDef)>, out: &mut Vec<Node<'a>>) -> Walk<()> {
    let Some(Json::Object(obj)) = node.json else {
        // a primitive has only `id` and `extension`, from its `_name` companion
        if matches!(name, "extension" | "id") && node.meta.is_some_and(Json::is_object) {
            return Err(Defer);
        }
        return Ok(());
    };
    // untyped JSON, or a name the model does not have here (the engine then reports a misused
    // choice name, or walks the JSON untyped)
    let ty = node.ty.ok_or(Defer)?;
    let def = match expected {
        Some((key, def)) if key == ty.key => def,
        _ => model().child(ty.key, name).ok_or(Defer)?,
    };
    if def.choice {
        choice(obj, name, &def.types, out);
    } else {
        let (value, meta) = salus_fhirpath::json_member_and_meta(obj, name);
        push_values(out, value, meta, def.types.first().copied());
    }
    Ok(())
}

/// `value[x]`: the first JSON property, in document order, that is `name` followed by one of
/// the element's type names (or its `_` companion), with its companion.
fn choice<'a>(obj: &'a Map<String, Json>, name: &str, types: &[ElementType], out: &mut Vec<Node<'a>>) {
    for (k, v) in obj {
        let (is_meta, rest) = match k.strip_prefix('_') {
            Some(r) => (true, r),
            None => (false, k.as_str()),
        };
        let Some(suffix) = rest.strip_prefix(name) else { continue };
        let Some(t) = types.iter().find(|t| type_suffix_matches(suffix, t.code)) else { continue };
        let (value, meta) = if is_meta {
            (salus_fhirpath::json_member(obj, false, name, Some(t.code)), Some(v))
        } else {
            (Some(v), salus_fhirpath::json_member(obj, true, name, Some(t.code)))
        };
        push_values(out, value, meta, Some(*t));
        break;
    }
}

/// `Quantity` for type code `Quantity`, `String` for `string`.
fn type_suffix_matches(suffix: &str, code: &str) -> bool {
    let (s, c) = (suffix.as_bytes(), code.as_bytes());
    s.len() == c.len() && !s.is_empty() && s[0] == c[0].to_ascii_uppercase() && s[1..] == c[1..]
}

/// The node(s) for a JSON property and its `_name` companion, as the engine makes them.
fn push_values<'a>(out: &mut Vec<Node<'a>>, value: Option<&'a Json>, meta: Option<&'a Json>, ty: Option<ElementType>) {
    salus_fhirpath::member_nodes(value, meta, ty, Some(model() as &dyn Model), |n| out.push(n));
}

/// `ofType(T)`: the node's type is `T` or, unless it is a primitive, derives from it.
fn is_type(node: &Node<'_>, test: TypeTest) -> Walk<bool> {
    let TypeTest::Fhir(name) = test else { return Ok(false) };
    let actual = node.ty.ok_or(Defer)?.code;
    if actual == name {
        return Ok(true);
    }
    let m = model();
    if m.type_info(actual).is_some_and(|t| t.kind == Kind::Primitive) {
        return Ok(false);
    }
    Ok(m.is_subtype(actual, name))
}

/// Types whose JSON string the engine converts (to a date, a number, ...) before comparing
/// it; this walk compares text only, so these defer.
fn converted(ty: Option<ElementType>) -> bool {
    ty.is_some_and(|t| {
        matches!(t.code, "date" | "dateTime" | "instant" | "time" | "integer" | "positiveInt" | "unsignedInt" | "integer64" | "decimal")
    })
}

/// `where(child = 'literal')`: true only for exactly one `child` that is that text.
fn child_equals(node: &Node<'_>, child: &Child, literal: &str) -> Walk<bool> {
    let mut kids = Vec::new();
    navigate(node, &child.name, child.expected, &mut kids)?;
    let [one] = kids.as_slice() else {
        // none: empty, so not true; several: a different count, so false
        return Ok(false);
    };
    match one.json {
        Some(Json::String(_)) if converted(one.ty) => Err(Defer),
        Some(Json::String(s)) => Ok(s == literal),
        // numbers, booleans, structures and value-less primitives never equal a String
        _ => Ok(false),
    }
}

/// `where(a.startsWith('x') or b.contains('y') ...)`, with FHIRPath's three-valued `or`
/// evaluated left to right and short-circuited as the engine does.
fn any_string_test(node: &Node<'_>, tests: &[StringTest]) -> Walk<bool> {
    let mut result: Option<bool> = None;
    for (i, t) in tests.iter().enumerate() {
        if i > 0 && result == Some(true) {
            break;
        }
        let b = string_test(node, t)?;
        result = if i == 0 {
            b
        } else {
            match (result, b) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }
        };
    }
    Ok(result == Some(true))
}

/// `child.startsWith('x')` / `child.contains('x')`: empty without a child; several children,
/// or one that is not a String, are errors in the engine, so defer.
fn string_test(node: &Node<'_>, t: &StringTest) -> Walk<Option<bool>> {
    let mut kids = Vec::new();
    navigate(node, &t.child.name, t.child.expected, &mut kids)?;
    match kids.as_slice() {
        [] => Ok(None),
        [one] => match one.json {
            Some(Json::String(s)) if !converted(one.ty) => Ok(Some(match t.op {
                StringOp::StartsWith => s.starts_with(t.needle.as_str()),
                StringOp::Contains => s.contains(t.needle.as_str()),
            })),
            _ => Err(Defer),
        },
        _ => Err(Defer),
    }
}

/// `a | b`: items of both without duplicates, in order of first appearance.
fn union<'a>(a: Vec<Node<'a>>, b: Vec<Node<'a>>) -> Walk<Vec<Node<'a>>> {
    let mut out: Vec<Node<'a>> = Vec::with_capacity(a.len() + b.len());
    for v in a.into_iter().chain(b) {
        let mut duplicate = false;
        for x in &out {
            if equal(x, &v)? {
                duplicate = true;
                break;
            }
        }
        if !duplicate {
            out.push(v);
        }
    }
    Ok(out)
}

/// FHIRPath `=` between two nodes, where this walk can tell: structures by their JSON, and
/// strings and booleans by value; a node without a value, or an array, equals nothing.
fn equal(x: &Node<'_>, y: &Node<'_>) -> Walk<bool> {
    use Json::*;
    match (x.json, y.json) {
        (Some(a @ Object(_)), Some(b @ Object(_))) => Ok(salus_fhirpath::json_eq(a, b)),
        (Some(Object(_)), _) | (_, Some(Object(_))) => Ok(false),
        (None, _) | (_, None) | (Some(Array(_)), _) | (_, Some(Array(_))) => Ok(false),
        (Some(String(_)), _) if converted(x.ty) => Err(Defer),
        (_, Some(String(_))) if converted(y.ty) => Err(Defer),
        (Some(String(a)), Some(String(b))) => Ok(a == b),
        (Some(Bool(a)), Some(Bool(b))) => Ok(a == b),
        (Some(Bool(_)), Some(String(_))) | (Some(String(_)), Some(Bool(_))) => Ok(false),
        // numbers compare as decimals
        _ => Err(Defer),
    }
}
