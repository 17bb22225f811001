//! Agreement with the field's scanners: what flowprobe reports of a real
//! server, compared with what the scanners an assessor runs report of the
//! same server.
//!
//! TLS (`protocol_policy`): nginx with its default ciphers, nginx hardened
//! (TLS 1.2/1.3, ECDHE AEAD only), a legacy `openssl s_server` (TLS 1.0 up,
//! `ALL:COMPLEMENTOFALL:@SECLEVEL=0`) and `gnutls-serv` offering 3DES (in a
//! network namespace of its own: it listens on every address it has), each
//! scanned by `flowprobe check --output json`, `sslscan --xml=-` and nmap's
//! `ssl-enum-ciphers`. They agree when the sets of accepted versions are
//! equal, and for every suite family flowprobe judged, flowprobe says
//! "accepted" iff the scanner lists an accepted suite of that family at some
//! version; and every suite flowprobe saw a server choose is one the scanner
//! lists at that version.
//!
//! SSH: OpenSSH `sshd`, dropbear and tinysshd (behind a small accept loop
//! of this module, as inetd would run it), each read by `flowprobe check`
//! and `ssh-audit -j`: the algorithm lists per kind agree in order, and the
//! names flowprobe sets apart as markers are the ones ssh-audit calls
//! pseudo-algorithms.
//!
//! The differences that are explained (docs/tls-protocol-policy.md, "Agreement with the field's
//! scanners") are named in [`EXPLAINED`]; any other is a failure. Every
//! server listens on loopback (or in a namespace the test made), every
//! scanner is pointed at 127.0.0.1 and one port (nmap: `-n -Pn -sT`, no
//! discovery, no DNS).

use flowprobe_testkit as support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// flowprobe's side: `flowprobe check --output json`, read in one place.

/// What flowprobe reported of one TLS flow's protocol enumeration.
#[derive(Debug, Default)]
struct FlowprobeTls {
    complete: bool,
    /// Version label (`TLSv1.2`) -> accepted; `None` when unknown.
    versions: BTreeMap<String, Option<bool>>,
    /// Family (`static_rsa`) -> accepted; `None` when unknown.
    families: BTreeMap<String, Option<bool>>,
    /// Every (negotiated version, IANA suite) an answer showed.
    accepted: BTreeSet<(String, String)>,
}

/// What flowprobe reported of one SSH flow.
#[derive(Debug, Default)]
struct FlowprobeSsh {
    software: String,
    /// Kind (`kex`, `host_key`, `cipher`, `mac`, `compression`) -> names in
    /// the server's order, markers left out.
    lists: BTreeMap<String, Vec<String>>,
    markers: BTreeSet<String>,
}

/// The facts of the first flow's first attempt (the only place that knows
/// the JSON's shape: `flows[].last.attempts[].facts`).
fn details(json: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("check JSON: {e}\n{json}"));
    v["flows"][0]["last"]["attempts"][0]["details"].clone()
}

fn flowprobe_tls(json: &str) -> FlowprobeTls {
    let p = &details(json)["protocols"];
    assert!(p.is_object(), "no details.protocols in:\n{json}");
    let accepted = |x: &serde_json::Value| x["accepted"].as_bool();
    let mut out = FlowprobeTls {
        complete: p["complete"].as_bool() == Some(true),
        ..FlowprobeTls::default()
    };
    for v in p["versions"].as_array().expect("versions") {
        let name = v["version"].as_str().expect("version").to_owned();
        out.versions.insert(name, accepted(v));
    }
    for f in p["families"].as_array().expect("families") {
        let name = f["family"].as_str().expect("family").to_owned();
        out.families.insert(name, accepted(f));
    }
    for e in p["exchanges"].as_array().expect("exchanges") {
        if e["answer"] == "accepted" {
            let v = e["negotiated"].as_str().expect("negotiated");
            let s = e["suite"].as_str().expect("suite");
            out.accepted.insert((v.to_owned(), s.to_owned()));
        }
    }
    out
}

fn flowprobe_ssh(json: &str) -> FlowprobeSsh {
    let d = details(json);
    let j = &d["judgement"];
    assert!(j.is_object(), "no details.judgement in:\n{json}");
    let mut out = FlowprobeSsh {
        software: d["software"].as_str().unwrap_or_default().to_owned(),
        ..FlowprobeSsh::default()
    };
    for a in j["offered"].as_array().expect("offered") {
        let kind = a["kind"].as_str().expect("kind").to_owned();
        let name = a["name"].as_str().expect("name").to_owned();
        out.lists.entry(kind).or_default().push(name);
    }
    for m in j["markers"].as_array().expect("markers") {
        out.markers.insert(m.as_str().expect("marker").to_owned());
    }
    out
}

