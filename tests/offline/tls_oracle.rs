//! Chains made with the `openssl` CLI, served by `openssl s_server`,
//! probed by flowprobe, and judged in the same test by `openssl verify
//! -purpose sslserver` with the sent certificates as the only
//! intermediates: flowprobe's verdict must be OpenSSL's (a device's), and
//! its explanation must name the certificate and the rule.

use flowprobe_testkit as support;

use flowprobe::analyze::chain::{ChainPolicy, ChainReport, OrderRule, analyze};
use flowprobe::kinds::tls::{TlsClient, TlsParams};
use flowprobe::outcome::{Level, Reason, Subject};
use flowprobe::wire::tls::Version;
use rustls::pki_types::ServerName;
use std::path::Path;
use std::time::SystemTime;
use support::openssl_ca::{Made, OpensslCa, ca_ext, date, dod_subject, leaf_ext, openssl_verify};
use support::servers::openssl_server;

const FCPCA: &str = "/C=US/O=U.S. Government/OU=FPKI/CN=Federal Common Policy CA G2";

/// One case: what the server sends (leaf first), made in `dir`.
struct Case {
    root: Made,
    sent: Vec<Made>,
}

/// flowprobe's view of one served case and OpenSSL's verdict on it.
struct Judged {
    report: ChainReport,
    openssl_ok: bool,
    openssl_said: String,
}

impl Judged {
    fn fcpca(&self) -> &flowprobe::analyze::chain::AnchorResult {
        &self.report.anchors()[0]
    }

    /// The oracle and flowprobe agree on whether a path validates.
    fn assert_agree(&self) {
        assert_eq!(
            self.fcpca().verified,
            self.openssl_ok,
            "flowprobe {:?} vs openssl: {}",
            self.fcpca(),
            self.openssl_said
        );
    }
}

async fn serve_and_judge(ca: &OpensslCa, case: &Case) -> Judged {
    let leaf = &case.sent[0];
    let rest: Vec<&Made> = case.sent[1..].iter().collect();
    let chain = ca.bundle("sent-chain.pem", &rest);
    let (openssl_ok, openssl_said) = openssl_verify(&case.root.cert, &chain, &leaf.cert);
    let server = openssl_server(&leaf.cert, &leaf.key, Some(&chain), &[]);
    let client = TlsClient::new(TlsParams {
        server_name: ServerName::try_from("mdm.lab.test").expect("name"),
        alpn: Vec::new(),
        min_version: Version::Tls12,
        client_cert: None,
    })
    .expect("client");
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let facts = client
        .handshake(tcp)
        .await
        .expect("the recording verifier accepts every chain");
    assert_eq!(
        facts.certificates.len(),
        case.sent.len(),
        "s_server sent the whole bundle"
    );
    let store = support::pki::store("fcpca-g2", &[&case.root.der]);
    let rule = if facts.version == "TLSv1.3" {
        OrderRule::Tls13
    } else {
        OrderRule::Tls12
    };
    let report = analyze(
        &facts.certificates,
        &[&store],
        &ChainPolicy::default(),
        client.server_name(),
        SystemTime::now(),
        rule,
    );
    Judged {
        report,
        openssl_ok,
        openssl_said,
    }
}

/// FCPCA G2 -> DoD Interoperability Root CA 2 -> DoD Root CA 3 ->
/// DOD SW CA-66 -> leaf, each with the given extensions.
struct Hierarchy {
    ca: OpensslCa,
    root: Made,
}

impl Hierarchy {
    fn new(dir: &Path) -> Hierarchy {
        let mut ca = OpensslCa::new(dir);
        let root = ca.root("fcpca", FCPCA);
        Hierarchy { ca, root }
    }

    fn issue(&mut self, file: &str, key: &str, cn: &str, issuer: &Made, ext: &str) -> Made {
        self.ca.issue(
            file,
            key,
            &dod_subject(cn),
            issuer,
            ext,
            &date(-30),
            &date(700),
        )
    }
}

fn ca_ok() -> String {
    ca_ext("CA:TRUE", "keyCertSign,cRLSign")
}

