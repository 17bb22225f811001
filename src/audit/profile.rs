//! A configuration profile (`.mobileconfig`) before it is scoped: its
//! container (XML or binary plist, optionally CMS-signed), and each payload
//! that the STIG supplement's PKI and S/MIME sections depend on.
//!
//! - Certificate payloads (`com.apple.security.pkcs12`, `.pem`, `.root`,
//!   `.pkcs1`): the certificates and key, judged as `flowprobe pki check`
//!   judges a file ([`crate::analyze::bundle`]).
//! - Exchange payloads (`com.apple.eas.account`): section 1.5.1 wants
//!   `SMIMESigningUserOverrideable`,
//!   `SMIMESigningCertificateUUIDUserOverrideable` and
//!   `SMIMEEncryptByDefaultUserOverrideable` true, so users can pick their
//!   Purebred credentials; each that is missing or not `true` fails.
//! - SCEP, ACME and identification payloads: facts only (secrets redacted).
//!
//! [`check`] is the whole entry point, bytes in (the fuzz target's too).

use crate::analyze::bundle::BundleReport;
use crate::analyze::chain::{self, ChainPolicy, ChainReport, Notice, OrderRule, Purpose};
use crate::analyze::trust::TrustStore;
use crate::audit::bundle::{BundleError, decode};
use crate::audit::signed::{self, SignatureReport, Signed, SignedError};
use crate::outcome::{Action, Finding, Level, Reason};
use plist::{Dictionary, Value};
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::SystemTime;
use thiserror::Error;

/// The three keys of seed section 1.5.1, each of which must be `true`.
pub(crate) const SMIME_OVERRIDABLE: [&str; 3] = [
    "SMIMESigningUserOverrideable",
    "SMIMESigningCertificateUUIDUserOverrideable",
    "SMIMEEncryptByDefaultUserOverrideable",
];

const CERTIFICATE_TYPES: [&str; 4] = [
    "com.apple.security.pkcs12",
    "com.apple.security.pem",
    "com.apple.security.root",
    "com.apple.security.pkcs1",
];
const EXCHANGE: &str = "com.apple.eas.account";
const FACT_TYPES: [&str; 3] = [
    "com.apple.security.scep",
    "com.apple.security.acme",
    "com.apple.configurationprofile.identification",
];
/// Keys whose values are secrets: reported as present, never printed.
const SECRET_KEYS: [&str; 3] = ["Password", "Challenge", "ClientIdentifier"];

/// What the judgement needs besides the bytes.
pub struct Context<'a> {
    pub stores: &'a [&'a TrustStore],
    /// `--password-file`: for PKCS#12 payloads without a `Password` key.
    pub password: Option<&'a str>,
    pub now: SystemTime,
}

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("{} bytes is more than the {} a profile can be", .0, crate::audit::MAX_FILE_BYTES)]
    TooLarge(usize),
    #[error("not a valid property list (XML or binary plist): {0}")]
    Plist(String),
    #[error("neither a property list (XML or binary) nor CMS-signed data")]
    UnknownContainer,
    #[error("{0}")]
    Signed(#[from] SignedError),
    #[error("the signed content is signed again; only one signature layer is read")]
    NestedSignature,
    #[error("not a configuration profile: {0}")]
    NotAProfile(String),
    #[error("payload {index} ({identifier}): {source}")]
    Payload {
        index: usize,
        identifier: String,
        source: BundleError,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlistFormat {
    Xml,
    Binary,
}

/// The judgement of one profile.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    pub plist: PlistFormat,
    /// Present when the profile is CMS-signed.
    pub signature: Option<SignatureReport>,
    /// The signer certificate's path to each store, as a device judges it
    /// before it shows the profile as verified: positions are the signer
    /// (0), its issuer, that one's issuer, ..., then the other certificates
    /// the SignedData carries. Present when the signer certificate is
    /// included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_chain: Option<ChainReport>,
    pub payload_type: String,
    pub identifier: String,
    pub display_name: String,
    pub organization: String,
    pub uuid: String,
    pub payloads: Vec<PayloadReport>,
    /// Profile-level findings (the signature); payload findings are in
    /// their payloads.
    pub findings: Vec<Finding>,
}

impl ProfileReport {
    /// Every finding of the profile and its payloads.
    pub(crate) fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .chain(self.payloads.iter().flat_map(|p| p.findings.iter()))
    }

    pub fn passed(&self) -> bool {
        self.all_findings().all(|f| f.level != Level::Fail)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PayloadReport {
    /// Position in the profile's `PayloadContent`.
    pub index: usize,
    pub payload_type: String,
    pub identifier: String,
    pub display_name: String,
    pub uuid: String,
    pub judged: Judged,
    pub findings: Vec<Finding>,
}

/// What was judged about a payload, by kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Judged {
    Certificate {
        /// `pkcs12`, `pem` or `der`; empty when the content did not decode.
        format: String,
        /// Where the PKCS#12 password came from: `payload`,
        /// `password-file` or `none`.
        password: String,
        /// `None` when the content is missing or did not decode (the
        /// payload's findings say why).
        bundle: Option<Box<BundleReport>>,
    },
    Exchange {
        settings: Vec<Setting>,
        facts: BTreeMap<String, String>,
    },
    Facts {
        facts: BTreeMap<String, String>,
    },
    /// Not a payload this check judges.
    Other,
}

/// One required key of an Exchange payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub key: String,
    /// `true`, `false`, `missing`, or the value of another type.
    pub value: String,
    pub ok: bool,
}

