//! String functions. Positions count characters, not bytes. Regular expressions use the
//! `regex` crate with `(?s)` (FHIRPath's single-line mode: `.` matches newlines).

use super::Call;
use crate::ast::Func;
use crate::error::EvalResult;
use crate::value::{Collection, Value};
use base64::Engine as _;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

fn string<'a>(s: impl Into<Cow<'a, str>>) -> EvalResult<Collection<'a>> {
    Ok(vec![Value::String(s.into())])
}

/// Compiled patterns, shared by all evaluations: invariants and rules match the same few
/// literal patterns millions of times, and compiling dominated their profile. Bounded: the
/// cache is cleared when it grows past `REGEX_CACHE_MAX` (patterns built from data).
const REGEX_CACHE_MAX: usize = 512;

fn regex_cache() -> &'static RwLock<HashMap<(String, bool), regex::Regex>> {
    static CACHE: OnceLock<RwLock<HashMap<(String, bool), regex::Regex>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn regex(c: &Call, pattern: &str, full: bool) -> EvalResult<regex::Regex> {
    let key = (pattern.to_string(), full);
    if let Ok(cache) = regex_cache().read()
        && let Some(re) = cache.get(&key)
    {
        return Ok(re.clone());
    }
    let src = if full { format!("(?s)^(?:{pattern})$") } else { format!("(?s){pattern}") };
    let re = regex::RegexBuilder::new(&src)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| c.err(format!("invalid regular expression: {e}")))?;
    if let Ok(mut cache) = regex_cache().write() {
        if cache.len() >= REGEX_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, re.clone());
    }
    Ok(re)
}

