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
use super::{Instance, flow_href, layout_polling};
use crate::state::history::HISTORY_LEN;
use crate::web::FlowView;
use crate::web::api::{self, Overview, Totals};

/// `(class, text)` of a flow's state: colour is never the only signal.
pub(super) fn state(v: &FlowView) -> (&'static str, &'static str) {
    match &v.last {
        None => ("pending", "PENDING"),
        Some(r) if r.up => ("up", "UP"),
        Some(_) => ("down", "DOWN"),
    }
}

/// The reason with what it means for a forbidden flow: `refused` on a
/// flow that must be closed is the good news.
pub(crate) fn reason_note(v: &FlowView) -> &'static str {
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
pub(crate) fn strip(v: &FlowView) -> Markup {
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

/// The counts line: down by severity first, then up and pending (an up
/// flow with a warning counts as up).
fn counts(t: &Totals) -> Markup {
    let by_sev: Vec<String> = ["critical", "warning", "info"]
        .iter()
        .filter_map(|s| t.down_by_severity.get(s).map(|n| format!("{n} {s}")))
        .collect();
    let sev = if by_sev.is_empty() {
        String::new()
    } else {
        format!("({})", by_sev.join(", "))
    };
    html! {
        p #counts .counts aria-live="polite" {
            span class={ "count " (if t.down > 0 { "down" } else { "none" }) } #n-down { (t.down) " down" }
            span #n-down-sev .by-sev { (sev) }
            span.count.up #n-up { (t.up + t.warn) " up" }
            span.count.pending #n-pending { (t.pending) " pending" }
            span.count.total #n-total { (t.all) " flows" }
        }
    }
}

/// Flows per vantage and state, each count a link to those flows.
fn summary(by_vantage: &BTreeMap<String, Totals>) -> Markup {
    let link = |vantage: &str, state: &str| {
        format!(
            "?{}",
            api::encode(&[
                ("vantage", vantage.to_string()),
                ("state", state.to_string())
            ])
        )
    };
    html! {
        section #summary aria-labelledby="summary-h" {
            h2 #summary-h { "By vantage" }
            div.scroll role="region" aria-label="Flows by vantage" tabindex="0" {
            table.summary {
                thead { tr {
                    th scope="col" { "vantage" } th scope="col" { "down" } th scope="col" { "warn" }
                    th scope="col" { "up" } th scope="col" { "pending" } th scope="col" { "flows" }
                } }
                tbody {
                    @for (v, t) in by_vantage {
                        tr {
                            th scope="row" { a href={ "?" (api::encode(&[("vantage", v.clone())])) } { (v) } }
                            td { a href=(link(v, "down")) { (t.down) } }
                            td { a href=(link(v, "warn")) { (t.warn) } }
                            td { a href=(link(v, "up")) { (t.up) } }
                            td { a href=(link(v, "pending")) { (t.pending) } }
                            td { (t.all) }
                        }
                    }
                }
            }
            }
        }
    }
}

/// Down flows, most severe first, longest-broken first within a
/// severity, at most [`api::ATTENTION`] named, the rest counted.
fn problems(o: &Overview, now: i64) -> Markup {
    html! {
        section #problems aria-labelledby="problems-h" {
            h2 #problems-h { "Needs attention" }
            p.allgood #all-good hidden[!o.attention.is_empty()] { "Every flow meets its expectation." }
            ul #problem-list {
                @for v in &o.attention {
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
            p #attention-more hidden[o.attention_more == 0] {
                "and " span #n-more { (o.attention_more) } " more: "
                a href="?state=down" { "every down flow" }
            }
        }
    }
}

/// The search across every flow, by the server: works without a script.
fn search(q: &api::FlowQuery, vantages: &BTreeMap<String, Totals>) -> Markup {
    let state = q.state.as_deref().unwrap_or("");
    let vantage = q.vantage.as_deref().unwrap_or("");
    html! {
        form #search .filters method="get" action="" role="search" {
            label for="s-flow" { "Flow name" }
            input #s-flow name="flow" type="search" autocomplete="off" placeholder="mobile-*" value=(q.flow.as_deref().unwrap_or(""));
            label for="s-vantage" { "Vantage" }
            select #s-vantage name="vantage" {
                option value="" selected[vantage.is_empty()] { "all" }
                @for v in vantages.keys() {
                    option value=(v) selected[vantage == v] { (v) }
                }
            }
            label for="s-state" { "State" }
            select #s-state name="state" {
                @for (value, text) in [("", "all"), ("down", "down"), ("warn", "warn"), ("up", "up"), ("pending", "pending")] {
                    option value=(value) selected[state == value] { (text) }
                }
            }
            button type="submit" { "Search every flow" }
        }
    }
}

/// Where this page is in the matching flows, and the way to the next.
fn pager(o: &Overview) -> Markup {
    let shown = o.page.flows.len();
    let next = o.page.next_cursor.as_ref().map(|c| {
        let mut q = o.asked.clone();
        q.cursor = Some(c.clone());
        format!("?{}", api::encode(&api::url_query(&q)))
    });
    html! {
        p #pager .pager {
            (shown) " of " span #n-matched { (o.page.matched) } " matching flows on this page"
            @if o.asked.cursor.is_some() { " · " a href="?" { "first page" } }
            @if let Some(n) = next { " · " a #next-page href=(n) { "next page" } }
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

pub(crate) fn render(o: &Overview, inst: &Instance) -> String {
    let flows = &o.page.flows;
    let mut by_vantage: BTreeMap<&str, Vec<&FlowView>> = BTreeMap::new();
    for v in flows {
        by_vantage.entry(&v.vantage).or_default().push(v);
    }
    let d = &inst.daemon;
    let main = html! {
        header.top {
            h1 { "flowprobe " span.sub { "network flows" } }
            (counts(&o.page.totals))
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
        (problems(o, inst.now))
        (summary(&o.by_vantage))
        (search(&o.asked, &o.by_vantage))
        (pager(o))
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
                @if o.page.totals.all == 0 {
                    p { "No flows are configured for this instance's vantages." }
                } @else {
                    p { "No flow matches this search." }
                }
            }
        }
    };
    layout_polling("flowprobe", "", "overview", Some(&o.api_query), main).into_string()
}
