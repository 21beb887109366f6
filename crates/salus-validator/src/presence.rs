//! Invariants that the keys of a node decide, without the FHIRPath engine. Most of the
//! specification's invariants are guarded by an element's presence (`obs-6:
//! dataAbsentReason.empty() or value.empty()`, `dom-6: text.`div`.exists()`, `qty-3: code.empty()
//! or system.exists()`), and on a real resource the guard usually settles them: an element that
//! is absent makes every path that starts with it empty, whatever follows. Looking at a small
//! JSON map costs next to nothing; the engine costs a context, several collections and a tree
//! walk for each invariant on each node, which was a fifth of a bulk import's validation.
//!
//! Only these forms are recognised, and a node is decided only when the answer is certain; any
//! other expression or node goes to the engine:
//!
//! - a term: `name(.step)*.exists()`, `.empty()` or `.hasValue().not()`, where `name` is an
//!   element of the node's type and each step is a name or a `where(...)`. With no key of the
//!   node starting with `name` (or `_name`), the path is empty, so the term is false, true and
//!   true. With `name` itself (not a choice) holding a value, `name.exists()` is true and
//!   `name.empty()` false.
//! - `t1 or t2 or ...`: true as soon as one term is known true (FHIRPath's `or` is true with a
//!   true operand, whatever the other); false only when every term is known false.
//! - `p1 or ... implies c1 or ...`: true when the premise is known false; the conclusion when
//!   every term of the premise is known and it is true.
//!
//! A known `false` must be exactly what the engine answers, since it reports an issue: it is
//! only ever given when every term was decided, and a decided term is one the engine evaluates
//! without error (navigation to an element of the type, on an empty collection, never fails).
//! A known `true` reports nothing, as does an engine that fails. A test checks every decision
//! against the engine over the shared data (`invariants::cross_check`).

use crate::schema::Struct;
use serde_json::{Map, Value};

/// The recognised shape of an invariant's expression. A disjunct of no recognised form is a
/// `None` term: never decided, so the disjunction can be true by another term but never false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    premise: Option<Vec<Option<Term>>>,
    conclusion: Vec<Option<Term>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    /// The element the path starts at.
    root: &'static str,
    /// Whether steps follow the root (then only an absent root decides).
    has_steps: bool,
    test: Test,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    Exists,
    Empty,
    /// `hasValue().not()`
    HasNoValue,
}

impl Shape {
    /// The shape of `source`, or `None` when nothing in it could ever be decided here.
    pub fn of(source: &'static str) -> Option<Shape> {
        if has_comment(source) || split_top(source, " xor ")?.len() != 1 {
            return None;
        }
        let any_of = |text: &'static str| -> Option<Vec<Option<Term>>> {
            Some(split_top(text, " or ")?.into_iter().map(|t| Term::of(t.trim())).collect())
        };
        let shape = match split_top(source, " implies ")?.as_slice() {
            [conclusion] => Shape { premise: None, conclusion: any_of(conclusion)? },
            [premise, conclusion] => Shape { premise: Some(any_of(premise)?), conclusion: any_of(conclusion)? },
            _ => return None,
        };
        // Something must be decidable: the premise of an implication, else the disjunction.
        shape.premise.as_ref().unwrap_or(&shape.conclusion).iter().any(Option::is_some).then_some(shape)
    }

    /// The invariant's value on `node`, an instance of `st`, when the keys present decide it.
    pub fn decide(&self, node: &Map<String, Value>, st: &Struct) -> Option<bool> {
        let conclusion = any_of(&self.conclusion, node, st);
        match &self.premise {
            None => conclusion,
            Some(premise) => match (any_of(premise, node, st), all_decided(premise, node, st)) {
                (Some(false), _) => Some(true),
                // `true implies x` is `x`: certain when every term of the premise was decided
                // (else the engine could fail on one before reaching the true one).
                (Some(true), true) => conclusion,
                _ => None,
            },
        }
    }
}

/// A disjunction: true when a term is known true, false when every term is known false.
fn any_of(terms: &[Option<Term>], node: &Map<String, Value>, st: &Struct) -> Option<bool> {
    let mut all_false = true;
    for term in terms {
        match term.as_ref().and_then(|t| t.decide(node, st)) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => all_false = false,
        }
    }
    all_false.then_some(false)
}

fn all_decided(terms: &[Option<Term>], node: &Map<String, Value>, st: &Struct) -> bool {
    terms.iter().all(|t| t.as_ref().and_then(|t| t.decide(node, st)).is_some())
}

