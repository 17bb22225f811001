//! The TLS series: the negotiated parameters, the chain (verified per
//! trust store, in order, how many certificates) and every sent
//! certificate, and the protocol enumeration's answers.
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

use prometheus::{Gauge, GaugeVec, IntCounter, IntCounterVec, Opts, Registry};

use super::{Tls, TlsSpec};
use crate::config::{Expect, Flow};
use crate::kinds::FixedSeries;
use crate::kinds::ocsp::metrics as ocsp_series;
use crate::metrics::{DynamicSet, Entry, FamilySpec, KindRecorder, gauge_vec};
use crate::probe::ProbeReport;

const VF: &[&str] = &["vantage", "flow"];
const CERT_LABELS: &[&str] = &[
    "vantage",
    "flow",
    "position",
    "subject_cn",
    "issuer_cn",
    "serial",
];

pub(crate) static VERSION: FamilySpec = FamilySpec {
    name: "flowprobe_tls_version_info",
    help: "The TLS version negotiated in the last handshake (1).",
    labels: &["vantage", "flow", "version"],
};
pub(crate) static CIPHER: FamilySpec = FamilySpec {
    name: "flowprobe_tls_cipher_info",
    help: "The cipher suite negotiated in the last handshake (1).",
    labels: &["vantage", "flow", "cipher"],
};
pub(crate) static CERT_NOT_AFTER: FamilySpec = FamilySpec {
    name: "flowprobe_tls_cert_not_after_timestamp_seconds",
    help: "notAfter of every certificate the server sent (position 0 = leaf), cross-certificates included.",
    labels: CERT_LABELS,
};
pub(crate) static CERT_NOT_BEFORE: FamilySpec = FamilySpec {
    name: "flowprobe_tls_cert_not_before_timestamp_seconds",
    help: "notBefore of every certificate the server sent.",
    labels: CERT_LABELS,
};
pub(crate) static CERT_INFO: FamilySpec = FamilySpec {
    name: "flowprobe_tls_cert_info",
    help: "Every sent certificate's key (type-bits), signature algorithm and whether it is a cross-certificate (1).",
    labels: &[
        "vantage",
        "flow",
        "position",
        "subject_cn",
        "issuer_cn",
        "serial",
        "key",
        "signature",
        "cross",
    ],
};
pub(crate) static PATH_NOT_AFTER: FamilySpec = FamilySpec {
    name: "flowprobe_tls_path_not_after_timestamp_seconds",
    help: "Earliest notAfter on the path that validates to each trust store: when that path stops validating. Absent for a store whose path does not validate (flowprobe_tls_chain_verified is 0).",
    labels: &["vantage", "flow", "store"],
};
pub(crate) static PROTOCOL_ACCEPTED: FamilySpec = FamilySpec {
    name: "flowprobe_tls_protocol_accepted",
    help: "1 when the server accepted a ClientHello offering only this version in the flow's last protocol enumeration, 0 when it refused. Absent until known (protocol_policy flows).",
    labels: &["vantage", "flow", "version"],
};
pub(crate) static WEAK_SUITES: FamilySpec = FamilySpec {
    name: "flowprobe_tls_weak_suites",
    help: "Suites of each family the flow's protocol_policy forbids or warns about that the server accepted in the last protocol enumeration (0 when refused). Absent until known.",
    labels: &["vantage", "flow", "family"],
};

/// The TLS families, in exposition-independent order.
pub(crate) const FAMILIES: &[&FamilySpec] = &[
    &VERSION,
    &CIPHER,
    &CERT_NOT_AFTER,
    &CERT_NOT_BEFORE,
    &CERT_INFO,
    &PATH_NOT_AFTER,
    &PROTOCOL_ACCEPTED,
    &WEAK_SUITES,
];

/// The fixed TLS vectors.
pub struct Vecs {
    verified: GaugeVec,
    order_ok: GaugeVec,
    certificates: GaugeVec,
    /// Extra connections of the TLS protocol enumeration, per flow.
    protocol_connections: IntCounterVec,
    /// Whether the reported enumeration answered every question.
    protocol_complete: GaugeVec,
}

