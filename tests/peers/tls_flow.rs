//! TLS flows through the whole pipeline (config -> prepare -> probe ->
//! metrics and API), for passing and failing cases: certificate facts and
//! per-anchor verdicts are exported even when the flow fails.

use flowprobe_testkit as support;

use std::collections::BTreeMap;
use std::sync::Arc;

use flowprobe::metrics::Metrics;
use flowprobe::outcome::{Level, Reason};
use flowprobe::state::State;
use flowprobe::web::FlowView;
use support::pki::Pki;
use support::servers::{ServerMode, rustls_server};
use support::*;

fn lines<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .collect()
}

#[tokio::test]
async fn tls_flows_export_chain_facts_for_passing_and_failing_cases() {
    let pki = Pki::new();
    let dir = tempdir();
    let pem = pki.write_pem(dir.path());
    let full = rustls_server(pki.full_path(), pki.leaf_key(), ServerMode::Default, None).await;
    let dod = rustls_server(pki.dod_path(), pki.leaf_key(), ServerMode::Default, None).await;
    let not_ca = Pki::generate(&pki::PkiOptions {
        issuing_not_ca: true,
        ..Default::default()
    });
    let invalid = rustls_server(
        not_ca.full_path(),
        not_ca.leaf_key(),
        ServerMode::Default,
        None,
    )
    .await;
    let closed = free_port();
    let cfg = format!(
        r#"
catalog = "none"
[trust.fcpca-g2]
anchors = ["{fcpca}"]
[trust.dod]
anchors = ["{dodpem}"]
[targets]
lo = "127.0.0.1"
[[flow]]
name = "full"
from = "mobile-devices"
to = "lo"
port = {full}
check = "tls"
tls = {{ trust = ["fcpca-g2", "dod"], server_name = "mdm.lab.test" }}
[[flow]]
name = "full-profile-fail"
from = "mobile-devices"
to = "lo"
port = {full}
check = "tls"
tls = {{ trust = ["fcpca-g2", "dod"], server_name = "mdm.lab.test", cert_profile = "fail" }}
[[flow]]
name = "stops-at-dod"
from = "mobile-devices"
to = "lo"
port = {dodp}
check = "tls"
tls = {{ trust = ["fcpca-g2", "dod"], server_name = "mdm.lab.test" }}
[[flow]]
name = "not-a-ca"
from = "mobile-devices"
to = "lo"
port = {invalidp}
check = "tls"
tls = {{ trust = ["fcpca-g2", "dod"], server_name = "mdm.lab.test" }}
[[flow]]
name = "wrong-name"
from = "mobile-devices"
to = "lo"
port = {full}
check = "tls"
tls = {{ trust = ["fcpca-g2"], server_name = "other.lab.test" }}
[[flow]]
name = "closed"
from = "mobile-devices"
to = "lo"
port = {closed}
check = "tls"
tls = {{ trust = ["fcpca-g2"] }}
"#,
        fcpca = pem.fcpca_anchor.display(),
        dodpem = pem.dod_anchor.display(),
        full = full.addr.port(),
        dodp = dod.addr.port(),
        invalidp = invalid.addr.port(),
    );
    let c = config_from(&cfg);
    let reports = probe_all(&c).await;
    assert_eq!(
        reports["full"].reason,
        Reason::Ok,
        "{}",
        reports["full"].detail
    );
    // The lab leaf names no OCSP responder: SP 800-52r2 3.2.1's profile
    // says so, a warning by default and a failure with `cert_profile =
    // "fail"`; the paths that did not verify get no profile findings.
    let profile = |name: &str| -> Vec<(Level, String)> {
        reports[name]
            .findings()
            .filter(|f| f.reason == Reason::CertProfile)
            .map(|f| (f.level, f.detail.clone()))
            .collect()
    };
    let full = profile("full");
    assert!(
        full.iter()
            .any(|(l, d)| *l == Level::Warn && d.contains("no OCSP responder")),
        "{full:?}"
    );
    assert!(full.iter().all(|(l, _)| *l == Level::Warn), "{full:?}");
    assert_eq!(reports["full-profile-fail"].reason, Reason::CertProfile);
    assert!(profile("not-a-ca").is_empty());
    assert_eq!(reports["stops-at-dod"].reason, Reason::ChainIncomplete);
    assert!(!reports["stops-at-dod"].up);
    assert_eq!(reports["wrong-name"].reason, Reason::NameMismatch);
    assert_eq!(reports["closed"].reason, Reason::Refused);
    assert_eq!(reports["not-a-ca"].reason, Reason::ChainInvalid);
    assert!(
        reports["not-a-ca"].findings().any(|f| f.detail
            == "store fcpca-g2: position 1 (DOD SW CA-66) is not a CA: basicConstraints CA:FALSE"),
        "{:#?}",
        reports["not-a-ca"].detail
    );

    // Metrics: record every report, then read the exposition.
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let state = State::new(Arc::clone(&metrics));
    let prepared = flowprobe::probe::plan::prepare(&c).expect("prepare");
    let mut slots = BTreeMap::new();
    for p in prepared {
        let slot = state.make_slot(Arc::clone(&p));
        slots.insert(p.flow.name.clone(), slot);
    }
    for (name, slot) in &slots {
        state.record(slot, reports[name].clone());
    }
    let text = String::from_utf8(metrics.encode()).expect("utf8");
    let verified = |flow: &str, anchor: &str| {
        lines(
            &text,
            "flowprobe_tls_chain_verified",
            &[&format!("flow=\"{flow}\""), &format!("anchor=\"{anchor}\"")],
        )
        .first()
        .map(|l| l.ends_with(" 1"))
    };
    assert_eq!(verified("full", "fcpca-g2"), Some(true));
    assert_eq!(verified("full", "dod"), Some(true));
    assert_eq!(
        verified("stops-at-dod", "fcpca-g2"),
        Some(false),
        "path not pushed to FCPCA G2"
    );
    assert_eq!(
        verified("stops-at-dod", "dod"),
        Some(true),
        "but it reaches DoD Root CA 3"
    );
    assert_eq!(
        verified("closed", "fcpca-g2"),
        Some(false),
        "present, 0, when nothing arrived"
    );
    assert_eq!(verified("not-a-ca", "fcpca-g2"), Some(false));
    assert_eq!(verified("not-a-ca", "dod"), Some(false));
    assert_eq!(
        lines(
            &text,
            "flowprobe_flow_reason",
            &["flow=\"not-a-ca\"", "reason=\"chain_invalid\""]
        )
        .first()
        .map(|l| l.ends_with(" 1")),
        Some(true)
    );
    // The path's expiry per store: the earliest notAfter on it (the leaf's
    // here), for verified stores only.
    let path_after = |flow: &str| {
        lines(
            &text,
            "flowprobe_tls_path_not_after_timestamp_seconds",
            &[&format!("flow=\"{flow}\"")],
        )
    };
    let full_path = path_after("full");
    assert_eq!(full_path.len(), 2, "{full_path:?}");
    let leaf_not_after = format!(" {}", pki_leaf_not_after(&pki));
    assert!(
        full_path.iter().all(|l| l.ends_with(&leaf_not_after)),
        "{full_path:?} vs {leaf_not_after}"
    );
    assert!(path_after("not-a-ca").is_empty());
    assert_eq!(
        path_after("stops-at-dod").len(),
        1,
        "only the dod store validates"
    );
    // Every sent certificate has dates, on the failing flow too.
    let after = lines(
        &text,
        "flowprobe_tls_cert_not_after_timestamp_seconds",
        &["flow=\"stops-at-dod\""],
    );
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(
        after
            .iter()
            .any(|l| l.contains("subject_cn=\"DoD Root CA 3\"")
                && l.contains("issuer_cn=\"DoD Interoperability Root CA 2\""))
    );
    let full_after = lines(
        &text,
        "flowprobe_tls_cert_not_after_timestamp_seconds",
        &["flow=\"full\""],
    );
    assert_eq!(full_after.len(), 5);
    // `[metrics]` for very large instances: a chain a store validates keeps
    // the leaf's certificate series only (the path is summarised per
    // store), a chain none validates keeps them all; no duration series.
    let series_of = |text: &str, flow: &str| {
        let needle = format!("flow=\"{flow}\"");
        text.lines()
            .filter(|l| !l.starts_with('#') && l.contains(&needle))
            .count()
    };
    let full_default = series_of(&text, "full");
    metrics.configure(&flowprobe::config::MetricsSettings {
        per_flow_durations: false,
        all_certificates: false,
    });
    for (name, slot) in &slots {
        state.record(slot, reports[name].clone());
    }
    let small = String::from_utf8(metrics.encode()).expect("utf8");
    let count =
        |family: &str, flow: &str| lines(&small, family, &[&format!("flow=\"{flow}\"")]).len();
    for family in [
        "flowprobe_tls_cert_not_after_timestamp_seconds",
        "flowprobe_tls_cert_not_before_timestamp_seconds",
        "flowprobe_tls_cert_info",
    ] {
        assert_eq!(count(family, "full"), 1, "{family}: the leaf only");
        assert_eq!(count(family, "stops-at-dod"), 1, "{family}: dod validates");
        assert_eq!(
            count(family, "not-a-ca"),
            lines(&text, family, &["flow=\"not-a-ca\""]).len(),
            "{family}: no store validates, every certificate stays"
        );
        assert!(count(family, "not-a-ca") > 1);
    }
    assert!(!small.contains("flowprobe_probe_duration_seconds"));
    assert_eq!(
        count("flowprobe_tls_path_not_after_timestamp_seconds", "full"),
        2,
        "the summary stays"
    );
    let full_small = series_of(&small, "full");
    println!("TLS flow of 5 certificates: {full_default} series, {full_small} with [metrics] off");
    assert_eq!(
        full_default - full_small,
        4 * 3 + 3,
        "4 certificates of 3 series each, 3 phases"
    );
    metrics.configure(&flowprobe::config::MetricsSettings::default());
    for (name, slot) in &slots {
        state.record(slot, reports[name].clone());
    }
    let text = String::from_utf8(metrics.encode()).expect("utf8");
    let cross = lines(
        &text,
        "flowprobe_tls_cert_info",
        &["flow=\"full\"", "cross=\"true\""],
    );
    assert_eq!(
        cross.len(),
        1,
        "the DoD Root CA 3 cross-certificate is marked: {cross:?}"
    );
    assert!(cross[0].contains("position=\"2\""));
    assert!(
        lines(
            &text,
            "flowprobe_tls_cert_info",
            &[
                "flow=\"full\"",
                "position=\"0\"",
                "key=\"rsa-2048\"",
                "signature=\"sha256WithRSAEncryption\""
            ]
        )
        .len()
            == 1,
        "{text}"
    );
    assert_eq!(
        lines(
            &text,
            "flowprobe_tls_chain_certificates",
            &["flow=\"closed\""]
        )
        .first()
        .map(|l| l.ends_with(" 0")),
        Some(true)
    );
    assert_eq!(
        lines(&text, "flowprobe_tls_chain_order_ok", &["flow=\"full\""])
            .first()
            .map(|l| l.ends_with(" 1")),
        Some(true)
    );
    assert_eq!(
        lines(
            &text,
            "flowprobe_tls_version_info",
            &["flow=\"full\"", "version=\"TLSv1.3\""]
        )
        .len(),
        1
    );
    assert!(
        lines(
            &text,
            "flowprobe_tls_cert_not_after_timestamp_seconds",
            &["flow=\"closed\""]
        )
        .is_empty(),
        "no sentinel dates"
    );
    assert_eq!(
        lines(
            &text,
            "flowprobe_flow_reason",
            &["flow=\"stops-at-dod\"", "reason=\"chain_incomplete\""]
        )
        .len(),
        1
    );
    assert_eq!(
        lines(
            &text,
            "flowprobe_probe_duration_seconds",
            &["flow=\"full\"", "phase=\"tls\""]
        )
        .len(),
        1
    );

    // API view of the failing flow: every certificate and the findings.
    let flow = c
        .flows
        .iter()
        .find(|f| f.name == "stops-at-dod")
        .expect("flow");
    let v = serde_json::to_value(FlowView::new(flow, Some(reports["stops-at-dod"].clone())))
        .expect("json");
    let attempt = &v["last"]["attempts"][0];
    let certs = attempt["details"]["chain"]["certificates"]
        .as_array()
        .expect("certificates");
    assert_eq!(certs.len(), 3);
    for key in [
        "subject",
        "issuer",
        "serial",
        "sha256",
        "not_before",
        "not_after",
        "key_type",
        "signature_algorithm",
        "sans",
    ] {
        assert!(!certs[0][key].is_null(), "certificate {key} missing");
    }
    let findings = attempt["findings"].as_array().expect("findings");
    assert!(
        findings.iter().any(|f| f["reason"] == "chain_incomplete"
            && f["detail"]
                .as_str()
                .is_some_and(|d| d.contains("DoD Root CA 3"))),
        "{findings:?}"
    );
    let anchors = attempt["details"]["chain"]["anchors"]
        .as_array()
        .expect("anchors");
    assert_eq!(anchors.len(), 2);
}

