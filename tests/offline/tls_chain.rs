//! Chain analysis over certificates generated in the test: no network.

use flowprobe_testkit as support;

use flowprobe::analyze::chain::{
    ChainCache, ChainPolicy, ChainReport, Culprit, OrderRule, analyze, chain_fingerprint,
};
use flowprobe::analyze::trust::TrustStore;
use flowprobe::outcome::{Level, Reason, Subject};
use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use std::time::{Duration, Instant, SystemTime};
use support::pki::{Pki, PkiOptions, WeakLeaf, pem_all};

fn host() -> ServerName<'static> {
    ServerName::try_from("mdm.lab.test").expect("valid name")
}

fn judge(pki: &Pki, sent: &[CertificateDer<'static>], policy: &ChainPolicy) -> ChainReport {
    let (fcpca, dod) = (pki.fcpca_store(), pki.dod_store());
    analyze(
        sent,
        &[&fcpca, &dod],
        policy,
        &host(),
        SystemTime::now(),
        OrderRule::Tls12,
    )
}

fn reasons(report: &ChainReport, level: Level) -> Vec<Reason> {
    report
        .findings
        .iter()
        .filter(|f| f.level == level)
        .map(|f| f.reason)
        .collect()
}

fn cns(report: &ChainReport) -> Vec<&str> {
    report
        .certificates
        .iter()
        .map(|c| c.subject_cn.as_str())
        .collect()
}

#[test]
fn full_path_verifies_for_fcpca_and_dod() {
    let pki = Pki::new();
    let report = judge(&pki, &pki.full_path(), &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::Ok, "{:#?}", report.findings);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(
        cns(&report),
        [
            "mdm.lab.test",
            "DOD SW CA-66",
            "DoD Root CA 3",
            "DoD Interoperability Root CA 2",
            "Federal Bridge CA G4"
        ]
    );
    let fcpca = &report.anchors()[0];
    assert_eq!((fcpca.store.as_str(), fcpca.verified), ("fcpca-g2", true));
    assert_eq!(fcpca.path, [0, 1, 2, 3, 4]);
    assert_eq!(
        fcpca.anchor_subject.as_deref(),
        Some("CN=Federal Common Policy CA G2, OU=FPKI, O=U.S. Government, C=US")
    );
    let dod = &report.anchors()[1];
    assert_eq!((dod.store.as_str(), dod.verified), ("dod", true));
    assert_eq!(dod.path, [0, 1]);
    assert!(report.order_ok());
    assert!(report.anchor_sent.is_empty() && report.unrelated.is_empty());

    let cross = &report.certificates[2];
    assert_eq!(
        cross.subject,
        "CN=DoD Root CA 3, OU=PKI, OU=DoD, O=U.S. Government, C=US"
    );
    assert_eq!(cross.issuer_cn, "DoD Interoperability Root CA 2");
    assert_eq!(cross.serial, "4001");
    assert!(cross.is_ca && !cross.self_signed);
    assert_eq!(
        cross.crl_distribution_points,
        ["http://crl.lab.test/DoDInteroperabilityRootCA2.crl"]
    );
    let leaf = &report.certificates[0];
    assert_eq!((leaf.key_type.as_str(), leaf.key_bits), ("rsa", 2048));
    assert_eq!(leaf.signature_algorithm, "sha256WithRSAEncryption");
    assert_eq!(leaf.sans, ["mdm.lab.test", "localhost", "127.0.0.1"]);
    assert_eq!(leaf.sha256.len(), 64);
    assert!(leaf.not_before < leaf.not_after);
}

#[test]
fn path_stopping_at_dod_root_ca_3_is_incomplete_for_fcpca_only() {
    let pki = Pki::new();
    let report = judge(&pki, &pki.dod_path(), &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::ChainIncomplete);
    let fcpca = &report.anchors()[0];
    assert!(!fcpca.verified);
    assert_eq!(fcpca.reason, Reason::ChainIncomplete);
    assert_eq!(fcpca.path, [0, 1, 2]);
    assert_eq!(
        fcpca.detail,
        "path stops at CN=DoD Root CA 3, OU=PKI, OU=DoD, O=U.S. Government, C=US, \
         issuer CN=DoD Interoperability Root CA 2, OU=PKI, OU=DoD, O=U.S. Government, C=US not sent"
    );
    assert!(
        report.anchors()[1].verified,
        "dod store: {:?}",
        report.anchors()[1]
    );
    assert_eq!(reasons(&report, Level::Fail), [Reason::ChainIncomplete]);
    assert_eq!(
        report.findings[0].subject,
        Some(Subject::Store {
            store: "fcpca-g2".into()
        })
    );
    assert_eq!(
        cns(&report),
        ["mdm.lab.test", "DOD SW CA-66", "DoD Root CA 3"]
    );
}

#[test]
fn leaf_only_is_incomplete_for_both_stores() {
    let pki = Pki::new();
    let report = judge(
        &pki,
        std::slice::from_ref(&pki.leaf),
        &ChainPolicy::default(),
    );
    assert_eq!(report.reason(), Reason::ChainIncomplete);
    assert!(
        report
            .anchors()
            .iter()
            .all(|a| !a.verified && a.path == [0])
    );
    assert!(
        report.anchors()[0]
            .detail
            .contains("issuer CN=DOD SW CA-66")
    );
    assert_eq!(report.certificates.len(), 1);
    assert!(report.order_ok());
}

#[test]
fn wrong_order_fails_order_but_still_finds_the_path() {
    let pki = Pki::new();
    let sent = vec![
        pki.leaf.clone(),
        pki.dod_root_cross.clone(),
        pki.ca66.clone(),
        pki.bridge.clone(),
        pki.interop.clone(),
    ];
    let report = judge(&pki, &sent, &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::ChainOrder);
    assert!(!report.order_ok());
    assert_eq!(report.anchors()[0].path, [0, 2, 1, 4, 3]);
    assert!(report.anchors().iter().all(|a| a.verified));
    assert!(
        report.findings[0]
            .detail
            .starts_with("position 1 (DoD Root CA 3) does not certify position 0 (mdm.lab.test)")
    );
}

#[test]
fn anchor_sent_is_reported_as_info_and_passes() {
    let pki = Pki::new();
    let mut sent = pki.full_path();
    sent.push(pki.fcpca.clone());
    let report = judge(&pki, &sent, &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::Ok);
    assert_eq!(report.anchor_sent, [5]);
    assert!(report.order_ok());
    assert_eq!(reasons(&report, Level::Info), [Reason::ChainExtra]);
    assert!(
        report.findings[0]
            .detail
            .contains("Federal Common Policy CA G2")
    );
    assert!(report.certificates[5].self_signed);
    // An anchor's own SHA-1 signature would not be judged; its key would.
    assert_eq!(report.anchors()[0].path, [0, 1, 2, 3, 4]);
}

#[test]
fn duplicates_and_unrelated_extras_are_reported() {
    let pki = Pki::new();
    let stray = Pki::generate(&PkiOptions::default()).dod_root_self;
    let sent = vec![
        pki.leaf.clone(),
        pki.ca66.clone(),
        pki.ca66.clone(),
        stray.clone(),
    ];
    let report = judge(&pki, &sent, &ChainPolicy::default());
    assert_eq!(report.duplicates, [2]);
    // The self-signed DoD Root CA 3 issued CA-66 (same key): related, and an anchor.
    assert_eq!(report.anchor_sent, [3]);
    assert!(report.unrelated.is_empty());
    // For fcpca-g2 the path now ends at a self-signed DoD Root CA 3.
    assert_eq!(report.reason(), Reason::ChainUntrusted);
    assert!(
        report.anchors()[0]
            .detail
            .starts_with("path ends at self-signed CN=DoD Root CA 3")
    );
    assert_eq!(report.anchors()[0].path, [0, 1, 3]);
    assert_eq!(report.anchors()[0].reason, Reason::ChainUntrusted);
    assert!(report.anchors()[1].verified);
    assert_eq!(report.anchors()[1].reason, Reason::Ok);
    // The repeat at 2 is hygiene, not order: the order rule skips exact
    // repeats (as clients reading the list in order do), and 3 certifies 1.
    // It used to make the order fail.
    assert!(report.order_ok());
    let extra: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.reason == Reason::ChainExtra)
        .map(|f| (f.level, f.subject.clone()))
        .collect();
    assert_eq!(
        extra,
        [
            (Level::Warn, Some(Subject::Certificate { position: 2 })),
            (Level::Info, Some(Subject::Certificate { position: 3 })),
        ]
    );
    // The JSON of /api/v1/flows and check --output json, as docs/http-api.md shows it.
    let json = serde_json::to_value(&report).expect("json");
    let repeat = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["level"] == "warn" && f["reason"] == "chain_extra")
        .expect("the repeat's finding");
    assert_eq!(
        repeat["subject"],
        serde_json::json!({"kind": "certificate", "position": 2})
    );

    let other = self_signed_ec("Unrelated Test CA");
    let report = judge(
        &pki,
        &[pki.leaf.clone(), pki.ca66.clone(), other],
        &ChainPolicy::default(),
    );
    assert_eq!(report.unrelated, [2]);
    assert!(report.anchors()[1].verified);
}