/// `flowprobe check --output json` of one flow (its `[[flow]]` body after
/// the common head), inside `ns` when given. Exit 0 or 1 (a violation):
/// both carry the facts.
fn flowprobe_check(dir: &Path, flow: &str, ns: Option<&support::Netns>) -> String {
    let text = format!(
        "catalog = \"none\"\n[targets]\nlab = \"127.0.0.1\"\n{EVERY_FAMILY}\
         [[flow]]\nname = \"scanned\"\nfrom = \"administrators\"\nto = \"lab\"\n{flow}"
    );
    let cfg = support::write(dir, "flowprobe.toml", &text);
    let bin = support::bin();
    let (bin, cfg) = (bin.to_str().expect("utf-8"), cfg.to_str().expect("utf-8"));
    let args = [bin, "check", "--config", cfg, "--output", "json"];
    let mut cmd = match ns {
        Some(ns) => ns.cmd(&args),
        None => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        }
    };
    let out = cmd
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run flowprobe check");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "flowprobe check: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The TLS flows' policy: every family compared forbidden, so flowprobe
/// asks each at every legacy version it finds accepted, whatever the
/// built-in policies come to judge.
const EVERY_FAMILY: &str = "[tls_policy.every-family]\nversions = [\"1.2\", \"1.3\"]\n\
    forbidden = [\"null\", \"export\", \"anon\", \"rc4\", \"des\", \"static_rsa\", \"static_dh\", \"cbc_sha1\"]\n";

fn tls_flow(port: u16) -> String {
    format!(
        "port = {port}\ncheck = \"tls\"\ntimeout = \"5s\"\n\
         tls = {{ trust = [], server_name = \"mdm.lab.test\", protocol_policy = \"every-family\" }}\n"
    )
}

fn ssh_flow(port: u16) -> String {
    format!("port = {port}\ncheck = \"ssh\"\ntimeout = \"5s\"\nssh = {{ policy = \"stig\" }}\n")
}

// ---------------------------------------------------------------------------
// The TLS scanners' side.

/// What a TLS scanner reported: accepted versions and (version, IANA
/// suite) pairs, versions as flowprobe labels them (`SSLv3`, `TLSv1.0`).
#[derive(Debug, Default)]
struct TlsScan {
    tool: &'static str,
    versions: BTreeSet<String>,
    suites: BTreeSet<(String, String)>,
}

/// A command's stdout; it must have run (any exit status: scanners use
/// theirs for findings).
fn output(mut cmd: Command, what: &str) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.trim().is_empty(),
        "{what} printed nothing ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn command(ns: Option<&support::Netns>, args: &[&str]) -> Command {
    match ns {
        Some(ns) => ns.cmd(args),
        None => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        }
    }
}

/// The value of `name="..."` in one XML tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// OpenSSL cipher names to (code, IANA name), from this machine's OpenSSL
/// (`openssl ciphers -V -stdname`), which is what sslscan links.
fn openssl_names() -> BTreeMap<String, (String, String)> {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "ciphers",
        "-V",
        "-stdname",
        "ALL:COMPLEMENTOFALL:@SECLEVEL=0",
    ]);
    let text = output(cmd, "openssl ciphers");
    let mut map = BTreeMap::new();
    for line in text.lines() {
        // `0xC0,0x30 - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 - ECDHE-RSA-AES256-GCM-SHA384 TLSv1.2 ...`
        let parts: Vec<&str> = line.split(" - ").map(str::trim).collect();
        if let [code, iana, rest] = parts[..] {
            let code = code.replace(",0x", "").to_ascii_uppercase();
            let openssl = rest.split_whitespace().next().unwrap_or_default();
            map.insert(openssl.to_owned(), (code, iana.to_owned()));
        }
    }
    assert!(map.len() > 50, "openssl ciphers -stdname: {text}");
    map
}

