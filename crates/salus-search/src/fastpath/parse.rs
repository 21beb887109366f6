//! The fast path's parser: the few shapes search-parameter expressions take, read into the
//! tree `salus_fhirpath`'s parser would build for them (same associativity, same grouping).
//! Anything else, including shapes the engine reads differently from how they look (escapes,
//! backticks, keywords, comments, namespaced types), is refused, and the expression stays
//! with the general engine.

use super::{Child, Expr, Head, Step, StringOp, StringTest, TypeTest};
use salus_fhirpath::{FhirModel, Model};

/// System type names `ofType` accepts that are not FHIR types (`ofType(DateTime)`): no FHIR
/// element is one, so the filter keeps nothing (as `salus_fhirpath`'s `is_type` answers for
/// a FHIR node when not lenient).
const SYSTEM_TYPES: [&str; 10] =
    ["Boolean", "Integer", "Long", "Decimal", "String", "Date", "DateTime", "Time", "Quantity", "Any"];

/// Words that are operators or literals in some position: a name spelled like one is left
/// to the general parser, which knows which it is.
const KEYWORDS: [&str; 12] = ["and", "or", "xor", "implies", "in", "contains", "is", "as", "div", "mod", "true", "false"];

#[derive(Debug, Clone, PartialEq)]
enum Tok<'s> {
    Name(&'s str),
    Str(&'s str),
    Punct(u8),
}

fn tokenize(src: &str) -> Option<Vec<Tok<'_>>> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Name(&src[start..i]));
        } else if c == b'\'' {
            let start = i + 1;
            let len = src[start..].find('\'')?;
            let text = &src[start..start + len];
            // an escape would need the engine's unescaping
            if text.contains('\\') {
                return None;
            }
            out.push(Tok::Str(text));
            i = start + len + 1;
        } else if matches!(c, b'.' | b'(' | b')' | b'|' | b'=') {
            // (`!`, `<`, `>` are refused, so this `=` is never half of `!=`, `<=`, `>=`)
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

struct Parser<'s> {
    toks: Vec<Tok<'s>>,
    at: usize,
    depth: usize,
}

/// Guards recursion on `((((...))))`; search-parameter expressions nest two or three deep.
const MAX_DEPTH: usize = 16;

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<&Tok<'s>> {
        self.toks.get(self.at)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok<'s>> {
        self.toks.get(self.at + ahead)
    }

    fn next(&mut self) -> Option<Tok<'s>> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn punct(&mut self, p: u8) -> Option<()> {
        (self.next()? == Tok::Punct(p)).then_some(())
    }

    fn name(&mut self) -> Option<&'s str> {
        match self.next()? {
            Tok::Name(n) if !KEYWORDS.contains(&n) => Some(n),
            _ => None,
        }
    }

    /// A name that the engine reads as an element of the focus: a keyword or a capitalised
    /// name (which the engine first tries as a type) is refused.
    fn element_name(&mut self) -> Option<&'s str> {
        let n = self.name()?;
        n.starts_with(|c: char| c.is_ascii_lowercase()).then_some(n)
    }

    /// `path ('|' path)*`, left-associative like the engine's `|`.
    fn union(&mut self) -> Option<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut left = self.path()?;
        while self.peek() == Some(&Tok::Punct(b'|')) {
            self.at += 1;
            let right = self.path()?;
            left = Expr::Union(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Some(left)
    }

    fn path(&mut self) -> Option<Expr> {
        let head = match self.next()? {
            Tok::Punct(b'(') => {
                let inner = self.union()?;
                self.punct(b')')?;
                Head::Group(Box::new(inner))
            }
            Tok::Name(n) if !KEYWORDS.contains(&n) && self.peek() != Some(&Tok::Punct(b'(')) => Head::Name(n.to_string()),
            _ => return None,
        };
        let mut steps = Vec::new();
        while self.peek() == Some(&Tok::Punct(b'.')) {
            self.at += 1;
            // after a dot any name is a member (`expansion.contains`) or a function
            let Tok::Name(name) = self.next()? else { return None };
            if self.peek() != Some(&Tok::Punct(b'(')) {
                steps.push(Step::Child(Child::new(name)));
                continue;
            }
            self.at += 1;
            let step = match name {
                "ofType" => Step::OfType(self.type_test()?),
                "where" => self.predicate()?,
                _ => return None,
            };
            self.punct(b')')?;
            steps.push(step);
        }
        Some(Expr::Path { head, steps })
    }

    /// The type argument of `ofType`: a plain name the model or the System namespace knows.
    fn type_test(&mut self) -> Option<TypeTest> {
        let name = self.name()?;
        if self.peek() == Some(&Tok::Punct(b'.')) {
            return None; // `FHIR.Quantity`: the namespace changes the test
        }
        match FhirModel::r4().type_info(name) {
            Some(info) => Some(TypeTest::Fhir(info.name)),
            // an unknown name is an error in the engine, when there is an item to test
            None => SYSTEM_TYPES.contains(&name).then_some(TypeTest::SystemOnly),
        }
    }

    /// The argument of `where`: `child = 'text'`, or `child.startsWith('a') or
    /// child.contains('b') ...` (optionally in parentheses).
    fn predicate(&mut self) -> Option<Step> {
        if matches!(self.peek(), Some(Tok::Name(_))) && self.peek_at(1) == Some(&Tok::Punct(b'=')) {
            let child = Child::new(self.element_name()?);
            self.at += 1;
            let Tok::Str(literal) = self.next()? else { return None };
            return Some(Step::WhereEquals { child, literal: literal.to_string() });
        }
        let grouped = self.peek() == Some(&Tok::Punct(b'('));
        if grouped {
            self.at += 1;
        }
        let mut tests = vec![self.string_test()?];
        while self.peek() == Some(&Tok::Name("or")) {
            self.at += 1;
            tests.push(self.string_test()?);
        }
        if grouped {
            self.punct(b')')?;
        }
        Some(Step::WhereAny(tests))
    }

    /// `child.startsWith('text')` or `child.contains('text')`.
    fn string_test(&mut self) -> Option<StringTest> {
        let child = Child::new(self.element_name()?);
        self.punct(b'.')?;
        let op = match self.next()? {
            Tok::Name("startsWith") => StringOp::StartsWith,
            Tok::Name("contains") => StringOp::Contains,
            _ => return None,
        };
        self.punct(b'(')?;
        let Tok::Str(needle) = self.next()? else { return None };
        self.punct(b')')?;
        Some(StringTest { child, op, needle: needle.to_string() })
    }
}

