//! OCSP judgement (RFC 6960): build the request for one certificate and
//! judge a response to it - stapled in a TLS handshake or fetched from a
//! responder. Pure: DER and certificates in, facts and findings out.
//!
//! DER comes and goes through RustCrypto's `x509-ocsp` (no hand-written
//! ASN.1); signatures are verified with x509-parser's ring-backed
//! verifier, the crypto the chain analysis already uses. A response counts
//! only when it is signed by the certificate's issuer or by a responder
//! certificate the issuer delegated (RFC 6960 4.2.2.2: issued by it, with
//! id-kp-OCSPSigning), covers this serial, and is fresh.

use crate::text::{named_enum, unix_secs};
use std::time::SystemTime;

use der_ocsp::asn1::AnyRef;
use der_ocsp::oid::ObjectIdentifier;
use der_ocsp::{Decode, Encode, Reader, SliceReader};
use serde::Serialize;
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, ResponseData, SingleResponse,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::analyze::chain::render_name;
use crate::analyze::x509::strip_zeros;
use crate::outcome::{Finding, Level, Reason, Subject};

mod problem;
mod request;
pub use problem::{Asked, OcspProblem, ResponderStatus, Served, SignerRejected, Which};
use request::digest;
pub use request::{cert_id, find_issuer, request, responder_urls};

const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Values of `flowprobe_ocsp_status`: RFC 6960's CertStatus choice numbers.
pub(crate) const STATUS_GOOD: u8 = 0;
pub(crate) const STATUS_REVOKED: u8 = 1;
pub(crate) const STATUS_UNKNOWN: u8 = 2;

named_enum! {
/// What a flow does with the OCSP response its server staples
/// (`tls.ocsp_staple`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StapleMode {
    /// Not judged.
    Off = "off",
    /// Revoked or invalid staples fail; a stale or unknown one warns; none
    /// at all is noted (info).
    #[default]
    Warn = "warn",
    /// Every problem fails, a missing staple included (`ocsp_missing`).
    Require = "require",
}
}

/// What one OCSP response says about one certificate and how it was judged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OcspJudgement {
    /// `good`, `revoked` or `unknown`; `None` when no answer for this
    /// certificate could be read.
    pub status: Option<&'static str>,
    pub revoked_at: Option<i64>,
    pub revocation_reason: Option<String>,
    pub produced_at: Option<i64>,
    pub this_update: Option<i64>,
    pub next_update: Option<i64>,
    /// The certificate whose key verified the response.
    pub signer: Option<String>,
    /// Signed by the issuer or a delegated responder, and about this
    /// certificate: the status can be believed.
    pub valid: bool,
    /// Most important first.
    pub findings: Vec<Finding>,
    /// What each finding says, as facts: `problems[i]` made
    /// `findings[i]`, so code and scripts match the problem, never the
    /// sentence.
    pub problems: Vec<OcspProblem>,
}

impl OcspJudgement {
    /// The `flowprobe_ocsp_status` value, when a status was read.
    pub(crate) fn status_code(&self) -> Option<u8> {
        Some(match self.status? {
            "good" => STATUS_GOOD,
            "revoked" => STATUS_REVOKED,
            _ => STATUS_UNKNOWN,
        })
    }
}

fn parse(der: &[u8], which: Which) -> Result<X509Certificate<'_>, OcspProblem> {
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|e| OcspProblem::CertificateUnparsable {
            which,
            error: e.to_string(),
        })
}

/// The refusal a response status is; `None` for `successful`.
fn refusal(s: OcspResponseStatus) -> Option<ResponderStatus> {
    match s {
        OcspResponseStatus::Successful => None,
        OcspResponseStatus::MalformedRequest => Some(ResponderStatus::MalformedRequest),
        OcspResponseStatus::InternalError => Some(ResponderStatus::InternalError),
        OcspResponseStatus::TryLater => Some(ResponderStatus::TryLater),
        OcspResponseStatus::SigRequired => Some(ResponderStatus::SigRequired),
        OcspResponseStatus::Unauthorized => Some(ResponderStatus::Unauthorized),
    }
}

