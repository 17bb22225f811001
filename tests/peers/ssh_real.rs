//! The SSH exchange and the built-in policies (one per STIG release, and the
//! `stig` common ground) against a real OpenSSH `sshd`, started on a
//! loopback port with its own host keys and config per policy.
//!
//! Without `/usr/sbin/sshd` the tests skip, except under CI (`CI` set), where
//! a missing server is a failure: CI must install `openssh-server`.
//! Set `FLOWPROBE_CAPTURE_KEXINIT=DIR` to save each server's KEXINIT payload
//! there (that is how `fuzz/corpus/kexinit/openssh-*` was made).

use flowprobe::analyze::ssh_policy::{
    AlgorithmKind, COMPRESSION_NOTE, SshJudgement, SshPolicy, findings, judge,
};
use flowprobe::outcome::{Action, Reason};
use flowprobe::wire::ssh::{SshHello, WireLimits, exchange};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

use flowprobe_testkit as support;

const SSHD: &str = "/usr/sbin/sshd";

/// What every current STIG release allows (the `stig` common ground).
const STIG_ALGORITHMS: &str = "\
Ciphers aes256-gcm@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256
KexAlgorithms ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256
HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256
";

/// A RHEL 9 host under the FIPS crypto policy (RHEL 9 STIG V2R7:
/// RHEL-09-255065, RHEL-09-255075, RHEL-09-215105), `Compression no`.
const RHEL9_ALGORITHMS: &str = "\
Ciphers aes256-gcm@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512
KexAlgorithms ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512
HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256
Compression no
";

/// An Ubuntu 22.04 host configured by the V1R1 text of UBTU-22-255050,
/// -255055 and -255060 (ciphers still with `aes192-ctr`).
const UBUNTU2204_V1R1_ALGORITHMS: &str = "\
Ciphers aes256-ctr,aes256-gcm@openssh.com,aes192-ctr,aes128-ctr,aes128-gcm@openssh.com
MACs hmac-sha2-512,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-256-etm@openssh.com
KexAlgorithms ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256
HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256
";

/// The STIG lists with one weak algorithm appended per kind. Explicit lists,
/// not `Ciphers +aes128-cbc`: `+` appends to OpenSSH's *default* list, which
/// itself violates the STIG (chacha20, curve25519, umac, ...), so the
/// violations would not be exactly these four.
const WEAK_ALGORITHMS: &str = "\
Ciphers aes256-gcm@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr,aes128-cbc
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256,hmac-sha1
KexAlgorithms ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group1-sha1
HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-rsa
";

/// A running sshd; the process goes before its directory.
struct Sshd {
    _process: support::Proc,
    port: u16,
    _dir: TempDir,
}

/// Whether to run: false (after saying so) when sshd is missing outside CI;
/// a failure in CI.
fn sshd_available() -> bool {
    support::require(Path::new(SSHD).exists(), "openssh-server (/usr/sbin/sshd)")
}

fn keygen(dir: &Path, kind: &str, bits: &str) -> PathBuf {
    let path = dir.join(kind);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", kind, "-b", bits, "-f"])
        .arg(&path)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen -t {kind} failed");
    path
}

