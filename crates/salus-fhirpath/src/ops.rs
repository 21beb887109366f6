//! Operators on single items: equality (`=`, with "unknown" for values of different
//! precision), equivalence (`~`), ordering, and arithmetic on numbers, strings, quantities
//! and date/times.

use crate::ast::BinOp;
use crate::datetime::{self, Dt, TimeUnit};
use crate::error::{EvalError, EvalResult};
use crate::quantity::{self, Quantity};
use crate::value::Value;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::cmp::Ordering;

fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Integer(i) => Some(Decimal::from(*i)),
        Value::Decimal(d) => Some(*d),
        _ => None,
    }
}

/// Deep JSON equality that walks objects in order first (resources written by one writer
/// share key order) and only looks keys up when the orders differ; pointer-equal values are
/// equal at once. `serde_json`'s own `==` hashes every key of every object.
pub fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    if std::ptr::eq(a, b) {
        return true;
    }
    match (a, b) {
        (J::Object(x), J::Object(y)) => {
            if x.len() != y.len() {
                return false;
            }
            for ((ka, va), (kb, vb)) in x.iter().zip(y.iter()) {
                if ka != kb {
                    return x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)));
                }
                if !json_eq(va, vb) {
                    return false;
                }
            }
            true
        }
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        _ => a == b,
    }
}

fn node_json_eq(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => json_eq(x, y),
        (None, None) => true,
        _ => false,
    }
}

fn is_complex_node(v: &Value) -> bool {
    matches!(v, Value::Node(n) if !n.is_primitive() && n.to_system().is_none())
}

/// `a = b` for single items; `None` when the answer is unknown.
pub fn item_equal(a: &Value, b: &Value) -> Option<bool> {
    if let (Value::Node(x), Value::Node(y)) = (a, b)
        && !x.is_primitive()
        && !y.is_primitive()
    {
        return Some(node_json_eq(x.json, y.json));
    }
    if is_complex_node(a) || is_complex_node(b) {
        return Some(false);
    }
    let (sa, sb) = (a.system(), b.system());
    match (sa.as_ref(), sb.as_ref()) {
        (Value::Boolean(x), Value::Boolean(y)) => Some(x == y),
        (Value::Integer(x), Value::Integer(y)) => Some(x == y),
        (Value::String(x), Value::String(y)) => Some(x == y),
        (Value::Date(x) | Value::DateTime(x), Value::Date(y) | Value::DateTime(y)) => {
            datetime::compare_datetime(x, y).map(|o| o == Ordering::Equal)
        }
        (Value::Time(x), Value::Time(y)) => datetime::compare_time(x, y).map(|o| o == Ordering::Equal),
        (Value::Quantity(x), Value::Quantity(y)) => {
            quantity::common_values(x, y, false).map(|(p, q)| p == q)
        }
        (Value::Type { namespace: n1, name: a }, Value::Type { namespace: n2, name: b }) => {
            Some(n1 == n2 && a == b)
        }
        (x, y) => match (as_decimal(x), as_decimal(y)) {
            (Some(p), Some(q)) => Some(p == q),
            _ => Some(false),
        },
    }
}

fn normalize_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Decimals are equivalent when equal after rounding to the precision of the less precise.
pub fn decimal_equivalent(a: Decimal, b: Decimal) -> bool {
    let scale = a.scale().min(b.scale());
    a.round_dp(scale) == b.round_dp(scale)
}

