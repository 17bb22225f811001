//! What one sent certificate says about itself, extracted once per chain.
//!
//! Facts are produced for every certificate, including ones that do not
//! parse: blackbox_exporter and ssl_exporter lose every fact the moment
//! verification fails, and that is the gap flowprobe closes.

use crate::analyze::x509::{
    common_name, ext_key_usage, key_usage, render_ip, render_name, serial_hex, signature_name,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// Everything people and metrics need about one sent certificate.
///
/// Times are `None` only when the certificate did not parse (`error` says
/// why); there is never a sentinel date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CertFacts {
    /// Index in the order the server sent it; 0 is the leaf.
    pub position: usize,
    pub sha256: String,
    /// Why the certificate could not be parsed; the other fields are empty.
    pub error: Option<String>,
    /// RFC 4514 order: `CN=..., OU=..., O=..., C=...`.
    pub subject: String,
    pub subject_cn: String,
    pub issuer: String,
    pub issuer_cn: String,
    /// Lower-case hex, without leading zero bytes.
    pub serial: String,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    /// `rsa`, `ec`, `ed25519`, `ed448`, `dsa`, `rsa-pss` or the key algorithm OID.
    pub key_type: String,
    pub key_bits: u32,
    /// Named curve of an EC key (`P-256`, `P-384`, ...).
    pub curve: Option<String>,
    /// OpenSSL's names: `sha256WithRSAEncryption`, `ecdsa-with-SHA256`, ...
    pub signature_algorithm: String,
    /// dNSName and iPAddress subject alternative names.
    pub sans: Vec<String>,
    pub is_ca: bool,
    /// Whether the certificate has a basicConstraints extension at all.
    #[serde(skip)]
    pub basic_constraints: bool,
    /// basicConstraints pathLenConstraint of a CA certificate.
    pub path_len: Option<u32>,
    /// keyUsage bits by RFC 5280 name; `None` when the extension is absent
    /// (absent allows every use, present restricts).
    pub key_usage: Option<Vec<String>>,
    /// extendedKeyUsage purposes (`serverAuth`, `clientAuth`, `any`, or the
    /// OID); `None` when absent.
    pub ext_key_usage: Option<Vec<String>>,
    /// The nameConstraints extension for people
    /// (`permitted: DNS:.mil; excluded: DNS:.lab.test`), when present.
    pub name_constraints: Option<String>,
    /// Subject equals issuer and the certificate verifies with its own key.
    pub self_signed: bool,
    /// URIs from the CRL Distribution Points extension.
    pub crl_distribution_points: Vec<String>,
    /// OCSP responder URIs of the Authority Information Access extension.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ocsp_responders: Vec<String>,
}

/// Parses `der` and extracts its facts; the parsed certificate is returned
/// for path building so nothing is parsed twice.
pub(crate) fn extract(position: usize, der: &[u8]) -> (CertFacts, Option<X509Certificate<'_>>) {
    let sha256 = hex::encode(Sha256::digest(der));
    let cert = match X509Certificate::from_der(der) {
        Ok((rest, _)) if !rest.is_empty() => {
            let error = format!(
                "{} bytes of trailing data after the certificate",
                rest.len()
            );
            return (unparsable(position, sha256, error), None);
        }
        Ok((_, cert)) => cert,
        Err(e) => return (unparsable(position, sha256, e.to_string()), None),
    };
    let (key_type, key_bits, curve) = key_facts(&cert);
    let facts = CertFacts {
        position,
        sha256,
        error: None,
        subject: render_name(cert.subject()),
        subject_cn: common_name(cert.subject()),
        issuer: render_name(cert.issuer()),
        issuer_cn: common_name(cert.issuer()),
        serial: serial_hex(cert.raw_serial()),
        not_before: Some(cert.validity().not_before.timestamp()),
        not_after: Some(cert.validity().not_after.timestamp()),
        key_type,
        key_bits,
        curve,
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        sans: subject_alt_names(&cert),
        is_ca: cert.is_ca(),
        basic_constraints: cert.basic_constraints().ok().flatten().is_some(),
        path_len: cert
            .basic_constraints()
            .ok()
            .flatten()
            .and_then(|b| b.value.path_len_constraint),
        key_usage: key_usage(&cert),
        ext_key_usage: ext_key_usage(&cert),
        name_constraints: name_constraints(&cert),
        self_signed: is_self_signed(&cert),
        crl_distribution_points: crl_uris(&cert),
        ocsp_responders: ocsp_uris(&cert),
    };
    (facts, Some(cert))
}

