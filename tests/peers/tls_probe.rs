//! TLS handshakes against loopback servers on port 0: rustls, `openssl
//! s_server` and hostile peers. Reasons and certificate facts are asserted
//! for failures too.

use flowprobe_testkit as support;

use flowprobe::analyze::chain::{ChainPolicy, ChainReport, OrderRule, analyze};
use flowprobe::kinds::tls::{Negotiated, TlsClient, TlsError, TlsFailure, TlsParams, findings};
use flowprobe::outcome::{Level, Reason, verdict};
use flowprobe::wire::tls::Version;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use support::pki::{Pki, PkiOptions, WeakLeaf, hostile_chain};
use support::servers::{ServerMode, openssl_server, raw_server, rustls_server};
use tokio::net::TcpStream;

fn params(min_version: Version) -> TlsParams {
    TlsParams {
        server_name: ServerName::try_from("mdm.lab.test").expect("name"),
        alpn: Vec::new(),
        min_version,
        client_cert: None,
    }
}

fn client() -> TlsClient {
    TlsClient::new(params(Version::Tls12)).expect("client")
}

/// One probe: handshake, then the chain judged against both stores.
struct Probe {
    handshake: Result<Negotiated, TlsFailure>,
    chain: ChainReport,
}

impl Probe {
    fn reason(&self) -> Reason {
        verdict(&findings(
            self.handshake.as_ref().err().map(|f| &f.error),
            Some(&self.chain),
        ))
    }

    fn cns(&self) -> Vec<&str> {
        self.chain
            .certificates
            .iter()
            .map(|c| c.subject_cn.as_str())
            .collect()
    }
}

async fn probe(client: &TlsClient, addr: SocketAddr, pki: &Pki) -> Probe {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let handshake = client.handshake(tcp).await;
    let sent = match &handshake {
        Ok(facts) => facts.certificates.clone(),
        Err(failure) => failure.certificates.clone(),
    };
    let (fcpca, dod) = (pki.fcpca_store(), pki.dod_store());
    let rule = match &handshake {
        Ok(facts) if facts.version == "TLSv1.3" => OrderRule::Tls13,
        _ => OrderRule::Tls12,
    };
    let chain = analyze(
        &sent,
        &[&fcpca, &dod],
        &ChainPolicy::default(),
        client.server_name(),
        SystemTime::now(),
        rule,
    );
    Probe { handshake, chain }
}

async fn serve_and_probe(pki: &Pki, chain: Vec<CertificateDer<'static>>) -> Probe {
    let server = rustls_server(chain, pki.leaf_key(), ServerMode::Default, None).await;
    probe(&client(), server.addr, pki).await
}

const FULL_CNS: [&str; 5] = [
    "mdm.lab.test",
    "DOD SW CA-66",
    "DoD Root CA 3",
    "DoD Interoperability Root CA 2",
    "Federal Bridge CA G4",
];

#[tokio::test]
async fn full_path_passes_for_both_stores_and_the_client_is_reused() {
    let pki = Pki::new();
    let server = rustls_server(pki.full_path(), pki.leaf_key(), ServerMode::Default, None).await;
    let client = client();
    for _ in 0..2 {
        let probe = probe(&client, server.addr, &pki).await;
        let facts = probe.handshake.as_ref().expect("handshake");
        assert_eq!(facts.version, "TLSv1.3");
        assert!(
            facts.cipher_suite.starts_with("TLS13_"),
            "{}",
            facts.cipher_suite
        );
        assert_eq!(facts.alpn, None);
        assert!(!facts.client_cert_requested);
        assert_eq!(probe.reason(), Reason::Ok, "{:#?}", probe.chain.findings);
        assert_eq!(probe.cns(), FULL_CNS);
        assert!(probe.chain.anchors().iter().all(|a| a.verified));
    }
}

#[tokio::test]
async fn path_stopping_at_dod_root_ca_3_fails_fcpca_only() {
    let pki = Pki::new();
    let probe = serve_and_probe(&pki, pki.dod_path()).await;
    assert!(probe.handshake.is_ok());
    assert_eq!(probe.reason(), Reason::ChainIncomplete);
    assert!(!probe.chain.anchors()[0].verified);
    assert!(probe.chain.anchors()[1].verified);
    assert_eq!(probe.cns(), FULL_CNS[..3]);
}

#[tokio::test]
async fn leaf_only_is_incomplete() {
    let pki = Pki::new();
    let probe = serve_and_probe(&pki, vec![pki.leaf.clone()]).await;
    assert_eq!(probe.reason(), Reason::ChainIncomplete);
    assert_eq!(probe.cns(), ["mdm.lab.test"]);
}

