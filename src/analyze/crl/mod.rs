//! CRL judgement: parse (DER or PEM), verify the signature with the
//! issuer's certificate, check freshness and look up the captured path's
//! serials. Pure: bytes and certificates in, facts and findings out.
//!
//! The CRL is read in place ([`scan`]): memory stays about the size of the
//! DER, however many entries it lists.

pub mod scan;

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use x509_parser::prelude::{FromDer, X509Certificate};

use scan::Crl;

use crate::analyze::x509::{common_name, render_name, serial_hex, signature_name};
use crate::outcome::{Finding, Level, Reason, Subject};
use crate::text::{rfc3339, unix_secs};

/// A certificate that may have signed a CRL (an issuer from the captured
/// chain or a trust store) or be listed on one (a chain position).
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    pub der: &'a [u8],
    /// Chain position when the certificate came from the captured chain.
    pub position: Option<usize>,
    /// For people: `chain position 1`, `trust store fcpca-g2`.
    pub origin: &'a str,
}

/// A certificate of the captured path that the CRL lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokedCert {
    pub position: usize,
    pub subject_cn: String,
    /// Lower-case hex without leading zero bytes, as in the chain facts.
    pub serial: String,
    pub revoked_at: i64,
}

/// What a CRL says and how it was judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrlJudgement {
    /// `der` or `pem`.
    pub format: &'static str,
    pub issuer: String,
    pub issuer_cn: String,
    pub this_update: i64,
    pub next_update: Option<i64>,
    pub entries: usize,
    pub crl_number: Option<String>,
    pub signature_algorithm: String,
    pub signature_valid: bool,
    /// The certificate whose key verified the signature.
    pub signer: Option<String>,
    /// Chain positions issued by this CRL's issuer: the ones it can revoke.
    pub covers: Vec<usize>,
    pub revoked: Vec<RevokedCert>,
    pub findings: Vec<Finding>,
}

/// The DER of a CRL given as DER (borrowed as is) or as PEM
/// (`-----BEGIN X509 CRL-----`, decoded).
pub(crate) fn decode(bytes: &[u8]) -> Result<(Cow<'_, [u8]>, &'static str), String> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    if bytes[start..].starts_with(b"-----BEGIN") {
        let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes[start..])
            .map_err(|e| format!("PEM does not decode: {e}"))?;
        if pem.label != "X509 CRL" {
            return Err(format!("PEM block is {:?}, not \"X509 CRL\"", pem.label));
        }
        return Ok((Cow::Owned(pem.contents), "pem"));
    }
    Ok((Cow::Borrowed(bytes), "der"))
}

/// A short, printable description of what was served instead of a CRL.
fn looks_like(bytes: &[u8]) -> String {
    let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if bytes.is_empty() {
        "an empty body".into()
    } else if head.trim_start().starts_with('<') {
        format!("markup starting {:?}", head.trim())
    } else {
        format!("{} bytes starting {:?}", bytes.len(), head.trim())
    }
}