fn unparsable(position: usize, sha256: String, error: String) -> CertFacts {
    CertFacts {
        position,
        sha256,
        error: Some(error),
        ..CertFacts::default()
    }
}

/// A certificate is self-signed when it is self-issued and its signature
/// verifies with its own key. When the signature algorithm is one the
/// verifier does not support, self-issued is all that can be known.
pub fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    match cert.verify_signature(None) {
        Ok(()) => true,
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => true,
        Err(_) => false,
    }
}

fn key_facts(cert: &X509Certificate<'_>) -> (String, u32, Option<String>) {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let bits = match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => significant_bits(rsa.modulus),
                _ => 0,
            };
            let name = if alg.ends_with(".10") {
                "rsa-pss"
            } else {
                "rsa"
            };
            (name.to_owned(), bits, None)
        }
        "1.2.840.10045.2.1" => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            let (curve, curve_bits) = match curve_oid.as_deref() {
                Some(oid) => curve_name(oid),
                None => ("implicit".to_owned(), 0),
            };
            let bits = if curve_bits > 0 {
                curve_bits
            } else {
                // An unknown curve: half the uncompressed point's coordinates.
                let point = &spki.subject_public_key.data;
                u32::try_from(point.len().saturating_sub(1) * 4).unwrap_or(0)
            };
            ("ec".to_owned(), bits, Some(curve))
        }
        "1.3.101.112" => ("ed25519".to_owned(), 256, None),
        "1.3.101.113" => ("ed448".to_owned(), 456, None),
        "1.2.840.10040.4.1" => {
            // The security of DSA is that of its modulus p, carried in the
            // parameters; the public value y has the same size.
            let bits = match spki.parsed() {
                Ok(PublicKey::DSA(y)) => significant_bits(y),
                _ => 0,
            };
            ("dsa".to_owned(), bits, None)
        }
        other => (other.to_owned(), 0, None),
    }
}

fn significant_bits(be: &[u8]) -> u32 {
    match be.iter().position(|b| *b != 0) {
        Some(first) => {
            let bytes = u32::try_from(be.len() - first).unwrap_or(u32::MAX / 8);
            bytes * 8 - be[first].leading_zeros()
        }
        None => 0,
    }
}

fn curve_name(oid: &str) -> (String, u32) {
    let (name, bits) = match oid {
        "1.2.840.10045.3.1.1" => ("P-192", 192),
        "1.3.132.0.33" => ("P-224", 224),
        "1.2.840.10045.3.1.7" => ("P-256", 256),
        "1.3.132.0.34" => ("P-384", 384),
        "1.3.132.0.35" => ("P-521", 521),
        "1.3.132.0.10" => ("secp256k1", 256),
        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 256),
        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 384),
        "1.3.36.3.3.2.8.1.1.13" => ("brainpoolP512r1", 512),
        other => return (other.to_owned(), 0),
    };
    (name.to_owned(), bits)
}

fn subject_alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(crate::text::printable(dns).into_owned()),
            GeneralName::IPAddress(bytes) => Some(render_ip(bytes)),
            _ => None,
        })
        .collect()
}

fn crl_uris(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut uris = Vec::new();
    for ext in cert.extensions() {
        let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() else {
            continue;
        };
        for point in points.iter() {
            if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                for name in names {
                    if let GeneralName::URI(uri) = name {
                        uris.push((*uri).to_owned());
                    }
                }
            }
        }
    }
    uris
}

/// The OCSP responder URIs of a certificate's Authority Information
/// Access extension, each once (`http://` or otherwise; callers decide
/// what they can fetch).
pub fn ocsp_uris(cert: &X509Certificate<'_>) -> Vec<String> {
    /// id-ad-ocsp (RFC 5280 4.2.2.1).
    const ID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
    let mut out: Vec<String> = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for d in &aia.accessdescs {
                if d.access_method.to_id_string() == ID_AD_OCSP
                    && let GeneralName::URI(u) = d.access_location
                    && !out.iter().any(|o| o == u)
                {
                    out.push(u.to_string());
                }
            }
        }
    }
    out
}

fn name_constraints(cert: &X509Certificate<'_>) -> Option<String> {
    let nc = cert.name_constraints().ok().flatten()?.value;
    Some(crate::analyze::x509::render_name_constraints(nc))
}