/// Starts sshd with `algorithms` (sshd_config lines) on a free loopback
/// port, retrying when another process took the port in between.
fn start_sshd(algorithms: &str) -> Sshd {
    // Privilege separation directory; root-owned on a real system.
    let _ = fs::create_dir_all("/run/sshd");
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = [
        keygen(dir.path(), "rsa", "2048"),
        keygen(dir.path(), "ecdsa", "256"),
        keygen(dir.path(), "ed25519", "256"),
    ];
    let mut last_log = String::new();
    for _attempt in 0..5 {
        let port = support::free_port();
        let mut config = format!(
            "ListenAddress 127.0.0.1:{port}\nUsePAM no\nPidFile none\nStrictModes no\n{algorithms}"
        );
        for key in &keys {
            config.push_str(&format!("HostKey {}\n", key.display()));
        }
        let config_path = dir.path().join("sshd_config");
        let log_path = dir.path().join("sshd.log");
        fs::write(&config_path, config).expect("write sshd_config");
        let log = fs::File::create(&log_path).expect("create log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn sshd");
        let mut process = support::Proc(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            last_log = fs::read_to_string(&log_path).unwrap_or_default();
            if last_log.contains("Server listening on") {
                return Sshd {
                    _process: process,
                    port,
                    _dir: dir,
                };
            }
            if let Ok(Some(_)) = process.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Another process may have taken the port after we released it.
        if !last_log.contains("Address already in use") {
            panic!("sshd did not start:\n{last_log}");
        }
    }
    panic!("sshd never got a free port:\n{last_log}");
}

async fn probe(sshd: &Sshd) -> SshHello {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", sshd.port))
        .await
        .expect("connect to sshd");
    tokio::time::timeout(
        Duration::from_secs(5),
        exchange(&mut stream, &WireLimits::default()),
    )
    .await
    .expect("exchange within 5s")
    .expect("exchange with sshd")
}

fn capture(name: &str, hello: &SshHello) {
    if let Some(dir) = std::env::var_os("FLOWPROBE_CAPTURE_KEXINIT") {
        let path = PathBuf::from(dir).join(format!("openssh-{name}.bin"));
        fs::write(&path, hello.kexinit.encode()).expect("write captured KEXINIT");
    }
}

fn violations(j: &SshJudgement) -> BTreeMap<AlgorithmKind, Vec<&str>> {
    j.violations
        .iter()
        .map(|(k, v)| (*k, v.iter().map(String::as_str).collect()))
        .collect()
}

#[tokio::test]
async fn stig_config_passes_stig() {
    if !sshd_available() {
        return;
    }
    let sshd = start_sshd(STIG_ALGORITHMS);
    let hello = probe(&sshd).await;
    capture("stig", &hello);
    assert_eq!(hello.protocol, "2.0");
    assert!(hello.software.starts_with("OpenSSH_"), "{}", hello.software);
    let j = judge(&hello.kexinit, &SshPolicy::stig());
    assert!(j.is_compliant(), "{j:#?}");
    assert!(findings(&j, Action::Fail).is_empty());
    assert!(j.offered.iter().any(|a| a.name == "ecdh-sha2-nistp256"));
    // The common ground passes every built-in policy.
    for name in flowprobe::analyze::ssh_policy::BUILTIN_POLICIES {
        let j = judge(&hello.kexinit, &policy(name));
        assert!(j.is_compliant(), "{name}: {j:#?}");
    }
}

#[tokio::test]
async fn weak_config_fails_naming_exactly_the_weak_algorithms() {
    if !sshd_available() {
        return;
    }
    let sshd = start_sshd(WEAK_ALGORITHMS);
    let hello = probe(&sshd).await;
    capture("weak", &hello);
    let j = judge(&hello.kexinit, &SshPolicy::stig());
    let want: BTreeMap<AlgorithmKind, Vec<&str>> = [
        (AlgorithmKind::Kex, vec!["diffie-hellman-group1-sha1"]),
        (AlgorithmKind::HostKey, vec!["ssh-rsa"]),
        (AlgorithmKind::Cipher, vec!["aes128-cbc"]),
        (AlgorithmKind::Mac, vec!["hmac-sha1"]),
    ]
    .into();
    assert_eq!(violations(&j), want);
    let found = findings(&j, Action::Fail);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reason, Reason::SshWeakAlgorithms);
    let d = &found[0].detail;
    for part in [
        "UBTU-24-100840: kex diffie-hellman-group1-sha1 is not allowed",
        "; host_key ssh-rsa is not allowed; ",
        "UBTU-24-100820: cipher aes128-cbc is not allowed",
        "UBTU-24-100830: mac hmac-sha1 is not allowed",
    ] {
        assert!(d.contains(part), "{part} not in {d}");
    }
}

fn policy(name: &str) -> SshPolicy {
    SshPolicy::builtin(name).unwrap_or_else(|| panic!("no built-in {name}"))
}

/// The one finding of `policy` on `hello`, which must exist.
fn finding_detail(hello: &SshHello, name: &str) -> String {
    let found = findings(&judge(&hello.kexinit, &policy(name)), Action::Fail);
    assert_eq!(found.len(), 1, "{name}: {found:?}");
    found[0].detail.clone()
}