/// `sslscan --xml=-`. Its cipher names are OpenSSL's, or IANA's for the
/// suites its OpenSSL lacks (3DES): mapped to IANA through OpenSSL's own
/// table, the suite id cross-checked.
fn sslscan(port: u16, ns: Option<&support::Netns>) -> TlsScan {
    let target = format!("127.0.0.1:{port}");
    let xml = output(
        command(ns, &["sslscan", "--no-colour", "--xml=-", &target]),
        "sslscan",
    );
    let names = openssl_names();
    let mut scan = TlsScan {
        tool: "sslscan",
        ..TlsScan::default()
    };
    for tag in xml.split('<').map(|t| t.trim_end()) {
        if tag.starts_with("protocol ") {
            let version = match (attr(tag, "type"), attr(tag, "version")) {
                (Some("ssl"), Some(v)) => format!("SSLv{v}"),
                (Some("tls"), Some(v)) => format!("TLSv{v}"),
                other => panic!("sslscan protocol {other:?}: {tag}"),
            };
            if attr(tag, "enabled") == Some("1") {
                scan.versions.insert(version);
            }
        } else if tag.starts_with("cipher ") {
            let status = attr(tag, "status").unwrap_or_default();
            assert!(
                matches!(status, "accepted" | "preferred"),
                "sslscan cipher status {status}: {tag}"
            );
            let version = attr(tag, "sslversion").expect("sslversion").to_owned();
            let name = attr(tag, "cipher").expect("cipher");
            let id = attr(tag, "id").unwrap_or_default().to_ascii_uppercase();
            let iana = if name.starts_with("TLS_") {
                name.to_owned()
            } else {
                let (code, iana) = names
                    .get(name)
                    .unwrap_or_else(|| panic!("sslscan cipher {name} unknown to openssl: {tag}"));
                assert_eq!(*code, id, "{name}: sslscan's id differs from OpenSSL's");
                iana.clone()
            };
            scan.suites.insert((version, iana));
        }
    }
    assert!(
        xml.contains("<ssltest "),
        "sslscan did not reach the server:\n{xml}"
    );
    scan
}

/// nmap's `ssl-enum-ciphers` on one loopback port (`-oX -`): the
/// structured tables, one `<table key="TLSv1.2">` per version whose
/// `<elem key="name">` are the accepted suites (IANA names; TLS 1.3's in
/// the draft spelling `TLS_AKE_WITH_AES_128_GCM_SHA256`, normalised).
fn nmap(port: u16, ns: Option<&support::Netns>) -> TlsScan {
    let port = port.to_string();
    let xml = output(
        command(
            ns,
            &[
                "nmap",
                "-n",
                "-Pn",
                "-sT",
                "-p",
                &port,
                "--script",
                "ssl-enum-ciphers",
                "-oX",
                "-",
                "127.0.0.1",
            ],
        ),
        "nmap",
    );
    assert!(
        xml.contains("id=\"ssl-enum-ciphers\""),
        "ssl-enum-ciphers did not run:\n{xml}"
    );
    let mut scan = TlsScan {
        tool: "nmap",
        ..TlsScan::default()
    };
    let mut version: Option<String> = None;
    for tag in xml.split('<') {
        if let Some(key) = tag.strip_prefix("table key=\"")
            && (key.starts_with("TLSv") || key.starts_with("SSLv"))
        {
            let v = key.split('"').next().unwrap_or_default().to_owned();
            scan.versions.insert(v.clone());
            version = Some(v);
        } else if let Some(name) = tag.strip_prefix("elem key=\"name\">") {
            let v = version.clone().expect("a suite inside a version table");
            let name = name.replace("TLS_AKE_WITH_", "TLS_");
            scan.suites.insert((v, name));
        }
    }
    scan
}

/// The families of an IANA suite name, by the name alone (independent of
/// flowprobe's tables): `TLS_<key exchange>_WITH_<cipher>_<mac>`.
fn families_of(iana: &str) -> Vec<&'static str> {
    let Some((kx, rest)) = iana
        .strip_prefix("TLS_")
        .or_else(|| iana.strip_prefix("SSL_"))
        .and_then(|n| n.split_once("_WITH_"))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if rest.starts_with("NULL") {
        out.push("null");
    }
    if kx.contains("EXPORT") {
        out.push("export");
    }
    if kx.contains("anon") {
        out.push("anon");
    }
    if rest.starts_with("RC4") {
        out.push("rc4");
    }
    if rest.starts_with("DES") || rest.starts_with("3DES") {
        out.push("des");
    }
    if kx == "RSA" || kx.starts_with("RSA_EXPORT") {
        out.push("static_rsa");
    }
    if (kx.starts_with("DH_") || kx.starts_with("ECDH_")) && !kx.contains("anon") {
        out.push("static_dh");
    }
    if rest.contains("_CBC") && rest.ends_with("_SHA") {
        out.push("cbc_sha1");
    }
    out
}

/// The families compared, all forbidden by [`EVERY_FAMILY`] (questions
/// of other kinds are compared only through the suites they showed).
const FAMILIES: [&str; 8] = [
    "null",
    "export",
    "anon",
    "rc4",
    "des",
    "static_rsa",
    "static_dh",
    "cbc_sha1",
];

/// The differences docs/tls-protocol-policy.md explains: (server, scanner, the start of
/// the disagreement's text). Empty while every scanner agrees everywhere.
const EXPLAINED: &[(&str, &str, &str)] = &[];

