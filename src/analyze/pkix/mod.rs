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

mod names;
pub mod oids;
mod policy;
mod violation;

pub use names::{MAX_CHECKS as MAX_NAME_CHECKS, NameKey, name_key, same_name};
pub use policy::{ANY_POLICY, MAX_POLICIES, QualifiedPolicy};
pub use violation::{Culprit, KeyIdProblem, RequiredBy, Violation};

use crate::analyze::trust::Anchor;
use crate::analyze::x509::{
    ext_key_usage, general_name, is_weak_signature, key_usage, signature_name,
};
use policy::PolicyGraph;
use serde::Serialize;
use std::collections::BTreeSet;
use x509_parser::extensions::{GeneralName, NameConstraints, ParsedExtension};
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

impl RelyingParty {
    /// Whether the initial set is anyPolicy (the default).
    pub fn any_policy(&self) -> bool {
        self.initial_policies.is_empty() || self.initial_policies.contains(ANY_POLICY)
    }
}

/// What a valid path proves about policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Validated {
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
pub struct Link<'c, 'a> {
    pub position: usize,
    pub cert: &'c X509Certificate<'a>,
}

/// Extensions this validator processes (or, for the CRL distribution
/// points, that revocation flows process): a critical extension outside
/// this list refuses the path.
const PROCESSED: [&str; 10] = [
    "2.5.29.15", // keyUsage
    "2.5.29.19", // basicConstraints
    "2.5.29.17", // subjectAltName
    "2.5.29.37", // extKeyUsage
    "2.5.29.30", // nameConstraints
    "2.5.29.32", // certificatePolicies
    "2.5.29.33", // policyMappings
    "2.5.29.36", // policyConstraints
    "2.5.29.54", // inhibitAnyPolicy
    "2.5.29.31", // cRLDistributionPoints
];
const AKI: &str = "2.5.29.35";
const SKI: &str = "2.5.29.14";

/// Validates `path` (leaf first; the last certificate is issued by
/// `anchor`) at `now` (Unix seconds) for `purpose` under `rp`.
pub fn validate(
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

fn unprocessed_critical(cert: &X509Certificate<'_>) -> Option<String> {
    cert.extensions()
        .iter()
        .filter(|e| e.critical)
        .map(|e| e.oid.to_id_string())
        .find(|oid| !PROCESSED.contains(&oid.as_str()))
}

fn name_constraints<'a>(cert: &X509Certificate<'a>) -> Option<NameConstraints<'a>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::NameConstraints(nc) => Some(nc.clone()),
            _ => None,
        })
}

fn policies(cert: &X509Certificate<'_>) -> Option<Vec<String>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::CertificatePolicies(cp) => {
                Some(cp.iter().map(|p| p.policy_id.to_id_string()).collect())
            }
            _ => None,
        })
}

fn mappings(cert: &X509Certificate<'_>) -> Vec<(String, String)> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::PolicyMappings(pm) => Some(
                pm.mappings
                    .iter()
                    .map(|m| {
                        (
                            m.issuer_domain_policy.to_id_string(),
                            m.subject_domain_policy.to_id_string(),
                        )
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

fn sans<'a>(cert: &X509Certificate<'a>) -> (Vec<GeneralName<'a>>, Option<bool>) {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                Some((san.general_names.clone(), Some(e.critical)))
            }
            _ => None,
        })
        .unwrap_or((Vec::new(), None))
}

/// The state variables of RFC 5280 6.1.2, with who set each constraint
/// (for the explanation).
struct State<'a> {
    graph: Option<PolicyGraph>,
    /// Where the graph became NULL: position, what it asserted, what the
    /// path above accepted.
    emptied: Option<(usize, Vec<String>, Vec<String>)>,
    explicit_policy: usize,
    explicit_by: RequiredBy,
    inhibit_any: usize,
    inhibit_any_by: Option<usize>,
    policy_mapping: usize,
    max_path_length: usize,
    /// The certificate whose pathLenConstraint set `max_path_length`, and
    /// its value; non-self-issued CAs seen below it.
    path_len_by: Option<(usize, u32, usize)>,
    constraints: Vec<(Option<usize>, NameConstraints<'a>)>,
}

