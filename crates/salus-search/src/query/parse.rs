//! From raw query pairs (in order, as the client sent them) to a [`Query`]. Each filter
//! parameter is resolved for each searched type through the registry; an unknown parameter, or
//! an unsupported modifier, is an error naming it, or under lenient handling an issue.

use super::value::{self, parts, split_escaped};
use super::*;
use crate::SearchError;
use crate::registry::{ParamType, Registry, SearchParam};

/// Chains and `_has` may nest this deep; deeper is refused rather than compiled.
const MAX_DEPTH: usize = 4;

/// The most predicates a whole query may compile to: SQLite takes 32,766 arguments per
/// statement, and a predicate takes at most three.
const MAX_WEIGHT: usize = 4_000;

/// Comma-separated alternatives per parameter, at most (each becomes SQL arguments).
const MAX_OR_VALUES: usize = 500;

/// Parameters the HTTP layer interprets, which search accepts and ignores.
const TRANSPORT_PARAMS: &[&str] = &["_format", "_pretty", "_cursor"];

pub struct SearchContext<'a> {
    pub registry: &'a Registry,
    /// The type searched (`/Observation?...`); `None` for a system-level search.
    pub resource_type: Option<&'a str>,
    /// A compartment search: (`Patient`, `123`).
    pub compartment: Option<(&'a str, &'a str)>,
    /// `Prefer: handling=lenient`: unknown parameters become issues instead of errors.
    pub lenient: bool,
    /// Now, for `ap` on dates.
    pub now_ms: i64,
    /// The code systems token `:below` / `:above` may use, loaded by the caller for the
    /// systems the query names ([`super::subsumption_systems`]); `None` where none were loaded,
    /// and subsumption is refused.
    pub code_systems: Option<&'a crate::CodeSystems>,
}