/// Where flowprobe and one scanner disagree about one server.
fn tls_disagreements(fp: &FlowprobeTls, scan: &TlsScan) -> Vec<String> {
    let mut out = Vec::new();
    let tool = scan.tool;
    if !fp.complete {
        out.push("flowprobe: enumeration incomplete".to_owned());
    }
    let ours: BTreeSet<String> = fp
        .versions
        .iter()
        .filter(|(_, a)| **a == Some(true))
        .map(|(v, _)| v.clone())
        .collect();
    for (v, a) in &fp.versions {
        if a.is_none() {
            out.push(format!("version {v}: flowprobe unknown"));
        }
    }
    // SSL 2.0: flowprobe never asks; a scanner that finds it is a miss.
    if ours != scan.versions {
        out.push(format!(
            "versions: flowprobe {ours:?}, {tool} {:?}",
            scan.versions
        ));
    }
    for family in FAMILIES {
        let Some(accepted) = fp.families.get(family) else {
            out.push(format!("family {family}: not judged by flowprobe"));
            continue;
        };
        let seen: Vec<String> = scan
            .suites
            .iter()
            .filter(|(v, s)| v != "TLSv1.3" && families_of(s).contains(&family))
            .map(|(v, s)| format!("{s} ({v})"))
            .collect();
        if *accepted != Some(!seen.is_empty()) {
            out.push(format!(
                "family {family}: flowprobe {accepted:?}, {tool} lists {seen:?}"
            ));
        }
    }
    for (v, s) in &fp.accepted {
        if !scan.suites.contains(&(v.clone(), s.clone())) {
            out.push(format!(
                "suite {s} at {v}: flowprobe saw it chosen, {tool} does not list it"
            ));
        }
    }
    out
}

/// Runs flowprobe and both scanners at once (each against its own port:
/// a server per tool where the server handles one connection at a time),
/// then compares. Panics naming every unexplained disagreement.
fn tls_agreement(server: &str, ports: [u16; 3], ns: Option<&support::Netns>) {
    let dir = support::tempdir();
    let (fp, ssl, nm) = std::thread::scope(|s| {
        let fp = s.spawn(|| flowprobe_tls(&flowprobe_check(dir.path(), &tls_flow(ports[0]), ns)));
        let ssl = s.spawn(|| sslscan(ports[1], ns));
        let nm = s.spawn(|| nmap(ports[2], ns));
        (
            fp.join().expect("flowprobe"),
            ssl.join().expect("sslscan"),
            nm.join().expect("nmap"),
        )
    });
    let mut unexplained = Vec::new();
    let mut lines = vec![format!(
        "{server}: flowprobe versions {:?} families {:?}",
        fp.versions, fp.families
    )];
    for scan in [&ssl, &nm] {
        lines.push(format!(
            "{server}: {} versions {:?}, {} suites",
            scan.tool,
            scan.versions,
            scan.suites.len()
        ));
        for d in tls_disagreements(&fp, scan) {
            let explained = EXPLAINED.iter().any(|(srv, tool, what)| {
                *srv == server && *tool == scan.tool && d.starts_with(what)
            });
            lines.push(format!(
                "  {} {}: {d}",
                if explained { "explained" } else { "DISAGREES" },
                scan.tool
            ));
            if !explained {
                unexplained.push(format!("{}: {d}", scan.tool));
            }
        }
    }
    eprintln!("{}", lines.join("\n"));
    assert!(
        unexplained.is_empty(),
        "{server}: flowprobe and the scanners disagree:\n{}\n\nsslscan: {:#?}\nnmap: {:#?}",
        unexplained.join("\n"),
        ssl.suites,
        nm.suites
    );
}

// ---------------------------------------------------------------------------
// The TLS servers.

fn tls_tools_present() -> bool {
    support::require(
        support::have("sslscan") && support::have("nmap") && support::have("openssl"),
        "sslscan and nmap (Debian sslscan, nmap), openssl",
    )
}

/// A self-signed RSA leaf for mdm.lab.test: (certificate, key).
fn rsa_leaf(dir: &Path) -> (PathBuf, PathBuf) {
    support::pki::self_signed_leaf(dir, "leaf", &["rsa:2048"])
}

/// nginx on a loopback port with `ssl` lines of its server block (none:
/// nginx's defaults), killed on drop.
struct Nginx {
    port: u16,
    _proc: support::Proc,
}

