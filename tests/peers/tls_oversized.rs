//! Certificate messages over rustls's 64 KiB handshake limit, through the
//! whole probe: `openssl s_server` with a huge leaf or a 300-certificate
//! chain (TLS 1.2, cross-checked with `openssl s_client -showcerts`), the
//! same under TLS 1.3 only, and hostile fakes claiming 2^24 - 1 bytes
//! that drip or stop. The reason stays `tls_handshake`; the detail and
//! `details.oversized` carry the facts; the leaf is judged.

use flowprobe_testkit as support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use flowprobe::metrics::Metrics;
use flowprobe::outcome::{Level, Reason};
use flowprobe::probe::ProbeReport;
use flowprobe::state::State;
use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::pki_types::CertificateDer;
use support::pki::{ec_ca, ec_leaf, pem_all};
use support::servers::{OpensslServer, openssl_server};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A lab CA, a leaf for mdm.lab.test carrying `padding` bytes in a private
/// extension, and `extras` unrelated self-signed CAs sent after the CA.
struct BigChain {
    anchor: CertificateDer<'static>,
    /// Leaf first, as sent.
    sent: Vec<CertificateDer<'static>>,
    key_pem: String,
}

fn big_chain(padding: usize, extras: usize) -> BigChain {
    let ca_key = KeyPair::generate().expect("key");
    let ca_params = ec_ca("Oversized Lab CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let leaf_key = KeyPair::generate().expect("key");
    let mut leaf = ec_leaf();
    if padding > 0 {
        // An OCTET STRING of `padding` zeros (DER, long form length).
        let mut content = vec![0x04, 0x83];
        content.extend_from_slice(&(padding as u32).to_be_bytes()[1..]);
        content.resize(content.len() + padding, 0);
        leaf.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 55555, 17, 4],
            content,
        )];
    }
    let leaf = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    let mut sent = vec![leaf.der().clone(), ca.der().clone()];
    // One key for every extra: keeps 300 certificates quick to make.
    let extra_key = KeyPair::generate().expect("key");
    for i in 0..extras {
        let mut p: CertificateParams = ec_ca(&format!("Extra CA {i}"));
        p.serial_number = Some((1000 + i as u64).into());
        sent.push(p.self_signed(&extra_key).expect("extra").der().clone());
    }
    BigChain {
        anchor: ca.der().clone(),
        sent,
        key_pem: leaf_key.serialize_pem(),
    }
}

impl BigChain {
    /// The Certificate message's body length (RFC 5246 7.4.2).
    fn message_bytes(&self) -> usize {
        3 + self.sent.iter().map(|c| c.len() + 3).sum::<usize>()
    }

    fn serve(&self, dir: &Path, version: &str) -> OpensslServer {
        let cert = write(dir, "leaf.pem", &pem_all(&[&self.sent[0]]));
        let key = write(dir, "leaf.key", &self.key_pem);
        let rest: Vec<&CertificateDer<'_>> = self.sent[1..].iter().collect();
        let chain = write(dir, "chain.pem", &pem_all(&rest));
        openssl_server(&cert, &key, Some(&chain), &[version])
    }
}

fn config(anchor: &Path, flows: &[(&str, u16)], timeout: &str) -> flowprobe::config::Config {
    let mut text = format!(
        "catalog = \"none\"\n[trust.lab]\nanchors = [\"{}\"]\n[targets]\nlo = \"127.0.0.1\"\n",
        anchor.display()
    );
    for (name, port) in flows {
        text.push_str(&format!(
            r#"
[[flow]]
name = "{name}"
from = "mobile-devices"
to = "lo"
port = {port}
check = "tls"
timeout = "{timeout}"
tls = {{ trust = ["lab"], server_name = "mdm.lab.test" }}
"#
        ));
    }
    config_from(&text)
}

fn details(r: &ProbeReport) -> serde_json::Value {
    serde_json::to_value(&r.attempts[0].facts).expect("json")
}