#[tokio::test]
async fn wrong_order_fails_under_tls12_and_warns_under_tls13() {
    // RFC 5246 7.4.2 makes the order a MUST, RFC 8446 4.4.2 a SHOULD: the
    // same bundle fails a TLS 1.2 handshake's flow and warns on TLS 1.3.
    let pki = Pki::new();
    let mut sent = pki.full_path();
    sent.swap(1, 2);
    let tls13 = serve_and_probe(&pki, sent.clone()).await;
    assert_eq!(tls13.reason(), Reason::Ok, "{:#?}", tls13.chain.findings);
    assert!(
        tls13
            .chain
            .findings
            .iter()
            .any(|f| f.reason == Reason::ChainOrder && f.level == Level::Warn)
    );
    assert_eq!(tls13.chain.certificates[1].subject_cn, "DoD Root CA 3");
    assert!(tls13.chain.anchors().iter().all(|a| a.verified));

    let server = rustls_server(sent, pki.leaf_key(), ServerMode::Tls12Only, None).await;
    let tls12 = probe(&client(), server.addr, &pki).await;
    assert_eq!(tls12.reason(), Reason::ChainOrder);
    assert!(tls12.chain.anchors().iter().all(|a| a.verified));
}

#[tokio::test]
async fn anchor_included_passes_with_an_info_finding() {
    let pki = Pki::new();
    let mut sent = pki.full_path();
    sent.push(pki.fcpca.clone());
    let probe = serve_and_probe(&pki, sent).await;
    assert_eq!(probe.reason(), Reason::Ok);
    assert_eq!(probe.chain.anchor_sent, [5]);
    assert_eq!(
        probe.chain.certificates[5].subject_cn,
        "Federal Common Policy CA G2"
    );
}

#[tokio::test]
async fn expired_cross_certificate_is_reported_with_its_facts() {
    let pki = Pki::generate(&PkiOptions {
        cross_expired: true,
        ..PkiOptions::default()
    });
    let probe = serve_and_probe(&pki, pki.full_path()).await;
    assert!(
        probe.handshake.is_ok(),
        "the recorder accepts; analysis judges"
    );
    assert_eq!(probe.reason(), Reason::CertExpired);
    let cross = &probe.chain.certificates[2];
    assert_eq!(
        (cross.subject_cn.as_str(), cross.issuer_cn.as_str()),
        ("DoD Root CA 3", "DoD Interoperability Root CA 2")
    );
    // The only path to fcpca-g2 uses the cross-certificate; the dod path
    // does not, and still validates.
    assert!(
        probe.chain.findings[0]
            .detail
            .starts_with("store fcpca-g2: position 2 (DoD Root CA 3) expired"),
        "{:?}",
        probe.chain.findings
    );
    assert!(!probe.chain.anchors()[0].verified && probe.chain.anchors()[1].verified);
}

#[tokio::test]
async fn expired_leaf_is_cert_expired() {
    let pki = Pki::generate(&PkiOptions {
        leaf_expired: true,
        ..PkiOptions::default()
    });
    let probe = serve_and_probe(&pki, pki.full_path()).await;
    assert_eq!(probe.reason(), Reason::CertExpired);
    assert_eq!(probe.cns(), FULL_CNS);
}

#[tokio::test]
async fn leaf_expiring_in_ten_days_is_a_cert_expiring_warning() {
    // A path that still validates is up; its coming expiry is a warning
    // and an alert on flowprobe_tls_path_not_after_timestamp_seconds.
    let pki = Pki::generate(&PkiOptions {
        leaf_expires_in_days: Some(10),
        ..PkiOptions::default()
    });
    let probe = serve_and_probe(&pki, pki.full_path()).await;
    assert_eq!(probe.reason(), Reason::Ok);
    assert!(
        probe
            .chain
            .findings
            .iter()
            .any(|f| f.reason == Reason::CertExpiring && f.level == Level::Warn)
    );
    let leaf_not_after = probe.chain.certificates[0].not_after;
    assert!(
        probe
            .chain
            .anchors()
            .iter()
            .all(|a| a.verified && a.not_after == leaf_not_after)
    );
}

