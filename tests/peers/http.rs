//! `check = "http"` end to end against a loopback server written in the
//! test: status expectations, bounded and reported redirects (each hop to
//! another host re-resolved), content checks, a 200 MB body cut at the cap
//! with bounded memory, a dripping body that ends in `timeout` within the
//! budget, and the metrics.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use flowprobe::kinds::http::{Http, HttpError};
use flowprobe::metrics::Metrics;
use flowprobe::outcome::Reason;
use flowprobe::probe::{Cause, Phase, ProbeReport};
use flowprobe::state::State;
use flowprobe::web::FlowView;
use support::httpd::{HttpServer, Route};
use support::*;

fn flow(name: &str, port: u16, http: &str) -> String {
    format!(
        r#"
[[flow]]
name = "{name}"
from = "mobile-devices"
to = "lo"
port = {port}
check = "http"
timeout = "5s"
http = {{ {http} }}
"#
    )
}

fn config(flows: &[String]) -> flowprobe::config::Config {
    let text = format!(
        "catalog = \"none\"\n[targets]\nlo = \"127.0.0.1\"\n{}",
        flows.join("")
    );
    config_from(&text)
}

fn details(r: &ProbeReport) -> serde_json::Value {
    serde_json::to_value(&r.attempts[0].facts).expect("json")
}

/// The HTTP error behind the flow's failure, if it failed in HTTP.
fn http_error(r: &ProbeReport) -> Option<&HttpError> {
    r.cause.as_deref().and_then(|c| c.kind::<Http>())
}

fn metrics_text(c: &flowprobe::config::Config, reports: &BTreeMap<String, ProbeReport>) -> String {
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let state = State::new(Arc::clone(&metrics));
    for p in flowprobe::probe::plan::prepare(c).expect("prepare") {
        let slot = state.make_slot(Arc::clone(&p));
        state.record(&slot, reports[&p.flow.name].clone());
    }
    String::from_utf8(metrics.encode()).expect("utf8")
}

fn series<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .collect()
}