fn anchor_file(dir: &Path, anchor: &CertificateDer<'static>) -> PathBuf {
    write(dir, "anchor.pem", &pem_all(&[anchor]))
}

/// The oracle: how many certificates `openssl s_client -showcerts` prints.
fn s_client_count(port: u16, version: &str) -> usize {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "mdm.lab.test", version, "-showcerts"])
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client");
    String::from_utf8_lossy(&out.stdout)
        .matches("-----BEGIN CERTIFICATE-----")
        .count()
}

#[tokio::test]
async fn tls12_huge_leaf_and_300_certificate_chain_keep_their_facts() {
    if !require(have("openssl"), "openssl") {
        return;
    }
    let dir = tempdir();
    // A 64.5 KB leaf (webpki reads no certificate over 64 KiB) and three
    // extras: over rustls's limit, under OpenSSL's 100 KiB client limit,
    // so the oracle can read it.
    let leaf = big_chain(64_000, 3);
    assert!(leaf.message_bytes() > 65_535);
    let long = big_chain(0, 298);
    let (leaf_dir, long_dir) = (dir.path().join("leaf"), dir.path().join("long"));
    std::fs::create_dir_all(&leaf_dir).expect("dir");
    std::fs::create_dir_all(&long_dir).expect("dir");
    let leaf_server = leaf.serve(&leaf_dir, "-tls1_2");
    let long_server = long.serve(&long_dir, "-tls1_2");
    // Both chains share nothing: one anchor file holds both CAs.
    let anchors = write(
        dir.path(),
        "anchors.pem",
        &pem_all(&[&leaf.anchor, &long.anchor]),
    );
    let c = config(
        &anchors,
        &[
            ("big-leaf", leaf_server.addr.port()),
            ("long-chain", long_server.addr.port()),
        ],
        "10s",
    );
    let reports = probe_all(&c).await;

    let r = &reports["big-leaf"];
    assert_eq!(r.reason, Reason::TlsHandshake, "{}", r.detail);
    let cause = r
        .cause
        .as_deref()
        .and_then(|c| c.kind::<flowprobe::kinds::tls::Tls>());
    assert!(
        matches!(
            cause,
            Some(flowprobe::kinds::tls::TlsError::TooLarge { .. })
        ),
        "{cause:?}"
    );
    let want = format!(
        "certificate message of {} bytes exceeds rustls's 65,535-byte handshake limit; 5 \
         certificates received; leaf CN=mdm.lab.test",
        flowprobe::text::thousands(leaf.message_bytes() as u64)
    );
    assert!(r.detail.contains(&want), "{}\nwant {want}", r.detail);
    assert!(r.detail.contains(", not after 20"), "{}", r.detail);
    let d = details(r);
    let o = &d["oversized"];
    assert_eq!(o["message_bytes"], leaf.message_bytes());
    assert_eq!(o["received_bytes"], leaf.message_bytes());
    assert_eq!(o["certificates"], 5);
    assert_eq!(o["complete"], true);
    assert_eq!(o["kept"], 5);
    assert_eq!(o["leaf_bytes"], leaf.sent[0].len());
    assert_eq!(o["version"], "TLSv1.2");
    assert_eq!(o["limit"], 65_535);
    // The kept chain is judged: the leaf's facts and a verified path.
    assert_eq!(d["chain"]["certificates"][0]["subject_cn"], "mdm.lab.test");
    assert_eq!(d["chain"]["anchors"][0]["verified"], true, "{d:#}");
    // The handshake's failure leads the findings.
    let first = r.findings().next().expect("findings");
    assert_eq!(
        (first.reason, first.level),
        (Reason::TlsHandshake, Level::Fail)
    );
    // The oracle sees the same five certificates.
    assert_eq!(s_client_count(leaf_server.addr.port(), "-tls1_2"), 5);

    let r = &reports["long-chain"];
    assert_eq!(r.reason, Reason::TlsHandshake, "{}", r.detail);
    assert_eq!(long.sent.len(), 300);
    let want = format!(
        "certificate message of {} bytes exceeds rustls's 65,535-byte handshake limit; 300 \
         certificates received; leaf CN=mdm.lab.test",
        flowprobe::text::thousands(long.message_bytes() as u64)
    );
    assert!(r.detail.contains(&want), "{}\nwant {want}", r.detail);
    let d = details(r);
    assert_eq!(d["oversized"]["certificates"], 300);
    // The leaf and 32 more are kept and judged, in the order sent.
    assert_eq!(d["oversized"]["kept"], 33);
    let certs = d["chain"]["certificates"].as_array().expect("certificates");
    assert_eq!(certs.len(), 33);
    assert_eq!(certs[1]["subject_cn"], "Oversized Lab CA");
    assert_eq!(certs[32]["subject_cn"], "Extra CA 30");
    assert_eq!(d["chain"]["anchors"][0]["verified"], true);
    // 300 certificates are over OpenSSL's own client limit (100 KiB): the
    // oracle for the count is the chain file s_server was given.
    let served = std::fs::read_to_string(long_dir.join("chain.pem")).expect("chain");
    assert_eq!(
        served.matches("-----BEGIN CERTIFICATE-----").count() + 1,
        300
    );

    // The kept chain reaches the metrics like any chain.
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let state = State::new(Arc::clone(&metrics));
    for p in flowprobe::probe::plan::prepare(&c).expect("prepare") {
        let slot = state.make_slot(Arc::clone(&p));
        state.record(&slot, reports[&p.flow.name].clone());
    }
    let text = String::from_utf8(metrics.encode()).expect("utf8");
    let verified = text
        .lines()
        .find(|l| {
            l.starts_with("flowprobe_tls_chain_verified{")
                && l.contains("flow=\"big-leaf\"")
                && l.contains("anchor=\"lab\"")
        })
        .unwrap_or_else(|| panic!("no chain_verified series:\n{text}"));
    assert!(verified.ends_with(" 1"), "{verified}");
    assert!(
        text.lines().any(|l| {
            l.starts_with("flowprobe_tls_cert_not_after_timestamp_seconds{")
                && l.contains("flow=\"big-leaf\"")
                && l.contains("subject_cn=\"mdm.lab.test\"")
        }),
        "{text}"
    );
}