/// `a ~ b` for single items.
pub fn item_equivalent(a: &Value, b: &Value) -> bool {
    if let (Value::Node(x), Value::Node(y)) = (a, b)
        && !x.is_primitive()
        && !y.is_primitive()
    {
        return node_json_eq(x.json, y.json);
    }
    if is_complex_node(a) || is_complex_node(b) {
        return false;
    }
    let (sa, sb) = (a.system(), b.system());
    match (sa.as_ref(), sb.as_ref()) {
        (Value::String(x), Value::String(y)) => normalize_text(x) == normalize_text(y),
        (Value::Date(x) | Value::DateTime(x), Value::Date(y) | Value::DateTime(y)) => {
            x.precision == y.precision && datetime::compare_datetime(x, y) == Some(Ordering::Equal)
        }
        (Value::Time(x), Value::Time(y)) => {
            x.precision == y.precision && datetime::compare_time(x, y) == Some(Ordering::Equal)
        }
        (Value::Quantity(x), Value::Quantity(y)) => {
            quantity::common_values(x, y, true).is_some_and(|(p, q)| decimal_equivalent(p, q))
        }
        (x, y) => match (as_decimal(x), as_decimal(y)) {
            (Some(p), Some(q)) => decimal_equivalent(p, q),
            _ => item_equal(x, y) == Some(true),
        },
    }
}

