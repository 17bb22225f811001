//! Renderers for `flowprobe check` (table, JSON, JUnit) and `catalog`.

use std::fmt::Write;
use std::process::ExitCode;

use crate::config::catalog;
use crate::outcome::Level;
use crate::probe::Phase;
use crate::text::escape_markup;
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
                let mut lines = Vec::new();
                a.details.text_lines(&mut lines);
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
