//! Primitive datatypes: the JSON form each must take (string, number or boolean) and its
//! lexical rules. The rules follow the regular expressions of the R4 primitive definitions
//! (`date.value` ...), written by hand because they are on the hot path of every write and
//! because several rules are not expressible as a regex: a calendar date must exist
//! (2019-02-30 does not), integers must fit in 32 bits, an instant needs a time zone.
//! A test checks these functions against the definitions' regexes.

use base64::Engine as _;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prim {
    Boolean,
    Integer,
    UnsignedInt,
    PositiveInt,
    Decimal,
    String,
    Markdown,
    Code,
    Id,
    Uri,
    Url,
    Canonical,
    Oid,
    Uuid,
    Base64Binary,
    Instant,
    Date,
    DateTime,
    Time,
    Xhtml,
}

/// FHIR's limit on any string value (the spec's 1 MB `maxLength` on `string.value`).
pub const MAX_STRING_BYTES: usize = 1024 * 1024;

impl Prim {
    pub fn from_code(code: &str) -> Option<Prim> {
        Some(match code {
            "boolean" => Prim::Boolean,
            "integer" => Prim::Integer,
            "unsignedInt" => Prim::UnsignedInt,
            "positiveInt" => Prim::PositiveInt,
            "decimal" => Prim::Decimal,
            "string" => Prim::String,
            "markdown" => Prim::Markdown,
            "code" => Prim::Code,
            "id" => Prim::Id,
            "uri" => Prim::Uri,
            "url" => Prim::Url,
            "canonical" => Prim::Canonical,
            "oid" => Prim::Oid,
            "uuid" => Prim::Uuid,
            "base64Binary" => Prim::Base64Binary,
            "instant" => Prim::Instant,
            "date" => Prim::Date,
            "dateTime" => Prim::DateTime,
            "time" => Prim::Time,
            "xhtml" => Prim::Xhtml,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Prim::Boolean => "boolean",
            Prim::Integer => "integer",
            Prim::UnsignedInt => "unsignedInt",
            Prim::PositiveInt => "positiveInt",
            Prim::Decimal => "decimal",
            Prim::String => "string",
            Prim::Markdown => "markdown",
            Prim::Code => "code",
            Prim::Id => "id",
            Prim::Uri => "uri",
            Prim::Url => "url",
            Prim::Canonical => "canonical",
            Prim::Oid => "oid",
            Prim::Uuid => "uuid",
            Prim::Base64Binary => "base64Binary",
            Prim::Instant => "instant",
            Prim::Date => "date",
            Prim::DateTime => "dateTime",
            Prim::Time => "time",
            Prim::Xhtml => "xhtml",
        }
    }

    fn json_kind(self) -> JsonKind {
        match self {
            Prim::Boolean => JsonKind::Boolean,
            Prim::Integer | Prim::UnsignedInt | Prim::PositiveInt | Prim::Decimal => JsonKind::Number,
            _ => JsonKind::String,
        }
    }

    /// Whether the value's text could contain a reference to a contained resource (`#id`).
    pub fn is_uri_like(self) -> bool {
        matches!(self, Prim::Uri | Prim::Url | Prim::Canonical)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    Boolean,
    Number,
    String,
}

impl JsonKind {
    fn name(self) -> &'static str {
        match self {
            JsonKind::Boolean => "boolean",
            JsonKind::Number => "number",
            JsonKind::String => "string",
        }
    }
}

/// Checks a JSON value against a primitive type. `Err` holds a message for a person.
pub fn check(prim: Prim, value: &Value) -> Result<(), String> {
    match (prim.json_kind(), value) {
        (JsonKind::Boolean, Value::Bool(_)) => Ok(()),
        // serde_json's `arbitrary_precision` keeps a number as its JSON text: no formatting.
        (JsonKind::Number, Value::Number(n)) => check_number(prim, n.as_str()),
        (JsonKind::String, Value::String(s)) => check_string(prim, s),
        (kind, other) => Err(format!(
            "a {} must be a JSON {}, not {}",
            prim.code(),
            kind.name(),
            json_kind_of(other)
        )),
    }
}

pub fn json_kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_number(prim: Prim, text: &str) -> Result<(), String> {
    if prim == Prim::Decimal {
        return if is_decimal(text) { Ok(()) } else { Err(format!("'{text}' is not a valid decimal")) };
    }
    // The unsignedInt and positiveInt lexical forms have no sign (`-0` is an integer only).
    if !is_integer(text) || (text.starts_with('-') && matches!(prim, Prim::UnsignedInt | Prim::PositiveInt)) {
        return Err(format!("'{text}' is not a valid {}: it must be a whole number", prim.code()));
    }
    let n: i64 = text.parse().unwrap_or(i64::MAX);
    let (low, what) = match prim {
        Prim::PositiveInt => (1, "at least 1"),
        Prim::UnsignedInt => (0, "at least 0"),
        _ => (i32::MIN as i64, "a 32-bit integer"),
    };
    if n < low || n > i32::MAX as i64 {
        return Err(format!("'{text}' is out of range: a {} must be {what} and at most {}", prim.code(), i32::MAX));
    }
    Ok(())
}

fn check_string(prim: Prim, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("a string value must not be empty: leave the property out instead".into());
    }
    if s.len() > MAX_STRING_BYTES {
        return Err(format!("the value is {} bytes, more than the 1 MB FHIR allows", s.len()));
    }
    let ok = match prim {
        Prim::String | Prim::Markdown => is_fhir_string(s),
        Prim::Code => is_code(s),
        Prim::Id => is_id(s),
        Prim::Uri | Prim::Url | Prim::Canonical => !has_whitespace(s),
        Prim::Oid => is_oid(s),
        Prim::Uuid => is_uuid(s),
        Prim::Base64Binary => return decode_base64(s).map(|_| ()),
        Prim::Instant => is_instant(s),
        Prim::Date => is_date(s),
        Prim::DateTime => is_date_time(s),
        Prim::Time => is_time(s),
        Prim::Xhtml => true, // checked by the xhtml module
        Prim::Boolean | Prim::Integer | Prim::UnsignedInt | Prim::PositiveInt | Prim::Decimal => true,
    };
    if ok {
        return Ok(());
    }
    let hint = match prim {
        Prim::Date => " (YYYY, YYYY-MM or YYYY-MM-DD, and the day must exist)",
        Prim::DateTime => {
            if s.contains('T') && !has_timezone(s) {
                " (if a date has a time, it must have a timezone: add Z or +hh:mm)"
            } else {
                " (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)"
            }
        }
        Prim::Instant => " (YYYY-MM-DDThh:mm:ss.sss+zz:zz, with seconds and a time zone)",
        Prim::Time => " (hh:mm:ss)",
        Prim::Id => " (1-64 letters, digits, '-' or '.')",
        Prim::Code => " (no leading, trailing or repeated whitespace)",
        Prim::Uri | Prim::Url | Prim::Canonical => " (no whitespace)",
        Prim::Oid => " (urn:oid:1.2.3...)",
        Prim::Uuid => " (urn:uuid: followed by a lower-case UUID)",
        Prim::String | Prim::Markdown => " (control characters other than tab, CR and LF are not allowed)",
        _ => "",
    };
    Err(format!("'{}' is not a valid {}{hint}", abbreviate(s), prim.code()))
}

