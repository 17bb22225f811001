//! Renderers of the fleet check's merged matrix (table, JSON, JUnit),
//! shaped like `check`'s (`render`) with the instance that probed each row
//! (and its site, when the rows come from a central store).

use std::fmt::Write;

use maud::{Markup, html};
use serde::Serialize;

use super::fleet::Matrix;
use crate::text::{named_enum, xml_document};

named_enum! {
/// A matrix row's verdict: one spelling in JSON; the table writes it upper
/// case with spaces ([`Status::label`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Pass = "pass",
    Fail = "fail",
    /// A catalog flow no instance (and no local run) probed.
    NotCovered = "not_covered",
    /// A row that cannot speak for the catalog's flow: its instance does
    /// not run that vantage, or it probes something else under that name.
    Mismatch = "mismatch",
    /// A row read from the central store whose last probe is older than
    /// the freshness bound (or that was never probed): what the store
    /// holds is no longer a result.
    Stale = "stale",
}
}

/// Why a row does not speak for the catalog's flow of its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Mismatch {
    /// The instance's `vantages` do not include the row's vantage.
    Vantage { declared: Vec<String> },
    /// The instance's flow differs from the catalog's in `field`.
    Definition {
        field: &'static str,
        instance: String,
        catalog: String,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Vantage { declared } => {
                write!(f, "the instance runs vantages {} only", declared.join(", "))
            }
            Mismatch::Definition {
                field,
                instance,
                catalog,
            } => write!(f, "{field} {instance} (catalog: {catalog})"),
        }
    }
}

impl Status {
    /// `PASS`, `FAIL`, `NOT COVERED`: the table's column.
    fn label(self) -> String {
        self.as_str().to_uppercase().replace('_', " ")
    }
}

/// One row of the matrix: a flow, from a vantage, as one instance saw it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// The `site` label of a row read from the store (the external label
    /// of the site's agent); `None` for rows asked directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The instance's name; `local` for `--local`; empty when not covered.
    /// From the store: the `instance` label (unique only within a site).
    pub instance: String,
    pub vantage: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub host: String,
    pub port: u16,
    pub check: String,
    pub expect: String,
    pub severity: String,
    pub status: Status,
    pub last: Option<Last>,
    /// Set with [`Status::Mismatch`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatch: Vec<Mismatch>,
    /// Rows read from the store: how old the last probe was at the
    /// store's evaluation time, against which bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Freshness {
    /// `None`: never probed (no `flowprobe_probe_last_timestamp_seconds`).
    pub age_seconds: Option<f64>,
    pub stale_after_seconds: f64,
}

impl Freshness {
    /// The table's line under a stale row.
    fn text(&self) -> String {
        match self.age_seconds {
            Some(age) => format!(
                "last probe {age:.1}s ago in the store, older than {}s (stale_after): no current result",
                self.stale_after_seconds
            ),
            None => "never probed: the store holds no last probe time for this flow".into(),
        }
    }
}

