//! The manual cannot drift from the code: the configuration reference
//! (`docs/configuration.md`) documents exactly the keys the parser accepts,
//! the metrics reference (`docs/metrics.md`) exactly the series the code
//! writes, the HTTP API page's example exactly the keys of a flow, and every
//! relative link and `#anchor` of README.md and docs/*.md resolves. The
//! reason table (`docs/reasons.md`) is held to the reason set next to it,
//! in `src/outcome.rs`.
//!
//! Black-box where it can be, so that moving code does not break it: the
//! accepted keys of each table are read from the error the configuration
//! loader gives for a key it does not know ("unknown key; expected one of:
//! ..." or serde's "unknown field `x`, expected one of `a`, `b`").

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use flowprobe::config::{Overrides, from_text, web_config};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BOGUS: &str = "flowprobe_no_such_key";

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The text between the heading `title` (any level, exact text) and the next
/// heading, outside code fences.
fn section<'a>(doc: &'a str, title: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut fence = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if !fence && line.starts_with('#') {
            let text = line.trim_start_matches('#').trim();
            if inside {
                break;
            }
            inside = text == title;
            continue;
        }
        if inside {
            out.push(line);
        }
    }
    assert!(inside || !out.is_empty(), "no heading {title:?}");
    out
}

/// Whether `doc` has a heading (any level) whose text is `title`.
fn has_heading(doc: &str, title: &str) -> bool {
    doc.lines()
        .any(|l| l.starts_with('#') && l.trim_start_matches('#').trim() == title)
}

/// The code spans of a piece of Markdown: `` `a`, `b` `` -> [a, b].
fn code_spans(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The keys a section's table documents: the code spans of each row's first
/// cell (a row may name several keys that share type and default).
fn documented_keys(doc: &str, title: &str) -> BTreeSet<String> {
    let lines = section(doc, title);
    let rows: Vec<&&str> = lines.iter().filter(|l| l.starts_with('|')).collect();
    assert!(
        rows.len() > 1,
        "docs/configuration.md: section {title:?} has no key table"
    );
    let mut keys = BTreeSet::new();
    for row in rows.iter().skip(2) {
        let cells = cells(row);
        for k in code_spans(&cells[0]) {
            keys.insert(k);
        }
        assert!(
            cells.len() == 5 && cells.iter().all(|c| !c.is_empty()),
            "docs/configuration.md: {title:?}: a row needs key, type, default, example and meaning: {row}"
        );
    }
    keys
}

/// The cells of a table row, split at `|` that is not escaped (`\|`).
fn cells(row: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = row.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().expect("cell").push('|');
                chars.next();
            }
            '|' => out.push(String::new()),
            c => out.last_mut().expect("cell").push(c),
        }
    }
    if out.last().is_some_and(|c| c.trim().is_empty()) {
        out.pop();
    }
    out.iter().map(|c| c.trim().to_string()).collect()
}

/// Every error line of loading `text` as a configuration.
fn config_errors(text: &str) -> Vec<String> {
    match from_text(
        "drift.toml",
        &format!("catalog = \"none\"\n{text}"),
        &Overrides::default(),
        BTreeMap::new(),
    ) {
        Ok(_) => Vec::new(),
        Err(e) => e.to_string().lines().map(str::to_string).collect(),
    }
}

/// The keys an unknown-key error offers instead of `key`, from the loader's
/// "unknown key; expected one of: a, b" or serde's "unknown field `key`,
/// expected one of `a`, `b`" (or "expected `a` or `b`", "expected `a`").
fn expected_keys(errors: &[String], key: &str) -> Option<BTreeSet<String>> {
    let line = errors.iter().find(|l| {
        l.contains(&format!("unknown field `{key}`"))
            || l.contains(&format!(".{key}: unknown key"))
            || l.contains(&format!(": {key}: unknown key"))
    })?;
    // A kind without settings (`tcp`) says so instead of listing keys.
    if line.ends_with("has no settings") {
        return Some(BTreeSet::new());
    }
    let (_, list) = line.split_once("expected")?;
    let list = list.trim_start_matches(" one of").trim_start_matches(':');
    let keys: BTreeSet<String> = if list.contains('`') {
        code_spans(list).into_iter().collect()
    } else {
        list.split(',').map(|k| k.trim().to_string()).collect()
    };
    Some(keys)
}

