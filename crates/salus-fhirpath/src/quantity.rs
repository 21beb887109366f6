//! Quantities and a small UCUM unit algebra: enough of UCUM to compare, add, multiply and
//! divide quantities across the units clinical data uses (metric prefixes, mass, length,
//! volume, time, pressure, amount of substance, common customary units, exponents, `.` and
//! `/`). Units outside the table still work when both sides use the same unit text.
//! Calendar durations (`1 week`, `3 months`) are kept apart from UCUM's definite durations:
//! `week`..`millisecond` equal `wk`..`ms`, but `year`/`month` are not comparable with `a`/`mo`.

use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub value: Decimal,
    /// A UCUM code, or a calendar keyword (`day`, `weeks`) as written.
    pub unit: String,
}

pub const CALENDAR_WORDS: [&str; 16] = [
    "year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours", "minute",
    "minutes", "second", "seconds", "millisecond", "milliseconds",
];

/// The singular calendar keyword, if `unit` is one.
pub fn calendar_word(unit: &str) -> Option<&'static str> {
    let pos = CALENDAR_WORDS.iter().position(|w| *w == unit)?;
    Some(CALENDAR_WORDS[pos - pos % 2])
}

/// Dimensions: m, g, s, rad, K, C, cd, mol, calendar month, arbitrary unit.
const DIMS: usize = 10;
type Dims = [i8; DIMS];
const CAL_MONTH: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canonical {
    pub factor: Decimal,
    pub dims: Dims,
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or(Decimal::ONE)
}

fn dim(i: usize, e: i8) -> Dims {
    let mut d = [0; DIMS];
    d[i] = e;
    d
}

fn dims_of(list: &[(usize, i8)]) -> Dims {
    let mut d = [0; DIMS];
    for &(i, e) in list {
        d[i] = e;
    }
    d
}