#[test]
fn a_repeated_leaf_is_hygiene_not_order() {
    let pki = Pki::new();
    let sent = vec![pki.leaf.clone(), pki.leaf.clone(), pki.ca66.clone()];
    let report = judge(&pki, &sent, &ChainPolicy::default());
    assert_eq!(report.duplicates, [1]);
    assert_eq!(report.anchors()[1].path, [0, 2]);
    assert!(report.anchors()[1].verified);
    // A literal RFC 5246 reading objects (position 1 does not certify the
    // leaf); the rule skips the repeat and reports it as chain_extra.
    assert!(report.order_ok());
    // CA-66 alone reaches only the DoD store.
    assert_eq!(reasons(&report, Level::Fail), [Reason::ChainIncomplete]);
    assert_eq!(reasons(&report, Level::Warn), [Reason::ChainExtra]);
    let extra = report
        .findings
        .iter()
        .find(|f| f.reason == Reason::ChainExtra)
        .expect("a chain_extra finding");
    assert_eq!(extra.subject, Some(Subject::Certificate { position: 1 }));
    assert!(
        extra
            .detail
            .starts_with("position 1 (mdm.lab.test) repeats position 0"),
        "{}",
        extra.detail
    );
}

#[test]
fn a_sent_anchor_between_path_certificates_breaks_the_order() {
    // FCPCA G2 sent where CA-66's issuer belongs: a client reading the list
    // in order finds the wrong issuer after CA-66.
    let pki = Pki::new();
    let sent = vec![
        pki.leaf.clone(),
        pki.ca66.clone(),
        pki.fcpca.clone(),
        pki.dod_root_cross.clone(),
        pki.interop.clone(),
        pki.bridge.clone(),
    ];
    let report = judge(&pki, &sent, &ChainPolicy::default());
    assert_eq!(report.anchor_sent, [2]);
    assert!(report.anchors().iter().all(|a| a.verified));
    assert!(!report.order_ok());
    assert_eq!(report.reason(), Reason::ChainOrder);
    assert!(
        report.findings[0]
            .detail
            .starts_with("position 2 (Federal Common Policy CA G2) does not certify position 1"),
        "{}",
        report.findings[0].detail
    );
}