#[tokio::test]
async fn rhel9_config_passes_stig_rhel9_and_fails_ubuntu_2204_on_its_kex_rule() {
    if !sshd_available() {
        return;
    }
    let sshd = start_sshd(RHEL9_ALGORITHMS);
    let hello = probe(&sshd).await;
    let j = judge(&hello.kexinit, &policy("stig-rhel9"));
    assert!(j.is_compliant(), "{j:#?}");
    assert!(
        j.notes.is_empty(),
        "`Compression no` leaves nothing to guess"
    );
    assert!(judge(&hello.kexinit, &policy("stig-rhel8")).is_compliant());
    // Ubuntu 22.04 allows only the ECDH curves and group exchange.
    let d = finding_detail(&hello, "stig-ubuntu2204");
    assert!(
        d.ends_with(
            "UBTU-22-255060: kex algorithms diffie-hellman-group14-sha256, \
             diffie-hellman-group16-sha512, diffie-hellman-group18-sha512 are not allowed"
        ),
        "{d}"
    );
    // Ubuntu 24.04 allows group14 and group16 but not group18.
    let d = finding_detail(&hello, "stig-ubuntu2404");
    assert!(
        d.ends_with("UBTU-24-100840: kex diffie-hellman-group18-sha512 is not allowed"),
        "{d}"
    );
}

#[tokio::test]
async fn aes192_ctr_passes_ubuntu_2204_v1r1_and_fails_rhel9_and_stig_naming_the_rule() {
    if !sshd_available() {
        return;
    }
    let sshd = start_sshd(UBUNTU2204_V1R1_ALGORITHMS);
    let hello = probe(&sshd).await;
    assert!(
        hello
            .kexinit
            .encryption_server_to_client
            .contains(&"aes192-ctr".to_string())
    );
    let j = judge(&hello.kexinit, &policy("stig-ubuntu2204-v1r1"));
    assert!(j.is_compliant(), "{j:#?}");
    let d = finding_detail(&hello, "stig-rhel9");
    assert_eq!(
        d,
        "policy stig-rhel9 (RHEL 9 STIG V2R7): RHEL-09-255065: cipher aes192-ctr is not allowed"
    );
    // V2R7 of the Ubuntu 22.04 STIG dropped it too.
    let d = finding_detail(&hello, "stig-ubuntu2204");
    assert!(
        d.ends_with("UBTU-22-255050: cipher aes192-ctr is not allowed"),
        "{d}"
    );
    let d = finding_detail(&hello, "stig");
    assert!(
        d.ends_with(
            "RHEL-08-010291, RHEL-09-255065, UBTU-22-255050, UBTU-24-100820: \
             cipher aes192-ctr is not allowed"
        ),
        "{d}"
    );
}

#[tokio::test]
async fn compression_yes_passes_stig_rhel9_as_delayed_compression_with_a_note() {
    if !sshd_available() {
        return;
    }
    let sshd = start_sshd(&RHEL9_ALGORITHMS.replace("Compression no", "Compression yes"));
    let hello = probe(&sshd).await;
    // OpenSSH >= 7.4 offers only delayed compression for `yes`.
    assert_eq!(
        hello.kexinit.compression_server_to_client,
        ["none", "zlib@openssh.com"]
    );
    let j = judge(&hello.kexinit, &policy("stig-rhel9"));
    assert!(j.is_compliant(), "{j:#?}");
    assert_eq!(j.violation_count(AlgorithmKind::Compression), 0);
    assert_eq!(j.notes, [COMPRESSION_NOTE]);
}

#[tokio::test]
async fn default_config_fails_stig() {
    if !sshd_available() {
        return;
    }
    let sshd = start_sshd("");
    let hello = probe(&sshd).await;
    capture("default", &hello);
    let j = judge(&hello.kexinit, &SshPolicy::stig());
    let found = findings(&j, Action::Fail);
    assert_eq!(found.len(), 1, "{j:#?}");
    let v = violations(&j);
    for (kind, name) in [
        (AlgorithmKind::Kex, "curve25519-sha256"),
        (AlgorithmKind::HostKey, "ssh-ed25519"),
        (AlgorithmKind::Cipher, "chacha20-poly1305@openssh.com"),
        (AlgorithmKind::Mac, "umac-64-etm@openssh.com"),
    ] {
        assert!(v[&kind].contains(&name), "{kind:?} {name} not in {v:?}");
    }
    // Markers are never violations.
    for marker in &j.markers {
        assert!(
            !v.values().flatten().any(|n| *n == marker.as_str()),
            "{marker}"
        );
    }
    // And the compliant part of the default offer is not blamed.
    assert!(!v[&AlgorithmKind::Cipher].contains(&"aes256-ctr"));
}

