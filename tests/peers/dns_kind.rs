//! `check = "dns"` end to end against dnsmasq on loopback (testkit's
//! `Dns`): a known name passes with its address in the facts, an unknown
//! one is `dns_nxdomain`, an `expect` address that is not answered fails
//! naming it, both record types, an empty answer, an answer too large for
//! UDP asked again over TCP and capped in the facts; a closed port and a
//! silent one end in `dns_error` and `dns_timeout` with facts, within the
//! budget; and `flowprobe_dns_answers`. A flow that must be closed is
//! asked over UDP, not by a TCP connect.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowprobe::kinds::dns::{Dns as DnsKind, DnsFacts, QueryError};
use flowprobe::metrics::Metrics;
use flowprobe::outcome::{Level, Reason};
use flowprobe::probe::{Phase, ProbeReport};
use flowprobe::state::State;
use support::*;

fn flow(name: &str, port: u16, timeout: &str, dns: &str) -> String {
    format!(
        r#"
[[flow]]
name = "{name}"
from = "mobile-devices"
to = "lo"
port = {port}
check = "dns"
timeout = "{timeout}"
dns = {{ {dns} }}
"#
    )
}

fn config(flows: &[String]) -> flowprobe::config::Config {
    let text = format!(
        "catalog = \"none\"\n[targets]\nlo = \"127.0.0.1\"\n{}",
        flows.join("")
    );
    config_from(&text)
}

/// The typed facts of the probe's one attempt.
fn facts(r: &ProbeReport) -> &DnsFacts {
    assert_eq!(r.attempts.len(), 1, "one server address: {}", r.detail);
    r.attempts[0]
        .facts
        .get::<DnsKind>()
        .unwrap_or_else(|| panic!("dns facts: {}", r.detail))
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().expect("ip")).collect()
}

fn metrics_text(c: &flowprobe::config::Config, reports: &BTreeMap<String, ProbeReport>) -> String {
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let state = State::new(Arc::clone(&metrics));
    for p in flowprobe::probe::plan::prepare(c).expect("prepare") {
        let slot = state.make_slot(Arc::clone(&p));
        state.record(&slot, reports[&p.flow.name].clone());
    }
    String::from_utf8(metrics.encode()).expect("utf8")
}

/// The value of the one series of `name` with all of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .collect();
    assert!(lines.len() <= 1, "{lines:?}");
    lines.first()?.rsplit(' ').next()?.parse().ok()
}

