//! Type functions (`is`, `as`, `ofType`, `type`), the FHIR additions (`extension`,
//! `hasValue`, `getValue`, `resolve`, `memberOf`, `conformsTo`, ...) and the clock.

use super::Call;
use crate::ast::Func;
use crate::datetime::{self, Dt, Precision};
use crate::error::EvalResult;
use crate::parser::spec_from_text;
use crate::value::{Collection, Node, Value};
use serde_json::Value as Json;
use std::borrow::Cow;

pub(super) fn types<'a>(c: &Call<'_, '_, 'a>, func: Func, input: Collection<'a>) -> EvalResult<Collection<'a>> {
    if func == Func::Type {
        return Ok(input
            .iter()
            .map(|v| {
                let (namespace, name) = v.type_name();
                Value::Type { namespace, name }
            })
            .collect());
    }
    let spec = match c.args.first().map(|e| &e.kind) {
        Some(crate::ast::ExprKind::Literal(crate::ast::Literal::String(s))) => spec_from_text(s),
        _ => return Err(c.err("expected a type name")),
    };
    let filter = func == Func::OfType || (func == Func::As && c.env.ctx.lenient && input.len() > 1);
    match func {
        _ if filter => {
            let mut out = Vec::new();
            for v in input {
                if c.env.is_type(&v, &spec, true, c.pos)? {
                    out.push(v);
                }
            }
            Ok(out)
        }
        _ => match c.env.singleton(&input, c.pos)? {
            None => Ok(Vec::new()),
            Some(item) if func == Func::Is => Ok(vec![Value::Boolean(c.env.is_type(item, &spec, false, c.pos)?)]),
            Some(item) => {
                Ok(if c.env.is_type(item, &spec, true, c.pos)? { vec![item.clone()] } else { Vec::new() })
            }
        },
    }
}

fn clock(c: &Call) -> Dt {
    if let Some(now) = c.env.ctx.now {
        return now;
    }
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let days = elapsed.div_euclid(86_400_000);
    let ms = elapsed.rem_euclid(86_400_000);
    let (y, m, d) = datetime::civil_from_days(days);
    Dt {
        year: y as i32,
        month: m as u8,
        day: d as u8,
        hour: (ms / 3_600_000) as u8,
        minute: (ms / 60_000 % 60) as u8,
        second: (ms / 1000 % 60) as u8,
        nanos: (ms % 1000) as u32 * 1_000_000,
        frac_digits: 3,
        precision: Precision::Second,
        tz: Some(0),
    }
}

fn reference_text<'a>(v: &Value<'a>) -> Option<Cow<'a, str>> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Node(n) => match n.json? {
            Json::String(s) => Some(Cow::Borrowed(s.as_str())),
            Json::Object(o) => o.get("reference").and_then(Json::as_str).map(Cow::Borrowed),
            _ => None,
        },
        _ => None,
    }
}

/// Finds the target of a reference in the resource's contained resources or in the entries
/// of the Bundle the evaluation started from.
fn resolve<'a>(c: &Call<'_, '_, 'a>, reference: &str) -> Option<Value<'a>> {
    let found = resolve_local(c, reference);
    if found.is_some() || !c.env.ctx.typed_references {
        return found;
    }
    // `[base/]Type/id[/_history/v]`: the last segment pair whose first part is a resource type
    let model = c.env.model?;
    let segments: Vec<&str> = reference.split('/').collect();
    let ty = segments.windows(2).rev().find_map(|w| {
        let info = model.type_info(w[0])?;
        (info.kind == crate::model::Kind::Resource && !info.is_abstract && !w[1].is_empty()).then_some(info.name)
    })?;
    static STAND_IN: std::sync::OnceLock<Json> = std::sync::OnceLock::new();
    let empty: &'static Json = STAND_IN.get_or_init(|| Json::Object(serde_json::Map::new()));
    Some(Value::Node(Node { json: Some(empty), meta: None, ty: Some(crate::model::ElementType { code: ty, key: ty }) }))
}

fn resolve_local<'a>(c: &Call<'_, '_, 'a>, reference: &str) -> Option<Value<'a>> {
    let model = c.env.model;
    let node = |j: &'a Json| Value::Node(Node::new(Some(j), None, None, model));
    let json_of = |coll: &[Value<'a>]| match coll.first() {
        Some(Value::Node(n)) => n.json,
        _ => None,
    };
    if let Some(id) = reference.strip_prefix('#') {
        for scope in [&c.env.resource, &c.env.root_resource] {
            let contained = json_of(scope).and_then(|r| r.get("contained")).and_then(Json::as_array);
            if let Some(found) = contained.into_iter().flatten().find(|r| r.get("id").and_then(Json::as_str) == Some(id)) {
                return Some(node(found));
            }
        }
        return None;
    }
    let root = json_of(&c.env.root_resource)?;
    let entries = root.get("entry").and_then(Json::as_array)?;
    let relative = reference.rsplit('/').take(2).collect::<Vec<_>>();
    for e in entries {
        let resource = e.get("resource")?;
        if e.get("fullUrl").and_then(Json::as_str) == Some(reference) {
            return Some(node(resource));
        }
        if let [id, ty] = relative.as_slice()
            && resource.get("resourceType").and_then(Json::as_str) == Some(*ty)
            && resource.get("id").and_then(Json::as_str) == Some(*id)
        {
            return Some(node(resource));
        }
    }
    None
}

