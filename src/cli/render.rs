//! Renderers for `flowprobe check` (table, JSON, JUnit) and `catalog`.

use std::fmt::Write;
use std::process::ExitCode;

use maud::html;

use crate::config::catalog;
use crate::outcome::Level;
use crate::probe::Phase;
use crate::text::xml_document;
use crate::web::FlowView;

fn status(v: &FlowView) -> &'static str {
    match &v.last {
        Some(r) if r.up => "PASS",
        Some(_) => "FAIL",
        None => "-",
    }
}

/// A table shaped like the STIG's Table 1-2, plus status and reason.
pub(crate) fn table(views: &[FlowView]) -> String {
    let header = [
        "FROM", "TO", "PORT", "CHECK", "EXPECT", "STATUS", "REASON", "TIME", "FLOW",
    ];
    let mut rows: Vec<[String; 9]> = Vec::new();
    for v in views {
        let (reason, time) = match &v.last {
            Some(r) => (
                r.reason.to_string(),
                r.phases.get(Phase::Total).map_or(String::new(), |d| {
                    format!("{:.1}ms", d.as_secs_f64() * 1000.0)
                }),
            ),
            None => (String::new(), String::new()),
        };
        rows.push([
            v.vantage.clone(),
            format!("{} ({})", v.to, v.host),
            v.port.to_string(),
            v.check.to_string(),
            v.expect.to_string(),
            status(v).to_string(),
            reason,
            time,
            v.name.clone(),
        ]);
    }
    let mut width = header.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let _ = write!(l, "{:<w$}  ", c, w = width[i]);
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header.map(String::from), &mut out);
    for (r, v) in rows.iter().zip(views) {
        line(r, &mut out);
        if let Some(rep) = &v.last {
            if !rep.up && !rep.detail.is_empty() {
                let _ = writeln!(out, "    {}", rep.detail);
            }
            for a in &rep.attempts {
                let mut lines = Vec::new();
                a.facts.text_lines(&mut lines);
                for l in lines {
                    let _ = writeln!(out, "    {l}");
                }
            }
            for f in rep.findings() {
                if f.level != Level::Info || !rep.up {
                    let _ = writeln!(out, "    {} {}: {}", f.level, f.reason, f.detail);
                }
            }
        }
    }
    let failed = views.iter().filter(|v| status(v) != "PASS").count();
    let _ = writeln!(
        out,
        "\n{} flows, {} pass, {} fail",
        views.len(),
        views.len() - failed,
        failed
    );
    out
}

/// JUnit XML: one test case per flow, so CI systems show a firewall check
/// like a test run. `maud` escapes every value; [`xml_document`] keeps
/// only the characters XML admits.
pub(crate) fn junit(views: &[FlowView]) -> String {
    let failures = views.iter().filter(|v| status(v) != "PASS").count();
    let total: f64 = views
        .iter()
        .filter_map(|v| v.last.as_ref()?.phases.get(Phase::Total))
        .map(|d| d.as_secs_f64())
        .sum();
    let time = |v: &FlowView| {
        v.last
            .as_ref()
            .and_then(|r| r.phases.get(Phase::Total))
            .map_or(0.0, |d| d.as_secs_f64())
    };
    // The newline and indent text nodes lay the file out for people, as
    // before.
    xml_document(html! {
        testsuites name="flowprobe" tests=(views.len()) failures=(failures)
            time=(format_args!("{total:.3}")) {
            "\n  "
            testsuite name="flowprobe check" tests=(views.len()) failures=(failures) errors="0"
                time=(format_args!("{total:.3}")) {
                @for v in views {
                    "\n    "
                    testcase classname=(v.vantage)
                        name={ (v.name) " (" (v.host) ":" (v.port) " expect " (v.expect) ")" }
                        time=(format_args!("{:.3}", time(v))) {
                        @if let Some(r) = v.last.as_ref().filter(|r| !r.up) {
                            "\n      "
                            failure type=(r.reason.as_str()) message=(r.reason.as_str()) {
                                (r.detail)
                                @for f in r.findings() {
                                    "\n" (f.reason.as_str()) ": " (f.detail)
                                }
                            }
                            "\n    "
                        }
                    }
                }
                "\n  "
            }
            "\n"
        }
        "\n"
    })
}

