//! Hostile fake servers on loopback: each ends in its reason, within the
//! time budget the caller applies, without reading more than the limits.

use flowprobe::outcome::Reason;
use flowprobe::wire::ssh::{KexInit, SshWireError, WireLimits, encode_packet, exchange};
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use flowprobe_testkit as support;

/// What the probe's wrapper gives every SSH probe here.
const BUDGET: Duration = Duration::from_secs(1);

/// Serves one connection with `behave` on a fresh loopback port.
async fn fake_server<F, Fut>(behave: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            behave(stream).await;
        }
    });
    addr
}

/// Probes `addr` as the daemon would: the exchange under a time budget.
async fn probe(addr: SocketAddr) -> (Result<(), SshWireError>, Reason, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let outcome = tokio::time::timeout(BUDGET, exchange(&mut stream, &WireLimits::default())).await;
    let elapsed = started.elapsed();
    match outcome {
        Err(_elapsed) => (Ok(()), Reason::Timeout, elapsed),
        Ok(Ok(hello)) => panic!("a hostile server passed: {hello:?}"),
        Ok(Err(e)) => {
            let reason = e.reason();
            (Err(e), reason, elapsed)
        }
    }
}

/// Asserts the reason and that it came well before the budget ran out.
async fn assert_fast(addr: SocketAddr, want: Reason) -> SshWireError {
    let (result, reason, elapsed) = probe(addr).await;
    let err = result.expect_err("an error, not a timeout");
    assert_eq!(reason, want, "{err}");
    assert!(elapsed < BUDGET / 2, "took {elapsed:?}: {err}");
    err
}

async fn hold(mut stream: TcpStream) {
    tokio::time::sleep(Duration::from_secs(30)).await;
    let _ = stream.shutdown().await;
}

fn kexinit_packet() -> Vec<u8> {
    kexinit_packet_with("none")
}

/// A compliant KEXINIT whose compression lists are `compression`.
fn kexinit_packet_with(compression: &str) -> Vec<u8> {
    let names = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
    let kex = KexInit {
        cookie: [9; 16],
        kex_algorithms: names("ecdh-sha2-nistp256"),
        server_host_key_algorithms: names("rsa-sha2-512"),
        encryption_client_to_server: names("aes256-ctr"),
        encryption_server_to_client: names("aes256-ctr"),
        mac_client_to_server: names("hmac-sha2-256"),
        mac_server_to_client: names("hmac-sha2-256"),
        compression_client_to_server: names(compression),
        compression_server_to_client: names(compression),
        languages_client_to_server: vec![],
        languages_server_to_client: vec![],
        first_kex_packet_follows: false,
        reserved: 0,
    };
    encode_packet(&kex.encode())
}

