//! Series whose label values come from what a probe saw (certificates,
//! negotiated versions, SSH algorithms). Each check kind declares its
//! families ([`FamilySpec`], listed in `Kind::FAMILIES`); a flow keeps the
//! set it last exported, and a new set replaces it, removing series that
//! are gone, so label values stay bounded by what one probe can see.

use parking_lot::Mutex;
use std::collections::HashMap;

use prometheus::{GaugeVec, Opts, Registry};

/// One gauge family: its name, help text and label names.
#[derive(Debug, PartialEq, Eq)]
pub struct FamilySpec {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: &'static [&'static str],
}

/// One series: which family, its label values, its value.
pub type Entry = (&'static FamilySpec, Vec<String>, f64);

/// The registered vectors of every kind's families, by family name.
pub struct DynamicVecs {
    by_name: HashMap<&'static str, GaugeVec>,
}

impl DynamicVecs {
    /// Register each family once (a family two kinds list is one vector).
    pub(crate) fn register(
        r: &Registry,
        families: &[&'static FamilySpec],
    ) -> prometheus::Result<Self> {
        let mut by_name = HashMap::with_capacity(families.len());
        for f in families {
            if by_name.contains_key(f.name) {
                continue;
            }
            let g = GaugeVec::new(Opts::new(f.name, f.help), f.labels)?;
            r.register(Box::new(g.clone()))?;
            by_name.insert(f.name, g);
        }
        Ok(DynamicVecs { by_name })
    }

    /// The vector of a family. A family no kind lists in its `FAMILIES`
    /// has none: the daemon drops its series rather than panic, and a debug
    /// build (every test) stops at the first one, so a kind that records a
    /// family it forgot to list fails its tests instead of losing series.
    fn get(&self, f: &FamilySpec) -> Option<&GaugeVec> {
        let v = self.by_name.get(f.name);
        debug_assert!(v.is_some(), "family {} is in no kind's FAMILIES", f.name);
        v
    }
}

#[derive(Default)]
pub struct DynamicSet {
    current: Mutex<Vec<Entry>>,
}

impl DynamicSet {
    /// Replace the exported set; unchanged sets cost one comparison.
    pub fn replace(&self, vecs: &DynamicVecs, next: Vec<Entry>) {
        let mut cur = self.current.lock();
        // Series are set every time, not only on change: a reload that
        // replaced this flow may have removed shared label sets.
        for (i, labels, _) in cur.iter() {
            if !next.iter().any(|(j, l, _)| j.name == i.name && l == labels) {
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                if let Some(v) = vecs.get(i) {
                    let _ = v.remove_label_values(&refs);
                }
            }
        }
        for (i, labels, value) in &next {
            let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
            if let Some(v) = vecs.get(i) {
                v.with_label_values(&refs).set(*value);
            }
        }
        *cur = next;
    }

    /// Remove everything (the flow left the configuration).
    pub(crate) fn clear(&self, vecs: &DynamicVecs) {
        self.replace(vecs, Vec::new());
    }
}