/// The SSH check through the whole pipeline: config (built-in and custom
/// policies, fail and warn), probe, metrics series.
#[tokio::test]
async fn ssh_flows_judge_real_sshd_and_export_algorithm_series() {
    if !sshd_available() {
        return;
    }
    let weak = start_sshd(WEAK_ALGORITHMS);
    let stig = start_sshd(STIG_ALGORITHMS);
    let cfg = support::config_from(&format!(
        r#"
catalog = "none"
[targets]
lo = "127.0.0.1"
[ssh_policy.legacy]
kex = ["diffie-hellman-group1-sha1", "ecdh-sha2-nistp256", "diffie-hellman-group14-sha256"]
host_key = ["ssh-rsa", "rsa-sha2-256", "rsa-sha2-512", "ecdsa-sha2-nistp256"]
ciphers = ["aes128-cbc", "aes256-ctr", "aes128-ctr"]
macs = ["hmac-sha1", "hmac-sha2-256", "hmac-sha2-512"]
[[flow]]
name = "weak-stig"
from = "administrators"
to = "lo"
port = {w}
check = "ssh"
ssh = {{ policy = "stig" }}
[[flow]]
name = "weak-warn"
from = "administrators"
to = "lo"
port = {w}
check = "ssh"
ssh = {{ policy = "stig", on_violation = "warn", software = "^OpenSSH_" }}
[[flow]]
name = "compliant"
from = "administrators"
to = "lo"
port = {c}
check = "ssh"
ssh = {{ policy = "stig", host_key = ["ecdsa-sha2-nistp256"], software = "^Dropbear" }}
"#,
        w = weak.port,
        c = stig.port
    ));
    let reports = support::probe_all(&cfg).await;
    let r = &reports["weak-stig"];
    assert_eq!(r.reason, Reason::SshWeakAlgorithms, "{}", r.detail);
    assert!(!r.up);
    assert_eq!(r.findings().count(), 1);
    let d = r
        .attempts
        .iter()
        .find_map(|a| match &a.facts {
            flowprobe::probe::KindFacts::Ssh(d) => Some(d),
            _ => None,
        })
        .expect("ssh facts");
    for weak_name in [
        "aes128-cbc",
        "hmac-sha1",
        "diffie-hellman-group1-sha1",
        "ssh-rsa",
    ] {
        assert!(
            d.judgement
                .offered
                .iter()
                .any(|a| a.name == weak_name && !a.allowed),
            "{weak_name} not judged a violation: {:?}",
            d.judgement.offered
        );
    }
    assert!(reports["weak-warn"].up, "violations only warn");
    assert_eq!(reports["weak-warn"].findings().count(), 1);
    let c = &reports["compliant"];
    assert!(c.up, "{}", c.detail);
    assert!(
        c.findings().any(|f| f.reason == Reason::SshSoftware),
        "software pin mismatch warns"
    );
    assert!(c.phases.get(flowprobe::probe::Phase::Ssh).is_some());

    let metrics = std::sync::Arc::new(flowprobe::metrics::Metrics::new().expect("metrics"));
    let state = flowprobe::state::State::new(std::sync::Arc::clone(&metrics));
    for p in flowprobe::probe::plan::prepare(&cfg).expect("prepare") {
        let name = p.flow.name.clone();
        let slot = state.make_slot(p);
        state.record(&slot, reports[&name].clone());
    }
    let text = String::from_utf8(metrics.encode()).expect("utf8");
    let has = |parts: &[&str]| text.lines().any(|l| parts.iter().all(|p| l.contains(p)));
    assert!(
        has(&[
            "flowprobe_ssh_algorithm{",
            "flow=\"weak-stig\"",
            "algorithm=\"aes128-cbc\"",
            "allowed=\"false\"",
            "kind=\"cipher\""
        ]),
        "{text}"
    );
    assert!(has(&[
        "flowprobe_ssh_algorithm{",
        "flow=\"weak-stig\"",
        "algorithm=\"aes256-ctr\"",
        "allowed=\"true\""
    ]));
    assert!(has(&[
        "flowprobe_ssh_info{",
        "flow=\"compliant\"",
        "protocol=\"2.0\"",
        "software=\"OpenSSH_"
    ]));
    assert!(has(&[
        "flowprobe_ssh_policy_violations{",
        "flow=\"weak-stig\"",
        "kind=\"mac\"",
        "} 1"
    ]));
    assert!(has(&[
        "flowprobe_ssh_policy_violations{",
        "flow=\"compliant\"",
        "kind=\"kex\"",
        "} 0"
    ]));
    assert!(has(&[
        "flowprobe_ssh_policy_violations{",
        "flow=\"weak-stig\"",
        "kind=\"compression\"",
        "} 0"
    ]));
    assert!(
        !text.contains("algorithm=\"kex-strict-s-v00@openssh.com\""),
        "markers are not algorithms"
    );
}
