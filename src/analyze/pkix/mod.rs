//! RFC 5280 section 6.1 path validation: the one verdict of every judged
//! path (TLS flows, `pki check`, `profile check`).
//!
//! rustls-webpki does not process certificate policies and refuses every
//! path through the real Federal PKI cross-certificates (critical
//! policyConstraints, inhibitAnyPolicy, policy mappings, directoryName name
//! constraints) as an unsupported critical extension. This module runs the
//! whole algorithm over one candidate path that [`crate::analyze::chain`]
//! linked by names and signatures: validity, basic constraints and
//! pathLenConstraint (self-issued certificates exempt), keyUsage, EKU,
//! name constraints of every form in use, certificate policies with
//! mappings and the three policy inhibitors (on the RFC 9618 graph, so a
//! hostile chain stays linear), and refusal of any critical extension it
//! does not process. It returns the first rule broken, as facts about a
//! position, so the explanation is the verdict's own.
//!
//! Signatures are not checked here: the caller links a path only through
//! signatures that verify (`SentGraph::certifies`).

mod extensions;
mod names;
pub(crate) mod oids;
mod policy;
mod rules;
mod state;
mod violation;

pub use names::{MAX_CHECKS as MAX_NAME_CHECKS, NameKey, name_key, same_name};
pub use policy::{ANY_POLICY, MAX_POLICIES, QualifiedPolicy};
pub use violation::{Culprit, KeyIdProblem, RequiredBy, Violation};

use crate::analyze::trust::Anchor;
use crate::analyze::x509::key_usage;
use extensions::{name_constraints, unprocessed_critical};
use serde::Serialize;
use state::State;
use std::collections::BTreeSet;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The use a path is validated for: it decides the EKU and keyUsage rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Purpose {
    /// EKU serverAuth when an EKU is present, on the leaf and every CA
    /// (as webpki and devices apply it); a leaf keyUsage a TLS server key
    /// can work with.
    #[default]
    TlsServer,
    /// A CMS signer (a signed configuration profile): no EKU rule, and a
    /// leaf keyUsage, when present, with `digitalSignature` or
    /// `nonRepudiation`.
    Signer,
    /// A CA certificate judged as the end of its own path (`pki check` on
    /// a bundle of CA certificates): it must be a CA whose keyUsage, when
    /// present, allows keyCertSign; no EKU rule.
    Ca,
}

/// The relying party's inputs of RFC 5280 6.1.1 (c), (e), (f), (g), set
/// per trust store as a federal relying party configures them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RelyingParty {
    /// user-initial-policy-set, in the anchor's domain; empty is anyPolicy.
    pub initial_policies: BTreeSet<String>,
    pub require_explicit_policy: bool,
    pub inhibit_policy_mapping: bool,
    pub inhibit_any_policy: bool,
}

/// What a valid path proves about policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Validated {
    /// The user-constrained policy set: each policy in the anchor's domain
    /// and as the leaf asserts it (through the path's mappings).
    pub policies: Vec<QualifiedPolicy>,
    /// Whether a policy was required (explicit_policy reached 0, by the
    /// store's setting or a certificate's requireExplicitPolicy). A valid
    /// path with no policy required and an empty set is valid only because
    /// nobody asked for a policy.
    pub policy_required: bool,
}

/// One certificate of the candidate path and its position in what was sent.
pub(crate) struct Link<'c, 'a> {
    pub position: usize,
    pub cert: &'c X509Certificate<'a>,
}

/// Validates `path` (leaf first; the last certificate is issued by
/// `anchor`) at `now` (Unix seconds) for `purpose` under `rp`.
pub(crate) fn validate(
    path: &[Link<'_, '_>],
    anchor: &Anchor,
    rp: &RelyingParty,
    now: i64,
    purpose: Purpose,
) -> Result<Validated, Violation> {
    let n = path.len();
    if n == 0 {
        return Err(Violation::Refused {
            error: "empty path".to_owned(),
        });
    }
    let anchor_der = anchor.der.as_ref();
    let anchor_cert = X509Certificate::from_der(anchor_der)
        .map(|(_, c)| c)
        .map_err(|e| Violation::Refused {
            error: format!("anchor {} does not parse: {e}", anchor.subject),
        })?;
    check_anchor(anchor, &anchor_cert, now)?;

    let mut state = State::new(n, rp);
    if let Some(nc) = name_constraints(&anchor_cert) {
        state.constraints.push((None, nc));
    }
    for (i, link) in path.iter().rev().enumerate() {
        let is_leaf = i + 1 == n;
        let self_issued = same_name(link.cert.subject(), link.cert.issuer());
        state.process(link, is_leaf, self_issued, now, purpose)?;
        if !is_leaf {
            state.prepare(link, self_issued, purpose, n - 1 - i)?;
        }
    }
    state.wrap_up(&path[0], rp)
}

fn check_anchor(anchor: &Anchor, cert: &X509Certificate<'_>, now: i64) -> Result<(), Violation> {
    let subject = anchor.subject.clone();
    if now > anchor.not_after {
        return Err(Violation::AnchorExpired {
            subject,
            not_after: anchor.not_after,
        });
    }
    if now < anchor.not_before {
        return Err(Violation::AnchorNotYetValid {
            subject,
            not_before: anchor.not_before,
        });
    }
    // A v1 anchor has no extensions to ask; a v3 one must say it is a CA.
    if cert.version().0 >= 2 && !cert.is_ca() {
        return Err(Violation::AnchorNotCa { subject });
    }
    if let Some(oid) = unprocessed_critical(cert) {
        return Err(Violation::AnchorCriticalExtension { subject, oid });
    }
    // The anchor's own certificate says its key may not sign
    // certificates, or names nobody (RFC 5280 4.2.1.3, 4.1.2.6).
    if let Some(ku) = key_usage(cert)
        && !ku.iter().any(|b| b == "keyCertSign")
    {
        return Err(Violation::AnchorKeyUsage {
            subject,
            present: ku,
        });
    }
    if cert.subject().iter().next().is_none() {
        return Err(Violation::AnchorNotCa { subject });
    }
    if let Some(nc) = name_constraints(cert)
        && !names::well_formed(&nc)
    {
        return Err(Violation::AnchorCriticalExtension {
            subject,
            oid: "2.5.29.30 (malformed nameConstraints)".to_owned(),
        });
    }
    Ok(())
}