#[test]
fn expired_cross_certificate_is_reported_at_its_position() {
    let pki = Pki::generate(&PkiOptions {
        cross_expired: true,
        ..PkiOptions::default()
    });
    let report = judge(&pki, &pki.full_path(), &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::CertExpired);
    assert_eq!(reasons(&report, Level::Fail), [Reason::CertExpired]);
    assert!(
        report.findings[0]
            .detail
            .starts_with("store fcpca-g2: position 2 (DoD Root CA 3) expired at "),
        "{}",
        report.findings[0].detail
    );
    // Expiry is judged on the path (it used to be judged on every sent
    // certificate): the only path to fcpca-g2 uses the expired
    // cross-certificate, the dod path does not and still validates.
    assert!(!report.anchors()[0].verified && report.anchors()[1].verified);
    assert_eq!(report.anchors()[0].path, [0, 1, 2, 3, 4]);
    // The store's verdict names the reason and the certificate that breaks
    // the path (the status page marks it).
    assert_eq!(report.anchors()[0].reason, Reason::CertExpired);
    let culprit = report.anchors()[0]
        .violation
        .as_ref()
        .and_then(|v| v.culprit());
    assert_eq!(culprit, Some(Culprit::Sent(2)));
    let cross = &report.certificates[2];
    assert_eq!(cross.issuer_cn, "DoD Interoperability Root CA 2");
    assert!(cross.not_after.expect("parsed") < now_secs());
}

#[test]
fn expired_leaf_fails_with_its_facts() {
    let pki = Pki::generate(&PkiOptions {
        leaf_expired: true,
        ..PkiOptions::default()
    });
    let report = judge(&pki, &pki.full_path(), &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::CertExpired);
    assert!(
        report.findings[0]
            .detail
            .starts_with("store fcpca-g2: position 0 (mdm.lab.test) expired")
    );
    assert_eq!(report.certificates.len(), 5);
}

#[test]
fn leaf_expiring_in_ten_days_is_cert_expiring_within_the_window_only() {
    let pki = Pki::generate(&PkiOptions {
        leaf_expires_in_days: Some(10),
        ..PkiOptions::default()
    });
    // The default is now a warning (the flow still works; the path-expiry
    // alert pages), it used to fail the flow.
    let report = judge(&pki, &pki.full_path(), &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::Ok);
    assert_eq!(reasons(&report, Level::Warn), [Reason::CertExpiring]);
    assert!(
        report.findings[0].detail.contains("(in 10 days)"),
        "{:?}",
        report.findings
    );

    let short = policy("expiry_warning = \"5d\"");
    assert!(judge(&pki, &pki.full_path(), &short).findings.is_empty());
    let fail = policy("cert_expiring = \"fail\"");
    let report = judge(&pki, &pki.full_path(), &fail);
    assert_eq!(report.reason(), Reason::CertExpiring);
}