/// Long values are cut in messages so that an OperationOutcome stays readable.
pub fn abbreviate(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        let head: String = s.chars().take(77).collect();
        format!("{head}...")
    }
}

/// `[ \r\n\t\S]+`: any text but the vertical tab and form feed whitespace characters.
fn is_fhir_string(s: &str) -> bool {
    // Both are ASCII, and no byte of a multi-byte UTF-8 sequence is below 0x80, so a byte
    // scan finds the same characters; without an early exit the compiler vectorises it.
    !s.bytes().fold(false, |found, b| found | (b == 0x0B) | (b == 0x0C))
}

/// Whether `s` has a character for which `char::is_whitespace` holds. Values are nearly
/// always ASCII, whose whitespace (` ` and `\t`..=`\r`) is among the bytes up to ` `: a pass
/// without branches finds none in most; text with other characters is decoded.
pub fn has_whitespace(s: &str) -> bool {
    if !s.is_ascii() {
        return s.chars().any(char::is_whitespace);
    }
    s.bytes().fold(false, |low, b| low | (b <= b' ')) && s.bytes().any(|b| b == b' ' || (b'\t'..=b'\r').contains(&b))
}

/// `[^\s]+(\s[^\s]+)*`
fn is_code(s: &str) -> bool {
    let b = s.as_bytes();
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C);
    // Most codes have no whitespace at all, which one pass without branches shows.
    if !b.is_empty() && !b.iter().fold(false, |found, c| found | ws(c)) {
        return true;
    }
    if b.first().is_none_or(ws) || b.last().is_some_and(ws) {
        return false;
    }
    !b.windows(2).any(|w| ws(&w[0]) && ws(&w[1]))
}

