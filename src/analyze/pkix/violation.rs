//! Which certificate of a path breaks which rule, as facts. The prose is
//! made where it is shown (`analyze::chain` renders it with the labels of
//! the sent certificates).

use crate::outcome::Reason;
use serde::Serialize;

/// Who made a certificate policy required on the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum RequiredBy {
    /// The store's `require_explicit_policy` setting.
    Setting,
    /// A path certificate's policyConstraints requireExplicitPolicy.
    Certificate {
        position: usize,
        require_explicit_policy: u32,
    },
    /// Not required: the graph emptied where a later requirement applies.
    Nobody,
}

/// Which certificate of a broken path breaks which rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Violation {
    Expired {
        position: usize,
        not_after: i64,
    },
    NotYetValid {
        position: usize,
        not_before: i64,
    },
    AnchorExpired {
        subject: String,
        not_after: i64,
    },
    AnchorNotYetValid {
        subject: String,
        not_before: i64,
    },
    /// A v3 trust anchor without basicConstraints CA:TRUE.
    AnchorNotCa {
        subject: String,
    },
    /// A trust anchor with a critical extension the validator does not
    /// process.
    AnchorCriticalExtension {
        subject: String,
        oid: String,
    },
    /// A trust anchor whose keyUsage leaves out keyCertSign.
    AnchorKeyUsage {
        subject: String,
        present: Vec<String>,
    },
    LeafIsCa,
    LeafEku {
        present: Vec<String>,
    },
    LeafKeyUsage {
        present: Vec<String>,
    },
    /// A signer's keyUsage allows no signature.
    SignerKeyUsage {
        present: Vec<String>,
    },
    NotCa {
        position: usize,
        basic_constraints: bool,
    },
    NoKeyCertSign {
        position: usize,
        present: Vec<String>,
    },
    /// keyCertSign asserted without basicConstraints CA:TRUE (RFC 5280
    /// 4.2.1.3).
    CertSignWithoutCa {
        position: usize,
    },
    PathLen {
        position: usize,
        path_len: u32,
        below: usize,
    },
    CaEku {
        position: usize,
        present: Vec<String>,
    },
    WeakSignature {
        position: usize,
        algorithm: String,
    },
    /// `position` (`None`: the store's anchor) has name constraints that
    /// leave out a name of `constrained`.
    NameConstraints {
        position: Option<usize>,
        constraints: String,
        names: Vec<String>,
        constrained: usize,
    },
    /// Checking the names of `constrained` against the constraints of
    /// `position` (`None`: the anchor) would cost more comparisons than the
    /// validator allows.
    NameConstraintsTooLarge {
        position: Option<usize>,
        constrained: usize,
        checks: usize,
    },
    /// nameConstraints on an end-entity certificate, or with a malformed
    /// subtree (RFC 5280 4.2.1.10).
    BadNameConstraints {
        position: usize,
    },
    /// A critical extension the validator does not process (RFC 5280
    /// 6.1.4 (o), 6.1.5 (f)).
    CriticalExtension {
        position: usize,
        oid: String,
    },
    /// A CA certificate with an empty subject (RFC 5280 4.1.2.6).
    CaEmptySubject {
        position: usize,
    },
    /// An empty subject whose subjectAltName is missing or not critical
    /// (RFC 5280 4.2.1.6).
    EmptySubjectSan {
        position: usize,
    },
    /// authorityKeyIdentifier missing on a certificate that is not
    /// self-signed, or either key identifier marked critical, or a CA
    /// without subjectKeyIdentifier (RFC 5280 4.2.1.1, 4.2.1.2).
    KeyIdentifier {
        position: usize,
        problem: KeyIdProblem,
    },
    /// The policy graph became empty at `position` while a policy is
    /// required: the certificate there asserts `asserted`, and the path
    /// above it accepts `acceptable` (in its own domain).
    Policy {
        position: usize,
        required_by: RequiredBy,
        asserted: Vec<String>,
        acceptable: Vec<String>,
    },
    /// A policy is required and the path's valid policies include none of
    /// the store's `initial_policies`.
    PolicyNotAcceptable {
        initial: Vec<String>,
        valid: Vec<String>,
        required_by: RequiredBy,
    },
    /// `position` asserts only anyPolicy where `inhibited_by`'s
    /// inhibitAnyPolicy (or the store setting, `None`) forbids it.
    AnyPolicyInhibited {
        position: usize,
        inhibited_by: Option<usize>,
    },
    /// A policy mapping to or from anyPolicy (RFC 5280 6.1.4 (a)).
    AnyPolicyMapped {
        position: usize,
    },
    /// A policy extension larger than the validator judges.
    PolicyTooLarge {
        position: usize,
        entries: usize,
    },
    /// The validator refused the path for a rule flowprobe cannot
    /// attribute to one certificate.
    Refused {
        error: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyIdProblem {
    MissingAuthority,
    MissingSubject,
    CriticalAuthority,
    CriticalSubject,
}

/// Which certificate of a broken path a [`Violation`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    /// A sent certificate, by position.
    Sent(usize),
    /// The store's anchor the path links to (not sent).
    Anchor,
}

