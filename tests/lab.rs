//! The STIG topology in network namespaces (tests/lab/lab.sh), proven end to
//! end: every scenario changes one thing and the whole flow matrix that
//! `flowprobe check` prints from each vantage must match
//! tests/lab/expected/<scenario>.json, so collateral damage is caught too.
//! The daemon side: one `flowprobe run` per vantage, scraped by a real
//! Prometheus inside the lab, sees a firewall change within two intervals.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::lab::{Lab, expected, prom_value};
use support::*;

fn render(m: &BTreeMap<String, (String, bool, String)>) -> String {
    m.iter()
        .map(|(k, (v, up, r))| {
            format!(
                "  {v:<15} {k:<32} {:<5} {r}\n",
                if *up { "UP" } else { "DOWN" }
            )
        })
        .collect()
}

fn scenario_matches(name: &str) {
    let Some(lab) = Lab::up() else { return };
    if name != "compliant" {
        lab.scenario(name);
    }
    let got = lab.matrix();
    let want = expected(name);
    assert_eq!(
        got,
        want,
        "scenario {name}\ngot:\n{}want:\n{}",
        render(&got),
        render(&want)
    );
    println!("scenario {name}:\n{}", render(&got));
}

#[test]
fn lab_compliant_network() {
    scenario_matches("compliant");
}

#[test]
fn lab_admin_8443_dropped_is_filtered() {
    scenario_matches("admin-8443-dropped");
}

#[test]
fn lab_mobile_443_rejected_is_refused() {
    scenario_matches("mobile-443-rejected");
}

#[test]
fn lab_ssh_opened_to_mobile_devices_is_a_forbidden_flow_reachable() {
    scenario_matches("mobile-ssh-open");
}

#[test]
fn lab_chain_without_cross_certificates_is_chain_incomplete() {
    scenario_matches("chain-without-cross");
}

#[test]
fn lab_stale_crl() {
    scenario_matches("stale-crl");
}

#[test]
fn lab_dns_nxdomain_for_the_mdm() {
    scenario_matches("dns-nxdomain");
}

#[test]
fn lab_daemons_scraped_by_prometheus_see_a_firewall_change_within_two_intervals() {
    if !require(have("prometheus") && have("curl"), "prometheus and curl") {
        return;
    }
    let Some(lab) = Lab::up() else { return };
    let bin = bin();
    let bin = bin.to_str().expect("utf8");
    let ips = [
        ("administrators", lab.var("FPLAB_IP_ADMINISTRATORS")),
        ("mobile-devices", lab.var("FPLAB_IP_MOBILE_DEVICES")),
        ("mdm-server", lab.var("FPLAB_IP_MDM_SERVER")),
    ];
    let mut daemons = Vec::new();
    for (v, ip) in &ips {
        let listen = format!("{ip}:9725");
        let cfg = lab.config(v);
        let mut cmd = lab.exec(v, &[bin, "run", "--config", &cfg, "--listen", &listen]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        daemons.push(Proc::spawn(&mut cmd));
    }
    let dir = tempdir();
    let targets: Vec<String> = ips.iter().map(|(_, ip)| format!("'{ip}:9725'")).collect();
    let prom_cfg = write(
        dir.path(),
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: flowprobe\n    honor_labels: true\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        ),
    );
    let data = dir.path().join("data");
    let mut prom = lab.exec(
        "firewall",
        &[
            "prometheus",
            &format!("--config.file={}", prom_cfg.display()),
            &format!("--storage.tsdb.path={}", data.display()),
            "--web.listen-address=127.0.0.1:9090",
        ],
    );
    prom.stdout(Stdio::null()).stderr(Stdio::null());
    let _prom = Proc::spawn(&mut prom);

    let q = "flowprobe_flow_up{flow=\"admin-mdm-https-alt\",vantage=\"administrators\"}";
    let up = wait_for(Duration::from_secs(40), || {
        prom_value(&lab, q).filter(|v| *v == 1.0)
    });
    assert_eq!(
        up,
        Some(1.0),
        "the compliant network shows the flow up in Prometheus"
    );
    let scraped = wait_for(Duration::from_secs(20), || {
        prom_value(&lab, "count(up{job=\"flowprobe\"} == 1)").filter(|n| *n == 3.0)
    });
    assert_eq!(scraped, Some(3.0), "all three vantages scraped");

    let changed = Instant::now();
    lab.scenario("admin-8443-dropped");
    let down = wait_for(Duration::from_secs(30), || {
        prom_value(&lab, q).filter(|v| *v == 0.0)
    });
    let took = changed.elapsed();
    assert_eq!(down, Some(0.0), "the drop shows in Prometheus");
    // Two probe intervals (5 s each) plus one scrape interval.
    assert!(took <= Duration::from_secs(11), "flipped after {took:?}");
    let reason = prom_value(
        &lab,
        "flowprobe_flow_reason{flow=\"admin-mdm-https-alt\",reason=\"filtered\"}",
    );
    assert_eq!(reason, Some(1.0));
    println!("flowprobe_flow_up flipped to 0 in Prometheus {took:?} after the firewall change");
}
