//! UCUM canonical forms, so that quantities in different units of one dimension compare:
//! `5.4 mg` is stored beside its canonical `0.0054 g`, and a search for grams finds it. This is
//! a deliberately small table (the metric prefixes, SI base units, the units clinical data
//! uses: litres, time, pressure, customary mass and length, equivalents, annotations and powers
//! of ten); a unit outside it is stored without a canonical form and matches on its own code
//! only. Units with an offset (`Cel`, `[degF]`) are not converted.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

pub const UCUM: &str = "http://unitsofmeasure.org";

/// `value` in `code`, converted to the canonical unit, with that unit's code. `None` when the
/// code is not understood.
pub fn canonical(value: f64, code: &str) -> Option<(f64, String)> {
    // Clinical data repeats a few dozen units: each thread remembers the ones it has read
    // (parsing a unit cost more than the rest of indexing its quantity).
    thread_local!(static KNOWN: RefCell<HashMap<String, Option<(f64, String)>>> = RefCell::new(HashMap::new()));
    let (factor, unit) = KNOWN.with_borrow_mut(|known| {
        if let Some(found) = known.get(code) {
            return found.clone();
        }
        let found = conversion(code);
        if known.len() < KNOWN_UNITS {
            known.insert(code.to_string(), found.clone());
        }
        found
    })?;
    Some((value * factor, unit))
}

/// The most units a thread remembers.
const KNOWN_UNITS: usize = 1024;

/// The factor to the canonical unit, and that unit's code.
fn conversion(code: &str) -> Option<(f64, String)> {
    let (factor, dims) = parse(code)?;
    let unit = dims
        .iter()
        .filter(|(_, e)| **e != 0)
        .map(|(d, e)| if *e == 1 { d.to_string() } else { format!("{d}{e}") })
        .collect::<Vec<_>>()
        .join(".");
    Some((factor, if unit.is_empty() { "1".into() } else { unit }))
}

type Dims = BTreeMap<&'static str, i32>;

fn parse(code: &str) -> Option<(f64, Dims)> {
    if code.is_empty() || code.len() > 64 {
        return None;
    }
    let mut factor = 1.0;
    let mut dims = Dims::new();
    // A leading `/` (`/min`) means 1/...
    let code = if code.starts_with('/') { format!("1{code}") } else { code.to_string() };
    let mut sign = 1;
    let mut rest = code.as_str();
    loop {
        let end = rest.find(['.', '/']).unwrap_or(rest.len());
        let (f, d) = component(&rest[..end])?;
        factor *= if sign > 0 { f } else { 1.0 / f };
        for (k, e) in d {
            *dims.entry(k).or_insert(0) += sign * e;
        }
        if end == rest.len() {
            break;
        }
        sign = if rest.as_bytes()[end] == b'/' { -1 } else { 1 };
        rest = &rest[end + 1..];
    }
    Some((factor, dims))
}

/// One unit with an optional integer exponent: `m2`, `s-1`, `kg`, `{beats}`, `10*3`.
fn component(text: &str) -> Option<(f64, Dims)> {
    if text.starts_with('{') && text.ends_with('}') {
        return Some((1.0, Dims::new()));
    }
    // An annotation after a unit (`mL{total}`) does not change it.
    let text = match text.find('{') {
        Some(i) if text.ends_with('}') => &text[..i],
        _ => text,
    };
    for sep in ["10*", "10^"] {
        if let Some(p) = text.strip_prefix(sep) {
            let n: i32 = p.parse().ok()?;
            return Some((10f64.powi(n), Dims::new()));
        }
    }
    if text == "1" {
        return Some((1.0, Dims::new()));
    }
    // Trailing exponent digits (with an optional minus), unless the atom ends in `]`.
    let split = text
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '-'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let (unit, exponent) = if split < text.len() && split > 0 {
        (&text[..split], text[split..].parse::<i32>().ok()?)
    } else {
        (text, 1)
    };
    let (f, d) = unit_with_prefix(unit)?;
    let dims = d.into_iter().map(|(k, e)| (k, e * exponent)).collect();
    Some((f.powi(exponent), dims))
}

fn unit_with_prefix(unit: &str) -> Option<(f64, Dims)> {
    if let Some(found) = atom(unit) {
        return Some(found);
    }
    for (p, f) in PREFIXES {
        if let Some(rest) = unit.strip_prefix(p)
            && let Some((af, d)) = atom(rest).filter(|_| METRIC.contains(&rest)) {
                return Some((f * af, d));
            }
    }
    None
}