/// The exact bytes of `tbsResponseData`, which the signature covers.
fn raw_tbs(basic: &[u8]) -> Result<Vec<u8>, der_ocsp::Error> {
    let mut r = SliceReader::new(basic)?;
    r.sequence(|s| {
        let tbs: AnyRef<'_> = s.decode()?;
        let rest = s.remaining_len();
        s.read_slice(rest)?;
        tbs.to_der()
    })
}

/// Verify `basic`'s signature with `key`.
fn verifies(
    basic: &BasicOcspResponse,
    tbs: &[u8],
    key: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> Result<(), String> {
    let alg = basic
        .signature_algorithm
        .to_der()
        .map_err(|e| e.to_string())?;
    let (_, alg) = x509_parser::x509::AlgorithmIdentifier::from_der(&alg)
        .map_err(|e| format!("signature algorithm: {e}"))?;
    let sig = basic.signature.to_der().map_err(|e| e.to_string())?;
    let (_, sig) =
        x509_parser::asn1_rs::BitString::from_der(&sig).map_err(|e| format!("signature: {e}"))?;
    x509_parser::verify::verify_signature(key, &alg, &sig, tbs).map_err(|e| e.to_string())
}

/// Who signed the response: the issuer itself, or a responder certificate
/// from the response that the issuer issued for OCSP signing and that is
/// valid now. `Err` lists what was tried.
fn signer(
    basic: &BasicOcspResponse,
    tbs: &[u8],
    issuer: &X509Certificate<'_>,
    now: i64,
) -> Result<String, Vec<SignerRejected>> {
    let mut tried = Vec::new();
    match verifies(basic, tbs, issuer.public_key()) {
        Ok(()) => return Ok(format!("{} (the issuer)", render_name(issuer.subject()))),
        Err(error) => tried.push(SignerRejected::IssuerKey { error }),
    }
    for (index, c) in basic.certs.iter().flatten().enumerate() {
        let Ok(der) = c.to_der() else { continue };
        let Ok((_, rc)) = X509Certificate::from_der(&der) else {
            tried.push(SignerRejected::ResponderUnparsable { index });
            continue;
        };
        let responder = render_name(rc.subject());
        if rc.issuer().as_raw() != issuer.subject().as_raw()
            || rc.verify_signature(Some(issuer.public_key())).is_err()
        {
            tried.push(SignerRejected::NotIssuedByIssuer { responder });
            continue;
        }
        let ocsp_signing = rc
            .extended_key_usage()
            .ok()
            .flatten()
            .is_some_and(|e| e.value.ocsp_signing);
        if !ocsp_signing {
            tried.push(SignerRejected::NoOcspSigning { responder });
            continue;
        }
        let v = rc.validity();
        if now < v.not_before.timestamp() || now >= v.not_after.timestamp() {
            tried.push(SignerRejected::ResponderNotValidNow {
                responder,
                not_after: v.not_after.timestamp(),
            });
            continue;
        }
        match verifies(basic, tbs, rc.public_key()) {
            Ok(()) => return Ok(format!("{responder} (delegated responder)")),
            Err(error) => tried.push(SignerRejected::ResponderKey { responder, error }),
        }
    }
    Err(tried)
}

/// Record `problem` about `about`: its finding (reason, level and
/// sentence made from it) and the problem itself, side by side.
fn record(facts: &mut OcspJudgement, about: Asked<'_>, problem: OcspProblem) {
    facts.findings.push(
        Finding::new(
            problem.reason(),
            problem.level(facts.valid),
            problem.sentence(about),
        )
        .about(Subject::Certificate {
            position: about.position,
        }),
    );
    facts.problems.push(problem);
}

/// Judge `response` as the answer about `cert` (issued by `issuer`) at
/// `now`. `about` is the certificate's position, the findings' subject,
/// and how their sentences name it. Findings: invalid, then revoked or
/// unknown, then stale; `problems` side by side with them.
pub fn judge(
    response: &[u8],
    cert: &[u8],
    issuer: &[u8],
    now: SystemTime,
    about: Asked<'_>,
) -> OcspJudgement {
    let mut facts = OcspJudgement::default();
    let now_s = unix_secs(now);
    let (c, i) = match (
        parse(cert, Which::Certificate),
        parse(issuer, Which::Issuer),
    ) {
        (Ok(c), Ok(i)) => (c, i),
        (Err(e), _) | (_, Err(e)) => return refused(facts, about, e),
    };
    let (basic, tbs) = match basic_response(response) {
        Ok(basic) => basic,
        Err(e) => return refused(facts, about, e),
    };
    let data = &basic.tbs_response_data;
    facts.produced_at = Some(data.produced_at.0.to_unix_duration().as_secs() as i64);
    let serial = strip_zeros(c.raw_serial());
    let Some(single) = answer_about(data, serial, &i) else {
        let problem = OcspProblem::NoAnswer {
            serial: hex::encode(serial),
            issuer: render_name(i.subject()),
            answers: data.responses.len(),
        };
        return refused(facts, about, problem);
    };
    record_signer(&mut facts, &basic, &tbs, &i, now_s, about);
    record_status(&mut facts, single, serial, about);
    record_freshness(&mut facts, single, now_s, about);
    // Findings and problems sorted together, so they stay side by side.
    let mut both: Vec<(Finding, OcspProblem)> = std::mem::take(&mut facts.findings)
        .into_iter()
        .zip(std::mem::take(&mut facts.problems))
        .collect();
    both.sort_by_key(|(f, _)| (f.level != Level::Fail, rank(f.reason)));
    (facts.findings, facts.problems) = both.into_iter().unzip();
    facts
}

/// `facts` closed with the one problem that makes the response unusable:
/// nothing after it can be judged.
fn refused(mut facts: OcspJudgement, about: Asked<'_>, problem: OcspProblem) -> OcspJudgement {
    record(&mut facts, about, problem);
    facts
}

/// The signed BasicOCSPResponse inside `response` and the exact bytes its
/// signature covers. `Err` says why there is none.
fn basic_response(response: &[u8]) -> Result<(BasicOcspResponse, Vec<u8>), OcspProblem> {
    let resp = OcspResponse::from_der(response).map_err(|e| OcspProblem::NotOcsp {
        error: e.to_string(),
        served: Served::of(response),
    })?;
    if let Some(status) = refusal(resp.response_status) {
        return Err(OcspProblem::Unsuccessful { status });
    }
    let Some(bytes) = resp.response_bytes else {
        return Err(OcspProblem::NoResponseBytes);
    };
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(OcspProblem::NotBasic {
            response_type: bytes.response_type.to_string(),
        });
    }
    let body = bytes.response.as_bytes();
    match (BasicOcspResponse::from_der(body), raw_tbs(body)) {
        (Ok(b), Ok(t)) => Ok((b, t)),
        (Err(e), _) | (_, Err(e)) => Err(OcspProblem::BadBasic {
            error: e.to_string(),
        }),
    }
}

