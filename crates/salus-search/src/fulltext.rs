//! `_text` and `_content`: what a resource offers to full-text search, and the search
//! expression a query value becomes. The store keeps the text in an FTS5 index (unicode61
//! tokens, diacritics removed), so `matches` here follows the same rules for the in-memory
//! matcher: words are runs of letters and digits, folded like strings.

use crate::text::fold;
use serde_json::Value;

/// Keys whose values are identifiers or machinery, not text a person would search for.
const NOT_CONTENT: &[&str] = &["reference", "system", "url", "div", "id", "versionId", "lastUpdated", "data", "fullUrl", "profile"];

/// Fills `narrative` (the words of `text.div`) and `content` (every other text value but dates
/// and times).
pub fn extract(resource: &Value, narrative: &mut String, content: &mut String) {
    if let Some(div) = resource.get("text").and_then(|t| t.get("div")).and_then(Value::as_str) {
        strip_markup(div, narrative);
    }
    collect(resource, content, &mut foldhash::HashSet::default());
}

/// Each distinct value once: a search finds a resource by words anywhere in its content, so a
/// repeated value (a concept's text beside its coding's display, a claim's categories repeated
/// on every line) only made the full-text index longer, by more than a third for Synthea.
fn collect<'v>(v: &'v Value, out: &mut String, seen: &mut foldhash::HashSet<&'v str>) {
    match v {
        Value::String(s) if is_date_or_time(s) => {}
        Value::String(s) if seen.insert(s) => {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(s);
        }
        Value::String(_) => {}
        Value::Array(a) => a.iter().for_each(|x| collect(x, out, seen)),
        Value::Object(o) => {
            for (k, x) in o {
                if !NOT_CONTENT.contains(&k.as_str()) && k != "resourceType" {
                    collect(x, out, seen);
                }
            }
        }
        _ => {}
    }
}

/// Whether a value is a FHIR date (to the month at least), dateTime, instant or time: not words
/// a person searches the content for (dates are searched through date parameters), and a third
/// of a Synthea load's content words, each a posting in the full-text index. A bare year is kept:
/// it cannot be told from a four-digit code.
fn is_date_or_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let time = |at: usize| {
        // hh:mm:ss, then fractional seconds and a zone in any form: only digits and `.:+-Z` follow.
        digits(at..at + 2)
            && b.get(at + 2) == Some(&b':')
            && digits(at + 3..at + 5)
            && b.get(at + 5) == Some(&b':')
            && digits(at + 6..at + 8)
            && b[at + 8..].iter().all(|c| c.is_ascii_digit() || b".:+-Z".contains(c))
    };
    let month = digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7);
    match b.len() {
        7 => month,
        10 => month && b[7] == b'-' && digits(8..10),
        n if n > 10 && month && b[7] == b'-' && digits(8..10) && b[10] == b'T' => time(11),
        _ => time(0),
    }
}

/// The text of XHTML: tags dropped, the common entities decoded.
fn strip_markup(xhtml: &str, out: &mut String) {
    let mut in_tag = false;
    let mut text = String::with_capacity(xhtml.len());
    for c in xhtml.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let decoded = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&nbsp;", " ").replace("&amp;", "&");
    out.push_str(decoded.split_whitespace().collect::<Vec<_>>().join(" ").as_str());
}

/// Words as the index sees them: folded runs of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    fold(text).split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// The FTS5 expression of a query value: commas separate alternatives, the words of one
/// alternative must all occur. Every word is quoted, so no user input is read as FTS syntax.
/// `None` when there is no word to find.
pub fn expression(value: &str) -> Option<String> {
    let alternatives: Vec<String> = crate::query::split_alternatives(value)
        .iter()
        .map(|alt| words(alt).iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" AND "))
        .filter(|a| !a.is_empty())
        .collect();
    if alternatives.is_empty() {
        return None;
    }
    Some(alternatives.iter().map(|a| format!("({a})")).collect::<Vec<_>>().join(" OR "))
}

/// Whether `text` satisfies an expression made by [`expression`] (for the in-memory matcher).
pub fn matches(expression: &str, text: &str) -> bool {
    let have: std::collections::HashSet<String> = words(text).into_iter().collect();
    expression.split(" OR ").any(|alt| {
        alt.trim_matches(|c| c == '(' || c == ')')
            .split(" AND ")
            .all(|w| have.contains(w.trim_matches('"')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn narrative_loses_its_markup_and_content_its_machinery() {
        let r = json!({"resourceType": "Patient", "id": "x", "text": {"div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><b>Zoë</b> &amp; co</div>"},
            "name": [{"family": "Müller"}], "managingOrganization": {"reference": "Organization/1", "display": "Acme"}});
        let (mut n, mut c) = (String::new(), String::new());
        extract(&r, &mut n, &mut c);
        assert_eq!(n, "Zoë & co");
        assert!(c.contains("Müller") && c.contains("Acme") && !c.contains("Organization/1") && !c.contains("xhtml"));
    }

    #[test]
    fn a_repeated_value_is_content_once() {
        let r = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"code": "8302-2", "display": "Body Height"}], "text": "Body Height"},
            "note": [{"text": "Body Height"}, {"text": "body height"}]});
        let (mut n, mut c) = (String::new(), String::new());
        extract(&r, &mut n, &mut c);
        assert_eq!(c, "final 8302-2 Body Height body height");
    }

    #[test]
    fn dates_and_times_are_not_content_words() {
        let r = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2015-10-14T21:43:03-04:00",
            "issued": "2015-10-14T21:43:03.614-04:00", "note": [{"text": "since 2015-10 it is worse"}],
            "valuePeriod": {"start": "2015-10", "end": "2016-01-02"}, "valueTime": "08:30:00",
            "code": {"coding": [{"code": "2015"}]}});
        let (mut n, mut c) = (String::new(), String::new());
        extract(&r, &mut n, &mut c);
        assert_eq!(c, "final since 2015-10 it is worse 2015", "a date inside text and a bare year stay");
    }

    #[test]
    fn values_that_only_look_like_dates_in_part_are_content() {
        for text in ["2015-10-14 visit", "12:30 lunch", "2015-1", "2015-10-14T", "20151014", "10:00:00 sharp"] {
            assert!(!is_date_or_time(text), "{text}");
        }
        for date in ["2015-10", "2015-10-14", "2015-10-14T21:43:03Z", "2015-10-14T21:43:03.5+01:00", "23:59:59"] {
            assert!(is_date_or_time(date), "{date}");
        }
    }

    #[test]
    fn query_words_are_quoted_and_matched_folded() {
        let e = expression("heart  Rate,Zoë").expect("expression");
        assert_eq!(e, "(\"heart\" AND \"rate\") OR (\"zoe\")");
        assert!(matches(&e, "Resting heart-rate"));
        assert!(matches(&e, "ZOE"));
        assert!(!matches(&e, "heart"));
        assert_eq!(expression(" ,\"*"), None);
    }
}