/// atom -> (factor, dims, accepts metric prefixes)
fn atoms() -> &'static HashMap<&'static str, (Decimal, Dims, bool)> {
    static ATOMS: OnceLock<HashMap<&'static str, (Decimal, Dims, bool)>> = OnceLock::new();
    ATOMS.get_or_init(|| {
        let (m, g, s, rad, k, c, cd, mol) = (0, 1, 2, 3, 4, 5, 6, 7);
        let mut t: HashMap<&'static str, (Decimal, Dims, bool)> = HashMap::new();
        let mut add = |name: &'static str, f: &str, d: Dims, metric: bool| {
            t.insert(name, (dec(f), d, metric));
        };
        let none = [0; DIMS];
        add("1", "1", none, false);
        add("m", "1", dim(m, 1), true);
        add("g", "1", dim(g, 1), true);
        add("s", "1", dim(s, 1), true);
        add("rad", "1", dim(rad, 1), true);
        add("K", "1", dim(k, 1), true);
        add("C", "1", dim(c, 1), true);
        add("cd", "1", dim(cd, 1), true);
        add("mol", "1", dim(mol, 1), true);
        add("eq", "1", dim(mol, 1), true);
        add("osm", "1", dim(mol, 1), true);
        add("%", "0.01", none, false);
        add("[ppth]", "0.001", none, false);
        add("[ppm]", "0.000001", none, false);
        add("[ppb]", "0.000000001", none, false);
        add("deg", "0.0174532925199432957692369077", dim(rad, 1), false);
        add("sr", "1", dim(rad, 2), true);
        // time
        add("min", "60", dim(s, 1), false);
        add("h", "3600", dim(s, 1), false);
        add("d", "86400", dim(s, 1), false);
        add("wk", "604800", dim(s, 1), false);
        add("a", "31557600", dim(s, 1), false);
        add("a_j", "31557600", dim(s, 1), false);
        add("a_t", "31556925.216", dim(s, 1), false);
        add("a_g", "31556952", dim(s, 1), false);
        add("mo", "2629800", dim(s, 1), false);
        add("mo_j", "2629800", dim(s, 1), false);
        add("mo_g", "2629746", dim(s, 1), false);
        add("Hz", "1", dim(s, -1), true);
        // calendar months (calendar keywords `year`, `month` only)
        add("__month", "1", dim(CAL_MONTH, 1), false);
        // length, area, volume
        add("[in_i]", "0.0254", dim(m, 1), false);
        add("[ft_i]", "0.3048", dim(m, 1), false);
        add("[yd_i]", "0.9144", dim(m, 1), false);
        add("[mi_i]", "1609.344", dim(m, 1), false);
        add("[nmi_i]", "1852", dim(m, 1), false);
        add("Ao", "0.0000000001", dim(m, 1), false);
        add("[ch]", "0.0254", dim(m, 1), false);
        add("l", "0.001", dim(m, 3), true);
        add("L", "0.001", dim(m, 3), true);
        add("ar", "100", dim(m, 2), true);
        add("[gal_us]", "0.003785411784", dim(m, 3), false);
        add("[qt_us]", "0.000946352946", dim(m, 3), false);
        add("[pt_us]", "0.000473176473", dim(m, 3), false);
        add("[foz_us]", "0.0000295735295625", dim(m, 3), false);
        add("[cup_us]", "0.0002365882365", dim(m, 3), false);
        add("[tbs_us]", "0.00001478676478125", dim(m, 3), false);
        add("[tsp_us]", "0.00000492892159375", dim(m, 3), false);
        add("[gal_br]", "0.00454609", dim(m, 3), false);
        add("[pt_br]", "0.00056826125", dim(m, 3), false);
        // mass
        add("[lb_av]", "453.59237", dim(g, 1), false);
        add("[oz_av]", "28.349523125", dim(g, 1), false);
        add("[gr]", "0.06479891", dim(g, 1), false);
        add("[ston_av]", "907184.74", dim(g, 1), false);
        add("[stone_av]", "6350.29318", dim(g, 1), false);
        add("t", "1000000", dim(g, 1), true);
        add("u", "0.0000000000000000000000016605402", dim(g, 1), true);
        // force, pressure, energy, power
        let newton = dims_of(&[(g, 1), (m, 1), (s, -2)]);
        add("N", "1000", newton, true);
        let pascal = dims_of(&[(g, 1), (m, -1), (s, -2)]);
        add("Pa", "1000", pascal, true);
        add("bar", "100000000", pascal, true);
        add("atm", "101325000", pascal, false);
        add("mm[Hg]", "133322.387415", pascal, false);
        add("cm[H2O]", "98066.5", pascal, false);
        add("[psi]", "6894757.29316836", pascal, false);
        let joule = dims_of(&[(g, 1), (m, 2), (s, -2)]);
        add("J", "1000", joule, true);
        add("cal", "4184", joule, true);
        add("[Cal]", "4184000", joule, false);
        add("eV", "0.000000000000000160217733", joule, true);
        add("W", "1000", dims_of(&[(g, 1), (m, 2), (s, -3)]), true);
        add("A", "1", dims_of(&[(c, 1), (s, -1)]), true);
        add("V", "1000", dims_of(&[(g, 1), (m, 2), (s, -2), (c, -1)]), true);
        add("Ohm", "1000", dims_of(&[(g, 1), (m, 2), (s, -1), (c, -2)]), true);
        add("kat", "1", dims_of(&[(mol, 1), (s, -1)]), true);
        add("U", "0.0000000166666666666666666667", dims_of(&[(mol, 1), (s, -1)]), true);
        add("Bq", "1", dim(s, -1), true);
        add("Gy", "1", dims_of(&[(m, 2), (s, -2)]), true);
        add("Sv", "1", dims_of(&[(m, 2), (s, -2)]), true);
        add("[iU]", "1", dim(9, 1), true);
        add("[IU]", "1", dim(9, 1), true);
        add("[arb'U]", "1", dim(9, 1), false);
        add("[drp]", "0.00000005", dim(m, 3), false);
        add("10*", "10", none, false);
        add("10^", "10", none, false);
        t
    })
}

const PREFIXES: [(&str, &str); 24] = [
    ("da", "10"),
    ("Ki", "1024"),
    ("Mi", "1048576"),
    ("Gi", "1073741824"),
    ("Y", "1000000000000000000000000"),
    ("Z", "1000000000000000000000"),
    ("E", "1000000000000000000"),
    ("P", "1000000000000000"),
    ("T", "1000000000000"),
    ("G", "1000000000"),
    ("M", "1000000"),
    ("k", "1000"),
    ("h", "100"),
    ("d", "0.1"),
    ("c", "0.01"),
    ("m", "0.001"),
    ("u", "0.000001"),
    ("n", "0.000000001"),
    ("p", "0.000000000001"),
    ("f", "0.000000000000001"),
    ("a", "0.000000000000000001"),
    ("z", "0.000000000000000000001"),
    ("y", "0.000000000000000000000001"),
    ("", "1"),
];

