//! Check-specific series: TLS (negotiated parameters, chain, every sent
//! certificate) and, as they land, SSH and CRL.
//!
//! Certificate series describe the last chain the server sent. A probe that
//! received no certificates (the port was closed, DNS failed) leaves them as
//! they were - they are facts about certificates, not about this probe -
//! while `flowprobe_tls_chain_verified`, `..._order_ok` and
//! `..._certificates` drop to 0 for it.
//!
//! With `metrics.all_certificates = false`, a chain that a trust store
//! validates exports the leaf's certificate series only: the rest of the
//! path is summarised by `flowprobe_tls_path_not_after_timestamp_seconds`
//! and `flowprobe_tls_chain_certificates`.

use prometheus::{Gauge, GaugeVec, Opts, Registry};

use super::dynamic::Entry;
use super::{FlowMetrics, Metrics};
use crate::probe::{Details, ProbeReport};

/// At most this many algorithms per kind become series: a hostile server
/// cannot blow up cardinality (the wire limits already bound the offer).
const MAX_ALGORITHMS_PER_KIND: usize = 64;

/// The per-flow families whose label values come from what a probe saw.
/// One variant per family; [`Family::spec`] is the one table of names,
/// help texts and labels, and the registered vectors are indexed by
/// [`Family::index`], so no number is written twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    TlsVersion,
    TlsCipher,
    CertNotAfter,
    CertNotBefore,
    CertInfo,
    SshInfo,
    SshAlgorithm,
    HttpStatus,
    CrlThisUpdate,
    CrlNextUpdate,
    CrlEntries,
    CrlBytes,
    CrlSignature,
    CrlRevoked,
    TlsPathNotAfter,
    TlsProtocolAccepted,
    TlsWeakSuites,
    OcspStatus,
    OcspValid,
    OcspThisUpdate,
    OcspNextUpdate,
}

