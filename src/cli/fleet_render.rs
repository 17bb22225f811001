//! Renderers of the fleet check's merged matrix (table, JSON, JUnit),
//! shaped like `check`'s (`render`) with the instance that probed each row
//! (and its site, when the rows come from a central store).

use std::fmt::Write;

use serde::Serialize;

use super::fleet::Matrix;
use crate::text::{escape_markup, named_enum};

named_enum! {
/// A matrix row's verdict: one spelling in JSON; the table writes it upper
/// case with spaces ([`Status::label`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
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
pub enum Mismatch {
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
pub struct Row {
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
pub struct Freshness {
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
    pub fn mismatch_text(&self) -> String {
        self.mismatch
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Last {
    pub reason: String,
    pub up: bool,
    pub detail: String,
    /// Unix seconds.
    pub started: f64,
    pub time_seconds: Option<f64>,
}

/// How asking one instance went.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceStatus {
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
pub fn table(m: &Matrix, instances: &[InstanceStatus], color: bool) -> String {
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
pub fn json(m: &Matrix, instances: &[InstanceStatus]) -> String {
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
/// case per instance that could not be asked.
pub fn junit(m: &Matrix, instances: &[InstanceStatus]) -> String {
    let all: Vec<&Row> = m.rows.iter().chain(&m.not_covered).collect();
    let failures = all.iter().filter(|r| r.status != Status::Pass).count();
    let errors = instances.iter().filter(|i| !i.ok).count();
    let tests = all.len() + errors;
    let total: f64 = all
        .iter()
        .filter_map(|r| r.last.as_ref()?.time_seconds)
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"flowprobe\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{total:.3}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"flowprobe fleet check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{total:.3}\">"
    );
    for r in &all {
        let time = r.last.as_ref().and_then(|l| l.time_seconds).unwrap_or(0.0);
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{} ({}:{} expect {}) on {}\" time=\"{time:.3}\"",
            escape_markup(&match &r.site {
                Some(site) => format!("{site}/{}", r.vantage),
                None => r.vantage.clone(),
            }),
            escape_markup(&r.name),
            escape_markup(&r.host),
            r.port,
            escape_markup(&r.expect),
            escape_markup(if r.instance.is_empty() {
                "no instance"
            } else {
                &r.instance
            }),
        );
        match (&r.status, &r.last) {
            (Status::Pass, _) => {
                let _ = writeln!(out, "/>");
            }
            (Status::Mismatch, _) => {
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"mismatch\" message=\"does not cover the catalog flow: {}\"/>\n    </testcase>",
                    escape_markup(&r.mismatch_text())
                );
            }
            (Status::Stale, _) => {
                let text = r.freshness.map(|f| f.text()).unwrap_or_default();
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"stale\" message=\"{}\"/>\n    </testcase>",
                    escape_markup(&text)
                );
            }
            (Status::NotCovered, _) | (_, None) => {
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"not_covered\" message=\"no instance probed this flow from {}\"/>\n    </testcase>",
                    escape_markup(&r.vantage)
                );
            }
            (Status::Fail, Some(l)) => {
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                    escape_markup(&l.reason),
                    escape_markup(&l.reason),
                    escape_markup(&l.detail)
                );
            }
        }
    }
    for i in instances.iter().filter(|i| !i.ok) {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{} ({})\" time=\"0.000\">\n      <error type=\"not_asked\" message=\"{}\"/>\n    </testcase>",
            if i.store { "store" } else { "instance" },
            escape_markup(&i.name),
            escape_markup(&i.url),
            escape_markup(i.error.as_deref().unwrap_or("?"))
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
