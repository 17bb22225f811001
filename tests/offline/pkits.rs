//! NIST PKITS (2011 edition, public domain), sections 4.1 to 4.16: every
//! case of `tests/fixtures/pkits/cases.json` (with the initial policy
//! settings each case names) judged by flowprobe's path validation and
//! compared with the expected result of the PKITS description. Cases whose
//! result depends on CRL processing are not applicable: flowprobe judges
//! revocation in its `crl` and `ocsp` flows, not inside path validation.
//! Every other disagreement is listed in `DIVERGENCES` with why, and the
//! count of agreeing cases may only go up.

use flowprobe::analyze::chain::{ChainPolicy, OrderRule, Purpose, analyze};
use flowprobe::analyze::pkix::RelyingParty;
use flowprobe::analyze::trust::{Anchor, TrustStore};
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Cases where flowprobe's verdict differs from PKITS, and why.
const DIVERGENCES: &[(&str, &str)] = &[
    // DSA keys and signatures: no device, browser or rustls/ring verifier
    // accepts DSA any more; flowprobe refuses the path.
    ("4.1.4", "DSA signatures are not supported"),
    ("4.1.5", "DSA parameter inheritance is not supported"),
];

/// Agreeing cases at the last count; the count may only go up.
const AGREED_AT_LEAST: usize = 171;

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    name: String,
    path: Vec<String>,
    anchor: String,
    expected: String,
    initial_policy_set: Vec<String>,
    initial_explicit_policy: bool,
    initial_policy_mapping_inhibit: bool,
    initial_any_policy_inhibit: bool,
    needs_revocation: bool,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pkits")
}

fn der(name: &str) -> CertificateDer<'static> {
    let path = dir().join("certs").join(name);
    CertificateDer::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
}

/// flowprobe's verdict on one case, and the detail when refused.
fn verdict(case: &Case) -> (bool, String) {
    let anchor = Anchor::from_der(der(&case.anchor)).expect("the PKITS anchor loads");
    let rp = RelyingParty {
        initial_policies: case
            .initial_policy_set
            .iter()
            .filter(|p| p.as_str() != "2.5.29.32.0")
            .cloned()
            .collect(),
        require_explicit_policy: case.initial_explicit_policy,
        inhibit_policy_mapping: case.initial_policy_mapping_inhibit,
        inhibit_any_policy: case.initial_any_policy_inhibit,
    };
    // An initial set of only anyPolicy is the default; one that names
    // policies is kept as named.
    let store = TrustStore::new("pkits", vec![anchor]).with_relying_party(rp);
    let sent: Vec<_> = case.path.iter().map(|n| der(n)).collect();
    // PKITS end entities are not TLS servers: their keyUsage is for
    // signatures, so they are judged as signers (no EKU rule). A few
    // targets are CA certificates (4.6.8, 4.6.14, 4.8.6): judged as
    // `pki check` judges a CA-only file.
    let target_is_ca =
        x509_parser::parse_x509_certificate(sent[0].as_ref()).is_ok_and(|(_, c)| c.is_ca());
    let policy = ChainPolicy {
        purpose: if target_is_ca {
            Purpose::Ca
        } else {
            Purpose::Signer
        },
        ..ChainPolicy::default()
    };
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200); // 2024-01-01
    let name = ServerName::try_from("pkits.invalid").expect("a DNS name");
    let report = analyze(&sent, &[&store], &policy, &name, at, OrderRule::Tls12);
    let a = &report.anchors()[0];
    (a.verified, a.detail.clone())
}

#[test]
fn pkits_sections_4_1_to_4_16_agree_with_the_expected_results() {
    let text = std::fs::read_to_string(dir().join("cases.json")).expect("cases.json");
    let cases: Vec<Case> = serde_json::from_str(&text).expect("cases.json parses");
    assert!(cases.len() >= 200, "{} cases", cases.len());
    let (mut agreed, mut not_applicable, mut diverged) = (0, 0, Vec::new());
    let mut wrong = Vec::new();
    for case in &cases {
        if case.needs_revocation {
            not_applicable += 1;
            continue;
        }
        let (valid, detail) = verdict(case);
        let expected = case.expected == "valid";
        let base = case.id.split('-').next().unwrap_or(&case.id);
        if valid == expected {
            agreed += 1;
        } else if DIVERGENCES.iter().any(|(id, _)| *id == base) {
            diverged.push(case.id.clone());
        } else {
            wrong.push(format!(
                "{} {} (expected {}, flowprobe {}): {detail}",
                case.id,
                case.name,
                case.expected,
                if valid { "valid" } else { "invalid" }
            ));
        }
    }
    println!(
        "PKITS: {agreed} agree, {} documented divergences, {not_applicable} need revocation \
         (not applicable), {} cases",
        diverged.len(),
        cases.len()
    );
    assert!(wrong.is_empty(), "disagreements:\n{}", wrong.join("\n"));
    assert!(agreed >= AGREED_AT_LEAST, "{agreed} agreeing cases");
}