#[tokio::test]
async fn dns_flows_ask_the_server_and_judge_the_answers() {
    let mut records = vec![
        ("mdm.lab.test", "127.0.0.1".to_string()),
        ("dual.lab.test", "127.0.0.2,::1".to_string()),
    ];
    // 100 A records: about 1.6 KB, more than the 1232 bytes a query
    // advertises, so the UDP answer is truncated and asked over TCP.
    for i in 0..100 {
        records.push(("many.lab.test", format!("10.0.{}.{}", i / 250, i % 250 + 1)));
    }
    let records: Vec<(&str, &str)> = records.iter().map(|(n, a)| (*n, a.as_str())).collect();
    let Some(dns) = Dns::start(&records) else {
        if require(false, "dnsmasq") {
            unreachable!();
        }
        return;
    };
    let port = dns.port;
    let c = config(&[
        flow("known", port, "5s", r#"names = ["mdm.lab.test"]"#),
        flow(
            "unknown",
            port,
            "5s",
            r#"names = ["mdm.lab.test", "nothing.lab.test"]"#,
        ),
        flow(
            "wrong-expect",
            port,
            "5s",
            r#"names = ["mdm.lab.test"], expect = ["192.0.2.10"]"#,
        ),
        flow(
            "right-expect",
            port,
            "5s",
            r#"names = ["mdm.lab.test."], expect = ["127.0.0.1"]"#,
        ),
        flow(
            "both",
            port,
            "5s",
            r#"names = ["dual.lab.test"], record = "both", expect = ["127.0.0.2", "::1"]"#,
        ),
        flow(
            "no-aaaa",
            port,
            "5s",
            r#"names = ["mdm.lab.test"], record = "AAAA""#,
        ),
        flow(
            "no-aaaa-allowed",
            port,
            "5s",
            r#"names = ["mdm.lab.test"], record = "AAAA", min_answers = 0"#,
        ),
        flow(
            "many",
            port,
            "5s",
            r#"names = ["many.lab.test"], min_answers = 32, expect = ["10.0.0.100"]"#,
        ),
    ]);
    let r = probe_all(&c).await;

    // A known name: ok, its address, the code, a time, the dns phase.
    let known = &r["known"];
    assert_eq!(known.reason, Reason::Ok, "{}", known.detail);
    assert!(known.up);
    let d = facts(known);
    assert_eq!(d.server, format!("127.0.0.1:{port}").parse().expect("addr"));
    assert_eq!(d.names.len(), 1);
    let n = &d.names[0];
    assert_eq!((n.name.as_str(), n.reason), ("mdm.lab.test", Reason::Ok));
    assert_eq!(n.queries.len(), 1);
    let q = &n.queries[0];
    assert_eq!(q.record, "A");
    assert_eq!(q.rcode.as_deref(), Some("NOERROR"));
    assert_eq!(q.error, None);
    assert_eq!(q.addresses, ips(&["127.0.0.1"]));
    assert_eq!(q.answer_count, 1);
    assert!(!q.over_tcp);
    assert!(q.seconds.is_some_and(|s| s > 0.0 && s < 5.0), "{q:?}");
    assert!(known.phases.get(Phase::Dns).is_some(), "timed as dns");
    assert!(known.findings().next().is_none());
    let mut lines = Vec::new();
    known.attempts[0].facts.text_lines(&mut lines);
    assert_eq!(lines.len(), 1, "one line per name: {lines:?}");

    // The JSON the API serves: tagged with the kind, typed fields.
    let json = serde_json::to_value(&known.attempts[0].facts).expect("json");
    assert_eq!(json["kind"], "dns");
    assert_eq!(json["names"][0]["queries"][0]["addresses"][0], "127.0.0.1");
    assert_eq!(json["names"][0]["reason"], "ok");

    // An unknown name: NXDOMAIN, and the known one beside it still ok.
    let unknown = &r["unknown"];
    assert_eq!(unknown.reason, Reason::DnsNxdomain, "{}", unknown.detail);
    assert!(!unknown.up);
    let d = facts(unknown);
    assert_eq!(d.names[0].reason, Reason::Ok);
    let nx = &d.names[1];
    assert_eq!(
        (nx.name.as_str(), nx.reason),
        ("nothing.lab.test", Reason::DnsNxdomain)
    );
    assert_eq!(nx.queries[0].rcode.as_deref(), Some("NXDOMAIN"));
    assert!(nx.queries[0].addresses.is_empty());
    let findings: Vec<_> = unknown.findings().collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        (findings[0].reason, findings[0].level),
        (Reason::DnsNxdomain, Level::Fail)
    );

    // An expected address that is not answered: dns_error, naming it.
    let wrong = &r["wrong-expect"];
    assert_eq!(wrong.reason, Reason::DnsError, "{}", wrong.detail);
    let q = &facts(wrong).names[0].queries[0];
    assert_eq!(q.addresses, ips(&["127.0.0.1"]));
    assert_eq!(q.missing, ips(&["192.0.2.10"]));
    let findings: Vec<_> = wrong.findings().collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].reason, Reason::DnsError);
    assert!(findings[0].detail.contains("192.0.2.10"), "{findings:?}");
    assert_eq!(
        r["right-expect"].reason,
        Reason::Ok,
        "{}",
        r["right-expect"].detail
    );
    assert!(
        facts(&r["right-expect"]).names[0].queries[0]
            .missing
            .is_empty()
    );

    // Both record types, each judged against its family.
    let both = &r["both"];
    assert_eq!(both.reason, Reason::Ok, "{}", both.detail);
    let qs = &facts(both).names[0].queries;
    let got: Vec<(&str, Vec<IpAddr>)> =
        qs.iter().map(|q| (q.record, q.addresses.clone())).collect();
    assert_eq!(
        got,
        vec![("A", ips(&["127.0.0.2"])), ("AAAA", ips(&["::1"]))]
    );

    // A name without AAAA records: an empty NOERROR answer fails the
    // default min_answers = 1, and passes min_answers = 0.
    let no = &r["no-aaaa"];
    assert_eq!(no.reason, Reason::DnsError, "{}", no.detail);
    let q = &facts(no).names[0].queries[0];
    assert_eq!(
        (q.record, q.rcode.as_deref(), q.answer_count),
        ("AAAA", Some("NOERROR"), 0)
    );
    assert_eq!(r["no-aaaa-allowed"].reason, Reason::Ok);

    // Too large for UDP: asked over TCP, every record counted and judged,
    // 32 kept in the facts.
    let many = &r["many"];
    assert_eq!(many.reason, Reason::Ok, "{}", many.detail);
    let q = &facts(many).names[0].queries[0];
    assert!(q.over_tcp, "{q:?}");
    assert_eq!(q.answer_count, 100);
    assert_eq!(q.addresses.len(), 32);
    assert!(q.missing.is_empty(), "the 100th address counts: {q:?}");

    // The series: per name and record, the records answered; 0 for a
    // name answered with none.
    let text = metrics_text(&c, &r);
    let answers = |flow: &str, name: &str, record: &str| {
        value(
            &text,
            "flowprobe_dns_answers",
            &[
                &format!("flow=\"{flow}\""),
                &format!("name=\"{name}\""),
                &format!("record=\"{record}\""),
            ],
        )
    };
    assert_eq!(answers("known", "mdm.lab.test", "A"), Some(1.0));
    assert_eq!(answers("unknown", "nothing.lab.test", "A"), Some(0.0));
    assert_eq!(answers("both", "dual.lab.test", "AAAA"), Some(1.0));
    assert_eq!(answers("many", "many.lab.test", "A"), Some(100.0));
    assert_eq!(answers("known", "mdm.lab.test", "AAAA"), None, "not asked");
}

