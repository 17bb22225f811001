//! Hostile policy extensions: chains whose RFC 5280 policy tree would be
//! exponential (every certificate maps each of k policies to all k, the
//! CVE-2023-0464 shape) are judged on the RFC 9618 graph, and extensions
//! over the validator's cap are refused with a named rule. Outcomes are
//! asserted, not timings: a tree would not finish here at all.

use flowprobe::analyze::chain::{ChainPolicy, OrderRule, analyze};
use flowprobe::analyze::pkix::{MAX_POLICIES, Violation};
use flowprobe_testkit as support;
use rcgen::{CertificateParams, CustomExtension};
use rustls::pki_types::ServerName;
use std::time::SystemTime;
use support::der_tlv as tlv;

/// The OID 1.3.6.1.4.1.55555.1.`i` (below 128 keeps the encoding short).
fn policy_oid(i: u8) -> Vec<u8> {
    tlv(0x06, &[0x2b, 6, 1, 4, 1, 0x83, 0xb2, 0x03, 1, i])
}

fn policies(k: u8) -> CustomExtension {
    let body: Vec<u8> = (0..k).flat_map(|i| tlv(0x30, &policy_oid(i))).collect();
    CustomExtension::from_oid_content(&[2, 5, 29, 32], tlv(0x30, &body))
}

fn all_to_all(k: u8) -> CustomExtension {
    let mut body = Vec::new();
    for a in 0..k {
        for b in 0..k {
            let mut pair = policy_oid(a);
            pair.extend(policy_oid(b));
            body.extend(tlv(0x30, &pair));
        }
    }
    let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 33], tlv(0x30, &body));
    ext.set_criticality(true);
    ext
}

/// A chain of `cas` CAs below the root, each asserting k policies and
/// mapping each to all k, and a leaf asserting them.
fn hostile(
    cas: usize,
    k: u8,
) -> (
    rustls::pki_types::CertificateDer<'static>,
    Vec<rustls::pki_types::CertificateDer<'static>>,
) {
    let mut params: Vec<CertificateParams> = vec![support::pki::ec_ca("Test Root")];
    for i in 0..cas {
        let mut ca = support::pki::ec_ca(&format!("Mapping CA {i}"));
        ca.custom_extensions = vec![policies(k), all_to_all(k)];
        params.push(ca);
    }
    let mut leaf = support::pki::ec_leaf();
    leaf.custom_extensions = vec![policies(k)];
    let (anchor, sent, _) = support::pki::ec_hierarchy(params, leaf);
    (anchor, sent)
}

fn judge(
    anchor: &rustls::pki_types::CertificateDer<'static>,
    sent: &[rustls::pki_types::CertificateDer<'static>],
) -> flowprobe::analyze::chain::ChainReport {
    let store = support::pki::store("test-root", &[anchor]);
    let name = ServerName::try_from("mdm.lab.test").expect("name");
    analyze(
        sent,
        &[&store],
        &ChainPolicy::default(),
        &name,
        SystemTime::now(),
        OrderRule::Tls12,
    )
}

#[test]
fn all_to_all_mappings_over_eight_cas_are_judged_on_the_graph() {
    // k = 15 over 8 CAs: a policy tree would hold 15^8 (2.6e9) nodes.
    let (anchor, sent) = hostile(8, 15);
    let report = judge(&anchor, &sent);
    let a = &report.anchors()[0];
    assert!(a.verified, "{}", a.detail);
    // Every authority policy reaches every leaf policy.
    assert_eq!(a.policies.len(), 15 * 15);
}

#[test]
fn a_policy_extension_over_the_cap_is_refused_by_name() {
    // 17 x 17 = 289 mappings, over the 256 the validator judges.
    const { assert!(17 * 17 > MAX_POLICIES) };
    let (anchor, sent) = hostile(2, 17);
    let report = judge(&anchor, &sent);
    let a = &report.anchors()[0];
    assert!(!a.verified);
    assert!(
        matches!(
            a.violation,
            Some(Violation::PolicyTooLarge { entries: 289, .. })
        ),
        "{:?}",
        a.violation
    );
    assert!(
        a.detail.contains("carries 289 policies or mappings"),
        "{}",
        a.detail
    );
}

/// A bundle of 1,500 certificates, each issued by the next (a chain far
/// past any path length), in reverse order: ordered and judged, not hung
/// (the order walk is linear; path search is bounded). Over the cap of a
/// bundle check, a file is refused with its count.
#[test]
fn a_1500_certificate_bundle_is_ordered_and_judged_and_over_the_cap_is_refused() {
    use flowprobe::analyze::bundle::{MAX_CERTIFICATES, judge, policy};
    let mut params: Vec<CertificateParams> = (0..1_499)
        .map(|i| support::pki::ec_ca(&format!("Long CA {i}")))
        .collect();
    params.insert(0, support::pki::ec_ca("Test Root"));
    let (anchor, mut sent, _) = support::pki::ec_hierarchy(params, support::pki::ec_leaf());
    assert_eq!(sent.len(), 1_500);
    sent.reverse();
    let store = support::pki::store("test-root", &[&anchor]);
    let report = judge(&sent, &[], &[&store], &policy(), SystemTime::now(), None);
    // The leaf is found and the order rebuilt from it.
    assert_eq!(report.leaf, Some(1_499));
    assert_eq!(report.order[..3], [1_499, 1_498, 1_497]);
    assert!(
        !report.passed(),
        "a 1,500-certificate path is no valid path"
    );
    let many = vec![sent[0].clone(); MAX_CERTIFICATES + 1];
    let report = judge(&many, &[], &[&store], &policy(), SystemTime::now(), None);
    assert!(!report.passed());
    assert!(
        report.findings[0]
            .detail
            .starts_with("the file holds 2001 certificates, more than the 2000"),
        "{}",
        report.findings[0].detail
    );
}