/// A TLS flow's series: one `chain_verified` per trust store, and the
/// enumeration's own set.
pub struct Series {
    verified: Vec<(String, Gauge)>,
    order_ok: Gauge,
    certificates: Gauge,
    /// The protocol enumeration's series, kept apart from the flow's set:
    /// they change once an hour, not with every chain.
    protocols: DynamicSet,
    protocol_connections: Option<IntCounter>,
    protocol_complete: Option<Gauge>,
}

impl FixedSeries<TlsSpec> for Series {
    type Vecs = Vecs;

    fn register(r: &Registry) -> prometheus::Result<Vecs> {
        let protocol_connections = IntCounterVec::new(
            Opts::new(
                "flowprobe_tls_protocol_connections_total",
                "Connections the TLS protocol enumeration opened (one ClientHello each), on top of the probes' own (protocol_policy flows).",
            ),
            VF,
        )?;
        r.register(Box::new(protocol_connections.clone()))?;
        Ok(Vecs {
            verified: gauge_vec(
                r,
                "flowprobe_tls_chain_verified",
                "1 when the certificates the server sent build a path to the trust store's anchor on their own.",
                &["vantage", "flow", "anchor"],
            )?,
            order_ok: gauge_vec(
                r,
                "flowprobe_tls_chain_order_ok",
                "1 when each sent certificate certifies the one before it (RFC 5246).",
                VF,
            )?,
            certificates: gauge_vec(
                r,
                "flowprobe_tls_chain_certificates",
                "Certificates the server sent in the last handshake (0 when none arrived).",
                VF,
            )?,
            protocol_connections,
            protocol_complete: gauge_vec(
                r,
                "flowprobe_tls_protocol_enumeration_complete",
                "1 when the protocol enumeration the flow reports got an answer to every question; 0 while some are unanswered (not asked yet, or silent after two tries) and their verdicts unknown (protocol_policy flows).",
                VF,
            )?,
        })
    }

    /// A flow's series; a flow that must be closed never gets that far.
    fn new(vecs: &Vecs, flow: &Flow, spec: &TlsSpec) -> Option<Series> {
        if flow.expect != Expect::Open {
            return None;
        }
        let (v, n) = (flow.from.as_str(), flow.name.as_str());
        let enumerates = spec.protocol.is_some();
        Some(Series {
            verified: spec
                .trust
                .iter()
                .map(|a| {
                    let g = vecs.verified.with_label_values(&[v, n, a.as_str()]);
                    (a.clone(), g)
                })
                .collect(),
            order_ok: vecs.order_ok.with_label_values(&[v, n]),
            certificates: vecs.certificates.with_label_values(&[v, n]),
            protocols: DynamicSet::default(),
            protocol_connections: enumerates
                .then(|| vecs.protocol_connections.with_label_values(&[v, n])),
            // 0 until a probe reports a complete enumeration.
            protocol_complete: enumerates
                .then(|| vecs.protocol_complete.with_label_values(&[v, n])),
        })
    }

    fn remove(&self, vecs: &Vecs, rec: &KindRecorder<'_>, next: Option<&Series>) {
        let s = self;
        let (v, n) = (rec.vantage, rec.flow);
        if next.is_none() {
            let _ = vecs.order_ok.remove_label_values(&[v, n]);
            let _ = vecs.certificates.remove_label_values(&[v, n]);
        }
        for (a, _) in &s.verified {
            if !next.is_some_and(|nt| nt.verified.iter().any(|(b, _)| b == a)) {
                let _ = vecs.verified.remove_label_values(&[v, n, a.as_str()]);
            }
        }
        if next.is_none_or(|s| s.protocol_connections.is_none()) {
            let _ = vecs.protocol_connections.remove_label_values(&[v, n]);
            let _ = vecs.protocol_complete.remove_label_values(&[v, n]);
        }
        rec.replace_in(&s.protocols, Vec::new());
    }
}