impl Row {
    /// The mismatches as one phrase (`port 8443 (catalog: 443); ...`).
    pub(crate) fn mismatch_text(&self) -> String {
        self.mismatch
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Last {
    pub reason: String,
    pub up: bool,
    pub detail: String,
    /// Unix seconds.
    pub started: f64,
    pub time_seconds: Option<f64>,
}

/// How asking one instance went.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InstanceStatus {
    pub name: String,
    pub url: String,
    pub ok: bool,
    pub error: Option<String>,
    /// Flows it answered for.
    pub flows: usize,
    /// The central store (`[fleet.prometheus]`), not an instance.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub store: bool,
}

fn summary(m: &Matrix, sources: &[InstanceStatus]) -> String {
    let pass = m.rows.iter().filter(|r| r.status == Status::Pass).count();
    let stale = m.rows.iter().filter(|r| r.status == Status::Stale).count();
    let stale = if stale > 0 {
        format!(" ({stale} stale)")
    } else {
        String::new()
    };
    let instances: Vec<&InstanceStatus> = sources.iter().filter(|s| !s.store).collect();
    let asked = instances.iter().filter(|i| i.ok).count();
    let mut out = format!(
        "{} rows, {pass} pass, {} fail{stale}, {} not covered; ",
        m.rows.len(),
        m.rows.len() - pass,
        m.not_covered.len(),
    );
    let store = sources.iter().find(|s| s.store);
    if let Some(s) = store {
        out.push_str(if s.ok {
            "from the store"
        } else {
            "the store did not answer"
        });
    }
    if store.is_none() || !instances.is_empty() {
        if store.is_some() {
            out.push_str(", ");
        }
        out.push_str(&format!(
            "{asked} of {} instances answered",
            instances.len()
        ));
    }
    out
}

/// The STIG Table 1-2 layout of `check`, with the instance per row, the
/// flows nobody covered after them and the instances that did not answer.
/// With `color` (a terminal), rows that are not PASS are red.
pub(crate) fn table(m: &Matrix, instances: &[InstanceStatus], color: bool) -> String {
    let header = [
        "SITE", "VANTAGE", "INSTANCE", "TO", "PORT", "CHECK", "EXPECT", "STATUS", "REASON", "TIME",
        "FLOW",
    ];
    // The SITE column only when a row has a site: a direct fleet check
    // prints what it always printed.
    let first = usize::from(!m.rows.iter().any(|r| r.site.is_some()));
    let cells = |r: &Row| -> [String; 11] {
        let (reason, time) = match &r.last {
            _ if r.status == Status::Mismatch => ("mismatch".to_string(), String::new()),
            Some(l) => (
                l.reason.clone(),
                l.time_seconds
                    .map_or(String::new(), |t| format!("{:.1}ms", t * 1000.0)),
            ),
            None => (String::new(), String::new()),
        };
        [
            r.site.clone().unwrap_or_else(|| "-".into()),
            r.vantage.clone(),
            if r.instance.is_empty() {
                "-".into()
            } else {
                r.instance.clone()
            },
            format!("{} ({})", r.to, r.host),
            r.port.to_string(),
            r.check.clone(),
            r.expect.clone(),
            r.status.label(),
            reason,
            time,
            r.name.clone(),
        ]
    };
    let all: Vec<&Row> = m.rows.iter().chain(&m.not_covered).collect();
    let rows: Vec<[String; 11]> = all.iter().map(|r| cells(r)).collect();
    let mut width = header.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], red: bool, out: &mut String| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate().skip(first) {
            let _ = write!(l, "{:<w$}  ", c, w = width[i]);
        }
        if red {
            let _ = write!(out, "\x1b[31m{}\x1b[0m", l.trim_end());
        } else {
            out.push_str(l.trim_end());
        }
        out.push('\n');
    };
    line(&header.map(String::from), false, &mut out);
    for (cells, r) in rows.iter().zip(&all) {
        line(cells, color && r.status != Status::Pass, &mut out);
        if r.status == Status::Mismatch {
            let _ = writeln!(
                out,
                "    does not cover the catalog flow: {}",
                r.mismatch_text()
            );
        } else if r.status == Status::Stale
            && let Some(f) = &r.freshness
        {
            let _ = writeln!(out, "    {}", f.text());
        } else if let Some(l) = &r.last
            && !l.up
            && !l.detail.is_empty()
        {
            let _ = writeln!(out, "    {}", l.detail);
        }
    }
    if !m.not_covered.is_empty() {
        let _ = writeln!(
            out,
            "\nnot covered: {} catalog flows no instance probed (is an instance of their vantage missing?)",
            m.not_covered.len()
        );
    }
    for i in instances.iter().filter(|i| !i.ok) {
        let _ = writeln!(
            out,
            "\n{} {} ({}) not asked: {}",
            if i.store { "store" } else { "instance" },
            i.name,
            i.url,
            i.error.as_deref().unwrap_or("?")
        );
    }
    let _ = writeln!(out, "\n{}", summary(m, instances));
    out
}

/// `{ok, flows, not_covered, instances}`; `ok` only when every row passes,
/// nothing is uncovered and every instance answered.
pub(crate) fn json(m: &Matrix, instances: &[InstanceStatus]) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        ok: bool,
        flows: &'a [Row],
        not_covered: &'a [Row],
        instances: &'a [InstanceStatus],
    }
    let ok = m.ok() && instances.iter().all(|i| i.ok);
    serde_json::to_string_pretty(&Out {
        ok,
        flows: &m.rows,
        not_covered: &m.not_covered,
        instances,
    })
    .map_or_else(|e| format!("{{\"error\":\"{e}\"}}"), |s| s + "\n")
}

