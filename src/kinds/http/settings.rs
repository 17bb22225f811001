//! `http = { ... }` on a flow: what to GET and what the answer must be.
//!
//! `status` takes codes and ranges: `status = [200, 204]` (exactly those),
//! `status = "200-299"`, `status = "2xx"` or a mix (`["2xx", 304]`). A bare
//! two-number list is a list of two codes, never a range.

use crate::analyze::pattern::{BytesPattern, Pattern};
use crate::config::Collector;
use crate::config::validate::{Keys, check_table};

const KEYS: [&str; 7] = [
    "path",
    "status",
    "max_redirects",
    "max_body",
    "content_type",
    "body_regex",
    "host_header",
];

/// Default cap on a response body.
pub(crate) const DEFAULT_MAX_BODY: u64 = 64 << 20;
/// Default redirect bound.
pub(crate) const DEFAULT_MAX_REDIRECTS: u32 = 5;

/// Accepted status codes: inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(pub Vec<(u16, u16)>);

impl Default for StatusSet {
    fn default() -> Self {
        StatusSet(vec![(200, 299)])
    }
}

impl StatusSet {
    pub(crate) fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code))
    }

    fn parse_one(v: &toml::Value) -> Option<(u16, u16)> {
        let ok = |n: i64| (100..=599).contains(&n).then_some(n as u16);
        match v {
            toml::Value::Integer(n) => ok(*n).map(|c| (c, c)),
            toml::Value::String(s) => {
                let s = s.trim();
                if let Some(d) = s.strip_suffix("xx")
                    && d.len() == 1
                {
                    let d: i64 = d.parse().ok()?;
                    return Some((ok(d * 100)?, ok(d * 100 + 99)?));
                }
                match s.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (ok(a.trim().parse().ok()?)?, ok(b.trim().parse().ok()?)?);
                        (a <= b).then_some((a, b))
                    }
                    None => ok(s.parse().ok()?).map(|c| (c, c)),
                }
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

#[derive(Debug, Clone)]
pub struct HttpSpec {
    /// Path and query of the first request, starting with `/`.
    pub path: String,
    pub status: StatusSet,
    pub max_redirects: u32,
    pub max_body: u64,
    pub content_type: Option<Pattern>,
    pub body_regex: Option<BytesPattern>,
    /// `Host:` of the first request; default the target (and port if not 80).
    pub host_header: Option<String>,
    /// The table as written, for `config show` and equality.
    pub table: toml::Table,
}

impl PartialEq for HttpSpec {
    fn eq(&self, other: &Self) -> bool {
        self.table == other.table
    }
}

impl HttpSpec {
    pub(crate) fn validate(
        value: Option<&toml::Value>,
        key: &str,
        errs: &mut Collector,
    ) -> Option<HttpSpec> {
        let key = format!("{key}.http");
        let table = check_table(value, &key, "http = { path = \"/\" }", errs)?;
        let before = errs.errors.len();
        let k = Keys {
            table: &table,
            key: key.clone(),
        };
        k.only(&KEYS, errs);
        let path = k.string("path", errs).unwrap_or_else(|| "/".into());
        if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            errs.push(
                k.path("path"),
                format!(
                    "{path:?}: must start with '/' and contain no spaces or control characters"
                ),
            );
        }
        let status = match table.get("status") {
            None => StatusSet::default(),
            Some(toml::Value::Array(a)) if !a.is_empty() => {
                let mut out = Vec::new();
                for (i, v) in a.iter().enumerate() {
                    match StatusSet::parse_one(v) {
                        Some(r) => out.push(r),
                        None => errs.push(
                            format!("{key}.status[{i}]"),
                            format!("{v}: expected a code 100-599, \"2xx\" or a range \"200-299\""),
                        ),
                    }
                }
                StatusSet(out)
            }
            Some(v) => match StatusSet::parse_one(v) {
                Some(r) => StatusSet(vec![r]),
                None => {
                    errs.push(
                        k.path("status"),
                        format!("{v}: expected a code, \"2xx\", \"200-299\" or a list of them"),
                    );
                    StatusSet::default()
                }
            },
        };
        let max_redirects = k
            .uint("max_redirects", 20, errs)
            .map_or(DEFAULT_MAX_REDIRECTS, |n| n as u32);
        let max_body = k.size("max_body", errs).unwrap_or(DEFAULT_MAX_BODY);
        let content_type = k.regex("content_type", errs);
        let body_regex = k.bytes_regex("body_regex", errs);
        let host_header = k.string("host_header", errs);
        if let Some(h) = &host_header
            && (h.is_empty() || h.bytes().any(|b| b <= b' ' || b == 0x7f))
        {
            errs.push(k.path("host_header"), format!("{h:?} is not a host"));
        }
        if errs.errors.len() != before {
            return None;
        }
        Some(HttpSpec {
            path,
            status,
            max_redirects,
            max_body,
            content_type,
            body_regex,
            host_header,
            table,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(table: &str) -> Result<HttpSpec, Vec<String>> {
        let v: toml::Table = format!("http = {{ {table} }}").parse().expect("toml");
        let mut errs = Collector::new("test");
        HttpSpec::validate(v.get("http"), "flow[x]", &mut errs)
            .ok_or_else(|| errs.errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn status_codes_ranges_and_classes() {
        let s = parse(r#"status = ["2xx", 304, "400-404"]"#).expect("valid");
        for ok in [200, 250, 299, 304, 400, 404] {
            assert!(s.status.contains(ok), "{ok}");
        }
        for bad in [199, 300, 301, 405, 500] {
            assert!(!s.status.contains(bad), "{bad}");
        }
        // Two numbers are two codes, never a range.
        let s = parse("status = [200, 299]").expect("valid");
        assert!(s.status.contains(299) && !s.status.contains(250));
        assert_eq!(
            parse("").expect("valid").status,
            StatusSet(vec![(200, 299)])
        );
        assert!(parse(r#"status = "300-200""#).is_err());
        assert!(parse("status = []").is_err());
    }

    #[test]
    fn sizes_take_units() {
        let max = |s: &str| parse(&format!("max_body = {s}")).map(|h| h.max_body);
        assert_eq!(max(r#""64MiB""#), Ok(64 << 20));
        assert_eq!(max(r#""10MB""#), Ok(10_000_000));
        assert_eq!(max(r#""1.5KiB""#), Ok(1536));
        assert_eq!(max("4096"), Ok(4096));
        assert_eq!(parse("").map(|h| h.max_body), Ok(DEFAULT_MAX_BODY));
        for bad in ["0", "-1", r#""lots""#, r#""5 parsecs""#, "true"] {
            assert!(max(bad).is_err(), "{bad}");
        }
    }

    /// A pattern valid only as a bytes regex used to pass validation and
    /// then silently disable the `content_type` check.
    #[test]
    fn each_pattern_is_compiled_as_the_type_it_is_used_as() {
        let err = parse(r#"content_type = '(?-u)\xff'"#).expect_err("text regex");
        assert!(err[0].contains("content_type"), "{err:?}");
        let s = parse(r#"body_regex = '(?-u)\xff', content_type = "^text/""#).expect("valid");
        assert!(s.body_regex.is_some() && s.content_type.is_some());
    }
}
