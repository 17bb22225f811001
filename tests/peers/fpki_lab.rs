//! A lab PKI with the real Federal PKI cross-certificate profile (critical
//! policyConstraints, inhibitAnyPolicy 0, FPKI -> DoD policyMappings,
//! critical directoryName nameConstraints), made by `tests/fpki_lab/make.sh`
//! with the `openssl` CLI and served by `openssl s_server`. Each case is
//! probed as a `tls` flow and judged, in the same test, by `openssl verify
//! -policy_check` (and pyhanko-certvalidator when the test command installed
//! it): all must agree with the expected verdict of `tests/fpki_lab/expected.tsv`.

use flowprobe_testkit as support;
use std::path::Path;
use std::process::Command;
use support::servers::openssl_server;
use support::*;

const LAB_TIME: &str = "2025-01-01T00:00:00Z";
const LAB_EPOCH: &str = "1735689600";

struct Case {
    name: &'static str,
    chain: &'static str,
    leaf: &'static str,
    /// Initial policies in the anchor's (FPKI) domain; empty = anyPolicy.
    initial: &'static [&'static str],
    explicit: bool,
    valid: bool,
}

const COMMON: &str = "2.16.840.1.101.3.2.1.3.6";
const HARDWARE: &str = "2.16.840.1.101.3.2.1.3.7";

const CASES: &[Case] = &[
    Case {
        name: "good-common-explicit",
        chain: "intermediates.pem",
        leaf: "leaf-good",
        initial: &[COMMON],
        explicit: true,
        valid: true,
    },
    Case {
        name: "good-any-explicit",
        chain: "intermediates.pem",
        leaf: "leaf-good",
        initial: &[],
        explicit: true,
        valid: true,
    },
    Case {
        name: "good-any-noexplicit",
        chain: "intermediates.pem",
        leaf: "leaf-good",
        initial: &[],
        explicit: false,
        valid: true,
    },
    Case {
        name: "good-hardware-explicit",
        chain: "intermediates.pem",
        leaf: "leaf-good",
        initial: &[HARDWARE],
        explicit: true,
        valid: false,
    },
    Case {
        name: "unmapped-any-noexplicit",
        chain: "intermediates.pem",
        leaf: "leaf-unmapped",
        initial: &[],
        explicit: false,
        valid: false,
    },
    Case {
        name: "outside-dn-common-explicit",
        chain: "intermediates.pem",
        leaf: "leaf-outside-dn",
        initial: &[COMMON],
        explicit: true,
        valid: false,
    },
    Case {
        name: "anypolicy-ca-any-noexplicit",
        chain: "intermediates-any.pem",
        leaf: "leaf-anypolicy-ca",
        initial: &[],
        explicit: false,
        valid: false,
    },
];

/// `openssl verify -policy_check` on the case: the first oracle.
fn openssl_verdict(dir: &Path, case: &Case) -> bool {
    let mut cmd = Command::new("openssl");
    cmd.current_dir(dir).args([
        "verify",
        "-attime",
        LAB_EPOCH,
        "-purpose",
        "sslserver",
        "-policy_check",
        "-CAfile",
        "root.pem",
        "-untrusted",
        case.chain,
    ]);
    if case.explicit {
        cmd.arg("-explicit_policy");
    }
    // Without -policy OpenSSL's user set is empty, not anyPolicy.
    let policies: &[&str] = if case.initial.is_empty() {
        &["2.5.29.32.0"]
    } else {
        case.initial
    };
    for p in policies {
        cmd.args(["-policy", p]);
    }
    cmd.arg(format!("{}.pem", case.leaf));
    cmd.output().expect("openssl verify").status.success()
}

