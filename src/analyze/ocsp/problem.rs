//! What is wrong with one OCSP response, as facts: the judgement records
//! one [`OcspProblem`] per finding, and the finding's sentence is rendered
//! from it ([`OcspProblem::sentence`]). Code and tests match these, never
//! the wording of a `detail`.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::outcome::{Level, Reason};
use crate::text::{named_enum, rfc3339};

/// The certificate a judgement is about. Its position is the findings'
/// subject; the sentences name it `position 0`, or `position 0
/// (mdm.lab.test)` when the caller knows its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked<'a> {
    /// Chain position (0 = leaf).
    pub position: usize,
    /// Shown after the position, in parentheses, when known.
    pub name: Option<&'a str>,
}

impl fmt::Display for Asked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "position {}", self.position)?;
        match self.name {
            Some(name) => write!(f, " ({name})"),
            None => Ok(()),
        }
    }
}

named_enum! {
/// Which of the two certificates handed to the judgement does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Certificate = "certificate",
    Issuer = "issuer",
}
}

named_enum! {
/// A responder's refusal (RFC 6960 4.2.1's OCSPResponseStatus other than
/// `successful`), spelled as the RFC does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponderStatus {
    MalformedRequest = "malformedRequest",
    InternalError = "internalError",
    TryLater = "tryLater",
    SigRequired = "sigRequired",
    Unauthorized = "unauthorized",
}
}

/// What was served where an OCSP response was expected: an operator
/// tells a login page from a truncated response by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "looks_like", rename_all = "snake_case")]
pub enum Served {
    Empty,
    /// Text starting with `<` (HTML, XML): `head` is its first 40 bytes,
    /// control characters blanked, trimmed.
    Markup {
        head: String,
    },
    /// Anything else: its length and its first 40 bytes as above.
    Other {
        length: usize,
        head: String,
    },
}

impl Served {
    pub(crate) fn of(bytes: &[u8]) -> Self {
        let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if bytes.is_empty() {
            Served::Empty
        } else if head.trim_start().starts_with('<') {
            Served::Markup {
                head: head.trim().to_owned(),
            }
        } else {
            Served::Other {
                length: bytes.len(),
                head: head.trim().to_owned(),
            }
        }
    }
}

impl fmt::Display for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Served::Empty => f.write_str("an empty body"),
            Served::Markup { head } => write!(f, "markup starting {head:?}"),
            Served::Other { length, head } => write!(f, "{length} bytes starting {head:?}"),
        }
    }
}

/// One possible signer of a response and why it did not count (RFC 6960
/// 4.2.2.2: the issuer, or a responder certificate it issued for OCSP
/// signing, valid now). `responder` is the responder certificate's
/// subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum SignerRejected {
    /// The issuer's key does not verify the signature.
    #[error("the issuer's key: {error}")]
    IssuerKey { error: String },
    /// Certificate `index` of the response's `certs` is not X.509.
    #[error("responder certificate {index} does not parse")]
    ResponderUnparsable { index: usize },
    #[error("{responder}: not issued by the certificate's issuer")]
    NotIssuedByIssuer { responder: String },
    #[error("{responder}: no id-kp-OCSPSigning extended key usage")]
    NoOcspSigning { responder: String },
    /// Outside its validity at the moment judged.
    #[error(
        "{responder}: responder certificate not valid now (notAfter {})",
        rfc3339(*.not_after)
    )]
    ResponderNotValidNow { responder: String, not_after: i64 },
    /// An authorised responder whose key does not verify the signature.
    #[error("{responder}: {error}")]
    ResponderKey { responder: String, error: String },
}