/// Judges a profile's bytes.
pub fn audit(bytes: &[u8], ctx: &Context<'_>) -> Result<ProfileReport, ProfileError> {
    if bytes.len() as u64 > crate::audit::MAX_FILE_BYTES {
        return Err(ProfileError::TooLarge(bytes.len()));
    }
    let mut findings = Vec::new();
    let (content, signature, signer_chain) = match container(bytes) {
        Container::Cms => {
            let s = signed::unwrap(bytes)?;
            if container(&s.content) == Container::Cms {
                return Err(ProfileError::NestedSignature);
            }
            let signer_chain = judge_signer(&s, ctx, &mut findings);
            (s.content, Some(s.signature), signer_chain)
        }
        Container::Plist => (bytes.to_vec(), None, None),
        Container::Unknown => return Err(ProfileError::UnknownContainer),
    };
    let plist = if content.starts_with(b"bplist") {
        PlistFormat::Binary
    } else {
        PlistFormat::Xml
    };
    if plist == PlistFormat::Binary {
        // Shared references would be copied once per reference: refused
        // before the reader builds them.
        super::bplist::check_expansion(&content).map_err(|e| ProfileError::Plist(e.to_string()))?;
    }
    let value = Value::from_reader(std::io::Cursor::new(&content))
        .map_err(|e| ProfileError::Plist(e.to_string()))?;
    let top = value
        .as_dictionary()
        .ok_or_else(|| ProfileError::NotAProfile("the top level is not a dictionary".to_owned()))?;
    if let Some(s) = signature.as_ref().filter(|s| !s.valid) {
        findings.insert(
            0,
            Finding::new(
                Reason::ProfileSignature,
                Level::Fail,
                format!("the profile's signature does not verify: {}", s.detail),
            ),
        );
    }
    let payloads = match top.get("PayloadContent") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| judge_payload(i, v, ctx))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Data(_)) | None if top.contains_key("EncryptedPayloadContent") => {
            findings.push(Finding::new(
                Reason::ProfileSetting,
                Level::Warn,
                "the payloads are encrypted to a device (EncryptedPayloadContent); none judged",
            ));
            Vec::new()
        }
        Some(_) => {
            return Err(ProfileError::NotAProfile(
                "PayloadContent is not an array".to_owned(),
            ));
        }
        None => {
            return Err(ProfileError::NotAProfile(
                "no PayloadContent array".to_owned(),
            ));
        }
    };
    Ok(ProfileReport {
        plist,
        signature,
        signer_chain,
        payload_type: text(top, "PayloadType"),
        identifier: text(top, "PayloadIdentifier"),
        display_name: text(top, "PayloadDisplayName"),
        organization: text(top, "PayloadOrganization"),
        uuid: text(top, "PayloadUUID"),
        payloads,
        findings,
    })
}

/// The chain policy for a profile's signer: the TLS check's validation
/// for the [`Purpose::Signer`] use (no EKU rule, a signing keyUsage), with
/// no name, no order (a SignedData's certificates are a SET) and no
/// complaint about extra certificates.
fn signer_policy() -> ChainPolicy {
    ChainPolicy {
        purpose: Purpose::Signer,
        name_mismatch: Action::Off,
        chain_order: Action::Off,
        chain_order_tls13: Action::Off,
        chain_extra: Notice::Off,
        anchor_sent: Notice::Off,
        ..ChainPolicy::default()
    }
}

