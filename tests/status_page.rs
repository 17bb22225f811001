//! The status pages in a real browser: headless Chromium (Debian's
//! `chromium` and `chromium-driver`), driven over WebDriver by fantoccini,
//! against `flowprobe run` probing real loopback servers. One daemon, one
//! browser session, every assertion of the pages:
//!
//! - the overview's rows, their states and reasons as rendered text, grouped
//!   by vantage; a flow that goes down changes its row without a reload;
//! - the filter box and the state filter;
//! - a TLS flow page draws every sent certificate and marks where the path
//!   stops (and, for the full path, the anchor it reaches);
//! - `<script>` in a flow description and in a certificate subject render
//!   as text;
//! - the browser's console has no errors and no request leaves the
//!   daemon's origin (Chrome's own network log);
//! - the page survives a daemon restart (banner, then live again).
//!
//! With `STATUS_PAGE_SCREENSHOTS=DIR` it also writes the README's screenshots
//! (`scripts/screenshots.sh`).

use flowprobe_testkit as support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use rcgen::{CertificateParams, Issuer, KeyPair, PKCS_RSA_SHA256, SanType, SerialNumber};
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};

use support::pki::{Pki, dod_name, pem_all};
use support::servers::{ServerMode, rustls_server};
use support::*;

const XSS_DESC: &str = "<script>window.__xss_desc=1</script> in a description";
const XSS_CN: &str = "<script>window.__xss_cn=1</script>";

/// A leaf whose subject CN is markup, issued by DOD SW CA-66, for 127.0.0.1.
fn hostile_leaf(pki: &Pki) -> CertificateDer<'static> {
    let ca_key = KeyPair::from_pkcs8_pem_and_sign_algo(&pki.ca66_key_pem, &PKCS_RSA_SHA256)
        .expect("CA-66 key");
    // CA-66's name and key are all a signer needs (rcgen derives the
    // authority key identifier from the key).
    let mut ca = CertificateParams::default();
    ca.distinguished_name = dod_name("DOD SW CA-66");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::from_pkcs8_pem_and_sign_algo(&pki.leaf_key_pem, &PKCS_RSA_SHA256)
        .expect("leaf key");
    let mut params = CertificateParams::default();
    params.distinguished_name = dod_name(XSS_CN);
    params.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
    params.serial_number = Some(SerialNumber::from(0x6666u64));
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params
        .signed_by(&leaf_key, &issuer)
        .expect("hostile leaf")
        .der()
        .clone()
}

struct Ports {
    good: u16,
    stops: u16,
    hostile: Option<u16>,
    refused: u16,
    forbidden: u16,
}

fn config(anchor: &Path, p: &Ports) -> String {
    let tls = |name: &str, from: &str, port: u16, sni: &str, desc: &str| {
        format!(
            r#"
[[flow]]
name = "{name}"
from = "{from}"
to = "mdm"
port = {port}
check = "tls"
interval = "1s"
timeout = "900ms"
description = "{desc}"
tls = {{ trust = ["fcpca-g2"]{sni} }}
"#
        )
    };
    let sni = r#", server_name = "mdm.lab.test""#;
    let mut text = format!(
        r#"
catalog = "none"
[vantage.mobile-devices]
[vantage.administrators]
[targets]
mdm = "127.0.0.1"
[trust.fcpca-g2]
anchors = ["{anchor}"]
[[flow]]
name = "admin-mdm-ssh"
from = "administrators"
to = "mdm"
port = {refused}
interval = "1s"
timeout = "500ms"
description = "Administrators -> MDM server 22 (SSH), STIG Table 1-2"
[[flow]]
name = "mobile-mdm-ssh-forbidden"
from = "mobile-devices"
to = "mdm"
port = {forbidden}
expect = "closed"
interval = "1s"
timeout = "500ms"
severity = "warning"
description = "Mobile devices must not reach the MDM's SSH"
"#,
        anchor = anchor.display(),
        refused = p.refused,
        forbidden = p.forbidden,
    );
    text += &tls(
        "mobile-mdm-https",
        "mobile-devices",
        p.good,
        sni,
        "Mobile devices -> MDM server 443 (HTTPS), STIG Table 1-2",
    );
    text += &tls(
        "admin-mdm-https-alt",
        "administrators",
        p.stops,
        sni,
        "Administrators -> MDM server 8443 (HTTPS-alt, Jamf Pro admin), STIG Table 1-2",
    );
    if let Some(port) = p.hostile {
        text += &tls("hostile-names", "administrators", port, "", XSS_DESC);
    }
    text
}

