//! The CRL series: each CRL the flow fetched and parsed, by issuer, and
//! which captured certificates it lists.

use super::Crl;
use crate::kinds::http::metrics as http_series;
use crate::metrics::{Entry, FamilySpec, KindRecorder};
use crate::probe::ProbeReport;

const CRL_LABELS: &[&str] = &["vantage", "flow", "issuer_cn"];

pub(crate) static THIS_UPDATE: FamilySpec = FamilySpec {
    name: "flowprobe_crl_this_update_timestamp_seconds",
    help: "thisUpdate of each CRL the flow fetched and parsed, by issuer.",
    labels: CRL_LABELS,
};
pub(crate) static NEXT_UPDATE: FamilySpec = FamilySpec {
    name: "flowprobe_crl_next_update_timestamp_seconds",
    help: "nextUpdate of each CRL the flow fetched and parsed, by issuer.",
    labels: CRL_LABELS,
};
pub(crate) static ENTRIES: FamilySpec = FamilySpec {
    name: "flowprobe_crl_entries",
    help: "Revoked-certificate entries in each CRL.",
    labels: CRL_LABELS,
};
pub(crate) static BYTES: FamilySpec = FamilySpec {
    name: "flowprobe_crl_bytes",
    help: "Size of each CRL as served.",
    labels: CRL_LABELS,
};
pub(crate) static SIGNATURE: FamilySpec = FamilySpec {
    name: "flowprobe_crl_signature_valid",
    help: "1 when the CRL's signature verifies with its issuer's certificate (from the captured chain or a trust store).",
    labels: CRL_LABELS,
};
pub(crate) static REVOKED: FamilySpec = FamilySpec {
    name: "flowprobe_crl_revoked",
    help: "1 when the CRL lists the captured path's certificate at `position`; 0 for every position the CRL covers but does not list.",
    labels: &["vantage", "flow", "issuer_cn", "position"],
};

pub(crate) const FAMILIES: &[&FamilySpec] = &[
    &THIS_UPDATE,
    &NEXT_UPDATE,
    &ENTRIES,
    &BYTES,
    &SIGNATURE,
    &REVOKED,
];

/// HTTP status and CRL series, from the first attempt with facts. A probe
/// without facts (DNS failed, budget ran out) leaves them as they were; a
/// probe with facts replaces them, so a CRL no longer served loses its
/// series (there is never a sentinel date).
pub fn record(rec: &KindRecorder<'_>, report: &ProbeReport) {
    let Some(c) = report.attempts.iter().find_map(|a| a.facts.get::<Crl>()) else {
        return;
    };
    let mut next: Vec<Entry> = Vec::new();
    http_series::status(rec, c.crls.iter().map(|e| &e.http), &mut next);
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
        let labels = rec.labels([&crl.issuer_cn]);
        next.push((&THIS_UPDATE, labels.clone(), crl.this_update as f64));
        if let Some(t) = crl.next_update {
            next.push((&NEXT_UPDATE, labels.clone(), t as f64));
        }
        next.push((&ENTRIES, labels.clone(), crl.entries as f64));
        next.push((&BYTES, labels.clone(), e.http.body_bytes as f64));
        next.push((
            &SIGNATURE,
            labels.clone(),
            if crl.signature_valid { 1.0 } else { 0.0 },
        ));
        for p in &crl.covers {
            let mut l = labels.clone();
            l.push(p.to_string());
            let revoked = crl.revoked.iter().any(|r| r.position == *p);
            next.push((&REVOKED, l, if revoked { 1.0 } else { 0.0 }));
        }
    }
    rec.replace(next);
}
