//! Secure endpoints (docs/secure-endpoints.md): `--web.config.file` in the exporter-toolkit
//! format, judged by independent clients: curl and `openssl s_client` for
//! TLS, client certificates and basic auth, a real Prometheus scraping with
//! `tls_config` + `basic_auth`, `promtool check web-config` on the files.
//! One daemon serves every TLS case; a second, plain one the slow clients.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use flowprobe_testkit as support;
use support::pki::openssl;
use support::{Proc, bin, free_port, have, http, require, tempdir, wait_for, write};

const PASSWORD: &str = "flowprobe-example";
/// bcrypt of `flowprobe-example`, as in deploy/web-config.yml.
const HASH: &str = "$2b$10$qQpFTYPQONH2LOYsfAWHrujloVDzTJXoJWt37j8/2EyK5iWYUiDPu";
/// bcrypt of `nobody-knows-this`.
const HASH2: &str = "$2b$10$wMJ6vRip5dKBnUScF1Infuso53O/F4qjnBGXg3i.q5OXRatNcewai";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8 temp path")
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, by
/// the openssl CLI.
struct Certs {
    ca: PathBuf,
    server: PathBuf,
    server_key: PathBuf,
    client: PathBuf,
    client_key: PathBuf,
}

fn certs(dir: &Path) -> Certs {
    let p = |n: &str| dir.join(n);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let (ca_key, ca_pem) = (p("ca.key"), p("ca.pem"));
    let mut args = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Web Test CA"];
    args.extend(ec);
    args.extend(["-keyout", s(&ca_key), "-out", s(&ca_pem)]);
    args.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    args.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(&args);
    for (name, cn, ext) in [
        (
            "server",
            "127.0.0.1",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "prometheus", "extendedKeyUsage=clientAuth\n"),
    ] {
        let subj = format!("/CN={cn}");
        let mut args = vec!["req", "-subj", &subj];
        args.extend(ec);
        let (key, csr) = (p(&format!("{name}.key")), p(&format!("{name}.csr")));
        args.extend(["-keyout", s(&key), "-out", s(&csr)]);
        openssl(&args);
        let extfile = write(dir, &format!("{name}.ext"), ext);
        openssl(&[
            "x509",
            "-req",
            "-in",
            s(&csr),
            "-CA",
            s(&p("ca.pem")),
            "-CAkey",
            s(&p("ca.key")),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            s(&extfile),
            "-out",
            s(&p(&format!("{name}.pem"))),
        ]);
    }
    Certs {
        ca: p("ca.pem"),
        server: p("server.pem"),
        server_key: p("server.key"),
        client: p("client.pem"),
        client_key: p("client.key"),
    }
}

fn web_config(c: &Certs, user: &str, hash: &str) -> String {
    format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\nbasic_auth_users:\n  {user}: '{hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        s(&c.server),
        s(&c.server_key),
        s(&c.ca)
    )
}

/// A flowprobe config with one TCP flow to `open` (which accepts).
fn flowprobe_toml(open: u16) -> String {
    format!(
        "vantages = [\"here\"]\n[targets]\nlo = \"127.0.0.1\"\n[[flow]]\nname = \"open\"\nfrom = \"here\"\nto = \"lo\"\nport = {open}\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
    )
}

/// The daemon on a port the kernel picks (`--listen 127.0.0.1:0`), and the
/// address it says it listens on. A port chosen beforehand and released
/// can be taken, before the daemon binds it, as the source port of another
/// test's outgoing connection (one CI run lost a test to that).
fn daemon(dir: &Path, extra: &[&str]) -> (Proc, String) {
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cfg = dir.join("flowprobe.toml");
    // The first daemon of a test writes daemon.log (tests read it).
    let first = dir.join("daemon.log");
    let log = if first.exists() {
        dir.join(format!("daemon-{n}.log"))
    } else {
        first
    };
    let proc = Proc::spawn(
        Command::new(bin())
            .args(["run", "--config", s(&cfg), "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log")),
    );
    let addr = wait_for(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&log).ok()?;
        let line = text.lines().find(|l| l.contains("flowprobe started"))?;
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("listen="))
            .map(str::to_owned)
    })
    .unwrap_or_else(|| {
        panic!(
            "the daemon did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    (proc, addr)
}

/// curl over TLS with the test CA: (HTTP status or None, headers+body).
fn curl(c: &Certs, port: u16, args: &[&str], path: &str) -> (Option<u16>, String) {
    let url = format!("https://127.0.0.1:{port}{path}");
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "5", "--cacert", s(&c.ca)])
        .args(args)
        .arg(&url)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok());
    (status, text + &String::from_utf8_lossy(&out.stderr))
}

