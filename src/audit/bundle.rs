//! A PKCS#12 or PEM bundle into its certificates and private keys.
//!
//! PKCS#12 decoding (MAC check, PBES1 3DES/RC2 and PBES2 PBKDF2/AES bags)
//! is `p12-keystore`'s; PEM sections are rustls-pki-types', and an
//! `ENCRYPTED PRIVATE KEY` (PKCS#8 with PBES2, which rustls-pki-types does
//! not read) is decrypted by the `pkcs8` crate. This module only tells the
//! formats apart and turns the decoders' failures into something an
//! engineer can act on. A key that cannot be read is an error, never a
//! section left out: a bundle without its key must not look like a bundle
//! that has none.

use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as P12Error;
use pkcs8::der::Decode;
use pkcs8::pkcs5::{self, pbes2};
use pkcs8::{EncryptedPrivateKeyInfoOwned, PrivateKeyInfoRef};
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::time::SystemTime;
use thiserror::Error;

use crate::analyze::bundle::{self as verdict, BundleReport};
use crate::analyze::trust::TrustStore;
use crate::outcome::{Finding, Level, Reason};
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
    #[error(
        "PEM private key {index} is encrypted (ENCRYPTED PRIVATE KEY): give its password with --password-file"
    )]
    KeyPasswordNeeded { index: usize },
    #[error(
        "wrong password for PEM private key {index} (ENCRYPTED PRIVATE KEY): it does not decrypt to a private key"
    )]
    KeyWrongPassword { index: usize },
    #[error("PEM private key {index} (ENCRYPTED PRIVATE KEY) cannot be decrypted: {detail}")]
    KeyUnsupported { index: usize, detail: String },
    /// Deriving the key would cost more than one check may spend: refused
    /// before any derivation runs.
    #[error("PEM private key {index} (ENCRYPTED PRIVATE KEY) cannot be decrypted: {cost}")]
    KeyTooCostly { index: usize, cost: KdfCost },
    #[error(
        "PEM private key {index} ({label}) is encrypted the legacy OpenSSL way (Proc-Type: 4,ENCRYPTED{dek}), \
         which is not read; convert it first: openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out KEY.p8"
    )]
    LegacyEncrypted {
        index: usize,
        label: String,
        dek: String,
    },
}

/// A key derivation over the bound a check allows, with its numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KdfCost {
    #[error("PBKDF2 asks for {iterations} iterations, more than the {limit} this check runs")]
    Pbkdf2 { iterations: u32, limit: u32 },
    #[error(
        "scrypt asks for {bytes} bytes of memory {parallel} times, more than the {max_bytes} \
         bytes {max_parallel} times this check allows"
    )]
    Scrypt {
        bytes: u64,
        parallel: u16,
        max_bytes: u64,
        max_parallel: u16,
    },
    /// Every key of the file together: many keys each under the per-key
    /// bound must not add up to a stall.
    #[error(
        "the file's {keys} encrypted keys ask for {iterations} PBKDF2 iterations in all, more \
         than the {limit} one check runs"
    )]
    FileTotal {
        keys: usize,
        iterations: u64,
        limit: u64,
    },
}

impl BundleError {
    /// Whether the engineer must give (another) password: not a verdict
    /// about the file, which may be fine with the right one.
    pub(crate) fn needs_password(&self) -> bool {
        matches!(
            self,
            BundleError::WrongPassword
                | BundleError::PasswordNeeded
                | BundleError::KeyWrongPassword { .. }
                | BundleError::KeyPasswordNeeded { .. }
        )
    }
}

/// The most PBKDF2 iterations an encrypted key may ask for: OpenSSL writes
/// 2,048, the `pkcs8` crate 600,000; ten million take seconds, more is a
/// file made to stall the check.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The PBKDF2 iterations all encrypted keys of one file may ask for
/// together: fifty keys at just under the per-key cap would otherwise
/// take minutes.
const MAX_PBKDF2_ITERATIONS_PER_FILE: u64 = 20_000_000;
/// The most memory (128 * r * N bytes) scrypt may ask for (OpenSSL's own
/// default limit is 32 MiB), and the most passes over it.
const MAX_SCRYPT_BYTES: u64 = 64 * 1024 * 1024;
const MAX_SCRYPT_PARALLEL: u16 = 16;

