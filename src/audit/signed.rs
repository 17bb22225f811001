//! A CMS-signed profile (RFC 5652 SignedData, as Jamf Pro, Apple
//! Configurator and `openssl smime -sign` write it): the signed content,
//! the signer's certificate and whether the signature verifies.
//!
//! Decoding is RustCrypto `cms` (DER or BER); the signature is checked with
//! ring over the DER of the signed attributes (RFC 5652 5.4), after the
//! messageDigest attribute is compared with the content's digest.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::analyze::x509::{render_name, serial_hex, strip_zeros};

const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";

/// The content and what is known about its signature.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub content: Vec<u8>,
    pub signature: SignatureReport,
    /// The DER of each certificate the SignedData carries, in its order:
    /// the signer's (when included) and whatever issuers the signing tool
    /// added, for judging the signer's path.
    pub certificates: Vec<Vec<u8>>,
}

/// The signer and the signature's verdict, for people and JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// The signature verifies with the signer certificate's key over the
    /// content actually carried.
    pub valid: bool,
    pub detail: String,
    /// `sha256`, `sha1`, ... of the signer info.
    pub digest: String,
    pub signer: Option<Signer>,
    /// Certificates carried in the SignedData.
    pub certificates: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub sha256: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignedError {
    #[error("not CMS: {0}")]
    NotCms(String),
    #[error("CMS content type {0} is not SignedData")]
    NotSignedData(String),
    #[error("SignedData: {0}")]
    SignedData(String),
    #[error("the SignedData carries no content (a detached signature)")]
    Detached,
}

/// Unwraps a SignedData ContentInfo (DER or BER) and checks its first
/// signer.
pub(crate) fn unwrap(bytes: &[u8]) -> Result<Signed, SignedError> {
    let info = ContentInfo::from_ber(bytes).map_err(|e| SignedError::NotCms(e.to_string()))?;
    if info.content_type.to_string() != SIGNED_DATA {
        return Err(SignedError::NotSignedData(info.content_type.to_string()));
    }
    let sd =
        reparse::<SignedData>(&info.content).map_err(|e| SignedError::SignedData(e.to_string()))?;
    let content = match &sd.encap_content_info.econtent {
        Some(any) => octets(any).map_err(|e| SignedError::SignedData(format!("eContent: {e}")))?,
        None => return Err(SignedError::Detached),
    };
    let certs: Vec<Vec<u8>> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => c.to_der().ok(),
            _ => None,
        })
        .collect();
    let signature = match sd.signer_infos.0.iter().next() {
        Some(si) => verify_signer(si, &content, &certs),
        None => SignatureReport {
            valid: false,
            detail: "no signer info".to_owned(),
            digest: String::new(),
            signer: None,
            certificates: certs.len(),
        },
    };
    Ok(Signed {
        content,
        signature,
        certificates: certs,
    })
}

/// A value decoded again from its own encoding, under BER rules (the
/// outer `Any` keeps inner indefinite lengths as they were).
fn reparse<T: for<'a> Decode<'a, Error = der::Error>>(any: &Any) -> der::Result<T> {
    T::from_ber(&any.to_der()?)
}

/// The eContent's octets. A BER encoder (`openssl cms -stream`, Apple's
/// `security cms`) writes them as a constructed OCTET STRING of chunks,
/// which the decoded `Any` keeps as the chunks' encodings one after the
/// other: when the value is exactly a run of OCTET STRINGs, the chunks are
/// joined. A profile (`<`, `bplist`, a BOM) never starts with the OCTET
/// STRING tag, so a primitive value cannot be mistaken for chunks.
fn octets(any: &Any) -> der::Result<Vec<u8>> {
    let value = any.value();
    if let Some(joined) = chunks(value) {
        return Ok(joined);
    }
    Ok(any.decode_as::<OctetString>()?.as_bytes().to_vec())
}

fn chunks(value: &[u8]) -> Option<Vec<u8>> {
    use der::Reader;
    if value.first() != Some(&0x04) {
        return None;
    }
    let mut reader = der::SliceReader::new(value).ok()?;
    let mut out = Vec::with_capacity(value.len());
    while !reader.is_finished() {
        let chunk = OctetString::decode(&mut reader).ok()?;
        out.extend_from_slice(chunk.as_bytes());
    }
    Some(out)
}

