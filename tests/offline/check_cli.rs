//! `flowprobe check` end to end on the real binary, inside a network
//! namespace the test creates: open, refused, filtered (nftables drop) and
//! unreachable (reject with ICMP) flows; exit codes, JSON and JUnit.

use flowprobe_testkit as support;

use std::process::Stdio;
use std::time::Duration;

use support::*;

const LISTENER: &str = "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',2000))\ns.listen(64)\nprint('ready',flush=True)\ntime.sleep(600)\n";

const RULES: &str = "table inet lab {
  chain output {
    type filter hook output priority 0; policy accept;
    tcp dport 2002 drop
    tcp dport 2003 reject with icmp type host-unreachable
  }
}
";

const CONFIG: &str = r#"
catalog = "none"
[targets]
lab = "127.0.0.1"
[[flow]]
name = "lab-open"
from = "administrators"
to = "lab"
port = 2000
description = "a listener"
[[flow]]
name = "lab-refused"
from = "administrators"
to = "lab"
port = 2001
[[flow]]
name = "lab-filtered"
from = "administrators"
to = "lab"
port = 2002
timeout = "1s"
[[flow]]
name = "lab-unreachable"
from = "administrators"
to = "lab"
port = 2003
[[flow]]
name = "lab-forbidden"
from = "administrators"
to = "lab"
port = 2002
expect = "closed"
timeout = "1s"
"#;

#[test]
fn check_in_a_namespace_classifies_open_refused_filtered_unreachable() {
    if !require(
        is_root() && have("ip") && have("nft"),
        "root with iproute2 and nftables",
    ) {
        return;
    }
    let ns = Netns::new("fpchk");
    ns.nft(RULES);
    let mut listener = ns.cmd(&["python3", "-c", LISTENER]);
    listener.stdout(Stdio::piped());
    let _listener = Proc::spawn(&mut listener);
    wait_for(Duration::from_secs(5), || {
        ns.cmd(&[
            "python3",
            "-c",
            "import socket;socket.create_connection(('127.0.0.1',2000),1)",
        ])
        .stderr(Stdio::null())
        .status()
        .ok()
        .filter(|s| s.success())
    })
    .expect("listener up");
    let dir = tempdir();
    let cfg = write(dir.path(), "lab.toml", CONFIG);
    let cfg = cfg.to_str().expect("utf8");
    let bin = bin();
    let bin = bin.to_str().expect("utf8");

    // Table: shaped like the STIG table, exit 1 because some flows fail.
    let out = ns
        .cmd(&[bin, "check", "--config", cfg])
        .output()
        .expect("check");
    let table = String::from_utf8_lossy(&out.stdout);
    println!("{table}");
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert!(table.starts_with("FROM"), "{table}");
    for (flow, status, reason) in [
        ("lab-open", "PASS", "ok"),
        ("lab-refused", "FAIL", "refused"),
        ("lab-filtered", "FAIL", "filtered"),
        ("lab-unreachable", "FAIL", "unreachable"),
        ("lab-forbidden", "PASS", "filtered"),
    ] {
        let row = table
            .lines()
            .find(|l| l.trim_end().ends_with(flow))
            .unwrap_or_else(|| panic!("no row for {flow}"));
        assert!(row.contains(status) && row.contains(reason), "{row}");
    }

    // JSON: the schema the lab harness and scripts rely on.
    let out = ns
        .cmd(&[bin, "check", "--config", cfg, "--output", "json"])
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    let flows = v["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 5);
    for f in flows {
        for key in [
            "vantage", "name", "from", "to", "host", "port", "check", "expect", "severity", "last",
        ] {
            assert!(!f[key].is_null(), "missing {key} in {f}");
        }
        // One value under two keys: `from` is kept for its readers.
        assert_eq!(f["from"], f["vantage"], "{f}");
        let last = &f["last"];
        for key in ["reason", "up", "detail", "started", "phases", "attempts"] {
            assert!(!last[key].is_null(), "missing last.{key} in {f}");
        }
        assert!(last["phases"]["total"].as_f64().is_some());
    }
    let filtered = flows
        .iter()
        .find(|f| f["name"] == "lab-filtered")
        .expect("filtered");
    assert_eq!(filtered["last"]["reason"], "filtered");
    let connect = filtered["last"]["phases"]["connect"]
        .as_f64()
        .expect("connect time");
    assert!(
        (0.9..1.5).contains(&connect),
        "filtered connect took the whole budget: {connect}"
    );

    // JUnit: parses, one failure per failing flow.
    let out = ns
        .cmd(&[bin, "check", "--config", cfg, "--output", "junit"])
        .output()
        .expect("check");
    let xml = String::from_utf8_lossy(&out.stdout).into_owned();
    let dirx = tempdir();
    let xml_path = write(dirx.path(), "junit.xml", &xml);
    let parsed = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys,xml.etree.ElementTree as E;r=E.parse(sys.argv[1]).getroot();s=r.find('testsuite');print(s.get('tests'),s.get('failures'),len(s.findall('testcase/failure')))",
        ])
        .arg(&xml_path)
        .output()
        .expect("python3");
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        "5 3 3",
        "{xml}"
    );

    // Only passing flows: exit 0.
    let out = ns
        .cmd(&[
            bin,
            "check",
            "--config",
            cfg,
            "--flow",
            "lab-open",
            "--flow",
            "lab-forbidden",
        ])
        .output()
        .expect("check");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Usage and config errors: exit 2.
    let out = ns
        .cmd(&[bin, "check", "--config", "/nonexistent.toml"])
        .output()
        .expect("check");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ns
        .cmd(&[bin, "check", "--config", cfg, "--flow", "nope"])
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(2));
}

/// A check with no flow to judge is not a pass: exit 2 with the reason,
/// and no `"ok": true` on stdout.
#[test]
fn check_with_nothing_to_judge_is_not_a_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("flowprobe.toml");
    std::fs::write(&cfg, "catalog = \"none\"\n").expect("write config");
    for output in ["table", "json", "junit"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowprobe"))
            .args(["check", "--output", output, "--config"])
            .arg(&cfg)
            .output()
            .expect("run flowprobe check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{output}: {stderr}");
        assert!(stderr.contains("nothing to check"), "{stderr}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("\"ok\": true"),
            "{output}"
        );
    }
}