const PREFIXES: &[(&str, f64)] = &[
    ("da", 1e1), ("Y", 1e24), ("Z", 1e21), ("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9),
    ("M", 1e6), ("k", 1e3), ("h", 1e2), ("d", 1e-1), ("c", 1e-2), ("m", 1e-3), ("u", 1e-6),
    ("n", 1e-9), ("p", 1e-12), ("f", 1e-15), ("a", 1e-18), ("z", 1e-21), ("y", 1e-24),
];

/// Atoms that take metric prefixes.
const METRIC: &[&str] = &["g", "m", "L", "l", "s", "mol", "Pa", "eq", "U", "[iU]", "[IU]", "bar", "osm", "Hz", "t"];

fn atom(a: &str) -> Option<(f64, Dims)> {
    let one = |f: f64, d: &[(&'static str, i32)]| Some((f, d.iter().copied().collect::<Dims>()));
    match a {
        "g" => one(1.0, &[("g", 1)]),
        "t" => one(1e6, &[("g", 1)]),
        "m" => one(1.0, &[("m", 1)]),
        "s" => one(1.0, &[("s", 1)]),
        "mol" => one(1.0, &[("mol", 1)]),
        "L" | "l" => one(1e-3, &[("m", 3)]),
        "min" => one(60.0, &[("s", 1)]),
        "h" => one(3600.0, &[("s", 1)]),
        "d" => one(86_400.0, &[("s", 1)]),
        "wk" => one(604_800.0, &[("s", 1)]),
        "mo" => one(2_629_800.0, &[("s", 1)]),
        "a" => one(31_557_600.0, &[("s", 1)]),
        "Hz" => one(1.0, &[("s", -1)]),
        "Pa" => one(1000.0, &[("g", 1), ("m", -1), ("s", -2)]),
        "bar" => one(1e8, &[("g", 1), ("m", -1), ("s", -2)]),
        "mm[Hg]" => one(133_322.387_415, &[("g", 1), ("m", -1), ("s", -2)]),
        "[lb_av]" => one(453.592_37, &[("g", 1)]),
        "[oz_av]" => one(28.349_523_125, &[("g", 1)]),
        "[in_i]" => one(0.0254, &[("m", 1)]),
        "[ft_i]" => one(0.3048, &[("m", 1)]),
        "%" => one(0.01, &[]),
        "eq" => one(1.0, &[("eq", 1)]),
        "osm" => one(1.0, &[("osm", 1)]),
        "U" => one(1.0, &[("U", 1)]),
        "[iU]" | "[IU]" => one(1.0, &[("[iU]", 1)]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn milligrams_are_grams() {
        let (v, u) = canonical(5.4, "mg").expect("mg");
        assert!(close(v, 0.0054) && u == "g", "{v} {u}");
        assert_eq!(canonical(1.0, "kg").map(|(_, u)| u), Some("g".to_string()));
    }

    #[test]
    fn a_remembered_unit_converts_each_value_and_an_unknown_one_stays_unknown() {
        for _ in 0..2 {
            assert_eq!(canonical(2.0, "kg"), Some((2000.0, "g".to_string())));
            assert_eq!(canonical(3.0, "kg"), Some((3000.0, "g".to_string())));
            assert_eq!(canonical(3.0, "Cel"), None);
        }
    }

    #[test]
    fn compound_units_share_a_canonical_form() {
        let (a, ua) = canonical(1.0, "mg/dL").expect("mg/dL");
        let (b, ub) = canonical(0.01, "g/L").expect("g/L");
        assert_eq!(ua, ub);
        assert!(close(a, b), "{a} {b}");
        let (_, bmi) = canonical(25.0, "kg/m2").expect("kg/m2");
        assert_eq!(bmi, "g.m-2");
        let (hr, per_min) = canonical(60.0, "/min").expect("/min");
        assert!(close(hr, 1.0) && per_min == "s-1");
        assert_eq!(canonical(72.0, "{beats}/min").map(|(_, u)| u), Some("s-1".into()));
    }

    #[test]
    fn unknown_or_offset_units_have_no_canonical_form() {
        for u in ["Cel", "[degF]", "", "foo", "m/", "10*x", "kg.", "//", "gé2", "é", "µg", "{é", "m-é"] {
            assert!(canonical(1.0, u).is_none(), "{u}");
        }
    }
}
