//! The fleet check (docs/fleet.md): `flowprobe check --fleet` and
//! `--remote URL` ask real `flowprobe run` daemons (TLS, basic auth,
//! client certificates) for a check and merge one matrix.
//!
//! - Offline: configuration errors; hostile instances (garbage, a huge
//!   body, 401, silence, bad JSON) end in a bounded reason and exit 3
//!   within the timeout; a real daemon on loopback over mutual TLS.
//! - The lab (root): three daemons in the administrators, mobile-devices
//!   and mdm-server namespaces, the fleet check run from the firewall
//!   namespace, against tests/lab/expected/*.json.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use support::lab::{Lab, expected};
use support::{Proc, bin, free_port, have, require, tempdir, wait_for, write};

const PASSWORD: &str = "flowprobe-example";
/// bcrypt of `flowprobe-example`, as in deploy/web-config.yml.
const HASH: &str = "$2b$10$qQpFTYPQONH2LOYsfAWHrujloVDzTJXoJWt37j8/2EyK5iWYUiDPu";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8 temp path")
}

/// A test CA, a server certificate for `ips` and a client certificate.
struct Certs {
    ca: PathBuf,
    server: PathBuf,
    server_key: PathBuf,
    client: PathBuf,
    client_key: PathBuf,
}

fn certs(dir: &Path, ips: &[&str]) -> Certs {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Fleet Test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |names: Vec<String>, eku: rcgen::ExtendedKeyUsagePurpose| {
        let mut p = CertificateParams::new(names).expect("leaf params");
        p.extended_key_usages = vec![eku];
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &issuer).expect("leaf");
        (cert.pem(), key.serialize_pem())
    };
    let (server, server_key) = leaf(
        ips.iter().map(|s| s.to_string()).collect(),
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client, client_key) = leaf(
        vec!["fleet-client".into()],
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    );
    Certs {
        ca: write(dir, "ca.pem", &ca_cert.pem()),
        server: write(dir, "server.pem", &server),
        server_key: write(dir, "server.key", &server_key),
        client: write(dir, "client.pem", &client),
        client_key: write(dir, "client.key", &client_key),
    }
}

/// The daemon's web configuration: TLS, basic auth for `ops`, and client
/// certificates when `mtls`.
fn web_config(dir: &Path, c: &Certs, mtls: bool) -> PathBuf {
    let client = if mtls {
        format!(
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n",
            s(&c.ca)
        )
    } else {
        String::new()
    };
    write(
        dir,
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n{client}basic_auth_users:\n  ops: '{HASH}'\n",
            s(&c.server),
            s(&c.server_key)
        ),
    )
}

/// `[fleet.defaults]` with the CA and the `ops` password (file in `dir`).
fn fleet_defaults(dir: &Path, c: &Certs, extra: &str) -> String {
    let pw = write(dir, "fleet.pass", &format!("{PASSWORD}\n"));
    format!(
        "[fleet.defaults]\nca_file = \"{}\"\nbasic_auth = {{ username = \"ops\", password_file = \"{}\" }}\n{extra}",
        s(&c.ca),
        s(&pw)
    )
}

/// One TCP flow `open` from vantage `here` to `port` on loopback.
fn local_flows(port: u16) -> String {
    format!(
        "vantages = [\"here\"]\n[targets]\nlo = \"127.0.0.1\"\n[[flow]]\nname = \"open\"\nfrom = \"here\"\nto = \"lo\"\nport = {port}\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
    )
}

/// `cmd` with a watchdog: a fleet check that hangs fails the test.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("the command did not finish within {limit:?}: {cmd:?}");
        }
    }
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("json: {e}\n{}", text(o)))
}

fn check(cfg: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(["check", "--config", s(cfg)])
        .args(args)
        .env_remove("RUST_LOG");
    c
}

fn daemon(cfg: &Path, addr: &str, webcfg: &Path, log: &Path) -> Proc {
    Proc::spawn(
        Command::new(bin())
            .args(["run", "--config", s(cfg), "--listen", addr])
            .args(["--web.config.file", s(webcfg), "--web.enable-lifecycle"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("log")),
    )
}

fn wait_listening(addr: &str, log: &Path) {
    wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(addr).ok()
    })
    .unwrap_or_else(|| panic!("daemon: {:?}", std::fs::read_to_string(log)));
}

// ------------------------------------------------------------ offline ----

