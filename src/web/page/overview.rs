//! `/`: counts, the flows that need attention, and the matrix: one table
//! per vantage, one row per flow (state as text and colour, reason, since
//! when, last probe, history strip). Rows carry their key in `data-*`
//! attributes so the script can update them from `/api/v1/flows`.
//!
//! Written with `maud`: every value is escaped by the template, none by
//! hand.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::fmt::{time_ago, utc};
use super::{Instance, flow_href, layout};
use crate::state::history::HISTORY_LEN;
use crate::web::FlowView;

/// `(class, text)` of a flow's state: colour is never the only signal.
pub fn state(v: &FlowView) -> (&'static str, &'static str) {
    match &v.last {
        None => ("pending", "PENDING"),
        Some(r) if r.up => ("up", "UP"),
        Some(_) => ("down", "DOWN"),
    }
}

/// The reason with what it means for a forbidden flow: `refused` on a
/// flow that must be closed is the good news.
pub fn reason_note(v: &FlowView) -> &'static str {
    match &v.last {
        Some(r) if v.expect == "closed" && r.up => "closed, as required",
        Some(r) if v.expect == "closed" && !r.up => "open, but must be closed",
        _ => "",
    }
}

/// The history strip, oldest left, padded to [`HISTORY_LEN`] cells so
/// strips line up. Consecutive probes with the same outcome are one
/// element (`w{n}` sets its width in cells, the stylesheet draws the cell
/// ticks) with one title: at 1,000 flows one element and title per probe
/// would be 60,000 of each on the page.
pub fn strip(v: &FlowView) -> Markup {
    let entries = v.history.as_deref().unwrap_or_default();
    let ups = entries.iter().filter(|e| e.up).count();
    let label = format!(
        "last {} probes: {ups} up, {} down",
        entries.len(),
        entries.len() - ups
    );
    let pad = HISTORY_LEN.saturating_sub(entries.len());
    html! {
        span.strip role="img" aria-label=(label) {
            @if pad > 0 {
                i class={ "h none w" (pad) } {}
            }
            @for run in entries.chunk_by(|a, b| a.up == b.up && a.reason == b.reason) {
                @let (first, last) = (&run[0], &run[run.len() - 1]);
                @let state = if first.up { "UP" } else { "DOWN" };
                @let title = if run.len() == 1 {
                    format!("{} {state} {}", utc(i64::from(first.t)), first.reason)
                } else {
                    format!(
                        "{} probes {state} {}, {} to {}",
                        run.len(),
                        first.reason,
                        utc(i64::from(first.t)),
                        utc(i64::from(last.t))
                    )
                };
                i class={ "h " (if first.up { "up" } else { "down" }) " w" (run.len()) } title=(title) {}
            }
        }
    }
}

fn row(v: &FlowView, now: i64) -> Markup {
    let (class, text) = state(v);
    let (reason, detail, started) = match &v.last {
        None => (
            "pending".to_string(),
            "not probed yet".to_string(),
            None::<i64>,
        ),
        Some(r) => (
            r.reason.to_string(),
            r.detail.clone(),
            Some(crate::text::unix_secs(r.started)),
        ),
    };
    let search = format!(
        "{} {} {} {} {} {} {} {}",
        v.vantage, v.name, v.to, v.host, reason, text, v.severity, v.check
    )
    .to_lowercase();
    let sev = v.severity;
    html! {
        tr class={ "flow " (class) " sev-" (sev) } data-vantage=(v.vantage) data-name=(v.name)
            data-expect=(v.expect) data-severity=(sev) data-search=(search) {
            td data-label="State" { span class={ "badge " (class) } { (text) } " " span.sev { (sev) } }
            td data-label="Flow" {
                a href=(flow_href("", &v.vantage, &v.name)) { (v.name) }
                span.desc { (v.description) }
            }
            td data-label="To" {
                span.to { (v.to) " " span.host { (v.host) } ":" (v.port) }
                span.kind { (v.check) ", expect " (v.expect) }
            }
            td data-label="Reason" {
                code.reason { (reason) } " " span.note { (reason_note(v)) }
                span.detail { (detail) }
            }
            td data-label="Since" {
                @match v.since.flatten() {
                    Some(t) => (time_ago(i64::from(t), now, "since")),
                    None => time.since {},
                }
            }
            td data-label="Last probe" {
                @match started {
                    Some(t) => (time_ago(t, now, "age")),
                    None => time.age {},
                }
            }
            td data-label="History" { (strip(v)) }
        }
    }
}

