//! The closed set of probe outcomes and the findings that lead to them.
//!
//! Every probe ends in exactly one [`Reason`]. Reasons are label values on
//! `flowprobe_flow_reason`, so the set is closed: adding one is an API change
//! that the README's reason table, the alert rules and the dashboard follow.

use serde::Serialize;
use std::fmt;

/// Why a probe ended the way it did. `Ok` is the only success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Ok,
    DnsNxdomain,
    DnsTimeout,
    DnsError,
    Refused,
    Filtered,
    Unreachable,
    Reset,
    Timeout,
    TlsHandshake,
    TlsVersion,
    TlsIntercepted,
    ChainIncomplete,
    ChainUntrusted,
    ChainOrder,
    ChainInvalid,
    ChainExtra,
    CertRequired,
    CertExpired,
    CertNotYetValid,
    CertExpiring,
    NameMismatch,
    WeakKey,
    WeakSignature,
    SshBanner,
    SshWeakAlgorithms,
    SshHostKey,
    SshSoftware,
    HttpStatus,
    HttpRedirects,
    HttpContent,
    BodyTooLarge,
    CrlStale,
    CrlInvalid,
    CrlMissing,
    Revoked,
    ProtocolError,
    Internal,
    Resource,
    OcspInvalid,
    OcspStale,
    OcspUnknown,
    OcspMissing,
}

impl Reason {
    /// Every reason, in label order; used to pre-create the state-set series.
    pub const ALL: [Reason; 43] = [
        Reason::Ok,
        Reason::DnsNxdomain,
        Reason::DnsTimeout,
        Reason::DnsError,
        Reason::Refused,
        Reason::Filtered,
        Reason::Unreachable,
        Reason::Reset,
        Reason::Timeout,
        Reason::TlsHandshake,
        Reason::TlsVersion,
        Reason::TlsIntercepted,
        Reason::ChainIncomplete,
        Reason::ChainUntrusted,
        Reason::ChainOrder,
        Reason::ChainInvalid,
        Reason::ChainExtra,
        Reason::CertRequired,
        Reason::CertExpired,
        Reason::CertNotYetValid,
        Reason::CertExpiring,
        Reason::NameMismatch,
        Reason::WeakKey,
        Reason::WeakSignature,
        Reason::SshBanner,
        Reason::SshWeakAlgorithms,
        Reason::SshHostKey,
        Reason::SshSoftware,
        Reason::HttpStatus,
        Reason::HttpRedirects,
        Reason::HttpContent,
        Reason::BodyTooLarge,
        Reason::CrlStale,
        Reason::CrlInvalid,
        Reason::CrlMissing,
        Reason::Revoked,
        Reason::ProtocolError,
        Reason::Internal,
        Reason::Resource,
        Reason::OcspInvalid,
        Reason::OcspStale,
        Reason::OcspUnknown,
        Reason::OcspMissing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::DnsNxdomain => "dns_nxdomain",
            Reason::DnsTimeout => "dns_timeout",
            Reason::DnsError => "dns_error",
            Reason::Refused => "refused",
            Reason::Filtered => "filtered",
            Reason::Unreachable => "unreachable",
            Reason::Reset => "reset",
            Reason::Timeout => "timeout",
            Reason::TlsHandshake => "tls_handshake",
            Reason::TlsVersion => "tls_version",
            Reason::TlsIntercepted => "tls_intercepted",
            Reason::ChainIncomplete => "chain_incomplete",
            Reason::ChainUntrusted => "chain_untrusted",
            Reason::ChainOrder => "chain_order",
            Reason::ChainInvalid => "chain_invalid",
            Reason::ChainExtra => "chain_extra",
            Reason::CertRequired => "cert_required",
            Reason::CertExpired => "cert_expired",
            Reason::CertNotYetValid => "cert_not_yet_valid",
            Reason::CertExpiring => "cert_expiring",
            Reason::NameMismatch => "name_mismatch",
            Reason::WeakKey => "weak_key",
            Reason::WeakSignature => "weak_signature",
            Reason::SshBanner => "ssh_banner",
            Reason::SshWeakAlgorithms => "ssh_weak_algorithms",
            Reason::SshHostKey => "ssh_host_key",
            Reason::SshSoftware => "ssh_software",
            Reason::HttpStatus => "http_status",
            Reason::HttpRedirects => "http_redirects",
            Reason::HttpContent => "http_content",
            Reason::BodyTooLarge => "body_too_large",
            Reason::CrlStale => "crl_stale",
            Reason::CrlInvalid => "crl_invalid",
            Reason::CrlMissing => "crl_missing",
            Reason::Revoked => "revoked",
            Reason::ProtocolError => "protocol_error",
            Reason::Internal => "internal",
            Reason::Resource => "resource",
            Reason::OcspInvalid => "ocsp_invalid",
            Reason::OcspStale => "ocsp_stale",
            Reason::OcspUnknown => "ocsp_unknown",
            Reason::OcspMissing => "ocsp_missing",
        }
    }

    /// Outcomes that prove a connection could not be made: these satisfy
    /// `expect = "closed"`.
    pub fn is_blocked(self) -> bool {
        matches!(
            self,
            Reason::Refused | Reason::Filtered | Reason::Unreachable
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a failed assertion does to the flow: fail it, only warn, or skip the
/// assertion entirely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Fail,
    Warn,
    Off,
}

/// Severity of a finding that was raised (an `Off` assertion raises none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Fail,
    Warn,
    Info,
}

/// One judged fact about a probe: a reason, how much it matters and the
/// facts behind it, printed for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub reason: Reason,
    pub level: Level,
    pub detail: String,
}

impl Finding {
    pub fn new(reason: Reason, level: Level, detail: impl Into<String>) -> Self {
        Finding {
            reason,
            level,
            detail: detail.into(),
        }
    }

    /// A finding for an assertion configured with `action`; `None` when off.
    pub fn for_action(action: Action, reason: Reason, detail: impl Into<String>) -> Option<Self> {
        let level = match action {
            Action::Fail => Level::Fail,
            Action::Warn => Level::Warn,
            Action::Off => return None,
        };
        Some(Finding::new(reason, level, detail))
    }
}

/// `": reason"` for the end of a probe's detail line; nothing when ok.
pub fn reason_suffix(reason: Reason) -> String {
    if reason == Reason::Ok {
        String::new()
    } else {
        format!(": {reason}")
    }
}

/// The reason a list of findings leads to: the first failing finding, or ok.
pub fn verdict(findings: &[Finding]) -> Reason {
    findings
        .iter()
        .find(|f| f.level == Level::Fail)
        .map_or(Reason::Ok, |f| f.reason)
}