impl Family {
    pub const ALL: [Family; 21] = [
        Family::TlsVersion,
        Family::TlsCipher,
        Family::CertNotAfter,
        Family::CertNotBefore,
        Family::CertInfo,
        Family::SshInfo,
        Family::SshAlgorithm,
        Family::HttpStatus,
        Family::CrlThisUpdate,
        Family::CrlNextUpdate,
        Family::CrlEntries,
        Family::CrlBytes,
        Family::CrlSignature,
        Family::CrlRevoked,
        Family::TlsPathNotAfter,
        Family::TlsProtocolAccepted,
        Family::TlsWeakSuites,
        Family::OcspStatus,
        Family::OcspValid,
        Family::OcspThisUpdate,
        Family::OcspNextUpdate,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// Name, help and label names of the family.
    fn spec(self) -> (&'static str, &'static str, Vec<&'static str>) {
        match self {
            Family::TlsVersion => (
                "flowprobe_tls_version_info",
                "The TLS version negotiated in the last handshake (1).",
                vec!["vantage", "flow", "version"],
            ),
            Family::TlsCipher => (
                "flowprobe_tls_cipher_info",
                "The cipher suite negotiated in the last handshake (1).",
                vec!["vantage", "flow", "cipher"],
            ),
            Family::CertNotAfter => (
                "flowprobe_tls_cert_not_after_timestamp_seconds",
                "notAfter of every certificate the server sent (position 0 = leaf), cross-certificates included.",
                CERT_LABELS.to_vec(),
            ),
            Family::CertNotBefore => (
                "flowprobe_tls_cert_not_before_timestamp_seconds",
                "notBefore of every certificate the server sent.",
                CERT_LABELS.to_vec(),
            ),
            Family::CertInfo => (
                "flowprobe_tls_cert_info",
                "Every sent certificate's key (type-bits), signature algorithm and whether it is a cross-certificate (1).",
                cert_info(),
            ),
            Family::SshInfo => (
                "flowprobe_ssh_info",
                "The SSH server's protocol and software from its identification (1).",
                vec!["vantage", "flow", "protocol", "software"],
            ),
            Family::SshAlgorithm => (
                "flowprobe_ssh_algorithm",
                "Every algorithm the SSH server offered, judged by the flow's policy (1).",
                vec!["vantage", "flow", "kind", "algorithm", "allowed"],
            ),
            Family::HttpStatus => (
                "flowprobe_http_status_code",
                "Final HTTP status of the last probe (http flows; crl flows: the first non-2xx CRL answer, else the first). Absent when no response arrived.",
                vec!["vantage", "flow"],
            ),
            Family::CrlThisUpdate => (
                "flowprobe_crl_this_update_timestamp_seconds",
                "thisUpdate of each CRL the flow fetched and parsed, by issuer.",
                CRL_LABELS.to_vec(),
            ),
            Family::CrlNextUpdate => (
                "flowprobe_crl_next_update_timestamp_seconds",
                "nextUpdate of each CRL the flow fetched and parsed, by issuer.",
                CRL_LABELS.to_vec(),
            ),
            Family::CrlEntries => (
                "flowprobe_crl_entries",
                "Revoked-certificate entries in each CRL.",
                CRL_LABELS.to_vec(),
            ),
            Family::CrlBytes => (
                "flowprobe_crl_bytes",
                "Size of each CRL as served.",
                CRL_LABELS.to_vec(),
            ),
            Family::CrlSignature => (
                "flowprobe_crl_signature_valid",
                "1 when the CRL's signature verifies with its issuer's certificate (from the captured chain or a trust store).",
                CRL_LABELS.to_vec(),
            ),
            Family::CrlRevoked => (
                "flowprobe_crl_revoked",
                "1 when the CRL lists the captured path's certificate at `position`; 0 for every position the CRL covers but does not list.",
                vec!["vantage", "flow", "issuer_cn", "position"],
            ),
            Family::TlsProtocolAccepted => (
                "flowprobe_tls_protocol_accepted",
                "1 when the server accepted a ClientHello offering only this version in the flow's last protocol enumeration, 0 when it refused. Absent until known (protocol_policy flows).",
                vec!["vantage", "flow", "version"],
            ),
            Family::TlsWeakSuites => (
                "flowprobe_tls_weak_suites",
                "Suites of each family the flow's protocol_policy forbids or warns about that the server accepted in the last protocol enumeration (0 when refused). Absent until known.",
                vec!["vantage", "flow", "family"],
            ),
            Family::OcspStatus => (
                "flowprobe_ocsp_status",
                "OCSP status of the certificate at `position` (0 = leaf): 0 good, 1 revoked, 2 unknown (RFC 6960 CertStatus). source = staple (stapled in the TLS handshake) or responder (asked by an ocsp flow). Believe it only where flowprobe_ocsp_response_valid is 1.",
                OCSP_LABELS.to_vec(),
            ),
            Family::OcspValid => (
                "flowprobe_ocsp_response_valid",
                "1 when the OCSP response is signed by the certificate's issuer or a responder it delegated and answers for this certificate; 0 when it is not (ocsp_invalid).",
                OCSP_LABELS.to_vec(),
            ),
            Family::OcspThisUpdate => (
                "flowprobe_ocsp_this_update_timestamp_seconds",
                "thisUpdate of the OCSP response.",
                OCSP_LABELS.to_vec(),
            ),
            Family::OcspNextUpdate => (
                "flowprobe_ocsp_next_update_timestamp_seconds",
                "nextUpdate of the OCSP response: when it expires (ocsp_stale). Absent when the response has none.",
                OCSP_LABELS.to_vec(),
            ),
            Family::TlsPathNotAfter => (
                "flowprobe_tls_path_not_after_timestamp_seconds",
                "Earliest notAfter on the path that validates to each trust store: when that path stops validating. Absent for a store whose path does not validate (flowprobe_tls_chain_verified is 0).",
                vec!["vantage", "flow", "store"],
            ),
        }
    }
}

fn cert_info() -> Vec<&'static str> {
    let mut labels: Vec<&str> = CERT_LABELS.to_vec();
    labels.extend(["key", "signature", "cross"]);
    labels
}

const OCSP_LABELS: [&str; 4] = ["vantage", "flow", "position", "source"];

const CRL_LABELS: [&str; 3] = ["vantage", "flow", "issuer_cn"];

const CERT_LABELS: [&str; 6] = [
    "vantage",
    "flow",
    "position",
    "subject_cn",
    "issuer_cn",
    "serial",
];

pub fn register(r: &Registry) -> prometheus::Result<Vec<GaugeVec>> {
    let mut out = Vec::new();
    for family in Family::ALL {
        debug_assert_eq!(family.index(), out.len());
        let (name, help, labels) = family.spec();
        let g = GaugeVec::new(Opts::new(name, help), &labels)?;
        r.register(Box::new(g.clone()))?;
        out.push(g);
    }
    Ok(out)
}

/// The fixed TLS series of a flow, one `chain_verified` per trust store.
pub struct TlsSeries {
    pub verified: Vec<(String, Gauge)>,
    pub order_ok: Gauge,
    pub certificates: Gauge,
}