/// A flow of `kind` with `table` as its kind's table.
fn flow(kind: &str, table: &str) -> String {
    format!(
        "[targets]\nt = \"127.0.0.1\"\n[[flow]]\nname = \"f\"\nfrom = \"a\"\nto = \"t\"\nport = 1\ncheck = \"{kind}\"\n{table}\n"
    )
}

/// Each configuration table: its section in docs/configuration.md and a
/// configuration that puts `BOGUS` into it (`{}` marks the spot).
fn tables() -> Vec<(String, String)> {
    let tables: Vec<(&str, String)> = vec![
        ("Top level", "{} = 1\n".into()),
        ("`listen`", "[listen]\n{} = 1\n".into()),
        ("`log`", "[log]\n{} = 1\n".into()),
        ("`metrics`", "[metrics]\n{} = 1\n".into()),
        ("`defaults`", "[defaults]\n{} = 1\n".into()),
        ("`vantage.NAME`", "[vantage.a]\n{} = 1\n".into()),
        ("`trust.NAME`", "[trust.a]\n{} = 1\n".into()),
        ("`flow`", flow("tcp", "{} = 1")),
        (
            "`flow.tls.require`",
            flow("tls", "tls = { require = [{ {} = 1 }] }"),
        ),
        (
            "`ssh_policy.NAME`",
            "[ssh_policy.site]\nkex = []\nhost_key = []\nciphers = []\nmacs = []\n{} = 1\n".into(),
        ),
        (
            "`ssh_policy.NAME.rules`",
            "[ssh_policy.site]\nkex = []\nhost_key = []\nciphers = []\nmacs = []\nrules = { {} = 1 }\n"
                .into(),
        ),
        (
            "`tls_policy.NAME`",
            "[tls_policy.site]\nversions = [\"1.2\"]\n{} = 1\n".into(),
        ),
        ("`fleet`", "[fleet]\n{} = 1\n".into()),
        ("`fleet.defaults`", "[fleet.defaults]\n{} = 1\n".into()),
        (
            "`fleet.instance`",
            "[[fleet.instance]]\nurl = \"https://a.example:9725\"\n{} = 1\n".into(),
        ),
        (
            "`fleet.prometheus`",
            "[fleet.prometheus]\nurl = \"https://a.example:9090\"\n{} = 1\n".into(),
        ),
        (
            "`basic_auth`",
            "[fleet.defaults]\nbasic_auth = { {} = 1 }\n".into(),
        ),
    ];
    tables
        .into_iter()
        .map(|(title, text)| (title.to_string(), text))
        .collect()
}

/// Sections whose keys are names the user chooses: nothing to compare.
const FREE_SECTIONS: [&str; 2] = ["`targets`", "`basic_auth_users`"];

/// Check kinds whose table takes any key without an error. Unknown keys
/// are errors everywhere (`tcp = { x = 1 }` loaded silently until this
/// test found it), so a kind listed here is a bug the test pins.
const SILENT_KIND_TABLES: [&str; 0] = [];

/// The check kinds, as the error for an unknown `check` lists them
/// (`expected "tcp", "tls", ... or "ocsp"`), so a new kind is found here
/// without naming it.
fn check_kinds() -> Vec<String> {
    let errs = config_errors(&flow(BOGUS, ""));
    let line = errs
        .iter()
        .find(|l| l.contains(".check: ") && l.contains("expected"))
        .unwrap_or_else(|| panic!("no error listing the check kinds: {errs:#?}"));
    let (_, list) = line.split_once("expected").expect("expected");
    let kinds: Vec<String> = list
        .split('"')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect();
    assert!(kinds.len() >= 6, "check kinds: {kinds:?} from {line}");
    kinds
}

