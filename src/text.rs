//! Small renderings every layer shares, written once: Unix and RFC 3339
//! times, byte counts, text made safe for a terminal or a log line, and
//! the frame of an XML document (JUnit): its declaration, and only the
//! characters XML admits. Markup is escaped by `maud` templates, never by
//! hand.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch; negative before it (a certificate may
/// carry such a date), saturating instead of wrapping.
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Seconds since the Unix epoch as a float, as Prometheus timestamps are;
/// 0 before the epoch (a clock that wrong is not a time worth exporting).
pub(crate) fn unix_secs_f64(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `2026-12-01T23:31:08Z`; a time before 1970 says its Unix seconds.
pub(crate) fn rfc3339(secs: i64) -> String {
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
pub(crate) fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}')
}

/// Text a peer, a file or a configuration wrote, made safe for a terminal,
/// a log line or a table cell: control characters (newline, escape, ...)
/// and the Unicode bidirectional and invisible formatting characters are
/// shown escaped (`\n`, `\u{1b}`, `\u{202e}`), and a backslash doubled, so
/// no value can forge a line, move the cursor or reorder what follows.
/// Borrowed when there is nothing to escape (the common case).
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
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

/// Whether XML 1.0 admits `c` in a document, escaped or not. Refused:
/// the control characters other than newline and tab (XML 1.0 forbids the
/// C0 ones even as `&#1;`; a carriage return, DEL or C1 control from a peer
/// is a forged line or a terminal sequence, never data a report needs),
/// and U+FFFE and U+FFFF, which are no characters to XML at all.
fn xml_char(c: char) -> bool {
    !matches!(c, '\u{fffe}' | '\u{ffff}') && (!c.is_control() || matches!(c, '\n' | '\t'))
}

/// `s` with every character [`xml_char`] refuses dropped; borrowed when
/// there is none (the common case). Markup characters stay: the template
/// escapes them.
fn xml_chars(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().all(xml_char) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.chars().filter(|&c| xml_char(c)).collect())
    }
}

/// An XML document (the JUnit reports): the declaration, a newline, then
/// `body`, in which `maud` escaped every value (`&`, `<`, `>`, `"`), with
/// every character XML 1.0 refuses dropped (control characters other
/// than newline and tab, U+FFFE, U+FFFF; see `xml_char`).
///
/// The filter runs over the whole document rather than over each value: a
/// per-value wrapper is one a template can forget (`(v.name)` compiles,
/// and maud escapes it, control characters and all), while no byte of the
/// document passes by this one. The template's own text has no such
/// character, and dropping characters commutes with maud's escaping (which
/// neither makes nor consumes one), so the document is the one filtering
/// every value would make.
pub(crate) fn xml_document(body: maud::Markup) -> String {
    let doc = maud::html! {
        (maud::PreEscaped("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")) "\n" (body)
    }
    .into_string();
    match xml_chars(&doc) {
        std::borrow::Cow::Borrowed(_) => doc,
        std::borrow::Cow::Owned(clean) => clean,
    }
}

/// What the JUnit renderers' tests share: the text a hostile peer writes,
/// what of it a document keeps, and a real parser's reading.
#[cfg(test)]
pub(crate) mod xml_test {
    /// Text a peer (a certificate subject, an SSH banner, a hostile fleet
    /// instance) wrote at its worst: markup, quotes, an ampersand, a CDATA
    /// end, characters XML 1.0 refuses even escaped (C0 controls, U+FFFE),
    /// a carriage return, DEL and a C1 control.
    pub(crate) const HOSTILE: &str =
        "<script>alert(1)</script> \"q\" 'a' & ]]> \u{1}\u{1b}[2J\r\n\tx\u{7f}\u{85}\u{fffe}";
    /// [`HOSTILE`] as a parser reads it back from element text.
    pub(crate) const KEPT: &str = "<script>alert(1)</script> \"q\" 'a' & ]]> [2J\n\tx";
    /// [`HOSTILE`] as a parser reads it back from an attribute value
    /// (which turns newline and tab into spaces).
    pub(crate) const KEPT_IN_ATTRIBUTE: &str = "<script>alert(1)</script> \"q\" 'a' & ]]> [2J  x";

    /// Checks that `xml` is an XML document with no raw markup from
    /// [`HOSTILE`] and only characters XML admits, then returns its
    /// elements as a real parser (Python's expat, as the CLI tests use)
    /// reads them: `[tag, attributes, text]` in document order. `None`
    /// when there is no `python3` to ask; a document it finds not
    /// well-formed fails the test.
    pub(crate) fn parsed(xml: &str) -> Option<serde_json::Value> {
        use std::io::Write as _;
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            "{xml}"
        );
        assert!(!xml.contains("<script"), "{xml}");
        assert!(xml.chars().all(super::xml_char), "{xml:?}");
        const READ: &str = "import sys,json,xml.etree.ElementTree as E\n\
            r=E.fromstring(sys.stdin.buffer.read())\n\
            print(json.dumps([[e.tag,e.attrib,e.text] for e in r.iter()]))";
        let Ok(mut child) = std::process::Command::new("python3")
            .args(["-c", READ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
        else {
            // Under CI a missing peer is a failure, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "python3 is needed to parse the JUnit document"
            );
            eprintln!("no python3: the JUnit document is not parsed");
            return None;
        };
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(xml.as_bytes())
            .expect("write to python3");
        let out = child.wait_with_output().expect("python3");
        assert!(
            out.status.success(),
            "not well-formed XML: {}\n{xml}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(serde_json::from_slice(&out.stdout).expect("python3 printed JSON"))
    }
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
            $vis const NAMES: &'static [&'static str] = &[$($text),+];
            /// Every variant, in declaration order (an array, so per-variant
            /// tables can be sized by it). Not every set iterates its
            /// variants, and one in a private module would warn.
            #[allow(dead_code)]
            $vis const ALL: [$name; $name::NAMES.len()] = [$($name::$variant),+];

            $vis fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            $vis fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// `expected "a", "b" or "c"` for a config error.
            $vis fn expected() -> String {
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
pub(crate) fn expected_one_of(names: &[&str]) -> String {
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
    }

    #[test]
    fn xml_documents_keep_only_what_xml_admits() {
        assert!(matches!(
            xml_chars("a <b> & \"c\"\n\té"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            xml_chars("a\u{0}\u{1}\u{1b}[2J\r\n\tb\u{7f}\u{85}\u{fffe}\u{ffff}c\u{202e}"),
            "a[2J\n\tbc\u{202e}"
        );
        let name = "<script>a&'b\"</script>\u{1}\n";
        let doc = xml_document(maud::html! { x name=(name) { (name) } });
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <x name=\"&lt;script&gt;a&amp;'b&quot;&lt;/script&gt;\n\">\
             &lt;script&gt;a&amp;'b&quot;&lt;/script&gt;\n</x>"
        );
    }
}
