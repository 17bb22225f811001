//! The TLS protocol enumeration (`protocol_policy`): bare ClientHellos per
//! version and weak suite family against real servers (`openssl s_server`
//! with legacy versions and suites enabled; nginx with a TLS 1.2/1.3-only
//! modern configuration), each verdict cross-checked with `openssl
//! s_client`; GnuTLS `gnutls-serv` with 3DES (this OpenSSL has none),
//! cross-checked with `gnutls-cli`; a filter in front of s_server that
//! drops SSL 3.0 and TLS 1.0 hellos unanswered, as an IPS may; the
//! `flowprobe check` table and JSON; and hostile peers that answer the
//! hello with garbage, a 2^24-byte handshake length, HelloRetryRequests
//! forever, or nothing.

use flowprobe_testkit as support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use flowprobe::analyze::tls_policy::{
    Breach, Family, Invalidity, ProtocolJudgement, Reply, Silence, TlsPolicy,
};
use flowprobe::kinds::tls::protocols::{ProtocolFacts, ProtocolState};
use flowprobe::kinds::tls::settings::ProtocolSpec;
use flowprobe::outcome::{Level, Reason};
use flowprobe::probe::{KindFacts, ProbeReport};
use flowprobe::wire::tls::{HRR_RANDOM, TlsWireError, Version};
use support::servers::openssl_server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The legacy s_server: TLS 1.0-1.2, a modern suite for rustls, static
/// RSA, anonymous ECDH and NULL suites. (This OpenSSL has no 3DES or RC4
/// at all: `openssl ciphers 3DES` matches nothing, so neither side can
/// offer them; the unit tests cover their judgement.)
const LEGACY_CIPHERS: &str =
    "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:AECDH-AES128-SHA:NULL-SHA:@SECLEVEL=0";

/// How `openssl s_client` offers each family (`None`: it cannot).
fn oracle_cipher(f: Family) -> &'static str {
    match f {
        Family::Null => "eNULL",
        Family::Export => "EXP",
        Family::Anon => "aNULL",
        Family::Rc4 => "RC4",
        Family::Des => "3DES:DES",
        Family::StaticRsa => "kRSA",
        // OpenSSL 3 has no static (EC)DH suites: no cipher match.
        Family::StaticDh => "kECDHe:kECDHr:kDHr:kDHd",
        Family::CbcSha1 => "AES+SHA1:CAMELLIA+SHA1",
    }
}

/// `openssl s_client` with one version flag and a cipher string: did the
/// handshake complete? `None` when this OpenSSL cannot offer the ciphers.
fn s_client(addr: std::net::SocketAddr, flag: &str, ciphers: &str) -> Option<bool> {
    let mut args = vec![
        "s_client".to_owned(),
        "-connect".to_owned(),
        addr.to_string(),
        flag.to_owned(),
    ];
    if flag == "-tls1_3" {
        args.extend(["-ciphersuites".to_owned(), ciphers.to_owned()]);
    } else {
        args.extend(["-cipher".to_owned(), format!("{ciphers}:@SECLEVEL=0")]);
    }
    let out = Command::new("openssl")
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run openssl s_client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("no cipher match") || text.contains("Error with command") {
        return None;
    }
    Some(text.contains("Cipher is ") && !text.contains("Cipher is (NONE)"))
}

const VERSION_FLAGS: [(Version, &str); 4] = [
    (Version::Tls10, "-tls1"),
    (Version::Tls11, "-tls1_1"),
    (Version::Tls12, "-tls1_2"),
    (Version::Tls13, "-tls1_3"),
];

/// Our verdict on every version and family agrees with `s_client`'s.
fn assert_oracle_agrees(addr: std::net::SocketAddr, j: &ProtocolJudgement) {
    for (version, flag) in VERSION_FLAGS {
        let ciphers = if version == Version::Tls13 {
            "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
        } else {
            "ALL:COMPLEMENTOFALL"
        };
        let oracle = s_client(addr, flag, ciphers).expect("s_client offers every version");
        let ours = j
            .versions
            .iter()
            .find(|v| v.version == version)
            .expect("verdict");
        assert_eq!(
            ours.accepted,
            Some(oracle),
            "{version:?}: s_client says {oracle}"
        );
    }
    let legacy_flag = if j
        .versions
        .iter()
        .any(|v| v.version == Version::Tls12 && v.accepted == Some(true))
    {
        "-tls1_2"
    } else {
        "-tls1"
    };
    for f in &j.families {
        let oracle = s_client(addr, legacy_flag, oracle_cipher(f.family));
        match oracle {
            Some(accepted) => assert_eq!(
                f.accepted,
                Some(accepted),
                "{:?}: s_client {legacy_flag} says {accepted}",
                f.family
            ),
            // This OpenSSL cannot offer it, so neither can the server's.
            None => assert_eq!(f.accepted, Some(false), "{:?}", f.family),
        }
    }
}