/// Keys serde reads in `[fleet.defaults]` (the struct is shared with
/// `[[fleet.instance]]`) that validation then refuses there; each is shown
/// refused below, so the list cannot hide an accepted key.
const REFUSED_IN_FLEET_DEFAULTS: [(&str, &str); 3] = [
    ("url", "\"https://a.example:9725\""),
    ("name", "\"a\""),
    ("vantages", "[\"a\"]"),
];

/// Identifier-like string literals of the crate's source: the candidates
/// for keys a table reads by name (`table.get("trust")`) and that no error
/// lists. Read from every file under `src/`, wherever the code moves.
fn source_literals() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(ROOT).join("src"), &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        for lit in text.split('"').skip(1).step_by(2) {
            if !lit.is_empty()
                && lit.len() <= 40
                && lit.starts_with(|c: char| c.is_ascii_lowercase())
                && lit
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                out.insert(lit.to_string());
            }
        }
    }
    out
}

/// Whether `key` set in the table of `template` is accepted (any error
/// about it is not "unknown").
fn accepted(template: &str, key: &str) -> bool {
    let errs = config_errors(&template.replace("{} = 1", &format!("{key} = true")));
    expected_keys(&errs, key).is_none()
}

/// The keys a table accepts: what its unknown-key error lists. A kind's
/// table may read some keys by name before handing the rest to serde, whose
/// error then lists only the rest (`tls` reads its handshake keys, then the
/// chain policy's); those are found by trying every identifier-like string
/// literal of the source (and every documented key) one by one. A flow's
/// kind tables are taken out by kind name before the flow is parsed.
fn accepted_keys(title: &str, template: &str, documented: &BTreeSet<String>) -> BTreeSet<String> {
    let errs = config_errors(&template.replace("{}", BOGUS));
    let mut keys = expected_keys(&errs, BOGUS).unwrap_or_else(|| {
        panic!("{title}: no unknown-key error listing the keys for {BOGUS}: {errs:#?}")
    });
    if title.starts_with("`flow.") && title.matches('.').count() == 1 {
        for candidate in source_literals().iter().chain(documented) {
            if !keys.contains(candidate) && accepted(template, candidate) {
                keys.insert(candidate.clone());
            }
        }
    }
    if title == "`flow`" {
        // Each kind's table is taken out by name before the rest is parsed.
        for kind in check_kinds() {
            if accepted(template, &kind) {
                keys.insert(kind);
            }
        }
    }
    if title == "`fleet.defaults`" {
        for (key, value) in REFUSED_IN_FLEET_DEFAULTS {
            let errs = config_errors(&format!("[fleet.defaults]\n{key} = {value}\n"));
            assert!(
                errs.iter()
                    .any(|l| l.contains(&format!("fleet.defaults.{key}: belongs to"))),
                "fleet.defaults.{key} is accepted now: document it: {errs:#?}"
            );
            keys.remove(key);
        }
    }
    keys
}

/// What differs between the page and the code, both ways; `code` says
/// what the code does with a name ("accepted by the parser").
fn compare(
    what: &str,
    documented: &BTreeSet<String>,
    actual: &BTreeSet<String>,
    code: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    for k in actual.difference(documented) {
        problems.push(format!("{what}: `{k}` is {code} but not documented"));
    }
    for k in documented.difference(actual) {
        problems.push(format!("{what}: `{k}` is documented but not {code}"));
    }
    problems
}

