//! The certificates and keys an engineer is about to upload (a PKCS#12
//! for a profile's Certificate payload, or a PEM bundle), judged as the TLS
//! check judges what a server sends: which certificate the key belongs to,
//! the order a server would send them in, and the same path validation
//! ([`crate::analyze::chain::analyze`]) against every required store.
//!
//! Pure: DER in, a report out. Decoding the file is `crate::audit`'s job.

use crate::analyze::chain::{self, CertFacts, ChainPolicy, ChainReport, OrderRule};
use crate::analyze::trust::TrustStore;
use crate::outcome::{Finding, Level, Reason, Subject};
use crate::text::unix_secs;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Serialize;
use std::time::SystemTime;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Whether the private key belongs to a certificate of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyMatch {
    /// The key's public half is the SubjectPublicKeyInfo of this file
    /// certificate (index in file order).
    Matches { certificate: usize },
    /// No certificate carries the key's public half.
    NoCertificate,
    /// The key could not be read to derive its public half.
    Unreadable { detail: String },
}

/// One private key of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyReport {
    /// `rsa 2048`, `ec P-256`, `ed25519`, or empty when unreadable.
    pub key_type: String,
    pub matches: KeyMatch,
}

/// The whole judgement of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleReport {
    pub keys: Vec<KeyReport>,
    /// File index of the server (end-entity) certificate: the one the key
    /// matches, else the first that is not a CA. `None`: only CA
    /// certificates (a `.root` or CA bundle), judged one by one.
    pub leaf: Option<usize>,
    /// File indexes in the order a TLS server sends them: the leaf, then
    /// each certificate's issuer in turn (a cross-certificate before the
    /// self-signed certificate of the same name, the valid before the
    /// expired, the newest first), then the rest in file order.
    pub order: Vec<usize>,
    /// Facts of every certificate in sent order (`position` is the sent
    /// position; `order[position]` its index in the file).
    pub certificates: Vec<CertFacts>,
    /// The path judgement over `order`; its positions are sent positions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainReport>,
    /// For each store without a path: the certificate that is missing (the
    /// issuer the path stops at).
    pub missing: Vec<String>,
    /// Key, path and certificate findings, most important first.
    pub findings: Vec<Finding>,
}

impl BundleReport {
    pub fn reason(&self) -> Reason {
        crate::outcome::verdict(&self.findings)
    }

    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.level != Level::Fail)
    }
}

/// Certificates one file may hold to be judged: GSA's whole Federal PKI
/// bundle has about 150, the DoD's published set a few hundred. A larger
/// file is refused with a clear reason instead of judged slowly.
pub const MAX_CERTIFICATES: usize = 2_000;

/// The chain policy of a bundle check: the TLS check's defaults, without
/// the name check (the bundle does not say which name it will serve).
pub fn policy() -> ChainPolicy {
    ChainPolicy {
        name_mismatch: crate::outcome::Action::Off,
        ..ChainPolicy::default()
    }
}