/// Ordering of two single items; `Ok(None)` when unknown (precision, incomparable units),
/// an error when the types cannot be ordered at all.
pub fn compare(a: &Value, b: &Value, pos: usize) -> EvalResult<Option<Ordering>> {
    let (sa, sb) = (a.system(), b.system());
    Ok(match (sa.as_ref(), sb.as_ref()) {
        (Value::String(x), Value::String(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Value::Date(x) | Value::DateTime(x), Value::Date(y) | Value::DateTime(y)) => {
            datetime::compare_datetime(x, y)
        }
        (Value::Time(x), Value::Time(y)) => datetime::compare_time(x, y),
        (Value::Quantity(x), Value::Quantity(y)) => {
            quantity::common_values(x, y, false).map(|(p, q)| p.cmp(&q))
        }
        (x, y) => match (as_decimal(x), as_decimal(y)) {
            (Some(p), Some(q)) => Some(p.cmp(&q)),
            _ => {
                return Err(EvalError::new(
                    pos,
                    format!("cannot compare {} with {}", x.qualified_type(), y.qualified_type()),
                ));
            }
        },
    })
}

fn time_unit(unit: &str) -> Option<TimeUnit> {
    Some(match quantity::calendar_word(unit).unwrap_or(unit) {
        "year" => TimeUnit::Year,
        "month" => TimeUnit::Month,
        "week" | "wk" => TimeUnit::Week,
        "day" | "d" => TimeUnit::Day,
        "hour" | "h" => TimeUnit::Hour,
        "minute" | "min" => TimeUnit::Minute,
        "second" | "s" => TimeUnit::Second,
        "millisecond" | "ms" => TimeUnit::Millisecond,
        _ => return None,
    })
}

fn date_add(dt: &Dt, q: &Quantity, subtract: bool, is_time: bool, pos: usize) -> EvalResult<Option<Dt>> {
    let unit = time_unit(&q.unit).ok_or_else(|| {
        EvalError::new(pos, format!("cannot add '{}' to a date/time (use a calendar duration)", q.unit))
    })?;
    let amount = q.value.trunc().to_i64().ok_or_else(|| EvalError::new(pos, "duration out of range"))?;
    let amount = if subtract { amount.checked_neg().ok_or_else(|| EvalError::new(pos, "duration out of range"))? } else { amount };
    Ok(datetime::add(dt, amount, unit, is_time))
}

fn type_error(op: BinOp, a: &Value, b: &Value, pos: usize) -> EvalError {
    EvalError::new(
        pos,
        format!("operator {op:?} is not defined for {} and {}", a.qualified_type(), b.qualified_type()),
    )
}

/// `+ - * / div mod` on single items; `Ok(None)` for an empty result (overflow, division by
/// zero).
pub fn arithmetic<'a>(op: BinOp, a: &Value<'a>, b: &Value<'a>, pos: usize) -> EvalResult<Option<Value<'a>>> {
    let (sa, sb) = (a.system(), b.system());
    let (x, y) = (sa.as_ref(), sb.as_ref());
    use Value::*;
    Ok(match (op, x, y) {
        (BinOp::Add, String(p), String(q)) => Some(String(format!("{p}{q}").into())),
        (BinOp::Add | BinOp::Sub, Integer(p), Integer(q)) => {
            let r = if op == BinOp::Add { p.checked_add(*q) } else { p.checked_sub(*q) };
            r.map(Integer)
        }
        (BinOp::Mul, Integer(p), Integer(q)) => p.checked_mul(*q).map(Integer),
        (BinOp::Add | BinOp::Sub, Quantity(p), Quantity(q)) => {
            let r = quantity::add(p, q, op == BinOp::Sub);
            match r {
                Some(r) => Some(Quantity(Box::new(r))),
                None => return Err(type_error(op, x, y, pos)),
            }
        }
        (BinOp::Mul | BinOp::Div, Quantity(p), Quantity(q)) => {
            if op == BinOp::Div && q.value.is_zero() {
                return Ok(None);
            }
            quantity::multiply(p, q, op == BinOp::Div).map(|r| Quantity(Box::new(r)))
        }
        (BinOp::Mul | BinOp::Div, Quantity(p), Integer(_) | Decimal(_)) => {
            let n = as_decimal(y).unwrap_or_default();
            let v = if op == BinOp::Mul { p.value.checked_mul(n) } else { p.value.checked_div(n) };
            v.map(|value| Quantity(Box::new(quantity::Quantity { value, unit: p.unit.clone() })))
        }
        (BinOp::Mul, Integer(_) | Decimal(_), Quantity(q)) => {
            let n = as_decimal(x).unwrap_or_default();
            n.checked_mul(q.value)
                .map(|value| Quantity(Box::new(quantity::Quantity { value, unit: q.unit.clone() })))
        }
        (BinOp::Add | BinOp::Sub, Date(d), Quantity(q)) => {
            date_add(d, q, op == BinOp::Sub, false, pos)?.map(Date)
        }
        (BinOp::Add | BinOp::Sub, DateTime(d), Quantity(q)) => {
            date_add(d, q, op == BinOp::Sub, false, pos)?.map(DateTime)
        }
        (BinOp::Add | BinOp::Sub, Time(d), Quantity(q)) => {
            date_add(d, q, op == BinOp::Sub, true, pos)?.map(Time)
        }
        (BinOp::IntDiv | BinOp::Mod, Integer(p), Integer(q)) => {
            if *q == 0 {
                None
            } else if op == BinOp::IntDiv {
                p.checked_div(*q).map(Integer)
            } else {
                p.checked_rem(*q).map(Integer)
            }
        }
        _ => {
            let (Some(p), Some(q)) = (as_decimal(x), as_decimal(y)) else {
                return Err(type_error(op, x, y, pos));
            };
            match op {
                BinOp::Add => p.checked_add(q).map(Decimal),
                BinOp::Sub => p.checked_sub(q).map(Decimal),
                BinOp::Mul => p.checked_mul(q).map(Decimal),
                BinOp::Div => {
                    if q.is_zero() {
                        None
                    } else {
                        p.checked_div(q).map(|d| Decimal(d.normalize_keep(p.scale().max(q.scale()))))
                    }
                }
                BinOp::IntDiv => {
                    if q.is_zero() {
                        None
                    } else {
                        p.checked_div(q).and_then(|d| d.trunc().to_i64()).map(Integer)
                    }
                }
                BinOp::Mod => {
                    if q.is_zero() {
                        None
                    } else {
                        p.checked_rem(q).map(Decimal)
                    }
                }
                _ => return Err(type_error(op, x, y, pos)),
            }
        }
    })
}

trait KeepScale {
    fn normalize_keep(self, min_scale: u32) -> Self;
}

impl KeepScale for Decimal {
    /// Drops the trailing zeros a division produces but keeps the operands' decimals
    /// (`4.0 / 2.0` is `2.0`, `1 / 3` keeps its 28 digits).
    fn normalize_keep(self, min_scale: u32) -> Self {
        let mut n = self.normalize();
        if n.scale() < min_scale {
            n.rescale(min_scale);
        }
        n
    }
}
