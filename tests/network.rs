//! TCP and DNS outcomes against real sockets and a real DNS server
//! (dnsmasq) on loopback.

use flowprobe_testkit as support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use flowprobe::net::dns::DnsError;
use flowprobe::outcome::Reason;
use flowprobe::probe::{Cause, Phase};
use support::*;

#[tokio::test]
async fn tcp_open_refused_and_closed_expectations() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = listener.local_addr().expect("addr").port();
    let refused = free_port();
    let c = config_from(&format!(
        r#"
catalog = "none"
[targets]
lo = "127.0.0.1"
[[flow]]
name = "open"
from = "here"
to = "lo"
port = {open}
[[flow]]
name = "refused"
from = "here"
to = "lo"
port = {refused}
[[flow]]
name = "forbidden-but-open"
from = "here"
to = "lo"
port = {open}
expect = "closed"
[[flow]]
name = "forbidden-and-refused"
from = "here"
to = "lo"
port = {refused}
expect = "closed"
"#
    ));
    let r = probe_all(&c).await;
    assert_eq!(r["open"].reason, Reason::Ok);
    assert!(r["open"].up);
    assert!(r["open"].phases.get(Phase::Connect).is_some());
    assert!(
        r["open"].phases.get(Phase::Dns).is_none(),
        "IP literals skip DNS"
    );
    assert_eq!(r["open"].attempts[0].address.port(), open);
    assert_eq!(r["refused"].reason, Reason::Refused);
    assert!(!r["refused"].up);
    assert_eq!(r["forbidden-but-open"].reason, Reason::Ok);
    assert!(
        !r["forbidden-but-open"].up,
        "a reachable forbidden flow is down"
    );
    assert_eq!(r["forbidden-and-refused"].reason, Reason::Refused);
    assert!(
        r["forbidden-and-refused"].up,
        "refused meets expect = closed"
    );
}

fn dns_config(port: u16, flows: &str) -> String {
    format!(
        r#"
catalog = "none"
[vantage.here]
dns_servers = ["127.0.0.1:{port}"]
[targets]
mdm = "mdm.lab.test"
v4 = "v4only.lab.test"
nx = "missing.lab.test"
{flows}
"#
    )
}

#[tokio::test]
async fn dns_through_the_vantage_server_nxdomain_and_both_families() {
    if !require(have("dnsmasq"), "dnsmasq (Debian dnsmasq-base)") {
        return;
    }
    let dns = Dns::start(&[
        ("mdm.lab.test", "127.0.0.1,::1"),
        ("v4only.lab.test", "127.0.0.1"),
    ])
    .expect("dnsmasq started");
    // A dual-stack listener: one port on 127.0.0.1 and ::1.
    let v6 = TcpListener::bind("[::1]:0").expect("bind ::1");
    let port = v6.local_addr().expect("addr").port();
    let _v4 = TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1 on the same port");
    let c = config_from(&dns_config(
        dns.port,
        &format!(
            r#"
[[flow]]
name = "by-name"
from = "here"
to = "mdm"
port = {port}
[[flow]]
name = "both"
from = "here"
to = "mdm"
port = {port}
ip_family = "both"
[[flow]]
name = "v6"
from = "here"
to = "mdm"
port = {port}
ip_family = "ipv6"
[[flow]]
name = "nx"
from = "here"
to = "nx"
port = {port}
[[flow]]
name = "both-but-v4-only"
from = "here"
to = "v4"
port = {port}
ip_family = "both"
"#
        ),
    ));
    let r = probe_all(&c).await;
    assert_eq!(r["by-name"].reason, Reason::Ok, "{}", r["by-name"].detail);
    assert!(r["by-name"].attempts[0].address.is_ipv4(), "prefer-ipv4");
    assert!(r["by-name"].phases.get(Phase::Dns).is_some());
    let both: Vec<_> = r["both"]
        .attempts
        .iter()
        .map(|a| (a.address.is_ipv4(), a.reason))
        .collect();
    assert_eq!(both, vec![(true, Reason::Ok), (false, Reason::Ok)]);
    assert!(r["v6"].attempts[0].address.is_ipv6());
    assert_eq!(r["nx"].reason, Reason::DnsNxdomain, "{}", r["nx"].detail);
    assert!(r["nx"].attempts.is_empty());
    assert_eq!(
        r["both-but-v4-only"].reason,
        Reason::DnsError,
        "{}",
        r["both-but-v4-only"].detail
    );
    // No attempt was made: the report carries the lookup's cause.
    assert!(
        matches!(
            r["both-but-v4-only"].cause.as_deref(),
            Some(Cause::Dns(DnsError::NoAddress { name, family: "IPv6" })) if name == "v4only.lab.test"
        ),
        "{:?}",
        r["both-but-v4-only"].cause
    );
}