/// Judges `certs` (file order) and `keys` against `stores` at `now`;
/// with `name`, the server certificate must be valid for it.
pub fn judge(
    certs: &[CertificateDer<'_>],
    keys: &[PrivateKeyDer<'_>],
    stores: &[&TrustStore],
    policy: &ChainPolicy,
    now: SystemTime,
    name: Option<&ServerName<'_>>,
) -> BundleReport {
    if certs.len() > MAX_CERTIFICATES {
        return too_many(certs.len());
    }
    let parsed: Vec<Option<X509Certificate<'_>>> = certs
        .iter()
        .map(|c| X509Certificate::from_der(c.as_ref()).ok().map(|(_, x)| x))
        .collect();
    let keys: Vec<KeyReport> = keys.iter().map(|k| match_key(k, &parsed)).collect();
    let mut findings = key_findings(&keys, certs.len());
    let leaf = server_certificate(&keys, &parsed);
    // Without a server certificate, the lowest CA (one that certifies no
    // other certificate of the file) is judged to each store, so a CA
    // bundle is judged on purpose and never passes with nothing judged.
    let target = leaf.or_else(|| lowest_ca(&parsed));
    let order = send_order(target, &parsed, unix_secs(now));
    let sent: Vec<CertificateDer<'_>> = order.iter().map(|i| certs[*i].clone()).collect();
    let placeholder = ServerName::try_from("bundle.invalid").expect("a valid DNS name");
    let policy = &judged_policy(policy, name, leaf, target, &mut findings);
    let name = name.unwrap_or(&placeholder);
    let judgement = Judgement {
        stores,
        policy,
        name,
        now,
    };
    let (certificates, chain, missing) = match target {
        Some(t) => judgement.path(&sent, t, leaf.is_none(), &mut findings),
        None => judgement.structure(&sent, &mut findings),
    };
    findings.extend(nothing_judged(certs.len(), target));
    findings.sort_by_key(|f| match f.level {
        Level::Fail => 0,
        Level::Warn => 1,
        Level::Info => 2,
    });
    BundleReport {
        keys,
        leaf,
        order,
        certificates,
        chain,
        missing,
        findings,
    }
}

/// The report of a file with more than [`MAX_CERTIFICATES`]: refused,
/// nothing judged.
fn too_many(count: usize) -> BundleReport {
    BundleReport {
        keys: Vec::new(),
        leaf: None,
        order: Vec::new(),
        certificates: Vec::new(),
        chain: None,
        missing: Vec::new(),
        findings: vec![Finding::new(
            Reason::ChainIncomplete,
            Level::Fail,
            format!(
                "the file holds {count} certificates, more than the {MAX_CERTIFICATES} a bundle \
                 check judges: split it"
            ),
        )],
    }
}

/// A finding for each key that matches no certificate (`count` in the
/// file) or cannot be read.
fn key_findings(keys: &[KeyReport], count: usize) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match &k.matches {
            KeyMatch::Matches { .. } => {}
            KeyMatch::NoCertificate => findings.push(Finding::new(
                Reason::KeyMismatch,
                Level::Fail,
                format!(
                    "private key {i} ({}) matches none of the {count} certificates: the server \
                     certificate for this key is missing, or the key is the wrong one",
                    k.key_type
                ),
            )),
            KeyMatch::Unreadable { detail } => findings.push(Finding::new(
                Reason::KeyMismatch,
                Level::Warn,
                format!("private key {i}: cannot derive its public key to compare: {detail}"),
            )),
        }
    }
    findings
}

/// The file index of the server certificate (see [`BundleReport::leaf`]).
fn server_certificate(keys: &[KeyReport], parsed: &[Option<X509Certificate<'_>>]) -> Option<usize> {
    let matched = keys.iter().find_map(|k| match k.matches {
        KeyMatch::Matches { certificate } => Some(certificate),
        _ => None,
    });
    matched.or_else(|| (0..parsed.len()).find(|i| parsed[*i].as_ref().is_some_and(|c| !c.is_ca())))
}

/// The policy the path is judged by: the name is checked when given; a CA
/// judged as the end of its own path has the CA rules and no name.
fn judged_policy(
    policy: &ChainPolicy,
    name: Option<&ServerName<'_>>,
    leaf: Option<usize>,
    target: Option<usize>,
    findings: &mut Vec<Finding>,
) -> ChainPolicy {
    let mut judged = policy.clone();
    if let Some(name) = name {
        judged.name_mismatch = crate::outcome::Action::Fail;
        if leaf.is_none() {
            findings.push(Finding::new(
                Reason::NameMismatch,
                Level::Fail,
                format!(
                    "no server certificate in the file to check the name {}",
                    name.to_str()
                ),
            ));
        }
    }
    if leaf.is_none() && target.is_some() {
        judged.purpose = chain::Purpose::Ca;
        judged.name_mismatch = crate::outcome::Action::Off;
    }
    judged
}

/// What the certificates in sent order are judged against.
struct Judgement<'a> {
    stores: &'a [&'a TrustStore],
    policy: &'a ChainPolicy,
    name: &'a ServerName<'a>,
    now: SystemTime,
}

/// The facts in sent order, the path judgement, and the missing issuers.
type Judged = (Vec<CertFacts>, Option<ChainReport>, Vec<String>);