/// Decodes `bytes`: PEM text when it has a `-----BEGIN` line, else one
/// DER certificate or a PKCS#12. `password` is the PKCS#12 password, or
/// that of a PEM bundle's encrypted keys; with `None`, the empty password
/// (`-passout pass:`) is tried.
pub(crate) fn decode(bytes: &[u8], password: Option<&str>) -> Result<Bundle, BundleError> {
    if is_pem(bytes) {
        return decode_pem(bytes, password);
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

/// Judges a decoded file against `stores` at `now`
/// ([`crate::analyze::bundle::judge`] with its policy). A PKCS#12 is what
/// the STIG supplement has the admin upload as "the server's certificate"
/// with its key: one that carries a server certificate but no key for it
/// fails (`key_mismatch`); a PKCS#12 of CA certificates only needs none.
pub fn judge(
    bundle: &Bundle,
    stores: &[&TrustStore],
    now: SystemTime,
    name: Option<&rustls::pki_types::ServerName<'_>>,
) -> BundleReport {
    let mut report = verdict::judge(
        &bundle.certs,
        &bundle.keys,
        stores,
        &verdict::policy(),
        now,
        name,
    );
    if bundle.format == Format::Pkcs12
        && bundle.keys.is_empty()
        && let Some(leaf) = report
            .certificates
            .first()
            .filter(|_| report.leaf.is_some())
    {
        let name = if leaf.subject_cn.is_empty() {
            &leaf.subject
        } else {
            &leaf.subject_cn
        };
        report.findings.insert(
            0,
            Finding::new(
                Reason::KeyMismatch,
                Level::Fail,
                format!(
                    "the PKCS#12 carries the server certificate {name} but no private key: \
                     a server (or device) given this file has no key to use it with; \
                     export it with its key (openssl pkcs12 -export -inkey KEY)"
                ),
            ),
        );
    }
    report
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

fn decode_pem(bytes: &[u8], password: Option<&str>) -> Result<Bundle, BundleError> {
    let blocks = pem_blocks(bytes);
    // Before rustls-pki-types sees them: it would fail on the headers'
    // base64 with an error that says nothing about encryption.
    for (index, block) in blocks.iter().filter(|b| b.is_key()).enumerate() {
        if let Some(dek) = block.legacy_encryption() {
            return Err(BundleError::LegacyEncrypted {
                index,
                label: block.label.clone(),
                dek,
            });
        }
    }
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
    let encrypted: Vec<&PemBlock<'_>> = blocks
        .iter()
        .filter(|b| b.label == "ENCRYPTED PRIVATE KEY")
        .collect();
    // The whole file's key-derivation cost, before any is paid.
    let total: u64 = encrypted.iter().map(|b| pbkdf2_iterations(b.text)).sum();
    if total > MAX_PBKDF2_ITERATIONS_PER_FILE {
        return Err(BundleError::KeyTooCostly {
            index: keys.len(),
            cost: KdfCost::FileTotal {
                keys: encrypted.len(),
                iterations: total,
                limit: MAX_PBKDF2_ITERATIONS_PER_FILE,
            },
        });
    }
    for block in encrypted {
        keys.push(decrypt_pkcs8(block.text, password, keys.len())?);
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

/// One `-----BEGIN LABEL-----` ... `-----END LABEL-----` block of a PEM
/// text, boundaries included.
struct PemBlock<'a> {
    label: String,
    text: &'a [u8],
}

impl PemBlock<'_> {
    fn is_key(&self) -> bool {
        self.label.ends_with("PRIVATE KEY")
    }

    /// The cipher of an RFC 1421 `Proc-Type: 4,ENCRYPTED` block (from its
    /// `DEK-Info` header, as `, DEK-Info AES-256-CBC`), `None` when the
    /// block is not encrypted that way.
    fn legacy_encryption(&self) -> Option<String> {
        let mut lines = self.text.split(|b| *b == b'\n').map(|l| l.trim_ascii());
        let encrypted = lines.clone().any(|l| {
            l.strip_prefix(b"Proc-Type:")
                .is_some_and(|v| v.trim_ascii().ends_with(b"ENCRYPTED"))
        });
        if !encrypted {
            return None;
        }
        let cipher = lines
            .find_map(|l| l.strip_prefix(b"DEK-Info:"))
            .and_then(|v| v.split(|b| *b == b',').next())
            .map(|c| String::from_utf8_lossy(c.trim_ascii()).into_owned());
        Some(cipher.map_or_else(String::new, |c| format!(", DEK-Info {c}")))
    }
}

/// Every block of a PEM text, in file order. Only boundaries are looked
/// at; what is between them is each decoder's to judge.
fn pem_blocks(bytes: &[u8]) -> Vec<PemBlock<'_>> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, usize)> = None;
    let mut at = 0;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let start = at;
        at += line.len();
        let trimmed = line.trim_ascii();
        let label = |prefix: &[u8]| {
            trimmed
                .strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(b"-----"))
                .map(|l| String::from_utf8_lossy(l).into_owned())
        };
        if let Some(l) = label(b"-----BEGIN ") {
            open = Some((l, start));
        } else if let Some(l) = label(b"-----END ")
            && let Some((begun, from)) = open.take_if(|(b, _)| *b == l)
        {
            blocks.push(PemBlock {
                label: begun,
                text: &bytes[from..at],
            });
        }
    }
    blocks
}

