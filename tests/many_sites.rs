//! Many sites (docs/fleet.md, "Many sites"): the shipped push recipe, run for real.
//!
//! Two sites, `east` and `west`, each run `flowprobe run` as the same
//! vantage (`branch`) with TCP flows to loopback listeners of their own
//! (east on 127.0.0.1, west on 127.0.0.2), and a Prometheus agent built
//! from deploy/sites/agent.yml that remote-writes over TLS and basic auth to
//! one central Prometheus built from deploy/sites/central.yml and
//! central-web-config.yml, with the shipped rules (only `for:` shortened)
//! and a short lookback. The test asserts what the recipe promises:
//! - the store holds both sites' series with `site`, `vantage`, `instance`;
//! - a flow made to fail at east fires FlowprobeRequiredFlowDown for east
//!   only (the rules keep `site`, so the same flow at two sites with
//!   different hosts is no many-to-many match);
//! - `flowprobe check --fleet` from the store equals `--fleet --direct`
//!   (same flows, vantages, statuses; the site is the instance's name);
//! - every dashboard panel query answers from the store;
//! - a site whose agent stops turns `stale` in the store's matrix, then
//!   fires FlowprobeSiteAbsent.
//!
//! Everything listens on loopback; processes, listeners and files are
//! dropped with the test, also when it fails. A separate binary: it runs
//! three Prometheus servers and two daemons (`.config/nextest.toml` runs it
//! alone, with the other Prometheus tests).

use flowprobe_testkit as support;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;
use support::{Proc, bin, free_port, have, require, tempdir, wait_for, write};

const PASSWORD: &str = "flowprobe-example";
const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
/// The store's lookback in the test: a stopped site's series vanish this
/// long after its last sample (5m in production).
const LOOKBACK: &str = "20s";

/// Dashboard panels about TLS, CRLs and SSH: empty with TCP flows only.
const NO_DATA_WITH_TCP_FLOWS: [&str; 7] = [
    "Certificates sent (every position)",
    "Path pushed to each required anchor",
    "Chain facts and negotiated parameters",
    "CRL freshness",
    "Hours until CRL nextUpdate",
    "SSH algorithms offered (policy violations first)",
    "SSH server software",
];

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8 temp path")
}

/// A TCP listener that accepts and closes connections until dropped; then
/// its port refuses.
struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn start(l: TcpListener) -> Listener {
        l.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                while !stop.load(Ordering::Relaxed) {
                    match l.accept() {
                        Ok((c, _)) => drop(c),
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            }
        });
        Listener {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port bound on both 127.0.0.1 and 127.0.0.2: the same flow (same
/// port) at both sites, each site's own peer.
fn twin_listeners() -> (u16, TcpListener, TcpListener) {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = a.local_addr().expect("addr").port();
        if let Ok(b) = TcpListener::bind(("127.0.0.2", port)) {
            return (port, a, b);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

/// `text` with each `(from, to)` replaced; `from` must be there, so a
/// shipped file that changes shape fails the test instead of going untested.
fn edit(name: &str, text: &str, edits: &[(&str, String)]) -> String {
    let mut t = text.to_string();
    for (from, to) in edits {
        assert!(t.contains(from), "{name} no longer contains {from:?}");
        t = t.replace(from, to);
    }
    t
}

fn shipped(rel: &str) -> String {
    std::fs::read_to_string(format!("{DEPLOY}/{rel}")).expect("shipped file")
}

/// The shipped rules with every `for:` shortened to 1s: the expressions
/// are the shipped ones.
fn test_rules() -> String {
    shipped("prometheus/flowprobe.rules.yml")
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for: ") {
            Some(_) => format!("{}for: 1s", &l[..l.len() - l.trim_start().len()]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// A CA and the central store's server certificate for 127.0.0.1.
fn pki(dir: &Path) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Many Sites Test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("leaf");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().expect("key");
    let cert = leaf.signed_by(&key, &issuer).expect("leaf");
    Pki {
        ca: write(dir, "ca.pem", &ca_cert.pem()),
        cert: write(dir, "central.pem", &cert.pem()),
        key: write(dir, "central.key", &key.serialize_pem()),
    }
}

/// A site's flowprobe configuration: vantage `branch`, its gateway at
/// `gw`, one open flow that stays up, one the test breaks, one that must
/// stay closed.
fn site_flows(gw: &str, app: u16, mdm: u16, closed: u16) -> String {
    let flow = |name: &str, port: u16, expect: &str| {
        format!(
            "[[flow]]\nname = \"{name}\"\nfrom = \"branch\"\nto = \"gw\"\nport = {port}\nexpect = \"{expect}\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
        )
    };
    format!(
        "catalog = \"none\"\nvantages = [\"branch\"]\n[targets]\ngw = \"{gw}\"\n{}{}{}",
        flow("branch-app", app, "open"),
        flow("branch-mdm", mdm, "open"),
        flow("branch-blocked", closed, "closed"),
    )
}

/// The Prometheus flag of agent mode: `--agent` from 3.0, the feature
/// flag before (Debian 12 ships 2.42).
fn agent_flag() -> &'static str {
    let help = Command::new("prometheus")
        .arg("--help")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        })
        .unwrap_or_default();
    if help
        .lines()
        .any(|l| l.split_whitespace().next() == Some("--agent"))
    {
        "--agent"
    } else {
        "--enable-feature=agent"
    }
}

fn spawn_logged(cmd: &mut Command, log: &Path) -> Proc {
    Proc::spawn(
        cmd.env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("log")),
    )
}

/// The central store: the query API over TLS with the `ops` password.
struct Central {
    url: String,
    ca: PathBuf,
}

impl Central {
    /// An instant query; `None` while the store is not answering.
    fn query(&self, q: &str) -> Option<Vec<Value>> {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", "--cacert", s(&self.ca)])
            .args(["-u", &format!("ops:{PASSWORD}")])
            .args(["--data-urlencode", &format!("query={q}")])
            .arg(format!("{}/api/v1/query", self.url))
            .output()
            .ok()?;
        let j: Value = serde_json::from_slice(&out.stdout).ok()?;
        (j["status"] == "success").then(|| j["data"]["result"].as_array().cloned())?
    }

    /// Poll `q` (every 500 ms, up to `limit`) until `ok` accepts its result.
    fn wait(
        &self,
        what: &str,
        q: &str,
        limit: Duration,
        ok: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let mut last = None;
        wait_for(limit, || {
            let r = self.query(q);
            if let Some(r) = &r
                && ok(r)
            {
                return Some(r.clone());
            }
            last = r;
            std::thread::sleep(Duration::from_millis(500));
            None
        })
        .unwrap_or_else(|| panic!("{what}: not within {limit:?}; last answer to {q}: {last:?}"))
    }
}

fn label<'a>(series: &'a Value, name: &str) -> &'a str {
    series["metric"][name].as_str().unwrap_or("")
}