#[test]
fn fleet_configuration_errors_are_reported_together_with_their_keys() {
    let dir = tempdir();
    let cert = write(dir.path(), "c.pem", "not a certificate");
    let cfg = write(
        dir.path(),
        "f.toml",
        &format!(
            "{}[fleet.defaults]\nca_file = \"/nonexistent/ca.pem\"\ntimeout = \"soon\"\nbasic_auth = {{ username = \"ops\" }}\n\
             [[fleet.instance]]\nurl = \"ftp://probe.example.mil\"\n\
             [[fleet.instance]]\nurl = \"https://u:p@probe.example.mil\"\n\
             [[fleet.instance]]\nurl = \"https://a.example.mil:9725\"\ncert_file = \"{}\"\n\
             [[fleet.instance]]\nurl = \"https://b.example.mil:9725\"\nname = \"b\"\n\
             [[fleet.instance]]\nurl = \"https://c.example.mil:9725\"\nname = \"b\"\n\
             [[fleet.instance]]\nhost = \"d\"\n\
             [[fleet.instance]]\nurl = \"https://e.example.mil:9725\"\nvantages = [\"nowhere\"]\n",
            local_flows(1),
            s(&cert)
        ),
    );
    let o = run(
        Command::new(bin()).args(["config", "check", "--config", s(&cfg)]),
        Duration::from_secs(20),
    );
    assert_eq!(code(&o), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for key in [
        "fleet.defaults.ca_file: cannot read /nonexistent/ca.pem",
        "fleet.defaults.timeout: invalid duration",
        "fleet.defaults.basic_auth.password_file: is required",
        "fleet.instance[0].url: \"ftp://probe.example.mil\" is not an http:// or https:// URL",
        "fleet.instance[1].url:",
        "no user or password in the URL",
        "fleet.instance[2].key_file: is required with cert_file",
        "fleet.instance[4].name: duplicate instance name \"b\"",
        "fleet.instance[5]",
        "fleet.instance[6].vantages: unknown vantage \"nowhere\"; known: ",
    ] {
        assert!(err.contains(key), "missing {key:?} in:\n{err}");
    }

    // Valid: `config show` prints the password file, never the password.
    let c = certs(dir.path(), &["127.0.0.1"]);
    let cfg = write(
        dir.path(),
        "ok.toml",
        &format!(
            "{}{}[[fleet.instance]]\nurl = \"https://127.0.0.1:9725\"\nname = \"lo\"\ntimeout = \"3s\"\n",
            local_flows(1),
            fleet_defaults(dir.path(), &c, "")
        ),
    );
    let o = run(
        Command::new(bin()).args(["config", "show", "--config", s(&cfg)]),
        Duration::from_secs(20),
    );
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("fleet.pass"), "{shown}");
    assert!(shown.contains("https://127.0.0.1:9725"), "{shown}");
    assert!(!shown.contains(PASSWORD), "the password leaked:\n{shown}");
    // What `config show` printed loads back.
    let again = write(dir.path(), "again.toml", &shown);
    let o = run(
        Command::new(bin()).args(["config", "check", "--config", s(&again)]),
        Duration::from_secs(20),
    );
    assert_eq!(code(&o), Some(0), "{}", text(&o));

    // Usage errors: --fleet without instances, a bad --remote, --local alone.
    let plain = write(dir.path(), "plain.toml", &local_flows(1));
    for args in [
        vec!["--fleet"],
        vec!["--remote", "probe.example.mil:9725"],
        vec!["--local"],
        vec!["--remote", "http://127.0.0.1:1", "--flow", "nope"],
    ] {
        let o = run(&mut check(&plain, &args), Duration::from_secs(20));
        assert_eq!(code(&o), Some(2), "{args:?}: {}", text(&o));
    }
}

/// A hostile HTTP server on loopback: each connection gets `answer`.
fn hostile(answer: fn(&mut std::net::TcpStream)) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            std::thread::spawn(move || {
                // Read the request head first, as a server would.
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                answer(&mut c);
            });
        }
    });
    port
}