/// One test case per row (a flow not covered fails), one erroring test
/// case per instance that could not be asked. `maud` escapes every value;
/// [`xml_document`] keeps only the characters XML admits.
pub(crate) fn junit(m: &Matrix, instances: &[InstanceStatus]) -> String {
    let all: Vec<&Row> = m.rows.iter().chain(&m.not_covered).collect();
    let failures = all.iter().filter(|r| r.status != Status::Pass).count();
    let errors = instances.iter().filter(|i| !i.ok).count();
    let tests = all.len() + errors;
    let total: f64 = all
        .iter()
        .filter_map(|r| r.last.as_ref()?.time_seconds)
        .sum();
    let time = |r: &Row| r.last.as_ref().and_then(|l| l.time_seconds).unwrap_or(0.0);
    // The newline and indent text nodes lay the file out for people, as
    // before.
    xml_document(html! {
        testsuites name="flowprobe" tests=(tests) failures=(failures) errors=(errors)
            time=(format_args!("{total:.3}")) {
            "\n  "
            testsuite name="flowprobe fleet check" tests=(tests) failures=(failures) errors=(errors)
                time=(format_args!("{total:.3}")) {
                @for r in &all {
                    "\n    "
                    testcase classname={ @if let Some(site) = &r.site { (site) "/" } (r.vantage) }
                        name={
                            (r.name) " (" (r.host) ":" (r.port) " expect " (r.expect) ") on "
                            (if r.instance.is_empty() { "no instance" } else { &r.instance })
                        }
                        time=(format_args!("{:.3}", time(r))) {
                        @if let Some(failure) = junit_failure(r) {
                            "\n      " (failure) "\n    "
                        }
                    }
                }
                @for i in instances.iter().filter(|i| !i.ok) {
                    "\n    "
                    testcase classname=(if i.store { "store" } else { "instance" })
                        name={ (i.name) " (" (i.url) ")" } time="0.000" {
                        "\n      "
                        error type="not_asked" message=(i.error.as_deref().unwrap_or("?")) {}
                        "\n    "
                    }
                }
                "\n  "
            }
            "\n"
        }
        "\n"
    })
}