pub fn record(m: &Metrics, fm: &FlowMetrics, report: &ProbeReport) {
    if fm.ssh.is_some() {
        record_ssh(m, fm, report);
    }
    record_tls(m, fm, report);
    record_protocols(m, fm, report);
    record_http_crl(m, fm, report);
}

/// Protocol-enumeration series, from the kept result every TLS probe
/// reports; a probe that did not reach the server leaves them as they
/// were. Versions and families whose answer is unknown have no series.
fn record_protocols(m: &Metrics, fm: &FlowMetrics, report: &ProbeReport) {
    let Some(p) = report
        .attempts
        .iter()
        .find_map(|a| a.details.tls()?.protocols.as_deref())
    else {
        return;
    };
    if let Some(c) = &fm.protocol_connections {
        c.inc_by(u64::from(p.connections));
    }
    if let Some(g) = &fm.protocol_complete {
        g.set(if p.judgement.complete { 1.0 } else { 0.0 });
    }
    let (v, n) = (fm.vantage.clone(), fm.name.clone());
    let mut next: Vec<Entry> = Vec::new();
    for ver in &p.judgement.versions {
        if let Some(accepted) = ver.accepted {
            next.push((
                Family::TlsProtocolAccepted,
                vec![v.clone(), n.clone(), ver.version.label().to_owned()],
                if accepted { 1.0 } else { 0.0 },
            ));
        }
    }
    for f in &p.judgement.families {
        if f.accepted.is_some() {
            next.push((
                Family::TlsWeakSuites,
                vec![v.clone(), n.clone(), f.family.as_str().to_owned()],
                f.suites.len() as f64,
            ));
        }
    }
    fm.protocols.replace(&m.dynamic, next);
}

/// HTTP status and CRL series, from the chosen attempt's details. A probe
/// without such details (DNS failed, budget ran out) leaves them as they
/// were; a probe with details replaces them, so a CRL no longer served
/// loses its series (there is never a sentinel date).
fn record_http_crl(m: &Metrics, fm: &FlowMetrics, report: &ProbeReport) {
    let Some(details) = report
        .attempts
        .iter()
        .find(|a| a.details.fetches().is_some())
    else {
        return;
    };
    let details = &details.details;
    let (v, n) = (fm.vantage.clone(), fm.name.clone());
    let mut next: Vec<Entry> = Vec::new();
    // The first status that is not 2xx, else the first one.
    let statuses: Vec<u16> = details
        .fetches()
        .unwrap_or_default()
        .iter()
        .filter_map(|h| h.status)
        .collect();
    let status = statuses
        .iter()
        .find(|s| !(200..300).contains(*s))
        .or(statuses.first())
        .copied();
    if let Some(s) = status {
        next.push((Family::HttpStatus, vec![v.clone(), n.clone()], f64::from(s)));
    }
    if let Details::Crl(c) = details {
        let mut seen: Vec<&str> = Vec::new();
        for e in &c.crls {
            let Some(crl) = &e.crl else {
                continue;
            };
            // One series set per issuer: the first CRL of an issuer speaks.
            if seen.contains(&crl.issuer_cn.as_str()) {
                continue;
            }
            seen.push(&crl.issuer_cn);
            let labels = vec![v.clone(), n.clone(), crl.issuer_cn.clone()];
            next.push((
                Family::CrlThisUpdate,
                labels.clone(),
                crl.this_update as f64,
            ));
            if let Some(t) = crl.next_update {
                next.push((Family::CrlNextUpdate, labels.clone(), t as f64));
            }
            next.push((Family::CrlEntries, labels.clone(), crl.entries as f64));
            next.push((Family::CrlBytes, labels.clone(), e.http.body_bytes as f64));
            next.push((
                Family::CrlSignature,
                labels.clone(),
                if crl.signature_valid { 1.0 } else { 0.0 },
            ));
            for p in &crl.covers {
                let mut l = labels.clone();
                l.push(p.to_string());
                let revoked = crl.revoked.iter().any(|r| r.position == *p);
                next.push((Family::CrlRevoked, l, if revoked { 1.0 } else { 0.0 }));
            }
        }
    }
    if let Details::Ocsp(o) = details {
        let answers = o
            .responses
            .iter()
            .filter_map(|e| Some((e.position, e.response.as_ref()?)));
        for (position, r) in super::ocsp::worst(answers) {
            super::ocsp::entries(&v, &n, position, "responder", r, &mut next);
        }
    }
    fm.dynamic.replace(&m.dynamic, next);
}