#[test]
fn host_name_is_matched_against_dns_and_ip_sans() {
    let pki = Pki::new();
    let (fcpca, dod) = (pki.fcpca_store(), pki.dod_store());
    let check = |name: &str| {
        let name = ServerName::try_from(name.to_owned()).expect("name");
        analyze(
            &pki.full_path(),
            &[&fcpca, &dod],
            &ChainPolicy::default(),
            &name,
            SystemTime::now(),
            OrderRule::Tls12,
        )
    };
    assert_eq!(check("localhost").reason(), Reason::Ok);
    assert_eq!(check("127.0.0.1").reason(), Reason::Ok);
    let report = check("other.lab.test");
    assert_eq!(report.reason(), Reason::NameMismatch);
    assert!(report.findings[0].detail.contains("other.lab.test"));
    assert_eq!(check("127.0.0.2").reason(), Reason::NameMismatch);
}

#[test]
fn wrong_host_name_and_wildcards() {
    let pki = Pki::generate(&PkiOptions {
        leaf_names: Some(vec!["*.lab.test".into(), "www.example.test".into()]),
        ..PkiOptions::default()
    });
    let (fcpca, dod) = (pki.fcpca_store(), pki.dod_store());
    let check = |name: &str| {
        let name = ServerName::try_from(name.to_owned()).expect("name");
        analyze(
            &pki.full_path(),
            &[&fcpca, &dod],
            &ChainPolicy::default(),
            &name,
            SystemTime::now(),
            OrderRule::Tls12,
        )
        .reason()
    };
    assert_eq!(check("mdm.lab.test"), Reason::Ok);
    // RFC 6125: a wildcard stands for exactly one left-most label.
    assert_eq!(check("a.mdm.lab.test"), Reason::NameMismatch);
    assert_eq!(check("lab.test"), Reason::NameMismatch);
    assert_eq!(check("localhost"), Reason::NameMismatch);
}

#[test]
fn rsa_1024_leaf_is_a_weak_key() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let weak = pki.openssl_leaf(dir.path(), WeakLeaf::Rsa1024);
    let mut sent = pki.full_path();
    sent[0] = weak.der;
    let report = judge(&pki, &sent, &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::WeakKey);
    assert_eq!(reasons(&report, Level::Fail), [Reason::WeakKey]);
    let leaf = &report.certificates[0];
    assert_eq!((leaf.key_type.as_str(), leaf.key_bits), ("rsa", 1024));
    assert_eq!(leaf.issuer_cn, "DOD SW CA-66");
    assert!(report.anchors().iter().all(|a| a.verified));
}

#[test]
fn sha1_signed_leaf_is_a_weak_signature_and_no_path_validates() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let weak = pki.openssl_leaf(dir.path(), WeakLeaf::Sha1Signed);
    let mut sent = pki.full_path();
    sent[0] = weak.der;
    let report = judge(&pki, &sent, &ChainPolicy::default());
    assert_eq!(report.reason(), Reason::WeakSignature);
    assert_eq!(
        report.certificates[0].signature_algorithm,
        "sha1WithRSAEncryption"
    );
    assert!(report.findings[0].detail.contains("sha1WithRSAEncryption"));
    // The validator refuses SHA-1 certificate signatures, as iOS 13+ and
    // macOS 10.15+ do: no store validates (it used to count as verified
    // with a weak signature), and the explanation names the signature.
    assert!(report.anchors().iter().all(|a| !a.verified));
    assert!(
        report.anchors()[0]
            .detail
            .contains("is signed with sha1WithRSAEncryption"),
        "{}",
        report.anchors()[0].detail
    );
}

#[test]
fn required_certificates_by_subject_issuer_and_sha256() {
    let pki = Pki::new();
    let cross_sha = report_sha(&pki, 2);
    let required = policy(&format!(
        r#"require = [
            {{ subject = "^CN=DoD Root CA 3,", issuer = "CN=DoD Interoperability Root CA 2" }},
            {{ sha256 = "{}" }},
        ]"#,
        cross_sha.to_uppercase()
    ));
    assert_eq!(
        judge(&pki, &pki.full_path(), &required).reason(),
        Reason::Ok
    );
    let sent = [pki.leaf.clone(), pki.ca66.clone()];
    let report = judge(&pki, &sent, &required);
    let failed = reasons(&report, Level::Fail);
    assert_eq!(
        failed
            .iter()
            .filter(|r| **r == Reason::CertRequired)
            .count(),
        2
    );
    assert!(report.findings.iter().any(|f| f.detail
        == "no sent certificate matches subject=/^CN=DoD Root CA 3,/ issuer=/CN=DoD Interoperability Root CA 2/"));
}

#[test]
fn policy_switches_assertions_between_fail_warn_and_off() {
    let pki = Pki::new();
    let warn = policy("chain_incomplete = \"warn\"");
    let report = judge(&pki, &pki.dod_path(), &warn);
    assert_eq!(report.reason(), Reason::Ok);
    assert_eq!(reasons(&report, Level::Warn), [Reason::ChainIncomplete]);
    let off = policy("chain_incomplete = \"off\"\nanchor_sent = \"off\"");
    assert!(judge(&pki, &pki.dod_path(), &off).findings.is_empty());

    let defaults = ChainPolicy::default();
    assert_eq!(defaults.expiry_warning, Duration::from_secs(30 * 86_400));
    for bad in [
        "chain_incomplet = \"warn\"",
        "chain_order = \"maybe\"",
        "require = [{ subject = \"(\" }]",
        "require = [{}]",
        "require = [{ sha256 = \"abc\" }]",
        "expiry_warning = \"soon\"",
    ] {
        assert!(
            toml::from_str::<ChainPolicy>(bad).is_err(),
            "accepted {bad}"
        );
    }
}

