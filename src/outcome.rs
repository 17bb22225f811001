//! The closed set of probe outcomes and the findings that lead to them.
//!
//! Every probe ends in exactly one [`Reason`]. Reasons are label values on
//! `flowprobe_flow_reason`, so the set is closed: adding one is an API change
//! that the reason table of docs/reasons.md, the alert rules and the dashboard follow.

use serde::Serialize;

use crate::text::named_enum;

named_enum! {
/// Why a probe ended the way it did. `Ok` is the only success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    Ok = "ok",
    DnsNxdomain = "dns_nxdomain",
    DnsTimeout = "dns_timeout",
    DnsError = "dns_error",
    Refused = "refused",
    Filtered = "filtered",
    Unreachable = "unreachable",
    Reset = "reset",
    Timeout = "timeout",
    TlsHandshake = "tls_handshake",
    TlsVersion = "tls_version",
    TlsIntercepted = "tls_intercepted",
    ChainIncomplete = "chain_incomplete",
    ChainUntrusted = "chain_untrusted",
    ChainOrder = "chain_order",
    ChainInvalid = "chain_invalid",
    ChainExtra = "chain_extra",
    CertRequired = "cert_required",
    CertExpired = "cert_expired",
    CertNotYetValid = "cert_not_yet_valid",
    CertExpiring = "cert_expiring",
    NameMismatch = "name_mismatch",
    WeakKey = "weak_key",
    WeakSignature = "weak_signature",
    SshBanner = "ssh_banner",
    SshWeakAlgorithms = "ssh_weak_algorithms",
    SshHostKey = "ssh_host_key",
    SshSoftware = "ssh_software",
    HttpStatus = "http_status",
    HttpRedirects = "http_redirects",
    HttpContent = "http_content",
    BodyTooLarge = "body_too_large",
    CrlStale = "crl_stale",
    CrlInvalid = "crl_invalid",
    CrlMissing = "crl_missing",
    Revoked = "revoked",
    ProtocolError = "protocol_error",
    Internal = "internal",
    Resource = "resource",
    KeyMismatch = "key_mismatch",
    ProfileSetting = "profile_setting",
    ProfileSignature = "profile_signature",
    TlsWeakProtocol = "tls_weak_protocol",
    OcspInvalid = "ocsp_invalid",
    OcspStale = "ocsp_stale",
    OcspUnknown = "ocsp_unknown",
    OcspMissing = "ocsp_missing",
    /// The verified path breaks NIST SP 800-52r2 3.2's certificate profile.
    CertProfile = "cert_profile",
}
}

impl Reason {
    /// Outcomes that prove a connection could not be made: these satisfy
    /// `expect = "closed"`.
    pub(crate) fn is_blocked(self) -> bool {
        matches!(
            self,
            Reason::Refused | Reason::Filtered | Reason::Unreachable
        )
    }
}

named_enum! {
/// What a failed assertion does to the flow: fail it, only warn, or skip the
/// assertion entirely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Fail = "fail",
    Warn = "warn",
    Off = "off",
}
}

named_enum! {
/// Severity of a finding that was raised (an `Off` assertion raises none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Fail = "fail",
    Warn = "warn",
    Info = "info",
}
}

/// One judged fact about a probe: a reason, how much it matters, what it
/// is about (typed, for code and for `/api/v1/flows`), and the facts behind
/// it printed for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub reason: Reason,
    pub level: Level,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
}

/// What a finding is about. Code that needs to know ("is this the leaf's
/// weak key?") matches this, never the detail's wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// A sent certificate, by its position (0 is the leaf).
    Certificate { position: usize },
    /// The path to one trust store.
    Store { store: String },
    /// The SSH server's offer as a whole, judged by a policy.
    SshOffer { policy: String },
    /// One CRL, by its issuer's name.
    Crl { issuer: String },
}

impl Finding {
    pub fn new(reason: Reason, level: Level, detail: impl Into<String>) -> Self {
        Finding {
            reason,
            level,
            detail: detail.into(),
            subject: None,
        }
    }

    /// The same finding, saying what it is about.
    pub(crate) fn about(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    /// A finding for an assertion configured with `action`; `None` when off.
    pub(crate) fn for_action(
        action: Action,
        reason: Reason,
        detail: impl Into<String>,
    ) -> Option<Self> {
        let level = match action {
            Action::Fail => Level::Fail,
            Action::Warn => Level::Warn,
            Action::Off => return None,
        };
        Some(Finding::new(reason, level, detail))
    }
}

/// `": reason"` for the end of a probe's detail line; nothing when ok.
pub(crate) fn reason_suffix(reason: Reason) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The reason table of docs/reasons.md is the operator's reference: it
    /// must name exactly the closed set, no more, no fewer.
    #[test]
    fn the_reason_table_of_the_manual_is_the_reason_set() {
        let page = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reasons.md"));
        assert!(
            page.starts_with("# Reasons\n"),
            "docs/reasons.md is the Reasons page"
        );
        let mut documented = BTreeSet::new();
        for row in page.lines().filter(|l| l.starts_with("| `")) {
            let first = row.split('|').nth(1).unwrap_or_default();
            for name in first.split('`').skip(1).step_by(2) {
                documented.insert(name.to_string());
            }
        }
        let actual: BTreeSet<String> = Reason::NAMES.iter().map(|n| n.to_string()).collect();
        let missing: Vec<&String> = actual.difference(&documented).collect();
        let unknown: Vec<&String> = documented.difference(&actual).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "docs/reasons.md: reasons missing from the table: {missing:?}; named in it but no reason: {unknown:?}"
        );
    }
}

/// An I/O error a typed failure keeps as its source (`net::tcp`'s
/// `ConnectError`, `wire::ssh`'s `SshWireError`): shared, so the failure
/// can be cloned into reports, and serialized as its facts, `{"io":
/// "ConnectionReset", "errno": 104, "message": "..."}`, the kind being
/// `std::io::ErrorKind`'s name.
#[derive(Debug, Clone)]
pub struct IoFailure(pub std::sync::Arc<std::io::Error>);

impl IoFailure {
    pub fn kind(&self) -> std::io::ErrorKind {
        self.0.kind()
    }
}

impl From<std::io::Error> for IoFailure {
    fn from(e: std::io::Error) -> Self {
        IoFailure(std::sync::Arc::new(e))
    }
}

/// Two failures are equal when their facts are (what [`Serialize`]
/// writes: kind, errno and message): `std::io::Error` has no equality of
/// its own, and a report holding one is still compared in tests.
impl PartialEq for IoFailure {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind()
            && self.0.raw_os_error() == other.0.raw_os_error()
            && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for IoFailure {}

impl std::fmt::Display for IoFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IoFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Serialize for IoFailure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("io", &format!("{:?}", self.0.kind()))?;
        if let Some(errno) = self.0.raw_os_error() {
            m.serialize_entry("errno", &errno)?;
        }
        m.serialize_entry("message", &self.0.to_string())?;
        m.end()
    }
}
