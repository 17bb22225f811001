//! `/`: counts, the flows that need attention, and the matrix: one table
//! per vantage, one row per flow (state as text and colour, reason, since
//! when, last probe, history strip). Rows carry their key in `data-*`
//! attributes so the script can update them from `/api/v1/flows`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::fmt::{time_ago, utc};
use super::{Instance, esc, flow_href, layout};
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
pub fn strip(v: &FlowView) -> String {
    let entries = v.history.as_deref().unwrap_or_default();
    let ups = entries.iter().filter(|e| e.up).count();
    let mut s = format!(
        "<span class=\"strip\" role=\"img\" aria-label=\"last {} probes: {ups} up, {} down\">",
        entries.len(),
        entries.len() - ups
    );
    let pad = HISTORY_LEN.saturating_sub(entries.len());
    if pad > 0 {
        let _ = write!(s, "<i class=\"h none w{pad}\"></i>");
    }
    for run in entries.chunk_by(|a, b| a.up == b.up && a.reason == b.reason) {
        let (first, last) = (&run[0], &run[run.len() - 1]);
        let state = if first.up { "UP" } else { "DOWN" };
        let title = if run.len() == 1 {
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
        let _ = write!(
            s,
            "<i class=\"h {} w{}\" title=\"{title}\"></i>",
            if first.up { "up" } else { "down" },
            run.len()
        );
    }
    s.push_str("</span>");
    s
}

fn row(v: &FlowView, now: i64) -> String {
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
    let since = match v.since.flatten() {
        Some(t) => time_ago(i64::from(t), now, "since"),
        None => "<time class=\"since\"></time>".to_string(),
    };
    let last = match started {
        Some(t) => time_ago(t, now, "age"),
        None => "<time class=\"age\"></time>".to_string(),
    };
    let search = format!(
        "{} {} {} {} {} {} {} {}",
        v.vantage, v.name, v.to, v.host, reason, text, v.severity, v.check
    )
    .to_lowercase();
    let note = reason_note(v);
    format!(
        "<tr class=\"flow {class} sev-{sev}\" data-vantage=\"{vantage}\" data-name=\"{name}\" \
data-expect=\"{expect}\" data-severity=\"{sev}\" data-search=\"{search}\">\
<td data-label=\"State\"><span class=\"badge {class}\">{text}</span> <span class=\"sev\">{sev}</span></td>\
<td data-label=\"Flow\"><a href=\"{href}\">{name}</a><span class=\"desc\">{desc}</span></td>\
<td data-label=\"To\"><span class=\"to\">{to} <span class=\"host\">{host}</span>:{port}</span>\
<span class=\"kind\">{check}, expect {expect}</span></td>\
<td data-label=\"Reason\"><code class=\"reason\">{reason}</code> <span class=\"note\">{note}</span>\
<span class=\"detail\">{detail}</span></td>\
<td data-label=\"Since\">{since}</td>\
<td data-label=\"Last probe\">{last}</td>\
<td data-label=\"History\">{strip}</td></tr>\n",
        sev = esc(v.severity),
        vantage = esc(&v.vantage),
        name = esc(&v.name),
        expect = esc(v.expect),
        search = esc(&search),
        href = esc(&flow_href("", &v.vantage, &v.name)),
        desc = esc(&v.description),
        to = esc(&v.to),
        host = esc(&v.host),
        port = v.port,
        check = esc(v.check),
        reason = esc(&reason),
        detail = esc(&detail),
        strip = strip(v),
    )
}

/// The counts line: down by severity first, then up and pending.
fn counts(flows: &[FlowView]) -> String {
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
    format!(
        "<p id=\"counts\" class=\"counts\" aria-live=\"polite\">\
<span class=\"count {dc}\" id=\"n-down\">{total_down} down</span>\
<span id=\"n-down-sev\" class=\"by-sev\">{sev}</span>\
<span class=\"count up\" id=\"n-up\">{up} up</span>\
<span class=\"count pending\" id=\"n-pending\">{pending} pending</span>\
<span class=\"count total\" id=\"n-total\">{total} flows</span></p>",
        dc = if total_down > 0 { "down" } else { "none" },
        sev = if by_sev.is_empty() {
            String::new()
        } else {
            format!("({})", by_sev.join(", "))
        },
        total = flows.len(),
    )
}

/// Down flows, most severe first, longest-broken first within a severity.
fn problems(flows: &[FlowView], now: i64) -> String {
    let rank = |s: &str| match s {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    };
    let mut down: Vec<&FlowView> = flows.iter().filter(|v| state(v).0 == "down").collect();
    down.sort_by_key(|v| (rank(v.severity), v.since.flatten().unwrap_or(u32::MAX)));
    let mut items = String::new();
    for v in &down {
        let reason = v.last.as_ref().map(|r| r.reason.as_str()).unwrap_or("");
        let since = v
            .since
            .flatten()
            .map(|t| format!(" since {}", time_ago(i64::from(t), now, "since")))
            .unwrap_or_default();
        let _ = write!(
            items,
            "<li class=\"sev-{sev}\"><span class=\"badge down\">DOWN</span> <span class=\"sev\">{sev}</span> \
<a href=\"{href}\">{vantage} / {name}</a> <code class=\"reason\">{reason}</code>{since}</li>",
            sev = esc(v.severity),
            href = esc(&flow_href("", &v.vantage, &v.name)),
            vantage = esc(&v.vantage),
            name = esc(&v.name),
            reason = esc(reason),
        );
    }
    let empty = if down.is_empty() {
        "<p class=\"allgood\" id=\"all-good\">Every flow meets its expectation.</p>"
    } else {
        "<p class=\"allgood\" id=\"all-good\" hidden>Every flow meets its expectation.</p>"
    };
    format!(
        "<section id=\"problems\" aria-labelledby=\"problems-h\"><h2 id=\"problems-h\">Needs attention</h2>\
{empty}<ul id=\"problem-list\">{items}</ul></section>"
    )
}

fn filters() -> &'static str {
    "<form id=\"filters\" class=\"filters\" role=\"search\">\
<label for=\"filter\">Filter</label>\
<input id=\"filter\" type=\"search\" autocomplete=\"off\" placeholder=\"name, vantage, reason, state\">\
<label for=\"state-filter\">State</label>\
<select id=\"state-filter\"><option value=\"\">all</option><option value=\"down\">down</option>\
<option value=\"up\">up</option><option value=\"pending\">pending</option></select>\
<output id=\"shown\" for=\"filter state-filter\"></output></form>"
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
    let mut tables = String::new();
    for (vantage, vs) in &by_vantage {
        let down = vs.iter().filter(|v| state(v).0 == "down").count();
        let _ = write!(
            tables,
            "<section class=\"vantage\" data-vantage=\"{ve}\" aria-labelledby=\"v-{id}\">\
<h2 id=\"v-{id}\">From <span class=\"vname\">{ve}</span> <span class=\"vcount\">{n} flows, {down} down</span></h2>\
<table class=\"flows\"><caption class=\"sr\">Flows probed from {ve}</caption>\
<thead><tr><th scope=\"col\">State</th><th scope=\"col\">Flow</th><th scope=\"col\">To : port</th>\
<th scope=\"col\">Reason</th><th scope=\"col\">Since</th><th scope=\"col\">Last probe</th>\
<th scope=\"col\">History <span class=\"hint\">(oldest left)</span></th></tr></thead><tbody>",
            ve = esc(vantage),
            id = super::seg(vantage),
            n = vs.len(),
        );
        for v in vs {
            tables.push_str(&row(v, inst.now));
        }
        tables.push_str("</tbody></table></section>\n");
    }
    if flows.is_empty() {
        tables.push_str("<p>No flows are configured for this instance's vantages.</p>");
    }
    let d = &inst.daemon;
    // Ids the script refreshes from `/api/v1/flows`' `daemon` object.
    let reload = match d.last_reload {
        Some(t) => format!(
            "last reload <span id=\"reload-at\">{}</span> ({})",
            utc(t),
            time_ago(t, inst.now, "reload")
        ),
        None => {
            "last reload <span id=\"reload-at\">unknown</span> (<time class=\"reload\"></time>)"
                .to_string()
        }
    };
    let main = format!(
        "<header class=\"top\"><h1>flowprobe <span class=\"sub\">network flows</span></h1>{counts}\
<p class=\"meta\"><span class=\"badge {rc}\" id=\"ready\">{rt}</span> configuration <code id=\"origin\">{origin}</code> · \
{reload}<strong class=\"bad\" id=\"reload-failed\"{failed}>, the last reload failed: the running configuration is kept</strong> · \
<span id=\"updated\" data-t=\"{now}\">rendered {nowtxt}</span></p></header>\
{problems}{filters}<div id=\"matrix\">{tables}</div>",
        counts = counts(flows),
        rc = if d.ready { "up" } else { "pending" },
        rt = ready_text(d.ready),
        origin = esc(&d.origin),
        failed = if d.last_reload_ok { " hidden" } else { "" },
        now = inst.now,
        nowtxt = utc(inst.now),
        problems = problems(flows, inst.now),
        filters = filters(),
    );
    layout("flowprobe", "", "overview", &main)
}