/// An `ENCRYPTED PRIVATE KEY` (PKCS#8 `EncryptedPrivateKeyInfo`, PBES2 as
/// `openssl pkcs8 -topk8 -v2 ...` and `openssl genpkey -aes256` write it)
/// decrypted with `password`, or the empty password when none was given.
/// `index` is the key's index in the bundle, for the errors.
/// The PBKDF2 iterations an `ENCRYPTED PRIVATE KEY` block asks for (0 when
/// it is not PBES2 with PBKDF2, or does not parse: decrypting says why).
fn pbkdf2_iterations(block: &[u8]) -> u64 {
    let Ok((_, der)) = pkcs8::der::pem::decode_vec(block) else {
        return 0;
    };
    match EncryptedPrivateKeyInfoOwned::from_der(&der).map(|i| i.encryption_algorithm) {
        Ok(pkcs5::EncryptionScheme::Pbes2(p)) => match p.kdf {
            pbes2::Kdf::Pbkdf2(k) => u64::from(k.iteration_count),
            _ => 0,
        },
        _ => 0,
    }
}

fn decrypt_pkcs8(
    block: &[u8],
    password: Option<&str>,
    index: usize,
) -> Result<PrivateKeyDer<'static>, BundleError> {
    let pem_error = |e: String| BundleError::Pem(format!("ENCRYPTED PRIVATE KEY {index}: {e}"));
    // DER first: the PEM reader cannot look ahead, which PBES2's
    // optional parameters need.
    let (_, der) = pkcs8::der::pem::decode_vec(block).map_err(|e| pem_error(e.to_string()))?;
    let info = EncryptedPrivateKeyInfoOwned::from_der(&der).map_err(|e| {
        match scheme_oid(&der) {
            // A well-formed key under a scheme the pkcs8 crate does not
            // know (OpenSSL's `-v1` PKCS#12 PBEs).
            Some(oid) => BundleError::KeyUnsupported {
                index,
                detail: format!(
                    "{}; re-encrypt it: openssl pkcs8 -topk8 -v2 aes-256-cbc",
                    scheme_name(&oid)
                ),
            },
            None => pem_error(e.to_string()),
        }
    })?;
    bounded_cost(&info.encryption_algorithm)
        .map_err(|cost| BundleError::KeyTooCostly { index, cost })?;
    let wrong = || match password {
        None => BundleError::KeyPasswordNeeded { index },
        Some(_) => BundleError::KeyWrongPassword { index },
    };
    let document = info.decrypt(password.unwrap_or("")).map_err(|e| match e {
        // CBC without integrity: a wrong password shows as bad
        // padding, or (rarely) as plaintext that is not DER.
        pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::DecryptFailed) | pkcs8::Error::Asn1(_) => {
            wrong()
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::NoPbes1CryptSupport) => {
            BundleError::KeyUnsupported {
                index,
                detail: "PBES1 (openssl pkcs8 -v1) is not supported; re-encrypt it: \
                             openssl pkcs8 -topk8 -v2 aes-256-cbc"
                    .to_owned(),
            }
        }
        other => BundleError::KeyUnsupported {
            index,
            detail: other.to_string(),
        },
    })?;
    // Padding can come out right by chance; a private key cannot.
    PrivateKeyInfoRef::try_from(document.as_bytes()).map_err(|_| wrong())?;
    Ok(PrivateKeyDer::Pkcs8(document.as_bytes().to_vec().into()))
}

