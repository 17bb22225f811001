//! Responses made by `openssl ocsp` for a fixed test PKI (certificates
//! valid for a century, so the fixtures do not age): see
//! `tests/fixtures/ocsp/`. The end-to-end cases are in `tests/peers/ocsp.rs`.
use super::*;
use der_ocsp::Decode;
use std::time::UNIX_EPOCH;
use x509_ocsp::{BasicOcspResponse, OcspRequest, OcspResponse};

const LEAF: &[u8] = include_bytes!("../../../tests/fixtures/ocsp/leaf.der");
const ISSUER: &[u8] = include_bytes!("../../../tests/fixtures/ocsp/issuer.der");
const GOOD: &[u8] = include_bytes!("../../../tests/fixtures/ocsp/good.der");
const BY_ISSUER: &[u8] = include_bytes!("../../../tests/fixtures/ocsp/by-issuer.der");
/// nextUpdate 30 days after it was made (December 2026).
const REVOKED: &[u8] = include_bytes!("../../../tests/fixtures/ocsp/revoked.der");

fn at(year_secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(year_secs)
}
/// 2026-12-10 and 2030-01-01.
const DEC_2026: u64 = 1_796_860_800;
const JAN_2030: u64 = 1_893_456_000;

fn reasons(f: &OcspJudgement) -> Vec<(Reason, Level)> {
    f.findings.iter().map(|x| (x.reason, x.level)).collect()
}

#[test]
fn delegated_and_issuer_signed_responses_are_good() {
    let f = judge(GOOD, LEAF, ISSUER, at(DEC_2026), "position 0");
    assert_eq!(f.status, Some("good"), "{f:?}");
    assert!(f.valid);
    assert!(
        f.signer
            .as_deref()
            .is_some_and(|s| s.contains("Fuzz Responder") && s.contains("delegated"))
    );
    assert!(f.findings.is_empty(), "{f:?}");
    assert!(f.next_update.is_some_and(|n| n > JAN_2030 as i64));
    let f = judge(BY_ISSUER, LEAF, ISSUER, at(DEC_2026), "position 0");
    assert!(
        f.signer
            .as_deref()
            .is_some_and(|s| s.contains("the issuer")),
        "{f:?}"
    );
    // No nextUpdate: cannot be aged, a warning only.
    assert_eq!(reasons(&f), vec![(Reason::OcspStale, Level::Warn)]);
    assert_eq!(f.status_code(), Some(STATUS_GOOD));
}

#[test]
fn revoked_and_then_stale() {
    let f = judge(REVOKED, LEAF, ISSUER, at(DEC_2026), "position 0");
    assert_eq!(reasons(&f), vec![(Reason::Revoked, Level::Fail)]);
    assert_eq!(f.revocation_reason.as_deref(), Some("superseded"));
    assert_eq!(f.status_code(), Some(STATUS_REVOKED));
    let f = judge(REVOKED, LEAF, ISSUER, at(JAN_2030), "position 0");
    assert_eq!(
        reasons(&f),
        vec![
            (Reason::Revoked, Level::Fail),
            (Reason::OcspStale, Level::Fail)
        ]
    );
    assert!(f.findings[1].detail.contains("expired"));
}

/// GOOD with its producedAt moved to `produced` (seconds), thisUpdate
/// kept: the signature no longer verifies, the dates are still judged.
fn produced_at(produced: u64) -> Vec<u8> {
    use der_ocsp::Encode;
    let mut resp = OcspResponse::from_der(GOOD).expect("response");
    let bytes = resp.response_bytes.as_mut().expect("basic");
    let mut basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).expect("basic");
    basic.tbs_response_data.produced_at.0 =
        der_ocsp::asn1::GeneralizedTime::from_unix_duration(Duration::from_secs(produced))
            .expect("time");
    bytes.response =
        der_ocsp::asn1::OctetString::new(basic.to_der().expect("DER")).expect("octets");
    resp.to_der().expect("DER")
}

