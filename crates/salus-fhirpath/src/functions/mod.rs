//! The function library, dispatched on [`Func`]. This file holds the collection functions
//! (existence, filtering, subsetting, combining, `aggregate`, `sort`, tree walking); strings,
//! maths, conversions and the FHIR-specific functions have their own modules.

mod convert;
mod fhir;
mod math;
mod strings;

use crate::ast::{Expr, ExprKind, Func};
use crate::error::{EvalError, EvalResult};
use crate::eval::{Env, Frame, union};
use crate::ops;
use crate::value::{Collection, Value};
use std::cmp::Ordering;

/// Guard for `repeat()` and `descendants()` on pathological inputs.
const MAX_REPEAT_ITEMS: usize = 1_000_000;

pub(crate) struct Call<'e, 'c, 'a> {
    pub env: &'e Env<'c, 'a>,
    pub args: &'e [Expr],
    pub focus: &'e [Value<'a>],
    pub frame: Frame<'e, 'a>,
    pub pos: usize,
}

impl<'a> Call<'_, '_, 'a> {
    /// A non-lambda argument, evaluated once against the caller's focus.
    pub fn arg(&self, i: usize) -> EvalResult<Collection<'a>> {
        match self.args.get(i) {
            Some(e) => self.env.eval(e, self.focus, self.frame),
            None => Ok(Vec::new()),
        }
    }

    /// A lambda argument evaluated on one item (`$this`, `$index`).
    pub fn lambda(&self, i: usize, item: &Value<'a>, index: usize, total: Option<&[Value<'a>]>) -> EvalResult<Collection<'a>> {
        let Some(e) = self.args.get(i) else { return Ok(Vec::new()) };
        let focus = std::slice::from_ref(item);
        self.env.eval(e, focus, Frame { this: Some(item), index: Some(index), total })
    }

    pub fn err(&self, msg: impl Into<String>) -> EvalError {
        EvalError::new(self.pos, msg)
    }

    /// A single-item argument, or `None` when empty.
    pub fn single_arg(&self, i: usize) -> EvalResult<Option<Value<'a>>> {
        let v = self.arg(i)?;
        Ok(self.env.singleton(&v, self.pos)?.cloned())
    }

    pub fn int_arg(&self, i: usize) -> EvalResult<Option<i64>> {
        match self.single_arg(i)? {
            None => Ok(None),
            Some(v) => match v.system().as_ref() {
                Value::Integer(n) => Ok(Some(*n)),
                other => Err(self.err(format!("expected an Integer argument, got {}", other.qualified_type()))),
            },
        }
    }

    pub fn string_arg(&self, i: usize) -> EvalResult<Option<String>> {
        match self.single_arg(i)? {
            None => Ok(None),
            Some(v) => match v.system().as_ref() {
                Value::String(s) => Ok(Some(s.to_string())),
                other => Err(self.err(format!("expected a String argument, got {}", other.qualified_type()))),
            },
        }
    }
}

fn boolean<'a>(b: bool) -> EvalResult<Collection<'a>> {
    Ok(vec![Value::Boolean(b)])
}

