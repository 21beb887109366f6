//! Tokeniser. Keywords (`and`, `is`, `contains`, ...) are lexed as identifiers and given their
//! meaning by the parser from their position, because FHIRPath lets most of them also be used
//! as names (`.contains('a')`, `repeat(contains)`).

use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name; `true` when written in backticks (then never a keyword).
    Ident(String, bool),
    Str(String),
    /// Number text as written (`1`, `1.50`).
    Number(String),
    /// `@2015-02-04T14:34`, without the `@`.
    DateTime(String),
    /// `@T14:34`, without the `@T`.
    Time(String),
    /// `%name`, `%'name'`, ``%`vs-x` ``.
    Env(String),
    /// `$this`, `$index`, `$total`.
    Dollar(String),
    Punct(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub pos: usize,
}

const PUNCTS: [&str; 22] = [
    "<=", ">=", "!=", "!~", ".", "[", "]", "(", ")", ",", "+", "-", "*", "/", "&", "|", "<", ">",
    "=", "~", "{", "}",
];

pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if src[i..].starts_with("//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if src[i..].starts_with("/*") {
            match src[i + 2..].find("*/") {
                Some(end) => i = i + 2 + end + 2,
                None => return Err(ParseError::new(i, "unterminated comment")),
            }
            continue;
        }
        let start = i;
        if c == b'\'' {
            let (s, next) = quoted(src, i, b'\'')?;
            out.push(Token { tok: Tok::Str(s), pos: start });
            i = next;
        } else if c == b'`' {
            let (s, next) = quoted(src, i, b'`')?;
            out.push(Token { tok: Tok::Ident(s, true), pos: start });
            i = next;
        } else if c.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push(Token { tok: Tok::Number(src[start..i].to_string()), pos: start });
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident(src[start..i].to_string(), false), pos: start });
        } else if c == b'$' {
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let name = &src[start + 1..i];
            if !matches!(name, "this" | "index" | "total") {
                return Err(ParseError::new(start, format!("unknown special variable ${name}")));
            }
            out.push(Token { tok: Tok::Dollar(name.to_string()), pos: start });
        } else if c == b'%' {
            i += 1;
            let name = match bytes.get(i) {
                Some(b'\'') | Some(b'`') => {
                    let (s, next) = quoted(src, i, bytes[i])?;
                    i = next;
                    s
                }
                Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                    let s = i;
                    while i < bytes.len()
                        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-')
                    {
                        i += 1;
                    }
                    src[s..i].to_string()
                }
                _ => return Err(ParseError::new(start, "expected a variable name after %")),
            };
            out.push(Token { tok: Tok::Env(name), pos: start });
        } else if c == b'@' {
            let (tok, next) = date_time(src, i)?;
            out.push(Token { tok, pos: start });
            i = next;
        } else if let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            out.push(Token { tok: Tok::Punct(p), pos: start });
            i += p.len();
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(ParseError::new(i, format!("unexpected character '{ch}'")));
        }
    }
    out.push(Token { tok: Tok::Eof, pos: src.len() });
    Ok(out)
}

/// A quoted string or delimited identifier starting at `start` (the quote); returns the
/// unescaped text and the offset after the closing quote.
fn quoted(src: &str, start: usize, quote: u8) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        let at = start + 1 + off;
        if ch as u32 == quote as u32 {
            return Ok((out, at + 1));
        }
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        let Some((_, esc)) = chars.next() else { break };
        match esc {
            '\'' | '"' | '`' | '\\' | '/' => out.push(esc),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let mut code = 0u32;
                for _ in 0..4 {
                    let digit = chars.next().and_then(|(_, h)| h.to_digit(16));
                    let Some(d) = digit else {
                        return Err(ParseError::new(at, "invalid \\u escape"));
                    };
                    code = code * 16 + d;
                }
                match char::from_u32(code) {
                    Some(c) => out.push(c),
                    None => return Err(ParseError::new(at, "invalid \\u escape")),
                }
            }
            other => return Err(ParseError::new(at, format!("invalid escape \\{other}"))),
        }
    }
    Err(ParseError::new(start, "unterminated string"))
}

fn digits(b: &[u8], i: usize, n: usize) -> bool {
    i + n <= b.len() && b[i..i + n].iter().all(u8::is_ascii_digit)
}

/// `@` date, date-time or time literal. The shape is checked here; values are checked by the
/// parser (month 13 is an error there).
fn date_time(src: &str, at: usize) -> Result<(Tok, usize), ParseError> {
    let b = src.as_bytes();
    let mut i = at + 1;
    if b.get(i) == Some(&b'T') {
        let end = time_part(b, i + 1).ok_or_else(|| ParseError::new(at, "invalid time literal"))?;
        if matches!(b.get(end), Some(b'Z') | Some(b'+') | Some(b'-'))
            && (b.get(end) == Some(&b'Z') || digits(b, end + 1, 2))
        {
            return Err(ParseError::new(at, "a time literal cannot have a timezone"));
        }
        return Ok((Tok::Time(src[i + 1..end].to_string()), end));
    }
    if !digits(b, i, 4) {
        return Err(ParseError::new(at, "invalid date literal"));
    }
    i += 4;
    for _ in 0..2 {
        if b.get(i) == Some(&b'-') && digits(b, i + 1, 2) {
            i += 3;
        } else {
            break;
        }
    }
    if b.get(i) == Some(&b'T') {
        i += 1;
        if let Some(end) = time_part(b, i) {
            i = end;
            if b.get(i) == Some(&b'Z') {
                i += 1;
            } else if matches!(b.get(i), Some(b'+') | Some(b'-'))
                && digits(b, i + 1, 2)
                && b.get(i + 3) == Some(&b':')
                && digits(b, i + 4, 2)
            {
                i += 6;
            }
        }
    }
    Ok((Tok::DateTime(src[at + 1..i].to_string()), i))
}

/// `HH(:MM(:SS(.fff)?)?)?` from `i`; the offset after it, or `None` if no hour.
fn time_part(b: &[u8], mut i: usize) -> Option<usize> {
    if !digits(b, i, 2) {
        return None;
    }
    i += 2;
    if b.get(i) == Some(&b':') && digits(b, i + 1, 2) {
        i += 3;
        if b.get(i) == Some(&b':') && digits(b, i + 1, 2) {
            i += 3;
            if b.get(i) == Some(&b'.') && digits(b, i + 1, 1) {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
    }
    Some(i)
}