#[tokio::test]
async fn dns_server_that_never_answers_is_dns_timeout_within_budget() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let port = silent.local_addr().expect("addr").port();
    let c = config_from(&dns_config(
        port,
        r#"
[[flow]]
name = "silent"
from = "here"
to = "mdm"
port = 443
timeout = "1s"
"#,
    ));
    let t = Instant::now();
    let r = probe_all(&c).await;
    assert_eq!(
        r["silent"].reason,
        Reason::DnsTimeout,
        "{}",
        r["silent"].detail
    );
    assert!(
        t.elapsed() < Duration::from_millis(1800),
        "took {:?}",
        t.elapsed()
    );
}

// a DNS server that is down (nothing on its port: the
// kernel answers ICMP port-unreachable, TCP is refused) ends the DNS phase
// at once with dns_error "server unreachable"; the budget is 10 s, so a
// dns_timeout here would mean the lookup waited for silence.
#[tokio::test]
async fn dns_server_that_is_down_is_dns_error_server_unreachable() {
    let closed = free_udp_port();
    let c = config_from(&dns_config(
        closed,
        r#"
[[flow]]
name = "down"
from = "here"
to = "mdm"
port = 443
timeout = "10s"
interval = "30s"
"#,
    ));
    let r = probe_all(&c).await;
    assert_eq!(r["down"].reason, Reason::DnsError, "{}", r["down"].detail);
    assert!(
        matches!(
            r["down"].cause.as_deref(),
            Some(Cause::Dns(DnsError::Unreachable { .. }))
        ),
        "{:?}",
        r["down"].cause
    );
    // One server down and one silent: only silence can be the answer, so
    // the lookup waits for it and times out.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let port = silent.local_addr().expect("addr").port();
    let text = dns_config(
        closed,
        r#"
[[flow]]
name = "half"
from = "here"
to = "mdm"
port = 443
timeout = "1s"
"#,
    )
    .replace(
        &format!("[\"127.0.0.1:{closed}\"]"),
        &format!("[\"127.0.0.1:{closed}\", \"127.0.0.1:{port}\"]"),
    );
    let r = probe_all(&config_from(&text)).await;
    assert_eq!(r["half"].reason, Reason::DnsTimeout, "{}", r["half"].detail);
    assert!(
        matches!(
            r["half"].cause.as_deref(),
            Some(Cause::Dns(DnsError::Timeout { .. }))
                | Some(Cause::Timeout {
                    phase: Some(Phase::Dns)
                })
        ),
        "{:?}",
        r["half"].cause
    );
}

/// A DNS server that answers every query with `rcode` (2 SERVFAIL, 5
/// REFUSED): the question echoed, no answers. Stops when dropped.
struct RcodeDns {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl RcodeDns {
    fn start(rcode: u8) -> RcodeDns {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let port = sock.local_addr().expect("addr").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if n < 12 {
                    continue;
                }
                let mut reply = buf[..n].to_vec();
                reply[2] = 0x81; // QR, RD
                reply[3] = 0x80 | rcode; // RA, the code
                let _ = sock.send_to(&reply, peer);
            }
        });
        RcodeDns { port, stop }
    }
}

impl Drop for RcodeDns {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// SERVFAIL and REFUSED call for different fixes (the resolver's upstream
/// vs. the resolver's ACL for this vantage), so the detail keeps the code.
#[tokio::test]
async fn dns_error_answers_keep_their_response_code() {
    for rcode in [2u8, 5] {
        let dns = RcodeDns::start(rcode);
        let c = config_from(&dns_config(
            dns.port,
            r#"
[[flow]]
name = "answered"
from = "here"
to = "mdm"
port = 443
timeout = "3s"
"#,
        ));
        let r = probe_all(&c).await;
        let r = &r["answered"];
        assert_eq!(r.reason, Reason::DnsError, "{}", r.detail);
        assert!(
            matches!(
                r.cause.as_deref(),
                Some(Cause::Dns(DnsError::Answered { code, .. })) if u16::from(*code) == u16::from(rcode)
            ),
            "rcode {rcode}: {:?}",
            r.cause
        );
    }
}

/// The scheduler boxes one probe future per probe; check-specific futures
/// are boxed inside it, so it stays small (it was tens of kilobytes, and
/// copying it cost more CPU than the TCP connect itself).
#[test]
fn probe_future_is_small() {
    let c = config_from(
        r#"
catalog = "none"
[targets]
lo = "127.0.0.1"
[[flow]]
name = "tls"
from = "here"
to = "lo"
port = 443
check = "tls"
"#,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let _guard = rt.enter();
    let nets = flowprobe::probe::plan::build_nets(&c).expect("nets");
    let flows = flowprobe::probe::plan::prepare(&c).expect("prepare");
    let net = &nets["here"];
    let fut = flowprobe::probe::run(&flows[0], net);
    let size = size_of_val(&fut);
    drop(fut);
    assert!(
        size < 8192,
        "probe future is {size} bytes (was 30,928 before the boxing)"
    );
}