#[test]
fn issued_in_the_future_is_stale() {
    let judged = |produced| {
        judge(
            &produced_at(produced),
            LEAF,
            ISSUER,
            at(DEC_2026),
            "position 0",
        )
    };
    // Produced a day after the moment judged, thisUpdate in the past.
    let f = judged(DEC_2026 + 86_400);
    assert_eq!(
        reasons(&f),
        vec![
            (Reason::OcspInvalid, Level::Fail),
            (Reason::OcspStale, Level::Fail)
        ],
        "{f:?}"
    );
    assert_eq!(
        f.findings[1].detail,
        "OCSP for position 0: producedAt 2026-12-11T00:00:00Z is in the future (clock skew or a bad responder)"
    );
    // Within the five minutes of skew: not stale.
    let f = judged(DEC_2026 + 300);
    assert_eq!(
        reasons(&f),
        vec![(Reason::OcspInvalid, Level::Fail)],
        "{f:?}"
    );
    // An untouched response (issuer-signed, no nextUpdate) judged an hour
    // before it was made: both dates.
    let made = judge(BY_ISSUER, LEAF, ISSUER, at(DEC_2026), "p")
        .produced_at
        .expect("producedAt");
    let f = judge(BY_ISSUER, LEAF, ISSUER, at(made as u64 - 3600), "p");
    assert_eq!(
        reasons(&f),
        vec![
            (Reason::OcspStale, Level::Fail),
            (Reason::OcspStale, Level::Warn)
        ],
        "{f:?}"
    );
    assert!(
        f.findings[0].detail.contains(
            "producedAt 2026-12-02T00:08:26Z and thisUpdate 2026-12-02T00:08:26Z are in the future"
        ),
        "{f:?}"
    );
}

#[test]
fn wrong_certificate_or_not_ocsp_is_invalid() {
    // The issuer asked about itself: the response has no answer for it.
    let f = judge(GOOD, ISSUER, ISSUER, at(DEC_2026), "position 1");
    assert_eq!(reasons(&f), vec![(Reason::OcspInvalid, Level::Fail)]);
    assert!(
        f.findings[0].detail.contains("no answer for serial"),
        "{f:?}"
    );
    assert!(!f.valid && f.status.is_none());
    let f = judge(
        b"<html><body>login</body></html>",
        LEAF,
        ISSUER,
        at(DEC_2026),
        "p",
    );
    assert!(f.findings[0].detail.contains("markup"), "{f:?}");
    let f = judge(
        &[0x30, 0x03, 0x0a, 0x01, 0x03],
        LEAF,
        ISSUER,
        at(DEC_2026),
        "p",
    );
    assert!(f.findings[0].detail.contains("tryLater"), "{f:?}");
    for cut in [0, 1, 10, 100, GOOD.len() - 1] {
        let f = judge(&GOOD[..cut], LEAF, ISSUER, at(DEC_2026), "p");
        assert_eq!(
            reasons(&f),
            vec![(Reason::OcspInvalid, Level::Fail)],
            "cut {cut}"
        );
    }
}

#[test]
fn request_names_the_certificate_the_responder_answered_for() {
    let req = OcspRequest::from_der(&request(LEAF, ISSUER).expect("request")).expect("DER");
    let asked = &req.tbs_request.request_list[0].req_cert;
    let resp = OcspResponse::from_der(GOOD).expect("response");
    let bytes = resp.response_bytes.expect("basic");
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).expect("basic");
    assert_eq!(*asked, basic.tbs_response_data.responses[0].cert_id);
    assert_eq!(
        responder_urls(LEAF),
        vec!["http://ocsp.lab.test/".to_string()]
    );
    assert!(responder_urls(ISSUER).is_empty());
    assert_eq!(find_issuer(LEAF, &[LEAF, ISSUER]), Some(1));
    assert_eq!(find_issuer(LEAF, &[LEAF]), None);
}

#[test]
fn staple_modes() {
    let stale_unknown = OcspJudgement {
        findings: vec![
            Finding::new(Reason::OcspUnknown, Level::Fail, "u"),
            Finding::new(Reason::OcspStale, Level::Fail, "s"),
        ],
        ..OcspJudgement::default()
    };
    let revoked = OcspJudgement {
        findings: vec![Finding::new(Reason::Revoked, Level::Fail, "r")],
        ..OcspJudgement::default()
    };
    let levels = |mode, f| -> Vec<(Reason, Level)> {
        staple_findings(mode, f)
            .iter()
            .map(|x| (x.reason, x.level))
            .collect()
    };
    assert_eq!(
        levels(StapleMode::Warn, Some(&stale_unknown)),
        vec![
            (Reason::OcspUnknown, Level::Warn),
            (Reason::OcspStale, Level::Warn)
        ]
    );
    assert_eq!(
        levels(StapleMode::Require, Some(&stale_unknown)),
        vec![
            (Reason::OcspUnknown, Level::Fail),
            (Reason::OcspStale, Level::Fail)
        ]
    );
    assert_eq!(
        levels(StapleMode::Warn, Some(&revoked)),
        vec![(Reason::Revoked, Level::Fail)]
    );
    assert_eq!(
        levels(StapleMode::Warn, None),
        vec![(Reason::OcspMissing, Level::Info)]
    );
    assert_eq!(
        levels(StapleMode::Require, None),
        vec![(Reason::OcspMissing, Level::Fail)]
    );
    assert!(levels(StapleMode::Off, Some(&revoked)).is_empty());
    assert!(
        staple_findings(StapleMode::Warn, Some(&revoked))[0]
            .detail
            .starts_with("staple: ")
    );
}