#[tokio::test]
async fn silent_server_times_out_within_budget() {
    let addr = fake_server(hold).await;
    let (_, reason, elapsed) = probe(addr).await;
    assert_eq!(reason, Reason::Timeout);
    assert!(
        elapsed >= BUDGET && elapsed < BUDGET + Duration::from_millis(500),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn dripping_server_times_out_within_budget() {
    let addr = fake_server(|mut s| async move {
        for &b in b"SSH-2.0-OpenSSH_9.2\r\n" {
            if s.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        hold(s).await;
    })
    .await;
    let (_, reason, elapsed) = probe(addr).await;
    assert_eq!(reason, Reason::Timeout);
    assert!(elapsed < BUDGET + Duration::from_millis(500), "{elapsed:?}");
}

#[tokio::test]
async fn closing_server_is_a_banner_failure_or_reset() {
    let addr = fake_server(|s| async move { drop(s) }).await;
    let (result, reason, elapsed) = probe(addr).await;
    // Our identification goes out first; if it reached the server before the
    // close, the kernel answers the unread bytes with RST, otherwise we see
    // EOF. Which one is a race between two processes, not our choice.
    assert!(
        matches!(reason, Reason::SshBanner | Reason::Reset),
        "{reason}: {result:?}"
    );
    // Either way it is told apart from a server that said something else:
    // what OpenSSH 9.8's PerSourcePenalties looks like (see ssh_penalty).
    assert!(
        matches!(
            result,
            Err(SshWireError::ClosedBeforeBanner { notice: None, .. })
        ),
        "{result:?}"
    );
    assert!(elapsed < BUDGET / 2, "{elapsed:?}");
}

#[tokio::test]
async fn ten_megabyte_banner_without_newline() {
    let addr = fake_server(|mut s| async move {
        let chunk = vec![b'A'; 64 * 1024];
        for _ in 0..160 {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
        hold(s).await;
    })
    .await;
    let err = assert_fast(addr, Reason::SshBanner).await;
    assert!(
        matches!(err, SshWireError::LineTooLong { limit: 255 }),
        "{err}"
    );
}

#[tokio::test]
async fn ssh_1_only() {
    let addr = fake_server(|mut s| async move {
        let _ = s.write_all(b"SSH-1.5-OpenSSH_2.9p2\r\n").await;
        hold(s).await;
    })
    .await;
    let err = assert_fast(addr, Reason::SshBanner).await;
    assert!(
        matches!(&err, SshWireError::Ssh1Only { protocol, .. } if protocol == "1.5"),
        "{err}"
    );
}

#[tokio::test]
async fn two_hundred_pre_banner_lines() {
    let addr = fake_server(|mut s| async move {
        let mut lines = String::new();
        for i in 0..200 {
            lines.push_str(&format!("welcome line {i}\r\n"));
        }
        lines.push_str("SSH-2.0-OpenSSH_9.2\r\n");
        let _ = s.write_all(lines.as_bytes()).await;
        hold(s).await;
    })
    .await;
    let err = assert_fast(addr, Reason::SshBanner).await;
    assert!(
        matches!(err, SshWireError::TooManyPreBannerLines { lines: 65, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn packet_length_two_to_the_31() {
    let addr = fake_server(|mut s| async move {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\x80\0\0\0").await;
        hold(s).await;
    })
    .await;
    let err = assert_fast(addr, Reason::ProtocolError).await;
    assert!(
        matches!(
            err,
            SshWireError::PacketTooLarge {
                packet_length: 0x8000_0000,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn truncated_kexinit_then_close() {
    let addr = fake_server(|s| async move {
        // Read the client's identification first, as sshd does: closing with
        // unread bytes would turn the close into a reset.
        let mut s = BufReader::new(s);
        let mut identification = String::new();
        let _ = s.read_line(&mut identification).await;
        let packet = kexinit_packet();
        let _ = s.get_mut().write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
        let _ = s.get_mut().write_all(&packet[..packet.len() / 2]).await;
    })
    .await;
    let err = assert_fast(addr, Reason::ProtocolError).await;
    assert!(matches!(err, SshWireError::Truncated { .. }), "{err}");
}

#[tokio::test]
async fn http_server_on_the_port() {
    let addr = fake_server(|s| async move {
        // Like a real HTTP server: read the request line, reject it, close.
        let mut s = BufReader::new(s);
        let mut request_line = String::new();
        if s.read_line(&mut request_line).await.is_ok() {
            let _ = s
                .get_mut()
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    })
    .await;
    let err = assert_fast(addr, Reason::SshBanner).await;
    assert!(
        err.to_string().contains("HTTP/1.1 400 Bad Request"),
        "{err}"
    );
}

#[tokio::test]
async fn valid_fake_passes_so_the_fakes_are_not_vacuous() {
    let addr = fake_server(|mut s| async move {
        let _ = s.write_all(b"SSH-2.0-fake\r\n").await;
        let _ = s.write_all(&kexinit_packet()).await;
        hold(s).await;
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let hello = tokio::time::timeout(BUDGET, exchange(&mut stream, &WireLimits::default()))
        .await
        .expect("in time")
        .expect("valid exchange");
    assert_eq!(hello.software, "fake");
}

/// A server that offers pre-authentication `zlib` (what `Compression yes`
/// meant before OpenSSH 7.4), judged through config, probe and metrics:
/// RHEL-09-255130 is named, and the compression series counts it.
#[tokio::test]
async fn pre_auth_zlib_fails_stig_rhel9_naming_rhel_09_255130() {
    let addr = fake_server(|mut s| async move {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_7.3\r\n").await;
        let _ = s.write_all(&kexinit_packet_with("none,zlib")).await;
        hold(s).await;
    })
    .await;
    let cfg = support::config_from(&format!(
        r#"
catalog = "none"
[targets]
lo = "127.0.0.1"
[[flow]]
name = "old-sshd"
from = "administrators"
to = "lo"
port = {port}
check = "ssh"
ssh = {{ policy = "stig-rhel9" }}
"#,
        port = addr.port()
    ));
    let reports = support::probe_all(&cfg).await;
    let r = &reports["old-sshd"];
    assert_eq!(r.reason, Reason::SshWeakAlgorithms, "{}", r.detail);
    let finding = r.findings().next().expect("finding");
    assert_eq!(
        finding.detail,
        "policy stig-rhel9 (RHEL 9 STIG V2R7): RHEL-09-255130: compression zlib is not \
         allowed (zlib compresses before authentication)"
    );

    let metrics = std::sync::Arc::new(flowprobe::metrics::Metrics::new().expect("metrics"));
    let state = flowprobe::state::State::new(std::sync::Arc::clone(&metrics));
    for p in flowprobe::probe::plan::prepare(&cfg).expect("prepare") {
        let name = p.flow.name.clone();
        let slot = state.make_slot(p);
        state.record(&slot, reports[&name].clone());
    }
    let text = String::from_utf8(metrics.encode()).expect("utf8");
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("flowprobe_ssh_policy_violations{") && l.contains("kind=\"compression\"")
        })
        .unwrap_or_else(|| panic!("no compression series:\n{text}"));
    assert!(line.ends_with("} 1"), "{line}");
}