#[tokio::test]
async fn a_closed_port_and_a_silent_one_fail_with_facts_within_the_budget() {
    // Closed: nothing bound there, the kernel answers ICMP port
    // unreachable, which the connected socket reports at once.
    let closed = free_udp_port();
    // Silent: bound, never read, never answered.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let c = config(&[
        flow("closed", closed, "3s", r#"names = ["mdm.lab.test"]"#),
        flow(
            "silent",
            silent_port,
            "2s",
            r#"names = ["mdm.lab.test", "enroll.lab.test"], record = "both""#,
        ),
    ]);
    let t0 = Instant::now();
    let r = probe_all(&c).await;
    let took = t0.elapsed();

    let closed = &r["closed"];
    assert_eq!(closed.reason, Reason::DnsError, "{}", closed.detail);
    let q = &facts(closed).names[0].queries[0];
    assert_eq!(q.error, Some(QueryError::Unreachable), "{q:?}");
    assert!(
        closed.phases.get(Phase::Total).expect("total") < Duration::from_secs(1),
        "a refused port is known at once: {:?}",
        closed.phases
    );

    let silent_r = &r["silent"];
    assert_eq!(silent_r.reason, Reason::DnsTimeout, "{}", silent_r.detail);
    let d = facts(silent_r);
    assert_eq!(d.names.len(), 2);
    for n in &d.names {
        assert_eq!(n.reason, Reason::DnsTimeout);
        let errors: Vec<_> = n.queries.iter().map(|q| (q.record, q.error)).collect();
        assert_eq!(
            errors,
            vec![
                ("A", Some(QueryError::Timeout)),
                ("AAAA", Some(QueryError::Timeout))
            ]
        );
    }
    let total = silent_r.phases.get(Phase::Total).expect("total");
    assert!(
        total >= Duration::from_millis(1700) && total < Duration::from_secs(2),
        "stops waiting shortly before the 2s budget: {total:?}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
    drop(silent);
}

/// A DNS server that answers over UDP only: every query comes back as
/// its own answer (the QR bit set, NOERROR, no records). Nothing listens
/// on TCP at its port.
async fn udp_only_server() -> (u16, tokio::task::JoinHandle<()>) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind udp");
    let port = socket.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if n > 3 {
                buf[2] |= 0x80;
                let _ = socket.send_to(&buf[..n], from).await;
            }
        }
    });
    (port, task)
}

/// A DNS flow that must be closed is judged by a DNS query over UDP, as a
/// device asks, not by a TCP connect: a server that answers UDP 53 with TCP
/// 53 shut is open (the flow is down), and a port where nothing answers
/// UDP is closed (`refused`, from the ICMP port unreachable).
#[tokio::test]
async fn a_forbidden_dns_flow_is_judged_over_udp() {
    let (open_port, server) = udp_only_server().await;
    // A UDP port nobody serves: bound for a moment to learn a free one.
    let shut_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free udp port")
        .port();
    let closed = |name: &str, port: u16| {
        flow(name, port, "2s", r#"names = ["mdm.lab.test"]"#) + "expect = \"closed\"\n"
    };
    let c = config(&[closed("udp-open", open_port), closed("udp-shut", shut_port)]);
    let r = probe_all(&c).await;
    server.abort();

    let open = &r["udp-open"];
    // TCP at this port is refused: a connect would have called it closed.
    assert!(std::net::TcpStream::connect(("127.0.0.1", open_port)).is_err());
    assert_eq!(open.reason, Reason::Ok, "{}", open.detail);
    assert!(!open.up, "a forbidden flow that answers is down: {open:?}");

    let shut = &r["udp-shut"];
    assert_eq!(shut.reason, Reason::Refused, "{}", shut.detail);
    assert!(shut.up, "{shut:?}");
}
