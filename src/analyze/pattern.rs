//! Regular expressions as policies use them: compiled once at load time
//! (a bad pattern is a config error, never a disabled check), compared by
//! their source text (so a reload sees an unchanged flow as unchanged), and
//! with compile errors flattened to one line for the config report.

use regex::Regex;
use serde::{Deserialize, Deserializer};

/// A text regex (`issuer`, `software`, `content_type`).
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl Pattern {
    pub(crate) fn compile(text: &str) -> Result<Pattern, String> {
        Regex::new(text).map(Pattern).map_err(|e| one_line(&e))
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Pattern::compile(&text).map_err(serde::de::Error::custom)
    }
}

/// A regex over bytes (`body_regex`: a body need not be UTF-8).
#[derive(Debug, Clone)]
pub struct BytesPattern(pub regex::bytes::Regex);

impl BytesPattern {
    pub(crate) fn compile(text: &str) -> Result<BytesPattern, String> {
        regex::bytes::Regex::new(text)
            .map(BytesPattern)
            .map_err(|e| one_line(&e))
    }
}

impl PartialEq for BytesPattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// The regex crate draws a caret under the pattern over several lines; the
/// config report wants the last line, which says what is wrong.
fn one_line(e: &regex::Error) -> String {
    let msg = e.to_string();
    msg.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("does not compile")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_line_and_bytes_only_patterns_stay_bytes() {
        let e = Pattern::compile("a(").unwrap_err();
        assert!(!e.contains('\n') && e.contains("unclosed group"), "{e}");
        // Valid for bytes, invalid as text: each type says so itself.
        assert!(BytesPattern::compile(r"(?-u)\xff").is_ok());
        assert!(Pattern::compile(r"(?-u)\xff").is_err());
        assert_eq!(Pattern::compile("x").ok(), Pattern::compile("x").ok());
    }
}
