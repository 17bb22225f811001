//! x509-limbo (C2SP, Apache-2.0; tests/fixtures/limbo pins the commit): the
//! cases that apply to a TLS server path, judged as a `tls` flow judges a
//! sent chain (path to the trusted certificates, EKU serverAuth, the name
//! check against the expected peer name) and compared with the suite's
//! expected result. CRL cases are not applicable (flowprobe judges
//! revocation in its `crl` and `ocsp` flows). Each class of divergence is
//! listed in docs/tls.md with why; here the count of agreeing cases may
//! only go up and the divergences per class are printed.

use flowprobe::analyze::chain::{ChainPolicy, OrderRule, analyze};
use flowprobe::analyze::trust::{Anchor, TrustStore};
use flowprobe::outcome::Level;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::SystemTime;

/// Agreeing cases at the last count; may only go up.
const AGREED_AT_LEAST: usize = 150;

/// Classes (id prefixes) where flowprobe knowingly differs, and why; the
/// docs/tls.md says the same. A divergence outside them fails.
const DOCUMENTED: &[(&str, &str)] = &[
    (
        "pathlen::max-chain-depth-",
        "the suite's max_chain_depth is a harness setting (flowprobe: 10)",
    ),
    (
        "pathlen::validation-ignores-pathlen-in-leaf",
        "a CA certificate as a TLS leaf is refused, as webpki does",
    ),
    (
        "rfc5280::ca-as-leaf",
        "a CA certificate as a TLS leaf is refused, as webpki does",
    ),
    (
        "rfc5280::aki::",
        "key identifiers oblige the issuing CA; OpenSSL and Apple accept",
    ),
    (
        "rfc5280::ski::",
        "key identifiers oblige the issuing CA; OpenSSL and Apple accept",
    ),
    ("webpki::aki::", "the anchor's own AKI is not relied on"),
    (
        "rfc5280::nc::permitted-dns-match-noncritical",
        "a non-critical nameConstraints is still enforced",
    ),
    (
        "rfc5280::nc::invalid-dnsname-leading-period",
        "a leading period means subdomains, as OpenSSL reads it",
    ),
    (
        "rfc5280::pc::ica-noncritical-pc",
        "a non-critical policyConstraints is still processed",
    ),
    (
        "rfc5280::root-non-critical-basic-constraints",
        "the criticality of an anchor's basicConstraints is not relied on",
    ),
    (
        "rfc5280::san::underscore-dns",
        "SAN syntax beyond the names judged is the CA's obligation",
    ),
    (
        "rfc5280::serial::",
        "serial number length is the CA's obligation",
    ),
    (
        "webpki::cn::",
        "CA/Browser Forum rule on the subject CN; the name check uses SANs only",
    ),
    (
        "webpki::eku::",
        "CA/Browser Forum EKU profile (EKU required, anyEKU refused)",
    ),
    (
        "webpki::forbidden-",
        "CA/Browser Forum key profile; weak keys are weak_key findings by size",
    ),
    (
        "webpki::san::",
        "CA/Browser Forum SAN profile (public suffix wildcards, criticality)",
    ),
];

#[derive(serde::Deserialize)]
struct Limbo {
    testcases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    features: Vec<String>,
    trusted_certs: Vec<String>,
    untrusted_intermediates: Vec<String>,
    peer_certificate: String,
    validation_time: Option<String>,
    expected_result: String,
    expected_peer_name: Option<PeerName>,
    #[serde(default)]
    extended_key_usage: Vec<String>,
}

#[derive(serde::Deserialize)]
struct PeerName {
    kind: String,
    value: String,
}

fn der(pem: &str) -> Option<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes()).ok()
}

/// flowprobe's verdict: `Some(pass)`, or `None` when not applicable.
fn verdict(case: &Case) -> Option<(bool, String)> {
    if case.features.iter().any(|f| f == "has-crl") {
        return None;
    }
    if !case.extended_key_usage.is_empty()
        && !case.extended_key_usage.iter().any(|e| e == "serverAuth")
    {
        return None;
    }
    let anchors: Vec<Anchor> = case
        .trusted_certs
        .iter()
        .filter_map(|p| der(p))
        .filter_map(|d| Anchor::from_der(d).ok())
        .collect();
    let store = TrustStore::new("limbo", anchors);
    let mut sent = vec![der(&case.peer_certificate)?];
    sent.extend(case.untrusted_intermediates.iter().filter_map(|p| der(p)));
    let at = match &case.validation_time {
        Some(t) => humantime::parse_rfc3339_weak(&t[..19]).ok()?,
        None => SystemTime::now(),
    };
    let mut policy = ChainPolicy::default();
    let name = match &case.expected_peer_name {
        Some(n) if n.kind == "DNS" || n.kind == "IP" => {
            ServerName::try_from(n.value.clone()).ok()?
        }
        _ => {
            policy.name_mismatch = flowprobe::outcome::Action::Off;
            ServerName::try_from("limbo.invalid").expect("a DNS name")
        }
    };
    // The send order is flowprobe's own hygiene finding, not the suite's
    // subject (limbo lists intermediates unordered).
    policy.chain_order = flowprobe::outcome::Action::Off;
    let report = analyze(&sent, &[&store], &policy, &name, at, OrderRule::Tls13);
    let pass = report.findings.iter().all(|f| f.level != Level::Fail);
    let detail = report
        .findings
        .iter()
        .find(|f| f.level == Level::Fail)
        .map(|f| f.detail.clone())
        .unwrap_or_default();
    Some((pass, detail))
}

#[test]
fn x509_limbo_server_cases_agree_or_are_counted_by_class() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/limbo/limbo-server.json.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("fixture"))
        .read_to_string(&mut text)
        .expect("gzip");
    let limbo: Limbo = serde_json::from_str(&text).expect("limbo json");
    let (mut agreed, mut skipped) = (0, 0);
    let mut by_class: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for case in &limbo.testcases {
        let Some((pass, detail)) = verdict(case) else {
            skipped += 1;
            continue;
        };
        let expected = case.expected_result == "SUCCESS";
        if pass == expected {
            agreed += 1;
        } else {
            let class = case.id.split("::").take(2).collect::<Vec<_>>().join("::");
            by_class.entry(class).or_default().push(format!(
                "{} (expected {}, flowprobe {}): {detail}",
                case.id,
                case.expected_result,
                if pass { "pass" } else { "fail" }
            ));
        }
    }
    let diverged: usize = by_class.values().map(Vec::len).sum();
    println!(
        "x509-limbo: {agreed} agree, {diverged} diverge, {skipped} not applicable, {} cases",
        limbo.testcases.len()
    );
    for (class, cases) in &by_class {
        println!("  {class}: {}", cases.len());
        for c in cases {
            println!("    {c}");
        }
    }
    assert!(agreed >= AGREED_AT_LEAST, "{agreed} agreeing cases");
    let undocumented: Vec<&String> = by_class
        .values()
        .flatten()
        .filter(|c| !DOCUMENTED.iter().any(|(prefix, _)| c.starts_with(prefix)))
        .collect();
    assert!(
        undocumented.is_empty(),
        "undocumented divergences: {undocumented:#?}"
    );
}