pub(super) fn call<'a>(c: &Call<'_, '_, 'a>, func: Func, input: Collection<'a>) -> EvalResult<Collection<'a>> {
    if func == Func::Join {
        let sep = c.string_arg(0)?.unwrap_or_default();
        let mut parts = Vec::with_capacity(input.len());
        for v in &input {
            match v.system().as_ref() {
                Value::String(s) => parts.push(s.to_string()),
                other => return Err(c.err(format!("join() needs strings, got {}", other.qualified_type()))),
            }
        }
        return string(parts.join(&sep));
    }
    let Some(item) = c.env.singleton(&input, c.pos)? else { return Ok(Vec::new()) };
    let text: Cow<'a, str> = match item.system().into_owned() {
        Value::String(s) => s,
        other => {
            return Err(c.err(format!("{}() needs a String, got {}", func.name(), other.qualified_type())));
        }
    };
    let s = text.as_ref();
    let boolean = |b: bool| Ok(vec![Value::Boolean(b)]);
    match func {
        Func::IndexOf | Func::LastIndexOf => {
            let Some(needle) = c.string_arg(0)? else { return Ok(Vec::new()) };
            let found = if func == Func::IndexOf { s.find(&needle) } else { s.rfind(&needle) };
            let idx = found.map(|b| s[..b].chars().count() as i64).unwrap_or(-1);
            Ok(vec![Value::Integer(idx)])
        }
        Func::Substring => {
            let Some(start) = c.int_arg(0)? else { return Ok(Vec::new()) };
            let len = s.chars().count() as i64;
            if start < 0 || start >= len {
                return Ok(Vec::new());
            }
            let take = match c.args.len() {
                1 => len,
                _ => match c.int_arg(1)? {
                    Some(n) => n.max(0),
                    None => len,
                },
            };
            string(s.chars().skip(start as usize).take(take as usize).collect::<String>())
        }
        Func::StartsWith | Func::EndsWith | Func::Contains => {
            let Some(needle) = c.string_arg(0)? else { return Ok(Vec::new()) };
            boolean(match func {
                Func::StartsWith => s.starts_with(&needle),
                Func::EndsWith => s.ends_with(&needle),
                _ => s.contains(&needle),
            })
        }
        Func::Upper => string(s.to_uppercase()),
        Func::Lower => string(s.to_lowercase()),
        Func::Replace => {
            let (Some(pattern), Some(with)) = (c.string_arg(0)?, c.string_arg(1)?) else {
                return Ok(Vec::new());
            };
            if pattern.is_empty() {
                // '' matches between every character: 'abc'.replace('', 'x') = 'xaxbxcx'
                let mut out = with.clone();
                for ch in s.chars() {
                    out.push(ch);
                    out.push_str(&with);
                }
                return string(out);
            }
            string(s.replace(&pattern, &with))
        }
        Func::Matches | Func::MatchesFull => {
            let Some(pattern) = c.string_arg(0)? else { return Ok(Vec::new()) };
            boolean(regex(c, &pattern, func == Func::MatchesFull)?.is_match(s))
        }
        Func::ReplaceMatches => {
            let (Some(pattern), Some(with)) = (c.string_arg(0)?, c.string_arg(1)?) else {
                return Ok(Vec::new());
            };
            if pattern.is_empty() {
                return string(text.clone());
            }
            // FHIRPath substitutions are written `$1`; the regex crate takes `${1}`
            let re = regex(c, &pattern, false)?;
            string(re.replace_all(s, with.as_str()).into_owned())
        }
        Func::Length => Ok(vec![Value::Integer(s.chars().count() as i64)]),
        Func::ToChars => Ok(s.chars().map(|ch| Value::String(Cow::Owned(ch.to_string()))).collect()),
        Func::Split => {
            let Some(sep) = c.string_arg(0)? else { return Ok(Vec::new()) };
            if sep.is_empty() {
                return Ok(s.chars().map(|ch| Value::String(Cow::Owned(ch.to_string()))).collect());
            }
            Ok(s.split(sep.as_str()).map(|p| Value::String(Cow::Owned(p.to_string()))).collect())
        }
        Func::Trim => string(s.trim().to_string()),
        Func::Encode | Func::Decode => {
            let Some(format) = c.string_arg(0)? else { return Ok(Vec::new()) };
            let std = base64::engine::general_purpose::STANDARD;
            let url = base64::engine::general_purpose::URL_SAFE;
            if func == Func::Encode {
                match format.as_str() {
                    "base64" => string(std.encode(s)),
                    "urlbase64" => string(url.encode(s)),
                    "hex" => string(s.bytes().map(|b| format!("{b:02x}")).collect::<String>()),
                    other => Err(c.err(format!("unknown encoding {other}"))),
                }
            } else {
                let bytes = match format.as_str() {
                    "base64" => std.decode(s).ok(),
                    "urlbase64" => url.decode(s).ok(),
                    "hex" => (0..s.len())
                        .step_by(2)
                        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                        .collect(),
                    other => return Err(c.err(format!("unknown encoding {other}"))),
                };
                match bytes.and_then(|b| String::from_utf8(b).ok()) {
                    Some(decoded) => string(decoded),
                    None => Ok(Vec::new()),
                }
            }
        }
        Func::Escape | Func::Unescape => {
            let Some(format) = c.string_arg(0)? else { return Ok(Vec::new()) };
            let out = match (func, format.as_str()) {
                (Func::Escape, "html") => s
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
                    .replace('\'', "&#39;"),
                (Func::Unescape, "html") => s
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&"),
                (Func::Escape, "json") => {
                    let quoted = serde_json::to_string(s).unwrap_or_default();
                    quoted[1..quoted.len().saturating_sub(1).max(1)].to_string()
                }
                (Func::Unescape, "json") => {
                    serde_json::from_str::<String>(&format!("\"{s}\"")).unwrap_or_else(|_| s.to_string())
                }
                (_, other) => return Err(c.err(format!("unknown escape format {other}"))),
            };
            string(out)
        }
        _ => Err(c.err(format!("{}() is not a string function", func.name()))),
    }
}