/// Judges the signer certificate's path to every store with the
/// certificates the SignedData carries. A device shows a signed profile
/// as verified only when the signer chains to an anchor it trusts and is
/// valid; the signature itself is [`signed`]'s verdict, so what fails
/// here is a warning (`profile_signature`), named, and a warning stays
/// one.
fn judge_signer(
    signed: &Signed,
    ctx: &Context<'_>,
    findings: &mut Vec<Finding>,
) -> Option<ChainReport> {
    let signer = signed.signature.signer.as_ref()?;
    let at = signed
        .certificates
        .iter()
        .position(|d| hex::encode(Sha256::digest(d)) == signer.sha256)?;
    let carried: Vec<CertificateDer<'_>> = signed
        .certificates
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    // A SignedData's certificates are a SET: put them in the order a
    // server would send them, so positions read signer, issuer, ...
    let sent: Vec<CertificateDer<'_>> = crate::analyze::bundle::issuer_order(&carried, at, ctx.now)
        .into_iter()
        .map(|i| carried[i].clone())
        .collect();
    let name = ServerName::try_from("signer.invalid").ok()?;
    let report = chain::analyze(
        &sent,
        ctx.stores,
        &signer_policy(),
        &name,
        ctx.now,
        OrderRule::Tls13,
    );
    for f in report.findings.iter().filter(|f| f.level != Level::Info) {
        let consequence = if f.level == Level::Fail {
            "; the signature verifies, but a device that trusts only these stores shows \
             the profile as not verified"
        } else {
            ""
        };
        findings.push(Finding::new(
            Reason::ProfileSignature,
            Level::Warn,
            format!(
                "signer certificate {}: {} {}{consequence}",
                signer.subject, f.reason, f.detail
            ),
        ));
    }
    Some(report)
}

#[derive(Debug, PartialEq, Eq)]
enum Container {
    Cms,
    Plist,
    Unknown,
}

/// A DER/BER SEQUENCE is CMS; `bplist` or text starting with `<` (after a
/// BOM and white space) is a plist.
fn container(bytes: &[u8]) -> Container {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if bytes.first() == Some(&0x30) {
        Container::Cms
    } else if bytes.starts_with(b"bplist") || first == Some(&b'<') {
        Container::Plist
    } else {
        Container::Unknown
    }
}

fn text(d: &Dictionary, key: &str) -> String {
    d.get(key)
        .and_then(Value::as_string)
        .unwrap_or_default()
        .to_owned()
}

fn judge_payload(
    index: usize,
    value: &Value,
    ctx: &Context<'_>,
) -> Result<PayloadReport, ProfileError> {
    let empty = Dictionary::new();
    let d = value.as_dictionary().unwrap_or(&empty);
    let payload_type = text(d, "PayloadType");
    let mut report = PayloadReport {
        index,
        identifier: text(d, "PayloadIdentifier"),
        display_name: text(d, "PayloadDisplayName"),
        uuid: text(d, "PayloadUUID"),
        payload_type: payload_type.clone(),
        judged: Judged::Other,
        findings: Vec::new(),
    };
    if value.as_dictionary().is_none() {
        report.findings.push(Finding::new(
            Reason::ProfileSetting,
            Level::Fail,
            format!("payload {index} is not a dictionary"),
        ));
    } else if CERTIFICATE_TYPES.contains(&payload_type.as_str()) {
        judge_certificate(d, &mut report, ctx)?;
    } else if payload_type == EXCHANGE {
        judge_exchange(d, &mut report);
    } else if FACT_TYPES.contains(&payload_type.as_str()) {
        let inner = d.get("PayloadContent").and_then(Value::as_dictionary);
        let mut facts = facts_of(d);
        if let Some(inner) = inner {
            facts.extend(facts_of(inner));
        }
        report.judged = Judged::Facts { facts };
    }
    Ok(report)
}