#[test]
fn self_signed_leaf_is_untrusted() {
    let pki = Pki::new();
    let report = judge(
        &pki,
        &[self_signed_ec("mdm.lab.test")],
        &ChainPolicy::default(),
    );
    assert_eq!(report.reason(), Reason::ChainUntrusted);
    assert!(
        report.anchors()[0]
            .detail
            .starts_with("path ends at self-signed CN=mdm.lab.test")
    );
    assert_eq!(report.certificates[0].key_type, "ec");
    assert_eq!(report.certificates[0].curve.as_deref(), Some("P-256"));
    assert_eq!(
        report.certificates[0].signature_algorithm,
        "ecdsa-with-SHA256"
    );
}

#[test]
fn unparsable_certificate_still_gets_facts_for_every_position() {
    let pki = Pki::new();
    let mut sent = pki.full_path();
    sent.insert(2, CertificateDer::from(b"not a certificate".to_vec()));
    let report = judge(&pki, &sent, &ChainPolicy::default());
    assert_eq!(report.certificates.len(), 6);
    let broken = &report.certificates[2];
    assert!(broken.error.is_some() && broken.not_after.is_none());
    assert_eq!(broken.sha256.len(), 64);
    assert_eq!(report.certificates[5].subject_cn, "Federal Bridge CA G4");
    assert!(report.anchors()[0].verified, "the path skips the junk");
    assert_eq!(report.reason(), Reason::ChainOrder);
}

#[test]
fn structure_is_cached_and_paths_are_revalidated_when_time_crosses_a_boundary() {
    let pki = Pki::new();
    let (fcpca, dod) = (pki.fcpca_store(), pki.dod_store());
    let policy = ChainPolicy::default();
    let sent = pki.full_path();
    assert_eq!(
        chain_fingerprint(&sent),
        chain_fingerprint(&pki.full_path())
    );
    assert_ne!(chain_fingerprint(&sent), chain_fingerprint(&pki.dod_path()));

    let stores = [&fcpca, &dod];
    let now = SystemTime::now();
    let mut cache = ChainCache::new();
    let first = cache.analyze(&sent, &stores, &policy, &host(), now, OrderRule::Tls12);
    assert_eq!(first.reason(), Reason::Ok);
    // Later, but before any notBefore/notAfter: the very same analysis.
    let again = cache.analyze(
        &sent,
        &stores,
        &policy,
        &host(),
        now + Duration::from_secs(3600),
        OrderRule::Tls12,
    );
    // The same analysis, judged at the later instant.
    assert_eq!(again.findings, first.findings);
    assert_eq!(again.validated_at, first.validated_at + 3600);
    assert!(std::sync::Arc::ptr_eq(&again.structure, &first.structure));
    assert!(std::sync::Arc::ptr_eq(&again.paths, &first.paths));
    // Past the leaf's notAfter (365 days): revalidated, the path is gone.
    let later = now + Duration::from_secs(400 * 86_400);
    let expired = cache.analyze(&sent, &stores, &policy, &host(), later, OrderRule::Tls12);
    assert_eq!(expired.reason(), Reason::CertExpired);
    assert!(std::sync::Arc::ptr_eq(&expired.structure, &first.structure));
    assert!(expired.anchors().iter().all(|a| !a.verified));

    let moved = cache.analyze(
        &pki.dod_path(),
        &stores,
        &policy,
        &host(),
        now,
        OrderRule::Tls12,
    );
    assert_eq!(moved.reason(), Reason::ChainIncomplete);
}

