//! Math functions. Exact decimal arithmetic where the result is exact (`abs`, `round`,
//! `power` with an integer exponent); `exp`, `ln`, `log`, `sqrt` and fractional powers go
//! through `f64`, as their results are irrational anyway.

use super::Call;
use crate::ast::Func;
use crate::error::EvalResult;
use crate::quantity::Quantity;
use crate::value::{Collection, Value};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};

fn from_f64<'a>(x: f64) -> Collection<'a> {
    if !x.is_finite() {
        return Vec::new();
    }
    Decimal::from_f64(x).map(|d| vec![Value::Decimal(d.normalize())]).unwrap_or_default()
}

pub(super) fn call<'a>(c: &Call<'_, '_, 'a>, func: Func, input: Collection<'a>) -> EvalResult<Collection<'a>> {
    let Some(item) = c.env.singleton(&input, c.pos)? else { return Ok(Vec::new()) };
    let item = item.system().into_owned();
    if let (Func::Abs, Value::Quantity(q)) = (func, &item) {
        return Ok(vec![Value::Quantity(Box::new(Quantity { value: q.value.abs(), unit: q.unit.clone() }))]);
    }
    let (d, is_int) = match &item {
        Value::Integer(i) => (Decimal::from(*i), true),
        Value::Decimal(d) => (*d, false),
        other => return Err(c.err(format!("{}() needs a number, got {}", func.name(), other.qualified_type()))),
    };
    let int = |d: Decimal| -> Collection<'a> { d.to_i64().map(Value::Integer).into_iter().collect() };
    let f = d.to_f64().unwrap_or(f64::NAN);
    Ok(match func {
        Func::Abs => {
            if is_int { int(d.abs()) } else { vec![Value::Decimal(d.abs())] }
        }
        Func::Ceiling => int(d.ceil()),
        Func::Floor => int(d.floor()),
        Func::Truncate => int(d.trunc()),
        Func::Round => {
            let places = c.int_arg(0)?.unwrap_or(0);
            if places < 0 {
                return Err(c.err("round() precision must be >= 0"));
            }
            let r = d.round_dp_with_strategy(places.min(28) as u32, RoundingStrategy::MidpointAwayFromZero);
            vec![Value::Decimal(r)]
        }
        Func::Exp => from_f64(f.exp()),
        Func::Ln => from_f64(f.ln()),
        Func::Sqrt => from_f64(f.sqrt()),
        Func::Log => {
            let Some(base) = c.single_arg(0)? else { return Ok(Vec::new()) };
            let b = match base.system().as_ref() {
                Value::Integer(i) => *i as f64,
                Value::Decimal(d) => d.to_f64().unwrap_or(f64::NAN),
                other => return Err(c.err(format!("log() base must be a number, got {}", other.qualified_type()))),
            };
            from_f64(f.ln() / b.ln())
        }
        Func::Power => {
            let Some(exp) = c.single_arg(0)? else { return Ok(Vec::new()) };
            match exp.system().as_ref() {
                Value::Integer(e) if is_int && *e >= 0 => {
                    let r = u32::try_from(*e).ok().and_then(|e| (d.to_i64()?).checked_pow(e));
                    r.map(Value::Integer).into_iter().collect()
                }
                Value::Integer(e) if (0..=64).contains(e) => {
                    let mut r = Decimal::ONE;
                    for _ in 0..*e {
                        match r.checked_mul(d) {
                            Some(x) => r = x,
                            None => return Ok(Vec::new()),
                        }
                    }
                    vec![Value::Decimal(r)]
                }
                Value::Integer(e) => from_f64(f.powf(*e as f64)),
                Value::Decimal(e) => from_f64(f.powf(e.to_f64().unwrap_or(f64::NAN))),
                other => return Err(c.err(format!("power() exponent must be a number, got {}", other.qualified_type()))),
            }
        }
        _ => return Err(c.err(format!("{}() is not a math function", func.name()))),
    })
}