pub(crate) fn catalog(name: Option<&str>) -> ExitCode {
    match name {
        None => {
            for c in catalog::CATALOGS {
                println!("{:<12} {}", c.name, c.summary);
            }
            println!(
                "{:<12} only the flows in the configuration file",
                catalog::NO_CATALOG
            );
            ExitCode::SUCCESS
        }
        Some(n) => match catalog::find(n) {
            Some(c) => {
                print!("{}", c.toml);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("unknown catalog {n:?}; run `flowprobe catalog` for the list");
                ExitCode::from(super::EXIT_USAGE)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::outcome::{Finding, Reason};
    use crate::probe::{Attempt, KindFacts, Phases, ProbeReport};
    use crate::text::xml_test::{HOSTILE, KEPT, KEPT_IN_ATTRIBUTE, parsed};

    fn view(name: &str, host: &str, last: Option<ProbeReport>) -> FlowView {
        FlowView {
            vantage: format!("v{HOSTILE}"),
            name: name.to_string(),
            to: "jamf".to_string(),
            host: host.to_string(),
            port: 443,
            check: "tls",
            expect: "open",
            severity: "high",
            interval_seconds: 60.0,
            timeout_seconds: 5.0,
            description: String::new(),
            labels: Default::default(),
            last,
            since: None,
            history: None,
        }
    }

    fn report(up: bool, detail: &str, finding: &str) -> ProbeReport {
        let mut phases = Phases::default();
        phases.set(Phase::Total, Duration::from_millis(1_250));
        ProbeReport {
            reason: if up { Reason::Ok } else { Reason::SshBanner },
            up,
            detail: detail.to_string(),
            cause: None,
            started: SystemTime::UNIX_EPOCH,
            phases,
            attempts: vec![Attempt {
                address: "192.0.2.1:443".parse().expect("address"),
                reason: Reason::SshBanner,
                detail: String::new(),
                cause: None,
                phases,
                findings: vec![Finding {
                    reason: Reason::SshSoftware,
                    level: Level::Warn,
                    detail: finding.to_string(),
                    subject: None,
                }],
                facts: KindFacts::None,
            }],
        }
    }

    /// What a peer wrote (and the configuration names) reaches the report
    /// escaped, without the characters XML refuses, and reads back as
    /// written; a passing flow and one never probed are empty test cases.
    #[test]
    fn junit_escapes_and_filters_what_peers_wrote() {
        let views = [
            view("pass", "a.example", Some(report(true, "", "fine"))),
            view(
                &format!("n{HOSTILE}"),
                &format!("h{HOSTILE}"),
                Some(report(
                    false,
                    &format!("d{HOSTILE}"),
                    &format!("f{HOSTILE}"),
                )),
            ),
            view("never", "b.example", None),
        ];
        let xml = junit(&views);
        assert!(
            xml.starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <testsuites name=\"flowprobe\" tests=\"3\" failures=\"2\" time=\"2.500\">\n  \
                 <testsuite name=\"flowprobe check\" tests=\"3\" failures=\"2\" errors=\"0\" time=\"2.500\">\n    \
                 <testcase classname=\"v&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; 'a' &amp; ]]&gt; [2J\n\tx\" \
                 name=\"pass (a.example:443 expect open)\" time=\"1.250\"></testcase>\n    <testcase "
            ),
            "{xml}"
        );
        assert!(
            xml.ends_with("</failure>\n    </testcase>\n    <testcase classname=\"v&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; 'a' &amp; ]]&gt; [2J\n\tx\" name=\"never (b.example:443 expect open)\" time=\"0.000\"></testcase>\n  </testsuite>\n</testsuites>\n"),
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
                "testcase"
            ]
        );
        let (case, failure) = (&doc[3], &doc[4]);
        assert_eq!(case[1]["classname"], format!("v{KEPT_IN_ATTRIBUTE}"));
        assert_eq!(
            case[1]["name"],
            format!("n{KEPT_IN_ATTRIBUTE} (h{KEPT_IN_ATTRIBUTE}:443 expect open)")
        );
        assert_eq!(failure[1]["type"], "ssh_banner");
        assert_eq!(failure[1]["message"], "ssh_banner");
        assert_eq!(failure[2], format!("d{KEPT}\nssh_software: f{KEPT}"));
    }
}
