//! Responses made by `openssl ocsp` for a fixed test PKI (certificates
//! valid for a century, so the fixtures do not age): see
//! `tests/fixtures/ocsp/`. The end-to-end cases are in `tests/peers/ocsp.rs`.
use super::*;
use der_ocsp::Decode;
use std::time::{Duration, UNIX_EPOCH};
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

/// The certificate asked about, as the callers name it.
fn at_position(position: usize) -> Asked<'static> {
    Asked {
        position,
        name: None,
    }
}
const P0: Asked<'static> = Asked {
    position: 0,
    name: None,
};

/// `der`'s serial in hex, leading zeros stripped, as the judgement reads it.
fn serial_of(der: &[u8]) -> String {
    let (_, c) = X509Certificate::from_der(der).expect("certificate");
    hex::encode(strip_zeros(c.raw_serial()))
}

#[test]
fn delegated_and_issuer_signed_responses_are_good() {
    let f = judge(GOOD, LEAF, ISSUER, at(DEC_2026), P0);
    assert_eq!(f.status, Some("good"), "{f:?}");
    assert!(f.valid);
    assert!(
        f.signer
            .as_deref()
            .is_some_and(|s| s.contains("Fuzz Responder") && s.contains("delegated"))
    );
    assert!(f.findings.is_empty() && f.problems.is_empty(), "{f:?}");
    assert!(f.next_update.is_some_and(|n| n > JAN_2030 as i64));
    let f = judge(BY_ISSUER, LEAF, ISSUER, at(DEC_2026), P0);
    assert!(
        f.signer
            .as_deref()
            .is_some_and(|s| s.contains("the issuer")),
        "{f:?}"
    );
    // No nextUpdate: cannot be aged, a warning only.
    assert_eq!(reasons(&f), vec![(Reason::OcspStale, Level::Warn)]);
    assert_eq!(f.problems, vec![OcspProblem::NoNextUpdate]);
    assert_eq!(
        f.findings[0].subject,
        Some(Subject::Certificate { position: 0 })
    );
    assert_eq!(f.status_code(), Some(STATUS_GOOD));
}

#[test]
fn revoked_and_then_stale() {
    let f = judge(REVOKED, LEAF, ISSUER, at(DEC_2026), P0);
    assert_eq!(reasons(&f), vec![(Reason::Revoked, Level::Fail)]);
    assert_eq!(f.revocation_reason.as_deref(), Some("superseded"));
    assert_eq!(f.status_code(), Some(STATUS_REVOKED));
    let revoked = OcspProblem::Revoked {
        serial: serial_of(LEAF),
        revoked_at: f.revoked_at.expect("revocationTime"),
        reason: Some("superseded".into()),
    };
    assert_eq!(f.problems, vec![revoked.clone()]);
    let f = judge(REVOKED, LEAF, ISSUER, at(JAN_2030), at_position(3));
    assert_eq!(
        reasons(&f),
        vec![
            (Reason::Revoked, Level::Fail),
            (Reason::OcspStale, Level::Fail)
        ]
    );
    let next_update = f.next_update.expect("nextUpdate");
    assert_eq!(
        f.problems,
        vec![
            revoked,
            OcspProblem::Expired {
                next_update,
                seconds_ago: JAN_2030 - next_update as u64
            }
        ]
    );
    assert!(
        f.findings
            .iter()
            .all(|x| x.subject == Some(Subject::Certificate { position: 3 }))
    );
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
    let judged = |produced| judge(&produced_at(produced), LEAF, ISSUER, at(DEC_2026), P0);
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
        f.problems[1],
        OcspProblem::InTheFuture {
            produced_at: Some((DEC_2026 + 86_400) as i64),
            this_update: None
        }
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
    let made = judge(BY_ISSUER, LEAF, ISSUER, at(DEC_2026), P0)
        .produced_at
        .expect("producedAt");
    let f = judge(BY_ISSUER, LEAF, ISSUER, at(made as u64 - 3600), P0);
    assert_eq!(
        reasons(&f),
        vec![
            (Reason::OcspStale, Level::Fail),
            (Reason::OcspStale, Level::Warn)
        ],
        "{f:?}"
    );
    assert_eq!(
        f.problems,
        vec![
            OcspProblem::InTheFuture {
                produced_at: Some(made),
                this_update: Some(made)
            },
            OcspProblem::NoNextUpdate
        ],
        "{f:?}"
    );
}

