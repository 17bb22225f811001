//! The verdict for one trust store: RFC 5280 path validation by
//! rustls-webpki, as a device runs it, over exactly the sent certificates
//! (no AIA, no local intermediates), plus what devices check and webpki
//! does not: keyUsage `keyCertSign` on every CA of the path (RFC 5280
//! 6.1.4 (n)), a leaf keyUsage that allows a TLS server key, and the
//! anchor's own validity.
//!
//! When validation fails, the name-and-signature candidates of
//! [`super::path`] are checked rule by rule to say which certificate
//! breaks which rule. The explanation never changes the verdict.

use super::facts::CertFacts;
use super::path::{Linked, PathOutcome, PathSearch};
use super::policy::Purpose;
use crate::analyze::trust::TrustStore;
use crate::analyze::x509::is_weak_signature;
use crate::outcome::Reason;
use rustls::pki_types::{CertificateDer, UnixTime};
use serde::Serialize;
use std::time::Duration;
use webpki::{
    EndEntityCert, Error, ExtendedKeyUsageValidator, KeyPurposeIdIter, KeyUsage, VerifiedPath,
};

/// A path the validator accepted: sent positions from the leaf, and the
/// index of the store anchor it ends at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub path: Vec<usize>,
    pub anchor: usize,
}

/// Why a store has no valid path.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// webpki refused every path (our extra CA and anchor rules run
    /// inside its search, so it backtracks over them too).
    Validator(Error),
    /// webpki accepted `path`, but a rule it does not check refuses it.
    Rule {
        path: Vec<usize>,
        violation: Violation,
    },
}

/// The EKU rule of a [`Purpose`], as webpki applies it to the leaf and to
/// every CA of the path.
struct Eku(Purpose);

impl ExtendedKeyUsageValidator for Eku {
    fn validate(&self, mut iter: KeyPurposeIdIter<'_, '_>) -> Result<(), Error> {
        match self.0 {
            Purpose::TlsServer => KeyUsage::server_auth().validate(iter),
            // RFC 5652 sets no EKU for a signer: any list that parses.
            Purpose::Signer => iter.try_for_each(|id| id.map(|_| ())),
        }
    }
}

/// Validates the leaf for `purpose` (TLS server authentication, or a CMS
/// signer) against `store` at `now` (Unix seconds).
pub fn validate(
    sent: &[CertificateDer<'_>],
    facts: &[CertFacts],
    store: &TrustStore,
    now: i64,
    purpose: Purpose,
) -> Result<Valid, Refusal> {
    let leaf_der = sent.first().ok_or(Refusal::Validator(Error::BadDer))?;
    let leaf = EndEntityCert::try_from(leaf_der).map_err(Refusal::Validator)?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
    let position_of = |der: &[u8]| sent.iter().position(|s| s.as_ref() == der);
    let extra_rules = |path: &VerifiedPath<'_>| -> Result<(), Error> {
        for cert in path.intermediate_certificates() {
            let ca = position_of(cert.der().as_ref()).and_then(|p| facts.get(p));
            if ca.is_some_and(|f| !allows_cert_sign(f)) {
                return Err(Error::EndEntityUsedAsCa);
            }
        }
        match anchor_index(store, path) {
            Some(i) => anchor_validity(store, i, now).map_or(Ok(()), |v| Err(v.webpki(time))),
            None => Ok(()),
        }
    };
    let verified = leaf
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            store.trust_anchors(),
            &sent[1..],
            time,
            Eku(purpose),
            None,
            Some(&extra_rules),
        )
        .map_err(Refusal::Validator)?;
    let mut path = vec![0];
    path.extend(
        verified
            .intermediate_certificates()
            .filter_map(|c| position_of(c.der().as_ref())),
    );
    let anchor = anchor_index(store, &verified).unwrap_or(0);
    if let Some(violation) = facts.first().and_then(|leaf| leaf_key_usage(leaf, purpose)) {
        // The same leaf is on every path: no other path can pass.
        return Err(Refusal::Rule { path, violation });
    }
    Ok(Valid { path, anchor })
}

