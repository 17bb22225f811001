//! The verdict for one trust store: the candidates that link the leaf to
//! the store's anchors by names and signatures over exactly the sent
//! certificates (no AIA, no local intermediates), each judged by the RFC
//! 5280 validator of [`crate::analyze::pkix`] until one passes. The
//! explanation of a refusal is the validator's own: the rule the best
//! candidate breaks, at which position.

use super::facts::CertFacts;
use super::path::{Linked, PathOutcome, SentGraph};
use crate::analyze::pkix::{self, Link, Purpose, RequiredBy, Validated, oids};
use crate::analyze::trust::TrustStore;

use crate::analyze::pkix::{KeyIdProblem, Violation};

/// A path the validator accepted: sent positions from the leaf, the index
/// of the store anchor it ends at, and what it proves about policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Valid {
    pub path: Vec<usize>,
    pub anchor: usize,
    pub policies: Validated,
}

/// Why one store has no valid path: where the best candidate stops and
/// which rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Explanation {
    /// No path by names and signatures (incomplete or untrusted).
    Unlinked(PathOutcome),
    /// A linked path that breaks a rule.
    Broken {
        path: Vec<usize>,
        violation: Violation,
    },
}

/// Validates the leaf for `purpose` against `store` at `now` (Unix
/// seconds): the first linked candidate the validator accepts, or why none
/// is accepted (the first candidate's broken rule; candidates come
/// shortest search order first).
pub(crate) fn validate(
    graph: &SentGraph<'_>,
    store: &TrustStore,
    now: i64,
    purpose: Purpose,
) -> Result<Valid, Explanation> {
    let search = graph.search(store);
    let mut first_broken: Option<Explanation> = None;
    for linked in &search.linked {
        match judge_candidate(graph, linked, store, now, purpose) {
            Ok(policies) => {
                return Ok(Valid {
                    path: linked.path.clone(),
                    anchor: linked.anchor,
                    policies,
                });
            }
            Err(violation) => {
                first_broken.get_or_insert(Explanation::Broken {
                    path: linked.path.clone(),
                    violation,
                });
            }
        }
    }
    Err(first_broken.unwrap_or_else(|| {
        Explanation::Unlinked(search.dead_end.unwrap_or(PathOutcome::Incomplete {
            path: vec![0],
            detail: "no path to an anchor of the store".to_owned(),
        }))
    }))
}

fn judge_candidate(
    graph: &SentGraph<'_>,
    linked: &Linked,
    store: &TrustStore,
    now: i64,
    purpose: Purpose,
) -> Result<Validated, Violation> {
    let anchor = store
        .anchors()
        .get(linked.anchor)
        .ok_or(Violation::Refused {
            error: "anchor index out of range".to_owned(),
        })?;
    // A sent copy of the anchor is the anchor, not a path certificate;
    // a leaf that is itself the anchor is judged as its own issuer.
    let positions = match linked.path.split_last() {
        Some((_, rest)) if linked.sent_anchor && !rest.is_empty() => rest,
        _ => &linked.path[..],
    };
    let links: Vec<Link<'_, '_>> = positions
        .iter()
        .filter_map(|p| graph.cert(*p).map(|cert| Link { position: *p, cert }))
        .collect();
    pkix::validate(&links, anchor, store.relying_party(), now, purpose)
}