fn atom(sym: &str) -> Option<Canonical> {
    let table = atoms();
    if let Some(&(factor, dims, _)) = table.get(sym) {
        return Some(Canonical { factor, dims });
    }
    for (p, f) in PREFIXES {
        if let Some(rest) = sym.strip_prefix(p)
            && !rest.is_empty()
            && let Some(&(factor, dims, true)) = table.get(rest)
        {
            return Some(Canonical { factor: factor.checked_mul(dec(f))?, dims });
        }
    }
    None
}

fn pow(c: Canonical, e: i32) -> Option<Canonical> {
    let mut factor = Decimal::ONE;
    for _ in 0..e.unsigned_abs() {
        factor = factor.checked_mul(c.factor)?;
    }
    if e < 0 {
        factor = Decimal::ONE.checked_div(factor)?;
    }
    let mut dims = c.dims;
    for d in dims.iter_mut() {
        *d = (*d as i32 * e).try_into().ok()?;
    }
    Some(Canonical { factor, dims })
}

fn mul(a: Canonical, b: Canonical, divide: bool) -> Option<Canonical> {
    let mut dims = a.dims;
    for (x, y) in dims.iter_mut().zip(b.dims) {
        *x = if divide { x.checked_sub(y)? } else { x.checked_add(y)? };
    }
    let factor =
        if divide { a.factor.checked_div(b.factor)? } else { a.factor.checked_mul(b.factor)? };
    Some(Canonical { factor, dims })
}

struct UnitParser<'s> {
    s: &'s [u8],
    i: usize,
}

impl UnitParser<'_> {
    fn term(&mut self) -> Option<Canonical> {
        let mut acc = if self.s.get(self.i) == Some(&b'/') {
            Canonical { factor: Decimal::ONE, dims: [0; DIMS] }
        } else {
            self.component()?
        };
        while let Some(&op) = self.s.get(self.i) {
            match op {
                b'.' | b'/' => {
                    self.i += 1;
                    let rhs = self.component()?;
                    acc = mul(acc, rhs, op == b'/')?;
                }
                _ => break,
            }
        }
        Some(acc)
    }

    fn component(&mut self) -> Option<Canonical> {
        let one = Canonical { factor: Decimal::ONE, dims: [0; DIMS] };
        match self.s.get(self.i) {
            Some(b'(') => {
                self.i += 1;
                let inner = self.term()?;
                if self.s.get(self.i) != Some(&b')') {
                    return None;
                }
                self.i += 1;
                self.annotation();
                Some(inner)
            }
            Some(b'{') => {
                self.annotation();
                Some(one)
            }
            _ => {
                let start = self.i;
                // a symbol runs until an operator; brackets may contain anything but `]`
                while let Some(&b) = self.s.get(self.i) {
                    match b {
                        b'[' => {
                            while self.s.get(self.i).is_some_and(|&b| b != b']') {
                                self.i += 1;
                            }
                            self.i += 1;
                        }
                        b'.' | b'/' | b'(' | b')' | b'{' => break,
                        _ => self.i += 1,
                    }
                }
                let text = std::str::from_utf8(self.s.get(start..self.i)?).ok()?;
                self.annotation();
                if text.is_empty() {
                    return None;
                }
                if text.bytes().all(|b| b.is_ascii_digit()) {
                    let n = Decimal::from_str(text).ok()?;
                    return Some(Canonical { factor: n, dims: [0; DIMS] });
                }
                for base in ["10*", "10^"] {
                    if let Some(exp) = text.strip_prefix(base) {
                        let e: i32 = exp.parse().ok()?;
                        return pow(Canonical { factor: Decimal::TEN, dims: [0; DIMS] }, e);
                    }
                }
                // trailing exponent: m2, s-1, cm3
                let digits_from = text
                    .char_indices()
                    .rev()
                    .take_while(|(_, c)| c.is_ascii_digit() || *c == '-' || *c == '+')
                    .last()
                    .map(|(i, _)| i);
                if let Some(i) = digits_from
                    && i > 0
                    && !text.ends_with(']')
                    && let Ok(e) = text[i..].parse::<i32>()
                    && let Some(a) = atom(&text[..i])
                {
                    return pow(a, e);
                }
                atom(text)
            }
        }
    }

    fn annotation(&mut self) {
        if self.s.get(self.i) == Some(&b'{') {
            while self.s.get(self.i).is_some_and(|&b| b != b'}') {
                self.i += 1;
            }
            self.i += 1;
        }
    }
}