fn codes<'a>(v: &Value<'a>) -> Vec<(Option<&'a str>, Cow<'a, str>)> {
    match v {
        Value::String(s) => vec![(None, s.clone())],
        Value::Node(n) => match n.json {
            Some(Json::String(s)) => vec![(None, Cow::Borrowed(s.as_str()))],
            Some(Json::Object(o)) => {
                let coding = |c: &'a Json| {
                    let code = c.get("code").and_then(Json::as_str)?;
                    Some((c.get("system").and_then(Json::as_str), Cow::Borrowed(code)))
                };
                match o.get("coding").and_then(Json::as_array) {
                    Some(list) => list.iter().filter_map(coding).collect(),
                    None => n.json.and_then(coding).into_iter().collect(),
                }
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

pub(super) fn call<'a>(c: &Call<'_, '_, 'a>, func: Func, input: Collection<'a>) -> EvalResult<Collection<'a>> {
    match func {
        Func::Now => Ok(vec![Value::DateTime(clock(c))]),
        Func::Today => {
            let mut d = clock(c);
            d.precision = Precision::Day;
            d.tz = None;
            Ok(vec![Value::Date(d)])
        }
        Func::TimeOfDay => {
            let mut d = clock(c);
            d.tz = None;
            Ok(vec![Value::Time(d)])
        }
        Func::Extension => {
            let Some(url) = c.string_arg(0)? else { return Ok(Vec::new()) };
            let mut exts = Vec::new();
            for item in &input {
                c.env.navigate(item, "extension", &mut exts, c.pos)?;
            }
            Ok(exts
                .into_iter()
                .filter(|e| matches!(e, Value::Node(n) if n.json.and_then(|j| j.get("url")).and_then(Json::as_str) == Some(url.as_str())))
                .collect())
        }
        Func::HasValue => Ok(vec![Value::Boolean(match input.as_slice() {
            [Value::Node(n)] => n.is_primitive() && n.json.is_some(),
            [Value::Type { .. }] => false,
            [_] => true,
            _ => false,
        })]),
        Func::GetValue => Ok(match input.as_slice() {
            [Value::Node(n)] if n.is_primitive() => n.to_system().into_iter().collect(),
            [v @ Value::Node(_)] | [v @ Value::Type { .. }] => {
                let _ = v;
                Vec::new()
            }
            [v] => vec![v.clone()],
            _ => Vec::new(),
        }),
        Func::Resolve => {
            let mut out = Vec::new();
            for item in &input {
                if let Some(r) = reference_text(item).and_then(|r| resolve(c, &r)) {
                    out.push(r);
                }
            }
            Ok(out)
        }
        Func::MemberOf => {
            let Some(vs) = c.string_arg(0)? else { return Ok(Vec::new()) };
            let Some(item) = c.env.singleton(&input, c.pos)? else { return Ok(Vec::new()) };
            let Some(terminology) = c.env.ctx.terminology else { return Ok(Vec::new()) };
            let mut unknown = false;
            for (system, code) in codes(item) {
                match terminology.member_of(&vs, system, &code) {
                    Some(true) => return Ok(vec![Value::Boolean(true)]),
                    Some(false) => {}
                    None => unknown = true,
                }
            }
            Ok(if unknown { Vec::new() } else { vec![Value::Boolean(false)] })
        }
        Func::ConformsTo => {
            let Some(url) = c.string_arg(0)? else { return Ok(Vec::new()) };
            let target = url
                .strip_prefix("http://hl7.org/fhir/StructureDefinition/")
                .and_then(|t| c.env.model.and_then(|m| m.type_info(t)));
            let Some(target) = target else {
                return Err(c.err(format!("unknown profile {url}")));
            };
            let Some(item) = c.env.singleton(&input, c.pos)? else { return Ok(Vec::new()) };
            let (_, actual) = item.type_name();
            let ok = c.env.model.is_some_and(|m| m.is_subtype(&actual, target.name));
            Ok(vec![Value::Boolean(ok)])
        }
        Func::HtmlChecks => Ok(vec![Value::Boolean(true)]),
        Func::CheckModifiers => Ok(input),
        Func::Subsumes | Func::SubsumedBy => Ok(Vec::new()),
        Func::ElementDefinition | Func::Slice => Ok(Vec::new()),
        _ => Err(c.err(format!("{}() is not implemented", func.name()))),
    }
}
