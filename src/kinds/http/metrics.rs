//! The HTTP status series, shared by every kind that makes HTTP exchanges
//! (`http`, and the CRL and OCSP fetches).

use super::{Http, HttpFacts};
use crate::metrics::{Entry, FamilySpec, KindRecorder};
use crate::probe::ProbeReport;

pub(crate) static STATUS: FamilySpec = FamilySpec {
    name: "flowprobe_http_status_code",
    help: "Final HTTP status of the last probe (http flows; crl flows: the first non-2xx CRL answer, else the first). Absent when no response arrived.",
    labels: &["vantage", "flow"],
};

pub(crate) const FAMILIES: &[&FamilySpec] = &[&STATUS];

/// The status series of a probe's exchanges: the first status that is not
/// 2xx, else the first one; none when no response arrived.
pub(crate) fn status<'a>(
    rec: &KindRecorder<'_>,
    fetches: impl IntoIterator<Item = &'a HttpFacts>,
    out: &mut Vec<Entry>,
) {
    let statuses: Vec<u16> = fetches.into_iter().filter_map(|h| h.status).collect();
    let status = statuses
        .iter()
        .find(|s| !(200..300).contains(*s))
        .or(statuses.first())
        .copied();
    if let Some(s) = status {
        out.push((&STATUS, rec.labels([]), f64::from(s)));
    }
}

/// A probe without facts (DNS failed, budget ran out) leaves the series as
/// they were; a probe with facts replaces them, so a status no longer
/// served loses its series (there is never a sentinel).
pub fn record(rec: &KindRecorder<'_>, report: &ProbeReport) {
    let Some(h) = report.attempts.iter().find_map(|a| a.facts.get::<Http>()) else {
        return;
    };
    let mut next = Vec::new();
    status(rec, [h], &mut next);
    rec.replace(next);
}