/// The expression's tree, or `None` when it is not one of the shapes the fast path takes.
pub(super) fn parse(src: &str) -> Option<Expr> {
    let mut p = Parser { toks: tokenize(src)?, at: 0, depth: 0 };
    let expr = p.union()?;
    (p.at == p.toks.len()).then_some(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_parameter_shapes_parse() {
        for e in [
            "Observation.code",
            "Resource.meta.tag",
            "Observation | Observation.component",
            "(Observation.value.ofType(Quantity)) | (Observation.value.ofType(SampledData))",
            "(Observation.value.ofType(string)) | (Observation.value.ofType(CodeableConcept)).text",
            "Patient.telecom.where(system='email')",
            "Observation.subject.where((reference.startsWith('Patient/') or reference.contains('/Patient/')))",
            "value.ofType(DateTime) | value.ofType(Period)",
            "code",
            "ValueSet.expansion.contains.code | ValueSet.compose.include.concept.code",
        ] {
            assert!(parse(e).is_some(), "{e}");
        }
    }

    #[test]
    fn other_shapes_are_left_to_the_engine() {
        for e in [
            "Bundle.entry[0].resource",
            "Patient.deceased.exists() and Patient.deceased != false",
            "%resource.referenceSeq.chromosome",
            "Observation.value as Quantity",
            "Observation.value.ofType(FHIR.Quantity)",
            "Observation.value.ofType(Nonsense)",
            "Patient.telecom.where(system='e\\'mail')",
            "Patient.telecom.where(system='email' and use='home')",
            "Patient.telecom.where(System='email')",
            "Patient.`name`",
            "Patient.name // comment",
            "Patient.name.first()",
            "where(true)",
            "true.name",
            "Patient.name |",
            "(Patient.name",
            "Patient.name)",
            "",
        ] {
            assert!(parse(e).is_none(), "{e}");
        }
    }

    #[test]
    fn unions_associate_to_the_left() {
        let parsed = parse("a | b | c");
        assert!(matches!(&parsed, Some(Expr::Union(left, _)) if matches!(**left, Expr::Union(..))), "{parsed:?}");
    }
}