pub fn parse(ctx: &SearchContext<'_>, params: &[(String, String)]) -> Result<Query, SearchError> {
    let defs = salus_fhir::r4();
    let mut query = Query {
        types: Vec::new(),
        conditions: Vec::new(),
        sort: Vec::new(),
        count: None,
        total: TotalMode::default(),
        summary: None,
        elements: Vec::new(),
        includes: Vec::new(),
        revincludes: Vec::new(),
        issues: Vec::new(),
    };
    // The types: the URL's, else `_type`, else the compartment's, else all.
    let type_param: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "_type")
        .flat_map(|(_, v)| v.split(',').map(str::trim).map(str::to_string).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect();
    for t in &type_param {
        if !defs.is_resource_type(t) {
            return Err(SearchError::UnknownType(t.clone()));
        }
    }
    let compartment_def = match ctx.compartment {
        Some((c, id)) => {
            let def = defs.compartment(c).ok_or_else(|| SearchError::UnknownCompartment(c.to_string()))?;
            if !salus_fhir::resource::is_valid_id(id) {
                return Err(SearchError::BadValue { param: c.into(), value: id.into(), reason: "not a valid id".into() });
            }
            Some((def, id))
        }
        None => None,
    };
    query.types = match (ctx.resource_type, &compartment_def) {
        (Some(t), _) => {
            if !defs.is_resource_type(t) {
                return Err(SearchError::UnknownType(t.to_string()));
            }
            vec![t.to_string()]
        }
        (None, _) if !type_param.is_empty() => type_param,
        (None, Some((def, _))) => def.resource.iter().filter(|r| !r.param.is_empty()).map(|r| r.code.clone()).collect(),
        (None, None) => defs.resource_types().map(str::to_string).collect(),
    };
    if let Some((def, id)) = compartment_def {
        let mut by_type = Vec::new();
        for t in &query.types {
            let owner = Predicate::Reference { types: vec![def.code.clone()], id: id.to_string() };
            let mut any = Vec::new();
            if *t == def.code {
                any.push(Condition::Ids(vec![id.to_string()]));
            }
            if let Some(r) = def.resource.iter().find(|r| r.code == *t) {
                for p in &r.param {
                    if ctx.registry.get(t, p).is_some_and(|sp| sp.param_type == ParamType::Reference) {
                        any.push(Condition::Match { table: ParamType::Reference, param: p.clone(), any_of: vec![owner.clone()] });
                    }
                }
            }
            by_type.push((t.clone(), if any.is_empty() { Condition::Nothing } else { Condition::AnyOf(any) }));
        }
        query.conditions.push(TypedConditions { by_type });
    }

    for (name, value) in params {
        let outcome = control(ctx, &mut query, name, value).and_then(|handled| {
            if handled {
                return Ok(());
            }
            let mut by_type = Vec::new();
            for t in &query.types {
                if let Some(c) = condition(ctx, t, name, value, 0)? {
                    by_type.push((t.clone(), c));
                }
            }
            if by_type.is_empty() {
                return Err(SearchError::UnknownParameter { param: name.clone(), types: query.types.join(", ") });
            }
            query.conditions.push(TypedConditions { by_type });
            Ok(())
        });
        match outcome {
            Ok(()) => {}
            Err(e) if ctx.lenient && e.is_ignorable() => query.issues.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    let weight: usize = query.conditions.iter().flat_map(|c| &c.by_type).map(|(_, c)| weight(c)).sum();
    if weight > MAX_WEIGHT {
        return Err(SearchError::TooLarge { weight, max: MAX_WEIGHT });
    }
    Ok(query)
}

/// Predicates a condition compiles to (each a few SQL arguments), to bound a query's size.
fn weight(c: &Condition) -> usize {
    match c {
        Condition::Match { any_of, .. } => any_of
            .iter()
            .map(|p| match p {
                Predicate::TokenIn(codes) => codes.len(),
                _ => 1,
            })
            .sum(),
        Condition::Missing { .. } | Condition::Nothing | Condition::FullText { .. } => 1,
        Condition::Ids(ids) => ids.len().max(1),
        Condition::LastUpdated(p) => p.len(),
        Condition::Not(inner) => 1 + weight(inner),
        Condition::Chain { targets, .. } => targets.iter().map(|(_, c)| 1 + weight(c)).sum(),
        Condition::Has { inner, .. } => 1 + weight(inner),
        Condition::AnyOf(cs) => cs.iter().map(weight).sum(),
    }
}

/// Result parameters (`_count`, `_sort`, `_include`, ...). `Ok(true)` when `name` was one.
fn control(ctx: &SearchContext<'_>, query: &mut Query, name: &str, value: &str) -> Result<bool, SearchError> {
    let bad = |reason: &str| SearchError::BadValue { param: name.into(), value: value.into(), reason: reason.into() };
    let (base, modifier) = match name.split_once(':') {
        Some((b, m)) => (b, Some(m)),
        None => (name, None),
    };
    match base {
        "_type" => {}
        p if TRANSPORT_PARAMS.contains(&p) => {}
        "_count" => {
            query.count = Some(value.trim().parse().map_err(|_| bad("expected a whole number of entries per page"))?);
        }
        "_total" => {
            query.total = match value {
                "none" => TotalMode::None,
                "estimate" => TotalMode::Estimate,
                "accurate" => TotalMode::Accurate,
                _ => return Err(bad("expected none, estimate or accurate")),
            }
        }
        "_summary" => {
            query.summary = Some(match value {
                "true" => Summary::True,
                "false" => Summary::False,
                "text" => Summary::Text,
                "data" => Summary::Data,
                "count" => Summary::Count,
                _ => return Err(bad("expected true, false, text, data or count")),
            })
        }
        "_elements" => query.elements.extend(value.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_string)),
        "_sort" => {
            for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                let (descending, code) = match key.strip_prefix('-') {
                    Some(c) => (true, c),
                    None => (false, key),
                };
                let by = match code {
                    "_id" => SortBy::Id,
                    "_lastUpdated" => SortBy::LastUpdated,
                    _ => {
                        let p = query
                            .types
                            .iter()
                            .find_map(|t| ctx.registry.get(t, code))
                            .filter(|p| !matches!(p.param_type, ParamType::Composite | ParamType::Special))
                            .ok_or_else(|| SearchError::UnknownParameter { param: format!("_sort={code}"), types: query.types.join(", ") })?;
                        SortBy::Param { table: p.param_type, param: p.code.clone() }
                    }
                };
                query.sort.push(SortKey { descending, by });
            }
        }
        "_include" | "_revinclude" => {
            let iterate = match modifier {
                None => false,
                Some("iterate" | "recurse") => true,
                Some(m) => return Err(SearchError::UnsupportedModifier { param: base.into(), modifier: m.into() }),
            };
            let include = include(ctx, value, iterate).map_err(|reason| bad(&reason))?;
            if base == "_include" {
                query.includes.push(include);
            } else {
                query.revincludes.push(include);
            }
        }
        "_query" | "_filter" | "_contained" | "_containedType" | "_source"
            if ctx.registry.get(query.types.first().map_or("Resource", String::as_str), base).is_none()
                || base == "_query" =>
        {
            return Err(SearchError::Unsupported(format!("{base} is not supported by this server")));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `Source:param[:Target]`, `Source:*` or `*`.
fn include(ctx: &SearchContext<'_>, value: &str, iterate: bool) -> Result<Include, String> {
    if value == "*" {
        return Ok(Include { source_type: "*".into(), param: None, target_type: None, iterate });
    }
    let mut it = value.split(':');
    let source = it.next().unwrap_or_default();
    let param = it.next().ok_or("expected Source:parameter[:Target]")?;
    let target = it.next();
    if !salus_fhir::r4().is_resource_type(source) {
        return Err(format!("`{source}` is not a resource type"));
    }
    if let Some(t) = target.filter(|t| !salus_fhir::r4().is_resource_type(t)) {
        return Err(format!("`{t}` is not a resource type"));
    }
    let param = if param == "*" {
        None
    } else {
        match ctx.registry.get(source, param) {
            Some(p) if p.param_type == ParamType::Reference => Some(param.to_string()),
            Some(_) => return Err(format!("{source}:{param} is not a reference parameter")),
            None => return Err(format!("{source} has no search parameter `{param}`")),
        }
    };
    Ok(Include { source_type: source.into(), param, target_type: target.map(str::to_string), iterate })
}

/// The condition `name=value` means for resources of `resource_type`; `None` when the
/// parameter does not exist for that type.
fn condition(
    ctx: &SearchContext<'_>,
    resource_type: &str,
    name: &str,
    value: &str,
    depth: usize,
) -> Result<Option<Condition>, SearchError> {
    if depth > MAX_DEPTH {
        return Err(SearchError::Unsupported(format!("`{name}` nests chains or _has deeper than {MAX_DEPTH}")));
    }
    if let Some(rest) = name.strip_prefix("_has:") {
        let mut it = rest.splitn(3, ':');
        let (source, param, inner) = match (it.next(), it.next(), it.next()) {
            (Some(s), Some(p), Some(i)) if !i.is_empty() => (s, p, i),
            _ => {
                return Err(SearchError::BadValue {
                    param: name.into(),
                    value: value.into(),
                    reason: "_has is written _has:Type:reference-parameter:parameter=value".into(),
                });
            }
        };
        if !salus_fhir::r4().is_resource_type(source) {
            return Err(SearchError::UnknownType(source.to_string()));
        }
        match ctx.registry.get(source, param) {
            Some(p) if p.param_type == ParamType::Reference => {}
            _ => return Err(SearchError::UnknownParameter { param: format!("{source}:{param} (in {name})"), types: source.into() }),
        }
        let inner = condition(ctx, source, inner, value, depth + 1)?
            .ok_or_else(|| SearchError::UnknownParameter { param: format!("{inner} (in {name})"), types: source.into() })?;
        return Ok(Some(Condition::Has { source_type: source.into(), param: param.into(), inner: Box::new(inner) }));
    }
    if let Some((head, tail)) = name.split_once('.') {
        let (code, type_modifier) = match head.split_once(':') {
            Some((c, m)) => (c, Some(m)),
            None => (head, None),
        };
        let Some(p) = ctx.registry.get(resource_type, code) else { return Ok(None) };
        if p.param_type != ParamType::Reference {
            return Err(SearchError::BadValue {
                param: name.into(),
                value: value.into(),
                reason: format!("`{code}` is not a reference parameter, so it cannot be chained"),
            });
        }
        let targets: Vec<String> = match type_modifier {
            Some(t) if salus_fhir::r4().is_resource_type(t) => vec![t.to_string()],
            Some(t) => return Err(SearchError::UnknownType(t.to_string())),
            None if p.targets.is_empty() => salus_fhir::r4().resource_types().map(str::to_string).collect(),
            None => p.targets.clone(),
        };
        let mut out = Vec::new();
        for t in targets {
            if let Some(c) = condition(ctx, &t, tail, value, depth + 1)? {
                out.push((t, c));
            }
        }
        if out.is_empty() {
            return Err(SearchError::UnknownParameter { param: name.into(), types: resource_type.into() });
        }
        return Ok(Some(Condition::Chain { param: code.into(), targets: out }));
    }
    let (code, modifier) = match name.split_once(':') {
        Some((c, m)) => (c, Some(m)),
        None => (name, None),
    };
    match code {
        "_id" => {
            if modifier.is_some_and(|m| m != "exact") {
                return Err(unsupported(name, modifier));
            }
            return Ok(Some(Condition::Ids(parts(value, ',').into_iter().filter(|v| !v.is_empty()).collect())));
        }
        "_text" | "_content" => {
            if modifier.is_some() {
                return Err(unsupported(name, modifier));
            }
            let expression = crate::fulltext::expression(value).ok_or_else(|| SearchError::BadValue {
                param: name.into(),
                value: value.into(),
                reason: "expected words to find (commas separate alternatives)".into(),
            })?;
            return Ok(Some(Condition::FullText { narrative: code == "_text", expression }));
        }
        "_list" => {
            if modifier.is_some() {
                return Err(unsupported(name, modifier));
            }
            return list(name, value).map(Some);
        }
        "_lastUpdated" => {
            if modifier.is_some() {
                return Err(unsupported(name, modifier));
            }
            let preds = split_escaped(value, ',')
                .iter()
                .map(|v| value::date_predicate(name, v, ctx.now_ms))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Some(Condition::LastUpdated(preds)));
        }
        _ => {}
    }
    let Some(p) = ctx.registry.get(resource_type, code) else { return Ok(None) };
    filter(ctx, p, name, modifier, value).map(Some)
}

/// `_list=id`: the resources the List's `entry.item` refers to, which is `_has:List:item:_id=id`
/// (an unknown or deleted List refers to nothing). Functional lists (`$current-problems`, ...)
/// are computed lists this server does not keep.
fn list(name: &str, value: &str) -> Result<Condition, SearchError> {
    let bad = |reason: &str| SearchError::BadValue { param: name.into(), value: value.into(), reason: reason.into() };
    let mut ids = Vec::new();
    for v in parts(value, ',').into_iter().filter(|v| !v.is_empty()) {
        if v.starts_with('$') {
            return Err(SearchError::Unsupported(format!(
                "`_list={v}`: functional lists are not supported; name a List resource by its id"
            )));
        }
        let id = v.strip_prefix("List/").unwrap_or(&v);
        if !salus_fhir::resource::is_valid_id(id) {
            return Err(bad("expected the id of a List resource"));
        }
        ids.push(id.to_string());
    }
    if ids.is_empty() {
        return Err(bad("the value is empty"));
    }
    Ok(Condition::Has { source_type: "List".into(), param: "item".into(), inner: Box::new(Condition::Ids(ids)) })
}

/// Token `:below` / `:above`: each `system|code` expanded through the system's CodeSystem
/// hierarchy into the codes it subsumes (or that subsume it), matched like `:in`.
fn subsumed(ctx: &SearchContext<'_>, name: &str, values: &[&String], below: bool) -> Result<Predicate, SearchError> {
    let modifier = if below { "below" } else { "above" };
    let mut codes = Vec::new();
    for v in values {
        let split = parts(v, '|');
        let (system, code) = match split.as_slice() {
            [s, c] if !s.is_empty() && !c.is_empty() => (s, c),
            _ => {
                return Err(SearchError::BadValue {
                    param: name.into(),
                    value: v.to_string(),
                    reason: format!("`:{modifier}` takes system|code, the system being a CodeSystem this server holds"),
                });
            }
        };
        let cannot = |reason: String| SearchError::Subsumption { param: name.into(), system: system.clone(), reason };
        let systems = ctx.code_systems.ok_or_else(|| {
            cannot("subsumption is evaluated in searches only, not in conditional criteria or export filters".into())
        })?;
        let hierarchy = match systems.get(system) {
            None => {
                return Err(cannot(format!(
                    "it holds no CodeSystem resource with that url (load the CodeSystem, or search for the exact code without `:{modifier}`)"
                )));
            }
            Some(Err(why)) => return Err(cannot(format!("its CodeSystem cannot be used: {why}"))),
            Some(Ok(h)) => h,
        };
        let found = if below { hierarchy.below(code) } else { hierarchy.above(code) };
        let found = found.ok_or_else(|| cannot(format!("its CodeSystem does not define the code `{code}`")))?;
        codes.extend(found.into_iter().map(|c| (system.clone(), c)));
    }
    if codes.len() > 10_000 {
        return Err(SearchError::BadValue {
            param: name.into(),
            value: values.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(","),
            reason: format!("`:{modifier}` reaches more than 10,000 codes: name a narrower code"),
        });
    }
    Ok(Predicate::TokenIn(codes))
}

fn unsupported(name: &str, modifier: Option<&str>) -> SearchError {
    SearchError::UnsupportedModifier {
        param: name.split(':').next().unwrap_or(name).into(),
        modifier: modifier.unwrap_or_default().into(),
    }
}

fn filter(ctx: &SearchContext<'_>, p: &SearchParam, name: &str, modifier: Option<&str>, value: &str) -> Result<Condition, SearchError> {
    let bad = |reason: &str| SearchError::BadValue { param: name.into(), value: value.into(), reason: reason.into() };
    let table = p.param_type;
    let param = p.code.clone();
    if modifier == Some("missing") {
        let missing = match value {
            "true" => true,
            "false" => false,
            _ => return Err(bad("`:missing` takes true or false")),
        };
        return Ok(Condition::Missing { table, param, missing });
    }
    let values = split_escaped(value, ',');
    if values.iter().all(|v| v.is_empty()) {
        return Err(bad("the value is empty"));
    }
    let values: Vec<&String> = values.iter().filter(|v| !v.is_empty()).collect();
    if values.len() > MAX_OR_VALUES {
        return Err(bad(&format!("at most {MAX_OR_VALUES} comma-separated values per parameter")));
    }
    let each = |f: &dyn Fn(&str) -> Result<Predicate, SearchError>| values.iter().map(|v| f(v)).collect::<Result<Vec<_>, _>>();
    let matched = |any_of| Condition::Match { table, param: param.clone(), any_of };
    Ok(match (table, modifier) {
        (ParamType::String, None) => matched(each(&|v| Ok(value::string(v, StringMode::Prefix)))?),
        (ParamType::String, Some("exact")) => matched(each(&|v| Ok(value::string(v, StringMode::Exact)))?),
        (ParamType::String, Some("contains")) => matched(each(&|v| Ok(value::string(v, StringMode::Contains)))?),
        (ParamType::Token, None) => matched(each(&|v| value::token(name, v))?),
        (ParamType::Token, Some("not")) => Condition::Not(Box::new(matched(each(&|v| value::token(name, v))?))),
        (ParamType::Token, Some("text")) => {
            matched(each(&|v| Ok(Predicate::TokenText(crate::text::fold(&value::unescape(v)))))?)
        }
        (ParamType::Token, Some(m @ ("in" | "not-in"))) => {
            if values.len() > 8 {
                return Err(bad("at most 8 value sets per parameter"));
            }
            let mut codes = Vec::new();
            for v in &values {
                let url = value::unescape(v);
                let vs = salus_fhir::r4().value_set(&url).ok_or_else(|| bad("this server does not know that value set"))?;
                codes.extend(vs.codes().map(|(s, c)| (s.to_string(), c.to_string())));
            }
            if codes.len() > 10_000 {
                return Err(bad("the value sets hold more than 10,000 codes together: search with fewer"));
            }
            let c = matched(vec![Predicate::TokenIn(codes)]);
            if m == "in" { c } else { Condition::Not(Box::new(c)) }
        }
        (ParamType::Token, Some(m @ ("below" | "above"))) => matched(vec![subsumed(ctx, name, &values, m == "below")?]),
        (ParamType::Token, Some("of-type")) => {
            let any_of = each(&|v| match parts(v, '|').as_slice() {
                [system, code, id] if !code.is_empty() && !id.is_empty() => Ok(Predicate::Token {
                    system: if system.is_empty() { SystemMatch::Absent } else { SystemMatch::Is(system.clone()) },
                    code: Some(format!("{code}|{id}")),
                }),
                _ => Err(bad("`:of-type` takes system|code|value")),
            })?;
            Condition::Match { table, param: format!("{param}:of-type"), any_of }
        }
        (ParamType::Date, None) => matched(each(&|v| value::date_predicate(name, v, ctx.now_ms).map(Predicate::Date))?),
        (ParamType::Number, None) => matched(each(&|v| {
            let (pre, rest) = value::prefix(v);
            value::number(name, rest, pre).map(Predicate::Number)
        })?),
        (ParamType::Quantity, None) => matched(each(&|v| value::quantity(name, v).map(Predicate::Quantity))?),
        (ParamType::Reference, None) => matched(each(&|v| value::reference(name, v, None))?),
        (ParamType::Reference, Some("identifier")) => {
            Condition::Match { table: ParamType::Token, param: format!("{param}:identifier"), any_of: each(&|v| value::token(name, v))? }
        }
        (ParamType::Reference, Some(t)) if salus_fhir::r4().is_resource_type(t) => {
            if !p.targets.is_empty() && !p.targets.iter().any(|x| x == t) {
                return Err(bad(&format!("`{}` cannot refer to a {t}", p.code)));
            }
            matched(each(&|v| value::reference(name, v, Some(t)))?)
        }
        (ParamType::Uri, None) => matched(each(&|v| Ok(Predicate::Uri { mode: UriMode::Exact, value: value::unescape(v) }))?),
        (ParamType::Uri, Some("below")) => matched(each(&|v| Ok(Predicate::Uri { mode: UriMode::Below, value: value::unescape(v) }))?),
        (ParamType::Uri, Some("above")) => matched(each(&|v| {
            let v = value::unescape(v);
            Ok(Predicate::Uri { mode: UriMode::Above(value::uri_parents(&v)), value: v })
        })?),
        (ParamType::Composite, None) => {
            let (first, second, third) = match p.components.as_slice() {
                [first, second] => (first, second, None),
                [first, second, third] => (first, second, Some(third)),
                _ => {
                    return Err(SearchError::Unsupported(format!(
                        "composite `{}` with other than two or three components",
                        p.code
                    )));
                }
            };
            if first.param_type != ParamType::Token {
                return Err(SearchError::Unsupported(format!("composite `{}` whose first component is not a token", p.code)));
            }
            // The index keeps a third component as a number only (see the indexer).
            if let Some(t) = third.filter(|t| t.param_type != ParamType::Number) {
                return Err(SearchError::Unsupported(format!(
                    "composite `{}` whose third component is a {}, not a number",
                    p.code,
                    t.param_type.name()
                )));
            }
            let shape = std::iter::once("token")
                .chain(p.components[1..].iter().map(|c| c.param_type.name()))
                .collect::<Vec<_>>()
                .join("$");
            matched(each(&|v| {
                let parts = split_escaped(v, '$');
                if parts.len() != p.components.len() {
                    return Err(bad(&format!(
                        "the parameter takes {} components separated by `$` ({shape}); this value has {}",
                        p.components.len(),
                        parts.len()
                    )));
                }
                if parts.iter().any(String::is_empty) {
                    return Err(bad(&format!("every component needs a value ({shape})")));
                }
                let component = |ty: ParamType, v: &str| -> Result<Predicate, SearchError> {
                    Ok(match ty {
                        ParamType::Token => value::token(name, v)?,
                        ParamType::String => value::string(v, StringMode::Prefix),
                        ParamType::Date => Predicate::Date(value::date_predicate(name, v, ctx.now_ms)?),
                        ParamType::Quantity => Predicate::Quantity(value::quantity(name, v)?),
                        ParamType::Number => {
                            let (pre, rest) = value::prefix(v);
                            Predicate::Number(value::number(name, rest, pre)?)
                        }
                        other => return Err(SearchError::Unsupported(format!("composite component of type {}", other.name()))),
                    })
                };
                let third = match (third, parts.get(2)) {
                    (Some(t), Some(v)) => Some(Box::new(component(t.param_type, v)?)),
                    _ => None,
                };
                Ok(Predicate::Composite {
                    first: Box::new(value::token(name, &parts[0])?),
                    second: Box::new(component(second.param_type, &parts[1])?),
                    third,
                })
            })?)
        }
        (ParamType::Special, _) => return Err(SearchError::Unsupported(format!("`{}` (a special parameter)", p.code))),
        (_, m) => return Err(unsupported(name, m)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(ty: &str, name: &str, value: &str) -> Result<Query, SearchError> {
        let registry = Registry::r4();
        let ctx = SearchContext { registry: &registry, resource_type: Some(ty), compartment: None, lenient: false, now_ms: 0, code_systems: None };
        parse(&ctx, &[(name.to_string(), value.to_string())])
    }

    /// The single predicate of a one-parameter query.
    fn predicate(ty: &str, name: &str, value: &str) -> Predicate {
        let q = parse_one(ty, name, value).unwrap_or_else(|e| panic!("{name}={value}: {e}"));
        match q.conditions.first().and_then(|c| c.for_type(ty)) {
            Some(Condition::Match { any_of, .. }) if any_of.len() == 1 => any_of[0].clone(),
            other => panic!("{name}={value}: {other:?}"),
        }
    }

    fn number(p: &Predicate) -> (Prefix, f64) {
        match p {
            Predicate::Number(n) => (n.prefix, n.value),
            other => panic!("not a number: {other:?}"),
        }
    }

    #[test]
    fn three_part_coordinates_take_a_prefix_on_each_number() {
        let Predicate::Composite { first, second, third } =
            predicate("MolecularSequence", "chromosome-variant-coordinate", "1$gt1000$lt1500")
        else {
            panic!("not a composite")
        };
        assert_eq!(*first, Predicate::Token { system: SystemMatch::Any, code: Some("1".into()) });
        assert_eq!(number(&second), (Prefix::Gt, 1000.0));
        assert_eq!(third.as_deref().map(number), Some((Prefix::Lt, 1500.0)));

        // The specification's example, prefixes the other way round.
        let Predicate::Composite { second, third, .. } =
            predicate("MolecularSequence", "chromosome-variant-coordinate", "1$lt345$gt123")
        else {
            panic!("not a composite")
        };
        assert_eq!(number(&second), (Prefix::Lt, 345.0));
        assert_eq!(third.as_deref().map(number), Some((Prefix::Gt, 123.0)));
    }

    #[test]
    fn three_part_coordinates_without_prefixes_compare_for_equality_and_take_a_system() {
        let Predicate::Composite { first, second, third } = predicate(
            "MolecularSequence",
            "referenceseqid-window-coordinate",
            "http://www.ncbi.nlm.nih.gov/nuccore|NC_000001.11$10453$101770080",
        ) else {
            panic!("not a composite")
        };
        assert_eq!(
            *first,
            Predicate::Token { system: SystemMatch::Is("http://www.ncbi.nlm.nih.gov/nuccore".into()), code: Some("NC_000001.11".into()) }
        );
        assert_eq!(number(&second), (Prefix::Eq, 10453.0));
        assert_eq!(third.as_deref().map(number), Some((Prefix::Eq, 101770080.0)));
    }

    #[test]
    fn a_three_part_coordinate_with_another_number_of_parts_is_a_bad_value_naming_the_parameter() {
        for value in ["1$gt1000", "1", "1$gt1000$lt1500$2"] {
            let err = parse_one("MolecularSequence", "chromosome-window-coordinate", value).expect_err(value);
            let SearchError::BadValue { param, reason, .. } = &err else { panic!("{value}: {err:?}") };
            assert_eq!(param, "chromosome-window-coordinate");
            assert!(reason.contains("3 components") && reason.contains("token$number$number"), "{reason}");
            assert!(err.to_string().contains("chromosome-window-coordinate"), "{err}");
        }
    }

    #[test]
    fn a_missing_component_is_a_bad_value() {
        for value in ["1$$lt1500", "$gt1000$lt1500", "1$gt1000$"] {
            let err = parse_one("MolecularSequence", "referenceseqid-variant-coordinate", value).expect_err(value);
            let SearchError::BadValue { param, reason, .. } = &err else { panic!("{value}: {err:?}") };
            assert_eq!(param, "referenceseqid-variant-coordinate");
            assert!(reason.contains("every component needs a value"), "{reason}");
        }
    }

    #[test]
    fn a_bad_number_in_a_coordinate_is_a_bad_value() {
        let err = parse_one("MolecularSequence", "chromosome-variant-coordinate", "1$gt1000$ltmany").expect_err("bad number");
        assert!(matches!(err, SearchError::BadValue { .. }), "{err:?}");
    }

    #[test]
    fn a_two_part_composite_refuses_a_third_part() {
        let err = parse_one("Observation", "code-value-quantity", "http://loinc.org|1234-5$gt5$gt6").expect_err("three parts");
        let SearchError::BadValue { reason, .. } = &err else { panic!("{err:?}") };
        assert!(reason.contains("2 components") && reason.contains("token$quantity"), "{reason}");
        let Predicate::Composite { third, .. } = predicate("Observation", "code-value-quantity", "http://loinc.org|1234-5$gt5") else {
            panic!("not a composite")
        };
        assert!(third.is_none());
    }
}
