//! Index terms: what one resource version contributes to each search parameter, typed by
//! parameter type. The store writes one row per term; the in-memory matcher reads them too.
//! Terms carry no resource id, so they are computed before the id is assigned.

use crate::date::DateRange;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexTerms {
    pub strings: Vec<StringTerm>,
    pub tokens: Vec<TokenTerm>,
    pub dates: Vec<DateTerm>,
    pub numbers: Vec<NumberTerm>,
    pub quantities: Vec<QuantityTerm>,
    pub references: Vec<ReferenceTerm>,
    pub uris: Vec<UriTerm>,
    pub composites: Vec<CompositeTerm>,
    /// For `_text`: the narrative's words (the XHTML without its markup).
    pub narrative: String,
    /// For `_content`: the resource's text values, space-separated.
    pub content: String,
}

/// A string value: `norm` folded for the default and `:contains` searches, `exact` as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StringTerm {
    pub param: String,
    pub norm: String,
    pub exact: String,
}

/// A coded value. `text` is the folded display or CodeableConcept text, for `:text`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenTerm {
    pub param: String,
    pub system: Option<String>,
    pub code: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTerm {
    pub param: String,
    pub range: DateRange,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NumberTerm {
    pub param: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuantityTerm {
    pub param: String,
    pub value: f64,
    pub system: Option<String>,
    /// The coded unit, else the human unit.
    pub code: Option<String>,
    /// The value in the UCUM canonical unit, when the unit is UCUM and understood.
    pub canonical: Option<(f64, String)>,
}

/// A reference: a local `Type/id` (type and id set), an absolute or canonical `url` (with a
/// `|version`), or both when an absolute URL names a type and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReferenceTerm {
    pub param: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub url: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UriTerm {
    pub param: String,
    pub value: String,
}

/// A composite value: a token first component and the second component's value, as the R4
/// composites (`code-value-quantity`, `context-type-value`, ...) are built; `third` is the
/// third component's value for the three-component MolecularSequence coordinates
/// (`chromosome-variant-coordinate`: chromosome, start, end), `None` for the others.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeTerm {
    pub param: String,
    pub first: TokenTerm,
    pub second: CompositeValue,
    pub third: Option<CompositeValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompositeValue {
    Token(TokenTerm),
    Quantity(QuantityTerm),
    Date(DateTerm),
    String(StringTerm),
    Number(NumberTerm),
}

impl IndexTerms {
    /// Drops duplicate terms (one resource often yields the same value through several paths).
    pub fn dedup(&mut self) {
        // Sorting in place is cheaper than hashing clones of every term.
        fn uniq<T: Ord>(v: &mut Vec<T>) {
            v.sort_unstable();
            v.dedup();
        }
        uniq(&mut self.strings);
        uniq(&mut self.tokens);
        uniq(&mut self.dates);
        uniq(&mut self.references);
        uniq(&mut self.uris);
        dedup_by_eq(&mut self.numbers);
        dedup_by_eq(&mut self.quantities);
        dedup_by_eq(&mut self.composites);
    }

    pub fn len(&self) -> usize {
        self.strings.len()
            + self.tokens.len()
            + self.dates.len()
            + self.numbers.len()
            + self.quantities.len()
            + self.references.len()
            + self.uris.len()
            + self.composites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn dedup_by_eq<T: PartialEq>(v: &mut Vec<T>) {
    let mut i = 0;
    while i < v.len() {
        if v[..i].contains(&v[i]) {
            v.remove(i);
        } else {
            i += 1;
        }
    }
}
