//! A real dropbear server: its kex list ends in `kexguess2@matt.ucc.asn.au`,
//! a signal (like `ext-info-s`), which the policy must not judge as a key
//! exchange. Without `/usr/sbin/dropbear` (Debian `dropbear-bin`) the test
//! skips, except under CI, where it fails.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flowprobe::analyze::ssh_policy::{SshPolicy, findings, judge};
use flowprobe::outcome::{Action, Reason};
use flowprobe::wire::ssh::{WireLimits, exchange};

use flowprobe_testkit as support;

const DROPBEAR: &str = "/usr/sbin/dropbear";
const KEXGUESS2: &str = "kexguess2@matt.ucc.asn.au";

/// A running dropbear; the process goes before its directory.
struct Dropbear {
    _process: support::Proc,
    port: u16,
    _dir: tempfile::TempDir,
}

/// Starts dropbear in the foreground on a free loopback port with an ECDSA
/// host key of its own, retrying when the port was taken in between.
fn start_dropbear() -> Dropbear {
    let dir = support::tempdir();
    let key = dir.path().join("ecdsa_host_key");
    let status = Command::new("dropbearkey")
        .args(["-t", "ecdsa", "-s", "256", "-f"])
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run dropbearkey");
    assert!(status.success(), "dropbearkey failed");
    let mut last_log = String::new();
    for _attempt in 0..5 {
        let port = support::free_port();
        let log_path = dir.path().join("dropbear.log");
        let log = fs::File::create(&log_path).expect("create log");
        let child = Command::new(DROPBEAR)
            .args(["-F", "-E", "-s", "-p", &format!("127.0.0.1:{port}"), "-r"])
            .arg(&key)
            .arg("-P")
            .arg(dir.path().join("dropbear.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn dropbear");
        let mut process = support::Proc(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Dropbear {
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
        last_log = fs::read_to_string(&log_path).unwrap_or_default();
        if !last_log.contains("Address already in use") {
            panic!("dropbear did not start:\n{last_log}");
        }
    }
    panic!("dropbear never got a free port:\n{last_log}");
}

#[tokio::test]
async fn dropbear_kexguess2_is_a_marker_not_a_forbidden_kex() {
    if !support::require(
        Path::new(DROPBEAR).exists(),
        "dropbear (Debian dropbear-bin, /usr/sbin/dropbear)",
    ) {
        return;
    }
    let server = start_dropbear();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect to dropbear");
    let hello = tokio::time::timeout(
        Duration::from_secs(5),
        exchange(&mut stream, &WireLimits::default()),
    )
    .await
    .expect("exchange within 5s")
    .expect("exchange with dropbear");
    assert!(hello.software.starts_with("dropbear"), "{}", hello.software);
    assert!(
        hello.kexinit.kex_algorithms.iter().any(|k| k == KEXGUESS2),
        "dropbear no longer offers {KEXGUESS2}: {:?}",
        hello.kexinit.kex_algorithms
    );
    let j = judge(&hello.kexinit, &SshPolicy::stig());
    assert!(j.markers.iter().any(|m| m == KEXGUESS2), "{:?}", j.markers);
    assert!(j.offered.iter().all(|a| a.name != KEXGUESS2), "{j:#?}");
    // Whatever else dropbear's defaults break (curve25519, chacha20, ...),
    // the marker is not among the violations.
    let found = findings(&j, Action::Fail);
    for f in &found {
        assert_eq!(f.reason, Reason::SshWeakAlgorithms);
        assert!(!f.detail.contains(KEXGUESS2), "{}", f.detail);
    }
}
