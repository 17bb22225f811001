//! The SSH series: violations per algorithm kind are set every probe (0
//! when the server could not be read); identification and algorithm series
//! describe the last offer seen and are kept when a probe saw none.

use prometheus::{Gauge, GaugeVec, Registry};

use super::{Ssh, SshSpec};
use crate::analyze::ssh_policy::AlgorithmKind;
use crate::config::{Expect, Flow};
use crate::kinds::FixedSeries;
use crate::metrics::{Entry, FamilySpec, KindRecorder, gauge_vec};
use crate::probe::ProbeReport;

/// At most this many algorithms per kind become series: a hostile server
/// cannot blow up cardinality (the wire limits already bound the offer).
const MAX_ALGORITHMS_PER_KIND: usize = 64;

pub(crate) static INFO: FamilySpec = FamilySpec {
    name: "flowprobe_ssh_info",
    help: "The SSH server's protocol and software from its identification (1).",
    labels: &["vantage", "flow", "protocol", "software"],
};
pub(crate) static ALGORITHM: FamilySpec = FamilySpec {
    name: "flowprobe_ssh_algorithm",
    help: "Every algorithm the SSH server offered, judged by the flow's policy (1).",
    labels: &["vantage", "flow", "kind", "algorithm", "allowed"],
};

pub(crate) const FAMILIES: &[&FamilySpec] = &[&INFO, &ALGORITHM];

/// `flowprobe_ssh_policy_violations`.
pub struct Vecs(GaugeVec);

/// A flow's violation gauges, one per algorithm kind.
pub struct Series([(AlgorithmKind, Gauge); 5]);

impl FixedSeries<SshSpec> for Series {
    type Vecs = Vecs;

    fn register(r: &Registry) -> prometheus::Result<Vecs> {
        gauge_vec(
        r,
        "flowprobe_ssh_policy_violations",
        "Offered algorithms outside the flow's SSH policy (and required ones missing), by kind.",
        &["vantage", "flow", "kind"],
    )
    .map(Vecs)
    }

    fn new(vecs: &Vecs, flow: &Flow, _spec: &SshSpec) -> Option<Series> {
        if flow.expect != Expect::Open {
            return None;
        }
        let (v, n) = (flow.from.as_str(), flow.name.as_str());
        Some(Series(
            AlgorithmKind::ALL.map(|k| (k, vecs.0.with_label_values(&[v, n, k.as_str()]))),
        ))
    }

    fn remove(&self, vecs: &Vecs, rec: &KindRecorder<'_>, next: Option<&Series>) {
        if next.is_none() {
            for k in AlgorithmKind::ALL {
                let _ = vecs
                    .0
                    .remove_label_values(&[rec.vantage, rec.flow, k.as_str()]);
            }
        }
    }
}

pub fn record(rec: &KindRecorder<'_>, s: Option<&Series>, report: &ProbeReport) {
    let details = report.attempts.iter().find_map(|a| a.facts.get::<Ssh>());
    if let Some(Series(kinds)) = s {
        for (kind, g) in kinds {
            let n = details.map_or(0, |d| d.judgement.violation_count(*kind));
            g.set(n as f64);
        }
    }
    let Some(d) = details else {
        return;
    };
    let mut next: Vec<Entry> = vec![(&INFO, rec.labels([&d.protocol, &d.software]), 1.0)];
    let mut per_kind = std::collections::BTreeMap::new();
    for a in &d.judgement.offered {
        let count = per_kind.entry(a.kind.as_str()).or_insert(0usize);
        *count += 1;
        if *count > MAX_ALGORITHMS_PER_KIND {
            continue;
        }
        next.push((
            &ALGORITHM,
            rec.labels([a.kind.as_str(), &a.name, &a.allowed.to_string()]),
            1.0,
        ));
    }
    rec.replace(next);
}