impl<'a> State<'a> {
    fn new(n: usize, rp: &RelyingParty) -> Self {
        let start = |inhibited: bool| if inhibited { 0 } else { n + 1 };
        State {
            graph: Some(PolicyGraph::new()),
            emptied: None,
            explicit_policy: start(rp.require_explicit_policy),
            explicit_by: if rp.require_explicit_policy {
                RequiredBy::Setting
            } else {
                RequiredBy::Nobody
            },
            inhibit_any: start(rp.inhibit_any_policy),
            inhibit_any_by: None,
            policy_mapping: start(rp.inhibit_policy_mapping),
            max_path_length: n,
            path_len_by: None,
            constraints: Vec::new(),
        }
    }

    /// RFC 5280 6.1.3 for the certificate of `link`, and the certificate
    /// profile rules a relying party refuses a path for.
    fn process(
        &mut self,
        link: &Link<'_, 'a>,
        is_leaf: bool,
        self_issued: bool,
        now: i64,
        purpose: Purpose,
    ) -> Result<(), Violation> {
        let (p, cert) = (link.position, link.cert);
        let validity = cert.validity();
        if now < validity.not_before.timestamp() {
            return Err(Violation::NotYetValid {
                position: p,
                not_before: validity.not_before.timestamp(),
            });
        }
        if now > validity.not_after.timestamp() {
            return Err(Violation::Expired {
                position: p,
                not_after: validity.not_after.timestamp(),
            });
        }
        let algorithm = signature_name(&cert.signature_algorithm.algorithm.to_id_string());
        if is_weak_signature(&algorithm) {
            return Err(Violation::WeakSignature {
                position: p,
                algorithm,
            });
        }
        profile(p, cert, is_leaf && purpose != Purpose::Ca)?;

        // (b), (c): names, unless a self-issued intermediate.
        if is_leaf || !self_issued {
            let (san_list, _) = sans(cert);
            let subjects = names::subjects(cert.subject(), &san_list);
            for (by, nc) in &self.constraints {
                let checks = names::checks(nc, subjects.len());
                if checks > names::MAX_CHECKS {
                    return Err(Violation::NameConstraintsTooLarge {
                        position: *by,
                        constrained: p,
                        checks,
                    });
                }
                if let Some(outside) = names::first_outside(nc, &subjects) {
                    return Err(Violation::NameConstraints {
                        position: *by,
                        constraints: render_constraints(nc),
                        names: vec![outside.render()],
                        constrained: p,
                    });
                }
            }
        }

        // (d)-(f): policies.
        let asserted = policies(cert);
        if let Some(list) = &asserted
            && list.len() > MAX_POLICIES
        {
            return Err(Violation::PolicyTooLarge {
                position: p,
                entries: list.len(),
            });
        }
        let any_allowed = self.inhibit_any > 0 || (!is_leaf && self_issued);
        if let Some(graph) = &mut self.graph {
            let acceptable: Vec<String> = graph.expected().into_iter().take(16).collect();
            let alive = match &asserted {
                Some(list) => graph.add_certificate(list, any_allowed),
                None => false,
            };
            if !alive {
                self.graph = None;
                self.emptied = Some((p, asserted.clone().unwrap_or_default(), acceptable));
            }
        }
        if self.explicit_policy == 0 && self.graph.is_none() {
            return Err(self.policy_failure(asserted.as_deref(), any_allowed));
        }
        if is_leaf {
            leaf_rules(p, cert, purpose)?;
        }
        Ok(())
    }

    fn policy_failure(&self, asserted: Option<&[String]>, any_allowed: bool) -> Violation {
        let (position, asserted_there, acceptable) = self.emptied.clone().unwrap_or_default();
        let only_any = asserted.is_some_and(|a| a.iter().all(|p| p == ANY_POLICY) && !a.is_empty());
        let emptied_only_any =
            !asserted_there.is_empty() && asserted_there.iter().all(|p| p == ANY_POLICY);
        if (only_any && !any_allowed) || emptied_only_any {
            return Violation::AnyPolicyInhibited {
                position,
                inhibited_by: self.inhibit_any_by,
            };
        }
        Violation::Policy {
            position,
            required_by: self.explicit_by.clone(),
            asserted: asserted_there,
            acceptable,
        }
    }

