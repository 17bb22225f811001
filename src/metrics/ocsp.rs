//! OCSP series: what each judged OCSP response says, for the staple of a
//! TLS flow (`source="staple"`, position 0) and for the answers an OCSP
//! flow got from responders (`source="responder"`, every position asked).
//!
//! The status is a value, not a label (0 good, 1 revoked, 2 unknown:
//! RFC 6960's CertStatus numbers), so a status change moves one series
//! instead of replacing it; whether the response can be believed at all is
//! `flowprobe_ocsp_response_valid`. A response that could not be read has
//! only the validity series (0).

use super::dynamic::Entry;
use super::kinds::Family;
use crate::analyze::ocsp::OcspFacts;

/// The series of one judged response.
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
    // One series set per position and source: the first answer speaks.
    if out
        .iter()
        .any(|(i, l, _)| *i == Family::OcspValid && *l == labels)
    {
        return;
    }
    out.push((
        Family::OcspValid,
        labels.clone(),
        if facts.valid { 1.0 } else { 0.0 },
    ));
    if let Some(s) = facts.status_code() {
        out.push((Family::OcspStatus, labels.clone(), f64::from(s)));
    }
    if let Some(t) = facts.this_update {
        out.push((Family::OcspThisUpdate, labels.clone(), t as f64));
    }
    if let Some(t) = facts.next_update {
        out.push((Family::OcspNextUpdate, labels, t as f64));
    }
}
