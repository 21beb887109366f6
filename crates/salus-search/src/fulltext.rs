//! `_text` and `_content`: what a resource offers to full-text search, and the search
//! expression a query value becomes. The store keeps the text in an FTS5 index (unicode61
//! tokens, diacritics removed), so `matches` here follows the same rules for the in-memory
//! matcher: words are runs of letters and digits, folded like strings.

use crate::text::fold;
use serde_json::Value;

/// Keys whose values are identifiers or machinery, not text a person would search for.
const NOT_CONTENT: &[&str] = &["reference", "system", "url", "div", "id", "versionId", "lastUpdated", "data", "fullUrl", "profile"];

/// Fills `narrative` (the words of `text.div`) and `content` (every other text value).
pub fn extract(resource: &Value, narrative: &mut String, content: &mut String) {
    if let Some(div) = resource.get("text").and_then(|t| t.get("div")).and_then(Value::as_str) {
        strip_markup(div, narrative);
    }
    collect(resource, content);
}

fn collect(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(s);
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                if !NOT_CONTENT.contains(&k.as_str()) && k != "resourceType" {
                    collect(x, out);
                }
            }
        }
        _ => {}
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
    fn query_words_are_quoted_and_matched_folded() {
        let e = expression("heart  Rate,Zoë").expect("expression");
        assert_eq!(e, "(\"heart\" AND \"rate\") OR (\"zoe\")");
        assert!(matches(&e, "Resting heart-rate"));
        assert!(matches(&e, "ZOE"));
        assert!(!matches(&e, "heart"));
        assert_eq!(expression(" ,\"*"), None);
    }
}
