//! Which chain assertions a flow enforces, and how hard.
//!
//! Keys are the reason labels they raise (`chain_incomplete = "warn"`), so
//! the configuration, the metrics and the alert rules use one vocabulary.

pub use crate::analyze::pattern::Pattern;
use crate::outcome::Action;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Per-flow chain assertions. What a device would refuse defaults to
/// `fail`; what still works today defaults to `warn`: a verified path that
/// expires within `expiry_warning` (`cert_expiring`; paged through its own
/// alert on `flowprobe_tls_path_not_after_timestamp_seconds`, not as a
/// down flow), certificates on no valid path (`chain_extra`), and a broken
/// order under TLS 1.3, where RFC 8446 only recommends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainPolicy {
    /// No path from the leaf to a required store's anchor using only the
    /// sent certificates.
    pub chain_incomplete: Action,
    /// The sent path ends at a self-signed certificate (or a name-alike)
    /// that is not an anchor of the store.
    pub chain_untrusted: Action,
    /// The path links by names and signatures but breaks a rule of RFC
    /// 5280 validation (basicConstraints, keyUsage, pathLen, EKU, name
    /// constraints).
    pub chain_invalid: Action,
    /// Under TLS 1.2: a certificate does not certify the one before it
    /// (RFC 5246 7.4.2 MUST).
    pub chain_order: Action,
    /// The same under TLS 1.3 (RFC 8446 4.4.2 SHOULD).
    pub chain_order_tls13: Action,
    /// A `require` entry matched no sent certificate.
    pub cert_required: Action,
    /// Every sent certificate must be issued by a name matching this
    /// pattern (`"O=Apple Inc\\."` for APNs); one that is not means a
    /// proxy re-signed the connection (`tls_intercepted`).
    pub issuer: Option<Pattern>,
    pub tls_intercepted: Action,
    pub require: Vec<RequiredCert>,
    pub cert_expired: Action,
    pub cert_not_yet_valid: Action,
    pub cert_expiring: Action,
    /// How long before `notAfter` a certificate of a verified path counts
    /// as expiring.
    #[serde(deserialize_with = "human_duration")]
    pub expiry_warning: Duration,
    /// The same for the path's CA certificates, when they need more notice
    /// (cross-certificates are reissued by another organisation).
    #[serde(deserialize_with = "optional_duration")]
    pub ca_expiry_warning: Option<Duration>,
    /// The leaf's SANs do not cover the server name (RFC 6125; no CN fallback).
    pub name_mismatch: Action,
    pub weak_key: Action,
    /// Smallest acceptable RSA (and DSA) modulus.
    pub min_rsa_bits: u32,
    /// Smallest acceptable EC curve size (256 = P-256).
    pub min_ec_bits: u32,
    /// MD2/MD5/SHA-1 signatures on any sent certificate but a self-signed
    /// one (an anchor's own signature is not relied on).
    pub weak_signature: Action,
    /// The server sent a self-signed certificate or an anchor itself:
    /// allowed by RFC 5246, worth knowing.
    pub anchor_sent: Notice,
    /// A sent certificate on no valid path: a superseded
    /// cross-certificate, a duplicate, an unrelated extra.
    pub chain_extra: Notice,
    /// What the leaf is validated for. Not configurable: every flow's
    /// leaf is a TLS server; `profile check` judges a signed profile's
    /// signer certificate as a signer.
    #[serde(skip)]
    pub purpose: Purpose,
}

/// The use a path is validated for (defined with the validator).
pub use crate::analyze::pkix::Purpose;

impl Default for ChainPolicy {
    fn default() -> Self {
        ChainPolicy {
            chain_incomplete: Action::Fail,
            chain_untrusted: Action::Fail,
            chain_invalid: Action::Fail,
            chain_order: Action::Fail,
            chain_order_tls13: Action::Warn,
            cert_required: Action::Fail,
            issuer: None,
            tls_intercepted: Action::Fail,
            require: Vec::new(),
            cert_expired: Action::Fail,
            cert_not_yet_valid: Action::Fail,
            cert_expiring: Action::Warn,
            expiry_warning: Duration::from_secs(30 * 86_400),
            ca_expiry_warning: None,
            name_mismatch: Action::Fail,
            weak_key: Action::Fail,
            min_rsa_bits: 2048,
            min_ec_bits: 256,
            weak_signature: Action::Fail,
            anchor_sent: Notice::Info,
            chain_extra: Notice::Warn,
            purpose: Purpose::TlsServer,
        }
    }
}

/// Like [`Action`], plus `info`: reported, never failing. For facts that
/// RFCs allow but operators want to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notice {
    Fail,
    Warn,
    Info,
    Off,
}

/// A certificate the server must send, e.g. the DoD Root CA 3
/// cross-certificate issued by DoD Interoperability Root CA 2. Every given
/// field must match the same certificate; patterns are unanchored regexes
/// over the RFC 4514 subject/issuer (`CN=..., OU=..., O=..., C=US`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawRequiredCert")]
pub struct RequiredCert {
    pub subject: Option<Pattern>,
    pub issuer: Option<Pattern>,
    /// Lower-case hex without separators.
    pub sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequiredCert {
    subject: Option<Pattern>,
    issuer: Option<Pattern>,
    sha256: Option<String>,
}

impl TryFrom<RawRequiredCert> for RequiredCert {
    type Error = String;

    fn try_from(raw: RawRequiredCert) -> Result<Self, String> {
        if raw.subject.is_none() && raw.issuer.is_none() && raw.sha256.is_none() {
            return Err("a required certificate needs subject, issuer or sha256".into());
        }
        let sha256 = raw.sha256.map(|h| normalize_sha256(&h)).transpose()?;
        Ok(RequiredCert {
            subject: raw.subject,
            issuer: raw.issuer,
            sha256,
        })
    }
}

/// Accepts `AB:CD:...` (OpenSSL's fingerprint format) as well as plain hex.
fn normalize_sha256(text: &str) -> Result<String, String> {
    let hex: String = text
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(format!("sha256 {text:?} is not 64 hex digits"))
    }
}

impl RequiredCert {
    /// Whether the certificate with these facts satisfies this requirement.
    pub(crate) fn matches(&self, subject: &str, issuer: &str, sha256: &str) -> bool {
        self.subject.as_ref().is_none_or(|p| p.0.is_match(subject))
            && self.issuer.as_ref().is_none_or(|p| p.0.is_match(issuer))
            && self.sha256.as_ref().is_none_or(|h| h == sha256)
    }

    /// The requirement for people: `subject=/.../ issuer=/.../`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.subject {
            parts.push(format!("subject=/{}/", p.0.as_str()));
        }
        if let Some(p) = &self.issuer {
            parts.push(format!("issuer=/{}/", p.0.as_str()));
        }
        if let Some(h) = &self.sha256 {
            parts.push(format!("sha256={h}"));
        }
        parts.join(" ")
    }
}

fn human_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(serde::de::Error::custom)
}

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    human_duration(d).map(Some)
}