fn protocols(report: &ProbeReport) -> &ProtocolFacts {
    report
        .attempts
        .iter()
        .find_map(|a| match &a.facts {
            KindFacts::Tls(t) => t.protocols.as_deref(),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no protocol details: {report:#?}"))
}

/// TLS flows to 127.0.0.1 with the built-in policy. No trust store: the
/// chain is not what these tests are about (`trust = []` judges name and
/// validity only).
fn flow_text(flows: &[(&str, u16, &str)]) -> String {
    let mut text = String::from("catalog = \"none\"\n[targets]\nmdm = \"127.0.0.1\"\n");
    for (name, port, timeout) in flows {
        text.push_str(&format!(
            "[[flow]]\nname = \"{name}\"\nfrom = \"administrators\"\nto = \"mdm\"\nport = {port}\n\
             check = \"tls\"\ntimeout = \"{timeout}\"\n\
             tls = {{ trust = [], server_name = \"mdm.lab.test\", protocol_policy = \"nist-800-52r2\" }}\n"
        ));
    }
    text
}

fn flow_config(flows: &[(&str, u16, &str)]) -> flowprobe::config::Config {
    support::config_from(&flow_text(flows))
}

/// One probe of each flow of `c`, twice on the same prepared flows (the
/// second reports the kept result), and the metrics of the first.
async fn probe_twice(c: &flowprobe::config::Config) -> Vec<(ProbeReport, ProbeReport, String)> {
    let nets = flowprobe::probe::plan::build_nets(c).expect("nets");
    let flows = flowprobe::probe::plan::prepare(c).expect("prepare");
    let metrics = flowprobe::metrics::Metrics::new().expect("metrics");
    let mut out = Vec::new();
    for p in &flows {
        let net = nets.get(&p.flow.from).expect("net");
        let fm = metrics.flow(&p.flow);
        let first = flowprobe::probe::run(p, net).await;
        metrics.record(&fm, &first);
        let text = String::from_utf8(metrics.encode()).expect("utf-8");
        let second = flowprobe::probe::run(p, net).await;
        out.push((first, second, text));
    }
    out
}

fn sample(text: &str, name: &str, label: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// A self-signed RSA leaf for mdm.lab.test (static-RSA suites need an
/// RSA key), from the `openssl` CLI.
struct Leaf {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn rsa_leaf(dir: &Path) -> Leaf {
    let (cert, key) = support::pki::self_signed_leaf(dir, "leaf", &["rsa:2048"]);
    Leaf { cert, key }
}

#[tokio::test]
async fn legacy_openssl_server_fails_naming_each_legacy_version_and_suite() {
    if !support::require(support::have("openssl"), "openssl") {
        return;
    }
    let dir = support::tempdir();
    let server = legacy_server(dir.path());
    let text = flow_text(&[("legacy", server.addr.port(), "5s")]);
    let c = support::config_from(&text);
    let runs = probe_twice(&c).await;
    let (first, second, metrics) = &runs[0];

    assert_eq!(first.reason, Reason::TlsWeakProtocol, "{}", first.detail);
    assert!(
        first
            .findings()
            .any(|f| f.reason == Reason::TlsWeakProtocol && f.level == Level::Fail),
        "a violation finding"
    );
    let j = &protocols(first).judgement;
    let violated = |b: &Breach| j.violations.contains(b);
    assert!(violated(&Breach::VersionAccepted {
        version: Version::Tls10,
        suite: Some("TLS_RSA_WITH_AES_128_CBC_SHA".into()),
        cite: "NIST SP 800-52r2 3.1".into(),
    }));
    assert!(
        j.violations.iter().any(|v| matches!(
            v,
            Breach::VersionRequired {
                version: Version::Tls13,
                ..
            }
        )),
        "{:?}",
        j.violations
    );
    for (family, suite) in [
        (Family::Null, "TLS_RSA_WITH_NULL_SHA"),
        (Family::Anon, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
    ] {
        assert!(
            j.violations.iter().any(|v| matches!(v,
                Breach::FamilyAccepted { family: f, suites, .. }
                    if *f == family && suites.iter().any(|s| s == suite))),
            "{family:?} {suite}: {:?}",
            j.violations
        );
    }
    // TLS 1.1 is a "should not" and Appendix D's RSA key transport a
    // transition: warnings, each citing where the text says so.
    assert!(
        first
            .findings()
            .any(|f| f.reason == Reason::TlsWeakProtocol && f.level == Level::Warn),
        "a warning finding"
    );
    assert!(
        j.warnings.contains(&Breach::VersionDiscouraged {
            version: Version::Tls11,
            cite: "NIST SP 800-52r2 3.1: should not".into(),
        }),
        "{:?}",
        j.warnings
    );
    assert!(
        j.warnings.iter().any(|w| matches!(w,
            Breach::KeyTransport { suites, cite }
                if suites.iter().any(|s| s == "TLS_RSA_WITH_AES_128_CBC_SHA")
                    && cite.contains("Appendix D"))),
        "{:?}",
        j.warnings
    );
    assert!(
        !j.violations
            .iter()
            .any(|v| v.version() == Some(Version::Tls12)),
        "1.2 is allowed: {:?}",
        j.violations
    );
    assert_eq!(j.accepted_versions(), ["TLSv1.0", "TLSv1.1", "TLSv1.2"]);

    let p = protocols(first);
    assert!(p.judgement.complete, "{:#?}", p.exchanges);
    assert_oracle_agrees(server.addr, &p.judgement);
    assert_eq!(p.connections as usize, p.exchanges.len());
    // docs/tls-protocol-policy.md's count for this server: 5 versions; the suites outside
    // the lists at TLS 1.0, 1.1 and 1.2 (1.2's in two hellos); the
    // forbidden families the outside answers left open; CBC with
    // Encrypt-then-MAC at each of the three versions.
    assert_eq!(p.connections, 23, "{:#?}", p.exchanges);

    // The kept result, reported again without a single new connection.
    let again = protocols(second);
    assert_eq!(again.connections, 0);
    assert_eq!(again.judgement, p.judgement);
    assert_eq!(second.reason, Reason::TlsWeakProtocol);

    let accepted = |v: &str| {
        sample(
            metrics,
            "flowprobe_tls_protocol_accepted",
            &format!("version=\"{v}\""),
        )
    };
    assert_eq!(accepted("TLSv1.0"), Some(1.0), "{metrics}");
    assert_eq!(accepted("TLSv1.3"), Some(0.0));
    assert_eq!(accepted("SSLv3"), Some(0.0));
    let weak = |f: &str| {
        sample(
            metrics,
            "flowprobe_tls_weak_suites",
            &format!("family=\"{f}\""),
        )
    };
    assert_eq!(weak("null"), Some(1.0));
    assert_eq!(weak("des"), Some(0.0));
    assert_eq!(
        sample(
            metrics,
            "flowprobe_tls_protocol_connections_total",
            "flow=\"legacy\""
        ),
        Some(f64::from(p.connections))
    );
    assert_eq!(
        sample(
            metrics,
            "flowprobe_tls_protocol_enumeration_complete",
            "flow=\"legacy\""
        ),
        Some(1.0)
    );
}

/// The legacy s_server on loopback, with its leaf.
fn legacy_server(dir: &Path) -> support::servers::OpensslServer {
    let leaf = rsa_leaf(dir);
    openssl_server(
        &leaf.cert,
        &leaf.key,
        None,
        &[
            "-cipher",
            LEGACY_CIPHERS,
            "-no_tls1_3",
            "-min_protocol",
            "TLSv1",
        ],
    )
}

/// A proxy to `upstream` that swallows every connection whose
/// ClientHello offers SSL 3.0 or TLS 1.0 (by its record version or
/// `client_version`): reads it and never answers, as an IPS that drops
/// such hellos does. Other connections are forwarded both ways.
async fn dropping_proxy(upstream: std::net::SocketAddr) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Record header (5), handshake header (4), client_version (2).
                let mut head = [0u8; 11];
                if tcp.read_exact(&mut head).await.is_err() {
                    return;
                }
                let old = |v: [u8; 2]| v == [3, 0] || v == [3, 1];
                if [head[1], head[2]] == [3, 0] || old([head[9], head[10]]) {
                    let mut sink = [0u8; 4096];
                    while tcp.read(&mut sink).await.unwrap_or(0) > 0 {}
                    return;
                }
                let Ok(mut up) = TcpStream::connect(upstream).await else {
                    return;
                };
                if up.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut up).await;
                }
            });
        }
    });
    Hostile { addr, task }
}