fn verify_signer(si: &SignerInfo, content: &[u8], certs: &[Vec<u8>]) -> SignatureReport {
    let digest_oid = si.digest_alg.oid.to_string();
    let digest = digest_name(&digest_oid).unwrap_or(&digest_oid).to_owned();
    let parsed: Vec<X509Certificate<'_>> = certs
        .iter()
        .filter_map(|d| X509Certificate::from_der(d).ok().map(|(_, c)| c))
        .collect();
    let signer = parsed.iter().find(|c| identifies(&si.sid, c));
    let report = |valid: bool, detail: String| SignatureReport {
        valid,
        detail,
        digest: digest.clone(),
        signer: signer.map(signer_facts),
        certificates: certs.len(),
    };
    let Some(cert) = signer else {
        return report(
            false,
            "the signer's certificate is not in the SignedData".to_owned(),
        );
    };
    let message = match &si.signed_attrs {
        Some(attrs) => {
            let Some(wanted) = message_digest(attrs) else {
                return report(false, "signed attributes without messageDigest".to_owned());
            };
            let Some(got) = hash(&digest_oid, content) else {
                return report(false, format!("unsupported digest algorithm {digest}"));
            };
            if got != wanted {
                return report(
                    false,
                    "the content's digest is not the signed messageDigest: the profile was changed after signing"
                        .to_owned(),
                );
            }
            match attrs.to_der() {
                Ok(der) => der,
                Err(e) => return report(false, format!("signed attributes: {e}")),
            }
        }
        None => content.to_vec(),
    };
    let Some(alg) =
        verification_algorithm(&si.signature_algorithm.oid.to_string(), &digest_oid, cert)
    else {
        return report(
            false,
            format!(
                "unsupported signature algorithm {} with {digest}",
                si.signature_algorithm.oid
            ),
        );
    };
    let key = UnparsedPublicKey::new(alg, cert.public_key().subject_public_key.data.as_ref());
    match key.verify(&message, si.signature.as_bytes()) {
        Ok(()) => report(
            true,
            format!("signed by {} ({digest})", render_name(cert.subject())),
        ),
        Err(_) => report(
            false,
            format!(
                "the signature does not verify with the key of {}",
                render_name(cert.subject())
            ),
        ),
    }
}

fn identifies(sid: &SignerIdentifier, cert: &X509Certificate<'_>) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            isn.issuer
                .to_der()
                .is_ok_and(|d| d == cert.issuer().as_raw())
                && strip_zeros(isn.serial_number.as_bytes()) == strip_zeros(cert.raw_serial())
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert.extensions().iter().any(|e| {
            matches!(e.parsed_extension(), ParsedExtension::SubjectKeyIdentifier(k)
                if k.0 == ski.0.as_bytes())
        }),
    }
}

fn message_digest(attrs: &cms::cert::x509::attr::Attributes) -> Option<Vec<u8>> {
    let attr = attrs.iter().find(|a| a.oid.to_string() == MESSAGE_DIGEST)?;
    let value = attr.values.iter().next()?;
    value
        .decode_as::<OctetString>()
        .ok()
        .map(|o| o.as_bytes().to_vec())
}

fn digest_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.3.14.3.2.26" => "sha1",
        "2.16.840.1.101.3.4.2.1" => "sha256",
        "2.16.840.1.101.3.4.2.2" => "sha384",
        "2.16.840.1.101.3.4.2.3" => "sha512",
        _ => return None,
    })
}

fn hash(oid: &str, data: &[u8]) -> Option<Vec<u8>> {
    let alg = match digest_name(oid)? {
        "sha1" => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        "sha256" => &ring::digest::SHA256,
        "sha384" => &ring::digest::SHA384,
        _ => &ring::digest::SHA512,
    };
    Some(ring::digest::digest(alg, data).as_ref().to_vec())
}

/// ring's algorithm for a SignerInfo: `rsaEncryption` (what OpenSSL and
/// Apple write) or `shaNNNWithRSAEncryption` with the digest algorithm, or
/// ECDSA on the signer key's curve.
fn verification_algorithm(
    sig_oid: &str,
    digest_oid: &str,
    cert: &X509Certificate<'_>,
) -> Option<&'static dyn VerificationAlgorithm> {
    let digest = digest_name(digest_oid)?;
    let rsa = matches!(
        sig_oid,
        "1.2.840.113549.1.1.1"
            | "1.2.840.113549.1.1.5"
            | "1.2.840.113549.1.1.11"
            | "1.2.840.113549.1.1.12"
            | "1.2.840.113549.1.1.13"
    );
    let ecdsa = sig_oid.starts_with("1.2.840.10045.4.3.") || sig_oid == "1.2.840.10045.2.1";
    if rsa {
        return Some(match digest {
            "sha1" => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            "sha256" => &signature::RSA_PKCS1_2048_8192_SHA256,
            "sha384" => &signature::RSA_PKCS1_2048_8192_SHA384,
            _ => &signature::RSA_PKCS1_2048_8192_SHA512,
        });
    }
    if ecdsa {
        let curve = cert
            .public_key()
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string())?;
        return match (curve.as_str(), digest) {
            ("1.2.840.10045.3.1.7", "sha256") => Some(&signature::ECDSA_P256_SHA256_ASN1),
            ("1.2.840.10045.3.1.7", "sha384") => Some(&signature::ECDSA_P256_SHA384_ASN1),
            ("1.3.132.0.34", "sha256") => Some(&signature::ECDSA_P384_SHA256_ASN1),
            ("1.3.132.0.34", "sha384") => Some(&signature::ECDSA_P384_SHA384_ASN1),
            _ => None,
        };
    }
    None
}

fn signer_facts(cert: &X509Certificate<'_>) -> Signer {
    Signer {
        subject: render_name(cert.subject()),
        issuer: render_name(cert.issuer()),
        serial: serial_hex(cert.raw_serial()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        sha256: hex::encode(Sha256::digest(cert.as_raw())),
    }
}
