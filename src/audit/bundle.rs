//! A PKCS#12 or PEM bundle into its certificates and private keys.
//!
//! PKCS#12 decoding (MAC check, PBES1 3DES/RC2 and PBES2 PBKDF2/AES bags)
//! is `p12-keystore`'s; this module only tells the two formats apart and
//! turns the decoder's failures into something an engineer can act on.

use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as P12Error;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use thiserror::Error;

use crate::text::named_enum;

/// What was in the file.
#[derive(Debug)]
pub struct Bundle {
    pub format: Format,
    /// In file order.
    pub certs: Vec<CertificateDer<'static>>,
    pub keys: Vec<PrivateKeyDer<'static>>,
    /// Friendly names of the PKCS#12 certificate bags, index for index
    /// (`None` for PEM, or a bag without one).
    pub names: Vec<Option<String>>,
}

named_enum! {
/// How a bundle file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pkcs12 = "pkcs12",
    Pem = "pem",
    /// One DER certificate (a profile's `.root`/`.pkcs1` payload).
    Der = "der",
}
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("wrong password for the PKCS#12 (its MAC does not verify)")]
    WrongPassword,
    #[error("the PKCS#12 is protected by a password: give it with --password-file")]
    PasswordNeeded,
    #[error("the PKCS#12 cannot be decrypted: {0}")]
    Decrypt(String),
    #[error("not a PKCS#12 (DER) or PEM file: {0}")]
    Format(String),
    #[error("PEM: {0}")]
    Pem(String),
}

/// Decodes `bytes`: PEM text when it has a `-----BEGIN` line, else one
/// DER certificate or a PKCS#12. `password` is the PKCS#12 password; with
/// `None`, the empty password (`-passout pass:`) is tried.
pub fn decode(bytes: &[u8], password: Option<&str>) -> Result<Bundle, BundleError> {
    if is_pem(bytes) {
        return decode_pem(bytes);
    }
    if let Some(cert) = single_der_certificate(bytes) {
        return Ok(Bundle {
            format: Format::Der,
            certs: vec![cert],
            keys: Vec::new(),
            names: vec![None],
        });
    }
    decode_pkcs12(bytes, password)
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes
        .windows(11)
        .take(64 * 1024)
        .any(|w| w == b"-----BEGIN ")
}

/// A DER certificate alone: a `.cer` file or a profile's root payload.
fn single_der_certificate(bytes: &[u8]) -> Option<CertificateDer<'static>> {
    match x509_parser::parse_x509_certificate(bytes) {
        Ok(([], _)) => Some(CertificateDer::from(bytes.to_vec())),
        _ => None,
    }
}

fn decode_pem(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let mut certs = Vec::new();
    let mut keys = Vec::new();
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, der) = item.map_err(|e| BundleError::Pem(e.to_string()))?;
        match kind {
            SectionKind::Certificate => certs.push(CertificateDer::from(der)),
            SectionKind::PrivateKey => keys.push(PrivateKeyDer::Pkcs8(der.into())),
            SectionKind::RsaPrivateKey => keys.push(PrivateKeyDer::Pkcs1(der.into())),
            SectionKind::EcPrivateKey => keys.push(PrivateKeyDer::Sec1(der.into())),
            _ => {}
        }
    }
    if certs.is_empty() && keys.is_empty() {
        return Err(BundleError::Pem(
            "no CERTIFICATE or PRIVATE KEY section".to_owned(),
        ));
    }
    let names = vec![None; certs.len()];
    Ok(Bundle {
        format: Format::Pem,
        certs,
        keys,
        names,
    })
}

fn decode_pkcs12(bytes: &[u8], password: Option<&str>) -> Result<Bundle, BundleError> {
    let archive = Pkcs12Archive::from_pkcs12(bytes, password.unwrap_or("")).map_err(|e| {
        match e {
            P12Error::MacError(_) if password.is_none() => BundleError::PasswordNeeded,
            P12Error::MacError(_) => BundleError::WrongPassword,
            // Without a MAC a wrong password shows as bad padding.
            P12Error::UnpadError if password.is_none() => BundleError::PasswordNeeded,
            P12Error::UnpadError => BundleError::WrongPassword,
            P12Error::DerError(e) => BundleError::Format(e.to_string()),
            P12Error::InvalidVersion | P12Error::UnsupportedContentType => {
                BundleError::Format(e.to_string())
            }
            other => BundleError::Decrypt(other.to_string()),
        }
    })?;
    let names = archive
        .certs
        .iter()
        .map(|c| c.friendly_name.clone())
        .collect();
    let certs = archive
        .certs
        .iter()
        .map(|c| CertificateDer::from(c.cert.as_der().to_vec()))
        .collect();
    let keys = archive
        .keys
        .iter()
        .map(|k| PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(k.key.as_der().to_vec())))
        .collect();
    Ok(Bundle {
        format: Format::Pkcs12,
        certs,
        keys,
        names,
    })
}
