//! Series whose label values come from what a probe saw (certificates,
//! negotiated versions, SSH algorithms). A flow keeps the set it last
//! exported; a new set replaces it, removing series that are gone, so label
//! values stay bounded by what one probe can see.

use parking_lot::Mutex;

use prometheus::GaugeVec;

use super::kinds::Family;

/// One series: which vector, its label values, its value.
pub type Entry = (Family, Vec<String>, f64);

#[derive(Default)]
pub struct DynamicSet {
    current: Mutex<Vec<Entry>>,
}

impl DynamicSet {
    /// Replace the exported set; unchanged sets cost one comparison.
    pub fn replace(&self, vecs: &[GaugeVec], next: Vec<Entry>) {
        let mut cur = self.current.lock();
        // Series are set every time, not only on change: a reload that
        // replaced this flow may have removed shared label sets.
        for (i, labels, _) in cur.iter() {
            if !next.iter().any(|(j, l, _)| j == i && l == labels) {
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                let _ = vecs[i.index()].remove_label_values(&refs);
            }
        }
        for (i, labels, value) in &next {
            let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
            vecs[i.index()].with_label_values(&refs).set(*value);
        }
        *cur = next;
    }

    /// Remove everything (the flow left the configuration).
    pub fn clear(&self, vecs: &[GaugeVec]) {
        self.replace(vecs, Vec::new());
    }
}