impl Violation {
    pub fn reason(&self) -> Reason {
        match self {
            Violation::Expired { .. } | Violation::AnchorExpired { .. } => Reason::CertExpired,
            Violation::NotYetValid { .. } | Violation::AnchorNotYetValid { .. } => {
                Reason::CertNotYetValid
            }
            Violation::WeakSignature { .. } => Reason::WeakSignature,
            _ => Reason::ChainInvalid,
        }
    }

    /// The certificate that breaks the rule: a sent position, or
    /// [`Culprit::Anchor`] for the store's own anchor; `None` for a rule of
    /// the whole path.
    pub fn culprit(&self) -> Option<Culprit> {
        match self {
            Violation::Expired { position, .. }
            | Violation::NotYetValid { position, .. }
            | Violation::NotCa { position, .. }
            | Violation::NoKeyCertSign { position, .. }
            | Violation::CertSignWithoutCa { position }
            | Violation::PathLen { position, .. }
            | Violation::CaEku { position, .. }
            | Violation::WeakSignature { position, .. }
            | Violation::BadNameConstraints { position }
            | Violation::CriticalExtension { position, .. }
            | Violation::CaEmptySubject { position }
            | Violation::EmptySubjectSan { position }
            | Violation::KeyIdentifier { position, .. }
            | Violation::Policy { position, .. }
            | Violation::AnyPolicyInhibited { position, .. }
            | Violation::AnyPolicyMapped { position }
            | Violation::PolicyTooLarge { position, .. } => Some(Culprit::Sent(*position)),
            Violation::LeafIsCa
            | Violation::LeafEku { .. }
            | Violation::LeafKeyUsage { .. }
            | Violation::SignerKeyUsage { .. } => Some(Culprit::Sent(0)),
            Violation::NameConstraints { position, .. }
            | Violation::NameConstraintsTooLarge { position, .. } => {
                Some(position.map_or(Culprit::Anchor, Culprit::Sent))
            }
            Violation::AnchorExpired { .. }
            | Violation::AnchorNotYetValid { .. }
            | Violation::AnchorNotCa { .. }
            | Violation::AnchorKeyUsage { .. }
            | Violation::AnchorCriticalExtension { .. } => Some(Culprit::Anchor),
            Violation::PolicyNotAcceptable { .. } | Violation::Refused { .. } => None,
        }
    }

    /// A short name of the rule, for the status page's path drawing.
    pub(crate) fn short(&self) -> &'static str {
        match self {
            Violation::Expired { .. } => "expired",
            Violation::NotYetValid { .. } => "not yet valid",
            Violation::AnchorExpired { .. } => "the anchor expired",
            Violation::AnchorNotYetValid { .. } => "the anchor is not yet valid",
            Violation::AnchorNotCa { .. } => "the anchor is not a CA",
            Violation::AnchorKeyUsage { .. } => "the anchor's keyUsage lacks keyCertSign",
            Violation::NameConstraintsTooLarge { .. } => "name constraints too costly to check",
            Violation::AnchorCriticalExtension { .. } => {
                "the anchor has an unknown critical extension"
            }
            Violation::LeafIsCa => "a CA certificate as the leaf",
            Violation::LeafEku { .. } | Violation::CaEku { .. } => "EKU does not allow serverAuth",
            Violation::LeafKeyUsage { .. } => "keyUsage allows no TLS server use",
            Violation::SignerKeyUsage { .. } => "keyUsage allows no signature",
            Violation::NotCa { .. } => "not a CA",
            Violation::NoKeyCertSign { .. } => "keyUsage lacks keyCertSign",
            Violation::CertSignWithoutCa { .. } => "keyCertSign without CA:TRUE",
            Violation::PathLen { .. } => "pathLenConstraint exceeded",
            Violation::WeakSignature { .. } => "weak signature",
            Violation::NameConstraints { .. } => "name constraints exclude a name",
            Violation::BadNameConstraints { .. } => "nameConstraints not allowed here",
            Violation::CriticalExtension { .. } => "unknown critical extension",
            Violation::CaEmptySubject { .. } => "a CA with an empty subject",
            Violation::EmptySubjectSan { .. } => "empty subject without a critical SAN",
            Violation::KeyIdentifier { .. } => "key identifier missing or critical",
            Violation::Policy { .. } => "no acceptable certificate policy",
            Violation::PolicyNotAcceptable { .. } => "no policy of the initial set",
            Violation::AnyPolicyInhibited { .. } => "anyPolicy inhibited",
            Violation::AnyPolicyMapped { .. } => "anyPolicy in a policy mapping",
            Violation::PolicyTooLarge { .. } => "policy extension too large",
            Violation::Refused { .. } => "refused by the validator",
        }
    }
}