pub fn record(rec: &KindRecorder<'_>, s: Option<&Series>, report: &ProbeReport) {
    let Some(s) = s else {
        return;
    };
    record_protocols(rec, s, report);
    let details = report.attempts.iter().find_map(|a| a.facts.get::<Tls>());
    let chain = details.and_then(|d| d.chain.as_ref());
    for (store, g) in &s.verified {
        let ok = chain.is_some_and(|c| c.anchors().iter().any(|a| &a.store == store && a.verified));
        g.set(if ok { 1.0 } else { 0.0 });
    }
    s.order_ok.set(if chain.is_some_and(|c| c.order_ok()) {
        1.0
    } else {
        0.0
    });
    s.certificates
        .set(chain.map_or(0, |c| c.certificates.len()) as f64);
    let (Some(d), Some(chain)) = (details, chain) else {
        return;
    };
    let mut next: Vec<Entry> = Vec::with_capacity(2 + 3 * chain.certificates.len());
    if let Some(version) = &d.version {
        next.push((&VERSION, rec.labels([version]), 1.0));
    }
    if let Some(cipher) = &d.cipher_suite {
        next.push((&CIPHER, rec.labels([cipher]), 1.0));
    }
    for a in chain.anchors() {
        if let (true, Some(t)) = (a.verified, a.not_after) {
            next.push((&PATH_NOT_AFTER, rec.labels([&a.store]), t as f64));
        }
    }
    // `metrics.all_certificates = false`: while a store validates the
    // chain, its path is summarised (`..._path_not_after_...` per store,
    // `..._chain_certificates`), so only the leaf keeps its own series; a
    // chain no store validates keeps every certificate's.
    let summarised = !rec.all_certificates() && chain.anchors().iter().any(|a| a.verified);
    for c in chain
        .certificates
        .iter()
        .filter(|c| !summarised || c.position == 0)
    {
        let labels = rec.labels([
            &c.position.to_string(),
            &c.subject_cn,
            &c.issuer_cn,
            &c.serial,
        ]);
        // No date, no series: an unparsable certificate gets no sentinel.
        if let Some(t) = c.not_after {
            next.push((&CERT_NOT_AFTER, labels.clone(), t as f64));
        }
        if let Some(t) = c.not_before {
            next.push((&CERT_NOT_BEFORE, labels.clone(), t as f64));
        }
        let mut info = labels;
        info.push(if c.key_bits > 0 {
            format!("{}-{}", c.key_type, c.key_bits)
        } else {
            c.key_type.clone()
        });
        info.push(c.signature_algorithm.clone());
        info.push(d.cross.contains(&c.position).to_string());
        next.push((&CERT_INFO, info, 1.0));
    }
    if let Some(r) = d.ocsp_staple.as_ref().and_then(|s| s.response.as_ref()) {
        ocsp_series::entries(rec.vantage, rec.flow, 0, "staple", r, &mut next);
    }
    rec.replace(next);
}

/// Protocol-enumeration series, from the kept result every TLS probe
/// reports; a probe that did not reach the server leaves them as they
/// were. Versions and families whose answer is unknown have no series.
fn record_protocols(rec: &KindRecorder<'_>, s: &Series, report: &ProbeReport) {
    let Some(p) = report
        .attempts
        .iter()
        .find_map(|a| a.facts.get::<Tls>()?.protocols.as_deref())
    else {
        return;
    };
    if let Some(c) = &s.protocol_connections {
        c.inc_by(u64::from(p.connections));
    }
    if let Some(g) = &s.protocol_complete {
        g.set(if p.judgement.complete { 1.0 } else { 0.0 });
    }
    let mut next: Vec<Entry> = Vec::new();
    for ver in &p.judgement.versions {
        if let Some(accepted) = ver.accepted {
            next.push((
                &PROTOCOL_ACCEPTED,
                rec.labels([ver.version.label()]),
                if accepted { 1.0 } else { 0.0 },
            ));
        }
    }
    for f in &p.judgement.families {
        if f.accepted.is_some() {
            next.push((
                &WEAK_SUITES,
                rec.labels([f.family.as_str()]),
                f.suites.len() as f64,
            ));
        }
    }
    rec.replace_in(&s.protocols, next);
}