pub(crate) fn call<'a>(
    env: &Env<'_, 'a>,
    func: Func,
    input: Collection<'a>,
    args: &[Expr],
    focus: &[Value<'a>],
    frame: Frame<'_, 'a>,
    pos: usize,
) -> EvalResult<Collection<'a>> {
    let c = Call { env, args, focus, frame, pos };
    match func {
        Func::Empty => boolean(input.is_empty()),
        Func::Exists => {
            if args.is_empty() {
                return boolean(!input.is_empty());
            }
            for (i, item) in input.iter().enumerate() {
                if env.to_bool(&c.lambda(0, item, i, None)?, pos)? == Some(true) {
                    return boolean(true);
                }
            }
            boolean(false)
        }
        Func::All => {
            for (i, item) in input.iter().enumerate() {
                if env.to_bool(&c.lambda(0, item, i, None)?, pos)? != Some(true) {
                    return boolean(false);
                }
            }
            boolean(true)
        }
        Func::AllTrue | Func::AnyTrue | Func::AllFalse | Func::AnyFalse => {
            let mut bools = Vec::with_capacity(input.len());
            for v in &input {
                match v.system().as_ref() {
                    Value::Boolean(b) => bools.push(*b),
                    other => return Err(c.err(format!("{}() needs booleans, got {}", func.name(), other.qualified_type()))),
                }
            }
            boolean(match func {
                Func::AllTrue => bools.iter().all(|b| *b),
                Func::AnyTrue => bools.iter().any(|b| *b),
                Func::AllFalse => bools.iter().all(|b| !*b),
                _ => bools.iter().any(|b| !*b),
            })
        }
        Func::SubsetOf | Func::SupersetOf => {
            let other = c.arg(0)?;
            let (sub, sup) = if func == Func::SubsetOf { (&input, &other) } else { (&other, &input) };
            boolean(sub.iter().all(|x| sup.iter().any(|y| ops::item_equal(x, y) == Some(true))))
        }
        Func::Count => Ok(vec![Value::Integer(input.len() as i64)]),
        Func::Distinct => Ok(union(input, Vec::new())),
        Func::IsDistinct => {
            let n = input.len();
            boolean(union(input, Vec::new()).len() == n)
        }
        Func::Where => {
            let mut out = Vec::new();
            for (i, item) in input.iter().enumerate() {
                if env.to_bool(&c.lambda(0, item, i, None)?, pos)? == Some(true) {
                    out.push(item.clone());
                }
            }
            Ok(out)
        }
        Func::Select => {
            let mut out = Vec::new();
            for (i, item) in input.iter().enumerate() {
                out.extend(c.lambda(0, item, i, None)?);
            }
            Ok(out)
        }
        Func::Repeat | Func::RepeatAll => {
            let mut out: Collection<'a> = Vec::new();
            let mut queue = input;
            while !queue.is_empty() {
                let mut next = Vec::new();
                for (i, item) in queue.iter().enumerate() {
                    for v in c.lambda(0, item, i, None)? {
                        if func == Func::Repeat && out.iter().any(|x| ops::item_equal(x, &v) == Some(true)) {
                            continue;
                        }
                        out.push(v.clone());
                        next.push(v);
                    }
                }
                if out.len() > MAX_REPEAT_ITEMS {
                    return Err(c.err("repeat() produced too many items"));
                }
                queue = next;
            }
            Ok(out)
        }
        Func::Single => match input.len() {
            0 | 1 => Ok(input),
            n => Err(c.err(format!("single() on {n} items"))),
        },
        Func::First => Ok(input.into_iter().take(1).collect()),
        Func::Last => Ok(input.into_iter().last().into_iter().collect()),
        Func::Tail => Ok(input.into_iter().skip(1).collect()),
        Func::Skip => {
            let n = c.int_arg(0)?.unwrap_or(0).max(0) as usize;
            Ok(input.into_iter().skip(n).collect())
        }
        Func::Take => {
            let n = c.int_arg(0)?.unwrap_or(0).max(0) as usize;
            Ok(input.into_iter().take(n).collect())
        }
        Func::Intersect => {
            let other = c.arg(0)?;
            let kept = input.into_iter().filter(|x| other.iter().any(|y| ops::item_equal(x, y) == Some(true))).collect();
            Ok(union(kept, Vec::new()))
        }
        Func::Exclude => {
            let other = c.arg(0)?;
            Ok(input.into_iter().filter(|x| !other.iter().any(|y| ops::item_equal(x, y) == Some(true))).collect())
        }
        Func::Union => Ok(union(input, c.arg(0)?)),
        Func::Combine => {
            let mut out = input;
            out.extend(c.arg(0)?);
            Ok(out)
        }
        Func::Iif => {
            // iif is not a lambda: $index and $total of an enclosing select/aggregate stay
            let item = env.singleton(&input, pos)?;
            let inner = |i: usize, item: &Value<'a>| -> EvalResult<Collection<'a>> {
                match args.get(i) {
                    Some(e) => env.eval(e, std::slice::from_ref(item), Frame { this: Some(item), ..frame }),
                    None => Ok(Vec::new()),
                }
            };
            let crit = match item {
                Some(item) => inner(0, item)?,
                None => env.eval(&args[0], &input, Frame { this: None, ..frame })?,
            };
            let branch = if env.to_bool(&crit, pos)? == Some(true) { 1 } else { 2 };
            match item {
                Some(item) => inner(branch, item),
                None => match args.get(branch) {
                    Some(e) => env.eval(e, focus, frame),
                    None => Ok(Vec::new()),
                },
            }
        }
        Func::Not => match env.to_bool(&input, pos)? {
            Some(b) => boolean(!b),
            None => Ok(Vec::new()),
        },
        Func::Children => {
            let mut out = Vec::new();
            for item in &input {
                env.children(item, &mut out);
            }
            Ok(out)
        }
        Func::Descendants => {
            let mut out = Vec::new();
            let mut queue = input;
            while !queue.is_empty() {
                let mut next = Vec::new();
                for item in &queue {
                    env.children(item, &mut next);
                }
                out.extend(next.iter().cloned());
                if out.len() > MAX_REPEAT_ITEMS {
                    return Err(c.err("descendants() produced too many items"));
                }
                queue = next;
            }
            Ok(out)
        }
        Func::Aggregate => {
            let mut total = if args.len() > 1 { c.arg(1)? } else { Vec::new() };
            for (i, item) in input.iter().enumerate() {
                total = c.lambda(0, item, i, Some(&total))?;
            }
            Ok(total)
        }
        Func::Sort => sort(&c, input),
        Func::Trace => {
            let name = c.string_arg(0)?.unwrap_or_default();
            if let Some(tracer) = env.ctx.tracer {
                if args.len() > 1 {
                    let mut projected = Vec::new();
                    for (i, item) in input.iter().enumerate() {
                        projected.extend(c.lambda(1, item, i, None)?);
                    }
                    tracer(&name, &projected);
                } else {
                    tracer(&name, &input);
                }
            }
            Ok(input)
        }
        Func::DefineVariable => {
            // the value is evaluated on the whole input; the input passes through unchanged
            let name = c.string_arg(0)?.ok_or_else(|| c.err("defineVariable() needs a name"))?;
            let value = match args.get(1) {
                Some(e) => env.eval(e, &input, Frame { this: None, ..frame })?,
                None => input.clone(),
            };
            env.define(name, value, pos)?;
            Ok(input)
        }
        Func::Is | Func::As | Func::OfType | Func::Type => fhir::types(&c, func, input),
        Func::Extension
        | Func::HasValue
        | Func::GetValue
        | Func::Resolve
        | Func::MemberOf
        | Func::ConformsTo
        | Func::HtmlChecks
        | Func::Subsumes
        | Func::SubsumedBy
        | Func::CheckModifiers
        | Func::ElementDefinition
        | Func::Slice
        | Func::Now
        | Func::Today
        | Func::TimeOfDay => fhir::call(&c, func, input),
        Func::Abs
        | Func::Ceiling
        | Func::Exp
        | Func::Floor
        | Func::Ln
        | Func::Log
        | Func::Power
        | Func::Round
        | Func::Sqrt
        | Func::Truncate => math::call(&c, func, input),
        Func::IndexOf
        | Func::LastIndexOf
        | Func::Substring
        | Func::StartsWith
        | Func::EndsWith
        | Func::Contains
        | Func::Upper
        | Func::Lower
        | Func::Replace
        | Func::Matches
        | Func::MatchesFull
        | Func::ReplaceMatches
        | Func::Length
        | Func::ToChars
        | Func::Split
        | Func::Join
        | Func::Trim
        | Func::Encode
        | Func::Decode
        | Func::Escape
        | Func::Unescape => strings::call(&c, func, input),
        _ => convert::call(&c, func, input),
    }
}