fn record_tls(m: &Metrics, fm: &FlowMetrics, report: &ProbeReport) {
    let Some(tls) = &fm.tls else {
        return;
    };
    let details = report.attempts.iter().find_map(|a| a.details.tls());
    let chain = details.and_then(|d| d.chain.as_ref());
    for (store, g) in &tls.verified {
        let ok = chain.is_some_and(|c| c.anchors().iter().any(|a| &a.store == store && a.verified));
        g.set(if ok { 1.0 } else { 0.0 });
    }
    tls.order_ok.set(if chain.is_some_and(|c| c.order_ok()) {
        1.0
    } else {
        0.0
    });
    tls.certificates
        .set(chain.map_or(0, |c| c.certificates.len()) as f64);
    let (Some(d), Some(chain)) = (details, chain) else {
        return;
    };
    let (v, n) = (fm.vantage.clone(), fm.name.clone());
    let mut next: Vec<Entry> = Vec::with_capacity(2 + 3 * chain.certificates.len());
    if let Some(version) = &d.version {
        next.push((
            Family::TlsVersion,
            vec![v.clone(), n.clone(), version.clone()],
            1.0,
        ));
    }
    if let Some(cipher) = &d.cipher_suite {
        next.push((
            Family::TlsCipher,
            vec![v.clone(), n.clone(), cipher.clone()],
            1.0,
        ));
    }
    for a in chain.anchors() {
        if let (true, Some(t)) = (a.verified, a.not_after) {
            next.push((
                Family::TlsPathNotAfter,
                vec![v.clone(), n.clone(), a.store.clone()],
                t as f64,
            ));
        }
    }
    // `metrics.all_certificates = false`: while a store validates the
    // chain, its path is summarised (`..._path_not_after_...` per store,
    // `..._chain_certificates`), so only the leaf keeps its own series; a
    // chain no store validates keeps every certificate's.
    let summarised = !m.all_certificates() && chain.anchors().iter().any(|a| a.verified);
    for c in chain
        .certificates
        .iter()
        .filter(|c| !summarised || c.position == 0)
    {
        let labels = vec![
            v.clone(),
            n.clone(),
            c.position.to_string(),
            c.subject_cn.clone(),
            c.issuer_cn.clone(),
            c.serial.clone(),
        ];
        // No date, no series: an unparsable certificate gets no sentinel.
        if let Some(t) = c.not_after {
            next.push((Family::CertNotAfter, labels.clone(), t as f64));
        }
        if let Some(t) = c.not_before {
            next.push((Family::CertNotBefore, labels.clone(), t as f64));
        }
        let mut info = labels;
        info.push(if c.key_bits > 0 {
            format!("{}-{}", c.key_type, c.key_bits)
        } else {
            c.key_type.clone()
        });
        info.push(c.signature_algorithm.clone());
        info.push(d.cross.contains(&c.position).to_string());
        next.push((Family::CertInfo, info, 1.0));
    }
    if let Some(r) = d.ocsp_staple.as_ref().and_then(|s| s.response.as_ref()) {
        super::ocsp::entries(&v, &n, 0, "staple", r, &mut next);
    }
    fm.dynamic.replace(&m.dynamic, next);
}

/// SSH series: violations per kind are set every probe (0 when the server
/// could not be read); identification and algorithm series describe the
/// last offer seen and are kept when a probe saw none.
fn record_ssh(m: &Metrics, fm: &FlowMetrics, report: &ProbeReport) {
    let details = report.attempts.iter().find_map(|a| a.details.ssh());
    if let Some(kinds) = &fm.ssh {
        for (kind, g) in kinds {
            let n = details.map_or(0, |d| d.judgement.violation_count(*kind));
            g.set(n as f64);
        }
    }
    let Some(d) = details else {
        return;
    };
    let (v, n) = (fm.vantage.clone(), fm.name.clone());
    let mut next: Vec<Entry> = vec![(
        Family::SshInfo,
        vec![v.clone(), n.clone(), d.protocol.clone(), d.software.clone()],
        1.0,
    )];
    let mut per_kind = std::collections::BTreeMap::new();
    for a in &d.judgement.offered {
        let count = per_kind.entry(a.kind.as_str()).or_insert(0usize);
        *count += 1;
        if *count > MAX_ALGORITHMS_PER_KIND {
            continue;
        }
        next.push((
            Family::SshAlgorithm,
            vec![
                v.clone(),
                n.clone(),
                a.kind.as_str().to_string(),
                a.name.clone(),
                a.allowed.to_string(),
            ],
            1.0,
        ));
    }
    fm.dynamic.replace(&m.dynamic, next);
}