    /// RFC 5280 6.1.4 for the CA certificate of `link`.
    /// `remaining` counts the CA certificates from this one down to the
    /// leaf (for the explanation of a pathLenConstraint).
    fn prepare(
        &mut self,
        link: &Link<'_, 'a>,
        self_issued: bool,
        purpose: Purpose,
        remaining: usize,
    ) -> Result<(), Violation> {
        let (p, cert) = (link.position, link.cert);
        // (a), (b): policy mappings.
        let mapped = mappings(cert);
        if mapped.len() > MAX_POLICIES {
            return Err(Violation::PolicyTooLarge {
                position: p,
                entries: mapped.len(),
            });
        }
        if mapped
            .iter()
            .any(|(i, s)| i == ANY_POLICY || s == ANY_POLICY)
        {
            return Err(Violation::AnyPolicyMapped { position: p });
        }
        if !mapped.is_empty()
            && let Some(graph) = &mut self.graph
        {
            let acceptable: Vec<String> = graph.expected().into_iter().take(16).collect();
            if !graph.map(&mapped, self.policy_mapping > 0) {
                self.graph = None;
                self.emptied = Some((
                    p,
                    mapped.iter().map(|(i, _)| i.clone()).collect(),
                    acceptable,
                ));
            }
        }
        // (g): name constraints.
        if let Some(nc) = name_constraints(cert) {
            self.constraints.push((Some(p), nc));
        }
        // (h): counters.
        if !self_issued {
            self.explicit_policy = self.explicit_policy.saturating_sub(1);
            self.policy_mapping = self.policy_mapping.saturating_sub(1);
            self.inhibit_any = self.inhibit_any.saturating_sub(1);
        }
        // (i), (j): constraints on them.
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::PolicyConstraints(pc) => {
                    if let Some(r) = pc.require_explicit_policy
                        && (r as usize) < self.explicit_policy
                    {
                        self.explicit_policy = r as usize;
                        self.explicit_by = RequiredBy::Certificate {
                            position: p,
                            require_explicit_policy: r,
                        };
                    }
                    if let Some(m) = pc.inhibit_policy_mapping {
                        self.policy_mapping = self.policy_mapping.min(m as usize);
                    }
                }
                ParsedExtension::InhibitAnyPolicy(ia)
                    if (ia.skip_certs as usize) < self.inhibit_any =>
                {
                    self.inhibit_any = ia.skip_certs as usize;
                    self.inhibit_any_by = Some(p);
                }
                _ => {}
            }
        }
        // (k): a CA.
        let basic = cert.basic_constraints().ok().flatten().map(|b| b.value);
        if !basic.as_ref().is_some_and(|b| b.ca) {
            return Err(Violation::NotCa {
                position: p,
                basic_constraints: basic.is_some(),
            });
        }
        // (l), (m): path length.
        if !self_issued {
            if self.max_path_length == 0 {
                let (position, path_len, below) = self.path_len_by.unwrap_or((p, 0, 0));
                return Err(Violation::PathLen {
                    position,
                    path_len,
                    below: below + remaining,
                });
            }
            self.max_path_length -= 1;
            if let Some(by) = &mut self.path_len_by {
                by.2 += 1;
            }
        }
        if let Some(len) = basic.and_then(|b| b.path_len_constraint)
            && (len as usize) < self.max_path_length
        {
            self.max_path_length = len as usize;
            self.path_len_by = Some((p, len, 0));
        }
        // (n): keyUsage.
        if let Some(ku) = key_usage(cert)
            && !ku.iter().any(|b| b == "keyCertSign")
        {
            return Err(Violation::NoKeyCertSign {
                position: p,
                present: ku,
            });
        }
        // EKU on a CA constrains what it may issue (as webpki and devices
        // apply it).
        if purpose == Purpose::TlsServer
            && let Some(eku) = ext_key_usage(cert)
            && !eku.iter().any(|e| e == "serverAuth" || e == "any")
        {
            return Err(Violation::CaEku {
                position: p,
                present: eku,
            });
        }
        Ok(())
    }

    /// RFC 5280 6.1.5 for the leaf.
    fn wrap_up(mut self, leaf: &Link<'_, '_>, rp: &RelyingParty) -> Result<Validated, Violation> {
        self.explicit_policy = self.explicit_policy.saturating_sub(1);
        for ext in leaf.cert.extensions() {
            if let ParsedExtension::PolicyConstraints(pc) = ext.parsed_extension()
                && pc.require_explicit_policy == Some(0)
            {
                self.explicit_policy = 0;
                self.explicit_by = RequiredBy::Certificate {
                    position: leaf.position,
                    require_explicit_policy: 0,
                };
            }
        }
        let required = self.explicit_policy == 0;
        let Some(graph) = &self.graph else {
            if required {
                return Err(self.policy_failure(None, true));
            }
            return Ok(Validated {
                policies: Vec::new(),
                policy_required: false,
            });
        };
        let set = graph.user_constrained(&rp.initial_policies);
        if set.is_empty() && required {
            let valid = graph
                .user_constrained(&BTreeSet::new())
                .into_iter()
                .map(|q| q.authority)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            return Err(Violation::PolicyNotAcceptable {
                initial: rp.initial_policies.iter().cloned().collect(),
                valid,
                required_by: self.explicit_by.clone(),
            });
        }
        Ok(Validated {
            policies: set.into_iter().collect(),
            policy_required: required,
        })
    }
}

