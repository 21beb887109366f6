//! String normalisation for `string` parameters: the default search is case- and
//! accent-insensitive (`Zoë` is found by `zoe`), so values are stored folded and queries folded
//! the same way. Decomposition (NFD) separates accents into combining marks, which are dropped;
//! whitespace runs become one space.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
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
    fn prefix_bound_is_above_every_extension() {
        let up = prefix_upper_bound("smi");
        assert!("smith" < up.as_str() && "smi" < up.as_str() && "smj" > up.as_str());
    }
}