/// `sort(key, ...)`: a key written `-expr` sorts descending. Items without a key sort first.
fn sort<'a>(c: &Call<'_, '_, 'a>, input: Collection<'a>) -> EvalResult<Collection<'a>> {
    let mut keyed: Vec<(Vec<Option<Value<'a>>>, Value<'a>)> = Vec::with_capacity(input.len());
    let mut descending = Vec::new();
    let key_exprs: Vec<&Expr> = c
        .args
        .iter()
        .map(|e| match &e.kind {
            ExprKind::Negate(inner) => {
                descending.push(true);
                inner.as_ref()
            }
            _ => {
                descending.push(false);
                e
            }
        })
        .collect();
    for (i, item) in input.into_iter().enumerate() {
        let mut keys = Vec::new();
        if key_exprs.is_empty() {
            keys.push(Some(item.clone()));
            descending.push(false);
        }
        for e in &key_exprs {
            let v = c.env.eval(e, std::slice::from_ref(&item), Frame { this: Some(&item), index: Some(i), total: None })?;
            keys.push(c.env.singleton(&v, c.pos)?.cloned());
        }
        keyed.push((keys, item));
    }
    let mut error = None;
    keyed.sort_by(|(a, _), (b, _)| {
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            // items without a key come first in either direction
            let o = match (x, y) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => match ops::compare(x, y, c.pos) {
                    Ok(o) => o.unwrap_or(Ordering::Equal),
                    Err(e) => {
                        error.get_or_insert(e);
                        Ordering::Equal
                    }
                },
            };
            let o = if descending.get(k).copied().unwrap_or(false) { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    if let Some(e) = error {
        return Err(e);
    }
    Ok(keyed.into_iter().map(|(_, v)| v).collect())
}