impl Term {
    fn of(text: &'static str) -> Option<Term> {
        let segments = split_top(text, ".")?;
        let (root, rest) = segments.split_first()?;
        if !is_identifier(root) || !root.starts_with(|c: char| c.is_ascii_lowercase()) {
            return None;
        }
        let (test, steps) = match rest {
            [steps @ .., "exists()"] => (Test::Exists, steps),
            [steps @ .., "empty()"] => (Test::Empty, steps),
            [steps @ .., "hasValue()", "not()"] => (Test::HasNoValue, steps),
            _ => return None,
        };
        let step_ok = |s: &&str| is_identifier(s) || is_backticked(s) || (s.starts_with("where(") && s.ends_with(')'));
        if !steps.iter().all(step_ok) {
            return None;
        }
        Some(Term { root, has_steps: !steps.is_empty(), test })
    }

    fn decide(&self, node: &Map<String, Value>, st: &Struct) -> Option<bool> {
        // Only an element of the type navigates without error (a name the model does not
        // know, such as a typed choice name `valueString`, is an error in the engine).
        let choice = match st.props.get(self.root) {
            Some(prop) if prop.choice_of.is_none() => false,
            Some(_) => return None,
            None if st.elems.iter().any(|e| e.is_choice && e.name == self.root) => true,
            None => return None,
        };
        let first = self.root.as_bytes().first().copied();
        let absent = !node.keys().any(|k| {
            let name = k.strip_prefix('_').unwrap_or(k);
            // The first byte rules out nearly every key without a call to compare.
            name.as_bytes().first().copied() == first && name.starts_with(self.root)
        });
        if absent {
            return Some(match self.test {
                Test::Exists => false,
                Test::Empty | Test::HasNoValue => true,
            });
        }
        if self.has_steps || choice {
            return None;
        }
        let has_value = match node.get(self.root) {
            Some(Value::Array(items)) => items.iter().any(|v| !v.is_null()),
            Some(Value::Null) | None => return None,
            Some(_) => true,
        };
        match (self.test, has_value) {
            (Test::Exists, true) => Some(true),
            (Test::Empty, true) => Some(false),
            _ => None,
        }
    }
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

fn is_backticked(s: &str) -> bool {
    s.len() > 2 && s.starts_with('`') && s.ends_with('`') && !s[1..s.len() - 1].contains('`')
}

/// A comment anywhere outside a string literal: the expression is not read here at all.
fn has_comment(s: &str) -> bool {
    let mut quoted = false;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'\'' => quoted = !quoted,
            b'/' if !quoted && matches!(b.get(i + 1), Some(b'/' | b'*')) => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Splits `s` at each `sep` outside parentheses, brackets, braces, string literals and
/// backticked names; `None` when those are unbalanced.
fn split_top(s: &'static str, sep: &str) -> Option<Vec<&'static str>> {
    let b = s.as_bytes();
    let (mut depth, mut quote, mut start, mut i) = (0usize, None::<u8>, 0, 0);
    let mut parts = Vec::new();
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'`' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.checked_sub(1)?,
                _ if depth == 0 && s[i..].starts_with(sep) => {
                    parts.push(&s[start..i]);
                    i += sep.len();
                    start = i;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    if depth != 0 || quote.is_some() {
        return None;
    }
    parts.push(&s[start..]);
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(s: &'static str) -> Option<Shape> {
        Shape::of(s)
    }

    #[test]
    fn the_guarded_forms_of_the_specification_are_recognised() {
        for s in [
            "text.`div`.exists()",
            "dataAbsentReason.empty() or value.empty()",
            "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
            "code.empty() or system.exists()",
            "start.hasValue().not() or end.hasValue().not() or (start <= end)",
            "period.exists() implies period >= 0",
            "abatement.empty() or clinicalStatus.coding.where(system='http://x' and (code='resolved' or code='remission')).exists()",
        ] {
            assert!(shape(s).is_some(), "{s}");
        }
    }

    #[test]
    fn other_forms_are_left_to_the_engine() {
        for s in [
            "(identifier.count() + name.count()) > 0",
            "where(use = 'home').empty()",
            "a.exists() xor b.exists()",
            "a.exists() implies b.exists() implies c.exists()",
            "Patient.name.exists()",
            "%resource.name.exists()",
            "name.exists() // or not",
            "name.exists(given)",
            "name.exists().not()",
            "name.first().exists()",
            "name.select(given).exists() or (",
            "(name.exists())",
            "(a <= b) implies name.exists()",
        ] {
            assert_eq!(shape(s), None, "{s}");
        }
    }

    #[test]
    fn top_level_splitting_respects_nesting_and_literals() {
        assert_eq!(split_top("a or (b or c) or 'x or y' or `o or p`", " or "), Some(vec!["a", "(b or c)", "'x or y'", "`o or p`"]));
        assert_eq!(split_top("a.where(b.c).d", "."), Some(vec!["a", "where(b.c)", "d"]));
        assert_eq!(split_top("a(b", "."), None);
        assert_eq!(split_top("'a\\'b'.c", "."), Some(vec!["'a\\'b'", "c"]));
    }
}