/// Certificate profile rules of RFC 5280 section 4 that a relying party
/// refuses a path for: critical extensions it does not process, critical
/// key identifiers, a CA with an empty subject, an empty subject without a
/// critical SAN, nameConstraints on an end entity or malformed,
/// keyCertSign without CA:TRUE.
fn profile(p: usize, cert: &X509Certificate<'_>, end_entity: bool) -> Result<(), Violation> {
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        if let ParsedExtension::ParseError { error } = ext.parsed_extension() {
            return Err(Violation::Refused {
                error: format!("position {p}: extension {oid} does not parse: {error}"),
            });
        }
        if ext.critical {
            match oid.as_str() {
                AKI => {
                    return Err(Violation::KeyIdentifier {
                        position: p,
                        problem: KeyIdProblem::CriticalAuthority,
                    });
                }
                SKI => {
                    return Err(Violation::KeyIdentifier {
                        position: p,
                        problem: KeyIdProblem::CriticalSubject,
                    });
                }
                known if PROCESSED.contains(&known) => {}
                _ => {
                    return Err(Violation::CriticalExtension { position: p, oid });
                }
            }
        }
    }
    let empty_subject = cert.subject().iter().next().is_none();
    if empty_subject && !end_entity {
        return Err(Violation::CaEmptySubject { position: p });
    }
    if empty_subject {
        let (_, critical) = sans(cert);
        if critical != Some(true) {
            return Err(Violation::EmptySubjectSan { position: p });
        }
    }
    if let Some(nc) = name_constraints(cert)
        && (end_entity || !names::well_formed(&nc))
    {
        return Err(Violation::BadNameConstraints { position: p });
    }
    if end_entity
        && !cert.is_ca()
        && key_usage(cert).is_some_and(|ku| ku.iter().any(|b| b == "keyCertSign"))
    {
        return Err(Violation::CertSignWithoutCa { position: p });
    }
    Ok(())
}

/// The leaf rules of `purpose`.
fn leaf_rules(p: usize, cert: &X509Certificate<'_>, purpose: Purpose) -> Result<(), Violation> {
    if purpose == Purpose::Ca {
        let basic = cert.basic_constraints().ok().flatten().map(|b| b.value);
        if !basic.as_ref().is_some_and(|b| b.ca) {
            return Err(Violation::NotCa {
                position: p,
                basic_constraints: basic.is_some(),
            });
        }
        if let Some(ku) = key_usage(cert)
            && !ku.iter().any(|b| b == "keyCertSign")
        {
            return Err(Violation::NoKeyCertSign {
                position: p,
                present: ku,
            });
        }
        return Ok(());
    }
    if cert.is_ca() {
        return Err(Violation::LeafIsCa);
    }
    let ku = key_usage(cert);
    let has = |bits: &[&str]| {
        ku.as_ref()
            .is_none_or(|k| k.iter().any(|b| bits.contains(&b.as_str())))
    };
    match purpose {
        Purpose::TlsServer => {
            if let Some(eku) = ext_key_usage(cert)
                && !eku.iter().any(|e| e == "serverAuth")
            {
                return Err(Violation::LeafEku { present: eku });
            }
            // What OpenSSL's `sslserver` purpose asks of a leaf keyUsage:
            // some bit a TLS server key needs.
            if !has(&["digitalSignature", "keyEncipherment", "keyAgreement"]) {
                return Err(Violation::LeafKeyUsage {
                    present: ku.unwrap_or_default(),
                });
            }
        }
        Purpose::Signer => {
            if !has(&["digitalSignature", "nonRepudiation"]) {
                return Err(Violation::SignerKeyUsage {
                    present: ku.unwrap_or_default(),
                });
            }
        }
        Purpose::Ca => {}
    }
    Ok(())
}

fn render_constraints(nc: &NameConstraints<'_>) -> String {
    let render = |trees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
        trees.as_ref().map(|t| {
            t.iter()
                .map(|s| general_name(&s.base))
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let mut parts = Vec::new();
    if let Some(p) = render(&nc.permitted_subtrees) {
        parts.push(format!("permitted: {p}"));
    }
    if let Some(e) = render(&nc.excluded_subtrees) {
        parts.push(format!("excluded: {e}"));
    }
    parts.join("; ")
}
