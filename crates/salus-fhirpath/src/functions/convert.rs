//! Conversion functions (`toX()`, `convertsToX()`), precision and boundaries
//! (`precision()`, `lowBoundary()`, `highBoundary()`), `comparable()` and the date/time
//! component functions.

use super::Call;
use crate::ast::Func;
use crate::datetime::{self, Precision};
use crate::error::EvalResult;
use crate::quantity::{self, Quantity};
use crate::value::{Collection, Value, parse_decimal};
use rust_decimal::{Decimal, RoundingStrategy};
use std::borrow::Cow;

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_decimal_text(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    match body.split_once('.') {
        Some((i, f)) => is_integer_text(i) && !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()),
        None => is_integer_text(body),
    }
}

/// `1.5 'mg'`, `4 days`, `1`: a quantity written as text.
pub(crate) fn parse_quantity_text(s: &str) -> Option<Quantity> {
    let s = s.trim();
    let (num, rest) = match s.find(' ') {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    };
    if !is_decimal_text(num) {
        return None;
    }
    let value = parse_decimal(num.strip_prefix('+').unwrap_or(num))?;
    let unit = if rest.is_empty() {
        "1".to_string()
    } else if let Some(inner) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        inner.to_string()
    } else if quantity::calendar_word(rest).is_some() {
        rest.to_string()
    } else {
        return None;
    };
    Some(Quantity { value, unit })
}

fn to_boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Boolean(b) => Some(*b),
        Value::Integer(1) => Some(true),
        Value::Integer(0) => Some(false),
        Value::Decimal(d) if *d == Decimal::ONE => Some(true),
        Value::Decimal(d) if d.is_zero() => Some(false),
        Value::String(s) => match s.to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(true),
            "false" | "f" | "no" | "n" | "0" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn convert<'a>(c: &Call<'_, '_, 'a>, func: Func, v: &Value<'a>) -> EvalResult<Option<Value<'a>>> {
    Ok(match func {
        Func::ToBoolean | Func::ConvertsToBoolean => to_boolean(v).map(Value::Boolean),
        Func::ToInteger | Func::ConvertsToInteger | Func::ToLong | Func::ConvertsToLong => match v {
            Value::Integer(i) => Some(Value::Integer(*i)),
            Value::Boolean(b) => Some(Value::Integer(*b as i64)),
            Value::String(s) if is_integer_text(s) => s.parse().ok().map(Value::Integer),
            _ => None,
        },
        Func::ToDecimal | Func::ConvertsToDecimal => match v {
            Value::Integer(i) => Some(Value::Decimal(Decimal::from(*i))),
            Value::Decimal(d) => Some(Value::Decimal(*d)),
            Value::Boolean(b) => Some(Value::Decimal(if *b { Decimal::ONE } else { Decimal::ZERO })),
            Value::String(s) if is_decimal_text(s) => parse_decimal(s.strip_prefix('+').unwrap_or(s)).map(Value::Decimal),
            _ => None,
        },
        Func::ToString | Func::ConvertsToString => v.to_text().map(|t| Value::String(Cow::Owned(t.into_owned()))),
        Func::ToQuantity | Func::ConvertsToQuantity => {
            let q = match v {
                Value::Integer(i) => Some(Quantity { value: Decimal::from(*i), unit: "1".into() }),
                Value::Decimal(d) => Some(Quantity { value: *d, unit: "1".into() }),
                Value::Quantity(q) => Some((**q).clone()),
                Value::Boolean(b) => Some(Quantity { value: if *b { Decimal::ONE } else { Decimal::ZERO }, unit: "1".into() }),
                Value::String(s) => parse_quantity_text(s),
                _ => None,
            };
            match (q, c.string_arg(0)?) {
                (Some(q), Some(unit)) => {
                    let target = Quantity { value: Decimal::ONE, unit: unit.clone() };
                    quantity::common_values(&q, &target, false).and_then(|(from, per)| {
                        let value = from.checked_div(per)?;
                        Some(Value::Quantity(Box::new(Quantity { value: value.normalize(), unit })))
                    })
                }
                (q, None) => q.map(|q| Value::Quantity(Box::new(q))),
                (None, Some(_)) => None,
            }
        }
        Func::ToDate | Func::ConvertsToDate => match v {
            Value::Date(d) => Some(Value::Date(*d)),
            Value::DateTime(d) => {
                let mut d = *d;
                d.precision = d.precision.min(Precision::Day);
                d.tz = None;
                Some(Value::Date(d))
            }
            Value::String(s) => datetime::parse_date(s).map(Value::Date),
            _ => None,
        },
        Func::ToDateTime | Func::ConvertsToDateTime => match v {
            Value::Date(d) | Value::DateTime(d) => Some(Value::DateTime(*d)),
            Value::String(s) => datetime::parse_datetime(s).map(Value::DateTime),
            _ => None,
        },
        Func::ToTime | Func::ConvertsToTime => match v {
            Value::Time(t) => Some(Value::Time(*t)),
            Value::String(s) => datetime::parse_time(s).map(Value::Time),
            _ => None,
        },
        _ => None,
    })
}

