//! What a check kind's `record` gets: the flow's label values, its set of
//! probe-labelled series and the `[metrics]` switches that concern kinds.

use super::dynamic::{DynamicSet, DynamicVecs, Entry};

pub struct KindRecorder<'a> {
    pub vantage: &'a str,
    pub flow: &'a str,
    pub(super) dynamic: &'a DynamicSet,
    pub(super) vecs: &'a DynamicVecs,
    pub(super) all_certificates: bool,
}

impl KindRecorder<'_> {
    /// `[vantage, flow, extra...]`: the label values of a family whose
    /// labels start with `vantage`, `flow`.
    pub(crate) fn labels<const N: usize>(&self, extra: [&str; N]) -> Vec<String> {
        let mut l = Vec::with_capacity(2 + N);
        l.push(self.vantage.to_string());
        l.push(self.flow.to_string());
        l.extend(extra.iter().map(|s| s.to_string()));
        l
    }

    /// Replace the flow's probe-labelled series with `next`.
    pub fn replace(&self, next: Vec<Entry>) {
        self.dynamic.replace(self.vecs, next);
    }

    /// Replace a set the kind keeps apart (series that change on another
    /// rhythm than the probe's, such as the TLS protocol enumeration's).
    pub(crate) fn replace_in(&self, set: &DynamicSet, next: Vec<Entry>) {
        set.replace(self.vecs, next);
    }

    /// `metrics.all_certificates`: series for every sent certificate.
    pub(crate) fn all_certificates(&self) -> bool {
        self.all_certificates
    }
}