fn anchor_index(store: &TrustStore, path: &VerifiedPath<'_>) -> Option<usize> {
    let found = path.anchor();
    store.trust_anchors().iter().position(|t| {
        t.subject.as_ref() == found.subject.as_ref()
            && t.subject_public_key_info.as_ref() == found.subject_public_key_info.as_ref()
    })
}

fn anchor_validity(store: &TrustStore, index: usize, now: i64) -> Option<Violation> {
    let anchor = store.anchors().get(index)?;
    if now > anchor.not_after {
        Some(Violation::AnchorExpired {
            subject: anchor.subject.clone(),
            not_after: anchor.not_after,
        })
    } else if now < anchor.not_before {
        Some(Violation::AnchorNotYetValid {
            subject: anchor.subject.clone(),
            not_before: anchor.not_before,
        })
    } else {
        None
    }
}

/// A CA may sign certificates unless its keyUsage leaves out keyCertSign.
fn allows_cert_sign(ca: &CertFacts) -> bool {
    ca.key_usage
        .as_ref()
        .is_none_or(|ku| ku.iter().any(|b| b == "keyCertSign"))
}

/// What OpenSSL's `sslserver` purpose asks of a leaf keyUsage: some bit a
/// TLS server key needs (ECDHE signing, RSA key transport, static DH).
fn allows_tls_server_key(leaf: &CertFacts) -> bool {
    leaf.key_usage.as_ref().is_none_or(|ku| {
        ku.iter().any(|b| {
            matches!(
                b.as_str(),
                "digitalSignature" | "keyEncipherment" | "keyAgreement"
            )
        })
    })
}

/// What a signer's keyUsage must allow: a signature over the content.
fn allows_signing(leaf: &CertFacts) -> bool {
    leaf.key_usage.as_ref().is_none_or(|ku| {
        ku.iter()
            .any(|b| matches!(b.as_str(), "digitalSignature" | "nonRepudiation"))
    })
}

/// The leaf keyUsage rule of `purpose` that `leaf` breaks, if any.
fn leaf_key_usage(leaf: &CertFacts, purpose: Purpose) -> Option<Violation> {
    let present = || leaf.key_usage.clone().unwrap_or_default();
    match purpose {
        Purpose::TlsServer if !allows_tls_server_key(leaf) => {
            Some(Violation::LeafKeyUsage { present: present() })
        }
        Purpose::Signer if !allows_signing(leaf) => {
            Some(Violation::SignerKeyUsage { present: present() })
        }
        _ => None,
    }
}

fn allows_server_auth(cert: &CertFacts) -> bool {
    cert.ext_key_usage
        .as_ref()
        .is_none_or(|eku| eku.iter().any(|p| p == "serverAuth"))
}

