//! Check-specific series: TLS (negotiated parameters, chain, every sent
//! certificate) and, as they land, SSH and CRL.
//!
//! Certificate series describe the last chain the server sent. A probe that
//! received no certificates (the port was closed, DNS failed) leaves them as
//! they were - they are facts about certificates, not about this probe -
//! while `flowprobe_tls_chain_verified`, `..._order_ok` and
//! `..._certificates` drop to 0 for it.

use prometheus::{Gauge, GaugeVec, Opts, Registry};

use super::dynamic::Entry;
use super::{FlowMetrics, Metrics};
use crate::probe::{Details, ProbeReport};

pub const DYN_TLS_VERSION: usize = 0;
pub const DYN_TLS_CIPHER: usize = 1;
pub const DYN_CERT_NOT_AFTER: usize = 2;
pub const DYN_CERT_NOT_BEFORE: usize = 3;
pub const DYN_CERT_INFO: usize = 4;
pub const DYN_SSH_INFO: usize = 5;
pub const DYN_SSH_ALGORITHM: usize = 6;

/// At most this many algorithms per kind become series: a hostile server
/// cannot blow up cardinality (the wire limits already bound the offer).
const MAX_ALGORITHMS_PER_KIND: usize = 64;

const CERT_LABELS: [&str; 6] = [
    "vantage",
    "flow",
    "position",
    "subject_cn",
    "issuer_cn",
    "serial",
];

pub fn register(r: &Registry) -> prometheus::Result<Vec<GaugeVec>> {
    let mut cert_info: Vec<&str> = CERT_LABELS.to_vec();
    cert_info.extend(["key", "signature", "cross"]);
    let specs: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "flowprobe_tls_version_info",
            "The TLS version negotiated in the last handshake (1).",
            vec!["vantage", "flow", "version"],
        ),
        (
            "flowprobe_tls_cipher_info",
            "The cipher suite negotiated in the last handshake (1).",
            vec!["vantage", "flow", "cipher"],
        ),
        (
            "flowprobe_tls_cert_not_after_timestamp_seconds",
            "notAfter of every certificate the server sent (position 0 = leaf), cross-certificates included.",
            CERT_LABELS.to_vec(),
        ),
        (
            "flowprobe_tls_cert_not_before_timestamp_seconds",
            "notBefore of every certificate the server sent.",
            CERT_LABELS.to_vec(),
        ),
        (
            "flowprobe_tls_cert_info",
            "Every sent certificate's key (type-bits), signature algorithm and whether it is a cross-certificate (1).",
            cert_info,
        ),
        (
            "flowprobe_ssh_info",
            "The SSH server's protocol and software from its identification (1).",
            vec!["vantage", "flow", "protocol", "software"],
        ),
        (
            "flowprobe_ssh_algorithm",
            "Every algorithm the SSH server offered, judged by the flow's policy (1).",
            vec!["vantage", "flow", "kind", "algorithm", "allowed"],
        ),
    ];
    let mut out = Vec::new();
    for (name, help, labels) in specs {
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
    let Some(tls) = &fm.tls else {
        return;
    };
    let details = report.attempts.iter().find_map(|a| match &a.details {
        Details::Tls(t) => Some(t),
        _ => None,
    });
    let chain = details.and_then(|d| d.chain.as_ref());
    for (store, g) in &tls.verified {
        let ok = chain.is_some_and(|c| c.anchors.iter().any(|a| &a.store == store && a.verified));
        g.set(if ok { 1.0 } else { 0.0 });
    }
    tls.order_ok.set(if chain.is_some_and(|c| c.order_ok) {
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
            DYN_TLS_VERSION,
            vec![v.clone(), n.clone(), version.clone()],
            1.0,
        ));
    }
    if let Some(cipher) = &d.cipher_suite {
        next.push((
            DYN_TLS_CIPHER,
            vec![v.clone(), n.clone(), cipher.clone()],
            1.0,
        ));
    }
    for c in &chain.certificates {
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
            next.push((DYN_CERT_NOT_AFTER, labels.clone(), t as f64));
        }
        if let Some(t) = c.not_before {
            next.push((DYN_CERT_NOT_BEFORE, labels.clone(), t as f64));
        }
        let mut info = labels;
        info.push(if c.key_bits > 0 {
            format!("{}-{}", c.key_type, c.key_bits)
        } else {
            c.key_type.clone()
        });
        info.push(c.signature_algorithm.clone());
        info.push(d.cross.contains(&c.position).to_string());
        next.push((DYN_CERT_INFO, info, 1.0));
    }
    fm.dynamic.replace(&m.dynamic, next);
}

/// SSH series: violations per kind are set every probe (0 when the server
/// could not be read); identification and algorithm series describe the
/// last offer seen and are kept when a probe saw none.
fn record_ssh(m: &Metrics, fm: &FlowMetrics, report: &ProbeReport) {
    let details = report.attempts.iter().find_map(|a| match &a.details {
        Details::Ssh(s) => Some(s),
        _ => None,
    });
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
        DYN_SSH_INFO,
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
            DYN_SSH_ALGORITHM,
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