fn cert_args(c: &Certs) -> Vec<String> {
    vec![
        "--cert".into(),
        s(&c.client).into(),
        "--key".into(),
        s(&c.client_key).into(),
    ]
}

fn with(c: &Certs, more: &[&str]) -> Vec<String> {
    let mut v = cert_args(c);
    v.extend(more.iter().map(|s| s.to_string()));
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `openssl s_client` with `extra`; (exit ok, combined output).
fn s_client(port: u16, extra: &[&str]) -> (bool, String) {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_client");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = child.wait_with_output().expect("s_client output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn tls_mtls_and_basic_auth_guard_every_endpoint_and_prometheus_scrapes() {
    if !require(have("curl") && have("openssl"), "curl and openssl") {
        return;
    }
    let dir = tempdir();
    let c = certs(dir.path());
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = tcp.local_addr().expect("addr").port();
    write(dir.path(), "flowprobe.toml", &flowprobe_toml(open));
    let webcfg = write(dir.path(), "web.yml", &web_config(&c, "prometheus", HASH));
    if require(have("promtool"), "promtool (Debian prometheus)") {
        let out = Command::new("promtool")
            .args(["check", "web-config", s(&webcfg)])
            .output()
            .expect("promtool");
        assert!(out.status.success(), "promtool: {out:?}");
        // The shipped example, with its paths pointed at real files.
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/web-config.yml"),
        )
        .expect("deploy/web-config.yml")
        .replace("/etc/flowprobe/tls/server.pem", s(&c.server))
        .replace("/etc/flowprobe/tls/server.key", s(&c.server_key))
        .replace("/etc/flowprobe/tls/scraper-ca.pem", s(&c.ca));
        let example = write(dir.path(), "example.yml", &example);
        let out = Command::new("promtool")
            .args(["check", "web-config", s(&example)])
            .output()
            .expect("promtool");
        assert!(out.status.success(), "promtool on the example: {out:?}");
    }
    let (_d, addr) = daemon(dir.path(), &["--web.config.file", s(&webcfg)]);
    let port: u16 = addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let good = with(&c, &["-u", &format!("prometheus:{PASSWORD}")]);
    wait_for(Duration::from_secs(10), || {
        curl(&c, port, &strs(&good), "/-/healthy")
            .0
            .filter(|s| *s == 200)
    })
    .unwrap_or_else(|| {
        panic!(
            "healthy over mTLS: {:?}",
            std::fs::read_to_string(dir.path().join("daemon.log"))
        )
    });

    // Without credentials, or with a wrong password: 401 everywhere.
    let wrong = with(&c, &["-u", "prometheus:wrong"]);
    let post = with(&c, &["-X", "POST"]);
    for path in [
        "/",
        "/metrics",
        "/-/healthy",
        "/-/ready",
        "/api/v1/flows",
        "/nope",
    ] {
        let (st, text) = curl(&c, port, &strs(&cert_args(&c)), path);
        assert_eq!(st, Some(401), "{path} without credentials: {text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{text}"
        );
        assert!(
            text.contains("X-Frame-Options") || text.contains("x-frame-options"),
            "{text}"
        );
        assert_eq!(
            curl(&c, port, &strs(&wrong), path).0,
            Some(401),
            "{path} wrong password"
        );
    }
    assert_eq!(curl(&c, port, &strs(&post), "/-/reload").0, Some(401));
    // With them: served; the lifecycle API is off without the flag.
    let (st, text) = curl(&c, port, &strs(&good), "/metrics");
    assert_eq!(st, Some(200), "{text}");
    assert!(text.contains("flowprobe_flow_up"), "{text}");
    let good_post = with(&c, &["-u", &format!("prometheus:{PASSWORD}"), "-X", "POST"]);
    let (st, text) = curl(&c, port, &strs(&good_post), "/-/reload");
    assert_eq!(st, Some(403), "{text}");
    assert!(text.contains("Lifecycle API is not enabled."), "{text}");

    // No client certificate: the handshake is refused, no HTTP answer.
    let (st, text) = curl(
        &c,
        port,
        &["-u", &format!("prometheus:{PASSWORD}")],
        "/metrics",
    );
    assert_eq!(st, None, "no client certificate must get no answer: {text}");
    let (_, text) = s_client(port, &["-CAfile", s(&c.ca)]);
    assert!(!text.contains("HTTP/1.1"), "no client certificate: {text}");
    // TLS 1.2 with the certificate is served; TLS 1.1 is refused.
    let (_, text) = s_client(
        port,
        &[
            "-tls1_2",
            "-CAfile",
            s(&c.ca),
            "-cert",
            s(&c.client),
            "-key",
            s(&c.client_key),
        ],
    );
    assert!(
        text.contains("Protocol  : TLSv1.2") || text.contains("TLSv1.2"),
        "{text}"
    );
    assert!(
        text.contains("HTTP/1.1 401"),
        "TLS 1.2 reaches HTTP: {text}"
    );
    let (ok, text) = s_client(
        port,
        &[
            "-tls1_1",
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-CAfile",
            s(&c.ca),
            "-cert",
            s(&c.client),
            "-key",
            s(&c.client_key),
        ],
    );
    assert!(
        !ok && !text.contains("HTTP/1.1"),
        "TLS 1.1 must be refused: {text}"
    );
    // Plain HTTP to the TLS port: no HTTP answer.
    let mut plain = TcpStream::connect(&addr).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    plain
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("HTTP/"), "{buf:?}");

    // A real Prometheus scrapes with tls_config and basic_auth.
    if require(have("prometheus"), "prometheus (Debian prometheus)") {
        let pass = write(dir.path(), "scrape.pass", PASSWORD);
        let prom_cfg = write(
            dir.path(),
            "prometheus.yml",
            &format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: flowprobe\n    scheme: https\n    tls_config:\n      ca_file: {}\n      cert_file: {}\n      key_file: {}\n    basic_auth:\n      username: prometheus\n      password_file: {}\n    static_configs:\n      - targets: ['{addr}']\n",
                s(&c.ca),
                s(&c.client),
                s(&c.client_key),
                s(&pass)
            ),
        );
        let prom_port = free_port();
        let prom_addr = format!("127.0.0.1:{prom_port}");
        let _prom = Proc::spawn(
            Command::new("prometheus")
                .arg(format!("--config.file={}", s(&prom_cfg)))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    s(&dir.path().join("tsdb"))
                ))
                .arg(format!("--web.listen-address={prom_addr}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let up = wait_for(Duration::from_secs(30), || {
            let (st, body) = http("GET", &prom_addr, "/api/v1/query?query=up")?;
            (st == 200 && body.contains("\"flowprobe\"")).then_some(body)
        })
        .expect("prometheus answers with the flowprobe target");
        let up = wait_for(Duration::from_secs(15), || {
            let (_, body) = http("GET", &prom_addr, "/api/v1/query?query=up")?;
            body.contains("\"1\"]").then_some(body)
        })
        .unwrap_or(up);
        assert!(
            up.contains("\"1\"]"),
            "up == 1 over mTLS + basic auth: {up}"
        );
    }

    // Rotation: a new user replaces the old one without a restart; a broken
    // file then keeps the last good configuration.
    write(dir.path(), "web.yml", &web_config(&c, "ops", HASH2));
    let rotated = with(&c, &["-u", "ops:nobody-knows-this"]);
    wait_for(Duration::from_secs(10), || {
        curl(&c, port, &strs(&rotated), "/-/healthy")
            .0
            .filter(|s| *s == 200)
    })
    .expect("the changed file is served");
    assert_eq!(curl(&c, port, &strs(&good), "/-/healthy").0, Some(401));
    write(
        dir.path(),
        "web.yml",
        "tls_server_config: [not, a, table]\n",
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(curl(&c, port, &strs(&rotated), "/-/healthy").0, Some(200));
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).expect("log");
    assert!(log.contains("keeping the last good one"), "{log}");
    assert!(
        !log.contains(PASSWORD) && !log.contains("$2b$"),
        "no secrets in logs: {log}"
    );
    drop(tcp);
}