fn judge_certificate(
    d: &Dictionary,
    report: &mut PayloadReport,
    ctx: &Context<'_>,
) -> Result<(), ProfileError> {
    let fail = |report: &mut PayloadReport, detail: String| {
        report
            .findings
            .push(Finding::new(Reason::ProfileSetting, Level::Fail, detail));
    };
    let from_payload = d.get("Password").and_then(Value::as_string);
    let (password, origin) = match (from_payload, ctx.password) {
        (Some(p), _) => (Some(p), "payload"),
        (None, Some(p)) => (Some(p), "password-file"),
        (None, None) => (None, "none"),
    };
    // A certificate payload whatever its content: one that cannot be
    // decoded is a failed certificate payload, not one left unjudged.
    report.judged = Judged::Certificate {
        format: String::new(),
        password: origin.to_owned(),
        bundle: None,
    };
    let Some(content) = d.get("PayloadContent").and_then(Value::as_data) else {
        fail(
            report,
            "the certificate payload has no PayloadContent data".to_owned(),
        );
        return Ok(());
    };
    let decoded = match decode(content, password) {
        Ok(b) => b,
        // The device would refuse the payload: the profile is wrong.
        Err(BundleError::WrongPassword) if origin == "payload" => {
            fail(
                report,
                "the payload's Password does not open its PKCS#12 (the MAC does not verify)"
                    .to_owned(),
            );
            return Ok(());
        }
        // The engineer must say more: not a verdict about the profile.
        Err(e) if e.needs_password() => {
            return Err(ProfileError::Payload {
                index: report.index,
                identifier: report.identifier.clone(),
                source: e,
            });
        }
        Err(e) => {
            fail(report, format!("PayloadContent: {e}"));
            return Ok(());
        }
    };
    let judged = crate::audit::bundle::judge(&decoded, ctx.stores, ctx.now, None);
    // With a server certificate the missing key is already a finding.
    if report.payload_type == "com.apple.security.pkcs12"
        && decoded.keys.is_empty()
        && judged.leaf.is_none()
    {
        fail(
            report,
            "the PKCS#12 payload holds no private key (an identity needs one)".to_owned(),
        );
    }
    report.findings.extend(judged.findings.iter().cloned());
    report.judged = Judged::Certificate {
        format: decoded.format.as_str().to_owned(),
        password: origin.to_owned(),
        bundle: Some(Box::new(judged)),
    };
    Ok(())
}

fn judge_exchange(d: &Dictionary, report: &mut PayloadReport) {
    let mut settings = Vec::new();
    for key in SMIME_OVERRIDABLE {
        let (value, ok) = match d.get(key) {
            None => ("missing".to_owned(), false),
            Some(Value::Boolean(b)) => (b.to_string(), *b),
            Some(other) => (format!("{} (not a boolean)", render(other)), false),
        };
        if !ok {
            let why = if value == "missing" {
                "is missing (a device then treats it as false)".to_owned()
            } else {
                format!("is {value}")
            };
            report.findings.push(Finding::new(
                Reason::ProfileSetting,
                Level::Fail,
                format!(
                    "Exchange payload {}: {key} {why}; STIG supplement 1.5.1 needs it true so \
                     users can choose their Purebred S/MIME credentials",
                    report.index
                ),
            ));
        }
        settings.push(Setting {
            key: key.to_owned(),
            value,
            ok,
        });
    }
    let facts = facts_of(d)
        .into_iter()
        .filter(|(k, _)| !SMIME_OVERRIDABLE.contains(&k.as_str()))
        .collect();
    report.judged = Judged::Exchange { settings, facts };
}

/// The scalar settings of a payload for people: secrets as `(set)`, data
/// as its length, the `Payload*` bookkeeping left out.
fn facts_of(d: &Dictionary) -> BTreeMap<String, String> {
    d.iter()
        .filter(|(k, _)| !k.starts_with("Payload"))
        .map(|(k, v)| {
            let value = if SECRET_KEYS.iter().any(|s| k.contains(s)) {
                "(set)".to_owned()
            } else {
                render(v)
            };
            (k.clone(), value)
        })
        .collect()
}

/// A value in one short line: `Subject` arrays as `/C=US/O=...`.
fn render(v: &Value) -> String {
    let mut out = match v {
        Value::String(s) => s.clone(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Data(d) => format!("<{} bytes>", d.len()),
        Value::Date(d) => d.to_xml_format(),
        Value::Array(items) if items.iter().all(|i| i.as_array().is_some()) => items
            .iter()
            .flat_map(|rdn| rdn.as_array().into_iter().flatten())
            .filter_map(|pair| {
                let pair = pair.as_array()?;
                Some(format!(
                    "/{}={}",
                    pair.first()?.as_string()?,
                    pair.get(1)?.as_string()?
                ))
            })
            .collect(),
        Value::Array(items) => format!("[{} items]", items.len()),
        Value::Dictionary(d) => format!("{{{} keys}}", d.len()),
        Value::Uid(u) => format!("uid {}", u.get()),
        _ => "?".to_owned(),
    };
    if out.chars().count() > 120 {
        out = out.chars().take(117).collect::<String>() + "...";
    }
    out
}