#[test]
fn wrong_certificate_or_not_ocsp_is_invalid() {
    // The issuer asked about itself: the response has no answer for it.
    let f = judge(GOOD, ISSUER, ISSUER, at(DEC_2026), at_position(1));
    assert_eq!(reasons(&f), vec![(Reason::OcspInvalid, Level::Fail)]);
    let (_, issuer) = X509Certificate::from_der(ISSUER).expect("issuer");
    assert_eq!(
        f.problems,
        vec![OcspProblem::NoAnswer {
            serial: serial_of(ISSUER),
            issuer: render_name(issuer.subject()),
            answers: 1
        }]
    );
    assert_eq!(
        f.findings[0].subject,
        Some(Subject::Certificate { position: 1 })
    );
    assert!(!f.valid && f.status.is_none());
    let f = judge(
        b"<html><body>login</body></html>",
        LEAF,
        ISSUER,
        at(DEC_2026),
        P0,
    );
    assert!(
        matches!(
            &f.problems[..],
            [OcspProblem::NotOcsp { served: Served::Markup { head }, .. }]
                if head == "<html><body>login</body></html>"
        ),
        "{f:?}"
    );
    let f = judge(
        &[0x30, 0x03, 0x0a, 0x01, 0x03],
        LEAF,
        ISSUER,
        at(DEC_2026),
        P0,
    );
    assert_eq!(
        f.problems,
        vec![OcspProblem::Unsuccessful {
            status: ResponderStatus::TryLater
        }]
    );
    for cut in [0, 1, 10, 100, GOOD.len() - 1] {
        let f = judge(&GOOD[..cut], LEAF, ISSUER, at(DEC_2026), P0);
        assert_eq!(
            reasons(&f),
            vec![(Reason::OcspInvalid, Level::Fail)],
            "cut {cut}"
        );
        assert_eq!(f.problems.len(), 1, "cut {cut}: {f:?}");
    }
    let f = judge(b"", LEAF, ISSUER, at(DEC_2026), P0);
    assert!(
        matches!(
            &f.problems[..],
            [OcspProblem::NotOcsp {
                served: Served::Empty,
                ..
            }]
        ),
        "{f:?}"
    );
    // Certificates that do not parse: which one, and nothing judged.
    for (cert, issuer, which) in [
        (&b"junk"[..], ISSUER, Which::Certificate),
        (LEAF, &b"junk"[..], Which::Issuer),
    ] {
        let f = judge(GOOD, cert, issuer, at(DEC_2026), P0);
        assert!(
            matches!(
                &f.problems[..],
                [OcspProblem::CertificateUnparsable { which: w, .. }] if *w == which
            ),
            "{f:?}"
        );
        assert_eq!(reasons(&f), vec![(Reason::OcspInvalid, Level::Fail)]);
    }
}

