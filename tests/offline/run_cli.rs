//! `flowprobe run` on the real binary when it cannot run: a listen address
//! already taken is neither a usage nor a configuration error, so it exits
//! 1 (systemd's `Restart=on-failure` retries it) and says why.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn run_on_a_taken_address_exits_1_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("flowprobe.toml");
    std::fs::write(&cfg, "catalog = \"none\"\n").expect("write config");
    // Held for the whole test: the daemon's bind must fail.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = taken.local_addr().expect("addr").to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowprobe"))
        .args(["run", "--config"])
        .arg(&cfg)
        .args(["--listen", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flowprobe run");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flowprobe run kept running on a taken address {addr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().expect("stderr");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("flowprobe: cannot listen on {addr}: ")),
        "{stderr}"
    );
    assert!(stderr.contains("in use"), "{stderr}");
    drop(taken);
}