/// FCPCA G2 -> DoD Interoperability Root CA 2 -> DOD SW CA-66 (with
/// `ca66_ext`) -> leaf (EKU `leaf_eku`); the server sends all but the root.
fn three_tier(dir: &Path, ca66_ext: &str, leaf_eku: &str) -> (Hierarchy, Case) {
    let mut h = Hierarchy::new(dir);
    let root = h.root.clone();
    let interop = h.issue(
        "interop",
        "interop",
        "DoD Interoperability Root CA 2",
        &root,
        &ca_ok(),
    );
    let ca66 = h.issue("ca66", "ca66", "DOD SW CA-66", &interop, ca66_ext);
    let leaf = h.issue("leaf", "leaf", "mdm.lab.test", &ca66, &leaf_ext(leaf_eku));
    let case = Case {
        root,
        sent: vec![leaf, ca66, interop],
    };
    (h, case)
}

#[tokio::test]
async fn issuing_ca_with_ca_false_is_refused_like_openssl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, case) = three_tier(
        dir.path(),
        &ca_ext("CA:FALSE", "keyCertSign,cRLSign"),
        "serverAuth",
    );
    let judged = serve_and_judge(&h.ca, &case).await;
    judged.assert_agree();
    assert!(!judged.openssl_ok);
    assert_eq!(judged.report.reason(), Reason::ChainInvalid);
    assert_eq!(
        judged.fcpca().detail,
        "position 1 (DOD SW CA-66) is not a CA: basicConstraints CA:FALSE"
    );
    assert_eq!(judged.fcpca().path, [0, 1, 2]);
}

#[tokio::test]
async fn issuing_ca_without_key_cert_sign_is_refused_like_openssl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, case) = three_tier(
        dir.path(),
        &ca_ext("CA:TRUE", "digitalSignature,cRLSign"),
        "serverAuth",
    );
    let judged = serve_and_judge(&h.ca, &case).await;
    judged.assert_agree();
    assert_eq!(judged.report.reason(), Reason::ChainInvalid);
    assert_eq!(
        judged.fcpca().detail,
        "position 1 (DOD SW CA-66) keyUsage lacks keyCertSign (digitalSignature, cRLSign)"
    );
}

#[tokio::test]
async fn path_length_constraint_exceeded_is_refused_like_openssl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = Hierarchy::new(dir.path());
    let interop = h.issue(
        "interop",
        "interop",
        "DoD Interoperability Root CA 2",
        &h.root.clone(),
        &ca_ext("CA:TRUE,pathlen:0", "keyCertSign,cRLSign"),
    );
    let root3 = h.issue("root3", "root3", "DoD Root CA 3", &interop, &ca_ok());
    let ca66 = h.issue("ca66", "ca66", "DOD SW CA-66", &root3, &ca_ok());
    let leaf = h.issue(
        "leaf",
        "leaf",
        "mdm.lab.test",
        &ca66,
        &leaf_ext("serverAuth"),
    );
    let case = Case {
        root: h.root.clone(),
        sent: vec![leaf, ca66, root3, interop],
    };
    let judged = serve_and_judge(&h.ca, &case).await;
    judged.assert_agree();
    assert!(!judged.openssl_ok);
    assert_eq!(judged.report.reason(), Reason::ChainInvalid);
    assert_eq!(
        judged.fcpca().detail,
        "pathLenConstraint 0 of position 3 (DoD Interoperability Root CA 2) exceeded: \
         2 CA certificates below it"
    );
}

#[tokio::test]
async fn client_auth_only_leaf_is_refused_like_openssl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, case) = three_tier(dir.path(), &ca_ok(), "clientAuth");
    let judged = serve_and_judge(&h.ca, &case).await;
    judged.assert_agree();
    assert_eq!(judged.report.reason(), Reason::ChainInvalid);
    assert_eq!(
        judged.fcpca().detail,
        "leaf EKU (clientAuth) does not allow serverAuth"
    );
}

#[tokio::test]
async fn repeated_certificates_validate_like_openssl_and_keep_the_order() {
    // A bundle pasted twice: the leaf and CA-66 each sent twice, each
    // repeat right after its original.
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, mut case) = three_tier(dir.path(), &ca_ok(), "serverAuth");
    let [leaf, ca66, interop] = [0, 1, 2].map(|i| case.sent[i].clone());
    case.sent = vec![leaf.clone(), leaf, ca66.clone(), ca66, interop];
    let judged = serve_and_judge(&h.ca, &case).await;
    judged.assert_agree();
    assert!(judged.openssl_ok, "{}", judged.openssl_said);
    assert_eq!(judged.report.duplicates, [1, 3]);
    assert_eq!(judged.fcpca().path, [0, 2, 4]);
    // Repeats are skipped by the order rule: hygiene (chain_extra), not
    // order, under either version.
    assert!(judged.report.order_ok());
    let reasons: Vec<_> = judged
        .report
        .findings
        .iter()
        .map(|f| (f.reason, f.level, f.subject.clone()))
        .collect();
    assert_eq!(
        reasons,
        [1, 3].map(|position| (
            Reason::ChainExtra,
            Level::Warn,
            Some(Subject::Certificate { position })
        ))
    );
}

