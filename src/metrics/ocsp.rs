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

use super::dynamic::Entry;
use super::kinds::Family;
use crate::analyze::ocsp::{self, OcspFacts};
use crate::outcome::Level;
use std::collections::BTreeMap;

/// How bad an answer is for its series: lower is worse (the rank of its
/// worst failing finding; a clean answer last).
fn badness(facts: &OcspFacts) -> u8 {
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
pub fn worst<'a>(
    answers: impl IntoIterator<Item = (usize, &'a OcspFacts)>,
) -> BTreeMap<usize, &'a OcspFacts> {
    let mut out: BTreeMap<usize, &OcspFacts> = BTreeMap::new();
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
pub fn entries(
    v: &str,
    n: &str,
    position: usize,
    source: &str,
    facts: &OcspFacts,
    out: &mut Vec<Entry>,
) {
    let labels = vec![
        v.to_string(),
        n.to_string(),
        position.to_string(),
        source.to_string(),
    ];
    out.push((
        Family::OcspValid,
        labels.clone(),
        if facts.valid { 1.0 } else { 0.0 },
    ));
    if let Some(s) = facts.status_code().filter(|_| facts.valid) {
        out.push((Family::OcspStatus, labels.clone(), f64::from(s)));
    }
    if let Some(t) = facts.this_update {
        out.push((Family::OcspThisUpdate, labels.clone(), t as f64));
    }
    if let Some(t) = facts.next_update {
        out.push((Family::OcspNextUpdate, labels, t as f64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Finding, Reason};

    fn answer(valid: bool, status: &'static str, fail: Option<Reason>) -> OcspFacts {
        OcspFacts {
            status: Some(status),
            valid,
            findings: fail
                .map(|r| Finding::new(r, Level::Fail, "x"))
                .into_iter()
                .collect(),
            ..OcspFacts::default()
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
        let families: Vec<_> = out.iter().map(|(f, _, x)| (*f, *x)).collect();
        assert_eq!(families, vec![(Family::OcspValid, 0.0)]);
        out.clear();
        entries("v", "f", 1, "responder", picked[&1], &mut out);
        assert!(out.contains(&(
            Family::OcspStatus,
            vec!["v".into(), "f".into(), "1".into(), "responder".into()],
            1.0
        )));
    }
}