/// The daemon on a fixed address (so a restart comes back where the page
/// polls), killed on drop.
fn start_daemon(cfg: &Path, addr: &str) -> Proc {
    let log_path = cfg.with_extension("log");
    let log = std::fs::File::create(&log_path).expect("daemon log");
    let mut child = Proc::spawn(
        Command::new(bin())
            .args(["run", "--config"])
            .arg(cfg)
            .args(["--listen", addr])
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log),
    );
    let ready = wait_for(Duration::from_secs(20), || {
        http("GET", addr, "/-/ready").filter(|(s, _)| *s == 200)
    });
    if ready.is_none() {
        let _ = child.0.kill();
        panic!(
            "daemon not ready; its log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    }
    child
}

/// One JSON request to chromedriver (for what WebDriver has no command
/// for: Chrome's browser and network logs).
fn driver_post(port: u16, path: &str, body: &Value) -> Value {
    let body = body.to_string();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("chromedriver");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    // chromedriver keeps the connection open: read by Content-Length.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let (head_len, body_len) = loop {
        let n = s.read(&mut chunk).expect("read");
        assert!(n > 0, "chromedriver closed mid-response");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .expect("Content-Length");
            break (end + 4, len);
        }
    };
    while buf.len() < head_len + body_len {
        let n = s.read(&mut chunk).expect("read");
        assert!(n > 0, "chromedriver closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    serde_json::from_slice(&buf[head_len..head_len + body_len]).expect("chromedriver JSON")
}

/// Entries of a Chrome log (`browser` or `performance`) since the last read.
async fn log(c: &Client, port: u16, kind: &str) -> Vec<Value> {
    let id = c.session_id().await.expect("session").expect("session id");
    let v = driver_post(
        port,
        &format!("/session/{id}/se/log"),
        &json!({ "type": kind }),
    );
    v["value"].as_array().cloned().unwrap_or_default()
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect(script)
}

async fn row_text(c: &Client, name: &str) -> String {
    js(
        c,
        &format!(
            "const r = document.querySelector('tr.flow[data-name=\"{name}\"]'); return r ? r.innerText : '';"
        ),
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

async fn visible_rows(c: &Client) -> Vec<String> {
    let v = js(
        c,
        "return [...document.querySelectorAll('tr.flow')].filter(r => r.offsetParent !== null).map(r => r.dataset.name).sort();",
    )
    .await;
    serde_json::from_value(v).expect("names")
}

/// Poll the page (not the daemon) until `f` holds.
async fn eventually(c: &Client, what: &str, limit: Duration, script: &str) {
    let end = Instant::now() + limit;
    loop {
        if js(c, script).await.as_bool() == Some(true) {
            return;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn screenshot(c: &Client, dir: &Path, name: &str, width: u32, height: u32) {
    c.set_window_size(width, height).await.expect("window size");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(name), png).expect("write screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_pages_in_headless_chromium() {
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        require(
            false,
            "chromium and chromedriver (Debian packages chromium, chromium-driver; scripts/install-deps.sh)",
        );
        return;
    };
    let shots: Option<PathBuf> = std::env::var_os("STATUS_PAGE_SCREENSHOTS").map(PathBuf::from);

    let pki = Pki::new();
    let dir = tempdir();
    let anchor = dir.path().join("fcpca-g2.pem");
    std::fs::write(&anchor, pem_all(&[&pki.fcpca])).expect("anchor");
    let good = rustls_server(pki.full_path(), pki.leaf_key(), ServerMode::Default, None).await;
    let stops = rustls_server(pki.dod_path(), pki.leaf_key(), ServerMode::Default, None).await;
    // Screenshots show a plausible deployment, not the hostile case.
    let hostile = if shots.is_none() {
        let chain = vec![
            hostile_leaf(&pki),
            pki.ca66.clone(),
            pki.dod_root_cross.clone(),
        ];
        Some(rustls_server(chain, pki.leaf_key(), ServerMode::Default, None).await)
    } else {
        None
    };
    let ports = Ports {
        good: good.addr.port(),
        stops: stops.addr.port(),
        hostile: hostile.as_ref().map(|h| h.addr.port()),
        refused: free_port(),
        forbidden: free_port(),
    };
    let cfg = write(dir.path(), "flowprobe.toml", &config(&anchor, &ports));
    let addr = format!("127.0.0.1:{}", free_port());
    let origin = format!("http://{addr}");
    let mut daemon = start_daemon(&cfg, &addr);

    // chromedriver and its Chromium die with the guard.
    let driver_port = free_port();
    let _driver = Proc::spawn(
        Command::new(driver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for(Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", driver_port)).ok()
    })
    .expect("chromedriver listening");
    let profile = tempdir();
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("WebDriver session");

    // ---- overview: rows, states, reasons, grouping ----
    c.goto(&format!("{origin}/")).await.expect("overview");
    let vantages: Vec<String> = serde_json::from_value(
        js(
            &c,
            "return [...document.querySelectorAll('section.vantage h2 .vname')].map(e => e.textContent);",
        )
        .await,
    )
    .expect("vantages");
    assert_eq!(vantages, ["administrators", "mobile-devices"]);
    let expect_row = |text: &str, state: &str, reason: &str| {
        assert!(
            text.contains(state) && text.contains(reason),
            "want {state} {reason} in {text:?}"
        );
    };
    expect_row(&row_text(&c, "mobile-mdm-https").await, "UP", "ok");
    expect_row(
        &row_text(&c, "admin-mdm-https-alt").await,
        "DOWN",
        "chain_incomplete",
    );
    expect_row(&row_text(&c, "admin-mdm-ssh").await, "DOWN", "refused");
    let forbidden = row_text(&c, "mobile-mdm-ssh-forbidden").await;
    expect_row(&forbidden, "UP", "refused");
    assert!(forbidden.contains("closed, as required"), "{forbidden}");
    let counts = js(&c, "return document.getElementById('counts').innerText;").await;
    let counts = counts.as_str().unwrap_or_default();
    let down = if shots.is_some() { 2 } else { 3 };
    assert!(counts.contains(&format!("{down} down")), "{counts}");
    assert!(counts.contains("2 up"), "{counts}");

    // ---- escaping: the description is text, not markup ----
    if shots.is_none() {
        let desc = js(
            &c,
            "return document.querySelector('tr.flow[data-name=\"hostile-names\"] .desc').textContent;",
        )
        .await;
        assert_eq!(desc.as_str(), Some(XSS_DESC));
        let scripts = js(&c, "return document.querySelectorAll('script').length;").await;
        assert_eq!(scripts, json!(1), "only the page's own script element");
        assert_eq!(
            js(&c, "return window.__xss_desc === undefined;").await,
            json!(true)
        );
    }

    // ---- filter ----
    let filter = c.find(Locator::Id("filter")).await.expect("filter box");
    filter.send_keys("forbidden").await.expect("type");
    assert_eq!(visible_rows(&c).await, ["mobile-mdm-ssh-forbidden"]);
    filter.clear().await.expect("clear");
    filter
        .send_keys("administrators refused")
        .await
        .expect("type");
    assert_eq!(visible_rows(&c).await, ["admin-mdm-ssh"]);
    filter.clear().await.expect("clear");
    // `clear` fires no input event: one keystroke and its deletion do.
    filter.send_keys(" ").await.expect("type");
    let state = c.find(Locator::Id("state-filter")).await.expect("state");
    state.select_by_value("down").await.expect("select");
    let mut want_down = vec!["admin-mdm-https-alt", "admin-mdm-ssh"];
    if shots.is_none() {
        want_down.push("hostile-names");
    }
    assert_eq!(visible_rows(&c).await, want_down);
    let shown = js(&c, "return document.getElementById('shown').textContent;").await;
    assert!(
        shown
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("{down} of ")),
        "{shown}"
    );
    state.select_by_value("").await.expect("select");
    assert_eq!(
        visible_rows(&c).await.len(),
        if shots.is_some() { 4 } else { 5 }
    );

    // ---- live: a flow goes down, its row changes without a reload ----
    js(&c, "window.__same_document = 42; return true;").await;
    drop(good);
    eventually(
        &c,
        "mobile-mdm-https to go down on the page",
        Duration::from_secs(20),
        "const r = document.querySelector('tr.flow[data-name=\"mobile-mdm-https\"]'); \
         return r.classList.contains('down') && r.innerText.includes('DOWN') && r.innerText.includes('refused');",
    )
    .await;
    assert_eq!(
        js(&c, "return window.__same_document;").await,
        json!(42),
        "the row changed in the same document (no reload)"
    );
    let strip = js(
        &c,
        "const r = document.querySelector('tr.flow[data-name=\"mobile-mdm-https\"]'); \
         return [r.querySelectorAll('.strip .h.up').length, r.querySelectorAll('.strip .h.down').length];",
    )
    .await;
    let strip: (usize, usize) = serde_json::from_value(strip).expect("strip");
    assert!(
        strip.0 >= 1 && strip.1 >= 1,
        "history shows up then down: {strip:?}"
    );
    let problems = js(
        &c,
        "return document.getElementById('problem-list').innerText;",
    )
    .await;
    assert!(
        problems
            .as_str()
            .unwrap_or_default()
            .contains("mobile-mdm-https"),
        "{problems}"
    );
    if let Some(d) = &shots {
        tokio::time::sleep(Duration::from_secs(3)).await;
        screenshot(&c, d, "status-overview.png", 1280, 1100).await;
        screenshot(&c, d, "status-overview-narrow.png", 320, 1400).await;
        c.set_window_size(1280, 1000).await.expect("window size");
    }

    // ---- flow page: the path that stops at DoD Root CA 3 ----
    c.goto(&format!("{origin}/flow/administrators/admin-mdm-https-alt"))
        .await
        .expect("flow page");
    let drawn = js(
        &c,
        "return [...new Set([...document.querySelectorAll('section.store li.cert')].map(e => Number(e.dataset.position)))].sort();",
    )
    .await;
    assert_eq!(drawn, json!([0, 1, 2]), "every sent certificate is drawn");
    let on_path = js(
        &c,
        "return document.querySelectorAll('section.store ol.path:not(.extras) li.cert').length;",
    )
    .await;
    assert_eq!(on_path, json!(3));
    let stop = js(
        &c,
        "const s = document.querySelector('section.store ol.path li.stop'); \
         const prev = s && s.previousElementSibling; \
         return s ? [s.innerText, prev.querySelector('.cn').innerText] : null;",
    )
    .await;
    let (stop_text, last_cn): (String, String) =
        serde_json::from_value(stop).expect("a stop marker");
    assert!(
        stop_text.to_lowercase().contains("path stops here")
            && stop_text.contains("Not sent: the certificate of CN=DoD Interoperability Root CA 2"),
        "the stop names the missing issuer: {stop_text}"
    );
    assert!(
        last_cn.contains("DoD Root CA 3"),
        "the path stops after {last_cn}"
    );
    let head = js(&c, "return document.getElementById('flowhead').innerText;").await;
    assert!(
        head.as_str()
            .unwrap_or_default()
            .contains("chain_incomplete"),
        "{head}"
    );
    let repro = js(&c, "return document.getElementById('repro').innerText;").await;
    assert_eq!(
        repro.as_str(),
        Some(
            format!(
                "flowprobe check --config {} --vantage administrators --flow admin-mdm-https-alt",
                cfg.display()
            )
            .as_str()
        )
    );
    if let Some(d) = &shots {
        screenshot(&c, d, "status-flow-tls.png", 1280, 2300).await;
        c.set_window_size(1280, 1000).await.expect("window size");
    }

    // ---- flow page: the hostile subject is text ----
    if shots.is_none() {
        c.goto(&format!("{origin}/flow/administrators/hostile-names"))
            .await
            .expect("hostile flow page");
        let subject = js(
            &c,
            "return document.querySelector('li.cert[data-position=\"0\"] .cn').innerText;",
        )
        .await;
        assert!(
            subject.as_str().unwrap_or_default().contains(XSS_CN),
            "{subject}"
        );
        assert_eq!(
            js(&c, "return document.querySelectorAll('script').length;").await,
            json!(1)
        );
        assert_eq!(
            js(&c, "return window.__xss_cn === undefined;").await,
            json!(true)
        );
    }

    // ---- no console errors, no request off the origin ----
    let errors: Vec<Value> = log(&c, driver_port, "browser")
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let mut requests = 0;
    for entry in log(&c, driver_port, "performance").await {
        let Some(msg) = entry["message"].as_str() else {
            continue;
        };
        let Ok(msg) = serde_json::from_str::<Value>(msg) else {
            continue;
        };
        if msg["message"]["method"] == "Network.requestWillBeSent" {
            let params = &msg["message"]["params"];
            let url = params["request"]["url"].as_str().unwrap_or_default();
            let document = params["documentURL"].as_str().unwrap_or_default();
            let ours = format!("{origin}/");
            // Chromium's own start page loads chrome:// resources; no
            // network request to anywhere but the daemon may happen at all,
            // and our pages load nothing but the daemon's URLs.
            let network = ["http:", "https:", "ws:", "wss:"]
                .iter()
                .any(|s| url.starts_with(s));
            assert!(
                url.starts_with(&ours) || (!network && !document.starts_with(&ours)),
                "a request left the origin: {url} (from {document})"
            );
            if document.starts_with(&ours) {
                requests += 1;
            }
        }
    }
    assert!(
        requests >= 6,
        "the network log saw the page's requests ({requests})"
    );

    // ---- the page keeps working across a daemon restart ----
    c.goto(&format!("{origin}/")).await.expect("overview");
    drop(daemon);
    eventually(
        &c,
        "the unreachable banner",
        Duration::from_secs(20),
        "const b = document.getElementById('offline'); return !b.hidden && b.innerText.includes('Cannot reach');",
    )
    .await;
    let stops_port = ports.stops;
    daemon = start_daemon(&cfg, &addr);
    eventually(
        &c,
        "the page to come back live",
        Duration::from_secs(30),
        "return document.getElementById('offline').hidden && \
         document.getElementById('updated').textContent.startsWith('updated');",
    )
    .await;
    assert!(
        row_text(&c, "admin-mdm-https-alt")
            .await
            .contains("chain_incomplete"),
        "rows are filled again after the restart (port {stops_port})"
    );

    c.close().await.expect("close session");
    drop(daemon);
    drop(stops);
    drop(hostile);
}