/// `[A-Za-z0-9\-\.]{1,64}`
pub fn is_id(s: &str) -> bool {
    // Without an early exit the byte test vectorises (ids are often 36-character UUIDs).
    (1..=64).contains(&s.len()) && s.bytes().fold(true, |ok, c| ok & (c.is_ascii_alphanumeric() | (c == b'-') | (c == b'.')))
}

/// `urn:oid:[0-2](\.(0|[1-9][0-9]*))+`
fn is_oid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:oid:") else { return false };
    let mut parts = rest.split('.');
    if !matches!(parts.next(), Some("0" | "1" | "2")) {
        return false;
    }
    let mut count = 0;
    for p in parts {
        count += 1;
        let ok = p == "0" || (!p.is_empty() && !p.starts_with('0') && p.bytes().all(|c| c.is_ascii_digit()));
        if !ok {
            return false;
        }
    }
    count > 0
}

/// `urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
pub fn is_uuid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:uuid:") else { return false };
    let b = rest.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// `-?(0|[1-9][0-9]*)`
fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    digits == "0" || (!digits.is_empty() && !digits.starts_with('0') && digits.bytes().all(|c| c.is_ascii_digit()))
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn is_decimal(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    if !is_integer(int) && int != "-0" {
        return false;
    }
    if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|c| c.is_ascii_digit())) {
        return false;
    }
    match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
        }
    }
}

/// Decodes base64 as FHIR allows it: standard alphabet, padding as written, whitespace
/// (line breaks from MIME encoders) ignored.
pub fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(compact.as_bytes())
        .map_err(|e| format!("'{}' is not a valid base64 value: {e}", abbreviate(s)))
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(part.iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0')))
}

pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD` at the start of `b`; returns the bytes used and
/// whether the full date was present.
fn date_prefix(b: &[u8]) -> Option<(usize, bool)> {
    let year = digits(b, 0, 4)?;
    if year == 0 {
        return None; // the regex starts the year at 0001
    }
    if b.len() == 4 || b[4] != b'-' {
        return Some((4, false));
    }
    let month = digits(b, 5, 2)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if b.len() == 7 || b[7] != b'-' {
        return Some((7, false));
    }
    let day = digits(b, 8, 2)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((10, true))
}

pub fn is_date(s: &str) -> bool {
    date_prefix(s.as_bytes()).is_some_and(|(n, _)| n == s.len())
}

/// `hh:mm:ss(.f+)?`; hours 00-23, seconds up to 60 (leap second), as the regex allows.
fn time_len(b: &[u8]) -> Option<usize> {
    let (h, m, sec) = (digits(b, 0, 2)?, digits(b, 3, 2)?, digits(b, 6, 2)?);
    if b.get(2) != Some(&b':') || b.get(5) != Some(&b':') || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut n = 8;
    if b.get(8) == Some(&b'.') {
        let frac = b[9..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return None;
        }
        n = 9 + frac;
    }
    Some(n)
}

fn timezone_ok(b: &[u8]) -> bool {
    match b {
        b"Z" => true,
        [b'+' | b'-', ..] if b.len() == 6 => {
            let (h, m) = (digits(b, 1, 2), digits(b, 4, 2));
            b[3] == b':' && matches!((h, m), (Some(h), Some(m)) if (h < 14 && m < 60) || (h == 14 && m == 0))
        }
        _ => false,
    }
}

fn has_timezone(s: &str) -> bool {
    s.ends_with('Z') || s.len() > 6 && matches!(s.as_bytes()[s.len() - 6], b'+' | b'-')
}

pub fn is_time(s: &str) -> bool {
    time_len(s.as_bytes()) == Some(s.len())
}

/// A dateTime: a partial date, or a full date with a time and a time zone.
pub fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let Some((n, full)) = date_prefix(b) else { return false };
    if n == b.len() {
        return true;
    }
    if !full || b[n] != b'T' {
        return false;
    }
    let rest = &b[n + 1..];
    // `T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?` then a zone: seconds required.
    let Some(t) = time_len(rest) else { return false };
    timezone_ok(&rest[t..])
}

/// An instant: a full date, a time with seconds and a time zone.
pub fn is_instant(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(date_prefix(b), Some((10, true))) && b.len() > 10 && b[10] == b'T' && is_date_time(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_must_exist_on_the_calendar() {
        assert!(is_date("2019-02-28"));
        assert!(is_date("2020-02-29"));
        assert!(!is_date("2019-02-30"));
        assert!(!is_date("2019-02-29"));
        assert!(!is_date("1900-02-29"));
        assert!(is_date("2000-02-29"));
        assert!(is_date("2019"));
        assert!(is_date("2019-07"));
        assert!(!is_date("2019-13"));
        assert!(!is_date("19-01-01"));
        assert!(!is_date("not a date"));
        assert!(!is_date("0000"));
    }

    #[test]
    fn date_times_with_a_time_need_a_time_zone() {
        assert!(is_date_time("2015-02-07T13:28:17-05:00"));
        assert!(is_date_time("2015-02-07T13:28:17.239+02:00"));
        assert!(is_date_time("2015-02-07T13:28:17Z"));
        assert!(!is_date_time("2015-02-07T13:28:17"));
        assert!(!is_date_time("2015-02-07T13:28Z"));
        assert!(!is_date_time("2015-02-07T24:00:00Z"));
        assert!(is_date_time("2015"));
        assert!(!is_date_time("2015T10:00:00Z"));
        assert!(!is_date_time("2015-02-07T13:28:17+15:00"));
    }

    #[test]
    fn instants_need_seconds_and_a_zone() {
        assert!(is_instant("2015-02-07T13:28:17.239+02:00"));
        assert!(!is_instant("2015-02-07"));
        assert!(!is_instant("2015-02-07T13:28:17"));
    }

    #[test]
    fn integers_are_range_checked() {
        assert!(check(Prim::Integer, &json!(2147483647)).is_ok());
        assert!(check(Prim::Integer, &json!(2147483648i64)).is_err());
        assert!(check(Prim::Integer, &json!(-2147483648i64)).is_ok());
        assert!(check(Prim::PositiveInt, &json!(0)).is_err());
        assert!(check(Prim::UnsignedInt, &json!(0)).is_ok());
        assert!(check(Prim::UnsignedInt, &json!(-1)).is_err());
        let v: Value = serde_json::from_str("1.0").unwrap();
        assert!(check(Prim::Integer, &v).is_err());
        assert!(check(Prim::Integer, &json!("1")).is_err());
        let huge: Value = serde_json::from_str("123456789012345678901234567890").unwrap();
        assert!(check(Prim::Integer, &huge).is_err());
    }

    #[test]
    fn decimals_follow_the_r4_syntax() {
        for ok in ["0", "-1.50", "1e3", "1.0E-7", "-0.0"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["01", "1.", ".5", "1e", "+1", ""] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn codes_ids_and_uris_follow_their_rules() {
        assert!(is_code("final"));
        assert!(is_code("a b"));
        assert!(!is_code(" final"));
        assert!(!is_code("final "));
        assert!(!is_code("a  b"));
        assert!(is_id("abc-1.2"));
        assert!(!is_id("bad_id"));
        assert!(!is_id(&"1".repeat(65)));
        assert!(check(Prim::Uri, &json!("http://a b")).is_err());
        assert!(is_oid("urn:oid:1.2.840.10008"));
        assert!(!is_oid("urn:oid:1.02"));
        assert!(is_uuid("urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162"));
        assert!(!is_uuid("urn:uuid:A76D9BBF-F293-4FB7-AD4C-2851CAC77162"));
    }

    #[test]
    fn base64_allows_line_breaks_but_not_foreign_characters() {
        assert!(decode_base64("SGVs\nbG8=").is_ok());
        assert!(decode_base64("%%%2@()()").is_err());
        assert_eq!(decode_base64("SGVsbG8").unwrap(), b"Hello");
    }

    mod as_before {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

            /// The byte-level tests find exactly what the character-level ones they replace did.
            #[test]
            fn byte_scans_agree_with_character_scans(s in "([ -~]|[\t\n\r\u{0B}\u{0C}\u{85}\u{a0}\u{2003}\u{3000}é€😀]){0,24}") {
                prop_assert_eq!(has_whitespace(&s), s.chars().any(char::is_whitespace));
                prop_assert_eq!(is_fhir_string(&s), !s.contains(['\u{0B}', '\u{0C}']));
                prop_assert_eq!(is_id(&s), (1..=64).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.'));
                let b = s.as_bytes();
                let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C);
                let code = !(b.first().is_none_or(ws) || b.last().is_some_and(ws) || b.windows(2).any(|w| ws(&w[0]) && ws(&w[1])));
                prop_assert_eq!(is_code(&s), code);
            }
        }
    }

    #[test]
    fn empty_strings_are_refused() {
        assert!(check(Prim::String, &json!("")).is_err());
        assert!(check(Prim::String, &json!(" x ")).is_ok());
    }
}