#[test]
fn bad_web_config_is_a_usage_error_naming_file_and_key() {
    let dir = tempdir();
    write(dir.path(), "flowprobe.toml", &flowprobe_toml(9));
    let web = write(
        dir.path(),
        "web.yml",
        "tls_server_config:\n  min_version: TLS11\nbasic_auth_users:\n  ops: secret-plain\n",
    );
    let out = Command::new(bin())
        .args(["run", "--config", s(&dir.path().join("flowprobe.toml"))])
        .args(["--listen", "127.0.0.1:0", "--web.config.file", s(&web)])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for key in [
        "tls_server_config.cert_file",
        "tls_server_config.min_version",
        "basic_auth_users.ops",
    ] {
        assert!(err.contains(&format!("web.yml: {key}")), "{key}: {err}");
    }
    assert!(!err.contains("secret-plain"), "{err}");
}

/// The sum of every sample of `name`.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn slow_header_clients_are_cut_and_starve_neither_scrapes_nor_probes() {
    let dir = tempdir();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = tcp.local_addr().expect("addr").port();
    // Accept (and drop) the probes' connections so the flow stays up.
    std::thread::spawn(move || for _ in tcp.incoming() {});
    write(dir.path(), "flowprobe.toml", &flowprobe_toml(open));
    let (_d, addr) = daemon(dir.path(), &[]);
    wait_for(Duration::from_secs(10), || {
        http("GET", &addr, "/-/ready").filter(|(s, _)| *s == 200)
    })
    .expect("ready");
    let before = http("GET", &addr, "/metrics").expect("scrape").1;
    let probes = |text: &str| metric_sum(text, "flowprobe_probes_total{");
    // 500 clients that send half a request line and then nothing.
    let mut slow: Vec<TcpStream> = (0..500)
        .filter_map(|_| {
            let mut s = TcpStream::connect(&addr).ok()?;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .ok()?;
            Some(s)
        })
        .collect();
    assert_eq!(slow.len(), 500, "every slow client connected");
    std::thread::sleep(Duration::from_secs(2));
    let (st, during) = http("GET", &addr, "/metrics").expect("a scrape among slow clients");
    assert_eq!(st, 200);
    assert!(
        during.contains("flowprobe_flow_up{") && during.contains("flow=\"open\""),
        "{during}"
    );
    let up = during
        .lines()
        .find(|l| l.starts_with("flowprobe_flow_up{") && l.contains("flow=\"open\""))
        .and_then(|l| l.rsplit(' ').next())
        .map(str::to_string);
    assert_eq!(
        up.as_deref(),
        Some("1"),
        "the probe still succeeds: {during}"
    );
    assert!(probes(&during) > probes(&before), "probes kept running");
    // The header deadline (10 s) cuts them: the server closes each.
    std::thread::sleep(Duration::from_secs(10));
    let mut cut = 0;
    for s in slow.iter_mut().take(20) {
        let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
        let mut buf = [0u8; 256];
        // hyper answers 408 or just closes; either way the read ends.
        if s.read(&mut buf).is_ok() {
            cut += 1;
        }
    }
    assert_eq!(cut, 20, "slow clients were cut by the header deadline");
}

