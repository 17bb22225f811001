//! `/flow/{vantage}/{name}`: one flow for the engineer who has to fix it:
//! its definition, the last outcome with phase timings and findings, the
//! history with reasons, the command that reproduces it, and the facts of
//! its check: the sent TLS chain drawn as a path per trust store (where it
//! stops marked, extras greyed), the SSH algorithms as judged, the CRLs.
//!
//! Written with `maud`: every value is escaped by the template, none by
//! hand.

use maud::{Markup, html};

use super::Instance;
use super::fmt::{ms, time_ago, utc};
use super::layout;
use super::overview::{reason_note, state, strip};
use crate::outcome::{Finding, Level};
use crate::probe::{Attempt, Phase, Phases};
use crate::web::FlowView;

/// From `/flow/{vantage}/{name}` back to `/`.
const ROOT: &str = "../../";

fn definition(v: &FlowView, origin: &str) -> Markup {
    // The configuration file goes into the command only when it is one;
    // the embedded default needs no `--config`.
    let config = if std::path::Path::new(origin).is_file() {
        format!(" --config {}", shell_quote(origin))
    } else {
        String::new()
    };
    let cmd = format!(
        "flowprobe check{config} --vantage {} --flow {}",
        shell_quote(&v.vantage),
        shell_quote(&v.name)
    );
    html! {
        section aria-labelledby="def-h" {
            h2 #def-h { "Definition" }
            dl.facts {
                dt { "From (vantage)" } dd { (v.vantage) }
                dt { "To" } dd { (v.to) " " span.host { (v.host) } ":" (v.port) }
                dt { "Check" } dd { (v.check) }
                dt { "Expect" } dd { (v.expect) }
                dt { "Severity" } dd { (v.severity) }
                dt { "Interval / timeout" } dd { (v.interval_seconds) " s / " (v.timeout_seconds) " s" }
                dt { "Labels" } dd {
                    @for (k, val) in &v.labels {
                        code { (k) "=" (val) } " "
                    }
                }
            }
            h3 #repro-h { "Reproduce from this host" }
            pre.cmd #repro aria-labelledby="repro-h" tabindex="0" { (cmd) }
        }
    }
}

/// Quote for a POSIX shell when the word needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn phases(p: &Phases) -> Markup {
    let rows: Vec<(Phase, f64)> = Phase::ALL
        .into_iter()
        .filter_map(|ph| p.get(ph).map(|d| (ph, d.as_secs_f64())))
        .collect();
    html! {
        @if !rows.is_empty() {
            table.phases {
                caption { "Phase timings" }
                thead { tr { th scope="col" { "phase" } th scope="col" { "time" } } }
                tbody {
                    @for (ph, d) in &rows {
                        tr { th scope="row" { (ph.as_str()) } td { (ms(*d)) } }
                    }
                }
            }
        }
    }
}

fn level(l: Level) -> (&'static str, &'static str) {
    match l {
        Level::Fail => ("down", "FAIL"),
        Level::Warn => ("warn", "WARN"),
        Level::Info => ("info", "INFO"),
    }
}

fn findings(list: &[&Finding]) -> Markup {
    html! {
        @if list.is_empty() {
            p { "No findings." }
        } @else {
            ul.findings {
                @for f in list {
                    @let (class, text) = level(f.level);
                    li {
                        span class={ "badge " (class) } { (text) } " "
                        code.reason { (f.reason) } " " (f.detail)
                    }
                }
            }
        }
    }
}

fn attempt(a: &Attempt, n: usize, of: usize, now: i64) -> Markup {
    html! {
        @if of > 1 {
            h3 { "Address " (n) ": " (a.address.to_string()) " " code.reason { (a.reason) } }
            p { (a.detail) }
            (phases(&a.phases))
        }
        @if let Some(section) = a.facts.page_section(now) {
            (section)
        }
    }
}

fn history(v: &FlowView) -> Markup {
    let entries = v.history.as_deref().unwrap_or_default();
    html! {
        section aria-labelledby="hist-h" {
            h2 #hist-h { "History" }
            (strip(v))
            details {
                summary { "Every outcome (" (entries.len()) " kept, newest first)" }
                table.history {
                    thead { tr { th scope="col" { "started" } th scope="col" { "state" } th scope="col" { "reason" } } }
                    tbody {
                        @for e in entries.iter().rev() {
                            @let (c, t) = if e.up { ("up", "UP") } else { ("down", "DOWN") };
                            tr class=(c) {
                                td { (utc(i64::from(e.t))) }
                                td { span class={ "badge " (c) } { (t) } }
                                td { code { (e.reason) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) fn render(v: &FlowView, inst: &Instance) -> String {
    let now = inst.now;
    let (class, text) = state(v);
    let main = html! {
        nav.crumbs { a href=(ROOT) { "All flows" } " / " (v.vantage) }
        header class={ "flowhead " (class) } #flowhead {
            h1 { span class={ "badge " (class) } { (text) } " " (v.name) }
            p.desc { (v.description) }
            @match &v.last {
                None => p { "Not probed yet." },
                Some(r) => {
                    p.verdict { code.reason { (r.reason) } " " span.note { (reason_note(v)) } }
                    p.detail { (r.detail) }
                    p.meta {
                        @if let Some(t) = v.since.flatten() {
                            (text) " since " (utc(i64::from(t))) " (" (time_ago(i64::from(t), now, "since")) ")"
                        }
                        " · last probe " (time_ago(crate::text::unix_secs(r.started), now, "age"))
                    }
                }
            }
        }
        @if let Some(r) = &v.last {
            @let all: Vec<&Finding> = r.findings().collect();
            section aria-labelledby="last-h" {
                h2 #last-h { "Last outcome" }
                (phases(&r.phases))
                h3 { "Findings" }
                (findings(&all))
            }
            @for (i, a) in r.attempts.iter().enumerate() {
                (attempt(a, i + 1, r.attempts.len(), now))
            }
        }
        (history(v))
        (definition(v, &inst.daemon.origin))
    };
    let title = format!("{text} {} ({}) - flowprobe", v.name, v.vantage);
    layout(&title, ROOT, "flow", main).into_string()
}
