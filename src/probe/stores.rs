//! The trust stores of a run: every store the flows reference, loaded
//! once per configuration load and shared by the flows that judge
//! certificates (`tls`, `crl`, `ocsp`) and by `pki check`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::analyze::trust::TrustStore;

/// The built-in trust store name: the operating system's anchors.
pub const SYSTEM: &str = "system";

/// Trust stores by name, loaded once per configuration load.
pub type Stores = BTreeMap<String, Arc<TrustStore>>;

/// Load every trust store the flows reference, once.
pub fn load_stores(
    specs: &BTreeMap<String, crate::config::TrustSpec>,
    wanted: &[String],
) -> Result<Stores, Vec<String>> {
    let mut out = Stores::new();
    let mut errors = Vec::new();
    for name in wanted {
        if out.contains_key(name) {
            continue;
        }
        let loaded = if name == SYSTEM {
            // A host without CA certificates still probes: its TLS flows
            // then report an untrusted chain instead of refusing to start.
            TrustStore::system().or_else(|e| {
                tracing::warn!(error = %e, "system trust store is empty; flows trusting \"system\" will not verify");
                Ok(TrustStore::new(SYSTEM, Vec::new()))
            })
        } else {
            match (
                specs.get(name),
                crate::analyze::builtin_anchors::store(name),
            ) {
                (Some(spec), Some(builtin)) if spec.anchors.is_empty() => {
                    builtin.map(|s| s.with_relying_party(spec.relying_party.clone()))
                }
                (Some(spec), _) => TrustStore::from_pem_paths(name.clone(), &spec.anchors)
                    .map(|s| s.with_relying_party(spec.relying_party.clone())),
                (None, Some(builtin)) => builtin,
                (None, None) => {
                    errors.push(format!("trust.{name}: not defined"));
                    continue;
                }
            }
        };
        match loaded {
            Ok(s) => {
                out.insert(name.clone(), Arc::new(s));
            }
            Err(e) => errors.push(format!("trust.{name}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