/// Judge one CRL. `Err` means it is not a CRL at all (`crl_invalid`);
/// otherwise the facts carry the findings (signature, revocation,
/// freshness) in that order.
pub fn judge(
    bytes: &[u8],
    chain: &[Known<'_>],
    issuers: &[Known<'_>],
    now: SystemTime,
    margin: Duration,
) -> Result<CrlJudgement, String> {
    let (der, format) = decode(bytes)?;
    let crl = Crl::parse(&der)
        .map_err(|e| format!("not a CRL (DER or PEM): {e}; got {}", looks_like(bytes)))?;
    let issuer = render_name(&crl.issuer);
    let issuer_cn = common_name(&crl.issuer);
    let mut findings = Vec::new();

    let signer = match signer(&crl, chain.iter().chain(issuers), &issuer) {
        Ok(signer) => Some(signer),
        Err(detail) => {
            findings.push(Finding::new(Reason::CrlInvalid, Level::Fail, detail));
            None
        }
    };
    let signature_valid = signer.is_some();

    let revocation = revocation(&crl, chain, &issuer_cn, signature_valid, &mut findings)?;

    let this_update = crl.this_update.timestamp();
    let next_update = crl.next_update.map(|t| t.timestamp());
    findings.extend(freshness(
        this_update,
        next_update,
        unix_secs(now),
        margin,
        &issuer_cn,
    ));
    for f in findings.iter_mut().filter(|f| f.subject.is_none()) {
        f.subject = Some(Subject::Crl {
            issuer: issuer.clone(),
        });
    }

    Ok(CrlJudgement {
        format,
        issuer,
        issuer_cn,
        this_update,
        next_update,
        entries: revocation.entries,
        crl_number: crl.crl_number.as_ref().map(|n| n.to_str_radix(16)),
        signature_algorithm: signature_name(&crl.signature_algorithm.algorithm.to_id_string()),
        signature_valid,
        signer,
        covers: revocation.covers,
        revoked: revocation.revoked,
        findings,
    })
}

/// The certificate whose key verifies the signature of `crl` (of
/// `issuer`), for people; every known certificate named like the issuer is
/// tried. `Err`: why none does.
fn signer<'k>(
    crl: &Crl<'_>,
    known: impl Iterator<Item = &'k Known<'k>>,
    issuer: &str,
) -> Result<String, String> {
    let issuer_raw = crl.issuer.as_raw();
    let mut tried = Vec::new();
    for k in known {
        let Ok((_, cert)) = X509Certificate::from_der(k.der) else {
            continue;
        };
        if cert.subject().as_raw() != issuer_raw {
            continue;
        }
        match crl.verify_signature(cert.public_key()) {
            Ok(()) => return Ok(format!("{} ({})", render_name(cert.subject()), k.origin)),
            Err(e) => tried.push(format!("{} ({e})", k.origin)),
        }
    }
    Err(if tried.is_empty() {
        format!(
            "CRL of {issuer}: no certificate of that name in the captured chain or the trust stores to verify its signature"
        )
    } else {
        format!(
            "CRL of {issuer}: signature does not verify with the issuer's key: {}",
            tried.join(", ")
        )
    })
}

/// What a CRL says of the captured path.
struct Revocation {
    /// Entries the CRL lists.
    entries: usize,
    /// See [`CrlJudgement::covers`].
    covers: Vec<usize>,
    revoked: Vec<RevokedCert>,
}

/// Revocation of the captured path `chain`: the certificates the issuer of
/// `crl` issued, looked up in one pass over the entries; a finding for each
/// one listed. `Err`: the entries are not a CRL's.
fn revocation(
    crl: &Crl<'_>,
    chain: &[Known<'_>],
    issuer_cn: &str,
    signature_valid: bool,
    findings: &mut Vec<Finding>,
) -> Result<Revocation, String> {
    let covered = covered(crl, chain);
    let serials: Vec<&[u8]> = covered.iter().map(|(_, c)| c.raw_serial()).collect();
    let scan = crl
        .scan(&serials)
        .map_err(|e| format!("not a CRL (DER or PEM): {e}"))?;
    Ok(Revocation {
        entries: scan.entries,
        covers: covered.iter().map(|(position, _)| *position).collect(),
        revoked: revoked(&covered, &scan.found, issuer_cn, signature_valid, findings),
    })
}

/// The certificates of the captured path `chain` that the issuer of `crl`
/// issued, with their positions: the ones it can revoke.
fn covered<'a>(crl: &Crl<'_>, chain: &[Known<'a>]) -> Vec<(usize, X509Certificate<'a>)> {
    let issuer_raw = crl.issuer.as_raw();
    chain
        .iter()
        .filter_map(|k| {
            let position = k.position?;
            let (_, cert) = X509Certificate::from_der(k.der).ok()?;
            (cert.issuer().as_raw() == issuer_raw).then_some((position, cert))
        })
        .collect()
}

/// The `covered` certificates the CRL lists (`found`: when each was
/// revoked, in the same order), each with its finding: a failure, or a
/// warning when the CRL's signature did not verify.
fn revoked(
    covered: &[(usize, X509Certificate<'_>)],
    found: &[Option<i64>],
    issuer_cn: &str,
    signature_valid: bool,
    findings: &mut Vec<Finding>,
) -> Vec<RevokedCert> {
    let mut revoked = Vec::new();
    for ((position, cert), at) in covered.iter().zip(found) {
        let position = *position;
        let Some(at) = at else {
            continue;
        };
        let r = RevokedCert {
            position,
            subject_cn: common_name(cert.subject()),
            serial: serial_hex(cert.raw_serial()),
            revoked_at: *at,
        };
        let detail = format!(
            "position {position} ({}, serial {}) is revoked by the CRL of {issuer_cn} since {}",
            r.subject_cn,
            r.serial,
            rfc3339(*at)
        );
        // A listing on a CRL whose signature failed is not proof.
        let level = if signature_valid {
            Level::Fail
        } else {
            Level::Warn
        };
        findings.push(
            Finding::new(Reason::Revoked, level, detail).about(Subject::Certificate { position }),
        );
        revoked.push(r);
    }
    revoked
}

/// Freshness at `now_s`: thisUpdate <= now < nextUpdate - margin.
fn freshness(
    this_update: i64,
    next_update: Option<i64>,
    now_s: i64,
    margin: Duration,
    issuer_cn: &str,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let margin_s = margin.as_secs() as i64;
    if this_update > now_s {
        findings.push(Finding::new(
            Reason::CrlStale,
            Level::Fail,
            format!(
                "CRL of {issuer_cn}: thisUpdate {} is in the future (clock skew or a bad CRL)",
                rfc3339(this_update)
            ),
        ));
    }
    match next_update {
        None => findings.push(Finding::new(
            Reason::CrlInvalid,
            Level::Fail,
            format!("CRL of {issuer_cn} has no nextUpdate (RFC 5280 5.1.2.5 requires one)"),
        )),
        Some(next) if now_s >= next => findings.push(Finding::new(
            Reason::CrlStale,
            Level::Fail,
            format!(
                "CRL of {issuer_cn} expired: nextUpdate {} passed {} ago",
                rfc3339(next),
                humantime::format_duration(Duration::from_secs((now_s - next) as u64))
            ),
        )),
        Some(next) if now_s >= next - margin_s => findings.push(Finding::new(
            Reason::CrlStale,
            Level::Fail,
            format!(
                "CRL of {issuer_cn}: nextUpdate {} is within the {} margin",
                rfc3339(next),
                humantime::format_duration(margin)
            ),
        )),
        Some(_) => {}
    }
    findings
}

/// Rank of a failing reason across the CRLs of one flow: a revoked path
/// matters most, then a CRL that cannot be trusted, then a stale one.
pub(crate) fn rank(reason: Reason) -> u8 {
    match reason {
        Reason::Revoked => 0,
        Reason::CrlInvalid => 1,
        Reason::CrlStale => 2,
        _ => 3,
    }
}
