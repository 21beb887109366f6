//! Parsing of one parameter value: escapes, prefixes, numbers with their precision, dates,
//! tokens and quantities. Every function here returns an error for bad input, never panics.

use super::*;
use crate::SearchError;
use crate::date;
use crate::text::fold;
use crate::ucum;

/// Splits on `sep` where it is not escaped by `\`. Escapes are kept (for a later split on
/// another separator); [`unescape`] removes them at the end.
pub fn split_escaped(text: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            current.push('\\');
            if let Some(n) = chars.next() {
                current.push(n);
            }
        } else if c == sep {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts.remove(0);
    parts
}

/// Removes the escapes of `\,` `\|` `\$` `\\` once every split is done.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ (',' | '|' | '$' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits a value on unescaped `sep` and unescapes each part.
pub fn parts(text: &str, sep: char) -> Vec<String> {
    split_escaped(text, sep).iter().map(|p| unescape(p)).collect()
}

pub fn prefix(text: &str) -> (Prefix, &str) {
    if text.len() > 2 && text.is_char_boundary(2) {
        let (p, rest) = text.split_at(2);
        let starts_number = rest.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
        let found = match p {
            "eq" => Some(Prefix::Eq),
            "ne" => Some(Prefix::Ne),
            "gt" => Some(Prefix::Gt),
            "lt" => Some(Prefix::Lt),
            "ge" => Some(Prefix::Ge),
            "le" => Some(Prefix::Le),
            "sa" => Some(Prefix::Sa),
            "eb" => Some(Prefix::Eb),
            "ap" => Some(Prefix::Ap),
            _ => None,
        };
        if let (Some(p), true) = (found, starts_number) {
            return (p, rest);
        }
    }
    (Prefix::Eq, text)
}

fn bad(param: &str, value: &str, why: &str) -> SearchError {
    SearchError::BadValue { param: param.to_string(), value: value.to_string(), reason: why.to_string() }
}

/// A number and the half-width of its precision: `100` ±0.5, `100.00` ±0.005, `1e2` ±50.
pub fn number(param: &str, text: &str, p: Prefix) -> Result<NumberPredicate, SearchError> {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| bad(param, text, "the exponent is not a number"))?),
        None => (text, 0),
    };
    let ok = !mantissa.is_empty()
        && mantissa.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.matches('.').count() <= 1
        && mantissa.bytes().any(|b| b.is_ascii_digit());
    let value: f64 = if ok { text.parse().ok() } else { None }
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| bad(param, text, "expected a number such as 5.4 (with a prefix such as gt, le, ap)"))?;
    let decimals = mantissa.split_once('.').map_or(0, |(_, f)| f.len() as i32);
    let half = 0.5 * 10f64.powi(exponent.saturating_sub(decimals).clamp(-300, 300));
    Ok(NumberPredicate { prefix: p, value, low: value - half, high: value + half })
}

pub fn date_predicate(param: &str, text: &str, now_ms: i64) -> Result<DatePredicate, SearchError> {
    let (p, rest) = prefix(text);
    let range = date::parse_range(rest)
        .ok_or_else(|| bad(param, text, "expected a date such as 2019, 2019-05-01 or 2019-05-01T10:00:00Z, with an optional prefix (gt, le, ...)"))?;
    let gap = (now_ms - range.low).unsigned_abs() / 10;
    let gap = i64::try_from(gap).unwrap_or(i64::MAX).max(86_400_000);
    let approx = date::DateRange { low: range.low.saturating_sub(gap), high: range.high.saturating_add(gap) };
    Ok(DatePredicate { prefix: p, range, approx })
}

pub fn token(param: &str, text: &str) -> Result<Predicate, SearchError> {
    let split = split_escaped(text, '|');
    match split.as_slice() {
        [code] => Ok(Predicate::Token { system: SystemMatch::Any, code: Some(unescape(code)) }),
        [system, code] => {
            let system = if system.is_empty() { SystemMatch::Absent } else { SystemMatch::Is(unescape(system)) };
            let code = (!code.is_empty()).then(|| unescape(code));
            if system == SystemMatch::Absent && code.is_none() {
                return Err(bad(param, text, "`|` alone names neither a system nor a code"));
            }
            Ok(Predicate::Token { system, code })
        }
        _ => Err(bad(param, text, "a token is `code`, `system|code`, `|code` or `system|`; escape a literal | as \\|")),
    }
}

pub fn string(text: &str, mode: StringMode) -> Predicate {
    let value = unescape(text);
    match mode {
        StringMode::Exact => Predicate::String { mode, value },
        _ => Predicate::String { mode, value: fold(&value) },
    }
}

