//! `check = "crl"` end to end: a TLS server on one loopback port presents
//! the test PKI's path (every certificate names
//! `http://crl.lab.test/<CA>.crl`), CRL servers on other ports serve CRLs
//! generated here for that PKI, and each crl flow discovers the URLs from
//! the TLS flow's captured chain (`from_flow`), rewrites them to its own
//! target and port, and judges what it fetches.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use flowprobe::metrics::Metrics;
use flowprobe::outcome::Reason;
use flowprobe::probe::ProbeReport;
use flowprobe::state::State;
use support::httpd::{HttpServer, Route};
use support::pki::{Ca, CrlOptions, Pki, crl, crl_pem};
use support::servers::{Server, ServerMode, rustls_server};
use support::*;

const DAY: i64 = 86_400;

/// A CRL server answering every CA's CRL path, fresh unless overridden.
async fn crl_server(overrides: Vec<(Ca, Route)>) -> HttpServer {
    let srv = HttpServer::start().await;
    for ca in Ca::ALL {
        srv.route(&ca.crl_path(), Route::crl(crl(ca, &CrlOptions::default())));
    }
    for (ca, route) in overrides {
        srv.route(&ca.crl_path(), route);
    }
    srv
}

/// CA-66's CRL expired a day ago; the others are fresh.
async fn stale_ca66_crl_server() -> HttpServer {
    crl_server(vec![(
        Ca::Ca66,
        Route::crl(crl(
            Ca::Ca66,
            &CrlOptions {
                this_update: -8 * DAY,
                next_update: -DAY,
                ..CrlOptions::default()
            },
        )),
    )])
    .await
}

struct Lab {
    _dir: tempfile::TempDir,
    _tls: Server,
    head: String,
}

impl Lab {
    async fn new() -> Lab {
        let pki = Pki::new();
        let dir = tempdir();
        let pem = pki.write_pem(dir.path());
        let tls = rustls_server(pki.full_path(), pki.leaf_key(), ServerMode::Default, None).await;
        let head = format!(
            r#"
catalog = "none"
[trust.fcpca-g2]
anchors = ["{fcpca}"]
[trust.dod]
anchors = ["{dod}"]
[targets]
lo = "127.0.0.1"
[[flow]]
name = "mdm-https"
from = "mobile-devices"
to = "lo"
port = {tls}
check = "tls"
tls = {{ trust = ["fcpca-g2", "dod"], server_name = "mdm.lab.test" }}
"#,
            fcpca = pem.fcpca_anchor.display(),
            dod = pem.dod_anchor.display(),
            tls = tls.addr.port(),
        );
        Lab {
            _dir: dir,
            _tls: tls,
            head,
        }
    }

    fn crl_flow(name: &str, port: u16, extra: &str) -> String {
        format!(
            r#"
[[flow]]
name = "{name}"
from = "mobile-devices"
to = "lo"
port = {port}
check = "crl"
crl = {{ from_flow = "mdm-https", rewrite = true{extra} }}
"#
        )
    }
}

fn series<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .collect()
}