/// The answer about this certificate: same serial, same issuer hashes
/// under the digest the response chose.
fn answer_about<'a>(
    data: &'a ResponseData,
    serial: &[u8],
    issuer: &X509Certificate<'_>,
) -> Option<&'a SingleResponse> {
    data.responses.iter().find(|s| {
        let id = &s.cert_id;
        let alg = &id.hash_algorithm.oid;
        strip_zeros(id.serial_number.as_bytes()) == serial
            && digest(alg, issuer.subject().as_raw()).as_deref()
                == Some(id.issuer_name_hash.as_bytes())
            && digest(alg, &issuer.public_key().subject_public_key.data).as_deref()
                == Some(id.issuer_key_hash.as_bytes())
    })
}

/// Who signed the response; the response is valid only when someone
/// entitled to did.
fn record_signer(
    facts: &mut OcspJudgement,
    basic: &BasicOcspResponse,
    tbs: &[u8],
    issuer: &X509Certificate<'_>,
    now_s: i64,
    about: Asked<'_>,
) {
    match signer(basic, tbs, issuer, now_s) {
        Ok(s) => facts.signer = Some(s),
        Err(tried) => record(facts, about, OcspProblem::UnauthorizedSigner { tried }),
    }
    facts.valid = facts.signer.is_some();
}