pub fn quantity(param: &str, text: &str) -> Result<QuantityPredicate, SearchError> {
    let split = parts(text, '|');
    let (num, system, code) = match split.as_slice() {
        [n] => (n.as_str(), None, None),
        [n, s, c] => (n.as_str(), Some(s.as_str()).filter(|s| !s.is_empty()), Some(c.as_str()).filter(|c| !c.is_empty())),
        _ => return Err(bad(param, text, "a quantity is `[prefix]number`, `number||unit` or `number|system|code`")),
    };
    let (p, rest) = prefix(num);
    let number = number(param, rest, p)?;
    let canonical = match (system, code) {
        (Some(ucum::UCUM), Some(c)) => ucum::canonical(1.0, c).map(|(factor, unit)| {
            let scaled = NumberPredicate {
                prefix: p,
                value: number.value * factor,
                low: number.low * factor,
                high: number.high * factor,
            };
            (scaled, unit)
        }),
        _ => None,
    };
    Ok(QuantityPredicate { number, system: system.map(str::to_string), code: code.map(str::to_string), canonical })
}

/// A reference value: `Type/id`, `id`, or an absolute/canonical URL (`url|version`).
pub fn reference(param: &str, text: &str, type_modifier: Option<&str>) -> Result<Predicate, SearchError> {
    let value = unescape(text);
    if value.contains(':') {
        let (url, version) = match value.split_once('|') {
            Some((u, v)) => (u.to_string(), Some(v.to_string())),
            None => (value, None),
        };
        return Ok(Predicate::ReferenceUrl { url, version });
    }
    let mut segments = value.split('/');
    let (ty, id) = match (segments.next(), segments.next()) {
        (Some(id), None) => (type_modifier.map(str::to_string), id.to_string()),
        (Some(t), Some(id)) => {
            if !salus_fhir::r4().is_resource_type(t) {
                return Err(bad(param, text, "expected `Type/id` with a FHIR resource type, or an id"));
            }
            if type_modifier.is_some_and(|m| m != t) {
                return Err(bad(param, text, "the type in the value differs from the :Type modifier"));
            }
            (Some(t.to_string()), id.to_string())
        }
        _ => return Err(bad(param, text, "expected `Type/id` or an id")),
    };
    if !salus_fhir::resource::is_valid_id(&id) {
        return Err(bad(param, text, "not a valid id (1 to 64 of A-Z a-z 0-9 - .)"));
    }
    Ok(Predicate::Reference { types: ty.into_iter().collect(), id })
}

/// The URI and each of its parents at `/` boundaries, for `:above`.
pub fn uri_parents(uri: &str) -> Vec<String> {
    let mut out = vec![uri.to_string()];
    let mut current = uri.trim_end_matches('/');
    while let Some(i) = current.rfind('/') {
        current = &current[..i];
        if current.ends_with('/') || current.is_empty() {
            break; // stop at the scheme's `//`
        }
        out.push(current.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_protect_separators_until_the_last_split() {
        assert_eq!(split_escaped(r"a\,b,c", ','), vec![r"a\,b", "c"]);
        assert_eq!(parts(r"sys|co\|de", '|'), vec!["sys", "co|de"]);
        assert_eq!(unescape(r"a\$b\\c"), r"a$b\c");
        assert_eq!(parts("trailing\\", '|'), vec!["trailing\\"]);
    }

    #[test]
    fn number_precision_follows_the_digits_written() {
        let n = number("x", "100", Prefix::Eq).expect("100");
        assert_eq!((n.low, n.high), (99.5, 100.5));
        let n = number("x", "100.00", Prefix::Eq).expect("100.00");
        assert!((n.high - 100.005).abs() < 1e-9);
        let n = number("x", "1e2", Prefix::Eq).expect("1e2");
        assert_eq!((n.low, n.high), (50.0, 150.0));
        for bad in ["", "abc", "1.2.3", "--1", "1e", "NaN", "inf", "1e99999"] {
            assert!(number("x", bad, Prefix::Eq).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_are_read_only_before_a_number() {
        assert_eq!(prefix("ge2019").0, Prefix::Ge);
        assert_eq!(prefix("2019").0, Prefix::Eq);
        assert_eq!(prefix("nearly").0, Prefix::Eq);
    }

    #[test]
    fn quantities_in_ucum_compare_canonically() {
        let q = quantity("v", "5.4|http://unitsofmeasure.org|mg").expect("q");
        let (c, unit) = q.canonical.expect("canonical");
        assert_eq!(unit, "g");
        assert!((c.value - 0.0054).abs() < 1e-12);
        assert!(quantity("v", "5.4|a").is_err());
    }

    #[test]
    fn uri_parents_stop_at_the_authority() {
        assert_eq!(uri_parents("http://x.org/a/b"), vec!["http://x.org/a/b", "http://x.org/a", "http://x.org"]);
    }
}
