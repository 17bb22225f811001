//! Renderers for `flowprobe check` (table, JSON, JUnit) and `catalog`.

use std::fmt::Write;
use std::process::ExitCode;

use crate::analyze::chain::AnchorResult;
use crate::config::catalog;
use crate::outcome::Level;
use crate::probe::crl::CrlEntry;
use crate::probe::{Details, Phase};
use crate::text::{escape_markup, rfc3339};
use crate::web::FlowView;

fn status(v: &FlowView) -> &'static str {
    match &v.last {
        Some(r) if r.up => "PASS",
        Some(_) => "FAIL",
        None => "-",
    }
}

/// A table shaped like the STIG's Table 1-2, plus status and reason.
pub fn table(views: &[FlowView]) -> String {
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
                match &a.details {
                    Details::Crl(d) => {
                        for e in &d.crls {
                            let _ = writeln!(out, "    {}", crl_line(e));
                        }
                    }
                    Details::Ocsp(d) => {
                        for e in &d.responses {
                            let _ = writeln!(out, "    {}", e.line());
                        }
                    }
                    Details::Tls(t) => {
                        if let Some(c) = &t.chain {
                            let _ = writeln!(out, "    validated at {}", rfc3339(c.validated_at));
                        }
                        for anchor in t.chain.iter().flat_map(|c| c.anchors()) {
                            let _ = writeln!(out, "    {}", path_line(anchor));
                        }
                        if let Some(p) = &t.protocols {
                            let _ = writeln!(out, "    {}", protocols_line(&p.judgement));
                            for j in &p.other_policies {
                                let _ = writeln!(
                                    out,
                                    "    policy {}: {}",
                                    j.policy,
                                    if j.violations.is_empty() {
                                        "met"
                                    } else {
                                        "violated"
                                    }
                                );
                            }
                        }
                        if let Some(s) = &t.ocsp_staple {
                            let _ = writeln!(out, "    {}", s.line());
                        }
                    }
                    // Their facts are in the detail line and the findings.
                    Details::None | Details::Ssh(_) | Details::Http(_) => {}
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

/// The enumeration's verdict for people: which versions were accepted.
pub(super) fn protocols_line(j: &crate::analyze::tls_policy::ProtocolJudgement) -> String {
    let accepted = j.accepted_versions();
    format!(
        "protocols ({}): {}{}",
        j.policy,
        if accepted.is_empty() && j.complete {
            "accepts no version".to_owned()
        } else if accepted.is_empty() {
            "no version known to be accepted".to_owned()
        } else {
            format!("accepts {}", accepted.join(", "))
        },
        if j.complete {
            ""
        } else {
            " (enumeration incomplete)"
        }
    )
}

/// One store's verdict for people: the sent positions of the path, and
/// until when it validates or why it does not.
pub(super) fn path_line(a: &AnchorResult) -> String {
    let positions: Vec<String> = a.path.iter().map(usize::to_string).collect();
    if a.verified {
        let policies = if a.policies.is_empty() {
            "no policy required".to_owned()
        } else {
            format!(
                "policies {}",
                crate::analyze::chain::render_policies(&a.policies)
            )
        };
        format!(
            "path {}: valid, positions {} to {}, until {}, {policies}",
            a.store,
            positions.join(" -> "),
            a.anchor_subject.as_deref().unwrap_or("?"),
            a.not_after.map_or_else(|| "?".into(), rfc3339)
        )
    } else {
        format!(
            "path {}: not valid, positions {}: {}",
            a.store,
            positions.join(" -> "),
            a.detail
        )
    }
}

/// One CRL for people: issuer, URL, dates, size, verdict.
fn crl_line(e: &CrlEntry) -> String {
    let url = if e.http.url.is_empty() || e.http.url == e.url {
        e.url.clone()
    } else {
        format!("{} (as {})", e.http.url, e.url)
    };
    match &e.crl {
        Some(c) => format!(
            "crl {}: {url} this_update {} next_update {} {} bytes {} entries signature {}: {}",
            if c.issuer_cn.is_empty() {
                &c.issuer
            } else {
                &c.issuer_cn
            },
            rfc3339(c.this_update),
            c.next_update.map_or_else(|| "none".into(), rfc3339),
            e.http.body_bytes,
            c.entries,
            if c.signature_valid {
                "valid"
            } else {
                "INVALID"
            },
            e.reason
        ),
        None => format!(
            "crl ?: {url}{}: {}",
            e.http
                .status
                .map_or_else(String::new, |s| format!(" status {s}")),
            e.reason
        ),
    }
}

/// JUnit XML: one test case per flow, so CI systems show a firewall check
/// like a test run.
pub fn junit(views: &[FlowView]) -> String {
    let failures = views.iter().filter(|v| status(v) != "PASS").count();
    let total: f64 = views
        .iter()
        .filter_map(|v| v.last.as_ref()?.phases.get(Phase::Total))
        .map(|d| d.as_secs_f64())
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"flowprobe\" tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">",
        views.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"flowprobe check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{total:.3}\">",
        views.len()
    );
    for v in views {
        let time = v
            .last
            .as_ref()
            .and_then(|r| r.phases.get(Phase::Total))
            .map_or(0.0, |d| d.as_secs_f64());
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{} ({}:{} expect {})\" time=\"{time:.3}\"",
            escape_markup(&v.vantage),
            escape_markup(&v.name),
            escape_markup(&v.host),
            v.port,
            v.expect
        );
        match &v.last {
            Some(r) if !r.up => {
                let _ = writeln!(out, ">");
                let mut body = r.detail.clone();
                for f in r.findings() {
                    let _ = write!(body, "\n{}: {}", f.reason, f.detail);
                }
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    r.reason,
                    escape_markup(&r.reason.to_string()),
                    escape_markup(&body)
                );
                let _ = writeln!(out, "    </testcase>");
            }
            _ => {
                let _ = writeln!(out, "/>");
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

pub fn catalog(name: Option<&str>) -> ExitCode {
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
    use super::protocols_line;
    use crate::analyze::tls_policy::{Exchange, ProtocolScan, Question, Reply, TlsPolicy, judge};
    use crate::wire::tls::Version;

    #[test]
    fn the_protocols_line_says_when_nothing_is_accepted() {
        let p = TlsPolicy::nist();
        let unknown = judge(&ProtocolScan::default(), &p);
        assert_eq!(
            protocols_line(&unknown),
            "protocols (nist-800-52r2): no version known to be accepted (enumeration incomplete)"
        );
        let refused = ProtocolScan {
            exchanges: Version::ALL
                .into_iter()
                .map(|version| {
                    Exchange::new(
                        Question::Version { version },
                        Reply::Refused {
                            detail: "alert protocol_version (level 2)".into(),
                            by_version: true,
                        },
                    )
                })
                .collect(),
        };
        assert_eq!(
            protocols_line(&judge(&refused, &p)),
            "protocols (nist-800-52r2): accepts no version"
        );
    }
}
