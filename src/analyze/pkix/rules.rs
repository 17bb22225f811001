//! The certificate profile rules a relying party refuses a path for, and
//! the rules of the leaf for each purpose.

use super::extensions::{AKI, PROCESSED, SKI, name_constraints, sans};
use super::{KeyIdProblem, Purpose, Violation, names};
use crate::analyze::x509::{ext_key_usage, key_usage};
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::X509Certificate;

/// Certificate profile rules of RFC 5280 section 4 that a relying party
/// refuses a path for: critical extensions it does not process, critical
/// key identifiers, a CA with an empty subject, an empty subject without a
/// critical SAN, nameConstraints on an end entity or malformed,
/// keyCertSign without CA:TRUE.
pub(super) fn profile(
    p: usize,
    cert: &X509Certificate<'_>,
    end_entity: bool,
) -> Result<(), Violation> {
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
pub(super) fn leaf_rules(
    p: usize,
    cert: &X509Certificate<'_>,
    purpose: Purpose,
) -> Result<(), Violation> {
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