#[tokio::test]
async fn tls13_only_server_leaves_the_size_unknown() {
    if !require(have("openssl"), "openssl") {
        return;
    }
    let dir = tempdir();
    let leaf = big_chain(80_000, 0);
    let server = leaf.serve(dir.path(), "-tls1_3");
    let anchor = anchor_file(dir.path(), &leaf.anchor);
    let c = config(&anchor, &[("tls13", server.addr.port())], "10s");
    let reports = probe_all(&c).await;
    let r = &reports["tls13"];
    assert_eq!(r.reason, Reason::TlsHandshake, "{}", r.detail);
    assert!(
        r.detail
            .contains("exceeds rustls's 65,535-byte limit; its size is unknown"),
        "{}",
        r.detail
    );
    assert!(
        r.detail
            .contains("under TLS 1.3 the certificate message is encrypted"),
        "{}",
        r.detail
    );
    let d = details(r);
    assert_eq!(d["oversized"]["tls12_refused"], true, "{d:#}");
    assert_eq!(d["oversized"]["message_bytes"], serde_json::Value::Null);
    assert_eq!(d["oversized"]["certificates"], 0);
    assert_eq!(d["chain"], serde_json::Value::Null);
}

/// How the hostile fake behaves after its claim.
#[derive(Clone, Copy)]
enum After {
    /// One byte every 50 ms, forever.
    Drip,
    /// Nothing more, the connection held open.
    Stop,
}