fn start_nginx(dir: &Path, ssl: &str) -> Nginx {
    let (cert, key) = rsa_leaf(dir);
    let d = dir.display();
    let mut last = String::new();
    for _ in 0..5 {
        let port = support::free_port();
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n\
               fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n\
               server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {cert};\n\
                 ssl_certificate_key {key};\n{ssl}\n    location / {{ return 200 \"ok\\n\"; }}\n  }}\n}}\n",
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::create_dir_all(dir.join("tmp")).expect("nginx tmp");
        let conf_path = support::write(dir, "nginx.conf", &conf);
        let mut proc = support::Proc::spawn(
            Command::new(support::which("nginx").expect("nginx"))
                .arg("-p")
                .arg(dir)
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.join("nginx-error.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let up = support::wait_for(Duration::from_secs(5), || {
            if matches!(proc.0.try_wait(), Ok(Some(_))) {
                return Some(false);
            }
            std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .map(|_| true)
        });
        if up == Some(true) {
            return Nginx { port, _proc: proc };
        }
        last = std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default();
        if !last.contains("Address already in use") {
            break;
        }
    }
    panic!("nginx did not listen: {last}");
}

#[test]
fn scanners_agree_on_nginx_with_default_ciphers() {
    if !tls_tools_present() || !support::require(support::have("nginx"), "nginx") {
        return;
    }
    let dir = support::tempdir();
    let nginx = start_nginx(dir.path(), "");
    tls_agreement("nginx-default", [nginx.port; 3], None);
}

#[test]
fn scanners_agree_on_nginx_hardened() {
    if !tls_tools_present() || !support::require(support::have("nginx"), "nginx") {
        return;
    }
    let dir = support::tempdir();
    let nginx = start_nginx(
        dir.path(),
        "    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_prefer_server_ciphers on;\n    \
         ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305;",
    );
    tls_agreement("nginx-hardened", [nginx.port; 3], None);
}

/// `openssl s_server` with every suite this OpenSSL has (NULL and
/// anonymous included) and TLS 1.0 up to 1.3. One per tool: s_server
/// serves one connection at a time.
#[test]
fn scanners_agree_on_openssl_s_server_legacy() {
    if !tls_tools_present() {
        return;
    }
    let dir = support::tempdir();
    let (cert, key) = rsa_leaf(dir.path());
    let servers: Vec<_> = (0..3)
        .map(|_| {
            support::servers::openssl_server(
                &cert,
                &key,
                None,
                &[
                    "-cipher",
                    "ALL:COMPLEMENTOFALL:@SECLEVEL=0",
                    "-min_protocol",
                    "TLSv1",
                ],
            )
        })
        .collect();
    let ports = [0, 1, 2].map(|i| servers[i].addr.port());
    tls_agreement("openssl-legacy", ports, None);
}

/// The GnuTLS priority of the 3DES server (as in `tls_protocols.rs`): its
/// defaults plus 3DES, static RSA and TLS 1.0/1.1.
const GNUTLS_PRIORITY: &str = "NORMAL:+3DES-CBC:+RSA:+VERS-TLS1.0:+VERS-TLS1.1";

#[test]
fn scanners_agree_on_gnutls_serv_with_3des() {
    if !tls_tools_present()
        || !support::require(
            support::is_root() && support::have("ip") && support::have("gnutls-serv"),
            "root, ip and gnutls-serv (Debian gnutls-bin)",
        )
    {
        return;
    }
    let dir = support::tempdir();
    let (cert, key) = rsa_leaf(dir.path());
    let ns = support::Netns::new("fpscan");
    let ports = [4433u16, 4434, 4435];
    let mut servers = Vec::new();
    for port in ports {
        let log =
            std::fs::File::create(dir.path().join(format!("gnutls-{port}.log"))).expect("log");
        servers.push(support::Proc::spawn(
            ns.cmd(&[
                "gnutls-serv",
                "--port",
                &port.to_string(),
                "--x509certfile",
                cert.to_str().expect("utf-8"),
                "--x509keyfile",
                key.to_str().expect("utf-8"),
                "--priority",
                GNUTLS_PRIORITY,
                "--disable-client-cert",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log),
        ));
    }
    for port in ports {
        let up = support::wait_for(Duration::from_secs(10), || {
            ns.run_inside(move || std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        });
        assert!(
            up.is_some(),
            "gnutls-serv did not listen on {port}: {}",
            std::fs::read_to_string(dir.path().join(format!("gnutls-{port}.log")))
                .unwrap_or_default()
        );
    }
    tls_agreement("gnutls-3des", ports, Some(&ns));
    drop(servers);
}

// ---------------------------------------------------------------------------
// SSH: ssh-audit.

fn ssh_audit_present() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import ssh_audit"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    support::require(ok, "ssh-audit (PyPI ssh-audit, scripts/install-deps.sh)")
}

/// What ssh-audit reported: lists per kind (flowprobe's kind names) and
/// the kex names it calls pseudo-algorithms.
#[derive(Debug, Default)]
struct SshAudit {
    software: String,
    lists: BTreeMap<String, Vec<String>>,
    pseudo: BTreeSet<String>,
}

/// `ssh-audit -j` on one loopback port, without its connection-rate test
/// (a DHEat probe of dozens of connections that says nothing here).
fn ssh_audit(port: u16) -> SshAudit {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "ssh_audit",
        "-j",
        "--skip-rate-test",
        "-p",
        &port.to_string(),
        "127.0.0.1",
    ]);
    let text = output(cmd, "ssh-audit");
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("ssh-audit JSON: {e}\n{text}"));
    let mut out = SshAudit {
        software: v["banner"]["software"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ..SshAudit::default()
    };
    for (theirs, ours) in [
        ("kex", "kex"),
        ("key", "host_key"),
        ("enc", "cipher"),
        ("mac", "mac"),
    ] {
        let list = v[theirs]
            .as_array()
            .unwrap_or_else(|| panic!("ssh-audit {theirs}: {text}"));
        for a in list {
            let name = a["algorithm"].as_str().expect("algorithm").to_owned();
            let pseudo = a["notes"]["info"].as_array().is_some_and(|info| {
                info.iter().any(|n| {
                    n.as_str()
                        .is_some_and(|n| n.starts_with("pseudo-algorithm"))
                })
            });
            if pseudo {
                out.pseudo.insert(name.clone());
            }
            out.lists.entry(ours.to_owned()).or_default().push(name);
        }
    }
    let compression = v["compression"].as_array().expect("compression");
    out.lists.insert(
        "compression".to_owned(),
        compression
            .iter()
            .map(|c| c.as_str().expect("name").to_owned())
            .collect(),
    );
    out
}

/// Markers flowprobe sets apart that ssh-audit lists as plain kex
/// algorithms (docs/tls-protocol-policy.md): dropbear's guessed-first-packet signal.
const EXPLAINED_MARKERS: &[&str] = &["kexguess2@matt.ucc.asn.au"];

/// flowprobe's SSH facts and ssh-audit's, at once, compared.
fn ssh_agreement(server: &str, port: u16) {
    let dir = support::tempdir();
    let (fp, audit) = std::thread::scope(|s| {
        let fp = s.spawn(|| flowprobe_ssh(&flowprobe_check(dir.path(), &ssh_flow(port), None)));
        let audit = s.spawn(|| ssh_audit(port));
        (
            fp.join().expect("flowprobe"),
            audit.join().expect("ssh-audit"),
        )
    });
    let mut wrong = Vec::new();
    if fp.software != audit.software {
        wrong.push(format!(
            "software: flowprobe {:?}, ssh-audit {:?}",
            fp.software, audit.software
        ));
    }
    for kind in ["kex", "host_key", "cipher", "mac", "compression"] {
        let ours = fp.lists.get(kind).cloned().unwrap_or_default();
        // Markers are set apart by flowprobe, listed in place by ssh-audit.
        let theirs: Vec<String> = audit
            .lists
            .get(kind)
            .into_iter()
            .flatten()
            .filter(|n| kind != "kex" || !fp.markers.contains(*n))
            .cloned()
            .collect();
        if ours != theirs {
            wrong.push(format!("{kind}: flowprobe {ours:?}, ssh-audit {theirs:?}"));
        }
    }
    let kex: BTreeSet<&String> = audit.lists.get("kex").into_iter().flatten().collect();
    for m in &fp.markers {
        if !kex.contains(m) {
            wrong.push(format!("marker {m}: not in ssh-audit's kex list"));
        }
    }
    // What ssh-audit calls a pseudo-algorithm flowprobe sets apart; what
    // else flowprobe sets apart must be explained.
    for p in audit.pseudo.difference(&fp.markers) {
        wrong.push(format!(
            "{p}: a pseudo-algorithm to ssh-audit, an algorithm to flowprobe"
        ));
    }
    for m in fp.markers.difference(&audit.pseudo) {
        if !EXPLAINED_MARKERS.contains(&m.as_str()) {
            wrong.push(format!(
                "{m}: a marker to flowprobe, an algorithm to ssh-audit"
            ));
        }
    }
    eprintln!(
        "{server}: {} lists {:?} markers {:?}; ssh-audit agrees: {}",
        fp.software,
        fp.lists,
        fp.markers,
        wrong.is_empty()
    );
    assert!(
        wrong.is_empty(),
        "{server}: flowprobe and ssh-audit disagree:\n{}",
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The SSH servers.

/// A server process and its directory; the process goes first.
struct SshServer {
    port: u16,
    _proc: support::Proc,
    _dir: tempfile::TempDir,
}

/// Starts `make(port)` on free loopback ports until one listens (another
/// process may take the port between our check and the server's bind).
fn listen_on_free_port(
    dir: tempfile::TempDir,
    log: &Path,
    mut make: impl FnMut(u16) -> Command,
) -> SshServer {
    let mut last = String::new();
    for _ in 0..5 {
        let port = support::free_port();
        let file = std::fs::File::create(log).expect("log");
        let mut proc = support::Proc::spawn(
            make(port)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(file),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return SshServer {
                    port,
                    _proc: proc,
                    _dir: dir,
                };
            }
            if matches!(proc.0.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        last = std::fs::read_to_string(log).unwrap_or_default();
        if !last.contains("in use") {
            break;
        }
    }
    panic!("server did not listen:\n{last}");
}

const SSHD: &str = "/usr/sbin/sshd";

/// OpenSSH with Debian's default algorithms and an RSA, ECDSA and Ed25519
/// host key.
fn start_sshd() -> SshServer {
    // Privilege separation directory; root-owned on a real system.
    let _ = std::fs::create_dir_all("/run/sshd");
    let dir = support::tempdir();
    let mut keys = String::new();
    for (kind, bits) in [("rsa", "2048"), ("ecdsa", "256"), ("ed25519", "256")] {
        let path = dir.path().join(kind);
        let status = Command::new("ssh-keygen")
            .args(["-q", "-N", "", "-t", kind, "-b", bits, "-f"])
            .arg(&path)
            .status()
            .expect("run ssh-keygen");
        assert!(status.success(), "ssh-keygen -t {kind}");
        keys.push_str(&format!("HostKey {}\n", path.display()));
    }
    let config = dir.path().join("sshd_config");
    let log = dir.path().join("sshd.log");
    let path = dir.path().to_owned();
    listen_on_free_port(dir, &log, |port| {
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1:{port}\nUsePAM no\nPidFile none\nStrictModes no\n{keys}"
            ),
        )
        .expect("sshd_config");
        let mut c = Command::new(SSHD);
        c.args(["-D", "-e", "-f"]).arg(path.join("sshd_config"));
        c
    })
}

/// dropbear in the foreground with an Ed25519, ECDSA and RSA host key
/// made by `dropbearkey`.
fn start_dropbear() -> SshServer {
    let dir = support::tempdir();
    let mut args: Vec<String> = Vec::new();
    for (kind, bits) in [
        ("ed25519", None),
        ("ecdsa", Some("256")),
        ("rsa", Some("2048")),
    ] {
        let path = dir.path().join(format!("dropbear_{kind}"));
        let mut c = Command::new("dropbearkey");
        c.args(["-t", kind, "-f"]).arg(&path);
        if let Some(bits) = bits {
            c.args(["-s", bits]);
        }
        let out = c.output().expect("run dropbearkey");
        assert!(out.status.success(), "dropbearkey -t {kind}: {out:?}");
        args.extend(["-r".to_owned(), path.display().to_string()]);
    }
    let log = dir.path().join("dropbear.log");
    listen_on_free_port(dir, &log, |port| {
        let mut c = Command::new(support::which("dropbear").expect("dropbear"));
        c.args(["-F", "-E", "-p", &format!("127.0.0.1:{port}")])
            .args(&args);
        c
    })
}

/// An inetd of one service: accepts on a loopback port and runs `argv`
/// per connection with the socket as its standard input and output, as
/// tinysshd expects. Stops accepting and kills every child on drop.
struct Inetd {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    children: Arc<Mutex<Vec<Child>>>,
    _dir: tempfile::TempDir,
}

fn inetd(dir: tempfile::TempDir, argv: Vec<String>) -> Inetd {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let children: Arc<Mutex<Vec<Child>>> = Arc::default();
    let log = dir.path().join("inetd.log");
    let thread = std::thread::spawn({
        let (stop, children) = (Arc::clone(&stop), Arc::clone(&children));
        move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        tcp.set_nonblocking(false).expect("blocking");
                        let out = tcp.try_clone().expect("dup");
                        let err = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&log)
                            .expect("log");
                        let child = Command::new(&argv[0])
                            .args(&argv[1..])
                            .stdin(Stdio::from(std::os::fd::OwnedFd::from(tcp)))
                            .stdout(Stdio::from(std::os::fd::OwnedFd::from(out)))
                            .stderr(err)
                            .spawn()
                            .expect("spawn the service");
                        let mut list = children.lock().expect("children");
                        list.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
                        list.push(child);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        }
    });
    Inetd {
        port,
        stop,
        thread: Some(thread),
        children,
        _dir: dir,
    }
}