impl Violation {
    /// The violation for people; `label` names a sent position.
    pub fn render(&self, certs: &[CertFacts], store: &str) -> String {
        let who = |p: &usize| match certs.get(*p) {
            Some(c) => format!("position {p} ({})", super::label(c)),
            None => format!("position {p}"),
        };
        let list = |v: &[String]| {
            if v.is_empty() {
                "empty".to_owned()
            } else {
                v.join(", ")
            }
        };
        match self {
            Violation::Expired {
                position,
                not_after,
            } => format!(
                "{} expired at {}",
                who(position),
                crate::text::rfc3339(*not_after)
            ),
            Violation::NotYetValid {
                position,
                not_before,
            } => format!(
                "{} is not valid before {}",
                who(position),
                crate::text::rfc3339(*not_before)
            ),
            Violation::AnchorExpired { subject, not_after } => format!(
                "anchor {subject} of store {store} expired at {}",
                crate::text::rfc3339(*not_after)
            ),
            Violation::AnchorNotYetValid {
                subject,
                not_before,
            } => format!(
                "anchor {subject} of store {store} is not valid before {}",
                crate::text::rfc3339(*not_before)
            ),
            Violation::LeafIsCa => format!(
                "{} is a CA certificate (basicConstraints CA:TRUE) serving as the leaf",
                who(&0)
            ),
            Violation::LeafEku { present } => {
                format!("leaf EKU ({}) does not allow serverAuth", list(present))
            }
            Violation::LeafKeyUsage { present } => format!(
                "leaf keyUsage ({}) allows no TLS server key use \
                 (digitalSignature, keyEncipherment or keyAgreement)",
                list(present)
            ),
            Violation::SignerKeyUsage { present } => format!(
                "signer keyUsage ({}) allows no signature (digitalSignature or nonRepudiation)",
                list(present)
            ),
            Violation::NotCa {
                position,
                basic_constraints,
            } => format!(
                "{} is not a CA: {}",
                who(position),
                if *basic_constraints {
                    "basicConstraints CA:FALSE"
                } else {
                    "no basicConstraints"
                }
            ),
            Violation::NoKeyCertSign { position, present } => format!(
                "{} keyUsage lacks keyCertSign ({})",
                who(position),
                list(present)
            ),
            Violation::PathLen {
                position,
                path_len,
                below,
            } => format!(
                "pathLenConstraint {path_len} of {} exceeded: {below} CA certificates below it",
                who(position)
            ),
            Violation::CaEku { position, present } => format!(
                "{} EKU ({}) does not allow serverAuth",
                who(position),
                list(present)
            ),
            Violation::WeakSignature {
                position,
                algorithm,
            } => format!(
                "{} is signed with {algorithm}, which the validator refuses (as devices do)",
                who(position)
            ),
            Violation::NameConstraints {
                position,
                constraints,
                names,
                constrained,
            } => {
                let whose = match position {
                    Some(p) => who(p),
                    None => format!("the anchor of store {store}"),
                };
                format!(
                    "name constraints of {whose} ({constraints}) exclude {} of {}",
                    list(names),
                    who(constrained)
                )
            }
            Violation::AnchorNotCa { subject } => format!(
                "anchor {subject} of store {store} is not a CA (a v3 certificate without \
                 basicConstraints CA:TRUE, or an empty subject)"
            ),
            Violation::AnchorKeyUsage { subject, present } => format!(
                "anchor {subject} of store {store} has keyUsage {} without keyCertSign",
                list(present)
            ),
            Violation::NameConstraintsTooLarge {
                position,
                constrained,
                checks,
            } => format!(
                "name constraints of {} against the names of {} need {checks} comparisons, \
                 more than the {} the validator makes",
                match position {
                    Some(p) => who(p),
                    None => format!("the anchor of store {store}"),
                },
                who(constrained),
                crate::analyze::pkix::MAX_NAME_CHECKS
            ),
            Violation::AnchorCriticalExtension { subject, oid } => format!(
                "anchor {subject} of store {store} has critical extension {oid}, \
                 which the validator does not process"
            ),
            Violation::CertSignWithoutCa { position } => format!(
                "{} asserts keyUsage keyCertSign without basicConstraints CA:TRUE \
                 (RFC 5280 4.2.1.3)",
                who(position)
            ),
            Violation::BadNameConstraints { position } => format!(
                "{} carries nameConstraints that are not allowed or malformed \
                 (RFC 5280 4.2.1.10: CA certificates only, IP subtrees as address and mask)",
                who(position)
            ),
            Violation::CriticalExtension { position, oid } => format!(
                "{} has critical extension {oid}, which the validator does not process \
                 (RFC 5280 6.1.4 (o))",
                who(position)
            ),
            Violation::CaEmptySubject { position } => format!(
                "{} is a CA certificate with an empty subject (RFC 5280 4.1.2.6)",
                who(position)
            ),
            Violation::EmptySubjectSan { position } => format!(
                "{} has an empty subject and no critical subjectAltName (RFC 5280 4.2.1.6)",
                who(position)
            ),
            Violation::KeyIdentifier { position, problem } => {
                let what = match problem {
                    KeyIdProblem::MissingAuthority => "has no authorityKeyIdentifier",
                    KeyIdProblem::MissingSubject => "has no subjectKeyIdentifier",
                    KeyIdProblem::CriticalAuthority => "marks authorityKeyIdentifier critical",
                    KeyIdProblem::CriticalSubject => "marks subjectKeyIdentifier critical",
                };
                format!("{} {what} (RFC 5280 4.2.1.1, 4.2.1.2)", who(position))
            }
            Violation::Policy {
                position,
                required_by,
                asserted,
                acceptable,
            } => {
                let asserted = if asserted.is_empty() {
                    "no certificate policy".to_owned()
                } else {
                    format!("policies {}", policy_list(asserted))
                };
                format!(
                    "policy: no acceptable policy at {}: it asserts {asserted}, the path above \
                     accepts {}; {}",
                    who(position),
                    if acceptable.is_empty() {
                        "none".to_owned()
                    } else {
                        policy_list(acceptable)
                    },
                    required(required_by, &who)
                )
            }
            Violation::PolicyNotAcceptable {
                initial,
                valid,
                required_by,
            } => format!(
                "policy: the path's policies ({}) include none of store {store}'s \
                 initial_policies ({}); {}",
                if valid.is_empty() {
                    "none".to_owned()
                } else {
                    policy_list(valid)
                },
                policy_list(initial),
                required(required_by, &who)
            ),
            Violation::AnyPolicyInhibited {
                position,
                inhibited_by,
            } => format!(
                "policy: {} asserts only anyPolicy, which {} forbids",
                who(position),
                match inhibited_by {
                    Some(p) => format!("the inhibitAnyPolicy of {}", who(p)),
                    None => format!("store {store}'s inhibit_any_policy"),
                }
            ),
            Violation::AnyPolicyMapped { position } => format!(
                "policy: {} maps anyPolicy (RFC 5280 6.1.4 (a))",
                who(position)
            ),
            Violation::PolicyTooLarge { position, entries } => format!(
                "policy: {} carries {entries} policies or mappings, more than the {} \
                 the validator judges",
                who(position),
                pkix::MAX_POLICIES
            ),
            Violation::Refused { error } => format!("the validator refused the path: {error}"),
        }
    }
}

/// Policies by name and OID.
fn policy_list(oids_: &[String]) -> String {
    oids_
        .iter()
        .map(|o| oids::describe(o))
        .collect::<Vec<_>>()
        .join(", ")
}

fn required(by: &RequiredBy, who: &dyn Fn(&usize) -> String) -> String {
    match by {
        RequiredBy::Setting => {
            "a policy is required by the store's require_explicit_policy".to_owned()
        }
        RequiredBy::Certificate {
            position,
            require_explicit_policy,
        } => format!(
            "a policy is required by the requireExplicitPolicy {require_explicit_policy} of {}",
            who(position)
        ),
        RequiredBy::Nobody => "no policy was required".to_owned(),
    }
}