impl Judgement<'_> {
    /// The path from the certificate of file index `target` (sent first)
    /// to each store; `ca_only`: no server certificate, `target` is a CA.
    fn path(
        &self,
        sent: &[CertificateDer<'_>],
        target: usize,
        ca_only: bool,
        findings: &mut Vec<Finding>,
    ) -> Judged {
        let report = chain::analyze(
            sent,
            self.stores,
            self.policy,
            self.name,
            self.now,
            OrderRule::Tls12,
        );
        findings.extend(report.findings.iter().cloned());
        let missing = missing_issuers(&report);
        if ca_only {
            // Nothing verified: each certificate is still judged for
            // its own validity, so an expired CA is named as such.
            if report.anchors().iter().all(|a| !a.verified) {
                judge_validity(
                    &report.certificates,
                    self.policy,
                    unix_secs(self.now),
                    findings,
                );
            }
            let ca = &report.certificates[0];
            findings.push(Finding::new(
                Reason::ChainIncomplete,
                Level::Warn,
                format!(
                    "no server certificate in the file: judged the path of CA certificate \
                     {} (file index {target}) to each store",
                    if ca.subject_cn.is_empty() {
                        &ca.subject
                    } else {
                        &ca.subject_cn
                    }
                ),
            ));
        }
        (report.certificates.clone(), Some(report), missing)
    }

    /// No certificate to start a path from: the structure, and each
    /// certificate's own validity.
    fn structure(&self, sent: &[CertificateDer<'_>], findings: &mut Vec<Finding>) -> Judged {
        let structure = chain::analyze_structure(sent, self.stores, self.policy, self.name);
        findings.extend(structure.findings.iter().cloned());
        judge_validity(
            &structure.certificates,
            self.policy,
            unix_secs(self.now),
            findings,
        );
        (structure.certificates.clone(), None, Vec::new())
    }
}

/// The finding of a file of `count` certificates with nothing to judge:
/// empty, or none parses (`target` is `None`).
fn nothing_judged(count: usize, target: Option<usize>) -> Option<Finding> {
    if count == 0 {
        Some(Finding::new(
            Reason::ChainIncomplete,
            Level::Fail,
            "the file holds no certificate",
        ))
    } else if target.is_none() {
        Some(Finding::new(
            Reason::ChainIncomplete,
            Level::Fail,
            format!("none of the {count} certificates of the file parses: nothing to judge"),
        ))
    } else {
        None
    }
}

/// The first CA certificate (file order) that certifies no other
/// certificate of the file: the bottom of a CA bundle.
fn lowest_ca(parsed: &[Option<X509Certificate<'_>>]) -> Option<usize> {
    use crate::analyze::pkix::name_key;
    let issuers: std::collections::HashSet<_> = parsed
        .iter()
        .flatten()
        .filter(|c| !crate::analyze::pkix::same_name(c.subject(), c.issuer()))
        .map(|c| name_key(c.issuer()))
        .collect();
    (0..parsed.len()).find(|i| {
        parsed[*i]
            .as_ref()
            .is_some_and(|c| c.is_ca() && !issuers.contains(&name_key(c.subject())))
    })
}

/// For each store that is not verified because the path stops short: the
/// issuer of the last certificate of its candidate path.
fn missing_issuers(report: &ChainReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in report.anchors().iter().filter(|a| !a.verified) {
        let incomplete = report.findings.iter().any(|f| {
            f.reason == Reason::ChainIncomplete
                && matches!(&f.subject, Some(Subject::Store { store }) if *store == a.store)
        });
        let Some(last) = a.path.last().and_then(|p| report.certificates.get(*p)) else {
            continue;
        };
        if !incomplete || last.self_signed {
            continue;
        }
        let text = format!(
            "{} (the issuer of position {}, {}), for store {}",
            last.issuer,
            last.position,
            if last.subject_cn.is_empty() {
                &last.subject
            } else {
                &last.subject_cn
            },
            a.store
        );
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// Certificates judged alone (no leaf): expired or not yet valid fails,
/// within the warning window warns.
fn judge_validity(certs: &[CertFacts], policy: &ChainPolicy, now: i64, out: &mut Vec<Finding>) {
    let window = i64::try_from(
        policy
            .ca_expiry_warning
            .unwrap_or(policy.expiry_warning)
            .as_secs(),
    )
    .unwrap_or(i64::MAX);
    for c in certs.iter().filter(|c| c.error.is_none()) {
        let (Some(nb), Some(na)) = (c.not_before, c.not_after) else {
            continue;
        };
        let who = format!("position {} ({})", c.position, c.subject);
        if na < now {
            out.extend(Finding::for_action(
                policy.cert_expired,
                Reason::CertExpired,
                format!("{who} expired {} days ago", (now - na) / 86_400),
            ));
        } else if nb > now {
            out.extend(Finding::for_action(
                policy.cert_not_yet_valid,
                Reason::CertNotYetValid,
                format!("{who} is not valid before {nb} (unix seconds)"),
            ));
        } else if na - now < window {
            out.extend(Finding::for_action(
                policy.cert_expiring,
                Reason::CertExpiring,
                format!("{who} expires in {} days", (na - now) / 86_400),
            ));
        }
    }
}

/// The order a TLS server sends `certs` in when `leaf` is its
/// certificate (see [`BundleReport::order`]): for any set of certificates
/// with a known end entity, such as a CMS signer and what its SignedData
/// carries.
pub(crate) fn issuer_order(
    certs: &[CertificateDer<'_>],
    leaf: usize,
    now: SystemTime,
) -> Vec<usize> {
    let parsed: Vec<Option<X509Certificate<'_>>> = certs
        .iter()
        .map(|c| X509Certificate::from_der(c.as_ref()).ok().map(|(_, x)| x))
        .collect();
    send_order(Some(leaf), &parsed, unix_secs(now))
}

/// The leaf, then issuer after issuer (by name and signature), then every
/// certificate not on that walk, in file order.
fn send_order(leaf: Option<usize>, parsed: &[Option<X509Certificate<'_>>], now: i64) -> Vec<usize> {
    use crate::analyze::pkix::name_key;
    // Subjects indexed once, and each certificate's self-signature checked
    // once: the walk is linear in the file, not cubic.
    let mut by_subject: std::collections::HashMap<_, Vec<usize>> = std::collections::HashMap::new();
    for (i, c) in parsed.iter().enumerate() {
        if let Some(c) = c {
            by_subject.entry(name_key(c.subject())).or_default().push(i);
        }
    }
    let self_signed: Vec<bool> = parsed
        .iter()
        .map(|c| c.as_ref().is_some_and(chain::is_self_signed))
        .collect();
    let mut used = vec![false; parsed.len()];
    let mut order: Vec<usize> = Vec::new();
    if let Some(leaf) = leaf {
        order.push(leaf);
        used[leaf] = true;
        let mut current = leaf;
        while let Some(next) = best_issuer(current, &used, parsed, &by_subject, &self_signed, now) {
            order.push(next);
            used[next] = true;
            current = next;
        }
    }
    order.extend((0..parsed.len()).filter(|i| !used[*i]));
    order
}

fn best_issuer(
    child: usize,
    used: &[bool],
    parsed: &[Option<X509Certificate<'_>>],
    by_subject: &std::collections::HashMap<crate::analyze::pkix::NameKey, Vec<usize>>,
    self_signed: &[bool],
    now: i64,
) -> Option<usize> {
    let child_cert = parsed.get(child)?.as_ref()?;
    if self_signed[child] {
        return None;
    }
    let named = by_subject.get(&crate::analyze::pkix::name_key(child_cert.issuer()))?;
    named
        .iter()
        .copied()
        .filter(|i| !used[*i])
        .filter_map(|i| parsed[i].as_ref().map(|c| (i, c)))
        .filter(|(_, c)| child_cert.verify_signature(Some(c.public_key())).is_ok())
        .max_by_key(|(i, c)| {
            let v = c.validity();
            let valid_now = v.not_before.timestamp() <= now && now <= v.not_after.timestamp();
            (
                !self_signed[*i],
                valid_now,
                v.not_after.timestamp(),
                std::cmp::Reverse(*i),
            )
        })
        .map(|(i, _)| i)
}

/// Derives the key's public half and finds the certificate that carries it.
fn match_key(key: &PrivateKeyDer<'_>, parsed: &[Option<X509Certificate<'_>>]) -> KeyReport {
    let (key_type, public) = match public_key(key) {
        Ok(p) => p,
        Err(detail) => {
            return KeyReport {
                key_type: String::new(),
                matches: KeyMatch::Unreadable { detail },
            };
        }
    };
    let certificate = parsed.iter().position(|c| {
        c.as_ref()
            .is_some_and(|c| c.public_key().subject_public_key.data.as_ref() == public.as_slice())
    });
    KeyReport {
        key_type,
        matches: certificate.map_or(KeyMatch::NoCertificate, |certificate| KeyMatch::Matches {
            certificate,
        }),
    }
}

/// A SEC1 `EC PRIVATE KEY` (what `openssl ecparam -genkey` writes), read
/// by ring once it is wrapped in the PKCS#8 PrivateKeyInfo of each curve
/// ring knows: ring checks that the curve the key names (when it names
/// one) is that curve, and that the public point the key carries is its
/// private scalar's.
fn sec1_public_key(sec1: &[u8]) -> Result<(String, Vec<u8>), String> {
    use pkcs8::der::Encode;
    use pkcs8::der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
    const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    let key = OctetStringRef::new(sec1).map_err(|e| format!("SEC1 key: {e}"))?;
    let rng = SystemRandom::new();
    for (curve, oid, alg) in [
        (
            "P-256",
            ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        ),
        (
            "P-384",
            ObjectIdentifier::new_unwrap("1.3.132.0.34"),
            &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        ),
    ] {
        let info = pkcs8::PrivateKeyInfoRef::new(
            pkcs8::AlgorithmIdentifierRef {
                oid: EC_PUBLIC_KEY,
                parameters: Some(AnyRef::from(&oid)),
            },
            key,
        );
        let Ok(der) = info.to_der() else { continue };
        if let Ok(kp) = EcdsaKeyPair::from_pkcs8(alg, &der, &rng) {
            return Ok((format!("ec {curve}"), kp.public_key().as_ref().to_vec()));
        }
    }
    Err("not a P-256 or P-384 SEC1 EC key that carries its public key".to_owned())
}

/// The key type and the bytes of the SubjectPublicKeyInfo's BIT STRING
/// (RSAPublicKey DER, an uncompressed EC point, an Ed25519 key), as ring
/// derives them from the private key.
fn public_key(key: &PrivateKeyDer<'_>) -> Result<(String, Vec<u8>), String> {
    let rsa = |kp: ring::rsa::KeyPair| {
        let bits = kp.public().modulus_len() * 8;
        (format!("rsa {bits}"), kp.public().as_ref().to_vec())
    };
    match key {
        PrivateKeyDer::Pkcs1(k) => ring::rsa::KeyPair::from_der(k.secret_pkcs1_der())
            .map(rsa)
            .map_err(|e| format!("RSA key: {e}")),
        PrivateKeyDer::Pkcs8(k) => {
            let der = k.secret_pkcs8_der();
            if let Ok(kp) = ring::rsa::KeyPair::from_pkcs8(der) {
                return Ok(rsa(kp));
            }
            let rng = SystemRandom::new();
            for (curve, alg) in [
                ("P-256", &signature::ECDSA_P256_SHA256_ASN1_SIGNING),
                ("P-384", &signature::ECDSA_P384_SHA384_ASN1_SIGNING),
            ] {
                if let Ok(kp) = EcdsaKeyPair::from_pkcs8(alg, der, &rng) {
                    return Ok((format!("ec {curve}"), kp.public_key().as_ref().to_vec()));
                }
            }
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map(|kp| ("ed25519".to_owned(), kp.public_key().as_ref().to_vec()))
                .map_err(|_| {
                    "not an RSA (2048 to 8192 bits), P-256, P-384 or Ed25519 PKCS#8 key".to_owned()
                })
        }
        PrivateKeyDer::Sec1(k) => sec1_public_key(k.secret_sec1_der()),
        _ => Err("unknown key format".to_owned()),
    }
}
