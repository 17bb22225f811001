//! The DNS series: how many addresses the flow's server answered, per
//! name and record type asked. Its label values come from the flow's
//! settings (at most 16 names, two record types), never from the answers.

use super::Dns;
use crate::metrics::{Entry, FamilySpec, KindRecorder};
use crate::probe::ProbeReport;

pub(crate) static ANSWERS: FamilySpec = FamilySpec {
    name: "flowprobe_dns_answers",
    help: "Address records (A or AAAA, as `record`) the dns flow's server answered for `name` on the last probe; 0 when it answered none or did not answer.",
    labels: &["vantage", "flow", "name", "record"],
};

pub(crate) const FAMILIES: &[&FamilySpec] = &[&ANSWERS];

/// From the first attempt with facts (the first server address). A probe
/// without facts (the server's own name did not resolve, the budget ran
/// out) leaves the series as they were; a probe with facts sets one
/// series per name and record asked, so the set only changes with the
/// settings.
pub fn record(rec: &KindRecorder<'_>, report: &ProbeReport) {
    let Some(d) = report.attempts.iter().find_map(|a| a.facts.get::<Dns>()) else {
        return;
    };
    let mut next: Vec<Entry> = Vec::with_capacity(d.names.len() * 2);
    for n in &d.names {
        for q in &n.queries {
            next.push((
                &ANSWERS,
                rec.labels([&n.name, q.record]),
                q.answer_count as f64,
            ));
        }
    }
    rec.replace(next);
}