/// The sentences a user reads, each problem once: `Display` after the
/// certificate's label, and a staple's prefix.
#[test]
fn each_problem_renders_its_sentence() {
    let named = Asked {
        position: 0,
        name: Some("good.lab.test"),
    };
    let e = || "E".to_string();
    let r = || "CN=R".to_string();
    let cases = [
        (
            OcspProblem::CertificateUnparsable {
                which: Which::Issuer,
                error: e(),
            },
            P0,
            "OCSP for position 0: certificate does not parse: E",
        ),
        (
            OcspProblem::NotOcsp {
                error: e(),
                served: Served::Empty,
            },
            P0,
            "OCSP for position 0: not an OCSP response (E); got an empty body",
        ),
        (
            OcspProblem::NotOcsp {
                error: e(),
                served: Served::of(b"\n <html>\n"),
            },
            P0,
            "OCSP for position 0: not an OCSP response (E); got markup starting \"<html>\"",
        ),
        (
            OcspProblem::NotOcsp {
                error: e(),
                served: Served::of(b"ab\x01c"),
            },
            P0,
            "OCSP for position 0: not an OCSP response (E); got 4 bytes starting \"ab c\"",
        ),
        (
            OcspProblem::Unsuccessful {
                status: ResponderStatus::TryLater,
            },
            P0,
            "OCSP for position 0: the responder answered tryLater",
        ),
        (
            OcspProblem::NoResponseBytes,
            P0,
            "OCSP for position 0: successful, but no response",
        ),
        (
            OcspProblem::NotBasic {
                response_type: "1.2.3".into(),
            },
            P0,
            "OCSP for position 0: response type 1.2.3 is not id-pkix-ocsp-basic",
        ),
        (
            OcspProblem::BadBasic { error: e() },
            P0,
            "OCSP for position 0: BasicOCSPResponse: E",
        ),
        (
            OcspProblem::NoAnswer {
                serial: "1a2b".into(),
                issuer: "CN=OCSP Lab CA, O=OCSP Lab".into(),
                answers: 1,
            },
            named,
            "OCSP for position 0 (good.lab.test): the response has no answer for serial 1a2b of \
             CN=OCSP Lab CA, O=OCSP Lab (1 answers)",
        ),
        (
            OcspProblem::UnauthorizedSigner {
                tried: vec![
                    SignerRejected::IssuerKey { error: e() },
                    SignerRejected::ResponderUnparsable { index: 1 },
                    SignerRejected::NotIssuedByIssuer { responder: r() },
                    SignerRejected::NoOcspSigning { responder: r() },
                    SignerRejected::ResponderNotValidNow {
                        responder: r(),
                        not_after: DEC_2026 as i64,
                    },
                    SignerRejected::ResponderKey {
                        responder: r(),
                        error: e(),
                    },
                ],
            },
            P0,
            "OCSP for position 0: signed neither by the issuer nor by a responder it delegated: \
             the issuer's key: E; responder certificate 1 does not parse; \
             CN=R: not issued by the certificate's issuer; \
             CN=R: no id-kp-OCSPSigning extended key usage; \
             CN=R: responder certificate not valid now (notAfter 2026-12-10T00:00:00Z); CN=R: E",
        ),
        (
            OcspProblem::Revoked {
                serial: "1a2b".into(),
                revoked_at: DEC_2026 as i64,
                reason: Some("keyCompromise".into()),
            },
            named,
            "position 0 (good.lab.test) (serial 1a2b) is revoked since 2026-12-10T00:00:00Z, \
             reason keyCompromise (OCSP)",
        ),
        (
            OcspProblem::Revoked {
                serial: "1a2b".into(),
                revoked_at: DEC_2026 as i64,
                reason: None,
            },
            P0,
            "position 0 (serial 1a2b) is revoked since 2026-12-10T00:00:00Z (OCSP)",
        ),
        (
            OcspProblem::Unknown {
                serial: "1a2b".into(),
            },
            named,
            "OCSP for position 0 (good.lab.test): the responder does not know serial 1a2b",
        ),
        (
            OcspProblem::InTheFuture {
                produced_at: Some((DEC_2026 + 86_400) as i64),
                this_update: None,
            },
            P0,
            "OCSP for position 0: producedAt 2026-12-11T00:00:00Z is in the future \
             (clock skew or a bad responder)",
        ),
        (
            OcspProblem::InTheFuture {
                produced_at: Some(1_796_170_106),
                this_update: Some(1_796_170_106),
            },
            P0,
            "OCSP for position 0: producedAt 2026-12-02T00:08:26Z and thisUpdate \
             2026-12-02T00:08:26Z are in the future (clock skew or a bad responder)",
        ),
        (
            OcspProblem::Expired {
                next_update: DEC_2026 as i64,
                seconds_ago: 3 * 86_400 + 3600,
            },
            named,
            "OCSP for position 0 (good.lab.test): expired, nextUpdate 2026-12-10T00:00:00Z \
             passed 3days 1h ago",
        ),
        (
            OcspProblem::NoNextUpdate,
            P0,
            "OCSP for position 0: no nextUpdate, the response cannot be aged",
        ),
    ];
    for (problem, about, sentence) in cases {
        assert_eq!(problem.sentence(about), sentence, "{problem:?}");
    }
    // A staple's findings say so first.
    let f = judge(BY_ISSUER, LEAF, ISSUER, at(DEC_2026), P0);
    assert_eq!(
        staple_findings(StapleMode::Warn, Some(&f))[0].detail,
        "staple: OCSP for position 0: no nextUpdate, the response cannot be aged"
    );
}

/// What scripts read in `/api/v1/flows`: the problem's name and its facts.
#[test]
fn problems_serialize_as_tagged_facts() {
    let json = |p: &OcspProblem| serde_json::to_value(p).expect("json");
    assert_eq!(
        json(&OcspProblem::Unsuccessful {
            status: ResponderStatus::TryLater
        }),
        serde_json::json!({"problem": "unsuccessful", "status": "tryLater"})
    );
    assert_eq!(
        json(&OcspProblem::NotOcsp {
            error: "E".into(),
            served: Served::of(b"<html>")
        }),
        serde_json::json!({
            "problem": "not_ocsp",
            "error": "E",
            "served": {"looks_like": "markup", "head": "<html>"}
        })
    );
    assert_eq!(
        json(&OcspProblem::UnauthorizedSigner {
            tried: vec![SignerRejected::NoOcspSigning {
                responder: "CN=R".into()
            }]
        }),
        serde_json::json!({
            "problem": "unauthorized_signer",
            "tried": [{"why": "no_ocsp_signing", "responder": "CN=R"}]
        })
    );
    assert_eq!(
        json(&OcspProblem::NoNextUpdate),
        serde_json::json!({"problem": "no_next_update"})
    );
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
}