#[test]
fn sixty_certificate_chain_is_bounded() {
    let pki = Pki::new();
    let (sent, _) = support::pki::hostile_chain(60);
    let (fcpca, dod) = (pki.fcpca_store(), pki.dod_store());
    let started = Instant::now();
    let report = analyze(
        &sent,
        &[&fcpca, &dod],
        &ChainPolicy::default(),
        &host(),
        SystemTime::now(),
        OrderRule::Tls12,
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(report.certificates.len(), 60);
    assert!(report.anchors().iter().all(|a| !a.verified));
    assert_eq!(report.reason(), Reason::ChainIncomplete);
    assert_eq!(report.certificates[59].position, 59);
}

#[test]
fn trust_store_loads_files_and_directories_and_names_bad_files() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pki.write_pem(dir.path());
    let store = TrustStore::from_pem_paths("fcpca-g2", std::slice::from_ref(&files.fcpca_anchor))
        .expect("load");
    assert_eq!(store.anchors().len(), 1);
    assert_eq!(store.name(), "fcpca-g2");

    let anchors = dir.path().join("anchors");
    std::fs::create_dir(&anchors).expect("mkdir");
    std::fs::write(
        anchors.join("a.pem"),
        pem_all(&[&pki.fcpca, &pki.dod_root_self]),
    )
    .expect("write");
    std::fs::write(anchors.join("README"), "not a pem").expect("write");
    let store = TrustStore::from_pem_paths("both", std::slice::from_ref(&anchors)).expect("dir");
    assert_eq!(store.anchors().len(), 2);

    std::fs::write(anchors.join("b.pem"), "garbage").expect("write");
    let err =
        TrustStore::from_pem_paths("bad", std::slice::from_ref(&anchors)).expect_err("garbage");
    assert!(err.to_string().contains("b.pem"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = TrustStore::from_pem_paths("bad", &[missing]).expect_err("missing");
    assert!(err.to_string().contains("missing.pem"), "{err}");
}

fn policy(toml_text: &str) -> ChainPolicy {
    toml::from_str(toml_text).expect("valid policy")
}

fn report_sha(pki: &Pki, position: usize) -> String {
    judge(pki, &pki.full_path(), &ChainPolicy::default()).certificates[position]
        .sha256
        .clone()
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn self_signed_ec(cn: &str) -> CertificateDer<'static> {
    let key = KeyPair::generate().expect("P-256 key");
    let mut params = CertificateParams::new(vec![cn.to_owned()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.self_signed(&key).expect("self-signed").der().clone()
}

// ---- RFC 5280 rules the verdict enforces (rcgen hierarchies) ----------

fn judge_ec(anchor: &CertificateDer<'static>, sent: &[CertificateDer<'static>]) -> ChainReport {
    let store = support::pki::store("test-root", &[anchor]);
    analyze(
        sent,
        &[&store],
        &ChainPolicy::default(),
        &host(),
        SystemTime::now(),
        OrderRule::Tls12,
    )
}

fn fail_detail(report: &ChainReport) -> &str {
    &report.anchors()[0].detail
}

#[test]
fn issuer_with_ca_false_is_chain_invalid() {
    let mut ca = support::pki::ec_ca("DOD SW CA-66");
    ca.is_ca = rcgen::IsCa::ExplicitNoCa;
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![support::pki::ec_ca("Test Root"), ca],
        support::pki::ec_leaf(),
    );
    let report = judge_ec(&anchor, &sent);
    assert_eq!(report.reason(), Reason::ChainInvalid);
    assert!(!report.anchors()[0].verified);
    assert_eq!(
        fail_detail(&report),
        "position 1 (DOD SW CA-66) is not a CA: basicConstraints CA:FALSE"
    );
    assert_eq!(
        report.findings[0].detail,
        "store test-root: position 1 (DOD SW CA-66) is not a CA: basicConstraints CA:FALSE"
    );

    let mut none = support::pki::ec_ca("DOD SW CA-66");
    none.is_ca = rcgen::IsCa::NoCa;
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![support::pki::ec_ca("Test Root"), none],
        support::pki::ec_leaf(),
    );
    assert_eq!(
        fail_detail(&judge_ec(&anchor, &sent)),
        "position 1 (DOD SW CA-66) is not a CA: no basicConstraints"
    );
}

#[test]
fn issuer_without_key_cert_sign_is_chain_invalid() {
    // webpki alone accepts this path; RFC 5280 6.1.4 (n), OpenSSL and
    // devices refuse it.
    let mut ca = support::pki::ec_ca("DOD SW CA-66");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![support::pki::ec_ca("Test Root"), ca],
        support::pki::ec_leaf(),
    );
    let report = judge_ec(&anchor, &sent);
    assert_eq!(report.reason(), Reason::ChainInvalid);
    assert_eq!(
        fail_detail(&report),
        "position 1 (DOD SW CA-66) keyUsage lacks keyCertSign (digitalSignature, cRLSign)"
    );
    assert_eq!(report.anchors()[0].path, [0, 1]);
}

#[test]
fn path_length_constraint_of_a_cross_certificate_is_enforced() {
    let mut cross = support::pki::ec_ca("DoD Interoperability Root CA 2");
    cross.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![
            support::pki::ec_ca("Federal Bridge CA G4"),
            cross,
            support::pki::ec_ca("DoD Root CA 3"),
            support::pki::ec_ca("DOD SW CA-66"),
        ],
        support::pki::ec_leaf(),
    );
    let report = judge_ec(&anchor, &sent);
    assert_eq!(report.reason(), Reason::ChainInvalid);
    assert_eq!(
        fail_detail(&report),
        "pathLenConstraint 0 of position 3 (DoD Interoperability Root CA 2) exceeded: \
         2 CA certificates below it"
    );
    // pathLen counts the CA certificates below (RFC 5280 4.2.1.9): one is
    // allowed under pathLen 1.
    let mut cross = support::pki::ec_ca("DoD Interoperability Root CA 2");
    cross.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(1));
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![
            support::pki::ec_ca("Federal Bridge CA G4"),
            cross,
            support::pki::ec_ca("DOD SW CA-66"),
        ],
        support::pki::ec_leaf(),
    );
    assert_eq!(judge_ec(&anchor, &sent).reason(), Reason::Ok);
}