#[test]
fn hostile_instances_end_in_a_bounded_reason_and_exit_3_within_the_timeout() {
    let garbage = hostile(|c| {
        let _ = c.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x1b[2J\x00\xff garbage\r\n\r\n");
    });
    let huge = hostile(|c| {
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
        let chunk = vec![b' '; 1 << 20];
        // Close-delimited, without a length: up to 200 MiB of spaces.
        for _ in 0..200 {
            if c.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let declared = hostile(|c| {
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n{");
    });
    let unauthorized = hostile(|c| {
        let _ = c.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
        );
    });
    let busy = hostile(|c| {
        let _ = c.write_all(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
        );
    });
    let silent = hostile(|_| std::thread::sleep(Duration::from_secs(60)));
    let bad_json = hostile(|c| {
        let body = br#"{"ok":true,"flows":[{"vantage":1}]}"#;
        let _ = write!(
            c,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = c.write_all(body);
    });
    let long_error = hostile(|c| {
        let body = "x".repeat(1 << 20);
        let _ = write!(
            c,
            "HTTP/1.1 500 Oops\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = c.write_all(body.as_bytes());
    });
    let closed = free_port();

    let dir = tempdir();
    let cfg = write(
        dir.path(),
        "f.toml",
        &format!("{}[fleet.defaults]\ntimeout = \"2s\"\n", local_flows(1)),
    );
    let cases: [(u16, &str); 9] = [
        (garbage, "not an HTTP answer"),
        // A check answer is parsed as it arrives (up to 1 GiB): 200 MiB of
        // spaces end at the timeout, a declared 100 GB at once.
        (huge, "no complete answer within"),
        (declared, "answer larger than 1024 MiB"),
        (unauthorized, "401 Unauthorized"),
        (busy, "429 busy"),
        (silent, "no complete answer within 2s"),
        (bad_json, "malformed answer"),
        (long_error, "HTTP 500"),
        (closed, "unreachable"),
    ];
    let mut args = vec!["--output".to_string(), "json".to_string()];
    for (port, _) in &cases {
        args.push("--remote".into());
        args.push(format!("http://127.0.0.1:{port}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&mut check(&cfg, &args), Duration::from_secs(30));
    assert_eq!(code(&o), Some(3), "{}", text(&o));
    let j = json(&o);
    assert_eq!(j["ok"], false);
    let err = String::from_utf8_lossy(&o.stderr);
    let instances = j["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), cases.len(), "{j:#}");
    for ((port, want), i) in cases.iter().zip(instances) {
        let name = format!("127.0.0.1:{port}");
        assert_eq!(i["name"], name.as_str());
        assert_eq!(i["ok"], false, "{i}");
        let e = i["error"].as_str().expect("error");
        assert!(e.contains(want), "{name}: {e:?} should say {want:?}");
        assert!(e.chars().count() < 1100, "bounded: {e:?}");
        assert!(
            !e.chars().any(char::is_control),
            "no control characters: {e:?}"
        );
        assert!(
            err.lines().any(|l| l.contains(&name) && l.contains(want)),
            "stderr names {name}: {err}"
        );
    }
    // Nobody answered: the catalog's flow is not covered.
    assert_eq!(j["not_covered"][0]["name"], "open", "{j:#}");
}

/// A check answer larger than any whole-body cap (80 MiB here, as a
/// 300,000-flow instance answers hundreds of MB) is parsed as it arrives.
#[test]
fn a_check_answer_beyond_64_mib_is_parsed_as_it_arrives() {
    let dir = tempdir();
    let big = hostile(|c| {
        let _ = c.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\": true, \"flows\": [",
        );
        // 80 MiB of the whitespace JSON allows between tokens, then a row.
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..80 {
            if c.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = c.write_all(
            br#"{"vantage":"here","name":"open","from":"here","to":"lo","host":"127.0.0.1","port":1,"check":"tcp","expect":"open","severity":"critical","last":null}]}"#,
        );
    });
    let cfg = write(
        dir.path(),
        "f.toml",
        &format!("{}[fleet.defaults]\ntimeout = \"60s\"\n", local_flows(1)),
    );
    let url = format!("http://127.0.0.1:{big}");
    let o = run(
        &mut check(&cfg, &["--remote", &url, "--output", "json"]),
        Duration::from_secs(90),
    );
    let j = json(&o);
    assert_eq!(j["instances"][0]["ok"], true, "{}", text(&o));
    assert_eq!(
        j["instances"][0]["flows"], 1,
        "the row after 80 MiB is read"
    );
}

#[test]
fn a_daemon_over_mutual_tls_and_basic_auth_answers_the_fleet_check() {
    let dir = tempdir();
    let c = certs(dir.path(), &["127.0.0.1"]);
    let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = tcp.local_addr().expect("addr").port();
    let flows = local_flows(open);
    let dcfg = write(dir.path(), "daemon.toml", &flows);
    let webcfg = web_config(dir.path(), &c, true);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let log = dir.path().join("daemon.log");
    let _d = daemon(&dcfg, &addr, &webcfg, &log);
    wait_listening(&addr, &log);
    let url = format!("https://{addr}");

    // Configured instance, with the client certificate: the matrix.
    let good = write(
        dir.path(),
        "good.toml",
        &format!(
            "{flows}{}[[fleet.instance]]\nurl = \"{url}\"\nname = \"here-probe\"\n",
            fleet_defaults(
                dir.path(),
                &c,
                &format!(
                    "cert_file = \"{}\"\nkey_file = \"{}\"\n",
                    s(&c.client),
                    s(&c.client_key)
                )
            )
        ),
    );
    let o = run(
        &mut check(&good, &["--fleet", "--output", "json"]),
        Duration::from_secs(30),
    );
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    let j = json(&o);
    assert_eq!(j["ok"], true, "{j:#}");
    let rows = j["flows"].as_array().expect("flows");
    assert_eq!(rows.len(), 1, "{j:#}");
    assert_eq!(rows[0]["instance"], "here-probe");
    assert_eq!(rows[0]["vantage"], "here");
    assert_eq!(rows[0]["status"], "pass");
    assert_eq!(rows[0]["last"]["reason"], "ok");
    assert_eq!(j["instances"][0]["ok"], true);

    // --flow passes through; --local adds this host's run: the same flow
    // twice, from two instances, is two rows and no error.
    let o = run(
        &mut check(
            &good,
            &[
                "--remote", &url, "--local", "--flow", "open", "--output", "table",
            ],
        ),
        Duration::from_secs(30),
    );
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("127.0.0.1:") && table.contains("local"),
        "{table}"
    );
    assert!(
        table.contains("2 rows, 2 pass, 0 fail, 0 not covered"),
        "{table}"
    );
    // JUnit, like `check`.
    let o = run(
        &mut check(&good, &["--fleet", "--output", "junit"]),
        Duration::from_secs(30),
    );
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("failures=\"0\" errors=\"0\""));

    // A row covers its catalog flow only from a vantage its instance runs
    // and when it probes the same thing: an instance that declares another
    // vantage, or a flow of the catalog's name on another port, is a
    // mismatch, and the catalog flow is not covered (exit 1).
    let client = format!(
        "cert_file = \"{}\"\nkey_file = \"{}\"\n",
        s(&c.client),
        s(&c.client_key)
    );
    let elsewhere = write(
        dir.path(),
        "elsewhere.toml",
        &format!(
            "{flows}[vantage.elsewhere]\n{}[[fleet.instance]]\nurl = \"{url}\"\nname = \"here-probe\"\nvantages = [\"elsewhere\"]\n",
            fleet_defaults(dir.path(), &c, &client)
        ),
    );
    let o = run(
        &mut check(&elsewhere, &["--fleet", "--output", "json"]),
        Duration::from_secs(30),
    );
    assert_eq!(code(&o), Some(1), "{}", text(&o));
    let j = json(&o);
    assert_eq!(j["ok"], false, "{j:#}");
    assert_eq!(j["flows"][0]["status"], "mismatch", "{j:#}");
    assert_eq!(j["flows"][0]["mismatch"][0]["kind"], "vantage", "{j:#}");
    assert_eq!(j["not_covered"].as_array().map(Vec::len), Some(1), "{j:#}");
    let other = if open == u16::MAX { open - 1 } else { open + 1 };
    let moved = write(
        dir.path(),
        "moved.toml",
        &format!(
            "{}{}[[fleet.instance]]\nurl = \"{url}\"\nname = \"here-probe\"\nvantages = [\"here\"]\n",
            local_flows(other),
            fleet_defaults(dir.path(), &c, &client)
        ),
    );
    for (output, want) in [
        ("table", format!("port {open} (catalog: {other})")),
        ("junit", "failure type=\"mismatch\"".to_string()),
    ] {
        let o = run(
            &mut check(&moved, &["--fleet", "--output", output]),
            Duration::from_secs(30),
        );
        assert_eq!(code(&o), Some(1), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains(&want), "{output}: {out}");
        if output == "table" {
            assert!(
                out.contains("MISMATCH") && out.contains("1 not covered"),
                "{out}"
            );
        }
    }

    // No client certificate, a wrong password, nobody listening: exit 3,
    // each instance with its reason.
    let bad_pw = write(dir.path(), "bad.pass", "wrong\n");
    let bad = write(
        dir.path(),
        "bad.toml",
        &format!(
            "{flows}{}[[fleet.instance]]\nurl = \"{url}\"\nname = \"no-cert\"\n\
             [[fleet.instance]]\nurl = \"{url}\"\nname = \"bad-password\"\ncert_file = \"{}\"\nkey_file = \"{}\"\nbasic_auth = {{ username = \"ops\", password_file = \"{}\" }}\n\
             [[fleet.instance]]\nurl = \"https://127.0.0.1:{}\"\nname = \"nobody\"\n",
            fleet_defaults(dir.path(), &c, "timeout = \"5s\"\n"),
            s(&c.client),
            s(&c.client_key),
            s(&bad_pw),
            free_port()
        ),
    );
    let o = run(
        &mut check(&bad, &["--fleet", "--output", "json"]),
        Duration::from_secs(30),
    );
    assert_eq!(code(&o), Some(3), "{}", text(&o));
    let j = json(&o);
    let reasons: BTreeMap<String, String> = j["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("name").to_string(),
                i["error"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        reasons["no-cert"].contains("TLS") || reasons["no-cert"].contains("not an HTTP answer"),
        "{reasons:?}"
    );
    assert!(reasons["bad-password"].contains("401"), "{reasons:?}");
    assert!(reasons["nobody"].contains("unreachable"), "{reasons:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains(PASSWORD) && !err.contains("wrong"), "{err}");
}

// ---------------------------------------------------------------- lab ----

/// The merged matrix as name -> (vantage, up, reason), and the instance
/// of each row (each flow once: one instance per vantage here).
fn matrix(j: &serde_json::Value) -> BTreeMap<String, (String, bool, String)> {
    let mut out = BTreeMap::new();
    for f in j["flows"].as_array().expect("flows") {
        let name = f["name"].as_str().expect("name").to_string();
        let v = (
            f["vantage"].as_str().expect("vantage").to_string(),
            f["last"]["up"].as_bool().expect("up"),
            f["last"]["reason"].as_str().expect("reason").to_string(),
        );
        assert_eq!(
            f["instance"].as_str(),
            Some(v.0.as_str()),
            "each vantage's own instance probed {name}"
        );
        assert!(out.insert(name.clone(), v).is_none(), "{name} twice");
    }
    out
}

#[test]
fn lab_fleet_check_merges_three_vantages_and_names_the_missing_instance() {
    if !require(have("curl"), "curl") {
        return;
    }
    let Some(lab) = Lab::up() else { return };
    let bin = bin();
    let bin = bin.to_str().expect("utf8");
    let dir = tempdir();
    let ips = [
        ("administrators", lab.var("FPLAB_IP_ADMINISTRATORS")),
        ("mobile-devices", lab.var("FPLAB_IP_MOBILE_DEVICES")),
        ("mdm-server", lab.var("FPLAB_IP_MDM_SERVER")),
    ];
    let ip_list: Vec<&str> = ips.iter().map(|(_, ip)| ip.as_str()).collect();
    let c = certs(dir.path(), &ip_list);
    let webcfg = web_config(dir.path(), &c, false);
    let mut daemons = BTreeMap::new();
    for (v, ip) in &ips {
        let listen = format!("{ip}:9725");
        let cfg = lab.config(v);
        let log = std::fs::File::create(dir.path().join(format!("{v}.log"))).expect("log");
        let mut cmd = lab.exec(
            v,
            &[
                bin,
                "run",
                "--config",
                &cfg,
                "--listen",
                &listen,
                "--web.config.file",
                s(&webcfg),
                "--web.enable-lifecycle",
            ],
        );
        cmd.stdout(Stdio::null()).stderr(log);
        daemons.insert(v.to_string(), Proc::spawn(&mut cmd));
    }
    // The catalog: one vantage's lab configuration without its `vantages`
    // line (every vantage's flows), plus the fleet.
    let base = std::fs::read_to_string(lab.config("administrators")).expect("lab config");
    let base: String = base
        .lines()
        .filter(|l| !l.starts_with("vantages"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut fleet = fleet_defaults(dir.path(), &c, "");
    for (v, ip) in &ips {
        fleet.push_str(&format!(
            "[[fleet.instance]]\nname = \"{v}\"\nurl = \"https://{ip}:9725\"\n"
        ));
    }
    let fleet_cfg = write(dir.path(), "fleet.toml", &format!("{base}{fleet}"));
    let fleet_cfg = s(&fleet_cfg).to_string();
    for (v, ip) in &ips {
        let url = format!("https://{ip}:9725/-/healthy");
        let up = wait_for(Duration::from_secs(20), || {
            let o = lab
                .exec(
                    "firewall",
                    &[
                        "curl",
                        "-sf",
                        "--cacert",
                        s(&c.ca),
                        "-u",
                        &format!("ops:{PASSWORD}"),
                        &url,
                    ],
                )
                .output()
                .ok()?;
            o.status.success().then_some(())
        });
        assert!(
            up.is_some(),
            "{v} daemon: {:?}",
            std::fs::read_to_string(dir.path().join(format!("{v}.log")))
        );
    }
    let fleet_check = |args: &[&str]| {
        let mut a = vec![bin, "check", "--config", &fleet_cfg];
        a.extend(args);
        run(&mut lab.exec("firewall", &a), Duration::from_secs(60))
    };
    let scenario = |name: &str, want_code: i32| {
        if name != "compliant" {
            lab.scenario(name);
        }
        let o = fleet_check(&["--fleet", "--output", "json"]);
        assert_eq!(code(&o), Some(want_code), "{name}: {}", text(&o));
        let got = matrix(&json(&o));
        assert_eq!(got, expected(name), "{name}: {}", text(&o));
        let table = fleet_check(&["--fleet"]);
        assert_eq!(code(&table), Some(want_code), "{}", text(&table));
        println!(
            "scenario {name}: flowprobe check --fleet\n{}",
            String::from_utf8_lossy(&table.stdout)
        );
        String::from_utf8_lossy(&table.stdout).into_owned()
    };
    scenario("compliant", 0);
    let table = scenario("admin-8443-dropped", 1);
    let row = table
        .lines()
        .find(|l| l.ends_with("admin-mdm-https-alt"))
        .expect("the 8443 row");
    assert!(
        row.contains("8443") && row.contains("FAIL") && row.contains("filtered"),
        "{row}"
    );

    // --flow goes to every instance; those without it skip it.
    let o = fleet_check(&[
        "--fleet",
        "--flow",
        "admin-mdm-https-alt",
        "--output",
        "json",
    ]);
    assert_eq!(code(&o), Some(1), "{}", text(&o));
    let j = json(&o);
    let rows = j["flows"].as_array().expect("flows");
    assert_eq!(rows.len(), 1, "{j:#}");
    assert_eq!(rows[0]["instance"], "administrators");
    assert_eq!(rows[0]["last"]["reason"], "filtered");
    assert_eq!(j["not_covered"].as_array().map(Vec::len), Some(0), "{j:#}");
    assert!(
        j["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .all(|i| i["ok"] == true),
        "{j:#}"
    );

    // One daemon stopped: exit 3, that instance named; its flows are not
    // covered; --remote asks the others ad hoc just the same.
    drop(daemons.remove("mdm-server"));
    let mut args = vec!["--output", "json"];
    let urls: Vec<String> = ips
        .iter()
        .map(|(_, ip)| format!("https://{ip}:9725"))
        .collect();
    for u in &urls {
        args.extend(["--remote", u.as_str()]);
    }
    let o = fleet_check(&args);
    assert_eq!(code(&o), Some(3), "{}", text(&o));
    let j = json(&o);
    let mdm_ip = &ips[2].1;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{mdm_ip}:9725")) && err.contains("unreachable"),
        "{err}"
    );
    let failed: Vec<&serde_json::Value> = j["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter(|i| i["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{j:#}");
    assert_eq!(failed[0]["name"], format!("{mdm_ip}:9725").as_str());
    let uncovered: Vec<&str> = j["not_covered"]
        .as_array()
        .expect("not_covered")
        .iter()
        .map(|f| f["vantage"].as_str().expect("vantage"))
        .collect();
    assert!(
        !uncovered.is_empty() && uncovered.iter().all(|v| *v == "mdm-server"),
        "{uncovered:?}"
    );
    let table = fleet_check(&["--fleet"]);
    assert_eq!(code(&table), Some(3), "{}", text(&table));
    println!(
        "mdm-server daemon stopped: flowprobe check --fleet\n{}{}",
        String::from_utf8_lossy(&table.stdout),
        String::from_utf8_lossy(&table.stderr)
    );
}