#[tokio::test]
async fn wrong_host_name_is_name_mismatch() {
    let pki = Pki::generate(&PkiOptions {
        leaf_names: Some(vec!["other.lab.test".into()]),
        ..PkiOptions::default()
    });
    let probe = serve_and_probe(&pki, pki.full_path()).await;
    assert!(probe.handshake.is_ok());
    assert_eq!(probe.reason(), Reason::NameMismatch);
    assert_eq!(probe.chain.certificates[0].sans, ["other.lab.test"]);
}

#[tokio::test]
async fn openssl_s_server_full_path_passes() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pki.write_pem(dir.path());
    let server = openssl_server(
        &files.leaf,
        &files.leaf_key,
        Some(&intermediates(&pki, dir.path())),
        &[],
    );
    let probe = probe(&client(), server.addr, &pki).await;
    let facts = probe.handshake.as_ref().expect("handshake with OpenSSL");
    assert_eq!(facts.version, "TLSv1.3");
    assert_eq!(probe.reason(), Reason::Ok, "{:#?}", probe.chain.findings);
    assert_eq!(probe.cns(), FULL_CNS);
}

#[tokio::test]
async fn openssl_rsa_1024_leaf_is_weak_key_even_though_the_handshake_fails() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = weak_leaf_server(&pki, dir.path(), WeakLeaf::Rsa1024);
    let probe = probe(&client(), server.addr, &pki).await;
    let failure = probe
        .handshake
        .as_ref()
        .expect_err("ring refuses RSA-1024 signatures");
    assert!(
        matches!(failure.error, TlsError::Signature { .. }),
        "{:?}",
        failure.error
    );
    assert_eq!(failure.error.reason(), Reason::TlsHandshake);
    assert_eq!(probe.reason(), Reason::WeakKey);
    assert_eq!(probe.cns(), FULL_CNS);
    assert_eq!(probe.chain.certificates[0].key_bits, 1024);
}

#[tokio::test]
async fn openssl_sha1_signed_leaf_is_weak_signature() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = weak_leaf_server(&pki, dir.path(), WeakLeaf::Sha1Signed);
    let probe = probe(&client(), server.addr, &pki).await;
    assert!(probe.handshake.is_ok(), "{:?}", probe.handshake);
    assert_eq!(probe.reason(), Reason::WeakSignature);
    assert_eq!(
        probe.chain.certificates[0].signature_algorithm,
        "sha1WithRSAEncryption"
    );
}

#[tokio::test]
async fn tls12_only_server_with_minimum_1_3_is_tls_version() {
    let pki = Pki::new();
    let server = rustls_server(pki.full_path(), pki.leaf_key(), ServerMode::Tls12Only, None).await;
    let strict = TlsClient::new(params(Version::Tls13)).expect("client");
    let probe = probe(&strict, server.addr, &pki).await;
    let failure = probe.handshake.as_ref().expect_err("no common version");
    assert_eq!(
        failure.error.reason(),
        Reason::TlsVersion,
        "{:?}",
        failure.error
    );
    assert_eq!(probe.reason(), Reason::TlsVersion);
    assert!(
        failure.certificates.is_empty(),
        "version fails before Certificate"
    );

    let lenient = probe_with(&client(), server.addr, &pki).await;
    assert_eq!(
        lenient.handshake.as_ref().expect("1.2 allowed").version,
        "TLSv1.2"
    );
    assert_eq!(lenient.reason(), Reason::Ok);
}

async fn probe_with(client: &TlsClient, addr: SocketAddr, pki: &Pki) -> Probe {
    probe(client, addr, pki).await
}

#[tokio::test]
async fn openssl_without_tls13_and_minimum_1_3_is_tls_version() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pki.write_pem(dir.path());
    let server = openssl_server(
        &files.leaf,
        &files.leaf_key,
        Some(&files.ca66),
        &["-no_tls1_3"],
    );
    let strict = TlsClient::new(params(Version::Tls13)).expect("client");
    let probe = probe(&strict, server.addr, &pki).await;
    let failure = probe.handshake.as_ref().expect_err("no common version");
    assert_eq!(
        failure.error.reason(),
        Reason::TlsVersion,
        "{:?}",
        failure.error
    );
}

