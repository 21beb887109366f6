//! String normalisation for `string` parameters: the default search is case- and
//! accent-insensitive (`Zoë` is found by `zoe`), so values are stored folded and queries folded
//! the same way. Decomposition (NFD) separates accents into combining marks, which are dropped;
//! whitespace runs become one space.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

pub fn fold(text: &str) -> String {
    // NFD leaves ASCII as it is and ASCII has no combining marks: most codes and displays skip
    // the decomposition, which was most of the indexer's token extraction.
    if text.is_ascii() {
        fold_ascii(text)
    } else {
        fold_chars(text.len(), text.nfd().filter(|c| !is_combining_mark(*c)))
    }
}

/// `fold_chars` for ASCII, a byte at a time (a third of the cost of going through `char`'s
/// Unicode lowercasing for the displays and codes of a bulk load).
fn fold_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for b in text.bytes() {
        // `char::is_whitespace` on ASCII: tab, line feed, vertical tab, form feed, return, space
        if matches!(b, b'\t'..=b'\r' | b' ') {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(char::from(b.to_ascii_lowercase()));
    }
    out
}

/// Lowercases `chars` and collapses whitespace runs to one space, trimming both ends.
fn fold_chars(len: usize, chars: impl Iterator<Item = char>) -> String {
    let mut out = String::with_capacity(len);
    let mut space = false;
    for c in chars {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out
}

/// The smallest string greater than every string starting with `prefix` in binary order, for a
/// `value >= prefix AND value < upper` range that an index can serve.
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut s = prefix.to_string();
    s.push(char::MAX);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("Zoë  MÜLLER"), "zoe muller");
        assert_eq!(fold(" Agustín "), "agustin");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn ascii_folds_as_the_decomposition_would() {
        // The ASCII fast path and the general one agree, whitespace of every ASCII kind included.
        let every_ascii: String = (0u8..128).map(char::from).collect();
        for text in ["Body Height", "\tHbA1c\x0B  (Blood)\r\n", "  ", "A-B_c.D", "MIXED case 42", &every_ascii] {
            let general = fold_chars(text.len(), text.nfd().filter(|c| !is_combining_mark(*c)));
            assert_eq!(fold(text), general, "{text:?}");
        }
        assert_eq!(fold("\tHbA1c\x0B  (Blood)\r\n"), "hba1c (blood)");
    }

    #[test]
    fn prefix_bound_is_above_every_extension() {
        let up = prefix_upper_bound("smi");
        assert!("smith" < up.as_str() && "smi" < up.as_str() && "smj" > up.as_str());
    }
}
