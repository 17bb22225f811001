//! A lab instance (tests/lab/lab.sh) for Rust tests: brought up with a
//! unique id, torn down on drop, also when the test fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::*;

pub const VANTAGES: [&str; 3] = ["administrators", "mobile-devices", "mdm-server"];

fn lab_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/lab/lab.sh")
}

/// Serialises `up` (the first one fills the shared PKI cache).
static UP: Mutex<()> = Mutex::new(());

/// A lab instance, torn down on drop (also when the test fails).
pub struct Lab {
    pub id: String,
    pub env: BTreeMap<String, String>,
}

impl Lab {
    pub fn up() -> Option<Lab> {
        if !require(
            is_root() && have("nft") && have("nginx") && have("dnsmasq") && have("sshd"),
            "root with nftables, nginx, dnsmasq and sshd (scripts/install-deps.sh)",
        ) {
            return None;
        }
        let id = format!("t{}", unique("").replace('-', "x"));
        let mut lab = Lab {
            id,
            env: BTreeMap::new(),
        };
        {
            let _g = UP.lock().unwrap_or_else(|e| e.into_inner());
            let out = lab.sh(&["up"]).output().expect("lab.sh up");
            assert!(
                out.status.success(),
                "lab up failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let out = lab.sh(&["env"]).output().expect("lab.sh env");
        lab.env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches(['\'', '"']).to_string()))
            .collect();
        Some(lab)
    }

    pub fn sh(&self, args: &[&str]) -> Command {
        let mut c = Command::new("bash");
        c.arg(lab_sh()).args(args).env("FPLAB_ID", &self.id);
        c
    }

    pub fn var(&self, k: &str) -> String {
        self.env
            .get(k)
            .cloned()
            .unwrap_or_else(|| panic!("lab env has no {k}: {:?}", self.env))
    }

    pub fn config(&self, vantage: &str) -> String {
        format!("{}/flowprobe-{vantage}.toml", self.var("FPLAB_DIR"))
    }

    pub fn scenario(&self, name: &str) {
        let out = self
            .sh(&["scenario", name])
            .output()
            .expect("lab.sh scenario");
        assert!(
            out.status.success(),
            "scenario {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn exec(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = self.sh(&["exec", ns]);
        c.args(args);
        c
    }

    /// `flowprobe check --output json` from every vantage, as one matrix.
    pub fn matrix(&self) -> BTreeMap<String, (String, bool, String)> {
        let mut out = BTreeMap::new();
        let bin = bin();
        for v in VANTAGES {
            let cfg = self.config(v);
            let o = self
                .exec(
                    v,
                    &[
                        bin.to_str().expect("utf8"),
                        "check",
                        "--config",
                        &cfg,
                        "--output",
                        "json",
                    ],
                )
                .output()
                .expect("check");
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "check from {v}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
            for f in j["flows"].as_array().expect("flows") {
                let name = f["name"].as_str().expect("name").to_string();
                let up = f["last"]["up"].as_bool().expect("up");
                let reason = f["last"]["reason"].as_str().expect("reason").to_string();
                out.insert(name, (v.to_string(), up, reason));
            }
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self
            .sh(&["down"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The matrix `tests/lab/expected/<scenario>.json` holds: flow name ->
/// (vantage, up, reason).
pub fn expected(scenario: &str) -> BTreeMap<String, (String, bool, String)> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../tests/lab/expected/{scenario}.json"));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).expect("expected matrix")).expect("json");
    j.as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (
                    v["vantage"].as_str().expect("vantage").to_string(),
                    v["up"].as_bool().expect("up"),
                    v["reason"].as_str().expect("reason").to_string(),
                ),
            )
        })
        .collect()
}

/// Query Prometheus (running in the firewall namespace) for an instant value.
pub fn prom_value(lab: &Lab, query: &str) -> Option<f64> {
    let url = format!(
        "http://127.0.0.1:9090/api/v1/query?query={}",
        urlencode(query)
    );
    let o = lab.exec("firewall", &["curl", "-sf", &url]).output().ok()?;
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    j["data"]["result"].as_array()?.first()?["value"][1]
        .as_str()?
        .parse()
        .ok()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