/// Which certificate breaks which rule, as facts; [`Violation::render`]
/// makes the prose.
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
    NameConstraints {
        position: Option<usize>,
        constraints: String,
        names: Vec<String>,
    },
    /// The validator refused the path for a rule flowprobe cannot
    /// attribute to one certificate; `error` is webpki's.
    Refused {
        error: String,
    },
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
    /// [`Culprit::Anchor`] for the store's own anchor; `None` for a refusal
    /// flowprobe cannot attribute (`Refused`).
    pub fn culprit(&self) -> Option<Culprit> {
        match self {
            Violation::Expired { position, .. }
            | Violation::NotYetValid { position, .. }
            | Violation::NotCa { position, .. }
            | Violation::NoKeyCertSign { position, .. }
            | Violation::PathLen { position, .. }
            | Violation::CaEku { position, .. }
            | Violation::WeakSignature { position, .. } => Some(Culprit::Sent(*position)),
            Violation::LeafIsCa
            | Violation::LeafEku { .. }
            | Violation::LeafKeyUsage { .. }
            | Violation::SignerKeyUsage { .. } => Some(Culprit::Sent(0)),
            Violation::NameConstraints { position, .. } => {
                Some(position.map_or(Culprit::Anchor, Culprit::Sent))
            }
            Violation::AnchorExpired { .. } | Violation::AnchorNotYetValid { .. } => {
                Some(Culprit::Anchor)
            }
            Violation::Refused { .. } => None,
        }
    }

    fn webpki(&self, time: UnixTime) -> Error {
        let at = |secs: i64| {
            UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
        };
        match self {
            Violation::AnchorNotYetValid { not_before, .. } => Error::CertNotValidYet {
                time,
                not_before: at(*not_before),
            },
            Violation::AnchorExpired { not_after, .. } => Error::CertExpired {
                time,
                not_after: at(*not_after),
            },
            _ => Error::EndEntityUsedAsCa,
        }
    }

    /// Whether webpki's error is the kind of failure this violation is.
    #[allow(deprecated)]
    fn is_kind_of(&self, error: &Error) -> bool {
        match self {
            Violation::Expired { .. } | Violation::AnchorExpired { .. } => {
                matches!(error, Error::CertExpired { .. })
            }
            Violation::NotYetValid { .. } | Violation::AnchorNotYetValid { .. } => {
                matches!(error, Error::CertNotValidYet { .. })
            }
            Violation::LeafIsCa => matches!(error, Error::CaUsedAsEndEntity),
            Violation::LeafEku { .. } | Violation::CaEku { .. } => {
                matches!(
                    error,
                    Error::RequiredEkuNotFound
                        | Error::RequiredEkuNotFoundContext(_)
                        | Error::EmptyEkuExtension
                )
            }
            Violation::NotCa { .. } | Violation::NoKeyCertSign { .. } => {
                matches!(error, Error::EndEntityUsedAsCa)
            }
            Violation::PathLen { .. } => matches!(error, Error::PathLenConstraintViolated),
            Violation::WeakSignature { .. } => matches!(
                error,
                Error::UnsupportedSignatureAlgorithm
                    | Error::UnsupportedSignatureAlgorithmContext(_)
                    | Error::UnsupportedSignatureAlgorithmForPublicKey
                    | Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
                    | Error::InvalidSignatureForPublicKey
                    | Error::SignatureAlgorithmMismatch
            ),
            Violation::NameConstraints { .. } => matches!(error, Error::NameConstraintViolation),
            Violation::LeafKeyUsage { .. }
            | Violation::SignerKeyUsage { .. }
            | Violation::Refused { .. } => false,
        }
    }

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
            } => {
                let whose = match position {
                    Some(p) => who(p),
                    None => format!("an anchor of store {store}"),
                };
                format!(
                    "name constraints of {whose} ({constraints}) exclude the leaf's names ({})",
                    list(names)
                )
            }
            Violation::Refused { error } => format!("the validator refused the path: {error}"),
        }
    }
}

/// Why one store has no valid path: where the best candidate stops and
/// which rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explanation {
    /// No path by names and signatures (incomplete or untrusted).
    Unlinked(PathOutcome),
    /// A linked path that breaks a rule.
    Broken {
        path: Vec<usize>,
        violation: Violation,
    },
}