fn value(line: Option<&&str>) -> Option<f64> {
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

fn crls(r: &ProbeReport) -> Vec<serde_json::Value> {
    let d = serde_json::to_value(&r.attempts[0].facts).expect("json");
    d["crls"].as_array().cloned().unwrap_or_default()
}

fn crl_of<'a>(list: &'a [serde_json::Value], path: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|c| c["url"].as_str().is_some_and(|u| u.ends_with(path)))
        .unwrap_or_else(|| panic!("no CRL entry for {path}: {list:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crls_discovered_from_the_tls_chain_are_fetched_and_judged() {
    let lab = Lab::new().await;
    let ca66 = Ca::Ca66.crl_path();
    let fresh = crl_server(vec![]).await;
    let stale = stale_ca66_crl_server().await;
    let near = crl_server(vec![(
        Ca::Ca66,
        Route::crl(crl(
            Ca::Ca66,
            &CrlOptions {
                next_update: 1800,
                ..CrlOptions::default()
            },
        )),
    )])
    .await;
    let wrong_key = crl_server(vec![(
        Ca::Ca66,
        Route::crl(crl(
            Ca::Ca66,
            &CrlOptions {
                wrong_key: true,
                ..CrlOptions::default()
            },
        )),
    )])
    .await;
    let revoked = crl_server(vec![(
        Ca::Ca66,
        Route::crl(crl(
            Ca::Ca66,
            &CrlOptions {
                revoked: vec![0x1234, 0x6001],
                ..CrlOptions::default()
            },
        )),
    )])
    .await;
    // The CA-66 path is not served: 404.
    let missing = HttpServer::start().await;
    for ca in Ca::ALL.into_iter().filter(|c| *c != Ca::Ca66) {
        missing.route(&ca.crl_path(), Route::crl(crl(ca, &CrlOptions::default())));
    }
    let html = crl_server(vec![(
        Ca::Ca66,
        Route::ok(
            "text/html",
            "<!DOCTYPE html><html><body>Jamf Pro login</body></html>",
        ),
    )])
    .await;
    let looping = crl_server(vec![(
        Ca::Ca66,
        Route::Redirect {
            status: 302,
            location: ca66.clone(),
        },
    )])
    .await;
    let pem = crl_server(vec![(
        Ca::Ca66,
        Route::ok(
            "application/x-pem-file",
            crl_pem(&crl(Ca::Ca66, &CrlOptions::default())),
        ),
    )])
    .await;
    // The leaf's distribution point answers with another CA's CRL: fresh
    // and verified, but it says nothing of the server certificate.
    let other = crl_server(vec![(
        Ca::Ca66,
        Route::crl(crl(Ca::DodRoot, &CrlOptions::default())),
    )])
    .await;
    let c = config_from(&format!(
        "{}{}{}{}{}{}{}{}{}{}{}{}{}",
        lab.head,
        Lab::crl_flow("leaf-not-covered", other.port(), ""),
        Lab::crl_flow("fresh", fresh.port(), ""),
        Lab::crl_flow("stale", stale.port(), ""),
        Lab::crl_flow("near", near.port(), ""),
        Lab::crl_flow("near-small-margin", near.port(), ", stale_margin = \"10m\""),
        Lab::crl_flow("wrong-key", wrong_key.port(), ""),
        Lab::crl_flow("revoked", revoked.port(), ""),
        Lab::crl_flow("missing", missing.port(), ""),
        Lab::crl_flow("html", html.port(), ""),
        Lab::crl_flow("loop", looping.port(), ""),
        Lab::crl_flow("pem", pem.port(), ""),
        Lab::crl_flow("no-fcpca-anchor", fresh.port(), ", trust = [\"dod\"]"),
    ));
    let r = probe_all(&c).await;
    let reason = |n: &str| r[n].reason;
    assert_eq!(reason("mdm-https"), Reason::Ok, "{}", r["mdm-https"].detail);
    assert_eq!(
        reason("fresh"),
        Reason::Ok,
        "{:?}",
        r["fresh"].findings().collect::<Vec<_>>()
    );
    assert_eq!(reason("stale"), Reason::CrlStale);
    assert_eq!(
        reason("near"),
        Reason::CrlStale,
        "within the default 1h margin"
    );
    assert_eq!(reason("near-small-margin"), Reason::Ok);
    assert_eq!(reason("wrong-key"), Reason::CrlInvalid);
    assert_eq!(reason("revoked"), Reason::Revoked);
    assert_eq!(reason("missing"), Reason::HttpStatus);
    assert_eq!(reason("html"), Reason::CrlInvalid);
    assert_eq!(reason("loop"), Reason::HttpRedirects);
    assert_eq!(
        reason("pem"),
        Reason::Ok,
        "{:?}",
        r["pem"].findings().collect::<Vec<_>>()
    );
    assert_eq!(reason("no-fcpca-anchor"), Reason::CrlInvalid);
    assert_eq!(reason("leaf-not-covered"), Reason::CrlMissing);
    assert!(!r["leaf-not-covered"].up);
    let f: Vec<String> = r["leaf-not-covered"]
        .findings()
        .filter(|f| f.level == flowprobe::outcome::Level::Fail)
        .map(|f| f.detail.clone())
        .collect();
    assert!(
        f.len() == 1 && f[0].starts_with("server certificate") && f[0].contains("DOD SW CA-66"),
        "only the leaf is not covered: {f:?}"
    );
    for n in ["fresh", "near-small-margin", "pem"] {
        assert!(r[n].up, "{n}");
    }

    // Discovery: one CRL per distinct distribution point of the five sent
    // certificates, fetched from the flow's own target and port.
    let list = crls(&r["fresh"]);
    assert_eq!(list.len(), 5, "{list:?}");
    let leaf_crl = crl_of(&list, &ca66);
    assert_eq!(
        leaf_crl["url"],
        format!("http://crl.lab.test{ca66}"),
        "as found in the leaf"
    );
    assert_eq!(
        leaf_crl["http"]["url"],
        format!("http://127.0.0.1:{}{ca66}", fresh.port()),
        "rewritten to the flow's target and port"
    );
    assert_eq!(leaf_crl["source"], "discovered");
    assert_eq!(leaf_crl["listed_by"], serde_json::json!([0]));
    assert_eq!(leaf_crl["crl"]["issuer_cn"], "DOD SW CA-66");
    assert_eq!(leaf_crl["crl"]["signature_valid"], true);
    assert_eq!(leaf_crl["crl"]["covers"], serde_json::json!([0]));
    assert!(
        leaf_crl["crl"]["signer"]
            .as_str()
            .is_some_and(|s| s.contains("chain position 1"))
    );
    let top = crl_of(&list, &Ca::Fcpca.crl_path());
    assert!(
        top["crl"]["signer"]
            .as_str()
            .is_some_and(|s| s.contains("trust store fcpca-g2")),
        "the anchor's CRL is verified with the inherited trust store: {top}"
    );
    let hosts: Vec<String> = fresh.requests().into_iter().map(|(_, h)| h).collect();
    assert!(
        hosts
            .iter()
            .all(|h| *h == format!("127.0.0.1:{}", fresh.port()))
    );

    // Verdict facts.
    let f: Vec<String> = r["revoked"].findings().map(|f| f.detail.clone()).collect();
    assert!(
        f[0].contains("position 0") && f[0].contains("6001"),
        "revoked names the leaf's position and serial: {f:?}"
    );
    let f: Vec<String> = r["stale"].findings().map(|f| f.detail.clone()).collect();
    assert!(f[0].contains("expired"), "{f:?}");
    let f: Vec<String> = r["wrong-key"]
        .findings()
        .map(|f| f.detail.clone())
        .collect();
    assert!(f[0].contains("signature does not verify"), "{f:?}");
    let f: Vec<String> = r["html"].findings().map(|f| f.detail.clone()).collect();
    assert!(f[0].contains("markup"), "{f:?}");
    let f: Vec<String> = r["no-fcpca-anchor"]
        .findings()
        .map(|f| f.detail.clone())
        .collect();
    assert!(f[0].contains("Federal Common Policy CA G2"), "{f:?}");

    // Metrics per (flow, issuer CN).
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let state = State::new(Arc::clone(&metrics));
    let mut slots = BTreeMap::new();
    for p in flowprobe::probe::plan::prepare(&c).expect("prepare") {
        let slot = state.make_slot(Arc::clone(&p));
        slots.insert(p.flow.name.clone(), slot);
    }
    for (name, slot) in &slots {
        state.record(slot, r[name].clone());
    }
    let text = String::from_utf8(metrics.encode()).expect("utf8");
    let ca66_series = |metric: &str, flow: &str| {
        value(
            series(
                &text,
                metric,
                &[&format!("flow=\"{flow}\""), "issuer_cn=\"DOD SW CA-66\""],
            )
            .first(),
        )
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as f64;
    for metric in [
        "flowprobe_crl_this_update_timestamp_seconds",
        "flowprobe_crl_next_update_timestamp_seconds",
        "flowprobe_crl_entries",
        "flowprobe_crl_bytes",
        "flowprobe_crl_signature_valid",
    ] {
        assert_eq!(
            series(&text, metric, &["flow=\"fresh\""]).len(),
            5,
            "{metric}: one per issuer"
        );
    }
    let next = ca66_series("flowprobe_crl_next_update_timestamp_seconds", "fresh").expect("next");
    assert!((next - (now + 7.0 * DAY as f64)).abs() < 120.0, "{next}");
    let next = ca66_series("flowprobe_crl_next_update_timestamp_seconds", "stale").expect("next");
    assert!(next < now, "the stale CRL's date is exported as it is");
    assert_eq!(ca66_series("flowprobe_crl_entries", "revoked"), Some(2.0));
    assert!(ca66_series("flowprobe_crl_bytes", "fresh").is_some_and(|b| b > 300.0));
    assert_eq!(
        ca66_series("flowprobe_crl_signature_valid", "fresh"),
        Some(1.0)
    );
    assert_eq!(
        ca66_series("flowprobe_crl_signature_valid", "wrong-key"),
        Some(0.0)
    );
    assert_eq!(
        value(
            series(
                &text,
                "flowprobe_crl_revoked",
                &[
                    "flow=\"revoked\"",
                    "issuer_cn=\"DOD SW CA-66\"",
                    "position=\"0\""
                ]
            )
            .first()
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            series(
                &text,
                "flowprobe_crl_revoked",
                &[
                    "flow=\"fresh\"",
                    "issuer_cn=\"DOD SW CA-66\"",
                    "position=\"0\""
                ]
            )
            .first()
        ),
        Some(0.0),
        "a covered position that is not listed is 0"
    );
    // A CRL that could not be parsed has no series at all: no sentinels.
    for flow in ["html", "missing", "loop"] {
        assert_eq!(
            ca66_series("flowprobe_crl_next_update_timestamp_seconds", flow),
            None,
            "{flow}"
        );
        assert_eq!(
            series(
                &text,
                "flowprobe_crl_this_update_timestamp_seconds",
                &[&format!("flow=\"{flow}\"")]
            )
            .len(),
            4,
            "{flow}: the other four CRLs still have their dates"
        );
    }
    assert_eq!(
        value(series(&text, "flowprobe_http_status_code", &["flow=\"missing\""]).first()),
        Some(404.0)
    );
    assert_eq!(
        value(series(&text, "flowprobe_http_status_code", &["flow=\"fresh\""]).first()),
        Some(200.0)
    );
    assert_eq!(
        series(
            &text,
            "flowprobe_flow_reason",
            &["flow=\"revoked\"", "reason=\"revoked\""]
        )
        .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_crl_servers_are_capped_and_timed_out() {
    let lab = Lab::new().await;
    let big = crl_server(vec![(
        Ca::Ca66,
        Route::Stream {
            total: 200 * 1000 * 1000,
            declared: false,
        },
    )])
    .await;
    let drip = crl_server(vec![(
        Ca::Ca66,
        Route::Drip {
            total: 100,
            every: Duration::from_secs(1),
        },
    )])
    .await;
    let text = format!(
        "{}{}{}",
        lab.head,
        Lab::crl_flow("big", big.port(), ", max_size = \"4MiB\""),
        Lab::crl_flow("drip", drip.port(), "")
            .replace("check = \"crl\"", "check = \"crl\"\ntimeout = \"2s\""),
    );
    let c = config_from(&text);
    let started = std::time::Instant::now();
    let r = probe_all(&c).await;
    assert_eq!(r["big"].reason, Reason::BodyTooLarge, "{}", r["big"].detail);
    let entry = crl_of(&crls(&r["big"]), &Ca::Ca66.crl_path()).clone();
    assert!(
        entry["http"]["body_bytes"]
            .as_u64()
            .is_some_and(|b| b > 4 << 20 && b < 5 << 20),
        "{entry}"
    );
    // The failed fetch is a finding; its cause is in the CRL's facts.
    let cause = &entry["http"]["cause"];
    assert_eq!(
        (
            &cause["stage"],
            &cause["error"],
            &cause["limit"],
            &cause["declared"]
        ),
        (
            &serde_json::json!("http"),
            &serde_json::json!("body_too_large"),
            &serde_json::json!(4 << 20),
            &serde_json::Value::Null
        ),
        "{entry}"
    );
    assert_eq!(cause["read"], entry["http"]["body_bytes"], "{entry}");
    assert!(
        big.streamed.load(std::sync::atomic::Ordering::Relaxed) < 100 * 1000 * 1000,
        "the client hung up at the cap"
    );
    assert_eq!(r["drip"].reason, Reason::Timeout, "{}", r["drip"].detail);
    let total = r["drip"]
        .phases
        .get(flowprobe::probe::Phase::Total)
        .expect("total");
    assert!(
        total >= Duration::from_secs(2) && total < Duration::from_millis(2600),
        "{total:?} for a 2s budget"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn without_a_captured_chain_the_crl_flow_says_crl_missing() {
    let closed = free_port();
    let srv = crl_server(vec![]).await;
    let text = format!(
        r#"
catalog = "none"
[targets]
lo = "127.0.0.1"
[[flow]]
name = "mdm-https"
from = "mobile-devices"
to = "lo"
port = {closed}
check = "tls"
{crl}{closed_crl}"#,
        crl = Lab::crl_flow("crl", srv.port(), ""),
        closed_crl = Lab::crl_flow("crl-port-closed", free_port(), ""),
    );
    let c = config_from(&text);
    let r = probe_all(&c).await;
    assert_eq!(r["mdm-https"].reason, Reason::Refused);
    assert_eq!(r["crl"].reason, Reason::CrlMissing, "{}", r["crl"].detail);
    assert_eq!(
        r["crl-port-closed"].reason,
        Reason::Refused,
        "a closed port 80 says so before crl_missing"
    );
}

/// `flowprobe check` runs the crl flow after its TLS source (listed after
/// it here), so discovery works on the one round; a stale CRL fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flowprobe_check_orders_crl_flows_after_their_tls_source() {
    let lab = Lab::new().await;
    let fresh = crl_server(vec![]).await;
    let stale = stale_ca66_crl_server().await;
    let dir = tempdir();
    // The crl flow comes first in the file: check must still run it second.
    let (head, tls_flow) = lab.head.split_at(lab.head.find("[[flow]]").expect("flow"));
    let write_cfg = |name: &str, port: u16| {
        write(
            dir.path(),
            name,
            &format!(
                "{head}{}{tls_flow}",
                Lab::crl_flow("mobile-mdm-crl", port, "")
            ),
        )
    };
    let run = |cfg: std::path::PathBuf, output: &'static str| async move {
        let out = tokio::process::Command::new(bin())
            .args(["check", "--config"])
            .arg(&cfg)
            .args(["--output", output])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run flowprobe check");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, json) = run(write_cfg("fresh.toml", fresh.port()), "json").await;
    assert_eq!(code, Some(0), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let flow = v["flows"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "mobile-mdm-crl"))
        .expect("crl flow");
    let list = flow["last"]["attempts"][0]["details"]["crls"]
        .as_array()
        .expect("crls");
    assert_eq!(list.len(), 5);
    for c in list {
        assert_eq!(c["reason"], "ok", "{c}");
        for k in ["issuer", "this_update", "next_update", "entries"] {
            assert!(!c["crl"][k].is_null(), "{k} in {c}");
        }
        assert!(c["http"]["body_bytes"].as_u64().is_some_and(|b| b > 0));
    }

    let (code, table) = run(write_cfg("fresh.toml", fresh.port()), "table").await;
    assert_eq!(code, Some(0), "{table}");
    let lines: Vec<&str> = table
        .lines()
        .filter(|l| l.trim_start().starts_with("crl "))
        .collect();
    assert_eq!(lines.len(), 5, "one line per CRL: {table}");
    assert!(lines.iter().all(|l| l.ends_with(": ok")), "{table}");
    eprintln!("{table}");

    // Only the crl flow selected: its source still runs, unreported.
    let out = tokio::process::Command::new(bin())
        .args(["check", "--flow", "mobile-mdm-crl", "--config"])
        .arg(dir.path().join("fresh.toml"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run flowprobe check --flow");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("1 flows, 1 pass") && !text.contains("mdm-https"),
        "{text}"
    );

    let (code, table) = run(write_cfg("stale.toml", stale.port()), "table").await;
    assert_eq!(code, Some(1), "{table}");
    assert!(table.contains("crl_stale"), "{table}");
    assert!(
        table.contains("crl DOD SW CA-66: http://127.0.0.1:") && table.contains("/DODSWCA_66.crl"),
        "each CRL is listed with issuer and URL: {table}"
    );
    eprintln!("{table}");
}