/// Why a response about one certificate cannot be believed, or what it
/// says that is wrong. One per finding of the judgement, in its order.
/// `Display` is the sentence after the certificate's label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum OcspProblem {
    /// The certificate asked about, or its issuer, is not X.509 DER:
    /// nothing can be judged.
    #[error("certificate does not parse: {error}")]
    CertificateUnparsable { which: Which, error: String },
    /// The body is not DER of an OCSPResponse.
    #[error("not an OCSP response ({error}); got {served}")]
    NotOcsp { error: String, served: Served },
    /// The responder refused to answer.
    #[error("the responder answered {status}")]
    Unsuccessful { status: ResponderStatus },
    /// Status `successful` without responseBytes.
    #[error("successful, but no response")]
    NoResponseBytes,
    /// responseBytes of a type other than id-pkix-ocsp-basic (its OID).
    #[error("response type {response_type} is not id-pkix-ocsp-basic")]
    NotBasic { response_type: String },
    /// The BasicOCSPResponse inside does not decode.
    #[error("BasicOCSPResponse: {error}")]
    BadBasic { error: String },
    /// No SingleResponse has this serial under this issuer's name and key
    /// hashes: the answer is about some other certificate. `serial` in
    /// hex, `issuer` the issuer's subject, `answers` how many there were.
    #[error("the response has no answer for serial {serial} of {issuer} ({answers} answers)")]
    NoAnswer {
        serial: String,
        issuer: String,
        answers: usize,
    },
    /// Nobody entitled to sign verified the signature; every signer tried.
    #[error(
        "signed neither by the issuer nor by a responder it delegated: {}",
        joined(.tried)
    )]
    UnauthorizedSigner { tried: Vec<SignerRejected> },
    /// Status `revoked` (`serial` in hex, since `revoked_at`, Unix
    /// seconds; `reason` as RFC 5280 5.3.1 spells it).
    #[error(
        "(serial {serial}) is revoked since {}{} (OCSP)",
        rfc3339(*.revoked_at),
        reason_suffix(.reason)
    )]
    Revoked {
        serial: String,
        revoked_at: i64,
        reason: Option<String>,
    },
    /// Status `unknown`.
    #[error("the responder does not know serial {serial}")]
    Unknown { serial: String },
    /// Dates more than 5 minutes after the moment judged (Unix seconds;
    /// `None` for a date that is not): issued in the future.
    #[error(
        "{} in the future (clock skew or a bad responder)",
        future(*.produced_at, *.this_update)
    )]
    InTheFuture {
        produced_at: Option<i64>,
        this_update: Option<i64>,
    },
    /// `nextUpdate` is past, by `seconds_ago`.
    #[error(
        "expired, nextUpdate {} passed {} ago",
        rfc3339(*.next_update),
        humantime::format_duration(Duration::from_secs(*.seconds_ago))
    )]
    Expired { next_update: i64, seconds_ago: u64 },
    /// No `nextUpdate` (RFC 6960 4.2.2.1: newer information is always
    /// available): a cached response cannot be aged.
    #[error("no nextUpdate, the response cannot be aged")]
    NoNextUpdate,
}

fn joined(tried: &[SignerRejected]) -> String {
    tried
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map_or(String::new(), |r| format!(", reason {r}"))
}

fn future(produced_at: Option<i64>, this_update: Option<i64>) -> String {
    let dates: Vec<String> = [("producedAt", produced_at), ("thisUpdate", this_update)]
        .into_iter()
        .filter_map(|(name, t)| t.map(|t| format!("{name} {}", rfc3339(t))))
        .collect();
    format!(
        "{} {}",
        dates.join(" and "),
        if dates.len() == 1 { "is" } else { "are" }
    )
}

impl OcspProblem {
    pub fn reason(&self) -> Reason {
        match self {
            OcspProblem::Revoked { .. } => Reason::Revoked,
            OcspProblem::Unknown { .. } => Reason::OcspUnknown,
            OcspProblem::InTheFuture { .. }
            | OcspProblem::Expired { .. }
            | OcspProblem::NoNextUpdate => Reason::OcspStale,
            OcspProblem::CertificateUnparsable { .. }
            | OcspProblem::NotOcsp { .. }
            | OcspProblem::Unsuccessful { .. }
            | OcspProblem::NoResponseBytes
            | OcspProblem::NotBasic { .. }
            | OcspProblem::BadBasic { .. }
            | OcspProblem::NoAnswer { .. }
            | OcspProblem::UnauthorizedSigner { .. } => Reason::OcspInvalid,
        }
    }

    /// How much it matters when the response is (or is not) `valid`: a
    /// status from an unverified response is reported, not believed; a
    /// response that cannot be aged may still be fresh.
    pub(crate) fn level(&self, valid: bool) -> Level {
        match self {
            OcspProblem::Revoked { .. } | OcspProblem::Unknown { .. } if !valid => Level::Warn,
            OcspProblem::NoNextUpdate => Level::Warn,
            OcspProblem::Revoked { .. }
            | OcspProblem::Unknown { .. }
            | OcspProblem::CertificateUnparsable { .. }
            | OcspProblem::NotOcsp { .. }
            | OcspProblem::Unsuccessful { .. }
            | OcspProblem::NoResponseBytes
            | OcspProblem::NotBasic { .. }
            | OcspProblem::BadBasic { .. }
            | OcspProblem::NoAnswer { .. }
            | OcspProblem::UnauthorizedSigner { .. }
            | OcspProblem::InTheFuture { .. }
            | OcspProblem::Expired { .. } => Level::Fail,
        }
    }

    /// The finding's sentence about the certificate `about`.
    pub(crate) fn sentence(&self, about: Asked<'_>) -> String {
        match self {
            OcspProblem::Revoked { .. } => format!("{about} {self}"),
            OcspProblem::CertificateUnparsable { .. }
            | OcspProblem::NotOcsp { .. }
            | OcspProblem::Unsuccessful { .. }
            | OcspProblem::NoResponseBytes
            | OcspProblem::NotBasic { .. }
            | OcspProblem::BadBasic { .. }
            | OcspProblem::NoAnswer { .. }
            | OcspProblem::UnauthorizedSigner { .. }
            | OcspProblem::Unknown { .. }
            | OcspProblem::InTheFuture { .. }
            | OcspProblem::Expired { .. }
            | OcspProblem::NoNextUpdate => format!("OCSP for {about}: {self}"),
        }
    }
}