#[tokio::test]
async fn http_flows_judge_status_redirects_and_content() {
    let srv = HttpServer::start().await;
    let other = HttpServer::start().await;
    srv.route(
        "/index.html",
        Route::ok("text/html; charset=utf-8", "<h1>Welcome to Jamf Pro</h1>"),
    );
    srv.route(
        "/loop-a",
        Route::Redirect {
            status: 302,
            location: "/loop-b".into(),
        },
    );
    srv.route(
        "/loop-b",
        Route::Redirect {
            status: 301,
            location: format!("http://127.0.0.1:{}/loop-a", srv.port()),
        },
    );
    for i in 1..=7 {
        srv.route(
            &format!("/hop{i}"),
            Route::Redirect {
                status: 307,
                location: format!("hop{}", i + 1),
            },
        );
    }
    srv.route("/hop8", Route::ok("text/plain", "end"));
    srv.route(
        "/elsewhere",
        Route::Redirect {
            status: 302,
            location: format!("http://127.0.0.1:{}/final", other.port()),
        },
    );
    other.route("/final", Route::ok("text/plain", "arrived"));
    let p = srv.port();
    let c = config(&[
        flow(
            "ok",
            p,
            r#"path = "/index.html", content_type = "^text/html", body_regex = "Welcome""#,
        ),
        flow("missing", p, r#"path = "/nope""#),
        flow("missing-accepted", p, r#"path = "/nope", status = [404]"#),
        flow("loop", p, r#"path = "/loop-a""#),
        flow("too-many", p, r#"path = "/hop1", max_redirects = 5"#),
        flow("enough", p, r#"path = "/hop4", max_redirects = 5"#),
        flow("elsewhere", p, r#"path = "/elsewhere""#),
        flow(
            "not-followed",
            p,
            r#"path = "/elsewhere", max_redirects = 0, status = ["3xx"]"#,
        ),
        flow(
            "wrong-type",
            p,
            r#"path = "/index.html", content_type = "^application/pkix-crl$""#,
        ),
        flow(
            "wrong-body",
            p,
            r#"path = "/index.html", body_regex = "Goodbye""#,
        ),
        flow(
            "host",
            p,
            r#"path = "/index.html", host_header = "mdm.lab.test""#,
        ),
    ]);
    let r = probe_all(&c).await;
    let reason = |n: &str| (r[n].reason, r[n].detail.clone());
    assert_eq!(reason("ok").0, Reason::Ok, "{}", reason("ok").1);
    assert_eq!(reason("missing").0, Reason::HttpStatus);
    // A status not accepted is a finding on the response, not a failure:
    // the status is in the details, and there is no cause.
    assert_eq!(details(&r["missing"])["status"], 404);
    assert!(r["missing"].cause.is_none(), "{:?}", r["missing"].cause);
    assert_eq!(reason("missing-accepted").0, Reason::Ok);
    assert_eq!(reason("loop").0, Reason::HttpRedirects);
    let loop_a = format!("http://127.0.0.1:{p}/loop-a");
    assert!(
        matches!(http_error(&r["loop"]), Some(HttpError::RedirectLoop { url, .. }) if *url == loop_a),
        "{:?}",
        r["loop"].cause
    );
    assert_eq!(reason("too-many").0, Reason::HttpRedirects);
    assert!(
        matches!(
            http_error(&r["too-many"]),
            Some(HttpError::TooManyRedirects { max: 5, .. })
        ),
        "{:?}",
        r["too-many"].cause
    );
    assert_eq!(reason("enough").0, Reason::Ok, "{}", reason("enough").1);
    assert_eq!(
        reason("elsewhere").0,
        Reason::Ok,
        "{}",
        reason("elsewhere").1
    );
    assert_eq!(reason("not-followed").0, Reason::Ok);
    assert_eq!(reason("wrong-type").0, Reason::HttpContent);
    assert_eq!(reason("wrong-body").0, Reason::HttpContent);
    assert_eq!(reason("host").0, Reason::Ok);

    // Hops are reported, in order, with status and location.
    let d = details(&r["loop"]);
    let hops = d["redirects"].as_array().expect("redirects");
    assert_eq!(hops.len(), 2, "{d}");
    assert_eq!(hops[0]["status"], 302);
    assert_eq!(hops[0]["location"], "/loop-b");
    assert_eq!(hops[1]["status"], 301);
    let d = details(&r["too-many"]);
    assert_eq!(d["redirects"].as_array().map(Vec::len), Some(6), "{d}");
    let d = details(&r["elsewhere"]);
    assert_eq!(
        d["final_url"],
        format!("http://127.0.0.1:{}/final", other.port())
    );
    assert_eq!(d["redirects"].as_array().map(Vec::len), Some(1));
    assert_eq!(d["status"], 200);
    let d = details(&r["ok"]);
    assert!(d["first_byte_seconds"].as_f64().is_some(), "{d}");
    assert!(d["transfer_seconds"].as_f64().is_some(), "{d}");
    assert_eq!(d["content_type"], "text/html; charset=utf-8");
    assert!(r["ok"].phases.get(Phase::Http).is_some());
    assert!(r["ok"].phases.get(Phase::Connect).is_some());
    // Host header: the target by default (with its port), or as configured.
    let hosts: Vec<String> = srv
        .requests()
        .into_iter()
        .filter(|(p, _)| p == "/index.html")
        .map(|(_, h)| h)
        .collect();
    assert!(hosts.contains(&format!("127.0.0.1:{p}")), "{hosts:?}");
    assert!(hosts.contains(&"mdm.lab.test".to_string()), "{hosts:?}");

    // Metrics: the status code and the http phase.
    let text = metrics_text(&c, &r);
    let status = |flow: &str| {
        series(
            &text,
            "flowprobe_http_status_code",
            &[&format!("flow=\"{flow}\"")],
        )
        .first()
        .map(|l| l.rsplit(' ').next().unwrap_or("").to_string())
    };
    assert_eq!(status("ok").as_deref(), Some("200"));
    assert_eq!(status("missing").as_deref(), Some("404"));
    assert_eq!(status("not-followed").as_deref(), Some("302"));
    assert_eq!(
        series(
            &text,
            "flowprobe_probe_duration_seconds",
            &["flow=\"ok\"", "phase=\"http\""]
        )
        .len(),
        1
    );
    assert_eq!(
        series(
            &text,
            "flowprobe_flow_reason",
            &["flow=\"loop\"", "reason=\"http_redirects\""]
        )
        .len(),
        1
    );

    // The API view carries the HTTP facts, and the failure's cause.
    let f = c.flows.iter().find(|f| f.name == "loop").expect("flow");
    let v = serde_json::to_value(FlowView::new(f, Some(r["loop"].clone()))).expect("json");
    assert_eq!(v["check"], "http");
    assert!(v["last"]["attempts"][0]["details"]["redirects"].is_array());
    let cause = serde_json::json!({"stage": "http", "error": "redirect_loop", "url": loop_a});
    assert_eq!(v["last"]["attempts"][0]["cause"], cause);
    assert_eq!(v["last"]["cause"], cause);
    assert!(
        v["last"]["attempts"][0]["details"].get("cause").is_none(),
        "an http flow's cause is the attempt's, not repeated in its details"
    );
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_body_is_cut_at_the_cap_with_bounded_memory() {
    const TOTAL: u64 = 200 * 1000 * 1000;
    let srv = HttpServer::start().await;
    srv.route(
        "/declared",
        Route::Stream {
            total: TOTAL,
            declared: true,
        },
    );
    srv.route(
        "/stream",
        Route::Stream {
            total: TOTAL,
            declared: false,
        },
    );
    let p = srv.port();
    let before = peak_rss_kib();
    // Declared too large: refused before reading a byte.
    let c = config(&[flow("declared", p, r#"path = "/declared""#)]);
    let r = probe_all(&c).await;
    assert_eq!(
        r["declared"].reason,
        Reason::BodyTooLarge,
        "{}",
        r["declared"].detail
    );
    // Refused on its Content-Length, before a byte was read.
    assert!(
        matches!(
            http_error(&r["declared"]),
            Some(HttpError::BodyTooLarge {
                status: 200,
                declared: Some(TOTAL),
                read: 0,
                ..
            })
        ),
        "{:?}",
        r["declared"].cause
    );

    // Undeclared, kept for a body_regex: read up to the 4 MiB cap, then
    // abandoned.
    let c = config(&[flow(
        "stream",
        p,
        r#"path = "/stream", max_body = "4MiB", body_regex = "never""#,
    )]);
    let r = probe_all(&c).await;
    assert_eq!(
        r["stream"].reason,
        Reason::BodyTooLarge,
        "{}",
        r["stream"].detail
    );
    let d = details(&r["stream"]);
    let read = d["body_bytes"].as_u64().expect("body_bytes");
    assert!(
        matches!(
            http_error(&r["stream"]),
            Some(&HttpError::BodyTooLarge {
                declared: None,
                limit: 4194304,
                read: n,
                ..
            }) if n == read
        ),
        "{:?}",
        r["stream"].cause
    );
    assert!(
        read > 4 << 20 && read < (4 << 20) + (1 << 20),
        "stopped at the cap: {read}"
    );
    // The server could not push the 200 MB: the client hung up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let streamed = srv.streamed.load(Ordering::Relaxed);
    assert!(streamed < TOTAL / 4, "server sent {streamed} bytes");
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 48,
        "peak memory grew by {grown_mib} MiB reading a 200 MB body"
    );
}

#[tokio::test]
async fn a_dripping_body_ends_in_timeout_within_the_budget() {
    let srv = HttpServer::start().await;
    srv.route(
        "/drip",
        Route::Drip {
            total: 100,
            every: Duration::from_secs(1),
        },
    );
    let text = format!(
        "catalog = \"none\"\n[targets]\nlo = \"127.0.0.1\"\n{}",
        flow("drip", srv.port(), r#"path = "/drip""#)
            .replace("timeout = \"5s\"", "timeout = \"2s\"")
    );
    let c = config_from(&text);
    let started = std::time::Instant::now();
    let r = probe_all(&c).await;
    let took = started.elapsed();
    assert_eq!(r["drip"].reason, Reason::Timeout, "{}", r["drip"].detail);
    assert!(
        matches!(
            r["drip"].cause.as_deref(),
            Some(Cause::Timeout {
                phase: Some(Phase::Http)
            })
        ),
        "{:?}",
        r["drip"].cause
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(2600),
        "took {took:?} for a 2s budget"
    );
}

#[tokio::test]
async fn a_redirect_to_a_name_is_resolved_through_the_vantage_dns() {
    let Some(dns) = Dns::start(&[("crl.lab.test", "127.0.0.1")]) else {
        if require(false, "dnsmasq") {
            unreachable!();
        }
        return;
    };
    let srv = HttpServer::start().await;
    let other = HttpServer::start().await;
    srv.route(
        "/moved",
        Route::Redirect {
            status: 301,
            location: format!("http://crl.lab.test:{}/DODSWCA_66.crl", other.port()),
        },
    );
    other.route("/DODSWCA_66.crl", Route::ok("application/pkix-crl", "x"));
    let text = format!(
        "catalog = \"none\"\n[targets]\nlo = \"127.0.0.1\"\n[vantage.mobile-devices]\ndns_servers = [\"127.0.0.1:{}\"]\n{}{}",
        dns.port,
        flow("moved", srv.port(), r#"path = "/moved""#),
        flow("moved-nxdomain", srv.port(), r#"path = "/gone""#),
    );
    srv.route(
        "/gone",
        Route::Redirect {
            status: 302,
            location: "http://nothing.lab.test/x.crl".into(),
        },
    );
    let c = config_from(&text);
    let r = probe_all(&c).await;
    assert_eq!(r["moved"].reason, Reason::Ok, "{}", r["moved"].detail);
    assert!(
        r["moved"].phases.get(Phase::Dns).is_some(),
        "the hop's lookup is timed as dns"
    );
    let hosts: Vec<String> = other.requests().into_iter().map(|(_, h)| h).collect();
    assert_eq!(hosts, vec![format!("crl.lab.test:{}", other.port())]);
    assert_eq!(
        r["moved-nxdomain"].reason,
        Reason::DnsNxdomain,
        "{}",
        r["moved-nxdomain"].detail
    );
    // The hop's lookup failed: the cause comes through the HTTP client.
    assert!(
        matches!(
            r["moved-nxdomain"].cause.as_deref(),
            Some(Cause::Dns(flowprobe::net::dns::DnsError::NxDomain { name }))
                if name == "nothing.lab.test"
        ),
        "{:?}",
        r["moved-nxdomain"].cause
    );
}