#[tokio::test]
async fn hellos_dropped_unanswered_stall_nothing_and_are_reported() {
    if !support::require(support::have("openssl"), "openssl") {
        return;
    }
    let dir = support::tempdir();
    let server = legacy_server(dir.path());
    let proxy = dropping_proxy(server.addr).await;
    let timeout = Duration::from_secs(4);
    let c = flow_config(&[("filtered", proxy.addr.port(), "4s")]);
    let started = Instant::now();
    let runs = probe_twice(&c).await;
    let (first, second, metrics) = &runs[0];
    // Both probes together: the second reports or goes on, within its own
    // budget.
    assert!(
        started.elapsed() < 2 * timeout + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let p = protocols(first);
    let j = &p.judgement;
    let version = |v: Version| {
        j.versions
            .iter()
            .find(|x| x.version == v)
            .and_then(|x| x.accepted)
    };
    // TLS 1.1 and 1.2 were asked and answered in the first probe, though
    // SSL 3.0 and TLS 1.0 hellos got no answer; those are unknown.
    assert_eq!(version(Version::Tls11), Some(true), "{:#?}", p.exchanges);
    assert_eq!(version(Version::Tls12), Some(true));
    assert_eq!(version(Version::Ssl3), None);
    assert_eq!(version(Version::Tls10), None);
    let order: Vec<_> = p.exchanges.iter().map(|e| e.question).collect();
    let tls11 = order
        .iter()
        .position(|q| {
            *q == flowprobe::analyze::tls_policy::Question::Version {
                version: Version::Tls11,
            }
        })
        .expect("TLS 1.1 asked");
    assert_eq!(tls11, 2, "asked right after the two silent ones: {order:?}");
    for e in &p.exchanges[..2] {
        assert!(
            matches!(
                &e.reply,
                Reply::NoAnswer { why: Silence::Timeout { after } } if *after == Duration::from_secs(1)
            ),
            "{e:?}"
        );
    }
    assert!(!j.complete);
    let unanswered: Vec<Version> = j
        .unanswered
        .iter()
        .filter_map(|u| match u.question {
            flowprobe::analyze::tls_policy::Question::Version { version } => Some(version),
            _ => None,
        })
        .collect();
    assert_eq!(
        unanswered,
        [Version::Ssl3, Version::Tls10],
        "{:?}",
        j.unanswered
    );
    assert!(!j.complete, "the enumeration is incomplete and says so");
    assert!(
        first
            .findings()
            .any(|f| f.level == Level::Warn && f.reason == Reason::TlsWeakProtocol),
        "an incomplete warning: {:#?}",
        first.findings().collect::<Vec<_>>()
    );
    // What could be asked still fails the flow.
    assert_eq!(first.reason, Reason::TlsWeakProtocol, "{}", first.detail);
    assert!(
        j.violations.iter().any(|v| matches!(
            v,
            Breach::FamilyAccepted {
                family: Family::Null,
                ..
            }
        )),
        "{:?}",
        j.violations
    );
    assert!(
        j.warnings.iter().any(|w| matches!(
            w,
            Breach::VersionDiscouraged {
                version: Version::Tls11,
                ..
            }
        )),
        "TLS 1.1, which the filter passes, was asked: {:?}",
        j.warnings
    );
    assert_eq!(
        sample(
            metrics,
            "flowprobe_tls_protocol_enumeration_complete",
            "flow=\"filtered\""
        ),
        Some(0.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            metrics,
            "flowprobe_tls_protocol_accepted",
            "version=\"TLSv1.1\""
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            metrics,
            "flowprobe_tls_protocol_accepted",
            "version=\"TLSv1.0\""
        ),
        None,
        "unknown has no series"
    );
    // The second probe reports the same verdicts (kept, or the same run
    // going on with the silent hellos' second tries).
    let again = protocols(second);
    assert_eq!(again.judgement.violations, j.violations);
    assert!(!again.judgement.complete);
    drop(proxy);
}

/// `flowprobe check` prints what the enumeration found: the table's
/// protocols line names the accepted versions, and the JSON carries the
/// judgement and every exchange under `details.protocols`.
#[tokio::test]
async fn check_table_and_json_show_the_accepted_versions() {
    if !support::require(support::have("openssl"), "openssl") {
        return;
    }
    let dir = support::tempdir();
    let server = legacy_server(dir.path());
    let cfg = support::write(
        dir.path(),
        "flowprobe.toml",
        &flow_text(&[("legacy", server.addr.port(), "5s")]),
    );
    let run = |output: &'static str| {
        let cfg = cfg.clone();
        async move {
            let out = tokio::process::Command::new(support::bin())
                .args(["check", "--config"])
                .arg(&cfg)
                .args(["--output", output])
                .env_remove("RUST_LOG")
                .stdin(std::process::Stdio::null())
                .output()
                .await
                .expect("run flowprobe check");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        }
    };
    let (code, table) = run("table").await;
    assert_eq!(code, Some(1), "a violation fails the check: {table}");
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with("protocols ("))
        .unwrap_or_else(|| panic!("no protocols line: {table}"));
    assert_eq!(
        line.trim(),
        "protocols (nist-800-52r2): accepts TLSv1.0, TLSv1.1, TLSv1.2",
        "{table}"
    );
    assert!(
        table.contains("fail tls_weak_protocol: policy nist-800-52r2")
            && table.contains("accepts TLS 1.0 with TLS_RSA_WITH_AES_128_CBC_SHA"),
        "{table}"
    );

    let (code, json) = run("json").await;
    assert_eq!(code, Some(1), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let p = &v["flows"][0]["last"]["attempts"][0]["details"]["protocols"];
    assert_eq!(p["policy"], "nist-800-52r2", "{p}");
    assert_eq!(p["complete"], true, "{p}");
    let accepted: Vec<&str> = p["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter(|v| v["accepted"] == true)
        .filter_map(|v| v["version"].as_str())
        .collect();
    assert_eq!(accepted, ["TLSv1.0", "TLSv1.1", "TLSv1.2"], "{p}");
    let exchanges = p["exchanges"].as_array().expect("exchanges");
    assert!(exchanges.len() >= 5, "{p}");
    assert_eq!(exchanges[0]["asks"], "version");
    assert_eq!(exchanges[0]["version"], "SSLv3");
    assert!(
        exchanges
            .iter()
            .any(|e| e["answer"] == "accepted" && e["negotiated"] == "TLSv1.0"),
        "{p}"
    );
    assert_eq!(p["connections"].as_u64(), Some(exchanges.len() as u64));
}

/// nginx, configured as the lab's MDM: TLS 1.2 and 1.3 only, ECDHE-GCM,
/// and no ChaCha20 at TLS 1.3 (OpenSSL offers it unless told otherwise;
/// SP 800-52r2 3.3.1.2 does not list it).
struct Nginx {
    port: u16,
    _proc: support::Proc,
}

fn start_nginx(dir: &Path, leaf: &Leaf) -> Option<Nginx> {
    start_nginx_with(
        dir,
        leaf,
        "ssl_prefer_server_ciphers on;\n\
         ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256;\n\
         ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256;\n",
    )
}

/// nginx with TLS 1.2 and 1.3 and `ciphers` (nginx directives; empty:
/// nginx's defaults), in `dir`.
fn start_nginx_with(dir: &Path, leaf: &Leaf, ciphers: &str) -> Option<Nginx> {
    let nginx = support::which("nginx")?;
    let port = support::free_port();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n\
           fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n\
           server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {chain};\n\
             ssl_certificate_key {key};\n    ssl_protocols TLSv1.2 TLSv1.3;\n{ciphers}\
             location / {{ return 200 \"ok\\n\"; }}\n  }}\n}}\n",
        chain = leaf.cert.display(),
        key = leaf.key.display(),
    );
    std::fs::create_dir_all(dir.join("tmp")).ok()?;
    let conf_path = support::write(dir, "nginx.conf", &conf);
    let proc = support::Proc::spawn(
        Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.join("nginx-error.log"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    support::wait_for(Duration::from_secs(5), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .unwrap_or_else(|| {
        panic!(
            "nginx did not listen: {}",
            std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default()
        )
    });
    Some(Nginx { port, _proc: proc })
}

#[tokio::test]
async fn modern_nginx_passes_and_the_oracle_agrees() {
    if !support::require(
        support::have("nginx") && support::have("openssl"),
        "nginx and openssl",
    ) {
        return;
    }
    let dir = support::tempdir();
    let leaf = rsa_leaf(dir.path());
    let nginx = start_nginx(dir.path(), &leaf).expect("nginx");
    let c = flow_config(&[("modern", nginx.port, "5s")]);
    let runs = probe_twice(&c).await;
    let (first, _, metrics) = &runs[0];
    assert_eq!(
        first.reason,
        Reason::Ok,
        "{} {:#?}",
        first.detail,
        first.attempts
    );
    assert!(
        first
            .findings()
            .all(|f| f.reason != Reason::TlsWeakProtocol)
    );
    assert!(
        first.detail.ends_with("; accepts TLSv1.2, TLSv1.3"),
        "{}",
        first.detail
    );
    let p = protocols(first);
    assert!(
        p.judgement.complete
            && p.judgement.violations.is_empty()
            && p.judgement.warnings.is_empty(),
        "{:#?}",
        p.judgement
    );
    assert_eq!(p.judgement.ecdhe_aead, Some(true));
    // What docs/tls-protocol-policy.md's cost paragraph says: 5 versions, the suites
    // outside the lists (TLS 1.2 in two hellos, TLS 1.3 in one), Appendix
    // D, CBC with Encrypt-then-MAC; the forbidden families are settled by
    // the refusals of the outside hellos, which offered them all.
    assert_eq!(p.connections, 10, "{:#?}", p.exchanges);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], nginx.port));
    assert_oracle_agrees(addr, &p.judgement);
    for family in TlsPolicy::nist().families() {
        let label = format!("family=\"{}\"", family.as_str());
        assert_eq!(
            sample(metrics, "flowprobe_tls_weak_suites", &label),
            Some(0.0),
            "{label}"
        );
    }
}

/// The GnuTLS server's priority string: its defaults plus 3DES, static
/// RSA and TLS 1.0/1.1 (`gnutls-cli --list --priority ...` lists
/// `TLS_RSA_3DES_EDE_CBC_SHA1` and the ECDHE/DHE 3DES suites for it).
const GNUTLS_PRIORITY: &str = "NORMAL:+3DES-CBC:+RSA:+VERS-TLS1.0:+VERS-TLS1.1";

/// `gnutls-cli` inside `ns` with a priority string: the session's
/// description when the handshake completed, `None` when refused.
fn gnutls_cli(ns: &support::Netns, port: u16, priority: &str) -> Option<String> {
    let port = port.to_string();
    let out = ns
        .cmd(&[
            "timeout",
            "10",
            "gnutls-cli",
            "--insecure",
            "--priority",
            priority,
            "-p",
            &port,
            "127.0.0.1",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run gnutls-cli");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("Syntax error"),
        "bad priority {priority}: {text}"
    );
    text.contains("Handshake was completed")
        .then(|| {
            text.lines()
                .find_map(|l| l.strip_prefix("- Description: "))
                .map(str::to_owned)
        })
        .flatten()
}

/// How `gnutls-cli` offers a suite's key exchange.
fn gnutls_kex(suite: &flowprobe::wire::tls::suites::Suite) -> &'static str {
    use flowprobe::wire::tls::suites::Kex;
    match suite.kex {
        Kex::Ecdhe => "+ECDHE-RSA",
        Kex::Dhe => "+DHE-RSA",
        _ => "+RSA",
    }
}

/// GnuTLS serves 3DES (Debian's OpenSSL 3 cannot at any security level),
/// in a network namespace of its own: `gnutls-serv` listens on every
/// address it has, and there that is only the namespace's loopback.
#[test]
fn gnutls_server_with_3des_fails_naming_the_suite_and_gnutls_cli_agrees() {
    if !support::require(
        support::is_root()
            && support::have("ip")
            && support::have("gnutls-serv")
            && support::have("gnutls-cli")
            && support::have("openssl"),
        "root, ip, gnutls-serv and gnutls-cli (Debian gnutls-bin), openssl",
    ) {
        return;
    }
    let dir = support::tempdir();
    let leaf = rsa_leaf(dir.path());
    let ns = support::Netns::new("fpgnu");
    const PORT: u16 = 4433;
    let port = PORT.to_string();
    let log = std::fs::File::create(dir.path().join("gnutls-serv.log")).expect("log");
    let _server = support::Proc::spawn(
        ns.cmd(&[
            "gnutls-serv",
            "--port",
            &port,
            "--x509certfile",
            leaf.cert.to_str().expect("utf-8"),
            "--x509keyfile",
            leaf.key.to_str().expect("utf-8"),
            "--priority",
            GNUTLS_PRIORITY,
            "--disable-client-cert",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log),
    );
    let listening = support::wait_for(Duration::from_secs(10), || {
        ns.run_inside(|| std::net::TcpStream::connect(("127.0.0.1", PORT)).ok())
    });
    assert!(
        listening.is_some(),
        "gnutls-serv did not listen: {}",
        std::fs::read_to_string(dir.path().join("gnutls-serv.log")).unwrap_or_default()
    );

    // The Tomcat STIG's policy: static RSA is a forbidden family there (a
    // transition under SP 800-52r2), so every family is asked and each
    // answer can be held against gnutls-cli.
    let c = support::config_from(
        &flow_text(&[("gnutls", PORT, "5s")]).replace("\"nist-800-52r2\"", "\"disa-tomcat-9\""),
    );
    let runs = ns.run_inside(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async move { probe_twice(&c).await })
    });
    let (first, _, _) = &runs[0];
    let p = protocols(first);
    let j = &p.judgement;
    assert!(j.complete, "{:#?}", p.exchanges);
    assert_eq!(first.reason, Reason::TlsWeakProtocol, "{}", first.detail);

    // Versions, against gnutls-cli offering only that version.
    for (version, name) in [
        (Version::Tls10, "TLS1.0"),
        (Version::Tls11, "TLS1.1"),
        (Version::Tls12, "TLS1.2"),
        (Version::Tls13, "TLS1.3"),
    ] {
        let oracle = gnutls_cli(
            &ns,
            PORT,
            &format!("NORMAL:-VERS-ALL:+VERS-{name}:+3DES-CBC:+RSA"),
        );
        let ours = j.versions.iter().find(|v| v.version == version);
        assert_eq!(
            ours.and_then(|v| v.accepted),
            Some(oracle.is_some()),
            "{version:?}: gnutls-cli says {oracle:?}"
        );
    }
    let ssl3 = j.versions.iter().find(|v| v.version == Version::Ssl3);
    assert_eq!(ssl3.and_then(|v| v.accepted), Some(false));

    // 3DES: named, and the named suite is one gnutls-cli gets when it
    // offers 3DES with that key exchange only.
    let des = j
        .families
        .iter()
        .find(|f| f.family == Family::Des)
        .expect("des asked");
    assert_eq!(des.accepted, Some(true), "{:#?}", p.exchanges);
    let named = flowprobe::wire::tls::suites::by_name(&des.suites[0]).expect("known");
    assert!(named.name.contains("_3DES_EDE_CBC_SHA"), "{}", named.name);
    let fail = first
        .findings()
        .find(|f| f.level == Level::Fail && f.reason == Reason::TlsWeakProtocol)
        .expect("violation");
    assert!(
        fail.detail
            .contains(&format!("accepts DES/3DES suites: {}", named.name)),
        "{}",
        fail.detail
    );
    let oracle = gnutls_cli(
        &ns,
        PORT,
        &format!(
            "NONE:+VERS-TLS1.2:+3DES-CBC:{}:+SHA1:+COMP-NULL:+SIGN-ALL:+GROUP-ALL",
            gnutls_kex(named)
        ),
    )
    .expect("gnutls-cli completes with the suite we named");
    assert!(oracle.contains("(3DES-CBC)-(SHA1)"), "{oracle}");
    // TLS_RSA_WITH_3DES_EDE_CBC_SHA itself: accepted by both.
    let rsa_3des = gnutls_cli(
        &ns,
        PORT,
        "NONE:+VERS-TLS1.0:+3DES-CBC:+RSA:+SHA1:+COMP-NULL:+SIGN-ALL",
    )
    .expect("TLS_RSA_WITH_3DES_EDE_CBC_SHA at TLS 1.0");
    assert!(rsa_3des.contains("(RSA)-(3DES-CBC)-(SHA1)"), "{rsa_3des}");
    let static_rsa = j
        .families
        .iter()
        .find(|f| f.family == Family::StaticRsa)
        .expect("static_rsa asked");
    assert_eq!(static_rsa.accepted, Some(true));
    // RC4 and NULL: refused by both.
    for (family, cipher) in [(Family::Rc4, "+ARCFOUR-128"), (Family::Null, "+NULL")] {
        let oracle = gnutls_cli(
            &ns,
            PORT,
            &format!(
                "NONE:+VERS-TLS1.2:+VERS-TLS1.0:{cipher}:+RSA:+ECDHE-RSA:+SHA1:+MD5:+COMP-NULL:+SIGN-ALL:+GROUP-ALL"
            ),
        );
        let ours = j.families.iter().find(|f| f.family == family);
        assert_eq!(
            ours.and_then(|f| f.accepted),
            Some(oracle.is_some()),
            "{family:?}: gnutls-cli says {oracle:?}"
        );
    }
}

/// A hostile peer's task, stopped on drop.
struct Hostile {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A listener that answers every connection's first bytes with `answer`
/// (repeated `times`), then holds the connection open.
async fn answering_server(answer: Vec<u8>, times: usize) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if tcp.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                for _ in 0..times {
                    if tcp.write_all(&answer).await.is_err() {
                        return;
                    }
                }
                // Hold until the client leaves.
                while tcp.read(&mut buf).await.unwrap_or(0) > 0 {}
            });
        }
    });
    Hostile { addr, task }
}