/// Explains a refusal of every path to `store`.
pub fn explain(
    search: &PathSearch,
    facts: &[CertFacts],
    store: &TrustStore,
    now: i64,
    purpose: Purpose,
    refusal: &Refusal,
) -> Explanation {
    let error = match refusal {
        Refusal::Rule { path, violation } => {
            return Explanation::Broken {
                path: path.clone(),
                violation: violation.clone(),
            };
        }
        Refusal::Validator(error) => error,
    };
    if search.linked.is_empty() {
        return Explanation::Unlinked(search.dead_end.clone().unwrap_or_else(|| {
            PathOutcome::Incomplete {
                path: vec![0],
                detail: error.to_string(),
            }
        }));
    }
    let all: Vec<(&Linked, Vec<Violation>)> = search
        .linked
        .iter()
        .map(|l| (l, violations(l, facts, store, now, purpose, error)))
        .collect();
    let pick = all
        .iter()
        .find(|(_, v)| v.first().is_some_and(|v| v.is_kind_of(error)))
        .or_else(|| {
            all.iter()
                .find(|(_, v)| v.iter().any(|v| v.is_kind_of(error)))
        })
        .or_else(|| all.iter().find(|(_, v)| !v.is_empty()));
    match pick {
        Some((linked, found)) => {
            let violation = found
                .iter()
                .find(|v| v.is_kind_of(error))
                .or(found.first())
                .cloned()
                .unwrap_or_else(|| Violation::Refused {
                    error: error.to_string(),
                });
            Explanation::Broken {
                path: linked.path.clone(),
                violation,
            }
        }
        None => Explanation::Broken {
            path: search.linked[0].path.clone(),
            violation: Violation::Refused {
                error: error.to_string(),
            },
        },
    }
}

/// Every rule a linked path breaks, leaf first.
fn violations(
    linked: &Linked,
    facts: &[CertFacts],
    store: &TrustStore,
    now: i64,
    purpose: Purpose,
    error: &Error,
) -> Vec<Violation> {
    let server = purpose == Purpose::TlsServer;
    let mut out = Vec::new();
    let last = linked.path.len().saturating_sub(1);
    for (depth, &position) in linked.path.iter().enumerate() {
        let Some(c) = facts.get(position) else {
            continue;
        };
        match (c.not_before, c.not_after) {
            (Some(nb), _) if now < nb => out.push(Violation::NotYetValid {
                position,
                not_before: nb,
            }),
            (_, Some(na)) if now > na => out.push(Violation::Expired {
                position,
                not_after: na,
            }),
            _ => {}
        }
        if depth == 0 {
            if c.is_ca {
                out.push(Violation::LeafIsCa);
            }
            if server && !allows_server_auth(c) {
                out.push(Violation::LeafEku {
                    present: c.ext_key_usage.clone().unwrap_or_default(),
                });
            }
            out.extend(leaf_key_usage(c, purpose));
        } else {
            if !c.is_ca {
                out.push(Violation::NotCa {
                    position,
                    basic_constraints: c.basic_constraints,
                });
            }
            if !allows_cert_sign(c) {
                out.push(Violation::NoKeyCertSign {
                    position,
                    present: c.key_usage.clone().unwrap_or_default(),
                });
            }
            if let Some(path_len) = c.path_len
                && depth - 1 > path_len as usize
            {
                out.push(Violation::PathLen {
                    position,
                    path_len,
                    below: depth - 1,
                });
            }
            if server && !allows_server_auth(c) {
                out.push(Violation::CaEku {
                    position,
                    present: c.ext_key_usage.clone().unwrap_or_default(),
                });
            }
        }
        // A sent copy of the anchor is not relied on for its signature.
        let is_sent_anchor = depth == last && linked.anchor.is_none();
        if !is_sent_anchor && is_weak_signature(&c.signature_algorithm) {
            out.push(Violation::WeakSignature {
                position,
                algorithm: c.signature_algorithm.clone(),
            });
        }
    }
    if let Some(v) = linked.anchor.and_then(|i| anchor_validity(store, i, now)) {
        out.push(v);
    }
    if matches!(error, Error::NameConstraintViolation) {
        let constrained = linked
            .path
            .iter()
            .skip(1)
            .filter_map(|p| facts.get(*p))
            .find(|c| c.name_constraints.is_some());
        let names = facts.first().map(|l| l.sans.clone()).unwrap_or_default();
        out.push(Violation::NameConstraints {
            position: constrained.map(|c| c.position),
            constraints: constrained
                .and_then(|c| c.name_constraints.clone())
                .unwrap_or_else(|| "set by the anchor".to_owned()),
            names,
        });
    }
    out
}