fn check(cfg: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(["check", "--config", s(cfg), "--fleet", "--output", "json"])
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("flowprobe check")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// (site or instance name, vantage, flow, status) of every row: a direct
/// check names its instances after the sites, so both modes compare.
fn matrix(o: &Output) -> BTreeSet<(String, String, String, String)> {
    let j: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("json: {e}\n{}", text(o)));
    assert_eq!(j["not_covered"], serde_json::json!([]), "{}", text(o));
    j["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|r| {
            let place = r["site"].as_str().or(r["instance"].as_str()).unwrap_or("");
            let f = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (place.to_string(), f("vantage"), f("name"), f("status"))
        })
        .collect()
}

fn logs(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "log") {
            let t = std::fs::read_to_string(&p).unwrap_or_default();
            let tail: Vec<&str> = t.lines().rev().take(15).collect();
            out.push_str(&format!("--- {}\n", p.display()));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn sites_push_to_a_central_store_that_alerts_and_answers_the_fleet_check() {
    if !require(
        have("prometheus") && have("curl") && have("python3"),
        "prometheus, curl and python3",
    ) {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    // Print the processes' last log lines if anything below panics.
    struct Logs(PathBuf);
    impl Drop for Logs {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("{}", logs(&self.0));
            }
        }
    }
    let _logs = Logs(d.to_path_buf());

    let pki = pki(d);
    let password_file = write(d, "central.pass", &format!("{PASSWORD}\n"));

    // The sites' peers: the same ports at both sites, each on its own address.
    let (app, app_east, app_west) = twin_listeners();
    let (mdm, mdm_east, mdm_west) = twin_listeners();
    let (closed, c1, c2) = twin_listeners();
    drop((c1, c2)); // nothing listens: refused, as a closed flow must be
    let _app = (Listener::start(app_east), Listener::start(app_west));
    let mdm_east = Listener::start(mdm_east);
    let _mdm_west = Listener::start(mdm_west);

    // The central store.
    let central_port = free_port();
    let central_url = format!("https://127.0.0.1:{central_port}");
    write(d, "flowprobe.rules.yml", &test_rules());
    let central_yml = write(
        d,
        "central.yml",
        &edit(
            "deploy/sites/central.yml",
            &shipped("sites/central.yml"),
            &[
                ("evaluation_interval: 30s", "evaluation_interval: 1s".into()),
                // No Alertmanager in this test: a port nobody listens on.
                ("127.0.0.1:9093", format!("127.0.0.1:{}", free_port())),
            ],
        ),
    );
    let web_yml = write(
        d,
        "central-web-config.yml",
        &edit(
            "deploy/sites/central-web-config.yml",
            &shipped("sites/central-web-config.yml"),
            &[
                ("/etc/prometheus/tls/central.pem", s(&pki.cert).into()),
                ("/etc/prometheus/tls/central.key", s(&pki.key).into()),
            ],
        ),
    );
    let _central = spawn_logged(
        Command::new("prometheus")
            .arg(format!("--config.file={}", s(&central_yml)))
            .arg(format!("--web.config.file={}", s(&web_yml)))
            .arg("--web.enable-remote-write-receiver")
            .arg(format!(
                "--storage.tsdb.path={}",
                s(&d.join("central-data"))
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{central_port}"))
            .arg(format!("--query.lookback-delta={LOOKBACK}")),
        &d.join("central.log"),
    );
    let central = Central {
        url: central_url.clone(),
        ca: pki.ca.clone(),
    };

    // The sites: a daemon and an agent each.
    let agent = agent_flag();
    let mut daemons = Vec::new();
    let mut agents = Vec::new();
    let mut instances = Vec::new();
    for (site, gw) in [("east", "127.0.0.1"), ("west", "127.0.0.2")] {
        let cfg = write(
            d,
            &format!("{site}.toml"),
            &site_flows(gw, app, mdm, closed),
        );
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        daemons.push(spawn_logged(
            Command::new(bin())
                .args(["run", "--config", s(&cfg), "--listen", &listen])
                .arg("--web.enable-lifecycle"),
            &d.join(format!("{site}-flowprobe.log")),
        ));
        instances.push((site, listen.clone()));
        let agent_yml = write(
            d,
            &format!("{site}-agent.yml"),
            &edit(
                "deploy/sites/agent.yml",
                &shipped("sites/agent.yml"),
                &[
                    ("scrape_interval: 15s", "scrape_interval: 1s".into()),
                    ("site: branch-0417", format!("site: {site}")),
                    ("\"127.0.0.1:9725\"", format!("\"{listen}\"")),
                    ("vantage: mobile-devices", "vantage: branch".into()),
                    ("https://metrics.example.mil:9090", central_url.clone()),
                    ("/etc/prometheus/central-ca.pem", s(&pki.ca).into()),
                    ("/etc/prometheus/central.pass", s(&password_file).into()),
                    ("batch_send_deadline: 5s", "batch_send_deadline: 1s".into()),
                ],
            ),
        );
        agents.push(spawn_logged(
            Command::new("prometheus")
                .arg(agent)
                .arg(format!("--config.file={}", s(&agent_yml)))
                .arg(format!(
                    "--storage.agent.path={}",
                    s(&d.join(format!("{site}-agent-data")))
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{}", free_port())),
            &d.join(format!("{site}-agent.log")),
        ));
    }

    // 1. Both sites' series arrive, with the labels that tell them apart.
    let info = central.wait(
        "both sites' flowprobe_flow_info in the store",
        "flowprobe_flow_info{flow=\"branch-mdm\"}",
        Duration::from_secs(90),
        |r| r.len() == 2,
    );
    for (site, listen) in &instances {
        let series = info
            .iter()
            .find(|x| label(x, "site") == *site)
            .unwrap_or_else(|| panic!("no series of site {site}: {info:?}"));
        assert_eq!(label(series, "vantage"), "branch", "{series}");
        assert_eq!(label(series, "instance"), listen, "{series}");
        assert_eq!(label(series, "job"), "flowprobe", "{series}");
        let host = if *site == "east" {
            "127.0.0.1"
        } else {
            "127.0.0.2"
        };
        assert_eq!(label(series, "host"), host, "{series}");
    }
    let up = central.wait(
        "the agents' up series",
        "up{job=\"flowprobe\"} == 1",
        Duration::from_secs(30),
        |r| r.len() == 2,
    );
    assert!(up.iter().all(|x| label(x, "vantage") == "branch"), "{up:?}");

    // 2. A flow fails at east only: the shipped alert fires there only.
    drop(mdm_east);
    let firing = central.wait(
        "FlowprobeRequiredFlowDown for east's branch-mdm",
        "ALERTS{alertname=\"FlowprobeRequiredFlowDown\",alertstate=\"firing\"}",
        Duration::from_secs(60),
        |r| !r.is_empty(),
    );
    assert_eq!(firing.len(), 1, "east only: {firing:?}");
    let a = &firing[0];
    for (k, v) in [
        ("site", "east"),
        ("vantage", "branch"),
        ("flow", "branch-mdm"),
        ("host", "127.0.0.1"),
        ("severity", "critical"),
    ] {
        assert_eq!(label(a, k), v, "{k} of {a}");
    }

    // 3. The matrix from the store equals the matrix from the instances.
    let mut fleet = site_flows("127.0.0.1", app, mdm, closed);
    for (site, listen) in &instances {
        fleet.push_str(&format!(
            "[[fleet.instance]]\nname = \"{site}\"\nurl = \"http://{listen}\"\nvantages = [\"branch\"]\n"
        ));
    }
    let store = format!(
        "[fleet.prometheus]\nurl = \"{central_url}\"\nca_file = \"{}\"\nbasic_auth = {{ username = \"ops\", password_file = \"{}\" }}\n",
        s(&pki.ca),
        s(&password_file)
    );
    // The engineer's file: no `vantages`, so the catalog is every flow.
    let fleet = fleet.replace("vantages = [\"branch\"]\n[targets]", "[targets]");
    let fleet_cfg = write(d, "fleet.toml", &format!("{fleet}{store}"));
    let direct = check(&fleet_cfg, &["--direct"]);
    assert_eq!(direct.status.code(), Some(1), "{}", text(&direct));
    let from_store = check(&fleet_cfg, &[]);
    assert_eq!(from_store.status.code(), Some(1), "{}", text(&from_store));
    let want: BTreeSet<(String, String, String, String)> = [
        ("east", "branch-app", "pass"),
        ("east", "branch-mdm", "fail"),
        ("east", "branch-blocked", "pass"),
        ("west", "branch-app", "pass"),
        ("west", "branch-mdm", "pass"),
        ("west", "branch-blocked", "pass"),
    ]
    .iter()
    .map(|(p, f, st)| {
        (
            p.to_string(),
            "branch".into(),
            f.to_string(),
            st.to_string(),
        )
    })
    .collect();
    assert_eq!(matrix(&direct), want, "{}", text(&direct));
    assert_eq!(matrix(&from_store), want, "{}", text(&from_store));
    let table = Command::new(bin())
        .args(["check", "--config", s(&fleet_cfg), "--fleet"])
        .env_remove("RUST_LOG")
        .output()
        .expect("table");
    println!(
        "$ flowprobe check --fleet\n{}",
        String::from_utf8_lossy(&table.stdout)
    );
    assert!(
        String::from_utf8_lossy(&table.stdout).starts_with("SITE "),
        "{}",
        text(&table)
    );

    // 4. Every dashboard panel answers from the store (the site, vantage
    //    and flow selectors on All); TLS, CRL and SSH panels have no data
    //    with TCP flows only.
    let dash = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/deploy/dashboard_queries.py"
        ))
        .args(["--prometheus", &central_url, "--cacert", s(&pki.ca)])
        .args(["--user", "ops", "--password-file", s(&password_file)])
        .args([
            "--dashboard",
            concat!(env!("CARGO_MANIFEST_DIR"), "/grafana/flowprobe.json"),
        ])
        .args(["--retry-for", "60"])
        .args(
            NO_DATA_WITH_TCP_FLOWS
                .iter()
                .flat_map(|t| ["--allow-empty", t]),
        )
        .output()
        .expect("dashboard_queries.py");
    assert!(dash.status.success(), "dashboard queries:\n{}", text(&dash));

    // 5. West's agent stops: its rows turn stale in the store's matrix
    //    (while the store still returns its last samples), then the site
    //    is reported absent.
    drop(agents.remove(1));
    let stale_cfg = write(
        d,
        "fleet-stale.toml",
        &format!("{fleet}{store}stale_after = \"4s\"\n"),
    );
    let mut last = String::new();
    wait_for(Duration::from_secs(15), || {
        let o = check(&stale_cfg, &[]);
        let m = matrix(&o);
        last = text(&o);
        let west: Vec<_> = m.iter().filter(|r| r.0 == "west").collect();
        (west.len() == 3 && west.iter().all(|r| r.3 == "stale")).then_some(())
    })
    .unwrap_or_else(|| panic!("west's rows did not turn stale:\n{last}"));
    let absent = central.wait(
        "FlowprobeSiteAbsent for west",
        "ALERTS{alertname=\"FlowprobeSiteAbsent\",alertstate=\"firing\"}",
        Duration::from_secs(90),
        |r| !r.is_empty(),
    );
    assert_eq!(absent.len(), 1, "west only: {absent:?}");
    assert_eq!(label(&absent[0], "site"), "west", "{absent:?}");
    drop(daemons);
}
