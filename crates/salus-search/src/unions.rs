//! Search parameters whose index rows would be exactly the rows of other parameters of the same
//! resource type: R4's `Observation` `combo-*` parameters (`combo-code` is `code` and
//! `component-code` together, `combo-code-value-quantity` is `code-value-quantity` and
//! `component-code-value-quantity`, ...). Their rows would repeat a fifth of an Observation's
//! index, so the store writes none and searches a union through its parts.
//!
//! A union is recognised from the definitions, not listed: its expression's top-level `|`
//! branches (for the type) are exactly those of two or more other parameters of the same kind
//! (and, for composites, the same components), each branch in one part. Only the R4
//! specification's parameters are considered, so the store and the search agree on a fixed set.

use crate::registry::{Registry, SearchParam, split_union};
use std::collections::HashMap;
use std::sync::LazyLock;

type Unions = HashMap<String, HashMap<String, Vec<String>>>;

/// The parameters of `resource_type` whose rows make up the union parameter `code`, or `None`
/// when `code` is not a union.
pub fn parts(resource_type: &str, code: &str) -> Option<&'static [String]> {
    static UNIONS: LazyLock<Unions> = LazyLock::new(|| find(&Registry::r4()));
    UNIONS.get(resource_type)?.get(code).map(Vec::as_slice)
}

fn find(registry: &Registry) -> Unions {
    let mut unions: Unions = HashMap::new();
    for t in salus_fhir::r4().resource_types() {
        let params: Vec<(&SearchParam, Vec<String>)> = registry
            .for_type(t)
            .filter_map(|p| Some((p.as_ref(), branches(&p.expression_for(t)?))))
            .collect();
        for (p, whole) in &params {
            if whole.len() < 2 {
                continue;
            }
            // Candidate parts, largest first; each must take branches no other part took.
            let mut candidates: Vec<&(&SearchParam, Vec<String>)> = params
                .iter()
                .filter(|(q, mine)| {
                    q.code != p.code
                        && q.param_type == p.param_type
                        && same_components(p, q)
                        && mine.len() < whole.len()
                        && mine.iter().all(|b| whole.contains(b))
                })
                .collect();
            candidates.sort_by_key(|(_, mine)| std::cmp::Reverse(mine.len()));
            let mut covered: Vec<&String> = Vec::new();
            let mut chosen = Vec::new();
            for (q, mine) in candidates {
                if mine.iter().all(|b| !covered.contains(&b)) {
                    covered.extend(mine);
                    chosen.push(q.code.clone());
                }
            }
            if chosen.len() >= 2 && covered.len() == whole.len() {
                chosen.sort();
                unions.entry(t.to_string()).or_default().insert(p.code.clone(), chosen);
            }
        }
    }
    unions
}

/// The top-level branches of an expression, without enclosing parentheses, sorted.
fn branches(expression: &str) -> Vec<String> {
    let mut out: Vec<String> = split_union(expression).into_iter().map(|b| unparenthesized(b).to_string()).collect();
    out.sort();
    out.dedup();
    out
}

fn unparenthesized(mut b: &str) -> &str {
    while let Some(inner) = b.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        // `(a) | (b)` is not one parenthesised expression.
        if split_union(inner).len() > 1 || inner.matches('(').count() != inner.matches(')').count() {
            break;
        }
        b = inner.trim();
    }
    b
}

fn same_components(p: &SearchParam, q: &SearchParam) -> bool {
    p.components.len() == q.components.len()
        && p.components.iter().zip(&q.components).all(|(a, b)| a.param_type == b.param_type && a.expression == b.expression)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_r4_unions_are_the_observation_combo_parameters() {
        let unions = find(&Registry::r4());
        let mut found: Vec<(String, String, Vec<String>)> = unions
            .iter()
            .flat_map(|(t, m)| m.iter().map(move |(c, parts)| (t.clone(), c.clone(), parts.clone())))
            .collect();
        found.sort();
        let expected = [
            ("combo-code", ["code", "component-code"]),
            ("combo-code-value-concept", ["code-value-concept", "component-code-value-concept"]),
            ("combo-code-value-quantity", ["code-value-quantity", "component-code-value-quantity"]),
            ("combo-data-absent-reason", ["component-data-absent-reason", "data-absent-reason"]),
            ("combo-value-concept", ["component-value-concept", "value-concept"]),
            ("combo-value-quantity", ["component-value-quantity", "value-quantity"]),
        ];
        let expected: Vec<(String, String, Vec<String>)> = expected
            .iter()
            .map(|(c, p)| ("Observation".to_string(), c.to_string(), p.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(found, expected);
        assert_eq!(parts("Observation", "combo-code"), Some(["code".to_string(), "component-code".to_string()].as_slice()));
        assert_eq!(parts("Observation", "code"), None);
    }
}
