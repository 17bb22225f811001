//! OCSP series: what each judged OCSP response says, for the staple of a
//! TLS flow (`source="staple"`, position 0) and for the answers an OCSP
//! flow got from responders (`source="responder"`, every position asked).
//!
//! The status is a value, not a label (0 good, 1 revoked, 2 unknown:
//! RFC 6960's CertStatus numbers), so a status change moves one series
//! instead of replacing it; whether the response can be believed at all is
//! `flowprobe_ocsp_response_valid`. A response that could not be read, or
//! cannot be believed, has no status series: an unverified `good` must not
//! paint a panel green.
//!
//! Several responders may answer for one position; the worst answer speaks
//! (revoked, then invalid, unknown, stale, good: [`ocsp::rank`]), so one
//! good answer never hides a bad one.

use super::Ocsp;
use crate::analyze::ocsp::{self, OcspJudgement};
use crate::kinds::http::metrics as http_series;
use crate::metrics::{Entry, FamilySpec, KindRecorder};
use crate::outcome::Level;
use crate::probe::ProbeReport;
use std::collections::BTreeMap;

const OCSP_LABELS: &[&str] = &["vantage", "flow", "position", "source"];

pub(crate) static STATUS: FamilySpec = FamilySpec {
    name: "flowprobe_ocsp_status",
    help: "OCSP status of the certificate at `position` (0 = leaf): 0 good, 1 revoked, 2 unknown (RFC 6960 CertStatus). source = staple (stapled in the TLS handshake) or responder (asked by an ocsp flow). Believe it only where flowprobe_ocsp_response_valid is 1.",
    labels: OCSP_LABELS,
};
pub(crate) static VALID: FamilySpec = FamilySpec {
    name: "flowprobe_ocsp_response_valid",
    help: "1 when the OCSP response is signed by the certificate's issuer or a responder it delegated and answers for this certificate; 0 when it is not (ocsp_invalid).",
    labels: OCSP_LABELS,
};
pub(crate) static THIS_UPDATE: FamilySpec = FamilySpec {
    name: "flowprobe_ocsp_this_update_timestamp_seconds",
    help: "thisUpdate of the OCSP response.",
    labels: OCSP_LABELS,
};
pub(crate) static NEXT_UPDATE: FamilySpec = FamilySpec {
    name: "flowprobe_ocsp_next_update_timestamp_seconds",
    help: "nextUpdate of the OCSP response: when it expires (ocsp_stale). Absent when the response has none.",
    labels: OCSP_LABELS,
};

/// The OCSP families (TLS flows use them too, for the staple).
pub(crate) const FAMILIES: &[&FamilySpec] = &[&STATUS, &VALID, &THIS_UPDATE, &NEXT_UPDATE];

/// The responders' answers (the worst per position) and the HTTP status.
/// A probe without facts (DNS failed, budget ran out) leaves the series as
/// they were.
pub fn record(rec: &KindRecorder<'_>, report: &ProbeReport) {
    let Some(o) = report.attempts.iter().find_map(|a| a.facts.get::<Ocsp>()) else {
        return;
    };
    let mut next: Vec<Entry> = Vec::new();
    http_series::status(rec, o.responses.iter().map(|e| &e.http), &mut next);
    let answers = o
        .responses
        .iter()
        .filter_map(|e| Some((e.position, e.response.as_ref()?)));
    for (position, r) in worst(answers) {
        entries(rec.vantage, rec.flow, position, "responder", r, &mut next);
    }
    rec.replace(next);
}

/// How bad an answer is for its series: lower is worse (the rank of its
/// worst failing finding; a clean answer last).
fn badness(facts: &OcspJudgement) -> u8 {
    facts
        .findings
        .iter()
        .filter(|f| f.level == Level::Fail)
        .map(|f| ocsp::rank(f.reason))
        .min()
        .unwrap_or(u8::MAX)
}

/// The worst of the answers `(position, facts)` for each position, the
/// earlier one on a tie.
pub(crate) fn worst<'a>(
    answers: impl IntoIterator<Item = (usize, &'a OcspJudgement)>,
) -> BTreeMap<usize, &'a OcspJudgement> {
    let mut out: BTreeMap<usize, &OcspJudgement> = BTreeMap::new();
    for (position, facts) in answers {
        let kept = out.entry(position).or_insert(facts);
        if badness(facts) < badness(kept) {
            *kept = facts;
        }
    }
    out
}

/// The series of one judged response (one per position and source: pick
/// it with [`worst`]).
pub(crate) fn entries(
    v: &str,
    n: &str,
    position: usize,
    source: &str,
    facts: &OcspJudgement,
    out: &mut Vec<Entry>,
) {
    let labels = vec![
        v.to_string(),
        n.to_string(),
        position.to_string(),
        source.to_string(),
    ];
    out.push((&VALID, labels.clone(), if facts.valid { 1.0 } else { 0.0 }));
    if let Some(s) = facts.status_code().filter(|_| facts.valid) {
        out.push((&STATUS, labels.clone(), f64::from(s)));
    }
    if let Some(t) = facts.this_update {
        out.push((&THIS_UPDATE, labels.clone(), t as f64));
    }
    if let Some(t) = facts.next_update {
        out.push((&NEXT_UPDATE, labels, t as f64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Finding, Reason};

    fn answer(valid: bool, status: &'static str, fail: Option<Reason>) -> OcspJudgement {
        OcspJudgement {
            status: Some(status),
            valid,
            findings: fail
                .map(|r| Finding::new(r, Level::Fail, "x"))
                .into_iter()
                .collect(),
            ..OcspJudgement::default()
        }
    }

    /// A good answer listed first does not hide a later bad one, and an
    /// unverified status is never exported.
    #[test]
    fn worst_answer_speaks_and_unbelieved_status_is_not_exported() {
        let good = answer(true, "good", None);
        let rogue = answer(false, "good", Some(Reason::OcspInvalid));
        let revoked = answer(true, "revoked", Some(Reason::Revoked));
        let picked = worst([
            (0, &good),
            (0, &rogue),
            (1, &good),
            (1, &revoked),
            (1, &rogue),
        ]);
        assert_eq!(picked[&0], &rogue);
        assert_eq!(picked[&1], &revoked);
        let mut out = Vec::new();
        entries("v", "f", 0, "responder", picked[&0], &mut out);
        let families: Vec<_> = out.iter().map(|(f, _, x)| (f.name, *x)).collect();
        assert_eq!(families, vec![(VALID.name, 0.0)]);
        out.clear();
        entries("v", "f", 1, "responder", picked[&1], &mut out);
        let labels: Vec<String> = vec!["v".into(), "f".into(), "1".into(), "responder".into()];
        assert!(
            out.iter()
                .any(|(f, l, x)| f.name == STATUS.name && *l == labels && *x == 1.0)
        );
    }
}