/// The DoD Root CA 3 cross-certificate and an expired, superseded copy of
/// it (same subject, same key, same issuer).
fn superseded(dir: &Path) -> (Hierarchy, [Made; 5]) {
    let mut h = Hierarchy::new(dir);
    let interop = h.issue(
        "interop",
        "interop",
        "DoD Interoperability Root CA 2",
        &h.root.clone(),
        &ca_ok(),
    );
    let cross = h.issue("cross", "root3", "DoD Root CA 3", &interop, &ca_ok());
    let old = h.ca.issue(
        "cross-old",
        "root3",
        &dod_subject("DoD Root CA 3"),
        &interop,
        &ca_ok(),
        &date(-1100),
        &date(-20),
    );
    let ca66 = h.issue("ca66", "ca66", "DOD SW CA-66", &cross, &ca_ok());
    let leaf = h.issue(
        "leaf",
        "leaf",
        "mdm.lab.test",
        &ca66,
        &leaf_ext("serverAuth"),
    );
    (h, [leaf, ca66, cross, interop, old])
}

#[tokio::test]
async fn superseded_expired_cross_certificate_at_the_end_is_a_chain_extra_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, [leaf, ca66, cross, interop, old]) = superseded(dir.path());
    let case = Case {
        root: h.root.clone(),
        sent: vec![leaf, ca66, cross, interop, old],
    };
    let judged = serve_and_judge(&h.ca, &case).await;
    judged.assert_agree();
    assert!(judged.openssl_ok, "{}", judged.openssl_said);
    // It used to be cert_expired plus a chain_order failure.
    assert_eq!(
        judged.report.reason(),
        Reason::Ok,
        "{:#?}",
        judged.report.findings
    );
    assert_eq!(judged.fcpca().path, [0, 1, 2, 3]);
    assert!(judged.report.order_ok());
    assert_eq!(judged.report.extras(), [4]);
    let extra: Vec<_> = judged
        .report
        .findings
        .iter()
        .filter(|f| f.reason == Reason::ChainExtra)
        .collect();
    assert_eq!(extra.len(), 1, "{extra:?}");
    assert_eq!(extra[0].level, Level::Warn);
    assert_eq!(extra[0].subject, Some(Subject::Certificate { position: 4 }));
    let cross = &judged.report.certificates[4];
    assert_eq!(
        (cross.subject_cn.as_str(), cross.issuer_cn.as_str()),
        ("DoD Root CA 3", "DoD Interoperability Root CA 2")
    );
}

#[tokio::test]
async fn superseded_cross_certificate_before_the_valid_one_still_validates() {
    // The validator backtracks: the expired copy is tried first and fails,
    // the current one validates.
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, [leaf, ca66, cross, interop, old]) = superseded(dir.path());
    let case = Case {
        root: h.root.clone(),
        sent: vec![leaf, ca66, old, cross, interop],
    };
    let judged = serve_and_judge(&h.ca, &case).await;
    judged.assert_agree();
    assert!(judged.openssl_ok, "{}", judged.openssl_said);
    assert_eq!(judged.fcpca().path, [0, 1, 3, 4]);
    assert_eq!(judged.report.extras(), [2]);
    // Out of order for RFC 5246; s_server negotiates TLS 1.3: a warning.
    assert!(!judged.report.order_ok());
    assert_eq!(judged.report.reason(), Reason::Ok);
}

#[tokio::test]
async fn only_an_expired_cross_certificate_on_the_path_is_cert_expired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, [leaf, ca66, _cross, interop, old]) = superseded(dir.path());
    let case = Case {
        root: h.root.clone(),
        sent: vec![leaf, ca66, old, interop],
    };
    let judged = serve_and_judge(&h.ca, &case).await;
    judged.assert_agree();
    assert!(!judged.openssl_ok);
    assert!(
        judged.openssl_said.contains("expired"),
        "{}",
        judged.openssl_said
    );
    assert_eq!(judged.report.reason(), Reason::CertExpired);
    assert!(
        judged
            .fcpca()
            .detail
            .starts_with("position 2 (DoD Root CA 3) expired at "),
        "{}",
        judged.fcpca().detail
    );
}
