//! The shipped alert rules, Alertmanager routing and Grafana dashboard
//! against live flowprobe daemons in the lab: a real Prometheus (with
//! deploy/prometheus/flowprobe.rules.yml) and Alertmanager (with
//! deploy/alertmanager/alertmanager.yml) run in the lab's firewall
//! namespace; dropping 8443 for administrators must page with the right
//! labels, every dashboard query must return data, and restoring the
//! network must resolve the alert.

use flowprobe_testkit as support;

use std::process::Stdio;

use support::lab::Lab;
use support::*;

#[test]
fn alert_reaches_alertmanager_and_dashboard_queries_return_data() {
    let am = have("prometheus-alertmanager") || have("alertmanager");
    if !require(
        have("prometheus") && am && have("curl"),
        "prometheus, prometheus-alertmanager and curl",
    ) {
        return;
    }
    let Some(lab) = Lab::up() else { return };
    let bin = bin();
    let bin = bin.to_str().expect("utf8");
    let mut targets = Vec::new();
    let mut daemons = Vec::new();
    for (v, var) in [
        ("administrators", "FPLAB_IP_ADMINISTRATORS"),
        ("mobile-devices", "FPLAB_IP_MOBILE_DEVICES"),
        ("mdm-server", "FPLAB_IP_MDM_SERVER"),
    ] {
        let listen = format!("{}:9725", lab.var(var));
        let cfg = lab.config(v);
        let mut cmd = lab.exec(v, &[bin, "run", "--config", &cfg, "--listen", &listen]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        daemons.push(Proc::spawn(&mut cmd));
        targets.push(format!("{listen}={v}"));
    }
    let lab_sh = format!("{}/tests/lab/lab.sh", env!("CARGO_MANIFEST_DIR"));
    let script = format!("{}/tests/deploy/alert_e2e.sh", env!("CARGO_MANIFEST_DIR"));
    let out = lab
        .exec("firewall", &["bash", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("E2E_TARGETS", targets.join(" "))
        .env("E2E_FLOW", "admin-mdm-https-alt")
        .env("E2E_VANTAGE", "administrators")
        .env("E2E_HOST", "mdm.lab.test")
        .env("E2E_PORT", "8443")
        .env("E2E_REASON", "filtered")
        .env(
            "E2E_DOWN_CMD",
            format!("bash {lab_sh} scenario admin-8443-dropped"),
        )
        .env("E2E_UP_CMD", format!("bash {lab_sh} scenario compliant"))
        .output()
        .expect("alert_e2e.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "alert e2e failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("alert e2e: 1 passed, 0 failed"), "{stdout}");
}