impl Drop for Inetd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(mut list) = self.children.lock() {
            for c in list.iter_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// tinysshd with keys from `tinysshd-makekey`, one process per connection.
fn start_tinysshd() -> Inetd {
    let dir = support::tempdir();
    let keys = dir.path().join("keys");
    let out = Command::new(support::which("tinysshd-makekey").expect("tinysshd-makekey"))
        .arg(&keys)
        .output()
        .expect("run tinysshd-makekey");
    assert!(out.status.success(), "tinysshd-makekey: {out:?}");
    let tinysshd = support::which("tinysshd").expect("tinysshd");
    inetd(
        dir,
        vec![tinysshd.display().to_string(), keys.display().to_string()],
    )
}

#[test]
fn scanners_agree_on_openssh() {
    if !ssh_audit_present()
        || !support::require(Path::new(SSHD).exists(), "openssh-server (/usr/sbin/sshd)")
    {
        return;
    }
    let sshd = start_sshd();
    ssh_agreement("openssh", sshd.port);
}

#[test]
fn scanners_agree_on_dropbear() {
    if !ssh_audit_present()
        || !support::require(
            support::have("dropbear") && support::have("dropbearkey"),
            "dropbear (Debian dropbear-bin)",
        )
    {
        return;
    }
    let dropbear = start_dropbear();
    ssh_agreement("dropbear", dropbear.port);
}

#[test]
fn scanners_agree_on_tinysshd() {
    if !ssh_audit_present()
        || !support::require(
            support::have("tinysshd") && support::have("tinysshd-makekey"),
            "tinysshd (Debian tinysshd)",
        )
    {
        return;
    }
    let server = start_tinysshd();
    // A first connection's banner shows the accept loop works.
    let mut banner = [0u8; 8];
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    tcp.read_exact(&mut banner).expect("tinysshd banner");
    assert_eq!(&banner, b"SSH-2.0-");
    drop(tcp);
    ssh_agreement("tinysshd", server.port);
}

/// The comparison itself, on made-up reports: each kind of disagreement
/// is named, and a scanner that agrees raises none.
#[test]
fn scanner_comparison_names_every_kind_of_disagreement() {
    let pair = |v: &str, s: &str| (v.to_owned(), s.to_owned());
    let mut fp = FlowprobeTls {
        complete: true,
        ..FlowprobeTls::default()
    };
    for (v, a) in [
        ("SSLv3", false),
        ("TLSv1.0", true),
        ("TLSv1.2", true),
        ("TLSv1.3", false),
    ] {
        fp.versions.insert(v.to_owned(), Some(a));
    }
    fp.versions.insert("TLSv1.1".to_owned(), Some(false));
    for f in FAMILIES {
        let accepted = matches!(f, "static_rsa" | "cbc_sha1" | "des");
        fp.families.insert(f.to_owned(), Some(accepted));
    }
    fp.accepted
        .insert(pair("TLSv1.0", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
    let agreeing = TlsScan {
        tool: "made-up",
        versions: ["TLSv1.0", "TLSv1.2"].map(str::to_owned).into(),
        suites: [
            pair("TLSv1.0", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
            pair("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        ]
        .into(),
    };
    assert_eq!(tls_disagreements(&fp, &agreeing), Vec::<String>::new());

    let disagreeing = TlsScan {
        tool: "made-up",
        versions: ["TLSv1.1", "TLSv1.2"].map(str::to_owned).into(),
        suites: [
            pair("TLSv1.1", "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
            pair("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        ]
        .into(),
    };
    let d = tls_disagreements(&fp, &disagreeing);
    for want in [
        "versions: flowprobe",
        "family anon: flowprobe Some(false)",
        "family des: flowprobe Some(true), made-up lists []",
        "family static_rsa: flowprobe Some(true)",
        "suite TLS_RSA_WITH_3DES_EDE_CBC_SHA at TLSv1.0",
    ] {
        assert!(d.iter().any(|x| x.starts_with(want)), "{want}: {d:#?}");
    }
    assert_eq!(d.len(), 5, "{d:#?}");

    // The classifier, by IANA name alone.
    for (name, want) in [
        (
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            &["des", "static_rsa", "cbc_sha1"][..],
        ),
        ("TLS_ECDH_anon_WITH_NULL_SHA", &["null", "anon"]),
        (
            "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
            &["export", "rc4", "static_rsa"],
        ),
        ("TLS_DH_DSS_WITH_AES_128_GCM_SHA256", &["static_dh"]),
        ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", &[]),
        (
            "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
            &["export", "des", "cbc_sha1"],
        ),
        ("TLS_AES_128_GCM_SHA256", &[]),
    ] {
        assert_eq!(families_of(name), want, "{name}");
    }
}