#[tokio::test]
async fn server_requiring_a_client_certificate_fails_but_reports_the_chain() {
    let pki = Pki::new();
    let (client_root, client_chain, client_key) = client_identity();
    let server = rustls_server(
        pki.full_path(),
        pki.leaf_key(),
        ServerMode::ClientAuthRequired,
        Some(client_root),
    )
    .await;
    for min_version in [Version::Tls12, Version::Tls13] {
        let anonymous = TlsClient::new(params(min_version)).expect("client");
        let probe = probe(&anonymous, server.addr, &pki).await;
        let failure = probe
            .handshake
            .as_ref()
            .expect_err("rejected without a certificate");
        assert!(
            matches!(failure.error, TlsError::ClientCertRequired { .. }),
            "{:?}",
            failure.error
        );
        assert_eq!(probe.reason(), Reason::TlsHandshake);
        assert_eq!(probe.cns(), FULL_CNS);
        assert!(probe.chain.anchors().iter().all(|a| a.verified));
    }

    let mut with_cert = params(Version::Tls12);
    with_cert.client_cert = Some((client_chain, client_key));
    let mutual = TlsClient::new(with_cert).expect("client");
    let probe = probe(&mutual, server.addr, &pki).await;
    let facts = probe.handshake.as_ref().expect("mutual TLS");
    assert!(facts.client_cert_requested);
    assert_eq!(probe.reason(), Reason::Ok);
}

#[tokio::test]
async fn tls12_handshake_against_tls12_only_server() {
    let pki = Pki::new();
    let server = rustls_server(pki.full_path(), pki.leaf_key(), ServerMode::Tls12Only, None).await;
    let probe = probe(&client(), server.addr, &pki).await;
    let facts = probe.handshake.as_ref().expect("handshake");
    assert!(
        facts.cipher_suite.starts_with("TLS_ECDHE_RSA_"),
        "{}",
        facts.cipher_suite
    );
}

#[tokio::test]
async fn non_tls_peer_is_a_protocol_error() {
    let pki = Pki::new();
    let server = raw_server(b"SSH-2.0-x\r\n").await;
    let probe = probe(&client(), server.addr, &pki).await;
    let failure = probe.handshake.as_ref().expect_err("not TLS");
    assert!(
        matches!(failure.error, TlsError::NotTls { .. }),
        "{:?}",
        failure.error
    );
    assert_eq!(probe.reason(), Reason::ProtocolError);
    assert!(probe.chain.certificates.is_empty());
}

#[tokio::test]
async fn silent_peer_is_bounded_by_the_callers_timeout() {
    let server = raw_server(b"").await;
    let client = client();
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_millis(300), client.handshake(tcp)).await;
    assert!(outcome.is_err(), "the handshake must still be waiting");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(client.take_captured(), None);
}

#[tokio::test]
async fn peer_reset_is_reset() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Ok((tcp, _)) = listener.accept().await {
            let std_tcp = tcp.into_std().expect("std");
            socket2::SockRef::from(&std_tcp)
                .set_linger(Some(Duration::ZERO))
                .expect("linger");
            drop(std_tcp);
        }
    });
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let failure = client().handshake(tcp).await.expect_err("reset");
    assert_eq!(failure.error.reason(), Reason::Reset, "{:?}", failure.error);
}

#[tokio::test]
async fn sixty_certificate_chain_is_captured_and_analysed_quickly() {
    let pki = Pki::new();
    let (chain, key) = hostile_chain(60);
    let server = rustls_server(chain, key, ServerMode::Default, None).await;
    let started = Instant::now();
    let probe = probe(&client(), server.addr, &pki).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        probe
            .handshake
            .as_ref()
            .expect("handshake")
            .certificates
            .len(),
        60
    );
    assert_eq!(probe.chain.certificates.len(), 60);
    assert_eq!(probe.reason(), Reason::ChainIncomplete);
}

/// A client CA and a client certificate (ECDSA) for the mutual-TLS case.
fn client_identity() -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Client Test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, &ca_key);
    let key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(vec!["probe.lab.test".to_owned()]).expect("params");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = leaf.signed_by(&key, &issuer).expect("client cert");
    (
        ca_cert.der().clone(),
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// Writes every sent certificate but the leaf, for `openssl s_server -cert_chain`.
/// OpenSSL serving a weak leaf of the test PKI with the rest of the path.
fn weak_leaf_server(
    pki: &Pki,
    dir: &std::path::Path,
    kind: WeakLeaf,
) -> support::servers::OpensslServer {
    let weak = pki.openssl_leaf(dir, kind);
    openssl_server(
        &weak.cert_path,
        &weak.key_path,
        Some(&intermediates(pki, dir)),
        &[],
    )
}

fn intermediates(pki: &Pki, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("intermediates.pem");
    let rest: Vec<_> = pki.full_path().into_iter().skip(1).collect();
    std::fs::write(
        &path,
        support::pki::pem_all(&rest.iter().collect::<Vec<_>>()),
    )
    .expect("write");
    path
}