#[test]
fn check_endpoint_runs_the_flows_once_and_one_at_a_time() {
    let dir = tempdir();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = tcp.local_addr().expect("addr").port();
    std::thread::spawn(move || for _ in tcp.incoming() {});
    // A DNS server that never answers keeps the "slow" flow for its timeout.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let dns = silent.local_addr().expect("addr").port();
    let toml = flowprobe_toml(open).replace(
        "[targets]\n",
        &format!("[vantage.here]\ndns_servers = [\"127.0.0.1:{dns}\"]\n[targets]\nsilent = \"never.answers.test\"\n"),
    ) + "[[flow]]\nname = \"slow\"\nfrom = \"here\"\nto = \"silent\"\nport = 443\ninterval = \"1h\"\ntimeout = \"3s\"\n";
    write(dir.path(), "flowprobe.toml", &toml);
    let (_d, addr) = daemon(dir.path(), &["--web.enable-lifecycle"]);
    wait_for(Duration::from_secs(10), || {
        http("GET", &addr, "/-/healthy").filter(|(s, _)| *s == 200)
    })
    .expect("healthy");
    // Only the named flow: answered at once, the JSON of `check`.
    let (st, body) = http("POST", &addr, "/api/v1/check?flow=open").expect("check");
    assert_eq!(st, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["ok"], true, "{body}");
    assert_eq!(v["flows"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(v["flows"][0]["name"], "open");
    let (st, _) = http("POST", &addr, "/api/v1/check?flow=nope").expect("check");
    assert_eq!(st, 400, "an unknown flow is refused");
    let (st, body) = http("POST", &addr, "/api/v1/check?vantage=nowhere").expect("check");
    assert_eq!(st, 400, "an unknown vantage is refused: {body}");
    let (st, body) = http("POST", &addr, "/api/v1/check?vantage=here&flow=open").expect("check");
    assert_eq!(st, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["flows"].as_array().map(Vec::len), Some(1), "{body}");
    let (st, body) = http(
        "POST",
        &addr,
        "/api/v1/check?vantage=nowhere&skip_unknown=true",
    )
    .expect("check");
    assert_eq!(st, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["flows"].as_array().map(Vec::len), Some(0), "{body}");
    // Every flow: the slow one keeps the first check running; a second gets 429.
    let first = {
        let addr = addr.clone();
        std::thread::spawn(move || http("POST", &addr, "/api/v1/check"))
    };
    std::thread::sleep(Duration::from_millis(700));
    let second = raw("POST", &addr, "/api/v1/check");
    let (st, body) = first.join().expect("thread").expect("first check");
    assert_eq!(st, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["ok"], false, "the slow flow fails: {body}");
    assert_eq!(v["flows"].as_array().map(Vec::len), Some(2), "{body}");
    let second = second.expect("second check answers");
    assert!(second.starts_with("HTTP/1.1 429"), "{second}");
    assert!(
        second.to_ascii_lowercase().contains("retry-after:"),
        "{second}"
    );
    // Without the flag both lifecycle endpoints answer 403.
    let (_d2, addr2) = daemon(dir.path(), &[]);
    wait_for(Duration::from_secs(10), || {
        http("GET", &addr2, "/-/healthy").filter(|(s, _)| *s == 200)
    })
    .expect("healthy");
    for path in ["/-/reload", "/api/v1/check"] {
        let (st, body) = http("POST", &addr2, path).expect("answer");
        assert_eq!(st, 403, "{path}: {body}");
        assert_eq!(body, "Lifecycle API is not enabled.\n");
    }
    drop(silent);
}

/// The whole answer (status line and headers included) of one request.
fn raw(method: &str, addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The status code of one request with `headers` (and `Host: host`).
fn status_with(addr: &str, method: &str, path: &str, host: &str, headers: &[&str]) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    String::from_utf8_lossy(&buf)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
}

/// With `--web.enable-lifecycle`, what a page of another site can send
/// without a preflight is refused (an `Origin` that is not this host, or a
/// text/form POST without one), while `curl -X POST` and a same-origin
/// request work; with `--web.allowed-hosts`, a foreign `Host` (DNS
/// rebinding) gets 421 on every endpoint.
#[test]
fn cross_site_posts_and_foreign_hosts_are_refused() {
    let dir = tempdir();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = tcp.local_addr().expect("addr").port();
    std::thread::spawn(move || for _ in tcp.incoming() {});
    write(dir.path(), "flowprobe.toml", &flowprobe_toml(open));
    let (_d, addr) = daemon(
        dir.path(),
        &[
            "--web.enable-lifecycle",
            "--web.allowed-hosts",
            "127.0.0.1,localhost",
        ],
    );
    wait_for(Duration::from_secs(10), || {
        http("GET", &addr, "/-/healthy").filter(|(s, _)| *s == 200)
    })
    .expect("healthy");
    let here = addr.as_str();
    let port = addr.rsplit(':').next().expect("port");
    let st = |method: &str, path: &str, host: &str, headers: &[&str]| {
        status_with(&addr, method, path, host, headers).expect("an answer")
    };
    assert_eq!(st("POST", "/-/reload", here, &[]), 200, "curl -X POST");
    assert_eq!(
        st("POST", "/-/reload", here, &["Content-Type: text/plain"]),
        403
    );
    assert_eq!(
        st(
            "POST",
            "/api/v1/check",
            here,
            &["Content-Type: application/x-www-form-urlencoded"]
        ),
        403
    );
    assert_eq!(
        st("POST", "/-/reload", here, &["Origin: http://evil.example"]),
        403
    );
    let origin = format!("Origin: http://{here}");
    assert_eq!(st("POST", "/-/reload", here, &[&origin]), 200);
    // DNS rebinding: the page's own name in Host.
    assert_eq!(st("GET", "/api/v1/flows", "evil.example", &[]), 421);
    assert_eq!(
        st("GET", "/metrics", &format!("evil.example:{port}"), &[]),
        421
    );
    assert_eq!(
        st("GET", "/api/v1/flows", &format!("localhost:{port}"), &[]),
        200
    );
}