/// The unit as a multiple of base units, or `None` if not understood.
pub fn canonical(unit: &str) -> Option<Canonical> {
    match calendar_word(unit) {
        Some("year") => return pow(atom("__month")?, 1).map(|c| Canonical { factor: Decimal::from(12), ..c }),
        Some("month") => return atom("__month"),
        Some("week") => return atom("wk"),
        Some("day") => return atom("d"),
        Some("hour") => return atom("h"),
        Some("minute") => return atom("min"),
        Some("second") => return atom("s"),
        Some("millisecond") => return atom("ms"),
        _ => {}
    }
    if unit.is_empty() {
        return atom("1");
    }
    let mut p = UnitParser { s: unit.as_bytes(), i: 0 };
    let c = p.term()?;
    (p.i == unit.len()).then_some(c)
}

fn same_unit(a: &str, b: &str) -> bool {
    a == b || calendar_word(a).is_some_and(|w| calendar_word(b) == Some(w))
}

/// For equivalence, calendar `year`/`month` may stand for UCUM `a`/`mo`.
fn equivalence_unit(u: &str) -> &str {
    match calendar_word(u) {
        Some("year") => "a",
        Some("month") => "mo",
        _ => u,
    }
}

/// Both values in a common unit (`b` converted to `a`'s scale), or `None` if not comparable.
pub fn common_values(a: &Quantity, b: &Quantity, equivalence: bool) -> Option<(Decimal, Decimal)> {
    if same_unit(&a.unit, &b.unit) {
        return Some((a.value, b.value));
    }
    let (ua, ub) = if equivalence {
        (equivalence_unit(&a.unit), equivalence_unit(&b.unit))
    } else {
        (a.unit.as_str(), b.unit.as_str())
    };
    let ca = canonical(ua)?;
    let cb = canonical(ub)?;
    if ca.dims != cb.dims {
        return None;
    }
    let va = a.value.checked_mul(ca.factor)?;
    let vb = b.value.checked_mul(cb.factor)?;
    Some((va.normalize_scale(a.value.scale()), vb.normalize_scale(b.value.scale())))
}

trait ScaleHint {
    fn normalize_scale(self, original: u32) -> Self;
}

impl ScaleHint for Decimal {
    /// Keeps at least the original number of decimals (4 'g' stays "4", 4040 'mg' becomes
    /// 4.040 'g'), dropping only trailing zeros the conversion added.
    fn normalize_scale(self, original: u32) -> Self {
        let n = self.normalize();
        if n.scale() < original {
            let mut v = n;
            v.rescale(original);
            v
        } else {
            n
        }
    }
}

/// `comparable()`: whether the units convert into each other.
pub fn comparable(a: &str, b: &str) -> bool {
    if same_unit(a, b) {
        return true;
    }
    match (canonical(a), canonical(b)) {
        (Some(x), Some(y)) => x.dims == y.dims,
        _ => false,
    }
}

/// A unit text for base dimensions, used for products and quotients.
fn dims_to_unit(dims: &Dims) -> String {
    const NAMES: [&str; DIMS] = ["m", "g", "s", "rad", "K", "C", "cd", "mol", "mo", "[IU]"];
    let mut num = Vec::new();
    for (i, &e) in dims.iter().enumerate() {
        if e == 1 {
            num.push(NAMES[i].to_string());
        } else if e != 0 {
            num.push(format!("{}{}", NAMES[i], e));
        }
    }
    if num.is_empty() { "1".to_string() } else { num.join(".") }
}

/// `a * b` or `a / b` for quantities.
pub fn multiply(a: &Quantity, b: &Quantity, divide: bool) -> Option<Quantity> {
    let ca = canonical(&a.unit)?;
    let cb = canonical(&b.unit)?;
    let c = mul(ca, cb, divide)?;
    let value = if divide {
        a.value.checked_div(b.value)?
    } else {
        a.value.checked_mul(b.value)?
    };
    Some(Quantity { value: value.checked_mul(c.factor)?.normalize(), unit: dims_to_unit(&c.dims) })
}

/// `a + b` or `a - b`, in `a`'s unit.
pub fn add(a: &Quantity, b: &Quantity, subtract: bool) -> Option<Quantity> {
    let b_value = if same_unit(&a.unit, &b.unit) {
        b.value
    } else {
        let ca = canonical(&a.unit)?;
        let cb = canonical(&b.unit)?;
        if ca.dims != cb.dims {
            return None;
        }
        b.value.checked_mul(cb.factor)?.checked_div(ca.factor)?
    };
    let value =
        if subtract { a.value.checked_sub(b_value)? } else { a.value.checked_add(b_value)? };
    Some(Quantity { value, unit: a.unit.clone() })
}