/// A fake TLS 1.2 server: a ServerHello, then a Certificate message
/// claiming 2^24 - 1 bytes whose first certificate (`leaf`, real DER)
/// arrives whole, then a second certificate claiming the rest.
async fn hostile(leaf: Vec<u8>, after: After) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let leaf = leaf.clone();
            tokio::spawn(async move {
                let mut hello = [0u8; 4096];
                let _ = tcp.read(&mut hello).await;
                let max = (1usize << 24) - 1;
                let mut hs = Vec::new();
                // ServerHello: TLS 1.2, ECDHE-ECDSA-AES128-GCM, no extensions.
                let mut body = vec![3, 3];
                body.extend([7u8; 32]);
                body.extend([0, 0xc0, 0x2b, 0]);
                hs.push(2);
                hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
                hs.extend(body);
                hs.push(11);
                hs.extend(&(max as u32).to_be_bytes()[1..]);
                hs.extend(&((max - 3) as u32).to_be_bytes()[1..]);
                hs.extend(&(leaf.len() as u32).to_be_bytes()[1..]);
                hs.extend(&leaf);
                hs.extend(&((max - 9 - leaf.len()) as u32).to_be_bytes()[1..]);
                // The start in a record of its own (rustls reads whole
                // records), then a record of 2^14 bytes that drips.
                let mut start = vec![22, 3, 3];
                start.extend(&(hs.len() as u16).to_be_bytes());
                start.extend(&hs);
                if tcp.write_all(&start).await.is_err() {
                    return;
                }
                let mut record = vec![22, 3, 3, 0x40, 0x00];
                record.resize(5 + (1 << 14), 0x5a);
                match after {
                    After::Drip => {
                        for b in &record {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            if tcp.write_all(&[*b]).await.is_err() {
                                return;
                            }
                        }
                    }
                    After::Stop => {
                        let mut sink = [0u8; 64];
                        while let Ok(n) = tcp.read(&mut sink).await {
                            if n == 0 {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    (port, task)
}

#[tokio::test]
async fn hostile_claims_of_16_mib_end_within_the_budget_with_bounded_facts() {
    let dir = tempdir();
    let leaf = big_chain(0, 0);
    let (drip, drip_task) = hostile(leaf.sent[0].to_vec(), After::Drip).await;
    let (stop, stop_task) = hostile(leaf.sent[0].to_vec(), After::Stop).await;
    let anchor = anchor_file(dir.path(), &leaf.anchor);
    let c = config(&anchor, &[("drip", drip), ("stop", stop)], "2s");
    let reports = probe_all(&c).await;
    drip_task.abort();
    stop_task.abort();
    for name in ["drip", "stop"] {
        let r = &reports[name];
        // Not a timeout: the second look stops before the budget ends.
        assert_eq!(r.reason, Reason::TlsHandshake, "{name}: {}", r.detail);
        assert!(
            r.detail.contains(
                "certificate message of 16,777,215 bytes exceeds rustls's 65,535-byte \
                 handshake limit; 1 certificate received in the first"
            ),
            "{name}: {}",
            r.detail
        );
        assert!(
            r.detail
                .contains("before the probe's budget ran out; leaf CN=mdm.lab.test"),
            "{name}: {}",
            r.detail
        );
        let d = details(r);
        let o = &d["oversized"];
        assert_eq!(o["message_bytes"], 16_777_215);
        assert_eq!(o["complete"], false);
        assert_eq!(o["certificates"], 1);
        // Only the real leaf is held; the 16 MB claim costs nothing.
        assert_eq!(o["kept"], 1);
        let received = o["received_bytes"].as_u64().expect("received");
        assert!(received < 1 << 15, "{name}: {received}");
        assert_eq!(d["chain"]["certificates"][0]["subject_cn"], "mdm.lab.test");
        assert_eq!(d["chain"]["anchors"][0]["verified"], true);
    }
}