fn pki_leaf_not_after(pki: &Pki) -> i64 {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(pki.leaf.as_ref())
        .expect("leaf parses");
    cert.validity().not_after.timestamp()
}

/// A CA or leaf named `O=<org>, CN=<cn>`, for the APNs stand-ins.
fn org_params(org: &str, cn: &str, ca: bool) -> rcgen::CertificateParams {
    let mut params = if ca {
        pki::ec_ca(cn)
    } else {
        let mut leaf = pki::ec_leaf();
        leaf.subject_alt_names = vec![rcgen::SanType::DnsName(cn.try_into().expect("DNS name"))];
        leaf
    };
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "US");
    dn.push(rcgen::DnType::OrganizationName, org);
    dn.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name = dn;
    params
}

/// The courier flows as the catalog defines them, against a stand-in that
/// asks for a client certificate and refuses the handshake without one,
/// with a certificate for courier.push.apple.com issued by an "Apple Inc."
/// CA: up. The same name re-signed by an inspecting proxy's CA (what a
/// device behind TLS interception is shown): `tls_intercepted`.
#[tokio::test]
async fn apns_courier_with_client_auth_passes_and_a_resigning_proxy_is_tls_intercepted() {
    let (apple_root, apple_sent, apple_key) = pki::ec_hierarchy(
        vec![
            org_params("Apple Inc.", "Apple Root CA (test)", true),
            org_params("Apple Inc.", "Apple Server Authentication CA (test)", true),
        ],
        org_params("Apple Inc.", "courier.push.apple.com", false),
    );
    let courier = rustls_server(
        apple_sent.clone(),
        apple_key,
        ServerMode::ClientAuthRequired,
        Some(apple_root.clone()),
    )
    .await;
    let (_, proxy_sent, proxy_key) = pki::ec_hierarchy(
        vec![org_params("Example Corp", "Corp Inspection CA", true)],
        org_params("Example Corp", "courier.push.apple.com", false),
    );
    let proxy = rustls_server(proxy_sent, proxy_key, ServerMode::Default, None).await;
    let cfg = format!(
        r#"
catalog = "jamf-pro"
vantages = ["mobile-devices"]
[targets]
mdm = "127.0.0.1"
apns-courier = "127.0.0.1"
[[flow]]
name = "mobile-apns-courier"
port = {courier}
[[flow]]
name = "mobile-apns-courier-fallback"
port = {proxy}
"#,
        courier = courier.addr.port(),
        proxy = proxy.addr.port(),
    );
    let c = config_from(&cfg);
    let reports = probe_all(&c).await;
    let ok = &reports["mobile-apns-courier"];
    assert_eq!(ok.reason, Reason::Ok, "{} {:#?}", ok.detail, ok.attempts);
    assert!(ok.up);
    assert!(
        ok.detail
            .contains("client certificate requested (expected)"),
        "{}",
        ok.detail
    );
    let json = serde_json::to_value(ok).expect("json");
    assert_eq!(
        json["attempts"][0]["details"]["client_cert_requested"],
        serde_json::Value::Bool(true)
    );
    let cns: Vec<&str> = json["attempts"][0]["details"]["chain"]["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .filter_map(|c| c["subject_cn"].as_str())
        .collect();
    assert_eq!(
        cns,
        [
            "courier.push.apple.com",
            "Apple Server Authentication CA (test)"
        ]
    );

    let bad = &reports["mobile-apns-courier-fallback"];
    assert_eq!(bad.reason, Reason::TlsIntercepted, "{}", bad.detail);
    let finding = bad
        .findings()
        .find(|f| f.reason == Reason::TlsIntercepted)
        .expect("interception finding");
    assert!(
        finding
            .detail
            .starts_with("position 0 (courier.push.apple.com) is issued by CN=Corp Inspection CA, O=Example Corp, C=US, not by /O=Apple Inc\\./"),
        "{}",
        finding.detail
    );
}