#[test]
fn the_configuration_reference_documents_exactly_the_accepted_keys() {
    let doc = read("docs/configuration.md");
    let mut problems = Vec::new();
    let mut checked: BTreeSet<String> = BTreeSet::new();
    let mut tables = tables();
    for kind in check_kinds() {
        let template = flow(&kind, &format!("{kind} = {{ {{}} = 1 }}"));
        let errs = config_errors(&template.replace("{}", BOGUS));
        let silent = errs.iter().all(|l| !l.contains(BOGUS));
        assert_eq!(
            silent,
            SILENT_KIND_TABLES.contains(&kind.as_str()),
            "flow.{kind}: an unknown key is {} now: {errs:#?}",
            if silent {
                "accepted silently"
            } else {
                "an error"
            }
        );
        if !silent {
            tables.push((format!("`flow.{kind}`"), template));
        }
    }
    for (title, template) in tables {
        if !has_heading(&doc, &title) {
            let keys = accepted_keys(&title, &template, &BTreeSet::new());
            problems.push(format!(
                "docs/configuration.md: no section {title}; the parser accepts {keys:?} there"
            ));
            continue;
        }
        let documented = documented_keys(&doc, &title);
        let actual = accepted_keys(&title, &template, &documented);
        problems.extend(compare(
            &format!("docs/configuration.md {title}"),
            &documented,
            &actual,
            "accepted by the parser",
        ));
        checked.insert(title);
    }

    // The web configuration file (YAML, exporter-toolkit's keys).
    for (title, yaml) in [
        ("The web configuration file", format!("{BOGUS}: 1\n")),
        (
            "`tls_server_config`",
            format!("tls_server_config:\n  {BOGUS}: 1\n"),
        ),
        (
            "`http_server_config`",
            format!("http_server_config:\n  {BOGUS}: 1\n"),
        ),
    ] {
        let errs: Vec<String> = match web_config::parse_web_config(&yaml, Path::new(".")) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|(k, m)| format!("{k}: {m}")).collect(),
        };
        let actual = expected_keys(&errs, BOGUS)
            .unwrap_or_else(|| panic!("{title}: no unknown-key error: {errs:#?}"));
        let documented = documented_keys(&doc, title);
        problems.extend(compare(
            &format!("docs/configuration.md {title}"),
            &documented,
            &actual,
            "accepted by the parser",
        ));
        checked.insert(title.to_string());
    }

    // Every section with a key table is one of the above, or free-form.
    let mut fence = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if !fence && (line.starts_with("## ") || line.starts_with("### ")) {
            let title = line.trim_start_matches('#').trim();
            let has_table = section(&doc, title)
                .iter()
                .any(|l| l.starts_with("| key | type |"));
            if has_table && !checked.contains(title) && !FREE_SECTIONS.contains(&title) {
                problems.push(format!(
                    "docs/configuration.md: section {title:?} is not held to the parser by this test"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// `"flowprobe_..."` literals of the crate's source (not in comments): the
/// series it can write, wherever the code that writes them lives.
fn series_in_source() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).expect("read src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).expect("read");
                for line in text.lines() {
                    if line.trim_start().starts_with("//") {
                        continue;
                    }
                    for lit in line.split('"').skip(1).step_by(2) {
                        if lit.starts_with("flowprobe_")
                            && lit
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                        {
                            out.insert(lit.to_string());
                        }
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&Path::new(ROOT).join("src"), &mut out);
    out
}

#[test]
fn the_metrics_reference_documents_exactly_the_series() {
    let doc = read("docs/metrics.md");
    let mut documented = BTreeSet::new();
    for row in doc.lines().filter(|l| l.starts_with("| `")) {
        for name in code_spans(&cells(row)[0]) {
            if name.starts_with("flowprobe_") {
                documented.insert(name);
            }
        }
    }
    let actual = series_in_source();
    assert!(actual.len() > 30, "series found in src/: {actual:?}");
    let problems = compare(
        "docs/metrics.md",
        &documented,
        &actual,
        "written by the code",
    );
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// GitHub's anchor of a heading: lower case, inline markup and punctuation
/// dropped, spaces to `-`; a repeated heading gets `-1`, `-2`, ...
fn anchors(doc: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fence = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if fence || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue;
        }
        // A link in a heading counts by its text.
        let mut plain = String::new();
        let mut rest = text.trim();
        while let Some(open) = rest.find('[') {
            plain.push_str(&rest[..open]);
            match rest[open..].find("](") {
                Some(mid) => {
                    plain.push_str(&rest[open + 1..open + mid]);
                    let after = &rest[open + mid + 2..];
                    rest = after.split_once(')').map_or("", |(_, r)| r);
                }
                None => {
                    plain.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        plain.push_str(rest);
        let slug: String = plain
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

/// Link targets of a Markdown file: `[text](target)`, `![alt](target)` and
/// `<img src="target">`, outside code fences and code spans.
fn links(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        // Drop code spans: a `[x](y)` inside one is not a link.
        let text: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let end = after.find(')').unwrap_or(after.len());
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
        let mut rest = text.as_str();
        while let Some(i) = rest.find("src=\"") {
            let after = &rest[i + 5..];
            let end = after.find('"').unwrap_or(after.len());
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

/// README.md and every page of docs/.
fn manual() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    files.extend(pages);
    files
}

#[test]
fn every_relative_link_and_anchor_of_the_manual_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in manual() {
        let name = file
            .strip_prefix(ROOT)
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).expect("read");
        for target in links(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().expect("dir").join(path)
            };
            if !resolved.exists() {
                problems.push(format!("{name}: link {target}: {path} does not exist"));
                continue;
            }
            if let Some(anchor) = anchor {
                let target_text = std::fs::read_to_string(&resolved).unwrap_or_default();
                if !anchors(&target_text).contains(anchor) {
                    problems.push(format!(
                        "{name}: link {target}: no heading with anchor #{anchor} in {}",
                        if path.is_empty() { &name } else { path }
                    ));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} links found");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_docs_page_is_in_the_summary_and_in_the_readme() {
    let summary = read("docs/SUMMARY.md");
    let readme = read("README.md");
    let in_summary: BTreeSet<String> = links(&summary).into_iter().collect();
    let in_readme: BTreeSet<String> = links(&readme).into_iter().collect();
    let mut problems = Vec::new();
    for page in manual().iter().skip(1) {
        let file = page
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if file == "SUMMARY.md" {
            continue;
        }
        if !in_summary.contains(&file) {
            problems.push(format!("docs/SUMMARY.md does not list {file}"));
        }
        if !in_readme.contains(&format!("docs/{file}")) {
            problems.push(format!("README.md does not link docs/{file}"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The key paths of a JSON value: `a`, `a.b`, `a.c[].d`.
fn key_paths(v: &serde_json::Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                out.insert(p.clone());
                key_paths(v, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for v in a {
                key_paths(v, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_http_api_example_has_the_keys_of_a_real_flow() {
    let doc = read("docs/http-api.md");
    let block = doc
        .split("```json\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("docs/http-api.md has a ```json example");
    let example: serde_json::Value = serde_json::from_str(block).expect("the example is JSON");
    let mut documented = BTreeSet::new();
    key_paths(&example["flows"][0], "", &mut documented);
    // What only the daemon's state has: since when, and the last outcomes.
    documented.retain(|p| !p.starts_with("since") && !p.starts_with("history"));

    // The same flow, probed once by the real binary: a port nothing
    // listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("api.toml");
    std::fs::write(
        &file,
        format!(
            "vantages = [\"administrators\"]\ncatalog = \"none\"\n[targets]\nlab = \"127.0.0.1\"\n[defaults]\ninterval = \"2s\"\ntimeout = \"1s\"\n[[flow]]\nname = \"lab-refused\"\nfrom = \"administrators\"\nto = \"lab\"\nport = {port}\ndescription = \"administrators -> lab\"\n"
        ),
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowprobe"))
        .args(["check", "--config"])
        .arg(&file)
        .args(["--output", "json"])
        .output()
        .expect("run flowprobe");
    let real: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(real["flows"][0]["last"]["reason"], "refused", "{real}");
    let mut actual = BTreeSet::new();
    key_paths(&real["flows"][0], "", &mut actual);
    let problems = compare(
        "docs/http-api.md's example flow",
        &documented,
        &actual,
        "printed by `check --output json`",
    );
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The README's daemon configuration loads as shown.
#[test]
fn the_readme_daemon_configuration_is_valid() {
    let readme = read("README.md");
    let lines = section(&readme, "Run it as a daemon").join("\n");
    let block = lines
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("README's \"Run it as a daemon\" has a ```toml block");
    from_text("README.md", block, &Overrides::default(), BTreeMap::new())
        .unwrap_or_else(|e| panic!("README's daemon configuration: {e}"));
}