fn hello_retry_request() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&HRR_RANDOM);
    body.push(0); // session id
    body.extend_from_slice(&[0x13, 0x01, 0]);
    // supported_versions 1.3, key_share asking for secp384r1.
    body.extend_from_slice(&[0, 12, 0, 0x2b, 0, 2, 3, 4, 0, 0x33, 0, 2, 0, 0x18]);
    let mut hs = vec![2, 0, 0, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 3, 0, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

#[tokio::test]
async fn hostile_answers_end_in_bounded_reasons_within_the_timeout() {
    let garbage = answering_server(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), 1).await;
    let huge = answering_server(vec![22, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff], 1).await;
    let hrr = answering_server(hello_retry_request(), 10_000).await;
    // No trust store needed: the handshakes never get that far.
    let mut text = String::from("catalog = \"none\"\n[targets]\nmdm = \"127.0.0.1\"\n");
    for (name, s) in [("garbage", &garbage), ("huge", &huge), ("hrr", &hrr)] {
        text.push_str(&format!(
            "[[flow]]\nname = \"{name}\"\nfrom = \"administrators\"\nto = \"mdm\"\nport = {}\n\
             check = \"tls\"\ntimeout = \"2s\"\n\
             tls = {{ trust = [], server_name = \"mdm.lab.test\", protocol_policy = \"stig\" }}\n",
            s.addr.port()
        ));
    }
    let c = support::config_from(&text);
    let started = Instant::now();
    let reports = support::probe_all(&c).await;
    assert!(
        started.elapsed() < Duration::from_secs(3 * 2),
        "{:?}",
        started.elapsed()
    );

    let invalid_all = |name: &str, why: fn(&Invalidity) -> bool| {
        let r = &reports[name];
        assert!(
            matches!(r.reason, Reason::TlsHandshake | Reason::ProtocolError),
            "{name}: {} {}",
            r.reason,
            r.detail
        );
        let p = protocols(r);
        assert_eq!(
            p.exchanges.len(),
            5,
            "{name}: versions only: {:#?}",
            p.exchanges
        );
        for e in &p.exchanges {
            match &e.reply {
                Reply::Invalid { why: w } => assert!(why(w), "{name}: {w:?}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        // Nothing accepted: the required TLS 1.2 is missing, and said so.
        assert!(
            p.judgement.violations.iter().any(|v| *v
                == Breach::VersionRequired {
                    version: Version::Tls12,
                    cite: "NIST SP 800-52r2 3.1".into()
                }),
            "{name}: {:?}",
            p.judgement.violations
        );
    };
    invalid_all(
        "garbage",
        |w| matches!(w, Invalidity::Wire(TlsWireError::NotTls { first }) if first.starts_with("HTTP")),
    );
    invalid_all("huge", |w| {
        matches!(
            w,
            Invalidity::Wire(TlsWireError::HandshakeTooLarge {
                length: 16_777_215,
                ..
            })
        )
    });

    let r = &reports["hrr"];
    assert!(
        matches!(r.reason, Reason::TlsHandshake | Reason::ProtocolError),
        "hrr: {} {}",
        r.reason,
        r.detail
    );
    let p = protocols(r);
    for e in &p.exchanges {
        match (&e.question, &e.reply) {
            (
                flowprobe::analyze::tls_policy::Question::Version {
                    version: Version::Tls13,
                },
                Reply::Accepted { version, .. },
            ) => assert_eq!(*version, Version::Tls13),
            // An HRR to a TLS 1.2 hello, or one that picks a TLS 1.3 suite
            // the hello did not offer (the outside-the-lists question
            // offers ChaCha20 only).
            (_, Reply::Invalid { why }) => assert!(
                matches!(
                    why,
                    Invalidity::RetryWithoutTls13 | Invalidity::SuiteNotOffered { .. }
                ),
                "{why:?}"
            ),
            other => panic!("hrr: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_silent_server_leaves_the_enumeration_unknown_within_its_budget() {
    let silent = support::servers::raw_server(b"").await;
    let state = ProtocolState::new(
        ProtocolSpec {
            policies: vec![TlsPolicy::nist()],
            asking: TlsPolicy::nist(),
            interval: Duration::from_secs(3600),
        },
        "mdm.lab.test".to_owned(),
    );
    let vantage = flowprobe::config::Vantage::unpinned("administrators");
    let budget = Duration::from_millis(800);
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let report = state
        .report(
            silent.addr,
            &vantage,
            tokio::time::Instant::now() + budget,
            timeout,
        )
        .await;
    assert!(started.elapsed() < budget * 3, "{:?}", started.elapsed());
    assert!(!report.judgement.complete);
    assert!(
        report.judgement.violations.is_empty(),
        "silence proves nothing"
    );
    assert!(
        report
            .judgement
            .versions
            .iter()
            .all(|v| v.accepted.is_none())
    );
    assert!(
        report
            .exchanges
            .iter()
            .all(|e| matches!(e.reply, Reply::NoAnswer { .. })),
        "{:#?}",
        report.exchanges
    );
    assert!(
        !report.judgement.unanswered.is_empty(),
        "the unknowns are named"
    );
    // The next probe goes on with the run (nothing is kept as refused),
    // with the next question: SSL 3.0 waits for its second try.
    let again = state
        .report(
            silent.addr,
            &vantage,
            tokio::time::Instant::now() + Duration::from_millis(200),
            timeout,
        )
        .await;
    assert!(again.connections >= 1);
    let asked: Vec<_> = again.exchanges.iter().map(|e| e.question).collect();
    assert_eq!(
        asked[asked.len() - again.connections as usize],
        flowprobe::analyze::tls_policy::Question::Version {
            version: Version::Tls10
        },
        "{asked:?}"
    );
}

/// `[tls_policy.NAME]` and the flow keys are validated at load, every
/// error with its key path.
#[test]
fn tls_policies_and_protocol_keys_are_validated_with_key_paths() {
    let dir = support::tempdir();
    let text = r#"
catalog = "none"
[targets]
mdm = "127.0.0.1"
[tls_policy.site]
versions = ["1.2", "1.4"]
forbidden = ["3des"]
[tls_policy.stig]
versions = ["1.2"]
[tls_policy.odd]
versions = ["1.3"]
required_versions = ["1.2"]
[[flow]]
name = "a"
from = "administrators"
to = "mdm"
port = 443
check = "tls"
tls = { protocol_policy = "nist" }
[[flow]]
name = "b"
from = "administrators"
to = "mdm"
port = 8443
check = "tls"
tls = { protocol_interval = "1h" }
"#;
    let path = support::write(dir.path(), "flowprobe.toml", text);
    let err = flowprobe::config::load_with_env(
        Some(&path),
        &flowprobe::config::Overrides::default(),
        Default::default(),
    )
    .expect_err("invalid")
    .to_string();
    for want in [
        "tls_policy.site.versions[1]: \"1.4\": expected one of",
        "tls_policy.site.forbidden[0]: \"3des\": expected one of",
        "tls_policy.stig: \"stig\" is a built-in policy",
        "tls_policy.odd: required_versions: \"1.2\" is not in versions",
        "flow[a].tls.protocol_policy: unknown policy \"nist\"; known: apple-ats, disa-apache-2.4, disa-tomcat-9, nist-800-52r2, stig",
        "flow[b].tls.protocol_interval: has no effect without protocol_policy",
    ] {
        assert!(err.contains(want), "{want:?} missing in:\n{err}");
    }

    let ok = support::config_from(
        "catalog = \"none\"\n[targets]\nmdm = \"127.0.0.1\"\n\
         [tls_policy.site]\nversions = [\"1.2\", \"1.3\"]\nwarn = [\"static_rsa\"]\non_violation = \"warn\"\n\
         [[flow]]\nname = \"a\"\nfrom = \"administrators\"\nto = \"mdm\"\nport = 443\ncheck = \"tls\"\n\
         tls = { protocol_policy = \"site\", protocol_interval = \"10m\" }\n",
    );
    let flowprobe::config::KindSpec::Tls(spec) = &ok.flows[0].check else {
        panic!("tls");
    };
    let p = spec.protocol.as_ref().expect("protocol spec");
    assert_eq!(p.interval, Duration::from_secs(600));
    assert_eq!(p.policies[0].name, "site");
    assert_eq!(p.policies[0].warn, [Family::StaticRsa]);
    assert_eq!(p.policies[0].on_violation, flowprobe::outcome::Action::Warn);
}

/// A self-signed P-256 leaf for mdm.lab.test (ECDSA suites need one).
fn ec_leaf(dir: &Path) -> Leaf {
    let (cert, key) = support::pki::self_signed_leaf(
        dir,
        "ec-leaf",
        &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    Leaf { cert, key }
}

/// Each policy's judgement of a report, by policy name.
fn by_policy(report: &ProbeReport) -> std::collections::BTreeMap<String, ProtocolJudgement> {
    let p = protocols(report);
    std::iter::once(&p.judgement)
        .chain(&p.other_policies)
        .map(|j| (j.policy.clone(), j.clone()))
        .collect()
}

/// The documents' verdicts on real servers, three policies judged on one
/// enumeration each: nginx's default ciphers (ChaCha20 is outside SP
/// 800-52r2's lists, RSA key transport a transition under it and a finding
/// under the Tomcat STIG), the same with only listed suites and Appendix
/// D's, a TLS 1.2 server whose one suite an iPhone does not offer, a CCM_8
/// server, and CBC with and without Encrypt-then-MAC (`-no_etm`).
#[tokio::test]
async fn documents_verdicts_on_real_servers() {
    if !support::require(
        support::have("nginx") && support::have("openssl"),
        "nginx and openssl",
    ) {
        return;
    }
    let dir = support::tempdir();
    let leaf = rsa_leaf(dir.path());
    let ec = ec_leaf(dir.path());
    let sub = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).expect("dir");
        d
    };
    let nginx_default = start_nginx_with(&sub("default"), &leaf, "").expect("nginx");
    let nginx_listed = start_nginx_with(
        &sub("listed"),
        &leaf,
        "ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384;\n\
         ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256;\n",
    )
    .expect("nginx");
    let tls13 = ["-ciphersuites", "TLS_AES_128_GCM_SHA256"];
    let ats_fail = openssl_server(
        &leaf.cert,
        &leaf.key,
        None,
        &["-cipher", "ECDHE-RSA-AES128-SHA256", "-no_tls1_3"],
    );
    let ccm8 = openssl_server(
        &ec.cert,
        &ec.key,
        None,
        &[&["-cipher", "ECDHE-ECDSA-AES128-CCM8"][..], &tls13].concat(),
    );
    let cbc = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256";
    let etm = openssl_server(
        &leaf.cert,
        &leaf.key,
        None,
        &[&["-cipher", cbc][..], &tls13].concat(),
    );
    let no_etm = openssl_server(
        &leaf.cert,
        &leaf.key,
        None,
        &[&["-cipher", cbc, "-no_etm"][..], &tls13].concat(),
    );
    let mut text = String::from("catalog = \"none\"\n[targets]\nmdm = \"127.0.0.1\"\n");
    for (name, port) in [
        ("nginx-default", nginx_default.port),
        ("nginx-listed", nginx_listed.port),
        ("ats-fail", ats_fail.addr.port()),
        ("ccm8", ccm8.addr.port()),
        ("etm", etm.addr.port()),
        ("no-etm", no_etm.addr.port()),
    ] {
        text.push_str(&format!(
            "[[flow]]\nname = \"{name}\"\nfrom = \"administrators\"\nto = \"mdm\"\nport = {port}\n\
             check = \"tls\"\ntimeout = \"5s\"\n\
             tls = {{ trust = [], server_name = \"mdm.lab.test\", \
             protocol_policy = [\"nist-800-52r2\", \"disa-tomcat-9\", \"apple-ats\"] }}\n"
        ));
    }
    let c = support::config_from(&text);
    let reports = support::probe_all(&c).await;
    let j = |flow: &str, policy: &str| {
        let all = by_policy(&reports[flow]);
        let j = all.get(policy).cloned().expect("judged");
        assert!(j.complete, "{flow} {policy}: {:?}", j.unanswered);
        j
    };
    let cites = |list: &[Breach], needle: &str| list.iter().any(|v| v.cite().contains(needle));
    let family = |list: &[Breach], family: Family| {
        list.iter()
            .any(|v| matches!(v, Breach::FamilyAccepted { family: f, .. } if *f == family))
    };

    // nginx's defaults (`HIGH:!aNULL:!MD5`): outside the NIST lists
    // (ChaCha20), Appendix D a warning; static RSA a Tomcat STIG finding;
    // an iPhone connects.
    let n = j("nginx-default", "nist-800-52r2");
    assert!(n.outside.iter().any(|s| s.contains("CHACHA20")), "{n:?}");
    assert!(
        n.violations.iter().any(|v| matches!(v,
            Breach::SuitesOutside { cite, .. } if cite.contains("3.3.1.1, 3.3.1.2"))),
        "{:?}",
        n.violations
    );
    assert!(cites(&n.warnings, "Appendix D"), "{:?}", n.warnings);
    let d = j("nginx-default", "disa-tomcat-9");
    assert!(
        family(&d.violations, Family::StaticRsa),
        "{:?}",
        d.violations
    );
    assert!(
        cites(&d.violations, "V-222927 TCAT-AS-000020"),
        "{:?}",
        d.violations
    );
    assert!(j("nginx-default", "apple-ats").violations.is_empty());

    // Only listed suites and Appendix D's: SP 800-52r2 is met with a
    // warning naming the appendix; the Tomcat STIG is not.
    let n = j("nginx-listed", "nist-800-52r2");
    assert!(n.violations.is_empty(), "{:?}", n.violations);
    assert!(cites(&n.warnings, "Appendix D"), "{:?}", n.warnings);
    assert_eq!(n.transitional, ["TLS_RSA_WITH_AES_256_GCM_SHA384"]);
    assert!(family(
        &j("nginx-listed", "disa-tomcat-9").violations,
        Family::StaticRsa
    ));
    assert_eq!(reports["nginx-listed"].reason, Reason::TlsWeakProtocol);

    // TLS 1.2 with ECDHE-RSA-AES128-SHA256 only: no suite an iPhone offers.
    let a = j("ats-fail", "apple-ats");
    assert_eq!(a.ats, Some(false));
    assert!(
        a.violations
            .iter()
            .any(|v| matches!(v, Breach::AppleCannotConnect { .. })),
        "{:?}",
        a.violations
    );

    // ECDHE AEAD by CCM_8 only (and TLS 1.3): SP 800-52r2 is met.
    let n = j("ccm8", "nist-800-52r2");
    assert_eq!(n.ecdhe_aead, Some(true));
    assert!(n.violations.is_empty(), "{:?}", n.violations);

    // CBC: with Encrypt-then-MAC met, without (`-no_etm`) a violation.
    let n = j("etm", "nist-800-52r2");
    assert_eq!(
        n.etm,
        Some(flowprobe::analyze::tls_policy::EtmVerdict::Supported)
    );
    assert!(n.violations.is_empty(), "{:?}", n.violations);
    let n = j("no-etm", "nist-800-52r2");
    assert!(
        matches!(
            n.etm,
            Some(flowprobe::analyze::tls_policy::EtmVerdict::Missing { .. })
        ),
        "{:?}",
        n.etm
    );
    assert!(
        n.violations
            .iter()
            .any(|v| matches!(v, Breach::NoEncryptThenMac { .. })),
        "{:?}",
        n.violations
    );
    assert_eq!(reports["no-etm"].reason, Reason::TlsWeakProtocol);
}