/// The boundary of a decimal written with `scale` decimals, to `digits` decimals: the value
/// plus or minus half a unit of its last digit, cut to `digits` towards the value (truncated
/// on the side nearer zero, rounded half away from zero on the far side). A zero result keeps
/// the sign of the boundary (`(-0.0034).lowBoundary(1)` is `-0.0`).
fn decimal_boundary(d: Decimal, digits: u32, high: bool) -> Option<Decimal> {
    // a value already at 28 decimals has no room for the half digit: no boundary
    let half = Decimal::try_new(5, d.scale() + 1).ok()?;
    let b = if high { d.checked_add(half)? } else { d.checked_sub(half)? };
    let toward_zero = if high { b.is_sign_negative() } else { b.is_sign_positive() };
    let mut r = if toward_zero {
        b.round_dp_with_strategy(digits, RoundingStrategy::ToZero)
    } else {
        b.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero)
    };
    r.rescale(digits);
    if r.is_zero() {
        r.set_sign_negative(b.is_sign_negative() && !b.is_zero());
    }
    Some(r)
}

pub(super) fn call<'a>(c: &Call<'_, '_, 'a>, func: Func, input: Collection<'a>) -> EvalResult<Collection<'a>> {
    let Some(item) = c.env.singleton(&input, c.pos)? else { return Ok(Vec::new()) };
    let v = item.system().into_owned();
    let name = func.name();
    if name.starts_with("convertsTo") {
        return Ok(vec![Value::Boolean(convert(c, func, &v)?.is_some())]);
    }
    if name.starts_with("to") {
        return Ok(convert(c, func, &v)?.into_iter().collect());
    }
    let one = |x: Option<Value<'a>>| Ok(x.into_iter().collect());
    match func {
        Func::LowBoundary | Func::HighBoundary => {
            let high = func == Func::HighBoundary;
            let digits = c.int_arg(0)?;
            match &v {
                Value::Integer(_) | Value::Decimal(_) | Value::Quantity(_) => {
                    let p = digits.unwrap_or(8);
                    if !(0..=28).contains(&p) {
                        return Ok(Vec::new());
                    }
                    let (d, unit) = match &v {
                        Value::Integer(i) => (Decimal::from(*i), None),
                        Value::Decimal(d) => (*d, None),
                        Value::Quantity(q) => (q.value, Some(q.unit.clone())),
                        _ => return Ok(Vec::new()),
                    };
                    let r = decimal_boundary(d, p as u32, high);
                    one(r.map(|r| match unit {
                        Some(unit) => Value::Quantity(Box::new(Quantity { value: r, unit })),
                        None => Value::Decimal(r),
                    }))
                }
                Value::Date(d) => one(datetime::boundary(d, digits.unwrap_or(8), high, 0).map(Value::Date)),
                Value::DateTime(d) => one(datetime::boundary(d, digits.unwrap_or(17), high, 1).map(Value::DateTime)),
                Value::Time(d) => one(datetime::boundary(d, digits.unwrap_or(9), high, 2).map(Value::Time)),
                _ => Ok(Vec::new()),
            }
        }
        Func::Precision => one(match &v {
            Value::Decimal(d) => Some(Value::Integer(d.scale() as i64)),
            Value::Integer(_) => Some(Value::Integer(0)),
            Value::Date(d) | Value::DateTime(d) => Some(Value::Integer(datetime::precision_digits(d, false))),
            Value::Time(d) => Some(Value::Integer(datetime::precision_digits(d, true))),
            _ => None,
        }),
        Func::Comparable => {
            let Some(other) = c.single_arg(0)? else { return Ok(Vec::new()) };
            match (&v, other.system().as_ref()) {
                (Value::Quantity(a), Value::Quantity(b)) => one(Some(Value::Boolean(quantity::comparable(&a.unit, &b.unit)))),
                _ => Err(c.err("comparable() needs two quantities")),
            }
        }
        Func::YearOf | Func::MonthOf | Func::DayOf | Func::HourOf | Func::MinuteOf | Func::SecondOf | Func::MillisecondOf => {
            let (d, is_time) = match &v {
                Value::Date(d) | Value::DateTime(d) => (d, false),
                Value::Time(d) => (d, true),
                _ => return Err(c.err(format!("{name}() needs a date or time"))),
            };
            let (needed, value) = match func {
                Func::YearOf => (Precision::Year, d.year as i64),
                Func::MonthOf => (Precision::Month, d.month as i64),
                Func::DayOf => (Precision::Day, d.day as i64),
                Func::HourOf => (Precision::Hour, d.hour as i64),
                Func::MinuteOf => (Precision::Minute, d.minute as i64),
                Func::SecondOf => (Precision::Second, d.second as i64),
                _ => (Precision::Second, (d.nanos / 1_000_000) as i64),
            };
            if is_time && needed < Precision::Hour || d.precision < needed {
                return Ok(Vec::new());
            }
            one(Some(Value::Integer(value)))
        }
        Func::TimezoneOffsetOf => match &v {
            Value::DateTime(d) => one(d.tz.map(|m| Value::Decimal(Decimal::new(m as i64 * 100 / 60, 2).normalize()))),
            _ => Ok(Vec::new()),
        },
        Func::DateOf => match &v {
            Value::Date(d) | Value::DateTime(d) => {
                let mut d = *d;
                d.precision = d.precision.min(Precision::Day);
                d.tz = None;
                one(Some(Value::Date(d)))
            }
            _ => Ok(Vec::new()),
        },
        Func::TimeOf => match &v {
            Value::DateTime(d) if d.precision >= Precision::Hour => one(Some(Value::Time(*d))),
            _ => Ok(Vec::new()),
        },
        _ => Err(c.err(format!("{name}() is not implemented"))),
    }
}