/// The counts line: down by severity first, then up and pending.
fn counts(flows: &[FlowView]) -> Markup {
    let mut down: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut up, mut pending) = (0, 0);
    for v in flows {
        match state(v).0 {
            "up" => up += 1,
            "pending" => pending += 1,
            _ => *down.entry(v.severity).or_default() += 1,
        }
    }
    let total_down: usize = down.values().sum();
    let by_sev: Vec<String> = ["critical", "warning", "info"]
        .iter()
        .filter_map(|s| down.get(s).map(|n| format!("{n} {s}")))
        .collect();
    let sev = if by_sev.is_empty() {
        String::new()
    } else {
        format!("({})", by_sev.join(", "))
    };
    html! {
        p #counts .counts aria-live="polite" {
            span class={ "count " (if total_down > 0 { "down" } else { "none" }) } #n-down { (total_down) " down" }
            span #n-down-sev .by-sev { (sev) }
            span.count.up #n-up { (up) " up" }
            span.count.pending #n-pending { (pending) " pending" }
            span.count.total #n-total { (flows.len()) " flows" }
        }
    }
}

/// Down flows, most severe first, longest-broken first within a severity.
fn problems(flows: &[FlowView], now: i64) -> Markup {
    let rank = |s: &str| match s {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    };
    let mut down: Vec<&FlowView> = flows.iter().filter(|v| state(v).0 == "down").collect();
    down.sort_by_key(|v| (rank(v.severity), v.since.flatten().unwrap_or(u32::MAX)));
    html! {
        section #problems aria-labelledby="problems-h" {
            h2 #problems-h { "Needs attention" }
            p.allgood #all-good hidden[!down.is_empty()] { "Every flow meets its expectation." }
            ul #problem-list {
                @for v in &down {
                    li class={ "sev-" (v.severity) } {
                        span.badge.down { "DOWN" } " " span.sev { (v.severity) } " "
                        a href=(flow_href("", &v.vantage, &v.name)) { (v.vantage) " / " (v.name) }
                        " " code.reason { (v.last.as_ref().map(|r| r.reason.as_str()).unwrap_or("")) }
                        @if let Some(t) = v.since.flatten() {
                            " since " (time_ago(i64::from(t), now, "since"))
                        }
                    }
                }
            }
        }
    }
}

fn filters() -> Markup {
    html! {
        form #filters .filters role="search" {
            label for="filter" { "Filter" }
            input #filter type="search" autocomplete="off" placeholder="name, vantage, reason, state";
            label for="state-filter" { "State" }
            select #state-filter {
                option value="" { "all" }
                option value="down" { "down" }
                option value="up" { "up" }
                option value="pending" { "pending" }
            }
            output #shown for="filter state-filter" {}
        }
    }
}

/// The readiness badge's word (the script has the same two).
fn ready_text(ready: bool) -> &'static str {
    if ready {
        "READY"
    } else {
        "FIRST ROUND RUNNING"
    }
}

pub fn render(flows: &[FlowView], inst: &Instance) -> String {
    let mut by_vantage: BTreeMap<&str, Vec<&FlowView>> = BTreeMap::new();
    for v in flows {
        by_vantage.entry(&v.vantage).or_default().push(v);
    }
    let d = &inst.daemon;
    let main = html! {
        header.top {
            h1 { "flowprobe " span.sub { "network flows" } }
            (counts(flows))
            p.meta {
                span class={ "badge " (if d.ready { "up" } else { "pending" }) } #ready { (ready_text(d.ready)) }
                " configuration " code #origin { (d.origin) } " · "
                // Ids the script refreshes from `/api/v1/flows`' `daemon` object.
                @match d.last_reload {
                    Some(t) => { "last reload " span #reload-at { (utc(t)) } " (" (time_ago(t, inst.now, "reload")) ")" }
                    None => { "last reload " span #reload-at { "unknown" } " (" time.reload {} ")" }
                }
                strong.bad #reload-failed hidden[d.last_reload_ok] {
                    ", the last reload failed: the running configuration is kept"
                }
                " · "
                span #updated data-t=(inst.now) { "rendered " (utc(inst.now)) }
            }
        }
        (problems(flows, inst.now))
        (filters())
        div #matrix {
            @for (vantage, vs) in &by_vantage {
                @let down = vs.iter().filter(|v| state(v).0 == "down").count();
                @let id = format!("v-{}", super::seg(vantage));
                section.vantage data-vantage=(vantage) aria-labelledby=(id) {
                    h2 id=(id) {
                        "From " span.vname { (vantage) } " " span.vcount { (vs.len()) " flows, " (down) " down" }
                    }
                    table.flows {
                        caption.sr { "Flows probed from " (vantage) }
                        thead {
                            tr {
                                th scope="col" { "State" }
                                th scope="col" { "Flow" }
                                th scope="col" { "To : port" }
                                th scope="col" { "Reason" }
                                th scope="col" { "Since" }
                                th scope="col" { "Last probe" }
                                th scope="col" { "History " span.hint { "(oldest left)" } }
                            }
                        }
                        tbody {
                            @for v in vs {
                                (row(v, inst.now))
                            }
                        }
                    }
                }
            }
            @if flows.is_empty() {
                p { "No flows are configured for this instance's vantages." }
            }
        }
    };
    layout("flowprobe", "", "overview", main).into_string()
}