/// pyhanko-certvalidator on the case: the second oracle, when installed.
fn pyhanko_verdict(dir: &Path, case: &Case) -> Option<bool> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fpki_lab/pyhanko_verdict.py");
    let chain = dir.join(format!("chain-{}.pem", &case.leaf["leaf-".len()..]));
    let policies = if case.initial.is_empty() {
        "any".to_owned()
    } else {
        case.initial.join(",")
    };
    let out = Command::new("python3")
        .arg(script)
        .arg(dir.join("root.pem"))
        .arg(chain)
        .arg(LAB_TIME)
        .arg(policies)
        .arg(if case.explicit { "1" } else { "0" })
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["valid"].as_bool()
}

fn have_pyhanko() -> bool {
    Command::new("python3")
        .args(["-c", "import pyhanko_certvalidator"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn federal_profile_lab_paths_agree_with_openssl_and_pyhanko() {
    if !require(have("openssl"), "openssl") {
        return;
    }
    let pyhanko = require(have_pyhanko(), "python3 -m pip pyhanko-certvalidator");
    let dir = tempdir();
    let lab = dir.path();
    let make = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fpki_lab/make.sh");
    let made = Command::new("sh")
        .arg(make)
        .arg(lab)
        .output()
        .expect("make.sh");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let mut servers = Vec::new();
    let mut text = String::from("catalog = \"none\"\n[targets]\nlo = \"127.0.0.1\"\n");
    for (i, case) in CASES.iter().enumerate() {
        let server = openssl_server(
            &lab.join(format!("{}.pem", case.leaf)),
            &lab.join(format!("{}.key", case.leaf)),
            Some(&lab.join(case.chain)),
            &[],
        );
        let initial: Vec<String> = case.initial.iter().map(|p| format!("{p:?}")).collect();
        text.push_str(&format!(
            "[trust.lab{i}]\nanchors = [\"{}\"]\ninitial_policies = [{}]\nrequire_explicit_policy = {}\n",
            lab.join("root.pem").display(),
            initial.join(", "),
            case.explicit
        ));
        text.push_str(&format!(
            "[[flow]]\nname = \"{}\"\nfrom = \"mobile-devices\"\nto = \"lo\"\nport = {}\ncheck = \"tls\"\n\
             timeout = \"10s\"\ntls = {{ trust = [\"lab{i}\"], server_name = \"mdm.lab.test\" }}\n",
            case.name,
            server.addr.port()
        ));
        servers.push(server);
    }
    let c = config_from(&text);
    let reports = probe_all(&c).await;
    // The lab is dated 2024-2034: validated now, as the daemon does.
    let mut wrong = Vec::new();
    for case in CASES {
        let r = &reports[case.name];
        let d = serde_json::to_value(&r.attempts[0].facts).expect("json");
        let anchor = &d["chain"]["anchors"][0];
        let verified = anchor["verified"].as_bool().unwrap_or(false);
        let openssl = openssl_verdict(lab, case);
        let py = if pyhanko {
            pyhanko_verdict(lab, case)
        } else {
            None
        };
        if verified != case.valid || openssl != case.valid || py.is_some_and(|p| p != case.valid) {
            wrong.push(format!(
                "{}: expected {}, flowprobe {verified} ({}), openssl {openssl}, pyhanko {py:?}",
                case.name, case.valid, anchor["detail"]
            ));
        }
        if case.valid {
            assert!(
                anchor["policies"].as_array().is_some_and(|p| !p.is_empty()),
                "{}: {anchor:#}",
                case.name
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The refusals name their rule.
    let rule = |name: &str| {
        let d = serde_json::to_value(&reports[name].attempts[0].facts).expect("json");
        d["chain"]["anchors"][0]["violation"]["rule"].clone()
    };
    assert_eq!(rule("outside-dn-common-explicit"), "name_constraints");
    assert_eq!(rule("anypolicy-ca-any-noexplicit"), "any_policy_inhibited");
    assert_eq!(rule("unmapped-any-noexplicit"), "policy");
    assert_eq!(rule("good-hardware-explicit"), "policy_not_acceptable");
    drop(servers);
}
