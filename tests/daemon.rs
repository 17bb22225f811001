//! `flowprobe run` on the real binary: readiness, /metrics (checked by
//! promtool), /api/v1/flows, reload by SIGHUP and by POST (good and bad),
//! and a graceful stop within 2 s with a probe in flight.

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

#[test]
fn run_serves_metrics_api_reloads_and_stops_gracefully() {
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
    let web_port = free_port();
    let addr = format!("127.0.0.1:{web_port}");
    let mut child = Proc::spawn(
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

    // Healthy at once, ready after the first round (slow-dns takes up to 9 s
    // only if its offset is early; readiness waits for it).
    wait_for(Duration::from_secs(5), || {
        http("GET", &addr, "/-/healthy").filter(|(s, _)| *s == 200)
    })
    .expect("healthy");
    wait_for(Duration::from_secs(25), || {
        http("GET", &addr, "/-/ready").filter(|(s, _)| *s == 200)
    })
    .expect("ready after the first round");

    let (status, text) = http("GET", &addr, "/metrics").expect("metrics");
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

    let (_, body) = http("GET", &addr, "/api/v1/flows").expect("api");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let flows = v["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 3);
    let refused_view = flows
        .iter()
        .find(|f| f["name"] == "refused")
        .expect("refused");
    assert_eq!(refused_view["last"]["reason"], "refused");
    assert_eq!(
        refused_view["last"]["attempts"][0]["address"],
        format!("127.0.0.1:{refused}")
    );
    let (_, page) = http("GET", &addr, "/").expect("page");
    assert!(
        page.contains("data-name=\"refused\"")
            && page.contains("<code class=\"reason\">refused</code>"),
        "{page}"
    );

    // Good reload by SIGHUP: a flow is added, the unchanged one keeps counting.
    let passes_before = metric(
        &text,
        "flowprobe_probes_total",
        &["flow=\"open\"", "result=\"pass\""],
    )
    .expect("count");
    std::fs::write(
        &cfg,
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
        let (_, body) = http("GET", &addr, "/api/v1/flows")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let n = v["flows"].as_array()?.len();
        (n == 4).then_some(n)
    });
    assert_eq!(flows, Some(4), "SIGHUP reload added the flow");
    let (_, text) = http("GET", &addr, "/metrics").expect("metrics");
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
        &cfg,
        "catalog = \"none\"\n[[flow]]\nname = \"x\"\nport = 0\n",
    )
    .expect("rewrite");
    let (status, body) = http("POST", &addr, "/-/reload").expect("reload");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("flow[x].port: 0 is not a TCP port"), "{body}");
    assert!(body.contains("flow[x].from: missing"), "{body}");
    let (_, text) = http("GET", &addr, "/metrics").expect("metrics");
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
    assert!(http("GET", &addr, "/-/healthy").is_some());

    // SIGTERM with a probe in flight (slow-dns waits on a silent server).
    let t = Instant::now();
    run_ok("kill", &["-TERM", &child.pid().to_string()]);
    let status =
        wait_for(Duration::from_secs(5), || child.0.try_wait().ok().flatten()).expect("exited");
    let took = t.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(2), "stopped in {took:?}");
    let mut logs = String::new();
    use std::io::Read;
    child
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    assert!(
        logs.contains("reload failed; keeping the running configuration"),
        "{logs}"
    );
    assert!(
        logs.contains("\"flow down\"") || logs.contains("flow down"),
        "state changes logged: {logs}"
    );
    let down_lines = logs
        .lines()
        .filter(|l| l.contains("flow down") && l.contains("\"refused\""))
        .count();
    assert_eq!(
        down_lines, 1,
        "a state change is logged once, not every probe:\n{logs}"
    );
}
