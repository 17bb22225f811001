//! `flowprobe run` on the real binary, one daemon per behaviour: readiness,
//! /metrics (checked by promtool) and /api/v1/flows; reload by SIGHUP and
//! by POST (good and bad); a graceful stop within 2 s with a probe in
//! flight. And `daemon::run` in-process.

use flowprobe_testkit as support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

fn config(open: u16, refused: u16, dns_port: u16, extra: &str) -> String {
    format!(
        r#"
catalog = "none"
[vantage.here]
dns_servers = ["127.0.0.1:{dns_port}"]
[targets]
lo = "127.0.0.1"
silent = "never.answers.test"
[[flow]]
name = "open"
from = "here"
to = "lo"
port = {open}
interval = "1s"
timeout = "500ms"
[[flow]]
name = "refused"
from = "here"
to = "lo"
port = {refused}
interval = "1s"
timeout = "500ms"
severity = "warning"
[[flow]]
name = "slow-dns"
from = "here"
to = "silent"
port = 443
interval = "10s"
timeout = "9s"
{extra}
"#
    )
}

fn metric(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|lab| l.contains(lab)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// A `flowprobe run` of [`config`] on loopback, ready (every flow probed
/// once); killed on drop if a test fails before stopping it.
struct Daemon {
    child: Proc,
    addr: String,
    cfg: std::path::PathBuf,
    open: u16,
    refused: u16,
    dns_port: u16,
    _dir: tempfile::TempDir,
    _listener: TcpListener,
    _silent_dns: std::net::UdpSocket,
}

impl Daemon {
    fn start() -> Daemon {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let open = listener.local_addr().expect("addr").port();
        let refused = free_port();
        // A DNS server that never answers keeps one probe in flight.
        let silent_dns = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        let dns_port = silent_dns.local_addr().expect("addr").port();
        let dir = tempdir();
        let cfg = write(
            dir.path(),
            "flowprobe.toml",
            &config(open, refused, dns_port, ""),
        );
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Proc::spawn(
            Command::new(bin())
                .args(["run", "--config"])
                .arg(&cfg)
                .args([
                    "--listen",
                    &addr,
                    "--log-format",
                    "json",
                    "--web.enable-lifecycle",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        // Healthy at once, ready after the first round (slow-dns takes up
        // to 9 s only if its offset is early; readiness waits for it).
        wait_for(Duration::from_secs(5), || {
            http("GET", &addr, "/-/healthy").filter(|(s, _)| *s == 200)
        })
        .expect("healthy");
        wait_for(Duration::from_secs(25), || {
            http("GET", &addr, "/-/ready").filter(|(s, _)| *s == 200)
        })
        .expect("ready after the first round");
        Daemon {
            child,
            addr,
            cfg,
            open,
            refused,
            dns_port,
            _dir: dir,
            _listener: listener,
            _silent_dns: silent_dns,
        }
    }

    /// SIGTERM; how it exited, how long it took, and everything it logged.
    fn stop(mut self) -> (std::process::ExitStatus, Duration, String) {
        let t = Instant::now();
        run_ok("kill", &["-TERM", &self.child.pid().to_string()]);
        let status = wait_for(Duration::from_secs(5), || {
            self.child.0.try_wait().ok().flatten()
        })
        .expect("exited");
        let took = t.elapsed();
        let mut logs = String::new();
        use std::io::Read;
        self.child
            .0
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut logs)
            .expect("logs");
        (status, took, logs)
    }
}

#[test]
fn run_serves_metrics_and_the_api_after_its_first_round() {
    let d = Daemon::start();
    let (addr, refused) = (&d.addr, d.refused);
    let (status, text) = http("GET", addr, "/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert_eq!(
        metric(&text, "flowprobe_flow_up", &["flow=\"open\""]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "flowprobe_flow_up", &["flow=\"refused\""]),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &text,
            "flowprobe_flow_reason",
            &["flow=\"refused\"", "reason=\"refused\""]
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &text,
            "flowprobe_flow_reason",
            &["flow=\"slow-dns\"", "reason=\"dns_timeout\""]
        ),
        Some(1.0),
        "a failed probe still has its series"
    );
    assert!(
        metric(
            &text,
            "flowprobe_flow_info",
            &[
                "flow=\"refused\"",
                "severity=\"warning\"",
                "expect=\"open\"",
                "check=\"tcp\""
            ]
        )
        .is_some()
    );
    assert!(
        metric(
            &text,
            "flowprobe_probe_duration_seconds",
            &["flow=\"open\"", "phase=\"connect\""]
        )
        .is_some()
    );
    assert!(
        metric(
            &text,
            "flowprobe_probe_duration_seconds",
            &["flow=\"open\"", "phase=\"dns\""]
        )
        .is_none(),
        "IP targets have no dns phase"
    );
    assert_eq!(
        metric(&text, "flowprobe_config_last_reload_successful", &[]),
        Some(1.0)
    );
    assert!(metric(&text, "flowprobe_scheduler_lateness_seconds_count", &[]).unwrap_or(0.0) >= 3.0);
    assert!(metric(&text, "process_resident_memory_bytes", &[]).is_some());
    assert!(metric(&text, "flowprobe_build_info", &["version=\""]).is_some());

    if require(have("promtool"), "promtool (Debian prometheus)") {
        let mut p = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promtool");
        use std::io::Write;
        p.stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
        let out = p.wait_with_output().expect("promtool");
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let (_, body) = http("GET", addr, "/api/v1/flows").expect("api");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let flows = v["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 3);
    let refused_view = flows
        .iter()
        .find(|f| f["name"] == "refused")
        .expect("refused");
    assert_eq!(refused_view["last"]["reason"], "refused");
    // The API's own keys: the vantage under both names, since when the flow
    // is in its state, and its recent outcomes.
    assert_eq!(refused_view["from"], refused_view["vantage"]);
    assert!(refused_view["since"].is_u64(), "{refused_view}");
    assert_eq!(refused_view["history"][0]["reason"], "refused");
    assert_eq!(
        refused_view["last"]["attempts"][0]["address"],
        format!("127.0.0.1:{refused}")
    );
    let (_, page) = http("GET", addr, "/").expect("page");
    assert!(
        page.contains("data-name=\"refused\"")
            && page.contains("<code class=\"reason\">refused</code>"),
        "{page}"
    );
}

#[test]
fn run_reloads_by_sighup_and_post_and_keeps_running_on_bad_files() {
    let d = Daemon::start();
    let (addr, cfg, child) = (&d.addr, &d.cfg, &d.child);
    let (open, refused, dns_port) = (d.open, d.refused, d.dns_port);
    let (_, text) = http("GET", addr, "/metrics").expect("metrics");
    // Good reload by SIGHUP: a flow is added, the unchanged one keeps counting.
    let passes_before = metric(
        &text,
        "flowprobe_probes_total",
        &["flow=\"open\"", "result=\"pass\""],
    )
    .expect("count");
    std::fs::write(
        cfg,
        config(
            open,
            refused,
            dns_port,
            "[[flow]]\nname = \"added\"\nfrom = \"here\"\nto = \"lo\"\nport = 9\n",
        ),
    )
    .expect("rewrite");
    run_ok("kill", &["-HUP", &child.pid().to_string()]);
    let flows = wait_for(Duration::from_secs(5), || {
        let (_, body) = http("GET", addr, "/api/v1/flows")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let n = v["flows"].as_array()?.len();
        (n == 4).then_some(n)
    });
    assert_eq!(flows, Some(4), "SIGHUP reload added the flow");
    let (_, text) = http("GET", addr, "/metrics").expect("metrics");
    let passes_after = metric(
        &text,
        "flowprobe_probes_total",
        &["flow=\"open\"", "result=\"pass\""],
    )
    .expect("count");
    assert!(
        passes_after >= passes_before,
        "unchanged flow was not restarted"
    );

    // Bad reload by POST: rejected with every error, old flows kept, gauge 0.
    std::fs::write(
        cfg,
        "catalog = \"none\"\n[[flow]]\nname = \"x\"\nport = 0\n",
    )
    .expect("rewrite");
    let (status, body) = http("POST", addr, "/-/reload").expect("reload");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("flow[x].port: 0 is not a TCP port"), "{body}");
    assert!(body.contains("flow[x].from: missing"), "{body}");
    let (_, text) = http("GET", addr, "/metrics").expect("metrics");
    assert_eq!(
        metric(&text, "flowprobe_config_last_reload_successful", &[]),
        Some(0.0)
    );
    assert!(
        metric(&text, "flowprobe_flow_up", &["flow=\"added\""]).is_some(),
        "running flows kept"
    );
    // A bad SIGHUP reload also keeps the daemon running.
    run_ok("kill", &["-HUP", &child.pid().to_string()]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(http("GET", addr, "/-/healthy").is_some());

    let (status, _, logs) = d.stop();
    assert!(status.success(), "{status:?}");
    assert!(
        logs.contains("reload failed; keeping the running configuration"),
        "{logs}"
    );
}

#[test]
fn run_stops_within_two_seconds_with_a_probe_in_flight_and_logs_changes_once() {
    let d = Daemon::start();
    // slow-dns waits on a silent server: a probe is in flight at SIGTERM.
    let (status, took, logs) = d.stop();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(2), "stopped in {took:?}");
    // The first round is one line (JSON: `--log-format json`), naming the
    // flows that are down; a first result is not a change, and `refused`
    // stays down, so no flow has a line of its own.
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let message = |l: &serde_json::Value| l["fields"]["message"].as_str().unwrap_or("").to_string();
    let rounds: Vec<String> = lines
        .iter()
        .map(message)
        .filter(|m| m.starts_with("first round done"))
        .collect();
    assert_eq!(rounds.len(), 1, "one summary of the first round:\n{logs}");
    assert!(
        rounds[0].starts_with("first round done: 1 up, 2 down: ")
            && rounds[0].contains("here/refused (refused)")
            && rounds[0].contains("here/slow-dns (dns_timeout)"),
        "{}",
        rounds[0]
    );
    let per_flow = lines
        .iter()
        .filter(|l| ["flow up", "flow down"].contains(&message(l).as_str()))
        .count();
    assert_eq!(
        per_flow, 0,
        "no line per flow for the first round, none without a change:\n{logs}"
    );
}

/// The daemon in-process, as `daemon::run` is built to be: on a listener the
/// test bound, reloading on the test's hang-up, stopping on its shutdown
/// future with no signal involved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_in_process_reloads_on_hangup_and_stops_on_its_future() {
    let open = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = open.local_addr().expect("addr").port();
    let flow = |name: &str| {
        format!(
            "[[flow]]\nname = \"{name}\"\nfrom = \"here\"\nto = \"lo\"\nport = {port}\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
        )
    };
    let head = "catalog = \"none\"\n[vantage.here]\n[targets]\nlo = \"127.0.0.1\"\n";
    let dir = tempdir();
    let path = write(
        dir.path(),
        "flowprobe.toml",
        &format!("{head}{}", flow("one")),
    );
    let overrides = flowprobe::config::Overrides::default();
    let initial = flowprobe::config::load(Some(&path), &overrides).expect("config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind web");
    let addr = listener.local_addr().expect("addr").to_string();
    let (hangup, hangups) = tokio::sync::mpsc::channel(1);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let source = flowprobe::daemon::ConfigSource {
        path: Some(path.clone()),
        overrides,
        lifecycle: false,
        limits: flowprobe::web::serve::Limits::default(),
    };
    let daemon = tokio::spawn(flowprobe::daemon::run(
        listener,
        initial,
        source,
        hangups,
        async move {
            let _ = stopped.await;
        },
    ));
    let flows = |addr: String| async move {
        tokio::task::spawn_blocking(move || {
            let (_, body) = http("GET", &addr, "/api/v1/flows")?;
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
            Some(v["flows"].as_array()?.len())
        })
        .await
        .ok()
        .flatten()
    };
    let mut seen = None;
    for _ in 0..50 {
        seen = flows(addr.clone()).await;
        if seen == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, Some(1), "serving the initial flow");

    std::fs::write(&path, format!("{head}{}{}", flow("one"), flow("two"))).expect("rewrite");
    hangup.send(()).await.expect("hang-up delivered");
    for _ in 0..50 {
        seen = flows(addr.clone()).await;
        if seen == Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, Some(2), "the hang-up reloaded the file");

    let _ = stop.send(());
    let result = tokio::time::timeout(Duration::from_secs(3), daemon)
        .await
        .expect("stopped within the grace period")
        .expect("daemon task");
    assert_eq!(result, Ok(()));
}

/// `/api/v1/flows` answers questions: filters, pages with a stable cursor,
/// totals per state in every answer; bad parameters are a 400 naming
/// them; the unfiltered call streams every flow.
#[test]
fn the_api_filters_pages_and_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = listener.local_addr().expect("addr").port();
    let refused = free_port();
    let mut text = String::from(
        "catalog = \"none\"\n[vantage.here]\n[vantage.there]\n[targets]\nlo = \"127.0.0.1\"\n",
    );
    for i in 0..20 {
        text.push_str(&format!(
            "[[flow]]\nname = \"open-{i:02}\"\nfrom = \"here\"\nto = \"lo\"\nport = {open}\ninterval = \"2s\"\ntimeout = \"500ms\"\n\
             [[flow]]\nname = \"shut-{i:02}\"\nfrom = \"there\"\nto = \"lo\"\nport = {refused}\ninterval = \"2s\"\ntimeout = \"500ms\"\n"
        ));
    }
    let dir = tempdir();
    let cfg = write(dir.path(), "flowprobe.toml", &text);
    let addr = format!("127.0.0.1:{}", free_port());
    let _daemon = Proc::spawn(
        Command::new(bin())
            .args(["run", "--config"])
            .arg(&cfg)
            .args(["--listen", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for(Duration::from_secs(20), || {
        http("GET", &addr, "/-/ready").filter(|(s, _)| *s == 200)
    })
    .expect("ready");
    let get = |path: &str| -> serde_json::Value {
        let (status, body) = http("GET", &addr, path).expect("answer");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["flows"]
            .as_array()
            .expect("flows")
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_string())
            .collect()
    };

    // Down flows, 7 a page, until the cursor runs out.
    let mut seen = Vec::new();
    let mut path = "/api/v1/flows?state=down&limit=7".to_string();
    for page in 0.. {
        assert!(page < 10, "the cursor must end");
        let v = get(&path);
        assert_eq!(v["matched"], 20, "{v}");
        assert_eq!(v["totals"]["all"], 40);
        assert_eq!(v["totals"]["down"], 20);
        assert_eq!(v["totals"]["up"], 20);
        let got = names(&v);
        assert!(got.len() <= 7);
        seen.extend(got);
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/flows?state=down&limit=7&cursor={c}"),
            None => break,
        }
    }
    let want: Vec<String> = (0..20).map(|i| format!("shut-{i:02}")).collect();
    assert_eq!(seen, want, "every down flow once, in order");

    // A glob, a vantage and a kind.
    let v = get("/api/v1/flows?flow=open-1*");
    let want: Vec<String> = (10..20).map(|i| format!("open-{i:02}")).collect();
    assert_eq!(names(&v), want);
    assert_eq!(get("/api/v1/flows?vantage=here&check=tcp")["matched"], 20);
    assert_eq!(get("/api/v1/flows?reason=refused")["matched"], 20);

    // Bad parameters name themselves.
    for (path, needle) in [
        ("/api/v1/flows?state=broken", "state:"),
        ("/api/v1/flows?check=gopher", "check:"),
        ("/api/v1/flows?limit=0", "limit:"),
        ("/api/v1/flows?cursor=nocut", "cursor:"),
        ("/api/v1/flows?limit=abc", "limit"),
        ("/api/v1/flows?stat=down", "stat"),
    ] {
        let (status, body) = http("GET", &addr, path).expect("answer");
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains(needle), "{path}: {body}");
    }

    // Unfiltered: every flow, streamed, with the totals.
    let v = get("/api/v1/flows");
    assert_eq!(names(&v).len(), 40);
    assert_eq!(v["totals"]["all"], 40);
    assert!(v["daemon"]["ready"].as_bool().unwrap_or(false));
    drop(listener);
}
