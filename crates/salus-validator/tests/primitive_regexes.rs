//! The hand-written primitive checks agree with the regular expressions of the R4 primitive
//! definitions (`date.value` ...): whatever the official regex refuses is refused, and whatever
//! it accepts is accepted unless one of the rules a regex cannot express applies (the day must
//! exist, integers fit in 32 bits, positiveInt > 0, a year is not 0000).

use proptest::prelude::*;
use salus_validator::check_primitive;
use serde_json::Value;

fn official(type_code: &str) -> regex::Regex {
    let def = salus_fhir::r4().element(&format!("{type_code}.value")).expect("primitive value element");
    let re = def.types[0].regex.as_deref().expect("regex");
    regex::Regex::new(&format!("^(?:{re})$")).expect("official regex compiles")
}

fn as_json(type_code: &str, s: &str) -> Option<Value> {
    match type_code {
        "integer" | "decimal" | "positiveInt" | "unsignedInt" => serde_json::from_str(s).ok(),
        _ => Some(Value::String(s.to_string())),
    }
}

/// Rules beyond the regex, so an accepted-by-regex value may still be refused.
fn extra_rule_refuses(type_code: &str, s: &str) -> bool {
    match type_code {
        "date" | "dateTime" | "instant" => !calendar_ok(s),
        "integer" | "positiveInt" | "unsignedInt" => s.parse::<i64>().map_or(true, |n| n > i32::MAX as i64 || n < i32::MIN as i64),
        "time" => false,
        _ => false,
    }
}

fn calendar_ok(s: &str) -> bool {
    let parts: Vec<&str> = s.get(..10.min(s.len())).unwrap_or("").split('-').collect();
    if let [y, m, d] = parts.as_slice() {
        let (y, m, d): (u32, u32, u32) = (y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0));
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m { 2 if leap => 29, 2 => 28, 4 | 6 | 9 | 11 => 30, _ => 31 };
        return d <= days;
    }
    true
}

fn agree(type_code: &str, re: &regex::Regex, s: &str) -> Result<(), TestCaseError> {
    let Some(json) = as_json(type_code, s) else { return Ok(()) };
    let ours = check_primitive(type_code, &json).is_ok();
    let theirs = re.is_match(s);
    if theirs {
        prop_assert!(ours || extra_rule_refuses(type_code, s), "{type_code} '{s}': regex accepts, Salus refuses");
    } else {
        prop_assert!(!ours, "{type_code} '{s}': regex refuses, Salus accepts");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn date_and_time_types_agree(s in "[0-9]{1,4}(-[0-9]{1,2}(-[0-9]{1,2}(T[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,3})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?") {
        for t in ["date", "dateTime", "instant"] {
            agree(t, &official(t), &s)?;
        }
    }

    #[test]
    fn well_formed_date_times_agree(y in 1u32..3000, m in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..61, sec in 0u32..62, tz in prop_oneof![Just("Z"), Just("+14:00"), Just("-05:00"), Just("+14:30"), Just("")]) {
        let s = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{sec:02}{tz}");
        for t in ["dateTime", "instant"] {
            agree(t, &official(t), &s)?;
        }
        agree("time", &official("time"), &format!("{h:02}:{mi:02}:{sec:02}"))?;
    }

    #[test]
    fn numbers_agree(s in "-?[0-9]{1,12}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{1,2})?") {
        for t in ["integer", "decimal", "positiveInt", "unsignedInt"] {
            agree(t, &official(t), &s)?;
        }
    }

    #[test]
    fn identifiers_agree(s in "[a-zA-Z0-9 ._:\\-\\t]{0,70}") {
        for t in ["id", "code", "uri"] {
            if !s.is_empty() {
                agree(t, &official(t), &s)?;
            }
        }
    }

    #[test]
    fn oids_and_uuids_agree(s in "urn:(oid:[0-3](\\.[0-9]{1,3}){0,4}|uuid:[0-9a-fA-F-]{36})") {
        for t in ["oid", "uuid"] {
            agree(t, &official(t), &s)?;
        }
    }
}