#[test]
fn client_auth_only_leaf_is_chain_invalid() {
    let mut leaf = support::pki::ec_leaf();
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![
            support::pki::ec_ca("Test Root"),
            support::pki::ec_ca("DOD SW CA-66"),
        ],
        leaf,
    );
    let report = judge_ec(&anchor, &sent);
    assert_eq!(report.reason(), Reason::ChainInvalid);
    assert_eq!(
        fail_detail(&report),
        "leaf EKU (clientAuth) does not allow serverAuth"
    );
    assert_eq!(
        report.certificates[0].ext_key_usage.as_deref(),
        Some(&["clientAuth".to_owned()][..])
    );
}

#[test]
fn leaf_key_usage_without_a_tls_server_use_is_chain_invalid() {
    let mut leaf = support::pki::ec_leaf();
    leaf.key_usages = vec![rcgen::KeyUsagePurpose::CrlSign];
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![
            support::pki::ec_ca("Test Root"),
            support::pki::ec_ca("DOD SW CA-66"),
        ],
        leaf,
    );
    let report = judge_ec(&anchor, &sent);
    assert_eq!(report.reason(), Reason::ChainInvalid);
    let a = &report.anchors()[0];
    assert!(
        matches!(&a.violation, Some(flowprobe::analyze::pkix::Violation::LeafKeyUsage { present })
            if present == &["cRLSign"]),
        "{:?} ({})",
        a.violation,
        fail_detail(&report)
    );
}

#[test]
fn name_constraints_excluding_the_leaf_are_chain_invalid() {
    let mut ca = support::pki::ec_ca("DOD SW CA-66");
    ca.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: Vec::new(),
        excluded_subtrees: vec![rcgen::GeneralSubtree::DnsName("lab.test".into())],
    });
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![support::pki::ec_ca("Test Root"), ca],
        support::pki::ec_leaf(),
    );
    let report = judge_ec(&anchor, &sent);
    assert_eq!(report.reason(), Reason::ChainInvalid);
    assert_eq!(
        fail_detail(&report),
        "name constraints of position 1 (DOD SW CA-66) (excluded: DNS:lab.test) exclude \
         DNS:mdm.lab.test of position 0 (mdm.lab.test)"
    );
    assert!(matches!(
        report.anchors()[0].violation,
        Some(flowprobe::analyze::chain::Violation::NameConstraints {
            position: Some(1),
            constrained: 0,
            ..
        })
    ));
    // Permitting the leaf's domain passes.
    let mut ca = support::pki::ec_ca("DOD SW CA-66");
    ca.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![
            rcgen::GeneralSubtree::DnsName("lab.test".into()),
            rcgen::GeneralSubtree::DnsName("localhost".into()),
            rcgen::GeneralSubtree::IpAddress(rcgen::CidrSubnet::V4([127, 0, 0, 0], [255, 0, 0, 0])),
        ],
        excluded_subtrees: Vec::new(),
    });
    let (anchor, sent, _) = support::pki::ec_hierarchy(
        vec![support::pki::ec_ca("Test Root"), ca],
        support::pki::ec_leaf(),
    );
    let report = judge_ec(&anchor, &sent);
    assert_eq!(report.reason(), Reason::Ok, "{:#?}", report.findings);
}

#[test]
fn valid_path_plus_an_expired_superseded_cross_certificate_passes_with_a_chain_extra() {
    let pki = Pki::new();
    let stale = Pki::generate(&PkiOptions {
        cross_expired: true,
        ..PkiOptions::default()
    });
    let mut sent = pki.full_path();
    sent.push(stale.dod_root_cross.clone());
    let report = judge(&pki, &sent, &ChainPolicy::default());
    // It used to be cert_expired and chain_order.
    assert_eq!(report.reason(), Reason::Ok, "{:#?}", report.findings);
    assert!(report.anchors().iter().all(|a| a.verified));
    assert_eq!(report.anchors()[0].path, [0, 1, 2, 3, 4]);
    assert!(report.order_ok());
    assert_eq!(report.extras(), [5]);
    assert_eq!(reasons(&report, Level::Warn), [Reason::ChainExtra]);
    assert_eq!(
        report.findings[0].subject,
        Some(Subject::Certificate { position: 5 })
    );
    let cross = &report.certificates[5];
    assert_eq!(
        (
            cross.subject_cn.as_str(),
            cross.issuer_cn.as_str(),
            cross.serial.as_str()
        ),
        ("DoD Root CA 3", "DoD Interoperability Root CA 2", "4001")
    );
    // The path's expiry is the earliest notAfter on it, not the extra's.
    let earliest = report.certificates[..5]
        .iter()
        .filter_map(|c| c.not_after)
        .min();
    assert_eq!(report.anchors()[0].not_after, earliest);
    assert!(report.certificates[5].not_after < earliest);
}