/// The encryption scheme's OID of an `EncryptedPrivateKeyInfo` whose
/// scheme the `pkcs8` crate does not decode: the SEQUENCE's first element
/// read as a plain AlgorithmIdentifier.
fn scheme_oid(der: &[u8]) -> Option<String> {
    use pkcs8::der::{Reader, SliceReader, asn1::Any};
    use pkcs8::spki::AlgorithmIdentifierOwned;
    let outer = Any::from_der(der).ok()?;
    let mut reader = SliceReader::new(outer.value()).ok()?;
    let alg = AlgorithmIdentifierOwned::decode(&mut reader).ok()?;
    // The rest must be the encrypted data, or this is no such structure.
    reader.read_slice(reader.remaining_len()).ok()?;
    Some(alg.oid.to_string())
}

fn scheme_name(oid: &str) -> String {
    if oid.starts_with("1.2.840.113549.1.12.1.") {
        format!("the PKCS#12 PBE scheme {oid} (openssl pkcs8 -v1 PBE-SHA1-...) is not supported")
    } else if oid.starts_with("1.2.840.113549.1.5.") {
        format!("the PBES1 scheme {oid} (openssl pkcs8 -v1) is not supported")
    } else {
        format!("the encryption scheme {oid} is not supported")
    }
}

/// Refuses key-derivation parameters that would stall the check or
/// exhaust memory before the password is even tried.
fn bounded_cost(scheme: &pkcs5::EncryptionScheme) -> Result<(), KdfCost> {
    let pkcs5::EncryptionScheme::Pbes2(params) = scheme else {
        return Ok(());
    };
    match &params.kdf {
        pbes2::Kdf::Pbkdf2(p) if p.iteration_count > MAX_PBKDF2_ITERATIONS => {
            Err(KdfCost::Pbkdf2 {
                iterations: p.iteration_count,
                limit: MAX_PBKDF2_ITERATIONS,
            })
        }
        pbes2::Kdf::Scrypt(p) => {
            let bytes = 128u64
                .saturating_mul(u64::from(p.block_size))
                .saturating_mul(p.cost_parameter);
            if bytes > MAX_SCRYPT_BYTES || p.parallelization > MAX_SCRYPT_PARALLEL {
                Err(KdfCost::Scrypt {
                    bytes,
                    parallel: p.parallelization,
                    max_bytes: MAX_SCRYPT_BYTES,
                    max_parallel: MAX_SCRYPT_PARALLEL,
                })
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
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
            // The library's own bound on key derivation (MAC or PBES2
            // iterations, scrypt memory), or parameters it cannot use.
            P12Error::InvalidParameters => BundleError::Decrypt(
                "the PKCS#12's key-derivation parameters are refused: more than the \
                 1,000,000 MAC or PBKDF2 iterations the PKCS#12 reader runs, scrypt memory \
                 over its limit, or malformed; re-export it with `openssl pkcs12 -export` \
                 defaults (2,048 iterations)"
                    .to_owned(),
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use pkcs8::der::{Encode, asn1::OctetString, pem::LineEnding};
    use pkcs8::pkcs5::pbes2::{Kdf, Parameters, Pbkdf2Params};

    /// An `ENCRYPTED PRIVATE KEY` PEM under `params`, over bytes that are
    /// no key (the cost is refused before anything is decrypted).
    fn encrypted_pem(params: Parameters) -> String {
        let info = pkcs8::EncryptedPrivateKeyInfo {
            encryption_algorithm: pkcs5::EncryptionScheme::Pbes2(params),
            encrypted_data: OctetString::new(vec![0u8; 32]).expect("octets"),
        };
        let der = info.to_der().expect("der");
        pkcs8::der::pem::encode_string("ENCRYPTED PRIVATE KEY", LineEnding::LF, &der).expect("pem")
    }

    fn pbkdf2(iterations: u32) -> Parameters {
        let mut params = Parameters::generate_pbkdf2_sha256_aes256cbc(2048, b"saltsalt", [7; 16])
            .expect("pbes2");
        if let Kdf::Pbkdf2(Pbkdf2Params {
            iteration_count, ..
        }) = &mut params.kdf
        {
            *iteration_count = iterations;
        }
        params
    }

    #[test]
    fn pem_blocks_keep_each_labelled_block_and_skip_unmatched_boundaries() {
        let text = b"junk\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n\
                     -----BEGIN A-----\n-----END B-----\n\
                     -----BEGIN ENCRYPTED PRIVATE KEY-----\r\nAAAA\r\n-----END ENCRYPTED PRIVATE KEY-----";
        let blocks = pem_blocks(text);
        let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["EC PARAMETERS", "ENCRYPTED PRIVATE KEY"]);
        assert!(blocks[1].text.starts_with(b"-----BEGIN ENCRYPTED"));
        assert!(
            blocks[1]
                .text
                .ends_with(b"-----END ENCRYPTED PRIVATE KEY-----")
        );
        assert!(blocks[1].is_key() && !blocks[0].is_key());
    }

    #[test]
    fn legacy_encryption_is_found_by_its_headers() {
        let pem = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                    DEK-Info: DES-EDE3-CBC,0123456789ABCDEF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = decode(pem, Some("x")).expect_err("refused");
        assert_eq!(
            err,
            BundleError::LegacyEncrypted {
                index: 0,
                label: "RSA PRIVATE KEY".to_owned(),
                dek: ", DEK-Info DES-EDE3-CBC".to_owned(),
            }
        );
        let plain = pem_blocks(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assert_eq!(plain[0].legacy_encryption(), None);
    }

    #[test]
    fn key_derivation_costs_render_their_sentences() {
        let pbkdf2 = KdfCost::Pbkdf2 {
            iterations: 10_000_001,
            limit: MAX_PBKDF2_ITERATIONS,
        };
        assert_eq!(
            pbkdf2.to_string(),
            "PBKDF2 asks for 10000001 iterations, more than the 10000000 this check runs"
        );
        let scrypt = KdfCost::Scrypt {
            bytes: 1 << 30,
            parallel: 1,
            max_bytes: MAX_SCRYPT_BYTES,
            max_parallel: MAX_SCRYPT_PARALLEL,
        };
        assert_eq!(
            scrypt.to_string(),
            "scrypt asks for 1073741824 bytes of memory 1 times, more than the 67108864 bytes \
             16 times this check allows"
        );
    }

    #[test]
    fn a_key_derivation_that_would_stall_the_check_is_refused_before_it_runs() {
        let pem = encrypted_pem(pbkdf2(MAX_PBKDF2_ITERATIONS + 1));
        match decode(pem.as_bytes(), Some("x")) {
            Err(BundleError::KeyTooCostly {
                index: 0,
                cost: KdfCost::Pbkdf2 { iterations, limit },
            }) => assert_eq!((iterations, limit), (10_000_001, MAX_PBKDF2_ITERATIONS)),
            other => panic!("{other:?}"),
        }
        // Fifty keys each just under the per-key cap: the file's total is
        // refused before any derivation runs (issue 30 row 7).
        let many = encrypted_pem(pbkdf2(MAX_PBKDF2_ITERATIONS - 1)).repeat(50);
        match decode(many.as_bytes(), Some("x")) {
            Err(e) => {
                let want = KdfCost::FileTotal {
                    keys: 50,
                    iterations: 499_999_950,
                    limit: MAX_PBKDF2_ITERATIONS_PER_FILE,
                };
                assert!(
                    matches!(&e, BundleError::KeyTooCostly { index: 0, cost } if *cost == want),
                    "{e:?}"
                );
                // The sentence the engineer reads, once.
                assert_eq!(
                    e.to_string(),
                    "PEM private key 0 (ENCRYPTED PRIVATE KEY) cannot be decrypted: the file's 50 \
                     encrypted keys ask for 499999950 PBKDF2 iterations in all, more than the \
                     20000000 one check runs"
                );
            }
            other => panic!("{other:?}"),
        }

        // Within the bound the derivation runs and the zeros do not
        // decrypt: the password is what is wrong.
        let pem = encrypted_pem(pbkdf2(2048));
        assert_eq!(
            decode(pem.as_bytes(), Some("x")).expect_err("garbage"),
            BundleError::KeyWrongPassword { index: 0 }
        );
        assert_eq!(
            decode(pem.as_bytes(), None).expect_err("garbage"),
            BundleError::KeyPasswordNeeded { index: 0 }
        );
    }
}
