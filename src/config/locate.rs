//! Where in the file a problem is, for the errors the TOML parser reports
//! without a position: text that is not UTF-8, the parser's recursion limit
//! on dotted keys, and nesting deeper than any setting goes.

use std::fmt::Write as _;

/// No flowprobe setting nests deeper than `flow[i].check-table.key[j]`; a
/// file nesting this deep is hostile or broken, and the later layers
/// (the `config` crate, serde) recurse once per level.
pub(super) const MAX_DEPTH: usize = 16;

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The file as text, or where its first byte that is not UTF-8 is.
pub(crate) fn utf8(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // The valid prefix is text, so lines and columns count as usual.
        let prefix = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let (line, col) = line_col(prefix, offset);
        format!(
            "not valid UTF-8 at line {line}, column {col} (byte offset {offset}, byte 0x{:02x}): TOML files must be UTF-8",
            bytes.get(offset).copied().unwrap_or_default()
        )
    })
}

/// The line of an error the parser reports without a span (its recursion
/// limit on dotted keys): the shortest prefix of whole lines that fails
/// with the same message ends with it. A binary search: a few parses.
pub(crate) fn spanless_error_line(text: &str, message: &str) -> Option<usize> {
    let ends: Vec<usize> = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .chain(std::iter::once(text.len()))
        .collect();
    let fails_same = |end: usize| match text[..end].parse::<toml::Table>() {
        Err(e) => e.span().is_none() && e.message() == message,
        Ok(_) => false,
    };
    let (mut lo, mut hi) = (0usize, ends.len() - 1);
    if !fails_same(ends[hi]) {
        return None;
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails_same(ends[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo + 1)
}

/// The key path of the first value nested deeper than [`MAX_DEPTH`],
/// cut after the limit.
pub(crate) fn too_deep(table: &toml::Table) -> Option<String> {
    fn walk(v: &toml::Value, depth: usize, path: &mut String) -> bool {
        if depth > MAX_DEPTH {
            path.push_str("...");
            return true;
        }
        let len = path.len();
        let found = match v {
            toml::Value::Table(t) => t.iter().any(|(k, v)| {
                path.truncate(len);
                push_key(path, k);
                walk(v, depth + 1, path)
            }),
            toml::Value::Array(a) => a.iter().enumerate().any(|(i, v)| {
                path.truncate(len);
                let _ = write!(path, "[{i}]");
                walk(v, depth + 1, path)
            }),
            _ => false,
        };
        if !found {
            path.truncate(len);
        }
        found
    }
    let mut path = String::new();
    table
        .iter()
        .any(|(k, v)| {
            path.clear();
            push_key(&mut path, k);
            walk(v, 1, &mut path)
        })
        .then_some(path)
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        path.push_str(key);
    } else {
        let _ = write!(path, "{key:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_error_names_line_column_and_offset() {
        let e = utf8(b"a = 1\nb = \"x\xffy\"\n".to_vec()).expect_err("invalid");
        assert!(
            e.starts_with("not valid UTF-8 at line 2, column 7 (byte offset 12, byte 0xff)"),
            "{e}"
        );
        assert_eq!(utf8(b"a = 1\n".to_vec()).as_deref(), Ok("a = 1\n"));
    }

    #[test]
    fn spanless_error_is_found_on_its_line() {
        let deep = vec!["k"; 100].join(".");
        let text = format!("a = 1\n\n[t]\nb = 2\n{deep} = 3\nc = 4\n");
        let e = text.parse::<toml::Table>().expect_err("too deep");
        assert!(e.span().is_none(), "the parser gives no span: {e}");
        assert_eq!(spanless_error_line(&text, e.message()), Some(5));
    }

    #[test]
    fn nesting_beyond_the_limit_is_named_by_key_path() {
        let ok = "a = [[[1]]]\n[t.u]\nv = {w = 1}\n".parse::<toml::Table>();
        assert_eq!(too_deep(&ok.expect("parses")), None);
        let text = format!("x.\"y z\" = {}1{}\n", "[".repeat(30), "]".repeat(30));
        let t = text.parse::<toml::Table>().expect("parses");
        let path = too_deep(&t).expect("too deep");
        assert_eq!(path, format!("x.\"y z\"{}...", "[0]".repeat(MAX_DEPTH - 1)));
    }
}