/// The certificate's status, and a problem when it is revoked or unknown
/// (a warning only when the response is not valid: reported, not
/// believed).
fn record_status(
    facts: &mut OcspJudgement,
    single: &SingleResponse,
    serial: &[u8],
    about: Asked<'_>,
) {
    match &single.cert_status {
        CertStatus::Good(_) => facts.status = Some("good"),
        CertStatus::Revoked(info) => {
            facts.status = Some("revoked");
            let at = info.revocation_time.0.to_unix_duration().as_secs() as i64;
            facts.revoked_at = Some(at);
            facts.revocation_reason = info.revocation_reason.map(|r| reason_name(r).to_string());
            let problem = OcspProblem::Revoked {
                serial: hex::encode(serial),
                revoked_at: at,
                reason: facts.revocation_reason.clone(),
            };
            record(facts, about, problem);
        }
        CertStatus::Unknown(_) => {
            facts.status = Some("unknown");
            let problem = OcspProblem::Unknown {
                serial: hex::encode(serial),
            };
            record(facts, about, problem);
        }
    }
}

/// Freshness: thisUpdate <= now < nextUpdate.
fn record_freshness(
    facts: &mut OcspJudgement,
    single: &SingleResponse,
    now_s: i64,
    about: Asked<'_>,
) {
    let this = single.this_update.0.to_unix_duration().as_secs() as i64;
    let next = single
        .next_update
        .map(|t| t.0.to_unix_duration().as_secs() as i64);
    facts.this_update = Some(this);
    facts.next_update = next;
    // Five minutes for clocks that disagree, as OpenSSL allows by default;
    // a response signed later than that has not been issued yet.
    let ahead = |t: Option<i64>| t.filter(|t| *t > now_s + 300);
    let (produced_at, this_update) = (ahead(facts.produced_at), ahead(Some(this)));
    if produced_at.is_some() || this_update.is_some() {
        let problem = OcspProblem::InTheFuture {
            produced_at,
            this_update,
        };
        record(facts, about, problem);
    }
    match next {
        Some(n) if now_s >= n => {
            let problem = OcspProblem::Expired {
                next_update: n,
                seconds_ago: now_s.abs_diff(n),
            };
            record(facts, about, problem);
        }
        Some(_) => {}
        // RFC 6960 4.2.2.1: no nextUpdate means newer information is
        // always available; a cached staple without one cannot be aged.
        None => record(facts, about, OcspProblem::NoNextUpdate),
    }
}

/// RFC 5280 5.3.1's name of a revocation reason.
fn reason_name(r: x509_cert::ext::pkix::crl::CrlReason) -> &'static str {
    use x509_cert::ext::pkix::crl::CrlReason as R;
    match r {
        R::Unspecified => "unspecified",
        R::KeyCompromise => "keyCompromise",
        R::CaCompromise => "cACompromise",
        R::AffiliationChanged => "affiliationChanged",
        R::Superseded => "superseded",
        R::CessationOfOperation => "cessationOfOperation",
        R::CertificateHold => "certificateHold",
        R::RemoveFromCRL => "removeFromCRL",
        R::PrivilegeWithdrawn => "privilegeWithdrawn",
        R::AaCompromise => "aACompromise",
    }
}

/// Rank of a failing reason among OCSP findings: a revoked certificate
/// matters most, then a response that cannot be believed, then the rest.
pub(crate) fn rank(reason: Reason) -> u8 {
    match reason {
        Reason::Revoked => 0,
        Reason::OcspInvalid => 1,
        Reason::OcspUnknown => 2,
        Reason::OcspStale => 3,
        _ => 4,
    }
}

/// A stapled response's findings under the flow's mode: `None` is no
/// staple. Revoked and invalid staples always fail (a client that checks
/// would refuse the handshake); under `warn`, stale and unknown ones warn.
pub(crate) fn staple_findings(mode: StapleMode, facts: Option<&OcspJudgement>) -> Vec<Finding> {
    match (mode, facts) {
        (StapleMode::Off, _) => Vec::new(),
        (StapleMode::Require, None) => vec![Finding::new(
            Reason::OcspMissing,
            Level::Fail,
            "the server stapled no OCSP response (tls.ocsp_staple = \"require\")",
        )],
        (StapleMode::Warn, None) => vec![Finding::new(
            Reason::OcspMissing,
            Level::Info,
            "the server stapled no OCSP response",
        )],
        (mode, Some(f)) => f
            .findings
            .iter()
            .map(|x| {
                let soften = mode == StapleMode::Warn
                    && matches!(x.reason, Reason::OcspStale | Reason::OcspUnknown);
                let mut x = x.clone();
                if soften && x.level == Level::Fail {
                    x.level = Level::Warn;
                }
                x.detail = format!("staple: {}", x.detail);
                x
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
