//! The extensions the validator reads, each found once per certificate,
//! and which critical ones it processes.

use x509_parser::extensions::{GeneralName, NameConstraints, ParsedExtension};
use x509_parser::prelude::X509Certificate;

/// Extensions this validator processes (or, for the CRL distribution
/// points, that revocation flows process): a critical extension outside
/// this list refuses the path.
pub(super) const PROCESSED: [&str; 10] = [
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
pub(super) const AKI: &str = "2.5.29.35";
pub(super) const SKI: &str = "2.5.29.14";

pub(super) fn unprocessed_critical(cert: &X509Certificate<'_>) -> Option<String> {
    cert.extensions()
        .iter()
        .filter(|e| e.critical)
        .map(|e| e.oid.to_id_string())
        .find(|oid| !PROCESSED.contains(&oid.as_str()))
}

pub(super) fn name_constraints<'a>(cert: &X509Certificate<'a>) -> Option<NameConstraints<'a>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::NameConstraints(nc) => Some(nc.clone()),
            _ => None,
        })
}

pub(super) fn policies(cert: &X509Certificate<'_>) -> Option<Vec<String>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::CertificatePolicies(cp) => {
                Some(cp.iter().map(|p| p.policy_id.to_id_string()).collect())
            }
            _ => None,
        })
}

pub(super) fn mappings(cert: &X509Certificate<'_>) -> Vec<(String, String)> {
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

pub(super) fn sans<'a>(cert: &X509Certificate<'a>) -> (Vec<GeneralName<'a>>, Option<bool>) {
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