#[test]
fn dod_root_ca_3_and_6_branches_validate_against_one_store_holding_both() {
    let pki = Pki::new();
    let (fcpca, dod) = (pki.fcpca_store(), pki.dod_roots_store());
    for (sent, issuing, root) in [
        (pki.full_path(), "DOD SW CA-66", "DoD Root CA 3"),
        (pki.full_path_root6(), "DOD SW CA-74", "DoD Root CA 6"),
    ] {
        let report = analyze(
            &sent,
            &[&fcpca, &dod],
            &ChainPolicy::default(),
            &host(),
            SystemTime::now(),
            OrderRule::Tls12,
        );
        assert_eq!(report.reason(), Reason::Ok, "{:#?}", report.findings);
        assert_eq!(report.anchors()[0].path, [0, 1, 2, 3, 4]);
        assert_eq!(report.anchors()[1].path, [0, 1]);
        assert_eq!(report.certificates[1].subject_cn, issuing);
        assert!(
            report.anchors()[1]
                .anchor_subject
                .as_deref()
                .is_some_and(|s| s.starts_with(&format!("CN={root},")))
        );
    }
    // A Root CA 6 leaf with the Root CA 3 cross-certificate does not reach FCPCA G2.
    let mut wrong = pki.full_path_root6();
    wrong[2] = pki.dod_root_cross.clone();
    let report = analyze(
        &wrong,
        &[&fcpca, &dod],
        &ChainPolicy::default(),
        &host(),
        SystemTime::now(),
        OrderRule::Tls12,
    );
    assert_eq!(report.reason(), Reason::ChainIncomplete);
    assert!(!report.anchors()[0].verified && report.anchors()[1].verified);
    assert!(
        report.anchors()[0]
            .detail
            .starts_with("path stops at CN=DOD SW CA-74, OU=PKI, OU=DoD, O=U.S. Government, C=US, issuer CN=DoD Root CA 6"),
        "{}",
        report.anchors()[0].detail
    );
}

// ---- The verdict is webpki's (property) --------------------------------

/// webpki alone, as an independent check of each store's verdict.
fn webpki_accepts(sent: &[CertificateDer<'static>], store: &TrustStore) -> bool {
    let Ok(leaf) = webpki::EndEntityCert::try_from(&sent[0]) else {
        return false;
    };
    let now = rustls::pki_types::UnixTime::now();
    leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        store.trust_anchors(),
        &sent[1..],
        now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .is_ok()
}

mod property {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn pki() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(Pki::new)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn verdict_equals_webpki_for_any_subset_and_order(
            picks in proptest::sample::subsequence((0usize..9).collect::<Vec<_>>(), 0..=9),
            order in any::<proptest::sample::Index>(),
            leaf74 in any::<bool>(),
        ) {
            let pki = pki();
            let pool = [
                pki.ca66.clone(), pki.dod_root_cross.clone(), pki.interop.clone(),
                pki.bridge.clone(), pki.fcpca.clone(), pki.dod_root_self.clone(),
                pki.dod_root6_cross.clone(), pki.ca74.clone(), pki.ca66.clone(),
            ];
            let mut rest: Vec<_> = picks.iter().map(|i| pool[*i].clone()).collect();
            if !rest.is_empty() {
                let k = order.index(rest.len());
                rest.rotate_left(k);
                if k % 2 == 1 { rest.reverse(); }
            }
            let mut sent = vec![if leaf74 { pki.leaf74.clone() } else { pki.leaf.clone() }];
            sent.extend(rest);
            let (fcpca, dod) = (pki.fcpca_store(), pki.dod_roots_store());
            let report = analyze(&sent, &[&fcpca, &dod], &ChainPolicy::default(), &host(),
                SystemTime::now(), OrderRule::Tls13);
            for (result, store) in report.anchors().iter().zip([&fcpca, &dod]) {
                prop_assert_eq!(result.verified, webpki_accepts(&sent, store), "{:?}", result);
                if result.verified {
                    // The reported path alone validates too.
                    let only: Vec<_> = result.path.iter().map(|p| sent[*p].clone()).collect();
                    prop_assert!(webpki_accepts(&only, store), "{:?}", result);
                } else {
                    let about = Some(Subject::Store { store: result.store.clone() });
                    let failed = report.findings.iter()
                        .any(|f| f.level == Level::Fail && f.subject == about);
                    prop_assert!(failed, "{:?}", report.findings);
                }
            }
            prop_assert_eq!(report.reason() == Reason::Ok,
                report.anchors().iter().all(|a| a.verified));
        }
    }
}
