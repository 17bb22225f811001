//! The real Federal PKI: GSA's published bundle of CA certificates that
//! validate to the Federal Common Policy CA G2 (tests/fixtures/fpki, its
//! README pins the commit), judged at 2024-10-20, inside the validity of
//! the cross-certificates. Every agency path that `openssl verify
//! -policy_check` and pyhanko-certvalidator accept (paths.json records
//! both oracles) must validate here too, and the DoD SW CA-66 path must
//! carry the FPKI policies mapped to the DoD ones.

use flowprobe::analyze::bundle::{judge, policy};
use flowprobe::analyze::pkix::{QualifiedPolicy, RelyingParty};
use flowprobe::analyze::trust::TrustStore;
use flowprobe::outcome::{Level, Reason};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fpki")
}

fn pem(rel: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(dir().join(rel))
        .expect("fixture readable")
        .collect::<Result<_, _>>()
        .expect("fixture is PEM")
}

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_729_382_400) // 2024-10-20
}

fn fcpca(rp: RelyingParty) -> TrustStore {
    flowprobe::analyze::builtin_anchors::store("fcpca-g2")
        .expect("built in")
        .expect("pinned")
        .with_relying_party(rp)
}

fn q(authority: &str, leaf: &str) -> QualifiedPolicy {
    QualifiedPolicy {
        authority: format!("2.16.840.1.101.3.2.1.3.{authority}"),
        leaf: format!("2.16.840.1.101.2.1.11.{leaf}"),
    }
}

#[test]
fn the_dod_sw_ca_66_path_validates_with_the_mapped_fpki_policies() {
    let path = pem("dod-sw-ca-66-path.pem");
    assert_eq!(path.len(), 4);
    let rp = RelyingParty {
        initial_policies: ["6", "7", "8"]
            .iter()
            .map(|p| format!("2.16.840.1.101.3.2.1.3.{p}"))
            .collect(),
        require_explicit_policy: true,
        ..RelyingParty::default()
    };
    let store = fcpca(rp);
    let report = judge(&path, &[], &[&store], &policy(), at(), None);
    let chain = report.chain.as_ref().expect("the lowest CA is judged");
    let a = &chain.anchors()[0];
    assert!(a.verified, "{}", a.detail);
    assert_eq!(a.path, [0, 1, 2, 3]);
    assert!(a.policy_required);
    // The same pairs pyhanko-certvalidator reports (fixtures README).
    assert_eq!(a.policies, [q("6", "39"), q("7", "42"), q("8", "36")]);
    assert!(report.passed(), "{:#?}", report.findings);
}

/// A relying party asking for a policy the DoD path does not carry (PIV
/// authentication) with an explicit policy is refused, naming the rule.
#[test]
fn the_dod_path_is_refused_for_a_policy_it_does_not_carry() {
    let rp = RelyingParty {
        initial_policies: ["2.16.840.1.101.3.2.1.3.13".to_owned()].into(),
        require_explicit_policy: true,
        ..RelyingParty::default()
    };
    let store = fcpca(rp);
    let report = judge(
        &pem("dod-sw-ca-66-path.pem"),
        &[],
        &[&store],
        &policy(),
        at(),
        None,
    );
    let a = &report.chain.as_ref().expect("judged").anchors()[0];
    assert!(!a.verified);
    assert!(matches!(
        a.violation,
        Some(flowprobe::analyze::pkix::Violation::PolicyNotAcceptable { .. })
    ));
    assert!(
        a.detail
            .contains("id-fpki-common-authentication (2.16.840.1.101.3.2.1.3.13)"),
        "{}",
        a.detail
    );
    assert!(!report.passed());
}

#[derive(serde::Deserialize)]
struct AgencyPath {
    name: String,
    target: String,
    intermediates: Vec<String>,
    openssl: String,
    pyhanko: String,
}

#[test]
fn every_agency_path_of_the_gsa_bundle_validates_as_the_oracles_say() {
    let text = std::fs::read_to_string(dir().join("paths.json")).expect("paths.json");
    let paths: Vec<AgencyPath> = serde_json::from_str(&text).expect("parses");
    assert!(paths.len() >= 100, "{}", paths.len());
    let store = fcpca(RelyingParty::default());
    let mut wrong = Vec::new();
    for p in &paths {
        let mut sent = pem(&p.target);
        for i in &p.intermediates {
            sent.extend(pem(i));
        }
        let report = judge(&sent, &[], &[&store], &policy(), at(), None);
        let a = &report.chain.as_ref().expect("judged").anchors()[0];
        let oracles_accept = p.openssl == "ok" && p.pyhanko == "ok";
        if a.verified != oracles_accept {
            wrong.push(format!(
                "{}: flowprobe {}, openssl {}, pyhanko {}: {}",
                p.name, a.verified, p.openssl, p.pyhanko, a.detail
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// GSA's whole bundle in one file, no server certificate: judged from its
/// lowest CA with a warning, never a silent pass with nothing judged.
#[test]
fn the_whole_bundle_is_judged_from_a_lowest_ca() {
    let bundle = pem("bundle.pem");
    assert!(bundle.len() > 50);
    let store = fcpca(RelyingParty::default());
    let report = judge(&bundle, &[], &[&store], &policy(), at(), None);
    let chain = report.chain.as_ref().expect("a path was judged");
    assert!(chain.certificates[0].is_ca, "judged from a CA certificate");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.reason == Reason::ChainIncomplete && f.level == Level::Warn),
        "{:#?}",
        report.findings
    );
}
