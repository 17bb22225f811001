//! Named trust stores: the anchors a flow's sent path must reach.
//!
//! FCPCA G2 is not in the operating systems' stores, so the anchor a flow
//! must chain to is named: `fcpca-g2`, `dod-root-ca-3` and `dod-root-ca-6`
//! are built in (pinned, see [`crate::analyze::builtin_anchors`]), any
//! `[trust.NAME]` in configuration is loaded here once at configuration time
//! (and overrides a built-in of the same name); `system` is the OS store for
//! Apple's endpoints.

use crate::analyze::pkix::{NameKey, RelyingParty, name_key};
use crate::analyze::x509::render_name;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use thiserror::Error;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// Why a trust store could not be loaded; every variant names the file.
#[derive(Debug, Error)]
pub enum TrustError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a PEM certificate: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("{path}: certificate {index} is not valid X.509: {detail}")]
    Certificate {
        path: PathBuf,
        index: usize,
        detail: String,
    },
    #[error("{path}: contains no certificate")]
    Empty { path: PathBuf },
    #[error("system trust store: {0}")]
    System(String),
    #[error("built-in trust store {name}: SHA-256 {got} is not the pinned {want}")]
    Pin {
        name: String,
        got: String,
        want: String,
    },
}

/// One trusted certificate, pre-digested so path building compares bytes
/// instead of re-parsing the anchor for every probe.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub der: CertificateDer<'static>,
    /// DER of the subject name, compared byte-wise with issuer names.
    pub subject_der: Vec<u8>,
    /// The subject for people (RFC 4514 order).
    pub subject: String,
    /// DER of the SubjectPublicKeyInfo: an anchor is a name and a key.
    pub spki_der: Vec<u8>,
    pub sha256: [u8; 32],
    /// Validity in Unix seconds: a device refuses a path to an expired
    /// anchor, which webpki does not check.
    pub not_before: i64,
    pub not_after: i64,
    /// The subject in comparable form (RFC 5280 7.1), for issuers that
    /// spell the anchor's name in another string type or case.
    pub name_key: NameKey,
}

impl Anchor {
    /// Digests one DER certificate; `Err` carries the parser's complaint.
    pub fn from_der(der: CertificateDer<'static>) -> Result<Self, String> {
        let (subject_der, subject, spki_der, not_before, not_after, name_key) = {
            let (_, cert) = X509Certificate::from_der(der.as_ref()).map_err(|e| e.to_string())?;
            (
                cert.subject().as_raw().to_vec(),
                render_name(cert.subject()),
                cert.public_key().raw.to_vec(),
                cert.validity().not_before.timestamp(),
                cert.validity().not_after.timestamp(),
                name_key(cert.subject()),
            )
        };
        // The validator takes anchors in its own form; one that it cannot
        // read would silently never match, so it is refused here.
        webpki::anchor_from_trusted_cert(&der)
            .map_err(|e| format!("not usable as a trust anchor: {e}"))?;
        let sha256 = Sha256::digest(der.as_ref()).into();
        Ok(Anchor {
            der,
            subject_der,
            subject,
            spki_der,
            sha256,
            not_before,
            not_after,
            name_key,
        })
    }
}

/// A named set of anchors (`fcpca-g2`, `dod`, `system`).
#[derive(Debug, Clone)]
pub struct TrustStore {
    name: String,
    anchors: Vec<Anchor>,
    /// The same anchors, index for index, as webpki takes them.
    trust_anchors: Vec<TrustAnchor<'static>>,
    /// The relying party's policy settings for paths to these anchors.
    relying_party: RelyingParty,
}

impl TrustStore {
    pub fn new(name: impl Into<String>, anchors: Vec<Anchor>) -> Self {
        // `Anchor::from_der` proved every anchor converts.
        let anchors: Vec<Anchor> = anchors
            .into_iter()
            .filter(|a| webpki::anchor_from_trusted_cert(&a.der).is_ok())
            .collect();
        let trust_anchors = anchors
            .iter()
            .filter_map(|a| {
                webpki::anchor_from_trusted_cert(&a.der)
                    .ok()
                    .map(|t| t.to_owned())
            })
            .collect();
        TrustStore {
            name: name.into(),
            anchors,
            trust_anchors,
            relying_party: RelyingParty::default(),
        }
    }

    /// The same store judged under `relying_party`'s policy settings.
    pub fn with_relying_party(mut self, relying_party: RelyingParty) -> Self {
        self.relying_party = relying_party;
        self
    }

    pub fn relying_party(&self) -> &RelyingParty {
        &self.relying_party
    }

    /// The anchors in webpki's form, index for index with [`Self::anchors`].
    pub fn trust_anchors(&self) -> &[TrustAnchor<'static>] {
        &self.trust_anchors
    }

    /// Loads every certificate from PEM files, or from every `*.pem` / `*.crt`
    /// file of a directory (sorted, so the anchor order is reproducible).
    pub fn from_pem_paths(name: impl Into<String>, paths: &[PathBuf]) -> Result<Self, TrustError> {
        let mut anchors = Vec::new();
        for path in paths {
            if path.is_dir() {
                for file in pem_files_in(path)? {
                    anchors.extend(load_pem_file(&file)?);
                }
            } else {
                anchors.extend(load_pem_file(path)?);
            }
        }
        Ok(TrustStore::new(name, anchors))
    }

    /// The operating system's store; certificates the OS ships but that do
    /// not parse are skipped rather than failing the whole store.
    pub(crate) fn system() -> Result<Self, TrustError> {
        let loaded = rustls_native_certs::load_native_certs();
        if loaded.certs.is_empty() {
            let errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
            return Err(TrustError::System(format!(
                "no certificates found ({})",
                errors.join("; ")
            )));
        }
        let anchors = loaded
            .certs
            .into_iter()
            .filter_map(|der| Anchor::from_der(der).ok())
            .collect();
        Ok(TrustStore::new("system", anchors))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }

    /// Anchors whose subject is `name` (RFC 5280 7.1: byte for byte, or
    /// equal after folding case and spaces).
    pub(crate) fn anchors_named<'s>(
        &'s self,
        name: &X509Name<'_>,
    ) -> impl Iterator<Item = (usize, &'s Anchor)> {
        let raw = name.as_raw().to_vec();
        let key = name_key(name);
        self.anchors
            .iter()
            .enumerate()
            .filter(move |(_, a)| a.subject_der == raw || a.name_key == key)
    }
}

fn pem_files_in(dir: &Path) -> Result<Vec<PathBuf>, TrustError> {
    let read_err = |source| TrustError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let is_pem = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pem" | "crt" | "cer")
        );
        if is_pem && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn load_pem_file(path: &Path) -> Result<Vec<Anchor>, TrustError> {
    let bytes = std::fs::read(path).map_err(|source| TrustError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    anchors_from_pem(&bytes, path)
}

/// Every certificate of PEM text; `path` names its origin in errors.
pub(crate) fn anchors_from_pem(bytes: &[u8], path: &Path) -> Result<Vec<Anchor>, TrustError> {
    let mut anchors = Vec::new();
    for (index, item) in CertificateDer::pem_slice_iter(bytes).enumerate() {
        let der = item.map_err(|e| TrustError::Pem {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let anchor = Anchor::from_der(der).map_err(|detail| TrustError::Certificate {
            path: path.to_path_buf(),
            index,
            detail,
        })?;
        anchors.push(anchor);
    }
    if anchors.is_empty() {
        return Err(TrustError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(anchors)
}
