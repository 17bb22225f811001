//! Small renderings every layer shares, written once: Unix and RFC 3339
//! times, byte counts, and escaping for HTML and XML (the status page,
//! JUnit).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch; negative before it (a certificate may
/// carry such a date), saturating instead of wrapping.
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Seconds since the Unix epoch as a float, as Prometheus timestamps are;
/// 0 before the epoch (a clock that wrong is not a time worth exporting).
pub fn unix_secs_f64(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `2026-12-01T23:31:08Z`; a time before 1970 says its Unix seconds.
pub fn rfc3339(secs: i64) -> String {
    match u64::try_from(secs) {
        Ok(s) => humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(s)).to_string(),
        Err(_) => format!("{secs} (unix seconds)"),
    }
}

/// `2,097,412`: byte counts an operator reads in a sentence.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Characters that forge lines, drive terminals or reorder what is shown:
/// control characters and the Unicode bidirectional and invisible
/// formatting characters.
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}')
}

/// Text a peer, a file or a configuration wrote, made safe for a terminal,
/// a log line or a table cell: control characters (newline, escape, ...)
/// and the Unicode bidirectional and invisible formatting characters are
/// shown escaped (`\n`, `\u{1b}`, `\u{202e}`), and a backslash doubled, so
/// no value can forge a line, move the cursor or reorder what follows.
/// Borrowed when there is nothing to escape (the common case).
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| hidden(c) || c == '\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) => {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Text for HTML and XML content or attribute values: the five markup
/// characters escaped, control characters other than newline and tab
/// dropped (XML 1.0 forbids them, even escaped).
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// An enum whose variants have one spelling each, in config, labels, JSON
/// and prose: the table is written once, here, and `as_str`, `parse`,
/// `NAMES`, `ALL`, `Display` and `Serialize` all read it.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// Every variant, in declaration order (an array, so per-variant
            /// tables can be sized by it). Not every set iterates its
            /// variants, and one in a private module would warn.
            #[allow(dead_code)]
            pub const ALL: [$name; $name::NAMES.len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// `expected "a", "b" or "c"` for a config error.
            pub fn expected() -> String {
                $crate::text::expected_one_of(Self::NAMES)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| format!("{s:?}: {}", $name::expected()))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use named_enum;

/// `expected "a", "b" or "c"`: the words of a closed set, quoted as they
/// are written in the file.
pub fn expected_one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        Some((last, [])) => format!("expected {last}"),
        Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
        None => "expected nothing".to_string(),
    }
}

/// `2026-05-01 03:12:05Z`: `text::rfc3339` with a space, which reads
/// better in a table cell and still wraps at the date.
pub fn utc(secs: i64) -> String {
    crate::text::rfc3339(secs).replacen('T', " ", 1)
}

/// `45 s`, `14 min`, `3 h 05 min`, `12 d`: the largest unit or two that
/// a person reads at a glance.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3_600 => format!("{} min", s / 60),
        3_600..86_400 => format!("{} h {:02} min", s / 3_600, (s % 3_600) / 60),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_forges_lines_or_drives_terminals() {
        assert!(matches!(
            printable("DOD SW CA-66"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            printable("evil\nflow up\u{1b}[2J\u{202e}cba\\"),
            "evil\\nflow up\\u{1b}[2J\\u{202e}cba\\\\"
        );
        assert_eq!(
            printable("a\tb\r\u{7f}\u{2066}"),
            "a\\tb\\r\\u{7f}\\u{2066}"
        );
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(65_535), "65,535");
        assert_eq!(thousands(2_097_412), "2,097,412");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn times_and_escaping() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-5), "-5 (unix seconds)");
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(7)), -7);
        assert_eq!(unix_secs_f64(UNIX_EPOCH - Duration::from_secs(7)), 0.0);
        assert_eq!(
            escape_markup("<script>a&'b\"</script>\u{1}\n"),
            "&lt;script&gt;a&amp;&#39;b&quot;&lt;/script&gt;\n"
        );
    }
}