/// The `failure` element of a row that did not pass.
fn junit_failure(r: &Row) -> Option<Markup> {
    Some(match (&r.status, &r.last) {
        (Status::Pass, _) => return None,
        (Status::Mismatch, _) => html! {
            failure type="mismatch"
                message={ "does not cover the catalog flow: " (r.mismatch_text()) } {}
        },
        (Status::Stale, _) => html! {
            failure type="stale" message=(r.freshness.map(|f| f.text()).unwrap_or_default()) {}
        },
        (Status::NotCovered, _) | (_, None) => html! {
            failure type="not_covered"
                message={ "no instance probed this flow from " (r.vantage) } {}
        },
        (Status::Fail, Some(l)) => html! {
            failure type=(l.reason) message=(l.reason) { (l.detail) }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::xml_test::{HOSTILE, KEPT, KEPT_IN_ATTRIBUTE, parsed};

    /// JSON writes the one spelling; the table writes it upper case with
    /// spaces, as before the spelling table.
    #[test]
    fn status_spellings_in_json_and_in_the_table() {
        let json: Vec<String> = Status::ALL
            .iter()
            .map(|s| serde_json::to_string(s).expect("json"))
            .collect();
        assert_eq!(
            json,
            [
                "\"pass\"",
                "\"fail\"",
                "\"not_covered\"",
                "\"mismatch\"",
                "\"stale\""
            ]
        );
        let table: Vec<String> = Status::ALL.iter().map(|s| s.label()).collect();
        assert_eq!(table, ["PASS", "FAIL", "NOT COVERED", "MISMATCH", "STALE"]);
    }

    fn h(prefix: &str) -> String {
        format!("{prefix}{HOSTILE}")
    }

    fn row(status: Status, name: &str) -> Row {
        Row {
            site: None,
            instance: h("i"),
            vantage: h("v"),
            name: name.to_string(),
            from: h("from"),
            to: h("to"),
            host: h("h"),
            port: 22,
            check: h("c"),
            expect: h("e"),
            severity: h("s"),
            status,
            last: Some(Last {
                reason: h("r"),
                up: status == Status::Pass,
                detail: h("d"),
                started: 0.0,
                time_seconds: Some(0.5),
            }),
            mismatch: Vec::new(),
            freshness: None,
        }
    }

    fn hostile_matrix() -> (Matrix, Vec<InstanceStatus>) {
        let pass = Row {
            instance: "a".into(),
            vantage: "here".into(),
            host: "a.example".into(),
            expect: "open".into(),
            ..row(Status::Pass, "pass")
        };
        let mismatch = Row {
            site: Some(h("site")),
            mismatch: vec![
                Mismatch::Vantage {
                    declared: vec![h("x")],
                },
                Mismatch::Definition {
                    field: "host",
                    instance: h("y"),
                    catalog: "c.example".into(),
                },
            ],
            ..row(Status::Mismatch, &h("m"))
        };
        let stale = Row {
            freshness: Some(Freshness {
                age_seconds: Some(90.0),
                stale_after_seconds: 60.0,
            }),
            ..row(Status::Stale, "stale")
        };
        let not_covered = Row {
            instance: String::new(),
            last: None,
            ..row(Status::NotCovered, &h("nc"))
        };
        let m = Matrix {
            rows: vec![pass, row(Status::Fail, &h("n")), mismatch, stale],
            not_covered: vec![not_covered],
        };
        let instances = vec![
            InstanceStatus {
                name: "fine".into(),
                url: "https://fine.example:9443".into(),
                ok: true,
                error: None,
                flows: 1,
                store: false,
            },
            InstanceStatus {
                name: h("bad"),
                url: h("https://u/"),
                ok: false,
                error: Some(h("err")),
                flows: 0,
                store: false,
            },
            InstanceStatus {
                name: "store".into(),
                url: "http://prom.example:9090".into(),
                ok: false,
                error: None,
                flows: 0,
                store: true,
            },
        ];
        (m, instances)
    }

    /// What instances and peers wrote reaches the report escaped, without
    /// the characters XML refuses, and reads back as written, in every kind
    /// of test case.
    #[test]
    fn junit_escapes_and_filters_what_instances_wrote() {
        let (m, instances) = hostile_matrix();
        let xml = junit(&m, &instances);
        assert!(
            xml.starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <testsuites name=\"flowprobe\" tests=\"7\" failures=\"4\" errors=\"2\" time=\"2.000\">\n  \
                 <testsuite name=\"flowprobe fleet check\" tests=\"7\" failures=\"4\" errors=\"2\" time=\"2.000\">\n    \
                 <testcase classname=\"here\" name=\"pass (a.example:22 expect open) on a\" time=\"0.500\"></testcase>\n    \
                 <testcase "
            ),
            "{xml}"
        );
        assert!(
            xml.ends_with(
                "\n    <testcase classname=\"store\" name=\"store (http://prom.example:9090)\" time=\"0.000\">\n      \
                 <error type=\"not_asked\" message=\"?\"></error>\n    </testcase>\n  </testsuite>\n</testsuites>\n"
            ),
            "{xml}"
        );
        let Some(doc) = parsed(&xml) else { return };
        let tags: Vec<&str> = doc
            .as_array()
            .expect("elements")
            .iter()
            .filter_map(|e| e[0].as_str())
            .collect();
        assert_eq!(
            tags,
            [
                "testsuites",
                "testsuite",
                "testcase",
                "testcase",
                "failure",
                "testcase",
                "failure",
                "testcase",
                "failure",
                "testcase",
                "failure",
                "testcase",
                "error",
                "testcase",
                "error"
            ]
        );
        let a = KEPT_IN_ATTRIBUTE;
        let case = |i: usize, key: &str| doc[i][1][key].as_str().map(str::to_string);
        // Failed.
        assert_eq!(case(3, "classname"), Some(format!("v{a}")));
        assert_eq!(
            case(3, "name"),
            Some(format!("n{a} (h{a}:22 expect e{a}) on i{a}"))
        );
        assert_eq!(case(4, "type"), Some(format!("r{a}")));
        assert_eq!(case(4, "message"), Some(format!("r{a}")));
        assert_eq!(doc[4][2], format!("d{KEPT}"));
        // Mismatch, from the store.
        assert_eq!(case(5, "classname"), Some(format!("site{a}/v{a}")));
        assert_eq!(
            case(6, "message"),
            Some(format!(
                "does not cover the catalog flow: the instance runs vantages x{a} only; \
                 host y{a} (catalog: c.example)"
            ))
        );
        // Stale.
        assert_eq!(case(8, "type").as_deref(), Some("stale"));
        // Not covered.
        assert_eq!(
            case(9, "name"),
            Some(format!("nc{a} (h{a}:22 expect e{a}) on no instance"))
        );
        assert_eq!(
            case(10, "message"),
            Some(format!("no instance probed this flow from v{a}"))
        );
        // An instance not asked.
        assert_eq!(case(11, "name"), Some(format!("bad{a} (https://u/{a})")));
        assert_eq!(case(12, "message"), Some(format!("err{a}")));
    }
}
